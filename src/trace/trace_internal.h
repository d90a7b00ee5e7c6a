/*
 * Internals shared by the trace reader, writer and replayer.
 */
#ifndef VTDSIM_TRACE_TRACE_INTERNAL_H
#define VTDSIM_TRACE_TRACE_INTERNAL_H

#include "trace/trace.h"

/* Binary record opcode: type in bits 5:0, flags above. */
#define TRACE_BIN_TYPE_MASK 0x3f
#define TRACE_BIN_RELATIVE 0x40   /* the time stamp is relative (@+...) */
#define TRACE_BIN_HAS_TIME 0x80   /* a time-stamp string follows the opcode */

enum {
    TRACE_BIN_TEXT = 1,    /* varint length + canonical text of the line (no time stamp) */
    TRACE_BIN_BLANK = 2,   /* varint length + comment text (0: blank line) */
    TRACE_BIN_NAME = 3,    /* varint id + string: device name interning */
    TRACE_BIN_DMA = 4,     /* varint dev id, zig-zag address delta, length, flags [, pasid] */
};

/** Returns the interned copy of @name in @h (owned by @h). */
const char *trace_intern(GHashTable *h, const char *name);

/** Writes the canonical words of a DMA event ("dma read DEV 0x.. LEN ...") into @out. */
void trace_dma_words(GString *out, const TraceEvent *ev);

#endif
