#!/usr/bin/python3
"""Fast tests of the deploy playbooks (no VM, nothing changed anywhere but a scratch dir).

Run from the repository root through tests/deploy/run.sh. Prints one PASS/FAIL line per test and
ends with a summary; exit 0 when everything passed.
"""
import concurrent.futures
import glob
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HERE = os.path.join(ROOT, "tests", "deploy")
INV = os.path.join(HERE, "inventory", "hosts.yml")
ENV = dict(os.environ, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
           ANSIBLE_RETRY_FILES_ENABLED="0", ANSIBLE_LOCALHOST_WARNING="0",
           ANSIBLE_INVENTORY_UNPARSED_WARNING="0", ANSIBLE_COLLECTIONS_PATH="/usr/lib/python3/dist-packages")
results = []


def report(name, ok, detail=""):
    results.append(ok)
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"\n      {detail}" if detail and not ok else ""), flush=True)


def playbook(args, env=None):
    cmd = ["ansible-playbook", "-i", INV] + args
    p = subprocess.run(cmd, cwd=ROOT, env=env or ENV, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout + p.stderr


def test_syntax():
    for pb in ["deploy-rdma.yml", "tests/deploy/resolve.yml", "tests/deploy/render.yml"]:
        rc, out = playbook(["--syntax-check", pb])
        report(f"syntax-check {pb}", rc == 0, out[-800:])


def test_argument_specs():
    """Every role documents every default in meta/argument_specs.yml."""
    roles_dir = os.path.join(ROOT, "roles")
    for role in sorted(os.listdir(roles_dir)):
        spec_file = os.path.join(roles_dir, role, "meta", "argument_specs.yml")
        defaults_file = os.path.join(roles_dir, role, "defaults", "main.yml")
        if not os.path.exists(spec_file):
            report(f"argument specs: role {role}", False, "meta/argument_specs.yml missing")
            continue
        specs = yaml.safe_load(open(spec_file))["argument_specs"]
        documented = set()
        for entry in specs.values():
            documented |= set((entry.get("options") or {}).keys())
        defaults = yaml.safe_load(open(defaults_file)) if os.path.exists(defaults_file) else {}
        missing = sorted(set(defaults or {}) - documented)
        unprefixed = sorted(v for v in (defaults or {}) if not (v == role or v.startswith(role + "_")))
        prefix_ok = not unprefixed
        report(f"argument specs: role {role} documents its {len(defaults or {})} defaults, all prefixed {role}_",
               not missing and prefix_ok, f"undocumented: {missing}; not prefixed: {unprefixed}")


def case_inventory(cases, path):
    """One host per case: the base test host's variables plus the case's own."""
    base = yaml.safe_load(open(INV))["all"]
    hostvars = {}
    for group in base["children"].values():
        hostvars.update({h: v or {} for h, v in group["hosts"].items()})
    hosts = {}
    for c in cases:
        v = dict(base["vars"])
        v.update(hostvars[c["host"]])
        v.update(c.get("vars") or {})
        hosts[f"{c['host']}--{c['id']}"] = v
    yaml.safe_dump({"all": {"hosts": hosts}}, open(path, "w"), sort_keys=False)


def test_preflight():
    cases = yaml.safe_load(open(os.path.join(HERE, "cases.yml")))
    with tempfile.TemporaryDirectory() as d:
        outs = {}
        for kind in ("accept", "refuse"):
            inv = os.path.join(d, f"{kind}.yml")
            case_inventory(cases[kind], inv)
            p = subprocess.run(["ansible-playbook", "-i", inv, "tests/deploy/preflight-cases.yml"], cwd=ROOT, env=ENV,
                               capture_output=True, text=True, timeout=900)
            outs[kind] = (p.returncode, p.stdout + p.stderr)
    kinds = 0
    for kind in ("accept", "refuse"):
        rc, out = outs[kind]
        for case in cases[kind]:
            host = f"{case['host']}--{case['id']}"
            recap = re.search(rf"^{re.escape(host)}\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)", out, re.M)
            changed, nfailed = (int(recap.group(1)), int(recap.group(2))) if recap else (-1, -1)
            fatal = [l for l in out.splitlines() if l.startswith((f"fatal: [{host}]", f"failed: [{host}]"))]
            if kind == "accept":
                report(f"preflight accepts {case['id']} ({case['host']})", nfailed == 0 and changed == 0 and not fatal,
                       f"changed={changed} failed={nfailed}\n" + "\n".join(fatal)[-1500:])
                continue
            kinds += 1
            flat = "\n".join(fatal).replace('\\"', '"')
            missing = [e for e in case["expect"][1:] if e not in flat]
            if f"{host}:" not in flat:
                missing.insert(0, f"host name '{host}:'")
            report(f"preflight refuses {case['id']} ({case['host']}): names host, variable, reason; changed=0",
                   nfailed == 1 and not missing and changed == 0,
                   f"changed={changed} failed={nfailed} missing={missing}\n{flat[-1500:]}")
    report(f"preflight has >= 10 kinds of refusal ({kinds})", kinds >= 10)
    # The real play: any_errors_fatal, so one bad host stops every host before any change.
    rc, out = playbook(["playbooks/preflight.yml", "--limit", "debian12,ubuntu22",
                        "-e", json.dumps({"rdma_stack": "kernel", "rdma_stack_version": "6.6"})])
    stopped = "NO MORE HOSTS LEFT" in out or "any_errors_fatal" in out or rc != 0
    report("playbooks/preflight.yml refuses (kernel stack without a kernel) on every host and stops the run "
           "(exit != 0)", rc != 0 and stopped and "no kernel source given" in out, out[-1500:])


def test_resolution():
    env = dict(ENV, ANSIBLE_STDOUT_CALLBACK="json")
    rc, out = playbook(["tests/deploy/resolve.yml"], env=env)
    try:
        data = json.JSONDecoder().raw_decode(out[out.index("{"):])[0]
    except (ValueError, json.JSONDecodeError) as e:
        report("per-distro resolution ran", False, f"rc={rc} {e}\n{out[-1500:]}")
        return
    report("per-distro resolution ran", rc == 0, out[-800:])
    resolved = {}
    for play in data["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"] == "Print them":
                for host, res in task["hosts"].items():
                    resolved[host] = res.get("msg")
    for f in sorted(os.listdir(os.path.join(HERE, "expected"))):
        exp = yaml.safe_load(open(os.path.join(HERE, "expected", f)))
        unsourced = sorted(k for k in exp["values"] if not str(exp["sources"].get(k, "")).strip())
        report(f"expected/{f}: every value cites its source", not unsourced, f"no source for {unsourced}")
        for host in exp["hosts"]:
            got = resolved.get(host)
            if got is None:
                report(f"resolution {host}", False, "host not resolved")
                continue
            diffs = [f"{k}: expected {v!r}, got {got.get(k)!r}" for k, v in exp["values"].items() if got.get(k) != v]
            extra = sorted(set(got) - set(exp["values"]))
            report(f"resolution {host} ({len(exp['values'])} values) matches expected/{f}", not diffs and not extra,
                   "; ".join(diffs) + (f"; unchecked keys {extra}" if extra else ""))


def config_schema():
    """Struct fields of agent/include/rdma_agent/config.hpp: {struct: [fields]}."""
    src = open(os.path.join(ROOT, "agent", "include", "rdma_agent", "config.hpp")).read()
    out = {}
    for m in re.finditer(r"struct (\w+) \{(.*?)\n\};", src, re.S):
        out[m.group(1)] = re.findall(r"^\s+[\w:<>, ]+?\s(\w+)(?:\s*=[^;]*)?;", m.group(2), re.M)
    return out


def test_render():
    with tempfile.TemporaryDirectory() as d:
        rc, out = playbook(["tests/deploy/render.yml"], env=dict(ENV, RENDER_DIR=d))
        path = os.path.join(d, "agent.yaml")
        if rc != 0 or not os.path.exists(path):
            report("agent.yaml renders with the lab settings", False, out[-1500:])
            return
        cfg = yaml.safe_load(open(path))
    report("agent.yaml renders with the lab settings", True)
    schema = config_schema()
    sections = {"stack": "StackConfig", "devices": "DevicesConfig", "verbs": "VerbsConfig",
                "multicast": "MulticastConfig", "flow_steering": "FlowSteeringConfig",
                "mlx4_steering": "Mlx4SteeringConfig", "latency": "LatencyConfig"}
    bad = []
    for key, val in cfg.items():
        if key == "schema_version":
            continue
        if key not in sections:
            bad.append(f"unknown section {key}")
            continue
        fields = set(schema.get(sections[key], []))
        for f in val:
            if f == "budget_us" and key == "latency":
                continue  # latency.budget_us: {median, p99} <- median_budget_us / p99_budget_us
            if f not in fields:
                bad.append(f"{key}.{f} not in {sections[key]} {sorted(fields)}")
    report("agent.yaml keys mirror config.hpp (sections and fields)", not bad and set(cfg) - {"schema_version"} == set(sections),
           "; ".join(bad) or f"sections {sorted(cfg)}")
    lab = (cfg["mlx4_steering"]["expected"] == -1 and cfg["flow_steering"]["required"] is False
           and cfg["multicast"]["group"] == "239.1.1.1" and cfg["latency"]["budget_us"]["median"] == 2000
           and cfg["stack"]["expected"] == "inbox" and cfg["devices"]["expected"][0]["name"] == "rxe0")
    report("agent.yaml carries the lab settings (mlx4 -1, flow steering not required, 239.1.1.1, budget)", lab,
           json.dumps(cfg))


def test_rdma_files_render():
    """rdma_files (library/) writes what ansible.builtin.template wrote: every template the roles
    pass to it, rendered both ways on the control node (tests/deploy/render-files.yml), byte for byte
    and with the same mode; and every such template is in that play's list."""
    used = set()
    for f in glob.glob(os.path.join(ROOT, "roles", "*", "tasks", "*.yml")):
        text = open(f).read()
        if "rdma_files:" not in text:
            continue
        role = f.split(os.sep)[-3]
        for t in re.findall(r"lookup\('ansible\.builtin\.template', '([^']+)'\)", text):
            used.add(f"roles/{role}/templates/{t}")
    listed = set(yaml.safe_load(open(os.path.join(HERE, "render-files.yml")))[0]["vars"]["templates"])
    report("rdma_files: every template the roles pass to it is in render-files.yml", used and used <= listed,
           f"missing: {sorted(used - listed)}")
    import grp
    import pwd
    with tempfile.TemporaryDirectory() as d:
        binary = bytes(range(256)) * 4 + b"\xff\xfe\x00 trailing\n\n"
        with open(os.path.join(d, "binary.in"), "wb") as f:
            f.write(binary)
        rc, out = playbook(["tests/deploy/render-files.yml"],
                           env=dict(ENV, RENDER_DIR=d, RENDER_OWNER=pwd.getpwuid(os.getuid()).pw_name,
                                    RENDER_GROUP=grp.getgrgid(os.getgid()).gr_name))
        a, b = os.path.join(d, "template"), os.path.join(d, "rdma_files")
        if rc != 0 or not os.path.isdir(b):
            report("rdma_files renders like ansible.builtin.template", False, out[-1500:])
            return
        diff = []
        names = sorted(os.listdir(a))
        for n in names:
            pa, pb = os.path.join(a, n), os.path.join(b, n)
            if not os.path.exists(pb):
                diff.append(f"{n}: not written by rdma_files")
            elif open(pa, "rb").read() != open(pb, "rb").read():
                diff.append(f"{n}: content differs")
            elif os.stat(pa).st_mode != os.stat(pb).st_mode:
                diff.append(f"{n}: mode {oct(os.stat(pa).st_mode)} vs {oct(os.stat(pb).st_mode)}")
        report(f"rdma_files renders like ansible.builtin.template ({len(names)} files, byte for byte)",
               len(names) == len(listed) and not diff, "; ".join(diff) or f"{len(names)} of {len(listed)} rendered")
        got = open(os.path.join(d, "binary.out"), "rb").read() if os.path.exists(os.path.join(d, "binary.out")) else b""
        report("rdma_files content_b64 from lookup('file') | b64encode: a binary file's bytes intact (all 256 values)",
               got == binary, f"{len(got)} bytes written, {len(binary)} expected")


# Names whose values Ansible marks unsafe (facts, registered results, hostvars): templated into a
# raw command they make the whole command unsafe, which the mitogen strategy (Debian 12's 0.3.3)
# cannot send to the node ("cannot unpickle ... AnsibleUnsafeText"; seen on the lab with
# ansible_facts.kernel). Modules are not affected: their arguments travel as JSON.
UNSAFE_IN_RAW = re.compile(r"ansible_facts|ansible_[a-z_]*(kernel|distribution|hostname|default_ipv4)|hostvars"
                           r"|\.stdout|\.stderr|\.results|lookup\(|_probe\b")


def test_raw_commands_are_safe():
    bad, n = [], 0
    for path in sorted(glob.glob("roles/*/tasks/*.yml") + glob.glob("playbooks/*.yml")):
        def walk(tasks):
            for t in tasks or []:
                if not isinstance(t, dict):
                    continue
                for k in ("block", "rescue", "always", "tasks"):
                    walk(t.get(k))
                cmd = t.get("ansible.builtin.raw", t.get("raw"))
                if cmd is None:
                    continue
                nonlocal n
                n += 1
                if UNSAFE_IN_RAW.search(str(cmd)):
                    bad.append(f"{path}: {t.get('name')}: {UNSAFE_IN_RAW.search(str(cmd)).group(0)}")
        with open(path) as f:
            doc = yaml.safe_load(f)
        walk(doc if isinstance(doc, list) else [])
    report(f"raw commands template no facts or registered output ({n} raw tasks)", n > 0 and not bad,
           "; ".join(bad))


def main():
    t0 = time.time()
    for t in (test_syntax, test_argument_specs, test_raw_commands_are_safe, test_resolution, test_render, test_rdma_files_render,
              test_preflight):
        t()
    failed = results.count(False)
    print(f"deploy fast tests: {len(results) - failed} passed, {failed} failed ({time.time() - t0:.0f} s)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
