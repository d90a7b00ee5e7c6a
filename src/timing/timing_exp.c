/*
 * Calibration experiments (timing.md section 7, V1-V6) on a simulated
 * platform with the real VT-d unit translating every TLP.  See
 * timing_exp.h for the setup; the published figures are quoted in the
 * tables below with their source.
 *
 * What these experiments do not reproduce: the host's last-level cache.
 * pcie-bench's IOMMU-off curve drops from 32.5 to 28.4 Gb/s at 32-64 MiB
 * windows because the data no longer fits the LLC; vtdsim has no LLC, so
 * the simulated IOMMU-off curve stays flat and the comparison at large
 * windows is against the IOMMU-on figures only.  V6 (strict vs lazy
 * invalidation, F&S) reproduces the ordering but not the absolute number
 * of table reads (see exp_strict_vs_lazy and docs/calibration.md).
 */
#include <math.h>
#include <string.h>
#include "timing/timing_exp.h"
#include "driver/vtd_driver.h"
#include "models/vtd/vtd.h"
#include "platform/platform.h"

/* ---- the rig: platform, driver, domain --------------------------------------- */

#define KB(x) ((uint64_t)(x) << 10)
#define MB(x) ((uint64_t)(x) << 20)

#define RIG_REG_BASE 0xFED90000ull
#define RIG_POOL_BASE 0x10000000ull   /* 256 MiB: tables */
#define RIG_POOL_SIZE (32ull << 20)
#define RIG_DATA_PA 0x4000000ull      /* 64 MiB: what the window maps to */
#define RIG_MAX_WINDOW (64ull << 20)
#define RIG_RID PCIE_BDF(0, 2, 0)

static const char rig_platform[] =
    "[platform]\nfirmware = full\nram = 512M\n"
    "[device nic]\ntype = endpoint\nbdf = 00:02.0\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    /* timing.md section 5: 64-entry fully associative IOTLB, PDE cache 128 4-way */
    "cache.iotlb.entries = 64\ncache.iotlb.assoc = 0\n"
    "cache.context.entries = 64\ncache.context.assoc = 4\n"
    "cache.psc-pml5.entries = 4\ncache.psc-pml5.assoc = 4\n"
    "cache.psc-pml4.entries = 8\ncache.psc-pml4.assoc = 4\n"
    "cache.psc-pdpe.entries = 32\ncache.psc-pdpe.assoc = 4\n"
    "cache.psc-pde.entries = 128\ncache.psc-pde.assoc = 4\n";

typedef struct Rig {
    EmuSim *sim;
    VtdUnit *unit;
    VtdDrv *drv;
    VtdDom *dom;
    bool iommu;
    uint64_t rng;
    TimingParams p;
} Rig;

static void rig_free(Rig *r)
{
    vtd_drv_free(r->drv);
    emu_sim_free(r->sim);
}

static gboolean rig_init_mode(Rig *r, const TimingParams *p, uint64_t page_size, uint64_t seed,
                              bool strict, GError **error)
{
    memset(r, 0, sizeof *r);
    r->p = *p;
    r->rng = seed ? seed : UINT64_C(0x2545F4914F6CDD1D);
    r->sim = vtdsim_platform_new_from_data(rig_platform, "timing-experiment", error);
    if (!r->sim) {
        return FALSE;
    }
    Platform *pl = platform_get(r->sim);
    r->unit = ((PlatformVtd *)g_ptr_array_index(pl->vtd, 0))->unit;
    VtdDrvConfig cfg = {
        .reg_base = RIG_REG_BASE, .mode = VTD_DRV_LEGACY, .inval = VTD_DRV_INVAL_QUEUED,
        .pool_base = RIG_POOL_BASE, .pool_size = RIG_POOL_SIZE, .strict = strict,
    };
    r->drv = vtd_drv_new(r->sim, pl->mem, &cfg, error);
    if (!r->drv) {
        emu_sim_free(r->sim);
        return FALSE;
    }
    VtdDom *dom = vtd_drv_domain_new(r->drv, VTD_DOM_SECOND_STAGE, 4, error);
    if (!dom || !vtd_drv_attach(r->drv, dom, RIG_RID, -1, error) ||
        !vtd_drv_map(r->drv, dom, 0, RIG_DATA_PA, RIG_MAX_WINDOW, VTD_PROT_READ | VTD_PROT_WRITE,
                     page_size, error) ||
        !vtd_drv_enable(r->drv, error)) {
        rig_free(r);
        return FALSE;
    }
    r->dom = dom;
    r->iommu = true;
    return TRUE;
}

static gboolean rig_init(Rig *r, const TimingParams *p, uint64_t page_size, uint64_t seed,
                         GError **error)
{
    return rig_init_mode(r, p, page_size, seed, false, error);
}

static uint64_t rig_rand(Rig *r)
{
    uint64_t x = r->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    r->rng = x;
    return x;
}

/* A random offset in [0, window) for a @size-byte access, @align-aligned, not past the window. */
static uint64_t rig_addr(Rig *r, uint64_t window, uint32_t size, uint64_t align)
{
    uint64_t slots = (window - MIN(window, (uint64_t)size)) / align + 1;
    return (rig_rand(r) % slots) * align;
}

/* Translates the TLPs of one DMA through the unit (or marks them untranslated). */
static unsigned rig_tlps(Rig *r, uint64_t addr, uint32_t len, bool write, TimingTlp *t,
                         unsigned max)
{
    unsigned n = timing_tlps_split(&r->p, addr, len, write, t, max);
    n = MIN(n, max);
    for (unsigned i = 0; i < n; i++) {
        if (!r->iommu) {
            continue;
        }
        VtdXlateRequest req = {
            .sid = RIG_RID, .write = write, .addr = t[i].addr, .len = t[i].bytes,
            .at = VTD_AT_UNTRANSLATED,
        };
        VtdXlateResult res;
        vtd_unit_translate(r->unit, &req, &res);
        timing_tlp_from_xlate(&t[i], &res);
    }
    return n;
}

