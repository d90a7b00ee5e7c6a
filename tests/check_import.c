/*
 * Tests of the importer of Linux ftrace text and kernel logs
 * (src/trace/import.h): golden conversions of every sample under
 * traces/real/, the generated platform files loading as platforms, time
 * stamp conversion, skipped and malformed lines, truncated scatter-gather
 * arrays, page reference counting, errors, and a replay of imported traces.
 *
 * Set VTDSIM_UPDATE_GOLDEN=1 to rewrite the golden files from the current
 * output (then review the diff).
 */
#include <string.h>
#include <glib/gstdio.h>
#include "check_util.h"
#include "core/error.h"
#include "trace/import.h"
#include "trace/replay.h"
#include "vtdsim/vtdsim.h"

static const char *const samples[] = {
    "ftrace-iommu", "trace-cmd-report", "ftrace-intel-iommu-old", "ftrace-dma",
    "dmesg-faults", "dmesg-banner", "dmesg-old",
};

static const TraceImportOptions synth_opts = {
    .synthesize_dma = TRUE,
    .expect_ok = TRUE,
};

static char *sample_path(const char *name)
{
    return g_strdup_printf("%s/traces/real/%s.txt", VTDSIM_SRCDIR, name);
}

static void compare_golden(const char *name, const char *ext, const GString *got)
{
    g_autofree char *path = g_strdup_printf("%s/tests/golden/import-%s.%s", VTDSIM_SRCDIR, name, ext);
    if (g_getenv("VTDSIM_UPDATE_GOLDEN")) {
        ck_assert(g_file_set_contents(path, got->str, (gssize)got->len, NULL));
        return;
    }
    g_autofree char *want = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &want, NULL, &err)) {
        ck_abort_msg("%s", err->message);
    }
    if (strcmp(want, got->str) != 0) {
        /* name the first differing line */
        g_auto(GStrv) a = g_strsplit(want, "\n", -1);
        g_auto(GStrv) b = g_strsplit(got->str, "\n", -1);
        unsigned i = 0;
        while (a[i] && b[i] && !strcmp(a[i], b[i])) {
            i++;
        }
        ck_abort_msg("%s line %u:\nexpected: %s\n     got: %s", path, i + 1, a[i] ? a[i] : "(end)",
                     b[i] ? b[i] : "(end)");
    }
}

static void import_sample(const char *name, GString *trace, GString *platform, TraceImportStats *st)
{
    g_autofree char *in = sample_path(name);
    GError *err = NULL;
    if (!trace_import(in, trace, platform, &synth_opts, st, &err)) {
        ck_abort_msg("%s: %s", name, err->message);
    }
}

START_TEST(test_golden)
{
    const char *name = samples[_i];
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) platform = g_string_new(NULL);
    TraceImportStats st;
    import_sample(name, trace, platform, &st);
    compare_golden(name, "trace", trace);
    compare_golden(name, "platform", platform);
    trace_import_stats_clear(&st);
}
END_TEST

