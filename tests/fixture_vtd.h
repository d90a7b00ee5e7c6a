/*
 * Shared pieces of the VT-d unit suites (check_vtd_regs, check_vtd_qi,
 * check_vtd_ir): register access the way software does it, and one small
 * legacy-mode translation setup.  Each suite keeps its own fixture struct
 * (what it records differs); these helpers take the unit and memory.
 *
 * The legacy setup: root table at VTD_FX_ROOT, the context entry of
 * VTD_FX_SID (00:01.0) in domain VTD_FX_DID with a 39-bit (3-level)
 * second-stage table whose first 16 pages map IOVA 0x0000..0xf000 to
 * 0x200000..0x20f000 read/write; then RTADDR, SRTP and TE.
 */
#ifndef VTDSIM_TESTS_FIXTURE_VTD_H
#define VTDSIM_TESTS_FIXTURE_VTD_H

#include <stdint.h>
#include "mem/physmem.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_regs.h"

#define VTD_FX_ROOT 0x10000
#define VTD_FX_CTX 0x11000
#define VTD_FX_SL3 0x12000
#define VTD_FX_SL2 0x13000
#define VTD_FX_SL1 0x14000
#define VTD_FX_SID 0x0008      /* 00:01.0 */
#define VTD_FX_DID 5

static inline uint64_t vtd_fx_rd(VtdUnit *u, uint64_t off, unsigned size)
{
    return vtd_unit_mmio_ops()->read(u, off, size);
}

static inline void vtd_fx_wr(VtdUnit *u, uint64_t off, uint64_t val, unsigned size)
{
    vtd_unit_mmio_ops()->write(u, off, val, size);
}

/* GCMD the way the specification tells software to: from GSTS, one-shots cleared. */
static inline void vtd_fx_gcmd(VtdUnit *u, uint32_t set, uint32_t clear)
{
    uint32_t v = (uint32_t)vtd_fx_rd(u, 0x1c, 4) & 0x96ffffffu;
    vtd_fx_wr(u, 0x18, (v | set) & ~clear, 4);
}

static inline void vtd_fx_legacy_tables(VtdUnit *u, PhysMem *mem)
{
    physmem_stq(mem, VTD_FX_ROOT + 0, VTD_FX_CTX | 1);
    physmem_stq(mem, VTD_FX_ROOT + 8, 0);
    uint64_t ce = VTD_FX_CTX + 16 * (VTD_FX_SID & 0xff);
    physmem_stq(mem, ce, VTD_FX_SL3 | 1);                          /* P, TT=00 */
    physmem_stq(mem, ce + 8, 1 | ((uint64_t)VTD_FX_DID << 8));     /* AW=1 (39-bit), DID */
    physmem_stq(mem, VTD_FX_SL3, VTD_FX_SL2 | 3);
    physmem_stq(mem, VTD_FX_SL2, VTD_FX_SL1 | 3);
    for (unsigned i = 0; i < 16; i++)
        physmem_stq(mem, VTD_FX_SL1 + 8 * i, (0x200000 + 0x1000 * i) | 3);
    vtd_fx_wr(u, 0x20, VTD_FX_ROOT, 8);
    vtd_fx_gcmd(u, VTD_GCMD_SRTP, 0);
    vtd_fx_gcmd(u, VTD_GCMD_TE, 0);
}

/* A 4-byte untranslated read by VTD_FX_SID; the output address. */
static inline uint64_t vtd_fx_xlate(VtdUnit *u, uint64_t iova, VtdXlateStatus *st)
{
    VtdXlateRequest req = { .sid = VTD_FX_SID, .addr = iova, .len = 4, .at = VTD_AT_UNTRANSLATED };
    VtdXlateResult res;
    *st = vtd_unit_translate(u, &req, &res);
    return res.out_addr;
}

#endif
