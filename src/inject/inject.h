/*
 * Fault injection (issue 9, docs/fault-injection.md): break the hardware
 * by plan, replay the trace, and classify what the software saw.
 *
 * A plan is a list of InjectSpecs, written as `inject CLASS [trigger]
 * [target]` lines in a trace or as --inject strings.  An injection run
 * replays the trace twice: once fault-free (the golden run) and once with
 * the plan armed, both in their own simulation, and compares them:
 *
 *   detected   a fault record appeared that the golden run did not have,
 *              or an error completion (UR/CA/poisoned/timeout, PRQ
 *              overflow) reached the device, or a function's AER status
 *              registers have a bit the golden run's do not;
 *   masked     every request's status, fault and read data, the
 *              interrupt stream and the memory of every written page are
 *              identical to the golden run;
 *   sdc        silent data corruption: no detection, but read data, the
 *              contents of a written page or the interrupt stream differ;
 *   hang       the injected run could not reach the end of the trace (a
 *              wait that never completes) while the golden run did, and
 *              the unit reported no invalidation error (IQE/ITE/ICE: with
 *              one, the driver noticed, and the outcome is detected);
 *   not-fired  the trigger never matched.
 *
 * What is modelled: completion faults on device requests at the root
 * complex, bit flips in root, context, PASID-directory, PASID-table,
 * second- and first-stage paging entries and IRTEs as the hardware reads
 * them (the bit is flipped in host memory right before the matching
 * request or MSI and restored right after: a transient corruption of what
 * the unit reads; cached copies keep whatever was read), access errors on
 * the walker's reads of those entries (table-read-error) and failed A/D
 * write-backs (ad-writeback), through the unit's table filter, dropped IOTLB invalidations
 * (`flush` events), lost and duplicated MSIs, page-request queue
 * overflow, device-TLB invalidation timeouts (ITE), and invalidation
 * descriptors lost, delayed or reordered inside the unit's queue (chosen
 * by type and by their DID, address, SID and PASID fields), and corrected
 * link errors logged in AER (the PCIe layer logs completion errors in the
 * detecting function's AER capability, src/pcie/dma.c).  Not
 * modelled: see docs/fault-injection.md.
 *
 * Everything is deterministic: probabilities draw from a GRand seeded by
 * the spec's seed, and reports contain no wall-clock values.
 */
#ifndef VTDSIM_INJECT_INJECT_H
#define VTDSIM_INJECT_INJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"

#define INJECT_CLASSES(X)                                                              \
    X(UR, "ur", "Unsupported Request completion")                                      \
    X(CA, "ca", "Completer Abort completion")                                          \
    X(POISON, "poison", "poisoned TLP (EP=1)")                                         \
    X(TIMEOUT, "timeout", "completion timeout (non-posted) / lost posted write")      \
    X(BITFLIP, "bitflip", "bit flip in a table entry as the hardware reads it")       \
    X(DROP_INVAL, "drop-inval", "dropped IOTLB invalidation (stale cache entries)")  \
    X(MSI_LOST, "msi-lost", "lost MSI")                                                \
    X(MSI_DUP, "msi-dup", "duplicated MSI")                                            \
    X(PRQ_OVERFLOW, "prq-overflow", "page request queue filled up before a request")   \
    X(DEVTLB_TIMEOUT, "devtlb-timeout", "device-TLB invalidation never answered (ITE)") \
    X(DROP_DESC, "drop-desc", "invalidation descriptor lost inside the queue (no effect)") \
    X(DELAY_DESC, "delay-desc", "invalidation descriptor executed a time after it was fetched") \
    X(REORDER_DESC, "reorder-desc", "invalidation descriptor executed after the next N descriptors") \
    X(TABLE_READ_ERROR, "table-read-error", "access error on the hardware's read of a table entry") \
    X(AD_WRITEBACK, "ad-writeback", "failed Accessed/Dirty write-back of a paging entry") \
    X(LINK_ERROR, "link-error", "corrected link error logged in AER (data unaffected)")

/*
 * link-error kind=: X(option value, PcieAerCor bit name) - the correctable
 * errors a link's receiver detects (PCIe Base 6.x 7.8.4.5).
 */
#define INJECT_LINK_KINDS(X)                 \
    X("receiver", RCVR)                      \
    X("bad-tlp", BAD_TLP)                    \
    X("bad-dllp", BAD_DLLP)                  \
    X("replay-rollover", REP_ROLL)           \
    X("replay-timeout", REP_TIMER)

typedef enum InjectClass {
#define INJECT_X(id, name, desc) INJECT_##id,
    INJECT_CLASSES(INJECT_X)
#undef INJECT_X
    INJECT__COUNT
} InjectClass;

