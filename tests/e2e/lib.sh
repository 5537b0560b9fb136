# shellcheck shell=bash
# Shared helpers of the end-to-end suites (sourced). Needs LAB and LAB_INVENTORY (lab/with-lab).
export ANSIBLE_NOCOLOR=1 ANSIBLE_FORCE_COLOR=0
PY=/usr/bin/python3
failed=0
pass() { echo "PASS  $*"; }
# shellcheck disable=SC2034 # `failed` is read by the suites that source this file
fail() { echo "FAIL  $*"; failed=1; }
say()  { echo "---- $*"; }

# The lab's hosts, sorted (node1 node2 ...).
lab_nodes() {
  ansible-inventory -i "$LAB_INVENTORY" --list 2>/dev/null \
    | "$PY" -c 'import json,sys; d=json.load(sys.stdin); print("\n".join(sorted(d["_meta"]["hostvars"])))'
}

# What "nothing changed" means on a node: installed packages, every regular file under /etc
# (hash), loaded modules.
# shellcheck disable=SC2016 # expanded by the node's shell
node_state() {  # node_state NODE OUTFILE
  "$LAB" ssh "$1" 'dpkg-query -W -f="pkg ${Package} ${Version} ${db:Status-Abbrev}\n";
    find /etc -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sed "s/^/etc /";
    lsmod | awk "NR > 1 { print \"mod \" \$1 }" | sort' > "$2" 2>/dev/null
}

# same_state BEFORE AFTER NODE WHAT: the two node_state files must be identical.
same_state() {
  if diff -q "$1" "$2" >/dev/null; then
    pass "$4: $3: dpkg-query -W ($(grep -c '^pkg ' "$1") packages), sha256 of /etc ($(grep -c '^etc ' "$1") files), lsmod ($(grep -c '^mod ' "$1") modules) identical"
  else
    fail "$4: $3 differs:"; diff "$1" "$2" | head -30
  fi
}

# recap_changed LOG -> "host=changed ..." of the PLAY RECAP
recap_changed() {
  awk '/PLAY RECAP/ { r = 1; next } r && /changed=/ { split($4, c, "="); printf "%s=%s ", $1, c[2] }' "$1"
}
# recap_field LOG HOST FIELD -> the number after FIELD= in HOST's line of the last PLAY RECAP
recap_field() {
  awk -v h="$2" -v f="$3" '/PLAY RECAP/ { r = 1; next } r && $1 == h { for (i = 2; i <= NF; i++) if (index($i, f "=") == 1) { split($i, c, "="); v = c[2] } } END { print v + 0 }' "$1"
}

# agent_statuses NODE -> "name=status ..." of rdma-agent check --format json, or "no agent"
agent_statuses() {
  "$LAB" ssh "$1" 'command -v rdma-agent >/dev/null || { echo "no agent"; exit 0; }; rdma-agent check --format json' 2>/dev/null \
    | "$PY" -c 'import json,sys
t=sys.stdin.read()
if t.strip()=="no agent": print("no agent"); sys.exit(0)
try: d=json.loads(t)
except Exception as e: print("no report: %s" % e); sys.exit(0)
print(" ".join("%s=%s" % (c["name"], c["status"]) for c in d.get("checks", [])))'
}
