/*
 * Tests of the VT-d translation engine (models/vtd/vtd_xlate.c):
 *   - one test per fault reason the engine can raise, each on tables built
 *     in a PhysMem-backed address space, asserting the exact reason code
 *     and whether the fault is recorded (FPD qualification);
 *   - successful translations of every kind (legacy SS, pass-through,
 *     scalable SS/FS/nested/PT, 2M/1G pages, 5-level, A/D updates, ATS);
 *   - a differential test against the uncached reference walker
 *     (models/ref/ref_walk.c) over random tables and random requests,
 *     plus a run against a deliberately broken reference that must differ.
 */
#include <stdio.h>
#include <string.h>

#include "check_util.h"
#include "models/ref/ref_build.h"
#include "models/ref/ref_walk.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"
#include "models/vtd/vtd_xlate.h"

#define RAM_SIZE (1ull << 36)       /* 64 GiB of sparse RAM */
#define HOLE (1ull << 37)           /* inside HAW, decodes nowhere */
#define ALLOC_BASE 0x100000000ull   /* tables from 4 GiB up */

/* SS leaf/non-leaf permission bits */
#define SR 1ull
#define SW 2ull
#define SX 4ull
#define SRW (SR | SW)
/* FS bits */
#define FP 1ull
#define FRW 2ull
#define FUS 4ull
#define FA (1ull << 5)
#define FD (1ull << 6)
#define FXD (1ull << 63)

typedef struct W {
    RefMem *m;
    RefMem *shadow;           /* the reference walker's copy of memory */
    VtdXlate *x;
    VtdXlateConfig cfg;
    uint64_t rta;
    /* legacy */
    uint64_t ctp, ctx, ss_root;
    /* scalable */
    uint64_t sctp_lo, sctp_hi, sctx, sctx_hi, dir, pe[4], fs_root, nfs_root, ss_id_root;
} W;

static uint64_t cap_all(void)
{
    uint64_t cap = 0;
    cap = vtd_cap_set_SAGAW(cap, VTD_SAGAW_39 | VTD_SAGAW_48 | VTD_SAGAW_57);
    cap = vtd_cap_set_MGAW(cap, 56);
    cap = vtd_cap_set_SLLPS(cap, VTD_SLLPS_2M | VTD_SLLPS_1G);
    cap = vtd_cap_set_FS1GP(cap, 1);
    cap = vtd_cap_set_FS5LP(cap, 1);
    return cap;
}

static uint64_t ecap_all(void)
{
    uint64_t e = 0;
    e = vtd_ecap_set_QI(e, 1);
    e = vtd_ecap_set_DT(e, 1);
    e = vtd_ecap_set_PT(e, 1);
    e = vtd_ecap_set_SC(e, 1);
    e = vtd_ecap_set_NEST(e, 1);
    e = vtd_ecap_set_ERS(e, 1);
    e = vtd_ecap_set_SRS(e, 1);
    e = vtd_ecap_set_PSS(e, 19);
    e = vtd_ecap_set_PASID(e, 1);
    e = vtd_ecap_set_SMTS(e, 1);
    e = vtd_ecap_set_SSADS(e, 1);
    e = vtd_ecap_set_SSTS(e, 1);
    e = vtd_ecap_set_FSTS(e, 1);
    e = vtd_ecap_set_RPS(e, 1);
    e = vtd_ecap_set_RPRIVS(e, 1);
    e = vtd_ecap_set_ADMS(e, 1);
    return e;
}

/* Installs the config and, like software after changing tables, flushes. */
static void w_apply(W *w)
{
    vtd_xlate_set_config(w->x, &w->cfg);
    vtd_xlate_flush_all(w->x);
}

/*
 * Legacy world: device 01:01.0 (SID 0x0108), context TT=0 AW=2 (4-level),
 * DID 5.  Mappings: 0x10000000 -> 0x20000000 4K RW; 0x10001000 -> 0x20001000
 * 4K R; 0x10002000 -> 0x20002000 4K W; 0x40000000 -> 0x60000000 2M RW;
 * 0x80000000 -> 0xC0000000 1G RW; 0x10003000 -> 0xFEE00000 4K RW.
 */
static W *legacy_world(void)
{
    W *w = g_new0(W, 1);
    w->m = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    w->shadow = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    w->x = vtd_xlate_new(NULL, w->m->as, NULL);
    w->cfg.cap = cap_all();
    w->cfg.ecap = ecap_all();
    w->cfg.haw = 40;
    w->cfg.te = true;
    w->rta = ref_alloc_page(w->m);
    w->cfg.rtaddr = w->rta;                     /* TTM = 00 */
    w->ctp = ref_alloc_page(w->m);
    ref_set_root(w->m, w->rta, 1, w->ctp | 1, 0);
    uint64_t *r = &w->ss_root;
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10000000, 0x20000000, 1, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10001000, 0x20001000, 1, SR, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10002000, 0x20002000, 1, SW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10003000, 0xFEE00000, 1, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x40000000, 0x60000000, 2, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x80000000, 0xC0000000, 3, SRW, SRW);
    /* context: P, TT=0, SLPTPTR; hi: AW=2, DID=5 */
    w->ctx = ref_set_context(w->m, w->ctp, 0x08, w->ss_root | 1, 2 | (5u << 8));
    w_apply(w);
    return w;
}

/*
 * Scalable world: device 02:01.0 (SID 0x0208), SM context P, DTE, PASIDE,
 * PDTS=0 (128 directory entries), RID_PASID=0.  PASID entries:
 *   0: second stage, DID 7, AW 2, SS root = w->ss_root (mappings as legacy)
 *   1: first stage 4-level, DID 8, SRE, ERE, WPE=0
 *   2: nested, DID 9, AW 2, SS = identity over [0, 64G) by 1G pages (plus
 *      data GPA 0x30000000 -> 0x50000000 2M), FS root in GPA == HPA
 *   3: pass-through, DID 10
 * FS mappings (PASID 1 and, through SS, 2): 0x7000_0000_1000 -> 0x30001000
 * user RW; 0x7000_0000_2000 -> 0x30002000 supervisor RW; 0x7000_0000_3000
 * -> 0x30003000 user R, XD; 0x7000_0020_0000 -> 0x30200000 2M user RW;
 * 0xffff_8000_0000_0000 -> 0x30004000 user RW (high canonical half).
 */
static W *sm_world(void)
{
    W *w = g_new0(W, 1);
    w->m = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    w->shadow = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    w->x = vtd_xlate_new(NULL, w->m->as, NULL);
    w->cfg.cap = cap_all();
    w->cfg.ecap = ecap_all();
    w->cfg.haw = 40;
    w->cfg.te = true;
    w->rta = ref_alloc_page(w->m);
    w->cfg.rtaddr = w->rta | (1u << 10);        /* TTM = 01 */
    w->sctp_lo = ref_alloc_page(w->m);
    w->sctp_hi = ref_alloc_page(w->m);
    ref_set_root(w->m, w->rta, 2, w->sctp_lo | 1, w->sctp_hi | 1);
    w->dir = ref_alloc_page(w->m);
    uint64_t cv[4] = {w->dir | 1 | 4 | 8, 0, 0, 0};  /* P, DTE, PASIDE, PDTS=0 */
    w->sctx = ref_set_sm_context(w->m, w->sctp_lo, 0x08, cv);
    w->sctx_hi = ref_set_sm_context(w->m, w->sctp_hi, 0x88, cv);

    uint64_t *r = &w->ss_root;
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10000000, 0x20000000, 1, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10001000, 0x20001000, 1, SR, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10002000, 0x20002000, 1, SW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x10003000, 0xFEE00000, 1, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, r, 4, 0x40000000, 0x60000000, 2, SRW, SRW);

    for (uint64_t g = 1; g < 64; g++)
        ref_map(w->m, REF_FMT_SS, &w->ss_id_root, 4, g << 30, g << 30, 3, SRW, SRW);
    ref_map(w->m, REF_FMT_SS, &w->ss_id_root, 4, 0x30000000, 0x50000000, 2, SRW, SRW);

    uint64_t leaf_u = FP | FRW | FUS, nl = FP | FRW | FUS;
    uint64_t *f = &w->fs_root;
    ref_map(w->m, REF_FMT_FS, f, 4, 0x700000001000ull, 0x30001000, 1, leaf_u, nl);
    ref_map(w->m, REF_FMT_FS, f, 4, 0x700000002000ull, 0x30002000, 1, FP | FRW, nl);
    ref_map(w->m, REF_FMT_FS, f, 4, 0x700000003000ull, 0x30003000, 1, FP | FUS | FXD, nl);
    ref_map(w->m, REF_FMT_FS, f, 4, 0x700000200000ull, 0x30200000, 2, leaf_u, nl);
    ref_map(w->m, REF_FMT_FS, f, 4, 0xffff800000000000ull, 0x30004000, 1, leaf_u, nl);
    w->nfs_root = w->fs_root;                   /* same tables, reached as GPAs */

    uint64_t pe0[8] = {w->ss_root | 1 | (2u << 2) | (2u << 6), 7, 0, 0, 0, 0, 0, 0};
    uint64_t pe1[8] = {1 | (1u << 6), 8, w->fs_root | 1 | 2, 0, 0, 0, 0, 0};
    uint64_t pe2[8] = {w->ss_id_root | 1 | (2u << 2) | (3u << 6), 9, w->nfs_root | 1 | 2,
                       0, 0, 0, 0, 0};
    uint64_t pe3[8] = {1 | (4u << 6), 10, 0, 0, 0, 0, 0, 0};
    w->pe[0] = ref_set_pasid_entry(w->m, w->dir, 0, pe0);
    w->pe[1] = ref_set_pasid_entry(w->m, w->dir, 1, pe1);
    w->pe[2] = ref_set_pasid_entry(w->m, w->dir, 2, pe2);
    w->pe[3] = ref_set_pasid_entry(w->m, w->dir, 3, pe3);
    w_apply(w);
    return w;
}

