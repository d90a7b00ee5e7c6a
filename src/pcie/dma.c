/*
 * The upstream path: DMA by a function and the root complex's handling of
 * the requests.
 *
 * A transfer is cut into requests the way a PCIe requester must: none
 * crosses a 4 KiB boundary, reads are at most Max_Read_Request_Size and
 * writes at most Max_Payload_Size (both from the function's Device
 * Control; a VF uses its PF's, whose fields govern the device).  Each
 * request gets the function's routing ID and the next tag (5-bit tags
 * unless Extended Tag Field Enable is set), plus PASID, privilege,
 * execute, AT and attribute bits from PcieDmaAttrs.
 *
 * A memory request leaves the function only while Bus Master Enable is
 * set on the function (and, for a VF, on its PF) and on every bridge
 * above it, which is how a Type 1 function gates upstream traffic;
 * otherwise the request ends as an Unsupported Request.
 *
 * At the root complex every memory write to the interrupt window
 * (0xFEE00000..0xFEEFFFFF) is an interrupt message and goes to
 * PcieRcOps.msi with the requester ID, never to mem_request (an IOMMU
 * doing interrupt remapping hooks msi).  Everything else goes to
 * PcieRcOps.mem_request, or, with none set, straight to the system memory
 * space, an address-space error becoming UR.  Without an IOMMU, AtomicOps
 * and translation requests are UR.
 *
 * AER (PCIe Base 6.x 6.2.3.2.4, 6.2.7, Table 6-5): when a memory request
 * ends badly, the agent that detects it logs it in its AER capability, if
 * it has one (aer_account): the requester logs Completion Timeout when no
 * completion came back and Poisoned TLP Received for a poisoned
 * completion; the completer - the root complex, logging in the root port
 * the request came through - logs Poisoned TLP Received for a poisoned
 * write, Unsupported Request or Completer Abort for a request it answered
 * so (for a non-posted request of non-fatal severity also as an Advisory
 * Non-Fatal Error, 6.2.3.2.4.1).  Not modelled: the requester's Received
 * Master/Target Abort bits in the PCI Status register, header logs, error
 * messages, VFs' errors (VFs have no AER capability here).
 */
#include <string.h>
#include "pcie/pcie_internal.h"

