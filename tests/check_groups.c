/*
 * Tests of IOMMU group computation (src/pcie/groups.c): truth tables on
 * small fabrics, each checked against what Linux's pci_device_group()
 * gives for the same topology and ACS settings.
 */
#include "check_util.h"
#include "pcie/pcie.h"

enum {
    ACS_SV = 0x01, ACS_TB = 0x02, ACS_RR = 0x04, ACS_CR = 0x08, ACS_UF = 0x10, ACS_EC = 0x20,
    ACS_ALL4 = ACS_SV | ACS_RR | ACS_CR | ACS_UF,
};

typedef struct Fx {
    EmuSim *sim;
    AddrSpace *mem, *io;
    PcieFabric *f;
} Fx;

static Fx fx_new(void)
{
    Fx x;
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

static PcieFn *add(Fx *x, PcieFn *parent, uint8_t devfn, PcieFnKind kind, uint32_t class_code)
{
    GError *err = NULL;
    PcieFn *fn = pcie_fn_new(x->f, parent, devfn, kind, 0x8086, 0x1234, class_code, NULL, NULL,
                             &err);
    ck_assert_msg(fn != NULL, "pcie_fn_new: %s", err ? err->message : "?");
    return fn;
}

static PcieFn *rp(Fx *x, uint8_t devfn)
{
    return add(x, NULL, devfn, PCIE_KIND_ROOT_PORT, 0x060400);
}

static PcieFn *ep(Fx *x, PcieFn *parent, uint8_t devfn)
{
    return add(x, parent, devfn, PCIE_KIND_ENDPOINT, 0x020000);
}

/* What Linux's pci_enable_acs() does: enable SV, RR, CR, UF where implemented. */
static void acs_enable(PcieFn *fn)
{
    uint16_t pos = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ACS);
    ck_assert_uint_ne(pos, 0);
    uint16_t cap = (uint16_t)pcie_fn_config_read(fn, pos + 4, 2);
    uint16_t ctl = (uint16_t)pcie_fn_config_read(fn, pos + 6, 2);
    pcie_fn_config_write(fn, pos + 6, 2, ctl | (cap & ACS_ALL4));
    ck_assert_uint_eq(pcie_fn_config_read(fn, pos + 6, 2), cap & ACS_ALL4);
}

static void with_acs(PcieFn *fn, uint16_t cap, bool enable)
{
    pcie_cap_acs_init(fn, cap);
    if (enable)
        acs_enable(fn);
}

static void buses(Fx *x)
{
    PcieEnumWindows win = {
        .mem32_base = 0xc0000000, .mem32_limit = 0xdfffffff,
        .mem64_base = 0x800000000ull, .mem64_limit = 0xfffffffffull,
        .io_base = 0x1000, .io_limit = 0xffff,
    };
    GError *err = NULL;
    ck_assert_msg(pcie_fabric_enumerate(x->f, &win, true, &err), "enumerate: %s",
                  err ? err->message : "?");
}

/* Groups of every function in fabric order, as "rid:group ..." */
static void fmt_one(PcieFn *fn, void *opaque)
{
    uint16_t rid = pcie_fn_rid(fn);
    g_string_append_printf(opaque, "%02x:%02x.%d=%d ", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid),
                           pcie_fn_group(fn));
}

static char *groups_str(Fx *x, unsigned *count)
{
    *count = pcie_fabric_compute_groups(x->f);
    GString *s = g_string_new("");
    pcie_fabric_foreach(x->f, fmt_one, s);
    if (s->len)
        g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

#define CHECK_GROUPS(x, expect, n)                                  \
    do {                                                            \
        unsigned cnt_;                                              \
        char *got_ = groups_str((x), &cnt_);                        \
        ck_assert_str_eq(got_, (expect));                           \
        ck_assert_uint_eq(cnt_, (n));                               \
        g_free(got_);                                               \
    } while (0)

/* Before any computation a function has no group. */
START_TEST(test_groups_none_before)
{
    Fx x = fx_new();
    PcieFn *hb = add(&x, NULL, 0, PCIE_KIND_HOST_BRIDGE, 0x060000);
    ck_assert_int_eq(pcie_fn_group(hb), -1);
    ck_assert_uint_eq(pcie_fabric_compute_groups(x.f), 1);
    ck_assert_int_eq(pcie_fn_group(hb), 0);
    fx_free(&x);
}
END_TEST

/* RC integrated endpoints are single functions on the root bus: one group each. */
START_TEST(test_groups_rciep)
{
    Fx x = fx_new();
    add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x060000);
    add(&x, NULL, PCIE_BDF(0, 1, 0), PCIE_KIND_RC_INTEGRATED, 0x00ff00);
    add(&x, NULL, PCIE_BDF(0, 2, 0), PCIE_KIND_RC_INTEGRATED, 0x020000);
    add(&x, NULL, PCIE_BDF(0, 4, 0), PCIE_KIND_RC_INTEGRATED, 0x088000);
    CHECK_GROUPS(&x, "00:00.0=0 00:01.0=1 00:02.0=2 00:04.0=3", 4);
    fx_free(&x);
}
END_TEST

