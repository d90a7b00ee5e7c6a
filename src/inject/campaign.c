/*
 * Fault-injection campaigns; see campaign.h and docs/fault-injection.md.
 *
 * The campaign file is a GKeyFile:
 *
 *   [campaign]
 *   traces = basic.trace;other.trace     paths relative to the campaign file
 *   classes = ur;ca;bitflip              fault classes (inject.h)
 *   triggers = nth=1;nth=2;prob=0.1      one trigger point per entry
 *   seeds = 1;2;3                        optional: each adds seed=S
 *   options = dev=edu                    optional: added to every spec
 *   [class bitflip]
 *   variants = entry=pte bit=0;entry=context bit=0   optional, per class
 *
 * The shards are the product traces x classes x variants x triggers x
 * seeds, numbered in that order, so the same campaign file always gives
 * the same shard numbers.  Each shard is a small key file holding the
 * absolute trace path and the --inject spec: it runs unchanged anywhere
 * the trace path is visible (a shared file system for Slurm or GNU
 * parallel --sshlogin).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include "core/json_out.h"
#include "inject/campaign.h"
#include "inject/inject.h"
#include "core/error.h"

#define SHARD_GROUP "shard"

static char *strv_or(GKeyFile *kf, const char *group, const char *key, gsize *n, const char *dflt)
{
    g_auto(GStrv) v = g_key_file_get_string_list(kf, group, key, n, NULL);
    if (!v || !*n) {
        *n = dflt ? 1 : 0;
        return dflt ? g_strdup(dflt) : NULL;
    }
    return g_strjoinv("\x1f", v);
}

static gboolean write_atomic(const char *path, const char *data, gsize len, GError **error)
{
    g_autofree char *tmp = g_strdup_printf("%s.tmp.%ld", path, (long)getpid());
    if (!g_file_set_contents(tmp, data, (gssize)len, error)) {
        return FALSE;
    }
    if (g_rename(tmp, path) != 0) {
        int e = errno;
        g_unlink(tmp);
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", path, g_strerror(e));
        return FALSE;
    }
    return TRUE;
}

int campaign_plan(const char *ini, const char *dir, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, ini, G_KEY_FILE_NONE, error)) {
        return -1;
    }
    gsize nt, nc, ntr, ns, no;
    g_auto(GStrv) traces = g_key_file_get_string_list(kf, "campaign", "traces", &nt, NULL);
    g_auto(GStrv) classes = g_key_file_get_string_list(kf, "campaign", "classes", &nc, NULL);
    if (!traces || !nt || !classes || !nc) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s: [campaign] needs traces= and classes=", ini);
        return -1;
    }
    g_autofree char *trig = strv_or(kf, "campaign", "triggers", &ntr, "nth=1");
    g_autofree char *seeds = strv_or(kf, "campaign", "seeds", &ns, NULL);
    g_autofree char *opts = g_key_file_get_string(kf, "campaign", "options", NULL);
    (void)no;
    g_auto(GStrv) trigv = g_strsplit(trig, "\x1f", -1);
    g_auto(GStrv) seedv = seeds ? g_strsplit(seeds, "\x1f", -1) : g_new0(char *, 1);
    g_autofree char *base = g_path_get_dirname(ini);
    g_autofree char *cwd = g_get_current_dir();
    g_autofree char *absbase = g_path_is_absolute(base) ? g_strdup(base)
                                                        : g_build_filename(cwd, base, NULL);
    g_autofree char *sdir = g_build_filename(dir, "shards", NULL);
    g_autofree char *rdir = g_build_filename(dir, "results", NULL);
    if (g_mkdir_with_parents(sdir, 0777) || g_mkdir_with_parents(rdir, 0777)) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: %s", dir, g_strerror(errno));
        return -1;
    }
    int id = 0;
    for (gsize t = 0; t < nt; t++) {
        g_autofree char *tpath = g_path_is_absolute(traces[t]) ? g_strdup(traces[t])
                                                               : g_build_filename(absbase, traces[t], NULL);
        if (!g_file_test(tpath, G_FILE_TEST_IS_REGULAR)) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "%s: trace '%s' not found", ini, tpath);
            return -1;
        }
        for (gsize c = 0; c < nc; c++) {
            if (inject_class_parse(classes[c]) < 0) {
                g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s: '%s' is not a fault class", ini, classes[c]);
                return -1;
            }
            g_autofree char *group = g_strdup_printf("class %s", classes[c]);
            gsize nv;
            g_autofree char *vars = strv_or(kf, group, "variants", &nv, "");
            /* no variants: one empty one (g_strsplit("") would give none) */
            g_auto(GStrv) varv = *vars ? g_strsplit(vars, "\x1f", -1) : g_strdupv((char *[]){ (char *)"", NULL });
            for (gsize v = 0; varv[v]; v++) {
                for (gsize k = 0; trigv[k]; k++) {
                    for (gsize s = 0; s < MAX(ns, 1); s++) {
                        GString *spec = g_string_new(classes[c]);
                        const char *parts[] = { varv[v], trigv[k], ns ? seedv[s] : NULL, opts };
                        for (unsigned i = 0; i < G_N_ELEMENTS(parts); i++) {
                            if (parts[i] && *parts[i]) {
                                g_string_append_printf(spec, i == 2 ? " seed=%s" : " %s", parts[i]);
                            }
                        }
                        /* refuse a bad spec now rather than in every shard */
                        InjectSpec *check = inject_spec_parse_string(spec->str, error);
                        if (!check) {
                            g_prefix_error(error, "%s: ", ini);
                            g_string_free(spec, TRUE);
                            return -1;
                        }
                        inject_spec_free(check);
                        g_autoptr(GKeyFile) sk = g_key_file_new();
                        g_autofree char *ids = g_strdup_printf("%05d", id);
                        g_key_file_set_string(sk, SHARD_GROUP, "id", ids);
                        g_key_file_set_string(sk, SHARD_GROUP, "trace", tpath);
                        g_key_file_set_string(sk, SHARD_GROUP, "class", classes[c]);
                        g_key_file_set_string(sk, SHARD_GROUP, "inject", spec->str);
                        g_string_free(spec, TRUE);
                        gsize len;
                        g_autofree char *data = g_key_file_to_data(sk, &len, NULL);
                        g_autofree char *name = g_strdup_printf("%s.shard", ids);
                        g_autofree char *path = g_build_filename(sdir, name, NULL);
                        if (!write_atomic(path, data, len, error)) {
                            return -1;
                        }
                        id++;
                    }
                }
            }
        }
    }
    return id;
}

