/*
 * VT-d DMA-remapping unit: the register file as data.
 *
 * Every register of a remapping hardware unit (Intel VT-d 4.x, chapter 11)
 * is declared once, in VTD_REG_TABLE below: its name, its offset, its size,
 * its reset value, the bits software may write, the bits that are
 * write-1-to-clear, where its offset comes from (fixed, relative to
 * ECAP.IRO*16 for the IOTLB pair, relative to CAP.FRO*16 for the fault
 * recording registers) and which capability makes it exist.  The register
 * file (vtd.c) interprets this table with one generic write path; only the
 * side effects of a write (a command, a queue tail move) are code.
 *
 * Fields are reached through static inline helpers generated from the field
 * tables below and named exactly as the specification names them, so
 * vtd_cap_SAGAW(cap) is CAP.SAGAW and vtd_IOTLB_IIRG(v) is IOTLB_REG.IIRG.
 * Each helper takes and returns the whole 64-bit register value; single-bit
 * flags additionally have VTD_<REG>_<BIT> mask constants.
 *
 * Registers whose reset value depends on the unit's parameters (VER, CAP,
 * ECAP, MTRRCAP) carry VTD_RF_PARAM: vtd.c fills them in from VtdParams.
 *
 * Not declared: VCCAP/VCMD/VCRSP (virtual command, ECAP.VCS) and the
 * performance-monitoring block (ECAP.PMS): neither is modelled.
 */
#ifndef VTDSIM_MODELS_VTD_VTD_REGS_H
#define VTDSIM_MODELS_VTD_VTD_REGS_H

#include <stdbool.h>
#include <stdint.h>

/* ---- generic field access ------------------------------------------------ */

/** Mask of @len bits starting at bit @lo (1 <= len <= 64). */
static inline uint64_t vtd_field_mask(unsigned lo, unsigned len)
{
    return (len >= 64 ? ~UINT64_C(0) : ((UINT64_C(1) << len) - 1)) << lo;
}

static inline uint64_t vtd_field_get(uint64_t v, unsigned lo, unsigned len)
{
    return (v & vtd_field_mask(lo, len)) >> lo;
}

static inline uint64_t vtd_field_set(uint64_t v, unsigned lo, unsigned len, uint64_t x)
{
    uint64_t m = vtd_field_mask(lo, len);
    return (v & ~m) | ((x << lo) & m);
}

/*
 * VTD_DEFINE_FIELD(prefix, NAME, lo, len) generates
 *   uint64_t prefix_NAME(uint64_t reg)              the field value
 *   uint64_t prefix_set_NAME(uint64_t reg, x)       reg with the field replaced
 */
#define VTD_DEFINE_FIELD(prefix, name, lo, len)                                 \
    static inline uint64_t prefix##_##name(uint64_t v)                          \
    {                                                                           \
        return vtd_field_get(v, (lo), (len));                                   \
    }                                                                           \
    static inline uint64_t prefix##_set_##name(uint64_t v, uint64_t x)          \
    {                                                                           \
        return vtd_field_set(v, (lo), (len), x);                                \
    }

/* ---- the register table --------------------------------------------------- */

/* Where a register's offset is counted from. */
typedef enum VtdRegBase {
    VTD_RB_FIXED = 0,   /* absolute offset */
    VTD_RB_IRO,         /* offset + ECAP.IRO * 16 (IVA, IOTLB) */
    VTD_RB_FRO,         /* offset + CAP.FRO * 16 + 16 * n for each of CAP.NFR + 1 records */
} VtdRegBase;

/* Which capability makes a register exist; absent registers read 0, ignore writes. */
typedef enum VtdRegCond {
    VTD_RC_ALWAYS = 0,
    VTD_RC_AFL,         /* CAP.AFL */
    VTD_RC_PMR,         /* CAP.PLMR or CAP.PHMR */
    VTD_RC_PLMR,        /* CAP.PLMR */
    VTD_RC_PHMR,        /* CAP.PHMR */
    VTD_RC_QI,          /* ECAP.QI */
    VTD_RC_IR,          /* ECAP.IR */
    VTD_RC_PRS,         /* ECAP.PRS */
    VTD_RC_MTS,         /* ECAP.MTS */
} VtdRegCond;

/* Flags. */
enum {
    VTD_RF_PARAM = 0x1,     /* reset value comes from VtdParams */
    VTD_RF_WO = 0x2,        /* write-only: reads return 0 (GCMD, IVA) */
    VTD_RF_EIM = 0x4,       /* writable only when ECAP.EIM, RsvdZ otherwise */
};

