/*
 * An Intel I/OAT DMA engine (Crystal Beach 3 "CBDMA", IOAT v3.3, PCI
 * 8086:2021), and an SR-IOV variant whose virtual functions are copy
 * engines of the same kind.
 *
 * Why this device: it is the DMA engine the Linux VFIO selftests
 * (vfio_pci_driver_test, lib/drivers/ioat) and DPDK's dma/ioat poll-mode
 * driver program directly from user space, so a simulated platform with
 * one can run those unmodified drivers against the simulated VT-d: every
 * descriptor fetch, data read, data write and completion write is a DMA of
 * this function (its own requester ID) through pcie_fn_dma_read/write.
 *
 * What is modelled (register layout in ioat_regs.h)
 *  - BAR0 (16 KiB, 64-bit): the global registers (CHANCNT, XFERCAP,
 *    GENCTRL, INTRCTRL, ATTNSTATUS, CBVER = 0x33, INTRDELAY, CS_STATUS,
 *    DMACAPABILITY), CHANCNT channel blocks at 0x80 each, and the MSI-X
 *    table (0x2000) and PBA (0x3000) with one vector per channel.
 *    Registers are data (offset, size, reset value, writable and RW1C
 *    masks); each access must hit one register with its natural size (a
 *    64-bit register also takes 32-bit halves); anything else is a guest
 *    error: reads return 0, writes are dropped.
 *  - Config space: vendor 8086, device 2021, class 0x088000, PCI Express
 *    capability (RC integrated endpoint on the root bus, endpoint below a
 *    port) with Function Level Reset, MSI (PF only), MSI-X, INTx pin A
 *    (PF only), CHANERR_INT (0x180, RW1C), CHANERRMSK_INT (0x184, RW) and
 *    DMAUNCERRSTS (0x148, RW1C).  Nothing sets the two internal-error
 *    status registers: internal parity/ECC errors are not modelled.
 *  - The channel state machine as drivers see it in CHANSTS[2:0]:
 *      power-on, CHANCMD RESET   -> HALTED (3), CHANERR = 0, count = 0;
 *                                   RESET reads back set for reset_ps
 *      CHAINADDR write (idle)    -> ARMED (4), count = 0, the chain
 *                                   starts at CHAINADDR
 *      DMACOUNT write            -> ACTIVE (0) while the device's
 *                                   completed count differs from DMACOUNT
 *                                   (a free-running 16-bit count: it
 *                                   wraps), then DONE (1)
 *      CHANCMD SUSPEND           -> SUSPENDED (2) once the descriptor in
 *                                   flight has completed; RESUME continues
 *      any error                 -> HALTED (3) with CHANERR bits; only
 *                                   RESET leaves it
 *    A descriptor is fetched (64 bytes at the chain pointer), executed
 *    (COPY: size bytes from src to dst; FILL: the 64-bit pattern in src
 *    repeated; NULL flag: no data), and completed: CHANSTS holds its
 *    address, and with ctl.compl_write the CHANSTS value is written to
 *    CHANCMP (when non-zero).  The chain follows each descriptor's next
 *    pointer, so a descriptor pointing to itself runs DMACOUNT times and a
 *    circular ring runs forever as the count advances.
 *  - Interrupts: a completed descriptor with ctl.int_en raises the
 *    channel interrupt if CHANCTRL.INT_REARM armed it (one interrupt per
 *    arming; writing INT_REARM again re-arms and clears the channel's
 *    ATTNSTATUS bit).  The interrupt is MSI-X vector n for channel n when
 *    MSI-X is enabled and INTRCTRL has MSIX_VECTOR_CONTROL or
 *    MASTER_INT_EN (the VFIO selftest sets only MSIX_VECTOR_CONTROL and
 *    expects the vector), else MSI vector 0 or INTx when MASTER_INT_EN is
 *    set.  An error raises it only with CHANCTRL.ERR_INT_EN.
 *  - Errors never abort: a non-successful completion while fetching a
 *    descriptor (CHAIN_ADDR_VALUE_ERR for the first of a chain,
 *    NEXT_ADDR_ERR after), a misaligned chain pointer
 *    (CHAIN_ADDR_VALUE_ERR / NEXT_DESC_ALIGN_ERR), a size of 0 or above
 *    2^XFERCAP (LENGTH_ERR), an unknown op (CONTROL_ERR), a failed source
 *    read (READ_DATA_ERR), a failed destination write (WRITE_DATA_ERR) or
 *    completion write (COMPLETION_ADDR_ERR) halts the channel.  CDAR holds
 *    the failing descriptor; CHANSTS keeps the last completed one; with
 *    CHANCTRL.ERR_COMPLETION_EN the halted CHANSTS is written to CHANCMP
 *    (what DPDK reads to find the failed operation).
 *  - Timing: the work is event-driven on the simulation's queue.  An MMIO
 *    write only schedules; a descriptor completes desc_ps + size *
 *    copy_ps_per_byte after it started, so a caller that runs the event
 *    queue while polling CHANSTS sees ACTIVE, then DONE.
 *  - Reset: CHANCMD RESET resets one channel (registers at once, the
 *    RESET bit after reset_ps); FLR, a conventional reset and VF removal
 *    return every register to its power-on value.
 *  - SR-IOV (our own device, not an Intel product): IoatParams.total_vfs
 *    adds an SR-IOV capability; each VF is a copy engine with its own
 *    requester ID, BAR0 (same layout, from VF BAR0), MSI-X and state.
 *
 * Not modelled: DCA (DCACTRL is storage only), CHANERR_MASK (errors are
 * reported and halt whatever the mask says), XOR/PQ/CRC/DIF operations,
 * descriptor snoop, fence and page-break controls (execution is in order
 * anyway), INTRDELAY coalescing, channel priority and arbitration (each
 * channel runs independently), GENCTRL debug, the legacy v1/v2 register
 * offsets.
 */
