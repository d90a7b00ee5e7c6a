/*
 * Tests of the page-walk explainer and the Linux debugfs-format dumps
 * (src/explain):
 *   - golden text and JSON explanations of legacy, scalable first-stage,
 *     nested and stale-IOTLB walks, and a golden DOT picture;
 *   - golden dumps of every debugfs file for a legacy and a scalable
 *     machine programmed by the driver library (and an interrupt
 *     remapping table written by hand);
 *   - the explainer's verdict against the engine: vtd_unit_translate()
 *     over random requests on driver-built tables, and vtd_xlate over
 *     every single-bit corruption of nested and first-stage tables;
 *   - the explainer never changes the caches it inspects;
 *   - Graphviz renders the DOT output (skipped when `dot` is missing).
 *
 * Golden files live in tests/golden/explain-* and dump-*; run with
 * VTDSIM_UPDATE_GOLDEN=1 to rewrite them after a deliberate change (and
 * read the diff).
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check_util.h"
#include "driver/vtd_driver.h"
#include "explain/dump.h"
#include "explain/script.h"
#include "explain/walk.h"
#include "models/ref/ref_build.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"
#include "platform/platform.h"

#define POOL_BASE 0x1000000ull
#define POOL_SIZE (4ull << 20)
#define DEV_RID PCIE_BDF(0, 2, 0)
#define IRT_BASE 0x2000000ull

/* ---- golden files ------------------------------------------------------------ */

static void golden(const char *name, const char *actual)
{
    g_autofree char *path = g_strdup_printf("%s/tests/golden/%s", VTDSIM_SRCDIR, name);
    if (g_getenv("VTDSIM_UPDATE_GOLDEN"))
        g_file_set_contents(path, actual, -1, NULL);
    g_autofree char *want = NULL;
    ck_assert_msg(g_file_get_contents(path, &want, NULL, NULL), "missing golden file %s", path);
    if (strcmp(want, actual)) {
        g_autofree char *got = g_strdup_printf("%s.actual", name);
        g_file_set_contents(got, actual, -1, NULL);
        ck_abort_msg("output differs from %s (actual output in %s)", path, got);
    }
}

/* ---- a machine programmed by the driver library --------------------------------- */

typedef struct Fx {
    EmuSim *sim;
    Platform *p;
    VtdDrv *drv;
    PlatformVtd *v;
    VtdUnit *unit;
} Fx;

/* Broadwell-EP Xeon capabilities (interrupt remapping, posted interrupts). */
static const char legacy_platform[] =
    "[platform]\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\npasid = 20\npasid-priv = true\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon-bdw\nscope = all\n";

/* Xeon capabilities plus scalable mode with both stages, PASID and SRS. */
static const char scalable_platform[] =
    "[platform]\nfirmware = full\n"
    "[device dev]\ntype = endpoint\nbdf = 00:02.0\npasid = 20\npasid-priv = true\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    "ecap.SMTS = 1\necap.FSTS = 1\necap.SSTS = 1\necap.PASID = 1\necap.PSS = 19\n"
    "ecap.SRS = 1\ncap.FS1GP = 1\n";

static void fx_init(Fx *fx, const char *platform, VtdDrvMode mode, bool strict)
{
    GError *err = NULL;
    memset(fx, 0, sizeof *fx);
    fx->sim = vtdsim_platform_new_from_data(platform, "test", &err);
    ck_assert_msg(fx->sim != NULL, "%s", err ? err->message : "");
    fx->p = platform_get(fx->sim);
    fx->v = g_ptr_array_index(fx->p->vtd, 0);
    fx->unit = fx->v->unit;
    VtdDrvConfig cfg = {
        .reg_base = 0xFED90000, .mode = mode, .inval = VTD_DRV_INVAL_QUEUED,
        .pool_base = POOL_BASE, .pool_size = POOL_SIZE, .strict = strict,
    };
    fx->drv = vtd_drv_new(fx->sim, fx->p->mem, &cfg, &err);
    ck_assert_msg(fx->drv != NULL, "%s", err ? err->message : "");
}

static void fx_done(Fx *fx)
{
    vtd_drv_free(fx->drv);
    emu_sim_free(fx->sim);
}

static void ok(gboolean r, GError *err)
{
    ck_assert_msg(r, "%s", err ? err->message : "");
}

/*
 * Legacy: one second-stage domain for 00:02.0 with 0x1000 -> 0x200000 RW,
 * 0x2000 -> 0x201000 R, and a 2 MiB page 0x200000 -> 0x400000 RW.
 */
static VtdDom *legacy_setup(Fx *fx, bool strict)
{
    GError *err = NULL;
    fx_init(fx, legacy_platform, VTD_DRV_LEGACY, strict);
    VtdDom *dom = vtd_drv_domain_new(fx->drv, VTD_DOM_SECOND_STAGE, 0, &err);
    ck_assert_ptr_nonnull(dom);
    ok(vtd_drv_map(fx->drv, dom, 0x1000, 0x200000, 0x1000, VTD_PROT_READ | VTD_PROT_WRITE, 0x1000, &err), err);
    ok(vtd_drv_map(fx->drv, dom, 0x2000, 0x201000, 0x1000, VTD_PROT_READ, 0x1000, &err), err);
    ok(vtd_drv_map(fx->drv, dom, 0x200000, 0x400000, 0x200000, VTD_PROT_READ | VTD_PROT_WRITE, 0x200000, &err), err);
    ok(vtd_drv_attach(fx->drv, dom, DEV_RID, -1, &err), err);
    ok(vtd_drv_enable(fx->drv, &err), err);
    return dom;
}

