/*
 * Tests of interrupt delivery on the platform (src/platform/irq.c) and of
 * the IOAPIC model (models/ioapic), end to end: PCIe functions raise
 * MSI/MSI-X (with the fabric's masking and pending bits) and INTx, the
 * IOAPIC turns INTx into compatibility- or remappable-format messages,
 * the VT-d unit remaps, posts or blocks them, and the local-APIC-side
 * log shows what arrived.  The unit is programmed through its registers
 * in system memory, as a driver would (IRTEs in DRAM, IEC invalidations
 * through the invalidation queue).
 *
 * The last test is a differential check against QEMU 7.2
 * (intel-iommu,intremap=on; accel qtest): fault records produced by edu's
 * MSIs through interrupt remapping.  It passes with a note when
 * qemu-system-x86_64 is not installed.
 */
#include <string.h>
#include <unistd.h>
#include "check_util.h"
#include "vtdsim/vtdsim.h"
#include "platform/platform.h"
#include "models/vtd/vtd.h"
#include "models/ioapic/ioapic.h"

#define VTD_BASE UINT64_C(0xFED90000)
#define IOAPIC_BASE UINT64_C(0xFEC00000)
#define IQ_BASE 0x40000
#define IRT_BASE 0x100000
#define PID_BASE 0x200000
#define VF_BAR UINT64_C(0x9000000000)

static const char ir_platform[] =
    "[platform]\nname = irq\nfirmware = full\n"
    "[device edu]\ntype = edu\nbdf = 00:01.0\n"
    "[device nic]\ntype = endpoint\nbdf = 00:03.0\nmsix = 4\nmsi = 4\nmsi-64bit = true\n"
    "msi-maskable = true\n"
    "[device sr]\ntype = endpoint\nbdf = 00:04.0\nmsix = 2\nsriov-total-vfs = 2\n"
    "sriov-offset = 16\nsriov-stride = 1\nsriov-vf-bar0 = mem64:16K\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon-bdw\nscope = all\n";

typedef struct Fx {
    EmuSim *sim;
    Platform *p;
    uint64_t tail;
} Fx;

static Fx *fx_new(const char *text)
{
    Fx *f = g_new0(Fx, 1);
    GError *err = NULL;
    f->sim = text ? vtdsim_platform_new_from_data(text, "irq.platform", &err) : vtdsim_platform_new(NULL, &err);
    ck_assert_msg(f->sim != NULL, "%s", err ? err->message : "");
    f->p = platform_get(f->sim);
    /*
     * Maps the IOAPIC window now: platform_irq_init() runs before the
     * system memory space exists (see docs/interrupt-remapping.md); a no-op
     * once platform.c calls platform_irq_realize() itself.
     */
    platform_irq_realize(f->p);
    return f;
}

static void fx_free(Fx *f)
{
    emu_sim_free(f->sim);
    g_free(f);
}

static void w32(Fx *f, uint64_t a, uint32_t v)
{
    ck_assert_int_eq(addr_space_write(f->p->mem, a, 4, v), MEMTX_OK);
}

static void w64(Fx *f, uint64_t a, uint64_t v)
{
    ck_assert_int_eq(addr_space_write(f->p->mem, a, 8, v), MEMTX_OK);
}

static uint64_t r32(Fx *f, uint64_t a)
{
    uint64_t v;
    ck_assert_int_eq(addr_space_read(f->p->mem, a, 4, &v), MEMTX_OK);
    return v;
}

static uint64_t r64(Fx *f, uint64_t a)
{
    uint64_t v;
    ck_assert_int_eq(addr_space_read(f->p->mem, a, 8, &v), MEMTX_OK);
    return v;
}

static void gcmd(Fx *f, uint32_t set)
{
    uint32_t v = (uint32_t)r32(f, VTD_BASE + 0x1c) & 0x96ffffffu;
    w32(f, VTD_BASE + 0x18, v | set);
}

/* Queued invalidation on, a 256-entry table at IRT_BASE (x2APIC mode), IR enabled. */
static void ir_enable(Fx *f)
{
    w64(f, VTD_BASE + 0x90, IQ_BASE);
    gcmd(f, VTD_GCMD_QIE);
    w64(f, VTD_BASE + 0xb8, IRT_BASE | 0x800 | 7);
    gcmd(f, VTD_GCMD_SIRTP);
    gcmd(f, VTD_GCMD_IRE);
    ck_assert_uint_eq(r32(f, VTD_BASE + 0x1c) & (VTD_GSTS_IRES | VTD_GSTS_QIES | VTD_GSTS_IRTPS),
                      VTD_GSTS_IRES | VTD_GSTS_QIES | VTD_GSTS_IRTPS);
}

