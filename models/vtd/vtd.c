/*
 * The register file of a VT-d remapping unit and its DMA path.
 *
 * Register semantics are data (VTD_REG_TABLE in vtd_regs.h): one generic
 * write path applies the writable and write-1-to-clear masks to any 4- or
 * 8-byte access, then a per-register hook performs the side effect the
 * specification attaches to that register: a global command, a context or
 * IOTLB invalidation, a queue tail move, a status bit cleared.  Reads
 * never have side effects, so vtd_unit_reg_peek() is simply a read.
 *
 * GCMD follows the specification's one-command-at-a-time rule: software
 * derives the value it writes from GSTS (with the one-shot bits SRTP, SFL,
 * WBF and SIRTP cleared) and changes exactly one command per write.  A
 * write that changes more than one thing at once has undefined effect in
 * the specification; we ignore it and leave a guest-error message, so a
 * driver relying on it is caught instead of silently working.
 *
 * Commands complete synchronously: a status bit set by a command (TES,
 * RTPS, QIES, ...) reads back set on the very next read, ICC and IVT read
 * back clear.  Timing of commands is not modelled.
 *
 * The DMA path: GSTS.TES clear lets requests through untranslated; the
 * abort-DMA root table mode (RTADDR.TTM=11 with ECAP.ADMS) blocks
 * everything; an enabled protected memory region blocks untranslated
 * requests whose input range touches it; otherwise the translation engine
 * (vtd_xlate.h) decides, and vtd_translate_one() is the only place that
 * calls it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "models/vtd/vtd_internal.h"

static const VtdRegDesc vtd_reg_descs[VTD_REG__COUNT] = {
#define VTD_REG_ROW(nm, off, sz, rst, wm, w1c, bs, cnd, fl) \
    [VTD_REG_##nm] = { .name = #nm, .offset = (off), .size = (sz), .flags = (fl), \
                         .reset = (rst), .wmask = (wm), .w1cmask = (w1c), .base = (bs), .cond = (cnd) },
    VTD_REG_TABLE(VTD_REG_ROW)
#undef VTD_REG_ROW
};

const VtdRegDesc *vtd_reg_desc(VtdRegId id)
{
    g_assert((unsigned)id < VTD_REG__COUNT);
    return &vtd_reg_descs[id];
}

void vtd_guest_error(VtdUnit *u, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(u->last_error, sizeof(u->last_error), fmt, ap);
    va_end(ap);
    u->stats.guest_errors++;
    g_debug("vtd: %s", u->last_error);
}

const char *vtd_unit_last_guest_error(const VtdUnit *u)
{
    return u->last_error[0] ? u->last_error : NULL;
}

/* ---- register storage ---------------------------------------------------- */

uint64_t vtd_get(const VtdUnit *u, VtdRegId id)
{
    int32_t i = u->idx[id];
    return i < 0 ? 0 : u->regs[i].val;
}

void vtd_set(VtdUnit *u, VtdRegId id, uint64_t val)
{
    int32_t i = u->idx[id];
    if (i >= 0)
        u->regs[i].val = val;
}

void vtd_set_clear(VtdUnit *u, VtdRegId id, uint64_t set, uint64_t clear)
{
    int32_t i = u->idx[id];
    if (i >= 0)
        u->regs[i].val = (u->regs[i].val & ~clear) | set;
}

VtdRegInst *vtd_frcd_inst(VtdUnit *u, unsigned record, bool hi)
{
    g_assert(record < u->nfrcd);
    return &u->regs[u->idx[VTD_REG_FRCD_LO] + 2 * record + (hi ? 1 : 0)];
}

static uint64_t vtd_reg_abs_offset(const VtdParams *p, const VtdRegDesc *d, unsigned record)
{
    switch (d->base) {
    case VTD_RB_IRO:
        return vtd_ecap_IRO(p->ecap) * 16 + d->offset;
    case VTD_RB_FRO:
        return vtd_cap_FRO(p->cap) * 16 + (uint64_t)VTD_FRCD_REG_SIZE * record + d->offset;
    case VTD_RB_FIXED:
        break;
    }
    return d->offset;
}

/* The table's masks adjusted to what the capabilities implement. */
static void vtd_reg_effective(const VtdUnit *u, VtdRegInst *r)
{
    const VtdRegDesc *d = vtd_reg_desc(r->id);
    const VtdParams *p = &u->p;
    r->reset = d->reset;
    r->wmask = d->wmask;
    r->w1cmask = d->w1cmask;
    if ((d->flags & VTD_RF_EIM) && !vtd_ecap_EIM(p->ecap))
        r->wmask = 0;
    switch (r->id) {
    case VTD_REG_VER:
        r->reset = p->ver;
        break;
    case VTD_REG_CAP:
        r->reset = p->cap;
        break;
    case VTD_REG_ECAP:
        r->reset = p->ecap;
        break;
    case VTD_REG_IQA:
        if (!vtd_ecap_SMTS(p->ecap))
            r->wmask &= ~VTD_IQA_DW;
        break;
    case VTD_REG_IRTA:
        if (!vtd_ecap_EIM(p->ecap))
            r->wmask &= ~(UINT64_C(1) << 11);
        break;
    default:
        break;
    }
}

