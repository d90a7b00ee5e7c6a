/*
 * Tests of the VT-d unit's register file: reset values and write masks of
 * every register, GCMD one-command-at-a-time sequencing, register-based
 * context and IOTLB invalidation (granularities and what stays cached),
 * fault recording (full records, PFO overflow, wrap, FRI, no collapsing),
 * fault event MSIs with IM/IP, protected memory regions, parameters and
 * presets.  Expected values are written out literally from the
 * specification, not derived from the model's own tables.
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
} Fx;

static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
    Fx *f = opaque;
    Msi m = { addr, data };
    g_array_append_val(f->msis, m);
}

static Fx *fx_new_params(const VtdParams *p)
{
    Fx *f = g_new0(Fx, 1);
    f->sim = emu_sim_new();
    f->mem = physmem_new(39);
    f->as = addr_space_new("dma", UINT64_C(1) << 39, 0);
    addr_space_add_ram(f->as, "ram", 0, UINT64_C(1) << 30, f->mem, 0, 0);
    GError *err = NULL;
    f->u = vtd_unit_new(f->sim, p, f->as, &err);
    ck_assert_msg(f->u != NULL, "vtd_unit_new: %s", err ? err->message : "?");
    f->msis = g_array_new(FALSE, TRUE, sizeof(Msi));
    vtd_unit_set_msi_sink(f->u, fx_msi, f);
    return f;
}

static Fx *fx_new(const char *preset)
{
    VtdParams p;
    if (preset)
        ck_assert(vtd_params_preset(&p, preset, NULL));
    else
        vtd_params_default(&p);
    return fx_new_params(&p);
}

/* Every optional register implemented: AFL, PLMR, PHMR, QI, IR, EIM, PRS, MTS, SMTS. */
static void params_full(VtdParams *p)
{
    vtd_params_default(p);
    p->cap = vtd_cap_set_AFL(p->cap, 1);
    p->cap = vtd_cap_set_PLMR(p->cap, 1);
    p->cap = vtd_cap_set_PHMR(p->cap, 1);
    p->cap = vtd_cap_set_RWBF(p->cap, 1);
    p->ecap |= (1u << 3) | (1u << 4) | (1u << 25) | (1u << 29) | (UINT64_C(1) << 43);
}

static void fx_free(Fx *f)
{
    vtd_unit_free(f->u);
    addr_space_free(f->as);
    physmem_free(f->mem);
    emu_sim_free(f->sim);
    g_array_free(f->msis, TRUE);
    g_free(f);
}

/* ---- the legacy-mode translation setup of fixture_vtd.h ------------------ */

static void remap_page(Fx *f, unsigned i, uint64_t hpa)
{
    physmem_stq(f->mem, VTD_FX_SL1 + 8 * i, hpa | 3);
}

/* ---- reset values ---------------------------------------------------------- */

typedef struct Expect {
    uint32_t off;
    unsigned size;
    uint64_t val;
} Expect;

static void check_window(Fx *f, const Expect *e, size_t n)
{
    uint64_t size = vtd_unit_mmio_size(f->u);
    for (uint64_t off = 0; off < size; off += 4) {
        uint64_t want = 0;
        for (size_t i = 0; i < n; i++) {
            if (off >= e[i].off && off < e[i].off + e[i].size)
                want = (uint32_t)(e[i].val >> ((off - e[i].off) * 8));
        }
        ck_assert_msg(vtd_fx_rd(f->u, off, 4) == want, "offset 0x%03x: 0x%08x, want 0x%08x", (unsigned)off,
                      (unsigned)vtd_fx_rd(f->u, off, 4), (unsigned)want);
    }
}

START_TEST(test_reset_qemu72)
{
    Fx *f = fx_new("qemu-7.2");
    const Expect e[] = {
        { 0x00, 4, 0x10 },
        { 0x08, 8, UINT64_C(0x00d2008c22260206) },
        { 0x10, 8, UINT64_C(0xf42) },
        { 0x38, 4, 0x80000000 },    /* FECTL.IM */
        { 0xa0, 4, 0x80000000 },    /* IECTL.IM */
    };
    check_window(f, e, G_N_ELEMENTS(e));
    ck_assert_uint_eq(vtd_unit_mmio_size(f->u), 0x1000);
    ck_assert_uint_eq(vtd_unit_num_fault_records(f->u), 1);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_FRCD_LO), 0x220);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_IVA), 0xf0);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_IOTLB), 0xf8);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_IRTA), -1);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_PMEN), -1);
    fx_free(f);
}
END_TEST

START_TEST(test_reset_xeon)
{
    Fx *f = fx_new("xeon");
    const Expect e[] = {
        { 0x00, 4, 0x10 },
        { 0x08, 8, UINT64_C(0x00d2078c106f0466) },
        { 0x10, 8, UINT64_C(0xf020df) },
        { 0x38, 4, 0x80000000 },
        { 0xa0, 4, 0x80000000 },
    };
    check_window(f, e, G_N_ELEMENTS(e));
    ck_assert_uint_eq(vtd_unit_num_fault_records(f->u), 8);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_FRCD_LO), 0x100);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_IOTLB), 0x208);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_PLMBASE), 0x68);
    ck_assert_int_eq(vtd_unit_reg_offset(f->u, VTD_REG_IRTA), 0xb8);
    fx_free(f);
}
END_TEST

START_TEST(test_reset_full)
{
    VtdParams p;
    params_full(&p);
    Fx *f = fx_new_params(&p);
    const Expect e[] = {
        { 0x00, 4, 0x10 },
        { 0x08, 8, p.cap },
        { 0x10, 8, p.ecap },
        { 0x38, 4, 0x80000000 },
        { 0xa0, 4, 0x80000000 },
        { 0xe0, 4, 0x80000000 },    /* PECTL.IM */
        { 0x100, 8, 0x50a },        /* MTRRCAP: VCNT 10, FIX, WC */
    };
    check_window(f, e, G_N_ELEMENTS(e));
    /* A register written and the unit reset: back to the reset value. */
    vtd_fx_wr(f->u, 0x90, 0x12345000, 8);
    vtd_fx_wr(f->u, 0x38, 0, 4);
    vtd_unit_reset(f->u);
    check_window(f, e, G_N_ELEMENTS(e));
    fx_free(f);
}
END_TEST

/* ---- write masks -------------------------------------------------------------- */

typedef struct MaskCase {
    const char *name;
    uint32_t off;
    unsigned size;
    uint64_t wmask;
} MaskCase;