/*
 * Scalable: requests without PASID use a second-stage domain (0x1000 ->
 * 0x200000 RW); PASID 1 a first-stage domain with 0x7000_0000_1000 ->
 * 0x250000 user RW and 0x7000_0000_2000 -> 0x251000 user R.
 */
static void scalable_setup(Fx *fx)
{
    GError *err = NULL;
    fx_init(fx, scalable_platform, VTD_DRV_SCALABLE, true);
    VtdDom *ss = vtd_drv_domain_new(fx->drv, VTD_DOM_SECOND_STAGE, 0, &err);
    VtdDom *fs = vtd_drv_domain_new(fx->drv, VTD_DOM_FIRST_STAGE, 4, &err);
    ck_assert_ptr_nonnull(ss);
    ck_assert_ptr_nonnull(fs);
    ok(vtd_drv_map(fx->drv, ss, 0x1000, 0x200000, 0x1000, VTD_PROT_READ | VTD_PROT_WRITE, 0x1000, &err), err);
    ok(vtd_drv_map(fx->drv, fs, 0x700000001000ull, 0x250000, 0x1000,
                   VTD_PROT_READ | VTD_PROT_WRITE | VTD_PROT_USER, 0x1000, &err), err);
    ok(vtd_drv_map(fx->drv, fs, 0x700000002000ull, 0x251000, 0x1000,
                   VTD_PROT_READ | VTD_PROT_USER, 0x1000, &err), err);
    ok(vtd_drv_attach(fx->drv, ss, DEV_RID, -1, &err), err);
    ok(vtd_drv_attach(fx->drv, fs, DEV_RID, 1, &err), err);
    ok(vtd_drv_enable(fx->drv, &err), err);
}

static VtdXlateRequest rq(uint64_t addr, bool write, int pasid, bool priv)
{
    VtdXlateRequest r = {.sid = DEV_RID, .addr = addr, .write = write, .len = 4,
                         .pasid_present = pasid >= 0, .pasid = pasid < 0 ? 0 : (uint32_t)pasid,
                         .priv = priv && pasid >= 0};
    return r;
}

static ExplainWalk *fx_explain(Fx *fx, VtdXlateRequest r)
{
    VtdXlate *xl = vtd_unit_xlate(fx->unit);
    return explain_walk(fx->p->mem, vtd_xlate_get_config(xl), xl, fx->v->name, &r);
}

static char *text_of(const ExplainWalk *w)
{
    GString *s = g_string_new(NULL);
    explain_format_text(w, s);
    return g_string_free(s, FALSE);
}

static char *json_of(const ExplainWalk *w)
{
    GString *s = g_string_new(NULL);
    explain_format_json(w, s);
    return g_string_free(s, FALSE);
}

static char *dot_of(const ExplainWalk *w)
{
    GString *s = g_string_new(NULL);
    explain_format_dot(w, s);
    return g_string_free(s, FALSE);
}

static char *dump_of(Fx *fx, const char *file)
{
    GString *s = g_string_new(NULL);
    GError *err = NULL;
    ok(explain_dump_file(fx->sim, file, s, &err), err);
    return g_string_free(s, FALSE);
}

/* The verdict fields the engine and the explainer must agree on. */
static void same_result(const VtdXlateResult *e, const VtdXlateResult *x, const char *what)
{
    ck_assert_msg(e->status == x->status, "%s: status engine %d explain %d", what, e->status,
                  x->status);
    if (e->status == VTD_XLATE_FAULT) {
        ck_assert_msg(e->fault_reason == x->fault_reason, "%s: reason engine 0x%x explain 0x%x",
                      what, e->fault_reason, x->fault_reason);
        ck_assert_msg(e->fault_record == x->fault_record, "%s: record", what);
        ck_assert_msg(e->fault_struct == x->fault_struct, "%s: struct %d %d", what,
                      e->fault_struct, x->fault_struct);
    } else if (e->status == VTD_XLATE_OK) {
        ck_assert_msg(e->out_addr == x->out_addr, "%s: out engine 0x%" G_GINT64_MODIFIER
                      "x explain 0x%" G_GINT64_MODIFIER "x", what, (guint64)e->out_addr,
                      (guint64)x->out_addr);
        ck_assert_msg(e->page_size == x->page_size, "%s: page size", what);
        ck_assert_msg(e->perm == x->perm, "%s: perm engine %x explain %x", what, e->perm, x->perm);
        ck_assert_msg(e->did == x->did, "%s: did", what);
        ck_assert_msg(e->pgtt == x->pgtt, "%s: pgtt", what);
        ck_assert_msg(e->snoop == x->snoop, "%s: snoop", what);
        ck_assert_msg(e->global == x->global, "%s: global", what);
    }
}

/* ---- explainer goldens ------------------------------------------------------------ */

