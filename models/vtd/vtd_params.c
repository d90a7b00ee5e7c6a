/*
 * VT-d unit parameters: presets, platform-file keys and validation.
 *
 * A remapping unit is described by what software can see of it (VER, CAP,
 * ECAP, the host address width) plus the geometry of its caches, which
 * software cannot see but which decides when a stale translation survives.
 * Presets give the two configurations we compare against:
 *
 *  - "qemu-7.2": what QEMU 7.2's intel-iommu reports with intremap=off and
 *    its other defaults (aw-bits=39, pt=on, dma-drain=on, caching-mode=off,
 *    device-iotlb=off, no scalable mode): VER 0x10, CAP 0xd2008c22260206
 *    (ND=6, SAGAW=39-bit, MGAW=38, FRO=0x22, SLLPS=2M+1G, PSI, NFR=0,
 *    MAMV=18, DWD, DRD) and ECAP 0xf42 (QI, PT, IRO=0xF).
 *  - "xeon": a Haswell-EP Xeon E5-2620 v3 as Linux printed it (timing.md
 *    row 32): CAP 0xd2078c106f0466 (ND=6, PLMR, PHMR, SAGAW=48-bit, MGAW=47,
 *    ZLR, FRO=0x10, SLLPS=2M+1G, PSI, NFR=7, MAMV=18, DWD, DRD) and ECAP
 *    0xf020df (C, QI, DT, IR, EIM, PT, SC, IRO=0x20, MHMV=15).
 *    "xeon-bdw" is the Broadwell E5-2630 v4: the same with CAP.PI set.
 *
 * The keyfile reader treats every key it does not know as an error, so a
 * typo in a platform file is reported rather than silently ignored.
 */
#include <string.h>
#include <errno.h>
#include "models/vtd/vtd_internal.h"

G_DEFINE_QUARK(vtd-error-quark, vtd_error)

typedef struct VtdFieldDesc {
    const char *name;
    unsigned lo, len;
} VtdFieldDesc;

static const VtdFieldDesc vtd_cap_fields[] = {
#define VTD_CAP_ROW(name, lo, len) { #name, lo, len },
    VTD_CAP_FIELDS(VTD_CAP_ROW)
#undef VTD_CAP_ROW
};

static const VtdFieldDesc vtd_ecap_fields[] = {
#define VTD_ECAP_ROW(name, lo, len) { #name, lo, len },
    VTD_ECAP_FIELDS(VTD_ECAP_ROW)
#undef VTD_ECAP_ROW
};

static void vtd_params_base(VtdParams *p)
{
    memset(p, 0, sizeof(*p));
    p->ver = 0x10;
    vtd_cache_params_default(&p->cache);
}

void vtd_params_default(VtdParams *p)
{
    vtd_params_base(p);
    p->cap = vtd_cap_set_NFR(VTD_QEMU72_CAP, 7);
    p->ecap = VTD_QEMU72_ECAP;
}

gboolean vtd_params_preset(VtdParams *p, const char *name, GError **error)
{
    if (strcmp(name, "qemu-7.2") == 0) {
        vtd_params_base(p);
        p->cap = VTD_QEMU72_CAP;
        p->ecap = VTD_QEMU72_ECAP;
        return TRUE;
    }
    if (strcmp(name, "xeon") == 0 || strcmp(name, "xeon-bdw") == 0) {
        vtd_params_base(p);
        p->cap = VTD_XEON_CAP;
        if (strcmp(name, "xeon-bdw") == 0)
            p->cap = vtd_cap_set_PI(p->cap, 1);
        p->ecap = VTD_XEON_ECAP;
        return TRUE;
    }
    g_set_error(error, VTD_ERROR, 0, "preset: unknown VT-d preset '%s' (known: qemu-7.2, xeon, xeon-bdw)",
                name);
    return FALSE;
}

static gboolean vtd_parse_u64(const char *key, const char *text, uint64_t max, uint64_t *out,
                              GError **error)
{
    char *end = NULL;
    const char *s = text;
    while (g_ascii_isspace(*s))
        s++;
    if (*s == '\0' || *s == '-') {
        g_set_error(error, VTD_ERROR, 0, "%s: '%s' is not an unsigned number", key, text);
        return FALSE;
    }
    errno = 0;
    guint64 v = g_ascii_strtoull(s, &end, 0);
    while (end && g_ascii_isspace(*end))
        end++;
    if (errno != 0 || end == s || (end && *end != '\0')) {
        g_set_error(error, VTD_ERROR, 0, "%s: '%s' is not an unsigned number", key, text);
        return FALSE;
    }
    if (v > max) {
        g_set_error(error, VTD_ERROR, 0, "%s: value %s does not fit (maximum 0x%" G_GINT64_MODIFIER "x)",
                    key, text, (guint64)max);
        return FALSE;
    }
    *out = v;
    return TRUE;
}

