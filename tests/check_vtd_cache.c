/*
 * Tests of the remapping caches: the generic set-associative storage
 * (models/vtd/vtd_cache.c: geometry, LRU/FIFO/random replacement,
 * statistics) and, through the translation engine, what each invalidation
 * granularity drops and what it must leave cached - including the stale
 * translation a missing invalidation leaves in force.
 */
#include <string.h>

#include "check_util.h"
#include "models/ref/ref_build.h"
#include "models/vtd/vtd_cache.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"
#include "models/vtd/vtd_xlate.h"

/* ------------------------------------------------------------------ */
/* Storage                                                             */
/* ------------------------------------------------------------------ */

static void key_of(uint64_t k[VTD_CACHE_KEY_WORDS], uint64_t v)
{
    memset(k, 0, sizeof(uint64_t) * VTD_CACHE_KEY_WORDS);
    k[0] = v;
}

static void fill(VtdCache *c, uint64_t tag)
{
    uint64_t k[VTD_CACHE_KEY_WORDS], v[VTD_CACHE_VAL_WORDS] = {tag * 10};
    key_of(k, tag);
    vtd_cache_fill(c, k, v);
}

static bool has(VtdCache *c, uint64_t tag)
{
    uint64_t k[VTD_CACHE_KEY_WORDS];
    key_of(k, tag);
    VtdCacheEntry *e = vtd_cache_probe(c, k);
    if (e)
        ck_assert_uint_eq(e->val[0], tag * 10);
    return e != NULL;
}

START_TEST(test_geometry)
{
    GError *err = NULL;
    VtdCacheGeom ok = {64, 4, VTD_REPL_LRU, 0};
    ck_assert(vtd_cache_geom_validate(&ok, "t", &err));
    VtdCacheGeom full = {48, 0, VTD_REPL_FIFO, 0};   /* one set of 48 ways */
    ck_assert(vtd_cache_geom_validate(&full, "t", &err));
    VtdCacheGeom off = {0, 0, VTD_REPL_LRU, 0};
    ck_assert(vtd_cache_geom_validate(&off, "t", &err));
    VtdCacheGeom bad = {48, 4, VTD_REPL_LRU, 0};     /* 12 sets */
    ck_assert(!vtd_cache_geom_validate(&bad, "t", &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    VtdCacheGeom bad2 = {64, 5, VTD_REPL_LRU, 0};
    ck_assert(!vtd_cache_geom_validate(&bad2, "t", &err));
    g_clear_error(&err);
    VtdCacheGeom bad3 = {64, 4, (VtdReplPolicy)9, 0};
    ck_assert(!vtd_cache_geom_validate(&bad3, "t", &err));
    g_clear_error(&err);

    /* a disabled cache never holds anything */
    VtdCache *c = vtd_cache_new(&off);
    fill(c, 1);
    ck_assert(!has(c, 1));
    ck_assert_uint_eq(vtd_cache_occupancy(c), 0);
    vtd_cache_free(c);
}
END_TEST

START_TEST(test_lru)
{
    VtdCacheGeom g = {4, 0, VTD_REPL_LRU, 0};
    VtdCache *c = vtd_cache_new(&g);
    for (uint64_t t = 1; t <= 4; t++)
        fill(c, t);
    ck_assert(has(c, 1));           /* 1 becomes most recent; 2 is LRU */
    fill(c, 5);
    ck_assert(!has(c, 2));
    ck_assert(has(c, 1) && has(c, 3) && has(c, 4) && has(c, 5));
    VtdCacheStats st;
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.fills, 5);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_eq(vtd_cache_occupancy(c), 4);
    /* refilling a present tag overwrites in place, no eviction */
    fill(c, 3);
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 1);
    ck_assert_uint_eq(vtd_cache_occupancy(c), 4);
    vtd_cache_free(c);
}
END_TEST

