#!/usr/bin/python3
"""Fleet health tests (no VM): tools/fleet-report on real agent outputs, its HTML rendered by
headless Chromium, playbooks/health.yml against local-connection fake hosts, the NHC check function
and the Prometheus alert rules. Run by tests/fleet/run.sh; exit 0 pass, 1 fail, 77 when a test
skipped (only: chromium or promtool absent) and none failed.
"""
import glob
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "tools", "fleet-report")
FIXTURES = os.path.join(ROOT, "agent", "tests", "e2e", "expected")
HERE = os.path.join(ROOT, "tests", "fleet")
PY = "/usr/bin/python3"


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, **kw)


def fixture_reports():
    out = {}
    for f in sorted(glob.glob(os.path.join(FIXTURES, "*.json"))):
        with open(f, encoding="utf-8") as fh:
            out[os.path.basename(f)[:-5]] = json.load(fh)
    return out


class Tmp(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="fleet-test-")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def report(self, *args, stdin=None):
        return run([PY, TOOL, *args], input=stdin)

    def load(self, d):
        with open(os.path.join(d, "report.json"), encoding="utf-8") as f:
            return json.load(f)


class GeneratorOnFixtures(Tmp):
    """The generator on the agent's own end-to-end outputs (real agent runs on fixture trees)."""

    def setUp(self):
        super().setUp()
        self.fx = fixture_reports()
        self.assertGreaterEqual(len(self.fx), 5, "agent/tests/e2e/expected/*.json missing")
        self.root = os.path.join(self.tmp, "reports")
        self.r = self.report("--out-root", self.root, FIXTURES)
        self.assertEqual(self.r.returncode, 0, self.r.stderr)
        self.out = os.path.join(self.root, "latest")

    def test_json_hosts_checks_and_raw(self):
        rep = self.load(self.out)
        self.assertEqual([h["host"] for h in rep["hosts"]], sorted(self.fx))
        for h in rep["hosts"]:
            agent = self.fx[h["host"]]
            self.assertEqual(h["agent"], agent, f"{h['host']}: raw agent JSON not kept verbatim")
            self.assertEqual(h["status"], agent["status"])
            self.assertEqual(h["exit_code"], agent["exit_code"])
            self.assertEqual({c: v["status"] for c, v in h["checks"].items()},
                             {c["name"]: c["status"] for c in agent["checks"]})
            for c in agent["checks"]:
                self.assertEqual(h["checks"][c["name"]]["message"], c["message"])
        # Columns: every check of every host, in the agent's registry order.
        names = {c["name"] for a in self.fx.values() for c in a["checks"]}
        order = ["stack", "devices", "verbs", "multicast", "flow_steering", "mlx4_steering", "latency"]
        self.assertEqual(rep["checks"], [c for c in order if c in names])
        want = {s: sum(1 for a in self.fx.values() if a["status"] == s) for s in ("pass", "warn", "fail", "skip")}
        for s, n in want.items():
            self.assertEqual(rep["summary"][s], n, s)
        self.assertEqual(rep["summary"]["hosts"], len(self.fx))
        self.assertIn(f"{len(self.fx)} hosts: {want['pass']} pass, {want['warn']} warn, {want['fail']} fail",
                      self.r.stdout.strip().splitlines()[-1])

    def test_markdown_table(self):
        with open(os.path.join(self.out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        rep = self.load(self.out)
        header = [line for line in md.splitlines() if line.startswith("| host |")]
        self.assertEqual(len(header), 1)
        self.assertEqual([c.strip() for c in header[0].strip("|").split("|")], ["host", "overall"] + rep["checks"])
        for host, agent in self.fx.items():
            rows = [line for line in md.splitlines() if line.startswith(f"| {host} |")]
            self.assertEqual(len(rows), 1, host)
            cells = [c.strip() for c in rows[0].strip("|").split("|")]
            self.assertEqual(cells[1], agent["status"].upper())
            by_name = {c["name"]: c["status"].upper() for c in agent["checks"]}
            self.assertEqual(cells[2:], [by_name.get(c, "not run") for c in rep["checks"]])
            for c in agent["checks"]:
                if c["status"] in ("fail", "warn"):
                    self.assertIn(f"- **{host}** {c['name']} {c['status'].upper()}: {c['message'].replace('|', chr(92) + '|')}",
                                  md)

    def test_latest_symlink_moves(self):
        first = os.readlink(os.path.join(self.root, "latest"))
        r = self.report("--out-root", self.root, os.path.join(FIXTURES, "lab-rxe.json"))
        self.assertEqual(r.returncode, 0, r.stderr)
        second = os.readlink(os.path.join(self.root, "latest"))
        self.assertNotEqual(first, second)
        self.assertTrue(os.path.isfile(os.path.join(self.root, first, "report.json")), "older report kept")
        self.assertEqual([h["host"] for h in self.load(os.path.join(self.root, "latest"))["hosts"]], ["lab-rxe"])

    def test_html_self_contained(self):
        with open(os.path.join(self.out, "report.html"), encoding="utf-8") as f:
            page = f.read().lower()
        for bad in ("<script", "<link", " src=", "http://", "https://", "url("):
            self.assertNotIn(bad, page, f"report.html must be self-contained: found {bad!r}")

    def test_fail_on(self):
        fx = {h: a["status"] for h, a in self.fx.items()}
        for fail_on, bad in (("never", []), ("fail", ["fail"]), ("warn", ["fail", "warn"])):
            r = self.report("--out-dir", os.path.join(self.tmp, fail_on), "--fail-on", fail_on, FIXTURES)
            hosts = sorted(h for h, s in fx.items() if s in bad)
            self.assertEqual(r.returncode, 1 if hosts else 0, (fail_on, r.stdout, r.stderr))
            if hosts:
                self.assertIn(f"at or above --fail-on {fail_on}: {', '.join(hosts)}", r.stdout)


class GeneratorInputs(Tmp):
    """Bundles as the playbook hands them over, and bad input refused before anything is written."""

    def bundle(self, hosts, *extra):
        out = os.path.join(self.tmp, "out")
        r = self.report("--bundle", "-", "--out-dir", out, *extra, stdin=json.dumps({"hosts": hosts}))
        return r, out

    def test_host_states(self):
        with open(os.path.join(FIXTURES, "lab-rxe.json"), encoding="utf-8") as f:
            good = f.read()
        r, out = self.bundle({
            "ok": {"rc": 0, "stdout": good, "stderr": "", "changed": False},
            "down": {"unreachable": True, "msg": "ssh: connect to host n2 port 22: Connection refused\r\n"},
            "noagent": {"rc": 127, "stdout": "", "stderr": "/usr/bin/rdma-agent: no such executable file"},
            "slow": {"rc": 124, "stdout": "", "stderr": "killed after rdma_health_timeout_s=2 s"},
            "cfg": {"rc": 3, "stdout": "", "stderr": "/etc/rdma-agent/agent.yaml:3:1: expected a mapping"},
            "junk": {"rc": 0, "stdout": "Segmentation fault", "stderr": ""},
            "early": {"missing": True},
        })
        self.assertEqual(r.returncode, 0, r.stderr)
        hosts = {h["host"]: h for h in self.load(out)["hosts"]}
        self.assertEqual({h: v["status"] for h, v in hosts.items()}, {
            "ok": "pass", "down": "unreachable", "noagent": "no_agent", "slow": "error", "cfg": "error",
            "junk": "error", "early": "error"})
        self.assertIn("Connection refused", hosts["down"]["message"])
        self.assertIn("timed out", hosts["slow"]["message"])
        self.assertIn("exit 3", hosts["cfg"]["message"])
        self.assertIn("agent.yaml:3:1", hosts["cfg"]["message"])
        self.assertIn("not JSON", hosts["junk"]["message"])
        self.assertIsNone(hosts["down"]["agent"])
        with open(os.path.join(out, "report.md"), encoding="utf-8") as f:
            md = f.read()
        self.assertIn("| down | UNREACHABLE |", md)
        self.assertIn("| noagent | NO AGENT |", md)

    def test_no_host_reported(self):
        r, out = self.bundle({"a": {"unreachable": True, "msg": "timed out"}, "b": {"missing": True}}, "--fail-on", "fail")
        self.assertEqual(r.returncode, 1, r.stderr)
        rep = self.load(out)
        self.assertEqual(rep["checks"], [])
        self.assertEqual((rep["summary"]["unreachable"], rep["summary"]["error"]), (1, 1))
        with open(os.path.join(out, "report.html"), encoding="utf-8") as f:
            page = f.read()
        self.assertIn("<th>checks</th>", page)
        self.assertIn('colspan="1"', page)

    def test_bad_inputs_write_nothing(self):
        cases = [
            (["--bundle", "-"], "not json", "not JSON"),
            (["--bundle", "-"], json.dumps({"nodes": []}), "'hosts' object"),
            (["--bundle", "-"], json.dumps({"hosts": {"a": {"rc": "x", "stdout": ""}}}), "not an integer"),
            (["--bundle", "-"], json.dumps({"hosts": {"a": {"foo": 1}}}), "no rc/stdout"),
            (["--bundle", "-"], json.dumps({"hosts": {}}), "no hosts"),
            ([os.path.join(self.tmp, "absent")], None, "no such file or directory"),
            ([self.tmp], None, "no *.json"),
            ([], None, "either --bundle"),
        ]
        for args, stdin, want in cases:
            out = os.path.join(self.tmp, "o")
            r = self.report(*args, "--out-dir", out, stdin=stdin)
            self.assertEqual(r.returncode, 2, (args, r.stdout, r.stderr))
            self.assertIn(want, r.stderr, args)
            self.assertFalse(os.path.exists(out), f"{args}: wrote output despite bad input")

    def test_not_an_agent_report_and_duplicates(self):
        d = os.path.join(self.tmp, "in")
        os.makedirs(d)
        with open(os.path.join(d, "weird.json"), "w", encoding="utf-8") as f:
            json.dump({"hello": 1}, f)
        shutil.copy(os.path.join(FIXTURES, "lab-rxe.json"), os.path.join(d, "n1.json"))
        out = os.path.join(self.tmp, "o")
        r = self.report("--out-dir", out, d)
        self.assertEqual(r.returncode, 0, r.stderr)
        hosts = {h["host"]: h for h in self.load(out)["hosts"]}
        self.assertEqual(hosts["weird"]["status"], "error")
        self.assertIn("not an rdma-agent check report", hosts["weird"]["message"])
        r = self.report("--out-dir", os.path.join(self.tmp, "o2"), d, os.path.join(d, "n1.json"))
        self.assertEqual(r.returncode, 2)
        self.assertIn("appears twice", r.stderr)


# ---- headless Chromium: the page as a browser renders it ------------------------------------------

class DomTable(html.parser.HTMLParser):
    """Collects the fleet table from Chromium's --dump-dom output: rows, cells, attributes."""

    def __init__(self):
        super().__init__()
        self.rows, self.headers, self.scripts = [], [], 0
        self._in_fleet = False
        self._cell = None
        self._row = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "table" and a.get("id") == "fleet":
            self._in_fleet = True
        if not self._in_fleet:
            return
        if tag == "tr" and "data-host" in a:
            self._row = {"host": a["data-host"], "status": a.get("data-status"), "cells": []}
            self.rows.append(self._row)
        elif tag == "th" and "data-check" in a:
            self.headers.append(a["data-check"])
        elif tag == "td" and self._row is not None:
            self._cell = dict(a, text="")
            self._row["cells"].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table":
            self._in_fleet = False
        elif tag == "td":
            self._cell = None
        elif tag == "tr":
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def chromium():
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    return None


def dump_dom(page, tmp):
    # Network safety: nothing may leave this host. A file:// page with no external references, the
    # background services off, DNS resolving nothing and every request sent to a closed local port.
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync", "--disable-extensions", "--disable-default-apps",
           "--disable-domain-reliability", "--metrics-recording-only", "--no-pings",
           "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9",
           f"--user-data-dir={os.path.join(tmp, 'chromium-profile')}", "--dump-dom", "file://" + page]
    if os.geteuid() == 0:
        cmd.insert(2, "--no-sandbox")
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    if r.returncode != 0 or "<table" not in r.stdout:
        raise AssertionError(f"chromium --dump-dom failed (exit {r.returncode}): {r.stderr[-2000:]}")
    p = DomTable()
    p.feed(r.stdout)
    return p


@unittest.skipUnless(chromium(), "chromium absent (Debian package `chromium`; scripts/deps.sh installs it)")
class HtmlInChromium(Tmp):
    def test_rendered_dom(self):
        fx = fixture_reports()
        with open(os.path.join(FIXTURES, "lab-rxe.json"), encoding="utf-8") as f:
            good = json.load(f)
        # A hostile message and host name: quotes, markup and an ampersand must survive as text.
        evil = json.loads(json.dumps(good))
        evil["checks"][0]["status"] = "fail"
        evil["status"] = "fail"
        evil["checks"][0]["message"] = 'bad "quote" <script>alert(1)</script> & <b>tag</b>'
        hosts = {h: {"rc": a["exit_code"], "stdout": json.dumps(a), "stderr": ""} for h, a in fx.items()}
        hosts["evil<i>&\"host"] = {"rc": 2, "stdout": json.dumps(evil), "stderr": ""}
        hosts["down"] = {"unreachable": True, "msg": "ssh: connect to host down port 22: No route to host"}
        hosts["bare"] = {"rc": 127, "stdout": "", "stderr": "/usr/bin/rdma-agent: no such executable file"}
        out = os.path.join(self.tmp, "out")
        r = self.report("--bundle", "-", "--out-dir", out, stdin=json.dumps({"hosts": hosts}))
        self.assertEqual(r.returncode, 0, r.stderr)
        rep = self.load(out)
        dom = dump_dom(os.path.join(out, "report.html"), self.tmp)

        self.assertEqual(dom.scripts, 0, "a <script> element reached the DOM: message not escaped")
        self.assertEqual(dom.headers, rep["checks"])
        self.assertEqual(sorted(row["host"] for row in dom.rows), sorted(hosts))
        rows = {row["host"]: row for row in dom.rows}
        for h, agent in list(fx.items()) + [("evil<i>&\"host", evil)]:
            cells = {c["data-check"]: c for c in rows[h]["cells"] if "data-check" in c}
            self.assertEqual(cells["overall"]["data-status"], agent["status"], h)
            for check in rep["checks"]:
                c = cells[check]
                got = next((x for x in agent["checks"] if x["name"] == check), None)
                if got is None:
                    self.assertEqual(c["data-status"], "notrun", (h, check))
                    continue
                self.assertEqual(c["data-status"], got["status"], (h, check))
                self.assertEqual(c["class"], got["status"], (h, check))       # the colour
                self.assertEqual(c["text"].strip(), got["status"].upper(), (h, check))
                self.assertEqual(c["title"], got["message"], (h, check))       # hover text
        failing = [(row["host"], c["data-check"]) for row in dom.rows for c in row["cells"]
                   if c.get("class") == "fail" and c.get("data-check") not in (None, "overall")]
        want_failing = [(h, c["name"]) for h, a in list(fx.items()) + [("evil<i>&\"host", evil)]
                        for c in a["checks"] if c["status"] == "fail"]
        self.assertEqual(sorted(failing), sorted(want_failing))
        self.assertGreater(len(failing), 0)
        self.assertEqual(rows["down"]["status"], "unreachable")
        self.assertTrue(any("UNREACHABLE" in c["text"] and "No route to host" in c.get("title", "")
                            for c in rows["down"]["cells"]))
        self.assertEqual(rows["bare"]["status"], "no_agent")
        self.assertTrue(any("NO AGENT" in c["text"] for c in rows["bare"]["cells"]))


# ---- the playbook against local-connection fake hosts ----------------------------------------------

class Playbook(Tmp):
    """playbooks/health.yml on tests/fleet/inventory.yml: fake agents, one unreachable host."""

    def play(self, *extra):
        env = dict(os.environ, ANSIBLE_CALLBACKS_ENABLED="", ANSIBLE_NOCOLOR="1",
                   FAKE_AGENT_LOG=os.path.join(self.tmp, "agent.log"))
        return run(["ansible-playbook", "-i", os.path.join(HERE, "inventory.yml"),
                    os.path.join(ROOT, "playbooks", "health.yml"), *extra], env=env, timeout=600)

    def test_report_and_exit_codes(self):
        root = os.path.join(self.tmp, "r")
        r = self.play("-e", f"rdma_health_report_root={root}")
        self.assertEqual(r.returncode, 0, r.stdout[-3000:] + r.stderr[-2000:])
        rep = self.load(os.path.join(root, "latest"))
        got = {h["host"]: h["status"] for h in rep["hosts"]}
        self.assertEqual(got, {"node-pass": "pass", "node-warn": "warn", "node-fail": "fail",
                               "node-noagent": "no_agent", "node-error": "error", "node-garbage": "error",
                               "node-hang": "error", "node-down": "unreachable"})
        hosts = {h["host"]: h for h in rep["hosts"]}
        with open(os.path.join(FIXTURES, "lab-nodev.json"), encoding="utf-8") as f:
            self.assertEqual(hosts["node-fail"]["agent"], json.load(f))
        self.assertEqual(hosts["node-fail"]["exit_code"], 2)
        self.assertIn("timed out", hosts["node-hang"]["message"])
        # The agent was called as `check --format json --config <file>` (the config variable reached it).
        with open(os.path.join(self.tmp, "agent.log"), encoding="utf-8") as f:
            calls = f.read().splitlines()
        self.assertIn(f"check --format json --config {FIXTURES}/lab-rxe.json", calls)
        last = [line for line in r.stdout.splitlines() if "fleet-report:" in line][-1]
        self.assertIn("8 hosts: 1 pass, 1 warn, 1 fail, 0 skip, 1 unreachable, 1 no agent, 3 error", last)
        self.assertIn("failed=0", r.stdout)

        for fail_on in ("fail", "warn"):
            r = self.play("-e", f"rdma_health_report_root={root}", "-e", f"rdma_health_fail_on={fail_on}")
            self.assertEqual(r.returncode, 2, (fail_on, r.stdout[-3000:]))
            self.assertIn(f"at or above --fail-on {fail_on}", r.stdout)
            self.assertEqual("node-warn" in r.stdout.split(f"--fail-on {fail_on}:")[1].splitlines()[0],
                             fail_on == "warn")

    def test_bad_variable_refused_before_anything(self):
        root = os.path.join(self.tmp, "r")
        r = self.play("-e", f"rdma_health_report_root={root}", "-e", "rdma_health_fail_on=sometimes")
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("rdma_health_fail_on must be one of: fail, warn, never, got: sometimes", r.stdout)
        self.assertFalse(os.path.exists(root))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "agent.log")), "the agent ran despite bad input")