START_TEST(test_legacy_read_golden)
{
    Fx fx;
    legacy_setup(&fx, true);
    /* a first DMA fills the caches, so the report shows hits */
    VtdXlateResult er;
    VtdXlateRequest r = rq(0x1008, false, -1, false);
    vtd_unit_translate(fx.unit, &r, &er);
    ExplainWalk *w = fx_explain(&fx, r);
    ck_assert_int_eq(w->res.status, VTD_XLATE_OK);
    ck_assert_uint_eq(w->res.out_addr, 0x200008);
    ck_assert(w->iotlb_hit);
    ck_assert(!w->stale);
    g_autofree char *t = text_of(w);
    g_autofree char *j = json_of(w);
    golden("explain-legacy-read.txt", t);
    golden("explain-legacy-read.json", j);
    explain_walk_free(w);
    fx_done(&fx);
}
END_TEST

START_TEST(test_legacy_fault_golden)
{
    Fx fx;
    legacy_setup(&fx, true);
    ExplainWalk *w = fx_explain(&fx, rq(0x2010, true, -1, false));
    ck_assert_int_eq(w->res.status, VTD_XLATE_FAULT);
    ck_assert_uint_eq(w->res.fault_reason, VTD_FR_WRITE_DENIED);
    g_autofree char *t = text_of(w);
    g_autofree char *j = json_of(w);
    /* the wording comes from the one fault-reason table */
    ck_assert_ptr_nonnull(strstr(t, vtd_fault_reason_str(VTD_FR_WRITE_DENIED)));
    ck_assert_uint_ge(w->linux_log->len, 3);
    ck_assert_str_eq(g_ptr_array_index(w->linux_log, 0),
                     "DMAR: [DMA Write NO_PASID] Request device [00:02.0] fault addr 0x2000 "
                     "[fault reason 0x05] Write request to a page without write permission");
    ck_assert_str_eq(g_ptr_array_index(w->linux_log, 1),
                     "DMAR: Dump dmar0 table entries for IOVA 0x2000");
    golden("explain-legacy-write-fault.txt", t);
    golden("explain-legacy-write-fault.json", j);
    explain_walk_free(w);
    fx_done(&fx);
}
END_TEST

START_TEST(test_scalable_fs_golden)
{
    Fx fx;
    scalable_setup(&fx);
    ExplainWalk *w = fx_explain(&fx, rq(0x700000001008ull, true, 1, false));
    ck_assert_int_eq(w->res.status, VTD_XLATE_OK);
    ck_assert_uint_eq(w->res.out_addr, 0x250008);
    ck_assert_uint_eq(w->res.pgtt, VTD_PGTT_FIRST_STAGE);
    g_autofree char *t = text_of(w);
    g_autofree char *j = json_of(w);
    golden("explain-scalable-fs.txt", t);
    golden("explain-scalable-fs.json", j);
    explain_walk_free(w);
    /* a user write to the read-only page: 0x85 with the spec's wording */
    w = fx_explain(&fx, rq(0x700000002000ull, true, 1, false));
    ck_assert_uint_eq(w->res.fault_reason, VTD_FR_SM_WRITE_DENIED);
    explain_walk_free(w);
    fx_done(&fx);
}
END_TEST

/* Stale IOTLB: lazy unmap, remap elsewhere, no flush. */
START_TEST(test_stale_iotlb)
{
    Fx fx;
    GError *err = NULL;
    VtdDom *dom = legacy_setup(&fx, false);
    VtdXlateRequest r = rq(0x1008, false, -1, false);
    VtdXlateResult er;
    vtd_unit_translate(fx.unit, &r, &er);
    ck_assert_uint_eq(er.out_addr, 0x200008);
    ok(vtd_drv_unmap(fx.drv, dom, 0x1000, 0x1000, &err), err);
    ok(vtd_drv_map(fx.drv, dom, 0x1000, 0x300000, 0x1000, VTD_PROT_READ | VTD_PROT_WRITE, 0x1000, &err), err);
    VtdXlate *xl = vtd_unit_xlate(fx.unit);
    VtdCacheStats before;
    vtd_xlate_get_stats(xl, VTD_CACHE_IOTLB, &before);
    ExplainWalk *w = fx_explain(&fx, r);
    VtdCacheStats after;
    vtd_xlate_get_stats(xl, VTD_CACHE_IOTLB, &after);
    ck_assert_uint_eq(before.lookups, after.lookups);   /* peeking is not a lookup */
    ck_assert_uint_eq(w->res.out_addr, 0x300008);       /* what the tables say */
    ck_assert(w->stale);
    ck_assert(w->served);
    ck_assert_uint_eq(w->served_addr, 0x200008);        /* what the IOTLB still says */
    vtd_unit_translate(fx.unit, &r, &er);
    ck_assert_uint_eq(er.out_addr, w->served_addr);      /* and the hardware agrees */
    g_autofree char *t = text_of(w);
    ck_assert_ptr_nonnull(strstr(t, "STALE"));
    golden("explain-stale-iotlb.txt", t);
    explain_walk_free(w);
    /* after the flush the warning is gone */
    ok(vtd_drv_flush(fx.drv, dom, 0x1000, 0x1000, &err), err);
    w = fx_explain(&fx, r);
    ck_assert(!w->stale);
    ck_assert(!w->iotlb_hit);
    explain_walk_free(w);
    fx_done(&fx);
}
END_TEST

