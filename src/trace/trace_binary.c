/*
 * The binary trace form: writing, and conversion in both directions.
 * The layout is described in docs/trace-format.md and trace_internal.h.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "trace/trace_internal.h"
#include "core/error.h"

struct TraceWriter {
    FILE *f;
    GHashTable *ids;       /* device name -> id + 1 */
    unsigned next_id;
    uint64_t last_addr;
    GString *buf;
    bool failed;
};

TraceWriter *trace_writer_new(FILE *f)
{
    TraceWriter *w = g_new0(TraceWriter, 1);
    w->f = f;
    w->ids = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    w->buf = g_string_new(NULL);
    fwrite(TRACE_BIN_MAGIC, 1, 8, f);
    return w;
}

static void put_varint(GString *b, uint64_t v)
{
    while (v >= 0x80) {
        g_string_append_c(b, (char)(v | 0x80));
        v >>= 7;
    }
    g_string_append_c(b, (char)v);
}

static void put_string(GString *b, const char *s, size_t n)
{
    put_varint(b, n);
    g_string_append_len(b, s, (gssize)n);
}

static void put_op(GString *b, unsigned type, const TraceEvent *ev)
{
    unsigned op = type;
    if (ev->has_time) {
        op |= TRACE_BIN_HAS_TIME | (ev->time_relative ? TRACE_BIN_RELATIVE : 0);
    }
    g_string_append_c(b, (char)op);
    if (ev->has_time) {
        put_string(b, ev->time_text, strlen(ev->time_text));
    }
}

gboolean trace_writer_add(TraceWriter *w, const TraceEvent *ev, GError **error)
{
    GString *b = w->buf;
    g_string_truncate(b, 0);
    if (ev->kind == TRACE_EV_BLANK) {
        put_op(b, TRACE_BIN_BLANK, ev);
        const char *c = ev->comment ? ev->comment : "";
        put_string(b, c, strlen(c));
    } else if (ev->kind == TRACE_EV_DMA && !ev->comment) {
        gpointer idp = g_hash_table_lookup(w->ids, ev->dma_device);
        unsigned id;
        if (!idp) {
            id = w->next_id++;
            g_hash_table_insert(w->ids, g_strdup(ev->dma_device), GUINT_TO_POINTER(id + 1));
            g_string_append_c(b, TRACE_BIN_NAME);
            put_varint(b, id);
            put_string(b, ev->dma_device, strlen(ev->dma_device));
        } else {
            id = GPOINTER_TO_UINT(idp) - 1;
        }
        put_op(b, TRACE_BIN_DMA, ev);
        put_varint(b, id);
        int64_t delta = (int64_t)(ev->dma_addr - w->last_addr);
        put_varint(b, ((uint64_t)delta << 1) ^ (uint64_t)(delta >> 63));
        w->last_addr = ev->dma_addr;
        put_varint(b, ev->dma_len);
        put_varint(b, ev->dma_flags);
        if (ev->dma_flags & TRACE_DMA_PASID) {
            put_varint(b, ev->dma_pasid);
        }
    } else {
        put_op(b, TRACE_BIN_TEXT, ev);
        TraceEvent copy = *ev;
        copy.has_time = false;
        GString *t = g_string_new(NULL);
        trace_event_text(&copy, t);
        put_string(b, t->str, t->len);
        g_string_free(t, TRUE);
    }
    if (fwrite(b->str, 1, b->len, w->f) != b->len) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "write: %s", g_strerror(errno));
        w->failed = true;
        return FALSE;
    }
    return TRUE;
}

gboolean trace_writer_finish(TraceWriter *w, GError **error)
{
    gboolean ok = !w->failed;
    if (ok && fflush(w->f) != 0) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "write: %s", g_strerror(errno));
        ok = FALSE;
    }
    g_hash_table_destroy(w->ids);
    g_string_free(w->buf, TRUE);
    g_free(w);
    return ok;
}

gboolean trace_convert(const char *in_path, const char *out_path, GError **error)
{
    TraceReader *r = trace_reader_open(in_path, error);
    if (!r) {
        return FALSE;
    }
    bool to_text = trace_reader_is_binary(r);
    g_autofree char *tmp = g_strdup_printf("%s.tmp.%d", out_path, (int)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", tmp, g_strerror(errno));
        trace_reader_free(r);
        return FALSE;
    }
    TraceWriter *w = to_text ? NULL : trace_writer_new(f);
    GString *line = g_string_new(NULL);
    gboolean ok = TRUE;
    if (to_text) {
        fputs(TRACE_HEADER "\n", f);
    }
    for (;;) {
        GError *err = NULL;
        const TraceEvent *ev = trace_reader_next(r, true, true, &err);
        if (!ev) {
            if (err) {
                g_propagate_error(error, err);
                ok = FALSE;
            }
            break;
        }
        if (to_text) {
            g_string_truncate(line, 0);
            trace_event_text(ev, line);
            g_string_append_c(line, '\n');
            if (fwrite(line->str, 1, line->len, f) != line->len) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", tmp, g_strerror(errno));
                ok = FALSE;
                break;
            }
        } else if (!trace_writer_add(w, ev, error)) {
            ok = FALSE;
            break;
        }
    }
    if (w && !trace_writer_finish(w, ok ? error : NULL)) {
        ok = FALSE;
    }
    if (fclose(f) != 0 && ok) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", tmp, g_strerror(errno));
        ok = FALSE;
    }
    if (ok && rename(tmp, out_path) != 0) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", out_path, g_strerror(errno));
        ok = FALSE;
    }
    if (!ok) {
        unlink(tmp);
    }
    g_string_free(line, TRUE);
    trace_reader_free(r);
    return ok;
}
