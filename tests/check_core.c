/*
 * Tests of the simulation core and the memory layer: event ordering and
 * timers, contexts that do not interfere, sparse memory, and the MMIO
 * dispatcher's access-size rules.
 */
#include <string.h>
#include "check_util.h"
#include "core/evq.h"
#include "core/sim_internal.h"
#include "mem/addr_space.h"
#include "mem/physmem.h"
#include "core/parse.h"

typedef struct Log {
    GString *s;
} Log;

typedef struct Ev {
    Log *log;
    char tag;
} Ev;

static void ev_run(EmuSim *sim, void *opaque)
{
    Ev *e = opaque;
    g_string_append_printf(e->log->s, "%c@%" G_GUINT64_FORMAT " ", e->tag, emu_sim_now(sim));
}

START_TEST(test_evq_order)
{
    EmuSim *sim = emu_sim_new();
    Log log = { g_string_new("") };
    Ev a = { &log, 'a' }, b = { &log, 'b' }, c = { &log, 'c' }, d = { &log, 'd' }, e = { &log, 'e' };
    evq_schedule(sim, 300, 0, ev_run, &a);
    evq_schedule(sim, 100, 0, ev_run, &b);
    evq_schedule(sim, 100, 0, ev_run, &c);           /* same time: insertion order */
    evq_schedule(sim, 100, EVQ_PRIO_HIGH, ev_run, &d); /* same time, higher priority first */
    evq_schedule(sim, 200, EVQ_PRIO_LOW, ev_run, &e);
    ck_assert_uint_eq(emu_sim_next_deadline(sim), 100);
    ck_assert_uint_eq(emu_sim_run_until(sim, 250), 4);
    ck_assert_str_eq(log.s->str, "d@100 b@100 c@100 e@200 ");
    ck_assert_uint_eq(emu_sim_now(sim), 250);
    emu_sim_run_until(sim, 1000);
    ck_assert_str_eq(log.s->str, "d@100 b@100 c@100 e@200 a@300 ");
    ck_assert_uint_eq(emu_sim_next_deadline(sim), EMU_TICK_MAX);
    g_string_free(log.s, TRUE);
    emu_sim_free(sim);
}
END_TEST

/* Many events at random times come out sorted, ties in insertion order. */
START_TEST(test_evq_many_sorted)
{
    EmuSim *sim = emu_sim_new();
    enum { N = 5000 };
    static Ev evs[N];
    Log log = { g_string_new("") };
    GRand *r = g_rand_new_with_seed(7);
    for (int i = 0; i < N; i++) {
        evs[i] = (Ev){ &log, (char)('A' + i % 26) };
        evq_schedule(sim, g_rand_int_range(r, 0, 100), 0, ev_run, &evs[i]);
    }
    emu_sim_run_until(sim, 100);
    /* times must be non-decreasing */
    EmuTick prev = 0;
    gchar **parts = g_strsplit(g_strstrip(log.s->str), " ", -1);
    int n = 0;
    for (gchar **p = parts; *p; p++, n++) {
        EmuTick t = g_ascii_strtoull(strchr(*p, '@') + 1, NULL, 10);
        ck_assert_uint_ge(t, prev);
        prev = t;
    }
    ck_assert_int_eq(n, N);
    g_strfreev(parts);
    g_rand_free(r);
    g_string_free(log.s, TRUE);
    emu_sim_free(sim);
}
END_TEST

typedef struct TimerState {
    EmuTimer t;
    int fired;
    EmuTick at;
} TimerState;

static void timer_cb(EmuSim *sim, void *opaque)
{
    TimerState *s = opaque;
    s->fired++;
    s->at = emu_sim_now(sim);
}

START_TEST(test_timer_rearm_cancel)
{
    EmuSim *sim = emu_sim_new();
    TimerState s = { 0 };
    emu_timer_init(&s.t, sim, 0, timer_cb, &s);
    emu_timer_mod(&s.t, 1000);
    emu_timer_mod(&s.t, 500);      /* re-arm earlier: fires once, at 500 */
    emu_sim_run_until(sim, 2000);
    ck_assert_int_eq(s.fired, 1);
    ck_assert_uint_eq(s.at, 500);
    emu_timer_mod(&s.t, 3000);
    ck_assert(emu_timer_pending(&s.t));
    emu_timer_del(&s.t);
    ck_assert(!emu_timer_pending(&s.t));
    emu_sim_run_until(sim, 5000);
    ck_assert_int_eq(s.fired, 1);
    /* a timer in the past fires "now" */
    emu_timer_mod(&s.t, 10);
    emu_sim_run_until(sim, 5000);
    ck_assert_int_eq(s.fired, 2);
    ck_assert_uint_eq(s.at, 5000);
    emu_timer_del(&s.t);
    emu_sim_free(sim);
}
END_TEST

