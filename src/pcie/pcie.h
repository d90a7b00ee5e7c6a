/*
 * The PCIe fabric: root complex, root ports, switches, functions, config
 * space, capabilities, BARs, SR-IOV, interrupts from the device side, and
 * the upstream DMA path.
 *
 * What is modelled
 *  - A hierarchy rooted at one root bus (bus 0 of segment 0): root-complex
 *    integrated endpoints and root ports on bus 0; switches (an upstream
 *    port plus downstream ports on an internal bus) below ports; endpoints
 *    below ports.  Type 1 headers route config requests by their
 *    secondary/subordinate bus numbers and memory/I/O by their windows,
 *    exactly as software programmed them; nothing is routed by magic.
 *  - Config space (4 KiB per function) with read-only, writable and
 *    write-1-to-clear masks as data (pcie_fn_set_masks), capability and
 *    extended-capability lists, and the standard capability builders.
 *  - BARs: sizing by writing all ones, 32/64-bit, prefetchable, I/O.  A BAR
 *    decodes in the system memory (or I/O) space only while its function's
 *    Memory (I/O) Space Enable is set and every bridge above it forwards
 *    the range - the way real decoders behave.
 *  - SR-IOV: VF Enable with NumVFs creates VFs whose routing IDs follow
 *    First VF Offset and VF Stride (and ARI Capable Hierarchy), with VF
 *    BARs carved from the VF BAR registers; clearing VF Enable removes them.
 *  - MSI/MSI-X/INTx generation: a device calls pcie_fn_msi_notify() and the
 *    fabric builds the memory write the function would send (honouring
 *    enable, function mask, per-vector masks and pending bits).
 *  - Upstream memory requests (DMA) carry the requester ID, PASID, AT and
 *    privilege bits to the root complex, where an optional IOMMU hook
 *    translates them before they reach system memory.
 *
 * Not modelled: link training, power states beyond the PM registers,
 * peer-to-peer routing through switches (all requests go to the root
 * complex, as with ACS redirect), hot plug, multiple segments.
 */
#ifndef VTDSIM_PCIE_PCIE_H
#define VTDSIM_PCIE_PCIE_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"
#include "mem/addr_space.h"
#include "pcie/tlp.h"

#define PCIE_CONFIG_SIZE 4096
#define PCIE_BDF(bus, dev, fn) ((uint16_t)(((bus) << 8) | ((dev) << 3) | (fn)))
#define PCIE_BUS(rid) ((uint8_t)((rid) >> 8))
#define PCIE_DEV(rid) ((uint8_t)(((rid) >> 3) & 0x1f))
#define PCIE_FN(rid)  ((uint8_t)((rid) & 7))
#define PCIE_BAR_UNMAPPED UINT64_MAX

/* Standard config registers (PCI Local Bus 3.0 / PCIe Base 5.0 chapter 7). */
enum {
    PCI_VENDOR_ID = 0x00, PCI_DEVICE_ID = 0x02, PCI_COMMAND = 0x04, PCI_STATUS = 0x06,
    PCI_REVISION_ID = 0x08, PCI_CLASS_PROG = 0x09, PCI_CLASS_DEVICE = 0x0a,
    PCI_CACHE_LINE_SIZE = 0x0c, PCI_LATENCY_TIMER = 0x0d, PCI_HEADER_TYPE = 0x0e,
    PCI_BIST = 0x0f, PCI_BASE_ADDRESS_0 = 0x10, PCI_CARDBUS_CIS = 0x28,
    PCI_SUBSYSTEM_VENDOR_ID = 0x2c, PCI_SUBSYSTEM_ID = 0x2e, PCI_ROM_ADDRESS = 0x30,
    PCI_CAPABILITY_LIST = 0x34, PCI_INTERRUPT_LINE = 0x3c, PCI_INTERRUPT_PIN = 0x3d,
    PCI_MIN_GNT = 0x3e, PCI_MAX_LAT = 0x3f,
    /* type 1 */
    PCI_PRIMARY_BUS = 0x18, PCI_SECONDARY_BUS = 0x19, PCI_SUBORDINATE_BUS = 0x1a,
    PCI_SEC_LATENCY_TIMER = 0x1b, PCI_IO_BASE = 0x1c, PCI_IO_LIMIT = 0x1d,
    PCI_SEC_STATUS = 0x1e, PCI_MEMORY_BASE = 0x20, PCI_MEMORY_LIMIT = 0x22,
    PCI_PREF_MEMORY_BASE = 0x24, PCI_PREF_MEMORY_LIMIT = 0x26,
    PCI_PREF_BASE_UPPER32 = 0x28, PCI_PREF_LIMIT_UPPER32 = 0x2c,
    PCI_IO_BASE_UPPER16 = 0x30, PCI_IO_LIMIT_UPPER16 = 0x32, PCI_ROM_ADDRESS1 = 0x38,
    PCI_BRIDGE_CONTROL = 0x3e,
};

