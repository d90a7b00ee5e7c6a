/*
 * Interrupt delivery on the platform: where interrupt messages and INTx
 * lines end up.
 *
 * Sources.  Interrupt messages of PCIe functions (MSI, MSI-X: masking and
 * pending bits are the fabric's, src/pcie/irq.c) reach platform_irq_msi()
 * with the requester ID of the function that sent them - a VF's own
 * routing ID, never its PF's.  PCI INTx lines are swizzled to IOAPIC
 * inputs GSI 16..23 (PIRQ A..D by the root-bus slot) and drive the IOAPIC
 * model (models/ioapic), whose redirection entries turn them into
 * interrupt messages with the IOAPIC's source ID PLATFORM_IOAPIC_SID
 * (bus 0xF0, device 0x1F, function 0: the value QEMU's q35 and many
 * firmware DMAR tables give the IOAPIC's device scope).  Input changes are
 * also reported to an optional observer (the qtest front end's
 * irq_intercept_in ioapic).
 *
 * Remapping.  Every interrupt message, from a device or from the IOAPIC,
 * goes to the VT-d unit whose scope covers its requester
 * (platform_vtd_for()) and is remapped, posted, passed through or blocked
 * there (models/vtd/vtd_ir.h).  A requester no unit covers is decoded in
 * compatibility format.  The remapping units' own events (fault,
 * invalidation completion, page request) arrive through
 * platform_irq_deliver() and are never remapped.
 *
 * Delivery.  Everything that reaches the local-APIC side is appended to a
 * bounded log (PlatformIrq: time, requester, destination, vector,
 * delivery and trigger mode, and how it got there: directly, through
 * which IRTE of which unit, posted, a posting's notification event).  A
 * posted interrupt is logged as PLATFORM_IRQ_POSTED (it sets a PIR bit,
 * no local APIC sees it) and, when the posting set ON, followed by the
 * PLATFORM_IRQ_NOTIFY record of the notification event.  Blocked
 * interrupts are counted, not logged (the fault record is in the unit).
 *
 * Not modelled: local APICs themselves (no IRR/ISR, no priority, no
 * lowest-priority arbitration, no logical destination decoding): the log
 * is what the APIC bus carries.  EOIs are reported by the caller with
 * platform_irq_eoi() (the broadcast a local APIC sends for level
 * interrupts).
 */
#ifndef VTDSIM_PLATFORM_IRQ_H
#define VTDSIM_PLATFORM_IRQ_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"
#include "pcie/pcie.h"

typedef struct Platform Platform;
typedef struct Ioapic Ioapic;

#define PLATFORM_IOAPIC_PINS 24
#define PLATFORM_IRQ_LOG_MAX 65536
/** Source ID of the IOAPIC's interrupt messages: F0:1F.0. */
#define PLATFORM_IOAPIC_SID 0xF0F8

/** How an interrupt reached the local-APIC side. */
typedef enum PlatformIrqPath {
    PLATFORM_IRQ_DIRECT = 0,   /* no remapping: no unit covers the requester, or its IRES is clear */
    PLATFORM_IRQ_COMPAT,       /* remapping on, compatibility format let through (GSTS.CFIS) */
    PLATFORM_IRQ_REMAPPED,     /* through a remapped-format IRTE */
    PLATFORM_IRQ_POSTED,       /* posted into a posted-interrupt descriptor (no APIC delivery) */
    PLATFORM_IRQ_NOTIFY,       /* notification event of a posting (NV to NDST) */
    PLATFORM_IRQ_UNIT_EVENT,   /* a remapping unit's own event message, never remapped */
} PlatformIrqPath;

/** Who raised it. */
typedef enum PlatformIrqSource {
    PLATFORM_IRQ_SRC_MSI = 0,  /* a PCIe function's memory write (MSI, MSI-X) */
    PLATFORM_IRQ_SRC_IOAPIC,   /* the IOAPIC (ioapic_pin says which input) */
    PLATFORM_IRQ_SRC_VTD,      /* a remapping unit (fault / invalidation / page request event) */
} PlatformIrqSource;