/* Exact counters of each sample: lines, converted, comments, ignored, other events, skipped. */
START_TEST(test_sample_stats)
{
    static const struct {
        const char *name;
        guint64 lines, events, comments, ignored, foreign, skipped;
        guint devices, domains, units;
    } want[] = {
        { "ftrace-iommu", 30, 10, 2, 17, 1, 0, 3, 3, 1 },
        { "trace-cmd-report", 11, 5, 2, 4, 0, 0, 2, 2, 1 },
        { "ftrace-intel-iommu-old", 12, 7, 0, 5, 0, 0, 2, 2, 1 },
        { "ftrace-dma", 24, 17, 0, 6, 0, 1, 3, 3, 1 },
        { "dmesg-faults", 20, 6, 4, 7, 0, 3, 3, 2, 1 },
        { "dmesg-banner", 15, 3, 0, 12, 0, 0, 1, 1, 2 },
        { "dmesg-old", 9, 3, 0, 6, 0, 0, 2, 1, 1 },
    };
    g_autoptr(GString) trace = g_string_new(NULL);
    TraceImportStats st;
    import_sample(want[_i].name, trace, NULL, &st);
    ck_assert_msg(st.lines == want[_i].lines && st.events == want[_i].events &&
                  st.comments == want[_i].comments && st.ignored == want[_i].ignored &&
                  st.foreign == want[_i].foreign && st.skipped == want[_i].skipped,
                  "%s: lines %" G_GUINT64_FORMAT " events %" G_GUINT64_FORMAT " comments %"
                  G_GUINT64_FORMAT " ignored %" G_GUINT64_FORMAT " foreign %" G_GUINT64_FORMAT
                  " skipped %" G_GUINT64_FORMAT, want[_i].name, st.lines, st.events, st.comments,
                  st.ignored, st.foreign, st.skipped);
    ck_assert_uint_eq(st.devices, want[_i].devices);
    ck_assert_uint_eq(st.domains, want[_i].domains);
    ck_assert_uint_eq(st.units, want[_i].units);
    /* every line is accounted for exactly once */
    ck_assert_uint_eq(st.lines, st.events + st.comments + st.ignored + st.foreign + st.skipped);
    /* without a platform there is no platform line */
    ck_assert_ptr_null(strstr(trace->str, "\nplatform "));
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_platform_loads)
{
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) platform = g_string_new(NULL);
    TraceImportStats st;
    GError *err = NULL;
    import_sample(samples[_i], trace, platform, &st);
    EmuSim *sim = vtdsim_platform_new_from_data(platform->str, "import.platform", &err);
    if (!sim) {
        ck_abort_msg("%s: %s", samples[_i], err->message);
    }
    emu_sim_free(sim);
    g_autofree char *line = g_strdup_printf("\nplatform %s.platform\n", samples[_i]);
    ck_assert_ptr_nonnull(strstr(trace->str, line));
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_timestamp_parse)
{
    guint64 ns = 0;
    ck_assert(trace_import_parse_timestamp("812.004417", 10, &ns));
    ck_assert_uint_eq(ns, G_GUINT64_CONSTANT(812004417000));
    ck_assert(trace_import_parse_timestamp("812.004417123", 13, &ns));
    ck_assert_uint_eq(ns, G_GUINT64_CONSTANT(812004417123));
    ck_assert(trace_import_parse_timestamp("1.1234567891", 12, &ns));   /* 10th digit dropped */
    ck_assert_uint_eq(ns, G_GUINT64_CONSTANT(1123456789));
    ck_assert(trace_import_parse_timestamp("0.5", 3, &ns));
    ck_assert_uint_eq(ns, 500000000);
    ck_assert(trace_import_parse_timestamp("123456", 6, &ns));           /* counter clock */
    ck_assert_uint_eq(ns, 123456);
    ck_assert(!trace_import_parse_timestamp("12.", 3, &ns));
    ck_assert(!trace_import_parse_timestamp(".5", 2, &ns));
    ck_assert(!trace_import_parse_timestamp("1.2x", 4, &ns));
    ck_assert(!trace_import_parse_timestamp("", 0, &ns));

    static const struct { guint64 ns; const char *text; } fmt[] = {
        { 0, "@0ns" }, { 1, "@1ns" }, { 1500, "@1500ns" }, { 3000, "@3us" },
        { 4417000, "@4417us" }, { 7000000, "@7ms" }, { G_GUINT64_CONSTANT(2000000000), "@2s" },
        { G_GUINT64_CONSTANT(2000000001), "@2000000001ns" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(fmt); i++) {
        g_autoptr(GString) s = g_string_new(NULL);
        trace_import_format_time(s, fmt[i].ns);
        ck_assert_str_eq(s->str, fmt[i].text);
    }
}
END_TEST

/* The event lines (no comments, no header) of an import of @text. */
static char *body_of(const char *text, const TraceImportOptions *opt, TraceImportStats *st)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;
    if (!trace_import_data(text, strlen(text), "mem.txt", out, NULL, opt, st, &err)) {
        ck_abort_msg("%s", err->message);
    }
    GString *body = g_string_new(NULL);
    g_auto(GStrv) lines = g_strsplit(out->str, "\n", -1);
    bool after_enable = false;
    for (unsigned i = 0; lines[i]; i++) {
        if (after_enable && lines[i][0] && lines[i][0] != '#') {
            g_string_append_printf(body, "%s\n", lines[i]);
        }
        after_enable |= g_str_has_prefix(lines[i], "enable ");
    }
    return g_string_free(body, FALSE);
}

