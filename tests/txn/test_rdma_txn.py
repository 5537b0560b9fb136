#!/usr/bin/python3
"""Fast tests of rdma-txn's pure pieces (roles/rdma_txn/files/rdma-txn): `dkms status` parsing
and the state diff's view of modules. The tool's node behaviour is proven on the lab
(tests/e2e/txn.sh); these pin the parsing that decides what a rollback removes."""
import importlib.machinery
import importlib.util
import os
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "..", "..", "roles", "rdma_txn", "files", "rdma-txn")
_loader = importlib.machinery.SourceFileLoader("rdma_txn_tool", TOOL)
_spec = importlib.util.spec_from_loader("rdma_txn_tool", _loader)
txn = importlib.util.module_from_spec(_spec)
_loader.exec_module(txn)


def state(**kw):
    s = {"packages": {}, "holds": [], "files": {}, "modules": {}, "srcversions": {}, "soft_links": [],
         "units": {}, "boot": {"kernels": [], "env": {}}, "dkms": "no dkms"}
    s.update(kw)
    return s


class DkmsStatus(unittest.TestCase):
    def test_dkms3_and_dkms2_lines(self):
        text = ("rdma-rxe-lab/6.1.0+rxe-lab.1234abcd, 6.1.0-50-amd64, x86_64: installed\n"
                "mlnx-ofed-kernel, 24.10, 6.1.0-50-amd64, x86_64: built\n"
                "broken-line-without-fields\n")
        self.assertEqual(txn.dkms_modules(text), {("rdma-rxe-lab", "6.1.0+rxe-lab.1234abcd"),
                                                  ("mlnx-ofed-kernel", "24.10")})

    def test_nothing(self):
        self.assertEqual(txn.dkms_modules("no dkms"), set())
        self.assertEqual(txn.dkms_modules(""), set())

    def test_only_new_modules_are_removed(self):
        before = "old/1.0, 6.1.0-50-amd64, x86_64: installed"
        after = before + "\nrdma-rxe-lab/6.1.0+x, 6.1.0-50-amd64, x86_64: installed"
        self.assertEqual(txn.dkms_modules(after) - txn.dkms_modules(before), {("rdma-rxe-lab", "6.1.0+x")})


class ModuleDiff(unittest.TestCase):
    def test_same_name_other_build_is_a_difference(self):
        a = state(modules={"rdma_rxe": {}}, srcversions={"rdma_rxe": "AAA"})
        b = state(modules={"rdma_rxe": {}}, srcversions={"rdma_rxe": "BBB"})
        d = txn.differences(a, b)
        self.assertEqual(d, ["module rdma_rxe: another build is loaded (srcversion AAA -> BBB)"])

    def test_same_build_no_difference(self):
        a = state(modules={"rdma_rxe": {}}, srcversions={"rdma_rxe": "AAA"})
        self.assertEqual(txn.differences(a, a), [])

    def test_snapshot_without_srcversions_still_compares(self):
        a = state(modules={"rdma_rxe": {}})
        del a["srcversions"]
        b = state(modules={"rdma_rxe": {}}, srcversions={"rdma_rxe": "BBB"})
        self.assertEqual(txn.differences(a, b), [])


if __name__ == "__main__":
    unittest.main(verbosity=1)
