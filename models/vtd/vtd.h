/*
 * One Intel VT-d DMA-remapping hardware unit (a DRHD), as the platform
 * sees it.
 *
 * A VtdUnit is the register file of a remapping unit (VT-d 4.x chapter 11)
 * together with what sits behind it: fault recording and fault events
 * (chapter 7), register-based and queued invalidation (chapter 6), the
 * protected memory regions, the page request queue, and the hook the root
 * complex calls for every upstream memory request.  Translation itself (the
 * table walks and the caches) is done by the engine in vtd_xlate.h, which
 * the unit owns; the unit decides whether translation applies, turns the
 * engine's verdict into a completion or a fault record, and accesses memory
 * with the translated address.
 *
 * The platform creates one VtdUnit per DRHD, maps vtd_unit_mmio_ops() at
 * the unit's register base (size vtd_unit_mmio_size()), routes the
 * requests of the devices in the unit's scope to vtd_unit_mem_request(),
 * and delivers the unit's interrupt messages (fault events, invalidation
 * completion events, page request events) from the MSI sink.
 *
 * Everything a guest can do through the registers or through the tables
 * in memory is handled without aborting: misprogramming becomes the
 * architectural error (a fault record, IQE, an ignored command) plus a
 * message retrievable with vtd_unit_last_guest_error().
 *
 * Interrupt remapping (IRTEs, posting, the interrupt entry cache) is in
 * vtd_ir.h; the platform calls vtd_unit_remap_interrupt() for every
 * interrupt message from the unit's scope.
 *
 * Not modelled: advanced fault logging (AFLOG is a plain register),
 * virtual command registers, performance monitoring, timing (every
 * command and every queued descriptor completes within the register write
 * that started it).
 */
#ifndef VTDSIM_MODELS_VTD_VTD_H
#define VTDSIM_MODELS_VTD_VTD_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"
#include "mem/addr_space.h"
#include "pcie/tlp.h"
#include "models/vtd/vtd_regs.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_xlate.h"

#define VTD_ERROR (vtd_error_quark())
GQuark vtd_error_quark(void);

/* ---- parameters -------------------------------------------------------- */

/**
 * Everything that distinguishes one remapping unit implementation from
 * another.  Every CAP and ECAP field is settable (through cap/ecap or the
 * keyfile keys cap.<FIELD>, ecap.<FIELD>).  The number of fault recording
 * registers is CAP.NFR + 1.
 */
typedef struct VtdParams {
    uint32_t ver;           /* VER_REG: major 7:4, minor 3:0 */
    uint64_t cap;           /* CAP_REG */
    uint64_t ecap;          /* ECAP_REG */
    unsigned haw;           /* host address width in bits; 0 = CAP.MGAW + 1 */
    VtdCacheParams cache;   /* translation caches (vtd_xlate.h) */
} VtdParams;

/* CAP/ECAP of the presets (documented in README.md and vtd_params.c). */
#define VTD_QEMU72_CAP   UINT64_C(0x00d2008c22260206)
#define VTD_QEMU72_ECAP  UINT64_C(0x0000000000000f42)
#define VTD_XEON_CAP     UINT64_C(0x00d2078c106f0466)
#define VTD_XEON_ECAP    UINT64_C(0x0000000000f020df)

/**
 * vtd_params_default:
 * The "qemu-7.2" preset with 8 fault recording registers (CAP.NFR = 7)
 * instead of QEMU's single one.
 */
void vtd_params_default(VtdParams *p);

/**
 * vtd_params_preset:
 * Fills @p with preset @name: "qemu-7.2" (QEMU 7.2 intel-iommu with
 * intremap=off and its defaults: aw-bits=39, pt=on, dma-drain=on,
 * caching-mode=off, device-iotlb=off; one fault recording register),
 * "xeon" (Haswell-EP Xeon E5-2620 v3 as dumped by Linux; timing.md row 32),
 * "xeon-bdw" (Broadwell-EP Xeon E5-2630 v4: same with CAP.PI=1).
 * Returns FALSE with @error (VTD_ERROR) for an unknown name.
 */
