/*
 * VT-d DMA-remapping translation engine with explicit caches.
 *
 * This module models what a VT-d 4.x remapping unit does with one DMA
 * request once the register file has decided that translation applies:
 * it walks the root table (legacy or scalable mode, RTADDR.TTM as latched
 * by SRTP), the context entry, the PASID directory and PASID table, and
 * the first-stage and/or second-stage page tables the PASID entry (or the
 * legacy context entry) selects, checking every reserved bit, permission,
 * address width and programming rule the specification defines, and
 * setting accessed/dirty flags.  Every failure is reported with exactly
 * the fault reason code the specification assigns (VTD_FR_* values of
 * models/vtd/vtd_entries.h), together with the facts the fault recorder
 * needs to decide whether the fault is recorded (FPD qualification).
 *
 * The engine also owns the remapping caches: context cache, PASID cache,
 * IOTLB and one paging-structure cache per level.  Each is a set-associative
 * cache with a configured size, associativity and replacement policy.  The
 * caches are architectural state: a cached entry stays in force until
 * software invalidates it with one of the vtd_xlate_inv_* calls, so a guest
 * that changes a table and forgets the invalidation keeps getting the stale
 * translation, exactly as on hardware.  Nothing here invalidates anything
 * behind the software's back, except capacity evictions.
 *
 * What this module does not do: register decoding, fault recording,
 * fault events, queued invalidation parsing (all in the register file,
 * vtd_regs), interrupt remapping, device-TLBs, page requests, timing.  The
 * caller turns a VtdXlateResult into a completion, a fault record or an
 * interrupt-remapping request.
 *
 * Memory: table reads and A/D writes go through the AddrSpace given at
 * creation (the host physical address space the unit masters on).  A read
 * that fails (MEMTX_* error) becomes the specification's "access error"
 * fault for the structure being read (0x8/0x9/0x7, 0x38/0x40/0x50/0x58/
 * 0x70/0x73/0x78/...).
 *
 * Ownership: a VtdXlate is created by vtd_xlate_new() and freed by
 * vtd_xlate_free(); it does not own the AddrSpace, which must outlive it.
 * Not thread-safe (single-threaded like the EmuSim it lives in).
 */
#ifndef VTDSIM_MODELS_VTD_VTD_XLATE_H
#define VTDSIM_MODELS_VTD_VTD_XLATE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "mem/addr_space.h"

/* ------------------------------------------------------------------ */
/* Cache configuration                                                 */
/* ------------------------------------------------------------------ */

/** The caches of one remapping unit (index into VtdCacheParams.cache[]). */
typedef enum VtdCacheId {
    VTD_CACHE_CONTEXT = 0, /* context-cache: tag SID, holds context entry + DID */
    VTD_CACHE_PASID,       /* PASID-cache: tag (DID, PASID), holds PASID entry */
    VTD_CACHE_IOTLB,       /* IOTLB: tag (DID, PASID, page), holds translation */
    VTD_CACHE_PSC_PML5,    /* paging-structure cache, entries from level-5 tables */
    VTD_CACHE_PSC_PML4,    /* ... from level-4 tables (PML4E / SL-PML4E) */
    VTD_CACHE_PSC_PDPE,    /* ... from level-3 tables (PDPE / SL-PDPE) */
    VTD_CACHE_PSC_PDE,     /* ... from level-2 tables (PDE / SL-PDE) */
    VTD_CACHE_COUNT
} VtdCacheId;

/** Name of a cache for messages and statistics ("iotlb", "psc-pde", ...). */
const char *vtd_cache_name(VtdCacheId id);

typedef enum VtdReplPolicy {
    VTD_REPL_LRU = 0,
    VTD_REPL_FIFO,
    VTD_REPL_RANDOM,       /* deterministic: xorshift seeded with VtdCacheGeom.seed */
} VtdReplPolicy;

/** Geometry of one cache. */
typedef struct VtdCacheGeom {
    unsigned entries;      /* total entries; 0 disables the cache (every lookup misses) */
    unsigned assoc;        /* ways per set; 0 = fully associative; must divide entries */
    VtdReplPolicy repl;
    uint64_t seed;         /* for VTD_REPL_RANDOM; 0 is replaced by a fixed constant */
} VtdCacheGeom;

