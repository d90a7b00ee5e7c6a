/*
 * Capability lists and the standard capability builders.
 *
 * Capabilities are appended: conventional ones from 0x40 up to 0xff,
 * chained from the Capabilities Pointer (0x34); extended ones from 0x100
 * up to 0xfff, chained through the Next Capability Offset field (bits
 * 31:20 of each header).  The walkers never trust the chain: a pointer
 * outside the region, or a list longer than the space could hold, ends
 * the walk, so a malformed or looping list written by a model (or
 * corrupted by a test) cannot hang the simulator.
 *
 * Each builder writes the register layout of the PCIe Base Specification
 * 5.0 (PCI Local Bus 3.0 for PM/MSI/MSI-X) with its reset values and
 * declares the writable and write-1-to-clear bits as data.  Values chosen
 * where the spec leaves a choice are noted beside them.
 */
#include <string.h>
#include "pcie/pcie_internal.h"

uint8_t pcie_fn_find_cap(PcieFn *fn, uint8_t id)
{
    if (!(pcie_fn_get(fn, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST)) {
        return 0;
    }
    uint8_t off = fn->config[PCI_CAPABILITY_LIST] & 0xfc;
    for (unsigned n = 0; n < PCIE_CAP_WALK_MAX && off >= 0x40; n++) {
        if (fn->config[off] == id) {
            return off;
        }
        off = fn->config[off + 1] & 0xfc;
    }
    return 0;
}

uint16_t pcie_fn_find_ext_cap(PcieFn *fn, uint16_t id)
{
    uint16_t off = 0x100;
    for (unsigned n = 0; n < PCIE_EXT_CAP_WALK_MAX && off >= 0x100; n++) {
        uint32_t hdr = pcie_fn_get(fn, off, 4);
        if (hdr == 0 || hdr == 0xffffffffu) {
            return 0;
        }
        if ((hdr & 0xffff) == id) {
            return off;
        }
        off = (hdr >> 20) & 0xffc;
    }
    return 0;
}

uint8_t pcie_fn_add_cap(PcieFn *fn, uint8_t id, uint8_t size)
{
    if (fn->cap_free == 0) {
        fn->cap_free = 0x40;
    }
    unsigned off = fn->cap_free;
    g_assert(size >= 2 && off + size <= 0x100);
    memset(fn->config + off, 0, size);
    fn->config[off] = id;
    fn->config[off + 1] = 0;
    if (fn->cap_tail) {
        fn->config[fn->cap_tail + 1] = (uint8_t)off;
    } else {
        fn->config[PCI_CAPABILITY_LIST] = (uint8_t)off;
        pcie_fn_set(fn, PCI_STATUS, 2, pcie_fn_get(fn, PCI_STATUS, 2) | PCI_STATUS_CAP_LIST);
    }
    fn->cap_tail = (uint8_t)off;
    fn->cap_free = (uint16_t)((off + size + 3u) & ~3u);
    return (uint8_t)off;
}

uint16_t pcie_fn_add_ext_cap(PcieFn *fn, uint16_t id, uint8_t version, uint16_t size)
{
    if (fn->ext_free == 0) {
        fn->ext_free = 0x100;
    }
    unsigned off = fn->ext_free;
    g_assert(size >= 4 && off + size <= PCIE_CONFIG_SIZE && version < 16);
    memset(fn->config + off, 0, size);
    pcie_fn_set(fn, off, 4, id | ((uint32_t)version << 16));
    if (fn->ext_tail) {
        uint32_t h = pcie_fn_get(fn, fn->ext_tail, 4);
        pcie_fn_set(fn, fn->ext_tail, 4, (h & 0xfffff) | ((uint32_t)off << 20));
    }
    fn->ext_tail = (uint16_t)off;
    fn->ext_free = (uint16_t)((off + size + 3u) & ~3u);
    return (uint16_t)off;
}

/* ---- PCI Express capability (PCIe Base 5.0 section 7.5.3) ----------------- */

static bool kind_is_downstream_port(PcieFnKind k)
{
    return k == PCIE_KIND_ROOT_PORT || k == PCIE_KIND_SWITCH_DOWN;
}

void pcie_cap_exp_init(PcieFn *fn)
{
    uint8_t c = pcie_fn_add_cap(fn, PCI_CAP_ID_EXP, PCI_EXP_SIZEOF);
    PcieFnKind k = fn->kind;
    bool dport = kind_is_downstream_port(k);
    bool has_link = k != PCIE_KIND_RC_INTEGRATED;
    fn->exp_cap = c;

    /* Capability Version 2; Slot Implemented on downstream ports. */
    pcie_fn_set(fn, c + PCI_EXP_FLAGS, 2, 0x2 | ((k & 0xf) << 4) | (dport ? 0x100 : 0));

    /* Device Capabilities: Max_Payload_Size Supported, Role-Based Error Reporting.
     * Function Level Reset Capability is the model's choice (pcie_fn_set_flr_capable). */
    pcie_fn_set(fn, c + PCI_EXP_DEVCAP, 4, PCIE_DEFAULT_MPSS | 0x8000);
    /* Device Control: error reporting enables (3:0), Relaxed Ordering (4), MPS (7:5),
     * Extended Tag (8), No Snoop (11), MRRS (14:12).  Reset: RO and NS set,
     * MPS 128 bytes, MRRS 512 bytes.  Initiate FLR (15) always reads 0; the write
     * is seen by pcie_fn_config_write(). */
    pcie_fn_set(fn, c + PCI_EXP_DEVCTL, 2, 0x2810);
    pcie_fn_set_masks(fn, c + PCI_EXP_DEVCTL, 2, 0x79ff, 0);
    /* Device Status: the four error-detected bits are RW1C. */
    pcie_fn_set_masks(fn, c + PCI_EXP_DEVSTA, 2, 0, 0x000f);

    if (has_link) {
        /* Link Capabilities: 8.0 GT/s (Gen3) x8, ASPM optionality compliance;
         * Data Link Layer Link Active Reporting on downstream ports. */
        uint32_t lnkcap = 0x3 | (8u << 4) | (1u << 22) | (dport ? (1u << 20) : 0);
        pcie_fn_set(fn, c + PCI_EXP_LNKCAP, 4, lnkcap);
        /* Link Control: ASPM (1:0), RCB (3), Common Clock (6), Extended Synch (7),
         * Clock PM (8), HW Autonomous Width Disable (9), bandwidth interrupts (11:10);
         * Link Disable (4) and Retrain (5) on downstream ports. */
        pcie_fn_set_masks(fn, c + PCI_EXP_LNKCTL, 2, 0x0fcb | (dport ? 0x0030 : 0), 0);
        /* Link Status: trained at 8.0 GT/s x8, Slot Clock Configuration; DLL Link
         * Active and the RW1C bandwidth status bits on downstream ports. */
        pcie_fn_set(fn, c + PCI_EXP_LNKSTA, 2, 0x3 | (8u << 4) | 0x1000 | (dport ? 0x2000 : 0));
        pcie_fn_set_masks(fn, c + PCI_EXP_LNKSTA, 2, 0, dport ? 0xc000 : 0);
        /* Link Capabilities 2: Supported Link Speeds 2.5, 5.0 and 8.0 GT/s. */
        pcie_fn_set(fn, c + PCI_EXP_LNKCAP2, 4, 0x0e);
        /* Link Control 2: Target Link Speed 8.0 GT/s and the compliance bits. */
        pcie_fn_set(fn, c + PCI_EXP_LNKCTL2, 2, 0x3);
        pcie_fn_set_masks(fn, c + PCI_EXP_LNKCTL2, 2, 0x0fff, 0);
    }
    if (dport) {
        /* Slot Capabilities: no hot-plug; Physical Slot Number = device/port number. */
        pcie_fn_set(fn, c + PCI_EXP_SLTCAP, 4, (uint32_t)(fn->devfn >> 3) << 19);
        pcie_fn_set_masks(fn, c + PCI_EXP_SLTCTL, 2, 0x1fff, 0);
        /* Slot Status: Presence Detect State reads 1; event bits RW1C. */
        pcie_fn_set(fn, c + PCI_EXP_SLTSTA, 2, 0x0040);
        pcie_fn_set_masks(fn, c + PCI_EXP_SLTSTA, 2, 0, 0x011f);
    }
    if (k == PCIE_KIND_ROOT_PORT) {
        /* Root Control: System Error on Correctable/Non-Fatal/Fatal, PME Interrupt,
         * CRS Software Visibility Enable. */
        pcie_fn_set_masks(fn, c + PCI_EXP_RTCTL, 2, 0x001f, 0);
        pcie_fn_set(fn, c + PCI_EXP_RTCAP, 2, 0x0001);
        /* Root Status: PME Status (bit 16) RW1C. */
        pcie_fn_set_masks(fn, c + PCI_EXP_RTSTA, 4, 0, 0x00010000);
    }
    /* Device Capabilities 2: Completion Timeout Ranges A-D and Disable Supported;
     * ARI Forwarding Supported on downstream ports. */
    pcie_fn_set(fn, c + PCI_EXP_DEVCAP2, 4, 0x1f | (dport ? PCI_EXP_DEVCAP2_ARI : 0));
    /* Device Control 2: Completion Timeout Value/Disable, IDO request/completion,
     * LTR; ARI Forwarding Enable on downstream ports. */
    pcie_fn_set_masks(fn, c + PCI_EXP_DEVCTL2, 2,
                      0x071f | (dport ? PCI_EXP_DEVCTL2_ARI : 0), 0);
}

void pcie_fn_set_flr_capable(PcieFn *fn, bool on)
{
    g_assert(fn->exp_cap);
    uint32_t cap = pcie_fn_get(fn, fn->exp_cap + PCI_EXP_DEVCAP, 4);
    cap = on ? (cap | PCI_EXP_DEVCAP_FLR) : (cap & ~(uint32_t)PCI_EXP_DEVCAP_FLR);
    pcie_fn_set(fn, fn->exp_cap + PCI_EXP_DEVCAP, 4, cap);
    if (fn->reset_config) {
        pcie_le_set(fn->reset_config + fn->exp_cap + PCI_EXP_DEVCAP, 4, cap);
    }
}

/* ---- Power Management (PCI Bus Power Management 1.2) ------------------------ */

uint8_t pcie_cap_pm_init(PcieFn *fn)
{
    uint8_t c = pcie_fn_add_cap(fn, PCI_CAP_ID_PM, PCI_PM_SIZEOF);
    fn->pm_cap = c;
    pcie_fn_set(fn, c + PCI_PM_PMC, 2, 0x0003);          /* Version 3, D0/D3hot only */
    pcie_fn_set(fn, c + PCI_PM_CTRL, 2, 0x0008);         /* No_Soft_Reset */
    pcie_fn_set_masks(fn, c + PCI_PM_CTRL, 2, 0x0103, 0x8000); /* PowerState, PME_En; PME_Status */
    return c;
}

/* ---- MSI (PCI Local Bus 3.0 section 6.8.1) ---------------------------------- */

uint8_t pcie_cap_msi_init(PcieFn *fn, unsigned nvectors, bool addr64, bool per_vector_mask)
{
    g_assert(nvectors >= 1 && nvectors <= 32 && (nvectors & (nvectors - 1)) == 0);
    unsigned mmc = (unsigned)g_bit_storage(nvectors) - 1;
    uint8_t size = addr64 ? (per_vector_mask ? 0x18 : 0x0e) : (per_vector_mask ? 0x14 : 0x0a);
    uint8_t c = pcie_fn_add_cap(fn, PCI_CAP_ID_MSI, size);
    fn->msi_cap = c;
    uint16_t ctrl = (uint16_t)(mmc << 1) | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) |
                    (per_vector_mask ? PCI_MSI_FLAGS_MASKBIT : 0);
    pcie_fn_set(fn, c + PCI_MSI_FLAGS, 2, ctrl);
    pcie_fn_set_masks(fn, c + PCI_MSI_FLAGS, 2, PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE, 0);
    pcie_fn_set_masks(fn, c + PCI_MSI_ADDRESS_LO, 4, 0xfffffffc, 0);
    uint8_t data = addr64 ? 0x0c : 0x08;
    if (addr64) {
        pcie_fn_set_masks(fn, c + 0x08, 4, 0xffffffff, 0);
    }
    pcie_fn_set_masks(fn, c + data, 2, 0xffff, 0);
    if (per_vector_mask) {
        uint32_t vmask = nvectors == 32 ? 0xffffffffu : (1u << nvectors) - 1;
        pcie_fn_set_masks(fn, c + data + 4, 4, vmask, 0);  /* Mask Bits; Pending is RO */
    }
    return c;
}

