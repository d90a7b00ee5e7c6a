/*
 * The timing model: how long each DMA takes, given what the functional
 * model says happened to it.
 *
 * vtdsim's functional path (pcie_fn_dma_read/write -> root complex ->
 * VT-d unit) runs synchronously and decides *what* happens to every TLP:
 * which caches hit, how many table reads a walk needed, whether it
 * faulted.  This layer decides *when*: the caller (the trace replayer, the
 * calibration experiments) hands it the per-TLP facts of one DMA and the
 * time the device issued it, and gets back the simulated time at which the
 * DMA completed.  Functional runs are untouched; with the `ideal` profile
 * every DMA completes at the time it is issued.
 *
 * Contention is modelled with counted resources resolved in simulated
 * time, not fixed delays: each resource remembers when its slots become
 * free and a request reserves what it needs -
 *   - per device: read tags (outstanding non-posted requests), posted
 *     header credits and non-posted header credits of the receiving port,
 *     and the two directions of its link (serialisation time of every TLP
 *     including header, framing, DLLP (Ack/FC) and SKP overhead);
 *   - shared: the host's request pipeline (per-request and per-cache-line
 *     occupancy: the throughput limit of small requests), the page-walker
 *     slots of the remapping unit (a miss holds a walker for the whole
 *     walk), the invalidation-queue engine.
 * Links and the host pipeline are single servers that fill gaps (a hit
 * issued after a miss is not stuck behind the miss's walk); counted slots
 * (tags, credits, walkers) hand out the earliest free slot.  A second
 * translation of a page whose walk is still in flight waits for that walk
 * instead of taking a walker (miss merging, gem5's "4k hazard").
 *
 * Nothing here uses the event queue: an IOTLB hit is pure arithmetic on
 * the resources it crosses, so the model costs a few hundred nanoseconds
 * of host time per TLP whatever the hit rate.
 *
 * Not modelled: link errors and replays, completion credits (endpoints
 * advertise infinite completion credits, as the specification requires),
 * PCIe ordering (a posted write may pass an earlier one still being
 * translated, a read may pass a write), the
 * host's memory controller and DDIO (a fixed latency plus the pipeline
 * occupancy stand in for them), the size dependence of the device's own
 * DMA engine, power states.
 *
 * Units: simulated time is EmuTick (picoseconds).  Parameters are stored
 * in picoseconds, bytes and counts; keyfile keys ending in _ns take
 * nanoseconds (fractions allowed), docs/timing.md lists every key.
 */
#ifndef VTDSIM_TIMING_TIMING_H
#define VTDSIM_TIMING_TIMING_H

#include <stdbool.h>
#include <stdint.h>
#include <glib.h>
#include "vtdsim/sim.h"

#define TIMING_ERROR (timing_error_quark())
GQuark timing_error_quark(void);

/* ------------------------------------------------------------------ */
/* Parameters                                                          */
/* ------------------------------------------------------------------ */

/*
 * Every parameter, once: X(field, key, kind, unit, meaning).  Kinds:
 * TIME (stored in ps, keyed in ns), COUNT, BYTES, BOOL.  Used for the
 * struct, the keyfile parser, the description echoed in reports and the
 * documentation table.
 */
