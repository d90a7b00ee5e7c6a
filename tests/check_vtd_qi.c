/*
 * Tests of queued invalidation and the page request queue: every
 * descriptor type, in 128- and 256-bit queues; malformed descriptors stop
 * with IQE at the right head and IQERCD reason; processing resumes when
 * IQE is cleared; wait descriptors (status write, interrupt with IM/IP);
 * device-TLB invalidation errors (ITE/ICE); invalidation granularities
 * checked against what must stay cached; the fault-injection filter
 * (dropped, deferred and reordered descriptors, across batches); the page
 * request queue with overflow.
 */
#include <string.h>
#include "check_util.h"
#include "fixture_vtd.h"
#include "models/vtd/vtd.h"
#include "mem/physmem.h"

typedef struct Msi {
    uint64_t addr;
    uint32_t data;
} Msi;

typedef struct Fx {
    EmuSim *sim;
    PhysMem *mem;
    AddrSpace *as;
    VtdUnit *u;
    GArray *msis;
    GArray *devtlb;           /* VtdDevtlbInv received */
    VtdDevtlbStatus devtlb_answer;
    GArray *prg;              /* VtdPageGroupResp received */
    bool dw;
    uint64_t tail;
} Fx;

#define IQ_BASE 0x40000
#define STATUS 0x50000

static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
    Fx *f = opaque;
    Msi m = { addr, data };
    g_array_append_val(f->msis, m);
}

static VtdDevtlbStatus fx_devtlb(void *opaque, const VtdDevtlbInv *req)
{
    Fx *f = opaque;
    g_array_append_val(f->devtlb, *req);
    return f->devtlb_answer;
}

static void fx_prg(void *opaque, const VtdPageGroupResp *r)
{
    Fx *f = opaque;
    g_array_append_val(f->prg, *r);
}

/* @scalable: SMTS/PASID capable unit with a 256-bit queue; QS=0 (4 KiB). */
static Fx *fx_new(bool scalable)
{
    Fx *f = g_new0(Fx, 1);
    VtdParams p;
    vtd_params_default(&p);
    if (scalable)
        p.ecap |= (UINT64_C(1) << 43) | (UINT64_C(1) << 40) | (UINT64_C(1) << 2) | (UINT64_C(1) << 29) |
                  (UINT64_C(19) << 35) | (UINT64_C(1) << 47) | (UINT64_C(1) << 46);
    f->sim = emu_sim_new();
    f->mem = physmem_new(39);
    f->as = addr_space_new("dma", UINT64_C(1) << 39, 0);
    addr_space_add_ram(f->as, "ram", 0, UINT64_C(1) << 30, f->mem, 0, 0);
    GError *err = NULL;
    f->u = vtd_unit_new(f->sim, &p, f->as, &err);
    ck_assert_msg(f->u != NULL, "%s", err ? err->message : "");
    f->msis = g_array_new(FALSE, TRUE, sizeof(Msi));
    f->devtlb = g_array_new(FALSE, TRUE, sizeof(VtdDevtlbInv));
    f->prg = g_array_new(FALSE, TRUE, sizeof(VtdPageGroupResp));
    vtd_unit_set_msi_sink(f->u, fx_msi, f);
    vtd_unit_set_devtlb_sink(f->u, fx_devtlb, f);
    vtd_unit_set_prg_response_sink(f->u, fx_prg, f);
    f->dw = scalable;
    vtd_fx_wr(f->u, 0x88, 0, 8);
    vtd_fx_wr(f->u, 0x90, IQ_BASE | (scalable ? VTD_IQA_DW : 0), 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_QIE, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4) & VTD_GSTS_QIES, VTD_GSTS_QIES);
    return f;
}

static void fx_free(Fx *f)
{
    vtd_unit_free(f->u);
    addr_space_free(f->as);
    physmem_free(f->mem);
    emu_sim_free(f->sim);
    g_array_free(f->msis, TRUE);
    g_array_free(f->devtlb, TRUE);
    g_array_free(f->prg, TRUE);
    g_free(f);
}

static unsigned dsize(const Fx *f)
{
    return f->dw ? 32 : 16;
}

/* Writes a descriptor at the software tail (not yet submitted). */
static void put(Fx *f, uint64_t q0, uint64_t q1, uint64_t q2, uint64_t q3)
{
    uint64_t a = IQ_BASE + f->tail;
    physmem_stq(f->mem, a, q0);
    physmem_stq(f->mem, a + 8, q1);
    if (f->dw) {
        physmem_stq(f->mem, a + 16, q2);
        physmem_stq(f->mem, a + 24, q3);
    }
    f->tail = (f->tail + dsize(f)) % 4096;
}

