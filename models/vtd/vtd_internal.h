/*
 * Internal state of a VT-d unit, shared by vtd.c (register file, DMA
 * path), vtd_fault.c (fault recording and interrupt events), vtd_qi.c
 * (queued invalidation) and vtd_params.c.  Nothing outside models/vtd
 * includes this header.
 *
 * The register file is an array of register instances built from
 * VTD_REG_TABLE at creation time (one per fixed register, two per fault
 * recording register), each with its live value and its effective masks
 * (the table's masks adjusted to the capabilities, e.g. FEUADDR is RsvdZ
 * without ECAP.EIM).  A dword map turns any offset of the window into the
 * instance covering it.
 */
#ifndef VTDSIM_MODELS_VTD_VTD_INTERNAL_H
#define VTDSIM_MODELS_VTD_VTD_INTERNAL_H

#include "models/vtd/vtd.h"
#include "models/vtd/vtd_ir.h"

typedef struct VtdRegInst {
    VtdRegId id;
    unsigned frcd;          /* record number for FRCD_LO/HI */
    uint32_t offset;        /* absolute offset in the window */
    uint8_t size;
    bool present;           /* implemented under the unit's capabilities */
    uint64_t reset, wmask, w1cmask;
    uint64_t val;
} VtdRegInst;

struct VtdUnit {
    /* the engine's verdict on the most recent translation (traces, explainer) */
    VtdXlateResult last_result;
    bool last_result_valid;
    VtdXlateResult first_result;     /* the first translation since vtd_unit_result_mark() */
    bool first_result_valid;
    EmuSim *sim;
    AddrSpace *dma_as;
    VtdParams p;
    VtdXlate *xl;

    VtdRegInst *regs;
    unsigned nregs;
    int32_t *dmap;           /* per dword of the window: instance index or -1 */
    uint64_t mmio_size;
    int32_t idx[VTD_REG__COUNT]; /* instance of each register (FRCD: record 0), -1 if absent */
    unsigned nfrcd;

    /* Latched state (what SRTP / SIRTP / QIE captured). */
    uint64_t rtaddr_active;
    uint64_t irta_active;
    unsigned next_frcd;      /* where the next fault will be recorded */

    void (*msi)(void *opaque, uint64_t addr, uint32_t data);
    void *msi_opaque;
    VtdDevtlbStatus (*devtlb)(void *opaque, const VtdDevtlbInv *req);
    void *devtlb_opaque;
    void (*prg_resp)(void *opaque, const VtdPageGroupResp *r);
    void *prg_opaque;
    VtdQiFilter *qi_filter;  /* fault injection: what to do with each fetched descriptor */
    void *qi_filter_opaque;
    GPtrArray *qi_pending;   /* VtdQiPending *: deferred or held descriptors, in verdict order */

    VtdUnitStats stats;
    char last_error[256];

    VtdIr *ir;               /* interrupt remapping: IEC and statistics (vtd_ir.c) */
};

/* vtd.c */
uint64_t vtd_get(const VtdUnit *u, VtdRegId id);
void vtd_set(VtdUnit *u, VtdRegId id, uint64_t val);
/** Sets and clears bits of a register directly (hardware side, no masks). */
void vtd_set_clear(VtdUnit *u, VtdRegId id, uint64_t set, uint64_t clear);
VtdRegInst *vtd_frcd_inst(VtdUnit *u, unsigned record, bool hi);
void vtd_guest_error(VtdUnit *u, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
void vtd_regs_build(VtdUnit *u);
void vtd_regs_reset(VtdUnit *u);

/* vtd_params.c */
/** Whether register @id is implemented under the capabilities of @p. */
bool vtd_params_reg_present(const VtdParams *p, VtdRegId id);

/* vtd_fault.c */
/** Recomputes PPF from the F bits; clears FECTL.IP when no fault status remains. */
void vtd_fault_status_update(VtdUnit *u);
/** Sets @bits (FSTS PFO/IQE/ICE/ITE) and raises a fault event if none was pending. */
void vtd_fault_status_raise(VtdUnit *u, uint32_t bits);
/** FECTL/IECTL/PECTL written: a cleared IM with IP set sends the deferred message. */
void vtd_event_ctl_written(VtdUnit *u, VtdRegId ctl, uint64_t old);
/** Raises the invalidation completion event (ICS.IWC set by a wait descriptor). */
void vtd_inv_event_raise(VtdUnit *u);
/** Raises the page request event. */
void vtd_prq_event_raise(VtdUnit *u);
/** ICS / PRS written: clears IECTL.IP / PECTL.IP once the status is clear. */
void vtd_inv_status_update(VtdUnit *u);
void vtd_prq_status_update(VtdUnit *u);

/* vtd_qi.c */
/** Discards the descriptors deferred or held by the QI filter (reset, free). */
void vtd_qi_pending_clear(VtdUnit *u);
/** Processes descriptors from IQH towards IQT while QI is enabled and no IQE/ITE/ICE blocks it. */
void vtd_qi_process(VtdUnit *u);

#endif