#define TIMING_PARAM_LIST(X) \
    X(link_gen, "link.gen", COUNT, "generation", \
      "PCIe generation 1..5 (2.5/5/8/16/32 GT/s per lane; 8b/10b for 1-2, 128b/130b for 3-5); 0 = infinitely fast link") \
    X(link_width, "link.width", COUNT, "lanes", "link width") \
    X(link_mps, "link.mps", BYTES, "bytes", "Max_Payload_Size: largest write and completion payload") \
    X(link_mrrs, "link.mrrs", BYTES, "bytes", "Max_Read_Request_Size: largest read request") \
    X(link_rcb, "link.rcb", BYTES, "bytes", "read completion boundary: completions split at it when the host does not coalesce") \
    X(link_cpl_coalesce, "link.cpl_coalesce", BOOL, "bool", \
      "host returns completions of up to MPS bytes (true) or one per RCB block (false)") \
    X(link_req_hdr_bytes, "link.req_hdr_bytes", BYTES, "bytes", \
      "per MRd/MWr TLP overhead on the wire: 16 B header (64-bit address) + 8 B sequence number, LCRC and framing") \
    X(link_cpl_hdr_bytes, "link.cpl_hdr_bytes", BYTES, "bytes", "per CplD TLP overhead on the wire (12 B header + 8 B DLL/framing)") \
    X(link_ecrc, "link.ecrc", BOOL, "bool", "ECRC on every TLP (+4 bytes)") \
    X(link_dllp_bytes, "link.dllp_bytes", BYTES, "bytes", "size of one DLLP (Ack or UpdateFC) on the wire") \
    X(link_ack_interval, "link.ack_interval", BYTES, "symbol times", \
      "one Ack DLLP per this many symbol times of TLP traffic (PCIe spec Ack latency limit table); 0 = no Ack overhead") \
    X(link_fc_interval, "link.fc_interval", BYTES, "symbol times", \
      "one UpdateFC DLLP per this many symbol times of TLP traffic; 0 = no FC overhead") \
    X(link_skp, "link.skp", BOOL, "bool", "SKP ordered sets: 4 symbols every 1538 (Gen3+) / 1180 (Gen1-2)") \
    X(link_latency, "link.latency_ns", TIME, "ns", "one-way latency of the link (PHY/DLL pipelines and flight), excluding serialisation") \
    X(link_np_credits, "link.np_credits", COUNT, "TLPs", \
      "non-posted header credits of the receiving port: reads in flight between the link and the translation (0 = unlimited)") \
    X(link_ph_credits, "link.ph_credits", COUNT, "TLPs", \
      "posted header credits of the receiving port: writes in flight until the host accepts them (0 = unlimited)") \
    X(sw_hops, "switch.hops", COUNT, "switches", "switches between the device and the root port") \
    X(sw_latency, "switch.latency_ns", TIME, "ns", "cut-through latency of one switch, each direction") \
    X(dev_issue, "dev.issue_ns", TIME, "ns", "device DMA engine: from the DMA being issued to its first TLP on the link") \
    X(dev_cpl, "dev.cpl_ns", TIME, "ns", "device: from the last completion byte to the DMA being done") \
    X(dev_tags, "dev.tags", COUNT, "tags", "read requests a device keeps outstanding at most (tags; 0 = unlimited)") \
    X(rc_latency, "rc.latency_ns", TIME, "ns", "root port + root complex (IIO) latency, each direction") \
    X(rc_line_bytes, "rc.line_bytes", BYTES, "bytes", "host cache line size: the unit of host-side work") \
    X(rc_read_req, "rc.read_req_ns", TIME, "ns", "host pipeline occupancy per read request") \
    X(rc_read_line, "rc.read_line_ns", TIME, "ns", "host pipeline occupancy per cache line read") \
    X(rc_write_req, "rc.write_req_ns", TIME, "ns", "host pipeline occupancy per write TLP") \
    X(rc_write_line, "rc.write_line_ns", TIME, "ns", "host pipeline occupancy per cache line written") \
    X(rc_write_partial, "rc.write_partial_ns", TIME, "ns", "extra occupancy per partially written cache line (read-modify-write)") \
    X(mem_data, "mem.data_ns", TIME, "ns", "latency of a DMA data read at the host (LLC hit)") \
    X(mem_write, "mem.write_ns", TIME, "ns", "from a write's acceptance to its global visibility") \
    X(mem_table, "mem.table_ns", TIME, "ns", "latency of one translation-table read by the page walker") \
    X(mem_table_write, "mem.table_write_ns", TIME, "ns", "latency of one A/D-flag write by the page walker") \
    X(iotlb_lookup, "iotlb.lookup_ns", TIME, "ns", "IOTLB lookup (pipelined; the whole cost of a hit)") \
    X(ctx_lookup, "ctx.lookup_ns", TIME, "ns", "context-cache lookup on the miss path") \
    X(pasid_lookup, "pasid.lookup_ns", TIME, "ns", "PASID-cache lookup on the miss path") \
    X(psc_lookup, "psc.lookup_ns", TIME, "ns", "one paging-structure-cache probe on the miss path") \
    X(walk_slots, "walk.slots", COUNT, "walkers", "page walks in flight at once (page-walk tracker entries; 0 = unlimited)") \
    X(walk_fixed, "walk.fixed_ns", TIME, "ns", "walk overhead besides table reads (request/return inside the IIO)") \
    X(walk_merge, "walk.merge", BOOL, "bool", "a translation of a page whose walk is in flight waits for it (no second walk)") \
    X(qi_desc, "qi.desc_ns", TIME, "ns", "invalidation queue: fetch and apply one descriptor") \
    X(qi_wait, "qi.wait_ns", TIME, "ns", "invalidation wait descriptor: status write and completion") \
    X(ats_devtlb, "ats.devtlb_ns", TIME, "ns", "device-TLB lookup in the endpoint") \
    X(ir_iec, "ir.iec_ns", TIME, "ns", "interrupt-entry-cache lookup") \
    X(ir_irte, "ir.irte_ns", TIME, "ns", "IRTE fetch on an interrupt-entry-cache miss") \
    X(ir_post, "ir.post_ns", TIME, "ns", "posting: posted-interrupt descriptor update (atomic) and notification") \
    X(stats_sample, "stats.sample_ns", TIME, "ns", "width of one occupancy-over-time sample")

