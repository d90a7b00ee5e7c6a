/*
 * The address-space dispatcher: a list of regions kept sorted by
 * descending priority (then newest first), searched linearly with a
 * one-entry cache of the last region that matched.
 *
 * A platform has tens of regions, not thousands, so a linear search is
 * both simple and fast enough; the cache makes the common case (a DMA
 * burst or a table walk staying in DRAM) a single range check.  Any
 * change to the region list invalidates the cache.
 */
#include <string.h>
#include "mem/addr_space.h"

struct MemRegion {
    AddrSpace *as;
    char *name;
    uint64_t base, size;
    int priority;
    uint64_t order;           /* insertion order, newer wins among equal priority */
    bool enabled;
    const MmioOps *ops;       /* NULL for RAM */
    void *opaque;
    PhysMem *ram;
    uint64_t ram_offset;
    uint8_t *host;            /* host-backed RAM (addr_space_add_host); ram is NULL then */
};

struct AddrSpace {
    char *name;
    uint64_t size;
    uint64_t unassigned;
    GPtrArray *regions;       /* MemRegion *, sorted by (priority desc, order desc) */
    uint64_t next_order;
    MemRegion *last;          /* lookup cache */
};

const char *memtx_result_str(MemTxResult r)
{
    switch (r) {
    case MEMTX_OK:
        return "ok";
    case MEMTX_DECODE_ERROR:
        return "decode error (no device at this address)";
    case MEMTX_ACCESS_ERROR:
        return "access error (size or alignment not accepted by the device)";
    }
    return "?";
}

AddrSpace *addr_space_new(const char *name, uint64_t size, uint64_t unassigned)
{
    AddrSpace *as = g_new0(AddrSpace, 1);
    as->name = g_strdup(name);
    as->size = size;
    as->unassigned = unassigned;
    as->regions = g_ptr_array_new();
    return as;
}

static void region_free(MemRegion *r)
{
    g_free(r->name);
    g_free(r);
}

void addr_space_free(AddrSpace *as)
{
    if (!as) {
        return;
    }
    for (guint i = 0; i < as->regions->len; i++) {
        region_free(g_ptr_array_index(as->regions, i));
    }
    g_ptr_array_free(as->regions, TRUE);
    g_free(as->name);
    g_free(as);
}

uint64_t addr_space_size(const AddrSpace *as)
{
    return as->size;
}

const char *addr_space_name(const AddrSpace *as)
{
    return as->name;
}

static gint region_cmp(gconstpointer a, gconstpointer b)
{
    const MemRegion *x = *(MemRegion *const *)a, *y = *(MemRegion *const *)b;
    if (x->priority != y->priority) {
        return x->priority > y->priority ? -1 : 1;
    }
    return x->order > y->order ? -1 : (x->order < y->order);
}

static MemRegion *region_add(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                             int priority)
{
    g_assert(size > 0);
    MemRegion *r = g_new0(MemRegion, 1);
    r->as = as;
    r->name = g_strdup(name);
    r->base = base;
    r->size = size;
    r->priority = priority;
    r->order = as->next_order++;
    r->enabled = true;
    g_ptr_array_add(as->regions, r);
    g_ptr_array_sort(as->regions, region_cmp);
    as->last = NULL;
    return r;
}

MemRegion *addr_space_add_mmio(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                               const MmioOps *ops, void *opaque, int priority)
{
    g_assert(ops && ops->min_access >= 1 && ops->min_access <= ops->max_access &&
             ops->max_access <= 8);
    MemRegion *r = region_add(as, name, base, size, priority);
    r->ops = ops;
    r->opaque = opaque;
    return r;
}

MemRegion *addr_space_add_ram(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                              PhysMem *mem, uint64_t mem_offset, int priority)
{
    g_assert(mem && mem_offset + size <= physmem_size(mem));
    MemRegion *r = region_add(as, name, base, size, priority);
    r->ram = mem;
    r->ram_offset = mem_offset;
    return r;
}

MemRegion *addr_space_add_host(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                               void *host, int priority)
{
    g_assert(host);
    MemRegion *r = region_add(as, name, base, size, priority);
    r->host = host;
    return r;
}

/* RAM contents of @r at @off: sparse simulated DRAM or borrowed host memory. */
static void ram_copy(MemRegion *r, uint64_t off, void *buf, uint64_t n, bool is_write)
{
    if (r->host) {
        if (is_write) {
            memcpy(r->host + off, buf, n);
        } else {
            memcpy(buf, r->host + off, n);
        }
    } else if (is_write) {
        physmem_write(r->ram, r->ram_offset + off, buf, n);
    } else {
        physmem_read(r->ram, r->ram_offset + off, buf, n);
    }
}

