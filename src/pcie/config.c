/*
 * Config space of one function: the generic masked write path, the
 * standard type 0 / type 1 header semantics, and BAR decoding.
 *
 * Every write goes through one path: the writable mask selects the bits
 * software may change, the write-1-to-clear mask the bits a one clears,
 * and every other bit keeps its value (read-only, including reserved
 * bits, which read as the model initialised them - zero).  Side effects
 * are then derived from the resulting bytes: the fabric never keeps a
 * second copy of a BAR address or a bridge window, it recomputes which
 * BARs decode where after any write that may change it.
 *
 * BAR decoding follows the hardware rule: a BAR decodes while its
 * function's Memory (I/O) Space Enable is set and every bridge above
 * forwards the whole range (its own enable bit set and the range inside
 * its memory, prefetchable or I/O window).  One simplification: a BAR
 * whose address is 0, or that does not fit the system space (as it does
 * while being sized), is treated as unassigned and decodes nothing, so a
 * device that sets Memory Space Enable before its BARs are programmed
 * never shadows RAM at address 0.
 *
 * Not modelled: expansion ROMs (the ROM BAR reads 0, which means "no
 * ROM"), 32-bit I/O windows on bridges (the I/O base/limit registers say
 * "16-bit decode"), VGA and ISA forwarding, secondary bus reset.
 */
#include <string.h>
#include "pcie/pcie_internal.h"
#define LOG_PREFIX "pcie"
#include "core/log.h"

static inline bool overlaps(uint16_t off, unsigned size, uint16_t lo, unsigned len)
{
    return off < lo + len && lo < off + size;
}

uint8_t *pcie_fn_config(PcieFn *fn)
{
    return fn->config;
}

uint32_t pcie_fn_get(PcieFn *fn, uint16_t off, unsigned size)
{
    g_assert(size >= 1 && size <= 4 && off + size <= PCIE_CONFIG_SIZE);
    return pcie_le_get(fn->config + off, size);
}

void pcie_fn_set(PcieFn *fn, uint16_t off, unsigned size, uint32_t val)
{
    g_assert(size >= 1 && size <= 4 && off + size <= PCIE_CONFIG_SIZE);
    pcie_le_set(fn->config + off, size, val);
}

void pcie_fn_set_masks(PcieFn *fn, uint16_t off, unsigned size, uint32_t wmask, uint32_t w1cmask)
{
    g_assert(size >= 1 && size <= 4 && off + size <= PCIE_CONFIG_SIZE);
    g_assert((wmask & w1cmask) == 0);
    pcie_le_set(fn->wmask + off, size, wmask);
    pcie_le_set(fn->w1cmask + off, size, w1cmask);
}

void pcie_fn_save_reset_image(PcieFn *fn)
{
    if (!fn->reset_config) {
        fn->reset_config = g_malloc(PCIE_CONFIG_SIZE);
    }
    memcpy(fn->reset_config, fn->config, PCIE_CONFIG_SIZE);
}

