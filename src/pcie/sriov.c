/*
 * SR-IOV (PCIe Base 5.0 section 9): the PF's capability, VF creation and
 * removal, VF routing IDs and VF BAR placement.
 *
 * VF Enable with NumVFs in 1..TotalVFs creates NumVFs functions whose
 * routing IDs are PF RID + First VF Offset + n * VF Stride.  A VF has its
 * own config space with the VF header rules: Vendor ID reads 0xFFFF,
 * Device ID is the PF's VF Device ID, its BARs read 0, Memory Space
 * Enable is read-only zero (the PF's VF MSE enables every VF's memory
 * space), no INTx.  VF n's BAR i decodes at VF BAR i + n * size.
 * NumVFs above TotalVFs (or 0) with VF Enable set is a guest error: no
 * VFs are created and the registers keep what software wrote.
 *
 * First VF Offset and VF Stride follow ARI Capable Hierarchy, the choice
 * the SR-IOV chapter leaves to the device.  Ours:
 *  - ARI Capable Hierarchy set (ARI forwarding above, 8-bit function
 *    numbers) or a PF on the root bus (every device number of bus 0 is
 *    reachable): the values given in PcieSriovParams.
 *  - ARI Capable Hierarchy clear below a port: without ARI forwarding
 *    only device 0 of the PF's own bus is reachable, so the device moves
 *    its whole VF layout up to the next bus boundary, where Type 1
 *    forwarding reaches any device number.  The shift is the same for
 *    every PF on the link (it is chosen so that the first VF of the
 *    lowest-numbered SR-IOV PF becomes function 0 of device 0 on the next
 *    bus), so PFs keep the relative positions the params give them and
 *    never collide: First VF Offset = params.first_vf_offset + shift, VF
 *    Stride = params.vf_stride.
 * The registers are recomputed whenever ARI Capable Hierarchy changes
 * while VF Enable is clear.  Changes to ARI Capable Hierarchy or NumVFs
 * while VF Enable is set are ignored (the spec leaves them undefined).
 * ARI Capable Hierarchy is writable in every PF (the spec makes it
 * read-only zero in all but the lowest-numbered PF, which governs all).
 *
 * Not modelled: VF migration, System Page Size affecting VF BAR
 * alignment (VF BARs use their own size), NumVFs-dependent offsets.
 */
#include <string.h>
#include "pcie/pcie_internal.h"
#define LOG_PREFIX "pcie"
#include "core/log.h"

static uint16_t sriov_get(PcieFn *pf, uint16_t reg, unsigned size)
{
    return (uint16_t)pcie_fn_get(pf, pf->sriov_cap + reg, size);
}

/* The lowest-numbered PF with SR-IOV on @pf's link. */
static PcieFn *lowest_pf(PcieFn *pf)
{
    PcieFn *low = pf;
    GPtrArray *sibs = pf->parent ? pf->parent->children : NULL;
    for (guint i = 0; sibs && i < sibs->len; i++) {
        PcieFn *x = g_ptr_array_index(sibs, i);
        if (x->sriov_cap && x->devfn < low->devfn) {
            low = x;
        }
    }
    return low;
}

