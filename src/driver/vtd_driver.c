/*
 * The host-side VT-d driver library; see vtd_driver.h.  Register and entry
 * layouts come from models/vtd/vtd_regs.h and vtd_entries.h (declared
 * once); this file only decides what a driver writes, in which order.
 *
 * Ordering rules we follow (VT-d 4.x 6.5 and 6.6, and what Linux does):
 * tables are written completely before the entry pointing at them becomes
 * present; a context or PASID entry change is followed by a context-cache
 * (or PASID-cache) invalidation and a domain-selective IOTLB invalidation
 * of the domain it pointed to; an unmap is followed by a page-selective
 * IOTLB invalidation (strict) or left for vtd_drv_flush() (lazy).
 */
#include <string.h>
#include "driver/vtd_driver.h"
#include "core/error.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_ir.h"
#include "models/vtd/vtd_regs.h"

#define PAGE 4096ull
#define QI_PAGES 1                    /* 4 KiB queue: 256 128-bit descriptors */
#define POLL_STEP (1 * EMU_TICKS_PER_US)
#define POLL_LIMIT (10 * EMU_TICKS_PER_MS)  /* a command not done in 10 ms simulated has hung */

struct VtdDom {
    VtdDrv *drv;
    VtdDomType type;
    uint16_t did;
    unsigned levels;
    uint64_t pgd;             /* nested: the first-stage root in the parent's input space */
    bool ssade;               /* second stage: A/D tracking on (PASID entry SSADE) */
    VtdDom *parent;           /* nested: the second-stage domain */
    unsigned nest_flags;      /* nested: VTD_NEST_* */
};

/* One attachment: which requester (and PASID) a domain serves, and its device caps. */
typedef struct DrvAttach {
    uint16_t rid;
    int32_t pasid;            /* -1: requests without PASID */
    VtdDom *dom;
} DrvAttach;

typedef struct DrvDevCaps {
    uint16_t rid;
    bool ats, pri;
} DrvDevCaps;

struct VtdDrv {
    EmuSim *sim;
    AddrSpace *mem;
    VtdDrvConfig cfg;
    uint64_t cap, ecap;
    uint64_t iotlb_off;               /* IOTLB register offset (ECAP.IRO) */
    uint64_t pool_next;
    uint64_t root;                    /* root table */
    uint64_t iq_base;                 /* invalidation queue */
    unsigned iq_tail;                 /* in descriptors */
    uint64_t wait_status;             /* 8 bytes for wait-descriptor status writes */
    uint32_t wait_seq;
    GPtrArray *domains;
    uint16_t next_did;
    uint64_t ninval;
    GArray *attach;           /* DrvAttach */
    GArray *devcaps;          /* DrvDevCaps */
    uint64_t prq_base;        /* page request queue (one page), 0 when not set up */
    uint64_t irt_base;        /* interrupt remapping table, 0 when not set up */
    unsigned irt_entries;
    bool irt_x2apic;
};

static const DrvDevCaps *devcaps_of(VtdDrv *d, uint16_t rid)
{
    for (guint i = 0; i < d->devcaps->len; i++) {
        const DrvDevCaps *c = &g_array_index(d->devcaps, DrvDevCaps, i);
        if (c->rid == rid) {
            return c;
        }
    }
    return NULL;
}

static void attach_record(VtdDrv *d, uint16_t rid, int32_t pasid, VtdDom *dom)
{
    for (guint i = 0; i < d->attach->len; i++) {
        DrvAttach *a = &g_array_index(d->attach, DrvAttach, i);
        if (a->rid == rid && a->pasid == pasid) {
            if (dom) {
                a->dom = dom;
            } else {
                g_array_remove_index(d->attach, i);
            }
            return;
        }
    }
    if (dom) {
        DrvAttach a = { rid, pasid, dom };
        g_array_append_val(d->attach, a);
    }
}

/* ---- plumbing ---------------------------------------------------------- */

static uint64_t rd(VtdDrv *d, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    addr_space_read(d->mem, d->cfg.reg_base + off, size, &v);
    return v;
}

static void wr(VtdDrv *d, uint64_t off, unsigned size, uint64_t v)
{
    addr_space_write(d->mem, d->cfg.reg_base + off, size, v);
}

static uint64_t ldq(VtdDrv *d, uint64_t pa)
{
    uint64_t v = 0;
    addr_space_read(d->mem, pa, 8, &v);
    return v;
}

static void stq(VtdDrv *d, uint64_t pa, uint64_t v)
{
    addr_space_write(d->mem, pa, 8, v);
}

static void store_words(VtdDrv *d, uint64_t pa, const uint64_t *w, unsigned n)
{
    /* highest word first, so the Present bit (word 0) lands last */
    for (unsigned i = n; i-- > 0;) {
        stq(d, pa + 8 * i, w[i]);
    }
}

static void load_words(VtdDrv *d, uint64_t pa, uint64_t *w, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        w[i] = ldq(d, pa + 8 * i);
    }
}

/* A zeroed 4 KiB page from the pool. */
static uint64_t page_alloc(VtdDrv *d, GError **error)
{
    if (d->pool_next + PAGE > d->cfg.pool_base + d->cfg.pool_size) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_LIMIT,
                    "vtd driver: table memory pool [0x%" G_GINT64_MODIFIER "x, +0x%"
                    G_GINT64_MODIFIER "x) exhausted",
                    (guint64)d->cfg.pool_base, (guint64)d->cfg.pool_size);
        return 0;
    }
    uint64_t pa = d->pool_next;
    d->pool_next += PAGE;
    static const uint8_t zero[PAGE];
    addr_space_rw(d->mem, pa, (void *)zero, PAGE, true);
    return pa;
}

/* Lets the hardware run until @done(d, arg) or the poll limit. */
static gboolean poll_until(VtdDrv *d, gboolean (*done)(VtdDrv *, uint64_t), uint64_t arg,
                           const char *what, GError **error)
{
    EmuTick start = emu_sim_now(d->sim);
    for (;;) {
        emu_sim_run_until(d->sim, emu_sim_now(d->sim));
        if (done(d, arg)) {
            return TRUE;
        }
        if (emu_sim_now(d->sim) - start >= POLL_LIMIT) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: %s did not complete within 10 ms of simulated time", what);
            return FALSE;
        }
        emu_sim_run_until(d->sim, emu_sim_now(d->sim) + POLL_STEP);
    }
}

static gboolean gsts_has(VtdDrv *d, uint64_t bits)
{
    return (rd(d, VTD_GSTS_REG, 4) & bits) == bits;
}

static gboolean gsts_lacks(VtdDrv *d, uint64_t bits)
{
    return (rd(d, VTD_GSTS_REG, 4) & bits) == 0;
}

/*
 * GCMD takes one command at a time: software writes the persistent state
 * it wants (from GSTS) with exactly one bit changed (VT-d 4.x 11.4.4).
 */
static gboolean gcmd(VtdDrv *d, uint32_t bit, bool set, const char *what, GError **error)
{
    uint32_t persistent = VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES | VTD_GSTS_CFIS;
    uint32_t sts = (uint32_t)rd(d, VTD_GSTS_REG, 4) & persistent;
    uint32_t cmd = set ? (sts | bit) : (sts & ~bit);
    wr(d, VTD_GCMD_REG, 4, cmd);
    /* one-shot commands (SRTP) report through their status bit; GCMD.x maps to GSTS.x */
    return poll_until(d, set ? gsts_has : gsts_lacks, bit, what, error);
}

/* ---- invalidation ------------------------------------------------------ */

