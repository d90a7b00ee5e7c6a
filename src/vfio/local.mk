# The VFIO shim (issue 8): the core serving the VFIO uAPI from an
# in-process simulation, and the LD_PRELOAD library wrapping it.
libvtdsim_internal_la_SOURCES += \
	src/vfio/shim.c src/vfio/shim_device.c src/vfio/shim_uaccess.c src/vfio/shim_ioas.c src/vfio/shim_iommufd.c
noinst_HEADERS += \
	src/vfio/shim.h src/vfio/shim_internal.h src/vfio/vfio_abi.h src/vfio/shim_uaccess.h src/vfio/iommufd_abi.h

check_PROGRAMS += tests/check_vfio_shim
TESTS += tests/check_vfio_shim
tests_check_vfio_shim_SOURCES = tests/check_vfio_shim.c tests/check_util.h
tests_check_vfio_shim_CFLAGS = $(TEST_CFLAGS)
tests_check_vfio_shim_LDADD = $(TEST_LDADD)

# libvtdsim-vfio.so, preloaded by vtdsim-run into VFIO programs.  The
# convenience library's symbols stay inside it (--exclude-libs), so only the
# interposed libc entry points are visible to the client.
pkglib_LTLIBRARIES = libvtdsim-vfio.la
libvtdsim_vfio_la_SOURCES = src/vfio/preload.c src/vfio/preload_numvfs.c src/vfio/preload_numvfs.h
libvtdsim_vfio_la_LIBADD = libvtdsim-internal.la $(JSON_LIBS) $(GLIB_LIBS) -ldl -lm
libvtdsim_vfio_la_LDFLAGS = -module -avoid-version -shared -Wl,--exclude-libs,ALL

# A VFIO program written against <linux/vfio.h> (vfio.rst flow + IOAT), run by vfio-shim.sh
check_PROGRAMS += tests/vfio/vfio_rst
tests_vfio_vfio_rst_SOURCES = tests/vfio/vfio_rst.c tests/vfio/vfio_client.h
TESTS += tests/vfio-shim.sh tests/vfio-qemu.sh
EXTRA_DIST += tests/vfio-shim.sh tests/vfio-qemu.sh tests/vfio-lib.sh docs/vfio.md
AM_TESTS_ENVIRONMENT += VTDSIM_SANITIZERS='$(enable_sanitizers)'; export VTDSIM_SANITIZERS;

# A DPDK dmadev program on DPDK's own ioat PMD (real client), when libdpdk is installed
if HAVE_DPDK
check_PROGRAMS += tests/vfio/dpdk_ioat
tests_vfio_dpdk_ioat_SOURCES = tests/vfio/dpdk_ioat.c
tests_vfio_dpdk_ioat_CFLAGS = $(DPDK_CFLAGS) -DALLOW_EXPERIMENTAL_API
tests_vfio_dpdk_ioat_LDADD = $(DPDK_LIBS)
endif
TESTS += tests/vfio-dpdk.sh
EXTRA_DIST += tests/vfio-dpdk.sh tests/vfio/dpdk_ioat.c

# The iommufd side of the shim (/dev/iommu, cdev devices, compat container)
check_PROGRAMS += tests/check_vfio_iommufd
TESTS += tests/check_vfio_iommufd
tests_check_vfio_iommufd_SOURCES = tests/check_vfio_iommufd.c tests/check_util.h
tests_check_vfio_iommufd_CFLAGS = $(TEST_CFLAGS)
tests_check_vfio_iommufd_LDADD = $(TEST_LDADD)

# The cdev + iommufd flow of vfio.rst (6.6+) and the iommufd compat mode, run by vfio-shim.sh
check_PROGRAMS += tests/vfio/vfio_cdev
tests_vfio_vfio_cdev_SOURCES = tests/vfio/vfio_cdev.c tests/vfio/vfio_client.h