gboolean vtd_params_preset(VtdParams *p, const char *name, GError **error);

/**
 * vtd_params_from_keyfile:
 * Updates @p from the keys of @group in @kf, in this order: preset=, then
 * ver=, cap=, ecap= (whole register values), then cap.<FIELD>= and
 * ecap.<FIELD>= (field names as in the specification, case-insensitive,
 * e.g. cap.sagaw=0x4, ecap.qi=1), nfr= (number of fault recording
 * registers, 1..256), haw=, and cache.<name>.{entries,assoc,repl,seed}=
 * (<name> as vtd_cache_name(), repl = lru|fifo|random).  Numbers accept
 * 0x prefixes.  A missing group leaves @p unchanged.
 * Returns FALSE with @error naming the offending key for an unknown key, a
 * malformed number, or a value that does not fit its field; @p may then
 * be partly updated.
 */
gboolean vtd_params_from_keyfile(VtdParams *p, GKeyFile *kf, const char *group, GError **error);

/**
 * vtd_params_validate:
 * Checks that a unit can be built from @p: register layout (the IOTLB
 * registers at ECAP.IRO and the fault recording registers at CAP.FRO must
 * not overlap each other or any implemented register), MGAW/SAGAW/HAW
 * consistency, cache geometry.  Returns FALSE with @error otherwise.
 */
gboolean vtd_params_validate(const VtdParams *p, GError **error);

/* ---- the unit ---------------------------------------------------------- */

typedef struct VtdUnit VtdUnit;

/**
 * vtd_unit_new:
 * @sim: the simulation the unit lives in (borrowed).
 * @p: parameters (copied).
 * @dma_as: the host physical address space the unit masters on: table
 * walks, queue fetches, status writes, fault-free DMA (borrowed; must
 * outlive the unit).
 * Returns: a unit in its reset state, or NULL with @error (VTD_ERROR) when
 * @p does not validate.  Free with vtd_unit_free().
 */
VtdUnit *vtd_unit_new(EmuSim *sim, const VtdParams *p, AddrSpace *dma_as, GError **error);
void vtd_unit_free(VtdUnit *u);

/** The parameters the unit was built with. */
const VtdParams *vtd_unit_params(const VtdUnit *u);

/**
 * vtd_unit_mmio_ops:
 * The register file's MMIO operations (opaque = the VtdUnit *): 4- and
 * 8-byte naturally aligned accesses.  An 8-byte access to two 32-bit
 * registers acts as two 4-byte accesses (low first); a 4-byte access to
 * half of a 64-bit register reads or writes that half (commands in the
 * upper half of CCMD and IOTLB act when the upper half is written).
 */
const MmioOps *vtd_unit_mmio_ops(void);
/** Size of the register window: covers every register, a multiple of 4 KiB. */
uint64_t vtd_unit_mmio_size(const VtdUnit *u);

/**
 * vtd_unit_set_msi_sink:
 * Sets where the unit's interrupt messages go: @msi(@opaque, addr, data)
 * with addr = xEUADDR:xEADDR and data = xEDATA of the fault event, the
 * invalidation completion event or the page request event.  NULL drops
 * them (the pending bits still behave architecturally).
 */
void vtd_unit_set_msi_sink(VtdUnit *u, void (*msi)(void *opaque, uint64_t addr, uint32_t data),
                           void *opaque);

/** Outcome of a device-TLB invalidation request sent to an endpoint. */
typedef enum VtdDevtlbStatus {
    VTD_DEVTLB_DONE = 0,      /* invalidation completion received */
    VTD_DEVTLB_TIMEOUT,       /* no completion: ITE */
    VTD_DEVTLB_BAD_COMPLETION,/* completion with an error: ICE */
} VtdDevtlbStatus;

