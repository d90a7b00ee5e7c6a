/*
 * The host-side VT-d driver library: what a kernel IOMMU driver does,
 * done the way it does it - by writing the same tables in host memory and
 * the same registers - so that scenarios, traces and the VFIO shim can
 * program the simulated IOMMU in a few calls, and every byte they produce
 * is exactly what a real driver would have produced.
 *
 * What it does
 *  - Brings a remapping unit up in legacy or scalable mode: reads CAP and
 *    ECAP, allocates and installs the root table (RTADDR, GCMD.SRTP), sets
 *    up the invalidation queue (IQA, GCMD.QIE) when queued invalidation is
 *    chosen (scalable mode requires it), and enables translation (GCMD.TE).
 *  - Domains: second-stage (legacy or scalable PGTT=010b), first-stage
 *    (scalable PGTT=001b, 4- or 5-level x86-64 tables), pass-through, and
 *    nested (scalable PGTT=011b: a first-stage table the caller owns, at
 *    an address in a second-stage parent domain's input space), each with
 *    its own domain ID.
 *  - Attach/detach of a requester ID, or of one PASID of it (scalable
 *    mode), with the context-, PASID- and IOTLB invalidations the
 *    specification requires for the entry change.
 *  - Second-stage dirty tracking (scalable mode, ECAP.SSADS): SSADE in
 *    the domain's PASID entries, and harvesting/clearing of leaf D bits.
 *  - Map and unmap of ranges with permissions and page sizes (4 KiB,
 *    2 MiB, 1 GiB as CAP.SLLPS / CAP.FS1GP allow), and IOTLB invalidation
 *    (page-selective with the smallest address mask that covers the range
 *    when CAP.PSI allows it, domain-selective otherwise) either at every
 *    unmap (strict) or when the caller asks (lazy), so missing-invalidation
 *    bugs can be reproduced on purpose.
 *
 * Memory for tables and queues comes from a pool of host DRAM given at
 * creation ([pool_base, pool_base + pool_size)); the library never frees
 * page-table pages of a live domain (as Linux defers them), and fails with
 * a GError when the pool is exhausted.
 *
 * ATS and PRI: a requester marked with vtd_drv_set_device_caps() gets
 * context entries that allow translation requests (legacy TT=01,
 * scalable DTE=1, and PRE for PRI), and every IOTLB invalidation of its
 * domain is followed by a device-TLB invalidation (descriptor 0x3, or 0x8
 * for a PASID attachment).  The page request queue is set up by
 * vtd_drv_prq_enable(); the caller drains it with vtd_drv_prq_next() and
 * answers with vtd_drv_page_response(), as a driver's page-fault handler
 * does.
 *
 * Errors: configuration and API misuse (unsupported mode, misaligned range,
 * pool exhausted, a hardware command that never completes) are GErrors in
 * the EMU_ERROR domain with a message naming the call.
 */
#ifndef VTDSIM_DRIVER_VTD_DRIVER_H
#define VTDSIM_DRIVER_VTD_DRIVER_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"
#include "mem/addr_space.h"

typedef enum VtdDrvMode {
    VTD_DRV_LEGACY,
    VTD_DRV_SCALABLE,
} VtdDrvMode;

typedef enum VtdDrvInval {
    VTD_DRV_INVAL_REGISTER,   /* CCMD and IOTLB registers (legacy mode only) */
    VTD_DRV_INVAL_QUEUED,     /* the invalidation queue with wait descriptors */
} VtdDrvInval;

typedef struct VtdDrvConfig {
    uint64_t reg_base;        /* the unit's register block */
    VtdDrvMode mode;
    VtdDrvInval inval;
    uint64_t pool_base;       /* host memory the driver owns, 4 KiB aligned */
    uint64_t pool_size;
    bool strict;              /* invalidate the IOTLB at every unmap */
} VtdDrvConfig;

typedef enum VtdDomType {
    VTD_DOM_SECOND_STAGE,
    VTD_DOM_FIRST_STAGE,      /* scalable mode only */
    VTD_DOM_PASS_THROUGH,     /* needs ECAP.PT */
    VTD_DOM_NESTED,           /* scalable mode, ECAP.NEST: vtd_drv_domain_new_nested() */
} VtdDomType;