typedef struct RunStats {
    double gbps;
    double rate;          /* DMAs/s */
    double mean_ns;
    double p50_ns;
    double walker_occ;
} RunStats;

/*
 * @n timed random DMAs of @size bytes in @window, after a warm-up that
 * fills the caches; all are issued at time 0 and paced by the device's
 * tags (reads) or posted credits (writes).
 */
static void rig_run(Rig *r, const TimingParams *p, uint64_t window, uint32_t size, bool write,
                    unsigned n, RunStats *out)
{
    TimingTlp t[16];
    uint64_t align = MIN((uint64_t)64, window);
    unsigned warm = r->iommu ? (unsigned)MIN(window / 4096 * 4 + 256, (uint64_t)65536) : 0;
    for (unsigned i = 0; i < warm; i++) {
        rig_tlps(r, rig_addr(r, window, size, align), size, write, t, G_N_ELEMENTS(t));
    }
    TimingModel *m = timing_model_new(p);
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rig_tlps(r, rig_addr(r, window, size, align), size, write, t, G_N_ELEMENTS(t));
        timing_dma(m, RIG_RID, 0, write, t, k, NULL);
    }
    TimingLatSummary s;
    timing_model_summary(m, -1, TIMING_OUT_COUNT, &s);
    out->gbps = timing_model_throughput_gbps(m, -1);
    out->rate = timing_model_rate_per_s(m, -1);
    out->mean_ns = s.mean_ns;
    out->p50_ns = s.p50_ns;
    out->walker_occ = timing_model_walker_occupancy(m);
    timing_model_free(m);
}

/* Unloaded: one DMA at a time, each issued when the previous completed. */
static void rig_run_unloaded(Rig *r, const TimingParams *p, uint64_t window, uint32_t size,
                             unsigned n, RunStats *out)
{
    TimingTlp t[16];
    unsigned warm = r->iommu ? (unsigned)MIN(window / 4096 * 4 + 256, (uint64_t)65536) : 0;
    for (unsigned i = 0; i < warm; i++) {
        rig_tlps(r, rig_addr(r, window, size, 64), size, false, t, G_N_ELEMENTS(t));
    }
    TimingModel *m = timing_model_new(p);
    EmuTick now = 0;
    for (unsigned i = 0; i < n; i++) {
        unsigned k = rig_tlps(r, rig_addr(r, window, size, 64), size, false, t, G_N_ELEMENTS(t));
        now = timing_dma(m, RIG_RID, now, false, t, k, NULL) + 1000 * EMU_TICKS_PER_NS;
    }
    TimingLatSummary s;
    timing_model_summary(m, -1, TIMING_OUT_COUNT, &s);
    out->mean_ns = s.mean_ns;
    out->p50_ns = s.p50_ns;
    timing_model_free(m);
}

/*
 * Host-time cost of the model: the same random 64 B reads over a 4 MiB
 * window (IOTLB misses and hits mixed) translated by the unit, without and
 * with timing_dma().  For `make bench` only (wall-clock time is never a test).
 */
gboolean timing_exp_speed(unsigned n, double *func_ns, double *timed_ns, GError **error)
{
    TimingParams p;
    timing_params_profile(&p, "xeon-e5", NULL);
    Rig rig;
    if (!rig_init(&rig, &p, KB(4), 0, error)) {
        return FALSE;
    }
    TimingTlp t[16];
    for (int pass = 0; pass < 2; pass++) {
        TimingModel *m = pass ? timing_model_new(&p) : NULL;
        rig.rng = UINT64_C(0x2545F4914F6CDD1D);
        gint64 t0 = g_get_monotonic_time();
        for (unsigned i = 0; i < n; i++) {
            unsigned k = rig_tlps(&rig, rig_addr(&rig, MB(4), 64, 64), 64, false, t, G_N_ELEMENTS(t));
            if (m) {
                timing_dma(m, RIG_RID, 0, false, t, k, NULL);
            }
        }
        double ns = (double)(g_get_monotonic_time() - t0) * 1000.0 / n;
        *(pass ? timed_ns : func_ns) = ns;
        timing_model_free(m);
    }
    rig_free(&rig);
    return TRUE;
}

/* ---- results ------------------------------------------------------------------ */

static TimingExpResult *result_new(const char *name, const TimingParams *p)
{
    TimingExpResult *r = g_new0(TimingExpResult, 1);
    g_strlcpy(r->name, name, sizeof r->name);
    r->points = g_array_new(FALSE, TRUE, sizeof(TimingExpPoint));
    r->notes = g_string_new(NULL);
    r->params = g_string_new(NULL);
    timing_params_describe(p, r->params);
    r->pass = true;
    return r;
}

void timing_exp_result_free(TimingExpResult *r)
{
    if (!r) {
        return;
    }
    g_array_free(r->points, TRUE);
    g_string_free(r->notes, TRUE);
    g_string_free(r->params, TRUE);
    g_free(r);
}

static void add_point(TimingExpResult *r, const char *label, double x, double sim, double pub,
                      double sim2, double pub2)
{
    TimingExpPoint pt = { .x = x, .sim = sim, .pub = pub, .sim2 = sim2, .pub2 = pub2 };
    g_strlcpy(pt.label, label, sizeof pt.label);
    g_array_append_val(r->points, pt);
}