static void sriov_update_offsets(PcieFn *pf)
{
    bool ari = sriov_get(pf, PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_ARI;
    unsigned off = pf->sriov.first_vf_offset;
    if (!ari && pf->parent) {
        PcieFn *low = lowest_pf(pf);
        unsigned first = low->devfn + low->sriov.first_vf_offset;
        off += ((first + 0xff) & ~0xffu) - first;
    }
    pcie_fn_set(pf, pf->sriov_cap + PCI_SRIOV_VF_OFFSET, 2, off & 0xffff);
    pcie_fn_set(pf, pf->sriov_cap + PCI_SRIOV_VF_STRIDE, 2, pf->sriov.vf_stride);
}

/* A new SR-IOV PF may change the shift of its siblings' layouts. */
static void sriov_update_link(PcieFn *pf)
{
    GPtrArray *sibs = pf->parent ? pf->parent->children : NULL;
    for (guint i = 0; sibs && i < sibs->len; i++) {
        PcieFn *x = g_ptr_array_index(sibs, i);
        if (x->sriov_cap && !(sriov_get(x, PCI_SRIOV_CTRL, 2) & PCI_SRIOV_CTRL_VFE)) {
            sriov_update_offsets(x);
        }
    }
    sriov_update_offsets(pf);
}

uint16_t pcie_cap_sriov_init(PcieFn *fn, const PcieSriovParams *p)
{
    g_assert(!fn->pf && !fn->is_bridge && !fn->sriov_cap);
    g_assert(p->total_vfs >= 1 && p->initial_vfs <= p->total_vfs);
    g_assert(p->total_vfs == 1 || p->vf_stride >= 1);
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_SRIOV, 1, PCI_SRIOV_SIZEOF);
    fn->sriov_cap = c;
    fn->sriov = *p;
    pcie_fn_set_masks(fn, c + PCI_SRIOV_CTRL, 2,
                      PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE | PCI_SRIOV_CTRL_ARI, 0);
    pcie_fn_set(fn, c + PCI_SRIOV_INITIAL_VF, 2, p->initial_vfs);
    pcie_fn_set(fn, c + PCI_SRIOV_TOTAL_VF, 2, p->total_vfs);
    pcie_fn_set_masks(fn, c + PCI_SRIOV_NUM_VF, 2, 0xffff, 0);
    pcie_fn_set(fn, c + PCI_SRIOV_FUNC_LINK, 1, fn->devfn);
    pcie_fn_set(fn, c + PCI_SRIOV_VF_DID, 2, p->vf_device_id);
    uint32_t pgs = p->supported_page_sizes ? p->supported_page_sizes : 0x553;
    pcie_fn_set(fn, c + PCI_SRIOV_SUP_PGSIZE, 4, pgs);
    pcie_fn_set(fn, c + PCI_SRIOV_SYS_PGSIZE, 4, 1);
    pcie_fn_set_masks(fn, c + PCI_SRIOV_SYS_PGSIZE, 4, pgs, 0);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t size = p->vf_bar_size[i];
        if (!size) {
            continue;
        }
        unsigned flags = p->vf_bar_flags[i] & (PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH);
        g_assert((size & (size - 1)) == 0 && size >= 16 && !(p->vf_bar_flags[i] & PCIE_BAR_IO));
        g_assert(!(flags & PCIE_BAR_MEM64) || (i < 5 && !p->vf_bar_size[i + 1]));
        g_assert((flags & PCIE_BAR_MEM64) || size <= (1ull << 31));
        uint16_t reg = c + PCI_SRIOV_BAR + 4 * i;
        pcie_fn_set(fn, reg, 4, flags);
        pcie_fn_set_masks(fn, reg, 4, (uint32_t)(~(size - 1) & 0xfffffff0u), 0);
        if (flags & PCIE_BAR_MEM64) {
            pcie_fn_set_masks(fn, reg + 4, 4, (uint32_t)(~(size - 1) >> 32), 0);
        }
    }
    sriov_update_link(fn);
    return c;
}

uint16_t pcie_sriov_vf_rid(PcieFn *pf, unsigned n)
{
    uint32_t off = sriov_get(pf, PCI_SRIOV_VF_OFFSET, 2);
    uint32_t stride = sriov_get(pf, PCI_SRIOV_VF_STRIDE, 2);
    return (uint16_t)(pcie_fn_rid(pf) + off + n * stride);
}

uint64_t pcie_sriov_vf_bar_base(PcieFn *pf, unsigned idx)
{
    uint16_t reg = pf->sriov_cap + PCI_SRIOV_BAR + 4 * idx;
    uint32_t lo = pcie_fn_get(pf, reg, 4);
    uint64_t a = lo & ~0xfu;
    if ((lo & PCIE_BAR_MEM64) && idx < 5) {
        a |= (uint64_t)pcie_fn_get(pf, reg + 4, 4) << 32;
    }
    return a;
}

uint64_t pcie_fn_sriov_vf_bar_size(PcieFn *pf, unsigned idx)
{
    g_assert(idx < 6);
    return pf->sriov_cap ? pf->sriov.vf_bar_size[idx] : 0;
}

unsigned pcie_fn_num_vfs(PcieFn *pf)
{
    return pf->vfs ? pf->vfs->len : 0;
}

PcieFn *pcie_fn_vf(PcieFn *pf, unsigned index)
{
    g_assert(pf->vfs && index < pf->vfs->len);
    return g_ptr_array_index(pf->vfs, index);
}

