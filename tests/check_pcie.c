/*
 * Tests of the PCIe fabric: config masks, capability lists, BAR sizing
 * and decoding, config routing, enumeration, SR-IOV, MSI/MSI-X/INTx and
 * DMA.  Each test builds its own small fabric with tests/fixture_pcie.h.
 */
#include <string.h>
#include "check_util.h"
#include "fixture_pcie.h"

/* ---- a trivial device model ----------------------------------------------- */

typedef struct Dev {
    uint64_t last_write_off, last_write_val;
    unsigned writes;
    unsigned cfg_writes;
    unsigned vf_added, vf_removed, destroyed;
} Dev;

static uint64_t dev_read(void *opaque, uint64_t off, unsigned size)
{
    (void)opaque;
    (void)size;
    return 0x1000 + off;
}

static void dev_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Dev *d = opaque;
    (void)size;
    d->last_write_off = off;
    d->last_write_val = val;
    d->writes++;
}

static const MmioOps dev_mmio = {
    .name = "dev", .read = dev_read, .write = dev_write,
    .min_access = 4, .max_access = 4,
};

static void dev_cfg_write(void *opaque, PcieFn *fn, uint16_t off, unsigned size, uint32_t val)
{
    Dev *d = opaque;
    (void)fn; (void)off; (void)size; (void)val;
    d->cfg_writes++;
}

static void dev_destroy(void *opaque, PcieFn *fn)
{
    Dev *d = opaque;
    (void)fn;
    d->destroyed++;
}

static const PcieFnOps dev_ops = {
    .name = "dev", .config_write = dev_cfg_write, .destroy = dev_destroy,
};

static PcieFn *new_fn(PcieFixture *fx, PcieFn *parent, uint8_t devfn, PcieFnKind kind, Dev *d)
{
    GError *err = NULL;
    PcieFn *fn = pcie_fn_new(fx->fabric, parent, devfn, kind, 0x1234, 0x5678, 0x020000,
                             &dev_ops, d, &err);
    ck_assert_msg(fn != NULL, "%s", err ? err->message : "?");
    return fn;
}

static uint32_t cfg_rd(PcieFixture *fx, uint16_t rid, uint16_t off, unsigned size)
{
    return pcie_fabric_config_read(fx->fabric, PCIE_BUS(rid), (uint8_t)rid, off, size);
}

static void cfg_wr(PcieFixture *fx, uint16_t rid, uint16_t off, unsigned size, uint32_t v)
{
    pcie_fabric_config_write(fx->fabric, PCIE_BUS(rid), (uint8_t)rid, off, size, v);
}

/* ---- config space ----------------------------------------------------------- */

START_TEST(test_config_masks)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(3, 0), PCIE_KIND_RC_INTEGRATED, &d);

    /* Read-only identity. */
    pcie_fn_config_write(ep, PCI_VENDOR_ID, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_VENDOR_ID, 4), 0x56781234);
    ck_assert_uint_eq(d.cfg_writes, 1);
    /* Command: only the implemented bits stick (bit 3 and 9 reserved / RO). */
    pcie_fn_config_write(ep, PCI_COMMAND, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_COMMAND, 2), 0x0547);
    /* Status: W1C error bits clear one at a time; Capabilities List stays. */
    pcie_fn_set(ep, PCI_STATUS, 2, pcie_fn_get(ep, PCI_STATUS, 2) | 0xf900);
    pcie_fn_config_write(ep, PCI_STATUS, 2, 0x0100);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_STATUS, 2), 0xf800 | PCI_STATUS_CAP_LIST);
    pcie_fn_config_write(ep, PCI_STATUS, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_STATUS, 2), PCI_STATUS_CAP_LIST);
    /* Interrupt Line writable, Interrupt Pin not. */
    pcie_fn_config_write(ep, PCI_INTERRUPT_LINE, 2, 0x050b);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_INTERRUPT_LINE, 2), 0x010b);
    /* A model-declared register: low byte RW, high byte RW1C, upper half RO. */
    pcie_fn_set(ep, 0xc0, 4, 0x5500ab00);
    pcie_fn_set_masks(ep, 0xc0, 4, 0x000000ff, 0x0000ff00);
    pcie_fn_config_write(ep, 0xc0, 4, 0xffff0f12);
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0xc0, 4), 0x5500a012);
    pcie_fn_config_write(ep, 0xc1, 1, 0x20);   /* byte write of the W1C byte */
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0xc0, 4), 0x55008012);
    /* Misaligned accesses: all ones, writes dropped. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0xc1, 2), 0xffff);
    pcie_fn_config_write(ep, 0xc2, 4, 0);
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0xc0, 4), 0x55008012);
    /* Reserved bits of Device Control 2 of an endpoint (ARI Forwarding) stay 0. */
    uint8_t exp = pcie_fn_find_cap(ep, PCI_CAP_ID_EXP);
    pcie_fn_config_write(ep, exp + 0x28, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, exp + 0x28, 2), 0x071f);
    pcie_fx_fini(&fx);
    ck_assert_uint_eq(d.destroyed, 1);
}
END_TEST

START_TEST(test_bridge_header_masks)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_HEADER_TYPE, 1), 1);
    pcie_fn_config_write(rp, PCI_IO_BASE, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_IO_BASE, 2), 0xf0f0);
    pcie_fn_config_write(rp, PCI_MEMORY_BASE, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_MEMORY_BASE, 4), 0xfff0fff0);
    pcie_fn_config_write(rp, PCI_PREF_MEMORY_BASE, 4, 0);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_PREF_MEMORY_BASE, 4), 0x00010001);
    pcie_fn_config_write(rp, PCI_BRIDGE_CONTROL, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_BRIDGE_CONTROL, 2), 0x005f);
    pcie_fn_config_write(rp, PCI_ROM_ADDRESS1, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_ROM_ADDRESS1, 4), 0);
    /* PCIe capability of a root port: type 4, slot, v2, ARI forwarding writable. */
    uint8_t c = pcie_fn_find_cap(rp, PCI_CAP_ID_EXP);
    ck_assert_uint_eq(c, 0x40);
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 2, 2), 0x0142);
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 0x0c, 4) & 0x3ff, 0x083);  /* Gen3 x8 */
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 0x12, 2) & 0x3ff, 0x083);
    pcie_fn_config_write(rp, c + 0x28, 2, 0x0020);
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 0x28, 2), 0x0020);
    /* Device Control: MPS and MRRS writable, reset 128/512. */
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 8, 2), 0x2810);
    pcie_fn_config_write(rp, c + 8, 2, 0x5030);
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 8, 2), 0x5030);
    /* Root Status PME Status is RW1C. */
    pcie_fn_set(rp, c + 0x20, 4, 0x00010000);
    pcie_fn_config_write(rp, c + 0x20, 4, 0x00010000);
    ck_assert_uint_eq(pcie_fn_config_read(rp, c + 0x20, 4), 0);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_cap_walk)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(2, 0), PCIE_KIND_RC_INTEGRATED, &d);
    uint8_t pm = pcie_cap_pm_init(ep);
    uint8_t msi = pcie_cap_msi_init(ep, 4, true, true);
    uint16_t aer = pcie_cap_aer_init(ep);
    uint16_t acs = pcie_cap_acs_init(ep, 0x1f);
    uint16_t ari = pcie_cap_ari_init(ep, 0);
    uint16_t pasid = pcie_cap_pasid_init(ep, 20, true, false);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_CAPABILITY_LIST, 1), 0x40);
    ck_assert_uint_eq(pm, 0x7c);
    ck_assert_uint_eq(msi, 0x84);
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0x40, 2), 0x7c10);   /* EXP -> PM */
    ck_assert_uint_eq(pcie_fn_config_read(ep, pm, 2), 0x8401);     /* PM -> MSI */
    ck_assert_uint_eq(pcie_fn_config_read(ep, msi, 2), 0x0005);    /* MSI, end */
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_MSI), msi);
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_MSIX), 0);
    ck_assert_uint_eq(aer, 0x100);
    ck_assert_uint_eq(acs, 0x148);
    ck_assert_uint_eq(ari, 0x150);
    ck_assert_uint_eq(pasid, 0x158);
    ck_assert_uint_eq(pcie_fn_config_read(ep, aer, 4), 0x14820001);
    ck_assert_uint_eq(pcie_fn_config_read(ep, acs, 4), 0x1501000d);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pasid, 4), 0x0001001b);
    ck_assert_uint_eq(pcie_fn_find_ext_cap(ep, PCI_EXT_CAP_ID_PASID), pasid);
    ck_assert_uint_eq(pcie_fn_find_ext_cap(ep, PCI_EXT_CAP_ID_SRIOV), 0);
    /* PASID: width 20, exec supported; priv enable stays clear. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, pasid + 4, 2), 0x1402);
    pcie_fn_config_write(ep, pasid + 6, 2, 0x7);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pasid + 6, 2), 0x3);
    /* ACS Control writable exactly where ACS Capability has bits. */
    pcie_fn_config_write(ep, acs + 6, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, acs + 6, 2), 0x1f);

    /* Malformed lists: a loop back to the first capability must terminate. */
    pcie_fn_config(ep)[msi + 1] = 0x40;
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_MSIX), 0);
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_MSI), msi);
    pcie_fn_config(ep)[msi + 1] = msi;       /* self loop */
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_VNDR), 0);
    pcie_fn_config(ep)[msi + 1] = 0x20;      /* points into the header */
    ck_assert_uint_eq(pcie_fn_find_cap(ep, PCI_CAP_ID_VNDR), 0);
    pcie_fn_set(ep, pasid, 4, 0x1000001b);   /* PASID -> AER: loop */
    ck_assert_uint_eq(pcie_fn_find_ext_cap(ep, PCI_EXT_CAP_ID_SRIOV), 0);
    ck_assert_uint_eq(pcie_fn_find_ext_cap(ep, PCI_EXT_CAP_ID_PASID), pasid);
    pcie_fn_set(ep, pasid, 4, 0x1580001b);   /* self loop */
    ck_assert_uint_eq(pcie_fn_find_ext_cap(ep, PCI_EXT_CAP_ID_SRIOV), 0);
    pcie_fx_fini(&fx);
}
END_TEST

