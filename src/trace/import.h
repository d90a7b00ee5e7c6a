/*
 * Importing real Linux inputs into the vtdsim trace language
 * (docs/trace-format.md, docs/import.md).
 *
 * Inputs: ftrace text as `trace-cmd report` or /sys/kernel/tracing/trace
 * print it, with the iommu:*, dma:* and intel_iommu:* events, and kernel
 * log text (dmesg, journalctl, syslog) with the DMAR boot banner and DMAR
 * fault lines.  The format is detected per line, so a file may mix them.
 * Output: a trace (`vtdsim-trace 1`) and, on request, a platform file
 * naming every device the input mentions.  Lines the importer does not
 * understand are counted and skipped, never fatal: logs are noisy.
 */
#ifndef VTDSIM_TRACE_IMPORT_H
#define VTDSIM_TRACE_IMPORT_H

#include <glib.h>

G_BEGIN_DECLS

typedef struct TraceImportOptions {
    /* Path written in the trace's `platform FILE` line (relative to the
     * trace) when a platform is generated; NULL: the input's base name
     * with its extension replaced by ".platform". */
    const char *platform_file;
    /* After each map, a `dma read` / `dma write` of the mapped range as the
     * device would do it, so replay exercises translation. */
    gboolean synthesize_dma;
    /* After each synthesized DMA, `expect no-fault`. */
    gboolean expect_ok;
    /* Length cap of a synthesized DMA in bytes; 0 means 4096. */
    guint64 dma_max_len;
    /* Name of the VT-d unit when no boot banner names one; NULL: "dmar0". */
    const char *default_unit;
    /* Keep physical addresses as found instead of folding them into the
     * data window [0x20000000, 0x40000000) of the generated 1 GiB platform. */
    gboolean keep_phys;
} TraceImportOptions;

#define TRACE_IMPORT_MAX_REPORTED 5

typedef struct TraceImportStats {
    guint64 lines;          /* input lines read */
    guint64 events;         /* input lines that became trace events */
    guint64 comments;       /* input lines kept as comments (qi_submit, IR faults, ...) */
    guint64 ignored;        /* lines understood but with nothing to replay (headers, notes) */
    guint64 foreign;        /* well-formed ftrace events of other subsystems */
    guint64 skipped;        /* lines not understood, or malformed payloads */
    guint64 dropped;        /* understood events that cannot be replayed (e.g. IOVA beyond MGAW) */
    guint64 sg_truncated;   /* dma_map_sg lines whose arrays the kernel truncated */
    guint64 sg_merged;      /* dma_map_sg lines with fewer DMA segments than entries */
    guint64 unmatched_unmaps; /* unmaps of ranges not mapped in the imported state */
    guint64 time_clamped;   /* time stamps earlier than the previous one */
    guint devices, domains, units;
    /* "FILE:LINE: why" for the first skipped lines (owned; trace_import_stats_clear()). */
    guint n_reported;
    char *reported[TRACE_IMPORT_MAX_REPORTED];
} TraceImportStats;

/** Frees the strings of @s and zeroes it. */
void trace_import_stats_clear(TraceImportStats *s);

/** Appends a human-readable summary of @s (several lines) to @out. */
void trace_import_stats_format(const TraceImportStats *s, GString *out);

/**
 * trace_import:
 * Reads @in_path and appends the trace to @out, and the platform file to
 * @platform_out when it is non-NULL (the trace then starts with a
 * `platform` line).  @opt may be NULL for the defaults; @stats may be NULL;
 * when given it is overwritten (clear it with trace_import_stats_clear()).
 * Returns FALSE with @error (EMU_ERROR, naming the file and, where it
 * applies, the line) when the file cannot be read, is a binary trace-cmd
 * .dat file, or holds no line the importer recognises; whatever was
 * converted is still appended to @out.
 */
gboolean trace_import(const char *in_path, GString *out, GString *platform_out,
                      const TraceImportOptions *opt, TraceImportStats *stats, GError **error);

/** As trace_import() for @len bytes of @text; @source names it in messages and comments. */
gboolean trace_import_data(const char *text, gsize len, const char *source, GString *out,
                           GString *platform_out, const TraceImportOptions *opt,
                           TraceImportStats *stats, GError **error);

/**
 * trace_import_parse_timestamp:
 * Parses an ftrace/printk time stamp "SECONDS[.FRACTION]" (up to 9
 * fraction digits; more are truncated) into nanoseconds.  Without a
 * fraction the number is taken as a raw counter in nanoseconds.
 */
gboolean trace_import_parse_timestamp(const char *s, gsize len, guint64 *ns);

/** Appends "@<t><unit>" with the largest of s, ms, us, ns that represents @ns exactly. */
void trace_import_format_time(GString *out, guint64 ns);

G_END_DECLS

#endif
