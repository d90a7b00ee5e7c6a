/*
 * vtdsim public API: building a simulated machine from a platform file.
 *
 * A platform file is a glib key file describing the machine: DRAM, the
 * chipset (config access, ECAM, IOAPIC), one or more VT-d units with their
 * device scopes and capabilities, and the PCIe hierarchy (root ports,
 * switches, endpoints, SR-IOV devices).  docs/platform-format.md describes
 * every group and key.  The default platform, compiled into the library,
 * is a q35-compatible machine: 256 MiB DRAM at 0, VT-d at 0xFED90000,
 * IOAPIC at 0xFEC00000, ECAM at 0xB0000000, host bridge 00:00.0 and an edu
 * device at 00:01.0 - the machine `qemu-system-x86_64 -M q35 -m 256
 * -device intel-iommu -device edu` shows to a qtest client.
 */
#ifndef VTDSIM_PLATFORM_H
#define VTDSIM_PLATFORM_H

#include <glib.h>
#include "vtdsim/sim.h"

G_BEGIN_DECLS

/** The text of the built-in q35 platform file (static; never free). */
const char *vtdsim_platform_default_text(void);

/**
 * vtdsim_platform_new:
 * Builds a simulation from the platform file at @path, or from the
 * built-in q35 platform when @path is NULL.
 * Returns: a new context (free with emu_sim_free()), or NULL with @error
 * set to a one-line message naming the file and line at fault.
 */
EmuSim *vtdsim_platform_new(const char *path, GError **error);

/**
 * vtdsim_platform_new_from_data:
 * Like vtdsim_platform_new() for a platform held in memory; @source names
 * it in error messages.
 */
EmuSim *vtdsim_platform_new_from_data(const char *text, const char *source, GError **error);

/** Flags for vtdsim_lspci(), mirroring lspci's options. */
enum {
    VTDSIM_LSPCI_TREE = 1 << 0,     /* -t */
    VTDSIM_LSPCI_VERBOSE = 1 << 1,  /* -v */
    VTDSIM_LSPCI_VVERBOSE = 1 << 2, /* -vv */
    VTDSIM_LSPCI_NUMERIC = 1 << 3,  /* -n */
};

/** Appends to @out what `lspci` with @flags would print for the platform of @sim. */
void vtdsim_lspci(EmuSim *sim, unsigned flags, GString *out);

/** Appends the IOMMU groups of the platform, one "group N: BDF BDF..." line each. */
void vtdsim_groups(EmuSim *sim, GString *out);

G_END_DECLS

#endif
