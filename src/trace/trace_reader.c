/*
 * Reading traces, text and binary; see trace.h.
 *
 * Text lines are tokenised in place: the line buffer is reused for every
 * line and the words point into it, so reading a trace allocates nothing
 * per line once the buffers have grown to the longest line.  That keeps the
 * reader close to the cost of merely scanning the bytes, which is the floor
 * `make bench` compares replay against.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include "trace/trace.h"
#include "trace/trace_internal.h"
#include "core/error.h"
#include "core/parse.h"

typedef struct Source {
    FILE *f;
    char *path;
    char *dir;
    unsigned line;        /* text: line number; binary: record number */
    bool binary;
    bool header_seen;
    uint64_t size;
    /* binary decoding state */
    GPtrArray *names;     /* interned device names by id */
    uint64_t last_addr;
} Source;

struct TraceReader {
    GPtrArray *stack;     /* Source *, top = current file */
    GHashTable *interned; /* device names (keys own the strings) */
    char *buf;
    size_t cap;
    GPtrArray *words;     /* char * into buf, NULL-terminated for the event */
    GString *scratch;     /* binary text records */
    GString *tt;          /* binary time-stamp strings */
    const char *last_name;/* the last interned device name */
    TraceEvent ev;
    char *time_text;
    uint64_t top_done;
};

G_GNUC_PRINTF(4, 5)
static void fail(GError **error, const Source *s, unsigned line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *m = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s:%u: %s", s->path, line, m);
}

static void source_free(gpointer p)
{
    Source *s = p;
    if (s->f) {
        fclose(s->f);
    }
    if (s->names) {
        g_ptr_array_free(s->names, TRUE);
    }
    g_free(s->path);
    g_free(s->dir);
    g_free(s);
}

static Source *source_open(const char *path, GError **error, const Source *from, unsigned from_line)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (from) {
            fail(error, from, from_line, "include \"%s\": %s", path, g_strerror(errno));
        } else {
            g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", path, g_strerror(errno));
        }
        return NULL;
    }
    Source *s = g_new0(Source, 1);
    s->f = f;
    s->path = g_strdup(path);
    s->dir = g_path_get_dirname(path);
    struct stat st;
    if (fstat(fileno(f), &st) == 0) {
        s->size = (uint64_t)st.st_size;
    }
    char magic[8];
    size_t n = fread(magic, 1, sizeof magic, f);
    if (n == 8 && !memcmp(magic, TRACE_BIN_MAGIC, 8)) {
        s->binary = true;
        s->names = g_ptr_array_new();   /* borrowed interned strings */
    } else {
        rewind(f);
    }
    return s;
}

TraceReader *trace_reader_open(const char *path, GError **error)
{
    Source *s = source_open(path, error, NULL, 0);
    if (!s) {
        return NULL;
    }
    TraceReader *r = g_new0(TraceReader, 1);
    r->stack = g_ptr_array_new_with_free_func(source_free);
    g_ptr_array_add(r->stack, s);
    r->interned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    r->words = g_ptr_array_new();
    r->scratch = g_string_new(NULL);
    r->tt = g_string_new(NULL);
    return r;
}

void trace_reader_free(TraceReader *r)
{
    if (!r) {
        return;
    }
    g_ptr_array_free(r->stack, TRUE);
    g_hash_table_destroy(r->interned);
    g_ptr_array_free(r->words, TRUE);
    g_string_free(r->scratch, TRUE);
    g_string_free(r->tt, TRUE);
    g_free(r->buf);
    g_free(r->time_text);
    g_free(r);
}

bool trace_reader_is_binary(const TraceReader *r)
{
    const Source *s = g_ptr_array_index(r->stack, 0);
    return s->binary;
}

void trace_reader_progress(const TraceReader *r, uint64_t *done, uint64_t *total)
{
    const Source *s = g_ptr_array_index(r->stack, 0);
    long pos = s->f ? ftell(s->f) : 0;
    *done = pos > 0 ? (uint64_t)pos : r->top_done;
    *total = s->size;
}

