/*
 * The configurable endpoint; see endpoint.h.  BAR contents live in a
 * sparse PhysMem per BAR so a 64 GiB BAR costs nothing until written.
 */
#include <string.h>
#include "models/endpoint/endpoint.h"
#include "mem/physmem.h"
#include "core/error.h"
#include "pcie/ats.h"

typedef struct Endpoint {
    PcieFn *fn;
    EndpointParams p;
    PcieDevTlb *devtlb;      /* ATS-capable functions */
    GArray *prg_responses;   /* PciePrgResponse */
    unsigned next_prgi;
    PhysMem *bar_mem[6];
    struct EndpointBarRef {
        struct Endpoint *ep;
        unsigned idx;
    } ref[6];
} Endpoint;

void endpoint_params_default(EndpointParams *p)
{
    *p = (EndpointParams){
        .kind = PCIE_KIND_ENDPOINT,
        .vendor = 0x8086,
        .device = 0x0000,
        .class_code = 0xff0000,
        .msi_64bit = true,
        .acs_cap = 0x1f,
        .ats_invq = 0,
        .sriov_stride = 1,
        .sriov_offset = 1,
    };
    p->bar[0] = (EndpointBar){ 16 * 1024, PCIE_BAR_MEM64 };
}

static unsigned bits_for(uint64_t size)
{
    unsigned b = 12;
    while ((1ull << b) < size) {
        b++;
    }
    return b;
}

static uint64_t bar_read(void *opaque, uint64_t off, unsigned size)
{
    struct EndpointBarRef *r = opaque;
    uint8_t b[8] = { 0 };
    physmem_read(r->ep->bar_mem[r->idx], off, b, size);
    uint64_t v = 0;
    for (unsigned i = size; i-- > 0;) {
        v = (v << 8) | b[i];
    }
    return v;
}

static void bar_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    struct EndpointBarRef *r = opaque;
    uint8_t b[8];
    for (unsigned i = 0; i < size; i++) {
        b[i] = (uint8_t)(val >> (8 * i));
    }
    physmem_write(r->ep->bar_mem[r->idx], off, b, size);
}

static const MmioOps endpoint_bar_ops = {
    .name = "endpoint-bar",
    .read = bar_read,
    .write = bar_write,
    .min_access = 1,
    .max_access = 8,
    .unaligned = true,
};

static void endpoint_destroy(void *opaque, PcieFn *fn)
{
    Endpoint *ep = opaque;
    (void)fn;
    for (unsigned i = 0; i < 6; i++) {
        physmem_free(ep->bar_mem[i]);
    }
    pcie_devtlb_free(ep->devtlb);
    g_array_free(ep->prg_responses, TRUE);
    g_free(ep);
}

static void endpoint_reset(void *opaque, PcieFn *fn)
{
    Endpoint *ep = opaque;
    (void)fn;
    if (ep->devtlb) {
        /* a reset device has an empty translation cache */
        PcieAtsInval all = { .addr = 0, .size = UINT64_MAX, .global = true };
        pcie_devtlb_invalidate(ep->devtlb, &all);
        all.pasid_present = true;
        pcie_devtlb_invalidate(ep->devtlb, &all);
    }
}

static bool endpoint_ats_invalidate(void *opaque, PcieFn *fn, const PcieAtsInval *inv)
{
    Endpoint *ep = opaque;
    (void)fn;
    if (!ep->devtlb) {
        return false;   /* no ATS: such a device never completes an invalidation */
    }
    pcie_devtlb_invalidate(ep->devtlb, inv);
    return true;
}

static void endpoint_prg_response(void *opaque, PcieFn *fn, const PciePrgResponse *resp)
{
    Endpoint *ep = opaque;
    (void)fn;
    g_array_append_val(ep->prg_responses, *resp);
}

static const PcieFnOps endpoint_ops = {
    .name = "endpoint",
    .reset = endpoint_reset,
    .destroy = endpoint_destroy,
    .ats_invalidate = endpoint_ats_invalidate,
    .prg_response = endpoint_prg_response,
};

