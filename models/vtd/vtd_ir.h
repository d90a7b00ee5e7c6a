/*
 * Interrupt remapping of a VT-d unit (VT-d 4.x chapter 5 and 9.10-9.12).
 *
 * Every interrupt message a device (or the IOAPIC) writes to the interrupt
 * window 0xFEEx_xxxx reaches the root complex with its requester ID; the
 * platform hands it to vtd_unit_remap_interrupt() of the unit whose scope
 * covers the requester.  The unit decides:
 *
 *  - with GSTS.IRES clear, the message is passed on untouched (the
 *    platform decodes it in compatibility format);
 *  - a compatibility-format message (address bit 4 clear) is passed on
 *    only while GSTS.CFIS is set and the latched IRTA.EIME is clear;
 *    otherwise it is blocked with fault 0x25;
 *  - a remappable-format message selects an interrupt remapping table
 *    entry (IRTE) by its handle (address bits 19:5 and bit 2) plus, with
 *    SHV, the subhandle in data bits 15:0; the IRTE is looked up in the
 *    interrupt entry cache (IEC) or read from the table latched by SIRTP,
 *    checked (present, reserved bits, source-ID validation) and either
 *    turned into the interrupt it describes (remapped format) or posted
 *    into a posted-interrupt descriptor in memory (posted format, CAP.PI).
 *
 * Faults 0x20-0x26 are recorded through the unit's fault recording
 * registers with FI[63:48] = the interrupt index and SID = the requester;
 * the FPD-qualified ones (0x22, 0x24, 0x26) are not recorded when the
 * IRTE's FPD is set.  A faulting interrupt is dropped.
 *
 * The IEC holds the IRTEs the unit has used, as they were in memory when
 * they were read: software that changes an IRTE without an IEC
 * invalidation (descriptor 0x4, global or index-selective with IM) keeps
 * getting the old one, exactly like the other remapping caches.  SIRTP
 * flushes the IEC only with CAP.ESIRTPS.  Not-present and malformed
 * entries are never cached.  The posted-interrupt descriptor is never
 * cached: posting is an atomic read-modify-write of memory.
 *
 * Layouts (IRTE in both formats, the posted-interrupt descriptor, the
 * remappable MSI address and data) are `uint64_t val[N]` behind accessors naming
 * ABSOLUTE bit ranges, as vtd_entries.h does for the DMA-remapping
 * structures; helpers to build them are at the end, for tests and the
 * host-side software.
 *
 * Not modelled: the interrupt-remapping side of scalable-mode
 * (there is none), IRTE caching of not-present entries, the memory-type
 * and snoop attributes of descriptor accesses, timing.
 */
#ifndef VTDSIM_MODELS_VTD_VTD_IR_H
#define VTDSIM_MODELS_VTD_VTD_IR_H

#include <stdbool.h>
#include <stdint.h>
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_xlate.h"

/* ---- interrupt remapping table entry (9.10 remapped, 9.11 posted) -------- */

/** IRTE, 128 bits; 2^(IRTA.S+1) per table, indexed by the interrupt index. */
typedef struct { uint64_t val[2]; } VtdIrte;
#define VTD_IRTE_SIZE 16

/* Fields common to both formats. */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, P, 0, 0)          /* Present */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, FPD, 1, 1)        /* Fault Processing Disable */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, AVAIL, 11, 8)     /* available to software */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, IM, 15, 15)       /* IRTE Mode: 0 remapped, 1 posted (CAP.PI) */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, SID, 79, 64)      /* Source Identifier */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, SQ, 81, 80)       /* Source-id Qualifier */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, SVT, 83, 82)      /* Source Validation Type */
/* Remapped format (IM=0). */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, DM, 2, 2)         /* Destination Mode: 0 physical, 1 logical */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, RH, 3, 3)         /* Redirection Hint */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, TM, 4, 4)         /* Trigger Mode: 0 edge, 1 level */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, DLM, 7, 5)        /* Delivery Mode */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, V, 23, 16)        /* Vector */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, DST, 63, 32)      /* Destination ID (x2APIC: 32 bits) */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, DST_XAPIC, 47, 40) /* Destination ID in xAPIC mode (EIME=0) */
/* Posted format (IM=1). */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, URG, 14, 14)      /* Urgent */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, VV, 23, 16)       /* Virtual Vector */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, PDA_L, 63, 38)    /* posted descriptor address bits 31:6 */
VTD_ENTRY_FIELD(VtdIrte, vtd_irte, PDA_H, 127, 96)   /* posted descriptor address bits 63:32 */