/* ---- MSI-X ----------------------------------------------------------------- */

uint8_t pcie_cap_msix_init(PcieFn *fn, unsigned nvectors, unsigned table_bar,
                           uint32_t table_off, unsigned pba_bar, uint32_t pba_off)
{
    g_assert(nvectors >= 1 && nvectors <= 2048);
    g_assert(table_bar < 6 && pba_bar < 6 && !(table_off & 7) && !(pba_off & 7));
    g_assert(fn->bars[table_bar].size >= table_off + nvectors * PCI_MSIX_ENTRY_SIZE);
    g_assert(fn->bars[pba_bar].size >= pba_off + ((nvectors + 63) / 64) * 8);
    uint8_t c = pcie_fn_add_cap(fn, PCI_CAP_ID_MSIX, 12);
    fn->msix_cap = c;
    fn->msix_n = nvectors;
    fn->msix_table_bar = table_bar;
    fn->msix_table_off = table_off;
    fn->msix_pba_bar = pba_bar;
    fn->msix_pba_off = pba_off;
    fn->msix_table = g_malloc0((size_t)nvectors * PCI_MSIX_ENTRY_SIZE);
    fn->msix_pba = g_malloc0(((nvectors + 63) / 64) * 8);
    pcie_msix_reset(fn);
    pcie_fn_set(fn, c + PCI_MSIX_FLAGS, 2, (uint16_t)(nvectors - 1));
    pcie_fn_set_masks(fn, c + PCI_MSIX_FLAGS, 2, PCI_MSIX_FLAGS_ENABLE | PCI_MSIX_FLAGS_MASKALL, 0);
    pcie_fn_set(fn, c + PCI_MSIX_TABLE, 4, table_off | table_bar);
    pcie_fn_set(fn, c + PCI_MSIX_PBA, 4, pba_off | pba_bar);
    /* A BAR that was already decoding must now route table/PBA accesses here. */
    for (unsigned i = 0; i < 6; i++) {
        if (fn->bars[i].region && pcie_msix_bar_has(fn, i)) {
            pcie_fn_bar_unmap(&fn->bars[i]);
        }
    }
    pcie_fn_bar_decode(fn);
    return c;
}