static gboolean ccmd_done(VtdDrv *d, uint64_t unused)
{
    (void)unused;
    return !(rd(d, VTD_CCMD_REG, 8) & VTD_CCMD_ICC);
}

static gboolean iotlb_done(VtdDrv *d, uint64_t unused)
{
    (void)unused;
    return !(rd(d, d->iotlb_off + 8, 8) & VTD_IOTLB_IVT);
}

static gboolean wait_done(VtdDrv *d, uint64_t seq)
{
    return (ldq(d, d->wait_status) & 0xffffffffu) == seq;
}

static gboolean iqe_or_done(VtdDrv *d, uint64_t seq)
{
    return wait_done(d, seq) || (rd(d, VTD_FSTS_REG, 4) & (VTD_FSTS_IQE | VTD_FSTS_ITE));
}

/*
 * Queues @n descriptors followed by a wait descriptor, and waits for its
 * status write.  Scalable mode uses 256-bit descriptors (IQA.DW=1), as the
 * PASID-based types require and as Linux does whenever ECAP.SMTS is set.
 */
static gboolean qi_submit(VtdDrv *d, const VtdInvDesc *descs, unsigned n, GError **error)
{
    unsigned dsize = d->cfg.mode == VTD_DRV_SCALABLE ? 32 : 16;
    unsigned qsize = QI_PAGES * PAGE / dsize;
    VtdInvDesc wait = { { 0 } };
    uint32_t seq = ++d->wait_seq;
    vtd_inv_set_TYPE_LO(&wait, VTD_INV_WAIT);
    vtd_inv_wait_set_SW(&wait, 1);
    vtd_inv_wait_set_FN(&wait, 1);
    vtd_inv_wait_set_STATDATA(&wait, seq);
    vtd_inv_wait_set_STATADDR(&wait, d->wait_status >> 2);
    for (unsigned i = 0; i <= n; i++) {
        const VtdInvDesc *desc = i < n ? &descs[i] : &wait;
        store_words(d, d->iq_base + (uint64_t)dsize * d->iq_tail, desc->val, dsize / 8);
        d->iq_tail = (d->iq_tail + 1) % qsize;
    }
    /* IQT counts 128-bit units whatever the descriptor width */
    wr(d, VTD_IQT_REG, 8, (uint64_t)d->iq_tail * dsize);
    d->ninval++;
    if (!poll_until(d, iqe_or_done, seq, "invalidation wait descriptor", error)) {
        return FALSE;
    }
    if (!wait_done(d, seq)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: invalidation queue error (FSTS 0x%x, IQERCD 0x%" G_GINT64_MODIFIER "x)",
                    (unsigned)rd(d, VTD_FSTS_REG, 4), (guint64)rd(d, VTD_IQERCD_REG, 8));
        return FALSE;
    }
    return TRUE;
}

static gboolean inv_context(VtdDrv *d, unsigned g, uint16_t did, uint16_t sid, GError **error)
{
    if (d->cfg.inval == VTD_DRV_INVAL_QUEUED) {
        VtdInvDesc desc = { { 0 } };
        vtd_inv_set_TYPE_LO(&desc, VTD_INV_CC);
        vtd_inv_cc_set_G(&desc, g);
        vtd_inv_cc_set_DID(&desc, did);
        vtd_inv_cc_set_SID(&desc, sid);
        return qi_submit(d, &desc, 1, error);
    }
    uint64_t v = VTD_CCMD_ICC;
    v = vtd_CCMD_set_CIRG(v, g);
    v = vtd_CCMD_set_DID(v, did);
    v = vtd_CCMD_set_SID(v, sid);
    wr(d, VTD_CCMD_REG, 8, v);
    d->ninval++;
    return poll_until(d, ccmd_done, 0, "context-cache invalidation (CCMD.ICC)", error);
}

static gboolean inv_pasid_cache(VtdDrv *d, uint16_t did, uint32_t pasid, GError **error)
{
    VtdInvDesc desc = { { 0 } };
    vtd_inv_set_TYPE_LO(&desc, VTD_INV_PC);
    vtd_inv_pc_set_G(&desc, VTD_INV_PC_PASID);
    vtd_inv_pc_set_DID(&desc, did);
    vtd_inv_pc_set_PASID(&desc, pasid);
    return qi_submit(d, &desc, 1, error);
}

/* Smallest address mask covering [iova, iova+size), or -1 if PSI cannot. */
static int psi_mask(VtdDrv *d, uint64_t iova, uint64_t size)
{
    if (!vtd_cap_PSI(d->cap) || size == 0) {
        return -1;
    }
    uint64_t first = iova >> 12, last = (iova + size - 1) >> 12;
    unsigned am = 0;
    while ((first >> am) != (last >> am)) {
        am++;
    }
    return am <= vtd_cap_MAMV(d->cap) ? (int)am : -1;
}

/*
 * Device-TLB invalidation of [iova, iova+size) (size 0: everything) for
 * every ATS-enabled requester attached to @dom, after the IOTLB one (VT-d
 * 4.x 6.5.2.5 and 6.5.2.7: the IOTLB first, then the device TLBs).
 */
