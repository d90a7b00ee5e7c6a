/*
 * Topology of the fabric: creating functions, config routing by the bus
 * numbers software programmed, iteration, reset and teardown.
 *
 * The tree is stored as "functions on the secondary bus of each bridge"
 * (and on the root bus); a function's bus number is never stored, it is
 * whatever its parent bridge's Secondary Bus Number register says now.
 * Config requests are routed the way the hardware does it: on the bus the
 * request targets, the function with that devfn answers; otherwise the
 * first bridge whose [secondary, subordinate] range holds the bus
 * forwards it (only ranges above the current bus count, so a loop in the
 * programmed numbers cannot hang the walk).  On the secondary bus of a
 * root port or switch downstream port only device 0 answers unless the
 * port's ARI Forwarding Enable is set.  VFs answer at their routing ID,
 * which may be on bus numbers above their PF's within the range of the
 * bridge above.  A request nobody claims reads all ones.
 *
 * Placement rules of pcie_fn_new(): root ports, RCiEPs, host bridges and
 * conventional PCI devices on the root bus; below a root port or switch
 * downstream port one device on the link (device 0; other device numbers
 * only once device 0 has an ARI capability) that is an endpoint, a switch
 * upstream port or a PCIe-to-PCI bridge; only downstream ports below an
 * upstream port; endpoints and PCI devices below a PCIe-to-PCI bridge.
 *
 * Not modelled: requester ID aliasing of conventional devices behind a
 * PCIe-to-PCI bridge (their DMA carries their own RID).
 */
#include <string.h>
#include "pcie/pcie_internal.h"

/* ---- fabric ----------------------------------------------------------------- */

GQuark pcie_error_quark(void)
{
    return g_quark_from_static_string("pcie-error");
}

PcieFabric *pcie_fabric_new(EmuSim *sim, AddrSpace *mem, AddrSpace *io)
{
    PcieFabric *f = g_new0(PcieFabric, 1);
    f->sim = sim;
    f->mem = mem;
    f->io = io;
    f->root = g_ptr_array_new();
    return f;
}

void pcie_fn_destroy(PcieFn *fn)
{
    if (fn->children) {
        for (guint i = fn->children->len; i-- > 0;) {
            pcie_fn_destroy(g_ptr_array_index(fn->children, i));
        }
        g_ptr_array_free(fn->children, TRUE);
        fn->children = NULL;
    }
    pcie_sriov_remove_vfs(fn);
    for (unsigned i = 0; i < 6; i++) {
        pcie_fn_bar_unmap(&fn->bars[i]);
        g_free(fn->bars[i].region_name);
    }
    if (fn->ops && fn->ops->destroy) {
        fn->ops->destroy(fn->opaque, fn);
    }
    if (fn->vfs) {
        g_ptr_array_free(fn->vfs, TRUE);
    }
    g_free(fn->msix_table);
    g_free(fn->msix_pba);
    g_free(fn->pri_prg_count);
    g_free(fn->reset_config);
    g_free(fn->base_name);
    g_free(fn->name);
    g_free(fn);
}

void pcie_fabric_free(PcieFabric *f)
{
    if (!f) {
        return;
    }
    for (guint i = f->root->len; i-- > 0;) {
        pcie_fn_destroy(g_ptr_array_index(f->root, i));
    }
    g_ptr_array_free(f->root, TRUE);
    g_free(f);
}

EmuSim *pcie_fabric_sim(const PcieFabric *f)
{
    return f->sim;
}

void pcie_fabric_set_rc_ops(PcieFabric *f, const PcieRcOps *ops, void *opaque)
{
    f->rc = ops;
    f->rc_opaque = opaque;
}

/* ---- functions ------------------------------------------------------------- */

static GPtrArray *bus_of(PcieFabric *f, PcieFn *parent)
{
    return parent ? parent->children : f->root;
}

