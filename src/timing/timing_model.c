/*
 * The timing model proper: resources with counted slots and gap-filling
 * servers, the per-TLP path of reads, writes and ATS requests through
 * them, and the statistics.
 *
 * Two kinds of resource:
 *  - Slots: K identical slots (tags, credits, walkers), each remembering
 *    when it becomes free, kept in a binary min-heap.  A request takes the
 *    earliest free slot (start = max(ready, free)) and gives it back with
 *    the time it frees it.  K = 0 means unlimited.
 *  - Pipe: one server with a short sorted list of busy intervals.  A
 *    reservation goes into the first gap after its ready time that is long
 *    enough, so a request that becomes ready early (an IOTLB hit) is not
 *    queued behind one reserved earlier that is ready late (a miss still
 *    walking).  The list holds PIPE_MAX intervals; when full the two
 *    oldest are merged (the gap between them is lost, which only matters
 *    for a request ready that far in the past).
 *
 * Why no events: every resource is resolved when the request is
 * presented, in presentation order, so a DMA costs a fixed amount of
 * arithmetic and an IOTLB hit never goes through the event queue.  The
 * price is that requests presented out of time order see the resources
 * in presentation order (documented in timing.h).
 *
 * Statistics: a log-linear histogram of DMA latencies (32 buckets per
 * octave of picoseconds) per device and outcome, byte and time spans for
 * throughput, and walker / host-pipeline busy time per sample window.
 */
#include <math.h>
#include <string.h>
#include <json-glib/json-glib.h>
#include "core/json_out.h"
#include "timing/timing.h"

/* ---- resources --------------------------------------------------------------- */

typedef struct Slots {
    unsigned k;
    EmuTick *heap;    /* k free times, min-heap */
} Slots;

static void slots_init(Slots *s, unsigned k)
{
    s->k = k;
    s->heap = k ? g_new0(EmuTick, k) : NULL;
}

static void slots_fini(Slots *s)
{
    g_free(s->heap);
}

/* Takes the earliest free slot; must be followed by slots_release(). */
static EmuTick slots_acquire(Slots *s, EmuTick ready)
{
    if (!s->k) {
        return ready;
    }
    return MAX(ready, s->heap[0]);
}

/* Gives the slot taken by the last slots_acquire() back, free from @free_at. */
static void slots_release(Slots *s, EmuTick free_at)
{
    if (!s->k) {
        return;
    }
    /* replace the root (the slot taken) and sift down */
    EmuTick *h = s->heap;
    unsigned i = 0;
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        EmuTick mv = free_at;
        if (l < s->k && h[l] < mv) {
            m = l;
            mv = h[l];
        }
        if (r < s->k && h[r] < mv) {
            m = r;
        }
        if (m == i) {
            break;
        }
        h[i] = h[m];
        i = m;
    }
    h[i] = free_at;
}

#define PIPE_MAX 32

typedef struct Pipe {
    unsigned n;
    EmuTick s[PIPE_MAX], e[PIPE_MAX];
} Pipe;

static void pipe_remove(Pipe *p, unsigned i)
{
    memmove(&p->s[i], &p->s[i + 1], (p->n - i - 1) * sizeof p->s[0]);
    memmove(&p->e[i], &p->e[i + 1], (p->n - i - 1) * sizeof p->e[0]);
    p->n--;
}

/* Reserves @occ at the first gap at or after @ready; returns the start. */
static EmuTick pipe_reserve(Pipe *p, EmuTick ready, EmuTick occ)
{
    if (!occ) {
        return ready;
    }
    if (p->n == PIPE_MAX) {
        p->e[0] = p->e[1];
        memmove(&p->s[1], &p->s[2], (p->n - 2) * sizeof p->s[0]);
        memmove(&p->e[1], &p->e[2], (p->n - 2) * sizeof p->e[0]);
        p->n--;
    }
    unsigned i = 0;
    EmuTick t = ready;
    /* skip intervals that end before ready */
    while (i < p->n && p->e[i] <= ready) {
        i++;
    }
    for (; i < p->n; i++) {
        if (t + occ <= p->s[i]) {
            break;
        }
        t = MAX(t, p->e[i]);
    }
    /* insert [t, t+occ) before index i, merging with neighbours that touch */
    EmuTick end = t + occ;
    bool left = i > 0 && p->e[i - 1] == t;
    bool right = i < p->n && p->s[i] == end;
    if (left && right) {
        p->e[i - 1] = p->e[i];
        pipe_remove(p, i);
    } else if (left) {
        p->e[i - 1] = end;
    } else if (right) {
        p->s[i] = t;
    } else {
        memmove(&p->s[i + 1], &p->s[i], (p->n - i) * sizeof p->s[0]);
        memmove(&p->e[i + 1], &p->e[i], (p->n - i) * sizeof p->e[0]);
        p->s[i] = t;
        p->e[i] = end;
        p->n++;
    }
    return t;
}