/*
 * Reserved bits (must be 0 in a present entry, else fault 0x24).
 * Remapped: 14:12, 31:24, 127:84 (plus IM=bit 15 without CAP.PI, and in
 * xAPIC mode DST bits 39:32 and 63:48).  Posted: 7:2, 13:12, 37:24, 95:84.
 */
#define VTD_IRTE_REMAP_RSVD_LO  UINT64_C(0x00000000ff007000)
#define VTD_IRTE_REMAP_RSVD_HI  UINT64_C(0xfffffffffff00000)
#define VTD_IRTE_XAPIC_DST_RSVD UINT64_C(0xffff00ff00000000)
#define VTD_IRTE_POST_RSVD_LO   UINT64_C(0x0000003fff0030fc)
#define VTD_IRTE_POST_RSVD_HI   UINT64_C(0x00000000fff00000)

/* SVT encodings (IRTE bits 83:82). */
enum {
    VTD_SVT_NONE = 0,        /* no source validation */
    VTD_SVT_SID = 1,         /* requester ID equals SID under the SQ mask */
    VTD_SVT_BUS_RANGE = 2,   /* requester bus in [SID 15:8, SID 7:0] */
    VTD_SVT_RESERVED = 3,
};

/* Delivery modes (IRTE DLM, MSI data 10:8, IOAPIC RTE 10:8). */
enum {
    VTD_DLM_FIXED = 0, VTD_DLM_LOWEST = 1, VTD_DLM_SMI = 2, VTD_DLM_NMI = 4,
    VTD_DLM_INIT = 5, VTD_DLM_EXTINT = 7,
};

/** Posted-descriptor address of a posted IRTE (64-byte aligned). */
static inline uint64_t vtd_irte_pda(const VtdIrte *e)
{
    return (vtd_irte_PDA_H(e) << 32) | (vtd_irte_PDA_L(e) << 6);
}

/* ---- posted-interrupt descriptor (9.12) ------------------------------------ */

/** Posted-interrupt descriptor, 512 bits, 64-byte aligned. */
typedef struct { uint64_t val[8]; } VtdPid;
#define VTD_PID_SIZE 64

/* PIR is bits 255:0: one request bit per vector (val[0..3]). */
VTD_ENTRY_FIELD(VtdPid, vtd_pid, ON, 256, 256)       /* Outstanding Notification */
VTD_ENTRY_FIELD(VtdPid, vtd_pid, SN, 257, 257)       /* Suppress Notification */
VTD_ENTRY_FIELD(VtdPid, vtd_pid, NV, 279, 272)       /* Notification Vector */
VTD_ENTRY_FIELD(VtdPid, vtd_pid, NDST, 319, 288)     /* Notification Destination */
VTD_ENTRY_FIELD(VtdPid, vtd_pid, NDST_XAPIC, 303, 296) /* NDST in xAPIC mode */

static inline bool vtd_pid_pir(const VtdPid *d, unsigned vector)
{
    return (d->val[(vector & 0xff) / 64] >> (vector % 64)) & 1;
}

static inline void vtd_pid_set_pir(VtdPid *d, unsigned vector, bool on)
{
    uint64_t m = UINT64_C(1) << (vector % 64);
    d->val[(vector & 0xff) / 64] = on ? (d->val[(vector & 0xff) / 64] | m)
                                      : (d->val[(vector & 0xff) / 64] & ~m);
}

/* ---- interrupt messages (5.1.2) --------------------------------------------- */

/** An interrupt request as the root complex sees it: 32-bit address and data in one word each. */
typedef struct { uint64_t val[1]; } VtdMsiAddr;
typedef struct { uint64_t val[1]; } VtdMsiData;

