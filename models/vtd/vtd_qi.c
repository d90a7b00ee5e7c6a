/*
 * Queued invalidation (VT-d 4.x 6.5.2) and the page request queue (7.5).
 *
 * The invalidation queue is a ring of 4 KiB << IQA.QS bytes at IQA.IQA,
 * holding 128-bit descriptors, or 256-bit ones when IQA.DW=1 (scalable-mode
 * capable units only).  IQH and IQT are byte offsets.  While GSTS.QIES is
 * set, every write to IQT makes the unit fetch and execute descriptors from
 * IQH up to IQT; IQH then equals IQT.  A descriptor that cannot be executed
 * (unknown type, a type the queue width does not allow, a reserved field
 * set, a fetch error) stops processing with FSTS.IQE set, IQERCD.IQEI
 * giving the reason, and IQH left at the offending descriptor; nothing is
 * fetched until software clears IQE.  A tail that is beyond the queue or
 * not aligned to the descriptor size is refused the same way (IQEI=1)
 * without executing anything.  The loop runs at most one queue's worth of
 * descriptors per kick, so no programming can make it spin.
 *
 * Execution is synchronous: a wait descriptor's status write and
 * interrupt happen before the IQT write returns.  Device-TLB invalidations
 * are handed to the platform's device-TLB sink (completing at once without
 * one); a sink reporting a timeout raises ITE (IQERCD.ITESID), a bad
 * completion ICE (IQERCD.ICESID); processing stops after that descriptor
 * until software clears the error.  An IEC descriptor drops the cached
 * IRTEs it selects (all, or 2^IM entries from IIDX) from the interrupt
 * entry cache (vtd_ir.c).
 *
 * Fault injection (vtd_unit_set_qi_filter): a filter sees every
 * descriptor that passed the decode checks (type, width, reserved fields)
 * and may have it dropped, deferred by a time (an EmuTimer per deferred
 * descriptor executes it later from the simulation's event queue) or held
 * until N more descriptors have been fetched (then it executes right
 * after the Nth, possibly in a later batch).  Either way IQH moves past it
 * at once, so a wait descriptor behind a deferred invalidation reports
 * completion before the invalidation took effect.  Deferred and held
 * descriptors live in u->qi_pending, in verdict order; reset and free
 * discard them.
 *
 * Descriptor types 0x6-0x9 are only accepted in a 256-bit queue; in a
 * 256-bit queue the upper 128 bits of types 0x1-0x8 are reserved, while
 * those of a page group response (0x9) may carry private data and are
 * ignored.
 */
#include <stdio.h>
#include <string.h>
#include "core/evq.h"
#include "models/vtd/vtd_internal.h"

/* Bits of qw0 / qw1 each descriptor type defines; everything else is reserved. */
typedef struct VtdInvLayout {
    uint64_t qw0, qw1;
} VtdInvLayout;

