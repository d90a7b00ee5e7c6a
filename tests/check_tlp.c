/*
 * Tests of the TLP wire format: byte enables of memory requests, encode /
 * decode round trips for every header kind (with and without the PASID
 * prefix), exact header DWs against hand-assembled values, and malformed
 * input that must be rejected with an error naming the field.
 */
#include <string.h>
#include "check_util.h"
#include "pcie/tlp.h"

START_TEST(test_tlp_mem_byte_enables)
{
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x1000, 64);
    ck_assert(!t.addr64);
    ck_assert_uint_eq(t.first_be, 0xf);
    ck_assert_uint_eq(t.last_be, 0xf);
    t = pcie_tlp_mem(PCIE_TLP_MWR, 0x0100, 0x1001, 2);      /* inside one DW */
    ck_assert_uint_eq(t.first_be, 0x6);
    ck_assert_uint_eq(t.last_be, 0);
    t = pcie_tlp_mem(PCIE_TLP_MWR, 0x0100, 0x1003, 6);      /* 3 DWs: bytes 3 | 0-3 | 0 */
    ck_assert_uint_eq(t.first_be, 0x8);
    ck_assert_uint_eq(t.last_be, 0x1);
    t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x100000000ull, 4);
    ck_assert(t.addr64);
    ck_assert_uint_eq(t.first_be, 0xf);
    ck_assert_uint_eq(t.last_be, 0);
    t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x2000, 0);      /* zero-length read */
    ck_assert_uint_eq(t.first_be, 0);
    ck_assert_uint_eq(t.last_be, 0);
}
END_TEST

START_TEST(test_tlp_encode_exact)
{
    uint32_t dw[5];
    /* MWr32, 1 DW at 0xfee00000 from 00:1f.0, tag 5. */
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MWR, 0x00f8, 0xfee00000, 4);
    t.tag = 5;
    ck_assert_uint_eq(pcie_tlp_encode(&t, dw), 3);
    ck_assert_uint_eq(dw[0], 0x40000001);
    ck_assert_uint_eq(dw[1], 0x00f8050f);
    ck_assert_uint_eq(dw[2], 0xfee00000);
    /* MRd64 4096 bytes (Length 0), TC 2, RO+NS, translated, with PASID 0x12345 exec+priv. */
    t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0300, 0x123456789000ull, 4096);
    t.tc = 2;
    t.attr = 3;
    t.at = PCIE_AT_TRANSLATED;
    t.pasid_present = true;
    t.pasid = 0x12345;
    t.exec = t.priv = true;
    ck_assert_uint_eq(pcie_tlp_encode(&t, dw), 5);
    ck_assert_uint_eq(dw[0], 0x91612345);
    ck_assert_uint_eq(dw[1], 0x20203800);
    ck_assert_uint_eq(dw[2], 0x030000ff);
    ck_assert_uint_eq(dw[3], 0x00001234);
    ck_assert_uint_eq(dw[4], 0x56789000);
    /* CplD of 8 bytes, status SC, byte count 4096 (0 on the wire), lower address 0x44. */
    PcieTlp c = { .type = PCIE_TLP_CPLD, .requester_id = 0x0100, .completer_id = 0x0008,
                  .tag = 9, .addr = 0x1044, .length = 8, .byte_count = 4096 };
    ck_assert_uint_eq(pcie_tlp_encode(&c, dw), 3);
    ck_assert_uint_eq(dw[0], 0x4a000002);
    ck_assert_uint_eq(dw[1], 0x00080000);
    ck_assert_uint_eq(dw[2], 0x01000944);
    /* CfgRd0 to 02:03.1 register 0x104. */
    PcieTlp g = { .type = PCIE_TLP_CFGRD0, .requester_id = 0, .completer_id = 0x0219,
                  .first_be = 0xf, .addr = 0x104 };
    ck_assert_uint_eq(pcie_tlp_encode(&g, dw), 3);
    ck_assert_uint_eq(dw[0], 0x04000001);
    ck_assert_uint_eq(dw[1], 0x0000000f);
    ck_assert_uint_eq(dw[2], 0x02190104);
}
END_TEST