#define TIMING_PARAM_FIELD(field, key, kind, unit, meaning) uint64_t field;

/**
 * TimingParams: every constant of the model.  Times in picoseconds,
 * sizes in bytes, the rest counts; booleans 0/1.  Fill with
 * timing_params_profile() and adjust with timing_params_from_keyfile().
 */
typedef struct TimingParams {
    char profile[32];          /* name of the profile the values started from */
    TIMING_PARAM_LIST(TIMING_PARAM_FIELD)
} TimingParams;

/**
 * timing_params_profile:
 * Fills @p with profile @name: "xeon-e5" (Gen3 x8 NIC on a Xeon E5,
 * calibrated against pcie-bench; docs/calibration.md), "modern" (Gen5 x16,
 * 16 walkers, faster walk: a larger modern server; assumed, not measured)
 * or "ideal" (zero latency, infinite bandwidth: functional runs).
 * Returns FALSE with @error (TIMING_ERROR) naming the known profiles.
 */
gboolean timing_params_profile(TimingParams *p, const char *name, GError **error);

/** NULL-terminated list of the profile names. */
const char *const *timing_profile_names(void);

/**
 * timing_params_from_keyfile:
 * Updates @p from @group of @kf: `profile = NAME` first (resets every
 * value), then every other key of TIMING_PARAM_LIST (`link.gen = 3`,
 * `walk.slots = 8`, `walk.fixed_ns = 218.5`, `link.ecrc = true`).  A
 * missing group leaves @p unchanged.  Returns FALSE with @error
 * ("[GROUP] KEY: message") for an unknown key, a malformed or
 * out-of-range value; @p may then be partly updated.
 */
gboolean timing_params_from_keyfile(TimingParams *p, GKeyFile *kf, const char *group,
                                    GError **error);

/** Checks ranges and consistency (generation, width, MPS <= 4096, ...). */
gboolean timing_params_validate(const TimingParams *p, GError **error);

/** Appends "timing profile NAME" and one "  key = value unit" line per parameter. */
void timing_params_describe(const TimingParams *p, GString *out);

/** Appends the parameter table (key, unit, meaning, value per profile) in Markdown. */
void timing_params_doc_table(GString *out);

