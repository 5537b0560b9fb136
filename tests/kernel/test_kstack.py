"""Unit tests for tools/kstack (issue 6 foundation). No network, no VM; GNU patch and tar needed.

The linux-source-6.1 test needs /usr/src/linux-source-6.1.tar.xz (apt-get install
linux-source-6.1) and skips with that reason otherwise.
"""

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest
from contextlib import redirect_stderr, redirect_stdout

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KSTACK_DIR = os.path.join(REPO, "tools", "kstack")
sys.path.insert(0, KSTACK_DIR)
import kstacklib as k  # noqa: E402

KSTACK = os.path.join(KSTACK_DIR, "kstack")
LINUX_SRC = os.environ.get("KSTACK_LINUX_SOURCE", "/usr/src/linux-source-6.1.tar.xz")


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(textwrap.dedent(text))


def tree_digest(root):
    """Content + mode + mtime of every file under root: any change shows."""
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for f in sorted(files):
            p = os.path.join(dirpath, f)
            st = os.stat(p)
            h.update(os.path.relpath(p, root).encode())
            h.update(f"{st.st_mode} {st.st_mtime_ns}".encode())
            with open(p, "rb") as fh:
                h.update(fh.read())
        h.update(("dirs:" + ",".join(dirs)).encode())
    return h.hexdigest()


def run_cli(*args):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        sys.argv = ["kstack"] + list(args)
        import importlib.machinery
        import importlib.util
        loader = importlib.machinery.SourceFileLoader("kstack_cli", KSTACK)
        spec = importlib.util.spec_from_loader("kstack_cli", loader)
        mod = importlib.util.module_from_spec(spec)
        loader.exec_module(mod)
        rc = mod.main(list(args))
    return rc, out.getvalue(), err.getvalue()