static VtdInvLayout vtd_inv_layout(const VtdUnit *u, unsigned type)
{
    VtdInvLayout l = { 0, 0 };
    switch (type) {
    case VTD_INV_CC:         /* type, G 5:4, DID 31:16, SID 47:32, FM 49:48 */
        l.qw0 = UINT64_C(0x0003ffffffff0e3f);
        break;
    case VTD_INV_IOTLB:      /* type, G, DW, DR, DID; AM, IH, ADDR */
        l.qw0 = UINT64_C(0x00000000ffff0eff);
        l.qw1 = UINT64_C(0xfffffffffffff07f);
        break;
    case VTD_INV_DEV_IOTLB:  /* type, PFSID 15:12, MIP 20:16, SID 47:32, PFSID 63:52; S, ADDR */
        l.qw0 = UINT64_C(0xfff0ffff001ffe0f);
        l.qw1 = UINT64_C(0xfffffffffffff001);
        break;
    case VTD_INV_IEC:        /* type, G 4, IM 31:27, IIDX 47:32 */
        l.qw0 = UINT64_C(0x0000fffff8000e1f);
        break;
    case VTD_INV_WAIT:       /* type, IF, SW, FN, PD (with PDS), STATDATA; STATADDR 63:2 */
        l.qw0 = UINT64_C(0xffffffff00000e7f) | (vtd_ecap_PDS(u->p.ecap) ? 0x80 : 0);
        l.qw1 = UINT64_C(0xfffffffffffffffc);
        break;
    case VTD_INV_PIOTLB:     /* type, G, DID, PASID 51:32; AM, IH, ADDR */
        l.qw0 = UINT64_C(0x000fffffffff0e3f);
        l.qw1 = UINT64_C(0xfffffffffffff07f);
        break;
    case VTD_INV_PC:         /* type, G, DID, PASID */
        l.qw0 = UINT64_C(0x000fffffffff0e3f);
        break;
    case VTD_INV_PDEV_IOTLB: /* type, PFSID, SID 31:16, PASID, PFSID; G 0, S 11, ADDR */
        l.qw0 = UINT64_C(0xfffffffffffffe0f);
        l.qw1 = UINT64_C(0xfffffffffffff801);
        break;
    case VTD_INV_PGRP_RESP:  /* type, PP 4, RC 15:12, RID, PASID; PRGI 11:3 */
        l.qw0 = UINT64_C(0x000ffffffffffe1f);
        l.qw1 = UINT64_C(0x0000000000000ff8);
        break;
    default:
        break;
    }
    return l;
}

static const char *vtd_inv_type_name(unsigned type)
{
    switch (type) {
#define VTD_INV_NAME(code, name, str) case (code): return str;
    VTD_INV_TYPE_TABLE(VTD_INV_NAME)
#undef VTD_INV_NAME
    default:
        return "unknown descriptor";
    }
}

/* Raises IQE with reason @iqei; the head stays where it is. */
static void vtd_qi_error(VtdUnit *u, unsigned iqei, const char *what, uint64_t head)
{
    vtd_guest_error(u, "invalidation queue error at IQH 0x%" G_GINT64_MODIFIER "x: %s (IQEI %u)",
                    (guint64)head, what, iqei);
    vtd_set(u, VTD_REG_IQERCD, vtd_IQERCD_set_IQEI(vtd_get(u, VTD_REG_IQERCD), iqei));
    vtd_fault_status_raise(u, VTD_FSTS_IQE);
}

/* The result of executing one descriptor. */
typedef enum VtdQiOutcome {
    VTD_QI_DONE,       /* executed; continue */
    VTD_QI_IQE,        /* invalid: IQE raised, head stays */
    VTD_QI_STOP_AFTER, /* executed but ITE/ICE raised: head advances, processing stops */
} VtdQiOutcome;

static VtdQiOutcome vtd_qi_devtlb(VtdUnit *u, const VtdDevtlbInv *inv)
{
    if (!vtd_ecap_DT(u->p.ecap)) {
        /* Device-TLBs cannot exist without ECAP.DT; the descriptor is still well formed. */
        vtd_guest_error(u, "device-TLB invalidation for %04x without ECAP.DT", inv->sid);
    }
    VtdDevtlbStatus st = u->devtlb ? u->devtlb(u->devtlb_opaque, inv) : VTD_DEVTLB_DONE;
    switch (st) {
    case VTD_DEVTLB_DONE:
        return VTD_QI_DONE;
    case VTD_DEVTLB_TIMEOUT:
        vtd_set(u, VTD_REG_IQERCD, vtd_IQERCD_set_ITESID(vtd_get(u, VTD_REG_IQERCD), inv->sid));
        vtd_fault_status_raise(u, VTD_FSTS_ITE);
        return VTD_QI_STOP_AFTER;
    case VTD_DEVTLB_BAD_COMPLETION:
        vtd_set(u, VTD_REG_IQERCD, vtd_IQERCD_set_ICESID(vtd_get(u, VTD_REG_IQERCD), inv->sid));
        vtd_fault_status_raise(u, VTD_FSTS_ICE);
        return VTD_QI_STOP_AFTER;
    }
    return VTD_QI_DONE;
}

