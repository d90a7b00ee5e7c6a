/*
 * Tests of the platform layer: platform-file loading and its errors, the
 * q35 chipset (config mechanism #1, PCIEXBAR/ECAM), the edu device, and
 * the qtest front end.  Expected qtest answers were taken from QEMU 7.2
 * (qemu-system-x86_64 -M q35 -m 256 -device intel-iommu,intremap=off
 * -device edu, qtest over stdio) and are compared byte for byte.
 */
#include <string.h>
#include "check_util.h"
#include "vtdsim/vtdsim.h"
#include "platform/platform.h"

typedef struct Session {
    EmuSim *sim;
    VtdsimQtest *q;
    GPtrArray *lines;   /* every line the server sent */
} Session;

static void collect(void *opaque, const char *line)
{
    Session *s = opaque;
    g_ptr_array_add(s->lines, g_strdup(line));
}

static Session *session_new(const char *platform_text)
{
    Session *s = g_new0(Session, 1);
    GError *err = NULL;
    s->sim = platform_text ? vtdsim_platform_new_from_data(platform_text, "test.platform", &err)
                           : vtdsim_platform_new(NULL, &err);
    if (!s->sim) {
        ck_abort_msg("platform: %s", err->message);
    }
    s->lines = g_ptr_array_new_with_free_func(g_free);
    s->q = vtdsim_qtest_new(s->sim, collect, s);
    return s;
}

static void session_free(Session *s)
{
    vtdsim_qtest_free(s->q);
    emu_sim_free(s->sim);
    g_ptr_array_free(s->lines, TRUE);
    g_free(s);
}

/* Sends @cmd and returns the last line answered (owned by the session). */
static const char *ask(Session *s, const char *cmd)
{
    guint before = s->lines->len;
    vtdsim_qtest_command(s->q, cmd);
    ck_assert_uint_gt(s->lines->len, before);
    return g_ptr_array_index(s->lines, s->lines->len - 1);
}

/* Runs "command => answer" pairs; "=>" with nothing after means any answer. */
static void script(Session *s, const char *const *pairs)
{
    for (unsigned i = 0; pairs[i]; i += 2) {
        const char *got = ask(s, pairs[i]);
        if (pairs[i + 1]) {
            ck_assert_msg(!strcmp(got, pairs[i + 1]), "%s: expected '%s', got '%s'", pairs[i],
                          pairs[i + 1], got);
        }
    }
}

START_TEST(test_qtest_config_edu)
{
    Session *s = session_new(NULL);
    static const char *const pairs[] = {
        "outl 0xcf8 0x80000000", "OK",
        "inl 0xcfc", "OK 0x29c08086",
        "inw 0xcfc", "OK 0x8086",
        "inb 0xcfe", "OK 0x00c0",
        "outl 0xcf8 0x80000800", "OK",
        "inl 0xcfc", "OK 0x11e81234",
        "inl 0xcf8", "OK 0x80000800",
        "outb 0xcf8 0x12", "OK",           /* byte writes do not change CONFIG_ADDRESS */
        "inl 0xcf8", "OK 0x80000800",
        "inb 0xcf8", "OK 0x0000",
        "outl 0xcf8 0x80000804", "OK",
        "inl 0xcfc", "OK 0x100000",         /* status: capability list */
        "outl 0xcf8 0x80000808", "OK",
        "inl 0xcfc", "OK 0xff0010",         /* class 00ff00, revision 0x10 */
        "outl 0xcf8 0x80000810", "OK",
        "outl 0xcfc 0xffffffff", "OK",
        "inl 0xcfc", "OK 0xfff00000",       /* 1 MiB 32-bit BAR */
        "outl 0xcf8 0x80000834", "OK",
        "inl 0xcfc", "OK 0x0040",
        "outl 0xcf8 0x80000840", "OK",
        "inl 0xcfc", "OK 0x800005",         /* MSI, 64-bit, 1 vector */
        "outl 0xcf8 0x8000083c", "OK",
        "inl 0xcfc", "OK 0x0100",           /* INTA */
        "outl 0xcf8 0x80001000", "OK",
        "inl 0xcfc", "OK 0xffffffff",       /* no device at 00:02.0 */
        "outl 0xcf8 0x00000800", "OK",
        "inl 0xcfc", "OK 0xffffffff",       /* enable bit clear */
        "inb 0x1234", "OK 0x00ff",          /* unassigned I/O reads all ones */
        "inl 0x1234", "OK 0xffffffff",
        NULL,
    };
    script(s, pairs);
    session_free(s);
}
END_TEST

