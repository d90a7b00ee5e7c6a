/*
 * The I/O APIC: register window, redirection table and message
 * generation (see ioapic.h).
 *
 * IOREGSEL takes any access size; IOWIN only dword accesses (narrower
 * ones read 0 and are ignored, as in QEMU 7.2 and as the 82093AA data
 * sheet requires of software).
 *
 * Everything is synchronous: an input change, an unmask or an EOI that
 * makes an entry fire calls the message callback before returning, so
 * Delivery Status never reads 1.  A guest cannot make the model abort:
 * unknown register indexes read 0 and ignore writes, read-only bits keep
 * their value, and a message that loops back into the IOAPIC (an EOI from
 * the callback) is handled because no state is held across the call.
 */
#include <string.h>
#include <glib.h>
#include "models/ioapic/ioapic.h"

/*
 * Bits software may write in an RTE: all but Delivery Status and Remote
 * IRR.  The reserved bits 55:17 (47:17 in remappable format) keep what is
 * written, as QEMU 7.2's IOAPIC does, so register dumps compare equal.
 */
#define IOAPIC_RTE_WMASK (~(IOAPIC_RTE_DELIVS | IOAPIC_RTE_REMOTE_IRR))

struct Ioapic {
    IoapicMsgFn *msg;
    void *opaque;
    uint32_t ioregsel;
    uint32_t id;
    uint64_t rte[IOAPIC_PINS];
    bool input[IOAPIC_PINS];
    uint64_t messages;
};

void ioapic_reset(Ioapic *a)
{
    a->ioregsel = 0;
    a->id = 0;
    for (unsigned i = 0; i < IOAPIC_PINS; i++)
        a->rte[i] = IOAPIC_RTE_MASK;
}

Ioapic *ioapic_new(IoapicMsgFn *msg, void *opaque)
{
    Ioapic *a = g_new0(Ioapic, 1);
    a->msg = msg;
    a->opaque = opaque;
    ioapic_reset(a);
    return a;
}

void ioapic_free(Ioapic *a)
{
    g_free(a);
}

static void ioapic_send(Ioapic *a, unsigned pin)
{
    uint64_t r = a->rte[pin];
    uint32_t vector = (uint32_t)(r & IOAPIC_RTE_VECTOR_MASK);
    bool level = (r & IOAPIC_RTE_TM) != 0;
    uint64_t addr;
    uint32_t data;
    if (r & IOAPIC_RTE_IF) {
        uint32_t index = (uint32_t)((r >> IOAPIC_RTE_INDEX_SHIFT) & 0x7fff);
        addr = UINT64_C(0xfee00000) | ((uint64_t)index << 5) | (1u << 4) |
               ((r & IOAPIC_RTE_INDEX15) ? (1u << 2) : 0);
        data = vector | (level ? (1u << 15) : 0);
    } else {
        addr = UINT64_C(0xfee00000) | ((r >> IOAPIC_RTE_DEST_SHIFT) << 12) | ((r & IOAPIC_RTE_DM) ? (1u << 2) : 0);
        data = vector | (uint32_t)(((r >> IOAPIC_RTE_DLM_SHIFT) & 7) << 8) | (1u << 14) | (level ? (1u << 15) : 0);
    }
    if (level)
        a->rte[pin] |= IOAPIC_RTE_REMOTE_IRR;
    a->messages++;
    if (a->msg)
        a->msg(a->opaque, pin, addr, data);
}

/* A level-triggered entry fires while its input is asserted, it is unmasked and Remote IRR is clear. */
static void ioapic_service_level(Ioapic *a, unsigned pin)
{
    uint64_t r = a->rte[pin];
    if ((r & IOAPIC_RTE_TM) && a->input[pin] && !(r & (IOAPIC_RTE_MASK | IOAPIC_RTE_REMOTE_IRR)))
        ioapic_send(a, pin);
}

void ioapic_set_irq(Ioapic *a, unsigned pin, bool level)
{
    if (pin >= IOAPIC_PINS)
        return;
    bool old = a->input[pin];
    a->input[pin] = level;
    uint64_t r = a->rte[pin];
    if (r & IOAPIC_RTE_TM) {
        ioapic_service_level(a, pin);
    } else if (level && !old && !(r & IOAPIC_RTE_MASK)) {
        ioapic_send(a, pin);
    }
}

