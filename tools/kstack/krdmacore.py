"""kstack rdma-core build: rdma-core from source (+ a patch series) -> one Debian package that is
installed BESIDE the distro's rdma-core, never over it (issue 6, "userspace to match").

Run on a builder host of the nodes' distro release (the control node here). Steps, each printed as
it starts; nothing outside WORK and CACHE is written, and a failure leaves no half-filled entry:

  1. source: a local tarball, or an http(s)/file URL; a URL needs --sha256 (refused before any
     download without it); a given --sha256 is checked for a local file too;
  2. cache key: the kernel builds' manifest (source, patches in order with -pN) plus the prefix;
     a complete entry in CACHE/<key>/ is reused;
  3. the series dry-run on a scratch copy, fuzz 0 (a patch that does not apply is named with its
     hunk, nothing is built);
  4. extract, read PACKAGE_VERSION from CMakeLists.txt, apply the series for real;
  5. cmake with every install directory under PREFIX (default /opt/rdma-deploy/rdma-core-<version>-
     <series>: sysconfdir too, which GNUInstallDirs would put in /etc/opt), RUNPATH PREFIX/lib so
     the package's own tools use its own libraries and providers, no pyverbs, no man pages;
  6. build (ninja or make) with a progress line every 30 s; DESTDIR install;
  7. every installed file must lie under PREFIX (else refused, naming them): that is the
     "does not clobber the distro's packages" guarantee, checked on the files, not assumed;
  8. one .deb (dpkg-deb): package rdma-deploy-rdma-core-<version>-<series>, version
     <version>+<key[:8]>, Depends on the distro packages of the shared libraries it links
     (resolved with ldd, owner from dpkg -S), PREFIX/env.sh (PATH, LD_LIBRARY_PATH for programs
     built against the distro's libibverbs), PREFIX/rdma-deploy-rdma-core.json (provenance);
  9. the .deb and build.json moved into CACHE/<key>/.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import kstacklib as k

SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
PREFIX_RE = re.compile(r"^/opt/[A-Za-z0-9._/+-]+$")
TAG_RE = re.compile(r"[^a-z0-9.+-]+")


def _say(msg):
    print(f"kstack rdma-core: {msg}", file=sys.stderr, flush=True)


def is_url(source):
    return urllib.parse.urlparse(source).scheme in ("http", "https", "file")


def fetch_source(source, sha256, download_dir, say=None):
    """Return a local path of the verified source tarball. Refusals before anything is written."""
    say = say or _say
    if sha256 is not None and not SHA256_RE.match(sha256):
        raise k.KstackError(f"--sha256 {sha256!r}: not 64 lowercase hex digits")
    if not is_url(source):
        if "://" in source:
            raise k.KstackError(f"--source {source}: only http, https and file URLs are supported")
        if not os.path.isfile(source):
            raise k.KstackError(f"--source {source}: no such file")
        if sha256:
            got = k._sha256_file(source)
            if got != sha256:
                raise k.KstackError(f"--source {source}: sha256 is {got}, --sha256 says {sha256}; "
                                    "not building from an unverified source")
        return source
    if not sha256:
        raise k.KstackError(f"--source {source}: a URL needs --sha256 (the digest the operator "
                            "trusts, e.g. from the distro's Sources index); nothing was downloaded")
    name = os.path.basename(urllib.parse.urlparse(source).path) or "rdma-core.tar.gz"
    dest = os.path.join(download_dir, f"{sha256[:16]}-{name}")
    if os.path.isfile(dest) and k._sha256_file(dest) == sha256:
        say(f"source already downloaded and verified: {dest}")
        return dest
    os.makedirs(download_dir, exist_ok=True)
    part = dest + ".part"
    say(f"downloading {source}")
    try:
        with urllib.request.urlopen(source, timeout=60) as r, open(part, "wb") as out:
            shutil.copyfileobj(r, out, 1 << 20)
    except (OSError, ValueError) as e:
        if os.path.exists(part):
            os.unlink(part)
        raise k.KstackError(f"--source {source}: download failed: {e}") from e
    got = k._sha256_file(part)
    if got != sha256:
        os.unlink(part)
        raise k.KstackError(f"--source {source}: the download's sha256 is {got}, --sha256 says "
                            f"{sha256}; removed, not building from it")
    os.replace(part, dest)
    say(f"downloaded and verified: {dest} ({os.path.getsize(dest) // 1024} KiB)")
    return dest


def tree_version(src):
    path = os.path.join(src, "CMakeLists.txt")
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError as e:
        raise k.KstackError(f"{path}: {e.strerror}: not an rdma-core tree") from e
    if not re.search(r"^project\(rdma-core\b", text, re.M):
        raise k.KstackError(f"{path}: no project(rdma-core ...): not an rdma-core tree")
    m = re.search(r'^set\(PACKAGE_VERSION "([0-9][0-9A-Za-z.+~-]*)"\)', text, re.M)
    if not m:
        raise k.KstackError(f"{path}: no set(PACKAGE_VERSION \"...\")")
    return m.group(1)


def series_tag(series_dir):
    if not series_dir:
        return "vanilla"
    tag = TAG_RE.sub("-", os.path.basename(os.path.normpath(series_dir)).lower()).strip("-.+")
    return tag or "series"


def cached(cache_dir, key):
    meta = os.path.join(cache_dir, key, "build.json")
    if not os.path.isfile(meta):
        return None
    with open(meta, encoding="utf-8") as fh:
        info = json.load(fh)
    if info.get("deb") and os.path.isfile(os.path.join(cache_dir, key, info["deb"])):
        return info
    return None


def outside_prefix(stage, prefix):
    """Installed paths (relative to /) that are not under prefix."""
    bad = []
    for root, dirs, files in os.walk(stage):
        rel_root = "/" + os.path.relpath(root, stage) if root != stage else "/"
        for name in files + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            p = os.path.normpath(os.path.join(rel_root, name))
            if not (p + "/").startswith(prefix.rstrip("/") + "/"):
                bad.append(p)
    return sorted(bad)


def _elf_files(tree):
    for root, _dirs, files in os.walk(tree):
        for f in files:
            p = os.path.join(root, f)
            if os.path.islink(p) or not os.path.isfile(p):
                continue
            with open(p, "rb") as fh:
                if fh.read(4) == b"\x7fELF":
                    yield p


def shlib_depends(stage_prefix):
    """Distro packages owning the shared libraries the built files link (outside the package)."""
    libs = set()
    env = dict(os.environ, LD_LIBRARY_PATH=os.path.join(stage_prefix, "lib"))
    for f in _elf_files(stage_prefix):
        p = subprocess.run(["ldd", f], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                           env=env)
        for line in p.stdout.splitlines():
            m = re.search(r"=>\s+(/\S+)", line)
            if m and not m.group(1).startswith(stage_prefix):
                libs.add(os.path.realpath(m.group(1)))
            elif "=> not found" in line:
                lib = line.split("=>")[0].strip()
                # A provider's private library is found at run time through the RUNPATH of the
                # loader; only a library found nowhere is an error.
                if not os.path.exists(os.path.join(stage_prefix, "lib", lib)):
                    raise k.KstackError(f"{f}: links {lib}, which is neither in the package nor "
                                        "installed on the builder")
    pkgs = set()
    for lib in sorted(libs):
        p = subprocess.run(["dpkg", "-S", lib], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                           text=True)
        if p.returncode != 0:
            # merged /usr: the library may be registered under /lib
            alt = lib[4:] if lib.startswith("/usr/") else "/usr" + lib
            p = subprocess.run(["dpkg", "-S", alt], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
        if p.returncode != 0:
            raise k.KstackError(f"{lib}: linked by the build but owned by no installed package")
        pkgs.add(p.stdout.split(":", 1)[0].strip())
    return sorted(pkgs)


def _progress(cmd, cwd, log, what, interval=30):
    _say(f"{what}: {' '.join(cmd)} (log: {log})")
    t0 = time.time()
    with open(log, "a", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        stop = threading.Event()

        def report():
            while not stop.wait(interval):
                last = k_tail(log, 1).strip() or "(no output yet)"
                _say(f"  {what}: {int(time.time() - t0)} s, now: {last[:110]}")

        th = threading.Thread(target=report, daemon=True)
        th.start()
        rc = proc.wait()
        stop.set()
    if rc != 0:
        errs = [ln for ln in k_tail(log, 300).splitlines() if "error" in ln.lower()][:10]
        raise k.KstackError(f"{what} failed (exit {rc}) after {int(time.time() - t0)} s; first errors:\n"
                            + "\n".join(errs or [k_tail(log, 25)]) + f"\nfull log: {log}")
    return time.time() - t0


def k_tail(path, n):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return "".join(fh.readlines()[-n:])
    except OSError:
        return ""


def build(source, series_dir=None, sha256=None, prefix=None, cache_dir=None, work_dir=None,
          jobs=2, keep_work=False):
    t_start = time.time()
    cache_dir = cache_dir or os.path.expanduser("~/.cache/rdma-deploy/rdma-core")
    if prefix is not None and (not PREFIX_RE.match(prefix) or "/../" in prefix + "/"
                               or prefix.rstrip("/") == "/opt"):
        raise k.KstackError(f"--prefix {prefix}: must be a directory under /opt (the package owns "
                            "all of it; the distro's /usr is never written)")
    series = k.parse_series(series_dir) if series_dir else None
    for tool in ("cmake", "dpkg-deb", "ldd", "patch"):
        if not shutil.which(tool):
            raise k.KstackError(f"{tool} not found on the builder (scripts/deps.sh kernel installs "
                                "the build dependencies)")
    src_file = fetch_source(source, sha256, os.path.join(cache_dir, "downloads"))
    tag = series_tag(series_dir)
    key, manifest = k.cache_key(src_file, series_dir, [])
    manifest += f"rdma-core prefix {prefix or 'default'}\n"
    key = hashlib.sha256(manifest.encode()).hexdigest()
    _say(f"cache key {key[:16]}... (source, {len(series.entries) if series else 0} patch(es), "
         f"series tag {tag})")
    hit = cached(cache_dir, key)
    if hit:
        _say(f"cache hit: {os.path.join(cache_dir, key)} ({hit['deb']}); nothing to build")
        hit["cache"] = "hit"
        return hit
    if series:
        _say(f"dry-run of {len(series.entries)} patch(es) against {os.path.basename(src_file)}")
        r = k.dry_run(series, src_file)
        if not r.ok:
            hunk = f" hunk {r.failed_hunk}" if r.failed_hunk else ""
            raise k.KstackError(f"{r.failed_patch}: {r.failed_file or '?'}{hunk}: {r.detail}; "
                                "nothing was built")
        _say(f"all {len(r.applied)} patch(es) apply")

    work = work_dir or tempfile.mkdtemp(prefix="kstack-rdmacore-")
    os.makedirs(work, exist_ok=True)
    log = os.path.join(work, "build.log")
    src = os.path.join(work, "src")
    bld = os.path.join(work, "build")
    stage = os.path.join(work, "stage")
    try:
        for d in (src, bld, stage):
            shutil.rmtree(d, ignore_errors=True)
            os.makedirs(d)
        _say(f"extracting {os.path.basename(src_file)}")
        p = subprocess.run(["tar", "-xf", src_file, "-C", src, "--strip-components=1",
                            "--no-same-owner"], stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise k.KstackError(f"tar -xf {src_file} failed: {p.stderr.strip()}")
        version = tree_version(src)
        if series:
            for e in series.entries:
                pr = subprocess.run(["patch", f"-p{e.strip}", "--fuzz=0", "--forward", "-i", e.path],
                                    cwd=src, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                if pr.returncode != 0:
                    raise k.KstackError(f"{e.name} failed to apply for real: {pr.stdout.strip()}")
                _say(f"applied {e.name}")
        pfx = prefix or f"/opt/rdma-deploy/rdma-core-{version}-{tag}"
        pkg = TAG_RE.sub("-", f"rdma-deploy-rdma-core-{version}-{tag}".lower())
        debver = f"{version}+{key[:8]}"
        gen = ["-G", "Ninja"] if shutil.which("ninja") else []
        cmake = ["cmake", *gen, "-DCMAKE_BUILD_TYPE=Release", f"-DCMAKE_INSTALL_PREFIX={pfx}",
                 f"-DCMAKE_INSTALL_SYSCONFDIR={pfx}/etc", f"-DCMAKE_INSTALL_LOCALSTATEDIR={pfx}/var",
                 f"-DCMAKE_INSTALL_SYSTEMD_BINDIR={pfx}/lib/systemd",
                 f"-DCMAKE_INSTALL_SYSTEMD_SERVICEDIR={pfx}/lib/systemd/system",
                 f"-DCMAKE_INSTALL_UDEV_RULESDIR={pfx}/lib/udev/rules.d",
                 f"-DCMAKE_INSTALL_RPATH={pfx}/lib", "-DNO_PYVERBS=1", "-DNO_MAN_PAGES=1", src]
        _progress(cmake, bld, log, "configure (cmake)")
        build_cmd = ["ninja", f"-j{jobs}"] if gen else ["make", f"-j{jobs}"]
        secs = _progress(build_cmd, bld, log, f"build ({build_cmd[0]})")
        env_install = dict(os.environ, DESTDIR=stage)
        with open(log, "a", encoding="utf-8") as out:
            p = subprocess.run([build_cmd[0], "install"], cwd=bld, env=env_install, stdout=out,
                               stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise k.KstackError(f"install into the staging tree failed; see {log}")
        bad = outside_prefix(stage, pfx)
        if bad:
            raise k.KstackError(f"the build installs {len(bad)} file(s) outside {pfx}, where they "
                                "would clobber or shadow the distro's: " + ", ".join(bad[:10]))
        stage_pfx = stage + pfx
        if not os.path.isfile(os.path.join(stage_pfx, "bin", "ibv_devinfo")):
            raise k.KstackError(f"the build installed no {pfx}/bin/ibv_devinfo; see {log}")
        depends = shlib_depends(stage_pfx)
        with open(os.path.join(stage_pfx, "env.sh"), "w", encoding="utf-8") as fh:
            fh.write(f"# source me: rdma-core {version} (series {tag}) from {pfx} before the distro's\n"
                     f"export PATH={pfx}/bin:{pfx}/sbin${{PATH:+:$PATH}}\n"
                     f"export LD_LIBRARY_PATH={pfx}/lib${{LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}}\n")
        info = {"key": key, "manifest": manifest, "rdma_core_version": version, "series_tag": tag,
                "series": [e.name for e in series.entries] if series else [],
                "source_sha256": k._sha256_file(src_file), "prefix": pfx, "package": pkg,
                "version": debver, "depends": depends, "build_seconds": round(secs), "jobs": jobs,
                "built": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        with open(os.path.join(stage_pfx, "rdma-deploy-rdma-core.json"), "w", encoding="utf-8") as fh:
            json.dump(info, fh, indent=2)
        size_kb = sum(os.path.getsize(os.path.join(r, f)) for r, _d, fs in os.walk(stage)
                      for f in fs if not os.path.islink(os.path.join(r, f))) // 1024
        arch = subprocess.run(["dpkg", "--print-architecture"], stdout=subprocess.PIPE,
                              text=True, check=True).stdout.strip()
        os.makedirs(os.path.join(stage, "DEBIAN"))
        with open(os.path.join(stage, "DEBIAN", "control"), "w", encoding="utf-8") as fh:
            fh.write(f"Package: {pkg}\nVersion: {debver}\nArchitecture: {arch}\n"
                     "Maintainer: rdma-deploy <root@localhost>\nSection: libs\nPriority: optional\n"
                     f"Installed-Size: {size_kb}\nDepends: {', '.join(depends)}\n"
                     f"Description: rdma-core {version} built from source (series {tag})\n"
                     f" Installed under {pfx}\n beside the distro's rdma-core; source env.sh there to use it.\n"
                     f" Built by rdma-deploy's kstack (cache key {key[:16]}).\n")
        deb = f"{pkg}_{debver}_{arch}.deb"
        p = subprocess.run(["dpkg-deb", "--root-owner-group", "-Zxz", "--build", stage,
                            os.path.join(work, deb)], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if p.returncode != 0:
            raise k.KstackError(f"dpkg-deb failed: {p.stdout.strip()}")
        info.update(deb=deb, total_seconds=round(time.time() - t_start))
        dest = k.commit_cache_entry(cache_dir, key, [(os.path.join(work, deb), deb, "move")], info)
        _say(f"done: {deb} in {dest} (build {secs / 60:.1f} min, total "
             f"{(time.time() - t_start) / 60:.1f} min); depends: {', '.join(depends)}")
        info["cache"] = "built"
        return info
    finally:
        if not keep_work and not work_dir:
            shutil.rmtree(work, ignore_errors=True)


def main_build(a):
    info = build(a.source, a.series, a.sha256, a.prefix, a.cache, a.work, a.jobs, a.keep_work)
    info["path"] = os.path.join(a.cache, info["key"], info["deb"])
    if a.json:
        print(json.dumps(info))
    else:
        print(os.path.join(a.cache, info["key"], info["deb"]))
    return k.EXIT_OK


def add_parser(sub):
    grp = sub.add_parser("rdma-core", help="rdma-core from source").add_subparsers(
        dest="rdmacore_cmd", required=True)
    b = grp.add_parser("build", help="build rdma-core (+ series) into one .deb under /opt, cached by key")
    b.add_argument("--source", required=True,
                   help="rdma-core source tarball: a path, or an http(s)/file URL (needs --sha256)")
    b.add_argument("--sha256", help="expected sha256 of the tarball (mandatory for a URL)")
    b.add_argument("--series", help="patch series directory (quilt format), e.g. patches/rdma-core-lab")
    b.add_argument("--prefix", help="install prefix under /opt (default "
                                    "/opt/rdma-deploy/rdma-core-<version>-<series>)")
    b.add_argument("--cache", default=os.path.expanduser("~/.cache/rdma-deploy/rdma-core"),
                   help="cache directory (default ~/.cache/rdma-deploy/rdma-core)")
    b.add_argument("--work", help="work directory (default: a temporary one, removed afterwards)")
    b.add_argument("--keep-work", action="store_true")
    b.add_argument("-j", "--jobs", type=int, default=2)
    b.add_argument("--json", action="store_true", help="print build.json instead of the .deb path")
    b.set_defaults(func=main_build)
    return b
