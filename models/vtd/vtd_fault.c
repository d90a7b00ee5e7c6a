/*
 * Primary fault recording and the unit's three interrupt events.
 *
 * Fault recording (VT-d 4.x 7.2): the unit keeps an internal index of the
 * fault recording register that receives the next fault.  A fault is
 * written there, F set, and the index advances (wrapping after the last of
 * the CAP.NFR + 1 registers).  If the register at the index still holds an
 * unserviced fault (F=1), the new fault is lost and FSTS.PFO is set.
 * Nothing else suppresses a fault: in particular faults from the same
 * source are NOT collapsed into one record, and a fault finding a free
 * register is recorded even while PFO is still set (QEMU 7.2 drops both;
 * see README.md).  FSTS.PPF is the OR of all F bits; FSTS.FRI is the index
 * the first fault went to when PPF was set.
 *
 * Events (7.3): fault, invalidation completion and page request events
 * share one mechanism.  Raising an event sets the control register's IP;
 * if IM is clear the message (xEUADDR:xEADDR, xEDATA) is sent and IP is
 * cleared; if IM is set the message is held until software clears IM.  IP
 * is also cleared when software services every status bit that could have
 * caused it.  A fault event is raised only when a fault status bit
 * (PFO, PPF, AFO, APF, IQE, ICE, ITE) goes from clear to set while none of
 * them was set: software is expected to service all pending faults on one
 * interrupt.
 *
 * Also here: the fault reason strings (VTD_FAULT_REASON_TABLE).
 */
#include "models/vtd/vtd_internal.h"

const char *vtd_fault_reason_str(unsigned code)
{
    switch (code) {
#define VTD_FR_STR(c, name, str) case (c): return str;
    VTD_FAULT_REASON_TABLE(VTD_FR_STR)
#undef VTD_FR_STR
    default:
        return "reserved fault reason";
    }
}

const char *vtd_fault_reason_name(unsigned code)
{
    switch (code) {
#define VTD_FR_NAME(c, name, str) case (c): return #name;
    VTD_FAULT_REASON_TABLE(VTD_FR_NAME)
#undef VTD_FR_NAME
    default:
        return NULL;
    }
}

#define VTD_FSTS_FAULT_BITS \
    (VTD_FSTS_PFO | VTD_FSTS_PPF | VTD_FSTS_AFO | VTD_FSTS_APF | VTD_FSTS_IQE | VTD_FSTS_ICE | VTD_FSTS_ITE)

/* Sets IP of @ctl; sends the message at once unless IM is set. */
static void vtd_event_raise(VtdUnit *u, VtdRegId ctl, VtdRegId data, VtdRegId addr, VtdRegId uaddr,
                            uint64_t *counter)
{
    uint64_t c = vtd_get(u, ctl);
    if (c & VTD_FECTL_IM) {
        vtd_set(u, ctl, c | VTD_FECTL_IP);
        return;
    }
    vtd_set(u, ctl, c & ~(uint64_t)VTD_FECTL_IP);
    uint64_t a = (vtd_get(u, uaddr) << 32) | vtd_get(u, addr);
    (*counter)++;
    if (u->msi)
        u->msi(u->msi_opaque, a, (uint32_t)vtd_get(u, data));
}

static void vtd_fault_event(VtdUnit *u)
{
    vtd_event_raise(u, VTD_REG_FECTL, VTD_REG_FEDATA, VTD_REG_FEADDR, VTD_REG_FEUADDR,
                    &u->stats.fault_events);
}

void vtd_inv_event_raise(VtdUnit *u)
{
    vtd_event_raise(u, VTD_REG_IECTL, VTD_REG_IEDATA, VTD_REG_IEADDR, VTD_REG_IEUADDR,
                    &u->stats.inv_events);
}

void vtd_prq_event_raise(VtdUnit *u)
{
    uint64_t dummy = 0;
    vtd_event_raise(u, VTD_REG_PECTL, VTD_REG_PEDATA, VTD_REG_PEADDR, VTD_REG_PEUADDR, &dummy);
}

void vtd_event_ctl_written(VtdUnit *u, VtdRegId ctl, uint64_t old)
{
    uint64_t c = vtd_get(u, ctl);
    if (!(old & VTD_FECTL_IM) || (c & VTD_FECTL_IM) || !(c & VTD_FECTL_IP))
        return;
    /* IM cleared with a message held: deliver it now. */
    switch (ctl) {
    case VTD_REG_FECTL:
        vtd_fault_event(u);
        break;
    case VTD_REG_IECTL:
        vtd_inv_event_raise(u);
        break;
    case VTD_REG_PECTL:
        vtd_prq_event_raise(u);
        break;
    default:
        g_assert_not_reached();
    }
}