static PcieFn *bus_lookup(GPtrArray *fns, uint8_t devfn)
{
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        if (x->devfn == devfn) {
            return x;
        }
    }
    return NULL;
}

static bool kind_is_bridge(PcieFnKind k)
{
    return k == PCIE_KIND_ROOT_PORT || k == PCIE_KIND_SWITCH_UP || k == PCIE_KIND_SWITCH_DOWN ||
           k == PCIE_KIND_PCIE_TO_PCI;
}

static bool kind_is_endpoint(PcieFnKind k)
{
    return k == PCIE_KIND_ENDPOINT || k == PCIE_KIND_LEGACY_ENDPOINT;
}

static bool kind_is_conventional(PcieFnKind k)
{
    return k == PCIE_KIND_HOST_BRIDGE || k == PCIE_KIND_PCI_DEVICE;
}

static const char *kind_name(PcieFnKind k)
{
    switch (k) {
    case PCIE_KIND_ENDPOINT: return "endpoint";
    case PCIE_KIND_LEGACY_ENDPOINT: return "legacy endpoint";
    case PCIE_KIND_RC_INTEGRATED: return "root complex integrated endpoint";
    case PCIE_KIND_ROOT_PORT: return "root port";
    case PCIE_KIND_SWITCH_UP: return "switch upstream port";
    case PCIE_KIND_SWITCH_DOWN: return "switch downstream port";
    case PCIE_KIND_PCIE_TO_PCI: return "PCIe-to-PCI bridge";
    case PCIE_KIND_HOST_BRIDGE: return "host bridge";
    case PCIE_KIND_PCI_DEVICE: return "PCI device";
    }
    return "function";
}

static bool placement_ok(PcieFabric *f, PcieFn *parent, uint8_t devfn, PcieFnKind kind,
                         GError **error)
{
    if (!parent) {
        if (kind == PCIE_KIND_SWITCH_UP || kind == PCIE_KIND_SWITCH_DOWN) {
            g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                        "a %s cannot sit on the root bus", kind_name(kind));
            return false;
        }
        return true;
    }
    if (parent->pf || !parent->is_bridge) {
        g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                    "%s is not a bridge and cannot have children", pcie_fn_name(parent));
        return false;
    }
    switch (parent->kind) {
    case PCIE_KIND_SWITCH_UP:
        if (kind != PCIE_KIND_SWITCH_DOWN) {
            g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                        "only switch downstream ports go below a switch upstream port, not a %s",
                        kind_name(kind));
            return false;
        }
        return true;
    case PCIE_KIND_PCIE_TO_PCI:
        if (!kind_is_endpoint(kind) && kind != PCIE_KIND_PCIE_TO_PCI &&
            kind != PCIE_KIND_PCI_DEVICE) {
            g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                        "a %s cannot sit below a PCIe-to-PCI bridge", kind_name(kind));
            return false;
        }
        return true;
    default:
        break;
    }
    /* A root port or switch downstream port: one link, one device. */
    if (!kind_is_endpoint(kind) && kind != PCIE_KIND_SWITCH_UP && kind != PCIE_KIND_PCIE_TO_PCI) {
        g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                    "a %s cannot sit below a %s", kind_name(kind), kind_name(parent->kind));
        return false;
    }
    if (devfn >> 3) {
        PcieFn *f0 = bus_lookup(parent->children, 0);
        if (!f0 || !f0->ari_cap || kind == PCIE_KIND_SWITCH_UP) {
            g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                        "devfn %02x.%x below %s: a link has only device 0 "
                        "(other device numbers need ARI functions of device 0)",
                        devfn >> 3, devfn & 7, pcie_fn_name(parent));
            return false;
        }
    }
    if (kind == PCIE_KIND_SWITCH_UP && parent->children->len) {
        g_set_error(error, PCIE_ERROR, PCIE_ERROR_INVALID,
                    "the link below %s already has a device", pcie_fn_name(parent));
        return false;
    }
    (void)f;
    return true;
}

