/*
 * Tests of interrupt remapping in the VT-d unit model (models/vtd/vtd_ir.c):
 * IRTA/SIRTP/EIME/size, every remapped-format IRTE field in xAPIC and
 * x2APIC mode, the remappable MSI decode (handle, bit 15, SHV,
 * subhandle), compatibility format against CFIS and EIME, every fault
 * reason 0x20-0x26 with the interrupt index in the record and FPD
 * qualification, source-ID validation truth tables (SVT/SQ, bus ranges),
 * posted interrupts and their coalescing, and the interrupt entry cache
 * with its stale-until-invalidated rule.
 *
 * The unit is driven through its registers and its invalidation queue,
 * as a driver would; IRTEs and descriptors are written into a RAM-backed
 * address space.
 */
#include <string.h>
#include "check_util.h"
#include "fixture_vtd.h"
#include "models/vtd/vtd.h"
#include "mem/physmem.h"

#define IQ_BASE 0x40000
#define IRT_BASE 0x100000     /* up to 1 MiB of IRTEs */
#define PID_BASE 0x300000
#define STATUS 0x310000
#define RAM_SIZE (UINT64_C(1) << 30)

typedef struct Fx {
    EmuSim *sim;
    PhysMem *mem;
    AddrSpace *as;
    VtdUnit *u;
    uint64_t tail;
    GArray *msis;
} Fx;

static void fx_msi(void *opaque, uint64_t addr, uint32_t data)
{
    Fx *f = opaque;
    uint64_t m[2] = { addr, data };
    g_array_append_vals(f->msis, m, 2);
}

static void mem_w64(Fx *f, uint64_t addr, uint64_t v)
{
    uint64_t le = GUINT64_TO_LE(v);
    ck_assert_int_eq(addr_space_rw(f->as, addr, &le, 8, true), MEMTX_OK);
}

static uint64_t mem_r64(Fx *f, uint64_t addr)
{
    uint64_t le = 0;
    ck_assert_int_eq(addr_space_rw(f->as, addr, &le, 8, false), MEMTX_OK);
    return GUINT64_FROM_LE(le);
}

static void put_irte(Fx *f, unsigned index, VtdIrte e)
{
    mem_w64(f, IRT_BASE + 16 * (uint64_t)index, e.val[0]);
    mem_w64(f, IRT_BASE + 16 * (uint64_t)index + 8, e.val[1]);
}

/* Latches IRTA = IRT_BASE | EIME | S with SIRTP. */
static void set_irta(Fx *f, unsigned s, bool eime)
{
    vtd_fx_wr(f->u, 0xb8, IRT_BASE | (eime ? 0x800 : 0) | s, 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SIRTP, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4) & VTD_GSTS_IRTPS, VTD_GSTS_IRTPS);
}

/* A unit from @preset with (optionally) CAP.PI forced; 256-entry x2APIC table, IR enabled, QI on. */
static Fx *fx_new_cap(const char *preset, bool pi, bool esirtps)
{
    Fx *f = g_new0(Fx, 1);
    VtdParams p;
    GError *err = NULL;
    ck_assert(vtd_params_preset(&p, preset, &err));
    p.cap = vtd_cap_set_PI(p.cap, pi);
    p.cap = vtd_cap_set_ESIRTPS(p.cap, esirtps);
    f->sim = emu_sim_new();
    f->mem = physmem_new(39);
    f->as = addr_space_new("dma", UINT64_C(1) << 39, 0);
    addr_space_add_ram(f->as, "ram", 0, RAM_SIZE, f->mem, 0, 0);
    f->u = vtd_unit_new(f->sim, &p, f->as, &err);
    ck_assert_msg(f->u != NULL, "%s", err ? err->message : "");
    f->msis = g_array_new(FALSE, TRUE, sizeof(uint64_t));
    vtd_unit_set_msi_sink(f->u, fx_msi, f);
    vtd_fx_wr(f->u, 0x88, 0, 8);
    vtd_fx_wr(f->u, 0x90, IQ_BASE, 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_QIE, 0);
    set_irta(f, 7, true);
    vtd_fx_gcmd(f->u, VTD_GCMD_IRE, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4) & VTD_GSTS_IRES, VTD_GSTS_IRES);
    return f;
}

static Fx *fx_new(void)
{
    return fx_new_cap("xeon-bdw", true, false);
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

/* Submits one 128-bit descriptor and checks that the queue drained it. */
static void submit(Fx *f, uint64_t q0, uint64_t q1)
{
    mem_w64(f, IQ_BASE + f->tail, q0);
    mem_w64(f, IQ_BASE + f->tail + 8, q1);
    f->tail = (f->tail + 16) % 4096;
    vtd_fx_wr(f->u, 0x88, f->tail, 8);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x80, 8), f->tail);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4) & VTD_FSTS_IQE, 0);
}

static void iec_global(Fx *f)
{
    submit(f, 0x4, 0);
}

static void iec_index(Fx *f, uint16_t iidx, unsigned im)
{
    submit(f, 0x4 | 0x10 | ((uint64_t)im << 27) | ((uint64_t)iidx << 32), 0);
}