const char *trace_reader_dir(const TraceReader *r)
{
    const Source *s = g_ptr_array_index(r->stack, r->stack->len - 1);
    return s->dir;
}

const char *trace_intern(GHashTable *h, const char *name)
{
    char *k = g_hash_table_lookup(h, name);
    if (!k) {
        k = g_strdup(name);
        g_hash_table_insert(h, k, k);
    }
    return k;
}

/* ---- numbers and time stamps --------------------------------------------- */

gboolean trace_parse_u64(const char *s, uint64_t *out)
{
    return emu_parse_u64(s, EMU_PARSE_BINARY | EMU_PARSE_SUFFIX, out);
}

gboolean trace_parse_time(const char *s, EmuTick *t, bool *relative)
{
    if (*s != '@') {
        return FALSE;
    }
    s++;
    *relative = *s == '+';
    if (*relative) {
        s++;
    }
    if (!g_ascii_isdigit(*s)) {
        return FALSE;
    }
    /* integer and fraction parsed exactly (no floating point: times must be exact) */
    uint64_t ip = 0, frac = 0, fscale = 1;
    while (g_ascii_isdigit(*s)) {
        if (ip > (UINT64_MAX - 9) / 10) {
            return FALSE;
        }
        ip = ip * 10 + (uint64_t)(*s++ - '0');
    }
    if (*s == '.') {
        s++;
        if (!g_ascii_isdigit(*s)) {
            return FALSE;
        }
        while (g_ascii_isdigit(*s)) {
            if (fscale >= 1000000000000ull) {
                return FALSE;   /* finer than a picosecond of a second */
            }
            frac = frac * 10 + (uint64_t)(*s++ - '0');
            fscale *= 10;
        }
    }
    uint64_t unit;
    if (!strcmp(s, "ps")) {
        unit = 1;
    } else if (!strcmp(s, "ns")) {
        unit = EMU_TICKS_PER_NS;
    } else if (!strcmp(s, "us")) {
        unit = EMU_TICKS_PER_US;
    } else if (!strcmp(s, "ms")) {
        unit = EMU_TICKS_PER_MS;
    } else if (!strcmp(s, "s")) {
        unit = 1000 * EMU_TICKS_PER_MS;
    } else {
        return FALSE;
    }
    if (ip > UINT64_MAX / unit) {
        return FALSE;
    }
    uint64_t v = ip * unit;
    if (frac) {
        if (unit % fscale) {
            return FALSE;   /* a fraction of a picosecond */
        }
        v += frac * (unit / fscale);
    }
    *t = v;
    return TRUE;
}

/* ---- text ---------------------------------------------------------------- */

/* Reads one line into r->buf (without the newline); FALSE at end of file. */
static bool read_line(TraceReader *r, Source *s, GError **error, bool *too_long)
{
    *too_long = false;
    size_t len = 0;
    for (;;) {
        if (len + 2 > r->cap) {
            if (r->cap >= TRACE_MAX_LINE) {
                *too_long = true;
                /* skip the rest of the line so the reader stays in sync */
                int c;
                while ((c = getc(s->f)) != EOF && c != '\n') {
                }
                return true;
            }
            r->cap = r->cap ? r->cap * 2 : 256;
            r->buf = g_realloc(r->buf, r->cap);
        }
        if (!fgets(r->buf + len, (int)(r->cap - len), s->f)) {
            if (ferror(s->f)) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", s->path, g_strerror(errno));
            }
            if (len == 0) {
                return false;
            }
            break;
        }
        len += strlen(r->buf + len);
        if (len && r->buf[len - 1] == '\n') {
            r->buf[--len] = 0;
            if (len && r->buf[len - 1] == '\r') {
                r->buf[--len] = 0;
            }
            break;
        }
    }
    return true;
}

