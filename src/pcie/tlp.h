/*
 * Transaction-layer packets, as the fabric carries them.
 *
 * A PcieTlp is the decoded form of one TLP header plus its prefixes: what
 * a protocol analyser would show.  Models build them for DMA (MRd/MWr),
 * interrupts (MWr to the interrupt window), ATS translation requests and
 * messages; the root complex answers with a completion status.  The
 * payload travels beside the TLP as a plain byte buffer.
 *
 * pcie_tlp_encode()/pcie_tlp_decode() convert to and from the wire format
 * (PCIe Base Spec 5.0 section 2.2: Fmt/Type, TC, Attr, TH, TD, EP, AT,
 * Length in DW, Requester ID, Tag, Last/First DW BE, 32- or 64-bit
 * address, and the PASID end-to-end TLP prefix) so that traces can carry
 * raw headers and hardware verification users can compare against an
 * analyser capture.
 */
#ifndef VTDSIM_PCIE_TLP_H
#define VTDSIM_PCIE_TLP_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>

typedef enum PcieTlpType {
    PCIE_TLP_MRD,       /* memory read request */
    PCIE_TLP_MRDLK,     /* locked memory read (legacy) */
    PCIE_TLP_MWR,       /* memory write request (posted) */
    PCIE_TLP_CFGRD0,
    PCIE_TLP_CFGWR0,
    PCIE_TLP_CFGRD1,
    PCIE_TLP_CFGWR1,
    PCIE_TLP_MSG,       /* message without data */
    PCIE_TLP_MSGD,      /* message with data */
    PCIE_TLP_CPL,       /* completion without data */
    PCIE_TLP_CPLD,      /* completion with data */
    PCIE_TLP_FETCHADD,  /* AtomicOp FetchAdd */
    PCIE_TLP_SWAP,      /* AtomicOp Swap */
    PCIE_TLP_CAS,       /* AtomicOp CompareAndSwap */
} PcieTlpType;

/* Completion status, PCIe Base Spec Table 2-34 (values as on the wire). */
typedef enum PcieCplStatus {
    PCIE_CPL_SC = 0,    /* Successful Completion */
    PCIE_CPL_UR = 1,    /* Unsupported Request */
    PCIE_CPL_CRS = 2,   /* Configuration Request Retry Status */
    PCIE_CPL_CA = 4,    /* Completer Abort */
} PcieCplStatus;

/* Address Type field, TLP header bits [11:10] of byte 2 (PCIe Base 10.2.1). */
typedef enum PcieAt {
    PCIE_AT_UNTRANSLATED = 0,
    PCIE_AT_TRANSLATION_REQUEST = 1,
    PCIE_AT_TRANSLATED = 2,
} PcieAt;

typedef struct PcieTlp {
    PcieTlpType type;
    bool addr64;            /* 4DW header (64-bit address) */
    uint16_t requester_id;  /* bus[15:8] dev[7:3] fn[2:0] */
    uint16_t completer_id;  /* completions only */
    uint8_t tag;
    uint8_t tc;             /* traffic class 0..7 */
    uint8_t attr;           /* bit0 no-snoop, bit1 relaxed ordering, bit2 ID-based ordering */
    PcieAt at;
    bool poisoned;          /* EP */
    bool cpl_timeout;       /* non-posted requests: no completion came back (the
                             * requester's Completion Timeout ended the request) */
    uint64_t addr;          /* byte address (low 2 bits derived from first_be on the wire) */
    uint32_t length;        /* payload or requested bytes */
    uint8_t first_be, last_be;
    bool pasid_present;     /* PASID TLP prefix */
    uint32_t pasid;         /* 20 bits */
    bool priv;              /* privileged mode requested */
    bool exec;              /* execute requested */
    PcieCplStatus status;   /* completions; also the answer to a request */
    uint8_t msg_code;       /* messages */
    uint16_t byte_count;    /* completions (1..4096; 4096 is 0 on the wire) */
    uint8_t msg_routing;    /* messages: routing subfield, Type[2:0] (0 = to the root complex) */
} PcieTlp;

const char *pcie_tlp_type_name(PcieTlpType t);
const char *pcie_cpl_status_name(PcieCplStatus s);

/**
 * pcie_tlp_mem:
 * Builds a memory request of @len bytes at @addr from @rid, computing
 * addr64 and the byte enables the way a requester must (first/last DW BE
 * from the address and length; last_be = 0 for a one-DW request).
 */
PcieTlp pcie_tlp_mem(PcieTlpType type, uint16_t rid, uint64_t addr, uint32_t len);

/**
 * pcie_tlp_encode:
 * Writes the header (3 or 4 DW) into @dw, preceded by a PASID prefix DW
 * when pasid_present.  Returns the number of DWs written (at most 5).
 * Lengths are rounded up to whole DWs; a length of 4096 bytes encodes as 0.
 */
unsigned pcie_tlp_encode(const PcieTlp *tlp, uint32_t dw[5]);

/**
 * pcie_tlp_decode:
 * Parses @n DWs produced by pcie_tlp_encode() or captured from a link.
 * Returns FALSE and sets @error (naming the field) for malformed input.
 */
gboolean pcie_tlp_decode(const uint32_t *dw, unsigned n, PcieTlp *out, GError **error);

/** Formats @tlp on one line, e.g. "MRd64 rid=01:00.0 tag=3 addr=0x1000 len=64 pasid=5 AT=U". */
void pcie_tlp_format(const PcieTlp *tlp, GString *out);

#endif