static void w_free(W *w)
{
    vtd_xlate_free(w->x);
    ref_mem_free(w->m);
    ref_mem_free(w->shadow);
    g_free(w);
}

static VtdXlateRequest rq(uint16_t sid, uint64_t addr, bool write)
{
    VtdXlateRequest r = {.sid = sid, .addr = addr, .len = 4, .write = write};
    return r;
}

static VtdXlateRequest prq(uint16_t sid, uint32_t pasid, uint64_t addr, bool write)
{
    VtdXlateRequest r = rq(sid, addr, write);
    r.pasid_present = true;
    r.pasid = pasid;
    return r;
}

static VtdXlateResult go(W *w, VtdXlateRequest r)
{
    /* every engine answer, and its A/D writes, must equal the reference
     * walker's on an identical copy of memory */
    for (uint64_t a = ALLOC_BASE; a < w->m->next; a += 4096) {
        uint8_t buf[4096];
        physmem_read(w->m->pm, a, buf, sizeof(buf));
        physmem_write(w->shadow->pm, a, buf, sizeof(buf));
    }
    VtdXlateResult res;
    vtd_xlate_translate(w->x, &r, &res);
    VtdXlateResult ref;
    ref_walk_translate(w->shadow->as, &w->cfg, &r, &ref, REF_BUG_NONE);
    ck_assert_int_eq(res.status, ref.status);
    ck_assert_int_eq(res.fault_reason, ref.fault_reason);
    for (uint64_t a = ALLOC_BASE; a < w->m->next; a += 8)
        ck_assert_msg(ref_rd64(w->m, a) == ref_rd64(w->shadow, a), "memory differs at %llx",
                      (unsigned long long)a);
    return res;
}

static void expect_fault(W *w, VtdXlateRequest r, unsigned reason, bool record)
{
    VtdXlateResult res = go(w, r);
    ck_assert_int_eq(res.status, VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, reason);
    ck_assert_int_eq(res.fault_record, record);
    ck_assert_uint_eq(res.fault_addr, r.addr & ~0xfffull);
}

static void expect_ok(W *w, VtdXlateRequest r, uint64_t out, uint64_t page)
{
    VtdXlateResult res = go(w, r);
    ck_assert_msg(res.status == VTD_XLATE_OK, "addr %llx pasid %u: status %d reason 0x%x",
                  (unsigned long long)r.addr, r.pasid, res.status, res.fault_reason);
    ck_assert_uint_eq(res.out_addr, out);
    ck_assert_uint_eq(res.page_size, page);
}

#define L_SID 0x0108
#define S_SID 0x0208

/* ------------------------------------------------------------------ */
/* Legacy successes and faults                                         */
/* ------------------------------------------------------------------ */

START_TEST(test_legacy_ok)
{
    W *w = legacy_world();
    expect_ok(w, rq(L_SID, 0x10000123, true), 0x20000123, 4096);
    expect_ok(w, rq(L_SID, 0x10001008, false), 0x20001008, 4096);
    expect_ok(w, rq(L_SID, 0x40012345, true), 0x60012345, 2u << 20);
    expect_ok(w, rq(L_SID, 0x81234567, false), 0xC1234567, 1u << 30);
    VtdXlateResult r = go(w, rq(L_SID, 0x10000000, false));
    ck_assert_uint_eq(r.did, 5);
    ck_assert_uint_eq(r.perm, VTD_PERM_R | VTD_PERM_W);
    ck_assert_uint_eq(r.pgtt, VTD_PGTT_SECOND_STAGE);
    /* TE=0: identity */
    w->cfg.te = false;
    w_apply(w);
    expect_ok(w, rq(L_SID, 0x123456789, true), 0x123456789, 4096);
    w_free(w);
}
END_TEST

START_TEST(test_legacy_passthrough_and_ats)
{
    W *w = legacy_world();
    /* TT=2 pass-through */
    ref_set_context(w->m, w->ctp, 0x10, 1 | (2u << 2), 2 | (6u << 8));
    expect_ok(w, rq(0x0110, 0x123456000, true), 0x123456000, 4096);
    expect_fault(w, rq(0x0110, 1ull << 40, false), 0x4, true);
    /* TT=1: translation request and translated request allowed */
    ref_set_context(w->m, w->ctp, 0x18, w->ss_root | 1 | (1u << 2), 2 | (5u << 8));
    VtdXlateRequest t = rq(0x0118, 0x10001000, false);
    t.at = VTD_AT_TRANSLATION;
    VtdXlateResult r = go(w, t);
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert_uint_eq(r.out_addr, 0x20001000);
    ck_assert_uint_eq(r.perm, VTD_PERM_R);
    /* not-present page: success with no permission, no fault */
    t.addr = 0x10005000;
    r = go(w, t);
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert_uint_eq(r.perm, 0);
    VtdXlateRequest tr = rq(0x0118, 0x77777000, true);
    tr.at = VTD_AT_TRANSLATED;
    expect_ok(w, tr, 0x77777000, 4096);
    w_free(w);
}
END_TEST

START_TEST(test_legacy_faults)
{
    W *w = legacy_world();
    expect_fault(w, rq(0x0508, 0x10000000, false), 0x1, true);      /* root P=0 */
    expect_fault(w, rq(0x0109, 0x10000000, false), 0x2, true);      /* context P=0 */
    expect_fault(w, rq(L_SID, 1ull << 48, false), 0x4, true);       /* beyond AGAW */
    expect_fault(w, rq(L_SID, 0x10001000, true), 0x5, true);        /* write to R */
    expect_fault(w, rq(L_SID, 0x10002000, false), 0x6, true);       /* read of W */
    expect_fault(w, rq(L_SID, 0x10005000, true), 0x5, true);        /* not present, write */
    expect_fault(w, rq(L_SID, 0x10005000, false), 0x6, true);       /* not present, read */
    expect_fault(w, rq(L_SID, 0x10003000, true), 0xE, true);        /* output in intr range */
    expect_fault(w, prq(L_SID, 1, 0x10000000, false), 0x31, true);  /* PASID in legacy */
    VtdXlateRequest t = rq(L_SID, 0x10000000, false);
    t.at = VTD_AT_TRANSLATION;
    expect_fault(w, t, 0xD, true);                                  /* TT=0 blocks ATS */
    t.at = VTD_AT_TRANSLATED;
    expect_fault(w, t, 0xD, true);
    w_free(w);
}
END_TEST

START_TEST(test_legacy_structure_faults)
{
    W *w = legacy_world();
    /* 0xA: reserved bit in root entry */
    ref_set_root(w->m, w->rta, 3, w->ctp | 1 | 8, 0);
    expect_fault(w, rq(0x0308, 0x10000000, false), 0xA, true);
    ref_set_root(w->m, w->rta, 3, w->ctp | 1, 1);
    expect_fault(w, rq(0x0309, 0x10000000, false), 0xA, true);
    /* 0x9: context table in a hole */
    ref_set_root(w->m, w->rta, 4, HOLE | 1, 0);
    expect_fault(w, rq(0x0408, 0x10000000, false), 0x9, true);
    /* 0xB: reserved in context hi bit 7, and CTP above HAW in root -> 0xA */
    ref_set_context(w->m, w->ctp, 0x20, w->ss_root | 1, 2 | 0x80 | (5u << 8));
    expect_fault(w, rq(0x0120, 0x10000000, false), 0xB, true);
    ref_set_root(w->m, w->rta, 6, (1ull << 41) | 1, 0);
    expect_fault(w, rq(0x0600, 0x10000000, false), 0xA, true);
    /* 0x3: TT=3, AW not in SAGAW, TT=2 without PT */
    ref_set_context(w->m, w->ctp, 0x21, w->ss_root | 1 | (3u << 2), 2 | (5u << 8));
    expect_fault(w, rq(0x0121, 0x10000000, false), 0x3, true);
    ref_set_context(w->m, w->ctp, 0x22, w->ss_root | 1, 4 | (5u << 8));
    expect_fault(w, rq(0x0122, 0x10000000, false), 0x3, true);
    /* 0x7: second-level table in a hole */
    ref_set_context(w->m, w->ctp, 0x23, HOLE | 1, 2 | (11u << 8));
    expect_fault(w, rq(0x0123, 0x10000000, false), 0x7, true);
    /* 0xC: reserved bits in SL entries (TM, PS in PML4E, 2M low bits) */
    uint64_t leaf = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x10000000, 1);
    ref_wr64(w->m, leaf, ref_rd64(w->m, leaf) | (1ull << 62));
    expect_fault(w, rq(L_SID, 0x10000000, false), 0xC, true);
    uint64_t pde = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x40000000, 2);
    ref_wr64(w->m, pde, ref_rd64(w->m, pde) | 0x1000);
    expect_fault(w, rq(L_SID, 0x40000000, false), 0xC, true);
    /* FPD=1 in the context entry suppresses recording of qualified faults */
    ref_set_context(w->m, w->ctp, 0x28, w->ss_root | 1 | 2, 2 | (5u << 8));
    expect_fault(w, rq(0x0128, 0x10001000, true), 0x5, false);
    expect_fault(w, rq(0x0128, 0x10003000, true), 0xE, false);
    /* ... but not of context-level faults: reserved bit with FPD=1 */
    ref_set_context(w->m, w->ctp, 0x29, w->ss_root | 1 | 2 | 0x10, 2 | (5u << 8));
    expect_fault(w, rq(0x0129, 0x10000000, true), 0xB, true);
    /* 0x8: root table in a hole */
    w->cfg.rtaddr = HOLE;
    w_apply(w);
    expect_fault(w, rq(L_SID, 0x10000000, false), 0x8, true);
    /* 0x30: TTM=10 */
    w->cfg.rtaddr = w->rta | (2u << 10);
    w_apply(w);
    expect_fault(w, rq(L_SID, 0x10000000, false), 0x30, true);
    /* TTM=11 abort-DMA: blocked, nothing recorded */
    w->cfg.rtaddr = w->rta | (3u << 10);
    w_apply(w);
    ck_assert_int_eq(go(w, rq(L_SID, 0x10000000, false)).status, VTD_XLATE_UR);
    w_free(w);
}
END_TEST

