/*
 * Tests of the lspci listing (src/pcie/lspci.c): golden outputs for three
 * fabrics (a q35-like root bus with the edu device, a root port + switch
 * + endpoint, and an SR-IOV PF with ATS/PASID/PRI/ACS/ARI and two VFs) in
 * the default, -v, -vv, -t and -n modes, plus exact checks of the name
 * fallbacks and of single lines whose wording matters most.
 *
 * Golden files are tests/golden/lspci-<fabric>[-<mode>].expected.  Run with
 * VTDSIM_REGEN_GOLDEN=1 to rewrite them after an intended change, then
 * review the diff against real lspci output line by line.
 */
#include <stdlib.h>
#include <string.h>
#include "check_util.h"
#include "pcie/lspci.h"
#include "pcie/pcie.h"

typedef struct Fx {
    EmuSim *sim;
    AddrSpace *mem, *io;
    PcieFabric *f;
    PcieFn *pf;   /* sriov fabric: the PF */
} Fx;

static Fx fx_new(void)
{
    Fx x = { 0 };
    x.sim = emu_sim_new();
    x.mem = addr_space_new("mem", 1ull << 46, ~0ull);
    x.io = addr_space_new("io", 1ull << 16, ~0ull);
    x.f = pcie_fabric_new(x.sim, x.mem, x.io);
    return x;
}

static void fx_free(Fx *x)
{
    pcie_fabric_free(x->f);
    addr_space_free(x->mem);
    addr_space_free(x->io);
    emu_sim_free(x->sim);
}

static PcieFn *add(Fx *x, PcieFn *parent, uint8_t devfn, PcieFnKind kind, uint16_t vendor,
                   uint16_t device, uint32_t class_code, uint8_t rev)
{
    GError *err = NULL;
    PcieFn *fn = pcie_fn_new(x->f, parent, devfn, kind, vendor, device, class_code, NULL, NULL,
                             &err);
    ck_assert_msg(fn != NULL, "pcie_fn_new: %s", err ? err->message : "?");
    pcie_fn_set(fn, PCI_REVISION_ID, 1, rev);
    return fn;
}

static void subsystem(PcieFn *fn, uint16_t sv, uint16_t sd)
{
    pcie_fn_set(fn, PCI_SUBSYSTEM_VENDOR_ID, 2, sv);
    pcie_fn_set(fn, PCI_SUBSYSTEM_ID, 2, sd);
}

static void enumerate(Fx *x)
{
    PcieEnumWindows win = {
        .mem32_base = 0xfe000000, .mem32_limit = 0xfebfffff,
        .mem64_base = 0x800000000ull, .mem64_limit = 0xfffffffffull,
        .io_base = 0x1000, .io_limit = 0xffff,
    };
    GError *err = NULL;
    ck_assert_msg(pcie_fabric_enumerate(x->f, &win, false, &err), "enumerate: %s",
                  err ? err->message : "?");
}

/* q35-like: host bridge and QEMU's edu device on the root bus, MSI programmed. */
static Fx fabric_q35(void)
{
    Fx x = fx_new();
    add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x8086, 0x29c0, 0x060000, 0);
    PcieFn *edu = add(&x, NULL, PCIE_BDF(0, 1, 0), PCIE_KIND_PCI_DEVICE, 0x1234, 0x11e8,
                      0x00ff00, 0x10);
    subsystem(edu, 0x1af4, 0x1100);
    pcie_fn_set(edu, PCI_INTERRUPT_PIN, 1, 1);
    pcie_fn_bar_init(edu, 0, 1 << 20, PCIE_BAR_MEM32, NULL, NULL);
    uint8_t msi = pcie_cap_msi_init(edu, 1, true, false);
    enumerate(&x);
    pcie_fn_config_write(edu, PCI_INTERRUPT_LINE, 1, 10);
    pcie_fn_config_write(edu, msi + 4, 4, 0xfee00000);
    pcie_fn_config_write(edu, msi + 8, 4, 0);
    pcie_fn_config_write(edu, msi + 12, 2, 0x4021);
    pcie_fn_config_write(edu, msi + 2, 2, 0x0001);
    return x;
}