/* ---- histogram ---------------------------------------------------------------- */

#define HIST_SUB 32
#define HIST_N (64 + 58 * HIST_SUB)

typedef struct Hist {
    uint64_t count, bytes;
    uint64_t min, max;
    double sum;
    uint32_t *b;      /* HIST_N buckets, allocated on first use */
} Hist;

static unsigned hist_index(uint64_t v)
{
    if (v < 64) {
        return (unsigned)v;
    }
    unsigned e = 63u - (unsigned)__builtin_clzll(v);
    unsigned sub = (unsigned)(v >> (e - 5)) & (HIST_SUB - 1);
    return 64 + (e - 6) * HIST_SUB + sub;
}

static double hist_value(unsigned idx)
{
    if (idx < 64) {
        return idx;
    }
    unsigned e = (idx - 64) / HIST_SUB + 6, sub = (idx - 64) % HIST_SUB;
    double lo = (double)((uint64_t)(HIST_SUB + sub) << (e - 5));
    return lo + (double)((uint64_t)1 << (e - 5)) / 2.0;
}

/* Bounds [lo, hi) in ps of bucket @idx. */
static void hist_bounds(unsigned idx, uint64_t *lo, uint64_t *hi)
{
    if (idx < 64) {
        *lo = idx;
        *hi = idx + 1;
        return;
    }
    unsigned e = (idx - 64) / HIST_SUB + 6, sub = (idx - 64) % HIST_SUB;
    *lo = (uint64_t)(HIST_SUB + sub) << (e - 5);
    *hi = *lo + ((uint64_t)1 << (e - 5));
}

static void hist_add(Hist *h, uint64_t v, uint32_t bytes)
{
    if (!h->b) {
        h->b = g_new0(uint32_t, HIST_N);
        h->min = UINT64_MAX;
    }
    h->b[hist_index(v)]++;
    h->count++;
    h->bytes += bytes;
    h->sum += (double)v;
    h->min = MIN(h->min, v);
    h->max = MAX(h->max, v);
}

/* ---- devices and model ------------------------------------------------------- */

typedef struct TimingDev {
    uint16_t rid;
    Slots tags, np, ph;
    Pipe up, down;
    Hist hist[TIMING_OUT_COUNT];
    EmuTick first_issue, last_done;
    bool any;
} TimingDev;

#define MERGE_N 256

struct TimingModel {
    TimingParams p;
    GHashTable *devs;          /* rid+1 -> TimingDev */
    TimingDev *last;
    Pipe host;
    Pipe qi;
    Slots walkers;
    struct {
        uint64_t tag;
        EmuTick done;
    } merge[MERGE_N];
    TimingCounters c;
    GArray *occ;               /* double[2] per sample window: walker, host busy ps */
};

#define OCC_MAX_WINDOWS (1u << 20)

static void dev_free(gpointer data)
{
    TimingDev *d = data;
    slots_fini(&d->tags);
    slots_fini(&d->np);
    slots_fini(&d->ph);
    for (unsigned i = 0; i < TIMING_OUT_COUNT; i++) {
        g_free(d->hist[i].b);
    }
    g_free(d);
}

TimingModel *timing_model_new(const TimingParams *p)
{
    TimingModel *m = g_new0(TimingModel, 1);
    m->p = *p;
    m->devs = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, dev_free);
    slots_init(&m->walkers, (unsigned)p->walk_slots);
    m->occ = g_array_new(FALSE, TRUE, sizeof(double) * 2);
    m->c.first_issue = EMU_TICK_MAX;
    return m;
}

void timing_model_free(TimingModel *m)
{
    if (!m) {
        return;
    }
    g_hash_table_destroy(m->devs);
    slots_fini(&m->walkers);
    g_array_free(m->occ, TRUE);
    g_free(m);
}

const TimingParams *timing_model_params(const TimingModel *m)
{
    return &m->p;
}