/* First-stage controls of a nested domain's PASID entry (vtd_drv_domain_new_nested). */
enum {
    VTD_NEST_SRE = 1,         /* supervisor requests enabled */
    VTD_NEST_EAFE = 2,        /* extended accessed flag enabled */
    VTD_NEST_WPE = 4,         /* write protect enforced for supervisor requests */
};

/* Permissions for vtd_drv_map(). */
enum {
    VTD_PROT_READ = 1,
    VTD_PROT_WRITE = 2,
    VTD_PROT_EXEC = 4,        /* second stage: X bit (if SLEE); first stage: XD clear */
    VTD_PROT_USER = 8,        /* first stage: U/S set */
};

typedef struct VtdDrv VtdDrv;
typedef struct VtdDom VtdDom;

/**
 * vtd_drv_new:
 * Brings the unit at cfg->reg_base up (translation still off): root
 * table, SRTP, and the invalidation queue when chosen.  @sim is used to
 * let the hardware run while the driver polls for completions; @mem is the
 * system memory space (CPU view).  Both are borrowed.
 * Returns NULL with @error when the unit lacks what @cfg needs.
 */
VtdDrv *vtd_drv_new(EmuSim *sim, AddrSpace *mem, const VtdDrvConfig *cfg, GError **error);
/** Frees the driver state (the hardware keeps its configuration). NULL is ignored. */
void vtd_drv_free(VtdDrv *d);

/** Sets GCMD.TE and waits for GSTS.TES. */
gboolean vtd_drv_enable(VtdDrv *d, GError **error);
/** Clears GCMD.TE and waits for GSTS.TES to clear. */
gboolean vtd_drv_disable(VtdDrv *d, GError **error);

uint64_t vtd_drv_cap(const VtdDrv *d);
uint64_t vtd_drv_ecap(const VtdDrv *d);

/**
 * vtd_drv_domain_new:
 * A new domain with the next free domain ID.  @levels: paging levels (3, 4
 * or 5 for second stage as CAP.SAGAW allows; 4 or 5 for first stage); 0
 * picks the largest supported.  The driver owns the domain; it lives until
 * vtd_drv_free().
 */
VtdDom *vtd_drv_domain_new(VtdDrv *d, VtdDomType type, unsigned levels, GError **error);
/**
 * vtd_drv_domain_new_nested:
 * A nested domain: requests walk the first-stage table at @fs_root (an
 * address in @parent's input space; the caller - e.g. a guest - owns and
 * writes that table) with @fs_levels (4 or 5) levels, and every address
 * that walk produces is translated by @parent (a second-stage domain of
 * this driver).  @flags: VTD_NEST_*.  The domain has its own DID, maps
 * nothing itself (vtd_drv_map refuses it), and vtd_drv_flush() on it
 * issues PASID-based IOTLB invalidations of that DID.  Needs scalable
 * mode and ECAP.NEST, FSTS and SSTS.
 */
VtdDom *vtd_drv_domain_new_nested(VtdDrv *d, VtdDom *parent, uint64_t fs_root, unsigned fs_levels,
                                  unsigned flags, GError **error);
uint16_t vtd_dom_id(const VtdDom *dom);
/** Host physical address of the domain's top-level table (0 for pass-through). */
uint64_t vtd_dom_pgd(const VtdDom *dom);

/**
 * vtd_drv_attach / vtd_drv_detach:
 * Points the context entry of @rid (or, with @pasid >= 0 in scalable mode,
 * the PASID table entry of that PASID; -1 means requests without PASID,
 * i.e. RID_PASID 0) at @dom, and performs the invalidations the change
 * needs.  Detach clears the entry and invalidates.
 */
gboolean vtd_drv_attach(VtdDrv *d, VtdDom *dom, uint16_t rid, int32_t pasid, GError **error);
gboolean vtd_drv_detach(VtdDrv *d, uint16_t rid, int32_t pasid, GError **error);

/**
 * vtd_drv_map:
 * Maps [iova, iova+size) to [pa, pa+size) with @prot.  @page_size: 4K, 2M
 * or 1G, or 0 for the largest the alignment of iova/pa/size and the
 * hardware allow.  iova, pa and size must be aligned to 4 KiB (or to the
 * page size given).  Remapping an already mapped IOVA replaces the entry
 * (and needs an invalidation to take effect, as on hardware).
 */
