#!/bin/sh
# Runs inside the debootstrapped root (chroot) during the image build. Args: DISTRO MIRROR.
# Everything per node (hostname, addresses, SSH key) comes at boot from lab-netcfg instead.
set -eu
DISTRO=$1 MIRROR=$2
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

echo lab-node > /etc/hostname
cat > /etc/hosts <<EOT
127.0.0.1	localhost
::1		localhost ip6-localhost ip6-loopback
ff02::1		ip6-allnodes
ff02::2		ip6-allrouters
# lab data segment (VDE switch), node i = 10.77.0.(10+i)
EOT
i=1; while [ $i -le 16 ]; do printf '10.77.0.%d\tnode%d\n' $((10+i)) $i >> /etc/hosts; i=$((i+1)); done

echo 'LABEL=labroot / ext4 errors=remount-ro 0 1' > /etc/fstab

cat > /etc/network/interfaces <<'EOT'
# The NIC stanzas are written at every boot by lab-netcfg (/etc/network/interfaces.d/lab).
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
EOT

# Package sources: the mirror the build machine uses; lists fetched now (saves minutes under TCG).
case "$DISTRO" in
  bullseye) SEC="http://deb.debian.org/debian-security $DISTRO-security" ;;
  *)        SEC="http://deb.debian.org/debian-security $DISTRO-security" ;;
esac
cat > /etc/apt/sources.list <<EOT
deb $MIRROR $DISTRO main
deb $MIRROR $DISTRO-updates main
deb $SEC main
EOT
apt-get update -q

# GRUB: serial console, short menu, panic=10 so a crashed kernel reboots (to the GRUB default).
cat > /etc/default/grub <<'EOT'
GRUB_DEFAULT=0
GRUB_TIMEOUT=1
GRUB_TIMEOUT_STYLE=menu
GRUB_DISTRIBUTOR=Debian
GRUB_CMDLINE_LINUX_DEFAULT=""
GRUB_CMDLINE_LINUX="console=tty0 console=ttyS0,115200n8 panic=10"
GRUB_TERMINAL="serial console"
GRUB_SERIAL_COMMAND="serial --unit=0 --speed=115200"
GRUB_DISABLE_OS_PROBER=true
EOT

install -m 755 /tmp/lab-recipe/files/lab-netcfg /usr/local/sbin/lab-netcfg
install -m 755 /tmp/lab-recipe/files/lab-firstboot /usr/local/sbin/lab-firstboot
install -m 644 /tmp/lab-recipe/files/lab-netcfg.service /etc/systemd/system/
install -m 644 /tmp/lab-recipe/files/lab-firstboot.service /etc/systemd/system/
systemctl enable lab-netcfg.service lab-firstboot.service
touch /etc/lab-firstboot

# Root: SSH key login only (key injected at boot); password-less login on the serial console only.
passwd -d root
install -d -m 700 /root/.ssh
# Timers that would eat the 2 shared cores under TCG.
for t in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer man-db.timer; do
    systemctl mask "$t" >/dev/null 2>&1 || true
done
# journald: keep logs across reboots (the reset/rollback tests read the previous boot).
mkdir -p /var/log/journal
apt-get clean
ssh-keygen -A
