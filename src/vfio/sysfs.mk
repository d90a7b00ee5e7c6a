# vfio: the sysfs/devfs tree of a simulated platform (library) and the
# vtdsim-run launcher that mounts it in a private mount namespace.
libvtdsim_internal_la_SOURCES += src/vfio/sysfs.c
noinst_HEADERS += src/vfio/sysfs.h

bin_PROGRAMS += vtdsim-run
vtdsim_run_SOURCES = src/vfio/run.c
vtdsim_run_CPPFLAGS = $(AM_CPPFLAGS) -DVTDSIM_PKGLIBDIR='"$(pkglibdir)"'
vtdsim_run_LDADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS)

check_PROGRAMS += tests/check_vfio_sysfs
TESTS += tests/check_vfio_sysfs
tests_check_vfio_sysfs_SOURCES = tests/check_vfio_sysfs.c tests/check_util.h
tests_check_vfio_sysfs_CFLAGS = $(TEST_CFLAGS)
tests_check_vfio_sysfs_LDADD = $(TEST_LDADD)

TESTS += tests/vfio-run.sh
EXTRA_DIST += tests/vfio-run.sh docs/vfio-sysfs.md tests/platforms/sriov-noacs.platform