/*
 * The table entries bitflip and table-read-error name:
 * X(id, option value, size in bits, name in reports).  INJECT_ENTRY_PADDR
 * (entry=ADDR, one 64-bit word at a host address) follows the list.
 */
#define INJECT_ENTRIES(X)                                                  \
    X(ROOT, "root", 128, "root entry")                                     \
    X(CONTEXT, "context", 256, "context entry")                            \
    X(PASID_DIR, "pasid-dir", 64, "PASID-directory entry")                 \
    X(PASID, "pasid", 512, "PASID-table entry")                            \
    X(PTE, "pte", 64, "paging entry")                                      \
    X(FS_PTE, "fs-pte", 64, "first-stage paging entry")                    \
    X(IRTE, "irte", 128, "IRTE")

typedef enum InjectEntry {
#define INJECT_ENTRY_X(id, name, bits, what) INJECT_ENTRY_##id,
    INJECT_ENTRIES(INJECT_ENTRY_X)
#undef INJECT_ENTRY_X
    INJECT_ENTRY_PADDR,       /* the 64-bit word at a given host address */
} InjectEntry;

typedef enum InjectOutcome {
    INJECT_NOT_FIRED = 0,
    INJECT_MASKED,
    INJECT_DETECTED,
    INJECT_SDC,
    INJECT_HANG,
    INJECT_OUTCOME__COUNT
} InjectOutcome;

typedef struct InjectSpec {
    InjectClass cls;
    /* trigger */
    bool has_time;
    EmuTick time;             /* armed from this simulated time (ps) */
    uint64_t nth;             /* fire on the nth matching event (1-based); 0: every one */
    bool has_prob;
    double prob;              /* fire with this probability per matching event */
    uint64_t seed;
    uint64_t count;           /* firings at most; 0 unlimited (default 1) */
    /* target */
    char *dev;                /* device name or BDF, or NULL for any */
    bool has_pasid;
    uint32_t pasid;
    bool has_addr;
    uint64_t addr_lo, addr_hi;   /* [lo, hi) of request (or flush) addresses */
    int op;                   /* 0 any, 1 reads, 2 writes */
    /* bitflip */
    InjectEntry entry;
    uint64_t paddr;
    unsigned bit;
    /* drop-desc, delay-desc, reorder-desc (dev, pasid and addr select descriptor fields) */
    unsigned desc;            /* VT-d descriptor type code (6.5.2); 0 any */
    bool has_did;
    uint16_t did;             /* domain of a domain/page-selective or device-selective descriptor */
    bool has_delay;
    EmuTick delay;            /* delay-desc: ps from the fetch to the execution */
    unsigned by;              /* reorder-desc: descriptors fetched before it executes (default 1) */
    /* link-error */
    uint32_t link_cor;        /* the Correctable Error Status bit (kind=) */
    bool link_port;           /* side=port: the downstream port above the device, not the device */
    char *text;               /* canonical text, for reports */
} InjectSpec;

const char *inject_class_name(InjectClass c);
const char *inject_class_desc(InjectClass c);
const char *inject_outcome_name(InjectOutcome o);
/** Parses a class name; -1 when unknown. */
int inject_class_parse(const char *s);

/**
 * inject_spec_parse:
 * Parses words[0..n) = "CLASS key=value...".  Returns a new spec (free
 * with inject_spec_free) or NULL with @error naming the bad word.
 */
InjectSpec *inject_spec_parse(char **words, unsigned n, GError **error);
/** Same from one string ("ur nth=2 dev=edu"). */
InjectSpec *inject_spec_parse_string(const char *s, GError **error);
void inject_spec_free(InjectSpec *s);

typedef struct InjectResult InjectResult;

/**
 * inject_run_trace:
 * Runs the golden and the injected replay of @trace with the plan of the
 * trace's own `inject` lines plus @specs (borrowed InjectSpec *, may be
 * NULL), and classifies the outcome.  Returns NULL with @error only when
 * the golden run itself cannot be run to its end.
 */
InjectResult *inject_run_trace(const char *trace, GPtrArray *specs, GError **error);
void inject_result_free(InjectResult *r);
InjectOutcome inject_result_outcome(const InjectResult *r);
/** Firings per class in the injected run (indexed by InjectClass). */
const uint64_t *inject_result_fired(const InjectResult *r);
/** Appends the report as text / as one JSON object (deterministic). */
void inject_result_text(const InjectResult *r, GString *out);
void inject_result_json(const InjectResult *r, GString *out);

#endif
