/*
 * Formatting an ExplainWalk (walk.h) as text, JSON and Graphviz DOT.
 *
 * The text is for people: numbered steps, each table read with its
 * address, the input-address bits that chose the entry, the raw entry and
 * every field by its specification name, then the result and what the
 * caches hold.  The JSON carries the same facts for programs (64-bit
 * values as "0x..." strings, since JSON numbers are doubles).  The DOT
 * draws one box per entry read and the path as edges; a second-stage walk
 * of a first-stage table pointer is drawn as a cluster.
 */
#include "explain/walk.h"

#include <string.h>

#include "models/vtd/vtd_entries.h"

#define X64 "0x%016" G_GINT64_MODIFIER "x"
#define XS "0x%" G_GINT64_MODIFIER "x"

static const char *status_name(VtdXlateStatus s)
{
    switch (s) {
    case VTD_XLATE_OK: return "translated";
    case VTD_XLATE_FAULT: return "fault";
    case VTD_XLATE_INTERRUPT: return "interrupt";
    default: return "unsupported-request";
    }
}

static const char *pgtt_name(unsigned pgtt)
{
    switch (pgtt) {
    case VTD_PGTT_FIRST_STAGE: return "first-stage";
    case VTD_PGTT_SECOND_STAGE: return "second-stage";
    case VTD_PGTT_NESTED: return "nested";
    case VTD_PGTT_PASS_THROUGH: return "pass-through";
    default: return "?";
    }
}

static char *perm_text(unsigned p)
{
    if (!(p & 7))
        return g_strdup("no access");
    return g_strdup_printf("%s%s%s%s", p & VTD_PERM_R ? "R" : "", p & VTD_PERM_W ? " W" : "",
                           p & VTD_PERM_X ? " X" : "", p & VTD_PERM_PRIV ? " Priv" : "");
}

static char *request_text(const VtdXlateRequest *q)
{
    const char *kind = q->at == VTD_AT_TRANSLATION ? "ATS translation request"
                       : q->exec                   ? "execute read"
                       : q->write                  ? "write"
                                                   : "read";
    GString *s = g_string_new(NULL);
    g_string_append_printf(s, "%s%s of " X64 " by %02x:%02x.%x (SID 0x%04x), ", kind,
                           q->at == VTD_AT_TRANSLATED ? " (translated)" : "", (guint64)q->addr,
                           q->sid >> 8, (q->sid >> 3) & 0x1f, q->sid & 7, q->sid);
    if (q->pasid_present)
        g_string_append_printf(s, "PASID 0x%x%s", q->pasid, q->priv ? " supervisor" : " user");
    else
        g_string_append(s, "without PASID");
    return g_string_free(s, FALSE);
}

static char *bits_text(const ExplainField *f)
{
    if (f->hi == f->lo)
        return g_strdup_printf("%u", f->lo);
    return g_strdup_printf("%u:%u", f->hi, f->lo);
}

static void result_text(const ExplainWalk *w, GString *out)
{
    const VtdXlateResult *r = &w->res;
    switch (r->status) {
    case VTD_XLATE_OK: {
        g_autofree char *p = perm_text(r->perm);
        if (w->req.at == VTD_AT_TRANSLATION && !r->perm)
            g_string_append(out, "Result: ATS completion without permission (no fault)\n");
        else
            g_string_append_printf(out, "Result: translated to " X64 " (%" G_GINT64_MODIFIER
                                   "u KiB page, %s, domain %u, %s%s)\n",
                                   (guint64)r->out_addr, (guint64)(r->page_size >> 10), p, r->did,
                                   pgtt_name(r->pgtt), r->snoop ? ", snooped" : "");
        break;
    }
    case VTD_XLATE_FAULT:
        g_string_append_printf(out, "Result: FAULT, reason 0x%02x %s: %s\n", r->fault_reason,
                               vtd_fault_reason_name(r->fault_reason)
                                   ? vtd_fault_reason_name(r->fault_reason) : "?",
                               vtd_fault_reason_str(r->fault_reason));
        g_string_append_printf(out, "        at the %s; %s\n",
                               vtd_fault_struct_name(r->fault_struct),
                               r->fault_record ? "recorded in a fault recording register"
                                               : "not recorded (FPD=1 on the way)");
        break;
    case VTD_XLATE_INTERRUPT:
        g_string_append(out, "Result: interrupt request (goes to interrupt remapping)\n");
        break;
    default:
        g_string_append(out, "Result: blocked as an unsupported request (no fault recorded)\n");
        break;
    }
}