static gboolean inv_devtlb(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, GError **error)
{
    if (d->cfg.inval != VTD_DRV_INVAL_QUEUED) {
        return TRUE;   /* device-TLB invalidation exists only as a descriptor */
    }
    /* ATS range encoding: S=1 and ones below the size bit; all ones for everything */
    uint64_t addr = 0x7ffffffffffff000ull;
    bool s = true;
    if (size) {
        uint64_t first = iova >> 12, last = (iova + size - 1) >> 12;
        unsigned k = 0;
        while ((first >> k) != (last >> k)) {
            k++;
        }
        addr = (first >> k) << k << 12;
        s = k > 0;
        if (s) {
            addr |= ((1ull << k) - 1) << 12 >> 1 & ~0xfffull;
            addr |= ((1ull << (k - 1)) - 1) << 12;
        }
    }
    for (guint i = 0; i < d->attach->len; i++) {
        const DrvAttach *a = &g_array_index(d->attach, DrvAttach, i);
        const DrvDevCaps *c = devcaps_of(d, a->rid);
        if (a->dom != dom || !c || !c->ats) {
            continue;
        }
        VtdInvDesc desc = { { 0 } };
        if (a->pasid < 0) {
            vtd_inv_set_TYPE_LO(&desc, VTD_INV_DEV_IOTLB);
            vtd_inv_dev_set_SID(&desc, a->rid);
            vtd_inv_dev_set_S(&desc, s);
            vtd_inv_dev_set_ADDR(&desc, addr >> 12);
        } else {
            vtd_inv_set_TYPE_LO(&desc, VTD_INV_PDEV_IOTLB);
            vtd_inv_pdev_set_SID(&desc, a->rid);
            vtd_inv_pdev_set_PASID(&desc, (uint64_t)a->pasid);
            vtd_inv_pdev_set_S(&desc, s);
            vtd_inv_pdev_set_ADDR(&desc, addr >> 12);
        }
        if (!qi_submit(d, &desc, 1, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean inv_iotlb_only(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, bool ih,
                               GError **error);

static gboolean inv_iotlb(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, bool ih,
                          GError **error)
{
    if (!inv_iotlb_only(d, dom, iova, size, ih, error) || !inv_devtlb(d, dom, iova, size, error)) {
        return FALSE;
    }
    /*
     * Nested domains over @dom cache combined translations under their own
     * DIDs, tagged by first-stage input addresses the second-stage range
     * says nothing about: each is flushed whole (as Linux flushes a nest
     * parent's children).
     */
    for (guint i = 0; dom->type == VTD_DOM_SECOND_STAGE && i < d->domains->len; i++) {
        VtdDom *child = g_ptr_array_index(d->domains, i);
        if (child->parent == dom &&
            (!inv_iotlb_only(d, child, 0, 0, false, error) || !inv_devtlb(d, child, 0, 0, error))) {
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean inv_iotlb_only(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, bool ih,
                               GError **error)
{
    int am = psi_mask(d, iova, size);
    uint64_t base = am >= 0 ? (iova >> 12 >> am) << am << 12 : 0;
    if (d->cfg.mode == VTD_DRV_SCALABLE) {
        /* scalable mode: PASID-based IOTLB invalidation (RID_PASID 0 and every PASID of the domain) */
        VtdInvDesc desc = { { 0 } };
        vtd_inv_set_TYPE_LO(&desc, VTD_INV_PIOTLB);
        vtd_inv_piotlb_set_DID(&desc, dom->did);
        if (am >= 0) {
            vtd_inv_piotlb_set_G(&desc, VTD_INV_PIOTLB_PSI);
            vtd_inv_piotlb_set_AM(&desc, (uint64_t)am);
            vtd_inv_piotlb_set_IH(&desc, ih);
            vtd_inv_piotlb_set_ADDR(&desc, base >> 12);
        } else {
            vtd_inv_piotlb_set_G(&desc, VTD_INV_PIOTLB_ALL);
        }
        /*
         * PASID-selective granularities name one PASID; the library attaches
         * domains to RID_PASID 0 and to explicit PASIDs, so it flushes the
         * domain with a second-stage-style IOTLB descriptor as well, which
         * covers every PASID tagged with the domain (VT-d 4.x 6.5.2.4).
         */
        VtdInvDesc dsi = { { 0 } };
        vtd_inv_set_TYPE_LO(&dsi, VTD_INV_IOTLB);
        vtd_inv_iotlb_set_DID(&dsi, dom->did);
        if (am >= 0) {
            vtd_inv_iotlb_set_G(&dsi, VTD_INV_IOTLB_PSI);
            vtd_inv_iotlb_set_AM(&dsi, (uint64_t)am);
            vtd_inv_iotlb_set_IH(&dsi, ih);
            vtd_inv_iotlb_set_ADDR(&dsi, base >> 12);
        } else {
            vtd_inv_iotlb_set_G(&dsi, VTD_INV_IOTLB_DSI);
        }
        VtdInvDesc both[2] = { desc, dsi };
        return qi_submit(d, both, 2, error);
    }
    if (d->cfg.inval == VTD_DRV_INVAL_QUEUED) {
        VtdInvDesc desc = { { 0 } };
        vtd_inv_set_TYPE_LO(&desc, VTD_INV_IOTLB);
        vtd_inv_iotlb_set_DID(&desc, dom->did);
        vtd_inv_iotlb_set_DR(&desc, vtd_cap_DRD(d->cap));
        vtd_inv_iotlb_set_DW(&desc, vtd_cap_DWD(d->cap));
        if (am >= 0) {
            vtd_inv_iotlb_set_G(&desc, VTD_INV_IOTLB_PSI);
            vtd_inv_iotlb_set_AM(&desc, (uint64_t)am);
            vtd_inv_iotlb_set_IH(&desc, ih);
            vtd_inv_iotlb_set_ADDR(&desc, base >> 12);
        } else {
            vtd_inv_iotlb_set_G(&desc, VTD_INV_IOTLB_DSI);
        }
        return qi_submit(d, &desc, 1, error);
    }
    uint64_t v = VTD_IOTLB_IVT;
    v = vtd_IOTLB_set_DID(v, dom->did);
    v = vtd_IOTLB_set_DR(v, vtd_cap_DRD(d->cap));
    v = vtd_IOTLB_set_DW(v, vtd_cap_DWD(d->cap));
    if (am >= 0) {
        uint64_t iva = vtd_IVA_set_ADDR(0, base >> 12);
        iva = vtd_IVA_set_AM(iva, (uint64_t)am);
        iva = vtd_IVA_set_IH(iva, ih);
        wr(d, d->iotlb_off, 8, iva);
        v = vtd_IOTLB_set_IIRG(v, VTD_IOTLB_PSI);
    } else {
        v = vtd_IOTLB_set_IIRG(v, VTD_IOTLB_DSI);
    }
    wr(d, d->iotlb_off + 8, 8, v);
    d->ninval++;
    return poll_until(d, iotlb_done, 0, "IOTLB invalidation (IOTLB_REG.IVT)", error);
}

/* ---- bring-up ---------------------------------------------------------- */

VtdDrv *vtd_drv_new(EmuSim *sim, AddrSpace *mem, const VtdDrvConfig *cfg, GError **error)
{
    /* address 0 is not a valid table address here: page_alloc() uses it for "none" */
    if ((cfg->pool_base | cfg->pool_size) & (PAGE - 1) || cfg->pool_size < 8 * PAGE ||
        cfg->pool_base == 0 || cfg->pool_base + cfg->pool_size < cfg->pool_base) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: the table pool must be 4 KiB aligned, at least 32 KiB, and not "
                    "start at address 0");
        return NULL;
    }
    VtdDrv *d = g_new0(VtdDrv, 1);
    d->sim = sim;
    d->mem = mem;
    d->cfg = *cfg;
    d->pool_next = cfg->pool_base;
    d->domains = g_ptr_array_new_with_free_func(g_free);
    d->attach = g_array_new(FALSE, FALSE, sizeof(DrvAttach));
    d->devcaps = g_array_new(FALSE, FALSE, sizeof(DrvDevCaps));
    d->next_did = 1;   /* DID 0 is reserved when CAP.CM is set; Linux never uses it */
    d->cap = rd(d, VTD_CAP_REG, 8);
    d->ecap = rd(d, VTD_ECAP_REG, 8);
    d->iotlb_off = vtd_ecap_IRO(d->ecap) * 16;
    const char *why = NULL;
    if (!d->cap) {
        why = "no VT-d unit answers at the register base (CAP reads 0)";
    } else if (cfg->mode == VTD_DRV_SCALABLE && !vtd_ecap_SMTS(d->ecap)) {
        why = "scalable mode needs ECAP.SMTS";
    } else if (cfg->mode == VTD_DRV_SCALABLE && cfg->inval != VTD_DRV_INVAL_QUEUED) {
        why = "scalable mode needs queued invalidation";
    } else if (cfg->inval == VTD_DRV_INVAL_QUEUED && !vtd_ecap_QI(d->ecap)) {
        why = "queued invalidation needs ECAP.QI";
    }
    if (why) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "vtd driver at 0x%" G_GINT64_MODIFIER "x: %s",
                    (guint64)cfg->reg_base, why);
        vtd_drv_free(d);
        return NULL;
    }
    if (!(d->root = page_alloc(d, error))) {
        vtd_drv_free(d);
        return NULL;
    }
    uint64_t rtaddr = vtd_RTADDR_set_RTA(0, d->root >> 12);
    rtaddr = vtd_RTADDR_set_TTM(rtaddr, cfg->mode == VTD_DRV_SCALABLE ? VTD_TTM_SCALABLE
                                                                        : VTD_TTM_LEGACY);
    wr(d, VTD_RTADDR_REG, 8, rtaddr);
    if (!gcmd(d, VTD_GCMD_SRTP, true, "GCMD.SRTP", error)) {
        vtd_drv_free(d);
        return NULL;
    }
    if (cfg->inval == VTD_DRV_INVAL_QUEUED) {
        if (!(d->iq_base = page_alloc(d, error)) || !(d->wait_status = page_alloc(d, error))) {
            vtd_drv_free(d);
            return NULL;
        }
        wr(d, VTD_IQT_REG, 8, 0);
        /* QS=0: one 4 KiB page; DW (bit 11) selects 256-bit descriptors in scalable mode */
        wr(d, VTD_IQA_REG, 8, d->iq_base | (cfg->mode == VTD_DRV_SCALABLE ? 1ull << 11 : 0));
        if (!gcmd(d, VTD_GCMD_QIE, true, "GCMD.QIE", error)) {
            vtd_drv_free(d);
            return NULL;
        }
    }
    /* global invalidations after installing a root table, as 6.5 requires */
    if (!inv_context(d, VTD_INV_CC_GLOBAL, 0, 0, error)) {
        vtd_drv_free(d);
        return NULL;
    }
    return d;
}

void vtd_drv_free(VtdDrv *d)
{
    if (d) {
        g_ptr_array_free(d->domains, TRUE);
        g_array_free(d->attach, TRUE);
        g_array_free(d->devcaps, TRUE);
        g_free(d);
    }
}

gboolean vtd_drv_enable(VtdDrv *d, GError **error)
{
    return gcmd(d, VTD_GCMD_TE, true, "GCMD.TE", error);
}

gboolean vtd_drv_disable(VtdDrv *d, GError **error)
{
    return gcmd(d, VTD_GCMD_TE, false, "GCMD.TE clear", error);
}

uint64_t vtd_drv_cap(const VtdDrv *d) { return d->cap; }
uint64_t vtd_drv_ecap(const VtdDrv *d) { return d->ecap; }
uint64_t vtd_drv_invalidations(const VtdDrv *d) { return d->ninval; }
uint16_t vtd_dom_id(const VtdDom *dom) { return dom->did; }
uint64_t vtd_dom_pgd(const VtdDom *dom) { return dom->pgd; }

/* ---- domains ----------------------------------------------------------- */

VtdDom *vtd_drv_domain_new(VtdDrv *d, VtdDomType type, unsigned levels, GError **error)
{
    if (type == VTD_DOM_NESTED) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: nested domains are made by vtd_drv_domain_new_nested()");
        return NULL;
    }
    unsigned sagaw = (unsigned)vtd_cap_SAGAW(d->cap);
    if (type == VTD_DOM_FIRST_STAGE) {
        if (d->cfg.mode != VTD_DRV_SCALABLE || !vtd_ecap_FSTS(d->ecap)) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: first-stage domains need scalable mode and ECAP.FSTS");
            return NULL;
        }
        if (!levels) {
            levels = vtd_cap_FS5LP(d->cap) ? 5 : 4;
        }
        if (levels != 4 && !(levels == 5 && vtd_cap_FS5LP(d->cap))) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: %u-level first-stage paging is not supported", levels);
            return NULL;
        }
    } else if (type == VTD_DOM_SECOND_STAGE) {
        if (d->cfg.mode == VTD_DRV_SCALABLE && !vtd_ecap_SSTS(d->ecap)) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: second-stage domains in scalable mode need ECAP.SSTS");
            return NULL;
        }
        if (!levels) {
            levels = (sagaw & VTD_SAGAW_57) ? 5 : (sagaw & VTD_SAGAW_48) ? 4 : 3;
        }
        if (levels < 3 || levels > 5 || !(sagaw & (1u << (levels - 2)))) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: %u-level second-stage paging not in CAP.SAGAW 0x%x", levels,
                        sagaw);
            return NULL;
        }
    } else if (!vtd_ecap_PT(d->ecap)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: pass-through domains need ECAP.PT");
        return NULL;
    }
    if (d->next_did >= vtd_cap_num_domains(d->cap)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_LIMIT, "vtd driver: out of domain IDs (CAP.ND)");
        return NULL;
    }
    VtdDom *dom = g_new0(VtdDom, 1);
    dom->drv = d;
    dom->type = type;
    dom->levels = levels;
    dom->did = d->next_did++;
    if (type != VTD_DOM_PASS_THROUGH && !(dom->pgd = page_alloc(d, error))) {
        g_free(dom);
        return NULL;
    }
    g_ptr_array_add(d->domains, dom);
    return dom;
}

