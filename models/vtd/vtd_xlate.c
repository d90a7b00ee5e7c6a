/*
 * VT-d DMA-remapping translation: table walks, checks and caches.
 *
 * One request goes through these steps (VT-d 4.x chapters 3 and 7):
 *
 *   1. Requests-without-PASID to the interrupt window 0xFEEx_xxxx are not
 *      DMA (writes go to interrupt remapping, reads are unsupported);
 *      translated requests to it are unsupported.
 *   2. TE=0: identity.  RTADDR.TTM selects legacy (00), scalable (01),
 *      reserved (10, fault 0x30) or abort-DMA (11, blocked).
 *   3. The context entry, from the context cache or from the root and
 *      context tables; legacy mode applies TT, scalable mode DTE/PASIDE/
 *      PDTS and picks the PASID (RID_PASID for requests without one).
 *   4. Scalable mode: the PASID entry, from the PASID cache or the PASID
 *      directory and table; PGTT selects first-stage, second-stage, nested
 *      or pass-through.
 *   5. The IOTLB, tagged by domain (and PASID for first-stage and nested
 *      translations); on a miss the deepest paging-structure-cache hit (or
 *      the table root) starts the walk.  First-stage tables of a nested
 *      translation are themselves reached through the second stage.
 *   6. Permission checks, the output interrupt-range check, A/D updates.
 *
 * Entries are validated (reserved bits, capability-gated fields) when they
 * are read from memory; a cached entry is trusted until invalidated, which
 * is what makes a missing invalidation visible.  Only successful walks fill
 * caches, so a fault is re-evaluated from memory on every request.
 *
 * Interpretations where the specification leaves room (the reference
 * walker in models/ref shares them, so the differential test cannot catch
 * them; they are listed here to be argued about):
 *
 *   - At each level reserved bits are checked before permissions.  A
 *     second-stage entry is present when R or W is set; legacy mode reports
 *     a non-present or insufficient entry as 0x5 (write) / 0x6 (read),
 *     scalable mode as 0x79 (R=W=0 in an entry or accumulated), else
 *     0x85/0x86.  First stage: 0x71 not present, then 0x81 (user request,
 *     U/S=0 somewhere), 0x82 (execute, XD=1 somewhere), 0x85 (write without
 *     R/W, for supervisors only with WPE=1).
 *   - Access errors on the root of a paging hierarchy are 0x73 (FSPTPTR)
 *     and 0x7B (SSPTPTR), deeper ones 0x70 / 0x78 (legacy: always 0x7);
 *     failed A/D write-backs are reported as access errors (0x70/0x78).
 *     Every table access goes through rd64()/wr64(), where an installed
 *     memory filter (vtd_xlate_set_mem_filter, fault injection) can make
 *     it fail; without one the cost is a NULL check.
 *   - Nested: a first-stage table GPA beyond the second-stage width is
 *     0x74; the second-stage translation of FSPTPTR / of a deeper table
 *     without read permission is 0x75 / 0x76; an A/D update of a
 *     first-stage entry whose page is not writable in the second stage is
 *     0x77, and with SSADE it sets D in that second-stage entry.  Other
 *     second-stage faults met on the way keep their own codes.
 *   - 0x83 is an input above HAW under pass-through; 0x84 an input (or a
 *     nested first-stage output) above min(MGAW, AGAW of the PASID entry).
 *   - RID_PASID: non-zero without ECAP.RPS is a reserved field (0x42),
 *     beyond the PASID directory 0x48.  Capability-gated fields: DTE/PRE/
 *     PASIDE without DT/PRS/PASID are 0x43; SRE/ERE/SSADE/EAFE without
 *     SRS/ERS/SSADS/EAFS are reserved bits of the PASID entry (0x5A); an
 *     unsupported PGTT, AW or FSPM is 0x5B.
 *   - FPD: faults before a valid present context entry (root, context
 *     access/P/reserved) are always recorded; later ones are suppressed when
 *     any validated context / PASID-directory / PASID entry has FPD=1.
 *   - A/D flags are written only when the access is granted; only granted
 *     walks fill the IOTLB and paging-structure caches (context and PASID
 *     caches are filled as soon as their entry validates).  An IOTLB entry
 *     cached without D is walked again by a write, to set D.
 *   - Translation requests (AT=01) never fault for not-present or
 *     insufficient pages: they succeed with no permission.  TTM=11 (with
 *     ECAP.ADMS) blocks without recording; reads without PASID to the
 *     interrupt window and translated requests to it are UR.
 *   - Not modelled: SMEP/NXE of the PASID entry (XD is always honoured),
 *     global-page retention across PASID-based invalidation, memory types
 *     (EMT/IPAT are only reported), A/D updates in no-snoop walks
 *     (0x7C/0x90), the QEMU-only 0x91.
 *
 * Cache tags: context cache by SID (legacy entries remember their DID for
 * domain-selective invalidation; scalable ones match any DID); PASID cache
 * by (SID, PASID), invalidated by the DID stored in the entry; IOTLB by
 * (DID, PASID-or-none, page, level), PASID only for first-stage and nested
 * translations; paging-structure caches by (DID, PASID-or-none, stage,
 * depth, input prefix).  IOTLB invalidations reach every PGTT of the DID
 * (page-selective ones drop all nested entries of the DID, which cannot be
 * located by guest-physical address, and leave first-stage ones);
 * PASID-based IOTLB invalidations reach only first-stage and nested ones.
 */
#include "models/vtd/vtd_xlate.h"
#include "models/vtd/vtd_access.h"

#include <string.h>

#include "models/vtd/vtd_cache.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"

#define NOPASID (UINT64_C(1) << 32)
#define INTR_LO VTD_INTR_LO
#define INTR_HI VTD_INTR_HI
#define PG_MASK (~UINT64_C(0xfff))

/*
 * Single-bit masks of paging-entry fields, derived from the vtd_entries.h
 * accessors so that the layout has one definition; reserved-bit masks are
 * built from them.
 */
static uint64_t ss_bit(void (*set)(VtdSsPte *, uint64_t))
{
    VtdSsPte p = {{0}};
    set(&p, 1);
    return p.val[0];
}

static uint64_t fs_bit(void (*set)(VtdFsPte *, uint64_t))
{
    VtdFsPte p = {{0}};
    set(&p, 1);
    return p.val[0];
}

/* Internal walk outcome: 0 = ok, >0 = fault reason, RC_NP = not present. */
enum { RC_OK = 0, RC_NP = 0x100 };

/* PSC stage tags */
enum { STAGE_SS = 0, STAGE_FS = 1, STAGE_FS_NESTED = 2 };

/* IOTLB payload flag bits (val[1]) */
enum {
    IF_PGTT_SHIFT = 0,      /* 3 bits */
    IF_SNOOP = 1u << 3,
    IF_GLOBAL = 1u << 4,
    IF_IPAT = 1u << 5,
    IF_EMT_SHIFT = 6,       /* 3 bits */
    IF_DIRTY = 1u << 9,     /* leaf D already set (or no A/D tracking) */
    IF_SS_SHIFT = 10,       /* 3 bits: SS R/W/X accumulated */
    IF_FS_RW = 1u << 13,
    IF_FS_US = 1u << 14,
    IF_FS_XD = 1u << 15,
    IF_HAS_FS = 1u << 16,
    IF_HAS_SS = 1u << 17,
};

struct VtdXlate {
    AddrSpace *mem;
    VtdXlateConfig cfg;
    VtdCache *c[VTD_CACHE_COUNT];
    VtdXlateMemFilter *mem_filter;   /* fault injection; NULL normally */
    void *mem_filter_opaque;
};

static const char *const cache_names[VTD_CACHE_COUNT] = {
    [VTD_CACHE_CONTEXT] = "context",   [VTD_CACHE_PASID] = "pasid",
    [VTD_CACHE_IOTLB] = "iotlb",       [VTD_CACHE_PSC_PML5] = "psc-pml5",
    [VTD_CACHE_PSC_PML4] = "psc-pml4", [VTD_CACHE_PSC_PDPE] = "psc-pdpe",
    [VTD_CACHE_PSC_PDE] = "psc-pde",
};

const char *vtd_cache_name(VtdCacheId id)
{
    return (unsigned)id < VTD_CACHE_COUNT ? cache_names[id] : "?";
}

const char *vtd_fault_struct_name(VtdFaultStruct s)
{
    static const char *const n[] = {"none", "request", "root", "context",
                                    "pasid-dir", "pasid-entry", "fs-pte", "ss-pte"};
    return (unsigned)s < G_N_ELEMENTS(n) ? n[s] : "?";
}

G_DEFINE_QUARK(vtd-xlate-error-quark, vtd_xlate_error)

void vtd_cache_params_default(VtdCacheParams *p)
{
    memset(p, 0, sizeof(*p));
    p->cache[VTD_CACHE_CONTEXT] = (VtdCacheGeom){256, 4, VTD_REPL_LRU, 0};
    p->cache[VTD_CACHE_PASID] = (VtdCacheGeom){256, 4, VTD_REPL_LRU, 0};
    p->cache[VTD_CACHE_IOTLB] = (VtdCacheGeom){1024, 8, VTD_REPL_LRU, 0};
    for (int i = VTD_CACHE_PSC_PML5; i <= VTD_CACHE_PSC_PDE; i++)
        p->cache[i] = (VtdCacheGeom){64, 0, VTD_REPL_LRU, 0};
}