static void put_irte(Fx *f, unsigned index, VtdIrte e)
{
    w64(f, IRT_BASE + 16 * index, e.val[0]);
    w64(f, IRT_BASE + 16 * index + 8, e.val[1]);
}

static void iec_index(Fx *f, uint16_t index)
{
    w64(f, IQ_BASE + f->tail, 0x4 | 0x10 | ((uint64_t)index << 32));
    w64(f, IQ_BASE + f->tail + 8, 0);
    f->tail += 16;
    w64(f, VTD_BASE + 0x88, f->tail);
    ck_assert_uint_eq(r64(f, VTD_BASE + 0x80), f->tail);
}

/* An IRTE that only @sid may use (SVT=01, SQ=00). */
static VtdIrte irte_for(uint16_t sid, uint8_t vector, uint32_t dest, bool level)
{
    VtdIrte e = vtd_irte_remapped(vector, dest, false, VTD_DLM_FIXED, level, false, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, sid);
    return e;
}

static const PlatformIrq *last_irq(Fx *f)
{
    const GArray *log = platform_irq_log(f->p);
    ck_assert_uint_gt(log->len, 0);
    return &g_array_index(log, PlatformIrq, log->len - 1);
}

static VtdFaultRecord fault_record(Fx *f, unsigned i)
{
    VtdFaultRecord r;
    PlatformVtd *v = g_ptr_array_index(f->p->vtd, 0);
    vtd_unit_fault_record(v->unit, i, &r);
    return r;
}

/* MSI-X of @fn: entry @v targets remappable @handle; unmasked; MSI-X enabled. */
static void msix_program(Fx *f, PcieFn *fn, unsigned v, uint16_t handle)
{
    uint64_t bar = pcie_fn_bar_addr(fn, 0);
    ck_assert_uint_ne(bar, PCIE_BAR_UNMAPPED);
    w32(f, bar + 16 * v, vtd_msi_remappable_addr(handle, false));
    w32(f, bar + 16 * v + 4, 0);
    w32(f, bar + 16 * v + 8, 0);
    w32(f, bar + 16 * v + 12, 0);
    uint8_t cap = pcie_fn_find_cap(fn, 0x11);
    ck_assert_uint_ne(cap, 0);
    uint32_t ctrl = pcie_fn_config_read(fn, cap + 2, 2);
    pcie_fn_config_write(fn, cap + 2, 2, ctrl | 0x8000);
}

/* ---- MSI-X through remapping ---------------------------------------------------------- */

