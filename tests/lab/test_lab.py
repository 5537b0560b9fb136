#!/usr/bin/python3
"""Fast tests of the lab code (no VM, no QEMU): run with /usr/bin/python3 tests/lab/test_lab.py.

They use a throw-away HOME, so the real ~/.cache/rdma-deploy is never touched.
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LAB = os.path.join(REPO, "lab", "lab")
sys.path.insert(0, os.path.join(REPO, "lab"))


def lab(*args, env=None, home=None):
    e = dict(os.environ, HOME=home or tempfile.mkdtemp(prefix="labtest-"))
    e.pop("RDMA_LAB", None)
    e.update(env or {})
    return subprocess.run([LAB] + list(args), capture_output=True, text=True, env=e, timeout=60)


class Cli(unittest.TestCase):
    def test_bad_instance_name_is_refused(self):
        p = lab("status", env={"RDMA_LAB": "../evil"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("RDMA_LAB='../evil'", p.stderr)

    def test_status_of_absent_instance_says_down(self):
        p = lab("status", env={"RDMA_LAB": "nothere"})
        self.assertEqual(p.returncode, 3)
        self.assertIn("down", p.stdout)

    def test_ssh_to_absent_instance_names_the_fix(self):
        p = lab("ssh", "node1", "true", env={"RDMA_LAB": "nothere"})
        self.assertEqual(p.returncode, 1)
        self.assertIn("is not up", p.stderr)
        self.assertIn("lab up", p.stderr)

    def test_bad_distro_and_node_count_refused_before_anything(self):
        home = tempfile.mkdtemp(prefix="labtest-")
        p = lab("up", "--distro", "sid", home=home)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("invalid choice: 'sid'", p.stderr)
        p = lab("up", "--nodes", "0", env={"RDMA_LAB": "t0"}, home=home)
        self.assertEqual(p.returncode, 1)
        self.assertIn("--nodes 0", p.stderr)
        self.assertFalse(os.path.exists(os.path.join(home, ".cache", "rdma-deploy", "run", "t0")))

    def test_down_of_absent_instance_is_harmless(self):
        p = lab("down", env={"RDMA_LAB": "nothere"})
        self.assertEqual(p.returncode, 0)
        self.assertIn("nothing was running", p.stderr)

    def test_inventory_dir_per_instance(self):
        home = tempfile.mkdtemp(prefix="labtest-")
        self.assertEqual(lab("inventory", home=home).stdout.strip(),
                         os.path.join(REPO, "inventory", "lab"))
        self.assertEqual(lab("inventory", env={"RDMA_LAB": "x1"}, home=home).stdout.strip(),
                         os.path.join(home, ".cache", "rdma-deploy", "run", "x1", "inventory"))

    def test_with_lab_refuses_missing_command(self):
        p = subprocess.run([os.path.join(REPO, "lab", "with-lab"), "--nodes", "1"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 2)
        self.assertIn("no command given", p.stderr)


class Units(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="labtest-")
        os.environ["HOME"] = self.home
        import importlib
        from lablib import common, runtime, image
        importlib.reload(common)
        self.runtime = importlib.reload(runtime)
        self.image = importlib.reload(image)

    def test_recipe_key_depends_on_distro_and_is_stable(self):
        k1 = self.image.recipe_key("bookworm")
        self.assertEqual(k1, self.image.recipe_key("bookworm"))
        self.assertNotEqual(k1, self.image.recipe_key("trixie"))
        self.assertRegex(k1, r"^[0-9a-f]{12}$")

    def test_inventory_follows_the_shared_contract(self):
        os.environ["RDMA_LAB"] = "inv1"
        try:
            st = {"name": "inv1", "distro": "trixie", "started": "now", "nodes": [
                {"name": f"node{i}", "ssh_port": 30000 + i, "data_ip": f"10.77.0.{10 + i}",
                 "data_netdev": "ens4"} for i in (1, 2)]}
            self.runtime.write_inventory("inv1", st)
            inv = self.runtime.inventory_dir("inv1")
            text = open(os.path.join(inv, "hosts.yml")).read()
            gv = os.path.join(inv, "group_vars")
            self.assertTrue(os.path.islink(gv))
            self.assertEqual(os.readlink(gv), os.path.join(REPO, "inventory", "lab", "group_vars"))
        finally:
            del os.environ["RDMA_LAB"]
        try:
            import yaml
        except ImportError:
            self.skipTest("python3-yaml missing: cannot parse the inventory")
        doc = yaml.safe_load(text)
        lab_group = doc["all"]["children"]["lab"]
        v = lab_group["vars"]
        self.assertEqual(v["ansible_user"], "root")
        self.assertEqual(v["ansible_python_interpreter"], "/usr/bin/python3")
        self.assertEqual(v["rdma_softroce_netdevs"], ["ens4"])
        self.assertIn("StrictHostKeyChecking=no", v["ansible_ssh_common_args"])
        self.assertTrue(v["ansible_ssh_private_key_file"].endswith("/.cache/rdma-deploy/ssh/id_ed25519"))
        hosts = lab_group["children"]["debian13"]["hosts"]
        self.assertEqual(sorted(hosts), ["node1", "node2"])
        self.assertEqual(hosts["node2"], {"ansible_host": "127.0.0.1", "ansible_port": 30002,
                                          "lab_data_ip": "10.77.0.12"})

    def test_ports_skip_taken_and_claimed(self):
        import socket
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        try:
            os.environ["LAB_SSH_PORT_BASE"] = str(taken)
            with self.assertRaises(self.runtime.LabError) as cm:
                self.runtime.alloc_ports("p1", 2)
            self.assertIn(f"127.0.0.1:{taken} is taken", str(cm.exception))
        finally:
            del os.environ["LAB_SSH_PORT_BASE"]
            s.close()
        # Another instance's recorded ports are never handed out again.
        ports = self.runtime.alloc_ports("p2", 2)
        d = os.path.join(self.home, ".cache", "rdma-deploy", "run", "p3")
        os.makedirs(d)
        with open(os.path.join(d, "state.json"), "w") as f:
            json.dump({"nodes": [{"ssh_port": p} for p in ports]}, f)
        again = self.runtime.alloc_ports("p2", 2)
        self.assertTrue(set(again).isdisjoint(ports), (ports, again))


class Accel(unittest.TestCase):
    """The KVM verdict: a PVM host (kvm_pvm, no VMX/SVM) is TCG without a 45 s probe boot."""

    def _host(self, d, pvm, flags):
        os.makedirs(os.path.join(d, "module", "kvm"), exist_ok=True)
        if pvm:
            os.makedirs(os.path.join(d, "module", "kvm_pvm"), exist_ok=True)
        with open(os.path.join(d, "cpuinfo"), "w") as f:
            f.write("processor\t: 0\nflags\t\t: fpu sse2 %s hypervisor\n" % flags)
        return os.path.join(d, "module"), os.path.join(d, "cpuinfo")

    def test_pvm_without_vmx_is_recognised(self):
        from lablib import accel
        with tempfile.TemporaryDirectory() as d:
            self.assertTrue(accel.pvm_host(*self._host(d, True, "pni ssse3")))

    def test_hardware_kvm_is_not_pvm(self):
        from lablib import accel
        with tempfile.TemporaryDirectory() as d:
            self.assertFalse(accel.pvm_host(*self._host(d, False, "vmx")))
        with tempfile.TemporaryDirectory() as d:
            self.assertFalse(accel.pvm_host(*self._host(d, True, "svm")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
