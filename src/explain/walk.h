/*
 * The page-walk explainer: what a VT-d unit does with one request, step by
 * step, for teaching and for debugging a driver.
 *
 * explain_walk() reads the unit's tables from memory (never writing: no
 * A/D update, no cache fill) in the order and with the checks of the
 * translation engine (models/vtd/vtd_xlate.c), and records every step:
 * which table was read, where, which bits of the input address chose the
 * entry, the raw entry, each field by its specification name, and the
 * rights accumulated so far.  Nested translations record the second-stage
 * walk of every first-stage table pointer as a sub-walk (depth 1).  The
 * verdict is a VtdXlateResult, filled like the engine fills it, so tests
 * can compare the two; a fault carries its reason code and the wording of
 * the one fault-reason table (vtd_fault_reason_str()).
 *
 * The explainer also asks the unit's caches, read-only
 * (vtd_xlate_peek_*), what they would have served: the context and PASID
 * caches, each paging-structure cache and the IOTLB.  An entry that
 * differs from what the tables say is flagged stale - that is how a
 * missing invalidation shows.
 *
 * What it does not do: it explains the walk from the tables; when a stale
 * cache entry would serve the request instead, it says so and reports
 * what the cached entry gives (explain->served), but it does not model
 * the engine's cache-dependent corner cases (a walk resumed from a
 * paging-structure-cache hit skips the A/D checks of the levels above it).
 *
 * Output: explain_format_text(), explain_format_json() (hand-written JSON,
 * 64-bit values as "0x..." strings), explain_format_dot() (Graphviz: the
 * tables and the path through them).
 */
#ifndef VTDSIM_EXPLAIN_WALK_H
#define VTDSIM_EXPLAIN_WALK_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "mem/addr_space.h"
#include "models/vtd/vtd_xlate.h"

/** One field of an entry: its specification name, absolute bit range and value. */
typedef struct ExplainField {
    char *name;
    unsigned hi, lo;
    uint64_t value;
    char *meaning;            /* decoded meaning, or NULL */
} ExplainField;

typedef enum ExplainKind {
    EXPLAIN_CHECK = 0,        /* a decision without a table read (mode, width, rights) */
    EXPLAIN_ROOT,
    EXPLAIN_CONTEXT,
    EXPLAIN_PASID_DIR,
    EXPLAIN_PASID_ENTRY,
    EXPLAIN_FS,               /* first-stage paging entry */
    EXPLAIN_SS,               /* second-stage paging entry */
    EXPLAIN_IRTE,             /* interrupt remapping table entry */
} ExplainKind;

/** Name of a step kind ("root", "context", "pasid-dir", "pasid-entry", "fs", "ss", "irte", "check"). */
const char *explain_kind_name(ExplainKind k);

typedef struct ExplainStep {
    ExplainKind kind;
    char *title;              /* "root entry", "second-stage PDE (level 2)", ... */
    unsigned depth;           /* 0: main walk; 1: second-stage walk of a first-stage table */
    unsigned level;           /* paging level (FS/SS steps), else 0 */
    uint64_t input;           /* the address this walk translates (IOVA, or GPA at depth 1) */
    uint64_t table;           /* base of the table read */
    uint64_t index;           /* entry index in it */
    char *index_from;         /* what chose the index: "bus", "devfn[6:0]", "IOVA[38:30]"... */
    uint64_t addr;            /* address of the entry */
    unsigned nwords;          /* raw 64-bit words read (0 for checks) */
    uint64_t raw[8];
    bool read_ok;             /* the read succeeded */
    GArray *fields;           /* ExplainField */
    char *rights;             /* rights accumulated so far, or NULL */
    char *verdict;            /* what this step decided */
    char *cache;              /* what a cache holds for this step, or NULL */
    bool stale;               /* that cache entry differs from memory */
    bool fault;               /* this step raised the fault */
} ExplainStep;

typedef struct ExplainWalk {
    VtdXlateRequest req;
    char *unit;               /* unit name for messages ("dmar0") */
    GPtrArray *steps;         /* ExplainStep *, in order */
    VtdXlateResult res;       /* verdict of the tables (engine semantics) */
    bool iotlb_hit;           /* the IOTLB holds an entry for the request */
    VtdIotlbPeek iotlb;
    GPtrArray *cache_notes;   /* char *: one line per cache consulted */
    bool stale;               /* some cache would serve something other than the tables */
    bool served;              /* the IOTLB (not the tables) would answer */
    uint64_t served_addr;     /* ... with this address */
    GPtrArray *linux_log;     /* char *: what a Linux host logs for a recorded fault
                                 (the fault line and the CONFIG_DMAR_DEBUG table dump) */
} ExplainWalk;

/**
 * explain_walk:
 * Explains @req against the tables in @mem under register snapshot @cfg.
 * @caches: the unit's engine to peek at (NULL: no cache report).  @unit
 * names the unit in the output.  Never writes memory or caches; never
 * aborts on guest-controlled input.  Free with explain_walk_free().
 */
ExplainWalk *explain_walk(AddrSpace *mem, const VtdXlateConfig *cfg, const VtdXlate *caches,
                          const char *unit, const VtdXlateRequest *req);
void explain_walk_free(ExplainWalk *w);

/**
 * explain_interrupt:
 * For a walk that ended as an interrupt request (status
 * VTD_XLATE_INTERRUPT), appends the interrupt-remapping steps: the MSI
 * address decoded (remappable or compatibility format, handle, SHV with
 * subhandle @data[15:0]) and, when remapping is enabled (@ire) and the
 * format is remappable, the IRTE read from the table at @irta (latched
 * IRTA: base 63:12, S 3:0) with its fields.  The verdict on the interrupt
 * is the interrupt-remapping model's (vtd_unit_remap_interrupt()); this
 * only shows the entry it will use.  Does nothing for other walks.
 */
void explain_interrupt(ExplainWalk *w, AddrSpace *mem, uint64_t irta, bool ire, uint32_t data);

/** Appends the step-by-step text explanation. */
void explain_format_text(const ExplainWalk *w, GString *out);
/** Appends the explanation as one JSON object (UTF-8, newline-terminated). */
void explain_format_json(const ExplainWalk *w, GString *out);
/** Appends a Graphviz digraph: one node per table entry read, the path as edges. */
void explain_format_dot(const ExplainWalk *w, GString *out);

/** Appends @s to @out as a JSON string literal (with quotes). */
void explain_json_string(GString *out, const char *s);

#endif