VtdDom *vtd_drv_domain_new_nested(VtdDrv *d, VtdDom *parent, uint64_t fs_root, unsigned fs_levels,
                                  unsigned flags, GError **error)
{
    const char *why = NULL;
    if (d->cfg.mode != VTD_DRV_SCALABLE || !vtd_ecap_NEST(d->ecap) || !vtd_ecap_FSTS(d->ecap) ||
        !vtd_ecap_SSTS(d->ecap)) {
        why = "nested domains need scalable mode and ECAP.NEST, FSTS and SSTS";
    } else if (!parent || parent->drv != d || parent->type != VTD_DOM_SECOND_STAGE) {
        why = "the parent of a nested domain must be a second-stage domain of the same unit";
    } else if (fs_levels != 4 && !(fs_levels == 5 && vtd_cap_FS5LP(d->cap))) {
        why = "first-stage paging must be 4-level (or 5-level with CAP.FS5LP)";
    } else if (fs_root & (PAGE - 1)) {
        why = "the first-stage root must be 4 KiB aligned";
    } else if ((flags & VTD_NEST_SRE) && !vtd_ecap_SRS(d->ecap)) {
        why = "supervisor requests need ECAP.SRS";
    } else if ((flags & VTD_NEST_EAFE) && !vtd_ecap_EAFS(d->ecap)) {
        why = "the extended accessed flag needs ECAP.EAFS";
    } else if (d->next_did >= vtd_cap_num_domains(d->cap)) {
        why = "out of domain IDs (CAP.ND)";
    }
    if (why) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "vtd driver: %s", why);
        return NULL;
    }
    VtdDom *dom = g_new0(VtdDom, 1);
    dom->drv = d;
    dom->type = VTD_DOM_NESTED;
    dom->levels = fs_levels;
    dom->did = d->next_did++;
    dom->pgd = fs_root;
    dom->parent = parent;
    dom->nest_flags = flags;
    g_ptr_array_add(d->domains, dom);
    return dom;
}

static VtdDom *dom_by_did(VtdDrv *d, uint16_t did)
{
    for (guint i = 0; i < d->domains->len; i++) {
        VtdDom *dom = g_ptr_array_index(d->domains, i);
        if (dom->did == did) {
            return dom;
        }
    }
    return NULL;
}

/* ---- context and PASID entries ----------------------------------------- */

/*
 * Address of the context entry for @rid, allocating the context table
 * (and marking the root entry present) when @create.  0 if absent.
 */
static uint64_t context_slot(VtdDrv *d, uint16_t rid, bool create, GError **error)
{
    uint8_t bus = (uint8_t)(rid >> 8), devfn = (uint8_t)rid;
    uint64_t re_pa = d->root + 16ull * bus;
    VtdRootEntry re;
    load_words(d, re_pa, re.val, 2);
    if (d->cfg.mode == VTD_DRV_LEGACY) {
        if (!vtd_re_P(&re)) {
            if (!create) {
                return 0;
            }
            uint64_t ct = page_alloc(d, error);
            if (!ct) {
                return 0;
            }
            vtd_re_set_CTP(&re, ct >> 12);
            vtd_re_set_P(&re, 1);
            store_words(d, re_pa, re.val, 2);
        }
        return (vtd_re_CTP(&re) << 12) + 16ull * devfn;
    }
    bool upper = devfn >= 128;
    uint64_t present = upper ? vtd_sre_UP(&re) : vtd_sre_LP(&re);
    if (!present) {
        if (!create) {
            return 0;
        }
        uint64_t ct = page_alloc(d, error);
        if (!ct) {
            return 0;
        }
        if (upper) {
            vtd_sre_set_UCTP(&re, ct >> 12);
            vtd_sre_set_UP(&re, 1);
        } else {
            vtd_sre_set_LCTP(&re, ct >> 12);
            vtd_sre_set_LP(&re, 1);
        }
        store_words(d, re_pa, re.val, 2);
    }
    uint64_t ct = (upper ? vtd_sre_UCTP(&re) : vtd_sre_LCTP(&re)) << 12;
    return ct + 32ull * (devfn & 0x7f);
}

