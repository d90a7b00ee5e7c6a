/*
 * Fault injection runs; see inject.h and docs/fault-injection.md.
 *
 * An InjectRun follows one replay through the replayer's hooks
 * (trace/replay.h) and the platform's hooks (inject/inject_hook.h).  The
 * golden run has no armed specs: it only records.  The injected run arms
 * the plan and records the same things, so the two recordings can be
 * compared request by request:
 *
 *   - per device request: kind, completion status, fault reason and an
 *     FNV-1a hash of the data read;
 *   - the host pages every successful upstream write landed in (the
 *     translated address the unit reported, or the address itself when no
 *     translation happened), compared at the end between the two runs'
 *     memories (both simulations stay alive until the comparison);
 *   - the delivered interrupts (vector, destination, requester);
 *   - fault records written, and the error completions the injector
 *     produced itself.
 *
 * The injector never changes what the models do except at the points it
 * is asked to: an error completion instead of routing, a flipped bit for
 * the duration of one request (or MSI), a skipped `flush`, a filled page
 * request queue, an MSI delivered zero or two times, an invalidation
 * descriptor lost, deferred or held back (the unit's QI filter), a failed
 * table read or A/D write-back (the unit's table filter, consulted only
 * while this injector is attached), a correctable error logged in AER.
 * Every entry it names (bitflip, table-read-error) is located by its own
 * walk of the tables in memory (entry_locate), through the structure
 * accessors of models/vtd/vtd_entries.h, as the hardware would find it.
 */
#include <string.h>
#include <json-glib/json-glib.h>
#include "core/json_out.h"
#include "inject/inject.h"
#include "inject/inject_hook.h"
#include "core/error.h"
#include "core/sim_internal.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"
#include "pcie/ats.h"
#include "pcie/pcie.h"
#include "platform/irq.h"
#include "platform/platform.h"
#include "trace/replay.h"
#include "trace/trace.h"

#define BITFLIP_PTE_ADDR_MASK UINT64_C(0x000ffffffffff000)   /* bits 51:12 of table pointers */
#define PRQ_FILL_MAX 65536u       /* synthetic requests at most when filling a queue */
#define MSI_ADDR_LO UINT64_C(0xfee00000)
#define MSI_ADDR_HI UINT64_C(0xfef00000)

static const char *const class_names[] = {
#define INJECT_X(id, name, desc) name,
    INJECT_CLASSES(INJECT_X)
#undef INJECT_X
};
static const char *const class_descs[] = {
#define INJECT_X(id, name, desc) desc,
    INJECT_CLASSES(INJECT_X)
#undef INJECT_X
};
static const char *const outcome_names[] = { "not-fired", "masked", "detected", "sdc", "hang" };

const char *inject_class_name(InjectClass c)
{
    return c < INJECT__COUNT ? class_names[c] : "?";
}

const char *inject_class_desc(InjectClass c)
{
    return c < INJECT__COUNT ? class_descs[c] : "?";
}

const char *inject_outcome_name(InjectOutcome o)
{
    return o < INJECT_OUTCOME__COUNT ? outcome_names[o] : "?";
}

int inject_class_parse(const char *s)
{
    for (unsigned i = 0; i < INJECT__COUNT; i++) {
        if (!strcmp(class_names[i], s)) {
            return (int)i;
        }
    }
    return -1;
}

/* ---- plans ------------------------------------------------------------------ */

void inject_spec_free(InjectSpec *s)
{
    if (s) {
        g_free(s->dev);
        g_free(s->text);
        g_free(s);
    }
}

G_GNUC_PRINTF(2, 3)
static InjectSpec *spec_fail(GError **error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "inject: %s", m);
    return NULL;
}

static bool parse_range(const char *v, uint64_t *lo, uint64_t *hi)
{
    const char *sep = strpbrk(v, "+-");
    if (!sep) {
        if (!trace_parse_u64(v, lo)) {
            return false;
        }
        *hi = *lo + 1;
        return true;
    }
    g_autofree char *a = g_strndup(v, (gsize)(sep - v));
    uint64_t b;
    if (!trace_parse_u64(a, lo) || !trace_parse_u64(sep + 1, &b)) {
        return false;
    }
    *hi = *sep == '+' ? *lo + b : b;
    return *hi > *lo;
}

/* Descriptor type names for desc=: the spec's table names in lower case, '-' for '_'. */
static const struct {
    unsigned code;
    const char *name;
} desc_names[] = {
#define DESC_X(code, name, str) { code, #name },
    VTD_INV_TYPE_TABLE(DESC_X)
#undef DESC_X
};

static bool parse_desc(const char *v, unsigned *code)
{
    g_autofree char *n = g_strdelimit(g_strdup(v), "-", '_');
    for (unsigned i = 0; i < G_N_ELEMENTS(desc_names); i++) {
        if (!g_ascii_strcasecmp(n, desc_names[i].name)) {
            *code = desc_names[i].code;
            return true;
        }
    }
    return !strcmp(v, "any") && (*code = 0, true);
}

static const char *desc_name(unsigned code)
{
    for (unsigned i = 0; i < G_N_ELEMENTS(desc_names); i++) {
        if (desc_names[i].code == code) {
            return desc_names[i].name;
        }
    }
    return "reserved";
}

static const struct {
    const char *name;
    uint32_t bit;
} link_kinds[] = {
#define LINK_X(name, cor) { name, PCIE_AER_COR_##cor },
    INJECT_LINK_KINDS(LINK_X)
#undef LINK_X
};

static const struct {
    const char *name;
    unsigned bits;
    const char *what;
} entry_info[] = {
#define INJECT_ENTRY_X(id, name, bits, what) { name, bits, what },
    INJECT_ENTRIES(INJECT_ENTRY_X)
#undef INJECT_ENTRY_X
    { "ADDR", 64, "word" },
};

