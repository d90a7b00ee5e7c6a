# pcie fragment (owned by one developer; add sources and tests here)
libvtdsim_internal_la_SOURCES += \
	src/pcie/fabric.c src/pcie/config.c src/pcie/caps.c src/pcie/sriov.c \
	src/pcie/irq.c src/pcie/dma.c src/pcie/tlp.c src/pcie/enumerate.c
noinst_HEADERS += src/pcie/pcie.h src/pcie/tlp.h src/pcie/pcie_internal.h src/pcie/ats.h
libvtdsim_internal_la_SOURCES += src/pcie/ats.c

check_PROGRAMS += tests/check_pcie tests/check_tlp
TESTS += tests/check_pcie tests/check_tlp
tests_check_pcie_SOURCES = tests/check_pcie.c tests/fixture_pcie.h tests/check_util.h
tests_check_pcie_CFLAGS = $(TEST_CFLAGS)
tests_check_pcie_LDADD = $(TEST_LDADD)
tests_check_tlp_SOURCES = tests/check_tlp.c tests/check_util.h
tests_check_tlp_CFLAGS = $(TEST_CFLAGS)
tests_check_tlp_LDADD = $(TEST_LDADD)

# pcie_extra fragment (owned by one developer; add sources and tests here)
# IOMMU groups and lspci-style listing of the PCIe fabric.
libvtdsim_internal_la_SOURCES += \
	src/pcie/groups.c src/pcie/lspci.c
noinst_HEADERS += src/pcie/lspci.h

check_PROGRAMS += tests/check_groups tests/check_lspci
TESTS += tests/check_groups tests/check_lspci
tests_check_groups_SOURCES = tests/check_groups.c tests/check_util.h
tests_check_groups_CFLAGS = $(TEST_CFLAGS)
tests_check_groups_LDADD = $(TEST_LDADD)
tests_check_lspci_SOURCES = tests/check_lspci.c tests/check_util.h
tests_check_lspci_CFLAGS = $(TEST_CFLAGS)
tests_check_lspci_LDADD = $(TEST_LDADD)

EXTRA_DIST += \
	tests/golden/lspci-q35.expected \
	tests/golden/lspci-q35-v.expected \
	tests/golden/lspci-q35-vv.expected \
	tests/golden/lspci-q35-t.expected \
	tests/golden/lspci-q35-n.expected \
	tests/golden/lspci-switch.expected \
	tests/golden/lspci-switch-v.expected \
	tests/golden/lspci-switch-vv.expected \
	tests/golden/lspci-switch-t.expected \
	tests/golden/lspci-switch-n.expected \
	tests/golden/lspci-sriov.expected \
	tests/golden/lspci-sriov-v.expected \
	tests/golden/lspci-sriov-vv.expected \
	tests/golden/lspci-sriov-t.expected \
	tests/golden/lspci-sriov-n.expected
