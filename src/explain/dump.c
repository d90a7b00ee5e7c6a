/*
 * Linux debugfs-format dumps of the platform's VT-d state (dump.h).
 *
 * Each file is produced by one function that walks the same structures
 * the kernel walks, in the same order, printing the same columns; the
 * formats are documented in ../shared/reference/peers.md section 3 and
 * repeated next to each function.
 */
#include "explain/dump.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_ir.h"
#include "platform/platform.h"

#define X16 "0x%016" G_GINT64_MODIFIER "x"
#define H16 "%016" G_GINT64_MODIFIER "x"

static uint64_t rd64(Platform *p, uint64_t a)
{
    uint64_t v = 0;
    if (addr_space_read(p->mem, a, 8, &v) != MEMTX_OK)
        return 0;
    return v;
}

static uint64_t reg(const VtdUnit *u, unsigned off, unsigned size)
{
    return vtd_unit_reg_peek(u, off, size);
}

static bool tes(const VtdUnit *u)
{
    return (reg(u, VTD_GSTS_REG, 4) & VTD_GSTS_TES) != 0;
}

static uint64_t rtaddr(VtdUnit *u)
{
    return vtd_xlate_get_config(vtd_unit_xlate(u))->rtaddr;
}

static bool scalable(VtdUnit *u)
{
    return ((rtaddr(u) >> 10) & 3) == 1;
}

/* ---- iommu_regset ------------------------------------------------------------ */

static void dump_regset(Platform *p, GString *out)
{
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        vtd_unit_dump_regset(v->unit, v->name, v->base, out);
        g_string_append_c(out, '\n');
    }
}

/* ---- context lookup as the kernel's iommu_context_addr() does it --------------- */

/*
 * Address of the context entry of bus/devfn (legacy 16-byte entries,
 * scalable 32-byte entries in the half chosen by devfn[7]), or 0 when the
 * root entry (half) is not present.
 */
static uint64_t context_addr(Platform *p, VtdUnit *u, unsigned bus, unsigned devfn)
{
    uint64_t rta = rtaddr(u) & ~0xfffull;
    VtdRootEntry re = {{rd64(p, rta + bus * 16ull), rd64(p, rta + bus * 16ull + 8)}};
    if (!scalable(u))
        return vtd_re_P(&re) ? (vtd_re_CTP(&re) << 12) + devfn * 16ull : 0;
    if (devfn >= 128)
        return vtd_sre_UP(&re) ? (vtd_sre_UCTP(&re) << 12) + (devfn - 128) * 32ull : 0;
    return vtd_sre_LP(&re) ? (vtd_sre_LCTP(&re) << 12) + devfn * 32ull : 0;
}

/* Calls @fn for every present PASID entry under the scalable context entry at @ca. */
typedef void PasidFn(void *opaque, uint32_t pasid, uint64_t pe_addr);

static void pasid_walk(Platform *p, uint64_t ca, PasidFn *fn, void *opaque)
{
    VtdSmContextEntry c = {{rd64(p, ca), rd64(p, ca + 8), 0, 0}};
    uint64_t dir = vtd_sce_PASIDDIRPTR(&c) << 12;
    uint64_t n = 1ull << (vtd_sce_PDTS(&c) + 7);
    for (uint64_t di = 0; di < n; di++) {
        VtdPasidDirEntry de = {{rd64(p, dir + di * 8)}};
        if (!vtd_pdire_P(&de))
            continue;
        uint64_t tbl = vtd_pdire_SMPTBLPTR(&de) << 12;
        for (unsigned ti = 0; ti < 64; ti++) {
            uint64_t a = tbl + ti * 64ull;
            if (rd64(p, a) & 1)
                fn(opaque, (uint32_t)(di << 6 | ti), a);
        }
    }
}

/* ---- dmar_translation_struct -------------------------------------------------- */

typedef struct Row {
    Platform *p;
    GString *out;
    unsigned bus, devfn;
    uint64_t root[2], ctx[2];
} Row;