# ---- NHC check function -------------------------------------------------------------------------

AGENT_BIN = os.environ.get("RDMA_AGENT_BIN", os.path.join(ROOT, "build", "rdma-agent"))
FAKE = os.path.join(HERE, "fake-rdma-agent")


class NhcCheck(unittest.TestCase):
    """contrib/nhc/rdma_agent.nhc through tests/fleet/nhc-harness.sh (die/log defined as NHC does)."""

    def nhc(self, *args, timeout_env=None):
        env = dict(os.environ)
        if timeout_env is not None:
            env["TIMEOUT"] = str(timeout_env)
        r = run(["bash", os.path.join(HERE, "nhc-harness.sh"), *args], env=env, timeout=120)
        self.assertEqual(r.returncode, 0, f"harness: {r.stderr}")  # die <=> non-zero return
        lines = r.stdout.splitlines()
        dies = [line[4:] for line in lines if line.startswith("DIE ")]
        logs = [line[4:] for line in lines if line.startswith("LOG ")]
        ret = int([line for line in lines if line.startswith("RETURN ")][-1].split()[1])
        return ret, dies, logs

    def test_failures_without_the_real_agent(self):
        ret, dies, _ = self.nhc("-a", "/nonexistent/rdma-agent")
        self.assertEqual((ret, dies), (1, ["1 check_rdma_agent:  /nonexistent/rdma-agent not found or not executable "
                                           "(rdma-agent not installed?)"]))
        ret, dies, _ = self.nhc("-t", "1", "-a", FAKE, "-c", "hang")
        self.assertEqual(ret, 1)
        self.assertEqual(len(dies), 1)
        self.assertIn("TIMEOUT after 1s", dies[0])
        ret, dies, _ = self.nhc("-a", FAKE, "-c", "error")
        self.assertEqual(ret, 1)
        self.assertIn("rdma-agent exit 3", dies[0])
        self.assertIn("error:3:1: expected a mapping", dies[0])
        ret, dies, _ = self.nhc("-t", "20", timeout_env=10)
        self.assertEqual((ret, dies), (1, ["1 check_rdma_agent:  Command timeout 20 exceeds NHC timeout 10"]))
        for bad, msg in ((["-x"], "Invalid option:  -x"), (["-t"], "Option -t requires an argument"),
                         (["-t", "soon"], 'got "soon"')):
            ret, dies, _ = self.nhc(*bad)
            self.assertEqual(ret, 1, bad)
            self.assertIn(msg, dies[0], bad)

    @unittest.skipUnless(os.access(AGENT_BIN, os.X_OK), f"{AGENT_BIN} not built (make build)")
    def test_verdicts_of_the_real_agent_on_fixture_trees(self):
        fx = os.path.join(ROOT, "agent", "tests", "fixtures")
        only = ["--only", "stack,devices,mlx4_steering"]
        ret, dies, logs = self.nhc("-a", AGENT_BIN, "--", "--root", os.path.join(fx, "lab-rxe"), *only)
        self.assertEqual((ret, dies, logs), (0, [], []))
        # A failing node: die with the agent's own first line, without the perfdata.
        ret, dies, _ = self.nhc("-a", AGENT_BIN, "--", "--root", os.path.join(fx, "lab-nodev"), *only)
        self.assertEqual(ret, 1)
        self.assertEqual(len(dies), 1)
        self.assertTrue(dies[0].startswith("1 check_rdma_agent:  RDMA CRITICAL - stack: kernel module ib_core is not loaded"),
                        dies[0])
        self.assertNotIn("'stack'=", dies[0])
        # A warning is logged and the node stays online, unless -w.
        ret, dies, logs = self.nhc("-a", AGENT_BIN, "--", "--root", os.path.join(fx, "hand-cx3-dmfs"), *only)
        self.assertEqual((ret, dies), (0, []))
        self.assertIn("RDMA WARNING - mlx4_steering: DMFS requested but not confirmable", logs[0])
        ret, dies, _ = self.nhc("-w", "-a", AGENT_BIN, "--", "--root", os.path.join(fx, "hand-cx3-dmfs"), *only)
        self.assertEqual(ret, 1)
        self.assertIn("RDMA WARNING - mlx4_steering", dies[0])