#define VTD_ALL64 UINT64_C(0xffffffffffffffff)

/*
 * X(NAME, offset, size, reset, wmask, w1cmask, base, cond, flags)
 * Offsets and bit semantics: VT-d 4.x section 11.4; reset values: the
 * specification's "Default" column.
 */
#define VTD_REG_TABLE(X)                                                                     \
    X(VER,      0x000, 4, 0x10,        0,                         0,    VTD_RB_FIXED, VTD_RC_ALWAYS, VTD_RF_PARAM) \
    X(CAP,      0x008, 8, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_ALWAYS, VTD_RF_PARAM) \
    X(ECAP,     0x010, 8, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_ALWAYS, VTD_RF_PARAM) \
    X(GCMD,     0x018, 4, 0,           0xff800000,                0,    VTD_RB_FIXED, VTD_RC_ALWAYS, VTD_RF_WO) \
    X(GSTS,     0x01c, 4, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(RTADDR,   0x020, 8, 0,           UINT64_C(0xfffffffffffffc00), 0, VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(CCMD,     0x028, 8, 0,           UINT64_C(0xe0000003ffffffff), 0, VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(FSTS,     0x034, 4, 0,           0,                         0x71, VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(FECTL,    0x038, 4, 0x80000000,  0x80000000,                0,    VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(FEDATA,   0x03c, 4, 0,           0x0000ffff,                0,    VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(FEADDR,   0x040, 4, 0,           0xfffffffc,                0,    VTD_RB_FIXED, VTD_RC_ALWAYS, 0) \
    X(FEUADDR,  0x044, 4, 0,           0xffffffff,                0,    VTD_RB_FIXED, VTD_RC_ALWAYS, VTD_RF_EIM) \
    X(AFLOG,    0x058, 8, 0,           UINT64_C(0xfffffffffffffe00), 0, VTD_RB_FIXED, VTD_RC_AFL, 0) \
    X(PMEN,     0x064, 4, 0,           0x80000000,                0,    VTD_RB_FIXED, VTD_RC_PMR, 0) \
    X(PLMBASE,  0x068, 4, 0,           0xffe00000,                0,    VTD_RB_FIXED, VTD_RC_PLMR, 0) \
    X(PLMLIMIT, 0x06c, 4, 0,           0xffe00000,                0,    VTD_RB_FIXED, VTD_RC_PLMR, 0) \
    X(PHMBASE,  0x070, 8, 0,           UINT64_C(0xffffffffffe00000), 0, VTD_RB_FIXED, VTD_RC_PHMR, 0) \
    X(PHMLIMIT, 0x078, 8, 0,           UINT64_C(0xffffffffffe00000), 0, VTD_RB_FIXED, VTD_RC_PHMR, 0) \
    X(IQH,      0x080, 8, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IQT,      0x088, 8, 0,           0x7fff0,                   0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IQA,      0x090, 8, 0,           UINT64_C(0xfffffffffffff807), 0, VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(ICS,      0x09c, 4, 0,           0,                         0x1,  VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IECTL,    0x0a0, 4, 0x80000000,  0x80000000,                0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IEDATA,   0x0a4, 4, 0,           0x0000ffff,                0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IEADDR,   0x0a8, 4, 0,           0xfffffffc,                0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IEUADDR,  0x0ac, 4, 0,           0xffffffff,                0,    VTD_RB_FIXED, VTD_RC_QI, VTD_RF_EIM) \
    X(IQERCD,   0x0b0, 8, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_QI, 0) \
    X(IRTA,     0x0b8, 8, 0,           UINT64_C(0xfffffffffffff80f), 0, VTD_RB_FIXED, VTD_RC_IR, 0) \
    X(PQH,      0x0c0, 8, 0,           0x7ffe0,                   0,    VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PQT,      0x0c8, 8, 0,           0,                         0,    VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PQA,      0x0d0, 8, 0,           UINT64_C(0xfffffffffffff007), 0, VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PRS,      0x0dc, 4, 0,           0,                         0x3,  VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PECTL,    0x0e0, 4, 0x80000000,  0x80000000,                0,    VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PEDATA,   0x0e4, 4, 0,           0x0000ffff,                0,    VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PEADDR,   0x0e8, 4, 0,           0xfffffffc,                0,    VTD_RB_FIXED, VTD_RC_PRS, 0) \
    X(PEUADDR,  0x0ec, 4, 0,           0xffffffff,                0,    VTD_RB_FIXED, VTD_RC_PRS, VTD_RF_EIM) \
    X(MTRRCAP,  0x100, 8, 0x50a,       0,                         0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRRDEF,  0x108, 8, 0,           0xcff,                     0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX64K_00000, 0x120, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX16K_80000, 0x128, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX16K_A0000, 0x130, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_C0000,  0x138, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_C8000,  0x140, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_D0000,  0x148, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_D8000,  0x150, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_E0000,  0x158, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_E8000,  0x160, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_F0000,  0x168, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_FIX4K_F8000,  0x170, 8, 0,  VTD_ALL64,                 0,    VTD_RB_FIXED, VTD_RC_MTS, 0) \
    VTD_MTRR_VAR(X, 0) VTD_MTRR_VAR(X, 1) VTD_MTRR_VAR(X, 2) VTD_MTRR_VAR(X, 3)                 \
    VTD_MTRR_VAR(X, 4) VTD_MTRR_VAR(X, 5) VTD_MTRR_VAR(X, 6) VTD_MTRR_VAR(X, 7)                 \
    VTD_MTRR_VAR(X, 8) VTD_MTRR_VAR(X, 9)                                                       \
    X(IVA,      0x000, 8, 0,           UINT64_C(0xfffffffffffff07f), 0, VTD_RB_IRO, VTD_RC_ALWAYS, VTD_RF_WO) \
    X(IOTLB,    0x008, 8, 0,           UINT64_C(0xb003ffff00000000), 0, VTD_RB_IRO, VTD_RC_ALWAYS, 0) \
    X(FRCD_LO,  0x000, 8, 0,           0,                         0,    VTD_RB_FRO, VTD_RC_ALWAYS, 0) \
    X(FRCD_HI,  0x008, 8, 0,           0,                         UINT64_C(0x8000000000000000), VTD_RB_FRO, VTD_RC_ALWAYS, 0)

/* Variable-range MTRR pair n: PHYSBASEn at 0x180 + 16n, PHYSMASKn at 0x188 + 16n. */
#define VTD_MTRR_VAR(X, n)                                                                     \
    X(MTRR_PHYSBASE##n, 0x180 + 16 * (n), 8, 0, UINT64_C(0xfffffffffffff0ff), 0, VTD_RB_FIXED, VTD_RC_MTS, 0) \
    X(MTRR_PHYSMASK##n, 0x188 + 16 * (n), 8, 0, UINT64_C(0xfffffffffffff800), 0, VTD_RB_FIXED, VTD_RC_MTS, 0)

typedef enum VtdRegId {
#define VTD_REG_ENUM(name, off, size, reset, wmask, w1c, base, cond, flags) VTD_REG_##name,
    VTD_REG_TABLE(VTD_REG_ENUM)
#undef VTD_REG_ENUM
    VTD_REG__COUNT
} VtdRegId;

/** Static description of one register (one row of VTD_REG_TABLE). */
typedef struct VtdRegDesc {
    const char *name;
    uint16_t offset;        /* absolute, or relative to base */
    uint8_t size;           /* 4 or 8 */
    uint8_t flags;          /* VTD_RF_* */
    uint64_t reset;
    uint64_t wmask;
    uint64_t w1cmask;
    VtdRegBase base;
    VtdRegCond cond;
} VtdRegDesc;

/*
 * Offsets as constants (VTD_CAP_REG, VTD_IQT_REG, ...), for code that needs
 * them at compile time.  For IVA, IOTLB and FRCD_LO/HI the value is relative
 * to ECAP.IRO*16 / CAP.FRO*16; use vtd_unit_reg_offset() for the absolute one.
 */
enum {
#define VTD_REG_OFF(name, off, size, reset, wmask, w1c, base, cond, flags) VTD_##name##_REG = (off),
    VTD_REG_TABLE(VTD_REG_OFF)
#undef VTD_REG_OFF
};

/** Size of one fault recording register and of the IVA/IOTLB pair. */
#define VTD_FRCD_REG_SIZE 16

/* ---- CAP (VT-d 4.x 11.4.2) ------------------------------------------------- */

/* X(NAME, lo, len) */
#define VTD_CAP_FIELDS(X)                                                                      \
    X(ND, 0, 3) X(AFL, 3, 1) X(RWBF, 4, 1) X(PLMR, 5, 1) X(PHMR, 6, 1) X(CM, 7, 1)              \
    X(SAGAW, 8, 5) X(MGAW, 16, 6) X(ZLR, 22, 1) X(ISOCH, 23, 1) X(FRO, 24, 10)                  \
    X(SLLPS, 34, 4) X(PSI, 39, 1) X(NFR, 40, 8) X(MAMV, 48, 6) X(DWD, 54, 1) X(DRD, 55, 1)      \
    X(FS1GP, 56, 1) X(PI, 59, 1) X(FS5LP, 60, 1) X(ECMDS, 61, 1) X(ESIRTPS, 62, 1)              \
    X(ESRTPS, 63, 1)

#define VTD_CAP_DEFINE(name, lo, len) VTD_DEFINE_FIELD(vtd_cap, name, lo, len)
VTD_CAP_FIELDS(VTD_CAP_DEFINE)
#undef VTD_CAP_DEFINE

/* SAGAW bits (CAP 12:8): bit 1 = 39-bit 3-level, bit 2 = 48-bit 4-level, bit 3 = 57-bit 5-level. */
enum { VTD_SAGAW_39 = 0x2, VTD_SAGAW_48 = 0x4, VTD_SAGAW_57 = 0x8 };
/* SLLPS bits (CAP 37:34): bit 0 = 2 MiB, bit 1 = 1 GiB. */
enum { VTD_SLLPS_2M = 0x1, VTD_SLLPS_1G = 0x2 };

/** Number of domains supported: 2^(4 + 2*ND). */
static inline uint64_t vtd_cap_num_domains(uint64_t cap)
{
    return UINT64_C(1) << (4 + 2 * vtd_cap_ND(cap));
}

/* ---- ECAP (VT-d 4.x 11.4.3) ------------------------------------------------ */

#define VTD_ECAP_FIELDS(X)                                                                     \
    X(C, 0, 1) X(QI, 1, 1) X(DT, 2, 1) X(IR, 3, 1) X(EIM, 4, 1) X(PT, 6, 1) X(SC, 7, 1)         \
    X(IRO, 8, 10) X(MHMV, 20, 4) X(MTS, 25, 1) X(NEST, 26, 1) X(PRS, 29, 1) X(ERS, 30, 1)       \
    X(SRS, 31, 1) X(NWFS, 33, 1) X(EAFS, 34, 1) X(PSS, 35, 5) X(PASID, 40, 1) X(DIT, 41, 1)     \
    X(PDS, 42, 1) X(SMTS, 43, 1) X(VCS, 44, 1) X(SSADS, 45, 1) X(SSTS, 46, 1) X(FSTS, 47, 1)    \
    X(SMPWCS, 48, 1) X(RPS, 49, 1) X(PMS, 51, 1) X(ADMS, 52, 1) X(RPRIVS, 53, 1) X(SMS, 58, 1)

#define VTD_ECAP_DEFINE(name, lo, len) VTD_DEFINE_FIELD(vtd_ecap, name, lo, len)
VTD_ECAP_FIELDS(VTD_ECAP_DEFINE)
#undef VTD_ECAP_DEFINE

/* ---- GCMD / GSTS (11.4.4, 11.4.5) ------------------------------------------ */

#define VTD_GCMD_TE    (UINT32_C(1) << 31)  /* Translation Enable */
#define VTD_GCMD_SRTP  (UINT32_C(1) << 30)  /* Set Root Table Pointer */
#define VTD_GCMD_SFL   (UINT32_C(1) << 29)  /* Set Fault Log (AFL) */
#define VTD_GCMD_EAFL  (UINT32_C(1) << 28)  /* Enable Advanced Fault Logging */
#define VTD_GCMD_WBF   (UINT32_C(1) << 27)  /* Write Buffer Flush */
#define VTD_GCMD_QIE   (UINT32_C(1) << 26)  /* Queued Invalidation Enable */
#define VTD_GCMD_IRE   (UINT32_C(1) << 25)  /* Interrupt Remapping Enable */
#define VTD_GCMD_SIRTP (UINT32_C(1) << 24)  /* Set Interrupt Remap Table Pointer */
#define VTD_GCMD_CFI   (UINT32_C(1) << 23)  /* Compatibility Format Interrupt */

#define VTD_GSTS_TES   (UINT32_C(1) << 31)  /* Translation Enable Status */
#define VTD_GSTS_RTPS  (UINT32_C(1) << 30)  /* Root Table Pointer Status */
#define VTD_GSTS_FLS   (UINT32_C(1) << 29)  /* Fault Log Status */
#define VTD_GSTS_AFLS  (UINT32_C(1) << 28)  /* Advanced Fault Logging Status */
#define VTD_GSTS_WBFS  (UINT32_C(1) << 27)  /* Write Buffer Flush Status */
#define VTD_GSTS_QIES  (UINT32_C(1) << 26)  /* Queued Invalidation Enable Status */
#define VTD_GSTS_IRES  (UINT32_C(1) << 25)  /* Interrupt Remapping Enable Status */
#define VTD_GSTS_IRTPS (UINT32_C(1) << 24)  /* Interrupt Remapping Table Pointer Status */
#define VTD_GSTS_CFIS  (UINT32_C(1) << 23)  /* Compatibility Format Interrupt Status */

/* ---- RTADDR (11.4.6) ------------------------------------------------------- */

VTD_DEFINE_FIELD(vtd_RTADDR, TTM, 10, 2)
VTD_DEFINE_FIELD(vtd_RTADDR, RTA, 12, 52)
enum { VTD_TTM_LEGACY = 0, VTD_TTM_SCALABLE = 1, VTD_TTM_RESERVED = 2, VTD_TTM_ABORT_DMA = 3 };

/* ---- CCMD (11.4.7) --------------------------------------------------------- */

#define VTD_CCMD_ICC (UINT64_C(1) << 63)    /* Invalidate Context-Cache */
VTD_DEFINE_FIELD(vtd_CCMD, DID, 0, 16)
VTD_DEFINE_FIELD(vtd_CCMD, SID, 16, 16)
VTD_DEFINE_FIELD(vtd_CCMD, FM, 32, 2)
VTD_DEFINE_FIELD(vtd_CCMD, CAIG, 59, 2)
VTD_DEFINE_FIELD(vtd_CCMD, CIRG, 61, 2)
VTD_DEFINE_FIELD(vtd_CCMD, ICC, 63, 1)
/* CIRG / CAIG encodings. */
enum { VTD_CC_GLOBAL = 1, VTD_CC_DOMAIN = 2, VTD_CC_DEVICE = 3 };

/* ---- IVA / IOTLB (11.4.8) -------------------------------------------------- */

#define VTD_IOTLB_IVT (UINT64_C(1) << 63)   /* Invalidate IOTLB */
#define VTD_IOTLB_DR  (UINT64_C(1) << 49)   /* Drain Reads */
#define VTD_IOTLB_DW  (UINT64_C(1) << 48)   /* Drain Writes */
VTD_DEFINE_FIELD(vtd_IOTLB, DID, 32, 16)
VTD_DEFINE_FIELD(vtd_IOTLB, DW, 48, 1)
VTD_DEFINE_FIELD(vtd_IOTLB, DR, 49, 1)
VTD_DEFINE_FIELD(vtd_IOTLB, IAIG, 57, 2)
VTD_DEFINE_FIELD(vtd_IOTLB, IIRG, 60, 2)
VTD_DEFINE_FIELD(vtd_IOTLB, IVT, 63, 1)
/* IIRG / IAIG encodings. */
enum { VTD_IOTLB_GLOBAL = 1, VTD_IOTLB_DSI = 2, VTD_IOTLB_PSI = 3 };

#define VTD_IVA_IH (UINT64_C(1) << 6)       /* Invalidation Hint */
VTD_DEFINE_FIELD(vtd_IVA, AM, 0, 6)
VTD_DEFINE_FIELD(vtd_IVA, IH, 6, 1)
VTD_DEFINE_FIELD(vtd_IVA, ADDR, 12, 52)

/* ---- FSTS / FECTL / FEDATA / FEADDR (11.4.9.x) ----------------------------- */

#define VTD_FSTS_PFO (UINT32_C(1) << 0)     /* Primary Fault Overflow (RW1C) */
#define VTD_FSTS_PPF (UINT32_C(1) << 1)     /* Primary Pending Fault (RO) */
#define VTD_FSTS_AFO (UINT32_C(1) << 2)     /* Advanced Fault Overflow */
#define VTD_FSTS_APF (UINT32_C(1) << 3)     /* Advanced Pending Fault */
#define VTD_FSTS_IQE (UINT32_C(1) << 4)     /* Invalidation Queue Error (RW1C) */
#define VTD_FSTS_ICE (UINT32_C(1) << 5)     /* Invalidation Completion Error (RW1C) */
#define VTD_FSTS_ITE (UINT32_C(1) << 6)     /* Invalidation Time-out Error (RW1C) */
#define VTD_FSTS_PRO (UINT32_C(1) << 7)     /* Page Request Overflow (legacy position) */
VTD_DEFINE_FIELD(vtd_FSTS, FRI, 8, 8)

#define VTD_FECTL_IM (UINT32_C(1) << 31)    /* Interrupt Mask */
#define VTD_FECTL_IP (UINT32_C(1) << 30)    /* Interrupt Pending */
#define VTD_IECTL_IM (UINT32_C(1) << 31)
#define VTD_IECTL_IP (UINT32_C(1) << 30)
#define VTD_PECTL_IM (UINT32_C(1) << 31)
#define VTD_PECTL_IP (UINT32_C(1) << 30)

/* ---- PMEN (11.4.10) -------------------------------------------------------- */

#define VTD_PMEN_EPM (UINT32_C(1) << 31)    /* Enable Protected Memory */
#define VTD_PMEN_PRS (UINT32_C(1) << 0)     /* Protected Region Status */

/* ---- invalidation queue (11.4.11) ------------------------------------------ */

VTD_DEFINE_FIELD(vtd_IQH, QH, 4, 15)
VTD_DEFINE_FIELD(vtd_IQT, QT, 4, 15)
VTD_DEFINE_FIELD(vtd_IQA, QS, 0, 3)
VTD_DEFINE_FIELD(vtd_IQA, DW, 11, 1)
VTD_DEFINE_FIELD(vtd_IQA, IQA, 12, 52)
#define VTD_IQA_DW (UINT64_C(1) << 11)      /* Descriptor Width: 1 = 256-bit */
#define VTD_ICS_IWC (UINT32_C(1) << 0)      /* Invalidation Wait Descriptor Complete */

/* IQERCD: IQEI 3:0 (reason for IQE), ITESID 47:32, ICESID 63:48. */
VTD_DEFINE_FIELD(vtd_IQERCD, IQEI, 0, 4)
VTD_DEFINE_FIELD(vtd_IQERCD, ITESID, 32, 16)
VTD_DEFINE_FIELD(vtd_IQERCD, ICESID, 48, 16)

/*
 * IQEI values: why a descriptor raised IQE (VT-d 4.x 11.4.11.8).  Only the
 * codes whose meaning is certain are declared; the model emits nothing else.
 */
#define VTD_IQEI_TABLE(X)                                                                      \
    X(0, INFO_NONE, "no error information")                                                    \
    X(1, TAIL_MISALIGNED, "invalid tail pointer (not 256-bit aligned while IQA.DW=1)")        \
    X(2, FETCH_ERROR, "error while fetching a descriptor")                                    \
    X(3, INVALID_TYPE, "invalid descriptor type")                                             \
    X(4, RESERVED_BITS, "reserved field set in a descriptor of a valid type")

typedef enum VtdIqei {
#define VTD_IQEI_ENUM(code, name, str) VTD_IQEI_##name = (code),
    VTD_IQEI_TABLE(VTD_IQEI_ENUM)
#undef VTD_IQEI_ENUM
} VtdIqei;

/* ---- IRTA (11.4.12) -------------------------------------------------------- */

VTD_DEFINE_FIELD(vtd_IRTA, S, 0, 4)
VTD_DEFINE_FIELD(vtd_IRTA, EIME, 11, 1)
VTD_DEFINE_FIELD(vtd_IRTA, IRTA, 12, 52)

/* ---- page request queue (11.4.13) ----------------------------------------- */

VTD_DEFINE_FIELD(vtd_PQH, PQH, 5, 14)
VTD_DEFINE_FIELD(vtd_PQT, PQT, 5, 14)
VTD_DEFINE_FIELD(vtd_PQA, PQS, 0, 3)
VTD_DEFINE_FIELD(vtd_PQA, PQA, 12, 52)
#define VTD_PRS_PPR (UINT32_C(1) << 0)      /* Pending Page Request (RW1C) */
#define VTD_PRS_PRO (UINT32_C(1) << 1)      /* Page Request Overflow (RW1C) */

/* ---- MTRRs (11.4.14) ------------------------------------------------------- */

VTD_DEFINE_FIELD(vtd_MTRRCAP, VCNT, 0, 8)
VTD_DEFINE_FIELD(vtd_MTRRCAP, FIX, 8, 1)
VTD_DEFINE_FIELD(vtd_MTRRCAP, WC, 10, 1)
VTD_DEFINE_FIELD(vtd_MTRRDEF, TYPE, 0, 8)
VTD_DEFINE_FIELD(vtd_MTRRDEF, FE, 10, 1)
VTD_DEFINE_FIELD(vtd_MTRRDEF, E, 11, 1)

#endif
