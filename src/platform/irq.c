/*
 * Interrupt delivery on the platform; see irq.h.
 *
 * The one routing decision made here is which remapping unit sees a
 * message: the unit whose scope covers the requester ID carried by the
 * message (platform_vtd_for()).  Because the requester ID is the sending
 * function's own - the fabric stamps it on the memory write - a VF's
 * interrupts are validated against the VF's routing ID, and an IRTE whose
 * source validation names the PF rejects them (fault 0x26).
 */
#include <string.h>
#include "platform/platform.h"
#include "models/vtd/vtd.h"
#include "models/ioapic/ioapic.h"
#include "core/sim_internal.h"
#include "inject/inject_hook.h"

struct PlatformIrqState {
    GArray *log;               /* PlatformIrq */
    uint64_t count;
    uint64_t blocked;
    Ioapic *ioapic;
    MemRegion *ioapic_region;
    PlatformIntxNotify *notify;
    void *notify_opaque;
    PlatformIrqObserver *observer;
    void *observer_opaque;
};

static void irq_ioapic_msg(void *opaque, unsigned pin, uint64_t addr, uint32_t data);

void platform_irq_init(Platform *p)
{
    p->irq = g_new0(PlatformIrqState, 1);
    p->irq->log = g_array_new(FALSE, FALSE, sizeof(PlatformIrq));
    p->irq->ioapic = ioapic_new(irq_ioapic_msg, p);
    platform_irq_realize(p);
}

void platform_irq_realize(Platform *p)
{
    PlatformIrqState *s = p->irq;
    if (s->ioapic_region || !p->mem || !p->ioapic_base) {
        return;
    }
    s->ioapic_region = addr_space_add_mmio(p->mem, "ioapic", p->ioapic_base, IOAPIC_MMIO_SIZE,
                                           ioapic_mmio_ops(), s->ioapic, 40);
}

void platform_irq_fini(Platform *p)
{
    if (p->irq) {
        /* the region belongs to p->mem, which is freed before us */
        ioapic_free(p->irq->ioapic);
        g_array_free(p->irq->log, TRUE);
        g_free(p->irq);
        p->irq = NULL;
    }
}

/* ---- the log ------------------------------------------------------------------- */

static void irq_log(Platform *p, const PlatformIrq *irq)
{
    PlatformIrqState *s = p->irq;
    if (s->log->len >= PLATFORM_IRQ_LOG_MAX) {
        g_array_remove_index(s->log, 0);
    }
    g_array_append_val(s->log, *irq);
    s->count++;
    if (s->observer) {
        s->observer(s->observer_opaque, irq);
    }
}

static PlatformIrq irq_base(Platform *p, uint16_t rid, uint64_t addr, uint32_t data, PlatformIrqSource src,
                            int pin)
{
    PlatformIrq irq = {
        .time = emu_sim_now(p->sim),
        .rid = rid,
        .addr = addr,
        .data = data,
        .remappable = (addr >> 4) & 1,
        .source = src,
        .ioapic_pin = pin,
        .irte = -1,
    };
    return irq;
}

/* Compatibility-format decode (Intel SDM vol. 3 11.11.1, 11.11.2). */
static void irq_compat(PlatformIrq *irq)
{
    irq->dest_id = (uint32_t)((irq->addr >> 12) & 0xff);
    irq->dest = (uint8_t)irq->dest_id;
    irq->logical = (irq->addr >> 2) & 1;
    irq->rh = (irq->addr >> 3) & 1;
    irq->vector = (uint8_t)irq->data;
    irq->delivery = (irq->data >> 8) & 7;
    irq->level = (irq->data >> 15) & 1;
}

/* ---- routing --------------------------------------------------------------------- */

