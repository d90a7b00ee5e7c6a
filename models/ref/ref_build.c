/*
 * Table builder for tests: see ref_build.h.
 */
#include "models/ref/ref_build.h"

#include <string.h>

RefMem *ref_mem_new(unsigned bits, uint64_t ram_size, uint64_t alloc_base)
{
    RefMem *m = g_new0(RefMem, 1);
    m->pm = physmem_new(bits);
    m->as = addr_space_new("ref-host", 1ull << bits, 0);
    addr_space_add_ram(m->as, "ram", 0, ram_size, m->pm, 0, 0);
    m->ram_size = ram_size;
    m->next = alloc_base;
    return m;
}

void ref_mem_free(RefMem *m)
{
    if (!m)
        return;
    addr_space_free(m->as);
    physmem_free(m->pm);
    g_free(m);
}

uint64_t ref_alloc_page(RefMem *m)
{
    uint64_t a = m->next;
    m->next += 4096;
    g_assert(m->next <= m->ram_size);
    physmem_fill(m->pm, a, 0, 4096);
    return a;
}

uint64_t ref_rd64(RefMem *m, uint64_t a)
{
    return physmem_ldq(m->pm, a);
}

void ref_wr64(RefMem *m, uint64_t a, uint64_t v)
{
    physmem_stq(m->pm, a, v);
}

static bool present(RefFmt fmt, uint64_t e)
{
    return fmt == REF_FMT_SS ? (e & 3) != 0 : (e & 1) != 0;
}

uint64_t ref_map(RefMem *m, RefFmt fmt, uint64_t *root, unsigned levels, uint64_t in,
                 uint64_t out, unsigned leaf_level, uint64_t leaf, uint64_t nonleaf)
{
    if (!*root)
        *root = ref_alloc_page(m);
    uint64_t table = *root;
    for (unsigned lvl = levels; lvl > leaf_level; lvl--) {
        uint64_t ea = table + ((in >> (12 + 9 * (lvl - 1))) & 511) * 8;
        uint64_t e = ref_rd64(m, ea);
        if (!present(fmt, e)) {
            e = ref_alloc_page(m) | nonleaf;
            ref_wr64(m, ea, e);
        }
        table = e & 0x000ffffffffff000ull;
    }
    uint64_t ea = table + ((in >> (12 + 9 * (leaf_level - 1))) & 511) * 8;
    uint64_t size = 1ull << (12 + 9 * (leaf_level - 1));
    uint64_t e = (out & ~(size - 1)) | leaf | (leaf_level > 1 ? 1ull << 7 : 0);
    ref_wr64(m, ea, e);
    return ea;
}

uint64_t ref_entry_addr(RefMem *m, RefFmt fmt, uint64_t root, unsigned levels, uint64_t in,
                        unsigned level)
{
    uint64_t table = root;
    for (unsigned lvl = levels;; lvl--) {
        uint64_t ea = table + ((in >> (12 + 9 * (lvl - 1))) & 511) * 8;
        if (lvl == level)
            return ea;
        uint64_t e = ref_rd64(m, ea);
        if (!present(fmt, e) || (lvl <= 3 && (e & (1ull << 7))) || lvl == 1)
            return 0;
        table = e & 0x000ffffffffff000ull;
    }
}

uint64_t ref_set_root(RefMem *m, uint64_t rta, unsigned bus, uint64_t lo, uint64_t hi)
{
    uint64_t a = rta + bus * 16ull;
    ref_wr64(m, a, lo);
    ref_wr64(m, a + 8, hi);
    return a;
}

uint64_t ref_set_context(RefMem *m, uint64_t ctp, unsigned devfn, uint64_t lo, uint64_t hi)
{
    uint64_t a = ctp + devfn * 16ull;
    ref_wr64(m, a, lo);
    ref_wr64(m, a + 8, hi);
    return a;
}

uint64_t ref_set_sm_context(RefMem *m, uint64_t ctp, unsigned devfn, const uint64_t v[4])
{
    uint64_t a = ctp + (devfn & 0x7f) * 32ull;
    for (int i = 0; i < 4; i++)
        ref_wr64(m, a + 8 * i, v[i]);
    return a;
}

uint64_t ref_set_pasid_entry(RefMem *m, uint64_t dir, uint32_t pasid, const uint64_t v[8])
{
    uint64_t da = dir + (pasid >> 6) * 8ull;
    uint64_t de = ref_rd64(m, da);
    if (!(de & 1)) {
        de = ref_alloc_page(m) | 1;
        ref_wr64(m, da, de);
    }
    uint64_t a = (de & 0x000ffffffffff000ull) + (pasid & 63) * 64ull;
    for (int i = 0; i < 8; i++)
        ref_wr64(m, a + 8 * i, v[i]);
    return a;
}