static void row_prefix(const Row *r)
{
    g_string_append_printf(r->out, "%02x:%02x.%x\t" X16 ":" X16 "\t" X16 ":" X16 "\t", r->bus,
                           r->devfn >> 3, r->devfn & 7, (guint64)r->root[1], (guint64)r->root[0],
                           (guint64)r->ctx[1], (guint64)r->ctx[0]);
}

static void pasid_row(void *opaque, uint32_t pasid, uint64_t pe)
{
    Row *r = opaque;
    row_prefix(r);
    g_string_append_printf(r->out, "%-6d\t" X16 ":" X16 ":" X16 "\n", (int)pasid,
                           (guint64)rd64(r->p, pe + 16), (guint64)rd64(r->p, pe + 8),
                           (guint64)rd64(r->p, pe));
}

static void dump_translation_struct(Platform *p, GString *out)
{
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (!tes(v->unit)) {
            g_string_append_printf(out, "DMA Remapping is not enabled on %s\n", v->name);
            continue;
        }
        uint64_t rta = rtaddr(v->unit) & ~0xfffull;
        g_string_append_printf(out, "IOMMU %s: Root Table Address: 0x%" G_GINT64_MODIFIER "x\n",
                               v->name, (guint64)rta);
        g_string_append(out, "B.D.F\tRoot_entry\t\t\t\tContext_entry\t\t\t\tPASID\tPASID_table_entry\n");
        for (unsigned bus = 0; bus < 256; bus++) {
            for (unsigned devfn = 0; devfn < 256; devfn++) {
                uint64_t ca = context_addr(p, v->unit, bus, devfn);
                if (!ca)
                    break;          /* the kernel leaves the bus at the first absent table */
                Row r = {p, out, bus, devfn,
                         {rd64(p, rta + bus * 16ull), rd64(p, rta + bus * 16ull + 8)},
                         {rd64(p, ca), rd64(p, ca + 8)}};
                if (!(r.ctx[0] & 1))
                    continue;
                if (scalable(v->unit)) {
                    pasid_walk(p, ca, pasid_row, &r);
                    continue;
                }
                row_prefix(&r);
                g_string_append_printf(out, "%-6d\t" X16 ":" X16 ":" X16 "\n", -1, (guint64)0,
                                       (guint64)0, (guint64)0);
            }
        }
        g_string_append_c(out, '\n');
    }
}

/* ---- domain_translation_struct ------------------------------------------------ */

static void pt_walk(Platform *p, GString *out, uint64_t table, unsigned level, uint64_t start,
                    uint64_t path[6])
{
    if (level < 1 || level > 5)
        return;
    uint64_t span = 1ull << (12 + 9 * (level - 1));
    for (unsigned i = 0; i < 512; i++, start += span) {
        uint64_t e = rd64(p, table + i * 8ull);
        if (!(e & 3))
            continue;
        path[level] = e;
        if ((e & (1u << 7)) || level == 1) {
            g_string_append_printf(out, "0x%013" G_GINT64_MODIFIER "x |\t" X16 "\t" X16 "\t" X16,
                                   (guint64)(start >> 12), (guint64)path[5], (guint64)path[4],
                                   (guint64)path[3]);
            if (path[2]) {
                g_string_append_printf(out, "\t" X16, (guint64)path[2]);
                if (path[1])
                    g_string_append_printf(out, "\t" X16, (guint64)path[1]);
            }
            g_string_append_c(out, '\n');
        } else {
            pt_walk(p, out, e & 0x000ffffffffff000ull, level - 1, start, path);
        }
        path[level] = 0;
    }
}