static void submit(Fx *f)
{
    vtd_fx_wr(f->u, 0x88, f->tail, 8);
}

static uint64_t wait_desc(uint32_t data, bool sw, bool iflag)
{
    return 0x5 | (iflag ? 0x10 : 0) | (sw ? 0x20 : 0) | ((uint64_t)data << 32);
}

static uint64_t iqh(Fx *f)
{
    return vtd_fx_rd(f->u, 0x80, 8);
}

static unsigned iqei(Fx *f)
{
    return (unsigned)(vtd_fx_rd(f->u, 0xb0, 8) & 0xf);
}

/* ---- translations: the legacy setup of fixture_vtd.h ------------------------ */


/* ---- wait descriptors --------------------------------------------------------- */

START_TEST(test_wait_status_write)
{
    Fx *f = fx_new(false);
    put(f, wait_desc(0xabcd1234, true, false), STATUS, 0, 0);
    put(f, wait_desc(0x2, true, false), STATUS + 4, 0, 0);
    submit(f);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0xabcd1234);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 4), 0x2);
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->inv_descriptors, 2);
    fx_free(f);
}
END_TEST

START_TEST(test_wait_interrupt)
{
    Fx *f = fx_new(false);
    vtd_fx_wr(f->u, 0xa4, 0x55, 4);
    vtd_fx_wr(f->u, 0xa8, 0xfee00000, 4);
    put(f, wait_desc(0, false, true), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), VTD_ICS_IWC);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xa0, 4), VTD_IECTL_IM | VTD_IECTL_IP);   /* masked: held */
    ck_assert_uint_eq(f->msis->len, 0);
    vtd_fx_wr(f->u, 0xa0, 0, 4);
    ck_assert_uint_eq(f->msis->len, 1);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).addr, 0xfee00000);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).data, 0x55);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xa0, 4), 0);
    /* IWC still set: another IF wait raises no new event. */
    put(f, wait_desc(0, false, true), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(f->msis->len, 1);
    /* Cleared (W1C): the next one interrupts at once. */
    vtd_fx_wr(f->u, 0x9c, 1, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), 0);
    put(f, wait_desc(0, false, true), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(f->msis->len, 2);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->inv_events, 2);
    /* Masked and pending, then IWC cleared: IP clears, nothing is delivered on unmask. */
    vtd_fx_wr(f->u, 0x9c, 1, 4);
    vtd_fx_wr(f->u, 0xa0, VTD_IECTL_IM, 4);
    put(f, wait_desc(0, false, true), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xa0, 4), VTD_IECTL_IM | VTD_IECTL_IP);
    vtd_fx_wr(f->u, 0x9c, 1, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xa0, 4), VTD_IECTL_IM);
    vtd_fx_wr(f->u, 0xa0, 0, 4);
    ck_assert_uint_eq(f->msis->len, 2);
    fx_free(f);
}
END_TEST

/* ---- malformed descriptors -------------------------------------------------------- */

START_TEST(test_iqe_invalid_type_stops_at_head)
{
    Fx *f = fx_new(false);
    vtd_fx_wr(f->u, 0x38, 0, 4);                                  /* fault events unmasked */
    vtd_fx_wr(f->u, 0x40, 0xfee02000, 4);
    put(f, wait_desc(1, true, false), STATUS, 0, 0);
    put(f, wait_desc(2, true, false), STATUS + 4, 0, 0);
    put(f, 0xa, 0, 0, 0);                               /* type 0xA: not a descriptor */
    put(f, wait_desc(4, true, false), STATUS + 12, 0, 0);
    submit(f);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 4), 2);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 12), 0);   /* not reached */
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_IQE);
    ck_assert_uint_eq(iqei(f), 3);
    ck_assert_uint_eq(f->msis->len, 1);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).addr, 0xfee02000);
    /* More tail writes do nothing while IQE is set. */
    submit(f);
    ck_assert_uint_eq(iqh(f), 0x20);
    /* Software fixes the descriptor and clears IQE: processing resumes to the tail. */
    physmem_stq(f->mem, IQ_BASE + 0x20, wait_desc(3, true, false));
    physmem_stq(f->mem, IQ_BASE + 0x28, STATUS + 8);
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_IQE, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    ck_assert_uint_eq(iqh(f), 0x40);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 8), 3);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 12), 4);
    fx_free(f);
}
END_TEST

