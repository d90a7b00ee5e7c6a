# timing model (owner: timing): src/timing, its tests, the bench subcommand
libvtdsim_internal_la_SOURCES += \
	src/timing/timing_params.c src/timing/timing_model.c src/timing/timing_exp.c \
	src/timing/timing_vtd.c
noinst_HEADERS += src/timing/timing.h src/timing/timing_exp.h src/timing/timing_vtd.h
vtdsim_SOURCES += src/cli/cmd_bench.c

check_PROGRAMS += tests/check_timing
TESTS += tests/check_timing tests/timing-cli.sh
EXTRA_DIST += tests/timing-cli.sh traces/experiments/gen_experiments.py \
	traces/experiments/xeon-e5.platform traces/experiments/miss-penalty-4k.trace \
	traces/experiments/miss-penalty-64m.trace traces/experiments/hugepage-64m.trace
tests_check_timing_SOURCES = tests/check_timing.c tests/check_util.h
tests_check_timing_CFLAGS = $(TEST_CFLAGS)
tests_check_timing_LDADD = $(TEST_LDADD)

# make bench: host-time cost of the timing model against the functional path
BENCH_PROGS += timing_bench
EXTRA_PROGRAMS += timing_bench
CLEANFILES += timing_bench
timing_bench_SOURCES = tests/bench/timing_bench.c
timing_bench_LDADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS) -lm

EXTRA_DIST += docs/timing.md docs/calibration.md \
	docs/calibration/plot-window-sweep.svg docs/calibration/plot-miss-penalty.svg \
	docs/calibration/plot-miss-ceiling.svg docs/calibration/plot-hugepage.svg \
	docs/calibration/plot-tlp-sawtooth.svg docs/calibration/plot-strict-vs-lazy.svg
