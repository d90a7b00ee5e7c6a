/*
 * The access-rights rules of a completed translation, in one place: which
 * rights a first- and/or second-stage leaf grants a request (U/S with SRE
 * privilege, R/W with WPE, XD), and which fault reason an access that the
 * rights do not cover raises (VT-d 4.x 3.6-3.8 and the fault conditions of
 * chapter 7).  The translation engine (vtd_xlate.c) applies them to walks
 * and IOTLB hits; the explainer (src/explain/walk.c) applies the same
 * functions to the walk it narrates, so the two cannot disagree.
 */
#ifndef VTDSIM_MODELS_VTD_VTD_ACCESS_H
#define VTDSIM_MODELS_VTD_VTD_ACCESS_H

#include <stdbool.h>
#include <stdint.h>
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_xlate.h"

/** The rights accumulated along a walk (leaf included). */
typedef struct VtdAccessRights {
    bool has_fs;          /* a first-stage walk took part */
    bool fs_rw, fs_us, fs_xd;  /* its R/W, U/S (ANDed) and XD (ORed) over the levels */
    bool has_ss;          /* a second-stage walk took part */
    unsigned ss_perm;     /* its VTD_PERM_R/W/X, ANDed over the levels */
} VtdAccessRights;

/** The request as the rules see it. */
typedef struct VtdAccessReq {
    bool sm;              /* scalable mode (legacy faults otherwise) */
    bool priv, exec, write;
    bool wpe;             /* PASID entry WPE: supervisor writes honour R/W */
    bool ats_nw;          /* ATS translation request with No-Write */
} VtdAccessReq;

/** Rights a first-stage leaf grants: supervisor requests per WPE, user ones per U/S. */
static inline unsigned vtd_access_fs_granted(const VtdAccessRights *r, const VtdAccessReq *q)
{
    unsigned p = 0;
    if (q->priv) {
        p = VTD_PERM_R | VTD_PERM_PRIV;
        if (r->fs_rw || !q->wpe)
            p |= VTD_PERM_W;
        if (!r->fs_xd)
            p |= VTD_PERM_X;
    } else if (r->fs_us) {
        p = VTD_PERM_R;
        if (r->fs_rw)
            p |= VTD_PERM_W;
        if (!r->fs_xd)
            p |= VTD_PERM_X;
    }
    return p;
}

/** The fault reason of a data access the rights do not allow, or 0. */
static inline int vtd_access_check(const VtdAccessRights *r, const VtdAccessReq *q)
{
    if (r->has_fs) {
        if (!q->priv && !r->fs_us)
            return VTD_FR_SM_US_DENIED;
        if (q->exec && r->fs_xd)
            return VTD_FR_SM_EXEC_DENIED;
        if (q->write && !(vtd_access_fs_granted(r, q) & VTD_PERM_W))
            return VTD_FR_SM_WRITE_DENIED;
    }
    if (r->has_ss) {
        unsigned ss = r->ss_perm;
        if (!q->sm)
            return q->write ? (ss & VTD_PERM_W ? 0 : VTD_FR_WRITE_DENIED)
                            : (ss & VTD_PERM_R ? 0 : VTD_FR_READ_DENIED);
        if (!(ss & (VTD_PERM_R | VTD_PERM_W)))
            return VTD_FR_SM_SS_NOT_PRESENT;
        if (q->write && !(ss & VTD_PERM_W))
            return VTD_FR_SM_WRITE_DENIED;
        if (!q->write && !(ss & VTD_PERM_R))
            return VTD_FR_SM_READ_DENIED;
    }
    return 0;
}

/** Rights granted to the requester (what an ATS completion reports). */
static inline unsigned vtd_access_granted(const VtdAccessRights *r, const VtdAccessReq *q)
{
    unsigned p = VTD_PERM_R | VTD_PERM_W | VTD_PERM_X;
    if (r->has_fs)
        p = vtd_access_fs_granted(r, q);
    if (r->has_ss) {
        unsigned ss = r->ss_perm;
        if (!(ss & (VTD_PERM_R | VTD_PERM_W)))
            ss = 0;
        if (!q->sm)
            ss &= ~(unsigned)VTD_PERM_X;
        p &= ss | VTD_PERM_PRIV;
        if (!(p & (VTD_PERM_R | VTD_PERM_W | VTD_PERM_X)))
            p = 0;
    }
    if (q->ats_nw)
        p &= ~(unsigned)VTD_PERM_W;
    return p;
}

/* The interrupt address range: untranslated requests without PASID there are interrupts. */
#define VTD_INTR_LO UINT64_C(0xFEE00000)
#define VTD_INTR_HI UINT64_C(0xFEEFFFFF)

/** Whether [a, a+len) touches the interrupt range (len 0 counts as 1). */
static inline bool vtd_in_intr_range(uint64_t a, uint64_t len)
{
    uint64_t end = a + (len ? len - 1 : 0);
    if (end < a)
        end = UINT64_MAX;
    return a <= VTD_INTR_HI && end >= VTD_INTR_LO;
}

/** Input-address bit where paging level @level's index starts (level 1 = 4 KiB). */
static inline unsigned vtd_level_shift(unsigned level)
{
    return 12 + 9 * (level - 1);
}

/*
 * Whether a fault reason is "qualified": recorded unless a present entry on
 * the path had FPD set.  Root and context faults (and the scalable-mode
 * root-table/TTM faults) are never qualified (VT-d 4.x 7.1.1).
 */
static inline bool vtd_fault_is_qualified(unsigned fr)
{
    switch (fr) {
    case VTD_FR_ROOT_NOT_PRESENT: case VTD_FR_CONTEXT_NOT_PRESENT: case VTD_FR_ROOT_ACCESS:
    case VTD_FR_CONTEXT_ACCESS: case VTD_FR_ROOT_RESERVED: case VTD_FR_CONTEXT_RESERVED:
    case VTD_FR_SM_RTA_INVALID: case VTD_FR_SM_TTM_PASID: case VTD_FR_SM_TTM_PRQ:
    case VTD_FR_SM_ROOT_ACCESS: case VTD_FR_SM_ROOT_NOT_PRESENT: case VTD_FR_SM_ROOT_RESERVED:
    case VTD_FR_SM_CONTEXT_ACCESS: case VTD_FR_SM_CONTEXT_NOT_PRESENT:
    case VTD_FR_SM_CONTEXT_RESERVED:
        return false;
    default:
        return true;
    }
}

/** Which paging structure a paging-time fault reason belongs to (for FRCD users and messages). */
static inline VtdFaultStruct vtd_fault_struct_of(unsigned fr)
{
    switch (fr) {
    case VTD_FR_SM_FS_ACCESS: case VTD_FR_SM_FS_RESERVED: case VTD_FR_SM_FSPTPTR_INVALID:
    case VTD_FR_SM_FS_NOT_PRESENT:
        return VTD_FSTRUCT_FS_PTE;
    case VTD_FR_SM_NESTED_FS_BEYOND_SS: case VTD_FR_SM_NESTED_FSPTPTR_READ:
    case VTD_FR_SM_NESTED_FS_READ: case VTD_FR_SM_NESTED_FS_AD_WRITE:
    case VTD_FR_SL_ENTRY_ACCESS: case VTD_FR_SL_ENTRY_RESERVED: case VTD_FR_SM_SS_ACCESS:
    case VTD_FR_SM_SS_RESERVED: case VTD_FR_SM_SSPTPTR_INVALID: case VTD_FR_SM_SS_NOT_PRESENT:
        return VTD_FSTRUCT_SS_PTE;
    default:
        return VTD_FSTRUCT_REQUEST;
    }
}

#endif
