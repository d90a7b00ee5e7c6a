/*
 * The vtdsim command-line program.
 *
 *   vtdsim qtest [--platform FILE] [--socket PATH]   QEMU's qtest protocol
 *   vtdsim lspci [--platform FILE] [-t] [-v|-vv] [-n] the platform as lspci shows it
 *   vtdsim groups [--platform FILE]                  IOMMU groups
 *   vtdsim demo [--platform FILE] [SCRIPT]           the bundled walk-through
 *   vtdsim platform                                  print the built-in platform file
 *
 * Every subcommand builds its machine from --platform FILE or from the
 * built-in q35 platform.  Errors are one line on stderr naming the file
 * and line (or the option), and exit status 2; a subcommand that ran but
 * found a problem (a qtest answer that did not match in the demo) exits 1.
 */
#include "config.h"
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "vtdsim/platform.h"
#include "vtdsim/qtest.h"
#include "cli/commands.h"

static int verbose;

static void log_handler(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data)
{
    (void)domain;
    (void)data;
    if ((level & (G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG)) && !verbose) {
        return;
    }
    fprintf(stderr, "vtdsim: %s\n", msg);
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: vtdsim COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  qtest [--platform FILE] [--socket PATH]  serve QEMU's qtest protocol on stdin/stdout\n"
            "                                           (or on a UNIX socket)\n"
            "  lspci [--platform FILE] [-t] [-v] [-vv] [-n]\n"
            "                                           list PCI functions as lspci does\n"
            "  groups [--platform FILE]                 print the IOMMU groups\n"
            "  demo [--platform FILE] [SCRIPT.qtest]    run the bundled walk-through (edu DMA\n"
            "                                           through VT-d, then a fault)\n"
            "  platform                                 print the built-in q35 platform file\n"
            "  walk [--platform FILE | --trace TRACE] [--script SETUP.qtest] --rid BB:DD.F|NAME [--pasid N]\n"
            "       [--priv] [--exec] [--write] [--ats] --addr ADDR [--data N]\n"
            "       [--format text|json|dot|svg]\n"
            "                                           explain a request step by step\n"
            "  dump [--platform FILE | --trace TRACE] [--script SETUP.qtest] [--list] [FILE...]\n"
            "                                           Linux debugfs intel-iommu files\n"
            "  replay [--log] [--json] [--quiet] TRACE...  replay DMA traces, check their expectations\n"
            "  trace convert IN OUT                     convert a trace between text and binary\n"
            "  trace import [-o OUT] INPUT              Linux ftrace / kernel log -> trace + platform\n"
            "  bench --experiment NAME|all [--profile NAME] [--config FILE] [--svg FILE]\n"
            "                                           timing calibration against published figures\n"
            "  campaign inject TRACE [--inject 'CLASS ...'] | plan INI -o DIR | run DIR [-j N]\n"
            "         | run-shard SHARD | merge DIR     fault injection and campaigns\n"
            "\n"
            "common options: -v/--verbose (device info messages on stderr), --help, --version\n");
}

typedef struct Opts {
    const char *platform;
    const char *socket;
    unsigned lspci_flags;
    const char *arg;
} Opts;

static int parse_opts(int argc, char **argv, Opts *o, bool allow_lspci, bool allow_socket,
                      bool allow_arg)
{
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--platform") || !strcmp(a, "-p")) {
            if (++i >= argc) {
                fprintf(stderr, "vtdsim: %s needs a file name\n", a);
                return -1;
            }
            o->platform = argv[i];
        } else if (g_str_has_prefix(a, "--platform=")) {
            o->platform = a + strlen("--platform=");
        } else if (allow_socket && !strcmp(a, "--socket")) {
            if (++i >= argc) {
                fprintf(stderr, "vtdsim: --socket needs a path\n");
                return -1;
            }
            o->socket = argv[i];
        } else if (allow_lspci && !strcmp(a, "-t")) {
            o->lspci_flags |= VTDSIM_LSPCI_TREE;
        } else if (allow_lspci && !strcmp(a, "-vv")) {
            o->lspci_flags |= VTDSIM_LSPCI_VERBOSE | VTDSIM_LSPCI_VVERBOSE;
        } else if (allow_lspci && !strcmp(a, "-n")) {
            o->lspci_flags |= VTDSIM_LSPCI_NUMERIC;
        } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
            if (allow_lspci) {
                o->lspci_flags |= VTDSIM_LSPCI_VERBOSE;
            } else {
                verbose = 1;
            }
        } else if (allow_arg && a[0] != '-' && !o->arg) {
            o->arg = a;
        } else {
            fprintf(stderr, "vtdsim %s: unknown option or extra argument '%s' (see vtdsim --help)\n",
                    argv[1], a);
            return -1;
        }
    }
    return 0;
}