START_TEST(test_msix_remapped_mask_pending)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    PcieFn *nic = platform_find_device(f->p, "nic");
    uint16_t rid = pcie_fn_rid(nic);
    ck_assert_uint_eq(rid, 0x0018);
    put_irte(f, 5, irte_for(rid, 0x55, 0x103, false));
    put_irte(f, 6, irte_for(rid, 0x66, 0x104, false));
    msix_program(f, nic, 0, 5);
    msix_program(f, nic, 1, 6);
    uint64_t bar = pcie_fn_bar_addr(nic, 0);
    uint64_t pba = bar + 0x2000;

    pcie_fn_msi_notify(nic, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    const PlatformIrq *irq = last_irq(f);
    ck_assert_int_eq(irq->path, PLATFORM_IRQ_REMAPPED);
    ck_assert_int_eq(irq->source, PLATFORM_IRQ_SRC_MSI);
    ck_assert_uint_eq(irq->rid, 0x0018);
    ck_assert_int_eq(irq->irte, 5);
    ck_assert_str_eq(irq->unit, "dmar0");
    ck_assert_uint_eq(irq->vector, 0x55);
    ck_assert_uint_eq(irq->dest_id, 0x103);
    ck_assert_uint_eq(irq->dest, 0x03);
    ck_assert(irq->x2apic && irq->remappable && !irq->level && !irq->iec_hit);
    ck_assert_uint_eq(irq->addr, vtd_msi_remappable_addr(5, false));
    ck_assert_int_eq(irq->ioapic_pin, -1);

    /* vector mask: pending bit, nothing delivered */
    w32(f, bar + 12, 1);
    pcie_fn_msi_notify(nic, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    ck_assert_uint_eq(r32(f, pba), 0x1);
    /* re-target IRTE 5 meanwhile, with the IEC invalidation software owes */
    put_irte(f, 5, irte_for(rid, 0x56, 0x105, false));
    iec_index(f, 5);
    /* unmask: the pending message goes out through the new IRTE, the PBA clears */
    w32(f, bar + 12, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert_uint_eq(r32(f, pba), 0);
    irq = last_irq(f);
    ck_assert_uint_eq(irq->vector, 0x56);
    ck_assert_uint_eq(irq->dest_id, 0x105);

    /* function mask: vector 1 pends, clearing the function mask sends it */
    uint8_t cap = pcie_fn_find_cap(nic, 0x11);
    pcie_fn_config_write(nic, cap + 2, 2, 0x8000 | 0x4000);
    pcie_fn_msi_notify(nic, 1);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert_uint_eq(r32(f, pba), 0x2);
    pcie_fn_config_write(nic, cap + 2, 2, 0x8000);
    ck_assert_uint_eq(platform_irq_count(f->p), 3);
    irq = last_irq(f);
    ck_assert_int_eq(irq->irte, 6);
    ck_assert_uint_eq(irq->vector, 0x66);

    /* an entry pointing at a not-present IRTE: blocked, fault recorded with the index */
    msix_program(f, nic, 2, 200);
    pcie_fn_msi_notify(nic, 2);
    ck_assert_uint_eq(platform_irq_count(f->p), 3);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 1);
    VtdFaultRecord rec = fault_record(f, 0);
    ck_assert_uint_eq(vtd_frcd_FR(&rec), 0x22);
    ck_assert_uint_eq(vtd_frcd_SID(&rec), 0x0018);
    ck_assert_uint_eq(vtd_frcd_IIDX(&rec), 200);
    fx_free(f);
}
END_TEST

/* MSI with 4 messages and SHV: vector v selects IRTE handle + v; per-vector masking. */
START_TEST(test_msi_multi_message_shv)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    PcieFn *nic = platform_find_device(f->p, "nic");
    uint16_t rid = pcie_fn_rid(nic);
    for (unsigned v = 0; v < 4; v++) {
        put_irte(f, 16 + v, irte_for(rid, (uint8_t)(0x70 + v), 1, false));
    }
    uint8_t c = pcie_fn_find_cap(nic, 0x05);
    ck_assert_uint_ne(c, 0);
    pcie_fn_config_write(nic, c + 4, 4, vtd_msi_remappable_addr(16, true));
    pcie_fn_config_write(nic, c + 8, 4, 0);
    pcie_fn_config_write(nic, c + 12, 2, 0);                 /* subhandle base 0 */
    pcie_fn_config_write(nic, c + 2, 2, (2u << 4) | 1);       /* 4 messages, enable */
    for (unsigned v = 0; v < 4; v++) {
        pcie_fn_msi_notify(nic, v);
        const PlatformIrq *irq = last_irq(f);
        ck_assert_int_eq(irq->path, PLATFORM_IRQ_REMAPPED);
        ck_assert_int_eq(irq->irte, (int)(16 + v));
        ck_assert_uint_eq(irq->vector, 0x70 + v);
        ck_assert_uint_eq(irq->data, v);
    }
    /* mask vector 2: pending; unmask: delivered through IRTE 18 */
    pcie_fn_config_write(nic, c + 0x10, 4, 0x4);
    pcie_fn_msi_notify(nic, 2);
    ck_assert_uint_eq(platform_irq_count(f->p), 4);
    ck_assert_uint_eq(pcie_fn_config_read(nic, c + 0x14, 4), 0x4);
    pcie_fn_config_write(nic, c + 0x10, 4, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 5);
    ck_assert_int_eq(last_irq(f)->irte, 18);
    ck_assert_uint_eq(pcie_fn_config_read(nic, c + 0x14, 4), 0);
    fx_free(f);
}
END_TEST

/* ---- VFs carry their own requester ID -------------------------------------------------- */