static bool bme(PcieFn *fn)
{
    return pcie_fn_get(fn, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
}

bool pcie_fn_bus_master(PcieFn *fn)
{
    if (!bme(fn) || (fn->pf && !bme(fn->pf))) {
        return false;
    }
    for (PcieFn *br = fn->parent; br; br = br->parent) {
        if (!bme(br)) {
            return false;
        }
    }
    return true;
}

static bool is_mem_request(PcieTlpType t)
{
    return t == PCIE_TLP_MRD || t == PCIE_TLP_MRDLK || t == PCIE_TLP_MWR ||
           t == PCIE_TLP_FETCHADD || t == PCIE_TLP_SWAP || t == PCIE_TLP_CAS;
}

/* AER logging of a request's bad outcome; see the file comment. */
static void aer_account(PcieFn *fn, const PcieTlp *t, PcieCplStatus st)
{
    bool posted = t->type == PCIE_TLP_MWR;
    if (t->cpl_timeout) {
        pcie_fn_aer_log(fn, PCIE_AER_UNCOR_COMP_TIME, 0);
        return;
    }
    PcieFn *rp = pcie_fn_root_port(fn->pf ? fn->pf : fn);
    if (t->poisoned) {
        if (!posted) {
            pcie_fn_aer_log(fn, PCIE_AER_UNCOR_POISON_TLP, 0);
        } else if (rp) {
            pcie_fn_aer_log(rp, PCIE_AER_UNCOR_POISON_TLP, 0);
        }
    }
    if ((st == PCIE_CPL_UR || st == PCIE_CPL_CA) && rp) {
        uint32_t bit = st == PCIE_CPL_UR ? PCIE_AER_UNCOR_UNSUP : PCIE_AER_UNCOR_COMP_ABORT;
        uint16_t c = pcie_fn_find_ext_cap(rp, PCI_EXT_CAP_ID_ERR);
        bool advisory = c && !posted && !(pcie_fn_get(rp, c + PCI_ERR_UNCOR_SEVER, 4) & bit);
        pcie_fn_aer_log(rp, bit, advisory ? PCIE_AER_COR_ADV_NONFATAL : 0);
    }
}

/* A request that left @fn: routed, then accounted for in AER when it ended badly. */
static PcieCplStatus upstream(PcieFn *fn, PcieTlp *tlp, void *data);

static PcieCplStatus rc_request(PcieFabric *f, PcieTlp *tlp, void *data)
{
    if (tlp->type == PCIE_TLP_MWR && tlp->addr >= PCIE_MSI_WINDOW_BASE &&
        tlp->addr < PCIE_MSI_WINDOW_BASE + PCIE_MSI_WINDOW_SIZE) {
        uint8_t b[4] = { 0 };
        memcpy(b, data, MIN(tlp->length, 4u));
        if (f->rc && f->rc->msi) {
            f->rc->msi(f->rc_opaque, tlp->requester_id, tlp->addr, pcie_le_get(b, 4));
        }
        return PCIE_CPL_SC;
    }
    if (f->rc && f->rc->mem_request) {
        return f->rc->mem_request(f->rc_opaque, tlp, data);
    }
    bool rd = tlp->type == PCIE_TLP_MRD || tlp->type == PCIE_TLP_MRDLK;
    bool ok = f->mem && (rd || tlp->type == PCIE_TLP_MWR) &&
              tlp->at != PCIE_AT_TRANSLATION_REQUEST;
    if (ok && tlp->length) {
        ok = addr_space_rw(f->mem, tlp->addr, data, tlp->length, !rd) == MEMTX_OK;
    }
    if (!ok && rd) {
        memset(data, 0xff, tlp->length);
    }
    return ok ? PCIE_CPL_SC : PCIE_CPL_UR;
}

PcieCplStatus pcie_fn_send(PcieFn *fn, PcieTlp *tlp, void *data)
{
    if (is_mem_request(tlp->type) && !pcie_fn_bus_master(fn)) {
        if (tlp->type != PCIE_TLP_MWR && data) {
            memset(data, 0xff, tlp->length);
        }
        return PCIE_CPL_UR;
    }
    return upstream(fn, tlp, data);
}

static PcieCplStatus upstream(PcieFn *fn, PcieTlp *tlp, void *data)
{
    PcieCplStatus st = rc_request(fn->fabric, tlp, data);
    if (st != PCIE_CPL_SC || tlp->poisoned || tlp->cpl_timeout) {
        aer_account(fn, tlp, st);
    }
    return st;
}

static uint16_t devctl(PcieFn *fn)
{
    PcieFn *g = fn->pf ? fn->pf : fn;
    if (!g->exp_cap) {
        return 0x2000;   /* 128-byte payload, 512-byte read requests */
    }
    return (uint16_t)pcie_fn_get(g, g->exp_cap + PCI_EXP_DEVCTL, 2);
}

static PcieCplStatus dma(PcieFn *fn, uint64_t addr, uint8_t *buf, uint32_t len,
                         const PcieDmaAttrs *attrs, bool write)
{
    if (!pcie_fn_bus_master(fn)) {
        if (!write) {
            memset(buf, 0xff, len);
        }
        return PCIE_CPL_UR;
    }
    uint16_t dc = devctl(fn);
    unsigned mps = 128u << MIN((dc >> PCI_EXP_DEVCTL_PAYLOAD_SHIFT) & 7, 5u);
    unsigned mrrs = 128u << MIN((dc >> PCI_EXP_DEVCTL_READRQ_SHIFT) & 7, 5u);
    unsigned max = write ? mps : mrrs;
    uint8_t tag_mask = (dc & PCI_EXP_DEVCTL_EXT_TAG) ? 0xff : 0x1f;
    uint16_t rid = pcie_fn_rid(fn);
    while (len) {
        uint32_t chunk = MIN(len, max);
        chunk = (uint32_t)MIN((uint64_t)chunk, 4096 - (addr & 0xfff));
        PcieTlp tlp = pcie_tlp_mem(write ? PCIE_TLP_MWR : PCIE_TLP_MRD, rid, addr, chunk);
        tlp.tag = fn->next_tag & tag_mask;
        fn->next_tag = (uint8_t)((fn->next_tag + 1) & tag_mask);
        if (attrs) {
            tlp.pasid_present = attrs->pasid_present;
            tlp.pasid = attrs->pasid & 0xfffff;
            tlp.priv = attrs->priv;
            tlp.exec = attrs->exec;
            tlp.at = attrs->at;
            tlp.attr = attrs->attr & 7;
        }
        PcieCplStatus st = upstream(fn, &tlp, buf);
        if (st != PCIE_CPL_SC) {
            if (!write) {
                memset(buf, 0xff, len);
            }
            return st;
        }
        addr += chunk;
        buf += chunk;
        len -= chunk;
    }
    return PCIE_CPL_SC;
}

PcieCplStatus pcie_fn_dma_read(PcieFn *fn, uint64_t addr, void *buf, uint32_t len,
                               const PcieDmaAttrs *attrs)
{
    return dma(fn, addr, buf, len, attrs, false);
}

PcieCplStatus pcie_fn_dma_write(PcieFn *fn, uint64_t addr, const void *buf, uint32_t len,
                                const PcieDmaAttrs *attrs)
{
    /* The buffer is only read on this path; the cast serves the shared helper. */
    return dma(fn, addr, (uint8_t *)(uintptr_t)buf, len, attrs, true);
}