enum {
    PCI_COMMAND_IO = 0x1, PCI_COMMAND_MEMORY = 0x2, PCI_COMMAND_MASTER = 0x4,
    PCI_COMMAND_SERR = 0x100, PCI_COMMAND_INTX_DISABLE = 0x400,
    PCI_STATUS_INTERRUPT = 0x08, PCI_STATUS_CAP_LIST = 0x10,
    PCI_STATUS_SIG_TARGET_ABORT = 0x0800, PCI_STATUS_REC_TARGET_ABORT = 0x1000,
    PCI_STATUS_REC_MASTER_ABORT = 0x2000, PCI_STATUS_SIG_SYSTEM_ERROR = 0x4000,
    PCI_STATUS_DETECTED_PARITY = 0x8000,
};

/* Capability IDs (PCI Code and ID Assignment Spec). */
enum {
    PCI_CAP_ID_PM = 0x01, PCI_CAP_ID_MSI = 0x05, PCI_CAP_ID_VNDR = 0x09,
    PCI_CAP_ID_SSVID = 0x0d, PCI_CAP_ID_EXP = 0x10, PCI_CAP_ID_MSIX = 0x11,
};
enum {
    PCI_EXT_CAP_ID_ERR = 0x0001, PCI_EXT_CAP_ID_ACS = 0x000d, PCI_EXT_CAP_ID_ARI = 0x000e,
    PCI_EXT_CAP_ID_ATS = 0x000f, PCI_EXT_CAP_ID_SRIOV = 0x0010, PCI_EXT_CAP_ID_PRI = 0x0013,
    PCI_EXT_CAP_ID_PASID = 0x001b,
};

/* PCI Express Capabilities register, Device/Port Type (bits 7:4). */
typedef enum PcieFnKind {
    PCIE_KIND_ENDPOINT = 0x0,       /* PCI Express Endpoint */
    PCIE_KIND_LEGACY_ENDPOINT = 0x1,
    PCIE_KIND_RC_INTEGRATED = 0x9,  /* Root Complex Integrated Endpoint */
    PCIE_KIND_ROOT_PORT = 0x4,
    PCIE_KIND_SWITCH_UP = 0x5,
    PCIE_KIND_SWITCH_DOWN = 0x6,
    PCIE_KIND_PCIE_TO_PCI = 0x7,
    PCIE_KIND_HOST_BRIDGE = 0x100,  /* conventional PCI host bridge, no PCIe capability */
    PCIE_KIND_PCI_DEVICE = 0x101,   /* conventional PCI endpoint on the root bus (QEMU's edu) */
} PcieFnKind;

/* BAR flags. */
enum {
    PCIE_BAR_MEM32 = 0x0,
    PCIE_BAR_IO = 0x1,
    PCIE_BAR_MEM64 = 0x4,
    PCIE_BAR_PREFETCH = 0x8,
};