static PcieFn *vf_enable(Fx *f, PcieFn *pf)
{
    uint16_t c = pcie_fn_find_ext_cap(pf, 0x0010);
    ck_assert_uint_ne(c, 0);
    pcie_fn_config_write(pf, c + 0x10, 2, 2);                       /* NumVFs */
    pcie_fn_config_write(pf, c + 0x24, 4, (uint32_t)VF_BAR | 0xc);  /* VF BAR0 (64-bit, prefetchable bits RO) */
    pcie_fn_config_write(pf, c + 0x28, 4, (uint32_t)(VF_BAR >> 32));
    pcie_fn_config_write(pf, c + 0x08, 2, 0x1 | 0x8);               /* VF Enable, VF MSE */
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 2);
    for (unsigned i = 0; i < 2; i++) {
        PcieFn *vf = pcie_fn_vf(pf, i);
        pcie_fn_config_write(vf, 4, 2, 0x4);                        /* Bus Master Enable */
    }
    (void)f;
    return pcie_fn_vf(pf, 0);
}

START_TEST(test_vf_cannot_pass_as_pf)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    PcieFn *pf = platform_find_device(f->p, "sr");
    PcieFn *vf0 = vf_enable(f, pf), *vf1 = pcie_fn_vf(pf, 1);
    uint16_t pf_rid = pcie_fn_rid(pf), vf0_rid = pcie_fn_rid(vf0), vf1_rid = pcie_fn_rid(vf1);
    ck_assert_uint_eq(pf_rid, 0x0020);
    ck_assert_uint_eq(vf0_rid, 0x0030);
    ck_assert_uint_eq(vf1_rid, 0x0031);
    /* IRTE 30 belongs to the PF; the VF aims its MSI-X at it */
    put_irte(f, 30, irte_for(pf_rid, 0x30, 1, false));
    msix_program(f, vf0, 0, 30);
    msix_program(f, pf, 0, 30);
    pcie_fn_msi_notify(vf0, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 0);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 1);
    VtdFaultRecord rec = fault_record(f, 0);
    ck_assert_uint_eq(vtd_frcd_FR(&rec), 0x26);
    ck_assert_uint_eq(vtd_frcd_SID(&rec), vf0_rid);
    ck_assert_uint_eq(vtd_frcd_IIDX(&rec), 30);
    /* the PF itself passes */
    pcie_fn_msi_notify(pf, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    ck_assert_uint_eq(last_irq(f)->rid, pf_rid);
    /* SQ=11 (function bits ignored) with the VF0 SID admits VF1 (same device), still not the PF */
    VtdIrte e = vtd_irte_remapped(0x31, 1, false, 0, false, false, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 3, vf0_rid);
    put_irte(f, 31, e);
    msix_program(f, vf1, 0, 31);
    msix_program(f, pf, 1, 31);
    pcie_fn_msi_notify(vf1, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert_uint_eq(last_irq(f)->rid, vf1_rid);
    ck_assert_uint_eq(last_irq(f)->vector, 0x31);
    pcie_fn_msi_notify(pf, 1);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 2);
    /* a bus range covering bus 0 admits all of them */
    vtd_irte_set_source(&e, VTD_SVT_BUS_RANGE, 0, 0x0000);
    put_irte(f, 31, e);
    iec_index(f, 31);
    pcie_fn_msi_notify(pf, 1);
    pcie_fn_msi_notify(vf1, 0);
    ck_assert_uint_eq(platform_irq_count(f->p), 4);
    fx_free(f);
}
END_TEST

/* ---- posted interrupts on the platform ------------------------------------------------------- */