START_TEST(test_fifo)
{
    VtdCacheGeom g = {4, 0, VTD_REPL_FIFO, 0};
    VtdCache *c = vtd_cache_new(&g);
    for (uint64_t t = 1; t <= 4; t++)
        fill(c, t);
    ck_assert(has(c, 1));           /* a hit does not save 1 under FIFO */
    fill(c, 5);
    ck_assert(!has(c, 1));
    ck_assert(has(c, 2) && has(c, 3) && has(c, 4) && has(c, 5));
    vtd_cache_free(c);
}
END_TEST

static unsigned random_survivors(uint64_t seed)
{
    VtdCacheGeom g = {8, 0, VTD_REPL_RANDOM, seed};
    VtdCache *c = vtd_cache_new(&g);
    for (uint64_t t = 1; t <= 64; t++)
        fill(c, t);
    unsigned mask = 0;
    for (uint64_t t = 1; t <= 8; t++)
        mask |= has(c, t) ? 1u << t : 0;
    for (uint64_t t = 57; t <= 64; t++)
        mask += has(c, t) ? 0x100 : 0;
    vtd_cache_free(c);
    return mask;
}

START_TEST(test_random_deterministic)
{
    /* same seed, same victims; the last fill is always present */
    ck_assert_uint_eq(random_survivors(42), random_survivors(42));
    VtdCacheGeom g = {8, 0, VTD_REPL_RANDOM, 42};
    VtdCache *c = vtd_cache_new(&g);
    unsigned present = 0;
    for (uint64_t t = 1; t <= 64; t++) {
        fill(c, t);
        ck_assert(has(c, t));
    }
    for (uint64_t t = 1; t <= 64; t++)
        present += has(c, t);
    ck_assert_uint_eq(present, 8);
    VtdCacheStats st;
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.evictions, 56);
    vtd_cache_free(c);
}
END_TEST

static bool match_even(const VtdCacheEntry *e, const void *o)
{
    (void)o;
    return (e->key[0] & 1) == 0;
}

START_TEST(test_set_assoc_and_invalidate)
{
    VtdCacheGeom g = {16, 2, VTD_REPL_LRU, 0};   /* 8 sets of 2 */
    VtdCache *c = vtd_cache_new(&g);
    for (uint64_t t = 0; t < 200; t++)
        fill(c, t);
    ck_assert_uint_le(vtd_cache_occupancy(c), 16);
    VtdCacheStats st;
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.fills, 200);
    ck_assert_uint_eq(st.evictions, 200 - vtd_cache_occupancy(c));
    unsigned before = vtd_cache_occupancy(c), even = 0;
    for (uint64_t t = 0; t < 200; t++)
        even += has(c, t) && !(t & 1);
    unsigned n = vtd_cache_invalidate(c, match_even, NULL);
    ck_assert_uint_eq(n, even);
    ck_assert_uint_eq(vtd_cache_occupancy(c), before - even);
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.invalidations, 1);
    ck_assert_uint_eq(st.inv_entries, even);
    vtd_cache_count_lookup(c, true);
    vtd_cache_count_lookup(c, false);
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.lookups, 2);
    ck_assert_uint_eq(st.hits, 1);
    ck_assert_uint_eq(st.misses, 1);
    vtd_cache_reset_stats(c);
    vtd_cache_get_stats(c, &st);
    ck_assert_uint_eq(st.lookups + st.fills + st.invalidations, 0);
    vtd_cache_free(c);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Invalidation granularity through the engine                         */
/* ------------------------------------------------------------------ */

#define RAM_SIZE (1ull << 36)
#define ALLOC_BASE 0x100000000ull
#define SRW 3ull
#define FPRU 7ull              /* FS P | R/W | U/S */

typedef struct T {
    RefMem *m;
    VtdXlate *x;
    VtdXlateConfig cfg;
    uint64_t rta, ctp, root5, root6;   /* legacy: domain 5 and 6 SS roots */
    uint64_t sctp, dir, ssr, fsr1, fsr2;
} T;

static uint64_t caps(void)
{
    uint64_t cap = vtd_cap_set_SAGAW(0, VTD_SAGAW_39 | VTD_SAGAW_48);
    cap = vtd_cap_set_MGAW(cap, 47);
    return vtd_cap_set_SLLPS(cap, VTD_SLLPS_2M | VTD_SLLPS_1G);
}

