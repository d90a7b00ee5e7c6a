/*
 * Interrupt remapping: the interrupt entry cache, IRTE checks, source-ID
 * validation and interrupt posting (see vtd_ir.h for what is modelled).
 *
 * The order of the checks follows the specification's processing of a
 * remappable request (VT-d 4.x 5.1.3 and the fault table of 5.1.4.1):
 * reserved fields of the request (0x20), index beyond the table (0x21),
 * the IRTE read (0x23), Present (0x22), reserved fields of the present
 * entry (0x24), then source-ID validation (0x26).  0x20, 0x21, 0x23 and
 * 0x25 are unqualified (always recorded); 0x22, 0x24 and 0x26 are
 * qualified by the IRTE's FPD.  The fault record's FI carries the
 * interrupt index in bits 63:48 (vtd_frcd_IIDX) and 0 in 47:12; the
 * request type is a write.
 *
 * Choices where the specification leaves room, each documented in
 * docs/interrupt-remapping.md:
 *  - data bits 31:16 of a remappable request are reserved whether or not
 *    SHV is set;
 *  - SVT=11b (reserved encoding) in a present IRTE is a reserved-field
 *    fault (0x24), not a source-ID fault;
 *  - in xAPIC mode (EIME=0) DST bits 39:32 and 63:48 are reserved;
 *  - an error reading or writing the posted-interrupt descriptor is
 *    reported as 0x23 (the same class of error as an IRTE read).
 */
#include <string.h>
#include "models/vtd/vtd_internal.h"
#include "models/vtd/vtd_cache.h"

struct VtdIr {
    VtdCache *iec;
    VtdCacheGeom geom;
    VtdIrStats stats;
};

static const VtdCacheGeom vtd_iec_default_geom = { .entries = 256, .assoc = 4, .repl = VTD_REPL_LRU };

VtdIr *vtd_ir_new(void)
{
    VtdIr *ir = g_new0(VtdIr, 1);
    ir->geom = vtd_iec_default_geom;
    ir->iec = vtd_cache_new(&ir->geom);
    return ir;
}

void vtd_ir_free(VtdIr *ir)
{
    if (!ir)
        return;
    vtd_cache_free(ir->iec);
    g_free(ir);
}

void vtd_ir_flush(VtdIr *ir)
{
    vtd_cache_invalidate(ir->iec, NULL, NULL);
}

typedef struct IecRange {
    uint64_t first, last;
} IecRange;

static bool iec_in_range(const VtdCacheEntry *e, const void *opaque)
{
    const IecRange *r = opaque;
    return e->key[0] >= r->first && e->key[0] <= r->last;
}

void vtd_ir_iec_invalidate(VtdIr *ir, bool global, uint16_t iidx, unsigned im)
{
    ir->stats.iec_invalidations++;
    if (global) {
        vtd_cache_invalidate(ir->iec, NULL, NULL);
        return;
    }
    /* 2^IM entries starting at IIDX with its low IM bits cleared (the index mask) */
    uint64_t n = UINT64_C(1) << MIN(im, 16u);
    IecRange r = { .first = iidx & ~(n - 1), .last = (iidx & ~(n - 1)) + n - 1 };
    vtd_cache_invalidate(ir->iec, iec_in_range, &r);
}

const VtdIrStats *vtd_unit_ir_stats(const VtdUnit *u)
{
    return &u->ir->stats;
}

gboolean vtd_unit_set_iec_geom(VtdUnit *u, const VtdCacheGeom *g, GError **error)
{
    if (!vtd_cache_geom_validate(g, "iec", error))
        return FALSE;
    vtd_cache_free(u->ir->iec);
    u->ir->geom = *g;
    u->ir->iec = vtd_cache_new(g);
    return TRUE;
}

unsigned vtd_unit_iec_occupancy(const VtdUnit *u)
{
    return vtd_cache_occupancy(u->ir->iec);
}

/* ---- faults --------------------------------------------------------------------- */

static bool vtd_ir_qualified(uint8_t reason)
{
    return reason == VTD_FR_IRTE_NOT_PRESENT || reason == VTD_FR_IRTE_RESERVED ||
           reason == VTD_FR_IR_SID_INVALID;
}