static char *result_path(const char *shard, const char *id)
{
    g_autofree char *sdir = g_path_get_dirname(shard);
    g_autofree char *name = g_strdup_printf("%s.json", id);
    return g_build_filename(sdir, "..", "results", name, NULL);
}

gboolean campaign_run_shard(const char *shard, bool force, GError **error)
{
    g_autoptr(GKeyFile) kf = g_key_file_new();
    if (!g_key_file_load_from_file(kf, shard, G_KEY_FILE_NONE, error)) {
        return FALSE;
    }
    g_autofree char *id = g_key_file_get_string(kf, SHARD_GROUP, "id", NULL);
    g_autofree char *trace = g_key_file_get_string(kf, SHARD_GROUP, "trace", NULL);
    g_autofree char *cls = g_key_file_get_string(kf, SHARD_GROUP, "class", NULL);
    g_autofree char *spec_text = g_key_file_get_string(kf, SHARD_GROUP, "inject", NULL);
    if (!id || !trace || !cls || !spec_text) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_PARSE, "%s: not a shard (needs id, trace, class, inject)", shard);
        return FALSE;
    }
    g_autofree char *out = result_path(shard, id);
    if (!force && g_file_test(out, G_FILE_TEST_EXISTS)) {
        return TRUE;
    }
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_member_string(b, "shard", id);
    json_member_string(b, "class", cls);
    json_member_string(b, "inject", spec_text);
    GError *err = NULL;
    InjectSpec *spec = inject_spec_parse_string(spec_text, &err);
    InjectResult *res = NULL;
    if (spec) {
        GPtrArray *specs = g_ptr_array_new();
        g_ptr_array_add(specs, spec);
        res = inject_run_trace(trace, specs, &err);
        g_ptr_array_free(specs, TRUE);
        inject_spec_free(spec);
    }
    json_builder_set_member_name(b, "result");
    if (res) {
        GString *js = g_string_new(NULL);
        inject_result_json(res, js);
        JsonParser *jp = json_parser_new();
        if (json_parser_load_from_data(jp, js->str, (gssize)js->len, NULL)) {
            json_builder_add_value(b, json_node_copy(json_parser_get_root(jp)));
        } else {
            json_builder_add_null_value(b);
        }
        g_object_unref(jp);
        g_string_free(js, TRUE);
        inject_result_free(res);
    } else {
        json_builder_begin_object(b);
        json_member_string(b, "outcome", "error");
        json_member_string(b, "detail", err ? err->message : "?");
        json_builder_end_object(b);
        g_clear_error(&err);
    }
    json_builder_end_object(b);
    JsonGenerator *g = json_generator_new();
    json_generator_set_pretty(g, TRUE);
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    gsize len;
    g_autofree gchar *text = json_generator_to_data(g, &len);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
    g_autofree char *withnl = g_strconcat(text, "\n", NULL);
    return write_atomic(out, withnl, len + 1, error);
}