typedef struct PcieFabric PcieFabric;
typedef struct PcieFn PcieFn;

/* GError domain and codes of this module. */
#define PCIE_ERROR (pcie_error_quark())
GQuark pcie_error_quark(void);
typedef enum PcieError {
    PCIE_ERROR_INVALID,     /* the topology or request is not possible */
    PCIE_ERROR_EXISTS,      /* the devfn is taken */
    PCIE_ERROR_NO_SPACE,    /* enumeration ran out of bus numbers or window space */
} PcieError;

/* ATS Invalidate Request message as a device receives it (PCIe Base 10.3.1). */
typedef struct PcieAtsInval {
    uint16_t source;        /* the translation agent's ID */
    bool pasid_present;
    uint32_t pasid;
    bool global;            /* with PASID: also global translations */
    uint64_t addr;          /* start, aligned to size */
    uint64_t size;          /* bytes: 4 KiB, a larger power of two (S=1), or UINT64_MAX for all */
} PcieAtsInval;

/* PRI Page Request message (PCIe Base 10.4.1). */
typedef struct PciePageRequest {
    bool pasid_present;
    uint32_t pasid;
    bool exec, priv;
    bool read, write;
    bool last;              /* Last Request in PRG */
    unsigned prgi;          /* Page Request Group Index, 9 bits */
    uint64_t addr;          /* page address */
} PciePageRequest;

/* PRG Response message (PCIe Base 10.4.2). */
typedef struct PciePrgResponse {
    bool pasid_present;
    uint32_t pasid;
    unsigned prgi;
    unsigned code;          /* 0 Success, 1 Invalid Request, 0xF Response Failure */
} PciePrgResponse;

/**
 * What a device model implements (style rule 3).  Every callback is
 * optional.  @opaque is the model's state, given at pcie_fn_new().
 */
typedef struct PcieFnOps {
    const char *name;
    /*
     * After software wrote config space (masks already applied and the
     * fabric's own side effects done).  @val is the value software wrote,
     * before masking, so write-1-to-trigger bits that read as 0 are seen.
     */
    void (*config_write)(void *opaque, PcieFn *fn, uint16_t off, unsigned size, uint32_t val);
    /* Reset: conventional reset, FLR, or VF removal; config is already at reset values. */
    void (*reset)(void *opaque, PcieFn *fn);
    /* Called when the function is destroyed (VF removal, fabric teardown). */
    void (*destroy)(void *opaque, PcieFn *fn);
    /*
     * ATS Invalidate Request for this function; returns true when the
     * device answers with an Invalidate Completion (false: it never does,
     * which the translation agent sees as a time-out).
     */
    bool (*ats_invalidate)(void *opaque, PcieFn *fn, const PcieAtsInval *inv);
    /* A PRG Response message for this function. */
    void (*prg_response)(void *opaque, PcieFn *fn, const PciePrgResponse *resp);
} PcieFnOps;

/**
 * The root complex's view of upstream memory requests.  The platform sets
 * it; with no IOMMU the default sends requests straight to system memory
 * and writes to the interrupt window (0xFEE00000..0xFEEFFFFF) to @msi.
 */
typedef struct PcieRcOps {
    /*
     * Handles one upstream memory request (MRd, MWr, AtomicOp, or a
     * translation request) with @data as the payload (writes) or the
     * buffer to fill (reads, tlp->length bytes).  Returns the completion
     * status; a read returning non-SC leaves @data all ones.
     */
    PcieCplStatus (*mem_request)(void *opaque, PcieTlp *tlp, void *data);
    /* An interrupt message (a MWr that reached the interrupt window). */
    void (*msi)(void *opaque, uint16_t rid, uint64_t addr, uint32_t data);
    /* INTx level change of @fn's pin (1=INTA..4=INTD) after swizzling to the root bus. */
    void (*intx)(void *opaque, PcieFn *fn, unsigned root_pin, bool level);
    /* A PRI Page Request message from @rid; returns false if it was dropped. */
    bool (*page_request)(void *opaque, uint16_t rid, const PciePageRequest *req);
} PcieRcOps;

