#!/usr/bin/env bash
# Fast tests of the vendor bundle stack (no node, no VM; ~30 s): variable resolution per distro
# family and vendor, the installer's exit-code messages, the preflight refusals, and the test
# double's installer refusing bad input before any change. Exit 0 pass, 1 fail.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
here=$repo/tests/bundle
command -v ansible-playbook >/dev/null || { echo "SKIP: ansible-playbook missing (scripts/deps.sh)"; exit 77; }
tmp=$(mktemp -d /tmp/bundle-tests.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
V=24.10-1.1.4.0
good=$tmp/MLNX_OFED_LINUX-$V-debian12.1-x86_64.tgz
other=$tmp/MLNX_OFED_LINUX-$V-debian11.3-x86_64.tgz
echo "not a real bundle: tests/bundle/run.sh" > "$good"; cp "$good" "$other"
sum=sha256:$(sha256sum "$good" | cut -d' ' -f1)
bad=sha256:$(printf '0%.0s' $(seq 64))
deb12='{"distribution": "Debian", "os_family": "Debian", "distribution_version": "12.7", "distribution_major_version": "12", "architecture": "x86_64"}'
ubu22='{"distribution": "Ubuntu", "os_family": "Debian", "distribution_version": "22.04", "distribution_major_version": "22", "architecture": "x86_64"}'
rhel9='{"distribution": "RedHat", "os_family": "RedHat", "distribution_version": "9.4", "distribution_major_version": "9", "architecture": "x86_64"}'
sles15='{"distribution": "SLES", "os_family": "Suse", "distribution_version": "15.5", "distribution_major_version": "15", "architecture": "x86_64"}'
arm='{"distribution": "Debian", "os_family": "Debian", "distribution_version": "12.7", "distribution_major_version": "12", "architecture": "aarch64"}'
pre="rdma_stack: mofed, rdma_stack_version: '$V', rdma_os_facts_override: $deb12, rdma_bundle_min_free_mb: 1"
cat > "$tmp/inv.yml" <<INV
all:
  vars: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3, rdma_stack_version: '$V'}
  children:
    resolve:
      hosts:
        deb12: {rdma_os_facts_override: $deb12, rdma_os_pkg_mgr: apt,
          accept: [MLNX_OFED_LINUX-$V-debian12.1-x86_64.tgz, MLNX_OFED_LINUX-$V-debian12.5-x86_64.iso],
          refuse: [MLNX_OFED_LINUX-$V-debian11.3-x86_64.tgz, MLNX_OFED_LINUX-$V-debian12.1-aarch64.tgz, MLNX_OFED_LINUX-5.8-1.0.1.1-debian12.1-x86_64.tgz],
          expect: {distro_tag: debian12., installer: mlnxofedinstall, options: [--without-fw-update, --dkms, --force],
                   uninstall: /usr/sbin/ofed_uninstall.sh --force, info: ofed_info -s, version_line: 'MLNX_OFED_LINUX-$V:',
                   restart: /etc/init.d/openibd restart, repo_remove: apt-get purge -y, metapackage: mlnx-ofed-basic,
                   source: none, unknown_options: []}}
        ubuntu22: {rdma_os_facts_override: $ubu22, rdma_os_pkg_mgr: apt,
          accept: [MLNX_OFED_LINUX-$V-ubuntu22.04-x86_64.tgz], refuse: [MLNX_OFED_LINUX-$V-ubuntu24.04-x86_64.tgz],
          expect: {distro_tag: ubuntu22.04, options: [--without-fw-update, --dkms, --force]}}
        rhel9: {rdma_os_facts_override: $rhel9, rdma_os_pkg_mgr: dnf,
          accept: [MLNX_OFED_LINUX-$V-rhel9.4-x86_64.tgz], refuse: [MLNX_OFED_LINUX-$V-rhel9.2-x86_64.tgz],
          expect: {distro_tag: rhel9.4, options: [--without-fw-update, --force], repo_remove: dnf remove -y,
                   conflicting: [rdma-core, libibverbs, librdmacm, libibverbs-utils, librdmacm-utils, infiniband-diags, perftest]}}
        sles15: {rdma_os_facts_override: $sles15, rdma_os_pkg_mgr: zypper,
          accept: [MLNX_OFED_LINUX-$V-sles15sp5-x86_64.tgz], refuse: [MLNX_OFED_LINUX-$V-sles15sp4-x86_64.tgz],
          expect: {distro_tag: sles15sp5, repo_remove: zypper --non-interactive remove, options: [--without-fw-update, --force]}}
        deb12_arm: {rdma_os_facts_override: $arm, rdma_os_pkg_mgr: apt,
          accept: [MLNX_OFED_LINUX-$V-debian12.1-aarch64.tgz], refuse: [MLNX_OFED_LINUX-$V-debian12.1-x86_64.tgz], expect: {arch: aarch64}}
        doca: {rdma_os_facts_override: $deb12, rdma_os_pkg_mgr: apt, rdma_bundle_vendor: doca_ofed, rdma_bundle_doca_profile: doca-ofed-userspace,
          rdma_bundle_repo_url: 'file:///srv/doca/', accept: [DOCA-OFED-$V-debian12.1-x86_64.tgz],
          expect: {source: repo, metapackage: doca-ofed-userspace, version_line: 'OFED-internal-$V:'}}
        ofa: {rdma_os_facts_override: $deb12, rdma_os_pkg_mgr: apt, rdma_bundle_vendor: ofed, rdma_stack_bundle_url: '$good',
          expect: {installer: install.pl, options: [--without-fw-update, --force], source: bundle, file: MLNX_OFED_LINUX-$V-debian12.1-x86_64.tgz}}
        nodkms: {rdma_os_facts_override: $deb12, rdma_os_pkg_mgr: apt, rdma_bundle_dkms: false,
          rdma_bundle_install_options: [--without-fw-update, --add-kernel-support],
          expect: {options: [--without-fw-update, --add-kernel-support, --force]}}
    rc:
      hosts:
        rc1: {rdma_os_facts_override: $deb12, code: 1, expect_msg: 'installation failed \(exit 1\).*log directory'}
        rc2: {rdma_os_facts_override: $deb12, code: 2, expect_msg: 'no firmware.*--without-fw-update'}
        rc22: {rdma_os_facts_override: $deb12, code: 22, expect_msg: 'invalid parameter \(exit 22\).*rdma_bundle_install_options'}
        rc28: {rdma_os_facts_override: $deb12, code: 28, expect_msg: 'not enough free space \(exit 28\).*/var/tmp/rdma-bundle'}
        rc171: {rdma_os_facts_override: $deb12, code: 171, expect_msg: 'not applicable.*another distribution.*\(debian12\.\)'}
        rc172: {rdma_os_facts_override: $deb12, code: 172, expect_msg: 'prerequisites are missing.*--add-kernel-support'}
        rc173: {rdma_os_facts_override: $deb12, code: 173, expect_msg: 'mst driver.*--without-fw-update'}
        rc99: {rdma_os_facts_override: $deb12, code: 99, expect_msg: 'unexpected exit code 99.*Last output: last line of the installer'}
    preflight:
      hosts:
        pre_ok: {$pre, rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$sum', expect_msg: '^<passed>$'}
        pre_inbox: {rdma_stack: inbox, expect_msg: '^<passed>$'}
        pre_nosource: {$pre, expect_msg: 'without a source'}
        pre_nosum: {$pre, rdma_stack_bundle_url: '$good', expect_msg: 'only installed with its checksum'}
        pre_badsum: {$pre, rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$bad', expect_msg: 'checksum mismatch'}
        pre_missing: {$pre, rdma_stack_bundle_url: '$tmp/nope.tgz', rdma_stack_bundle_checksum: '$sum', expect_msg: 'no such file on the control node'}
        pre_distro: {$pre, rdma_stack_bundle_url: '$other', rdma_stack_bundle_checksum: '$sum', expect_msg: 'for another distro release'}
        pre_version: {$pre, rdma_stack_version: '5.8-1.0.1.1', rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$sum', expect_msg: 'is not\s+MLNX_OFED_LINUX-5.8-1.0.1.1-debian12.'}
        pre_option: {$pre, rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$sum', rdma_bundle_install_options: [--without-fw-update, --frobnicate], expect_msg: 'unknown installer option \["--frobnicate"\]'}
        pre_aks: {$pre, rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$sum', rdma_bundle_add_kernel_support: sometimes, expect_msg: 'rdma_bundle_add_kernel_support="sometimes"'}
        pre_disk: {$pre, rdma_stack_bundle_url: '$good', rdma_stack_bundle_checksum: '$sum', rdma_bundle_min_free_mb: 999999999, expect_msg: 'not enough disk.*need 999999999 MB'}
        pre_vendor: {$pre, rdma_bundle_vendor: nvidia, expect_msg: 'rdma_bundle_vendor="nvidia": unknown vendor'}
INV
echo "--> ansible cases (resolve per family, exit codes, preflight refusals)"
start=$(date +%s)
set +e
ANSIBLE_ROLES_PATH=$repo/roles ANSIBLE_CONFIG=$repo/ansible.cfg ANSIBLE_STDOUT_CALLBACK=default ANSIBLE_CALLBACKS_ENABLED='' \
  ANSIBLE_DISPLAY_SKIPPED_HOSTS=false ANSIBLE_FORKS=32 \
  ansible-playbook -i "$tmp/inv.yml" "$here/cases.yml" > "$tmp/out.txt" 2>&1
rc=$?
set -e
grep -oE '"msg": "(PASS|FAIL) [^"]*"' "$tmp/out.txt" | sed 's/^"msg": "//; s/"$//' | sort || true
npass=$(grep -c '"msg": "PASS ' "$tmp/out.txt" || true)
nfail=$(grep -c 'FAIL ' "$tmp/out.txt" || true)
echo "    $npass passed, $nfail failed, ansible rc $rc ($(( $(date +%s) - start )) s)"
ncases=$(grep -cE '^        [a-z0-9_]+: \{' "$tmp/inv.yml")
if [ $rc -ne 0 ] || [ "$nfail" -ne 0 ] || [ "$npass" -ne "$ncases" ]; then
  echo "    FAIL: expected $ncases cases to pass"; tail -40 "$tmp/out.txt"; fail=1
else fail=0; fi

echo "--> the double's installer refuses bad input before any change"
d=$tmp/double; mkdir -p "$d/DEBS"
sed -e "s/@VER@/$V/; s/@DISTRO@/debian12.x/; s/@KVER@/$(uname -r)/" "$here/double/files/mlnxofedinstall" > "$d/mlnxofedinstall"
chmod +x "$d/mlnxofedinstall"
# dpkg is replaced by a trap: any package operation here would be a bug (these paths exit before).
mkdir -p "$d/bin"; printf '#!/bin/sh\necho "dpkg called: $*" >&2; exit 99\n' > "$d/bin/dpkg"; chmod +x "$d/bin/dpkg"
check_rc() { # want args...
  local want=$1; shift
  local got; set +e; PATH=$d/bin:$PATH "$d/mlnxofedinstall" "$@" >"$tmp/d.out" 2>&1; got=$?; set -e
  if [ "$got" = "$want" ] && ! grep -q 'dpkg called' "$tmp/d.out"; then echo "PASS: mlnxofedinstall $* -> $got"
  else echo "FAIL: mlnxofedinstall $* -> $got (want $want): $(tail -2 "$tmp/d.out")"; fail=1; fi
}
check_rc 22 --frobnicate
check_rc 0 --help
MLNX_DOUBLE_EXIT=22 check_rc 22 --without-fw-update
MLNX_DOUBLE_EXIT=171 check_rc 171 --without-fw-update
MLNX_DOUBLE_EXIT=172 check_rc 172 --without-fw-update
MLNX_DOUBLE_EXIT=28 check_rc 28 --without-fw-update
check_rc 172 --kernel 0.0.0-other --without-fw-update
[ $fail -eq 0 ] && echo "bundle tests: PASS" || echo "bundle tests: FAIL"
exit $fail