static VtdIrStatus remap(Fx *f, uint16_t sid, uint64_t addr, uint32_t data, VtdIrResult *r)
{
    return vtd_unit_remap_interrupt(f->u, sid, addr, data, r);
}

/* Remappable MSI to @handle (no SHV). */
static VtdIrStatus remap_idx(Fx *f, uint16_t sid, uint16_t handle, VtdIrResult *r)
{
    return remap(f, sid, vtd_msi_remappable_addr(handle, false), 0, r);
}

/* Reads fault record @i and clears it (and PPF). */
static VtdFaultRecord take_fault(Fx *f, unsigned i)
{
    VtdFaultRecord rec;
    vtd_unit_fault_record(f->u, i, &rec);
    int64_t off = vtd_unit_reg_offset(f->u, VTD_REG_FRCD_LO) + 16 * i;
    vtd_fx_wr(f->u, (uint64_t)off + 12, 0x80000000u, 4);   /* F is RW1C */
    return rec;
}

/* Asserts the next fault record: reason, SID, interrupt index, write type. */
static void expect_fault(Fx *f, unsigned rec_index, uint8_t reason, uint16_t sid, uint16_t iidx)
{
    VtdFaultRecord r = take_fault(f, rec_index);
    ck_assert_uint_eq(vtd_frcd_F(&r), 1);
    ck_assert_uint_eq(vtd_frcd_FR(&r), reason);
    ck_assert_uint_eq(vtd_frcd_SID(&r), sid);
    ck_assert_uint_eq(vtd_frcd_IIDX(&r), iidx);
    ck_assert_uint_eq(vtd_frcd_FI(&r) & UINT64_C(0xfffffffff), 0);   /* FI[47:12] clear */
    ck_assert_uint_eq(vtd_frcd_T1(&r), 0);                          /* a write */
    ck_assert_uint_eq(vtd_frcd_T2(&r), 0);
    ck_assert_uint_eq(vtd_frcd_PP(&r), 0);
}

/* ---- pass-through and compatibility format ------------------------------------------- */

START_TEST(test_ir_disabled_passes_everything)
{
    Fx *f = fx_new();
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_IRE);
    VtdIrResult r;
    /* compatibility: dest 0x12, logical, RH, vector 0x41, lowest priority, level */
    ck_assert_int_eq(remap(f, 0x0100, 0xfee1200c, 0xc141, &r), VTD_IR_DELIVER);
    ck_assert(!r.remapped && !r.index_valid);
    ck_assert_uint_eq(r.dest, 0x12);
    ck_assert(r.logical && r.rh && r.level && !r.x2apic);
    ck_assert_uint_eq(r.vector, 0x41);
    ck_assert_uint_eq(r.dlm, VTD_DLM_LOWEST);
    /* a remappable-format message is not remapped either */
    put_irte(f, 3, vtd_irte_remapped(0x77, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0x0100, 3, &r), VTD_IR_DELIVER);
    ck_assert(!r.remapped);
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->passed, 2);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_compat_format_cfis_eime)
{
    Fx *f = fx_new();     /* EIME=1, CFIS=0 */
    VtdIrResult r;
    ck_assert_int_eq(remap(f, 0x0208, 0xfee01000, 0x31, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_COMPAT_BLOCKED);
    ck_assert(r.fault_recorded);
    expect_fault(f, 0, 0x25, 0x0208, 0);
    /* CFIS does not help in x2APIC mode */
    vtd_fx_gcmd(f->u, VTD_GCMD_CFI, 0);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x1c, 4) & VTD_GSTS_CFIS, VTD_GSTS_CFIS);
    ck_assert_int_eq(remap(f, 0x0208, 0xfee01000, 0x31, &r), VTD_IR_BLOCKED);
    expect_fault(f, 1, 0x25, 0x0208, 0);
    /* xAPIC mode with CFIS: passed through untouched */
    set_irta(f, 7, false);
    ck_assert_int_eq(remap(f, 0x0208, 0xfee01000, 0x31, &r), VTD_IR_DELIVER);
    ck_assert(!r.remapped);
    ck_assert_uint_eq(r.dest, 1);
    ck_assert_uint_eq(r.vector, 0x31);
    /* xAPIC mode without CFIS: blocked */
    vtd_fx_gcmd(f->u, 0, VTD_GCMD_CFI);
    ck_assert_int_eq(remap(f, 0x0208, 0xfee01000, 0x31, &r), VTD_IR_BLOCKED);
    expect_fault(f, 2, 0x25, 0x0208, 0);
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->blocked, 3);
    fx_free(f);
}
END_TEST

/* ---- remapped IRTE fields --------------------------------------------------------------- */