/* ---- fabric ------------------------------------------------------------ */

/**
 * pcie_fabric_new:
 * Creates an empty hierarchy with a root bus 0.  @mem and @io are the
 * system memory and I/O spaces where BARs are decoded (borrowed; must
 * outlive the fabric).  Free with pcie_fabric_free().
 */
PcieFabric *pcie_fabric_new(EmuSim *sim, AddrSpace *mem, AddrSpace *io);
void pcie_fabric_free(PcieFabric *f);
EmuSim *pcie_fabric_sim(const PcieFabric *f);

/** Sets the root complex handlers (@ops is borrowed and must outlive @f). */
void pcie_fabric_set_rc_ops(PcieFabric *f, const PcieRcOps *ops, void *opaque);

/**
 * pcie_fn_new:
 * Adds a function at @devfn on the secondary side of @parent (a root port
 * or a switch downstream port), or on the root bus when @parent is NULL.
 * Bridges (root ports, switch ports) get a type 1 header; endpoints a type
 * 0 header.  The PCI Express capability is added for every kind but
 * PCIE_KIND_HOST_BRIDGE and PCIE_KIND_PCI_DEVICE (conventional PCI).  A switch is made of one PCIE_KIND_SWITCH_UP below
 * a port and PCIE_KIND_SWITCH_DOWN functions below that upstream port.
 * Returns NULL and sets @error if @devfn is taken, or the parent cannot
 * have children of this kind (an endpoint below an endpoint, a second
 * device on a link other than ARI functions of device 0, ...).
 * The fabric owns the function.
 */
PcieFn *pcie_fn_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, PcieFnKind kind,
                    uint16_t vendor, uint16_t device, uint32_t class_code,
                    const PcieFnOps *ops, void *opaque, GError **error);

/** Iterates every function (VFs included) in depth-first bus order. */
void pcie_fabric_foreach(PcieFabric *f, void (*fn)(PcieFn *fn, void *opaque), void *opaque);

/** Looks a function up by its current routing ID (config routing rules apply). */
PcieFn *pcie_fabric_find(PcieFabric *f, uint16_t rid);

/**
 * Config requests from the host (CF8/CFC and ECAM).  A request to a bus or
 * device that is not there reads all ones (a UR turned into 0xFFFF... by
 * the root complex), writes are dropped.  @off must be aligned to @size.
 */
uint32_t pcie_fabric_config_read(PcieFabric *f, uint8_t bus, uint8_t devfn, uint16_t off,
                                 unsigned size);
void pcie_fabric_config_write(PcieFabric *f, uint8_t bus, uint8_t devfn, uint16_t off,
                              unsigned size, uint32_t val);

/** Resources for firmware-style enumeration. */
typedef struct PcieEnumWindows {
    uint64_t mem32_base, mem32_limit;  /* inclusive limit */
    uint64_t mem64_base, mem64_limit;
    uint32_t io_base, io_limit;
} PcieEnumWindows;

/**
 * pcie_fabric_enumerate:
 * Does what firmware does: a depth-first scan assigning secondary and
 * subordinate bus numbers, then sizes every BAR by writing all ones,
 * assigns addresses from @win (largest alignment first), programs bridge
 * windows, and sets Memory/IO Space and Bus Master Enable.  Returns FALSE
 * with @error when the windows are too small.  With @buses_only, only bus
 * numbers are assigned (BARs left at 0 as after reset).
 */
gboolean pcie_fabric_enumerate(PcieFabric *f, const PcieEnumWindows *win, bool buses_only,
                               GError **error);
/*
 * (Enumeration details: bus numbers for the VFs of every PF at TotalVFs are
 * reserved; like Linux, ARI Forwarding Enable is set on a downstream port
 * whose device 0 has an ARI capability, and ARI Capable Hierarchy in the
 * SR-IOV capabilities below it.  @win may be NULL with @buses_only.)
 */

