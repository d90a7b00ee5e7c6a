/*
 * Private bodies of the PCIe fabric (src/pcie only).
 *
 * A PcieFn owns its 4 KiB config space with two parallel per-byte mask
 * arrays (writable and write-1-to-clear); everything the fabric needs to
 * decode, route and interrupt is derived from those bytes each time, so
 * software-programmed values (bus numbers, windows, BARs) are the single
 * source of truth.  The fabric keeps only the topology (who sits on which
 * secondary bus) and the MemRegions that currently decode BARs.
 *
 * Files: fabric.c (topology, config routing, reset), enumerate.c
 * (firmware-style enumeration), config.c (config space, masks, header
 * semantics, BAR decoding, FLR), caps.c (capability lists and builders),
 * sriov.c, irq.c (MSI, MSI-X, INTx), dma.c (upstream requests), tlp.c
 * (wire format).
 */
#ifndef VTDSIM_PCIE_PCIE_INTERNAL_H
#define VTDSIM_PCIE_PCIE_INTERNAL_H

#include "pcie/pcie.h"

/* Priority of BAR regions in the system spaces: above RAM and holes (0). */
#define PCIE_BAR_PRIORITY 20

/* The interrupt window of the root complex (x86 MSI address range). */
#define PCIE_MSI_WINDOW_BASE 0xFEE00000ull
#define PCIE_MSI_WINDOW_SIZE 0x00100000ull

/* Capability list walks stop after this many entries (a looping list). */
#define PCIE_CAP_WALK_MAX 48
#define PCIE_EXT_CAP_WALK_MAX ((PCIE_CONFIG_SIZE - 0x100) / 4)

/* ---- PCI Express capability (PCIe Base 5.0 section 7.5.3) ------------- */
enum {
    PCI_EXP_FLAGS = 0x02,    /* PCI Express Capabilities Register */
    PCI_EXP_DEVCAP = 0x04,
    PCI_EXP_DEVCTL = 0x08,
    PCI_EXP_DEVSTA = 0x0a,
    PCI_EXP_LNKCAP = 0x0c,
    PCI_EXP_LNKCTL = 0x10,
    PCI_EXP_LNKSTA = 0x12,
    PCI_EXP_SLTCAP = 0x14,
    PCI_EXP_SLTCTL = 0x18,
    PCI_EXP_SLTSTA = 0x1a,
    PCI_EXP_RTCTL = 0x1c,
    PCI_EXP_RTCAP = 0x1e,
    PCI_EXP_RTSTA = 0x20,
    PCI_EXP_DEVCAP2 = 0x24,
    PCI_EXP_DEVCTL2 = 0x28,
    PCI_EXP_DEVSTA2 = 0x2a,
    PCI_EXP_LNKCAP2 = 0x2c,
    PCI_EXP_LNKCTL2 = 0x30,
    PCI_EXP_LNKSTA2 = 0x32,
    PCI_EXP_SIZEOF = 0x3c,
};
enum {
    PCI_EXP_DEVCTL_PAYLOAD_SHIFT = 5,   /* Max_Payload_Size, bits 7:5 */
    PCI_EXP_DEVCTL_READRQ_SHIFT = 12,   /* Max_Read_Request_Size, bits 14:12 */
    PCI_EXP_DEVCTL_EXT_TAG = 0x0100,
    PCI_EXP_DEVCTL_BCR_FLR = 0x8000,    /* Initiate Function Level Reset */
    PCI_EXP_DEVCAP_FLR = 0x10000000,    /* Function Level Reset Capability */
    PCI_EXP_DEVCAP2_ARI = 0x20,         /* ARI Forwarding Supported */
    PCI_EXP_DEVCTL2_ARI = 0x20,         /* ARI Forwarding Enable */
};
/* Max_Payload_Size Supported advertised by every function: 512 bytes. */
#define PCIE_DEFAULT_MPSS 2

/* ---- MSI (PCI Local Bus 3.0 section 6.8.1) ----------------------------- */
enum {
    PCI_MSI_FLAGS = 0x02,
    PCI_MSI_FLAGS_ENABLE = 0x0001,
    PCI_MSI_FLAGS_QMASK = 0x000e,   /* Multiple Message Capable */
    PCI_MSI_FLAGS_QSIZE = 0x0070,   /* Multiple Message Enable */
    PCI_MSI_FLAGS_64BIT = 0x0080,
    PCI_MSI_FLAGS_MASKBIT = 0x0100,
    PCI_MSI_ADDRESS_LO = 0x04,
};