static uint64_t ecaps(void)
{
    uint64_t e = vtd_ecap_set_SMTS(0, 1);
    e = vtd_ecap_set_PASID(e, 1);
    e = vtd_ecap_set_PSS(e, 19);
    e = vtd_ecap_set_FSTS(e, 1);
    e = vtd_ecap_set_SSTS(e, 1);
    e = vtd_ecap_set_PT(e, 1);
    e = vtd_ecap_set_DT(e, 1);
    return e;
}

/*
 * Legacy: devices 01:01.0, 01:01.1, 01:01.4 in domain 5 and 01:02.0 in
 * domain 6; each domain maps 0x10000000+i*4K -> 0x20000000+i*4K (i < 16)
 * in its own 4-level table.
 */
static T *legacy_t(void)
{
    T *t = g_new0(T, 1);
    t->m = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    t->x = vtd_xlate_new(NULL, t->m->as, NULL);
    t->cfg = (VtdXlateConfig){caps(), ecaps(), 0, true, 40};
    t->rta = ref_alloc_page(t->m);
    t->cfg.rtaddr = t->rta;
    t->ctp = ref_alloc_page(t->m);
    ref_set_root(t->m, t->rta, 1, t->ctp | 1, 0);
    for (uint64_t i = 0; i < 16; i++) {
        ref_map(t->m, REF_FMT_SS, &t->root5, 4, 0x10000000 + i * 4096, 0x20000000 + i * 4096,
                1, SRW, SRW);
        ref_map(t->m, REF_FMT_SS, &t->root6, 4, 0x10000000 + i * 4096, 0x20000000 + i * 4096,
                1, SRW, SRW);
    }
    const unsigned devfn5[] = {0x08, 0x09, 0x0C};
    for (unsigned i = 0; i < 3; i++)
        ref_set_context(t->m, t->ctp, devfn5[i], t->root5 | 1, 2 | (5u << 8));
    ref_set_context(t->m, t->ctp, 0x10, t->root6 | 1, 2 | (6u << 8));
    vtd_xlate_set_config(t->x, &t->cfg);
    return t;
}

/*
 * Scalable: device 02:01.0, RID_PASID 0 -> second stage DID 7 (same
 * mappings as legacy); PASID 1 -> first stage DID 7; PASID 2 -> first
 * stage DID 7 (other tables); PASID 3 -> second stage DID 8 sharing the SS
 * tables.  FS maps 0x40000000+i*4K -> 0x50000000+i*4K.
 */
static T *sm_t(void)
{
    T *t = g_new0(T, 1);
    t->m = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    t->x = vtd_xlate_new(NULL, t->m->as, NULL);
    t->cfg = (VtdXlateConfig){caps(), ecaps(), 0, true, 40};
    t->rta = ref_alloc_page(t->m);
    t->cfg.rtaddr = t->rta | (1u << 10);
    t->sctp = ref_alloc_page(t->m);
    ref_set_root(t->m, t->rta, 2, t->sctp | 1, 0);
    t->dir = ref_alloc_page(t->m);
    uint64_t cv[4] = {t->dir | 1 | 4 | 8, 0, 0, 0};   /* P, DTE, PASIDE */
    ref_set_sm_context(t->m, t->sctp, 0x08, cv);
    for (uint64_t i = 0; i < 16; i++) {
        ref_map(t->m, REF_FMT_SS, &t->ssr, 4, 0x10000000 + i * 4096, 0x20000000 + i * 4096, 1,
                SRW, SRW);
        ref_map(t->m, REF_FMT_FS, &t->fsr1, 4, 0x40000000 + i * 4096, 0x50000000 + i * 4096,
                1, FPRU | (1u << 5), FPRU | (1u << 5));
        ref_map(t->m, REF_FMT_FS, &t->fsr2, 4, 0x40000000 + i * 4096, 0x60000000 + i * 4096,
                1, FPRU | (1u << 5), FPRU | (1u << 5));
    }
    uint64_t p0[8] = {t->ssr | 1 | (2u << 2) | (2u << 6), 7};
    uint64_t p1[8] = {1 | (1u << 6), 7, t->fsr1};
    uint64_t p2[8] = {1 | (1u << 6), 7, t->fsr2};
    uint64_t p3[8] = {t->ssr | 1 | (2u << 2) | (2u << 6), 8};
    ref_set_pasid_entry(t->m, t->dir, 0, p0);
    ref_set_pasid_entry(t->m, t->dir, 1, p1);
    ref_set_pasid_entry(t->m, t->dir, 2, p2);
    ref_set_pasid_entry(t->m, t->dir, 3, p3);
    vtd_xlate_set_config(t->x, &t->cfg);
    return t;
}