static gint devfn_cmp(gconstpointer a, gconstpointer b)
{
    const PcieFn *x = *(PcieFn *const *)a, *y = *(PcieFn *const *)b;
    return (int)x->devfn - (int)y->devfn;
}

/* Sets the Multi-Function Device bit of function 0 of every device on @fns. */
static void update_multifunction(GPtrArray *fns)
{
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        if (x->devfn & 7) {
            continue;
        }
        bool multi = false;
        for (guint j = 0; j < fns->len; j++) {
            PcieFn *y = g_ptr_array_index(fns, j);
            multi |= y != x && (y->devfn >> 3) == (x->devfn >> 3);
        }
        uint8_t ht = (uint8_t)((x->config[PCI_HEADER_TYPE] & 0x7f) | (multi ? 0x80 : 0));
        x->config[PCI_HEADER_TYPE] = ht;
        if (x->reset_config) {
            x->reset_config[PCI_HEADER_TYPE] = ht;
        }
    }
}

PcieFn *pcie_fn_alloc(PcieFabric *f, PcieFn *parent, uint8_t devfn, PcieFnKind kind,
                      uint16_t vendor, uint16_t device, uint32_t class_code,
                      const PcieFnOps *ops, void *opaque)
{
    PcieFn *fn = g_new0(PcieFn, 1);
    fn->fabric = f;
    fn->parent = parent;
    fn->devfn = devfn;
    fn->kind = kind;
    fn->is_bridge = kind_is_bridge(kind);
    fn->ops = ops;
    fn->opaque = opaque;
    fn->group = -1;
    fn->base_name = g_strdup(ops && ops->name ? ops->name : kind_name(kind));
    for (unsigned i = 0; i < 6; i++) {
        fn->bars[i].fn = fn;
        fn->bars[i].idx = i;
        fn->bars[i].addr = PCIE_BAR_UNMAPPED;
    }
    if (fn->is_bridge) {
        fn->children = g_ptr_array_new();
    }
    pcie_fn_set(fn, PCI_VENDOR_ID, 2, vendor);
    pcie_fn_set(fn, PCI_DEVICE_ID, 2, device);
    pcie_fn_set(fn, PCI_CLASS_PROG, 1, class_code & 0xff);
    pcie_fn_set(fn, PCI_CLASS_DEVICE, 2, (class_code >> 8) & 0xffff);
    return fn;
}

PcieFn *pcie_fn_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, PcieFnKind kind,
                    uint16_t vendor, uint16_t device, uint32_t class_code,
                    const PcieFnOps *ops, void *opaque, GError **error)
{
    if (!placement_ok(f, parent, devfn, kind, error)) {
        return NULL;
    }
    GPtrArray *bus = bus_of(f, parent);
    if (bus_lookup(bus, devfn)) {
        g_set_error(error, PCIE_ERROR, PCIE_ERROR_EXISTS, "devfn %02x.%x is taken on %s",
                    devfn >> 3, devfn & 7, parent ? pcie_fn_name(parent) : "the root bus");
        return NULL;
    }
    PcieFn *fn = pcie_fn_alloc(f, parent, devfn, kind, vendor, device, class_code, ops, opaque);
    pcie_fn_init_header(fn);
    if (!kind_is_conventional(kind)) {
        pcie_cap_exp_init(fn);
    }
    g_ptr_array_add(bus, fn);
    g_ptr_array_sort(bus, devfn_cmp);
    update_multifunction(bus);
    return fn;
}

/* ---- identity -------------------------------------------------------------- */

uint8_t pcie_fn_bus(const PcieFn *fn)
{
    if (fn->pf) {
        return PCIE_BUS(pcie_fn_rid(fn));
    }
    return fn->parent ? fn->parent->config[PCI_SECONDARY_BUS] : 0;
}