START_TEST(test_posted_and_notification)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    PcieFn *nic = platform_find_device(f->p, "nic");
    for (unsigned i = 0; i < 8; i++) {
        w64(f, PID_BASE + 8 * i, 0);
    }
    w64(f, PID_BASE + 32, (UINT64_C(0x7) << 32) | (0xf2u << 16));   /* NDST 7, NV 0xf2 */
    VtdIrte e = vtd_irte_posted(0x60, PID_BASE, false);
    vtd_irte_set_source(&e, VTD_SVT_SID, 0, pcie_fn_rid(nic));
    put_irte(f, 50, e);
    msix_program(f, nic, 3, 50);
    pcie_fn_msi_notify(nic, 3);
    const GArray *log = platform_irq_log(f->p);
    ck_assert_uint_eq(log->len, 2);
    const PlatformIrq *a = &g_array_index(log, PlatformIrq, 0), *b = &g_array_index(log, PlatformIrq, 1);
    ck_assert_int_eq(a->path, PLATFORM_IRQ_POSTED);
    ck_assert_uint_eq(a->vector, 0x60);
    ck_assert_uint_eq(a->pda, PID_BASE);
    ck_assert_int_eq(a->irte, 50);
    ck_assert_int_eq(b->path, PLATFORM_IRQ_NOTIFY);
    ck_assert_uint_eq(b->vector, 0xf2);
    ck_assert_uint_eq(b->dest_id, 7);
    ck_assert(!b->level && !b->logical && b->delivery == 0);
    ck_assert_uint_eq(r64(f, PID_BASE + 8), UINT64_C(1) << 32);   /* PIR[0x60] */
    ck_assert_uint_eq(r64(f, PID_BASE + 32) & 1, 1);                /* ON */
    /* coalescing: ON is still set, the second posting notifies nobody */
    pcie_fn_msi_notify(nic, 3);
    ck_assert_uint_eq(log->len, 3);
    ck_assert_int_eq(last_irq(f)->path, PLATFORM_IRQ_POSTED);
    GString *s = g_string_new(NULL);
    /* the log may have grown (and moved) since b was taken: index it again */
    platform_irq_format(&g_array_index(log, PlatformIrq, log->len - 2), s);
    ck_assert_str_eq(s->str, "t=0 rid=00:03.0 notify vec=0xf2 dest=x2apic:0x7 physical fixed edge via dmar0 IRTE 50\n");
    g_string_free(s, TRUE);
    fx_free(f);
}
END_TEST

/* ---- the IOAPIC ----------------------------------------------------------------------------- */

static void ioapic_write_rte(Fx *f, unsigned pin, uint64_t rte)
{
    w32(f, IOAPIC_BASE, IOAPIC_REG_RTE(pin) + 1);
    w32(f, IOAPIC_BASE + 0x10, (uint32_t)(rte >> 32));
    w32(f, IOAPIC_BASE, IOAPIC_REG_RTE(pin));
    w32(f, IOAPIC_BASE + 0x10, (uint32_t)rte);
}

static uint64_t ioapic_read_rte(Fx *f, unsigned pin)
{
    w32(f, IOAPIC_BASE, IOAPIC_REG_RTE(pin));
    uint64_t lo = r32(f, IOAPIC_BASE + 0x10);
    w32(f, IOAPIC_BASE, IOAPIC_REG_RTE(pin) + 1);
    return lo | (r32(f, IOAPIC_BASE + 0x10) << 32);
}

START_TEST(test_ioapic_registers)
{
    Fx *f = fx_new(NULL);
    w32(f, IOAPIC_BASE, IOAPIC_REG_VER);
    ck_assert_uint_eq(r32(f, IOAPIC_BASE + 0x10), 0x00170020);
    for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
        ck_assert_uint_eq(ioapic_read_rte(f, pin), IOAPIC_RTE_MASK);
    }
    w32(f, IOAPIC_BASE, IOAPIC_REG_ID);
    w32(f, IOAPIC_BASE + 0x10, 0xffffffff);
    ck_assert_uint_eq(r32(f, IOAPIC_BASE + 0x10), 0x0f000000);
    /* Remote IRR and Delivery Status are read-only */
    ioapic_write_rte(f, 3, UINT64_C(0xffffffffffffffff));
    ck_assert_uint_eq(ioapic_read_rte(f, 3), UINT64_C(0xffffffffffffafff));
    /* IOREGSEL keeps 8 bits; an index past the table reads 0 */
    w32(f, IOAPIC_BASE, 0x1ff);
    ck_assert_uint_eq(r32(f, IOAPIC_BASE), 0xff);
    ck_assert_uint_eq(r32(f, IOAPIC_BASE + 0x10), 0);
    fx_free(f);
}
END_TEST