/* Remappable format (address bit 4 = 1). */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, HANDLE_15, 2, 2)   /* Interrupt Index / handle bit 15 */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, SHV, 3, 3)         /* SubHandle Valid */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, IF, 4, 4)          /* Interrupt Format: 1 remappable */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, HANDLE, 19, 5)     /* Interrupt Index / handle bits 14:0 */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, FEE, 31, 20)       /* 0xFEE */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, UPPER, 63, 32)     /* must be 0 */
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, SUBHANDLE, 15, 0)
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, DATA_RSVD, 31, 16) /* reserved in remappable format */
/* Compatibility format (address bit 4 = 0; Intel SDM vol. 3 11.11). */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, DM, 2, 2)          /* Destination Mode */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, RH, 3, 3)          /* Redirection Hint */
VTD_ENTRY_FIELD(VtdMsiAddr, vtd_msi, DEST, 19, 12)      /* Destination ID */
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, VECTOR, 7, 0)
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, DLM, 10, 8)        /* Delivery Mode */
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, LEVEL, 14, 14)     /* level assert */
VTD_ENTRY_FIELD(VtdMsiData, vtd_msi, TM, 15, 15)        /* Trigger Mode */

/** Builds a remappable-format MSI address for @handle (SHV as given). */
static inline uint32_t vtd_msi_remappable_addr(uint16_t handle, bool shv)
{
    VtdMsiAddr a = { { 0 } };
    vtd_msi_set_FEE(&a, 0xfee);
    vtd_msi_set_HANDLE(&a, handle & 0x7fff);
    vtd_msi_set_HANDLE_15(&a, handle >> 15);
    vtd_msi_set_IF(&a, 1);
    vtd_msi_set_SHV(&a, shv);
    return (uint32_t)a.val[0];
}

/* ---- IRTE builders (tests and host software) -------------------------------- */

/** A present remapped-format IRTE: @dst is the 32-bit x2APIC ID, or the xAPIC ID (put in 47:40 by @xapic). */
static inline VtdIrte vtd_irte_remapped(uint8_t vector, uint32_t dst, bool xapic, unsigned dlm, bool level,
                                        bool logical, bool rh)
{
    VtdIrte e = { { 0, 0 } };
    vtd_irte_set_P(&e, 1);
    vtd_irte_set_V(&e, vector);
    if (xapic)
        vtd_irte_set_DST_XAPIC(&e, dst);
    else
        vtd_irte_set_DST(&e, dst);
    vtd_irte_set_DLM(&e, dlm);
    vtd_irte_set_TM(&e, level);
    vtd_irte_set_DM(&e, logical);
    vtd_irte_set_RH(&e, rh);
    return e;
}

/** A present posted-format IRTE posting virtual vector @vv into the descriptor at @pda. */
static inline VtdIrte vtd_irte_posted(uint8_t vv, uint64_t pda, bool urgent)
{
    VtdIrte e = { { 0, 0 } };
    vtd_irte_set_P(&e, 1);
    vtd_irte_set_IM(&e, 1);
    vtd_irte_set_VV(&e, vv);
    vtd_irte_set_URG(&e, urgent);
    vtd_irte_set_PDA_L(&e, (pda >> 6) & 0x3ffffff);
    vtd_irte_set_PDA_H(&e, pda >> 32);
    return e;
}

/** Sets the source validation fields of @e. */
static inline void vtd_irte_set_source(VtdIrte *e, unsigned svt, unsigned sq, uint16_t sid)
{
    vtd_irte_set_SVT(e, svt);
    vtd_irte_set_SQ(e, sq);
    vtd_irte_set_SID(e, sid);
}

/* ---- the unit's interrupt remapping ----------------------------------------- */

typedef struct VtdUnit VtdUnit;

typedef enum VtdIrStatus {
    VTD_IR_DELIVER = 0,   /* deliver the interrupt in the result (remapped or passed through) */
    VTD_IR_POSTED,        /* posted into a descriptor; see notify */
    VTD_IR_BLOCKED,       /* fault (recorded unless FPD-suppressed): dropped */
} VtdIrStatus;