START_TEST(test_iqe_reserved_bits)
{
    const struct { uint64_t q0, q1; const char *what; } bad[] = {
        { 0x1 | 0x10 | 0x100, 0, "cc bit 8" },
        { 0x1 | 0x10, 1, "cc qw1" },
        { 0x1, 0, "cc G=0" },
        { 0x2 | 0x10 | 0x100, 0, "iotlb bit 8" },
        { 0x2 | 0x30 | (VTD_FX_DID << 16), 19, "iotlb AM 19 > MAMV" },
        { 0x2 | 0x30, 0x100, "iotlb qw1 bit 8" },
        { 0x3 | 0x100, 0, "dev-tlb bit 8" },
        { 0x3, 0x2, "dev-tlb qw1 bit 1" },
        { 0x4 | 0x100, 0, "iec bit 8" },
        { 0x4, 1, "iec qw1" },
        { 0x5 | 0x80, 0, "wait PD without PDS" },
        { 0x5 | 0x20, 0x1, "wait status address bit 0" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        Fx *f = fx_new(false);
        put(f, wait_desc(1, true, false), STATUS, 0, 0);
        put(f, bad[i].q0, bad[i].q1, 0, 0);
        put(f, wait_desc(2, true, false), STATUS + 4, 0, 0);
        submit(f);
        ck_assert_msg(vtd_fx_rd(f->u, 0x34, 4) == VTD_FSTS_IQE, "%s: no IQE", bad[i].what);
        ck_assert_msg(iqh(f) == 0x10, "%s: head 0x%x", bad[i].what, (unsigned)iqh(f));
        ck_assert_msg(iqei(f) == 4, "%s: IQEI %u", bad[i].what, iqei(f));
        ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 4), 0);
        fx_free(f);
    }
}
END_TEST

START_TEST(test_iqe_pasid_types_in_128bit_queue)
{
    for (unsigned type = 6; type <= 9; type++) {
        Fx *f = fx_new(false);
        put(f, type, 0, 0, 0);
        submit(f);
        ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_IQE);
        ck_assert_uint_eq(iqh(f), 0);
        ck_assert_uint_eq(iqei(f), 3);
        fx_free(f);
    }
}
END_TEST

START_TEST(test_iqe_tail)
{
    Fx *f = fx_new(true);
    put(f, wait_desc(1, true, false), STATUS, 0, 0);
    vtd_fx_wr(f->u, 0x88, 0x10, 8);       /* bit 4 in a 256-bit queue */
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_IQE);
    ck_assert_uint_eq(iqei(f), 1);
    ck_assert_uint_eq(iqh(f), 0);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0);
    fx_free(f);
    /* A tail beyond a 4 KiB queue. */
    f = fx_new(false);
    vtd_fx_wr(f->u, 0x88, 0x1000, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_IQE);
    ck_assert_uint_eq(iqei(f), 1);
    fx_free(f);
}
END_TEST

START_TEST(test_iqe_256bit_upper_reserved)
{
    Fx *f = fx_new(true);
    put(f, wait_desc(1, true, false), STATUS, 0, 0);
    put(f, 0x1 | 0x10, 0, 0, 1);                 /* cc global with qw3 != 0 */
    submit(f);
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(iqei(f), 4);
    /* PASID-cache with reserved granularity 2. */
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_IQE, 4);                /* resumes: still the same bad one */
    ck_assert_uint_eq(iqh(f), 0x20);
    physmem_stq(f->mem, IQ_BASE + 0x38, 0);
    physmem_stq(f->mem, IQ_BASE + 0x20, 0x7 | 0x20);
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_IQE, 4);
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(iqei(f), 4);
    /* A page group response may carry private data in the upper half. */
    physmem_stq(f->mem, IQ_BASE + 0x20, 0x9 | 0x10 | (0x0100 << 16) | ((uint64_t)7 << 32));
    physmem_stq(f->mem, IQ_BASE + 0x28, 5 << 3);
    physmem_stq(f->mem, IQ_BASE + 0x30, 0x1234);
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_IQE, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    ck_assert_uint_eq(iqh(f), 0x40);
    ck_assert_uint_eq(f->prg->len, 1);
    fx_free(f);
}
END_TEST

/* ---- every descriptor type ----------------------------------------------------------- */

static uint64_t inv_count(Fx *f, VtdCacheId id)
{
    VtdCacheStats s;
    vtd_xlate_get_stats(vtd_unit_xlate(f->u), id, &s);
    return s.invalidations;
}