static gboolean check_bar(const EndpointBar *b, unsigned i, const char *what, GError **error)
{
    if (!b->size) {
        return TRUE;
    }
    uint64_t min = (b->flags & PCIE_BAR_IO) ? 4 : 16;
    if (b->size < min || (b->size & (b->size - 1))) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "%s%u size %" G_GUINT64_FORMAT " is not a power of two >= %" G_GUINT64_FORMAT,
                    what, i, (guint64)b->size, (guint64)min);
        return FALSE;
    }
    if ((b->flags & PCIE_BAR_MEM64) && i == 5) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "%s5 cannot be 64-bit (it would need a sixth and seventh BAR register)", what);
        return FALSE;
    }
    if (!(b->flags & PCIE_BAR_MEM64) && b->size > (1ull << 31)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "%s%u is larger than 2 GiB and must be 64-bit", what, i);
        return FALSE;
    }
    return TRUE;
}

/* Declares BARs and the capabilities a PF and its VFs share. */
static void endpoint_setup(Endpoint *ep, const EndpointBar *bars, bool is_vf)
{
    const EndpointParams *p = &ep->p;
    for (unsigned i = 0; i < 6; i++) {
        if (!bars[i].size) {
            continue;
        }
        ep->bar_mem[i] = physmem_new(bits_for(bars[i].size));
        ep->ref[i] = (struct EndpointBarRef){ ep, i };
        pcie_fn_bar_init(ep->fn, i, bars[i].size, bars[i].flags, &endpoint_bar_ops, &ep->ref[i]);
        if (bars[i].flags & PCIE_BAR_MEM64) {
            i++;
        }
    }
    if (!is_vf) {
        pcie_cap_pm_init(ep->fn);
    }
    if (p->msi_vectors && !is_vf) {
        pcie_cap_msi_init(ep->fn, p->msi_vectors, p->msi_64bit, p->msi_maskable);
    }
    if (p->msix_vectors) {
        /* table at the start of the BAR, PBA in the upper half */
        uint64_t half = bars[p->msix_bar].size / 2;
        pcie_cap_msix_init(ep->fn, p->msix_vectors, p->msix_bar, 0, p->msix_bar, (uint32_t)half);
    }
    if (p->aer && !is_vf) {
        pcie_cap_aer_init(ep->fn);
    }
    if (p->acs && !is_vf) {
        pcie_cap_acs_init(ep->fn, p->acs_cap);
    }
    if (p->ari) {
        pcie_cap_ari_init(ep->fn, is_vf ? 0 : p->ari_next_fn);
    }
    if (p->ats) {
        pcie_cap_ats_init(ep->fn, p->ats_invq, false);
        ep->devtlb = pcie_devtlb_new(ENDPOINT_DEVTLB_ENTRIES);
    }
    /* PASID and PRI are PF-only: VFs share the PF's (PCIe Base 9.3.7). */
    if (p->pasid_width && !is_vf) {
        pcie_cap_pasid_init(ep->fn, p->pasid_width, p->pasid_exec, p->pasid_priv);
    }
    if (p->pri_capacity && !is_vf) {
        pcie_cap_pri_init(ep->fn, p->pri_capacity);
    }
}

static void vf_added(void *pf_opaque, PcieFn *pf, PcieFn *vf)
{
    Endpoint *pfe = pf_opaque;
    (void)pf;
    Endpoint *ep = g_new0(Endpoint, 1);
    ep->fn = vf;
    ep->p = pfe->p;
    ep->prg_responses = g_array_new(FALSE, FALSE, sizeof(PciePrgResponse));
    pcie_fn_set_ops(vf, &endpoint_ops, ep);
    endpoint_setup(ep, pfe->p.sriov_vf_bar, true);
}

static void vf_removed(void *pf_opaque, PcieFn *pf, PcieFn *vf)
{
    (void)pf_opaque;
    (void)pf;
    (void)vf;
    /* the VF's state goes with its ops->destroy */
}