static const MaskCase full_masks[] = {
    { "VER", 0x00, 4, 0 },
    { "CAP", 0x08, 8, 0 },
    { "ECAP", 0x10, 8, 0 },
    { "GSTS", 0x1c, 4, 0 },
    { "RTADDR", 0x20, 8, UINT64_C(0xfffffffffffffc00) },
    { "FEDATA", 0x3c, 4, 0xffff },
    { "FEADDR", 0x40, 4, 0xfffffffc },
    { "FEUADDR", 0x44, 4, 0xffffffff },
    { "AFLOG", 0x58, 8, UINT64_C(0xfffffffffffffe00) },
    { "PLMBASE", 0x68, 4, 0xffe00000 },
    { "PLMLIMIT", 0x6c, 4, 0xffe00000 },
    { "PHMBASE", 0x70, 8, UINT64_C(0xffffffffffe00000) },
    { "PHMLIMIT", 0x78, 8, UINT64_C(0xffffffffffe00000) },
    { "IQH", 0x80, 8, 0 },
    { "IQT", 0x88, 8, 0x7fff0 },
    { "IQA", 0x90, 8, UINT64_C(0xfffffffffffff807) },
    { "IEDATA", 0xa4, 4, 0xffff },
    { "IEADDR", 0xa8, 4, 0xfffffffc },
    { "IEUADDR", 0xac, 4, 0xffffffff },
    { "IQERCD", 0xb0, 8, 0 },
    { "IRTA", 0xb8, 8, UINT64_C(0xfffffffffffff80f) },
    { "PQH", 0xc0, 8, 0x7ffe0 },
    { "PQT", 0xc8, 8, 0 },
    { "PQA", 0xd0, 8, UINT64_C(0xfffffffffffff007) },
    { "PEDATA", 0xe4, 4, 0xffff },
    { "PEADDR", 0xe8, 4, 0xfffffffc },
    { "PEUADDR", 0xec, 4, 0xffffffff },
    { "MTRRCAP", 0x100, 8, 0 },
    { "MTRRDEF", 0x108, 8, 0xcff },
    { "MTRR_FIX64K_00000", 0x120, 8, ~UINT64_C(0) },
    { "MTRR_FIX4K_F8000", 0x170, 8, ~UINT64_C(0) },
    { "MTRR_PHYSBASE0", 0x180, 8, UINT64_C(0xfffffffffffff0ff) },
    { "MTRR_PHYSMASK9", 0x218, 8, UINT64_C(0xfffffffffffff800) },
    { "FRCD0_LO", 0x220, 8, 0 },
};

START_TEST(test_write_masks)
{
    VtdParams p;
    params_full(&p);
    Fx *f = fx_new_params(&p);
    for (size_t i = 0; i < G_N_ELEMENTS(full_masks); i++) {
        const MaskCase *c = &full_masks[i];
        uint64_t before = vtd_fx_rd(f->u, c->off, c->size);
        uint64_t ones = c->size == 8 ? ~UINT64_C(0) : 0xffffffff;
        vtd_fx_wr(f->u, c->off, ones, c->size);
        uint64_t got = vtd_fx_rd(f->u, c->off, c->size);
        uint64_t want = (before & ~c->wmask) | c->wmask;
        ck_assert_msg(got == want, "%s after writing ones: 0x%" G_GINT64_MODIFIER "x, want 0x%"
                      G_GINT64_MODIFIER "x", c->name, (guint64)got, (guint64)want);
        vtd_fx_wr(f->u, c->off, 0, c->size);
        got = vtd_fx_rd(f->u, c->off, c->size);
        ck_assert_msg(got == (before & ~c->wmask), "%s after writing zero", c->name);
    }
    /* Every fixed-range MTRR is fully writable; variable pairs keep their reserved bits. */
    for (uint32_t off = 0x120; off <= 0x170; off += 8) {
        vtd_fx_wr(f->u, off, ~UINT64_C(0), 8);
        ck_assert_uint_eq(vtd_fx_rd(f->u, off, 8), ~UINT64_C(0));
    }
    for (uint32_t n = 0; n < 10; n++) {
        vtd_fx_wr(f->u, 0x180 + 16 * n, ~UINT64_C(0), 8);
        vtd_fx_wr(f->u, 0x188 + 16 * n, ~UINT64_C(0), 8);
        ck_assert_uint_eq(vtd_fx_rd(f->u, 0x180 + 16 * n, 8), UINT64_C(0xfffffffffffff0ff));
        ck_assert_uint_eq(vtd_fx_rd(f->u, 0x188 + 16 * n, 8), UINT64_C(0xfffffffffffff800));
    }
    /* Control registers: IM writable, IP read-only. */
    vtd_fx_wr(f->u, 0x38, 0xffffffff, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), 0x80000000);
    vtd_fx_wr(f->u, 0x38, 0, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), 0);
    vtd_fx_wr(f->u, 0xa0, 0x40000000, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xa0, 4), 0);
    /* IVA's fields are write-only (VT-d 4.x 11.4.8.1): it reads 0 but keeps what was written. */
    vtd_fx_wr(f->u, 0xf0, ~UINT64_C(0), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xf0, 8), 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xf4, 4), 0);
    /* GCMD is write-only: always reads 0. */
    vtd_fx_wr(f->u, 0x18, VTD_GCMD_TE, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x18, 4), 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), VTD_GSTS_TES);
    /* Write-1-to-clear bits with nothing set stay clear; read-only status bits cannot be set. */
    vtd_fx_wr(f->u, 0x34, 0xffffffff, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    vtd_fx_wr(f->u, 0x9c, 1, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x9c, 4), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_write_masks_capability_dependent)
{
    /* QEMU 7.2 preset: no EIM (xEUADDR RsvdZ), no SMTS (IQA.DW RsvdZ), no IR/PMR/PRS/MTS registers. */
    Fx *f = fx_new("qemu-7.2");
    vtd_fx_wr(f->u, 0x44, 0xffffffff, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x44, 4), 0);
    vtd_fx_wr(f->u, 0xac, 0xffffffff, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xac, 4), 0);
    vtd_fx_wr(f->u, 0x90, ~UINT64_C(0), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x90, 8), UINT64_C(0xfffffffffffff007));
    vtd_fx_wr(f->u, 0xb8, ~UINT64_C(0), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xb8, 8), 0);
    vtd_fx_wr(f->u, 0x64, 0x80000000, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x64, 4), 0);
    vtd_fx_wr(f->u, 0xd0, ~UINT64_C(0), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0xd0, 8), 0);
    ck_assert_ptr_nonnull(vtd_unit_last_guest_error(f->u));
    fx_free(f);
}
END_TEST

