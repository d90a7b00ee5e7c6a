# timing model (owner: timing): src/timing, its tests, the bench subcommand
libvtdsim_internal_la_SOURCES += \
	src/timing/timing_params.c src/timing/timing_model.c src/timing/timing_exp.c
noinst_HEADERS += src/timing/timing.h src/timing/timing_exp.h
vtdsim_SOURCES += src/cli/cmd_bench.c

check_PROGRAMS += tests/check_timing
TESTS += tests/check_timing
tests_check_timing_SOURCES = tests/check_timing.c tests/check_util.h
tests_check_timing_CFLAGS = $(TEST_CFLAGS)
tests_check_timing_LDADD = $(TEST_LDADD)
