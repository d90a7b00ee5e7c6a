/*
 * Calibration experiments: the pcie-bench, IOTLB and F&S measurements of
 * /work/shared/reference/timing.md section 7 (V1-V6), reproduced on a simulated
 * platform and compared point by point with the published figures.
 *
 * Each experiment builds a q35 platform with one Gen3 x8 endpoint and a
 * Xeon VT-d unit whose caches have the geometry the calibration implies
 * (a 64-entry fully associative IOTLB, 128-entry paging-structure cache
 * for PDEs), programs it with the driver library (legacy mode, one
 * second-stage domain mapping the DMA window with 4 KiB or 2 MiB pages),
 * and then, for every DMA, asks the real remapping unit to translate
 * each TLP (vtd_unit_translate: real cache behaviour, real walk lengths)
 * and the timing model how long the DMA takes.  The device keeps as many
 * requests outstanding as it has tags (dev.tags), as pcie-bench does;
 * throughput is measured over the timed requests only, after a warm-up
 * that fills the caches.
 *
 * Also here: the text table (simulated vs published with ratios) and the
 * SVG plot of an experiment (our own SVG writer, no gnuplot).
 */
#ifndef VTDSIM_TIMING_TIMING_EXP_H
#define VTDSIM_TIMING_TIMING_EXP_H

#include <glib.h>
#include "timing/timing.h"
#include "timing/timing_vtd.h"

/** One point of an experiment: x, simulated and published values of up to two series. */
typedef struct TimingExpPoint {
    char label[40];
    double x;
    double sim, pub;          /* series 1; pub NaN when nothing is published */
    double sim2, pub2;        /* series 2 (IOMMU off, writes, ...); NaN when absent */
} TimingExpPoint;

typedef struct TimingExpResult {
    char name[32];
    char title[128];
    char xlabel[48], ylabel[48];
    char series1[48], series2[48];
    char source[160];         /* where the published figures come from */
    bool logx;
    GArray *points;           /* TimingExpPoint */
    GString *notes;           /* pass criteria and their outcome, derived figures */
    bool pass;                /* every pass criterion of timing.md section 7 met */
    GString *params;          /* timing_params_describe() of the run */
} TimingExpResult;

typedef struct TimingExpOptions {
    const TimingParams *params;   /* NULL: the xeon-e5 profile */
    unsigned requests;            /* timed DMAs per point; 0: 100000 */
    uint64_t seed;                /* 0: a fixed seed */
} TimingExpOptions;

/** NULL-terminated list: window-sweep, miss-penalty, miss-ceiling, hugepage, tlp-sawtooth,
 * strict-vs-lazy. */
const char *const *timing_exp_names(void);

/**
 * timing_exp_run:
 * Runs experiment @name.  Returns a result (free with
 * timing_exp_result_free()) or NULL with @error (TIMING_ERROR) for an
 * unknown name or a platform that cannot be built.
 */
TimingExpResult *timing_exp_run(const char *name, const TimingExpOptions *opt, GError **error);
void timing_exp_result_free(TimingExpResult *r);

/** Appends the table "x | simulated | published | ratio" and the notes. */
void timing_exp_result_text(const TimingExpResult *r, GString *out);
/** Appends a standalone SVG plot: simulated lines, published points. */
void timing_exp_result_svg(const TimingExpResult *r, GString *out);

/**
 * timing_exp_speed:
 * Wall-clock cost per DMA (ns) of @n translated random reads without
 * (*@func_ns) and with (*@timed_ns) the timing model.  For benchmarks.
 */
gboolean timing_exp_speed(unsigned n, double *func_ns, double *timed_ns, GError **error);

#endif
