#!/usr/bin/python
# -*- coding: utf-8 -*-
"""rdma_files: write a role's files on the node in one module run (text, or binary as base64).

Why a module of our own: a `template` or `copy` task costs a `stat` module run plus a `copy` (or
`file`) module run on the node, each of which imports ansible.module_utils from the AnsiballZ
zip: 1.5-1.7 s a run on the lab's TCG nodes, ~40 s of a fresh deploy for 8 small files
(docs/BENCHMARKS.md, section 7). This module is a JSONARGS module (Ansible substitutes the
arguments below and pipelines it, standard library only): one ~0.3 s run for all of a role's files,
with what `template` gives: check mode, `--diff` (one diff per file), owner, group and mode, an
atomic replace (temporary file in the same directory, fsync, rename).

The content is rendered on the control node by the task, e.g.
    rdma_files:
      files:
        - path: /etc/modules-load.d/rdma-deploy.conf
          content: "{{ lookup('ansible.builtin.template', 'etc/modules-load.d/rdma-deploy.conf.j2') }}"
          mode: "0644"          # default 0644; owner/group default root
          skip: false           # optional: leave this file alone (a disabled feature)
        - path: /var/cache/x.deb  # a binary file: content_b64 instead of content (no diff shown)
          content_b64: "{{ lookup('ansible.builtin.file', 'x.deb', rstrip=false) | b64encode }}"

Returns `changed`, `changed_paths` (the paths whose content or attributes changed, or would in
check mode) and `files` ({path: created | updated | attributes | unchanged | skipped}).
Every entry is validated, and every parent directory checked, before anything is written.
"""
import base64
import binascii
import grp
import json
import os
import pwd
import re
import stat
import sys
import tempfile

ARGS = r"""<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"""

_MODE = re.compile(r"^0?[0-7]{3}$")


class Refused(Exception):
    """Bad input or a state the module will not act on; nothing was written."""


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _ids(owner, group):
    try:
        uid = pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise Refused(f"owner {owner!r}: no such user on this node") from None
    try:
        gid = grp.getgrnam(group).gr_gid
    except KeyError:
        raise Refused(f"group {group!r}: no such group on this node") from None
    return uid, gid


def _plan(entry, index):
    """Validate one entry; return its plan (what is there, what is wanted)."""
    if not isinstance(entry, dict):
        raise Refused(f"files[{index}]: expected a mapping with path and content, got {type(entry).__name__}")
    unknown = set(entry) - {"path", "content", "content_b64", "mode", "owner", "group", "skip"}
    if unknown:
        raise Refused(f"files[{index}]: unknown keys {sorted(unknown)}")
    path = entry.get("path")
    if not isinstance(path, str) or not path.startswith("/") or path.endswith("/"):
        raise Refused(f"files[{index}]: path must be an absolute file path, got {path!r}")
    if _truthy(entry.get("skip", False)):
        return {"path": path, "skip": True}
    if ("content" in entry) == ("content_b64" in entry):
        raise Refused(f"{path}: give exactly one of content (text) and content_b64 (a binary file)")
    binary = "content_b64" in entry
    content = entry.get("content_b64" if binary else "content")
    if not isinstance(content, str):
        raise Refused(f"{path}: {'content_b64' if binary else 'content'} must be text, got {type(content).__name__}")
    if binary:
        try:
            data = base64.b64decode(content, validate=True)
        except (binascii.Error, ValueError) as e:
            raise Refused(f"{path}: content_b64 is not base64 ({e})") from None
    else:
        data = content.encode("utf-8")
    mode = str(entry.get("mode", "0644"))
    if not _MODE.match(mode):
        raise Refused(f"{path}: mode must be octal like 0644, got {mode!r}")
    uid, gid = _ids(str(entry.get("owner", "root")), str(entry.get("group", "root")))
    plan = {"path": path, "skip": False, "content": data, "binary": binary, "mode": int(mode, 8),
            "uid": uid, "gid": gid, "before": None, "parent_missing": False}
    parent = os.path.dirname(path)
    if not os.path.isdir(parent):
        plan["parent_missing"] = True
        return plan
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return plan
    if stat.S_ISDIR(st.st_mode):
        raise Refused(f"{path}: is a directory")
    if stat.S_ISREG(st.st_mode):
        with open(path, "rb") as f:
            plan["before"] = f.read()
        plan["st"] = st
    else:  # a symlink or something else: replaced by a regular file, like `template` does
        plan["before"] = b""
        plan["st"] = None
    return plan


def _write(plan):
    path = plan["path"]
    parent = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".rdma-files", dir=parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(plan["content"])
            f.flush()
            os.fchmod(f.fileno(), plan["mode"])
            os.fchown(f.fileno(), plan["uid"], plan["gid"])
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def run(args):
    """The module's work; returns the result dict (tests call this directly)."""
    check = _truthy(args.get("_ansible_check_mode", False))
    want_diff = _truthy(args.get("_ansible_diff", False))
    files = args.get("files")
    if not isinstance(files, list) or not files:
        raise Refused("files: expected a non-empty list of {path, content, mode, owner, group}")
    plans = [_plan(e, i) for i, e in enumerate(files)]
    seen = set()
    for p in plans:
        if p["path"] in seen:
            raise Refused(f"{p['path']}: listed twice")
        seen.add(p["path"])
    missing = [p["path"] for p in plans if not p["skip"] and p["parent_missing"]]
    if missing and not check:
        raise Refused("parent directory missing for " + ", ".join(missing) + " (nothing was written)")

    result = {"changed": False, "changed_paths": [], "files": {}}
    diffs = []
    for p in plans:
        path = p["path"]
        if p["skip"]:
            result["files"][path] = "skipped"
            continue
        st = p.get("st")
        if p["before"] is None or st is None:
            what = "created" if p["before"] is None else "updated"
        elif p["before"] != p["content"]:
            what = "updated"
        elif stat.S_IMODE(st.st_mode) != p["mode"] or st.st_uid != p["uid"] or st.st_gid != p["gid"]:
            what = "attributes"
        else:
            what = "unchanged"
        result["files"][path] = what
        if what == "unchanged":
            continue
        result["changed"] = True
        result["changed_paths"].append(path)
        if want_diff and what != "attributes" and not p["binary"]:
            diffs.append({"before_header": path, "after_header": path,
                          "before": (p["before"] or b"").decode("utf-8", "replace"),
                          "after": p["content"].decode("utf-8", "replace")})
        if check:
            continue
        if what == "attributes":
            os.chmod(path, p["mode"])
            os.chown(path, p["uid"], p["gid"])
        else:
            _write(p)
    if diffs:
        result["diff"] = diffs
    return result


# Each of library/'s modules travels to the node alone (a JSONARGS module gets no module_utils),
# so this entry point is repeated in each rather than shared.
def main():
    try:
        args = json.loads(ARGS)
        result = run(args)
    except Refused as e:
        result = {"failed": True, "changed": False, "msg": f"rdma_files: {e}"}
    except (OSError, ValueError) as e:
        result = {"failed": True, "changed": False, "msg": f"rdma_files: {type(e).__name__}: {e}"}
    print(json.dumps(result))
    sys.exit(0)


if __name__ == "__main__":
    main()