/** A device-TLB invalidation (descriptors 0x3 and 0x8) as sent to the endpoint. */
typedef struct VtdDevtlbInv {
    uint16_t sid;
    bool pasid_present;
    uint32_t pasid;
    bool global;              /* 0x8 with G=1 */
    uint64_t addr;            /* page address, 63:12 */
    bool size;                /* S: the address's low 1-bits encode the range */
    unsigned mip;             /* 0x3: max invalidations pending */
    uint16_t pfsid;
} VtdDevtlbInv;

/** Sets the hook receiving device-TLB invalidations; without one they complete at once. */
void vtd_unit_set_devtlb_sink(VtdUnit *u,
                              VtdDevtlbStatus (*inv)(void *opaque, const VtdDevtlbInv *req),
                              void *opaque);

/**
 * What the invalidation queue does with one descriptor it fetched (fault
 * injection; see vtd_unit_set_qi_filter).
 */
typedef enum VtdQiAction {
    VTD_QI_PASS = 0,   /* executed now, in queue order (what hardware does) */
    VTD_QI_DROP,       /* consumed (IQH moves past it) without any effect */
    VTD_QI_DEFER,      /* consumed now, executed @delay ps later from an event */
    VTD_QI_REORDER,    /* consumed now, executed right after the next @by
                        * descriptors the queue fetches, in this or a later batch */
} VtdQiAction;

typedef struct VtdQiVerdict {
    VtdQiAction action;
    EmuTick delay;     /* VTD_QI_DEFER: picoseconds from the fetch to the execution */
    unsigned by;       /* VTD_QI_REORDER: descriptors to let pass first, >= 1 */
} VtdQiVerdict;

/**
 * VtdQiFilter:
 * Consulted for every descriptor the invalidation queue fetched that is
 * well formed (type, width and reserved fields checked: a malformed one
 * raises IQE before the filter sees it).  @d holds its words (the upper
 * two zero in a 128-bit queue).  Must not touch the unit's registers.
 */
typedef VtdQiVerdict VtdQiFilter(void *opaque, const VtdInvDesc *d);

/**
 * vtd_unit_set_qi_filter:
 * Installs @filter (NULL removes it; @opaque is borrowed).  What its
 * verdict does:
 *  - DROP: the descriptor is consumed and lost, as if it never reached
 *    the execution stage (a lost wait writes no status, raises nothing);
 *  - DEFER: the descriptor is consumed now (IQH moves past it and the
 *    descriptors behind it execute at once) and executed @delay ps later
 *    by an event on the simulation's queue: a deferred IOTLB invalidation
 *    takes effect after the wait behind it has reported completion; a
 *    deferred wait writes its status (and raises its interrupt) late;
 *  - REORDER: the descriptor is held inside the unit and executed right
 *    after the @by-th well-formed descriptor fetched after it (whatever
 *    the filter decides for those), even when they come with a later IQT
 *    write; with no further descriptor it is never executed.
 * A deferred or held descriptor runs through the same execution as any
 * other, once: an execution error (e.g. a reserved granularity) raises
 * IQE with IQH wherever the queue then stands, and a device-TLB timeout
 * raises ITE.  Unit reset and vtd_unit_free() discard descriptors still
 * deferred or held.  Deterministic: deferral events are ordered by the
 * event queue like any other.
 */
void vtd_unit_set_qi_filter(VtdUnit *u, VtdQiFilter *filter, void *opaque);

/**
 * vtd_unit_set_table_filter:
 * Installs the translation engine's memory filter (vtd_xlate.h,
 * VtdXlateMemFilter): returning true makes the walker's read of a table
 * entry, or its A/D write-back, fail with the access-error fault reason
 * the specification gives for that structure.  For fault injection;
 * NULL removes it; @opaque is borrowed.
 */