START_TEST(test_legacy_no_sc_no_pt)
{
    W *w = legacy_world();
    uint64_t leaf = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x10000000, 1);
    ref_wr64(w->m, leaf, ref_rd64(w->m, leaf) | (1ull << 11));   /* SNP */
    VtdXlateResult r = go(w, rq(L_SID, 0x10000000, false));
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert(r.snoop);
    w->cfg.ecap = vtd_ecap_set_SC(w->cfg.ecap, 0);
    w->cfg.ecap = vtd_ecap_set_PT(w->cfg.ecap, 0);
    w_apply(w);
    vtd_xlate_flush_all(w->x);
    expect_fault(w, rq(L_SID, 0x10000000, false), 0xC, true);
    ref_set_context(w->m, w->ctp, 0x10, 1 | (2u << 2), 2 | (6u << 8));
    expect_fault(w, rq(0x0110, 0x10000000, false), 0x3, true);
    /* without 1G support the PS bit of a PDPE is reserved */
    w->cfg.cap = vtd_cap_set_SLLPS(w->cfg.cap, VTD_SLLPS_2M);
    w_apply(w);
    expect_fault(w, rq(L_SID, 0x80000000, false), 0xC, true);
    w_free(w);
}
END_TEST

START_TEST(test_interrupt_window)
{
    W *w = legacy_world();
    VtdXlateResult r = go(w, rq(L_SID, 0xFEE00000, true));
    ck_assert_int_eq(r.status, VTD_XLATE_INTERRUPT);
    r = go(w, rq(L_SID, 0xFEEFFFFC, false));
    ck_assert_int_eq(r.status, VTD_XLATE_UR);
    VtdXlateRequest t = rq(L_SID, 0xFEE01000, true);
    t.at = VTD_AT_TRANSLATED;
    ck_assert_int_eq(go(w, t).status, VTD_XLATE_UR);
    /* one byte below the window is ordinary DMA */
    VtdXlateRequest below = rq(L_SID, 0xFEDFFFFF, false);
    below.len = 1;
    r = go(w, below);
    ck_assert_int_eq(r.status, VTD_XLATE_FAULT);
    ck_assert_uint_eq(r.fault_reason, 0x6);
    w_free(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Scalable mode                                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_sm_ok)
{
    W *w = sm_world();
    /* requests without PASID go through RID_PASID = 0: second stage */
    expect_ok(w, rq(S_SID, 0x10000010, true), 0x20000010, 4096);
    VtdXlateResult r = go(w, rq(S_SID, 0x40001000, false));
    ck_assert_uint_eq(r.did, 7);
    ck_assert_uint_eq(r.pgtt, VTD_PGTT_SECOND_STAGE);
    /* upper half of the root entry */
    expect_ok(w, rq(0x0288, 0x10000010, true), 0x20000010, 4096);
    /* first stage */
    expect_ok(w, prq(S_SID, 1, 0x700000001234ull, true), 0x30001234, 4096);
    expect_ok(w, prq(S_SID, 1, 0x700000234567ull, false), 0x30234567, 2u << 20);
    expect_ok(w, prq(S_SID, 1, 0xffff800000000010ull, false), 0x30004010, 4096);
    r = go(w, prq(S_SID, 1, 0x700000001000ull, false));
    ck_assert_uint_eq(r.did, 8);
    ck_assert_uint_eq(r.pgtt, VTD_PGTT_FIRST_STAGE);
    /* supervisor access to a supervisor page (SRE=1), WPE=0 lets it write R/O */
    VtdXlateRequest s = prq(S_SID, 1, 0x700000002000ull, true);
    s.priv = true;
    expect_ok(w, s, 0x30002000, 4096);
    s.addr = 0x700000003000ull;
    expect_ok(w, s, 0x30003000, 4096);
    /* nested: FS output 0x30001000 -> SS 2M page at 0x50000000 */
    expect_ok(w, prq(S_SID, 2, 0x700000001234ull, true), 0x50001234, 4096);
    /* page size of a nested translation is the smaller of the two leaves */
    expect_ok(w, prq(S_SID, 2, 0x700000001234ull, false), 0x50001234, 4096);
    /* pass-through */
    r = go(w, prq(S_SID, 3, 0xabcdef000, true));
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert_uint_eq(r.out_addr, 0xabcdef000);
    ck_assert_uint_eq(r.did, 10);
    ck_assert_uint_eq(r.pgtt, VTD_PGTT_PASS_THROUGH);
    w_free(w);
}
END_TEST

START_TEST(test_sm_accessed_dirty)
{
    W *w = sm_world();
    uint64_t leaf = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000001000ull, 1);
    uint64_t top = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000001000ull, 4);
    ck_assert_uint_eq(ref_rd64(w->m, leaf) & (FA | FD), 0);
    expect_ok(w, prq(S_SID, 1, 0x700000001000ull, false), 0x30001000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, leaf) & (FA | FD), FA);
    ck_assert_uint_eq(ref_rd64(w->m, top) & FA, FA);
    /* a write through the IOTLB entry cached clean must still set D */
    expect_ok(w, prq(S_SID, 1, 0x700000001000ull, true), 0x30001000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, leaf) & (FA | FD), FA | FD);
    /* with EAFE (PASID entry bit 135) EA (bit 10) is set with A, on every level walked */
    uint64_t big = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000200000ull, 2);
    w->cfg.ecap = vtd_ecap_set_EAFS(w->cfg.ecap, 1);
    w_apply(w);
    ref_wr64(w->m, w->pe[1] + 16, ref_rd64(w->m, w->pe[1] + 16) | (1u << 7));
    vtd_xlate_flush_all(w->x);
    expect_ok(w, prq(S_SID, 1, 0x700000200000ull, false), 0x30200000, 2u << 20);
    ck_assert_uint_eq(ref_rd64(w->m, big) & (FA | (1u << 10)), FA | (1u << 10));
    ck_assert_uint_eq(ref_rd64(w->m, top) & (1u << 10), 1u << 10);
    ck_assert_uint_eq(ref_rd64(w->m, leaf) & (1u << 10), 0);   /* not walked since */
    /* second stage A/D only with SSADE */
    uint64_t sleaf = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x10000000, 1);
    expect_ok(w, rq(S_SID, 0x10000000, true), 0x20000000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, sleaf) & 0x300, 0);
    ref_wr64(w->m, w->pe[0], ref_rd64(w->m, w->pe[0]) | (1u << 9));
    vtd_xlate_flush_all(w->x);
    expect_ok(w, rq(S_SID, 0x10000000, false), 0x20000000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, sleaf) & 0x300, 0x100);
    expect_ok(w, rq(S_SID, 0x10000000, true), 0x20000000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, sleaf) & 0x300, 0x300);
    w_free(w);
}
END_TEST

START_TEST(test_sm_five_level_and_1g)
{
    W *w = sm_world();
    uint64_t root5 = 0;
    ref_map(w->m, REF_FMT_FS, &root5, 5, 0x00ff000000000000ull, 0x40000000, 3,
            FP | FRW | FUS, FP | FRW | FUS);
    uint64_t pe[8] = {1 | (1u << 6), 12, root5 | (1u << 2), 0, 0, 0, 0, 0};
    ref_set_pasid_entry(w->m, w->dir, 5, pe);
    expect_ok(w, prq(S_SID, 5, 0x00ff000012345678ull, false), 0x52345678, 1u << 30);
    /* 4-level canonical rule would reject this address; 5-level accepts it */
    expect_fault(w, prq(S_SID, 1, 0x00ff000012345678ull, false), 0x80, true);
    /* FS1GP=0 makes the 1G leaf reserved; FS5LP=0 makes FSPM=1 invalid */
    w->cfg.cap = vtd_cap_set_FS1GP(w->cfg.cap, 0);
    w_apply(w);
    vtd_xlate_flush_all(w->x);
    expect_fault(w, prq(S_SID, 5, 0x00ff000012345678ull, false), 0x72, true);
    w->cfg.cap = vtd_cap_set_FS5LP(w->cfg.cap, 0);
    w_apply(w);
    vtd_xlate_flush_all(w->x);
    expect_fault(w, prq(S_SID, 5, 0x00ff000012345678ull, false), 0x5B, true);
    w_free(w);
}
END_TEST

/* One scalable-mode fault case: mutate a fresh world, send one request. */
typedef struct SmCase {
    const char *name;
    void (*mutate)(W *w);
    uint16_t sid;
    bool pasid_present;
    uint32_t pasid;
    uint64_t addr;
    bool write, priv, exec;
    VtdAt at;
    unsigned reason;
    bool record;
} SmCase;