PcieFn *endpoint_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, const EndpointParams *p,
                     GError **error)
{
    for (unsigned i = 0; i < 6; i++) {
        if (!check_bar(&p->bar[i], i, "bar", error) ||
            !check_bar(&p->sriov_vf_bar[i], i, "sriov-vf-bar", error)) {
            return NULL;
        }
        /* a 64-bit BAR uses the next BAR register as its upper half (found by fuzzing) */
        const EndpointBar *sets[2] = { p->bar, p->sriov_vf_bar };
        const char *names[2] = { "bar", "sriov-vf-bar" };
        for (unsigned k = 0; k < 2; k++) {
            if (i < 5 && sets[k][i].size && (sets[k][i].flags & PCIE_BAR_MEM64) && sets[k][i + 1].size) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                            "%s%u is 64-bit and takes %s%u's register as its upper half; %s%u must be empty",
                            names[k], i, names[k], i + 1, names[k], i + 1);
                return NULL;
            }
        }
    }
    if (p->sriov_total_vfs) {
        /* what the SR-IOV capability cannot express (found by fuzzing platform files) */
        const char *why = NULL;
        if (p->sriov_offset == 0) {
            why = "First VF Offset must not be 0";
        } else if (p->sriov_total_vfs > 1 && p->sriov_stride == 0) {
            why = "VF Stride must not be 0 with more than one VF";
        }
        for (unsigned i = 0; i < 6 && !why; i++) {
            if (p->sriov_vf_bar[i].size && (p->sriov_vf_bar[i].flags & PCIE_BAR_IO)) {
                why = "VF BARs are memory BARs (SR-IOV has no I/O VF BARs)";
            }
        }
        if (why) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "sriov: %s", why);
            return NULL;
        }
    }
    if (p->msix_vectors) {
        if (p->msix_bar > 5 || p->bar[p->msix_bar].size < 16ull * p->msix_vectors * 2 ||
            (p->bar[p->msix_bar].flags & PCIE_BAR_IO)) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "msix-bar %u must be a memory BAR of at least %u bytes for %u vectors",
                        p->msix_bar, 32 * p->msix_vectors, p->msix_vectors);
            return NULL;
        }
        if (p->msix_vectors > 2048) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "msix %u: at most 2048 vectors", p->msix_vectors);
            return NULL;
        }
        /* each VF carries its own table in its VF BAR of the same number: check it now, not at VF Enable */
        const EndpointBar *vb = &p->sriov_vf_bar[p->msix_bar < 6 ? p->msix_bar : 0];
        if (p->sriov_total_vfs && (vb->size < 16ull * p->msix_vectors * 2 || (vb->flags & PCIE_BAR_IO))) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "sriov-vf-bar%u must be a memory BAR of at least %u bytes: the VFs' MSI-X tables "
                        "live there (msix-bar = %u)",
                        p->msix_bar, 32 * p->msix_vectors, p->msix_bar);
            return NULL;
        }
    }
    if (p->msi_vectors > 32 || (p->msi_vectors & (p->msi_vectors - 1))) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "msi %u: the vector count must be a power of two up to 32", p->msi_vectors);
        return NULL;
    }
    if (p->pasid_width > 20) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "pasid %u: at most 20 bits", p->pasid_width);
        return NULL;
    }
    Endpoint *ep = g_new0(Endpoint, 1);
    ep->p = *p;
    ep->prg_responses = g_array_new(FALSE, FALSE, sizeof(PciePrgResponse));
    ep->fn = pcie_fn_new(f, parent, devfn, p->kind, p->vendor, p->device, p->class_code,
                         &endpoint_ops, ep, error);
    if (!ep->fn) {
        g_free(ep);
        return NULL;
    }
    pcie_fn_set(ep->fn, PCI_REVISION_ID, 1, p->revision);
    pcie_fn_set(ep->fn, PCI_SUBSYSTEM_VENDOR_ID, 2, p->subsys_vendor);
    pcie_fn_set(ep->fn, PCI_SUBSYSTEM_ID, 2, p->subsys_id);
    pcie_fn_set(ep->fn, PCI_INTERRUPT_PIN, 1, 1);
    endpoint_setup(ep, p->bar, false);
    if (p->sriov_total_vfs) {
        PcieSriovParams sp = {
            .total_vfs = p->sriov_total_vfs,
            .initial_vfs = p->sriov_total_vfs,
            .first_vf_offset = p->sriov_offset,
            .vf_stride = p->sriov_stride,
            .vf_device_id = p->sriov_vf_device,
            .vf_added = vf_added,
            .vf_removed = vf_removed,
        };
        for (unsigned i = 0; i < 6; i++) {
            sp.vf_bar_size[i] = p->sriov_vf_bar[i].size;
            sp.vf_bar_flags[i] = (uint8_t)p->sriov_vf_bar[i].flags;
        }
        pcie_cap_sriov_init(ep->fn, &sp);
    }
    return ep->fn;
}

