# vtd_regs fragment: the VT-d unit model (register file, fault recording,
# queued invalidation, parameters).  The translation engine is in vtd_xlate.am.
libvtdsim_internal_la_SOURCES += \
	models/vtd/vtd.c models/vtd/vtd_fault.c models/vtd/vtd_qi.c \
	models/vtd/vtd_params.c
noinst_HEADERS += \
	models/vtd/vtd.h models/vtd/vtd_regs.h models/vtd/vtd_entries.h models/vtd/vtd_access.h \
	models/vtd/vtd_internal.h
EXTRA_DIST += models/vtd/README.md tests/golden/vtd_regset_qemu72.txt

check_PROGRAMS += tests/check_vtd_regs tests/check_vtd_qi
TESTS += tests/check_vtd_regs tests/check_vtd_qi
tests_check_vtd_regs_SOURCES = tests/check_vtd_regs.c tests/check_util.h tests/fixture_vtd.h
tests_check_vtd_regs_CFLAGS = $(TEST_CFLAGS)
tests_check_vtd_regs_LDADD = $(TEST_LDADD)
tests_check_vtd_qi_SOURCES = tests/check_vtd_qi.c tests/check_util.h tests/fixture_vtd.h
tests_check_vtd_qi_CFLAGS = $(TEST_CFLAGS)
tests_check_vtd_qi_LDADD = $(TEST_LDADD)

# vtd_xlate fragment: VT-d translation engine, remapping caches, reference walker
libvtdsim_internal_la_SOURCES += \
	models/vtd/vtd_xlate.c \
	models/vtd/vtd_cache.c \
	models/ref/ref_walk.c \
	models/ref/ref_build.c
noinst_HEADERS += \
	models/vtd/vtd_xlate.h \
	models/vtd/vtd_cache.h \
	models/ref/ref_walk.h \
	models/ref/ref_build.h

check_PROGRAMS += tests/check_vtd_xlate tests/check_vtd_cache
TESTS += tests/check_vtd_xlate tests/check_vtd_cache
tests_check_vtd_xlate_SOURCES = tests/check_vtd_xlate.c
tests_check_vtd_xlate_CFLAGS = $(TEST_CFLAGS)
tests_check_vtd_xlate_LDADD = $(TEST_LDADD)
tests_check_vtd_cache_SOURCES = tests/check_vtd_cache.c
tests_check_vtd_cache_CFLAGS = $(TEST_CFLAGS)
tests_check_vtd_cache_LDADD = $(TEST_LDADD)

# make bench: IOTLB hits and full walks against a bare GHashTable lookup
BENCH_PROGS += vtd_xlate_bench
EXTRA_PROGRAMS += vtd_xlate_bench
CLEANFILES += vtd_xlate_bench
vtd_xlate_bench_SOURCES = tests/bench/vtd_xlate_bench.c
vtd_xlate_bench_LDADD = libvtdsim-internal.la $(GLIB_LIBS) -lm

# vtd_ir fragment: interrupt remapping (IRTEs, posting, interrupt entry cache)
libvtdsim_internal_la_SOURCES += models/vtd/vtd_ir.c
noinst_HEADERS += models/vtd/vtd_ir.h
check_PROGRAMS += tests/check_vtd_ir
TESTS += tests/check_vtd_ir
tests_check_vtd_ir_SOURCES = tests/check_vtd_ir.c tests/check_util.h tests/fixture_vtd.h
tests_check_vtd_ir_CFLAGS = $(TEST_CFLAGS)
tests_check_vtd_ir_LDADD = $(TEST_LDADD)