START_TEST(test_access_sizes)
{
    Fx *f = fx_new(NULL);
    /* One 8-byte access covering FECTL and FEDATA acts on both. */
    vtd_fx_wr(f->u, 0x38, UINT64_C(0x0000abcd00000000), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x3c, 4), 0xabcd);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 8), UINT64_C(0x0000abcd00000000));
    /* 4-byte halves of a 64-bit register. */
    vtd_fx_wr(f->u, 0x20, 0x12345c00, 4);
    vtd_fx_wr(f->u, 0x24, 0x9, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x20, 8), UINT64_C(0x912345c00));
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x24, 4), 0x9);
    /* CCMD: the command acts when the upper half (ICC) is written. */
    vtd_fx_wr(f->u, 0x28, 0x00050000, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x28, 8), 0x00050000);
    vtd_fx_wr(f->u, 0x2c, 0xa0000000, 4);    /* ICC | CIRG=01 */
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x28, 8), UINT64_C(0x2800000000050000) | (UINT64_C(1) << 61));
    fx_free(f);
}
END_TEST

/* ---- GCMD sequencing ------------------------------------------------------------- */

START_TEST(test_gcmd_sequence)
{
    Fx *f = fx_new("xeon");
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), 0);
    vtd_fx_wr(f->u, 0x20, 0x10000 | (0 << 10), 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SRTP, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), VTD_GSTS_RTPS);
    vtd_fx_gcmd(f->u, VTD_GCMD_TE, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), VTD_GSTS_RTPS | VTD_GSTS_TES);
    vtd_fx_gcmd(f->u, VTD_GCMD_QIE, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), VTD_GSTS_RTPS | VTD_GSTS_TES | VTD_GSTS_QIES);
    vtd_fx_wr(f->u, 0xb8, 0x20000 | 0x7, 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SIRTP, 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_IRE, 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_CFI, 0);
    uint32_t all = VTD_GSTS_RTPS | VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRTPS | VTD_GSTS_IRES |
                   VTD_GSTS_CFIS;
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), all);
    ck_assert_ptr_null(vtd_unit_last_guest_error(f->u));
    uint64_t irta = 0;
    bool ire = false, cfi = false;
    vtd_fx_wr(f->u, 0xb8, 0x30000, 8);        /* not latched until the next SIRTP */
    vtd_unit_ir_state(f->u, &irta, &ire, &cfi);
    ck_assert_uint_eq(irta, 0x20007);
    ck_assert(ire && cfi);

    /* Two commands in one write: ignored. */
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_TE | VTD_GCMD_IRE);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), all);
    ck_assert_ptr_nonnull(vtd_unit_last_guest_error(f->u));
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 1);
    /* Writing GSTS back unmasked re-issues SRTP (RTPS reads 1) together with a change: ignored. */
    vtd_fx_wr(f->u, 0x18, (uint32_t)vtd_fx_rd(f->u, 0x1c, 4) & ~VTD_GCMD_TE, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), all);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 2);
    /* Writing the current state back (one-shots masked) changes nothing, is no error. */
    vtd_fx_gcmd(f->u, 0, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), all);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 2);

    vtd_fx_gcmd(f->u, 0, VTD_GCMD_TE);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), all & ~VTD_GSTS_TES);
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_CFI);
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_IRE);
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_QIE);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), VTD_GSTS_RTPS | VTD_GSTS_IRTPS);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 2);
    fx_free(f);
}
END_TEST

START_TEST(test_gcmd_unsupported)
{
    Fx *f = fx_new("qemu-7.2");     /* no IR, no RWBF, no AFL */
    vtd_fx_gcmd(f->u, VTD_GCMD_IRE, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_CFI, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_WBF, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), 0);
    vtd_fx_gcmd(f->u, VTD_GCMD_SFL, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4), 0);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 4);
    /* WBF with RWBF: completes at once, WBFS reads 0, no error. */
    VtdParams p;
    params_full(&p);
    Fx *g = fx_new_params(&p);
    vtd_fx_gcmd(g->u, VTD_GCMD_WBF, 0);
    ck_assert_uint_eq(vtd_fx_rd(g->u, 0x1c, 4), 0);
    vtd_fx_gcmd(g->u, VTD_GCMD_SFL, 0);
    ck_assert_uint_eq(vtd_fx_rd(g->u, 0x1c, 4), VTD_GSTS_FLS);
    ck_assert_uint_eq(vtd_unit_stats(g->u)->guest_errors, 0);
    fx_free(g);
    fx_free(f);
}
END_TEST

START_TEST(test_srtp_latches)
{
    Fx *f = fx_new(NULL);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x3000, &st), 0x203000);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    /* RTADDR changes only matter after SRTP. */
    vtd_fx_wr(f->u, 0x20, 0x30000, 8);
    const VtdXlateConfig *cfg = vtd_xlate_get_config(vtd_unit_xlate(f->u));
    ck_assert_uint_eq(cfg->rtaddr, VTD_FX_ROOT);
    ck_assert(cfg->te);
    vtd_fx_gcmd(f->u, VTD_GCMD_SRTP, 0);
    ck_assert_uint_eq(vtd_xlate_get_config(vtd_unit_xlate(f->u))->rtaddr, 0x30000);
    fx_free(f);
}
END_TEST

/* ---- register-based invalidation -------------------------------------------------- */

START_TEST(test_ccmd_granularities)
{
    Fx *f = fx_new(NULL);
    const struct { uint64_t cmd; unsigned caig; } cases[] = {
        { (UINT64_C(1) << 63) | (UINT64_C(1) << 61), 1 },                 /* global */
        { (UINT64_C(1) << 63) | (UINT64_C(2) << 61) | 5, 2 },             /* domain 5 */
        { (UINT64_C(1) << 63) | (UINT64_C(3) << 61) | (UINT64_C(3) << 32) | (0x08 << 16) | 5, 3 },
        { (UINT64_C(1) << 63), 0 },                                       /* reserved CIRG */
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
        vtd_fx_wr(f->u, 0x28, cases[i].cmd, 8);
        uint64_t v = vtd_fx_rd(f->u, 0x28, 8);
        ck_assert_msg(!(v >> 63), "ICC still set");
        ck_assert_uint_eq((v >> 59) & 3, cases[i].caig);
        ck_assert_uint_eq(v & ~(UINT64_C(3) << 59), cases[i].cmd & ~(UINT64_C(1) << 63));
    }
    VtdCacheStats cs;
    vtd_xlate_get_stats(vtd_unit_xlate(f->u), VTD_CACHE_CONTEXT, &cs);
    ck_assert_uint_eq(cs.invalidations, 3 + 1);   /* three commands + the reset flush */
    fx_free(f);
}
END_TEST

