/*
 * Interrupt delivery; see irq.h.
 */
#include "platform/platform.h"

struct PlatformIrqState {
    GArray *log;               /* PlatformIrq */
    uint64_t count;
    bool ioapic_level[PLATFORM_IOAPIC_PINS];
    PlatformIntxNotify *notify;
    void *notify_opaque;
};

void platform_irq_init(Platform *p)
{
    p->irq = g_new0(PlatformIrqState, 1);
    p->irq->log = g_array_new(FALSE, FALSE, sizeof(PlatformIrq));
}

void platform_irq_fini(Platform *p)
{
    if (p->irq) {
        g_array_free(p->irq->log, TRUE);
        g_free(p->irq);
        p->irq = NULL;
    }
}

void platform_irq_deliver(Platform *p, uint16_t rid, uint64_t addr, uint32_t data)
{
    PlatformIrqState *s = p->irq;
    PlatformIrq irq = {
        .time = emu_sim_now(p->sim),
        .rid = rid,
        .addr = addr,
        .data = data,
        .dest = (uint8_t)(addr >> 12),
        .vector = (uint8_t)data,
        .delivery = (data >> 8) & 7,
        .level = (data >> 15) & 1,
        .remappable = (addr >> 4) & 1,
    };
    if (s->log->len >= PLATFORM_IRQ_LOG_MAX) {
        g_array_remove_index(s->log, 0);
    }
    g_array_append_val(s->log, irq);
    s->count++;
}

void platform_irq_msi(Platform *p, uint16_t rid, uint64_t addr, uint32_t data)
{
    platform_irq_deliver(p, rid, addr, data);
}

void platform_irq_intx(Platform *p, PcieFn *fn, unsigned root_pin, bool level)
{
    PlatformIrqState *s = p->irq;
    /* PIRQ A..D -> GSI 16..19, by the slot of the root-bus ancestor */
    PcieFn *up = fn;
    while (pcie_fn_parent(up)) {
        up = pcie_fn_parent(up);
    }
    unsigned slot = PCIE_DEV(pcie_fn_rid(up));
    unsigned gsi = 16 + (slot + root_pin - 1) % 4;
    if (s->ioapic_level[gsi] != level) {
        s->ioapic_level[gsi] = level;
        if (s->notify) {
            s->notify(s->notify_opaque, gsi, level);
        }
    }
}

void platform_set_intx_notify(Platform *p, PlatformIntxNotify *fn, void *opaque)
{
    p->irq->notify = fn;
    p->irq->notify_opaque = opaque;
}

const GArray *platform_irq_log(Platform *p)
{
    return p->irq->log;
}

uint64_t platform_irq_count(Platform *p)
{
    return p->irq->count;
}

bool platform_ioapic_level(Platform *p, unsigned gsi)
{
    return gsi < PLATFORM_IOAPIC_PINS && p->irq->ioapic_level[gsi];
}
