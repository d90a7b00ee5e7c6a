/*
 * ATS and PRI, device side; see ats.h.  The completion entry layout is
 * PCIe Base 5.0 figure 10-10: R bit 0, W bit 1, U bit 2, Exe bit 3, Priv
 * bit 4, Global bit 5, N bit 10, S bit 11, Translated Address 63:12.
 * With S set, the position of the lowest 0 among address bits 63:12 gives
 * the size: bit 12 clear means 8 KiB, bits 12..19 set and 20 clear 2 MiB.
 */
#include <string.h>
#include "pcie/ats.h"
#include "pcie/pcie_internal.h"

#define LOG_PREFIX "ats"
#include "core/log.h"

enum {
    ATS_R = 1u << 0, ATS_W = 1u << 1, ATS_U = 1u << 2, ATS_EXE = 1u << 3,
    ATS_PRIV = 1u << 4, ATS_GLOBAL = 1u << 5, ATS_N = 1u << 10, ATS_S = 1u << 11,
};

/* ATS extended capability registers (PCIe Base 7.8.3) */
#define ATS_CTRL 0x6
#define ATS_CTRL_ENABLE 0x8000u
/* PRI extended capability registers (PCIe Base 10.5.2) */
#define PRI_CTRL 0x4
#define PRI_CTRL_ENABLE 0x1u
#define PRI_STATUS 0x6
#define PRI_STATUS_RF 0x1u       /* Response Failure */
#define PRI_STATUS_UPRGI 0x2u    /* Unexpected Page Request Group Index */
#define PRI_ALLOC 0xc

uint64_t pcie_ats_encode(const PcieAtsEntry *e)
{
    uint64_t size = e->size < 4096 ? 4096 : e->size;
    if (size == UINT64_MAX) {
        /* everything: S with address bits 62:12 set */
        return 0x7ffffffffffff000ull | ATS_S;
    }
    uint64_t v = e->addr & ~(size - 1) & ~0xfffull;
    if (size > 4096) {
        /* ones below the size bit, a zero at it: 8K -> bit 12 = 0 */
        v |= ATS_S | (((size >> 1) - 1) & ~0xfffull);
    }
    v |= (e->r ? ATS_R : 0) | (e->w ? ATS_W : 0) | (e->u ? ATS_U : 0) | (e->x ? ATS_EXE : 0) |
         (e->priv ? ATS_PRIV : 0) | (e->global ? ATS_GLOBAL : 0) | (e->n ? ATS_N : 0);
    return v;
}

PcieAtsEntry pcie_ats_decode(uint64_t raw)
{
    PcieAtsEntry e = {
        .r = raw & ATS_R, .w = raw & ATS_W, .u = raw & ATS_U, .x = raw & ATS_EXE,
        .priv = raw & ATS_PRIV, .global = raw & ATS_GLOBAL, .n = raw & ATS_N,
    };
    uint64_t a = raw & ~0xfffull;
    e.size = 4096;
    if (raw & ATS_S) {
        unsigned bit = 12;
        while (bit < 63 && (a >> bit) & 1) {
            bit++;
        }
        if (bit >= 63) {
            /* address bits 62:12 all ones: the whole address space (10.3.1) */
            e.size = UINT64_MAX;
            e.addr = 0;
            return e;
        }
        e.size = 1ull << (bit + 1);
    }
    e.addr = a & ~(e.size - 1);
    return e;
}

static uint16_t ats_cap(PcieFn *fn)
{
    return pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ATS);
}

static uint16_t pri_cap(PcieFn *fn)
{
    /* VFs share their PF's PRI (PCIe Base 10.5) */
    PcieFn *g = fn->pf ? fn->pf : fn;
    return pcie_fn_find_ext_cap(g, PCI_EXT_CAP_ID_PRI);
}