/* ---- extended capabilities -------------------------------------------------- */

uint16_t pcie_cap_acs_init(PcieFn *fn, uint16_t acs_cap)
{
    acs_cap &= 0x7f;
    bool ec = acs_cap & PCI_ACS_EC;
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_ACS, 1, ec ? 12 : 8);
    /* With Egress Control, a 32-bit Egress Control Vector (Vector Size 32). */
    pcie_fn_set(fn, c + PCI_ACS_CAP, 2, acs_cap | (ec ? (32u << 8) : 0));
    pcie_fn_set_masks(fn, c + PCI_ACS_CTRL, 2, acs_cap, 0);
    if (ec) {
        pcie_fn_set_masks(fn, c + PCI_ACS_EGRESS_CTL_V, 4, 0xffffffff, 0);
    }
    return c;
}

uint16_t pcie_cap_ari_init(PcieFn *fn, uint8_t next_fn)
{
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_ARI, 1, 8);
    fn->ari_cap = c;
    /* No MFVC or ACS Function Groups: ARI Control is read-only zero. */
    pcie_fn_set(fn, c + PCI_ARI_CAP, 2, (uint16_t)next_fn << 8);
    return c;
}

uint16_t pcie_cap_ats_init(PcieFn *fn, unsigned invq_depth, bool page_aligned)
{
    g_assert(invq_depth <= 32);
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_ATS, 1, 8);
    pcie_fn_set(fn, c + PCI_ATS_CAP, 2, (invq_depth & 0x1f) | (page_aligned ? 0x20 : 0));
    /* ATS Control: Enable (15) and Smallest Translation Unit (4:0). */
    pcie_fn_set_masks(fn, c + PCI_ATS_CTRL, 2, PCI_ATS_CTRL_ENABLE | 0x1f, 0);
    return c;
}

