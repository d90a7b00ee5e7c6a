/*
 * Building a machine from a platform file.
 *
 * The file is a glib key file (docs/platform-format.md).  glib parses it;
 * we first check every line ourselves so that a malformed line, an unknown
 * group or key, or a bad value is reported as "FILE:LINE: message" - glib
 * alone reports no line numbers.  Groups are built in file order, so a
 * device's parent must appear above it; VT-d units come last (their scopes
 * name devices).
 *
 * The chipset part is a q35 (Intel ICH9/MCH) as QEMU models it, limited to
 * what software programming VT-d and PCIe needs: CONFIG_ADDRESS/CONFIG_DATA
 * at 0xCF8/0xCFC, PCIEXBAR in the host bridge (offset 0x60) enabling the
 * ECAM window, DRAM at 0, the interrupt window at 0xFEE00000 and the IOAPIC
 * inputs (GSI 16..23 for PCI INTx, swizzled as PIRQ A..D).  Not modelled:
 * SMRAM, PAM, the LPC/SATA/SMBus functions at 00:1f, the 8259 PICs, HPET.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "platform/platform.h"
#include "core/parse.h"
#include "inject/inject_hook.h"
#include "models/edu/edu.h"
#include "models/endpoint/endpoint.h"
#include "models/ioat/ioat.h"
#include "models/vtd/vtd.h"
#include "pcie/ats.h"

#define LOG_PREFIX "platform"
#include "core/log.h"

/* q35 host bridge PCIEXBAR (MCH config offset 0x60, 64-bit). */
#define Q35_PCIEXBAR 0x60
#define Q35_PCIEXBAR_EN 0x1ull
#define Q35_PCIEXBAR_LENGTH_SHIFT 1
#define Q35_PCIEXBAR_ADDR_MASK 0x0000000ff0000000ull  /* bits 35:28 (256 MiB alignment) */

static const char q35_default[] =
    "# The built-in q35-compatible platform: what\n"
    "#   qemu-system-x86_64 -M q35 -m 256 -device intel-iommu,intremap=off -device edu\n"
    "# shows to a qtest client (no firmware has run).\n"
    "[platform]\n"
    "name = q35\n"
    "ram = 256M\n"
    "firmware = none\n"
    "\n"
    "[chipset]\n"
    "ecam = 0xB0000000\n"
    "ecam-size = 256M\n"
    "ecam-enabled = false\n"
    "ioapic = 0xFEC00000\n"
    "\n"
    "[device edu]\n"
    "type = edu\n"
    "bdf = 00:01.0\n"
    "\n"
    "[vtd dmar0]\n"
    "base = 0xFED90000\n"
    "preset = qemu-7.2\n"
    "scope = all\n";

const char *vtdsim_platform_default_text(void)
{
    return q35_default;
}

Platform *platform_get(EmuSim *sim)
{
    Platform *p = emu_sim_lookup(sim, "platform");
    g_assert(p);
    return p;
}

/* ---- parsing helpers --------------------------------------------------- */

gboolean platform_parse_size(const char *s, uint64_t *out)
{
    return emu_parse_u64(s, EMU_PARSE_SUFFIX | EMU_PARSE_BLANKS, out);
}

gboolean platform_parse_bdf(const char *s, uint16_t *rid)
{
    unsigned bus = 0, dev, fn;
    char extra;
    if (sscanf(s, "%x:%x.%x%c", &bus, &dev, &fn, &extra) == 3 ||
        (bus = 0, sscanf(s, "%x.%x%c", &dev, &fn, &extra) == 2)) {
        if (bus > 0xff || dev > 0x1f || fn > 7) {
            return FALSE;
        }
        *rid = PCIE_BDF(bus, dev, fn);
        return TRUE;
    }
    return FALSE;
}

typedef struct PfFile {
    const char *source;
    gchar **lines;
    GKeyFile *kf;
} PfFile;

/* Line number (1-based) of @key in @group, of the group header when @key is NULL, or 0. */
static unsigned pf_line(const PfFile *pf, const char *group, const char *key)
{
    bool in_group = false;
    for (unsigned i = 0; pf->lines[i]; i++) {
        g_autofree char *l = g_strstrip(g_strdup(pf->lines[i]));
        if (l[0] == '[') {
            char *close = strrchr(l, ']');
            if (close) {
                *close = 0;
            }
            in_group = !strcmp(l + 1, group);
            if (in_group && !key) {
                return i + 1;
            }
            continue;
        }
        if (in_group && key) {
            char *eq = strchr(l, '=');
            if (eq) {
                *eq = 0;
                if (!strcmp(g_strstrip(l), key)) {
                    return i + 1;
                }
            }
        }
    }
    return 0;
}

G_GNUC_PRINTF(5, 6)
static gboolean pf_fail(GError **error, const PfFile *pf, const char *group, const char *key,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    unsigned line = pf_line(pf, group, key);
    if (!line && key) {
        line = pf_line(pf, group, NULL);
    }
    if (key) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s:%u: [%s] %s: %s",
                    pf->source, line, group, key, msg);
    } else {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, "%s:%u: [%s]: %s",
                    pf->source, line, group, msg);
    }
    return FALSE;
}

/* Rejects keys of @group that are not in @allowed (NULL-terminated). */
static gboolean pf_check_keys(const PfFile *pf, const char *group, const char *const *allowed,
                              GError **error)
{
    g_auto(GStrv) keys = g_key_file_get_keys(pf->kf, group, NULL, NULL);
    for (unsigned i = 0; keys && keys[i]; i++) {
        if (!g_strv_contains(allowed, keys[i])) {
            g_autofree char *list = g_strjoinv(", ", (gchar **)allowed);
            return pf_fail(error, pf, group, keys[i], "unknown key (known keys: %s)", list);
        }
    }
    return TRUE;
}

static char *pf_str(const PfFile *pf, const char *group, const char *key)
{
    char *v = g_key_file_get_value(pf->kf, group, key, NULL);
    if (v) {
        g_strstrip(v);
    }
    return v;
}

/* Reads a number/size key; absent keys leave *out untouched. */
static gboolean pf_u64(const PfFile *pf, const char *group, const char *key, uint64_t *out,
                       uint64_t max, GError **error)
{
    g_autofree char *v = pf_str(pf, group, key);
    if (!v) {
        return TRUE;
    }
    uint64_t x;
    if (!platform_parse_size(v, &x)) {
        return pf_fail(error, pf, group, key, "'%s' is not a number or size (e.g. 0x1000, 256M)", v);
    }
    if (x > max) {
        return pf_fail(error, pf, group, key, "%s is larger than the maximum 0x%" G_GINT64_MODIFIER "x",
                       v, (guint64)max);
    }
    *out = x;
    return TRUE;
}

