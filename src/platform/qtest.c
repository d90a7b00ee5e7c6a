/*
 * The qtest front end: QEMU's qtest line protocol over the simulated
 * machine (include/vtdsim/qtest.h).
 *
 * Answers are formatted exactly as QEMU 7.2's qtest.c formats them (for
 * example "inb"/"inl" answer "OK 0x%04x", every "readX" "OK 0x%016x",
 * "clock_step" "OK <ns>"), because tools/qtest_diff.py compares them byte for byte.
 * QEMU g_assert()s on malformed arguments and dies; we answer
 * "FAIL <what was wrong>" and keep the session (style rule 7).
 *
 * Time: QEMU's virtual clock counts nanoseconds; our clock counts
 * picoseconds, so clock_step N runs the event queue N*1000 ps forward and
 * reports the time in ns (rounded down).
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "vtdsim/qtest.h"
#include "platform/platform.h"
#include "core/parse.h"

#define LOG_PREFIX "qtest"
#include "core/log.h"

#define QTEST_MAX_BLOB (16u << 20)  /* largest read/write/memset, bytes */

struct VtdsimQtest {
    EmuSim *sim;
    Platform *p;
    VtdsimQtestSend *send;
    void *opaque;
    bool intercept;
};

static void q_send(VtdsimQtest *q, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void q_send(VtdsimQtest *q, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    q->send(q->opaque, s);
}

static void q_intx(void *opaque, unsigned gsi, bool level)
{
    VtdsimQtest *q = opaque;
    if (q->intercept) {
        q_send(q, "IRQ %s %u", level ? "raise" : "lower", gsi);
    }
}

VtdsimQtest *vtdsim_qtest_new(EmuSim *sim, VtdsimQtestSend *send, void *opaque)
{
    VtdsimQtest *q = g_new0(VtdsimQtest, 1);
    q->sim = sim;
    q->p = platform_get(sim);
    q->send = send;
    q->opaque = opaque;
    platform_set_intx_notify(q->p, q_intx, q);
    return q;
}

void vtdsim_qtest_free(VtdsimQtest *q)
{
    if (q) {
        platform_set_intx_notify(q->p, NULL, NULL);
        g_free(q);
    }
}

/* An unsigned number in C syntax, as qemu_strtou64 (base 0) takes it. */
static bool q_num(const char *s, uint64_t *out)
{
    return emu_parse_u64(s, EMU_PARSE_PLAIN, out);
}

/*
 * The answer stays what QEMU answers (the protocol has no error for it),
 * but the user learns on stderr which command hit nothing or was refused.
 */
static void q_report(const char *line, MemTxResult r)
{
    if (r != MEMTX_OK) {
        emu_guest_error("'%s': %s", line, memtx_result_str(r));
    }
}

static unsigned size_of(char c)
{
    switch (c) {
    case 'b': return 1;
    case 'w': return 2;
    case 'l': return 4;
    case 'q': return 8;
    default: return 0;
    }
}

static void q_run_until(VtdsimQtest *q, EmuTick t)
{
    emu_sim_run_until(q->sim, t);
}

static uint64_t now_ns(VtdsimQtest *q)
{
    return emu_sim_now(q->sim) / EMU_TICKS_PER_NS;
}

/* Arguments: checks the count and parses them; answers FAIL and returns false on error. */
static bool q_args(VtdsimQtest *q, gchar **w, unsigned n, uint64_t *v, const char *usage)
{
    for (unsigned i = 1; i <= n; i++) {
        if (!w[i]) {
            q_send(q, "FAIL missing argument: usage: %s", usage);
            return false;
        }
        if (v && !q_num(w[i], &v[i - 1])) {
            q_send(q, "FAIL '%s' is not a number: usage: %s", w[i], usage);
            return false;
        }
    }
    return true;
}

static bool q_len_ok(VtdsimQtest *q, uint64_t len)
{
    if (len > QTEST_MAX_BLOB) {
        q_send(q, "FAIL size %" G_GUINT64_FORMAT " too large (at most %u bytes)", (guint64)len,
               QTEST_MAX_BLOB);
        return false;
    }
    return true;
}

static int hexnib(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    c = (char)g_ascii_tolower(c);
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return 0;  /* QEMU's hex2nib also maps junk to 0 */
}

void vtdsim_qtest_command(VtdsimQtest *q, const char *line)
{
    g_autofree char *copy = g_strstrip(g_strdup(line));
    g_auto(GStrv) w = g_strsplit_set(copy, " \t", -1);
    /* collapse empty words from repeated blanks */
    unsigned n = 0;
    for (unsigned i = 0; w[i]; i++) {
        if (*w[i]) {
            w[n++] = w[i];
        } else {
            g_free(w[i]);
        }
    }
    w[n] = NULL;
    if (n == 0) {
        q_send(q, "FAIL Unknown command ''");
        return;
    }
    const char *cmd = w[0];
    uint64_t a[3];

    if (!strcmp(cmd, "outb") || !strcmp(cmd, "outw") || !strcmp(cmd, "outl")) {
        if (!q_args(q, w, 2, a, "outX PORT VALUE")) {
            return;
        }
        if (a[0] > 0xffff) {
            q_send(q, "FAIL port 0x%" G_GINT64_MODIFIER "x beyond 0xffff", (guint64)a[0]);
            return;
        }
        q_report(line, addr_space_write(q->p->io, a[0], size_of(cmd[3]), a[1]));
        q_send(q, "OK");
    } else if (!strcmp(cmd, "inb") || !strcmp(cmd, "inw") || !strcmp(cmd, "inl")) {
        if (!q_args(q, w, 1, a, "inX PORT")) {
            return;
        }
        if (a[0] > 0xffff) {
            q_send(q, "FAIL port 0x%" G_GINT64_MODIFIER "x beyond 0xffff", (guint64)a[0]);
            return;
        }
        uint64_t v;
        q_report(line, addr_space_read(q->p->io, a[0], size_of(cmd[2]), &v));
        q_send(q, "OK 0x%04x", (unsigned)v);
    } else if (!strcmp(cmd, "writeb") || !strcmp(cmd, "writew") || !strcmp(cmd, "writel") ||
               !strcmp(cmd, "writeq")) {
        if (!q_args(q, w, 2, a, "writeX ADDR VALUE")) {
            return;
        }
        q_report(line, addr_space_write(q->p->mem, a[0], size_of(cmd[5]), a[1]));
        q_send(q, "OK");
    } else if (!strcmp(cmd, "readb") || !strcmp(cmd, "readw") || !strcmp(cmd, "readl") ||
               !strcmp(cmd, "readq")) {
        if (!q_args(q, w, 1, a, "readX ADDR")) {
            return;
        }
        uint64_t v;
        unsigned size = size_of(cmd[4]);
        q_report(line, addr_space_read(q->p->mem, a[0], size, &v));
        /* QEMU 7.2 prints every read size as 16 hex digits */
        q_send(q, "OK 0x%016" G_GINT64_MODIFIER "x", (guint64)v);
    } else if (!strcmp(cmd, "read") || !strcmp(cmd, "b64read")) {
        if (!q_args(q, w, 2, a, "read ADDR SIZE") || !q_len_ok(q, a[1])) {
            return;
        }
        g_autofree uint8_t *data = g_malloc0(a[1] ? a[1] : 1);
        q_report(line, addr_space_rw(q->p->mem, a[0], data, a[1], false));
        if (cmd[0] == 'b') {
            g_autofree char *enc = g_base64_encode(data, a[1]);
            q_send(q, "OK %s", enc);
        } else {
            GString *s = g_string_sized_new(2 * a[1] + 8);
            g_string_append(s, "OK 0x");
            for (uint64_t i = 0; i < a[1]; i++) {
                g_string_append_printf(s, "%02x", data[i]);
            }
            q->send(q->opaque, s->str);
            g_string_free(s, TRUE);
        }
    } else if (!strcmp(cmd, "write")) {
        if (!q_args(q, w, 2, a, "write ADDR SIZE 0xDATA") || !q_len_ok(q, a[1])) {
            return;
        }
        if (!w[3]) {
            q_send(q, "FAIL missing argument: usage: write ADDR SIZE 0xDATA");
            return;
        }
        size_t dlen = strlen(w[3]);
        if (dlen < 3) {
            q_send(q, "ERR invalid argument size");
            return;
        }
        g_autofree uint8_t *data = g_malloc0(a[1] ? a[1] : 1);
        for (uint64_t i = 0; i < a[1]; i++) {
            if (i * 2 + 4 <= dlen) {
                data[i] = (uint8_t)(hexnib(w[3][i * 2 + 2]) << 4 | hexnib(w[3][i * 2 + 3]));
            }
        }
        q_report(line, addr_space_rw(q->p->mem, a[0], data, a[1], true));
        q_send(q, "OK");
    } else if (!strcmp(cmd, "b64write")) {
        if (!q_args(q, w, 2, a, "b64write ADDR SIZE BASE64") || !q_len_ok(q, a[1])) {
            return;
        }
        if (!w[3]) {
            q_send(q, "FAIL missing argument: usage: b64write ADDR SIZE BASE64");
            return;
        }
        gsize out_len;
        g_autofree guchar *data = g_base64_decode(w[3], &out_len);
        /* QEMU logs a length mismatch and writes what it has, up to SIZE */
        q_report(line, addr_space_rw(q->p->mem, a[0], data, MIN(out_len, a[1]), true));
        q_send(q, "OK");
    } else if (!strcmp(cmd, "memset")) {
        if (!q_args(q, w, 3, a, "memset ADDR SIZE VALUE") || !q_len_ok(q, a[1])) {
            return;
        }
        g_autofree uint8_t *data = g_malloc(a[1] ? a[1] : 1);
        memset(data, (int)(a[2] & 0xff), a[1]);
        q_report(line, addr_space_rw(q->p->mem, a[0], data, a[1], true));
        q_send(q, "OK");
    } else if (!strcmp(cmd, "clock_step")) {
        EmuTick target;
        if (w[1]) {
            if (!q_num(w[1], &a[0])) {
                q_send(q, "FAIL '%s' is not a number: usage: clock_step [NS]", w[1]);
                return;
            }
            if (a[0] > (EMU_TICK_MAX - emu_sim_now(q->sim)) / EMU_TICKS_PER_NS) {
                q_send(q, "FAIL clock_step %s overflows the 64-bit picosecond clock", w[1]);
                return;
            }
            target = emu_sim_now(q->sim) + a[0] * EMU_TICKS_PER_NS;
        } else {
            /* to the next deadline, as QEMU does; nothing pending: no change */
            target = emu_sim_next_deadline(q->sim);
            if (target == EMU_TICK_MAX) {
                target = emu_sim_now(q->sim);
            }
        }
        q_run_until(q, target);
        q_send(q, "OK %" G_GINT64_FORMAT, (gint64)now_ns(q));
    } else if (!strcmp(cmd, "clock_set")) {
        if (!q_args(q, w, 1, a, "clock_set NS")) {
            return;
        }
        if (a[0] > EMU_TICK_MAX / EMU_TICKS_PER_NS) {
            q_send(q, "FAIL clock_set %s overflows the 64-bit picosecond clock", w[1]);
            return;
        }
        /* QEMU never moves the clock backwards: a time in the past is a no-op */
        if (a[0] * EMU_TICKS_PER_NS > emu_sim_now(q->sim)) {
            q_run_until(q, a[0] * EMU_TICKS_PER_NS);
        }
        q_send(q, "OK %" G_GINT64_FORMAT, (gint64)now_ns(q));
    } else if (!strcmp(cmd, "irq_log")) {
        /*
         * vtdsim extension (QEMU has no equivalent): the local-APIC side of
         * interrupt delivery.  "irq_log [N]" sends the last N delivered
         * interrupts (default 16) as "IRQ-LOG ..." lines, then "OK <total>".
         */
        uint64_t count = 16;
        if (w[1] && !q_num(w[1], &count)) {
            q_send(q, "FAIL '%s' is not a number: usage: irq_log [N]", w[1]);
            return;
        }
        const GArray *log = platform_irq_log(q->p);
        guint first = log->len > count ? log->len - (guint)count : 0;
        GString *s = g_string_new(NULL);
        for (guint i = first; i < log->len; i++) {
            g_string_truncate(s, 0);
            g_string_append(s, "IRQ-LOG ");
            platform_irq_format(&g_array_index(log, PlatformIrq, i), s);
            if (s->len && s->str[s->len - 1] == '\n') {
                g_string_truncate(s, s->len - 1);
            }
            q->send(q->opaque, s->str);
        }
        g_string_free(s, TRUE);
        q_send(q, "OK %" G_GUINT64_FORMAT, (guint64)platform_irq_count(q->p));
    } else if (!strcmp(cmd, "endianness")) {
        q_send(q, "OK little");
    } else if (!strcmp(cmd, "irq_intercept_in") || !strcmp(cmd, "irq_intercept_out")) {
        if (!w[1]) {
            q_send(q, "FAIL missing argument: usage: %s QOM-PATH", cmd);
            return;
        }
        if (!g_str_has_suffix(w[1], "ioapic")) {
            q_send(q, "FAIL Unknown device");
            return;
        }
        q->intercept = true;
        q_send(q, "OK");
    } else {
        q_send(q, "FAIL Unknown command '%s'", cmd);
    }
}

int vtdsim_qtest_serve_fd(VtdsimQtest *q, int in_fd)
{
    GString *buf = g_string_new(NULL);
    char chunk[65536];
    int rc = 0;
    for (;;) {
        ssize_t n = read(in_fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            rc = -1;
            break;
        }
        if (n == 0) {
            break;
        }
        g_string_append_len(buf, chunk, n);
        char *nl;
        while ((nl = memchr(buf->str, '\n', buf->len))) {
            *nl = 0;
            if (nl > buf->str && nl[-1] == '\r') {
                nl[-1] = 0;
            }
            vtdsim_qtest_command(q, buf->str);
            g_string_erase(buf, 0, nl - buf->str + 1);
        }
    }
    if (rc == 0 && buf->len) {
        vtdsim_qtest_command(q, buf->str);  /* last line without a newline */
    }
    g_string_free(buf, TRUE);
    return rc;
}
