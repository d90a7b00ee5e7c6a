/*
 * Tests of the trace language: tokenising, time stamps, headers and
 * versions, includes (and their cycles), error messages naming file and
 * line, the binary form's lossless round trips, and replay outcomes
 * (expectations that pass and fail, the JSON summary).
 */
#include <string.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include "check_util.h"
#include "trace/replay.h"
#include "trace/trace.h"

static char *tmpdir;

static void setup(void)
{
    tmpdir = g_dir_make_tmp("vtdsim-trace-XXXXXX", NULL);
    ck_assert_ptr_nonnull(tmpdir);
}

static void teardown(void)
{
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
    g_free(tmpdir);
}

static char *write_file(const char *name, const char *text)
{
    char *path = g_build_filename(tmpdir, name, NULL);
    ck_assert(g_file_set_contents(path, text, -1, NULL));
    return path;
}

/* Reads every event of @path as canonical text lines; NULL + *err on error. */
static char *read_all(const char *path, bool keep_blank, GError **err)
{
    TraceReader *r = trace_reader_open(path, err);
    if (!r) {
        return NULL;
    }
    GString *s = g_string_new(NULL);
    const TraceEvent *ev;
    while ((ev = trace_reader_next(r, keep_blank, false, err))) {
        g_string_append_printf(s, "%u:", ev->line);
        trace_event_text(ev, s);
        g_string_append_c(s, '\n');
    }
    trace_reader_free(r);
    if (*err) {
        g_string_free(s, TRUE);
        return NULL;
    }
    return g_string_free(s, FALSE);
}