gboolean vtd_cache_params_validate(const VtdCacheParams *p, GError **err)
{
    for (int i = 0; i < VTD_CACHE_COUNT; i++)
        if (!vtd_cache_geom_validate(&p->cache[i], cache_names[i], err))
            return FALSE;
    return TRUE;
}

VtdXlate *vtd_xlate_new(const VtdCacheParams *params, AddrSpace *mem, GError **err)
{
    VtdCacheParams def;
    if (!params) {
        vtd_cache_params_default(&def);
        params = &def;
    }
    if (!vtd_cache_params_validate(params, err))
        return NULL;
    VtdXlate *x = g_new0(VtdXlate, 1);
    x->mem = mem;
    for (int i = 0; i < VTD_CACHE_COUNT; i++)
        x->c[i] = vtd_cache_new(&params->cache[i]);
    return x;
}

void vtd_xlate_free(VtdXlate *x)
{
    if (!x)
        return;
    for (int i = 0; i < VTD_CACHE_COUNT; i++)
        vtd_cache_free(x->c[i]);
    g_free(x);
}

void vtd_xlate_set_mem_filter(VtdXlate *x, VtdXlateMemFilter *filter, void *opaque)
{
    x->mem_filter = filter;
    x->mem_filter_opaque = opaque;
}

void vtd_xlate_set_config(VtdXlate *x, const VtdXlateConfig *cfg)
{
    x->cfg = *cfg;
}

const VtdXlateConfig *vtd_xlate_get_config(const VtdXlate *x)
{
    return &x->cfg;
}

/* ------------------------------------------------------------------ */
/* Per-request state                                                   */
/* ------------------------------------------------------------------ */

typedef struct Walk {
    VtdXlate *x;
    const VtdXlateRequest *req;
    VtdXlateResult *res;
    uint64_t cap, ecap;
    unsigned haw;
    uint64_t haw_rsvd;       /* bits 63:HAW of a 52-bit address field, i.e. 51:HAW */
    bool sm;
    bool fpd;                /* a validated present entry had FPD=1 */
    bool ats;                /* AT = translation request */
    bool write, priv, exec;  /* effective request attributes */
    uint16_t did;
    uint64_t pasid_tag;      /* PASID or NOPASID */
    /* scalable-mode PASID entry in force */
    VtdPasidEntry pe;
    VtdFaultStruct np_struct; /* where RC_NP came from */
} Walk;

static VtdXlateStatus fault(Walk *w, unsigned fr, VtdFaultStruct s)
{
    VtdXlateResult *r = w->res;
    r->status = VTD_XLATE_FAULT;
    r->fault_reason = (uint8_t)fr;
    r->fault_qualified = vtd_fault_is_qualified(fr);
    r->fault_fpd = w->fpd;
    r->fault_record = !(r->fault_qualified && r->fault_fpd);
    r->fault_struct = s;
    r->fault_addr = w->req->addr & PG_MASK;
    return r->status;
}

static bool rd64(Walk *w, uint64_t addr, uint64_t *v)
{
    w->res->mem_reads++;
    if (addr & 7)
        return false;
    if (w->x->mem_filter && w->x->mem_filter(w->x->mem_filter_opaque, addr, false))
        return false;   /* injected access error */
    return addr_space_read(w->x->mem, addr, 8, v) == MEMTX_OK;
}

static bool wr64(Walk *w, uint64_t addr, uint64_t v)
{
    w->res->mem_writes++;
    if (w->x->mem_filter && w->x->mem_filter(w->x->mem_filter_opaque, addr, true))
        return false;   /* injected A/D write-back failure */
    return addr_space_write(w->x->mem, addr, 8, v) == MEMTX_OK;
}

static void note_cache(Walk *w, VtdCacheId id, bool hit)
{
    vtd_cache_count_lookup(w->x->c[id], hit);
    if (hit)
        w->res->cache_hit |= 1u << id;
    else
        w->res->cache_miss |= 1u << id;
}

static VtdCacheId psc_id(unsigned level)
{
    switch (level) {
    case 2: return VTD_CACHE_PSC_PDE;
    case 3: return VTD_CACHE_PSC_PDPE;
    case 4: return VTD_CACHE_PSC_PML4;
    default: return VTD_CACHE_PSC_PML5;
    }
}

/* ------------------------------------------------------------------ */
/* Second-stage walk                                                   */
/* ------------------------------------------------------------------ */

typedef struct SsOut {
    uint64_t addr;        /* output address of the input */
    unsigned level;       /* leaf level */
    unsigned perm;        /* R/W/X accumulated (VTD_PERM_R/W/X) */
    bool snp, ipat, dirty;
    uint8_t emt;
} SsOut;

typedef struct PscFill {
    unsigned level;
    uint64_t next;
    uint64_t acc;
} PscFill;

static uint64_t ss_rsvd(Walk *w, unsigned level, uint64_t e, bool leaf)
{
    uint64_t r = w->haw_rsvd;
    uint64_t ps = ss_bit(vtd_sspte_set_PS);
    if (!leaf) {
        if (level >= 4)
            r |= ps;
        return e & r;
    }
    unsigned sllps = (unsigned)vtd_cap_SLLPS(w->cap);
    if (level == 2 && !(sllps & VTD_SLLPS_2M))
        r |= ps;
    if (level == 3 && !(sllps & VTD_SLLPS_1G))
        r |= ps;
    if (level == 2)
        r |= 0x1ff000ull;                 /* address bits 20:12 of a 2 MiB frame */
    if (level == 3)
        r |= 0x3ffff000ull;               /* address bits 29:12 of a 1 GiB frame */
    if (!vtd_ecap_SC(w->ecap))
        r |= ss_bit(vtd_sspte_set_SNP);
    r |= ss_bit(vtd_sspte_set_TM);        /* reserved since VT-d 3.2 */
    return e & r;
}

/*
 * Walks the second stage rooted at @root (@levels deep) for @in, with PSC
 * lookups and fills under (did, STAGE_SS).  @top_access is the reason for
 * an access error on the root table, @access for deeper ones.
 * Returns RC_OK, RC_NP (an entry with R=W=0) or a fault reason.
 * A/D flags (SSADE) are written by ss_commit() once the access is granted.
 */
typedef struct SsTrail {
    uint64_t addr[5];
    uint64_t val[5];
    unsigned n;
    PscFill fills[5];
    unsigned nfill;
    unsigned levels;
    uint64_t in;
} SsTrail;

static int ss_walk(Walk *w, uint64_t root, unsigned levels, uint64_t in, SsOut *out,
                   SsTrail *trail)
{
    VtdXlate *x = w->x;
    unsigned lvl = levels;
    uint64_t table = root;
    unsigned acc = VTD_PERM_R | VTD_PERM_W | VTD_PERM_X;
    bool from_root = true;

    for (unsigned n = 2; n <= levels; n++) {
        VtdCacheId id = psc_id(n);
        uint64_t k[VTD_CACHE_KEY_WORDS] = {w->did, NOPASID, STAGE_SS | ((uint64_t)levels << 8),
                                           in >> vtd_level_shift(n)};
        VtdCacheEntry *e = vtd_cache_probe(x->c[id], k);
        note_cache(w, id, e != NULL);
        if (e) {
            lvl = n - 1;
            table = e->val[0];
            acc = (unsigned)e->val[1];
            from_root = false;
            break;
        }
    }

    trail->n = 0;
    trail->nfill = 0;
    trail->levels = levels;
    trail->in = in;
    for (;; lvl--) {
        uint64_t ea = table + ((in >> vtd_level_shift(lvl)) & 511) * 8;
        uint64_t e;
        if (!rd64(w, ea, &e)) {
            if (w->sm)
                return (from_root && lvl == levels) ? VTD_FR_SM_SSPTPTR_INVALID
                                                    : VTD_FR_SM_SS_ACCESS;
            return VTD_FR_SL_ENTRY_ACCESS;
        }
        VtdSsPte pte = {{e}};
        if (!vtd_sspte_R(&pte) && !vtd_sspte_W(&pte)) {
            w->np_struct = VTD_FSTRUCT_SS_PTE;
            return RC_NP;
        }
        bool leaf = lvl == 1 || (lvl <= 3 && vtd_sspte_PS(&pte));
        if (ss_rsvd(w, lvl, e, leaf))
            return w->sm ? VTD_FR_SM_SS_RESERVED : VTD_FR_SL_ENTRY_RESERVED;
        acc &= (vtd_sspte_R(&pte) ? VTD_PERM_R : 0) | (vtd_sspte_W(&pte) ? VTD_PERM_W : 0) |
               (vtd_sspte_X(&pte) ? VTD_PERM_X : 0);
        trail->addr[trail->n] = ea;
        trail->val[trail->n] = e;
        trail->n++;
        uint64_t next = vtd_sspte_ADDR(&pte) << 12;
        if (!leaf) {
            trail->fills[trail->nfill++] = (PscFill){lvl, next, acc};
            table = next;
            continue;
        }
        uint64_t size = 1ull << vtd_level_shift(lvl);
        out->addr = (next & ~(size - 1)) | (in & (size - 1));
        out->level = lvl;
        out->perm = acc;
        out->snp = vtd_ecap_SC(w->ecap) && vtd_sspte_SNP(&pte);
        out->emt = (uint8_t)vtd_sspte_EMT(&pte);
        out->ipat = vtd_sspte_IPAT(&pte);
        out->dirty = vtd_sspte_D(&pte);
        return RC_OK;
    }
}

