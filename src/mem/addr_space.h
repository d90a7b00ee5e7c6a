/*
 * Address spaces and the MMIO dispatcher.
 *
 * An AddrSpace maps ranges of an address space (system memory, x86 I/O
 * ports, a device's own view) to regions: RAM regions backed by a PhysMem,
 * and MMIO regions served by a device model through a const MmioOps table.
 * When regions overlap, the one with the higher priority wins (BARs over
 * the PCI hole, a VT-d unit over the rest, and so on), exactly like a
 * chipset's decoders.
 *
 * Access-size rules are declared by each region (style rule 3): an access
 * whose size lies outside [min_access, max_access], or that is unaligned
 * when the region does not accept unaligned accesses, is rejected with
 * MEMTX_ACCESS_ERROR and never reaches the model; reads then return the
 * space's "unassigned" value.  An access that hits no region returns
 * MEMTX_DECODE_ERROR and the unassigned value (0 for memory, all ones for
 * I/O ports, as on a PC).  Accesses larger than a region's impl_max are
 * split into little-endian pieces before they reach the model.
 */
#ifndef VTDSIM_MEM_ADDR_SPACE_H
#define VTDSIM_MEM_ADDR_SPACE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "mem/physmem.h"

typedef enum MemTxResult {
    MEMTX_OK = 0,
    MEMTX_DECODE_ERROR,   /* no region decodes the address */
    MEMTX_ACCESS_ERROR,   /* a region decodes it but rejects the size or alignment */
} MemTxResult;

const char *memtx_result_str(MemTxResult r);

/**
 * Operations of an MMIO region.  @read and @write get the offset from the
 * region's base and a size the region declared acceptable.  Reads return
 * the value zero-extended; writes get the value truncated to @size bytes.
 */
typedef struct MmioOps {
    const char *name;
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    void (*write)(void *opaque, uint64_t offset, uint64_t val, unsigned size);
    unsigned min_access;  /* bytes: 1, 2, 4 or 8 */
    unsigned max_access;  /* bytes: 1, 2, 4 or 8 */
    unsigned impl_max;    /* largest size the callbacks handle; 0 = max_access */
    bool unaligned;       /* accept accesses not aligned to their size */
} MmioOps;

typedef struct AddrSpace AddrSpace;
typedef struct MemRegion MemRegion;

/**
 * addr_space_new:
 * @name: for messages; copied.
 * @size: size of the space in bytes (e.g. 1 << 52 for memory, 1 << 16 for I/O).
 * @unassigned: value returned by reads that decode nowhere (all ones for I/O).
 * Returns: an empty space; free with addr_space_free(), which frees its regions.
 */
AddrSpace *addr_space_new(const char *name, uint64_t size, uint64_t unassigned);
void addr_space_free(AddrSpace *as);
uint64_t addr_space_size(const AddrSpace *as);
const char *addr_space_name(const AddrSpace *as);

/**
 * addr_space_add_mmio / addr_space_add_ram:
 * Adds a region at @base of @size bytes.  The returned region is owned by
 * the space and valid until addr_space_del() or addr_space_free().
 * A region added disabled (mem_region_set_enabled) decodes nothing.
 */
MemRegion *addr_space_add_mmio(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                               const MmioOps *ops, void *opaque, int priority);
MemRegion *addr_space_add_ram(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                              PhysMem *mem, uint64_t mem_offset, int priority);
/**
 * addr_space_add_host:
 * Adds RAM whose bytes are @size bytes of this process's memory at @host
 * (borrowed: the caller keeps it mapped until addr_space_del()).  The VFIO
 * shim uses it so that device DMA lands in the client program's own
 * buffers, with no copy in simulated DRAM.
 */
MemRegion *addr_space_add_host(AddrSpace *as, const char *name, uint64_t base, uint64_t size,
                               void *host, int priority);
void addr_space_del(AddrSpace *as, MemRegion *r);

void mem_region_set_base(MemRegion *r, uint64_t base);
void mem_region_set_enabled(MemRegion *r, bool enabled);
uint64_t mem_region_base(const MemRegion *r);
uint64_t mem_region_size(const MemRegion *r);
bool mem_region_enabled(const MemRegion *r);
const char *mem_region_name(const MemRegion *r);

/** Finds the region decoding @addr (highest priority, then latest added), or NULL. */
MemRegion *addr_space_find(AddrSpace *as, uint64_t addr);

/**
 * addr_space_read / addr_space_write:
 * One access of @size bytes (1, 2, 4 or 8), as a CPU or a TLP would make it.
 * *@val is always set on reads (to the unassigned value on error).
 */
MemTxResult addr_space_read(AddrSpace *as, uint64_t addr, unsigned size, uint64_t *val);
MemTxResult addr_space_write(AddrSpace *as, uint64_t addr, unsigned size, uint64_t val);

/**
 * addr_space_rw:
 * A bulk transfer (a DMA burst, a qtest "read"/"write").  RAM is copied
 * directly; MMIO is accessed in the largest naturally aligned pieces the
 * region accepts.  Stops at the first error and returns it; bytes before
 * the error have been transferred (reads of failed bytes give the
 * unassigned value).
 */
MemTxResult addr_space_rw(AddrSpace *as, uint64_t addr, void *buf, uint64_t len, bool is_write);

/** Calls @fn for each enabled region in ascending base order (for dumps). */
void addr_space_foreach(AddrSpace *as, void (*fn)(MemRegion *r, void *opaque), void *opaque);

#endif