START_TEST(test_timestamp_conversion)
{
    /* 5-char flags, 4-char flags, trace-cmd (none), 9 fraction digits, a step back */
    const char *in =
        "  a-1 [000] d..1.   100.000500: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x5000 size=4096\n"
        "  a-1 [000] d..1   100.000750: map: IOMMU: iova=0x3000 paddr=0x6000 size=4096\n"
        "  <idle>-0 [001]   100.002500: map: IOMMU: iova=0x7000 - 0x8000 paddr=0x9000 size=4096\n"
        "  b c-12 (12) [002] .....  100.002500100: map: IOMMU: iova=0xa000 paddr=0xb000 size=4096\n"
        "  a-1 [000] ....   100.002000: unmap: IOMMU: iova=0x1000 size=4096 unmapped_size=4096\n"
        "  a-1 [000] ....   101.000500: unmap: IOMMU: iova=0x3000 size=4096 unmapped_size=4096\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body,
                     "@0ns map dom_default 0x1000 0x5000 0x1000 perm=rw\n"
                     "@250us map dom_default 0x3000 0x6000 0x1000 perm=rw\n"
                     "@2ms map dom_default 0x7000 0x9000 0x1000 perm=rw\n"
                     "@2000100ns map dom_default 0xa000 0xb000 0x1000 perm=rw\n"
                     "unmap dom_default 0x1000 0x1000\n"
                     "@1s unmap dom_default 0x3000 0x1000\n");
    ck_assert_uint_eq(st.time_clamped, 1);
    ck_assert_uint_eq(st.events, 6);
    trace_import_stats_clear(&st);

    /* printk time stamps, the first event is time 0 */
    const char *log =
        "[    5.000000] DMAR: [DMA Read NO_PASID] Request device [00:03.0] fault addr 0x1000 "
        "[fault reason 0x02] Present bit in context entry is clear\n"
        "[    5.250000] DMAR: [DMA Write NO_PASID] Request device [00:03.0] fault addr 0x2000 "
        "[fault reason 0x02] Present bit in context entry is clear\n";
    g_autofree char *b2 = body_of(log, NULL, &st);
    ck_assert_str_eq(b2, "@0ns dma read dev_00_03_0 0x1000 4\nexpect fault 0x02\n"
                         "@250ms dma write dev_00_03_0 0x2000 4\nexpect fault 0x02\n");
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_malformed_lines)
{
    const char *in =
        "  a-1 [000] ....   1.000000: map: IOMMU: iova=0x1000 - 0x2000 paddr=0x5000 size=4096\n"
        "garbage one\n"
        "  a-1 [000] ....   1.000001: map: IOMMU: iova=0xzz paddr=0x5000 size=4096\n"
        "  a-1 [000] ....   1.000002: map: no iommu prefix\n"
        "  a-1 [000] ....   1.000003: dma_unmap_page: 0000:01:00.0 dir=TO_DEVICE attrs=\n"
        "[    9.000000] DMAR: [DMA Read NO_PASID] Request device [zz] fault addr 0x1000\n"
        "garbage six\n"
        "garbage seven\n"
        "\n"
        "  a-1 [000] ....   1.000009: unmap: IOMMU: iova=0x1000 size=4096 unmapped_size=4096\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body, "@0ns map dom_default 0x1000 0x5000 0x1000 perm=rw\n"
                           "@9us unmap dom_default 0x1000 0x1000\n");
    ck_assert_uint_eq(st.lines, 10);
    ck_assert_uint_eq(st.skipped, 7);
    ck_assert_uint_eq(st.events, 2);
    ck_assert_uint_eq(st.ignored, 1);
    ck_assert_uint_eq(st.n_reported, TRACE_IMPORT_MAX_REPORTED);
    ck_assert_str_eq(st.reported[0], "mem.txt:2: not an ftrace event or a DMAR kernel message");
    ck_assert_str_eq(st.reported[1], "mem.txt:3: iommu:map: expected iova=, paddr=, size=");
    ck_assert_str_eq(st.reported[2], "mem.txt:4: map: payload does not start with 'IOMMU:'");
    ck_assert_str_eq(st.reported[3], "mem.txt:5: dma:dma_unmap_page: expected dma_addr= and size=");
    ck_assert_str_eq(st.reported[4], "mem.txt:6: DMAR fault: 'zz' is not a BDF");
    g_autoptr(GString) summary = g_string_new(NULL);
    trace_import_stats_format(&st, summary);
    ck_assert_ptr_nonnull(strstr(summary->str, "10 lines: 2 converted, 0 as comments, 1 ignored, "
                                               "0 other events, 7 skipped\n"));
    ck_assert_ptr_nonnull(strstr(summary->str, "skipped: mem.txt:6: DMAR fault: 'zz' is not a BDF\n"));
    trace_import_stats_clear(&st);
    ck_assert_uint_eq(st.n_reported, 0);
}
END_TEST