void explain_format_text(const ExplainWalk *w, GString *out)
{
    g_autofree char *rq = request_text(&w->req);
    g_string_append_printf(out, "Explaining a %s on %s\n\n", rq, w->unit);
    for (guint i = 0; i < w->steps->len; i++) {
        const ExplainStep *s = g_ptr_array_index(w->steps, i);
        const char *ind = s->depth ? "        " : "    ";
        g_string_append_printf(out, "%s%2u. %s%s\n", s->depth ? "    " : "", i + 1, s->title,
                               s->depth ? "  [second-stage walk of a first-stage table]" : "");
        if (s->kind != EXPLAIN_CHECK)
            g_string_append_printf(out, "%stable " X64 " index 0x%03" G_GINT64_MODIFIER
                                   "x (%s), entry at " X64 "\n",
                                   ind, (guint64)s->table, (guint64)s->index,
                                   s->index_from ? s->index_from : "", (guint64)s->addr);
        {
            if (s->read_ok && s->nwords) {
                g_string_append(out, ind);
                g_string_append(out, s->nwords == 1 ? "raw " : "raw val[0..] ");
                for (unsigned k = 0; k < s->nwords; k++)
                    g_string_append_printf(out, "%s" X64, k ? " " : "", (guint64)s->raw[k]);
                g_string_append_c(out, '\n');
            }
            for (guint k = 0; k < s->fields->len; k++) {
                const ExplainField *f = &g_array_index(s->fields, ExplainField, k);
                g_autofree char *b = bits_text(f);
                g_string_append_printf(out, "%s  %-12s [%s]%*s = 0x%" G_GINT64_MODIFIER "x%s%s\n",
                                       ind, f->name, b, (int)(8 - strlen(b)), "",
                                       (guint64)f->value, f->meaning ? "  " : "",
                                       f->meaning ? f->meaning : "");
            }
            if (s->rights)
                g_string_append_printf(out, "%srights so far: %s\n", ind, s->rights);
        }
        if (s->verdict)
            g_string_append_printf(out, "%s-> %s\n", ind, s->verdict);
        if (s->cache)
            g_string_append_printf(out, "%scache: %s\n", ind, s->cache);
    }
    g_string_append_c(out, '\n');
    result_text(w, out);
    if (w->cache_notes->len) {
        g_string_append(out, "\nCaches (looked up without changing them):\n");
        for (guint i = 0; i < w->cache_notes->len; i++)
            g_string_append_printf(out, "  %s\n", (const char *)g_ptr_array_index(w->cache_notes, i));
    }
    for (guint i = 0; i < w->steps->len; i++) {
        const ExplainStep *s = g_ptr_array_index(w->steps, i);
        if (s->stale && s->cache)
            g_string_append_printf(out, "  step %u: %s\n", i + 1, s->cache);
    }
    if (w->stale)
        g_string_append(out, "\nWARNING: a cache holds a translation that differs from the "
                             "tables: software changed a table without invalidating.\n");
    if (w->linux_log->len) {
        g_string_append(out, "\nWhat a Linux host logs for this fault (the table dump needs "
                             "CONFIG_DMAR_DEBUG):\n");
        for (guint i = 0; i < w->linux_log->len; i++)
            g_string_append_printf(out, "  %s\n", (const char *)g_ptr_array_index(w->linux_log, i));
    }
}

/* ---- JSON -------------------------------------------------------------------- */

void explain_json_string(GString *out, const char *s)
{
    g_string_append_c(out, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"': g_string_append(out, "\\\""); break;
        case '\\': g_string_append(out, "\\\\"); break;
        case '\n': g_string_append(out, "\\n"); break;
        case '\t': g_string_append(out, "\\t"); break;
        case '\r': g_string_append(out, "\\r"); break;
        default:
            if (*p < 0x20)
                g_string_append_printf(out, "\\u%04x", *p);
            else
                g_string_append_c(out, (char)*p);
        }
    }
    g_string_append_c(out, '"');
}