void vtd_regs_build(VtdUnit *u)
{
    u->nfrcd = (unsigned)vtd_cap_NFR(u->p.cap) + 1;
    u->nregs = (VTD_REG__COUNT - 2) + 2 * u->nfrcd;
    u->regs = g_new0(VtdRegInst, u->nregs);
    unsigned n = 0;
    uint64_t end = 0;
    for (int id = 0; id < VTD_REG__COUNT; id++) {
        if (id == VTD_REG_FRCD_HI)
            continue;   /* laid out together with FRCD_LO */
        bool present = vtd_params_reg_present(&u->p, (VtdRegId)id);
        u->idx[id] = present ? (int32_t)n : -1;
        unsigned copies = id == VTD_REG_FRCD_LO ? u->nfrcd : 1;
        for (unsigned c = 0; c < copies; c++) {
            unsigned halves = id == VTD_REG_FRCD_LO ? 2 : 1;
            for (unsigned h = 0; h < halves; h++) {
                VtdRegId rid = h ? VTD_REG_FRCD_HI : (VtdRegId)id;
                VtdRegInst *r = &u->regs[n];
                if (!present) {
                    /* Absent registers still get a slot only to keep indexing simple. */
                    r->id = rid;
                    r->present = false;
                    n++;
                    continue;
                }
                r->id = rid;
                r->frcd = c;
                r->size = vtd_reg_desc(rid)->size;
                r->offset = (uint32_t)vtd_reg_abs_offset(&u->p, vtd_reg_desc(rid), c);
                r->present = true;
                vtd_reg_effective(u, r);
                if (r->offset + r->size > end)
                    end = r->offset + r->size;
                n++;
            }
        }
        if (id == VTD_REG_FRCD_LO)
            u->idx[VTD_REG_FRCD_HI] = present ? u->idx[VTD_REG_FRCD_LO] + 1 : -1;
    }
    g_assert(n == u->nregs);
    u->mmio_size = MAX((end + 0xfff) & ~UINT64_C(0xfff), UINT64_C(0x1000));
    u->dmap = g_new(int32_t, u->mmio_size / 4);
    for (uint64_t i = 0; i < u->mmio_size / 4; i++)
        u->dmap[i] = -1;
    for (unsigned i = 0; i < u->nregs; i++) {
        const VtdRegInst *r = &u->regs[i];
        if (!r->present)
            continue;
        for (unsigned b = 0; b < r->size; b += 4) {
            g_assert(u->dmap[(r->offset + b) / 4] == -1);  /* vtd_params_validate() ensures it */
            u->dmap[(r->offset + b) / 4] = (int32_t)i;
        }
    }
}

void vtd_regs_reset(VtdUnit *u)
{
    for (unsigned i = 0; i < u->nregs; i++)
        u->regs[i].val = u->regs[i].present ? u->regs[i].reset : 0;
}

/* ---- translation engine glue ---------------------------------------------- */

static void vtd_push_config(VtdUnit *u)
{
    VtdXlateConfig cfg = {
        .cap = u->p.cap,
        .ecap = u->p.ecap,
        .rtaddr = u->rtaddr_active,
        .te = (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_TES) != 0,
        .haw = u->p.haw,
    };
    vtd_xlate_set_config(u->xl, &cfg);
}

/* ---- GCMD ------------------------------------------------------------------ */