static TimingDev *dev_get(TimingModel *m, uint16_t rid)
{
    if (m->last && m->last->rid == rid) {
        return m->last;
    }
    TimingDev *d = g_hash_table_lookup(m->devs, GUINT_TO_POINTER((guint)rid + 1));
    if (!d) {
        d = g_new0(TimingDev, 1);
        d->rid = rid;
        slots_init(&d->tags, (unsigned)m->p.dev_tags);
        slots_init(&d->np, (unsigned)m->p.link_np_credits);
        slots_init(&d->ph, (unsigned)m->p.link_ph_credits);
        g_hash_table_insert(m->devs, GUINT_TO_POINTER((guint)rid + 1), d);
    }
    m->last = d;
    return d;
}

/* Adds busy time [s, e) of resource @which (0 walker, 1 host) to the sample windows. */
static void occ_add(TimingModel *m, unsigned which, EmuTick s, EmuTick e)
{
    EmuTick w = m->p.stats_sample;
    if (!w || e <= s) {
        return;
    }
    while (s < e) {
        uint64_t idx = s / w;
        if (idx >= OCC_MAX_WINDOWS) {
            return;
        }
        if (idx >= m->occ->len) {
            g_array_set_size(m->occ, (guint)idx + 1);
        }
        EmuTick wend = (idx + 1) * w;
        EmuTick upto = MIN(e, wend);
        g_array_index(m->occ, double, idx * 2 + which) += (double)(upto - s);
        s = upto;
    }
}

/* ---- the request path ------------------------------------------------------- */

static EmuTick link_flight(const TimingParams *p)
{
    return p->link_latency + p->sw_hops * p->sw_latency;
}

/* Bytes of payload on the wire: whole DWs covering [addr, addr+len). */
static uint32_t dw_bytes(uint64_t addr, uint32_t len)
{
    if (!len) {
        return 0;
    }
    uint64_t s = addr & ~3ull, e = (addr + len + 3) & ~3ull;
    return (uint32_t)(e - s);
}

static unsigned lines_of(const TimingParams *p, uint64_t addr, uint32_t len, unsigned *partial)
{
    uint64_t lb = p->rc_line_bytes;
    *partial = 0;
    if (!len) {
        return 0;
    }
    uint64_t lines = (addr + len - 1) / lb - addr / lb + 1;
    uint64_t full_lo = (addr + lb - 1) / lb, full_hi = (addr + len) / lb;
    uint64_t full = full_hi > full_lo ? full_hi - full_lo : 0;
    *partial = (unsigned)(lines - full);
    return (unsigned)lines;
}

/*
 * The remapping unit: lookup, merging, walk.  @t is when the request
 * reaches it; returns when its translation is known.  *@cls: the TLP's
 * outcome class.
 */
static EmuTick translate(TimingModel *m, EmuTick t, const TimingTlp *tlp, TimingOutcome *cls)
{
    const TimingParams *p = &m->p;
    if (tlp->xl == TIMING_XL_NONE) {
        *cls = TIMING_OUT_BYPASS;
        return t;
    }
    t += p->iotlb_lookup;
    if (p->walk_merge) {
        unsigned h = (unsigned)((tlp->walk_tag * UINT64_C(0x9E3779B97F4A7C15)) >> 56) % MERGE_N;
        if (m->merge[h].tag == tlp->walk_tag && m->merge[h].done > t) {
            m->c.merged++;
            *cls = tlp->xl == TIMING_XL_FAULT ? TIMING_OUT_FAULT : TIMING_OUT_MERGED;
            return m->merge[h].done;
        }
    }
    if (tlp->xl == TIMING_XL_HIT) {
        *cls = TIMING_OUT_HIT;
        return t;
    }
    EmuTick dur = p->walk_fixed + (tlp->ctx_lookup ? p->ctx_lookup : 0) +
                  (tlp->pasid_lookup ? p->pasid_lookup : 0) + tlp->psc_probes * p->psc_lookup +
                  tlp->mem_reads * p->mem_table + tlp->mem_writes * p->mem_table_write;
    EmuTick ws = slots_acquire(&m->walkers, t);
    EmuTick we = ws + dur;
    slots_release(&m->walkers, we);
    m->c.walks++;
    m->c.walker_wait_ps += ws - t;
    m->c.walker_busy_ps += dur;
    occ_add(m, 0, ws, we);
    if (p->walk_merge && tlp->xl == TIMING_XL_MISS) {
        unsigned h = (unsigned)((tlp->walk_tag * UINT64_C(0x9E3779B97F4A7C15)) >> 56) % MERGE_N;
        m->merge[h].tag = tlp->walk_tag;
        m->merge[h].done = we;
    }
    *cls = tlp->xl == TIMING_XL_FAULT ? TIMING_OUT_FAULT : TIMING_OUT_MISS;
    return we;
}