static void m_none(W *w) { (void)w; }
static void m_rta_hole(W *w) { w->cfg.rtaddr = HOLE | (1u << 10); }
static void m_root_lp0(W *w) { ref_set_root(w->m, w->rta, 2, w->sctp_lo, w->sctp_hi | 1); }
static void m_root_up_rsvd(W *w) { ref_set_root(w->m, w->rta, 2, w->sctp_lo | 1, w->sctp_hi | 1 | 4); }
static void m_ctx_hole(W *w) { ref_set_root(w->m, w->rta, 2, HOLE | 1, w->sctp_hi | 1); }
static void m_ctx_np(W *w) { ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) & ~1ull); }
static void m_ctx_rsvd(W *w) { ref_wr64(w->m, w->sctx + 16, 1); }
static void m_ctx_rsvd_fpd(W *w) { ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) | 2 | 0x20); }
static void m_no_dt(W *w) { w->cfg.ecap = vtd_ecap_set_DT(w->cfg.ecap, 0); }
static void m_dte0(W *w) { ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) & ~4ull); }
static void m_paside0(W *w) { ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) & ~8ull); }
static void m_rid_pasid(W *w) { ref_wr64(w->m, w->sctx + 8, 0x3000); }
static void m_no_rps(W *w) { ref_wr64(w->m, w->sctx + 8, 1); w->cfg.ecap = vtd_ecap_set_RPS(w->cfg.ecap, 0); }
static void m_dir_hole(W *w) { ref_wr64(w->m, w->sctx, HOLE | 1 | 4 | 8); }
static void m_dir_rsvd(W *w) { ref_wr64(w->m, w->dir, ref_rd64(w->m, w->dir) | 4); }
static void m_dir_fpd(W *w) { ref_wr64(w->m, w->dir, ref_rd64(w->m, w->dir) | 2); }
static void m_pt_hole(W *w) { ref_wr64(w->m, w->dir, HOLE | 1); }
static void m_pe_rsvd(W *w) { ref_wr64(w->m, w->pe[1] + 24, 1); }
static void m_pe_rsvd_bit10(W *w) { ref_wr64(w->m, w->pe[0], ref_rd64(w->m, w->pe[0]) | 0x400); }
static void m_pe_pgtt5(W *w) { ref_wr64(w->m, w->pe[0], (ref_rd64(w->m, w->pe[0]) & ~0x1c0ull) | (5u << 6)); }
static void m_pe_aw4(W *w) { w->cfg.cap = vtd_cap_set_SAGAW(w->cfg.cap, VTD_SAGAW_39); }
static void m_no_nest(W *w) { w->cfg.ecap = vtd_ecap_set_NEST(w->cfg.ecap, 0); }
static void m_pe_fpd(W *w) { ref_wr64(w->m, w->pe[1], ref_rd64(w->m, w->pe[1]) | 2); }
static void m_pe_no_ere_sre(W *w) { ref_wr64(w->m, w->pe[1] + 16, w->fs_root); }
static void m_pe_wpe(W *w) { ref_wr64(w->m, w->pe[1] + 16, w->fs_root | 3 | 16); }
static void m_fsptptr_hole(W *w) { ref_wr64(w->m, w->pe[1] + 16, HOLE | 3); }
static void m_fs_mid_hole(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000001000ull, 3);
    ref_wr64(w->m, a, HOLE | FP | FRW | FUS);
}
static void m_fs_pml4_ps(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000001000ull, 4);
    ref_wr64(w->m, a, ref_rd64(w->m, a) | (1ull << 7));
}
static void m_fs_above_haw(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_FS, w->fs_root, 4, 0x700000001000ull, 1);
    ref_wr64(w->m, a, ref_rd64(w->m, a) | (1ull << 45));
}
static void m_ss_mid_hole(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x10000000, 2);
    ref_wr64(w->m, a, HOLE | SRW);
}
static void m_ssptptr_hole(W *w) { ref_wr64(w->m, w->pe[0], HOLE | 1 | (2u << 2) | (2u << 6)); }
static void m_ss_rsvd(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_SS, w->ss_root, 4, 0x10000000, 4);
    ref_wr64(w->m, a, ref_rd64(w->m, a) | (1ull << 7));
}
static void m_nested_aw1(W *w)
{
    /* SS of PASID 2 only 39 bits wide, FS root moved above 2^39 */
    ref_wr64(w->m, w->pe[2], (ref_rd64(w->m, w->pe[2]) & ~0x1cull) | (1u << 2));
    ref_wr64(w->m, w->pe[2] + 16, (1ull << 39) | 3);
}
static void m_nested_root_wo(W *w)
{
    /* the 1G identity page holding the FS root becomes write-only */
    uint64_t a = ref_entry_addr(w->m, REF_FMT_SS, w->ss_id_root, 4, w->nfs_root, 3);
    ref_wr64(w->m, a, (ref_rd64(w->m, a) & ~3ull) | SW);
}
static void m_nested_mid_wo(W *w)
{
    /* move the FS PML4 -> PDPT pointer to an alias page whose SS mapping is write-only */
    uint64_t pml4e = ref_entry_addr(w->m, REF_FMT_FS, w->nfs_root, 4, 0x700000001000ull, 4);
    uint64_t e = ref_rd64(w->m, pml4e);
    uint64_t alias = 0x2000000000ull;  /* GPA outside the identity map */
    ref_map(w->m, REF_FMT_SS, &w->ss_id_root, 4, alias, e & ~0xfffull, 1, SW, SRW);
    ref_wr64(w->m, pml4e, alias | (e & 0xfff));
}
static void m_nested_fs_ro(W *w)
{
    uint64_t a = ref_entry_addr(w->m, REF_FMT_SS, w->ss_id_root, 4, w->nfs_root, 3);
    ref_wr64(w->m, a, (ref_rd64(w->m, a) & ~3ull) | SR);
}
static void m_pt_intr(W *w) { (void)w; }
static void m_no_smts(W *w) { w->cfg.ecap = vtd_ecap_set_SMTS(w->cfg.ecap, 0); }
static void m_rid_priv(W *w) { ref_wr64(w->m, w->sctx + 8, (1u << 20) | 1); }

#define PAS(n) true, (n)
#define NOP false, 0
static const SmCase sm_cases[] = {
    {"rta-access", m_rta_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x38, true},
    {"root-np", m_root_lp0, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x39, true},
    {"root-rsvd", m_root_up_rsvd, 0x0288, NOP, 0x10000000, 0, 0, 0, 0, 0x3A, true},
    {"ctx-access", m_ctx_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x40, true},
    {"ctx-np", m_ctx_np, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x41, true},
    {"ctx-np-other-fn", m_none, 0x0209, NOP, 0x10000000, 0, 0, 0, 0, 0x41, true},
    {"ctx-rsvd", m_ctx_rsvd, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x42, true},
    {"ctx-rsvd-fpd", m_ctx_rsvd_fpd, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x42, true},
    {"ctx-invalid", m_no_dt, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x43, true},
    {"dte-clear", m_dte0, S_SID, NOP, 0x10000000, 0, 0, 0, VTD_AT_TRANSLATION, 0x44, true},
    {"paside-clear", m_paside0, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x45, true},
    {"pasid-beyond-pdts", m_none, S_SID, PAS(0x2000), 0x1000, 0, 0, 0, 0, 0x46, true},
    {"rid-pasid-beyond", m_rid_pasid, S_SID, NOP, 0x1000, 0, 0, 0, 0, 0x48, true},
    {"rid-pasid-no-rps", m_no_rps, S_SID, NOP, 0x1000, 0, 0, 0, 0, 0x42, true},
    {"pdir-access", m_dir_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x50, true},
    {"pdir-np", m_none, S_SID, PAS(64), 0x10000000, 0, 0, 0, 0, 0x51, true},
    {"pdir-rsvd", m_dir_rsvd, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x52, true},
    {"ptable-access", m_pt_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x58, true},
    {"pe-np", m_none, S_SID, PAS(9), 0x10000000, 0, 0, 0, 0, 0x59, true},
    {"pe-np-dir-fpd", m_dir_fpd, S_SID, PAS(9), 0x10000000, 0, 0, 0, 0, 0x59, false},
    {"pe-rsvd", m_pe_rsvd, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x5A, true},
    {"pe-rsvd-bit10", m_pe_rsvd_bit10, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x5A, true},
    {"pe-pgtt", m_pe_pgtt5, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x5B, true},
    {"pe-aw", m_pe_aw4, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x5B, true},
    {"pe-nested-unsupported", m_no_nest, S_SID, PAS(2), 0x700000001000ull, 0, 0, 0, 0, 0x5B, true},
    {"ere-clear", m_pe_no_ere_sre, S_SID, PAS(1), 0x700000001000ull, 0, 0, 1, 0, 0x5C, true},
    {"sre-clear", m_pe_no_ere_sre, S_SID, PAS(1), 0x700000001000ull, 0, 1, 0, 0, 0x5D, true},
    {"fs-access", m_fs_mid_hole, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x70, true},
    {"fs-np", m_none, S_SID, PAS(1), 0x700000009000ull, 0, 0, 0, 0, 0x71, true},
    {"fs-np-fpd", m_pe_fpd, S_SID, PAS(1), 0x700000009000ull, 0, 0, 0, 0, 0x71, false},
    {"fs-rsvd-ps", m_fs_pml4_ps, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x72, true},
    {"fs-rsvd-haw", m_fs_above_haw, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x72, true},
    {"fsptptr", m_fsptptr_hole, S_SID, PAS(1), 0x700000001000ull, 0, 0, 0, 0, 0x73, true},
    {"nested-fs-beyond", m_nested_aw1, S_SID, PAS(2), 0x700000001000ull, 0, 0, 0, 0, 0x74, true},
    {"nested-root-read", m_nested_root_wo, S_SID, PAS(2), 0x700000001000ull, 0, 0, 0, 0, 0x75, true},
    {"nested-table-read", m_nested_mid_wo, S_SID, PAS(2), 0x700000001000ull, 0, 0, 0, 0, 0x76, true},
    {"nested-ad-write", m_nested_fs_ro, S_SID, PAS(2), 0x700000001000ull, 0, 0, 0, 0, 0x77, true},
    {"ss-access", m_ss_mid_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x78, true},
    {"ss-np", m_none, S_SID, NOP, 0x10005000, 0, 0, 0, 0, 0x79, true},
    {"ss-np-nested-out", m_none, S_SID, PAS(2), 0x700000200000ull, 0, 0, 0, 0, 0x79, true},
    {"ss-rsvd", m_ss_rsvd, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x7A, true},
    {"ssptptr", m_ssptptr_hole, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x7B, true},
    {"non-canonical", m_none, S_SID, PAS(1), 0x800000000000ull, 0, 0, 0, 0, 0x80, true},
    {"user-to-supervisor", m_none, S_SID, PAS(1), 0x700000002000ull, 0, 0, 0, 0, 0x81, true},
    {"rid-priv-supervisor-ok", m_rid_priv, S_SID, NOP, 0x700000002000ull, 0, 0, 0, 0, 0, true},
    {"exec-xd", m_none, S_SID, PAS(1), 0x700000003000ull, 0, 0, 1, 0, 0x82, true},
    {"pt-beyond-haw", m_none, S_SID, PAS(3), 1ull << 40, 0, 0, 0, 0, 0x83, true},
    {"ss-beyond-aw", m_none, S_SID, NOP, 1ull << 48, 0, 0, 0, 0, 0x84, true},
    {"fs-write-ro", m_none, S_SID, PAS(1), 0x700000003000ull, 1, 0, 0, 0, 0x85, true},
    {"fs-write-wpe", m_pe_wpe, S_SID, PAS(1), 0x700000003000ull, 1, 1, 0, 0, 0x85, true},
    {"ss-write-ro", m_none, S_SID, NOP, 0x10001000, 1, 0, 0, 0, 0x85, true},
    {"ss-read-wo", m_none, S_SID, NOP, 0x10002000, 0, 0, 0, 0, 0x86, true},
    {"ss-out-intr", m_none, S_SID, NOP, 0x10003000, 0, 0, 0, 0, 0x87, true},
    {"pt-pasid-intr", m_pt_intr, S_SID, PAS(3), 0xFEE00000, 1, 0, 0, 0, 0x87, true},
    {"no-smts", m_no_smts, S_SID, NOP, 0x10000000, 0, 0, 0, 0, 0x30, true},
};

