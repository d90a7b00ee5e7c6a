# The VFIO shim (issue 8): the core serving the VFIO uAPI from an
# in-process simulation, and the LD_PRELOAD library wrapping it.
libvtdsim_internal_la_SOURCES += \
	src/vfio/shim.c src/vfio/shim_device.c
noinst_HEADERS += \
	src/vfio/shim.h src/vfio/shim_internal.h src/vfio/vfio_abi.h

check_PROGRAMS += tests/check_vfio_shim
TESTS += tests/check_vfio_shim
tests_check_vfio_shim_SOURCES = tests/check_vfio_shim.c tests/check_util.h
tests_check_vfio_shim_CFLAGS = $(TEST_CFLAGS)
tests_check_vfio_shim_LDADD = $(TEST_LDADD)