/* Decode-stage checks of a fetched descriptor: type, queue width, reserved fields. */
static VtdQiOutcome vtd_qi_check(VtdUnit *u, const VtdInvDesc *d, bool dw, uint64_t head)
{
    unsigned type = vtd_inv_type(d);
    char what[96];

    if (type < VTD_INV_CC || type > VTD_INV_PGRP_RESP) {
        snprintf(what, sizeof(what), "invalid descriptor type 0x%x", type);
        vtd_qi_error(u, VTD_IQEI_INVALID_TYPE, what, head);
        return VTD_QI_IQE;
    }
    if (type >= VTD_INV_PIOTLB && !dw) {
        snprintf(what, sizeof(what), "%s (type 0x%x) in a 128-bit queue", vtd_inv_type_name(type), type);
        vtd_qi_error(u, VTD_IQEI_INVALID_TYPE, what, head);
        return VTD_QI_IQE;
    }
    VtdInvLayout l = vtd_inv_layout(u, type);
    bool rsvd = (d->val[0] & ~l.qw0) || (d->val[1] & ~l.qw1);
    if (dw && type != VTD_INV_PGRP_RESP && (d->val[2] || d->val[3]))
        rsvd = true;
    if (rsvd) {
        snprintf(what, sizeof(what), "reserved field set in %s", vtd_inv_type_name(type));
        vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, what, head);
        return VTD_QI_IQE;
    }
    return VTD_QI_DONE;
}