/* The file of device @rid and PASID @pasid (0 for the device's own file). */
static void dump_domain(Platform *p, uint16_t rid, uint32_t pasid, GString *out)
{
    unsigned bus = rid >> 8, devfn = rid & 0xff;
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (!tes(v->unit)) {
            g_string_append_printf(out, "DMA Remapping is not enabled on %s\n", v->name);
            continue;
        }
        bool sm = scalable(v->unit);
        uint64_t ca = context_addr(p, v->unit, bus, devfn);
        if (!ca || !(rd64(p, ca) & 1))
            continue;
        uint64_t lo = rd64(p, ca), hi = rd64(p, ca + 8), pgd;
        unsigned agaw;
        if (sm) {
            VtdSmContextEntry c = {{lo, hi, 0, 0}};
            VtdPasidDirEntry de = {{rd64(p, (vtd_sce_PASIDDIRPTR(&c) << 12) + (pasid >> 6) * 8ull)}};
            if (!vtd_pdire_P(&de))
                continue;
            uint64_t pa = (vtd_pdire_SMPTBLPTR(&de) << 12) + (pasid & 63) * 64ull;
            VtdPasidEntry pe = {{rd64(p, pa), rd64(p, pa + 8), rd64(p, pa + 16)}};
            if (!vtd_pe_P(&pe))
                continue;
            unsigned pgtt = (unsigned)vtd_pe_PGTT(&pe);
            agaw = (unsigned)vtd_pe_AW(&pe);
            if (pgtt == VTD_PGTT_FIRST_STAGE)
                pgd = pe.val[2];
            else if (pgtt == VTD_PGTT_SECOND_STAGE || pgtt == VTD_PGTT_NESTED)
                pgd = pe.val[0];
            else
                continue;
        } else {
            VtdContextEntry c = {{lo, hi}};
            unsigned tt = (unsigned)vtd_ce_TT(&c);
            if (tt != VTD_TT_UNTRANSLATED && tt != VTD_TT_DEVTLB)
                continue;
            pgd = lo;
            agaw = (unsigned)vtd_ce_AW(&c);
        }
        pgd &= ~0xfffull;
        g_string_append_printf(out, "Device %04x:%02x:%02x.%x ", 0, bus, devfn >> 3, devfn & 7);
        if (sm)
            g_string_append_printf(out, "with pasid %x @0x%" G_GINT64_MODIFIER "x\n", pasid,
                                   (guint64)pgd);
        else
            g_string_append_printf(out, "@0x%" G_GINT64_MODIFIER "x\n", (guint64)pgd);
        g_string_append_printf(out, "%-17s\t%-18s\t%-18s\t%-18s\t%-18s\t%-s\n", "IOVA_PFN", "PML5E",
                               "PML4E", "PDPE", "PDE", "PTE");
        uint64_t path[6] = {0};
        pt_walk(p, out, pgd, agaw + 2, 0, path);
        return;
    }
}

/* ---- invalidation_queue ------------------------------------------------------- */

static void dump_inv_queue(Platform *p, GString *out)
{
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        uint64_t ecap = reg(v->unit, VTD_ECAP_REG, 8);
        uint64_t iqa = reg(v->unit, VTD_IQA_REG, 8);
        if (!vtd_ecap_QI(ecap) || !(iqa & ~0xfffull))
            continue;
        bool wide = iqa & VTD_IQA_DW;
        unsigned shift = wide ? 5 : 4;
        uint64_t base = iqa & ~0xfffull;
        unsigned slots = (1u << (vtd_IQA_QS(iqa) + 8)) >> (wide ? 1 : 0);
        g_string_append_printf(out, "Invalidation queue on IOMMU: %s\n", v->name);
        g_string_append_printf(out, " Base: 0x%" G_GINT64_MODIFIER "x\tHead: %lld\tTail: %lld\n",
                               (guint64)base, (long long)(reg(v->unit, VTD_IQH_REG, 8) >> shift),
                               (long long)(reg(v->unit, VTD_IQT_REG, 8) >> shift));
        if (wide)
            g_string_append(out, "Index\t\tqw0\t\t\tqw1\t\t\tqw2\t\t\tqw3\t\t\tstatus\n");
        else
            g_string_append(out, "Index\t\tqw0\t\t\tqw1\t\t\tstatus\n");
        for (unsigned k = 0; k < slots; k++) {
            uint64_t a = base + ((uint64_t)k << shift);
            g_string_append_printf(out, "%5d\t" H16 "\t" H16, (int)k, (guint64)rd64(p, a),
                                   (guint64)rd64(p, a + 8));
            if (wide)
                g_string_append_printf(out, "\t" H16 "\t" H16, (guint64)rd64(p, a + 16),
                                       (guint64)rd64(p, a + 24));
            g_string_append_printf(out, "\t%016x\n", 0u);
        }
        g_string_append_c(out, '\n');
    }
}