START_TEST(test_truncated_sg)
{
    const char *in =
        "  n-1 [000] .....  1.000000: dma_map_sg: 0000:01:00.0 dir=TO_DEVICE nents=3/200 ents=3/200 "
        "[TRUNCATED] dma_addrs={0x10000,0x11000,0x12000} sizes={4096,4096,4096} "
        "phys_addrs={0x80000,0x81000,0x82000} attrs=\n"
        "  n-1 [000] .....  1.000001: dma_map_sg: 0000:01:00.0 dir=TO_DEVICE nents=2/2 ents=2/2 "
        "dma_addrs={0x20000,0x21000} sizes={4096,4096} phys_addrs={0x9000\n"
        "  n-1 [000] .....  1.000002: dma_unmap_sg: 0000:01:00.0 dir=TO_DEVICE "
        "phys_addrs={0x80000,0x81000,0x82000} attrs=\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE, .synthesize_dma = TRUE, .dma_max_len = 64 };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body, "@0ns attach dom_01_00_0 dev_01_00_0\n"
                           "map dom_01_00_0 0x10000 0x80000 0x3000 perm=r\n"
                           "dma read dev_01_00_0 0x10000 64\n"
                           "@2us unmap dom_01_00_0 0x10000 0x3000\n");
    ck_assert_uint_eq(st.sg_truncated, 1);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_str_eq(st.reported[0], "mem.txt:2: dma:dma_map_sg: an address array is cut short or malformed");
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_page_refcount)
{
    /* two 2 KiB buffers in one page (a direct mapping) and a permission upgrade */
    const char *in =
        "  r-1 [000] .....  1.000000: dma_map_page: 0000:01:00.0 dir=FROM_DEVICE dma_addr=5000 size=2048 phys_addr=5000 attrs=\n"
        "  r-1 [000] .....  1.000001: dma_map_page: 0000:01:00.0 dir=FROM_DEVICE dma_addr=5800 size=2048 phys_addr=5800 attrs=\n"
        "  r-1 [000] .....  1.000002: dma_unmap_page: 0000:01:00.0 dir=FROM_DEVICE dma_addr=5000 size=2048 attrs=\n"
        "  r-1 [000] .....  1.000003: dma_map_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=5000 size=2048 phys_addr=5000 attrs=\n"
        "  r-1 [000] .....  1.000004: dma_unmap_page: 0000:01:00.0 dir=FROM_DEVICE dma_addr=5800 size=2048 attrs=\n"
        "  r-1 [000] .....  1.000005: dma_unmap_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=5000 size=2048 attrs=\n"
        "  r-1 [000] .....  1.000006: dma_unmap_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=9000 size=16 attrs=\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body, "@0ns attach dom_01_00_0 dev_01_00_0\n"
                           "map dom_01_00_0 0x5000 0x5000 0x1000 perm=w\n"
                           "@3us unmap dom_01_00_0 0x5000 0x1000\n"
                           "map dom_01_00_0 0x5000 0x5000 0x1000 perm=rw\n"
                           "@5us unmap dom_01_00_0 0x5000 0x1000\n");
    ck_assert_uint_eq(st.unmatched_unmaps, 1);
    ck_assert_uint_eq(st.events, 6);
    ck_assert_uint_eq(st.comments, 1);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_fold_and_width)
{
    /* physical addresses fold into the data window; an IOVA beyond 48 bits is dropped */
    const char *in =
        "  r-1 [000] .....  1.000000: dma_map_page: 0000:01:00.0 dir=BIDIRECTIONAL dma_addr=fff00000 size=4096 phys_addr=17a3e1000 attrs=\n"
        "  r-1 [000] .....  1.000001: dma_map_page: 0000:01:00.0 dir=BIDIRECTIONAL dma_addr=1000000000000 size=4096 phys_addr=1000 attrs=\n";
    TraceImportStats st;
    g_autofree char *body = body_of(in, NULL, &st);
    ck_assert_str_eq(body, "@0ns attach dom_01_00_0 dev_01_00_0\n"
                           "map dom_01_00_0 0xfff00000 0x3a3e1000 0x1000 perm=rw  # pa 0x17a3e1000\n");
    ck_assert_uint_eq(st.dropped, 1);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_large_mapping)
{
    /* a VFIO-style 1 GiB map: folded in pieces where the window wraps, unmapped by interval */
    const char *in =
        "  q-1 [000] .....  1.000000: map: IOMMU: iova=0x0000000100000000 - 0x0000000140000000 paddr=0x0000000110000000 size=1073741824\n"
        "  q-1 [000] .....  1.000001: unmap: IOMMU: iova=0x0000000120000000 - 0x0000000120001000 size=4096 unmapped_size=4096\n"
        "  q-1 [000] .....  1.000002: unmap: IOMMU: iova=0x0000000100000000 - 0x0000000140000000 size=1073741824 unmapped_size=1073741824\n"
        "  q-1 [000] .....  1.000003: unmap: IOMMU: iova=0x0000000100000000 - 0x0000000100001000 size=4096 unmapped_size=4096\n";
    TraceImportStats st;
    g_autofree char *body = body_of(in, NULL, &st);
    ck_assert_str_eq(body,
                     "@0ns map dom_default 0x100000000 0x30000000 0x10000000 perm=rw  # pa 0x110000000\n"
                     "map dom_default 0x110000000 0x20000000 0x20000000 perm=rw  # pa 0x120000000\n"
                     "map dom_default 0x130000000 0x20000000 0x10000000 perm=rw  # pa 0x140000000\n"
                     "@1us unmap dom_default 0x120000000 0x1000\n"
                     "@2us unmap dom_default 0x100000000 0x20000000\n"
                     "unmap dom_default 0x120001000 0x1ffff000\n");
    /* the third unmap meets the hole the second left; the fourth finds nothing mapped */
    ck_assert_uint_eq(st.unmatched_unmaps, 2);
    ck_assert_uint_eq(st.comments, 1);
    ck_assert_uint_eq(st.events, 3);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_device_names)
{
    /* PCI names with and without segment meet; a platform device name cannot clash with them */
    const char *in =
        "[    1.000000] DMAR: [DMA Read NO_PASID] Request device [3b:00.1] fault addr 0x1000 [fault reason 0x02] x\n"
        "  a-1 [000] .....  1.000001: dma_map_page: 0000:3b:00.1 dir=TO_DEVICE dma_addr=2000 size=16 phys_addr=2000 attrs=\n"
        "  a-1 [000] .....  1.000002: dma_map_page: 3b-00.1 dir=TO_DEVICE dma_addr=2000 size=16 phys_addr=2000 attrs=\n"
        "  a-1 [000] .....  1.000003: dma_map_page: 0001:3b:00.1 dir=TO_DEVICE dma_addr=2000 size=16 phys_addr=2000 attrs=\n";
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) pf = g_string_new(NULL);
    TraceImportStats st;
    GError *err = NULL;
    ck_assert(trace_import_data(in, strlen(in), "n.txt", out, pf, NULL, &st, &err));
    ck_assert_uint_eq(st.devices, 3);
    ck_assert_ptr_nonnull(strstr(out->str, "# dev_3b_00_1 is 0000:3b:00.1\n"
                                           "# dev_3b_00_1_2 is 3b-00.1\n"
                                           "# dev_0001_3b_00_1 is 0001:3b:00.1\n"));
    ck_assert_ptr_nonnull(strstr(pf->str, "[device dev_3b_00_1_2]\n# 3b-00.1 in the input\n"
                                          "type = endpoint\nrciep = true\nbdf = 00:03.0\n"));
    EmuSim *sim = vtdsim_platform_new_from_data(pf->str, "n.platform", &err);
    ck_assert_msg(sim != NULL, "%s", err ? err->message : "");
    emu_sim_free(sim);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_alloc_sgt)
{
    /* dma_alloc_sgt: one DMA range over scattered pages; dma_free_sgt unmaps it */
    const char *in =
        "  a-1 [000] .....  1.000000: dma_alloc_sgt: 0000:01:00.0 dir=BIDIRECTIONAL dma_addr=ffff0000 size=12288 "
        "phys_addrs={0x7000,0x8000,0x3000} flags=GFP_KERNEL attrs=\n"
        "  a-1 [000] .....  1.000001: dma_free_sgt: 0000:01:00.0 dir=BIDIRECTIONAL dma_addr=ffff0000 size=12288 "
        "phys_addrs={0x7000,0x8000,0x3000} attrs=\n"
        "  a-1 [000] .....  1.000002: dma_alloc_sgt_err: 0000:01:00.0 dir=BIDIRECTIONAL dma_addr=0 size=4096 "
        "virt_addr=0000000000000000 flags=GFP_KERNEL attrs=\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body, "@0ns attach dom_01_00_0 dev_01_00_0\n"
                           "map dom_01_00_0 0xffff0000 0x7000 0x2000 perm=rw\n"
                           "map dom_01_00_0 0xffff2000 0x3000 0x1000 perm=rw\n"
                           "@1us unmap dom_01_00_0 0xffff0000 0x3000\n");
    ck_assert_uint_eq(st.events, 2);
    ck_assert_uint_eq(st.comments, 1);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_banner_caps)
{
    /* a unit without queued invalidation and with a 39-bit MGAW */
    const char *in =
        "[    0.05] DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap c0000020660462 ecap f01018\n"
        "  a-1 [000] .....  1.000000: dma_map_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=7ffffff000 size=4096 phys_addr=1000 attrs=\n"
        "  a-1 [000] .....  1.000001: dma_map_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=8000000000 size=4096 phys_addr=2000 attrs=\n";
    g_autoptr(GString) out = g_string_new(NULL);
    g_autoptr(GString) pf = g_string_new(NULL);
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE, .platform_file = "my dir/x.platform" };
    GError *err = NULL;
    ck_assert(trace_import_data(in, strlen(in), "b.log", out, pf, &opt, &st, &err));
    ck_assert_ptr_nonnull(strstr(out->str, "\nplatform \"my dir/x.platform\"\n"
                                           "iommu dmar0 mode=legacy inval=register pool=0x10000000+64M\n"));
    ck_assert_ptr_nonnull(strstr(out->str, "\nmap dom_01_00_0 0x7ffffff000 0x1000 0x1000 perm=r\n"));
    ck_assert_ptr_nonnull(strstr(out->str, "\n# dropped: 0x8000000000+0x1000 is beyond the 39-bit "
                                           "address width\n"));
    ck_assert_uint_eq(st.dropped, 1);
    ck_assert_ptr_nonnull(strstr(pf->str, "[vtd dmar0]\n# from the boot banner: reg_base_addr fed90000 "
                                          "on the host\nbase = 0xFED90000\nver = 0x10\n"
                                          "cap = 0xc0000020660462\necap = 0xf01018\nscope = all\n"));
    EmuSim *sim = vtdsim_platform_new_from_data(pf->str, "b.platform", &err);
    ck_assert_msg(sim != NULL, "%s", err ? err->message : "");
    emu_sim_free(sim);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_iommu_and_dma_together)
{
    /* the kernel emits iommu:map and dma:dma_map_page for one mapping: the dma event wins */
    const char *in =
        "  a-1 [000] .....  1.000000: map: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 paddr=0x0000000000005000 size=4096\n"
        "  a-1 [000] .....  1.000000: dma_map_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=fffff000 size=4096 phys_addr=5000 attrs=\n"
        "  a-1 [000] .....  1.000002: unmap: IOMMU: iova=0x00000000fffff000 - 0x0000000100000000 size=4096 unmapped_size=4096\n"
        "  a-1 [000] .....  1.000002: dma_unmap_page: 0000:01:00.0 dir=TO_DEVICE dma_addr=fffff000 size=4096 attrs=\n";
    TraceImportStats st;
    TraceImportOptions opt = { .keep_phys = TRUE };
    g_autofree char *body = body_of(in, &opt, &st);
    ck_assert_str_eq(body, "@0ns attach dom_01_00_0 dev_01_00_0\n"
                           "map dom_01_00_0 0xfffff000 0x5000 0x1000 perm=r\n"
                           "@2us unmap dom_01_00_0 0xfffff000 0x1000\n");
    ck_assert_uint_eq(st.ignored, 2);
    ck_assert_uint_eq(st.events, 2);
    ck_assert_uint_eq(st.domains, 1);
    trace_import_stats_clear(&st);
}
END_TEST

