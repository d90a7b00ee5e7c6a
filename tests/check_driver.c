/*
 * Tests of the host-side driver library against the VT-d model on a real
 * platform: what a driver programs must translate, fault and go stale
 * exactly as the hardware would.  Each test builds a platform in a few
 * lines (q35 + one endpoint at 00:02.0), brings the unit up through the
 * library, and drives DMA from the endpoint.
 */
#include <string.h>
#include "check_util.h"
#include "driver/vtd_driver.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"
#include "platform/platform.h"
#include "platform/irq.h"

#define POOL_BASE 0x1000000ull
#define POOL_SIZE (4ull << 20)
#define DEV_RID PCIE_BDF(0, 2, 0)

typedef struct Fx {
    EmuSim *sim;
    Platform *p;
    PcieFn *dev;
    VtdDrv *drv;
    VtdUnit *unit;
} Fx;

static const char legacy_platform[] =
    "[platform]\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\npasid = 20\npasid-priv = true\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n";

/* Xeon capabilities plus scalable mode with both stages, PASID and SRS. */
static const char scalable_platform[] =
    "[platform]\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\npasid = 20\npasid-priv = true\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    "ecap.SMTS = 1\necap.FSTS = 1\necap.SSTS = 1\necap.PASID = 1\necap.PSS = 19\n"
    "ecap.SRS = 1\ncap.FS1GP = 1\n";

static void fx_init(Fx *fx, const char *platform, VtdDrvMode mode, VtdDrvInval inval, bool strict)
{
    GError *err = NULL;
    memset(fx, 0, sizeof *fx);
    fx->sim = vtdsim_platform_new_from_data(platform, "test", &err);
    ck_assert_msg(fx->sim != NULL, "%s", err ? err->message : "");
    fx->p = platform_get(fx->sim);
    fx->dev = platform_find_device(fx->p, "dev");
    ck_assert_ptr_nonnull(fx->dev);
    fx->unit = ((PlatformVtd *)g_ptr_array_index(fx->p->vtd, 0))->unit;
    VtdDrvConfig cfg = {
        .reg_base = 0xFED90000, .mode = mode, .inval = inval,
        .pool_base = POOL_BASE, .pool_size = POOL_SIZE, .strict = strict,
    };
    fx->drv = vtd_drv_new(fx->sim, fx->p->mem, &cfg, &err);
    ck_assert_msg(fx->drv != NULL, "%s", err ? err->message : "");
}

static void fx_done(Fx *fx)
{
    vtd_drv_free(fx->drv);
    emu_sim_free(fx->sim);
}

static PcieCplStatus dma_rd(Fx *fx, uint64_t iova, void *buf, uint32_t len, int pasid, bool priv)
{
    PcieDmaAttrs a = { .pasid_present = pasid >= 0, .pasid = pasid < 0 ? 0 : (uint32_t)pasid,
                       .priv = priv };
    return pcie_fn_dma_read(fx->dev, iova, buf, len, &a);
}

static PcieCplStatus dma_wr(Fx *fx, uint64_t iova, const void *buf, uint32_t len, int pasid)
{
    PcieDmaAttrs a = { .pasid_present = pasid >= 0, .pasid = pasid < 0 ? 0 : (uint32_t)pasid };
    return pcie_fn_dma_write(fx->dev, iova, buf, len, &a);
}

static uint32_t fsts(Fx *fx)
{
    uint64_t v;
    addr_space_read(fx->p->mem, 0xFED90000 + VTD_FSTS_REG, 4, &v);
    return (uint32_t)v;
}

/*
 * What a driver's fault handler does: read the record FSTS.FRI points at
 * (the oldest pending one), then clear its F bit (write 1) so the next
 * fault is reported as the new oldest.
 */
static VtdFaultRecord last_fault(Fx *fx)
{
    VtdFaultRecord r;
    unsigned fri = (unsigned)vtd_FSTS_FRI(fsts(fx));
    vtd_unit_fault_record(fx->unit, fri, &r);
    uint64_t cap = vtd_drv_cap(fx->drv);
    uint64_t frcd = 0xFED90000 + vtd_cap_FRO(cap) * 16 + 16ull * fri;
    addr_space_write(fx->p->mem, frcd + 8, 8, 1ull << 63);
    return r;
}

