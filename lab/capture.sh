#!/bin/bash
# Runs ON a lab node (pushed there by `lab capture NODE DIR`): copies the files the agent reads into
# a fixture tree STAGE/, then tars it to STAGE.tar. Symlinks are kept as symlinks (same targets);
# sysfs/proc files are read with read() (cat), never tar'd directly (sysfs sizes lie).
# Layout: sys/..., proc/{modules,cmdline,sys/kernel/osrelease}, etc/{modprobe.d,libibverbs.d,rdma},
# lib/modules/<rel>/modules.dep (RDMA lines only), usr/lib/x86_64-linux-gnu/libibverbs/ and
# dev/infiniband/ (names only, empty files).
set -u
STAGE=${1:?usage: capture.sh STAGE_DIR}
rm -rf "$STAGE" "$STAGE.tar"
mkdir -p "$STAGE"
nfiles=0

copy_file() {  # read a (pseudo-)file with read(); skip unreadable ones (write-only, EIO, EINVAL)
    local src=$1 dst=$STAGE$1 tmp
    mkdir -p "$(dirname "$dst")"
    tmp=$(mktemp)
    if timeout 5 cat "$src" > "$tmp" 2>/dev/null; then
        mv "$tmp" "$dst"; nfiles=$((nfiles+1))
    else
        rm -f "$tmp"
    fi
}

copy_link() {
    local src=$1 dst=$STAGE$1
    mkdir -p "$(dirname "$dst")"
    [ -L "$dst" ] || ln -s "$(readlink "$src")" "$dst"
}

copy_tree() {  # walk without following symlinks below the top
    local top=$1 p
    [ -e "$top" ] || return 0
    if [ -L "$top" ]; then
        copy_link "$top"
        top=$(readlink -f "$top")
    fi
    while IFS= read -r -d '' p; do
        if [ -L "$p" ]; then copy_link "$p"
        elif [ -d "$p" ]; then mkdir -p "$STAGE$p"
        elif [ -f "$p" ]; then copy_file "$p"
        fi
    done < <(find "$top" -xdev \( -name power -o -name uevent \) -prune -o -print0 2>/dev/null)
}

copy_class() {  # /sys/class/X/<entry> -> keep the link, capture its target tree
    local cls=$1 e
    [ -d "$cls" ] || return 0
    mkdir -p "$STAGE$cls"
    for e in "$cls"/*; do
        [ -e "$e" ] || continue
        if [ -L "$e" ]; then copy_tree "$e"; else copy_file "$e"; fi
    done
}

# --- sysfs: RDMA classes
copy_class /sys/class/infiniband
copy_class /sys/class/infiniband_verbs
# Devices' "device" links (PCI functions of real HCAs): a few attributes of the target.
for dev in /sys/class/infiniband/*; do
    [ -e "$dev/device" ] || continue
    t=$(readlink -f "$dev/device")
    for a in vendor device subsystem_vendor subsystem_device numa_node class driver; do
        if [ -L "$t/$a" ]; then copy_link "$t/$a"; elif [ -f "$t/$a" ]; then copy_file "$t/$a"; fi
    done
done

# --- netdevs behind the ports (gid_attrs/ndevs, rxe's "parent", a device's net/)
netdevs=$( { cat /sys/class/infiniband/*/ports/*/gid_attrs/ndevs/* 2>/dev/null
             cat /sys/class/infiniband/*/parent 2>/dev/null
             ls /sys/class/infiniband/*/device/net/ 2>/dev/null | grep -v ':$'; } | sort -u | grep -v '^$')
for nd in $netdevs; do
    [ -e "/sys/class/net/$nd" ] || continue
    copy_link "/sys/class/net/$nd"
    t=$(readlink -f "/sys/class/net/$nd")
    for a in address operstate mtu ifindex type carrier speed dev_id dev_port flags addr_len \
             broadcast link_mode duplex; do
        [ -f "$t/$a" ] && copy_file "$t/$a"
    done
    [ -L "$t/device" ] && copy_link "$t/device"
done

# --- modules
for m in ib_core ib_uverbs rdma_rxe mlx4_core mlx4_ib mlx5_core mlx5_ib rdma_ucm rdma_cm siw ib_cm iw_cm; do
    d=/sys/module/$m
    [ -d "$d" ] || continue
    mkdir -p "$STAGE$d"
    for f in version srcversion refcnt initstate; do [ -f "$d/$f" ] && copy_file "$d/$f"; done
    if [ -d "$d/parameters" ]; then
        mkdir -p "$STAGE$d/parameters"
        for f in "$d"/parameters/*; do [ -f "$f" ] && copy_file "$f"; done
    fi
done

# --- rdma_cm configfs: default_roce_mode per device port (mkdir creates the entry; undone after)
if [ -d /sys/module/rdma_cm ]; then
    mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config 2>/dev/null
    if [ -d /sys/kernel/config/rdma_cm ]; then
        for dev in /sys/class/infiniband/*; do
            [ -e "$dev" ] || continue
            n=$(basename "$dev") made=0
            [ -d "/sys/kernel/config/rdma_cm/$n" ] || { mkdir "/sys/kernel/config/rdma_cm/$n" 2>/dev/null && made=1; }
            for f in /sys/kernel/config/rdma_cm/"$n"/ports/*/default_roce_mode \
                     /sys/kernel/config/rdma_cm/"$n"/ports/*/default_roce_tos; do
                [ -f "$f" ] && copy_file "$f"
            done
            [ "$made" = 1 ] && rmdir "/sys/kernel/config/rdma_cm/$n" 2>/dev/null
        done
    fi
fi

# --- proc
for f in /proc/modules /proc/cmdline /proc/sys/kernel/osrelease; do copy_file "$f"; done

# --- etc (regular files and links as they are)
for d in /etc/modprobe.d /etc/libibverbs.d /etc/rdma; do
    [ -d "$d" ] || continue
    mkdir -p "$STAGE$(dirname "$d")"
    cp -a "$d" "$STAGE$d"
done

# --- modules.dep: RDMA lines only
rel=$(uname -r)
if [ -f "/lib/modules/$rel/modules.dep" ]; then
    mkdir -p "$STAGE/lib/modules/$rel"
    grep -E '(drivers/infiniband/|drivers/net/ethernet/mellanox/|/rdma|mlnx|/ib_|rxe|siw)[^:]*:' \
        "/lib/modules/$rel/modules.dep" > "$STAGE/lib/modules/$rel/modules.dep" || true
fi

# --- names only
for d in /usr/lib/x86_64-linux-gnu/libibverbs /dev/infiniband; do
    [ -d "$d" ] || continue
    mkdir -p "$STAGE$d"
    for f in "$d"/*; do [ -e "$f" ] || [ -L "$f" ] || continue; : > "$STAGE$d/$(basename "$f")"; done
done

tar -C "$STAGE" -cf "$STAGE.tar" .
echo "capture: $nfiles files from $(hostname) (kernel $rel), $(find "$STAGE" | wc -l) entries"