START_TEST(test_each_type_256)
{
    Fx *f = fx_new(true);
    uint64_t cc0 = inv_count(f, VTD_CACHE_CONTEXT), io0 = inv_count(f, VTD_CACHE_IOTLB);
    uint64_t pc0 = inv_count(f, VTD_CACHE_PASID);
    put(f, 0x1 | 0x10, 0, 0, 0);                                         /* cc global */
    put(f, 0x1 | 0x20 | (7 << 16), 0, 0, 0);                             /* cc domain */
    put(f, 0x1 | 0x30 | (7 << 16) | ((uint64_t)0x0108 << 32) | ((uint64_t)3 << 48), 0, 0, 0);
    put(f, 0x2 | 0x10, 0, 0, 0);                                         /* iotlb global */
    put(f, 0x2 | 0x20 | (7 << 16), 0, 0, 0);                             /* DSI */
    put(f, 0x2 | 0x30 | (7 << 16) | 0xc0, 0x4000 | 0x40 | 2, 0, 0);      /* PSI, DR/DW, IH, AM 2 */
    put(f, 0x3 | (3 << 16) | ((uint64_t)0x0300 << 32), 0x7000 | 1, 0, 0); /* dev-TLB, S=1 */
    put(f, 0x4, 0, 0, 0);                                                /* IEC global */
    put(f, 0x4 | 0x10 | (2u << 27) | ((uint64_t)40 << 32), 0, 0, 0);     /* IEC index */
    put(f, 0x6 | 0x20 | (7 << 16) | ((uint64_t)0x55 << 32), 0, 0, 0);    /* PIOTLB all in PASID */
    put(f, 0x6 | 0x30 | (7 << 16) | ((uint64_t)0x55 << 32), 0x9000 | 1, 0, 0);
    put(f, 0x7 | 0x00 | (7 << 16), 0, 0, 0);                             /* PC domain */
    put(f, 0x7 | 0x10 | (7 << 16) | ((uint64_t)0x55 << 32), 0, 0, 0);    /* PC PASID */
    put(f, 0x7 | 0x30, 0, 0, 0);                                         /* PC global */
    put(f, 0x8 | (0x0300 << 16) | ((uint64_t)0x66 << 32), 1 | 0x800 | 0xa000, 0, 0);
    put(f, 0x9 | 0x10 | (1 << 12) | (0x0300 << 16) | ((uint64_t)0x66 << 32), 0x1ff << 3, 0, 0);
    put(f, wait_desc(9, true, true), STATUS, 0, 0);
    submit(f);
    ck_assert_msg(vtd_fx_rd(f->u, 0x34, 4) == 0, "FSTS 0x%x: %s", (unsigned)vtd_fx_rd(f->u, 0x34, 4),
                  vtd_unit_last_guest_error(f->u));
    ck_assert_uint_eq(iqh(f), 17 * 32);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->inv_descriptors, 17);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 9);
    ck_assert_uint_eq(inv_count(f, VTD_CACHE_CONTEXT) - cc0, 3);
    ck_assert_uint_eq(inv_count(f, VTD_CACHE_IOTLB) - io0, 5);
    ck_assert_uint_eq(inv_count(f, VTD_CACHE_PASID) - pc0, 3);
    ck_assert_uint_eq(f->devtlb->len, 2);
    VtdDevtlbInv *d0 = &g_array_index(f->devtlb, VtdDevtlbInv, 0);
    ck_assert_uint_eq(d0->sid, 0x0300);
    ck_assert_uint_eq(d0->addr, 0x7000);
    ck_assert(d0->size && !d0->pasid_present);
    ck_assert_uint_eq(d0->mip, 3);
    VtdDevtlbInv *d1 = &g_array_index(f->devtlb, VtdDevtlbInv, 1);
    ck_assert_uint_eq(d1->sid, 0x0300);
    ck_assert(d1->pasid_present && d1->global && d1->size);
    ck_assert_uint_eq(d1->pasid, 0x66);
    ck_assert_uint_eq(d1->addr, 0xa000);
    ck_assert_uint_eq(f->prg->len, 1);
    VtdPageGroupResp *r = &g_array_index(f->prg, VtdPageGroupResp, 0);
    ck_assert_uint_eq(r->rid, 0x0300);
    ck_assert(r->pasid_present);
    ck_assert_uint_eq(r->pasid, 0x66);
    ck_assert_uint_eq(r->prgi, 0x1ff);
    ck_assert_uint_eq(r->rc, 1);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), VTD_ICS_IWC);
    fx_free(f);
}
END_TEST