typedef struct VtdCacheParams {
    VtdCacheGeom cache[VTD_CACHE_COUNT];
} VtdCacheParams;

/**
 * vtd_cache_params_default:
 * Fills @p with the defaults: context 256 entries 4-way LRU, PASID 256
 * 4-way LRU, IOTLB 1024 entries 8-way LRU, each PSC level 64 entries
 * fully associative LRU.
 */
void vtd_cache_params_default(VtdCacheParams *p);

/**
 * vtd_cache_params_validate:
 * Returns: TRUE if every geometry is usable (assoc divides entries, the
 * number of sets is a power of two, at most 1<<20 entries); otherwise
 * FALSE with @err set (domain VTD_XLATE_ERROR, code 0).
 */
gboolean vtd_cache_params_validate(const VtdCacheParams *p, GError **err);

#define VTD_XLATE_ERROR (vtd_xlate_error_quark())
GQuark vtd_xlate_error_quark(void);

/* ------------------------------------------------------------------ */
/* Register snapshot                                                   */
/* ------------------------------------------------------------------ */

/**
 * The register state the walk depends on.  The register file pushes a new
 * snapshot with vtd_xlate_set_config() whenever one of these changes
 * (CAP/ECAP at creation, RTADDR+TTM when SRTP completes, TE when GSTS.TES
 * changes).  Setting a config never touches the caches (software must
 * invalidate after SRTP, as the spec requires); call vtd_xlate_flush_all()
 * for reset or ESRTPS semantics.
 */
typedef struct VtdXlateConfig {
    uint64_t cap;          /* CAP_REG value */
    uint64_t ecap;         /* ECAP_REG value */
    uint64_t rtaddr;       /* RTADDR_REG as latched by SRTP: RTA 63:12, TTM 11:10 */
    bool te;               /* GSTS.TES: DMA remapping enabled */
    unsigned haw;          /* host address width in bits (DMAR ACPI table);
                              0 = CAP.MGAW + 1.  Table pointers and output
                              addresses above it are reserved bits */
} VtdXlateConfig;

/* ------------------------------------------------------------------ */
/* Requests and results                                                */
/* ------------------------------------------------------------------ */

/** PCIe Address Type field of the request. */
typedef enum VtdAt {
    VTD_AT_UNTRANSLATED = 0, /* 00: ordinary DMA */
    VTD_AT_TRANSLATION = 1,  /* 01: ATS translation request (no data access) */
    VTD_AT_TRANSLATED = 2,   /* 10: translated request (address is already HPA) */
} VtdAt;

typedef struct VtdXlateRequest {
    uint16_t sid;          /* requester ID: bus 15:8, dev 7:3, fn 2:0 */
    bool pasid_present;    /* request-with-PASID (PASID TLP prefix) */
    uint32_t pasid;        /* 20 bits, valid if pasid_present */
    bool priv;             /* privileged-mode-requested (PMR in the prefix) */
    bool exec;             /* execute-requested (ER in the prefix) */
    bool write;            /* write (true) or read (false); ignored for AT=01 */
    bool ats_nw;           /* AT=01 only: No-Write flag of the translation request */
    uint64_t addr;         /* input address */
    uint64_t len;          /* bytes accessed (0 counts as 1); only the interrupt-window
                              checks look at it: callers split accesses at 4 KiB */
    VtdAt at;
} VtdXlateRequest;

/** Outcome of vtd_xlate_translate(). */
typedef enum VtdXlateStatus {
    VTD_XLATE_OK = 0,      /* translated (or pass-through / TE=0 identity) */
    VTD_XLATE_FAULT,       /* remapping fault: see fault_reason etc. */
    VTD_XLATE_INTERRUPT,   /* untranslated request-without-PASID to 0xFEEx_xxxx:
                              not DMA, hand to interrupt remapping (writes) */
    VTD_XLATE_UR,          /* blocked without a recorded fault: a read without PASID
                              to the interrupt window, a translated request to it,
                              or RTADDR.TTM = 11 (abort-DMA, with ECAP.ADMS):
                              complete as Unsupported Request */
} VtdXlateStatus;