static EmuTick host_reserve(TimingModel *m, EmuTick ready, EmuTick occ)
{
    EmuTick s = pipe_reserve(&m->host, ready, occ);
    m->c.host_busy_ps += occ;
    occ_add(m, 1, s, s + occ);
    return s;
}

/* Sends the completions for @len bytes at @addr down the link from @t; returns the last end. */
static EmuTick send_completions(TimingModel *m, TimingDev *d, EmuTick t, uint64_t addr,
                                uint32_t len, uint32_t extra_payload)
{
    const TimingParams *p = &m->p;
    uint32_t hdr = (uint32_t)(p->link_cpl_hdr_bytes + (p->link_ecrc ? 4 : 0));
    if (!len) {
        EmuTick ser = timing_link_ser_ps(p, hdr + extra_payload);
        return pipe_reserve(&d->down, t, ser) + ser;
    }
    EmuTick end = t;
    while (len) {
        uint64_t chunk;
        if (p->link_cpl_coalesce) {
            chunk = p->link_mps - (addr & (p->link_rcb - 1));
        } else {
            chunk = p->link_rcb - (addr & (p->link_rcb - 1));
        }
        chunk = MIN(chunk, (uint64_t)len);
        EmuTick ser = timing_link_ser_ps(p, hdr + dw_bytes(addr, (uint32_t)chunk));
        end = pipe_reserve(&d->down, end, ser) + ser;
        addr += chunk;
        len -= (uint32_t)chunk;
    }
    return end;
}

static EmuTick read_tlp(TimingModel *m, TimingDev *d, EmuTick ready, const TimingTlp *tlp,
                        uint32_t ats_bytes, TimingOutcome *cls)
{
    const TimingParams *p = &m->p;
    EmuTick ts = slots_acquire(&d->tags, ready);
    EmuTick ns = slots_acquire(&d->np, ts);
    EmuTick ser = timing_link_ser_ps(p, (uint32_t)(p->link_req_hdr_bytes + (p->link_ecrc ? 4 : 0)));
    EmuTick ue = pipe_reserve(&d->up, ns, ser) + ser;
    EmuTick tx = ue + link_flight(p) + p->rc_latency;
    slots_release(&d->np, tx);
    EmuTick xd = translate(m, tx, tlp, cls);
    EmuTick out;
    uint32_t len = tlp->bytes;
    if (tlp->xl == TIMING_XL_FAULT || ats_bytes) {
        out = xd + p->rc_latency;
        len = 0;
    } else {
        unsigned partial;
        unsigned lines = lines_of(p, tlp->addr, len, &partial);
        EmuTick occ = len ? p->rc_read_req + lines * p->rc_read_line : 0;
        EmuTick hs = host_reserve(m, xd, occ);
        out = hs + MAX(occ, p->mem_data) + p->rc_latency;
    }
    EmuTick ce = send_completions(m, d, out, tlp->addr, len, ats_bytes);
    EmuTick done = ce + link_flight(p) + p->dev_cpl;
    slots_release(&d->tags, done);
    return done;
}

static EmuTick write_tlp(TimingModel *m, TimingDev *d, EmuTick ready, const TimingTlp *tlp,
                         TimingOutcome *cls)
{
    const TimingParams *p = &m->p;
    EmuTick ps = slots_acquire(&d->ph, ready);
    EmuTick ser = timing_link_ser_ps(p, (uint32_t)(p->link_req_hdr_bytes + (p->link_ecrc ? 4 : 0)) +
                                            dw_bytes(tlp->addr, tlp->bytes));
    EmuTick ue = pipe_reserve(&d->up, ps, ser) + ser;
    EmuTick tx = ue + link_flight(p) + p->rc_latency;
    EmuTick xd = translate(m, tx, tlp, cls);
    EmuTick accepted, done;
    if (tlp->xl == TIMING_XL_FAULT) {
        accepted = done = xd;
    } else {
        unsigned partial;
        unsigned lines = lines_of(p, tlp->addr, tlp->bytes, &partial);
        EmuTick occ = p->rc_write_req + lines * p->rc_write_line + partial * p->rc_write_partial;
        accepted = host_reserve(m, xd, occ) + occ;
        done = accepted + p->mem_write;
    }
    slots_release(&d->ph, accepted);
    return done;
}

