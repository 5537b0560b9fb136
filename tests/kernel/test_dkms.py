"""Fast tests of the DKMS path (issue 6): `kstack dkms prepare` on a small fake kernel tree (dkms.conf
content, series applied, failing patch named, refusals) and the rdma_dkms role's refusal of bad
variables before anything is changed (ansible-playbook on localhost; skipped when absent).
No network, no VM, no real kernel source (the real linux-source-6.1 case is tests/kernel/dkms-lab.sh).
"""

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KSTACK = os.path.join(REPO, "tools", "kstack", "kstack")

RXE_C = """\
// fake rxe.c
MODULE_LICENSE("Dual BSD/GPL");

static int __init rxe_module_init(void)
{
	pr_info("loaded\\n");
	return 0;
}
"""

PATCH_OK = """\
--- a/drivers/infiniband/sw/rxe/rxe.c
+++ b/drivers/infiniband/sw/rxe/rxe.c
@@ -1,5 +1,6 @@
 // fake rxe.c
 MODULE_LICENSE("Dual BSD/GPL");
+MODULE_VERSION("test-1");
 
 static int __init rxe_module_init(void)
 {
"""

PATCH_SECOND = """\
--- a/drivers/infiniband/sw/rxe/rxe.c
+++ b/drivers/infiniband/sw/rxe/rxe.c
@@ -5,6 +5,6 @@
 
 static int __init rxe_module_init(void)
 {
-	pr_info("loaded\\n");
+	pr_info("loaded (test)\\n");
 	return 0;
 }
"""

PATCH_BAD = """\
--- a/drivers/infiniband/sw/rxe/rxe.c
+++ b/drivers/infiniband/sw/rxe/rxe.c
@@ -5,6 +5,6 @@
 
 static int __init rxe_module_init(void)
 {
-	pr_info("not what the tree says\\n");
+	pr_info("x\\n");
 	return 0;
 }
"""

PATCH_CORE = """\
--- a/drivers/infiniband/core/device.c
+++ b/drivers/infiniband/core/device.c
@@ -1,1 +1,1 @@
-old
+new
"""


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