START_TEST(test_queue_wraps)
{
    Fx *f = fx_new(false);
    /* Run the head to near the end of the 4 KiB ring with 254 no-op waits... */
    for (unsigned i = 0; i < 254; i++)
        put(f, wait_desc(0, false, false), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(iqh(f), 4096 - 32);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    /* ...then 3 descriptors wrap around to the start. */
    put(f, wait_desc(1, true, false), STATUS, 0, 0);
    put(f, wait_desc(2, true, false), STATUS + 4, 0, 0);
    put(f, wait_desc(3, true, false), STATUS + 8, 0, 0);
    submit(f);
    ck_assert_uint_eq(iqh(f), 0x10);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS + 8), 3);
    /* Disabling QI resets the head. */
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_QIE);
    ck_assert_uint_eq(iqh(f), 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4) & VTD_GSTS_QIES, 0);
    fx_free(f);
}
END_TEST

START_TEST(test_tail_written_before_enable)
{
    /* Descriptors queued while QI is off run when it is enabled. */
    Fx *f = fx_new(false);
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_QIE);
    put(f, wait_desc(7, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_QIE, 0);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 7);
    ck_assert_uint_eq(iqh(f), 0x10);
    fx_free(f);
}
END_TEST

START_TEST(test_devtlb_timeout_and_bad_completion)
{
    Fx *f = fx_new(false);
    f->devtlb_answer = VTD_DEVTLB_TIMEOUT;
    put(f, 0x3 | ((uint64_t)0x0210 << 32), 0x3000, 0, 0);
    put(f, wait_desc(1, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_ITE);
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0xb0, 8) >> 32) & 0xffff, 0x0210);
    ck_assert_uint_eq(iqh(f), 0x10);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0);
    f->devtlb_answer = VTD_DEVTLB_DONE;
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_ITE, 4);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 1);
    ck_assert_uint_eq(iqh(f), 0x20);
    f->devtlb_answer = VTD_DEVTLB_BAD_COMPLETION;
    put(f, 0x3 | ((uint64_t)0x0318 << 32), 0x3000, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_ICE);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xb0, 8) >> 48, 0x0318);
    fx_free(f);
}
END_TEST

/* ---- granularities against cached state ---------------------------------------------- */

START_TEST(test_qi_iotlb_granularity_stale)
{
    Fx *f = fx_new(false);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), 0x200000 + 0x1000 * i);
    for (unsigned i = 0; i < 8; i++)
        physmem_stq(f->mem, VTD_FX_SL1 + 8 * i, (0x300000 + 0x1000 * i) | 3);
    /* PSI of page 4 in another domain: nothing changes. */
    put(f, 0x2 | 0x30 | ((VTD_FX_DID + 1) << 16), 0x4000, 0, 0);
    submit(f);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), 0x200000 + 0x1000 * i);
    /* PSI AM=2 at 0x4000: pages 4..7 refetched, 0..3 stay stale. */
    put(f, 0x2 | 0x30 | (VTD_FX_DID << 16), 0x4000 | 2, 0, 0);
    submit(f);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), (i >= 4 ? 0x300000 : 0x200000) + 0x1000 * i);
    /* Context-cache invalidation does not touch the IOTLB. */
    put(f, 0x1 | 0x10, 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    /* DSI of the domain. */
    put(f, 0x2 | 0x20 | (VTD_FX_DID << 16), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    fx_free(f);
}
END_TEST

/* Drops descriptors of the type in *opaque (one at a time), recording what it saw. */
static unsigned filter_seen[4];
static VtdQiVerdict drop_type(void *opaque, const VtdInvDesc *d)
{
    unsigned *want = opaque;
    VtdQiVerdict v = { VTD_QI_PASS, 0, 0 };
    filter_seen[0]++;
    filter_seen[1] = vtd_inv_type(d);
    filter_seen[2] = (unsigned)d->val[0];
    if (vtd_inv_type(d) != *want)
        return v;
    filter_seen[3]++;
    *want = 0;
    v.action = VTD_QI_DROP;
    return v;
}

START_TEST(test_qi_filter_drops_one_descriptor)
{
    Fx *f = fx_new(false);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    physmem_stq(f->mem, VTD_FX_SL1, 0x300000 | 3);
    unsigned want = VTD_INV_IOTLB;
    memset(filter_seen, 0, sizeof(filter_seen));
    vtd_unit_set_qi_filter(f->u, drop_type, &want);
    /* the lost DSI leaves the stale translation; the wait behind it still writes */
    put(f, 0x2 | 0x20 | (VTD_FX_DID << 16), 0, 0, 0);
    put(f, wait_desc(0x77, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(filter_seen[0], 2);
    ck_assert_uint_eq(filter_seen[1], VTD_INV_WAIT);
    ck_assert_uint_eq(filter_seen[2], (unsigned)wait_desc(0x77, true, false));
    ck_assert_uint_eq(filter_seen[3], 1);
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x77);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    /* the next one goes through */
    put(f, 0x2 | 0x20 | (VTD_FX_DID << 16), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    /* a dropped wait never writes its status, and raises nothing */
    want = VTD_INV_WAIT;
    put(f, wait_desc(0x88, true, true), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x77);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), 0);   /* ICS.IWC */
    ck_assert_uint_eq(iqh(f), 0x40);
    /* a malformed descriptor raises IQE before the filter sees it */
    want = 0xf;
    filter_seen[0] = 0;
    put(f, 0x2 | 0x20 | (VTD_FX_DID << 16) | (UINT64_C(1) << 40), 0, 0, 0);
    submit(f);
    ck_assert_uint_eq(filter_seen[0], 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4) & VTD_FSTS_IQE, VTD_FSTS_IQE);
    ck_assert_uint_eq(iqh(f), 0x40);
    /* without the filter, the fixed descriptor runs when IQE is cleared */
    vtd_unit_set_qi_filter(f->u, NULL, NULL);
    physmem_stq(f->mem, IQ_BASE + 0x40, wait_desc(0x99, true, false));
    physmem_stq(f->mem, IQ_BASE + 0x48, STATUS);
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_IQE, 4);
    ck_assert_uint_eq(iqh(f), 0x50);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x99);
    fx_free(f);
}
END_TEST