# ---- Prometheus alert rules ------------------------------------------------------------------------

class PrometheusRules(unittest.TestCase):
    RULES = os.path.join(ROOT, "docs", "prometheus", "rdma-alerts.yml")

    def test_metric_names_exist_in_the_agent(self):
        """Every rdma_agent_* name in the rules is one the agent writes (report.cpp, or a detail key)."""
        import re
        import yaml
        with open(self.RULES, encoding="utf-8") as f:
            rules = "\n".join(r["expr"] for g in yaml.safe_load(f)["groups"] for r in g["rules"])
        with open(os.path.join(ROOT, "agent", "src", "core", "report.cpp"), encoding="utf-8") as f:
            report = f.read()
        sources = ""
        for path in glob.glob(os.path.join(ROOT, "agent", "src", "**", "*.cpp"), recursive=True):
            with open(path, encoding="utf-8") as f:
                sources += f.read()
        fixed = set(re.findall(r"rdma_agent_[a-z_]+(?=[{ ])", report))
        checks = ["stack", "devices", "verbs", "multicast", "flow_steering", "mlx4_steering", "latency"]
        used = set(re.findall(r"\brdma_agent_[a-z0-9_]+", rules))
        self.assertIn("rdma_agent_check_status", used)
        for name in sorted(used):
            if name in fixed:
                continue
            rest = name[len("rdma_agent_"):]
            ok = any(rest.startswith(c + "_") and f'"{rest[len(c) + 1:]}"' in sources for c in checks)
            self.assertTrue(ok, f"{name}: not a metric rdma-agent writes (report.cpp / check details)")

    def test_rules_with_promtool(self):
        promtool = shutil.which("promtool")
        if promtool is None:
            # Not a skip: the structure is still checked; say plainly what was not.
            import yaml
            print("\n    promtool absent (Debian package prometheus): structure checked, PromQL not", end=" ")
            with open(self.RULES, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
            for g in doc["groups"]:
                for r in g["rules"]:
                    self.assertTrue({"alert", "expr", "labels", "annotations"} <= set(r), r.get("alert"))
            return
        r = run([promtool, "check", "rules", self.RULES])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS: 7 rules found", r.stdout + r.stderr)
        r = run([promtool, "test", "rules", os.path.join(HERE, "rdma-alerts.test.yml")])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn("SUCCESS", r.stdout + r.stderr)


def main():
    # Arguments: test names to run (e.g. NhcCheck, Playbook.test_report_and_exit_codes); none: all.
    module = sys.modules[__name__]
    loader = unittest.defaultTestLoader
    suite = loader.loadTestsFromNames(sys.argv[1:], module) if sys.argv[1:] else loader.loadTestsFromModule(module)
    res = unittest.TextTestRunner(verbosity=2).run(suite)
    if not res.wasSuccessful():
        return 1
    if res.skipped:
        for t, why in res.skipped:
            print(f"SKIPPED: {t.id()}: {why}")
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main())