/**
 * timing_link_ser_ps:
 * Serialisation time in ps of a TLP of @wire_bytes (header + payload) on a
 * link of @p, including the amortised Ack/UpdateFC DLLPs and SKP ordered
 * sets: wire_bytes * (1 + dllp/ack_interval + dllp/fc_interval) *
 * (1 + skp) * 8 * encoding / (rate * width), rounded to the nearest ps.
 */
EmuTick timing_link_ser_ps(const TimingParams *p, uint32_t wire_bytes);

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

/** What the remapping unit did to one TLP. */
typedef enum TimingXlate {
    TIMING_XL_NONE = 0,   /* not translated: no IOMMU, TE=0, translated request */
    TIMING_XL_HIT,        /* IOTLB hit */
    TIMING_XL_MISS,       /* IOTLB miss: a walk (mem_reads table reads) */
    TIMING_XL_FAULT,      /* translation faulted after the walk: no data access */
} TimingXlate;

/** The facts of one TLP (one request of a DMA). */
typedef struct TimingTlp {
    uint64_t addr;        /* request address (cache-line and completion split) */
    uint32_t bytes;       /* payload bytes of the request (0 for an ATS translation) */
    TimingXlate xl;
    bool ctx_lookup;      /* miss path: the context cache was probed */
    bool pasid_lookup;    /* miss path: the PASID cache was probed */
    uint8_t psc_probes;   /* miss path: paging-structure-cache probes */
    uint8_t mem_reads;    /* table reads of the walk */
    uint8_t mem_writes;   /* A/D writes of the walk */
    uint64_t walk_tag;    /* identifies the translated page (page base | domain): merging */
} TimingTlp;

/** The outcome class of a DMA, for statistics (the worst of its TLPs). */
typedef enum TimingOutcome {
    TIMING_OUT_BYPASS = 0, /* nothing translated */
    TIMING_OUT_HIT,        /* every TLP hit the IOTLB */
    TIMING_OUT_MERGED,     /* some TLP waited for another request's walk */
    TIMING_OUT_MISS,       /* some TLP walked */
    TIMING_OUT_FAULT,      /* some TLP faulted */
    TIMING_OUT_COUNT
} TimingOutcome;

const char *timing_outcome_name(TimingOutcome o);

/**
 * timing_tlps_split:
 * Cuts a DMA of @len bytes at @addr into requests as a device does (none
 * crosses 4 KiB, reads at most MRRS, writes at most MPS of @p), fills
 * addr/bytes of up to @max entries of @out (xl = TIMING_XL_NONE) and
 * returns the number of requests (which may exceed @max: nothing past
 * @max is written).
 */
unsigned timing_tlps_split(const TimingParams *p, uint64_t addr, uint32_t len, bool write,
                           TimingTlp *out, unsigned max);

/* ------------------------------------------------------------------ */
/* The model                                                           */
/* ------------------------------------------------------------------ */

typedef struct TimingModel TimingModel;

/** A new model with idle resources and empty statistics; @p is copied.  Free with timing_model_free(). */
TimingModel *timing_model_new(const TimingParams *p);
void timing_model_free(TimingModel *m);
const TimingParams *timing_model_params(const TimingModel *m);

/**
 * timing_dma:
 * One DMA by device @dev (its routing ID: devices own their link, tags
 * and credits), issued at @issue, made of @ntlp requests @tlps (in order;
 * see timing_tlps_split).  Reserves every resource on the way and records
 * the latency in the statistics.  Calls should come in non-decreasing
 * @issue order per device (earlier ones are accepted, but may see
 * resources as busier than they were).
 * Returns: the completion time (reads: last completion data at the
 * device; writes: the last byte visible in memory); @issue when @ntlp is 0.
 * *@outcome (may be NULL) receives the outcome class.
 */
EmuTick timing_dma(TimingModel *m, uint16_t dev, EmuTick issue, bool write,
                   const TimingTlp *tlps, unsigned ntlp, TimingOutcome *outcome);

