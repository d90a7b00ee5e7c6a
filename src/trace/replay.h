/*
 * Replaying traces: runs the events of a trace (docs/trace-format.md)
 * against a simulated platform, checks its expectations, logs each
 * request on demand and accumulates the statistics of a summary.
 *
 * A Replay runs one trace at a time; each trace gets a fresh simulation
 * (its own platform).  Memory is bounded: the reader streams, the log is
 * written as it goes, and only counters and the most recent request's
 * outcome are kept.
 *
 * Timing: every device request is also priced by the timing model
 * (src/timing) with the parameters of the platform's [timing] group (the
 * zero-latency "ideal" profile when there is none): the log shows each
 * request's latency and the summary the latency percentiles per device and
 * outcome, throughput and walker occupancy.  The model annotates; it does
 * not change what the functional simulation does or when.
 */
#ifndef VTDSIM_TRACE_REPLAY_H
#define VTDSIM_TRACE_REPLAY_H

#include <stdbool.h>
#include <stdio.h>
#include <glib.h>
#include "trace/trace.h"
#include "vtdsim/sim.h"

typedef struct ReplayOptions {
    FILE *log;            /* per-request log, or NULL */
    FILE *report;         /* expectation failures as they happen (diff style), or NULL */
    bool progress;        /* a progress bar on stderr (only when it is a terminal) */
} ReplayOptions;

typedef struct Replay Replay;

Replay *replay_new(const ReplayOptions *opt);
void replay_free(Replay *r);

/**
 * replay_run:
 * Replays the trace at @path in a new simulation.  Returns FALSE with
 * @error ("FILE:LINE: message") when the trace cannot be run to its end
 * (a malformed event, an unknown device); everything up to that line has
 * been logged and counted.  Failed expectations do not stop the run: see
 * replay_failures().
 */
gboolean replay_run(Replay *r, const char *path, GError **error);

/**
 * replay_take_sim:
 * Hands the simulation of the last replay_run() to the caller (who frees it
 * with emu_sim_free()), in the state the trace left it - for tools that
 * inspect a machine a trace has set up (vtdsim walk/dump --trace).  NULL
 * when the trace ran no event.  The replay's statistics are gone after it.
 */
EmuSim *replay_take_sim(Replay *r);

/** Expectations that failed in the last replay_run(). */
unsigned replay_failures(const Replay *r);
/** Expectations checked in the last replay_run(). */
unsigned replay_expectations(const Replay *r);

/** Appends the summary of the last replay_run() as text / as a JSON object. */
void replay_summary_text(Replay *r, GString *out);
void replay_summary_json(Replay *r, GString *out);

/* ---- hooks for fault injection (src/inject, issue 9) ------------------------
 * A ReplayHooks table lets the fault injector follow a replay: it is told
 * when the platform exists, receives the `inject ...` events of the trace
 * (without hooks they are inert: a plain replay ignores them), may drop a
 * host-driver or page-request event before it runs, and sees the outcome
 * of every device request.  All callbacks are optional. */
typedef struct ReplayRequestInfo {
    const char *file;
    unsigned line;
    int kind;                 /* 1 dma, 2 ats, 3 msi, 4 page request */
    int status;               /* PcieCplStatus */
    bool fault;
    uint8_t fault_reason;
    const uint8_t *data;      /* data of a DMA read, else NULL */
    uint32_t len;
} ReplayRequestInfo;

typedef struct ReplayHooks {
    void *opaque;
    void (*platform_ready)(void *opaque, EmuSim *sim);
    gboolean (*inject)(void *opaque, const TraceEvent *ev, GError **error);
    bool (*skip_event)(void *opaque, const TraceEvent *ev);
    void (*request_done)(void *opaque, const ReplayRequestInfo *info);
} ReplayHooks;

/** Installs @hooks (copied; NULL removes them) for the following runs. */
void replay_set_hooks(Replay *r, const ReplayHooks *hooks);
/** The simulation of the last replay_run() (owned by @r), or NULL. */
EmuSim *replay_sim(Replay *r);

#endif