static void record(TimingModel *m, TimingDev *d, EmuTick issue, EmuTick done, TimingOutcome o,
                   uint32_t bytes)
{
    hist_add(&d->hist[o], done - issue, bytes);
    if (!d->any) {
        d->first_issue = issue;
        d->any = true;
    }
    d->first_issue = MIN(d->first_issue, issue);
    d->last_done = MAX(d->last_done, done);
    m->c.first_issue = MIN(m->c.first_issue, issue);
    m->c.last_done = MAX(m->c.last_done, done);
    m->c.dmas++;
}

EmuTick timing_dma(TimingModel *m, uint16_t dev, EmuTick issue, bool write,
                   const TimingTlp *tlps, unsigned ntlp, TimingOutcome *outcome)
{
    TimingOutcome worst = TIMING_OUT_BYPASS;
    if (!ntlp) {
        if (outcome) {
            *outcome = worst;
        }
        return issue;
    }
    TimingDev *d = dev_get(m, dev);
    EmuTick ready = issue + m->p.dev_issue;
    EmuTick done = issue;
    uint32_t bytes = 0;
    for (unsigned i = 0; i < ntlp; i++) {
        TimingOutcome cls = TIMING_OUT_BYPASS;
        EmuTick t = write ? write_tlp(m, d, ready, &tlps[i], &cls)
                          : read_tlp(m, d, ready, &tlps[i], 0, &cls);
        done = MAX(done, t);
        worst = MAX(worst, cls);
        bytes += tlps[i].bytes;
    }
    m->c.tlps += ntlp;
    record(m, d, issue, done, worst, bytes);
    if (outcome) {
        *outcome = worst;
    }
    return done;
}

EmuTick timing_ats(TimingModel *m, uint16_t dev, EmuTick issue, const TimingTlp *t)
{
    TimingDev *d = dev_get(m, dev);
    TimingOutcome cls = TIMING_OUT_BYPASS;
    EmuTick ready = issue + m->p.ats_devtlb + m->p.dev_issue;
    /* one translation completion entry: 8 bytes of data */
    return read_tlp(m, d, ready, t, 8, &cls);
}

EmuTick timing_invalidate(TimingModel *m, EmuTick issue, unsigned ndesc, bool wait)
{
    EmuTick occ = (EmuTick)ndesc * m->p.qi_desc;
    EmuTick s = pipe_reserve(&m->qi, issue, occ);
    m->c.inv_descriptors += ndesc + (wait ? 1 : 0);
    return s + occ + (wait ? m->p.qi_wait : 0);
}

EmuTick timing_interrupt(TimingModel *m, EmuTick issue, bool iec_hit, bool posted)
{
    m->c.interrupts++;
    return issue + m->p.ir_iec + (iec_hit ? 0 : m->p.ir_irte) + (posted ? m->p.ir_post : 0);
}

unsigned timing_tlps_split(const TimingParams *p, uint64_t addr, uint32_t len, bool write,
                           TimingTlp *out, unsigned max)
{
    uint64_t lim = write ? p->link_mps : p->link_mrrs;
    unsigned n = 0;
    do {
        uint64_t chunk = MIN((uint64_t)len, lim);
        chunk = MIN(chunk, 4096 - (addr & 0xfff));
        if (n < max) {
            memset(&out[n], 0, sizeof out[n]);
            out[n].addr = addr;
            out[n].bytes = (uint32_t)chunk;
        }
        n++;
        addr += chunk;
        len -= (uint32_t)chunk;
    } while (len);
    return n;
}

/* ---- statistics ------------------------------------------------------------- */

static const char *const outcome_names[TIMING_OUT_COUNT] = {
    "bypass", "hit", "merged", "miss", "fault",
};

const char *timing_outcome_name(TimingOutcome o)
{
    return o < TIMING_OUT_COUNT ? outcome_names[o] : "?";
}

static void merge_hist(Hist *acc, const Hist *h)
{
    if (!h->count) {
        return;
    }
    if (!acc->b) {
        acc->b = g_new0(uint32_t, HIST_N);
        acc->min = UINT64_MAX;
    }
    for (unsigned i = 0; i < HIST_N; i++) {
        acc->b[i] += h->b[i];
    }
    acc->count += h->count;
    acc->bytes += h->bytes;
    acc->sum += h->sum;
    acc->min = MIN(acc->min, h->min);
    acc->max = MAX(acc->max, h->max);
}

