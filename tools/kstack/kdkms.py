"""kstack dkms prepare: a DKMS source tree of patched kernel modules (issue 6, DKMS path).

From the distro's kernel source (tarball or directory) and a patch series, builds OUT/ with

  dkms.conf                      PACKAGE_NAME/VERSION, one MAKE per module directory, AUTOINSTALL=yes
  <module dir>/...               the module's sources (e.g. drivers/infiniband/sw/rxe/) with the
                                 series applied (every patch dry-run first, fuzz 0)
  rdma-deploy-dkms.json          name, version, modules, series, patches, cache key (provenance)

Every file a patch touches must lie inside one of the module directories: a patch to ib_core's
sources cannot be built into an out-of-tree rdma_rxe and is refused by name before anything is
extracted. OUT must not exist. Nothing else is written.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import kstacklib as k

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.+-]{0,62}$")
VERSION_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z_.+~-]{0,62}$")
MODNAME_RE = re.compile(r"^[A-Za-z0-9_]+$")
CONFIG_RE = re.compile(r"^CONFIG_[A-Z0-9_]+$")

# Known module directories of the 6.1 tree: name -> (directory, Kconfig symbol).
KNOWN_MODULES = {
    "rdma_rxe": ("drivers/infiniband/sw/rxe", "CONFIG_RDMA_RXE"),
    "siw": ("drivers/infiniband/sw/siw", "CONFIG_RDMA_SIW"),
}


def parse_module(spec):
    """'rdma_rxe' (known) or 'NAME=DIR:CONFIG_SYM' -> (name, dir, sym)."""
    if "=" not in spec:
        if spec not in KNOWN_MODULES:
            raise k.KstackError(f"--module {spec}: unknown module; give NAME=DIR:CONFIG_SYMBOL "
                                f"(known: {', '.join(sorted(KNOWN_MODULES))})")
        return (spec,) + KNOWN_MODULES[spec]
    name, rest = spec.split("=", 1)
    if ":" not in rest:
        raise k.KstackError(f"--module {spec}: expected NAME=DIR:CONFIG_SYMBOL")
    d, sym = rest.rsplit(":", 1)
    d = d.strip("/")
    if not MODNAME_RE.match(name):
        raise k.KstackError(f"--module {spec}: module name '{name}' is not [A-Za-z0-9_]+")
    if not CONFIG_RE.match(sym):
        raise k.KstackError(f"--module {spec}: '{sym}' is not a CONFIG_ symbol")
    if not d or d.startswith(".") or ".." in d.split("/") or not re.match(r"^[A-Za-z0-9_/.-]+$", d):
        raise k.KstackError(f"--module {spec}: bad directory '{d}'")
    return name, d, sym


def tree_version_from_makefile(text):
    vals = {}
    for key in ("VERSION", "PATCHLEVEL", "SUBLEVEL"):
        m = re.search(rf"^{key}\s*=\s*(\d+)\s*$", text, re.M)
        if not m:
            return None
        vals[key] = m.group(1)
    return f"{vals['VERSION']}.{vals['PATCHLEVEL']}.{vals['SUBLEVEL']}"


def dkms_conf(name, version, modules):
    lines = [
        "# Written by rdma-deploy (tools/kstack dkms prepare); see docs/dkms.md",
        f'PACKAGE_NAME="{name}"',
        f'PACKAGE_VERSION="{version}"',
    ]
    makes = []
    for mname, d, sym in modules:
        makes.append(f"make -C ${{kernel_source_dir}} M=${{dkms_tree}}/${{PACKAGE_NAME}}/${{PACKAGE_VERSION}}"
                     f"/build/{d} {sym}=m modules")
    lines.append('MAKE[0]="' + " && ".join(makes) + '"')
    cleans = [f"make -C ${{kernel_source_dir}} M=${{dkms_tree}}/${{PACKAGE_NAME}}/${{PACKAGE_VERSION}}"
              f"/build/{d} clean" for _, d, _ in modules]
    lines.append('CLEAN="' + " ; ".join(cleans) + '"')
    for i, (mname, d, _) in enumerate(modules):
        lines += [f'BUILT_MODULE_NAME[{i}]="{mname}"',
                  f'BUILT_MODULE_LOCATION[{i}]="{d}/"',
                  f'DEST_MODULE_LOCATION[{i}]="/updates/dkms"']
    lines += ['AUTOINSTALL="yes"', ""]
    return "\n".join(lines)


def prepare(source, series_dir, name, version, module_specs, out, fuzz=0):
    if not NAME_RE.match(name or ""):
        raise k.KstackError(f"--name '{name}': must match {NAME_RE.pattern} (a DKMS package name)")
    if version != "auto" and not VERSION_RE.match(version or ""):
        raise k.KstackError(f"--version '{version}': must match {VERSION_RE.pattern} or be 'auto'")
    if os.path.exists(out):
        raise k.KstackError(f"--out {out} already exists; name a new directory")
    if not module_specs:
        raise k.KstackError("at least one --module is required")
    modules = [parse_module(m) for m in module_specs]
    if len({m[0] for m in modules}) != len(modules):
        raise k.KstackError("--module: a module is named twice")
    series = k.parse_series(series_dir)
    for w in series.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    if not series.entries:
        raise k.KstackError(f"{series_dir}/series lists no patch")
    dirs = [m[1] for m in modules]
    for e in series.entries:
        _, rels = k.touched_files(e)
        for r in rels:
            if not any(r.startswith(d + "/") for d in dirs):
                raise k.KstackError(
                    f"{e.name}: touches {r}, outside the module directories ({', '.join(dirs)}): "
                    "a DKMS package of these modules cannot carry it (add the module with --module "
                    "NAME=DIR:CONFIG_SYM, or build a whole kernel: kstack build)")
    view = k.SourceView(source)
    work = tempfile.mkdtemp(prefix="kstack-dkms-")
    try:
        tree = os.path.join(work, "tree")
        os.makedirs(tree)
        print(f"--> extracting {', '.join(dirs)} and Makefile from {source}", file=sys.stderr, flush=True)
        if view.kind == "dir":
            for d in dirs:
                s = os.path.join(view.src, d)
                if not os.path.isdir(s):
                    raise k.KstackError(f"{source}: no directory {d}")
                shutil.copytree(s, os.path.join(tree, d), symlinks=True)
            if os.path.isfile(os.path.join(view.src, "Makefile")):
                shutil.copy2(os.path.join(view.src, "Makefile"), os.path.join(tree, "Makefile"))
        else:
            prefix = view._tar_prefix()
            proc = subprocess.run(["tar", "-xf", view.src, "-C", tree, "--strip-components=1",
                                   "--no-same-owner", "--", f"{prefix}/Makefile"]
                                  + [f"{prefix}/{d}" for d in dirs],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            missing = [d for d in dirs if not os.path.isdir(os.path.join(tree, d))]
            if missing:
                raise k.KstackError(f"{source}: no directory {', '.join(missing)} in the archive "
                                    f"({proc.stderr.strip().splitlines()[0] if proc.stderr.strip() else 'tar'})")
        for mname, d, sym in modules:
            kb = ""
            for f in ("Kbuild", "Makefile"):
                p = os.path.join(tree, d, f)
                if os.path.isfile(p):
                    kb += open(p, encoding="utf-8", errors="replace").read()
            if not re.search(rf"obj-\$\({sym}\)\s*\+?=\s*{re.escape(mname)}\.o", kb):
                raise k.KstackError(f"--module {mname}: {d}/Makefile has no 'obj-$({sym}) += {mname}.o'")
        print(f"--> dry-run + apply {series.directory}", file=sys.stderr, flush=True)
        patched = os.path.join(work, "patched")
        r = k.dry_run(series, tree, keep=patched, fuzz=fuzz)
        for n in r.notes:
            print(f"NOTE: {n}")
        if not r.ok:
            hunk = f" hunk {r.failed_hunk}" if r.failed_hunk else ""
            line = f" (patch line {r.failed_hunk_line})" if r.failed_hunk_line else ""
            print(f"FAIL: {r.failed_patch}: {r.failed_file or '?'}{hunk}{line}: {r.detail}")
            print(f"dkms prepare: stopped at {r.failed_patch}; nothing written to {out}")
            return None
        for n in r.applied:
            print(f"PASS: {n} applies")
        for root, _, files in os.walk(patched):
            for f in files:
                s = os.path.join(root, f)
                d = os.path.join(tree, os.path.relpath(s, patched))
                shutil.copy2(s, d)
        upstream = None
        mk = os.path.join(tree, "Makefile")
        if os.path.isfile(mk):
            upstream = tree_version_from_makefile(open(mk, encoding="utf-8", errors="replace").read())
        key = k.cache_key(source, series_dir, [])[0] if view.kind == "tar" else None
        if version == "auto":
            if not upstream:
                raise k.KstackError(f"--version auto: no VERSION/PATCHLEVEL/SUBLEVEL in {source}'s Makefile")
            tag = re.sub(r"[^0-9A-Za-z.]", ".", os.path.basename(series.directory.rstrip("/")))
            version = f"{upstream}+{tag}" + (f".{key[:8]}" if key else "")
        os.makedirs(out)
        for d in dirs:
            shutil.copytree(os.path.join(tree, d), os.path.join(out, d), symlinks=True)
        with open(os.path.join(out, "dkms.conf"), "w") as f:
            f.write(dkms_conf(name, version, modules))
        meta = {"name": name, "version": version, "kernel_source_version": upstream,
                "source": os.path.abspath(source), "cache_key": key,
                "series": os.path.abspath(series.directory),
                "series_name": os.path.basename(os.path.abspath(series.directory)),
                "patches": [e.name for e in series.entries],
                "modules": [{"name": m, "dir": d, "config": s} for m, d, s in modules]}
        with open(os.path.join(out, "rdma-deploy-dkms.json"), "w") as f:
            json.dump(meta, f, indent=1, sort_keys=True)
            f.write("\n")
        return meta
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main_prepare(a):
    meta = prepare(a.source, a.series, a.name, a.version, a.module, a.out, fuzz=a.fuzz)
    if meta is None:
        return k.EXIT_FAILED
    print(f"dkms tree {a.out}: {meta['name']}/{meta['version']} "
          f"({', '.join(m['name'] for m in meta['modules'])}; series {meta['series_name']}, "
          f"{len(meta['patches'])} patch(es))")
    return k.EXIT_OK


def add_parser(sub):
    d = sub.add_parser("dkms", help="DKMS source trees of patched modules").add_subparsers(
        dest="dkms_cmd", required=True)
    p = d.add_parser("prepare", help="module sources + series applied + dkms.conf into OUT")
    p.add_argument("--source", required=True, help="kernel source tarball or directory")
    p.add_argument("--series", required=True, help="series directory (patches/<series>/)")
    p.add_argument("--name", required=True, help="DKMS PACKAGE_NAME")
    p.add_argument("--version", default="auto",
                   help="DKMS PACKAGE_VERSION; auto: <kernel x.y.z>+<series>.<cache key[:8]>")
    p.add_argument("--module", action="append", default=[],
                   help="rdma_rxe | siw | NAME=DIR:CONFIG_SYM (repeatable)")
    p.add_argument("--out", required=True, help="new directory to write")
    p.add_argument("--fuzz", type=int, default=0)
    p.set_defaults(func=main_prepare)
