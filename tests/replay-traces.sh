#!/bin/sh
# make check: every bundled trace is a self-checking regression test.
# Also checks that a failing expectation makes replay exit 1, that a broken
# trace exits 2 naming its line, and that a trace converted to binary
# replays with the same summary.
set -u
V="$top_builddir/vtdsim"
T="$top_srcdir/traces"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for t in "$T"/*.trace "$T"/corner-cases/*.trace "$T"/tests/*.trace; do
    if "$V" replay --quiet --no-progress "$t" > "$tmp/out" 2>&1; then
        echo "PASS: replay $t"
    else
        echo "FAIL: replay $t"; cat "$tmp/out"; fail=1
    fi
done
# binary form: same summary as the text trace (apart from the file name line)
"$V" trace convert "$T/nic-rx-strict.trace" "$tmp/nic.bin" || fail=1
"$V" replay --no-progress "$T/nic-rx-strict.trace" 2>&1 | grep -v '^trace:' > "$tmp/text.sum"
cp -r "$T/platforms" "$tmp/platforms"
"$V" replay --no-progress "$tmp/nic.bin" 2>&1 | grep -v '^trace:' > "$tmp/bin.sum"
if diff -u "$tmp/text.sum" "$tmp/bin.sum"; then echo "PASS: binary replay"; else echo "FAIL: binary replay"; fail=1; fi
# a failing expectation: exit 1 and a diff naming the line
printf 'vtdsim-trace 1\nreadl 0xfed90000\nexpect answer "OK 0x1"\n' > "$tmp/bad.trace"
"$V" replay --no-progress "$tmp/bad.trace" > "$tmp/bad.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "bad.trace:3: expectation failed" "$tmp/bad.out"; then
    echo "PASS: failing expectation exits 1"
else
    echo "FAIL: failing expectation (rc=$rc)"; cat "$tmp/bad.out"; fail=1
fi
printf 'vtdsim-trace 1\nreadl 0xfed90000\nbogus event\n' > "$tmp/broken.trace"
"$V" replay --no-progress "$tmp/broken.trace" > "$tmp/broken.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "broken.trace:3: bogus: unknown event" "$tmp/broken.out"; then
    echo "PASS: broken trace exits 2"
else
    echo "FAIL: broken trace (rc=$rc)"; cat "$tmp/broken.out"; fail=1
fi
"$V" replay --json --no-progress "$T/stale-iotlb-bug.trace" > "$tmp/j.json" 2>&1
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if d["expectations"]["failed"]==0 and d["caches"]["iotlb"]["hits"]>=1 else 1)' "$tmp/j.json" 2>/dev/null \
   || ! command -v python3 >/dev/null; then
    echo "PASS: JSON summary"
else
    echo "FAIL: JSON summary"; cat "$tmp/j.json"; fail=1
fi
# fault injection from the command line: a UR completion on the first request is detected
"$V" replay --inject 'ur nth=1 dev=nic' "$T/stale-iotlb-bug.trace" > "$tmp/inj.out" 2>&1
if grep -q "^outcome:    detected" "$tmp/inj.out"; then
    echo "PASS: replay --inject"
else
    echo "FAIL: replay --inject"; cat "$tmp/inj.out"; fail=1
fi
"$V" replay --inject 'frobnicate' "$T/stale-iotlb-bug.trace" > "$tmp/inj2.out" 2>&1
rc=$?
if [ $rc -eq 2 ] && grep -q "inject 'frobnicate'" "$tmp/inj2.out"; then
    echo "PASS: replay --inject with a bad spec exits 2"
else
    echo "FAIL: replay --inject with a bad spec (rc=$rc)"; cat "$tmp/inj2.out"; fail=1
fi

# timing: with the xeon-e5 profile an IOTLB miss costs about 300 ns more than a hit (timing.md)
"$V" replay --no-progress "$T/experiments/miss-penalty-64m.trace" > "$tmp/t.out" 2>&1
hit=$(awk '$1 == "00:02.0" && $2 == "hit" { print $5 }' "$tmp/t.out")
miss=$(awk '$1 == "00:02.0" && $2 == "miss" { print $5 }' "$tmp/t.out")
if [ -n "$hit" ] && [ -n "$miss" ] && awk -v h="$hit" -v m="$miss" 'BEGIN { d = m - h; exit !(d > 250 && d < 400) }'; then
    echo "PASS: replay latencies (hit $hit ns, miss $miss ns)"
else
    echo "FAIL: replay latencies (hit '$hit', miss '$miss')"; cat "$tmp/t.out"; fail=1
fi
exit $fail