/* ---- ir_translation_struct ------------------------------------------------------ */

static void irte_rows(Platform *p, GString *out, uint64_t irta, bool posted)
{
    uint64_t base = irta & ~0xfffull;
    unsigned n = 1u << ((irta & 0xf) + 1);
    for (unsigned idx = 0; idx < n; idx++) {
        VtdIrte e = {{rd64(p, base + idx * 16ull), rd64(p, base + idx * 16ull + 8)}};
        if (!vtd_irte_P(&e) || (bool)vtd_irte_IM(&e) != posted)
            continue;
        unsigned sid = (unsigned)vtd_irte_SID(&e);
        g_string_append_printf(out, " %-5d %02x:%02x.%01x ", (int)idx, sid >> 8, (sid >> 3) & 0x1f,
                               sid & 7);
        if (posted)
            g_string_append_printf(out, "%08x %08x ", (unsigned)vtd_irte_PDA_H(&e),
                                   (unsigned)(vtd_irte_PDA_L(&e) << 6));
        else
            g_string_append_printf(out, "%08x ", (unsigned)vtd_irte_DST(&e));
        g_string_append_printf(out, "%02x  " H16 "\t" H16 "\n", (unsigned)vtd_irte_V(&e),
                               (guint64)e.val[1], (guint64)e.val[0]);
    }
}

static void dump_ir(Platform *p, GString *out)
{
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (!vtd_ecap_IR(reg(v->unit, VTD_ECAP_REG, 8)))
            continue;
        g_string_append_printf(out, "Remapped Interrupt supported on IOMMU: %s\n", v->name);
        uint64_t irta;
        bool ire;
        vtd_unit_ir_state(v->unit, &irta, &ire, NULL);
        if (ire && irta) {
            g_string_append_printf(out, " IR table address:%" G_GINT64_MODIFIER "x\n",
                                   (guint64)(irta & ~0xfffull));
            g_string_append(out, " Entry SrcID   DstID    Vct IRTE_high\t\tIRTE_low\n");
            irte_rows(p, out, irta, false);
        } else {
            g_string_append(out, "Interrupt Remapping is not enabled\n");
        }
        g_string_append_c(out, '\n');
    }
    g_string_append(out, "****\n\n");
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (!vtd_cap_PI(reg(v->unit, VTD_CAP_REG, 8)))
            continue;
        g_string_append_printf(out, "Posted Interrupt supported on IOMMU: %s\n", v->name);
        uint64_t irta;
        vtd_unit_ir_state(v->unit, &irta, NULL, NULL);
        if (irta) {
            g_string_append_printf(out, " IR table address:%" G_GINT64_MODIFIER "x\n",
                                   (guint64)(irta & ~0xfffull));
            g_string_append(out, " Entry SrcID   PDA_high PDA_low  Vct IRTE_high\t\tIRTE_low\n");
            irte_rows(p, out, irta, true);
        } else {
            g_string_append(out, "Interrupt Remapping is not enabled\n");
        }
        g_string_append_c(out, '\n');
    }
}

/* ---- file list -------------------------------------------------------------------- */

typedef struct Lister {
    GPtrArray *names;
    unsigned bus, devfn;
} Lister;

static void list_pasid(void *opaque, uint32_t pasid, uint64_t pe)
{
    (void)pe;
    Lister *l = opaque;
    if (pasid)
        g_ptr_array_add(l->names, g_strdup_printf("0000:%02x:%02x.%x/%x/domain_translation_struct",
                                                  l->bus, l->devfn >> 3, l->devfn & 7, pasid));
}

