"""kstack build: source tarball + patch series + config fragments -> Debian kernel packages.

The slow half of the kernel stack (issue 6), run on a builder host (the control node or a builder of
a matching distro release). Steps, each printed as it starts; nothing outside WORK and CACHE is
written, and a failure leaves the cache without a half-filled entry:

  1. cache key over (source, patches, fragments); a complete entry in CACHE/<key>/ is reused;
  2. toolchain check (old trees vs the builder's gcc) before anything is extracted;
  3. series dry-run on a scratch copy (a patch that does not apply is named with its hunk);
  4. extract, apply the series for real;
  5. base config (`kvm`: make defconfig + kvm_guest.config, the lab's QEMU nodes; `running`:
     this host's /boot/config-$(uname -r); or a path), fragments merged onto it
     (merge_config.sh semantics), make olddefconfig, then the required RDMA symbols checked in the
     RESOLVED config (a fragment symbol whose dependencies are off is dropped by olddefconfig);
  6. make bindeb-pkg with LOCALVERSION=-rdma-<key[:8]>, a progress line every 30 s;
  7. the .deb files and build.json (key, manifest, kernel release, times) moved into CACHE/<key>/.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import kstacklib as k
import krdmacore  # the source fetch and verification shared with rdma-core builds

BASES = ("kvm", "running")


def _say(msg):
    # Progress on stderr: stdout carries only the result (.deb paths, or build.json with --json).
    print(f"kstack build: {msg}", file=sys.stderr, flush=True)


def tree_version(src_dir):
    """VERSION.PATCHLEVEL.SUBLEVEL from the top Makefile of an extracted tree."""
    vals = {}
    with open(os.path.join(src_dir, "Makefile"), encoding="utf-8", errors="replace") as fh:
        for line in fh:
            m = re.match(r"^(VERSION|PATCHLEVEL|SUBLEVEL)\s*=\s*(\d*)", line)
            if m:
                vals[m.group(1)] = m.group(2) or "0"
            if len(vals) == 3:
                break
    if len(vals) != 3:
        raise k.KstackError(f"{src_dir}/Makefile: no VERSION/PATCHLEVEL/SUBLEVEL: not a kernel tree")
    return f"{vals['VERSION']}.{vals['PATCHLEVEL']}.{vals['SUBLEVEL']}"


def cached(cache_dir, key):
    d = os.path.join(cache_dir, key)
    meta = os.path.join(d, "build.json")
    if not os.path.isfile(meta):
        return None
    with open(meta, encoding="utf-8") as fh:
        info = json.load(fh)
    if all(os.path.isfile(os.path.join(d, f)) for f in info.get("debs", [])) and info.get("debs"):
        return info
    return None


def _run(cmd, cwd, log, what):
    _say(f"{what}: {' '.join(cmd)}")
    with open(log, "a", encoding="utf-8") as out:
        p = subprocess.run(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise k.KstackError(f"{what} failed (exit {p.returncode}); last lines of {log}:\n"
                            + _tail(log, 25))


def _tail(path, n):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
    except OSError:
        return ""


def _make_with_progress(cmd, cwd, log, what, interval=30):
    """Run a long make; every `interval` s print elapsed time, objects built and the last line."""
    _say(f"{what}: {' '.join(cmd)} (log: {log})")
    t0 = time.time()
    with open(log, "a", encoding="utf-8") as out:
        p = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        stop = threading.Event()

        def report():
            while not stop.wait(interval):
                lines = _tail(log, 400).splitlines()
                cc = sum(1 for ln in lines if ln.lstrip().startswith(("CC", "LD", "AR")))
                last = lines[-1].strip() if lines else "(no output yet)"
                objs = _count_objects(cwd)
                _say(f"  {what}: {int(time.time() - t0)} s, {objs} objects so far "
                     f"(+{cc} in the last lines), now: {last[:100]}")

        th = threading.Thread(target=report, daemon=True)
        th.start()
        rc = p.wait()
        stop.set()
    if rc != 0:
        errs = [ln for ln in _tail(log, 400).splitlines() if "error" in ln.lower()][:10]
        raise k.KstackError(f"{what} failed (exit {rc}) after {int(time.time() - t0)} s; first "
                            f"errors:\n" + "\n".join(errs or [_tail(log, 25)]) + f"\nfull log: {log}")
    return time.time() - t0


def _count_objects(tree):
    n = 0
    for _root, _dirs, files in os.walk(tree):
        n += sum(1 for f in files if f.endswith(".o"))
    return n


def build(source, series_dir, fragments, base, cache_dir, work_dir=None, jobs=2,
          kernel_version=None, keep_work=False, sha256=None):
    """Build (or reuse) the packages; return the build.json dict.

    source: a tarball path, or an http(s)/file URL that needs sha256 (downloaded once into
    CACHE/downloads and verified; a given sha256 is checked for a local file too)."""
    t_start = time.time()
    source = krdmacore.fetch_source(source, sha256, os.path.join(cache_dir, "downloads"),
                                    say=_say)
    if base not in BASES and not os.path.isfile(base):
        raise k.KstackError(f"--base {base}: neither one of {', '.join(BASES)} nor a config file")
    for f in fragments:
        if not os.path.isfile(f):
            raise k.KstackError(f"--config {f}: no such file")
    series = k.parse_series(series_dir) if series_dir else None
    base_file = base if base not in BASES else None
    if base == "running":
        base_file = f"/boot/config-{os.uname().release}"
        if not os.path.isfile(base_file):
            raise k.KstackError(f"--base running: {base_file} does not exist on this builder")
    key, manifest = k.cache_key(source, series_dir, list(fragments) + ([base_file] if base_file else []))
    if base == "kvm":
        manifest += "base kvm (defconfig + kvm_guest.config)\n"
        key = k.hashlib.sha256(manifest.encode()).hexdigest()
    _say(f"cache key {key[:16]}... (source, {len(series.entries) if series else 0} patch(es), "
         f"{len(fragments)} fragment(s), base {base})")
    hit = cached(cache_dir, key)
    if hit:
        _say(f"cache hit: {os.path.join(cache_dir, key)} ({len(hit['debs'])} package(s), kernel "
             f"{hit['kernel_release']}); nothing to build")
        hit["cache"] = "hit"
        return hit

    if kernel_version:
        gcc = k.detect_gcc()
        ok, msgs = k.toolchain_check(kernel_version, gcc)
        for m in msgs:
            _say(m)
        if not ok:
            raise k.KstackError(f"toolchain refused for {kernel_version} with gcc {gcc} (see above)")

    if series:
        _say(f"dry-run of {len(series.entries)} patch(es) against {os.path.basename(source)}")
        r = k.dry_run(series, source)
        if not r.ok:
            hunk = f" hunk {r.failed_hunk}" if r.failed_hunk else ""
            raise k.KstackError(f"{r.failed_patch}: {r.failed_file or '?'}{hunk}: {r.detail}; "
                                "nothing was built")
        _say(f"all {len(r.applied)} patch(es) apply")

    os.makedirs(cache_dir, exist_ok=True)
    work = work_dir or tempfile.mkdtemp(prefix="kstack-build-")
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "build.log")
    src = os.path.join(work, "src")
    try:
        if os.path.exists(src):
            shutil.rmtree(src)
        os.makedirs(src)
        _say(f"extracting {os.path.basename(source)} into {src} (an .xz kernel tree: 1-3 min)")
        t = time.time()
        p = subprocess.run(["tar", "-xf", source, "-C", src, "--strip-components=1", "--no-same-owner"],
                           stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise k.KstackError(f"tar -xf {source} failed: {p.stderr.strip()}")
        _say(f"extracted in {time.time() - t:.0f} s")
        version = tree_version(src)
        if kernel_version is None:
            gcc = k.detect_gcc()
            ok, msgs = k.toolchain_check(version, gcc, src)
            if not ok:
                raise k.KstackError(f"toolchain refused for {version} with gcc {gcc}: " + "; ".join(msgs))
        if series:
            for e in series.entries:
                pr = subprocess.run(["patch", f"-p{e.strip}", "--fuzz=0", "--forward", "-i", e.path],
                                    cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if pr.returncode != 0:
                    raise k.KstackError(f"{e.name} failed to apply for real: {pr.stdout.strip()}")
                _say(f"applied {e.name}")

        if base == "kvm":
            _run(["make", "defconfig"], src, log, "base config (defconfig)")
            _run(["make", "kvm_guest.config"], src, log, "base config (kvm_guest.config)")
            base_cfg = os.path.join(src, ".config")
        else:
            base_cfg = base_file
        merged, msgs = k.merge_configs(base_cfg, list(fragments))
        for m in msgs:
            _say(m)
        # Debian's configs name certificate files that only exist on Debian's builders.
        for sym in ("CONFIG_SYSTEM_TRUSTED_KEYS", "CONFIG_SYSTEM_REVOCATION_KEYS", "CONFIG_MODULE_SIG_KEY"):
            if sym in merged and merged[sym] not in ('""', None) and base != "kvm":
                merged[sym] = '""'
        k.write_config(merged, os.path.join(src, ".config"))
        _run(["make", "olddefconfig"], src, log, "resolve the config (olddefconfig)")
        missing = k.check_config(os.path.join(src, ".config"), version)
        if missing:
            raise k.KstackError("after olddefconfig the config lacks: "
                                + ", ".join(f"{s} ({w})" for s, w in missing))
        lost = []
        for sym, want, got, frag in k.dropped_requests(list(fragments), os.path.join(src, ".config")):
            line = (f"{sym}: {os.path.basename(frag)} asks for {k.format_line(sym, want)}, "
                    f"the resolved config has {k.format_line(sym, got) if got else 'nothing'}")
            if want in ("y", "m") and got in (None, "n"):
                lost.append(line)
            else:
                _say("NOTE: " + line)
        if lost:
            raise k.KstackError("make olddefconfig dropped what a fragment asks for (its dependencies "
                                "are off; add them to the fragment): " + "; ".join(lost))
        _say(f"config checked: all {len(k.required_symbols(version))} required RDMA symbols are y or m, "
             "every fragment symbol kept")

        local = f"-rdma-{key[:8]}"
        secs = _make_with_progress(["make", f"-j{jobs}", "bindeb-pkg", f"LOCALVERSION={local}",
                                    "KDEB_PKGVERSION=" + f"{version}-rdma{key[:8]}"],
                                   src, log, "make bindeb-pkg")
        with open(os.path.join(src, "include", "config", "kernel.release"), encoding="utf-8") as fh:
            release = fh.read().strip()
        debs = sorted(f for f in os.listdir(work) if f.endswith(".deb"))
        if not debs:
            raise k.KstackError(f"make bindeb-pkg produced no .deb in {work}; see {log}")
        info = {"key": key, "manifest": manifest, "kernel_version": version,
                "kernel_release": release, "debs": debs, "base": base,
                "series": [e.name for e in series.entries] if series else [],
                "build_seconds": round(secs), "total_seconds": round(time.time() - t_start),
                "jobs": jobs, "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        dest = k.commit_cache_entry(cache_dir, key,
                                    [(os.path.join(work, f), f, "move") for f in debs]
                                    + [(os.path.join(src, ".config"), "config", "copy")], info)
        _say(f"done: kernel {release}, {len(debs)} package(s) in {dest} "
             f"(build {secs / 60:.1f} min, total {(time.time() - t_start) / 60:.1f} min)")
        info["cache"] = "built"
        return info
    finally:
        if not keep_work and not work_dir:
            shutil.rmtree(work, ignore_errors=True)


def main_build(a):
    info = build(a.source, a.series, a.config or [], a.base, a.cache, a.work, a.jobs,
                 a.kernel_version, a.keep_work, a.sha256)
    if a.json:
        print(json.dumps(info))
    else:
        for d in info["debs"]:
            print(os.path.join(a.cache, info["key"], d))
    return k.EXIT_OK


def add_parser(sub):
    b = sub.add_parser("build", help="build Debian kernel packages (make bindeb-pkg), cached by key")
    b.add_argument("--source", required=True,
                   help="kernel source tarball: a path, or an http(s)/file URL (needs --sha256)")
    b.add_argument("--sha256", help="expected sha256 of the tarball (mandatory for a URL)")
    b.add_argument("--series", help="patch series directory (quilt format)")
    b.add_argument("--config", nargs="+", help="Kconfig fragments merged onto the base")
    b.add_argument("--base", default="kvm",
                   help="base config: kvm (defconfig + kvm_guest.config), running (this host's "
                        "/boot/config-*), or a file (default kvm)")
    b.add_argument("--cache", default=os.path.expanduser("~/.cache/rdma-deploy/kernels"),
                   help="cache directory (default ~/.cache/rdma-deploy/kernels)")
    b.add_argument("--work", help="work directory (default: a temporary one, removed afterwards)")
    b.add_argument("--keep-work", action="store_true", help="keep the temporary work directory")
    b.add_argument("-j", "--jobs", type=int, default=2)
    b.add_argument("--kernel-version", help="check the toolchain for this version before extracting")
    b.add_argument("--json", action="store_true", help="print build.json instead of the .deb paths")
    b.set_defaults(func=main_build)
    return b