/*
 * The access was granted: sets A on the walked entries and D on the leaf
 * when @ad (SSADE), then caches the non-leaf entries in the PSCs.
 * Returns a fault reason or 0.
 */
static int ss_commit(Walk *w, const SsTrail *t, bool ad, bool dirty)
{
    for (unsigned i = 0; ad && i < t->n; i++) {
        VtdSsPte pte = {{t->val[i]}};
        vtd_sspte_set_A(&pte, 1);
        if (dirty && i + 1 == t->n)
            vtd_sspte_set_D(&pte, 1);
        uint64_t v = pte.val[0];
        if (v != t->val[i] && !wr64(w, t->addr[i], v))
            return w->sm ? VTD_FR_SM_SS_ACCESS : VTD_FR_SL_ENTRY_ACCESS;
    }
    for (unsigned i = 0; i < t->nfill; i++) {
        uint64_t k[VTD_CACHE_KEY_WORDS] = {w->did, NOPASID,
                                           STAGE_SS | ((uint64_t)t->levels << 8),
                                           t->in >> vtd_level_shift(t->fills[i].level)};
        uint64_t v[VTD_CACHE_VAL_WORDS] = {t->fills[i].next, t->fills[i].acc};
        vtd_cache_fill(w->x->c[psc_id(t->fills[i].level)], k, v);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Context entries                                                     */
/* ------------------------------------------------------------------ */

typedef struct Ctx {
    uint64_t val[4];
} Ctx;

static VtdXlateStatus get_context(Walk *w, Ctx *ctx)
{
    VtdXlate *x = w->x;
    uint16_t sid = w->req->sid;
    uint64_t k[VTD_CACHE_KEY_WORDS] = {sid, w->sm, 0, 0};
    VtdCacheEntry *ce = vtd_cache_probe(x->c[VTD_CACHE_CONTEXT], k);
    note_cache(w, VTD_CACHE_CONTEXT, ce != NULL);
    if (ce) {
        memcpy(ctx->val, ce->val, sizeof(ctx->val));
        return VTD_XLATE_OK;
    }

    uint8_t bus = sid >> 8, devfn = sid & 0xff;
    uint64_t rta = x->cfg.rtaddr & PG_MASK;
    VtdRootEntry re;
    if (!rd64(w, rta + bus * 16ull, &re.val[0]) || !rd64(w, rta + bus * 16ull + 8, &re.val[1]))
        return fault(w, w->sm ? VTD_FR_SM_ROOT_ACCESS : VTD_FR_ROOT_ACCESS, VTD_FSTRUCT_ROOT);
    uint64_t ctp;
    if (!w->sm) {
        if (!vtd_re_P(&re))
            return fault(w, VTD_FR_ROOT_NOT_PRESENT, VTD_FSTRUCT_ROOT);
        if ((re.val[0] & (0xffeull | w->haw_rsvd)) || re.val[1])
            return fault(w, VTD_FR_ROOT_RESERVED, VTD_FSTRUCT_ROOT);
        ctp = vtd_re_CTP(&re) << 12;
    } else {
        bool upper = devfn >= 128;
        uint64_t half = re.val[upper];
        if (!(upper ? vtd_sre_UP(&re) : vtd_sre_LP(&re)))
            return fault(w, VTD_FR_SM_ROOT_NOT_PRESENT, VTD_FSTRUCT_ROOT);
        if (half & (0xffeull | w->haw_rsvd))     /* 11:1 and pointer bits above HAW */
            return fault(w, VTD_FR_SM_ROOT_RESERVED, VTD_FSTRUCT_ROOT);
        ctp = (upper ? vtd_sre_UCTP(&re) : vtd_sre_LCTP(&re)) << 12;
    }

    memset(ctx, 0, sizeof(*ctx));
    if (!w->sm) {
        VtdContextEntry c;
        uint64_t a = ctp + devfn * 16ull;
        if (!rd64(w, a, &c.val[0]) || !rd64(w, a + 8, &c.val[1]))
            return fault(w, VTD_FR_CONTEXT_ACCESS, VTD_FSTRUCT_CONTEXT);
        if (!vtd_ce_P(&c))
            return fault(w, VTD_FR_CONTEXT_NOT_PRESENT, VTD_FSTRUCT_CONTEXT);
        if ((c.val[0] & (0xff0ull | w->haw_rsvd)) || (c.val[1] & 0xffffffffff000080ull))
            return fault(w, VTD_FR_CONTEXT_RESERVED, VTD_FSTRUCT_CONTEXT);
        if (vtd_ce_FPD(&c))
            w->fpd = true;
        unsigned tt = (unsigned)vtd_ce_TT(&c);
        if (tt == VTD_TT_RESERVED || (tt == VTD_TT_DEVTLB && !vtd_ecap_DT(w->ecap)) ||
            (tt == VTD_TT_PASSTHROUGH && !vtd_ecap_PT(w->ecap)))
            return fault(w, VTD_FR_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT);
        if (tt != VTD_TT_PASSTHROUGH) {
            unsigned aw = (unsigned)vtd_ce_AW(&c);
            if (aw > 3 || !(vtd_cap_SAGAW(w->cap) & (1u << aw)))
                return fault(w, VTD_FR_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT);
        }
        ctx->val[0] = c.val[0];
        ctx->val[1] = c.val[1];
    } else {
        VtdSmContextEntry c;
        uint64_t a = ctp + (devfn & 0x7f) * 32ull;
        for (int i = 0; i < 4; i++)
            if (!rd64(w, a + 8 * i, &c.val[i]))
                return fault(w, VTD_FR_SM_CONTEXT_ACCESS, VTD_FSTRUCT_CONTEXT);
        if (!vtd_sce_P(&c))
            return fault(w, VTD_FR_SM_CONTEXT_NOT_PRESENT, VTD_FSTRUCT_CONTEXT);
        uint64_t r1 = 0xffffffffffe00000ull;
        if (!vtd_ecap_RPS(w->ecap))
            r1 |= 0xfffffull;
        if (!vtd_ecap_RPRIVS(w->ecap))
            r1 |= 1ull << 20;
        if ((c.val[0] & (0x1e0ull | w->haw_rsvd)) || (c.val[1] & r1) || c.val[2] || c.val[3])
            return fault(w, VTD_FR_SM_CONTEXT_RESERVED, VTD_FSTRUCT_CONTEXT);
        if (vtd_sce_FPD(&c))
            w->fpd = true;
        if ((vtd_sce_DTE(&c) && !vtd_ecap_DT(w->ecap)) ||
            (vtd_sce_PRE(&c) && !vtd_ecap_PRS(w->ecap)) ||
            (vtd_sce_PASIDE(&c) && !vtd_ecap_PASID(w->ecap)))
            return fault(w, VTD_FR_SM_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT);
        uint64_t ndir = 1ull << (vtd_sce_PDTS(&c) + 7);
        if ((vtd_sce_RID_PASID(&c) >> 6) >= ndir)
            return fault(w, VTD_FR_SM_RID_PASID_ERROR, VTD_FSTRUCT_CONTEXT);
        memcpy(ctx->val, c.val, sizeof(ctx->val));
    }
    uint64_t v[VTD_CACHE_VAL_WORDS] = {ctx->val[0], ctx->val[1], ctx->val[2], ctx->val[3]};
    vtd_cache_fill(x->c[VTD_CACHE_CONTEXT], k, v);
    return VTD_XLATE_OK;
}

/* ------------------------------------------------------------------ */
/* PASID entries                                                       */
/* ------------------------------------------------------------------ */

static VtdXlateStatus get_pasid_entry(Walk *w, const VtdSmContextEntry *c, uint32_t pasid)
{
    VtdXlate *x = w->x;
    uint64_t k[VTD_CACHE_KEY_WORDS] = {w->req->sid, pasid, 0, 0};
    VtdCacheEntry *ce = vtd_cache_probe(x->c[VTD_CACHE_PASID], k);
    note_cache(w, VTD_CACHE_PASID, ce != NULL);
    memset(&w->pe, 0, sizeof(w->pe));
    if (ce) {
        w->pe.val[0] = ce->val[0];
        w->pe.val[1] = ce->val[1];
        w->pe.val[2] = ce->val[2];
        if (ce->val[3] || vtd_pe_FPD(&w->pe))
            w->fpd = true;
        return VTD_XLATE_OK;
    }

    uint64_t dir = vtd_sce_PASIDDIRPTR(c) << 12;
    VtdPasidDirEntry de;
    if (!rd64(w, dir + (pasid >> 6) * 8ull, &de.val[0]))
        return fault(w, VTD_FR_SM_PDIR_ACCESS, VTD_FSTRUCT_PASID_DIR);
    if (!vtd_pdire_P(&de))
        return fault(w, VTD_FR_SM_PDIR_NOT_PRESENT, VTD_FSTRUCT_PASID_DIR);
    if (de.val[0] & (0xffcull | w->haw_rsvd))
        return fault(w, VTD_FR_SM_PDIR_RESERVED, VTD_FSTRUCT_PASID_DIR);
    bool dir_fpd = vtd_pdire_FPD(&de);
    if (dir_fpd)
        w->fpd = true;

    uint64_t pa = (vtd_pdire_SMPTBLPTR(&de) << 12) + (pasid & 63) * 64ull;
    VtdPasidEntry pe;
    for (int i = 0; i < 8; i++)
        if (!rd64(w, pa + 8 * i, &pe.val[i]))
            return fault(w, VTD_FR_SM_PTE_ACCESS, VTD_FSTRUCT_PASID_ENTRY);
    if (!vtd_pe_P(&pe))
        return fault(w, VTD_FR_SM_PTE_NOT_PRESENT, VTD_FSTRUCT_PASID_ENTRY);

    unsigned pgtt = (unsigned)vtd_pe_PGTT(&pe);
    bool uses_ss = pgtt == VTD_PGTT_SECOND_STAGE || pgtt == VTD_PGTT_NESTED;
    bool uses_fs = pgtt == VTD_PGTT_FIRST_STAGE || pgtt == VTD_PGTT_NESTED;
    /* Reserved: val0 11:10 and SSPTPTR above HAW; val1 22:16; val2 11:8
     * (and 7 without EAFS), FSPTPTR above HAW; val3..val7. */
    uint64_t r0 = 0xc00ull | (uses_ss ? w->haw_rsvd : 0);
    if (!vtd_ecap_SSADS(w->ecap))
        r0 |= 1ull << 9;
    uint64_t r1 = 0x7f0000ull;
    uint64_t r2 = 0xf00ull | (uses_fs ? w->haw_rsvd : 0);
    if (!vtd_ecap_EAFS(w->ecap))
        r2 |= 1ull << 7;
    if (!vtd_ecap_SRS(w->ecap))
        r2 |= 1ull << 0;
    if (!vtd_ecap_ERS(w->ecap))
        r2 |= 1ull << 1;
    if ((pe.val[0] & r0) || (pe.val[1] & r1) || (pe.val[2] & r2) || pe.val[3] || pe.val[4] ||
        pe.val[5] || pe.val[6] || pe.val[7])
        return fault(w, VTD_FR_SM_PTE_RESERVED, VTD_FSTRUCT_PASID_ENTRY);
    if (vtd_pe_FPD(&pe))
        w->fpd = true;

    bool ok;
    switch (pgtt) {
    case VTD_PGTT_FIRST_STAGE: ok = vtd_ecap_FSTS(w->ecap); break;
    case VTD_PGTT_SECOND_STAGE: ok = vtd_ecap_SSTS(w->ecap); break;
    case VTD_PGTT_NESTED: ok = vtd_ecap_NEST(w->ecap) && vtd_ecap_FSTS(w->ecap) &&
                               vtd_ecap_SSTS(w->ecap); break;
    case VTD_PGTT_PASS_THROUGH: ok = vtd_ecap_PT(w->ecap); break;
    default: ok = false; break;
    }
    if (ok && uses_ss) {
        unsigned aw = (unsigned)vtd_pe_AW(&pe);
        ok = aw <= 3 && (vtd_cap_SAGAW(w->cap) & (1u << aw));
    }
    if (ok && uses_fs) {
        unsigned fspm = (unsigned)vtd_pe_FSPM(&pe);
        ok = fspm == 0 || (fspm == 1 && vtd_cap_FS5LP(w->cap));
    }
    if (!ok)
        return fault(w, VTD_FR_SM_PTE_INVALID, VTD_FSTRUCT_PASID_ENTRY);

    w->pe.val[0] = pe.val[0];
    w->pe.val[1] = pe.val[1];
    w->pe.val[2] = pe.val[2];
    uint64_t v[VTD_CACHE_VAL_WORDS] = {pe.val[0], pe.val[1], pe.val[2], dir_fpd};
    vtd_cache_fill(x->c[VTD_CACHE_PASID], k, v);
    return VTD_XLATE_OK;
}

/* ------------------------------------------------------------------ */
/* First-stage walk (optionally nested)                                */
/* ------------------------------------------------------------------ */

typedef struct FsOut {
    uint64_t addr;        /* output (GPA when nested) */
    unsigned level;
    bool rw, us, xd, g, dirty;
} FsOut;

typedef struct FsTrail {
    uint64_t addr[5];     /* host address of each entry */
    uint64_t val[5];
    bool ss_w[5];         /* nested: second stage allows writing the entry */
    uint64_t gpa[5];      /* nested: guest address of the table holding the entry */
    unsigned n;
    PscFill fills[5];
    unsigned nfill;
    uint64_t stage;
    uint64_t va;
} FsTrail;

static uint64_t fs_rsvd(Walk *w, unsigned level, uint64_t e, bool leaf)
{
    uint64_t r = w->haw_rsvd;
    uint64_t ps = fs_bit(vtd_fspte_set_PS);
    if (level >= 4)
        r |= ps;
    if (leaf && level == 3) {
        r |= 0x3fffe000ull;                /* bits 29:13 of a 1 GiB leaf (12 is PAT) */
        if (!vtd_cap_FS1GP(w->cap))
            r |= ps;
    }
    if (leaf && level == 2)
        r |= 0x1fe000ull;                  /* bits 20:13 of a 2 MiB leaf */
    return e & r;
}

static unsigned ss_levels(const VtdPasidEntry *pe)
{
    return (unsigned)vtd_pe_AW(pe) + 2;
}

static unsigned ss_width(Walk *w, unsigned levels)
{
    unsigned agaw = 30 + 9 * (levels - 2);
    unsigned mgaw = (unsigned)vtd_cap_MGAW(w->cap) + 1;
    return agaw < mgaw ? agaw : mgaw;
}

/* Translates the GPA of a first-stage structure through the second stage. */
static int nested_table(Walk *w, uint64_t gpa, bool is_root, uint64_t *hpa, bool *ss_w)
{
    unsigned levels = ss_levels(&w->pe);
    if (gpa >> ss_width(w, levels))
        return VTD_FR_SM_NESTED_FS_BEYOND_SS;       /* 0x74: FS entry address beyond SS width */
    SsOut so;
    SsTrail st;
    int rc = ss_walk(w, vtd_pe_SSPTPTR(&w->pe) << 12, levels, gpa, &so, &st);
    if (rc == RC_NP)
        return VTD_FR_SM_SS_NOT_PRESENT;
    if (rc)
        return rc;
    if (!(so.perm & VTD_PERM_R))
        return is_root ? VTD_FR_SM_NESTED_FSPTPTR_READ : VTD_FR_SM_NESTED_FS_READ;
    if ((rc = ss_commit(w, &st, vtd_pe_SSADE(&w->pe), false)))
        return rc;
    *hpa = so.addr;
    *ss_w = (so.perm & VTD_PERM_W) != 0;
    return 0;
}

static int fs_walk(Walk *w, uint64_t va, bool nested, FsOut *out, FsTrail *trail)
{
    VtdXlate *x = w->x;
    unsigned levels = vtd_pe_FSPM(&w->pe) ? 5 : 4;
    unsigned lvl = levels;
    uint64_t table = vtd_pe_FSPTPTR(&w->pe) << 12;   /* GPA when nested */
    bool table_is_hpa = !nested;
    uint64_t table_gpa = table;
    bool table_ss_w = true;
    bool rw = true, us = true, xd = false;
    bool from_root = true;
    uint64_t stage = (nested ? STAGE_FS_NESTED : STAGE_FS) | ((uint64_t)levels << 8);

    for (unsigned n = 2; n <= levels; n++) {
        VtdCacheId id = psc_id(n);
        uint64_t k[VTD_CACHE_KEY_WORDS] = {w->did, w->pasid_tag, stage, va >> vtd_level_shift(n)};
        VtdCacheEntry *e = vtd_cache_probe(x->c[id], k);
        note_cache(w, id, e != NULL);
        if (e) {
            lvl = n - 1;
            table = e->val[0];
            table_is_hpa = true;
            table_gpa = e->val[2];
            table_ss_w = e->val[3] & 1;
            rw = e->val[1] & 1;
            us = (e->val[1] >> 1) & 1;
            xd = (e->val[1] >> 2) & 1;
            from_root = false;
            break;
        }
    }

    trail->n = 0;
    trail->nfill = 0;
    trail->stage = stage;
    trail->va = va;
    for (;; lvl--) {
        uint64_t host_table = table;
        bool ss_w = table_ss_w;
        if (!table_is_hpa) {
            table_gpa = table;
            int rc = nested_table(w, table, from_root && lvl == levels, &host_table, &ss_w);
            if (rc)
                return rc;
        }
        uint64_t ea = host_table + ((va >> vtd_level_shift(lvl)) & 511) * 8;
        uint64_t e;
        if (!rd64(w, ea, &e))
            return (from_root && lvl == levels) ? VTD_FR_SM_FSPTPTR_INVALID : VTD_FR_SM_FS_ACCESS;
        VtdFsPte pte = {{e}};
        if (!vtd_fspte_P(&pte)) {
            w->np_struct = VTD_FSTRUCT_FS_PTE;
            return RC_NP;
        }
        bool leaf = lvl == 1 || (lvl <= 3 && vtd_fspte_PS(&pte));
        if (fs_rsvd(w, lvl, e, leaf))
            return VTD_FR_SM_FS_RESERVED;
        rw = rw && vtd_fspte_RW(&pte);
        us = us && vtd_fspte_US(&pte);
        xd = xd || vtd_fspte_XD(&pte);
        trail->addr[trail->n] = ea;
        trail->val[trail->n] = e;
        trail->ss_w[trail->n] = ss_w;
        trail->gpa[trail->n] = table_gpa;
        trail->n++;
        uint64_t next = vtd_fspte_ADDR(&pte) << 12;
        if (!leaf) {
            table = next;
            table_is_hpa = !nested;
            trail->fills[trail->nfill++] =
                (PscFill){lvl, 0, (uint64_t)rw | ((uint64_t)us << 1) | ((uint64_t)xd << 2)};
            continue;
        }
        uint64_t size = 1ull << vtd_level_shift(lvl);
        out->addr = (next & ~(size - 1)) | (va & (size - 1));
        out->level = lvl;
        out->rw = rw;
        out->us = us;
        out->xd = xd;
        out->g = vtd_fspte_G(&pte);
        out->dirty = vtd_fspte_D(&pte);
        return RC_OK;
    }
}

/*
 * The access was granted: sets A (and EA with the PASID entry's EAFE) on the
 * walked first-stage entries and D on the leaf, then caches the non-leaf entries.  In a nested walk the A/D
 * write is a write through the second stage: it needs SS write permission
 * (0x77) and, with SSADE, sets D in the SS entry mapping the table page.
 */
static int fs_commit(Walk *w, const FsTrail *t, bool nested, bool dirty)
{
    for (unsigned i = 0; i < t->n; i++) {
        VtdFsPte pte = {{t->val[i]}};
        vtd_fspte_set_A(&pte, 1);
        if (vtd_pe_EAFE(&w->pe))
            vtd_fspte_set_EA(&pte, 1);   /* Extended Accessed, set with A (EAFE) */
        if (dirty && i + 1 == t->n)
            vtd_fspte_set_D(&pte, 1);
        uint64_t v = pte.val[0];
        if (v == t->val[i])
            continue;
        if (!t->ss_w[i])
            return VTD_FR_SM_NESTED_FS_AD_WRITE;
        if (nested && vtd_pe_SSADE(&w->pe)) {
            SsOut so;
            SsTrail st;
            int rc = ss_walk(w, vtd_pe_SSPTPTR(&w->pe) << 12, ss_levels(&w->pe), t->gpa[i],
                             &so, &st);
            if (rc == RC_NP)
                return VTD_FR_SM_SS_NOT_PRESENT;
            if (rc || (rc = ss_commit(w, &st, true, true)))
                return rc;
        }
        if (!wr64(w, t->addr[i], v))
            return VTD_FR_SM_FS_ACCESS;
    }
    /* PSC entries hold the host address of the next table, which is the
     * page of the next entry walked (for nested walks, after SS). */
    for (unsigned i = 0; i < t->nfill; i++) {
        uint64_t k[VTD_CACHE_KEY_WORDS] = {w->did, w->pasid_tag, t->stage,
                                           t->va >> vtd_level_shift(t->fills[i].level)};
        uint64_t v[VTD_CACHE_VAL_WORDS] = {t->addr[i + 1] & PG_MASK, t->fills[i].acc,
                                           t->gpa[i + 1], t->ss_w[i + 1]};
        vtd_cache_fill(w->x->c[psc_id(t->fills[i].level)], k, v);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Permission evaluation shared by walks and IOTLB hits                */
/* ------------------------------------------------------------------ */

typedef struct Xl {
    uint64_t out;          /* translated address of req->addr */
    unsigned level;
    unsigned pgtt;
    unsigned flags;        /* IF_* */
} Xl;

/* The walk's rights and request in the form of the shared rules (vtd_access.h). */
static VtdAccessRights rights_of(const Xl *t)
{
    return (VtdAccessRights){
        .has_fs = t->flags & IF_HAS_FS,
        .fs_rw = t->flags & IF_FS_RW,
        .fs_us = t->flags & IF_FS_US,
        .fs_xd = t->flags & IF_FS_XD,
        .has_ss = t->flags & IF_HAS_SS,
        .ss_perm = (t->flags >> IF_SS_SHIFT) & 7,
    };
}

static VtdAccessReq access_req(Walk *w)
{
    return (VtdAccessReq){
        .sm = w->sm, .priv = w->priv, .exec = w->exec, .write = w->write,
        .wpe = vtd_pe_WPE(&w->pe), .ats_nw = w->req->ats_nw,
    };
}

/* Permission checks for a data access; returns 0 or a fault reason. */
static int check_access(Walk *w, const Xl *t)
{
    VtdAccessRights r = rights_of(t);
    VtdAccessReq q = access_req(w);
    return vtd_access_check(&r, &q);
}

static unsigned granted(Walk *w, const Xl *t)
{
    VtdAccessRights r = rights_of(t);
    VtdAccessReq q = access_req(w);
    return vtd_access_granted(&r, &q);
}

static VtdXlateStatus ok_result(Walk *w, const Xl *t)
{
    VtdXlateResult *r = w->res;
    r->status = VTD_XLATE_OK;
    r->out_addr = t->out;
    r->page_size = 1ull << vtd_level_shift(t->level);
    r->perm = granted(w, t);
    r->did = w->did;
    r->pgtt = t->pgtt;
    r->snoop = t->flags & IF_SNOOP;
    r->global = t->flags & IF_GLOBAL;
    r->emt = (t->flags >> IF_EMT_SHIFT) & 7;
    r->ipat = t->flags & IF_IPAT;
    return r->status;
}

static VtdXlateStatus identity(Walk *w, uint16_t did, unsigned pgtt, bool snoop)
{
    Xl t = {w->req->addr, 1, pgtt, snoop ? IF_SNOOP : 0};
    ok_result(w, &t);
    w->res->did = did;
    return VTD_XLATE_OK;
}

/* ------------------------------------------------------------------ */
/* IOTLB                                                               */
/* ------------------------------------------------------------------ */

/* Output interrupt-range rule (LGN.4 / SGN.8): the bytes accessed, or for a
 * translation request the whole translated page. */
static bool out_in_intr(Walk *w, const Xl *t)
{
    if (w->ats) {
        uint64_t size = 1ull << vtd_level_shift(t->level);
        return vtd_in_intr_range(t->out & ~(size - 1), size);
    }
    return vtd_in_intr_range(t->out, w->req->len);
}

static void iotlb_key(Walk *w, unsigned level, uint64_t k[VTD_CACHE_KEY_WORDS])
{
    k[0] = w->did;
    k[1] = w->pasid_tag;
    k[2] = w->req->addr >> vtd_level_shift(level);
    k[3] = level;
}

static bool needs_dirty(Walk *w, const Xl *t)
{
    bool wants = w->ats ? (granted(w, t) & VTD_PERM_W) != 0 : w->write;
    if (!wants)
        return false;
    bool tracked = (t->flags & IF_HAS_FS) || (w->sm && (t->flags & IF_HAS_SS) &&
                                              vtd_pe_SSADE(&w->pe));
    return tracked && !(t->flags & IF_DIRTY);
}

static bool iotlb_lookup(Walk *w, Xl *t)
{
    VtdCache *c = w->x->c[VTD_CACHE_IOTLB];
    for (unsigned level = 1; level <= 3; level++) {
        uint64_t k[VTD_CACHE_KEY_WORDS];
        iotlb_key(w, level, k);
        VtdCacheEntry *e = vtd_cache_probe(c, k);
        if (!e)
            continue;
        uint64_t size = 1ull << vtd_level_shift(level);
        t->out = e->val[0] | (w->req->addr & (size - 1));
        t->level = level;
        t->flags = (unsigned)e->val[1];
        t->pgtt = t->flags & 7;
        /* A write through an entry cached clean must walk again to set D. */
        if (needs_dirty(w, t) && !check_access(w, t))
            break;
        note_cache(w, VTD_CACHE_IOTLB, true);
        return true;
    }
    note_cache(w, VTD_CACHE_IOTLB, false);
    return false;
}

static void iotlb_fill(Walk *w, const Xl *t)
{
    uint64_t k[VTD_CACHE_KEY_WORDS];
    iotlb_key(w, t->level, k);
    uint64_t size = 1ull << vtd_level_shift(t->level);
    uint64_t v[VTD_CACHE_VAL_WORDS] = {t->out & ~(size - 1), t->flags};
    vtd_cache_fill(w->x->c[VTD_CACHE_IOTLB], k, v);
}

/* ------------------------------------------------------------------ */
/* The walk proper                                                     */
/* ------------------------------------------------------------------ */

static unsigned np_reason(Walk *w, VtdFaultStruct s)
{
    if (s == VTD_FSTRUCT_FS_PTE)
        return VTD_FR_SM_FS_NOT_PRESENT;
    if (w->sm)
        return VTD_FR_SM_SS_NOT_PRESENT;
    return w->write ? VTD_FR_WRITE_DENIED : VTD_FR_READ_DENIED;
}

/*
 * Translates req->addr with the paging structures selected by @pgtt
 * (SS/FS/nested).  @ss_root/@ss_levels describe the second stage.
 */
static VtdXlateStatus translate_paged(Walk *w, unsigned pgtt, uint64_t ss_root,
                                      unsigned ss_levels_n)
{
    Xl t;
    if (iotlb_lookup(w, &t))
        goto check;

    unsigned flags = (pgtt & 7);
    int rc;
    SsOut so = {0};
    SsTrail st = {0};
    FsOut fo = {0};
    FsTrail ft = {0};
    if (pgtt == VTD_PGTT_SECOND_STAGE) {
        rc = ss_walk(w, ss_root, ss_levels_n, w->req->addr, &so, &st);
        if (rc == RC_NP) {
            if (w->ats)
                goto ats_none;
            return fault(w, np_reason(w, w->np_struct), w->np_struct);
        }
        if (rc)
            return fault(w, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
        t.out = so.addr;
        t.level = so.level;
        flags |= IF_HAS_SS | (so.perm << IF_SS_SHIFT) | (so.emt << IF_EMT_SHIFT);
        if (so.snp)
            flags |= IF_SNOOP;
        if (so.ipat)
            flags |= IF_IPAT;
        if (so.dirty || !(w->sm && vtd_pe_SSADE(&w->pe)))
            flags |= IF_DIRTY;
    } else {
        bool nested = pgtt == VTD_PGTT_NESTED;
        rc = fs_walk(w, w->req->addr, nested, &fo, &ft);
        if (rc == RC_NP) {
            if (w->ats)
                goto ats_none;
            return fault(w, np_reason(w, w->np_struct), w->np_struct);
        }
        if (rc)
            return fault(w, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
        flags |= IF_HAS_FS;
        if (fo.rw)
            flags |= IF_FS_RW;
        if (fo.us)
            flags |= IF_FS_US;
        if (fo.xd)
            flags |= IF_FS_XD;
        if (fo.g)
            flags |= IF_GLOBAL;
        if (fo.dirty)
            flags |= IF_DIRTY;
        t.out = fo.addr;
        t.level = fo.level;
        if (nested) {
            /* FS output is a GPA: the request's own access goes through SS. */
            Xl pre = {0, 0, pgtt, flags};
            int prc = w->ats ? 0 : check_access(w, &pre);
            if (prc)
                return fault(w, (unsigned)prc, VTD_FSTRUCT_FS_PTE);
            if (fo.addr >> ss_width(w, ss_levels_n))
                return fault(w, VTD_FR_SM_SS_ADDR_BEYOND, VTD_FSTRUCT_REQUEST);
            rc = ss_walk(w, ss_root, ss_levels_n, fo.addr, &so, &st);
            if (rc == RC_NP) {
                if (w->ats)
                    goto ats_none;
                return fault(w, VTD_FR_SM_SS_NOT_PRESENT, VTD_FSTRUCT_SS_PTE);
            }
            if (rc)
                return fault(w, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
            flags |= IF_HAS_SS | (so.perm << IF_SS_SHIFT) | (so.emt << IF_EMT_SHIFT);
            if (so.ipat)
                flags |= IF_IPAT;
            if (!(so.dirty || !vtd_pe_SSADE(&w->pe)))
                flags &= ~(unsigned)IF_DIRTY;
            t.out = so.addr;
            if (so.level < t.level)
                t.level = so.level;
        }
        if (vtd_pe_PGSNP(&w->pe))
            flags |= IF_SNOOP;
    }
    if (w->sm && pgtt == VTD_PGTT_SECOND_STAGE && vtd_pe_PGSNP(&w->pe))
        flags |= IF_SNOOP;
    t.flags = flags;
    t.pgtt = pgtt;

    if (!w->ats) {
        rc = check_access(w, &t);
        if (rc)
            return fault(w, (unsigned)rc,
                         (t.flags & IF_HAS_FS) && rc != VTD_FR_SM_READ_DENIED &&
                                 rc != VTD_FR_SM_SS_NOT_PRESENT
                             ? VTD_FSTRUCT_FS_PTE
                             : VTD_FSTRUCT_SS_PTE);
    }
    {
        unsigned g = granted(w, &t);
        bool dirty = w->ats ? (g & VTD_PERM_W) != 0 : w->write;
        if (w->ats && !g)
            goto ats_none;
        if (out_in_intr(w, &t))
            return fault(w, w->sm ? VTD_FR_SM_INTR_RANGE : VTD_FR_LEGACY_INTR_RANGE,
                         VTD_FSTRUCT_REQUEST);
        /* Grant: write A/D flags, then cache. */
        if (t.flags & IF_HAS_FS) {
            rc = fs_commit(w, &ft, pgtt == VTD_PGTT_NESTED, dirty);
            if (rc)
                return fault(w, (unsigned)rc, VTD_FSTRUCT_FS_PTE);
            if (dirty)
                t.flags |= IF_DIRTY;
        }
        if (t.flags & IF_HAS_SS) {
            bool ad = w->sm && vtd_pe_SSADE(&w->pe);
            rc = ss_commit(w, &st, ad, dirty);
            if (rc)
                return fault(w, (unsigned)rc, VTD_FSTRUCT_SS_PTE);
            if (ad && dirty)
                t.flags |= IF_DIRTY;
        }
        iotlb_fill(w, &t);
        return ok_result(w, &t);
    }

check:
    if (w->ats && !granted(w, &t))
        goto ats_none;
    if (!w->ats) {
        int rc2 = check_access(w, &t);
        if (rc2)
            return fault(w, (unsigned)rc2,
                         (t.flags & IF_HAS_FS) && rc2 != VTD_FR_SM_READ_DENIED &&
                                 rc2 != VTD_FR_SM_SS_NOT_PRESENT
                             ? VTD_FSTRUCT_FS_PTE
                             : VTD_FSTRUCT_SS_PTE);
    }
    if (out_in_intr(w, &t))
        return fault(w, w->sm ? VTD_FR_SM_INTR_RANGE : VTD_FR_LEGACY_INTR_RANGE,
                     VTD_FSTRUCT_REQUEST);
    return ok_result(w, &t);

ats_none:
    {
        VtdXlateResult *r = w->res;
        r->status = VTD_XLATE_OK;
        r->out_addr = 0;
        r->page_size = 4096;
        r->perm = 0;
        r->did = w->did;
        r->pgtt = pgtt;
        return VTD_XLATE_OK;
    }
}

static VtdXlateStatus translate_legacy(Walk *w)
{
    Ctx ctx;
    if (get_context(w, &ctx) != VTD_XLATE_OK)
        return w->res->status;
    VtdContextEntry c = {{ctx.val[0], ctx.val[1]}};
    if (vtd_ce_FPD(&c))
        w->fpd = true;
    w->did = (uint16_t)vtd_ce_DID(&c);
    unsigned tt = (unsigned)vtd_ce_TT(&c);
    if (w->req->at != VTD_AT_UNTRANSLATED && tt != VTD_TT_DEVTLB)
        return fault(w, VTD_FR_TT_BLOCKED, VTD_FSTRUCT_CONTEXT);
    if (w->req->at == VTD_AT_TRANSLATED)
        return identity(w, w->did, VTD_PGTT_SECOND_STAGE, false);
    if (tt == VTD_TT_PASSTHROUGH) {
        if (w->req->addr >> w->haw)
            return fault(w, VTD_FR_ADDR_BEYOND_AW, VTD_FSTRUCT_REQUEST);
        return identity(w, w->did, VTD_PGTT_PASS_THROUGH, false);
    }
    unsigned levels = (unsigned)vtd_ce_AW(&c) + 2;
    if (w->req->addr >> ss_width(w, levels))
        return fault(w, VTD_FR_ADDR_BEYOND_AW, VTD_FSTRUCT_REQUEST);
    w->pasid_tag = NOPASID;
    return translate_paged(w, VTD_PGTT_SECOND_STAGE, vtd_ce_SLPTPTR(&c) << 12, levels);
}

static VtdXlateStatus translate_scalable(Walk *w)
{
    const VtdXlateRequest *req = w->req;
    Ctx ctx;
    if (get_context(w, &ctx) != VTD_XLATE_OK)
        return w->res->status;
    VtdSmContextEntry c = {{ctx.val[0], ctx.val[1], ctx.val[2], ctx.val[3]}};
    if (vtd_sce_FPD(&c))
        w->fpd = true;
    if (req->at != VTD_AT_UNTRANSLATED && !vtd_sce_DTE(&c))
        return fault(w, VTD_FR_SM_DTE_CLEAR, VTD_FSTRUCT_CONTEXT);
    if (req->at == VTD_AT_TRANSLATED)
        return identity(w, 0, VTD_PGTT_PASS_THROUGH, false);

    uint32_t pasid;
    if (req->pasid_present) {
        if (!vtd_sce_PASIDE(&c))
            return fault(w, VTD_FR_SM_PASIDE_CLEAR, VTD_FSTRUCT_CONTEXT);
        pasid = req->pasid & 0xfffff;
        if ((pasid >> 6) >= (1u << (vtd_sce_PDTS(&c) + 7)))
            return fault(w, VTD_FR_SM_PASID_BEYOND_PDTS, VTD_FSTRUCT_CONTEXT);
    } else {
        pasid = (uint32_t)vtd_sce_RID_PASID(&c);
        w->priv = vtd_sce_RID_PRIV(&c) != 0;
        w->exec = false;
    }
    if (get_pasid_entry(w, &c, pasid) != VTD_XLATE_OK)
        return w->res->status;
    unsigned pgtt = (unsigned)vtd_pe_PGTT(&w->pe);
    w->did = (uint16_t)vtd_pe_DID(&w->pe);
    bool uses_fs = pgtt == VTD_PGTT_FIRST_STAGE || pgtt == VTD_PGTT_NESTED;
    if (uses_fs && w->exec && !vtd_pe_ERE(&w->pe))
        return fault(w, VTD_FR_SM_ERE_CLEAR, VTD_FSTRUCT_PASID_ENTRY);
    if (uses_fs && w->priv && !vtd_pe_SRE(&w->pe))
        return fault(w, VTD_FR_SM_SRE_CLEAR, VTD_FSTRUCT_PASID_ENTRY);
    if (!uses_fs)
        w->exec = false;

    if (pgtt == VTD_PGTT_PASS_THROUGH) {
        if (req->addr >> w->haw)
            return fault(w, VTD_FR_SM_ADDR_BEYOND_HW, VTD_FSTRUCT_REQUEST);
        if (w->ats ? vtd_in_intr_range(req->addr & PG_MASK, 4096) : vtd_in_intr_range(req->addr, req->len))
            return fault(w, VTD_FR_SM_INTR_RANGE, VTD_FSTRUCT_REQUEST);
        return identity(w, w->did, VTD_PGTT_PASS_THROUGH, vtd_pe_PGSNP(&w->pe));
    }
    unsigned levels = ss_levels(&w->pe);
    uint64_t ss_root = vtd_pe_SSPTPTR(&w->pe) << 12;
    if (pgtt == VTD_PGTT_SECOND_STAGE) {
        w->pasid_tag = NOPASID;
        if (req->addr >> ss_width(w, levels))
            return fault(w, VTD_FR_SM_SS_ADDR_BEYOND, VTD_FSTRUCT_REQUEST);
        return translate_paged(w, pgtt, ss_root, levels);
    }
    w->pasid_tag = pasid;
    unsigned va_bits = vtd_pe_FSPM(&w->pe) ? 57 : 48;
    int64_t sx = (int64_t)(req->addr << (64 - va_bits)) >> (64 - va_bits);
    if ((uint64_t)sx != req->addr)
        return fault(w, VTD_FR_SM_NON_CANONICAL, VTD_FSTRUCT_REQUEST);
    return translate_paged(w, pgtt, ss_root, levels);
}

VtdXlateStatus vtd_xlate_translate(VtdXlate *x, const VtdXlateRequest *req, VtdXlateResult *res)
{
    memset(res, 0, sizeof(*res));
    Walk w = {0};
    w.x = x;
    w.req = req;
    w.res = res;
    w.cap = x->cfg.cap;
    w.ecap = x->cfg.ecap;
    w.haw = x->cfg.haw ? x->cfg.haw : (unsigned)vtd_cap_MGAW(w.cap) + 1;
    if (w.haw > 52)
        w.haw = 52;
    unsigned rs = w.haw < 12 ? 12 : w.haw;
    w.haw_rsvd = vtd_field_mask(rs, 52 - rs);
    w.ats = req->at == VTD_AT_TRANSLATION;
    w.write = req->write && !w.ats;
    w.priv = req->pasid_present && req->priv;
    w.exec = req->pasid_present && req->exec;
    w.pasid_tag = NOPASID;

    if (req->at == VTD_AT_UNTRANSLATED && !req->pasid_present && vtd_in_intr_range(req->addr, req->len)) {
        res->status = req->write ? VTD_XLATE_INTERRUPT : VTD_XLATE_UR;
        return res->status;
    }
    if (!x->cfg.te)
        return identity(&w, 0, VTD_PGTT_PASS_THROUGH, false);
    if (req->at == VTD_AT_TRANSLATED && vtd_in_intr_range(req->addr, req->len)) {
        res->status = VTD_XLATE_UR;
        return res->status;
    }
    switch ((x->cfg.rtaddr >> 10) & 3) {
    case 0:
        if (req->pasid_present)
            return fault(&w, VTD_FR_SM_TTM_PASID, VTD_FSTRUCT_REQUEST);
        w.sm = false;
        return translate_legacy(&w);
    case 1:
        if (!vtd_ecap_SMTS(w.ecap))
            return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
        w.sm = true;
        return translate_scalable(&w);
    case 2:
        return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
    default:
        if (!vtd_ecap_ADMS(w.ecap))
            return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
        res->status = VTD_XLATE_UR;
        return res->status;
    }
}

VtdXlateStatus vtd_xlate_check_page_request(VtdXlate *x, const VtdXlateRequest *req,
                                            VtdXlateResult *res)
{
    memset(res, 0, sizeof(*res));
    Walk w = {0};
    w.x = x;
    w.req = req;
    w.res = res;
    w.cap = x->cfg.cap;
    w.ecap = x->cfg.ecap;
    w.haw = x->cfg.haw ? x->cfg.haw : (unsigned)vtd_cap_MGAW(w.cap) + 1;
    if (w.haw > 52)
        w.haw = 52;
    unsigned rs = w.haw < 12 ? 12 : w.haw;
    w.haw_rsvd = vtd_field_mask(rs, 52 - rs);
    w.pasid_tag = NOPASID;
    if (!x->cfg.te) {
        res->status = VTD_XLATE_UR;
        return res->status;
    }
    switch ((x->cfg.rtaddr >> 10) & 3) {
    case 0:
        return fault(&w, VTD_FR_SM_TTM_PRQ, VTD_FSTRUCT_REQUEST);
    case 1:
        if (!vtd_ecap_SMTS(w.ecap))
            return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
        break;
    case 2:
        return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
    default:
        if (!vtd_ecap_ADMS(w.ecap))
            return fault(&w, VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST);
        res->status = VTD_XLATE_UR;
        return res->status;
    }
    w.sm = true;
    Ctx ctx;
    if (get_context(&w, &ctx) != VTD_XLATE_OK)
        return res->status;
    VtdSmContextEntry c = {{ctx.val[0], ctx.val[1], ctx.val[2], ctx.val[3]}};
    if (vtd_sce_FPD(&c))
        w.fpd = true;
    if (!vtd_sce_PRE(&c))
        return fault(&w, VTD_FR_SM_PRE_CLEAR, VTD_FSTRUCT_CONTEXT);
    if (req->pasid_present && !vtd_sce_PASIDE(&c))
        return fault(&w, VTD_FR_SM_PASIDE_CLEAR, VTD_FSTRUCT_CONTEXT);
    res->status = VTD_XLATE_OK;
    return res->status;
}

/* ------------------------------------------------------------------ */
/* Invalidation                                                        */
/* ------------------------------------------------------------------ */

typedef struct InvSel {
    uint64_t did;
    uint64_t pasid;
    uint64_t sid, sid_mask;
    uint64_t lo, hi;       /* address range, inclusive */
    bool any_did, any_pasid, range;
    unsigned which;        /* bit mask of classes: 1 SS-only, 2 FS, 4 nested */
    unsigned psc_stages;   /* bit mask of STAGE_* */
} InvSel;

static bool m_ctx_domain(const VtdCacheEntry *e, const void *o)
{
    const InvSel *s = o;
    if (e->key[1]) /* scalable-mode entry: no DID in the context entry */
        return true;
    VtdContextEntry c = {{e->val[0], e->val[1]}};
    return vtd_ce_DID(&c) == s->did;
}

static bool m_ctx_device(const VtdCacheEntry *e, const void *o)
{
    const InvSel *s = o;
    return (e->key[0] & s->sid_mask) == (s->sid & s->sid_mask);
}

static bool m_pasid(const VtdCacheEntry *e, const void *o)
{
    const InvSel *s = o;
    VtdPasidEntry pe = {{e->val[0], e->val[1]}};
    if (!s->any_did && vtd_pe_DID(&pe) != s->did)
        return false;
    return s->any_pasid || e->key[1] == s->pasid;
}

static bool overlaps(uint64_t base, unsigned shift, const InvSel *s)
{
    uint64_t end = base + ((1ull << shift) - 1);
    return base <= s->hi && end >= s->lo;
}

static unsigned iotlb_class(unsigned pgtt)
{
    return pgtt == VTD_PGTT_FIRST_STAGE ? 2 : pgtt == VTD_PGTT_NESTED ? 4 : 1;
}

static bool m_iotlb(const VtdCacheEntry *e, const void *o)
{
    const InvSel *s = o;
    if (!s->any_did && e->key[0] != s->did)
        return false;
    if (!s->any_pasid && e->key[1] != s->pasid)
        return false;
    unsigned cls = iotlb_class((unsigned)e->val[1] & 7);
    if (!(s->which & cls))
        return false;
    /* nested translations are keyed by first-stage input: a second-stage
     * page-selective invalidation cannot locate them and drops them all */
    if (s->range && !(cls == 4 && !(s->which & 2)))
        return overlaps(e->key[2] << vtd_level_shift((unsigned)e->key[3]),
                        vtd_level_shift((unsigned)e->key[3]), s);
    return true;
}

typedef struct PscSel {
    const InvSel *s;
    unsigned level;
} PscSel;

static bool m_psc(const VtdCacheEntry *e, const void *o)
{
    const PscSel *p = o;
    const InvSel *s = p->s;
    unsigned stage = (unsigned)e->key[2] & 0xff;
    if (!(s->psc_stages & (1u << stage)))
        return false;
    if (!s->any_did && e->key[0] != s->did)
        return false;
    if (!s->any_pasid && e->key[1] != s->pasid)
        return false;
    if (s->range && !(stage == STAGE_FS_NESTED && !(s->which & 2))) {
        unsigned sh = vtd_level_shift(p->level);
        return overlaps(e->key[3] << sh, sh, s);
    }
    return true;
}

static void inv_iotlb_and_psc(VtdXlate *x, const InvSel *s, bool ih)
{
    vtd_cache_invalidate(x->c[VTD_CACHE_IOTLB], m_iotlb, s);
    if (ih)
        return;
    for (unsigned lvl = 2; lvl <= 5; lvl++) {
        PscSel p = {s, lvl};
        vtd_cache_invalidate(x->c[psc_id(lvl)], m_psc, &p);
    }
}

void vtd_xlate_flush_all(VtdXlate *x)
{
    for (int i = 0; i < VTD_CACHE_COUNT; i++)
        vtd_cache_invalidate(x->c[i], NULL, NULL);
}

void vtd_xlate_inv_context_global(VtdXlate *x)
{
    vtd_cache_invalidate(x->c[VTD_CACHE_CONTEXT], NULL, NULL);
}

void vtd_xlate_inv_context_domain(VtdXlate *x, uint16_t did)
{
    InvSel s = {.did = did};
    vtd_cache_invalidate(x->c[VTD_CACHE_CONTEXT], m_ctx_domain, &s);
}

void vtd_xlate_inv_context_device(VtdXlate *x, uint16_t did, uint16_t sid, unsigned fm)
{
    (void)did;
    static const uint16_t masks[4] = {0xffff, 0xfffb, 0xfff9, 0xfff8};
    InvSel s = {.sid = sid, .sid_mask = masks[fm & 3]};
    vtd_cache_invalidate(x->c[VTD_CACHE_CONTEXT], m_ctx_device, &s);
}

void vtd_xlate_inv_iotlb_global(VtdXlate *x)
{
    vtd_cache_invalidate(x->c[VTD_CACHE_IOTLB], NULL, NULL);
    for (unsigned lvl = 2; lvl <= 5; lvl++)
        vtd_cache_invalidate(x->c[psc_id(lvl)], NULL, NULL);
}

void vtd_xlate_inv_iotlb_domain(VtdXlate *x, uint16_t did)
{
    InvSel s = {.did = did, .any_pasid = true, .which = 7,
                .psc_stages = (1u << STAGE_SS) | (1u << STAGE_FS) | (1u << STAGE_FS_NESTED)};
    inv_iotlb_and_psc(x, &s, false);
}

static void range_of(InvSel *s, uint64_t addr, unsigned am)
{
    if (am > 52)
        am = 52;
    uint64_t size = 1ull << (12 + am);
    s->lo = addr & ~(size - 1) & PG_MASK;
    s->hi = s->lo + size - 1;
    s->range = true;
}

void vtd_xlate_inv_iotlb_page(VtdXlate *x, uint16_t did, uint64_t addr, unsigned am, bool ih)
{
    /* IVA.ADDR bits above MGAW are ignored by hardware */
    unsigned mgaw = (unsigned)vtd_cap_MGAW(x->cfg.cap) + 1;
    if (mgaw < 64)
        addr &= (1ull << mgaw) - 1;
    InvSel s = {.did = did, .any_pasid = true, .which = 1 | 4,
                .psc_stages = (1u << STAGE_SS) | (1u << STAGE_FS_NESTED)};
    range_of(&s, addr, am);
    inv_iotlb_and_psc(x, &s, ih);
}

void vtd_xlate_inv_pasid_global(VtdXlate *x)
{
    vtd_cache_invalidate(x->c[VTD_CACHE_PASID], NULL, NULL);
}

void vtd_xlate_inv_pasid_domain(VtdXlate *x, uint16_t did)
{
    InvSel s = {.did = did, .any_pasid = true};
    vtd_cache_invalidate(x->c[VTD_CACHE_PASID], m_pasid, &s);
}

void vtd_xlate_inv_pasid_pasid(VtdXlate *x, uint16_t did, uint32_t pasid)
{
    InvSel s = {.did = did, .pasid = pasid};
    vtd_cache_invalidate(x->c[VTD_CACHE_PASID], m_pasid, &s);
}

void vtd_xlate_inv_piotlb_domain(VtdXlate *x, uint16_t did)
{
    InvSel s = {.did = did, .any_pasid = true, .which = 2 | 4,
                .psc_stages = (1u << STAGE_FS) | (1u << STAGE_FS_NESTED)};
    inv_iotlb_and_psc(x, &s, false);
}

void vtd_xlate_inv_piotlb_pasid(VtdXlate *x, uint16_t did, uint32_t pasid)
{
    InvSel s = {.did = did, .pasid = pasid, .which = 2 | 4,
                .psc_stages = (1u << STAGE_FS) | (1u << STAGE_FS_NESTED)};
    inv_iotlb_and_psc(x, &s, false);
}

void vtd_xlate_inv_piotlb_page(VtdXlate *x, uint16_t did, uint32_t pasid, uint64_t addr,
                               unsigned am, bool ih)
{
    InvSel s = {.did = did, .pasid = pasid, .which = 2 | 4,
                .psc_stages = (1u << STAGE_FS) | (1u << STAGE_FS_NESTED)};
    range_of(&s, addr, am);
    inv_iotlb_and_psc(x, &s, ih);
}

/* ------------------------------------------------------------------ */
/* Read-only inspection                                                */
/* ------------------------------------------------------------------ */

_Static_assert((int)VTD_PSC_STAGE_SS == (int)STAGE_SS && (int)VTD_PSC_STAGE_FS == (int)STAGE_FS &&
                   (int)VTD_PSC_STAGE_FS_NESTED == (int)STAGE_FS_NESTED,
               "public PSC stage tags are the internal ones");

static uint64_t peek_pasid_tag(int64_t pasid)
{
    return pasid < 0 ? NOPASID : (uint64_t)pasid;
}

bool vtd_xlate_peek_context(const VtdXlate *x, uint16_t sid, bool scalable, uint64_t val[4])
{
    uint64_t k[VTD_CACHE_KEY_WORDS] = {sid, scalable, 0, 0};
    const VtdCacheEntry *e = vtd_cache_peek(x->c[VTD_CACHE_CONTEXT], k);
    if (e)
        memcpy(val, e->val, 4 * sizeof(uint64_t));
    return e != NULL;
}

bool vtd_xlate_peek_pasid(const VtdXlate *x, uint16_t sid, uint32_t pasid, uint64_t val[3])
{
    uint64_t k[VTD_CACHE_KEY_WORDS] = {sid, pasid, 0, 0};
    const VtdCacheEntry *e = vtd_cache_peek(x->c[VTD_CACHE_PASID], k);
    if (e)
        memcpy(val, e->val, 3 * sizeof(uint64_t));
    return e != NULL;
}

bool vtd_xlate_peek_iotlb(const VtdXlate *x, uint16_t did, int64_t pasid, uint64_t addr,
                          VtdIotlbPeek *out)
{
    for (unsigned level = 1; level <= 3; level++) {
        uint64_t k[VTD_CACHE_KEY_WORDS] = {did, peek_pasid_tag(pasid),
                                           addr >> vtd_level_shift(level), level};
        const VtdCacheEntry *e = vtd_cache_peek(x->c[VTD_CACHE_IOTLB], k);
        if (!e)
            continue;
        unsigned f = (unsigned)e->val[1];
        uint64_t size = 1ull << vtd_level_shift(level);
        memset(out, 0, sizeof(*out));
        out->out_addr = e->val[0] | (addr & (size - 1));
        out->page_size = size;
        out->pgtt = f & 7;
        out->has_fs = f & IF_HAS_FS;
        out->has_ss = f & IF_HAS_SS;
        out->fs_rw = f & IF_FS_RW;
        out->fs_us = f & IF_FS_US;
        out->fs_xd = f & IF_FS_XD;
        out->ss_perm = (f >> IF_SS_SHIFT) & 7;
        out->dirty = f & IF_DIRTY;
        out->snoop = f & IF_SNOOP;
        out->global = f & IF_GLOBAL;
        return true;
    }
    return false;
}

bool vtd_xlate_peek_psc(const VtdXlate *x, unsigned level, uint16_t did, int64_t pasid,
                        unsigned stage, unsigned levels, uint64_t in, uint64_t *next_table,
                        unsigned *acc)
{
    if (level < 2 || level > 5)
        return false;
    uint64_t k[VTD_CACHE_KEY_WORDS] = {did, peek_pasid_tag(pasid), stage | ((uint64_t)levels << 8),
                                       in >> vtd_level_shift(level)};
    const VtdCacheEntry *e = vtd_cache_peek(x->c[psc_id(level)], k);
    if (!e)
        return false;
    *next_table = e->val[0];
    *acc = (unsigned)e->val[1];
    return true;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

void vtd_xlate_get_stats(const VtdXlate *x, VtdCacheId id, VtdCacheStats *out)
{
    g_assert((unsigned)id < VTD_CACHE_COUNT);
    vtd_cache_get_stats(x->c[id], out);
}

void vtd_xlate_reset_stats(VtdXlate *x)
{
    for (int i = 0; i < VTD_CACHE_COUNT; i++)
        vtd_cache_reset_stats(x->c[i]);
}

unsigned vtd_xlate_cache_occupancy(const VtdXlate *x, VtdCacheId id)
{
    g_assert((unsigned)id < VTD_CACHE_COUNT);
    return vtd_cache_occupancy(x->c[id]);
}