/* ---- MSI-X ------------------------------------------------------------- */
enum {
    PCI_MSIX_FLAGS = 0x02,
    PCI_MSIX_FLAGS_QSIZE = 0x07ff,
    PCI_MSIX_FLAGS_MASKALL = 0x4000,
    PCI_MSIX_FLAGS_ENABLE = 0x8000,
    PCI_MSIX_TABLE = 0x04,
    PCI_MSIX_PBA = 0x08,
    PCI_MSIX_ENTRY_SIZE = 16,
    PCI_MSIX_ENTRY_VECTOR_CTRL = 12,
    PCI_MSIX_ENTRY_CTRL_MASKBIT = 1,
};

/* ---- SR-IOV (PCIe Base 5.0 section 9.3.3) ------------------------------ */
enum {
    PCI_SRIOV_CAP = 0x04,
    PCI_SRIOV_CTRL = 0x08,
    PCI_SRIOV_CTRL_VFE = 0x01,      /* VF Enable */
    PCI_SRIOV_CTRL_VFM = 0x02,
    PCI_SRIOV_CTRL_INTR = 0x04,
    PCI_SRIOV_CTRL_MSE = 0x08,      /* VF Memory Space Enable */
    PCI_SRIOV_CTRL_ARI = 0x10,      /* ARI Capable Hierarchy */
    PCI_SRIOV_STATUS = 0x0a,
    PCI_SRIOV_INITIAL_VF = 0x0c,
    PCI_SRIOV_TOTAL_VF = 0x0e,
    PCI_SRIOV_NUM_VF = 0x10,
    PCI_SRIOV_FUNC_LINK = 0x12,
    PCI_SRIOV_VF_OFFSET = 0x14,
    PCI_SRIOV_VF_STRIDE = 0x16,
    PCI_SRIOV_VF_DID = 0x1a,
    PCI_SRIOV_SUP_PGSIZE = 0x1c,
    PCI_SRIOV_SYS_PGSIZE = 0x20,
    PCI_SRIOV_BAR = 0x24,
    PCI_SRIOV_VFM = 0x3c,
    PCI_SRIOV_SIZEOF = 0x40,
};

/* ---- other extended capabilities -------------------------------------- */
enum {
    PCI_ACS_CAP = 0x04, PCI_ACS_CTRL = 0x06, PCI_ACS_EGRESS_CTL_V = 0x08,
    PCI_ACS_EC = 0x20,
    PCI_ARI_CAP = 0x04, PCI_ARI_CTRL = 0x06,
    PCI_ATS_CAP = 0x04, PCI_ATS_CTRL = 0x06, PCI_ATS_CTRL_ENABLE = 0x8000,
    PCI_PRI_CTRL = 0x04, PCI_PRI_STATUS = 0x06, PCI_PRI_MAX_REQ = 0x08, PCI_PRI_ALLOC_REQ = 0x0c,
    PCI_PASID_CAP = 0x04, PCI_PASID_CTRL = 0x06,
    PCI_ERR_UNCOR_STATUS = 0x04, PCI_ERR_UNCOR_MASK = 0x08, PCI_ERR_UNCOR_SEVER = 0x0c,
    PCI_ERR_COR_STATUS = 0x10, PCI_ERR_COR_MASK = 0x14, PCI_ERR_CAP = 0x18,
    PCI_ERR_CAP_FEP_MASK = 0x1f,  /* Advanced Error Capabilities and Control: First Error Pointer */
    PCI_ERR_HEADER_LOG = 0x1c, PCI_ERR_ROOT_COMMAND = 0x2c, PCI_ERR_ROOT_STATUS = 0x30,
    PCI_ERR_ROOT_ERR_SRC = 0x34, PCI_ERR_PREFIX_LOG = 0x38, PCI_ERR_SIZEOF = 0x48,
    PCI_PM_PMC = 0x02, PCI_PM_CTRL = 0x04, PCI_PM_SIZEOF = 0x08,
};

typedef struct PcieBar {
    PcieFn *fn;
    unsigned idx;
    uint64_t size;            /* 0: not implemented (or upper half of a 64-bit BAR) */
    unsigned flags;           /* PCIE_BAR_* */
    const MmioOps *ops;       /* the model's; may be NULL */
    void *opaque;
    MemRegion *region;        /* decoding region, NULL while unmapped */
    uint64_t addr;            /* decoded address, PCIE_BAR_UNMAPPED when not */
    char *region_name;
} PcieBar;

struct PcieFn {
    PcieFabric *fabric;
    PcieFn *parent;           /* upstream bridge (a VF's is its PF's) */
    PcieFn *pf;               /* VFs: their PF */
    unsigned vf_index;
    uint8_t devfn;            /* on the parent's secondary bus (not used for VFs) */
    PcieFnKind kind;
    bool is_bridge;

