/*
 * The platform: the one place that wires models to the fabric, memory and
 * each other (style rule 1).  Internal; the public face is
 * include/vtdsim/platform.h.
 *
 * A Platform is attached to its EmuSim as the component "platform" and is
 * destroyed with it.  It owns DRAM, the system memory and I/O spaces, the
 * PCIe fabric, the chipset registers (CONFIG_ADDRESS/CONFIG_DATA, PCIEXBAR
 * and the ECAM window it enables), the VT-d units with their device scopes,
 * and the interrupt sink: a record of every interrupt message that reached
 * the interrupt window and every IOAPIC input change, which tests and the
 * qtest front end read.
 */
#ifndef VTDSIM_PLATFORM_PLATFORM_H
#define VTDSIM_PLATFORM_PLATFORM_H

#include "vtdsim/platform.h"
#include "core/sim_internal.h"
#include "mem/addr_space.h"
#include "mem/physmem.h"
#include "pcie/pcie.h"
#include "timing/timing.h"

typedef struct VtdUnit VtdUnit;
typedef struct PlatformIrqState PlatformIrqState;

typedef struct PlatformVtd {
    char *name;
    uint64_t base;
    VtdUnit *unit;
    bool include_all;    /* DRHD INCLUDE_PCI_ALL */
    GArray *scope;       /* uint16_t routing IDs of scoped endpoints/bridges (subtree) */
    GPtrArray *scope_fns; /* PcieFn * roots of the scope (subtrees) */
    MemRegion *region;
} PlatformVtd;

typedef struct Platform {
    EmuSim *sim;
    char *name;
    char *source;        /* file name for messages */
    uint64_t ram_size;
    PhysMem *ram;
    AddrSpace *mem;      /* system memory (CPU view and untranslated DMA target) */
    AddrSpace *io;       /* x86 I/O ports */
    PcieFabric *fabric;
    PcieFn *host_bridge;
    /* chipset */
    uint32_t config_address;   /* 0xCF8 */
    uint64_t ecam_base;
    uint64_t ecam_size;
    MemRegion *ecam_region;
    uint64_t ioapic_base;
    /* VT-d units in platform-file order; the first INCLUDE_PCI_ALL unit catches the rest */
    GPtrArray *vtd;            /* PlatformVtd * */
    /* interrupts: state owned by irq.c */
    PlatformIrqState *irq;
    GHashTable *devices;       /* name -> PcieFn * (borrowed; the fabric owns them) */
    TimingParams timing;       /* [timing] group; the "ideal" profile when absent */
} Platform;

struct InjectHooks;
/**
 * platform_attach_inject:
 * Attaches a fault injector's hooks (src/inject/inject_hook.h; borrowed,
 * must outlive the simulation) to the platform's simulation and installs
 * the filters they need in every VT-d unit (the walker's table-access
 * filter only when @ih has table_access).
 */
void platform_attach_inject(Platform *p, struct InjectHooks *ih);

/** The platform of @sim (asserts that there is one). */
Platform *platform_get(EmuSim *sim);

/** Looks a device up by its platform-file name, or by "BB:DD.F". */
PcieFn *platform_find_device(Platform *p, const char *name_or_bdf);

/** Parses "BB:DD.F" or "DD.F"; FALSE on syntax errors. */
gboolean platform_parse_bdf(const char *s, uint16_t *rid);

/** Parses a size such as "256M", "4K", "0x1000"; FALSE on syntax errors. */
gboolean platform_parse_size(const char *s, uint64_t *out);

/** The VT-d unit responsible for requests from @rid, or NULL. */
PlatformVtd *platform_vtd_for(Platform *p, uint16_t rid);

#include "platform/irq.h"

#endif