InjectSpec *inject_spec_parse(char **words, unsigned n, GError **error)
{
    if (n < 1) {
        return spec_fail(error, "usage: inject CLASS [time=T] [nth=N] [prob=P seed=S] [count=K] "
                                "[dev=D] [pasid=N] [addr=LO-HI|LO+SIZE] [op=read|write] "
                                "[entry=root|context|pasid-dir|pasid|pte|fs-pte|irte|ADDR] [bit=N] [desc=TYPE] [did=N] [sid=BDF] "
                                "[delay=TIME] [by=N] [kind=K] [side=device|port]");
    }
    int c = inject_class_parse(words[0]);
    if (c < 0) {
        GString *known = g_string_new(NULL);
        for (unsigned i = 0; i < INJECT__COUNT; i++) {
            g_string_append_printf(known, "%s%s", i ? ", " : "", class_names[i]);
        }
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "inject: '%s' is not a fault class (%s)",
                    words[0], known->str);
        g_string_free(known, TRUE);
        return NULL;
    }
    g_autoptr(GString) text = g_string_new(words[0]);
    InjectSpec *s = g_new0(InjectSpec, 1);
    s->cls = (InjectClass)c;
    s->count = 1;
    for (unsigned i = 1; i < n; i++) {
        const char *w = words[i];
        const char *eq = strchr(w, '=');
        if (!eq) {
            inject_spec_free(s);
            return spec_fail(error, "'%s': expected key=value", w);
        }
        g_autofree char *k = g_strndup(w, (gsize)(eq - w));
        const char *v = eq + 1;
        uint64_t x = 0;
        bool ok = true;
        if (!strcmp(k, "time")) {
            g_autofree char *t = g_strconcat("@", v, NULL);
            bool rel;
            ok = trace_parse_time(t, &s->time, &rel) && !rel;
            s->has_time = true;
        } else if (!strcmp(k, "nth")) {
            ok = trace_parse_u64(v, &s->nth) && s->nth > 0;
        } else if (!strcmp(k, "prob")) {
            char *end;
            s->prob = g_ascii_strtod(v, &end);
            ok = *v && !*end && s->prob >= 0 && s->prob <= 1;
            s->has_prob = true;
        } else if (!strcmp(k, "seed")) {
            ok = trace_parse_u64(v, &s->seed);
        } else if (!strcmp(k, "count")) {
            ok = trace_parse_u64(v, &s->count);
        } else if (!strcmp(k, "dev") || !strcmp(k, "sid")) {
            g_free(s->dev);
            s->dev = g_strdup(v);
            ok = *v != 0;
        } else if (!strcmp(k, "pasid")) {
            ok = trace_parse_u64(v, &x) && x < (1u << 20);
            s->pasid = (uint32_t)x;
            s->has_pasid = true;
        } else if (!strcmp(k, "addr")) {
            ok = parse_range(v, &s->addr_lo, &s->addr_hi);
            s->has_addr = true;
        } else if (!strcmp(k, "op")) {
            ok = !strcmp(v, "read") || !strcmp(v, "write") || !strcmp(v, "any");
            s->op = !strcmp(v, "read") ? 1 : !strcmp(v, "write") ? 2 : 0;
        } else if (!strcmp(k, "entry")) {
            s->entry = INJECT_ENTRY_PADDR;
            for (unsigned j = 0; j < INJECT_ENTRY_PADDR; j++) {
                if (!strcmp(v, entry_info[j].name)) {
                    s->entry = (InjectEntry)j;
                }
            }
            if (s->entry == INJECT_ENTRY_PADDR) {
                ok = trace_parse_u64(v, &s->paddr) && !(s->paddr & 7);
            }
        } else if (!strcmp(k, "bit")) {
            ok = trace_parse_u64(v, &x) && x < 512;
            s->bit = (unsigned)x;
        } else if (!strcmp(k, "desc")) {
            ok = parse_desc(v, &s->desc);
            if (!ok) {
                GString *known = g_string_new("any");
                for (unsigned j = 0; j < G_N_ELEMENTS(desc_names); j++) {
                    g_autofree char *lc = g_ascii_strdown(desc_names[j].name, -1);
                    g_string_append_printf(known, ", %s", g_strdelimit(lc, "_", '-'));
                }
                inject_spec_free(s);
                InjectSpec *r = spec_fail(error, "'%s': not a descriptor type (%s)", w, known->str);
                g_string_free(known, TRUE);
                return r;
            }
        } else if (!strcmp(k, "did")) {
            ok = trace_parse_u64(v, &x) && x <= 0xffff;
            s->did = (uint16_t)x;
            s->has_did = true;
        } else if (!strcmp(k, "delay")) {
            g_autofree char *t = g_strconcat("@", v, NULL);
            bool rel;
            ok = trace_parse_time(t, &s->delay, &rel) && !rel;
            s->has_delay = true;
        } else if (!strcmp(k, "kind")) {
            s->link_cor = 0;
            for (unsigned j = 0; j < G_N_ELEMENTS(link_kinds); j++) {
                if (!strcmp(v, link_kinds[j].name)) {
                    s->link_cor = link_kinds[j].bit;
                }
            }
            ok = s->link_cor != 0;
        } else if (!strcmp(k, "side")) {
            ok = !strcmp(v, "device") || !strcmp(v, "port");
            s->link_port = !strcmp(v, "port");
        } else if (!strcmp(k, "by")) {
            ok = trace_parse_u64(v, &x) && x >= 1 && x <= 65536;
            s->by = (unsigned)x;
        } else {
            inject_spec_free(s);
            return spec_fail(error, "unknown option '%s' (time nth prob seed count dev sid pasid addr op entry bit "
                                    "desc did delay by kind side)", k);
        }
        if (!ok) {
            inject_spec_free(s);
            return spec_fail(error, "'%s': bad value", w);
        }
        g_string_append_printf(text, " %s", w);
    }
    if (s->cls == INJECT_TABLE_READ_ERROR && s->entry == INJECT_ENTRY_IRTE) {
        inject_spec_free(s);
        return spec_fail(error, "table-read-error: IRTE reads are not modelled (use bitflip entry=irte)");
    }
    if (s->cls == INJECT_AD_WRITEBACK && strstr(text->str, " entry=")) {
        inject_spec_free(s);
        return spec_fail(error, "ad-writeback fails every A/D write-back of a matching request (no entry=)");
    }
    if (s->cls == INJECT_BITFLIP && s->bit >= entry_info[s->entry].bits) {
        unsigned bit = s->bit;
        inject_spec_free(s);
        return spec_fail(error, "bit=%u is outside the entry", bit);
    }
    bool qi = s->cls == INJECT_DROP_DESC || s->cls == INJECT_DELAY_DESC || s->cls == INJECT_REORDER_DESC;
    const char *bad = NULL;
    if (qi && s->op) {
        bad = "op= does not apply to invalidation descriptors (select them by desc, did, addr, sid/dev, pasid)";
    } else if (!qi && (s->desc || s->has_did)) {
        bad = "desc= and did= only apply to drop-desc, delay-desc and reorder-desc";
    } else if ((s->cls == INJECT_DELAY_DESC) != s->has_delay) {
        bad = s->has_delay ? "delay= only applies to delay-desc" : "delay-desc needs delay=TIME";
    } else if (s->cls != INJECT_REORDER_DESC && s->by) {
        bad = "by= only applies to reorder-desc";
    }
    if (bad) {
        inject_spec_free(s);
        return spec_fail(error, "%s", bad);
    }
    if ((s->cls == INJECT_LINK_ERROR) != (s->link_cor != 0) || (s->link_port && s->cls != INJECT_LINK_ERROR)) {
        bool lk = s->cls == INJECT_LINK_ERROR;
        inject_spec_free(s);
        return spec_fail(error, lk ? "link-error needs kind=receiver|bad-tlp|bad-dllp|replay-rollover|replay-timeout"
                                   : "kind= and side= only apply to link-error");
    }
    if (s->cls == INJECT_REORDER_DESC && !s->by) {
        s->by = 1;
    }
    s->text = g_strdup(text->str);
    return s;
}

InjectSpec *inject_spec_parse_string(const char *str, GError **error)
{
    g_auto(GStrv) w = g_strsplit_set(str, " \t", -1);
    GPtrArray *words = g_ptr_array_new();
    for (unsigned i = 0; w[i]; i++) {
        if (*w[i]) {
            g_ptr_array_add(words, w[i]);
        }
    }
    InjectSpec *s = inject_spec_parse((char **)words->pdata, words->len, error);
    g_ptr_array_free(words, TRUE);
    return s;
}

/* ---- one run ------------------------------------------------------------------ */

typedef struct Arm {
    const InjectSpec *spec;
    bool has_rid;
    uint16_t rid;
    GRand *rand;
    uint64_t matches, fired;
} Arm;

typedef struct ReqRec {
    unsigned line;
    int kind, status;
    int fault;                /* -1 none, else the reason */
    uint64_t hash;
} ReqRec;

typedef struct InjectRun {
    bool golden;
    EmuSim *sim;
    Platform *p;
    InjectHooks hooks;
    GPtrArray *cli_specs;     /* borrowed; armed when the platform exists */
    GPtrArray *own_specs;     /* InjectSpec * from the trace's inject lines */
    GPtrArray *arms;          /* Arm * */
    GArray *reqs;             /* ReqRec */
    GArray *pages;            /* uint64_t page numbers written */
    GPtrArray *log;           /* char *: what was injected, where, when */
    uint64_t fired[INJECT__COUNT];
    uint64_t error_cpl;       /* error completions produced by the injector */
    uint64_t aer_logged;      /* poisoned TLPs a receiver logs (AER POISON_TLP) */
    char *arm_error;          /* a --inject spec that could not be armed */
    /* a flipped bit waiting to be restored */
    bool flip_pending;
    uint64_t flip_addr, flip_old;
    /* table-read-error: reads of [rderr_lo, rderr_hi) fail until the request ends */
    bool rderr_pending;
    uint64_t rderr_lo, rderr_hi;
    /* the request at the root complex, for ad-writeback (valid while in_request) */
    bool in_request;
    PcieTlp cur;
} InjectRun;

static InjectRun *run_new(bool golden, GPtrArray *cli_specs)
{
    InjectRun *ir = g_new0(InjectRun, 1);
    ir->golden = golden;
    ir->cli_specs = cli_specs;
    ir->own_specs = g_ptr_array_new_with_free_func((GDestroyNotify)inject_spec_free);
    ir->arms = g_ptr_array_new();
    ir->reqs = g_array_new(FALSE, FALSE, sizeof(ReqRec));
    ir->pages = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    ir->log = g_ptr_array_new_with_free_func(g_free);
    return ir;
}

static void run_free(InjectRun *ir)
{
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        g_rand_free(a->rand);
        g_free(a);
    }
    g_ptr_array_free(ir->arms, TRUE);
    g_ptr_array_free(ir->own_specs, TRUE);
    g_array_free(ir->reqs, TRUE);
    g_array_free(ir->pages, TRUE);
    g_ptr_array_free(ir->log, TRUE);
    g_free(ir->arm_error);
    g_free(ir);
}