bool ioapic_input(const Ioapic *a, unsigned pin)
{
    return pin < IOAPIC_PINS && a->input[pin];
}

void ioapic_eoi(Ioapic *a, uint8_t vector)
{
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        uint64_t r = a->rte[pin];
        if ((r & IOAPIC_RTE_REMOTE_IRR) && (r & IOAPIC_RTE_VECTOR_MASK) == vector) {
            a->rte[pin] &= ~IOAPIC_RTE_REMOTE_IRR;
            ioapic_service_level(a, pin);
        }
    }
}

uint64_t ioapic_rte(const Ioapic *a, unsigned pin)
{
    return pin < IOAPIC_PINS ? a->rte[pin] : 0;
}

uint64_t ioapic_messages(const Ioapic *a)
{
    return a->messages;
}

/* ---- registers ---------------------------------------------------------------- */

static uint32_t ioapic_reg_read(const Ioapic *a, uint32_t index)
{
    switch (index) {
    case IOAPIC_REG_ID:
        return a->id;
    case IOAPIC_REG_VER:
        return IOAPIC_VERSION | ((IOAPIC_PINS - 1) << 16);
    case IOAPIC_REG_ARB:
        return a->id;
    default:
        if (index >= IOAPIC_REG_RTE(0) && index < IOAPIC_REG_RTE(IOAPIC_PINS)) {
            uint64_t r = a->rte[(index - IOAPIC_REG_RTE(0)) / 2];
            return (index & 1) ? (uint32_t)(r >> 32) : (uint32_t)r;
        }
        return 0;
    }
}

static void ioapic_reg_write(Ioapic *a, uint32_t index, uint32_t val)
{
    if (index == IOAPIC_REG_ID) {
        a->id = val & 0x0f000000u;
        return;
    }
    if (index < IOAPIC_REG_RTE(0) || index >= IOAPIC_REG_RTE(IOAPIC_PINS))
        return;   /* version, arbitration and unimplemented indexes are read-only */
    unsigned pin = (index - IOAPIC_REG_RTE(0)) / 2;
    unsigned shift = (index & 1) ? 32 : 0;
    uint64_t m = (UINT64_C(0xffffffff) << shift) & IOAPIC_RTE_WMASK;
    uint64_t r = (a->rte[pin] & ~m) | (((uint64_t)val << shift) & m);
    if (!(r & IOAPIC_RTE_TM))
        r &= ~IOAPIC_RTE_REMOTE_IRR;   /* an edge-triggered entry has no Remote IRR */
    a->rte[pin] = r;
    ioapic_service_level(a, pin);
}

static uint64_t ioapic_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    Ioapic *a = opaque;
    uint32_t v;
    uint64_t reg = off & ~UINT64_C(3);
    if (reg == IOAPIC_IOREGSEL)
        v = a->ioregsel;
    else if (reg == IOAPIC_IOWIN && size == 4)
        v = ioapic_reg_read(a, a->ioregsel);
    else   /* IOWIN is dword-only (QEMU 7.2 reads narrower accesses as 0) */
        return 0;   /* EOI is write-only; the rest of the window reads 0 */
    v >>= (off & 3) * 8;
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1);
}

static void ioapic_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Ioapic *a = opaque;
    uint64_t reg = off & ~UINT64_C(3);
    unsigned shift = (unsigned)(off & 3) * 8;
    uint32_t m = size >= 4 ? 0xffffffffu : ((1u << (8 * size)) - 1) << shift;
    uint32_t v = (uint32_t)(val << shift);
    switch (reg) {
    case IOAPIC_IOREGSEL:
        a->ioregsel = ((a->ioregsel & ~m) | (v & m)) & 0xff;
        break;
    case IOAPIC_IOWIN:
        if (size == 4)
            ioapic_reg_write(a, a->ioregsel, v);
        break;
    case IOAPIC_EOI:
        if (m & 0xff)
            ioapic_eoi(a, (uint8_t)v);
        break;
    default:
        break;
    }
}

static const MmioOps ioapic_ops = {
    .name = "ioapic",
    .read = ioapic_mmio_read,
    .write = ioapic_mmio_write,
    .min_access = 1,
    .max_access = 4,
    .impl_max = 4,
    .unaligned = false,
};

const MmioOps *ioapic_mmio_ops(void)
{
    return &ioapic_ops;
}