/*
 * PASID table entry slot for (@rid, @pasid) in scalable mode, building the
 * context entry, PASID directory and PASID table as needed.
 */
static uint64_t pasid_slot(VtdDrv *d, uint16_t rid, uint32_t pasid, bool create, GError **error)
{
    uint64_t ce_pa = context_slot(d, rid, create, error);
    if (!ce_pa) {
        return 0;
    }
    VtdSmContextEntry ce;
    load_words(d, ce_pa, ce.val, 4);
    if (!vtd_sce_P(&ce)) {
        if (!create) {
            return 0;
        }
        /*
         * A one-page PASID directory holds 512 entries: PDTS = 2 gives
         * 2^(2+7) = 512 entries, PASIDs 0..32767.  Larger PASIDs get a
         * GError below rather than a silently wrong table.
         */
        uint64_t dir = page_alloc(d, error);
        if (!dir) {
            return 0;
        }
        memset(ce.val, 0, sizeof ce.val);
        vtd_sce_set_PASIDDIRPTR(&ce, dir >> 12);
        vtd_sce_set_PDTS(&ce, 2);
        vtd_sce_set_PASIDE(&ce, vtd_ecap_PASID(d->ecap));
        vtd_sce_set_RID_PASID(&ce, 0);
        const DrvDevCaps *c = devcaps_of(d, rid);
        vtd_sce_set_DTE(&ce, c && c->ats);
        vtd_sce_set_PRE(&ce, c && c->pri);
        vtd_sce_set_P(&ce, 1);
        store_words(d, ce_pa, ce.val, 4);
    }
    uint64_t dir = vtd_sce_PASIDDIRPTR(&ce) << 12;
    uint64_t dir_entries = 1ull << (vtd_sce_PDTS(&ce) + 7);
    if ((pasid >> 6) >= dir_entries) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: PASID %u beyond this library's PASID directory (%" G_GUINT64_FORMAT
                    " entries)", pasid, (guint64)dir_entries);
        return 0;
    }
    uint64_t de_pa = dir + 8ull * (pasid >> 6);
    VtdPasidDirEntry de = { { ldq(d, de_pa) } };
    if (!vtd_pdire_P(&de)) {
        if (!create) {
            return 0;
        }
        uint64_t tbl = page_alloc(d, error);
        if (!tbl) {
            return 0;
        }
        vtd_pdire_set_SMPTBLPTR(&de, tbl >> 12);
        vtd_pdire_set_P(&de, 1);
        stq(d, de_pa, de.val[0]);
    }
    return (vtd_pdire_SMPTBLPTR(&de) << 12) + 64ull * (pasid & 0x3f);
}

gboolean vtd_drv_attach(VtdDrv *d, VtdDom *dom, uint16_t rid, int32_t pasid, GError **error)
{
    if (d->cfg.mode == VTD_DRV_LEGACY) {
        if (pasid >= 0) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: attaching PASID %d needs scalable mode", pasid);
            return FALSE;
        }
        if (dom->type == VTD_DOM_FIRST_STAGE || dom->type == VTD_DOM_NESTED) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                        "vtd driver: first-stage and nested domains need scalable mode");
            return FALSE;
        }
        uint64_t ce_pa = context_slot(d, rid, true, error);
        if (!ce_pa) {
            return FALSE;
        }
        VtdContextEntry old, ce = { { 0, 0 } };
        load_words(d, ce_pa, old.val, 2);
        if (dom->type == VTD_DOM_PASS_THROUGH) {
            vtd_ce_set_TT(&ce, VTD_TT_PASSTHROUGH);
            /* AW must still name a supported width (4.x 9.3) */
            unsigned sagaw = (unsigned)vtd_cap_SAGAW(d->cap);
            vtd_ce_set_AW(&ce, (sagaw & VTD_SAGAW_48) ? 2 : 1);
        } else {
            const DrvDevCaps *c = devcaps_of(d, rid);
            vtd_ce_set_TT(&ce, c && c->ats ? VTD_TT_DEVTLB : VTD_TT_UNTRANSLATED);
            vtd_ce_set_SLPTPTR(&ce, dom->pgd >> 12);
            vtd_ce_set_AW(&ce, dom->levels - 2);
        }
        vtd_ce_set_DID(&ce, dom->did);
        vtd_ce_set_P(&ce, 1);
        store_words(d, ce_pa, ce.val, 2);
        if (!inv_context(d, VTD_INV_CC_DEVICE, dom->did, rid, error)) {
            return FALSE;
        }
        VtdDom *prev = vtd_ce_P(&old) ? dom_by_did(d, (uint16_t)vtd_ce_DID(&old)) : NULL;
        gboolean r = inv_iotlb(d, prev ? prev : dom, 0, 0, false, error);
        attach_record(d, rid, -1, dom);
        return r;
    }
    uint32_t p = pasid < 0 ? 0 : (uint32_t)pasid;
    uint64_t pe_pa = pasid_slot(d, rid, p, true, error);
    if (!pe_pa) {
        return FALSE;
    }
    VtdPasidEntry old, pe;
    load_words(d, pe_pa, old.val, 8);
    memset(&pe, 0, sizeof pe);
    vtd_pe_set_DID(&pe, dom->did);
    switch (dom->type) {
    case VTD_DOM_SECOND_STAGE:
        vtd_pe_set_PGTT(&pe, VTD_PGTT_SECOND_STAGE);
        vtd_pe_set_AW(&pe, dom->levels - 2);
        vtd_pe_set_SSPTPTR(&pe, dom->pgd >> 12);
        vtd_pe_set_SSADE(&pe, dom->ssade);
        break;
    case VTD_DOM_FIRST_STAGE:
        vtd_pe_set_PGTT(&pe, VTD_PGTT_FIRST_STAGE);
        vtd_pe_set_FSPTPTR(&pe, dom->pgd >> 12);
        vtd_pe_set_FSPM(&pe, dom->levels == 5 ? 1 : 0);
        /* AW still bounds the input width for first stage on some parts; name 48/57 bits */
        vtd_pe_set_AW(&pe, dom->levels == 5 ? 3 : 2);
        vtd_pe_set_SRE(&pe, vtd_ecap_SRS(d->ecap));
        break;
    case VTD_DOM_NESTED:
        /* first stage: the caller's table, at an address the parent translates (VT-d 4.x 9.6) */
        vtd_pe_set_PGTT(&pe, VTD_PGTT_NESTED);
        vtd_pe_set_FSPTPTR(&pe, dom->pgd >> 12);
        vtd_pe_set_FSPM(&pe, dom->levels == 5 ? 1 : 0);
        vtd_pe_set_SRE(&pe, (dom->nest_flags & VTD_NEST_SRE) != 0);
        vtd_pe_set_EAFE(&pe, (dom->nest_flags & VTD_NEST_EAFE) != 0);
        vtd_pe_set_WPE(&pe, (dom->nest_flags & VTD_NEST_WPE) != 0);
        /* second stage: the parent's tables; AW names the parent's width */
        vtd_pe_set_SSPTPTR(&pe, dom->parent->pgd >> 12);
        vtd_pe_set_AW(&pe, dom->parent->levels - 2);
        break;
    case VTD_DOM_PASS_THROUGH:
        vtd_pe_set_PGTT(&pe, VTD_PGTT_PASS_THROUGH);
        vtd_pe_set_AW(&pe, (vtd_cap_SAGAW(d->cap) & VTD_SAGAW_48) ? 2 : 1);
        break;
    }
    vtd_pe_set_P(&pe, 1);
    store_words(d, pe_pa, pe.val, 8);
    /* context entry may be new too: invalidate it, then the PASID cache and IOTLB */
    if (!inv_context(d, VTD_INV_CC_DEVICE, dom->did, rid, error) ||
        !inv_pasid_cache(d, dom->did, p, error)) {
        return FALSE;
    }
    VtdDom *prev = vtd_pe_P(&old) ? dom_by_did(d, (uint16_t)vtd_pe_DID(&old)) : NULL;
    gboolean r = inv_iotlb(d, prev ? prev : dom, 0, 0, false, error);
    attach_record(d, rid, pasid, dom);
    return r;
}