START_TEST(test_qtest_edu_registers)
{
    Session *s = session_new(NULL);
    static const char *const pairs[] = {
        "outl 0xcf8 0x80000810", "OK",
        "outl 0xcfc 0xfe000000", "OK",
        "outl 0xcf8 0x80000804", "OK",
        "readl 0xfe000000", "OK 0x0000000000000000",   /* memory decode still off */
        "outl 0xcfc 0x2", "OK",
        "readl 0xfe000000", "OK 0x00000000010000ed",
        "readl 0xfe000004", "OK 0x0000000000000000",
        "writel 0xfe000004 0x12345678", "OK",
        "readl 0xfe000004", "OK 0x00000000edcba987",
        "readw 0xfe000004", "OK 0x0000000000000000",   /* size 2 rejected by the bus */
        "readq 0xfe000000", "OK 0xffffffffffffffff",   /* edu's own rule below 0x80 */
        "readl 0xfe000100", "OK 0x00000000ffffffff",
        "writel 0xfe000008 5", "OK",
        "clock_step 100", "OK 100",
        "readl 0xfe000020", "OK 0x0000000000000000",
        "readl 0xfe000008", "OK 0x0000000000000078",   /* 5! */
        "readq 0xfe000080", "OK 0x0000000000000000",
        NULL,
    };
    script(s, pairs);
    session_free(s);
}
END_TEST

/* DMA with translation off goes straight to memory, 100 ms after the command. */
START_TEST(test_qtest_edu_dma_untranslated)
{
    Session *s = session_new(NULL);
    static const char *const pairs[] = {
        "outl 0xcf8 0x80000810", "OK", "outl 0xcfc 0xfe000000", "OK",
        "outl 0xcf8 0x80000804", "OK", "outl 0xcfc 0x6", "OK",
        "writeq 0x200000 0x1122334455667788", "OK",
        "writeq 0xfe000080 0x200000", "OK",
        "writeq 0xfe000088 0x40000", "OK",
        "writeq 0xfe000090 0x8", "OK",
        "writeq 0xfe000098 0x1", "OK",
        "readq 0xfe000098", "OK 0x0000000000000001",   /* running */
        "clock_step 99999999", "OK 99999999",
        "readq 0xfe000098", "OK 0x0000000000000001",
        "clock_step 1", "OK 100000000",
        "readq 0xfe000098", "OK 0x0000000000000000",   /* done at exactly 100 ms */
        "writeq 0xfe000080 0x40000", "OK",
        "writeq 0xfe000088 0x300000", "OK",
        "writeq 0xfe000098 0x3", "OK",
        "clock_step", "OK 200000000",                  /* to the next deadline */
        "readq 0x300000", "OK 0x1122334455667788",
        "read 0x300000 8", "OK 0x8877665544332211",
        "b64read 0x300000 4", "OK iHdmVQ==",
        NULL,
    };
    script(s, pairs);
    session_free(s);
}
END_TEST

START_TEST(test_qtest_intx_and_msi)
{
    Session *s = session_new(NULL);
    Platform *p = platform_get(s->sim);
    static const char *const pairs[] = {
        "irq_intercept_in ioapic", "OK",
        "irq_intercept_out foo", "FAIL Unknown device",
        "outl 0xcf8 0x80000810", "OK", "outl 0xcfc 0xfe000000", "OK",
        "outl 0xcf8 0x80000804", "OK", "outl 0xcfc 0x6", "OK",
        NULL,
    };
    script(s, pairs);
    guint before = s->lines->len;
    ck_assert_str_eq(ask(s, "writel 0xfe000060 0x1"), "OK");
    /* the notification comes before the OK, as QEMU sends it */
    ck_assert_uint_eq(s->lines->len, before + 2);
    ck_assert_str_eq(g_ptr_array_index(s->lines, before), "IRQ raise 21");
    ck_assert_str_eq(ask(s, "writel 0xfe000064 0x1"), "OK");
    ck_assert_str_eq(g_ptr_array_index(s->lines, s->lines->len - 2), "IRQ lower 21");
    /* with MSI enabled, the message reaches the interrupt window with edu's RID */
    ck_assert_str_eq(ask(s, "outl 0xcf8 0x80000844"), "OK");
    ck_assert_str_eq(ask(s, "outl 0xcfc 0xfee01000"), "OK");   /* address lo: dest 1 */
    ck_assert_str_eq(ask(s, "outl 0xcf8 0x8000084c"), "OK");
    ck_assert_str_eq(ask(s, "outl 0xcfc 0xc031"), "OK");       /* data: vector 0x31, level */
    ck_assert_str_eq(ask(s, "outl 0xcf8 0x80000840"), "OK");
    ck_assert_str_eq(ask(s, "outl 0xcfc 0x10005"), "OK");      /* MSI enable */
    uint64_t n = platform_irq_count(p);
    ck_assert_str_eq(ask(s, "writel 0xfe000060 0x2"), "OK");
    ck_assert_uint_eq(platform_irq_count(p), n + 1);
    const GArray *log = platform_irq_log(p);
    PlatformIrq *irq = &g_array_index(log, PlatformIrq, log->len - 1);
    ck_assert_uint_eq(irq->rid, 0x0008);
    ck_assert_uint_eq(irq->vector, 0x31);
    ck_assert_uint_eq(irq->dest, 1);
    ck_assert(irq->level);
    /* the same record through the qtest extension */
    guint before_log = s->lines->len;
    ck_assert_str_eq(ask(s, "irq_log 1"), "OK 1");
    ck_assert_uint_eq(s->lines->len, before_log + 2);
    const char *rec = g_ptr_array_index(s->lines, before_log);
    ck_assert_msg(g_str_has_prefix(rec, "IRQ-LOG ") && strstr(rec, "rid=00:01.0") && strstr(rec, "vec=0x31"),
                  "%s", rec);
    ck_assert(g_str_has_prefix(ask(s, "irq_log x"), "FAIL "));
    session_free(s);
}
END_TEST