/* Device (and device/PASID) files, in bus/devfn order. */
static void list_domains(Platform *p, GPtrArray *names)
{
    GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (!tes(v->unit))
            continue;
        for (unsigned bus = 0; bus < 256; bus++) {
            for (unsigned devfn = 0; devfn < 256; devfn++) {
                uint64_t ca = context_addr(p, v->unit, bus, devfn);
                if (!ca || !(rd64(p, ca) & 1))
                    continue;
                char *n = g_strdup_printf("0000:%02x:%02x.%x/domain_translation_struct", bus,
                                          devfn >> 3, devfn & 7);
                if (g_hash_table_contains(seen, n)) {
                    g_free(n);
                    continue;
                }
                g_hash_table_add(seen, g_strdup(n));
                g_ptr_array_add(names, n);
                if (scalable(v->unit)) {
                    Lister l = {names, bus, devfn};
                    pasid_walk(p, ca, list_pasid, &l);
                }
            }
        }
    }
    g_hash_table_destroy(seen);
}

char **explain_dump_files(EmuSim *sim)
{
    Platform *p = platform_get(sim);
    GPtrArray *a = g_ptr_array_new();
    g_ptr_array_add(a, g_strdup("iommu_regset"));
    g_ptr_array_add(a, g_strdup("dmar_translation_struct"));
    g_ptr_array_add(a, g_strdup("invalidation_queue"));
    g_ptr_array_add(a, g_strdup("ir_translation_struct"));
    list_domains(p, a);
    g_ptr_array_add(a, NULL);
    return (char **)g_ptr_array_free(a, FALSE);
}

/* Parses "0000:BB:DD.F/domain_translation_struct" or ".../PASID/domain_translation_struct". */
static gboolean parse_domain_file(const char *name, uint16_t *rid, uint32_t *pasid)
{
    unsigned seg, bus, dev, fn, pa = 0;
    int n = 0;
    if (sscanf(name, "%4x:%2x:%2x.%1x/%n", &seg, &bus, &dev, &fn, &n) != 4 || !n || seg ||
        bus > 255 || dev > 31 || fn > 7)
        return FALSE;
    const char *rest = name + n;
    if (strcmp(rest, "domain_translation_struct")) {
        int m = 0;
        if (sscanf(rest, "%5x/%n", &pa, &m) != 1 || !m ||
            strcmp(rest + m, "domain_translation_struct") || pa > 0xfffff)
            return FALSE;
    }
    *rid = PCIE_BDF(bus, dev, fn);
    *pasid = pa;
    return TRUE;
}

gboolean explain_dump_file(EmuSim *sim, const char *name, GString *out, GError **error)
{
    Platform *p = platform_get(sim);
    uint16_t rid;
    uint32_t pasid;
    if (!strcmp(name, "iommu_regset")) {
        dump_regset(p, out);
    } else if (!strcmp(name, "dmar_translation_struct")) {
        dump_translation_struct(p, out);
    } else if (!strcmp(name, "invalidation_queue")) {
        dump_inv_queue(p, out);
    } else if (!strcmp(name, "ir_translation_struct")) {
        dump_ir(p, out);
    } else if (!strcmp(name, "domain_translation_struct")) {
        GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
        list_domains(p, names);
        for (guint i = 0; i < names->len; i++) {
            const char *n = g_ptr_array_index(names, i);
            g_string_append_printf(out, "%s==> %s <==\n", i ? "\n" : "", n);
            parse_domain_file(n, &rid, &pasid);
            dump_domain(p, rid, pasid, out);
        }
        g_ptr_array_free(names, TRUE);
    } else if (parse_domain_file(name, &rid, &pasid)) {
        dump_domain(p, rid, pasid, out);
    } else {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "no debugfs file '%s' (iommu_regset, dmar_translation_struct, "
                    "invalidation_queue, ir_translation_struct, domain_translation_struct or "
                    "0000:BB:DD.F[/PASID]/domain_translation_struct)", name);
        return FALSE;
    }
    return TRUE;
}