class TempDirCase(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="kstack-test-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def p(self, *parts):
        return os.path.join(self.tmp, *parts)


# A tiny synthetic "kernel" tree and a two-patch series: 0002 builds on 0001's change.
SRC_C = """\
line 1
line 2
int answer = 41;
line 4
line 5
line 6
line 7
line 8
line 9
line 10
line 11
line 12
const char *name = "old";
line 14
line 15
"""

P1 = """\
From: test
Subject: change the answer

---
--- a/drivers/x/x.c
+++ b/drivers/x/x.c
@@ -1,5 +1,5 @@
 line 1
 line 2
-int answer = 41;
+int answer = 42;
 line 4
 line 5
"""

# Depends on P1: its outermost context line has 42. Adds a new file too.
P2 = """\
--- a/drivers/x/x.c
+++ b/drivers/x/x.c
@@ -3,6 +3,7 @@
 int answer = 42;
 line 4
 line 5
+int question = 6 * 7;
 line 6
 line 7
 line 8
--- /dev/null
+++ b/drivers/x/new.h
@@ -0,0 +1 @@
+#define NEW 1
"""

# Second hunk does not match the tree.
P_BAD = """\
--- a/drivers/x/x.c
+++ b/drivers/x/x.c
@@ -1,3 +1,3 @@
 line 1
-line 2
+line two
 int answer = 42;
@@ -12,3 +12,3 @@
 line 12
-const char *name = "something else";
+const char *name = "new";
 line 14
"""


class SeriesParsing(TempDirCase):
    def test_good_series_with_comments_and_strip_levels(self):
        write(self.p("s", "a.patch"), P1)
        write(self.p("s", "sub", "b.diff"), P2)
        write(self.p("s", "series"), """\
            # leading comment
            a.patch   # trailing comment

            sub/b.diff -p0
            """)
        s = k.parse_series(self.p("s"))
        self.assertEqual([(e.name, e.strip) for e in s.entries], [("a.patch", 1), ("sub/b.diff", 0)])
        self.assertEqual(s.entries[0].lineno, 2)
        self.assertEqual(s.warnings, [])

    def test_missing_patch_named_with_line(self):
        write(self.p("s", "a.patch"), P1)
        write(self.p("s", "series"), "a.patch\nnot-there.patch\n")
        with self.assertRaises(k.KstackError) as cm:
            k.parse_series(self.p("s"))
        self.assertIn("series:2", str(cm.exception))
        self.assertIn("not-there.patch does not exist", str(cm.exception))

    def test_unlisted_patch_warns(self):
        write(self.p("s", "a.patch"), P1)
        write(self.p("s", "forgotten.patch"), P2)
        write(self.p("s", "series"), "a.patch\n")
        s = k.parse_series(self.p("s"))
        self.assertEqual(len(s.warnings), 1)
        self.assertIn("forgotten.patch", s.warnings[0])
        self.assertIn("NOT be applied", s.warnings[0])

    def test_bad_inputs(self):
        write(self.p("s", "a.patch"), P1)
        cases = {"a.patch -R\n": "unsupported option '-R'",
                 "a.patch -p\n": "'-p' needs a number",
                 "a.patch\na.patch\n": "listed twice",
                 "../a.patch\n": "without '..'",
                 "# only a comment\n": "lists no patches"}
        for text, msg in cases.items():
            with self.subTest(series=text):
                write(self.p("s", "series"), text)
                with self.assertRaises(k.KstackError) as cm:
                    k.parse_series(self.p("s"))
                self.assertIn(msg, str(cm.exception))

    def test_no_series_file_or_dir(self):
        os.makedirs(self.p("empty"))
        with self.assertRaisesRegex(k.KstackError, "no series file"):
            k.parse_series(self.p("empty"))
        with self.assertRaisesRegex(k.KstackError, "does not exist"):
            k.parse_series(self.p("nope"))

    def test_cli_exit_codes(self):
        write(self.p("s", "a.patch"), P1)
        write(self.p("s", "series"), "a.patch -p1\n")
        rc, out, _ = run_cli("series", "check", self.p("s"))
        self.assertEqual(rc, 0)
        self.assertIn("1 patch(es) OK", out)
        write(self.p("s", "series"), "b.patch\n")
        rc, _, err = run_cli("series", "check", self.p("s"))
        self.assertEqual(rc, 2)
        self.assertIn("b.patch does not exist", err)


class DryRun(TempDirCase):
    def setUp(self):
        super().setUp()
        write(self.p("src", "drivers", "x", "x.c"), SRC_C)
        write(self.p("src", "untouched.c"), "keep\n")

    def series(self, *patches):
        names = []
        for i, text in enumerate(patches, 1):
            name = f"{i:04d}.patch"
            write(self.p("s", name), text)
            names.append(name)
        write(self.p("s", "series"), "\n".join(names) + "\n")
        return k.parse_series(self.p("s"))

    def test_success_in_order_and_tree_untouched(self):
        before = tree_digest(self.p("src"))
        keep = self.p("scratch")
        r = k.dry_run(self.series(P1, P2), self.p("src"), keep=keep)
        self.assertTrue(r.ok, r.detail)
        self.assertEqual(r.applied, ["0001.patch", "0002.patch"])
        self.assertEqual(tree_digest(self.p("src")), before)
        with open(os.path.join(keep, "drivers", "x", "x.c"), encoding="utf-8") as fh:
            patched = fh.read()
        self.assertIn("int answer = 42;\nline 4\nline 5\nint question = 6 * 7;\nline 6\n", patched)
        self.assertTrue(os.path.isfile(os.path.join(keep, "drivers", "x", "new.h")))
        self.assertFalse(os.path.exists(os.path.join(keep, "untouched.c")),
                         "only touched files are copied")

    def test_second_patch_alone_fails_since_it_needs_the_first(self):
        # Its context names 42 (set by P1): with fuzz 0 it must not land; GNU patch's default
        # fuzz 2 would apply it anyway, which is why kstack defaults to 0.
        r = k.dry_run(self.series(P2), self.p("src"))
        self.assertFalse(r.ok)
        self.assertEqual(r.failed_patch, "0001.patch")
        self.assertEqual(r.failed_hunk, "@@ -3,6 +3,7 @@")
        r = k.dry_run(self.series(P2), self.p("src"), fuzz=2)
        self.assertTrue(r.ok)
        self.assertTrue(any("fuzz" in n for n in r.notes), r.notes)

    def test_failure_names_patch_file_and_hunk(self):
        before = tree_digest(self.p("src"))
        r = k.dry_run(self.series(P1, P_BAD), self.p("src"))
        self.assertFalse(r.ok)
        self.assertEqual(r.applied, ["0001.patch"])
        self.assertEqual(r.failed_patch, "0002.patch")
        self.assertEqual(r.failed_file, "drivers/x/x.c")
        self.assertEqual(r.failed_hunk, "@@ -12,3 +12,3 @@")
        self.assertEqual(r.failed_hunk_line, 8)
        self.assertIn("hunk #2", r.detail)
        self.assertEqual(tree_digest(self.p("src")), before)

    def test_cli_failure_line(self):
        self.series(P1, P_BAD)
        rc, out, _ = run_cli("series", "dry-run", self.p("s"), "--tree", self.p("src"))
        self.assertEqual(rc, 1)
        self.assertIn("FAIL: 0002.patch: drivers/x/x.c hunk @@ -12,3 +12,3 @@ (patch line 8)", out)
        self.assertIn("PASS: 0001.patch applies", out)

    def test_missing_file_and_wrong_strip(self):
        write(self.p("s", "0001.patch"), P1)
        write(self.p("s", "series"), "0001.patch -p0\n")
        r = k.dry_run(k.parse_series(self.p("s")), self.p("src"))
        self.assertFalse(r.ok)
        self.assertEqual(r.failed_patch, "0001.patch")
        self.assertIn("not found in the tree", r.detail)
        self.assertEqual(r.failed_hunk, "@@ -1,5 +1,5 @@")

    def test_tarball_source(self):
        tarball = self.p("src.tar.gz")
        subprocess.run(["tar", "-czf", tarball, "-C", self.tmp, "--transform", "s,^src,linux-9.9,",
                        "src"], check=True)
        r = k.dry_run(self.series(P1, P2), tarball)
        self.assertTrue(r.ok, r.detail)
        r = k.dry_run(self.series(P1, P_BAD), tarball)
        self.assertEqual((r.failed_patch, r.failed_hunk), ("0002.patch", "@@ -12,3 +12,3 @@"))

    def test_not_a_diff(self):
        write(self.p("s", "0001.patch"), "just words\n")
        write(self.p("s", "series"), "0001.patch\n")
        with self.assertRaisesRegex(k.KstackError, "no unified diff"):
            k.dry_run(k.parse_series(self.p("s")), self.p("src"))

    def test_bad_tree(self):
        s = self.series(P1)
        write(self.p("notatar"), "x\n")
        with self.assertRaisesRegex(k.KstackError, "neither a directory nor"):
            k.dry_run(s, self.p("notatar"))


class ConfigMerge(TempDirCase):
    def test_later_wins_unset_and_report(self):
        write(self.p("base"), """\
            CONFIG_A=y
            # CONFIG_B is not set
            CONFIG_C="str"
            CONFIG_D=m
            # comment kept out
            """)
        write(self.p("f1"), "CONFIG_B=m\nCONFIG_C=\"str\"\n# CONFIG_D is not set\nCONFIG_E=y\n")
        write(self.p("f2"), "CONFIG_B=y\n")
        merged, msgs = k.merge_configs(self.p("base"), [self.p("f1"), self.p("f2")])
        self.assertEqual(merged, {"CONFIG_A": "y", "CONFIG_C": "\"str\"", "CONFIG_D": "n",
                                  "CONFIG_E": "y", "CONFIG_B": "y"})
        text = "\n".join(msgs)
        self.assertIn(f"Value of CONFIG_B is redefined by fragment {self.p('f1')}:\n"
                      "Previous value: # CONFIG_B is not set\nNew value: CONFIG_B=m", text)
        self.assertIn(f"Value of CONFIG_B is redefined by fragment {self.p('f2')}:\n"
                      "Previous value: CONFIG_B=m\nNew value: CONFIG_B=y", text)
        self.assertIn("Value of CONFIG_C is redundant", text)
        self.assertIn("Previous value: CONFIG_D=m\nNew value: # CONFIG_D is not set", text)
        out = self.p("out")
        k.write_config(merged, out)
        with open(out, encoding="utf-8") as fh:
            lines = fh.read().splitlines()
        self.assertIn("# CONFIG_D is not set", lines)
        self.assertEqual(lines[-1], "CONFIG_B=y")   # redefined symbols move to the end
        self.assertEqual(k.read_config(out), merged)

    def test_malformed_line_named(self):
        write(self.p("base"), "CONFIG_A=y\n")
        write(self.p("frag"), "CONFIG_A=y\nINFINIBAND=m\n")
        with self.assertRaises(k.KstackError) as cm:
            k.merge_configs(self.p("base"), [self.p("frag")])
        self.assertIn("frag:2", str(cm.exception))
        write(self.p("frag"), "CONFIG_A=\n")
        with self.assertRaisesRegex(k.KstackError, "has no value"):
            k.merge_configs(self.p("base"), [self.p("frag")])

    def test_cli_merge_does_not_write_on_bad_input(self):
        write(self.p("base"), "CONFIG_A=y\n")
        rc, _, err = run_cli("config", "merge", self.p("base"), self.p("nofrag"), "-o", self.p("o"))
        self.assertEqual(rc, 2)
        self.assertIn("nofrag does not exist", err)
        self.assertFalse(os.path.exists(self.p("o")))

    def test_shipped_fragment_satisfies_check(self):
        frag = os.path.join(REPO, "patches", "config", "rdma.fragment")
        frag312 = os.path.join(REPO, "patches", "config", "rdma-3.12.fragment")
        write(self.p("base"), "CONFIG_INFINIBAND=n\n# CONFIG_RDMA_RXE is not set\n")
        self.assertEqual([s for s, _ in k.check_config(self.p("base"))],
                         ["CONFIG_INFINIBAND", "CONFIG_INFINIBAND_USER_ACCESS",
                          "CONFIG_MLX4_INFINIBAND", "CONFIG_MLX5_INFINIBAND", "CONFIG_RDMA_RXE"])
        merged, _ = k.merge_configs(self.p("base"), [frag])
        k.write_config(merged, self.p("out"))
        self.assertEqual(k.check_config(self.p("out")), [])
        self.assertEqual(k.check_config(self.p("out"), "3.12"),
                         [("CONFIG_INFINIBAND_EXPERIMENTAL_UVERBS_FLOW_STEERING", "absent")])
        merged, _ = k.merge_configs(self.p("base"), [frag, frag312])
        k.write_config(merged, self.p("out312"))
        self.assertEqual(k.check_config(self.p("out312"), "3.12"), [])
        rc, out, _ = run_cli("config", "check", self.p("base"))
        self.assertEqual(rc, 1)
        self.assertIn("MISSING: CONFIG_RDMA_RXE (set to n)", out)
        self.assertIn("MISSING: CONFIG_INFINIBAND_USER_ACCESS (absent)", out)

    def test_dropped_requests_after_olddefconfig(self):
        # Like merge_config.sh's "Requested value not in final .config": the last fragment wins;
        # y/m that Kconfig dropped (absent or n) is what a build must refuse.
        write(self.p("f1"), "CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=m\n# CONFIG_D is not set\n")
        write(self.p("f2"), "CONFIG_B=y\nCONFIG_E=\"x\"\n")
        write(self.p("final"), "CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=y\nCONFIG_E=\"z\"\n")
        got = k.dropped_requests([self.p("f1"), self.p("f2")], self.p("final"))
        self.assertEqual(got, [("CONFIG_B", "y", "n", self.p("f2")),
                               ("CONFIG_C", "m", "y", self.p("f1")),
                               ("CONFIG_E", "\"x\"", "\"z\"", self.p("f2"))])
        write(self.p("final"), "CONFIG_C=m\nCONFIG_E=\"x\"\nCONFIG_B=y\n")
        self.assertEqual(k.dropped_requests([self.p("f1"), self.p("f2")], self.p("final")),
                         [("CONFIG_A", "y", None, self.p("f1"))])

    def test_shipped_lab_fragment_parses(self):
        frag = os.path.join(REPO, "patches", "config", "qemu-lab.fragment")
        vals = k.read_config(frag)
        self.assertEqual(vals.get("CONFIG_HOTPLUG_PCI_ACPI"), "y")   # ensN names on lab nodes
        self.assertEqual(vals.get("CONFIG_FW_CFG_SYSFS"), "y")       # lab-netcfg

    def test_rxe_not_required_before_4_8(self):
        self.assertNotIn("CONFIG_RDMA_RXE", k.required_symbols("3.14"))
        self.assertIn("CONFIG_RDMA_RXE", k.required_symbols("4.8"))
        self.assertNotIn(k.REQUIRED_3_12[0], k.required_symbols("3.14"))


class CacheKey(TempDirCase):
    def setUp(self):
        super().setUp()
        write(self.p("src.tar"), "pretend tarball\n")
        write(self.p("s", "a.patch"), P1)
        write(self.p("s", "b.patch"), P2)
        write(self.p("s", "series"), "a.patch\nb.patch\n")
        write(self.p("f1"), "CONFIG_A=y\n")
        write(self.p("f2"), "CONFIG_B=m\n")

    def key(self, src=None, series=None, frags=None):
        return k.cache_key(src or self.p("src.tar"), series or self.p("s"),
                           frags if frags is not None else [self.p("f1"), self.p("f2")])[0]

    def test_stable_across_paths_mtimes_and_comments(self):
        k1 = self.key()
        self.assertRegex(k1, r"^[0-9a-f]{64}$")
        self.assertEqual(k1, self.key())
        # Same content elsewhere, other names, other mtimes, a comment in series: same key.
        other = self.p("elsewhere")
        shutil.copytree(self.p("s"), os.path.join(other, "series-copy"))
        os.rename(os.path.join(other, "series-copy", "a.patch"),
                  os.path.join(other, "series-copy", "renamed.patch"))
        write(os.path.join(other, "series-copy", "series"), "# moved\nrenamed.patch -p1\nb.patch\n")
        shutil.copy(self.p("src.tar"), self.p("src-copy.tar"))
        os.utime(self.p("src-copy.tar"), (1, 1))
        shutil.copy(self.p("f1"), self.p("g1"))
        self.assertEqual(k1, self.key(self.p("src-copy.tar"), os.path.join(other, "series-copy"),
                                      [self.p("g1"), self.p("f2")]))

    def test_sensitive_to_content_order_and_strip(self):
        k1 = self.key()
        changed = set()
        write(self.p("src2.tar"), "pretend tarball!\n")
        changed.add(self.key(src=self.p("src2.tar")))
        changed.add(self.key(frags=[self.p("f2"), self.p("f1")]))   # fragment order
        changed.add(self.key(frags=[self.p("f1")]))
        write(self.p("s", "series"), "b.patch\na.patch\n")             # patch order
        changed.add(self.key())
        write(self.p("s", "series"), "a.patch -p0\nb.patch\n")         # strip level
        changed.add(self.key())
        write(self.p("s", "series"), "a.patch\nb.patch\n")
        self.assertEqual(self.key(), k1)
        with open(self.p("s", "b.patch"), "a", encoding="utf-8") as fh:   # patch content
            fh.write(" \n")
        changed.add(self.key())
        self.assertNotIn(k1, changed)
        self.assertEqual(len(changed), 6)

    def test_manifest_format(self):
        key, manifest = k.cache_key(self.p("src.tar"), self.p("s"), [self.p("f1")])
        lines = manifest.splitlines()
        self.assertEqual(lines[0], "kstack-cache-key-v1")
        self.assertEqual(lines[1], "source " + hashlib.sha256(b"pretend tarball\n").hexdigest())
        self.assertTrue(lines[2].startswith("patch 0 p1 "))
        self.assertTrue(lines[4].startswith("fragment 0 "))
        self.assertEqual(key, hashlib.sha256(manifest.encode()).hexdigest())

    def test_missing_inputs(self):
        with self.assertRaisesRegex(k.KstackError, "--source .*no such file"):
            k.cache_key(self.p("none.tar"), None, [])
        with self.assertRaisesRegex(k.KstackError, "--config .*no such file"):
            k.cache_key(self.p("src.tar"), None, [self.p("none")])


    def test_commit_cache_entry_replaces_whole(self):
        cache = self.p("cache")
        old = k.commit_cache_entry(cache, "abc", [], {"debs": ["gone.deb"]})
        with open(self.p("a.deb"), "w") as fh:
            fh.write("a")
        with open(self.p("config"), "w") as fh:
            fh.write("c")
        dest = k.commit_cache_entry(cache, "abc", [(self.p("a.deb"), "a.deb", "move"),
                                                   (self.p("config"), "config", "copy")], {"debs": ["a.deb"]})
        self.assertEqual(dest, old)
        self.assertEqual(sorted(os.listdir(dest)), ["a.deb", "build.json", "config"])
        self.assertFalse(os.path.exists(self.p("a.deb")))          # moved
        self.assertTrue(os.path.exists(self.p("config")))          # copied
        self.assertFalse(os.path.exists(dest + ".part"))
        with open(os.path.join(dest, "build.json")) as fh:
            self.assertIn('"a.deb"', fh.read())


class Toolchain(TempDirCase):
    def test_old_trees_refuse_new_gcc(self):
        for kv, gcc in [("3.12", "12.2.0"), ("3.14.79", "6.3.0"), ("3.14", "5.4.0"),
                        ("4.1", "7.5.0"), ("3.12", "7.3")]:
            with self.subTest(kernel=kv, gcc=gcc):
                ok, msgs = k.toolchain_check(kv, gcc)
                self.assertFalse(ok)
                self.assertIn("REFUSED", msgs[0])
                self.assertIn(f"compiler-gcc{gcc.split('.')[0]}.h", msgs[0])
                self.assertIn("builder", msgs[0])

    def test_builder_named(self):
        ok, msgs = k.toolchain_check("3.14", "12.2.0")
        self.assertIn("Debian 8 jessie", msgs[0])
        ok, msgs = k.toolchain_check("4.4", "8.3.0")
        self.assertFalse(ok)
        self.assertIn("-fno-PIE", msgs[0])
        self.assertIn("Ubuntu 16.04", msgs[0])

    def test_matching_pairs_pass(self):
        for kv, gcc in [("3.12", "4.7.2"), ("3.14", "4.9.2"), ("3.18", "5.4.0"),
                        ("4.9", "6.3.0"), ("6.1", "12.2.0"), ("6.12", "14.2.0")]:
            with self.subTest(kernel=kv, gcc=gcc):
                ok, msgs = k.toolchain_check(kv, gcc)
                self.assertTrue(ok, msgs)
                self.assertTrue(msgs[0].startswith("OK"))

    def test_minimum_gcc(self):
        ok, msgs = k.toolchain_check("6.1", "4.9.2")
        self.assertFalse(ok)
        self.assertIn("needs gcc >= 5.1", msgs[0])
        self.assertIn("changes.rst", msgs[0])

    def test_tree_header_lookup(self):
        # A 3.14.y stable tree that carries compiler-gcc5.h accepts gcc 5, still refuses gcc 6.
        for n in (3, 4, 5):
            write(self.p("t", "include", "linux", f"compiler-gcc{n}.h"), "\n")
        ok, _ = k.toolchain_check("3.14", "5.4.0", tree=self.p("t"))
        self.assertTrue(ok)
        ok, msgs = k.toolchain_check("3.14", "6.3.0", tree=self.p("t"))
        self.assertFalse(ok)
        self.assertIn("up to 5.x", msgs[0])

    def test_tree_with_no_pie_backport(self):
        write(self.p("t", "Makefile"), "KBUILD_CFLAGS += $(call cc-option,-fno-PIE)\n")
        ok, msgs = k.toolchain_check("4.4", "8.3.0", tree=self.p("t"))
        self.assertTrue(ok, msgs)
        write(self.p("t", "Makefile"), "KBUILD_CFLAGS += -O2\n")
        ok, msgs = k.toolchain_check("4.4", "8.3.0", tree=self.p("t"))
        self.assertFalse(ok)
        self.assertNotIn("pass --tree", msgs[0])
        ok, msgs = k.toolchain_check("4.4", "8.3.0")
        self.assertIn("pass --tree", msgs[0])
        with self.assertRaisesRegex(k.KstackError, "not a directory"):
            k.toolchain_check("4.4", "8.3.0", tree=self.p("t", "Makefile"))

    def test_gcc10_dtc_warning_only(self):
        ok, msgs = k.toolchain_check("5.4", "10.2.1")
        self.assertTrue(ok)
        self.assertTrue(any("yylloc" in m for m in msgs))

    def test_cli_detects_running_gcc_and_bad_versions(self):
        if shutil.which("gcc") is None:
            self.skipTest("no gcc on PATH to detect")
        rc, out, _ = run_cli("toolchain", "check", "--kernel-version", "3.12")
        gmaj = int(k.detect_gcc().split(".")[0])
        self.assertEqual(rc, 1 if gmaj >= 5 else 0, out)
        rc, _, err = run_cli("toolchain", "check", "--kernel-version", "three")
        self.assertEqual(rc, 2)
        self.assertIn("'three' is not a version", err)


class BuildSource(TempDirCase):
    """kstack build's source input: a URL needs --sha256; digests are checked before anything else."""

    def build(self, *args):
        return subprocess.run(["/usr/bin/python3", KSTACK, "build", "--cache", self.p("cache"), *args],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def tarball(self):
        t = self.p("linux-9.9.tar.gz")
        with open(self.p("Makefile"), "w") as fh:
            fh.write("VERSION = 9\nPATCHLEVEL = 9\nSUBLEVEL = 0\n")
        subprocess.run(["tar", "-czf", t, "-C", self.tmp, "Makefile"], check=True)
        return t

    def test_url_without_sha256_is_refused_before_download(self):
        r = self.build("--source", "file://" + self.tarball())
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("a URL needs --sha256", r.stderr)
        self.assertFalse(os.path.exists(self.p("cache", "downloads")))

    def test_local_digest_mismatch_is_refused(self):
        r = self.build("--source", self.tarball(), "--sha256", "0" * 64)
        self.assertEqual(r.returncode, 2)
        self.assertIn("not building from an unverified source", r.stderr)
        self.assertFalse(os.path.exists(self.p("cache")) and os.listdir(self.p("cache")))

    def test_url_with_wrong_digest_leaves_no_download(self):
        r = self.build("--source", "file://" + self.tarball(), "--sha256", "1" * 64)
        self.assertEqual(r.returncode, 2)
        self.assertIn("the download's sha256 is", r.stderr)
        self.assertEqual(os.listdir(self.p("cache", "downloads")), [])

    def test_url_with_its_digest_is_fetched_then_used(self):
        t = self.tarball()
        with open(t, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        # --base names a missing file: the run stops after the fetch, before any extraction.
        r = self.build("--source", "file://" + t, "--sha256", digest, "--base", self.p("no-such-config"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("downloaded and verified", r.stderr)
        self.assertIn("--base " + self.p("no-such-config"), r.stderr)
        got = os.listdir(self.p("cache", "downloads"))
        self.assertEqual(got, [digest[:16] + "-linux-9.9.tar.gz"])


class RxeLabSeries(unittest.TestCase):
    """The project's own series against Debian's real linux-source-6.1 tarball."""

    def test_rxe_lab_applies_to_linux_source_6_1(self):
        series_dir = os.path.join(REPO, "patches", "rxe-lab")
        s = k.parse_series(series_dir)
        self.assertEqual(s.warnings, [])
        if not os.path.isfile(LINUX_SRC):
            self.skipTest(f"{LINUX_SRC} absent (apt-get install linux-source-6.1)")
        scratch = tempfile.mkdtemp(prefix="kstack-rxe-")
        self.addCleanup(shutil.rmtree, scratch, True)
        keep = os.path.join(scratch, "t")
        st = os.stat(LINUX_SRC)
        r = k.dry_run(s, LINUX_SRC, keep=keep)
        self.assertTrue(r.ok, f"{r.failed_patch}: {r.failed_hunk}: {r.detail}")
        self.assertEqual(len(r.applied), len(s.entries))
        self.assertEqual(r.notes, [], "rxe-lab must apply exactly (no offset/fuzz)")
        with open(os.path.join(keep, "drivers/infiniband/sw/rxe/rxe.c"), encoding="utf-8") as fh:
            src = fh.read()
        self.assertIn('MODULE_VERSION("6.1-rdma-deploy-rxe-lab.1");', src)
        self.assertIn("module_param_string(rdma_deploy_series, rdma_deploy_series,", src)
        self.assertIn("0444);", src)
        self.assertEqual(os.stat(LINUX_SRC).st_mtime_ns, st.st_mtime_ns)


if __name__ == "__main__":
    unittest.main()