static void roundtrip(const PcieTlp *in)
{
    uint32_t dw[5];
    unsigned n = pcie_tlp_encode(in, dw);
    PcieTlp out;
    GError *err = NULL;
    ck_assert_msg(pcie_tlp_decode(dw, n, &out, &err), "%s", err ? err->message : "");
    ck_assert_int_eq(out.type, in->type);
    ck_assert_int_eq(out.addr64, in->addr64);
    ck_assert_uint_eq(out.requester_id, in->requester_id);
    ck_assert_uint_eq(out.tag, in->tag);
    ck_assert_uint_eq(out.tc, in->tc);
    ck_assert_uint_eq(out.attr, in->attr);
    ck_assert_int_eq(out.at, in->at);
    ck_assert_int_eq(out.poisoned, in->poisoned);
    ck_assert_uint_eq(out.addr, in->addr);
    ck_assert_uint_eq(out.length, in->length);
    ck_assert_uint_eq(out.first_be, in->first_be);
    ck_assert_uint_eq(out.last_be, in->last_be);
    ck_assert_int_eq(out.pasid_present, in->pasid_present);
    ck_assert_uint_eq(out.pasid, in->pasid);
    ck_assert_int_eq(out.priv, in->priv);
    ck_assert_int_eq(out.exec, in->exec);
    ck_assert_uint_eq(out.completer_id, in->completer_id);
    ck_assert_int_eq(out.status, in->status);
    ck_assert_uint_eq(out.byte_count, in->byte_count);
    ck_assert_uint_eq(out.msg_code, in->msg_code);
    ck_assert_uint_eq(out.msg_routing, in->msg_routing);
}

START_TEST(test_tlp_roundtrip)
{
    static const struct { PcieTlpType type; uint64_t addr; uint32_t len; } mem[] = {
        { PCIE_TLP_MRD, 0x1000, 64 }, { PCIE_TLP_MRD, 0x1003, 1 }, { PCIE_TLP_MWR, 0x1001, 2 },
        { PCIE_TLP_MWR, 0xffc, 4 }, { PCIE_TLP_MWR, 0x2002, 4095 - 0x2 - 0x1000 + 0x1000 },
        { PCIE_TLP_MRD, 0x7fff0000000ull, 4096 }, { PCIE_TLP_MRDLK, 0x40, 8 },
        { PCIE_TLP_MWR, 0xfffffffcull, 4 }, { PCIE_TLP_MRD, 0x100000001ull, 7 },
        { PCIE_TLP_FETCHADD, 0x2000, 8 }, { PCIE_TLP_SWAP, 0x300000000ull, 4 },
        { PCIE_TLP_CAS, 0x2010, 16 }, { PCIE_TLP_MRD, 0x5000, 0 },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(mem); i++) {
        PcieTlp t = pcie_tlp_mem(mem[i].type, (uint16_t)(0x0100 + i), mem[i].addr, mem[i].len);
        t.tag = (uint8_t)(i * 17);
        t.tc = i & 7;
        t.attr = i % 8;
        t.at = (PcieAt)(i % 3);
        t.poisoned = i & 1;
        roundtrip(&t);
        t.pasid_present = true;
        t.pasid = 0xfffff - i;
        t.priv = i & 1;
        t.exec = i & 2;
        roundtrip(&t);
    }
    PcieTlp c = { .type = PCIE_TLP_CPL, .requester_id = 0x0200, .completer_id = 0x0010,
                  .tag = 200, .addr = 0x7c, .status = PCIE_CPL_UR, .byte_count = 4 };
    roundtrip(&c);
    c.type = PCIE_TLP_CPLD;
    c.status = PCIE_CPL_SC;
    c.length = 4096;
    c.byte_count = 4096;
    roundtrip(&c);
    c.status = PCIE_CPL_CA;
    c.type = PCIE_TLP_CPL;
    c.length = 0;
    roundtrip(&c);
    PcieTlp g = { .type = PCIE_TLP_CFGWR1, .requester_id = 0, .completer_id = 0x0510,
                  .first_be = 0x3, .addr = 0xffc, .length = 4 };
    roundtrip(&g);
    PcieTlp m = { .type = PCIE_TLP_MSG, .requester_id = 0x0300, .msg_code = 0x20,
                  .msg_routing = 4, .addr64 = true };
    roundtrip(&m);
    m.type = PCIE_TLP_MSGD;
    m.msg_code = 0x7e;
    m.msg_routing = 2;
    m.addr = 0x1234567800000000ull;
    m.length = 8;
    roundtrip(&m);
}
END_TEST