/* ---- a nested world on ref_build tables ---------------------------------------------- */

typedef struct Nw {
    RefMem *m;
    VtdXlate *x;
    VtdXlateConfig cfg;
    uint64_t ents[64];       /* addresses of every table entry on the paths, for corruption */
    unsigned words[64];      /* its size in 64-bit words */
    unsigned nents;
} Nw;

#define N_SID PCIE_BDF(0, 2, 0)
#define N_PASID 5
#define N_VA 0x7f0000001000ull

static uint64_t n_cap(void)
{
    uint64_t cap = 0;
    cap = vtd_cap_set_SAGAW(cap, VTD_SAGAW_39 | VTD_SAGAW_48);
    cap = vtd_cap_set_MGAW(cap, 47);
    cap = vtd_cap_set_SLLPS(cap, VTD_SLLPS_2M | VTD_SLLPS_1G);
    cap = vtd_cap_set_FS1GP(cap, 1);
    return cap;
}

static uint64_t n_ecap(void)
{
    uint64_t e = 0;
    e = vtd_ecap_set_QI(e, 1);
    e = vtd_ecap_set_DT(e, 1);
    e = vtd_ecap_set_PT(e, 1);
    e = vtd_ecap_set_NEST(e, 1);
    e = vtd_ecap_set_SRS(e, 1);
    e = vtd_ecap_set_PSS(e, 19);
    e = vtd_ecap_set_PASID(e, 1);
    e = vtd_ecap_set_SMTS(e, 1);
    e = vtd_ecap_set_SSADS(e, 1);
    e = vtd_ecap_set_SSTS(e, 1);
    e = vtd_ecap_set_FSTS(e, 1);
    e = vtd_ecap_set_RPS(e, 1);
    return e;
}

static void n_ent(Nw *n, uint64_t addr, unsigned words)
{
    g_assert(n->nents < G_N_ELEMENTS(n->ents));
    n->ents[n->nents] = addr;
    n->words[n->nents++] = words;
}

/*
 * Device 00:02.0, PASID 5 nested (DID 3): the first stage (4-level, tables
 * in GPA = HPA) maps 0x7f0000001000 -> GPA 0x50001000 user RW; the second
 * stage (3-level) maps each first-stage table page with its own 4 KiB page
 * (identity) and GPA 0x50000000 2 MiB -> HPA 0x60000000.  PASID 6 is
 * first-stage only with the same first-stage tables; requests without
 * PASID use PASID 6 (RID_PASID) as supervisor requests would not: user.
 */
static Nw *nested_world(void)
{
    Nw *n = g_new0(Nw, 1);
    n->m = ref_mem_new(40, 1ull << 32, 0x100000);
    n->x = vtd_xlate_new(NULL, n->m->as, NULL);
    n->cfg.cap = n_cap();
    n->cfg.ecap = n_ecap();
    n->cfg.te = true;
    uint64_t rta = ref_alloc_page(n->m);
    uint64_t ctp = ref_alloc_page(n->m);
    uint64_t dir = ref_alloc_page(n->m);
    n->cfg.rtaddr = rta | (1u << 10);
    n_ent(n, ref_set_root(n->m, rta, 0, ctp | 1, 0), 2);
    uint64_t ctx[4] = {dir | 1 | 8, N_PASID + 1, 0, 0};    /* P, PASIDE, PDTS 0, RID_PASID 6 */
    n_ent(n, ref_set_sm_context(n->m, ctp, 0x10, ctx), 4);
    uint64_t ss = 0, fs = 0;
    n_ent(n, ref_map(n->m, REF_FMT_FS, &fs, 4, N_VA, 0x50001000, 1, 7, 7), 1);
    for (unsigned lvl = 2; lvl <= 4; lvl++)
        n_ent(n, ref_entry_addr(n->m, REF_FMT_FS, fs, 4, N_VA, lvl), 1);
    /* the second stage maps each first-stage table page (identity, R+W) */
    for (unsigned lvl = 1; lvl <= 4; lvl++) {
        uint64_t page = lvl == 4 ? fs : ref_entry_addr(n->m, REF_FMT_FS, fs, 4, N_VA, lvl) & ~0xfffull;
        n_ent(n, ref_map(n->m, REF_FMT_SS, &ss, 3, page, page, 1, 3, 3), 1);
    }
    n_ent(n, ref_map(n->m, REF_FMT_SS, &ss, 3, 0x50000000, 0x60000000, 2, 3, 3), 1);
    n_ent(n, ref_entry_addr(n->m, REF_FMT_SS, ss, 3, 0x50000000, 3), 1);
    n_ent(n, ref_entry_addr(n->m, REF_FMT_SS, ss, 3, fs, 2), 1);
    /* PASID 5: nested, AW=1 (3-level SS), DID 3, SRE */
    uint64_t pe[8] = {ss | (1u << 2) | (3u << 6) | 1, 3, fs | 1, 0, 0, 0, 0, 0};
    n_ent(n, ref_set_pasid_entry(n->m, dir, N_PASID, pe), 3);
    uint64_t pe6[8] = {(1u << 6) | (2u << 2) | 1, 4, fs | 1, 0, 0, 0, 0, 0};
    n_ent(n, ref_set_pasid_entry(n->m, dir, N_PASID + 1, pe6), 3);
    n_ent(n, dir, 1);
    vtd_xlate_set_config(n->x, &n->cfg);
    return n;
}

