/*
 * Address Translation Services and Page Request Interface, device side
 * (PCIe Base 5.0 chapter 10).
 *
 * What is modelled
 *  - Translation requests: a function with ATS enabled asks the root
 *    complex's translation agent for the translation of one page
 *    (pcie_fn_ats_translate); the completion entry is encoded exactly as on
 *    the wire (10.2.2: Translated Address, S, N, Global, Priv, Exe, U, W, R)
 *    including the range-size encoding of the S bit.
 *  - A device TLB (PcieDevTlb) that the endpoint model keeps: entries
 *    tagged by (PASID, page), sizes from the completion, LRU replacement,
 *    and invalidation by Invalidate Request messages (10.3) which the
 *    translation agent sends through pcie_fn_ats_invalidate().
 *  - Page requests (10.4): pcie_fn_page_request() sends a Page Request
 *    message when PRI is enabled and the outstanding allocation permits,
 *    and page group responses come back through pcie_fn_prg_response().
 *
 * Not modelled: invalidation completion tags beyond one outstanding
 * request, ATS memory attributes, stop markers, PRG response PASID
 * required bit negotiation.
 */
#ifndef VTDSIM_PCIE_ATS_H
#define VTDSIM_PCIE_ATS_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "pcie/pcie.h"

/** One translation completion entry, decoded. */
typedef struct PcieAtsEntry {
    uint64_t addr;        /* translated address, aligned to size */
    uint64_t size;        /* bytes covered: 4 KiB, or a larger power of two (S=1) */
    bool r, w;            /* read / write permitted; both 0: no translation */
    bool x, priv;         /* execute permitted, privileged-mode access permitted */
    bool global;          /* translation applies to every PASID */
    bool u;               /* untranslated access only */
    bool n;               /* non-snooped accesses */
} PcieAtsEntry;

/** Encodes @e as the 64-bit completion data (address 63:12, flags 11:0). */
uint64_t pcie_ats_encode(const PcieAtsEntry *e);
/** Decodes completion data; the size comes from the S bit and the address's low 1-bits. */
PcieAtsEntry pcie_ats_decode(uint64_t raw);

/**
 * pcie_fn_ats_translate:
 * Sends a translation request for the page holding @addr (with the PASID
 * and privilege/execute of @attrs, NULL for none; @no_write sets NW) and
 * decodes the completion into @out.  Returns SC with @out filled (R=W=0
 * means "no translation"), or the failing completion status.  A function
 * whose ATS Control.Enable is clear sends nothing and gets UR.
 */
PcieCplStatus pcie_fn_ats_translate(PcieFn *fn, uint64_t addr, const PcieDmaAttrs *attrs,
                                    bool no_write, PcieAtsEntry *out);

/** Whether ATS Control.Enable (and PRI Control.Enable) is set. */
bool pcie_fn_ats_enabled(PcieFn *fn);
bool pcie_fn_pri_enabled(PcieFn *fn);

/**
 * pcie_fn_page_request:
 * Sends a PRI Page Request message for @req to the root complex.  Returns
 * FALSE without sending when PRI is disabled, the root complex does not
 * take page requests, or the outstanding allocation (PRI register) is used
 * up; the PRI status then records the condition as the spec says
 * (Stopped / Response Failure are set by responses, not here).
 */
bool pcie_fn_page_request(PcieFn *fn, const PciePageRequest *req);

/* ---- device TLB --------------------------------------------------------- */

typedef struct PcieDevTlb PcieDevTlb;

typedef struct PcieDevTlbStats {
    uint64_t lookups, hits, misses, inserts, evictions, invalidations, inval_requests;
} PcieDevTlbStats;

/** A device TLB of @entries entries (fully associative, LRU). */
PcieDevTlb *pcie_devtlb_new(unsigned entries);
void pcie_devtlb_free(PcieDevTlb *t);

/** Finds the entry covering @addr for the PASID (or global entries); NULL on a miss. */
const PcieAtsEntry *pcie_devtlb_lookup(PcieDevTlb *t, bool pasid_present, uint32_t pasid,
                                       uint64_t addr);
/** Inserts a completion for the page holding @addr (entries with R=W=0 are not cached). */
void pcie_devtlb_insert(PcieDevTlb *t, bool pasid_present, uint32_t pasid, uint64_t addr,
                        const PcieAtsEntry *e);
/** Applies an Invalidate Request; returns the number of entries dropped. */
unsigned pcie_devtlb_invalidate(PcieDevTlb *t, const PcieAtsInval *inv);
void pcie_devtlb_stats(const PcieDevTlb *t, PcieDevTlbStats *out);

#endif