static double hist_pct(const Hist *h, double q)
{
    uint64_t rank = (uint64_t)ceil(q * (double)h->count);
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_N; i++) {
        seen += h->b[i];
        if (seen >= rank) {
            double v = hist_value(i);
            return MIN(MAX(v, (double)h->min), (double)h->max);
        }
    }
    return (double)h->max;
}

void timing_model_summary(const TimingModel *m, int dev, TimingOutcome outcome,
                          TimingLatSummary *out)
{
    Hist acc = { 0 };
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->devs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        TimingDev *d = v;
        if (dev >= 0 && d->rid != dev) {
            continue;
        }
        for (unsigned o = 0; o < TIMING_OUT_COUNT; o++) {
            if (outcome == TIMING_OUT_COUNT || outcome == o) {
                merge_hist(&acc, &d->hist[o]);
            }
        }
    }
    memset(out, 0, sizeof *out);
    if (acc.count) {
        out->count = acc.count;
        out->bytes = acc.bytes;
        out->mean_ns = acc.sum / (double)acc.count / 1000.0;
        out->p50_ns = hist_pct(&acc, 0.5) / 1000.0;
        out->p90_ns = hist_pct(&acc, 0.9) / 1000.0;
        out->p99_ns = hist_pct(&acc, 0.99) / 1000.0;
        out->p999_ns = hist_pct(&acc, 0.999) / 1000.0;
        out->min_ns = (double)acc.min / 1000.0;
        out->max_ns = (double)acc.max / 1000.0;
    }
    g_free(acc.b);
}

static bool span_of(const TimingModel *m, int dev, uint64_t *bytes, uint64_t *count, EmuTick *span)
{
    EmuTick first = EMU_TICK_MAX, last = 0;
    *bytes = *count = 0;
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->devs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        TimingDev *d = v;
        if ((dev >= 0 && d->rid != dev) || !d->any) {
            continue;
        }
        for (unsigned o = 0; o < TIMING_OUT_COUNT; o++) {
            *bytes += d->hist[o].bytes;
            *count += d->hist[o].count;
        }
        first = MIN(first, d->first_issue);
        last = MAX(last, d->last_done);
    }
    if (!*count || last <= first) {
        return false;
    }
    *span = last - first;
    return true;
}

double timing_model_throughput_gbps(const TimingModel *m, int dev)
{
    uint64_t bytes, count;
    EmuTick span;
    if (!span_of(m, dev, &bytes, &count, &span)) {
        return 0;
    }
    return (double)bytes * 8.0 / ((double)span / 1000.0);
}

double timing_model_rate_per_s(const TimingModel *m, int dev)
{
    uint64_t bytes, count;
    EmuTick span;
    if (!span_of(m, dev, &bytes, &count, &span)) {
        return 0;
    }
    return (double)count / ((double)span * 1e-12);
}

void timing_model_counters(const TimingModel *m, TimingCounters *out)
{
    *out = m->c;
    if (out->first_issue == EMU_TICK_MAX) {
        out->first_issue = 0;
    }
}

double timing_model_walker_occupancy(const TimingModel *m)
{
    if (!m->p.walk_slots || m->c.last_done <= m->c.first_issue || !m->c.dmas) {
        return 0;
    }
    return (double)m->c.walker_busy_ps /
           ((double)m->p.walk_slots * (double)(m->c.last_done - m->c.first_issue));
}

static int cmp_rid(gconstpointer a, gconstpointer b)
{
    const TimingDev *x = *(TimingDev *const *)a, *y = *(TimingDev *const *)b;
    return (int)x->rid - (int)y->rid;
}

static GPtrArray *sorted_devs(const TimingModel *m)
{
    GPtrArray *a = g_ptr_array_new();
    GHashTableIter it;
    gpointer k, v;
    g_hash_table_iter_init(&it, m->devs);
    while (g_hash_table_iter_next(&it, &k, &v)) {
        g_ptr_array_add(a, v);
    }
    g_ptr_array_sort(a, cmp_rid);
    return a;
}

static void bdf(uint16_t rid, char *buf, size_t n)
{
    g_snprintf(buf, n, "%02x:%02x.%u", rid >> 8, (rid >> 3) & 0x1f, rid & 7u);
}