/* Asserts a library call succeeded, reporting the caller's line and the GError. */
#define ok(r, err) ck_assert_msg((r), "%s", (err) ? (err)->message : "(no GError)")

START_TEST(test_legacy_map_dma_fault)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, legacy_platform, VTD_DRV_LEGACY, _i ? VTD_DRV_INVAL_QUEUED : VTD_DRV_INVAL_REGISTER,
            true);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ok(dom != NULL, err);
    ok(vtd_drv_attach(fx.drv, dom, DEV_RID, -1, &err), err);
    ok(vtd_drv_map(fx.drv, dom, 0x10000, 0x200000, 0x2000, VTD_PROT_READ | VTD_PROT_WRITE, 0, &err),
       err);
    ok(vtd_drv_map(fx.drv, dom, 0x40000, 0x300000, 0x1000, VTD_PROT_READ, 0, &err), err);
    ok(vtd_drv_enable(fx.drv, &err), err);
    physmem_stq(fx.p->ram, 0x201ff8, 0x1122334455667788ull);
    uint64_t v = 0;
    ck_assert_int_eq(dma_rd(&fx, 0x11ff8, &v, 8, -1, false), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 0x1122334455667788ull);
    /* a write through the mapping lands at the translated address */
    uint64_t w = 0xcafef00d;
    ck_assert_int_eq(dma_wr(&fx, 0x10008, &w, 8, -1), PCIE_CPL_SC);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, 0x200008), 0xcafef00d);
    /* write to a read-only page: blocked, reason 0x5, no data written */
    ck_assert_int_eq(dma_wr(&fx, 0x40000, &w, 8, -1), PCIE_CPL_UR);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, 0x300000), 0);
    ck_assert(fsts(&fx) & VTD_FSTS_PPF);
    VtdFaultRecord r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_WRITE_DENIED);
    ck_assert_uint_eq(vtd_frcd_SID(&r), DEV_RID);
    ck_assert_uint_eq(vtd_frcd_FI(&r) << 12, 0x40000);
    ck_assert_uint_eq(vtd_frcd_T1(&r), 0);   /* write */
    ck_assert_uint_eq(vtd_frcd_PP(&r), 0);
    /* unmapped: read denied (R=W=0 leaf) */
    ck_assert_int_eq(dma_rd(&fx, 0x80000, &v, 8, -1, false), PCIE_CPL_UR);
    r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_READ_DENIED);
    ck_assert_uint_eq(vtd_frcd_T1(&r), 1);
    /* strict unmap: the very next DMA faults */
    ok(vtd_drv_unmap(fx.drv, dom, 0x10000, 0x2000, &err), err);
    ck_assert_int_eq(dma_rd(&fx, 0x10000, &v, 8, -1, false), PCIE_CPL_UR);
    ck_assert_uint_ge(vtd_drv_invalidations(fx.drv), 3);
    fx_done(&fx);
}
END_TEST

