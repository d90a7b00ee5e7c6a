/*
 * What the VFIO test clients (vfio_rst.c, vfio_cdev.c) share: one
 * "ok"/"FAIL" line per step, and a minimal user-space driver of an I/OAT
 * (CBDMA) v3 channel written from its public register layout - reset,
 * one self-pointing copy descriptor, busy-polling CHANSTS as the Linux
 * VFIO selftest driver does.  Each client is one program: this header is
 * included once per program, so its definitions are plain statics.
 */
#ifndef VTDSIM_TESTS_VFIO_CLIENT_H
#define VTDSIM_TESTS_VFIO_CLIENT_H

#include <errno.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

static int failures;

static void check(int cond, const char *what)
{
    printf("%s %s\n", cond ? "ok  " : "FAIL", what);
    if (!cond) {
        failures++;
    }
}

static void check_errno(int ret, int want, const char *what)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s -> %s (got %s)", what, strerror(want), ret < 0 ? strerror(errno) : "success");
    check(ret < 0 && errno == want, buf);
}

/* IOAT v3 registers (BAR0) and descriptor, from the public register layout. */
enum {
    IOAT_CBVER = 0x08,
    IOAT_INTRCTRL = 0x03,
    IOAT_INTRCTRL_MSIX_VECTOR_CONTROL = 0x08,
    IOAT_CH = 0x80,
    IOAT_CHANCTRL = IOAT_CH + 0x00,
    IOAT_CHANCMD = IOAT_CH + 0x04,
    IOAT_DMACOUNT = IOAT_CH + 0x06,
    IOAT_CHANSTS = IOAT_CH + 0x08,
    IOAT_CHAINADDR = IOAT_CH + 0x10,
    IOAT_CHANERR = IOAT_CH + 0x28,
    IOAT_CHANCMD_RESET = 0x20,
    IOAT_CHANCTRL_INT_REARM = 0x0001,
    IOAT_CHANCTRL_ANY_ERR_ABORT_EN = 0x1000,
    STS_DONE = 1,
    STS_HALTED = 3,
};

typedef struct {
    uint32_t size;
    uint32_t ctl;     /* bit 0 int_en, bit 3 compl_write, 31:24 op (0 = copy) */
    uint64_t src, dst, next;
    uint64_t rsv[4];
} IoatDesc;

static volatile uint8_t *bar0;

static uint8_t rd8(unsigned off) { return *(volatile uint8_t *)(bar0 + off); }
static uint64_t rd64(unsigned off) { return *(volatile uint64_t *)(bar0 + off); }
static void wr8(unsigned off, uint8_t v) { *(volatile uint8_t *)(bar0 + off) = v; }
static void wr16(unsigned off, uint16_t v) { *(volatile uint16_t *)(bar0 + off) = v; }
static void wr32(unsigned off, uint32_t v) { *(volatile uint32_t *)(bar0 + off) = v; }
static void wr64(unsigned off, uint64_t v) { *(volatile uint64_t *)(bar0 + off) = v; }

/* Busy-polls CHANSTS as the selftest driver does; returns the final state, or -1 after 5 s. */
static int wait_state(void)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        unsigned st = (unsigned)(rd64(IOAT_CHANSTS) & 7);
        if (st == STS_DONE || st == STS_HALTED) {
            return (int)st;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (t.tv_sec - t0.tv_sec > 5) {
            return -1;
        }
    }
}

static int channel_reset(void)
{
    wr32(IOAT_CHANERR, 0xffffffff);
    wr8(IOAT_CHANCMD, IOAT_CHANCMD_RESET);
    for (int i = 0; i < 1000000 && (rd8(IOAT_CHANCMD) & IOAT_CHANCMD_RESET); i++) {
    }
    return (int)(rd64(IOAT_CHANSTS) & 7);
}

/* One copy descriptor pointing at itself, executed once. */
static int ioat_copy(IoatDesc *desc, uint64_t desc_iova, uint64_t src, uint64_t dst, uint32_t len, int irq)
{
    memset(desc, 0, sizeof *desc);
    desc->size = len;
    desc->ctl = irq ? 1 : 0;
    desc->src = src;
    desc->dst = dst;
    desc->next = desc_iova;
    wr64(IOAT_CHAINADDR, desc_iova);
    wr16(IOAT_CHANCTRL, IOAT_CHANCTRL_INT_REARM | IOAT_CHANCTRL_ANY_ERR_ABORT_EN);
    static uint16_t count;
    wr16(IOAT_DMACOUNT, ++count);
    return wait_state();
}

static int eventfd_pending(int efd, int timeout_ms)
{
    struct pollfd p = { .fd = efd, .events = POLLIN };
    return poll(&p, 1, timeout_ms) == 1;
}

/* SET_IRQS binding @efd to vector 0 of IRQ index @index (a flexible-array struct built in a buffer). */
static int set_irq_eventfd(int device, unsigned index, int32_t efd)
{
    union {
        struct vfio_irq_set s;
        uint8_t raw[sizeof(struct vfio_irq_set) + sizeof(int32_t)];
    } u;
    memset(&u, 0, sizeof u);
    u.s.argsz = sizeof u.raw;
    u.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
    u.s.index = index;
    u.s.start = 0;
    u.s.count = 1;
    memcpy(u.raw + sizeof u.s, &efd, sizeof efd);
    return ioctl(device, VFIO_DEVICE_SET_IRQS, &u);
}

#endif
