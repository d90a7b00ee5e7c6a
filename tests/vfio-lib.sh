# Shared by the VFIO end-to-end scripts (vfio-shim.sh, vfio-qemu.sh,
# vfio-dpdk.sh): sourced after they set nothing; defines R (vtdsim-run),
# S (source tree), LIB (the built shim), tmp (removed on exit), fail and
# check(), skips (77) when mount namespaces are refused, and sets
# $preload - the shim, preceded by the ASan runtime in a sanitizer build
# (the runtime must come first in the preload list).
R="$top_builddir/vtdsim-run"
S="$top_srcdir"
LIB="$top_builddir/.libs/libvtdsim-vfio.so"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fail=1; fi
}
"$R" --preload none -- true > "$tmp/probe.out" 2>&1
if [ $? -ne 0 ] && grep -q "namespace\|mount" "$tmp/probe.out"; then
    echo "SKIP: mount namespaces not permitted here: $(cat "$tmp/probe.out")"
    exit 77
fi
preload="$LIB"
if [ "${VTDSIM_SANITIZERS:-no}" = yes ]; then
    preload="$(${CC:-cc} -print-file-name=libasan.so):$LIB"
    ASAN_OPTIONS=detect_leaks=0; export ASAN_OPTIONS
fi