/* Lazy unmap without a flush keeps the stale IOTLB entry in force - as on hardware. */
START_TEST(test_stale_iotlb_until_flush)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, legacy_platform, VTD_DRV_LEGACY, VTD_DRV_INVAL_QUEUED, false);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ok(vtd_drv_attach(fx.drv, dom, DEV_RID, -1, &err), err);
    ok(vtd_drv_map(fx.drv, dom, 0x10000, 0x200000, 0x1000, VTD_PROT_READ, 0, &err), err);
    ok(vtd_drv_map(fx.drv, dom, 0x11000, 0x201000, 0x1000, VTD_PROT_READ, 0, &err), err);
    ok(vtd_drv_enable(fx.drv, &err), err);
    physmem_stq(fx.p->ram, 0x200000, 42);
    uint64_t v = 0;
    ck_assert_int_eq(dma_rd(&fx, 0x10000, &v, 8, -1, false), PCIE_CPL_SC);  /* fills the IOTLB */
    ck_assert_int_eq(dma_rd(&fx, 0x11000, &v, 8, -1, false), PCIE_CPL_SC);
    ok(vtd_drv_unmap(fx.drv, dom, 0x10000, 0x2000, &err), err);
    v = 0;
    ck_assert_int_eq(dma_rd(&fx, 0x10000, &v, 8, -1, false), PCIE_CPL_SC);  /* stale but in force */
    ck_assert_uint_eq(v, 42);
    /* a page-selective flush of the first page leaves the second one stale */
    ok(vtd_drv_flush(fx.drv, dom, 0x10000, 0x1000, &err), err);
    ck_assert_int_eq(dma_rd(&fx, 0x10000, &v, 8, -1, false), PCIE_CPL_UR);
    ck_assert_int_eq(dma_rd(&fx, 0x11000, &v, 8, -1, false), PCIE_CPL_SC);
    ok(vtd_drv_flush(fx.drv, dom, 0, 0, &err), err);
    ck_assert_int_eq(dma_rd(&fx, 0x11000, &v, 8, -1, false), PCIE_CPL_UR);
    fx_done(&fx);
}
END_TEST

START_TEST(test_large_pages_and_passthrough)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, legacy_platform, VTD_DRV_LEGACY, VTD_DRV_INVAL_QUEUED, true);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 4, &err);
    ok(dom != NULL, err);
    ok(vtd_drv_attach(fx.drv, dom, DEV_RID, -1, &err), err);
    /* 2 MiB page picked automatically from the alignment */
    ok(vtd_drv_map(fx.drv, dom, 0x40000000, 0x400000, 0x200000, VTD_PROT_READ, 0, &err), err);
    uint64_t pde = 0;
    /* the leaf sits in a level-2 table entry with PS set */
    {
        uint64_t t = vtd_dom_pgd(dom);
        for (unsigned lvl = 4; lvl > 2; lvl--) {
            t = physmem_ldq(fx.p->ram, t + 8 * ((0x40000000ull >> (12 + 9 * (lvl - 1))) & 511)) &
                0x000ffffffffff000ull;
        }
        pde = physmem_ldq(fx.p->ram, t + 8 * ((0x40000000ull >> 21) & 511));
    }
    ck_assert_uint_eq(pde, 0x400000 | 0x80 | 0x1);
    ok(vtd_drv_enable(fx.drv, &err), err);
    physmem_stq(fx.p->ram, 0x5ffff8, 77);
    uint64_t v = 0;
    ck_assert_int_eq(dma_rd(&fx, 0x401ffff8, &v, 8, -1, false), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 77);
    /* splitting the large page is refused with a clear error */
    ck_assert(!vtd_drv_unmap(fx.drv, dom, 0x40000000, 0x1000, &err));
    ck_assert(strstr(err->message, "splits a large page") != NULL);
    g_clear_error(&err);
    /* misaligned map */
    ck_assert(!vtd_drv_map(fx.drv, dom, 0x123, 0x1000, 0x1000, VTD_PROT_READ, 0, &err));
    ck_assert(strstr(err->message, "vtd_drv_map") != NULL);
    g_clear_error(&err);
    /* pass-through: untranslated requests reach the same address */
    VtdDom *pt = vtd_drv_domain_new(fx.drv, VTD_DOM_PASS_THROUGH, 0, &err);
    ok(pt != NULL, err);
    ok(vtd_drv_attach(fx.drv, pt, DEV_RID, -1, &err), err);
    physmem_stq(fx.p->ram, 0x700000, 99);
    ck_assert_int_eq(dma_rd(&fx, 0x700000, &v, 8, -1, false), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 99);
    /* detach: the context entry is gone, the request faults with reason 0x2 */
    ok(vtd_drv_detach(fx.drv, DEV_RID, -1, &err), err);
    ck_assert_int_eq(dma_rd(&fx, 0x700000, &v, 8, -1, false), PCIE_CPL_UR);
    VtdFaultRecord r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_CONTEXT_NOT_PRESENT);
    fx_done(&fx);
}
END_TEST