/* A root port, a two-port switch, an NVMe-like endpoint behind the first port. */
static Fx fabric_switch(void)
{
    Fx x = fx_new();
    add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x8086, 0x29c0, 0x060000, 0);
    PcieFn *rp = add(&x, NULL, PCIE_BDF(0, 1, 0), PCIE_KIND_ROOT_PORT, 0x1b36, 0x000c, 0x060400, 0);
    pcie_cap_pm_init(rp);
    pcie_cap_aer_init(rp);
    PcieFn *up = add(&x, rp, 0, PCIE_KIND_SWITCH_UP, 0x104c, 0x8232, 0x060400, 0x02);
    pcie_cap_pm_init(up);
    PcieFn *d0 = add(&x, up, PCIE_BDF(0, 0, 0), PCIE_KIND_SWITCH_DOWN, 0x104c, 0x8233, 0x060400, 0x01);
    PcieFn *d1 = add(&x, up, PCIE_BDF(0, 1, 0), PCIE_KIND_SWITCH_DOWN, 0x104c, 0x8233, 0x060400, 0x01);
    pcie_cap_pm_init(d0);
    pcie_cap_pm_init(d1);
    PcieFn *nv = add(&x, d0, 0, PCIE_KIND_ENDPOINT, 0x1b36, 0x0010, 0x010802, 0x02);
    subsystem(nv, 0x1af4, 0x1100);
    pcie_fn_set(nv, PCI_INTERRUPT_PIN, 1, 1);
    pcie_fn_bar_init(nv, 0, 0x4000, PCIE_BAR_MEM64, NULL, NULL);
    pcie_fn_bar_init(nv, 2, 0x1000, PCIE_BAR_MEM32, NULL, NULL);
    pcie_cap_pm_init(nv);
    pcie_cap_msix_init(nv, 65, 2, 0, 2, 0x800);
    pcie_cap_aer_init(nv);
    enumerate(&x);
    pcie_fn_config_write(nv, PCI_INTERRUPT_LINE, 1, 11);
    return x;
}

/* An SR-IOV PF with ATS, PASID, PRI, ACS, ARI below an ACS root port; two VFs. */
static Fx fabric_sriov(void)
{
    Fx x = fx_new();
    add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x8086, 0x29c0, 0x060000, 0);
    PcieFn *rp = add(&x, NULL, PCIE_BDF(0, 1, 0), PCIE_KIND_ROOT_PORT, 0x1b36, 0x000c, 0x060400, 0);
    pcie_cap_aer_init(rp);
    uint16_t racs = pcie_cap_acs_init(rp, 0x1f);
    PcieFn *pf = add(&x, rp, 0, PCIE_KIND_ENDPOINT, 0x8086, 0x10c9, 0x020000, 0x01);
    pcie_fn_set(pf, PCI_INTERRUPT_PIN, 1, 1);
    pcie_fn_bar_init(pf, 0, 0x20000, PCIE_BAR_MEM32, NULL, NULL);
    pcie_fn_bar_init(pf, 2, 0x20, PCIE_BAR_IO, NULL, NULL);
    pcie_fn_bar_init(pf, 3, 0x4000, PCIE_BAR_MEM32, NULL, NULL);
    pcie_cap_pm_init(pf);
    pcie_cap_msi_init(pf, 1, true, true);
    pcie_cap_msix_init(pf, 10, 3, 0, 3, 0x2000);
    pcie_cap_aer_init(pf);
    pcie_cap_ari_init(pf, 0);
    pcie_cap_ats_init(pf, 0, false);
    pcie_cap_pasid_init(pf, 20, true, true);
    pcie_cap_pri_init(pf, 0x200);
    uint16_t pacs = pcie_cap_acs_init(pf, 0x0c);
    PcieSriovParams p = {
        .total_vfs = 8, .initial_vfs = 8, .first_vf_offset = 0x80, .vf_stride = 2,
        .vf_device_id = 0x10ca,
    };
    p.vf_bar_size[0] = 0x4000;
    p.vf_bar_flags[0] = PCIE_BAR_MEM64;
    p.vf_bar_size[3] = 0x4000;
    p.vf_bar_flags[3] = PCIE_BAR_MEM64;
    uint16_t sr = pcie_cap_sriov_init(pf, &p);
    enumerate(&x);
    /* what Linux does: ACS on, then the PF driver enables two VFs */
    pcie_fn_config_write(rp, racs + 6, 2, 0x1d);
    pcie_fn_config_write(pf, pacs + 6, 2, 0x0c);
    pcie_fn_config_write(pf, PCI_INTERRUPT_LINE, 1, 11);
    pcie_fn_config_write(pf, sr + 0x10, 2, 2);
    uint32_t ctl = pcie_fn_config_read(pf, sr + 0x08, 2);
    pcie_fn_config_write(pf, sr + 0x08, 2, ctl | 0x0009);   /* VF Enable, VF MSE */
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 2);
    pcie_fabric_compute_groups(x.f);
    x.pf = pf;
    return x;
}

