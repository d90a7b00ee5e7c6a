# timing model (owner: timing): src/timing, its tests, the bench subcommand
libvtdsim_internal_la_SOURCES += \
	src/timing/timing_params.c src/timing/timing_model.c
noinst_HEADERS += src/timing/timing.h

check_PROGRAMS += tests/check_timing
TESTS += tests/check_timing
tests_check_timing_SOURCES = tests/check_timing.c tests/check_util.h
tests_check_timing_CFLAGS = $(TEST_CFLAGS)
tests_check_timing_LDADD = $(TEST_LDADD)