static gboolean pf_bool(const PfFile *pf, const char *group, const char *key, bool *out,
                        GError **error)
{
    g_autofree char *v = pf_str(pf, group, key);
    if (!v) {
        return TRUE;
    }
    if (!g_ascii_strcasecmp(v, "true") || !strcmp(v, "1") || !g_ascii_strcasecmp(v, "yes") ||
        !g_ascii_strcasecmp(v, "on")) {
        *out = true;
    } else if (!g_ascii_strcasecmp(v, "false") || !strcmp(v, "0") ||
               !g_ascii_strcasecmp(v, "no") || !g_ascii_strcasecmp(v, "off")) {
        *out = false;
    } else {
        return pf_fail(error, pf, group, key, "'%s' is not a boolean (true/false)", v);
    }
    return TRUE;
}

/* "mem64:16K", "mem32:4K:prefetch", "io:256" */
static gboolean pf_bar(const PfFile *pf, const char *group, const char *key, EndpointBar *out,
                       GError **error)
{
    g_autofree char *v = pf_str(pf, group, key);
    if (!v) {
        return TRUE;
    }
    g_auto(GStrv) parts = g_strsplit(v, ":", -1);
    unsigned n = g_strv_length(parts);
    EndpointBar b = { 0 };
    if (n < 2 || n > 3) {
        return pf_fail(error, pf, group, key, "'%s': expected TYPE:SIZE[:prefetch], e.g. mem64:16K", v);
    }
    if (!strcmp(parts[0], "mem64")) {
        b.flags = PCIE_BAR_MEM64;
    } else if (!strcmp(parts[0], "mem32")) {
        b.flags = PCIE_BAR_MEM32;
    } else if (!strcmp(parts[0], "io")) {
        b.flags = PCIE_BAR_IO;
    } else {
        return pf_fail(error, pf, group, key, "'%s': BAR type must be mem64, mem32 or io", parts[0]);
    }
    if (!platform_parse_size(parts[1], &b.size)) {
        return pf_fail(error, pf, group, key, "'%s' is not a size", parts[1]);
    }
    if (n == 3) {
        if (strcmp(parts[2], "prefetch") || (b.flags & PCIE_BAR_IO)) {
            return pf_fail(error, pf, group, key, "'%s': only memory BARs can be 'prefetch'", parts[2]);
        }
        b.flags |= PCIE_BAR_PREFETCH;
    }
    *out = b;
    return TRUE;
}

/* ---- chipset: config mechanism #1 and ECAM ------------------------------- */

static uint64_t cfc_read(void *opaque, uint64_t off, unsigned size)
{
    Platform *p = opaque;
    uint32_t ca = p->config_address;
    if (!(ca & 0x80000000u)) {
        return ~0ull;
    }
    uint16_t reg = (uint16_t)((ca & 0xfc) + off);
    return pcie_fabric_config_read(p->fabric, (uint8_t)(ca >> 16), (uint8_t)(ca >> 8), reg, size);
}

static void cfc_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Platform *p = opaque;
    uint32_t ca = p->config_address;
    if (!(ca & 0x80000000u)) {
        return;
    }
    uint16_t reg = (uint16_t)((ca & 0xfc) + off);
    pcie_fabric_config_write(p->fabric, (uint8_t)(ca >> 16), (uint8_t)(ca >> 8), reg, size,
                             (uint32_t)val);
}

/* CONFIG_DATA: any size at any offset within the dword, as on a PC. */
static const MmioOps cfc_ops = {
    .name = "pci-config-data", .read = cfc_read, .write = cfc_write,
    .min_access = 1, .max_access = 4,
};

/*
 * CONFIG_ADDRESS is a dword register: narrower accesses read 0 and are
 * ignored, as on QEMU's q35 (on real chipsets they go to other decoders).
 * All 32 bits read back as written, including the reserved bits 1:0.
 */
static uint64_t cf8_read(void *opaque, uint64_t off, unsigned size)
{
    Platform *p = opaque;
    return size == 4 && off == 0 ? p->config_address : 0;
}

static void cf8_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Platform *p = opaque;
    if (size == 4 && off == 0) {
        p->config_address = (uint32_t)val;
    }
}

static const MmioOps cf8_ops = {
    .name = "pci-config-address", .read = cf8_read, .write = cf8_write,
    .min_access = 1, .max_access = 4,
};

static uint64_t ecam_read(void *opaque, uint64_t off, unsigned size)
{
    Platform *p = opaque;
    return pcie_fabric_config_read(p->fabric, (uint8_t)(off >> 20), (uint8_t)(off >> 12),
                                   (uint16_t)(off & 0xfff), size);
}

static void ecam_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Platform *p = opaque;
    pcie_fabric_config_write(p->fabric, (uint8_t)(off >> 20), (uint8_t)(off >> 12),
                             (uint16_t)(off & 0xfff), size, (uint32_t)val);
}

static const MmioOps ecam_ops = {
    .name = "ecam", .read = ecam_read, .write = ecam_write,
    .min_access = 1, .max_access = 4,
};

/* Maps the ECAM window where PCIEXBAR says, or unmaps it. */
static void q35_update_ecam(Platform *p)
{
    uint64_t bar = (uint64_t)pcie_fn_get(p->host_bridge, Q35_PCIEXBAR, 4) |
                   (uint64_t)pcie_fn_get(p->host_bridge, Q35_PCIEXBAR + 4, 4) << 32;
    unsigned len = (bar >> Q35_PCIEXBAR_LENGTH_SHIFT) & 3;
    /* LENGTH: 0 = 256 buses, 1 = 128, 2 = 64, 3 reserved (treated as 256). */
    uint64_t size = (256ull >> (len == 3 ? 0 : len)) << 20;
    uint64_t base = bar & Q35_PCIEXBAR_ADDR_MASK & ~(size - 1);
    bool en = bar & Q35_PCIEXBAR_EN;
    p->ecam_base = base;
    p->ecam_size = size;
    if (p->ecam_region) {
        addr_space_del(p->mem, p->ecam_region);
        p->ecam_region = NULL;
    }
    if (en) {
        p->ecam_region = addr_space_add_mmio(p->mem, "ecam", base, size, &ecam_ops, p, 30);
    }
}

static void host_bridge_config_write(void *opaque, PcieFn *fn, uint16_t off, unsigned size,
                                     uint32_t val)
{
    Platform *p = opaque;
    (void)fn;
    (void)val;
    if (off < Q35_PCIEXBAR + 8 && off + size > Q35_PCIEXBAR) {
        q35_update_ecam(p);
    }
}

static const PcieFnOps host_bridge_ops = {
    .name = "q35-host-bridge",
    .config_write = host_bridge_config_write,
};

/* ---- interrupts and the upstream path ----------------------------------- */

PlatformVtd *platform_vtd_for(Platform *p, uint16_t rid)
{
    PlatformVtd *all = NULL;
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        if (v->include_all) {
            if (!all) {
                all = v;
            }
            continue;
        }
        for (guint j = 0; j < v->scope_fns->len; j++) {
            PcieFn *root = g_ptr_array_index(v->scope_fns, j);
            /* a scope entry covers the function and, for a bridge, its subtree */
            PcieFn *f = pcie_fabric_find(p->fabric, rid);
            for (; f; f = pcie_fn_is_vf(f) ? pcie_fn_pf(f) : pcie_fn_parent(f)) {
                if (f == root) {
                    return v;
                }
            }
        }
    }
    return all;
}

