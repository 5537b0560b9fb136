"""Fast tests of `kstack rdma-core build` (issue 6, userspace from source) on a miniature source
tree shaped like rdma-core (project(rdma-core C), set(PACKAGE_VERSION ...), a library and an
ibv_devinfo program, installed with GNUInstallDirs): the source checks (URL needs --sha256, digest
mismatches, not an rdma-core tree), the series dry-run refusal, the package (every file under the
prefix, RUNPATH, Depends, env.sh, provenance), the cache, and the refusal of a build that installs
outside the prefix. No network (file:// URLs), no VM. The real rdma-core 56.1 build and its
install on a lab node are tests/kernel/rdma-core-lab.sh.
"""

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import textwrap
import unittest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KSTACK = os.path.join(REPO, "tools", "kstack", "kstack")

CMAKELISTS = """\
cmake_minimum_required(VERSION 3.13)
project(rdma-core C)
set(PACKAGE_VERSION "99.1")
include(GNUInstallDirs)
add_library(ibverbs SHARED libibverbs/init.c)
set_target_properties(ibverbs PROPERTIES SOVERSION 1)
add_executable(ibv_devinfo libibverbs/examples/devinfo.c)
target_link_libraries(ibv_devinfo ibverbs)
install(TARGETS ibverbs LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR})
install(TARGETS ibv_devinfo RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES libibverbs/ibverbs.conf DESTINATION ${CMAKE_INSTALL_SYSCONFDIR}/libibverbs.d)
@EXTRA@
"""

INIT_C = """\
#include <stdio.h>
int ibverbs_init(void)
{
	return 0;
}
"""

DEVINFO_C = """\
#include <stdio.h>
int ibverbs_init(void);
int main(void)
{
	printf("hca_id:\\tnone\\n");
	return ibverbs_init();
}
"""

PATCH_OK = """\
--- a/libibverbs/examples/devinfo.c
+++ b/libibverbs/examples/devinfo.c
@@ -3,5 +3,6 @@
 int main(void)
 {
 	printf("hca_id:\\tnone\\n");
+	printf("\\trdma_deploy_series:\\t\\ttest\\n");
 	return ibverbs_init();
 }
"""

PATCH_BAD = """\
--- a/libibverbs/init.c
+++ b/libibverbs/init.c
@@ -1,5 +1,5 @@
 #include <stdio.h>
-int ibverbs_init(int x)
+int ibverbs_init(int y)
 {
 	return 0;
 }
"""


