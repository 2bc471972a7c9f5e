#!/usr/bin/env bash
# make demo: mount the embedded default topology, drive it with ordinary tools
# from separate processes, say what happened, unmount.
set -euo pipefail
cd "$(dirname "$0")/.."

P2PEMU="node bin/p2pemu.js"
MNT=$(mktemp -d /tmp/p2pemu-demo.XXXXXX)
STATE=$(mktemp -d /tmp/p2pemu-demo-state.XXXXXX)
SYSFS="$MNT/sys/bus/pci"
LSPCI="lspci -A linux-sysfs -O sysfs.path=$SYSFS"

cleanup() {
  $P2PEMU unmount "$MNT" >/dev/null 2>&1 || true
  rmdir "$MNT" 2>/dev/null || true
  rm -rf "$STATE"
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@" 2> >(grep -v 'libkmod' >&2); }

step "The topology (p2pemu topo)"
$P2PEMU topo

step "Mount it"
$P2PEMU mount "$MNT" --state "$STATE"

step "lspci reads the emulated sysfs like a real one"
run $LSPCI -tv
step "ACS control bits of the downstream port in front of p2pmem0 (lspci -vvv)"
$LSPCI -vvv -s 02:02.0 2> /dev/null | grep -E '^0|ACSCtl'
step "Attributes, byte for byte as the kernel prints them"
D="$SYSFS/devices/0000:03:00.0"
for f in vendor device class numa_node local_cpulist current_link_speed; do
  printf '%-40s %s\n' "cat 0000:03:00.0/$f" "$(cat "$D/$f")"
done
printf '%s -> %s\n' "0000:03:00.0/driver" "$(readlink "$D/driver")"
run head -3 "$D/resource"
run hexdump -C -n 64 "$D/config"

step "BAR memory is real shared memory: dd writes BAR2 of nvme0, python reads it through mmap"
printf 'hello from dd' | dd of="$D/resource2" bs=4096 conv=notrunc status=none
python3 - "$D/resource2" <<'PY'
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
m = mmap.mmap(fd, 4096, mmap.MAP_SHARED)
print("python mmap of resource2 reads:", bytes(m[:13]).decode())
PY

step "P2P memory: every device that registered some has p2pmem/ (here the CMB of nvme1)"
G="$SYSFS/devices/0000:04:00.0/p2pmem"
printf 'size %s  available %s (I/O submission queues sit in the CMB)  published %s\n' "$(cat "$G/size")" "$(cat "$G/available")" "$(cat "$G/published")"
$P2PEMU topo --matrix | head -7

step "O_DIRECT copy nvme0n1 -> CMB of nvme1 -> nvme1n1 (switch-local: allowed), in C and in Python"
gcc -O2 -o "$STATE/p2p-copy" scripts/examples/p2p-copy.c
head -c 8M /dev/urandom | dd of="$MNT/dev/nvme0n1" bs=1M oflag=direct status=none
"$STATE/p2p-copy" "$MNT/dev/nvme0n1" "$MNT/dev/nvme1n1" "$G/allocate" 8
python3 scripts/examples/p2p_copy.py "$MNT/dev/nvme0n1" "$MNT/dev/nvme1n1" "$G/allocate" 4

step "The same copy to nvme2n1 (other root port, host bridge not whitelisted): the kernel refuses"
"$STATE/p2p-copy" "$MNT/dev/nvme0n1" "$MNT/dev/nvme2n1" "$G/allocate" 8 || echo "  (exit $?: EREMOTEIO, as a real kernel returns)"
$P2PEMU explain nvme2 nvme1 | sed -n '/^result/,$p'

step "Transfers per (client, provider, path) (p2pemu status)"
$P2PEMU status | grep -v '^  log'

step "Compound pages: the review's 4 MiB CMB example under each folio policy (p2pemu scenario compound-review)"
$P2PEMU scenario compound-review | grep -E '^(4 MiB CMB|base|device-align|best-effort|  [0-9]+ refused|the reviewers|and still)'

step "HMM: a NIC faulting an accelerator's device-private pages, migration vs the proposed P2P alias (p2pemu hmm compare)"
$P2PEMU hmm compare --pages 256 | grep -E '^(mainline|hmm-allow|  bytes|  time)'

step "Bad writes get the kernel's errno"
( echo 7 > "$SYSFS/devices/0000:81:00.0/numa_node" ) 2>&1 | sed 's/^/  /' || true
( echo 1 > "$SYSFS/devices/0000:81:00.0/vendor" ) 2>&1 | sed 's/^/  /' || true

step "The emulated kernel log (p2pemu dmesg)"
$P2PEMU dmesg "$MNT" | head -12
echo "  … $($P2PEMU dmesg "$MNT" | wc -l) lines in all"

step "Unmount"
$P2PEMU unmount "$MNT"
if grep -q " $MNT " /proc/mounts; then echo "still mounted!"; exit 1; fi
echo
echo "demo done: mounted the default topology at $MNT; lspci, cat, hexdump, dd, python and a C program used it; unmounted."