static const VtdFieldDesc *vtd_find_field(const VtdFieldDesc *t, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (g_ascii_strcasecmp(t[i].name, name) == 0)
            return &t[i];
    return NULL;
}

static gboolean vtd_parse_cache_key(VtdParams *p, const char *key, const char *val, GError **error)
{
    /* cache.<name>.<what> */
    const char *rest = key + strlen("cache.");
    const char *dot = strrchr(rest, '.');
    if (!dot)
        goto unknown;
    for (int id = 0; id < VTD_CACHE_COUNT; id++) {
        const char *cname = vtd_cache_name((VtdCacheId)id);
        if (strlen(cname) != (size_t)(dot - rest) || strncmp(rest, cname, (size_t)(dot - rest)) != 0)
            continue;
        VtdCacheGeom *g = &p->cache.cache[id];
        const char *what = dot + 1;
        uint64_t v;
        if (strcmp(what, "entries") == 0) {
            if (!vtd_parse_u64(key, val, 1u << 20, &v, error))
                return FALSE;
            g->entries = (unsigned)v;
        } else if (strcmp(what, "assoc") == 0) {
            if (!vtd_parse_u64(key, val, 1u << 20, &v, error))
                return FALSE;
            g->assoc = (unsigned)v;
        } else if (strcmp(what, "seed") == 0) {
            if (!vtd_parse_u64(key, val, UINT64_MAX, &v, error))
                return FALSE;
            g->seed = v;
        } else if (strcmp(what, "repl") == 0) {
            if (g_ascii_strcasecmp(val, "lru") == 0)
                g->repl = VTD_REPL_LRU;
            else if (g_ascii_strcasecmp(val, "fifo") == 0)
                g->repl = VTD_REPL_FIFO;
            else if (g_ascii_strcasecmp(val, "random") == 0)
                g->repl = VTD_REPL_RANDOM;
            else {
                g_set_error(error, VTD_ERROR, 0, "%s: '%s' is not lru, fifo or random", key, val);
                return FALSE;
            }
        } else {
            goto unknown;
        }
        return TRUE;
    }
unknown:
    g_set_error(error, VTD_ERROR, 0, "%s: unknown VT-d cache key", key);
    return FALSE;
}

gboolean vtd_params_from_keyfile(VtdParams *p, GKeyFile *kf, const char *group, GError **error)
{
    if (!g_key_file_has_group(kf, group))
        return TRUE;
    gsize nkeys = 0;
    g_auto(GStrv) keys = g_key_file_get_keys(kf, group, &nkeys, NULL);
    if (!keys)
        return TRUE;

    /* Pass 0: preset; pass 1: whole registers; pass 2: fields and the rest. */
    for (int pass = 0; pass < 3; pass++) {
        for (gsize i = 0; i < nkeys; i++) {
            const char *key = keys[i];
            g_autofree char *val = g_key_file_get_value(kf, group, key, NULL);
            if (!val)
                continue;
            g_strstrip(val);
            uint64_t v;
            bool is_preset = strcmp(key, "preset") == 0;
            bool is_whole = strcmp(key, "ver") == 0 || strcmp(key, "cap") == 0 || strcmp(key, "ecap") == 0;
            if (pass == 0) {
                if (is_preset && !vtd_params_preset(p, val, error))
                    return FALSE;
                continue;
            }
            if (pass == 1) {
                if (!is_whole)
                    continue;
                if (strcmp(key, "ver") == 0) {
                    if (!vtd_parse_u64(key, val, 0xff, &v, error))
                        return FALSE;
                    p->ver = (uint32_t)v;
                } else if (strcmp(key, "cap") == 0) {
                    if (!vtd_parse_u64(key, val, UINT64_MAX, &v, error))
                        return FALSE;
                    p->cap = v;
                } else {
                    if (!vtd_parse_u64(key, val, UINT64_MAX, &v, error))
                        return FALSE;
                    p->ecap = v;
                }
                continue;
            }
            if (is_preset || is_whole)
                continue;
            if (g_str_has_prefix(key, "cap.") || g_str_has_prefix(key, "ecap.")) {
                bool is_cap = key[0] == 'c';
                const char *fname = key + (is_cap ? 4 : 5);
                const VtdFieldDesc *f = is_cap
                    ? vtd_find_field(vtd_cap_fields, G_N_ELEMENTS(vtd_cap_fields), fname)
                    : vtd_find_field(vtd_ecap_fields, G_N_ELEMENTS(vtd_ecap_fields), fname);
                if (!f) {
                    g_set_error(error, VTD_ERROR, 0, "%s: no field '%s' in %s", key, fname,
                                is_cap ? "CAP" : "ECAP");
                    return FALSE;
                }
                if (!vtd_parse_u64(key, val, vtd_field_mask(0, f->len), &v, error))
                    return FALSE;
                if (is_cap)
                    p->cap = vtd_field_set(p->cap, f->lo, f->len, v);
                else
                    p->ecap = vtd_field_set(p->ecap, f->lo, f->len, v);
            } else if (strcmp(key, "nfr") == 0) {
                if (!vtd_parse_u64(key, val, 256, &v, error))
                    return FALSE;
                if (v == 0) {
                    g_set_error(error, VTD_ERROR, 0, "nfr: at least one fault recording register is needed");
                    return FALSE;
                }
                p->cap = vtd_cap_set_NFR(p->cap, v - 1);
            } else if (strcmp(key, "haw") == 0) {
                if (!vtd_parse_u64(key, val, 52, &v, error))
                    return FALSE;
                p->haw = (unsigned)v;
            } else if (g_str_has_prefix(key, "cache.")) {
                if (!vtd_parse_cache_key(p, key, val, error))
                    return FALSE;
            } else {
                g_set_error(error, VTD_ERROR, 0, "%s: unknown VT-d key in group [%s]", key, group);
                return FALSE;
            }
        }
    }
    return TRUE;
}