static void jkey(GString *o, const char *k)
{
    explain_json_string(o, k);
    g_string_append_c(o, ':');
}

static void jhex(GString *o, const char *k, uint64_t v)
{
    jkey(o, k);
    g_string_append_printf(o, "\"" XS "\"", (guint64)v);
}

static void jstr(GString *o, const char *k, const char *v)
{
    jkey(o, k);
    if (v)
        explain_json_string(o, v);
    else
        g_string_append(o, "null");
}

static void jbool(GString *o, const char *k, bool v)
{
    jkey(o, k);
    g_string_append(o, v ? "true" : "false");
}

static void jint(GString *o, const char *k, long long v)
{
    jkey(o, k);
    g_string_append_printf(o, "%lld", v);
}

void explain_format_json(const ExplainWalk *w, GString *o)
{
    const VtdXlateRequest *q = &w->req;
    g_string_append(o, "{");
    jstr(o, "unit", w->unit);
    g_string_append(o, ",\"request\":{");
    g_autofree char *bdf = g_strdup_printf("%02x:%02x.%x", q->sid >> 8, (q->sid >> 3) & 0x1f,
                                           q->sid & 7);
    jstr(o, "rid", bdf);
    g_string_append_c(o, ',');
    jhex(o, "sid", q->sid);
    g_string_append_c(o, ',');
    jkey(o, "pasid");
    if (q->pasid_present)
        g_string_append_printf(o, "%u", q->pasid);
    else
        g_string_append(o, "null");
    g_string_append_c(o, ',');
    jhex(o, "addr", q->addr);
    g_string_append_c(o, ',');
    jbool(o, "write", q->write);
    g_string_append_c(o, ',');
    jbool(o, "priv", q->priv);
    g_string_append_c(o, ',');
    jbool(o, "exec", q->exec);
    g_string_append_c(o, ',');
    jstr(o, "at", q->at == VTD_AT_TRANSLATION ? "translation"
                  : q->at == VTD_AT_TRANSLATED ? "translated" : "untranslated");
    g_string_append(o, "},\"steps\":[");
    for (guint i = 0; i < w->steps->len; i++) {
        const ExplainStep *s = g_ptr_array_index(w->steps, i);
        g_string_append(o, i ? ",\n{" : "\n{");
        jstr(o, "kind", explain_kind_name(s->kind));
        g_string_append_c(o, ',');
        jstr(o, "title", s->title);
        g_string_append_c(o, ',');
        jint(o, "depth", s->depth);
        if (s->kind != EXPLAIN_CHECK || s->nwords) {
            g_string_append_c(o, ',');
            jint(o, "level", s->level);
            g_string_append_c(o, ',');
            jhex(o, "table", s->table);
            g_string_append_c(o, ',');
            jint(o, "index", (long long)s->index);
            g_string_append_c(o, ',');
            jstr(o, "index_from", s->index_from);
            g_string_append_c(o, ',');
            jhex(o, "entry_addr", s->addr);
            g_string_append_c(o, ',');
            jbool(o, "read_ok", s->read_ok);
            g_string_append(o, ",\"raw\":[");
            for (unsigned k = 0; s->read_ok && k < s->nwords; k++)
                g_string_append_printf(o, "%s\"" X64 "\"", k ? "," : "", (guint64)s->raw[k]);
            g_string_append(o, "],\"fields\":[");
            for (guint k = 0; k < s->fields->len; k++) {
                const ExplainField *f = &g_array_index(s->fields, ExplainField, k);
                g_string_append(o, k ? ",{" : "{");
                jstr(o, "name", f->name);
                g_string_append_c(o, ',');
                jint(o, "hi", f->hi);
                g_string_append_c(o, ',');
                jint(o, "lo", f->lo);
                g_string_append_c(o, ',');
                jhex(o, "value", f->value);
                g_string_append_c(o, ',');
                jstr(o, "meaning", f->meaning);
                g_string_append_c(o, '}');
            }
            g_string_append(o, "],");
            jstr(o, "rights", s->rights);
        }
        g_string_append_c(o, ',');
        jstr(o, "verdict", s->verdict);
        g_string_append_c(o, ',');
        jstr(o, "cache", s->cache);
        g_string_append_c(o, ',');
        jbool(o, "stale", s->stale);
        g_string_append_c(o, ',');
        jbool(o, "fault", s->fault);
        g_string_append_c(o, '}');
    }
    const VtdXlateResult *r = &w->res;
    g_string_append(o, "],\n\"result\":{");
    jstr(o, "status", status_name(r->status));
    if (r->status == VTD_XLATE_OK) {
        g_string_append_c(o, ',');
        jhex(o, "out_addr", r->out_addr);
        g_string_append_c(o, ',');
        jhex(o, "page_size", r->page_size);
        g_autofree char *p = perm_text(r->perm);
        g_string_append_c(o, ',');
        jstr(o, "perm", p);
        g_string_append_c(o, ',');
        jint(o, "did", r->did);
        g_string_append_c(o, ',');
        jstr(o, "pgtt", pgtt_name(r->pgtt));
    } else if (r->status == VTD_XLATE_FAULT) {
        g_string_append_c(o, ',');
        jhex(o, "fault_reason", r->fault_reason);
        g_string_append_c(o, ',');
        jstr(o, "fault_name", vtd_fault_reason_name(r->fault_reason));
        g_string_append_c(o, ',');
        jstr(o, "fault_text", vtd_fault_reason_str(r->fault_reason));
        g_string_append_c(o, ',');
        jstr(o, "fault_struct", vtd_fault_struct_name(r->fault_struct));
        g_string_append_c(o, ',');
        jbool(o, "recorded", r->fault_record);
    }
    g_string_append(o, "},\n\"caches\":[");
    for (guint i = 0; i < w->cache_notes->len; i++) {
        if (i)
            g_string_append_c(o, ',');
        explain_json_string(o, g_ptr_array_index(w->cache_notes, i));
    }
    g_string_append(o, "],");
    jbool(o, "iotlb_hit", w->iotlb_hit);
    if (w->served) {
        g_string_append_c(o, ',');
        jhex(o, "iotlb_out_addr", w->served_addr);
    }
    g_string_append_c(o, ',');
    jbool(o, "stale", w->stale);
    g_string_append(o, ",\"linux_log\":[");
    for (guint i = 0; i < w->linux_log->len; i++) {
        if (i)
            g_string_append_c(o, ',');
        explain_json_string(o, g_ptr_array_index(w->linux_log, i));
    }
    g_string_append(o, "]}\n");
}

