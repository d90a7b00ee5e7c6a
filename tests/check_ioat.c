/*
 * Tests of the I/OAT DMA engine model (models/ioat) on the platform of
 * traces/platforms/ioat.platform: an IOAT at 00:04.0 and an SR-IOV
 * copy-engine PF below a root port, VT-d unit at 0xFED90000 (off until a
 * test enables it through the driver library).
 *
 * The tests program the device the way its real drivers do (the Linux
 * VFIO selftest ioat driver: reset and poll for HALTED, a descriptor
 * pointing to itself run DMACOUNT times, SUSPEND; DPDK's dma/ioat PMD: a
 * circular ring, the CHANCMP write-back, RESET then CHAINADDR to ARMED),
 * and spin on CHANSTS while running the event queue, as a VFIO shim
 * would.
 */
#include <string.h>
#include "check_util.h"
#include "driver/vtd_driver.h"
#include "models/ioat/ioat.h"
#include "models/vtd/vtd_entries.h"
#include "pcie/pcie_internal.h"
#include "platform/platform.h"

#define DESC_BASE   0x100000ull
#define STATUS_ADDR 0x180000ull
#define SRC_BASE    0x200000ull
#define DST_BASE    0x300000ull
#define POOL_BASE   0x1000000ull
#define POOL_SIZE   (4ull << 20)
#define VTD_BASE    0xFED90000ull
#define IOAT_RID    PCIE_BDF(0, 4, 0)
#define CH0         IOAT_CHANNEL_MMIO_SIZE   /* channel 0's block in BAR0 */

typedef struct Fx {
    EmuSim *sim;
    Platform *p;
    PcieFn *fn;        /* the function under test (the IOAT, or a VF) */
    uint64_t bar;
} Fx;

static void fx_use(Fx *fx, PcieFn *fn)
{
    fx->fn = fn;
    fx->bar = pcie_fn_bar_addr(fn, 0);
    ck_assert_uint_ne(fx->bar, PCIE_BAR_UNMAPPED);
}

static void fx_init(Fx *fx)
{
    GError *err = NULL;
    memset(fx, 0, sizeof *fx);
    fx->sim = vtdsim_platform_new(TEST_SRC_PATH("traces/platforms/ioat.platform"), &err);
    ck_assert_msg(fx->sim != NULL, "%s", err ? err->message : "");
    fx->p = platform_get(fx->sim);
    PcieFn *fn = platform_find_device(fx->p, "ioat");
    ck_assert_ptr_nonnull(fn);
    fx_use(fx, fn);
}

static void fx_done(Fx *fx)
{
    emu_sim_free(fx->sim);
}

static uint64_t rd(Fx *fx, uint64_t off, unsigned size)
{
    uint64_t v = 0;
    ck_assert_int_eq(addr_space_read(fx->p->mem, fx->bar + off, size, &v), MEMTX_OK);
    return v;
}

static void wr(Fx *fx, uint64_t off, unsigned size, uint64_t v)
{
    ck_assert_int_eq(addr_space_write(fx->p->mem, fx->bar + off, size, v), MEMTX_OK);
}

static uint64_t chansts(Fx *fx)
{
    return rd(fx, CH0 + IOAT_CHANSTS, 8);
}

/* Runs the next pending event; FALSE when the queue is empty. */
static bool step(Fx *fx)
{
    EmuTick t = emu_sim_next_deadline(fx->sim);
    if (t == EMU_TICK_MAX) {
        return false;
    }
    emu_sim_run_until(fx->sim, t);
    return true;
}

/*
 * A driver's busy-poll: reads CHANSTS until its state is @want or HALTED,
 * letting the simulation run between reads.  Returns the last CHANSTS.
 */
static uint64_t poll_state(Fx *fx, unsigned want)
{
    for (unsigned i = 0; i < 1000000; i++) {
        uint64_t v = chansts(fx);
        if (ioat_CHANSTS_status(v) == want || ioat_CHANSTS_status(v) == IOAT_CHANSTS_HALTED) {
            return v;
        }
        if (!step(fx)) {
            return v;
        }
    }
    return chansts(fx);
}

static void run_all(Fx *fx)
{
    while (step(fx)) {
    }
}

/* The selftest's ioat_reset(): CHANCMD RESET, poll the bit, then CHANSTS must be HALTED. */
static void drv_reset(Fx *fx)
{
    wr(fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_RESET);
    unsigned polls = 0;
    while (rd(fx, CH0 + IOAT_CHANCMD, 1) & IOAT_CHANCMD_RESET) {
        ck_assert_msg(step(fx), "RESET never cleared");
        polls++;
    }
    ck_assert_uint_ge(polls, 1);   /* it took simulated time */
    ck_assert_uint_eq(ioat_CHANSTS_status(chansts(fx)), IOAT_CHANSTS_HALTED);
}

static void put_desc(Fx *fx, uint64_t addr, unsigned op, uint32_t flags, uint32_t size,
                     uint64_t src, uint64_t dst, uint64_t next)
{
    IoatDesc d;
    ioat_desc_set(&d, op, flags, size, src, dst, next);
    for (unsigned i = 0; i < 8; i++) {
        physmem_stq(fx->p->ram, addr + 8 * i, d.val[i]);
    }
}

static void fill_pattern(Fx *fx, uint64_t addr, size_t len, uint8_t seed)
{
    uint8_t *b = g_malloc(len);
    for (size_t i = 0; i < len; i++) {
        b[i] = (uint8_t)(seed + i * 7);
    }
    physmem_write(fx->p->ram, addr, b, len);
    g_free(b);
}

static bool same_mem(Fx *fx, uint64_t a, uint64_t b, size_t len)
{
    uint8_t *x = g_malloc(len), *y = g_malloc(len);
    physmem_read(fx->p->ram, a, x, len);
    physmem_read(fx->p->ram, b, y, len);
    bool same = memcmp(x, y, len) == 0;
    g_free(x);
    g_free(y);
    return same;
}