/* Splits @p (modified in place) into words; returns FALSE on an unterminated quote. */
static bool tokenize(TraceReader *r, char *p, char **comment)
{
    g_ptr_array_set_size(r->words, 0);
    *comment = NULL;
    for (;;) {
        while (*p == ' ' || *p == '\t') {
            p++;
        }
        if (!*p) {
            break;
        }
        if (*p == '#') {
            *comment = p + 1;
            break;
        }
        if (*p == '"') {
            char *w = ++p, *o = p;
            while (*p && *p != '"') {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\')) {
                    p++;
                }
                *o++ = *p++;
            }
            if (*p != '"') {
                return false;
            }
            p++;
            *o = 0;
            g_ptr_array_add(r->words, w);
            if (*p && *p != ' ' && *p != '\t' && *p != '#') {
                return false;
            }
            if (*p == '#') {
                *comment = p + 1;
                break;
            }
            if (*p) {
                p++;
            }
            continue;
        }
        char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '#') {
            p++;
        }
        bool end = !*p, hash = *p == '#';
        *p = 0;
        g_ptr_array_add(r->words, w);
        if (hash) {
            *comment = p + 1;
            break;
        }
        if (end) {
            break;
        }
        p++;
    }
    g_ptr_array_add(r->words, NULL);
    return true;
}

/*
 * Recognises the hot-path DMA form: "dma read|write DEV ADDR LEN" with only
 * pasid=/priv/exec/at=/via= options (no data, no pattern).
 */
static void classify_dma(TraceReader *r, TraceEvent *ev)
{
    char **w = ev->words;
    if (ev->nwords < 5 || strcmp(w[0], "dma") || (strcmp(w[1], "read") && strcmp(w[1], "write"))) {
        return;
    }
    uint64_t addr, len;
    if (!trace_parse_u64(w[3], &addr) || !trace_parse_u64(w[4], &len) || len == 0 ||
        len > UINT32_MAX) {
        return;
    }
    unsigned flags = w[1][0] == 'w' ? TRACE_DMA_WRITE : 0;
    uint64_t pasid = 0;
    for (unsigned i = 5; i < ev->nwords; i++) {
        if (!strcmp(w[i], "priv")) {
            flags |= TRACE_DMA_PRIV;
        } else if (!strcmp(w[i], "exec")) {
            flags |= TRACE_DMA_EXEC;
        } else if (!strcmp(w[i], "at=translated")) {
            flags |= TRACE_DMA_TRANSLATED;
        } else if (!strcmp(w[i], "at=untranslated")) {
        } else if (!strcmp(w[i], "via=ats")) {
            flags |= TRACE_DMA_VIA_ATS;
        } else if (!strncmp(w[i], "pasid=", 6) && trace_parse_u64(w[i] + 6, &pasid) &&
                   pasid < (1u << 20)) {
            flags |= TRACE_DMA_PASID;
        } else {
            return;   /* data=, pattern= or something the replayer will judge */
        }
    }
    ev->kind = TRACE_EV_DMA;
    /* streams name the same device line after line: skip the hash lookup then */
    if (!r->last_name || strcmp(r->last_name, w[2])) {
        r->last_name = trace_intern(r->interned, w[2]);
    }
    ev->dma_device = r->last_name;
    ev->dma_addr = addr;
    ev->dma_len = (uint32_t)len;
    ev->dma_pasid = (uint32_t)pasid;
    ev->dma_flags = flags;
}

