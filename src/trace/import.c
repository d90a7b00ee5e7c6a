/*
 * Importer of real Linux inputs into the vtdsim trace language.
 *
 * What users have on their hosts is not a trace of device requests but
 * text: ftrace output of the iommu, dma and intel_iommu event systems, and
 * kernel log lines the VT-d driver printed.  This file reads that text line
 * by line, recognises each line by its shape (ftrace framing
 * "TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: PAYLOAD" or a DMAR kernel message
 * with an optional printk time stamp) and writes the host-driver operations
 * and device requests the line implies:
 *
 *  - iommu:map / iommu:unmap (old, new and Android "dev=" shapes) become
 *    `map` / `unmap` on a domain.  They name no device, so they go to the
 *    domain of the device of the last attach_device_to_domain event (or a
 *    default domain); a comment says which whenever that changes.
 *  - dma:* events name the device: each device gets its own domain, maps
 *    carry permissions from the direction (TO_DEVICE: the device reads,
 *    perm=r), and with synthesize_dma a DMA of the mapped range follows.
 *  - DMAR fault log lines become a 4-byte DMA with `expect fault`.
 *  - The DMAR boot banner becomes a [vtd] group with the host's CAP/ECAP.
 *
 * Mappings are tracked per domain and per 4 KiB page with a reference
 * count: two sub-page buffers sharing a page map it once and unmap it when
 * the last one goes, as the kernel's IOVA allocator never does but direct
 * (pass-through) mappings do; ranges above 64 MiB (VFIO maps of guest
 * memory) are kept as intervals instead.  Physical addresses are folded
 * into a data window of the generated platform's DRAM (the host's are far
 * beyond what a simulated machine holds); the original is in a comment.
 *
 * Not done: interrupt remapping faults, queued-invalidation descriptors
 * (qi_submit) and page request reports are kept as comments, because the
 * driver library issues its own invalidations for the unmaps it performs
 * and the host's descriptors name its own domain IDs and queue addresses.
 * Binary trace-cmd .dat files are refused (run `trace-cmd report` first).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "core/error.h"
#include "trace/import.h"

#define PAGE G_GUINT64_CONSTANT(0x1000)
#define POOL_TEXT "0x10000000+64M"
#define WINDOW_BASE G_GUINT64_CONSTANT(0x20000000)
#define WINDOW_SIZE G_GUINT64_CONSTANT(0x20000000)
#define UNIT_BASE G_GUINT64_CONSTANT(0xFED90000)
#define MAX_SLOTS 30u            /* 00:02 .. 00:1f */
#define MAX_DEVICES (MAX_SLOTS * 8u)
#define LARGE_PAGES 16384u       /* ranges above 64 MiB are not counted page by page */

enum { PERM_R = 1, PERM_W = 2 };

typedef struct ImpDom ImpDom;

typedef struct ImpSg {
    GArray *dma;      /* guint64 pairs: dma address, size */
    guint64 phys0;    /* first physical address, to find it again at dma_unmap_sg */
} ImpSg;

typedef struct ImpDev {
    char *orig;       /* as named in the input: "0000:3b:00.1" */
    char *name;       /* in the trace and platform: "dev_3b_00_1" */
    char slot[8];     /* synthetic placement "00:02.0" */
    ImpDom *dom;      /* attached domain, or NULL */
    bool pasid;       /* used with a PASID */
    GPtrArray *sgs;   /* live dma_map_sg mappings (ImpSg) */
} ImpDev;

typedef struct ImpPage {
    guint64 pa_pfn;
    unsigned perm;
    unsigned refs;
} ImpPage;

struct ImpDom {
    char *name;
    GHashTable *pages;  /* iova pfn -> ImpPage */
    GArray *large;      /* guint64 pairs [start, end) of mappings too large to count by page */
    ImpDev *dev;        /* a device attached to it (for synthesized DMA) */
};

typedef struct ImpUnit {
    char *name;
    guint64 real_base;
    unsigned ver;
    guint64 cap, ecap;
} ImpUnit;

typedef struct Importer {
    const TraceImportOptions *opt;
    TraceImportStats *st;
    const char *source;       /* the input as named in messages */
    char *label;              /* its base name, in the generated files */
    guint lineno;
    GString *body;
    GHashTable *dev_by_key;   /* canonical input name -> ImpDev */
    GPtrArray *devs;
    GHashTable *dom_by_name;
    GPtrArray *doms;
    GPtrArray *units;
    GArray *include_all;      /* guint64 bases of DRHDs with INCLUDE_PCI_ALL */
    ImpDom *cur_dom;          /* target of device-less iommu:map/unmap */
    ImpDom *noted_dom;        /* the attribution last said in a comment */
    bool have_dma_events;
    bool have_iommu_maps;
    bool noted_iommu_skip;
    /* time */
    bool line_has_ts, line_stamped, t0_set, any_stamp;
    guint64 line_ns, t0, last_rel;
    /* an old-style fault line waiting for its "[fault reason NN]" line */
    bool fault_pending;
    ImpDev *pf_dev;
    bool pf_write;
    guint64 pf_addr;
    gint64 pf_pasid;
    guint64 pf_ts;
    bool pf_has_ts;
    bool line_converted;      /* the current line produced an event */
} Importer;

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

void trace_import_stats_clear(TraceImportStats *s)
{
    for (guint i = 0; i < s->n_reported; i++) {
        g_free(s->reported[i]);
    }
    memset(s, 0, sizeof *s);
}

void trace_import_stats_format(const TraceImportStats *s, GString *out)
{
    g_string_append_printf(out,
                           "%" G_GUINT64_FORMAT " lines: %" G_GUINT64_FORMAT " converted, %"
                           G_GUINT64_FORMAT " as comments, %" G_GUINT64_FORMAT " ignored, %"
                           G_GUINT64_FORMAT " other events, %" G_GUINT64_FORMAT " skipped\n",
                           s->lines, s->events, s->comments, s->ignored, s->foreign, s->skipped);
    g_string_append_printf(out, "%u devices, %u domains, %u VT-d units\n", s->devices, s->domains,
                           s->units);
    if (s->dropped || s->sg_truncated || s->sg_merged || s->unmatched_unmaps || s->time_clamped) {
        g_string_append_printf(out,
                               "%" G_GUINT64_FORMAT " dropped, %" G_GUINT64_FORMAT
                               " truncated sg lists, %" G_GUINT64_FORMAT " merged sg lists, %"
                               G_GUINT64_FORMAT " unmatched unmaps, %" G_GUINT64_FORMAT
                               " time stamps out of order\n",
                               s->dropped, s->sg_truncated, s->sg_merged, s->unmatched_unmaps,
                               s->time_clamped);
    }
    for (guint i = 0; i < s->n_reported; i++) {
        g_string_append_printf(out, "skipped: %s\n", s->reported[i]);
    }
}

void trace_import_format_time(GString *out, guint64 ns)
{
    if (ns == 0) {
        g_string_append(out, "@0ns");
    } else if (ns % G_GUINT64_CONSTANT(1000000000) == 0) {
        g_string_append_printf(out, "@%" G_GUINT64_FORMAT "s", ns / G_GUINT64_CONSTANT(1000000000));
    } else if (ns % G_GUINT64_CONSTANT(1000000) == 0) {
        g_string_append_printf(out, "@%" G_GUINT64_FORMAT "ms", ns / G_GUINT64_CONSTANT(1000000));
    } else if (ns % G_GUINT64_CONSTANT(1000) == 0) {
        g_string_append_printf(out, "@%" G_GUINT64_FORMAT "us", ns / G_GUINT64_CONSTANT(1000));
    } else {
        g_string_append_printf(out, "@%" G_GUINT64_FORMAT "ns", ns);
    }
}

gboolean trace_import_parse_timestamp(const char *s, gsize len, guint64 *ns)
{
    guint64 sec = 0, frac = 0;
    gsize i = 0;
    unsigned fdig = 0;
    if (len == 0 || !g_ascii_isdigit(s[0])) {
        return FALSE;
    }
    for (; i < len && g_ascii_isdigit(s[i]); i++) {
        if (sec > (G_MAXUINT64 - 9) / 10) {
            return FALSE;
        }
        sec = sec * 10 + (guint64)(s[i] - '0');
    }
    if (i == len) {
        *ns = sec;   /* a raw counter (trace-cmd with a counter clock) */
        return TRUE;
    }
    if (s[i] != '.') {
        return FALSE;
    }
    i++;
    if (i == len || !g_ascii_isdigit(s[i])) {
        return FALSE;
    }
    for (; i < len && g_ascii_isdigit(s[i]); i++) {
        if (fdig < 9) {
            frac = frac * 10 + (guint64)(s[i] - '0');
            fdig++;
        }
    }
    if (i != len || sec > G_MAXUINT64 / G_GUINT64_CONSTANT(1000000000) - 1) {
        return FALSE;
    }
    for (; fdig < 9; fdig++) {
        frac *= 10;
    }
    *ns = sec * G_GUINT64_CONSTANT(1000000000) + frac;
    return TRUE;
}