gboolean vtd_drv_detach(VtdDrv *d, uint16_t rid, int32_t pasid, GError **error)
{
    VtdDom *prev = NULL;
    if (d->cfg.mode == VTD_DRV_LEGACY) {
        uint64_t ce_pa = context_slot(d, rid, false, error);
        if (!ce_pa) {
            return TRUE;
        }
        VtdContextEntry ce;
        load_words(d, ce_pa, ce.val, 2);
        if (!vtd_ce_P(&ce)) {
            return TRUE;
        }
        prev = dom_by_did(d, (uint16_t)vtd_ce_DID(&ce));
        uint64_t zero[2] = { 0, 0 };
        store_words(d, ce_pa, zero, 2);
        if (!inv_context(d, VTD_INV_CC_DEVICE, (uint16_t)vtd_ce_DID(&ce), rid, error)) {
            return FALSE;
        }
    } else {
        uint32_t p = pasid < 0 ? 0 : (uint32_t)pasid;
        uint64_t pe_pa = pasid_slot(d, rid, p, false, error);
        if (!pe_pa) {
            return TRUE;
        }
        VtdPasidEntry pe;
        load_words(d, pe_pa, pe.val, 8);
        if (!vtd_pe_P(&pe)) {
            return TRUE;
        }
        prev = dom_by_did(d, (uint16_t)vtd_pe_DID(&pe));
        stq(d, pe_pa, 0);   /* clear P first: the entry is dead from here on */
        uint64_t zero[8] = { 0 };
        store_words(d, pe_pa, zero, 8);
        if (!inv_pasid_cache(d, (uint16_t)vtd_pe_DID(&pe), p, error)) {
            return FALSE;
        }
    }
    gboolean r = prev ? inv_iotlb(d, prev, 0, 0, false, error) : TRUE;
    attach_record(d, rid, d->cfg.mode == VTD_DRV_LEGACY ? -1 : pasid, NULL);
    return r;
}

/* ---- page tables ------------------------------------------------------- */

static uint64_t nonleaf_bits(const VtdDom *dom)
{
    if (dom->type == VTD_DOM_FIRST_STAGE) {
        VtdFsPte e = { { 0 } };
        vtd_fspte_set_P(&e, 1);
        vtd_fspte_set_RW(&e, 1);
        vtd_fspte_set_US(&e, 1);
        return e.val[0];
    }
    VtdSsPte e = { { 0 } };
    vtd_sspte_set_R(&e, 1);
    vtd_sspte_set_W(&e, 1);
    return e.val[0];
}

static bool pte_present(const VtdDom *dom, uint64_t v)
{
    return dom->type == VTD_DOM_FIRST_STAGE ? (v & 1) : (v & 3);
}

static uint64_t leaf_bits(const VtdDom *dom, uint64_t pa, unsigned prot, bool large)
{
    if (dom->type == VTD_DOM_FIRST_STAGE) {
        VtdFsPte e = { { 0 } };
        vtd_fspte_set_P(&e, 1);
        vtd_fspte_set_RW(&e, (prot & VTD_PROT_WRITE) != 0);
        vtd_fspte_set_US(&e, (prot & VTD_PROT_USER) != 0);
        vtd_fspte_set_PS(&e, large);
        vtd_fspte_set_ADDR(&e, pa >> 12);
        return e.val[0];
    }
    VtdSsPte e = { { 0 } };
    vtd_sspte_set_R(&e, (prot & VTD_PROT_READ) != 0);
    vtd_sspte_set_W(&e, (prot & VTD_PROT_WRITE) != 0);
    vtd_sspte_set_X(&e, (prot & VTD_PROT_EXEC) != 0);
    vtd_sspte_set_PS(&e, large);
    vtd_sspte_set_ADDR(&e, pa >> 12);
    return e.val[0];
}

static uint64_t pte_addr(uint64_t v)
{
    return v & 0x000ffffffffff000ull;
}

/* Bits of the input address that index level @lvl (1 = the 4 KiB level). */
static unsigned level_shift(unsigned lvl)
{
    return 12 + 9 * (lvl - 1);
}

/*
 * Address of the entry for @iova at level @target, creating intermediate
 * tables on the way when @create.  Returns 0 (and sets @error only when
 * allocation failed) if a table is missing or a large page is in the way.
 */
static uint64_t walk_to(VtdDrv *d, VtdDom *dom, uint64_t iova, unsigned target, bool create,
                        GError **error)
{
    uint64_t table = dom->pgd;
    for (unsigned lvl = dom->levels; lvl > target; lvl--) {
        uint64_t slot = table + 8 * ((iova >> level_shift(lvl)) & 511);
        uint64_t v = ldq(d, slot);
        if (!pte_present(dom, v)) {
            if (!create) {
                return 0;
            }
            uint64_t t = page_alloc(d, error);
            if (!t) {
                return 0;
            }
            stq(d, slot, t | nonleaf_bits(dom));
            table = t;
            continue;
        }
        if (lvl <= 3 && (v & (1ull << 7))) {
            /* a large page covers this range; the caller must unmap it first */
            if (create) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_BUSY,
                            "vtd driver: IOVA 0x%" G_GINT64_MODIFIER "x lies inside a %s page; "
                            "unmap it first", (guint64)iova, lvl == 3 ? "1 GiB" : "2 MiB");
            }
            return 0;
        }
        table = pte_addr(v);
    }
    return table + 8 * ((iova >> level_shift(target)) & 511);
}

static bool page_size_ok(VtdDrv *d, VtdDom *dom, uint64_t ps)
{
    if (ps == PAGE) {
        return true;
    }
    if (dom->type == VTD_DOM_FIRST_STAGE) {
        return ps == (2ull << 20) || (ps == (1ull << 30) && vtd_cap_FS1GP(d->cap));
    }
    uint64_t sllps = vtd_cap_SLLPS(d->cap);
    return (ps == (2ull << 20) && (sllps & VTD_SLLPS_2M)) ||
           (ps == (1ull << 30) && (sllps & VTD_SLLPS_1G));
}

/*
 * Second stage: [iova, iova+size) below 2^(12+9*levels).  First stage:
 * canonical addresses, so the upper half (kernel addresses, bit 47 or 56
 * sign-extended) is mappable as well.
 */