/** Resets every function to its power-on state (VFs removed). */
void pcie_fabric_reset(PcieFabric *f);

/* ---- IOMMU groups ----------------------------------------------------- */

/**
 * pcie_fabric_compute_groups:
 * Assigns an IOMMU group number to every function following Linux's rules
 * (drivers/iommu/iommu.c pci_device_group): functions that can send each
 * other DMA without passing through the root complex share a group.  A
 * multifunction device without ACS isolation puts its functions in one
 * group; a downstream port without ACS (SV, RR, CR, UF) merges everything
 * below it; a PCIe-to-PCI bridge merges everything below it (aliases).
 * Groups are numbered from 0 in fabric order.  Returns the group count.
 */
unsigned pcie_fabric_compute_groups(PcieFabric *f);
/** Group of @fn from the last pcie_fabric_compute_groups(), or -1. */
int pcie_fn_group(const PcieFn *fn);
/** Used by pcie_fabric_compute_groups() (groups.c) to record the result. */
void pcie_fn_set_group(PcieFn *fn, int group);

/* ---- functions: identity and topology ---------------------------------- */

uint16_t pcie_fn_rid(const PcieFn *fn);   /* current routing ID */
PcieFnKind pcie_fn_kind(const PcieFn *fn);
bool pcie_fn_is_bridge(const PcieFn *fn);
bool pcie_fn_is_vf(const PcieFn *fn);
PcieFn *pcie_fn_pf(PcieFn *fn);           /* the PF of a VF, NULL otherwise */
unsigned pcie_fn_vf_index(const PcieFn *fn); /* 0-based VF number */
PcieFn *pcie_fn_parent(PcieFn *fn);       /* upstream bridge, NULL on the root bus */
/** Children on the secondary bus of a bridge (VFs of them included), in devfn order. */
GPtrArray *pcie_fn_children(PcieFn *fn);  /* caller frees the array (not the elements) */
/** Functions on the root bus, in devfn order; caller frees the array. */
GPtrArray *pcie_fabric_root_fns(PcieFabric *f);
void *pcie_fn_opaque(PcieFn *fn);
/** Whether @fn is served by the model whose ops table is @ops (lets a model recognise its own functions). */
bool pcie_fn_has_ops(const PcieFn *fn, const PcieFnOps *ops);
PcieFabric *pcie_fn_fabric(PcieFn *fn);
/** A name for messages: "00:01.0 edu"; valid until the next call for @fn. */
const char *pcie_fn_name(const PcieFn *fn);
void pcie_fn_set_name(PcieFn *fn, const char *name);

/* ---- config space ------------------------------------------------------ */

/**
 * Reads and writes as software sees them (masks apply to writes; writes
 * reach the model's config_write hook and the fabric's own handlers for
 * BARs, command, bridge windows, MSI/MSI-X and SR-IOV control).
 */
uint32_t pcie_fn_config_read(PcieFn *fn, uint16_t off, unsigned size);
void pcie_fn_config_write(PcieFn *fn, uint16_t off, unsigned size, uint32_t val);

/**
 * pcie_fn_flr:
 * Function Level Reset, as when software sets Initiate Function Level
 * Reset in Device Control (endpoints advertise FLR): a PF's VFs are
 * removed, config space and MSI-X state return to their power-on values,
 * and the model's reset hook runs.
 */
void pcie_fn_flr(PcieFn *fn);
/**
 * Sets or clears Function Level Reset Capability in Device Capabilities
 * (clear by default); while set, a config write of Initiate Function
 * Level Reset calls pcie_fn_flr().  @fn must have a PCIe capability.
 */
void pcie_fn_set_flr_capable(PcieFn *fn, bool on);