static void irq_route(Platform *p, uint16_t rid, uint64_t addr, uint32_t data, PlatformIrqSource src, int pin)
{
    platform_irq_realize(p);
    PlatformIrq irq = irq_base(p, rid, addr, data, src, pin);
    PlatformVtd *v = platform_vtd_for(p, rid);
    if (!v) {
        irq.path = PLATFORM_IRQ_DIRECT;
        irq_compat(&irq);
        irq_log(p, &irq);
        return;
    }
    VtdIrResult r;
    switch (vtd_unit_remap_interrupt(v->unit, rid, addr, data, &r)) {
    case VTD_IR_BLOCKED:
        p->irq->blocked++;
        return;
    case VTD_IR_DELIVER:
        if (!r.remapped) {
            bool ire = false;
            vtd_unit_ir_state(v->unit, NULL, &ire, NULL);
            irq.path = ire ? PLATFORM_IRQ_COMPAT : PLATFORM_IRQ_DIRECT;
            irq.unit = ire ? v->name : NULL;
            irq_compat(&irq);
            irq_log(p, &irq);
            return;
        }
        irq.path = PLATFORM_IRQ_REMAPPED;
        irq.unit = v->name;
        irq.irte = (int32_t)r.index;
        irq.iec_hit = r.iec_hit;
        irq.dest_id = r.dest;
        irq.dest = (uint8_t)r.dest;
        irq.x2apic = r.x2apic;
        irq.vector = r.vector;
        irq.delivery = r.dlm;
        irq.logical = r.logical;
        irq.rh = r.rh;
        irq.level = r.level;
        irq_log(p, &irq);
        return;
    case VTD_IR_POSTED:
        irq.path = PLATFORM_IRQ_POSTED;
        irq.unit = v->name;
        irq.irte = (int32_t)r.index;
        irq.iec_hit = r.iec_hit;
        irq.vector = r.vv;
        irq.pda = r.pda;
        irq.urgent = r.urgent;
        irq.x2apic = r.x2apic;
        irq_log(p, &irq);
        if (r.notify) {
            /* The notification event: a physical, fixed, edge interrupt with NV to NDST. */
            PlatformIrq n = irq;
            n.path = PLATFORM_IRQ_NOTIFY;
            n.vector = r.nv;
            n.dest_id = r.ndst;
            n.dest = (uint8_t)r.ndst;
            n.delivery = 0;
            n.level = false;
            n.logical = false;
            n.rh = false;
            n.urgent = false;
            irq_log(p, &n);
        }
        return;
    }
}

void platform_irq_msi(Platform *p, uint16_t rid, uint64_t addr, uint32_t data)
{
    /* fault injection (src/inject/inject_hook.h): lost or duplicated MSIs */
    InjectHooks *ih = emu_sim_lookup(p->sim, INJECT_HOOKS_NAME);
    unsigned n = ih && ih->msi ? ih->msi(ih->opaque, rid, addr, data) : 1;
    for (unsigned i = 0; i < n; i++) {
        irq_route(p, rid, addr, data, PLATFORM_IRQ_SRC_MSI, -1);
    }
    if (ih && ih->msi_done) {
        ih->msi_done(ih->opaque);
    }
}

void platform_irq_deliver(Platform *p, uint16_t rid, uint64_t addr, uint32_t data)
{
    platform_irq_realize(p);
    PlatformIrq irq = irq_base(p, rid, addr, data, PLATFORM_IRQ_SRC_VTD, -1);
    irq.path = PLATFORM_IRQ_UNIT_EVENT;
    irq_compat(&irq);
    irq_log(p, &irq);
}

static void irq_ioapic_msg(void *opaque, unsigned pin, uint64_t addr, uint32_t data)
{
    irq_route(opaque, PLATFORM_IOAPIC_SID, addr, data, PLATFORM_IRQ_SRC_IOAPIC, (int)pin);
}

/* ---- INTx and the IOAPIC ------------------------------------------------------------ */

void platform_irq_set_gsi(Platform *p, unsigned gsi, bool level)
{
    PlatformIrqState *s = p->irq;
    platform_irq_realize(p);
    if (gsi >= PLATFORM_IOAPIC_PINS || ioapic_input(s->ioapic, gsi) == level) {
        return;
    }
    /* observers first: QEMU's qtest reports the input before the resulting message */
    if (s->notify) {
        s->notify(s->notify_opaque, gsi, level);
    }
    ioapic_set_irq(s->ioapic, gsi, level);
}

