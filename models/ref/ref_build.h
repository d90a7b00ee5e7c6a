/*
 * Table builder for VT-d tests, benchmarks and the reference walker's
 * differential test: a PhysMem-backed host address space with a bump page
 * allocator and helpers that write root, context, PASID and paging
 * entries the way a driver would.  Layouts come from
 * models/vtd/vtd_entries.h; nothing here validates anything (tests build
 * malformed tables on purpose).
 */
#ifndef VTDSIM_MODELS_REF_REF_BUILD_H
#define VTDSIM_MODELS_REF_REF_BUILD_H

#include <stdint.h>
#include "mem/addr_space.h"
#include "mem/physmem.h"

typedef struct RefMem {
    PhysMem *pm;
    AddrSpace *as;       /* RAM over [0, ram_size); reads above decode nowhere */
    uint64_t ram_size;
    uint64_t next;       /* bump allocator for table pages */
} RefMem;

/**
 * ref_mem_new: @bits wide physical space, RAM over the low @ram_size bytes,
 * tables allocated upwards from @alloc_base.  Free with ref_mem_free().
 */
RefMem *ref_mem_new(unsigned bits, uint64_t ram_size, uint64_t alloc_base);
void ref_mem_free(RefMem *m);

/** Returns a fresh zeroed 4 KiB page. */
uint64_t ref_alloc_page(RefMem *m);
uint64_t ref_rd64(RefMem *m, uint64_t a);
void ref_wr64(RefMem *m, uint64_t a, uint64_t v);

/* Paging formats */
typedef enum RefFmt { REF_FMT_SS = 0, REF_FMT_FS = 1 } RefFmt;

/**
 * ref_map:
 * Maps @in -> @out with a leaf at @leaf_level (1 = 4K, 2 = 2M, 3 = 1G)
 * in the @levels-deep table at *@root (allocated if 0).  Missing
 * intermediate tables are allocated with @nonleaf bits; existing ones are
 * reused as they are.  The leaf gets @leaf bits plus PS when
 * @leaf_level > 1.  Returns the address of the leaf entry.
 */
uint64_t ref_map(RefMem *m, RefFmt fmt, uint64_t *root, unsigned levels, uint64_t in,
                 uint64_t out, unsigned leaf_level, uint64_t leaf, uint64_t nonleaf);

/**
 * ref_entry_addr: address of the entry at @level that translates @in, or 0
 * if the walk to it meets a non-present entry or a leaf first.
 */
uint64_t ref_entry_addr(RefMem *m, RefFmt fmt, uint64_t root, unsigned levels, uint64_t in,
                        unsigned level);

/* Root/context/PASID helpers (return the entry address). */
uint64_t ref_set_root(RefMem *m, uint64_t rta, unsigned bus, uint64_t lo, uint64_t hi);
uint64_t ref_set_context(RefMem *m, uint64_t ctp, unsigned devfn, uint64_t lo, uint64_t hi);
uint64_t ref_set_sm_context(RefMem *m, uint64_t ctp, unsigned devfn, const uint64_t v[4]);
/** Writes PASID entry @v for @pasid under directory @dir, allocating its table. */
uint64_t ref_set_pasid_entry(RefMem *m, uint64_t dir, uint32_t pasid, const uint64_t v[8]);

#endif