/* Two contexts in one process keep separate clocks, queues and memory. */
START_TEST(test_two_sims_independent)
{
    EmuSim *a = emu_sim_new(), *b = emu_sim_new();
    TimerState sa = { 0 }, sb = { 0 };
    emu_timer_init(&sa.t, a, 0, timer_cb, &sa);
    emu_timer_init(&sb.t, b, 0, timer_cb, &sb);
    emu_timer_mod(&sa.t, 100);
    emu_timer_mod(&sb.t, 200);
    emu_sim_run_until(a, 1000);
    ck_assert_int_eq(sa.fired, 1);
    ck_assert_int_eq(sb.fired, 0);
    ck_assert_uint_eq(emu_sim_now(b), 0);
    PhysMem *ma = physmem_new(52), *mb = physmem_new(52);
    emu_sim_attach(a, "ram", ma, (GDestroyNotify)physmem_free);
    emu_sim_attach(b, "ram", mb, (GDestroyNotify)physmem_free);
    physmem_stq(ma, 0x1000, 42);
    ck_assert_uint_eq(physmem_ldq(mb, 0x1000), 0);
    ck_assert_ptr_eq(emu_sim_lookup(a, "ram"), ma);
    ck_assert_ptr_null(emu_sim_lookup(a, "nothing"));
    emu_timer_del(&sb.t);
    emu_sim_free(a);
    emu_sim_free(b);
}
END_TEST

START_TEST(test_physmem_sparse)
{
    PhysMem *m = physmem_new(52);
    ck_assert_uint_eq(physmem_size(m), 1ull << 52);
    /* reads of untouched memory are zero and allocate nothing */
    ck_assert_uint_eq(physmem_ldq(m, (1ull << 52) - 8), 0);
    ck_assert_uint_eq(physmem_pages_allocated(m), 0);
    physmem_stq(m, (1ull << 52) - 8, 0x1122334455667788ull);
    ck_assert_uint_eq(physmem_ldq(m, (1ull << 52) - 8), 0x1122334455667788ull);
    ck_assert_uint_eq(physmem_ldl(m, (1ull << 52) - 4), 0x11223344u);
    /* a write straddling a page boundary touches exactly two pages */
    physmem_stq(m, 0x1ffc, 0xaabbccddeeff0011ull);
    ck_assert_uint_eq(physmem_pages_allocated(m), 3);
    ck_assert_uint_eq(physmem_ldq(m, 0x1ffc), 0xaabbccddeeff0011ull);
    /* zero fill of untouched pages allocates nothing */
    physmem_fill(m, 0x100000000ull, 0, 1 << 20);
    ck_assert_uint_eq(physmem_pages_allocated(m), 3);
    physmem_fill(m, 0x100000000ull, 0x5a, 3 * 4096);
    ck_assert_uint_eq(physmem_pages_allocated(m), 6);
    uint8_t buf[16];
    physmem_read(m, 0x100000000ull + 3 * 4096 - 8, buf, 16);
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(buf[i], 0x5a);
        ck_assert_uint_eq(buf[8 + i], 0);
    }
    physmem_free(m);
}
END_TEST

/* Memory is O(touched pages): 20000 scattered pages grow the table, and all read back. */
START_TEST(test_physmem_many_pages)
{
    PhysMem *m = physmem_new(52);
    GRand *r = g_rand_new_with_seed(1);
    enum { N = 20000 };
    static uint64_t addrs[N];
    for (int i = 0; i < N; i++) {
        addrs[i] = ((uint64_t)g_rand_int(r) << 20 | (g_rand_int(r) & 0xfffff)) & ((1ull << 52) - 8) & ~7ull;
        physmem_stq(m, addrs[i], addrs[i] ^ 0x5555);
    }
    for (int i = 0; i < N; i++) {
        ck_assert_uint_eq(physmem_ldq(m, addrs[i]), addrs[i] ^ 0x5555);
    }
    ck_assert_uint_le(physmem_pages_allocated(m), N);
    g_rand_free(r);
    physmem_free(m);
}
END_TEST