void addr_space_del(AddrSpace *as, MemRegion *r)
{
    g_assert(r->as == as);
    g_assert(g_ptr_array_remove(as->regions, r));
    as->last = NULL;
    region_free(r);
}

void mem_region_set_base(MemRegion *r, uint64_t base)
{
    r->base = base;
    r->as->last = NULL;
}

void mem_region_set_enabled(MemRegion *r, bool enabled)
{
    r->enabled = enabled;
    r->as->last = NULL;
}

uint64_t mem_region_base(const MemRegion *r) { return r->base; }
uint64_t mem_region_size(const MemRegion *r) { return r->size; }
bool mem_region_enabled(const MemRegion *r) { return r->enabled; }
const char *mem_region_name(const MemRegion *r) { return r->name; }

static inline bool region_has(const MemRegion *r, uint64_t addr)
{
    return r->enabled && addr >= r->base && addr - r->base < r->size;
}

MemRegion *addr_space_find(AddrSpace *as, uint64_t addr)
{
    /*
     * The cache holds the last match only when no region that outranks it
     * overlaps it anywhere, so any address inside it decodes to it.
     */
    MemRegion *c = as->last;
    if (c && region_has(c, addr)) {
        return c;
    }
    for (guint i = 0; i < as->regions->len; i++) {
        MemRegion *r = g_ptr_array_index(as->regions, i);
        if (region_has(r, addr)) {
            bool overlapped = false;
            for (guint j = 0; j < i && !overlapped; j++) {
                const MemRegion *h = g_ptr_array_index(as->regions, j);
                overlapped = h->enabled && h->base < r->base + r->size &&
                             r->base < h->base + h->size;
            }
            as->last = overlapped ? NULL : r;
            return r;
        }
    }
    return NULL;
}

static inline uint64_t size_mask(unsigned size)
{
    return size >= 8 ? UINT64_MAX : (1ull << (8 * size)) - 1;
}

static bool access_ok(const MemRegion *r, uint64_t addr, unsigned size)
{
    const MmioOps *o = r->ops;
    if (size < o->min_access || size > o->max_access) {
        return false;
    }
    if (!o->unaligned && (addr & (size - 1))) {
        return false;
    }
    /* The access must lie entirely inside the region. */
    return addr - r->base <= r->size - size;
}

static uint64_t mmio_read(const MemRegion *r, uint64_t off, unsigned size)
{
    unsigned impl = r->ops->impl_max ? r->ops->impl_max : r->ops->max_access;
    if (size <= impl) {
        return r->ops->read(r->opaque, off, size) & size_mask(size);
    }
    uint64_t v = 0;
    for (unsigned done = 0; done < size; done += impl) {
        v |= (r->ops->read(r->opaque, off + done, impl) & size_mask(impl)) << (8 * done);
    }
    return v;
}

static void mmio_write(const MemRegion *r, uint64_t off, uint64_t val, unsigned size)
{
    unsigned impl = r->ops->impl_max ? r->ops->impl_max : r->ops->max_access;
    if (size <= impl) {
        r->ops->write(r->opaque, off, val & size_mask(size), size);
        return;
    }
    for (unsigned done = 0; done < size; done += impl) {
        r->ops->write(r->opaque, off + done, (val >> (8 * done)) & size_mask(impl), impl);
    }
}

static bool size_valid(unsigned size)
{
    return size == 1 || size == 2 || size == 4 || size == 8;
}

/*
 * The decode step shared by single accesses: the region that takes an
 * access of @size bytes at @addr, or the error the access gets.
 */
static MemTxResult decode(AddrSpace *as, uint64_t addr, unsigned size, MemRegion **out)
{
    g_assert(size_valid(size));
    if (addr >= as->size || as->size - addr < size) {
        return MEMTX_DECODE_ERROR;
    }
    MemRegion *r = addr_space_find(as, addr);
    if (!r) {
        return MEMTX_DECODE_ERROR;
    }
    if (r->ram || r->host) {
        if (addr - r->base > r->size - size) {
            return MEMTX_DECODE_ERROR;
        }
    } else if (!access_ok(r, addr, size)) {
        return MEMTX_ACCESS_ERROR;
    }
    *out = r;
    return MEMTX_OK;
}

