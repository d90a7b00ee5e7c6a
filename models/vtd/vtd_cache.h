/*
 * A generic set-associative cache with explicit state, used for every
 * remapping cache of a VT-d unit (context, PASID, IOTLB, paging-structure
 * caches).
 *
 * The cache stores opaque entries: an exact-match tag of
 * VTD_CACHE_KEY_WORDS 64-bit words and a payload of VTD_CACHE_VAL_WORDS
 * words that the user packs and unpacks.  The set is chosen by hashing the
 * tag, so users that look up several tags for one request (the IOTLB
 * probes one tag per page size) simply probe several times.
 *
 * Replacement within a set is LRU (stamp updated on hit), FIFO (stamp set
 * on fill only) or pseudo-random (xorshift64 with a configured seed, so
 * runs are reproducible).  Invalid ways are always filled first.
 *
 * Statistics are kept per cache: the caller decides what a "lookup" is
 * (vtd_cache_count_lookup) because one architectural lookup may need
 * several probes; fills, evictions and invalidations are counted here.
 *
 * Nothing in here knows VT-d; invalidation takes a predicate so that each
 * granularity of the specification is one small match function in
 * vtd_xlate.c.
 */
#ifndef VTDSIM_MODELS_VTD_VTD_CACHE_H
#define VTDSIM_MODELS_VTD_VTD_CACHE_H

#include <stdbool.h>
#include <stdint.h>
#include "models/vtd/vtd_xlate.h"

#define VTD_CACHE_KEY_WORDS 4
#define VTD_CACHE_VAL_WORDS 6

typedef struct VtdCacheEntry {
    uint64_t key[VTD_CACHE_KEY_WORDS];
    uint64_t val[VTD_CACHE_VAL_WORDS];
    uint64_t stamp;       /* LRU: last use; FIFO: fill time */
    bool valid;
} VtdCacheEntry;

typedef struct VtdCache VtdCache;

/** Returns TRUE if @g describes a usable cache, else FALSE with @err set. */
gboolean vtd_cache_geom_validate(const VtdCacheGeom *g, const char *name, GError **err);

/** Creates an empty cache; @g must have been validated. */
VtdCache *vtd_cache_new(const VtdCacheGeom *g);
void vtd_cache_free(VtdCache *c);

/**
 * vtd_cache_probe:
 * Returns the valid entry whose tag equals @key (and refreshes its LRU
 * stamp), or NULL.  Does not count statistics.
 */
VtdCacheEntry *vtd_cache_probe(VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS]);

/**
 * vtd_cache_peek:
 * Like vtd_cache_probe() but read-only: the replacement state is left
 * untouched (for inspection tools such as the walk explainer).
 */
const VtdCacheEntry *vtd_cache_peek(const VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS]);

/** Counts one architectural lookup with outcome @hit. */
void vtd_cache_count_lookup(VtdCache *c, bool hit);

/**
 * vtd_cache_fill:
 * Inserts (or overwrites) the entry tagged @key with payload @val,
 * evicting a victim of the set if it is full.  A disabled cache
 * (0 entries) ignores fills.
 */
void vtd_cache_fill(VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS],
                    const uint64_t val[VTD_CACHE_VAL_WORDS]);

typedef bool VtdCacheMatchFn(const VtdCacheEntry *e, const void *opaque);

/**
 * vtd_cache_invalidate:
 * Drops every valid entry for which @match returns true (all entries if
 * @match is NULL); counts one invalidation operation.
 * Returns: the number of entries dropped.
 */
unsigned vtd_cache_invalidate(VtdCache *c, VtdCacheMatchFn *match, const void *opaque);

void vtd_cache_get_stats(const VtdCache *c, VtdCacheStats *out);
void vtd_cache_reset_stats(VtdCache *c);
unsigned vtd_cache_occupancy(const VtdCache *c);

#endif
