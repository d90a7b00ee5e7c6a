# core and mem layers
libvtdsim_internal_la_SOURCES += \
	src/core/sim.c src/core/evq.c src/core/parse.c \
	src/mem/physmem.c src/mem/addr_space.c
noinst_HEADERS += \
	src/core/evq.h src/core/parse.h src/core/sim_internal.h src/core/error.h src/core/log.h src/core/json_out.h \
	src/mem/physmem.h src/mem/addr_space.h
vtdsiminclude_HEADERS += include/vtdsim/sim.h

check_PROGRAMS += tests/check_core
TESTS += tests/check_core
tests_check_core_SOURCES = tests/check_core.c tests/check_util.h
tests_check_core_CFLAGS = $(TEST_CFLAGS)
tests_check_core_LDADD = $(TEST_LDADD)
