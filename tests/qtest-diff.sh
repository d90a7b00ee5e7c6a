#!/bin/sh
# make check wrapper: the qtest scenarios under tests/qtest/ against QEMU 7.2.
# Skips (77) when QEMU or python3 is missing.
command -v python3 >/dev/null 2>&1 || { echo "python3 missing: skip"; exit 77; }
exec python3 "$top_srcdir/tests/qtest_diff.py" --vtdsim "$top_builddir/vtdsim" \
    "$top_srcdir"/tests/qtest/*.qtest
