/*
 * An Intel 82093AA-style I/O APIC as the ICH9 integrates it (version
 * 0x20), with the VT-d extension of its redirection table entries.
 *
 * What it models: the indirect register window (IOREGSEL at base+0x00,
 * IOWIN at base+0x10), the EOI register at base+0x40 (version 0x20 and
 * later), the ID, version (0x20, 24 entries) and arbitration registers,
 * and 24 redirection table entries (RTEs).  An RTE is in compatibility
 * format (bit 48 clear: destination in 63:56, destination mode 11,
 * delivery mode 10:8) or, for interrupt remapping, in remappable format
 * (bit 48 set: interrupt index bits 14:0 in 63:49 and bit 15 in 11); both
 * have vector 7:0, trigger mode 15 and mask 16.  An input raises an
 * interrupt message: a rising edge for edge-triggered entries; for
 * level-triggered ones an asserted input while Remote IRR (bit 14) is
 * clear, which sets Remote IRR until an EOI for the entry's vector (EOI
 * register or the local APIC's EOI broadcast); an EOI with the input still
 * asserted sends the message again, and so does unmasking an asserted
 * level-triggered entry.
 *
 * A message is handed to the owner's callback as the (address, data) of
 * the memory write the IOAPIC would issue: compatibility format
 * 0xFEE00000 | dest << 12 | DM << 2 with data vector | DLM << 8 | assert
 * << 14 | TM << 15; remappable format 0xFEE00000 | index[14:0] << 5 |
 * 1 << 4 | index[15] << 2 (SHV=0) with data vector | TM << 15.  The
 * platform sends it through interrupt remapping with the IOAPIC's source
 * ID.
 *
 * Not modelled: input polarity (inputs are logical assertions, bit 13 is
 * stored only), Delivery Status (always idle: delivery is instantaneous),
 * the 8259 cascade (ExtINT), lowest-priority arbitration.
 */
#ifndef VTDSIM_MODELS_IOAPIC_IOAPIC_H
#define VTDSIM_MODELS_IOAPIC_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include "mem/addr_space.h"

#define IOAPIC_PINS 24
#define IOAPIC_VERSION 0x20
#define IOAPIC_MMIO_SIZE 0x1000

/* Window offsets. */
#define IOAPIC_IOREGSEL 0x00
#define IOAPIC_IOWIN 0x10
#define IOAPIC_EOI 0x40

/* Register indexes (IOREGSEL). */
#define IOAPIC_REG_ID 0x00
#define IOAPIC_REG_VER 0x01
#define IOAPIC_REG_ARB 0x02
#define IOAPIC_REG_RTE(pin) (0x10 + 2 * (pin))   /* low dword; +1 high dword */

/* RTE bits (compatibility and remappable format). */
#define IOAPIC_RTE_VECTOR_MASK UINT64_C(0xff)
#define IOAPIC_RTE_DLM_SHIFT 8
#define IOAPIC_RTE_DM (UINT64_C(1) << 11)          /* compatibility: destination mode */
#define IOAPIC_RTE_INDEX15 (UINT64_C(1) << 11)     /* remappable: interrupt index bit 15 */
#define IOAPIC_RTE_DELIVS (UINT64_C(1) << 12)      /* Delivery Status (RO) */
#define IOAPIC_RTE_POLARITY (UINT64_C(1) << 13)
#define IOAPIC_RTE_REMOTE_IRR (UINT64_C(1) << 14)  /* RO */
#define IOAPIC_RTE_TM (UINT64_C(1) << 15)          /* 1 = level */
#define IOAPIC_RTE_MASK (UINT64_C(1) << 16)
#define IOAPIC_RTE_IF (UINT64_C(1) << 48)          /* remappable format */
#define IOAPIC_RTE_INDEX_SHIFT 49                  /* remappable: interrupt index bits 14:0 */
#define IOAPIC_RTE_DEST_SHIFT 56                   /* compatibility: destination */

/** A remappable-format RTE for interrupt index @index (masked unless @unmasked). */
static inline uint64_t ioapic_rte_remappable(uint16_t index, uint8_t vector, bool level, bool unmasked)
{
    return ((uint64_t)(index & 0x7fff) << IOAPIC_RTE_INDEX_SHIFT) | IOAPIC_RTE_IF |
           ((index >> 15) ? IOAPIC_RTE_INDEX15 : 0) | (level ? IOAPIC_RTE_TM : 0) |
           (unmasked ? 0 : IOAPIC_RTE_MASK) | vector;
}

/** A compatibility-format RTE (physical or logical @dest, delivery mode @dlm). */
static inline uint64_t ioapic_rte_compat(uint8_t dest, uint8_t vector, unsigned dlm, bool logical, bool level,
                                         bool unmasked)
{
    return ((uint64_t)dest << IOAPIC_RTE_DEST_SHIFT) | ((uint64_t)(dlm & 7) << IOAPIC_RTE_DLM_SHIFT) |
           (logical ? IOAPIC_RTE_DM : 0) | (level ? IOAPIC_RTE_TM : 0) | (unmasked ? 0 : IOAPIC_RTE_MASK) |
           vector;
}

typedef struct Ioapic Ioapic;

/** Receives each interrupt message (@pin is the input that caused it). */
typedef void IoapicMsgFn(void *opaque, unsigned pin, uint64_t addr, uint32_t data);

/** A new IOAPIC in its reset state (every RTE masked); free with ioapic_free(). */
Ioapic *ioapic_new(IoapicMsgFn *msg, void *opaque);
void ioapic_free(Ioapic *a);
void ioapic_reset(Ioapic *a);

/** MMIO operations of the register window (opaque = the Ioapic *), IOAPIC_MMIO_SIZE bytes. */
const MmioOps *ioapic_mmio_ops(void);

/** Sets the level of input @pin (< IOAPIC_PINS; others are ignored). */
void ioapic_set_irq(Ioapic *a, unsigned pin, bool level);
/** Current level of input @pin. */
bool ioapic_input(const Ioapic *a, unsigned pin);
/** An EOI for @vector (the local APIC's broadcast, or the EOI register). */
void ioapic_eoi(Ioapic *a, uint8_t vector);
/** The RTE of @pin (including Remote IRR), for tests and dumps. */
uint64_t ioapic_rte(const Ioapic *a, unsigned pin);
/** Number of interrupt messages sent since creation. */
uint64_t ioapic_messages(const Ioapic *a);

#endif
