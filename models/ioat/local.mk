# The I/OAT DMA engine model (models/ioat): see models/ioat/ioat.h.
libvtdsim_internal_la_SOURCES += models/ioat/ioat.c
noinst_HEADERS += models/ioat/ioat.h models/ioat/ioat_regs.h

check_PROGRAMS += tests/check_ioat
TESTS += tests/check_ioat
tests_check_ioat_SOURCES = tests/check_ioat.c tests/check_util.h tests/fixture_pcie.h
tests_check_ioat_CFLAGS = $(TEST_CFLAGS)
tests_check_ioat_LDADD = $(TEST_LDADD)
EXTRA_DIST += traces/platforms/ioat.platform
EXTRA_DIST += docs/ioat.md