static void vtd_gcmd_write(VtdUnit *u, uint32_t cmd)
{
    const uint32_t persistent = VTD_GCMD_TE | VTD_GCMD_EAFL | VTD_GCMD_QIE | VTD_GCMD_IRE | VTD_GCMD_CFI;
    const uint32_t oneshot = VTD_GCMD_SRTP | VTD_GCMD_SFL | VTD_GCMD_WBF | VTD_GCMD_SIRTP;
    uint32_t gsts = (uint32_t)vtd_get(u, VTD_REG_GSTS);
    uint32_t changes = ((cmd ^ gsts) & persistent) | (cmd & oneshot);
    const VtdParams *p = &u->p;

    if (changes == 0)
        return;
    if (changes & (changes - 1)) {
        vtd_guest_error(u, "GCMD write 0x%08x changes several commands at once (GSTS 0x%08x, changed "
                        "0x%08x); one command per write is required: ignored", cmd, gsts, changes);
        return;
    }
    bool on = (cmd & changes) != 0;
    switch (changes) {
    case VTD_GCMD_TE:
        vtd_set_clear(u, VTD_REG_GSTS, on ? VTD_GSTS_TES : 0, on ? 0 : VTD_GSTS_TES);
        vtd_push_config(u);
        break;
    case VTD_GCMD_SRTP: {
        uint64_t rta = vtd_get(u, VTD_REG_RTADDR);
        unsigned ttm = (unsigned)vtd_RTADDR_TTM(rta);
        if ((ttm == VTD_TTM_SCALABLE && !vtd_ecap_SMTS(p->ecap)) || ttm == VTD_TTM_RESERVED ||
            (ttm == VTD_TTM_ABORT_DMA && !vtd_ecap_ADMS(p->ecap)))
            vtd_guest_error(u, "SRTP with RTADDR.TTM=%u, which this unit does not support", ttm);
        u->rtaddr_active = rta;
        vtd_set_clear(u, VTD_REG_GSTS, VTD_GSTS_RTPS, 0);
        if (vtd_cap_ESRTPS(p->cap))
            vtd_xlate_flush_all(u->xl);
        vtd_push_config(u);
        break;
    }
    case VTD_GCMD_SFL:
        if (vtd_cap_AFL(p->cap))
            vtd_set_clear(u, VTD_REG_GSTS, VTD_GSTS_FLS, 0);
        else
            vtd_guest_error(u, "GCMD.SFL without CAP.AFL: ignored");
        break;
    case VTD_GCMD_EAFL:
        if (vtd_cap_AFL(p->cap))
            vtd_set_clear(u, VTD_REG_GSTS, on ? VTD_GSTS_AFLS : 0, on ? 0 : VTD_GSTS_AFLS);
        else
            vtd_guest_error(u, "GCMD.EAFL without CAP.AFL: ignored");
        break;
    case VTD_GCMD_WBF:
        /* Write buffers are not modelled: the flush completes at once (WBFS reads 0). */
        if (!vtd_cap_RWBF(p->cap))
            vtd_guest_error(u, "GCMD.WBF without CAP.RWBF: ignored");
        break;
    case VTD_GCMD_QIE:
        if (!vtd_ecap_QI(p->ecap)) {
            vtd_guest_error(u, "GCMD.QIE without ECAP.QI: ignored");
            break;
        }
        if (on) {
            vtd_set_clear(u, VTD_REG_GSTS, VTD_GSTS_QIES, 0);
            vtd_qi_process(u);
        } else {
            if (vtd_get(u, VTD_REG_IQH) != vtd_get(u, VTD_REG_IQT))
                vtd_guest_error(u, "queued invalidation disabled with descriptors pending "
                                "(IQH 0x%" G_GINT64_MODIFIER "x, IQT 0x%" G_GINT64_MODIFIER "x)",
                                (guint64)vtd_get(u, VTD_REG_IQH), (guint64)vtd_get(u, VTD_REG_IQT));
            vtd_set_clear(u, VTD_REG_GSTS, 0, VTD_GSTS_QIES);
            vtd_set(u, VTD_REG_IQH, 0);
        }
        break;
    case VTD_GCMD_IRE:
        if (vtd_ecap_IR(p->ecap))
            vtd_set_clear(u, VTD_REG_GSTS, on ? VTD_GSTS_IRES : 0, on ? 0 : VTD_GSTS_IRES);
        else
            vtd_guest_error(u, "GCMD.IRE without ECAP.IR: ignored");
        break;
    case VTD_GCMD_SIRTP:
        if (vtd_ecap_IR(p->ecap)) {
            u->irta_active = vtd_get(u, VTD_REG_IRTA);
            vtd_set_clear(u, VTD_REG_GSTS, VTD_GSTS_IRTPS, 0);
            /* Without ESIRTPS cached IRTEs survive SIRTP: software must invalidate the IEC. */
            if (vtd_cap_ESIRTPS(p->cap))
                vtd_ir_flush(u->ir);
        } else {
            vtd_guest_error(u, "GCMD.SIRTP without ECAP.IR: ignored");
        }
        break;
    case VTD_GCMD_CFI:
        if (vtd_ecap_IR(p->ecap))
            vtd_set_clear(u, VTD_REG_GSTS, on ? VTD_GSTS_CFIS : 0, on ? 0 : VTD_GSTS_CFIS);
        else
            vtd_guest_error(u, "GCMD.CFI without ECAP.IR: ignored");
        break;
    default:
        g_assert_not_reached();
    }
}

/* ---- register-based invalidation ------------------------------------------- */