static gboolean arm(InjectRun *ir, const InjectSpec *s, GError **error)
{
    Arm *a = g_new0(Arm, 1);
    a->spec = s;
    a->rand = g_rand_new_with_seed((guint32)(s->seed ^ (s->seed >> 32)));
    if (s->dev) {
        PcieFn *fn = platform_find_device(ir->p, s->dev);
        uint16_t rid;
        bool qi = s->cls == INJECT_DROP_DESC || s->cls == INJECT_DELAY_DESC || s->cls == INJECT_REORDER_DESC;
        if (!fn && qi && platform_parse_bdf(s->dev, &rid)) {
            /* a descriptor may name any source-id, present or not */
            a->has_rid = true;
            a->rid = rid;
        } else if (!fn) {
            g_rand_free(a->rand);
            g_free(a);
            g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "inject: no device '%s' on this platform",
                        s->dev);
            return FALSE;
        } else {
            a->has_rid = true;
            a->rid = pcie_fn_rid(fn);
        }
    }
    g_ptr_array_add(ir->arms, a);
    return TRUE;
}

G_GNUC_PRINTF(3, 4)
static void note(InjectRun *ir, InjectClass c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ir->fired[c]++;
    g_ptr_array_add(ir->log, g_strdup_printf("%s @%" G_GUINT64_FORMAT "ps request #%u: %s",
                                             inject_class_name(c), (guint64)emu_sim_now(ir->sim),
                                             ir->reqs->len + 1, m));
}

/* The trigger of @a, once per matching event: TRUE when it fires now. */
static bool trigger(InjectRun *ir, Arm *a)
{
    const InjectSpec *s = a->spec;
    if (s->count && a->fired >= s->count) {
        return false;
    }
    if (s->has_time && emu_sim_now(ir->sim) < s->time) {
        return false;
    }
    a->matches++;
    bool fire = !s->nth || a->matches >= s->nth;
    if (s->has_prob) {
        /* always draw, so the sequence does not depend on the other options */
        fire = g_rand_double(a->rand) < s->prob && fire;
    }
    if (fire) {
        a->fired++;
    }
    return fire;
}

static bool match_req(const Arm *a, uint16_t rid, bool pasid_present, uint32_t pasid,
                      uint64_t addr, uint64_t len, bool write)
{
    const InjectSpec *s = a->spec;
    if (a->has_rid && rid != a->rid) {
        return false;
    }
    if (s->has_pasid && (!pasid_present || pasid != s->pasid)) {
        return false;
    }
    if (s->has_addr && (addr + (len ? len : 1) <= s->addr_lo || addr >= s->addr_hi)) {
        return false;
    }
    if ((s->op == 1 && write) || (s->op == 2 && !write)) {
        return false;
    }
    return true;
}

static bool tlp_is_write(const PcieTlp *t)
{
    return t->type != PCIE_TLP_MRD && t->type != PCIE_TLP_MRDLK;
}

static void tlp_words(const PcieTlp *t, GString *out)
{
    g_string_append_printf(out, "%s rid=%02x:%02x.%x addr=0x%" G_GINT64_MODIFIER "x len=%u",
                           pcie_tlp_type_name(t->type), PCIE_BUS(t->requester_id),
                           PCIE_DEV(t->requester_id), PCIE_FN(t->requester_id),
                           (guint64)t->addr, t->length);
}

static uint64_t ld64(InjectRun *ir, uint64_t addr)
{
    uint64_t v = 0;
    addr_space_read(ir->p->mem, addr, 8, &v);
    return v;
}

/*
 * The paging entry the walker reads last for @in in the @levels-level
 * tables at @table: the leaf, or the first non-present entry.
 */
static uint64_t walk_paging(InjectRun *ir, uint64_t table, unsigned levels, uint64_t in, bool fs)
{
    for (unsigned l = levels; l >= 1; l--) {
        uint64_t pa = table + 8 * ((in >> (12 + 9 * (l - 1))) & 0x1ff);
        if (fs) {
            VtdFsPte e = { { ld64(ir, pa) } };
            if (l == 1 || !vtd_fspte_P(&e) || (l <= 3 && vtd_fspte_PS(&e))) {
                return pa;
            }
            table = vtd_fspte_ADDR(&e) << 12;
        } else {
            VtdSsPte e = { { ld64(ir, pa) } };
            if (l == 1 || (!vtd_sspte_R(&e) && !vtd_sspte_W(&e)) || (l <= 3 && vtd_sspte_PS(&e))) {
                return pa;
            }
            table = vtd_sspte_ADDR(&e) << 12;
        }
    }
    return table;
}

/*
 * The host address of the entry @e the hardware reads for a request of
 * @rid (with @pasid when @pasid_present) to @in, following the tables in
 * memory as the walker would (legacy: root, context, second-stage tables;
 * scalable: root, context, PASID directory, PASID entry, then the
 * second-stage (PGTT=2) or first-stage (PGTT=1) tables).  FALSE when the
 * walk does not reach such an entry (a non-present entry above it, the
 * other stage, nested or pass-through translation).
 */
static bool entry_locate(InjectRun *ir, InjectEntry e, uint16_t rid, bool pasid_present, uint32_t pasid,
                         uint64_t in, uint64_t *addr)
{
    PlatformVtd *v = platform_vtd_for(ir->p, rid);
    if (!v) {
        return false;
    }
    uint64_t rtaddr = vtd_unit_reg_peek(v->unit, VTD_RTADDR_REG, 8);
    bool sm = vtd_RTADDR_TTM(rtaddr) == 1;
    uint8_t bus = (uint8_t)PCIE_BUS(rid), devfn = (uint8_t)rid;
    uint64_t root = (vtd_RTADDR_RTA(rtaddr) << 12) + (uint64_t)VTD_ROOT_ENTRY_SIZE * bus;
    if (e == INJECT_ENTRY_ROOT) {
        *addr = root;
        return true;
    }
    VtdRootEntry re = { { ld64(ir, root), ld64(ir, root + 8) } };
    if (!sm) {
        if (!vtd_re_P(&re)) {
            return false;
        }
        uint64_t ctx = (vtd_re_CTP(&re) << 12) + (uint64_t)VTD_CONTEXT_ENTRY_SIZE * devfn;
        if (e == INJECT_ENTRY_CONTEXT) {
            *addr = ctx;
            return true;
        }
        VtdContextEntry ce = { { ld64(ir, ctx), ld64(ir, ctx + 8) } };
        if (e != INJECT_ENTRY_PTE || !vtd_ce_P(&ce) || vtd_ce_TT(&ce) == VTD_TT_PASSTHROUGH) {
            return false;   /* no PASID or first-stage tables in legacy mode */
        }
        *addr = walk_paging(ir, vtd_ce_SLPTPTR(&ce) << 12, (unsigned)vtd_ce_AW(&ce) + 2, in, false);
        return true;
    }
    bool upper = devfn >= 128;
    if (!(upper ? vtd_sre_UP(&re) : vtd_sre_LP(&re))) {
        return false;
    }
    uint64_t ctx = ((upper ? vtd_sre_UCTP(&re) : vtd_sre_LCTP(&re)) << 12) +
                   (uint64_t)VTD_SM_CONTEXT_ENTRY_SIZE * (devfn & 0x7f);
    if (e == INJECT_ENTRY_CONTEXT) {
        *addr = ctx;
        return true;
    }
    VtdSmContextEntry ce;
    for (unsigned i = 0; i < 4; i++) {
        ce.val[i] = ld64(ir, ctx + 8 * i);
    }
    if (!vtd_sce_P(&ce)) {
        return false;
    }
    uint32_t p = pasid_present ? pasid : (uint32_t)vtd_sce_RID_PASID(&ce);
    uint64_t dir = (vtd_sce_PASIDDIRPTR(&ce) << 12) + (uint64_t)VTD_PASID_DIR_ENTRY_SIZE * (p >> 6);
    if (e == INJECT_ENTRY_PASID_DIR) {
        *addr = dir;
        return true;
    }
    VtdPasidDirEntry de = { { ld64(ir, dir) } };
    if (!vtd_pdire_P(&de)) {
        return false;
    }
    uint64_t pa = (vtd_pdire_SMPTBLPTR(&de) << 12) + (uint64_t)VTD_PASID_ENTRY_SIZE * (p & 63);
    if (e == INJECT_ENTRY_PASID) {
        *addr = pa;
        return true;
    }
    VtdPasidEntry pe;
    for (unsigned i = 0; i < 8; i++) {
        pe.val[i] = ld64(ir, pa + 8 * i);
    }
    if (!vtd_pe_P(&pe)) {
        return false;
    }
    unsigned pgtt = (unsigned)vtd_pe_PGTT(&pe);
    if (e == INJECT_ENTRY_PTE && pgtt == VTD_PGTT_SECOND_STAGE) {
        *addr = walk_paging(ir, vtd_pe_SSPTPTR(&pe) << 12, (unsigned)vtd_pe_AW(&pe) + 2, in, false);
        return true;
    }
    if (e == INJECT_ENTRY_FS_PTE && pgtt == VTD_PGTT_FIRST_STAGE) {
        *addr = walk_paging(ir, vtd_pe_FSPTPTR(&pe) << 12, vtd_pe_FSPM(&pe) == 1 ? 5 : 4, in, true);
        return true;
    }
    return false;
}

