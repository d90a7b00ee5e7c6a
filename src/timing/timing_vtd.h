/*
 * From the VT-d engine's verdict to the timing model's per-TLP facts.
 *
 * The functional model reports, per translated request, a VtdXlateResult
 * (models/vtd/vtd_xlate.h): which caches hit and missed, how many table
 * reads and A/D writes the walk needed, the page size and domain.  These
 * helpers turn that into TimingTlp entries for timing_dma().  They sit
 * above the models layer (like the trace replayer), so src/timing/timing.h
 * itself stays independent of any device model.
 */
#ifndef VTDSIM_TIMING_TIMING_VTD_H
#define VTDSIM_TIMING_TIMING_VTD_H

#include "timing/timing.h"
#include "models/vtd/vtd_xlate.h"

/**
 * timing_tlp_from_xlate:
 * Fills the translation facts of @t (addr and bytes already set) from the
 * engine's result @r for it: IOTLB hit/miss, the other caches probed,
 * table reads and A/D writes, the page (page base, size and domain) for
 * miss merging.  Requests the engine did not look up in the IOTLB (TE=0,
 * pass-through, interrupt window, UR) become TIMING_XL_NONE; a fault
 * becomes TIMING_XL_FAULT.  @r NULL (no remapping unit): TIMING_XL_NONE.
 */
void timing_tlp_from_xlate(TimingTlp *t, const VtdXlateResult *r);

/**
 * timing_tlps_from_first_last:
 * For callers that only see the first and the last translation of a DMA
 * (vtd_unit_first_result / vtd_unit_last_result): the TLPs of @t[0..n)
 * (from timing_tlps_split) get @first's facts for t[0]; the other TLPs in
 * the same page as t[0] are IOTLB hits of that page (so they merge onto
 * its walk, as on hardware); TLPs in later pages get @last's facts (exact
 * for the last TLP, an approximation for any page in between).  Either
 * result may be NULL (no translation).
 */
void timing_tlps_from_first_last(TimingTlp *t, unsigned n, const VtdXlateResult *first,
                                 const VtdXlateResult *last);

/**
 * timing_dma_xlate:
 * The one call for a replayer: splits the DMA of @len bytes at @addr as
 * timing_tlps_split() does (MPS/MRRS of the model's parameters), fills the
 * TLPs with timing_tlps_from_first_last(@first, @last) (NULLs: nothing
 * translated), and returns timing_dma()'s completion time for device
 * @rid issued at @issue.  Any length (no TLP limit).
 */
EmuTick timing_dma_xlate(TimingModel *m, uint16_t rid, EmuTick issue, uint64_t addr, uint32_t len,
                         bool write, const VtdXlateResult *first, const VtdXlateResult *last,
                         TimingOutcome *outcome);

#endif
