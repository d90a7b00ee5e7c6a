/*
 * ATS and PRI end to end: an ATS-capable endpoint behind the VT-d unit,
 * programmed through the driver library.  Translation requests fill the
 * device TLB, translated requests bypass the IOTLB walk, an unmap is not
 * visible to the device until the device-TLB invalidation reaches it, and
 * a page the driver has not mapped produces a page request that the
 * driver answers after mapping the page.
 */
#include <string.h>
#include "check_util.h"
#include "driver/vtd_driver.h"
#include "models/endpoint/endpoint.h"
#include "models/vtd/vtd.h"
#include "pcie/ats.h"
#include "platform/platform.h"

#define POOL_BASE 0x1000000ull
#define POOL_SIZE (4ull << 20)
#define DEV_RID PCIE_BDF(0, 2, 0)

/* Xeon capabilities plus scalable mode, PASID and PRS (page requests). */
static const char platform_text[] =
    "[platform]\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\nats = true\npasid = 20\npri = 16\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    "ecap.SMTS = 1\necap.FSTS = 1\necap.SSTS = 1\necap.PASID = 1\necap.PSS = 19\n"
    "ecap.SRS = 1\necap.PRS = 1\n";

START_TEST(test_ats_encoding)
{
    PcieAtsEntry e = { .addr = 0x40200000, .size = 2u << 20, .r = true, .w = true };
    uint64_t raw = pcie_ats_encode(&e);
    ck_assert_uint_eq(raw, 0x40200000ull | 0xff000 | (1u << 11) | 3);
    PcieAtsEntry d = pcie_ats_decode(raw);
    ck_assert_uint_eq(d.addr, 0x40200000);
    ck_assert_uint_eq(d.size, 2u << 20);
    ck_assert(d.r && d.w && !d.x && !d.priv && !d.global);
    e = (PcieAtsEntry){ .addr = 0x5000, .size = 4096, .r = true, .priv = true, .global = true };
    ck_assert_uint_eq(pcie_ats_encode(&e), 0x5000 | 0x1 | 0x10 | 0x20);
    d = pcie_ats_decode(0x6000 | (1u << 11));   /* bit 12 clear: 8 KiB */
    ck_assert_uint_eq(d.size, 8192);
    ck_assert_uint_eq(d.addr, 0x6000 & ~0x1fffull);
    d = pcie_ats_decode(0x7ffffffffffff000ull | (1u << 11));
    ck_assert_uint_eq(d.size, UINT64_MAX);
}
END_TEST

typedef struct Fx {
    EmuSim *sim;
    Platform *p;
    PcieFn *dev;
    VtdDrv *drv;
} Fx;

static void fx_init(Fx *fx, bool pri)
{
    GError *err = NULL;
    fx->sim = vtdsim_platform_new_from_data(platform_text, "ats", &err);
    ck_assert_msg(fx->sim != NULL, "%s", err ? err->message : "");
    fx->p = platform_get(fx->sim);
    fx->dev = platform_find_device(fx->p, "dev");
    VtdDrvConfig cfg = { .reg_base = 0xFED90000, .mode = VTD_DRV_SCALABLE,
                         .inval = VTD_DRV_INVAL_QUEUED, .pool_base = POOL_BASE,
                         .pool_size = POOL_SIZE, .strict = false };
    fx->drv = vtd_drv_new(fx->sim, fx->p->mem, &cfg, &err);
    ck_assert_msg(fx->drv != NULL, "%s", err ? err->message : "");
    ck_assert(vtd_drv_set_device_caps(fx->drv, DEV_RID, true, pri, &err));
    /* the OS enables ATS (and PRI with an allocation) in the device */
    uint16_t ats = pcie_fn_find_ext_cap(fx->dev, PCI_EXT_CAP_ID_ATS);
    pcie_fn_config_write(fx->dev, ats + 6, 2, 0x8000);
    if (pri) {
        uint16_t c = pcie_fn_find_ext_cap(fx->dev, PCI_EXT_CAP_ID_PRI);
        pcie_fn_config_write(fx->dev, c + 0xc, 4, 16);
        pcie_fn_config_write(fx->dev, c + 4, 2, 1);
        ck_assert(vtd_drv_prq_enable(fx->drv, &err));
    }
}

static void fx_done(Fx *fx)
{
    vtd_drv_free(fx->drv);
    emu_sim_free(fx->sim);
}