START_TEST(test_qtest_ecam)
{
    Session *s = session_new(NULL);
    static const char *const pairs[] = {
        "readl 0xb0000000", "OK 0x0000000000000000",    /* ECAM off at reset */
        "outl 0xcf8 0x80000060", "OK",
        "inl 0xcfc", "OK 0xb0000000",
        "outl 0xcfc 0xb0000001", "OK",
        "readl 0xb0000000", "OK 0x0000000029c08086",
        "readl 0xb0008000", "OK 0x0000000011e81234",
        "readw 0xb0008002", "OK 0x00000000000011e8",
        "readl 0xb0100000", "OK 0x00000000ffffffff",    /* bus 1: nothing */
        "outl 0xcfc 0xb0000000", "OK",
        "readl 0xb0000000", "OK 0x0000000000000000",
        NULL,
    };
    script(s, pairs);
    session_free(s);
}
END_TEST

START_TEST(test_qtest_protocol_errors)
{
    Session *s = session_new(NULL);
    static const char *const pairs[] = {
        "foo bar", "FAIL Unknown command 'foo'",
        "endianness", "OK little",
        "readl", NULL,
        "readl zz", NULL,
        "write 0x1000 4 0", "ERR invalid argument size",
        "write 0x1000 4 0x11", "OK",
        "read 0x1000 4", "OK 0x11000000",
        "memset 0x1000 2 0x55", "OK",
        "read 0x1000 4", "OK 0x55550000",
        "b64write 0x1000 3 AQID", "OK",
        "read 0x1000 4", "OK 0x01020300",
        "read 0x1000 99999999999", NULL,
        "outb 0x10000 1", NULL,
        "clock_step 99999999999999999999", NULL,
        "readq 0xfffffffffffffff8", "OK 0x0000000000000000",
        "readb 0xe0000000", "OK 0x0000000000000000",
        NULL,
    };
    script(s, pairs);
    /* the unanswered-by-table ones must be FAILs, and the session goes on */
    const char *const bad[] = { "readl", "readl zz", "read 0x1000 99999999999", "outb 0x10000 1",
                                "clock_step 99999999999999999999", NULL };
    for (unsigned i = 0; bad[i]; i++) {
        ck_assert_msg(g_str_has_prefix(ask(s, bad[i]), "FAIL "), "%s", bad[i]);
    }
    ck_assert_str_eq(ask(s, "endianness"), "OK little");
    session_free(s);
}
END_TEST

/* ---- platform files ---- */

static char *load_error(const char *text)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(text, "bad.platform", &err);
    ck_assert_ptr_null(sim);
    ck_assert_ptr_nonnull(err);
    char *m = g_strdup(err->message);
    g_error_free(err);
    return m;
}

