#!/bin/sh
# Command-line tests of the vtdsim program: the demo checks itself, lspci and
# groups match golden files, errors name file and line and exit 2, and the
# qtest front end answers on stdin/stdout and on a UNIX socket.
set -u
V="$top_builddir/vtdsim"
S="$top_srcdir"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
check() { # name, command...
    name=$1; shift
    if "$@"; then echo "PASS: $name"; else echo "FAIL: $name"; fail=1; fi
}

check "demo runs and every expectation holds" sh -c "'$V' demo > '$tmp/demo.out' 2>&1"
check "demo output shows the copied data" grep -q 'readq 0x300000 .*-> OK 0x1122334455667788' "$tmp/demo.out"

"$V" lspci > "$tmp/lspci.out" 2>&1
check "lspci of the built-in q35 matches the golden file" diff -u "$S/tests/golden/cli-lspci-q35.expected" "$tmp/lspci.out"

"$V" groups --platform "$S/tests/platforms/topo.platform" > "$tmp/groups.out" 2>&1
check "groups of a switch topology match the golden file" diff -u "$S/tests/golden/cli-groups-topo.expected" "$tmp/groups.out"

"$V" lspci --platform "$S/tests/platforms/bad-line.platform" > "$tmp/bad.out" 2>&1
rc=$?
check "a bad platform file exits 2" test "$rc" -eq 2
check "the error names file and line" grep -q "bad-line.platform:4: " "$tmp/bad.out"

"$V" frobnicate > "$tmp/unk.out" 2>&1
rc=$?
check "an unknown command exits 2" test "$rc" -eq 2

# walk and dump on the state a trace leaves (driver operations included)
"$V" walk --trace "$S/traces/stale-iotlb-bug.trace" --rid nic --addr 0x100000 > "$tmp/walk.out" 2>&1
check "walk --trace explains the final mapping" grep -q "Result: translated to 0x0000000061000000" "$tmp/walk.out"
"$V" dump --trace "$S/traces/tests/legacy-basics.trace" dmar_translation_struct > "$tmp/dump.out" 2>&1
check "dump --trace shows the context entry the driver wrote" grep -q "^00:01.0	0x0000000000000000:0x0000000001004001" "$tmp/dump.out"
"$V" walk --trace "$S/traces/stale-iotlb-bug.trace" --platform x --rid nic --addr 0 > "$tmp/wt.out" 2>&1
rc=$?
check "walk --trace with --platform is a usage error" test "$rc" -eq 2

printf 'readl 0xfed90000\nbogus\ninl 0xcf8\n' | "$V" qtest > "$tmp/q.out" 2>&1
printf 'OK 0x0000000000000010\nFAIL Unknown command '"'"'bogus'"'"'\nOK 0x0000\n' > "$tmp/q.want"
check "qtest on stdin/stdout" diff -u "$tmp/q.want" "$tmp/q.out"

if command -v python3 >/dev/null 2>&1; then
    sock="$tmp/qt.sock"
    "$V" qtest --socket "$sock" > "$tmp/sock.log" 2>&1 &
    pid=$!
    check "qtest on a UNIX socket" python3 - "$sock" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit(1)
f = s.makefile("rw")
f.write("readl 0xfed90000\nclock_step 5\n"); f.flush()
a = f.readline().strip(); b = f.readline().strip()
sys.exit(0 if (a, b) == ("OK 0x0000000000000010", "OK 5") else 1)
PY
    wait $pid
fi
exit $fail