static VtdIrStatus vtd_ir_fault(VtdUnit *u, VtdIrResult *res, uint16_t sid, uint8_t reason, bool fpd)
{
    res->status = VTD_IR_BLOCKED;
    res->fault_reason = reason;
    u->ir->stats.blocked++;
    u->stats.faults++;
    if (fpd && vtd_ir_qualified(reason)) {
        u->stats.faults_suppressed++;
        return res->status;
    }
    VtdFaultInfo f = {
        .reason = reason,
        .sid = sid,
        /* FI[63:48] = interrupt index, FI[47:12] = 0 */
        .addr = res->index_valid ? (uint64_t)(res->index & 0xffff) << 48 : 0,
        .type = VTD_FT_WRITE,
        .at = PCIE_AT_UNTRANSLATED,
    };
    res->fault_recorded = vtd_unit_record_fault(u, &f);
    return res->status;
}

/* ---- checks ----------------------------------------------------------------------- */

/* Source-ID validation of @rid against the IRTE (SVT 01 and 10); SVT 11 is caught earlier. */
static bool vtd_ir_sid_ok(const VtdIrte *e, uint16_t rid)
{
    uint16_t sid = (uint16_t)vtd_irte_SID(e);
    switch (vtd_irte_SVT(e)) {
    case VTD_SVT_SID: {
        /* SQ: 00 all bits, 01 ignore bit 2, 10 ignore bits 2:1, 11 ignore bits 2:0 (function number) */
        static const uint16_t sq_mask[4] = { 0xffff, 0xfffb, 0xfff9, 0xfff8 };
        uint16_t m = sq_mask[vtd_irte_SQ(e)];
        return (rid & m) == (sid & m);
    }
    case VTD_SVT_BUS_RANGE: {
        unsigned bus = rid >> 8, start = sid >> 8, end = sid & 0xff;
        return bus >= start && bus <= end;
    }
    default:
        return true;
    }
}

/* Whether a present IRTE has a reserved field set under the unit's capabilities and EIME. */
static bool vtd_ir_reserved(const VtdUnit *u, const VtdIrte *e, bool eime)
{
    if (vtd_irte_SVT(e) == VTD_SVT_RESERVED)
        return true;
    if (vtd_irte_IM(e)) {
        if (!vtd_cap_PI(u->p.cap))
            return true;    /* bit 15 is reserved without posted-interrupt support */
        if ((e->val[0] & VTD_IRTE_POST_RSVD_LO) || (e->val[1] & VTD_IRTE_POST_RSVD_HI))
            return true;
        uint64_t haw = u->p.haw ? u->p.haw : vtd_cap_MGAW(u->p.cap) + 1;
        return haw < 64 && (vtd_irte_pda(e) >> haw) != 0;
    }
    if ((e->val[0] & VTD_IRTE_REMAP_RSVD_LO) || (e->val[1] & VTD_IRTE_REMAP_RSVD_HI))
        return true;
    return !eime && (e->val[0] & VTD_IRTE_XAPIC_DST_RSVD) != 0;
}

/* ---- posting (5.2.3) ----------------------------------------------------------------- */

/*
 * Atomically: set PIR[VV]; if ON was clear and (URG or not SN), set ON and
 * generate the notification event.  The whole descriptor is read and
 * written back, which in a single-threaded simulation is atomic.
 */
static VtdIrStatus vtd_ir_post(VtdUnit *u, const VtdIrte *e, uint16_t sid, bool eime, VtdIrResult *res)
{
    uint64_t pda = vtd_irte_pda(e);
    VtdPid d;
    res->pda = pda;
    res->vv = (uint8_t)vtd_irte_VV(e);
    res->urgent = vtd_irte_URG(e) != 0;
    if (addr_space_rw(u->dma_as, pda, d.val, sizeof(d.val), false) != MEMTX_OK) {
        vtd_guest_error(u, "posted-interrupt descriptor at 0x%" G_GINT64_MODIFIER "x (IRTE %u) cannot be read",
                        (guint64)pda, res->index);
        return vtd_ir_fault(u, res, sid, VTD_FR_IRT_ACCESS, vtd_irte_FPD(e));
    }
    for (unsigned i = 0; i < 8; i++)
        d.val[i] = GUINT64_FROM_LE(d.val[i]);
    vtd_pid_set_pir(&d, res->vv, true);
    if (!vtd_pid_ON(&d) && (res->urgent || !vtd_pid_SN(&d))) {
        vtd_pid_set_ON(&d, 1);
        res->notify = true;
        res->nv = (uint8_t)vtd_pid_NV(&d);
        res->ndst = (uint32_t)(eime ? vtd_pid_NDST(&d) : vtd_pid_NDST_XAPIC(&d));
    }
    /* Only PIR and the ON word change; write back the first 40 bytes. */
    uint64_t le[5];
    for (unsigned i = 0; i < 5; i++)
        le[i] = GUINT64_TO_LE(d.val[i]);
    if (addr_space_rw(u->dma_as, pda, le, sizeof(le), true) != MEMTX_OK) {
        res->notify = false;
        return vtd_ir_fault(u, res, sid, VTD_FR_IRT_ACCESS, vtd_irte_FPD(e));
    }
    res->status = VTD_IR_POSTED;
    u->ir->stats.posted++;
    if (res->notify)
        u->ir->stats.notifications++;
    return res->status;
}

