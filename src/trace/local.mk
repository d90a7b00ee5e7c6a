# trace language, replay, binary form, importers
libvtdsim_internal_la_SOURCES += src/trace/trace_reader.c src/trace/trace_binary.c \
	src/trace/replay.c
noinst_HEADERS += src/trace/trace.h src/trace/trace_internal.h src/trace/replay.h
vtdsim_SOURCES += src/cli/cmd_replay.c
noinst_HEADERS += src/cli/commands.h

check_PROGRAMS += tests/check_trace
TESTS += tests/check_trace
tests_check_trace_SOURCES = tests/check_trace.c tests/check_util.h
tests_check_trace_CFLAGS = $(TEST_CFLAGS)
tests_check_trace_LDADD = $(TEST_LDADD)

# importer of Linux ftrace text and kernel logs (`vtdsim trace import`)
libvtdsim_internal_la_SOURCES += src/trace/import.c
noinst_HEADERS += src/trace/import.h
check_PROGRAMS += tests/check_import
TESTS += tests/check_import
tests_check_import_SOURCES = tests/check_import.c tests/check_util.h
tests_check_import_CFLAGS = $(TEST_CFLAGS)
tests_check_import_LDADD = $(TEST_LDADD)

TESTS += tests/replay-traces.sh
EXTRA_DIST += tests/replay-traces.sh tests/traces/gen_bundled.py \
	traces/corner-cases/legacy-faults.trace traces/corner-cases/ats-pri.trace \
	traces/corner-cases/large-pages-and-passthrough.trace traces/corner-cases/qi-errors.trace \
	traces/corner-cases/interrupt-remapping.trace \
	traces/tests/legacy-basics.trace

# make bench: replay speed against the read+tokenise floor
BENCH_PROGS += replay_bench
EXTRA_PROGRAMS += replay_bench
CLEANFILES += replay_bench
replay_bench_SOURCES = tests/bench/replay_bench.c
replay_bench_LDADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS) -lm
EXTRA_DIST += traces/real/README.md \
	traces/real/ftrace-iommu.txt traces/real/trace-cmd-report.txt \
	traces/real/ftrace-intel-iommu-old.txt traces/real/ftrace-dma.txt \
	traces/real/dmesg-faults.txt traces/real/dmesg-banner.txt traces/real/dmesg-old.txt \
	tests/golden/import-ftrace-iommu.trace tests/golden/import-ftrace-iommu.platform \
	tests/golden/import-trace-cmd-report.trace tests/golden/import-trace-cmd-report.platform \
	tests/golden/import-ftrace-intel-iommu-old.trace tests/golden/import-ftrace-intel-iommu-old.platform \
	tests/golden/import-ftrace-dma.trace tests/golden/import-ftrace-dma.platform \
	tests/golden/import-dmesg-faults.trace tests/golden/import-dmesg-faults.platform \
	tests/golden/import-dmesg-banner.trace tests/golden/import-dmesg-banner.platform \
	tests/golden/import-dmesg-old.trace tests/golden/import-dmesg-old.platform
vtdsim_SOURCES += src/cli/cmd_import.c