static void nested_free(Nw *n)
{
    vtd_xlate_free(n->x);
    ref_mem_free(n->m);
    g_free(n);
}

static ExplainWalk *n_explain(Nw *n, VtdXlateRequest r)
{
    return explain_walk(n->m->as, &n->cfg, n->x, "dmar0", &r);
}

START_TEST(test_nested_golden)
{
    Nw *n = nested_world();
    VtdXlateRequest r = {.sid = N_SID, .pasid_present = true, .pasid = N_PASID,
                         .addr = N_VA + 8, .len = 4};
    ExplainWalk *w = n_explain(n, r);
    ck_assert_int_eq(w->res.status, VTD_XLATE_OK);
    ck_assert_uint_eq(w->res.out_addr, 0x60001008);
    ck_assert_uint_eq(w->res.pgtt, VTD_PGTT_NESTED);
    /* every first-stage table pointer (4) and the output (1) go through the second stage */
    unsigned sub = 0, fs = 0, ss0 = 0;
    for (guint i = 0; i < w->steps->len; i++) {
        const ExplainStep *s = g_ptr_array_index(w->steps, i);
        sub += s->depth == 1;
        fs += s->kind == EXPLAIN_FS;
        ss0 += s->kind == EXPLAIN_SS && s->depth == 0;
    }
    ck_assert_uint_eq(sub, 12);         /* a 3-level SS walk per FS table (4) */
    ck_assert_uint_eq(fs, 4);
    ck_assert_uint_eq(ss0, 2);          /* the output GPA: PDPE then the 2 MiB PDE */
    VtdXlateResult er;
    vtd_xlate_translate(n->x, &r, &er);
    same_result(&er, &w->res, "nested");
    g_autofree char *t = text_of(w);
    g_autofree char *d = dot_of(w);
    golden("explain-nested.txt", t);
    golden("explain-nested.dot", d);
    explain_walk_free(w);
    nested_free(n);
}
END_TEST

START_TEST(test_dot_renders)
{
    g_autofree char *dot = g_find_program_in_path("dot");
    if (!dot) {
        printf("check_explain: Graphviz dot not installed, DOT rendering not tested\n");
        return;
    }
    Nw *n = nested_world();
    VtdXlateRequest r = {.sid = N_SID, .pasid_present = true, .pasid = N_PASID,
                         .addr = N_VA + 8, .len = 4, .write = true};
    ExplainWalk *w = n_explain(n, r);
    g_autofree char *d = dot_of(w);
    g_autofree char *tmp = NULL;
    int fd = g_file_open_tmp("explain-XXXXXX.dot", &tmp, NULL);
    ck_assert_int_ge(fd, 0);
    close(fd);
    ck_assert(g_file_set_contents(tmp, d, -1, NULL));
    char *argv[] = {dot, (char *)"-Tsvg", tmp, NULL};
    g_autofree char *out = NULL, *errs = NULL;
    int status = 0;
    ck_assert(g_spawn_sync(NULL, argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &errs, &status, NULL));
    unlink(tmp);
    ck_assert_msg(g_spawn_check_wait_status(status, NULL), "dot failed: %s", errs);
    ck_assert_msg(!errs || !*errs, "dot warned: %s", errs);
    ck_assert_ptr_nonnull(strstr(out, "<svg"));
    ck_assert_ptr_nonnull(strstr(out, "0x0000000060001008"));
    explain_walk_free(w);
    nested_free(n);
}
END_TEST

/*
 * Every single-bit corruption of every entry on the nested and first-stage
 * paths, under reads and writes, user and supervisor, with and without
 * PASID: explainer and engine must agree on every request.  Memory is
 * restored (A/D flags included) after each corruption.
 */