START_TEST(test_platform_errors_name_line)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        { "[platform]\nram = 256M\nthis is junk\n",
          "bad.platform:3: 'this is junk' is not a [group], a key = value line or a # comment" },
        { "[platform]\nram = lots\n",
          "bad.platform:2: [platform] ram: 'lots' is not a number or size (e.g. 0x1000, 256M)" },
        { "[platform]\nrma = 1M\n", NULL },
        { "# no platform group\n[chipset]\necam = 0xB0000000\n",
          "bad.platform:1: missing the [platform] group" },
        { "[platform]\n\n[device x]\ntype = toaster\nbdf = 00:02.0\n",
          "bad.platform:4: [device x] type: 'toaster': expected edu, endpoint, root-port or switch" },
        { "[platform]\n[device a]\ntype = endpoint\nparent = nowhere\n",
          "bad.platform:4: [device a] parent: no device named 'nowhere' is defined above this group" },
        { "[platform]\n[device a]\ntype = endpoint\nbdf = 00:1x.0\n",
          "bad.platform:4: [device a] bdf: '00:1x.0' is not BB:DD.F (hex)" },
        { "[platform]\n[device a]\ntype = edu\nbdf = 00:00.0\n", NULL },
        { "[platform]\n[device a]\ntype = endpoint\nbdf = 00:02.0\nbar0 = mem64:3K\n", NULL },
        { "[platform]\n[widget]\n", "bad.platform:2: [widget]: unknown group (expected [platform], [chipset], [timing], [device NAME] or [vtd NAME])" },
        { "[platform\n", "bad.platform:1: malformed group header '[platform' (expected [name])" },
        /* a VF's MSI-X table needs its VF BAR: refused at load, never an abort at VF Enable */
        { "[platform]\n[device a]\ntype = endpoint\nbdf = 00:02.0\nbar0 = mem64:1M\nbar3 = mem64:16K\n"
          "msix = 8\nmsix-bar = 3\nsriov-total-vfs = 2\nsriov-offset = 1\nsriov-stride = 1\n"
          "sriov-vf-bar0 = mem64:64K\n", NULL },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *m = load_error(cases[i].text);
        if (cases[i].want) {
            ck_assert_str_eq(m, cases[i].want);
        } else {
            ck_assert_msg(g_str_has_prefix(m, "bad.platform:"), "case %u: %s", i, m);
        }
    }
    g_autofree char *m = load_error("[platform]\nrma = 1M\n");
    ck_assert(g_str_has_prefix(m, "bad.platform:2: [platform] rma: unknown key"));
    g_autofree char *m2 = load_error("[platform]\n[device a]\ntype = edu\nbdf = 00:00.0\n");
    ck_assert_msg(g_str_has_prefix(m2, "bad.platform:2: [device a]"), "%s", m2);
}
END_TEST

static const char topo[] =
    "[platform]\n"
    "name = topo\n"
    "firmware = full\n"
    "[device rp0]\ntype = root-port\nbdf = 00:1c.0\nacs = true\n"
    "[device sw]\ntype = switch\nparent = rp0\ndownstream = 2\nacs = true\n"
    "[device nic]\ntype = endpoint\nparent = sw.0\nvendor = 0x8086\ndevice = 0x1572\n"
    "class = 0x020000\nbar0 = mem64:64K\nmsix = 8\nats = true\npasid = 20\nari = true\n"
    "sriov-total-vfs = 4\nsriov-offset = 16\nsriov-stride = 2\nsriov-vf-device = 0x154c\n"
    "sriov-vf-bar0 = mem64:16K\n"
    "[device ep2]\ntype = endpoint\nparent = sw.1\n"
    "[vtd dmar0]\nbase = 0xFED90000\nscope = all\n";

START_TEST(test_platform_topology_firmware)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(topo, "topo", &err);
    ck_assert_msg(sim != NULL, "%s", err ? err->message : "");
    Platform *p = platform_get(sim);
    PcieFn *nic = platform_find_device(p, "nic");
    PcieFn *ep2 = platform_find_device(p, "ep2");
    ck_assert_ptr_nonnull(nic);
    /* firmware numbered the buses depth first: rp0 -> 01, switch internal -> 02, ports -> 03, 04 */
    ck_assert_uint_eq(pcie_fn_rid(nic), PCIE_BDF(3, 0, 0));
    ck_assert_uint_eq(pcie_fn_rid(ep2), PCIE_BDF(4, 0, 0));
    ck_assert_ptr_eq(platform_find_device(p, "03:00.0"), nic);
    /* BARs were assigned and decode */
    uint64_t bar = pcie_fn_bar_addr(nic, 0);
    ck_assert_uint_ne(bar, PCIE_BAR_UNMAPPED);
    uint64_t v;
    ck_assert_int_eq(addr_space_write(p->mem, bar + 0x100, 4, 0xabcd1234), MEMTX_OK);
    ck_assert_int_eq(addr_space_read(p->mem, bar + 0x100, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0xabcd1234);
    GString *g = g_string_new(NULL);
    vtdsim_groups(sim, g);
    ck_assert_msg(strstr(g->str, " 03:00.0\n") != NULL, "%s", g->str);
    g_string_free(g, TRUE);
    emu_sim_free(sim);
}
END_TEST

