#!/bin/sh
# A real VFIO client: Debian's qemu-system-x86_64 (7.2) assigns the
# simulated IOAT with -device vfio-pci,host=0000:00:04.0, under vtdsim-run
# with libvtdsim-vfio.so preloaded, completes device setup (container,
# group, SET_IOMMU, IOMMU info, MAP_DMA of guest RAM, device/region/IRQ
# info, config space, reset, interrupt setup), shows the device in its own
# PCI tree over QMP and quits cleanly.  Skips (77) only when QEMU is not
# installed or mount namespaces are refused.
set -u
QEMU=$(command -v qemu-system-x86_64 || true)
if [ -z "$QEMU" ]; then
    echo "SKIP: qemu-system-x86_64 not installed (Debian package qemu-system-x86)"
    exit 77
fi
. "$top_srcdir/tests/vfio-lib.sh"

printf '%s\n' '{"execute":"qmp_capabilities"}' '{"execute":"query-pci"}' '{"execute":"quit"}' > "$tmp/qmp.in"
VTDSIM_VFIO_LOG="$tmp/ioctl.log" VTDSIM_VFIO_REPORT="$tmp/faults.log"
export VTDSIM_VFIO_LOG VTDSIM_VFIO_REPORT
"$R" --preload none --platform "$S/traces/platforms/ioat.platform" -- env LD_PRELOAD="$preload" \
    "$QEMU" -M q35 -accel tcg -m 128 -S -display none -nodefaults -qmp stdio \
    -device vfio-pci,host=0000:00:04.0 < "$tmp/qmp.in" > "$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
check "QEMU realizes vfio-pci on the simulated IOAT and quits cleanly (exit $rc)" test $rc -eq 0
check "no QEMU error" sh -c "! grep -q 'qemu-system-x86_64:' '$tmp/out'"
# 8086:2021 = 32902:8225 in query-pci's decimal
check "the assigned device is in the guest's PCI tree" \
    grep -q '"device": 8225, "subsystem-vendor": 0, "vendor": 32902' "$tmp/out"
check "QEMU shut down on the QMP quit" grep -q '"reason": "host-qmp-quit"' "$tmp/out"
sed 's/^[0-9]* fd [0-9]* //' "$tmp/ioctl.log" | sort | uniq -c
check "guest RAM mapped with MAP_DMA" grep -q "IOMMU_MAP_DMA_OR_PCI_HOT_RESET -> 0" "$tmp/ioctl.log"
check "device fd obtained" grep -q "GROUP_GET_DEVICE_FD -> [0-9]" "$tmp/ioctl.log"
check "every region described" test "$(grep -c 'DEVICE_GET_REGION_INFO -> 0' "$tmp/ioctl.log")" -ge 9
check "no VFIO ioctl failed except those QEMU probes on purpose" \
    sh -c "! grep -v 'DEVICE_FEATURE\|IOMMU_DIRTY_PAGES' '$tmp/ioctl.log' | grep -q -- '-> -1'"
check "no DMA fault during setup" test ! -s "$tmp/faults.log"
exit $fail