uint16_t pcie_fn_rid(const PcieFn *fn)
{
    if (fn->pf) {
        return pcie_sriov_vf_rid(fn->pf, fn->vf_index);
    }
    return (uint16_t)((pcie_fn_bus(fn) << 8) | fn->devfn);
}

PcieFnKind pcie_fn_kind(const PcieFn *fn) { return fn->kind; }
bool pcie_fn_is_bridge(const PcieFn *fn) { return fn->is_bridge; }
bool pcie_fn_is_vf(const PcieFn *fn) { return fn->pf != NULL; }
PcieFn *pcie_fn_pf(PcieFn *fn) { return fn->pf; }
unsigned pcie_fn_vf_index(const PcieFn *fn) { return fn->vf_index; }
PcieFn *pcie_fn_parent(PcieFn *fn) { return fn->parent; }
void *pcie_fn_opaque(PcieFn *fn) { return fn->opaque; }
PcieFabric *pcie_fn_fabric(PcieFn *fn) { return fn->fabric; }
int pcie_fn_group(const PcieFn *fn) { return fn->group; }
void pcie_fn_set_group(PcieFn *fn, int group) { fn->group = group; }

void pcie_fn_set_ops(PcieFn *fn, const PcieFnOps *ops, void *opaque)
{
    fn->ops = ops;
    fn->opaque = opaque;
    if (ops && ops->name) {
        pcie_fn_set_name(fn, ops->name);
    }
}

const char *pcie_fn_name(const PcieFn *cfn)
{
    PcieFn *fn = (PcieFn *)cfn;  /* the name is a cache refreshed when the RID moves */
    uint16_t rid = pcie_fn_rid(fn);
    char *n = g_strdup_printf("%02x:%02x.%x %s", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid),
                              fn->base_name);
    if (fn->name && strcmp(fn->name, n) == 0) {
        g_free(n);
    } else {
        g_free(fn->name);
        fn->name = n;
    }
    return fn->name;
}

void pcie_fn_set_name(PcieFn *fn, const char *name)
{
    g_free(fn->base_name);
    fn->base_name = g_strdup(name);
}

bool pcie_fn_ari_forwarding(PcieFn *br)
{
    return br->exp_cap &&
           (pcie_fn_get(br, br->exp_cap + PCI_EXP_DEVCTL2, 2) & PCI_EXP_DEVCTL2_ARI);
}

static gint rid_cmp(gconstpointer a, gconstpointer b)
{
    const PcieFn *x = *(PcieFn *const *)a, *y = *(PcieFn *const *)b;
    return (int)pcie_fn_rid(x) - (int)pcie_fn_rid(y);
}

static GPtrArray *with_vfs(GPtrArray *fns)
{
    GPtrArray *out = g_ptr_array_new();
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        g_ptr_array_add(out, x);
        for (guint j = 0; x->vfs && j < x->vfs->len; j++) {
            g_ptr_array_add(out, g_ptr_array_index(x->vfs, j));
        }
    }
    g_ptr_array_sort(out, rid_cmp);
    return out;
}

GPtrArray *pcie_fn_children(PcieFn *fn)
{
    if (!fn->children) {
        return g_ptr_array_new();
    }
    return with_vfs(fn->children);
}

GPtrArray *pcie_fabric_root_fns(PcieFabric *f)
{
    return with_vfs(f->root);
}

static void collect(GPtrArray *fns, GPtrArray *out)
{
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        g_ptr_array_add(out, x);
        for (guint j = 0; x->vfs && j < x->vfs->len; j++) {
            g_ptr_array_add(out, g_ptr_array_index(x->vfs, j));
        }
        if (x->children) {
            collect(x->children, out);
        }
    }
}

