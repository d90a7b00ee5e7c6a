/*
 * The trace replayer; see replay.h and docs/trace-format.md.
 *
 * Each event is dispatched on its first word.  The hot path - a DMA read
 * or write without data - arrives pre-decoded from the reader and goes
 * straight to the device with a cached device lookup, so replaying an
 * IOTLB-hitting stream costs little more than the translation itself.
 *
 * The outcome of the most recent device request (completion status, data
 * read, the unit's translation result, whether a fault was recorded) is
 * kept for the expectations that follow it; everything else is counters.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>
#include <json-glib/json-glib.h>
#include "core/json_out.h"
#include "trace/replay.h"
#include "trace/trace_internal.h"
#include "core/error.h"
#include "driver/vtd_driver.h"
#include "models/endpoint/endpoint.h"
#include "models/vtd/vtd.h"
#include "pcie/ats.h"
#include "platform/platform.h"
#include "timing/timing.h"
#include "timing/timing_vtd.h"
#include "vtdsim/qtest.h"

#define DATA_KEEP_MAX (1u << 20)   /* bytes of the last read kept for `expect data` */
#define MAX_REPORTED 50            /* failures printed in the summary */

typedef struct ReplayUnit {
    PlatformVtd *pv;
    VtdDrv *drv;
    uint64_t faults_seen;          /* faults_recorded at the start of the last request */
} ReplayUnit;

typedef struct ReplayDomain {
    VtdDom *dom;
    ReplayUnit *unit;
} ReplayDomain;

typedef enum LastKind { LAST_NONE, LAST_DMA, LAST_ATS, LAST_MSI, LAST_PRQ } LastKind;

struct Replay {
    ReplayOptions opt;
    /* per run */
    EmuSim *sim;
    Platform *p;
    VtdsimQtest *qtest;
    char *last_answer;
    GHashTable *units;             /* name -> ReplayUnit * */
    GHashTable *domains;           /* name -> ReplayDomain * */
    GHashTable *devcache;          /* interned name -> PcieFn * */
    GPtrArray *unit_list;          /* ReplayUnit *, for fast iteration */
    TimingModel *tm;               /* latencies of device requests ([timing] of the platform) */
    EmuTick last_latency;
    /* one-entry cache of the hot path: the last DMA device and its unit */
    const char *hot_name;
    PcieFn *hot_fn;
    PlatformVtd *hot_pv;
    ReplayUnit *hot_unit;
    bool started;                  /* an event other than `platform` ran */
    /* the most recent device request */
    LastKind last;
    PcieCplStatus last_status;
    GByteArray *last_data;
    bool last_data_truncated;
    bool last_xlate_valid;
    VtdXlateResult last_xlate;
    bool last_fault;
    uint8_t last_fault_reason;
    PcieAtsEntry last_ats;
    uint64_t irq_mark;             /* platform_irq_count at the last expect irq */
    GByteArray *scratch;
    /* statistics */
    uint64_t events, requests, reads, writes, bytes_read, bytes_written, ats_requests;
    uint64_t status_count[5];
    uint64_t faults_by_reason[256];
    uint64_t expectations, failures;
    GPtrArray *failure_msgs;
    EmuTick first_time, last_time;
    char *trace_path;
    double wall_seconds;
    ReplayHooks hooks;             /* fault injection (replay.h) */
};

Replay *replay_new(const ReplayOptions *opt)
{
    Replay *r = g_new0(Replay, 1);
    if (opt) {
        r->opt = *opt;
    }
    r->last_data = g_byte_array_new();
    r->scratch = g_byte_array_new();
    r->failure_msgs = g_ptr_array_new_with_free_func(g_free);
    return r;
}

static void unit_free(gpointer p)
{
    ReplayUnit *u = p;
    vtd_drv_free(u->drv);
    g_free(u);
}

static void run_reset(Replay *r)
{
    if (r->qtest) {
        vtdsim_qtest_free(r->qtest);
        r->qtest = NULL;
    }
    r->hot_name = NULL;
    if (r->tm) {
        timing_model_free(r->tm);
        r->tm = NULL;
    }
    if (r->unit_list) {
        g_ptr_array_free(r->unit_list, TRUE);
        r->unit_list = NULL;
    }
    if (r->units) {
        g_hash_table_destroy(r->units);
        g_hash_table_destroy(r->domains);
        g_hash_table_destroy(r->devcache);
        r->units = r->domains = r->devcache = NULL;
    }
    emu_sim_free(r->sim);
    r->sim = NULL;
    r->p = NULL;
    g_clear_pointer(&r->last_answer, g_free);
    g_clear_pointer(&r->trace_path, g_free);
}

void replay_free(Replay *r)
{
    if (!r) {
        return;
    }
    run_reset(r);
    g_byte_array_free(r->last_data, TRUE);
    g_byte_array_free(r->scratch, TRUE);
    g_ptr_array_free(r->failure_msgs, TRUE);
    g_free(r);
}

unsigned replay_failures(const Replay *r)
{
    return (unsigned)r->failures;
}

unsigned replay_expectations(const Replay *r)
{
    return (unsigned)r->expectations;
}

/* ---- helpers ------------------------------------------------------------- */

G_GNUC_PRINTF(3, 4)
static gboolean ev_fail(GError **error, const TraceEvent *ev, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s:%u: %s: %s", ev->file, ev->line,
                ev->nwords ? ev->words[0] : "?", m);
    return FALSE;
}

static void qtest_answer(void *opaque, const char *line)
{
    Replay *r = opaque;
    if (!strncmp(line, "IRQ ", 4)) {
        return;   /* notifications are not answers */
    }
    g_free(r->last_answer);
    r->last_answer = g_strdup(line);
}

static gboolean ensure_platform(Replay *r, const char *path, const TraceEvent *ev, GError **error)
{
    if (r->sim) {
        return TRUE;
    }
    GError *err = NULL;
    r->sim = vtdsim_platform_new(path, &err);
    if (!r->sim) {
        if (ev) {
            ev_fail(error, ev, "%s", err->message);
        } else {
            g_propagate_error(error, g_error_copy(err));
        }
        g_error_free(err);
        return FALSE;
    }
    r->p = platform_get(r->sim);
    r->tm = timing_model_new(&r->p->timing);
    r->qtest = vtdsim_qtest_new(r->sim, qtest_answer, r);
    r->units = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, unit_free);
    r->domains = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
    r->devcache = g_hash_table_new(g_direct_hash, g_direct_equal);
    r->unit_list = g_ptr_array_new();
    for (guint i = 0; i < r->p->vtd->len; i++) {
        PlatformVtd *pv = g_ptr_array_index(r->p->vtd, i);
        ReplayUnit *u = g_new0(ReplayUnit, 1);
        u->pv = pv;
        g_hash_table_insert(r->units, g_strdup(pv->name), u);
        g_ptr_array_add(r->unit_list, u);
    }
    if (r->hooks.platform_ready) {
        r->hooks.platform_ready(r->hooks.opaque, r->sim);
    }
    return TRUE;
}

static PcieFn *device(Replay *r, const char *name, const TraceEvent *ev, GError **error)
{
    PcieFn *fn = platform_find_device(r->p, name);
    if (!fn) {
        ev_fail(error, ev, "no device '%s' on this platform (use a name from the platform file or BB:DD.F)",
                name);
    }
    return fn;
}

static ReplayUnit *unit(Replay *r, const char *name, const TraceEvent *ev, GError **error)
{
    ReplayUnit *u = g_hash_table_lookup(r->units, name);
    if (!u) {
        ev_fail(error, ev, "no VT-d unit '%s' on this platform", name);
    }
    return u;
}

static ReplayUnit *driven_unit(Replay *r, const char *name, const TraceEvent *ev, GError **error)
{
    ReplayUnit *u = unit(r, name, ev, error);
    if (u && !u->drv) {
        ev_fail(error, ev, "unit '%s' has not been brought up (add an 'iommu %s ...' line first)",
                name, name);
        return NULL;
    }
    return u;
}

static ReplayDomain *domain(Replay *r, const char *name, const TraceEvent *ev, GError **error)
{
    ReplayDomain *d = g_hash_table_lookup(r->domains, name);
    if (!d) {
        ev_fail(error, ev, "no domain '%s' (define it with 'domain %s UNIT type=...')", name, name);
    }
    return d;
}

static bool num(const char *s, uint64_t *v)
{
    return trace_parse_u64(s, v);
}

/* Finds "key=" among words[from..]; returns the value or NULL. */
static const char *opt_value(const TraceEvent *ev, unsigned from, const char *key)
{
    size_t n = strlen(key);
    for (unsigned i = from; i < ev->nwords; i++) {
        if (!strncmp(ev->words[i], key, n) && ev->words[i][n] == '=') {
            return ev->words[i] + n + 1;
        }
    }
    return NULL;
}

static bool opt_flag(const TraceEvent *ev, unsigned from, const char *flag)
{
    for (unsigned i = from; i < ev->nwords; i++) {
        if (!strcmp(ev->words[i], flag)) {
            return true;
        }
    }
    return false;
}

