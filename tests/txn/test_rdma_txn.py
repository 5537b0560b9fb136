#!/usr/bin/python3
"""Fast tests of rdma-txn's pure pieces (roles/rdma_txn/files/rdma-txn): `dkms status` parsing
and the state diff's view of modules. The tool's node behaviour is proven on the lab
(tests/e2e/txn.sh); these pin the parsing that decides what a rollback removes."""
import contextlib
import importlib.machinery
import importlib.util
import io
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



SNAP = {
    "/etc/passwd": "root:x:0:0:root:/root:/bin/bash\nsshd:x:100:65534::/run/sshd:/usr/sbin/nologin\n",
    "/etc/group": "root:x:0:\nnetdev:x:106:\n",
    "/etc/shadow": "root:*:20000:0:99999:7:::\n",
    "/etc/gshadow": "root:*::\nnetdev:!::\n",
}


class UnitActions(unittest.TestCase):
    GONE = {"enabled": "not-found", "active": "inactive"}

    def test_a_unit_failed_during_the_transaction_is_reset(self):
        # CI of 2026-11-29: the agent's oneshot failed while the stack was taken down; its unit
        # file was removed but systemd still reported it failed, and the rollback's check said so.
        was = {"rdma-agent.service": self.GONE}
        now = {"rdma-agent.service": {"enabled": "not-found", "active": "failed"}}
        self.assertEqual(txn.unit_actions(was, now), [["reset-failed", "rdma-agent.service"]])

    def test_a_unit_failed_before_is_left_failed(self):
        was = {"x.service": {"enabled": "enabled", "active": "failed"}}
        self.assertEqual(txn.unit_actions(was, {"x.service": dict(was["x.service"])}), [])

    def test_enable_and_start_back(self):
        was = {"x.service": {"enabled": "enabled", "active": "active"}}
        now = {"x.service": {"enabled": "disabled", "active": "failed"}}
        self.assertEqual(txn.unit_actions(was, now), [["enable", "x.service"], ["start", "x.service"]])

    def test_stop_what_was_not_running(self):
        was = {"x.timer": {"enabled": "disabled", "active": "inactive"}}
        now = {"x.timer": {"enabled": "enabled", "active": "active"}}
        self.assertEqual(txn.unit_actions(was, now), [["disable", "x.timer"], ["stop", "x.timer"]])

    def test_nothing_changed(self):
        self.assertEqual(txn.unit_actions({"x.service": self.GONE}, {"x.service": dict(self.GONE)}), [])