START_TEST(test_scalable_first_and_second_stage)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, scalable_platform, VTD_DRV_SCALABLE, VTD_DRV_INVAL_QUEUED, true);
    VtdDom *ss = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ok(ss != NULL, err);
    VtdDom *fs = vtd_drv_domain_new(fx.drv, VTD_DOM_FIRST_STAGE, 4, &err);
    ok(fs != NULL, err);
    /* requests without PASID use RID_PASID 0 -> second stage; PASID 5 -> first stage */
    ok(vtd_drv_attach(fx.drv, ss, DEV_RID, -1, &err), err);
    ok(vtd_drv_attach(fx.drv, fs, DEV_RID, 5, &err), err);
    ok(vtd_drv_map(fx.drv, ss, 0x10000, 0x200000, 0x1000, VTD_PROT_READ, 0, &err), err);
    ok(vtd_drv_map(fx.drv, fs, 0x7f0000001000ull, 0x300000, 0x1000,
                   VTD_PROT_READ | VTD_PROT_WRITE | VTD_PROT_USER, 0, &err), err);
    ok(vtd_drv_map(fx.drv, fs, 0x2000, 0x301000, 0x1000, VTD_PROT_READ, 0, &err), err); /* supervisor */
    ok(vtd_drv_enable(fx.drv, &err), err);
    physmem_stq(fx.p->ram, 0x200000, 1);
    physmem_stq(fx.p->ram, 0x300000, 2);
    physmem_stq(fx.p->ram, 0x301000, 3);
    uint64_t v = 0;
    ck_assert_int_eq(dma_rd(&fx, 0x10000, &v, 8, -1, false), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(dma_rd(&fx, 0x7f0000001000ull, &v, 8, 5, false), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 2);
    /* first stage set the Accessed bit of the leaf */
    ck_assert_int_eq(dma_rd(&fx, 0x2000, &v, 8, 5, true), PCIE_CPL_SC);   /* supervisor ok */
    ck_assert_uint_eq(v, 3);
    /* a user request to a supervisor page: 0x81 */
    ck_assert_int_eq(dma_rd(&fx, 0x2000, &v, 8, 5, false), PCIE_CPL_UR);
    VtdFaultRecord r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_SM_US_DENIED);
    ck_assert_uint_eq(vtd_frcd_PP(&r), 1);
    ck_assert_uint_eq(vtd_frcd_PV(&r), 5);
    /* a PASID nobody attached: PASID table entry not present, 0x59 */
    ck_assert_int_eq(dma_rd(&fx, 0x2000, &v, 8, 9, false), PCIE_CPL_UR);
    r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_SM_PTE_NOT_PRESENT);
    /* non-canonical first-stage address: 0x80 */
    ck_assert_int_eq(dma_rd(&fx, 0x0000900000000000ull, &v, 8, 5, false), PCIE_CPL_UR);
    r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_SM_NON_CANONICAL);
    fx_done(&fx);
}
END_TEST

START_TEST(test_driver_errors)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, legacy_platform, VTD_DRV_LEGACY, VTD_DRV_INVAL_REGISTER, true);
    ck_assert_ptr_null(vtd_drv_domain_new(fx.drv, VTD_DOM_FIRST_STAGE, 0, &err));
    ck_assert(strstr(err->message, "scalable") != NULL);
    g_clear_error(&err);
    ck_assert_ptr_null(vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 5, &err));
    ck_assert(strstr(err->message, "SAGAW") != NULL);
    g_clear_error(&err);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ck_assert(!vtd_drv_attach(fx.drv, dom, DEV_RID, 3, &err));
    g_clear_error(&err);
    /* scalable mode on a unit without SMTS */
    VtdDrvConfig cfg = { .reg_base = 0xFED90000, .mode = VTD_DRV_SCALABLE,
                         .inval = VTD_DRV_INVAL_QUEUED, .pool_base = POOL_BASE + POOL_SIZE,
                         .pool_size = POOL_SIZE };
    ck_assert_ptr_null(vtd_drv_new(fx.sim, fx.p->mem, &cfg, &err));
    ck_assert(strstr(err->message, "SMTS") != NULL);
    g_clear_error(&err);
    /* nothing at the register base */
    cfg.reg_base = 0xFED00000;
    cfg.mode = VTD_DRV_LEGACY;
    ck_assert_ptr_null(vtd_drv_new(fx.sim, fx.p->mem, &cfg, &err));
    ck_assert(strstr(err->message, "CAP reads 0") != NULL);
    g_clear_error(&err);
    /* pool exhaustion is an error, not a crash: map a sparse range until it runs out */
    gboolean r = TRUE;
    for (uint64_t i = 0; r && i < 4096; i++) {
        r = vtd_drv_map(fx.drv, dom, i << 30, 0x100000, 0x1000, VTD_PROT_READ, 0x1000, &err);
    }
    ck_assert(!r);
    ck_assert(strstr(err->message, "exhausted") != NULL);
    g_clear_error(&err);
    fx_done(&fx);
}
END_TEST