/*
 * A multifunction RC integrated device: without ACS its functions share a
 * group; with ACS implemented but not enabled in ACS Control too (it is
 * the Control register that counts); with ACS enabled they are separate.
 */
START_TEST(test_groups_multifunction_rciep)
{
    for (int mode = 0; mode < 4; mode++) {
        Fx x = fx_new();
        add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x060000);
        PcieFn *a = add(&x, NULL, PCIE_BDF(0, 3, 0), PCIE_KIND_RC_INTEGRATED, 0x020000);
        PcieFn *b = add(&x, NULL, PCIE_BDF(0, 3, 1), PCIE_KIND_RC_INTEGRATED, 0x020000);
        PcieFn *c = add(&x, NULL, PCIE_BDF(0, 3, 2), PCIE_KIND_RC_INTEGRATED, 0x020000);
        add(&x, NULL, PCIE_BDF(0, 5, 0), PCIE_KIND_RC_INTEGRATED, 0x020000);
        ck_assert_uint_eq(pcie_fn_config_read(a, PCI_HEADER_TYPE, 1) & 0x80, 0x80);
        switch (mode) {
        case 0: /* no ACS */
            CHECK_GROUPS(&x, "00:00.0=0 00:03.0=1 00:03.1=1 00:03.2=1 00:05.0=2", 3);
            break;
        case 1: /* ACS implemented, Control left at reset (0) */
            with_acs(a, ACS_ALL4, false);
            with_acs(b, ACS_ALL4, false);
            with_acs(c, ACS_ALL4, false);
            CHECK_GROUPS(&x, "00:00.0=0 00:03.0=1 00:03.1=1 00:03.2=1 00:05.0=2", 3);
            break;
        case 2: /* ACS enabled on all three */
            with_acs(a, ACS_ALL4, true);
            with_acs(b, ACS_ALL4, true);
            with_acs(c, ACS_ALL4, true);
            CHECK_GROUPS(&x, "00:00.0=0 00:03.0=1 00:03.1=2 00:03.2=3 00:05.0=4", 5);
            break;
        case 3: /* only function 1 isolated: 0 and 2 share */
            with_acs(b, ACS_ALL4, true);
            CHECK_GROUPS(&x, "00:00.0=0 00:03.0=1 00:03.1=2 00:03.2=1 00:05.0=3", 4);
            break;
        }
        fx_free(&x);
    }
}
END_TEST

/* Multifunction ACS: features the capability lacks count as enabled (Linux). */
START_TEST(test_groups_acs_cap_subset)
{
    Fx x = fx_new();
    PcieFn *a = add(&x, NULL, PCIE_BDF(0, 3, 0), PCIE_KIND_RC_INTEGRATED, 0x020000);
    PcieFn *b = add(&x, NULL, PCIE_BDF(0, 3, 1), PCIE_KIND_RC_INTEGRATED, 0x020000);
    /* a multifunction device typically implements RR and CR only */
    with_acs(a, ACS_RR | ACS_CR, true);
    with_acs(b, ACS_RR | ACS_CR, true);
    CHECK_GROUPS(&x, "00:03.0=0 00:03.1=1", 2);
    fx_free(&x);
}
END_TEST

/*
 * Root ports: an endpoint is isolated from its root port only when the
 * port has ACS enabled; a port with ACS only in its capability, or none,
 * pulls the endpoint into its own group.
 */