/* Every word from @from on must be one of @known ("key=" for options, bare for flags). */
static gboolean check_opts(const TraceEvent *ev, unsigned from, const char *const *known,
                           GError **error)
{
    for (unsigned i = from; i < ev->nwords; i++) {
        const char *w = ev->words[i];
        const char *eq = strchr(w, '=');
        bool ok = false;
        for (unsigned k = 0; known[k] && !ok; k++) {
            size_t n = strlen(known[k]);
            ok = known[k][n - 1] == '=' ? (eq && (size_t)(eq - w + 1) == n &&
                                           !strncmp(w, known[k], n))
                                        : !strcmp(w, known[k]);
        }
        if (!ok) {
            g_autofree char *list = g_strjoinv(" ", (char **)known);
            return ev_fail(error, ev, "unknown option '%s' (known: %s)", w, list);
        }
    }
    return TRUE;
}

static gboolean need(const TraceEvent *ev, unsigned n, const char *usage, GError **error)
{
    if (ev->nwords < n) {
        return ev_fail(error, ev, "usage: %s", usage);
    }
    return TRUE;
}

static gboolean parse_num(const TraceEvent *ev, const char *s, uint64_t *v, const char *what,
                          GError **error)
{
    if (!num(s, v)) {
        return ev_fail(error, ev, "%s '%s' is not a number", what, s);
    }
    return TRUE;
}

/* ---- device requests --------------------------------------------------------- */

/* Snapshot of every unit's recorded-fault count, to tell whether a request faulted. */
static void faults_mark(Replay *r)
{
    for (guint i = 0; i < r->unit_list->len; i++) {
        ReplayUnit *u = g_ptr_array_index(r->unit_list, i);
        u->faults_seen = vtd_unit_stats(u->pv->unit)->faults_recorded;
        vtd_unit_result_mark(u->pv->unit);
    }
}

/* After a request from @fn: its unit's translation result and whether it recorded a fault. */
static void outcome(Replay *r, PcieFn *fn)
{
    r->last_xlate_valid = false;
    r->last_fault = false;
    PlatformVtd *pv = fn == r->hot_fn ? r->hot_pv : platform_vtd_for(r->p, pcie_fn_rid(fn));
    if (!pv) {
        return;
    }
    /* the first TLP's translation (a DMA may be several TLPs); the last one's fault */
    const VtdXlateResult *first = vtd_unit_first_result(pv->unit);
    /* no translation since the mark (an interrupt message): the last result is an older request's */
    const VtdXlateResult *x = first ? vtd_unit_last_result(pv->unit) : NULL;
    if (first) {
        r->last_xlate = *first;
        r->last_xlate_valid = true;
    }
    ReplayUnit *u = fn == r->hot_fn ? r->hot_unit : g_hash_table_lookup(r->units, pv->name);
    if (u && vtd_unit_stats(pv->unit)->faults_recorded != u->faults_seen && x &&
        x->status == VTD_XLATE_FAULT) {
        r->last_fault = true;
        r->last_fault_reason = x->fault_reason;
    }
    if (x && x->status == VTD_XLATE_FAULT) {
        r->faults_by_reason[x->fault_reason]++;
    }
}

static void log_request(Replay *r, const TraceEvent *ev)
{
    if (r->hooks.request_done) {
        bool rd = r->last == LAST_DMA && r->last_data->len;
        ReplayRequestInfo info = {
            .file = ev->file, .line = ev->line, .kind = (int)r->last, .status = (int)r->last_status,
            .fault = r->last_fault, .fault_reason = r->last_fault ? r->last_fault_reason : 0,
            .data = rd ? r->last_data->data : NULL, .len = rd ? r->last_data->len : 0,
        };
        r->hooks.request_done(r->hooks.opaque, &info);
    }
    if (!r->opt.log) {
        return;
    }
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%" G_GUINT64_FORMAT ".%03u ns %s:%u ",
                           (guint64)(emu_sim_now(r->sim) / 1000),
                           (unsigned)(emu_sim_now(r->sim) % 1000), ev->file, ev->line);
    TraceEvent copy = *ev;
    copy.has_time = false;
    copy.comment = NULL;
    trace_event_text(&copy, s);
    g_string_append_printf(s, " -> %s", pcie_cpl_status_name(r->last_status));
    if (r->last == LAST_DMA) {
        g_string_append_printf(s, " lat=%" G_GUINT64_FORMAT ".%03u ns",
                               (guint64)(r->last_latency / 1000), (unsigned)(r->last_latency % 1000));
    }
    if (r->last_xlate_valid && r->last_xlate.status == VTD_XLATE_OK) {
        g_string_append_printf(s, " hpa=0x%" G_GINT64_MODIFIER "x did=%u",
                               (guint64)r->last_xlate.out_addr, r->last_xlate.did);
        if (r->last_xlate.cache_hit & (1u << VTD_CACHE_IOTLB)) {
            g_string_append(s, " iotlb=hit");
        } else if (r->last_xlate.cache_miss & (1u << VTD_CACHE_IOTLB)) {
            g_string_append(s, " iotlb=miss");
        }
    }
    if (r->last_fault) {
        g_string_append_printf(s, " fault=0x%02x (%s)", r->last_fault_reason,
                               vtd_fault_reason_str(r->last_fault_reason));
    }
    g_string_append_c(s, '\n');
    fputs(s->str, r->opt.log);
    g_string_free(s, TRUE);
}

static void count_status(Replay *r, PcieCplStatus st)
{
    r->status_count[st < 5 ? st : 4]++;
}

static PcieCplStatus do_dma(Replay *r, PcieFn *fn, uint64_t addr, uint8_t *buf, uint32_t len,
                            unsigned flags, uint32_t pasid)
{
    PcieDmaAttrs a = {
        .pasid_present = flags & TRACE_DMA_PASID,
        .pasid = pasid,
        .priv = flags & TRACE_DMA_PRIV,
        .exec = flags & TRACE_DMA_EXEC,
        .at = (flags & TRACE_DMA_TRANSLATED) ? PCIE_AT_TRANSLATED : PCIE_AT_UNTRANSLATED,
    };
    bool write = flags & TRACE_DMA_WRITE;
    faults_mark(r);
    PcieCplStatus st;
    if (flags & TRACE_DMA_VIA_ATS) {
        st = endpoint_dma(fn, addr, buf, len, write, &a, NULL);
    } else {
        st = write ? pcie_fn_dma_write(fn, addr, buf, len, &a)
                   : pcie_fn_dma_read(fn, addr, buf, len, &a);
    }
    r->requests++;
    if (write) {
        r->writes++;
        r->bytes_written += len;
    } else {
        r->reads++;
        r->bytes_read += len;
    }
    r->last = LAST_DMA;
    r->last_status = st;
    count_status(r, st);
    outcome(r, fn);
    /*
     * The timing model prices the request from what the unit did for its
     * first and last TLP (the functional path is unchanged by it).
     */
    PlatformVtd *pv = fn == r->hot_fn ? r->hot_pv : platform_vtd_for(r->p, pcie_fn_rid(fn));
    TimingOutcome o;
    EmuTick issue = emu_sim_now(r->sim);
    EmuTick done = timing_dma_xlate(r->tm, pcie_fn_rid(fn), issue, addr, len, write,
                                    pv ? vtd_unit_first_result(pv->unit) : NULL,
                                    pv ? vtd_unit_last_result(pv->unit) : NULL, &o);
    r->last_latency = done - issue;
    return st;
}

static gboolean fill_pattern(Replay *r, const TraceEvent *ev, uint8_t *buf, uint32_t len,
                             GError **error)
{
    const char *data = opt_value(ev, 5, "data");
    const char *pat = opt_value(ev, 5, "pattern");
    if (data) {
        const char *h = data;
        if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
            h += 2;
        }
        size_t n = strlen(h);
        if (n != 2ull * len) {
            return ev_fail(error, ev, "data= has %zu hex digits, %u bytes need %u", n, len, 2 * len);
        }
        for (uint32_t i = 0; i < len; i++) {
            int hi = g_ascii_xdigit_value(h[2 * i]), lo = g_ascii_xdigit_value(h[2 * i + 1]);
            if (hi < 0 || lo < 0) {
                return ev_fail(error, ev, "data= contains a non-hex digit");
            }
            buf[i] = (uint8_t)(hi << 4 | lo);
        }
        return TRUE;
    }
    (void)r;
    if (!pat || !strcmp(pat, "seq")) {
        for (uint32_t i = 0; i < len; i++) {
            buf[i] = (uint8_t)i;
        }
        return TRUE;
    }
    if (!strncmp(pat, "rand:", 5)) {
        uint64_t seed;
        if (!num(pat + 5, &seed)) {
            return ev_fail(error, ev, "pattern=rand:SEED needs a number");
        }
        uint64_t x = seed ? seed : 0x9e3779b97f4a7c15ull;
        for (uint32_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        return TRUE;
    }
    uint64_t b;
    if (!num(pat, &b) || b > 0xff) {
        return ev_fail(error, ev, "pattern= must be seq, rand:SEED or a byte value");
    }
    memset(buf, (int)b, len);
    return TRUE;
}

#define DMA_MAX_LEN (64u << 20)

