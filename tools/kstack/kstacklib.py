"""kstack: the fast, self-contained pieces of the kernel-stack build (issue 6).

Patch series (quilt format) checks and dry-runs, Kconfig fragment merging with the semantics of
the kernel's scripts/kconfig/merge_config.sh, a content cache key for (source, patches, config),
and a toolchain-vs-kernel-version refusal made before any build starts.

Python 3 standard library only. Nothing here writes outside its own temporary directories and the
output file the user names.
"""

import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field

# Exit codes of the CLI: 0 ok, 1 the check ran and found a problem, 2 bad input.
EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2


class KstackError(Exception):
    """Bad input or environment: the message names the cause. Maps to exit code 2."""


# --------------------------------------------------------------------------------------------
# Patch series
# --------------------------------------------------------------------------------------------

PATCH_SUFFIXES = (".patch", ".diff")


@dataclass
class SeriesEntry:
    name: str          # as written in the series file, relative to the series dir
    path: str          # absolute path
    strip: int         # -pN (quilt default 1)
    lineno: int        # line in the series file


@dataclass
class Series:
    directory: str
    entries: list
    warnings: list = field(default_factory=list)


def parse_series(directory):
    """Parse DIR/series. Raises KstackError naming the file and line for anything invalid."""
    directory = os.path.abspath(directory)
    if not os.path.isdir(directory):
        raise KstackError(f"series directory {directory} does not exist or is not a directory")
    series_file = os.path.join(directory, "series")
    if not os.path.isfile(series_file):
        raise KstackError(f"{series_file}: no series file (one patch per line, quilt format)")
    entries, errors, seen = [], [], {}
    with open(series_file, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = re.sub(r"(^|\s)#.*$", "", raw).strip()
            if not line:
                continue
            words = line.split()
            name, opts = words[0], words[1:]
            where = f"{series_file}:{lineno}"
            strip = 1
            for opt in opts:
                m = re.fullmatch(r"-p(\d+)", opt)
                if m:
                    strip = int(m.group(1))
                elif opt == "-p":
                    errors.append(f"{where}: '-p' needs a number (e.g. -p1)")
                else:
                    errors.append(f"{where}: unsupported option '{opt}' for {name} "
                                  "(only -pN is understood)")
            if name.startswith("/") or ".." in name.split("/"):
                errors.append(f"{where}: patch name '{name}' must be relative to the series "
                              "directory, without '..'")
                continue
            path = os.path.join(directory, name)
            if name in seen:
                errors.append(f"{where}: {name} is listed twice (first at line {seen[name]})")
                continue
            seen[name] = lineno
            if not os.path.isfile(path):
                errors.append(f"{where}: listed patch {name} does not exist ({path})")
                continue
            entries.append(SeriesEntry(name, path, strip, lineno))
    if errors:
        raise KstackError("\n".join(errors))
    if not entries:
        raise KstackError(f"{series_file}: lists no patches")
    warnings = []
    listed = {os.path.normpath(e.name) for e in entries}
    for root, _dirs, files in os.walk(directory):
        for f in sorted(files):
            if f.endswith(PATCH_SUFFIXES):
                rel = os.path.relpath(os.path.join(root, f), directory)
                if os.path.normpath(rel) not in listed:
                    warnings.append(f"{rel} is in {directory} but not listed in series: "
                                    "it will NOT be applied")
    return Series(directory, entries, sorted(warnings))


@dataclass
class Hunk:
    header: str        # the "@@ -a,b +c,d @@" line
    lineno: int        # line in the patch file


@dataclass
class FileSection:
    old: str           # name after '--- ' (without timestamp)
    new: str           # name after '+++ '
    lineno: int
    hunks: list = field(default_factory=list)


def _diff_name(text):
    name = text.split("\t", 1)[0].rstrip("\n")
    # "--- a/x 2024-01-01 ..." without tab: drop a trailing timestamp
    m = re.match(r"(\S+)\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", name)
    return m.group(1) if m else name.strip()


def parse_patch(path):
    """The unified-diff file sections and their hunks, with line numbers in the patch file."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        lines = fh.readlines()
    sections = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("--- ") and i + 1 < len(lines) and lines[i + 1].startswith("+++ "):
            sections.append(FileSection(_diff_name(line[4:]), _diff_name(lines[i + 1][4:]), i + 1))
            i += 2
            continue
        if line.startswith("@@ ") and sections:
            sections[-1].hunks.append(Hunk(line.rstrip("\n"), i + 1))
        i += 1
    return sections


def strip_path(name, strip):
    """Apply patch's -pN to a diff file name; None for /dev/null or too few components."""
    if name == "/dev/null":
        return None
    parts = [p for p in name.split("/") if p]
    if len(parts) <= strip:
        return None
    rel = "/".join(parts[strip:])
    if ".." in rel.split("/"):
        return None
    return rel


def touched_files(entry):
    sections = parse_patch(entry.path)
    if not sections:
        raise KstackError(f"{entry.path}: no unified diff found (no '---'/'+++' file headers)")
    out = []
    for s in sections:
        for n in (s.old, s.new):
            rel = strip_path(n, entry.strip)
            if rel and rel not in out:
                out.append(rel)
    return sections, out


class SourceView:
    """Read-only access to a source tree: a directory or a tarball (.tar, .tar.gz/.xz/.bz2)."""

    def __init__(self, src):
        self.src = os.path.abspath(src)
        if os.path.isdir(self.src):
            self.kind = "dir"
        elif os.path.isfile(self.src) and tarfile.is_tarfile(self.src):
            self.kind = "tar"
        else:
            raise KstackError(f"--tree {src}: neither a directory nor a readable tar archive")

    def _tar_prefix(self):
        # First member names the top directory (kernel tarballs: linux-x.y/ or linux-source-x.y/).
        proc = subprocess.Popen(["tar", "-tf", self.src], stdout=subprocess.PIPE,
                                stderr=subprocess.DEVNULL, text=True)
        first = proc.stdout.readline().strip()
        proc.kill()
        proc.wait()
        if not first:
            raise KstackError(f"{self.src}: empty or unreadable tar archive")
        return first.split("/", 1)[0]

    def copy_into(self, rels, dest):
        """Copy those of rels that exist in the source into dest (same relative paths)."""
        if self.kind == "dir":
            for rel in rels:
                s = os.path.join(self.src, rel)
                if os.path.isfile(s):
                    d = os.path.join(dest, rel)
                    os.makedirs(os.path.dirname(d), exist_ok=True)
                    shutil.copy2(s, d)
            return
        prefix = self._tar_prefix()
        print(f"  extracting {len(rels)} file(s) from {os.path.basename(self.src)} "
              "(one pass through the archive; large .xz takes ~30 s)", file=sys.stderr, flush=True)
        members = [f"{prefix}/{r}" for r in rels]
        proc = subprocess.run(["tar", "-xf", self.src, "-C", dest, "--strip-components=1",
                               "--no-same-owner", "--"] + members,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode != 0:
            bad = [ln for ln in proc.stderr.splitlines()
                   if "Not found in archive" not in ln and "Exiting with failure" not in ln]
            if bad:
                raise KstackError(f"tar failed on {self.src}: " + "; ".join(bad))


@dataclass
class DryRunResult:
    ok: bool
    applied: list                      # names of patches that applied
    failed_patch: str = None
    failed_file: str = None
    failed_hunk: str = None            # the @@ header
    failed_hunk_line: int = None       # line of that header in the patch file
    detail: str = ""
    notes: list = field(default_factory=list)   # offsets / fuzz


_PATCH_ENV = dict(os.environ, LC_ALL="C", LANG="C")
_PATCH_ENV.pop("POSIXLY_CORRECT", None)
_PATCH_ENV.pop("PATCH_VERSION_CONTROL", None)
_PATCH_ENV.pop("VERSION_CONTROL", None)


def _run_patch(entry, workdir, dry, fuzz=0):
    cmd = ["patch", f"-p{entry.strip}", f"--fuzz={fuzz}", "--force", "--no-backup-if-mismatch",
           "--reject-file=-", "--quoting-style=literal", "-d", workdir, "-i", entry.path]
    if dry:
        cmd.insert(1, "--dry-run")
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=_PATCH_ENV)


def _explain_failure(entry, sections, output):
    """Map GNU patch's output onto (file, hunk header, hunk line, detail)."""
    sec_idx = -1
    cur_file = None
    for line in output.splitlines():
        m = re.match(r"(?:checking|patching) file (.+)$", line)
        if m:
            sec_idx += 1
            cur_file = m.group(1)
            continue
        m = re.match(r"can't find file to patch at input line (\d+)", line)
        if m:
            pline = int(m.group(1))
            sec = next((s for s in sections if s.lineno <= pline <= s.lineno + 2), None)
            name = strip_path(sec.new if sec and sec.new != "/dev/null" else (sec.old if sec else "?"),
                              entry.strip) if sec else "?"
            return (name, sec.hunks[0].header if sec and sec.hunks else None,
                    sec.hunks[0].lineno if sec and sec.hunks else pline,
                    f"file to patch not found in the tree (patch line {pline}; wrong -p{entry.strip}?)")
        m = re.match(r"Hunk #(\d+) FAILED at (\d+)", line)
        if m:
            k = int(m.group(1))
            sec = sections[sec_idx] if 0 <= sec_idx < len(sections) else None
            hunk = sec.hunks[k - 1] if sec and 0 < k <= len(sec.hunks) else None
            return (cur_file, hunk.header if hunk else f"hunk #{k}", hunk.lineno if hunk else None,
                    f"hunk #{k} does not apply (expected near line {m.group(2)} of {cur_file})")
        m = re.search(r"malformed patch at line (\d+)", line)
        if m:
            return (cur_file, None, int(m.group(1)), line.strip())
        if "Reversed (or previously applied) patch detected" in line:
            return (cur_file, None, None, "patch looks already applied or reversed")
    return (cur_file, None, None, output.strip().splitlines()[-1] if output.strip() else
            "patch failed without output")


def dry_run(series, src, keep=None, fuzz=0):
    """Apply the series in order into a scratch copy of only the touched files.

    SRC (directory or tarball) is never written. Stops at the first patch that does not apply and
    names it and its failing hunk. Fuzz defaults to 0: a hunk whose context lines do not all match
    fails (GNU patch's default of 2 lets a hunk land next to the wrong code); offsets are accepted
    and reported in notes.
    """
    if shutil.which("patch") is None:
        raise KstackError("GNU patch is not installed (apt-get install patch)")
    view = SourceView(src)
    plan = []
    needed = []
    for e in series.entries:
        sections, rels = touched_files(e)
        plan.append((e, sections))
        needed += [r for r in rels if r not in needed]
    if keep is not None:
        os.makedirs(keep, exist_ok=True)
    scratch = keep or tempfile.mkdtemp(prefix="kstack-dryrun-")
    try:
        view.copy_into(needed, scratch)
        result = DryRunResult(True, [])
        for e, sections in plan:
            print(f"  dry-run {e.name} (-p{e.strip}) ...", file=sys.stderr, flush=True)
            proc = _run_patch(e, scratch, dry=True, fuzz=fuzz)
            if proc.returncode != 0:
                f, header, hline, detail = _explain_failure(e, sections, proc.stdout)
                return DryRunResult(False, result.applied, e.name, f, header, hline, detail,
                                    result.notes)
            for line in proc.stdout.splitlines():
                if "succeeded at" in line:
                    result.notes.append(f"{e.name}: {line.strip()}")
            real = _run_patch(e, scratch, dry=False, fuzz=fuzz)
            if real.returncode != 0:   # dry-run said yes: should not happen
                f, header, hline, detail = _explain_failure(e, sections, real.stdout)
                return DryRunResult(False, result.applied, e.name, f, header, hline, detail,
                                    result.notes)
            result.applied.append(e.name)
        return result
    finally:
        if keep is None:
            shutil.rmtree(scratch, ignore_errors=True)


# --------------------------------------------------------------------------------------------
# Kconfig
# --------------------------------------------------------------------------------------------

_SET_RE = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET_RE = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set\s*$")

REQUIRED_SYMBOLS = ["CONFIG_INFINIBAND", "CONFIG_INFINIBAND_USER_ACCESS",
                    "CONFIG_MLX4_INFINIBAND", "CONFIG_MLX5_INFINIBAND", "CONFIG_RDMA_RXE"]
REQUIRED_3_12 = ["CONFIG_INFINIBAND_EXPERIMENTAL_UVERBS_FLOW_STEERING"]


def read_config(path):
    """Ordered {symbol: value} of a .config or fragment; 'n' for '# CONFIG_X is not set'."""
    if not os.path.exists(path) or os.path.isdir(path):
        raise KstackError(f"config file {path} does not exist or is a directory")
    values = {}
    with open(path, encoding="utf-8", errors="replace") as fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip("\n")
            m = _SET_RE.match(line)
            if m:
                if m.group(2) == "":
                    raise KstackError(f"{path}:{lineno}: {m.group(1)}= has no value")
                values[m.group(1)] = m.group(2)
                continue
            m = _UNSET_RE.match(line)
            if m:
                values[m.group(1)] = "n"
                continue
            s = line.strip()
            if s and not s.startswith("#"):
                raise KstackError(f"{path}:{lineno}: not a Kconfig line: {s!r} "
                                  "(expected CONFIG_X=value or '# CONFIG_X is not set')")
    return values


def format_line(sym, val):
    return f"# {sym} is not set" if val == "n" else f"{sym}={val}"


def merge_configs(base, fragments):
    """merge_config.sh semantics: later files win; report every redefinition.

    Returns (merged dict in order, messages). Like merge_config.sh, a redefined symbol moves to the
    end (the script deletes it from the merged file and appends the fragment).
    """
    merged = dict(read_config(base))
    messages = []
    for frag in fragments:
        for sym, val in read_config(frag).items():
            if sym in merged:
                old = merged[sym]
                if old != val:
                    messages.append(f"Value of {sym} is redefined by fragment {frag}:\n"
                                    f"Previous value: {format_line(sym, old)}\n"
                                    f"New value: {format_line(sym, val)}")
                else:
                    messages.append(f"Value of {sym} is redundant by fragment {frag}")
                del merged[sym]
            merged[sym] = val
    return merged, messages


def write_config(merged, out):
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        for sym, val in merged.items():
            fh.write(format_line(sym, val) + "\n")
    os.replace(tmp, out)


def parse_version(text):
    m = re.match(r"^v?(\d+)\.(\d+)(?:\.(\d+))?", text.strip())
    if not m:
        raise KstackError(f"'{text}' is not a version (expected e.g. 3.12, 3.14.79, 6.1)")
    return tuple(int(x) if x else 0 for x in m.groups())


def required_symbols(kernel_version=None):
    """Required symbols for a kernel version (None: a current kernel).

    RDMA_RXE (Soft-RoCE) only exists from 4.8, so it is not required before; 3.12 additionally
    needs the experimental uverbs flow steering option (which depends on STAGING there).
    """
    req = list(REQUIRED_SYMBOLS)
    if kernel_version is not None:
        kv = parse_version(kernel_version)[:2]
        if kv < (4, 8):
            req.remove("CONFIG_RDMA_RXE")
        if kv == (3, 12):
            req += REQUIRED_3_12
    return req


def check_config(path, kernel_version=None):
    """Required symbols that are absent or 'n' in the config: [(symbol, why)]."""
    values = read_config(path)
    missing = []
    for sym in required_symbols(kernel_version):
        v = values.get(sym)
        if v is None:
            missing.append((sym, "absent"))
        elif v not in ("y", "m"):
            missing.append((sym, f"set to {v}"))
    return missing


def dropped_requests(fragments, final_path):
    """Fragment symbols that `make olddefconfig` did not keep: [(symbol, requested, final, fragment)].

    merge_config.sh's "Requested value ... not in final .config": a symbol whose dependencies are
    off is silently dropped by Kconfig. Requested y/m but final absent or n is fatal for a build
    (the kernel would lack what the fragment exists for); other differences (m became y, a string
    changed) are returned too, and the caller decides. The last fragment setting a symbol wins.
    """
    final = read_config(final_path)
    want = {}
    for frag in fragments:
        for sym, val in read_config(frag).items():
            want[sym] = (val, frag)
    out = []
    for sym, (val, frag) in want.items():
        got = final.get(sym, "n")
        if got != val:
            out.append((sym, val, None if sym not in final else got, frag))
    return out


# --------------------------------------------------------------------------------------------
# Cache key
# --------------------------------------------------------------------------------------------

CACHE_KEY_VERSION = "kstack-cache-key-v1"


def _sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def commit_cache_entry(cache_dir, key, files, info):
    """Fill CACHE/<key>/ as one step: every (path, name, 'move'|'copy') of files and build.json
    (info) go into <key>.part, which then replaces any old entry; readers never see half an entry
    (a complete entry is one with build.json and every file it names). Returns the entry's path."""
    dest = os.path.join(cache_dir, key)
    tmp = dest + ".part"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    for path, name, how in files:
        (shutil.move if how == "move" else shutil.copy2)(path, os.path.join(tmp, name))
    with open(os.path.join(tmp, "build.json"), "w", encoding="utf-8") as fh:
        json.dump(info, fh, indent=2)
    shutil.rmtree(dest, ignore_errors=True)
    os.replace(tmp, dest)
    return dest


def cache_key(source, series_dir, fragments):
    """sha256 over a manifest of content digests; see docs/kernel-stacks.md for the exact format.

    Manifest lines: the version tag, 'source <sha256>', one 'patch <i> p<N> <sha256>' per series
    entry in order, one 'fragment <i> <sha256>' per fragment in command-line order. File names,
    directories, mtimes and series comments do not enter the key; content, order and -pN do.
    """
    if not os.path.isfile(source):
        raise KstackError(f"--source {source}: no such file")
    lines = [CACHE_KEY_VERSION, f"source {_sha256_file(source)}"]
    if series_dir:
        for i, e in enumerate(parse_series(series_dir).entries):
            lines.append(f"patch {i} p{e.strip} {_sha256_file(e.path)}")
    for i, f in enumerate(fragments):
        if not os.path.isfile(f):
            raise KstackError(f"--config {f}: no such file")
        lines.append(f"fragment {i} {_sha256_file(f)}")
    manifest = "\n".join(lines) + "\n"
    return hashlib.sha256(manifest.encode()).hexdigest(), manifest


# --------------------------------------------------------------------------------------------
# Toolchain
# --------------------------------------------------------------------------------------------

# A builder whose distro compiler fits, by GCC major (the distro's default gcc).
BUILDERS = [
    (4, "Debian 8 jessie (gcc 4.9) or CentOS/RHEL 7 (gcc 4.8.5) or Ubuntu 14.04 (gcc 4.8)"),
    (5, "Ubuntu 16.04 xenial (gcc 5.4)"),
    (6, "Debian 9 stretch (gcc 6.3)"),
    (8, "Debian 10 buster (gcc 8.3)"),
    (10, "Debian 11 bullseye (gcc 10.2)"),
    (12, "Debian 12 bookworm (gcc 12.2)"),
    (14, "Debian 13 trixie (gcc 14.2)"),
]


def builder_for(max_major, min_major=0):
    fits = [d for m, d in BUILDERS if min_major <= m <= max_major]
    return fits[-1] if fits else f"a distro whose default gcc major is <= {max_major}"


def detect_gcc(cc=None):
    cc = cc or os.environ.get("CC") or "gcc"
    if shutil.which(cc.split()[0]) is None:
        raise KstackError(f"no compiler '{cc}' found on PATH; pass --gcc-version")
    out = subprocess.run(cc.split() + ["-dumpfullversion", "-dumpversion"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if out.returncode != 0 or not out.stdout.strip():
        raise KstackError(f"'{cc} -dumpfullversion' failed: {out.stderr.strip()}")
    return out.stdout.strip().splitlines()[0]


def toolchain_check(kernel_version, gcc_version, tree=None):
    """Return (ok, [messages]). Refusals name the reason and the builder needed.

    Rules (see docs/kernel-stacks.md for sources):
    - Kernels before 4.2 include linux/compiler-gcc<MAJOR>.h (include/linux/compiler-gcc.h:
      `#include gcc_header(__GNUC__)`); 3.x before 3.18 ship only compiler-gcc3.h/gcc4.h and
      3.18-4.1 add compiler-gcc5.h, so a newer GCC major fails at the first file with
      "linux/compiler-gccN.h: No such file or directory". With --tree the header is looked up.
    - Kernels before 4.9 do not pass -fno-PIE; distro GCC >= 6 (Debian/Ubuntu) defaults to PIE and
      fails with "code model kernel does not support PIC mode". With --tree, a top Makefile that
      has -fno-PIE (the fix was backported to stable trees) lifts this rule.
    - Minimum GCC per Documentation/process/changes.rst: 4.6 from 4.19, 4.9 from 5.8, 5.1 from
      5.15.
    - Kernels before 5.7 with GCC >= 10 (default -fno-common) fail linking scripts/dtc
      (multiple definition of 'yylloc'): a warning, host tool only, fixed by a one-line backport.
    """
    kv = parse_version(kernel_version)
    gv = parse_version(gcc_version)
    gmaj = gv[0]
    if tree is not None and not os.path.isdir(tree):
        raise KstackError(f"--tree {tree}: not a directory (extract the kernel tree, or omit --tree)")
    hint = "" if tree is not None else (
        " A stable point release may carry newer headers or fixes: pass --tree to check the "
        "actual tree.")
    msgs = []
    ok = True
    kstr = f"{kv[0]}.{kv[1]}"
    if kv[:2] < (4, 2):
        if tree is not None:
            hdr = os.path.join(tree, "include", "linux", f"compiler-gcc{gmaj}.h")
            have = os.path.isfile(hdr)
            max_major = gmaj if have else max(
                [n for n in range(3, 10) if os.path.isfile(
                    os.path.join(tree, "include", "linux", f"compiler-gcc{n}.h"))] or [4])
        else:
            max_major = 5 if kv[:2] >= (3, 18) else 4
            have = gmaj <= max_major
        if not have:
            ok = False
            msgs.append(
                f"REFUSED: kernel {kstr} with gcc {gcc_version}: kernels before 4.2 include "
                f"linux/compiler-gcc{gmaj}.h, which {kstr} does not have (it supports gcc up to "
                f"{max_major}.x); the build would stop at the first file with "
                f"'linux/compiler-gcc{gmaj}.h: No such file or directory'. Build on a builder "
                f"with gcc <= {max_major}: {builder_for(max_major)}.{hint}")
    no_pie_fix = False
    if tree is not None and os.path.isfile(os.path.join(tree, "Makefile")):
        with open(os.path.join(tree, "Makefile"), encoding="utf-8", errors="replace") as fh:
            no_pie_fix = "-fno-PIE" in fh.read()
    if ok and kv[:2] < (4, 9) and gmaj >= 6 and not no_pie_fix:
        ok = False
        msgs.append(
            f"REFUSED: kernel {kstr} with gcc {gcc_version}: kernels before 4.9 do not pass "
            "-fno-PIE and Debian/Ubuntu gcc >= 6 builds PIE by default ('code model kernel does "
            f"not support PIC mode'). Build on a builder with gcc 5: {builder_for(5)}.{hint}")
    minimum = (5, 1) if kv[:2] >= (5, 15) else (4, 9) if kv[:2] >= (5, 8) else \
        (4, 6) if kv[:2] >= (4, 19) else (3, 2)
    if gv[:2] < minimum:
        ok = False
        msgs.append(
            f"REFUSED: kernel {kstr} needs gcc >= {minimum[0]}.{minimum[1]} "
            f"(Documentation/process/changes.rst), this is {gcc_version}. Use a builder with a "
            f"newer gcc, e.g. {[d for m, d in BUILDERS if (m, 9) >= minimum][0]}.")
    if ok and kv[:2] < (5, 7) and gmaj >= 10:
        msgs.append(
            f"WARNING: kernel {kstr} with gcc >= 10: host tool scripts/dtc fails to link "
            "(multiple definition of 'yylloc', gcc 10 defaults to -fno-common) unless the "
            "one-line dtc fix is in the series or HOSTCFLAGS=-fcommon is passed.")
    if ok:
        msgs.insert(0, f"OK: kernel {kstr} with gcc {gcc_version}")
    return ok, msgs
