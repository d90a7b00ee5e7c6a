/*
 * Set-associative cache storage for the VT-d remapping caches.
 *
 * Models capacity, associativity and replacement, nothing else: there is
 * no notion of time or latency here (a timing layer can charge hits and
 * misses from the per-request outcome vtd_xlate reports).  An entry is an
 * exact tag plus an opaque payload; see vtd_cache.h.
 */
#include "models/vtd/vtd_cache.h"

#include <string.h>

struct VtdCache {
    VtdCacheGeom geom;
    unsigned sets;
    unsigned ways;
    VtdCacheEntry *e;     /* sets * ways */
    uint64_t clock;       /* stamp source */
    uint64_t rng;         /* xorshift64 state */
    unsigned valid;
    VtdCacheStats st;
};

static bool is_pow2(unsigned v)
{
    return v && !(v & (v - 1));
}

gboolean vtd_cache_geom_validate(const VtdCacheGeom *g, const char *name, GError **err)
{
    if (g->entries == 0)
        return TRUE;
    if (g->entries > (1u << 20)) {
        g_set_error(err, VTD_XLATE_ERROR, 0, "%s: %u entries is more than 1048576", name,
                    g->entries);
        return FALSE;
    }
    unsigned ways = g->assoc ? g->assoc : g->entries;
    if (ways > g->entries || g->entries % ways) {
        g_set_error(err, VTD_XLATE_ERROR, 0,
                    "%s: associativity %u does not divide %u entries", name, g->assoc,
                    g->entries);
        return FALSE;
    }
    if (!is_pow2(g->entries / ways)) {
        g_set_error(err, VTD_XLATE_ERROR, 0,
                    "%s: %u entries / %u ways is not a power-of-two number of sets", name,
                    g->entries, ways);
        return FALSE;
    }
    if (g->repl != VTD_REPL_LRU && g->repl != VTD_REPL_FIFO && g->repl != VTD_REPL_RANDOM) {
        g_set_error(err, VTD_XLATE_ERROR, 0, "%s: unknown replacement policy %d", name,
                    (int)g->repl);
        return FALSE;
    }
    return TRUE;
}

VtdCache *vtd_cache_new(const VtdCacheGeom *g)
{
    VtdCache *c = g_new0(VtdCache, 1);
    c->geom = *g;
    if (g->entries) {
        c->ways = g->assoc ? g->assoc : g->entries;
        c->sets = g->entries / c->ways;
        g_assert(c->sets && is_pow2(c->sets));
        c->e = g_new0(VtdCacheEntry, g->entries);
    }
    c->rng = g->seed ? g->seed : 0x9e3779b97f4a7c15ull;
    return c;
}

void vtd_cache_free(VtdCache *c)
{
    if (!c)
        return;
    g_free(c->e);
    g_free(c);
}

static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t v, unsigned r)
{
    return (v << r) | (v >> (64 - r));
}

_Static_assert(VTD_CACHE_KEY_WORDS == 4, "key_hash and key_eq handle four tag words");

static uint64_t key_hash(const uint64_t key[VTD_CACHE_KEY_WORDS])
{
    return mix64(key[0] ^ rotl(key[1], 17) ^ rotl(key[2], 31) ^ rotl(key[3], 47));
}

static bool key_eq(const uint64_t a[VTD_CACHE_KEY_WORDS], const uint64_t b[VTD_CACHE_KEY_WORDS])
{
    return a[2] == b[2] && a[0] == b[0] && a[1] == b[1] && a[3] == b[3];
}

static VtdCacheEntry *set_of(VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS])
{
    unsigned s = c->sets == 1 ? 0 : (unsigned)(key_hash(key) & (c->sets - 1));
    return &c->e[(size_t)s * c->ways];
}

VtdCacheEntry *vtd_cache_probe(VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS])
{
    if (!c->e)
        return NULL;
    VtdCacheEntry *set = set_of(c, key);
    for (unsigned w = 0; w < c->ways; w++) {
        VtdCacheEntry *e = &set[w];
        if (e->valid && key_eq(e->key, key)) {
            if (c->geom.repl == VTD_REPL_LRU)
                e->stamp = ++c->clock;
            return e;
        }
    }
    return NULL;
}

const VtdCacheEntry *vtd_cache_peek(const VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS])
{
    if (!c->e)
        return NULL;
    unsigned s = c->sets == 1 ? 0 : (unsigned)(key_hash(key) & (c->sets - 1));
    const VtdCacheEntry *set = &c->e[(size_t)s * c->ways];
    for (unsigned w = 0; w < c->ways; w++)
        if (set[w].valid && key_eq(set[w].key, key))
            return &set[w];
    return NULL;
}

void vtd_cache_count_lookup(VtdCache *c, bool hit)
{
    c->st.lookups++;
    if (hit)
        c->st.hits++;
    else
        c->st.misses++;
}

static uint64_t xorshift(VtdCache *c)
{
    uint64_t x = c->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c->rng = x;
    return x;
}

void vtd_cache_fill(VtdCache *c, const uint64_t key[VTD_CACHE_KEY_WORDS],
                    const uint64_t val[VTD_CACHE_VAL_WORDS])
{
    if (!c->e)
        return;
    VtdCacheEntry *set = set_of(c, key);
    VtdCacheEntry *victim = NULL;
    for (unsigned w = 0; w < c->ways; w++) {
        if (set[w].valid && key_eq(set[w].key, key)) {
            victim = &set[w];   /* refill of the same tag: overwrite in place */
            break;
        }
    }
    if (!victim) {
        for (unsigned w = 0; w < c->ways; w++) {
            if (!set[w].valid) {
                victim = &set[w];
                break;
            }
        }
    }
    if (!victim) {
        if (c->geom.repl == VTD_REPL_RANDOM) {
            victim = &set[xorshift(c) % c->ways];
        } else {
            victim = &set[0];
            for (unsigned w = 1; w < c->ways; w++)
                if (set[w].stamp < victim->stamp)
                    victim = &set[w];
        }
        c->st.evictions++;
        c->valid--;
    } else if (victim->valid) {
        c->valid--;
    }
    memcpy(victim->key, key, sizeof(victim->key));
    memcpy(victim->val, val, sizeof(victim->val));
    victim->stamp = ++c->clock;
    victim->valid = true;
    c->valid++;
    c->st.fills++;
}

unsigned vtd_cache_invalidate(VtdCache *c, VtdCacheMatchFn *match, const void *opaque)
{
    unsigned n = 0;
    c->st.invalidations++;
    for (unsigned i = 0; i < c->geom.entries; i++) {
        VtdCacheEntry *e = &c->e[i];
        if (e->valid && (!match || match(e, opaque))) {
            e->valid = false;
            n++;
        }
    }
    c->valid -= n;
    c->st.inv_entries += n;
    return n;
}

void vtd_cache_get_stats(const VtdCache *c, VtdCacheStats *out)
{
    *out = c->st;
}

void vtd_cache_reset_stats(VtdCache *c)
{
    memset(&c->st, 0, sizeof(c->st));
}

unsigned vtd_cache_occupancy(const VtdCache *c)
{
    return c->valid;
}