START_TEST(test_errors)
{
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;
    TraceImportStats st;
    ck_assert(!trace_import("/nonexistent/x.txt", out, NULL, NULL, &st, &err));
    ck_assert_int_eq(err->code, EMU_ERROR_IO);
    ck_assert(g_str_has_prefix(err->message, "/nonexistent/x.txt: "));
    g_clear_error(&err);

    static const char dat[] = "\x17\x08\x44tracing6\0\0\0";
    ck_assert(!trace_import_data(dat, sizeof dat - 1, "x.dat", out, NULL, NULL, &st, &err));
    ck_assert_str_eq(err->message, "x.dat:1: a binary trace-cmd .dat file: convert it with "
                                   "`trace-cmd report` first");
    g_clear_error(&err);

    const char *noise = "hello\nworld\n";
    g_string_truncate(out, 0);
    ck_assert(!trace_import_data(noise, strlen(noise), "n.txt", out, NULL, NULL, &st, &err));
    ck_assert_str_eq(err->message, "n.txt: no iommu, dma or intel_iommu ftrace event and no DMAR "
                                   "kernel message found (2 lines, 2 skipped)");
    g_clear_error(&err);
    /* what was converted (only the bring-up here) is still written */
    ck_assert(g_str_has_prefix(out->str, "vtdsim-trace 1\n"));
    trace_import_stats_clear(&st);
}
END_TEST