START_TEST(test_tokens_and_canonical_text)
{
    g_autofree char *p = write_file("a.trace",
        "# leading comment\n"
        "vtdsim-trace 1\n"
        "\n"
        "  readl    0xfed90000   # a comment\n"
        "@1.5us dma read edu 4096 8 pasid=3 priv\n"
        "@+40ns write 0x1000 4 \"0x11 # not a comment\"\n"
        "expect answer \"OK 0x0000000000000010\"\n");
    GError *err = NULL;
    g_autofree char *s = read_all(p, false, &err);
    ck_assert_msg(s != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(s,
        "4:readl 0xfed90000 # a comment\n"
        "5:@1.5us dma read edu 0x1000 8 pasid=3 priv\n"
        "6:@+40ns write 0x1000 4 \"0x11 # not a comment\"\n"
        "7:expect answer \"OK 0x0000000000000010\"\n");
}
END_TEST

START_TEST(test_time_stamps)
{
    EmuTick t;
    bool rel;
    ck_assert(trace_parse_time("@1.5us", &t, &rel) && t == 1500000 && !rel);
    ck_assert(trace_parse_time("@+40ns", &t, &rel) && t == 40000 && rel);
    ck_assert(trace_parse_time("@2s", &t, &rel) && t == 2000000000000ull);
    ck_assert(trace_parse_time("@7ps", &t, &rel) && t == 7);
    ck_assert(trace_parse_time("@0.001ns", &t, &rel) && t == 1);
    ck_assert(!trace_parse_time("@0.0001ns", &t, &rel));   /* below a picosecond */
    ck_assert(!trace_parse_time("@5", &t, &rel));          /* unit required */
    ck_assert(!trace_parse_time("@5 ms", &t, &rel));
    ck_assert(!trace_parse_time("@x", &t, &rel));
    ck_assert(!trace_parse_time("@99999999999999999999s", &t, &rel));
    uint64_t v;
    ck_assert(trace_parse_u64("2M", &v) && v == 2u << 20);
    ck_assert(trace_parse_u64("0b101", &v) && v == 5);
    ck_assert(!trace_parse_u64("-1", &v));
    ck_assert(!trace_parse_u64("12Q", &v));
}
END_TEST

static void expect_error(const char *text, const char *want_prefix)
{
    g_autofree char *p = write_file("e.trace", text);
    GError *err = NULL;
    g_autofree char *s = read_all(p, false, &err);
    ck_assert_ptr_null(s);
    ck_assert_ptr_nonnull(err);
    g_autofree char *want = g_strdup_printf("%s/e.trace:%s", tmpdir, want_prefix);
    ck_assert_msg(g_str_has_prefix(err->message, want), "got '%s', want prefix '%s'", err->message,
                  want);
    g_error_free(err);
}

START_TEST(test_reader_errors)
{
    expect_error("readl 0\n", "1: missing header");
    expect_error("vtdsim-trace 2\n", "1: trace language version 2 is not supported");
    expect_error("vtdsim-trace 1\nreadl 0\n@5 readl 0\n", "3: '@5' is not a time stamp");
    expect_error("vtdsim-trace 1\nwrite 0 1 \"0x1\n", "2: unterminated or misplaced double quote");
    expect_error("vtdsim-trace 1\n@1us\n", "2: a time stamp needs an event after it");
    expect_error("vtdsim-trace 1\ninclude \"missing.trace\"\n", "2: include \"");
    expect_error("# only a comment\n", "1: missing header");
}
END_TEST

START_TEST(test_includes)
{
    g_autofree char *inc = write_file("inc.trace", "vtdsim-trace 1\nreadl 0x10\n");
    (void)inc;   /* written for its side effect; clang calls the cleanup variable unused */
    g_autofree char *top = write_file("top.trace",
                                      "vtdsim-trace 1\nreadl 0x1\ninclude \"inc.trace\"\nreadl 0x2\n");
    GError *err = NULL;
    g_autofree char *s = read_all(top, false, &err);
    ck_assert_msg(s != NULL, "%s", err ? err->message : "");
    ck_assert_str_eq(s, "2:readl 0x1\n2:readl 0x10\n4:readl 0x2\n");
    /* a cycle is an error naming the include line */
    g_autofree char *c1 = write_file("c1.trace", "vtdsim-trace 1\ninclude \"c2.trace\"\n");
    g_autofree char *c2 = write_file("c2.trace", "vtdsim-trace 1\n\ninclude \"c1.trace\"\n");
    (void)c2;
    g_autofree char *s2 = read_all(c1, false, &err);
    ck_assert_ptr_null(s2);
    ck_assert_msg(strstr(err->message, "c2.trace:3: include cycle") != NULL, "%s", err->message);
    g_clear_error(&err);
}
END_TEST

static char *slurp(const char *path)
{
    char *s = NULL;
    gsize n;
    ck_assert(g_file_get_contents(path, &s, &n, NULL));
    return s;
}

START_TEST(test_binary_round_trip)
{
    g_autofree char *p = write_file("rt.trace",
        "vtdsim-trace 1\n"
        "# a comment line\n"
        "\n"
        "platform builtin\n"
        "@100ns dma read edu 0x1000 64\n"
        "dma read edu 0x0ff0 64 pasid=7 priv exec\n"
        "@+1us dma write nic 0xffffffff00000000 4096 at=translated via=ats\n"
        "dma write edu 0x10 4 data=0x01020304 # with data: kept as text\n"
        "dma read edu 0x2000 8 # with a comment\n"
        "expect data 0011223344556677\n"
        "map d1 0x10000 0x200000 8K perm=rw\n");
    g_autofree char *bin = g_build_filename(tmpdir, "rt.bin", NULL);
    g_autofree char *back = g_build_filename(tmpdir, "back.trace", NULL);
    g_autofree char *bin2 = g_build_filename(tmpdir, "rt2.bin", NULL);
    GError *err = NULL;
    ck_assert_msg(trace_convert(p, bin, &err), "%s", err ? err->message : "");
    ck_assert_msg(trace_convert(bin, back, &err), "%s", err ? err->message : "");
    ck_assert_msg(trace_convert(back, bin2, &err), "%s", err ? err->message : "");
    g_autofree char *t = slurp(back);
    ck_assert_str_eq(t,
        "vtdsim-trace 1\n"
        "# a comment line\n"
        "\n"
        "platform builtin\n"
        "@100ns dma read edu 0x1000 64\n"
        "dma read edu 0xff0 64 pasid=7 priv exec\n"
        "@+1us dma write nic 0xffffffff00000000 4096 at=translated via=ats\n"
        "dma write edu 0x10 4 data=0x01020304 # with data: kept as text\n"
        "dma read edu 0x2000 8 # with a comment\n"
        "expect data 0011223344556677\n"
        "map d1 0x10000 0x200000 8K perm=rw\n");
    /* binary -> text -> binary is byte-identical */
    gsize n1, n2;
    g_autofree char *b1 = NULL, *b2 = NULL;
    ck_assert(g_file_get_contents(bin, &b1, &n1, NULL));
    ck_assert(g_file_get_contents(bin2, &b2, &n2, NULL));
    ck_assert_uint_eq(n1, n2);
    ck_assert(memcmp(b1, b2, n1) == 0);
    ck_assert(!memcmp(b1, "VTDTRB1\n", 8));
    /* a truncated binary file is an error naming the record */
    ck_assert(g_file_set_contents(bin, b1, (gssize)(n1 - 3), NULL));
    g_autofree char *s = read_all(bin, false, &err);
    ck_assert_ptr_null(s);
    ck_assert_msg(strstr(err->message, "rt.bin:") != NULL, "%s", err->message);
    g_clear_error(&err);
    /* a failed conversion leaves no output file behind */
    g_autofree char *out = g_build_filename(tmpdir, "never.trace", NULL);
    ck_assert(!trace_convert(bin, out, &err));
    g_clear_error(&err);
    ck_assert(!g_file_test(out, G_FILE_TEST_EXISTS));
}
END_TEST

START_TEST(test_replay_expectations)
{
    g_autofree char *p = write_file("x.trace",
        "vtdsim-trace 1\n"
        "iommu dmar0 mode=legacy pool=0x1000000+4M\n"
        "domain d dmar0 type=ss\n"
        "attach d edu\n"
        "map d 0x0 0x200000 4K perm=r\n"
        "enable dmar0\n"
        "outl 0xcf8 0x80000804\n"
        "outl 0xcfc 0x6\n"
        "writeq 0x200000 0x55\n"
        "dma read edu 0x0 8\n"
        "expect status SC\n"
        "expect data 5500000000000000\n"
        "expect status UR\n"            /* fails */
        "expect translated 0x200008\n"  /* fails */
        "readl 0xfed90000\n"
        "expect answer \"OK 0x0000000000000010\"\n");
    Replay *r = replay_new(NULL);
    GError *err = NULL;
    ck_assert_msg(replay_run(r, p, &err), "%s", err ? err->message : "");
    ck_assert_uint_eq(replay_expectations(r), 5);
    ck_assert_uint_eq(replay_failures(r), 2);
    GString *s = g_string_new(NULL);
    replay_summary_text(r, s);
    g_autofree char *want = g_strdup_printf("%s/x.trace:13: expectation failed\n  - expected: UR\n"
                                            "  + got:      SC", tmpdir);
    ck_assert_msg(strstr(s->str, want) != NULL, "%s", s->str);
    ck_assert(strstr(s->str, "  - expected: 0x200008\n  + got:      0x200000") != NULL);
    g_string_truncate(s, 0);
    replay_summary_json(r, s);
    JsonParser *jp = json_parser_new();
    ck_assert(json_parser_load_from_data(jp, s->str, -1, NULL));
    JsonObject *o = json_node_get_object(json_parser_get_root(jp));
    ck_assert_int_eq(json_object_get_int_member(json_object_get_object_member(o, "requests"), "reads"), 1);
    ck_assert_int_eq(json_object_get_int_member(json_object_get_object_member(o, "expectations"), "failed"), 2);
    JsonObject *iotlb = json_object_get_object_member(json_object_get_object_member(o, "caches"), "iotlb");
    ck_assert_int_eq(json_object_get_int_member(iotlb, "misses"), 1);
    g_object_unref(jp);
    g_string_free(s, TRUE);
    replay_free(r);
}
END_TEST

START_TEST(test_replay_errors_name_line)
{
    static const struct {
        const char *body;
        const char *want;
    } cases[] = {
        { "dma read nosuch 0 4\n", ":2: dma: no device 'nosuch' on this platform" },
        { "map d 0 0 4K\n", ":2: map: no domain 'd'" },
        { "iommu dmar0 mode=weird pool=0+1M\n", ":2: iommu: mode=legacy or mode=scalable is required" },
        { "domain d dmar0 type=ss\n", ":2: domain: unit 'dmar0' has not been brought up" },
        { "frobnicate\n", ":2: frobnicate: unknown event" },
        { "readl 0x0\n@1ns readl 0\n@0ns readl 0\n", ":4: readl: time stamp @0ns is earlier" },
        { "readl zz\n", ":2: readl: FAIL" },
        { "expect status SC\n", ":2: expect: no device request before this expectation" },
        { "dma read edu 0 0\n", ":2: dma: length 0 outside" },
        { "readl 0\nplatform builtin\n", ":3: platform: must come before every other event" },
        { "dma write edu 0 4 data=0x0102\n", ":2: dma: data= has 4 hex digits, 4 bytes need 8" },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        g_autofree char *text = g_strdup_printf("vtdsim-trace 1\n%s", cases[i].body);
        g_autofree char *p = write_file("err.trace", text);
        Replay *r = replay_new(NULL);
        GError *err = NULL;
        ck_assert(!replay_run(r, p, &err));
        ck_assert_msg(strstr(err->message, cases[i].want) != NULL, "case %u: %s", i, err->message);
        ck_assert(g_str_has_prefix(err->message, p));
        g_error_free(err);
        replay_free(r);
    }
}
END_TEST

static Suite *suite_trace(void)
{
    Suite *s = suite_create("trace");
    TCase *tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_tokens_and_canonical_text);
    tcase_add_test(tc, test_time_stamps);
    tcase_add_test(tc, test_reader_errors);
    tcase_add_test(tc, test_includes);
    tcase_add_test(tc, test_binary_round_trip);
    suite_add_tcase(s, tc);
    tc = tcase_create("replay");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_replay_expectations);
    tcase_add_test(tc, test_replay_errors_name_line);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_trace)
