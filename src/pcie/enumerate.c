/*
 * Firmware-style enumeration: bus numbers, BAR sizing and assignment,
 * bridge windows and command bits, done with config cycles only.
 *
 * Bus numbers are given depth first.  Before the bridges of a bus are
 * numbered, the bus numbers the VFs of every PF on that bus may occupy
 * (at TotalVFs, with the First VF Offset and VF Stride in effect after
 * the ARI set-up below) are reserved, so the VFs stay inside the range
 * of the bridge above and never collide with a sibling bridge's buses.
 * Like Linux, a downstream port whose device 0 has an ARI capability gets
 * ARI Forwarding Enable, and the PFs below get ARI Capable Hierarchy.
 *
 * Resources are laid out per bus and per window kind (non-prefetchable
 * memory, prefetchable 64-bit memory, I/O): the items of a bus (BARs,
 * VF BARs sized TotalVFs * per-VF size, and child bridge windows) are
 * sorted by decreasing alignment and packed, which never wastes space
 * between naturally aligned power-of-two items.  Bridge windows have
 * 1 MiB (memory) and 4 KiB (I/O) granularity.  64-bit prefetchable BARs
 * go into the prefetchable windows and mem64 (or right after the mem32
 * allocations when mem64 is empty); everything else memory into mem32.
 */
#include <string.h>
#include "pcie/pcie_internal.h"

enum { WIN_MEM, WIN_PREF, WIN_IO, WIN_N };

typedef struct EnumItem {
    PcieFn *fn;
    int kind;         /* 0 BAR, 1 VF BAR, 2 bridge window */
    unsigned idx;
    uint64_t size, align, off;
} EnumItem;

/* ---- bus numbers ------------------------------------------------------------- */

static void cfgw(PcieFn *fn, uint16_t off, unsigned size, uint32_t v)
{
    pcie_fn_config_write(fn, off, size, v);
}

static void setup_ari(PcieFn *port)
{
    if (port->kind != PCIE_KIND_ROOT_PORT && port->kind != PCIE_KIND_SWITCH_DOWN) {
        return;
    }
    PcieFn *f0 = NULL;
    for (guint i = 0; i < port->children->len; i++) {
        PcieFn *x = g_ptr_array_index(port->children, i);
        if (x->devfn == 0) {
            f0 = x;
        }
    }
    if (!f0 || !pcie_fn_find_ext_cap(f0, PCI_EXT_CAP_ID_ARI) || !port->exp_cap) {
        return;
    }
    uint16_t dc2 = (uint16_t)pcie_fn_get(port, port->exp_cap + PCI_EXP_DEVCTL2, 2);
    cfgw(port, port->exp_cap + PCI_EXP_DEVCTL2, 2, dc2 | PCI_EXP_DEVCTL2_ARI);
    for (guint i = 0; i < port->children->len; i++) {
        PcieFn *x = g_ptr_array_index(port->children, i);
        if (x->sriov_cap && !x->vfs) {
            uint16_t ctrl = (uint16_t)pcie_fn_get(x, x->sriov_cap + PCI_SRIOV_CTRL, 2);
            cfgw(x, x->sriov_cap + PCI_SRIOV_CTRL, 2, ctrl | PCI_SRIOV_CTRL_ARI);
        }
    }
}