/* The selftest's __ioat_memcpy_start(): CHAINADDR, CHANCTRL, DMACOUNT. */
static void drv_start(Fx *fx, uint64_t chain, uint16_t count)
{
    wr(fx, CH0 + IOAT_CHAINADDR, 8, chain);
    wr(fx, CH0 + IOAT_CHANCTRL, 2, IOAT_CHANCTRL_INT_REARM | IOAT_CHANCTRL_ANY_ERR_ABORT_EN);
    wr(fx, CH0 + IOAT_DMACOUNT, 2, count);
}

static IoatStats stats(Fx *fx)
{
    IoatStats s;
    ck_assert(ioat_fn_stats(fx->fn, &s));
    return s;
}

/* Programs MSI-X vector 0 of the function under test and enables MSI-X. */
static void enable_msix(Fx *fx, uint8_t vector)
{
    wr(fx, IOAT_MSIX_TABLE_OFFSET + 0, 4, 0xFEE00000);
    wr(fx, IOAT_MSIX_TABLE_OFFSET + 4, 4, 0);
    wr(fx, IOAT_MSIX_TABLE_OFFSET + 8, 4, vector);
    wr(fx, IOAT_MSIX_TABLE_OFFSET + 12, 4, 0);
    uint8_t cap = pcie_fn_find_cap(fx->fn, PCI_CAP_ID_MSIX);
    ck_assert_uint_ne(cap, 0);
    uint32_t flags = pcie_fn_config_read(fx->fn, cap + PCI_MSIX_FLAGS, 2);
    pcie_fn_config_write(fx->fn, cap + PCI_MSIX_FLAGS, 2, flags | PCI_MSIX_FLAGS_ENABLE);
    /* the selftest's ioat_init(): per-channel MSI-X vectors, nothing else */
    wr(fx, IOAT_INTRCTRL, 1, IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
}

/* Interrupts from @rid in the platform's log. */
static unsigned irqs_from(Fx *fx, uint16_t rid, uint8_t *last_vector)
{
    const GArray *log = platform_irq_log(fx->p);
    unsigned n = 0;
    for (guint i = 0; i < log->len; i++) {
        const PlatformIrq *e = &g_array_index(log, PlatformIrq, i);
        if (e->rid == rid) {
            n++;
            if (last_vector) {
                *last_vector = e->vector;
            }
        }
    }
    return n;
}

/* ---- identity and registers ----------------------------------------------- */

START_TEST(test_identity)
{
    Fx fx;
    fx_init(&fx);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, PCI_VENDOR_ID, 2), 0x8086);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, PCI_DEVICE_ID, 2), 0x2021);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, PCI_REVISION_ID, 4) >> 8, 0x088000);
    ck_assert_uint_ne(pcie_fn_find_cap(fx.fn, PCI_CAP_ID_EXP), 0);
    ck_assert_uint_eq(pcie_fn_kind(fx.fn), PCIE_KIND_RC_INTEGRATED);
    ck_assert_uint_eq(pcie_fn_bar_size(fx.fn, 0), IOAT_BAR0_SIZE);
    uint8_t msix = pcie_fn_find_cap(fx.fn, PCI_CAP_ID_MSIX);
    ck_assert_uint_ne(msix, 0);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, msix + PCI_MSIX_TABLE, 4), IOAT_MSIX_TABLE_OFFSET | 0);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, msix + PCI_MSIX_PBA, 4), IOAT_MSIX_PBA_OFFSET | 0);
    ck_assert_uint_eq(rd(&fx, IOAT_CBVER, 1), 0x33);
    ck_assert_uint_eq(rd(&fx, IOAT_XFERCAP, 1), 20);
    ck_assert_uint_eq(rd(&fx, IOAT_CHANCNT, 1), 1);
    ck_assert_uint_eq(rd(&fx, IOAT_DMACAPABILITY, 4) & IOAT_CAP_FILL_BLOCK, IOAT_CAP_FILL_BLOCK);
    /* power-on: HALTED, nothing completed, no error */
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_HALTED);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), 0);
    fx_done(&fx);
}
END_TEST

/* Config-space error registers are RW1C (the selftest clears them by writing back what it read). */
START_TEST(test_config_w1c)
{
    Fx fx;
    fx_init(&fx);
    pcie_fn_set(fx.fn, IOAT_PCI_CHANERR_INT, 4, 0x00000105);
    pcie_fn_set(fx.fn, IOAT_PCI_DMAUNCERRSTS, 4, 0x00000020);
    pcie_fn_config_write(fx.fn, IOAT_PCI_CHANERR_INT, 4, 0x00000001);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, IOAT_PCI_CHANERR_INT, 4), 0x104);
    pcie_fn_config_write(fx.fn, IOAT_PCI_CHANERR_INT, 4, 0x104);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, IOAT_PCI_CHANERR_INT, 4), 0);
    pcie_fn_config_write(fx.fn, IOAT_PCI_DMAUNCERRSTS, 4, 0);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, IOAT_PCI_DMAUNCERRSTS, 4), 0x20);
    pcie_fn_config_write(fx.fn, IOAT_PCI_DMAUNCERRSTS, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, IOAT_PCI_DMAUNCERRSTS, 4), 0);
    pcie_fn_config_write(fx.fn, IOAT_PCI_CHANERRMSK_INT, 4, 0x12345678);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, IOAT_PCI_CHANERRMSK_INT, 4), 0x12345678);
    fx_done(&fx);
}
END_TEST