static int cmp_str(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names in @dir ending in @suffix, without it (unsorted). */
static GPtrArray *list_dir(const char *dir, const char *suffix, GError **error)
{
    GDir *d = g_dir_open(dir, 0, error);
    if (!d) {
        return NULL;
    }
    GPtrArray *a = g_ptr_array_new_with_free_func(g_free);
    const char *n;
    while ((n = g_dir_read_name(d))) {
        if (g_str_has_suffix(n, suffix)) {
            g_ptr_array_add(a, g_strndup(n, strlen(n) - strlen(suffix)));
        }
    }
    g_dir_close(d);
    return a;
}

gboolean campaign_run(const char *dir, unsigned jobs, unsigned *done_before, unsigned *ran,
                      unsigned *failed, GError **error)
{
    g_autofree char *sdir = g_build_filename(dir, "shards", NULL);
    GPtrArray *ids = list_dir(sdir, ".shard", error);
    if (!ids) {
        return FALSE;
    }
    g_ptr_array_sort(ids, cmp_str);
    *done_before = *ran = *failed = 0;
    unsigned running = 0;
    jobs = MAX(jobs, 1);
    fflush(NULL);
    for (guint i = 0; i <= ids->len; i++) {
        /* reap until a slot is free (or, at the end, until all are done) */
        while (running && (running >= jobs || i == ids->len)) {
            int status;
            if (waitpid(-1, &status, 0) < 0) {
                break;
            }
            running--;
            if (!WIFEXITED(status) || WEXITSTATUS(status)) {
                (*failed)++;
            }
        }
        if (i == ids->len) {
            break;
        }
        const char *id = g_ptr_array_index(ids, i);
        g_autofree char *name = g_strdup_printf("%s.shard", id);
        g_autofree char *shard = g_build_filename(sdir, name, NULL);
        g_autofree char *res = result_path(shard, id);
        if (g_file_test(res, G_FILE_TEST_EXISTS)) {
            (*done_before)++;
            continue;
        }
        pid_t pid = fork();
        if (pid < 0) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "fork: %s", g_strerror(errno));
            g_ptr_array_free(ids, TRUE);
            return FALSE;
        }
        if (pid == 0) {
            GError *err = NULL;
            gboolean ok = campaign_run_shard(shard, false, &err);
            if (!ok) {
                fprintf(stderr, "vtdsim campaign: %s\n", err->message);
            }
            fflush(NULL);
            _exit(ok ? 0 : 1);
        }
        running++;
        (*ran)++;
    }
    g_ptr_array_free(ids, TRUE);
    return TRUE;
}

typedef struct ClassTally {
    unsigned shards;
    unsigned outcome[INJECT_OUTCOME__COUNT];
    unsigned errors;
} ClassTally;