static void vtd_ccmd_exec(VtdUnit *u)
{
    uint64_t v = vtd_get(u, VTD_REG_CCMD);
    unsigned caig = 0;
    if (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_QIES) {
        vtd_guest_error(u, "CCMD invalidation while queued invalidation is enabled: ignored");
    } else {
        switch (vtd_CCMD_CIRG(v)) {
        case VTD_CC_GLOBAL:
            vtd_xlate_inv_context_global(u->xl);
            caig = VTD_CC_GLOBAL;
            break;
        case VTD_CC_DOMAIN:
            vtd_xlate_inv_context_domain(u->xl, (uint16_t)vtd_CCMD_DID(v));
            caig = VTD_CC_DOMAIN;
            break;
        case VTD_CC_DEVICE:
            vtd_xlate_inv_context_device(u->xl, (uint16_t)vtd_CCMD_DID(v), (uint16_t)vtd_CCMD_SID(v),
                                         (unsigned)vtd_CCMD_FM(v));
            caig = VTD_CC_DEVICE;
            break;
        default:
            vtd_guest_error(u, "CCMD with reserved CIRG 0: ignored (CAIG=0)");
            break;
        }
    }
    v = vtd_CCMD_set_CAIG(v, caig);
    v &= ~VTD_CCMD_ICC;
    vtd_set(u, VTD_REG_CCMD, v);
}

static void vtd_iotlb_exec(VtdUnit *u)
{
    uint64_t v = vtd_get(u, VTD_REG_IOTLB);
    uint64_t iva = vtd_get(u, VTD_REG_IVA);
    uint16_t did = (uint16_t)vtd_IOTLB_DID(v);
    unsigned iaig = 0;
    if (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_QIES) {
        vtd_guest_error(u, "IOTLB register invalidation while queued invalidation is enabled: ignored");
    } else {
        switch (vtd_IOTLB_IIRG(v)) {
        case VTD_IOTLB_GLOBAL:
            vtd_xlate_inv_iotlb_global(u->xl);
            iaig = VTD_IOTLB_GLOBAL;
            break;
        case VTD_IOTLB_DSI:
            vtd_xlate_inv_iotlb_domain(u->xl, did);
            iaig = VTD_IOTLB_DSI;
            break;
        case VTD_IOTLB_PSI: {
            unsigned am = (unsigned)vtd_IVA_AM(iva);
            if (!vtd_cap_PSI(u->p.cap)) {
                /* Without PSI support the hardware performs a domain-selective invalidation. */
                vtd_xlate_inv_iotlb_domain(u->xl, did);
                iaig = VTD_IOTLB_DSI;
            } else if (am > vtd_cap_MAMV(u->p.cap)) {
                vtd_guest_error(u, "IOTLB page-selective invalidation with AM %u > CAP.MAMV %u: "
                                "ignored (IAIG=0)", am, (unsigned)vtd_cap_MAMV(u->p.cap));
            } else {
                vtd_xlate_inv_iotlb_page(u->xl, did, vtd_IVA_ADDR(iva) << 12, am, vtd_IVA_IH(iva) != 0);
                iaig = VTD_IOTLB_PSI;
            }
            break;
        }
        default:
            vtd_guest_error(u, "IOTLB invalidation with reserved IIRG 0: ignored (IAIG=0)");
            break;
        }
    }
    v = vtd_IOTLB_set_IAIG(v, iaig);
    v &= ~VTD_IOTLB_IVT;
    vtd_set(u, VTD_REG_IOTLB, v);
}

/* ---- the generic write path ------------------------------------------------- */

static void vtd_reg_written(VtdUnit *u, VtdRegInst *r, uint64_t old, uint64_t bytemask)
{
    const uint64_t upper = UINT64_C(0xffffffff00000000);
    switch (r->id) {
    case VTD_REG_GCMD: {
        uint32_t cmd = (uint32_t)r->val;
        r->val = 0;
        vtd_gcmd_write(u, cmd);
        break;
    }
    case VTD_REG_CCMD:
        if ((bytemask & upper) && (r->val & VTD_CCMD_ICC))
            vtd_ccmd_exec(u);
        break;
    case VTD_REG_IOTLB:
        if ((bytemask & upper) && (r->val & VTD_IOTLB_IVT))
            vtd_iotlb_exec(u);
        break;
    case VTD_REG_FSTS:
        vtd_fault_status_update(u);
        if ((old & (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE)) &&
            !(r->val & (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE)))
            vtd_qi_process(u);
        break;
    case VTD_REG_FRCD_HI:
        vtd_fault_status_update(u);
        break;
    case VTD_REG_FECTL:
    case VTD_REG_IECTL:
    case VTD_REG_PECTL:
        vtd_event_ctl_written(u, r->id, old);
        break;
    case VTD_REG_IQT:
        vtd_qi_process(u);
        break;
    case VTD_REG_ICS:
        vtd_inv_status_update(u);
        break;
    case VTD_REG_PRS:
        vtd_prq_status_update(u);
        break;
    case VTD_REG_PMEN:
        /* PRS (bit 0) reports the region state; enabling or disabling completes at once. */
        r->val = (r->val & VTD_PMEN_EPM) | ((r->val & VTD_PMEN_EPM) ? VTD_PMEN_PRS : 0);
        break;
    default:
        break;
    }
}

static void vtd_write_inst(VtdUnit *u, VtdRegInst *r, uint64_t val, uint64_t bytemask)
{
    uint64_t old = r->val;
    uint64_t w = r->wmask & bytemask;
    uint64_t nv = (old & ~w) | (val & w);
    nv &= ~(val & r->w1cmask & bytemask);
    r->val = nv;
    vtd_reg_written(u, r, old, bytemask);
}

