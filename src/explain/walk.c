/*
 * The page-walk explainer (walk.h): one request, every step recorded.
 *
 * The order of the checks is the translation engine's (the list at the
 * top of models/vtd/vtd_xlate.c), re-stated here as straight-line code
 * that records what it reads; check_explain compares the verdict with
 * vtd_unit_translate() over random requests, so the two cannot drift
 * apart silently.  Nothing is written: where the engine would set A/D
 * flags the explainer says so, and checks only what that write needs
 * (the nested 0x77 rule).
 *
 * Field names and bit ranges come from the vtd_entries.h accessors (the
 * mask of a field is obtained by calling its setter on an empty entry),
 * so the layout has one definition.
 */
#include "explain/walk.h"
#include "models/vtd/vtd_access.h"

#include <stdarg.h>
#include <string.h>

#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_ir.h"
#include "models/vtd/vtd_regs.h"

#define INTR_LO VTD_INTR_LO
#define INTR_HI VTD_INTR_HI
#define PG_MASK (~UINT64_C(0xfff))

enum { RC_NP = 0x100 };

typedef struct Ex {
    AddrSpace *mem;
    const VtdXlateConfig *cfg;
    const VtdXlate *xl;
    const VtdXlateRequest *req;
    ExplainWalk *w;
    uint64_t cap, ecap;
    unsigned haw;
    uint64_t haw_rsvd;
    bool sm, fpd, ats, write, priv, exec;
    uint16_t did;
    int64_t pasid_tag;
    VtdPasidEntry pe;
    unsigned depth;
} Ex;

const char *explain_kind_name(ExplainKind k)
{
    static const char *const n[] = {"check", "root", "context", "pasid-dir", "pasid-entry",
                                    "fs", "ss", "irte"};
    return (unsigned)k < G_N_ELEMENTS(n) ? n[k] : "?";
}

/* ---- recording ------------------------------------------------------------- */

static ExplainStep *step_new(Ex *x, ExplainKind kind, char *title)
{
    ExplainStep *s = g_new0(ExplainStep, 1);
    s->kind = kind;
    s->title = title;
    s->depth = x->depth;
    s->fields = g_array_new(FALSE, TRUE, sizeof(ExplainField));
    g_ptr_array_add(x->w->steps, s);
    return s;
}

static void step_free(gpointer p)
{
    ExplainStep *s = p;
    for (guint i = 0; i < s->fields->len; i++) {
        ExplainField *f = &g_array_index(s->fields, ExplainField, i);
        g_free(f->name);
        g_free(f->meaning);
    }
    g_array_free(s->fields, TRUE);
    g_free(s->title);
    g_free(s->index_from);
    g_free(s->rights);
    g_free(s->verdict);
    g_free(s->cache);
    g_free(s);
}

static void check_step(Ex *x, const char *title, char *verdict)
{
    ExplainStep *s = step_new(x, EXPLAIN_CHECK, g_strdup(title));
    s->verdict = verdict;
}

static void set_verdict(ExplainStep *s, char *v)
{
    g_free(s->verdict);
    s->verdict = v;
}

/* Adds field @name whose mask over the entry words is @mask; takes @meaning. */
static void add_field(ExplainStep *s, const char *name, const uint64_t *mask, unsigned nw,
                      char *meaning)
{
    for (unsigned w = 0; w < nw; w++) {
        if (!mask[w])
            continue;
        unsigned lo = (unsigned)__builtin_ctzll(mask[w]);
        unsigned hi = 63 - (unsigned)__builtin_clzll(mask[w]);
        ExplainField f = {g_strdup(name), 64 * w + hi, 64 * w + lo,
                          (s->raw[w] & mask[w]) >> lo, meaning};
        g_array_append_val(s->fields, f);
        return;
    }
    g_free(meaning);
}

