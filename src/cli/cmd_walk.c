/*
 * vtdsim walk: explain what the IOMMU does with one request.
 *
 *   vtdsim walk [--platform FILE | --trace TRACE] [--script SETUP.qtest] --rid BB:DD.F|NAME
 *               [--pasid N] [--priv] [--exec] [--write] [--ats] --addr ADDR
 *               [--data N] [--format text|json|dot|svg]
 *
 * The setup scripts (qtest commands: table writes, register programming;
 * --script may be given several times, they run in order) run first;
 * then the request is explained step by step against the tables of the
 * VT-d unit responsible for the requester, and the unit's caches are
 * inspected without being changed (src/explain/walk.h).
 * A write to the interrupt window is an interrupt message: with --data
 * (the message data, for the subhandle) the IRTE it selects is shown.
 * --format svg pipes the DOT picture through Graphviz `dot`.
 * Exit status: 0 explained (whatever the verdict), 2 bad usage or input.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/commands.h"
#include "explain/script.h"
#include "explain/walk.h"
#include "models/vtd/vtd.h"
#include "platform/platform.h"

static gboolean parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-')
        return FALSE;
    char *end;
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, 0);
    if (errno || end == s || *end)
        return FALSE;
    *out = v;
    return TRUE;
}

static int usage_error(const char *msg)
{
    fprintf(stderr, "vtdsim walk: %s (see vtdsim --help)\n", msg);
    return 2;
}

/* Runs Graphviz on @dot and writes the SVG to stdout. */
static int write_svg(const char *dot)
{
    g_autofree char *prog = g_find_program_in_path("dot");
    if (!prog) {
        fprintf(stderr, "vtdsim walk: --format svg needs Graphviz 'dot' in PATH "
                        "(install graphviz, or use --format dot)\n");
        return 2;
    }
    GError *err = NULL;
    g_autofree char *tmp = NULL;
    int fd = g_file_open_tmp("vtdsim-walk-XXXXXX.dot", &tmp, &err);
    if (fd < 0) {
        fprintf(stderr, "vtdsim walk: %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    close(fd);
    if (!g_file_set_contents(tmp, dot, -1, &err)) {
        fprintf(stderr, "vtdsim walk: %s\n", err->message);
        g_error_free(err);
        unlink(tmp);
        return 2;
    }
    char *argv[] = {prog, (char *)"-Tsvg", tmp, NULL};
    g_autofree char *svg = NULL, *errs = NULL;
    int status = 0;
    gboolean ok = g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &svg, &errs, &status,
                               &err);
    unlink(tmp);
    if (!ok || !g_spawn_check_wait_status(status, NULL)) {
        fprintf(stderr, "vtdsim walk: dot failed: %s\n",
                err ? err->message : (errs && *errs ? g_strstrip(errs) : "non-zero exit"));
        g_clear_error(&err);
        return 2;
    }
    fputs(svg, stdout);
    return 0;
}

int cmd_walk(int argc, char **argv)
{
    const char *platform = NULL, *script = NULL, *rid_arg = NULL, *addr_arg = NULL;
    const char *trace = NULL;
    g_autoptr(GPtrArray) scripts = g_ptr_array_new();
    const char *pasid_arg = NULL, *data_arg = NULL, *format = "text";
    VtdXlateRequest req = {0};
    req.at = VTD_AT_UNTRANSLATED;
    req.len = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **val = NULL;
        if (!strcmp(a, "--platform") || !strcmp(a, "-p"))
            val = &platform;
        else if (!strcmp(a, "--trace"))
            val = &trace;
        else if (!strcmp(a, "--script"))
            val = &script;
        else if (!strcmp(a, "--rid"))
            val = &rid_arg;
        else if (!strcmp(a, "--addr"))
            val = &addr_arg;
        else if (!strcmp(a, "--pasid"))
            val = &pasid_arg;
        else if (!strcmp(a, "--format"))
            val = &format;
        else if (!strcmp(a, "--data"))
            val = &data_arg;
        if (val) {
            if (++i >= argc) {
                g_autofree char *m = g_strdup_printf("%s needs a value", a);
                return usage_error(m);
            }
            *val = argv[i];
            if (val == &script)
                g_ptr_array_add(scripts, argv[i]);
            continue;
        }
        if (!strcmp(a, "--priv")) {
            req.priv = true;
        } else if (!strcmp(a, "--exec")) {
            req.exec = true;
        } else if (!strcmp(a, "--write")) {
            req.write = true;
        } else if (!strcmp(a, "--ats")) {
            req.at = VTD_AT_TRANSLATION;
        } else {
            g_autofree char *m = g_strdup_printf("unknown option or extra argument '%s'", a);
            return usage_error(m);
        }
    }
    if (!rid_arg)
        return usage_error("--rid BB:DD.F|NAME is required");
    if (!addr_arg)
        return usage_error("--addr ADDR is required");
    if (!parse_u64(addr_arg, &req.addr)) {
        g_autofree char *m = g_strdup_printf("--addr '%s' is not a number", addr_arg);
        return usage_error(m);
    }
    if (pasid_arg) {
        uint64_t pv;
        if (!parse_u64(pasid_arg, &pv) || pv > 0xfffff) {
            g_autofree char *m = g_strdup_printf("--pasid '%s' is not a PASID (0..0xfffff)",
                                                 pasid_arg);
            return usage_error(m);
        }
        req.pasid_present = true;
        req.pasid = (uint32_t)pv;
    }
    uint64_t data = 0;
    if (data_arg && (!parse_u64(data_arg, &data) || data > 0xffffffffu)) {
        g_autofree char *m = g_strdup_printf("--data '%s' is not a 32-bit number", data_arg);
        return usage_error(m);
    }
    if ((req.priv || req.exec) && !req.pasid_present)
        return usage_error("--priv and --exec describe a PASID prefix: give --pasid too");
    if (strcmp(format, "text") && strcmp(format, "json") && strcmp(format, "dot") &&
        strcmp(format, "svg")) {
        g_autofree char *m = g_strdup_printf("--format '%s' is not text, json, dot or svg", format);
        return usage_error(m);
    }

    if (trace && platform)
        return usage_error("--trace names its own platform; drop --platform");
    GError *err = NULL;
    /* a trace sets the machine up with its driver operations; otherwise a platform + scripts */
    EmuSim *sim = trace ? explain_sim_from_trace(trace, &err) : vtdsim_platform_new(platform, &err);
    if (!sim) {
        fprintf(stderr, "vtdsim walk: %s\n", err->message);
        g_error_free(err);
        return 2;
    }
    Platform *p = platform_get(sim);
    int rc = 2;
    if (!platform_parse_bdf(rid_arg, &req.sid)) {
        PcieFn *fn = platform_find_device(p, rid_arg);
        if (!fn) {
            fprintf(stderr, "vtdsim walk: --rid '%s' is neither BB:DD.F nor a device of the "
                            "platform\n", rid_arg);
            goto out;
        }
        req.sid = pcie_fn_rid(fn);
    }
    for (guint i = 0; i < scripts->len; i++) {
        if (!explain_run_script(sim, g_ptr_array_index(scripts, i), &err)) {
            fprintf(stderr, "vtdsim walk: %s\n", err->message);
            g_error_free(err);
            goto out;
        }
    }
    PlatformVtd *v = platform_vtd_for(p, req.sid);
    if (!v) {
        fprintf(stderr, "vtdsim walk: no VT-d unit translates requests from %s\n", rid_arg);
        goto out;
    }
    VtdXlate *xl = vtd_unit_xlate(v->unit);
    ExplainWalk *w = explain_walk(p->mem, vtd_xlate_get_config(xl), xl, v->name, &req);
    uint64_t irta;
    bool ire;
    vtd_unit_ir_state(v->unit, &irta, &ire, NULL);
    explain_interrupt(w, p->mem, irta, ire, (uint32_t)data);
    GString *s = g_string_new(NULL);
    if (!strcmp(format, "json"))
        explain_format_json(w, s);
    else if (!strcmp(format, "text"))
        explain_format_text(w, s);
    else
        explain_format_dot(w, s);
    if (!strcmp(format, "svg")) {
        rc = write_svg(s->str);
    } else {
        fputs(s->str, stdout);
        rc = 0;
    }
    g_string_free(s, TRUE);
    explain_walk_free(w);
out:
    emu_sim_free(sim);
    return rc;
}
