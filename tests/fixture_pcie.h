/*
 * A small PCIe platform for tests: a simulation context, 1 GiB of RAM at
 * address 0 in a system memory space, an I/O space, and a fabric whose
 * root complex records interrupt messages and INTx changes.  Other suites
 * include it to get a fabric in a few lines:
 *
 *     PcieFixture fx;
 *     pcie_fx_init(&fx);
 *     PcieFn *rp = pcie_fx_root_port(&fx, PCIE_DEVFN(1, 0));
 *     PcieFn *ep = pcie_fn_new(fx.fabric, rp, 0, PCIE_KIND_ENDPOINT, ...);
 *     pcie_fx_enumerate(&fx);          // bus numbers, BARs, command bits
 *     ...
 *     pcie_fx_fini(&fx);
 *
 * DMA goes straight to RAM (no mem_request hook) unless a test sets
 * fx.mem_request.
 */
#ifndef VTDSIM_TESTS_FIXTURE_PCIE_H
#define VTDSIM_TESTS_FIXTURE_PCIE_H

#include <check.h>
#include <string.h>
#include "pcie/pcie.h"
#include "mem/addr_space.h"
#include "mem/physmem.h"

#define PCIE_DEVFN(dev, fn) ((uint8_t)(((dev) << 3) | (fn)))
#define PCIE_FX_RAM_SIZE (1ull << 30)

typedef struct PcieFxMsi {
    uint16_t rid;
    uint64_t addr;
    uint32_t data;
} PcieFxMsi;

typedef struct PcieFixture {
    EmuSim *sim;
    PhysMem *ram;
    AddrSpace *mem, *io;
    PcieFabric *fabric;
    PcieRcOps rc;
    GArray *msis;               /* PcieFxMsi, in arrival order */
    int intx_level[5];          /* by root pin 1..4: net count of asserted functions */
    unsigned intx_events;
    PcieFn *intx_last_fn;
    unsigned intx_last_pin;
    /* Optional: intercepts mem_request (set before the requests happen). */
    PcieCplStatus (*mem_request)(void *opaque, PcieTlp *tlp, void *data);
    void *mem_request_opaque;
} PcieFixture;

static inline void pcie_fx_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    PcieFixture *fx = opaque;
    PcieFxMsi m = { rid, addr, data };
    g_array_append_val(fx->msis, m);
}

static inline void pcie_fx_intx(void *opaque, PcieFn *fn, unsigned root_pin, bool level)
{
    PcieFixture *fx = opaque;
    ck_assert_uint_le(root_pin, 4);
    fx->intx_level[root_pin] += level ? 1 : -1;
    fx->intx_events++;
    fx->intx_last_fn = fn;
    fx->intx_last_pin = root_pin;
}

static inline PcieCplStatus pcie_fx_mem_request(void *opaque, PcieTlp *tlp, void *data)
{
    PcieFixture *fx = opaque;
    if (fx->mem_request) {
        return fx->mem_request(fx->mem_request_opaque, tlp, data);
    }
    bool rd = tlp->type == PCIE_TLP_MRD;
    if (!rd && tlp->type != PCIE_TLP_MWR) {
        return PCIE_CPL_UR;
    }
    return addr_space_rw(fx->mem, tlp->addr, data, tlp->length, !rd) == MEMTX_OK ? PCIE_CPL_SC
                                                                               : PCIE_CPL_UR;
}

static inline void pcie_fx_init(PcieFixture *fx)
{
    memset(fx, 0, sizeof(*fx));
    fx->sim = emu_sim_new();
    fx->ram = physmem_new(40);
    fx->mem = addr_space_new("memory", 1ull << 40, 0);
    fx->io = addr_space_new("io", 1u << 16, 0xffffffffffffffffull);
    addr_space_add_ram(fx->mem, "ram", 0, PCIE_FX_RAM_SIZE, fx->ram, 0, 0);
    fx->fabric = pcie_fabric_new(fx->sim, fx->mem, fx->io);
    fx->msis = g_array_new(FALSE, TRUE, sizeof(PcieFxMsi));
    fx->rc.msi = pcie_fx_msi;
    fx->rc.intx = pcie_fx_intx;
    fx->rc.mem_request = pcie_fx_mem_request;
    pcie_fabric_set_rc_ops(fx->fabric, &fx->rc, fx);
}

/* A root port at @devfn on the root bus. */
static inline PcieFn *pcie_fx_root_port(PcieFixture *fx, uint8_t devfn)
{
    GError *err = NULL;
    PcieFn *rp = pcie_fn_new(fx->fabric, NULL, devfn, PCIE_KIND_ROOT_PORT, 0x8086, 0x7c10,
                             0x060400, NULL, NULL, &err);
    ck_assert_msg(rp != NULL, "root port: %s", err ? err->message : "?");
    return rp;
}

/* Firmware enumeration with q35-like windows; asserts success. */
static inline void pcie_fx_enumerate(PcieFixture *fx)
{
    static const PcieEnumWindows w = {
        .mem32_base = 0xc0000000, .mem32_limit = 0xfebfffff,
        .mem64_base = 0x8000000000ull, .mem64_limit = 0xffffffffffull,
        .io_base = 0x1000, .io_limit = 0xffff,
    };
    GError *err = NULL;
    gboolean ok = pcie_fabric_enumerate(fx->fabric, &w, false, &err);
    ck_assert_msg(ok, "enumerate: %s", err ? err->message : "?");
}

static inline void pcie_fx_fini(PcieFixture *fx)
{
    pcie_fabric_free(fx->fabric);
    addr_space_free(fx->mem);
    addr_space_free(fx->io);
    physmem_free(fx->ram);
    g_array_free(fx->msis, TRUE);
    emu_sim_free(fx->sim);
}

#endif