START_TEST(test_sm_fault)
{
    const SmCase *c = &sm_cases[_i];
    W *w = sm_world();
    c->mutate(w);
    w_apply(w);
    VtdXlateRequest r = rq(c->sid, c->addr, c->write);
    r.pasid_present = c->pasid_present;
    r.pasid = c->pasid;
    r.priv = c->priv;
    r.exec = c->exec;
    r.at = c->at;
    VtdXlateResult res = go(w, r);
    if (c->reason == 0) {
        ck_assert_msg(res.status == VTD_XLATE_OK, "%s: status %d reason 0x%x", c->name,
                      res.status, res.fault_reason);
    } else {
        ck_assert_msg(res.status == VTD_XLATE_FAULT && res.fault_reason == c->reason,
                      "%s: status %d reason 0x%x, expected 0x%x", c->name, res.status,
                      res.fault_reason, c->reason);
        ck_assert_msg(res.fault_record == c->record, "%s: record %d", c->name,
                      res.fault_record);
    }
    w_free(w);
}
END_TEST

START_TEST(test_sm_ats)
{
    W *w = sm_world();
    VtdXlateRequest t = prq(S_SID, 1, 0x700000003000ull, false);
    t.at = VTD_AT_TRANSLATION;
    VtdXlateResult r = go(w, t);
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert_uint_eq(r.out_addr, 0x30003000);
    ck_assert_uint_eq(r.perm, VTD_PERM_R);                    /* user, RO, XD */
    t.addr = 0x700000001000ull;
    t.ats_nw = true;
    r = go(w, t);
    ck_assert_uint_eq(r.perm, VTD_PERM_R | VTD_PERM_X);       /* NW drops W */
    t.ats_nw = false;
    t.priv = true;
    r = go(w, t);
    ck_assert_uint_eq(r.perm, VTD_PERM_R | VTD_PERM_W | VTD_PERM_X | VTD_PERM_PRIV);
    /* U/S=0 page for a user translation request: no access, no fault */
    t.priv = false;
    t.addr = 0x700000002000ull;
    r = go(w, t);
    ck_assert_int_eq(r.status, VTD_XLATE_OK);
    ck_assert_uint_eq(r.perm, 0);
    /* translated request with DTE=1 passes through */
    VtdXlateRequest tr = rq(S_SID, 0x1234000, true);
    tr.at = VTD_AT_TRANSLATED;
    expect_ok(w, tr, 0x1234000, 4096);
    w_free(w);
}
END_TEST

/*
 * Nested translation whose first-stage tables sit in a read-only
 * second-stage page: reads work while every A flag is already set; a write
 * needing the D flag must fault 0x77 even when the walk starts from a
 * paging-structure-cache hit.  With SSADE, A/D writes to first-stage
 * entries set D in the second-stage entry mapping the table page.
 */
START_TEST(test_nested_ad_through_second_stage)
{
    W *w = sm_world();
    uint64_t va = 0x700000001000ull;
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        uint64_t a = ref_entry_addr(w->m, REF_FMT_FS, w->nfs_root, 4, va, lvl);
        ref_wr64(w->m, a, ref_rd64(w->m, a) | FA);
    }
    uint64_t gb = ref_entry_addr(w->m, REF_FMT_SS, w->ss_id_root, 4, w->nfs_root, 3);
    ref_wr64(w->m, gb, (ref_rd64(w->m, gb) & ~3ull) | SR);
    w_apply(w);
    expect_ok(w, prq(S_SID, 2, va, false), 0x50001000, 4096);
    ck_assert_uint_gt(vtd_xlate_cache_occupancy(w->x, VTD_CACHE_PSC_PDE), 0);
    expect_fault(w, prq(S_SID, 2, va, true), 0x77, true);
    /* writable again, with SSADE: the D update marks the SS entry dirty */
    ref_wr64(w->m, gb, (ref_rd64(w->m, gb) & ~3ull) | SRW);
    ref_wr64(w->m, w->pe[2], ref_rd64(w->m, w->pe[2]) | (1u << 9));
    w_apply(w);
    expect_ok(w, prq(S_SID, 2, va, false), 0x50001000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, gb) & 0x300, 0x100);
    expect_ok(w, prq(S_SID, 2, va, true), 0x50001000, 4096);
    ck_assert_uint_eq(ref_rd64(w->m, gb) & 0x300, 0x300);
    uint64_t leaf = ref_entry_addr(w->m, REF_FMT_FS, w->nfs_root, 4, va, 1);
    ck_assert_uint_eq(ref_rd64(w->m, leaf) & (FA | FD), FA | FD);
    w_free(w);
}
END_TEST

START_TEST(test_fault_struct_and_counts)
{
    W *w = legacy_world();
    VtdXlateResult r = go(w, rq(0x0508, 0x10000000, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_ROOT);
    ck_assert_str_eq(vtd_fault_struct_name(r.fault_struct), "root");
    r = go(w, rq(0x0109, 0x10000000, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_CONTEXT);
    r = go(w, rq(L_SID, 0x10005000, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_SS_PTE);
    r = go(w, rq(L_SID, 1ull << 48, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_REQUEST);
    /* a cold 4-level walk: 2 root + 2 context + 4 paging reads, no writes */
    vtd_xlate_flush_all(w->x);
    r = go(w, rq(L_SID, 0x10000000, true));
    ck_assert_uint_eq(r.mem_reads, 8);
    ck_assert_uint_eq(r.mem_writes, 0);
    ck_assert_uint_eq(r.cache_miss, (1u << VTD_CACHE_CONTEXT) | (1u << VTD_CACHE_IOTLB) |
                                        (1u << VTD_CACHE_PSC_PDE) | (1u << VTD_CACHE_PSC_PDPE) |
                                        (1u << VTD_CACHE_PSC_PML4));
    /* the neighbouring page: context hit, IOTLB miss, PDE hit, one read */
    r = go(w, rq(L_SID, 0x10001000, false));
    ck_assert_uint_eq(r.mem_reads, 1);
    ck_assert_uint_eq(r.cache_hit, (1u << VTD_CACHE_CONTEXT) | (1u << VTD_CACHE_PSC_PDE));
    ck_assert_uint_eq(r.cache_miss, 1u << VTD_CACHE_IOTLB);
    /* the same page again: IOTLB hit, no memory access at all */
    r = go(w, rq(L_SID, 0x10001008, false));
    ck_assert_uint_eq(r.mem_reads, 0);
    ck_assert_uint_eq(r.cache_hit, (1u << VTD_CACHE_CONTEXT) | (1u << VTD_CACHE_IOTLB));
    w_free(w);

    w = sm_world();
    r = go(w, prq(S_SID, 64, 0x1000, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_PASID_DIR);
    r = go(w, prq(S_SID, 9, 0x1000, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_PASID_ENTRY);
    r = go(w, prq(S_SID, 1, 0x700000009000ull, false));
    ck_assert_int_eq(r.fault_struct, VTD_FSTRUCT_FS_PTE);
    ck_assert_uint_eq(r.fault_reason, 0x71);
    /* TE=0: interrupt window still goes to interrupt remapping */
    w->cfg.te = false;
    w_apply(w);
    ck_assert_int_eq(go(w, rq(S_SID, 0xFEE00000, true)).status, VTD_XLATE_INTERRUPT);
    w_free(w);
}
END_TEST

START_TEST(test_widths_and_snoop)
{
    W *w = legacy_world();
    /* MGAW narrower than the context's AGAW bounds the input (0x4) */
    expect_ok(w, rq(L_SID, 0x81234567, false), 0xC1234567, 1u << 30);
    w->cfg.cap = vtd_cap_set_MGAW(w->cfg.cap, 38);         /* 39-bit guest width */
    w_apply(w);
    expect_fault(w, rq(L_SID, 1ull << 39, false), 0x4, true);
    expect_ok(w, rq(L_SID, 0x81234567, false), 0xC1234567, 1u << 30);
    /* AW=1 (3-level, 39-bit) with SAGAW lacking 39-bit support is invalid */
    w->cfg.cap = vtd_cap_set_SAGAW(w->cfg.cap, VTD_SAGAW_48);
    ref_set_context(w->m, w->ctp, 0x30, w->ss_root | 1, 1 | (5u << 8));
    w_apply(w);
    expect_fault(w, rq(0x0130, 0x1000, false), 0x3, true);
    w_free(w);

    w = sm_world();
    VtdXlateResult r = go(w, prq(S_SID, 3, 0x1000, false));
    ck_assert(!r.snoop);
    ref_wr64(w->m, w->pe[3] + 8, ref_rd64(w->m, w->pe[3] + 8) | (1ull << 24));   /* PGSNP */
    ref_wr64(w->m, w->pe[1] + 8, ref_rd64(w->m, w->pe[1] + 8) | (1ull << 24));
    w_apply(w);
    r = go(w, prq(S_SID, 3, 0x1000, false));
    ck_assert(r.snoop);
    r = go(w, prq(S_SID, 1, 0x700000001000ull, false));
    ck_assert(r.snoop);
    ck_assert(!r.global);
    /* AW of a second-stage PASID entry bounds the input (0x84) */
    ref_wr64(w->m, w->pe[0], (ref_rd64(w->m, w->pe[0]) & ~0x1cull) | (1u << 2));
    w_apply(w);
    expect_fault(w, rq(S_SID, 1ull << 39, false), 0x84, true);
    w_free(w);
}
END_TEST

START_TEST(test_page_request_checks)
{
    W *w = sm_world();
    VtdXlateRequest r = prq(S_SID, 1, 0x700000001000ull, false);
    VtdXlateResult res;
    /* PRE=0 in the context entry */
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, 0x47);
    ck_assert(res.fault_record);
    /* PRE=1 but ECAP.PRS=0: invalid context programming */
    ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) | 0x10);
    w_apply(w);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, 0x43);
    w->cfg.ecap = vtd_ecap_set_PRS(w->cfg.ecap, 1);
    w_apply(w);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_OK);
    ref_wr64(w->m, w->sctx, ref_rd64(w->m, w->sctx) & ~8ull);
    w_apply(w);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, 0x45);
    r.pasid_present = false;
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_OK);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &(VtdXlateRequest){.sid = 0x0300},
                                                  &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, 0x39);
    /* legacy root table: 0x32 */
    w->cfg.rtaddr = w->rta;
    w_apply(w);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_FAULT);
    ck_assert_uint_eq(res.fault_reason, 0x32);
    w->cfg.te = false;
    w_apply(w);
    ck_assert_int_eq(vtd_xlate_check_page_request(w->x, &r, &res), VTD_XLATE_UR);
    w_free(w);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Differential test against the reference walker                      */
