#!/bin/sh
# Load test (issue 10 item 5), opt-in, never part of make check: `make bench-load`
# or, from a build directory,
#
#   top_srcdir=SRC top_builddir=. SRC/tests/bench/vfio-load.sh [-n N] [-m M] [-l REQUESTS]
#
# 1. N VFIO programs (tests/vfio/vfio_rst under vtdsim-run, each with its own
#    preloaded shim) and M trace replays, all started at once against one
#    platform file (traces/platforms/ioat.platform): half the replays run a
#    generated IOAT DMA trace on that platform, the other half the bundled
#    NIC, NVMe and scalable-PASID workloads.  Every one must exit 0.
# 2. One replay of REQUESTS IOTLB-hitting DMA reads by the IOAT, from a
#    binary trace (generated as text, converted with `vtdsim trace convert`).
# Prints wall time and peak resident set (GNU time -v) of each phase.
# Defaults: -n 8 -m 8 -l 20000000.  Needs /usr/bin/time (Debian package
# `time`) and mount namespaces (as tests/vfio-shim.sh).
set -u
N=8
M=8
L=20000000
while getopts n:m:l: o; do
    case $o in
    n) N=$OPTARG ;;
    m) M=$OPTARG ;;
    l) L=$OPTARG ;;
    *) echo "usage: $0 [-n VFIO-PROGRAMS] [-m REPLAYS] [-l LONG-REPLAY-REQUESTS]" >&2; exit 2 ;;
    esac
done
S=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
B=${top_builddir:-.}
B=$(cd "$B" && pwd)
S=$(cd "$S" && pwd)
T=/usr/bin/time
if [ ! -x $T ]; then
    echo "vfio-load: $T is missing (apt-get install time)" >&2
    exit 2
fi
P="$S/traces/platforms/ioat.platform"
LIB="$B/.libs/libvtdsim-vfio.so"
for f in "$B/vtdsim" "$B/vtdsim-run" "$B/tests/vfio/vfio_rst" "$LIB"; do
    if [ ! -x "$f" ] && [ ! -f "$f" ]; then
        echo "vfio-load: $f is not built (make && make check TESTS=)" >&2
        exit 2
    fi
done
tmp=$(mktemp -d "${TMPDIR:-/tmp}/vtdsim-load-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# KiB -> MiB with one decimal
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
field() { # file, label of a `time -v` line
    sed -n "s/^[[:space:]]*$2: //p" "$1"
}

# A trace of $2 IOTLB-hitting 64-byte reads by the IOAT of ioat.platform, text, into $1.
gen_trace() {
    {
        echo "vtdsim-trace 1"
        echo "platform $P"
        echo "iommu dmar0 mode=legacy pool=0x1000000+4M"
        echo "domain d dmar0 type=ss"
        echo "attach d ioat"
        echo "map d 0x0 0x200000 64K perm=rw"
        echo "enable dmar0"
        awk -v n="$2" 'BEGIN { for (i = 0; i < n; i++) printf "dma read ioat 0x%x 64\n", (i * 64) % 65536 }'
        echo "expect no-fault"
    } > "$1"
}

# ---- 1. concurrent VFIO programs and replays --------------------------------------------

fail=0

"$B/vtdsim-run" --preload none -- true > "$tmp/probe" 2>&1
if [ $? -ne 0 ] && grep -q "namespace\|mount" "$tmp/probe"; then
    echo "vfio-load: mount namespaces not permitted here: $(cat "$tmp/probe")" >&2
    exit 77
fi
if [ $((N + M)) -gt 0 ]; then
gen_trace "$tmp/ioat.trace" 200000
bundled="nic-rx-strict nic-rx-persistent nvme-queue scalable-pasid"

echo "vfio-load: $N VFIO programs + $M replays against $(basename "$P") at once ($(nproc) cores)"
t0=$(date +%s.%N)
i=0
while [ $i -lt "$N" ]; do
    $T -v -o "$tmp/vfio$i.time" "$B/vtdsim-run" --preload none --platform "$P" -- \
        env LD_PRELOAD="$LIB" "$B/tests/vfio/vfio_rst" 0000:00:04.0 > "$tmp/vfio$i.out" 2>&1 &
    i=$((i + 1))
done
i=0
set -- $bundled
while [ $i -lt "$M" ]; do
    if [ $((i % 2)) -eq 0 ]; then
        tr="$tmp/ioat.trace"
    else
        k=$(((i / 2) % 4 + 1))
        eval "tr=\$S/traces/\${$k}.trace"
    fi
    $T -v -o "$tmp/replay$i.time" "$B/vtdsim" replay --quiet "$tr" > "$tmp/replay$i.out" 2>&1 &
    i=$((i + 1))
done
wait
t1=$(date +%s.%N)

peak=0
total=0
for f in "$tmp"/vfio*.time "$tmp"/replay*.time; do
    [ -f "$f" ] || continue
    st=$(field "$f" "Exit status")
    rss=$(field "$f" "Maximum resident set size (kbytes)")
    out=${f%.time}.out
    if [ "$st" != 0 ]; then
        echo "FAIL: $(basename "${f%.time}") exit $st"
        tail -5 "$out"
        fail=1
    fi
    case $f in
    */vfio*) grep -q "^PASSED: 0 failure" "$out" || { echo "FAIL: $(basename "$out"): not every step passed"; fail=1; } ;;
    esac
    total=$((total + rss))
    [ "$rss" -gt "$peak" ] && peak=$rss