static gboolean ev_dma(Replay *r, const TraceEvent *ev, GError **error)
{
    const char *devname;
    uint64_t addr, len;
    unsigned flags = 0;
    uint32_t pasid = 0;
    if (ev->kind == TRACE_EV_DMA) {
        devname = ev->dma_device;
        addr = ev->dma_addr;
        len = ev->dma_len;
        flags = ev->dma_flags;
        pasid = ev->dma_pasid;
    } else {
        static const char *const known[] = { "pasid=", "priv", "exec", "at=", "via=", "data=",
                                             "pattern=", NULL };
        if (!need(ev, 5, "dma read|write DEVICE ADDR LEN [pasid=N] [priv] [exec] [at=translated] [via=ats] [data=HEX|pattern=P]", error) ||
            !check_opts(ev, 5, known, error)) {
            return FALSE;
        }
        if (strcmp(ev->words[1], "read") && strcmp(ev->words[1], "write")) {
            return ev_fail(error, ev, "'%s': expected read or write", ev->words[1]);
        }
        devname = ev->words[2];
        if (!parse_num(ev, ev->words[3], &addr, "address", error) ||
            !parse_num(ev, ev->words[4], &len, "length", error)) {
            return FALSE;
        }
        flags = ev->words[1][0] == 'w' ? TRACE_DMA_WRITE : 0;
        const char *ps = opt_value(ev, 5, "pasid");
        uint64_t pv;
        if (ps) {
            if (!num(ps, &pv) || pv >= (1u << 20)) {
                return ev_fail(error, ev, "pasid=%s: PASIDs are 20 bits", ps);
            }
            flags |= TRACE_DMA_PASID;
            pasid = (uint32_t)pv;
        }
        flags |= opt_flag(ev, 5, "priv") ? TRACE_DMA_PRIV : 0;
        flags |= opt_flag(ev, 5, "exec") ? TRACE_DMA_EXEC : 0;
        const char *at = opt_value(ev, 5, "at");
        if (at && strcmp(at, "translated") && strcmp(at, "untranslated")) {
            return ev_fail(error, ev, "at=%s: expected untranslated or translated", at);
        }
        flags |= at && !strcmp(at, "translated") ? TRACE_DMA_TRANSLATED : 0;
        const char *via = opt_value(ev, 5, "via");
        if (via && strcmp(via, "ats")) {
            return ev_fail(error, ev, "via=%s: only via=ats exists", via);
        }
        flags |= via ? TRACE_DMA_VIA_ATS : 0;
        if (!(flags & TRACE_DMA_WRITE) && (opt_value(ev, 5, "data") || opt_value(ev, 5, "pattern"))) {
            return ev_fail(error, ev, "data= and pattern= belong to writes");
        }
    }
    if (len == 0 || len > DMA_MAX_LEN) {
        return ev_fail(error, ev, "length %" G_GUINT64_FORMAT " outside 1..%u", (guint64)len,
                       DMA_MAX_LEN);
    }
    PcieFn *fn = devname == r->hot_name ? r->hot_fn : g_hash_table_lookup(r->devcache, devname);
    if (!fn) {
        fn = device(r, devname, ev, error);
        if (!fn) {
            return FALSE;
        }
        if (ev->kind == TRACE_EV_DMA) {
            g_hash_table_insert(r->devcache, (gpointer)devname, fn);
        }
    }
    if (ev->kind == TRACE_EV_DMA && devname != r->hot_name) {
        /* bus numbers and scopes do not change under a trace's DMA stream */
        r->hot_name = devname;
        r->hot_fn = fn;
        r->hot_pv = platform_vtd_for(r->p, pcie_fn_rid(fn));
        r->hot_unit = r->hot_pv ? g_hash_table_lookup(r->units, r->hot_pv->name) : NULL;
    }
    g_byte_array_set_size(r->scratch, (guint)len);
    uint8_t *buf = r->scratch->data;
    if (flags & TRACE_DMA_WRITE) {
        if (ev->kind == TRACE_EV_DMA) {
            for (uint32_t i = 0; i < len; i++) {
                buf[i] = (uint8_t)i;
            }
        } else if (!fill_pattern(r, ev, buf, (uint32_t)len, error)) {
            return FALSE;
        }
    }
    PcieCplStatus st = do_dma(r, fn, addr, buf, (uint32_t)len, flags, pasid);
    if (!(flags & TRACE_DMA_WRITE)) {
        guint keep = (guint)MIN(len, DATA_KEEP_MAX);
        g_byte_array_set_size(r->last_data, keep);
        memcpy(r->last_data->data, buf, keep);
        r->last_data_truncated = len > DATA_KEEP_MAX;
    } else {
        g_byte_array_set_size(r->last_data, 0);
    }
    (void)st;
    log_request(r, ev);
    return TRUE;
}

static gboolean ev_ats(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "pasid=", "priv", "exec", "nw", NULL };
    uint64_t addr, pv = 0;
    if (!need(ev, 3, "ats DEVICE ADDR [pasid=N] [priv] [exec] [nw]", error) ||
        !check_opts(ev, 3, known, error) || !parse_num(ev, ev->words[2], &addr, "address", error)) {
        return FALSE;
    }
    PcieFn *fn = device(r, ev->words[1], ev, error);
    if (!fn) {
        return FALSE;
    }
    const char *ps = opt_value(ev, 3, "pasid");
    if (ps && (!num(ps, &pv) || pv >= (1u << 20))) {
        return ev_fail(error, ev, "pasid=%s: PASIDs are 20 bits", ps);
    }
    PcieDmaAttrs a = { .pasid_present = ps != NULL, .pasid = (uint32_t)pv,
                       .priv = opt_flag(ev, 3, "priv"), .exec = opt_flag(ev, 3, "exec") };
    faults_mark(r);
    r->last_status = pcie_fn_ats_translate(fn, addr, &a, opt_flag(ev, 3, "nw"), &r->last_ats);
    r->last = LAST_ATS;
    r->requests++;
    r->ats_requests++;
    count_status(r, r->last_status);
    outcome(r, fn);
    log_request(r, ev);
    return TRUE;
}

static gboolean drv_call(gboolean ok, GError *err, const TraceEvent *ev, GError **error);
static ReplayUnit *driven_unit(Replay *r, const char *name, const TraceEvent *ev, GError **error);

/*
 * Whether the unit of @fn recorded a fault during the last request, read
 * from its fault registers (interrupt-remapping faults do not come from
 * the DMA translation engine).
 */
static void recorded_fault(Replay *r, PcieFn *fn)
{
    PlatformVtd *pv = platform_vtd_for(r->p, pcie_fn_rid(fn));
    ReplayUnit *u = pv ? g_hash_table_lookup(r->units, pv->name) : NULL;
    if (!u || vtd_unit_stats(pv->unit)->faults_recorded == u->faults_seen) {
        return;
    }
    VtdFaultRecord rec;
    uint64_t fsts = vtd_unit_reg_peek(pv->unit, VTD_FSTS_REG, 4);
    unsigned nfr = vtd_unit_num_fault_records(pv->unit);
    /* the newest record: the one before the next free slot, found from FRI and the count */
    unsigned fri = (unsigned)vtd_FSTS_FRI(fsts);
    unsigned newest = fri;
    for (unsigned i = 0; i < nfr; i++) {
        unsigned k = (fri + i) % nfr;
        vtd_unit_fault_record(pv->unit, k, &rec);
        if (vtd_frcd_F(&rec)) {
            newest = k;
        }
    }
    vtd_unit_fault_record(pv->unit, newest, &rec);
    r->last_fault = true;
    r->last_fault_reason = (uint8_t)vtd_frcd_FR(&rec);
    r->faults_by_reason[r->last_fault_reason]++;
}

static gboolean ev_msi(Replay *r, const TraceEvent *ev, GError **error)
{
    uint64_t addr, data;
    if (!need(ev, 4, "msi DEVICE ADDR DATA", error) ||
        !parse_num(ev, ev->words[2], &addr, "address", error) ||
        !parse_num(ev, ev->words[3], &data, "data", error)) {
        return FALSE;
    }
    if (ev->nwords > 4) {
        return ev_fail(error, ev, "unexpected '%s'", ev->words[4]);
    }
    PcieFn *fn = device(r, ev->words[1], ev, error);
    if (!fn) {
        return FALSE;
    }
    uint8_t b[4] = { (uint8_t)data, (uint8_t)(data >> 8), (uint8_t)(data >> 16), (uint8_t)(data >> 24) };
    faults_mark(r);
    r->last_status = pcie_fn_dma_write(fn, addr, b, 4, NULL);
    r->last = LAST_MSI;
    r->requests++;
    count_status(r, r->last_status);
    outcome(r, fn);
    recorded_fault(r, fn);
    log_request(r, ev);
    return TRUE;
}

/* ev_msi's remappable form: the address and data a device writes for IRTE INDEX. */
static gboolean ev_msi_remap(Replay *r, const TraceEvent *ev, GError **error)
{
    uint64_t index;
    if (!need(ev, 3, "msi-remap DEVICE INDEX", error) ||
        !parse_num(ev, ev->words[2], &index, "IRTE index", error)) {
        return FALSE;
    }
    if (index > 0xffff || ev->nwords > 3) {
        return ev_fail(error, ev, "usage: msi-remap DEVICE INDEX (0..65535)");
    }
    PcieFn *fn = device(r, ev->words[1], ev, error);
    if (!fn) {
        return FALSE;
    }
    uint64_t addr;
    uint32_t data;
    vtd_drv_msi_remappable((unsigned)index, &addr, &data);
    uint8_t b[4] = { (uint8_t)data, (uint8_t)(data >> 8), (uint8_t)(data >> 16), (uint8_t)(data >> 24) };
    faults_mark(r);
    r->last_status = pcie_fn_dma_write(fn, addr, b, 4, NULL);
    r->last = LAST_MSI;
    r->requests++;
    count_status(r, r->last_status);
    r->last_xlate_valid = false;
    r->last_fault = false;
    recorded_fault(r, fn);
    log_request(r, ev);
    return TRUE;
}