/* The endpoint state behind @fn, or NULL for functions of other models. */
static Endpoint *endpoint_of(PcieFn *fn)
{
    /* only our own functions carry endpoint_ops; the opaque is then ours */
    return pcie_fn_has_ops(fn, &endpoint_ops) ? pcie_fn_opaque(fn) : NULL;
}

PcieDevTlb *endpoint_devtlb(PcieFn *fn)
{
    Endpoint *ep = endpoint_of(fn);
    return ep ? ep->devtlb : NULL;
}

const GArray *endpoint_prg_responses(PcieFn *fn)
{
    Endpoint *ep = endpoint_of(fn);
    return ep ? ep->prg_responses : NULL;
}

PcieCplStatus endpoint_dma(PcieFn *fn, uint64_t addr, void *buf, uint32_t len, bool write,
                           const PcieDmaAttrs *attrs, EndpointDmaInfo *info)
{
    EndpointDmaInfo dummy;
    if (!info) {
        info = &dummy;
    }
    memset(info, 0, sizeof *info);
    Endpoint *ep = endpoint_of(fn);
    PcieDmaAttrs a = attrs ? *attrs : (PcieDmaAttrs){ 0 };
    if (!ep || !ep->devtlb || !pcie_fn_ats_enabled(fn)) {
        a.at = PCIE_AT_UNTRANSLATED;
        return write ? pcie_fn_dma_write(fn, addr, buf, len, &a)
                     : pcie_fn_dma_read(fn, addr, buf, len, &a);
    }
    info->used_ats = true;
    uint8_t *p = buf;
    while (len) {
        uint32_t chunk = (uint32_t)MIN((uint64_t)len, 4096 - (addr & 0xfff));
        const PcieAtsEntry *e = pcie_devtlb_lookup(ep->devtlb, a.pasid_present, a.pasid, addr);
        PcieAtsEntry fresh;
        if (e && ((write && !e->w) || (!write && !e->r))) {
            e = NULL;   /* cached without the needed right: ask again, as devices do */
        }
        if (e) {
            info->devtlb_hits++;
        } else {
            PcieCplStatus st = pcie_fn_ats_translate(fn, addr, &a, !write, &fresh);
            info->translations++;
            if (st != PCIE_CPL_SC) {
                return st;
            }
            if ((write && !fresh.w) || (!write && !fresh.r)) {
                if (pcie_fn_pri_enabled(fn)) {
                    PciePageRequest pr = {
                        .pasid_present = a.pasid_present, .pasid = a.pasid,
                        .exec = a.exec, .priv = a.priv, .read = !write, .write = write,
                        .last = true, .prgi = ep->next_prgi, .addr = addr & ~0xfffull,
                    };
                    ep->next_prgi = (ep->next_prgi + 1) & 511;
                    info->page_request_sent = pcie_fn_page_request(fn, &pr);
                }
                return PCIE_CPL_UR;
            }
            pcie_devtlb_insert(ep->devtlb, a.pasid_present, a.pasid, addr, &fresh);
            e = &fresh;
        }
        uint64_t hpa = e->addr + (addr & (e->size - 1));
        info->last_translated = hpa;
        PcieDmaAttrs ta = a;
        ta.at = PCIE_AT_TRANSLATED;
        PcieCplStatus st = write ? pcie_fn_dma_write(fn, hpa, p, chunk, &ta)
                                 : pcie_fn_dma_read(fn, hpa, p, chunk, &ta);
        if (st != PCIE_CPL_SC) {
            return st;
        }
        addr += chunk;
        p += chunk;
        len -= chunk;
    }
    return PCIE_CPL_SC;
}
