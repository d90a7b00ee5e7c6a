/*
 * Sparse memory as an open-addressing hash table from page frame number
 * to a 4 KiB page, with linear probing and a one-entry lookup cache.
 *
 * Why not GHashTable: page frame numbers are 40-bit integers and GHashTable
 * would need a boxed key per page; the hot paths (page-table walks, DMA
 * copies) call page_find() for every 4 KiB and want it branch-light.
 * Pages are never freed before the memory itself, so no tombstones.
 */
#include <string.h>
#include "mem/physmem.h"

typedef struct Slot {
    uint64_t pfn_plus1;      /* 0 = empty slot */
    uint8_t *page;
} Slot;

struct PhysMem {
    unsigned addr_bits;
    Slot *slots;
    size_t nslots;           /* power of two */
    size_t used;
    uint64_t last_pfn_plus1; /* one-entry cache */
    uint8_t *last_page;
};

static inline size_t pfn_hash(uint64_t pfn, size_t mask)
{
    /* Fibonacci hashing spreads consecutive frame numbers across the table. */
    return (size_t)((pfn * 0x9E3779B97F4A7C15ull) >> 17) & mask;
}

PhysMem *physmem_new(unsigned addr_bits)
{
    g_assert(addr_bits >= PHYSMEM_PAGE_SHIFT && addr_bits <= PHYSMEM_MAX_BITS);
    PhysMem *m = g_new0(PhysMem, 1);
    m->addr_bits = addr_bits;
    m->nslots = 1024;
    m->slots = g_new0(Slot, m->nslots);
    return m;
}

void physmem_free(PhysMem *m)
{
    if (!m) {
        return;
    }
    for (size_t i = 0; i < m->nslots; i++) {
        g_free(m->slots[i].page);
    }
    g_free(m->slots);
    g_free(m);
}

uint64_t physmem_size(const PhysMem *m)
{
    return 1ull << m->addr_bits;
}

uint64_t physmem_pages_allocated(const PhysMem *m)
{
    return m->used;
}

static void grow(PhysMem *m)
{
    Slot *old = m->slots;
    size_t oldn = m->nslots;
    m->nslots *= 2;
    m->slots = g_new0(Slot, m->nslots);
    size_t mask = m->nslots - 1;
    for (size_t i = 0; i < oldn; i++) {
        if (old[i].pfn_plus1) {
            size_t j = pfn_hash(old[i].pfn_plus1 - 1, mask);
            while (m->slots[j].pfn_plus1) {
                j = (j + 1) & mask;
            }
            m->slots[j] = old[i];
        }
    }
    g_free(old);
}

/* Returns the page holding @pfn, allocating it when @alloc, else NULL if absent. */
static uint8_t *page_find(PhysMem *m, uint64_t pfn, bool alloc)
{
    if (m->last_pfn_plus1 == pfn + 1) {
        return m->last_page;
    }
    size_t mask = m->nslots - 1;
    size_t j = pfn_hash(pfn, mask);
    while (m->slots[j].pfn_plus1) {
        if (m->slots[j].pfn_plus1 == pfn + 1) {
            m->last_pfn_plus1 = pfn + 1;
            m->last_page = m->slots[j].page;
            return m->last_page;
        }
        j = (j + 1) & mask;
    }
    if (!alloc) {
        return NULL;
    }
    if ((m->used + 1) * 4 > m->nslots * 3) {
        grow(m);
        return page_find(m, pfn, alloc);
    }
    m->slots[j].pfn_plus1 = pfn + 1;
    m->slots[j].page = g_malloc0(PHYSMEM_PAGE_SIZE);
    m->used++;
    m->last_pfn_plus1 = pfn + 1;
    m->last_page = m->slots[j].page;
    return m->last_page;
}

static void check_range(const PhysMem *m, uint64_t addr, size_t len)
{
    g_assert(addr <= physmem_size(m) && len <= physmem_size(m) - addr);
}

void physmem_read(PhysMem *m, uint64_t addr, void *buf, size_t len)
{
    check_range(m, addr, len);
    uint8_t *out = buf;
    while (len) {
        uint64_t off = addr & (PHYSMEM_PAGE_SIZE - 1);
        size_t n = MIN(len, PHYSMEM_PAGE_SIZE - off);
        const uint8_t *p = page_find(m, addr >> PHYSMEM_PAGE_SHIFT, false);
        if (p) {
            memcpy(out, p + off, n);
        } else {
            memset(out, 0, n);
        }
        out += n;
        addr += n;
        len -= n;
    }
}

void physmem_write(PhysMem *m, uint64_t addr, const void *buf, size_t len)
{
    check_range(m, addr, len);
    const uint8_t *in = buf;
    while (len) {
        uint64_t off = addr & (PHYSMEM_PAGE_SIZE - 1);
        size_t n = MIN(len, PHYSMEM_PAGE_SIZE - off);
        memcpy(page_find(m, addr >> PHYSMEM_PAGE_SHIFT, true) + off, in, n);
        in += n;
        addr += n;
        len -= n;
    }
}

void physmem_fill(PhysMem *m, uint64_t addr, uint8_t val, size_t len)
{
    check_range(m, addr, len);
    while (len) {
        uint64_t off = addr & (PHYSMEM_PAGE_SIZE - 1);
        size_t n = MIN(len, PHYSMEM_PAGE_SIZE - off);
        uint8_t *p = page_find(m, addr >> PHYSMEM_PAGE_SHIFT, val != 0);
        if (p) {
            memset(p + off, val, n);
        }
        addr += n;
        len -= n;
    }
}

uint64_t physmem_ldq(PhysMem *m, uint64_t addr)
{
    uint8_t b[8];
    physmem_read(m, addr, b, 8);
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) {
        v = (v << 8) | b[i];
    }
    return v;
}

uint32_t physmem_ldl(PhysMem *m, uint64_t addr)
{
    uint8_t b[4];
    physmem_read(m, addr, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

void physmem_stq(PhysMem *m, uint64_t addr, uint64_t val)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = (uint8_t)(val >> (8 * i));
    }
    physmem_write(m, addr, b, 8);
}

void physmem_stl(PhysMem *m, uint64_t addr, uint32_t val)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = (uint8_t)(val >> (8 * i));
    }
    physmem_write(m, addr, b, 4);
}
