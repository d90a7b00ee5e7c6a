/*
 * The edu device; see edu.h for the register map and the deliberate
 * differences from QEMU.
 */
#include <string.h>
#include "models/edu/edu.h"
#include "core/evq.h"

#define LOG_PREFIX "edu"
#include "core/log.h"

enum {
    EDU_ID = 0x00, EDU_LIVENESS = 0x04, EDU_FACT = 0x08, EDU_STATUS = 0x20,
    EDU_IRQ_STATUS = 0x24, EDU_IRQ_RAISE = 0x60, EDU_IRQ_ACK = 0x64,
    EDU_DMA_SRC = 0x80, EDU_DMA_DST = 0x88, EDU_DMA_CNT = 0x90, EDU_DMA_CMD = 0x98,
};
enum {
    EDU_STATUS_COMPUTING = 0x01,
    EDU_STATUS_IRQFACT = 0x80,
    EDU_FACT_IRQ = 0x00000001,
    EDU_DMA_IRQ = 0x00000100,
    EDU_DMA_RUN = 0x1,
    EDU_DMA_DIR_TO_RAM = 0x2,
    EDU_DMA_CMD_IRQ = 0x4,
};

#define EDU_DMA_START 0x40000u
#define EDU_DMA_SIZE  4096u
#define EDU_DMA_MASK  ((1ull << 28) - 1)
#define EDU_BAR_SIZE  (1u << 20)
/* QEMU arms its DMA timer 100 ms of virtual time after the command. */
#define EDU_DMA_DELAY (100 * EMU_TICKS_PER_MS)

struct EduDevice {
    PcieFn *fn;
    EmuSim *sim;
    uint32_t addr4;
    uint32_t fact;
    uint32_t status;
    uint32_t irq_status;
    uint64_t dma_src, dma_dst, dma_cnt, dma_cmd;
    EmuTimer dma_timer;
    EmuTimer fact_timer;
    uint8_t dma_buf[EDU_DMA_SIZE];
};

static bool edu_msi(EduDevice *d)
{
    return pcie_fn_msi_enabled(d->fn);
}

static void edu_raise_irq(EduDevice *d, uint32_t val)
{
    d->irq_status |= val;
    if (d->irq_status) {
        if (edu_msi(d)) {
            pcie_fn_msi_notify(d->fn, 0);
        } else {
            pcie_fn_set_intx(d->fn, true);
        }
    }
}

static void edu_lower_irq(EduDevice *d, uint32_t val)
{
    d->irq_status &= ~val;
    if (!d->irq_status && !edu_msi(d)) {
        pcie_fn_set_intx(d->fn, false);
    }
}

/* Is [addr, addr+len) inside [start, start+size)? Overflow-safe. */
static bool edu_in_range(uint64_t addr, uint64_t len, uint64_t start, uint64_t size)
{
    return addr >= start && len <= size && addr - start <= size - len;
}

static void edu_dma_done(EmuSim *sim, void *opaque)
{
    EduDevice *d = opaque;
    (void)sim;
    if (!(d->dma_cmd & EDU_DMA_RUN)) {
        return;
    }
    uint64_t cnt = d->dma_cnt;
    if (d->dma_cmd & EDU_DMA_DIR_TO_RAM) {
        if (!edu_in_range(d->dma_src, cnt, EDU_DMA_START, EDU_DMA_SIZE)) {
            emu_guest_error("DMA source 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                            "x outside the device buffer 0x40000..0x40fff; ignored",
                            (guint64)d->dma_src, (guint64)cnt);
        } else {
            PcieCplStatus st = pcie_fn_dma_write(d->fn, d->dma_dst & EDU_DMA_MASK,
                                                 d->dma_buf + (d->dma_src - EDU_DMA_START),
                                                 (uint32_t)cnt, NULL);
            if (st != PCIE_CPL_SC) {
                emu_info("DMA write to 0x%" G_GINT64_MODIFIER "x completed with %s",
                         (guint64)d->dma_dst, pcie_cpl_status_name(st));
            }
        }
    } else {
        if (!edu_in_range(d->dma_dst, cnt, EDU_DMA_START, EDU_DMA_SIZE)) {
            emu_guest_error("DMA destination 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                            "x outside the device buffer 0x40000..0x40fff; ignored",
                            (guint64)d->dma_dst, (guint64)cnt);
        } else {
            uint8_t tmp[EDU_DMA_SIZE];
            PcieCplStatus st = pcie_fn_dma_read(d->fn, d->dma_src & EDU_DMA_MASK, tmp,
                                                (uint32_t)cnt, NULL);
            if (st == PCIE_CPL_SC) {
                memcpy(d->dma_buf + (d->dma_dst - EDU_DMA_START), tmp, cnt);
            } else {
                /*
                 * An unsuccessful completion carries no data; the device
                 * keeps its buffer (QEMU stores whatever the failed read
                 * returned: see docs/qemu-differences.md).
                 */
                emu_info("DMA read from 0x%" G_GINT64_MODIFIER "x completed with %s",
                         (guint64)d->dma_src, pcie_cpl_status_name(st));
            }
        }
    }
    d->dma_cmd &= ~(uint64_t)EDU_DMA_RUN;
    if (d->dma_cmd & EDU_DMA_CMD_IRQ) {
        edu_raise_irq(d, EDU_DMA_IRQ);
    }
}