/* Executes a descriptor that passed vtd_qi_check(); @head (where it was fetched) is for messages. */
static VtdQiOutcome vtd_qi_run(VtdUnit *u, const VtdInvDesc *d, uint64_t head)
{
    unsigned type = vtd_inv_type(d);
    const uint64_t mamv = vtd_cap_MAMV(u->p.cap);
    switch (type) {
    case VTD_INV_CC: {
        uint16_t did = (uint16_t)vtd_inv_cc_DID(d);
        switch (vtd_inv_cc_G(d)) {
        case VTD_INV_CC_GLOBAL:
            vtd_xlate_inv_context_global(u->xl);
            break;
        case VTD_INV_CC_DOMAIN:
            vtd_xlate_inv_context_domain(u->xl, did);
            break;
        case VTD_INV_CC_DEVICE:
            vtd_xlate_inv_context_device(u->xl, did, (uint16_t)vtd_inv_cc_SID(d), (unsigned)vtd_inv_cc_FM(d));
            break;
        default:
            vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "context-cache invalidate with reserved granularity 0",
                         head);
            return VTD_QI_IQE;
        }
        return VTD_QI_DONE;
    }
    case VTD_INV_IOTLB: {
        uint16_t did = (uint16_t)vtd_inv_iotlb_DID(d);
        switch (vtd_inv_iotlb_G(d)) {
        case VTD_INV_IOTLB_GLOBAL:
            vtd_xlate_inv_iotlb_global(u->xl);
            break;
        case VTD_INV_IOTLB_DSI:
            vtd_xlate_inv_iotlb_domain(u->xl, did);
            break;
        case VTD_INV_IOTLB_PSI:
            if (vtd_inv_iotlb_AM(d) > mamv) {
                vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "IOTLB invalidate with AM above CAP.MAMV", head);
                return VTD_QI_IQE;
            }
            if (!vtd_cap_PSI(u->p.cap))
                vtd_xlate_inv_iotlb_domain(u->xl, did);
            else
                vtd_xlate_inv_iotlb_page(u->xl, did, vtd_inv_iotlb_ADDR(d) << 12,
                                         (unsigned)vtd_inv_iotlb_AM(d), vtd_inv_iotlb_IH(d) != 0);
            break;
        default:
            vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "IOTLB invalidate with reserved granularity 0", head);
            return VTD_QI_IQE;
        }
        return VTD_QI_DONE;
    }
    case VTD_INV_DEV_IOTLB: {
        VtdDevtlbInv inv = {
            .sid = (uint16_t)vtd_inv_dev_SID(d),
            .addr = vtd_inv_dev_ADDR(d) << 12,
            .size = vtd_inv_dev_S(d) != 0,
            .mip = (unsigned)vtd_inv_dev_MIP(d),
            .pfsid = (uint16_t)(vtd_inv_dev_PFSID_LO(d) | (vtd_inv_dev_PFSID_HI(d) << 4)),
        };
        return vtd_qi_devtlb(u, &inv);
    }
    case VTD_INV_IEC:
        vtd_ir_iec_invalidate(u->ir, vtd_inv_iec_G(d) == 0, (uint16_t)vtd_inv_iec_IIDX(d),
                              (unsigned)vtd_inv_iec_IM(d));
        return VTD_QI_DONE;
    case VTD_INV_WAIT: {
        if (vtd_inv_wait_SW(d)) {
            uint64_t addr = vtd_inv_wait_STATADDR(d) << 2;
            uint32_t data = (uint32_t)vtd_inv_wait_STATDATA(d);
            if (addr_space_rw(u->dma_as, addr, &data, 4, true) != MEMTX_OK) {
                vtd_qi_error(u, VTD_IQEI_FETCH_ERROR, "wait descriptor status write failed", head);
                return VTD_QI_IQE;
            }
        }
        if (vtd_inv_wait_IF(d)) {
            bool was = (vtd_get(u, VTD_REG_ICS) & VTD_ICS_IWC) != 0;
            vtd_set_clear(u, VTD_REG_ICS, VTD_ICS_IWC, 0);
            if (!was)
                vtd_inv_event_raise(u);
        }
        /* FN (fence) and PD (page-request drain) are satisfied: everything before completed. */
        return VTD_QI_DONE;
    }
    case VTD_INV_PIOTLB: {
        uint16_t did = (uint16_t)vtd_inv_piotlb_DID(d);
        uint32_t pasid = (uint32_t)vtd_inv_piotlb_PASID(d);
        switch (vtd_inv_piotlb_G(d)) {
        case VTD_INV_PIOTLB_ALL:
            vtd_xlate_inv_piotlb_pasid(u->xl, did, pasid);
            break;
        case VTD_INV_PIOTLB_PSI:
            if (vtd_inv_piotlb_AM(d) > mamv) {
                vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "PASID-based IOTLB invalidate with AM above CAP.MAMV",
                             head);
                return VTD_QI_IQE;
            }
            vtd_xlate_inv_piotlb_page(u->xl, did, pasid, vtd_inv_piotlb_ADDR(d) << 12,
                                      (unsigned)vtd_inv_piotlb_AM(d), vtd_inv_piotlb_IH(d) != 0);
            break;
        default:
            vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "PASID-based IOTLB invalidate with reserved granularity",
                         head);
            return VTD_QI_IQE;
        }
        return VTD_QI_DONE;
    }
    case VTD_INV_PC: {
        uint16_t did = (uint16_t)vtd_inv_pc_DID(d);
        switch (vtd_inv_pc_G(d)) {
        case VTD_INV_PC_DOMAIN:
            vtd_xlate_inv_pasid_domain(u->xl, did);
            break;
        case VTD_INV_PC_PASID:
            vtd_xlate_inv_pasid_pasid(u->xl, did, (uint32_t)vtd_inv_pc_PASID(d));
            break;
        case VTD_INV_PC_GLOBAL:
            vtd_xlate_inv_pasid_global(u->xl);
            break;
        default:
            vtd_qi_error(u, VTD_IQEI_RESERVED_BITS, "PASID-cache invalidate with reserved granularity 2", head);
            return VTD_QI_IQE;
        }
        return VTD_QI_DONE;
    }
    case VTD_INV_PDEV_IOTLB: {
        VtdDevtlbInv inv = {
            .sid = (uint16_t)vtd_inv_pdev_SID(d),
            .pasid_present = true,
            .pasid = (uint32_t)vtd_inv_pdev_PASID(d),
            .global = vtd_inv_pdev_G(d) != 0,
            .addr = vtd_inv_pdev_ADDR(d) << 12,
            .size = vtd_inv_pdev_S(d) != 0,
            .pfsid = (uint16_t)(vtd_inv_pdev_PFSID_LO(d) | (vtd_inv_pdev_PFSID_HI(d) << 4)),
        };
        return vtd_qi_devtlb(u, &inv);
    }
    case VTD_INV_PGRP_RESP: {
        VtdPageGroupResp r = {
            .rid = (uint16_t)vtd_inv_pgrsp_RID(d),
            .pasid_present = vtd_inv_pgrsp_PP(d) != 0,
            .pasid = (uint32_t)vtd_inv_pgrsp_PASID(d),
            .prgi = (unsigned)vtd_inv_pgrsp_PRGI(d),
            .rc = (unsigned)vtd_inv_pgrsp_RC(d),
        };
        if (u->prg_resp)
            u->prg_resp(u->prg_opaque, &r);
        return VTD_QI_DONE;
    }
    default:
        break;
    }
    g_assert_not_reached();
}