/** Raw access for models (no masks, no side effects). */
uint8_t *pcie_fn_config(PcieFn *fn);
uint32_t pcie_fn_get(PcieFn *fn, uint16_t off, unsigned size);
void pcie_fn_set(PcieFn *fn, uint16_t off, unsigned size, uint32_t val);

/**
 * pcie_fn_set_masks:
 * Declares the write semantics of @size bytes at @off: bits in @wmask are
 * writable, bits in @w1cmask are write-1-to-clear, all others read-only.
 * Declared once by the model, right after creating its capabilities.
 */
void pcie_fn_set_masks(PcieFn *fn, uint16_t off, unsigned size, uint32_t wmask, uint32_t w1cmask);

/** Capability lists.  Returns the offset, 0 when absent. */
uint8_t pcie_fn_find_cap(PcieFn *fn, uint8_t id);
uint16_t pcie_fn_find_ext_cap(PcieFn *fn, uint16_t id);

/** Appends a capability of @size bytes; returns its offset (asserts space). */
uint8_t pcie_fn_add_cap(PcieFn *fn, uint8_t id, uint8_t size);
uint16_t pcie_fn_add_ext_cap(PcieFn *fn, uint16_t id, uint8_t version, uint16_t size);

/* Standard capability builders; each returns the capability offset. */
uint8_t pcie_cap_pm_init(PcieFn *fn);
uint8_t pcie_cap_msi_init(PcieFn *fn, unsigned nvectors, bool addr64, bool per_vector_mask);
/** MSI-X with its table and PBA inside BARs already declared by pcie_fn_bar_init(). */
uint8_t pcie_cap_msix_init(PcieFn *fn, unsigned nvectors, unsigned table_bar,
                           uint32_t table_off, unsigned pba_bar, uint32_t pba_off);
/** ACS with the given ACS Capability bits (SV=0x1 TB=0x2 RR=0x4 CR=0x8 UF=0x10 EC=0x20 DT=0x40). */
uint16_t pcie_cap_acs_init(PcieFn *fn, uint16_t acs_cap);
uint16_t pcie_cap_ari_init(PcieFn *fn, uint8_t next_fn);
/** ATS with @invq_depth (0 means 32) and page-aligned-request bit. */
uint16_t pcie_cap_ats_init(PcieFn *fn, unsigned invq_depth, bool page_aligned);
uint16_t pcie_cap_pri_init(PcieFn *fn, uint32_t outstanding_capacity);
/** PASID with @width bits (1..20), Execute and Privileged Mode support. */
uint16_t pcie_cap_pasid_init(PcieFn *fn, unsigned width, bool exec, bool priv);
uint16_t pcie_cap_aer_init(PcieFn *fn);

/*
 * AER error status bits (PCIe Base 6.x 7.8.4.2 Uncorrectable Error Status,
 * 7.8.4.5 Correctable Error Status): X(NAME, bit, "description").
 */
#define PCIE_AER_UNCOR_ERRORS(X)                                  \
    X(DLP, 4, "Data Link Protocol Error")                         \
    X(SDES, 5, "Surprise Down Error")                             \
    X(POISON_TLP, 12, "Poisoned TLP Received")                    \
    X(FCP, 13, "Flow Control Protocol Error")                     \
    X(COMP_TIME, 14, "Completion Timeout")                        \
    X(COMP_ABORT, 15, "Completer Abort")                          \
    X(UNX_COMP, 16, "Unexpected Completion")                      \
    X(RX_OVER, 17, "Receiver Overflow")                           \
    X(MALF_TLP, 18, "Malformed TLP")                              \
    X(ECRC, 19, "ECRC Error")                                     \
    X(UNSUP, 20, "Unsupported Request Error")                     \
    X(ACSV, 21, "ACS Violation")                                  \
    X(INTN, 22, "Uncorrectable Internal Error")                   \
    X(MCBTLP, 23, "MC Blocked TLP")                               \
    X(ATOP_EBLOCKED, 24, "AtomicOp Egress Blocked")