START_TEST(test_nested_bitflips_vs_engine)
{
    Nw *n = nested_world();
    uint64_t snap[64][4];
    for (unsigned i = 0; i < n->nents; i++)
        for (unsigned k = 0; k < n->words[i]; k++)
            snap[i][k] = ref_rd64(n->m, n->ents[i] + 8 * k);
    static const struct {
        int pasid;
        bool write, priv, ats;
        uint64_t addr;
    } reqs[] = {
        {N_PASID, false, false, false, N_VA + 8},
        {N_PASID, true, false, false, N_VA + 8},
        {N_PASID + 1, true, true, false, N_VA + 0x10},
        {-1, false, false, false, N_VA},
        {N_PASID, false, false, true, N_VA},
        {N_PASID, false, false, false, 0x8000000000001000ull},
    };
    bool seen[256] = {false};
    unsigned n_ok = 0, pairs = 0;
    for (unsigned i = 0; i < n->nents; i++) {
        for (unsigned k = 0; k < n->words[i]; k++) {
            uint64_t a = n->ents[i] + 8 * k;
            for (unsigned bit = 0; bit < 64; bit++) {
                for (unsigned r = 0; r < G_N_ELEMENTS(reqs); r++) {
                    ref_wr64(n->m, a, snap[i][k] ^ (1ull << bit));
                    VtdXlateRequest q = {.sid = N_SID, .len = 4, .addr = reqs[r].addr,
                                         .pasid_present = reqs[r].pasid >= 0,
                                         .pasid = reqs[r].pasid < 0 ? 0 : (uint32_t)reqs[r].pasid,
                                         .write = reqs[r].write, .priv = reqs[r].priv,
                                         .at = reqs[r].ats ? VTD_AT_TRANSLATION
                                                           : VTD_AT_UNTRANSLATED};
                    ExplainWalk *w = n_explain(n, q);
                    VtdXlateResult er;
                    vtd_xlate_flush_all(n->x);
                    vtd_xlate_translate(n->x, &q, &er);
                    g_autofree char *what = g_strdup_printf("entry 0x%" G_GINT64_MODIFIER
                                                            "x bit %u, request %u",
                                                            (guint64)a, bit, r);
                    same_result(&er, &w->res, what);
                    if (er.status == VTD_XLATE_FAULT)
                        seen[er.fault_reason] = true;
                    n_ok += er.status == VTD_XLATE_OK;
                    pairs++;
                    explain_walk_free(w);
                    for (unsigned j = 0; j < n->nents; j++)
                        for (unsigned kk = 0; kk < n->words[j]; kk++)
                            ref_wr64(n->m, n->ents[j] + 8 * kk, snap[j][kk]);
                }
            }
        }
    }
    /* the corruptions reached every kind of check on the way */
    static const uint8_t want[] = {0x39, 0x3A, 0x41, 0x42, 0x43, 0x51, 0x52, 0x59, 0x5A, 0x5B,
                                   0x5D, 0x71, 0x72, 0x74, 0x75, 0x76, 0x77, 0x79, 0x7A, 0x80,
                                   0x81, 0x85};
    for (unsigned i = 0; i < sizeof want; i++)
        ck_assert_msg(seen[want[i]], "no bit flip produced fault 0x%02x", want[i]);
    ck_assert_uint_gt(n_ok, pairs / 4);
    nested_free(n);
}
END_TEST

/* Random requests on driver-built tables: explain_walk vs vtd_unit_translate. */
static void random_vs_unit(Fx *fx, const int *pasids, unsigned npasids, const uint64_t *bases,
                           unsigned nbases, unsigned seed)
{
    GRand *rnd = g_rand_new_with_seed(seed);
    unsigned n_ok = 0, n_fault = 0;
    for (unsigned it = 0; it < 400; it++) {
        int pasid = pasids[g_rand_int_range(rnd, 0, (gint32)npasids)];
        uint64_t addr = bases[g_rand_int_range(rnd, 0, (gint32)nbases)] +
                        (uint64_t)g_rand_int_range(rnd, 0, 0x3000);
        VtdXlateRequest r = rq(addr, g_rand_boolean(rnd), pasid, g_rand_boolean(rnd));
        ExplainWalk *w = fx_explain(fx, r);
        VtdXlateResult er;
        vtd_unit_translate(fx->unit, &r, &er);
        g_autofree char *what = g_strdup_printf("request %u: %s 0x%" G_GINT64_MODIFIER "x pasid %d",
                                                it, r.write ? "write" : "read", (guint64)addr, pasid);
        same_result(&er, &w->res, what);
        /* consistent tables (strict driver): a cached answer is never stale */
        ck_assert_msg(!w->stale, "%s: stale", what);
        n_ok += er.status == VTD_XLATE_OK;
        n_fault += er.status == VTD_XLATE_FAULT;
        explain_walk_free(w);
    }
    ck_assert_uint_gt(n_ok, 50);
    ck_assert_uint_gt(n_fault, 50);
    g_rand_free(rnd);
}

START_TEST(test_legacy_random_vs_unit)
{
    Fx fx;
    legacy_setup(&fx, true);
    static const int pasids[] = {-1};
    static const uint64_t bases[] = {0, 0x1000, 0x200000, 0x3ff000, 0x7ffff000, 0x8000000000ull};
    random_vs_unit(&fx, pasids, 1, bases, G_N_ELEMENTS(bases), 1);
    fx_done(&fx);
}
END_TEST

START_TEST(test_scalable_random_vs_unit)
{
    Fx fx;
    scalable_setup(&fx);
    static const int pasids[] = {-1, -1, 1, 1, 1, 2, 0x4000};
    static const uint64_t bases[] = {0, 0x700000000000ull, 0x700000001000ull, 0x700000001000ull,
                                     0x800000000000ull};
    random_vs_unit(&fx, pasids, G_N_ELEMENTS(pasids), bases, G_N_ELEMENTS(bases), 2);
    fx_done(&fx);
}
END_TEST

/* ---- dumps ------------------------------------------------------------------------------- */

static void write32(Fx *fx, uint64_t off, uint32_t v)
{
    addr_space_write(fx->p->mem, 0xFED90000 + off, 4, v);
}