/** Permission bits granted by a translation. */
enum {
    VTD_PERM_R = 1u << 0,
    VTD_PERM_W = 1u << 1,
    VTD_PERM_X = 1u << 2,     /* execute allowed */
    VTD_PERM_PRIV = 1u << 3,  /* supervisor access allowed (first stage U/S) */
};

/** Which structure a fault came from (for messages, tests and statistics). */
typedef enum VtdFaultStruct {
    VTD_FSTRUCT_NONE = 0,
    VTD_FSTRUCT_REQUEST,      /* the request itself (address width, TTM, AT ...) */
    VTD_FSTRUCT_ROOT,
    VTD_FSTRUCT_CONTEXT,
    VTD_FSTRUCT_PASID_DIR,
    VTD_FSTRUCT_PASID_ENTRY,
    VTD_FSTRUCT_FS_PTE,       /* first-stage paging entry */
    VTD_FSTRUCT_SS_PTE,       /* second-stage paging entry */
} VtdFaultStruct;

const char *vtd_fault_struct_name(VtdFaultStruct s);

typedef struct VtdXlateResult {
    VtdXlateStatus status;

    /* VTD_XLATE_OK */
    uint64_t out_addr;        /* translated address of req.addr */
    uint64_t page_size;       /* bytes mapped by the leaf (4K, 2M, 1G; nested: the
                                 smaller of the two leaves); identity 4096 */
    unsigned perm;            /* VTD_PERM_* granted to this requester (privilege,
                                 WPE and ats_nw applied).  For AT=01 this is the
                                 completion's R/W/X/Priv; 0 (with status OK and
                                 out_addr 0) when the page is not present or not
                                 accessible - such translation requests record no
                                 fault, per the ATS rules */
    uint16_t did;             /* domain ID used (0 when TE=0) */
    unsigned pgtt;            /* VTD_PGTT_*: 1 FS, 2 SS, 3 nested, 4 PT (also TE=0
                                 and scalable translated requests); legacy mode
                                 reports 2 (TT 00/01) or 4 (TT 10) */
    bool snoop;               /* SNP / PGSNP: the access must snoop */
    bool global;              /* first-stage G bit of the leaf */
    uint8_t emt;              /* second-stage EMT of the leaf (informational) */
    bool ipat;

    /* VTD_XLATE_FAULT */
    uint8_t fault_reason;     /* spec reason code (VTD_FR_*) */
    bool fault_qualified;     /* the reason is of the "qualified" class */
    bool fault_fpd;           /* a present entry with FPD=1 was traversed */
    bool fault_record;        /* = !(qualified && fpd): record this fault */
    VtdFaultStruct fault_struct;
    uint64_t fault_addr;      /* page-aligned input address for FRCD.FI */

    /* statistics for this one request (bit n = VtdCacheId n) */
    unsigned cache_hit;       /* caches that hit */
    unsigned cache_miss;      /* caches looked up and missed */
    unsigned mem_reads;       /* table reads issued to memory */
    unsigned mem_writes;      /* A/D write-backs issued */
} VtdXlateResult;

/* ------------------------------------------------------------------ */
/* Engine                                                              */
/* ------------------------------------------------------------------ */

typedef struct VtdXlate VtdXlate;

/**
 * vtd_xlate_new:
 * @params: cache geometry (copied); NULL = vtd_cache_params_default().
 * @mem: address space for table reads and A/D writes; not owned.
 * @err: set if @params is invalid.
 * Returns: a new engine with empty caches and an all-zero config
 * (TE=0), or NULL with @err set.
 */
VtdXlate *vtd_xlate_new(const VtdCacheParams *params, AddrSpace *mem, GError **err);
void vtd_xlate_free(VtdXlate *x);

/**
 * VtdXlateMemFilter:
 * Consulted before every 64-bit table access of the walker (root, context,
 * PASID-directory, PASID and paging entries; A/D write-backs with @write):
 * returning true makes the access fail as a bus error would, and the walk
 * reports the access-error fault reason of the structure it was reading
 * (0x08/0x09/0x07 legacy; 0x38/0x40/0x50/0x58, 0x73/0x70 first stage and
 * 0x7B/0x78 second stage in scalable mode).  For fault injection.
 */
typedef bool VtdXlateMemFilter(void *opaque, uint64_t addr, bool write);

/**
 * vtd_xlate_set_mem_filter:
 * Installs @filter (NULL removes it; @opaque is borrowed).  Without one
 * the walker pays a single NULL check per table access.
 */