void pcie_fabric_foreach(PcieFabric *f, void (*cb)(PcieFn *fn, void *opaque), void *opaque)
{
    /* A snapshot, so a callback may change the set (e.g. disable VFs of a later PF). */
    GPtrArray *all = g_ptr_array_new();
    collect(f->root, all);
    for (guint i = 0; i < all->len; i++) {
        cb(g_ptr_array_index(all, i), opaque);
    }
    g_ptr_array_free(all, TRUE);
}

/* ---- config routing ---------------------------------------------------------- */

static PcieFn *find_vf(GPtrArray *fns, uint16_t rid)
{
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        for (guint j = 0; x->vfs && j < x->vfs->len; j++) {
            PcieFn *vf = g_ptr_array_index(x->vfs, j);
            if (pcie_fn_rid(vf) == rid) {
                return vf;
            }
        }
    }
    return NULL;
}

static PcieFn *route(GPtrArray *fns, PcieFn *bridge, uint8_t bus, uint8_t tbus, uint8_t devfn)
{
    uint16_t rid = (uint16_t)((tbus << 8) | devfn);
    if (tbus == bus) {
        if (bridge && (bridge->kind == PCIE_KIND_ROOT_PORT ||
                       bridge->kind == PCIE_KIND_SWITCH_DOWN) &&
            (devfn >> 3) != 0 && !pcie_fn_ari_forwarding(bridge)) {
            return NULL;   /* a Type 0 request on a link reaches device 0 only */
        }
        PcieFn *x = bus_lookup(fns, devfn);
        return x ? x : find_vf(fns, rid);
    }
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        if (!x->is_bridge) {
            continue;
        }
        uint8_t sec = x->config[PCI_SECONDARY_BUS], sub = x->config[PCI_SUBORDINATE_BUS];
        /* sec > bus also guarantees termination whatever software programmed. */
        if (sec > bus && tbus >= sec && tbus <= sub) {
            return route(x->children, x, sec, tbus, devfn);
        }
    }
    return find_vf(fns, rid);
}

PcieFn *pcie_fabric_find(PcieFabric *f, uint16_t rid)
{
    return route(f->root, NULL, 0, PCIE_BUS(rid), (uint8_t)(rid & 0xff));
}

uint32_t pcie_fabric_config_read(PcieFabric *f, uint8_t bus, uint8_t devfn, uint16_t off,
                                 unsigned size)
{
    PcieFn *fn = route(f->root, NULL, 0, bus, devfn);
    if (!fn || off + size > PCIE_CONFIG_SIZE) {
        return size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    }
    return pcie_fn_config_read(fn, off, size);
}

void pcie_fabric_config_write(PcieFabric *f, uint8_t bus, uint8_t devfn, uint16_t off,
                              unsigned size, uint32_t val)
{
    PcieFn *fn = route(f->root, NULL, 0, bus, devfn);
    if (fn && off + size <= PCIE_CONFIG_SIZE) {
        pcie_fn_config_write(fn, off, size, val);
    }
}

/* ---- BAR decoding for the whole fabric --------------------------------------- */

static void decode_one(PcieFn *fn, void *opaque)
{
    (void)opaque;
    pcie_fn_bar_decode(fn);
}

void pcie_fabric_update_decode(PcieFabric *f)
{
    if (f->updating) {
        return;
    }
    f->updating = true;
    pcie_fabric_foreach(f, decode_one, NULL);
    f->updating = false;
}

/* ---- reset ----------------------------------------------------------------------- */

static void reset_fn(PcieFn *fn)
{
    pcie_fn_flr(fn);
    for (guint i = 0; fn->children && i < fn->children->len; i++) {
        reset_fn(g_ptr_array_index(fn->children, i));
    }
}

void pcie_fabric_reset(PcieFabric *f)
{
    for (guint i = 0; i < f->root->len; i++) {
        reset_fn(g_ptr_array_index(f->root, i));
    }
    pcie_fabric_update_decode(f);
}

bool pcie_fn_has_ops(const PcieFn *fn, const PcieFnOps *ops)
{
    return fn->ops == ops;
}
