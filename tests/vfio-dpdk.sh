#!/bin/sh
# A real VFIO client: DPDK 22.11 (Debian's libdpdk) with its own ioat
# dmadev poll-mode driver copies data through the simulated IOAT, in
# IOVA-as-VA mode behind the simulated VT-d (tests/vfio/dpdk_ioat.c, run
# under vtdsim-run with libvtdsim-vfio.so): first on the IOAT PF at
# 00:04.0, then on a VF of the SR-IOV copy engine created by writing
# sriov_numvfs from a shell in the same vtdsim-run session.  Skips (77)
# only when DPDK is not installed (Debian packages libdpdk-dev and dpdk)
# or mount namespaces are refused.
set -u
PROG="$top_builddir/tests/vfio/dpdk_ioat"
if [ ! -x "$PROG" ]; then
    echo "SKIP: DPDK not found at configure time (Debian packages libdpdk-dev and dpdk)"
    exit 77
fi
. "$top_srcdir/tests/vfio-lib.sh"
P="$S/traces/platforms/ioat.platform"
VTDSIM_VFIO_REPORT="$tmp/faults.log"; export VTDSIM_VFIO_REPORT

"$R" --preload none --platform "$P" -- env LD_PRELOAD="$preload" "$PROG" 0000:00:04.0 256 > "$tmp/pf.out" 2>&1
rc=$?
cat "$tmp/pf.out"
check "DPDK ioat PMD on the IOAT PF: 256 copies (exit $rc)" test $rc -eq 0
check "EAL chose IOVA as VA" grep -q "^ok   EAL runs with IOVA as VA" "$tmp/pf.out"
check "the PMD probed the simulated device" grep -q "ioat_dmadev_probe(): Init 0000:00:04.0" "$tmp/pf.out"
check "no DMA fault" test ! -s "$tmp/faults.log"

cat > "$tmp/vf.sh" <<EOS
d=/sys/bus/pci/devices/0000:01:00.0
echo 1 > \$d/sriov_numvfs || exit 3
vf=\$(basename "\$(readlink \$d/virtfn0)")
echo "vf \$vf driver \$(basename "\$(readlink /sys/bus/pci/devices/\$vf/driver)")"
LD_PRELOAD="$preload" "$PROG" "\$vf" 64
EOS
"$R" --preload none --platform "$P" -- env LD_PRELOAD="$preload" sh "$tmp/vf.sh" > "$tmp/vf.out" 2>&1
rc=$?
cat "$tmp/vf.out"
check "DPDK ioat PMD on a VF created through sriov_numvfs (exit $rc)" test $rc -eq 0
check "the VF is bound to vfio-pci" grep -q "^vf 0000:..:..\.. driver vfio-pci" "$tmp/vf.out"
exit $fail