/* Numbers the buses below @fns (on bus @bus); returns the highest bus used. */
static int scan_bus(GPtrArray *fns, unsigned bus, unsigned next, GError **error)
{
    unsigned max = bus;
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        if (x->sriov_cap && x->sriov.total_vfs) {
            uint32_t off = pcie_fn_get(x, x->sriov_cap + PCI_SRIOV_VF_OFFSET, 2);
            uint32_t stride = pcie_fn_get(x, x->sriov_cap + PCI_SRIOV_VF_STRIDE, 2);
            uint32_t last = (bus << 8) + x->devfn + off + (x->sriov.total_vfs - 1u) * stride;
            if (last > 0xffff) {
                g_set_error(error, PCIE_ERROR, PCIE_ERROR_NO_SPACE,
                            "%s: its VFs need bus numbers beyond 255", pcie_fn_name(x));
                return -1;
            }
            max = MAX(max, last >> 8);
        }
    }
    next = MAX(next, max + 1);
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *br = g_ptr_array_index(fns, i);
        if (!br->is_bridge) {
            continue;
        }
        if (next > 255) {
            g_set_error(error, PCIE_ERROR, PCIE_ERROR_NO_SPACE,
                        "%s: no bus number left for its secondary bus", pcie_fn_name(br));
            return -1;
        }
        cfgw(br, PCI_PRIMARY_BUS, 1, bus);
        cfgw(br, PCI_SECONDARY_BUS, 1, next);
        cfgw(br, PCI_SUBORDINATE_BUS, 1, 0xff);
        setup_ari(br);
        int sub = scan_bus(br->children, next, next + 1, error);
        if (sub < 0) {
            return -1;
        }
        cfgw(br, PCI_SUBORDINATE_BUS, 1, (uint32_t)sub);
        max = MAX(max, (unsigned)sub);
        next = (unsigned)sub + 1;
    }
    return (int)max;
}

/* ---- sizing ------------------------------------------------------------------- */

static int win_of(unsigned flags)
{
    if (flags & PCIE_BAR_IO) {
        return WIN_IO;
    }
    return ((flags & PCIE_BAR_PREFETCH) && (flags & PCIE_BAR_MEM64)) ? WIN_PREF : WIN_MEM;
}

/* Sizes a BAR register pair at @reg the way firmware does: all ones, read back, restore. */
static uint64_t probe_bar(PcieFn *fn, uint16_t reg, unsigned *flags)
{
    uint32_t orig = pcie_fn_config_read(fn, reg, 4);
    cfgw(fn, reg, 4, 0xffffffff);
    uint32_t lo = pcie_fn_config_read(fn, reg, 4);
    cfgw(fn, reg, 4, orig);
    if (lo == 0) {
        return 0;
    }
    if (lo & PCIE_BAR_IO) {
        *flags = PCIE_BAR_IO;
        uint32_t m = lo & ~3u;
        return m ? (uint64_t)(~m + 1) & 0xffffffffu : 0;
    }
    *flags = lo & (PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH);
    uint64_t mask = lo & ~0xfu;
    if (lo & PCIE_BAR_MEM64) {
        uint32_t origh = pcie_fn_config_read(fn, reg + 4, 4);
        cfgw(fn, reg + 4, 4, 0xffffffff);
        mask |= (uint64_t)pcie_fn_config_read(fn, reg + 4, 4) << 32;
        cfgw(fn, reg + 4, 4, origh);
    } else {
        mask |= 0xffffffff00000000ull;
    }
    return mask ? ~mask + 1 : 0;
}

static void add_item(GArray *items, PcieFn *fn, int kind, unsigned idx, uint64_t size,
                     uint64_t align)
{
    EnumItem it = { fn, kind, idx, size, align, 0 };
    g_array_append_val(items, it);
}

static gint item_cmp(gconstpointer a, gconstpointer b)
{
    const EnumItem *x = a, *y = b;
    if (x->align != y->align) {
        return x->align > y->align ? -1 : 1;
    }
    return 0;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    return (v + a - 1) & ~(a - 1);
}

/*
 * Lays out the items of one window kind on the bus of @fns.  Returns the
 * items (caller frees) with offsets from an origin aligned to *@align;
 * *@size is the extent.
 */