START_TEST(test_ccmd_stale_context)
{
    Fx *f = fx_new(NULL);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000, &st), 0x201000);
    /* Clear the context entry: the cached copy stays in force... */
    physmem_stq(f->mem, VTD_FX_CTX + 16 * (VTD_FX_SID & 0xff), 0);
    vtd_xlate_inv_iotlb_global(vtd_unit_xlate(f->u));
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    /* ...through an invalidation of another domain... */
    vtd_fx_wr(f->u, 0x28, (UINT64_C(1) << 63) | (UINT64_C(2) << 61) | 6, 8);
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    /* ...and of another device... */
    vtd_fx_wr(f->u, 0x28, (UINT64_C(1) << 63) | (UINT64_C(3) << 61) | (0x10 << 16) | VTD_FX_DID, 8);
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    /* ...until the device's own context entry is invalidated (FM=0). */
    vtd_fx_wr(f->u, 0x28, (UINT64_C(1) << 63) | (UINT64_C(3) << 61) | (VTD_FX_SID << 16) | VTD_FX_DID, 8);
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x28, 8) >> 59) & 3, 3);
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_FAULT);
    VtdFaultRecord r;
    vtd_unit_fault_record(f->u, 0, &r);
    ck_assert_uint_eq(vtd_frcd_FR(&r), 0x2);
    fx_free(f);
}
END_TEST

static void iotlb_cmd(Fx *f, unsigned iirg, uint16_t did, uint64_t iva)
{
    int64_t iro = vtd_unit_reg_offset(f->u, VTD_REG_IVA);
    vtd_fx_wr(f->u, (uint64_t)iro, iva, 8);
    vtd_fx_wr(f->u, (uint64_t)iro + 8, (UINT64_C(1) << 63) | ((uint64_t)iirg << 60) | ((uint64_t)did << 32), 8);
}

static unsigned iotlb_iaig(Fx *f)
{
    uint64_t v = vtd_fx_rd(f->u, (uint64_t)vtd_unit_reg_offset(f->u, VTD_REG_IOTLB), 8);
    ck_assert_msg(!(v >> 63), "IVT still set");
    return (unsigned)((v >> 57) & 3);
}

START_TEST(test_iotlb_register_granularities)
{
    Fx *f = fx_new(NULL);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), 0x200000 + 0x1000 * i);
    for (unsigned i = 0; i < 8; i++)
        remap_page(f, i, 0x400000 + 0x1000 * i);

    /* Another domain: everything stays cached (stale). */
    iotlb_cmd(f, 2, VTD_FX_DID + 1, 0);
    ck_assert_uint_eq(iotlb_iaig(f), 2);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), 0x200000 + 0x1000 * i);

    /* Page-selective, AM=1 at 0x2000: pages 2 and 3 refetched, the rest stale. */
    iotlb_cmd(f, 3, VTD_FX_DID, 0x2000 | 1);
    ck_assert_uint_eq(iotlb_iaig(f), 3);
    for (unsigned i = 0; i < 8; i++) {
        uint64_t want = (i == 2 || i == 3) ? 0x400000 : 0x200000;
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), want + 0x1000 * i);
    }
    /* AM above MAMV (18): ignored, IAIG=0. */
    iotlb_cmd(f, 3, VTD_FX_DID, 19);
    ck_assert_uint_eq(iotlb_iaig(f), 0);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x200000);
    /* Reserved IIRG: IAIG=0. */
    iotlb_cmd(f, 0, VTD_FX_DID, 0);
    ck_assert_uint_eq(iotlb_iaig(f), 0);
    /* Domain-selective for our domain. */
    iotlb_cmd(f, 2, VTD_FX_DID, 0);
    ck_assert_uint_eq(iotlb_iaig(f), 2);
    for (unsigned i = 0; i < 8; i++)
        ck_assert_uint_eq(vtd_fx_xlate(f->u, 0x1000 * i, &st), 0x400000 + 0x1000 * i);
    /* Global. */
    remap_page(f, 0, 0x600000);
    iotlb_cmd(f, 1, 0, 0);
    ck_assert_uint_eq(iotlb_iaig(f), 1);
    ck_assert_uint_eq(vtd_fx_xlate(f->u, 0, &st), 0x600000);
    fx_free(f);
}
END_TEST

START_TEST(test_iotlb_register_ih)
{
    Fx *f = fx_new(NULL);
    vtd_fx_legacy_tables(f->u, f->mem);
    VtdXlateStatus st;
    vtd_fx_xlate(f->u, 0x1000, &st);
    ck_assert_int_eq(st, VTD_XLATE_OK);
    VtdXlate *x = vtd_unit_xlate(f->u);
    unsigned psc = vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDE) +
                   vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDPE);
    ck_assert_uint_gt(psc, 0);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(x, VTD_CACHE_IOTLB), 1);
    /* IH=1: the leaf goes, the paging-structure caches stay. */
    iotlb_cmd(f, 3, VTD_FX_DID, 0x1000 | VTD_IVA_IH);
    ck_assert_uint_eq(iotlb_iaig(f), 3);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(x, VTD_CACHE_IOTLB), 0);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDE) +
                      vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDPE), psc);
    /* IH=0: the paging-structure entries covering the page go too. */
    vtd_fx_xlate(f->u, 0x1000, &st);
    iotlb_cmd(f, 3, VTD_FX_DID, 0x1000);
    ck_assert_uint_eq(vtd_xlate_cache_occupancy(x, VTD_CACHE_IOTLB), 0);
    ck_assert_uint_lt(vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDE) +
                      vtd_xlate_cache_occupancy(x, VTD_CACHE_PSC_PDPE), psc);
    fx_free(f);
}
END_TEST

START_TEST(test_iotlb_register_no_psi)
{
    VtdParams p;
    vtd_params_default(&p);
    p.cap = vtd_cap_set_PSI(p.cap, 0);
    Fx *f = fx_new_params(&p);
    iotlb_cmd(f, 3, VTD_FX_DID, 0x2000);
    ck_assert_uint_eq(iotlb_iaig(f), 2);    /* performed as domain-selective */
    fx_free(f);
}
END_TEST

START_TEST(test_register_inv_ignored_with_qi)
{
    Fx *f = fx_new(NULL);
    vtd_fx_gcmd(f->u, VTD_GCMD_QIE, 0);
    vtd_fx_wr(f->u, 0x28, (UINT64_C(1) << 63) | (UINT64_C(1) << 61), 8);
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x28, 8) >> 59) & 3, 0);
    iotlb_cmd(f, 1, 0, 0);
    ck_assert_uint_eq(iotlb_iaig(f), 0);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->guest_errors, 2);
    fx_free(f);
}
END_TEST