/* Applies the verdict in *opaque to the first descriptor of type want->type, then passes. */
typedef struct Plan {
    unsigned type;
    VtdQiVerdict v;
    unsigned fired;
} Plan;

static VtdQiVerdict plan_filter(void *opaque, const VtdInvDesc *d)
{
    Plan *p = opaque;
    VtdQiVerdict pass = { VTD_QI_PASS, 0, 0 };
    if (p->fired || vtd_inv_type(d) != p->type)
        return pass;
    p->fired++;
    return p->v;
}

/* DSI of the fixture's domain; the leaf then points at @pa. */
static void remap_and_dsi(Fx *f, uint64_t pa)
{
    physmem_stq(f->mem, VTD_FX_SL1, pa | 3);
    put(f, 0x2 | 0x20 | (VTD_FX_DID << 16), 0, 0, 0);
}

START_TEST(test_qi_filter_defers_by_time)
{
    Fx *f = fx_new(false);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    Plan plan = { VTD_INV_IOTLB, { VTD_QI_DEFER, 5 * EMU_TICKS_PER_US, 0 }, 0 };
    vtd_unit_set_qi_filter(f->u, plan_filter, &plan);
    /* at 1 us: the DSI is deferred to 6 us; the wait behind it completes at once */
    emu_sim_run_until(f->sim, 1 * EMU_TICKS_PER_US);
    remap_and_dsi(f, 0x300000);
    put(f, wait_desc(0x11, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(plan.fired, 1);
    ck_assert_uint_eq(iqh(f), 0x20);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x11);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->inv_descriptors, 2);
    /* a driver trusting the wait uses the stale translation until 6 us */
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    emu_sim_run_until(f->sim, 6 * EMU_TICKS_PER_US - 1);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    emu_sim_run_until(f->sim, 6 * EMU_TICKS_PER_US);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 0);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    /* a deferred wait writes its status (and raises its interrupt) late */
    plan = (Plan){ VTD_INV_WAIT, { VTD_QI_DEFER, 2 * EMU_TICKS_PER_US, 0 }, 0 };
    put(f, wait_desc(0x22, true, true), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(iqh(f), 0x30);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x11);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), 0);
    ck_assert_uint_eq(f->msis->len, 0);
    emu_sim_run_until(f->sim, 8 * EMU_TICKS_PER_US);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x22);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), 1);
    /* a unit reset discards what is still deferred; freeing with one pending is clean */
    plan = (Plan){ VTD_INV_WAIT, { VTD_QI_DEFER, 1 * EMU_TICKS_PER_US, 0 }, 0 };
    put(f, wait_desc(0x33, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    vtd_unit_reset(f->u);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 0);
    emu_sim_run_until(f->sim, 20 * EMU_TICKS_PER_US);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x22);
    fx_free(f);
    f = fx_new(false);
    plan = (Plan){ VTD_INV_WAIT, { VTD_QI_DEFER, 1 * EMU_TICKS_PER_US, 0 }, 0 };
    vtd_unit_set_qi_filter(f->u, plan_filter, &plan);
    put(f, wait_desc(0x44, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    fx_free(f);
}
END_TEST

START_TEST(test_qi_filter_reorders)
{
    Fx *f = fx_new(false);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    /* by=1: the DSI executes right after its own wait: the wait reports first */
    Plan plan = { VTD_INV_IOTLB, { VTD_QI_REORDER, 0, 1 }, 0 };
    vtd_unit_set_qi_filter(f->u, plan_filter, &plan);
    remap_and_dsi(f, 0x300000);
    put(f, wait_desc(0x11, true, false), STATUS, 0, 0);
    submit(f);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 0);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x11);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    /* by=3: held across batches, executes right after the third later descriptor */
    plan = (Plan){ VTD_INV_IOTLB, { VTD_QI_REORDER, 0, 3 }, 0 };
    remap_and_dsi(f, 0x400000);
    put(f, wait_desc(0x22, true, false), STATUS, 0, 0);
    submit(f);                                   /* 1 fetched after it */
    ck_assert_uint_eq(iqh(f), 0x40);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x22);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    put(f, wait_desc(0x33, true, false), STATUS, 0, 0);
    submit(f);                                   /* 2 */
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x300000);
    /* the third: an IEC; the held DSI runs after it, before the wait behind it */
    put(f, 0x4, 0, 0, 0);
    put(f, wait_desc(0x44, true, false), STATUS, 0, 0);
    plan.type = VTD_INV_IEC;                     /* (the filter already fired) */
    submit(f);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 0);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x44);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x400000);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->inv_descriptors, 7);
    /* a held descriptor with nothing behind it never executes */
    plan = (Plan){ VTD_INV_WAIT, { VTD_QI_REORDER, 0, 1 }, 0 };
    put(f, wait_desc(0x55, true, false), STATUS, 0, 0);
    submit(f);
    emu_sim_run_until(f->sim, 1 * EMU_TICKS_PER_MS);
    ck_assert_uint_eq(physmem_ldl(f->mem, STATUS), 0x44);
    ck_assert_uint_eq(vtd_unit_qi_pending(f->u), 1);
    fx_free(f);
}
END_TEST