void vtd_xlate_set_mem_filter(VtdXlate *x, VtdXlateMemFilter *filter, void *opaque);

/** Installs a new register snapshot (copied).  Caches are not touched. */
void vtd_xlate_set_config(VtdXlate *x, const VtdXlateConfig *cfg);
const VtdXlateConfig *vtd_xlate_get_config(const VtdXlate *x);

/**
 * vtd_xlate_translate:
 * Fault reasons are the specification's (VTD_FR_* of vtd_entries.h); the
 * interpretations where the text leaves room are listed at the top of
 * vtd_xlate.c.  Request attributes priv/exec are honoured only for
 * requests with PASID (and RID_PRIV for requests without one in scalable
 * mode); exec is meaningful for first-stage and nested translations only.
 *
 * Translates one request against the current config and caches, filling
 * caches on the way and writing A/D flags to memory.  Never aborts on
 * any guest-controlled input.  *@res is fully overwritten.
 * Returns: res->status.
 */
VtdXlateStatus vtd_xlate_translate(VtdXlate *x, const VtdXlateRequest *req, VtdXlateResult *res);

/**
 * vtd_xlate_check_page_request:
 * The checks a page request (PCIe PRI Page Request Message, @req->sid /
 * pasid fields used; addr is the page) must pass before it may be written
 * to the page request queue: RTADDR.TTM must be scalable (0x32 otherwise,
 * 0x30 for the reserved encoding), the root and scalable-mode context
 * entries must be valid (0x38-0x43), the context must have PRE=1 (0x47)
 * and, for a request with PASID, PASIDE=1 (0x45).
 * Returns: VTD_XLATE_OK when the request may be queued, VTD_XLATE_FAULT
 * with the fault fields set, or VTD_XLATE_UR when remapping is disabled
 * or in abort-DMA mode.  Uses and fills the context cache.
 */
VtdXlateStatus vtd_xlate_check_page_request(VtdXlate *x, const VtdXlateRequest *req,
                                            VtdXlateResult *res);

/* ------------------------------------------------------------------ */
/* Invalidation (one call per granularity of CCMD/IOTLB registers and  */
/* of the 0x1, 0x2, 0x6, 0x7 descriptors)                              */
/* ------------------------------------------------------------------ */

/** Empties every cache (reset, ESRTPS).  Counts as one invalidation of each. */
void vtd_xlate_flush_all(VtdXlate *x);

/* Context-cache (CCMD.CIRG / descriptor 0x1 G). */
void vtd_xlate_inv_context_global(VtdXlate *x);
void vtd_xlate_inv_context_domain(VtdXlate *x, uint16_t did);
/** @fm: function mask 0..3 (0: no bits, 1: ignore SID bit 2, 2: bits 2:1, 3: bits 2:0). */
void vtd_xlate_inv_context_device(VtdXlate *x, uint16_t did, uint16_t sid, unsigned fm);

/*
 * IOTLB (IOTLB_REG.IIRG / descriptor 0x2 G).  These invalidate IOTLB entries
 * of every PGTT (second-stage, first-stage, nested) tagged with the DID, and
 * the paging-structure caches of the DID (page-selective with ih=0: only
 * entries covering the range).  @am: address mask, 2^am 4 KiB pages, @addr
 * aligned down to it; @ih: invalidation hint, 1 = leaf-only (paging-structure
 * caches are kept).
 */
void vtd_xlate_inv_iotlb_global(VtdXlate *x);
void vtd_xlate_inv_iotlb_domain(VtdXlate *x, uint16_t did);
void vtd_xlate_inv_iotlb_page(VtdXlate *x, uint16_t did, uint64_t addr, unsigned am, bool ih);

/* PASID-cache (descriptor 0x7 G: 00 domain, 01 PASID-selective, 11 global). */
void vtd_xlate_inv_pasid_global(VtdXlate *x);
void vtd_xlate_inv_pasid_domain(VtdXlate *x, uint16_t did);
void vtd_xlate_inv_pasid_pasid(VtdXlate *x, uint16_t did, uint32_t pasid);