static void summary_line(GString *out, const char *who, const char *what, const TimingLatSummary *s)
{
    g_string_append_printf(out,
                           "  %-8s %-7s %10" G_GUINT64_FORMAT "  mean %9.1f  p50 %9.1f  p90 %9.1f  "
                           "p99 %9.1f  p99.9 %9.1f  max %9.1f ns\n",
                           who, what, s->count, s->mean_ns, s->p50_ns, s->p90_ns, s->p99_ns,
                           s->p999_ns, s->max_ns);
}

void timing_model_report_text(const TimingModel *m, GString *out)
{
    timing_params_describe(&m->p, out);
    g_string_append(out, "latency (issue to completion) per device and outcome:\n");
    g_autoptr(GPtrArray) devs = sorted_devs(m);
    for (guint i = 0; i < devs->len; i++) {
        TimingDev *d = g_ptr_array_index(devs, i);
        char b[16];
        bdf(d->rid, b, sizeof b);
        for (unsigned o = 0; o < TIMING_OUT_COUNT; o++) {
            TimingLatSummary s;
            timing_model_summary(m, d->rid, (TimingOutcome)o, &s);
            if (s.count) {
                summary_line(out, b, outcome_names[o], &s);
            }
        }
        TimingLatSummary s;
        timing_model_summary(m, d->rid, TIMING_OUT_COUNT, &s);
        summary_line(out, b, "all", &s);
        g_string_append_printf(out, "  %-8s throughput %.2f Gb/s, %.2f M DMAs/s\n", b,
                               timing_model_throughput_gbps(m, d->rid),
                               timing_model_rate_per_s(m, d->rid) / 1e6);
    }
    TimingCounters c;
    timing_model_counters(m, &c);
    g_string_append_printf(out,
                           "walks %" G_GUINT64_FORMAT ", merged %" G_GUINT64_FORMAT
                           ", walker occupancy %.1f %%, mean wait for a walker %.1f ns\n",
                           c.walks, c.merged, 100.0 * timing_model_walker_occupancy(m),
                           c.walks ? (double)c.walker_wait_ps / (double)c.walks / 1000.0 : 0.0);
}

static void json_summary(JsonBuilder *b, const TimingLatSummary *s)
{
    json_builder_begin_object(b);
    json_member_int(b, "count", (gint64)s->count);
    json_member_int(b, "bytes", (gint64)s->bytes);
    const struct {
        const char *n;
        double v;
    } f[] = {
        { "mean_ns", s->mean_ns }, { "p50_ns", s->p50_ns }, { "p90_ns", s->p90_ns },
        { "p99_ns", s->p99_ns }, { "p999_ns", s->p999_ns }, { "min_ns", s->min_ns },
        { "max_ns", s->max_ns },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(f); i++) {
        json_member_double(b, f[i].n, f[i].v);
    }
    json_builder_end_object(b);
}

