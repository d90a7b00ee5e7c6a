/*
 * Fuzz target: the VT-d register file, queued invalidation and the page
 * walker driven by an op program over random memory - including tables that
 * point at themselves.  Each op is 16 bytes:
 *   byte 0    op: 0 MMIO write, 1 MMIO read, 2 memory qword write, 3 DMA read,
 *             4 DMA write, 5 clock step
 *   byte 1    size selector (4 or 8 bytes)
 *   bytes 2-7 offset / address (48 bits)
 *   bytes 8-15 value
 * Memory is a 16 MiB window so that random pointers often land in tables.
 */
#include <string.h>
#include <glib.h>
#include "fuzz.h"
#include "vtdsim/vtdsim.h"
#include "platform/platform.h"

static const char platform_text[] =
    "[platform]\nram = 16M\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\nats = true\npasid = 20\npri = 8\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    "ecap.SMTS = 1\necap.FSTS = 1\necap.SSTS = 1\necap.PASID = 1\necap.PSS = 19\necap.PRS = 1\n"
    "ecap.IR = 1\n";

static uint64_t le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;) {
        v = (v << 8) | p[i];
    }
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    EmuSim *sim = vtdsim_platform_new_from_data(platform_text, "fuzz", NULL);
    if (!sim) {
        return 0;
    }
    Platform *p = platform_get(sim);
    PcieFn *dev = platform_find_device(p, "dev");
    uint8_t buf[256];
    for (size_t off = 0; off + 16 <= size && off < 16 * 4096; off += 16) {
        const uint8_t *op = data + off;
        unsigned sz = (op[1] & 1) ? 8 : 4;
        uint64_t a = le(op + 2, 6), v = le(op + 8, 8);
        uint64_t val;
        switch (op[0] % 6) {
        case 0:
            addr_space_write(p->mem, 0xFED90000 + (a & 0xffc), sz, v);
            break;
        case 1:
            addr_space_read(p->mem, 0xFED90000 + (a & 0xffc), sz, &val);
            break;
        case 2:
            addr_space_write(p->mem, a & 0xfffff8, 8, v);
            break;
        case 3:
        case 4: {
            PcieDmaAttrs at = { .pasid_present = v & 1, .pasid = (uint32_t)(v >> 8) & 0xfffff,
                                .priv = v & 2, .exec = v & 4,
                                .at = (v & 8) ? PCIE_AT_TRANSLATED : PCIE_AT_UNTRANSLATED };
            uint32_t len = 1 + (uint32_t)((v >> 32) % sizeof buf);
            if (op[0] % 6 == 3) {
                pcie_fn_dma_read(dev, a, buf, len, &at);
            } else {
                memset(buf, 0x5a, sizeof buf);
                pcie_fn_dma_write(dev, a, buf, len, &at);
            }
            break;
        }
        case 5:
            emu_sim_run_until(sim, emu_sim_now(sim) + (v & 0xffffff));
            break;
        }
    }
    emu_sim_free(sim);
    return 0;
}