/* Register layouts and write semantics of the other builders. */
START_TEST(test_cap_builders)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(2, 0), PCIE_KIND_RC_INTEGRATED, &d);
    uint8_t pm = pcie_cap_pm_init(ep);
    uint8_t msi = pcie_cap_msi_init(ep, 1, false, false);
    uint16_t ats = pcie_cap_ats_init(ep, 0, true);
    uint16_t pri = pcie_cap_pri_init(ep, 64);
    uint16_t aer = pcie_cap_aer_init(ep);
    /* PCIe capability of an RCiEP: type 9, no link registers. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0x42, 2), 0x0092);
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0x44, 4), 0x8002);
    ck_assert_uint_eq(pcie_fn_config_read(ep, 0x4c, 4), 0);
    /* PM: PowerState writable, No_Soft_Reset, PME_Status RW1C. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, pm + 2, 2), 0x0003);
    pcie_fn_config_write(ep, pm + 4, 2, 0x0003);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pm + 4, 2), 0x000b);
    /* MSI 32-bit, single vector, no masking: Message Control all zero. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, msi + 2, 2), 0x0000);
    /* ATS: Invalidate Queue Depth 0 (=32), Page Aligned; Enable and STU writable. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, ats, 4), 0x1081000f);
    ck_assert_uint_eq(pcie_fn_config_read(ep, ats + 4, 4), 0x00000020);
    pcie_fn_config_write(ep, ats + 6, 2, 0xffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, ats + 6, 2), 0x801f);
    /* PRI: Stopped while disabled, RF RW1C, capacity RO, allocation RW. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, pri, 4), 0x11810013);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pri + 4, 4), 0x01000000);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pri + 8, 4), 64);
    pcie_fn_config_write(ep, pri + 8, 4, 5);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pri + 8, 4), 64);
    pcie_fn_config_write(ep, pri + 0xc, 4, 32);
    ck_assert_uint_eq(pcie_fn_config_read(ep, pri + 0xc, 4), 32);
    /* AER v2: uncorrectable status RW1C, severity reset value, correctable mask. */
    ck_assert_uint_eq(pcie_fn_config_read(ep, aer, 4), 0x00020001);
    ck_assert_uint_eq(pcie_fn_config_read(ep, aer + 0x0c, 4), 0x00462030);
    ck_assert_uint_eq(pcie_fn_config_read(ep, aer + 0x14, 4), 0x00002000);
    pcie_fn_set(ep, aer + 4, 4, 0x00101000);
    pcie_fn_config_write(ep, aer + 4, 4, 0x00001000);
    ck_assert_uint_eq(pcie_fn_config_read(ep, aer + 4, 4), 0x00100000);
    pcie_fx_fini(&fx);
}
END_TEST

/* ---- BARs ------------------------------------------------------------------- */

START_TEST(test_bar_sizing)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(2, 0), PCIE_KIND_RC_INTEGRATED, &d);
    pcie_fn_bar_init(ep, 0, 0x1000, PCIE_BAR_MEM32, &dev_mmio, &d);
    pcie_fn_bar_init(ep, 1, 0x100000, PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH, &dev_mmio, &d);
    pcie_fn_bar_init(ep, 3, 0x20, PCIE_BAR_IO, &dev_mmio, &d);
    pcie_fn_bar_init(ep, 4, 8ull << 30, PCIE_BAR_MEM64, &dev_mmio, &d);
    static const uint32_t expect[6] = {
        0xfffff000, 0xfff0000c, 0xffffffff, 0xffffffe1, 0x00000004, 0xfffffffe,
    };
    for (unsigned i = 0; i < 6; i++) {
        pcie_fn_config_write(ep, PCI_BASE_ADDRESS_0 + 4 * i, 4, 0xffffffff);
        ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_BASE_ADDRESS_0 + 4 * i, 4), expect[i]);
    }
    /* Type bits survive writing zero; an absent BAR reads 0. */
    pcie_fn_config_write(ep, PCI_BASE_ADDRESS_0 + 4, 4, 0);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_BASE_ADDRESS_0 + 4, 4), 0x0000000c);
    Dev d2 = { 0 };
    PcieFn *ep2 = new_fn(&fx, NULL, PCIE_DEVFN(3, 0), PCIE_KIND_RC_INTEGRATED, &d2);
    pcie_fn_config_write(ep2, PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep2, PCI_BASE_ADDRESS_0, 4), 0);
    ck_assert_uint_eq(pcie_fn_bar_size(ep, 4), 8ull << 30);
    /* Sizing with MSE clear never decodes. */
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), PCIE_BAR_UNMAPPED);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_bar_decode)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *ep = new_fn(&fx, rp, 0, PCIE_KIND_ENDPOINT, &d);
    pcie_fn_bar_init(ep, 0, 0x4000, PCIE_BAR_MEM32, &dev_mmio, &d);
    pcie_fn_bar_init(ep, 2, 0x200000, PCIE_BAR_MEM64 | PCIE_BAR_PREFETCH, &dev_mmio, &d);
    pcie_fn_bar_init(ep, 4, 0x100, PCIE_BAR_IO, &dev_mmio, &d);
    pcie_fx_enumerate(&fx);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), 0xc0000000);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 2), 0x8000000000ull);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 4), 0x1000);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_MEMORY_BASE, 4), 0xc000c000);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_PREF_MEMORY_BASE, 4), 0x00110001);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_PREF_BASE_UPPER32, 4), 0x80);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_PREF_LIMIT_UPPER32, 4), 0x80);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_IO_BASE, 2), 0x1010);
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_COMMAND, 2), 0x7);
    uint64_t v = 0;
    ck_assert_int_eq(addr_space_read(fx.mem, 0xc0000010, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x1010);
    ck_assert_int_eq(addr_space_read(fx.io, 0x1004, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x1004);
    ck_assert_int_eq(addr_space_write(fx.mem, 0x8000000008ull, 4, 0xabc), MEMTX_OK);
    ck_assert_uint_eq(d.last_write_off, 8);
    ck_assert_uint_eq(d.last_write_val, 0xabc);

    /* MSE off on the endpoint: nothing decodes there. */
    pcie_fn_config_write(ep, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), PCIE_BAR_UNMAPPED);
    ck_assert_int_eq(addr_space_read(fx.mem, 0xc0000010, 4, &v), MEMTX_DECODE_ERROR);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 4), 0x1000);
    pcie_fn_config_write(ep, PCI_COMMAND, 2, 0x7);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), 0xc0000000);
    /* Moving the BAR outside the bridge window stops decoding; back inside decodes. */
    pcie_fn_config_write(ep, PCI_BASE_ADDRESS_0, 4, 0xd0000000);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), PCIE_BAR_UNMAPPED);
    pcie_fn_config_write(rp, PCI_MEMORY_LIMIT, 2, 0xd000);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), 0xd0000000);
    ck_assert_int_eq(addr_space_read(fx.mem, 0xd0000000, 4, &v), MEMTX_OK);
    /* The bridge's own MSE gates everything below it. */
    pcie_fn_config_write(rp, PCI_COMMAND, 2, PCI_COMMAND_IO | PCI_COMMAND_MASTER);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), PCIE_BAR_UNMAPPED);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 2), PCIE_BAR_UNMAPPED);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 4), 0x1000);
    pcie_fx_fini(&fx);
}
END_TEST