/* ---- fault recording ---------------------------------------------------------------- */

static VtdFaultInfo finfo(unsigned n)
{
    VtdFaultInfo fi = {
        .reason = 0x5, .sid = 0x0100 + (uint16_t)n, .addr = 0x1000 * (n + 1) + 0x123,
        .type = VTD_FT_WRITE, .at = PCIE_AT_UNTRANSLATED,
    };
    return fi;
}

START_TEST(test_fault_record_fields)
{
    Fx *f = fx_new(NULL);
    VtdFaultInfo fi = {
        .reason = 0x81, .sid = 0x1234, .addr = UINT64_C(0x7fffabcde123), .type = VTD_FT_READ,
        .at = PCIE_AT_TRANSLATED, .pasid_present = true, .pasid = 0xabcde, .priv = true, .exec = true,
    };
    ck_assert(vtd_unit_record_fault(f->u, &fi));
    uint64_t lo = vtd_fx_rd(f->u, 0x220, 8), hi = vtd_fx_rd(f->u, 0x228, 8);
    ck_assert_uint_eq(lo, UINT64_C(0x7fffabcde000));
    /* VTD_FX_SID 15:0, T2 28=0, PRIV 29, EXE 30, PP 31, FR 39:32, PV 59:40, AT 61:60, T1 62, F 63 */
    uint64_t want = 0x1234 | (UINT64_C(1) << 29) | (UINT64_C(1) << 30) | (UINT64_C(1) << 31) |
                    (UINT64_C(0x81) << 32) | (UINT64_C(0xabcde) << 40) | (UINT64_C(2) << 60) |
                    (UINT64_C(1) << 62) | (UINT64_C(1) << 63);
    ck_assert_uint_eq(hi, want);
    VtdFaultRecord r;
    vtd_unit_fault_record(f->u, 0, &r);
    ck_assert_uint_eq(vtd_frcd_SID(&r), 0x1234);
    ck_assert_uint_eq(vtd_frcd_T1(&r), 1);
    ck_assert_uint_eq(vtd_frcd_T2(&r), 0);
    /* An AtomicOp: T1=1, T2=1; a page request: T1=0, T2=1. */
    fi.type = VTD_FT_ATOMIC;
    ck_assert(vtd_unit_record_fault(f->u, &fi));
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x238, 8) >> 62) & 1, 1);
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x238, 8) >> 28) & 1, 1);
    fi.type = VTD_FT_PAGE_REQ;
    ck_assert(vtd_unit_record_fault(f->u, &fi));
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x248, 8) >> 62) & 1, 0);
    ck_assert_uint_eq((vtd_fx_rd(f->u, 0x248, 8) >> 28) & 1, 1);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF);   /* FRI 0 */
    /* Records are read-only except F. */
    vtd_fx_wr(f->u, 0x220, 0, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x220, 8), UINT64_C(0x7fffabcde000));
    vtd_fx_wr(f->u, 0x228, ~(UINT64_C(1) << 63), 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x228, 8), want);
    fx_free(f);
}
END_TEST

START_TEST(test_fault_overflow_and_wrap)
{
    Fx *f = fx_new(NULL);   /* 8 records at 0x220 */
    ck_assert_uint_eq(vtd_unit_num_fault_records(f->u), 8);
    for (unsigned i = 0; i < 8; i++)
        ck_assert(vtd_unit_record_fault(f->u, &(VtdFaultInfo){ .reason = 5, .sid = 0x42, .addr = 0x1000 * i }));
    /* Same source eight times: eight records, nothing collapsed. */
    for (unsigned i = 0; i < 8; i++) {
        uint64_t hi = vtd_fx_rd(f->u, 0x228 + 16 * i, 8);
        ck_assert_uint_eq(hi >> 63, 1);
        ck_assert_uint_eq(hi & 0xffff, 0x42);
        ck_assert_uint_eq(vtd_fx_rd(f->u, 0x220 + 16 * i, 8), 0x1000 * i);
    }
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF);
    /* Ninth: the slot it would use (0) still has F set: lost, PFO. */
    VtdFaultInfo ninth = finfo(9);
    ck_assert(!vtd_unit_record_fault(f->u, &ninth));
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF | VTD_FSTS_PFO);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->faults_overflow, 1);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x220, 8), 0);
    /* Software clears F of record 3 only: the next slot is still 0, still full. */
    vtd_fx_wr(f->u, 0x22c + 16 * 3, 0x80000000, 4);
    ck_assert(!vtd_unit_record_fault(f->u, &ninth));
    ck_assert_uint_eq(vtd_unit_stats(f->u)->faults_overflow, 2);
    /* Clear record 0: the next fault wraps into it although PFO is still set. */
    vtd_fx_wr(f->u, 0x228, UINT64_C(1) << 63, 8);
    ck_assert(vtd_unit_record_fault(f->u, &ninth));
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x220, 8), 0xa000);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x228, 8) & 0xffff, 0x109);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF | VTD_FSTS_PFO);   /* FRI stays 0 */
    /* Next goes to record 1, which is full. */
    ck_assert(!vtd_unit_record_fault(f->u, &ninth));
    /* Service everything: PPF and PFO clear. */
    for (unsigned i = 0; i < 8; i++)
        vtd_fx_wr(f->u, 0x228 + 16 * i, UINT64_C(1) << 63, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PFO);
    vtd_fx_wr(f->u, 0x34, VTD_FSTS_PFO, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    /* The next fault lands in record 1; FRI reports it. */
    ck_assert(vtd_unit_record_fault(f->u, &ninth));
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x238, 8) >> 63, 1);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF | (1 << 8));
    fx_free(f);
}
END_TEST