/*
 * An ATS translation request: the unit translates (recording a fault only
 * where the ATS rules say so) and the root complex returns one completion
 * entry; a page that is not present or not accessible gives R=W=0.
 */
static PcieCplStatus rc_translation_request(PlatformVtd *v, PcieTlp *tlp, void *data)
{
    VtdXlateRequest req = {
        .sid = tlp->requester_id,
        .pasid_present = tlp->pasid_present,
        .pasid = tlp->pasid,
        .priv = tlp->priv,
        .exec = tlp->exec,
        .ats_nw = tlp->addr & 1,
        .addr = tlp->addr & ~0xfffull,
        .len = 1,
        .at = VTD_AT_TRANSLATION,
    };
    VtdXlateResult res;
    if (vtd_unit_translate(v->unit, &req, &res) != VTD_XLATE_OK) {
        memset(data, 0xff, tlp->length);
        return PCIE_CPL_UR;
    }
    PcieAtsEntry e = { .size = 4096 };
    if (res.perm & (VTD_PERM_R | VTD_PERM_W)) {
        e.size = res.page_size ? res.page_size : 4096;
        e.addr = res.out_addr & ~(e.size - 1);
        e.r = res.perm & VTD_PERM_R;
        e.w = res.perm & VTD_PERM_W;
        e.x = res.perm & VTD_PERM_X;
        e.priv = res.perm & VTD_PERM_PRIV;
        e.global = res.global;
    }
    uint64_t raw = pcie_ats_encode(&e);
    uint8_t *b = data;
    for (unsigned i = 0; i < MIN(tlp->length, 8u); i++) {
        b[i] = (uint8_t)(raw >> (8 * i));
    }
    return PCIE_CPL_SC;
}

static PcieCplStatus rc_mem_route(Platform *p, PcieTlp *tlp, void *data)
{
    PlatformVtd *v = platform_vtd_for(p, tlp->requester_id);
    if (v && tlp->at == PCIE_AT_TRANSLATION_REQUEST) {
        return rc_translation_request(v, tlp, data);
    }
    if (v) {
        return vtd_unit_mem_request(v->unit, tlp, data);
    }
    bool write = tlp->type == PCIE_TLP_MWR;
    if (tlp->at != PCIE_AT_UNTRANSLATED) {
        /* no translation agent above this device: translation requests are unsupported */
        if (!write) {
            memset(data, 0xff, tlp->length);
        }
        return PCIE_CPL_UR;
    }
    MemTxResult r = addr_space_rw(p->mem, tlp->addr, data, tlp->length, write);
    return r == MEMTX_OK ? PCIE_CPL_SC : PCIE_CPL_UR;
}

/*
 * Fault injection (src/inject/inject_hook.h): when an injector is attached
 * to the simulation it sees every upstream memory request before and after
 * the root complex routes it, and may complete it with an error itself.
 */
static PcieCplStatus rc_mem_request(void *opaque, PcieTlp *tlp, void *data)
{
    Platform *p = opaque;
    InjectHooks *ih = emu_sim_lookup(p->sim, INJECT_HOOKS_NAME);
    if (!ih) {
        return rc_mem_route(p, tlp, data);
    }
    PcieCplStatus st;
    if (ih->rc_before && ih->rc_before(ih->opaque, tlp, data, &st)) {
        return st;
    }
    st = rc_mem_route(p, tlp, data);
    if (ih->rc_after) {
        ih->rc_after(ih->opaque, tlp, data, &st);
    }
    return st;
}

static void rc_msi(void *opaque, uint16_t rid, uint64_t addr, uint32_t data)
{
    platform_irq_msi(opaque, rid, addr, data);
}

static void rc_intx(void *opaque, PcieFn *fn, unsigned root_pin, bool level)
{
    platform_irq_intx(opaque, fn, root_pin, level);
}

static bool rc_page_request(void *opaque, uint16_t rid, const PciePageRequest *req)
{
    Platform *p = opaque;
    PlatformVtd *v = platform_vtd_for(p, rid);
    if (!v) {
        return false;
    }
    VtdPageReq r = {
        .rid = rid, .pasid_present = req->pasid_present, .pasid = req->pasid,
        .exec = req->exec, .priv = req->priv, .read = req->read, .write = req->write,
        .lpig = req->last, .prgi = req->prgi, .addr = req->addr & ~0xfffull,
    };
    return vtd_unit_page_request(v->unit, &r) == VTD_PRQ_QUEUED;
}

static const PcieRcOps rc_ops = {
    .mem_request = rc_mem_request,
    .msi = rc_msi,
    .intx = rc_intx,
    .page_request = rc_page_request,
};

/*
 * Fault injection (src/inject/inject_hook.h): an invalidation descriptor
 * lost, delayed or reordered inside the unit.
 */
static VtdQiVerdict vtd_qi_filter(void *opaque, const VtdInvDesc *d)
{
    Platform *p = opaque;
    VtdQiVerdict v = { VTD_QI_PASS, 0, 0 };
    InjectHooks *ih = emu_sim_lookup(p->sim, INJECT_HOOKS_NAME);
    if (!ih || !ih->qi_filter) {
        return v;
    }
    uint64_t arg = 0;
    switch (ih->qi_filter(ih->opaque, vtd_inv_type(d), d->val, &arg)) {
    case INJECT_QI_DROP:
        v.action = VTD_QI_DROP;
        break;
    case INJECT_QI_DELAY:
        v.action = VTD_QI_DEFER;
        v.delay = arg;
        break;
    case INJECT_QI_REORDER:
        v.action = VTD_QI_REORDER;
        v.by = arg > UINT_MAX ? UINT_MAX : (unsigned)arg;
        break;
    case INJECT_QI_PASS:
    default:
        break;
    }
    return v;
}

/* Fault injection: the walker's table accesses (installed by platform_attach_inject). */
static bool vtd_table_filter(void *opaque, uint64_t addr, bool write)
{
    InjectHooks *ih = opaque;
    return ih->table_access(ih->opaque, addr, write);
}

void platform_attach_inject(Platform *p, InjectHooks *ih)
{
    emu_sim_attach(p->sim, INJECT_HOOKS_NAME, ih, NULL);
    for (guint i = 0; i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        vtd_unit_set_table_filter(v->unit, ih->table_access ? vtd_table_filter : NULL, ih);
    }
}