static bool input_ok(const VtdDom *dom, uint64_t iova, uint64_t size)
{
    unsigned bits = dom->levels >= 5 ? 57 : 12 + 9 * dom->levels;
    uint64_t last = iova + size - 1;
    if (last < iova) {
        return false;
    }
    if (dom->type != VTD_DOM_FIRST_STAGE) {
        return last < (1ull << bits);
    }
    uint64_t hi_lo = iova >> (bits - 1), hi_last = last >> (bits - 1);
    uint64_t ones = (1ull << (65 - bits)) - 1;   /* bits 63..bits-1 all set */
    return (hi_lo == 0 && hi_last == 0) || (hi_lo == ones && hi_last == ones);
}

gboolean vtd_drv_map(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t pa, uint64_t size,
                     unsigned prot, uint64_t page_size, GError **error)
{
    if (dom->type == VTD_DOM_PASS_THROUGH || dom->type == VTD_DOM_NESTED) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_map: a %s domain has no page tables of the driver's",
                    dom->type == VTD_DOM_NESTED ? "nested" : "pass-through");
        return FALSE;
    }
    if (page_size && !page_size_ok(d, dom, page_size)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_map: page size 0x%" G_GINT64_MODIFIER "x not supported (CAP.SLLPS/FS1GP)",
                    (guint64)page_size);
        return FALSE;
    }
    uint64_t align = page_size ? page_size : PAGE;
    if ((iova | pa | size) & (align - 1) || size == 0) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_map: iova 0x%" G_GINT64_MODIFIER "x, pa 0x%" G_GINT64_MODIFIER
                    "x and size 0x%" G_GINT64_MODIFIER "x must be non-zero multiples of 0x%"
                    G_GINT64_MODIFIER "x",
                    (guint64)iova, (guint64)pa, (guint64)size, (guint64)align);
        return FALSE;
    }
    if (!input_ok(dom, iova, size)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_map: [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                    "x) beyond the domain's %u-level input range",
                    (guint64)iova, (guint64)size, dom->levels);
        return FALSE;
    }
    while (size) {
        uint64_t ps = page_size;
        if (!ps) {
            ps = PAGE;
            for (uint64_t cand = 1ull << 30; cand > PAGE; cand >>= 9) {
                if (page_size_ok(d, dom, cand) && !((iova | pa) & (cand - 1)) && size >= cand) {
                    ps = cand;
                    break;
                }
            }
        }
        unsigned lvl = ps == PAGE ? 1 : ps == (2ull << 20) ? 2 : 3;
        uint64_t slot = walk_to(d, dom, iova, lvl, true, error);
        if (!slot) {
            return FALSE;
        }
        stq(d, slot, leaf_bits(dom, pa, prot, lvl > 1));
        iova += ps;
        pa += ps;
        size -= ps;
    }
    return TRUE;
}

/*
 * The slot of the present leaf (4 KiB, 2 MiB or 1 GiB) that maps @iova in
 * @dom, with its size in *@ps; 0 when nothing maps it.
 */
static uint64_t leaf_slot(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t *ps)
{
    uint64_t table = dom->pgd;
    for (unsigned l = dom->levels; l >= 1; l--) {
        uint64_t slot = table + 8 * ((iova >> level_shift(l)) & 511);
        uint64_t v = ldq(d, slot);
        if (!pte_present(dom, v)) {
            return 0;
        }
        if (l == 1 || (l <= 3 && (v & (1ull << 7)))) {
            *ps = 1ull << level_shift(l);
            return slot;
        }
        table = pte_addr(v);
    }
    return 0;
}

gboolean vtd_drv_unmap(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, GError **error)
{
    if (dom->type == VTD_DOM_NESTED) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "vtd_drv_unmap: a nested domain has no tables of the driver's");
        return FALSE;
    }
    if ((iova | size) & (PAGE - 1) || size == 0 || iova + size < iova) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_unmap: iova 0x%" G_GINT64_MODIFIER "x and size 0x%" G_GINT64_MODIFIER
                    "x must be non-zero multiples of 4 KiB", (guint64)iova, (guint64)size);
        return FALSE;
    }
    uint64_t start = iova, len = size;
    while (size) {
        uint64_t ps = PAGE;
        uint64_t slot = leaf_slot(d, dom, iova, &ps);
        if (slot) {
            if ((iova & (ps - 1)) || size < ps) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                            "vtd_drv_unmap: [0x%" G_GINT64_MODIFIER "x, +0x%" G_GINT64_MODIFIER
                            "x) splits a large page; unmap it whole", (guint64)start, (guint64)len);
                return FALSE;
            }
            stq(d, slot, 0);
        } else {
            ps = PAGE;
        }
        iova += ps;
        size -= MIN(ps, size);
    }
    if (d->cfg.strict) {
        return inv_iotlb(d, dom, start, len, false, error);
    }
    return TRUE;
}