/*
 * PASID-based IOTLB (descriptor 0x6).  Per the spec these invalidate only
 * first-stage and nested translations (PGTT 001/011) and their first-stage
 * paging-structure cache entries; second-stage-only mappings need the IOTLB
 * calls above.
 */
void vtd_xlate_inv_piotlb_domain(VtdXlate *x, uint16_t did);           /* all PASIDs of DID */
void vtd_xlate_inv_piotlb_pasid(VtdXlate *x, uint16_t did, uint32_t pasid); /* G=10 */
void vtd_xlate_inv_piotlb_page(VtdXlate *x, uint16_t did, uint32_t pasid,
                               uint64_t addr, unsigned am, bool ih);    /* G=11 */

/* ------------------------------------------------------------------ */
/* Statistics and introspection                                        */
/* ------------------------------------------------------------------ */

typedef struct VtdCacheStats {
    uint64_t lookups;
    uint64_t hits;
    uint64_t misses;
    uint64_t fills;           /* entries inserted */
    uint64_t evictions;       /* valid entries displaced by a fill (capacity) */
    uint64_t invalidations;   /* invalidation operations applied to this cache */
    uint64_t inv_entries;     /* entries dropped by invalidations */
} VtdCacheStats;

/** Copies the statistics of cache @id into *@out. */
void vtd_xlate_get_stats(const VtdXlate *x, VtdCacheId id, VtdCacheStats *out);
/** Zeroes all statistics (cache contents are kept). */
void vtd_xlate_reset_stats(VtdXlate *x);
/** Number of valid entries currently held in cache @id. */
unsigned vtd_xlate_cache_occupancy(const VtdXlate *x, VtdCacheId id);

/* ------------------------------------------------------------------ */
/* Read-only cache inspection (the walk explainer)                     */
/* ------------------------------------------------------------------ */

/*
 * The vtd_xlate_peek_* calls look an entry up exactly as a translation
 * would (same tags) without changing anything: no replacement-state
 * update, no statistics, no fills.  @pasid is the PASID tag, or -1 for
 * "no PASID" (second-stage-only and legacy translations are tagged
 * without PASID).
 */

/** Cached context entry of @sid (legacy: val[0..1]; scalable: val[0..3]). */
bool vtd_xlate_peek_context(const VtdXlate *x, uint16_t sid, bool scalable, uint64_t val[4]);

/** Cached PASID entry (val[0..2]) of (@sid, @pasid). */
bool vtd_xlate_peek_pasid(const VtdXlate *x, uint16_t sid, uint32_t pasid, uint64_t val[3]);

/** What the IOTLB holds for one input address. */
typedef struct VtdIotlbPeek {
    uint64_t out_addr;        /* translation of the probed address */
    uint64_t page_size;
    unsigned pgtt;            /* VTD_PGTT_* the entry was filled for */
    bool has_fs, has_ss;
    bool fs_rw, fs_us, fs_xd; /* first-stage rights accumulated (has_fs) */
    unsigned ss_perm;         /* VTD_PERM_R/W/X accumulated in the second stage (has_ss) */
    bool dirty;               /* D already set (a write need not walk again) */
    bool snoop, global;
} VtdIotlbPeek;

/** The IOTLB entry (4K, then 2M, then 1G tag) serving @addr for (@did, @pasid). */
bool vtd_xlate_peek_iotlb(const VtdXlate *x, uint16_t did, int64_t pasid, uint64_t addr,
                          VtdIotlbPeek *out);

/** Paging-structure cache stage tags. */
enum { VTD_PSC_STAGE_SS = 0, VTD_PSC_STAGE_FS = 1, VTD_PSC_STAGE_FS_NESTED = 2 };

/**
 * vtd_xlate_peek_psc:
 * The paging-structure-cache entry for the level-@level entry (2..5) that
 * translates @in in a @levels-deep hierarchy of @stage (VTD_PSC_STAGE_*).
 * *@next_table: host address of the next-lower table; *@acc: rights
 * accumulated down to it (second stage: VTD_PERM_R/W/X; first stage:
 * bit 0 R/W, bit 1 U/S, bit 2 XD).
 */
bool vtd_xlate_peek_psc(const VtdXlate *x, unsigned level, uint16_t did, int64_t pasid,
                        unsigned stage, unsigned levels, uint64_t in, uint64_t *next_table,
                        unsigned *acc);

#endif
