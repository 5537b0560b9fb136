#!/usr/bin/python
# -*- coding: utf-8 -*-
"""rdma_unit: bring one systemd unit to a wanted state (enabled, started/stopped/restarted).

What `ansible.builtin.systemd` does for our two units (rdma-softroce.service, rdma-agent.timer), as
a JSONARGS module (Ansible substitutes the arguments below and pipelines it; standard library
only): the systemd module's start on a TCG lab node costs ~1.5 s of importing ansible.module_utils
before it runs systemctl (docs/BENCHMARKS.md, section 7); this runs systemctl at once.

Arguments: name (required), enabled (bool, optional), state (started | stopped | restarted,
optional), daemon_reload (bool, default false). Check mode: reports what it would do, runs only
`systemctl show` and `is-enabled`. Returns `changed`, `actions` (the systemctl verbs run or, in
check mode, that would be), and `status` ({LoadState, ActiveState, UnitFileState} read before
acting, as the systemd module's `status`; UnitFileState from `systemctl is-enabled`). A failing
systemctl fails the task with its message and the unit's last journal lines.
"""
import json
import re
import subprocess
import sys

ARGS = r"""<<INCLUDE_ANSIBLE_MODULE_JSON_ARGS>>"""

SYSTEMCTL = "systemctl"
_NAME = re.compile(r"^[A-Za-z0-9:_.@\\-]+\.(service|timer|socket|target|path|mount)$")
_ENABLED = {"enabled", "enabled-runtime", "static", "alias", "indirect", "generated", "transient"}
_RUNNING = {"active", "activating", "reloading"}


class Refused(Exception):
    """Bad input or a failed systemctl; the message says which."""


def _truthy(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _systemctl(*argv):
    p = subprocess.run([SYSTEMCTL, *argv], capture_output=True, text=True)
    return p.returncode, p.stdout, p.stderr


def _show(name):
    rc, out, err = _systemctl("show", "-p", "LoadState", "-p", "ActiveState", "-p", "UnitFileState", name)
    if rc != 0:
        raise Refused(f"systemctl show {name} failed (exit {rc}): {err.strip() or out.strip()}")
    status = {}
    for line in out.splitlines():
        key, _, value = line.partition("=")
        status[key.strip()] = value.strip()
    return status


def _journal_tail(name):
    try:
        p = subprocess.run(["journalctl", "-u", name, "-n", "8", "--no-pager", "-o", "cat"],
                           capture_output=True, text=True, timeout=20)
        return p.stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def run(args):
    """The module's work; returns the result dict (tests call this with a fake systemctl)."""
    check = _truthy(args.get("_ansible_check_mode", False))
    name = args.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise Refused(f"name must be a systemd unit name with its type (e.g. x.service), got {name!r}")
    state = args.get("state")
    if state is not None and state not in ("started", "stopped", "restarted"):
        raise Refused(f"state must be started, stopped or restarted, got {state!r}")
    enabled = args.get("enabled")
    if enabled is not None:
        enabled = _truthy(enabled)
    if state is None and enabled is None:
        raise Refused("nothing to do: give state, enabled or both")

    actions = []
    if _truthy(args.get("daemon_reload", False)):
        actions.append("daemon-reload")
        if not check:
            rc, out, err = _systemctl("daemon-reload")
            if rc != 0:
                raise Refused(f"systemctl daemon-reload failed (exit {rc}): {err.strip() or out.strip()}")
    status = _show(name)
    if status.get("LoadState") == "not-found" and not check:
        raise Refused(f"{name}: no such unit on this node (LoadState not-found)")

    todo = []
    # Whether it is enabled, from `is-enabled` (read from disk on every call): `show`'s UnitFileState
    # is cached by the manager until its next reload, and enable --no-reload (below) does not reload.
    rc, out, _ = _systemctl("is-enabled", name)
    unit_file = status["UnitFileState"] = (out.strip().splitlines() or [""])[0]
    if enabled is True and unit_file not in _ENABLED:
        todo.append("enable")
    elif enabled is False and unit_file in ("enabled", "enabled-runtime"):
        todo.append("disable")
    active = status.get("ActiveState", "")
    if state == "started" and active not in _RUNNING:
        todo.append("start")
    elif state == "stopped" and active in _RUNNING:
        todo.append("stop")
    elif state == "restarted":
        todo.append("restart")

    # enable/disable with --no-reload: they only change symlinks, which the manager reads at boot or
    # at the next reload; their implicit daemon-reload (~1 s on TCG nodes) bought nothing here (a
    # changed unit file is reloaded above, explicitly). Enable and start in one `enable --now`.
    calls = []
    for verb in todo:
        if verb == "start" and calls and calls[-1][0] == ["enable"]:
            calls[-1] = (["enable", "start"], ["enable", "--no-reload", "--now", name])
        elif verb in ("enable", "disable"):
            calls.append(([verb], [verb, "--no-reload", name]))
        else:
            calls.append(([verb], [verb, name]))
    for verbs, argv in calls:
        actions.extend(verbs)
        if check:
            continue
        rc, out, err = _systemctl(*argv)
        if rc != 0:
            tail = _journal_tail(name) if {"start", "restart"} & set(verbs) else ""
            raise Refused(f"systemctl {' '.join(argv)} failed (exit {rc}): {err.strip() or out.strip()}"
                          + (f"\n{name}'s last journal lines:\n{tail}" if tail else ""))
    return {"changed": bool(todo), "actions": actions, "status": status, "name": name}


# Each of library/'s modules travels to the node alone (a JSONARGS module gets no module_utils),
# so this entry point is repeated in each rather than shared.
def main():
    try:
        result = run(json.loads(ARGS))
    except Refused as e:
        result = {"failed": True, "changed": False, "msg": f"rdma_unit: {e}"}
    except (OSError, ValueError) as e:
        result = {"failed": True, "changed": False, "msg": f"rdma_unit: {type(e).__name__}: {e}"}
    print(json.dumps(result))
    sys.exit(0)


if __name__ == "__main__":
    main()