/**
 * timing_ats:
 * An ATS translation request of @dev issued at @issue, translated as @t
 * says (t->bytes ignored): the round trip device -> root complex ->
 * remapping unit -> translation completion back at the device.
 */
EmuTick timing_ats(TimingModel *m, uint16_t dev, EmuTick issue, const TimingTlp *t);

/**
 * timing_invalidate:
 * Software submits @ndesc invalidation descriptors at @issue (@wait: the
 * last is followed by a wait descriptor).  Descriptors are processed one at
 * a time by the unit's queue engine.  Returns when the wait completion is
 * written (or the last descriptor applied).
 */
EmuTick timing_invalidate(TimingModel *m, EmuTick issue, unsigned ndesc, bool wait);

/**
 * timing_interrupt:
 * An interrupt message remapped at @issue: IEC lookup, IRTE fetch on a
 * miss (@iec_hit false), and the posted-interrupt descriptor update when
 * @posted.  Returns when the interrupt is delivered or posted.
 */
EmuTick timing_interrupt(TimingModel *m, EmuTick issue, bool iec_hit, bool posted);

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

/** Latency summary of one (device, outcome) class or of all of them. */
typedef struct TimingLatSummary {
    uint64_t count;
    uint64_t bytes;
    double mean_ns;
    double p50_ns, p90_ns, p99_ns, p999_ns;
    double min_ns, max_ns;
} TimingLatSummary;

/**
 * timing_model_summary:
 * Latency summary of device @dev (-1: every device) and @outcome
 * (TIMING_OUT_COUNT: every outcome).  Percentiles come from a log-linear
 * histogram (32 buckets per octave: within 3 %).
 */
void timing_model_summary(const TimingModel *m, int dev, TimingOutcome outcome,
                          TimingLatSummary *out);

/** Data throughput in Gb/s of @dev (-1: all): bytes / (last completion - first issue). */
double timing_model_throughput_gbps(const TimingModel *m, int dev);
/** Completed DMAs per second of @dev (-1: all) over the same span. */
double timing_model_rate_per_s(const TimingModel *m, int dev);

/** Counters of the shared resources. */
typedef struct TimingCounters {
    uint64_t dmas, tlps;
    uint64_t walks;            /* walks that took a walker */
    uint64_t merged;           /* translations that waited for another walk */
    uint64_t walker_wait_ps;   /* total time misses waited for a free walker */
    uint64_t walker_busy_ps;   /* total walker occupancy */
    uint64_t host_busy_ps;     /* total host pipeline occupancy */
    uint64_t inv_descriptors;
    uint64_t interrupts;
    EmuTick first_issue, last_done;
} TimingCounters;

void timing_model_counters(const TimingModel *m, TimingCounters *out);

/** Mean walker-slot occupancy (0..1) over [first issue, last completion]. */
double timing_model_walker_occupancy(const TimingModel *m);

/**
 * timing_model_report_text / _json / _csv:
 * The parameters (timing_params_describe), then per device and outcome the
 * latency summary, throughput, walker occupancy.  JSON: one object with
 * "params", "devices" (per device: "throughput_gbps", "outcomes" with the
 * summaries, "histograms" with [lo_ns, hi_ns, count] per non-empty bucket),
 * "total", "walks", "merged", "walker_occupancy", "occupancy" ([t_ns,
 * walker, host] per stats.sample_ns window).  CSV: three tables separated
 * by blank lines: the latency summaries ("dev,outcome,count,bytes,mean_ns,
 * p50_ns,..."), the histograms ("dev,outcome,lo_ns,hi_ns,count") and the
 * occupancy samples ("t_ns,walker_occupancy,host_occupancy").
 */
void timing_model_report_text(const TimingModel *m, GString *out);
void timing_model_report_json(const TimingModel *m, GString *out);
void timing_model_report_csv(const TimingModel *m, GString *out);

#endif