static void edu_fact_done(EmuSim *sim, void *opaque)
{
    EduDevice *d = opaque;
    (void)sim;
    uint32_t n = d->fact, r = 1;
    for (uint32_t i = n; i > 0; i--) {
        r *= i;
    }
    d->fact = r;
    d->status &= ~(uint32_t)EDU_STATUS_COMPUTING;
    if (d->status & EDU_STATUS_IRQFACT) {
        edu_raise_irq(d, EDU_FACT_IRQ);
    }
}

static uint64_t edu_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    EduDevice *d = opaque;
    uint64_t val = ~0ull;
    if (addr < 0x80 && size != 4) {
        return val;
    }
    switch (addr) {
    case EDU_ID:
        return 0x010000edu;
    case EDU_LIVENESS:
        return d->addr4;
    case EDU_FACT:
        return d->fact;
    case EDU_STATUS:
        return d->status;
    case EDU_IRQ_STATUS:
        return d->irq_status;
    case EDU_DMA_SRC:
        return d->dma_src;
    case EDU_DMA_DST:
        return d->dma_dst;
    case EDU_DMA_CNT:
        return d->dma_cnt;
    case EDU_DMA_CMD:
        return d->dma_cmd;
    default:
        return val;
    }
}

static void edu_mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    EduDevice *d = opaque;
    if (addr < 0x80 && size != 4) {
        return;
    }
    if (addr >= 0x80 && size != 4 && size != 8) {
        return;
    }
    switch (addr) {
    case EDU_LIVENESS:
        d->addr4 = ~(uint32_t)val;
        break;
    case EDU_FACT:
        if (d->status & EDU_STATUS_COMPUTING) {
            break;
        }
        d->status |= EDU_STATUS_COMPUTING;
        d->fact = (uint32_t)val;
        emu_timer_mod(&d->fact_timer, emu_sim_now(d->sim));
        break;
    case EDU_STATUS:
        d->status = (d->status & EDU_STATUS_COMPUTING) | ((uint32_t)val & EDU_STATUS_IRQFACT);
        break;
    case EDU_IRQ_RAISE:
        edu_raise_irq(d, (uint32_t)val);
        break;
    case EDU_IRQ_ACK:
        edu_lower_irq(d, (uint32_t)val);
        break;
    case EDU_DMA_SRC:
        if (!(d->dma_cmd & EDU_DMA_RUN)) {
            d->dma_src = size == 4 ? (d->dma_src & ~0xffffffffull) | (uint32_t)val : val;
        }
        break;
    case EDU_DMA_DST:
        if (!(d->dma_cmd & EDU_DMA_RUN)) {
            d->dma_dst = size == 4 ? (d->dma_dst & ~0xffffffffull) | (uint32_t)val : val;
        }
        break;
    case EDU_DMA_CNT:
        if (!(d->dma_cmd & EDU_DMA_RUN)) {
            d->dma_cnt = size == 4 ? (d->dma_cnt & ~0xffffffffull) | (uint32_t)val : val;
        }
        break;
    case EDU_DMA_CMD:
        if (!(val & EDU_DMA_RUN) || (d->dma_cmd & EDU_DMA_RUN)) {
            break;
        }
        d->dma_cmd = size == 4 ? (d->dma_cmd & ~0xffffffffull) | (uint32_t)val : val;
        emu_timer_mod(&d->dma_timer, emu_sim_now(d->sim) + EDU_DMA_DELAY);
        break;
    default:
        break;
    }
}

static const MmioOps edu_mmio_ops = {
    .name = "edu-mmio",
    .read = edu_mmio_read,
    .write = edu_mmio_write,
    .min_access = 4,
    .max_access = 8,
};

static void edu_reset(void *opaque, PcieFn *fn)
{
    EduDevice *d = opaque;
    (void)fn;
    emu_timer_del(&d->dma_timer);
    emu_timer_del(&d->fact_timer);
    d->addr4 = d->fact = d->status = d->irq_status = 0;
    d->dma_src = d->dma_dst = d->dma_cnt = d->dma_cmd = 0;
    memset(d->dma_buf, 0, sizeof d->dma_buf);
}

static void edu_destroy(void *opaque, PcieFn *fn)
{
    EduDevice *d = opaque;
    (void)fn;
    emu_timer_del(&d->dma_timer);
    emu_timer_del(&d->fact_timer);
    g_free(d);
}

static const PcieFnOps edu_fn_ops = {
    .name = "edu",
    .reset = edu_reset,
    .destroy = edu_destroy,
};

EduDevice *edu_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, GError **error)
{
    EduDevice *d = g_new0(EduDevice, 1);
    d->sim = pcie_fabric_sim(f);
    d->fn = pcie_fn_new(f, parent, devfn, PCIE_KIND_PCI_DEVICE, 0x1234, 0x11e8, 0x00ff00,
                        &edu_fn_ops, d, error);
    if (!d->fn) {
        g_free(d);
        return NULL;
    }
    emu_timer_init(&d->dma_timer, d->sim, EVQ_PRIO_DEFAULT, edu_dma_done, d);
    emu_timer_init(&d->fact_timer, d->sim, EVQ_PRIO_DEFAULT, edu_fact_done, d);
    pcie_fn_set(d->fn, PCI_REVISION_ID, 1, 0x10);
    pcie_fn_set(d->fn, PCI_INTERRUPT_PIN, 1, 1);
    pcie_fn_bar_init(d->fn, 0, EDU_BAR_SIZE, PCIE_BAR_MEM32, &edu_mmio_ops, d);
    pcie_cap_msi_init(d->fn, 1, true, false);
    pcie_fn_set_name(d->fn, "edu");
    return d;
}

PcieFn *edu_fn(EduDevice *d)
{
    return d->fn;
}