unsigned platform_intx_gsi(PcieFn *fn, unsigned root_pin)
{
    /* PIRQ A..D -> GSI 16..19, by the slot of the root-bus ancestor */
    PcieFn *up = fn;
    while (pcie_fn_parent(up)) {
        up = pcie_fn_parent(up);
    }
    unsigned slot = PCIE_DEV(pcie_fn_rid(up));
    /*
     * QEMU's q35 (ICH9) routes root-bus slots to PIRQ E..H, i.e. GSI 20..23:
     * edu at 00:01.0 INTA raises GSI 21 there, and so here.
     */
    return 20 + (slot + root_pin - 1) % 4;
}

void platform_irq_intx(Platform *p, PcieFn *fn, unsigned root_pin, bool level)
{
    platform_irq_set_gsi(p, platform_intx_gsi(fn, root_pin), level);
}

void platform_irq_eoi(Platform *p, uint8_t vector)
{
    platform_irq_realize(p);
    ioapic_eoi(p->irq->ioapic, vector);
}

void platform_set_intx_notify(Platform *p, PlatformIntxNotify *fn, void *opaque)
{
    platform_irq_realize(p);
    p->irq->notify = fn;
    p->irq->notify_opaque = opaque;
}

void platform_set_irq_observer(Platform *p, PlatformIrqObserver *fn, void *opaque)
{
    platform_irq_realize(p);
    p->irq->observer = fn;
    p->irq->observer_opaque = opaque;
}

/* ---- queries ------------------------------------------------------------------------------ */

const GArray *platform_irq_log(Platform *p)
{
    platform_irq_realize(p);
    return p->irq->log;
}

uint64_t platform_irq_count(Platform *p)
{
    platform_irq_realize(p);
    return p->irq->count;
}

uint64_t platform_irq_blocked(Platform *p)
{
    return p->irq->blocked;
}

void platform_irq_log_clear(Platform *p)
{
    g_array_set_size(p->irq->log, 0);
}

bool platform_ioapic_level(Platform *p, unsigned gsi)
{
    platform_irq_realize(p);
    return ioapic_input(p->irq->ioapic, gsi);
}

Ioapic *platform_ioapic(Platform *p)
{
    platform_irq_realize(p);
    return p->irq->ioapic;
}

const char *platform_irq_path_name(PlatformIrqPath path)
{
    switch (path) {
    case PLATFORM_IRQ_DIRECT:
        return "direct";
    case PLATFORM_IRQ_COMPAT:
        return "compat";
    case PLATFORM_IRQ_REMAPPED:
        return "remapped";
    case PLATFORM_IRQ_POSTED:
        return "posted";
    case PLATFORM_IRQ_NOTIFY:
        return "notify";
    case PLATFORM_IRQ_UNIT_EVENT:
        return "unit-event";
    }
    return "?";
}

void platform_irq_format(const PlatformIrq *irq, GString *out)
{
    static const char *const dlm[8] = { "fixed", "lowest", "smi", "rsvd3", "nmi", "init", "rsvd6", "extint" };
    g_string_append_printf(out, "t=%" G_GUINT64_FORMAT " rid=%02x:%02x.%x %s", (guint64)irq->time,
                           irq->rid >> 8, (irq->rid >> 3) & 0x1f, irq->rid & 7,
                           platform_irq_path_name(irq->path));
    if (irq->source == PLATFORM_IRQ_SRC_IOAPIC) {
        g_string_append_printf(out, " ioapic-pin=%d", irq->ioapic_pin);
    }
    g_string_append_printf(out, " vec=0x%02x", irq->vector);
    if (irq->path == PLATFORM_IRQ_POSTED) {
        g_string_append_printf(out, " pda=0x%" G_GINT64_MODIFIER "x%s", (guint64)irq->pda,
                               irq->urgent ? " urgent" : "");
    } else {
        g_string_append_printf(out, " dest=%s0x%x %s %s %s", irq->x2apic ? "x2apic:" : "", irq->dest_id,
                               irq->logical ? "logical" : "physical", dlm[irq->delivery & 7],
                               irq->level ? "level" : "edge");
    }
    if (irq->irte >= 0) {
        g_string_append_printf(out, " via %s IRTE %d%s", irq->unit ? irq->unit : "?", irq->irte,
                               irq->iec_hit ? " (IEC hit)" : "");
    }
    g_string_append_c(out, '\n');
}