static char *lspci(Fx *x, unsigned flags)
{
    GString *s = g_string_new("");
    pcie_lspci(x->f, flags, s);
    return g_string_free(s, FALSE);
}

static const struct {
    const char *suffix;
    unsigned flags;
} modes[] = {
    { "", 0 },
    { "-v", PCIE_LSPCI_VERBOSE },
    { "-vv", PCIE_LSPCI_VERBOSE | PCIE_LSPCI_VERY_VERBOSE },
    { "-t", PCIE_LSPCI_TREE },
    { "-n", PCIE_LSPCI_NUMERIC },
};

/* Compares every mode of @x with its golden file, line by line for a readable failure. */
static void check_golden(Fx *x, const char *name)
{
    for (size_t m = 0; m < G_N_ELEMENTS(modes); m++) {
        char *got = lspci(x, modes[m].flags);
        char *path = g_strdup_printf(TEST_SRC_PATH("tests/golden/lspci-%s%s.expected"), name,
                                     modes[m].suffix);
        if (getenv("VTDSIM_REGEN_GOLDEN")) {
            ck_assert(g_file_set_contents(path, got, -1, NULL));
        }
        char *want = NULL;
        GError *err = NULL;
        ck_assert_msg(g_file_get_contents(path, &want, NULL, &err), "%s: %s", path,
                      err ? err->message : "?");
        char **gl = g_strsplit(got, "\n", -1), **wl = g_strsplit(want, "\n", -1);
        for (unsigned i = 0; gl[i] || wl[i]; i++) {
            ck_assert_msg(gl[i] && wl[i] && strcmp(gl[i], wl[i]) == 0,
                          "%s line %u:\n got: %s\nwant: %s", path, i + 1, gl[i] ? gl[i] : "<eof>",
                          wl[i] ? wl[i] : "<eof>");
            if (!gl[i] || !wl[i])
                break;
        }
        ck_assert_str_eq(got, want);
        g_strfreev(gl);
        g_strfreev(wl);
        g_free(want);
        g_free(path);
        g_free(got);
    }
}

START_TEST(test_lspci_golden_q35)
{
    Fx x = fabric_q35();
    check_golden(&x, "q35");
    fx_free(&x);
}
END_TEST

START_TEST(test_lspci_golden_switch)
{
    Fx x = fabric_switch();
    check_golden(&x, "switch");
    fx_free(&x);
}
END_TEST

START_TEST(test_lspci_golden_sriov)
{
    Fx x = fabric_sriov();
    check_golden(&x, "sriov");
    fx_free(&x);
}
END_TEST