void vtd_unit_set_table_filter(VtdUnit *u, VtdXlateMemFilter *filter, void *opaque);

/** Descriptors still deferred or held by a DEFER / REORDER verdict. */
unsigned vtd_unit_qi_pending(const VtdUnit *u);

/** A page group response (descriptor 0x9) as sent to the endpoint. */
typedef struct VtdPageGroupResp {
    uint16_t rid;
    bool pasid_present;
    uint32_t pasid;
    unsigned prgi;
    unsigned rc;              /* 0 success, 1 invalid request, 0xF response failure */
} VtdPageGroupResp;

void vtd_unit_set_prg_response_sink(VtdUnit *u,
                                    void (*resp)(void *opaque, const VtdPageGroupResp *r),
                                    void *opaque);

/**
 * vtd_unit_mem_request:
 * The root complex's hook for one upstream memory request (MRd, MWr,
 * AtomicOp) from a device in the unit's scope; @data is the payload
 * (writes) or the buffer of tlp->length bytes (reads).  With GSTS.TES
 * clear the request goes to dma_as untranslated; in abort-DMA mode it is
 * blocked; an untranslated request into an enabled protected memory region
 * is blocked; otherwise the engine translates it, a fault is recorded as
 * the specification requires, and a successful request accesses dma_as at
 * the translated address.  Returns SC, or UR for a blocked or faulting
 * request (reads then leave @data all ones).  Translation requests
 * (AT=01) are translated and their faults recorded, but no completion data
 * is produced (that encoding belongs to the ATS layer): SC or UR only.
 */
PcieCplStatus vtd_unit_mem_request(VtdUnit *u, PcieTlp *tlp, void *data);

/**
 * vtd_unit_translate:
 * The same decision as vtd_unit_mem_request() without the memory access:
 * translates @req (recording a fault when the engine says so) and returns
 * the engine's result in *@res.  For ATS and for tests.
 */
VtdXlateStatus vtd_unit_translate(VtdUnit *u, const VtdXlateRequest *req, VtdXlateResult *res);

/** Page request outcome. */
typedef enum VtdPrqStatus {
    VTD_PRQ_QUEUED = 0,       /* written to the page request queue */
    VTD_PRQ_OVERFLOW,         /* queue full or PRO already set: PRS.PRO, dropped */
    VTD_PRQ_UNSUPPORTED,      /* ECAP.PRS clear or queue not usable */
} VtdPrqStatus;

typedef struct VtdPageReq {
    uint16_t rid;
    bool pasid_present;
    uint32_t pasid;
    bool exec, priv;
    bool read, write;
    bool lpig;                /* last page in group */
    unsigned prgi;            /* 9 bits */
    uint64_t addr;            /* page address */
} VtdPageReq;

/**
 * vtd_unit_page_request:
 * A PRI page request message from a device: written as a 256-bit page
 * request descriptor at PQT, PQT advanced, PRS.PPR set and a page request
 * event raised through PECTL.
 */
VtdPrqStatus vtd_unit_page_request(VtdUnit *u, const VtdPageReq *req);

/** Resets every register and cache to the power-on state. */
void vtd_unit_reset(VtdUnit *u);

/* ---- faults ------------------------------------------------------------ */

/** What the fault recorder needs to know about one fault. */
typedef struct VtdFaultInfo {
    uint8_t reason;           /* VTD_FR_* */
    uint16_t sid;
    uint64_t addr;            /* FI: page address (low 12 bits dropped) */
    VtdFaultType type;        /* T1/T2 */
    PcieAt at;
    bool pasid_present;
    uint32_t pasid;
    bool priv;
    bool exec;
} VtdFaultInfo;

/**
 * vtd_unit_record_fault:
 * Records a primary fault exactly as the hardware does (also used for
 * fault injection): written at the next fault recording register unless
 * PFO is set or that register still holds a fault (then PFO is set and the
 * fault is lost); PPF/FRI updated; a fault event raised when no fault
 * status was pending.  Returns TRUE when the fault was recorded.
 */