/* Fills r->ev from the words of a text line (or binary text record) in @p. */
static const TraceEvent *event_from_text(TraceReader *r, Source *s, char *p, bool keep_blank,
                                         GError **error)
{
    TraceEvent *ev = &r->ev;
    char *comment;
    if (!tokenize(r, p, &comment)) {
        fail(error, s, s->line, "unterminated or misplaced double quote");
        return NULL;
    }
    memset(ev, 0, sizeof *ev);
    ev->file = s->path;
    ev->line = s->line;
    ev->words = (char **)r->words->pdata;
    ev->nwords = r->words->len - 1;
    ev->comment = comment;
    if (ev->nwords == 0) {
        ev->kind = TRACE_EV_BLANK;
        return keep_blank ? ev : NULL;
    }
    if (ev->words[0][0] == '@') {
        bool rel;
        if (!trace_parse_time(ev->words[0], &ev->time, &rel)) {
            fail(error, s, s->line,
                 "'%s' is not a time stamp (e.g. @120ns, @1.5us, @+40ns; units ps ns us ms s)",
                 ev->words[0]);
            return NULL;
        }
        ev->has_time = true;
        ev->time_relative = rel;
        g_free(r->time_text);
        r->time_text = g_strdup(ev->words[0]);
        ev->time_text = r->time_text;
        ev->words++;
        ev->nwords--;
        if (ev->nwords == 0) {
            fail(error, s, s->line, "a time stamp needs an event after it");
            return NULL;
        }
    }
    classify_dma(r, ev);
    return ev;
}

/* ---- binary ---------------------------------------------------------------- */

static bool get_varint(Source *s, uint64_t *v)
{
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 64; shift += 7) {
        int c = getc_unlocked(s->f);   /* one thread reads a source: no per-byte lock */
        if (c == EOF) {
            return false;
        }
        x |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            *v = x;
            return true;
        }
    }
    return false;
}

static bool get_string(TraceReader *r, Source *s, GString *out)
{
    uint64_t n;
    if (!get_varint(s, &n) || n > TRACE_MAX_LINE) {
        return false;
    }
    g_string_set_size(out, (gsize)n);
    (void)r;
    return fread(out->str, 1, (size_t)n, s->f) == n;
}

static const TraceEvent *binary_next(TraceReader *r, Source *s, bool keep_blank, bool *eof,
                                     GError **error)
{
    for (;;) {
        int op = getc_unlocked(s->f);
        if (op == EOF) {
            *eof = true;
            return NULL;
        }
        s->line++;
        TraceEvent *ev = &r->ev;
        memset(ev, 0, sizeof *ev);
        ev->file = s->path;
        ev->line = s->line;
        bool has_time = op & TRACE_BIN_HAS_TIME;
        bool rel = op & TRACE_BIN_RELATIVE;
        unsigned type = (unsigned)op & TRACE_BIN_TYPE_MASK;
        GString *tt = r->tt;
        if (has_time && !get_string(r, s, tt)) {
            fail(error, s, s->line, "truncated time stamp in binary record");
            return NULL;
        }
        switch (type) {
        case TRACE_BIN_NAME: {
            uint64_t id;
            if (!get_varint(s, &id) || !get_string(r, s, r->scratch) || id != s->names->len) {
                fail(error, s, s->line, "malformed device-name record");
                return NULL;
            }
            /* the interned copy: stable for the reader's lifetime, usable as a key */
            g_ptr_array_add(s->names, (gpointer)trace_intern(r->interned, r->scratch->str));
                        s->line--;   /* name records are not events */
            continue;
        }
        case TRACE_BIN_TEXT:
        case TRACE_BIN_BLANK: {
            if (!get_string(r, s, r->scratch)) {
                fail(error, s, s->line, "truncated text record");
                return NULL;
            }
            if (type == TRACE_BIN_BLANK) {
                g_string_prepend(r->scratch, r->scratch->len ? "#" : "");
            }
            if (has_time) {
                g_string_prepend_c(r->scratch, ' ');
                g_string_prepend(r->scratch, tt->str);
            }
                        /* the record's own line for messages */
            const TraceEvent *e = event_from_text(r, s, r->scratch->str, keep_blank, error);
            if (!e && error && *error) {
                return NULL;
            }
            if (!e) {
                continue;
            }
            return e;
        }
        case TRACE_BIN_DMA: {
            uint64_t dev, zz, len, flags, pasid = 0;
            if (!get_varint(s, &dev) || !get_varint(s, &zz) || !get_varint(s, &len) ||
                !get_varint(s, &flags) ||
                ((flags & TRACE_DMA_PASID) && !get_varint(s, &pasid)) ||
                dev >= s->names->len || len == 0 || len > UINT32_MAX || pasid >= (1u << 20)) {
                fail(error, s, s->line, "malformed DMA record");
                return NULL;
            }
            /* addresses are stored as zig-zag deltas from the previous DMA's */
            int64_t delta = (int64_t)(zz >> 1) ^ -(int64_t)(zz & 1);
            s->last_addr += (uint64_t)delta;
            ev->kind = TRACE_EV_DMA;
            ev->dma_device = g_ptr_array_index(s->names, dev);
            ev->dma_addr = s->last_addr;
            ev->dma_len = (uint32_t)len;
            ev->dma_flags = (unsigned)flags;
            ev->dma_pasid = (uint32_t)pasid;
            if (has_time) {
                ev->has_time = true;
                ev->time_relative = rel;
                g_free(r->time_text);
                r->time_text = g_strdup(tt->str);
                ev->time_text = r->time_text;
                if (!trace_parse_time(ev->time_text, &ev->time, &rel)) {
                    fail(error, s, s->line, "bad time stamp '%s' in binary record", ev->time_text);
                    return NULL;
                }
            }
            /*
             * No words are built for the hot path: consumers of DMA events use
             * the decoded fields (trace_event_text() spells them out).
             */
            static char *dma_word[] = { (char *)"dma", NULL };
            ev->words = dma_word;
            ev->nwords = 1;
            return ev;
        }
        default:
            fail(error, s, s->line, "unknown binary record type %u", type);
            return NULL;
        }
    }
}