/* Without remapping: a compatibility RTE, an edge and a level interrupt with Remote IRR and EOI. */
START_TEST(test_ioapic_compat_level_eoi)
{
    Fx *f = fx_new(NULL);   /* built-in q35: IR off */
    Platform *p = f->p;
    ioapic_write_rte(f, 5, ioapic_rte_compat(0x02, 0x35, VTD_DLM_FIXED, false, false, true));
    platform_irq_set_gsi(p, 5, true);
    const PlatformIrq *irq = last_irq(f);
    ck_assert_int_eq(irq->path, PLATFORM_IRQ_DIRECT);
    ck_assert_int_eq(irq->source, PLATFORM_IRQ_SRC_IOAPIC);
    ck_assert_int_eq(irq->ioapic_pin, 5);
    ck_assert_uint_eq(irq->rid, PLATFORM_IOAPIC_SID);
    ck_assert_uint_eq(irq->addr, 0xfee02000);
    ck_assert_uint_eq(irq->data, 0x4035);
    ck_assert_uint_eq(irq->dest, 2);
    ck_assert_uint_eq(irq->vector, 0x35);
    ck_assert(!irq->level);
    /* edge: only rising edges count */
    platform_irq_set_gsi(p, 5, true);
    ck_assert_uint_eq(platform_irq_count(p), 1);
    platform_irq_set_gsi(p, 5, false);
    platform_irq_set_gsi(p, 5, true);
    ck_assert_uint_eq(platform_irq_count(p), 2);

    /* level, logical destination 0x0c, lowest priority */
    ioapic_write_rte(f, 9, ioapic_rte_compat(0x0c, 0x49, VTD_DLM_LOWEST, true, true, true));
    platform_irq_set_gsi(p, 9, true);
    ck_assert_uint_eq(platform_irq_count(p), 3);
    irq = last_irq(f);
    ck_assert(irq->level && irq->logical);
    ck_assert_uint_eq(irq->delivery, VTD_DLM_LOWEST);
    ck_assert_uint_eq(irq->data, 0xc149);
    ck_assert_uint_eq(ioapic_read_rte(f, 9) & IOAPIC_RTE_REMOTE_IRR, IOAPIC_RTE_REMOTE_IRR);
    /* still asserted, Remote IRR set: nothing new until EOI */
    platform_irq_set_gsi(p, 9, false);
    platform_irq_set_gsi(p, 9, true);
    ck_assert_uint_eq(platform_irq_count(p), 3);
    platform_irq_eoi(p, 0x48);                 /* another vector: no effect */
    ck_assert_uint_eq(platform_irq_count(p), 3);
    w32(f, IOAPIC_BASE + 0x40, 0x49);          /* EOI register: line still high, fires again */
    ck_assert_uint_eq(platform_irq_count(p), 4);
    platform_irq_set_gsi(p, 9, false);
    platform_irq_eoi(p, 0x49);
    ck_assert_uint_eq(platform_irq_count(p), 4);
    ck_assert_uint_eq(ioapic_read_rte(f, 9) & IOAPIC_RTE_REMOTE_IRR, 0);
    /* masked level input: fires when unmasked */
    ioapic_write_rte(f, 10, ioapic_rte_compat(0x01, 0x4a, 0, false, true, false));
    platform_irq_set_gsi(p, 10, true);
    ck_assert_uint_eq(platform_irq_count(p), 4);
    ioapic_write_rte(f, 10, ioapic_rte_compat(0x01, 0x4a, 0, false, true, true));
    ck_assert_uint_eq(platform_irq_count(p), 5);
    ck_assert_uint_eq(last_irq(f)->vector, 0x4a);
    fx_free(f);
}
END_TEST