def read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def kstack(*args):
    p = subprocess.run(["/usr/bin/python3", KSTACK] + list(args), stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    return p.returncode, p.stdout, p.stderr


class Fixture(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test-dkms-")
        self.src = os.path.join(self.tmp, "linux-source-6.1")
        write(os.path.join(self.src, "Makefile"),
              "# SPDX\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\n")
        rxe = os.path.join(self.src, "drivers/infiniband/sw/rxe")
        write(os.path.join(rxe, "Makefile"), "obj-$(CONFIG_RDMA_RXE) += rdma_rxe.o\nrdma_rxe-y := rxe.o\n")
        write(os.path.join(rxe, "rxe.c"), RXE_C)
        write(os.path.join(rxe, "rxe.h"), "/* header */\n")
        write(os.path.join(self.src, "drivers/infiniband/core/device.c"), "old\n")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def series(self, name, patches):
        d = os.path.join(self.tmp, name)
        lines = []
        for fname, text in patches:
            write(os.path.join(d, fname), text)
            lines.append(fname)
        write(os.path.join(d, "series"), "# test series\n" + "\n".join(lines) + "\n")
        return d

    def tarball(self):
        t = os.path.join(self.tmp, "linux-source-6.1.tar.xz")
        with tarfile.open(t, "w:xz") as tf:
            tf.add(self.src, arcname="linux-source-6.1")
        return t


class TestPrepare(Fixture):
    def test_tree_from_tarball_has_series_applied_and_dkms_conf(self):
        s = self.series("rxe-lab", [("0001-a.patch", PATCH_OK), ("0002-b.patch", PATCH_SECOND)])
        out = os.path.join(self.tmp, "out")
        rc, so, se = kstack("dkms", "prepare", "--source", self.tarball(), "--series", s,
                            "--name", "rdma-deploy-rxelab", "--module", "rdma_rxe", "--out", out)
        self.assertEqual(rc, 0, so + se)
        self.assertIn("PASS: 0001-a.patch applies", so)
        self.assertIn("PASS: 0002-b.patch applies", so)
        c = read(os.path.join(out, "drivers/infiniband/sw/rxe/rxe.c"))
        self.assertIn('MODULE_VERSION("test-1");', c)
        self.assertIn('pr_info("loaded (test)\\n");', c)
        self.assertTrue(os.path.isfile(os.path.join(out, "drivers/infiniband/sw/rxe/rxe.h")))
        self.assertFalse(os.path.exists(os.path.join(out, "drivers/infiniband/core")))
        meta = json.loads(read(os.path.join(out, "rdma-deploy-dkms.json")))
        self.assertEqual(meta["kernel_source_version"], "6.1.192")
        self.assertEqual(meta["series_name"], "rxe-lab")
        self.assertEqual(meta["patches"], ["0001-a.patch", "0002-b.patch"])
        self.assertRegex(meta["version"], r"^6\.1\.192\+rxe\.lab\.[0-9a-f]{8}$")
        self.assertEqual(meta["version"][-8:], meta["cache_key"][:8])
        conf = read(os.path.join(out, "dkms.conf")).splitlines()
        self.assertIn('PACKAGE_NAME="rdma-deploy-rxelab"', conf)
        self.assertIn(f'PACKAGE_VERSION="{meta["version"]}"', conf)
        self.assertIn('MAKE[0]="make -C ${kernel_source_dir} M=${dkms_tree}/${PACKAGE_NAME}/'
                      '${PACKAGE_VERSION}/build/drivers/infiniband/sw/rxe CONFIG_RDMA_RXE=m modules"', conf)
        self.assertIn('BUILT_MODULE_NAME[0]="rdma_rxe"', conf)
        self.assertIn('BUILT_MODULE_LOCATION[0]="drivers/infiniband/sw/rxe/"', conf)
        self.assertIn('DEST_MODULE_LOCATION[0]="/updates/dkms"', conf)
        self.assertIn('AUTOINSTALL="yes"', conf)

    def test_version_changes_with_the_series_content(self):
        s1 = self.series("s1", [("0001-a.patch", PATCH_OK)])
        s2 = self.series("s2", [("0001-a.patch", PATCH_OK), ("0002-b.patch", PATCH_SECOND)])
        t = self.tarball()
        vs = []
        for i, s in enumerate((s1, s2)):
            out = os.path.join(self.tmp, f"o{i}")
            rc, so, se = kstack("dkms", "prepare", "--source", t, "--series", s, "--name", "x",
                                "--module", "rdma_rxe", "--out", out)
            self.assertEqual(rc, 0, so + se)
            vs.append(json.loads(read(os.path.join(out, "rdma-deploy-dkms.json")))["version"])
        self.assertNotEqual(vs[0][-8:], vs[1][-8:])

    def test_explicit_version_and_directory_source(self):
        s = self.series("rxe-lab", [("0001-a.patch", PATCH_OK)])
        out = os.path.join(self.tmp, "out")
        rc, so, se = kstack("dkms", "prepare", "--source", self.src, "--series", s, "--name", "n",
                            "--version", "1.2-3", "--module", "rdma_rxe", "--out", out)
        self.assertEqual(rc, 0, so + se)
        self.assertIn('PACKAGE_VERSION="1.2-3"', read(os.path.join(out, "dkms.conf")))
        self.assertIn("MODULE_VERSION", read(os.path.join(out, "drivers/infiniband/sw/rxe/rxe.c")))
        # the source tree is not touched
        self.assertNotIn("MODULE_VERSION", read(os.path.join(self.src, "drivers/infiniband/sw/rxe/rxe.c")))

    def test_failing_patch_is_named_and_nothing_written(self):
        s = self.series("bad", [("0001-a.patch", PATCH_OK), ("0002-bad.patch", PATCH_BAD)])
        out = os.path.join(self.tmp, "out")
        rc, so, se = kstack("dkms", "prepare", "--source", self.tarball(), "--series", s, "--name", "n",
                            "--module", "rdma_rxe", "--out", out)
        self.assertEqual(rc, 1, so + se)
        self.assertIn("FAIL: 0002-bad.patch: drivers/infiniband/sw/rxe/rxe.c hunk @@ -5,6 +5,6 @@", so)
        self.assertIn("stopped at 0002-bad.patch", so)
        self.assertFalse(os.path.exists(out))

    def test_patch_outside_the_module_directory_is_refused(self):
        s = self.series("core", [("0001-a.patch", PATCH_OK), ("0002-core.patch", PATCH_CORE)])
        out = os.path.join(self.tmp, "out")
        rc, so, se = kstack("dkms", "prepare", "--source", self.src, "--series", s, "--name", "n",
                            "--module", "rdma_rxe", "--out", out)
        self.assertEqual(rc, 2)
        self.assertIn("0002-core.patch: touches drivers/infiniband/core/device.c, outside the module "
                      "directories (drivers/infiniband/sw/rxe)", se)
        self.assertFalse(os.path.exists(out))

    def test_bad_input_refused_by_name(self):
        s = self.series("rxe-lab", [("0001-a.patch", PATCH_OK)])
        out = os.path.join(self.tmp, "out")
        cases = [
            (["--name", "Bad Name", "--module", "rdma_rxe"], "--name 'Bad Name'"),
            (["--name", "n", "--version=.x", "--module", "rdma_rxe"], "--version '.x'"),
            (["--name", "n", "--module", "mlx9_ib"], "--module mlx9_ib: unknown module"),
            (["--name", "n", "--module", "foo=drivers/x:NOTCONFIG"], "'NOTCONFIG' is not a CONFIG_ symbol"),
            (["--name", "n", "--module", "foo=../x:CONFIG_FOO"], "bad directory '../x'"),
            (["--name", "n", "--module", "siw=drivers/infiniband/sw/rxe:CONFIG_RDMA_SIW"],
             "drivers/infiniband/sw/rxe/Makefile has no 'obj-$(CONFIG_RDMA_SIW) += siw.o'"),
        ]
        for extra, msg in cases:
            with self.subTest(extra=extra):
                rc, so, se = kstack("dkms", "prepare", "--source", self.src, "--series", s, "--out", out, *extra)
                self.assertEqual(rc, 2, so + se)
                self.assertIn(msg, se)
                self.assertFalse(os.path.exists(out))
        os.makedirs(out)
        rc, so, se = kstack("dkms", "prepare", "--source", self.src, "--series", s, "--out", out,
                            "--name", "n", "--module", "rdma_rxe")
        self.assertEqual(rc, 2)
        self.assertIn("already exists", se)


@unittest.skipUnless(shutil.which("ansible-playbook"), "ansible-playbook is not installed")
class TestRoleRefusal(Fixture):
    """The role refuses bad variables and missing inputs on the control node, before any change."""

    def play(self, extra):
        pb = os.path.join(self.tmp, "play.yml")
        write(pb, textwrap.dedent(f"""\
            - hosts: localhost
              connection: local
              gather_facts: false
              roles:
                - role: {REPO}/roles/rdma_dkms
            """))
        stage = os.path.join(self.tmp, "stage")
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="", ANSIBLE_NOCOLOR="1",
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False")
        args = ["ansible-playbook", "-i", "localhost,", pb, "-e", f"rdma_dkms_stage_dir={stage}",
                "-e", "ansible_python_interpreter=/usr/bin/python3"]
        for kv in extra:
            args += ["-e", kv]
        p = subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                           cwd=REPO)
        return p.returncode, p.stdout, stage

    def test_bad_name_and_missing_series(self):
        rc, out, stage = self.play(["rdma_dkms_name='Bad Name'", f"rdma_dkms_source={self.src}"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("rdma_dkms: bad variable: rdma_dkms_name='Bad Name'", out)
        self.assertFalse(os.path.exists(stage))
        rc, out, stage = self.play([f"rdma_dkms_source={self.src}", "rdma_dkms_series=no-such-series"])
        self.assertNotEqual(rc, 0, out)
        self.assertIn("missing on the control node:", out)
        self.assertIn("patches/no-such-series/series", out)
        self.assertFalse(os.path.exists(stage))


if __name__ == "__main__":
    unittest.main()
