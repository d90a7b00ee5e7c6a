# vfio: MMIO trapping (SIGSEGV-driven instruction emulation) for the VFIO shim
libvtdsim_internal_la_SOURCES += src/vfio/mmio_trap.c
noinst_HEADERS += src/vfio/mmio_trap.h

check_PROGRAMS += tests/check_mmio_trap
TESTS += tests/check_mmio_trap
tests_check_mmio_trap_SOURCES = tests/check_mmio_trap.c tests/check_util.h
tests_check_mmio_trap_CFLAGS = $(TEST_CFLAGS)
tests_check_mmio_trap_LDADD = $(TEST_LDADD)