/* ---- topology, routing, enumeration --------------------------------------- */

START_TEST(test_fn_new_errors)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    GError *err = NULL;
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *ep = new_fn(&fx, rp, 0, PCIE_KIND_ENDPOINT, &d);
    ck_assert_ptr_null(pcie_fn_new(fx.fabric, ep, 0, PCIE_KIND_ENDPOINT, 1, 2, 0, NULL, NULL, &err));
    ck_assert_ptr_nonnull(err);
    g_clear_error(&err);
    ck_assert_ptr_null(pcie_fn_new(fx.fabric, rp, 0, PCIE_KIND_ENDPOINT, 1, 2, 0, NULL, NULL, &err));
    ck_assert_int_eq(err->code, PCIE_ERROR_EXISTS);
    g_clear_error(&err);
    /* A second device on the link, and a switch downstream port below a root port. */
    ck_assert_ptr_null(pcie_fn_new(fx.fabric, rp, PCIE_DEVFN(1, 0), PCIE_KIND_ENDPOINT, 1, 2, 0,
                                   NULL, NULL, &err));
    g_clear_error(&err);
    ck_assert_ptr_null(pcie_fn_new(fx.fabric, rp, 1, PCIE_KIND_SWITCH_DOWN, 1, 2, 0, NULL, NULL, &err));
    g_clear_error(&err);
    /* Functions 1..7 of device 0 are fine; ARI lets device numbers beyond 0 in. */
    ck_assert_ptr_nonnull(new_fn(&fx, rp, 1, PCIE_KIND_ENDPOINT, &d));
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_HEADER_TYPE, 1), 0x80);
    pcie_cap_ari_init(ep, 1);
    ck_assert_ptr_nonnull(new_fn(&fx, rp, PCIE_DEVFN(1, 0), PCIE_KIND_ENDPOINT, &d));
    /* Conventional PCI: no PCI Express capability, only on the root bus (or below a
     * PCIe-to-PCI bridge). */
    PcieFn *hb = new_fn(&fx, NULL, 0, PCIE_KIND_HOST_BRIDGE, &d);
    PcieFn *pci = new_fn(&fx, NULL, PCIE_DEVFN(4, 0), PCIE_KIND_PCI_DEVICE, &d);
    ck_assert_uint_eq(pcie_fn_find_cap(hb, PCI_CAP_ID_EXP), 0);
    ck_assert_uint_eq(pcie_fn_find_cap(pci, PCI_CAP_ID_EXP), 0);
    ck_assert_uint_eq(pcie_fn_config_read(pci, PCI_STATUS, 2), 0);
    ck_assert_uint_eq(pcie_fn_config_read(pci, PCI_INTERRUPT_PIN, 1), 1);
    ck_assert_uint_eq(pcie_fn_config_read(hb, PCI_INTERRUPT_PIN, 1), 0);
    ck_assert_ptr_null(pcie_fn_new(fx.fabric, rp, 2, PCIE_KIND_PCI_DEVICE, 1, 2, 0, NULL, NULL, &err));
    g_clear_error(&err);
    PcieFn *p2p = new_fn(&fx, rp, 2, PCIE_KIND_PCIE_TO_PCI, &d);
    ck_assert_ptr_nonnull(new_fn(&fx, p2p, PCIE_DEVFN(5, 0), PCIE_KIND_PCI_DEVICE, &d));
    pcie_fx_fini(&fx);
    ck_assert_uint_eq(d.destroyed, 7);
}
END_TEST

/* Root port 00:1c.0 -> switch (up 0, down 0 and 2) -> endpoints; RCiEP 00:02.0. */
typedef struct Topo {
    PcieFn *rp, *up, *dn0, *dn2, *ep0, *ep2, *rciep;
    Dev d;
} Topo;

static void build_topo(PcieFixture *fx, Topo *t)
{
    memset(t, 0, sizeof(*t));
    t->rciep = new_fn(fx, NULL, PCIE_DEVFN(2, 0), PCIE_KIND_RC_INTEGRATED, &t->d);
    t->rp = pcie_fx_root_port(fx, PCIE_DEVFN(0x1c, 0));
    t->up = new_fn(fx, t->rp, 0, PCIE_KIND_SWITCH_UP, &t->d);
    t->dn0 = new_fn(fx, t->up, PCIE_DEVFN(0, 0), PCIE_KIND_SWITCH_DOWN, &t->d);
    t->dn2 = new_fn(fx, t->up, PCIE_DEVFN(2, 0), PCIE_KIND_SWITCH_DOWN, &t->d);
    t->ep0 = new_fn(fx, t->dn0, 0, PCIE_KIND_ENDPOINT, &t->d);
    t->ep2 = new_fn(fx, t->dn2, 0, PCIE_KIND_ENDPOINT, &t->d);
    pcie_fn_bar_init(t->ep0, 0, 0x1000, PCIE_BAR_MEM32, &dev_mmio, &t->d);
    pcie_fn_bar_init(t->ep2, 0, 0x200000, PCIE_BAR_MEM32, &dev_mmio, &t->d);
}

START_TEST(test_config_routing)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Topo t;
    build_topo(&fx, &t);
    /* Before enumeration every secondary bus is 0: nothing below the root port. */
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 0), 0, 4), 0xffffffff);
    GError *err = NULL;
    ck_assert(pcie_fabric_enumerate(fx.fabric, NULL, true, &err));
    ck_assert_uint_eq(pcie_fn_config_read(t.rp, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x040100);
    ck_assert_uint_eq(pcie_fn_config_read(t.up, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x040201);
    ck_assert_uint_eq(pcie_fn_config_read(t.dn0, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x030302);
    ck_assert_uint_eq(pcie_fn_config_read(t.dn2, PCI_PRIMARY_BUS, 4) & 0xffffff, 0x040402);
    ck_assert_uint_eq(pcie_fn_rid(t.ep0), PCIE_BDF(3, 0, 0));
    ck_assert_uint_eq(pcie_fn_rid(t.ep2), PCIE_BDF(4, 0, 0));
    ck_assert_uint_eq(pcie_fn_rid(t.dn2), PCIE_BDF(2, 2, 0));
    ck_assert_str_eq(pcie_fn_name(t.ep2), "04:00.0 dev");
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(4, 0, 0)), t.ep2);
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(2, 2, 0)), t.dn2);
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(0, 2, 0)), t.rciep);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(3, 0, 0), PCI_VENDOR_ID, 4), 0x56781234);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(2, 0, 0), PCI_CLASS_DEVICE, 2), 0x0200);
    /* Missing: a device number other than 0 on a link, a bus beyond the range, a slot. */
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(3, 1, 0), 0, 2), 0xffff);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(5, 0, 0), 0, 4), 0xffffffff);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(2, 1, 0), 0, 1), 0xff);
    ck_assert_ptr_null(pcie_fabric_find(fx.fabric, PCIE_BDF(3, 1, 0)));
    cfg_wr(&fx, PCIE_BDF(5, 0, 0), PCI_COMMAND, 2, 7);   /* dropped, no crash */
    /* Config writes land in the routed function. */
    cfg_wr(&fx, PCIE_BDF(4, 0, 0), PCI_INTERRUPT_LINE, 1, 0x0b);
    ck_assert_uint_eq(pcie_fn_config_read(t.ep2, PCI_INTERRUPT_LINE, 1), 0x0b);
    /* Software renumbering moves the routing with it. */
    cfg_wr(&fx, PCIE_BDF(2, 2, 0), PCI_SECONDARY_BUS, 1, 0x04);
    cfg_wr(&fx, PCIE_BDF(0, 0x1c, 0), PCI_SUBORDINATE_BUS, 1, 0x09);
    cfg_wr(&fx, PCIE_BDF(1, 0, 0), PCI_SUBORDINATE_BUS, 1, 0x09);
    cfg_wr(&fx, PCIE_BDF(2, 2, 0), PCI_SECONDARY_BUS, 1, 0x07);
    cfg_wr(&fx, PCIE_BDF(2, 2, 0), PCI_SUBORDINATE_BUS, 1, 0x07);
    ck_assert_uint_eq(pcie_fn_rid(t.ep2), PCIE_BDF(7, 0, 0));
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(7, 0, 0), PCI_VENDOR_ID, 2), 0x1234);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(4, 0, 0), PCI_VENDOR_ID, 2), 0xffff);
    /* A loop in the programmed bus numbers does not hang routing. */
    cfg_wr(&fx, PCIE_BDF(2, 2, 0), PCI_SECONDARY_BUS, 1, 0x01);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(7, 0, 0), PCI_VENDOR_ID, 2), 0xffff);
    /* Children lists in devfn order. */
    GPtrArray *ch = pcie_fn_children(t.up);
    ck_assert_uint_eq(ch->len, 2);
    ck_assert_ptr_eq(g_ptr_array_index(ch, 0), t.dn0);
    ck_assert_ptr_eq(g_ptr_array_index(ch, 1), t.dn2);
    g_ptr_array_free(ch, TRUE);
    GPtrArray *root = pcie_fabric_root_fns(fx.fabric);
    ck_assert_uint_eq(root->len, 2);
    ck_assert_ptr_eq(g_ptr_array_index(root, 0), t.rciep);
    g_ptr_array_free(root, TRUE);
    pcie_fx_fini(&fx);
}
END_TEST

