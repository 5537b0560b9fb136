#!/usr/bin/python3
"""abi-scan tests (CTest): run the real rdma-agent on real binaries and assert on its JSON.

  abi_test.py verdict AGENT MANIFEST BINARY EXPECTED [--finding KIND:ITEM]... [--missing TEXT] [--needed SONAME]
  abi_test.py hostile AGENT SEED_BINARY MANIFEST
  abi_test.py config AGENT BINARY MANIFEST
  abi_test.py cli AGENT MANIFEST_DIR BINARY
  abi_test.py manifest AGENT TOOL MANIFEST_DIR
  abi_test.py debugfile AGENT BINARY_WITH_DWARF MANIFEST EXPECTED
Exit 0 pass, 1 fail, 77 skip (CTest SKIP_RETURN_CODE).
"""
import json
import os
import random
import struct
import subprocess
import sys
import tempfile

EXIT = {"compatible": 0, "unknown": 1, "incompatible": 2}
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL: " + what)
    else:
        print("ok: " + what)


def scan(agent, manifest, paths, extra=()):
    args = [agent, "abi-scan", "--format", "json"] + list(extra)
    if manifest:
        args += ["--manifest", manifest]
    r = subprocess.run(args + list(paths), capture_output=True, text=True, timeout=120)
    if r.returncode < 0:
        print("agent killed by signal %d\nstderr: %s" % (-r.returncode, r.stderr[-3000:]))
        sys.exit(1)
    try:
        doc = json.loads(r.stdout) if r.stdout.strip() else None
    except json.JSONDecodeError as e:
        print("not JSON (%s): %s" % (e, r.stdout[:2000]))
        sys.exit(1)
    return r.returncode, doc, r.stderr


def cmd_verdict(argv):
    agent, manifest, binary, expected = argv[:4]
    rest = argv[4:]
    rc, doc, err = scan(agent, manifest, [binary])
    check(doc is not None, "JSON output (stderr: %s)" % err.strip())
    if doc is None:
        return
    res = doc["results"][0]
    print(res["summary"])
    for f in res["findings"]:
        print("  finding: " + f["message"])
    for m in res["missing_evidence"]:
        print("  missing: " + m)
    check(res["verdict"] == expected, "%s is %s against %s (got %s)" % (os.path.basename(binary), expected,
                                                                       doc["manifest"]["name"], res["verdict"]))
    check(rc == EXIT[expected], "exit code %d for %s (got %d)" % (EXIT[expected], expected, rc))
    i = 0
    while i < len(rest):
        opt, val = rest[i], rest[i + 1]
        i += 2
        if opt == "--finding":
            kind, item = val.split(":", 1)
            hits = [f for f in res["findings"] if f["kind"] == kind and f["item"] == item]
            check(bool(hits), "finding %s %s" % (kind, item))
            for f in hits:
                # each finding names the binary, the item and the stack lacking it
                check(binary in f["message"] and item in f["message"] and doc["manifest"]["name"] in f["message"],
                      "finding names binary, item and stack: " + f["message"])
        elif opt == "--finding-kind":
            check(any(f["kind"] == val for f in res["findings"]), "a finding of kind " + val)
        elif opt == "--missing":
            check(any(val in m for m in res["missing_evidence"]), "missing evidence mentions '%s'" % val)
        elif opt == "--needed":
            check(val in res["rdma_needed"], "DT_NEEDED %s seen" % val)
        elif opt == "--debug":
            check(res["debug_info"] == (val == "yes"), "debug_info %s" % val)
        else:
            sys.exit("abi_test.py: unknown option " + opt)