/* ---- deferred and reordered descriptors (fault injection) -------------------- */

/* A descriptor consumed by the queue whose execution a DEFER / REORDER verdict postponed. */
typedef struct VtdQiPending {
    VtdUnit *u;
    VtdInvDesc d;
    uint64_t head;      /* where it was fetched (for messages) */
    unsigned left;      /* REORDER: descriptors still to be fetched first; 0 for DEFER */
    bool timed;         /* DEFER: @timer is armed */
    EmuTimer timer;
} VtdQiPending;

static void vtd_qi_deferred_fire(EmuSim *sim, void *opaque)
{
    VtdQiPending *q = opaque;
    (void)sim;
    g_ptr_array_remove(q->u->qi_pending, q);
    vtd_qi_run(q->u, &q->d, q->head);   /* errors are raised in FSTS like any other */
    g_free(q);
}

static void vtd_qi_pending_add(VtdUnit *u, const VtdInvDesc *d, uint64_t head, unsigned by, EmuTick when)
{
    VtdQiPending *q = g_new0(VtdQiPending, 1);
    q->u = u;
    q->d = *d;
    q->head = head;
    q->left = by;
    if (!by) {
        q->timed = true;
        emu_timer_init(&q->timer, u->sim, EVQ_PRIO_DEFAULT, vtd_qi_deferred_fire, q);
        emu_timer_mod(&q->timer, when);
    }
    g_ptr_array_add(u->qi_pending, q);
}

/*
 * One more descriptor was fetched: counts it for the first @n pending
 * entries and executes, in the order they were held, those whose count
 * reaches zero.  Returns VTD_QI_DONE, or the first other outcome.
 */
static VtdQiOutcome vtd_qi_release(VtdUnit *u, guint n)
{
    VtdQiOutcome worst = VTD_QI_DONE;
    for (guint i = 0; i < n && i < u->qi_pending->len;) {
        VtdQiPending *q = g_ptr_array_index(u->qi_pending, i);
        if (q->timed || --q->left) {
            i++;
            continue;
        }
        g_ptr_array_remove_index(u->qi_pending, i);
        n--;
        VtdQiOutcome o = vtd_qi_run(u, &q->d, q->head);
        if (worst == VTD_QI_DONE)
            worst = o;
        g_free(q);
    }
    return worst;
}

void vtd_qi_pending_clear(VtdUnit *u)
{
    for (guint i = 0; i < u->qi_pending->len; i++) {
        VtdQiPending *q = g_ptr_array_index(u->qi_pending, i);
        if (q->timed)
            emu_timer_del(&q->timer);
        g_free(q);
    }
    g_ptr_array_set_size(u->qi_pending, 0);
}