uint16_t pcie_cap_pri_init(PcieFn *fn, uint32_t outstanding_capacity)
{
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_PRI, 1, 0x10);
    /* PRI Control: Enable, Reset.  Status: Response Failure and Unexpected PRG Index
     * RW1C; Stopped reads 1 while disabled. */
    pcie_fn_set_masks(fn, c + PCI_PRI_CTRL, 2, 0x0003, 0);
    pcie_fn_set(fn, c + PCI_PRI_STATUS, 2, 0x0100);
    pcie_fn_set_masks(fn, c + PCI_PRI_STATUS, 2, 0, 0x0003);
    pcie_fn_set(fn, c + PCI_PRI_MAX_REQ, 4, outstanding_capacity);
    pcie_fn_set_masks(fn, c + PCI_PRI_ALLOC_REQ, 4, 0xffffffff, 0);
    return c;
}

uint16_t pcie_cap_pasid_init(PcieFn *fn, unsigned width, bool exec, bool priv)
{
    g_assert(width >= 1 && width <= 20);
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_PASID, 1, 8);
    pcie_fn_set(fn, c + PCI_PASID_CAP, 2, (exec ? 0x2 : 0) | (priv ? 0x4 : 0) | (width << 8));
    pcie_fn_set_masks(fn, c + PCI_PASID_CTRL, 2, 0x1 | (exec ? 0x2 : 0) | (priv ? 0x4 : 0), 0);
    return c;
}