static void expect_error(const uint32_t *dw, unsigned n, const char *field)
{
    PcieTlp out;
    GError *err = NULL;
    ck_assert(!pcie_tlp_decode(dw, n, &out, &err));
    ck_assert_ptr_nonnull(err);
    ck_assert_msg(g_str_has_prefix(err->message, field), "'%s' does not name %s", err->message,
                  field);
    g_error_free(err);
}

START_TEST(test_tlp_malformed)
{
    const uint32_t reserved_fmt[] = { 0xa0000001, 0, 0 };
    expect_error(reserved_fmt, 3, "Fmt");
    const uint32_t only_prefix[] = { 0x91000005 };
    expect_error(only_prefix, 1, "Fmt");
    const uint32_t bad_prefix[] = { 0x90000000, 0x00000001, 0, 0 };
    expect_error(bad_prefix, 4, "Type");
    const uint32_t two_pasid[] = { 0x91000001, 0x91000002, 0x00000001, 0x0000000f, 0x1000 };
    expect_error(two_pasid, 5, "Type");
    const uint32_t truncated[] = { 0x20000001, 0x0000000f, 0x00000001 };
    expect_error(truncated, 3, "Fmt");
    const uint32_t reserved_type[] = { 0x03000001, 0x0000000f, 0x1000 };
    expect_error(reserved_type, 3, "Type");
    const uint32_t small64[] = { 0x20000001, 0x0000000f, 0x00000000, 0x00001000 };
    expect_error(small64, 4, "Fmt");
    const uint32_t last_be_1dw[] = { 0x00000001, 0x000000ff, 0x1000 };
    expect_error(last_be_1dw, 3, "Last DW BE");
    const uint32_t first_be_0[] = { 0x00000002, 0x000000f0, 0x1000 };
    expect_error(first_be_0, 3, "First DW BE");
    const uint32_t cross_4k[] = { 0x00000002, 0x000000ff, 0x1ffc };
    expect_error(cross_4k, 3, "Length");
    const uint32_t cfg_len[] = { 0x04000002, 0x0000000f, 0x01000000 };
    expect_error(cfg_len, 3, "Length");
    const uint32_t cfg_4dw[] = { 0x24000001, 0x0000000f, 0x01000000, 0 };
    expect_error(cfg_4dw, 4, "Fmt");
    const uint32_t cpl_status[] = { 0x0a000000, 0x0000a004, 0x01000000 };
    expect_error(cpl_status, 3, "Completion Status");
    const uint32_t at_reserved[] = { 0x00000c01, 0x0000000f, 0x1000 };
    expect_error(at_reserved, 3, "AT");
    const uint32_t msg_len[] = { 0x30000001, 0x00000020, 0, 0 };
    expect_error(msg_len, 4, "Length");
    const uint32_t msg_3dw[] = { 0x10000000, 0x00000020, 0 };
    expect_error(msg_3dw, 3, "Fmt");
    expect_error(reserved_fmt, 0, "Fmt");
}
END_TEST

START_TEST(test_tlp_format)
{
    PcieTlp t = pcie_tlp_mem(PCIE_TLP_MRD, 0x0100, 0x100001000ull, 64);
    t.tag = 3;
    t.pasid_present = true;
    t.pasid = 5;
    GString *s = g_string_new("");
    pcie_tlp_format(&t, s);
    ck_assert_str_eq(s->str, "MRd64 rid=01:00.0 tag=3 addr=0x100001000 len=64 pasid=5 AT=U");
    g_string_truncate(s, 0);
    PcieTlp c = { .type = PCIE_TLP_CPLD, .requester_id = 0x0100, .completer_id = 0x0008,
                  .tag = 9, .length = 8, .byte_count = 8, .status = PCIE_CPL_SC };
    pcie_tlp_format(&c, s);
    ck_assert_str_eq(s->str, "CplD rid=01:00.0 tag=9 cid=00:01.0 status=SC bc=8 len=8");
    g_string_free(s, TRUE);
    ck_assert_str_eq(pcie_tlp_type_name(PCIE_TLP_CAS), "CAS");
    ck_assert_str_eq(pcie_cpl_status_name(PCIE_CPL_CRS), "CRS");
}
END_TEST

Suite *suite_tlp(void);

Suite *suite_tlp(void)
{
    Suite *s = suite_create("tlp");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_tlp_mem_byte_enables);
    tcase_add_test(tc, test_tlp_encode_exact);
    tcase_add_test(tc, test_tlp_roundtrip);
    tcase_add_test(tc, test_tlp_malformed);
    tcase_add_test(tc, test_tlp_format);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_tlp)