static void count_fn(PcieFn *fn, void *opaque)
{
    GString *s = opaque;
    uint16_t rid = pcie_fn_rid(fn);
    g_string_append_printf(s, "%02x:%02x.%x ", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid));
}

START_TEST(test_enumerate_windows)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Topo t;
    build_topo(&fx, &t);
    pcie_fn_bar_init(t.rciep, 0, 0x10000, PCIE_BAR_MEM32, &dev_mmio, &t.d);
    pcie_fx_enumerate(&fx);
    /* Largest alignment first: the 2 MiB window below the root port comes first,
     * (3 MiB: 2 MiB below dn2, 1 MiB granule below dn0), then the RCiEP's 64 KiB BAR. */
    ck_assert_uint_eq(pcie_fn_bar_addr(t.ep2, 0), 0xc0000000);
    ck_assert_uint_eq(pcie_fn_bar_addr(t.ep0, 0), 0xc0200000);
    ck_assert_uint_eq(pcie_fn_bar_addr(t.rciep, 0), 0xc0300000);
    ck_assert_uint_eq(pcie_fn_config_read(t.rp, PCI_MEMORY_BASE, 4), 0xc020c000);
    ck_assert_uint_eq(pcie_fn_config_read(t.up, PCI_MEMORY_BASE, 4), 0xc020c000);
    ck_assert_uint_eq(pcie_fn_config_read(t.dn2, PCI_MEMORY_BASE, 4), 0xc010c000);
    ck_assert_uint_eq(pcie_fn_config_read(t.dn0, PCI_MEMORY_BASE, 4), 0xc020c020);
    /* Unused windows are closed (base above limit). */
    ck_assert_uint_eq(pcie_fn_config_read(t.dn0, PCI_IO_BASE, 2), 0x00f0);
    ck_assert_uint_eq(pcie_fn_config_read(t.dn0, PCI_PREF_MEMORY_BASE, 4), 0x0001fff1);
    uint64_t v;
    ck_assert_int_eq(addr_space_read(fx.mem, 0xc0200004, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x1004);
    GString *s = g_string_new("");
    pcie_fabric_foreach(fx.fabric, count_fn, s);
    ck_assert_str_eq(s->str, "00:02.0 00:1c.0 01:00.0 02:00.0 03:00.0 02:02.0 04:00.0 ");
    g_string_free(s, TRUE);
    /* Too small a window is an error. */
    PcieEnumWindows w = { .mem32_base = 0xc0000000, .mem32_limit = 0xc00fffff,
                          .io_base = 0x1000, .io_limit = 0xffff };
    GError *err = NULL;
    ck_assert(!pcie_fabric_enumerate(fx.fabric, &w, false, &err));
    ck_assert_int_eq(err->code, PCIE_ERROR_NO_SPACE);
    g_error_free(err);
    pcie_fx_fini(&fx);
}
END_TEST

/* ---- SR-IOV -------------------------------------------------------------------- */

typedef struct Pf {
    Dev d;
    PcieFn *added[8];
    unsigned nadded, nremoved;
} Pf;

static void pf_vf_added(void *opaque, PcieFn *pf, PcieFn *vf)
{
    Pf *p = opaque;
    (void)pf;
    p->added[p->nadded++ % 8] = vf;
    pcie_fn_bar_init(vf, 0, 0x4000, PCIE_BAR_MEM64, &dev_mmio, &p->d);
}

static void pf_vf_removed(void *opaque, PcieFn *pf, PcieFn *vf)
{
    Pf *p = opaque;
    (void)pf;
    ck_assert(pcie_fn_is_vf(vf));
    p->nremoved++;
}

static PcieFn *new_pf_at(PcieFixture *fx, PcieFn *parent, uint8_t devfn, uint16_t offset,
                         Pf *p, bool ari)
{
    PcieFn *pf = new_fn(fx, parent, devfn, PCIE_KIND_ENDPOINT, &p->d);
    pcie_fn_set_ops(pf, &dev_ops, p);
    pcie_fn_bar_init(pf, 0, 0x10000, PCIE_BAR_MEM32, &dev_mmio, &p->d);
    if (ari) {
        pcie_cap_ari_init(pf, 0);
    }
    PcieSriovParams sp = {
        .total_vfs = 8, .initial_vfs = 8, .first_vf_offset = offset, .vf_stride = 1,
        .vf_device_id = 0x10ed, .vf_added = pf_vf_added, .vf_removed = pf_vf_removed,
    };
    sp.vf_bar_size[0] = 0x4000;
    sp.vf_bar_flags[0] = PCIE_BAR_MEM64;
    pcie_cap_sriov_init(pf, &sp);
    return pf;
}

static PcieFn *new_pf(PcieFixture *fx, PcieFn *parent, Pf *p, bool ari)
{
    return new_pf_at(fx, parent, 0, 1, p, ari);
}