typedef struct Dev {
    uint64_t last_off, last_val;
    unsigned last_size;
    int reads, writes;
} Dev;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    Dev *d = opaque;
    d->reads++;
    d->last_off = off;
    d->last_size = size;
    return 0x0706050403020100ull + off * 0x0101010101010101ull;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Dev *d = opaque;
    d->writes++;
    d->last_off = off;
    d->last_val = val;
    d->last_size = size;
}

static const MmioOps dev_ops_4_8 = {
    .name = "dev", .read = dev_read, .write = dev_write, .min_access = 4, .max_access = 8,
};
static const MmioOps dev_ops_split = {
    .name = "split", .read = dev_read, .write = dev_write, .min_access = 1, .max_access = 8,
    .impl_max = 4,
};

START_TEST(test_as_access_rules)
{
    AddrSpace *as = addr_space_new("mem", 1ull << 52, 0);
    PhysMem *ram = physmem_new(52);
    Dev d = { 0 };
    addr_space_add_ram(as, "ram", 0, 0x10000000, ram, 0, 0);
    addr_space_add_mmio(as, "dev", 0xfed90000, 0x1000, &dev_ops_4_8, &d, 10);
    uint64_t v;
    /* declared sizes pass */
    ck_assert_int_eq(addr_space_read(as, 0xfed90008, 8, &v), MEMTX_OK);
    ck_assert_uint_eq(d.last_off, 8);
    ck_assert_uint_eq(d.last_size, 8);
    /* too small: rejected before the model sees it */
    int reads = d.reads;
    ck_assert_int_eq(addr_space_read(as, 0xfed90008, 2, &v), MEMTX_ACCESS_ERROR);
    ck_assert_uint_eq(v, 0);
    ck_assert_int_eq(d.reads, reads);
    /* unaligned: rejected */
    ck_assert_int_eq(addr_space_write(as, 0xfed90004, 8, 1), MEMTX_ACCESS_ERROR);
    ck_assert_int_eq(d.writes, 0);
    /* last bytes of the region: an 8-byte access must fit */
    ck_assert_int_eq(addr_space_read(as, 0xfed90ffc, 4, &v), MEMTX_OK);
    /* holes decode nowhere */
    ck_assert_int_eq(addr_space_read(as, 0xe0000000, 4, &v), MEMTX_DECODE_ERROR);
    /* beyond the space */
    ck_assert_int_eq(addr_space_read(as, (1ull << 52) - 4, 8, &v), MEMTX_DECODE_ERROR);
    /* RAM round trip */
    ck_assert_int_eq(addr_space_write(as, 0x1234, 2, 0xbeef), MEMTX_OK);
    ck_assert_int_eq(addr_space_read(as, 0x1234, 2, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0xbeef);
    addr_space_free(as);
    physmem_free(ram);
}
END_TEST

START_TEST(test_as_split_and_priority)
{
    AddrSpace *as = addr_space_new("mem", 1ull << 52, 0);
    PhysMem *ram = physmem_new(52);
    Dev d = { 0 };
    addr_space_add_ram(as, "ram", 0, 0x100000, ram, 0, 0);
    MemRegion *r = addr_space_add_mmio(as, "overlay", 0x8000, 0x1000, &dev_ops_split, &d, 5);
    uint64_t v;
    /* an 8-byte access to a 4-byte implementation becomes two */
    ck_assert_int_eq(addr_space_read(as, 0x8000, 8, &v), MEMTX_OK);
    ck_assert_int_eq(d.reads, 2);
    /* low half from offset 0, high half from offset 4, each truncated to 4 bytes */
    ck_assert_uint_eq(v, 0x0706050403020100ull);
    /* the overlay wins over RAM; disabled, RAM shows through */
    physmem_stq(ram, 0x8000, 0x99);
    mem_region_set_enabled(r, false);
    ck_assert_int_eq(addr_space_read(as, 0x8000, 8, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x99);
    mem_region_set_enabled(r, true);
    mem_region_set_base(r, 0x9000);
    ck_assert_int_eq(addr_space_read(as, 0x8000, 8, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x99);
    /* a bulk write across RAM and the overlay stops at the region boundary and continues */
    uint8_t buf[0x20];
    memset(buf, 0xab, sizeof buf);
    ck_assert_int_eq(addr_space_rw(as, 0x9000 - 0x10, buf, sizeof buf, true), MEMTX_OK);
    ck_assert_uint_eq(physmem_ldq(ram, 0x8ff8), 0xababababababababull);
    ck_assert_uint_eq(physmem_ldq(ram, 0x9000), 0);   /* went to the device, not RAM */
    ck_assert_int_ge(d.writes, 1);
    addr_space_free(as);
    physmem_free(ram);
}
END_TEST

/* Host-backed RAM: accesses and bulk transfers reach the borrowed buffer itself. */
START_TEST(test_as_host_region)
{
    AddrSpace *as = addr_space_new("mem", 1ull << 52, ~0ull);
    uint8_t *buf = g_malloc0(0x3000);
    MemRegion *r = addr_space_add_host(as, "client", 0x10000000000ull, 0x3000, buf, 0);
    ck_assert_int_eq(addr_space_write(as, 0x10000000008ull, 8, 0x1122334455667788ull), MEMTX_OK);
    ck_assert_uint_eq(buf[8], 0x88);
    ck_assert_uint_eq(buf[15], 0x11);
    buf[0x2ffc] = 0xab;
    uint64_t v;
    ck_assert_int_eq(addr_space_read(as, 0x10000002ffcull, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0xab);
    /* a bulk transfer crossing the end of the region copies up to it, then fails */
    uint8_t big[32];
    memset(big, 0x5a, sizeof big);
    ck_assert_int_eq(addr_space_rw(as, 0x10000002ff0ull, big, sizeof big, true), MEMTX_DECODE_ERROR);
    ck_assert_uint_eq(buf[0x2fff], 0x5a);
    ck_assert_int_eq(addr_space_read(as, 0x10000002ffeull, 4, &v), MEMTX_DECODE_ERROR);
    addr_space_del(as, r);
    ck_assert_int_eq(addr_space_read(as, 0x10000000008ull, 8, &v), MEMTX_DECODE_ERROR);
    addr_space_free(as);
    g_free(buf);
}
END_TEST

START_TEST(test_parse_u64)
{
    uint64_t v = 7;
    ck_assert(emu_parse_u64("0x1000", EMU_PARSE_PLAIN, &v) && v == 0x1000);
    ck_assert(emu_parse_u64("010", EMU_PARSE_PLAIN, &v) && v == 8);
    ck_assert(!emu_parse_u64("4K", EMU_PARSE_PLAIN, &v));
    ck_assert(emu_parse_u64("4K", EMU_PARSE_SUFFIX, &v) && v == 4096);
    ck_assert(emu_parse_u64("256MiB", EMU_PARSE_SUFFIX, &v) && v == 256u << 20);
    ck_assert(emu_parse_u64("1GB", EMU_PARSE_SUFFIX, &v) && v == 1u << 30);
    ck_assert(!emu_parse_u64("0b101", EMU_PARSE_PLAIN, &v));
    ck_assert(emu_parse_u64("0b101", EMU_PARSE_BINARY, &v) && v == 5);
    ck_assert(!emu_parse_u64(" 5", EMU_PARSE_PLAIN, &v));
    ck_assert(emu_parse_u64(" 5 ", EMU_PARSE_BLANKS, &v) && v == 5);
    v = 7;
    ck_assert(!emu_parse_u64("-1", EMU_PARSE_SUFFIX, &v));
    ck_assert(!emu_parse_u64("+1", EMU_PARSE_PLAIN, &v));
    ck_assert(!emu_parse_u64("18446744073709551616", EMU_PARSE_PLAIN, &v));   /* 2^64 */
    ck_assert(!emu_parse_u64("16777216T", EMU_PARSE_SUFFIX, &v));             /* 2^64 via suffix */
    ck_assert(!emu_parse_u64("12Q", EMU_PARSE_SUFFIX, &v));
    ck_assert(!emu_parse_u64("", EMU_PARSE_PLAIN, &v));
    ck_assert(!emu_parse_u64(NULL, EMU_PARSE_PLAIN, &v));
    ck_assert_uint_eq(v, 7);   /* untouched by failures */
}
END_TEST

static Suite *suite_core(void)
{
    Suite *s = suite_create("core");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_evq_order);
    tcase_add_test(tc, test_evq_many_sorted);
    tcase_add_test(tc, test_timer_rearm_cancel);
    tcase_add_test(tc, test_two_sims_independent);
    tcase_add_test(tc, test_parse_u64);
    suite_add_tcase(s, tc);
    tc = tcase_create("mem");
    tcase_add_test(tc, test_physmem_sparse);
    tcase_add_test(tc, test_physmem_many_pages);
    tcase_add_test(tc, test_as_access_rules);
    tcase_add_test(tc, test_as_split_and_priority);
    tcase_add_test(tc, test_as_host_region);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_core)