/* ------------------------------------------------------------------ */

typedef struct Dom {
    uint16_t did;
    unsigned levels;
    uint64_t ss_root;
    bool ssade, pgsnp;
} Dom;

typedef struct Spc {          /* a (did, pasid) first-stage space */
    unsigned dom;
    uint32_t pasid;
    unsigned pgtt;            /* 1, 2, 3 or 4 */
    unsigned fs_levels;
    uint64_t fs_root;
    bool wpe;
    bool pre_a;               /* tables built with every A flag set */
} Spc;

#define NDOM 4
#define NSPC 8
#define NDEV 6
#define NHOT 48

typedef struct World {
    RefMem *a, *b;            /* engine memory, reference memory */
    VtdXlateConfig cfg;
    Dom dom[NDOM];
    Spc spc[NSPC];
    uint16_t sid[NDEV];
    uint64_t hot[NHOT];       /* input addresses likely to be mapped */
    uint64_t fs_hot[NHOT];
    unsigned nhot, nfs_hot;
} World;

static uint64_t rbits(GRand *g, unsigned n)
{
    uint64_t v = ((uint64_t)g_rand_int(g) << 32) | g_rand_int(g);
    return n >= 64 ? v : v & ((1ull << n) - 1);
}

static bool chance(GRand *g, unsigned pct)
{
    return g_rand_int_range(g, 0, 100) < (gint32)pct;
}

/* Random SS leaf/non-leaf bits: mostly RW, sometimes R, W, none, SNP, reserved */
static uint64_t rnd_ss_bits(GRand *g, bool leaf)
{
    uint64_t b = SRW;
    int k = g_rand_int_range(g, 0, 100);
    if (k < 8)
        b = SR;
    else if (k < 14)
        b = SW;
    else if (k < 17)
        b = 0;
    if (chance(g, 30))
        b |= SX;
    if (leaf && chance(g, 10))
        b |= 1ull << 11;
    if (leaf && chance(g, 10))
        b |= (uint64_t)g_rand_int_range(g, 0, 8) << 3 | (chance(g, 50) ? 0x40 : 0);
    if (chance(g, 2))
        b |= 1ull << 62;                     /* TM: reserved */
    return b;
}

static uint64_t rnd_fs_bits(GRand *g, bool leaf)
{
    uint64_t b = FP | FRW | FUS;
    if (chance(g, 10))
        b &= ~FRW;
    if (chance(g, 10))
        b &= ~FUS;
    if (chance(g, 4))
        b &= ~FP;
    if (chance(g, 15))
        b |= FXD;
    if (leaf && chance(g, 20))
        b |= 1ull << 8;                      /* G */
    if (chance(g, 40))
        b |= FA;
    if (leaf && chance(g, 5))
        b |= FD;
    if (chance(g, 2))
        b |= 1ull << 44;                     /* above HAW: reserved */
    return b;
}

static uint64_t rnd_out(GRand *g, unsigned leaf_level)
{
    uint64_t size = 1ull << (12 + 9 * (leaf_level - 1));
    uint64_t out;
    if (chance(g, 3))
        out = 0xFEE00000ull;                 /* interrupt range */
    else
        out = rbits(g, 35);
    return out & ~(size - 1);
}

static unsigned rnd_leaf_level(GRand *g)
{
    int k = g_rand_int_range(g, 0, 100);
    return k < 75 ? 1 : k < 93 ? 2 : 3;
}

static void world_build(World *wd, GRand *g, bool sm)
{
    RefMem *m = wd->a;
    wd->cfg.cap = cap_all();
    wd->cfg.ecap = ecap_all();
    wd->cfg.haw = 40;
    wd->cfg.te = true;
    uint64_t rta = ref_alloc_page(m);
    wd->cfg.rtaddr = rta | (sm ? 1u << 10 : 0);

    /* Identity SS region for nested first-stage tables lives at 4..8 GiB. */
    for (unsigned d = 0; d < NDOM; d++) {
        Dom *dm = &wd->dom[d];
        dm->did = (uint16_t)(d + 1);
        dm->levels = (unsigned)g_rand_int_range(g, 3, 6);
        dm->ssade = sm && chance(g, 50);
        dm->pgsnp = sm && chance(g, 30);
        for (uint64_t gb = 4; gb < 8; gb++)
            ref_map(m, REF_FMT_SS, &dm->ss_root, dm->levels, gb << 30, gb << 30, 3,
                    chance(g, 75) ? SRW : SR, SRW);
    }
    /* hot input addresses in a few clusters below 4 GiB (SS) */
    wd->nhot = 0;
    for (unsigned i = 0; i < NHOT; i++) {
        uint64_t base = (uint64_t)g_rand_int_range(g, 0, 4) << 30;
        wd->hot[wd->nhot++] = base + (rbits(g, 22) & ~0xfffull);
    }
    for (unsigned d = 0; d < NDOM; d++) {
        Dom *dm = &wd->dom[d];
        for (unsigned i = 0; i < NHOT; i++) {
            if (!chance(g, 70))
                continue;
            unsigned ll = rnd_leaf_level(g);
            uint64_t in = wd->hot[i];
            if (ll == 3 && in >= (4ull << 30))
                ll = 2;
            uint64_t ea = ref_entry_addr(m, REF_FMT_SS, dm->ss_root, dm->levels, in, ll);
            (void)ea;
            ref_map(m, REF_FMT_SS, &dm->ss_root, dm->levels, in, rnd_out(g, ll), ll,
                    rnd_ss_bits(g, true), rnd_ss_bits(g, false) | (chance(g, 90) ? SRW : 0));
        }
        /* sometimes a table pointer into a hole */
        if (chance(g, 30)) {
            uint64_t a = ref_entry_addr(m, REF_FMT_SS, dm->ss_root, dm->levels, wd->hot[0], 2);
            if (a && (ref_rd64(m, a) & 3) && !(ref_rd64(m, a) & 0x80))
                ref_wr64(m, a, HOLE | SRW);
        }
    }
    /* first-stage spaces */
    wd->nfs_hot = 0;
    for (unsigned i = 0; i < NHOT; i++) {
        uint64_t v = (rbits(g, 2) << 45) | (rbits(g, 24) << 12);
        if (chance(g, 20))
            v |= 0xffff800000000000ull;      /* upper canonical half */
        wd->fs_hot[wd->nfs_hot++] = v;
    }
    for (unsigned s = 0; s < NSPC; s++) {
        Spc *sp = &wd->spc[s];
        sp->dom = (unsigned)g_rand_int_range(g, 0, NDOM);
        sp->pasid = s == 0 ? 0 : (uint32_t)(s * 37 + (chance(g, 20) ? 4096 : 0));
        sp->pgtt = (unsigned)g_rand_int_range(g, 1, 5);
        sp->fs_levels = chance(g, 30) ? 5 : 4;
        sp->wpe = chance(g, 50);
        sp->pre_a = chance(g, 40);
        if (sp->pgtt != 1 && sp->pgtt != 3)
            continue;
        for (unsigned i = 0; i < NHOT; i++) {
            if (!chance(g, 70))
                continue;
            unsigned ll = rnd_leaf_level(g);
            uint64_t out = rnd_out(g, ll);
            if (sp->pgtt == 3) {
                /* output GPA: one of the SS hot addresses (mapped or not) */
                uint64_t size = 1ull << (12 + 9 * (ll - 1));
                out = wd->hot[g_rand_int_range(g, 0, NHOT)] & ~(size - 1);
            }
            uint64_t pa = sp->pre_a ? FA : 0;
            ref_map(m, REF_FMT_FS, &sp->fs_root, sp->fs_levels, wd->fs_hot[i], out, ll,
                    rnd_fs_bits(g, true) | pa,
                    rnd_fs_bits(g, false) | (chance(g, 90) ? FP : 0) | pa);
        }
        if (!sp->fs_root)
            sp->fs_root = ref_alloc_page(m);
    }
    /* devices: bus 1..2, random devfn (upper half included) */
    for (unsigned i = 0; i < NDEV; i++)
        wd->sid[i] = (uint16_t)((g_rand_int_range(g, 1, 3) << 8) | g_rand_int_range(g, 0, 256));
    uint64_t ctp[3][2] = {{0}};
    for (unsigned i = 0; i < NDEV; i++) {
        unsigned bus = wd->sid[i] >> 8, devfn = wd->sid[i] & 0xff;
        unsigned half = sm && devfn >= 128;
        if (!ctp[bus][half])
            ctp[bus][half] = ref_alloc_page(m);
        uint64_t lo = ctp[bus][0] ? ctp[bus][0] | 1 : 0;
        uint64_t hi = ctp[bus][1] ? ctp[bus][1] | 1 : 0;
        if (chance(g, 3))
            lo |= 1u << 5;                   /* reserved */
        ref_set_root(m, rta, bus, lo, sm ? hi : 0);
        Dom *dm = &wd->dom[g_rand_int_range(g, 0, NDOM)];
        if (!sm) {
            unsigned tt = chance(g, 80) ? 0 : chance(g, 50) ? 1 : 2;
            if (chance(g, 3))
                tt = 3;
            uint64_t clo = dm->ss_root | (tt << 2) | (chance(g, 95) ? 1 : 0) |
                           (chance(g, 15) ? 2 : 0);
            uint64_t chi = (dm->levels - 2) | ((uint64_t)dm->did << 8);
            if (chance(g, 3))
                chi |= 0x80;
            ref_set_context(m, ctp[bus][half], devfn, clo, chi);
        } else {
            uint64_t dir = ref_alloc_page(m);
            uint64_t v[4] = {dir | (chance(g, 95) ? 1 : 0) | (chance(g, 15) ? 2 : 0) |
                                 (chance(g, 85) ? 4 : 0) | (chance(g, 90) ? 8 : 0) |
                                 ((uint64_t)g_rand_int_range(g, 0, 2) << 9),
                             0, 0, 0};
            Spc *rid = &wd->spc[g_rand_int_range(g, 0, NSPC)];
            v[1] = rid->pasid | (chance(g, 20) ? 1u << 20 : 0);
            if (chance(g, 3))
                v[2] = 1;
            ref_set_sm_context(m, ctp[bus][half], devfn, v);
            for (unsigned s = 0; s < NSPC; s++) {
                Spc *sp = &wd->spc[s];
                if (!chance(g, 80) && sp != rid)
                    continue;
                Dom *sd = &wd->dom[sp->dom];
                uint64_t pe[8] = {0};
                pe[0] = 1 | ((uint64_t)(sd->levels - 2) << 2) | ((uint64_t)sp->pgtt << 6) |
                        (sd->ssade ? 1u << 9 : 0) | sd->ss_root | (chance(g, 10) ? 2 : 0);
                pe[1] = sd->did | (sd->pgsnp ? 1ull << 24 : 0);
                pe[2] = sp->fs_root | (chance(g, 80) ? 1 : 0) | (chance(g, 80) ? 2 : 0) |
                        ((uint64_t)(sp->fs_levels == 5) << 2) | (sp->wpe ? 16 : 0);
                if (chance(g, 2))
                    pe[3] = 1;
                if (chance(g, 2))
                    pe[0] = (pe[0] & ~0x1c0ull) | (7u << 6);
                if (chance(g, 3))
                    pe[0] &= ~1ull;
                ref_set_pasid_entry(m, dir, sp->pasid, pe);
            }
        }
    }
    /* clone into the reference memory */
    for (uint64_t a = ALLOC_BASE; a < m->next; a += 4096) {
        uint8_t buf[4096];
        physmem_read(m->pm, a, buf, sizeof(buf));
        physmem_write(wd->b->pm, a, buf, sizeof(buf));
    }
    wd->b->next = m->next;
}