/* A hexadecimal number with or without 0x (the dma events print none). */
static bool parse_hex(const char *s, guint64 *v)
{
    if (!s || !*s) {
        return false;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
    }
    if (!g_ascii_isxdigit(*s)) {
        return false;
    }
    char *end;
    guint64 x = g_ascii_strtoull(s, &end, 16);
    if (*end) {
        return false;
    }
    *v = x;
    return true;
}

/* A size: decimal, or hexadecimal with 0x. */
static bool parse_size(const char *s, guint64 *v)
{
    if (!s || !*s) {
        return false;
    }
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        return parse_hex(s, v);
    }
    if (!g_ascii_isdigit(*s)) {
        return false;
    }
    char *end;
    guint64 x = g_ascii_strtoull(s, &end, 10);
    if (*end) {
        return false;
    }
    *v = x;
    return true;
}

/* Value of "key=value" among @toks, or NULL. */
static const char *kv(char **toks, const char *key)
{
    gsize kl = strlen(key);
    for (unsigned i = 0; toks[i]; i++) {
        if (strncmp(toks[i], key, kl) == 0 && toks[i][kl] == '=') {
            return toks[i] + kl + 1;
        }
    }
    return NULL;
}

/* Words of @s split on blanks, empty words dropped. */
static char **words(const char *s)
{
    char **v = g_strsplit_set(s, " \t", -1);
    unsigned j = 0;
    for (unsigned i = 0; v[i]; i++) {
        if (*v[i]) {
            v[j++] = v[i];
        } else {
            g_free(v[i]);
        }
    }
    v[j] = NULL;
    return v;
}

/* "{0x1,0x2}" -> values; FALSE when the array is not closed. */
static bool parse_array(const char *s, GArray *out)
{
    if (!s || *s != '{') {
        return false;
    }
    const char *close = strchr(s, '}');
    if (!close || close[1]) {
        return false;
    }
    g_autofree char *inner = g_strndup(s + 1, (gsize)(close - s - 1));
    if (!*inner) {
        return true;
    }
    g_auto(GStrv) items = g_strsplit(inner, ",", -1);
    for (unsigned i = 0; items[i]; i++) {
        guint64 v;
        g_strstrip(items[i]);
        if (!parse_size(items[i], &v)) {
            return false;
        }
        g_array_append_val(out, v);
    }
    return true;
}

static const char *perm_str(unsigned perm)
{
    switch (perm & 3) {
    case PERM_R: return "r";
    case PERM_W: return "w";
    default: return "rw";
    }
}

/* ------------------------------------------------------------------ */
/* output                                                              */