START_TEST(test_groups_root_ports)
{
    Fx x = fx_new();
    add(&x, NULL, PCIE_BDF(0, 0, 0), PCIE_KIND_HOST_BRIDGE, 0x060000);
    PcieFn *r1 = rp(&x, PCIE_BDF(0, 1, 0));
    PcieFn *r2 = rp(&x, PCIE_BDF(0, 2, 0));
    PcieFn *r3 = rp(&x, PCIE_BDF(0, 3, 0));
    PcieFn *r4 = rp(&x, PCIE_BDF(0, 4, 0));
    with_acs(r1, ACS_ALL4 | ACS_TB, true);  /* isolated */
    with_acs(r3, ACS_ALL4, false);          /* capable, not enabled */
    with_acs(r4, ACS_SV | ACS_RR | ACS_CR | ACS_UF | ACS_EC, true);
    ep(&x, r1, 0);
    ep(&x, r2, 0);
    ep(&x, r3, 0);
    ep(&x, r4, 0);
    (void)r2;
    buses(&x);
    CHECK_GROUPS(&x,
                 "00:00.0=0 00:01.0=1 01:00.0=2 00:02.0=3 02:00.0=3 00:03.0=4 03:00.0=4 "
                 "00:04.0=5 04:00.0=6",
                 7);
    fx_free(&x);
}
END_TEST

/* Egress Control implemented but not enabled: Linux asks only for SV/RR/CR/UF. */
START_TEST(test_groups_root_port_partial_ctrl)
{
    Fx x = fx_new();
    PcieFn *r1 = rp(&x, PCIE_BDF(0, 1, 0));
    pcie_cap_acs_init(r1, ACS_ALL4);
    uint16_t pos = pcie_fn_find_ext_cap(r1, PCI_EXT_CAP_ID_ACS);
    pcie_fn_config_write(r1, pos + 6, 2, ACS_SV | ACS_RR | ACS_CR); /* UF missing */
    ep(&x, r1, 0);
    buses(&x);
    CHECK_GROUPS(&x, "00:01.0=0 01:00.0=0", 1);
    pcie_fn_config_write(r1, pos + 6, 2, ACS_ALL4);
    CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1", 2);
    fx_free(&x);
}
END_TEST

/*
 * A switch whose downstream ports lack ACS below an isolated root port:
 * each endpoint joins its downstream port's group (Linux stops at the
 * first bridge without ACS on the path); the upstream port, a single
 * function, needs no ACS.  With ACS enabled on the downstream ports every
 * function is alone.  A root port without ACS pulls the whole switch in.
 */
START_TEST(test_groups_switch)
{
    for (int mode = 0; mode < 3; mode++) {
        Fx x = fx_new();
        PcieFn *r = rp(&x, PCIE_BDF(0, 1, 0));
        if (mode != 2)
            with_acs(r, ACS_ALL4, true);
        PcieFn *up = add(&x, r, 0, PCIE_KIND_SWITCH_UP, 0x060400);
        PcieFn *d0 = add(&x, up, PCIE_BDF(0, 0, 0), PCIE_KIND_SWITCH_DOWN, 0x060400);
        PcieFn *d1 = add(&x, up, PCIE_BDF(0, 1, 0), PCIE_KIND_SWITCH_DOWN, 0x060400);
        if (mode == 1) {
            with_acs(d0, ACS_ALL4, true);
            with_acs(d1, ACS_ALL4, true);
        }
        ep(&x, d0, 0);
        ep(&x, d1, 0);
        buses(&x);
        switch (mode) {
        case 0:
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 02:00.0=2 03:00.0=2 02:01.0=3 04:00.0=3", 4);
            break;
        case 1:
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 02:00.0=2 03:00.0=3 02:01.0=4 04:00.0=5", 6);
            break;
        case 2:
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=0 02:00.0=0 03:00.0=0 02:01.0=0 04:00.0=0", 1);
            break;
        }
        fx_free(&x);
    }
}
END_TEST

/* A multifunction endpoint below an isolated root port, with and without ACS. */
START_TEST(test_groups_multifunction_endpoint)
{
    for (int acs = 0; acs < 2; acs++) {
        Fx x = fx_new();
        PcieFn *r = rp(&x, PCIE_BDF(0, 1, 0));
        with_acs(r, ACS_ALL4, true);
        PcieFn *f0 = ep(&x, r, 0);
        PcieFn *f1 = ep(&x, r, 1);
        if (acs) {
            with_acs(f0, ACS_RR | ACS_CR, true);
            with_acs(f1, ACS_RR | ACS_CR, true);
        }
        buses(&x);
        if (acs)
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 01:00.1=2", 3);
        else
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 01:00.1=1", 2);
        fx_free(&x);
    }
}
END_TEST