static void t_free(T *t)
{
    vtd_xlate_free(t->x);
    ref_mem_free(t->m);
    g_free(t);
}

static VtdXlateResult tr(T *t, uint16_t sid, int pasid, uint64_t addr)
{
    VtdXlateRequest r = {.sid = sid, .addr = addr, .len = 4};
    if (pasid >= 0) {
        r.pasid_present = true;
        r.pasid = (uint32_t)pasid;
    }
    VtdXlateResult res;
    vtd_xlate_translate(t->x, &r, &res);
    ck_assert_msg(res.status == VTD_XLATE_OK, "sid %x pasid %d addr %llx: status %d 0x%x",
                  sid, pasid, (unsigned long long)addr, res.status, res.fault_reason);
    return res;
}

static uint64_t out_of(T *t, uint16_t sid, int pasid, uint64_t addr)
{
    return tr(t, sid, pasid, addr).out_addr;
}

/* Rewrites the leaf of @in in table @root to point at @out. */
static void remap(T *t, RefFmt fmt, uint64_t root, uint64_t in, uint64_t out)
{
    uint64_t a = ref_entry_addr(t->m, fmt, root, 4, in, 1);
    ck_assert_uint_ne(a, 0);
    ref_wr64(t->m, a, (ref_rd64(t->m, a) & 0xfff) | out);
}

START_TEST(test_stale_until_invalidated)
{
    T *t = legacy_t();
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    remap(t, REF_FMT_SS, t->root5, 0x10000000, 0x30000000);
    /* no invalidation: the IOTLB keeps the old translation, as hardware does */
    for (int i = 0; i < 3; i++)
        ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    /* a different device of the same domain shares the DID-tagged entry */
    ck_assert_uint_eq(out_of(t, 0x0109, -1, 0x10000000), 0x20000000);
    /* removing the mapping entirely still translates until invalidated */
    uint64_t leaf = ref_entry_addr(t->m, REF_FMT_SS, t->root5, 4, 0x10000000, 1);
    ref_wr64(t->m, leaf, 0);
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    vtd_xlate_inv_iotlb_page(t->x, 5, 0x10000000, 0, false);
    VtdXlateRequest r = {.sid = 0x0108, .addr = 0x10000000, .len = 4};
    VtdXlateResult res;
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, VTD_FR_READ_DENIED);
    t_free(t);
}
END_TEST

START_TEST(test_iotlb_psi_leaves_other_pages)
{
    T *t = legacy_t();
    for (uint64_t i = 0; i < 8; i++)
        ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000 + i * 4096), 0x20000000 + i * 4096);
    for (uint64_t i = 0; i < 8; i++)
        remap(t, REF_FMT_SS, t->root5, 0x10000000 + i * 4096, 0x30000000 + i * 4096);
    /* AM=1: pages 2 and 3 (address aligned down to 8 KiB) */
    vtd_xlate_inv_iotlb_page(t->x, 5, 0x10003000, 1, false);
    for (uint64_t i = 0; i < 8; i++) {
        uint64_t want = (i == 2 || i == 3) ? 0x30000000 : 0x20000000;
        ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000 + i * 4096), want + i * 4096);
    }
    /* a PSI for another domain touches nothing of domain 5 */
    vtd_xlate_inv_iotlb_page(t->x, 6, 0x10000000, 3, false);
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    t_free(t);
}
END_TEST