static VtdXlateRequest rnd_req(World *wd, GRand *g, bool sm)
{
    VtdXlateRequest r = {0};
    r.sid = chance(g, 97) ? wd->sid[g_rand_int_range(g, 0, NDEV)]
                          : (uint16_t)g_rand_int_range(g, 0, 0x400);
    r.pasid_present = sm ? chance(g, 60) : chance(g, 2);
    if (r.pasid_present)
        r.pasid = chance(g, 95) ? wd->spc[g_rand_int_range(g, 0, NSPC)].pasid
                                : (uint32_t)rbits(g, 20);
    r.priv = chance(g, 30);
    r.exec = chance(g, 15);
    r.write = chance(g, 50);
    int k = g_rand_int_range(g, 0, 100);
    if (k < 85)
        r.at = VTD_AT_UNTRANSLATED;
    else if (k < 95)
        r.at = VTD_AT_TRANSLATION;
    else
        r.at = VTD_AT_TRANSLATED;
    r.ats_nw = r.at == VTD_AT_TRANSLATION && chance(g, 30);
    r.len = (uint64_t)g_rand_int_range(g, 1, 9);
    k = g_rand_int_range(g, 0, 100);
    if (k < 45)
        r.addr = wd->hot[g_rand_int_range(g, 0, NHOT)] + rbits(g, 12);
    else if (k < 85)
        r.addr = wd->fs_hot[g_rand_int_range(g, 0, NHOT)] + rbits(g, 12);
    else if (k < 90)
        r.addr = 0xFEE00000ull + rbits(g, 20);
    else if (k < 95)
        r.addr = rbits(g, 64);
    else
        r.addr = rbits(g, 40) + ((uint64_t)g_rand_int_range(g, 0, 4) << 30);
    r.addr &= ~7ull;
    if ((r.addr & 0xfff) + r.len > 4096)
        r.addr &= ~0xfffull;
    return r;
}

static VtdCacheParams small_caches(void)
{
    VtdCacheParams p;
    vtd_cache_params_default(&p);
    p.cache[VTD_CACHE_CONTEXT] = (VtdCacheGeom){4, 2, VTD_REPL_LRU, 0};
    p.cache[VTD_CACHE_PASID] = (VtdCacheGeom){8, 0, VTD_REPL_FIFO, 0};
    p.cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){32, 4, VTD_REPL_RANDOM, 7};
    for (int i = VTD_CACHE_PSC_PML5; i <= VTD_CACHE_PSC_PDE; i++)
        p.cache[i] = (VtdCacheGeom){8, 2, VTD_REPL_LRU, 0};
    return p;
}

/* Runs one seed; returns the number of mismatching requests. */
static unsigned reasons_seen[256];

static unsigned distinct_reasons(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < 256; i++)
        n += reasons_seen[i] != 0;
    return n;
}

static unsigned diff_run(unsigned seed, bool sm, unsigned bugs, unsigned nreq,
                         unsigned *nfaults, unsigned *nok)
{
    GRand *g = g_rand_new_with_seed(seed);
    World wd;
    memset(&wd, 0, sizeof(wd));
    wd.a = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    wd.b = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
    world_build(&wd, g, sm);
    VtdCacheParams p = small_caches();
    VtdXlate *x = vtd_xlate_new(&p, wd.a->as, NULL);
    ck_assert_ptr_nonnull(x);
    vtd_xlate_set_config(x, &wd.cfg);
    unsigned bad = 0;
    for (unsigned i = 0; i < nreq; i++) {
        VtdXlateRequest r = rnd_req(&wd, g, sm);
        VtdXlateResult e, f;
        vtd_xlate_translate(x, &r, &e);
        ref_walk_translate(wd.b->as, &wd.cfg, &r, &f, bugs);
        bool same = e.status == f.status;
        if (same && e.status == VTD_XLATE_OK)
            same = e.out_addr == f.out_addr && e.page_size == f.page_size &&
                   e.perm == f.perm && e.did == f.did && e.pgtt == f.pgtt &&
                   e.snoop == f.snoop && e.global == f.global && e.emt == f.emt &&
                   e.ipat == f.ipat;
        if (same && e.status == VTD_XLATE_FAULT)
            same = e.fault_reason == f.fault_reason && e.fault_record == f.fault_record &&
                   e.fault_addr == f.fault_addr;
        if (!same) {
            if (!bugs && bad < 5)
                fprintf(stderr,
                        "seed %u req %u sid %04x pasid %d:%05x at %d w%d p%d x%d addr %016llx: "
                        "engine st %d fr 0x%x out %llx perm %x | ref st %d fr 0x%x out %llx "
                        "perm %x\n",
                        seed, i, r.sid, r.pasid_present, r.pasid, r.at, r.write, r.priv,
                        r.exec, (unsigned long long)r.addr, e.status, e.fault_reason,
                        (unsigned long long)e.out_addr, e.perm, f.status, f.fault_reason,
                        (unsigned long long)f.out_addr, f.perm);
            bad++;
        }
        if (e.status == VTD_XLATE_FAULT) {
            (*nfaults)++;
            reasons_seen[e.fault_reason]++;
        }
        if (e.status == VTD_XLATE_OK)
            (*nok)++;
        /* invalidations never change results while tables are static */
        if (chance(g, 2)) {
            switch (g_rand_int_range(g, 0, 6)) {
            case 0: vtd_xlate_inv_iotlb_domain(x, (uint16_t)g_rand_int_range(g, 1, 5)); break;
            case 1: vtd_xlate_inv_context_global(x); break;
            case 2: vtd_xlate_inv_pasid_global(x); break;
            case 3: vtd_xlate_inv_iotlb_page(x, 1, r.addr, 0, chance(g, 50)); break;
            case 4: vtd_xlate_inv_piotlb_pasid(x, e.did, r.pasid); break;
            default: vtd_xlate_inv_iotlb_global(x); break;
            }
        }
    }
    /* A/D updates must have reached memory identically */
    if (!bugs) {
        for (uint64_t a = ALLOC_BASE; a < wd.a->next; a += 8) {
            uint64_t va = ref_rd64(wd.a, a), vb = ref_rd64(wd.b, a);
            if (va != vb) {
                fprintf(stderr, "seed %u: memory differs at %llx: %llx vs %llx\n", seed,
                        (unsigned long long)a, (unsigned long long)va, (unsigned long long)vb);
                bad++;
                break;
            }
        }
    }
    vtd_xlate_free(x);
    ref_mem_free(wd.a);
    ref_mem_free(wd.b);
    g_rand_free(g);
    return bad;
}