/* One global command at a time, keeping the enables already on (as a driver does). */
static void gcmd(Fx *fx, uint32_t bit)
{
    uint32_t sts = (uint32_t)vtd_unit_reg_peek(fx->unit, VTD_GSTS_REG, 4);
    uint32_t keep = sts & (VTD_GSTS_TES | VTD_GSTS_QIES | VTD_GSTS_IRES | VTD_GSTS_CFIS);
    write32(fx, VTD_GCMD_REG, keep | bit);
}

/* An interrupt remapping table of 256 entries with two remapped IRTEs and one posted. */
static void ir_setup(Fx *fx)
{
    AddrSpace *m = fx->p->mem;
    addr_space_write(m, IRT_BASE + 0 * 16, 8, 0x000000800024000dull);
    addr_space_write(m, IRT_BASE + 0 * 16 + 8, 8, 0x0000000000040050ull);
    addr_space_write(m, IRT_BASE + 3 * 16, 8, 0x0000000100410001ull);
    addr_space_write(m, IRT_BASE + 3 * 16 + 8, 8, 0x0000000000040010ull);
    /* posted (IM=1): PDA 0x12345640, high 0x1, vector 0x51 */
    addr_space_write(m, IRT_BASE + 7 * 16, 8, (0x12345640ull >> 6) << 38 | 0x51ull << 16 | 1u << 15 | 1);
    addr_space_write(m, IRT_BASE + 7 * 16 + 8, 8, 0x0000000100040010ull);
    addr_space_write(m, 0xFED90000 + VTD_IRTA_REG, 8, IRT_BASE | 7);
    gcmd(fx, VTD_GCMD_SIRTP);
    gcmd(fx, VTD_GCMD_IRE);
}

START_TEST(test_dump_legacy_golden)
{
    Fx fx;
    legacy_setup(&fx, true);
    ir_setup(&fx);
    g_autofree char *regset = dump_of(&fx, "iommu_regset");
    g_autofree char *dmar = dump_of(&fx, "dmar_translation_struct");
    g_autofree char *dom = dump_of(&fx, "0000:00:02.0/domain_translation_struct");
    g_autofree char *iq = dump_of(&fx, "invalidation_queue");
    g_autofree char *ir = dump_of(&fx, "ir_translation_struct");
    /* shape checks that do not depend on the golden files */
    ck_assert(g_str_has_prefix(regset, "IOMMU: dmar0 Register Base Address: fed90000\n"
                                       "Name\t\t\tOffset\t\tContents\nVER             \t0x00\t\t"));
    ck_assert_ptr_nonnull(strstr(dmar, "\n00:02.0\t0x0000000000000000:0x"));
    ck_assert_ptr_nonnull(strstr(dmar, "\t-1    \t0x0000000000000000:0x0000000000000000:0x0000000000000000\n"));
    ck_assert_ptr_nonnull(strstr(dom, "\n0x0000000000200 |\t0x0000000000000000\t"));
    ck_assert_ptr_nonnull(strstr(iq, "Index\t\tqw0\t\t\tqw1\t\t\tstatus\n    0\t"));
    ck_assert_ptr_nonnull(strstr(ir, " 0     00:0a.0 00000080 24  0000000000040050\t000000800024000d\n"));
    ck_assert_ptr_nonnull(strstr(ir, " 7     00:02.0 00000001 12345640 51  "));
    /* the posted entry is not in the remapped table, which comes before "****" */
    const char *stars = strstr(ir, "****\n");
    ck_assert_ptr_nonnull(stars);
    ck_assert(strstr(ir, " 7     ") > stars);
    ck_assert(strstr(ir, " 3     00:02.0 00000001 41  ") < stars);
    golden("dump-legacy-iommu_regset.txt", regset);
    golden("dump-legacy-dmar_translation_struct.txt", dmar);
    golden("dump-legacy-domain_translation_struct.txt", dom);
    golden("dump-legacy-invalidation_queue.txt", iq);
    golden("dump-legacy-ir_translation_struct.txt", ir);
    char **files = explain_dump_files(fx.sim);
    ck_assert_uint_eq(g_strv_length(files), 5);
    ck_assert_str_eq(files[4], "0000:00:02.0/domain_translation_struct");
    g_strfreev(files);
    fx_done(&fx);
}
END_TEST