bool pcie_fn_ats_enabled(PcieFn *fn)
{
    uint16_t c = ats_cap(fn);
    return c && (pcie_fn_get(fn, c + ATS_CTRL, 2) & ATS_CTRL_ENABLE);
}

bool pcie_fn_pri_enabled(PcieFn *fn)
{
    PcieFn *g = fn->pf ? fn->pf : fn;
    uint16_t c = pri_cap(fn);
    return c && (pcie_fn_get(g, c + PRI_CTRL, 2) & PRI_CTRL_ENABLE);
}

PcieCplStatus pcie_fn_ats_translate(PcieFn *fn, uint64_t addr, const PcieDmaAttrs *attrs,
                                    bool no_write, PcieAtsEntry *out)
{
    memset(out, 0, sizeof *out);
    if (!pcie_fn_ats_enabled(fn)) {
        emu_guest_error("%s: translation request with ATS disabled; not sent",
                        pcie_fn_name(fn));
        return PCIE_CPL_UR;
    }
    /* one entry: an 8-byte read of the page, NW carried in the low address bit */
    PcieTlp tlp = pcie_tlp_mem(PCIE_TLP_MRD, pcie_fn_rid(fn), addr & ~0xfffull, 8);
    tlp.at = PCIE_AT_TRANSLATION_REQUEST;
    tlp.addr |= no_write ? 1 : 0;
    if (attrs) {
        tlp.pasid_present = attrs->pasid_present;
        tlp.pasid = attrs->pasid & 0xfffff;
        tlp.priv = attrs->priv;
        tlp.exec = attrs->exec;
    }
    uint8_t b[8];
    PcieCplStatus st = pcie_fn_send(fn, &tlp, b);
    if (st != PCIE_CPL_SC) {
        return st;
    }
    uint64_t raw = 0;
    for (int i = 7; i >= 0; i--) {
        raw = (raw << 8) | b[i];
    }
    *out = pcie_ats_decode(raw);
    return PCIE_CPL_SC;
}

bool pcie_fn_page_request(PcieFn *fn, const PciePageRequest *req)
{
    PcieFn *g = fn->pf ? fn->pf : fn;
    uint16_t c = pri_cap(fn);
    if (!c || !pcie_fn_pri_enabled(fn)) {
        emu_guest_error("%s: page request with PRI disabled; not sent", pcie_fn_name(fn));
        return false;
    }
    uint32_t alloc = pcie_fn_get(g, c + PRI_ALLOC, 4);
    if (g->pri_outstanding >= alloc) {
        emu_guest_error("%s: page request beyond the outstanding allocation (%u); not sent",
                        pcie_fn_name(fn), alloc);
        return false;
    }
    PcieFabric *f = fn->fabric;
    if (!f->rc || !f->rc->page_request || !pcie_fn_bus_master(fn)) {
        return false;
    }
    if (!f->rc->page_request(f->rc_opaque, pcie_fn_rid(fn), req)) {
        return false;
    }
    g->pri_outstanding++;
    if (!g->pri_prg_count) {
        g->pri_prg_count = g_new0(unsigned, 512);
    }
    g->pri_prg_count[req->prgi & 511]++;
    return true;
}

bool pcie_fn_ats_invalidate(PcieFn *fn, const PcieAtsInval *inv)
{
    if (!fn->ops || !fn->ops->ats_invalidate) {
        return false;
    }
    return fn->ops->ats_invalidate(fn->opaque, fn, inv);
}

void pcie_fn_prg_response(PcieFn *fn, const PciePrgResponse *resp)
{
    PcieFn *g = fn->pf ? fn->pf : fn;
    uint16_t c = pri_cap(fn);
    unsigned n = g->pri_prg_count ? g->pri_prg_count[resp->prgi & 511] : 0;
    if (c) {
        uint32_t st = pcie_fn_get(g, c + PRI_STATUS, 2);
        if (!n) {
            st |= PRI_STATUS_UPRGI;   /* a response for a group with nothing outstanding */
        }
        if (resp->code == 0xf) {
            st |= PRI_STATUS_RF;
        }
        pcie_fn_set(g, c + PRI_STATUS, 2, st);
    }
    if (n) {
        g->pri_outstanding -= MIN(n, g->pri_outstanding);
        g->pri_prg_count[resp->prgi & 511] = 0;
    }
    if (fn->ops && fn->ops->prg_response) {
        fn->ops->prg_response(fn->opaque, fn, resp);
    }
}