static gboolean ev_ir(Replay *r, const TraceEvent *ev, GError **error)
{
    GError *err = NULL;
    if (!strcmp(ev->words[0], "ir-enable")) {
        static const char *const known[] = { "entries=", "x2apic", NULL };
        if (!need(ev, 2, "ir-enable UNIT [entries=N] [x2apic]", error) || !check_opts(ev, 2, known, error)) {
            return FALSE;
        }
        ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
        if (!u) {
            return FALSE;
        }
        uint64_t n = 256;
        const char *e = opt_value(ev, 2, "entries");
        if (e && (!num(e, &n) || n < 2 || n > 65536 || (n & (n - 1)))) {
            return ev_fail(error, ev, "entries=%s: a power of two from 2 to 65536", e);
        }
        unsigned log2 = 0;
        while ((1ull << log2) < n) {
            log2++;
        }
        gboolean ok = vtd_drv_ir_enable(u->drv, log2, opt_flag(ev, 2, "x2apic"), &err);
        return drv_call(ok, err, ev, error);
    }
    static const char *const known[] = { "vector=", "dest=", "level", NULL };
    uint64_t index, vector = 0, dest = 0;
    if (!need(ev, 4, "irte UNIT INDEX DEVICE vector=V dest=D [level]", error) ||
        !check_opts(ev, 4, known, error) || !parse_num(ev, ev->words[2], &index, "index", error)) {
        return FALSE;
    }
    ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
    PcieFn *fn = u ? device(r, ev->words[3], ev, error) : NULL;
    if (!fn) {
        return FALSE;
    }
    const char *v = opt_value(ev, 4, "vector"), *d = opt_value(ev, 4, "dest");
    if (!v || !d || !num(v, &vector) || vector > 0xff || !num(d, &dest) || dest > 0xffffffffu) {
        return ev_fail(error, ev, "vector=0..255 and dest=ID are required");
    }
    gboolean ok = vtd_drv_irte_set(u->drv, (unsigned)index, pcie_fn_rid(fn), (uint8_t)vector,
                                   (uint32_t)dest, opt_flag(ev, 4, "level"), &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_page_request(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "pasid=", "read", "write", "exec", "priv", "last",
                                         "prgi=", NULL };
    uint64_t addr, pv = 0, prgi = 0;
    if (!need(ev, 3, "page-request DEVICE ADDR [pasid=N] [read] [write] [exec] [priv] [last] [prgi=N]", error) ||
        !check_opts(ev, 3, known, error) || !parse_num(ev, ev->words[2], &addr, "address", error)) {
        return FALSE;
    }
    PcieFn *fn = device(r, ev->words[1], ev, error);
    if (!fn) {
        return FALSE;
    }
    const char *ps = opt_value(ev, 3, "pasid"), *pg = opt_value(ev, 3, "prgi");
    if ((ps && (!num(ps, &pv) || pv >= (1u << 20))) || (pg && (!num(pg, &prgi) || prgi > 511))) {
        return ev_fail(error, ev, "pasid is 20 bits and prgi 9 bits");
    }
    PciePageRequest pr = {
        .pasid_present = ps != NULL, .pasid = (uint32_t)pv, .read = opt_flag(ev, 3, "read"),
        .write = opt_flag(ev, 3, "write"), .exec = opt_flag(ev, 3, "exec"),
        .priv = opt_flag(ev, 3, "priv"), .last = opt_flag(ev, 3, "last"), .prgi = (unsigned)prgi,
        .addr = addr & ~0xfffull,
    };
    faults_mark(r);
    r->last_status = pcie_fn_page_request(fn, &pr) ? PCIE_CPL_SC : PCIE_CPL_UR;
    r->last = LAST_PRQ;
    r->requests++;
    count_status(r, r->last_status);
    r->last_xlate_valid = false;
    r->last_fault = false;
    PlatformVtd *pv2 = platform_vtd_for(r->p, pcie_fn_rid(fn));
    if (pv2) {
        ReplayUnit *u = g_hash_table_lookup(r->units, pv2->name);
        if (u && vtd_unit_stats(pv2->unit)->faults_recorded != u->faults_seen) {
            VtdFaultRecord rec;
            uint64_t fsts = vtd_unit_reg_peek(pv2->unit, VTD_FSTS_REG, 4);
            vtd_unit_fault_record(pv2->unit, (unsigned)vtd_FSTS_FRI(fsts), &rec);
            r->last_fault = true;
            r->last_fault_reason = (uint8_t)vtd_frcd_FR(&rec);
        }
    }
    log_request(r, ev);
    return TRUE;
}

/* ---- host-driver operations ----------------------------------------------------- */

static gboolean ev_iommu(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "mode=", "inval=", "pool=", "strict", "lazy", NULL };
    if (!need(ev, 2, "iommu UNIT mode=legacy|scalable [inval=register|queued] pool=BASE+SIZE [strict|lazy]", error) ||
        !check_opts(ev, 2, known, error)) {
        return FALSE;
    }
    ReplayUnit *u = unit(r, ev->words[1], ev, error);
    if (!u) {
        return FALSE;
    }
    if (u->drv) {
        return ev_fail(error, ev, "unit '%s' is already up", ev->words[1]);
    }
    const char *mode = opt_value(ev, 2, "mode"), *inval = opt_value(ev, 2, "inval");
    const char *pool = opt_value(ev, 2, "pool");
    VtdDrvConfig cfg = { .reg_base = u->pv->base, .strict = !opt_flag(ev, 2, "lazy") };
    if (!mode || (strcmp(mode, "legacy") && strcmp(mode, "scalable"))) {
        return ev_fail(error, ev, "mode=legacy or mode=scalable is required");
    }
    cfg.mode = !strcmp(mode, "legacy") ? VTD_DRV_LEGACY : VTD_DRV_SCALABLE;
    if (inval && strcmp(inval, "register") && strcmp(inval, "queued")) {
        return ev_fail(error, ev, "inval=%s: expected register or queued", inval);
    }
    cfg.inval = inval && !strcmp(inval, "register") ? VTD_DRV_INVAL_REGISTER : VTD_DRV_INVAL_QUEUED;
    if (!pool) {
        return ev_fail(error, ev, "pool=BASE+SIZE is required (host memory for tables)");
    }
    g_auto(GStrv) parts = g_strsplit(pool, "+", 2);
    if (g_strv_length(parts) != 2 || !num(parts[0], &cfg.pool_base) ||
        !num(parts[1], &cfg.pool_size)) {
        return ev_fail(error, ev, "pool=%s: expected BASE+SIZE, e.g. pool=0x1000000+16M", pool);
    }
    GError *err = NULL;
    u->drv = vtd_drv_new(r->sim, r->p->mem, &cfg, &err);
    if (!u->drv) {
        ev_fail(error, ev, "%s", err ? err->message : "bring-up failed");
        g_clear_error(&err);
        return FALSE;
    }
    return TRUE;
}

static gboolean drv_call(gboolean ok, GError *err, const TraceEvent *ev, GError **error)
{
    if (!ok) {
        ev_fail(error, ev, "%s", err ? err->message : "failed");
        g_clear_error(&err);
        return FALSE;
    }
    return TRUE;
}