static PcieFn *vf_create(PcieFn *pf, unsigned n)
{
    uint32_t cls = pcie_fn_get(pf, PCI_CLASS_PROG, 1) | (pcie_fn_get(pf, PCI_CLASS_DEVICE, 2) << 8);
    PcieFn *vf = pcie_fn_alloc(pf->fabric, pf->parent, 0, pf->kind, 0xffff,
                               pf->sriov.vf_device_id, cls, NULL, NULL);
    vf->pf = pf;
    vf->vf_index = n;
    g_free(vf->base_name);
    vf->base_name = g_strdup_printf("%s VF%u", pf->base_name, n);
    pcie_fn_init_header(vf);
    pcie_fn_set(vf, PCI_REVISION_ID, 1, pcie_fn_get(pf, PCI_REVISION_ID, 1));
    pcie_fn_set(vf, PCI_SUBSYSTEM_VENDOR_ID, 2, pcie_fn_get(pf, PCI_SUBSYSTEM_VENDOR_ID, 2));
    pcie_fn_set(vf, PCI_SUBSYSTEM_ID, 2, pcie_fn_get(pf, PCI_SUBSYSTEM_ID, 2));
    pcie_cap_exp_init(vf);
    for (unsigned i = 0; i < 6; i++) {
        if (pf->sriov.vf_bar_size[i]) {
            vf->bars[i].size = pf->sriov.vf_bar_size[i];
            vf->bars[i].flags = pf->sriov.vf_bar_flags[i] & (PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH);
        }
    }
    return vf;
}

static void sriov_enable(PcieFn *pf)
{
    unsigned num = sriov_get(pf, PCI_SRIOV_NUM_VF, 2);
    if (num == 0 || num > pf->sriov.total_vfs) {
        emu_guest_error("%s: VF Enable with NumVFs=%u (TotalVFs=%u): no VFs created",
                        pcie_fn_name(pf), num, pf->sriov.total_vfs);
        return;
    }
    pf->vfs = g_ptr_array_new();
    for (unsigned n = 0; n < num; n++) {
        g_ptr_array_add(pf->vfs, vf_create(pf, n));
    }
    for (unsigned n = 0; n < num; n++) {
        PcieFn *vf = g_ptr_array_index(pf->vfs, n);
        if (pf->sriov.vf_added) {
            pf->sriov.vf_added(pf->opaque, pf, vf);
        }
        pcie_fn_save_reset_image(vf);
    }
}

void pcie_sriov_remove_vfs(PcieFn *pf)
{
    if (!pf->vfs) {
        return;
    }
    GPtrArray *vfs = pf->vfs;
    for (guint i = vfs->len; i-- > 0;) {
        PcieFn *vf = g_ptr_array_index(vfs, i);
        if (pf->sriov.vf_removed) {
            pf->sriov.vf_removed(pf->opaque, pf, vf);
        }
    }
    pf->vfs = NULL;   /* the VFs are gone for routing before their models are torn down */
    for (guint i = vfs->len; i-- > 0;) {
        pcie_fn_destroy(g_ptr_array_index(vfs, i));
    }
    g_ptr_array_free(vfs, TRUE);
}

void pcie_sriov_config_write(PcieFn *pf, uint16_t old_ctrl, uint16_t old_num)
{
    uint16_t c = pf->sriov_cap;
    uint16_t ctrl = sriov_get(pf, PCI_SRIOV_CTRL, 2);
    bool was_on = old_ctrl & PCI_SRIOV_CTRL_VFE, on = ctrl & PCI_SRIOV_CTRL_VFE;

    if (was_on && ((ctrl ^ old_ctrl) & PCI_SRIOV_CTRL_ARI) && on) {
        ctrl = (uint16_t)((ctrl & ~PCI_SRIOV_CTRL_ARI) | (old_ctrl & PCI_SRIOV_CTRL_ARI));
        pcie_fn_set(pf, c + PCI_SRIOV_CTRL, 2, ctrl);
    }
    if (was_on) {
        pcie_fn_set(pf, c + PCI_SRIOV_NUM_VF, 2, old_num);  /* frozen while VF Enable is set */
    }
    if (was_on && !on) {
        pcie_sriov_remove_vfs(pf);
    }
    if ((ctrl ^ old_ctrl) & PCI_SRIOV_CTRL_ARI) {
        sriov_update_offsets(pf);   /* before any VF of this write gets its RID */
    }
    if (!was_on && on) {
        sriov_enable(pf);
    }
    pcie_fabric_update_decode(pf->fabric);
}
