/*
 * Register and descriptor layout of the Intel I/OAT DMA engine ("Crystal
 * Beach" CB3, the CBDMA of Skylake-SP and later Xeons, PCI 8086:2021), as
 * the IOAT v3.3 programming interface defines it.
 *
 * Written from the documented layouts, not copied: the offsets, bit
 * positions and names below are facts collected from the register lists
 * in Linux drivers/dma/ioat/registers.h and hw.h (v3 register file,
 * descriptor control bits), DPDK 22.11 drivers/dma/ioat/ioat_hw_defs.h
 * (the packed register block 0x00..0xAF, CHANCMP alignment, the ARMED
 * channel state used by its recovery path) and the Linux VFIO selftest
 * driver tools/testing/selftests/vfio/lib/drivers/ioat (the sequence a
 * user-space driver expects).  Names are the spec's, with an IOAT_ prefix.
 *
 * Layout of BAR0 (one 16 KiB 64-bit memory BAR):
 *   0x0000..0x007F  global registers (IOAT_GLOBAL_*)
 *   0x0080 + 0x80*n channel n's registers (IOAT_CHAN_*), n < CHANCNT
 *   0x2000          MSI-X table (one vector per channel)
 *   0x3000          MSI-X pending-bit array
 * The MSI-X placement is the one CBDMA functions report (table at BAR0
 * offset 0x2000, PBA at 0x3000); software finds it through the MSI-X
 * capability either way.
 */
#ifndef VTDSIM_MODELS_IOAT_REGS_H
#define VTDSIM_MODELS_IOAT_REGS_H

#include <stdbool.h>
#include <stdint.h>

#define IOAT_VENDOR_ID          0x8086
#define IOAT_DEVICE_ID_SKX      0x2021    /* "IOAT_SKX" in Linux pci_ids.h */
#define IOAT_CLASS_CODE         0x088000  /* system peripheral, other */
#define IOAT_CBVER_3_3          0x33      /* CBVER: major 3, minor 3 */

#define IOAT_BAR0_SIZE          0x4000u
#define IOAT_MSIX_TABLE_OFFSET  0x2000u
#define IOAT_MSIX_PBA_OFFSET    0x3000u
#define IOAT_CHANNEL_MMIO_SIZE  0x80u     /* each channel's register block */
#define IOAT_MAX_CHANNELS       16u       /* ours: 16 blocks and vectors fit below the table */

/* ---- PCI configuration space registers (device specific) --------------- */
enum {
    IOAT_PCI_DMAUNCERRSTS = 0x148,  /* 32-bit, RW1C: uncorrectable internal errors */
    IOAT_PCI_CHANERR_INT = 0x180,   /* 32-bit, RW1C: internal channel errors */
    IOAT_PCI_CHANERRMSK_INT = 0x184,/* 32-bit, RW: their mask */
};

/* ---- global registers (BAR0 + offset) ---------------------------------- */
enum {
    IOAT_CHANCNT = 0x00,       /*  8-bit RO: number of channels */
    IOAT_XFERCAP = 0x01,       /*  8-bit RO: log2 of the largest transfer per descriptor */
    IOAT_GENCTRL = 0x02,       /*  8-bit RW: general control */
    IOAT_INTRCTRL = 0x03,      /*  8-bit: interrupt control */
    IOAT_ATTNSTATUS = 0x04,    /* 32-bit RO: one bit per channel with an interrupt pending */
    IOAT_CBVER = 0x08,         /*  8-bit RO: version, major:minor nibbles */
    IOAT_INTRDELAY = 0x0C,     /* 16-bit: interrupt coalescing delay */
    IOAT_CS_STATUS = 0x0E,     /* 16-bit RO: device status */
    IOAT_DMACAPABILITY = 0x10, /* 32-bit RO: capabilities */
};

/* INTRCTRL bits */
enum {
    IOAT_INTRCTRL_MASTER_INT_EN = 0x01,       /* RW: master interrupt enable */
    IOAT_INTRCTRL_INT_STATUS = 0x02,          /* RO: ATTNSTATUS is non-zero */
    IOAT_INTRCTRL_INT = 0x04,                 /* RO: INT_STATUS and MASTER_INT_EN */
    IOAT_INTRCTRL_MSIX_VECTOR_CONTROL = 0x08, /* RW: per-channel MSI-X vectors enabled */
};

/* INTRDELAY: delay field (bits 13:0) and Coalescing Supported (bit 15, RO) */
#define IOAT_INTRDELAY_MASK 0x3fffu

