/*
 * lspci: the fabric as pciutils' lspci would list it on a Linux guest.
 *
 * Output is built only from what lspci itself reads through sysfs: each
 * function's config space (pcie_fn_config_read), the resource addresses
 * and sizes the kernel would publish (pcie_fn_bar_addr/size), and the
 * IOMMU group when pcie_fabric_compute_groups() has run.  See lspci.c for
 * the pciutils version whose wording is followed and what is not decoded.
 */
#ifndef VTDSIM_PCIE_LSPCI_H
#define VTDSIM_PCIE_LSPCI_H

#include <glib.h>
#include "pcie/pcie.h"

/* Flags, named after lspci's options. */
enum {
    PCIE_LSPCI_VERBOSE = 1u << 0,      /* -v */
    PCIE_LSPCI_VERY_VERBOSE = 1u << 1, /* -vv (implies -v) */
    PCIE_LSPCI_NUMERIC = 1u << 2,      /* -n: numeric IDs instead of names */
    PCIE_LSPCI_TREE = 1u << 3,         /* -t: bus tree (with -v/-vv: names, regions) */
};

/**
 * pcie_lspci:
 * Appends to @out what `lspci` with the options in @flags prints for @f:
 * one entry per function (VFs included) in bus/device/function order, or
 * the bus tree with PCIE_LSPCI_TREE.  Reads config space like software
 * does (no side effects on the devices: only reads).  Never fails; a
 * function whose config space reads all ones is listed as lspci would.
 */
void pcie_lspci(PcieFabric *f, unsigned flags, GString *out);

/**
 * pcie_lspci_class_name / pcie_lspci_device_name:
 * The name lookups used by pcie_lspci(), as pciutils' name database would
 * answer them: "Host bridge", "Unclassified device [00ff]", "Class 1300";
 * "Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller",
 * "Intel Corporation Device 1234", "Device 1234:11e8".  @class16 is the
 * base class and subclass (config bytes 0x0b:0x0a).  Results are appended.
 */
void pcie_lspci_class_name(uint16_t class16, GString *out);
void pcie_lspci_device_name(uint16_t vendor, uint16_t device, GString *out);

#endif