/* Writes the import of @name into a temporary directory and replays it. */
static void replay_sample(const char *name, unsigned *expectations, unsigned *failures)
{
    g_autoptr(GString) trace = g_string_new(NULL);
    g_autoptr(GString) platform = g_string_new(NULL);
    TraceImportStats st;
    GError *err = NULL;
    import_sample(name, trace, platform, &st);
    trace_import_stats_clear(&st);
    g_autofree char *dir = g_dir_make_tmp("import-XXXXXX", &err);
    ck_assert_msg(dir != NULL, "%s", err ? err->message : "");
    g_autofree char *tpath = g_strdup_printf("%s/%s.trace", dir, name);
    g_autofree char *ppath = g_strdup_printf("%s/%s.platform", dir, name);
    ck_assert(g_file_set_contents(tpath, trace->str, -1, NULL));
    ck_assert(g_file_set_contents(ppath, platform->str, -1, NULL));
    ReplayOptions ro = { 0 };
    Replay *r = replay_new(&ro);
    gboolean ok = replay_run(r, tpath, &err);
    *expectations = replay_expectations(r);
    *failures = replay_failures(r);
    replay_free(r);
    g_unlink(tpath);
    g_unlink(ppath);
    g_rmdir(dir);
    if (!ok) {
        ck_abort_msg("%s: %s", name, err->message);
    }
}

