#!/bin/sh
# Command-line tests of `vtdsim bench`: the experiment list, the parameter
# echo and its keyfile errors naming the key (exit 2), an experiment that
# meets its criteria (exit 0), one that misses some (exit 1), and the SVG.
set -u
V="$top_builddir/vtdsim"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fail=1; fi
}

"$V" bench --list > "$tmp/list.out" 2>&1
printf 'window-sweep\nmiss-penalty\nmiss-ceiling\nhugepage\ntlp-sawtooth\nstrict-vs-lazy\n' > "$tmp/list.want"
check "bench --list names the six experiments" diff -u "$tmp/list.want" "$tmp/list.out"

printf '[timing]\nprofile = modern\nwalk.slots = 8\n' > "$tmp/ok.ini"
"$V" bench --params --config "$tmp/ok.ini" > "$tmp/params.out" 2>&1
check "bench --params echoes the profile" grep -qx "timing profile modern" "$tmp/params.out"
check "bench --params applies the override" grep -qx "  walk.slots             = 8 walkers" "$tmp/params.out"

printf '[timing]\nwalk.slotz = 8\n' > "$tmp/bad.ini"
"$V" bench --params --config "$tmp/bad.ini" > "$tmp/bad.out" 2>&1
rc=$?
check "a bad timing key exits 2" test "$rc" -eq 2
check "the error names the key" grep -q "bad.ini: \[timing\] walk.slotz: unknown timing parameter" "$tmp/bad.out"

"$V" bench --experiment frobnicate > "$tmp/unk.out" 2>&1
rc=$?
check "an unknown experiment exits 2" test "$rc" -eq 2

"$V" bench --experiment miss-penalty --requests 20000 --svg "$tmp/mp.svg" > "$tmp/mp.out" 2>&1
rc=$?
check "miss-penalty meets its criteria (exit 0)" test "$rc" -eq 0
check "the report starts with the parameters" sh -c "head -1 '$tmp/mp.out' | grep -qx 'timing profile xeon-e5'"
check "the report shows simulated vs published" grep -q "^64MB  *| *[0-9.]* *880.00 " "$tmp/mp.out"
check "the SVG was written" grep -q "<svg xmlns" "$tmp/mp.svg"

"$V" bench --experiment miss-ceiling --requests 5000 --profile ideal > "$tmp/ideal.out" 2>&1
rc=$?
check "the ideal profile misses the calibration (exit 1)" test "$rc" -eq 1

for t in miss-penalty-4k miss-penalty-64m hugepage-64m; do
    check "bundled experiment trace $t replays with its expectations" \
        sh -c "'$V' replay --quiet --no-progress '$top_srcdir/traces/experiments/$t.trace' > '$tmp/$t.out' 2>&1"
done
exit $fail
