# Fuzz targets (issue 10).  Always built as regression programs that run
# their corpus (plus deterministic mutations) in `make check`; with
# ./configure --enable-fuzzing (clang) also as libFuzzer binaries
# tests/fuzz/libfuzz_<target>.
FUZZ_TARGETS = trace qtest platform vtd_mmio tlp import vfio
FUZZ_COMMON = tests/fuzz/fuzz.h tests/fuzz/fuzz_main.c

check_PROGRAMS += tests/fuzz/fuzz_trace tests/fuzz/fuzz_qtest tests/fuzz/fuzz_platform \
	tests/fuzz/fuzz_vtd_mmio tests/fuzz/fuzz_tlp tests/fuzz/fuzz_import tests/fuzz/fuzz_vfio
tests_fuzz_fuzz_vfio_SOURCES = tests/fuzz/fuzz_vfio.c $(FUZZ_COMMON)
tests_fuzz_fuzz_vfio_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_import_SOURCES = tests/fuzz/fuzz_import.c $(FUZZ_COMMON)
tests_fuzz_fuzz_import_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_trace_SOURCES = tests/fuzz/fuzz_trace.c $(FUZZ_COMMON)
tests_fuzz_fuzz_trace_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_qtest_SOURCES = tests/fuzz/fuzz_qtest.c $(FUZZ_COMMON)
tests_fuzz_fuzz_qtest_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_platform_SOURCES = tests/fuzz/fuzz_platform.c $(FUZZ_COMMON)
tests_fuzz_fuzz_platform_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_vtd_mmio_SOURCES = tests/fuzz/fuzz_vtd_mmio.c $(FUZZ_COMMON)
tests_fuzz_fuzz_vtd_mmio_LDADD = $(TEST_LDADD)
tests_fuzz_fuzz_tlp_SOURCES = tests/fuzz/fuzz_tlp.c $(FUZZ_COMMON)
tests_fuzz_fuzz_tlp_LDADD = $(TEST_LDADD)

TESTS += tests/fuzz/run-corpus.sh
EXTRA_DIST += tests/fuzz/run-corpus.sh tests/fuzz/corpus tests/fuzz/vfio_seeds.py

if FUZZING
EXTRA_PROGRAMS += tests/fuzz/libfuzz_trace tests/fuzz/libfuzz_qtest tests/fuzz/libfuzz_platform \
	tests/fuzz/libfuzz_vtd_mmio tests/fuzz/libfuzz_tlp tests/fuzz/libfuzz_import tests/fuzz/libfuzz_vfio
tests_fuzz_libfuzz_vfio_SOURCES = tests/fuzz/fuzz_vfio.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_vfio_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_vfio_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_vfio_LDADD = $(TEST_LDADD)
tests_fuzz_libfuzz_import_SOURCES = tests/fuzz/fuzz_import.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_import_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_import_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_import_LDADD = $(TEST_LDADD)
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
tests_fuzz_libfuzz_trace_SOURCES = tests/fuzz/fuzz_trace.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_trace_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_trace_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_trace_LDADD = $(TEST_LDADD)
tests_fuzz_libfuzz_qtest_SOURCES = tests/fuzz/fuzz_qtest.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_qtest_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_qtest_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_qtest_LDADD = $(TEST_LDADD)
tests_fuzz_libfuzz_platform_SOURCES = tests/fuzz/fuzz_platform.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_platform_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_platform_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_platform_LDADD = $(TEST_LDADD)
tests_fuzz_libfuzz_vtd_mmio_SOURCES = tests/fuzz/fuzz_vtd_mmio.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_vtd_mmio_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_vtd_mmio_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_vtd_mmio_LDADD = $(TEST_LDADD)
tests_fuzz_libfuzz_tlp_SOURCES = tests/fuzz/fuzz_tlp.c tests/fuzz/fuzz.h
tests_fuzz_libfuzz_tlp_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_libfuzz_tlp_LDFLAGS = $(FUZZ_FLAGS)
tests_fuzz_libfuzz_tlp_LDADD = $(TEST_LDADD)
endif