START_TEST(test_replay)
{
    /* the DMA-API and iommu streams replay with every synthesized DMA translating */
    static const struct { const char *name; unsigned expectations; } want[] = {
        { "ftrace-dma", 15 }, { "ftrace-iommu", 5 }, { "trace-cmd-report", 2 },
        { "ftrace-intel-iommu-old", 4 },
    };
    unsigned n, failed;
    replay_sample(want[_i].name, &n, &failed);
    ck_assert_uint_eq(n, want[_i].expectations);
    ck_assert_uint_eq(failed, 0);
}
END_TEST

START_TEST(test_replay_faults)
{
    /*
     * Faults of the logs: page-table faults (0x05, 0x06: the device is attached,
     * the address unmapped), context and root faults (0x02, 0x01: nothing attached)
     * are reproduced; a PASID request of a scalable-mode host (dmesg-faults) and a
     * reserved-field fault (0x0c, dmesg-old) are not, and say so in comments.
     */
    static const struct { const char *name; unsigned expectations, failures; } want[] = {
        { "dmesg-banner", 1, 0 }, { "dmesg-faults", 6, 1 }, { "dmesg-old", 2, 1 },
    };
    unsigned n, failed;
    replay_sample(want[_i].name, &n, &failed);
    ck_assert_uint_eq(n, want[_i].expectations);
    ck_assert_uint_eq(failed, want[_i].failures);
}
END_TEST

static Suite *suite_import(void)
{
    Suite *s = suite_create("import");
    TCase *tc = tcase_create("import");
    tcase_add_loop_test(tc, test_golden, 0, G_N_ELEMENTS(samples));
    tcase_add_loop_test(tc, test_sample_stats, 0, G_N_ELEMENTS(samples));
    tcase_add_loop_test(tc, test_platform_loads, 0, G_N_ELEMENTS(samples));
    tcase_add_test(tc, test_timestamp_parse);
    tcase_add_test(tc, test_timestamp_conversion);
    tcase_add_test(tc, test_malformed_lines);
    tcase_add_test(tc, test_truncated_sg);
    tcase_add_test(tc, test_page_refcount);
    tcase_add_test(tc, test_fold_and_width);
    tcase_add_test(tc, test_large_mapping);
    tcase_add_test(tc, test_device_names);
    tcase_add_test(tc, test_alloc_sgt);
    tcase_add_test(tc, test_banner_caps);
    tcase_add_test(tc, test_iommu_and_dma_together);
    tcase_add_test(tc, test_errors);
    tcase_add_loop_test(tc, test_replay, 0, 4);
    tcase_add_loop_test(tc, test_replay_faults, 0, 3);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_import)