static void skip(Importer *imp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void skip(Importer *imp, const char *fmt, ...)
{
    imp->st->skipped++;
    if (imp->st->n_reported < TRACE_IMPORT_MAX_REPORTED) {
        va_list ap;
        va_start(ap, fmt);
        g_autofree char *why = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        imp->st->reported[imp->st->n_reported++] =
            g_strdup_printf("%s:%u: %s", imp->source, imp->lineno, why);
    }
}

static void comment(Importer *imp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void comment(Importer *imp, const char *fmt, ...)
{
    va_list ap;
    g_string_append(imp->body, "# ");
    va_start(ap, fmt);
    g_string_append_vprintf(imp->body, fmt, ap);
    va_end(ap);
    g_string_append_c(imp->body, '\n');
}

/* One event line; the first event of an input line carries its time stamp. */
static void emit(Importer *imp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void emit(Importer *imp, const char *fmt, ...)
{
    va_list ap;
    imp->line_converted = true;
    if (imp->line_has_ts && !imp->line_stamped) {
        imp->line_stamped = true;
        if (!imp->t0_set) {
            imp->t0_set = true;
            imp->t0 = imp->line_ns;
        }
        if (imp->line_ns < imp->t0 || imp->line_ns - imp->t0 < imp->last_rel) {
            imp->st->time_clamped++;
        } else {
            guint64 rel = imp->line_ns - imp->t0;
            if (rel != imp->last_rel || !imp->any_stamp) {
                trace_import_format_time(imp->body, rel);
                g_string_append_c(imp->body, ' ');
                imp->last_rel = rel;
                imp->any_stamp = true;
            }
        }
    }
    va_start(ap, fmt);
    g_string_append_vprintf(imp->body, fmt, ap);
    va_end(ap);
    g_string_append_c(imp->body, '\n');
}

/* ------------------------------------------------------------------ */
/* devices, domains, units                                             */

/*
 * Canonical key of a device name: PCI names become "SSSS:BB:DD.F" in
 * lower case (so "3b:00.1" from a kernel log and "0000:3b:00.1" from
 * ftrace meet); anything else stays as written.
 */
static char *dev_key(const char *name, unsigned *seg, unsigned *bus, unsigned *dev, unsigned *fn,
                     bool *is_pci)
{
    unsigned s = 0, b, d, f;
    char tail;
    *is_pci = false;
    if (sscanf(name, "%x:%x:%x.%x%c", &s, &b, &d, &f, &tail) == 4 ||
        (s = 0, sscanf(name, "%x:%x.%x%c", &b, &d, &f, &tail) == 3)) {
        if (s <= 0xffff && b <= 0xff && d <= 0x1f && f <= 7) {
            *is_pci = true;
            *seg = s;
            *bus = b;
            *dev = d;
            *fn = f;
            return g_strdup_printf("%04x:%02x:%02x.%x", s, b, d, f);
        }
    }
    return g_strdup(name);
}

static ImpDev *get_dev(Importer *imp, const char *name)
{
    unsigned seg = 0, bus = 0, dv = 0, fn = 0;
    bool is_pci;
    char *key = dev_key(name, &seg, &bus, &dv, &fn, &is_pci);
    ImpDev *d = g_hash_table_lookup(imp->dev_by_key, key);
    if (d) {
        g_free(key);
        return d;
    }
    if (imp->devs->len >= MAX_DEVICES) {
        g_free(key);
        return NULL;
    }
    d = g_new0(ImpDev, 1);
    d->orig = key;
    if (is_pci && seg == 0) {
        d->name = g_strdup_printf("dev_%02x_%02x_%x", bus, dv, fn);
    } else if (is_pci) {
        d->name = g_strdup_printf("dev_%04x_%02x_%02x_%x", seg, bus, dv, fn);
    } else {
        GString *n = g_string_new("dev_");
        for (const char *p = name; *p; p++) {
            g_string_append_c(n, g_ascii_isalnum(*p) ? g_ascii_tolower(*p) : '_');
        }
        d->name = g_string_free(n, FALSE);
    }
    /* a non-PCI name may sanitise to the name of a PCI device: keep names unique */
    g_autofree char *base = g_strdup(d->name);
    for (unsigned n = 2;; n++) {
        bool taken = false;
        for (guint j = 0; j < imp->devs->len && !taken; j++) {
            taken = !strcmp(((ImpDev *)g_ptr_array_index(imp->devs, j))->name, d->name);
        }
        if (!taken) {
            break;
        }
        g_free(d->name);
        d->name = g_strdup_printf("%s_%u", base, n);
    }
    guint i = imp->devs->len;
    g_snprintf(d->slot, sizeof d->slot, "00:%02x.%u", 2 + i % MAX_SLOTS, i / MAX_SLOTS);
    d->sgs = g_ptr_array_new();
    g_ptr_array_add(imp->devs, d);
    g_hash_table_insert(imp->dev_by_key, d->orig, d);
    return d;
}

static ImpDom *get_dom(Importer *imp, const char *name)
{
    ImpDom *dom = g_hash_table_lookup(imp->dom_by_name, name);
    if (!dom) {
        dom = g_new0(ImpDom, 1);
        dom->name = g_strdup(name);
        dom->pages = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
        dom->large = g_array_new(FALSE, FALSE, sizeof(guint64));
        g_ptr_array_add(imp->doms, dom);
        g_hash_table_insert(imp->dom_by_name, dom->name, dom);
    }
    return dom;
}

/* The device's own domain "dom_<bdf>". */
static ImpDom *dev_own_dom(Importer *imp, ImpDev *d)
{
    g_autofree char *n = g_strdup_printf("dom_%s", d->name + 4);
    return get_dom(imp, n);
}

static void attach(Importer *imp, ImpDev *d, ImpDom *dom)
{
    if (d->dom == dom) {
        return;
    }
    emit(imp, "attach %s %s", dom->name, d->name);
    d->dom = dom;
    dom->dev = d;
}

/* The device's domain, attaching it to its own one first when it has none. */
static ImpDom *dev_dom(Importer *imp, ImpDev *d)
{
    if (!d->dom) {
        attach(imp, d, dev_own_dom(imp, d));
    }
    return d->dom;
}

static const char *unit_name(const Importer *imp);

static ImpUnit *main_unit(const Importer *imp)
{
    ImpUnit *last = NULL;
    for (guint i = 0; i < imp->units->len; i++) {
        ImpUnit *u = g_ptr_array_index(imp->units, i);
        for (guint j = 0; j < imp->include_all->len; j++) {
            if (g_array_index(imp->include_all, guint64, j) == u->real_base) {
                return u;
            }
        }
        last = u;
    }
    return last;
}

static const char *unit_name(const Importer *imp)
{
    ImpUnit *u = main_unit(imp);
    if (u) {
        return u->name;
    }
    return imp->opt->default_unit ? imp->opt->default_unit : "dmar0";
}

/* Input address width of the domains: MGAW of the banner, else of the xeon preset (48). */
static unsigned addr_width(const Importer *imp)
{
    ImpUnit *u = main_unit(imp);
    if (u) {
        return (unsigned)((u->cap >> 16) & 0x3f) + 1;
    }
    return 48;
}

/* ------------------------------------------------------------------ */
/* mappings                                                            */

/* The simulated physical address of host page @pa: PA mod 512 MiB in the data window. */
static guint64 fold_pa(const Importer *imp, guint64 pa)
{
    if (imp->opt->keep_phys) {
        return pa;
    }
    return WINDOW_BASE + (pa & (WINDOW_SIZE - 1));
}

static void flush_map_run(Importer *imp, ImpDom *dom, guint64 iova, guint64 pa, guint64 n,
                          unsigned perm, guint64 orig_pa)
{
    if (!n) {
        return;
    }
    if (orig_pa != pa) {
        emit(imp, "map %s 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
             "x perm=%s  # pa 0x%" G_GINT64_MODIFIER "x",
             dom->name, iova, pa, n * PAGE, perm_str(perm), orig_pa);
    } else {
        emit(imp, "map %s 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER
             "x perm=%s", dom->name, iova, pa, n * PAGE, perm_str(perm));
    }
}

/* FALSE when the range is beyond the domain's address width (dropped). */
static bool dom_map(Importer *imp, ImpDom *dom, guint64 iova, guint64 pa, guint64 size,
                    unsigned perm)
{
    if (size == 0) {
        size = 1;
    }
    guint64 a_iova = iova & ~(PAGE - 1);
    guint64 end = (iova + size + PAGE - 1) & ~(PAGE - 1);
    unsigned aw = addr_width(imp);
    if (end < a_iova || (aw < 64 && end > (G_GUINT64_CONSTANT(1) << aw))) {
        comment(imp, "dropped: 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                "x is beyond the %u-bit address width", iova, size, aw);
        imp->st->dropped++;
        return false;
    }
    guint64 npages = (end - a_iova) / PAGE;
    guint64 a_pa = pa & ~(PAGE - 1);
    guint64 run_iova = 0, run_pa = 0, run_orig = 0, run_n = 0;
    unsigned run_perm = 0;

    if (npages > LARGE_PAGES) {
        /* too large to count pages: map it as it is (in pieces where the fold wraps) */
        guint64 total = npages * PAGE;
        for (guint64 off = 0; off < total;) {
            guint64 p = a_pa + off, chunk = total - off;
            if (!imp->opt->keep_phys) {
                chunk = MIN(chunk, WINDOW_SIZE - (p & (WINDOW_SIZE - 1)));
            }
            flush_map_run(imp, dom, a_iova + off, fold_pa(imp, p), chunk / PAGE, perm, p);
            off += chunk;
        }
        guint64 iv[2] = { a_iova, end };
        g_array_append_vals(dom->large, iv, 2);
        imp->line_converted = true;
        return true;
    }
    for (guint64 k = 0; k < npages; k++) {
        gint64 ipfn = (gint64)(a_iova / PAGE + k);
        guint64 ppfn = fold_pa(imp, a_pa + k * PAGE) / PAGE;
        ImpPage *e = g_hash_table_lookup(dom->pages, &ipfn);
        unsigned want = perm;
        if (e && e->pa_pfn == ppfn && (e->perm & perm) == perm) {
            e->refs++;
            flush_map_run(imp, dom, run_iova, run_pa, run_n, run_perm, run_orig);
            run_n = 0;
            continue;
        }
        if (e) {
            /* a different page or more rights: replace it, invalidating the old entry first */
            flush_map_run(imp, dom, run_iova, run_pa, run_n, run_perm, run_orig);
            run_n = 0;
            emit(imp, "unmap %s 0x%" G_GINT64_MODIFIER "x 0x1000", dom->name,
                 (guint64)ipfn * PAGE);
            if (e->pa_pfn == ppfn) {
                want |= e->perm;
            }
            e->pa_pfn = ppfn;
            e->perm = want;
            e->refs++;
        } else {
            gint64 *key = g_new(gint64, 1);
            *key = ipfn;
            e = g_new0(ImpPage, 1);
            e->pa_pfn = ppfn;
            e->perm = want;
            e->refs = 1;
            g_hash_table_insert(dom->pages, key, e);
        }
        if (run_n && run_perm == want && run_iova + run_n * PAGE == (guint64)ipfn * PAGE &&
            run_pa + run_n * PAGE == ppfn * PAGE) {
            run_n++;
        } else {
            flush_map_run(imp, dom, run_iova, run_pa, run_n, run_perm, run_orig);
            run_iova = (guint64)ipfn * PAGE;
            run_pa = ppfn * PAGE;
            run_orig = a_pa + k * PAGE;
            run_perm = want;
            run_n = 1;
        }
    }
    flush_map_run(imp, dom, run_iova, run_pa, run_n, run_perm, run_orig);
    imp->line_converted = true;   /* even when only reference counts changed */
    return true;
}

/*
 * Unmaps what [start, end) overlaps of the large intervals, adding the
 * pieces to @done; TRUE when that is all of it.
 */
static bool dom_unmap_large(Importer *imp, ImpDom *dom, guint64 start, guint64 end, GArray *done)
{
    guint64 covered = 0;
    for (guint i = 0; i + 1 < dom->large->len;) {
        guint64 s = g_array_index(dom->large, guint64, i), e = g_array_index(dom->large, guint64, i + 1);
        guint64 lo = MAX(s, start), hi = MIN(e, end);
        if (lo >= hi) {
            i += 2;
            continue;
        }
        emit(imp, "unmap %s 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x", dom->name, lo, hi - lo);
        covered += hi - lo;
        guint64 piece[2] = { lo, hi };
        g_array_append_vals(done, piece, 2);
        g_array_remove_range(dom->large, i, 2);
        if (s < lo) {
            guint64 iv[2] = { s, lo };
            g_array_insert_vals(dom->large, i, iv, 2);
            i += 2;
        }
        if (hi < e) {
            guint64 iv[2] = { hi, e };
            g_array_insert_vals(dom->large, i, iv, 2);
            i += 2;
        }
    }
    return covered == end - start;
}

static gint cmp_u64(gconstpointer a, gconstpointer b)
{
    guint64 x = *(const guint64 *)a, y = *(const guint64 *)b;
    return (x > y) - (x < y);
}

static void dom_unmap(Importer *imp, ImpDom *dom, guint64 iova, guint64 size)
{
    if (size == 0) {
        size = 1;
    }
    guint64 a_iova = iova & ~(PAGE - 1);
    guint64 end = (iova + size + PAGE - 1) & ~(PAGE - 1);
    if (end < a_iova) {
        end = a_iova + PAGE;
    }
    g_autoptr(GArray) done = g_array_new(FALSE, FALSE, sizeof(guint64));
    if (dom->large->len && dom_unmap_large(imp, dom, a_iova, end, done)) {
        return;
    }
    guint64 run_iova = 0, run_n = 0, missing = 0;
    bool any = done->len > 0;
    /*
     * The range comes from the log (a corrupted size can span the whole
     * address space): walk it page by page only when that is not much more
     * than what the domain has mapped; otherwise visit just the mapped pages
     * inside it, in address order, and count the rest as missing at once.
     */
    guint64 npages = (end - a_iova) / PAGE;
    g_autoptr(GArray) visit = NULL;
    if (npages > 4096 && npages > 4ull * g_hash_table_size(dom->pages)) {
        visit = g_array_new(FALSE, FALSE, sizeof(guint64));
        GHashTableIter it;
        gpointer key;
        g_hash_table_iter_init(&it, dom->pages);
        while (g_hash_table_iter_next(&it, &key, NULL)) {
            guint64 pa = (guint64)*(gint64 *)key * PAGE;
            if (pa >= a_iova && pa < end) {
                g_array_append_val(visit, pa);
            }
        }
        g_array_sort(visit, cmp_u64);
        guint64 in_large = 0;
        for (guint i = 0; i + 1 < done->len; i += 2) {
            in_large += (g_array_index(done, guint64, i + 1) - g_array_index(done, guint64, i)) / PAGE;
        }
        missing = npages - visit->len - MIN(in_large, npages - visit->len);
    }
    for (guint64 k = 0, p = a_iova; visit ? k < visit->len : p < end; k++, p += PAGE) {
        if (visit) {
            p = g_array_index(visit, guint64, k);
        }
        gint64 ipfn = (gint64)(p / PAGE);
        bool in_large = false;
        for (guint i = 0; i + 1 < done->len && !in_large; i += 2) {
            in_large = p >= g_array_index(done, guint64, i) && p < g_array_index(done, guint64, i + 1);
        }
        if (in_large) {
            continue;
        }
        ImpPage *e = g_hash_table_lookup(dom->pages, &ipfn);
        bool gone = false;
        if (!e) {
            missing++;    /* dense walk only: the sparse one visits mapped pages */
        } else if (--e->refs == 0) {
            g_hash_table_remove(dom->pages, &ipfn);
            gone = true;
        }
        if (gone && run_n && run_iova + run_n * PAGE == p) {
            run_n++;    /* (a gap in the sparse walk fails this test and ends the run) */
        } else {
            if (run_n) {
                emit(imp, "unmap %s 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x",
                     dom->name, run_iova, run_n * PAGE);
                any = true;
            }
            run_n = gone ? 1 : 0;
            run_iova = p;
        }
    }
    if (run_n) {
        emit(imp, "unmap %s 0x%" G_GINT64_MODIFIER "x 0x%" G_GINT64_MODIFIER "x", dom->name,
             run_iova, run_n * PAGE);
        any = true;
    }
    if (missing) {
        imp->st->unmatched_unmaps++;
        if (!any && !imp->line_converted) {
            imp->st->comments++;
        }
        comment(imp, "unmap of 0x%" G_GINT64_MODIFIER "x+0x%" G_GINT64_MODIFIER
                "x in %s: %" G_GUINT64_FORMAT " page(s) were not mapped", iova, size, dom->name,
                missing);
    }
    if (!any && !missing) {
        imp->line_converted = true;   /* only reference counts changed */
    }
}

static void synth_dma(Importer *imp, ImpDev *d, guint64 addr, guint64 size, bool write)
{
    if (!d || !imp->opt->synthesize_dma) {
        return;
    }
    guint64 max = imp->opt->dma_max_len ? imp->opt->dma_max_len : 4096;
    guint64 len = size < max ? size : max;
    if (len == 0) {
        return;
    }
    emit(imp, "dma %s %s 0x%" G_GINT64_MODIFIER "x %" G_GUINT64_FORMAT, write ? "write" : "read",
         d->name, addr, len);
    if (imp->opt->expect_ok) {
        emit(imp, "expect no-fault");
    }
}

/* TO_DEVICE: the device reads; FROM_DEVICE: it writes. */
static unsigned dir_perm(const char *dir)
{
    if (!dir) {
        return PERM_R | PERM_W;
    }
    if (!strcmp(dir, "TO_DEVICE")) {
        return PERM_R;
    }
    if (!strcmp(dir, "FROM_DEVICE")) {
        return PERM_W;
    }
    return PERM_R | PERM_W;
}

/* A map of a device's range with the DMA the device would then do. */
static void dev_map(Importer *imp, ImpDev *d, guint64 iova, guint64 pa, guint64 size, unsigned perm)
{
    ImpDom *dom = dev_dom(imp, d);
    if (!dom_map(imp, dom, iova, pa, size, perm)) {
        return;
    }
    if (perm & PERM_R) {
        synth_dma(imp, d, iova, size, false);
    }
    if (perm & PERM_W) {
        synth_dma(imp, d, iova, size, true);
    }
}

/* ------------------------------------------------------------------ */
/* iommu:* events                                                      */

static void note_attribution(Importer *imp, ImpDom *dom)
{
    if (imp->noted_dom == dom) {
        return;
    }
    imp->noted_dom = dom;
    if (dom->dev) {
        comment(imp, "iommu:map/unmap name no device: attributed to %s (last attached: %s)",
                dom->name, dom->dev->orig);
    } else {
        comment(imp, "iommu:map/unmap name no device: attributed to %s (no attach seen yet)",
                dom->name);
    }
}

static void ev_iommu(Importer *imp, const char *ev, const char *payload)
{
    g_auto(GStrv) t = words(payload);
    if (!t[0] || !g_str_has_prefix(t[0], "IOMMU:")) {
        skip(imp, "%s: payload does not start with 'IOMMU:'", ev);
        return;
    }
    if (!strcmp(ev, "map") || !strcmp(ev, "unmap")) {
        bool is_map = ev[0] == 'm';
        guint64 iova, pa = 0, size;
        const char *sz = is_map ? kv(t, "size") : kv(t, "unmapped_size");
        if (!is_map && (!sz || !strcmp(sz, "0"))) {
            sz = kv(t, "size");
        }
        if (!parse_hex(kv(t, "iova"), &iova) || !parse_size(sz, &size) ||
            (is_map && !parse_hex(kv(t, "paddr"), &pa))) {
            skip(imp, "iommu:%s: expected iova=, %ssize=", ev, is_map ? "paddr=, " : "");
            return;
        }
        if (imp->have_dma_events) {
            imp->st->ignored++;
            if (!imp->noted_iommu_skip) {
                imp->noted_iommu_skip = true;
                comment(imp, "iommu:map/unmap ignored: the dma:* events of this input describe "
                        "the same mappings per device");
            }
            return;
        }
        ImpDev *d = NULL;
        ImpDom *dom;
        const char *devname = kv(t, "dev");
        if (devname && (d = get_dev(imp, devname))) {
            dom = dev_dom(imp, d);
        } else {
            if (!imp->cur_dom) {
                imp->cur_dom = get_dom(imp, "dom_default");
            }
            dom = imp->cur_dom;
            note_attribution(imp, dom);
            d = dom->dev;
        }
        if (is_map) {
            if (dom_map(imp, dom, iova, pa, size, PERM_R | PERM_W)) {
                synth_dma(imp, d, iova, size, false);
            }
        } else {
            dom_unmap(imp, dom, iova, size);
        }
        return;
    }
    if (!strcmp(ev, "attach_device_to_domain") || !strcmp(ev, "add_device_to_group")) {
        const char *devname = kv(t, "device");
        ImpDev *d = devname ? get_dev(imp, devname) : NULL;
        if (!d) {
            skip(imp, "iommu:%s: expected device=", ev);
            return;
        }
        ImpDom *dom;
        const char *grp = kv(t, "groupID");
        if (grp) {
            g_autofree char *n = g_strdup_printf("dom_group%s", grp);
            dom = get_dom(imp, n);
        } else {
            dom = d->dom ? d->dom : dev_own_dom(imp, d);
        }
        attach(imp, d, dom);
        dom->dev = d;
        if (!grp) {
            imp->cur_dom = dom;
        }
        imp->line_converted = true;
        return;
    }
    if (!strcmp(ev, "detach_device_from_domain")) {
        const char *devname = kv(t, "device");
        ImpDev *d = devname ? get_dev(imp, devname) : NULL;
        if (!d) {
            skip(imp, "iommu:%s: expected device=", ev);
            return;
        }
        if (d->dom) {
            emit(imp, "detach %s %s", unit_name(imp), d->name);
            if (d->dom->dev == d) {
                d->dom->dev = NULL;
            }
            d->dom = NULL;
        } else {
            imp->line_converted = true;
        }
        return;
    }
    if (!strcmp(ev, "remove_device_from_group")) {
        imp->st->comments++;
        comment(imp, "iommu:%s %s", ev, payload);
        return;
    }
    if (!strcmp(ev, "io_page_fault")) {
        /* IOMMU:DRIVER DEVICE iova=... flags=... */
        guint64 iova, flags = 0;
        ImpDev *d = t[1] ? get_dev(imp, t[1]) : NULL;
        if (!d || !parse_hex(kv(t, "iova"), &iova) || !parse_hex(kv(t, "flags"), &flags)) {
            skip(imp, "iommu:io_page_fault: expected DRIVER DEVICE iova= flags=");
            return;
        }
        bool write = flags & 1;
        dev_dom(imp, d);
        emit(imp, "dma %s %s 0x%" G_GINT64_MODIFIER "x 4", write ? "write" : "read", d->name, iova);
        emit(imp, "expect fault 0x%02x", write ? 0x05 : 0x06);
        return;
    }
    imp->st->foreign++;
}

/* ------------------------------------------------------------------ */
/* dma:* events                                                        */

static void free_sg(ImpSg *sg)
{
    g_array_free(sg->dma, TRUE);
    g_free(sg);
}

static void unmap_segments(Importer *imp, ImpDev *d, GArray *pairs)
{
    ImpDom *dom = dev_dom(imp, d);
    for (guint i = 0; i + 1 < pairs->len; i += 2) {
        dom_unmap(imp, dom, g_array_index(pairs, guint64, i), g_array_index(pairs, guint64, i + 1));
    }
}

static void ev_dma_sg(Importer *imp, const char *ev, ImpDev *d, char **t)
{
    bool is_map = g_str_has_prefix(ev, "dma_map_sg");
    bool is_sync = g_str_has_prefix(ev, "dma_sync_sg");
    g_autoptr(GArray) dma = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(GArray) sizes = g_array_new(FALSE, FALSE, sizeof(guint64));
    g_autoptr(GArray) phys = g_array_new(FALSE, FALSE, sizeof(guint64));
    const char *sdma = kv(t, "dma_addrs"), *ssz = kv(t, "sizes"), *sphys = kv(t, "phys_addrs");
    if ((sdma && !parse_array(sdma, dma)) || (ssz && !parse_array(ssz, sizes)) ||
        (sphys && !parse_array(sphys, phys))) {
        skip(imp, "dma:%s: an address array is cut short or malformed", ev);
        return;
    }
    unsigned perm = dir_perm(kv(t, "dir"));
    if (is_sync) {
        bool for_dev = g_str_has_suffix(ev, "for_device");
        if (!sdma || !ssz || dma->len != sizes->len) {
            skip(imp, "dma:%s: expected dma_addrs= and sizes= of equal length", ev);
            return;
        }
        if (!imp->opt->synthesize_dma) {
            imp->st->ignored++;
            return;
        }
        for (guint i = 0; i < dma->len; i++) {
            synth_dma(imp, d, g_array_index(dma, guint64, i), g_array_index(sizes, guint64, i),
                      !for_dev);
        }
        if (!imp->line_converted) {
            imp->st->ignored++;
        }
        return;
    }
    if (is_map) {
        if (!sdma || !ssz || !sphys || dma->len != sizes->len) {
            skip(imp, "dma:%s: expected dma_addrs=, sizes= and phys_addrs= arrays", ev);
            return;
        }
        bool truncated = false;
        for (unsigned i = 0; t[i]; i++) {
            truncated |= !strcmp(t[i], "[TRUNCATED]");
        }
        if (truncated) {
            imp->st->sg_truncated++;
            comment(imp, "dma_map_sg of %s: the kernel truncated the arrays (%s %s); only the "
                    "%u traced segments are mapped", d->orig, kv(t, "nents") ? kv(t, "nents") : "?",
                    kv(t, "ents") ? kv(t, "ents") : "?", dma->len);
        }
        if (phys->len != dma->len && dma->len) {
            imp->st->sg_merged++;
            comment(imp, "dma_map_sg of %s: %u entries merged into %u DMA segments; each segment "
                    "is mapped contiguously from one entry's physical address (approximation)",
                    d->orig, phys->len, dma->len);
        }
        ImpSg *sg = g_new0(ImpSg, 1);
        sg->dma = g_array_new(FALSE, FALSE, sizeof(guint64));
        sg->phys0 = phys->len ? g_array_index(phys, guint64, 0) : 0;
        /* segments contiguous in both spaces at page boundaries map (and DMA) as one */
        guint64 ma = 0, ms = 0, mp = 0;
        for (guint i = 0; i <= dma->len; i++) {
            guint64 a = 0, s = 0, p = 0;
            if (i < dma->len) {
                a = g_array_index(dma, guint64, i);
                s = g_array_index(sizes, guint64, i);
                p = phys->len ? g_array_index(phys, guint64, i < phys->len ? i : phys->len - 1) : a;
                if (ms && ma + ms == a && mp + ms == p && (a & (PAGE - 1)) == 0) {
                    ms += s;
                    continue;
                }
            }
            if (ms && dom_map(imp, dev_dom(imp, d), ma, mp, ms, perm)) {
                if (perm & PERM_R) {
                    synth_dma(imp, d, ma, ms, false);
                }
                if (perm & PERM_W) {
                    synth_dma(imp, d, ma, ms, true);
                }
            }
            if (ms) {
                g_array_append_val(sg->dma, ma);
                g_array_append_val(sg->dma, ms);
            }
            ma = a;
            ms = s;
            mp = p;
        }
        g_ptr_array_add(d->sgs, sg);
        imp->line_converted = true;
        return;
    }
    /* dma_unmap_sg: either dma_addrs= and sizes=, or (released kernels) phys_addrs= only */
    if (sdma && ssz && dma->len == sizes->len) {
        g_autoptr(GArray) pairs = g_array_new(FALSE, FALSE, sizeof(guint64));
        for (guint i = 0; i < dma->len; i++) {
            g_array_append_val(pairs, g_array_index(dma, guint64, i));
            g_array_append_val(pairs, g_array_index(sizes, guint64, i));
        }
        unmap_segments(imp, d, pairs);
        imp->line_converted = true;
        return;
    }
    if (!sphys || !phys->len) {
        skip(imp, "dma:%s: expected phys_addrs= or dma_addrs= and sizes=", ev);
        return;
    }
    guint64 p0 = g_array_index(phys, guint64, 0);
    for (guint i = 0; i < d->sgs->len; i++) {
        ImpSg *sg = g_ptr_array_index(d->sgs, i);
        if (sg->phys0 == p0) {
            unmap_segments(imp, d, sg->dma);
            g_ptr_array_remove_index(d->sgs, i);
            free_sg(sg);
            imp->line_converted = true;
            return;
        }
    }
    imp->st->unmatched_unmaps++;
    comment(imp, "dma_unmap_sg of %s: no live dma_map_sg with phys_addrs starting at 0x%"
            G_GINT64_MODIFIER "x", d->orig, p0);
}

static void ev_dma(Importer *imp, const char *ev, const char *payload)
{
    g_auto(GStrv) t = words(payload);
    if (!strcmp(ev, "dma_map_sg_err") || !strcmp(ev, "dma_alloc_sgt_err")) {
        imp->st->comments++;
        comment(imp, "dma:%s %s", ev, payload);
        return;
    }
    if (!t[0] || strchr(t[0], '=')) {
        skip(imp, "dma:%s: expected the device name first", ev);
        return;
    }
    ImpDev *d = get_dev(imp, t[0]);
    if (!d) {
        skip(imp, "dma:%s: more than %u devices", ev, MAX_DEVICES);
        return;
    }
    if (strstr(ev, "_sg") && !strstr(ev, "_sgt")) {
        ev_dma_sg(imp, ev, d, t);
        return;
    }
    guint64 addr, size, phys;
    if (!parse_hex(kv(t, "dma_addr"), &addr) || !parse_size(kv(t, "size"), &size)) {
        skip(imp, "dma:%s: expected dma_addr= and size=", ev);
        return;
    }
    if (!strcmp(ev, "dma_alloc_sgt")) {
        /* one DMA range over pages listed in phys_addrs (one page each when they add up) */
        g_autoptr(GArray) pages = g_array_new(FALSE, FALSE, sizeof(guint64));
        if (!parse_array(kv(t, "phys_addrs"), pages) || !pages->len) {
            skip(imp, "dma:%s: expected phys_addrs=", ev);
            return;
        }
        if ((guint64)pages->len * PAGE < size) {
            imp->st->sg_merged++;
            comment(imp, "dma_alloc_sgt of %s: %u entries for 0x%" G_GINT64_MODIFIER "x bytes; "
                    "mapped contiguously from the first (approximation)", d->orig, pages->len, size);
            dev_map(imp, d, addr, g_array_index(pages, guint64, 0), size, PERM_R | PERM_W);
            return;
        }
        guint64 n = (size + PAGE - 1) / PAGE;
        for (guint64 i = 0, j; i < n; i = j) {
            guint64 p0 = g_array_index(pages, guint64, i);
            for (j = i + 1; j < n && g_array_index(pages, guint64, j) == p0 + (j - i) * PAGE; j++) {
            }
            guint64 len = MIN(j * PAGE, size) - i * PAGE;
            if (!dom_map(imp, dev_dom(imp, d), addr + i * PAGE, p0, len, PERM_R | PERM_W)) {
                return;
            }
        }
        synth_dma(imp, d, addr, size, false);
        synth_dma(imp, d, addr, size, true);
        return;
    }
    const char *dir = kv(t, "dir");
    if (g_str_has_prefix(ev, "dma_map_") || g_str_has_prefix(ev, "dma_alloc")) {
        bool alloc = g_str_has_prefix(ev, "dma_alloc");
        if (!parse_hex(kv(t, "phys_addr"), &phys)) {
            if (!alloc) {
                skip(imp, "dma:%s: expected phys_addr=", ev);
                return;
            }
            phys = addr;   /* dma_alloc does not trace the physical address */
        }
        dev_map(imp, d, addr, phys, size, alloc ? PERM_R | PERM_W : dir_perm(dir));
        return;
    }
    if (g_str_has_prefix(ev, "dma_unmap_") || g_str_has_prefix(ev, "dma_free")) {
        dom_unmap(imp, dev_dom(imp, d), addr, size);
        return;
    }
    if (g_str_has_prefix(ev, "dma_sync_single_for_")) {
        bool for_dev = g_str_has_suffix(ev, "for_device");
        if (!imp->opt->synthesize_dma) {
            imp->st->ignored++;
            return;
        }
        unsigned perm = dir_perm(dir);
        /* for_device: the device is about to read what the CPU wrote; for_cpu: it has written */
        if (for_dev && (perm & PERM_R)) {
            synth_dma(imp, d, addr, size, false);
        } else if (!for_dev && (perm & PERM_W)) {
            synth_dma(imp, d, addr, size, true);
        } else {
            imp->st->ignored++;
        }
        return;
    }
    imp->st->foreign++;
}

/* ------------------------------------------------------------------ */
/* intel_iommu:* events                                                */

static void ev_intel(Importer *imp, const char *ev, const char *payload)
{
    g_auto(GStrv) t = words(payload);
    bool map = !strcmp(ev, "map_single") || !strcmp(ev, "map_sg") ||
               !strcmp(ev, "bounce_map_single") || !strcmp(ev, "bounce_map_sg");
    bool unmap = !strcmp(ev, "unmap_single") || !strcmp(ev, "unmap_sg") ||
                 !strcmp(ev, "bounce_unmap_single");
    if (map || unmap) {
        guint64 addr, phys = 0, size;
        const char *devname = kv(t, "dev");
        ImpDev *d = devname ? get_dev(imp, devname) : NULL;
        if (!d || !parse_hex(kv(t, "dev_addr"), &addr) || !parse_size(kv(t, "size"), &size) ||
            (map && !parse_hex(kv(t, "phys_addr"), &phys))) {
            skip(imp, "intel_iommu:%s: expected dev=, dev_addr=, %ssize=", ev,
                 map ? "phys_addr=, " : "");
            return;
        }
        if (map) {
            /* these events carry no direction: read/write, and the DMA is a read */
            ImpDom *dom = dev_dom(imp, d);
            if (dom_map(imp, dom, addr, phys, size, PERM_R | PERM_W)) {
                synth_dma(imp, d, addr, size, false);
            }
        } else {
            dom_unmap(imp, dev_dom(imp, d), addr, size);
        }
        return;
    }
    if (!strcmp(ev, "qi_submit") || !strcmp(ev, "prq_report") || g_str_has_prefix(ev, "cache_tag_")) {
        imp->st->comments++;
        comment(imp, "intel_iommu:%s %s", ev, payload);
        return;
    }
    imp->st->foreign++;
}

/* ------------------------------------------------------------------ */
/* ftrace framing                                                      */

typedef struct FtraceLine {
    bool has_ts;
    guint64 ns;
    char event[96];
    const char *payload;
} FtraceLine;

/* "TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: PAYLOAD" */
static bool parse_ftrace(const char *line, FtraceLine *fl)
{
    const char *br = line;
    while ((br = strchr(br, '['))) {
        const char *p = br + 1;
        while (*p == ' ') {
            p++;
        }
        const char *dig = p;
        while (g_ascii_isdigit(*p)) {
            p++;
        }
        if (p > dig && *p == ']' && br > line && br[-1] == ' ') {
            break;
        }
        br++;
    }
    if (!br) {
        return false;
    }
    /* before the bracket: TASK-PID, optionally followed by "(TGID)" */
    const char *e = br;
    while (e > line && e[-1] == ' ') {
        e--;
    }
    if (e > line && e[-1] == ')') {
        const char *o = e - 1;
        while (o > line && *o != '(') {
            o--;
        }
        if (*o != '(') {
            return false;
        }
        e = o;
        while (e > line && e[-1] == ' ') {
            e--;
        }
    }
    const char *d = e;
    while (d > line && g_ascii_isdigit(d[-1])) {
        d--;
    }
    if (d == e || d == line || d[-1] != '-') {
        return false;
    }
    const char *p = strchr(br, ']') + 1;
    for (int field = 0; field < 2; field++) {
        while (*p == ' ') {
            p++;
        }
        const char *tok = p;
        while (*p && *p != ' ') {
            p++;
        }
        gsize len = (gsize)(p - tok);
        if (len > 1 && tok[len - 1] == ':' && trace_import_parse_timestamp(tok, len - 1, &fl->ns)) {
            fl->has_ts = true;
            break;
        }
        if (field == 1 || len < 4 || len > 6) {
            return false;   /* flags are 4 or 5 characters (6 tolerated) */
        }
    }
    while (*p == ' ') {
        p++;
    }
    const char *ev = p;
    while (*p && *p != ' ' && *p != ':') {
        p++;
    }
    /* "sys:event:" as trace-cmd prints with -N or some front ends */
    if (*p == ':' && p[1] && p[1] != ' ') {
        ev = p + 1;
        p++;
        while (*p && *p != ' ' && *p != ':') {
            p++;
        }
    }
    if (*p != ':' || p == ev || (gsize)(p - ev) >= sizeof fl->event) {
        return false;
    }
    memcpy(fl->event, ev, (gsize)(p - ev));
    fl->event[p - ev] = 0;
    p++;
    while (*p == ' ') {
        p++;
    }
    fl->payload = p;
    return true;
}

static bool is_iommu_event(const char *ev)
{
    static const char *const names[] = {
        "map", "unmap", "attach_device_to_domain", "detach_device_from_domain",
        "add_device_to_group", "remove_device_from_group", "io_page_fault", NULL,
    };
    for (unsigned i = 0; names[i]; i++) {
        if (!strcmp(ev, names[i])) {
            return true;
        }
    }
    return false;
}

static bool is_intel_event(const char *ev)
{
    static const char *const names[] = {
        "map_single", "map_sg", "bounce_map_single", "bounce_map_sg", "unmap_single",
        "unmap_sg", "bounce_unmap_single", "qi_submit", "prq_report", NULL,
    };
    for (unsigned i = 0; names[i]; i++) {
        if (!strcmp(ev, names[i])) {
            return true;
        }
    }
    return g_str_has_prefix(ev, "cache_tag_");
}

static void do_ftrace(Importer *imp, const FtraceLine *fl)
{
    const char *ev = fl->event;
    if (is_iommu_event(ev)) {
        ev_iommu(imp, ev, fl->payload);
    } else if (g_str_has_prefix(ev, "dma_")) {
        ev_dma(imp, ev, fl->payload);
    } else if (is_intel_event(ev)) {
        ev_intel(imp, ev, fl->payload);
    } else {
        imp->st->foreign++;
    }
}

/* ------------------------------------------------------------------ */
/* kernel log                                                          */

/* The legacy fault reason strings Linux prints, by code (the number is authoritative otherwise). */
static const char *const legacy_reasons[] = {
    "Software",
    "Present bit in root entry is clear",
    "Present bit in context entry is clear",
    "Invalid context entry",
    "Access beyond MGAW",
    "PTE Write access is not set",
    "PTE Read access is not set",
    "Next page table ptr is invalid",
    "Root table address invalid",
    "Context table ptr is invalid",
    "non-zero reserved fields in RTP",
    "non-zero reserved fields in CTP",
    "non-zero reserved fields in PTE",
    "PCE for translation request specifies blocking",
};

static void emit_fault(Importer *imp, ImpDev *d, bool write, guint64 addr, gint64 pasid,
                       int reason)
{
    /* page-table faults need the device attached to a domain without the address */
    if (reason == 0x04 || reason == 0x05 || reason == 0x06 || reason == 0x07 || reason == 0x0c) {
        dev_dom(imp, d);
    }
    if (pasid >= 0) {
        comment(imp, "the host ran this PASID request in scalable mode; the legacy-mode replay "
                "faults it differently");
    } else if (reason >= 0 && reason != 0x01 && reason != 0x02 && reason != 0x05 && reason != 0x06) {
        comment(imp, "the host saw reason 0x%02x; the imported setup (attach, no mapping) does "
                "not reproduce it", reason);
    }
    if (pasid >= 0) {
        d->pasid = true;
        emit(imp, "dma %s %s 0x%" G_GINT64_MODIFIER "x 4 pasid=%" G_GINT64_FORMAT,
             write ? "write" : "read", d->name, addr, pasid);
    } else {
        emit(imp, "dma %s %s 0x%" G_GINT64_MODIFIER "x 4", write ? "write" : "read", d->name, addr);
    }
    if (reason >= 0) {
        emit(imp, "expect fault 0x%02x", reason);
    } else {
        comment(imp, "the fault reason was not logged");
    }
}

static void flush_pending_fault(Importer *imp, int reason)
{
    if (!imp->fault_pending) {
        return;
    }
    imp->fault_pending = false;
    bool ts = imp->line_has_ts, stamped = imp->line_stamped;
    guint64 ns = imp->line_ns;
    imp->line_has_ts = imp->pf_has_ts;
    imp->line_ns = imp->pf_ts;
    imp->line_stamped = false;
    emit_fault(imp, imp->pf_dev, imp->pf_write, imp->pf_addr, imp->pf_pasid, reason);
    imp->line_has_ts = ts;
    imp->line_stamped = stamped;
    imp->line_ns = ns;
}

/* "[fault reason 0x06] TEXT", "[fault reason 06] TEXT" (old kernels: decimal) */
static int parse_reason(const char *s)
{
    const char *r = strstr(s, "fault reason ");
    if (!r) {
        return -1;
    }
    r += strlen("fault reason ");
    const char *close = strchr(r, ']');
    if (close) {
        const char *text = close + 1;
        while (*text == ' ') {
            text++;
        }
        for (unsigned i = 0; i < G_N_ELEMENTS(legacy_reasons); i++) {
            if (*text && g_str_has_prefix(text, legacy_reasons[i])) {
                return (int)i;
            }
        }
    }
    char *end;
    guint64 v;
    if (r[0] == '0' && (r[1] == 'x' || r[1] == 'X')) {
        v = g_ascii_strtoull(r + 2, &end, 16);
    } else {
        v = g_ascii_strtoull(r, &end, 10);
    }
    if (end == r || v > 0xff) {
        return -1;
    }
    return (int)v;
}

static void kernel_fault(Importer *imp, const char *msg)
{
    /* [DMA Read NO_PASID] / [DMA Write PASID 0x2] / [DMA Read] ... Request device [BB:DD.F] */
    bool write = strstr(msg, "DMA Write") != NULL;
    if (!write && !strstr(msg, "DMA Read")) {
        skip(imp, "DMAR fault: neither DMA Read nor DMA Write");
        return;
    }
    const char *rd = strstr(msg, "Request device [");
    rd += strlen("Request device [");
    const char *close = strchr(rd, ']');
    if (!close) {
        skip(imp, "DMAR fault: unterminated device");
        return;
    }
    g_autofree char *bdf = g_strndup(rd, (gsize)(close - rd));
    unsigned b, dv, f;
    char tail;
    if (sscanf(bdf, "0x%x:0x%x.%u%c", &b, &dv, &f, &tail) != 3 &&
        sscanf(bdf, "%x:%x.%x%c", &b, &dv, &f, &tail) != 3) {
        skip(imp, "DMAR fault: '%s' is not a BDF", bdf);
        return;
    }
    g_autofree char *name = g_strdup_printf("%02x:%02x.%x", b, dv, f);
    ImpDev *d = get_dev(imp, name);
    if (!d) {
        skip(imp, "DMAR fault: more than %u devices", MAX_DEVICES);
        return;
    }
    gint64 pasid = -1;
    const char *ps = strstr(msg, "PASID ");
    if (ps && ps < rd) {
        guint64 v;
        g_autofree char *tok = g_strndup(ps + 6, strcspn(ps + 6, " ]"));
        if (parse_hex(tok, &v) && v != G_GUINT64_CONSTANT(0xffffffff)) {
            pasid = (gint64)v;
        }
    } else if ((ps = strstr(close, "PASID "))) {
        /* 5.x: "Request device [..] PASID ffffffff fault addr" */
        guint64 v;
        g_autofree char *tok = g_strndup(ps + 6, strcspn(ps + 6, " ]"));
        if (parse_hex(tok, &v) && v != G_GUINT64_CONSTANT(0xffffffff)) {
            pasid = (gint64)v;
        }
    }
    const char *fa = strstr(close, "fault addr ");
    guint64 addr;
    if (!fa) {
        skip(imp, "DMAR fault: no fault addr");
        return;
    }
    fa += strlen("fault addr ");
    g_autofree char *atok = g_strndup(fa, strcspn(fa, " ["));
    if (!parse_hex(atok, &addr)) {
        skip(imp, "DMAR fault: '%s' is not an address", atok);
        return;
    }
    flush_pending_fault(imp, -1);
    int reason = parse_reason(fa);
    if (reason < 0) {
        /* old kernels print the reason on the next line */
        imp->fault_pending = true;
        imp->pf_dev = d;
        imp->pf_write = write;
        imp->pf_addr = addr;
        imp->pf_pasid = pasid;
        imp->pf_ts = imp->line_ns;
        imp->pf_has_ts = imp->line_has_ts;
        imp->line_converted = true;
        return;
    }
    emit_fault(imp, d, write, addr, pasid, reason);
}

static void kernel_banner(Importer *imp, const char *msg)
{
    /* "DMAR: dmar0: reg_base_addr fed90000 ver 1:0 cap X ecap Y"
     * "dmar: IOMMU 0: reg_base_addr fbffc000 ver 1:0 cap X ecap Y" */
    char name[32];
    unsigned idx, vmaj, vmin;
    guint64 base, cap, ecap;
    const char *p = strstr(msg, "IOMMU ");
    const char *q = strstr(msg, "dmar");
    const char *r = strstr(msg, "reg_base_addr");
    bool ok = false;
    if (p && p < r && sscanf(p, "IOMMU %u:", &idx) == 1) {
        g_snprintf(name, sizeof name, "dmar%u", idx);
        ok = true;
    } else {
        /* the unit name is the "dmarN:" word before reg_base_addr */
        for (q = msg; (q = strstr(q, "dmar")) && q < r; q++) {
            if (sscanf(q, "dmar%u:", &idx) == 1) {
                g_snprintf(name, sizeof name, "dmar%u", idx);
                ok = true;
                break;
            }
        }
    }
    char bs[24], cs[24], es[24];
    if (!ok || sscanf(r, "reg_base_addr %23s ver %u:%u cap %23s ecap %23s", bs, &vmaj, &vmin, cs, es) != 5 ||
        !parse_hex(bs, &base) || !parse_hex(cs, &cap) || !parse_hex(es, &ecap)) {
        skip(imp, "DMAR banner: expected 'dmarN: reg_base_addr B ver M:N cap C ecap E'");
        return;
    }
    for (guint i = 0; i < imp->units->len; i++) {
        ImpUnit *u = g_ptr_array_index(imp->units, i);
        if (!strcmp(u->name, name)) {
            imp->st->ignored++;   /* printed again (e.g. after a resume) */
            return;
        }
    }
    ImpUnit *u = g_new0(ImpUnit, 1);
    u->name = g_strdup(name);
    u->real_base = base;
    u->ver = ((vmaj & 0xf) << 4) | (vmin & 0xf);
    u->cap = cap;
    u->ecap = ecap;
    g_ptr_array_add(imp->units, u);
    imp->line_converted = true;   /* it becomes a [vtd] group of the platform */
    comment(imp, "boot banner: %s at 0x%" G_GINT64_MODIFIER "x (in the platform file)", name, base);
}

/* Returns FALSE when the line is no kernel log line of ours. */
static bool do_kernel(Importer *imp, const char *line)
{
    const char *m = strstr(line, "DMAR");
    const char *m2 = strstr(line, "dmar");
    if (!m || (m2 && m2 < m)) {
        m = m2;
    }
    if (!m) {
        return false;
    }
    /* printk time stamp "[   12.345678]" somewhere before the message */
    for (const char *b = line; (b = strchr(b, '[')) && b < m; b++) {
        const char *p = b + 1;
        while (*p == ' ') {
            p++;
        }
        const char *s = p;
        while (g_ascii_isdigit(*p) || *p == '.') {
            p++;
        }
        if (*p == ']' && p > s && trace_import_parse_timestamp(s, (gsize)(p - s), &imp->line_ns) &&
            memchr(s, '.', (gsize)(p - s))) {
            imp->line_has_ts = true;
            break;
        }
    }
    if (strstr(m, "reg_base_addr")) {
        kernel_banner(imp, m);
        return true;
    }
    if (strstr(m, "DRHD base:")) {
        guint64 base, flags;
        const char *b = strstr(m, "DRHD base:") + strlen("DRHD base:");
        char bs[32], fs[32];
        if (sscanf(b, " %31s flags: %31s", bs, fs) == 2 && parse_hex(bs, &base) &&
            parse_hex(fs, &flags) && (flags & 1)) {
            g_array_append_val(imp->include_all, base);
        }
        imp->st->ignored++;
        return true;
    }
    if (strstr(m, "INTR-REMAP")) {
        imp->st->comments++;
        comment(imp, "interrupt-remapping fault (not imported): %s", m);
        return true;
    }
    if (strstr(m, "Request device [")) {
        kernel_fault(imp, m);
        return true;
    }
    if (strstr(m, "fault reason")) {
        if (!imp->fault_pending) {
            skip(imp, "DMAR fault reason without a fault line before it");
            return true;
        }
        flush_pending_fault(imp, parse_reason(m));
        imp->line_converted = false;
        imp->st->ignored++;
        return true;
    }
    if (strstr(m, "Invalidation") || strstr(m, "QI HEAD") || strstr(m, "QI PRIOR")) {
        imp->st->comments++;
        comment(imp, "invalidation queue error (not imported): %s", m);
        return true;
    }
    imp->st->ignored++;   /* other DMAR messages: features, RMRRs, "handling fault status" */
    return true;
}

/* ------------------------------------------------------------------ */
/* driver                                                              */

static void do_line(Importer *imp, const char *line)
{
    imp->line_has_ts = false;
    imp->line_stamped = false;
    imp->line_converted = false;
    guint64 before_comments = imp->st->comments, before_ign = imp->st->ignored,
            before_skip = imp->st->skipped, before_foreign = imp->st->foreign,
            before_events = imp->st->events, before_dropped = imp->st->dropped;

    const char *p = line;
    while (*p == ' ' || *p == '\t') {
        p++;
    }
    FtraceLine fl = { 0 };
    if (!*p || *p == '#' || g_str_has_prefix(p, "cpus=") || g_str_has_prefix(p, "version =") ||
        g_str_has_prefix(p, "CPU ") || g_str_has_prefix(p, "CPU:")) {
        if (strstr(p, "LOST") && strstr(p, "EVENTS")) {
            imp->st->comments++;
            comment(imp, "input: %s", p);
        } else {
            imp->st->ignored++;
        }
        return;
    }
    if (parse_ftrace(line, &fl)) {
        imp->line_has_ts = fl.has_ts;
        imp->line_ns = fl.ns;
        do_ftrace(imp, &fl);
    } else if (!do_kernel(imp, line)) {
        skip(imp, "not an ftrace event or a DMAR kernel message");
        return;
    }
    bool counted = imp->st->comments != before_comments || imp->st->ignored != before_ign ||
                   imp->st->skipped != before_skip || imp->st->foreign != before_foreign ||
                   imp->st->events != before_events || imp->st->dropped != before_dropped;
    if (imp->line_converted) {
        imp->st->events++;
    } else if (!counted) {
        imp->st->ignored++;
    }
}

static void free_dev(gpointer p)
{
    ImpDev *d = p;
    for (guint i = 0; i < d->sgs->len; i++) {
        free_sg(g_ptr_array_index(d->sgs, i));
    }
    g_ptr_array_free(d->sgs, TRUE);
    g_free(d->name);
    g_free(d->orig);
    g_free(d);
}

static void free_dom(gpointer p)
{
    ImpDom *d = p;
    g_hash_table_destroy(d->pages);
    g_array_free(d->large, TRUE);
    g_free(d->name);
    g_free(d);
}

static void free_unit(gpointer p)
{
    ImpUnit *u = p;
    g_free(u->name);
    g_free(u);
}

static void write_platform(Importer *imp, GString *out)
{
    g_string_append_printf(out,
                           "# Generated by vtdsim trace import from %s.\n"
                           "# Every device of the input is a root-complex integrated endpoint on a\n"
                           "# synthetic slot of bus 00: its real BDF sits behind bridges the input\n"
                           "# does not describe (the device name keeps it).\n"
                           "[platform]\n"
                           "name = import\n"
                           "ram = 1G\n"
                           "firmware = full\n",
                           imp->label);
    for (guint i = 0; i < imp->devs->len; i++) {
        ImpDev *d = g_ptr_array_index(imp->devs, i);
        g_string_append_printf(out, "\n[device %s]\n# %s in the input\ntype = endpoint\n"
                               "rciep = true\nbdf = %s\n", d->name, d->orig, d->slot);
        if (d->pasid) {
            g_string_append(out, "pasid = 20\n");
        }
    }
    ImpUnit *mu = main_unit(imp);
    guint64 base = UNIT_BASE;
    if (!mu) {
        g_string_append_printf(out, "\n[vtd %s]\n# no DMAR boot banner in the input: a Xeon's "
                               "capabilities\nbase = 0x%" G_GINT64_MODIFIER "X\npreset = xeon\n"
                               "scope = all\n", unit_name(imp), base);
        return;
    }
    for (guint i = 0; i < imp->units->len; i++) {
        ImpUnit *u = g_ptr_array_index(imp->units, i);
        g_string_append_printf(out, "\n[vtd %s]\n# from the boot banner: reg_base_addr %"
                               G_GINT64_MODIFIER "x on the host\n"
                               "base = 0x%" G_GINT64_MODIFIER "X\nver = 0x%02x\n"
                               "cap = 0x%" G_GINT64_MODIFIER "x\necap = 0x%" G_GINT64_MODIFIER "x\n",
                               u->name, u->real_base, base, u->ver, u->cap, u->ecap);
        g_string_append(out, u == mu ? "scope = all\n" : "# devices of this unit are not known\nscope =\n");
        base += 0x1000;
    }
}

static void write_trace(Importer *imp, GString *out, bool with_platform)
{
    const TraceImportStats *s = imp->st;
    g_string_append(out, "vtdsim-trace 1\n");
    g_string_append_printf(out, "# Imported from %s by vtdsim trace import.\n", imp->label);
    g_string_append_printf(out, "# %" G_GUINT64_FORMAT " lines: %" G_GUINT64_FORMAT " converted, %"
                           G_GUINT64_FORMAT " as comments, %" G_GUINT64_FORMAT " ignored, %"
                           G_GUINT64_FORMAT " other events, %" G_GUINT64_FORMAT " skipped.\n",
                           s->lines, s->events, s->comments, s->ignored, s->foreign, s->skipped);
    if (!imp->opt->keep_phys) {
        g_string_append(out, "# Physical addresses are folded into 0x20000000+512M (the input's "
                        "in comments).\n");
    }
    if (imp->t0_set) {
        g_string_append_printf(out, "# Time 0 is %" G_GUINT64_FORMAT ".%09" G_GUINT64_FORMAT
                               " s in the input.\n", imp->t0 / G_GUINT64_CONSTANT(1000000000), imp->t0 % G_GUINT64_CONSTANT(1000000000));
    }
    if (with_platform) {
        const char *pf = imp->opt->platform_file;
        g_autofree char *derived = NULL;
        if (!pf) {
            g_autofree char *base = g_strdup(imp->label);
            char *dot = strrchr(base, '.');
            if (dot && dot != base) {
                *dot = 0;
            }
            derived = g_strdup_printf("%s.platform", base);
            pf = derived;
        }
        if (strpbrk(pf, " \t#\"")) {
            GString *q = g_string_new("\"");
            for (const char *c = pf; *c; c++) {
                if (*c == '"' || *c == '\\') {
                    g_string_append_c(q, '\\');
                }
                g_string_append_c(q, *c);
            }
            g_string_append_c(q, '"');
            g_string_append_printf(out, "platform %s\n", q->str);
            g_string_free(q, TRUE);
        } else {
            g_string_append_printf(out, "platform %s\n", pf);
        }
    }
    const char *unit = unit_name(imp);
    ImpUnit *mu = main_unit(imp);
    bool qi = !mu || ((mu->ecap >> 1) & 1);
    g_string_append_printf(out, "iommu %s mode=legacy%s pool=" POOL_TEXT "\n", unit,
                           qi ? "" : " inval=register");
    for (guint i = 0; i < imp->doms->len; i++) {
        ImpDom *dom = g_ptr_array_index(imp->doms, i);
        g_string_append_printf(out, "domain %s %s type=ss\n", dom->name, unit);
    }
    g_string_append_printf(out, "enable %s\n", unit);
    for (guint i = 0; i < imp->devs->len; i++) {
        ImpDev *d = g_ptr_array_index(imp->devs, i);
        g_string_append_printf(out, "# %s is %s\n", d->name, d->orig);
    }
    g_string_append_len(out, imp->body->str, (gssize)imp->body->len);
}

gboolean trace_import_data(const char *text, gsize len, const char *source, GString *out,
                           GString *platform_out, const TraceImportOptions *opt,
                           TraceImportStats *stats, GError **error)
{
    static const TraceImportOptions defaults = { 0 };
    TraceImportStats local = { 0 };
    Importer imp = { 0 };
    if (stats) {
        memset(stats, 0, sizeof *stats);
    }
    imp.opt = opt ? opt : &defaults;
    imp.st = stats ? stats : &local;
    imp.source = source ? source : "input";
    imp.label = g_path_get_basename(imp.source);
    imp.body = g_string_new(NULL);
    imp.dev_by_key = g_hash_table_new(g_str_hash, g_str_equal);
    imp.devs = g_ptr_array_new_with_free_func(free_dev);
    imp.dom_by_name = g_hash_table_new(g_str_hash, g_str_equal);
    imp.doms = g_ptr_array_new_with_free_func(free_dom);
    imp.units = g_ptr_array_new_with_free_func(free_unit);
    imp.include_all = g_array_new(FALSE, FALSE, sizeof(guint64));

    gboolean ok = TRUE;
    if (len >= 10 && memcmp(text, "\x17\x08\x44tracing", 10) == 0) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE,
                    "%s:1: a binary trace-cmd .dat file: convert it with `trace-cmd report` first",
                    imp.source);
        ok = FALSE;
    } else if (memchr(text, 0, len)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s: binary data, not ftrace or kernel log text",
                    imp.source);
        ok = FALSE;
    }
    /* pass 1: do dma:* events describe the mappings (then iommu:map/unmap are duplicates)? */
    for (const char *p = text; ok && p < text + len;) {
        const char *nl = memchr(p, '\n', (gsize)(text + len - p));
        const char *e = nl ? nl : text + len;
        gsize l = (gsize)(e - p);
        if (g_strstr_len(p, (gssize)l, ": dma_map_") || g_strstr_len(p, (gssize)l, ": dma_alloc")) {
            imp.have_dma_events = true;
            break;
        }
        p = e + 1;
    }
    for (const char *p = text; ok && p < text + len;) {
        const char *nl = memchr(p, '\n', (gsize)(text + len - p));
        const char *e = nl ? nl : text + len;
        gsize l = (gsize)(e - p);
        while (l && (p[l - 1] == '\r')) {
            l--;
        }
        g_autofree char *line = g_strndup(p, l);
        imp.lineno++;
        imp.st->lines++;
        do_line(&imp, line);
        p = e + 1;
    }
    imp.line_has_ts = false;
    flush_pending_fault(&imp, -1);
    imp.st->devices = imp.devs->len;
    imp.st->domains = imp.doms->len;
    imp.st->units = imp.units->len ? imp.units->len : 1;
    if (ok && imp.st->events == 0 && imp.st->comments == 0) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE,
                    "%s: no iommu, dma or intel_iommu ftrace event and no DMAR kernel message "
                    "found (%" G_GUINT64_FORMAT " lines, %" G_GUINT64_FORMAT " skipped)",
                    imp.source, imp.st->lines, imp.st->skipped);
        ok = FALSE;
    }
    write_trace(&imp, out, platform_out != NULL);
    if (platform_out) {
        write_platform(&imp, platform_out);
    }
    g_string_free(imp.body, TRUE);
    g_free(imp.label);
    g_hash_table_destroy(imp.dev_by_key);
    g_ptr_array_free(imp.devs, TRUE);
    g_hash_table_destroy(imp.dom_by_name);
    g_ptr_array_free(imp.doms, TRUE);
    g_ptr_array_free(imp.units, TRUE);
    g_array_free(imp.include_all, TRUE);
    if (!stats) {
        trace_import_stats_clear(&local);
    }
    return ok;
}

gboolean trace_import(const char *in_path, GString *out, GString *platform_out,
                      const TraceImportOptions *opt, TraceImportStats *stats, GError **error)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    GError *err = NULL;
    if (!g_file_get_contents(in_path, &text, &len, &err)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", in_path, err->message);
        g_error_free(err);
        if (stats) {
            memset(stats, 0, sizeof *stats);
        }
        return FALSE;
    }
    return trace_import_data(text, len, in_path, out, platform_out, opt, stats, error);
}