/* Name fallbacks exactly as pciutils prints them. */
START_TEST(test_lspci_names)
{
    static const struct {
        uint16_t v, d;
        const char *want;
    } dev[] = {
        { 0x8086, 0x29c0, "Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller" },
        { 0x1b36, 0x000c, "Red Hat, Inc. QEMU PCIe Root port" },
        { 0x104c, 0x8233, "Texas Instruments XIO3130 PCI Express Switch (Downstream)" },
        { 0x1234, 0x11e8, "Device 1234:11e8" },
        { 0x8086, 0x1234, "Intel Corporation Device 1234" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(dev); i++) {
        GString *s = g_string_new("");
        pcie_lspci_device_name(dev[i].v, dev[i].d, s);
        ck_assert_str_eq(s->str, dev[i].want);
        g_string_free(s, TRUE);
    }
    static const struct {
        uint16_t c;
        const char *want;
    } cls[] = {
        { 0x0600, "Host bridge" },
        { 0x0604, "PCI bridge" },
        { 0x0200, "Ethernet controller" },
        { 0x0108, "Non-Volatile memory controller" },
        { 0x00ff, "Unclassified device [00ff]" },
        { 0x0677, "Bridge [0677]" },
        { 0x4200, "Class 4200" },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(cls); i++) {
        GString *s = g_string_new("");
        pcie_lspci_class_name(cls[i].c, s);
        ck_assert_str_eq(s->str, cls[i].want);
        g_string_free(s, TRUE);
    }
}
END_TEST

/* Default and numeric one-line forms of the q35 fabric, spelled out. */
START_TEST(test_lspci_terse_lines)
{
    Fx x = fabric_q35();
    char *s = lspci(&x, 0);
    ck_assert_str_eq(s,
                     "00:00.0 Host bridge: Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller\n"
                     "00:01.0 Unclassified device [00ff]: Device 1234:11e8 (rev 10)\n");
    g_free(s);
    s = lspci(&x, PCIE_LSPCI_NUMERIC);
    ck_assert_str_eq(s, "00:00.0 0600: 8086:29c0\n00:01.0 00ff: 1234:11e8 (rev 10)\n");
    g_free(s);
    fx_free(&x);
}
END_TEST

/* The MSI capability as software programmed it, in -v and -vv wording. */
START_TEST(test_lspci_msi_lines)
{
    Fx x = fabric_q35();
    char *s = lspci(&x, PCIE_LSPCI_VERBOSE);
    ck_assert_ptr_nonnull(strstr(s, "] MSI: Enable+ Count=1/1 Maskable- 64bit+\n\n"));
    ck_assert_ptr_nonnull(strstr(s, "\tFlags: bus master, fast devsel, latency 0, IRQ 10\n"));
    ck_assert_ptr_nonnull(strstr(s, "\tSubsystem: Red Hat, Inc. Device 1100\n"));
    g_free(s);
    s = lspci(&x, PCIE_LSPCI_VERBOSE | PCIE_LSPCI_VERY_VERBOSE);
    ck_assert_ptr_nonnull(strstr(s, "] MSI: Enable+ Count=1/1 Maskable- 64bit+\n"
                                    "\t\tAddress: 00000000fee00000  Data: 4021\n"));
    ck_assert_ptr_nonnull(strstr(s, "\tInterrupt: pin A routed to IRQ 10\n"));
    ck_assert_ptr_nonnull(strstr(s, "\tRegion 0: Memory at fe"));
    ck_assert_ptr_nonnull(strstr(s, " (32-bit, non-prefetchable) [size=1M]\n"));
    ck_assert_ptr_null(strstr(s, "IOMMU group"));   /* groups never computed */
    g_free(s);
    fx_free(&x);
}
END_TEST

/* -t -v and -t -vv: names after each endpoint, then its regions. */
START_TEST(test_lspci_tree_verbose)
{
    Fx x = fabric_q35();
    char *s = lspci(&x, PCIE_LSPCI_TREE | PCIE_LSPCI_VERBOSE | PCIE_LSPCI_VERY_VERBOSE);
    ck_assert_str_eq(s,
                     "-[0000:00]-+-00.0  Intel Corporation 82G33/G31/P35/P31 Express DRAM Controller\n"
                     "           \\-01.0  Device 1234:11e8\n"
                     "                     Memory at fe000000 (32-bit, non-prefetchable) [size=1M]\n");
    g_free(s);
    s = lspci(&x, PCIE_LSPCI_TREE | PCIE_LSPCI_VERBOSE | PCIE_LSPCI_NUMERIC);
    ck_assert_str_eq(s, "-[0000:00]-+-00.0  8086:29c0\n"
                        "           \\-01.0  1234:11e8\n");
    g_free(s);
    fx_free(&x);
}
END_TEST

/* The bus tree of the switch fabric, spelled out. */
START_TEST(test_lspci_tree)
{
    Fx x = fabric_switch();
    char *s = lspci(&x, PCIE_LSPCI_TREE);
    ck_assert_str_eq(s,
                     "-[0000:00]-+-00.0\n"
                     "           \\-01.0-[01-04]----00.0-[02-04]--+-00.0-[03]----00.0\n"
                     "                                           \\-01.0-[04]--\n");
    g_free(s);
    s = lspci(&x, PCIE_LSPCI_TREE | PCIE_LSPCI_VERBOSE);
    ck_assert_ptr_nonnull(strstr(s, "-[03]----00.0  Red Hat, Inc. QEMU NVM Express Controller\n"));
    g_free(s);
    fx_free(&x);
}
END_TEST

/* VFs: IDs from the PF, BARs carved from the VF BARs and marked [virtual], own groups. */
START_TEST(test_lspci_vf_lines)
{
    Fx x = fabric_sriov();
    char *s = lspci(&x, 0);
    ck_assert_ptr_nonnull(strstr(s, "01:10.0 Ethernet controller: Intel Corporation 82576 Virtual Function (rev 01)\n"));
    ck_assert_ptr_nonnull(strstr(s, "01:10.2 Ethernet controller: Intel Corporation 82576 Virtual Function (rev 01)\n"));
    g_free(s);
    s = lspci(&x, PCIE_LSPCI_VERBOSE | PCIE_LSPCI_VERY_VERBOSE);
    const char *vf = strstr(s, "01:10.2 ");
    ck_assert_ptr_nonnull(vf);
    ck_assert_ptr_nonnull(strstr(vf, "(64-bit, non-prefetchable) [virtual] [size=16K]\n"));
    ck_assert_ptr_nonnull(strstr(vf, "\tIOMMU group: 4\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tIOVCtl:\tEnable+ Migration- Interrupt- MSE+ ARIHierarchy+ 10BitTagReq-\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tInitial VFs: 8, Total VFs: 8, Number of VFs: 2, Function Dependency Link: 00\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tVF offset: 128, stride: 2, Device ID: 10ca\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tACSCtl:\tSrcValid+ TransBlk- ReqRedir+ CmpltRedir+ UpstreamFwd+ EgressCtrl- DirectTrans-\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tPASIDCap: Exec+ Priv+, Max PASID Width: 14\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tPage Request Capacity: 00000200, Page Request Allocation: 00000000\n"));
    ck_assert_ptr_nonnull(strstr(s, "\t\tATSCap:\tInvalidate Queue Depth: 00\n"));
    g_free(s);
    fx_free(&x);
}
END_TEST

static Suite *suite_lspci(void)
{
    Suite *s = suite_create("lspci");
    TCase *tc = tcase_create("lspci");
    tcase_add_test(tc, test_lspci_names);
    tcase_add_test(tc, test_lspci_terse_lines);
    tcase_add_test(tc, test_lspci_msi_lines);
    tcase_add_test(tc, test_lspci_tree);
    tcase_add_test(tc, test_lspci_tree_verbose);
    tcase_add_test(tc, test_lspci_vf_lines);
    tcase_add_test(tc, test_lspci_golden_q35);
    tcase_add_test(tc, test_lspci_golden_switch);
    tcase_add_test(tc, test_lspci_golden_sriov);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_lspci)
