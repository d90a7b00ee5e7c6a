/*
 * Interrupts from the device side: MSI, MSI-X and INTx.
 *
 * A model calls pcie_fn_msi_notify(); the fabric decides, from the
 * function's config space and MSI-X table, whether a message is sent now,
 * held pending (a masked vector, or the MSI-X Function Mask), or dropped
 * (neither MSI nor MSI-X enabled).  A message is a 4-byte upstream memory
 * write carrying the function's requester ID, sent through the same
 * upstream path as DMA, so it needs Bus Master Enable (on the function
 * and on every bridge above) like any other memory write; without it the
 * message is lost, as on hardware.  Unmasking a vector whose pending bit
 * is set sends the message and clears the bit.
 *
 * MSI with several vectors enabled (Multiple Message Enable) ORs the
 * vector number into the low bits of Message Data; a vector beyond the
 * enabled count is folded onto the enabled ones (vector mod count), which
 * is what a device with fewer messages granted than it asked for does.
 *
 * INTx is a level: the function's Interrupt Status bit follows the
 * model's line, and the line is asserted upstream while Interrupt Disable
 * is clear.  The pin is swizzled at every bridge on the way to the root
 * bus ((device + pin - 1) mod 4), and the root complex gets the result.
 *
 * Not modelled: MSI-X table accesses racing message generation (there is
 * no concurrency), the Extended Message Data of MSI, INTx of VFs (none).
 */
#include <string.h>
#include "pcie/pcie_internal.h"
#define LOG_PREFIX "pcie"
#include "core/log.h"

static void msg_send(PcieFn *fn, uint64_t addr, uint32_t data)
{
    if (!pcie_fn_bus_master(fn)) {
        emu_dbg("%s: interrupt message to 0x%" G_GINT64_MODIFIER "x lost: Bus Master Enable clear",
                pcie_fn_name(fn), addr);
        return;
    }
    uint8_t buf[4];
    pcie_le_set(buf, 4, data);
    PcieTlp tlp = pcie_tlp_mem(PCIE_TLP_MWR, pcie_fn_rid(fn), addr, 4);
    pcie_fn_send(fn, &tlp, buf);
}

/* ---- MSI ------------------------------------------------------------------------ */

typedef struct MsiRegs {
    uint16_t ctrl;
    uint8_t data, mask, pending;   /* offsets from the capability; 0 = absent */
    unsigned nvec;                 /* vectors enabled */
} MsiRegs;

static MsiRegs msi_regs(PcieFn *fn)
{
    MsiRegs r = { 0 };
    r.ctrl = (uint16_t)pcie_fn_get(fn, fn->msi_cap + PCI_MSI_FLAGS, 2);
    bool a64 = r.ctrl & PCI_MSI_FLAGS_64BIT;
    r.data = a64 ? 0x0c : 0x08;
    if (r.ctrl & PCI_MSI_FLAGS_MASKBIT) {
        r.mask = r.data + 4;
        r.pending = r.data + 8;
    }
    unsigned mme = (r.ctrl & PCI_MSI_FLAGS_QSIZE) >> 4;
    unsigned mmc = (r.ctrl & PCI_MSI_FLAGS_QMASK) >> 1;
    r.nvec = 1u << MIN(mme, mmc);
    return r;
}

static void msi_send(PcieFn *fn, const MsiRegs *r, unsigned v)
{
    uint8_t c = fn->msi_cap;
    uint64_t addr = pcie_fn_get(fn, c + PCI_MSI_ADDRESS_LO, 4);
    if (r->ctrl & PCI_MSI_FLAGS_64BIT) {
        addr |= (uint64_t)pcie_fn_get(fn, c + 0x08, 4) << 32;
    }
    uint32_t data = pcie_fn_get(fn, c + r->data, 2);
    data = (data & ~(r->nvec - 1)) | v;
    msg_send(fn, addr, data);
}

static void msi_notify(PcieFn *fn, unsigned vector)
{
    MsiRegs r = msi_regs(fn);
    unsigned v = vector % r.nvec;
    uint8_t c = fn->msi_cap;
    if (r.mask && (pcie_fn_get(fn, c + r.mask, 4) >> v & 1)) {
        pcie_fn_set(fn, c + r.pending, 4, pcie_fn_get(fn, c + r.pending, 4) | (1u << v));
        return;
    }
    msi_send(fn, &r, v);
}