static bool vtd_reg_cond_met(const VtdParams *p, VtdRegCond c)
{
    switch (c) {
    case VTD_RC_ALWAYS: return true;
    case VTD_RC_AFL: return vtd_cap_AFL(p->cap);
    case VTD_RC_PMR: return vtd_cap_PLMR(p->cap) || vtd_cap_PHMR(p->cap);
    case VTD_RC_PLMR: return vtd_cap_PLMR(p->cap);
    case VTD_RC_PHMR: return vtd_cap_PHMR(p->cap);
    case VTD_RC_QI: return vtd_ecap_QI(p->ecap);
    case VTD_RC_IR: return vtd_ecap_IR(p->ecap);
    case VTD_RC_PRS: return vtd_ecap_PRS(p->ecap);
    case VTD_RC_MTS: return vtd_ecap_MTS(p->ecap);
    }
    return false;
}

bool vtd_params_reg_present(const VtdParams *p, VtdRegId id)
{
    return vtd_reg_cond_met(p, vtd_reg_desc(id)->cond);
}

gboolean vtd_params_validate(const VtdParams *p, GError **error)
{
    unsigned mgaw = (unsigned)vtd_cap_MGAW(p->cap) + 1;
    if (mgaw < 30 || mgaw > 64) {
        g_set_error(error, VTD_ERROR, 0, "cap.MGAW: %u-bit guest address width is not supported", mgaw);
        return FALSE;
    }
    if (p->haw != 0 && (p->haw < 32 || p->haw > 52)) {
        g_set_error(error, VTD_ERROR, 0, "haw: %u is outside 32..52", p->haw);
        return FALSE;
    }
    uint64_t iro = vtd_ecap_IRO(p->ecap) * 16;
    uint64_t fro = vtd_cap_FRO(p->cap) * 16;
    uint64_t nfr = vtd_cap_NFR(p->cap) + 1;
    if (iro == 0 || fro == 0) {
        g_set_error(error, VTD_ERROR, 0, "%s: the %s registers cannot sit at offset 0",
                    iro == 0 ? "ecap.IRO" : "cap.FRO", iro == 0 ? "IOTLB" : "fault recording");
        return FALSE;
    }
    uint64_t fro_end = fro + 16 * nfr;
    if (iro < fro_end && fro < iro + 16) {
        g_set_error(error, VTD_ERROR, 0,
                    "cap.FRO: fault recording registers 0x%" G_GINT64_MODIFIER "x-0x%" G_GINT64_MODIFIER
                    "x overlap the IOTLB registers at 0x%" G_GINT64_MODIFIER "x (ecap.IRO)",
                    (guint64)fro, (guint64)fro_end - 1, (guint64)iro);
        return FALSE;
    }
    for (int id = 0; id < VTD_REG__COUNT; id++) {
        const VtdRegDesc *d = vtd_reg_desc((VtdRegId)id);
        if (d->base != VTD_RB_FIXED || !vtd_reg_cond_met(p, d->cond))
            continue;
        uint64_t s = d->offset, e = d->offset + d->size;
        if (s < iro + 16 && iro < e) {
            g_set_error(error, VTD_ERROR, 0, "ecap.IRO: IOTLB registers at 0x%" G_GINT64_MODIFIER
                        "x overlap %s", (guint64)iro, d->name);
            return FALSE;
        }
        if (s < fro_end && fro < e) {
            g_set_error(error, VTD_ERROR, 0, "cap.FRO: fault recording registers at 0x%" G_GINT64_MODIFIER
                        "x overlap %s", (guint64)fro, d->name);
            return FALSE;
        }
    }
    if (!vtd_cache_params_validate(&p->cache, error))
        return FALSE;
    return TRUE;
}
