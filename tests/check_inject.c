/*
 * Tests of fault injection (src/inject): every fault class and trigger on
 * the small traces of traces/campaigns/, with the exact classification,
 * the number of firings and where each injection happened; plan parsing;
 * determinism (byte-identical JSON); campaign planning.
 */
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include "check_util.h"
#include "inject/campaign.h"
#include "inject/inject.h"
#include "trace/replay.h"

#define BASIC TEST_SRC_PATH("traces/campaigns/basic.trace")
#define PRQ TEST_SRC_PATH("traces/campaigns/prq.trace")
#define INLINE TEST_SRC_PATH("traces/campaigns/inline-plan.trace")
#define ATS TEST_SRC_PATH("traces/campaigns/ats.trace")
#define QI TEST_SRC_PATH("traces/campaigns/qi.trace")
#define IRQ TEST_SRC_PATH("traces/campaigns/irq.trace")
#define SMPASID TEST_SRC_PATH("traces/scalable-pasid.trace")
#define AER TEST_SRC_PATH("traces/campaigns/aer.trace")

/* Runs @trace with the one spec @spec (or none); the result's text report in *@text. */
static InjectResult *run(const char *trace, const char *spec, char **text)
{
    GPtrArray *specs = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
    if (spec) {
        GError *err = NULL;
        InjectSpec *s = inject_spec_parse_string(spec, &err);
        ck_assert_msg(s != NULL, "%s: %s", spec, err ? err->message : "");
        g_ptr_array_add(specs, s);
    }
    GError *err = NULL;
    InjectResult *r = inject_run_trace(trace, specs, &err);
    ck_assert_msg(r != NULL, "%s", err ? err->message : "");
    g_ptr_array_free(specs, TRUE);
    GString *t = g_string_new(NULL);
    inject_result_text(r, t);
    *text = g_string_free(t, FALSE);
    return r;
}

/* Asserts outcome, firings of @cls and a substring of the report. */
static void expect_run(const char *trace, const char *spec, InjectOutcome want, InjectClass cls,
                       uint64_t fired, const char *needle)
{
    char *text;
    InjectResult *r = run(trace, spec, &text);
    ck_assert_msg(inject_result_outcome(r) == want, "%s: outcome %s, want %s\n%s", spec,
                  inject_outcome_name(inject_result_outcome(r)), inject_outcome_name(want), text);
    ck_assert_msg(inject_result_fired(r)[cls] == fired, "%s: fired %" G_GUINT64_FORMAT ", want %"
                  G_GUINT64_FORMAT "\n%s", spec, (guint64)inject_result_fired(r)[cls], (guint64)fired, text);
    ck_assert_msg(strstr(text, needle), "%s: report lacks '%s'\n%s", spec, needle, text);
    inject_result_free(r);
    g_free(text);
}

START_TEST(test_spec_parse)
{
    GError *err = NULL;
    InjectSpec *s = inject_spec_parse_string("bitflip  entry=pte bit=13 nth=2 dev=edu addr=0x10000+8K op=write", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->cls, INJECT_BITFLIP);
    ck_assert_int_eq(s->entry, INJECT_ENTRY_PTE);
    ck_assert_uint_eq(s->bit, 13);
    ck_assert_uint_eq(s->nth, 2);
    ck_assert_uint_eq(s->count, 1);
    ck_assert_uint_eq(s->addr_lo, 0x10000);
    ck_assert_uint_eq(s->addr_hi, 0x12000);
    ck_assert_int_eq(s->op, 2);
    ck_assert_str_eq(s->dev, "edu");
    ck_assert_str_eq(s->text, "bitflip entry=pte bit=13 nth=2 dev=edu addr=0x10000+8K op=write");
    inject_spec_free(s);
    s = inject_spec_parse_string("ur time=1.5us prob=0.25 seed=9 count=0 addr=0x1000-0x2000", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert(s->has_time);
    ck_assert_uint_eq(s->time, 1500000);
    ck_assert(s->has_prob);
    ck_assert(s->prob == 0.25);
    ck_assert_uint_eq(s->seed, 9);
    ck_assert_uint_eq(s->count, 0);
    ck_assert_uint_eq(s->addr_hi, 0x2000);
    inject_spec_free(s);
    ck_assert_ptr_null(inject_spec_parse_string("melt nth=1", &err));
    ck_assert_msg(strstr(err->message, "'melt' is not a fault class"), "%s", err->message);
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur nth=0", &err));
    ck_assert_str_eq(err->message, "inject: 'nth=0': bad value");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur colour=red", &err));
    ck_assert_msg(strstr(err->message, "unknown option 'colour'"), "%s", err->message);
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("bitflip entry=pte bit=64", &err));
    ck_assert_str_eq(err->message, "inject: bit=64 is outside the entry");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur prob=1.5", &err));
    g_clear_error(&err);
    ck_assert_int_eq(inject_class_parse("drop-inval"), INJECT_DROP_INVAL);
    ck_assert_str_eq(inject_class_name(INJECT_PRQ_OVERFLOW), "prq-overflow");
}
END_TEST