static GArray *layout(GPtrArray *fns, int win, uint64_t *size, uint64_t *align)
{
    GArray *items = g_array_new(FALSE, FALSE, sizeof(EnumItem));
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        unsigned nbar = x->is_bridge ? 2 : 6;
        for (unsigned b = 0; b < nbar; b++) {
            unsigned flags = 0;
            uint64_t sz = probe_bar(x, PCI_BASE_ADDRESS_0 + 4 * b, &flags);
            if (sz && win_of(flags) == win) {
                add_item(items, x, 0, b, sz, sz);
            }
            if (sz && (flags & PCIE_BAR_MEM64)) {
                b++;
            }
        }
        if (x->sriov_cap) {
            for (unsigned b = 0; b < 6; b++) {
                unsigned flags = 0;
                uint64_t sz = probe_bar(x, x->sriov_cap + PCI_SRIOV_BAR + 4 * b, &flags);
                if (sz && win_of(flags) == win) {
                    add_item(items, x, 1, b, sz * x->sriov.total_vfs, sz);
                }
                if (sz && (flags & PCIE_BAR_MEM64)) {
                    b++;
                }
            }
        }
        if (x->is_bridge) {
            uint64_t csz, calign;
            GArray *sub = layout(x->children, win, &csz, &calign);
            g_array_free(sub, TRUE);
            uint64_t gran = win == WIN_IO ? 0x1000 : 0x100000;
            if (csz) {
                add_item(items, x, 2, 0, align_up(csz, gran), MAX(calign, gran));
            }
        }
    }
    g_array_sort(items, item_cmp);
    uint64_t off = 0;
    *align = 1;
    for (guint i = 0; i < items->len; i++) {
        EnumItem *it = &g_array_index(items, EnumItem, i);
        if (i == 0) {
            *align = it->align;
        }
        off = align_up(off, it->align);
        it->off = off;
        off += it->size;
    }
    *size = off;
    return items;
}

static void write_bar(PcieFn *fn, uint16_t reg, uint64_t a)
{
    uint32_t lo = pcie_fn_config_read(fn, reg, 4);
    cfgw(fn, reg, 4, (uint32_t)a | (lo & 0xf));
    if ((lo & (PCIE_BAR_IO | PCIE_BAR_MEM64)) == PCIE_BAR_MEM64) {
        cfgw(fn, reg + 4, 4, (uint32_t)(a >> 32));
    }
}

static void set_window(PcieFn *br, int win, uint64_t base, uint64_t size)
{
    uint64_t limit = base + size - 1;
    bool off = size == 0;
    switch (win) {
    case WIN_IO:
        cfgw(br, PCI_IO_BASE, 1, off ? 0xf0 : (uint32_t)(base >> 8) & 0xf0);
        cfgw(br, PCI_IO_LIMIT, 1, off ? 0x00 : (uint32_t)(limit >> 8) & 0xf0);
        break;
    case WIN_MEM:
        cfgw(br, PCI_MEMORY_BASE, 2, off ? 0xfff0 : (uint32_t)(base >> 16) & 0xfff0);
        cfgw(br, PCI_MEMORY_LIMIT, 2, off ? 0x0000 : (uint32_t)(limit >> 16) & 0xfff0);
        break;
    case WIN_PREF:
        cfgw(br, PCI_PREF_MEMORY_BASE, 2, off ? 0xfff0 : (uint32_t)(base >> 16) & 0xfff0);
        cfgw(br, PCI_PREF_MEMORY_LIMIT, 2, off ? 0x0000 : (uint32_t)(limit >> 16) & 0xfff0);
        cfgw(br, PCI_PREF_BASE_UPPER32, 4, off ? 0xffffffff : (uint32_t)(base >> 32));
        cfgw(br, PCI_PREF_LIMIT_UPPER32, 4, off ? 0 : (uint32_t)(limit >> 32));
        break;
    }
}

static void assign(GPtrArray *fns, int win, uint64_t base)
{
    uint64_t size, align;
    GArray *items = layout(fns, win, &size, &align);
    for (guint i = 0; i < items->len; i++) {
        EnumItem *it = &g_array_index(items, EnumItem, i);
        uint64_t a = base + it->off;
        switch (it->kind) {
        case 0:
            write_bar(it->fn, PCI_BASE_ADDRESS_0 + 4 * it->idx, a);
            break;
        case 1:
            write_bar(it->fn, it->fn->sriov_cap + PCI_SRIOV_BAR + 4 * it->idx, a);
            break;
        default:
            set_window(it->fn, win, a, it->size);
            assign(it->fn->children, win, a);
            break;
        }
    }
    g_array_free(items, TRUE);
}