static void vtd_write32(VtdUnit *u, uint64_t off, uint32_t val)
{
    if (off + 4 > u->mmio_size)
        return;
    int32_t i = u->dmap[off / 4];
    if (i < 0) {
        vtd_guest_error(u, "write of 0x%08x to unimplemented register offset 0x%03" G_GINT64_MODIFIER
                        "x: ignored", val, (guint64)off);
        return;
    }
    VtdRegInst *r = &u->regs[i];
    unsigned shift = (unsigned)(off - r->offset) * 8;
    vtd_write_inst(u, r, (uint64_t)val << shift, UINT64_C(0xffffffff) << shift);
}

static uint32_t vtd_read32(const VtdUnit *u, uint64_t off)
{
    if (off + 4 > u->mmio_size)
        return 0;
    int32_t i = u->dmap[off / 4];
    if (i < 0)
        return 0;
    const VtdRegInst *r = &u->regs[i];
    if (vtd_reg_desc(r->id)->flags & VTD_RF_WO)
        return 0;
    return (uint32_t)(r->val >> ((off - r->offset) * 8));
}

uint64_t vtd_unit_reg_peek(const VtdUnit *u, uint64_t off, unsigned size)
{
    if (size == 8) {
        if (off + 8 <= u->mmio_size) {
            int32_t i = u->dmap[off / 4];
            if (i >= 0 && u->regs[i].size == 8 && u->regs[i].offset == off)
                return (vtd_reg_desc(u->regs[i].id)->flags & VTD_RF_WO) ? 0 : u->regs[i].val;
        }
        return vtd_read32(u, off) | ((uint64_t)vtd_read32(u, off + 4) << 32);
    }
    return vtd_read32(u, off);
}

static uint64_t vtd_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    return vtd_unit_reg_peek(opaque, off, size);
}

static void vtd_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    VtdUnit *u = opaque;
    if (size == 8 && off + 8 <= u->mmio_size) {
        int32_t i = u->dmap[off / 4];
        if (i >= 0 && u->regs[i].size == 8 && u->regs[i].offset == off) {
            vtd_write_inst(u, &u->regs[i], val, ~UINT64_C(0));
            return;
        }
    }
    vtd_write32(u, off, (uint32_t)val);
    if (size == 8)
        vtd_write32(u, off + 4, (uint32_t)(val >> 32));
}

static const MmioOps vtd_mmio_ops = {
    .name = "vtd",
    .read = vtd_mmio_read,
    .write = vtd_mmio_write,
    .min_access = 4,
    .max_access = 8,
    .impl_max = 8,
    .unaligned = false,
};

const MmioOps *vtd_unit_mmio_ops(void)
{
    return &vtd_mmio_ops;
}

uint64_t vtd_unit_mmio_size(const VtdUnit *u)
{
    return u->mmio_size;
}

int64_t vtd_unit_reg_offset(const VtdUnit *u, VtdRegId id)
{
    g_assert((unsigned)id < VTD_REG__COUNT);
    int32_t i = u->idx[id];
    return i < 0 ? -1 : (int64_t)u->regs[i].offset;
}

/* ---- register dump ---------------------------------------------------------- */

/* Linux debugfs iommu_regset order: the 32-bit registers, then the 64-bit ones. */
static const VtdRegId vtd_regset_order[] = {
    VTD_REG_VER, VTD_REG_GCMD, VTD_REG_GSTS, VTD_REG_FSTS, VTD_REG_FECTL, VTD_REG_FEDATA,
    VTD_REG_FEADDR, VTD_REG_FEUADDR, VTD_REG_PMEN, VTD_REG_PLMBASE, VTD_REG_PLMLIMIT, VTD_REG_ICS,
    VTD_REG_PRS, VTD_REG_PECTL, VTD_REG_PEDATA, VTD_REG_PEADDR, VTD_REG_PEUADDR,
    VTD_REG_CAP, VTD_REG_ECAP, VTD_REG_RTADDR, VTD_REG_PHMBASE, VTD_REG_PHMLIMIT, VTD_REG_IQH,
    VTD_REG_IQT, VTD_REG_IQA, VTD_REG_IRTA, VTD_REG_PQH, VTD_REG_PQT, VTD_REG_PQA, VTD_REG_MTRRCAP,
    VTD_REG_MTRRDEF, VTD_REG_MTRR_FIX64K_00000, VTD_REG_MTRR_FIX16K_80000, VTD_REG_MTRR_FIX16K_A0000,
    VTD_REG_MTRR_FIX4K_C0000, VTD_REG_MTRR_FIX4K_C8000, VTD_REG_MTRR_FIX4K_D0000,
    VTD_REG_MTRR_FIX4K_D8000, VTD_REG_MTRR_FIX4K_E0000, VTD_REG_MTRR_FIX4K_E8000,
    VTD_REG_MTRR_FIX4K_F0000, VTD_REG_MTRR_FIX4K_F8000,
    VTD_REG_MTRR_PHYSBASE0, VTD_REG_MTRR_PHYSMASK0, VTD_REG_MTRR_PHYSBASE1, VTD_REG_MTRR_PHYSMASK1,
    VTD_REG_MTRR_PHYSBASE2, VTD_REG_MTRR_PHYSMASK2, VTD_REG_MTRR_PHYSBASE3, VTD_REG_MTRR_PHYSMASK3,
    VTD_REG_MTRR_PHYSBASE4, VTD_REG_MTRR_PHYSMASK4, VTD_REG_MTRR_PHYSBASE5, VTD_REG_MTRR_PHYSMASK5,
    VTD_REG_MTRR_PHYSBASE6, VTD_REG_MTRR_PHYSMASK6, VTD_REG_MTRR_PHYSBASE7, VTD_REG_MTRR_PHYSMASK7,
    VTD_REG_MTRR_PHYSBASE8, VTD_REG_MTRR_PHYSMASK8, VTD_REG_MTRR_PHYSBASE9, VTD_REG_MTRR_PHYSMASK9,
};