/*
 * The IRTE a remappable-format MSI (@addr, @data) of @rid selects while
 * the unit has interrupt remapping enabled (VT-d 4.x 5.1.2: handle, plus
 * the subhandle with SHV).  FALSE for compatibility-format interrupts.
 */
static bool irte_locate(InjectRun *ir, uint16_t rid, uint64_t addr, uint32_t data, uint64_t *pa)
{
    PlatformVtd *v = platform_vtd_for(ir->p, rid);
    uint64_t irta;
    bool ire;
    if (!v) {
        return false;
    }
    vtd_unit_ir_state(v->unit, &irta, &ire, NULL);
    VtdMsiAddr ma = { { addr } };
    VtdMsiData md = { { data } };
    if (!ire || !vtd_msi_IF(&ma)) {
        return false;
    }
    uint64_t index = vtd_msi_HANDLE(&ma) | (vtd_msi_HANDLE_15(&ma) << 15);
    if (vtd_msi_SHV(&ma)) {
        index = (index + vtd_msi_SUBHANDLE(&md)) & 0xffff;
    }
    *pa = (vtd_IRTA_IRTA(irta) << 12) + (uint64_t)VTD_IRTE_SIZE * index;
    return true;
}

/* The host address of the entry (@size bytes) @s names for @t, or FALSE. */
static bool entry_target(InjectRun *ir, const InjectSpec *s, const PcieTlp *t, uint64_t *addr, unsigned *size)
{
    *size = s->entry == INJECT_ENTRY_PADDR ? 8 : entry_info[s->entry].bits / 8;
    if (s->entry == INJECT_ENTRY_PADDR) {
        *addr = s->paddr;
        return true;
    }
    if (s->entry == INJECT_ENTRY_IRTE) {
        return false;   /* read on interrupt requests: see hook_msi */
    }
    if (!entry_locate(ir, s->entry, t->requester_id, t->pasid_present, t->pasid, t->addr, addr)) {
        return false;
    }
    if (s->entry == INJECT_ENTRY_CONTEXT) {
        PlatformVtd *v = platform_vtd_for(ir->p, t->requester_id);
        if (vtd_RTADDR_TTM(vtd_unit_reg_peek(v->unit, VTD_RTADDR_REG, 8)) != 1) {
            *size = VTD_CONTEXT_ENTRY_SIZE;   /* legacy context entries are 128 bits */
        }
    }
    return true;
}

/* Flips bit @bit of the entry at @entry (@size bytes) until flip_restore(); FALSE if outside it. */
static bool flip_arm(InjectRun *ir, const InjectSpec *s, uint64_t entry, unsigned size, const char *for_what)
{
    if (s->bit >= size * 8 || ir->flip_pending) {
        return false;
    }
    uint64_t addr = entry + 8u * (s->bit / 64), old = ld64(ir, addr);
    uint64_t flipped = old ^ (UINT64_C(1) << (s->bit % 64));
    addr_space_write(ir->p->mem, addr, 8, flipped);
    ir->flip_pending = true;
    ir->flip_addr = addr;
    ir->flip_old = old;
    note(ir, s->cls, "bit %u of the %s at 0x%" G_GINT64_MODIFIER "x (0x%016" G_GINT64_MODIFIER
         "x -> 0x%016" G_GINT64_MODIFIER "x) for %s", s->bit, entry_info[s->entry].what, (guint64)addr,
         (guint64)old, (guint64)flipped, for_what);
    return true;
}

static void flip_restore(InjectRun *ir)
{
    if (ir->flip_pending) {
        addr_space_write(ir->p->mem, ir->flip_addr, 8, ir->flip_old);
        ir->flip_pending = false;
    }
}

/* The end of a request: restores a flipped bit, disarms a table read error. */
static void request_end(InjectRun *ir)
{
    flip_restore(ir);
    ir->rderr_pending = false;
    ir->in_request = false;
}

static bool rc_before(InjectRun *ir, PcieTlp *t, void *data, PcieCplStatus *status);

/*
 * A corrected link error while @t crossed the requester's link: the data
 * link layer replays the TLP, so the data is unaffected; the receiver
 * logs the error in its Correctable Error Status (the device, or with
 * side=port the port above it), when it has an AER capability.
 */
static void link_error(InjectRun *ir, Arm *a, const PcieTlp *t)
{
    PcieFn *fn = pcie_fabric_find(ir->p->fabric, t->requester_id);
    if (fn && a->spec->link_port) {
        fn = pcie_fn_parent(fn);
    }
    if (!fn || !trigger(ir, a)) {
        return;
    }
    unsigned bit = (unsigned)g_bit_nth_lsf(a->spec->link_cor, -1);
    bool logged = pcie_fn_aer_log(fn, 0, a->spec->link_cor);
    uint16_t rid = pcie_fn_rid(fn);
    g_autoptr(GString) d = g_string_new(NULL);
    tlp_words(t, d);
    note(ir, a->spec->cls, "%s on the link of %s: %s %02x:%02x.%x", pcie_aer_error_name(true, bit), d->str,
         logged ? "logged in the Correctable Error Status of" : "not logged (no AER capability) by",
         PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid));
}

static bool hook_rc_before(void *opaque, PcieTlp *t, void *data, PcieCplStatus *status)
{
    InjectRun *ir = opaque;
    ir->in_request = true;
    ir->cur = *t;
    if (rc_before(ir, t, data, status)) {
        request_end(ir);   /* completed here: rc_after will not run */
        return true;
    }
    return false;
}

static bool rc_before(InjectRun *ir, PcieTlp *t, void *data, PcieCplStatus *status)
{
    bool write = tlp_is_write(t);
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        InjectClass c = a->spec->cls;
        if ((c > INJECT_BITFLIP && c != INJECT_TABLE_READ_ERROR && c != INJECT_LINK_ERROR) ||
            !match_req(a, t->requester_id, t->pasid_present, t->pasid, t->addr, t->length, write)) {
            continue;
        }
        if (c == INJECT_LINK_ERROR) {
            link_error(ir, a, t);
            continue;
        }
        if (c == INJECT_BITFLIP || c == INJECT_TABLE_READ_ERROR) {
            uint64_t addr;
            unsigned size;
            if ((c == INJECT_BITFLIP ? ir->flip_pending : ir->rderr_pending) ||
                !entry_target(ir, a->spec, t, &addr, &size) ||
                (c == INJECT_BITFLIP && a->spec->bit >= size * 8) || !trigger(ir, a)) {
                continue;
            }
            g_autoptr(GString) d = g_string_new(NULL);
            tlp_words(t, d);
            if (c == INJECT_BITFLIP) {
                flip_arm(ir, a->spec, addr, size, d->str);
                continue;
            }
            ir->rderr_pending = true;
            ir->rderr_lo = addr;
            ir->rderr_hi = addr + size;
            note(ir, c, "access error on reads of the %s at 0x%" G_GINT64_MODIFIER "x (%u bytes) for %s",
                 entry_info[a->spec->entry].what, (guint64)addr, size, d->str);
            continue;
        }
        if (!trigger(ir, a)) {
            continue;
        }
        g_autoptr(GString) d = g_string_new(NULL);
        tlp_words(t, d);
        switch (c) {
        case INJECT_UR:
        case INJECT_CA:
            *status = c == INJECT_UR ? PCIE_CPL_UR : PCIE_CPL_CA;
            if (!write && data) {
                memset(data, 0xff, t->length);
            }
            ir->error_cpl++;
            note(ir, c, "%s completion for %s", c == INJECT_UR ? "UR" : "CA", d->str);
            return true;
        case INJECT_POISON:
            ir->aer_logged++;
            t->poisoned = true;   /* the receiver logs it (src/pcie/dma.c) */
            if (write) {
                /* the completer receives poisoned data: it logs and drops the write */
                *status = PCIE_CPL_SC;
                note(ir, c, "poisoned write dropped by the completer (AER POISON_TLP) for %s", d->str);
                return true;
            }
            /* the completion comes back with EP=1 */
            note(ir, c, "poisoned completion (EP=1, AER POISON_TLP at the receiver) for %s", d->str);
            return false;
        case INJECT_TIMEOUT:
            if (write) {
                *status = PCIE_CPL_SC;   /* posted: nobody is told */
                note(ir, c, "posted write lost for %s", d->str);
                return true;
            }
            *status = PCIE_CPL_CA;
            t->cpl_timeout = true;   /* the requester logs Completion Timeout (src/pcie/dma.c) */
            if (data) {
                memset(data, 0xff, t->length);
            }
            ir->error_cpl++;
            note(ir, c, "no completion (requester's Completion Timeout, seen as CA) for %s", d->str);
            return true;
        default:
            break;
        }
    }
    return false;
}