/* Each register takes its natural size (64-bit ones also 32-bit halves); others are dropped. */
START_TEST(test_access_sizes)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    ck_assert_uint_eq(rd(&fx, IOAT_CBVER, 4), 0);           /* 4 bytes over an 8-bit register */
    ck_assert_uint_eq(rd(&fx, 0x00, 8), 0);                  /* spans several registers */
    wr(&fx, CH0 + IOAT_CHANCTRL, 4, 0xffffffff);             /* too wide: ignored */
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCTRL, 2), 0);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCTRL, 1), 0);   /* too narrow */
    wr(&fx, CH0 + IOAT_CHANCMD, 2, IOAT_CHANCMD_RESET);      /* 16-bit CHANCMD: ignored */
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCMD, 1), 0);
    /* CHAINADDR as two 32-bit halves, as 32-bit drivers write it */
    wr(&fx, CH0 + IOAT_CHAINADDR, 4, 0x00100040);
    wr(&fx, CH0 + IOAT_CHAINADDR + 4, 4, 0x1);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHAINADDR, 8), 0x100100040ull);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHAINADDR + 4, 4), 0x1);
    ck_assert_uint_eq(ioat_CHANSTS_status(rd(&fx, CH0 + IOAT_CHANSTS, 4)), IOAT_CHANSTS_ARMED);
    /* read-only registers keep their value */
    wr(&fx, IOAT_CBVER, 1, 0x10);
    wr(&fx, IOAT_XFERCAP, 1, 5);
    ck_assert_uint_eq(rd(&fx, IOAT_CBVER, 1), 0x33);
    ck_assert_uint_eq(rd(&fx, IOAT_XFERCAP, 1), 20);
    /* CHANCMP keeps 8-byte alignment */
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR | 0x7);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCMP, 8), STATUS_ADDR);
    /* beyond CHANCNT: nothing there */
    ck_assert_uint_eq(rd(&fx, 2 * IOAT_CHANNEL_MMIO_SIZE + IOAT_CHANSTS, 8), 0);
    fx_done(&fx);
}
END_TEST

/* ---- the selftest driver's flows ----------------------------------------- */

START_TEST(test_reset_takes_time)
{
    Fx fx;
    fx_init(&fx);
    EmuTick t0 = emu_sim_now(fx.sim);
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_RESET);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCMD, 1), IOAT_CHANCMD_RESET);
    ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_HALTED);
    run_all(&fx);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCMD, 1), 0);
    ck_assert_uint_ge(emu_sim_now(fx.sim) - t0, 1 * EMU_TICKS_PER_US);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_HALTED);
    fx_done(&fx);
}
END_TEST

/* A chain of four copies: ACTIVE while it runs, DONE after, data moved, time spent. */
START_TEST(test_chain_of_copies)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    const uint32_t len = 1000;
    for (unsigned i = 0; i < 4; i++) {
        fill_pattern(&fx, SRC_BASE + i * 0x1000, len, (uint8_t)(i * 13 + 1));
        put_desc(&fx, DESC_BASE + 64 * i, IOAT_OP_COPY, 0, len, SRC_BASE + i * 0x1000,
                 DST_BASE + i * 0x1000, DESC_BASE + 64 * ((i + 1) % 4));
    }
    EmuTick t0 = emu_sim_now(fx.sim);
    drv_start(&fx, DESC_BASE, 4);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_ACTIVE);    /* nothing happened synchronously */
    ck_assert_uint_eq(stats(&fx).descriptors, 0);
    uint64_t v = poll_state(&fx, IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(ioat_CHANSTS_status(v), IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(ioat_CHANSTS_completed(v), DESC_BASE + 64 * 3);
    for (unsigned i = 0; i < 4; i++) {
        ck_assert(same_mem(&fx, SRC_BASE + i * 0x1000, DST_BASE + i * 0x1000, len));
    }
    /* nothing past the copies */
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, DST_BASE + len), 0);
    IoatStats s = stats(&fx);
    ck_assert_uint_eq(s.descriptors, 4);
    ck_assert_uint_eq(s.bytes, 4 * len);
    ck_assert_uint_eq(s.errors, 0);
    IoatParams dp;
    ioat_params_default(&dp);
    ck_assert_uint_ge(emu_sim_now(fx.sim) - t0, 4 * dp.desc_ps + 4 * len * dp.copy_ps_per_byte);
    /* no interrupt without int_en */
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 0);
    /* SUSPEND from DONE */
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_SUSPEND);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_SUSPENDED)),
                      IOAT_CHANSTS_SUSPENDED);
    fx_done(&fx);
}
END_TEST

/* The selftest's single descriptor points to itself: DMACOUNT=k runs it k times. */
START_TEST(test_self_pointing_descriptor)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    fill_pattern(&fx, SRC_BASE, 64, 5);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_COMPL_WRITE, 64, SRC_BASE, DST_BASE,
             DESC_BASE);
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR);
    for (unsigned round = 0; round < 3; round++) {
        uint16_t k = (uint16_t)(3 + round);
        IoatStats before = stats(&fx);
        physmem_stq(fx.p->ram, STATUS_ADDR, 0);
        drv_start(&fx, DESC_BASE, k);
        uint64_t v = poll_state(&fx, IOAT_CHANSTS_DONE);
        ck_assert_uint_eq(v, DESC_BASE | IOAT_CHANSTS_DONE);
        ck_assert_uint_eq(stats(&fx).descriptors - before.descriptors, k);
        /* the completion write-back carries the same value */
        ck_assert_uint_eq(physmem_ldq(fx.p->ram, STATUS_ADDR), DESC_BASE | IOAT_CHANSTS_DONE);
        ck_assert(same_mem(&fx, SRC_BASE, DST_BASE, 64));
        /* the selftest suspends after every wait */
        wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_SUSPEND);
        ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_SUSPENDED);
    }
    fx_done(&fx);
}
END_TEST

/* DMACOUNT is a free-running 16-bit count: the device follows it across the wrap. */
START_TEST(test_dmacount_wraps)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 8, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 0xfffe);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(stats(&fx).descriptors, 0xfffe);
    /* 0xfffe -> 0x0003 is five more */
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, 0x0003);
    ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_ACTIVE);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(stats(&fx).descriptors, 0xfffe + 5);
    /* writing the count it already reached starts nothing */
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, 0x0003);
    ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(emu_sim_next_deadline(fx.sim), EMU_TICK_MAX);
    fx_done(&fx);
}
END_TEST