START_TEST(test_dump_scalable_golden)
{
    Fx fx;
    scalable_setup(&fx);
    g_autofree char *dmar = dump_of(&fx, "dmar_translation_struct");
    g_autofree char *dom = dump_of(&fx, "domain_translation_struct");
    g_autofree char *iq = dump_of(&fx, "invalidation_queue");
    g_autofree char *ir = dump_of(&fx, "ir_translation_struct");
    /* two present PASID entries: 0 (RID_PASID) and 1 */
    ck_assert_ptr_nonnull(strstr(dmar, "\t0     \t0x"));
    ck_assert_ptr_nonnull(strstr(dmar, "\t1     \t0x"));
    ck_assert_ptr_nonnull(strstr(dom, "Device 0000:00:02.0 with pasid 1 @0x"));
    ck_assert_ptr_nonnull(strstr(dom, "\n0x0000700000001 |\t0x0000000000000000\t0x"));
    ck_assert_ptr_nonnull(strstr(iq, "Index\t\tqw0\t\t\tqw1\t\t\tqw2\t\t\tqw3\t\t\tstatus\n"));
    ck_assert_ptr_nonnull(strstr(ir, "Interrupt Remapping is not enabled\n"));
    golden("dump-scalable-dmar_translation_struct.txt", dmar);
    golden("dump-scalable-domain_translation_struct.txt", dom);
    golden("dump-scalable-invalidation_queue.txt", iq);
    g_autofree char *regset = dump_of(&fx, "iommu_regset");
    /* RTADDR with TTM=01, GSTS with TES|RTPS|QIES */
    ck_assert_ptr_nonnull(strstr(regset, "\nGSTS            \t0x1c\t\t0x00000000c4000000\n"));
    golden("dump-scalable-iommu_regset.txt", regset);
    golden("dump-scalable-ir_translation_struct.txt", ir);
    char **files = explain_dump_files(fx.sim);
    ck_assert_uint_eq(g_strv_length(files), 6);
    ck_assert_str_eq(files[5], "0000:00:02.0/1/domain_translation_struct");
    g_strfreev(files);
    GError *err = NULL;
    GString *s = g_string_new(NULL);
    ck_assert(!explain_dump_file(fx.sim, "nonsense", s, &err));
    ck_assert_ptr_nonnull(strstr(err->message, "'nonsense'"));
    g_clear_error(&err);
    g_string_free(s, TRUE);
    fx_done(&fx);
}
END_TEST

START_TEST(test_dump_disabled)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(NULL, &err);
    ck_assert_ptr_nonnull(sim);
    GString *s = g_string_new(NULL);
    ck_assert(explain_dump_file(sim, "dmar_translation_struct", s, &err));
    ck_assert_str_eq(s->str, "DMA Remapping is not enabled on dmar0\n");
    g_string_truncate(s, 0);
    ck_assert(explain_dump_file(sim, "invalidation_queue", s, &err));
    ck_assert_str_eq(s->str, "");
    g_string_free(s, TRUE);
    emu_sim_free(sim);
}
END_TEST

/* ---- setup scripts ------------------------------------------------------------------------- */

START_TEST(test_script_errors)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(NULL, &err);
    ck_assert(explain_run_script_text(sim, "# comment\n\nwritel 0x100000 0x1\n", "s.qtest", &err));
    ck_assert(!explain_run_script_text(sim, "writel 0x100000 0x1\nbogus 1 2\n", "s.qtest", &err));
    ck_assert_str_eq(err->message, "s.qtest:2: 'bogus 1 2' answered 'FAIL Unknown command 'bogus''");
    g_clear_error(&err);
    ck_assert(!explain_run_script(sim, "/nonexistent/x.qtest", &err));
    ck_assert_ptr_nonnull(strstr(err->message, "/nonexistent/x.qtest"));
    g_clear_error(&err);
    emu_sim_free(sim);
}
END_TEST

/* TE=0, the interrupt window, and JSON escaping. */
START_TEST(test_special_requests)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(NULL, &err);
    Platform *p = platform_get(sim);
    PlatformVtd *v = g_ptr_array_index(p->vtd, 0);
    VtdXlate *xl = vtd_unit_xlate(v->unit);
    VtdXlateRequest r = {.sid = 0x8, .addr = 0x1234, .len = 4};
    ExplainWalk *w = explain_walk(p->mem, vtd_xlate_get_config(xl), xl, "dmar0", &r);
    ck_assert_int_eq(w->res.status, VTD_XLATE_OK);
    ck_assert_uint_eq(w->res.out_addr, 0x1234);
    explain_walk_free(w);
    r.addr = 0xfee00000;
    r.write = true;
    w = explain_walk(p->mem, vtd_xlate_get_config(xl), xl, "dmar0", &r);
    ck_assert_int_eq(w->res.status, VTD_XLATE_INTERRUPT);
    explain_walk_free(w);
    GString *s = g_string_new(NULL);
    explain_json_string(s, "a\"b\\c\n\x01");
    ck_assert_str_eq(s->str, "\"a\\\"b\\\\c\\n\\u0001\"");
    g_string_free(s, TRUE);
    emu_sim_free(sim);
}
END_TEST

static Suite *suite_explain(void)
{
    Suite *s = suite_create("explain");
    TCase *tc = tcase_create("golden");
    tcase_add_test(tc, test_legacy_read_golden);
    tcase_add_test(tc, test_legacy_fault_golden);
    tcase_add_test(tc, test_scalable_fs_golden);
    tcase_add_test(tc, test_stale_iotlb);
    tcase_add_test(tc, test_nested_golden);
    tcase_add_test(tc, test_dot_renders);
    suite_add_tcase(s, tc);
    tc = tcase_create("differential");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_nested_bitflips_vs_engine);
    tcase_add_test(tc, test_legacy_random_vs_unit);
    tcase_add_test(tc, test_scalable_random_vs_unit);
    suite_add_tcase(s, tc);
    tc = tcase_create("dump");
    tcase_add_test(tc, test_dump_legacy_golden);
    tcase_add_test(tc, test_dump_scalable_golden);
    tcase_add_test(tc, test_dump_disabled);
    tcase_add_test(tc, test_script_errors);
    tcase_add_test(tc, test_special_requests);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_explain)