void vtd_unit_dump_regset(const VtdUnit *u, const char *name, uint64_t base, GString *out)
{
    g_string_append_printf(out, "IOMMU: %s Register Base Address: %" G_GINT64_MODIFIER "x\n", name,
                           (guint64)base);
    g_string_append(out, "Name\t\t\tOffset\t\tContents\n");
    for (size_t i = 0; i < G_N_ELEMENTS(vtd_regset_order); i++) {
        const VtdRegDesc *d = vtd_reg_desc(vtd_regset_order[i]);
        /* Absent registers read 0 at their architectural offset, as on hardware. */
        uint64_t v = vtd_unit_reg_peek(u, d->offset, d->size);
        g_string_append_printf(out, "%-16s\t0x%02x\t\t0x%016" G_GINT64_MODIFIER "x\n", d->name,
                               (unsigned)d->offset, (guint64)v);
    }
}

/* ---- lifecycle -------------------------------------------------------------- */

VtdUnit *vtd_unit_new(EmuSim *sim, const VtdParams *p, AddrSpace *dma_as, GError **error)
{
    g_return_val_if_fail(p != NULL && dma_as != NULL, NULL);
    if (!vtd_params_validate(p, error))
        return NULL;
    VtdXlate *xl = vtd_xlate_new(&p->cache, dma_as, error);
    if (!xl)
        return NULL;
    VtdUnit *u = g_new0(VtdUnit, 1);
    u->sim = sim;
    u->dma_as = dma_as;
    u->p = *p;
    u->xl = xl;
    u->ir = vtd_ir_new();
    u->qi_pending = g_ptr_array_new();
    vtd_regs_build(u);
    vtd_unit_reset(u);
    return u;
}

void vtd_unit_free(VtdUnit *u)
{
    if (!u)
        return;
    vtd_qi_pending_clear(u);
    g_ptr_array_free(u->qi_pending, TRUE);
    vtd_xlate_free(u->xl);
    vtd_ir_free(u->ir);
    g_free(u->regs);
    g_free(u->dmap);
    g_free(u);
}

void vtd_unit_reset(VtdUnit *u)
{
    vtd_regs_reset(u);
    vtd_qi_pending_clear(u);
    u->rtaddr_active = 0;
    u->irta_active = 0;
    u->next_frcd = 0;
    vtd_push_config(u);
    vtd_xlate_flush_all(u->xl);
    vtd_ir_flush(u->ir);
}

const VtdParams *vtd_unit_params(const VtdUnit *u)
{
    return &u->p;
}

void vtd_unit_ir_state(const VtdUnit *u, uint64_t *irta, bool *ire, bool *cfi)
{
    uint64_t gsts = vtd_get(u, VTD_REG_GSTS);
    if (irta)
        *irta = u->irta_active;
    if (ire)
        *ire = (gsts & VTD_GSTS_IRES) != 0;
    if (cfi)
        *cfi = (gsts & VTD_GSTS_CFIS) != 0;
}

VtdXlate *vtd_unit_xlate(VtdUnit *u)
{
    return u->xl;
}

const VtdUnitStats *vtd_unit_stats(const VtdUnit *u)
{
    return &u->stats;
}

void vtd_unit_set_msi_sink(VtdUnit *u, void (*msi)(void *opaque, uint64_t addr, uint32_t data),
                           void *opaque)
{
    u->msi = msi;
    u->msi_opaque = opaque;
}

void vtd_unit_set_devtlb_sink(VtdUnit *u, VtdDevtlbStatus (*inv)(void *opaque, const VtdDevtlbInv *req),
                              void *opaque)
{
    u->devtlb = inv;
    u->devtlb_opaque = opaque;
}