/* send_msi: an int_en descriptor raises MSI-X vector 0 once per INT_REARM. */
START_TEST(test_msix_on_int_en)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    enable_msix(&fx, 0x41);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 8, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 1);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    uint8_t vec = 0;
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, &vec), 1);
    ck_assert_uint_eq(vec, 0x41);
    ck_assert_uint_eq(stats(&fx).interrupts, 1);
    ck_assert_uint_eq(rd(&fx, IOAT_ATTNSTATUS, 4), 1);
    ck_assert_uint_eq(rd(&fx, IOAT_INTRCTRL, 1) & IOAT_INTRCTRL_INT_STATUS, IOAT_INTRCTRL_INT_STATUS);
    /* two more int_en descriptors without re-arming: no interrupt */
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, 3);
    poll_state(&fx, IOAT_CHANSTS_DONE);
    run_all(&fx);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 1);
    /* re-armed (the selftest's CHANCTRL write), the next one interrupts again */
    drv_start(&fx, DESC_BASE, 1);
    ck_assert_uint_eq(rd(&fx, IOAT_ATTNSTATUS, 4), 0);
    poll_state(&fx, IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 2);
    /* a copy without int_en: none */
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 8, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 5);
    poll_state(&fx, IOAT_CHANSTS_DONE);
    run_all(&fx);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 2);
    /* MSI-X enabled but INTRCTRL allows nothing: no message */
    wr(&fx, IOAT_INTRCTRL, 1, 0);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 8, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 1);
    poll_state(&fx, IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 2);
    fx_done(&fx);
}
END_TEST

/* Without MSI/MSI-X the channel interrupt is INTx, gated by MASTER_INT_EN, lowered by INT_REARM. */
START_TEST(test_intx)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    wr(&fx, IOAT_INTRCTRL, 1, IOAT_INTRCTRL_MASTER_INT_EN);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 8, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 1);
    poll_state(&fx, IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(rd(&fx, IOAT_INTRCTRL, 1),
                      IOAT_INTRCTRL_MASTER_INT_EN | IOAT_INTRCTRL_INT_STATUS | IOAT_INTRCTRL_INT);
    ck_assert(pcie_fn_config_read(fx.fn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT);
    ck_assert_uint_eq(stats(&fx).interrupts, 1);
    wr(&fx, CH0 + IOAT_CHANCTRL, 2, IOAT_CHANCTRL_INT_REARM);
    ck_assert_uint_eq(rd(&fx, IOAT_INTRCTRL, 1), IOAT_INTRCTRL_MASTER_INT_EN);
    ck_assert(!(pcie_fn_config_read(fx.fn, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT));
    fx_done(&fx);
}
END_TEST

/* SUSPEND while active stops after the descriptor in flight; RESUME carries on. */
START_TEST(test_suspend_resume)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 4096, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 10);
    ck_assert(step(&fx));   /* the first fetch */
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_SUSPEND);
    ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_ACTIVE);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_SUSPENDED)),
                      IOAT_CHANSTS_SUSPENDED);
    ck_assert_uint_eq(stats(&fx).descriptors, 1);
    run_all(&fx);
    ck_assert_uint_eq(stats(&fx).descriptors, 1);
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_RESUME);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(stats(&fx).descriptors, 10);
    fx_done(&fx);
}
END_TEST

/* FILL writes the 64-bit pattern; a NULL descriptor moves nothing but completes. */
START_TEST(test_fill_and_null)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    put_desc(&fx, DESC_BASE, IOAT_OP_FILL, 0, 20, 0x1122334455667788ull, DST_BASE, DESC_BASE + 64);
    put_desc(&fx, DESC_BASE + 64, IOAT_OP_COPY, IOAT_DESC_CTL_NULL, 1, 0, 0, DESC_BASE);
    drv_start(&fx, DESC_BASE, 2);
    ck_assert_uint_eq(poll_state(&fx, IOAT_CHANSTS_DONE), (DESC_BASE + 64) | IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, DST_BASE), 0x1122334455667788ull);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, DST_BASE + 8), 0x1122334455667788ull);
    ck_assert_uint_eq(physmem_ldl(fx.p->ram, DST_BASE + 16), 0x55667788u);
    ck_assert_uint_eq(physmem_ldl(fx.p->ram, DST_BASE + 20), 0);
    ck_assert_uint_eq(stats(&fx).bytes, 20);
    ck_assert_uint_eq(stats(&fx).descriptors, 2);
    fx_done(&fx);
}
END_TEST

/* ---- descriptor errors ------------------------------------------------------ */

static void expect_halt(Fx *fx, uint32_t chanerr, uint64_t completed)
{
    uint64_t v = poll_state(fx, IOAT_CHANSTS_DONE);
    ck_assert_uint_eq(ioat_CHANSTS_status(v), IOAT_CHANSTS_HALTED);
    ck_assert_uint_eq(ioat_CHANSTS_completed(v), completed);
    ck_assert_uint_eq(rd(fx, CH0 + IOAT_CHANERR, 4), chanerr);
}

