/*
 * A configurable PCIe endpoint: the device a platform file describes when
 * it needs "a NIC with SR-IOV, ATS and PASID" or "a multifunction device
 * without ACS" rather than a particular product.
 *
 * What it models: config space identity (vendor, device, class, revision,
 * subsystem), up to six BARs of any type backed by sparse device memory
 * (reads return what was written, so software can use them as scratch
 * registers), and any mix of the MSI, MSI-X, ACS, ARI, ATS, PRI, PASID,
 * AER and SR-IOV capabilities.  Its VFs are endpoints of the same kind
 * (BARs from the VF BAR registers, MSI-X, ATS and PASID if the PF has
 * them).  It has no DMA engine of its own: traces and tests make it issue
 * requests with endpoint_dma(), which behaves like a real ATS-capable
 * device: with ATS enabled it looks the page up in its device TLB, asks
 * the translation agent on a miss, sends translated requests, and with PRI
 * enabled sends a page request when the translation grants no access.
 * Invalidate Requests drop device-TLB entries and are always completed;
 * PRG responses are recorded for the caller.
 */
#ifndef VTDSIM_MODELS_ENDPOINT_H
#define VTDSIM_MODELS_ENDPOINT_H

#include "pcie/pcie.h"

typedef struct EndpointBar {
    uint64_t size;       /* 0 = unused */
    unsigned flags;      /* PCIE_BAR_* */
} EndpointBar;

typedef struct EndpointParams {
    PcieFnKind kind;     /* PCIE_KIND_ENDPOINT or PCIE_KIND_RC_INTEGRATED */
    uint16_t vendor, device;
    uint32_t class_code;
    uint8_t revision;
    uint16_t subsys_vendor, subsys_id;
    EndpointBar bar[6];
    unsigned msi_vectors;        /* 0 = no MSI capability */
    bool msi_64bit, msi_maskable;
    unsigned msix_vectors;       /* 0 = no MSI-X; table and PBA in their own BAR */
    unsigned msix_bar;           /* BAR index for the MSI-X table and PBA */
    bool acs;
    uint16_t acs_cap;            /* ACS capability bits when acs */
    bool ari;
    uint8_t ari_next_fn;
    bool ats;
    unsigned ats_invq;
    unsigned pasid_width;        /* 0 = no PASID capability */
    bool pasid_exec, pasid_priv;
    uint32_t pri_capacity;       /* 0 = no PRI */
    bool aer;
    uint16_t sriov_total_vfs;    /* 0 = no SR-IOV */
    uint16_t sriov_offset, sriov_stride, sriov_vf_device;
    EndpointBar sriov_vf_bar[6];
} EndpointParams;

/** Number of device-TLB entries of an ATS-capable endpoint. */
#define ENDPOINT_DEVTLB_ENTRIES 64

/** What happened to one endpoint_dma() call, for logs and tests. */
typedef struct EndpointDmaInfo {
    bool used_ats;           /* ATS was enabled: translated requests were sent */
    unsigned devtlb_hits;    /* pages served from the device TLB */
    unsigned translations;   /* translation requests sent */
    bool page_request_sent;  /* a page was not accessible and a PRI request went out */
    uint64_t last_translated;/* translated address of the last page touched */
} EndpointDmaInfo;

/**
 * endpoint_dma:
 * A DMA of @len bytes at @addr by the endpoint @fn (created by
 * endpoint_new(), or one of its VFs), as described above.  Returns the
 * first non-successful completion status, or SC.  A page with no access
 * and PRI enabled returns UR after sending the page request (the device
 * would retry after the PRG response).  @info may be NULL.
 */
PcieCplStatus endpoint_dma(PcieFn *fn, uint64_t addr, void *buf, uint32_t len, bool write,
                           const PcieDmaAttrs *attrs, EndpointDmaInfo *info);

/** The device TLB of @fn, or NULL when it has no ATS capability. */
struct PcieDevTlb *endpoint_devtlb(PcieFn *fn);

/** PRG responses received so far (oldest first), as PciePrgResponse; owned by the endpoint. */
const GArray *endpoint_prg_responses(PcieFn *fn);

/** Fills @p with a plain endpoint: 8086:0000, class 0xff0000, one 16 KiB 64-bit BAR. */
void endpoint_params_default(EndpointParams *p);

/**
 * endpoint_new:
 * Creates the endpoint at @devfn below @parent (NULL: root bus).  The fabric
 * owns it.  Returns NULL with @error for an invalid configuration (a BAR
 * size that is not a power of two, MSI-X in a missing BAR, ...).
 */
PcieFn *endpoint_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, const EndpointParams *p,
                     GError **error);

#endif