START_TEST(test_iotlb_dsi_leaves_other_domains)
{
    T *t = legacy_t();
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10001000), 0x20001000);
    ck_assert_uint_eq(out_of(t, 0x0110, -1, 0x10001000), 0x20001000);
    remap(t, REF_FMT_SS, t->root5, 0x10001000, 0x30001000);
    remap(t, REF_FMT_SS, t->root6, 0x10001000, 0x40001000);
    VtdCacheStats st;
    vtd_xlate_get_stats(t->x, VTD_CACHE_IOTLB, &st);
    uint64_t inv_before = st.inv_entries;
    vtd_xlate_inv_iotlb_domain(t->x, 5);
    vtd_xlate_get_stats(t->x, VTD_CACHE_IOTLB, &st);
    ck_assert_uint_eq(st.inv_entries - inv_before, 1);
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10001000), 0x30001000);
    ck_assert_uint_eq(out_of(t, 0x0110, -1, 0x10001000), 0x20001000);   /* stale, other DID */
    vtd_xlate_inv_iotlb_global(t->x);
    ck_assert_uint_eq(out_of(t, 0x0110, -1, 0x10001000), 0x40001000);
    t_free(t);
}
END_TEST

START_TEST(test_ih_keeps_paging_structure_caches)
{
    T *t = legacy_t();
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    unsigned pde = vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PDE);
    ck_assert_uint_eq(pde, 1);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PML4), 1);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PDPE), 1);
    /* Build a second page table for the same 2 MiB and point the PDE at it. */
    uint64_t pt2 = ref_alloc_page(t->m);
    ref_wr64(t->m, pt2, 0x70000000 | SRW);
    uint64_t pdea = ref_entry_addr(t->m, REF_FMT_SS, t->root5, 4, 0x10000000, 2);
    uint64_t old_pde = ref_rd64(t->m, pdea);
    ref_wr64(t->m, pdea, pt2 | SRW);
    /* leaf-only invalidation (IH=1): the PDE stays cached, so the walk
     * re-reads the leaf from the OLD page table */
    vtd_xlate_inv_iotlb_page(t->x, 5, 0x10000000, 0, true);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PDE), 1);
    VtdXlateResult r = tr(t, 0x0108, -1, 0x10000000);
    ck_assert_uint_eq(r.out_addr, 0x20000000);
    ck_assert(r.cache_hit & (1u << VTD_CACHE_PSC_PDE));
    ck_assert(r.cache_miss & (1u << VTD_CACHE_IOTLB));
    /* IH=0 drops the paging-structure entries covering the page */
    vtd_xlate_inv_iotlb_page(t->x, 5, 0x10000000, 0, false);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PDE), 0);
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x70000000);
    ref_wr64(t->m, pdea, old_pde);
    /* a PSI far away (other 2 MiB region) keeps the PDE entry */
    vtd_xlate_inv_iotlb_domain(t->x, 5);
    ck_assert_uint_eq(out_of(t, 0x0108, -1, 0x10000000), 0x20000000);
    vtd_xlate_inv_iotlb_page(t->x, 5, 0x50000000, 0, false);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(t->x, VTD_CACHE_PSC_PDE), 1);
    t_free(t);
}
END_TEST

static bool ctx_hit(T *t, uint16_t sid)
{
    return tr(t, sid, -1, 0x10000000).cache_hit & (1u << VTD_CACHE_CONTEXT);
}