START_TEST(test_sriov_ari)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Pf p = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *pf = new_pf(&fx, rp, &p, true);
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    ck_assert_uint_eq(c, 0x108);
    pcie_fx_enumerate(&fx);
    /* Enumeration turned ARI on: forwarding at the port, ARI hierarchy at the PF. */
    ck_assert_uint_eq(pcie_fn_config_read(rp, 0x40 + 0x28, 2) & 0x20, 0x20);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 8, 2), 0x10);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x14, 4), 0x00010001);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_SUBORDINATE_BUS, 1), 1);
    /* VF BAR sized per VF and placed for TotalVFs. */
    uint64_t vfbar = pcie_fn_config_read(pf, c + 0x24, 4) |
                     ((uint64_t)pcie_fn_config_read(pf, c + 0x28, 4) << 32);
    ck_assert_uint_eq(vfbar & 0xf, 0x4);
    vfbar &= ~0xfull;
    ck_assert_uint_ne(vfbar, 0);
    ck_assert_uint_eq(vfbar % 0x4000, 0);
    pcie_fn_config_write(pf, c + 0x24, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x24, 4), 0xffffc004);
    pcie_fn_config_write(pf, c + 0x24, 4, (uint32_t)vfbar);

    cfg_wr(&fx, PCIE_BDF(1, 0, 0), c + 0x10, 2, 4);
    cfg_wr(&fx, PCIE_BDF(1, 0, 0), c + 8, 2, 0x19);   /* VF Enable, VF MSE, ARI */
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 4);
    ck_assert_uint_eq(p.nadded, 4);
    for (unsigned n = 0; n < 4; n++) {
        PcieFn *vf = pcie_fn_vf(pf, n);
        ck_assert_ptr_eq(p.added[n], vf);
        ck_assert_uint_eq(pcie_fn_rid(vf), PCIE_BDF(1, 0, 1 + n));
        ck_assert_ptr_eq(pcie_fn_pf(vf), pf);
        ck_assert_uint_eq(pcie_fn_vf_index(vf), n);
        ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, pcie_fn_rid(vf)), vf);
        ck_assert_uint_eq(pcie_fn_bar_addr(vf, 0), vfbar + n * 0x4000);
    }
    /* VF config: Vendor ID 0xFFFF, VF Device ID, BARs read 0, MSE read-only 0. */
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 3), PCI_VENDOR_ID, 4), 0x10edffff);
    cfg_wr(&fx, PCIE_BDF(1, 0, 3), PCI_BASE_ADDRESS_0, 4, 0xffffffff);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 3), PCI_BASE_ADDRESS_0, 4), 0);
    cfg_wr(&fx, PCIE_BDF(1, 0, 3), PCI_COMMAND, 2, 0x7);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 3), PCI_COMMAND, 2), 0x4);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 5), PCI_VENDOR_ID, 2), 0xffff); /* absent */
    ck_assert_ptr_null(pcie_fabric_find(fx.fabric, PCIE_BDF(1, 0, 5)));
    uint64_t v;
    ck_assert_int_eq(addr_space_read(fx.mem, vfbar + 0x4000 * 2 + 8, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x1008);
    /* VF MSE off: VFs stop decoding. */
    cfg_wr(&fx, PCIE_BDF(1, 0, 0), c + 8, 2, 0x11);
    ck_assert_uint_eq(pcie_fn_bar_addr(pcie_fn_vf(pf, 1), 0), PCIE_BAR_UNMAPPED);
    /* NumVFs is frozen while VF Enable is set. */
    cfg_wr(&fx, PCIE_BDF(1, 0, 0), c + 0x10, 2, 6);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x10, 2), 4);
    /* children of the port include the VFs, in RID order */
    GPtrArray *ch = pcie_fn_children(rp);
    ck_assert_uint_eq(ch->len, 5);
    ck_assert_ptr_eq(g_ptr_array_index(ch, 0), pf);
    ck_assert_ptr_eq(g_ptr_array_index(ch, 4), pcie_fn_vf(pf, 3));
    g_ptr_array_free(ch, TRUE);
    /* VF Enable off: VFs removed, the hook sees each one. */
    cfg_wr(&fx, PCIE_BDF(1, 0, 0), c + 8, 2, 0x10);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 0);
    ck_assert_uint_eq(p.nremoved, 4);
    ck_assert_ptr_null(pcie_fabric_find(fx.fabric, PCIE_BDF(1, 0, 1)));
    ck_assert_int_eq(addr_space_read(fx.mem, vfbar, 4, &v), MEMTX_DECODE_ERROR);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_sriov_no_ari)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Pf p = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *pf = new_pf(&fx, rp, &p, false);
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    pcie_fx_enumerate(&fx);
    /* No ARI: VFs move to the next bus, which enumeration reserved below the port. */
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 8, 2), 0);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x14, 2), 0x100);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x16, 2), 1);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_SUBORDINATE_BUS, 1), 2);
    pcie_fn_config_write(pf, c + 0x10, 2, 3);
    pcie_fn_config_write(pf, c + 8, 2, 0x9);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 3);
    ck_assert_uint_eq(pcie_fn_rid(pcie_fn_vf(pf, 0)), PCIE_BDF(2, 0, 0));
    ck_assert_uint_eq(pcie_fn_rid(pcie_fn_vf(pf, 2)), PCIE_BDF(2, 0, 2));
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(2, 0, 2), PCI_VENDOR_ID, 4), 0x10edffff);
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(2, 0, 1)), pcie_fn_vf(pf, 1));
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(2, 0, 3), PCI_VENDOR_ID, 4), 0xffffffff);
    ck_assert_uint_eq(cfg_rd(&fx, PCIE_BDF(1, 0, 1), PCI_VENDOR_ID, 4), 0xffffffff);
    /* ARI Capable Hierarchy cannot change while VFs are enabled... */
    pcie_fn_config_write(pf, c + 8, 2, 0x19);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 8, 2), 0x9);
    /* ...and after VF Enable is cleared it switches offset back. */
    pcie_fn_config_write(pf, c + 8, 2, 0);
    ck_assert_uint_eq(p.nremoved, 3);
    pcie_fn_config_write(pf, c + 8, 2, 0x10);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x14, 2), 1);
    /* VF Enable and ARI Capable Hierarchy off in one write: VFs use the new offset. */
    pcie_fn_config_write(pf, c + 8, 2, 0x09);
    ck_assert_uint_eq(pcie_fn_rid(pcie_fn_vf(pf, 0)), PCIE_BDF(2, 0, 0));
    pcie_fn_config_write(pf, c + 8, 2, 0x10);         /* both flip back together */
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 0);
    ck_assert_uint_eq(pcie_fn_config_read(pf, c + 0x14, 2), 1);
    ck_assert_uint_eq(p.nremoved, 6);
    pcie_fx_fini(&fx);
}
END_TEST

/* Two PFs of one device without ARI: the VF layouts move up together, no collision. */
START_TEST(test_sriov_two_pfs_no_ari)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Pf p0 = { 0 }, p1 = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *pf1 = new_pf_at(&fx, rp, 1, 8, &p1, false);   /* ARI layout: 01:01.1.. */
    PcieFn *pf0 = new_pf_at(&fx, rp, 0, 1, &p0, false);   /* ARI layout: 01:00.1.. */
    uint16_t c = 0x100;
    ck_assert_uint_eq(pcie_fn_find_ext_cap(pf0, PCI_EXT_CAP_ID_SRIOV), c);
    ck_assert_uint_eq(pcie_fn_find_ext_cap(pf1, PCI_EXT_CAP_ID_SRIOV), c);
    pcie_fx_enumerate(&fx);
    ck_assert_uint_eq(pcie_fn_config_read(pf0, c + 0x14, 2), 0x100);
    ck_assert_uint_eq(pcie_fn_config_read(pf1, c + 0x14, 2), 0x107);
    ck_assert_uint_eq(pcie_fn_config_read(rp, PCI_SUBORDINATE_BUS, 1), 2);
    for (int i = 0; i < 2; i++) {
        PcieFn *pf = i ? pf1 : pf0;
        pcie_fn_config_write(pf, c + 0x10, 2, 8);
        pcie_fn_config_write(pf, c + 8, 2, 0x9);
        ck_assert_uint_eq(pcie_fn_num_vfs(pf), 8);
    }
    ck_assert_uint_eq(pcie_fn_rid(pcie_fn_vf(pf0, 7)), PCIE_BDF(2, 0, 7));
    ck_assert_uint_eq(pcie_fn_rid(pcie_fn_vf(pf1, 0)), PCIE_BDF(2, 1, 0));
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(2, 1, 7)), pcie_fn_vf(pf1, 7));
    ck_assert_ptr_eq(pcie_fabric_find(fx.fabric, PCIE_BDF(2, 0, 0)), pcie_fn_vf(pf0, 0));
    /* VF BARs of both PFs were placed without overlap and decode. */
    uint64_t a0 = pcie_fn_bar_addr(pcie_fn_vf(pf0, 7), 0), a1 = pcie_fn_bar_addr(pcie_fn_vf(pf1, 0), 0);
    ck_assert_uint_ne(a0, PCIE_BAR_UNMAPPED);
    ck_assert_uint_ne(a1, PCIE_BAR_UNMAPPED);
    ck_assert(a0 + 0x4000 <= a1 || a1 + 8 * 0x4000 <= a0);
    pcie_fx_fini(&fx);
    ck_assert_uint_eq(p0.nremoved + p1.nremoved, 16);
}
END_TEST