START_TEST(test_descriptor_errors)
{
    Fx fx;
    fx_init(&fx);
    enable_msix(&fx, 0x42);
    static const struct {
        unsigned op;
        uint32_t size;
        uint32_t chanerr;
    } cases[] = {
        { IOAT_OP_COPY, 0, IOAT_CHANERR_LENGTH_ERR },
        { IOAT_OP_COPY, (1u << 20) + 1, IOAT_CHANERR_LENGTH_ERR },
        { 0x55, 8, IOAT_CHANERR_CONTROL_ERR },
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
        drv_reset(&fx);
        /* one good descriptor, then the bad one */
        put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 8, SRC_BASE, DST_BASE,
                 DESC_BASE + 64);
        put_desc(&fx, DESC_BASE + 64, cases[i].op, IOAT_DESC_CTL_INT_EN, cases[i].size, SRC_BASE,
                 DST_BASE, DESC_BASE);
        /* no INT_REARM: the good descriptor does not interrupt either */
        wr(&fx, CH0 + IOAT_CHAINADDR, 8, DESC_BASE);
        wr(&fx, CH0 + IOAT_CHANCTRL, 2, IOAT_CHANCTRL_ANY_ERR_ABORT_EN);
        wr(&fx, CH0 + IOAT_DMACOUNT, 2, 2);
        expect_halt(&fx, cases[i].chanerr, DESC_BASE);
        ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CDAR, 8), DESC_BASE + 64);
        /* HALTED stays until RESET: CHAINADDR and DMACOUNT do nothing */
        drv_start(&fx, DESC_BASE, 5);
        run_all(&fx);
        ck_assert_uint_eq(ioat_CHANSTS_status(chansts(&fx)), IOAT_CHANSTS_HALTED);
    }
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 0);
    ck_assert_uint_eq(stats(&fx).errors, G_N_ELEMENTS(cases));
    /* CHANERR is RW1C; RESET clears it too */
    wr(&fx, CH0 + IOAT_CHANERR, 4, IOAT_CHANERR_CONTROL_ERR);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), 0);
    /* a misaligned chain address */
    drv_reset(&fx);
    drv_start(&fx, DESC_BASE + 8, 1);
    expect_halt(&fx, IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR, 0);
    drv_reset(&fx);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), 0);
    /* a misaligned next pointer */
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 8, SRC_BASE, DST_BASE, DESC_BASE + 4);
    drv_start(&fx, DESC_BASE, 2);
    expect_halt(&fx, IOAT_CHANERR_NEXT_DESC_ALIGN_ERR, DESC_BASE);
    /* ERR_INT_EN turns an error into an interrupt */
    drv_reset(&fx);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 0, SRC_BASE, DST_BASE, DESC_BASE);
    wr(&fx, CH0 + IOAT_CHAINADDR, 8, DESC_BASE);
    wr(&fx, CH0 + IOAT_CHANCTRL, 2, IOAT_CHANCTRL_ERR_INT_EN);
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, 1);
    expect_halt(&fx, IOAT_CHANERR_LENGTH_ERR, 0);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 1);
    fx_done(&fx);
}
END_TEST

/* ---- DPDK's flow -------------------------------------------------------------- */

START_TEST(test_dpdk_ring)
{
    Fx fx;
    fx_init(&fx);
    const unsigned ring = 8;
    /* probe: SUSPEND, RESET, CHAINADDR = 0 while RESET reads set, CHANCTRL */
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_SUSPEND);
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_RESET);
    while (rd(&fx, CH0 + IOAT_CHANCMD, 1) & IOAT_CHANCMD_RESET) {
        wr(&fx, CH0 + IOAT_CHAINADDR, 8, 0);
        ck_assert(step(&fx));
    }
    wr(&fx, CH0 + IOAT_CHANCTRL, 2,
       IOAT_CHANCTRL_ANY_ERR_ABORT_EN | IOAT_CHANCTRL_ERR_COMPLETION_EN);
    /* vchan setup: a circular ring; start: CHAINADDR, CHANCMP; the channel is not HALTED */
    for (unsigned i = 0; i < ring; i++) {
        physmem_stq(fx.p->ram, DESC_BASE + 64 * i + 24, DESC_BASE + 64 * ((i + 1) % ring));
    }
    wr(&fx, CH0 + IOAT_CHAINADDR, 8, DESC_BASE);
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_ARMED);
    /* enqueue 5 copies with compl_write, ring the doorbell, poll the write-back */
    unsigned written = 0;
    for (unsigned round = 0; round < 3; round++) {
        for (unsigned i = 0; i < 5; i++, written++) {
            unsigned slot = written % ring;
            fill_pattern(&fx, SRC_BASE + written * 0x100, 0x100, (uint8_t)written);
            put_desc(&fx, DESC_BASE + 64 * slot, IOAT_OP_COPY, IOAT_DESC_CTL_COMPL_WRITE, 0x100,
                     SRC_BASE + written * 0x100, DST_BASE + written * 0x100,
                     DESC_BASE + 64 * ((slot + 1) % ring));
        }
        wr(&fx, CH0 + IOAT_DMACOUNT, 2, written);
        run_all(&fx);
        uint64_t status = physmem_ldq(fx.p->ram, STATUS_ADDR);
        ck_assert_uint_eq(status, (DESC_BASE + 64 * ((written - 1) % ring)) | IOAT_CHANSTS_DONE);
        ck_assert(same_mem(&fx, SRC_BASE, DST_BASE, written * 0x100));
    }
    /* a failing descriptor (length 0): HALTED in the write-back, last good one's address */
    unsigned slot = written % ring;
    put_desc(&fx, DESC_BASE + 64 * slot, IOAT_OP_COPY, IOAT_DESC_CTL_COMPL_WRITE, 0, SRC_BASE,
             DST_BASE, DESC_BASE + 64 * ((slot + 1) % ring));
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, written + 1);
    run_all(&fx);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, STATUS_ADDR),
                      (DESC_BASE + 64 * ((written - 1) % ring)) | IOAT_CHANSTS_HALTED);
    /* __ioat_recover: CHANERR write-back, RESET, CHAINADDR, CHANCTRL, CHANCMP; ARMED at once */
    uint32_t err = (uint32_t)rd(&fx, CH0 + IOAT_CHANERR, 4);
    ck_assert_uint_eq(err, IOAT_CHANERR_LENGTH_ERR);
    wr(&fx, CH0 + IOAT_CHANERR, 4, err);
    wr(&fx, CH0 + IOAT_CHANCMD, 1, IOAT_CHANCMD_RESET);
    wr(&fx, CH0 + IOAT_CHAINADDR, 8, DESC_BASE + 64 * ((slot + 1) % ring));
    wr(&fx, CH0 + IOAT_CHANCTRL, 2,
       IOAT_CHANCTRL_ANY_ERR_ABORT_EN | IOAT_CHANCTRL_ERR_COMPLETION_EN);
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_ARMED);
    /* the count restarted at 0: one more descriptor after the recovery */
    unsigned next = (slot + 1) % ring;
    fill_pattern(&fx, SRC_BASE + 0x8000, 0x40, 99);
    put_desc(&fx, DESC_BASE + 64 * next, IOAT_OP_COPY, IOAT_DESC_CTL_COMPL_WRITE, 0x40,
             SRC_BASE + 0x8000, DST_BASE + 0x8000, DESC_BASE + 64 * ((next + 1) % ring));
    wr(&fx, CH0 + IOAT_DMACOUNT, 2, 1);   /* written during the reset: runs after it */
    run_all(&fx);
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, STATUS_ADDR), (DESC_BASE + 64 * next) | IOAT_CHANSTS_DONE);
    ck_assert(same_mem(&fx, SRC_BASE + 0x8000, DST_BASE + 0x8000, 0x40));
    fx_done(&fx);
}
END_TEST