/*
 * Two VT-d units with device scopes (DRHD semantics): the unit whose scope
 * names a device handles its requests, the INCLUDE_PCI_ALL unit the rest.
 * A request from each device, with translation on and no tables, faults in
 * its own unit only.
 */
START_TEST(test_platform_two_units_scopes)
{
    static const char text[] =
        "[platform]\nfirmware = full\n"
        "[device a]\ntype = endpoint\nbdf = 00:02.0\n"
        "[device b]\ntype = endpoint\nbdf = 00:03.0\n"
        "[vtd unit-a]\nbase = 0xFED91000\nscope = a\n"
        "[vtd rest]\nbase = 0xFED90000\nscope = all\n";
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(text, "two-units", &err);
    ck_assert_msg(sim != NULL, "%s", err ? err->message : "");
    Platform *p = platform_get(sim);
    PcieFn *a = platform_find_device(p, "a"), *b = platform_find_device(p, "b");
    ck_assert_str_eq(platform_vtd_for(p, pcie_fn_rid(a))->name, "unit-a");
    ck_assert_str_eq(platform_vtd_for(p, pcie_fn_rid(b))->name, "rest");
    /* root table at 0x100000 (empty), SRTP then TE on both units */
    static const uint64_t bases[] = { 0xFED90000, 0xFED91000 };
    for (unsigned i = 0; i < 2; i++) {
        addr_space_write(p->mem, bases[i] + 0x20, 8, 0x100000);
        addr_space_write(p->mem, bases[i] + 0x18, 4, 0x40000000);
        addr_space_write(p->mem, bases[i] + 0x18, 4, 0x80000000);
    }
    uint64_t v = 0, fsts;
    ck_assert_int_eq(pcie_fn_dma_read(a, 0x1000, &v, 8, NULL), PCIE_CPL_UR);
    addr_space_read(p->mem, 0xFED91034, 4, &fsts);
    ck_assert_uint_eq(fsts & 2, 2);                 /* recorded by unit-a */
    addr_space_read(p->mem, 0xFED90034, 4, &fsts);
    ck_assert_uint_eq(fsts & 2, 0);                 /* not by the other */
    ck_assert_int_eq(pcie_fn_dma_read(b, 0x1000, &v, 8, NULL), PCIE_CPL_UR);
    addr_space_read(p->mem, 0xFED90034, 4, &fsts);
    ck_assert_uint_eq(fsts & 2, 2);
    /* a scope naming a device that does not exist is an error naming the line */
    g_autofree char *m = load_error("[platform]\n[vtd x]\nbase = 0xFED90000\nscope = nosuch\n");
    ck_assert_str_eq(m, "bad.platform:4: [vtd x] scope: 'nosuch' is not a device name or BDF of this platform");
    emu_sim_free(sim);
}
END_TEST

/* The built-in platform and a file on disk load; two machines do not interfere. */
START_TEST(test_platform_two_machines)
{
    Session *a = session_new(NULL), *b = session_new(NULL);
    ck_assert_str_eq(ask(a, "writeq 0x1000 0x42"), "OK");
    ck_assert_str_eq(ask(b, "readq 0x1000"), "OK 0x0000000000000000");
    ck_assert_str_eq(ask(a, "clock_step 1000"), "OK 1000");
    ck_assert_str_eq(ask(b, "clock_step 1"), "OK 1");
    session_free(a);
    session_free(b);
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new("/nonexistent/x.platform", &err);
    ck_assert_ptr_null(sim);
    ck_assert(strstr(err->message, "/nonexistent/x.platform") != NULL);
    g_error_free(err);
}
END_TEST

static Suite *suite_platform(void)
{
    Suite *s = suite_create("platform");
    TCase *tc = tcase_create("qtest");
    tcase_add_test(tc, test_qtest_config_edu);
    tcase_add_test(tc, test_qtest_edu_registers);
    tcase_add_test(tc, test_qtest_edu_dma_untranslated);
    tcase_add_test(tc, test_qtest_intx_and_msi);
    tcase_add_test(tc, test_qtest_ecam);
    tcase_add_test(tc, test_qtest_protocol_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("platform");
    tcase_add_test(tc, test_platform_errors_name_line);
    tcase_add_test(tc, test_platform_topology_firmware);
    tcase_add_test(tc, test_platform_two_machines);
    tcase_add_test(tc, test_platform_two_units_scopes);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_platform)