START_TEST(test_sriov_too_many)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Pf p = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *pf = new_pf(&fx, rp, &p, true);
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    pcie_fx_enumerate(&fx);
    pcie_fn_config_write(pf, c + 0x10, 2, 9);    /* TotalVFs is 8 */
    pcie_fn_config_write(pf, c + 8, 2, 0x19);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 0);
    ck_assert_uint_eq(p.nadded, 0);
    ck_assert_ptr_null(pcie_fabric_find(fx.fabric, PCIE_BDF(1, 0, 1)));
    pcie_fn_config_write(pf, c + 8, 2, 0x10);
    ck_assert_uint_eq(p.nremoved, 0);
    /* NumVFs 8 works; a fabric reset removes them. */
    pcie_fn_config_write(pf, c + 0x10, 2, 8);
    pcie_fn_config_write(pf, c + 8, 2, 0x19);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 8);
    pcie_fabric_reset(fx.fabric);
    ck_assert_uint_eq(pcie_fn_num_vfs(pf), 0);
    ck_assert_uint_eq(p.nremoved, 8);
    ck_assert_uint_eq(pcie_fn_config_read(pf, PCI_COMMAND, 2), 0);
    pcie_fx_fini(&fx);
}
END_TEST

/* ---- interrupts ------------------------------------------------------------------- */

START_TEST(test_msi_multi)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(4, 0), PCIE_KIND_RC_INTEGRATED, &d);
    uint8_t c = pcie_cap_msi_init(ep, 8, true, true);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 2, 2), 0x0186);   /* 64-bit, PVM, MMC=3 */
    pcie_fn_config_write(ep, c + 4, 4, 0xfee01003);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 4, 4), 0xfee01000);
    pcie_fn_config_write(ep, c + 8, 4, 0);
    pcie_fn_config_write(ep, c + 0xc, 2, 0x4160);
    pcie_fn_msi_notify(ep, 0);                         /* disabled: nothing */
    ck_assert_uint_eq(fx.msis->len, 0);
    pcie_fn_config_write(ep, c + 2, 2, 0x0031);        /* enable, MME = 3 (8 vectors) */
    ck_assert(pcie_fn_msi_enabled(ep));
    pcie_fn_msi_notify(ep, 5);                         /* BME clear: lost */
    ck_assert_uint_eq(fx.msis->len, 0);
    pcie_fn_config_write(ep, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    pcie_fn_msi_notify(ep, 5);
    ck_assert_uint_eq(fx.msis->len, 1);
    PcieFxMsi m = g_array_index(fx.msis, PcieFxMsi, 0);
    ck_assert_uint_eq(m.rid, PCIE_BDF(0, 4, 0));
    ck_assert_uint_eq(m.addr, 0xfee01000);
    ck_assert_uint_eq(m.data, 0x4165);
    /* Per-vector mask: the vector goes pending, unmasking sends it. */
    pcie_fn_config_write(ep, c + 0x10, 4, 0xffffffff);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 0x10, 4), 0xff);
    pcie_fn_msi_notify(ep, 2);
    ck_assert_uint_eq(fx.msis->len, 1);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 0x14, 4), 0x4);
    pcie_fn_config_write(ep, c + 0x14, 4, 0);          /* Pending is read-only */
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 0x14, 4), 0x4);
    pcie_fn_config_write(ep, c + 0x10, 4, 0xfb);
    ck_assert_uint_eq(fx.msis->len, 2);
    ck_assert_uint_eq(g_array_index(fx.msis, PcieFxMsi, 1).data, 0x4162);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 0x14, 4), 0);
    /* Two vectors enabled: vector 3 folds onto 1. */
    pcie_fn_config_write(ep, c + 0x10, 4, 0);
    pcie_fn_config_write(ep, c + 2, 2, 0x0011);
    pcie_fn_msi_notify(ep, 3);
    ck_assert_uint_eq(g_array_index(fx.msis, PcieFxMsi, 2).data, 0x4161);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_msix)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *ep = new_fn(&fx, rp, 0, PCIE_KIND_ENDPOINT, &d);
    pcie_fn_bar_init(ep, 0, 0x4000, PCIE_BAR_MEM32, &dev_mmio, &d);
    uint8_t c = pcie_cap_msix_init(ep, 4, 0, 0x2000, 0, 0x3000);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 2, 2), 3);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 4, 4), 0x2000);
    ck_assert_uint_eq(pcie_fn_config_read(ep, c + 8, 4), 0x3000);
    pcie_fx_enumerate(&fx);
    uint64_t bar = pcie_fn_bar_addr(ep, 0), v;
    ck_assert_uint_eq(bar, 0xc0000000);
    /* Table reset: vectors masked.  Other offsets go to the model. */
    ck_assert_int_eq(addr_space_read(fx.mem, bar + 0x2000 + 16 + 12, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 1);
    ck_assert_int_eq(addr_space_read(fx.mem, bar + 0x100, 4, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0x1100);
    addr_space_write(fx.mem, bar + 0x2000 + 16, 8, 0xfee00000ull);
    addr_space_write(fx.mem, bar + 0x2000 + 16 + 8, 4, 0x4031);
    ck_assert_int_eq(addr_space_read(fx.mem, bar + 0x2000 + 16, 8, &v), MEMTX_OK);
    ck_assert_uint_eq(v, 0xfee00000ull);
    /* Enabled with the Function Mask: vector 1 goes pending. */
    pcie_fn_config_write(ep, c + 2, 2, 0xc000);
    ck_assert(pcie_fn_msix_enabled(ep));
    pcie_fn_msi_notify(ep, 1);
    ck_assert_uint_eq(fx.msis->len, 0);
    addr_space_read(fx.mem, bar + 0x3000, 8, &v);
    ck_assert_uint_eq(v, 0x2);
    addr_space_write(fx.mem, bar + 0x3000, 8, 0);      /* PBA is read-only */
    addr_space_read(fx.mem, bar + 0x3000, 8, &v);
    ck_assert_uint_eq(v, 0x2);
    ck_assert_uint_eq(d.writes, 0);
    /* Function mask off, vector still masked: still pending. */
    pcie_fn_config_write(ep, c + 2, 2, 0x8000);
    ck_assert_uint_eq(fx.msis->len, 0);
    /* Unmask the vector: the pending message goes out and the bit clears. */
    addr_space_write(fx.mem, bar + 0x2000 + 16 + 12, 4, 0);
    ck_assert_uint_eq(fx.msis->len, 1);
    PcieFxMsi m = g_array_index(fx.msis, PcieFxMsi, 0);
    ck_assert_uint_eq(m.rid, PCIE_BDF(1, 0, 0));
    ck_assert_uint_eq(m.addr, 0xfee00000);
    ck_assert_uint_eq(m.data, 0x4031);
    addr_space_read(fx.mem, bar + 0x3000, 8, &v);
    ck_assert_uint_eq(v, 0);
    /* Unmasked: immediate.  Function mask again: pending, then sent on clearing it. */
    pcie_fn_msi_notify(ep, 1);
    ck_assert_uint_eq(fx.msis->len, 2);
    pcie_fn_config_write(ep, c + 2, 2, 0xc000);
    pcie_fn_msi_notify(ep, 1);
    ck_assert_uint_eq(fx.msis->len, 2);
    pcie_fn_config_write(ep, c + 2, 2, 0x8000);
    ck_assert_uint_eq(fx.msis->len, 3);
    pcie_fn_msi_notify(ep, 7);                         /* beyond the table: ignored */
    ck_assert_uint_eq(fx.msis->len, 3);
    /* Function Level Reset: MSI-X off, vectors masked again, BARs no longer decode. */
    uint8_t exp = pcie_fn_find_cap(ep, PCI_CAP_ID_EXP);
    pcie_fn_config_write(ep, exp + 8, 2, 0x8000 | 0x2810);   /* not FLR capable: no reset */
    ck_assert(pcie_fn_msix_enabled(ep));
    pcie_fn_set_flr_capable(ep, true);
    ck_assert_uint_eq(pcie_fn_config_read(ep, exp + 4, 4) & 0x10000000, 0x10000000);
    pcie_fn_config_write(ep, exp + 8, 2, 0x8000 | 0x2810);
    ck_assert(!pcie_fn_msix_enabled(ep));
    ck_assert_uint_eq(pcie_fn_config_read(ep, PCI_COMMAND, 2), 0);
    ck_assert_uint_eq(pcie_fn_config_read(ep, exp + 8, 2), 0x2810);
    ck_assert_uint_eq(pcie_fn_bar_addr(ep, 0), PCIE_BAR_UNMAPPED);
    ck_assert_uint_eq(pcie_fn_config_read(ep, exp + 4, 4) & 0x10000000, 0x10000000);
    pcie_fn_config_write(ep, PCI_BASE_ADDRESS_0, 4, (uint32_t)bar);
    pcie_fn_config_write(ep, PCI_COMMAND, 2, 0x6);
    addr_space_read(fx.mem, bar + 0x2000 + 16 + 12, 4, &v);
    ck_assert_uint_eq(v, 1);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_intx_swizzle)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Topo t;
    build_topo(&fx, &t);
    pcie_fx_enumerate(&fx);
    /* ep2 INTA -> dn2 (device 2): INTC -> up (device 0): INTC at the root port. */
    pcie_fn_set_intx(t.ep2, true);
    ck_assert_uint_eq(fx.intx_events, 1);
    ck_assert_uint_eq(fx.intx_last_pin, 3);
    ck_assert_ptr_eq(fx.intx_last_fn, t.ep2);
    ck_assert_int_eq(fx.intx_level[3], 1);
    ck_assert_uint_eq(pcie_fn_config_read(t.ep2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0x8);
    /* Interrupt Disable deasserts but the status bit stays. */
    pcie_fn_config_write(t.ep2, PCI_COMMAND, 2, 0x0407);
    ck_assert_int_eq(fx.intx_level[3], 0);
    ck_assert_uint_eq(pcie_fn_config_read(t.ep2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0x8);
    pcie_fn_set_intx(t.ep2, true);                     /* no change while disabled */
    ck_assert_uint_eq(fx.intx_events, 2);
    pcie_fn_config_write(t.ep2, PCI_COMMAND, 2, 0x0007);
    ck_assert_int_eq(fx.intx_level[3], 1);
    pcie_fn_set_intx(t.ep2, false);
    ck_assert_int_eq(fx.intx_level[3], 0);
    ck_assert_uint_eq(pcie_fn_config_read(t.ep2, PCI_STATUS, 2) & PCI_STATUS_INTERRUPT, 0);
    /* ep0 below device 0 everywhere: INTA; the RCiEP on the root bus: INTA. */
    pcie_fn_set_intx(t.ep0, true);
    ck_assert_uint_eq(fx.intx_last_pin, 1);
    pcie_fn_set(t.rciep, PCI_INTERRUPT_PIN, 1, 2);
    pcie_fn_set_intx(t.rciep, true);
    ck_assert_uint_eq(fx.intx_last_pin, 2);
    ck_assert_uint_eq(fx.intx_events, 6);
    pcie_fx_fini(&fx);
}
END_TEST

/* ---- DMA ---------------------------------------------------------------------------- */

typedef struct Rec {
    GArray *tlps;
} Rec;

static PcieCplStatus rec_request(void *opaque, PcieTlp *tlp, void *data)
{
    Rec *r = opaque;
    g_array_append_val(r->tlps, *tlp);
    if (tlp->type == PCIE_TLP_MRD) {
        memset(data, 0x5a, tlp->length);
    }
    return tlp->addr >= 0x100000000ull ? PCIE_CPL_CA : PCIE_CPL_SC;
}

START_TEST(test_dma_split)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    Dev d = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
    PcieFn *ep = new_fn(&fx, rp, 0, PCIE_KIND_ENDPOINT, &d);
    uint8_t buf[2048];
    memset(buf, 0x11, sizeof(buf));
    /* No Bus Master Enable: UR, nothing leaves. */
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x1000, buf, 16, NULL), PCIE_CPL_UR);
    ck_assert_uint_eq(physmem_ldl(fx.ram, 0x1000), 0);
    pcie_fx_enumerate(&fx);
    /* Straight to RAM without a hook. */
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x1000, buf, 16, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(physmem_ldl(fx.ram, 0x100c), 0x11111111);
    physmem_stl(fx.ram, 0x2000, 0xcafef00d);
    uint32_t w = 0;
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x2000, &w, 4, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(w, 0xcafef00d);
    /* The root port's BME gates its subtree. */
    pcie_fn_config_write(rp, PCI_COMMAND, 2, PCI_COMMAND_MEMORY);
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x2000, &w, 4, NULL), PCIE_CPL_UR);
    ck_assert_uint_eq(w, 0xffffffff);
    pcie_fn_config_write(rp, PCI_COMMAND, 2, 0x7);

    Rec r = { g_array_new(FALSE, TRUE, sizeof(PcieTlp)) };
    fx.mem_request = rec_request;
    fx.mem_request_opaque = &r;
    /* MPS 128 (reset): 600 bytes from 0x1f80 -> 5 writes, none crossing 4 KiB. */
    PcieDmaAttrs at = { .pasid_present = true, .pasid = 0x42, .priv = true, .attr = 1 };
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x1f80, buf, 600, &at), PCIE_CPL_SC);
    ck_assert_uint_eq(r.tlps->len, 5);
    uint8_t tag0 = g_array_index(r.tlps, PcieTlp, 0).tag;
    static const uint64_t wa[5] = { 0x1f80, 0x2000, 0x2080, 0x2100, 0x2180 };
    static const uint32_t wl[5] = { 128, 128, 128, 128, 88 };
    for (unsigned i = 0; i < 5; i++) {
        PcieTlp *t = &g_array_index(r.tlps, PcieTlp, i);
        ck_assert_int_eq(t->type, PCIE_TLP_MWR);
        ck_assert_uint_eq(t->addr, wa[i]);
        ck_assert_uint_eq(t->length, wl[i]);
        ck_assert_uint_eq(t->requester_id, PCIE_BDF(1, 0, 0));
        ck_assert_uint_eq(t->tag, (tag0 + i) & 0x1f);   /* 5-bit tags: Extended Tag off */
        ck_assert(t->pasid_present && t->pasid == 0x42 && t->priv && !t->exec);
        ck_assert_uint_eq(t->attr, 1);
    }
    /* MPS 256, MRRS 512 via Device Control; a read of 1100 bytes from 0xf00. */
    uint8_t exp = pcie_fn_find_cap(ep, PCI_CAP_ID_EXP);
    pcie_fn_config_write(ep, exp + 8, 2, 0x2030);
    g_array_set_size(r.tlps, 0);
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0xf00, buf, 1100, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(r.tlps->len, 3);
    ck_assert_uint_eq(g_array_index(r.tlps, PcieTlp, 0).length, 256);   /* up to 4 KiB */
    ck_assert_uint_eq(g_array_index(r.tlps, PcieTlp, 1).length, 512);
    ck_assert_uint_eq(g_array_index(r.tlps, PcieTlp, 2).length, 332);
    ck_assert_uint_eq(g_array_index(r.tlps, PcieTlp, 2).addr, 0x1200);
    ck_assert_uint_eq(buf[1099], 0x5a);
    ck_assert_int_eq(g_array_index(r.tlps, PcieTlp, 0).at, PCIE_AT_UNTRANSLATED);
    g_array_set_size(r.tlps, 0);
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x1000, buf, 700, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(r.tlps->len, 3);                  /* 256 + 256 + 188 */
    /* The first failing request stops the transfer. */
    g_array_set_size(r.tlps, 0);
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0xfffffe00ull, buf, 1024, NULL), PCIE_CPL_CA);
    ck_assert_uint_eq(r.tlps->len, 2);
    ck_assert(g_array_index(r.tlps, PcieTlp, 1).addr64);
    ck_assert_uint_eq(buf[1023], 0xff);
    /* Interrupt-window writes go to msi, never to mem_request. */
    g_array_set_size(r.tlps, 0);
    uint32_t data = 0x31;
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0xfee00000, &data, 4, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(r.tlps->len, 0);
    ck_assert_uint_eq(fx.msis->len, 1);
    ck_assert_uint_eq(g_array_index(fx.msis, PcieFxMsi, 0).data, 0x31);
    g_array_free(r.tlps, TRUE);
    pcie_fx_fini(&fx);
}
END_TEST