/* ---- reset semantics ---------------------------------------------------------- */

START_TEST(test_flr_restores_power_on)
{
    Fx fx;
    fx_init(&fx);
    drv_reset(&fx);
    enable_msix(&fx, 0x43);
    wr(&fx, IOAT_INTRCTRL, 1, IOAT_INTRCTRL_MASTER_INT_EN | IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
    wr(&fx, IOAT_INTRDELAY, 2, 0x123);
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR);
    wr(&fx, CH0 + IOAT_CHANERR_MASK, 4, 0x7);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 0x10000, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 100);
    ck_assert(step(&fx));   /* fetching... */
    /* what Linux does around an FLR: save the header, reset, restore it */
    uint32_t bar_lo = pcie_fn_config_read(fx.fn, PCI_BASE_ADDRESS_0, 4);
    uint32_t bar_hi = pcie_fn_config_read(fx.fn, PCI_BASE_ADDRESS_0 + 4, 4);
    uint32_t cmd = pcie_fn_config_read(fx.fn, PCI_COMMAND, 2);
    pcie_fn_flr(fx.fn);
    ck_assert_uint_eq(pcie_fn_config_read(fx.fn, PCI_COMMAND, 2), 0);
    pcie_fn_config_write(fx.fn, PCI_BASE_ADDRESS_0, 4, bar_lo);
    pcie_fn_config_write(fx.fn, PCI_BASE_ADDRESS_0 + 4, 4, bar_hi);
    pcie_fn_config_write(fx.fn, PCI_COMMAND, 2, cmd);
    run_all(&fx);
    ck_assert_uint_eq(stats(&fx).descriptors, 0);   /* the copy in flight was dropped */
    ck_assert_uint_eq(physmem_ldq(fx.p->ram, DST_BASE), 0);
    ck_assert_uint_eq(rd(&fx, IOAT_INTRCTRL, 1), 0);
    ck_assert_uint_eq(rd(&fx, IOAT_INTRDELAY, 2), 0);
    ck_assert_uint_eq(rd(&fx, IOAT_CBVER, 1), 0x33);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_HALTED);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHAINADDR, 8), 0);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCMP, 8), 0);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_DMACOUNT, 2), 0);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANCTRL, 2), 0);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR_MASK, 4), 0);
    ck_assert(!pcie_fn_msix_enabled(fx.fn));
    fx_done(&fx);
}
END_TEST

/* ---- through VT-d ------------------------------------------------------------- */

typedef struct VtdFx {
    VtdDrv *drv;
    VtdDom *dom;
} VtdFx;

#define ok(r, err) ck_assert_msg((r), "%s", (err) ? (err)->message : "(no GError)")