void pcie_msi_config_write(PcieFn *fn, uint16_t off, unsigned size)
{
    (void)off;
    (void)size;
    MsiRegs r = msi_regs(fn);
    if (!(r.ctrl & PCI_MSI_FLAGS_ENABLE) || !r.mask) {
        return;
    }
    uint8_t c = fn->msi_cap;
    for (unsigned v = 0; v < 32; v++) {
        uint32_t mask = pcie_fn_get(fn, c + r.mask, 4), pend = pcie_fn_get(fn, c + r.pending, 4);
        if ((pend >> v & 1) && !(mask >> v & 1) && v < r.nvec) {
            pcie_fn_set(fn, c + r.pending, 4, pend & ~(1u << v));
            msi_send(fn, &r, v);
        }
    }
}

/* ---- MSI-X ---------------------------------------------------------------------- */

void pcie_msix_reset(PcieFn *fn)
{
    if (!fn->msix_n) {
        return;
    }
    memset(fn->msix_table, 0, (size_t)fn->msix_n * PCI_MSIX_ENTRY_SIZE);
    memset(fn->msix_pba, 0, ((fn->msix_n + 63) / 64) * 8);
    for (unsigned v = 0; v < fn->msix_n; v++) {
        fn->msix_table[v * PCI_MSIX_ENTRY_SIZE + PCI_MSIX_ENTRY_VECTOR_CTRL] =
            PCI_MSIX_ENTRY_CTRL_MASKBIT;
    }
}

static uint16_t msix_ctrl(PcieFn *fn)
{
    return (uint16_t)pcie_fn_get(fn, fn->msix_cap + PCI_MSIX_FLAGS, 2);
}

static bool pba_test(PcieFn *fn, unsigned v)
{
    return fn->msix_pba[v / 8] >> (v % 8) & 1;
}

static void pba_set(PcieFn *fn, unsigned v, bool on)
{
    if (on) {
        fn->msix_pba[v / 8] |= (uint8_t)(1u << (v % 8));
    } else {
        fn->msix_pba[v / 8] &= (uint8_t)~(1u << (v % 8));
    }
}

static bool msix_vector_masked(PcieFn *fn, unsigned v)
{
    const uint8_t *e = fn->msix_table + v * PCI_MSIX_ENTRY_SIZE;
    return (msix_ctrl(fn) & PCI_MSIX_FLAGS_MASKALL) ||
           (e[PCI_MSIX_ENTRY_VECTOR_CTRL] & PCI_MSIX_ENTRY_CTRL_MASKBIT);
}

static void msix_send(PcieFn *fn, unsigned v)
{
    const uint8_t *e = fn->msix_table + v * PCI_MSIX_ENTRY_SIZE;
    uint64_t addr = pcie_le_get(e, 4) | ((uint64_t)pcie_le_get(e + 4, 4) << 32);
    msg_send(fn, addr, pcie_le_get(e + 8, 4));
}

/* Sends every pending vector that is no longer masked. */
static void msix_flush(PcieFn *fn)
{
    if (!(msix_ctrl(fn) & PCI_MSIX_FLAGS_ENABLE)) {
        return;
    }
    for (unsigned v = 0; v < fn->msix_n; v++) {
        if (pba_test(fn, v) && !msix_vector_masked(fn, v)) {
            pba_set(fn, v, false);
            msix_send(fn, v);
        }
    }
}

void pcie_msix_config_write(PcieFn *fn, uint16_t off, unsigned size)
{
    (void)off;
    (void)size;
    msix_flush(fn);
}

bool pcie_msix_bar_has(PcieFn *fn, unsigned bar)
{
    return fn->msix_n && (fn->msix_table_bar == bar || fn->msix_pba_bar == bar);
}

static bool in_range(uint64_t off, unsigned size, uint64_t base, uint64_t len)
{
    return off >= base && off + size <= base + len;
}

uint64_t pcie_msix_mmio_read(PcieFn *fn, unsigned bar, uint64_t off, unsigned size, bool *hit)
{
    *hit = false;
    if (!fn->msix_n) {
        return 0;
    }
    uint64_t tlen = (uint64_t)fn->msix_n * PCI_MSIX_ENTRY_SIZE;
    uint64_t plen = ((fn->msix_n + 63) / 64) * 8;
    uint64_t v = 0;
    if (bar == fn->msix_table_bar && in_range(off, size, fn->msix_table_off, tlen)) {
        *hit = true;
        for (unsigned i = 0; i < size; i++) {
            v |= (uint64_t)fn->msix_table[off - fn->msix_table_off + i] << (8 * i);
        }
    } else if (bar == fn->msix_pba_bar && in_range(off, size, fn->msix_pba_off, plen)) {
        *hit = true;
        for (unsigned i = 0; i < size; i++) {
            v |= (uint64_t)fn->msix_pba[off - fn->msix_pba_off + i] << (8 * i);
        }
    }
    return v;
}