START_TEST(test_fault_from_dma)
{
    Fx *f = fx_new(NULL);
    vtd_fx_legacy_tables(f->u, f->mem);
    physmem_stq(f->mem, VTD_FX_SL1 + 8 * 5, 0x205000 | 1);     /* read-only page */
    uint32_t val = 0x11223344;
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MWR, VTD_FX_SID, 0x5010, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &val), PCIE_CPL_UR);
    ck_assert_uint_eq(physmem_ldl(f->mem, 0x205010), 0);
    uint64_t hi = vtd_fx_rd(f->u, 0x228, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x220, 8), 0x5000);
    ck_assert_uint_eq(hi, VTD_FX_SID | (UINT64_C(5) << 32) | (UINT64_C(1) << 63));   /* write: T1=0 T2=0 */
    /* A read of the same page works and reads the translated address. */
    physmem_stl(f->mem, 0x205010, 0xcafef00d);
    t = pcie_tlp_mem(PCIE_TLP_MRD, VTD_FX_SID, 0x5010, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &val), PCIE_CPL_SC);
    ck_assert_uint_eq(val, 0xcafef00d);
    /* An unmapped page read: UR, data all ones, reason 0x6 recorded in record 1, T1=1. */
    physmem_stq(f->mem, VTD_FX_SL1 + 8 * 6, 0);
    t = pcie_tlp_mem(PCIE_TLP_MRD, VTD_FX_SID, 0x6000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &val), PCIE_CPL_UR);
    ck_assert_uint_eq(val, 0xffffffff);
    hi = vtd_fx_rd(f->u, 0x238, 8);
    ck_assert_uint_eq((hi >> 32) & 0xff, 0x6);
    ck_assert_uint_eq((hi >> 62) & 1, 1);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->faults_recorded, 2);
    fx_free(f);
}
END_TEST

START_TEST(test_fault_event_msi)
{
    Fx *f = fx_new(NULL);
    vtd_fx_wr(f->u, 0x3c, 0x4041, 4);
    vtd_fx_wr(f->u, 0x40, 0xfee01000, 4);
    /* IM=1 (reset): the event is held in IP. */
    VtdFaultInfo fi = finfo(0);
    vtd_unit_record_fault(f->u, &fi);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), VTD_FECTL_IM | VTD_FECTL_IP);
    ck_assert_uint_eq(f->msis->len, 0);
    /* Clearing IM delivers it. */
    vtd_fx_wr(f->u, 0x38, 0, 4);
    ck_assert_uint_eq(f->msis->len, 1);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).addr, 0xfee01000);
    ck_assert_uint_eq(g_array_index(f->msis, Msi, 0).data, 0x4041);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), 0);
    /* More faults while PPF is pending: no new event. */
    vtd_unit_record_fault(f->u, &fi);
    ck_assert_uint_eq(f->msis->len, 1);
    /* Service both, then a new fault: immediate MSI. */
    vtd_fx_wr(f->u, 0x228, UINT64_C(1) << 63, 8);
    vtd_fx_wr(f->u, 0x238, UINT64_C(1) << 63, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4) & VTD_FSTS_PPF, 0);
    vtd_unit_record_fault(f->u, &fi);
    ck_assert_uint_eq(f->msis->len, 2);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), 0);
    /* Masked, pending, then serviced before unmasking: IP clears, nothing delivered. */
    vtd_fx_wr(f->u, 0x248, UINT64_C(1) << 63, 8);
    vtd_fx_wr(f->u, 0x38, VTD_FECTL_IM, 4);
    vtd_unit_record_fault(f->u, &fi);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), VTD_FECTL_IM | VTD_FECTL_IP);
    vtd_fx_wr(f->u, 0x258, UINT64_C(1) << 63, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x38, 4), VTD_FECTL_IM);
    vtd_fx_wr(f->u, 0x38, 0, 4);
    ck_assert_uint_eq(f->msis->len, 2);
    /* PFO is an event source too (when nothing else is pending). */
    vtd_fx_wr(f->u, 0x38, 0, 4);
    for (unsigned i = 0; i < 8; i++)
        vtd_unit_record_fault(f->u, &fi);
    ck_assert_uint_eq(f->msis->len, 3);         /* only the first of the eight */
    ck_assert(!vtd_unit_record_fault(f->u, &fi));
    ck_assert_uint_eq(f->msis->len, 3);         /* PFO while PPF pending: no event */
    ck_assert_uint_eq(vtd_unit_stats(f->u)->fault_events, 3);
    fx_free(f);
}
END_TEST

/* ---- protected memory regions and TE=0 ---------------------------------------------- */

START_TEST(test_pmr_and_passthrough)
{
    Fx *f = fx_new("xeon");
    physmem_stl(f->mem, 0x250000, 0x5a5a5a5a);
    physmem_stl(f->mem, 0x450000, 0x6b6b6b6b);
    uint32_t v = 0;
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x250000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_SC);   /* TE=0: untranslated */
    ck_assert_uint_eq(v, 0x5a5a5a5a);
    vtd_fx_wr(f->u, 0x68, 0x200000, 4);
    vtd_fx_wr(f->u, 0x6c, 0x200000, 4);
    vtd_fx_wr(f->u, 0x64, VTD_PMEN_EPM, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x64, 4), VTD_PMEN_EPM | VTD_PMEN_PRS);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_UR);
    ck_assert_uint_eq(v, 0xffffffff);
    t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x3ffffc, 4);     /* last dword of the 2 MiB granule */
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_UR);
    t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x450000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 0x6b6b6b6b);
    uint32_t w = 0x77;
    t = pcie_tlp_mem(PCIE_TLP_MWR, 0x0100, 0x250000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &w), PCIE_CPL_UR);
    ck_assert_uint_eq(physmem_ldl(f->mem, 0x250000), 0x5a5a5a5a);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->blocked_pmr, 3);
    vtd_fx_wr(f->u, 0x64, 0, 4);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x64, 4), 0);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &w), PCIE_CPL_SC);
    ck_assert_uint_eq(physmem_ldl(f->mem, 0x250000), 0x77);
    fx_free(f);
}
END_TEST

START_TEST(test_abort_dma_mode)
{
    VtdParams p;
    vtd_params_default(&p);
    p.ecap = vtd_ecap_set_ADMS(p.ecap, 1);
    Fx *f = fx_new_params(&p);
    physmem_stl(f->mem, 0x1000, 0x12345678);
    vtd_fx_wr(f->u, 0x20, 0x10000 | (3 << 10), 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SRTP, 0);
    uint32_t v = 0;
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x1000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_SC);   /* TE=0: not yet */
    ck_assert_uint_eq(v, 0x12345678);
    vtd_fx_gcmd(f->u, VTD_GCMD_TE, 0);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &v), PCIE_CPL_UR);
    ck_assert_uint_eq(v, 0xffffffff);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->blocked_abort, 1);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);                                 /* nothing recorded */
    ck_assert_ptr_null(vtd_unit_last_guest_error(f->u));
    fx_free(f);
    /* The same TTM without ADMS is a guest error at SRTP. */
    f = fx_new(NULL);
    vtd_fx_wr(f->u, 0x20, 0x10000 | (3 << 10), 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SRTP, 0);
    ck_assert_ptr_nonnull(vtd_unit_last_guest_error(f->u));
    fx_free(f);
}
END_TEST