/** One interrupt as the local APIC side saw it. */
typedef struct PlatformIrq {
    EmuTick time;
    uint16_t rid;        /* requester ID of the original message (0 for remapping-unit events) */
    uint64_t addr;       /* the message as it was written */
    uint32_t data;
    /* What was delivered (after remapping): */
    uint8_t dest;        /* destination, low 8 bits (xAPIC ID) */
    uint8_t vector;      /* POSTED: the virtual vector set in PIR */
    uint8_t delivery;    /* delivery mode */
    bool level;          /* trigger mode */
    bool remappable;     /* addr[4] of the message: interrupt-remapping format */
    uint32_t dest_id;    /* full destination ID (32 bits in x2APIC mode) */
    bool x2apic;         /* dest_id is an x2APIC ID (IRTA.EIME) */
    bool logical;        /* destination mode */
    bool rh;             /* redirection hint */
    PlatformIrqPath path;
    PlatformIrqSource source;
    int ioapic_pin;      /* IOAPIC input, -1 otherwise */
    int32_t irte;        /* IRTE index used (REMAPPED, POSTED, NOTIFY), -1 otherwise */
    const char *unit;    /* name of the remapping unit involved, NULL if none (platform-owned) */
    bool iec_hit;        /* the IRTE came from the interrupt entry cache */
    uint64_t pda;        /* POSTED / NOTIFY: posted-interrupt descriptor address */
    bool urgent;         /* POSTED: IRTE.URG */
} PlatformIrq;

typedef void PlatformIntxNotify(void *opaque, unsigned gsi, bool level);
/** Called with every record as it is appended to the delivery log (borrowed for the call). */
typedef void PlatformIrqObserver(void *opaque, const PlatformIrq *irq);

/** Creates / destroys the interrupt state of @p (called by platform.c). */
void platform_irq_init(Platform *p);
void platform_irq_fini(Platform *p);
/**
 * platform_irq_realize:
 * Maps the IOAPIC's register window at p->ioapic_base in p->mem (priority
 * 40).  Idempotent; does nothing before p->mem exists.  Every other
 * function here calls it, so the window exists by the first interrupt or
 * the first query at the latest.
 */
void platform_irq_realize(Platform *p);

/** An interrupt message from a device (the root complex's msi hook): remapped as its requester's unit says. */
void platform_irq_msi(Platform *p, uint16_t rid, uint64_t addr, uint32_t data);
/** An interrupt message that is never remapped (the remapping units' own events). */
void platform_irq_deliver(Platform *p, uint16_t rid, uint64_t addr, uint32_t data);
/** A PCI INTx level change of @fn after swizzling to root pin @root_pin. */
void platform_irq_intx(Platform *p, PcieFn *fn, unsigned root_pin, bool level);
/** The IOAPIC input that root pin @root_pin (1..4) of @fn's root-bus slot drives. */
unsigned platform_intx_gsi(PcieFn *fn, unsigned root_pin);
/** Sets IOAPIC input @gsi directly (legacy devices, tests). */
void platform_irq_set_gsi(Platform *p, unsigned gsi, bool level);
/** The local APIC's EOI broadcast for @vector (ends level-triggered IOAPIC interrupts). */
void platform_irq_eoi(Platform *p, uint8_t vector);

/** Sets the observer of IOAPIC input changes (NULL to remove). */
void platform_set_intx_notify(Platform *p, PlatformIntxNotify *fn, void *opaque);
/**
 * platform_set_irq_observer:
 * Installs (or, with @fn NULL, removes) the one observer of delivered
 * interrupts: the VFIO shim turns deliveries into eventfd signals with it.
 */
void platform_set_irq_observer(Platform *p, PlatformIrqObserver *fn, void *opaque);

/** The delivered-interrupt log (oldest first, at most PLATFORM_IRQ_LOG_MAX) and the total count. */
const GArray *platform_irq_log(Platform *p);
uint64_t platform_irq_count(Platform *p);
/** Number of interrupt messages blocked by interrupt remapping faults. */
uint64_t platform_irq_blocked(Platform *p);
/** Empties the log (the counters keep counting). */
void platform_irq_log_clear(Platform *p);
/** Current level of IOAPIC input @gsi. */
bool platform_ioapic_level(Platform *p, unsigned gsi);
/** The IOAPIC model (owned by the platform). */
Ioapic *platform_ioapic(Platform *p);

/** Short name of @path ("remapped", "posted", ...). */
const char *platform_irq_path_name(PlatformIrqPath path);
/** Appends one line describing @irq ("t=... rid=00:03.0 vec=0x31 dest=1 ... via dmar0 IRTE 5"). */
void platform_irq_format(const PlatformIrq *irq, GString *out);

#endif