#define PCIE_AER_COR_ERRORS(X)                                    \
    X(RCVR, 0, "Receiver Error")                                  \
    X(BAD_TLP, 6, "Bad TLP")                                      \
    X(BAD_DLLP, 7, "Bad DLLP")                                    \
    X(REP_ROLL, 8, "REPLAY_NUM Rollover")                         \
    X(REP_TIMER, 12, "Replay Timer Timeout")                      \
    X(ADV_NONFATAL, 13, "Advisory Non-Fatal Error")               \
    X(INTERNAL, 14, "Corrected Internal Error")                   \
    X(HL_OVERFLOW, 15, "Header Log Overflow")

enum {
#define PCIE_AER_X(name, bit, desc) PCIE_AER_UNCOR_##name = 1u << (bit),
    PCIE_AER_UNCOR_ERRORS(PCIE_AER_X)
#undef PCIE_AER_X
#define PCIE_AER_X(name, bit, desc) PCIE_AER_COR_##name = 1u << (bit),
    PCIE_AER_COR_ERRORS(PCIE_AER_X)
#undef PCIE_AER_X
};

/** The description of status bit @bit ("Bad TLP"), or NULL when the register defines none. */
const char *pcie_aer_error_name(bool correctable, unsigned bit);

/**
 * pcie_fn_aer_log:
 * An error detected by @fn: sets @uncor in its Uncorrectable and @cor in
 * its Correctable Error Status register (status bits are set whatever the
 * masks say, PCIe Base 6.2.4.2), and for the lowest unmasked uncorrectable
 * error sets the First Error Pointer when it points at no set status bit.
 * Not modelled: the header log, error messages to the root complex, the
 * root port's Root Error Status.  Returns FALSE (nothing logged) when @fn
 * has no AER capability.
 */
bool pcie_fn_aer_log(PcieFn *fn, uint32_t uncor, uint32_t cor);

/** Reads @fn's Uncorrectable / Correctable Error Status; FALSE without an AER capability. */
bool pcie_fn_aer_status(PcieFn *fn, uint32_t *uncor, uint32_t *cor);

/** The root port @fn's requests enter the root complex through, or NULL (root-bus functions). */
PcieFn *pcie_fn_root_port(PcieFn *fn);

typedef struct PcieSriovParams {
    uint16_t total_vfs;
    uint16_t initial_vfs;
    uint16_t first_vf_offset;
    uint16_t vf_stride;
    uint16_t vf_device_id;
    uint32_t supported_page_sizes;    /* bit n = 4 KiB << n; 0 means 0x553 */
    uint64_t vf_bar_size[6];          /* per-VF size of VF BARn (power of two, 0 = none) */
    uint8_t vf_bar_flags[6];          /* PCIE_BAR_* */
    /*
     * Called for each VF after it is created by VF Enable (the VF already
     * has its config space), so the PF's model can give it behaviour
     * (pcie_fn_set_ops, BAR ops, capabilities); and before it is removed.
     */
    void (*vf_added)(void *pf_opaque, PcieFn *pf, PcieFn *vf);
    void (*vf_removed)(void *pf_opaque, PcieFn *pf, PcieFn *vf);
} PcieSriovParams;

/**
 * SR-IOV capability; @params is copied.  first_vf_offset/vf_stride apply
 * while ARI Capable Hierarchy is set (or to a PF on the root bus); with it
 * clear, a PF below a port moves its VF layout up to the next bus
 * boundary (first_vf_offset plus a shift common to the PFs of the
 * device), see sriov.c.  At VF Enable the fabric
 * declares each VF's BARs from vf_bar_size/vf_bar_flags with no ops (reads
 * 0); vf_added may call pcie_fn_bar_init() with the same size to attach
 * MmioOps, and add capabilities (MSI-X, ...).
 */