START_TEST(test_atomics)
{
    Fx *f = fx_new(NULL);
    physmem_stl(f->mem, 0x2000, 5);
    uint32_t op = 3;
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_FETCHADD, 0x0100, 0x2000, 4);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &op), PCIE_CPL_SC);
    ck_assert_uint_eq(op, 5);
    ck_assert_uint_eq(physmem_ldl(f->mem, 0x2000), 8);
    uint64_t cas[2] = { 8, 0x99 };
    physmem_stq(f->mem, 0x2008, 8);
    t = pcie_tlp_mem(PCIE_TLP_CAS, 0x0100, 0x2008, 16);
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, cas), PCIE_CPL_SC);
    ck_assert_uint_eq(cas[0], 8);
    ck_assert_uint_eq(physmem_ldq(f->mem, 0x2008), 0x99);
    uint64_t cas2[2] = { 8, 0x77 };          /* compare fails: memory unchanged */
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, cas2), PCIE_CPL_SC);
    ck_assert_uint_eq(cas2[0], 0x99);
    ck_assert_uint_eq(physmem_ldq(f->mem, 0x2008), 0x99);
    /* Through translation: an atomic to a read-only page faults as an AtomicOp (T1=1, T2=1). */
    vtd_fx_legacy_tables(f->u, f->mem);
    physmem_stq(f->mem, VTD_FX_SL1 + 8 * 2, 0x202000 | 1);
    t = pcie_tlp_mem(PCIE_TLP_SWAP, VTD_FX_SID, 0x2000, 4);
    op = 1;
    ck_assert_int_eq(vtd_unit_mem_request(f->u, &t, &op), PCIE_CPL_UR);
    uint64_t hi = vtd_fx_rd(f->u, 0x228, 8);
    ck_assert_uint_eq((hi >> 62) & 1, 1);
    ck_assert_uint_eq((hi >> 28) & 1, 1);
    ck_assert_uint_eq((hi >> 32) & 0xff, 0x5);
    fx_free(f);
}
END_TEST

/* ---- dump -------------------------------------------------------------------------- */

START_TEST(test_regset_golden)
{
    Fx *f = fx_new("qemu-7.2");
    vtd_fx_legacy_tables(f->u, f->mem);
    vtd_fx_wr(f->u, 0x3c, 0x4021, 4);
    vtd_fx_wr(f->u, 0x40, 0xfee00000, 4);
    g_autoptr(GString) out = g_string_new(NULL);
    vtd_unit_dump_regset(f->u, "dmar0", 0xfed90000, out);
    g_autofree char *want = NULL;
    GError *err = NULL;
    ck_assert_msg(g_file_get_contents(TEST_SRC_PATH("tests/golden/vtd_regset_qemu72.txt"), &want, NULL, &err),
                  "%s", err ? err->message : "");
    ck_assert_str_eq(out->str, want);
    fx_free(f);
}
END_TEST

/* ---- parameters --------------------------------------------------------------------- */

START_TEST(test_presets_decode)
{
    VtdParams p;
    ck_assert(vtd_params_preset(&p, "qemu-7.2", NULL));
    ck_assert_uint_eq(vtd_cap_ND(p.cap), 6);
    ck_assert_uint_eq(vtd_cap_SAGAW(p.cap), VTD_SAGAW_39);
    ck_assert_uint_eq(vtd_cap_MGAW(p.cap), 38);
    ck_assert_uint_eq(vtd_cap_FRO(p.cap), 0x22);
    ck_assert_uint_eq(vtd_cap_NFR(p.cap), 0);
    ck_assert_uint_eq(vtd_cap_MAMV(p.cap), 18);
    ck_assert_uint_eq(vtd_cap_SLLPS(p.cap), 3);
    ck_assert_uint_eq(vtd_cap_PSI(p.cap), 1);
    ck_assert_uint_eq(vtd_cap_DWD(p.cap) & vtd_cap_DRD(p.cap), 1);
    ck_assert_uint_eq(vtd_cap_CM(p.cap), 0);
    ck_assert_uint_eq(vtd_ecap_IRO(p.ecap), 0xf);
    ck_assert_uint_eq(vtd_ecap_QI(p.ecap) & vtd_ecap_PT(p.ecap), 1);
    ck_assert_uint_eq(vtd_ecap_IR(p.ecap) | vtd_ecap_DT(p.ecap) | vtd_ecap_SMTS(p.ecap), 0);
    ck_assert_uint_eq(vtd_cap_num_domains(p.cap), 65536);
    ck_assert(vtd_params_preset(&p, "xeon", NULL));
    ck_assert_uint_eq(vtd_cap_SAGAW(p.cap), VTD_SAGAW_48);
    ck_assert_uint_eq(vtd_cap_MGAW(p.cap), 47);
    ck_assert_uint_eq(vtd_cap_NFR(p.cap), 7);
    ck_assert_uint_eq(vtd_cap_FRO(p.cap), 0x10);
    ck_assert_uint_eq(vtd_ecap_IRO(p.ecap), 0x20);
    ck_assert_uint_eq(vtd_ecap_MHMV(p.ecap), 15);
    ck_assert_uint_eq(vtd_ecap_C(p.ecap) & vtd_ecap_EIM(p.ecap) & vtd_ecap_SC(p.ecap), 1);
    ck_assert(vtd_params_preset(&p, "xeon-bdw", NULL));
    ck_assert_uint_eq(p.cap, UINT64_C(0x08d2078c106f0466));
    GError *err = NULL;
    ck_assert(!vtd_params_preset(&p, "sapphire", &err));
    ck_assert_ptr_nonnull(strstr(err->message, "sapphire"));
    g_error_free(err);
}
END_TEST