#ifndef VTDSIM_MODELS_IOAT_H
#define VTDSIM_MODELS_IOAT_H

#include "pcie/pcie.h"
#include "models/ioat/ioat_regs.h"

typedef struct IoatDevice IoatDevice;

/** Construction parameters; ioat_params_default() fills them. */
typedef struct IoatParams {
    uint16_t device_id;          /* PCI Device ID (default 0x2021) */
    unsigned channels;           /* CHANCNT: 1..IOAT_MAX_CHANNELS (default 1) */
    unsigned xfercap;            /* XFERCAP: log2 of the largest descriptor size in bytes, 5..31 (default 20 = 1 MiB) */
    /* Timing (simulated time, picoseconds). */
    EmuTick reset_ps;            /* CHANCMD RESET to the bit clearing (default 1 us) */
    EmuTick desc_ps;             /* per descriptor: fetch, decode and completion (default 100 ns) */
    EmuTick copy_ps_per_byte;    /* per byte moved (default 200 ps/byte, i.e. 5 GB/s per channel) */
    /* SR-IOV: total_vfs 0 means none. */
    uint16_t total_vfs;          /* TotalVFs */
    uint16_t vf_offset;          /* First VF Offset (default 1) */
    uint16_t vf_stride;          /* VF Stride (default 1) */
    uint16_t vf_device_id;       /* VF Device ID (default 0x2021, so IOAT drivers bind to VFs) */
} IoatParams;

/** What a function has done since creation (resets do not clear it). */
typedef struct IoatStats {
    uint64_t descriptors;        /* descriptors completed successfully */
    uint64_t bytes;              /* data bytes written by COPY and FILL */
    uint64_t errors;             /* times a channel halted on an error */
    uint64_t interrupts;         /* channel interrupts signalled (MSI-X, MSI or INTx assertions) */
} IoatStats;

void ioat_params_default(IoatParams *p);

/**
 * ioat_new:
 * Creates an IOAT function at @devfn below @parent (NULL: the root bus,
 * where it is a root-complex integrated endpoint) with @p (NULL: the
 * defaults).  The fabric owns the function; its state (and that of its
 * VFs) is freed with it.  Returns NULL and sets @error for invalid
 * parameters or a taken slot.
 */
IoatDevice *ioat_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, const IoatParams *p,
                     GError **error);

/** The PCIe function of @d. */
PcieFn *ioat_fn(IoatDevice *d);

/**
 * ioat_fn_stats:
 * Copies the statistics of @fn (an IOAT PF or one of its VFs) to @out.
 * Returns FALSE, leaving @out untouched, when @fn is not an IOAT function.
 */
gboolean ioat_fn_stats(PcieFn *fn, IoatStats *out);

#endif