void timing_model_report_json(const TimingModel *m, GString *out)
{
    g_autoptr(JsonBuilder) b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "params");
    json_builder_begin_object(b);
    json_member_string(b, "profile", m->p.profile);
    GString *desc = g_string_new(NULL);
    timing_params_describe(&m->p, desc);
    json_member_string(b, "description", desc->str);
    g_string_free(desc, TRUE);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "devices");
    json_builder_begin_array(b);
    g_autoptr(GPtrArray) devs = sorted_devs(m);
    for (guint i = 0; i < devs->len; i++) {
        TimingDev *d = g_ptr_array_index(devs, i);
        char bd[16];
        bdf(d->rid, bd, sizeof bd);
        json_builder_begin_object(b);
        json_member_string(b, "device", bd);
        json_member_double(b, "throughput_gbps", timing_model_throughput_gbps(m, d->rid));
        json_builder_set_member_name(b, "outcomes");
        json_builder_begin_object(b);
        for (unsigned o = 0; o <= TIMING_OUT_COUNT; o++) {
            TimingLatSummary s;
            timing_model_summary(m, d->rid, (TimingOutcome)o, &s);
            if (o < TIMING_OUT_COUNT && !s.count) {
                continue;
            }
            json_builder_set_member_name(b, o < TIMING_OUT_COUNT ? outcome_names[o] : "all");
            json_summary(b, &s);
        }
        json_builder_end_object(b);
        /* the histograms themselves: [lo_ns, hi_ns, count] per non-empty bucket */
        json_builder_set_member_name(b, "histograms");
        json_builder_begin_object(b);
        for (unsigned o = 0; o < TIMING_OUT_COUNT; o++) {
            const Hist *h = &d->hist[o];
            if (!h->count) {
                continue;
            }
            json_builder_set_member_name(b, outcome_names[o]);
            json_builder_begin_array(b);
            for (unsigned k = 0; k < HIST_N; k++) {
                if (!h->b[k]) {
                    continue;
                }
                uint64_t lo, hi;
                hist_bounds(k, &lo, &hi);
                json_builder_begin_array(b);
                json_builder_add_double_value(b, (double)lo / 1000.0);
                json_builder_add_double_value(b, (double)hi / 1000.0);
                json_builder_add_int_value(b, h->b[k]);
                json_builder_end_array(b);
            }
            json_builder_end_array(b);
        }
        json_builder_end_object(b);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    TimingLatSummary all;
    timing_model_summary(m, -1, TIMING_OUT_COUNT, &all);
    json_builder_set_member_name(b, "total");
    json_summary(b, &all);
    json_member_int(b, "walks", (gint64)m->c.walks);
    json_member_int(b, "merged", (gint64)m->c.merged);
    json_member_double(b, "walker_occupancy", timing_model_walker_occupancy(m));
    json_builder_set_member_name(b, "occupancy");
    json_builder_begin_array(b);
    double w = (double)m->p.stats_sample;
    for (guint i = 0; i < m->occ->len; i++) {
        const double *o = &g_array_index(m->occ, double, i * 2);
        json_builder_begin_array(b);
        json_builder_add_double_value(b, i * w / 1000.0);
        json_builder_add_double_value(b, m->p.walk_slots ? o[0] / (w * (double)m->p.walk_slots) : 0);
        json_builder_add_double_value(b, o[1] / w);
        json_builder_end_array(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    g_autoptr(JsonGenerator) g = json_generator_new();
    g_autoptr(JsonNode) root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    json_generator_set_pretty(g, TRUE);
    g_autofree char *s = json_generator_to_data(g, NULL);
    g_string_append(out, s);
    g_string_append_c(out, '\n');
}

void timing_model_report_csv(const TimingModel *m, GString *out)
{
    g_string_append(out, "dev,outcome,count,bytes,mean_ns,p50_ns,p90_ns,p99_ns,p999_ns,min_ns,max_ns\n");
    g_autoptr(GPtrArray) devs = sorted_devs(m);
    for (guint i = 0; i < devs->len; i++) {
        TimingDev *d = g_ptr_array_index(devs, i);
        char bd[16];
        bdf(d->rid, bd, sizeof bd);
        for (unsigned o = 0; o <= TIMING_OUT_COUNT; o++) {
            TimingLatSummary s;
            timing_model_summary(m, d->rid, (TimingOutcome)o, &s);
            if (o < TIMING_OUT_COUNT && !s.count) {
                continue;
            }
            g_string_append_printf(out, "%s,%s,%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT
                                   ",%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f\n",
                                   bd, o < TIMING_OUT_COUNT ? outcome_names[o] : "all", s.count,
                                   s.bytes, s.mean_ns, s.p50_ns, s.p90_ns, s.p99_ns, s.p999_ns,
                                   s.min_ns, s.max_ns);
        }
    }
    g_string_append(out, "\ndev,outcome,lo_ns,hi_ns,count\n");
    for (guint i = 0; i < devs->len; i++) {
        TimingDev *d = g_ptr_array_index(devs, i);
        char bd[16];
        bdf(d->rid, bd, sizeof bd);
        for (unsigned o = 0; o < TIMING_OUT_COUNT; o++) {
            const Hist *h = &d->hist[o];
            for (unsigned k = 0; h->count && k < HIST_N; k++) {
                if (h->b[k]) {
                    uint64_t lo, hi;
                    hist_bounds(k, &lo, &hi);
                    g_string_append_printf(out, "%s,%s,%.3f,%.3f,%u\n", bd, outcome_names[o],
                                           (double)lo / 1000.0, (double)hi / 1000.0, h->b[k]);
                }
            }
        }
    }
    g_string_append(out, "\nt_ns,walker_occupancy,host_occupancy\n");
    double w = (double)m->p.stats_sample;
    for (guint i = 0; i < m->occ->len; i++) {
        const double *o = &g_array_index(m->occ, double, i * 2);
        g_string_append_printf(out, "%.0f,%.4f,%.4f\n", i * w / 1000.0,
                               m->p.walk_slots ? o[0] / (w * (double)m->p.walk_slots) : 0.0,
                               o[1] / w);
    }
}
