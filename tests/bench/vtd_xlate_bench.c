/*
 * vtd_xlate_bench: translations per second of the VT-d engine for IOTLB
 * hits and for full 4-level second-stage walks (IOTLB and paging-structure
 * caches disabled), against a bare GHashTable lookup of the same page
 * numbers measured in the same run, so the numbers can be compared across
 * machines as ratios.  Built only by `make bench`; not a test.
 */
#include <stdio.h>

#include "models/ref/ref_build.h"
#include "models/vtd/vtd_regs.h"
#include "models/vtd/vtd_xlate.h"

#define PAGES 512u

static double now_s(void)
{
    return (double)g_get_monotonic_time() / 1e6;
}

static VtdXlate *make_engine(RefMem *m, bool caches, VtdXlateConfig *cfg)
{
    VtdCacheParams p;
    vtd_cache_params_default(&p);
    p.cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){4096, 8, VTD_REPL_LRU, 0};
    if (!caches) {
        p.cache[VTD_CACHE_IOTLB].entries = 0;
        for (int i = VTD_CACHE_PSC_PML5; i <= VTD_CACHE_PSC_PDE; i++)
            p.cache[i].entries = 0;
    }
    VtdXlate *x = vtd_xlate_new(&p, m->as, NULL);
    vtd_xlate_set_config(x, cfg);
    return x;
}

static double run_engine(VtdXlate *x, unsigned iters, uint64_t *sink)
{
    VtdXlateRequest r = {.sid = 0x0108, .len = 8};
    VtdXlateResult res;
    double t0 = now_s();
    for (unsigned i = 0; i < iters; i++) {
        /* stride through the pages in 2 MiB-spread order */
        r.addr = ((uint64_t)((i * 37u) % PAGES) << 21) + 0x40;
        vtd_xlate_translate(x, &r, &res);
        *sink += res.out_addr;
    }
    return iters / (now_s() - t0);
}

int main(void);
int main(void)
{
    RefMem *m = ref_mem_new(48, 1ull << 36, 0x100000000ull);
    uint64_t rta = ref_alloc_page(m), ctp = ref_alloc_page(m), root = 0;
    ref_set_root(m, rta, 1, ctp | 1, 0);
    for (uint64_t i = 0; i < PAGES; i++)
        ref_map(m, REF_FMT_SS, &root, 4, i << 21, 0x200000000ull + (i << 12), 1, 3, 3);
    ref_set_context(m, ctp, 0x08, root | 1, 2 | (1u << 8));
    VtdXlateConfig cfg = {0};
    cfg.cap = vtd_cap_set_SAGAW(0, VTD_SAGAW_48);
    cfg.cap = vtd_cap_set_MGAW(cfg.cap, 47);
    cfg.rtaddr = rta;
    cfg.te = true;

    GHashTable *h = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, NULL);
    for (uint64_t i = 0; i < PAGES; i++) {
        gint64 *k = g_new(gint64, 1);
        *k = (gint64)(i << 9);
        g_hash_table_insert(h, k, GSIZE_TO_POINTER(0x200000u + i));
    }

    uint64_t sink = 0;
    const unsigned hit_iters = 4000000, walk_iters = 1000000;
    VtdXlate *hot = make_engine(m, true, &cfg);
    run_engine(hot, PAGES, &sink);                      /* warm the IOTLB */
    double hit = run_engine(hot, hit_iters, &sink);
    VtdCacheStats st;
    vtd_xlate_get_stats(hot, VTD_CACHE_IOTLB, &st);

    VtdXlate *cold = make_engine(m, false, &cfg);
    double walk = run_engine(cold, walk_iters, &sink);

    double t0 = now_s();
    for (unsigned i = 0; i < hit_iters; i++) {
        gint64 k = (gint64)((uint64_t)((i * 37u) % PAGES) << 9);
        sink += GPOINTER_TO_SIZE(g_hash_table_lookup(h, &k));
    }
    double hash = hit_iters / (now_s() - t0);

    printf("vtd_xlate_bench: %u pages, 4-level second stage, legacy mode\n", PAGES);
    printf("  ghash lookup      %12.0f lookups/s   (1.00x)\n", hash);
    printf("  iotlb hit         %12.0f xlate/s     (%.2fx hash; hit rate %.4f)\n", hit,
           hit / hash, st.lookups ? (double)st.hits / (double)st.lookups : 0.0);
    printf("  full 4-level walk %12.0f xlate/s     (%.2fx hash)\n", walk, walk / hash);
    printf("  (checksum %llx)\n", (unsigned long long)sink);
    g_hash_table_destroy(h);
    vtd_xlate_free(hot);
    vtd_xlate_free(cold);
    ref_mem_free(m);
    return 0;
}