START_TEST(test_context_cache_granularity)
{
    T *t = legacy_t();
    const uint16_t sids[] = {0x0108, 0x0109, 0x010C, 0x0110};
    for (unsigned i = 0; i < 4; i++)
        ck_assert(!ctx_hit(t, sids[i]));
    for (unsigned i = 0; i < 4; i++)
        ck_assert(ctx_hit(t, sids[i]));
    /* device-selective with FM=1 (ignore SID bit 2): 01:01.0 and 01:01.4 */
    vtd_xlate_inv_context_device(t->x, 5, 0x0108, 1);
    ck_assert(!ctx_hit(t, 0x0108));
    ck_assert(ctx_hit(t, 0x0109));
    ck_assert(!ctx_hit(t, 0x010C));
    ck_assert(ctx_hit(t, 0x0110));
    /* FM=0 is exact */
    vtd_xlate_inv_context_device(t->x, 5, 0x0109, 0);
    ck_assert(ctx_hit(t, 0x0108));
    ck_assert(!ctx_hit(t, 0x0109));
    /* domain-selective: only contexts with DID 6 */
    vtd_xlate_inv_context_domain(t->x, 6);
    ck_assert(ctx_hit(t, 0x0108));
    ck_assert(!ctx_hit(t, 0x0110));
    /* a stale context entry keeps the old domain until invalidated */
    ref_set_context(t->m, t->ctp, 0x08, t->root6 | 1, 2 | (6u << 8));
    ck_assert_uint_eq(tr(t, 0x0108, -1, 0x10000000).did, 5);
    vtd_xlate_inv_context_global(t->x);
    ck_assert_uint_eq(tr(t, 0x0108, -1, 0x10000000).did, 6);
    VtdCacheStats st;
    vtd_xlate_get_stats(t->x, VTD_CACHE_CONTEXT, &st);
    ck_assert_uint_eq(st.invalidations, 4);
    ck_assert_uint_eq(st.lookups, st.hits + st.misses);
    t_free(t);
}
END_TEST

static bool pasid_hit(T *t, int pasid, uint64_t addr)
{
    return tr(t, 0x0208, pasid, addr).cache_hit & (1u << VTD_CACHE_PASID);
}

START_TEST(test_pasid_cache_granularity)
{
    T *t = sm_t();
    ck_assert(!pasid_hit(t, 1, 0x40000000));
    ck_assert(!pasid_hit(t, 2, 0x40000000));
    ck_assert(!pasid_hit(t, 3, 0x10000000));
    ck_assert(pasid_hit(t, 1, 0x40000000));
    /* PASID-selective (DID 7, PASID 1) leaves PASID 2 of the same domain */
    vtd_xlate_inv_pasid_pasid(t->x, 7, 1);
    ck_assert(!pasid_hit(t, 1, 0x40000000));
    ck_assert(pasid_hit(t, 2, 0x40000000));
    /* a DID that does not match the entry's DID drops nothing */
    vtd_xlate_inv_pasid_pasid(t->x, 8, 2);
    ck_assert(pasid_hit(t, 2, 0x40000000));
    /* domain-selective DID 7 leaves PASID 3 (DID 8) */
    vtd_xlate_inv_pasid_domain(t->x, 7);
    ck_assert(!pasid_hit(t, 2, 0x40000000));
    ck_assert(pasid_hit(t, 3, 0x10000000));
    vtd_xlate_inv_pasid_global(t->x);
    ck_assert(!pasid_hit(t, 3, 0x10000000));
    /* stale PASID entry: switching PASID 1 to PASID 2's tables needs an invalidation */
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40000000), 0x50000000);
    uint64_t p1[8] = {1 | (1u << 6), 7, t->fsr2};
    ref_set_pasid_entry(t->m, t->dir, 1, p1);
    vtd_xlate_inv_piotlb_pasid(t->x, 7, 1);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40000000), 0x50000000);  /* via old FS PSC/entry */
    vtd_xlate_inv_pasid_pasid(t->x, 7, 1);
    vtd_xlate_inv_piotlb_pasid(t->x, 7, 1);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40000000), 0x60000000);
    t_free(t);
}
END_TEST