/* Everything below a PCIe-to-PCI bridge carries the bridge's requester ID. */
START_TEST(test_groups_pcie_to_pci_alias)
{
    Fx x = fx_new();
    PcieFn *r = rp(&x, PCIE_BDF(0, 1, 0));
    with_acs(r, ACS_ALL4, true);
    PcieFn *br = add(&x, r, 0, PCIE_KIND_PCIE_TO_PCI, 0x060400);
    add(&x, br, PCIE_BDF(0, 1, 0), PCIE_KIND_LEGACY_ENDPOINT, 0x020000);
    add(&x, br, PCIE_BDF(0, 2, 0), PCIE_KIND_LEGACY_ENDPOINT, 0x020000);
    buses(&x);
    CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 02:01.0=1 02:02.0=1", 2);
    fx_free(&x);
}
END_TEST

/*
 * An SR-IOV PF with two VFs: below an isolated root port each VF is its
 * own group (VFs are never multifunction); below a root port without ACS
 * the PF and its VFs all join the port's group.
 */
START_TEST(test_groups_sriov)
{
    for (int acs = 0; acs < 2; acs++) {
        Fx x = fx_new();
        PcieFn *r = rp(&x, PCIE_BDF(0, 1, 0));
        if (acs)
            with_acs(r, ACS_ALL4, true);
        PcieFn *pf = ep(&x, r, 0);
        PcieSriovParams p = {
            .total_vfs = 4, .initial_vfs = 4, .first_vf_offset = 1, .vf_stride = 1,
            .vf_device_id = 0x10ca,
        };
        p.vf_bar_size[0] = 0x4000;
        p.vf_bar_flags[0] = PCIE_BAR_MEM64;
        uint16_t sr = pcie_cap_sriov_init(pf, &p);
        buses(&x);
        pcie_fn_config_write(pf, sr + 0x10, 2, 2);      /* NumVFs */
        pcie_fn_config_write(pf, sr + 0x08, 2,
                             pcie_fn_config_read(pf, sr + 0x08, 2) | 0x1); /* VF Enable */
        ck_assert_uint_eq(pcie_fn_num_vfs(pf), 2);
        /* without ARI the fabric places the VFs on the next bus (see sriov.c) */
        if (acs)
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 02:00.0=2 02:00.1=3", 4);
        else
            CHECK_GROUPS(&x, "00:01.0=0 01:00.0=0 02:00.0=0 02:00.1=0", 1);
        fx_free(&x);
    }
}
END_TEST

/* A multifunction PF without ACS shares its group with its sibling, not with its VFs. */
START_TEST(test_groups_sriov_multifunction_pf)
{
    Fx x = fx_new();
    PcieFn *r = rp(&x, PCIE_BDF(0, 1, 0));
    with_acs(r, ACS_ALL4, true);
    PcieFn *pf = ep(&x, r, 0);
    ep(&x, r, 1);
    PcieSriovParams p = {
        .total_vfs = 2, .initial_vfs = 2, .first_vf_offset = 2, .vf_stride = 1,
        .vf_device_id = 0x10ca,
    };
    uint16_t sr = pcie_cap_sriov_init(pf, &p);
    buses(&x);
    pcie_fn_config_write(pf, sr + 0x10, 2, 2);
    pcie_fn_config_write(pf, sr + 0x08, 2, pcie_fn_config_read(pf, sr + 0x08, 2) | 0x1);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 2);
    /* fabric order lists a PF's VFs right after it */
    CHECK_GROUPS(&x, "00:01.0=0 01:00.0=1 02:00.0=2 02:00.1=3 01:00.1=1", 4);
    fx_free(&x);
}
END_TEST

static Suite *suite_groups(void)
{
    Suite *s = suite_create("groups");
    TCase *tc = tcase_create("groups");
    tcase_add_test(tc, test_groups_none_before);
    tcase_add_test(tc, test_groups_rciep);
    tcase_add_test(tc, test_groups_multifunction_rciep);
    tcase_add_test(tc, test_groups_acs_cap_subset);
    tcase_add_test(tc, test_groups_root_ports);
    tcase_add_test(tc, test_groups_root_port_partial_ctrl);
    tcase_add_test(tc, test_groups_switch);
    tcase_add_test(tc, test_groups_multifunction_endpoint);
    tcase_add_test(tc, test_groups_pcie_to_pci_alias);
    tcase_add_test(tc, test_groups_sriov);
    tcase_add_test(tc, test_groups_sriov_multifunction_pf);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_groups)