void vtd_qi_process(VtdUnit *u)
{
    if (!(vtd_get(u, VTD_REG_GSTS) & VTD_GSTS_QIES))
        return;
    if (vtd_get(u, VTD_REG_FSTS) & (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE))
        return;   /* fetching resumes when software clears the error */
    uint64_t iqa = vtd_get(u, VTD_REG_IQA);
    bool dw = vtd_IQA_DW(iqa) != 0;
    unsigned dsize = dw ? 32 : 16;
    uint64_t qsize = UINT64_C(4096) << vtd_IQA_QS(iqa);
    uint64_t base = vtd_IQA_IQA(iqa) << 12;
    uint64_t head = vtd_get(u, VTD_REG_IQH);
    uint64_t tail = vtd_get(u, VTD_REG_IQT);

    if (tail >= qsize || (tail % dsize) != 0) {
        vtd_qi_error(u, VTD_IQEI_TAIL_MISALIGNED,
                     tail >= qsize ? "tail beyond the end of the queue" : "tail not aligned to 256-bit descriptors",
                     head);
        return;
    }
    if (head >= qsize || (head % dsize) != 0) {
        /* Only reachable after IQA was reprogrammed under a running queue. */
        vtd_qi_error(u, VTD_IQEI_TAIL_MISALIGNED, "head inconsistent with the queue size or width", head);
        return;
    }
    for (uint64_t n = 0; head != tail && n < qsize / dsize; n++) {
        VtdInvDesc d;
        memset(&d, 0, sizeof(d));
        if (addr_space_rw(u->dma_as, base + head, d.val, dsize, false) != MEMTX_OK) {
            vtd_qi_error(u, VTD_IQEI_FETCH_ERROR, "descriptor fetch failed", head);
            break;
        }
        for (unsigned i = 0; i < dsize / 8; i++)
            d.val[i] = GUINT64_FROM_LE(d.val[i]);
        VtdQiOutcome o = vtd_qi_check(u, &d, dw, head);
        if (o == VTD_QI_IQE)
            break;
        VtdQiVerdict v = { VTD_QI_PASS, 0, 0 };
        if (u->qi_filter)
            v = u->qi_filter(u->qi_filter_opaque, &d);
        /* descriptors held before this one count it; one held now does not */
        guint held_before = u->qi_pending->len;
        switch (v.action) {
        case VTD_QI_DROP:
            break;
        case VTD_QI_DEFER:
            if (u->sim) {
                vtd_qi_pending_add(u, &d, head, 0, emu_sim_now(u->sim) + v.delay);
                break;
            }
            o = vtd_qi_run(u, &d, head);   /* no event queue to defer to */
            break;
        case VTD_QI_REORDER:
            vtd_qi_pending_add(u, &d, head, v.by ? v.by : 1, 0);
            break;
        case VTD_QI_PASS:
        default:
            o = vtd_qi_run(u, &d, head);
            break;
        }
        if (o == VTD_QI_IQE)
            break;
        u->stats.inv_descriptors++;
        head = (head + dsize) % qsize;
        vtd_set(u, VTD_REG_IQH, head);
        if (vtd_qi_release(u, held_before) != VTD_QI_DONE || o == VTD_QI_STOP_AFTER)
            break;
    }
}

/* ---- page request queue ------------------------------------------------------- */

/*
 * The response hardware sends by itself for the last request of a group
 * it did not queue (VT-d 4.x 7.5.1): Invalid Request when the request
 * failed its checks, Success after an overflow so that the device retries.
 */
static void vtd_prq_auto_response(VtdUnit *u, const VtdPageReq *req, unsigned rc)
{
    if (!req->lpig || !u->prg_resp)
        return;
    VtdPageGroupResp r = {
        .rid = req->rid, .pasid_present = req->pasid_present,
        .pasid = req->pasid_present ? req->pasid : 0, .prgi = req->prgi, .rc = rc,
    };
    u->stats.prq_auto_responses++;
    u->prg_resp(u->prg_opaque, &r);
}

