#!/bin/sh
# Command-line tests of `vtdsim walk` and `vtdsim dump`: usage errors are one
# clear line and exit 2; every command of the tutorial (docs/tutorial)
# prints exactly its golden output (tests/golden/explain-lesson*), and the
# committed DOT pictures are what `walk --format dot` draws; --format svg
# runs Graphviz when it is installed and fails clearly when it is not.
# VTDSIM_UPDATE_GOLDEN=1 rewrites the golden files and pictures.
set -u
V="$top_builddir/vtdsim"
case $V in /*) ;; *) V="$(pwd)/$V" ;; esac
S="$top_srcdir"
T="$S/docs/tutorial"
G="$S/tests/golden"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    cname=$1; shift
    if "$@"; then echo "PASS: $cname"; else echo "FAIL: $cname"; fail=1; fi
}

# usage errors: exit status 2 and exactly one line on stderr
err2() { # name, args...
    ename=$1; shift
    "$V" "$@" > "$tmp/out" 2> "$tmp/err"
    rc=$?
    check "$ename exits 2" test "$rc" -eq 2
    check "$ename prints one line" test "$(wc -l < "$tmp/err")" -eq 1
    check "$ename prints nothing on stdout" test ! -s "$tmp/out"
}
err2 "walk with a bad --rid" walk --rid zz:zz.z --addr 0x1000
check "the bad --rid is named" grep -q "^vtdsim walk: --rid 'zz:zz.z' is neither BB:DD.F nor a device of the platform$" "$tmp/err"
err2 "walk without --addr" walk --rid 00:01.0
check "the missing --addr is named" grep -q "^vtdsim walk: --addr ADDR is required" "$tmp/err"
err2 "walk without --rid" walk --addr 0x1000
err2 "walk with a bad --addr" walk --rid edu --addr 12q
err2 "walk with a bad --format" walk --rid edu --addr 0 --format png
err2 "walk with --priv without --pasid" walk --rid edu --addr 0 --priv
err2 "walk with a bad --data" walk --rid edu --addr 0 --data 0x100000000
err2 "walk with a missing script" walk --rid edu --addr 0 --script "$tmp/none.qtest"
printf 'writel 0xfed90018 0x40000000\nfrob 1\n' > "$tmp/bad.qtest"
err2 "walk with a failing script" walk --rid edu --addr 0 --script "$tmp/bad.qtest"
check "the failing script line is named" grep -q "bad.qtest:2: 'frob 1' answered" "$tmp/err"
err2 "dump of an unknown file" dump nonsense
err2 "dump with an unknown option" dump --frob

# the tutorial: every command and its golden output
lesson() { # golden-name, args...
    g=$1; shift
    "$V" "$@" > "$tmp/$g" 2> "$tmp/$g.err"
    rc=$?
    check "lesson $g runs" test "$rc" -eq 0 -a ! -s "$tmp/$g.err"
    if [ -n "${VTDSIM_UPDATE_GOLDEN:-}" ]; then cp "$tmp/$g" "$G/$g"; fi
    check "lesson $g matches its golden output" diff -u "$G/$g" "$tmp/$g"
}
picture() { # dot-file, args...
    f=$1; shift
    "$V" "$@" --format dot > "$tmp/pic.dot"
    if [ -n "${VTDSIM_UPDATE_GOLDEN:-}" ]; then cp "$tmp/pic.dot" "$T/$f"; fi
    check "picture $f is current" diff -u "$T/$f" "$tmp/pic.dot"
}
L1="--platform $T/01-legacy/machine.platform --script $T/01-legacy/setup.qtest"
lesson explain-lesson01-read.txt walk $L1 --rid edu --addr 0x1008
lesson explain-lesson01-write-fault.txt walk $L1 --rid edu --write --addr 0x1008
lesson explain-lesson01-not-present.txt walk $L1 --rid 00:01.0 --addr 0x5000
lesson dump-lesson01-dmar_translation_struct.txt dump $L1 dmar_translation_struct
lesson dump-lesson01-domain_translation_struct.txt dump $L1 0000:00:01.0/domain_translation_struct
picture 01-legacy/walk.dot walk $L1 --rid edu --addr 0x1008
L2="--platform $T/02-scalable/machine.platform --script $T/02-scalable/setup.qtest"
lesson explain-lesson02-read.txt walk $L2 --rid edu --addr 0x201234
lesson explain-lesson02-pasid-fault.txt walk $L2 --rid edu --pasid 1 --addr 0x1000
lesson dump-lesson02-dmar_translation_struct.txt dump $L2 dmar_translation_struct
picture 02-scalable/walk.dot walk $L2 --rid edu --addr 0x201234
L3="--platform $T/03-first-stage-and-nested/machine.platform --script $T/03-first-stage-and-nested/setup.qtest"
lesson explain-lesson03-first-stage.txt walk $L3 --rid edu --pasid 1 --addr 0x700000001010
lesson explain-lesson03-read-only.txt walk $L3 --rid edu --pasid 1 --write --addr 0x700000002000
lesson explain-lesson03-supervisor.txt walk $L3 --rid edu --pasid 1 --priv --addr 0x700000001000
lesson explain-lesson03-nested.txt walk $L3 --rid edu --pasid 2 --addr 0x700000001010
lesson explain-lesson03-nested.json walk $L3 --rid edu --pasid 2 --addr 0x700000001010 --format json
lesson dump-lesson03-dmar_translation_struct.txt dump $L3 dmar_translation_struct
lesson dump-lesson03-pasid2-domain_translation_struct.txt dump $L3 0000:00:01.0/2/domain_translation_struct
picture 03-first-stage-and-nested/nested.dot walk $L3 --rid edu --pasid 2 --addr 0x700000001010
L4="--platform $T/04-interrupt-remapping/machine.platform --script $T/04-interrupt-remapping/setup.qtest"
lesson dump-lesson04-ir_translation_struct.txt dump $L4 ir_translation_struct
lesson explain-lesson04-msi.txt walk $L4 --rid edu --write --addr 0xfee00010
lesson explain-lesson04-posted.txt walk $L4 --rid edu --write --addr 0xfee00018 --data 2
L5="--platform $T/05-stale-iotlb/machine.platform --script $T/05-stale-iotlb/setup.qtest"
lesson explain-lesson05-stale.txt walk $L5 --rid edu --addr 0x0
lesson explain-lesson05-flushed.txt walk $L5 --script $T/05-stale-iotlb/flush.qtest --rid edu --addr 0x0
picture 05-stale-iotlb/stale.dot walk $L5 --rid edu --addr 0x0

if command -v python3 > /dev/null 2>&1; then
    check "walk --format json is valid JSON" python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$tmp/explain-lesson03-nested.json"
fi

# dump: one file prints exactly that file; several get ==> NAME <== headers
"$V" dump $L1 > "$tmp/all" 2>&1
check "dump of every file has a header per file" test "$(grep -c '^==> ' "$tmp/all")" -eq 5
"$V" dump $L1 --list > "$tmp/list" 2>&1
check "dump --list names the device file" grep -qx "0000:00:01.0/domain_translation_struct" "$tmp/list"

# SVG: through Graphviz when installed; a clear error without it
"$V" walk $L1 --rid edu --addr 0x1008 --format svg > "$tmp/w.svg" 2> "$tmp/svg.err"
rc=$?
if command -v dot > /dev/null 2>&1; then
    check "walk --format svg renders with Graphviz" sh -c "test $rc -eq 0 && grep -q '<svg' '$tmp/w.svg'"
fi
PATH=/nonexistent "$V" walk $L1 --rid edu --addr 0x1008 --format svg > "$tmp/w2.svg" 2> "$tmp/svg2.err"
rc=$?
check "walk --format svg without dot exits 2" test "$rc" -eq 2
check "walk --format svg without dot says so" grep -q "needs Graphviz 'dot'" "$tmp/svg2.err"
exit $fail