START_TEST(test_remapped_fields_x2apic)
{
    Fx *f = fx_new();
    static const struct {
        uint8_t vector;
        uint32_t dst;
        unsigned dlm;
        bool level, logical, rh;
    } rows[] = {
        { 0x20, 0x00000001, VTD_DLM_FIXED, false, false, false },
        { 0xfe, 0xfffffffe, VTD_DLM_LOWEST, true, true, true },
        { 0x00, 0x00012345, VTD_DLM_SMI, false, false, true },
        { 0x02, 0x80000000, VTD_DLM_NMI, false, true, false },
        { 0x00, 0x00000100, VTD_DLM_INIT, true, false, false },
        { 0x07, 0x00000003, VTD_DLM_EXTINT, false, false, false },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(rows); i++) {
        VtdIrte e = vtd_irte_remapped(rows[i].vector, rows[i].dst, false, rows[i].dlm, rows[i].level,
                                      rows[i].logical, rows[i].rh);
        vtd_irte_set_AVAIL(&e, 0xf);            /* software bits: ignored */
        put_irte(f, 10 + i, e);
        VtdIrResult r;
        ck_assert_int_eq(remap_idx(f, 0x0300, (uint16_t)(10 + i), &r), VTD_IR_DELIVER);
        ck_assert(r.remapped && r.x2apic && !r.iec_hit);
        ck_assert_uint_eq(r.index, 10 + i);
        ck_assert_uint_eq(r.vector, rows[i].vector);
        ck_assert_uint_eq(r.dest, rows[i].dst);
        ck_assert_uint_eq(r.dlm, rows[i].dlm);
        ck_assert_int_eq(r.level, rows[i].level);
        ck_assert_int_eq(r.logical, rows[i].logical);
        ck_assert_int_eq(r.rh, rows[i].rh);
    }
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->remapped, G_N_ELEMENTS(rows));
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), 0);
    fx_free(f);
}
END_TEST