/* DMACAPABILITY bits */
enum {
    IOAT_CAP_PAGE_BREAK = 0x00000001,
    IOAT_CAP_DCA = 0x00000010,
    IOAT_CAP_FILL_BLOCK = 0x00000040,
    IOAT_CAP_XOR = 0x00000100,
    IOAT_CAP_PQ = 0x00000200,
};

/* ---- channel registers (BAR0 + 0x80 * (n + 1) + offset) ---------------- */
enum {
    IOAT_CHANCTRL = 0x00,      /* 16-bit RW: channel control */
    IOAT_CHANCMD = 0x04,       /*  8-bit RW: channel command (v2/v3 offset) */
    IOAT_DMACOUNT = 0x06,      /* 16-bit RW: descriptor count doorbell */
    IOAT_CHANSTS = 0x08,       /* 64-bit RO: channel status */
    IOAT_CHAINADDR = 0x10,     /* 64-bit RW: descriptor chain address */
    IOAT_CHANCMP = 0x18,       /* 64-bit RW: completion write-back address */
    IOAT_CDAR = 0x20,          /* 64-bit RO: current descriptor address */
    IOAT_CHANERR = 0x28,       /* 32-bit RW1C: channel error */
    IOAT_CHANERR_MASK = 0x2C,  /* 32-bit RW: channel error mask */
    IOAT_DCACTRL = 0x30,       /* 32-bit RW: direct cache access control */
};

/* CHANCTRL bits */
enum {
    IOAT_CHANCTRL_INT_REARM = 0x0001,          /* arms one channel interrupt */
    IOAT_CHANCTRL_ERR_COMPLETION_EN = 0x0004,  /* write CHANSTS to CHANCMP on an error */
    IOAT_CHANCTRL_ANY_ERR_ABORT_EN = 0x0008,   /* halt on any error */
    IOAT_CHANCTRL_ERR_INT_EN = 0x0010,         /* interrupt on an error */
    IOAT_CHANCTRL_DESCRIPTOR_ADDR_SNOOP_CONTROL = 0x0020,
    IOAT_CHANCTRL_CHANNEL_IN_USE = 0x0100,
    IOAT_CHANCTRL_COMPL_DCA_EN = 0x0200,
    IOAT_CHANCTRL_CHANNEL_PRIORITY_MASK = 0xF000,
};
#define IOAT_CHANCTRL_WMASK 0xF33Du

/* CHANCMD commands */
enum {
    IOAT_CHANCMD_START = 0x01,
    IOAT_CHANCMD_APPEND = 0x02,
    IOAT_CHANCMD_SUSPEND = 0x04,
    IOAT_CHANCMD_ABORT = 0x08,
    IOAT_CHANCMD_RESUME = 0x10,
    IOAT_CHANCMD_RESET = 0x20,
};

/* CHANSTS: bits 2:0 the transfer state, bits 63:6 the completed descriptor address */
enum {
    IOAT_CHANSTS_ACTIVE = 0x0,
    IOAT_CHANSTS_DONE = 0x1,      /* "IDLE" in DPDK */
    IOAT_CHANSTS_SUSPENDED = 0x2,
    IOAT_CHANSTS_HALTED = 0x3,
    IOAT_CHANSTS_ARMED = 0x4,
};
#define IOAT_CHANSTS_STATUS 0x7ull
#define IOAT_CHANSTS_UNAFFILIATED_ERR 0x8ull
#define IOAT_CHANSTS_SOFT_ERR 0x10ull
#define IOAT_CHANSTS_COMPLETED_DESCRIPTOR_ADDR (~0x3full)

static inline unsigned ioat_CHANSTS_status(uint64_t chansts)
{
    return (unsigned)(chansts & IOAT_CHANSTS_STATUS);
}
static inline uint64_t ioat_CHANSTS_completed(uint64_t chansts)
{
    return chansts & IOAT_CHANSTS_COMPLETED_DESCRIPTOR_ADDR;
}

