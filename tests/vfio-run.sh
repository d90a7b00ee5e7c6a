#!/bin/sh
# vtdsim-run: a program started under it sees the simulated platform's
# sysfs/devfs view (PCI devices, IOMMU groups, VFIO modules, VT-d units,
# /dev/vfio) while the rest of /sys and /dev keeps working, the host is left
# exactly as it was, and errors and exit statuses come back as documented
# (docs/vfio-sysfs.md).  Skips (77) only where mount namespaces are not
# permitted at all.
set -u
R="$top_builddir/vtdsim-run"
S="$top_srcdir"
P="$S/traces/platforms/sriov-nic.platform"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fail=1; fi
}

# Temporary trees go to a directory of our own, so we can see they are removed.
mkdir "$tmp/t"
TMPDIR="$tmp/t"; export TMPDIR

"$R" --preload none -- true > "$tmp/probe.out" 2>&1
rc=$?
if [ $rc -ne 0 ] && grep -q "namespace\|mount" "$tmp/probe.out"; then
    echo "SKIP: mount namespaces not permitted here: $(cat "$tmp/probe.out")"
    exit 77
fi
check "a program runs under vtdsim-run (q35)" test $rc -eq 0

host_state() {
    { test -e /dev/vfio && echo "dev/vfio exists"
      test -e /dev/iommu && echo "dev/iommu exists"
      test -e /sys/module/vfio && echo "module/vfio exists"
      ls /sys/kernel/iommu_groups 2>/dev/null | sed 's/^/group /'
      ls /sys/bus/pci/devices 2>/dev/null | sed 's/^/pci /'
      ls /dev | sed 's/^/dev /'
      sed 's/ .*//' /proc/self/mounts | sort | uniq -c; } 2>&1
}
host_state > "$tmp/host.before"

"$R" --preload none --platform "$P" -- sh -c '
    d=/sys/bus/pci/devices/0000:03:00.0
    echo "link $(readlink $d/iommu_group)"
    echo "group $(basename "$(realpath $d/iommu_group)")"
    echo "ids $(cat $d/vendor $d/device $d/class | tr "\n" " ")"
    echo "driver $(basename "$(readlink $d/driver)")"
    echo "groups $(ls /sys/kernel/iommu_groups | tr "\n" " ")"
    ls -l /dev/vfio /dev/vfio/devices | sed -n "s/^\([cd-]\)[^ ]* .* \([^ ]*\)$/vfio \1 \2/p"
    stat -c "node %F %t:%T" /dev/vfio/5
    echo "limit $(cat /sys/module/vfio_iommu_type1/parameters/dma_entry_limit)"
    echo "noiommu $(cat /sys/module/vfio/parameters/enable_unsafe_noiommu_mode)"
    test -d /sys/module/vfio_pci && echo "vfio_pci module"
    echo "cap $(cat $d/iommu/intel-iommu/cap)"
    echo "numvfs $(cat $d/sriov_numvfs) of $(cat $d/sriov_totalvfs)"
    echo "cdev $(cat $d/vfio-dev/vfio1/dev)"
    echo hello > /dev/null && echo "dev/null works"
    test -c /dev/ptmx && test -d /dev/pts && echo "dev/pts present"
    echo x > /dev/shm/vtdsim-run-test.$$ && rm /dev/shm/vtdsim-run-test.$$ && echo "dev/shm works"
    test -e /sys/kernel/mm && echo "rest of sys/kernel present"
    grep -q "^VER " /sys/kernel/debug/iommu/intel/iommu_regset && echo "debugfs regset"
    test -e /sys/module/kernel && echo "rest of sys/module present"
    test "$VTDSIM_PLATFORM" = "'"$(cd "$(dirname "$P")" && pwd)/$(basename "$P")"'" && echo "platform env"
    test -d "$VTDSIM_SYSFS_ROOT/sys/bus/pci/devices/0000:03:00.0" && echo "root env"
    test -z "${LD_PRELOAD-}" && echo "no preload"
' > "$tmp/in.out" 2> "$tmp/in.err"
rc=$?
check "the inside script exits 0" test $rc -eq 0
[ -s "$tmp/in.err" ] && { echo "stderr inside:"; cat "$tmp/in.err"; }
has() { grep -qx "$1" "$tmp/in.out" || { echo "  missing line: $1"; return 1; }; }
check "iommu_group is a relative link into /sys/kernel/iommu_groups" has "link ../../../../../../kernel/iommu_groups/5"
check "basename of the group's realpath is the group number" has "group 5"
check "vendor, device and class of the NIC" has "ids 0x8086 0x1572 0x020000 "
check "the NIC is bound to vfio-pci" has "driver vfio-pci"
check "/sys/kernel/iommu_groups lists the platform's groups" has "groups 0 1 2 3 4 5 6 "
check "/dev/vfio has the container node" has "vfio c vfio"
check "/dev/vfio has the groups of endpoints" has "vfio c 5"
check "/dev/vfio/devices has the cdevs" has "vfio c vfio1"
if [ "$(id -u)" = 0 ]; then
    check "group nodes are 1:3 character devices" has "node character special file 1:3"