START_TEST(test_completion_faults)
{
    expect_run(BASIC, "ur nth=1", INJECT_DETECTED, INJECT_UR, 1,
               "request #1 (line 15) completed UR instead of SC");
    expect_run(BASIC, "ca op=write", INJECT_DETECTED, INJECT_CA, 1,
               "CA completion for MWr rid=00:01.0 addr=0x11000 len=16");
    expect_run(BASIC, "poison nth=3", INJECT_DETECTED, INJECT_POISON, 1,
               "1 poisoned TLP(s) logged by the receiver (AER)");
    expect_run(BASIC, "poison op=write", INJECT_DETECTED, INJECT_POISON, 1,
               "poisoned write dropped by the completer");
    expect_run(BASIC, "timeout op=read", INJECT_DETECTED, INJECT_TIMEOUT, 1,
               "request #1 (line 15) completed CA instead of SC");
    /* a lost posted write: nobody is told, the read-back differs */
    expect_run(BASIC, "timeout op=write", INJECT_SDC, INJECT_TIMEOUT, 1,
               "request #3 (line 18): data read differs from the golden run");
}
END_TEST

START_TEST(test_bitflips)
{
    expect_run(BASIC, "bitflip entry=context bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "bit 0 of the context entry at 0x1004080 (0x0000000001003001 -> 0x0000000001003000)");
    expect_run(BASIC, "bitflip entry=context bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "1 fault record(s) more than the golden run; request #1 (line 15): fault 0x02, ");
    expect_run(BASIC, "bitflip entry=root bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "1 fault record(s) more than the golden run; request #1 (line 15): fault 0x01, ");
    /* a reserved bit of the context entry (in its upper half) */
    expect_run(BASIC, "bitflip entry=context bit=100", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "request #1 (line 15): fault 0x0b, Non-zero reserved field in a present context entry");
    expect_run(BASIC, "bitflip entry=pte bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "request #1 (line 15): fault 0x06, ");
    expect_run(BASIC, "bitflip entry=pte bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "bit 0 of the paging entry at 0x1006080 (0x0000000000200003 -> 0x0000000000200002)");
    /* an address bit of the leaf: the read comes from 0x202000 */
    expect_run(BASIC, "bitflip entry=pte bit=13", INJECT_SDC, INJECT_BITFLIP, 1,
               "request #1 (line 15): data read differs from the golden run");
    /* the write lands at 0x203000 instead of 0x201000 (and is read back from there) */
    expect_run(BASIC, "bitflip entry=pte bit=13 nth=2", INJECT_SDC, INJECT_BITFLIP, 1,
               "written memory differs from the golden run at 0x201000");
    /* the third request hits the IOTLB: the flipped entry is never read */
    expect_run(BASIC, "bitflip entry=pte bit=13 nth=3", INJECT_MASKED, INJECT_BITFLIP, 1,
               "results identical to the golden run");
    /* an explicit host word: the paging entry of page 0x10000; clearing W
     * under a read changes nothing */
    expect_run(BASIC, "bitflip entry=0x1006080 bit=1", INJECT_MASKED, INJECT_BITFLIP, 1,
               "bit 1 of the word at 0x1006080 (0x0000000000200003 -> 0x0000000000200001)");
}
END_TEST

START_TEST(test_drop_inval_and_msi)
{
    expect_run(BASIC, "drop-inval", INJECT_SDC, INJECT_DROP_INVAL, 1,
               "written memory differs from the golden run at 0x400000");
    expect_run(BASIC, "drop-inval addr=0x80000+4K", INJECT_NOT_FIRED, INJECT_DROP_INVAL, 0,
               "no event matched the trigger");
    expect_run(BASIC, "msi-lost dev=edu", INJECT_SDC, INJECT_MSI_LOST, 1,
               "0 interrupts delivered, golden run 1");
    expect_run(BASIC, "msi-dup", INJECT_SDC, INJECT_MSI_DUP, 1, "2 interrupts delivered, golden run 1");
}
END_TEST

START_TEST(test_prq_overflow)
{
    expect_run(PRQ, "prq-overflow", INJECT_DETECTED, INJECT_PRQ_OVERFLOW, 1,
               "prq.trace:11: page request queue filled with 127 requests");
    expect_run(PRQ, "prq-overflow nth=2", INJECT_DETECTED, INJECT_PRQ_OVERFLOW, 1,
               "request #2 (line 14) completed UR instead of SC");
}
END_TEST

START_TEST(test_devtlb_timeout)
{
    /* the unit reports ITE, the driver's flush fails: detected, not a hang */
    expect_run(ATS, "devtlb-timeout dev=nic", INJECT_DETECTED, INJECT_DEVTLB_TIMEOUT, 1,
               "invalidation error reported (FSTS ITE), the driver failed: ");
    expect_run(ATS, "devtlb-timeout", INJECT_DETECTED, INJECT_DEVTLB_TIMEOUT, 1,
               "device-TLB invalidation to 01:00.0 addr=0x2ff000 not answered");
    /* one device-TLB invalidation in the whole trace */
    expect_run(ATS, "devtlb-timeout nth=2", INJECT_NOT_FIRED, INJECT_DEVTLB_TIMEOUT, 0, "injected: nothing");
}
END_TEST

START_TEST(test_drop_desc)
{
    /* the first IOTLB descriptor is the global flush at enable: nothing cached yet */
    expect_run(BASIC, "drop-desc desc=iotlb", INJECT_MASKED, INJECT_DROP_DESC, 1,
               "iotlb descriptor 0x0000000000000000_00000000000100e2 consumed without effect");
    /* the second is the page-selective flush after the remap: a stale translation is used */
    expect_run(BASIC, "drop-desc desc=iotlb nth=2", INJECT_SDC, INJECT_DROP_DESC, 1,
               "written memory differs from the golden run at 0x400000");
    expect_run(BASIC, "drop-desc desc=iotlb nth=3", INJECT_NOT_FIRED, INJECT_DROP_DESC, 0,
               "no event matched the trigger");
    /* a lost wait descriptor never writes its status: the driver's wait times out */
    expect_run(BASIC, "drop-desc desc=wait nth=2", INJECT_HANG, INJECT_DROP_DESC, 1,
               "basic.trace:8: attach: vtd driver: invalidation wait descriptor did not complete");
    expect_run(BASIC, "drop-desc count=0", INJECT_HANG, INJECT_DROP_DESC, 2,
               "cc descriptor 0x0000000000000000_0000000000000011 consumed without effect");
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("drop-desc desc=flush", &err));
    ck_assert_msg(strstr(err->message, "'desc=flush': not a descriptor type (any, cc, iotlb, dev-iotlb"),
                  "%s", err->message);
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("drop-desc op=read", &err));
    ck_assert_msg(strstr(err->message, "op= does not apply to invalidation descriptors"), "%s", err->message);
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur desc=wait", &err));
    ck_assert_str_eq(err->message, "inject: desc= and did= only apply to drop-desc, delay-desc and reorder-desc");
    g_clear_error(&err);
    InjectSpec *s = inject_spec_parse_string("drop-desc desc=PDEV_IOTLB", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->desc, 0x8);
    inject_spec_free(s);
}
END_TEST

/* Field selectors of the descriptor classes: did, addr, sid/dev, pasid. */
START_TEST(test_desc_selectors)
{
    /* did: the DSI at attach and the PSI after the remap are domain 1's; nothing is domain 2's */
    expect_run(BASIC, "drop-desc did=1", INJECT_MASKED, INJECT_DROP_DESC, 1,
               "cc descriptor 0x0000000000000000_0000000800010031 consumed without effect");
    expect_run(BASIC, "drop-desc did=1 desc=iotlb nth=2", INJECT_SDC, INJECT_DROP_DESC, 1,
               "iotlb descriptor 0x0000000000010000_00000000000100f2 consumed without effect");
    expect_run(BASIC, "drop-desc did=2", INJECT_NOT_FIRED, INJECT_DROP_DESC, 0, "no event matched the trigger");
    /* addr: only page-selective descriptors carry one; the PSI of page 0x10000 */
    expect_run(BASIC, "drop-desc addr=0x10000+4K", INJECT_SDC, INJECT_DROP_DESC, 1,
               "written memory differs from the golden run at 0x400000");
    expect_run(BASIC, "drop-desc addr=0x11000+4K", INJECT_NOT_FIRED, INJECT_DROP_DESC, 0, "injected: nothing");
    /* sid/dev on ats.trace (the flush does not change the mapping: lost or late
     * invalidations are masked): first the device-selective context-cache one */
    expect_run(ATS, "drop-desc dev=nic", INJECT_MASKED, INJECT_DROP_DESC, 1,
               "cc descriptor 0x0000000000000000_0000010000010031 consumed without effect");
    expect_run(ATS, "delay-desc sid=01:00.0 desc=dev-iotlb delay=20ms", INJECT_MASKED, INJECT_DELAY_DESC, 1,
               "dev-iotlb descriptor 0x00000000002ff001_0000010000000003 deferred by 20000000000ps");
    /* a source-id without a device is a valid selector; nothing matches it */
    expect_run(ATS, "drop-desc sid=01:00.1", INJECT_NOT_FIRED, INJECT_DROP_DESC, 0, "injected: nothing");
    /* addr on a device-TLB invalidation: S=1 and 0x2ff000 encode [0x200000, +2M) */
    expect_run(ATS, "drop-desc desc=dev-iotlb addr=0x3ff000+4K", INJECT_MASKED, INJECT_DROP_DESC, 1,
               "dev-iotlb descriptor 0x00000000002ff001_0000010000000003 consumed without effect");
    expect_run(ATS, "drop-desc addr=0x400000+4K", INJECT_NOT_FIRED, INJECT_DROP_DESC, 0, "injected: nothing");
    GError *err = NULL;
    InjectSpec *s = inject_spec_parse_string("reorder-desc desc=iotlb did=7 addr=0x10000+4K sid=00:01.0", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert(s->has_did);
    ck_assert_uint_eq(s->did, 7);
    ck_assert_uint_eq(s->by, 1);
    ck_assert_str_eq(s->dev, "00:01.0");
    inject_spec_free(s);
    ck_assert_ptr_null(inject_spec_parse_string("drop-desc did=0x10000", &err));
    g_clear_error(&err);
}
END_TEST

START_TEST(test_delay_reorder_desc)
{
    /* qi.trace: remap + flush at 1us, read at 10us, another flush at 20us, read at 30us */
    expect_run(QI, "delay-desc desc=iotlb nth=2 delay=5us", INJECT_MASKED, INJECT_DELAY_DESC, 1,
               "delay-desc @1000000ps request #2: iotlb descriptor 0x0000000000010000_00000000000100f2 "
               "deferred by 5000000ps (executes at 6000000ps)");
    /* executes at 21us: the driver trusted the wait, the read at 10us is stale */
    expect_run(QI, "delay-desc desc=iotlb nth=2 delay=20us", INJECT_SDC, INJECT_DELAY_DESC, 1,
               "request #2 (line 20): data read differs from the golden run");
    /* on basic.trace everything happens at 0: any delay leaves the write stale */
    expect_run(BASIC, "delay-desc desc=iotlb nth=2 delay=1ns", INJECT_SDC, INJECT_DELAY_DESC, 1,
               "written memory differs from the golden run at 0x400000");
    /* a late wait: the driver polls (1us steps, 10ms limit): masked, or hang past 10ms */
    expect_run(QI, "delay-desc desc=wait time=1us delay=5us", INJECT_MASKED, INJECT_DELAY_DESC, 1,
               "wait descriptor 0x0000000001002000_0000000400000065 deferred by 5000000ps");
    expect_run(QI, "delay-desc desc=wait time=1us delay=12ms", INJECT_HANG, INJECT_DELAY_DESC, 1,
               "qi.trace:18: flush: vtd driver: invalidation wait descriptor did not complete");
    /* reordered past its own wait only: executes before the driver looks (synchronous queue) */
    expect_run(QI, "reorder-desc desc=iotlb nth=2", INJECT_MASKED, INJECT_REORDER_DESC, 1,
               "iotlb descriptor 0x0000000000010000_00000000000100f2 held until 1 more descriptor(s) are fetched");
    /* past the wait and into the next batch (the flush at 20us): the read at 10us is stale,
     * the one at 30us is not */
    expect_run(QI, "reorder-desc desc=iotlb nth=2 by=2", INJECT_SDC, INJECT_REORDER_DESC, 1,
               "request #2 (line 20): data read differs from the golden run");
    {
        char *text;
        InjectResult *r = run(QI, "reorder-desc desc=iotlb addr=0x10000+4K by=2", &text);
        ck_assert_int_eq(inject_result_outcome(r), INJECT_SDC);
        GString *j = g_string_new(NULL);
        inject_result_json(r, j);
        ck_assert_msg(strstr(j->str, "\"reorder-desc\" : 1"), "%s", j->str);
        g_string_free(j, TRUE);
        inject_result_free(r);
        g_free(text);
    }
    /* never released (nothing fetched after it in basic.trace) */
    expect_run(BASIC, "reorder-desc desc=iotlb nth=2 by=2", INJECT_SDC, INJECT_REORDER_DESC, 1,
               "written memory differs from the golden run at 0x400000");
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("delay-desc desc=iotlb", &err));
    ck_assert_str_eq(err->message, "inject: delay-desc needs delay=TIME");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("drop-desc delay=1us", &err));
    ck_assert_str_eq(err->message, "inject: delay= only applies to delay-desc");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur by=2", &err));
    ck_assert_str_eq(err->message, "inject: by= only applies to reorder-desc");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("reorder-desc by=0", &err));
    g_clear_error(&err);
    InjectSpec *s = inject_spec_parse_string("delay-desc delay=2.5us", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_uint_eq(s->delay, 2500000);
    inject_spec_free(s);
}
END_TEST

/* Access errors on the walker's reads: the structure's access-error fault reason. */
START_TEST(test_table_read_errors)
{
    /* legacy (basic.trace): 0x08 root, 0x09 context, 0x07 second-level entry */
    expect_run(BASIC, "table-read-error entry=root", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "request #1 (line 15): fault 0x08, Error accessing the root entry");
    expect_run(BASIC, "table-read-error entry=context", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "access error on reads of the context entry at 0x1004080 (16 bytes) for MRd rid=00:01.0 addr=0x10000 len=8");
    expect_run(BASIC, "table-read-error entry=context", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "request #1 (line 15): fault 0x09, Error accessing the context entry");
    expect_run(BASIC, "table-read-error entry=pte", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "request #1 (line 15): fault 0x07, Error accessing a second-level paging entry");
    expect_run(BASIC, "table-read-error entry=0x1006080", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "access error on reads of the word at 0x1006080 (8 bytes)");
    /* the third request hits the IOTLB: nothing is read, nothing happens */
    expect_run(BASIC, "table-read-error entry=pte nth=3", INJECT_MASKED, INJECT_TABLE_READ_ERROR, 1,
               "results identical to the golden run");
    /* scalable mode (ats.trace: second stage through RID_PASID; 2 MiB leaf at level 2) */
    expect_run(ATS, "table-read-error entry=root", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "fault 0x38, Scalable mode: error accessing the root entry");
    expect_run(ATS, "table-read-error entry=context", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "(32 bytes) for MRd rid=01:00.0");
    expect_run(ATS, "table-read-error entry=context", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "fault 0x40, Scalable mode: error accessing the context entry");
    expect_run(ATS, "table-read-error entry=pasid-dir", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "fault 0x50, Scalable mode: error accessing the PASID directory entry");
    expect_run(ATS, "table-read-error entry=pasid", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "fault 0x58, Scalable mode: error accessing the PASID table entry");
    expect_run(ATS, "table-read-error entry=pte", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "fault 0x78, Scalable mode: error accessing a second-stage paging entry");
    /* no first-stage tables there */
    expect_run(ATS, "table-read-error entry=fs-pte", INJECT_NOT_FIRED, INJECT_TABLE_READ_ERROR, 0, "injected: nothing");
    /* first stage (scalable-pasid.trace, PASID 2's first read is request #3) */
    expect_run(SMPASID, "table-read-error entry=fs-pte pasid=2", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "request #3 (line 21): fault 0x70, Scalable mode: error accessing a first-stage paging entry");
    expect_run(SMPASID, "table-read-error entry=fs-pte pasid=2", INJECT_DETECTED, INJECT_TABLE_READ_ERROR, 1,
               "access error on reads of the first-stage paging entry at 0x10011000 (8 bytes) for MRd rid=01:00.0 "
               "addr=0x7f0000000040 len=64");
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("table-read-error entry=irte", &err));
    ck_assert_msg(strstr(err->message, "IRTE reads are not modelled"), "%s", err->message);
    g_clear_error(&err);
}
END_TEST

/* Bit flips in the scalable-mode structures and IRTEs, by name. */
START_TEST(test_bitflips_scalable_and_irte)
{
    expect_run(ATS, "bitflip entry=pasid-dir bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x51, Scalable mode: Present field of the PASID directory entry is clear");
    expect_run(ATS, "bitflip entry=pasid-dir bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "bit 0 of the PASID-directory entry at 0x10005000 (0x0000000010006001 -> 0x0000000010006000)");
    expect_run(ATS, "bitflip entry=pasid bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x59, Scalable mode: Present field of the PASID table entry is clear");
    /* PGTT 010 -> 000 */
    expect_run(SMPASID, "bitflip entry=pasid bit=6", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x5b, Scalable mode: invalid programming of a PASID table entry");
    /* a bit in the upper words of the 512-bit entry: word 7 is reserved */
    expect_run(SMPASID, "bitflip entry=pasid bit=500", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x5a, Scalable mode: non-zero reserved field in a present PASID table entry");
    expect_run(SMPASID, "bitflip entry=fs-pte bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x71, Scalable mode: Present field of a first-stage paging entry is clear");
    expect_run(SMPASID, "bitflip entry=fs-pte bit=2", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x81, Scalable mode: user-mode request to a supervisor page (U/S=0)");
    expect_run(SMPASID, "bitflip entry=fs-pte bit=12", INJECT_SDC, INJECT_BITFLIP, 1,
               "bit 12 of the first-stage paging entry at 0x1000e000 (0x0000000051000007 -> 0x0000000051001007)");
    /* IRTEs, as the unit reads them for a remappable MSI */
    expect_run(IRQ, "bitflip entry=irte bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x22, Present (P) field of the IRTE is clear");
    expect_run(IRQ, "bitflip entry=irte bit=0", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "bit 0 of the IRTE at 0x10003030 (0x0000020000450001 -> 0x0000020000450000) for MSI rid=01:00.0 "
               "addr=0xfee00070 data=0x0");
    expect_run(IRQ, "bitflip entry=irte bit=100", INJECT_DETECTED, INJECT_BITFLIP, 1,
               "fault 0x24, Non-zero reserved field in a present IRTE");
    /* a vector bit: the interrupt goes to vector 0x44 */
    expect_run(IRQ, "bitflip entry=irte bit=16", INJECT_SDC, INJECT_BITFLIP, 1,
               "interrupt 1: vector 0x44, golden run 0x45");
    /* the second MSI finds the IRTE in the interrupt entry cache */
    expect_run(IRQ, "bitflip entry=irte bit=16 nth=2", INJECT_MASKED, INJECT_BITFLIP, 1,
               "results identical to the golden run");
    /* memory requests never read IRTEs, MSIs never read paging entries */
    expect_run(BASIC, "bitflip entry=irte", INJECT_NOT_FIRED, INJECT_BITFLIP, 0, "injected: nothing");
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("bitflip entry=irte bit=128", &err));
    ck_assert_str_eq(err->message, "inject: bit=128 is outside the entry");
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("bitflip entry=pasid-dir bit=64", &err));
    g_clear_error(&err);
    InjectSpec *s = inject_spec_parse_string("bitflip entry=pasid bit=511", &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->entry, INJECT_ENTRY_PASID);
    inject_spec_free(s);
}
END_TEST

/* Failed A/D write-backs of the first-stage walker. */
START_TEST(test_ad_writeback)
{
    expect_run(SMPASID, "ad-writeback", INJECT_DETECTED, INJECT_AD_WRITEBACK, 1,
               "request #1 (line 19): fault 0x70, Scalable mode: error accessing a first-stage paging entry");
    /* the second A/D write of the same walk (the first, at the top level, went through) */
    expect_run(SMPASID, "ad-writeback nth=2", INJECT_DETECTED, INJECT_AD_WRITEBACK, 1,
               "ad-writeback @500000ps request #1: A/D write-back to the paging entry at 0x1000c000 failed for MRd "
               "rid=01:00.0 addr=0x7f0000000000 len=64");
    expect_run(SMPASID, "ad-writeback pasid=2", INJECT_DETECTED, INJECT_AD_WRITEBACK, 1,
               "request #3 (line 21): fault 0x70");
    /* the second-stage writes there run without SSADE: no A/D write-back to fail */
    expect_run(SMPASID, "ad-writeback op=write", INJECT_NOT_FIRED, INJECT_AD_WRITEBACK, 0, "injected: nothing");
    /* legacy second-stage tables have no A/D flags */
    expect_run(BASIC, "ad-writeback count=0", INJECT_NOT_FIRED, INJECT_AD_WRITEBACK, 0, "injected: nothing");
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("ad-writeback entry=pte", &err));
    ck_assert_msg(strstr(err->message, "no entry="), "%s", err->message);
    g_clear_error(&err);
}
END_TEST

/*
 * AER status on aer.trace (root port 00:1c.0 and endpoint 01:00.0 with AER;
 * request 3 is blocked by the IOMMU in both runs, which the root port logs
 * as UR + Advisory Non-Fatal).
 */
START_TEST(test_aer_status)
{
    /* the golden run's own UR */
    expect_run(AER, "ur pasid=7", INJECT_NOT_FIRED, INJECT_UR, 0,
               "golden:     AER 00:1c.0: Uncorrectable Error Status 0x00100000, Correctable Error Status 0x00002000");
    /* completer-detected: CA on a posted write (no advisory case) at the root port */
    expect_run(AER, "ca op=write", INJECT_DETECTED, INJECT_CA, 1,
               "injected:   AER 00:1c.0: Uncorrectable Error Status 0x00108000, Correctable Error Status 0x00002000");
    /* requester-detected: Completion Timeout, Poisoned TLP Received */
    expect_run(AER, "timeout op=read", INJECT_DETECTED, INJECT_TIMEOUT, 1,
               "injected:   AER 01:00.0: Uncorrectable Error Status 0x00004000, Correctable Error Status 0x00000000");
    expect_run(AER, "poison op=read", INJECT_DETECTED, INJECT_POISON, 1,
               "injected:   AER 01:00.0: Uncorrectable Error Status 0x00001000, Correctable Error Status 0x00000000");
    /* a poisoned write: the completer (root port) logs it */
    expect_run(AER, "poison op=write", INJECT_DETECTED, INJECT_POISON, 1,
               "injected:   AER 00:1c.0: Uncorrectable Error Status 0x00101000, Correctable Error Status 0x00002000");
    /* link errors: the receiver's Correctable Error Status, data unaffected */
    expect_run(AER, "link-error kind=bad-tlp", INJECT_DETECTED, INJECT_LINK_ERROR, 1,
               "AER of 01:00.0: Correctable Error Status 0x00000040, golden run 0x00000000 (Bad TLP)");
    expect_run(AER, "link-error kind=bad-dllp nth=2", INJECT_DETECTED, INJECT_LINK_ERROR, 1,
               "Bad DLLP on the link of MWr rid=01:00.0 addr=0x11000 len=8: logged in the Correctable Error Status of 01:00.0");
    expect_run(AER, "link-error kind=replay-rollover side=port", INJECT_DETECTED, INJECT_LINK_ERROR, 1,
               "AER of 00:1c.0: Correctable Error Status 0x00002100, golden run 0x00002000 (REPLAY_NUM Rollover)");
    expect_run(AER, "link-error kind=receiver count=0", INJECT_DETECTED, INJECT_LINK_ERROR, 3,
               "(Receiver Error)");
    expect_run(AER, "link-error kind=replay-timeout", INJECT_DETECTED, INJECT_LINK_ERROR, 1,
               "(Replay Timer Timeout)");
    /* no AER capability: nobody can see it */
    expect_run(BASIC, "link-error kind=bad-tlp", INJECT_MASKED, INJECT_LINK_ERROR, 1,
               "Bad TLP on the link of MRd rid=00:01.0 addr=0x10000 len=8: not logged (no AER capability) by 00:01.0");
    {
        char *text;
        InjectResult *r = run(AER, "link-error kind=bad-tlp", &text);
        GString *j = g_string_new(NULL);
        inject_result_json(r, j);
        ck_assert_msg(strstr(j->str, "\"function\" : \"01:00.0\",\n"), "%s", j->str);
        ck_assert_msg(strstr(j->str, "\"correctable_status\" : 64"), "%s", j->str);
        g_string_free(j, TRUE);
        inject_result_free(r);
        g_free(text);
    }
    GError *err = NULL;
    ck_assert_ptr_null(inject_spec_parse_string("link-error", &err));
    ck_assert_msg(strstr(err->message, "link-error needs kind="), "%s", err->message);
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("link-error kind=cosmic-ray", &err));
    g_clear_error(&err);
    ck_assert_ptr_null(inject_spec_parse_string("ur kind=bad-tlp", &err));
    ck_assert_str_eq(err->message, "inject: kind= and side= only apply to link-error");
    g_clear_error(&err);
}
END_TEST

START_TEST(test_triggers)
{
    /* address, requester and op filters */
    expect_run(BASIC, "ur addr=0xdead0000+4K", INJECT_NOT_FIRED, INJECT_UR, 0, "injected: nothing");
    expect_run(BASIC, "ur addr=0x11000+4K op=read", INJECT_DETECTED, INJECT_UR, 1,
               "request #3 (line 18) completed UR");
    expect_run(BASIC, "ur pasid=5", INJECT_NOT_FIRED, INJECT_UR, 0, "no event matched the trigger");
    /* time: everything in basic.trace happens at 0 */
    expect_run(BASIC, "ur time=1ns", INJECT_NOT_FIRED, INJECT_UR, 0, "no event matched the trigger");
    expect_run(BASIC, "ur time=0ps nth=4", INJECT_DETECTED, INJECT_UR, 1, "request #4 (line 23) completed UR");
    /* count: every one from the 4th TLP on (requests 4 and 5; MSIs are not memory requests) */
    expect_run(BASIC, "ur nth=4 count=0", INJECT_DETECTED, INJECT_UR, 2, "request #5: UR completion for MRd");
    /* probability under a seed: the same firings every time */
    expect_run(BASIC, "ur prob=0.5 seed=7 count=0", INJECT_DETECTED, INJECT_UR, 4,
               "ur @0ps request #5: UR completion for MRd");
    expect_run(BASIC, "ur prob=0 seed=7 count=0", INJECT_NOT_FIRED, INJECT_UR, 0, "injected: nothing");
    /* two entries on the same request: the flip is restored even though the UR
     * completes the request before any table is read (a later read is clean) */
    {
        GPtrArray *two = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
        g_ptr_array_add(two, inject_spec_parse_string("bitflip entry=context bit=0", NULL));
        g_ptr_array_add(two, inject_spec_parse_string("ur nth=1", NULL));
        InjectResult *r = inject_run_trace(BASIC, two, NULL);
        ck_assert_ptr_nonnull(r);
        ck_assert_int_eq(inject_result_outcome(r), INJECT_DETECTED);
        ck_assert_uint_eq(inject_result_fired(r)[INJECT_BITFLIP], 1);
        ck_assert_uint_eq(inject_result_fired(r)[INJECT_UR], 1);
        GString *t = g_string_new(NULL);
        inject_result_text(r, t);
        /* requests 2..6 as in the golden run: only the UR'd request differs */
        ck_assert_msg(strstr(t->str, "injected:   requests 6, error completions 1, fault records 0, interrupts 1, pages written 2"),
                      "%s", t->str);
        g_string_free(t, TRUE);
        inject_result_free(r);
        g_ptr_array_free(two, TRUE);
    }
    /* an unknown device is a plan error, not an outcome */
    GPtrArray *specs = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
    g_ptr_array_add(specs, inject_spec_parse_string("ur dev=nic", NULL));
    GError *err = NULL;
    ck_assert_ptr_null(inject_run_trace(BASIC, specs, &err));
    ck_assert_str_eq(err->message, "inject: no device 'nic' on this platform");
    g_error_free(err);
    g_ptr_array_free(specs, TRUE);
}
END_TEST

START_TEST(test_inline_plan)
{
    /* the plan in the trace: armed at 1us, from 2us on, the second read */
    expect_run(INLINE, NULL, INJECT_DETECTED, INJECT_UR, 1,
               "ur @3000000ps request #3: UR completion for MRd rid=00:01.0 addr=0x11000 len=8");
    /* a plain replay ignores inject lines */
    Replay *r = replay_new(NULL);
    GError *err = NULL;
    ck_assert(replay_run(r, INLINE, &err));
    GString *s = g_string_new(NULL);
    replay_summary_text(r, s);
    ck_assert_msg(strstr(s->str, "completions:  SC 4, UR 0, CA 0"), "%s", s->str);
    g_string_free(s, TRUE);
    replay_free(r);
}
END_TEST

START_TEST(test_deterministic_json)
{
    const char *specs[] = { "ur prob=0.3 seed=11 count=0", "bitflip entry=pte bit=13 nth=2", "drop-inval" };
    for (unsigned i = 0; i < G_N_ELEMENTS(specs); i++) {
        GString *a = g_string_new(NULL), *b = g_string_new(NULL);
        char *t1, *t2;
        InjectResult *r1 = run(BASIC, specs[i], &t1), *r2 = run(BASIC, specs[i], &t2);
        inject_result_json(r1, a);
        inject_result_json(r2, b);
        ck_assert_str_eq(a->str, b->str);
        ck_assert_str_eq(t1, t2);
        ck_assert_msg(strstr(a->str, "\"outcome\" : \""), "%s", a->str);
        inject_result_free(r1);
        inject_result_free(r2);
        g_free(t1);
        g_free(t2);
        g_string_free(a, TRUE);
        g_string_free(b, TRUE);
    }
}
END_TEST

START_TEST(test_campaign_plan_run_merge)
{
    g_autofree char *dir = g_dir_make_tmp("inject-XXXXXX", NULL);
    g_autofree char *ini = g_build_filename(dir, "c.ini", NULL);
    g_autofree char *text = g_strdup_printf(
        "[campaign]\ntraces=%s\nclasses=ur;bitflip\ntriggers=nth=1;nth=3\n"
        "[class bitflip]\nvariants=entry=pte bit=0;entry=pte bit=13\n", BASIC);
    ck_assert(g_file_set_contents(ini, text, -1, NULL));
    g_autofree char *out = g_build_filename(dir, "out", NULL);
    GError *err = NULL;
    /* ur x 2 triggers + bitflip x 2 variants x 2 triggers */
    ck_assert_int_eq(campaign_plan(ini, out, &err), 6);
    g_autofree char *shard = g_build_filename(out, "shards", "00003.shard", NULL);
    g_autofree char *body = NULL;
    ck_assert(g_file_get_contents(shard, &body, NULL, NULL));
    ck_assert_msg(strstr(body, "inject=bitflip entry=pte bit=0 nth=3"), "%s", body);
    ck_assert(campaign_run_shard(shard, false, &err));
    g_autofree char *res = g_build_filename(out, "results", "00003.json", NULL);
    g_autofree char *rbody = NULL;
    ck_assert(g_file_get_contents(res, &rbody, NULL, NULL));
    ck_assert_msg(strstr(rbody, "\"outcome\" : \"masked\""), "%s", rbody);
    GString *rep = g_string_new(NULL);
    ck_assert(campaign_merge(out, rep, &err));
    ck_assert_msg(strstr(rep->str, "6 shards, 1 results, 5 missing"), "%s", rep->str);
    g_string_free(rep, TRUE);
    g_autofree char *cmd = g_strdup_printf("rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    /* seeds multiply the shards and end up in the spec */
    g_autofree char *dir3 = g_dir_make_tmp("inject-XXXXXX", NULL);
    g_autofree char *ini3 = g_build_filename(dir3, "c.ini", NULL);
    g_autofree char *text3 = g_strdup_printf(
        "[campaign]\ntraces=%s\nclasses=ur;msi-dup\ntriggers=prob=0.5 count=0\nseeds=1;2;3\noptions=dev=edu\n",
        BASIC);
    ck_assert(g_file_set_contents(ini3, text3, -1, NULL));
    ck_assert_int_eq(campaign_plan(ini3, dir3, &err), 6);
    g_autofree char *shard3 = g_build_filename(dir3, "shards", "00004.shard", NULL);
    g_autofree char *body3 = NULL;
    ck_assert(g_file_get_contents(shard3, &body3, NULL, NULL));
    ck_assert_msg(strstr(body3, "inject=msi-dup prob=0.5 count=0 seed=2 dev=edu\n"), "%s", body3);
    g_autofree char *cmd3 = g_strdup_printf("rm -rf '%s'", dir3);
    ck_assert_int_eq(system(cmd3), 0);
    /* a bad class is refused at plan time */
    g_autofree char *dir2 = g_dir_make_tmp("inject-XXXXXX", NULL);
    g_autofree char *ini2 = g_build_filename(dir2, "c.ini", NULL);
    g_autofree char *text2 = g_strdup_printf("[campaign]\ntraces=%s\nclasses=melt\n", BASIC);
    ck_assert(g_file_set_contents(ini2, text2, -1, NULL));
    ck_assert_int_eq(campaign_plan(ini2, dir2, &err), -1);
    ck_assert_msg(strstr(err->message, "'melt' is not a fault class"), "%s", err->message);
    g_clear_error(&err);
    g_autofree char *cmd2 = g_strdup_printf("rm -rf '%s'", dir2);
    ck_assert_int_eq(system(cmd2), 0);
}
END_TEST

static Suite *suite_inject(void)
{
    Suite *s = suite_create("inject");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_spec_parse);
    tcase_add_test(tc, test_completion_faults);
    tcase_add_test(tc, test_bitflips);
    tcase_add_test(tc, test_drop_inval_and_msi);
    tcase_add_test(tc, test_prq_overflow);
    tcase_add_test(tc, test_devtlb_timeout);
    tcase_add_test(tc, test_drop_desc);
    tcase_add_test(tc, test_desc_selectors);
    tcase_add_test(tc, test_delay_reorder_desc);
    tcase_add_test(tc, test_table_read_errors);
    tcase_add_test(tc, test_bitflips_scalable_and_irte);
    tcase_add_test(tc, test_ad_writeback);
    tcase_add_test(tc, test_aer_status);
    tcase_add_test(tc, test_triggers);
    tcase_add_test(tc, test_inline_plan);
    tcase_add_test(tc, test_deterministic_json);
    tcase_add_test(tc, test_campaign_plan_run_merge);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_inject)