START_TEST(test_piotlb_granularity)
{
    T *t = sm_t();
    for (uint64_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40000000 + i * 4096), 0x50000000 + i * 4096);
        ck_assert_uint_eq(out_of(t, 0x0208, 2, 0x40000000 + i * 4096), 0x60000000 + i * 4096);
    }
    ck_assert_uint_eq(out_of(t, 0x0208, -1, 0x10000000), 0x20000000);
    for (uint64_t i = 0; i < 4; i++) {
        remap(t, REF_FMT_FS, t->fsr1, 0x40000000 + i * 4096, 0x70000000 + i * 4096);
        remap(t, REF_FMT_FS, t->fsr2, 0x40000000 + i * 4096, 0x78000000 + i * 4096);
    }
    remap(t, REF_FMT_SS, t->ssr, 0x10000000, 0x30000000);
    /* page-selective within PASID 1: page 1 only */
    vtd_xlate_inv_piotlb_page(t->x, 7, 1, 0x40001000, 0, false);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40000000), 0x50000000);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40001000), 0x70001000);
    ck_assert_uint_eq(out_of(t, 0x0208, 2, 0x40001000), 0x60001000);
    /* PASID-based invalidation never touches second-stage-only mappings */
    vtd_xlate_inv_piotlb_domain(t->x, 7);
    ck_assert_uint_eq(out_of(t, 0x0208, -1, 0x10000000), 0x20000000);
    ck_assert_uint_eq(out_of(t, 0x0208, 2, 0x40002000), 0x78002000);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40003000), 0x70003000);
    /* and IOTLB PSI/DSI of the second stage: PSI leaves first-stage entries */
    for (uint64_t i = 0; i < 4; i++)
        remap(t, REF_FMT_FS, t->fsr1, 0x40000000 + i * 4096, 0x7c000000 + i * 4096);
    vtd_xlate_inv_iotlb_page(t->x, 7, 0x40000000, 4, false);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40003000), 0x70003000);
    ck_assert_uint_eq(out_of(t, 0x0208, -1, 0x10000000), 0x20000000);  /* other address */
    vtd_xlate_inv_iotlb_page(t->x, 7, 0x10000000, 0, false);
    ck_assert_uint_eq(out_of(t, 0x0208, -1, 0x10000000), 0x30000000);
    /* DSI drops everything of DID 7, but PASID 3 (DID 8, same SS tables) stays stale */
    ck_assert_uint_eq(out_of(t, 0x0208, 3, 0x10001000), 0x20001000);
    remap(t, REF_FMT_SS, t->ssr, 0x10001000, 0x30001000);
    vtd_xlate_inv_iotlb_domain(t->x, 7);
    ck_assert_uint_eq(out_of(t, 0x0208, 1, 0x40003000), 0x7c003000);
    ck_assert_uint_eq(out_of(t, 0x0208, 3, 0x10001000), 0x20001000);
    t_free(t);
}
END_TEST

START_TEST(test_capacity_and_stats)
{
    RefMem *m = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    VtdCacheParams p;
    vtd_cache_params_default(&p);
    p.cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){8, 2, VTD_REPL_LRU, 0};
    VtdXlate *x = vtd_xlate_new(&p, m->as, NULL);
    uint64_t rta = ref_alloc_page(m), ctp = ref_alloc_page(m), root = 0;
    for (uint64_t i = 0; i < 64; i++)
        ref_map(m, REF_FMT_SS, &root, 4, i << 12, (i + 0x100) << 12, 1, SRW, SRW);
    ref_set_root(m, rta, 0, ctp | 1, 0);
    ref_set_context(m, ctp, 0x08, root | 1, 2 | (1u << 8));
    VtdXlateConfig cfg = {caps(), ecaps(), rta, true, 40};
    vtd_xlate_set_config(x, &cfg);
    for (int pass = 0; pass < 2; pass++)
        for (uint64_t i = 0; i < 64; i++) {
            VtdXlateRequest r = {.sid = 0x0008, .addr = i << 12, .len = 8};
            VtdXlateResult res;
            ck_assert_int_eq(vtd_xlate_translate(x, &r, &res), VTD_XLATE_OK);
            ck_assert_uint_eq(res.out_addr, (i + 0x100) << 12);
        }
    VtdCacheStats st;
    vtd_xlate_get_stats(x, VTD_CACHE_IOTLB, &st);
    ck_assert_uint_eq(st.lookups, 128);
    ck_assert_uint_eq(st.hits + st.misses, 128);
    ck_assert_uint_le(vtd_xlate_cache_occupancy(x, VTD_CACHE_IOTLB), 8);
    ck_assert_uint_eq(st.fills, st.misses);
    ck_assert_uint_eq(st.evictions, st.fills - vtd_xlate_cache_occupancy(x, VTD_CACHE_IOTLB));
    vtd_xlate_get_stats(x, VTD_CACHE_CONTEXT, &st);
    ck_assert_uint_eq(st.misses, 1);
    ck_assert_uint_eq(st.hits, 127);
    /* every request after the first hits the PDE cache on an IOTLB miss */
    vtd_xlate_get_stats(x, VTD_CACHE_PSC_PDE, &st);
    ck_assert_uint_eq(st.misses, 1);
    vtd_xlate_reset_stats(x);
    vtd_xlate_get_stats(x, VTD_CACHE_PSC_PDE, &st);
    ck_assert_uint_eq(st.lookups, 0);
    ck_assert_str_eq(vtd_cache_name(VTD_CACHE_PSC_PDE), "psc-pde");
    ck_assert_str_eq(vtd_cache_name(VTD_CACHE_IOTLB), "iotlb");
    vtd_xlate_free(x);
    ref_mem_free(m);
}
END_TEST