else
    check "group nodes are empty files without CAP_MKNOD" has "node regular empty file 0:0"
fi
check "dma_entry_limit" has "limit 65535"
check "noiommu mode is off" has "noiommu N"
check "vfio_pci module directory" has "vfio_pci module"
check "intel-iommu/cap of the NIC's unit (xeon preset)" has "cap d2078c106f0466"
check "SR-IOV files" has "numvfs 0 of 8"
check "vfio-dev/vfioK/dev matches the node numbers" has "cdev 1:3"
check "/dev/null still works inside" has "dev/null works"
check "/dev/pts still there inside" has "dev/pts present"
check "/dev/shm still works inside" has "dev/shm works"
check "the rest of /sys/kernel is still there" has "rest of sys/kernel present"
check "intel-iommu debugfs files" has "debugfs regset"
check "the rest of /sys/module is still there" has "rest of sys/module present"
check "VTDSIM_PLATFORM is the absolute platform path" has "platform env"
check "VTDSIM_SYSFS_ROOT is the tree" has "root env"
check "--preload none preloads nothing" has "no preload"

host_state > "$tmp/host.after"
check "the host's /sys, /dev and mount table are unchanged" diff -u "$tmp/host.before" "$tmp/host.after"
check "the temporary tree is removed" test -z "$(ls -A "$tmp/t")"

# exit statuses
"$R" --preload none -- sh -c 'exit 7' > /dev/null 2>&1
check "the program's exit status is returned" test $? -eq 7
"$R" --preload none -- sh -c 'kill -9 $$' > /dev/null 2>&1
check "a killed program gives 128+signal" test $? -eq 137

# errors: one line on stderr, exit 2
"$R" --preload none --platform "$S/tests/platforms/bad-line.platform" -- true > "$tmp/bad.out" 2>&1
rc=$?
check "a bad platform file exits 2" test $rc -eq 2
check "the error names file and line" grep -q "bad-line.platform:4: " "$tmp/bad.out"
check "the error is one line" test "$(wc -l < "$tmp/bad.out")" -eq 1
"$R" --preload none -- /nonexistent/program > "$tmp/np.out" 2>&1
rc=$?
check "a missing program exits 2" test $rc -eq 2
check "the error names the program" grep -q "^vtdsim-run: /nonexistent/program: program not found" "$tmp/np.out"
"$R" --preload none -- no-such-program-vtdsim > /dev/null 2>&1
check "a program missing from PATH exits 2" test $? -eq 2
"$R" --preload "$tmp/nope.so" -- true > "$tmp/pl.out" 2>&1
rc=$?
check "a missing preload library exits 2" test $rc -eq 2
check "the error suggests --preload none" grep -q "preload none" "$tmp/pl.out"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1; then
    # root without CAP_SYS_ADMIN: unshare is refused
    setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin "$R" --preload none -- true > "$tmp/ns.out" 2>&1
    rc=$?
    check "no permission for a mount namespace exits 2" test $rc -eq 2
    check "and says so in one line" grep -q "^vtdsim-run: cannot create a mount namespace" "$tmp/ns.out"
fi
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null 2>&1 && id nobody > /dev/null 2>&1; then
    # not root: a user namespace is used too (where the kernel allows it)
    chmod 755 "$tmp"; chmod 1777 "$tmp/t"
    setpriv --reuid=nobody --regid="$(id -g nobody)" --clear-groups "$R" --preload none -- \
        readlink /sys/bus/pci/devices/0000:00:01.0/driver > "$tmp/user.out" 2>&1
    rc=$?
    if [ $rc -eq 2 ] && grep -q "user+mount namespace" "$tmp/user.out"; then
        echo "SKIP: unprivileged user namespaces are disabled here"
    else
        check "an unprivileged user gets the tree through a user namespace" \
            grep -qx "../../../bus/pci/drivers/vfio-pci" "$tmp/user.out"
    fi
fi
"$R" --bogus -- true > /dev/null 2>&1
check "an unknown option exits 2" test $? -eq 2
"$R" --help > "$tmp/help.out" 2>&1
check "--help exits 0" test $? -eq 0
check "--help is a man page" grep -q "^SYNOPSIS" "$tmp/help.out"

# --tree keeps the tree; the preload default comes from VTDSIM_VFIO_PRELOAD
# (an empty file stands in for the shim: ld.so complains on stderr and goes on)
: > "$tmp/fake-shim.so"
LD_PRELOAD= VTDSIM_VFIO_PRELOAD="$tmp/fake-shim.so" "$R" --tree "$tmp/keep" -- sh -c 'echo "$LD_PRELOAD"' \
    > "$tmp/pre.out" 2> /dev/null
check "VTDSIM_VFIO_PRELOAD is preloaded by default" grep -qx "$tmp/fake-shim.so" "$tmp/pre.out"
check "--tree keeps the tree" test -L "$tmp/keep/sys/bus/pci/devices/0000:00:01.0"
check "--tree leaves no staging directories" test ! -e "$tmp/keep/.vtdsim-run-stage"

exit $fail