static void hook_rc_after(void *opaque, PcieTlp *t, void *data, PcieCplStatus *status)
{
    InjectRun *ir = opaque;
    (void)data;
    request_end(ir);
    if (t->at == PCIE_AT_TRANSLATION_REQUEST || !tlp_is_write(t) || *status != PCIE_CPL_SC ||
        (t->addr >= MSI_ADDR_LO && t->addr < MSI_ADDR_HI)) {
        return;
    }
    uint64_t hpa = t->addr;
    PlatformVtd *v = platform_vtd_for(ir->p, t->requester_id);
    if (v && t->at == PCIE_AT_UNTRANSLATED &&
        (vtd_unit_reg_peek(v->unit, VTD_GSTS_REG, 4) & VTD_GSTS_TES)) {
        const VtdXlateResult *x = vtd_unit_last_result(v->unit);
        if (!x || x->status != VTD_XLATE_OK) {
            return;
        }
        hpa = x->out_addr;
    }
    uint64_t first = hpa >> 12, last = (hpa + (t->length ? t->length : 1) - 1) >> 12;
    for (uint64_t pg = first; pg <= last; pg++) {
        g_array_append_val(ir->pages, pg);
    }
}

static unsigned hook_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    InjectRun *ir = opaque;
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        uint64_t irte;
        if (a->spec->cls != INJECT_BITFLIP || a->spec->entry != INJECT_ENTRY_IRTE || ir->flip_pending ||
            !match_req(a, rid, false, 0, addr, 4, true) || a->spec->has_pasid ||
            !irte_locate(ir, rid, addr, data, &irte) || !trigger(ir, a)) {
            continue;
        }
        g_autofree char *d = g_strdup_printf("MSI rid=%02x:%02x.%x addr=0x%" G_GINT64_MODIFIER "x data=0x%x",
                                             PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid), (guint64)addr, data);
        flip_arm(ir, a->spec, irte, VTD_IRTE_SIZE, d);
    }
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        InjectClass c = a->spec->cls;
        if ((c != INJECT_MSI_LOST && c != INJECT_MSI_DUP) || !match_req(a, rid, false, 0, addr, 4, true) ||
            (a->spec->has_pasid) || !trigger(ir, a)) {
            continue;
        }
        note(ir, c, "MSI rid=%02x:%02x.%x addr=0x%" G_GINT64_MODIFIER "x data=0x%x %s", PCIE_BUS(rid),
             PCIE_DEV(rid), PCIE_FN(rid), (guint64)addr, data,
             c == INJECT_MSI_LOST ? "not delivered" : "delivered twice");
        return c == INJECT_MSI_LOST ? 0 : 2;
    }
    return 1;
}

/* The MSI was delivered (or not): a flipped IRTE bit is restored. */
static void hook_msi_done(void *opaque)
{
    flip_restore(opaque);
}

/*
 * The walker's table accesses (models/vtd/vtd_xlate.h VtdXlateMemFilter):
 * a read inside an armed table-read-error entry fails; an A/D write-back
 * during a request matching an ad-writeback entry fails when it triggers.
 */
static bool hook_table_access(void *opaque, uint64_t addr, bool write)
{
    InjectRun *ir = opaque;
    if (!write) {
        return ir->rderr_pending && addr >= ir->rderr_lo && addr < ir->rderr_hi;
    }
    if (!ir->in_request) {
        return false;
    }
    const PcieTlp *t = &ir->cur;
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        if (a->spec->cls != INJECT_AD_WRITEBACK ||
            !match_req(a, t->requester_id, t->pasid_present, t->pasid, t->addr, t->length, tlp_is_write(t)) ||
            !trigger(ir, a)) {
            continue;
        }
        g_autoptr(GString) d = g_string_new(NULL);
        tlp_words(t, d);
        note(ir, a->spec->cls, "A/D write-back to the paging entry at 0x%" G_GINT64_MODIFIER "x failed for %s",
             (guint64)addr, d->str);
        return true;
    }
    return false;
}

static bool hook_devtlb_timeout(void *opaque, uint16_t sid, uint64_t addr)
{
    InjectRun *ir = opaque;
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        if (a->spec->cls != INJECT_DEVTLB_TIMEOUT || !match_req(a, sid, false, 0, addr, 4096, false) ||
            a->spec->has_pasid || !trigger(ir, a)) {
            continue;
        }
        note(ir, a->spec->cls, "device-TLB invalidation to %02x:%02x.%x addr=0x%" G_GINT64_MODIFIER
             "x not answered", PCIE_BUS(sid), PCIE_DEV(sid), PCIE_FN(sid), (guint64)addr);
        return true;
    }
    return false;
}

/*
 * Whether descriptor @d of @type matches the field selectors of @a: did=
 * the DID of a domain- or page-selective (PASID-based) IOTLB, context-cache
 * (domain or device) or PASID-cache (domain or PASID) invalidation; addr=
 * the range of a page-selective (PASID-based) IOTLB or (PASID-based)
 * device-TLB invalidation; dev=/sid= the SID of a device-TLB or
 * device-selective context-cache invalidation (under its function mask)
 * or the RID of a page group response; pasid= the PASID of a PASID-based
 * descriptor.  A descriptor without the selected field does not match.
 */
static bool desc_match(const Arm *a, unsigned type, const VtdInvDesc *d)
{
    const InjectSpec *s = a->spec;
    if (s->desc && s->desc != type) {
        return false;
    }
    if (s->has_did) {
        bool has = false;
        uint64_t did = 0;
        switch (type) {
        case VTD_INV_CC:
            has = vtd_inv_cc_G(d) == VTD_INV_CC_DOMAIN || vtd_inv_cc_G(d) == VTD_INV_CC_DEVICE;
            did = vtd_inv_cc_DID(d);
            break;
        case VTD_INV_IOTLB:
            has = vtd_inv_iotlb_G(d) == VTD_INV_IOTLB_DSI || vtd_inv_iotlb_G(d) == VTD_INV_IOTLB_PSI;
            did = vtd_inv_iotlb_DID(d);
            break;
        case VTD_INV_PIOTLB:
            has = true;
            did = vtd_inv_piotlb_DID(d);
            break;
        case VTD_INV_PC:
            has = vtd_inv_pc_G(d) != VTD_INV_PC_GLOBAL;
            did = vtd_inv_pc_DID(d);
            break;
        default:
            break;
        }
        if (!has || did != s->did) {
            return false;
        }
    }
    if (s->has_addr) {
        uint64_t lo = 0, size = 0;
        switch (type) {
        case VTD_INV_IOTLB:
            if (vtd_inv_iotlb_G(d) == VTD_INV_IOTLB_PSI) {
                size = UINT64_C(4096) << vtd_inv_iotlb_AM(d);
                lo = (vtd_inv_iotlb_ADDR(d) << 12) & ~(size - 1);
            }
            break;
        case VTD_INV_PIOTLB:
            if (vtd_inv_piotlb_G(d) == VTD_INV_PIOTLB_PSI) {
                size = UINT64_C(4096) << vtd_inv_piotlb_AM(d);
                lo = (vtd_inv_piotlb_ADDR(d) << 12) & ~(size - 1);
            }
            break;
        case VTD_INV_DEV_IOTLB:
        case VTD_INV_PDEV_IOTLB: {
            bool dev = type == VTD_INV_DEV_IOTLB;
            uint64_t page = (dev ? vtd_inv_dev_ADDR(d) : vtd_inv_pdev_ADDR(d)) << 12;
            if (dev ? vtd_inv_dev_S(d) : vtd_inv_pdev_S(d)) {
                /* S=1: the ATS range encoding, as the endpoint decodes it */
                PcieAtsEntry e = pcie_ats_decode(page | (1u << 11));
                lo = e.addr;
                size = e.size;
            } else {
                lo = page;
                size = 4096;
            }
            break;
        }
        default:
            break;
        }
        if (!size || lo + size <= s->addr_lo || lo >= s->addr_hi) {
            return false;
        }
    }
    if (a->has_rid) {
        bool has = false;
        uint16_t sid = 0, mask = 0xffff;
        switch (type) {
        case VTD_INV_CC:
            if (vtd_inv_cc_G(d) == VTD_INV_CC_DEVICE) {
                /* FM 1/2/3 masks function bits 2, 2:1, 2:0 (VT-d 6.5.2.1) */
                unsigned fm = (unsigned)vtd_inv_cc_FM(d);
                has = true;
                sid = (uint16_t)vtd_inv_cc_SID(d);
                mask = (uint16_t)~(((1u << fm) - 1) << (3 - fm));
            }
            break;
        case VTD_INV_DEV_IOTLB:
            has = true;
            sid = (uint16_t)vtd_inv_dev_SID(d);
            break;
        case VTD_INV_PDEV_IOTLB:
            has = true;
            sid = (uint16_t)vtd_inv_pdev_SID(d);
            break;
        case VTD_INV_PGRP_RESP:
            has = true;
            sid = (uint16_t)vtd_inv_pgrsp_RID(d);
            break;
        default:
            break;
        }
        if (!has || (sid & mask) != (a->rid & mask)) {
            return false;
        }
    }
    if (s->has_pasid) {
        bool has = false;
        uint64_t pasid = 0;
        switch (type) {
        case VTD_INV_PIOTLB:
            has = true;
            pasid = vtd_inv_piotlb_PASID(d);
            break;
        case VTD_INV_PC:
            has = vtd_inv_pc_G(d) == VTD_INV_PC_PASID;
            pasid = vtd_inv_pc_PASID(d);
            break;
        case VTD_INV_PDEV_IOTLB:
            has = true;
            pasid = vtd_inv_pdev_PASID(d);
            break;
        case VTD_INV_PGRP_RESP:
            has = vtd_inv_pgrsp_PP(d) != 0;
            pasid = vtd_inv_pgrsp_PASID(d);
            break;
        default:
            break;
        }
        if (!has || pasid != s->pasid) {
            return false;
        }
    }
    return true;
}