/* Translation for @rid: descriptors and status read/write, SRC read-only, DST unmapped. */
static void vtd_up(Fx *fx, VtdFx *v, uint16_t rid)
{
    GError *err = NULL;
    VtdDrvConfig cfg = {
        .reg_base = VTD_BASE, .mode = VTD_DRV_LEGACY, .inval = VTD_DRV_INVAL_QUEUED,
        .pool_base = POOL_BASE, .pool_size = POOL_SIZE, .strict = true,
    };
    v->drv = vtd_drv_new(fx->sim, fx->p->mem, &cfg, &err);
    ok(v->drv != NULL, err);
    v->dom = vtd_drv_domain_new(v->drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ok(v->dom != NULL, err);
    ok(vtd_drv_attach(v->drv, v->dom, rid, -1, &err), err);
    ok(vtd_drv_map(v->drv, v->dom, DESC_BASE, DESC_BASE, 0x1000, VTD_PROT_READ | VTD_PROT_WRITE, 0,
                   &err), err);
    ok(vtd_drv_map(v->drv, v->dom, STATUS_ADDR, STATUS_ADDR, 0x1000,
                   VTD_PROT_READ | VTD_PROT_WRITE, 0, &err), err);
    ok(vtd_drv_map(v->drv, v->dom, SRC_BASE, SRC_BASE, 0x1000, VTD_PROT_READ, 0, &err), err);
    ok(vtd_drv_enable(v->drv, &err), err);
}

/* Fault records cleared from the unit, as (SID, reason) pairs. */
static unsigned take_faults(VtdFx *v, uint16_t *sid)
{
    GArray *recs = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    unsigned n = vtd_drv_clear_faults(v->drv, recs);
    if (n && sid) {
        VtdFaultRecord r = { { g_array_index(recs, uint64_t, 0), g_array_index(recs, uint64_t, 1) } };
        *sid = (uint16_t)vtd_frcd_SID(&r);
    }
    g_array_free(recs, TRUE);
    return n;
}

START_TEST(test_vtd_unmapped_destination)
{
    Fx fx;
    VtdFx v;
    fx_init(&fx);
    drv_reset(&fx);
    enable_msix(&fx, 0x44);
    vtd_up(&fx, &v, IOAT_RID);
    fill_pattern(&fx, SRC_BASE, 64, 3);
    /* a mapped copy works through the IOMMU (DST_BASE only after mapping it) */
    GError *err = NULL;
    ok(vtd_drv_map(v.drv, v.dom, DST_BASE, DST_BASE, 0x1000, VTD_PROT_WRITE, 0, &err), err);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_COMPL_WRITE, 64, SRC_BASE, DST_BASE,
             DESC_BASE);
    wr(&fx, CH0 + IOAT_CHANCMP, 8, STATUS_ADDR);
    drv_start(&fx, DESC_BASE, 1);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    ck_assert(same_mem(&fx, SRC_BASE, DST_BASE, 64));
    ck_assert_uint_eq(take_faults(&v, NULL), 0);
    /* memcpy_to_unmapped_iova: with int_en armed, still no MSI; HALTED, WRITE_DATA_ERR, a fault */
    uint64_t unmapped = 0x200000000ull;   /* the selftest's 8 GiB */
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 64, SRC_BASE, unmapped, DESC_BASE);
    drv_reset(&fx);
    drv_start(&fx, DESC_BASE, 1);
    expect_halt(&fx, IOAT_CHANERR_WRITE_DATA_ERR, 0);
    uint16_t sid = 0;
    ck_assert_uint_ge(take_faults(&v, &sid), 1);
    ck_assert_uint_eq(sid, IOAT_RID);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 0);
    ck_assert_uint_eq(stats(&fx).errors, 1);
    /* memcpy_from_unmapped_iova: READ_DATA_ERR */
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, IOAT_DESC_CTL_INT_EN, 64, unmapped, DST_BASE, DESC_BASE);
    drv_reset(&fx);
    drv_start(&fx, DESC_BASE, 1);
    expect_halt(&fx, IOAT_CHANERR_READ_DATA_ERR, 0);
    ck_assert_uint_ge(take_faults(&v, &sid), 1);
    ck_assert_uint_eq(irqs_from(&fx, IOAT_RID, NULL), 0);
    /* a chain address the IOMMU does not map */
    drv_reset(&fx);
    drv_start(&fx, unmapped, 1);
    expect_halt(&fx, IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR, 0);
    ck_assert_uint_ge(take_faults(&v, &sid), 1);
    /* the selftest's error path resets; the channel works again */
    drv_reset(&fx);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), 0);
    put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 64, SRC_BASE, DST_BASE, DESC_BASE);
    drv_start(&fx, DESC_BASE, 2);
    ck_assert_uint_eq(ioat_CHANSTS_status(poll_state(&fx, IOAT_CHANSTS_DONE)), IOAT_CHANSTS_DONE);
    vtd_drv_free(v.drv);
    fx_done(&fx);
}
END_TEST

/* ---- SR-IOV copy engines -------------------------------------------------------- */

static void vfs_enable(PcieFn *pf, unsigned n)
{
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    ck_assert_uint_ne(c, 0);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + PCI_SRIOV_TOTAL_VF, 2), 4);
    pcie_fn_config_write(pf, c + PCI_SRIOV_NUM_VF, 2, n);
    uint32_t ctrl = pcie_fn_config_read(pf, c + PCI_SRIOV_CTRL, 2);
    pcie_fn_config_write(pf, c + PCI_SRIOV_CTRL, 2, ctrl | PCI_SRIOV_CTRL_VFE | PCI_SRIOV_CTRL_MSE);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), n);
}

START_TEST(test_sriov_vfs)
{
    Fx fx;
    fx_init(&fx);
    PcieFn *pf = platform_find_device(fx.p, "ce");
    ck_assert_ptr_nonnull(pf);
    ck_assert_uint_eq(pcie_fn_kind(pf), PCIE_KIND_ENDPOINT);
    vfs_enable(pf, 2);
    PcieFn *vf[2] = { pcie_fn_vf(pf, 0), pcie_fn_vf(pf, 1) };
    ck_assert_uint_ne(pcie_fn_rid(vf[0]), pcie_fn_rid(vf[1]));
    ck_assert_uint_ne(pcie_fn_rid(vf[0]), pcie_fn_rid(pf));
    for (unsigned i = 0; i < 2; i++) {
        ck_assert(pcie_fn_is_vf(vf[i]));
        ck_assert_uint_eq(pcie_fn_config_read(vf[i], PCI_DEVICE_ID, 2), 0x2021);
        ck_assert_uint_ne(pcie_fn_find_cap(vf[i], PCI_CAP_ID_MSIX), 0);
        pcie_fn_config_write(vf[i], PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    }
    ck_assert_uint_ne(pcie_fn_bar_addr(vf[0], 0), pcie_fn_bar_addr(vf[1], 0));
    /* each VF is a copy engine of its own */
    for (unsigned i = 0; i < 2; i++) {
        fx_use(&fx, vf[i]);
        ck_assert_uint_eq(rd(&fx, IOAT_CBVER, 1), 0x33);
        drv_reset(&fx);
        uint64_t dst = DST_BASE + 0x1000 * i;
        fill_pattern(&fx, SRC_BASE + 0x1000 * i, 128, (uint8_t)(40 + i));
        put_desc(&fx, DESC_BASE + 0x1000 * i, IOAT_OP_COPY, 0, 128, SRC_BASE + 0x1000 * i, dst,
                 DESC_BASE + 0x1000 * i);
        drv_start(&fx, DESC_BASE + 0x1000 * i, (uint16_t)(i + 1));
    }
    run_all(&fx);
    for (unsigned i = 0; i < 2; i++) {
        fx_use(&fx, vf[i]);
        ck_assert_uint_eq(chansts(&fx), (DESC_BASE + 0x1000 * i) | IOAT_CHANSTS_DONE);
        ck_assert(same_mem(&fx, SRC_BASE + 0x1000 * i, DST_BASE + 0x1000 * i, 128));
        ck_assert_uint_eq(stats(&fx).descriptors, i + 1);
    }
    /* the VFs' DMA carries their own requester IDs: VT-d translates only VF0 */
    VtdFx v;
    vtd_up(&fx, &v, pcie_fn_rid(vf[0]));
    for (unsigned i = 0; i < 2; i++) {
        fx_use(&fx, vf[i]);
        drv_reset(&fx);
        put_desc(&fx, DESC_BASE, IOAT_OP_COPY, 0, 8, SRC_BASE, SRC_BASE + 0x800, DESC_BASE);
        drv_start(&fx, DESC_BASE, 1);
    }
    run_all(&fx);
    fx_use(&fx, vf[0]);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), IOAT_CHANERR_WRITE_DATA_ERR);  /* SRC is read-only */
    uint16_t sid = 0;
    ck_assert_uint_eq(take_faults(&v, &sid), 2);   /* VF0's write, VF1's fetch */
    fx_use(&fx, vf[1]);
    ck_assert_uint_eq(chansts(&fx), IOAT_CHANSTS_HALTED);
    ck_assert_uint_eq(rd(&fx, CH0 + IOAT_CHANERR, 4), IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR);
    vtd_drv_free(v.drv);
    /* the PF itself is a copy engine too, and ioat_fn_stats rejects other functions */
    IoatStats s;
    ck_assert(ioat_fn_stats(pf, &s));
    ck_assert(!ioat_fn_stats(platform_find_device(fx.p, "rp0"), &s));
    /* FLR of the PF removes the VFs */
    pcie_fn_flr(pf);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 0);
    fx_done(&fx);
}
END_TEST