/* ---- DOT --------------------------------------------------------------------- */

/* Escapes text for a field of a record label. */
static void dot_esc(GString *o, const char *s)
{
    for (; s && *s; s++) {
        if (strchr("{}|<>\"\\", *s))
            g_string_append_c(o, '\\');
        g_string_append_c(o, *s);
    }
}

void explain_format_dot(const ExplainWalk *w, GString *o)
{
    g_autofree char *rq = request_text(&w->req);
    g_string_append(o, "digraph vtd_walk {\n"
                       "  rankdir=TB;\n"
                       "  node [shape=record, fontname=\"monospace\", fontsize=10];\n"
                       "  edge [fontname=\"monospace\", fontsize=9];\n");
    g_string_append(o, "  request [shape=box, style=rounded, label=\"");
    dot_esc(o, rq);
    g_string_append(o, "\"];\n");
    g_autofree char *prev_name = NULL;
    GString *edges = g_string_new(NULL);
    int cluster = -1;
    unsigned prev_depth = 0;
    bool in_sub = false;
    for (guint i = 0; i < w->steps->len; i++) {
        const ExplainStep *s = g_ptr_array_index(w->steps, i);
        if (s->kind == EXPLAIN_CHECK && !s->fault)
            continue;
        if (s->depth && !in_sub) {
            cluster++;
            g_string_append_printf(o, "  subgraph cluster_%d {\n    label=\"second stage: "
                                      "table GPA -> HPA\"; style=dashed;\n", cluster);
            in_sub = true;
        } else if (!s->depth && in_sub) {
            g_string_append(o, "  }\n");
            in_sub = false;
        }
        g_string_append_printf(o, "%s  s%u [label=\"{", s->depth ? "  " : "", i + 1);
        dot_esc(o, s->title);
        if (s->kind != EXPLAIN_CHECK) {
            g_string_append_printf(o, "|table " XS " [%" G_GINT64_MODIFIER "u] (", (guint64)s->table,
                                   (guint64)s->index);
            dot_esc(o, s->index_from);
            g_string_append_printf(o, ")|entry " XS, (guint64)s->addr);
            if (s->read_ok) {
                g_string_append_c(o, '|');
                for (unsigned k = 0; k < s->nwords && k < 4; k++)
                    g_string_append_printf(o, "%s" X64, k ? " " : "", (guint64)s->raw[k]);
            }
            g_string_append_c(o, '|');
            for (guint k = 0; k < s->fields->len && k < 12; k++) {
                const ExplainField *f = &g_array_index(s->fields, ExplainField, k);
                if (!f->value && strcmp(f->name, "P") && strcmp(f->name, "R"))
                    continue;
                g_string_append_printf(o, "%s=0x%" G_GINT64_MODIFIER "x\\l", f->name,
                                       (guint64)f->value);
            }
            if (s->rights) {
                g_string_append(o, "|rights: ");
                dot_esc(o, s->rights);
            }
        }
        if (s->verdict) {
            g_string_append_c(o, '|');
            dot_esc(o, s->verdict);
        }
        g_string_append(o, "}\"");
        if (s->fault)
            g_string_append(o, ", color=red, fontcolor=red");
        else if (s->stale)
            g_string_append(o, ", color=orange, style=bold");
        g_string_append(o, "];\n");
        g_autofree char *name = g_strdup_printf("s%u", i + 1);
        const char *from = prev_name ? prev_name : "request";
        /* edges go after every node: an edge inside a cluster would pull its ends in */
        if (s->depth && prev_depth == 0)
            g_string_append_printf(edges, "  %s -> %s [style=dashed, label=\"table GPA\"];\n",
                                   from, name);
        else if (!s->depth && prev_depth)
            g_string_append_printf(edges, "  %s -> %s [style=dashed, label=\"HPA\"];\n", from,
                                   name);
        else
            g_string_append_printf(edges, "  %s -> %s;\n", from, name);
        prev_depth = s->depth;
        g_free(prev_name);
        prev_name = g_strdup(name);
    }
    if (in_sub)
        g_string_append(o, "  }\n");
    g_string_append(o, edges->str);
    g_string_free(edges, TRUE);
    const VtdXlateResult *r = &w->res;
    g_string_append(o, "  result [shape=box, style=rounded, ");
    if (r->status == VTD_XLATE_OK) {
        g_autofree char *p = perm_text(r->perm);
        g_string_append_printf(o, "color=darkgreen, label=\"" X64 "\\n%s\"];\n",
                               (guint64)r->out_addr, p);
    } else if (r->status == VTD_XLATE_FAULT) {
        g_string_append_printf(o, "color=red, label=\"fault 0x%02x\\n", r->fault_reason);
        dot_esc(o, vtd_fault_reason_name(r->fault_reason));
        g_string_append(o, "\"];\n");
    } else {
        g_string_append_printf(o, "label=\"%s\"];\n", status_name(r->status));
    }
    g_string_append_printf(o, "  %s -> result;\n", prev_name ? prev_name : "request");
    if (w->served) {
        g_string_append_printf(o, "  iotlb [shape=box, style=\"rounded,dashed\", %slabel=\"IOTLB "
                                  "hit\\n" X64 "%s\"];\n  request -> iotlb [style=dashed];\n",
                               w->stale ? "color=orange, " : "", (guint64)w->served_addr,
                               w->stale ? "\\n(STALE: used until invalidated)" : "");
    }
    g_string_append(o, "}\n");
}