uint16_t pcie_cap_sriov_init(PcieFn *fn, const PcieSriovParams *params);
/** Number of VFs currently enabled. */
unsigned pcie_fn_num_vfs(PcieFn *pf);
PcieFn *pcie_fn_vf(PcieFn *pf, unsigned index);
/** Per-VF size of VF BAR @idx (0..5) of SR-IOV PF @pf, 0 when absent or @pf has no SR-IOV. */
uint64_t pcie_fn_sriov_vf_bar_size(PcieFn *pf, unsigned idx);
/** Lets a PF's vf_added hook attach a model to a VF. */
void pcie_fn_set_ops(PcieFn *fn, const PcieFnOps *ops, void *opaque);

/* ---- BARs -------------------------------------------------------------- */

/**
 * pcie_fn_bar_init:
 * Declares BAR @idx (0..5; a 64-bit BAR also takes idx+1) of @size bytes
 * (a power of two, at least 16 for memory and 4 for I/O) served by @ops.
 * @ops may be NULL for a BAR whose content is entirely fabric-provided
 * (MSI-X table and PBA).  For VFs, @size must match the PF's VF BAR size.
 */
void pcie_fn_bar_init(PcieFn *fn, unsigned idx, uint64_t size, unsigned flags,
                      const MmioOps *ops, void *opaque);
/** Current decoded address of BAR @idx, or PCIE_BAR_UNMAPPED. */
uint64_t pcie_fn_bar_addr(PcieFn *fn, unsigned idx);
uint64_t pcie_fn_bar_size(PcieFn *fn, unsigned idx);

/* ---- device-side interrupts and DMA ------------------------------------ */

/**
 * pcie_fn_msi_notify:
 * Signals vector @vector.  With MSI-X enabled: unless the function or the
 * vector is masked (then the PBA bit is set and the message is sent when
 * unmasked), the table's address/data are written upstream.  With MSI
 * enabled: likewise with multi-message data and per-vector masks.  With
 * neither, nothing happens (a device should use INTx).
 */
void pcie_fn_msi_notify(PcieFn *fn, unsigned vector);
bool pcie_fn_msi_enabled(PcieFn *fn);
bool pcie_fn_msix_enabled(PcieFn *fn);
/** Sets the INTx line level (honours Interrupt Disable; updates Interrupt Status). */
void pcie_fn_set_intx(PcieFn *fn, bool level);

/** Upstream request attributes beyond address and length. */
typedef struct PcieDmaAttrs {
    bool pasid_present;
    uint32_t pasid;
    bool priv;
    bool exec;
    PcieAt at;
    uint8_t attr;   /* no-snoop/RO/IDO */
} PcieDmaAttrs;

/**
 * pcie_fn_dma_read / pcie_fn_dma_write:
 * A DMA transfer by @fn: split into requests of at most Max_Read_Request /
 * Max_Payload size that do not cross 4 KiB, each sent upstream to the root
 * complex.  Returns the first non-SC completion status (the remaining
 * requests are not sent), or SC.  Bus Master Enable clear gives UR
 * without anything leaving the function.  @attrs may be NULL.
 */
PcieCplStatus pcie_fn_dma_read(PcieFn *fn, uint64_t addr, void *buf, uint32_t len,
                               const PcieDmaAttrs *attrs);
PcieCplStatus pcie_fn_dma_write(PcieFn *fn, uint64_t addr, const void *buf, uint32_t len,
                                const PcieDmaAttrs *attrs);
/** Sends one already-built upstream request (tests, traces, ATS). */
PcieCplStatus pcie_fn_send(PcieFn *fn, PcieTlp *tlp, void *data);

/**
 * Downstream ATS/PRI messages from the root complex to @fn: an Invalidate
 * Request (returns whether an Invalidate Completion came back) and a PRG
 * Response.  Functions without the hooks never complete / ignore them.
 */
bool pcie_fn_ats_invalidate(PcieFn *fn, const PcieAtsInval *inv);
void pcie_fn_prg_response(PcieFn *fn, const PciePrgResponse *resp);

#endif