/* Device-TLB invalidations from a unit become ATS Invalidate Requests. */
static VtdDevtlbStatus vtd_devtlb_inv(void *opaque, const VtdDevtlbInv *req)
{
    Platform *p = opaque;
    /* fault injection (src/inject/inject_hook.h): the device does not answer */
    InjectHooks *ih = emu_sim_lookup(p->sim, INJECT_HOOKS_NAME);
    if (ih && ih->devtlb_timeout && ih->devtlb_timeout(ih->opaque, req->sid, req->addr)) {
        return VTD_DEVTLB_TIMEOUT;
    }
    PcieFn *fn = pcie_fabric_find(p->fabric, req->sid);
    if (!fn) {
        return VTD_DEVTLB_TIMEOUT;   /* nobody answers: ITE, as on hardware */
    }
    PcieAtsInval inv = {
        .pasid_present = req->pasid_present, .pasid = req->pasid, .global = req->global,
        .addr = req->addr & ~0xfffull, .size = 4096,
    };
    if (req->size) {
        /* S=1: the lowest 0 bit of the address (from bit 12) sets the range, as in ATS */
        PcieAtsEntry e = pcie_ats_decode((req->addr & ~0xfffull) | (1u << 11));
        inv.addr = e.addr;
        inv.size = e.size;
    }
    return pcie_fn_ats_invalidate(fn, &inv) ? VTD_DEVTLB_DONE : VTD_DEVTLB_TIMEOUT;
}

static void vtd_prg_response(void *opaque, const VtdPageGroupResp *r)
{
    Platform *p = opaque;
    PcieFn *fn = pcie_fabric_find(p->fabric, r->rid);
    if (fn) {
        PciePrgResponse resp = { .pasid_present = r->pasid_present, .pasid = r->pasid,
                                 .prgi = r->prgi, .code = r->rc };
        pcie_fn_prg_response(fn, &resp);
    }
}

static void vtd_event_msi(void *opaque, uint64_t addr, uint32_t data)
{
    /* The remapping hardware's own interrupts are never remapped. */
    platform_irq_deliver(opaque, 0, addr, data);
}

/* ---- building ----------------------------------------------------------- */

static void platform_free(gpointer data)
{
    Platform *p = data;
    for (guint i = 0; p->vtd && i < p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(p->vtd, i);
        vtd_unit_free(v->unit);
        g_array_free(v->scope, TRUE);
        g_ptr_array_free(v->scope_fns, TRUE);
        g_free(v->name);
        g_free(v);
    }
    if (p->vtd) {
        g_ptr_array_free(p->vtd, TRUE);
    }
    pcie_fabric_free(p->fabric);
    addr_space_free(p->mem);
    addr_space_free(p->io);
    physmem_free(p->ram);
    platform_irq_fini(p);
    if (p->devices) {
        g_hash_table_destroy(p->devices);
    }
    g_free(p->name);
    g_free(p->source);
    g_free(p);
}

PcieFn *platform_find_device(Platform *p, const char *name)
{
    PcieFn *fn = g_hash_table_lookup(p->devices, name);
    uint16_t rid;
    if (!fn && platform_parse_bdf(name, &rid)) {
        fn = pcie_fabric_find(p->fabric, rid);
    }
    return fn;
}

static const char *const platform_keys[] = {
    "name", "ram", "phys-bits", "firmware", "mmio32", "mmio64", "io", NULL
};
static const char *const chipset_keys[] = {
    "ecam", "ecam-size", "ecam-enabled", "ioapic", NULL
};
static const char *const endpoint_keys[] = {
    "type", "bdf", "parent", "vendor", "device", "class", "revision", "subsystem-vendor",
    "subsystem", "rciep", "bar0", "bar1", "bar2", "bar3", "bar4", "bar5", "msi", "msi-64bit",
    "msi-maskable", "msix", "msix-bar", "acs", "acs-cap", "ari", "ari-next", "ats", "ats-invq",
    "pasid", "pasid-exec", "pasid-priv", "pri", "aer", "sriov-total-vfs", "sriov-offset",
    "sriov-stride", "sriov-vf-device", "sriov-vf-bar0", "sriov-vf-bar1", "sriov-vf-bar2",
    "sriov-vf-bar3", "sriov-vf-bar4", "sriov-vf-bar5", NULL
};
static const char *const port_keys[] = {
    "type", "bdf", "parent", "vendor", "device", "acs", "acs-cap", "downstream", "aer", NULL
};
static const char *const edu_keys[] = { "type", "bdf", "parent", NULL };
static const char *const ioat_keys[] = { "type", "bdf", "parent", "xfercap", "channels", NULL };
static const char *const ioat_sriov_keys[] = {
    "type", "bdf", "parent", "xfercap", "channels", "sriov-total-vfs", "sriov-offset",
    "sriov-stride", "sriov-vf-device", NULL
};

/* Where a device goes: its parent bridge and its devfn on the parent's secondary bus. */
static gboolean pf_placement(Platform *p, const PfFile *pf, const char *group, PcieFn **parent,
                             uint8_t *devfn, GError **error)
{
    g_autofree char *par = pf_str(pf, group, "parent");
    g_autofree char *bdf = pf_str(pf, group, "bdf");
    *parent = NULL;
    *devfn = 0;
    if (par) {
        *parent = g_hash_table_lookup(p->devices, par);
        if (!*parent) {
            return pf_fail(error, pf, group, "parent",
                           "no device named '%s' is defined above this group", par);
        }
        if (!pcie_fn_is_bridge(*parent)) {
            return pf_fail(error, pf, group, "parent", "'%s' is not a port or bridge", par);
        }
    }
    if (bdf) {
        uint16_t rid;
        if (!platform_parse_bdf(bdf, &rid)) {
            return pf_fail(error, pf, group, "bdf", "'%s' is not BB:DD.F (hex)", bdf);
        }
        if (!*parent && PCIE_BUS(rid) != 0) {
            return pf_fail(error, pf, group, "bdf",
                           "'%s': devices without a parent sit on the root bus 00", bdf);
        }
        *devfn = (uint8_t)(rid & 0xff);
    } else if (!*parent) {
        return pf_fail(error, pf, group, NULL, "needs 'bdf' (root bus) or 'parent'");
    }
    return TRUE;
}

static gboolean pf_u16_key(const PfFile *pf, const char *g, const char *k, uint16_t *out,
                           GError **error)
{
    uint64_t v = *out;
    if (!pf_u64(pf, g, k, &v, 0xffff, error)) {
        return FALSE;
    }
    *out = (uint16_t)v;
    return TRUE;
}