VtdPrqStatus vtd_unit_page_request(VtdUnit *u, const VtdPageReq *req)
{
    if (!vtd_ecap_PRS(u->p.ecap))
        return VTD_PRQ_UNSUPPORTED;
    /* the request must come from a context that allows page requests (0x32, 0x47, ...) */
    VtdXlateRequest xr = {
        .sid = req->rid, .pasid_present = req->pasid_present, .pasid = req->pasid,
        .priv = req->priv, .exec = req->exec, .write = req->write, .addr = req->addr,
        .len = 1, .at = VTD_AT_UNTRANSLATED,
    };
    VtdXlateResult res;
    VtdXlateStatus st = vtd_xlate_check_page_request(u->xl, &xr, &res);
    if (st != VTD_XLATE_OK) {
        if (st == VTD_XLATE_FAULT && res.fault_record) {
            VtdFaultInfo f = {
                .reason = res.fault_reason, .sid = req->rid, .addr = req->addr,
                .type = VTD_FT_PAGE_REQ, .at = PCIE_AT_UNTRANSLATED,
                .pasid_present = req->pasid_present, .pasid = req->pasid,
                .priv = req->pasid_present && req->priv,
                .exec = req->pasid_present && req->exec,
            };
            u->stats.faults++;
            vtd_unit_record_fault(u, &f);
        }
        vtd_prq_auto_response(u, req, 1);
        return VTD_PRQ_UNSUPPORTED;
    }
    uint64_t prs = vtd_get(u, VTD_REG_PRS);
    uint64_t pqa = vtd_get(u, VTD_REG_PQA);
    uint64_t qsize = UINT64_C(4096) << vtd_PQA_PQS(pqa);
    uint64_t base = vtd_PQA_PQA(pqa) << 12;
    uint64_t head = vtd_get(u, VTD_REG_PQH) % qsize;
    uint64_t tail = vtd_get(u, VTD_REG_PQT) % qsize;
    bool was = (prs & (VTD_PRS_PPR | VTD_PRS_PRO)) != 0;

    if ((prs & VTD_PRS_PRO) || (tail + VTD_PAGE_REQ_DESC_SIZE) % qsize == head) {
        vtd_set(u, VTD_REG_PRS, prs | VTD_PRS_PRO);
        if (!was)
            vtd_prq_event_raise(u);
        vtd_prq_auto_response(u, req, 0);
        return VTD_PRQ_OVERFLOW;
    }
    VtdPageReqDesc d = { { 0, 0, 0, 0 } };
    vtd_prq_set_TYPE(&d, 1);
    vtd_prq_set_PP(&d, req->pasid_present);
    vtd_prq_set_RID(&d, req->rid);
    vtd_prq_set_PASID(&d, req->pasid_present ? req->pasid : 0);
    vtd_prq_set_ER(&d, req->exec);
    vtd_prq_set_PM(&d, req->priv);
    vtd_prq_set_RD(&d, req->read);
    vtd_prq_set_WR(&d, req->write);
    vtd_prq_set_LPIG(&d, req->lpig);
    vtd_prq_set_PRGI(&d, req->prgi);
    vtd_prq_set_ADDR(&d, req->addr >> 12);
    uint64_t le[4];
    for (unsigned i = 0; i < 4; i++)
        le[i] = GUINT64_TO_LE(d.val[i]);
    if (addr_space_rw(u->dma_as, base + tail, le, sizeof(le), true) != MEMTX_OK) {
        vtd_guest_error(u, "page request queue write at 0x%" G_GINT64_MODIFIER "x failed",
                        (guint64)(base + tail));
        return VTD_PRQ_UNSUPPORTED;
    }
    vtd_set(u, VTD_REG_PQT, (tail + VTD_PAGE_REQ_DESC_SIZE) % qsize);
    vtd_set(u, VTD_REG_PRS, prs | VTD_PRS_PPR);
    if (!was)
        vtd_prq_event_raise(u);
    return VTD_PRQ_QUEUED;
}
