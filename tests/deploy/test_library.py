#!/usr/bin/python3
"""Unit tests of the deploy's own modules (library/rdma_files.py, library/rdma_unit.py).

rdma_files runs against a scratch directory; rdma_unit against a fake `systemctl` (a script that
keeps the unit's state in a file and logs every call). Nothing outside the scratch directory is
touched. The playbook-level proof (the same bytes as `ansible.builtin.template`) is
test_rdma_files_render in run_tests.py; the node-level proof is the lab deploy (tests/e2e/deploy.sh).
"""
import grp
import importlib.util
import json
import os
import pwd
import stat
import subprocess
import sys
import tempfile
import textwrap
import unittest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "library", name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


rdma_files = load("rdma_files")
rdma_unit = load("rdma_unit")
ME = pwd.getpwuid(os.getuid()).pw_name
MYGROUP = grp.getgrgid(os.getgid()).gr_name


class Files(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def entry(self, name, content, **kw):
        return dict({"path": os.path.join(self.d, name), "content": content, "owner": ME, "group": MYGROUP}, **kw)

    def run_files(self, entries, check=False, diff=False):
        return rdma_files.run({"files": entries, "_ansible_check_mode": check, "_ansible_diff": diff})

    def read(self, name):
        with open(os.path.join(self.d, name)) as f:
            return f.read()

    def test_create_then_unchanged(self):
        r = self.run_files([self.entry("a.conf", "one\n"), self.entry("b.conf", "two", mode="0600")], diff=True)
        self.assertTrue(r["changed"])
        self.assertEqual(r["files"], {os.path.join(self.d, "a.conf"): "created", os.path.join(self.d, "b.conf"): "created"})
        self.assertEqual(self.read("a.conf"), "one\n")
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.d, "b.conf")).st_mode), 0o600)
        self.assertEqual([d["after"] for d in r["diff"]], ["one\n", "two"])
        r = self.run_files([self.entry("a.conf", "one\n"), self.entry("b.conf", "two", mode="0600")], diff=True)
        self.assertFalse(r["changed"])
        self.assertEqual(r["changed_paths"], [])
        self.assertNotIn("diff", r)
        self.assertEqual(sorted(os.listdir(self.d)), ["a.conf", "b.conf"], "no temporary file left behind")

    def test_update_shows_before_and_after(self):
        self.run_files([self.entry("a.conf", "old\n")])
        r = self.run_files([self.entry("a.conf", "new\n")], diff=True)
        self.assertEqual(r["files"][os.path.join(self.d, "a.conf")], "updated")
        self.assertEqual((r["diff"][0]["before"], r["diff"][0]["after"]), ("old\n", "new\n"))
        self.assertEqual(self.read("a.conf"), "new\n")

    def test_mode_only(self):
        self.run_files([self.entry("a.conf", "x")])
        r = self.run_files([self.entry("a.conf", "x", mode="0640")], diff=True)
        self.assertEqual(r["files"][os.path.join(self.d, "a.conf")], "attributes")
        self.assertTrue(r["changed"])
        self.assertNotIn("diff", r)
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(self.d, "a.conf")).st_mode), 0o640)

    def test_check_mode_writes_nothing(self):
        self.run_files([self.entry("a.conf", "old\n")])
        r = self.run_files([self.entry("a.conf", "new\n"), self.entry("sub/b.conf", "b")], check=True, diff=True)
        self.assertTrue(r["changed"])
        self.assertEqual(len(r["changed_paths"]), 2)
        self.assertEqual(self.read("a.conf"), "old\n")
        self.assertFalse(os.path.exists(os.path.join(self.d, "sub")))
        self.assertEqual([d["after"] for d in r["diff"]], ["new\n", "b"])

    def test_skip_leaves_the_file_alone(self):
        self.run_files([self.entry("a.conf", "keep")])
        r = self.run_files([self.entry("a.conf", "other", skip="True"), self.entry("b.conf", "b", skip=False)])
        self.assertEqual(r["files"][os.path.join(self.d, "a.conf")], "skipped")
        self.assertEqual(self.read("a.conf"), "keep")
        self.assertEqual(r["changed_paths"], [os.path.join(self.d, "b.conf")])

    def test_symlink_replaced_by_a_file(self):
        target = os.path.join(self.d, "target")
        with open(target, "w") as f:
            f.write("t")
        os.symlink(target, os.path.join(self.d, "a.conf"))
        r = self.run_files([self.entry("a.conf", "t")])
        self.assertEqual(r["files"][os.path.join(self.d, "a.conf")], "updated")
        self.assertFalse(os.path.islink(os.path.join(self.d, "a.conf")))
        self.assertEqual(self.read("target"), "t")

    def refused(self, entries, words, check=False):
        with self.assertRaises(rdma_files.Refused) as cm:
            self.run_files(entries, check=check)
        for w in words:
            self.assertIn(w, str(cm.exception))
        return str(cm.exception)

    def test_binary_content(self):
        import base64
        data = bytes(range(256))
        e = {"path": os.path.join(self.d, "x.deb"), "content_b64": base64.b64encode(data).decode(),
             "owner": ME, "group": MYGROUP}
        r = self.run_files([e], diff=True)
        self.assertEqual(r["files"][e["path"]], "created")
        self.assertNotIn("diff", r, "no diff for a binary file")
        with open(e["path"], "rb") as f:
            self.assertEqual(f.read(), data)
        self.assertFalse(self.run_files([e])["changed"])
        self.refused([dict(e, content_b64="not base64!")], ["not base64"])
        self.refused([dict(e, content="x")], ["exactly one of content"])
        self.refused([{"path": e["path"], "owner": ME, "group": MYGROUP}], ["exactly one of content"])

    def test_refusals_write_nothing(self):
        good = self.entry("good.conf", "g")
        self.refused([good, self.entry("missing/b.conf", "b")], ["parent directory missing", "missing/b.conf"])
        self.refused([good, {"path": "relative.conf", "content": "x"}], ["absolute"])
        self.refused([good, self.entry("c.conf", "x", mode="644x")], ["mode"])
        self.refused([good, self.entry("c.conf", "x", owner="no-such-user-rdma")], ["no-such-user-rdma", "no such user"])
        self.refused([good, self.entry("c.conf", "x", group="no-such-group-rdma")], ["no such group"])
        self.refused([good, self.entry("good.conf", "again")], ["listed twice"])
        self.refused([good, self.entry("c.conf", 42)], ["content must be text"])
        self.refused([good, dict(self.entry("c.conf", "x"), dest="/x")], ["unknown keys", "dest"])
        os.mkdir(os.path.join(self.d, "adir"))
        self.refused([good, self.entry("adir", "x")], ["is a directory"])
        self.refused([], ["non-empty list"])
        self.assertEqual(sorted(os.listdir(self.d)), ["adir"], "a refused run wrote nothing")

    def test_as_ansible_runs_it(self):
        """The module file with its arguments substituted (what Ansible pipelines): JSON on stdout,
        exit 0, failures as {"failed": true, "msg"}; content with quotes and backslashes intact."""
        with open(os.path.join(ROOT, "library", "rdma_files.py")) as f:
            src = f.read()
        tricky = 'a """ b \'\'\' c \\n \\" d\n\u00e9\n'
        args = {"files": [self.entry("q.conf", tricky)], "_ansible_check_mode": False}
        code = src.replace("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>", json.dumps(args))
        p = subprocess.run([sys.executable, "-"], input=code, capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(json.loads(p.stdout)["changed"])
        self.assertEqual(self.read("q.conf"), tricky)
        args = {"files": [self.entry("nodir/q.conf", "x")]}
        p = subprocess.run([sys.executable, "-"], input=src.replace("<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>", json.dumps(args)),
                           capture_output=True, text=True)
        out = json.loads(p.stdout)
        self.assertTrue(out["failed"])
        self.assertIn("parent directory missing", out["msg"])


FAKE_SYSTEMCTL = textwrap.dedent("""\
    #!/bin/sh
    # Fake systemctl: state in $FAKE_STATE (LoadState ActiveState UnitFileState and the manager's
    # cached UnitFileState, which `show` reports and only a reload refreshes), calls in $FAKE_LOG.
    echo "$*" >> "$FAKE_LOG"
    read -r load active file cached < "$FAKE_STATE"
    verb=$1; shift; now=; unit=; reload=1
    for a in "$@"; do case "$a" in --now) now=1 ;; --no-reload) reload= ;; -p|LoadState|ActiveState|UnitFileState) ;; *) unit=$a ;; esac; done
    start() { [ -n "$FAKE_FAIL_START" ] && { echo "Job for $unit failed." >&2; exit 1; }; active=active; }
    case "$verb" in
      show) printf 'LoadState=%s\\nActiveState=%s\\nUnitFileState=%s\\n' "$load" "$active" "$cached" ;;
      is-enabled) echo "$file"; case "$file" in enabled|static) exit 0 ;; *) exit 1 ;; esac ;;
      daemon-reload) cached=$file ;;
      enable) file=enabled; [ -n "$reload" ] && cached=$file; [ -n "$now" ] && start ;;
      disable) file=disabled; [ -n "$reload" ] && cached=$file ;;
      start|restart) start ;;
      stop) active=inactive ;;
    esac
    echo "$load $active $file $cached" > "$FAKE_STATE"
    """)


class Unit(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.fake = os.path.join(d, "systemctl")
        with open(self.fake, "w") as f:
            f.write(FAKE_SYSTEMCTL)
        os.chmod(self.fake, 0o755)
        self.state, self.log = os.path.join(d, "state"), os.path.join(d, "log")
        os.environ.update(FAKE_STATE=self.state, FAKE_LOG=self.log)
        os.environ.pop("FAKE_FAIL_START", None)
        open(self.log, "w").close()
        rdma_unit.SYSTEMCTL = self.fake

    def tearDown(self):
        self.tmp.cleanup()

    def given(self, load, active, file):
        with open(self.state, "w") as f:
            f.write(f"{load} {active} {file or '-'} {file or '-'}\n")

    def calls(self):
        with open(self.log) as f:
            return [line.strip() for line in f if not line.startswith(("show", "is-enabled"))]

    def now(self):
        with open(self.state) as f:
            return f.read().split()[:3]

    def test_enable_and_start_then_nothing(self):
        self.given("loaded", "inactive", "disabled")
        r = rdma_unit.run({"name": "x.service", "enabled": True, "state": "started", "daemon_reload": True})
        self.assertTrue(r["changed"])
        self.assertEqual(r["actions"], ["daemon-reload", "enable", "start"])
        self.assertEqual(r["status"]["ActiveState"], "inactive", "status is read before acting")
        self.assertEqual(self.now(), ["loaded", "active", "enabled"])
        self.assertEqual(self.calls(), ["daemon-reload", "enable --no-reload --now x.service"],
                         "one explicit reload, enable and start in one call")
        open(self.log, "w").close()
        r = rdma_unit.run({"name": "x.service", "enabled": "true", "state": "started", "daemon_reload": "False"})
        self.assertFalse(r["changed"])
        self.assertEqual(self.calls(), [])

    def test_check_mode_only_reads(self):
        self.given("loaded", "inactive", "disabled")
        r = rdma_unit.run({"name": "x.timer", "enabled": True, "state": "started", "daemon_reload": True,
                           "_ansible_check_mode": True})
        self.assertTrue(r["changed"])
        self.assertEqual(r["actions"], ["daemon-reload", "enable", "start"])
        self.assertEqual(self.calls(), [])
        self.assertEqual(self.now(), ["loaded", "inactive", "disabled"])

    def test_check_mode_on_a_unit_not_written_yet(self):
        self.given("not-found", "inactive", "")
        r = rdma_unit.run({"name": "x.service", "enabled": True, "state": "started", "_ansible_check_mode": True})
        self.assertEqual(r["actions"], ["enable", "start"])

    def test_stop_disable_restart(self):
        self.given("loaded", "active", "enabled")
        r = rdma_unit.run({"name": "x.timer", "enabled": False, "state": "stopped"})
        self.assertEqual(r["actions"], ["disable", "stop"])
        self.assertEqual(self.calls(), ["disable --no-reload x.timer", "stop x.timer"])
        self.assertEqual(self.now(), ["loaded", "inactive", "disabled"])
        r = rdma_unit.run({"name": "x.timer", "state": "restarted"})
        self.assertEqual(r["actions"], ["restart"])
        self.assertTrue(r["changed"])

    def test_static_unit_is_not_enabled_again(self):
        self.given("loaded", "active", "static")
        self.assertFalse(rdma_unit.run({"name": "x.service", "enabled": True, "state": "started"})["changed"])

    def test_failures_name_the_cause(self):
        self.given("not-found", "inactive", "")
        with self.assertRaises(rdma_unit.Refused) as cm:
            rdma_unit.run({"name": "x.service", "state": "started"})
        self.assertIn("no such unit", str(cm.exception))
        self.given("loaded", "inactive", "enabled")
        os.environ["FAKE_FAIL_START"] = "1"
        with self.assertRaises(rdma_unit.Refused) as cm:
            rdma_unit.run({"name": "x.service", "state": "started"})
        self.assertIn("systemctl start x.service failed (exit 1): Job for x.service failed.", str(cm.exception))
        self.given("loaded", "inactive", "disabled")
        with self.assertRaises(rdma_unit.Refused) as cm:
            rdma_unit.run({"name": "x.service", "enabled": True, "state": "started"})
        self.assertIn("systemctl enable --no-reload --now x.service failed (exit 1)", str(cm.exception))
        open(self.log, "w").close()
        for bad, word in (({"name": "x"}, "unit name"), ({"name": "x.service", "state": "up"}, "state must be"),
                          ({"name": "x.service"}, "nothing to do"), ({"name": "x.service; rm -rf /", "state": "started"}, "unit name")):
            with self.assertRaises(rdma_unit.Refused) as cm:
                rdma_unit.run(bad)
            self.assertIn(word, str(cm.exception))
        self.assertEqual(self.calls(), [], "refused arguments ran nothing")


if __name__ == "__main__":
    unittest.main(verbosity=2)