#define FIELD(st, T, prefix, NAME, meaning)                                  \
    do {                                                                     \
        T m_;                                                                \
        memset(&m_, 0, sizeof m_);                                           \
        prefix##_set_##NAME(&m_, ~UINT64_C(0));                              \
        add_field((st), #NAME, m_.val, G_N_ELEMENTS(m_.val), (meaning));     \
    } while (0)

static char *onoff(uint64_t v, const char *on, const char *off)
{
    return g_strdup(v ? on : off);
}

static char *ptr_meaning(uint64_t pfn, const char *what)
{
    return g_strdup_printf("%s at 0x%" G_GINT64_MODIFIER "x", what, (guint64)(pfn << 12));
}

/* ---- helpers mirroring the engine ------------------------------------------ */

static bool rd64(Ex *x, uint64_t a, uint64_t *v)
{
    *v = 0;
    if (a & 7)
        return false;
    return addr_space_read(x->mem, a, 8, v) == MEMTX_OK;
}

static VtdXlateStatus fault(Ex *x, unsigned fr, VtdFaultStruct where)
{
    VtdXlateResult *r = &x->w->res;
    r->status = VTD_XLATE_FAULT;
    r->fault_reason = (uint8_t)fr;
    r->fault_qualified = vtd_fault_is_qualified(fr);
    r->fault_fpd = x->fpd;
    r->fault_record = !(r->fault_qualified && r->fault_fpd);
    r->fault_struct = where;
    r->fault_addr = x->req->addr & PG_MASK;
    if (x->w->steps->len) {
        ExplainStep *last = g_ptr_array_index(x->w->steps, x->w->steps->len - 1);
        last->fault = true;
    }
    return VTD_XLATE_FAULT;
}

static VtdXlateStatus fault_at(Ex *x, ExplainStep *s, unsigned fr, VtdFaultStruct where,
                               char *why)
{
    set_verdict(s, g_strdup_printf("%s -> fault 0x%02x", why, fr));
    g_free(why);
    fault(x, fr, where);
    s->fault = true;
    return VTD_XLATE_FAULT;
}

static VtdXlateStatus fault_check(Ex *x, const char *title, unsigned fr, VtdFaultStruct where,
                                  char *why)
{
    ExplainStep *s = step_new(x, EXPLAIN_CHECK, g_strdup(title));
    return fault_at(x, s, fr, where, why);
}

static VtdXlateStatus ok_result(Ex *x, uint64_t out, uint64_t page_size, unsigned perm,
                                unsigned pgtt, bool snoop)
{
    VtdXlateResult *r = &x->w->res;
    r->status = VTD_XLATE_OK;
    r->out_addr = out;
    r->page_size = page_size;
    r->perm = perm;
    r->did = x->did;
    r->pgtt = pgtt;
    r->snoop = snoop;
    return VTD_XLATE_OK;
}

static VtdXlateStatus ats_none(Ex *x, unsigned pgtt, const char *why)
{
    check_step(x, "translation request outcome",
               g_strdup_printf("%s: an ATS translation request gets a completion with no "
                               "permission (no fault is recorded)", why));
    VtdXlateResult *r = &x->w->res;
    r->status = VTD_XLATE_OK;
    r->out_addr = 0;
    r->page_size = 4096;
    r->perm = 0;
    r->did = x->did;
    r->pgtt = pgtt;
    return VTD_XLATE_OK;
}

static char *perm_str(unsigned p)
{
    if (!(p & (VTD_PERM_R | VTD_PERM_W | VTD_PERM_X)))
        return g_strdup("none");
    GString *s = g_string_new(NULL);
    if (p & VTD_PERM_R)
        g_string_append(s, "R ");
    if (p & VTD_PERM_W)
        g_string_append(s, "W ");
    if (p & VTD_PERM_X)
        g_string_append(s, "X ");
    if (p & VTD_PERM_PRIV)
        g_string_append(s, "Priv ");
    g_string_truncate(s, s->len - 1);
    return g_string_free(s, FALSE);
}

static const char *ss_level_name(unsigned level)
{
    static const char *const n[] = {"?", "PTE", "PDE", "PDPE", "PML4E", "PML5E"};
    return level <= 5 ? n[level] : "?";
}

static const char *psc_name(unsigned level)
{
    switch (level) {
    case 2: return vtd_cache_name(VTD_CACHE_PSC_PDE);
    case 3: return vtd_cache_name(VTD_CACHE_PSC_PDPE);
    case 4: return vtd_cache_name(VTD_CACHE_PSC_PML4);
    default: return vtd_cache_name(VTD_CACHE_PSC_PML5);
    }
}

static char *index_bits(const char *what, unsigned level)
{
    unsigned lo = vtd_level_shift(level);
    return g_strdup_printf("%s[%u:%u]", what, lo + 8, lo);
}

/* ---- second stage ------------------------------------------------------------ */

typedef struct SsO {
    uint64_t out;
    unsigned level;
    unsigned perm;
    bool snp, ipat;
    uint8_t emt;
} SsO;

static uint64_t ss_rsvd(Ex *x, unsigned level, uint64_t e, bool leaf)
{
    VtdSsPte m;
    memset(&m, 0, sizeof m);
    vtd_sspte_set_PS(&m, 1);
    uint64_t ps = m.val[0];
    uint64_t r = x->haw_rsvd;
    if (!leaf)
        return e & (level >= 4 ? r | ps : r);
    unsigned sllps = (unsigned)vtd_cap_SLLPS(x->cap);
    if (level == 2 && !(sllps & VTD_SLLPS_2M))
        r |= ps;
    if (level == 3 && !(sllps & VTD_SLLPS_1G))
        r |= ps;
    if (level == 2)
        r |= 0x1ff000ull;
    if (level == 3)
        r |= 0x3ffff000ull;
    memset(&m, 0, sizeof m);
    if (!vtd_ecap_SC(x->ecap))
        vtd_sspte_set_SNP(&m, 1);
    vtd_sspte_set_TM(&m, 1);
    return e & (r | m.val[0]);
}

/*
 * Walks the second stage; returns 0, RC_NP or a fault reason (no fault
 * recorded: the caller decides).  @what names the walked address in the
 * titles ("IOVA" or "GPA").
 */
static int ss_walk(Ex *x, uint64_t root, unsigned levels, uint64_t in, const char *what,
                   SsO *o)
{
    uint64_t table = root;
    unsigned acc = VTD_PERM_R | VTD_PERM_W | VTD_PERM_X;
    for (unsigned lvl = levels;; lvl--) {
        unsigned idx = (unsigned)((in >> vtd_level_shift(lvl)) & 511);
        uint64_t ea = table + idx * 8ull;
        ExplainStep *s = step_new(x, EXPLAIN_SS,
                                  g_strdup_printf("second-stage %s (level %u) for %s 0x%" G_GINT64_MODIFIER "x",
                                                  ss_level_name(lvl), lvl, what, (guint64)in));
        s->level = lvl;
        s->input = in;
        s->table = table;
        s->index = idx;
        s->index_from = index_bits(what, lvl);
        s->addr = ea;
        s->nwords = 1;
        uint64_t e;
        s->read_ok = rd64(x, ea, &e);
        if (!s->read_ok) {
            set_verdict(s, g_strdup("the entry cannot be read"));
            if (x->sm)
                return lvl == levels ? VTD_FR_SM_SSPTPTR_INVALID : VTD_FR_SM_SS_ACCESS;
            return VTD_FR_SL_ENTRY_ACCESS;
        }
        s->raw[0] = e;
        VtdSsPte p = {{e}};
        bool leaf = lvl == 1 || (lvl <= 3 && vtd_sspte_PS(&p));
        FIELD(s, VtdSsPte, vtd_sspte, R, onoff(vtd_sspte_R(&p), "read allowed", "no read"));
        FIELD(s, VtdSsPte, vtd_sspte, W, onoff(vtd_sspte_W(&p), "write allowed", "no write"));
        FIELD(s, VtdSsPte, vtd_sspte, X, onoff(vtd_sspte_X(&p), "execute allowed", "no execute"));
        if (leaf) {
            FIELD(s, VtdSsPte, vtd_sspte, EMT, NULL);
            FIELD(s, VtdSsPte, vtd_sspte, IPAT, NULL);
        }
        if (lvl == 2 || lvl == 3)
            FIELD(s, VtdSsPte, vtd_sspte, PS,
                  onoff(vtd_sspte_PS(&p), "leaf: large page", "points to a table"));
        FIELD(s, VtdSsPte, vtd_sspte, A, NULL);
        if (leaf) {
            FIELD(s, VtdSsPte, vtd_sspte, D, NULL);
            FIELD(s, VtdSsPte, vtd_sspte, SNP, NULL);
        }
        FIELD(s, VtdSsPte, vtd_sspte, ADDR,
              leaf ? ptr_meaning(vtd_sspte_ADDR(&p), "page frame")
                   : ptr_meaning(vtd_sspte_ADDR(&p), "next table"));
        if (!vtd_sspte_R(&p) && !vtd_sspte_W(&p)) {
            set_verdict(s, g_strdup("not present (R=0 and W=0)"));
            return RC_NP;
        }
        uint64_t bad = ss_rsvd(x, lvl, e, leaf);
        if (bad) {
            set_verdict(s, g_strdup_printf("reserved bits set: 0x%016" G_GINT64_MODIFIER "x",
                                           (guint64)bad));
            return x->sm ? VTD_FR_SM_SS_RESERVED : VTD_FR_SL_ENTRY_RESERVED;
        }
        acc &= (vtd_sspte_R(&p) ? VTD_PERM_R : 0) | (vtd_sspte_W(&p) ? VTD_PERM_W : 0) |
               (vtd_sspte_X(&p) ? VTD_PERM_X : 0);
        s->rights = perm_str(acc);
        uint64_t next = vtd_sspte_ADDR(&p) << 12;
        if (!leaf) {
            set_verdict(s, g_strdup_printf("present: next table at 0x%" G_GINT64_MODIFIER "x",
                                           (guint64)next));
            uint64_t cn;
            unsigned ca;
            if (x->xl && vtd_xlate_peek_psc(x->xl, lvl, x->did, -1, VTD_PSC_STAGE_SS, levels, in,
                                            &cn, &ca)) {
                s->stale = cn != next || ca != acc;
                s->cache = g_strdup_printf("%s holds next table 0x%" G_GINT64_MODIFIER "x%s",
                                           psc_name(lvl),
                                           (guint64)cn, s->stale ? " (STALE: differs from memory)" : " (same as memory)");
            }
            table = next;
            continue;
        }
        uint64_t size = 1ull << vtd_level_shift(lvl);
        o->out = (next & ~(size - 1)) | (in & (size - 1));
        o->level = lvl;
        o->perm = acc;
        o->snp = vtd_ecap_SC(x->ecap) && vtd_sspte_SNP(&p);
        o->emt = (uint8_t)vtd_sspte_EMT(&p);
        o->ipat = vtd_sspte_IPAT(&p);
        set_verdict(s, g_strdup_printf("leaf: %s page, %s 0x%" G_GINT64_MODIFIER "x -> 0x%" G_GINT64_MODIFIER "x",
                                       lvl == 1 ? "4 KiB" : lvl == 2 ? "2 MiB" : "1 GiB", what,
                                       (guint64)in, (guint64)o->out));
        return 0;
    }
}

static unsigned ss_width(Ex *x, unsigned levels)
{
    unsigned agaw = 30 + 9 * (levels - 2);
    unsigned mgaw = (unsigned)vtd_cap_MGAW(x->cap) + 1;
    return agaw < mgaw ? agaw : mgaw;
}

/* ---- first stage ------------------------------------------------------------- */

static const char *fs_level_name(unsigned level)
{
    static const char *const n[] = {"?", "PTE", "PDE", "PDPE", "PML4E", "PML5E"};
    return level <= 5 ? n[level] : "?";
}

typedef struct FsO {
    uint64_t out;
    unsigned level;
    bool rw, us, xd, g;
} FsO;

typedef struct FsTrail {
    uint64_t val[5];
    bool ss_w[5];
    ExplainStep *step[5];
    unsigned n;
} FsTrail;

static uint64_t fs_rsvd(Ex *x, unsigned level, uint64_t e, bool leaf)
{
    VtdFsPte m;
    memset(&m, 0, sizeof m);
    vtd_fspte_set_PS(&m, 1);
    uint64_t ps = m.val[0];
    uint64_t r = x->haw_rsvd;
    if (level >= 4)
        r |= ps;
    if (leaf && level == 3) {
        r |= 0x3fffe000ull;
        if (!vtd_cap_FS1GP(x->cap))
            r |= ps;
    }
    if (leaf && level == 2)
        r |= 0x1fe000ull;
    return e & r;
}

/* The second-stage translation of a first-stage table's guest address. */
static int nested_table(Ex *x, uint64_t gpa, bool is_root, uint64_t *hpa, bool *ss_w)
{
    unsigned levels = (unsigned)vtd_pe_AW(&x->pe) + 2;
    if (gpa >> ss_width(x, levels)) {
        check_step(x, "first-stage table address",
                   g_strdup_printf("GPA 0x%" G_GINT64_MODIFIER "x is beyond the second-stage "
                                   "width of %u bits", (guint64)gpa, ss_width(x, levels)));
        return VTD_FR_SM_NESTED_FS_BEYOND_SS;
    }
    SsO so = {0};
    x->depth++;
    int rc = ss_walk(x, vtd_pe_SSPTPTR(&x->pe) << 12, levels, gpa, "GPA", &so);
    x->depth--;
    if (rc == RC_NP)
        return VTD_FR_SM_SS_NOT_PRESENT;
    if (rc)
        return rc;
    if (!(so.perm & VTD_PERM_R)) {
        check_step(x, "first-stage table readable?",
                   g_strdup("the second stage does not allow reading the table"));
        return is_root ? VTD_FR_SM_NESTED_FSPTPTR_READ : VTD_FR_SM_NESTED_FS_READ;
    }
    *hpa = so.out;
    *ss_w = (so.perm & VTD_PERM_W) != 0;
    return 0;
}

static char *fs_rights(bool rw, bool us, bool xd)
{
    return g_strdup_printf("R/W=%d U/S=%d XD=%d", rw, us, xd);
}

static int fs_walk(Ex *x, uint64_t va, bool nested, FsO *o, FsTrail *t)
{
    unsigned levels = vtd_pe_FSPM(&x->pe) ? 5 : 4;
    uint64_t table = vtd_pe_FSPTPTR(&x->pe) << 12;
    bool rw = true, us = true, xd = false;
    unsigned stage = nested ? VTD_PSC_STAGE_FS_NESTED : VTD_PSC_STAGE_FS;
    ExplainStep *prev = NULL;
    bool prev_cached = false;
    uint64_t prev_cn = 0;
    unsigned prev_ca = 0, prev_acc = 0;
    t->n = 0;
    for (unsigned lvl = levels;; lvl--) {
        uint64_t host = table;
        bool ss_w = true;
        if (nested) {
            int rc = nested_table(x, table, lvl == levels, &host, &ss_w);
            if (rc)
                return rc;
        }
        if (prev_cached) {
            prev->stale = prev_cn != host || prev_ca != prev_acc;
            prev->cache = g_strdup_printf("%s holds next table 0x%" G_GINT64_MODIFIER "x%s",
                                          psc_name(lvl + 1), (guint64)prev_cn,
                                          prev->stale ? " (STALE: differs from memory)"
                                                      : " (same as memory)");
        }
        unsigned idx = (unsigned)((va >> vtd_level_shift(lvl)) & 511);
        uint64_t ea = host + idx * 8ull;
        ExplainStep *s = step_new(x, EXPLAIN_FS,
                                  g_strdup_printf("first-stage %s (level %u)", fs_level_name(lvl),
                                                  lvl));
        s->level = lvl;
        s->input = va;
        s->table = host;
        s->index = idx;
        s->index_from = index_bits("IOVA", lvl);
        s->addr = ea;
        s->nwords = 1;
        uint64_t e;
        s->read_ok = rd64(x, ea, &e);
        if (!s->read_ok) {
            set_verdict(s, g_strdup("the entry cannot be read"));
            return lvl == levels ? VTD_FR_SM_FSPTPTR_INVALID : VTD_FR_SM_FS_ACCESS;
        }
        s->raw[0] = e;
        VtdFsPte p = {{e}};
        bool leaf = lvl == 1 || (lvl <= 3 && vtd_fspte_PS(&p));
        FIELD(s, VtdFsPte, vtd_fspte, P, onoff(vtd_fspte_P(&p), "present", "not present"));
        FIELD(s, VtdFsPte, vtd_fspte, RW, onoff(vtd_fspte_RW(&p), "writable", "read-only"));
        FIELD(s, VtdFsPte, vtd_fspte, US, onoff(vtd_fspte_US(&p), "user", "supervisor only"));
        FIELD(s, VtdFsPte, vtd_fspte, PWT, NULL);
        FIELD(s, VtdFsPte, vtd_fspte, PCD, NULL);
        FIELD(s, VtdFsPte, vtd_fspte, A, NULL);
        if (leaf)
            FIELD(s, VtdFsPte, vtd_fspte, D, NULL);
        if (lvl == 2 || lvl == 3)
            FIELD(s, VtdFsPte, vtd_fspte, PS,
                  onoff(vtd_fspte_PS(&p), "leaf: large page", "points to a table"));
        if (leaf)
            FIELD(s, VtdFsPte, vtd_fspte, G, NULL);
        FIELD(s, VtdFsPte, vtd_fspte, ADDR,
              leaf ? ptr_meaning(vtd_fspte_ADDR(&p), nested ? "page frame (GPA)" : "page frame")
                   : ptr_meaning(vtd_fspte_ADDR(&p), nested ? "next table (GPA)" : "next table"));
        FIELD(s, VtdFsPte, vtd_fspte, XD, onoff(vtd_fspte_XD(&p), "no execute", "execute allowed"));
        if (!vtd_fspte_P(&p)) {
            set_verdict(s, g_strdup("not present (P=0)"));
            return RC_NP;
        }
        uint64_t bad = fs_rsvd(x, lvl, e, leaf);
        if (bad) {
            set_verdict(s, g_strdup_printf("reserved bits set: 0x%016" G_GINT64_MODIFIER "x",
                                           (guint64)bad));
            return VTD_FR_SM_FS_RESERVED;
        }
        rw = rw && vtd_fspte_RW(&p);
        us = us && vtd_fspte_US(&p);
        xd = xd || vtd_fspte_XD(&p);
        s->rights = fs_rights(rw, us, xd);
        t->val[t->n] = e;
        t->ss_w[t->n] = ss_w;
        t->step[t->n] = s;
        t->n++;
        uint64_t next = vtd_fspte_ADDR(&p) << 12;
        if (!leaf) {
            set_verdict(s, g_strdup_printf("present: next table at %s0x%" G_GINT64_MODIFIER "x",
                                           nested ? "GPA " : "", (guint64)next));
            prev = s;
            prev_acc = (unsigned)rw | ((unsigned)us << 1) | ((unsigned)xd << 2);
            prev_cached = x->xl && vtd_xlate_peek_psc(x->xl, lvl, x->did, x->pasid_tag, stage,
                                                      levels, va, &prev_cn, &prev_ca);
            table = next;
            continue;
        }
        uint64_t size = 1ull << vtd_level_shift(lvl);
        o->out = (next & ~(size - 1)) | (va & (size - 1));
        o->level = lvl;
        o->rw = rw;
        o->us = us;
        o->xd = xd;
        o->g = vtd_fspte_G(&p);
        set_verdict(s, g_strdup_printf("leaf: %s page, IOVA 0x%" G_GINT64_MODIFIER "x -> %s0x%" G_GINT64_MODIFIER "x",
                                       lvl == 1 ? "4 KiB" : lvl == 2 ? "2 MiB" : "1 GiB",
                                       (guint64)va, nested ? "GPA " : "", (guint64)o->out));
        return 0;
    }
}

/* ---- rights ------------------------------------------------------------------ */

typedef struct Rights {
    bool has_fs, has_ss;
    bool fs_rw, fs_us, fs_xd;
    unsigned ss_perm;
} Rights;

/* The narrated walk in the form of the engine's rules (models/vtd/vtd_access.h). */
static VtdAccessRights access_rights(const Rights *r)
{
    return (VtdAccessRights){ .has_fs = r->has_fs, .fs_rw = r->fs_rw, .fs_us = r->fs_us,
                              .fs_xd = r->fs_xd, .has_ss = r->has_ss, .ss_perm = r->ss_perm };
}

static VtdAccessReq access_req(Ex *x)
{
    return (VtdAccessReq){ .sm = x->sm, .priv = x->priv, .exec = x->exec, .write = x->write,
                           .wpe = vtd_pe_WPE(&x->pe), .ats_nw = x->req->ats_nw };
}

static int check_access(Ex *x, const Rights *r)
{
    VtdAccessRights ar = access_rights(r);
    VtdAccessReq q = access_req(x);
    return vtd_access_check(&ar, &q);
}

static unsigned granted(Ex *x, const Rights *r)
{
    VtdAccessRights ar = access_rights(r);
    VtdAccessReq q = access_req(x);
    return vtd_access_granted(&ar, &q);
}

static const char *access_name(Ex *x)
{
    if (x->ats)
        return "translation request";
    return x->write ? "write" : "read";
}

/* Reports what the IOTLB holds for the request and whether it agrees. */
static void iotlb_report(Ex *x)
{
    ExplainWalk *w = x->w;
    if (!x->xl)
        return;
    w->iotlb_hit = vtd_xlate_peek_iotlb(x->xl, x->did, x->pasid_tag, x->req->addr, &w->iotlb);
    if (!w->iotlb_hit) {
        g_ptr_array_add(w->cache_notes,
                        g_strdup_printf("iotlb: miss (DID %u, %s): the walk above is what the "
                                        "hardware does", x->did,
                                        x->pasid_tag < 0 ? "no PASID" : "with PASID"));
        return;
    }
    const VtdIotlbPeek *c = &w->iotlb;
    Rights r = {c->has_fs, c->has_ss, c->fs_rw, c->fs_us, c->fs_xd, c->ss_perm};
    unsigned cperm = granted(x, &r);
    int crc = x->ats ? 0 : check_access(x, &r);
    const VtdXlateResult *t = &w->res;
    bool same = (t->status == VTD_XLATE_OK && !crc && t->out_addr == c->out_addr &&
                 t->perm == cperm && t->page_size == c->page_size) ||
                (t->status == VTD_XLATE_FAULT && crc && (unsigned)crc == t->fault_reason);
    w->served = true;
    w->served_addr = c->out_addr;
    g_autofree char *ps = perm_str(cperm);
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "iotlb: hit (DID %u, %s): 0x%" G_GINT64_MODIFIER "x -> 0x%"
                           G_GINT64_MODIFIER "x, %" G_GINT64_MODIFIER "u KiB page, %s",
                           x->did, x->pasid_tag < 0 ? "no PASID" : "with PASID",
                           (guint64)x->req->addr, (guint64)c->out_addr,
                           (guint64)(c->page_size >> 10), ps);
    if (crc)
        g_string_append_printf(s, "; the cached rights fault this %s (0x%02x)", access_name(x),
                               crc);
    if (same) {
        g_string_append(s, " (same as the tables)");
    } else {
        w->stale = true;
        if (t->status == VTD_XLATE_OK)
            g_string_append_printf(s, " - STALE: the tables now give 0x%" G_GINT64_MODIFIER
                                   "x; the hardware keeps using the cached translation until "
                                   "software invalidates it", (guint64)t->out_addr);
        else
            g_string_append_printf(s, " - STALE: the tables now fault (0x%02x); the hardware "
                                   "keeps using the cached translation until software "
                                   "invalidates it", t->fault_reason);
    }
    if (!c->dirty && x->write)
        g_string_append(s, "; the entry was cached clean, so this write walks again to set D");
    g_ptr_array_add(w->cache_notes, g_string_free(s, FALSE));
}

