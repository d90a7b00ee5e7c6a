/*
 * Traces: reading the trace language (docs/trace-format.md) in its text and
 * binary forms, one event at a time.
 *
 * The reader streams: it holds one line (or one binary record) at a time,
 * plus the stack of open include files, so memory stays bounded whatever
 * the size of the trace.  Each event comes out as a TraceEvent: the words
 * of the line (quotes removed, comment split off), its time stamp, its
 * source file and line, and - for the hot path, DMA requests without data -
 * a pre-decoded form that the replayer can use without looking at words.
 *
 * Errors (a malformed line, a missing include, a truncated binary record)
 * are GErrors in the EMU_ERROR domain whose message starts with
 * "FILE:LINE: ", the line being the record number for binary files.
 */
#ifndef VTDSIM_TRACE_TRACE_H
#define VTDSIM_TRACE_TRACE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <glib.h>
#include "vtdsim/sim.h"

#define TRACE_VERSION 1
#define TRACE_HEADER "vtdsim-trace 1"
#define TRACE_BIN_MAGIC "VTDTRB1\n"
#define TRACE_MAX_INCLUDE_DEPTH 16
#define TRACE_MAX_LINE (1u << 20)   /* longest accepted line, bytes */

typedef enum TraceEventKind {
    TRACE_EV_WORDS = 0,   /* any event: look at words[] */
    TRACE_EV_DMA,         /* "dma read|write DEV ADDR LEN [pasid=N] [priv] [exec] [at=...]" with no data */
    TRACE_EV_BLANK,       /* a blank or comment-only line (kept for lossless conversion) */
} TraceEventKind;

/* DMA flags of the pre-decoded form. */
enum {
    TRACE_DMA_WRITE = 1u << 0,
    TRACE_DMA_PASID = 1u << 1,
    TRACE_DMA_PRIV = 1u << 2,
    TRACE_DMA_EXEC = 1u << 3,
    TRACE_DMA_TRANSLATED = 1u << 4,  /* at=translated */
    TRACE_DMA_VIA_ATS = 1u << 5,
};

typedef struct TraceEvent {
    TraceEventKind kind;
    const char *file;     /* owned by the reader; valid until the reader is freed */
    unsigned line;
    /* time stamp: none, absolute, or relative to the previous event */
    bool has_time;
    bool time_relative;
    EmuTick time;         /* ps */
    char *time_text;      /* the stamp as written ("@1.5us"), for canonical text */
    /* words of the line (quotes removed); words[nwords] == NULL */
    char **words;
    unsigned nwords;
    char *comment;        /* text after '#', without the '#', or NULL */
    /* TRACE_EV_DMA */
    const char *dma_device;  /* interned; valid until the reader is freed */
    uint64_t dma_addr;
    uint32_t dma_len;
    uint32_t dma_pasid;
    unsigned dma_flags;
} TraceEvent;

typedef struct TraceReader TraceReader;

/**
 * trace_reader_open:
 * Opens @path (text or binary, told apart by the first bytes) for
 * streaming.  The text header line is checked on the first event.
 * Returns NULL with @error when the file cannot be opened.
 */
TraceReader *trace_reader_open(const char *path, GError **error);
void trace_reader_free(TraceReader *r);

/**
 * trace_reader_next:
 * The next event, or NULL at the end of the trace (with *@error unset) or
 * on an error (with *@error set, naming file and line).  The event belongs
 * to the reader and is valid until the next call.  Include lines are
 * followed transparently (the events of the included file come out with
 * their own file and line); with @keep_blank, blank and comment-only lines
 * come out as TRACE_EV_BLANK events (for conversion), otherwise they are
 * skipped; with @raw_includes, include lines come out as events instead of
 * being followed (for conversion).
 */
const TraceEvent *trace_reader_next(TraceReader *r, bool keep_blank, bool raw_includes,
                                    GError **error);

/** Whether the file being read is binary. */
bool trace_reader_is_binary(const TraceReader *r);
/** Bytes consumed and total size of the top-level file (for progress bars). */
void trace_reader_progress(const TraceReader *r, uint64_t *done, uint64_t *total);
/** The directory of the file the last event came from (for relative paths). */
const char *trace_reader_dir(const TraceReader *r);

/**
 * trace_event_text:
 * Appends the canonical text of @ev (time stamp, words re-quoted as
 * needed, one blank between words, " # comment" if any) to @out.
 */
void trace_event_text(const TraceEvent *ev, GString *out);

/**
 * trace_parse_time:
 * Parses "@1.5us", "@+40ns" (the '@' included).  Returns FALSE for a
 * malformed stamp.
 */
gboolean trace_parse_time(const char *s, EmuTick *t, bool *relative);

/** Parses a C-style number with an optional K/M/G/T suffix. */
gboolean trace_parse_u64(const char *s, uint64_t *out);

/* ---- binary form ------------------------------------------------------- */

typedef struct TraceWriter TraceWriter;

/** Starts writing the binary form to @f (borrowed; the caller closes it). */
TraceWriter *trace_writer_new(FILE *f);
/** Appends @ev; FALSE with @error on a write error. */
gboolean trace_writer_add(TraceWriter *w, const TraceEvent *ev, GError **error);
/** Flushes and frees the writer; FALSE with @error on a write error. */
gboolean trace_writer_finish(TraceWriter *w, GError **error);

/**
 * trace_convert:
 * Converts @in (text or binary) to the other form in @out_path, written
 * atomically (a temporary file renamed into place).  Returns FALSE with
 * @error (naming file and line) on bad input; @out_path is then untouched.
 */
gboolean trace_convert(const char *in_path, const char *out_path, GError **error);

#endif