gboolean vtd_drv_set_dirty_tracking(VtdDrv *d, VtdDom *dom, bool enable, GError **error)
{
    if (d->cfg.mode != VTD_DRV_SCALABLE || !vtd_ecap_SSADS(d->ecap) || dom->type != VTD_DOM_SECOND_STAGE) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: dirty tracking needs a second-stage domain in scalable mode and ECAP.SSADS");
        return FALSE;
    }
    if (dom->ssade == enable) {
        return TRUE;
    }
    dom->ssade = enable;
    /* rewrite every PASID entry of the domain (attach does the invalidations the change needs) */
    g_autoptr(GArray) mine = g_array_new(FALSE, FALSE, sizeof(DrvAttach));
    for (guint i = 0; i < d->attach->len; i++) {
        const DrvAttach *a = &g_array_index(d->attach, DrvAttach, i);
        if (a->dom == dom) {
            g_array_append_val(mine, *a);
        }
    }
    for (guint i = 0; i < mine->len; i++) {
        const DrvAttach *a = &g_array_index(mine, DrvAttach, i);
        if (!vtd_drv_attach(d, dom, a->rid, a->pasid, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

gboolean vtd_drv_read_dirty(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, bool clear,
                            void (*dirty)(uint64_t iova, uint64_t size, void *opaque), void *opaque,
                            GError **error)
{
    if (dom->type != VTD_DOM_SECOND_STAGE || (iova | size) & (PAGE - 1) || size == 0 || iova + size < iova) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd_drv_read_dirty: a second-stage domain and a non-empty 4 KiB-aligned range");
        return FALSE;
    }
    uint64_t end = iova + size;
    bool cleared = false;
    for (uint64_t a = iova; a < end && a >= iova;) {
        uint64_t ps = PAGE;
        uint64_t slot = leaf_slot(d, dom, a, &ps);
        uint64_t base = a & ~(ps - 1);
        if (slot) {
            VtdSsPte e = { { ldq(d, slot) } };
            if (vtd_sspte_D(&e)) {
                dirty(base, ps, opaque);
                if (clear) {
                    vtd_sspte_set_D(&e, 0);
                    stq(d, slot, e.val[0]);
                    cleared = true;
                }
            }
        }
        a = base + ps;
    }
    /* a cached translation still says "dirty": the next write must walk and set D again */
    return cleared ? inv_iotlb(d, dom, iova, size, false, error) : TRUE;
}

gboolean vtd_drv_flush(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, GError **error)
{
    return inv_iotlb(d, dom, iova, size, false, error);
}

/* ---- ATS / PRI ----------------------------------------------------------- */

gboolean vtd_drv_set_device_caps(VtdDrv *d, uint16_t rid, bool ats, bool pri, GError **error)
{
    if (ats && !vtd_ecap_DT(d->ecap)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "vtd driver: ATS needs ECAP.DT");
        return FALSE;
    }
    if (pri && (!vtd_ecap_PRS(d->ecap) || d->cfg.mode != VTD_DRV_SCALABLE)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: PRI needs ECAP.PRS and scalable mode");
        return FALSE;
    }
    for (guint i = 0; i < d->devcaps->len; i++) {
        DrvDevCaps *c = &g_array_index(d->devcaps, DrvDevCaps, i);
        if (c->rid == rid) {
            c->ats = ats;
            c->pri = pri;
            return TRUE;
        }
    }
    DrvDevCaps c = { rid, ats, pri };
    g_array_append_val(d->devcaps, c);
    return TRUE;
}

gboolean vtd_drv_prq_enable(VtdDrv *d, GError **error)
{
    if (!vtd_ecap_PRS(d->ecap)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: no page request queue without ECAP.PRS");
        return FALSE;
    }
    if (!d->prq_base && !(d->prq_base = page_alloc(d, error))) {
        return FALSE;
    }
    wr(d, VTD_PQH_REG, 8, 0);
    wr(d, VTD_PQT_REG, 8, 0);
    wr(d, VTD_PQA_REG, 8, vtd_PQA_set_PQA(0, d->prq_base >> 12));  /* PQS 0: one page */
    return TRUE;
}

gboolean vtd_drv_prq_next(VtdDrv *d, VtdDrvPageReq *out)
{
    if (!d->prq_base) {
        return FALSE;
    }
    uint64_t head = rd(d, VTD_PQH_REG, 8), tail = rd(d, VTD_PQT_REG, 8);
    if (head == tail) {
        return FALSE;
    }
    VtdPageReqDesc desc;
    load_words(d, d->prq_base + head, desc.val, 4);
    *out = (VtdDrvPageReq){
        .rid = (uint16_t)vtd_prq_RID(&desc),
        .pasid_present = vtd_prq_PP(&desc),
        .pasid = (uint32_t)vtd_prq_PASID(&desc),
        .read = vtd_prq_RD(&desc),
        .write = vtd_prq_WR(&desc),
        .exec = vtd_prq_ER(&desc),
        .priv = vtd_prq_PM(&desc),
        .lpig = vtd_prq_LPIG(&desc),
        .prgi = (unsigned)vtd_prq_PRGI(&desc),
        .addr = vtd_prq_ADDR(&desc) << 12,
    };
    wr(d, VTD_PQH_REG, 8, (head + VTD_PAGE_REQ_DESC_SIZE) % PAGE);
    /* the driver clears PPR once it has drained the queue, as Linux's prq thread does */
    if ((head + VTD_PAGE_REQ_DESC_SIZE) % PAGE == tail) {
        wr(d, VTD_PRS_REG, 4, VTD_PRS_PPR);
    }
    return TRUE;
}

gboolean vtd_drv_page_response(VtdDrv *d, const VtdDrvPageReq *req, unsigned code,
                               GError **error)
{
    VtdInvDesc desc = { { 0 } };
    vtd_inv_set_TYPE_LO(&desc, VTD_INV_PGRP_RESP & 0xf);
    vtd_inv_pgrsp_set_RID(&desc, req->rid);
    vtd_inv_pgrsp_set_PP(&desc, req->pasid_present);
    vtd_inv_pgrsp_set_PASID(&desc, req->pasid);
    vtd_inv_pgrsp_set_RC(&desc, code);
    vtd_inv_pgrsp_set_PRGI(&desc, req->prgi);
    return qi_submit(d, &desc, 1, error);
}

/* ---- fault handling --------------------------------------------------------- */

unsigned vtd_drv_clear_faults(VtdDrv *d, GArray *records)
{
    unsigned nfr = (unsigned)vtd_cap_NFR(d->cap) + 1, n = 0;
    uint64_t fro = vtd_cap_FRO(d->cap) * 16;
    for (unsigned i = 0; i < nfr; i++) {
        uint64_t hi = rd(d, fro + 16 * i + 8, 8);
        if (!(hi & (1ull << 63))) {
            continue;
        }
        if (records) {
            uint64_t rec[2] = { rd(d, fro + 16 * i, 8), hi };
            g_array_append_vals(records, rec, 2);
        }
        wr(d, fro + 16 * i + 8, 8, 1ull << 63);   /* F is write-1-to-clear */
        n++;
    }
    wr(d, VTD_FSTS_REG, 4, VTD_FSTS_PFO);
    return n;
}

/* ---- interrupt remapping ------------------------------------------------------- */

static gboolean inv_iec(VtdDrv *d, bool global, unsigned index, GError **error)
{
    VtdInvDesc desc = { { 0 } };
    vtd_inv_set_TYPE_LO(&desc, VTD_INV_IEC);
    vtd_inv_iec_set_G(&desc, global ? 0 : 1);
    vtd_inv_iec_set_IIDX(&desc, index);
    return qi_submit(d, &desc, 1, error);
}

gboolean vtd_drv_ir_enable(VtdDrv *d, unsigned log2_entries, bool x2apic, GError **error)
{
    if (!vtd_ecap_IR(d->ecap) || d->cfg.inval != VTD_DRV_INVAL_QUEUED) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: interrupt remapping needs ECAP.IR and queued invalidation");
        return FALSE;
    }
    if (log2_entries < 1 || log2_entries > 16 || (x2apic && !vtd_ecap_EIM(d->ecap))) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: IR table of 2^%u entries%s not possible (1..16%s)", log2_entries,
                    x2apic ? " in x2APIC mode" : "", x2apic ? ", and ECAP.EIM" : "");
        return FALSE;
    }
    unsigned pages = (unsigned)MAX(1u, (16u << log2_entries) / (unsigned)PAGE);
    uint64_t base = 0;
    for (unsigned i = 0; i < pages; i++) {
        uint64_t pg = page_alloc(d, error);   /* consecutive: the pool hands pages out in order */
        if (!pg) {
            return FALSE;
        }
        if (!base) {
            base = pg;
        }
    }
    d->irt_base = base;
    d->irt_entries = 1u << log2_entries;
    d->irt_x2apic = x2apic;
    wr(d, VTD_IRTA_REG, 8, base | (x2apic ? 1ull << 11 : 0) | (log2_entries - 1));
    return gcmd(d, VTD_GCMD_SIRTP, true, "GCMD.SIRTP", error) && inv_iec(d, true, 0, error) &&
           gcmd(d, VTD_GCMD_IRE, true, "GCMD.IRE", error);
}

gboolean vtd_drv_irte_set(VtdDrv *d, unsigned index, uint16_t rid, uint8_t vector, uint32_t dest,
                          bool level, GError **error)
{
    if (!d->irt_base || index >= d->irt_entries) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "vtd driver: IRTE %u: %s", index,
                    d->irt_base ? "beyond the interrupt remapping table" : "interrupt remapping is not set up");
        return FALSE;
    }
    VtdIrte e = vtd_irte_remapped(vector, dest, !d->irt_x2apic, 0, level, false, false);
    vtd_irte_set_source(&e, 1, 0, rid);
    store_words(d, d->irt_base + 16ull * index, e.val, 2);
    return inv_iec(d, false, index, error);
}

void vtd_drv_msi_remappable(unsigned index, uint64_t *addr, uint32_t *data)
{
    /* address 31:20 = 0xFEE, 19:5 handle[14:0], 4 = remappable format, 3 = SHV, 2 = handle[15] */
    *addr = 0xFEE00000ull | ((uint64_t)(index & 0x7fff) << 5) | (1u << 4) |
            ((uint64_t)((index >> 15) & 1) << 2);
    *data = 0;
}