bool pcie_msix_mmio_write(PcieFn *fn, unsigned bar, uint64_t off, uint64_t val, unsigned size)
{
    if (!fn->msix_n) {
        return false;
    }
    uint64_t tlen = (uint64_t)fn->msix_n * PCI_MSIX_ENTRY_SIZE;
    uint64_t plen = ((fn->msix_n + 63) / 64) * 8;
    if (bar == fn->msix_table_bar && in_range(off, size, fn->msix_table_off, tlen)) {
        uint64_t t = off - fn->msix_table_off;
        for (unsigned i = 0; i < size; i++) {
            uint64_t b = t + i;
            uint8_t byte = (uint8_t)(val >> (8 * i));
            if (b % PCI_MSIX_ENTRY_SIZE >= PCI_MSIX_ENTRY_VECTOR_CTRL) {
                /* Vector Control: only the Mask Bit is writable (the rest reserved). */
                if (b % PCI_MSIX_ENTRY_SIZE == PCI_MSIX_ENTRY_VECTOR_CTRL) {
                    fn->msix_table[b] = byte & PCI_MSIX_ENTRY_CTRL_MASKBIT;
                }
                continue;
            }
            fn->msix_table[b] = byte;
        }
        msix_flush(fn);
        return true;
    }
    if (bar == fn->msix_pba_bar && in_range(off, size, fn->msix_pba_off, plen)) {
        return true;   /* the PBA is read-only */
    }
    return false;
}

/* ---- notify ----------------------------------------------------------------------- */

bool pcie_fn_msi_enabled(PcieFn *fn)
{
    return fn->msi_cap && (pcie_fn_get(fn, fn->msi_cap + PCI_MSI_FLAGS, 2) & PCI_MSI_FLAGS_ENABLE);
}

bool pcie_fn_msix_enabled(PcieFn *fn)
{
    return fn->msix_cap && (msix_ctrl(fn) & PCI_MSIX_FLAGS_ENABLE);
}

void pcie_fn_msi_notify(PcieFn *fn, unsigned vector)
{
    if (pcie_fn_msix_enabled(fn)) {
        if (vector >= fn->msix_n) {
            emu_warn("%s: MSI-X vector %u beyond the table (%u entries)", pcie_fn_name(fn), vector,
                     fn->msix_n);
            return;
        }
        if (msix_vector_masked(fn, vector)) {
            pba_set(fn, vector, true);
        } else {
            msix_send(fn, vector);
        }
        return;
    }
    if (pcie_fn_msi_enabled(fn)) {
        msi_notify(fn, vector);
    }
}

/* ---- INTx --------------------------------------------------------------------------- */

void pcie_intx_update(PcieFn *fn)
{
    uint16_t st = (uint16_t)pcie_fn_get(fn, PCI_STATUS, 2);
    st = fn->intx_level ? (st | PCI_STATUS_INTERRUPT) : (st & ~PCI_STATUS_INTERRUPT);
    pcie_fn_set(fn, PCI_STATUS, 2, st);
    unsigned pin = pcie_fn_get(fn, PCI_INTERRUPT_PIN, 1);
    bool assert = fn->intx_level && pin >= 1 && pin <= 4 &&
                  !(pcie_fn_get(fn, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE);
    if (assert == fn->intx_asserted) {
        return;
    }
    fn->intx_asserted = assert;
    unsigned p = pin;
    for (PcieFn *x = fn; x->parent; x = x->parent) {
        p = ((p - 1 + (x->devfn >> 3)) % 4) + 1;
    }
    PcieFabric *f = fn->fabric;
    if (f->rc && f->rc->intx) {
        f->rc->intx(f->rc_opaque, fn, p, assert);
    }
}

void pcie_fn_set_intx(PcieFn *fn, bool level)
{
    if (fn->pf) {
        return;   /* VFs have no INTx */
    }
    fn->intx_level = level;
    pcie_intx_update(fn);
}