/* Standard header masks (PCI Local Bus 3.0 chapter 6, PCI-to-PCI Bridge 1.2). */
void pcie_fn_init_header(PcieFn *fn)
{
    /* Command: I/O, Memory, Bus Master, Parity Error Response, SERR#, Interrupt Disable. */
    uint16_t cmd_w = PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER | 0x0040 |
                     PCI_COMMAND_SERR | PCI_COMMAND_INTX_DISABLE;
    if (fn->pf) {
        /* A VF's Memory Space is enabled by the PF's VF MSE; no I/O, no INTx. */
        cmd_w = PCI_COMMAND_MASTER | 0x0040 | PCI_COMMAND_SERR;
    }
    pcie_fn_set_masks(fn, PCI_COMMAND, 2, cmd_w, 0);
    /* Status: Master Data Parity Error, Signaled/Received Target Abort,
     * Received Master Abort, Signaled System Error, Detected Parity Error. */
    pcie_fn_set_masks(fn, PCI_STATUS, 2, 0, 0xf900);
    pcie_fn_set_masks(fn, PCI_CACHE_LINE_SIZE, 1, 0xff, 0);
    pcie_fn_set_masks(fn, PCI_INTERRUPT_LINE, 1, 0xff, 0);
    pcie_fn_set(fn, PCI_HEADER_TYPE, 1, fn->is_bridge ? 1 : 0);
    if (!fn->is_bridge) {
        if (!fn->pf && fn->kind != PCIE_KIND_HOST_BRIDGE) {   /* endpoints and PCI devices */
            pcie_fn_set(fn, PCI_INTERRUPT_PIN, 1, 1);   /* INTA */
        }
        return;
    }
    pcie_fn_set_masks(fn, PCI_PRIMARY_BUS, 1, 0xff, 0);
    pcie_fn_set_masks(fn, PCI_SECONDARY_BUS, 1, 0xff, 0);
    pcie_fn_set_masks(fn, PCI_SUBORDINATE_BUS, 1, 0xff, 0);
    pcie_fn_set_masks(fn, PCI_IO_BASE, 1, 0xf0, 0);
    pcie_fn_set_masks(fn, PCI_IO_LIMIT, 1, 0xf0, 0);
    pcie_fn_set_masks(fn, PCI_SEC_STATUS, 2, 0, 0xf900);
    pcie_fn_set_masks(fn, PCI_MEMORY_BASE, 2, 0xfff0, 0);
    pcie_fn_set_masks(fn, PCI_MEMORY_LIMIT, 2, 0xfff0, 0);
    /* Prefetchable window: 64-bit addressing (low nibble 1). */
    pcie_fn_set(fn, PCI_PREF_MEMORY_BASE, 2, 0x0001);
    pcie_fn_set(fn, PCI_PREF_MEMORY_LIMIT, 2, 0x0001);
    pcie_fn_set_masks(fn, PCI_PREF_MEMORY_BASE, 2, 0xfff0, 0);
    pcie_fn_set_masks(fn, PCI_PREF_MEMORY_LIMIT, 2, 0xfff0, 0);
    pcie_fn_set_masks(fn, PCI_PREF_BASE_UPPER32, 4, 0xffffffff, 0);
    pcie_fn_set_masks(fn, PCI_PREF_LIMIT_UPPER32, 4, 0xffffffff, 0);
    /* Bridge Control: Parity Error Response, SERR# Enable, ISA, VGA, VGA 16-bit,
     * Secondary Bus Reset. */
    pcie_fn_set_masks(fn, PCI_BRIDGE_CONTROL, 2, 0x005f, 0);
}

/* ---- BARs ----------------------------------------------------------------- */

static unsigned bar_count(const PcieFn *fn)
{
    return fn->is_bridge ? 2 : 6;
}

void pcie_fn_bar_init(PcieFn *fn, unsigned idx, uint64_t size, unsigned flags,
                      const MmioOps *ops, void *opaque)
{
    bool io = flags & PCIE_BAR_IO;
    bool is64 = !io && (flags & PCIE_BAR_MEM64);
    g_assert(idx < bar_count(fn) && (!is64 || idx + 1 < bar_count(fn)));
    g_assert(size && (size & (size - 1)) == 0 && size >= (io ? 4u : 16u));
    g_assert(io || is64 || size <= (1ull << 31));
    PcieBar *bar = &fn->bars[idx];
    if (fn->pf && bar->size) {
        /* The fabric declared the VF BAR at VF Enable; the model attaches its ops. */
        g_assert(size == bar->size);
        bar->ops = ops;
        bar->opaque = opaque;
        pcie_fn_bar_unmap(bar);
        pcie_fn_bar_decode(fn);
        return;
    }
    g_assert(bar->size == 0);
    bar->size = size;
    bar->flags = io ? PCIE_BAR_IO : (flags & (PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH));
    bar->ops = ops;
    bar->opaque = opaque;
    if (fn->pf) {
        /* VF BARs are read-only zero; VF n decodes at the PF's VF BAR plus n * size. */
        g_assert(size == fn->pf->sriov.vf_bar_size[idx]);
        return;
    }
    uint16_t reg = PCI_BASE_ADDRESS_0 + 4 * idx;
    if (io) {
        pcie_fn_set(fn, reg, 4, PCIE_BAR_IO);
        pcie_fn_set_masks(fn, reg, 4, (uint32_t)~(size - 1) & ~3u, 0);
        return;
    }
    pcie_fn_set(fn, reg, 4, bar->flags);
    pcie_fn_set_masks(fn, reg, 4, (uint32_t)(~(size - 1) & 0xfffffff0u), 0);
    if (is64) {
        pcie_fn_set_masks(fn, reg + 4, 4, (uint32_t)(~(size - 1) >> 32), 0);
    }
}