/* Second-stage-only, first-stage-only and nested translation of req->addr. */
static VtdXlateStatus paged(Ex *x, unsigned pgtt, uint64_t ss_root, unsigned ss_levels)
{
    const VtdXlateRequest *q = x->req;
    Rights r = {0};
    SsO so = {0};
    FsO fo = {0};
    FsTrail ft = {0};
    uint64_t out;
    unsigned level;
    bool snoop = false;
    int rc;
    VtdXlateStatus st;
    if (pgtt == VTD_PGTT_SECOND_STAGE) {
        rc = ss_walk(x, ss_root, ss_levels, q->addr, "IOVA", &so);
        if (rc == RC_NP) {
            if (x->ats) {
                st = ats_none(x, pgtt, "the page is not present");
                goto out;
            }
            st = fault(x, x->sm ? VTD_FR_SM_SS_NOT_PRESENT
                                : x->write ? VTD_FR_WRITE_DENIED : VTD_FR_READ_DENIED,
                       VTD_FSTRUCT_SS_PTE);
            goto out;
        }
        if (rc) {
            st = fault(x, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
            goto out;
        }
        r.has_ss = true;
        r.ss_perm = so.perm;
        out = so.out;
        level = so.level;
        snoop = so.snp || (x->sm && vtd_pe_PGSNP(&x->pe));
    } else {
        bool nested = pgtt == VTD_PGTT_NESTED;
        rc = fs_walk(x, q->addr, nested, &fo, &ft);
        if (rc == RC_NP) {
            if (x->ats) {
                st = ats_none(x, pgtt, "the page is not present");
                goto out;
            }
            st = fault(x, VTD_FR_SM_FS_NOT_PRESENT, VTD_FSTRUCT_FS_PTE);
            goto out;
        }
        if (rc) {
            st = fault(x, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
            goto out;
        }
        r.has_fs = true;
        r.fs_rw = fo.rw;
        r.fs_us = fo.us;
        r.fs_xd = fo.xd;
        out = fo.out;
        level = fo.level;
        if (nested) {
            int prc = x->ats ? 0 : check_access(x, &r);
            if (prc) {
                st = fault_check(x, "first-stage rights", (unsigned)prc, VTD_FSTRUCT_FS_PTE,
                                 g_strdup_printf("the first stage does not allow this %s",
                                                 access_name(x)));
                goto out;
            }
            if (fo.out >> ss_width(x, ss_levels)) {
                st = fault_check(x, "second-stage input width", VTD_FR_SM_SS_ADDR_BEYOND,
                                 VTD_FSTRUCT_REQUEST,
                                 g_strdup_printf("GPA 0x%" G_GINT64_MODIFIER "x is beyond %u bits",
                                                 (guint64)fo.out, ss_width(x, ss_levels)));
                goto out;
            }
            rc = ss_walk(x, ss_root, ss_levels, fo.out, "GPA", &so);
            if (rc == RC_NP) {
                if (x->ats) {
                    st = ats_none(x, pgtt, "the second stage does not map the page");
                    goto out;
                }
                st = fault(x, VTD_FR_SM_SS_NOT_PRESENT, VTD_FSTRUCT_SS_PTE);
                goto out;
            }
            if (rc) {
                st = fault(x, (unsigned)rc, vtd_fault_struct_of((unsigned)rc));
                goto out;
            }
            r.has_ss = true;
            r.ss_perm = so.perm;
            out = so.out;
            if (so.level < level)
                level = so.level;
        }
        snoop = vtd_pe_PGSNP(&x->pe);
    }

    if (!x->ats) {
        rc = check_access(x, &r);
        if (rc) {
            VtdFaultStruct where = r.has_fs && rc != VTD_FR_SM_READ_DENIED &&
                                           rc != VTD_FR_SM_SS_NOT_PRESENT
                                       ? VTD_FSTRUCT_FS_PTE
                                       : VTD_FSTRUCT_SS_PTE;
            g_autofree char *ps = perm_str(granted(x, &r));
            st = fault_check(x, "access rights", (unsigned)rc, where,
                             g_strdup_printf("a %s%s%s needs more than the rights granted (%s)",
                                             x->priv ? "supervisor " : "",
                                             x->exec ? "execute " : "", access_name(x), ps));
            goto out;
        }
    }
    {
        unsigned g = granted(x, &r);
        uint64_t size = 1ull << vtd_level_shift(level);
        if (x->ats && !g) {
            st = ats_none(x, pgtt, "no right is granted");
            goto out;
        }
        bool bad = x->ats ? vtd_in_intr_range(out & ~(size - 1), size) : vtd_in_intr_range(out, q->len);
        if (bad) {
            st = fault_check(x, "output address", x->sm ? VTD_FR_SM_INTR_RANGE
                                                        : VTD_FR_LEGACY_INTR_RANGE,
                             VTD_FSTRUCT_REQUEST,
                             g_strdup_printf("0x%" G_GINT64_MODIFIER "x falls in the interrupt "
                                             "range 0xFEE00000-0xFEEFFFFF", (guint64)out));
            goto out;
        }
        bool dirty = x->ats ? (g & VTD_PERM_W) != 0 : x->write;
        if (r.has_fs) {
            for (unsigned i = 0; i < ft.n; i++) {
                VtdFsPte p = {{ft.val[i]}};
                vtd_fspte_set_A(&p, 1);
                if (dirty && i + 1 == ft.n)
                    vtd_fspte_set_D(&p, 1);
                if (p.val[0] == ft.val[i])
                    continue;
                if (!ft.ss_w[i]) {
                    st = fault_check(x, "first-stage A/D update", VTD_FR_SM_NESTED_FS_AD_WRITE,
                                     VTD_FSTRUCT_FS_PTE,
                                     g_strdup_printf("the %s needs A/D set, but the second stage "
                                                     "does not allow writing its table",
                                                     ft.step[i]->title));
                    goto out;
                }
            }
        }
        g_autofree char *ps = perm_str(g);
        GString *ad = g_string_new(NULL);
        if (r.has_fs)
            g_string_append_printf(ad, "; the hardware sets A in the first-stage entries%s",
                                   dirty ? " and D in the leaf" : "");
        if (r.has_ss && x->sm && vtd_pe_SSADE(&x->pe))
            g_string_append_printf(ad, "; SSADE=1: A in the second-stage entries%s",
                                   dirty ? " and D in the leaf" : "");
        check_step(x, "access rights",
                   g_strdup_printf("a %s%s%s is allowed (granted: %s)%s",
                                   x->priv ? "supervisor " : "", x->exec ? "execute " : "",
                                   access_name(x), ps, ad->str));
        g_string_free(ad, TRUE);
        st = ok_result(x, out, size, g, pgtt, snoop);
        x->w->res.global = r.has_fs && fo.g;
        if (r.has_ss) {
            x->w->res.emt = so.emt;
            x->w->res.ipat = so.ipat;
        }
    }
out:
    iotlb_report(x);
    return st;
}

static VtdXlateStatus identity(Ex *x, uint16_t did, unsigned pgtt, bool snoop, const char *why)
{
    x->did = did;
    unsigned p = VTD_PERM_R | VTD_PERM_W | VTD_PERM_X;
    if (x->req->ats_nw)
        p &= ~(unsigned)VTD_PERM_W;
    check_step(x, "identity", g_strdup_printf("%s: the address is used as it is", why));
    return ok_result(x, x->req->addr, 4096, p, pgtt, snoop);
}

/* ---- root and context ---------------------------------------------------------- */

static void context_cache_report(Ex *x, ExplainStep *s, const uint64_t *mem, unsigned nw)
{
    uint64_t c[4] = {0};
    if (!x->xl)
        return;
    if (!vtd_xlate_peek_context(x->xl, x->req->sid, x->sm, c)) {
        g_ptr_array_add(x->w->cache_notes, g_strdup("context-cache: miss"));
        return;
    }
    bool same = !memcmp(c, mem, nw * sizeof(uint64_t));
    if (!same)
        x->w->stale = true;
    s->stale = !same;
    s->cache = g_strdup(same ? "context-cache holds this entry (same as memory)"
                             : "context-cache holds an older entry (STALE: differs from memory)");
    GString *l = g_string_new("context-cache: hit, ");
    for (unsigned i = nw; i-- > 0;)
        g_string_append_printf(l, "0x%016" G_GINT64_MODIFIER "x%s", (guint64)c[i], i ? ":" : "");
    g_string_append(l, same ? " (same as memory)"
                            : " - STALE: the hardware uses this cached entry until a "
                              "context-cache invalidation");
    g_ptr_array_add(x->w->cache_notes, g_string_free(l, FALSE));
}

/* Reads and checks the root entry; returns the context table address or 0 with a fault. */
static bool root_entry(Ex *x, uint64_t *ctp)
{
    uint8_t bus = x->req->sid >> 8, devfn = x->req->sid & 0xff;
    uint64_t rta = x->cfg->rtaddr & PG_MASK;
    ExplainStep *s = step_new(x, EXPLAIN_ROOT, g_strdup(x->sm ? "scalable-mode root entry"
                                                              : "root entry"));
    s->table = rta;
    s->index = bus;
    s->index_from = g_strdup("bus");
    s->addr = rta + bus * 16ull;
    s->nwords = 2;
    s->read_ok = rd64(x, s->addr, &s->raw[0]) && rd64(x, s->addr + 8, &s->raw[1]);
    if (!s->read_ok) {
        fault_at(x, s, x->sm ? VTD_FR_SM_ROOT_ACCESS : VTD_FR_ROOT_ACCESS, VTD_FSTRUCT_ROOT,
                 g_strdup("the root entry cannot be read"));
        return false;
    }
    VtdRootEntry re = {{s->raw[0], s->raw[1]}};
    if (!x->sm) {
        FIELD(s, VtdRootEntry, vtd_re, P, onoff(vtd_re_P(&re), "present", "not present"));
        FIELD(s, VtdRootEntry, vtd_re, CTP, ptr_meaning(vtd_re_CTP(&re), "context table"));
        if (!vtd_re_P(&re)) {
            fault_at(x, s, VTD_FR_ROOT_NOT_PRESENT, VTD_FSTRUCT_ROOT, g_strdup("not present"));
            return false;
        }
        if ((re.val[0] & (0xffeull | x->haw_rsvd)) || re.val[1]) {
            fault_at(x, s, VTD_FR_ROOT_RESERVED, VTD_FSTRUCT_ROOT,
                     g_strdup("reserved bits set"));
            return false;
        }
        *ctp = vtd_re_CTP(&re) << 12;
    } else {
        bool upper = devfn >= 128;
        FIELD(s, VtdRootEntry, vtd_sre, LP,
              onoff(vtd_sre_LP(&re), "lower half present", "lower half not present"));
        FIELD(s, VtdRootEntry, vtd_sre, LCTP,
              ptr_meaning(vtd_sre_LCTP(&re), "context table for devfn 0x00-0x7f"));
        FIELD(s, VtdRootEntry, vtd_sre, UP,
              onoff(vtd_sre_UP(&re), "upper half present", "upper half not present"));
        FIELD(s, VtdRootEntry, vtd_sre, UCTP,
              ptr_meaning(vtd_sre_UCTP(&re), "context table for devfn 0x80-0xff"));
        uint64_t half = re.val[upper];
        if (!(upper ? vtd_sre_UP(&re) : vtd_sre_LP(&re))) {
            fault_at(x, s, VTD_FR_SM_ROOT_NOT_PRESENT, VTD_FSTRUCT_ROOT,
                     g_strdup_printf("devfn 0x%02x uses the %s half, which is not present", devfn,
                                     upper ? "upper" : "lower"));
            return false;
        }
        if (half & (0xffeull | x->haw_rsvd)) {
            fault_at(x, s, VTD_FR_SM_ROOT_RESERVED, VTD_FSTRUCT_ROOT,
                     g_strdup("reserved bits set"));
            return false;
        }
        *ctp = (upper ? vtd_sre_UCTP(&re) : vtd_sre_LCTP(&re)) << 12;
        set_verdict(s, g_strdup_printf("devfn 0x%02x uses the %s half: context table at 0x%"
                                       G_GINT64_MODIFIER "x", devfn, upper ? "upper" : "lower",
                                       (guint64)*ctp));
        return true;
    }
    set_verdict(s, g_strdup_printf("present: context table at 0x%" G_GINT64_MODIFIER "x",
                                   (guint64)*ctp));
    return true;
}

static const char *tt_meaning(unsigned tt)
{
    static const char *const n[] = {"untranslated requests only, through the second stage",
                                    "also ATS translation and translated requests",
                                    "pass-through", "reserved"};
    return n[tt & 3];
}

static VtdXlateStatus translate_legacy(Ex *x)
{
    uint64_t ctp;
    if (!root_entry(x, &ctp))
        return VTD_XLATE_FAULT;
    uint8_t devfn = x->req->sid & 0xff;
    ExplainStep *s = step_new(x, EXPLAIN_CONTEXT, g_strdup("context entry"));
    s->table = ctp;
    s->index = devfn;
    s->index_from = g_strdup("devfn");
    s->addr = ctp + devfn * 16ull;
    s->nwords = 2;
    s->read_ok = rd64(x, s->addr, &s->raw[0]) && rd64(x, s->addr + 8, &s->raw[1]);
    if (!s->read_ok)
        return fault_at(x, s, VTD_FR_CONTEXT_ACCESS, VTD_FSTRUCT_CONTEXT,
                        g_strdup("the context entry cannot be read"));
    VtdContextEntry c = {{s->raw[0], s->raw[1]}};
    unsigned tt = (unsigned)vtd_ce_TT(&c), aw = (unsigned)vtd_ce_AW(&c);
    FIELD(s, VtdContextEntry, vtd_ce, P, onoff(vtd_ce_P(&c), "present", "not present"));
    FIELD(s, VtdContextEntry, vtd_ce, FPD,
          onoff(vtd_ce_FPD(&c), "faults not recorded", "faults recorded"));
    FIELD(s, VtdContextEntry, vtd_ce, TT, g_strdup(tt_meaning(tt)));
    FIELD(s, VtdContextEntry, vtd_ce, SLPTPTR,
          ptr_meaning(vtd_ce_SLPTPTR(&c), "second-stage table"));
    FIELD(s, VtdContextEntry, vtd_ce, AW,
          g_strdup_printf("%u-level table, %u-bit addresses", aw + 2, 30 + 9 * aw));
    FIELD(s, VtdContextEntry, vtd_ce, DID, g_strdup_printf("domain %u", (unsigned)vtd_ce_DID(&c)));
    context_cache_report(x, s, c.val, 2);
    if (!vtd_ce_P(&c))
        return fault_at(x, s, VTD_FR_CONTEXT_NOT_PRESENT, VTD_FSTRUCT_CONTEXT,
                        g_strdup("not present"));
    if ((c.val[0] & (0xff0ull | x->haw_rsvd)) || (c.val[1] & 0xffffffffff000080ull))
        return fault_at(x, s, VTD_FR_CONTEXT_RESERVED, VTD_FSTRUCT_CONTEXT,
                        g_strdup("reserved bits set"));
    if (vtd_ce_FPD(&c))
        x->fpd = true;
    if (tt == VTD_TT_RESERVED || (tt == VTD_TT_DEVTLB && !vtd_ecap_DT(x->ecap)) ||
        (tt == VTD_TT_PASSTHROUGH && !vtd_ecap_PT(x->ecap)))
        return fault_at(x, s, VTD_FR_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT,
                        g_strdup_printf("TT=%u is not supported by this unit", tt));
    if (tt != VTD_TT_PASSTHROUGH && (aw > 3 || !(vtd_cap_SAGAW(x->cap) & (1u << aw))))
        return fault_at(x, s, VTD_FR_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT,
                        g_strdup_printf("AW=%u is not in CAP.SAGAW 0x%x", aw,
                                        (unsigned)vtd_cap_SAGAW(x->cap)));
    x->did = (uint16_t)vtd_ce_DID(&c);
    set_verdict(s, g_strdup_printf("present, domain %u, %s", x->did, tt_meaning(tt)));
    if (x->req->at != VTD_AT_UNTRANSLATED && tt != VTD_TT_DEVTLB)
        return fault_at(x, s, VTD_FR_TT_BLOCKED, VTD_FSTRUCT_CONTEXT,
                        g_strdup_printf("%s request blocked by TT=%u",
                                        x->req->at == VTD_AT_TRANSLATED ? "a translated"
                                                                        : "an ATS translation",
                                        tt));
    if (x->req->at == VTD_AT_TRANSLATED)
        return identity(x, x->did, VTD_PGTT_SECOND_STAGE, false, "translated request, TT=01");
    if (tt == VTD_TT_PASSTHROUGH) {
        if (x->req->addr >> x->haw)
            return fault_check(x, "address width", VTD_FR_ADDR_BEYOND_AW, VTD_FSTRUCT_REQUEST,
                               g_strdup_printf("the address is above the %u-bit host address "
                                               "width", x->haw));
        return identity(x, x->did, VTD_PGTT_PASS_THROUGH, false, "pass-through (TT=10)");
    }
    unsigned levels = aw + 2;
    if (x->req->addr >> ss_width(x, levels))
        return fault_check(x, "address width", VTD_FR_ADDR_BEYOND_AW, VTD_FSTRUCT_REQUEST,
                           g_strdup_printf("the address is above 2^%u - 1 (min of MGAW and "
                                           "the context's AGAW)", ss_width(x, levels)));
    x->pasid_tag = -1;
    return paged(x, VTD_PGTT_SECOND_STAGE, vtd_ce_SLPTPTR(&c) << 12, levels);
}

static const char *pgtt_meaning(unsigned pgtt)
{
    switch (pgtt) {
    case VTD_PGTT_FIRST_STAGE: return "first-stage only";
    case VTD_PGTT_SECOND_STAGE: return "second-stage only";
    case VTD_PGTT_NESTED: return "nested (first stage, then second stage)";
    case VTD_PGTT_PASS_THROUGH: return "pass-through";
    default: return "reserved";
    }
}

static VtdXlateStatus translate_scalable(Ex *x)
{
    const VtdXlateRequest *req = x->req;
    uint64_t ctp;
    if (!root_entry(x, &ctp))
        return VTD_XLATE_FAULT;
    uint8_t devfn = req->sid & 0xff;
    ExplainStep *s = step_new(x, EXPLAIN_CONTEXT, g_strdup("scalable-mode context entry"));
    s->table = ctp;
    s->index = devfn & 0x7f;
    s->index_from = g_strdup("devfn[6:0]");
    s->addr = ctp + (devfn & 0x7f) * 32ull;
    s->nwords = 4;
    s->read_ok = true;
    for (int i = 0; i < 4; i++)
        s->read_ok = s->read_ok && rd64(x, s->addr + 8 * i, &s->raw[i]);
    if (!s->read_ok)
        return fault_at(x, s, VTD_FR_SM_CONTEXT_ACCESS, VTD_FSTRUCT_CONTEXT,
                        g_strdup("the context entry cannot be read"));
    VtdSmContextEntry c = {{s->raw[0], s->raw[1], s->raw[2], s->raw[3]}};
    uint64_t ndir = 1ull << (vtd_sce_PDTS(&c) + 7);
    FIELD(s, VtdSmContextEntry, vtd_sce, P, onoff(vtd_sce_P(&c), "present", "not present"));
    FIELD(s, VtdSmContextEntry, vtd_sce, FPD,
          onoff(vtd_sce_FPD(&c), "faults not recorded", "faults recorded"));
    FIELD(s, VtdSmContextEntry, vtd_sce, DTE,
          onoff(vtd_sce_DTE(&c), "device-TLB (ATS) enabled", "no ATS"));
    FIELD(s, VtdSmContextEntry, vtd_sce, PASIDE,
          onoff(vtd_sce_PASIDE(&c), "requests with PASID allowed", "requests with PASID blocked"));
    FIELD(s, VtdSmContextEntry, vtd_sce, PRE,
          onoff(vtd_sce_PRE(&c), "page requests allowed", "no page requests"));
    FIELD(s, VtdSmContextEntry, vtd_sce, PDTS,
          g_strdup_printf("%" G_GINT64_MODIFIER "u directory entries", (guint64)ndir));
    FIELD(s, VtdSmContextEntry, vtd_sce, PASIDDIRPTR,
          ptr_meaning(vtd_sce_PASIDDIRPTR(&c), "PASID directory"));
    FIELD(s, VtdSmContextEntry, vtd_sce, RID_PASID,
          g_strdup("PASID used for requests without PASID"));
    FIELD(s, VtdSmContextEntry, vtd_sce, RID_PRIV,
          onoff(vtd_sce_RID_PRIV(&c), "requests without PASID are supervisor", "requests without PASID are user"));
    context_cache_report(x, s, c.val, 4);
    if (!vtd_sce_P(&c))
        return fault_at(x, s, VTD_FR_SM_CONTEXT_NOT_PRESENT, VTD_FSTRUCT_CONTEXT,
                        g_strdup("not present"));
    uint64_t r1 = 0xffffffffffe00000ull;
    if (!vtd_ecap_RPS(x->ecap))
        r1 |= 0xfffffull;
    if (!vtd_ecap_RPRIVS(x->ecap))
        r1 |= 1ull << 20;
    if ((c.val[0] & (0x1e0ull | x->haw_rsvd)) || (c.val[1] & r1) || c.val[2] || c.val[3])
        return fault_at(x, s, VTD_FR_SM_CONTEXT_RESERVED, VTD_FSTRUCT_CONTEXT,
                        g_strdup("reserved bits set"));
    if (vtd_sce_FPD(&c))
        x->fpd = true;
    if ((vtd_sce_DTE(&c) && !vtd_ecap_DT(x->ecap)) || (vtd_sce_PRE(&c) && !vtd_ecap_PRS(x->ecap)) ||
        (vtd_sce_PASIDE(&c) && !vtd_ecap_PASID(x->ecap)))
        return fault_at(x, s, VTD_FR_SM_CONTEXT_INVALID, VTD_FSTRUCT_CONTEXT,
                        g_strdup("DTE, PRE or PASIDE set without the capability"));
    if ((vtd_sce_RID_PASID(&c) >> 6) >= ndir)
        return fault_at(x, s, VTD_FR_SM_RID_PASID_ERROR, VTD_FSTRUCT_CONTEXT,
                        g_strdup("RID_PASID is beyond the PASID directory"));
    if (req->at != VTD_AT_UNTRANSLATED && !vtd_sce_DTE(&c))
        return fault_at(x, s, VTD_FR_SM_DTE_CLEAR, VTD_FSTRUCT_CONTEXT,
                        g_strdup("ATS request with DTE=0"));
    if (req->at == VTD_AT_TRANSLATED) {
        set_verdict(s, g_strdup("present, DTE=1"));
        return identity(x, 0, VTD_PGTT_PASS_THROUGH, false, "translated request, DTE=1");
    }
    uint32_t pasid;
    if (req->pasid_present) {
        if (!vtd_sce_PASIDE(&c))
            return fault_at(x, s, VTD_FR_SM_PASIDE_CLEAR, VTD_FSTRUCT_CONTEXT,
                            g_strdup("request with PASID while PASIDE=0"));
        pasid = req->pasid & 0xfffff;
        if ((pasid >> 6) >= ndir)
            return fault_at(x, s, VTD_FR_SM_PASID_BEYOND_PDTS, VTD_FSTRUCT_CONTEXT,
                            g_strdup_printf("PASID 0x%x is beyond the directory", pasid));
        set_verdict(s, g_strdup_printf("present: request with PASID 0x%x", pasid));
    } else {
        pasid = (uint32_t)vtd_sce_RID_PASID(&c);
        x->priv = vtd_sce_RID_PRIV(&c) != 0;
        x->exec = false;
        set_verdict(s, g_strdup_printf("present: request without PASID uses RID_PASID 0x%x%s",
                                       pasid, x->priv ? " (supervisor)" : ""));
    }

    /* PASID directory */
    ExplainStep *d = step_new(x, EXPLAIN_PASID_DIR, g_strdup("PASID directory entry"));
    d->table = vtd_sce_PASIDDIRPTR(&c) << 12;
    d->index = pasid >> 6;
    d->index_from = g_strdup("PASID[19:6]");
    d->addr = d->table + d->index * 8;
    d->nwords = 1;
    d->read_ok = rd64(x, d->addr, &d->raw[0]);
    if (!d->read_ok)
        return fault_at(x, d, VTD_FR_SM_PDIR_ACCESS, VTD_FSTRUCT_PASID_DIR,
                        g_strdup("the directory entry cannot be read"));
    VtdPasidDirEntry de = {{d->raw[0]}};
    FIELD(d, VtdPasidDirEntry, vtd_pdire, P, onoff(vtd_pdire_P(&de), "present", "not present"));
    FIELD(d, VtdPasidDirEntry, vtd_pdire, FPD,
          onoff(vtd_pdire_FPD(&de), "faults not recorded", "faults recorded"));
    FIELD(d, VtdPasidDirEntry, vtd_pdire, SMPTBLPTR,
          ptr_meaning(vtd_pdire_SMPTBLPTR(&de), "PASID table"));
    if (!vtd_pdire_P(&de))
        return fault_at(x, d, VTD_FR_SM_PDIR_NOT_PRESENT, VTD_FSTRUCT_PASID_DIR,
                        g_strdup("not present"));
    if (de.val[0] & (0xffcull | x->haw_rsvd))
        return fault_at(x, d, VTD_FR_SM_PDIR_RESERVED, VTD_FSTRUCT_PASID_DIR,
                        g_strdup("reserved bits set"));
    if (vtd_pdire_FPD(&de))
        x->fpd = true;
    set_verdict(d, g_strdup_printf("present: PASID table at 0x%" G_GINT64_MODIFIER "x",
                                   (guint64)(vtd_pdire_SMPTBLPTR(&de) << 12)));

    /* PASID table entry */
    ExplainStep *e = step_new(x, EXPLAIN_PASID_ENTRY, g_strdup("PASID table entry"));
    e->table = vtd_pdire_SMPTBLPTR(&de) << 12;
    e->index = pasid & 63;
    e->index_from = g_strdup("PASID[5:0]");
    e->addr = e->table + e->index * 64;
    e->nwords = 8;
    e->read_ok = true;
    for (int i = 0; i < 8; i++)
        e->read_ok = e->read_ok && rd64(x, e->addr + 8 * i, &e->raw[i]);
    if (!e->read_ok)
        return fault_at(x, e, VTD_FR_SM_PTE_ACCESS, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup("the PASID entry cannot be read"));
    VtdPasidEntry pe;
    memcpy(pe.val, e->raw, sizeof pe.val);
    unsigned pgtt = (unsigned)vtd_pe_PGTT(&pe);
    FIELD(e, VtdPasidEntry, vtd_pe, P, onoff(vtd_pe_P(&pe), "present", "not present"));
    FIELD(e, VtdPasidEntry, vtd_pe, FPD,
          onoff(vtd_pe_FPD(&pe), "faults not recorded", "faults recorded"));
    FIELD(e, VtdPasidEntry, vtd_pe, AW,
          g_strdup_printf("second stage: %u-level, %u-bit", (unsigned)vtd_pe_AW(&pe) + 2, 30 + 9 * (unsigned)vtd_pe_AW(&pe)));
    FIELD(e, VtdPasidEntry, vtd_pe, PGTT, g_strdup(pgtt_meaning(pgtt)));
    FIELD(e, VtdPasidEntry, vtd_pe, SSADE, NULL);
    FIELD(e, VtdPasidEntry, vtd_pe, SSPTPTR,
          ptr_meaning(vtd_pe_SSPTPTR(&pe), "second-stage table"));
    FIELD(e, VtdPasidEntry, vtd_pe, DID, g_strdup_printf("domain %u", (unsigned)vtd_pe_DID(&pe)));
    FIELD(e, VtdPasidEntry, vtd_pe, PGSNP, NULL);
    FIELD(e, VtdPasidEntry, vtd_pe, SRE,
          onoff(vtd_pe_SRE(&pe), "supervisor requests allowed", "supervisor requests blocked"));
    FIELD(e, VtdPasidEntry, vtd_pe, FSPM,
          g_strdup(vtd_pe_FSPM(&pe) ? "5-level first stage" : "4-level first stage"));
    FIELD(e, VtdPasidEntry, vtd_pe, WPE, NULL);
    FIELD(e, VtdPasidEntry, vtd_pe, FSPTPTR, ptr_meaning(vtd_pe_FSPTPTR(&pe), "first-stage table"));
    if (x->xl) {
        uint64_t cv[3];
        if (vtd_xlate_peek_pasid(x->xl, req->sid, pasid, cv)) {
            bool same = !memcmp(cv, pe.val, sizeof cv);
            e->stale = !same;
            e->cache = g_strdup(same ? "PASID-cache holds this entry (same as memory)"
                                     : "PASID-cache holds an older entry (STALE: differs from memory)");
            if (!same)
                x->w->stale = true;
            g_ptr_array_add(x->w->cache_notes,
                            g_strdup_printf("pasid-cache: hit for PASID 0x%x%s", pasid,
                                            same ? " (same as memory)"
                                                 : " - STALE: the hardware uses the cached entry "
                                                   "until a PASID-cache invalidation"));
        } else {
            g_ptr_array_add(x->w->cache_notes, g_strdup_printf("pasid-cache: miss for PASID 0x%x",
                                                               pasid));
        }
    }
    if (!vtd_pe_P(&pe))
        return fault_at(x, e, VTD_FR_SM_PTE_NOT_PRESENT, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup("not present"));
    bool uses_ss = pgtt == VTD_PGTT_SECOND_STAGE || pgtt == VTD_PGTT_NESTED;
    bool uses_fs = pgtt == VTD_PGTT_FIRST_STAGE || pgtt == VTD_PGTT_NESTED;
    uint64_t r0 = 0xc00ull | (uses_ss ? x->haw_rsvd : 0);
    if (!vtd_ecap_SSADS(x->ecap))
        r0 |= 1ull << 9;
    uint64_t r2 = 0xf00ull | (uses_fs ? x->haw_rsvd : 0);
    if (!vtd_ecap_EAFS(x->ecap))
        r2 |= 1ull << 7;
    if (!vtd_ecap_SRS(x->ecap))
        r2 |= 1ull << 0;
    if (!vtd_ecap_ERS(x->ecap))
        r2 |= 1ull << 1;
    if ((pe.val[0] & r0) || (pe.val[1] & 0x7f0000ull) || (pe.val[2] & r2) || pe.val[3] ||
        pe.val[4] || pe.val[5] || pe.val[6] || pe.val[7])
        return fault_at(x, e, VTD_FR_SM_PTE_RESERVED, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup("reserved bits set (or a field without its capability)"));
    if (vtd_pe_FPD(&pe))
        x->fpd = true;
    bool ok;
    switch (pgtt) {
    case VTD_PGTT_FIRST_STAGE: ok = vtd_ecap_FSTS(x->ecap); break;
    case VTD_PGTT_SECOND_STAGE: ok = vtd_ecap_SSTS(x->ecap); break;
    case VTD_PGTT_NESTED:
        ok = vtd_ecap_NEST(x->ecap) && vtd_ecap_FSTS(x->ecap) && vtd_ecap_SSTS(x->ecap);
        break;
    case VTD_PGTT_PASS_THROUGH: ok = vtd_ecap_PT(x->ecap); break;
    default: ok = false; break;
    }
    if (ok && uses_ss)
        ok = vtd_pe_AW(&pe) <= 3 && (vtd_cap_SAGAW(x->cap) & (1u << vtd_pe_AW(&pe)));
    if (ok && uses_fs)
        ok = vtd_pe_FSPM(&pe) == 0 || (vtd_pe_FSPM(&pe) == 1 && vtd_cap_FS5LP(x->cap));
    if (!ok)
        return fault_at(x, e, VTD_FR_SM_PTE_INVALID, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup_printf("PGTT=%u, AW or FSPM not supported by this unit", pgtt));
    x->pe = pe;
    x->did = (uint16_t)vtd_pe_DID(&pe);
    set_verdict(e, g_strdup_printf("present: domain %u, %s", x->did, pgtt_meaning(pgtt)));
    if (uses_fs && x->exec && !vtd_pe_ERE(&pe))
        return fault_at(x, e, VTD_FR_SM_ERE_CLEAR, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup("execute request with ERE=0"));
    if (uses_fs && x->priv && !vtd_pe_SRE(&pe))
        return fault_at(x, e, VTD_FR_SM_SRE_CLEAR, VTD_FSTRUCT_PASID_ENTRY,
                        g_strdup("supervisor request with SRE=0"));
    if (!uses_fs)
        x->exec = false;

    if (pgtt == VTD_PGTT_PASS_THROUGH) {
        if (req->addr >> x->haw)
            return fault_check(x, "address width", VTD_FR_SM_ADDR_BEYOND_HW, VTD_FSTRUCT_REQUEST,
                               g_strdup_printf("the address is above the %u-bit host address "
                                               "width", x->haw));
        if (x->ats ? vtd_in_intr_range(req->addr & PG_MASK, 4096) : vtd_in_intr_range(req->addr, req->len))
            return fault_check(x, "output address", VTD_FR_SM_INTR_RANGE, VTD_FSTRUCT_REQUEST,
                               g_strdup("the address falls in the interrupt range"));
        return identity(x, x->did, VTD_PGTT_PASS_THROUGH, vtd_pe_PGSNP(&pe),
                        "pass-through (PGTT=100)");
    }
    unsigned levels = (unsigned)vtd_pe_AW(&pe) + 2;
    uint64_t ss_root = vtd_pe_SSPTPTR(&pe) << 12;
    if (pgtt == VTD_PGTT_SECOND_STAGE) {
        x->pasid_tag = -1;
        if (req->addr >> ss_width(x, levels))
            return fault_check(x, "address width", VTD_FR_SM_SS_ADDR_BEYOND, VTD_FSTRUCT_REQUEST,
                               g_strdup_printf("the address is above 2^%u - 1",
                                               ss_width(x, levels)));
        return paged(x, pgtt, ss_root, levels);
    }
    x->pasid_tag = pasid;
    unsigned va_bits = vtd_pe_FSPM(&pe) ? 57 : 48;
    int64_t sx = (int64_t)(req->addr << (64 - va_bits)) >> (64 - va_bits);
    if ((uint64_t)sx != req->addr)
        return fault_check(x, "canonical address", VTD_FR_SM_NON_CANONICAL, VTD_FSTRUCT_REQUEST,
                           g_strdup_printf("bits 63:%u must all equal bit %u", va_bits - 1,
                                           va_bits - 1));
    return paged(x, pgtt, ss_root, levels);
}

static VtdXlateStatus translate(Ex *x)
{
    const VtdXlateRequest *req = x->req;
    ExplainWalk *w = x->w;
    if (req->at == VTD_AT_UNTRANSLATED && !req->pasid_present && vtd_in_intr_range(req->addr, req->len)) {
        check_step(x, "interrupt window",
                   g_strdup(req->write ? "a write without PASID to 0xFEEx_xxxx is an interrupt "
                                         "message: interrupt remapping handles it"
                                       : "a read without PASID from 0xFEEx_xxxx is an "
                                         "unsupported request"));
        w->res.status = req->write ? VTD_XLATE_INTERRUPT : VTD_XLATE_UR;
        return w->res.status;
    }
    if (!x->cfg->te)
        return identity(x, 0, VTD_PGTT_PASS_THROUGH, false, "GSTS.TES=0 (translation disabled)");
    if (req->at == VTD_AT_TRANSLATED && vtd_in_intr_range(req->addr, req->len)) {
        check_step(x, "interrupt window", g_strdup("a translated request to the interrupt "
                                                   "window is an unsupported request"));
        w->res.status = VTD_XLATE_UR;
        return w->res.status;
    }
    unsigned ttm = (unsigned)((x->cfg->rtaddr >> 10) & 3);
    switch (ttm) {
    case 0:
        if (req->pasid_present)
            return fault_check(x, "root table mode", VTD_FR_SM_TTM_PASID, VTD_FSTRUCT_REQUEST,
                               g_strdup("RTADDR.TTM=00 (legacy) cannot take a request with "
                                        "PASID"));
        check_step(x, "root table mode", g_strdup("RTADDR.TTM=00: legacy mode"));
        x->sm = false;
        return translate_legacy(x);
    case 1:
        if (!vtd_ecap_SMTS(x->ecap))
            return fault_check(x, "root table mode", VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST,
                               g_strdup("RTADDR.TTM=01 without ECAP.SMTS"));
        check_step(x, "root table mode", g_strdup("RTADDR.TTM=01: scalable mode"));
        x->sm = true;
        return translate_scalable(x);
    case 2:
        return fault_check(x, "root table mode", VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST,
                           g_strdup("RTADDR.TTM=10 is reserved"));
    default:
        if (!vtd_ecap_ADMS(x->ecap))
            return fault_check(x, "root table mode", VTD_FR_SM_RTA_INVALID, VTD_FSTRUCT_REQUEST,
                               g_strdup("RTADDR.TTM=11 without ECAP.ADMS"));
        check_step(x, "root table mode", g_strdup("RTADDR.TTM=11: abort-DMA mode blocks every "
                                                  "request"));
        w->res.status = VTD_XLATE_UR;
        return w->res.status;
    }
}

/* ---- what Linux logs ------------------------------------------------------------- */

static void L(Ex *x, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void L(Ex *x, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_ptr_array_add(x->w->linux_log, g_strdup_printf("DMAR: %s", body));
    g_free(body);
}

/*
 * The fault line of drivers/iommu/intel/dmar.c and the table dump a kernel
 * built with CONFIG_DMAR_DEBUG adds (peers.md 2.5), re-read from memory as
 * the kernel reads it: no checks beyond present bits, requests without PASID
 * dumped with PASID 0.  The wording of the reason is ours (the one table).
 */
static void linux_log(Ex *x)
{
    const VtdXlateRequest *q = x->req;
    const VtdXlateResult *r = &x->w->res;
    uint8_t bus = q->sid >> 8, devfn = q->sid & 0xff;
    g_autofree char *tag = q->pasid_present ? g_strdup_printf("PASID 0x%x", q->pasid)
                                            : g_strdup("NO_PASID");
    L(x, "[%s %s] Request device [%02x:%02x.%d] fault addr 0x%" G_GINT64_MODIFIER
      "x [fault reason 0x%02x] %s", q->write ? "DMA Write" : "DMA Read", tag, bus, devfn >> 3,
      devfn & 7, (guint64)r->fault_addr, r->fault_reason, vtd_fault_reason_str(r->fault_reason));
    L(x, "Dump %s table entries for IOVA 0x%" G_GINT64_MODIFIER "x", x->w->unit,
      (guint64)r->fault_addr);
    bool sm = ((x->cfg->rtaddr >> 10) & 3) == 1;
    uint64_t rta = x->cfg->rtaddr & PG_MASK, lo, hi;
    rd64(x, rta + bus * 16ull, &lo);
    rd64(x, rta + bus * 16ull + 8, &hi);
    if (sm)
        L(x, "scalable mode root entry: hi 0x%016" G_GINT64_MODIFIER "x, low 0x%016"
          G_GINT64_MODIFIER "x", (guint64)hi, (guint64)lo);
    else
        L(x, "root entry: 0x%016" G_GINT64_MODIFIER "x", (guint64)lo);
    uint64_t half = sm && devfn >= 0x80 ? hi : lo;
    if (!(half & 1)) {
        L(x, "context table is not present");
        return;
    }
    uint64_t ca = (half & PG_MASK & 0x000fffffffffffffull) +
                  (sm ? (devfn & 0x7f) * 32ull : devfn * 16ull);
    uint64_t clo, chi;
    rd64(x, ca, &clo);
    rd64(x, ca + 8, &chi);
    L(x, "context entry: hi 0x%016" G_GINT64_MODIFIER "x, low 0x%016" G_GINT64_MODIFIER "x",
      (guint64)chi, (guint64)clo);
    unsigned level;
    uint64_t table;
    if (!sm) {
        if (!(clo & 1)) {
            L(x, "legacy mode page table is not present");
            return;
        }
        level = (unsigned)(chi & 7) + 2;
        table = clo & PG_MASK;
    } else {
        if (!(clo & 1)) {
            L(x, "pasid directory table is not present");
            return;
        }
        uint32_t pasid = q->pasid_present ? q->pasid : 0;
        uint64_t de;
        rd64(x, (clo & PG_MASK) + (pasid >> 6) * 8ull, &de);
        if (!(de & 1)) {
            L(x, "pasid directory entry is not present");
            return;
        }
        L(x, "pasid dir entry: 0x%016" G_GINT64_MODIFIER "x", (guint64)de);
        uint64_t pa = (de & PG_MASK & 0x000fffffffffffffull) + (pasid & 63) * 64ull, pe[8];
        for (int i = 0; i < 8; i++) {
            rd64(x, pa + 8 * i, &pe[i]);
            L(x, "pasid table entry[%d]: 0x%016" G_GINT64_MODIFIER "x", i, (guint64)pe[i]);
        }
        if (!(pe[0] & 1)) {
            L(x, "scalable mode page table is not present");
            return;
        }
        VtdPasidEntry p;
        memcpy(p.val, pe, sizeof pe);
        if (vtd_pe_PGTT(&p) == VTD_PGTT_FIRST_STAGE) {
            level = vtd_pe_FSPM(&p) ? 5 : 4;
            table = pe[2] & PG_MASK;
        } else {
            level = (unsigned)vtd_pe_AW(&p) + 2;
            table = pe[0] & PG_MASK;
        }
    }
    uint64_t pfn = r->fault_addr >> 12;
    for (;; level--) {
        uint64_t e;
        rd64(x, (table & 0x000fffffffffffffull) + ((pfn >> (9 * (level - 1))) & 511) * 8, &e);
        L(x, "pte level: %u, pte value: 0x%016" G_GINT64_MODIFIER "x", level, (guint64)e);
        if (!(e & 3)) {
            L(x, "page table not present at level %u", level - 1);
            break;
        }
        if (level == 1 || (e & (1u << 7)))
            break;
        table = e & PG_MASK & 0x000fffffffffffffull;
    }
}

ExplainWalk *explain_walk(AddrSpace *mem, const VtdXlateConfig *cfg, const VtdXlate *caches,
                          const char *unit, const VtdXlateRequest *req)
{
    ExplainWalk *w = g_new0(ExplainWalk, 1);
    w->req = *req;
    w->unit = g_strdup(unit ? unit : "dmar0");
    w->steps = g_ptr_array_new_with_free_func(step_free);
    w->cache_notes = g_ptr_array_new_with_free_func(g_free);
    Ex x;
    memset(&x, 0, sizeof x);
    x.mem = mem;
    x.cfg = cfg;
    x.xl = caches;
    x.req = &w->req;
    x.w = w;
    x.cap = cfg->cap;
    x.ecap = cfg->ecap;
    x.haw = cfg->haw ? cfg->haw : (unsigned)vtd_cap_MGAW(x.cap) + 1;
    if (x.haw > 52)
        x.haw = 52;
    unsigned rs = x.haw < 12 ? 12 : x.haw;
    x.haw_rsvd = vtd_field_mask(rs, 52 - rs);
    x.ats = req->at == VTD_AT_TRANSLATION;
    x.write = req->write && !x.ats;
    x.priv = req->pasid_present && req->priv;
    x.exec = req->pasid_present && req->exec;
    x.pasid_tag = -1;
    w->linux_log = g_ptr_array_new_with_free_func(g_free);
    translate(&x);
    if (w->res.status == VTD_XLATE_FAULT && w->res.fault_record)
        linux_log(&x);
    return w;
}

void explain_walk_free(ExplainWalk *w)
{
    if (!w)
        return;
    g_ptr_array_free(w->linux_log, TRUE);
    g_ptr_array_free(w->steps, TRUE);
    g_ptr_array_free(w->cache_notes, TRUE);
    g_free(w->unit);
    g_free(w);
}

/* ---- interrupt requests ------------------------------------------------------- */

void explain_interrupt(ExplainWalk *w, AddrSpace *mem, uint64_t irta, bool ire, uint32_t data)
{
    if (w->res.status != VTD_XLATE_INTERRUPT)
        return;
    Ex x;
    memset(&x, 0, sizeof x);
    x.mem = mem;
    x.w = w;
    x.req = &w->req;
    VtdMsiAddr ma = {{w->req.addr}};
    ExplainStep *s = step_new(&x, EXPLAIN_CHECK, g_strdup("interrupt message address"));
    s->raw[0] = w->req.addr;
    s->nwords = 1;
    s->read_ok = true;
    FIELD(s, VtdMsiAddr, vtd_msi, FEE, NULL);
    FIELD(s, VtdMsiAddr, vtd_msi, IF,
          onoff(vtd_msi_IF(&ma), "remappable format", "compatibility format"));
    if (!ire) {
        set_verdict(s, g_strdup("GSTS.IRES=0: interrupt remapping is off, the message is "
                                "delivered as it is (compatibility format)"));
        return;
    }
    if (!vtd_msi_IF(&ma)) {
        set_verdict(s, g_strdup("compatibility format: passed on only while GSTS.CFIS=1 and "
                                "IRTA.EIME=0, else blocked (fault 0x25)"));
        return;
    }
    FIELD(s, VtdMsiAddr, vtd_msi, HANDLE, NULL);
    FIELD(s, VtdMsiAddr, vtd_msi, SHV,
          onoff(vtd_msi_SHV(&ma), "subhandle in data[15:0]", "no subhandle"));
    FIELD(s, VtdMsiAddr, vtd_msi, HANDLE_15, NULL);
    uint64_t index = vtd_msi_HANDLE(&ma) | (vtd_msi_HANDLE_15(&ma) << 15);
    if (vtd_msi_SHV(&ma))
        index += data & 0xffff;
    uint64_t entries = 2ull << (irta & 0xf);
    set_verdict(s, g_strdup_printf("interrupt index %" G_GINT64_MODIFIER "u%s", (guint64)index,
                                   vtd_msi_SHV(&ma) ? " (handle + subhandle)" : ""));
    if (index >= entries) {
        check_step(&x, "interrupt index",
                   g_strdup_printf("index %" G_GINT64_MODIFIER "u is beyond the %" G_GINT64_MODIFIER
                                   "u entries of the table (IRTA.S=%u): fault 0x21",
                                   (guint64)index, (guint64)entries, (unsigned)(irta & 0xf)));
        return;
    }
    ExplainStep *e = step_new(&x, EXPLAIN_IRTE, g_strdup("interrupt remapping table entry"));
    e->table = irta & PG_MASK;
    e->index = index;
    e->index_from = g_strdup("interrupt index");
    e->addr = e->table + index * 16;
    e->nwords = 2;
    e->read_ok = rd64(&x, e->addr, &e->raw[0]) && rd64(&x, e->addr + 8, &e->raw[1]);
    if (!e->read_ok) {
        set_verdict(e, g_strdup("the IRTE cannot be read: fault 0x23"));
        return;
    }
    VtdIrte t = {{e->raw[0], e->raw[1]}};
    FIELD(e, VtdIrte, vtd_irte, P, onoff(vtd_irte_P(&t), "present", "not present"));
    FIELD(e, VtdIrte, vtd_irte, FPD, NULL);
    FIELD(e, VtdIrte, vtd_irte, IM, onoff(vtd_irte_IM(&t), "posted", "remapped"));
    if (vtd_irte_IM(&t)) {
        FIELD(e, VtdIrte, vtd_irte, URG, NULL);
        FIELD(e, VtdIrte, vtd_irte, VV,
              g_strdup_printf("virtual vector %u", (unsigned)vtd_irte_VV(&t)));
        FIELD(e, VtdIrte, vtd_irte, PDA_L, NULL);
        FIELD(e, VtdIrte, vtd_irte, PDA_H, g_strdup_printf("posted-interrupt descriptor at 0x%"
                                                           G_GINT64_MODIFIER "x",
                                                           (guint64)vtd_irte_pda(&t)));
    } else {
        FIELD(e, VtdIrte, vtd_irte, DM, onoff(vtd_irte_DM(&t), "logical", "physical"));
        FIELD(e, VtdIrte, vtd_irte, RH, NULL);
        FIELD(e, VtdIrte, vtd_irte, TM, onoff(vtd_irte_TM(&t), "level", "edge"));
        FIELD(e, VtdIrte, vtd_irte, DLM, NULL);
        FIELD(e, VtdIrte, vtd_irte, V, g_strdup_printf("vector %u", (unsigned)vtd_irte_V(&t)));
        FIELD(e, VtdIrte, vtd_irte, DST, NULL);
    }
    FIELD(e, VtdIrte, vtd_irte, SID, NULL);
    FIELD(e, VtdIrte, vtd_irte, SQ, NULL);
    FIELD(e, VtdIrte, vtd_irte, SVT, NULL);
    if (!vtd_irte_P(&t))
        set_verdict(e, g_strdup("not present: fault 0x22"));
    else if (vtd_irte_IM(&t))
        set_verdict(e, g_strdup_printf("posted: virtual vector %u into the descriptor at 0x%"
                                       G_GINT64_MODIFIER "x", (unsigned)vtd_irte_VV(&t),
                                       (guint64)vtd_irte_pda(&t)));
    else
        set_verdict(e, g_strdup_printf("remapped: vector 0x%02x to destination 0x%x (source-ID "
                                       "check SVT=%u, the interrupt-remapping model decides)",
                                       (unsigned)vtd_irte_V(&t), (unsigned)vtd_irte_DST(&t),
                                       (unsigned)vtd_irte_SVT(&t)));
}