def variants(data):
    """Truncated and corrupted copies of a real ELF file, named for what was done."""
    out = {"empty": b"", "magic-only": data[:4], "header-only": data[:64], "half": data[:len(data) // 2],
           "no-last-byte": data[:-1], "text": b"#!/bin/sh\necho hello\n", "garbage": bytes(random.Random(8).randbytes(4096))}
    # ELF64 header fields (little endian): e_phoff @32, e_shoff @40, e_phnum @56, e_shnum @60, e_shstrndx @62.
    def patch(fmt, off, val):
        b = bytearray(data)
        struct.pack_into(fmt, b, off, val)
        return bytes(b)
    out["shoff-past-end"] = patch("<Q", 40, len(data) + 4096)
    out["shoff-huge"] = patch("<Q", 40, 2**63)
    out["shnum-huge"] = patch("<H", 60, 0xFFFF)
    out["shstrndx-bad"] = patch("<H", 62, 0xFFFE)
    out["phoff-past-end"] = patch("<Q", 32, len(data) * 2)
    out["class-32-on-64"] = patch("<B", 4, 1)
    out["data-big-endian"] = patch("<B", 5, 2)
    # Every section header's size and offset blown up (section table kept in place).
    shoff, = struct.unpack_from("<Q", data, 40)
    shnum, = struct.unpack_from("<H", data, 60)
    b = bytearray(data)
    for i in range(shnum):
        base = shoff + i * 64
        if base + 64 <= len(b):
            struct.pack_into("<Q", b, base + 24, len(data) - 8)  # sh_offset near the end
            struct.pack_into("<Q", b, base + 32, 1 << 40)        # sh_size huge
    out["sections-out-of-file"] = bytes(b)
    # Random byte flips in the dynamic/version/debug areas, several seeds.
    for seed in range(6):
        rnd = random.Random(seed)
        b = bytearray(data)
        for _ in range(64):
            b[rnd.randrange(64, len(b))] = rnd.randrange(256)
        out["flips-%d" % seed] = bytes(b)
    return out


def cmd_hostile(argv):
    agent, seed, manifest = argv[:3]
    data = open(seed, "rb").read()
    with tempfile.TemporaryDirectory() as d:
        for name, blob in variants(data).items():
            p = os.path.join(d, name)
            with open(p, "wb") as f:
                f.write(blob)
            rc, doc, err = scan(agent, manifest, [p])
            ok = doc is not None and rc in (0, 1, 2) and len(doc["results"]) == 1
            check(ok, "%s: answered (rc %d) without crashing" % (name, rc))
            if not ok:
                continue
            res = doc["results"][0]
            if name in ("empty", "magic-only", "header-only", "half", "text", "garbage", "shoff-past-end", "shoff-huge",
                        "shnum-huge", "class-32-on-64", "data-big-endian", "no-last-byte", "sections-out-of-file"):
                # Never compatible on a file that could not be read whole.
                check(res["verdict"] != "compatible", "%s: not compatible (%s: %s)" % (name, res["verdict"], res["summary"]))
            if res["verdict"] == "unknown" and res["missing_evidence"]:
                print("   %s -> %s" % (name, res["missing_evidence"][0]))
        rc, doc, err = scan(agent, manifest, [d + "/none-such"])
        check(rc == 3 and "no such file" in err, "missing path: exit 3 naming it (%s)" % err.strip())
        rc, doc, err = scan(agent, manifest, [d])
        check(rc == 1 and doc and "directory" in doc["results"][0]["summary"], "directory: unknown, says so")


def cmd_config(argv):
    agent, binary, manifest = argv[:3]
    with tempfile.TemporaryDirectory() as d:
        cfg = os.path.join(d, "agent.yaml")
        with open(cfg, "w") as f:
            f.write("abi_scan:\n  paths: [%s, %s/nothing-*]\n  manifest: %s\n" % (binary, d, manifest))
        r = subprocess.run([agent, "check", "--config", cfg, "--only", "abi_scan", "--format", "json"],
                           capture_output=True, text=True, timeout=120)
        doc = json.loads(r.stdout)
        c = [x for x in doc["checks"] if x["name"] == "abi_scan"]
        check(len(c) == 1, "abi_scan check reported")
        ents = {e["name"]: e for e in c[0]["entities"]}
        check(binary in ents, "entity for the binary")
        print(json.dumps(c[0], indent=1)[:1500])
        check(any(e["status"] == "warn" and "no file matches" in e["message"] for e in c[0]["entities"]),
              "glob matching nothing is a warning naming it")
        # The seven stable checks are unchanged by a config without abi_scan: no abi_scan entry.
        with open(cfg, "w") as f:
            f.write("stack: {enabled: false}\n")
        r = subprocess.run([agent, "check", "--config", cfg, "--only", "stack", "--format", "json"],
                           capture_output=True, text=True, timeout=60)
        doc = json.loads(r.stdout)
        check([x["name"] for x in doc["checks"]] == ["stack"], "no abi_scan entry unless configured")
        # Strict parsing: unknown key and missing paths are errors with file:line:col, exit 3.
        for text, want in (("abi_scan:\n  paths: [/bin/ls]\n  manifets: x\n", ":3:3: unknown key 'manifets'"),
                           ("abi_scan:\n  manifest: installed\n", "abi_scan needs 'paths'"),
                           ("abi_scan:\n  paths: [relative/path]\n", "expected an absolute path")):
            with open(cfg, "w") as f:
                f.write(text)
            r = subprocess.run([agent, "check", "--config", cfg], capture_output=True, text=True, timeout=60)
            check(r.returncode == 3 and want in r.stderr, "config error exit 3 with '%s' (got %d: %s)"
                  % (want, r.returncode, r.stderr.strip()))


def cmd_cli(argv):
    agent, mdir, binary = argv[:3]
    env = dict(os.environ, RDMA_AGENT_MANIFEST_DIR=mdir)
    r = subprocess.run([agent, "abi-scan", "--stack", "debian-11", binary], capture_output=True, text=True, env=env)
    check(r.returncode == 2 and "incompatible" in r.stdout, "--stack debian-11 by name, text output (rc %d)" % r.returncode)
    r = subprocess.run([agent, "abi-scan", "--stack", "debian-99", binary], capture_output=True, text=True, env=env)
    check(r.returncode == 3 and "debian-99" in r.stderr, "unknown --stack: exit 3 naming it")
    r = subprocess.run([agent, "abi-scan", "--manifest", mdir + "/debian-11.json", "--stack", "installed", binary],
                       capture_output=True, text=True)
    check(r.returncode == 3 and "exclusive" in r.stderr, "--manifest with --stack: exit 3")
    r = subprocess.run([agent, "abi-scan", "--manifest", binary, binary], capture_output=True, text=True)
    check(r.returncode == 3 and "manifest" in r.stderr, "a binary as manifest: exit 3 (%s)" % r.stderr.strip()[:200])
    r = subprocess.run([agent, "abi-scan", "--format", "yaml", binary], capture_output=True, text=True)
    check(r.returncode == 3 and "--format" in r.stderr, "bad --format: exit 3")
    r = subprocess.run([agent, "abi-scan", "--format", "json", "--manifest", mdir + "/debian-12.json", "--missing-ok",
                        binary, "/nonexistent/app-*", "/nonexistent/file"], capture_output=True, text=True)
    doc = json.loads(r.stdout) if r.returncode == 0 else {}
    check(doc.get("unmatched") == ["/nonexistent/app-*", "/nonexistent/file"] and len(doc.get("results", [])) == 1,
          "--missing-ok lists what matched nothing, scans the rest (rc %d)" % r.returncode)
    r = subprocess.run([agent, "abi-scan", "--manifest", mdir + "/debian-12.json", binary, "/nonexistent/app-*"],
                       capture_output=True, text=True)
    check(r.returncode == 3 and "/nonexistent/app-*: no file matches" in r.stderr, "glob matching nothing: exit 3 naming it")
    r = subprocess.run([agent, "abi-scan", "--evidence", binary], capture_output=True, text=True)
    ev = json.loads(r.stdout)[0] if r.returncode == 0 else {}
    check(any(i["name"] == "ibv_reg_dmabuf_mr" and i["version"] == "IBVERBS_1.12" and i["library"] == "libibverbs.so.1"
              for i in ev.get("imports", [])), "--evidence: ibv_reg_dmabuf_mr@IBVERBS_1.12 from libibverbs.so.1")


def cmd_debugfile(argv):
    """A stripped binary whose separate debug file is installed (<root>/.build-id/xx/yyyy.debug, as
    Debian's -dbgsym packages do) is judged on that DWARF; without it, unknown."""
    agent, binary, manifest, expected = argv[:4]
    notes = subprocess.run(["readelf", "-n", binary], capture_output=True, text=True).stdout
    ids = [l.split(":", 1)[1].strip() for l in notes.splitlines() if "Build ID" in l]
    if not ids:
        print("SKIP: %s has no build-id note" % binary)
        sys.exit(77)
    bid = ids[0]
    with tempfile.TemporaryDirectory() as d:
        stripped = os.path.join(d, "app")
        dbgdir = os.path.join(d, "debug", ".build-id", bid[:2])
        os.makedirs(dbgdir)
        subprocess.run(["objcopy", "--only-keep-debug", binary, os.path.join(dbgdir, bid[2:] + ".debug")], check=True)
        subprocess.run(["strip", "--strip-all", "-o", stripped, binary], check=True)
        rc, doc, err = scan(agent, manifest, [stripped], ["--debug-root", os.path.join(d, "nowhere")])
        check(doc["results"][0]["verdict"] == "unknown", "stripped, no debug file: unknown")
        rc, doc, err = scan(agent, manifest, [stripped], ["--debug-root", os.path.join(d, "debug")])
        res = doc["results"][0]
        print(res["summary"])
        check(res["debug_info"] and res["verdict"] == expected,
              "stripped + .build-id/%s/%s.debug: %s from the debug file (got %s)" % (bid[:2], bid[2:], expected, res["verdict"]))


def cmd_manifest(argv):
    """tools/abi-manifest --installed must reproduce the committed manifest of the same rdma-core."""
    agent, tool, mdir = argv[:3]
    r = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "libibverbs1"], capture_output=True, text=True)
    installed = r.stdout.strip()
    same = None
    for f in sorted(os.listdir(mdir)):
        m = json.load(open(os.path.join(mdir, f)))
        if m.get("generated", {}).get("packages", {}).get("libibverbs1") == installed:
            same = m
    if not installed or same is None:
        print("SKIP: no committed manifest for the installed libibverbs1 %r" % installed)
        sys.exit(77)
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "node.json")
        r = subprocess.run(["/usr/bin/python3", tool, "--installed", "--name", "node", "-o", out, "--agent", agent],
                           capture_output=True, text=True, timeout=300)
        check(r.returncode == 0, "tools/abi-manifest --installed (%s)" % r.stderr.strip()[-300:])
        if r.returncode:
            return
        node = json.load(open(out))
        check(node["libraries"] == same["libraries"], "installed libraries == %s's (%d sonames)" % (same["name"], len(same["libraries"])))
        check(node["structs"] == same["structs"], "installed struct layouts == %s's (%d)" % (same["name"], len(same["structs"])))
        # Manifest errors: exit 3 naming the file and the cause.
        for text, want in (("{", "not valid JSON"), ('{"format": "x"}', "not a manifest"),
                           ('{"format": "rdma-agent-abi-manifest/1", "name": "n", "libraries": []}', '"libraries" must be an object')):
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write(text)
            r = subprocess.run([agent, "abi-scan", "--manifest", bad, agent], capture_output=True, text=True)
            check(r.returncode == 3 and bad in r.stderr and want in r.stderr, "manifest error '%s': exit 3 (%s)" % (want, r.stderr.strip()))


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    mode, argv = sys.argv[1], sys.argv[2:]
    for p in argv[1:4]:
        # Only system files may be absent (a host without perftest...); the project's own files
        # (manifests, test programs) must exist: their absence fails.
        if p.startswith("/usr/") and not os.path.exists(p):
            print("SKIP: %s absent on this host" % p)
            sys.exit(77)
    {"verdict": cmd_verdict, "hostile": cmd_hostile, "config": cmd_config, "cli": cmd_cli, "manifest": cmd_manifest,
     "debugfile": cmd_debugfile}[mode](argv)
    if failures:
        print("%d failure(s)" % len(failures))
        sys.exit(1)


if __name__ == "__main__":
    main()