uint64_t pcie_fn_bar_reg_addr(PcieFn *fn, unsigned idx)
{
    PcieBar *bar = &fn->bars[idx];
    uint16_t reg = PCI_BASE_ADDRESS_0 + 4 * idx;
    uint32_t lo = pcie_fn_get(fn, reg, 4);
    if (bar->flags & PCIE_BAR_IO) {
        return lo & ~3u;
    }
    uint64_t a = lo & ~0xfu;
    if (bar->flags & PCIE_BAR_MEM64) {
        a |= (uint64_t)pcie_fn_get(fn, reg + 4, 4) << 32;
    }
    return a;
}

uint64_t pcie_fn_bar_addr(PcieFn *fn, unsigned idx)
{
    g_assert(idx < 6);
    return fn->bars[idx].size ? fn->bars[idx].addr : PCIE_BAR_UNMAPPED;
}

uint64_t pcie_fn_bar_size(PcieFn *fn, unsigned idx)
{
    g_assert(idx < 6);
    return fn->bars[idx].size;
}

/*
 * The region a BAR decodes through.  With the MSI-X table or PBA inside
 * it (or no model ops at all) the fabric serves the access itself and
 * passes other offsets on, enforcing the model's declared access sizes.
 */
static uint64_t model_read(PcieBar *bar, uint64_t off, unsigned size)
{
    const MmioOps *o = bar->ops;
    if (!o || !o->read || size < o->min_access || size > o->max_access ||
        (!o->unaligned && (off & (size - 1)))) {
        return 0;
    }
    unsigned impl = o->impl_max ? o->impl_max : o->max_access;
    if (size <= impl) {
        return o->read(bar->opaque, off, size);
    }
    uint64_t v = 0;
    for (unsigned done = 0; done < size; done += impl) {
        v |= o->read(bar->opaque, off + done, impl) << (8 * done);
    }
    return v;
}

static void model_write(PcieBar *bar, uint64_t off, uint64_t val, unsigned size)
{
    const MmioOps *o = bar->ops;
    if (!o || !o->write || size < o->min_access || size > o->max_access ||
        (!o->unaligned && (off & (size - 1)))) {
        return;
    }
    unsigned impl = o->impl_max ? o->impl_max : o->max_access;
    if (size <= impl) {
        o->write(bar->opaque, off, val, size);
        return;
    }
    for (unsigned done = 0; done < size; done += impl) {
        uint64_t piece = val >> (8 * done);
        if (impl < 8) {
            piece &= (1ull << (8 * impl)) - 1;
        }
        o->write(bar->opaque, off + done, piece, impl);
    }
}

static uint64_t bar_wrap_read(void *opaque, uint64_t off, unsigned size)
{
    PcieBar *bar = opaque;
    bool hit = false;
    uint64_t v = pcie_msix_mmio_read(bar->fn, bar->idx, off, size, &hit);
    return hit ? v : model_read(bar, off, size);
}

static void bar_wrap_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    PcieBar *bar = opaque;
    if (!pcie_msix_mmio_write(bar->fn, bar->idx, off, val, size)) {
        model_write(bar, off, val, size);
    }
}

static const MmioOps bar_wrap_ops = {
    .name = "pcie-bar",
    .read = bar_wrap_read,
    .write = bar_wrap_write,
    .min_access = 1,
    .max_access = 8,
    .impl_max = 8,
    .unaligned = false,
};

void pcie_fn_bar_unmap(PcieBar *bar)
{
    if (bar->region) {
        AddrSpace *as = (bar->flags & PCIE_BAR_IO) ? bar->fn->fabric->io : bar->fn->fabric->mem;
        addr_space_del(as, bar->region);
        bar->region = NULL;
    }
    bar->addr = PCIE_BAR_UNMAPPED;
}