/* ---- device TLB -------------------------------------------------------- */

typedef struct DevTlbEntry {
    bool valid;
    bool pasid_present;
    uint32_t pasid;
    uint64_t iova;          /* aligned to e.size */
    PcieAtsEntry e;
    uint64_t stamp;         /* LRU */
} DevTlbEntry;

struct PcieDevTlb {
    DevTlbEntry *e;
    unsigned n;
    uint64_t clock;
    PcieDevTlbStats st;
};

PcieDevTlb *pcie_devtlb_new(unsigned entries)
{
    g_assert(entries > 0);
    PcieDevTlb *t = g_new0(PcieDevTlb, 1);
    t->e = g_new0(DevTlbEntry, entries);
    t->n = entries;
    return t;
}

void pcie_devtlb_free(PcieDevTlb *t)
{
    if (t) {
        g_free(t->e);
        g_free(t);
    }
}

static bool covers(const DevTlbEntry *x, uint64_t addr)
{
    return addr >= x->iova && addr - x->iova < x->e.size;
}

const PcieAtsEntry *pcie_devtlb_lookup(PcieDevTlb *t, bool pasid_present, uint32_t pasid,
                                       uint64_t addr)
{
    t->st.lookups++;
    for (unsigned i = 0; i < t->n; i++) {
        DevTlbEntry *x = &t->e[i];
        if (x->valid && covers(x, addr) &&
            ((x->pasid_present == pasid_present && (!pasid_present || x->pasid == pasid)) ||
             (pasid_present && x->e.global))) {
            x->stamp = ++t->clock;
            t->st.hits++;
            return &x->e;
        }
    }
    t->st.misses++;
    return NULL;
}

void pcie_devtlb_insert(PcieDevTlb *t, bool pasid_present, uint32_t pasid, uint64_t addr,
                        const PcieAtsEntry *e)
{
    if (!e->r && !e->w) {
        return;
    }
    DevTlbEntry *victim = &t->e[0];
    for (unsigned i = 0; i < t->n; i++) {
        if (!t->e[i].valid) {
            victim = &t->e[i];
            break;
        }
        if (t->e[i].stamp < victim->stamp) {
            victim = &t->e[i];
        }
    }
    if (victim->valid) {
        t->st.evictions++;
    }
    *victim = (DevTlbEntry){
        .valid = true, .pasid_present = pasid_present, .pasid = pasid,
        .iova = addr & ~(e->size - 1), .e = *e, .stamp = ++t->clock,
    };
    t->st.inserts++;
}

unsigned pcie_devtlb_invalidate(PcieDevTlb *t, const PcieAtsInval *inv)
{
    unsigned n = 0;
    t->st.inval_requests++;
    for (unsigned i = 0; i < t->n; i++) {
        DevTlbEntry *x = &t->e[i];
        if (!x->valid) {
            continue;
        }
        bool pasid_match = !inv->pasid_present ? !x->pasid_present
                                               : ((x->pasid_present && x->pasid == inv->pasid) ||
                                                  (inv->global && x->e.global));
        bool overlap = inv->size == UINT64_MAX ||
                       (x->iova < inv->addr + inv->size && inv->addr < x->iova + x->e.size);
        if (pasid_match && overlap) {
            x->valid = false;
            n++;
        }
    }
    t->st.invalidations += n;
    return n;
}

void pcie_devtlb_stats(const PcieDevTlb *t, PcieDevTlbStats *out)
{
    *out = t->st;
}