MemTxResult addr_space_read(AddrSpace *as, uint64_t addr, unsigned size, uint64_t *val)
{
    MemRegion *r;
    MemTxResult res = decode(as, addr, size, &r);
    *val = as->unassigned & size_mask(size);
    if (res != MEMTX_OK) {
        return res;
    }
    if (r->ram || r->host) {
        uint8_t b[8];
        ram_copy(r, addr - r->base, b, size, false);
        uint64_t v = 0;
        for (unsigned i = size; i-- > 0;) {
            v = (v << 8) | b[i];
        }
        *val = v;
    } else {
        *val = mmio_read(r, addr - r->base, size);
    }
    return MEMTX_OK;
}

MemTxResult addr_space_write(AddrSpace *as, uint64_t addr, unsigned size, uint64_t val)
{
    MemRegion *r;
    MemTxResult res = decode(as, addr, size, &r);
    if (res != MEMTX_OK) {
        return res;
    }
    if (r->ram || r->host) {
        uint8_t b[8];
        for (unsigned i = 0; i < size; i++) {
            b[i] = (uint8_t)(val >> (8 * i));
        }
        ram_copy(r, addr - r->base, b, size, true);
    } else {
        mmio_write(r, addr - r->base, val & size_mask(size), size);
    }
    return MEMTX_OK;
}

/* Largest piece at @addr, at most @left bytes, that @r accepts. */
static unsigned mmio_piece(const MemRegion *r, uint64_t addr, uint64_t left)
{
    for (unsigned s = 8; s >= 1; s /= 2) {
        if (s <= left && s >= r->ops->min_access && s <= r->ops->max_access &&
            (r->ops->unaligned || !(addr & (s - 1)))) {
            return s;
        }
    }
    return 0;
}

MemTxResult addr_space_rw(AddrSpace *as, uint64_t addr, void *buf, uint64_t len, bool is_write)
{
    uint8_t *p = buf;
    while (len) {
        if (addr >= as->size) {
            if (!is_write) {
                memset(p, (int)(as->unassigned & 0xff), len);
            }
            return MEMTX_DECODE_ERROR;
        }
        MemRegion *r = addr_space_find(as, addr);
        if (!r) {
            if (!is_write) {
                memset(p, (int)(as->unassigned & 0xff), len);
            }
            return MEMTX_DECODE_ERROR;
        }
        uint64_t in_region = r->size - (addr - r->base);
        if (r->ram || r->host) {
            uint64_t n = MIN(len, in_region);
            /* Stop at the start of a higher-priority region overlapping this RAM. */
            for (guint i = 0; i < as->regions->len; i++) {
                const MemRegion *h = g_ptr_array_index(as->regions, i);
                if (h == r) {
                    break;
                }
                if (h->enabled && h->base > addr && h->base - addr < n) {
                    n = h->base - addr;
                }
            }
            ram_copy(r, addr - r->base, p, n, is_write);
            p += n;
            addr += n;
            len -= n;
            continue;
        }
        unsigned s = mmio_piece(r, addr, MIN(len, in_region));
        if (!s) {
            if (!is_write) {
                memset(p, (int)(as->unassigned & 0xff), len);
            }
            return MEMTX_ACCESS_ERROR;
        }
        if (is_write) {
            uint64_t v = 0;
            for (unsigned i = s; i-- > 0;) {
                v = (v << 8) | p[i];
            }
            mmio_write(r, addr - r->base, v, s);
        } else {
            uint64_t v = mmio_read(r, addr - r->base, s);
            for (unsigned i = 0; i < s; i++) {
                p[i] = (uint8_t)(v >> (8 * i));
            }
        }
        p += s;
        addr += s;
        len -= s;
    }
    return MEMTX_OK;
}

void addr_space_foreach(AddrSpace *as, void (*fn)(MemRegion *r, void *opaque), void *opaque)
{
    g_autoptr(GPtrArray) sorted = g_ptr_array_new();
    for (guint i = 0; i < as->regions->len; i++) {
        MemRegion *r = g_ptr_array_index(as->regions, i);
        if (r->enabled) {
            g_ptr_array_add(sorted, r);
        }
    }
    for (guint i = 1; i < sorted->len; i++) {
        for (guint j = i; j > 0; j--) {
            MemRegion *a = g_ptr_array_index(sorted, j - 1), *b = g_ptr_array_index(sorted, j);
            if (a->base <= b->base) {
                break;
            }
            sorted->pdata[j - 1] = b;
            sorted->pdata[j] = a;
        }
    }
    for (guint i = 0; i < sorted->len; i++) {
        fn(g_ptr_array_index(sorted, i), opaque);
    }
}