START_TEST(test_keyfile)
{
    const char *text =
        "[vtd0]\n"
        "preset = xeon\n"
        "cap.sagaw = 0x6\n"
        "ecap.QI = 0\n"
        "nfr = 4\n"
        "haw = 46\n"
        "cache.iotlb.entries = 128\n"
        "cache.iotlb.assoc = 4\n"
        "cache.iotlb.repl = fifo\n";
    g_autoptr(GKeyFile) kf = g_key_file_new();
    ck_assert(g_key_file_load_from_data(kf, text, (gsize)-1, 0, NULL));
    VtdParams p;
    vtd_params_default(&p);
    GError *err = NULL;
    ck_assert_msg(vtd_params_from_keyfile(&p, kf, "vtd0", &err), "%s", err ? err->message : "");
    ck_assert_uint_eq(p.cap, (UINT64_C(0x00d2078c106f0466) & ~(UINT64_C(0x1f) << 8) & ~(UINT64_C(0xff) << 40)) |
                             (UINT64_C(6) << 8) | (UINT64_C(3) << 40));
    ck_assert_uint_eq(p.ecap, UINT64_C(0xf020dd));
    ck_assert_uint_eq(p.haw, 46);
    ck_assert_uint_eq(p.cache.cache[VTD_CACHE_IOTLB].entries, 128);
    ck_assert_uint_eq(p.cache.cache[VTD_CACHE_IOTLB].assoc, 4);
    ck_assert_int_eq(p.cache.cache[VTD_CACHE_IOTLB].repl, VTD_REPL_FIFO);

    const struct { const char *body; const char *key; } bad[] = {
        { "cap.bogus = 1\n", "cap.bogus" },
        { "cap.nd = 9\n", "cap.nd" },
        { "ecap.iro = zz\n", "ecap.iro" },
        { "nfr = 0\n", "nfr" },
        { "nfr = 300\n", "nfr" },
        { "preset = nope\n", "preset" },
        { "colour = red\n", "colour" },
        { "cache.iotlb.repl = mru\n", "cache.iotlb.repl" },
        { "cache.tlb9.entries = 4\n", "cache.tlb9.entries" },
        { "cap = -1\n", "cap" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_autofree char *t = g_strconcat("[u]\n", bad[i].body, NULL);
        g_autoptr(GKeyFile) k = g_key_file_new();
        ck_assert(g_key_file_load_from_data(k, t, (gsize)-1, 0, NULL));
        VtdParams q;
        vtd_params_default(&q);
        GError *e = NULL;
        ck_assert_msg(!vtd_params_from_keyfile(&q, k, "u", &e), "accepted %s", bad[i].body);
        ck_assert_msg(g_str_has_prefix(e->message, bad[i].key), "message '%s' does not name %s",
                      e->message, bad[i].key);
        g_error_free(e);
    }
    /* A missing group changes nothing. */
    VtdParams q, r;
    vtd_params_default(&q);
    r = q;
    ck_assert(vtd_params_from_keyfile(&q, kf, "absent", NULL));
    ck_assert(memcmp(&q, &r, sizeof(q)) == 0);
}
END_TEST

START_TEST(test_layout_validation)
{
    VtdParams p;
    vtd_params_default(&p);
    GError *err = NULL;
    /* FRCDs (8 x 16 bytes from 0xf0) over the IOTLB pair at 0xf0. */
    p.cap = vtd_cap_set_FRO(p.cap, 0xf);
    EmuSim *sim = emu_sim_new();
    AddrSpace *as = addr_space_new("dma", UINT64_C(1) << 39, 0);
    ck_assert_ptr_null(vtd_unit_new(sim, &p, as, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "cap.FRO"));
    g_clear_error(&err);
    /* IOTLB pair over IQA (0x90). */
    vtd_params_default(&p);
    p.ecap = vtd_ecap_set_IRO(p.ecap, 0x9);
    ck_assert_ptr_null(vtd_unit_new(sim, &p, as, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "IQA"));
    g_clear_error(&err);
    /* Many records push the window beyond one page. */
    vtd_params_default(&p);
    p.cap = vtd_cap_set_NFR(p.cap, 255);
    VtdUnit *u = vtd_unit_new(sim, &p, as, &err);
    ck_assert_ptr_nonnull(u);
    ck_assert_uint_eq(vtd_unit_mmio_size(u), 0x2000);   /* 0x220 + 256 * 16 = 0x1220 */
    ck_assert_uint_eq(vtd_unit_num_fault_records(u), 256);
    vtd_unit_free(u);
    addr_space_free(as);
    emu_sim_free(sim);
}
END_TEST

START_TEST(test_fault_reason_strings)
{
    ck_assert_str_eq(vtd_fault_reason_name(0x1), "ROOT_NOT_PRESENT");
    ck_assert_str_eq(vtd_fault_reason_name(0x5B), "SM_PTE_INVALID");
    ck_assert_ptr_nonnull(strstr(vtd_fault_reason_str(0x2), "context entry"));
    ck_assert_ptr_nonnull(strstr(vtd_fault_reason_str(0x26), "Source-ID"));
    ck_assert_str_eq(vtd_fault_reason_str(0x0F), "reserved fault reason");
    ck_assert_ptr_null(vtd_fault_reason_name(0x33));
    unsigned n = 0;
    for (unsigned c = 0; c < 256; c++)
        n += vtd_fault_reason_name(c) != NULL;
    ck_assert_uint_eq(n, 14 + 7 + 47);
}
END_TEST

static Suite *suite_vtd_regs(void)
{
    Suite *s = suite_create("vtd_regs");
    TCase *tc = tcase_create("regs");
    tcase_add_test(tc, test_reset_qemu72);
    tcase_add_test(tc, test_reset_xeon);
    tcase_add_test(tc, test_reset_full);
    tcase_add_test(tc, test_write_masks);
    tcase_add_test(tc, test_write_masks_capability_dependent);
    tcase_add_test(tc, test_access_sizes);
    tcase_add_test(tc, test_gcmd_sequence);
    tcase_add_test(tc, test_gcmd_unsupported);
    tcase_add_test(tc, test_srtp_latches);
    suite_add_tcase(s, tc);
    tc = tcase_create("invalidation");
    tcase_add_test(tc, test_ccmd_granularities);
    tcase_add_test(tc, test_ccmd_stale_context);
    tcase_add_test(tc, test_iotlb_register_granularities);
    tcase_add_test(tc, test_iotlb_register_ih);
    tcase_add_test(tc, test_iotlb_register_no_psi);
    tcase_add_test(tc, test_register_inv_ignored_with_qi);
    suite_add_tcase(s, tc);
    tc = tcase_create("faults");
    tcase_add_test(tc, test_fault_record_fields);
    tcase_add_test(tc, test_fault_overflow_and_wrap);
    tcase_add_test(tc, test_fault_from_dma);
    tcase_add_test(tc, test_fault_event_msi);
    tcase_add_test(tc, test_fault_reason_strings);
    suite_add_tcase(s, tc);
    tc = tcase_create("platform");
    tcase_add_test(tc, test_pmr_and_passthrough);
    tcase_add_test(tc, test_abort_dma_mode);
    tcase_add_test(tc, test_regset_golden);
    tcase_add_test(tc, test_atomics);
    tcase_add_test(tc, test_presets_decode);
    tcase_add_test(tc, test_keyfile);
    tcase_add_test(tc, test_layout_validation);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vtd_regs)