static InjectQiAction hook_qi_filter(void *opaque, unsigned type, const uint64_t *val, uint64_t *arg)
{
    InjectRun *ir = opaque;
    VtdInvDesc d;
    memcpy(d.val, val, sizeof d.val);
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        InjectClass c = a->spec->cls;
        if ((c != INJECT_DROP_DESC && c != INJECT_DELAY_DESC && c != INJECT_REORDER_DESC) ||
            !desc_match(a, type, &d) || !trigger(ir, a)) {
            continue;
        }
        g_autofree char *lc = g_ascii_strdown(desc_name(type), -1);
        g_strdelimit(lc, "_", '-');
        if (c == INJECT_DROP_DESC) {
            note(ir, c, "%s descriptor 0x%016" G_GINT64_MODIFIER "x_%016" G_GINT64_MODIFIER
                 "x consumed without effect", lc, (guint64)val[1], (guint64)val[0]);
            return INJECT_QI_DROP;
        }
        if (c == INJECT_DELAY_DESC) {
            *arg = a->spec->delay;
            note(ir, c, "%s descriptor 0x%016" G_GINT64_MODIFIER "x_%016" G_GINT64_MODIFIER
                 "x deferred by %" G_GUINT64_FORMAT "ps (executes at %" G_GUINT64_FORMAT "ps)", lc,
                 (guint64)val[1], (guint64)val[0], (guint64)a->spec->delay,
                 (guint64)(emu_sim_now(ir->sim) + a->spec->delay));
            return INJECT_QI_DELAY;
        }
        *arg = a->spec->by;
        note(ir, c, "%s descriptor 0x%016" G_GINT64_MODIFIER "x_%016" G_GINT64_MODIFIER
             "x held until %u more descriptor(s) are fetched", lc, (guint64)val[1], (guint64)val[0],
             a->spec->by);
        return INJECT_QI_REORDER;
    }
    return INJECT_QI_PASS;
}

/* ---- replay hooks ------------------------------------------------------------------ */

static void rh_platform_ready(void *opaque, EmuSim *sim)
{
    InjectRun *ir = opaque;
    ir->sim = sim;
    ir->p = platform_get(sim);
    ir->hooks = (InjectHooks){ .opaque = ir, .rc_before = hook_rc_before, .rc_after = hook_rc_after,
                               .msi = hook_msi, .devtlb_timeout = hook_devtlb_timeout,
                               .qi_filter = hook_qi_filter, .msi_done = hook_msi_done,
                               .table_access = hook_table_access };
    platform_attach_inject(ir->p, &ir->hooks);
    for (guint i = 0; !ir->golden && ir->cli_specs && i < ir->cli_specs->len; i++) {
        GError *err = NULL;
        if (!arm(ir, g_ptr_array_index(ir->cli_specs, i), &err)) {
            if (!ir->arm_error) {
                ir->arm_error = g_strdup(err->message);
            }
            g_error_free(err);
        }
    }
}

static gboolean rh_inject(void *opaque, const TraceEvent *ev, GError **error)
{
    InjectRun *ir = opaque;
    GError *err = NULL;
    InjectSpec *s = inject_spec_parse(ev->words + 1, ev->nwords - 1, &err);
    if (!s) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s:%u: %s", ev->file, ev->line, err->message);
        g_error_free(err);
        return FALSE;
    }
    g_ptr_array_add(ir->own_specs, s);
    if (!arm(ir, s, &err)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s:%u: %s", ev->file, ev->line, err->message);
        g_error_free(err);
        return FALSE;
    }
    if (ir->golden) {
        /* the golden run checks the line but arms nothing */
        Arm *a = g_ptr_array_steal_index(ir->arms, ir->arms->len - 1);
        g_rand_free(a->rand);
        g_free(a);
    }
    return TRUE;
}

static bool rh_skip_event(void *opaque, const TraceEvent *ev)
{
    InjectRun *ir = opaque;
    bool flush = !strcmp(ev->words[0], "flush");
    bool prq = !strcmp(ev->words[0], "page-request");
    if (!flush && !prq) {
        return false;
    }
    for (guint i = 0; i < ir->arms->len; i++) {
        Arm *a = g_ptr_array_index(ir->arms, i);
        const InjectSpec *s = a->spec;
        if (flush && s->cls == INJECT_DROP_INVAL) {
            uint64_t iova = 0, size = 0;
            if (ev->nwords == 4 && trace_parse_u64(ev->words[2], &iova) &&
                trace_parse_u64(ev->words[3], &size)) {
                if (s->has_addr && (iova + size <= s->addr_lo || iova >= s->addr_hi)) {
                    continue;
                }
            }
            if (!trigger(ir, a)) {
                continue;
            }
            note(ir, s->cls, "%s:%u: flush %s dropped", ev->file, ev->line,
                 ev->nwords > 1 ? ev->words[1] : "?");
            return true;
        }
        if (prq && s->cls == INJECT_PRQ_OVERFLOW && ev->nwords >= 2) {
            PcieFn *fn = platform_find_device(ir->p, ev->words[1]);
            PlatformVtd *v = fn ? platform_vtd_for(ir->p, pcie_fn_rid(fn)) : NULL;
            if (!v || (a->has_rid && a->rid != pcie_fn_rid(fn)) || !trigger(ir, a)) {
                continue;
            }
            unsigned n = 0;
            VtdPageReq fill = { .rid = pcie_fn_rid(fn), .read = true, .addr = 0 };
            while (n < PRQ_FILL_MAX && vtd_unit_page_request(v->unit, &fill) == VTD_PRQ_QUEUED) {
                n++;
            }
            note(ir, s->cls, "%s:%u: page request queue filled with %u requests", ev->file, ev->line, n);
        }
    }
    return false;
}

static uint64_t fnv1a(const uint8_t *d, uint32_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (uint32_t i = 0; i < n; i++) {
        h = (h ^ d[i]) * UINT64_C(0x100000001b3);
    }
    return h;
}

static void rh_request_done(void *opaque, const ReplayRequestInfo *info)
{
    InjectRun *ir = opaque;
    ReqRec rec = { .line = info->line, .kind = info->kind, .status = info->status,
                   .fault = info->fault ? info->fault_reason : -1,
                   .hash = info->data ? fnv1a(info->data, info->len) : 0 };
    g_array_append_val(ir->reqs, rec);
}

/* ---- results --------------------------------------------------------------------- */

typedef struct RunSummary {
    uint64_t requests, faults_recorded, error_status, irqs, pages;
    uint32_t inv_errors;      /* FSTS IQE|ITE|ICE of any unit at the end */
    GArray *aer;              /* AerState of the functions with an AER capability, by fabric order */
    char *error;
} RunSummary;

/* One function's AER status at the end of a run. */
typedef struct AerState {
    uint16_t rid;
    uint32_t uncor, cor;
} AerState;

struct InjectResult {
    char *trace;
    GPtrArray *plan;          /* char * spec texts */
    InjectOutcome outcome;
    char *detail;
    uint64_t fired[INJECT__COUNT];
    GPtrArray *log;           /* char * */
    RunSummary golden, injected;
};