    uint8_t config[PCIE_CONFIG_SIZE];
    uint8_t wmask[PCIE_CONFIG_SIZE];
    uint8_t w1cmask[PCIE_CONFIG_SIZE];
    /* Power-on image, restored by reset (masks never change after creation). */
    uint8_t *reset_config;
    uint8_t cap_tail;         /* last capability, 0 = none */
    uint16_t cap_free;        /* next free byte for a capability */
    uint16_t ext_tail, ext_free;

    const PcieFnOps *ops;
    void *opaque;
    char *base_name;          /* model name, as given */
    char *name;               /* "bb:dd.f base" refreshed on demand */
    int group;

    PcieBar bars[6];
    GPtrArray *children;      /* PcieFn * on the secondary bus (no VFs), devfn order */

    /* capability offsets (0 = absent) */
    uint8_t exp_cap, msi_cap, msix_cap, pm_cap;
    uint16_t sriov_cap, ari_cap;

    /* MSI-X state; the table and PBA live here and are served as MMIO */
    unsigned msix_n;
    unsigned msix_table_bar, msix_pba_bar;
    uint32_t msix_table_off, msix_pba_off;
    uint8_t *msix_table;      /* msix_n * 16 bytes */
    uint8_t *msix_pba;        /* ceil(msix_n / 64) * 8 bytes */

    /* SR-IOV */
    PcieSriovParams sriov;
    GPtrArray *vfs;           /* PcieFn *, VF index order; NULL when none */

    /* INTx */
    bool intx_level;          /* the model's line */
    bool intx_asserted;       /* what was last reported upstream */

    uint8_t next_tag;

    /* PRI (PFs): page requests sent and not yet answered, in total and per PRG index */
    unsigned pri_outstanding;
    unsigned *pri_prg_count;  /* 512 counters, allocated on the first page request */
};

struct PcieFabric {
    EmuSim *sim;
    AddrSpace *mem, *io;
    const PcieRcOps *rc;
    void *rc_opaque;
    GPtrArray *root;          /* functions on bus 0, devfn order */
    bool updating;            /* guards BAR-decode recursion */
};

/* fabric.c */
void pcie_fabric_update_decode(PcieFabric *f);
bool pcie_fn_ari_forwarding(PcieFn *bridge);
uint8_t pcie_fn_bus(const PcieFn *fn);
void pcie_fn_destroy(PcieFn *fn);
PcieFn *pcie_fn_alloc(PcieFabric *f, PcieFn *parent, uint8_t devfn, PcieFnKind kind,
                      uint16_t vendor, uint16_t device, uint32_t class_code,
                      const PcieFnOps *ops, void *opaque);

/* config.c */
void pcie_fn_init_header(PcieFn *fn);
void pcie_fn_config_apply(PcieFn *fn, uint16_t off, unsigned size, uint32_t val);
uint64_t pcie_fn_bar_reg_addr(PcieFn *fn, unsigned idx);
void pcie_fn_bar_unmap(PcieBar *bar);
void pcie_fn_bar_decode(PcieFn *fn);
bool pcie_fn_forwards(PcieFn *fn, uint64_t addr, uint64_t size, bool io);
void pcie_fn_save_reset_image(PcieFn *fn);

/* caps.c */
void pcie_cap_exp_init(PcieFn *fn);

/* sriov.c */
void pcie_sriov_config_write(PcieFn *pf, uint16_t old_ctrl, uint16_t old_num);
void pcie_sriov_remove_vfs(PcieFn *pf);
uint16_t pcie_sriov_vf_rid(PcieFn *pf, unsigned n);
uint64_t pcie_sriov_vf_bar_base(PcieFn *pf, unsigned idx);

/* irq.c */
void pcie_msi_config_write(PcieFn *fn, uint16_t off, unsigned size);
void pcie_msix_config_write(PcieFn *fn, uint16_t off, unsigned size);
void pcie_intx_update(PcieFn *fn);
void pcie_msix_reset(PcieFn *fn);
bool pcie_msix_bar_has(PcieFn *fn, unsigned bar);
uint64_t pcie_msix_mmio_read(PcieFn *fn, unsigned bar, uint64_t off, unsigned size, bool *hit);
bool pcie_msix_mmio_write(PcieFn *fn, unsigned bar, uint64_t off, uint64_t val, unsigned size);

/* dma.c */
bool pcie_fn_bus_master(PcieFn *fn);

/* little-endian config helpers */
static inline uint32_t pcie_le_get(const uint8_t *p, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        v |= (uint32_t)p[i] << (8 * i);
    }
    return v;
}

static inline void pcie_le_set(uint8_t *p, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++) {
        p[i] = (uint8_t)(v >> (8 * i));
    }
}

#endif