static bool fn_has_bar(PcieFn *fn, bool io)
{
    for (unsigned b = 0; b < 6; b++) {
        if (fn->bars[b].size && !fn->pf && !!(fn->bars[b].flags & PCIE_BAR_IO) == io) {
            return true;
        }
    }
    return false;
}

static void set_command(PcieFn *fn, void *opaque)
{
    (void)opaque;
    if (fn->pf) {
        return;
    }
    uint16_t cmd = (uint16_t)pcie_fn_get(fn, PCI_COMMAND, 2) | PCI_COMMAND_MASTER;
    if (fn->is_bridge) {
        cmd |= PCI_COMMAND_MEMORY | PCI_COMMAND_IO;
    } else {
        cmd |= (fn_has_bar(fn, false) ? PCI_COMMAND_MEMORY : 0) |
               (fn_has_bar(fn, true) ? PCI_COMMAND_IO : 0);
    }
    cfgw(fn, PCI_COMMAND, 2, cmd);
}

static void close_windows(PcieFn *fn, void *opaque)
{
    (void)opaque;
    if (fn->is_bridge) {
        /* Closed (base above limit) unless a child's resources open them. */
        for (int w = 0; w < WIN_N; w++) {
            set_window(fn, w, 0, 0);
        }
    }
}

static void save_image(PcieFn *fn, void *opaque)
{
    (void)opaque;
    if (!fn->reset_config) {
        pcie_fn_save_reset_image(fn);
    }
}

static bool place(PcieFabric *f, int win, uint64_t lo, uint64_t hi, uint64_t *end,
                  const char *what, GError **error)
{
    uint64_t size, align;
    GArray *items = layout(f->root, win, &size, &align);
    g_array_free(items, TRUE);
    if (!size) {
        *end = lo;
        return true;
    }
    uint64_t base = align_up(lo, align);
    if (base < lo || hi < base || size - 1 > hi - base) {
        g_set_error(error, PCIE_ERROR, PCIE_ERROR_NO_SPACE,
                    "%s window [0x%" G_GINT64_MODIFIER "x, 0x%" G_GINT64_MODIFIER
                    "x] too small: need 0x%" G_GINT64_MODIFIER "x bytes aligned to 0x%"
                    G_GINT64_MODIFIER "x", what, lo, hi, size, align);
        return false;
    }
    assign(f->root, win, base);
    *end = base + size;
    return true;
}

gboolean pcie_fabric_enumerate(PcieFabric *f, const PcieEnumWindows *win, bool buses_only,
                               GError **error)
{
    pcie_fabric_foreach(f, save_image, NULL);
    if (scan_bus(f->root, 0, 1, error) < 0) {
        return FALSE;
    }
    if (buses_only) {
        return TRUE;
    }
    g_assert(win);
    pcie_fabric_foreach(f, close_windows, NULL);
    uint64_t end32 = win->mem32_base, end64, endio;
    if (!place(f, WIN_MEM, win->mem32_base, win->mem32_limit, &end32, "mem32", error)) {
        return FALSE;
    }
    if (win->mem64_limit > win->mem64_base) {
        if (!place(f, WIN_PREF, win->mem64_base, win->mem64_limit, &end64, "mem64", error)) {
            return FALSE;
        }
    } else if (!place(f, WIN_PREF, end32, win->mem32_limit, &end64, "mem32 (prefetchable)",
                      error)) {
        return FALSE;
    }
    if (!place(f, WIN_IO, win->io_base, win->io_limit, &endio, "I/O", error)) {
        return FALSE;
    }
    pcie_fabric_foreach(f, set_command, NULL);
    return TRUE;
}