/* The fault source IDs, one VF at a time (each VF's record names that VF). */
START_TEST(test_sriov_fault_source_id)
{
    Fx fx;
    fx_init(&fx);
    PcieFn *pf = platform_find_device(fx.p, "ce");
    vfs_enable(pf, 4);
    VtdFx v;
    vtd_up(&fx, &v, pcie_fn_rid(pf));   /* only the PF has a context entry */
    for (unsigned i = 0; i < 4; i++) {
        PcieFn *vf = pcie_fn_vf(pf, i);
        pcie_fn_config_write(vf, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
        fx_use(&fx, vf);
        drv_reset(&fx);
        drv_start(&fx, DESC_BASE, 1);
        expect_halt(&fx, IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR, 0);
        uint16_t sid = 0;
        ck_assert_uint_eq(take_faults(&v, &sid), 1);
        ck_assert_uint_eq(sid, pcie_fn_rid(vf));
    }
    vtd_drv_free(v.drv);
    fx_done(&fx);
}
END_TEST

/* ---- platform file keys ---------------------------------------------------------- */

START_TEST(test_platform_keys)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(
        "[platform]\nfirmware = full\n[device dma]\ntype = ioat\nbdf = 00:05.0\nxfercap = 12\n"
        "channels = 4\n", "t", &err);
    ck_assert_msg(sim != NULL, "%s", err ? err->message : "");
    Fx fx = { .sim = sim, .p = platform_get(sim) };
    fx_use(&fx, platform_find_device(fx.p, "dma"));
    ck_assert_uint_eq(rd(&fx, IOAT_XFERCAP, 1), 12);
    ck_assert_uint_eq(rd(&fx, IOAT_CHANCNT, 1), 4);
    ck_assert_uint_eq(rd(&fx, 4 * IOAT_CHANNEL_MMIO_SIZE + IOAT_CHANSTS, 8), IOAT_CHANSTS_HALTED);
    emu_sim_free(sim);
    static const char *const bad[] = {
        "[device d]\ntype = ioat\nbdf = 00:05.0\nxfercap = 4\n",
        "[device d]\ntype = ioat\nbdf = 00:05.0\nchannels = 0\n",
        "[device d]\ntype = ioat\nbdf = 00:05.0\nchannels = 17\n",
        "[device d]\ntype = ioat\nbdf = 00:05.0\nsriov-total-vfs = 2\n",
        "[device d]\ntype = ioat-sriov\nbdf = 00:05.0\nsriov-offset = 0\n",
    };
    for (unsigned i = 0; i < G_N_ELEMENTS(bad); i++) {
        g_clear_error(&err);
        sim = vtdsim_platform_new_from_data(bad[i], "bad", &err);
        ck_assert_msg(sim == NULL, "accepted: %s", bad[i]);
        ck_assert_ptr_nonnull(err);
    }
    g_clear_error(&err);
}
END_TEST

static Suite *suite_ioat(void)
{
    Suite *s = suite_create("ioat");
    TCase *core = tcase_create("core");
    tcase_add_test(core, test_identity);
    tcase_add_test(core, test_config_w1c);
    tcase_add_test(core, test_access_sizes);
    tcase_add_test(core, test_reset_takes_time);
    tcase_add_test(core, test_chain_of_copies);
    tcase_add_test(core, test_self_pointing_descriptor);
    tcase_add_test(core, test_dmacount_wraps);
    tcase_add_test(core, test_msix_on_int_en);
    tcase_add_test(core, test_intx);
    tcase_add_test(core, test_suspend_resume);
    tcase_add_test(core, test_fill_and_null);
    tcase_add_test(core, test_dpdk_ring);
    tcase_add_test(core, test_flr_restores_power_on);
    tcase_add_test(core, test_platform_keys);
    suite_add_tcase(s, core);
    TCase *faults = tcase_create("faults");
    tcase_add_test(faults, test_descriptor_errors);
    tcase_add_test(faults, test_vtd_unmapped_destination);
    suite_add_tcase(s, faults);
    TCase *sriov = tcase_create("sriov");
    tcase_add_test(sriov, test_sriov_vfs);
    tcase_add_test(sriov, test_sriov_fault_source_id);
    suite_add_tcase(s, sriov);
    return s;
}

CHECK_MAIN(suite_ioat)