/* ---- the event loop -------------------------------------------------------------- */

static bool header_check(Source *s, const TraceEvent *ev, GError **error)
{
    uint64_t v;
    if (ev->has_time || ev->nwords != 2 || strcmp(ev->words[0], "vtdsim-trace") ||
        !trace_parse_u64(ev->words[1], &v)) {
        fail(error, s, ev->line, "missing header: the first line of a trace must be '%s'",
             TRACE_HEADER);
        return false;
    }
    if (v != TRACE_VERSION) {
        fail(error, s, ev->line, "trace language version %" G_GUINT64_FORMAT
             " is not supported (this vtdsim reads version %d)", (guint64)v, TRACE_VERSION);
        return false;
    }
    return true;
}

const TraceEvent *trace_reader_next(TraceReader *r, bool keep_blank, bool raw_includes,
                                    GError **error)
{
    while (r->stack->len) {
        Source *s = g_ptr_array_index(r->stack, r->stack->len - 1);
        const TraceEvent *ev;
        if (s->binary) {
            bool eof = false;
            ev = binary_next(r, s, keep_blank, &eof, error);
            if (!ev && !eof) {
                return NULL;
            }
            if (eof) {
                goto pop;
            }
        } else {
            bool too_long;
            if (!read_line(r, s, error, &too_long)) {
                if (error && *error) {
                    return NULL;
                }
                goto pop;
            }
            s->line++;
            if (too_long) {
                fail(error, s, s->line, "line longer than %u bytes", TRACE_MAX_LINE);
                return NULL;
            }
            ev = event_from_text(r, s, r->buf, keep_blank, error);
            if (!ev) {
                if (error && *error) {
                    return NULL;
                }
                continue;
            }
            if (!s->header_seen && ev->kind != TRACE_EV_BLANK) {
                if (!header_check(s, ev, error)) {
                    return NULL;
                }
                s->header_seen = true;
                continue;
            }
        }
        if (ev->kind == TRACE_EV_WORDS && !strcmp(ev->words[0], "include") && !raw_includes) {
            if (ev->nwords != 2 || ev->has_time) {
                fail(error, s, ev->line, "usage: include \"FILE\"");
                return NULL;
            }
            if (r->stack->len >= TRACE_MAX_INCLUDE_DEPTH) {
                fail(error, s, ev->line, "includes nested deeper than %d (a cycle?)",
                     TRACE_MAX_INCLUDE_DEPTH);
                return NULL;
            }
            g_autofree char *path = g_path_is_absolute(ev->words[1])
                                        ? g_strdup(ev->words[1])
                                        : g_build_filename(s->dir, ev->words[1], NULL);
            for (guint i = 0; i < r->stack->len; i++) {
                Source *o = g_ptr_array_index(r->stack, i);
                if (!strcmp(o->path, path)) {
                    fail(error, s, ev->line, "include cycle: \"%s\" is already being read", path);
                    return NULL;
                }
            }
            unsigned line = ev->line;
            Source *n = source_open(path, error, s, line);
            if (!n) {
                return NULL;
            }
            g_ptr_array_add(r->stack, n);
            continue;
        }
        return ev;
    pop:
        if (!s->binary && !s->header_seen) {
            fail(error, s, s->line ? s->line : 1, "missing header: the file has no '%s' line",
                 TRACE_HEADER);
            return NULL;
        }
        if (r->stack->len == 1) {
            r->top_done = s->size;
            return NULL;
        }
        g_ptr_array_remove_index(r->stack, r->stack->len - 1);
    }
    return NULL;
}

