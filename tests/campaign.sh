#!/bin/sh
# Fault-injection campaigns end to end (docs/fault-injection.md): plan,
# run with -j2, merge (exact per-class table), interrupt and resume without
# repeating finished shards, byte-identical results across runs and across
# runners (campaign run, run-shard one by one as GNU parallel or a Slurm
# array task would, and GNU parallel itself when it is installed).
set -eu
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
V="$top_builddir/vtdsim"
INI="$top_srcdir/traces/campaigns/basic.ini"
T=$(mktemp -d "${TMPDIR:-/tmp}/campaign-XXXXXX")
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# plan: 33 shards (8 classes; timeout x2 and bitflip x3 variants; 3 triggers)
out=$("$V" campaign plan "$INI" -o "$T/a")
[ "$out" = "campaign: 33 shards in $T/a/shards" ] || fail "plan: $out"
[ "$(ls "$T/a/shards" | wc -l)" -eq 33 ] || fail "shard count"
grep -qx 'inject=bitflip entry=pte bit=13 nth=3' "$T/a/shards/00023.shard" || fail "shard 23: $(cat "$T/a/shards/00023.shard")"

# run locally, two at a time
out=$("$V" campaign run "$T/a" -j2)
[ "$out" = "campaign: 0 shards already done, 33 run, 0 failed" ] || fail "run: $out"
[ "$(ls "$T/a/results" | wc -l)" -eq 33 ] || fail "result count"
ls "$T/a/results" | grep -q tmp && fail "temporary files left"

# merge: per-class detection coverage
"$V" campaign merge "$T/a" | tail -n +2 > "$T/merged.txt"
cat > "$T/expected.txt" <<'EOF'
class            shards  not-fired  masked  detected   sdc  hang  error  coverage
ur                    3          0       0         3     0     0      0   100.0%
ca                    3          0       0         3     0     0      0   100.0%
poison                3          0       0         3     0     0      0   100.0%
timeout               6          1       0         3     2     0      0    60.0%
bitflip               9          0       4         3     2     0      0    60.0%
drop-inval            3          2       0         0     1     0      0     0.0%
msi-lost              3          2       0         0     1     0      0     0.0%
msi-dup               3          2       0         0     1     0      0     0.0%
EOF
diff -u "$T/expected.txt" "$T/merged.txt" || fail "merged report"
[ -f "$T/a/report.json" ] && [ -f "$T/a/report.txt" ] || fail "report files"
grep -Eq '"detection_coverage" : 0\.(6|59999)' "$T/a/report.json" || fail "report.json coverage"

# resume: finished shards are not repeated (their files are untouched)
out=$("$V" campaign run "$T/a" -j2)
[ "$out" = "campaign: 33 shards already done, 0 run, 0 failed" ] || fail "rerun: $out"

# an interrupted campaign: results lost for 5 shards, a temporary file left
# by a writer killed mid-write; resume runs exactly those 5
cp -r "$T/a" "$T/b"
rm "$T/b/results/00003.json" "$T/b/results/00010.json" "$T/b/results/00011.json" \
   "$T/b/results/00020.json" "$T/b/results/00032.json"
echo '{ "trunc' > "$T/b/results/00010.json.tmp.12345"
touch -d '2000-01-01' "$T/b/results/00000.json"
out=$("$V" campaign run "$T/b" -j2)
[ "$out" = "campaign: 28 shards already done, 5 run, 0 failed" ] || fail "resume: $out"
[ "$(stat -c %Y "$T/b/results/00000.json")" = "$(date -d 2000-01-01 +%s)" ] || fail "a finished shard was rerun"
rm "$T/b/results/00010.json.tmp.12345"
diff -r "$T/a/results" "$T/b/results" || fail "resumed results differ"