static const char *const aer_uncor_names[32] = {
#define PCIE_AER_X(name, bit, desc) [bit] = desc,
    PCIE_AER_UNCOR_ERRORS(PCIE_AER_X)
#undef PCIE_AER_X
};
static const char *const aer_cor_names[32] = {
#define PCIE_AER_X(name, bit, desc) [bit] = desc,
    PCIE_AER_COR_ERRORS(PCIE_AER_X)
#undef PCIE_AER_X
};

const char *pcie_aer_error_name(bool correctable, unsigned bit)
{
    return bit < 32 ? (correctable ? aer_cor_names : aer_uncor_names)[bit] : NULL;
}

bool pcie_fn_aer_status(PcieFn *fn, uint32_t *uncor, uint32_t *cor)
{
    uint16_t c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ERR);
    if (!c) {
        return false;
    }
    *uncor = pcie_fn_get(fn, c + PCI_ERR_UNCOR_STATUS, 4);
    *cor = pcie_fn_get(fn, c + PCI_ERR_COR_STATUS, 4);
    return true;
}

bool pcie_fn_aer_log(PcieFn *fn, uint32_t uncor, uint32_t cor)
{
    uint16_t c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ERR);
    if (!c) {
        return false;
    }
    if (uncor) {
        uint32_t sta = pcie_fn_get(fn, c + PCI_ERR_UNCOR_STATUS, 4);
        uint32_t unmasked = uncor & ~pcie_fn_get(fn, c + PCI_ERR_UNCOR_MASK, 4);
        uint32_t cap = pcie_fn_get(fn, c + PCI_ERR_CAP, 4);
        if (unmasked && !(sta & (1u << (cap & PCI_ERR_CAP_FEP_MASK)))) {
            /* the First Error Pointer (bits 4:0) names the first error reported */
            cap = (cap & ~(uint32_t)PCI_ERR_CAP_FEP_MASK) | (uint32_t)g_bit_nth_lsf(unmasked, -1);
            pcie_fn_set(fn, c + PCI_ERR_CAP, 4, cap);
        }
        pcie_fn_set(fn, c + PCI_ERR_UNCOR_STATUS, 4, sta | uncor);
    }
    if (cor) {
        pcie_fn_set(fn, c + PCI_ERR_COR_STATUS, 4, pcie_fn_get(fn, c + PCI_ERR_COR_STATUS, 4) | cor);
    }
    return true;
}

PcieFn *pcie_fn_root_port(PcieFn *fn)
{
    for (PcieFn *p = fn->parent; p; p = p->parent) {
        if (p->kind == PCIE_KIND_ROOT_PORT) {
            return p;
        }
    }
    return NULL;
}

uint16_t pcie_cap_aer_init(PcieFn *fn)
{
    uint16_t c = pcie_fn_add_ext_cap(fn, PCI_EXT_CAP_ID_ERR, 2, PCI_ERR_SIZEOF);
    /* Uncorrectable: DLP (4), SDES (5), Poisoned TLP (12) .. AtomicOp Egress Blocked (24). */
    const uint32_t uncor = 0x01fff030;
    pcie_fn_set_masks(fn, c + PCI_ERR_UNCOR_STATUS, 4, 0, uncor);
    pcie_fn_set_masks(fn, c + PCI_ERR_UNCOR_MASK, 4, uncor, 0);
    pcie_fn_set(fn, c + PCI_ERR_UNCOR_SEVER, 4, 0x00462030);
    pcie_fn_set_masks(fn, c + PCI_ERR_UNCOR_SEVER, 4, uncor, 0);
    /* Correctable: Receiver Error (0), Bad TLP/DLLP (6, 7), REPLAY_NUM Rollover (8),
     * Replay Timer Timeout (12), Advisory Non-Fatal (13), internal (14), log overflow (15). */
    const uint32_t cor = 0x0000f1c1;
    pcie_fn_set_masks(fn, c + PCI_ERR_COR_STATUS, 4, 0, cor);
    pcie_fn_set(fn, c + PCI_ERR_COR_MASK, 4, 0x00002000);
    pcie_fn_set_masks(fn, c + PCI_ERR_COR_MASK, 4, cor, 0);
    if (fn->kind == PCIE_KIND_ROOT_PORT) {
        pcie_fn_set_masks(fn, c + PCI_ERR_ROOT_COMMAND, 4, 0x7, 0);
        pcie_fn_set_masks(fn, c + PCI_ERR_ROOT_STATUS, 4, 0, 0x7f);
    }
    return c;
}