START_TEST(test_differential_legacy)
{
    unsigned nf = 0, nok = 0, bad = 0;
    memset(reasons_seen, 0, sizeof(reasons_seen));
    for (unsigned seed = 1; seed <= 12; seed++)
        bad += diff_run(seed, false, REF_BUG_NONE, 3000, &nf, &nok);
    ck_assert_uint_eq(bad, 0);
    if (getenv("VTD_DIFF_VERBOSE"))
        for (unsigned i = 0; i < 256; i++)
            if (reasons_seen[i])
                fprintf(stderr, "legacy reason 0x%02x: %u\n", i, reasons_seen[i]);
    ck_assert_uint_ge(distinct_reasons(), 12);
    /* the generator must exercise both outcomes substantially */
    ck_assert_uint_gt(nf, 3000);
    ck_assert_uint_gt(nok, 3000);
}
END_TEST

START_TEST(test_differential_scalable)
{
    unsigned nf = 0, nok = 0, bad = 0;
    memset(reasons_seen, 0, sizeof(reasons_seen));
    for (unsigned seed = 100; seed < 112; seed++)
        bad += diff_run(seed, true, REF_BUG_NONE, 3000, &nf, &nok);
    ck_assert_uint_eq(bad, 0);
    if (getenv("VTD_DIFF_VERBOSE"))
        for (unsigned i = 0; i < 256; i++)
            if (reasons_seen[i])
                fprintf(stderr, "sm reason 0x%02x: %u\n", i, reasons_seen[i]);
    ck_assert_uint_ge(distinct_reasons(), 25);
    ck_assert_uint_gt(nf, 3000);
    ck_assert_uint_gt(nok, 3000);
}
END_TEST

START_TEST(test_differential_catches_broken_reference)
{
    unsigned nf = 0, nok = 0;
    unsigned bad = diff_run(1, false, REF_BUG_IGNORE_SS_W, 3000, &nf, &nok) +
                   diff_run(100, true, REF_BUG_IGNORE_SS_W, 3000, &nf, &nok);
    ck_assert_uint_gt(bad, 10);
}
END_TEST

/*
 * Garbage tables and random capabilities: whatever a guest writes, the
 * engine must not abort and must agree with the reference walker.
 */
START_TEST(test_garbage_tables)
{
    unsigned bad = 0, faults = 0;
    memset(reasons_seen, 0, sizeof(reasons_seen));
    for (unsigned seed = 500; seed < 512; seed++) {
        GRand *g = g_rand_new_with_seed(seed);
        RefMem *a = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
        RefMem *b = ref_mem_new(48, RAM_SIZE, ALLOC_BASE);
        const unsigned npages = 48;
        for (unsigned i = 0; i < npages; i++)
            ref_alloc_page(a);
        /* the first three words of every 64 bytes look like entries
         * (pointer + plausible flags), the rest is mostly zero: deep enough
         * to reach PASID entries and paging structures */
        static const uint64_t lows[] = {1, 1, 1, 3, 7, 0xd, 0xf, 0x83, 0x87, 0x27, 0x67,
                                        0x41, 0x81, 0xc1, 0x101, 0x8b, 0x5, 0x3};
        for (uint64_t off = 0; off < npages * 4096ull; off += 8) {
            uint64_t v;
            if ((off & 63) <= 16 && chance(g, 85)) {
                v = (ALLOC_BASE + (uint64_t)g_rand_int_range(g, 0, (gint32)npages) * 4096) |
                    (chance(g, 50) ? 1 : lows[g_rand_int_range(g, 0, G_N_ELEMENTS(lows))]);
                if (chance(g, 5))
                    v |= 1ull << g_rand_int_range(g, 0, 64);
                if (chance(g, 10))
                    v |= 1ull << 63;
            } else {
                v = chance(g, 90) ? 0 : rbits(g, 64);
            }
            ref_wr64(a, ALLOC_BASE + off, v);
        }
        for (uint64_t off = 0; off < npages * 4096ull; off += 8)
            ref_wr64(b, ALLOC_BASE + off, ref_rd64(a, ALLOC_BASE + off));
        VtdXlateConfig cfg = {0};
        cfg.cap = rbits(g, 64);
        cfg.ecap = rbits(g, 64) | (1ull << 43);
        if (chance(g, 80)) {     /* mostly plausible capabilities */
            cfg.cap = vtd_cap_set_MGAW(cfg.cap, (uint64_t)g_rand_int_range(g, 38, 57));
            cfg.cap = vtd_cap_set_SAGAW(cfg.cap, rbits(g, 5) | VTD_SAGAW_48);
            cfg.ecap |= ecap_all();
        }
        cfg.haw = (unsigned)g_rand_int_range(g, 0, 60);
        cfg.te = chance(g, 95);
        cfg.rtaddr = (ALLOC_BASE + (uint64_t)g_rand_int_range(g, 0, 4) * 4096) |
                     ((uint64_t)(chance(g, 90) ? seed & 1 : rbits(g, 2)) << 10);
        VtdCacheParams p = small_caches();
        VtdXlate *x = vtd_xlate_new(&p, a->as, NULL);
        vtd_xlate_set_config(x, &cfg);
        for (unsigned i = 0; i < 10000; i++) {
            VtdXlateRequest r = {0};
            r.sid = (uint16_t)(chance(g, 80) ? rbits(g, 10) : rbits(g, 16));
            r.pasid_present = chance(g, 50);
            r.pasid = (uint32_t)(chance(g, 80) ? rbits(g, 7) : rbits(g, 20));
            r.priv = chance(g, 50);
            r.exec = chance(g, 30);
            r.write = chance(g, 50);
            r.at = (VtdAt)g_rand_int_range(g, 0, 3);
            r.ats_nw = chance(g, 30);
            r.addr = chance(g, 50) ? rbits(g, 40) : rbits(g, 64);
            r.len = (uint64_t)g_rand_int_range(g, 0, 16);
            VtdXlateResult e, f;
            vtd_xlate_translate(x, &r, &e);
            ref_walk_translate(b->as, &cfg, &r, &f, REF_BUG_NONE);
            bool same = e.status == f.status && e.fault_reason == f.fault_reason &&
                        e.out_addr == f.out_addr && e.perm == f.perm &&
                        e.fault_record == f.fault_record;
            if (!same && bad++ < 5)
                fprintf(stderr, "garbage seed %u req %u: engine %d/0x%x ref %d/0x%x\n", seed, i,
                        e.status, e.fault_reason, f.status, f.fault_reason);
            faults += e.status == VTD_XLATE_FAULT;
            if (e.status == VTD_XLATE_FAULT)
                reasons_seen[e.fault_reason]++;
            else
                reasons_seen[0]++;
        }
        vtd_xlate_free(x);
        ref_mem_free(a);
        ref_mem_free(b);
        g_rand_free(g);
    }
    if (getenv("VTD_DIFF_VERBOSE"))
        for (unsigned i = 0; i < 256; i++)
            if (reasons_seen[i])
                fprintf(stderr, "garbage reason 0x%02x: %u\n", i, reasons_seen[i]);
    ck_assert_uint_eq(bad, 0);
    ck_assert_uint_gt(faults, 1000);
}
END_TEST

START_TEST(test_params_validate)
{
    VtdCacheParams p;
    vtd_cache_params_default(&p);
    GError *err = NULL;
    ck_assert(vtd_cache_params_validate(&p, &err));
    p.cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){96, 8, VTD_REPL_LRU, 0};  /* 12 sets */
    ck_assert(!vtd_cache_params_validate(&p, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err->message, "iotlb"));
    g_clear_error(&err);
    ck_assert_ptr_null(vtd_xlate_new(&p, NULL, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    p.cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){100, 3, VTD_REPL_LRU, 0};
    ck_assert(!vtd_cache_params_validate(&p, &err));
    g_clear_error(&err);
}
END_TEST

static Suite *suite_vtd_xlate(void)
{
    Suite *s = suite_create("vtd_xlate");
    TCase *tc = tcase_create("legacy");
    tcase_add_test(tc, test_legacy_ok);
    tcase_add_test(tc, test_legacy_passthrough_and_ats);
    tcase_add_test(tc, test_legacy_faults);
    tcase_add_test(tc, test_legacy_structure_faults);
    tcase_add_test(tc, test_legacy_no_sc_no_pt);
    tcase_add_test(tc, test_interrupt_window);
    tcase_add_test(tc, test_params_validate);
    suite_add_tcase(s, tc);
    tc = tcase_create("scalable");
    tcase_add_test(tc, test_sm_ok);
    tcase_add_test(tc, test_sm_accessed_dirty);
    tcase_add_test(tc, test_sm_five_level_and_1g);
    tcase_add_test(tc, test_sm_ats);
    tcase_add_test(tc, test_page_request_checks);
    tcase_add_test(tc, test_widths_and_snoop);
    tcase_add_test(tc, test_fault_struct_and_counts);
    tcase_add_test(tc, test_nested_ad_through_second_stage);
    tcase_add_loop_test(tc, test_sm_fault, 0, G_N_ELEMENTS(sm_cases));
    suite_add_tcase(s, tc);
    tc = tcase_create("differential");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_differential_legacy);
    tcase_add_test(tc, test_differential_scalable);
    tcase_add_test(tc, test_differential_catches_broken_reference);
    tcase_add_test(tc, test_garbage_tables);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vtd_xlate)