done
vmax=0
for f in "$tmp"/vfio*.time; do
    [ -f "$f" ] || continue
    r=$(field "$f" "Maximum resident set size (kbytes)")
    [ "$r" -gt "$vmax" ] && vmax=$r
done
rmax=0
for f in "$tmp"/replay*.time; do
    [ -f "$f" ] || continue
    r=$(field "$f" "Maximum resident set size (kbytes)")
    [ "$r" -gt "$rmax" ] && rmax=$r
done
printf 'concurrent: %s s wall, peak RSS per process %s MiB (VFIO program + shim %s MiB, replay %s MiB), sum of peaks %s MiB, %s\n' \
    "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" "$(mib $peak)" "$(mib $vmax)" "$(mib $rmax)" \
    "$(mib $total)" "$([ $fail = 0 ] && echo "all $((N + M)) exit 0" || echo FAILURES)"
fi

# ---- 2. one long replay -----------------------------------------------------------------

if [ "$L" -gt 0 ]; then
    t0=$(date +%s.%N)
    gen_trace "$tmp/long.trace" "$L"
    "$B/vtdsim" trace convert "$tmp/long.trace" "$tmp/long.bin" || exit 1
    t1=$(date +%s.%N)
    size=$(wc -c < "$tmp/long.bin")
    rm -f "$tmp/long.trace"
    $T -v -o "$tmp/long.time" "$B/vtdsim" replay --quiet "$tmp/long.bin" > "$tmp/long.out" 2>&1
    st=$(field "$tmp/long.time" "Exit status")
    rss=$(field "$tmp/long.time" "Maximum resident set size (kbytes)")
    wall=$(field "$tmp/long.time" "Elapsed (wall clock) time (h:mm:ss or m:ss)")
    user=$(field "$tmp/long.time" "User time (seconds)")
    sys=$(field "$tmp/long.time" "System time (seconds)")
    if [ "$st" != 0 ]; then
        echo "FAIL: long replay exit $st"
        tail -5 "$tmp/long.out"
        fail=1
    fi
    printf 'long replay: %s requests, %s MB binary trace (generated+converted in %s s): %s wall, %s s user, %s s system, %s MiB peak RSS, exit %s\n' \
        "$L" "$(awk -v b="$size" 'BEGIN { printf "%.0f", b / 1e6 }')" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" "$wall" "$user" "$sys" "$(mib "$rss")" "$st"
fi
exit $fail