START_TEST(test_qi_context_device_fm)
{
    Fx *f = fx_new(false);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    physmem_stq(f->mem, VTD_FX_CTX + 16 * (VTD_FX_SID & 0xff), 0);
    put(f, 0x2 | 0x10, 0, 0, 0);                 /* IOTLB global */
    /* Device-selective for 00:01.5 with FM=2 (ignore VTD_FX_SID bits 2:1) does not cover 00:01.0... */
    put(f, 0x1 | 0x30 | (VTD_FX_DID << 16) | ((uint64_t)0x000d << 32) | ((uint64_t)2 << 48), 0, 0, 0);
    submit(f);
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    /* ...with FM=3 (ignore bits 2:0) it does. */
    put(f, 0x1 | 0x30 | (VTD_FX_DID << 16) | ((uint64_t)0x000d << 32) | ((uint64_t)3 << 48), 0, 0, 0);
    submit(f);
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_FAULT);
    fx_free(f);
}
END_TEST

/* ---- page request queue --------------------------------------------------------------- */

/*
 * Scalable-mode root table with one context entry for 03:00.0 (PASIDE and,
 * when @pre, PRE set), translation enabled: what page requests are checked
 * against before they may be queued.
 */
#define SM_CTX 0x18000
static void sm_prq_context(Fx *f, bool pre)
{
    physmem_stq(f->mem, VTD_FX_ROOT + 16 * 3, SM_CTX | 1);                 /* LCTP, LP */
    physmem_stq(f->mem, SM_CTX, 0x19000 | 1 | (1u << 3) | (pre ? 1u << 4 : 0));
    vtd_fx_wr(f->u, 0x20, VTD_FX_ROOT | (1u << 10), 8);                               /* TTM = scalable */
    vtd_fx_gcmd(f->u, VTD_GCMD_SRTP, 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_TE, 0);
}