void vtd_fault_status_update(VtdUnit *u)
{
    bool pending = false;
    for (unsigned i = 0; i < u->nfrcd && !pending; i++)
        pending = (vtd_frcd_inst(u, i, true)->val >> 63) & 1;
    vtd_set_clear(u, VTD_REG_FSTS, pending ? VTD_FSTS_PPF : 0, pending ? 0 : VTD_FSTS_PPF);
    if (!(vtd_get(u, VTD_REG_FSTS) & VTD_FSTS_FAULT_BITS))
        vtd_set_clear(u, VTD_REG_FECTL, 0, VTD_FECTL_IP);
}

void vtd_fault_status_raise(VtdUnit *u, uint32_t bits)
{
    uint64_t fsts = vtd_get(u, VTD_REG_FSTS);
    bool was_pending = (fsts & VTD_FSTS_FAULT_BITS) != 0;
    vtd_set(u, VTD_REG_FSTS, fsts | bits);
    if (!was_pending && (bits & ~fsts))
        vtd_fault_event(u);
}

void vtd_inv_status_update(VtdUnit *u)
{
    if (!(vtd_get(u, VTD_REG_ICS) & VTD_ICS_IWC))
        vtd_set_clear(u, VTD_REG_IECTL, 0, VTD_IECTL_IP);
}

void vtd_prq_status_update(VtdUnit *u)
{
    if (!(vtd_get(u, VTD_REG_PRS) & (VTD_PRS_PPR | VTD_PRS_PRO)))
        vtd_set_clear(u, VTD_REG_PECTL, 0, VTD_PECTL_IP);
}

bool vtd_unit_record_fault(VtdUnit *u, const VtdFaultInfo *f)
{
    VtdRegInst *lo = vtd_frcd_inst(u, u->next_frcd, false);
    VtdRegInst *hi = vtd_frcd_inst(u, u->next_frcd, true);
    if (hi->val >> 63) {
        u->stats.faults_overflow++;
        vtd_fault_status_raise(u, VTD_FSTS_PFO);
        return false;
    }
    VtdFaultRecord rec = { { 0, 0 } };
    vtd_frcd_set_FI(&rec, f->addr >> 12);
    vtd_frcd_set_SID(&rec, f->sid);
    vtd_frcd_set_T1(&rec, ((unsigned)f->type >> 1) & 1);
    vtd_frcd_set_T2(&rec, (unsigned)f->type & 1);
    vtd_frcd_set_PRIV(&rec, f->priv);
    vtd_frcd_set_EXE(&rec, f->exec);
    vtd_frcd_set_PP(&rec, f->pasid_present);
    vtd_frcd_set_PV(&rec, f->pasid_present ? f->pasid : 0);
    vtd_frcd_set_FR(&rec, f->reason);
    vtd_frcd_set_AT(&rec, (unsigned)f->at);
    vtd_frcd_set_F(&rec, 1);

    uint64_t fsts = vtd_get(u, VTD_REG_FSTS);
    bool was_pending = (fsts & VTD_FSTS_FAULT_BITS) != 0;
    lo->val = rec.val[0];
    hi->val = rec.val[1];
    if (!(fsts & VTD_FSTS_PPF))
        vtd_set(u, VTD_REG_FSTS, vtd_FSTS_set_FRI(fsts, u->next_frcd) | VTD_FSTS_PPF);
    else
        vtd_set(u, VTD_REG_FSTS, fsts | VTD_FSTS_PPF);
    u->next_frcd = (u->next_frcd + 1) % u->nfrcd;
    u->stats.faults_recorded++;
    if (!was_pending)
        vtd_fault_event(u);
    return true;
}

unsigned vtd_unit_num_fault_records(const VtdUnit *u)
{
    return u->nfrcd;
}

void vtd_unit_fault_record(const VtdUnit *u, unsigned index, VtdFaultRecord *out)
{
    g_assert(index < u->nfrcd);
    const VtdRegInst *lo = &u->regs[u->idx[VTD_REG_FRCD_LO] + 2 * index];
    out->val[0] = lo[0].val;
    out->val[1] = lo[1].val;
}