START_TEST(test_ats_and_dirty_caching)
{
    T *t = sm_t();
    /* a read-only first-stage page answered to a translation request is cached */
    uint64_t leaf = ref_entry_addr(t->m, REF_FMT_FS, t->fsr1, 4, 0x40000000, 1);
    ref_wr64(t->m, leaf, ref_rd64(t->m, leaf) & ~2ull);
    VtdXlateRequest r = {.sid = 0x0208, .pasid_present = true, .pasid = 1,
                         .addr = 0x40000000, .len = 4, .at = VTD_AT_TRANSLATION};
    VtdXlateResult res;
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_OK);
    ck_assert_uint_eq(res.perm, VTD_PERM_R | VTD_PERM_X);
    ck_assert(res.cache_miss & (1u << VTD_CACHE_IOTLB));
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_OK);
    ck_assert(res.cache_hit & (1u << VTD_CACHE_IOTLB));
    ck_assert_uint_eq(res.mem_reads, 0);
    ck_assert_uint_eq(ref_rd64(t->m, leaf) & 0x60, 0x20);      /* A, not D */
    /* a read then a write: the write re-walks once to set D, then hits */
    r.at = VTD_AT_UNTRANSLATED;
    r.addr = 0x40001000;
    uint64_t leaf1 = ref_entry_addr(t->m, REF_FMT_FS, t->fsr1, 4, 0x40001000, 1);
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_OK);
    r.write = true;
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_OK);
    ck_assert(res.cache_miss & (1u << VTD_CACHE_IOTLB));
    ck_assert_uint_eq(res.mem_writes, 1);
    ck_assert_uint_eq(ref_rd64(t->m, leaf1) & 0x60, 0x60);
    ck_assert_int_eq(vtd_xlate_translate(t->x, &r, &res), VTD_XLATE_OK);
    ck_assert(res.cache_hit & (1u << VTD_CACHE_IOTLB));
    ck_assert_uint_eq(res.mem_writes, 0);
    t_free(t);
}
END_TEST

static Suite *suite_vtd_cache(void)
{
    Suite *s = suite_create("vtd_cache");
    TCase *tc = tcase_create("storage");
    tcase_add_test(tc, test_geometry);
    tcase_add_test(tc, test_lru);
    tcase_add_test(tc, test_fifo);
    tcase_add_test(tc, test_random_deterministic);
    tcase_add_test(tc, test_set_assoc_and_invalidate);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalidation");
    tcase_add_test(tc, test_stale_until_invalidated);
    tcase_add_test(tc, test_iotlb_psi_leaves_other_pages);
    tcase_add_test(tc, test_iotlb_dsi_leaves_other_domains);
    tcase_add_test(tc, test_ih_keeps_paging_structure_caches);
    tcase_add_test(tc, test_context_cache_granularity);
    tcase_add_test(tc, test_pasid_cache_granularity);
    tcase_add_test(tc, test_piotlb_granularity);
    tcase_add_test(tc, test_capacity_and_stats);
    tcase_add_test(tc, test_ats_and_dirty_caching);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vtd_cache)