/* ---- the request ------------------------------------------------------------------------ */

static void vtd_ir_compat_decode(uint64_t addr, uint32_t data, VtdIrResult *res)
{
    VtdMsiAddr a = { { addr } };
    VtdMsiData dt = { { data } };
    res->dest = (uint32_t)vtd_msi_DEST(&a);
    res->logical = vtd_msi_DM(&a) != 0;
    res->rh = vtd_msi_RH(&a) != 0;
    res->vector = (uint8_t)vtd_msi_VECTOR(&dt);
    res->dlm = (uint8_t)vtd_msi_DLM(&dt);
    res->level = vtd_msi_TM(&dt) != 0;
    res->x2apic = false;
}

VtdIrStatus vtd_unit_remap_interrupt(VtdUnit *u, uint16_t sid, uint64_t addr, uint32_t data, VtdIrResult *res)
{
    memset(res, 0, sizeof(*res));
    VtdIr *ir = u->ir;
    ir->stats.requests++;
    uint64_t gsts = vtd_get(u, VTD_REG_GSTS);
    VtdMsiAddr a = { { addr } };
    VtdMsiData dt = { { data } };

    if (!vtd_ecap_IR(u->p.ecap) || !(gsts & VTD_GSTS_IRES)) {
        vtd_ir_compat_decode(addr, data, res);
        ir->stats.passed++;
        return res->status = VTD_IR_DELIVER;
    }
    bool eime = vtd_IRTA_EIME(u->irta_active) != 0;
    if (!vtd_msi_IF(&a)) {
        /* Compatibility format: allowed only with CFIS in xAPIC mode. */
        if (eime || !(gsts & VTD_GSTS_CFIS))
            return vtd_ir_fault(u, res, sid, VTD_FR_IR_COMPAT_BLOCKED, false);
        vtd_ir_compat_decode(addr, data, res);
        ir->stats.passed++;
        return res->status = VTD_IR_DELIVER;
    }

    uint32_t handle = (uint32_t)(vtd_msi_HANDLE(&a) | (vtd_msi_HANDLE_15(&a) << 15));
    res->index = handle + (vtd_msi_SHV(&a) ? (uint32_t)vtd_msi_SUBHANDLE(&dt) : 0);
    res->index_valid = true;
    if (vtd_msi_UPPER(&a) || vtd_msi_DATA_RSVD(&dt))
        return vtd_ir_fault(u, res, sid, VTD_FR_IR_REQ_RESERVED, false);
    uint64_t entries = UINT64_C(1) << (vtd_IRTA_S(u->irta_active) + 1);
    if (res->index >= entries)
        return vtd_ir_fault(u, res, sid, VTD_FR_IR_INDEX_BEYOND, false);

    VtdIrte e;
    uint64_t key[VTD_CACHE_KEY_WORDS] = { res->index, 0, 0, 0 };
    VtdCacheEntry *ce = vtd_cache_probe(ir->iec, key);
    vtd_cache_count_lookup(ir->iec, ce != NULL);
    if (ce) {
        ir->stats.iec_hits++;
        res->iec_hit = true;
        e.val[0] = ce->val[0];
        e.val[1] = ce->val[1];
    } else {
        ir->stats.iec_misses++;
        uint64_t at = (vtd_IRTA_IRTA(u->irta_active) << 12) + (uint64_t)res->index * VTD_IRTE_SIZE;
        if (addr_space_rw(u->dma_as, at, e.val, sizeof(e.val), false) != MEMTX_OK) {
            vtd_guest_error(u, "interrupt remapping table entry %u at 0x%" G_GINT64_MODIFIER "x cannot be read",
                            res->index, (guint64)at);
            return vtd_ir_fault(u, res, sid, VTD_FR_IRT_ACCESS, false);
        }
        e.val[0] = GUINT64_FROM_LE(e.val[0]);
        e.val[1] = GUINT64_FROM_LE(e.val[1]);
        if (!vtd_irte_P(&e))
            return vtd_ir_fault(u, res, sid, VTD_FR_IRTE_NOT_PRESENT, vtd_irte_FPD(&e));
        if (vtd_ir_reserved(u, &e, eime))
            return vtd_ir_fault(u, res, sid, VTD_FR_IRTE_RESERVED, vtd_irte_FPD(&e));
        uint64_t val[VTD_CACHE_VAL_WORDS] = { e.val[0], e.val[1], 0, 0, 0, 0 };
        vtd_cache_fill(ir->iec, key, val);
    }
    if (!vtd_ir_sid_ok(&e, sid))
        return vtd_ir_fault(u, res, sid, VTD_FR_IR_SID_INVALID, vtd_irte_FPD(&e));

    res->remapped = true;
    res->x2apic = eime;
    if (vtd_irte_IM(&e))
        return vtd_ir_post(u, &e, sid, eime, res);
    res->dest = (uint32_t)(eime ? vtd_irte_DST(&e) : vtd_irte_DST_XAPIC(&e));
    res->vector = (uint8_t)vtd_irte_V(&e);
    res->dlm = (uint8_t)vtd_irte_DLM(&e);
    res->logical = vtd_irte_DM(&e) != 0;
    res->rh = vtd_irte_RH(&e) != 0;
    res->level = vtd_irte_TM(&e) != 0;
    ir->stats.remapped++;
    return res->status = VTD_IR_DELIVER;
}