static uint64_t bar_target(PcieFn *fn, PcieBar *bar)
{
    bool io = bar->flags & PCIE_BAR_IO;
    AddrSpace *as = io ? fn->fabric->io : fn->fabric->mem;
    uint64_t a;
    if (!as) {
        return PCIE_BAR_UNMAPPED;
    }
    if (fn->pf) {
        uint16_t ctrl = pcie_fn_get(fn->pf, fn->pf->sriov_cap + PCI_SRIOV_CTRL, 2);
        if (!(ctrl & PCI_SRIOV_CTRL_VFE) || !(ctrl & PCI_SRIOV_CTRL_MSE)) {
            return PCIE_BAR_UNMAPPED;
        }
        uint64_t base = pcie_sriov_vf_bar_base(fn->pf, bar->idx);
        if (base == 0) {
            return PCIE_BAR_UNMAPPED;
        }
        a = base + (uint64_t)fn->vf_index * bar->size;
    } else {
        uint16_t cmd = pcie_fn_get(fn, PCI_COMMAND, 2);
        if (!(cmd & (io ? PCI_COMMAND_IO : PCI_COMMAND_MEMORY))) {
            return PCIE_BAR_UNMAPPED;
        }
        a = pcie_fn_bar_reg_addr(fn, bar->idx);
    }
    uint64_t limit = addr_space_size(as);
    if (a == 0 || a >= limit || bar->size > limit - a) {
        return PCIE_BAR_UNMAPPED;
    }
    if (fn->parent && !pcie_fn_forwards(fn->parent, a, bar->size, io)) {
        return PCIE_BAR_UNMAPPED;
    }
    return a;
}

void pcie_fn_bar_decode(PcieFn *fn)
{
    for (unsigned i = 0; i < 6; i++) {
        PcieBar *bar = &fn->bars[i];
        if (!bar->size) {
            continue;
        }
        uint64_t a = bar_target(fn, bar);
        if (a == bar->addr) {
            continue;
        }
        pcie_fn_bar_unmap(bar);
        if (a == PCIE_BAR_UNMAPPED) {
            continue;
        }
        bool io = bar->flags & PCIE_BAR_IO;
        AddrSpace *as = io ? fn->fabric->io : fn->fabric->mem;
        bool wrap = !bar->ops || pcie_msix_bar_has(fn, i);
        g_free(bar->region_name);
        bar->region_name = g_strdup_printf("%s BAR%u", pcie_fn_name(fn), i);
        bar->region = addr_space_add_mmio(as, bar->region_name, a, bar->size,
                                          wrap ? &bar_wrap_ops : bar->ops,
                                          wrap ? (void *)bar : bar->opaque, PCIE_BAR_PRIORITY);
        bar->addr = a;
    }
}

/* ---- bridge windows ------------------------------------------------------- */

static bool in_window(uint64_t a, uint64_t size, uint64_t base, uint64_t limit)
{
    return base <= limit && a >= base && a + size - 1 <= limit;
}

bool pcie_fn_forwards(PcieFn *br, uint64_t a, uint64_t size, bool io)
{
    for (; br; br = br->parent) {
        uint16_t cmd = pcie_fn_get(br, PCI_COMMAND, 2);
        if (io) {
            uint64_t base = (uint64_t)(pcie_fn_get(br, PCI_IO_BASE, 1) & 0xf0) << 8;
            uint64_t limit = ((uint64_t)(pcie_fn_get(br, PCI_IO_LIMIT, 1) & 0xf0) << 8) | 0xfff;
            if (!(cmd & PCI_COMMAND_IO) || !in_window(a, size, base, limit)) {
                return false;
            }
            continue;
        }
        if (!(cmd & PCI_COMMAND_MEMORY)) {
            return false;
        }
        uint64_t mb = (uint64_t)(pcie_fn_get(br, PCI_MEMORY_BASE, 2) & 0xfff0) << 16;
        uint64_t ml = ((uint64_t)(pcie_fn_get(br, PCI_MEMORY_LIMIT, 2) & 0xfff0) << 16) | 0xfffff;
        uint64_t pb = ((uint64_t)(pcie_fn_get(br, PCI_PREF_MEMORY_BASE, 2) & 0xfff0) << 16) |
                      ((uint64_t)pcie_fn_get(br, PCI_PREF_BASE_UPPER32, 4) << 32);
        uint64_t pl = ((uint64_t)(pcie_fn_get(br, PCI_PREF_MEMORY_LIMIT, 2) & 0xfff0) << 16) |
                      0xfffff | ((uint64_t)pcie_fn_get(br, PCI_PREF_LIMIT_UPPER32, 4) << 32);
        if (!in_window(a, size, mb, ml) && !in_window(a, size, pb, pl)) {
            return false;
        }
    }
    return true;
}

/* ---- the write path ------------------------------------------------------- */