static gboolean ev_enable(Replay *r, const TraceEvent *ev, GError **error)
{
    if (!need(ev, 2, "enable|disable UNIT", error)) {
        return FALSE;
    }
    ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
    if (!u) {
        return FALSE;
    }
    GError *err = NULL;
    gboolean ok = ev->words[0][0] == 'e' ? vtd_drv_enable(u->drv, &err) : vtd_drv_disable(u->drv, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_domain(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "type=", "levels=", NULL };
    if (!need(ev, 3, "domain NAME UNIT type=ss|fs|pt [levels=N]", error) ||
        !check_opts(ev, 3, known, error)) {
        return FALSE;
    }
    if (g_hash_table_contains(r->domains, ev->words[1])) {
        return ev_fail(error, ev, "domain '%s' already exists", ev->words[1]);
    }
    ReplayUnit *u = driven_unit(r, ev->words[2], ev, error);
    if (!u) {
        return FALSE;
    }
    const char *type = opt_value(ev, 3, "type"), *lv = opt_value(ev, 3, "levels");
    VtdDomType t;
    if (!type || !strcmp(type, "ss")) {
        t = VTD_DOM_SECOND_STAGE;
    } else if (!strcmp(type, "fs")) {
        t = VTD_DOM_FIRST_STAGE;
    } else if (!strcmp(type, "pt")) {
        t = VTD_DOM_PASS_THROUGH;
    } else {
        return ev_fail(error, ev, "type=%s: expected ss, fs or pt", type);
    }
    uint64_t levels = 0;
    if (lv && (!num(lv, &levels) || levels > 5)) {
        return ev_fail(error, ev, "levels=%s: expected 3, 4 or 5", lv);
    }
    GError *err = NULL;
    VtdDom *dom = vtd_drv_domain_new(u->drv, t, (unsigned)levels, &err);
    gboolean ok = dom != NULL;
    if (!drv_call(ok, err, ev, error)) {
        return FALSE;
    }
    ReplayDomain *d = g_new0(ReplayDomain, 1);
    d->dom = dom;
    d->unit = u;
    g_hash_table_insert(r->domains, g_strdup(ev->words[1]), d);
    return TRUE;
}

static gboolean pasid_opt(const TraceEvent *ev, unsigned from, int32_t *pasid, GError **error)
{
    const char *ps = opt_value(ev, from, "pasid");
    uint64_t v;
    *pasid = -1;
    if (ps) {
        if (!num(ps, &v) || v >= (1u << 20)) {
            return ev_fail(error, ev, "pasid=%s: PASIDs are 20 bits", ps);
        }
        *pasid = (int32_t)v;
    }
    return TRUE;
}

static gboolean ev_attach(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "pasid=", NULL };
    int32_t pasid;
    if (!need(ev, 3, "attach DOMAIN DEVICE [pasid=N]", error) || !check_opts(ev, 3, known, error) ||
        !pasid_opt(ev, 3, &pasid, error)) {
        return FALSE;
    }
    ReplayDomain *d = domain(r, ev->words[1], ev, error);
    PcieFn *fn = d ? device(r, ev->words[2], ev, error) : NULL;
    if (!fn) {
        return FALSE;
    }
    GError *err = NULL;
    gboolean ok = vtd_drv_attach(d->unit->drv, d->dom, pcie_fn_rid(fn), pasid, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_detach(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "pasid=", NULL };
    int32_t pasid;
    if (!need(ev, 3, "detach UNIT DEVICE [pasid=N]", error) || !check_opts(ev, 3, known, error) ||
        !pasid_opt(ev, 3, &pasid, error)) {
        return FALSE;
    }
    ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
    PcieFn *fn = u ? device(r, ev->words[2], ev, error) : NULL;
    if (!fn) {
        return FALSE;
    }
    GError *err = NULL;
    gboolean ok = vtd_drv_detach(u->drv, pcie_fn_rid(fn), pasid, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_map(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "perm=", "page=", NULL };
    uint64_t iova, pa, size, page = 0;
    if (!need(ev, 5, "map DOMAIN IOVA PA SIZE [perm=rwxu] [page=4K|2M|1G]", error) ||
        !check_opts(ev, 5, known, error) ||
        !parse_num(ev, ev->words[2], &iova, "IOVA", error) ||
        !parse_num(ev, ev->words[3], &pa, "PA", error) ||
        !parse_num(ev, ev->words[4], &size, "size", error)) {
        return FALSE;
    }
    ReplayDomain *d = domain(r, ev->words[1], ev, error);
    if (!d) {
        return FALSE;
    }
    const char *perm = opt_value(ev, 5, "perm"), *pg = opt_value(ev, 5, "page");
    unsigned prot = 0;
    for (const char *c = perm ? perm : "rw"; *c; c++) {
        switch (*c) {
        case 'r': prot |= VTD_PROT_READ; break;
        case 'w': prot |= VTD_PROT_WRITE; break;
        case 'x': prot |= VTD_PROT_EXEC; break;
        case 'u': prot |= VTD_PROT_USER; break;
        case '-': break;
        default:
            return ev_fail(error, ev, "perm=%s: '%c' is not a permission (use r, w, x, u)", perm, *c);
        }
    }
    if (pg && !num(pg, &page)) {
        return ev_fail(error, ev, "page=%s: expected 4K, 2M or 1G", pg);
    }
    GError *err = NULL;
    gboolean ok = vtd_drv_map(d->unit->drv, d->dom, iova, pa, size, prot, page, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_unmap_flush(Replay *r, const TraceEvent *ev, GError **error)
{
    bool flush = !strcmp(ev->words[0], "flush");
    uint64_t iova = 0, size = 0;
    if (!need(ev, flush ? 2 : 4, flush ? "flush DOMAIN [IOVA SIZE]" : "unmap DOMAIN IOVA SIZE", error)) {
        return FALSE;
    }
    if (ev->nwords > 4 || (flush && ev->nwords == 3)) {
        return ev_fail(error, ev, "usage: %s", flush ? "flush DOMAIN [IOVA SIZE]" : "unmap DOMAIN IOVA SIZE");
    }
    if (ev->nwords == 4 && (!parse_num(ev, ev->words[2], &iova, "IOVA", error) ||
                            !parse_num(ev, ev->words[3], &size, "size", error))) {
        return FALSE;
    }
    ReplayDomain *d = domain(r, ev->words[1], ev, error);
    if (!d) {
        return FALSE;
    }
    GError *err = NULL;
    gboolean ok = flush ? vtd_drv_flush(d->unit->drv, d->dom, iova, size, &err)
                        : vtd_drv_unmap(d->unit->drv, d->dom, iova, size, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_device_caps(Replay *r, const TraceEvent *ev, GError **error)
{
    static const char *const known[] = { "ats", "pri", NULL };
    if (!need(ev, 3, "device-caps DEVICE UNIT [ats] [pri]", error) || !check_opts(ev, 3, known, error)) {
        return FALSE;
    }
    PcieFn *fn = device(r, ev->words[1], ev, error);
    ReplayUnit *u = fn ? driven_unit(r, ev->words[2], ev, error) : NULL;
    if (!u) {
        return FALSE;
    }
    bool ats = opt_flag(ev, 3, "ats"), pri = opt_flag(ev, 3, "pri");
    /* what the OS does in the device's config space */
    uint16_t c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ATS);
    if (ats && !c) {
        return ev_fail(error, ev, "device '%s' has no ATS capability", ev->words[1]);
    }
    if (c) {
        pcie_fn_config_write(fn, c + 6, 2, ats ? 0x8000 : 0);
    }
    c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_PRI);
    if (pri && !c) {
        return ev_fail(error, ev, "device '%s' has no PRI capability", ev->words[1]);
    }
    if (c && pri) {
        uint32_t cap = pcie_fn_config_read(fn, c + 8, 4);
        pcie_fn_config_write(fn, c + 0xc, 4, cap);
        pcie_fn_config_write(fn, c + 4, 2, 1);
    }
    GError *err = NULL;
    gboolean ok = vtd_drv_set_device_caps(u->drv, pcie_fn_rid(fn), ats, pri, &err);
    return drv_call(ok, err, ev, error);
}

static gboolean ev_prq(Replay *r, const TraceEvent *ev, GError **error)
{
    if (!need(ev, 2, ev->words[0][4] == 'e' ? "prq-enable UNIT" : "prq-respond UNIT [code=success|invalid|failure]", error)) {
        return FALSE;
    }
    ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
    if (!u) {
        return FALSE;
    }
    GError *err = NULL;
    if (!strcmp(ev->words[0], "prq-enable")) {
        gboolean ok = vtd_drv_prq_enable(u->drv, &err);
    return drv_call(ok, err, ev, error);
    }
    static const char *const known[] = { "code=", NULL };
    if (!check_opts(ev, 2, known, error)) {
        return FALSE;
    }
    const char *code = opt_value(ev, 2, "code");
    unsigned rc = 0;
    if (code && !strcmp(code, "invalid")) {
        rc = 1;
    } else if (code && !strcmp(code, "failure")) {
        rc = 0xf;
    } else if (code && strcmp(code, "success")) {
        return ev_fail(error, ev, "code=%s: expected success, invalid or failure", code);
    }
    VtdDrvPageReq pr;
    if (!vtd_drv_prq_next(u->drv, &pr)) {
        return ev_fail(error, ev, "the page request queue of '%s' is empty", ev->words[1]);
    }
    gboolean ok = vtd_drv_page_response(u->drv, &pr, rc, &err);
    return drv_call(ok, err, ev, error);
}

/* ---- expectations --------------------------------------------------------------- */

G_GNUC_PRINTF(4, 5)
static void expect_failed(Replay *r, const TraceEvent *ev, const char *expected, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *got = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    r->failures++;
    char *m = g_strdup_printf("%s:%u: expectation failed\n  - expected: %s\n  + got:      %s",
                              ev->file, ev->line, expected, got);
    if (r->opt.report) {
        fprintf(r->opt.report, "%s\n", m);
    }
    if (r->failure_msgs->len < MAX_REPORTED) {
        g_ptr_array_add(r->failure_msgs, m);
    } else {
        g_free(m);
    }
}

static int status_of(const char *s)
{
    if (!g_ascii_strcasecmp(s, "SC")) {
        return PCIE_CPL_SC;
    }
    if (!g_ascii_strcasecmp(s, "UR")) {
        return PCIE_CPL_UR;
    }
    if (!g_ascii_strcasecmp(s, "CA")) {
        return PCIE_CPL_CA;
    }
    if (!g_ascii_strcasecmp(s, "CRS")) {
        return PCIE_CPL_CRS;
    }
    return -1;
}

static int reason_of(const char *s)
{
    uint64_t v;
    if (num(s, &v)) {
        return v < 256 ? (int)v : -1;
    }
    for (unsigned c = 1; c < 256; c++) {
        const char *n = vtd_fault_reason_name(c);
        if (n && !g_ascii_strcasecmp(n, s)) {
            return (int)c;
        }
    }
    return -1;
}

static int cache_of(const char *s)
{
    for (unsigned i = 0; i < VTD_CACHE_COUNT; i++) {
        if (!strcmp(vtd_cache_name((VtdCacheId)i), s)) {
            return (int)i;
        }
    }
    return -1;
}

static const char *reg_lookup(const char *name, VtdRegId *id)
{
    for (unsigned i = 0; i < VTD_REG__COUNT; i++) {
        if (!g_ascii_strcasecmp(vtd_reg_desc((VtdRegId)i)->name, name)) {
            *id = (VtdRegId)i;
            return vtd_reg_desc((VtdRegId)i)->name;
        }
    }
    return NULL;
}

static gboolean need_request(Replay *r, const TraceEvent *ev, GError **error)
{
    if (r->last == LAST_NONE) {
        return ev_fail(error, ev, "no device request before this expectation");
    }
    return TRUE;
}

static gboolean ev_expect(Replay *r, const TraceEvent *ev, GError **error)
{
    if (!need(ev, 2, "expect WHAT ...", error)) {
        return FALSE;
    }
    const char *what = ev->words[1];
    r->expectations++;
    if (!strcmp(what, "status")) {
        int want;
        if (!need(ev, 3, "expect status SC|UR|CA", error) || !need_request(r, ev, error)) {
            return FALSE;
        }
        if ((want = status_of(ev->words[2])) < 0) {
            return ev_fail(error, ev, "'%s' is not a completion status (SC, UR, CA, CRS)", ev->words[2]);
        }
        if ((int)r->last_status != want) {
            expect_failed(r, ev, ev->words[2], "%s", pcie_cpl_status_name(r->last_status));
        }
    } else if (!strcmp(what, "data")) {
        if (!need(ev, 3, "expect data HEX", error) || !need_request(r, ev, error)) {
            return FALSE;
        }
        const char *h = ev->words[2];
        if (h[0] == '0' && (h[1] == 'x' || h[1] == 'X')) {
            h += 2;
        }
        GString *got = g_string_new(NULL);
        for (guint i = 0; i < r->last_data->len; i++) {
            g_string_append_printf(got, "%02x", r->last_data->data[i]);
        }
        if (g_ascii_strcasecmp(h, got->str)) {
            expect_failed(r, ev, h, "%s%s", got->str, r->last_data_truncated ? "..." : "");
        }
        g_string_free(got, TRUE);
    } else if (!strcmp(what, "translated")) {
        uint64_t want;
        if (!need(ev, 3, "expect translated ADDR", error) || !need_request(r, ev, error) ||
            !parse_num(ev, ev->words[2], &want, "address", error)) {
            return FALSE;
        }
        uint64_t got = 0;
        bool have = false;
        if (r->last == LAST_ATS && r->last_status == PCIE_CPL_SC && (r->last_ats.r || r->last_ats.w)) {
            got = r->last_ats.addr;
            have = true;
        } else if (r->last_xlate_valid && r->last_xlate.status == VTD_XLATE_OK) {
            got = r->last_xlate.out_addr;
            have = true;
        }
        if (!have) {
            expect_failed(r, ev, ev->words[2], "no translation (%s)",
                          r->last_fault ? vtd_fault_reason_str(r->last_fault_reason)
                                        : pcie_cpl_status_name(r->last_status));
        } else if (got != want) {
            expect_failed(r, ev, ev->words[2], "0x%" G_GINT64_MODIFIER "x", (guint64)got);
        }
    } else if (!strcmp(what, "ats")) {
        static const char *const known[] = { "size=", NULL };
        if (!need(ev, 3, "expect ats rw|r-|-w|-- [size=S]", error) || !check_opts(ev, 3, known, error)) {
            return FALSE;
        }
        if (r->last != LAST_ATS) {
            return ev_fail(error, ev, "the last request was not an ATS translation request");
        }
        const char *p = ev->words[2];
        if (strlen(p) != 2 || (p[0] != 'r' && p[0] != '-') || (p[1] != 'w' && p[1] != '-')) {
            return ev_fail(error, ev, "'%s': expected rw, r-, -w or --", p);
        }
        char got[3] = { r->last_ats.r ? 'r' : '-', r->last_ats.w ? 'w' : '-', 0 };
        const char *sz = opt_value(ev, 3, "size");
        uint64_t want_size;
        if (sz && !parse_num(ev, sz, &want_size, "size", error)) {
            return FALSE;
        }
        if (r->last_status != PCIE_CPL_SC || strcmp(got, p) || (sz && want_size != r->last_ats.size)) {
            expect_failed(r, ev, p, "%s size=%" G_GUINT64_FORMAT " (%s)", got,
                          (guint64)r->last_ats.size, pcie_cpl_status_name(r->last_status));
        }
    } else if (!strcmp(what, "fault")) {
        int want;
        if (!need(ev, 3, "expect fault REASON", error) || !need_request(r, ev, error)) {
            return FALSE;
        }
        if ((want = reason_of(ev->words[2])) < 0) {
            return ev_fail(error, ev, "'%s' is not a fault reason (a code like 0x06 or a name like READ_DENIED)",
                           ev->words[2]);
        }
        if (!r->last_fault || r->last_fault_reason != want) {
            if (r->last_fault) {
                expect_failed(r, ev, ev->words[2], "fault 0x%02x (%s)", r->last_fault_reason,
                              vtd_fault_reason_str(r->last_fault_reason));
            } else {
                expect_failed(r, ev, ev->words[2], "no fault recorded (%s)",
                              pcie_cpl_status_name(r->last_status));
            }
        }
    } else if (!strcmp(what, "no-fault")) {
        if (!need_request(r, ev, error)) {
            return FALSE;
        }
        if (r->last_fault) {
            expect_failed(r, ev, "no fault", "fault 0x%02x (%s)", r->last_fault_reason,
                          vtd_fault_reason_str(r->last_fault_reason));
        }
    } else if (!strcmp(what, "reg")) {
        uint64_t want;
        VtdRegId id;
        if (!need(ev, 5, "expect reg UNIT NAME VALUE", error) ||
            !parse_num(ev, ev->words[4], &want, "value", error)) {
            return FALSE;
        }
        ReplayUnit *u = unit(r, ev->words[2], ev, error);
        if (!u) {
            return FALSE;
        }
        /* FRCD_LO0 / FRCD_HI3: the n-th fault recording register */
        const char *name = ev->words[3];
        unsigned index = 0;
        g_autofree char *base = g_strdup(name);
        size_t n = strlen(base);
        while (n && g_ascii_isdigit(base[n - 1])) {
            n--;
        }
        if (n < strlen(base) && g_str_has_prefix(base, "FRCD")) {
            index = (unsigned)atoi(base + n);
            base[n] = 0;
        }
        if (!reg_lookup(base, &id)) {
            return ev_fail(error, ev, "'%s' is not a VT-d register name", name);
        }
        int64_t off = vtd_unit_reg_offset(u->pv->unit, id);
        if (off < 0) {
            return ev_fail(error, ev, "register %s does not exist on unit '%s'", name, ev->words[2]);
        }
        off += 16 * index;
        uint64_t got = vtd_unit_reg_peek(u->pv->unit, (uint64_t)off, vtd_reg_desc(id)->size);
        if (got != want) {
            expect_failed(r, ev, ev->words[4], "0x%" G_GINT64_MODIFIER "x", (guint64)got);
        }
    } else if (!strcmp(what, "mem")) {
        static const char *const known[] = { "size=", NULL };
        uint64_t addr, want, size = 8, got = 0;
        if (!need(ev, 4, "expect mem ADDR VALUE [size=1|2|4|8]", error) ||
            !check_opts(ev, 4, known, error) ||
            !parse_num(ev, ev->words[2], &addr, "address", error) ||
            !parse_num(ev, ev->words[3], &want, "value", error)) {
            return FALSE;
        }
        const char *sz = opt_value(ev, 4, "size");
        if (sz && (!num(sz, &size) || (size != 1 && size != 2 && size != 4 && size != 8))) {
            return ev_fail(error, ev, "size=%s: expected 1, 2, 4 or 8", sz);
        }
        addr_space_read(r->p->mem, addr, (unsigned)size, &got);
        if (got != want) {
            expect_failed(r, ev, ev->words[3], "0x%" G_GINT64_MODIFIER "x", (guint64)got);
        }
    } else if (!strcmp(what, "answer")) {
        if (!need(ev, 3, "expect answer \"TEXT\"", error)) {
            return FALSE;
        }
        if (!r->last_answer) {
            return ev_fail(error, ev, "no qtest command before this expectation");
        }
        if (strcmp(r->last_answer, ev->words[2])) {
            expect_failed(r, ev, ev->words[2], "%s", r->last_answer);
        }
    } else if (!strcmp(what, "irq") || !strcmp(what, "no-irq")) {
        const GArray *log = platform_irq_log(r->p);
        uint64_t count = platform_irq_count(r->p);
        bool any = count > r->irq_mark;
        r->irq_mark = count;
        if (what[0] == 'n') {
            if (any) {
                expect_failed(r, ev, "no interrupt", "%" G_GUINT64_FORMAT " interrupt(s)",
                              (guint64)(count - (r->irq_mark - (count - r->irq_mark))));
            }
            return TRUE;
        }
        static const char *const known[] = { "vector=", "dest=", "rid=", NULL };
        if (!check_opts(ev, 2, known, error)) {
            return FALSE;
        }
        if (!any || !log->len) {
            expect_failed(r, ev, "an interrupt", "none delivered");
            return TRUE;
        }
        const PlatformIrq *irq = &g_array_index(log, PlatformIrq, log->len - 1);
        const char *v = opt_value(ev, 2, "vector"), *d = opt_value(ev, 2, "dest");
        const char *rid = opt_value(ev, 2, "rid");
        uint64_t x;
        GString *want = g_string_new(NULL);
        bool ok = true;
        if (v) {
            if (!parse_num(ev, v, &x, "vector", error)) {
                g_string_free(want, TRUE);
                return FALSE;
            }
            ok &= irq->vector == x;
            g_string_append_printf(want, "vector=%s ", v);
        }
        if (d) {
            if (!parse_num(ev, d, &x, "dest", error)) {
                g_string_free(want, TRUE);
                return FALSE;
            }
            ok &= irq->dest == x;
            g_string_append_printf(want, "dest=%s ", d);
        }
        if (rid) {
            PcieFn *fn = device(r, rid, ev, error);
            if (!fn) {
                g_string_free(want, TRUE);
                return FALSE;
            }
            ok &= irq->rid == pcie_fn_rid(fn);
            g_string_append_printf(want, "rid=%s ", rid);
        }
        if (!ok) {
            expect_failed(r, ev, want->str, "vector=0x%x dest=0x%x rid=%02x:%02x.%x", irq->vector,
                          irq->dest, PCIE_BUS(irq->rid), PCIE_DEV(irq->rid), PCIE_FN(irq->rid));
        }
        g_string_free(want, TRUE);
    } else if (!strcmp(what, "cache")) {
        int c;
        if (!need(ev, 4, "expect cache CACHE hit|miss", error) || !need_request(r, ev, error)) {
            return FALSE;
        }
        if ((c = cache_of(ev->words[2])) < 0) {
            return ev_fail(error, ev, "'%s' is not a cache (iotlb, context, pasid, psc-pml5, psc-pml4, psc-pdpe, psc-pde)",
                           ev->words[2]);
        }
        bool hit = !strcmp(ev->words[3], "hit");
        if (!hit && strcmp(ev->words[3], "miss")) {
            return ev_fail(error, ev, "'%s': expected hit or miss", ev->words[3]);
        }
        bool got_hit = r->last_xlate_valid && (r->last_xlate.cache_hit & (1u << c));
        bool got_miss = r->last_xlate_valid && (r->last_xlate.cache_miss & (1u << c));
        if (hit ? !got_hit : !got_miss) {
            expect_failed(r, ev, ev->words[3], "%s", got_hit ? "hit" : got_miss ? "miss" : "not looked up");
        }
    } else {
        return ev_fail(error, ev, "unknown expectation '%s' (status, data, translated, ats, fault, no-fault, reg, mem, answer, irq, no-irq, cache)",
                       what);
    }
    return TRUE;
}

/* ---- dispatch ------------------------------------------------------------------------- */

static const char *const qtest_cmds[] = {
    "outb", "outw", "outl", "inb", "inw", "inl", "writeb", "writew", "writel", "writeq",
    "readb", "readw", "readl", "readq", "read", "write", "b64read", "b64write", "memset",
    "clock_step", "clock_set", "endianness", "irq_intercept_in", "irq_intercept_out", NULL,
};

static gboolean ev_clear_faults(Replay *r, const TraceEvent *ev, GError **error)
{
    if (!need(ev, 2, "clear-faults UNIT", error)) {
        return FALSE;
    }
    ReplayUnit *u = driven_unit(r, ev->words[1], ev, error);
    if (!u) {
        return FALSE;
    }
    vtd_drv_clear_faults(u->drv, NULL);
    return TRUE;
}

/* The events the replay engine runs itself, by first word. */
static const struct {
    const char *name;
    gboolean (*run)(Replay *r, const TraceEvent *ev, GError **error);
} replay_events[] = {
    { "dma", ev_dma },
    { "expect", ev_expect },
    { "ats", ev_ats },
    { "msi", ev_msi },
    { "msi-remap", ev_msi_remap },
    { "ir-enable", ev_ir },
    { "irte", ev_ir },
    { "page-request", ev_page_request },
    { "iommu", ev_iommu },
    { "enable", ev_enable },
    { "disable", ev_enable },
    { "domain", ev_domain },
    { "attach", ev_attach },
    { "detach", ev_detach },
    { "map", ev_map },
    { "unmap", ev_unmap_flush },
    { "flush", ev_unmap_flush },
    { "device-caps", ev_device_caps },
    { "prq-enable", ev_prq },
    { "prq-respond", ev_prq },
    { "clear-faults", ev_clear_faults },
};

static gboolean run_event(Replay *r, const TraceEvent *ev, GError **error)
{
    if (ev->kind == TRACE_EV_DMA && r->sim) {
        return ev_dma(r, ev, error);   /* the hot path */
    }
    const char *w0 = ev->words[0];
    if (!strcmp(w0, "platform")) {
        if (r->started || r->sim) {
            return ev_fail(error, ev, "must come before every other event");
        }
        if (!need(ev, 2, "platform FILE|builtin", error)) {
            return FALSE;
        }
        g_autofree char *path = NULL;
        if (strcmp(ev->words[1], "builtin")) {
            /* relative to the file that names it */
            g_autofree char *dir = g_path_get_dirname(ev->file);
            path = g_path_is_absolute(ev->words[1]) ? g_strdup(ev->words[1])
                                                    : g_build_filename(dir, ev->words[1], NULL);
        }
        return ensure_platform(r, path, ev, error);
    }
    if (!ensure_platform(r, NULL, ev, error)) {
        return FALSE;
    }
    r->started = true;
    if (ev->kind == TRACE_EV_DMA) {
        return ev_dma(r, ev, error);
    }
    /* any other event may renumber buses or change scopes: drop the hot-path cache */
    r->hot_name = NULL;
    if (g_strv_contains(qtest_cmds, w0)) {
        GString *line = g_string_new(NULL);
        TraceEvent copy = *ev;
        copy.has_time = false;
        copy.comment = NULL;
        trace_event_text(&copy, line);
        vtdsim_qtest_command(r->qtest, line->str);
        g_string_free(line, TRUE);
        if (r->last_answer && (!strncmp(r->last_answer, "FAIL", 4) || !strncmp(r->last_answer, "ERR", 3))) {
            return ev_fail(error, ev, "%s", r->last_answer);
        }
        return TRUE;
    }
    /* fault injection (src/inject): inert without hooks */
    if (!strcmp(w0, "inject")) {
        return r->hooks.inject ? r->hooks.inject(r->hooks.opaque, ev, error) : TRUE;
    }
    if (r->hooks.skip_event && r->hooks.skip_event(r->hooks.opaque, ev)) {
        return TRUE;
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(replay_events); i++) {
        if (!strcmp(w0, replay_events[i].name)) {
            return replay_events[i].run(r, ev, error);
        }
    }
    return ev_fail(error, ev, "unknown event (see docs/trace-format.md)");
}

static void progress(Replay *r, TraceReader *rd, bool final)
{
    uint64_t done, total;
    trace_reader_progress(rd, &done, &total);
    unsigned pct = total ? (unsigned)(done * 100 / total) : 100;
    char bar[41];
    unsigned n = pct * 40 / 100;
    memset(bar, '#', n);
    memset(bar + n, '.', 40 - n);
    bar[40] = 0;
    fprintf(stderr, "\r[%s] %3u%% %" G_GUINT64_FORMAT " events%s", bar, pct, (guint64)r->events,
            final ? "\n" : "");
    fflush(stderr);
}

gboolean replay_run(Replay *r, const char *path, GError **error)
{
    run_reset(r);
    r->last = LAST_NONE;
    r->events = r->requests = r->reads = r->writes = r->bytes_read = r->bytes_written = 0;
    r->ats_requests = r->expectations = r->failures = 0;
    memset(r->status_count, 0, sizeof r->status_count);
    memset(r->faults_by_reason, 0, sizeof r->faults_by_reason);
    g_ptr_array_set_size(r->failure_msgs, 0);
    r->irq_mark = 0;
    r->started = false;
    r->trace_path = g_strdup(path);
    TraceReader *rd = trace_reader_open(path, error);
    if (!rd) {
        return FALSE;
    }
    bool bar = r->opt.progress && isatty(STDERR_FILENO);
    gint64 t0 = g_get_monotonic_time();
    gboolean ok = TRUE;
    for (;;) {
        GError *err = NULL;
        const TraceEvent *ev = trace_reader_next(rd, false, false, &err);
        if (!ev) {
            if (err) {
                g_propagate_error(error, err);
                ok = FALSE;
            }
            break;
        }
        if (ev->has_time) {
            if (!ensure_platform(r, NULL, ev, error)) {
                ok = FALSE;
                break;
            }
            EmuTick now = emu_sim_now(r->sim);
            EmuTick target = ev->time_relative ? now + ev->time : ev->time;
            if (ev->time_relative && target < now) {
                ok = ev_fail(error, ev, "time stamp overflows the clock");
                break;
            }
            if (target < now) {
                ok = ev_fail(error, ev, "time stamp %s is earlier than the current time %" G_GUINT64_FORMAT
                             " ps: time never goes backwards", ev->time_text, (guint64)now);
                break;
            }
            emu_sim_run_until(r->sim, target);
        }
        r->events++;
        if (!run_event(r, ev, error)) {
            ok = FALSE;
            break;
        }
        if (bar && (r->events & 0xffff) == 0) {
            progress(r, rd, false);
        }
    }
    if (bar) {
        progress(r, rd, true);
    }
    r->wall_seconds = (double)(g_get_monotonic_time() - t0) / 1e6;
    if (r->sim) {
        r->last_time = emu_sim_now(r->sim);
    }
    trace_reader_free(rd);
    return ok;
}

/* ---- summary ------------------------------------------------------------------------------ */

typedef struct CacheLine {
    const char *name;
    VtdCacheStats st;
} CacheLine;

static void collect_caches(Replay *r, CacheLine out[VTD_CACHE_COUNT])
{
    memset(out, 0, sizeof(CacheLine) * VTD_CACHE_COUNT);
    for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
        out[c].name = vtd_cache_name((VtdCacheId)c);
    }
    if (!r->p) {
        return;
    }
    for (guint i = 0; i < r->p->vtd->len; i++) {
        PlatformVtd *pv = g_ptr_array_index(r->p->vtd, i);
        for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
            VtdCacheStats st;
            vtd_xlate_get_stats(vtd_unit_xlate(pv->unit), (VtdCacheId)c, &st);
            out[c].st.lookups += st.lookups;
            out[c].st.hits += st.hits;
            out[c].st.misses += st.misses;
            out[c].st.invalidations += st.invalidations;
            out[c].st.evictions += st.evictions;
        }
    }
}

static uint64_t inv_descriptors(Replay *r)
{
    uint64_t n = 0;
    for (guint i = 0; r->p && i < r->p->vtd->len; i++) {
        PlatformVtd *pv = g_ptr_array_index(r->p->vtd, i);
        n += vtd_unit_stats(pv->unit)->inv_descriptors;
    }
    return n;
}

void replay_summary_text(Replay *r, GString *out)
{
    g_string_append_printf(out, "trace:        %s\n", r->trace_path ? r->trace_path : "-");
    g_string_append_printf(out, "events:       %" G_GUINT64_FORMAT "\n", (guint64)r->events);
    g_string_append_printf(out, "requests:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " reads, %"
                           G_GUINT64_FORMAT " writes, %" G_GUINT64_FORMAT " ATS)\n",
                           (guint64)r->requests, (guint64)r->reads, (guint64)r->writes,
                           (guint64)r->ats_requests);
    g_string_append_printf(out, "bytes:        %" G_GUINT64_FORMAT " read, %" G_GUINT64_FORMAT " written\n",
                           (guint64)r->bytes_read, (guint64)r->bytes_written);
    g_string_append_printf(out, "completions:  SC %" G_GUINT64_FORMAT ", UR %" G_GUINT64_FORMAT
                           ", CA %" G_GUINT64_FORMAT "\n", (guint64)r->status_count[PCIE_CPL_SC],
                           (guint64)r->status_count[PCIE_CPL_UR], (guint64)r->status_count[PCIE_CPL_CA]);
    g_string_append(out, "faults:");
    bool any = false;
    for (unsigned c = 0; c < 256; c++) {
        if (r->faults_by_reason[c]) {
            g_string_append_printf(out, "\n  0x%02x %-24s %" G_GUINT64_FORMAT "  %s", c,
                                   vtd_fault_reason_name(c) ? vtd_fault_reason_name(c) : "?",
                                   (guint64)r->faults_by_reason[c], vtd_fault_reason_str(c));
            any = true;
        }
    }
    g_string_append(out, any ? "\n" : "       none\n");
    uint64_t rec = 0, lost = 0, supp = 0;
    for (guint i = 0; r->p && i < r->p->vtd->len; i++) {
        const VtdUnitStats *st = vtd_unit_stats(((PlatformVtd *)g_ptr_array_index(r->p->vtd, i))->unit);
        rec += st->faults_recorded;
        lost += st->faults_overflow;
        supp += st->faults_suppressed;
    }
    g_string_append_printf(out, "fault records: %" G_GUINT64_FORMAT " written, %" G_GUINT64_FORMAT
                           " lost to overflow (PFO), %" G_GUINT64_FORMAT " suppressed by FPD\n",
                           (guint64)rec, (guint64)lost, (guint64)supp);
    CacheLine cl[VTD_CACHE_COUNT];
    collect_caches(r, cl);
    g_string_append(out, "caches:       lookups      hits    misses  hit-rate  invalidations\n");
    for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
        double rate = cl[c].st.lookups ? 100.0 * (double)cl[c].st.hits / (double)cl[c].st.lookups : 0;
        g_string_append_printf(out, "  %-10s %9" G_GUINT64_FORMAT " %9" G_GUINT64_FORMAT " %9"
                               G_GUINT64_FORMAT "   %6.2f%%  %13" G_GUINT64_FORMAT "\n", cl[c].name,
                               (guint64)cl[c].st.lookups, (guint64)cl[c].st.hits,
                               (guint64)cl[c].st.misses, rate, (guint64)cl[c].st.invalidations);
    }
    g_string_append_printf(out, "invalidation descriptors: %" G_GUINT64_FORMAT "\n",
                           (guint64)inv_descriptors(r));
    g_string_append_printf(out, "simulated time: %" G_GUINT64_FORMAT " ns\n",
                           (guint64)(r->last_time / 1000));
    if (r->tm) {
        g_string_append(out, "timing:\n");
        timing_model_report_text(r->tm, out);
    }
    g_string_append_printf(out, "expectations: %" G_GUINT64_FORMAT " checked, %" G_GUINT64_FORMAT " failed\n",
                           (guint64)r->expectations, (guint64)r->failures);
    for (guint i = 0; i < r->failure_msgs->len; i++) {
        g_string_append_printf(out, "%s\n", (char *)g_ptr_array_index(r->failure_msgs, i));
    }
    if (r->failures > r->failure_msgs->len) {
        g_string_append_printf(out, "... and %" G_GUINT64_FORMAT " more\n",
                               (guint64)(r->failures - r->failure_msgs->len));
    }
}

void replay_summary_json(Replay *r, GString *out)
{
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_member_string(b, "trace", r->trace_path ? r->trace_path : "");
    json_member_int(b, "events", (gint64)r->events);
    json_builder_set_member_name(b, "requests");
    json_builder_begin_object(b);
    json_member_int(b, "total", (gint64)r->requests);
    json_member_int(b, "reads", (gint64)r->reads);
    json_member_int(b, "writes", (gint64)r->writes);
    json_member_int(b, "ats", (gint64)r->ats_requests);
    json_member_int(b, "bytes_read", (gint64)r->bytes_read);
    json_member_int(b, "bytes_written", (gint64)r->bytes_written);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "completions");
    json_builder_begin_object(b);
    static const PcieCplStatus sts[] = { PCIE_CPL_SC, PCIE_CPL_UR, PCIE_CPL_CA };
    for (unsigned i = 0; i < G_N_ELEMENTS(sts); i++) {
        json_member_int(b, pcie_cpl_status_name(sts[i]), (gint64)r->status_count[sts[i]]);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "faults");
    json_builder_begin_array(b);
    for (unsigned c = 0; c < 256; c++) {
        if (r->faults_by_reason[c]) {
            json_builder_begin_object(b);
            json_member_int(b, "reason", c);
            json_member_string(b, "name", vtd_fault_reason_name(c) ? vtd_fault_reason_name(c) : "");
            json_member_string(b, "description", vtd_fault_reason_str(c));
            json_member_int(b, "count", (gint64)r->faults_by_reason[c]);
            json_builder_end_object(b);
        }
    }
    json_builder_end_array(b);
    CacheLine cl[VTD_CACHE_COUNT];
    collect_caches(r, cl);
    json_builder_set_member_name(b, "caches");
    json_builder_begin_object(b);
    for (unsigned c = 0; c < VTD_CACHE_COUNT; c++) {
        json_builder_set_member_name(b, cl[c].name);
        json_builder_begin_object(b);
        json_member_int(b, "lookups", (gint64)cl[c].st.lookups);
        json_member_int(b, "hits", (gint64)cl[c].st.hits);
        json_member_int(b, "misses", (gint64)cl[c].st.misses);
        json_member_int(b, "invalidations", (gint64)cl[c].st.invalidations);
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_member_int(b, "invalidation_descriptors", (gint64)inv_descriptors(r));
    json_member_int(b, "simulated_time_ps", (gint64)r->last_time);
    json_builder_set_member_name(b, "timing");
    if (r->tm) {
        GString *tj = g_string_new(NULL);
        timing_model_report_json(r->tm, tj);
        JsonParser *jp = json_parser_new();
        if (json_parser_load_from_data(jp, tj->str, (gssize)tj->len, NULL)) {
            json_builder_add_value(b, json_node_copy(json_parser_get_root(jp)));
        } else {
            json_builder_add_null_value(b);
        }
        g_object_unref(jp);
        g_string_free(tj, TRUE);
    } else {
        json_builder_add_null_value(b);
    }
    json_builder_set_member_name(b, "expectations");
    json_builder_begin_object(b);
    json_member_int(b, "checked", (gint64)r->expectations);
    json_member_int(b, "failed", (gint64)r->failures);
    json_builder_set_member_name(b, "failures");
    json_builder_begin_array(b);
    for (guint i = 0; i < r->failure_msgs->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(r->failure_msgs, i));
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
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

EmuSim *replay_take_sim(Replay *r)
{
    /* the simulation leaves; everything of the replay that points into it goes */
    EmuSim *sim = r->sim;
    r->sim = NULL;
    run_reset(r);
    return sim;
}

/* ---- hooks (fault injection) ------------------------------------------------------------ */

void replay_set_hooks(Replay *r, const ReplayHooks *hooks)
{
    if (hooks) {
        r->hooks = *hooks;
    } else {
        memset(&r->hooks, 0, sizeof r->hooks);
    }
}

EmuSim *replay_sim(Replay *r)
{
    return r->sim;
}