/** What became of one interrupt request. */
typedef struct VtdIrResult {
    VtdIrStatus status;
    bool remapped;        /* went through an IRTE (remapped or posted format) */
    bool index_valid;     /* @index was computed (remappable format) */
    uint32_t index;       /* interrupt index (handle + subhandle), may exceed 16 bits */
    bool iec_hit;         /* the IRTE came from the interrupt entry cache */
    /* VTD_IR_BLOCKED */
    uint8_t fault_reason; /* VTD_FR_IR_* */
    bool fault_recorded;  /* false when suppressed by FPD (or lost to PFO) */
    /* VTD_IR_DELIVER: the interrupt as the local APIC receives it */
    uint32_t dest;        /* APIC ID: 8 bits in xAPIC mode, 32 in x2APIC mode */
    bool x2apic;          /* dest is a 32-bit x2APIC ID (IRTA.EIME) */
    uint8_t vector;
    uint8_t dlm;          /* delivery mode */
    bool logical;         /* destination mode */
    bool rh;              /* redirection hint */
    bool level;           /* trigger mode */
    /* VTD_IR_POSTED */
    uint64_t pda;         /* descriptor address */
    uint8_t vv;           /* virtual vector set in PIR */
    bool urgent;
    bool notify;          /* ON went 0->1: send NV to NDST */
    uint8_t nv;
    uint32_t ndst;        /* notification destination (8-bit in xAPIC mode; x2apic says which) */
} VtdIrResult;

/**
 * vtd_unit_remap_interrupt:
 * Processes the interrupt request (@addr, @data) from requester @sid as
 * described at the top of this file and fills *@res.  Never aborts on
 * guest-controlled input.  @addr is the full 64-bit address of the
 * write (bits 63:32 must be 0 for a remappable request).
 */
VtdIrStatus vtd_unit_remap_interrupt(VtdUnit *u, uint16_t sid, uint64_t addr, uint32_t data,
                                     VtdIrResult *res);

/** Interrupt entry cache statistics. */
typedef struct VtdIrStats {
    uint64_t requests;        /* interrupt requests seen */
    uint64_t passed;          /* passed through (IR off or compatibility format allowed) */
    uint64_t remapped;        /* delivered through a remapped-format IRTE */
    uint64_t posted;          /* posted into a descriptor */
    uint64_t notifications;   /* posted-interrupt notification events generated */
    uint64_t blocked;         /* faulted */
    uint64_t iec_hits, iec_misses;
    uint64_t iec_invalidations; /* global + index-selective operations */
} VtdIrStats;

const VtdIrStats *vtd_unit_ir_stats(const VtdUnit *u);

/**
 * vtd_unit_set_iec_geom:
 * Changes the geometry of the interrupt entry cache (default: 256 entries,
 * 4-way, LRU); the cache is emptied.  0 entries disables it (every
 * interrupt reads its IRTE).  Returns FALSE with @error for an unusable
 * geometry.
 */
gboolean vtd_unit_set_iec_geom(VtdUnit *u, const VtdCacheGeom *g, GError **error);

/** Number of IRTEs in the interrupt entry cache. */
unsigned vtd_unit_iec_occupancy(const VtdUnit *u);

/**
 * vtd_unit_dump_ir_table:
 * Appends the interrupt remapping table in the layout of Linux's debugfs
 * intel/ir_translation_struct for one unit (remapped entries, then posted
 * ones when CAP.PI), reading the table latched by SIRTP from memory.
 */
void vtd_unit_dump_ir_table(VtdUnit *u, const char *name, GString *out);

/* ---- internal: the unit's hooks (vtd.c, vtd_qi.c) ---------------------------- */

typedef struct VtdIr VtdIr;
VtdIr *vtd_ir_new(void);
void vtd_ir_free(VtdIr *ir);
/** Reset and SIRTP (with CAP.ESIRTPS): drop every cached IRTE. */
void vtd_ir_flush(VtdIr *ir);
/** IEC invalidation: global, or the 2^@im entries from @iidx (aligned down). */
void vtd_ir_iec_invalidate(VtdIr *ir, bool global, uint16_t iidx, unsigned im);

#endif
