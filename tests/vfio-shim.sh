#!/bin/sh
# The VFIO shim end to end: unmodified VFIO programs (tests/vfio/vfio_rst.c,
# the legacy container flow, and tests/vfio/vfio_cdev.c, the cdev + iommufd
# flow and iommufd's VFIO compat; both written against <linux/vfio.h>) run
# under vtdsim-run with
# libvtdsim-vfio.so preloaded and drives the simulated IOAT through the
# simulated VT-d: container/group/device setup, the errno contract, BAR
# polling through trapped pages, DMA into its own buffers, MSI-X on an
# eventfd, an IOMMU fault on an unmapped IOVA reported in the kernel-log
# format, a forked child, reset.  Skips (77) only where mount namespaces
# are not permitted.
set -u
. "$top_srcdir/tests/vfio-lib.sh"
P="$S/traces/platforms/ioat.platform"

"$R" --preload none --platform "$P" --faults "$tmp/faults.log" -- env LD_PRELOAD="$preload" \
    "$top_builddir/tests/vfio/vfio_rst" 0000:00:04.0 > "$tmp/out" 2>&1
rc=$?
cat "$tmp/out"
check "vfio_rst passes on the simulated IOAT (exit $rc)" test $rc -eq 0
check "every step ran" grep -q "^PASSED: 0 failure" "$tmp/out"
check "vtdsim-run --faults reports the fault of the unmapped copy" \
    grep -q "^pid [0-9]*: DMAR: \[DMA Write\] Request device \[00:04.0\] fault addr 0x200000000 \[fault reason 0x05\]" "$tmp/faults.log"
check "and the read fault after the unmap" \
    grep -q "^pid [0-9]*: DMAR: \[DMA Read\] Request device \[00:04.0\] fault addr 0x0 " "$tmp/faults.log"
cat "$tmp/faults.log"

# The cdev + iommufd flow (vfio.rst 6.6+), then iommufd's VFIO compat with TYPE1v2.
for mode in iommufd compat-type1v2; do
    VTDSIM_VFIO_REPORT="$tmp/faults-$mode.log"; export VTDSIM_VFIO_REPORT
    "$R" --preload none --platform "$P" -- env LD_PRELOAD="$preload" \
        "$top_builddir/tests/vfio/vfio_cdev" 0000:00:04.0 $mode > "$tmp/out-$mode" 2>&1
    rc=$?
    cat "$tmp/out-$mode"
    check "vfio_cdev $mode passes on the simulated IOAT (exit $rc)" test $rc -eq 0
    check "vfio_cdev $mode: every step ran" grep -q "^PASSED: 0 failure" "$tmp/out-$mode"
    check "vfio_cdev $mode: the unmapped copy is a VT-d fault" \
        grep -q "Request device \[00:04.0\] fault addr 0x300000000" "$tmp/faults-$mode.log"
done

# Without vtdsim-run's tree the program cannot find its group: a clear error, not a crash.
LD_PRELOAD="$preload" "$top_builddir/tests/vfio/vfio_rst" 0000:00:04.0 > "$tmp/out2" 2>&1
rc=$?
check "outside vtdsim-run: exit 2 with a message" test $rc -eq 2
check "the message names the sysfs path" grep -q "iommu_group" "$tmp/out2"
exit $fail