START_TEST(test_remapped_dest_xapic)
{
    Fx *f = fx_new();
    set_irta(f, 7, false);
    vtd_fx_gcmd(f->u, VTD_GCMD_CFI, 0);
    VtdIrResult r;
    put_irte(f, 1, vtd_irte_remapped(0x45, 0xa5, true, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
    ck_assert(!r.x2apic);
    ck_assert_uint_eq(r.dest, 0xa5);                 /* DST[15:8], i.e. bits 47:40 */
    ck_assert_uint_eq(r.vector, 0x45);
    /* DST bits 39:32 or 63:48 set: reserved in xAPIC mode (0x24) */
    VtdIrte e = vtd_irte_remapped(0x45, 0xa5, true, 0, false, false, false);
    e.val[0] |= UINT64_C(1) << 32;
    put_irte(f, 2, e);
    ck_assert_int_eq(remap_idx(f, 0x0010, 2, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IRTE_RESERVED);
    expect_fault(f, 0, 0x24, 0x0010, 2);
    e.val[0] ^= (UINT64_C(1) << 32) | (UINT64_C(1) << 48);
    put_irte(f, 3, e);
    ck_assert_int_eq(remap_idx(f, 0x0010, 3, &r), VTD_IR_BLOCKED);
    expect_fault(f, 1, 0x24, 0x0010, 3);
    /* the same entry is fine in x2APIC mode: 32-bit destination */
    set_irta(f, 7, true);
    ck_assert_int_eq(remap_idx(f, 0x0010, 3, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.dest, 0x0001a500);
    fx_free(f);
}
END_TEST

/* ---- remappable MSI decode, table size ---------------------------------------------------- */

START_TEST(test_msi_decode_handle_shv)
{
    Fx *f = fx_new();
    set_irta(f, 15, true);                           /* 65536 entries, 1 MiB */
    VtdIrResult r;
    put_irte(f, 0x1234, vtd_irte_remapped(0x51, 7, false, 0, false, false, false));
    put_irte(f, 0x1237, vtd_irte_remapped(0x52, 7, false, 0, false, false, false));
    put_irte(f, 0x9234, vtd_irte_remapped(0x53, 7, false, 0, false, false, false));
    put_irte(f, 0xffff, vtd_irte_remapped(0x54, 7, false, 0, false, false, false));
    /* handle in 19:5, don't-care bits 1:0 */
    ck_assert_int_eq(remap(f, 1, 0xfee00000 | (0x1234 << 5) | 0x10 | 0x3, 0, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x51);
    /* SHV=0: data 15:0 ignored */
    ck_assert_int_eq(remap(f, 1, vtd_msi_remappable_addr(0x1234, false), 0x3, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.index, 0x1234);
    ck_assert_uint_eq(r.vector, 0x51);
    /* SHV=1: index = handle + subhandle (multi-message MSI) */
    ck_assert_int_eq(remap(f, 1, vtd_msi_remappable_addr(0x1234, true), 0x3, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.index, 0x1237);
    ck_assert_uint_eq(r.vector, 0x52);
    /* handle bit 15 in address bit 2 */
    ck_assert_uint_eq(vtd_msi_remappable_addr(0x9234, false), 0xfee00000u | (0x1234u << 5) | 0x10 | 0x4);
    ck_assert_int_eq(remap_idx(f, 1, 0x9234, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x53);
    ck_assert_int_eq(remap_idx(f, 1, 0xffff, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x54);
    /* handle + subhandle beyond 16 bits: 0x21 with the low 16 bits of the index recorded */
    ck_assert_int_eq(remap(f, 1, vtd_msi_remappable_addr(0xffff, true), 0x2, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_INDEX_BEYOND);
    ck_assert_uint_eq(r.index, 0x10001);
    expect_fault(f, 0, 0x21, 1, 0x0001);
    /* data 31:16 reserved (with and without SHV): 0x20 */
    ck_assert_int_eq(remap(f, 2, vtd_msi_remappable_addr(0x1234, true), 0x10000, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_REQ_RESERVED);
    expect_fault(f, 1, 0x20, 2, 0x1234);
    ck_assert_int_eq(remap(f, 2, vtd_msi_remappable_addr(0x1234, false), 0x80000000u, &r), VTD_IR_BLOCKED);
    expect_fault(f, 2, 0x20, 2, 0x1234);
    /* address 63:32 non-zero */
    ck_assert_int_eq(remap(f, 2, (UINT64_C(1) << 32) | vtd_msi_remappable_addr(5, false), 0, &r),
                     VTD_IR_BLOCKED);
    expect_fault(f, 3, 0x20, 2, 5);
    fx_free(f);
}
END_TEST

START_TEST(test_table_size)
{
    Fx *f = fx_new();
    VtdIrResult r;
    /* S=0: 2 entries */
    set_irta(f, 0, true);
    put_irte(f, 1, vtd_irte_remapped(0x61, 0, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0x55, 1, &r), VTD_IR_DELIVER);
    ck_assert_int_eq(remap_idx(f, 0x55, 2, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_INDEX_BEYOND);
    expect_fault(f, 0, 0x21, 0x55, 2);
    /* S=7: 256 entries; IRTA is only latched by SIRTP */
    vtd_fx_wr(f->u, 0xb8, IRT_BASE | 0x800 | 7, 8);
    ck_assert_int_eq(remap_idx(f, 0x55, 255, &r), VTD_IR_BLOCKED);
    expect_fault(f, 1, 0x21, 0x55, 255);
    vtd_fx_gcmd(f->u, VTD_GCMD_SIRTP, 0);
    put_irte(f, 255, vtd_irte_remapped(0x62, 0, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0x55, 255, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x62);
    ck_assert_int_eq(remap_idx(f, 0x55, 256, &r), VTD_IR_BLOCKED);
    expect_fault(f, 2, 0x21, 0x55, 256);
    uint64_t irta;
    vtd_unit_ir_state(f->u, &irta, NULL, NULL);
    ck_assert_uint_eq(irta, IRT_BASE | 0x800 | 7);
    fx_free(f);
}
END_TEST

/* ---- fault reasons and FPD -------------------------------------------------------------- */

START_TEST(test_fault_reasons_and_fpd)
{
    Fx *f = fx_new();
    VtdIrResult r;
    unsigned rec = 0;
    /* 0x22 not present; FPD in the not-present entry suppresses it */
    put_irte(f, 4, (VtdIrte){ { 0, 0 } });
    ck_assert_int_eq(remap_idx(f, 0x0101, 4, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IRTE_NOT_PRESENT);
    expect_fault(f, rec++, 0x22, 0x0101, 4);
    put_irte(f, 4, (VtdIrte){ { 0x2, 0 } });
    ck_assert_int_eq(remap_idx(f, 0x0101, 4, &r), VTD_IR_BLOCKED);
    ck_assert(!r.fault_recorded);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4) & VTD_FSTS_PPF, 0);

    /* 0x24: each reserved field of a remapped entry, with FPD suppressing */
    static const uint64_t bad_lo[] = { UINT64_C(1) << 12, UINT64_C(1) << 14, UINT64_C(1) << 24,
                                       UINT64_C(1) << 31 };
    static const uint64_t bad_hi[] = { UINT64_C(1) << 20, UINT64_C(1) << 63 };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad_lo) + G_N_ELEMENTS(bad_hi); i++) {
        VtdIrte e = vtd_irte_remapped(0x30, 1, false, 0, false, false, false);
        if (i < G_N_ELEMENTS(bad_lo))
            e.val[0] |= bad_lo[i];
        else
            e.val[1] |= bad_hi[i - G_N_ELEMENTS(bad_lo)];
        put_irte(f, 20 + i, e);
        ck_assert_int_eq(remap_idx(f, 0x0102, (uint16_t)(20 + i), &r), VTD_IR_BLOCKED);
        ck_assert_uint_eq(r.fault_reason, VTD_FR_IRTE_RESERVED);
        expect_fault(f, rec, 0x24, 0x0102, (uint16_t)(20 + i));
        rec = (rec + 1) % 8;
        vtd_irte_set_FPD(&e, 1);
        put_irte(f, 20 + i, e);
        ck_assert_int_eq(remap_idx(f, 0x0102, (uint16_t)(20 + i), &r), VTD_IR_BLOCKED);
        ck_assert(!r.fault_recorded);
    }
    /* SVT=11 is a reserved encoding: 0x24 */
    VtdIrte e = vtd_irte_remapped(0x30, 1, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_RESERVED, 0, 0x0102);
    put_irte(f, 40, e);
    ck_assert_int_eq(remap_idx(f, 0x0102, 40, &r), VTD_IR_BLOCKED);
    expect_fault(f, rec, 0x24, 0x0102, 40);
    rec = (rec + 1) % 8;

    /* 0x26 source-ID failure, FPD-qualified */
    e = vtd_irte_remapped(0x30, 1, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, 0x0200);
    put_irte(f, 41, e);
    ck_assert_int_eq(remap_idx(f, 0x0201, 41, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_SID_INVALID);
    expect_fault(f, rec, 0x26, 0x0201, 41);
    rec = (rec + 1) % 8;
    vtd_irte_set_FPD(&e, 1);
    put_irte(f, 42, e);
    ck_assert_int_eq(remap_idx(f, 0x0201, 42, &r), VTD_IR_BLOCKED);
    ck_assert(!r.fault_recorded);

    /* 0x23: the table is not backed by memory; unqualified */
    vtd_fx_wr(f->u, 0xb8, (RAM_SIZE + 0x100000) | 0x800 | 7, 8);
    vtd_fx_gcmd(f->u, VTD_GCMD_SIRTP, 0);
    ck_assert_int_eq(remap_idx(f, 0x0103, 9, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IRT_ACCESS);
    ck_assert(r.fault_recorded);
    expect_fault(f, rec, 0x23, 0x0103, 9);
    ck_assert_ptr_nonnull(vtd_unit_last_guest_error(f->u));
    ck_assert_uint_eq(vtd_unit_stats(f->u)->faults_suppressed, 1 + 6 + 1);
    fx_free(f);
}
END_TEST

START_TEST(test_posted_needs_cap_pi)
{
    Fx *f = fx_new_cap("xeon", false, false);    /* Haswell: no CAP.PI */
    VtdIrResult r;
    put_irte(f, 5, vtd_irte_posted(0x40, PID_BASE, false));
    ck_assert_int_eq(remap_idx(f, 0x0300, 5, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(r.fault_reason, VTD_FR_IRTE_RESERVED);
    expect_fault(f, 0, 0x24, 0x0300, 5);
    ck_assert_uint_eq(mem_r64(f, PID_BASE), 0);   /* nothing posted */
    fx_free(f);
}
END_TEST

/* ---- source-ID validation truth tables ----------------------------------------------------- */

START_TEST(test_sid_svt_sq_truth_table)
{
    Fx *f = fx_new();
    const uint16_t sid = 0x3a2d;   /* 3a:05.5 */
    /* requesters differing from SID in: nothing, bit 0, bit 1, bit 2, bit 3 (device), bit 8 (bus) */
    static const uint16_t rids[] = { 0x3a2d, 0x3a2c, 0x3a2f, 0x3a29, 0x3a25, 0x3b2d };
    /* expected pass for SQ 00, 01, 10, 11 */
    static const bool expect[4][6] = {
        { true, false, false, false, false, false },   /* all 16 bits */
        { true, false, false, true, false, false },    /* ignore bit 2 */
        { true, false, true, true, false, false },     /* ignore bits 2:1 */
        { true, true, true, true, false, false },      /* ignore bits 2:0 */
    };
    unsigned idx = 0;
    for (unsigned sq = 0; sq < 4; sq++) {
        for (unsigned i = 0; i < G_N_ELEMENTS(rids); i++, idx++) {
            VtdIrte e = vtd_irte_remapped(0x70, 1, false, 0, false, false, false);
            vtd_irte_set_source(&e, VTD_SVT_SID, sq, sid);
            vtd_irte_set_FPD(&e, 1);      /* no fault records: this is about the verdict */
            put_irte(f, idx, e);
            VtdIrResult r;
            VtdIrStatus st = remap_idx(f, rids[i], (uint16_t)idx, &r);
            ck_assert_msg((st == VTD_IR_DELIVER) == expect[sq][i], "SQ=%u rid=%04x: %d", sq, rids[i], st);
        }
    }
    /* SVT=00: anything goes, whatever SID/SQ say */
    VtdIrte e = vtd_irte_remapped(0x70, 1, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_NONE, 3, 0x1111);
    put_irte(f, 100, e);
    for (unsigned i = 0; i < G_N_ELEMENTS(rids); i++) {
        VtdIrResult r;
        ck_assert_int_eq(remap_idx(f, rids[i], 100, &r), VTD_IR_DELIVER);
    }
    fx_free(f);
}
END_TEST

START_TEST(test_sid_bus_range)
{
    Fx *f = fx_new();
    /* SVT=10: start bus in SID[15:8], end bus in SID[7:0], inclusive; SQ ignored */
    static const struct {
        uint16_t sid;
        uint16_t rid;
        bool ok;
    } rows[] = {
        { 0x0305, 0x0300, true },    /* start bus */
        { 0x0305, 0x04ff, true },
        { 0x0305, 0x05f8, true },    /* end bus */
        { 0x0305, 0x0600, false },   /* above */
        { 0x0305, 0x02ff, false },   /* below */
        { 0x0707, 0x0701, true },    /* single bus */
        { 0x0707, 0x0801, false },
        { 0x0503, 0x0400, false },   /* start > end: empty range (QEMU reads the bounds the other way) */
        { 0x0503, 0x0500, false },
        { 0x00ff, 0xf0f8, true },    /* all buses */
    };
    unsigned rec = 0;
    for (unsigned i = 0; i < G_N_ELEMENTS(rows); i++) {
        VtdIrte e = vtd_irte_remapped(0x71, 1, false, 0, false, false, false);
        vtd_irte_set_source(&e, VTD_SVT_BUS_RANGE, i % 4, rows[i].sid);
        put_irte(f, i, e);
        VtdIrResult r;
        VtdIrStatus st = remap_idx(f, rows[i].rid, (uint16_t)i, &r);
        ck_assert_msg((st == VTD_IR_DELIVER) == rows[i].ok, "row %u", i);
        if (!rows[i].ok) {
            ck_assert_uint_eq(r.fault_reason, VTD_FR_IR_SID_INVALID);
            expect_fault(f, rec++ % 8, 0x26, rows[i].rid, (uint16_t)i);
        }
    }
    fx_free(f);
}
END_TEST

/* ---- posted interrupts ------------------------------------------------------------------------ */

static void pid_init(Fx *f, uint64_t pda, uint8_t nv, uint32_t ndst, bool sn)
{
    for (unsigned i = 0; i < 8; i++)
        mem_w64(f, pda + 8 * i, 0);
    VtdPid d = { { 0 } };
    vtd_pid_set_NV(&d, nv);
    vtd_pid_set_NDST(&d, ndst);
    vtd_pid_set_SN(&d, sn);
    mem_w64(f, pda + 32, d.val[4]);
}

START_TEST(test_posted_coalescing)
{
    Fx *f = fx_new();
    pid_init(f, PID_BASE, 0xf2, 0x00000105, false);
    put_irte(f, 8, vtd_irte_posted(0x40, PID_BASE, false));
    put_irte(f, 9, vtd_irte_posted(0xc1, PID_BASE, false));
    VtdIrResult r;
    ck_assert_int_eq(remap_idx(f, 0x0400, 8, &r), VTD_IR_POSTED);
    ck_assert(r.remapped && r.notify && !r.urgent);
    ck_assert_uint_eq(r.pda, PID_BASE);
    ck_assert_uint_eq(r.vv, 0x40);
    ck_assert_uint_eq(r.nv, 0xf2);
    ck_assert_uint_eq(r.ndst, 0x105);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 8), UINT64_C(1));          /* PIR bit 64 */
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 32) & 3, 1);               /* ON */
    /* more postings while ON: PIR accumulates, no notification */
    ck_assert_int_eq(remap_idx(f, 0x0400, 9, &r), VTD_IR_POSTED);
    ck_assert(!r.notify);
    ck_assert_int_eq(remap_idx(f, 0x0400, 8, &r), VTD_IR_POSTED);
    ck_assert(!r.notify);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 24), UINT64_C(1) << 1);    /* vector 0xc1 */
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->posted, 3);
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->notifications, 1);
    /* software (the VMM) clears ON and PIR: the next posting notifies again */
    for (unsigned i = 0; i < 4; i++)
        mem_w64(f, PID_BASE + 8 * i, 0);
    mem_w64(f, PID_BASE + 32, mem_r64(f, PID_BASE + 32) & ~UINT64_C(1));
    ck_assert_int_eq(remap_idx(f, 0x0400, 9, &r), VTD_IR_POSTED);
    ck_assert(r.notify);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 24), UINT64_C(1) << 1);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 8), 0);
    /* the descriptor's NV/NDST words survive the write-back */
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 32), UINT64_C(0x0000010500f20001));
    fx_free(f);
}
END_TEST