bool vtd_unit_record_fault(VtdUnit *u, const VtdFaultInfo *f);

/** Number of fault recording registers (CAP.NFR + 1). */
unsigned vtd_unit_num_fault_records(const VtdUnit *u);
/** Copies fault recording register @index (< num) into *@out. */
void vtd_unit_fault_record(const VtdUnit *u, unsigned index, VtdFaultRecord *out);

/* ---- introspection for tests, dumps and the platform ------------------- */

/** Reads @size (4 or 8) bytes of the register window without side effects. */
uint64_t vtd_unit_reg_peek(const VtdUnit *u, uint64_t offset, unsigned size);
/** Window offset of register @id (for FRCD_LO/HI: of record 0), or -1 if not implemented. */
int64_t vtd_unit_reg_offset(const VtdUnit *u, VtdRegId id);
/** The static description of register @id. */
const VtdRegDesc *vtd_reg_desc(VtdRegId id);

/**
 * vtd_unit_dump_regset:
 * Appends the register dump in the format of Linux's debugfs
 * intel/iommu_regset file (header naming unit @name at @base, then one
 * "%-16s\t0x%02x\t\t0x%016llx" row per register in the kernel's order)
 * to @out, so a dump can be diffed against one taken on hardware.
 */
void vtd_unit_dump_regset(const VtdUnit *u, const char *name, uint64_t base, GString *out);

/**
 * vtd_unit_ir_state:
 * For an interrupt-remapping model: the IRTA value latched by the last
 * SIRTP (0 before any), and whether GSTS.IRES and GSTS.CFIS are set.
 * Any out-pointer may be NULL.
 */
void vtd_unit_ir_state(const VtdUnit *u, uint64_t *irta, bool *ire, bool *cfi);

/**
 * vtd_unit_last_result:
 * The engine's result for the most recent translation the unit performed
 * (DMA, ATS or vtd_unit_translate), or NULL before the first.  Valid until
 * the next translation.
 */
const VtdXlateResult *vtd_unit_last_result(const VtdUnit *u);

/**
 * vtd_unit_result_mark / vtd_unit_first_result:
 * A DMA may be several TLPs.  After a mark, vtd_unit_first_result() is the
 * result of the first translation since the mark (NULL if none yet).
 */
void vtd_unit_result_mark(VtdUnit *u);
const VtdXlateResult *vtd_unit_first_result(const VtdUnit *u);

/** The translation engine (owned by the unit), for cache statistics. */
VtdXlate *vtd_unit_xlate(VtdUnit *u);

typedef struct VtdUnitStats {
    uint64_t requests;            /* vtd_unit_mem_request / vtd_unit_translate calls */
    uint64_t passthrough;         /* TE=0 */
    uint64_t blocked_pmr;         /* blocked by a protected memory region */
    uint64_t blocked_abort;       /* blocked by abort-DMA mode */
    uint64_t faults;              /* faults the engine reported */
    uint64_t faults_recorded;
    uint64_t faults_suppressed;   /* FPD-qualified, not recorded */
    uint64_t faults_overflow;     /* lost to PFO */
    uint64_t fault_events;        /* fault event MSIs sent */
    uint64_t inv_descriptors;     /* queued invalidation descriptors completed */
    uint64_t inv_events;          /* invalidation completion MSIs sent */
    uint64_t guest_errors;        /* misprogramming noticed (see last_guest_error) */
    uint64_t prq_auto_responses;  /* page group responses the hardware sent by itself */
} VtdUnitStats;

const VtdUnitStats *vtd_unit_stats(const VtdUnit *u);

/** The last misprogramming message (static storage of the unit), or NULL. */
const char *vtd_unit_last_guest_error(const VtdUnit *u);

#include "models/vtd/vtd_ir.h"

#endif