gboolean campaign_merge(const char *dir, GString *text, GError **error)
{
    g_autofree char *sdir = g_build_filename(dir, "shards", NULL);
    g_autofree char *rdir = g_build_filename(dir, "results", NULL);
    GPtrArray *ids = list_dir(sdir, ".shard", error);
    if (!ids) {
        return FALSE;
    }
    g_ptr_array_sort(ids, cmp_str);
    ClassTally tally[INJECT__COUNT];
    memset(tally, 0, sizeof tally);
    GPtrArray *missing = g_ptr_array_new();
    JsonBuilder *b = json_builder_new();
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "shards");
    json_builder_begin_array(b);
    for (guint i = 0; i < ids->len; i++) {
        const char *id = g_ptr_array_index(ids, i);
        g_autofree char *name = g_strdup_printf("%s.json", id);
        g_autofree char *path = g_build_filename(rdir, name, NULL);
        JsonParser *jp = json_parser_new();
        if (!json_parser_load_from_file(jp, path, NULL)) {
            g_ptr_array_add(missing, (gpointer)id);
            g_object_unref(jp);
            continue;
        }
        JsonObject *o = json_node_get_object(json_parser_get_root(jp));
        const char *cls = json_object_get_string_member_with_default(o, "class", "");
        JsonObject *r = json_object_get_object_member(o, "result");
        const char *oc = r ? json_object_get_string_member_with_default(r, "outcome", "error") : "error";
        int c = inject_class_parse(cls);
        if (c >= 0) {
            tally[c].shards++;
            bool known = false;
            for (unsigned k = 0; k < INJECT_OUTCOME__COUNT; k++) {
                if (!strcmp(oc, inject_outcome_name((InjectOutcome)k))) {
                    tally[c].outcome[k]++;
                    known = true;
                }
            }
            tally[c].errors += !known;
        }
        json_builder_begin_object(b);
        json_member_string(b, "shard", id);
        json_member_string(b, "inject", json_object_get_string_member_with_default(o, "inject", ""));
        json_member_string(b, "outcome", oc);
        json_builder_end_object(b);
        g_object_unref(jp);
    }
    json_builder_end_array(b);
    g_string_append_printf(text, "campaign %s: %u shards, %u results, %u missing\n", dir, ids->len,
                           ids->len - missing->len, missing->len);
    g_string_append(text, "class            shards  not-fired  masked  detected   sdc  hang  error  coverage\n");
    json_builder_set_member_name(b, "classes");
    json_builder_begin_object(b);
    for (unsigned c = 0; c < INJECT__COUNT; c++) {
        ClassTally *t = &tally[c];
        if (!t->shards) {
            continue;
        }
        unsigned fired = t->shards - t->outcome[INJECT_NOT_FIRED] - t->errors;
        unsigned effective = fired - t->outcome[INJECT_MASKED];
        double cov = effective ? 100.0 * t->outcome[INJECT_DETECTED] / effective : 0;
        g_string_append_printf(text, "%-16s %6u %10u %7u %9u %5u %5u %6u  %s%6.1f%%\n",
                               inject_class_name(c), t->shards, t->outcome[INJECT_NOT_FIRED],
                               t->outcome[INJECT_MASKED], t->outcome[INJECT_DETECTED], t->outcome[INJECT_SDC],
                               t->outcome[INJECT_HANG], t->errors, effective ? "" : "  n/a", cov);
        json_builder_set_member_name(b, inject_class_name(c));
        json_builder_begin_object(b);
        json_member_int(b, "shards", t->shards);
        for (unsigned k = 0; k < INJECT_OUTCOME__COUNT; k++) {
            json_member_int(b, inject_outcome_name((InjectOutcome)k), t->outcome[k]);
        }
        json_member_int(b, "error", t->errors);
        /* detected among the injections that had an effect (not masked, not unfired) */
        json_builder_set_member_name(b, "detection_coverage");
        if (effective) {
            json_builder_add_double_value(b, (double)t->outcome[INJECT_DETECTED] / effective);
        } else {
            json_builder_add_null_value(b);
        }
        json_builder_end_object(b);
    }
    json_builder_end_object(b);
    json_builder_set_member_name(b, "missing");
    json_builder_begin_array(b);
    for (guint i = 0; i < missing->len; i++) {
        json_builder_add_string_value(b, g_ptr_array_index(missing, i));
        g_string_append_printf(text, "missing: shard %s (run it again: vtdsim campaign run %s)\n",
                               (char *)g_ptr_array_index(missing, i), dir);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    JsonGenerator *g = json_generator_new();
    json_generator_set_pretty(g, TRUE);
    JsonNode *root = json_builder_get_root(b);
    json_generator_set_root(g, root);
    gsize len;
    g_autofree gchar *js = json_generator_to_data(g, &len);
    json_node_unref(root);
    g_object_unref(g);
    g_object_unref(b);
    g_ptr_array_free(missing, TRUE);
    g_ptr_array_free(ids, TRUE);
    g_autofree char *jpath = g_build_filename(dir, "report.json", NULL);
    g_autofree char *tpath = g_build_filename(dir, "report.txt", NULL);
    g_autofree char *jsnl = g_strconcat(js, "\n", NULL);
    return write_atomic(jpath, jsnl, len + 1, error) && write_atomic(tpath, text->str, text->len, error);
}