START_TEST(test_posted_sn_urgent_xapic)
{
    Fx *f = fx_new();
    VtdIrResult r;
    /* SN set: PIR is set but ON stays clear and nobody is notified */
    pid_init(f, PID_BASE, 0xf3, 0x7, true);
    put_irte(f, 1, vtd_irte_posted(0x33, PID_BASE, false));
    ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_POSTED);
    ck_assert(!r.notify);
    ck_assert_uint_eq(mem_r64(f, PID_BASE), UINT64_C(1) << 0x33);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 32) & 1, 0);
    /* an urgent IRTE notifies even with SN set */
    put_irte(f, 2, vtd_irte_posted(0x34, PID_BASE, true));
    ck_assert_int_eq(remap_idx(f, 0, 2, &r), VTD_IR_POSTED);
    ck_assert(r.notify && r.urgent);
    ck_assert_uint_eq(r.nv, 0xf3);
    ck_assert_uint_eq(mem_r64(f, PID_BASE + 32) & 3, 3);      /* ON and SN */
    /* xAPIC mode: NDST[15:8] is the APIC ID */
    set_irta(f, 7, false);
    vtd_fx_gcmd(f->u, VTD_GCMD_CFI, 0);
    pid_init(f, PID_BASE + 64, 0xf4, 0x00002a00, false);
    put_irte(f, 3, vtd_irte_posted(0x35, PID_BASE + 64, false));
    ck_assert_int_eq(remap_idx(f, 0, 3, &r), VTD_IR_POSTED);
    ck_assert(r.notify && !r.x2apic);
    ck_assert_uint_eq(r.ndst, 0x2a);
    /* posted-format reserved bits (37:24) and a descriptor outside memory */
    VtdIrte e = vtd_irte_posted(0x35, PID_BASE + 64, false);
    e.val[0] |= UINT64_C(1) << 30;
    put_irte(f, 4, e);
    ck_assert_int_eq(remap_idx(f, 0x0500, 4, &r), VTD_IR_BLOCKED);
    expect_fault(f, 0, 0x24, 0x0500, 4);
    put_irte(f, 5, vtd_irte_posted(0x35, RAM_SIZE + 0x1000, false));
    ck_assert_int_eq(remap_idx(f, 0x0500, 5, &r), VTD_IR_BLOCKED);
    expect_fault(f, 1, 0x23, 0x0500, 5);
    /* 0x23 is unqualified: recorded even with FPD set in the IRTE */
    e = vtd_irte_posted(0x35, RAM_SIZE + 0x2000, false);
    vtd_irte_set_FPD(&e, 1);
    put_irte(f, 6, e);
    ck_assert_int_eq(remap_idx(f, 0x0500, 6, &r), VTD_IR_BLOCKED);
    ck_assert(r.fault_recorded);
    expect_fault(f, 2, 0x23, 0x0500, 6);
    fx_free(f);
}
END_TEST