gboolean vtd_drv_map(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t pa, uint64_t size,
                     unsigned prot, uint64_t page_size, GError **error);
/** Clears the leaf entries of [iova, iova+size); invalidates when the driver is strict. */
gboolean vtd_drv_unmap(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, GError **error);

/**
 * vtd_drv_flush:
 * IOTLB invalidation of [iova, iova+size) of @dom (page-selective when
 * possible, domain-selective otherwise); size 0 means the whole domain.
 */
gboolean vtd_drv_flush(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, GError **error);

/**
 * vtd_drv_set_dirty_tracking:
 * Turns second-stage A/D tracking (PASID entry SSADE) of @dom on or off
 * in every PASID entry that points at it, with the invalidations that
 * needs; later attachments follow.  Needs scalable mode and ECAP.SSADS.
 */
gboolean vtd_drv_set_dirty_tracking(VtdDrv *d, VtdDom *dom, bool enable, GError **error);

/**
 * vtd_drv_read_dirty:
 * Calls @dirty for every leaf of @dom in [iova, iova+size) whose D bit the
 * hardware set (with the leaf's base and size: 4 KiB, 2 MiB or 1 GiB); with
 * @clear, clears those D bits and invalidates the range so the next write
 * sets D again.  What an IOMMU driver's read_and_clear_dirty does.
 */
gboolean vtd_drv_read_dirty(VtdDrv *d, VtdDom *dom, uint64_t iova, uint64_t size, bool clear,
                            void (*dirty)(uint64_t iova, uint64_t size, void *opaque), void *opaque,
                            GError **error);

/**
 * vtd_drv_set_device_caps:
 * Declares that @rid has ATS (and PRI) enabled; must precede its attach.
 * ATS needs ECAP.DT, PRI needs ECAP.PRS and scalable mode.
 */
gboolean vtd_drv_set_device_caps(VtdDrv *d, uint16_t rid, bool ats, bool pri, GError **error);

/** Sets up a one-page page request queue (PQA, PQH, PQT). */
gboolean vtd_drv_prq_enable(VtdDrv *d, GError **error);

/** A page request descriptor as the driver reads it from the queue. */
typedef struct VtdDrvPageReq {
    uint16_t rid;
    bool pasid_present;
    uint32_t pasid;
    bool read, write, exec, priv, lpig;
    unsigned prgi;
    uint64_t addr;
} VtdDrvPageReq;

/** Takes the next page request (advancing PQH); FALSE when the queue is empty. */
gboolean vtd_drv_prq_next(VtdDrv *d, VtdDrvPageReq *out);

/** Sends a page group response (descriptor 0x9) with response code @code (0 success). */
gboolean vtd_drv_page_response(VtdDrv *d, const VtdDrvPageReq *req, unsigned code,
                               GError **error);

/**
 * vtd_drv_clear_faults:
 * What a driver's fault handler does: read every fault recording register
 * with F set, append its two quadwords to @records (may be NULL), clear F,
 * then clear FSTS.PFO.  Returns the number of records cleared.
 */
unsigned vtd_drv_clear_faults(VtdDrv *d, GArray *records);

/**
 * vtd_drv_ir_enable:
 * Interrupt remapping bring-up: a table of 2^@log2_entries IRTEs (1..16)
 * from the pool, IRTA (with EIME when @x2apic), GCMD.SIRTP, a global IEC
 * invalidation, GCMD.IRE.  Needs ECAP.IR and queued invalidation.
 */
gboolean vtd_drv_ir_enable(VtdDrv *d, unsigned log2_entries, bool x2apic, GError **error);

/**
 * vtd_drv_irte_set:
 * Writes IRTE @index: remapped format, @vector to @dest (physical, fixed;
 * level-triggered when @level), accepted only from @rid (SVT=01, SQ=00),
 * then invalidates that entry in the interrupt entry cache.
 */
gboolean vtd_drv_irte_set(VtdDrv *d, unsigned index, uint16_t rid, uint8_t vector, uint32_t dest,
                          bool level, GError **error);

/** The address and data of a remappable MSI naming IRTE @index (no subhandle). */
void vtd_drv_msi_remappable(unsigned index, uint64_t *addr, uint32_t *data);

/** Number of invalidation commands issued (register or queued), for tests. */
uint64_t vtd_drv_invalidations(const VtdDrv *d);

#endif