START_TEST(test_ats_devtlb_and_invalidation)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, false);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ck_assert(vtd_drv_attach(fx.drv, dom, DEV_RID, -1, &err));
    ck_assert(vtd_drv_map(fx.drv, dom, 0x10000, 0x200000, 0x2000, VTD_PROT_READ | VTD_PROT_WRITE,
                          0, &err));
    ck_assert(vtd_drv_enable(fx.drv, &err));
    physmem_stq(fx.p->ram, 0x201000, 0x77);
    uint64_t v = 0;
    EndpointDmaInfo info;
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x11000, &v, 8, false, NULL, &info), PCIE_CPL_SC);
    ck_assert(info.used_ats);
    ck_assert_uint_eq(info.translations, 1);
    ck_assert_uint_eq(info.last_translated, 0x201000);
    ck_assert_uint_eq(v, 0x77);
    /* second access: served by the device TLB, no translation request */
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x11008, &v, 8, false, NULL, &info), PCIE_CPL_SC);
    ck_assert_uint_eq(info.translations, 0);
    ck_assert_uint_eq(info.devtlb_hits, 1);
    /* lazy unmap: the IOTLB and the device TLB both keep the stale translation */
    ck_assert(vtd_drv_unmap(fx.drv, dom, 0x10000, 0x2000, &err));
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x11000, &v, 8, false, NULL, &info), PCIE_CPL_SC);
    ck_assert_uint_eq(info.devtlb_hits, 1);
    /* the flush invalidates the IOTLB and then the device TLB (descriptor 0x3) */
    PcieDevTlbStats st;
    pcie_devtlb_stats(endpoint_devtlb(fx.dev), &st);
    uint64_t before = st.inval_requests;
    ck_assert(vtd_drv_flush(fx.drv, dom, 0x10000, 0x2000, &err));
    pcie_devtlb_stats(endpoint_devtlb(fx.dev), &st);
    ck_assert_uint_eq(st.inval_requests, before + 1);
    ck_assert_uint_ge(st.invalidations, 1);
    /* now the device asks again and gets "no access": R=W=0, no fault recorded */
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x11000, &v, 8, false, NULL, &info), PCIE_CPL_UR);
    ck_assert_uint_eq(info.translations, 1);
    ck_assert(!info.page_request_sent);
    uint64_t fsts;
    addr_space_read(fx.p->mem, 0xFED90034, 4, &fsts);
    ck_assert_uint_eq(fsts & 2, 0);
    fx_done(&fx);
}
END_TEST

/* A device without ATS enabled in the context (DTE=0) gets UR for translation requests. */
START_TEST(test_ats_blocked_without_dte)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, false);
    ck_assert(vtd_drv_set_device_caps(fx.drv, DEV_RID, false, false, &err));
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ck_assert(vtd_drv_attach(fx.drv, dom, DEV_RID, -1, &err));
    ck_assert(vtd_drv_map(fx.drv, dom, 0x10000, 0x200000, 0x1000, VTD_PROT_READ, 0, &err));
    ck_assert(vtd_drv_enable(fx.drv, &err));
    PcieAtsEntry e;
    ck_assert_int_eq(pcie_fn_ats_translate(fx.dev, 0x10000, NULL, true, &e), PCIE_CPL_UR);
    uint64_t fsts;
    addr_space_read(fx.p->mem, 0xFED90034, 4, &fsts);
    ck_assert(fsts & 2);   /* the blocked translation request is recorded (0x44) */
    VtdFaultRecord r;
    vtd_unit_fault_record(((PlatformVtd *)g_ptr_array_index(fx.p->vtd, 0))->unit,
                          (unsigned)((fsts >> 8) & 0xff), &r);
    ck_assert_uint_eq(vtd_frcd_FR(&r), VTD_FR_SM_DTE_CLEAR);
    ck_assert_uint_eq(vtd_frcd_AT(&r), 1);
    fx_done(&fx);
}
END_TEST

START_TEST(test_pri_page_request_round_trip)
{
    Fx fx;
    GError *err = NULL;
    fx_init(&fx, true);
    VtdDom *dom = vtd_drv_domain_new(fx.drv, VTD_DOM_FIRST_STAGE, 4, &err);
    ck_assert_msg(dom != NULL, "%s", err ? err->message : "");
    ck_assert(vtd_drv_attach(fx.drv, dom, DEV_RID, 7, &err));
    ck_assert(vtd_drv_enable(fx.drv, &err));
    PcieDmaAttrs a = { .pasid_present = true, .pasid = 7 };
    uint64_t v = 0;
    EndpointDmaInfo info;
    /* nothing mapped: translation says no access, the device sends a page request */
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x400000, &v, 8, false, &a, &info), PCIE_CPL_UR);
    ck_assert(info.page_request_sent);
    VtdDrvPageReq pr;
    ck_assert(vtd_drv_prq_next(fx.drv, &pr));
    ck_assert_uint_eq(pr.rid, DEV_RID);
    ck_assert(pr.pasid_present);
    ck_assert_uint_eq(pr.pasid, 7);
    ck_assert_uint_eq(pr.addr, 0x400000);
    ck_assert(pr.read && !pr.write && pr.lpig);
    ck_assert(!vtd_drv_prq_next(fx.drv, &pr) || pr.addr != 0x400000);
    /* the "page fault handler": map the page, answer the group */
    ck_assert(vtd_drv_map(fx.drv, dom, 0x400000, 0x500000, 0x1000, VTD_PROT_READ | VTD_PROT_USER,
                          0, &err));
    ck_assert(vtd_drv_page_response(fx.drv, &pr, 0, &err));
    const GArray *resp = endpoint_prg_responses(fx.dev);
    ck_assert_uint_eq(resp->len, 1);
    const PciePrgResponse *r = &g_array_index(resp, PciePrgResponse, 0);
    ck_assert_uint_eq(r->prgi, pr.prgi);
    ck_assert_uint_eq(r->code, 0);
    ck_assert(r->pasid_present);
    ck_assert_uint_eq(r->pasid, 7);
    /* the retry succeeds */
    physmem_stq(fx.p->ram, 0x500000, 0x1234);
    ck_assert_int_eq(endpoint_dma(fx.dev, 0x400000, &v, 8, false, &a, &info), PCIE_CPL_SC);
    ck_assert_uint_eq(v, 0x1234);
    fx_done(&fx);
}
END_TEST

static Suite *suite_ats(void)
{
    Suite *s = suite_create("ats");
    TCase *tc = tcase_create("ats");
    tcase_add_test(tc, test_ats_encoding);
    tcase_add_test(tc, test_ats_devtlb_and_invalidation);
    tcase_add_test(tc, test_ats_blocked_without_dte);
    tcase_add_test(tc, test_pri_page_request_round_trip);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_ats)