static void check(TimingExpResult *r, bool ok, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void check(TimingExpResult *r, bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append(r->notes, ok ? "PASS  " : "FAIL  ");
    g_string_append_vprintf(r->notes, fmt, ap);
    g_string_append_c(r->notes, '\n');
    va_end(ap);
    if (!ok) {
        r->pass = false;
    }
}

static void size_label(char *buf, size_t n, uint64_t v)
{
    if (v >= (1u << 20) && v % (1u << 20) == 0) {
        g_snprintf(buf, n, "%" G_GUINT64_FORMAT "MB", v >> 20);
    } else if (v >= (1u << 20)) {
        g_snprintf(buf, n, "%.1fMB", (double)v / (1 << 20));
    } else if (v >= 1024 && v % 1024 == 0) {
        g_snprintf(buf, n, "%" G_GUINT64_FORMAT "KB", v >> 10);
    } else {
        g_snprintf(buf, n, "%" G_GUINT64_FORMAT "B", v);
    }
}

static TimingExpPoint *find_point(TimingExpResult *r, double x)
{
    for (guint i = 0; i < r->points->len; i++) {
        TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
        if (pt->x == x) {
            return pt;
        }
    }
    return NULL;
}

/* ---- the experiments ---------------------------------------------------------- */

/* pcie-bench BDW E5-2630v4, iommu-nosp, bw_dma_win_sweep_rd_rnd_64.txt, HWarm (timing.md 2.1) */
static const struct {
    uint64_t w;
    double on, off;
} window_pub[] = {
    { KB(4), 31.4, 32.5 },  { KB(16), 32.1, 32.5 }, { KB(256), 32.4, 32.5 },
    { KB(512), 22.3, 32.5 }, { MB(1), 15.2, 32.5 },  { KB(1536), 13.0, 32.5 },
    { MB(2), 12.1, 32.5 },  { MB(3), 11.3, 32.5 },  { MB(4), 10.9, 32.5 },
    { MB(8), 10.4, 32.5 },  { MB(16), 10.1, 32.5 }, { MB(32), 9.9, 29.1 },
    { MB(64), 9.8, 28.4 },
};

static TimingExpResult *exp_window_sweep(const TimingParams *p, unsigned n, uint64_t seed,
                                         bool huge, GError **error)
{
    Rig rig;
    if (!rig_init(&rig, p, huge ? MB(2) : KB(4), seed, error)) {
        return NULL;
    }
    TimingExpResult *r = result_new(huge ? "hugepage" : "window-sweep", p);
    g_strlcpy(r->xlabel, "DMA window", sizeof r->xlabel);
    g_strlcpy(r->ylabel, "Gb/s (64 B random reads)", sizeof r->ylabel);
    g_strlcpy(r->series1, "IOMMU on", sizeof r->series1);
    g_strlcpy(r->series2, "IOMMU off", sizeof r->series2);
    r->logx = true;
    if (huge) {
        g_strlcpy(r->title, "(d) 64 B random reads, 2 MiB IOMMU pages (superpages on)",
                  sizeof r->title);
        g_strlcpy(r->source,
                  "pcie-bench hsw E5-2620v3 iommu (superpages on): 32.7 flat, 28.8 vs 28.7 off at 64 MB "
                  "(timing.md rows 9, 2.1)", sizeof r->source);
    } else {
        g_strlcpy(r->title, "(a) 64 B random reads vs DMA window, 4 KiB IOMMU pages",
                  sizeof r->title);
        g_strlcpy(r->source,
                  "pcie-bench bdw E5-2630v4 iommu-nosp bw_dma_win_sweep_rd_rnd_64 HWarm (timing.md 2.1, V1)",
                  sizeof r->source);
    }
    for (size_t i = 0; i < G_N_ELEMENTS(window_pub); i++) {
        uint64_t w = window_pub[i].w;
        RunStats on, off;
        rig.iommu = true;
        rig_run(&rig, p, w, 64, false, n, &on);
        rig.iommu = false;
        rig_run(&rig, p, w, 64, false, n, &off);
        char lab[24];
        size_label(lab, sizeof lab, w);
        double pub = window_pub[i].on;
        if (huge) {
            /* HSW superpages-on figures; only these windows are quoted */
            pub = w == KB(256) || w == KB(512) || w == MB(1) ? 32.7 : w == MB(64) ? 28.8 : NAN;
        }
        add_point(r, lab, (double)w, on.gbps, pub, off.gbps, huge ? NAN : window_pub[i].off);
    }
    rig_free(&rig);
    if (huge) {
        double worst = 0;
        for (guint i = 0; i < r->points->len; i++) {
            TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
            worst = MAX(worst, fabs(pt->sim / pt->sim2 - 1.0));
        }
        check(r, worst <= 0.01, "IOMMU on within 1 %% of IOMMU off at every window (worst %.2f %%)",
              100 * worst);
        return r;
    }
    TimingExpPoint *p256 = find_point(r, (double)KB(256)), *p512 = find_point(r, (double)KB(512));
    TimingExpPoint *p1m = find_point(r, (double)MB(1)), *p64 = find_point(r, (double)MB(64));
    check(r, p256->sim >= 0.97 * p256->sim2 && p512->sim < 0.85 * p256->sim,
          "knee between 256 KB and 512 KB (256 KB: %.1f%% of IOMMU off; 512 KB: %.1f%% of 256 KB)",
          100 * p256->sim / p256->sim2, 100 * p512->sim / p256->sim);
    check(r, fabs(p64->sim / p64->pub - 1) <= 0.10, "64 MB floor within 10 %% of 9.8 Gb/s (%.2f, %+.1f %%)",
          p64->sim, 100 * (p64->sim / p64->pub - 1));
    check(r, fabs(p1m->sim / p1m->pub - 1) <= 0.15, "1 MB within 15 %% of 15.2 Gb/s (%.2f, %+.1f %%)",
          p1m->sim, 100 * (p1m->sim / p1m->pub - 1));
    double third = p64->sim / p64->sim2;
    g_string_append_printf(r->notes,
                           "      64 MB: IOMMU on / off = %.2f (published 9.8 / 28.4 = 0.35; vtdsim has no LLC, "
                           "so its IOMMU-off curve stays at the small-window rate)\n", third);
    return r;
}

static TimingExpResult *exp_miss_penalty(const TimingParams *p0, unsigned n, uint64_t seed,
                                         GError **error)
{
    TimingParams p = *p0;
    p.dev_tags = 1;   /* one outstanding read */
    Rig rig;
    if (!rig_init(&rig, &p, KB(4), seed, error)) {
        return NULL;
    }
    TimingExpResult *r = result_new("miss-penalty", &p);
    g_strlcpy(r->title, "(b) Unloaded 64 B DMA read latency vs window, 4 KiB IOMMU pages",
              sizeof r->title);
    g_strlcpy(r->xlabel, "DMA window", sizeof r->xlabel);
    g_strlcpy(r->ylabel, "mean latency (ns)", sizeof r->ylabel);
    g_strlcpy(r->series1, "IOMMU on", sizeof r->series1);
    g_strlcpy(r->series2, "IOMMU off", sizeof r->series2);
    g_strlcpy(r->source,
              "pcie-bench bdw E5-2630v4 lat_dma_sweep_rd_rnd_64 HWarm medians (timing.md 2.1, V2); "
              "330 ns per miss: Neugebauer et al. via IOTLB-SC", sizeof r->source);
    r->logx = true;
    static const struct {
        uint64_t w;
        double on, off;
    } pub[] = {
        { KB(4), 560, 560 }, { KB(64), 560, 560 }, { KB(256), 560, 560 }, { MB(1), 826, NAN },
        { MB(4), 840, NAN }, { MB(64), 880, 600 },
    };
    unsigned nn = MAX(n / 10, 2000u);
    for (size_t i = 0; i < G_N_ELEMENTS(pub); i++) {
        RunStats on, off;
        rig.iommu = true;
        rig_run_unloaded(&rig, &p, pub[i].w, 64, nn, &on);
        rig.iommu = false;
        rig_run_unloaded(&rig, &p, pub[i].w, 64, nn, &off);
        char lab[24];
        size_label(lab, sizeof lab, pub[i].w);
        add_point(r, lab, (double)pub[i].w, on.mean_ns, pub[i].on, off.mean_ns, pub[i].off);
    }
    rig_free(&rig);
    TimingExpPoint *a = find_point(r, (double)KB(4)), *b = find_point(r, (double)MB(64));
    double dmiss = b->sim - b->sim2;
    double dhit = a->sim - a->sim2;
    check(r, dmiss >= 230 && dmiss <= 330,
          "added latency at 64 MB (all misses) %.1f ns within 230..330 ns "
          "(paper 330 ns: ratio %.2f; BDW raw-data mean 287 ns: ratio %.2f)",
          dmiss, dmiss / 330.0, dmiss / 287.0);
    check(r, dhit >= 0 && dhit < 5, "hit-path cost %.1f ns below 5 ns", dhit);
    check(r, fabs(a->sim / 560.0 - 1) <= 0.05, "unloaded 64 B read %.1f ns within 5 %% of 560 ns (%+.1f %%)",
          a->sim, 100 * (a->sim / 560.0 - 1));
    return r;
}

static TimingExpResult *exp_miss_ceiling(const TimingParams *p, unsigned n, uint64_t seed,
                                         GError **error)
{
    Rig rig;
    if (!rig_init(&rig, p, KB(4), seed, error)) {
        return NULL;
    }
    TimingExpResult *r = result_new("miss-ceiling", p);
    g_strlcpy(r->title, "(c) Transaction rate at a 64 MB window (all IOTLB misses)", sizeof r->title);
    g_strlcpy(r->xlabel, "DMA size (bytes)", sizeof r->xlabel);
    g_strlcpy(r->ylabel, "M transactions/s", sizeof r->ylabel);
    g_strlcpy(r->series1, "reads", sizeof r->series1);
    g_strlcpy(r->series2, "writes", sizeof r->series2);
    g_strlcpy(r->source, "pcie-bench bdw E5-2630v4 iommu-nosp bw_dma_win_sweep_{rd,wr}_rnd_* 64MB rows, "
              "Trans/s column (timing.md row 4, V3)", sizeof r->source);
    r->logx = true;
    static const struct {
        uint32_t size;
        double rd, wr;
    } pub[] = { { 64, 19.2, 21.6 }, { 128, 19.1, NAN }, { 256, 16.4, NAN }, { 512, 13.1, NAN } };
    for (size_t i = 0; i < G_N_ELEMENTS(pub); i++) {
        RunStats rd, wr;
        rig_run(&rig, p, MB(64), pub[i].size, false, n, &rd);
        rig_run(&rig, p, MB(64), pub[i].size, true, n, &wr);
        char lab[24];
        size_label(lab, sizeof lab, pub[i].size);
        add_point(r, lab, pub[i].size, rd.rate / 1e6, pub[i].rd, wr.rate / 1e6, pub[i].wr);
        if (pub[i].size == 64) {
            g_string_append_printf(r->notes, "      walker occupancy at 64 B reads: %.1f %%\n",
                                   100 * rd.walker_occ);
        }
    }
    TimingExpPoint *a = find_point(r, 64), *b = find_point(r, 128);
    check(r, fabs(a->sim / 19.2 - 1) <= 0.10, "64 B reads %.2f M/s within 10 %% of 19.2 M/s (%+.1f %%)",
          a->sim, 100 * (a->sim / 19.2 - 1));
    check(r, fabs(b->sim / a->sim - 1) <= 0.05,
          "64 B and 128 B saturate at the same rate (%.2f vs %.2f M/s)", a->sim, b->sim);
    /* ablation: gem5's 16 walkers */
    TimingParams q = *p;
    q.walk_slots = 16;
    RunStats ab;
    rig_run(&rig, &q, MB(64), 64, false, n, &ab);
    g_string_append_printf(r->notes,
                           "      ablation walk.slots = 16: 64 B reads %.1f M/s (timing.md V3 expects an "
                           "overshoot towards ~50 M/s [I]; the link and host limit it here)\n",
                           ab.rate / 1e6);
    check(r, ab.rate / 1e6 > 1.5 * a->sim, "walk.slots = 16 overshoots the ceiling (%.1f > 1.5 x %.1f M/s)",
          ab.rate / 1e6, a->sim);
    rig_free(&rig);
    return r;
}

static TimingExpResult *exp_tlp_sawtooth(const TimingParams *p, unsigned n, uint64_t seed,
                                         GError **error)
{
    Rig rig;
    if (!rig_init(&rig, p, KB(4), seed, error)) {
        return NULL;
    }
    rig.iommu = false;
    TimingExpResult *r = result_new("tlp-sawtooth", p);
    g_strlcpy(r->title, "(e) DMA throughput vs transfer size, IOMMU off, 8 KB window, Gen3 x8",
              sizeof r->title);
    g_strlcpy(r->xlabel, "DMA size (bytes)", sizeof r->xlabel);
    g_strlcpy(r->ylabel, "Gb/s", sizeof r->ylabel);
    g_strlcpy(r->series1, "reads", sizeof r->series1);
    g_strlcpy(r->series2, "writes", sizeof r->series2);
    g_strlcpy(r->source, "pcie-bench bdw E5-2630v4 bw_dma_sz_sweep, window 8 KB, warm (timing.md rows 26-27, V5)",
              sizeof r->source);
    r->logx = true;
    static const struct {
        uint32_t size;
        double rd, wr;
    } pub[] = {
        { 16, NAN, NAN },   { 32, NAN, NAN },   { 64, 31.9, 24.3 },  { 65, 21.9, NAN },
        { 96, NAN, NAN },   { 128, 43.8, 42.4 }, { 129, 37.9, 27.2 }, { 192, NAN, NAN },
        { 256, 47.7, 50.5 }, { 257, NAN, 37.4 }, { 384, NAN, NAN },   { 512, 55.0, 53.0 },
        { 513, NAN, NAN },  { 1024, NAN, NAN }, { 2048, 55.6, NAN },
    };
    for (size_t i = 0; i < G_N_ELEMENTS(pub); i++) {
        RunStats rd, wr;
        rig_run(&rig, p, KB(8), pub[i].size, false, n, &rd);
        rig_run(&rig, p, KB(8), pub[i].size, true, n, &wr);
        char lab[24];
        size_label(lab, sizeof lab, pub[i].size);
        add_point(r, lab, pub[i].size, rd.gbps, pub[i].rd, wr.gbps, pub[i].wr);
    }
    rig_free(&rig);
    TimingExpPoint *r64 = find_point(r, 64), *r65 = find_point(r, 65), *r128 = find_point(r, 128);
    TimingExpPoint *r129 = find_point(r, 129), *r256 = find_point(r, 256), *r257 = find_point(r, 257);
    TimingExpPoint *r512 = find_point(r, 512), *r2k = find_point(r, 2048);
    check(r, r65->sim < 0.85 * r64->sim && r129->sim < 0.95 * r128->sim && r257->sim2 < 0.9 * r256->sim2,
          "sawtooth: reads drop at 65 B (%.1f -> %.1f) and 129 B (%.1f -> %.1f), writes at 257 B (%.1f -> %.1f)",
          r64->sim, r65->sim, r128->sim, r129->sim, r256->sim2, r257->sim2);
    check(r, fabs(r512->sim / 55.0 - 1) <= 0.05 && fabs(r2k->sim / 55.6 - 1) <= 0.05,
          "read plateau within 5 %% of 55 Gb/s (512 B %.1f, %+.1f %%; 2048 B %.1f, %+.1f %%)", r512->sim,
          100 * (r512->sim / 55.0 - 1), r2k->sim, 100 * (r2k->sim / 55.6 - 1));
    check(r, r2k->sim <= 57.88, "plateau below the pcie-model TLP-level bound 57.88 Gb/s (%.2f)", r2k->sim);
    return r;
}

/*
 * (f) Strict vs lazy (F&S) invalidation: a NIC receiving 4 KiB packets
 * round-robin over F flows.  Per packet the device reads a 16 B Rx
 * descriptor, writes the 4 KiB buffer (16 TLPs) and a 64 B completion
 * entry; every 64 packets (a NAPI batch) the driver unmaps the 64
 * buffers and maps them again (the ring refill reuses the IOVAs, like
 * Linux's IOVA caches).  Strict: every unmap is a page-selective
 * invalidation with IH=0 through the invalidation queue, which also drops
 * the paging-structure-cache entries covering the page (Linux).  F&S:
 * unmaps do not invalidate; one IOTLB-only invalidation (IH=1: the
 * paging-structure caches stay) per buffer at the batch end, charged as
 * one queued descriptor per 64 pages.  Flow f's buffers are 256 pages at
 * f MiB, its descriptor and completion rings one page each at 48 MiB.
 */
static void sl_run(Rig *r, const TimingParams *p, unsigned flows, bool strict, unsigned packets,
                   double *reads_per_4k, double lvl[4], double *gbps, double *qi_ns_per_4k)
{
    TimingModel *m = timing_model_new(p);
    TimingTlp t[32];
    uint64_t reads = 0, lv[4] = { 0 };
    unsigned *next = g_new0(unsigned, flows);
    uint64_t *batch = g_new0(uint64_t, 64);
    EmuTick qi_busy = 0, now = 0;
    const EmuTick gap = 327680;   /* 4 KiB at 100 Gb/s */
    VtdXlate *x = vtd_unit_xlate(r->unit);
    for (unsigned i = 0; i < packets; i++) {
        if (i == 64) {
            /* the first batch warms the caches up: count from the second */
            reads = 0;
            memset(lv, 0, sizeof lv);
        }
        unsigned f = i % flows;
        unsigned k = next[f]++ % 256;
        uint64_t buf = MB(1) * f + (uint64_t)k * 4096;
        uint64_t rxd = MB(48) + (uint64_t)f * 8192 + (k % 256) * 16;
        uint64_t cqe = MB(48) + (uint64_t)f * 8192 + 4096 + (k % 64) * 64;
        static const struct {
            uint32_t len;
            bool write;
        } acc[3] = { { 16, false }, { 4096, true }, { 64, true } };
        const uint64_t addr[3] = { rxd, buf, cqe };
        for (unsigned a = 0; a < 3; a++) {
            unsigned n = timing_tlps_split(p, addr[a], acc[a].len, acc[a].write, t, G_N_ELEMENTS(t));
            for (unsigned j = 0; j < n; j++) {
                VtdXlateRequest req = { .sid = RIG_RID, .write = acc[a].write, .addr = t[j].addr,
                                        .len = t[j].bytes, .at = VTD_AT_UNTRANSLATED };
                VtdXlateResult res;
                vtd_unit_translate(r->unit, &req, &res);
                timing_tlp_from_xlate(&t[j], &res);
                reads += res.mem_reads;
                if (res.cache_miss & (1u << VTD_CACHE_IOTLB)) {
                    lv[0]++;
                    /* PSC levels probed and missed: PML4 (L1), PDPE (L2), PDE (L3) */
                    lv[1] += (res.cache_miss >> VTD_CACHE_PSC_PML4) & 1;
                    lv[2] += (res.cache_miss >> VTD_CACHE_PSC_PDPE) & 1;
                    lv[3] += (res.cache_miss >> VTD_CACHE_PSC_PDE) & 1;
                }
            }
            timing_dma(m, RIG_RID, now, acc[a].write, t, n, NULL);
        }
        batch[i % 64] = buf;
        if (i % 64 == 63) {
            /* the CPU unmaps one buffer after the other, waiting for each invalidation */
            EmuTick cpu = now;
            for (unsigned b = 0; b < 64; b++) {
                vtd_drv_unmap(r->drv, r->dom, batch[b], 4096, NULL);
                if (strict) {
                    EmuTick done = timing_invalidate(m, cpu, 1, true);
                    qi_busy += done - cpu;
                    cpu = done;
                } else {
                    vtd_xlate_inv_iotlb_page(x, vtd_dom_id(r->dom), batch[b], 0, true);
                }
                vtd_drv_map(r->drv, r->dom, batch[b], RIG_DATA_PA + (batch[b] & (MB(64) - 1)), 4096,
                            VTD_PROT_READ | VTD_PROT_WRITE, 4096, NULL);
            }
            if (!strict) {
                EmuTick done = timing_invalidate(m, now, 1, true);
                qi_busy += done - now;
            }
        }
        now += gap;
    }
    *reads_per_4k = (double)reads / (packets - 64);
    for (unsigned l = 0; l < 4; l++) {
        lvl[l] = (double)lv[l] / (packets - 64);
    }
    *gbps = timing_model_throughput_gbps(m, -1);
    *qi_ns_per_4k = (double)qi_busy / 1000.0 / packets;
    g_free(next);
    g_free(batch);
    timing_model_free(m);
}

static TimingExpResult *exp_strict_vs_lazy(const TimingParams *p, unsigned n, uint64_t seed,
                                           GError **error)
{
    TimingExpResult *r = result_new("strict-vs-lazy", p);
    g_strlcpy(r->title, "(f) IO page-table reads per 4 KiB, strict (Linux) vs F&S invalidation",
              sizeof r->title);
    g_strlcpy(r->xlabel, "flows", sizeof r->xlabel);
    g_strlcpy(r->ylabel, "table reads per 4 KiB", sizeof r->ylabel);
    g_strlcpy(r->series1, "strict", sizeof r->series1);
    g_strlcpy(r->series2, "F&S", sizeof r->series2);
    g_strlcpy(r->source, "Rubin et al. (F&S), SOSP'24, section 2.2 / Fig. 2, CX-5 on Cascade Lake "
              "(timing.md rows 11-12, V6)", sizeof r->source);
    static const struct {
        unsigned flows;
        double strict, lvl[4];
    } pub[] = { { 5, 1.76, { 1.3, 0.05, 0.05, 0.36 } }, { 40, 4.36, { 2.20, 0.63, 0.63, 0.90 } } };
    unsigned packets = MAX(n / 10, 2560u) / 64 * 64;
    for (size_t i = 0; i < G_N_ELEMENTS(pub); i++) {
        double m[2], lvl[2][4], gbps[2], qi[2];
        for (int s = 0; s < 2; s++) {
            Rig rig;
            if (!rig_init_mode(&rig, p, KB(4), seed, s == 0, error)) {
                timing_exp_result_free(r);
                return NULL;
            }
            sl_run(&rig, p, pub[i].flows, s == 0, packets, &m[s], lvl[s], &gbps[s], &qi[s]);
            rig_free(&rig);
        }
        char lab[24];
        g_snprintf(lab, sizeof lab, "%u", pub[i].flows);
        add_point(r, lab, pub[i].flows, m[0], pub[i].strict, m[1], NAN);
        double fs_sim = 32768.0 / (65 + m[0] * 197), fs_pub = 32768.0 / (65 + pub[i].strict * 197);
        g_string_append_printf(r->notes,
                               "      %u flows strict: IOTLB %.2f, L1 %.2f, L2 %.2f, L3 %.2f misses per 4 KiB "
                               "(published %.2f / %.2f / %.2f / %.2f); F&S model throughput "
                               "T = 32768/(65 + M*197): %.1f Gb/s (published %.1f, ratio %.2f); "
                               "invalidation time %.0f ns per 4 KiB; timing-model Rx throughput %.1f Gb/s\n",
                               pub[i].flows, lvl[0][0], lvl[0][1], lvl[0][2], lvl[0][3], pub[i].lvl[0],
                               pub[i].lvl[1], pub[i].lvl[2], pub[i].lvl[3], fs_sim, fs_pub, fs_sim / fs_pub,
                               qi[0], gbps[0]);
        g_string_append_printf(r->notes,
                               "      %u flows F&S:    IOTLB %.2f, L1 %.2f, L2 %.2f, L3 %.2f (published L1 = L2 = 0, "
                               "L3 <= 0.054); F&S model %.1f Gb/s; invalidation time %.0f ns per 4 KiB; "
                               "timing-model Rx throughput %.1f Gb/s\n",
                               pub[i].flows, lvl[1][0], lvl[1][1], lvl[1][2], lvl[1][3],
                               32768.0 / (65 + m[1] * 197), qi[1], gbps[1]);
        check(r, fabs(m[0] / pub[i].strict - 1) <= 0.20,
              "%u flows strict: %.2f table reads per 4 KiB within 20 %% of %.2f (%+.0f %%)", pub[i].flows,
              m[0], pub[i].strict, 100 * (m[0] / pub[i].strict - 1));
        check(r, m[0] > m[1] && lvl[1][1] == 0 && lvl[1][2] == 0 && lvl[1][3] <= 0.054,
              "%u flows: strict > F&S (%.2f vs %.2f reads per 4 KiB), F&S L1 = L2 = 0, L3 <= 0.054",
              pub[i].flows, m[0], m[1]);
    }
    return r;
}

static const char *const exp_names[] = {
    "window-sweep", "miss-penalty", "miss-ceiling", "hugepage", "tlp-sawtooth", "strict-vs-lazy", NULL,
};

const char *const *timing_exp_names(void)
{
    return exp_names;
}

TimingExpResult *timing_exp_run(const char *name, const TimingExpOptions *opt, GError **error)
{
    TimingParams def;
    const TimingParams *p = opt ? opt->params : NULL;
    if (!p) {
        timing_params_profile(&def, "xeon-e5", NULL);
        p = &def;
    }
    unsigned n = opt && opt->requests ? opt->requests : 100000;
    uint64_t seed = opt ? opt->seed : 0;
    if (!strcmp(name, "window-sweep")) {
        return exp_window_sweep(p, n, seed, false, error);
    }
    if (!strcmp(name, "hugepage")) {
        return exp_window_sweep(p, n, seed, true, error);
    }
    if (!strcmp(name, "miss-penalty")) {
        return exp_miss_penalty(p, n, seed, error);
    }
    if (!strcmp(name, "miss-ceiling")) {
        return exp_miss_ceiling(p, n, seed, error);
    }
    if (!strcmp(name, "tlp-sawtooth")) {
        return exp_tlp_sawtooth(p, n, seed, error);
    }
    if (!strcmp(name, "strict-vs-lazy")) {
        return exp_strict_vs_lazy(p, n, seed, error);
    }
    g_set_error(error, TIMING_ERROR, 0,
                "unknown experiment '%s' (known: window-sweep, miss-penalty, miss-ceiling, hugepage, "
                "tlp-sawtooth, strict-vs-lazy)", name);
    return NULL;
}

/* ---- output ------------------------------------------------------------------- */

static void cell(GString *out, double v)
{
    if (isnan(v)) {
        g_string_append_printf(out, " %9s", "-");
    } else {
        g_string_append_printf(out, " %9.2f", v);
    }
}

static void ratio(GString *out, double sim, double pub)
{
    if (isnan(sim) || isnan(pub) || pub == 0) {
        g_string_append_printf(out, " %7s", "-");
    } else {
        g_string_append_printf(out, " %7.3f", sim / pub);
    }
}

void timing_exp_result_text(const TimingExpResult *r, GString *out)
{
    g_string_append_printf(out, "experiment %s: %s\n", r->name, r->title);
    g_string_append_printf(out, "published: %s\n", r->source);
    g_string_append_printf(out, "unit: %s\n\n", r->ylabel);
    g_string_append_printf(out, "%-10s | %-29s | %-29s\n", r->xlabel[0] == 'D' ? "x" : "x",
                           r->series1, r->series2);
    g_string_append_printf(out, "%-10s | %9s %9s %7s | %9s %9s %7s\n", "", "simulated", "published",
                           "ratio", "simulated", "published", "ratio");
    for (guint i = 0; i < r->points->len; i++) {
        const TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
        g_string_append_printf(out, "%-10s |", pt->label);
        cell(out, pt->sim);
        cell(out, pt->pub);
        ratio(out, pt->sim, pt->pub);
        g_string_append(out, " |");
        cell(out, pt->sim2);
        cell(out, pt->pub2);
        ratio(out, pt->sim2, pt->pub2);
        g_string_append_c(out, '\n');
    }
    g_string_append_c(out, '\n');
    g_string_append(out, r->notes->str);
    g_string_append_printf(out, "result: %s\n", r->pass ? "PASS" : "FAIL");
}

static void svg_text(GString *out, const char *s)
{
    g_autofree char *e = g_markup_escape_text(s, -1);
    g_string_append(out, e);
}

void timing_exp_result_svg(const TimingExpResult *r, GString *out)
{
    const double W = 720, H = 440, L = 70, R = 160, T = 40, B = 60;
    double xmin = INFINITY, xmax = -INFINITY, ymax = 0;
    for (guint i = 0; i < r->points->len; i++) {
        const TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
        double x = r->logx ? log2(pt->x) : pt->x;
        xmin = MIN(xmin, x);
        xmax = MAX(xmax, x);
        const double v[] = { pt->sim, pt->pub, pt->sim2, pt->pub2 };
        for (size_t k = 0; k < 4; k++) {
            if (!isnan(v[k])) {
                ymax = MAX(ymax, v[k]);
            }
        }
    }
    if (xmax <= xmin) {
        xmax = xmin + 1;
    }
    /* a round y range */
    double step = pow(10, floor(log10(ymax > 0 ? ymax : 1)));
    if (ymax / step < 3) {
        step /= 2;
    }
    double ytop = ceil(ymax * 1.05 / step) * step;
    if (ytop <= 0) {
        ytop = 1;
    }
#define SX(x) (L + ((r->logx ? log2(x) : (x)) - xmin) / (xmax - xmin) * (W - L - R))
#define SY(y) (H - B - (y) / ytop * (H - T - B))
    g_string_append_printf(out,
                           "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                           "font-family=\"sans-serif\" font-size=\"12\">\n"
                           "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                           W, H);
    g_string_append_printf(out, "<text x=\"%.0f\" y=\"22\" font-size=\"14\">", L);
    svg_text(out, r->title);
    g_string_append(out, "</text>\n");
    /* axes and grid */
    for (double y = 0; y <= ytop + 1e-9; y += step) {
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                               L, SY(y), W - R, SY(y), L - 6, SY(y) + 4, y);
    }
    for (guint i = 0; i < r->points->len; i++) {
        const TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
        if (r->points->len > 8 && i % 2 && i != r->points->len - 1) {
            continue;
        }
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#999\"/>"
                               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
                               SX(pt->x), H - B, SX(pt->x), H - B + 5, SX(pt->x), H - B + 18);
        svg_text(out, pt->label);
        g_string_append(out, "</text>\n");
    }
    g_string_append_printf(out,
                           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>"
                           "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"black\"/>\n",
                           L, H - B, W - R, H - B, L, T, L, H - B);
    g_string_append_printf(out, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">", (L + W - R) / 2,
                           H - 18);
    svg_text(out, r->xlabel);
    g_string_append(out, "</text>\n");
    g_string_append_printf(out,
                           "<text transform=\"translate(18,%.1f) rotate(-90)\" text-anchor=\"middle\">",
                           (T + H - B) / 2);
    svg_text(out, r->ylabel);
    g_string_append(out, "</text>\n");
    /* series: simulated as lines, published as markers */
    static const char *const color[2] = { "#1f77b4", "#d62728" };
    for (int s = 0; s < 2; s++) {
        GString *path = g_string_new(NULL);
        for (guint i = 0; i < r->points->len; i++) {
            const TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
            double v = s ? pt->sim2 : pt->sim;
            if (!isnan(v)) {
                g_string_append_printf(path, "%s%.1f,%.1f ", path->len ? "L" : "M", SX(pt->x), SY(v));
            }
        }
        if (path->len) {
            g_string_append_printf(out, "<path d=\"%s\" fill=\"none\" stroke=\"%s\" stroke-width=\"2\"/>\n",
                                   path->str, color[s]);
        }
        g_string_free(path, TRUE);
        for (guint i = 0; i < r->points->len; i++) {
            const TimingExpPoint *pt = &g_array_index(r->points, TimingExpPoint, i);
            double v = s ? pt->pub2 : pt->pub;
            if (!isnan(v)) {
                g_string_append_printf(out,
                                       "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"none\" stroke=\"%s\" "
                                       "stroke-width=\"1.5\"/>\n",
                                       SX(pt->x), SY(v), color[s]);
            }
        }
        double ly = T + 10 + s * 36;
        g_string_append_printf(out,
                               "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                               "stroke-width=\"2\"/><text x=\"%.1f\" y=\"%.1f\">",
                               W - R + 10, ly, W - R + 30, ly, color[s], W - R + 35, ly + 4);
        svg_text(out, s ? r->series2 : r->series1);
        g_string_append(out, " (sim)</text>\n");
        g_string_append_printf(out,
                               "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"none\" stroke=\"%s\"/>"
                               "<text x=\"%.1f\" y=\"%.1f\">",
                               W - R + 20, ly + 16, color[s], W - R + 35, ly + 20);
        svg_text(out, s ? r->series2 : r->series1);
        g_string_append(out, " (published)</text>\n");
    }
    g_string_append(out, "</svg>\n");
#undef SX
#undef SY
}