void inject_result_free(InjectResult *r)
{
    if (r) {
        g_free(r->trace);
        g_ptr_array_free(r->plan, TRUE);
        g_free(r->detail);
        g_ptr_array_free(r->log, TRUE);
        g_free(r->golden.error);
        g_free(r->injected.error);
        if (r->golden.aer) {
            g_array_free(r->golden.aer, TRUE);
        }
        if (r->injected.aer) {
            g_array_free(r->injected.aer, TRUE);
        }
        g_free(r);
    }
}

InjectOutcome inject_result_outcome(const InjectResult *r)
{
    return r->outcome;
}

const uint64_t *inject_result_fired(const InjectResult *r)
{
    return r->fired;
}

static uint64_t faults_recorded(Platform *p)
{
    uint64_t n = 0;
    for (guint i = 0; p && i < p->vtd->len; i++) {
        n += vtd_unit_stats(((PlatformVtd *)g_ptr_array_index(p->vtd, i))->unit)->faults_recorded;
    }
    return n;
}

static int cmp_u64(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void aer_collect(PcieFn *fn, void *opaque)
{
    AerState st = { .rid = pcie_fn_rid(fn) };
    if (pcie_fn_aer_status(fn, &st.uncor, &st.cor)) {
        g_array_append_val((GArray *)opaque, st);
    }
}

static void summarize(InjectRun *ir, RunSummary *s)
{
    s->aer = g_array_new(FALSE, FALSE, sizeof(AerState));
    if (ir->p) {
        pcie_fabric_foreach(ir->p->fabric, aer_collect, s->aer);
    }
    s->requests = ir->reqs->len;
    s->faults_recorded = faults_recorded(ir->p);
    for (guint i = 0; i < ir->reqs->len; i++) {
        s->error_status += g_array_index(ir->reqs, ReqRec, i).status != PCIE_CPL_SC;
    }
    s->irqs = ir->p ? platform_irq_count(ir->p) : 0;
    for (guint i = 0; ir->p && i < ir->p->vtd->len; i++) {
        VtdUnit *u = ((PlatformVtd *)g_ptr_array_index(ir->p->vtd, i))->unit;
        s->inv_errors |= (uint32_t)vtd_unit_reg_peek(u, VTD_FSTS_REG, 4) &
                         (VTD_FSTS_IQE | VTD_FSTS_ITE | VTD_FSTS_ICE);
    }
    g_array_sort(ir->pages, cmp_u64);
    guint w = 0;
    for (guint i = 0; i < ir->pages->len; i++) {
        uint64_t pg = g_array_index(ir->pages, uint64_t, i);
        if (!w || g_array_index(ir->pages, uint64_t, w - 1) != pg) {
            g_array_index(ir->pages, uint64_t, w++) = pg;
        }
    }
    g_array_set_size(ir->pages, w);
    s->pages = w;
}

/* The first page (of either run's written pages) whose contents differ; FALSE if none. */
static bool pages_differ(InjectRun *g, InjectRun *x, uint64_t *page)
{
    if (!g->p || !x->p) {
        return false;
    }
    uint8_t a[4096], b[4096];
    InjectRun *runs[2] = { g, x };
    for (unsigned k = 0; k < 2; k++) {
        for (guint i = 0; i < runs[k]->pages->len; i++) {
            uint64_t pg = g_array_index(runs[k]->pages, uint64_t, i);
            memset(a, 0, sizeof a);
            memset(b, 0, sizeof b);
            addr_space_rw(g->p->mem, pg << 12, a, sizeof a, false);
            addr_space_rw(x->p->mem, pg << 12, b, sizeof b, false);
            if (memcmp(a, b, sizeof a)) {
                *page = pg;
                return true;
            }
        }
    }
    return false;
}

static bool irqs_differ(Platform *gp, Platform *xp, GString *why)
{
    if (!gp || !xp) {
        return false;
    }
    uint64_t gn = platform_irq_count(gp), xn = platform_irq_count(xp);
    if (gn != xn) {
        g_string_append_printf(why, "%" G_GUINT64_FORMAT " interrupts delivered, golden run %" G_GUINT64_FORMAT,
                               (guint64)xn, (guint64)gn);
        return true;
    }
    const GArray *gl = platform_irq_log(gp), *xl = platform_irq_log(xp);
    for (guint i = 0; i < MIN(gl->len, xl->len); i++) {
        const PlatformIrq *a = &g_array_index(gl, PlatformIrq, i), *b = &g_array_index(xl, PlatformIrq, i);
        if (a->vector != b->vector || a->dest_id != b->dest_id || a->rid != b->rid) {
            g_string_append_printf(why, "interrupt %u: vector 0x%x, golden run 0x%x", i + 1, b->vector,
                                   a->vector);
            return true;
        }
    }
    return false;
}

static void classify(InjectResult *res, InjectRun *g, InjectRun *x)
{
    uint64_t total = 0;
    for (unsigned c = 0; c < INJECT__COUNT; c++) {
        total += x->fired[c];
    }
    GString *why = g_string_new(NULL);
    if (res->injected.error && (res->injected.inv_errors & ~res->golden.inv_errors)) {
        /* the unit reported it and the driver gave up the operation */
        res->outcome = INJECT_DETECTED;
        g_string_append_printf(why, "invalidation error reported (FSTS%s%s%s), the driver failed: %s",
                               (res->injected.inv_errors & VTD_FSTS_IQE) ? " IQE" : "",
                               (res->injected.inv_errors & VTD_FSTS_ITE) ? " ITE" : "",
                               (res->injected.inv_errors & VTD_FSTS_ICE) ? " ICE" : "", res->injected.error);
    } else if (res->injected.error) {
        res->outcome = INJECT_HANG;
        g_string_append_printf(why, "the injected run stopped: %s", res->injected.error);
    } else if (!total) {
        res->outcome = INJECT_NOT_FIRED;
        g_string_append(why, "no event matched the trigger");
    } else if (res->injected.faults_recorded > res->golden.faults_recorded) {
        res->outcome = INJECT_DETECTED;
        g_string_append_printf(why, "%" G_GUINT64_FORMAT " fault record(s) more than the golden run",
                               (guint64)(res->injected.faults_recorded - res->golden.faults_recorded));
        guint m = MIN(g->reqs->len, x->reqs->len);
        for (guint i = 0; i < m; i++) {
            const ReqRec *a = &g_array_index(g->reqs, ReqRec, i), *b = &g_array_index(x->reqs, ReqRec, i);
            if (b->fault >= 0 && b->fault != a->fault) {
                g_string_append_printf(why, "; request #%u (line %u): fault 0x%02x, %s", i + 1, b->line,
                                       b->fault, vtd_fault_reason_str((unsigned)b->fault));
                break;
            }
        }
    } else if (x->aer_logged) {
        res->outcome = INJECT_DETECTED;
        g_string_append_printf(why, "%" G_GUINT64_FORMAT " poisoned TLP(s) logged by the receiver (AER)",
                               (guint64)x->aer_logged);
    }
    guint n = MIN(g->reqs->len, x->reqs->len);
    for (guint i = 0; res->outcome == INJECT_NOT_FIRED && total && i < n; i++) {
        const ReqRec *a = &g_array_index(g->reqs, ReqRec, i), *b = &g_array_index(x->reqs, ReqRec, i);
        if (a->status == PCIE_CPL_SC && b->status != PCIE_CPL_SC) {
            res->outcome = INJECT_DETECTED;
            g_string_append_printf(why, "request #%u (line %u) completed %s instead of SC", i + 1, b->line,
                                   pcie_cpl_status_name((PcieCplStatus)b->status));
        }
    }
    for (guint i = 0; res->outcome == INJECT_NOT_FIRED && total && i < res->injected.aer->len; i++) {
        /* an error logged in AER that the golden run did not log: software reading it sees it */
        const AerState *b = &g_array_index(res->injected.aer, AerState, i);
        const AerState *a = NULL;
        for (guint j = 0; j < res->golden.aer->len; j++) {
            if (g_array_index(res->golden.aer, AerState, j).rid == b->rid) {
                a = &g_array_index(res->golden.aer, AerState, j);
            }
        }
        uint32_t nu = b->uncor & ~(a ? a->uncor : 0), nc = b->cor & ~(a ? a->cor : 0);
        if (nu || nc) {
            unsigned bit = (unsigned)g_bit_nth_lsf(nu ? nu : nc, -1);
            res->outcome = INJECT_DETECTED;
            g_string_append_printf(why, "AER of %02x:%02x.%x: %s Error Status 0x%08x, golden run 0x%08x (%s)",
                                   PCIE_BUS(b->rid), PCIE_DEV(b->rid), PCIE_FN(b->rid),
                                   nu ? "Uncorrectable" : "Correctable", nu ? b->uncor : b->cor,
                                   a ? (nu ? a->uncor : a->cor) : 0, pcie_aer_error_name(!nu, bit));
        }
    }
    if (res->outcome == INJECT_NOT_FIRED && total) {
        uint64_t pg;
        for (guint i = 0; i < n; i++) {
            const ReqRec *a = &g_array_index(g->reqs, ReqRec, i), *b = &g_array_index(x->reqs, ReqRec, i);
            if (a->hash != b->hash || a->status != b->status || a->fault != b->fault) {
                res->outcome = INJECT_SDC;
                g_string_append_printf(why, "request #%u (line %u): %s differs from the golden run", i + 1,
                                       b->line, a->hash != b->hash ? "data read" : "outcome");
                break;
            }
        }
        if (res->outcome == INJECT_NOT_FIRED && pages_differ(g, x, &pg)) {
            res->outcome = INJECT_SDC;
            g_string_append_printf(why, "written memory differs from the golden run at 0x%" G_GINT64_MODIFIER "x",
                                   (guint64)(pg << 12));
        }
        if (res->outcome == INJECT_NOT_FIRED && irqs_differ(g->p, x->p, why)) {
            res->outcome = INJECT_SDC;
        }
        if (res->outcome == INJECT_NOT_FIRED) {
            res->outcome = INJECT_MASKED;
            g_string_append(why, "results identical to the golden run");
        }
    }
    res->detail = g_string_free(why, FALSE);
}

static gboolean one_run(InjectRun *ir, Replay **rp, const char *trace, GError **error)
{
    Replay *r = replay_new(NULL);
    ReplayHooks h = { .opaque = ir, .platform_ready = rh_platform_ready, .inject = rh_inject,
                      .skip_event = rh_skip_event, .request_done = rh_request_done };
    replay_set_hooks(r, &h);
    *rp = r;
    gboolean ok = replay_run(r, trace, error);
    if (ok && ir->arm_error) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s", ir->arm_error);
        ok = FALSE;
    }
    return ok;
}