START_TEST(test_dma_no_rc_ops)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    pcie_fabric_set_rc_ops(fx.fabric, NULL, NULL);
    Dev d = { 0 };
    PcieFn *ep = new_fn(&fx, NULL, PCIE_DEVFN(3, 0), PCIE_KIND_RC_INTEGRATED, &d);
    pcie_fn_config_write(ep, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    uint8_t b[300];
    for (unsigned i = 0; i < sizeof(b); i++) {
        b[i] = (uint8_t)i;
    }
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x3ff0, b, sizeof(b), NULL), PCIE_CPL_SC);
    uint8_t c[300] = { 0 };
    physmem_read(fx.ram, 0x3ff0, c, sizeof(c));
    ck_assert_mem_eq(b, c, sizeof(b));
    /* Outside RAM: UR, read data all ones. */
    ck_assert_int_eq(pcie_fn_dma_read(ep, PCIE_FX_RAM_SIZE, c, 8, NULL), PCIE_CPL_UR);
    ck_assert_uint_eq(c[7], 0xff);
    pcie_fn_msi_notify(ep, 0);   /* nothing enabled, nothing set: no crash */
    pcie_fx_fini(&fx);
}
END_TEST

/* Completions by address for test_aer_logging: UR, CA, poisoned, no completion. */
static PcieCplStatus aer_mem_request(void *opaque, PcieTlp *tlp, void *data)
{
    (void)opaque;
    bool rd = tlp->type == PCIE_TLP_MRD;
    if (rd) {
        memset(data, 0, tlp->length);
    }
    switch (tlp->addr >> 12) {
    case 1:
        return PCIE_CPL_UR;
    case 2:
        return PCIE_CPL_CA;
    case 3:
        tlp->poisoned = true;   /* read: EP=1 completion; write: poisoned data received */
        return PCIE_CPL_SC;
    case 4:
        tlp->cpl_timeout = true;
        return PCIE_CPL_CA;
    default:
        return PCIE_CPL_SC;
    }
}