/* edu's INTx through the IOAPIC's remappable-format RTE and IRTE 40, end to end. */
START_TEST(test_ioapic_remappable_end_to_end)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    PcieFn *edu = platform_find_device(f->p, "edu");
    uint64_t bar = pcie_fn_bar_addr(edu, 0);
    ck_assert_uint_ne(bar, PCIE_BAR_UNMAPPED);
    unsigned gsi = platform_intx_gsi(edu, 1);   /* slot 1, INTA */
    put_irte(f, 40, irte_for(PLATFORM_IOAPIC_SID, 0x90, 0x2, true));
    uint64_t rte = ioapic_rte_remappable(40, 0x90, true, true);
    ck_assert_uint_eq(rte, (UINT64_C(40) << 49) | (UINT64_C(1) << 48) | 0x8090);
    ioapic_write_rte(f, gsi, rte);
    w32(f, bar + 0x60, 1);                   /* edu raises INTx */
    ck_assert(platform_ioapic_level(f->p, gsi));
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    const PlatformIrq *irq = last_irq(f);
    ck_assert_int_eq(irq->path, PLATFORM_IRQ_REMAPPED);
    ck_assert_int_eq(irq->source, PLATFORM_IRQ_SRC_IOAPIC);
    ck_assert_int_eq(irq->ioapic_pin, (int)gsi);
    ck_assert_uint_eq(irq->rid, 0xF0F8);
    ck_assert_uint_eq(irq->addr, 0xfee00000u | (40u << 5) | 0x10);
    ck_assert_uint_eq(irq->data, 0x8090);
    ck_assert_int_eq(irq->irte, 40);
    ck_assert_uint_eq(irq->vector, 0x90);
    ck_assert_uint_eq(irq->dest_id, 2);
    ck_assert(irq->level);
    /* Remote IRR holds further messages while edu keeps the line up */
    w32(f, bar + 0x60, 2);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    platform_irq_eoi(f->p, 0x90);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert(last_irq(f)->iec_hit);
    /* the driver acknowledges edu, then EOIs: nothing more */
    w32(f, bar + 0x64, 3);
    ck_assert(!platform_ioapic_level(f->p, gsi));
    platform_irq_eoi(f->p, 0x90);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    /* an IRTE that names edu instead of the IOAPIC: blocked with the IOAPIC's SID in the record */
    put_irte(f, 41, irte_for(pcie_fn_rid(edu), 0x91, 0x2, true));
    ioapic_write_rte(f, gsi, ioapic_rte_remappable(41, 0x91, true, true));
    w32(f, bar + 0x60, 1);
    ck_assert_uint_eq(platform_irq_count(f->p), 2);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 1);
    VtdFaultRecord rec = fault_record(f, 0);
    ck_assert_uint_eq(vtd_frcd_FR(&rec), 0x26);
    ck_assert_uint_eq(vtd_frcd_SID(&rec), 0xF0F8);
    ck_assert_uint_eq(vtd_frcd_IIDX(&rec), 41);
    /* index bit 15 travels in RTE bit 11 */
    ck_assert_uint_eq(ioapic_rte_remappable(0x8001, 0x20, false, true),
                      (UINT64_C(1) << 49) | (UINT64_C(1) << 48) | (1u << 11) | 0x20);
    fx_free(f);
}
END_TEST

/* The unit's fault event is delivered, never remapped, even with compatibility format blocked. */
START_TEST(test_unit_events_bypass_remapping)
{
    Fx *f = fx_new(ir_platform);
    ir_enable(f);
    ck_assert_uint_eq(r32(f, VTD_BASE + 0x1c) & VTD_GSTS_CFIS, 0);
    w32(f, VTD_BASE + 0x3c, 0x44);
    w32(f, VTD_BASE + 0x40, 0xfee03000);
    w32(f, VTD_BASE + 0x38, 0);
    PcieFn *nic = platform_find_device(f->p, "nic");
    msix_program(f, nic, 0, 9);              /* IRTE 9 not present */
    pcie_fn_msi_notify(nic, 0);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 1);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    const PlatformIrq *irq = last_irq(f);
    ck_assert_int_eq(irq->path, PLATFORM_IRQ_UNIT_EVENT);
    ck_assert_int_eq(irq->source, PLATFORM_IRQ_SRC_VTD);
    ck_assert_uint_eq(irq->rid, 0);
    ck_assert_uint_eq(irq->vector, 0x44);
    ck_assert_uint_eq(irq->dest, 3);
    /* a device's compatibility-format MSI is blocked (0x25) */
    uint64_t bar = pcie_fn_bar_addr(nic, 0);
    w32(f, bar, 0xfee03000);
    pcie_fn_msi_notify(nic, 0);
    ck_assert_uint_eq(platform_irq_blocked(f->p), 2);
    VtdFaultRecord rec = fault_record(f, 1);
    ck_assert_uint_eq(vtd_frcd_FR(&rec), 0x25);
    /* ... and passes once CFI is set in xAPIC mode */
    w64(f, VTD_BASE + 0xb8, IRT_BASE | 7);
    gcmd(f, VTD_GCMD_SIRTP);
    gcmd(f, VTD_GCMD_CFI);
    pcie_fn_msi_notify(nic, 0);
    irq = last_irq(f);
    ck_assert_int_eq(irq->path, PLATFORM_IRQ_COMPAT);
    ck_assert_uint_eq(irq->dest, 3);
    ck_assert_str_eq(irq->unit, "dmar0");
    fx_free(f);
}
END_TEST