InjectResult *inject_run_trace(const char *trace, GPtrArray *specs, GError **error)
{
    InjectRun *g = run_new(true, specs), *x = run_new(false, specs);
    Replay *gr = NULL, *xr = NULL;
    InjectResult *res = NULL;
    if (!one_run(g, &gr, trace, error)) {
        goto out;
    }
    res = g_new0(InjectResult, 1);
    res->trace = g_strdup(trace);
    res->plan = g_ptr_array_new_with_free_func(g_free);
    res->log = g_ptr_array_new_with_free_func(g_free);
    GError *err = NULL;
    if (!one_run(x, &xr, trace, &err)) {
        if (x->arm_error) {
            /* a plan that names what this platform does not have: a usage error */
            g_propagate_error(error, err);
            inject_result_free(res);
            res = NULL;
            goto out;
        }
        res->injected.error = g_strdup(err->message);
        g_error_free(err);
    }
    for (guint i = 0; specs && i < specs->len; i++) {
        g_ptr_array_add(res->plan, g_strdup(((InjectSpec *)g_ptr_array_index(specs, i))->text));
    }
    for (guint i = 0; i < x->own_specs->len; i++) {
        g_ptr_array_add(res->plan, g_strdup(((InjectSpec *)g_ptr_array_index(x->own_specs, i))->text));
    }
    memcpy(res->fired, x->fired, sizeof res->fired);
    for (guint i = 0; i < x->log->len; i++) {
        g_ptr_array_add(res->log, g_strdup(g_ptr_array_index(x->log, i)));
    }
    summarize(g, &res->golden);
    summarize(x, &res->injected);
    res->injected.error_status = 0;
    for (guint i = 0; i < x->reqs->len; i++) {
        res->injected.error_status += g_array_index(x->reqs, ReqRec, i).status != PCIE_CPL_SC;
    }
    classify(res, g, x);
out:
    replay_free(gr);
    replay_free(xr);
    run_free(g);
    run_free(x);
    return res;
}

void inject_result_text(const InjectResult *r, GString *out)
{
    g_string_append_printf(out, "trace:      %s\n", r->trace);
    g_string_append(out, "plan:");
    for (guint i = 0; i < r->plan->len; i++) {
        g_string_append_printf(out, "%s%s\n", i ? "            " : "       ", (char *)g_ptr_array_index(r->plan, i));
    }
    if (!r->plan->len) {
        g_string_append(out, "       (empty)\n");
    }
    g_string_append_printf(out, "outcome:    %s (%s)\n", inject_outcome_name(r->outcome), r->detail);
    g_string_append(out, "injected:");
    bool any = false;
    for (unsigned c = 0; c < INJECT__COUNT; c++) {
        if (r->fired[c]) {
            g_string_append_printf(out, " %s=%" G_GUINT64_FORMAT, inject_class_name(c), (guint64)r->fired[c]);
            any = true;
        }
    }
    g_string_append(out, any ? "\n" : " nothing\n");
    for (guint i = 0; i < r->log->len; i++) {
        g_string_append_printf(out, "  %s\n", (char *)g_ptr_array_index(r->log, i));
    }
    const RunSummary *s[2] = { &r->golden, &r->injected };
    for (unsigned k = 0; k < 2; k++) {
        g_string_append_printf(out, "%-10s  requests %" G_GUINT64_FORMAT ", error completions %" G_GUINT64_FORMAT
                               ", fault records %" G_GUINT64_FORMAT ", interrupts %" G_GUINT64_FORMAT
                               ", pages written %" G_GUINT64_FORMAT "%s%s\n",
                               k ? "injected:" : "golden:", (guint64)s[k]->requests, (guint64)s[k]->error_status,
                               (guint64)s[k]->faults_recorded, (guint64)s[k]->irqs, (guint64)s[k]->pages,
                               s[k]->error ? ", stopped: " : "", s[k]->error ? s[k]->error : "");
    }
    for (unsigned k = 0; k < 2; k++) {
        /* functions whose AER status registers are not clear, only when there are any */
        for (guint i = 0; s[k]->aer && i < s[k]->aer->len; i++) {
            const AerState *a = &g_array_index(s[k]->aer, AerState, i);
            if (a->uncor || a->cor) {
                g_string_append_printf(out, "%-10s  AER %02x:%02x.%x: Uncorrectable Error Status 0x%08x, "
                                       "Correctable Error Status 0x%08x\n", k ? "injected:" : "golden:",
                                       PCIE_BUS(a->rid), PCIE_DEV(a->rid), PCIE_FN(a->rid), a->uncor, a->cor);
            }
        }
    }
}

static void json_run(JsonBuilder *b, const char *name, const RunSummary *s)
{
    json_builder_set_member_name(b, name);
    json_builder_begin_object(b);
    json_member_int(b, "requests", (gint64)s->requests);
    json_member_int(b, "error_completions", (gint64)s->error_status);
    json_member_int(b, "fault_records", (gint64)s->faults_recorded);
    json_member_int(b, "interrupts", (gint64)s->irqs);
    json_member_int(b, "pages_written", (gint64)s->pages);
    json_builder_set_member_name(b, "aer");
    json_builder_begin_array(b);
    for (guint i = 0; s->aer && i < s->aer->len; i++) {
        const AerState *a = &g_array_index(s->aer, AerState, i);
        if (a->uncor || a->cor) {
            g_autofree char *bdf = g_strdup_printf("%02x:%02x.%x", PCIE_BUS(a->rid), PCIE_DEV(a->rid), PCIE_FN(a->rid));
            json_builder_begin_object(b);
            json_member_string(b, "function", bdf);
            json_member_int(b, "uncorrectable_status", a->uncor);
            json_member_int(b, "correctable_status", a->cor);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "error");
    if (s->error) {
        json_builder_add_string_value(b, s->error);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_end_object(b);
}

void inject_result_json(const InjectResult *r, GString *out)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_member_string(b, "trace", r->trace);
    json_builder_set_member_name(b, "plan");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->plan->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->plan, i));
    }
    json_builder_end_array(b);
    json_member_string(b, "outcome", inject_outcome_name(r->outcome));
    json_member_string(b, "detail", r->detail);
    json_builder_set_member_name(b, "fired");
    json_builder_begin_object(b);
    for (unsigned c = 0; c < INJECT__COUNT; c++) {
        json_member_int(b, inject_class_name(c), (gint64)r->fired[c]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "injections");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->log->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->log, i));
    }
    json_builder_end_array(b);
    json_run(b, "golden", &r->golden);
    json_run(b, "injected", &r->injected);
    json_builder_end_object(b);
    JsonGenerator *g = json_generator_new();
    json_generator_set_pretty(g, TRUE);
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    gchar *s = json_generator_to_data(g, NULL);
    g_string_append(out, s);
    g_string_append_c(out, '\n');
    g_free(s);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
}