static EmuSim *load(const Opts *o)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(o->platform, &err);
    if (!sim) {
        fprintf(stderr, "vtdsim: %s\n", err->message);
        g_error_free(err);
    }
    return sim;
}

static void send_stdout(void *opaque, const char *line)
{
    FILE *f = opaque;
    fputs(line, f);
    fputc('\n', f);
    fflush(f);
}

static int cmd_qtest(int argc, char **argv)
{
    Opts o = { 0 };
    if (parse_opts(argc, argv, &o, false, true, false) < 0) {
        return 2;
    }
    EmuSim *sim = load(&o);
    if (!sim) {
        return 2;
    }
    int rc = 0;
    if (o.socket) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (strlen(o.socket) >= sizeof sa.sun_path) {
            fprintf(stderr, "vtdsim: --socket %s: path too long\n", o.socket);
            emu_sim_free(sim);
            return 2;
        }
        strcpy(sa.sun_path, o.socket);
        int ls = socket(AF_UNIX, SOCK_STREAM, 0);
        unlink(o.socket);
        if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(ls, 1) < 0) {
            fprintf(stderr, "vtdsim: --socket %s: %s\n", o.socket, g_strerror(errno));
            emu_sim_free(sim);
            return 2;
        }
        int c = accept(ls, NULL, NULL);
        close(ls);
        unlink(o.socket);
        FILE *out = c >= 0 ? fdopen(dup(c), "w") : NULL;
        if (!out) {
            fprintf(stderr, "vtdsim: --socket %s: %s\n", o.socket, g_strerror(errno));
            emu_sim_free(sim);
            return 2;
        }
        VtdsimQtest *q = vtdsim_qtest_new(sim, send_stdout, out);
        if (vtdsim_qtest_serve_fd(q, c) < 0) {
            fprintf(stderr, "vtdsim: --socket %s: read: %s\n", o.socket, g_strerror(errno));
            rc = 2;
        }
        vtdsim_qtest_free(q);
        fclose(out);
        close(c);
    } else {
        VtdsimQtest *q = vtdsim_qtest_new(sim, send_stdout, stdout);
        if (vtdsim_qtest_serve_fd(q, STDIN_FILENO) < 0) {
            fprintf(stderr, "vtdsim: stdin: %s\n", g_strerror(errno));
            rc = 2;
        }
        vtdsim_qtest_free(q);
    }
    emu_sim_free(sim);
    return rc;
}

static int cmd_lspci(int argc, char **argv)
{
    Opts o = { 0 };
    if (parse_opts(argc, argv, &o, true, false, false) < 0) {
        return 2;
    }
    EmuSim *sim = load(&o);
    if (!sim) {
        return 2;
    }
    GString *s = g_string_new(NULL);
    vtdsim_lspci(sim, o.lspci_flags, s);
    fputs(s->str, stdout);
    g_string_free(s, TRUE);
    emu_sim_free(sim);
    return 0;
}

static int cmd_groups(int argc, char **argv)
{
    Opts o = { 0 };
    if (parse_opts(argc, argv, &o, false, false, false) < 0) {
        return 2;
    }
    EmuSim *sim = load(&o);
    if (!sim) {
        return 2;
    }
    GString *s = g_string_new(NULL);
    vtdsim_groups(sim, s);
    fputs(s->str, stdout);
    g_string_free(s, TRUE);
    emu_sim_free(sim);
    return 0;
}

typedef struct DemoState {
    char *last;
} DemoState;

static void demo_send(void *opaque, const char *line)
{
    DemoState *d = opaque;
    g_free(d->last);
    d->last = g_strdup(line);
}

/*
 * The demo: a qtest script whose comments explain each step; every
 * command is shown with vtdsim's answer, and a line "#= ANSWER" after a
 * command states the expected answer, so the demo checks itself.
 */
