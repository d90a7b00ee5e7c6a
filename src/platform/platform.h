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

#define PLATFORM_IOAPIC_PINS 24

typedef struct VtdUnit VtdUnit;

/** One interrupt message as the local APIC side saw it. */
typedef struct PlatformIrq {
    EmuTick time;
    uint16_t rid;        /* requester ID of the write (0 for chipset-internal sources) */
    uint64_t addr;
    uint32_t data;
    /* Compatibility-format decode (Intel SDM vol. 3 10.11): */
    uint8_t dest;        /* addr[19:12] */
    uint8_t vector;      /* data[7:0] */
    uint8_t delivery;    /* data[10:8] */
    bool level;          /* data[15] trigger mode */
    bool remappable;     /* addr[4]: interrupt-remapping format */
} PlatformIrq;

typedef struct PlatformVtd {
    char *name;
    uint64_t base;
    VtdUnit *unit;
    bool include_all;    /* DRHD INCLUDE_PCI_ALL */
    GArray *scope;       /* uint16_t routing IDs of scoped endpoints/bridges (subtree) */
    GPtrArray *scope_fns; /* PcieFn * roots of the scope (subtrees) */
    MemRegion *region;
} PlatformVtd;

typedef void PlatformIntxNotify(void *opaque, unsigned gsi, bool level);

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
    /* interrupts */
    GArray *irqs;              /* PlatformIrq, the most recent PLATFORM_IRQ_LOG_MAX */
    uint64_t irq_count;
    bool ioapic_level[PLATFORM_IOAPIC_PINS];
    PlatformIntxNotify *intx_notify;
    void *intx_opaque;
    GHashTable *devices;       /* name -> PcieFn * (borrowed; the fabric owns them) */
} Platform;

#define PLATFORM_IRQ_LOG_MAX 65536

/** The platform of @sim (asserts that there is one). */
Platform *platform_get(EmuSim *sim);

/** Looks a device up by its platform-file name, or by "BB:DD.F". */
PcieFn *platform_find_device(Platform *p, const char *name_or_bdf);

/** Parses "BB:DD.F" or "DD.F"; FALSE on syntax errors. */
gboolean platform_parse_bdf(const char *s, uint16_t *rid);

/** Parses a size such as "256M", "4K", "0x1000"; FALSE on syntax errors. */
gboolean platform_parse_size(const char *s, uint64_t *out);

/** Sets the callback told about IOAPIC input changes (the qtest IRQ intercept). */
void platform_set_intx_notify(Platform *p, PlatformIntxNotify *fn, void *opaque);

/** Records an interrupt message (used by the root complex hook and the VT-d event sink). */
void platform_deliver_msi(Platform *p, uint16_t rid, uint64_t addr, uint32_t data);

/** The VT-d unit responsible for requests from @rid, or NULL. */
PlatformVtd *platform_vtd_for(Platform *p, uint16_t rid);

#endif
