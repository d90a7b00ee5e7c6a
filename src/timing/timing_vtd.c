/*
 * VtdXlateResult -> TimingTlp (see timing_vtd.h).  The walk tag combines
 * page base, page size and domain, so two requests merge only when they
 * need the same translation.
 */
#include "timing/timing_vtd.h"

void timing_tlp_from_xlate(TimingTlp *t, const VtdXlateResult *r)
{
    t->xl = TIMING_XL_NONE;
    t->ctx_lookup = t->pasid_lookup = false;
    t->psc_probes = 0;
    t->mem_reads = t->mem_writes = 0;
    t->walk_tag = 0;
    if (!r) {
        return;
    }
    bool hit = r->cache_hit & (1u << VTD_CACHE_IOTLB);
    bool miss = r->cache_miss & (1u << VTD_CACHE_IOTLB);
    if (r->status == VTD_XLATE_FAULT) {
        t->xl = TIMING_XL_FAULT;
    } else if (r->status != VTD_XLATE_OK || (!hit && !miss)) {
        return;
    } else {
        t->xl = hit ? TIMING_XL_HIT : TIMING_XL_MISS;
    }
    unsigned probed = r->cache_hit | r->cache_miss;
    t->ctx_lookup = (probed >> VTD_CACHE_CONTEXT) & 1;
    t->pasid_lookup = (probed >> VTD_CACHE_PASID) & 1;
    for (unsigned c = VTD_CACHE_PSC_PML5; c <= VTD_CACHE_PSC_PDE; c++) {
        t->psc_probes += (probed >> c) & 1;
    }
    t->mem_reads = (uint8_t)MIN(r->mem_reads, 255u);
    t->mem_writes = (uint8_t)MIN(r->mem_writes, 255u);
    uint64_t ps = r->page_size ? r->page_size : 4096;
    t->walk_tag = (t->addr & ~(ps - 1)) ^ ((uint64_t)r->did << 52) ^ (ps >> 12);
}

void timing_tlps_from_first_last(TimingTlp *t, unsigned n, const VtdXlateResult *first,
                                 const VtdXlateResult *last)
{
    if (!n) {
        return;
    }
    timing_tlp_from_xlate(&t[0], first);
    uint64_t ps = first && first->page_size ? first->page_size : 4096;
    uint64_t page0 = t[0].addr & ~(ps - 1);
    for (unsigned i = 1; i < n; i++) {
        if ((t[i].addr & ~(ps - 1)) == page0 && t[0].xl != TIMING_XL_FAULT) {
            TimingTlp f = t[0];
            f.addr = t[i].addr;
            f.bytes = t[i].bytes;
            if (f.xl == TIMING_XL_MISS) {
                f.xl = TIMING_XL_HIT;
                f.ctx_lookup = f.pasid_lookup = false;
                f.psc_probes = f.mem_reads = f.mem_writes = 0;
            }
            t[i] = f;
        } else {
            timing_tlp_from_xlate(&t[i], last);
        }
    }
}

EmuTick timing_dma_xlate(TimingModel *m, uint16_t rid, EmuTick issue, uint64_t addr, uint32_t len,
                         bool write, const VtdXlateResult *first, const VtdXlateResult *last,
                         TimingOutcome *outcome)
{
    const TimingParams *p = timing_model_params(m);
    TimingTlp stack[64];
    TimingTlp *t = stack;
    unsigned n = timing_tlps_split(p, addr, len, write, t, G_N_ELEMENTS(stack));
    if (n > G_N_ELEMENTS(stack)) {
        t = g_new(TimingTlp, n);
        timing_tlps_split(p, addr, len, write, t, n);
    }
    timing_tlps_from_first_last(t, n, first, last);
    EmuTick done = timing_dma(m, rid, issue, write, t, n, outcome);
    if (t != stack) {
        g_free(t);
    }
    return done;
}