/* ---- qtest front end ------------------------------------------------------------------------ */

typedef struct Lines {
    GPtrArray *l;
} Lines;

static void collect(void *opaque, const char *line)
{
    Lines *s = opaque;
    g_ptr_array_add(s->l, g_strdup(line));
}

static const char *qask(VtdsimQtest *q, Lines *s, const char *cmd)
{
    guint before = s->l->len;
    vtdsim_qtest_command(q, cmd);
    ck_assert_uint_gt(s->l->len, before);
    return g_ptr_array_index(s->l, s->l->len - 1);
}

START_TEST(test_qtest_ioapic)
{
    Fx *f = fx_new(NULL);
    Lines s = { g_ptr_array_new_with_free_func(g_free) };
    VtdsimQtest *q = vtdsim_qtest_new(f->sim, collect, &s);
    ck_assert_str_eq(qask(q, &s, "writel 0xfec00000 0x1"), "OK");
    ck_assert_str_eq(qask(q, &s, "readl 0xfec00010"), "OK 0x0000000000170020");
    ck_assert_str_eq(qask(q, &s, "irq_intercept_in ioapic"), "OK");
    /* edu at 00:01.0: BAR0, memory + bus master, INTx -> GSI 17 routed to vector 0x3c */
    ck_assert_str_eq(qask(q, &s, "outl 0xcf8 0x80000810"), "OK");
    ck_assert_str_eq(qask(q, &s, "outl 0xcfc 0xfe000000"), "OK");
    ck_assert_str_eq(qask(q, &s, "outl 0xcf8 0x80000804"), "OK");
    ck_assert_str_eq(qask(q, &s, "outl 0xcfc 0x6"), "OK");
    unsigned gsi = platform_intx_gsi(platform_find_device(f->p, "edu"), 1);
    g_autofree char *sel = g_strdup_printf("writel 0xfec00000 0x%x", IOAPIC_REG_RTE(gsi));
    g_autofree char *raise = g_strdup_printf("IRQ raise %u", gsi);
    g_autofree char *lower = g_strdup_printf("IRQ lower %u", gsi);
    ck_assert_str_eq(qask(q, &s, sel), "OK");
    ck_assert_str_eq(qask(q, &s, "writel 0xfec00010 0x803c"), "OK");
    ck_assert_str_eq(qask(q, &s, "writel 0xfe000060 0x1"), "OK");
    ck_assert_str_eq(g_ptr_array_index(s.l, s.l->len - 2), raise);
    ck_assert_uint_eq(platform_irq_count(f->p), 1);
    ck_assert_uint_eq(last_irq(f)->vector, 0x3c);
    ck_assert_str_eq(qask(q, &s, "readl 0xfec00010"), "OK 0x000000000000c03c");   /* Remote IRR */
    ck_assert_str_eq(qask(q, &s, "writel 0xfe000064 0x1"), "OK");
    ck_assert_str_eq(g_ptr_array_index(s.l, s.l->len - 2), lower);
    ck_assert_str_eq(qask(q, &s, "writel 0xfec00040 0x3c"), "OK");
    ck_assert_str_eq(qask(q, &s, "readl 0xfec00010"), "OK 0x000000000000803c");
    vtdsim_qtest_free(q);
    g_ptr_array_free(s.l, TRUE);
    fx_free(f);
}
END_TEST

static Suite *suite_irq(void)
{
    Suite *s = suite_create("irq");
    TCase *tc = tcase_create("irq");
    tcase_add_test(tc, test_msix_remapped_mask_pending);
    tcase_add_test(tc, test_msi_multi_message_shv);
    tcase_add_test(tc, test_vf_cannot_pass_as_pf);
    tcase_add_test(tc, test_posted_and_notification);
    tcase_add_test(tc, test_ioapic_registers);
    tcase_add_test(tc, test_ioapic_compat_level_eoi);
    tcase_add_test(tc, test_ioapic_remappable_end_to_end);
    tcase_add_test(tc, test_unit_events_bypass_remapping);
    tcase_add_test(tc, test_qtest_ioapic);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_irq)