static int cmd_demo(int argc, char **argv)
{
    Opts o = { 0 };
    if (parse_opts(argc, argv, &o, false, false, true) < 0) {
        return 2;
    }
    const char *script = o.arg ? o.arg : VTDSIM_DATADIR "/demo-legacy-dma.qtest";
    g_autofree char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(script, &text, NULL, &err)) {
        /* running from the build tree before `make install` */
        g_clear_error(&err);
        if (!o.arg && g_file_get_contents(VTDSIM_SRCDIR "/traces/demo-legacy-dma.qtest", &text,
                                          NULL, NULL)) {
            script = VTDSIM_SRCDIR "/traces/demo-legacy-dma.qtest";
        } else {
            fprintf(stderr, "vtdsim demo: cannot read %s\n", script);
            return 2;
        }
    }
    EmuSim *sim = load(&o);
    if (!sim) {
        return 2;
    }
    DemoState d = { 0 };
    VtdsimQtest *q = vtdsim_qtest_new(sim, demo_send, &d);
    g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
    int bad = 0, checked = 0;
    for (unsigned i = 0; lines[i]; i++) {
        const char *l = lines[i];
        if (g_str_has_prefix(l, "#=")) {
            const char *want = l + 2;
            while (*want == ' ') {
                want++;
            }
            checked++;
            if (!d.last || strcmp(d.last, want)) {
                printf("   !! %s:%u: expected '%s', got '%s'\n", script, i + 1, want,
                       d.last ? d.last : "(nothing)");
                bad++;
            }
            continue;
        }
        if (l[0] == '#') {
            printf("%s\n", l);
            continue;
        }
        g_autofree char *cmd = g_strstrip(g_strdup(l));
        if (!*cmd) {
            printf("\n");
            continue;
        }
        vtdsim_qtest_command(q, cmd);
        printf("   %-36s -> %s\n", cmd, d.last);
    }
    printf("\n%d expectation(s) checked, %d failed\n", checked, bad);
    vtdsim_qtest_free(q);
    g_free(d.last);
    emu_sim_free(sim);
    if (o.arg) {
        return bad ? 1 : 0;
    }
    /*
     * Part two, the main job: replay a bundled DMA trace that reproduces a
     * stale-IOTLB driver bug, with the per-request log and the summary.
     */
    const char *trace = VTDSIM_DATADIR "/stale-iotlb-bug.trace";
    if (!g_file_test(trace, G_FILE_TEST_EXISTS)) {
        trace = VTDSIM_SRCDIR "/traces/stale-iotlb-bug.trace";
    }
    printf("\n# Part two: replaying the bundled trace %s\n"
           "# (a driver remaps an IOVA without invalidating the IOTLB; the device keeps\n"
           "# reading the old buffer until the invalidation arrives)\n\n", trace);
    fflush(stdout);
    char *rargv[] = { argv[0], (char *)"replay", (char *)"--log", (char *)"--no-progress",
                      (char *)trace, NULL };
    int rrc = cmd_replay(5, rargv);
    return bad ? 1 : rrc;
}

static int cmd_platform(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fputs(vtdsim_platform_default_text(), stdout);
    return 0;
}

int main(int argc, char **argv)
{
    g_log_set_handler("vtdsim", G_LOG_LEVEL_MASK, log_handler, NULL);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *c = argv[1];
    if (!strcmp(c, "--help") || !strcmp(c, "-h") || !strcmp(c, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(c, "--version")) {
        printf("vtdsim %s\n", PACKAGE_VERSION);
        return 0;
    }
    /* One row per subcommand; commands living in their own files are declared in cli/commands.h. */
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv);
    } commands[] = {
        { "qtest", cmd_qtest },
        { "lspci", cmd_lspci },
        { "groups", cmd_groups },
        { "demo", cmd_demo },
        { "platform", cmd_platform },
        VTDSIM_EXTRA_COMMANDS
    };
    for (size_t i = 0; i < G_N_ELEMENTS(commands); i++) {
        if (!strcmp(c, commands[i].name)) {
            return commands[i].fn(argc, argv);
        }
    }
    fprintf(stderr, "vtdsim: unknown command '%s' (see vtdsim --help)\n", c);
    return 2;
}