class SystemAccounts(unittest.TestCase):
    def test_group_added_by_a_package(self):
        cur = dict(SNAP)
        cur["/etc/group"] += "rdma:x:107:\n"
        cur["/etc/gshadow"] += "rdma:!::\n"
        self.assertEqual(txn.added_system_accounts(SNAP, cur), ([], [("rdma", 107)]))

    def test_nothing_added(self):
        self.assertEqual(txn.added_system_accounts(SNAP, dict(SNAP)), ([], []))

    def test_a_regular_user_is_not_taken_back(self):
        cur = dict(SNAP)
        cur["/etc/passwd"] += "alice:x:1000:1000::/home/alice:/bin/bash\n"
        with self.assertRaisesRegex(txn.StepError, "alice added since the snapshot is not a system account"):
            txn.added_system_accounts(SNAP, cur)

    def test_a_changed_line_is_left(self):
        cur = dict(SNAP)
        cur["/etc/group"] = "root:x:0:\nnetdev:x:106:alice\nrdma:x:107:\n"
        with self.assertRaisesRegex(txn.StepError, "/etc/group: netdev changed"):
            txn.added_system_accounts(SNAP, cur)

    def test_a_removed_account_is_left(self):
        cur = dict(SNAP)
        cur["/etc/group"] = "root:x:0:\n"
        with self.assertRaisesRegex(txn.StepError, "netdev removed"):
            txn.added_system_accounts(SNAP, cur)

    def test_accounts_reads_a_root(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            os.makedirs(os.path.join(d, "etc"))
            for p, t in SNAP.items():
                with open(os.path.join(d, p.lstrip("/")), "w") as f:
                    f.write(t)
            a = txn.accounts(d)
        self.assertEqual(a["users"], {"root": 0, "sshd": 100})
        self.assertEqual(a["groups"], {"root": 0, "netdev": 106})
        self.assertIsNone(a["files"]["/etc/passwd-"])
        self.assertEqual(len(a["files"]["/etc/group"]), 64)

    def test_diff_names_an_added_group(self):
        a = state(accounts={"users": {"root": 0}, "groups": {"root": 0}, "files": {}})
        b = state(accounts={"users": {"root": 0}, "groups": {"root": 0, "rdma": 107}, "files": {}})
        self.assertEqual(txn.differences(a, b), ["group rdma: absent -> id 107"])

    def test_diff_ignores_accounts_of_an_older_snapshot(self):
        b = state(accounts={"users": {}, "groups": {"rdma": 107}, "files": {}})
        self.assertEqual(txn.differences(state(), b), [])


class Holds(unittest.TestCase):
    def test_holds_are_dpkg_selections_on_hold(self):
        out = ("ii \tlibc6\tamd64\nhi \tlibc6\tamd64\nhi \tlibc6\ti386\nhi \ttzdata\tall\n"
               "hn \tperftest\tamd64\nrc \told-pkg\tamd64\nhi \t\tamd64\nbad line\n")
        self.assertEqual(txn.parse_holds(out, "amd64"), ["libc6", "libc6:i386", "perftest", "tzdata"])

    @unittest.skipUnless(os.path.exists("/usr/bin/dpkg-query") and os.path.exists("/usr/bin/apt-mark"),
                         "needs dpkg-query and apt-mark (a Debian system)")
    def test_holds_match_apt_mark_on_this_machine(self):
        import subprocess
        want = sorted(subprocess.run(["apt-mark", "showhold"], capture_output=True, text=True).stdout.split())
        self.assertEqual(txn.holds("apt"), want)


class BeginCommit(unittest.TestCase):
    """`rdma-txn begin` / `commit`: one node-side run each for what were three and two."""

    def setUp(self):
        import tempfile
        self._td = tempfile.TemporaryDirectory()
        self.node = txn.Node(self._td.name, None)
        self.taken = []

        def fake_snapshot(sid):  # the real one reads the whole system: proven on the lab
            self.taken.append(sid)
            os.makedirs(self.node.path(sid))
            meta = {"id": sid, "packages": 3}
            txn.write_json(os.path.join(self.node.path(sid), "meta.json"), meta)
            return meta
        self.node.snapshot = fake_snapshot

    def tearDown(self):
        self._td.cleanup()

    def test_fresh_begin_snapshots_and_opens_the_journal(self):
        out = self.node.begin("S1")
        self.assertFalse(out["resumed"])
        self.assertEqual(self.taken, ["S1"])
        self.assertEqual(out["meta"]["id"], "S1")
        j = self.node.journal()
        self.assertEqual((j["state"], j["snapshot"], j["phase"]), ("in-progress", "S1", "begin"))

    def test_journal_begin_by_hand_opens_the_same_journal(self):
        """`rdma-txn journal begin ID` (kept for use by hand) and `begin` share open_journal."""
        self.node.begin("S1", "run-a")
        by_play = self.node.journal()
        self.node.end("committed", "")
        txn.write_json(os.path.join(self.node.path("S1"), "state.json"), {"id": "S1"})
        if os.geteuid() != 0:
            self.skipTest("rdma-txn refuses non-root for journal writes")
        with contextlib.redirect_stdout(io.StringIO()) as out:
            rc = txn.main(["--state-dir", self._td.name, "journal", "begin", "S1", "--run", "run-a"])
        self.assertEqual(rc, 0, out.getvalue())
        by_hand = self.node.journal()
        strip = ("started", "updated", "ended", "cause")
        self.assertEqual({k: v for k, v in by_hand.items() if k not in strip},
                         {k: v for k, v in by_play.items() if k not in strip})
        self.assertEqual((by_hand["state"], by_hand["run"], by_hand["cause"], by_hand["ended"]),
                         ("in-progress", "run-a", "", ""))

    def test_an_open_journal_is_resumed_without_a_snapshot(self):
        self.node.begin("S1")
        self.node.set_journal(phase="agent")
        out = self.node.begin("S2")
        self.assertTrue(out["resumed"])
        self.assertEqual(self.taken, ["S1"])
        self.assertEqual((out["journal"]["snapshot"], out["journal"]["phase"]), ("S1", "agent"))
        self.assertEqual(out["meta"]["id"], "S1")

    def test_resume_without_the_snapshot_names_it(self):
        self.node.set_journal(state="in-progress", snapshot="GONE")
        with self.assertRaisesRegex(txn.StepError, "snapshot GONE has no meta.json"):
            self.node.begin("S2")

    def test_commit_closes_and_prunes_but_keeps_the_newest(self):
        for sid in ("S1", "S2"):
            self.node.begin(sid)
            self.node.end("committed", "")
        self.node.begin("S3")
        out = self.node.commit(2)
        self.assertEqual(out["journal"]["state"], "committed")
        self.assertEqual(out["pruned"], ["S1"])
        self.assertEqual([h["snapshot"] for h in self.node.history()], ["S1", "S2", "S3"])
        self.assertFalse(os.path.exists(self.node.path("S1")))

    def test_commit_without_a_transaction_is_an_error(self):
        with self.assertRaisesRegex(txn.StepError, "no transaction in progress"):
            self.node.commit(3)


class KeepPackageFiles(unittest.TestCase):
    """The snapshot keeps the RDMA packages' files: one dpkg-query for the architectures, and a file
    named as apt names its cache is taken by name (no dpkg-deb per package)."""

    def test_parse_archs(self):
        self.assertEqual(txn.parse_archs("rdma-core\tamd64\nlibfoo:i386\ti386\nbroken\n\t\n"),
                         {"rdma-core": "amd64", "libfoo:i386": "i386"})

    def test_named_file_kept_without_reading_it_other_names_checked(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            cache, snap = os.path.join(d, "cache"), os.path.join(d, "snap")
            os.makedirs(cache)
            for f in ("rdma-core_44.0-2_amd64.deb", "rdma-agent_0.1.0+s1.abc_amd64.deb"):
                open(os.path.join(cache, f), "w").close()
            pkgs = {"rdma-core": {"version": "44.0-2", "status": "ii "},
                    "rdma-agent": {"version": "0.1.0", "status": "ii "},
                    "bash": {"version": "5.2", "status": "ii "}}
            checked = []
            saved = txn.deb_archs, txn.deb_matches
            txn.deb_archs = lambda names: {n: "amd64" for n in names}
            txn.deb_matches = lambda path, name, ver: checked.append(os.path.basename(path)) or name == "rdma-agent"
            try:
                got = txn.keep_package_files("apt", pkgs, r"^(rdma-.*)$", False, snap, d, [cache])
            finally:
                txn.deb_archs, txn.deb_matches = saved
            self.assertEqual(got, {"kept": 2, "missing": []})
            self.assertEqual(checked, ["rdma-agent_0.1.0+s1.abc_amd64.deb"])
            self.assertEqual(sorted(os.listdir(os.path.join(snap, "pkgs"))),
                             ["rdma-agent_0.1.0_amd64.deb", "rdma-core_44.0-2_amd64.deb"])  # canonical names


class Config(unittest.TestCase):
    """The play passes the configuration with every command; the tool saves it for commands run by
    hand later, and reads the saved one when given none."""

    def setUp(self):
        import tempfile
        self._td = tempfile.TemporaryDirectory()
        self.d = self._td.name
        self._euid = txn.os.geteuid
        txn.os.geteuid = lambda: 0

    def tearDown(self):
        txn.os.geteuid = self._euid
        self._td.cleanup()

    def test_inline_config_is_used_and_saved_once(self):
        n = txn.Node(self.d, None, '{"keep": "7", "paths": ["/etc/x"]}')
        self.assertEqual((n.cfg["keep"], n.cfg["paths"]), (7, ["/etc/x"]))
        saved = os.path.join(self.d, "txn", "config.json")
        self.assertEqual(txn.read_json(saved), {"keep": "7", "paths": ["/etc/x"]})
        t = os.stat(saved).st_mtime_ns
        txn.Node(self.d, None, '{"keep": "7", "paths": ["/etc/x"]}')
        self.assertEqual(os.stat(saved).st_mtime_ns, t)

    def test_no_config_given_reads_the_saved_one(self):
        txn.Node(self.d, None, '{"keep": 2}')
        self.assertEqual(txn.Node(self.d, None).cfg["keep"], 2)

    def test_defaults_without_anything_saved(self):
        self.assertEqual(txn.Node(self.d, None).cfg["keep"], txn.DEFAULT_CONFIG["keep"])

    def test_bad_inline_config_is_refused_and_not_saved(self):
        for bad, why in (("{nope", "not JSON"), ("[1]", "expected a JSON object"),
                         ('{"kep": 1}', "unknown keys"), ('{"keep": "x"}', "config --config-json")):
            with self.assertRaisesRegex(txn.StepError, why):
                txn.Node(self.d, None, bad)
        self.assertFalse(os.path.exists(os.path.join(self.d, "txn", "config.json")))


class Durability(unittest.TestCase):
    """The journal and the snapshot's files survive a node reset (the lab's reboot fault lost a
    snapshot written ~15 s before the reset): every JSON write is fsynced, file then directory."""

    def test_write_json_fsyncs_the_file_and_its_directory(self):
        import tempfile
        synced = []
        real = txn.os.fsync
        txn.os.fsync = lambda fd: synced.append(os.readlink("/proc/self/fd/%d" % fd)) or real(fd)
        try:
            with tempfile.TemporaryDirectory() as d:
                p = os.path.join(d, "journal.json")
                txn.write_json(p, {"state": "in-progress"})
                self.assertEqual(txn.read_json(p), {"state": "in-progress"})
                self.assertEqual(synced, [p + ".tmp", d])
        finally:
            txn.os.fsync = real


if __name__ == "__main__":
    unittest.main(verbosity=1)
