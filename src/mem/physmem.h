/*
 * Sparse host physical memory.
 *
 * Models the DRAM of the simulated host as a sparse set of 4 KiB pages
 * covering a physical address space of up to 2^52 bytes (the architectural
 * x86 maximum, MAXPHYADDR = 52).  A page is allocated the first time it is
 * written; reading a page that was never written yields zeros without
 * allocating it, so memory use is O(written pages) whatever addresses a
 * trace or a guest touches.
 *
 * This is storage only: which physical ranges are DRAM, MMIO or holes is
 * the address space's business (mem/addr_space.h).  Accesses past the end
 * of the physical address space are a caller error and are asserted.
 */
#ifndef VTDSIM_MEM_PHYSMEM_H
#define VTDSIM_MEM_PHYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

#define PHYSMEM_PAGE_SHIFT 12
#define PHYSMEM_PAGE_SIZE  (1ull << PHYSMEM_PAGE_SHIFT)
#define PHYSMEM_MAX_BITS   52

typedef struct PhysMem PhysMem;

/**
 * physmem_new:
 * @addr_bits: width of the physical address space, 12..52.
 * Returns: an empty memory (all zeros); free with physmem_free().
 */
PhysMem *physmem_new(unsigned addr_bits);
void physmem_free(PhysMem *m);

/** Size of the physical address space in bytes (1 << addr_bits). */
uint64_t physmem_size(const PhysMem *m);

/** Reads @len bytes at @addr into @buf; @addr+@len must not exceed the size. */
void physmem_read(PhysMem *m, uint64_t addr, void *buf, size_t len);
/** Writes @len bytes from @buf at @addr, allocating pages as needed. */
void physmem_write(PhysMem *m, uint64_t addr, const void *buf, size_t len);
/** Sets @len bytes at @addr to @val; filling untouched pages with 0 allocates nothing. */
void physmem_fill(PhysMem *m, uint64_t addr, uint8_t val, size_t len);

/** Little-endian helpers for table walkers and tests. */
uint64_t physmem_ldq(PhysMem *m, uint64_t addr);
uint32_t physmem_ldl(PhysMem *m, uint64_t addr);
void physmem_stq(PhysMem *m, uint64_t addr, uint64_t val);
void physmem_stl(PhysMem *m, uint64_t addr, uint32_t val);

/** Number of 4 KiB pages currently allocated. */
uint64_t physmem_pages_allocated(const PhysMem *m);

#endif