/* ---- debugfs-style dump ------------------------------------------------------------------ */

void vtd_unit_dump_ir_table(VtdUnit *u, const char *name, GString *out)
{
    bool ires = (vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_IRES) != 0;
    uint64_t base = vtd_IRTA_IRTA(u->irta_active) << 12;
    uint64_t n = UINT64_C(1) << (vtd_IRTA_S(u->irta_active) + 1);
    for (int posted = 0; posted < 2; posted++) {
        if (posted) {
            if (!vtd_cap_PI(u->p.cap))
                break;
            g_string_append(out, "****\n\n");
            g_string_append_printf(out, "Posted Interrupt supported on IOMMU: %s\n", name);
        } else {
            g_string_append_printf(out, "Remapped Interrupt supported on IOMMU: %s\n", name);
        }
        if (!ires) {
            g_string_append(out, "Interrupt Remapping is not enabled\n");
            continue;
        }
        g_string_append_printf(out, " IR table address:%" G_GINT64_MODIFIER "x\n", (guint64)base);
        g_string_append(out, posted ? " Entry SrcID   PDA_high PDA_low  Vct IRTE_high\t\tIRTE_low\n"
                                    : " Entry SrcID   DstID    Vct IRTE_high\t\tIRTE_low\n");
        for (uint64_t i = 0; i < n; i++) {
            VtdIrte e;
            if (addr_space_rw(u->dma_as, base + i * VTD_IRTE_SIZE, e.val, sizeof(e.val), false) != MEMTX_OK)
                break;
            e.val[0] = GUINT64_FROM_LE(e.val[0]);
            e.val[1] = GUINT64_FROM_LE(e.val[1]);
            if (!vtd_irte_P(&e) || (vtd_irte_IM(&e) != 0) != (posted != 0))
                continue;
            unsigned sid = (unsigned)vtd_irte_SID(&e);
            g_string_append_printf(out, " %-5u %02x:%02x.%01x ", (unsigned)i, sid >> 8, (sid >> 3) & 0x1f, sid & 7);
            if (posted)
                g_string_append_printf(out, "%08x %08x ", (unsigned)vtd_irte_PDA_H(&e),
                                       (unsigned)(vtd_irte_PDA_L(&e) << 6));
            else
                g_string_append_printf(out, "%08x ", (unsigned)vtd_irte_DST(&e));
            g_string_append_printf(out, "%02x  %016" G_GINT64_MODIFIER "x\t%016" G_GINT64_MODIFIER "x\n",
                                   (unsigned)vtd_irte_V(&e), (guint64)e.val[1], (guint64)e.val[0]);
        }
        g_string_append(out, "\n");
    }
}