/* ---- canonical text ------------------------------------------------------------- */

static bool needs_quotes(const char *w)
{
    if (!*w) {
        return true;
    }
    for (const char *p = w; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '#' || *p == '"') {
            return true;
        }
    }
    return false;
}

void trace_event_text(const TraceEvent *ev, GString *out)
{
    bool first = true;
    if (ev->kind == TRACE_EV_DMA && !ev->comment) {
        /* the hot-path form has one canonical spelling, which the binary form keeps */
        GString *w = g_string_new(NULL);
        trace_dma_words(w, ev);
        if (ev->has_time) {
            g_string_append(out, ev->time_text);
            g_string_append_c(out, ' ');
        }
        g_string_append(out, w->str);
        g_string_free(w, TRUE);
        return;
    }
    if (ev->has_time) {
        g_string_append(out, ev->time_text);
        first = false;
    }
    for (unsigned i = 0; i < ev->nwords; i++) {
        if (!first) {
            g_string_append_c(out, ' ');
        }
        first = false;
        const char *w = ev->words[i];
        if (needs_quotes(w)) {
            g_string_append_c(out, '"');
            for (const char *p = w; *p; p++) {
                if (*p == '"' || *p == '\\') {
                    g_string_append_c(out, '\\');
                }
                g_string_append_c(out, *p);
            }
            g_string_append_c(out, '"');
        } else {
            g_string_append(out, w);
        }
    }
    if (ev->comment) {
        g_string_append(out, first ? "#" : " #");
        g_string_append(out, ev->comment);
    }
}

void trace_dma_words(GString *out, const TraceEvent *ev)
{
    g_string_truncate(out, 0);
    g_string_append_printf(out, "dma %s %s 0x%" G_GINT64_MODIFIER "x %u",
                           (ev->dma_flags & TRACE_DMA_WRITE) ? "write" : "read", ev->dma_device,
                           (guint64)ev->dma_addr, ev->dma_len);
    if (ev->dma_flags & TRACE_DMA_PASID) {
        g_string_append_printf(out, " pasid=%u", ev->dma_pasid);
    }
    if (ev->dma_flags & TRACE_DMA_PRIV) {
        g_string_append(out, " priv");
    }
    if (ev->dma_flags & TRACE_DMA_EXEC) {
        g_string_append(out, " exec");
    }
    if (ev->dma_flags & TRACE_DMA_TRANSLATED) {
        g_string_append(out, " at=translated");
    }
    if (ev->dma_flags & TRACE_DMA_VIA_ATS) {
        g_string_append(out, " via=ats");
    }
}