# a real kill in the middle, then resume: nothing lost, nothing different
"$V" campaign plan "$INI" -o "$T/c" > /dev/null
"$V" campaign run "$T/c" -j1 > /dev/null & pid=$!
sleep 0.02
kill -9 $pid 2>/dev/null || true
wait $pid 2>/dev/null || true
"$V" campaign run "$T/c" -j2 > "$T/resume.txt"
grep -q '^campaign: [0-9]* shards already done, [0-9]* run, 0 failed$' "$T/resume.txt" || fail "$(cat "$T/resume.txt")"
sleep 0.2   # shards still running in orphaned children finish and rename
rm -f "$T"/c/results/*.tmp.*
diff -r "$T/a/results" "$T/c/results" || fail "killed+resumed results differ"

# determinism and portability: each shard run on its own, as GNU parallel or a
# Slurm array task runs it, gives byte-identical results
"$V" campaign plan "$INI" -o "$T/d" > /dev/null
for f in "$T"/d/shards/*.shard; do "$V" campaign run-shard "$f"; done
diff -r "$T/a/results" "$T/d/results" || fail "run-shard results differ"
if command -v parallel > /dev/null 2>&1; then
    "$V" campaign plan "$INI" -o "$T/e" > /dev/null
    # --sshlogin 2/: is "this host, two jobs": the same command line as across hosts
    ls "$T"/e/shards/*.shard | parallel --will-cite --sshlogin 2/: --joblog "$T/e/joblog" \
        "$V" campaign run-shard {}
    diff -r "$T/a/results" "$T/e/results" || fail "GNU parallel results differ"
else
    echo "campaign.sh: GNU parallel not installed, its run skipped"
fi
# the invalidation-queue classes (lost, late, reordered descriptors) on qi.trace
"$V" campaign plan "$top_srcdir/traces/campaigns/qi.ini" -o "$T/q" > /dev/null
out=$("$V" campaign run "$T/q" -j2)
[ "$out" = "campaign: 0 shards already done, 7 run, 0 failed" ] || fail "qi run: $out"
"$V" campaign merge "$T/q" | tail -n +2 > "$T/qmerged.txt"
cat > "$T/qexpected.txt" <<'EOF'
class            shards  not-fired  masked  detected   sdc  hang  error  coverage
drop-desc             2          0       0         0     1     1      0     0.0%
delay-desc            3          0       1         0     1     1      0     0.0%
reorder-desc          2          0       1         0     1     0      0     0.0%
EOF
diff -u "$T/qexpected.txt" "$T/qmerged.txt" || fail "qi merged report"

# the table-entry classes (read errors, bit flips by name, A/D write-backs)
"$V" campaign plan "$top_srcdir/traces/campaigns/tables.ini" -o "$T/t" > /dev/null
out=$("$V" campaign run "$T/t" -j2)
[ "$out" = "campaign: 0 shards already done, 12 run, 0 failed" ] || fail "tables run: $out"
"$V" campaign merge "$T/t" | tail -n +2 > "$T/tmerged.txt"
cat > "$T/texpected.txt" <<'EOF'
class            shards  not-fired  masked  detected   sdc  hang  error  coverage
bitflip               4          0       1         2     1     0      0    66.7%
table-read-error      6          0       1         5     0     0      0   100.0%
ad-writeback          2          0       0         2     0     0      0   100.0%
EOF
diff -u "$T/texpected.txt" "$T/tmerged.txt" || fail "tables merged report"

# completion and link faults where the functions have AER
"$V" campaign plan "$top_srcdir/traces/campaigns/aer.ini" -o "$T/r" > /dev/null
out=$("$V" campaign run "$T/r" -j2)
[ "$out" = "campaign: 0 shards already done, 8 run, 0 failed" ] || fail "aer run: $out"
"$V" campaign merge "$T/r" | tail -n +2 > "$T/rmerged.txt"
cat > "$T/rexpected.txt" <<'EOF'
class            shards  not-fired  masked  detected   sdc  hang  error  coverage
poison                2          0       0         2     0     0      0   100.0%
timeout               2          0       0         2     0     0      0   100.0%
link-error            4          0       0         4     0     0      0   100.0%
EOF
diff -u "$T/rexpected.txt" "$T/rmerged.txt" || fail "aer merged report"
grep -q '"correctable_status" : 64' "$T"/r/results/00004.json || fail "aer result: $(cat "$T"/r/results/00004.json)"

if command -v sbatch > /dev/null 2>&1 && command -v sinfo > /dev/null 2>&1 && sinfo > /dev/null 2>&1; then
    echo "campaign.sh: Slurm found; tests/campaign-slurm.sh runs the job-array script on a private cluster"
fi
echo "campaign.sh: ok"