void vtd_unit_set_qi_filter(VtdUnit *u, VtdQiFilter *filter, void *opaque)
{
    u->qi_filter = filter;
    u->qi_filter_opaque = opaque;
}

void vtd_unit_set_table_filter(VtdUnit *u, VtdXlateMemFilter *filter, void *opaque)
{
    vtd_xlate_set_mem_filter(u->xl, filter, opaque);
}

unsigned vtd_unit_qi_pending(const VtdUnit *u)
{
    return u->qi_pending->len;
}

void vtd_unit_set_prg_response_sink(VtdUnit *u, void (*resp)(void *opaque, const VtdPageGroupResp *r),
                                    void *opaque)
{
    u->prg_resp = resp;
    u->prg_opaque = opaque;
}

/* ---- the DMA path ------------------------------------------------------------ */

static bool vtd_abort_dma(const VtdUnit *u)
{
    return (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_TES) && vtd_ecap_ADMS(u->p.ecap) &&
           vtd_RTADDR_TTM(u->rtaddr_active) == VTD_TTM_ABORT_DMA;
}

/* Protected memory regions: limits are inclusive of their 2 MiB granule. */
static bool vtd_pmr_blocks(const VtdUnit *u, uint64_t addr, uint64_t len)
{
    if (!(vtd_get(u, VTD_REG_PMEN) & VTD_PMEN_PRS))
        return false;
    uint64_t last = addr + (len ? len - 1 : 0);
    const uint64_t gran = UINT64_C(0x1fffff);
    if (vtd_cap_PLMR(u->p.cap)) {
        uint64_t b = vtd_get(u, VTD_REG_PLMBASE), l = vtd_get(u, VTD_REG_PLMLIMIT) | gran;
        if (b <= l && addr <= l && last >= b)
            return true;
    }
    if (vtd_cap_PHMR(u->p.cap)) {
        uint64_t b = vtd_get(u, VTD_REG_PHMBASE), l = vtd_get(u, VTD_REG_PHMLIMIT) | gran;
        if (b <= l && addr <= l && last >= b)
            return true;
    }
    return false;
}

/*
 * The single place where the translation engine is consulted, followed by
 * the fault recording the engine's verdict calls for.
 */
static VtdXlateStatus vtd_translate_one(VtdUnit *u, const VtdXlateRequest *req, VtdFaultType ftype,
                                        VtdXlateResult *res)
{
    vtd_xlate_translate(u->xl, req, res);
    u->last_result = *res;
    u->last_result_valid = true;
    if (!u->first_result_valid) {
        u->first_result = *res;
        u->first_result_valid = true;
    }
    if (res->status != VTD_XLATE_FAULT)
        return res->status;
    u->stats.faults++;
    if (!res->fault_record) {
        u->stats.faults_suppressed++;
        return res->status;
    }
    VtdFaultInfo f = {
        .reason = res->fault_reason,
        .sid = req->sid,
        .addr = res->fault_addr,
        .type = ftype,
        .at = (PcieAt)req->at,
        .pasid_present = req->pasid_present,
        .pasid = req->pasid,
        .priv = req->pasid_present && req->priv,
        .exec = req->pasid_present && req->exec,
    };
    vtd_unit_record_fault(u, &f);
    return res->status;
}

VtdXlateStatus vtd_unit_translate(VtdUnit *u, const VtdXlateRequest *req, VtdXlateResult *res)
{
    u->stats.requests++;
    if (vtd_abort_dma(u)) {
        memset(res, 0, sizeof(*res));
        res->status = VTD_XLATE_UR;
        u->stats.blocked_abort++;
        return res->status;
    }
    VtdFaultType ft = req->at == VTD_AT_TRANSLATION ? VTD_FT_READ
                      : req->write ? VTD_FT_WRITE : VTD_FT_READ;
    return vtd_translate_one(u, req, ft, res);
}

/* An AtomicOp on @size-byte operands at @addr (already translated); returns the old value in @data. */
static MemTxResult vtd_atomic(VtdUnit *u, PcieTlpType type, uint64_t addr, uint8_t *data, uint32_t len)
{
    unsigned size = type == PCIE_TLP_CAS ? len / 2 : len;
    if (size != 4 && size != 8)
        return MEMTX_ACCESS_ERROR;
    uint64_t old = 0, a = 0, b = 0, nv;
    MemTxResult r = addr_space_rw(u->dma_as, addr, &old, size, false);
    if (r != MEMTX_OK)
        return r;
    memcpy(&a, data, size);
    if (type == PCIE_TLP_CAS)
        memcpy(&b, data + size, size);
    switch (type) {
    case PCIE_TLP_FETCHADD:
        nv = old + a;
        break;
    case PCIE_TLP_SWAP:
        nv = a;
        break;
    default: /* CAS: compare with the first operand, swap in the second */
        nv = (old == a || (size == 4 && (uint32_t)old == (uint32_t)a)) ? b : old;
        break;
    }
    r = addr_space_rw(u->dma_as, addr, &nv, size, true);
    memcpy(data, &old, size);
    return r;
}