/* CHANERR bits (v3 names) */
enum {
    IOAT_CHANERR_SRC_ADDR_ERR = 0x0001,
    IOAT_CHANERR_DEST_ADDR_ERR = 0x0002,
    IOAT_CHANERR_NEXT_ADDR_ERR = 0x0004,
    IOAT_CHANERR_NEXT_DESC_ALIGN_ERR = 0x0008,
    IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR = 0x0010,
    IOAT_CHANERR_CHANCMD_ERR = 0x0020,
    IOAT_CHANERR_CHIPSET_UNCORRECTABLE_DATA_INTEGRITY_ERR = 0x0040,
    IOAT_CHANERR_DMA_UNCORRECTABLE_DATA_INTEGRITY_ERR = 0x0080,
    IOAT_CHANERR_READ_DATA_ERR = 0x0100,
    IOAT_CHANERR_WRITE_DATA_ERR = 0x0200,
    IOAT_CHANERR_CONTROL_ERR = 0x0400,
    IOAT_CHANERR_LENGTH_ERR = 0x0800,
    IOAT_CHANERR_COMPLETION_ADDR_ERR = 0x1000,
    IOAT_CHANERR_INT_CONFIGURATION_ERR = 0x2000,
    IOAT_CHANERR_SOFT_ERR = 0x4000,
    IOAT_CHANERR_UNAFFILIATED_ERR = 0x8000,
    IOAT_CHANERR_XOR_P_OR_CRC_ERR = 0x10000,
    IOAT_CHANERR_XOR_Q_ERR = 0x20000,
    IOAT_CHANERR_DESCRIPTOR_COUNT_ERR = 0x40000,
};
#define IOAT_CHANERR_ALL 0x7FFFFu

/* ---- descriptors --------------------------------------------------------- */

/*
 * A 64-byte hardware descriptor as eight little-endian quadwords (no C
 * bitfields, style rule 6).  The generic/copy layout:
 *   val[0] bits 31:0   size (bytes)
 *   val[0] bits 63:32  control: bit 32 int_en, 33 src_snoop_dis,
 *                      34 dest_snoop_dis, 35 compl_write, 36 fence,
 *                      37 null, 38 src_brk, 39 dest_brk, 40 bundle,
 *                      41 dest_dca, 42 hint, 63:56 op
 *   val[1]             source address (FILL: the 64-bit pattern)
 *   val[2]             destination address
 *   val[3]             next descriptor address
 *   val[4..7]          reserved / software use
 */
#define IOAT_DESC_SIZE 64u
typedef struct IoatDesc {
    uint64_t val[8];
} IoatDesc;

enum {
    IOAT_OP_COPY = 0x00,
    IOAT_OP_FILL = 0x01,
};

/* control bits, as positions within the 32-bit ctl word */
enum {
    IOAT_DESC_CTL_INT_EN = 1u << 0,
    IOAT_DESC_CTL_SRC_SNOOP_DIS = 1u << 1,
    IOAT_DESC_CTL_DEST_SNOOP_DIS = 1u << 2,
    IOAT_DESC_CTL_COMPL_WRITE = 1u << 3,
    IOAT_DESC_CTL_FENCE = 1u << 4,
    IOAT_DESC_CTL_NULL = 1u << 5,
};
#define IOAT_DESC_CTL_OP_SHIFT 24

static inline uint32_t ioat_desc_size(const IoatDesc *d) { return (uint32_t)d->val[0]; }
static inline uint32_t ioat_desc_ctl(const IoatDesc *d) { return (uint32_t)(d->val[0] >> 32); }
/* bit 32 */
static inline bool ioat_desc_int_en(const IoatDesc *d) { return ioat_desc_ctl(d) & IOAT_DESC_CTL_INT_EN; }
/* bit 35 */
static inline bool ioat_desc_compl_write(const IoatDesc *d)
{
    return ioat_desc_ctl(d) & IOAT_DESC_CTL_COMPL_WRITE;
}
/* bit 36 */
static inline bool ioat_desc_fence(const IoatDesc *d) { return ioat_desc_ctl(d) & IOAT_DESC_CTL_FENCE; }
/* bit 37 */
static inline bool ioat_desc_null(const IoatDesc *d) { return ioat_desc_ctl(d) & IOAT_DESC_CTL_NULL; }
/* bits 63:56 */
static inline unsigned ioat_desc_op(const IoatDesc *d) { return ioat_desc_ctl(d) >> IOAT_DESC_CTL_OP_SHIFT; }
static inline uint64_t ioat_desc_src_addr(const IoatDesc *d) { return d->val[1]; }
static inline uint64_t ioat_desc_dst_addr(const IoatDesc *d) { return d->val[2]; }
static inline uint64_t ioat_desc_next(const IoatDesc *d) { return d->val[3]; }

/* Builders (tests and drivers). */
static inline void ioat_desc_set(IoatDesc *d, unsigned op, uint32_t ctl_flags, uint32_t size,
                                 uint64_t src, uint64_t dst, uint64_t next)
{
    uint32_t ctl = (ctl_flags & 0x00ffffffu) | ((uint32_t)(op & 0xff) << IOAT_DESC_CTL_OP_SHIFT);
    d->val[0] = size | ((uint64_t)ctl << 32);
    d->val[1] = src;
    d->val[2] = dst;
    d->val[3] = next;
    d->val[4] = d->val[5] = d->val[6] = d->val[7] = 0;
}

#endif
