# platform (wiring), qtest front end, CLI
libvtdsim_internal_la_SOURCES += \
	src/platform/platform.c \
	src/platform/platform_info.c \
	src/platform/irq.c \
	src/platform/qtest.c
noinst_HEADERS += src/platform/platform.h src/platform/irq.h
vtdsiminclude_HEADERS += include/vtdsim/platform.h include/vtdsim/qtest.h include/vtdsim/vtdsim.h

bin_PROGRAMS += vtdsim
vtdsim_SOURCES = src/cli/main.c
vtdsim_CPPFLAGS = $(AM_CPPFLAGS) -DVTDSIM_DATADIR='"$(pkgdatadir)"'
vtdsim_LDADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS)

dist_pkgdata_DATA = traces/demo-legacy-dma.qtest traces/stale-iotlb-bug.trace \
	traces/nic-rx-strict.trace traces/nic-rx-persistent.trace traces/nvme-queue.trace \
	traces/scalable-pasid.trace
vtdsimplatformsdir = $(pkgdatadir)/platforms
dist_vtdsimplatforms_DATA = traces/platforms/server.platform traces/platforms/q35.platform \
	traces/platforms/sriov-nic.platform

check_PROGRAMS += tests/check_platform
TESTS += tests/check_platform
tests_check_platform_SOURCES = tests/check_platform.c tests/check_util.h
tests_check_platform_CFLAGS = $(TEST_CFLAGS)
tests_check_platform_LDADD = $(TEST_LDADD)

TESTS += tests/qtest-diff.sh tests/cli.sh
EXTRA_DIST += tests/qtest-diff.sh tests/qtest_diff.py tests/cli.sh \
	tests/qtest/legacy-map-and-fault.qtest tests/qtest/chipset-and-edu.qtest \
	tests/qtest/legacy-qi-and-stale-iotlb.qtest tests/qtest/legacy-faults-and-register-inv.qtest \
	tests/qtest/edu-intx.qtest \
	tests/golden/cli-lspci-q35.expected tests/golden/cli-groups-topo.expected \
	tests/platforms/topo.platform tests/platforms/bad-line.platform

# host-side driver library
libvtdsim_internal_la_SOURCES += src/driver/vtd_driver.c
noinst_HEADERS += src/driver/vtd_driver.h
check_PROGRAMS += tests/check_driver
TESTS += tests/check_driver
tests_check_driver_SOURCES = tests/check_driver.c tests/check_util.h
tests_check_driver_CFLAGS = $(TEST_CFLAGS)
tests_check_driver_LDADD = $(TEST_LDADD)

check_PROGRAMS += tests/check_ats
TESTS += tests/check_ats
tests_check_ats_SOURCES = tests/check_ats.c tests/check_util.h
tests_check_ats_CFLAGS = $(TEST_CFLAGS)
tests_check_ats_LDADD = $(TEST_LDADD)

# IOAPIC model (models/ioapic) and interrupt delivery tests (irq.c above)
libvtdsim_internal_la_SOURCES += models/ioapic/ioapic.c
noinst_HEADERS += models/ioapic/ioapic.h
check_PROGRAMS += tests/check_irq
TESTS += tests/check_irq
tests_check_irq_SOURCES = tests/check_irq.c tests/check_util.h
tests_check_irq_CFLAGS = $(TEST_CFLAGS)
tests_check_irq_LDADD = $(TEST_LDADD)
EXTRA_DIST += tests/qtest/ioapic-registers.qtest docs/interrupt-remapping.md