static gboolean build_endpoint(Platform *p, const PfFile *pf, const char *group,
                               const char *name, GError **error)
{
    if (!pf_check_keys(pf, group, endpoint_keys, error)) {
        return FALSE;
    }
    EndpointParams ep;
    endpoint_params_default(&ep);
    PcieFn *parent;
    uint8_t devfn;
    bool rciep = false;
    uint64_t v;
    if (!pf_placement(p, pf, group, &parent, &devfn, error) ||
        !pf_u16_key(pf, group, "vendor", &ep.vendor, error) ||
        !pf_u16_key(pf, group, "device", &ep.device, error) ||
        !pf_u16_key(pf, group, "subsystem-vendor", &ep.subsys_vendor, error) ||
        !pf_u16_key(pf, group, "subsystem", &ep.subsys_id, error) ||
        !pf_bool(pf, group, "rciep", &rciep, error)) {
        return FALSE;
    }
    v = ep.class_code;
    if (!pf_u64(pf, group, "class", &v, 0xffffff, error)) {
        return FALSE;
    }
    ep.class_code = (uint32_t)v;
    v = ep.revision;
    if (!pf_u64(pf, group, "revision", &v, 0xff, error)) {
        return FALSE;
    }
    ep.revision = (uint8_t)v;
    ep.kind = rciep ? PCIE_KIND_RC_INTEGRATED : PCIE_KIND_ENDPOINT;
    if (rciep && parent) {
        return pf_fail(error, pf, group, "rciep", "a root-complex integrated endpoint has no parent");
    }
    /* the default BAR 0 applies only when the file names no BAR at all */
    for (unsigned i = 0; i < 6; i++) {
        char key[32];
        g_snprintf(key, sizeof key, "bar%u", i);
        if (g_key_file_has_key(pf->kf, group, key, NULL)) {
            ep.bar[0] = (EndpointBar){ 0 };
        }
    }
    for (unsigned i = 0; i < 6; i++) {
        char key[32];
        g_snprintf(key, sizeof key, "bar%u", i);
        if (!pf_bar(pf, group, key, &ep.bar[i], error)) {
            return FALSE;
        }
        g_snprintf(key, sizeof key, "sriov-vf-bar%u", i);
        if (!pf_bar(pf, group, key, &ep.sriov_vf_bar[i], error)) {
            return FALSE;
        }
    }
    uint64_t msi = 0, msix = 0, msix_bar = 0, acs_cap = ep.acs_cap, ari_next = 0, invq = 0;
    uint64_t pasid = 0, pri = 0, total = 0, off = 1, stride = 1, vfdev = 0;
    if (!pf_u64(pf, group, "msi", &msi, 32, error) ||
        !pf_bool(pf, group, "msi-64bit", &ep.msi_64bit, error) ||
        !pf_bool(pf, group, "msi-maskable", &ep.msi_maskable, error) ||
        !pf_u64(pf, group, "msix", &msix, 2048, error) ||
        !pf_u64(pf, group, "msix-bar", &msix_bar, 5, error) ||
        !pf_bool(pf, group, "acs", &ep.acs, error) ||
        !pf_u64(pf, group, "acs-cap", &acs_cap, 0x7f, error) ||
        !pf_bool(pf, group, "ari", &ep.ari, error) ||
        !pf_u64(pf, group, "ari-next", &ari_next, 0xff, error) ||
        !pf_bool(pf, group, "ats", &ep.ats, error) ||
        !pf_u64(pf, group, "ats-invq", &invq, 32, error) ||
        !pf_u64(pf, group, "pasid", &pasid, 20, error) ||
        !pf_bool(pf, group, "pasid-exec", &ep.pasid_exec, error) ||
        !pf_bool(pf, group, "pasid-priv", &ep.pasid_priv, error) ||
        !pf_u64(pf, group, "pri", &pri, 0xffffffff, error) ||
        !pf_bool(pf, group, "aer", &ep.aer, error) ||
        !pf_u64(pf, group, "sriov-total-vfs", &total, 0xffff, error) ||
        !pf_u64(pf, group, "sriov-offset", &off, 0xffff, error) ||
        !pf_u64(pf, group, "sriov-stride", &stride, 0xffff, error) ||
        !pf_u64(pf, group, "sriov-vf-device", &vfdev, 0xffff, error)) {
        return FALSE;
    }
    ep.msi_vectors = (unsigned)msi;
    ep.msix_vectors = (unsigned)msix;
    ep.msix_bar = (unsigned)msix_bar;
    ep.acs_cap = (uint16_t)acs_cap;
    ep.ari_next_fn = (uint8_t)ari_next;
    ep.ats_invq = (unsigned)invq;
    ep.pasid_width = (unsigned)pasid;
    ep.pri_capacity = (uint32_t)pri;
    ep.sriov_total_vfs = (uint16_t)total;
    ep.sriov_offset = (uint16_t)off;
    ep.sriov_stride = (uint16_t)stride;
    ep.sriov_vf_device = (uint16_t)vfdev;
    if (total && !off) {
        return pf_fail(error, pf, group, "sriov-offset", "First VF Offset must not be 0");
    }
    GError *err = NULL;
    PcieFn *fn = endpoint_new(p->fabric, parent, devfn, &ep, &err);
    if (!fn) {
        pf_fail(error, pf, group, NULL, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    pcie_fn_set_name(fn, name);
    g_hash_table_insert(p->devices, g_strdup(name), fn);
    return TRUE;
}

static gboolean build_port(Platform *p, const PfFile *pf, const char *group, const char *name,
                           const char *type, GError **error)
{
    if (!pf_check_keys(pf, group, port_keys, error)) {
        return FALSE;
    }
    bool is_switch = !strcmp(type, "switch");
    PcieFn *parent;
    uint8_t devfn;
    bool acs = false, aer = false;
    uint64_t acs_cap = 0x1f, down = 0;
    /* QEMU's generic root port and the TI XIO3130 switch ports QEMU models */
    uint16_t vendor = is_switch ? 0x104c : 0x1b36;
    uint16_t device = is_switch ? 0x8232 : 0x000c;
    if (!pf_placement(p, pf, group, &parent, &devfn, error) ||
        !pf_u16_key(pf, group, "vendor", &vendor, error) ||
        !pf_u16_key(pf, group, "device", &device, error) ||
        !pf_bool(pf, group, "acs", &acs, error) ||
        !pf_bool(pf, group, "aer", &aer, error) ||
        !pf_u64(pf, group, "acs-cap", &acs_cap, 0x7f, error) ||
        !pf_u64(pf, group, "downstream", &down, 32, error)) {
        return FALSE;
    }
    if (is_switch && !parent) {
        return pf_fail(error, pf, group, NULL, "a switch needs a 'parent' port");
    }
    if (!is_switch && parent) {
        return pf_fail(error, pf, group, "parent", "a root port sits on the root bus; use 'bdf'");
    }
    if (is_switch && down == 0) {
        return pf_fail(error, pf, group, "downstream", "a switch needs 1..32 downstream ports");
    }
    GError *err = NULL;
    PcieFn *fn = pcie_fn_new(p->fabric, parent, devfn,
                             is_switch ? PCIE_KIND_SWITCH_UP : PCIE_KIND_ROOT_PORT, vendor,
                             device, 0x060400, NULL, NULL, &err);
    if (!fn) {
        pf_fail(error, pf, group, NULL, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    pcie_fn_set_name(fn, name);
    g_hash_table_insert(p->devices, g_strdup(name), fn);
    if (acs && !is_switch) {
        pcie_cap_acs_init(fn, (uint16_t)acs_cap);
    }
    if (aer) {
        pcie_cap_aer_init(fn);
    }
    for (unsigned i = 0; i < down; i++) {
        PcieFn *dp = pcie_fn_new(p->fabric, fn, (uint8_t)(i << 3), PCIE_KIND_SWITCH_DOWN,
                                 vendor, (uint16_t)(vendor == 0x104c ? 0x8233 : device), 0x060400,
                                 NULL, NULL, &err);
        if (!dp) {
            pf_fail(error, pf, group, "downstream", "%s", err->message);
            g_error_free(err);
            return FALSE;
        }
        if (acs) {
            pcie_cap_acs_init(dp, (uint16_t)acs_cap);
        }
        if (aer) {
            pcie_cap_aer_init(dp);
        }
        g_autofree char *dname = g_strdup_printf("%s.%u", name, i);
        pcie_fn_set_name(dp, dname);
        g_hash_table_insert(p->devices, g_strdup(dname), dp);
    }
    return TRUE;
}

static gboolean build_edu(Platform *p, const PfFile *pf, const char *group, const char *name,
                          GError **error)
{
    if (!pf_check_keys(pf, group, edu_keys, error)) {
        return FALSE;
    }
    PcieFn *parent;
    uint8_t devfn;
    if (!pf_placement(p, pf, group, &parent, &devfn, error)) {
        return FALSE;
    }
    GError *err = NULL;
    EduDevice *d = edu_new(p->fabric, parent, devfn, &err);
    if (!d) {
        pf_fail(error, pf, group, NULL, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    pcie_fn_set_name(edu_fn(d), name);
    g_hash_table_insert(p->devices, g_strdup(name), edu_fn(d));
    return TRUE;
}

/* An I/OAT DMA engine (models/ioat); with SR-IOV, a PF whose VFs are copy engines too. */
static gboolean build_ioat(Platform *p, const PfFile *pf, const char *group, const char *name,
                           bool sriov, GError **error)
{
    if (!pf_check_keys(pf, group, sriov ? ioat_sriov_keys : ioat_keys, error)) {
        return FALSE;
    }
    PcieFn *parent;
    uint8_t devfn;
    IoatParams ip;
    ioat_params_default(&ip);
    uint64_t xfercap = ip.xfercap, channels = ip.channels;
    uint64_t total = 4, off = ip.vf_offset, stride = ip.vf_stride, vfdev = ip.vf_device_id;
    if (!pf_placement(p, pf, group, &parent, &devfn, error) ||
        !pf_u64(pf, group, "xfercap", &xfercap, 31, error) ||
        !pf_u64(pf, group, "channels", &channels, IOAT_MAX_CHANNELS, error)) {
        return FALSE;
    }
    if (sriov && (!pf_u64(pf, group, "sriov-total-vfs", &total, 0xffff, error) ||
                  !pf_u64(pf, group, "sriov-offset", &off, 0xffff, error) ||
                  !pf_u64(pf, group, "sriov-stride", &stride, 0xffff, error) ||
                  !pf_u64(pf, group, "sriov-vf-device", &vfdev, 0xffff, error))) {
        return FALSE;
    }
    if (xfercap < 5) {
        return pf_fail(error, pf, group, "xfercap", "expected 5..31 (log2 of the largest transfer)");
    }
    if (channels < 1) {
        return pf_fail(error, pf, group, "channels", "expected 1..%u", IOAT_MAX_CHANNELS);
    }
    if (sriov && total < 1) {
        return pf_fail(error, pf, group, "sriov-total-vfs", "an SR-IOV PF needs at least 1 VF");
    }
    if (sriov && !off) {
        return pf_fail(error, pf, group, "sriov-offset", "First VF Offset must not be 0");
    }
    if (sriov && total > 1 && !stride) {
        return pf_fail(error, pf, group, "sriov-stride", "VF Stride must not be 0 with more than one VF");
    }
    ip.xfercap = (unsigned)xfercap;
    ip.channels = (unsigned)channels;
    if (sriov) {
        ip.total_vfs = (uint16_t)total;
        ip.vf_offset = (uint16_t)off;
        ip.vf_stride = (uint16_t)stride;
        ip.vf_device_id = (uint16_t)vfdev;
    }
    GError *err = NULL;
    IoatDevice *d = ioat_new(p->fabric, parent, devfn, &ip, &err);
    if (!d) {
        pf_fail(error, pf, group, NULL, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    pcie_fn_set_name(ioat_fn(d), name);
    g_hash_table_insert(p->devices, g_strdup(name), ioat_fn(d));
    return TRUE;
}

static gboolean build_vtd(Platform *p, const PfFile *pf, const char *group, const char *name,
                          GError **error)
{
    uint64_t base = 0;
    g_autofree char *scope = pf_str(pf, group, "scope");
    if (!g_key_file_has_key(pf->kf, group, "base", NULL)) {
        return pf_fail(error, pf, group, NULL, "needs 'base' (the register block address)");
    }
    if (!pf_u64(pf, group, "base", &base, (1ull << 52) - 0x1000, error)) {
        return FALSE;
    }
    if (base & 0xfff) {
        return pf_fail(error, pf, group, "base", "must be 4 KiB aligned");
    }
    /*
     * The VT-d parameter parser owns every key but the two placement keys,
     * so it sees a copy of the group without them.
     */
    VtdParams params;
    GError *err = NULL;
    vtd_params_default(&params);
    g_autoptr(GKeyFile) sub = g_key_file_new();
    g_auto(GStrv) keys = g_key_file_get_keys(pf->kf, group, NULL, NULL);
    for (unsigned i = 0; keys && keys[i]; i++) {
        if (strcmp(keys[i], "base") && strcmp(keys[i], "scope")) {
            g_autofree char *val = g_key_file_get_value(pf->kf, group, keys[i], NULL);
            g_key_file_set_value(sub, group, keys[i], val);
        }
    }
    if (!vtd_params_from_keyfile(&params, sub, group, &err) ||
        !vtd_params_validate(&params, &err)) {
        /* the VT-d parser names the key; we add file and line */
        const char *key = NULL;
        for (unsigned i = 0; keys && keys[i] && !key; i++) {
            if (strstr(err->message, keys[i])) {
                key = keys[i];
            }
        }
        pf_fail(error, pf, group, key, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    PlatformVtd *v = g_new0(PlatformVtd, 1);
    v->name = g_strdup(name);
    v->base = base;
    v->scope = g_array_new(FALSE, FALSE, sizeof(uint16_t));
    v->scope_fns = g_ptr_array_new();
    g_ptr_array_add(p->vtd, v);
    v->unit = vtd_unit_new(p->sim, &params, p->mem, &err);
    if (!v->unit) {
        pf_fail(error, pf, group, NULL, "%s", err->message);
        g_error_free(err);
        return FALSE;
    }
    vtd_unit_set_msi_sink(v->unit, vtd_event_msi, p);
    vtd_unit_set_devtlb_sink(v->unit, vtd_devtlb_inv, p);
    vtd_unit_set_prg_response_sink(v->unit, vtd_prg_response, p);
    vtd_unit_set_qi_filter(v->unit, vtd_qi_filter, p);
    v->region = addr_space_add_mmio(p->mem, name, base, vtd_unit_mmio_size(v->unit),
                                    vtd_unit_mmio_ops(), v->unit, 40);
    if (!scope || !strcmp(scope, "all")) {
        v->include_all = true;
        for (guint i = 0; i + 1 < p->vtd->len; i++) {
            PlatformVtd *o = g_ptr_array_index(p->vtd, i);
            if (o->include_all) {
                return pf_fail(error, pf, group, "scope",
                               "only one unit may have scope = all (INCLUDE_PCI_ALL); '%s' has it",
                               o->name);
            }
        }
        return TRUE;
    }
    g_auto(GStrv) items = g_strsplit_set(scope, ", ", -1);
    for (unsigned i = 0; items[i]; i++) {
        if (!*items[i]) {
            continue;
        }
        PcieFn *fn = platform_find_device(p, items[i]);
        if (!fn) {
            return pf_fail(error, pf, group, "scope", "'%s' is not a device name or BDF of this platform",
                           items[i]);
        }
        g_ptr_array_add(v->scope_fns, fn);
        uint16_t rid = pcie_fn_rid(fn);
        g_array_append_val(v->scope, rid);
    }
    return TRUE;
}

/*
 * What Linux does at boot before any driver binds (pci_enable_acs): turn
 * on Source Validation, P2P Request/Completion Redirect and Upstream
 * Forwarding wherever the ACS capability offers them.  firmware = full
 * includes this step so that IOMMU groups come out as on a booted host.
 */
static void os_enable_acs(PcieFn *fn, void *opaque)
{
    (void)opaque;
    uint16_t acs = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_ACS);
    if (acs) {
        uint32_t cap = pcie_fn_config_read(fn, acs + 4, 2);
        uint32_t ctrl = pcie_fn_config_read(fn, acs + 6, 2);
        pcie_fn_config_write(fn, acs + 6, 2, ctrl | (cap & (0x1 | 0x4 | 0x8 | 0x10)));
    }
}

/* Every line must be blank, a comment, a [group] header or key = value. */
static gboolean pf_check_syntax(const PfFile *pf, GError **error)
{
    for (unsigned i = 0; pf->lines[i]; i++) {
        g_autofree char *l = g_strstrip(g_strdup(pf->lines[i]));
        if (!*l || l[0] == '#') {
            continue;
        }
        if (l[0] == '[') {
            if (l[strlen(l) - 1] != ']' || strlen(l) < 3) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                            "%s:%u: malformed group header '%s' (expected [name])", pf->source,
                            i + 1, l);
                return FALSE;
            }
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq || eq == l) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE,
                        "%s:%u: '%s' is not a [group], a key = value line or a # comment",
                        pf->source, i + 1, l);
            return FALSE;
        }
    }
    return TRUE;
}

static gboolean pf_window(const PfFile *pf, const char *key, uint64_t *base, uint64_t *limit,
                          GError **error)
{
    g_autofree char *v = pf_str(pf, "platform", key);
    if (!v) {
        return TRUE;
    }
    g_auto(GStrv) parts = g_strsplit(v, "-", 2);
    uint64_t b, l;
    if (g_strv_length(parts) != 2 || !platform_parse_size(parts[0], &b) ||
        !platform_parse_size(parts[1], &l) || l < b) {
        return pf_fail(error, pf, "platform", key, "'%s' is not a range BASE-LIMIT (e.g. 0xC0000000-0xFEBFFFFF)", v);
    }
    *base = b;
    *limit = l;
    return TRUE;
}

static EmuSim *platform_build(const char *text, const char *source, GError **error)
{
    PfFile pf = { .source = source };
    pf.lines = g_strsplit(text, "\n", -1);
    pf.kf = g_key_file_new();
    EmuSim *sim = NULL;
    Platform *p = NULL;
    GError *err = NULL;
    /* declared before the first goto so the cleanup never sees them uninitialised */
    g_autofree char *fw = NULL;
    g_auto(GStrv) groups = NULL;

    if (!pf_check_syntax(&pf, error)) {
        goto fail;
    }
    if (!g_key_file_load_from_data(pf.kf, text, strlen(text), G_KEY_FILE_NONE, &err)) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_PARSE, "%s: %s", source, err->message);
        g_error_free(err);
        goto fail;
    }
    if (!g_key_file_has_group(pf.kf, "platform")) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                    "%s:1: missing the [platform] group", source);
        goto fail;
    }
    if (!pf_check_keys(&pf, "platform", platform_keys, error)) {
        goto fail;
    }
    sim = emu_sim_new();
    p = g_new0(Platform, 1);
    p->sim = sim;
    p->source = g_strdup(source);
    p->devices = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
    p->vtd = g_ptr_array_new();
    platform_irq_init(p);
    emu_sim_attach(sim, "platform", p, platform_free);

    uint64_t ram = 256ull << 20, bits = 52;
    PcieEnumWindows win = {
        .mem32_base = 0xC0000000ull, .mem32_limit = 0xFEBFFFFFull,
        .mem64_base = 0x8000000000ull, .mem64_limit = 0xFFFFFFFFFFull,
        .io_base = 0x1000, .io_limit = 0xFFFF,
    };
    uint64_t io_base = win.io_base, io_limit = win.io_limit;
    fw = pf_str(&pf, "platform", "firmware");
    p->name = pf_str(&pf, "platform", "name");
    if (!pf_u64(&pf, "platform", "phys-bits", &bits, 52, error) ||
        !pf_u64(&pf, "platform", "ram", &ram, 1ull << 46, error) ||
        !pf_window(&pf, "mmio32", &win.mem32_base, &win.mem32_limit, error) ||
        !pf_window(&pf, "mmio64", &win.mem64_base, &win.mem64_limit, error) ||
        !pf_window(&pf, "io", &io_base, &io_limit, error)) {
        goto fail;
    }
    if (bits < 32) {
        pf_fail(error, &pf, "platform", "phys-bits", "must be 32..52");
        goto fail;
    }
    if (io_limit > 0xffff) {
        pf_fail(error, &pf, "platform", "io", "I/O ports end at 0xFFFF");
        goto fail;
    }
    win.io_base = (uint32_t)io_base;
    win.io_limit = (uint32_t)io_limit;
    if (fw && strcmp(fw, "none") && strcmp(fw, "buses") && strcmp(fw, "full")) {
        pf_fail(error, &pf, "platform", "firmware", "'%s': expected none, buses or full", fw);
        goto fail;
    }
    if (ram > 0xB0000000ull) {
        /* keep it simple: DRAM below the PCI hole only */
        pf_fail(error, &pf, "platform", "ram", "at most 2816M (DRAM ends below the ECAM window)");
        goto fail;
    }
    p->ram_size = ram;
    p->ram = physmem_new((unsigned)bits);
    p->mem = addr_space_new("system-memory", 1ull << bits, 0);
    p->io = addr_space_new("io", 1ull << 16, ~0ull);
    if (ram) {
        addr_space_add_ram(p->mem, "dram", 0, ram, p->ram, 0, 0);
    }
    p->fabric = pcie_fabric_new(sim, p->mem, p->io);
    pcie_fabric_set_rc_ops(p->fabric, &rc_ops, p);
    addr_space_add_mmio(p->io, "pci-config-address", 0xcf8, 4, &cf8_ops, p, 10);
    addr_space_add_mmio(p->io, "pci-config-data", 0xcfc, 4, &cfc_ops, p, 10);

    /* chipset */
    uint64_t ecam = 0xB0000000ull, ecam_size = 256ull << 20, ioapic = 0xFEC00000ull;
    bool ecam_en = false;
    if (g_key_file_has_group(pf.kf, "chipset") &&
        (!pf_check_keys(&pf, "chipset", chipset_keys, error) ||
         !pf_u64(&pf, "chipset", "ecam", &ecam, 0xff0000000ull, error) ||
         !pf_u64(&pf, "chipset", "ecam-size", &ecam_size, 256ull << 20, error) ||
         !pf_bool(&pf, "chipset", "ecam-enabled", &ecam_en, error) ||
         !pf_u64(&pf, "chipset", "ioapic", &ioapic, 0xffffffffull, error))) {
        goto fail;
    }
    if (ecam & ((256ull << 20) - 1)) {
        pf_fail(error, &pf, "chipset", "ecam", "PCIEXBAR needs 256 MiB alignment");
        goto fail;
    }
    if (ecam_size != (256ull << 20) && ecam_size != (128ull << 20) && ecam_size != (64ull << 20)) {
        pf_fail(error, &pf, "chipset", "ecam-size", "must be 64M, 128M or 256M");
        goto fail;
    }
    p->ioapic_base = ioapic;
    p->host_bridge = pcie_fn_new(p->fabric, NULL, 0, PCIE_KIND_HOST_BRIDGE, 0x8086, 0x29c0,
                                 0x060000, &host_bridge_ops, p, &err);
    g_assert(p->host_bridge);
    pcie_fn_set_name(p->host_bridge, "host-bridge");
    g_hash_table_insert(p->devices, g_strdup("host-bridge"), p->host_bridge);
    {
        unsigned len = ecam_size == (256ull << 20) ? 0 : ecam_size == (128ull << 20) ? 1 : 2;
        uint64_t bar = ecam | ((uint64_t)len << Q35_PCIEXBAR_LENGTH_SHIFT) | (ecam_en ? 1 : 0);
        pcie_fn_set(p->host_bridge, Q35_PCIEXBAR, 4, (uint32_t)bar);
        pcie_fn_set(p->host_bridge, Q35_PCIEXBAR + 4, 4, (uint32_t)(bar >> 32));
        pcie_fn_set_masks(p->host_bridge, Q35_PCIEXBAR, 4, 0xf0000007u, 0);
        pcie_fn_set_masks(p->host_bridge, Q35_PCIEXBAR + 4, 4, 0x0000000fu, 0);
        q35_update_ecam(p);
    }

    /* devices, in file order */
    groups = g_key_file_get_groups(pf.kf, NULL);
    /* timing parameters (docs/timing.md); functional runs use the ideal profile */
    timing_params_profile(&p->timing, "ideal", NULL);
    if (g_key_file_has_group(pf.kf, "timing")) {
        if (!timing_params_from_keyfile(&p->timing, pf.kf, "timing", &err) ||
            !timing_params_validate(&p->timing, &err)) {
            const char *key = NULL;
            g_auto(GStrv) tkeys = g_key_file_get_keys(pf.kf, "timing", NULL, NULL);
            for (unsigned i = 0; tkeys && tkeys[i] && !key; i++) {
                if (strstr(err->message, tkeys[i])) {
                    key = tkeys[i];
                }
            }
            /* the timing parser already says "[timing] KEY: "; keep only its reason */
            const char *msg = err->message;
            if (key && g_str_has_prefix(msg, "[timing] ")) {
                const char *after = strstr(msg, ": ");
                msg = after ? after + 2 : msg;
            }
            pf_fail(error, &pf, "timing", key, "%s", msg);
            g_clear_error(&err);
            goto fail;
        }
    }
    for (unsigned i = 0; groups[i]; i++) {
        const char *g = groups[i];
        if (!strcmp(g, "platform") || !strcmp(g, "chipset") || !strcmp(g, "timing") ||
            g_str_has_prefix(g, "vtd ")) {
            continue;
        }
        if (!g_str_has_prefix(g, "device ") || !g[7]) {
            pf_fail(error, &pf, g, NULL,
                    "unknown group (expected [platform], [chipset], [timing], [device NAME] or [vtd NAME])");
            goto fail;
        }
        const char *name = g + 7;
        if (g_hash_table_contains(p->devices, name)) {
            pf_fail(error, &pf, g, NULL, "a device named '%s' already exists", name);
            goto fail;
        }
        g_autofree char *type = pf_str(&pf, g, "type");
        if (!type) {
            pf_fail(error, &pf, g, NULL, "needs 'type' (edu, endpoint, root-port or switch)");
            goto fail;
        }
        gboolean ok;
        if (!strcmp(type, "edu")) {
            ok = build_edu(p, &pf, g, name, error);
        } else if (!strcmp(type, "endpoint")) {
            ok = build_endpoint(p, &pf, g, name, error);
        } else if (!strcmp(type, "ioat") || !strcmp(type, "ioat-sriov")) {
            ok = build_ioat(p, &pf, g, name, !strcmp(type, "ioat-sriov"), error);
        } else if (!strcmp(type, "root-port") || !strcmp(type, "switch")) {
            ok = build_port(p, &pf, g, name, type, error);
        } else {
            ok = pf_fail(error, &pf, g, "type", "'%s': expected edu, endpoint, root-port or switch", type);
        }
        if (!ok) {
            goto fail;
        }
    }
    if (fw && strcmp(fw, "none")) {
        if (!pcie_fabric_enumerate(p->fabric, &win, !strcmp(fw, "buses"), &err)) {
            pf_fail(error, &pf, "platform", "firmware", "%s", err->message);
            g_error_free(err);
            goto fail;
        }
        if (!strcmp(fw, "full")) {
            pcie_fabric_foreach(p->fabric, os_enable_acs, NULL);
        }
    }
    for (unsigned i = 0; groups[i]; i++) {
        if (g_str_has_prefix(groups[i], "vtd ")) {
            if (!build_vtd(p, &pf, groups[i], groups[i] + 4, error)) {
                goto fail;
            }
        }
    }
    /* the interrupt side needs the finished memory map and units (IOAPIC window, IR) */
    platform_irq_realize(p);
    g_strfreev(pf.lines);
    g_key_file_free(pf.kf);
    return sim;

fail:
    g_strfreev(pf.lines);
    g_key_file_free(pf.kf);
    emu_sim_free(sim);
    return NULL;
}

EmuSim *vtdsim_platform_new_from_data(const char *text, const char *source, GError **error)
{
    return platform_build(text, source ? source : "<platform>", error);
}

EmuSim *vtdsim_platform_new(const char *path, GError **error)
{
    if (!path) {
        return platform_build(q35_default, "<built-in q35>", error);
    }
    g_autofree char *text = NULL;
    GError *err = NULL;
    if (!g_file_get_contents(path, &text, NULL, &err)) {
        g_set_error(error, G_FILE_ERROR, err->code, "%s", err->message);
        g_error_free(err);
        return NULL;
    }
    return platform_build(text, path, error);
}