/* ---- interrupt entry cache --------------------------------------------------------------------- */

START_TEST(test_iec_stale_until_invalidated)
{
    Fx *f = fx_new();
    VtdIrResult r;
    put_irte(f, 0x21, vtd_irte_remapped(0xa0, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert(!r.iec_hit);
    ck_assert_uint_eq(vtd_unit_iec_occupancy(f->u), 1);
    /* software changes the IRTE without invalidating: the old one stays in force */
    put_irte(f, 0x21, vtd_irte_remapped(0xb0, 2, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert(r.iec_hit);
    ck_assert_uint_eq(r.vector, 0xa0);
    ck_assert_uint_eq(r.dest, 1);
    /* even clearing P does not stop it */
    put_irte(f, 0x21, (VtdIrte){ { 0, 0 } });
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0xa0);
    put_irte(f, 0x21, vtd_irte_remapped(0xb0, 2, false, 0, false, false, false));
    /* index-selective invalidation of other indexes: still stale */
    iec_index(f, 0x20, 0);
    iec_index(f, 0x22, 1);       /* 0x22-0x23 */
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0xa0);
    /* IM=2 from 0x22 covers 0x20-0x23 (index aligned down): the new entry */
    iec_index(f, 0x22, 2);
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert(!r.iec_hit);
    ck_assert_uint_eq(r.vector, 0xb0);
    ck_assert_uint_eq(r.dest, 2);
    /* global invalidation */
    put_irte(f, 0x21, vtd_irte_remapped(0xc0, 3, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0xb0);
    iec_global(f);
    ck_assert_uint_eq(vtd_unit_iec_occupancy(f->u), 0);
    ck_assert_int_eq(remap_idx(f, 0, 0x21, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0xc0);
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->iec_invalidations, 4);
    /* source validation uses the cached SID too */
    VtdIrte e = vtd_irte_remapped(0xd0, 1, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, 0x0100);
    put_irte(f, 0x30, e);
    ck_assert_int_eq(remap_idx(f, 0x0100, 0x30, &r), VTD_IR_DELIVER);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, 0x0200);
    put_irte(f, 0x30, e);
    ck_assert_int_eq(remap_idx(f, 0x0100, 0x30, &r), VTD_IR_DELIVER);
    ck_assert_int_eq(remap_idx(f, 0x0200, 0x30, &r), VTD_IR_BLOCKED);
    iec_index(f, 0x30, 0);
    ck_assert_int_eq(remap_idx(f, 0x0200, 0x30, &r), VTD_IR_DELIVER);
    fx_free(f);
}
END_TEST

START_TEST(test_iec_not_present_not_cached)
{
    Fx *f = fx_new();
    VtdIrResult r;
    put_irte(f, 6, (VtdIrte){ { 0, 0 } });
    ck_assert_int_eq(remap_idx(f, 0, 6, &r), VTD_IR_BLOCKED);
    expect_fault(f, 0, 0x22, 0, 6);
    /* making it present needs no invalidation (not-present entries are never cached) */
    put_irte(f, 6, vtd_irte_remapped(0x66, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 6, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x66);
    /* a malformed entry is not cached either */
    VtdIrte bad = vtd_irte_remapped(0x67, 1, false, 0, false, false, false);
    bad.val[1] |= UINT64_C(1) << 40;
    put_irte(f, 7, bad);
    ck_assert_int_eq(remap_idx(f, 0, 7, &r), VTD_IR_BLOCKED);
    put_irte(f, 7, vtd_irte_remapped(0x67, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 7, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(vtd_unit_iec_occupancy(f->u), 2);
    fx_free(f);
}
END_TEST

START_TEST(test_iec_sirtp_esirtps_and_geometry)
{
    /* Without ESIRTPS the IEC survives SIRTP; with it SIRTP flushes. */
    for (int esirtps = 0; esirtps < 2; esirtps++) {
        Fx *f = fx_new_cap("xeon-bdw", true, esirtps);
        VtdIrResult r;
        put_irte(f, 1, vtd_irte_remapped(0x11, 1, false, 0, false, false, false));
        ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
        put_irte(f, 1, vtd_irte_remapped(0x12, 1, false, 0, false, false, false));
        set_irta(f, 7, true);
        ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
        ck_assert_uint_eq(r.vector, esirtps ? 0x12 : 0x11);
        fx_free(f);
    }
    /* a disabled IEC reads every IRTE from memory */
    Fx *f = fx_new();
    VtdCacheGeom g = { .entries = 0 };
    GError *err = NULL;
    ck_assert(vtd_unit_set_iec_geom(f->u, &g, &err));
    VtdIrResult r;
    put_irte(f, 1, vtd_irte_remapped(0x11, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
    put_irte(f, 1, vtd_irte_remapped(0x12, 1, false, 0, false, false, false));
    ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(r.vector, 0x12);
    ck_assert_uint_eq(vtd_unit_ir_stats(f->u)->iec_hits, 0);
    /* a small direct-mapped cache evicts: 2 entries, 1 way */
    g = (VtdCacheGeom){ .entries = 2, .assoc = 1 };
    ck_assert(vtd_unit_set_iec_geom(f->u, &g, &err));
    g = (VtdCacheGeom){ .entries = 3, .assoc = 2 };
    ck_assert(!vtd_unit_set_iec_geom(f->u, &g, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    /* reset empties the cache */
    ck_assert_int_eq(remap_idx(f, 0, 1, &r), VTD_IR_DELIVER);
    ck_assert_uint_eq(vtd_unit_iec_occupancy(f->u), 1);
    vtd_unit_reset(f->u);
    ck_assert_uint_eq(vtd_unit_iec_occupancy(f->u), 0);
    fx_free(f);
}
END_TEST

/* ---- fault events and the dump -------------------------------------------------------------------- */

START_TEST(test_ir_fault_raises_fault_event)
{
    Fx *f = fx_new();
    vtd_fx_wr(f->u, 0x3c, 0x4567, 4);
    vtd_fx_wr(f->u, 0x40, 0xfee00000, 4);
    vtd_fx_wr(f->u, 0x38, 0, 4);            /* unmask fault events */
    VtdIrResult r;
    ck_assert_int_eq(remap_idx(f, 0x0808, 200, &r), VTD_IR_BLOCKED);
    ck_assert_uint_eq(f->msis->len, 2);
    ck_assert_uint_eq(g_array_index(f->msis, uint64_t, 0), 0xfee00000);
    ck_assert_uint_eq(g_array_index(f->msis, uint64_t, 1), 0x4567);
    ck_assert_uint_eq(vtd_fx_rd(f->u, 0x34, 4), VTD_FSTS_PPF);
    ck_assert_uint_eq(vtd_unit_stats(f->u)->faults_recorded, 1);
    fx_free(f);
}
END_TEST

START_TEST(test_ir_table_dump)
{
    Fx *f = fx_new();
    VtdIrte e = vtd_irte_remapped(0x24, 0x80, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, 0x0050);
    vtd_irte_set_FPD(&e, 0);
    put_irte(f, 0, e);
    put_irte(f, 3, vtd_irte_posted(0x41, 0x12345640, false));
    GString *s = g_string_new(NULL);
    vtd_unit_dump_ir_table(f->u, "dmar0", s);
    ck_assert_str_eq(s->str,
                     "Remapped Interrupt supported on IOMMU: dmar0\n"
                     " IR table address:100000\n"
                     " Entry SrcID   DstID    Vct IRTE_high\t\tIRTE_low\n"
                     " 0     00:0a.0 00000080 24  0000000000040050\t0000008000240001\n"
                     "\n"
                     "****\n\n"
                     "Posted Interrupt supported on IOMMU: dmar0\n"
                     " IR table address:100000\n"
                     " Entry SrcID   PDA_high PDA_low  Vct IRTE_high\t\tIRTE_low\n"
                     " 3     00:00.0 00000000 12345640 41  0000000000000000\t1234564000418001\n"
                     "\n");
    g_string_free(s, TRUE);
    fx_free(f);
}
END_TEST

static Suite *suite_vtd_ir(void)
{
    Suite *s = suite_create("vtd_ir");
    TCase *tc = tcase_create("ir");
    tcase_add_test(tc, test_ir_disabled_passes_everything);
    tcase_add_test(tc, test_compat_format_cfis_eime);
    tcase_add_test(tc, test_remapped_fields_x2apic);
    tcase_add_test(tc, test_remapped_dest_xapic);
    tcase_add_test(tc, test_msi_decode_handle_shv);
    tcase_add_test(tc, test_table_size);
    tcase_add_test(tc, test_fault_reasons_and_fpd);
    tcase_add_test(tc, test_posted_needs_cap_pi);
    tcase_add_test(tc, test_sid_svt_sq_truth_table);
    tcase_add_test(tc, test_sid_bus_range);
    tcase_add_test(tc, test_posted_coalescing);
    tcase_add_test(tc, test_posted_sn_urgent_xapic);
    tcase_add_test(tc, test_iec_stale_until_invalidated);
    tcase_add_test(tc, test_iec_not_present_not_cached);
    tcase_add_test(tc, test_iec_sirtp_esirtps_and_geometry);
    tcase_add_test(tc, test_ir_fault_raises_fault_event);
    tcase_add_test(tc, test_ir_table_dump);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vtd_ir)
