#!/bin/sh
# make check: every fuzz target over its committed corpus, plus 40
# deterministic mutations of each input (fixed seed): nothing may crash.
set -u
fail=0
for t in trace qtest platform vtd_mmio tlp import vfio; do
    if "$top_builddir/tests/fuzz/fuzz_$t" --mutate 40 1 "$top_srcdir/tests/fuzz/corpus/$t" >/dev/null 2>&1; then
        echo "PASS: fuzz corpus $t"
    else
        echo "FAIL: fuzz corpus $t (rerun: tests/fuzz/fuzz_$t --mutate 40 1 tests/fuzz/corpus/$t)"
        fail=1
    fi
done
exit $fail