/* Interrupt remapping set up by the driver: a remappable MSI reaches its IRTE's vector. */
START_TEST(test_interrupt_remapping)
{
    Fx fx;
    GError *err = NULL;
    static const char two_devices[] =
        "[platform]\nfirmware = full\n"
        "[device dev]\ntype = endpoint\nbdf = 00:02.0\n"
        "[device other]\ntype = endpoint\nbdf = 00:03.0\n"
        "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n";
    fx_init(&fx, two_devices, VTD_DRV_LEGACY, VTD_DRV_INVAL_QUEUED, true);
    ok(vtd_drv_ir_enable(fx.drv, 4, false, &err), err);
    uint64_t gsts;
    addr_space_read(fx.p->mem, 0xFED90000 + VTD_GSTS_REG, 4, &gsts);
    ck_assert_uint_eq(gsts & (VTD_GSTS_IRES | VTD_GSTS_IRTPS), VTD_GSTS_IRES | VTD_GSTS_IRTPS);
    ok(vtd_drv_irte_set(fx.drv, 3, DEV_RID, 0x45, 2, false, &err), err);
    uint64_t addr;
    uint32_t data;
    vtd_drv_msi_remappable(3, &addr, &data);
    ck_assert_uint_eq(addr, 0xFEE00070);
    uint8_t b[4] = { 0 };
    uint64_t n = platform_irq_count(fx.p);
    ck_assert_int_eq(pcie_fn_dma_write(fx.dev, addr, b, 4, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(platform_irq_count(fx.p), n + 1);
    const GArray *log = platform_irq_log(fx.p);
    const PlatformIrq *irq = &g_array_index(log, PlatformIrq, log->len - 1);
    ck_assert_uint_eq(irq->vector, 0x45);
    ck_assert_uint_eq(irq->dest, 2);
    ck_assert_int_eq(irq->irte, 3);
    /* the same message from another requester fails source validation: fault 0x26 */
    PcieFn *other = platform_find_device(fx.p, "other");
    ck_assert_int_eq(pcie_fn_dma_write(other, addr, b, 4, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(platform_irq_count(fx.p), n + 1);
    VtdFaultRecord r = last_fault(&fx);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_IR_SID_INVALID);
    /* out-of-range IRTEs are refused by the driver */
    ck_assert(!vtd_drv_irte_set(fx.drv, 16, DEV_RID, 0x45, 2, false, &err));
    g_clear_error(&err);
    fx_done(&fx);
}
END_TEST

static Suite *suite_driver(void)
{
    Suite *s = suite_create("driver");
    TCase *tc = tcase_create("legacy");
    tcase_add_loop_test(tc, test_legacy_map_dma_fault, 0, 2);  /* register, queued */
    tcase_add_test(tc, test_stale_iotlb_until_flush);
    tcase_add_test(tc, test_large_pages_and_passthrough);
    tcase_add_test(tc, test_driver_errors);
    tcase_add_test(tc, test_interrupt_remapping);
    suite_add_tcase(s, tc);
    tc = tcase_create("scalable");
    tcase_add_test(tc, test_scalable_first_and_second_stage);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_driver)