void pcie_fn_config_apply(PcieFn *fn, uint16_t off, unsigned size, uint32_t val)
{
    for (unsigned i = 0; i < size; i++) {
        uint8_t v = (uint8_t)(val >> (8 * i));
        uint8_t *c = &fn->config[off + i];
        uint8_t wm = fn->wmask[off + i], w1c = fn->w1cmask[off + i];
        *c = (uint8_t)(((*c & ~wm) | (v & wm)) & ~(v & w1c));
    }
}

static bool access_ok(uint16_t off, unsigned size)
{
    return (size == 1 || size == 2 || size == 4) && (off & (size - 1)) == 0 &&
           off + size <= PCIE_CONFIG_SIZE;
}

uint32_t pcie_fn_config_read(PcieFn *fn, uint16_t off, unsigned size)
{
    if (!access_ok(off, size)) {
        emu_guest_error("%s: config read of %u bytes at 0x%x (misaligned or out of range)",
                        pcie_fn_name(fn), size, off);
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    return pcie_le_get(fn->config + off, size);
}

void pcie_fn_config_write(PcieFn *fn, uint16_t off, unsigned size, uint32_t val)
{
    if (!access_ok(off, size)) {
        emu_guest_error("%s: config write of %u bytes at 0x%x dropped (misaligned or out of range)",
                        pcie_fn_name(fn), size, off);
        return;
    }
    if (!fn->reset_config) {
        pcie_fn_save_reset_image(fn);
    }
    uint16_t old_sriov_ctrl = 0, old_num_vfs = 0;
    if (fn->sriov_cap) {
        old_sriov_ctrl = (uint16_t)pcie_fn_get(fn, fn->sriov_cap + PCI_SRIOV_CTRL, 2);
        old_num_vfs = (uint16_t)pcie_fn_get(fn, fn->sriov_cap + PCI_SRIOV_NUM_VF, 2);
    }
    uint16_t old_cmd = pcie_fn_get(fn, PCI_COMMAND, 2);

    pcie_fn_config_apply(fn, off, size, val);

    if (overlaps(off, size, PCI_COMMAND, 2) &&
        ((old_cmd ^ pcie_fn_get(fn, PCI_COMMAND, 2)) & PCI_COMMAND_INTX_DISABLE)) {
        pcie_intx_update(fn);
    }
    if (overlaps(off, size, PCI_COMMAND, 2) || overlaps(off, size, PCI_BASE_ADDRESS_0, 0x24)) {
        pcie_fabric_update_decode(fn->fabric);
    }
    if (fn->msi_cap && overlaps(off, size, fn->msi_cap, 0x18)) {
        pcie_msi_config_write(fn, off, size);
    }
    if (fn->msix_cap && overlaps(off, size, fn->msix_cap + PCI_MSIX_FLAGS, 2)) {
        pcie_msix_config_write(fn, off, size);
    }
    if (fn->sriov_cap && overlaps(off, size, fn->sriov_cap, PCI_SRIOV_SIZEOF)) {
        pcie_sriov_config_write(fn, old_sriov_ctrl, old_num_vfs);
    }
    if (fn->ops && fn->ops->config_write) {
        fn->ops->config_write(fn->opaque, fn, off, size, val);
    }
    if (fn->exp_cap && overlaps(off, size, fn->exp_cap + PCI_EXP_DEVCTL + 1, 1) &&
        ((val >> (8 * (fn->exp_cap + PCI_EXP_DEVCTL + 1 - off))) & 0x80) &&
        (pcie_fn_get(fn, fn->exp_cap + PCI_EXP_DEVCAP, 4) & PCI_EXP_DEVCAP_FLR)) {
        pcie_fn_flr(fn);
    }
}

void pcie_fn_flr(PcieFn *fn)
{
    /* Function Level Reset: VFs go away, config and MSI-X state return to
     * their power-on values (sticky bits are not distinguished), then the
     * model resets its own state. */
    pcie_sriov_remove_vfs(fn);
    if (fn->reset_config) {
        memcpy(fn->config, fn->reset_config, PCIE_CONFIG_SIZE);
    }
    pcie_msix_reset(fn);
    /* outstanding page requests are forgotten: responses to them are unexpected */
    fn->pri_outstanding = 0;
    if (fn->pri_prg_count) {
        memset(fn->pri_prg_count, 0, 512 * sizeof *fn->pri_prg_count);
    }
    fn->intx_level = false;
    pcie_intx_update(fn);
    pcie_fabric_update_decode(fn->fabric);
    if (fn->ops && fn->ops->reset) {
        fn->ops->reset(fn->opaque, fn);
    }
}
