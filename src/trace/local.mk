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


TESTS += tests/replay-traces.sh
EXTRA_DIST += tests/replay-traces.sh tests/traces/gen_bundled.py \
	traces/nic-rx-strict.trace traces/nic-rx-persistent.trace traces/nvme-queue.trace \
	traces/scalable-pasid.trace traces/stale-iotlb-bug.trace traces/platforms/server.platform \
	traces/corner-cases/legacy-faults.trace traces/corner-cases/ats-pri.trace \
	traces/corner-cases/large-pages-and-passthrough.trace traces/corner-cases/qi-errors.trace \
	traces/tests/legacy-basics.trace

# make bench: replay speed against the read+tokenise floor
BENCH_PROGS += replay_bench
EXTRA_PROGRAMS += replay_bench
CLEANFILES += replay_bench
replay_bench_SOURCES = tests/bench/replay_bench.c
replay_bench_LDADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS) -lm