/*
 * AER logging by the detecting agent (src/pcie/dma.c): the root port above
 * the requester for what the root complex detects (UR, CA - non-posted
 * also as Advisory Non-Fatal -, poisoned writes), the requester for
 * poisoned completions and completion timeouts; First Error Pointer for
 * the first unmasked error; masked errors still set their status bit.
 */
START_TEST(test_aer_logging)
{
    PcieFixture fx;
    pcie_fx_init(&fx);
    fx.mem_request = aer_mem_request;
    Dev d = { 0 };
    PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(0x1c, 0));
    PcieFn *ep = new_fn(&fx, rp, PCIE_DEVFN(0, 0), PCIE_KIND_ENDPOINT, &d);
    uint16_t ra = pcie_cap_aer_init(rp), ea = pcie_cap_aer_init(ep);
    pcie_fn_config_write(rp, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    pcie_fn_config_write(ep, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    uint8_t b[8] = { 0 };
    uint32_t u, c;
    ck_assert(pcie_fn_aer_status(rp, &u, &c));
    ck_assert_uint_eq(u | c, 0);
    ck_assert_ptr_eq(pcie_fn_root_port(ep), rp);
    /* UR to a read: the root port logs UR (bit 20) and, severity non-fatal, ANF (bit 13) */
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x1000, b, 8, NULL), PCIE_CPL_UR);
    ck_assert(pcie_fn_aer_status(rp, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_UNSUP);
    ck_assert_uint_eq(c, PCIE_AER_COR_ADV_NONFATAL);
    ck_assert_uint_eq(pcie_fn_config_read(rp, ra + 0x18, 4) & 0x1f, 20);   /* First Error Pointer */
    ck_assert(pcie_fn_aer_status(ep, &u, &c));
    ck_assert_uint_eq(u | c, 0);
    /* a posted write answered UR is not an advisory case; CA is bit 15 */
    pcie_fn_config_write(rp, ra + 0x10, 4, PCIE_AER_COR_ADV_NONFATAL);      /* RW1C */
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x1000, b, 8, NULL), PCIE_CPL_UR);
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x2000, b, 8, NULL), PCIE_CPL_CA);
    ck_assert(pcie_fn_aer_status(rp, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_UNSUP | PCIE_AER_UNCOR_COMP_ABORT);
    ck_assert_uint_eq(c, 0);
    ck_assert_uint_eq(pcie_fn_config_read(rp, ra + 0x18, 4) & 0x1f, 20);   /* still the first */
    /* poisoned completion: the requester logs it; poisoned write: the completer */
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x3000, b, 8, NULL), PCIE_CPL_SC);
    ck_assert(pcie_fn_aer_status(ep, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_POISON_TLP);
    ck_assert_uint_eq(pcie_fn_config_read(ep, ea + 0x18, 4) & 0x1f, 12);
    ck_assert_int_eq(pcie_fn_dma_write(ep, 0x3000, b, 8, NULL), PCIE_CPL_SC);
    ck_assert(pcie_fn_aer_status(rp, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_UNSUP | PCIE_AER_UNCOR_COMP_ABORT | PCIE_AER_UNCOR_POISON_TLP);
    /* completion timeout: the requester; nothing more at the root port */
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x4000, b, 8, NULL), PCIE_CPL_CA);
    ck_assert(pcie_fn_aer_status(ep, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_POISON_TLP | PCIE_AER_UNCOR_COMP_TIME);
    ck_assert(pcie_fn_aer_status(rp, &u, &c));
    ck_assert_uint_eq(u, PCIE_AER_UNCOR_UNSUP | PCIE_AER_UNCOR_COMP_ABORT | PCIE_AER_UNCOR_POISON_TLP);
    /* software clears the status; a masked error sets its bit but not the pointer */
    pcie_fn_config_write(ep, ea + 0x04, 4, 0xffffffff);
    pcie_fn_config_write(ep, ea + 0x08, 4, PCIE_AER_UNCOR_COMP_TIME);
    ck_assert_int_eq(pcie_fn_dma_read(ep, 0x4000, b, 8, NULL), PCIE_CPL_CA);
    ck_assert_uint_eq(pcie_fn_config_read(ep, ea + 0x04, 4), PCIE_AER_UNCOR_COMP_TIME);
    ck_assert_uint_eq(pcie_fn_config_read(ep, ea + 0x18, 4) & 0x1f, 12);
    /* correctable errors by name, through the public logger */
    ck_assert(pcie_fn_aer_log(ep, 0, PCIE_AER_COR_BAD_TLP));
    ck_assert_uint_eq(pcie_fn_config_read(ep, ea + 0x10, 4), PCIE_AER_COR_BAD_TLP);
    ck_assert_str_eq(pcie_aer_error_name(true, 6), "Bad TLP");
    ck_assert_str_eq(pcie_aer_error_name(false, 14), "Completion Timeout");
    ck_assert_ptr_null(pcie_aer_error_name(false, 3));
    /* without AER nothing is logged (and nothing breaks) */
    PcieFn *ie = new_fn(&fx, NULL, PCIE_DEVFN(3, 0), PCIE_KIND_RC_INTEGRATED, &d);
    pcie_fn_config_write(ie, PCI_COMMAND, 2, PCI_COMMAND_MASTER);
    ck_assert_int_eq(pcie_fn_dma_read(ie, 0x1000, b, 8, NULL), PCIE_CPL_UR);
    ck_assert(!pcie_fn_aer_status(ie, &u, &c));
    ck_assert(!pcie_fn_aer_log(ie, PCIE_AER_UNCOR_UNSUP, 0));
    ck_assert_ptr_null(pcie_fn_root_port(ie));
    pcie_fx_fini(&fx);
}
END_TEST

Suite *suite_pcie(void);

Suite *suite_pcie(void)
{
    Suite *s = suite_create("pcie");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_masks);
    tcase_add_test(tc, test_bridge_header_masks);
    tcase_add_test(tc, test_cap_walk);
    tcase_add_test(tc, test_cap_builders);
    tcase_add_test(tc, test_bar_sizing);
    tcase_add_test(tc, test_bar_decode);
    suite_add_tcase(s, tc);
    tc = tcase_create("topology");
    tcase_add_test(tc, test_fn_new_errors);
    tcase_add_test(tc, test_config_routing);
    tcase_add_test(tc, test_enumerate_windows);
    suite_add_tcase(s, tc);
    tc = tcase_create("sriov");
    tcase_add_test(tc, test_sriov_ari);
    tcase_add_test(tc, test_sriov_no_ari);
    tcase_add_test(tc, test_sriov_two_pfs_no_ari);
    tcase_add_test(tc, test_sriov_too_many);
    suite_add_tcase(s, tc);
    tc = tcase_create("interrupts");
    tcase_add_test(tc, test_msi_multi);
    tcase_add_test(tc, test_msix);
    tcase_add_test(tc, test_intx_swizzle);
    suite_add_tcase(s, tc);
    tc = tcase_create("dma");
    tcase_add_test(tc, test_dma_split);
    tcase_add_test(tc, test_dma_no_rc_ops);
    tcase_add_test(tc, test_aer_logging);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_pcie)