def sha256(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def have_build_tools():
    return all(shutil.which(t) for t in ("cmake", "cc", "dpkg-deb", "patch"))


@unittest.skipUnless(have_build_tools(), "needs cmake, cc, dpkg-deb, patch (scripts/deps.sh build)")
class RdmaCoreBuild(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="test-rdmacore-")
        self.cache = os.path.join(self.tmp, "cache")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def tarball(self, extra="", name="rdma-core-99.1", cmakelists=None):
        top = os.path.join(self.tmp, "src", name)
        os.makedirs(os.path.join(top, "libibverbs", "examples"))
        with open(os.path.join(top, "CMakeLists.txt"), "w") as fh:
            fh.write((cmakelists or CMAKELISTS).replace("@EXTRA@", extra))
        with open(os.path.join(top, "libibverbs", "init.c"), "w") as fh:
            fh.write(INIT_C)
        with open(os.path.join(top, "libibverbs", "ibverbs.conf"), "w") as fh:
            fh.write("# test\n")
        with open(os.path.join(top, "libibverbs", "examples", "devinfo.c"), "w") as fh:
            fh.write(DEVINFO_C)
        out = os.path.join(self.tmp, f"{name}.tar.gz")
        with tarfile.open(out, "w:gz") as t:
            t.add(top, arcname=name)
        shutil.rmtree(os.path.join(self.tmp, "src"))
        return out

    def series(self, *patches):
        d = os.path.join(self.tmp, "series-test")
        os.makedirs(d)
        with open(os.path.join(d, "series"), "w") as fh:
            for i, text in enumerate(patches):
                fn = f"000{i + 1}-p.patch"
                with open(os.path.join(d, fn), "w") as pf:
                    pf.write(text)
                fh.write(f"{fn} -p1\n")
        return d

    def kstack(self, *args):
        return subprocess.run(["/usr/bin/python3", KSTACK, "rdma-core", "build", "--cache", self.cache,
                               *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def assertNothingCached(self):
        entries = [e for e in os.listdir(self.cache) if e != "downloads"] if os.path.isdir(self.cache) else []
        self.assertEqual(entries, [])

    # ---- source checks ------------------------------------------------------------------------
    def test_url_without_sha256_is_refused_before_download(self):
        tb = self.tarball()
        r = self.kstack("--source", "file://" + tb)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("a URL needs --sha256", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.cache, "downloads")))

    def test_bad_sha256_format(self):
        r = self.kstack("--source", self.tarball(), "--sha256", "ABC")
        self.assertEqual(r.returncode, 2)
        self.assertIn("not 64 lowercase hex digits", r.stderr)

    def test_local_digest_mismatch(self):
        r = self.kstack("--source", self.tarball(), "--sha256", "0" * 64)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not building from an unverified source", r.stderr)
        self.assertNothingCached()

    def test_url_digest_mismatch_removes_the_download(self):
        r = self.kstack("--source", "file://" + self.tarball(), "--sha256", "1" * 64)
        self.assertEqual(r.returncode, 2)
        self.assertIn("the download's sha256 is", r.stderr)
        self.assertEqual(os.listdir(os.path.join(self.cache, "downloads")), [])

    def test_unsupported_scheme(self):
        r = self.kstack("--source", "ftp://example.invalid/x.tar.gz", "--sha256", "1" * 64)
        self.assertEqual(r.returncode, 2)
        self.assertIn("only http, https and file URLs", r.stderr)

    def test_not_an_rdma_core_tree(self):
        tb = self.tarball(cmakelists=CMAKELISTS.replace("project(rdma-core C)", "project(other C)"))
        r = self.kstack("--source", tb)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not an rdma-core tree", r.stderr)
        self.assertNothingCached()

    def test_prefix_outside_opt_is_refused(self):
        for bad in ("/usr", "/opt", "/opt/../usr"):
            r = self.kstack("--source", self.tarball() if bad == "/usr" else self.tmp + "/x", "--prefix", bad)
            self.assertEqual(r.returncode, 2, bad)
            self.assertIn("must be a directory under /opt", r.stderr)

    def test_failing_patch_is_named_and_nothing_built(self):
        r = self.kstack("--source", self.tarball(), "--series", self.series(PATCH_OK, PATCH_BAD))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("0002-p.patch: libibverbs/init.c hunk @@ -1,5 +1,5 @@", r.stderr)
        self.assertIn("nothing was built", r.stderr)
        self.assertNothingCached()

    # ---- the build and its package -----------------------------------------------------------
    def test_build_package_and_cache(self):
        tb = self.tarball()
        r = self.kstack("--source", "file://" + tb, "--sha256", sha256(tb),
                        "--series", self.series(PATCH_OK), "--json", "-j", "2")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        pfx = "/opt/rdma-deploy/rdma-core-99.1-series-test"
        self.assertEqual(info["prefix"], pfx)
        self.assertEqual(info["package"], "rdma-deploy-rdma-core-99.1-series-test")
        self.assertEqual(info["version"], "99.1+" + info["key"][:8])
        self.assertEqual(info["cache"], "built")
        self.assertEqual(info["path"], os.path.join(self.cache, info["key"], info["deb"]))
        self.assertIn("libc6", info["depends"])
        deb = os.path.join(self.cache, info["key"], info["deb"])
        self.assertTrue(os.path.isfile(deb))
        listing = subprocess.run(["dpkg-deb", "-c", deb], stdout=subprocess.PIPE, text=True,
                                 check=True).stdout
        paths = [ln.split()[5].lstrip(".") for ln in listing.splitlines()]
        files = [p for p in paths if not p.endswith("/")]
        for p in files:
            self.assertTrue(p.startswith(pfx + "/"), f"{p} is outside {pfx}")
        for want in ("/bin/ibv_devinfo", "/etc/libibverbs.d/ibverbs.conf", "/env.sh",
                     "/rdma-deploy-rdma-core.json"):
            self.assertIn(pfx + want, files)
        fields = subprocess.run(["dpkg-deb", "-f", deb, "Package", "Version", "Depends"],
                                stdout=subprocess.PIPE, text=True, check=True).stdout
        self.assertIn("Depends: libc6", fields)
        # The patched program, run from an extraction: the series line, and the RUNPATH to the prefix.
        ex = os.path.join(self.tmp, "x")
        subprocess.run(["dpkg-deb", "-x", deb, ex], check=True)
        dyn = subprocess.run(["readelf", "-d", ex + pfx + "/bin/ibv_devinfo"], stdout=subprocess.PIPE,
                             text=True).stdout
        self.assertIn(f"[{pfx}/lib]", dyn)
        out = subprocess.run([ex + pfx + "/bin/ibv_devinfo"], stdout=subprocess.PIPE, text=True,
                             env=dict(os.environ, LD_LIBRARY_PATH=ex + pfx + "/lib"))
        self.assertEqual(out.returncode, 0)
        self.assertIn("rdma_deploy_series:\t\ttest", out.stdout)
        with open(ex + pfx + "/env.sh") as fh:
            self.assertIn(f"export LD_LIBRARY_PATH={pfx}/lib", fh.read())
        # Second run: a cache hit, same key, nothing rebuilt.
        r2 = self.kstack("--source", tb, "--series", os.path.join(self.tmp, "series-test"), "--json")
        self.assertEqual(r2.returncode, 0, r2.stderr)
        self.assertEqual(json.loads(r2.stdout)["cache"], "hit")
        self.assertEqual(json.loads(r2.stdout)["key"], info["key"])

    def test_install_outside_prefix_is_refused(self):
        extra = 'install(FILES libibverbs/ibverbs.conf DESTINATION /etc/modprobe.d)'
        r = self.kstack("--source", self.tarball(extra=extra))
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("outside /opt/rdma-deploy/rdma-core-99.1-vanilla", r.stderr)
        self.assertIn("/etc/modprobe.d/ibverbs.conf", r.stderr)
        self.assertNothingCached()


if __name__ == "__main__":
    unittest.main(verbosity=2)