START_TEST(test_page_request_queue)
{
    Fx *f = fx_new(true);
    sm_prq_context(f, true);
    vtd_fx_wr(f->u, 0xd0, 0x60000, 8);                    /* PQS=0: 4 KiB, 128 descriptors */
    vtd_fx_wr(f->u, 0xe4, 0x99, 4);
    vtd_fx_wr(f->u, 0xe8, 0xfee03000, 4);
    vtd_fx_wr(f->u, 0xe0, 0, 4);
    VtdPageReq pr = { .rid = 0x0300, .pasid_present = true, .pasid = 0x66, .read = true, .write = true,
                      .lpig = true, .prgi = 0x11, .addr = 0x12345000, .priv = true };
    ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_QUEUED);
    uint64_t q0 = physmem_ldq(f->mem, 0x60000), q1 = physmem_ldq(f->mem, 0x60008);
    ck_assert_uint_eq(q0, 1 | 0x100 | (0x0300 << 16) | ((uint64_t)0x66 << 32) | (UINT64_C(1) << 53));
    ck_assert_uint_eq(q1, 1 | 2 | 4 | (0x11 << 3) | 0x12345000);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xc8, 8), 32);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xdc, 4), VTD_PRS_PPR);
    ck_assert_uint_eq(f->msis->len, 1);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).data, 0x99);
    for (unsigned i = 1; i < 127; i++)
        ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_QUEUED);
    ck_assert_uint_eq(f->msis->len, 1);         /* PPR already pending */
    ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_OVERFLOW);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xdc, 4), VTD_PRS_PPR | VTD_PRS_PRO);
    /* the dropped last request of a group is answered by the hardware: Success */
    ck_assert_uint_eq(f->prg->len, 1);
    ck_assert_uint_eq(g_array_index(f->prg, VtdPageGroupResp, 0).rc, 0);
    ck_assert_uint_eq(g_array_index(f->prg, VtdPageGroupResp, 0).prgi, 0x11);
    /* Software consumes everything and clears the status: requests flow again. */
    vtd_fx_wr(f->u, 0xc0, vtd_fx_rd(f->u, 0xc8, 8), 8);
    vtd_fx_wr(f->u, 0xdc, 3, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xdc, 4), 0);
    ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_QUEUED);
    ck_assert_uint_eq(f->msis->len, 2);
    fx_free(f);
}
END_TEST

/* A page request from a context with PRE=0: fault 0x47 recorded (T2=1), not queued, Invalid Request. */
START_TEST(test_page_request_pre_clear)
{
    Fx *f = fx_new(true);
    sm_prq_context(f, false);
    vtd_fx_wr(f->u, 0xd0, 0x60000, 8);
    VtdPageReq pr = { .rid = 0x0300, .pasid_present = true, .pasid = 0x66, .read = true,
                      .lpig = true, .prgi = 0x22, .addr = 0x12345000 };
    ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_UNSUPPORTED);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xc8, 8), 0);                           /* nothing queued */
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4) & VTD_FSTS_PPF, VTD_FSTS_PPF);
    VtdFaultRecord r;
    vtd_unit_fault_record(f->u, 0, &r);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_SM_PRE_CLEAR);
    ck_assert_uint_eq(vtd_frcd_T2(&r), 1);                          /* page request */
    ck_assert_uint_eq(vtd_frcd_T1(&r), 0);
    ck_assert_uint_eq(vtd_frcd_SID(&r), 0x0300);
    ck_assert_uint_eq(f->prg->len, 1);
    ck_assert_uint_eq(g_array_index(f->prg, VtdPageGroupResp, 0).rc, 1);
    /* a request that is not the last of its group gets no automatic response */
    pr.lpig = false;
    ck_assert_int_eq(vtd_unit_page_request(f->u, &pr), VTD_PRQ_UNSUPPORTED);
    ck_assert_uint_eq(f->prg->len, 1);
    fx_free(f);
}
END_TEST

static Suite *suite_vtd_qi(void)
{
    Suite *s = suite_create("vtd_qi");
    TCase *tc = tcase_create("wait");
    tcase_add_test(tc, test_wait_status_write);
    tcase_add_test(tc, test_wait_interrupt);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_iqe_invalid_type_stops_at_head);
    tcase_add_test(tc, test_iqe_reserved_bits);
    tcase_add_test(tc, test_iqe_pasid_types_in_128bit_queue);
    tcase_add_test(tc, test_iqe_tail);
    tcase_add_test(tc, test_iqe_256bit_upper_reserved);
    tcase_add_test(tc, test_devtlb_timeout_and_bad_completion);
    suite_add_tcase(s, tc);
    tc = tcase_create("types");
    tcase_add_test(tc, test_each_type_256);
    tcase_add_test(tc, test_queue_wraps);
    tcase_add_test(tc, test_tail_written_before_enable);
    tcase_add_test(tc, test_qi_iotlb_granularity_stale);
    tcase_add_test(tc, test_qi_filter_drops_one_descriptor);
    tcase_add_test(tc, test_qi_filter_defers_by_time);
    tcase_add_test(tc, test_qi_filter_reorders);
    tcase_add_test(tc, test_qi_context_device_fm);
    suite_add_tcase(s, tc);
    tc = tcase_create("prq");
    tcase_add_test(tc, test_page_request_queue);
    tcase_add_test(tc, test_page_request_pre_clear);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vtd_qi)