PcieCplStatus vtd_unit_mem_request(VtdUnit *u, PcieTlp *tlp, void *data)
{
    bool is_write, is_atomic = false;
    VtdFaultType ft;
    switch (tlp->type) {
    case PCIE_TLP_MRD:
    case PCIE_TLP_MRDLK:
        is_write = false;
        ft = VTD_FT_READ;
        break;
    case PCIE_TLP_MWR:
        is_write = true;
        ft = VTD_FT_WRITE;
        break;
    case PCIE_TLP_FETCHADD:
    case PCIE_TLP_SWAP:
    case PCIE_TLP_CAS:
        is_write = true;
        is_atomic = true;
        ft = VTD_FT_ATOMIC;
        break;
    default:
        return PCIE_CPL_UR;
    }
    uint8_t *buf = data;
    uint32_t len = tlp->length;

    if (tlp->at == PCIE_AT_TRANSLATION_REQUEST) {
        VtdXlateRequest req = {
            .sid = tlp->requester_id, .pasid_present = tlp->pasid_present, .pasid = tlp->pasid,
            .priv = tlp->priv, .exec = tlp->exec, .write = false, .addr = tlp->addr,
            .len = len ? len : 1, .at = VTD_AT_TRANSLATION,
        };
        VtdXlateResult res;
        return vtd_unit_translate(u, &req, &res) == VTD_XLATE_OK ? PCIE_CPL_SC : PCIE_CPL_UR;
    }

    u->stats.requests++;
    PcieCplStatus st = PCIE_CPL_SC;
    bool te = (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_TES) != 0;
    if (vtd_abort_dma(u)) {
        u->stats.blocked_abort++;
        st = PCIE_CPL_UR;
    } else if (tlp->at == PCIE_AT_UNTRANSLATED && vtd_pmr_blocks(u, tlp->addr, len)) {
        u->stats.blocked_pmr++;
        st = PCIE_CPL_UR;
    } else if (!te) {
        u->stats.passthrough++;
        MemTxResult r = is_atomic ? vtd_atomic(u, tlp->type, tlp->addr, buf, len)
                                  : addr_space_rw(u->dma_as, tlp->addr, buf, len, is_write);
        st = r == MEMTX_OK ? PCIE_CPL_SC : PCIE_CPL_UR;
    } else {
        /* Requests do not cross 4 KiB; translate page by page anyway, a guest may send anything. */
        uint64_t addr = tlp->addr;
        uint32_t done = 0;
        do {
            uint32_t chunk = len - done;
            uint64_t room = 0x1000 - (addr & 0xfff);
            if (chunk > room)
                chunk = (uint32_t)room;
            if (is_atomic)
                chunk = len;
            VtdXlateRequest req = {
                .sid = tlp->requester_id, .pasid_present = tlp->pasid_present, .pasid = tlp->pasid,
                .priv = tlp->priv, .exec = tlp->exec, .write = is_write, .addr = addr,
                .len = chunk ? chunk : 1,
                .at = tlp->at == PCIE_AT_TRANSLATED ? VTD_AT_TRANSLATED : VTD_AT_UNTRANSLATED,
            };
            VtdXlateResult res;
            VtdXlateStatus xs = vtd_translate_one(u, &req, ft, &res);
            MemTxResult r;
            switch (xs) {
            case VTD_XLATE_OK:
                r = is_atomic ? vtd_atomic(u, tlp->type, res.out_addr, buf + done, chunk)
                              : addr_space_rw(u->dma_as, res.out_addr, buf + done, chunk, is_write);
                if (r != MEMTX_OK)
                    st = PCIE_CPL_UR;
                break;
            case VTD_XLATE_INTERRUPT:
                /* An interrupt message: hand it to whatever decodes the interrupt window. */
                if (is_write && !is_atomic)
                    r = addr_space_rw(u->dma_as, addr, buf + done, chunk, true);
                else
                    r = MEMTX_ACCESS_ERROR;
                if (r != MEMTX_OK)
                    st = PCIE_CPL_UR;
                break;
            default:
                st = PCIE_CPL_UR;
                break;
            }
            addr += chunk;
            done += chunk;
        } while (st == PCIE_CPL_SC && done < len);
    }
    if (st != PCIE_CPL_SC && !is_write && buf)
        memset(buf, 0xff, len);
    return st;
}

const VtdXlateResult *vtd_unit_last_result(const VtdUnit *u)
{
    return u->last_result_valid ? &u->last_result : NULL;
}

void vtd_unit_result_mark(VtdUnit *u)
{
    u->first_result_valid = false;
}

const VtdXlateResult *vtd_unit_first_result(const VtdUnit *u)
{
    return u->first_result_valid ? &u->first_result : NULL;
}
