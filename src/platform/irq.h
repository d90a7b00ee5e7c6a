/*
 * Interrupt delivery on the platform: where interrupt messages and INTx
 * lines end up.
 *
 * Today: every interrupt message that reaches the interrupt window is
 * decoded in compatibility format and recorded on the local-APIC side (a
 * bounded log plus a counter); PCI INTx lines are swizzled to IOAPIC inputs
 * GSI 16..23 (PIRQ A..D), whose level changes are reported to an optional
 * observer (the qtest front end's IRQ intercept).  Interrupt remapping and
 * the IOAPIC's redirection table are the next step (issue 4) and live here.
 */
#ifndef VTDSIM_PLATFORM_IRQ_H
#define VTDSIM_PLATFORM_IRQ_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"
#include "pcie/pcie.h"

typedef struct Platform Platform;

#define PLATFORM_IOAPIC_PINS 24
#define PLATFORM_IRQ_LOG_MAX 65536

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

typedef void PlatformIntxNotify(void *opaque, unsigned gsi, bool level);

/** Creates / destroys the interrupt state of @p (called by platform.c). */
void platform_irq_init(Platform *p);
void platform_irq_fini(Platform *p);

/** An interrupt message from a device (the root complex's msi hook). */
void platform_irq_msi(Platform *p, uint16_t rid, uint64_t addr, uint32_t data);
/** An interrupt message that is never remapped (the remapping units' own events). */
void platform_irq_deliver(Platform *p, uint16_t rid, uint64_t addr, uint32_t data);
/** A PCI INTx level change of @fn after swizzling to root pin @root_pin. */
void platform_irq_intx(Platform *p, PcieFn *fn, unsigned root_pin, bool level);

/** Sets the observer of IOAPIC input changes (NULL to remove). */
void platform_set_intx_notify(Platform *p, PlatformIntxNotify *fn, void *opaque);

/** The delivered-interrupt log (oldest first, at most PLATFORM_IRQ_LOG_MAX) and the total count. */
const GArray *platform_irq_log(Platform *p);
uint64_t platform_irq_count(Platform *p);
/** Current level of IOAPIC input @gsi. */
bool platform_ioapic_level(Platform *p, unsigned gsi);

#endif
