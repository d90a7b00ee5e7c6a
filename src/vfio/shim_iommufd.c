/*
 * The VFIO shim's iommufd side: /dev/iommu, the VFIO device cdev path
 * (/dev/vfio/devices/vfioK) and the iommufd VFIO compat container, served
 * by the same core as the legacy container (vfio.md §1.4, §1.5, §3.3).
 *
 * What it models.  An open /dev/iommu is a ShimIommufd: a table of
 * objects by id (from 1, never reused), each with a user count that makes
 * IOMMU_DESTROY fail with EBUSY while something depends on it:
 *  - IOAS: a ShimIoas (shim_ioas.c, the code the type1 container uses),
 *    an optional allowed-IOVA list (IOAS_ALLOW_IOVAS) and the reserved
 *    regions its attached domains impose: the interrupt window
 *    0xFEE00000-0xFEEFFFFF and everything above the unit's 2^MGAW - 1.
 *  - HWPT, paging: one VT-d second-stage domain on one unit, written by
 *    the driver library, listed in its IOAS's domains so every IOAS_MAP
 *    lands in it.  An attach of a device to an IOAS reuses the IOAS's
 *    automatic HWPT for that unit or creates one (destroyed with its last
 *    device, as the kernel's auto-domains are); HWPT_ALLOC(DATA_NONE)
 *    creates one explicitly, NEST_PARENT marks it usable as a parent.
 *  - HWPT, nested (IOMMU_HWPT_DATA_VTD_S1): a scalable-mode PASID entry
 *    with PGTT=nested whose first-stage root is the user's pgtbl_addr (an
 *    address in the parent's IOVA space) and whose second stage is the
 *    parent's domain; HWPT_INVALIDATE issues PASID-based IOTLB
 *    invalidations through the unit's invalidation queue.  Needs the unit
 *    in scalable mode (the shim uses it whenever ECAP.SMTS and SSTS are
 *    set) with ECAP.NEST and FSTS; otherwise EOPNOTSUPP.
 *  - DEVICE: a function bound by VFIO_DEVICE_BIND_IOMMUFD (cdev) or opened
 *    through a group in compat mode; attaching it writes its context (or
 *    RID_PASID entry) through the driver library.
 * The VFIO compat interface (a /dev/iommu fd as the container of
 * VFIO_GROUP_SET_CONTAINER, with the container ioctls) works on the compat
 * IOAS, created at the first SET_CONTAINER; SET_IOMMU(TYPE1) switches it
 * to 4 KiB leaves so that unmapping within a mapping can cut it, as
 * iommufd does.
 *
 * Argument rules: every iommufd command reads min(size, struct) bytes,
 * refuses size below the command's minimum (EINVAL) and non-zero bytes
 * past its struct (E2BIG), refuses unknown flags and non-zero reserved
 * fields (EOPNOTSUPP), unknown or wrong-kind ids (ENOENT), and arithmetic
 * overflow (EOVERFLOW); results are copied back within size.
 *
 * Dirty tracking is the hardware's: on a unit in scalable mode with
 * ECAP.SSADS a paging HWPT allocated with DIRTY_TRACKING can have SSADE
 * turned on in its PASID entries (HWPT_SET_DIRTY_TRACKING), the VT-d model
 * then sets D in the second-stage leaves a device writes through, and
 * HWPT_GET_DIRTY_BITMAP harvests (and, without NO_CLEAR, clears and
 * invalidates) those bits; elsewhere the flag is EOPNOTSUPP and
 * GET_HW_INFO does not advertise it.
 *
 * Not modelled: fault queues (FAULT_QUEUE_ALLOC and
 * FAULT_ID_VALID: EOPNOTSUPP), PASID attachment, vIOMMU/vDEVICE objects
 * (the 6.13+ commands answer ENOTTY), the per-user RLIMIT accounting
 * (RLIMIT_MODE is recorded, not enforced), and page sharing across IOAS
 * (IOAS_COPY maps the same user pages a second time, and only from a
 * range inside one source mapping).
 */
#define _GNU_SOURCE
#include "vfio/shim_internal.h"
#include "vfio/shim_uaccess.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

typedef enum ObjKind {
    OBJ_IOAS = 1,
    OBJ_HWPT,
    OBJ_DEVICE,
} ObjKind;

typedef struct Obj {
    ObjKind kind;
    uint32_t id;
    int users;              /* dependents: DESTROY fails with EBUSY while > 0 */
} Obj;

typedef struct Ioas {
    Obj o;                  /* users: HWPTs on it */
    ShimIoas io;
    GArray *allowed;        /* IommuAbiIovaRange; NULL: no restriction */
} Ioas;

typedef struct Hwpt {
    Obj o;                  /* users: attached devices, nested children */
    ShimUnit *unit;
    VtdDom *dom;
    Ioas *ioas;             /* paging: the IOAS mapped into dom */
    struct Hwpt *parent;    /* nested: the NEST_PARENT paging HWPT */
    bool nest_parent;
    bool autodomain;        /* made by an attach to an IOAS: goes with its last device */
    bool dirty_capable;     /* allocated with DIRTY_TRACKING */
} Hwpt;

struct ShimIdev {
    Obj o;                  /* never destroyed by the user (EBUSY) */
    ShimIommufd *ictx;
    ShimDevice *dev;
    PcieFn *fn;
    ShimUnit *unit;
    Hwpt *hwpt;             /* attached, or NULL */
};

struct ShimIommufd {
    int refs;               /* fds, bound devices, compat groups */
    GHashTable *objs;       /* id -> Obj * */
    uint32_t next_id;
    Ioas *compat;           /* the VFIO compat IOAS, or NULL */
    int compat_type;        /* 0, VFIO_ABI_TYPE1_IOMMU or VFIO_ABI_TYPE1v2_IOMMU */
    GPtrArray *groups;      /* ShimGroup * set to this fd as a container */
    uint64_t rlimit_mode;   /* IOMMU_OPTION_RLIMIT_MODE: recorded, not enforced */
};

/* ---- objects ---------------------------------------------------------------------------- */

ShimIommufd *shim_iommufd_new(VfioShim *s)
{
    (void)s;
    ShimIommufd *ictx = g_new0(ShimIommufd, 1);
    ictx->refs = 1;
    ictx->objs = g_hash_table_new(g_direct_hash, g_direct_equal);
    ictx->next_id = 1;
    ictx->groups = g_ptr_array_new();
    return ictx;
}

void shim_iommufd_ref(ShimIommufd *ictx)
{
    ictx->refs++;
}

static void obj_add(ShimIommufd *ictx, Obj *o, ObjKind kind)
{
    o->kind = kind;
    o->id = ictx->next_id++;
    g_hash_table_insert(ictx->objs, GUINT_TO_POINTER(o->id), o);
}

static Obj *obj_get(ShimIommufd *ictx, uint32_t id, ObjKind kind)
{
    Obj *o = g_hash_table_lookup(ictx->objs, GUINT_TO_POINTER(id));
    return o && (!kind || o->kind == kind) ? o : NULL;
}

static Ioas *ioas_get(ShimIommufd *ictx, uint32_t id)
{
    return (Ioas *)obj_get(ictx, id, OBJ_IOAS);
}

static Ioas *ioas_new(ShimIommufd *ictx)
{
    Ioas *a = g_new0(Ioas, 1);
    shim_ioas_init(&a->io);
    obj_add(ictx, &a->o, OBJ_IOAS);
    return a;
}

static void ioas_free(VfioShim *s, ShimIommufd *ictx, Ioas *a)
{
    g_assert(!a->o.users);
    g_hash_table_remove(ictx->objs, GUINT_TO_POINTER(a->o.id));
    if (ictx->compat == a) {
        ictx->compat = NULL;
    }
    shim_ioas_fini(s, &a->io);
    if (a->allowed) {
        g_array_free(a->allowed, TRUE);
    }
    g_free(a);
}

static void hwpt_free(VfioShim *s, ShimIommufd *ictx, Hwpt *h)
{
    g_assert(!h->o.users);
    g_hash_table_remove(ictx->objs, GUINT_TO_POINTER(h->o.id));
    if (h->ioas) {
        /* the driver library keeps the domain's tables; clear them so nothing stale survives */
        shim_ioas_del_dom(s, &h->ioas->io, h->dom);
        h->ioas->o.users--;
    }
    if (h->parent) {
        h->parent->o.users--;
    }
    g_free(h);
}

static gint obj_order(gconstpointer a, gconstpointer b)
{
    const Obj *x = *(Obj *const *)a, *y = *(Obj *const *)b;
    /* nested HWPTs before their parents, HWPTs before IOAS */
    int kx = x->kind == OBJ_HWPT ? (((const Hwpt *)x)->parent ? 0 : 1) : 2;
    int ky = y->kind == OBJ_HWPT ? (((const Hwpt *)y)->parent ? 0 : 1) : 2;
    return kx != ky ? kx - ky : (x->id > y->id) - (x->id < y->id);
}

void shim_iommufd_unref(VfioShim *s, ShimIommufd *ictx)
{
    if (--ictx->refs > 0) {
        return;
    }
    /* the last reference: no device is bound any more; free every object */
    g_autoptr(GPtrArray) all = g_ptr_array_new();
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, ictx->objs);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        g_ptr_array_add(all, v);
    }
    g_ptr_array_sort(all, obj_order);
    for (guint i = 0; i < all->len; i++) {
        Obj *o = g_ptr_array_index(all, i);
        o->users = 0;
        if (o->kind == OBJ_HWPT) {
            hwpt_free(s, ictx, (Hwpt *)o);
        } else if (o->kind == OBJ_IOAS) {
            ioas_free(s, ictx, (Ioas *)o);
        }
    }
    g_hash_table_destroy(ictx->objs);
    g_ptr_array_unref(ictx->groups);
    g_free(ictx);
}

/* ---- IOVA ranges ------------------------------------------------------------------------ */

/* Removes [lo, hi] from the sorted inclusive ranges @r. */
static void ranges_cut(GArray *r, uint64_t lo, uint64_t hi)
{
    for (guint i = 0; i < r->len;) {
        IommuAbiIovaRange x = g_array_index(r, IommuAbiIovaRange, i);
        if (x.last < lo || x.start > hi) {
            i++;
            continue;
        }
        g_array_remove_index(r, i);
        if (x.start < lo) {
            IommuAbiIovaRange a = { x.start, lo - 1 };
            g_array_insert_val(r, i++, a);
        }
        if (x.last > hi) {
            IommuAbiIovaRange b = { hi + 1, x.last };
            g_array_insert_val(r, i++, b);
        }
    }
}

/* The usable IOVA ranges of @a: the allowed list (or everything) minus the domains' reserved regions. */
static GArray *ioas_ranges(Ioas *a)
{
    GArray *r = g_array_new(FALSE, FALSE, sizeof(IommuAbiIovaRange));
    if (a->allowed) {
        g_array_append_vals(r, a->allowed->data, a->allowed->len);
    } else {
        IommuAbiIovaRange all = { 0, UINT64_MAX };
        g_array_append_val(r, all);
    }
    for (guint i = 0; i < a->io.doms->len; i++) {
        const ShimIoasDom *e = &g_array_index(a->io.doms, ShimIoasDom, i);
        ranges_cut(r, SHIM_MSI_LO, SHIM_MSI_HI);
        uint64_t top = shim_unit_iova_top(e->unit);
        if (top < UINT64_MAX) {
            ranges_cut(r, top + 1, UINT64_MAX);
        }
    }
    return r;
}

static bool in_ranges(const GArray *r, uint64_t iova, uint64_t last)
{
    for (guint i = 0; i < r->len; i++) {
        const IommuAbiIovaRange *x = &g_array_index(r, IommuAbiIovaRange, i);
        if (iova >= x->start && last <= x->last) {
            return true;
        }
    }
    return false;
}

/* TRUE when every mapping of @a lies inside @r. */
static bool mappings_inside(Ioas *a, const GArray *r)
{
    g_autoptr(GPtrArray) all = shim_ioas_list(&a->io);
    for (guint i = 0; i < all->len; i++) {
        ShimDma *d = g_ptr_array_index(all, i);
        if (!in_ranges(r, d->iova, d->iova + d->size - 1)) {
            return false;
        }
    }
    return true;
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
    uint64_t r = (v + a - 1) & ~(a - 1);
    return r < v ? UINT64_MAX : r;
}

/* The lowest free IOVA for @length bytes aligned to @align inside the usable ranges, or FALSE. */
static bool iova_alloc(Ioas *a, uint64_t length, uint64_t align, uint64_t *out)
{
    g_autoptr(GArray) r = ioas_ranges(a);
    for (guint i = 0; i < r->len; i++) {
        const IommuAbiIovaRange *x = &g_array_index(r, IommuAbiIovaRange, i);
        uint64_t c = align_up(x->start, align);
        while (c != UINT64_MAX && c >= x->start && c + (length - 1) >= c && c + (length - 1) <= x->last) {
            ShimDma *d = shim_ioas_overlap(&a->io, c, c + length - 1);
            if (!d) {
                *out = c;
                return true;
            }
            uint64_t next = align_up(d->iova + d->size, align);
            if (next <= c) {
                break;
            }
            c = next;
        }
    }
    return false;
}

/* ---- mapping (shared by IOAS_MAP, IOAS_COPY and the compat MAP_DMA) -------------------- */

/*
 * The iommufd checks of a fixed-IOVA map, in the kernel's order:
 * alignment (EINVAL), overflow (EOVERFLOW), reserved or not allowed
 * (EINVAL), overlap (EEXIST); then the user range: a BAR mmap (EFAULT:
 * iommufd cannot pin VM_PFNMAP memory) and pinning.
 */
static int ioas_map_fixed(VfioShim *s, Ioas *a, uint64_t iova, uint64_t vaddr, uint64_t length, unsigned prot,
                          const char *who)
{
    if ((iova | vaddr | length) & (SHIM_PAGE - 1)) {
        return -EINVAL;
    }
    if (iova + (length - 1) < iova) {
        return -EOVERFLOW;
    }
    g_autoptr(GArray) r = ioas_ranges(a);
    if (!in_ranges(r, iova, iova + length - 1)) {
        return -EINVAL;
    }
    if (shim_ioas_overlap(&a->io, iova, iova + length - 1)) {
        return -EEXIST;
    }
    if (shim_range_is_bar_mmap(s, vaddr, length)) {
        g_printerr("vtdsim-vfio: %s: a VFIO BAR mmap cannot be mapped through iommufd\n", who);
        return -EFAULT;
    }
    return shim_ioas_map(s, &a->io, iova, vaddr, length, prot, who);
}

static unsigned map_prot(uint32_t flags)
{
    return (flags & IOMMU_ABI_MAP_READABLE ? VTD_PROT_READ : 0) |
           (flags & IOMMU_ABI_MAP_WRITEABLE ? VTD_PROT_WRITE : 0);
}

/* IOAS_MAP/IOAS_COPY: @flags as IOMMU_ABI_MAP_*, *@iova in (FIXED_IOVA) or out. */
static int ioas_map(VfioShim *s, Ioas *a, uint32_t flags, uint64_t vaddr, uint64_t length, uint64_t *iova,
                    const char *who)
{
    if (!length) {
        return -EINVAL;
    }
    if (vaddr + (length - 1) < vaddr) {
        return -EOVERFLOW;
    }
    if (!(flags & (IOMMU_ABI_MAP_READABLE | IOMMU_ABI_MAP_WRITEABLE))) {
        return -EINVAL;
    }
    if (!(flags & IOMMU_ABI_MAP_FIXED_IOVA)) {
        if ((vaddr | length) & (SHIM_PAGE - 1)) {
            return -EINVAL;
        }
        /* keep the user address's large-page alignment so the IOMMU can use superpages */
        uint64_t align = SHIM_PAGE;
        for (uint64_t big = 1ull << 30; big > SHIM_PAGE; big >>= 9) {
            if (length >= big && !(vaddr & (big - 1))) {
                align = big;
                break;
            }
        }
        if (!iova_alloc(a, length, align, iova)) {
            return -ENOSPC;
        }
    }
    return ioas_map_fixed(s, a, *iova, vaddr, length, map_prot(flags), who);
}

/* ---- devices and attachment ------------------------------------------------------------- */

static ShimIdev *idev_get(ShimIommufd *ictx, uint32_t id)
{
    return (ShimIdev *)obj_get(ictx, id, OBJ_DEVICE);
}

static ShimIdev *idev_bind(VfioShim *s, ShimIommufd *ictx, ShimDevice *d, int *err)
{
    PcieFn *fn = shim_device_fn(d);
    ShimUnit *u = shim_unit_for(s, fn);
    if (!u) {
        g_printerr("vtdsim-vfio: %s sits behind no VT-d unit; iommufd needs one\n", pcie_fn_name(fn));
        *err = -ENODEV;
        return NULL;
    }
    ShimIdev *idev = g_new0(ShimIdev, 1);
    idev->ictx = ictx;
    idev->dev = d;
    idev->fn = fn;
    idev->unit = u;
    obj_add(ictx, &idev->o, OBJ_DEVICE);
    shim_iommufd_ref(ictx);
    shim_device_set_idev(d, idev);
    return idev;
}

static Hwpt *hwpt_paging_new(VfioShim *s, ShimIommufd *ictx, Ioas *a, ShimUnit *u, bool nest_parent, int *err)
{
    g_autoptr(GError) gerr = NULL;
    /* the new domain's aperture must hold every mapping the IOAS already has */
    uint64_t top = shim_unit_iova_top(u);
    g_autoptr(GPtrArray) all = shim_ioas_list(&a->io);
    for (guint i = 0; i < all->len; i++) {
        ShimDma *d = g_ptr_array_index(all, i);
        uint64_t last = d->iova + d->size - 1;
        if (last > top || (last >= SHIM_MSI_LO && d->iova <= SHIM_MSI_HI)) {
            *err = -EADDRINUSE;
            return NULL;
        }
    }
    VtdDom *dom = vtd_drv_domain_new(u->drv, VTD_DOM_SECOND_STAGE, 0, &gerr);
    if (!dom) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_ALLOC: %s\n", gerr->message);
        *err = -ENOSPC;
        return NULL;
    }
    *err = shim_ioas_add_dom(s, &a->io, u, dom);
    if (*err < 0) {
        return NULL;
    }
    Hwpt *h = g_new0(Hwpt, 1);
    h->unit = u;
    h->dom = dom;
    h->ioas = a;
    h->nest_parent = nest_parent;
    a->o.users++;
    obj_add(ictx, &h->o, OBJ_HWPT);
    return h;
}

/* Drops @idev's attachment (no hardware change): auto-domains go with their last device. */
static void hwpt_put(VfioShim *s, ShimIommufd *ictx, Hwpt *h)
{
    if (--h->o.users == 0 && h->autodomain) {
        hwpt_free(s, ictx, h);
    }
}

static int idev_attach(VfioShim *s, ShimIdev *idev, uint32_t pt_id, uint32_t *out_hwpt)
{
    ShimIommufd *ictx = idev->ictx;
    Obj *o = obj_get(ictx, pt_id, 0);
    if (!o || o->kind == OBJ_DEVICE) {
        return -ENOENT;
    }
    Hwpt *h = NULL;
    int err = 0;
    if (o->kind == OBJ_IOAS) {
        Ioas *a = (Ioas *)o;
        if (idev->hwpt && idev->hwpt->ioas == a && idev->hwpt->unit == idev->unit) {
            h = idev->hwpt;    /* already attached to this IOAS: nothing changes */
        }
        GHashTableIter it;
        gpointer v;
        g_hash_table_iter_init(&it, ictx->objs);
        while (!h && g_hash_table_iter_next(&it, NULL, &v)) {
            Hwpt *x = v;
            if (x->o.kind == OBJ_HWPT && x->autodomain && x->ioas == a && x->unit == idev->unit) {
                h = x;
            }
        }
        if (!h) {
            h = hwpt_paging_new(s, ictx, a, idev->unit, false, &err);
            if (!h) {
                return err;
            }
            h->autodomain = true;
        }
    } else {
        h = (Hwpt *)o;
        if (h->unit != idev->unit) {
            return -EINVAL;    /* a domain of another unit: incompatible (QEMU then tries another) */
        }
    }
    if (h != idev->hwpt) {
        g_autoptr(GError) gerr = NULL;
        if (!vtd_drv_attach(idev->unit->drv, h->dom, pcie_fn_rid(idev->fn), -1, &gerr)) {
            g_printerr("vtdsim-vfio: VFIO_DEVICE_ATTACH_IOMMUFD_PT: %s\n", gerr->message);
            if (!h->o.users && h->autodomain) {
                hwpt_free(s, ictx, h);
            }
            return -EINVAL;
        }
        h->o.users++;
        Hwpt *old = idev->hwpt;
        idev->hwpt = h;
        if (old) {
            hwpt_put(s, ictx, old);    /* replaced: the kernel's replace semantics */
        }
    }
    *out_hwpt = h->o.id;
    return 0;
}

static void idev_detach(VfioShim *s, ShimIdev *idev)
{
    if (!idev->hwpt) {
        return;
    }
    g_autoptr(GError) gerr = NULL;
    if (!vtd_drv_detach(idev->unit->drv, pcie_fn_rid(idev->fn), -1, &gerr)) {
        g_printerr("vtdsim-vfio: detach: %s\n", gerr->message);
    }
    Hwpt *h = idev->hwpt;
    idev->hwpt = NULL;
    hwpt_put(s, idev->ictx, h);
}

void shim_iommufd_unbind(VfioShim *s, ShimIdev *idev)
{
    ShimIommufd *ictx = idev->ictx;
    idev_detach(s, idev);
    g_hash_table_remove(ictx->objs, GUINT_TO_POINTER(idev->o.id));
    g_free(idev);
    shim_iommufd_unref(s, ictx);
}

uint32_t shim_iommufd_devid_of(VfioShim *s, ShimIommufd *ictx, PcieFn *fn)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, ictx->objs);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ShimIdev *idev = v;
        if (idev->o.kind == OBJ_DEVICE && idev->fn == fn) {
            return idev->o.id;
        }
    }
    ShimGroup *g = g_hash_table_lookup(s->groups, GINT_TO_POINTER(pcie_fn_group(fn)));
    return g && g->ictx == ictx ? VFIO_ABI_DEVID_OWNED : VFIO_ABI_DEVID_NOT_OWNED;
}

/* ---- the command buffer ------------------------------------------------------------------ */

/* One iommufd command: the client's buffer and our zero-extended copy of it. */
typedef struct Ucmd {
    void *user;
    uint32_t user_size;
    size_t size;            /* our struct's size */
    union {
        uint8_t raw[64];
        IommuAbiDestroy destroy;
        IommuAbiIoasAlloc ioas_alloc;
        IommuAbiIoasAllowIovas allow;
        IommuAbiIoasCopy copy;
        IommuAbiIoasIovaRanges ranges;
        IommuAbiIoasMap map;
        IommuAbiIoasUnmap unmap;
        IommuAbiOption option;
        IommuAbiVfioIoas vfio_ioas;
        IommuAbiHwptAlloc hwpt_alloc;
        IommuAbiHwInfo hw_info;
        IommuAbiHwptSetDirty set_dirty;
        IommuAbiHwptGetDirtyBitmap get_dirty;
        IommuAbiHwptInvalidate inval;
        IommuAbiFaultAlloc fault;
    } u;
} Ucmd;

/* Copies the command back within the client's size. */
static void respond(Ucmd *c)
{
    memcpy(c->user, c->u.raw, MIN((size_t)c->user_size, c->size));
}

/*
 * Reads a user array of @num entries of @len bytes into entries of our
 * @size (zero-extended): E2BIG when a longer entry has non-zero bytes
 * past ours, EINVAL when an entry is shorter than @min.
 */
static int copy_struct(void *dst, size_t size, size_t min, const uint8_t *src, size_t len)
{
    if (len < min) {
        return -EINVAL;
    }
    for (size_t i = size; i < len; i++) {
        if (src[i]) {
            return -E2BIG;
        }
    }
    memset(dst, 0, size);
    memcpy(dst, src, MIN(len, size));
    return 0;
}

/* ---- the /dev/iommu commands -------------------------------------------------------------- */

static long cmd_destroy(VfioShim *s, ShimIommufd *ictx, Ucmd *c)
{
    Obj *o = obj_get(ictx, c->u.destroy.id, 0);
    if (!o) {
        return -ENOENT;
    }
    if (o->users || o->kind == OBJ_DEVICE) {
        return -EBUSY;    /* in use; device objects go with their device fd */
    }
    if (o->kind == OBJ_IOAS) {
        ioas_free(s, ictx, (Ioas *)o);
    } else {
        hwpt_free(s, ictx, (Hwpt *)o);
    }
    return 0;
}

static long cmd_ioas_alloc(ShimIommufd *ictx, Ucmd *c)
{
    if (c->u.ioas_alloc.flags) {
        return -EOPNOTSUPP;
    }
    c->u.ioas_alloc.out_ioas_id = ioas_new(ictx)->o.id;
    respond(c);
    return 0;
}

static long cmd_allow_iovas(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiIoasAllowIovas *a = &c->u.allow;
    if (a->reserved) {
        return -EOPNOTSUPP;
    }
    Ioas *io = ioas_get(ictx, a->ioas_id);
    if (!io) {
        return -ENOENT;
    }
    if (a->num_iovas > 65536) {
        return -EINVAL;
    }
    g_autoptr(GArray) r = g_array_new(FALSE, FALSE, sizeof(IommuAbiIovaRange));
    const IommuAbiIovaRange *in = (const IommuAbiIovaRange *)(uintptr_t)a->allowed_iovas;
    if (shim_user_check(in, (size_t)a->num_iovas * sizeof *in, false) < 0) {
        return -EFAULT;
    }
    for (uint32_t i = 0; i < a->num_iovas; i++) {
        IommuAbiIovaRange x;
        memcpy(&x, &in[i], sizeof x);
        if (x.start > x.last) {
            return -EINVAL;
        }
        g_array_append_val(r, x);
    }
    /* sort, and refuse overlapping ranges */
    for (guint i = 1; i < r->len; i++) {
        for (guint k = i; k > 0; k--) {
            IommuAbiIovaRange *p = &g_array_index(r, IommuAbiIovaRange, k - 1);
            IommuAbiIovaRange *q = &g_array_index(r, IommuAbiIovaRange, k);
            if (p->start <= q->start) {
                break;
            }
            IommuAbiIovaRange t = *p;
            *p = *q;
            *q = t;
        }
    }
    for (guint i = 1; i < r->len; i++) {
        if (g_array_index(r, IommuAbiIovaRange, i).start <= g_array_index(r, IommuAbiIovaRange, i - 1).last) {
            return -EINVAL;
        }
    }
    if (r->len && !mappings_inside(io, r)) {
        return -EADDRINUSE;    /* an existing mapping would fall outside */
    }
    if (io->allowed) {
        g_array_free(io->allowed, TRUE);
        io->allowed = NULL;
    }
    if (r->len) {
        io->allowed = g_steal_pointer(&r);
    }
    return 0;
}

static long cmd_iova_ranges(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiIoasIovaRanges *a = &c->u.ranges;
    if (a->reserved) {
        return -EOPNOTSUPP;
    }
    Ioas *io = ioas_get(ictx, a->ioas_id);
    if (!io) {
        return -ENOENT;
    }
    g_autoptr(GArray) r = ioas_ranges(io);
    uint32_t room = a->num_iovas;
    a->num_iovas = r->len;
    a->out_iova_alignment = SHIM_PAGE;
    if (room < r->len) {
        respond(c);
        return -EMSGSIZE;    /* with the number needed: callers allocate and ask again */
    }
    if (r->len && shim_copy_out((void *)(uintptr_t)a->allowed_iovas, r->data,
                                r->len * sizeof(IommuAbiIovaRange)) < 0) {
        return -EFAULT;
    }
    respond(c);
    return 0;
}

static long cmd_ioas_map(VfioShim *s, ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiIoasMap *m = &c->u.map;
    const uint32_t known = IOMMU_ABI_MAP_FIXED_IOVA | IOMMU_ABI_MAP_WRITEABLE | IOMMU_ABI_MAP_READABLE;
    if ((m->flags & ~known) || m->reserved) {
        return -EOPNOTSUPP;
    }
    Ioas *io = ioas_get(ictx, m->ioas_id);
    if (!io) {
        return -ENOENT;
    }
    int r = ioas_map(s, io, m->flags, m->user_va, m->length, &m->iova, "IOMMU_IOAS_MAP");
    if (r == 0) {
        respond(c);
    }
    return r;
}

static long cmd_ioas_copy(VfioShim *s, ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiIoasCopy *m = &c->u.copy;
    const uint32_t known = IOMMU_ABI_MAP_FIXED_IOVA | IOMMU_ABI_MAP_WRITEABLE | IOMMU_ABI_MAP_READABLE;
    if (m->flags & ~known) {
        return -EOPNOTSUPP;
    }
    if (!m->length) {
        return -EINVAL;
    }
    if (m->src_iova + (m->length - 1) < m->src_iova) {
        return -EOVERFLOW;
    }
    Ioas *src = ioas_get(ictx, m->src_ioas_id), *dst = ioas_get(ictx, m->dst_ioas_id);
    if (!src || !dst) {
        return -ENOENT;
    }
    ShimDma *d = shim_ioas_overlap(&src->io, m->src_iova, m->src_iova);
    if (!d || m->src_iova + m->length - 1 > d->iova + d->size - 1) {
        return -ENOENT;    /* the source range must be mapped (here: within one mapping) */
    }
    uint64_t vaddr = d->vaddr + (m->src_iova - d->iova);
    int r = ioas_map(s, dst, m->flags, vaddr, m->length, &m->dst_iova, "IOMMU_IOAS_COPY");
    if (r == 0) {
        respond(c);
    }
    return r;
}

static long cmd_ioas_unmap(VfioShim *s, ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiIoasUnmap *u = &c->u.unmap;
    Ioas *io = ioas_get(ictx, u->ioas_id);
    if (!io) {
        return -ENOENT;
    }
    if (u->iova == 0 && u->length == UINT64_MAX) {
        u->length = shim_ioas_unmap_all(s, &io->io);
        respond(c);
        return 0;
    }
    if (!u->length) {
        return -EINVAL;
    }
    if (u->iova + (u->length - 1) < u->iova) {
        return -EOVERFLOW;
    }
    /* areas go whole (ENOENT otherwise); an empty range succeeds with 0, as kernels since late 2025 do */
    int r = shim_ioas_unmap_range(s, &io->io, u->iova, u->iova + u->length - 1, -ENOENT, NULL, NULL, &u->length);
    if (r == 0) {
        respond(c);
    }
    return r;
}

static long cmd_option(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiOption *o = &c->u.option;
    if (o->reserved) {
        return -EOPNOTSUPP;
    }
    if (o->op != IOMMU_ABI_OPTION_OP_SET && o->op != IOMMU_ABI_OPTION_OP_GET) {
        return -EOPNOTSUPP;
    }
    bool set = o->op == IOMMU_ABI_OPTION_OP_SET;
    switch (o->option_id) {
    case IOMMU_ABI_OPTION_RLIMIT_MODE:
        if (o->object_id) {
            return -EINVAL;
        }
        if (set) {
            if (o->val64 > 1) {
                return -EINVAL;
            }
            ictx->rlimit_mode = o->val64;
        } else {
            o->val64 = ictx->rlimit_mode;
        }
        break;
    case IOMMU_ABI_OPTION_HUGE_PAGES: {
        Ioas *io = ioas_get(ictx, o->object_id);
        if (!io) {
            return -ENOENT;
        }
        if (set) {
            if (o->val64 > 1) {
                return -EINVAL;
            }
            bool small = o->val64 == 0;
            if (small != io->io.small_pages && io->io.dma_count) {
                return -EINVAL;    /* existing leaves would disagree with the new rule */
            }
            io->io.small_pages = small;
        } else {
            o->val64 = !io->io.small_pages;
        }
        break;
    }
    default:
        return -EOPNOTSUPP;
    }
    respond(c);
    return 0;
}

static long cmd_vfio_ioas(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiVfioIoas *v = &c->u.vfio_ioas;
    if (v->reserved) {
        return -EOPNOTSUPP;
    }
    switch (v->op) {
    case IOMMU_ABI_VFIO_IOAS_GET:
        if (!ictx->compat) {
            return -ENODEV;
        }
        v->ioas_id = ictx->compat->o.id;
        respond(c);
        return 0;
    case IOMMU_ABI_VFIO_IOAS_SET: {
        Ioas *io = ioas_get(ictx, v->ioas_id);
        if (!io) {
            return -ENOENT;
        }
        ictx->compat = io;
        return 0;
    }
    case IOMMU_ABI_VFIO_IOAS_CLEAR:
        ictx->compat = NULL;
        return 0;
    default:
        return -EOPNOTSUPP;
    }
}

/* Second-stage A/D bits: scalable mode and ECAP.SSADS (called SLADS in older VT-d revisions). */
static bool unit_dirty(ShimUnit *u)
{
    return u->scalable && vtd_ecap_SSADS(vtd_drv_ecap(u->drv));
}

static bool unit_nests(ShimUnit *u)
{
    uint64_t ecap = vtd_drv_ecap(u->drv);
    return u->scalable && vtd_ecap_NEST(ecap) && vtd_ecap_FSTS(ecap) && vtd_ecap_SSTS(ecap);
}

static long hwpt_alloc_nested(VfioShim *s, ShimIommufd *ictx, ShimIdev *idev, Hwpt *parent, Ucmd *c)
{
    (void)s;
    IommuAbiHwptAlloc *a = &c->u.hwpt_alloc;
    if (!parent->nest_parent || a->flags) {
        return -EINVAL;
    }
    if (parent->unit != idev->unit) {
        return -EINVAL;
    }
    if (a->data_len > 4096 || !a->data_uptr) {
        return -EINVAL;
    }
    IommuAbiHwptVtdS1 s1;
    if (shim_user_check((const void *)(uintptr_t)a->data_uptr, a->data_len, false) < 0) {
        return -EFAULT;
    }
    int r = copy_struct(&s1, sizeof s1, sizeof s1, (const uint8_t *)(uintptr_t)a->data_uptr, a->data_len);
    if (r < 0) {
        return r;
    }
    const uint64_t known = IOMMU_ABI_VTD_S1_SRE | IOMMU_ABI_VTD_S1_EAFE | IOMMU_ABI_VTD_S1_WPE;
    if ((s1.flags & ~known) || s1.reserved) {
        return -EOPNOTSUPP;
    }
    uint64_t cap = vtd_drv_cap(idev->unit->drv);
    if ((s1.addr_width != 48 && s1.addr_width != 57) || (s1.addr_width == 57 && !vtd_cap_FS5LP(cap)) ||
        (s1.pgtbl_addr & (SHIM_PAGE - 1))) {
        return -EINVAL;
    }
    unsigned flags = (s1.flags & IOMMU_ABI_VTD_S1_SRE ? VTD_NEST_SRE : 0) |
                     (s1.flags & IOMMU_ABI_VTD_S1_EAFE ? VTD_NEST_EAFE : 0) |
                     (s1.flags & IOMMU_ABI_VTD_S1_WPE ? VTD_NEST_WPE : 0);
    g_autoptr(GError) gerr = NULL;
    VtdDom *dom = vtd_drv_domain_new_nested(idev->unit->drv, parent->dom, s1.pgtbl_addr,
                                            s1.addr_width == 57 ? 5 : 4, flags, &gerr);
    if (!dom) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_ALLOC(VTD_S1): %s\n", gerr->message);
        return -EINVAL;
    }
    Hwpt *h = g_new0(Hwpt, 1);
    h->unit = idev->unit;
    h->dom = dom;
    h->parent = parent;
    parent->o.users++;
    obj_add(ictx, &h->o, OBJ_HWPT);
    a->out_hwpt_id = h->o.id;
    respond(c);
    return 0;
}

static long cmd_hwpt_alloc(VfioShim *s, ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiHwptAlloc *a = &c->u.hwpt_alloc;
    const uint32_t known = IOMMU_ABI_HWPT_NEST_PARENT | IOMMU_ABI_HWPT_DIRTY_TRACKING |
                           IOMMU_ABI_HWPT_FAULT_ID_VALID | IOMMU_ABI_HWPT_PASID;
    if ((a->flags & ~known) || a->reserved || a->reserved2) {
        return -EOPNOTSUPP;
    }
    if (a->data_type == IOMMU_ABI_HWPT_DATA_NONE && a->data_len) {
        return -EINVAL;
    }
    ShimIdev *idev = idev_get(ictx, a->dev_id);
    Obj *pt = obj_get(ictx, a->pt_id, 0);
    if (!idev || !pt) {
        return -ENOENT;
    }
    if ((a->flags & IOMMU_ABI_HWPT_DIRTY_TRACKING) && (pt->kind != OBJ_IOAS || !unit_dirty(idev->unit))) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_ALLOC: dirty tracking needs a paging HWPT on a unit in scalable "
                   "mode with ECAP.SSADS\n");
        return -EOPNOTSUPP;
    }
    if (a->flags & (IOMMU_ABI_HWPT_FAULT_ID_VALID | IOMMU_ABI_HWPT_PASID)) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_ALLOC: fault queues and PASID HWPTs are not simulated\n");
        return -EOPNOTSUPP;
    }
    if (pt->kind == OBJ_IOAS) {
        if (a->data_type != IOMMU_ABI_HWPT_DATA_NONE) {
            return a->data_type == IOMMU_ABI_HWPT_DATA_VTD_S1 ? -EINVAL : -EOPNOTSUPP;
        }
        if ((a->flags & IOMMU_ABI_HWPT_NEST_PARENT) && !unit_nests(idev->unit)) {
            g_printerr("vtdsim-vfio: IOMMU_HWPT_ALLOC: NEST_PARENT needs a unit in scalable mode with "
                       "ECAP.NEST, FSTS and SSTS\n");
            return -EOPNOTSUPP;
        }
        int err;
        Hwpt *h = hwpt_paging_new(s, ictx, (Ioas *)pt, idev->unit, a->flags & IOMMU_ABI_HWPT_NEST_PARENT, &err);
        if (!h) {
            return err;
        }
        h->dirty_capable = a->flags & IOMMU_ABI_HWPT_DIRTY_TRACKING;
        a->out_hwpt_id = h->o.id;
        respond(c);
        return 0;
    }
    if (pt->kind != OBJ_HWPT) {
        return -EINVAL;
    }
    if (a->data_type == IOMMU_ABI_HWPT_DATA_NONE) {
        return -EINVAL;    /* a HWPT parent needs user data describing the stage-1 table */
    }
    if (a->data_type != IOMMU_ABI_HWPT_DATA_VTD_S1) {
        return -EOPNOTSUPP;
    }
    if (!unit_nests(idev->unit)) {
        return -EOPNOTSUPP;
    }
    return hwpt_alloc_nested(s, ictx, idev, (Hwpt *)pt, c);
}

static long cmd_get_hw_info(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiHwInfo *h = &c->u.hw_info;
    if ((h->flags & ~(uint32_t)IOMMU_ABI_HW_INFO_INPUT_TYPE) || h->reserved[0] || h->reserved[1] ||
        h->reserved[2]) {
        return -EOPNOTSUPP;
    }
    if ((h->flags & IOMMU_ABI_HW_INFO_INPUT_TYPE) && h->out_data_type != IOMMU_ABI_HW_INFO_TYPE_DEFAULT &&
        h->out_data_type != IOMMU_ABI_HW_INFO_TYPE_INTEL_VTD) {
        return -EOPNOTSUPP;
    }
    ShimIdev *idev = idev_get(ictx, h->dev_id);
    if (!idev) {
        return -ENOENT;
    }
    /* the unit's raw registers, as intel-iommu reports them */
    IommuAbiHwInfoVtd vtd = { 0, 0, vtd_drv_cap(idev->unit->drv), vtd_drv_ecap(idev->unit->drv) };
    if (h->data_len) {
        if (!h->data_uptr) {
            return -EFAULT;
        }
        uint8_t *out = (uint8_t *)(uintptr_t)h->data_uptr;
        if (shim_user_check(out, h->data_len, true) < 0) {
            return -EFAULT;
        }
        memcpy(out, &vtd, MIN((size_t)h->data_len, sizeof vtd));
        if (h->data_len > sizeof vtd) {
            memset(out + sizeof vtd, 0, h->data_len - sizeof vtd);
        }
    }
    h->data_len = sizeof vtd;
    h->out_data_type = IOMMU_ABI_HW_INFO_TYPE_INTEL_VTD;
    /* PASIDs: only for a function with a PASID capability on a unit with ECAP.PASID */
    bool pasid = vtd_ecap_PASID(vtd.ecap_reg) && pcie_fn_find_ext_cap(idev->fn, 0x1b);
    h->out_max_pasid_log2 = pasid ? (uint8_t)(vtd_ecap_PSS(vtd.ecap_reg) + 1) : 0;
    h->out_capabilities = unit_dirty(idev->unit) ? IOMMU_ABI_HW_CAP_DIRTY_TRACKING : 0;
    respond(c);
    return 0;
}

static long cmd_hwpt_invalidate(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiHwptInvalidate *iv = &c->u.inval;
    if (iv->reserved) {
        return -EOPNOTSUPP;
    }
    if (iv->entry_num && (!iv->data_uptr || !iv->entry_len)) {
        return -EINVAL;
    }
    Hwpt *h = (Hwpt *)obj_get(ictx, iv->hwpt_id, OBJ_HWPT);
    if (!h || !h->parent) {
        return -ENOENT;    /* only nested HWPTs take user invalidations */
    }
    if (iv->data_type != IOMMU_ABI_HWPT_INVALIDATE_DATA_VTD_S1) {
        return -EINVAL;
    }
    uint32_t want = iv->entry_num, done = 0;
    long r = 0;
    if (shim_user_check((const void *)(uintptr_t)iv->data_uptr, (size_t)want * iv->entry_len, false) < 0) {
        return -EFAULT;
    }
    for (; done < want; done++) {
        IommuAbiVtdS1Inval e;
        const uint8_t *src = (const uint8_t *)(uintptr_t)iv->data_uptr + (size_t)done * iv->entry_len;
        r = copy_struct(&e, sizeof e, sizeof e, src, iv->entry_len);
        if (r < 0) {
            break;
        }
        if ((e.flags & ~(uint32_t)IOMMU_ABI_VTD_INV_LEAF) || e.reserved) {
            r = -EOPNOTSUPP;
            break;
        }
        if ((e.addr & (SHIM_PAGE - 1)) || (e.npages == UINT64_MAX && e.addr)) {
            r = -EINVAL;
            break;
        }
        if (!e.npages) {
            continue;
        }
        /* PASID-based IOTLB invalidation of the nested domain's DID (whole domain when it does not fit) */
        uint64_t size = e.npages == UINT64_MAX || e.npages > (UINT64_MAX >> 12) ? 0 : e.npages << 12;
        if (size && e.addr + (size - 1) < e.addr) {
            size = 0;
        }
        g_autoptr(GError) gerr = NULL;
        if (!vtd_drv_flush(h->unit->drv, h->dom, size ? e.addr : 0, size, &gerr)) {
            g_printerr("vtdsim-vfio: IOMMU_HWPT_INVALIDATE: %s\n", gerr->message);
            r = -EIO;
            break;
        }
    }
    iv->entry_num = done;
    respond(c);
    return r;
}

static long cmd_set_dirty(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiHwptSetDirty *sd = &c->u.set_dirty;
    if ((sd->flags & ~1u) || sd->reserved) {
        return -EOPNOTSUPP;
    }
    Hwpt *h = (Hwpt *)obj_get(ictx, sd->hwpt_id, OBJ_HWPT);
    if (!h) {
        return -ENOENT;
    }
    if (!h->dirty_capable) {
        return -EOPNOTSUPP;    /* not allocated with DIRTY_TRACKING */
    }
    g_autoptr(GError) gerr = NULL;
    if (!vtd_drv_set_dirty_tracking(h->unit->drv, h->dom, sd->flags & 1, &gerr)) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_SET_DIRTY_TRACKING: %s\n", gerr->message);
        return -EIO;
    }
    return 0;
}

typedef struct DirtyBits {
    uint64_t *bm;
    uint64_t iova, end, page_size;
} DirtyBits;

/* Sets the bit of every user page (of page_size) that the dirty leaf [base, base+size) overlaps. */
static void dirty_bits(uint64_t base, uint64_t size, void *opaque)
{
    DirtyBits *b = opaque;
    uint64_t lo = MAX(base, b->iova), hi = MIN(base + size, b->end);
    for (uint64_t a = lo & ~(b->page_size - 1); a < hi; a += b->page_size) {
        uint64_t bit = (a - b->iova) / b->page_size;
        b->bm[bit / 64] |= 1ull << (bit % 64);
    }
}

static long cmd_get_dirty(ShimIommufd *ictx, Ucmd *c)
{
    IommuAbiHwptGetDirtyBitmap *g = &c->u.get_dirty;
    if ((g->flags & ~1u) || g->reserved) {
        return -EOPNOTSUPP;    /* flags: NO_CLEAR = 1 */
    }
    Hwpt *h = (Hwpt *)obj_get(ictx, g->hwpt_id, OBJ_HWPT);
    if (!h) {
        return -ENOENT;
    }
    if (!h->dirty_capable) {
        return -EOPNOTSUPP;
    }
    uint64_t ps = g->page_size;
    if (ps < SHIM_PAGE || (ps & (ps - 1)) || !g->length || ((g->iova | g->length) & (ps - 1))) {
        return -EINVAL;
    }
    if (g->iova + (g->length - 1) < g->iova) {
        return -EOVERFLOW;
    }
    if (!g->data) {
        return -EFAULT;
    }
    if (shim_user_check((const void *)(uintptr_t)g->data, (size_t)((g->length / ps + 63) / 64 * 8), true) < 0) {
        return -EFAULT;
    }
    DirtyBits b = { (uint64_t *)(uintptr_t)g->data, g->iova, g->iova + g->length, ps };
    g_autoptr(GError) gerr = NULL;
    if (!vtd_drv_read_dirty(h->unit->drv, h->dom, g->iova, g->length, !(g->flags & 1), dirty_bits, &b, &gerr)) {
        g_printerr("vtdsim-vfio: IOMMU_HWPT_GET_DIRTY_BITMAP: %s\n", gerr->message);
        return -EIO;
    }
    return 0;
}

/* ---- the iommufd VFIO compat container --------------------------------------------------- */

int shim_iommufd_group_set(VfioShim *s, ShimIommufd *ictx, ShimGroup *g)
{
    (void)s;
    if (!ictx->compat) {
        ictx->compat = ioas_new(ictx);
    }
    g->ictx = ictx;
    shim_iommufd_ref(ictx);
    g_ptr_array_add(ictx->groups, g);
    return 0;
}

void shim_iommufd_group_unset(VfioShim *s, ShimGroup *g)
{
    ShimIommufd *ictx = g->ictx;
    g_ptr_array_remove(ictx->groups, g);
    g->ictx = NULL;
    shim_iommufd_unref(s, ictx);
}

int shim_iommufd_compat_open(VfioShim *s, ShimIommufd *ictx, ShimDevice *d)
{
    if (!ictx->compat) {
        return -ENODEV;
    }
    int err = 0;
    ShimIdev *idev = idev_bind(s, ictx, d, &err);
    if (!idev) {
        return err;
    }
    uint32_t hwpt;
    err = idev_attach(s, idev, ictx->compat->o.id, &hwpt);
    if (err < 0) {
        shim_iommufd_unbind(s, idev);
        shim_device_set_idev(d, NULL);
    }
    return err;
}

static long compat_map(VfioShim *s, Ioas *a, void *user)
{
    VfioAbiDmaMap m;
    unsigned prot;
    /* no VADDR: iommufd does not offer UPDATE_VADDR */
    long r = shim_type1_map_args(user, VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE, &m, &prot);
    return r < 0 ? r : ioas_map_fixed(s, a, m.iova, m.vaddr, m.size, prot, "VFIO_IOMMU_MAP_DMA");
}

static long compat_unmap(VfioShim *s, ShimIommufd *ictx, Ioas *a, void *user)
{
    VfioAbiDmaUnmap u;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDmaUnmap, size);
    long r = shim_type1_unmap_args(user, VFIO_ABI_DMA_UNMAP_ALL, &u);    /* no dirty bitmaps, no VADDR */
    if (r < 0) {
        return r;
    }
    if (u.flags & VFIO_ABI_DMA_UNMAP_ALL) {
        u.size = shim_ioas_unmap_all(s, &a->io);
        memcpy(user, &u, minsz);
        return 0;
    }
    if (ictx->compat_type == VFIO_ABI_TYPE1_IOMMU && a->io.small_pages) {
        /* TYPE1 compat: 4 KiB leaves, so the range's edges can cut mappings and exactly it goes */
        shim_ioas_split(s, &a->io, u.iova);
        if (u.iova + u.size) {
            shim_ioas_split(s, &a->io, u.iova + u.size);
        }
    }
    /* iommufd's rule: areas go whole (type1v2 would say EINVAL) */
    r = shim_ioas_unmap_range(s, &a->io, u.iova, u.iova + u.size - 1, -ENOENT, NULL, NULL, &u.size);
    if (r == 0) {
        memcpy(user, &u, minsz);
    }
    return r;
}

static long compat_ioctl(VfioShim *s, ShimIommufd *ictx, unsigned long req, unsigned long arg)
{
    void *user = (void *)arg;
    switch (req) {
    case VFIO_ABI_GET_API_VERSION:
        return 0;
    case VFIO_ABI_CHECK_EXTENSION:
        return shim_type1_check_extension(arg);
    case VFIO_ABI_SET_IOMMU:
        if (arg != VFIO_ABI_TYPE1_IOMMU && arg != VFIO_ABI_TYPE1v2_IOMMU) {
            return -EINVAL;
        }
        if (!ictx->compat) {
            return -ENODEV;
        }
        if (arg == VFIO_ABI_TYPE1_IOMMU && !ictx->compat->io.small_pages) {
            /* v1 unmap may cut mappings: iommufd emulates it by giving up large IOPTEs */
            if (ictx->compat->io.dma_count) {
                return -EINVAL;
            }
            ictx->compat->io.small_pages = true;
        }
        ictx->compat_type = (int)arg;
        return 0;
    case VFIO_ABI_IOMMU_GET_INFO:
    case VFIO_ABI_IOMMU_MAP_DMA:
    case VFIO_ABI_IOMMU_UNMAP_DMA:
        break;
    default:
        return -ENOTTY;
    }
    Ioas *a = ictx->compat;
    if (!a) {
        return -ENODEV;
    }
    if (req == VFIO_ABI_IOMMU_MAP_DMA) {
        return compat_map(s, a, user);
    }
    if (req == VFIO_ABI_IOMMU_UNMAP_DMA) {
        return compat_unmap(s, ictx, a, user);
    }
    g_autoptr(GArray) r = ioas_ranges(a);
    return shim_type1_info(s, user, UINT32_MAX, r);
}

/* ---- dispatch ------------------------------------------------------------------------------ */

typedef struct CmdDesc {
    size_t min, size;
} CmdDesc;

static const CmdDesc cmds[] = {
#define IOMMU_ABI_DESC(n, name, type, last) [n] = { VFIO_ABI_MINSZ(type, last), sizeof(type) },
    IOMMU_ABI_REQUESTS(IOMMU_ABI_DESC)
#undef IOMMU_ABI_DESC
};

long shim_iommufd_ioctl(VfioShim *s, ShimIommufd *ictx, unsigned long req, unsigned long arg)
{
    if (req >= VFIO_ABI_REQ(0) && req <= VFIO_ABI_REQ(21)) {
        return compat_ioctl(s, ictx, req, arg);
    }
    if (req < IOMMU_ABI_FIRST || req > IOMMU_ABI_LAST) {
        return -ENOTTY;
    }
    const CmdDesc *d = &cmds[req - IOMMU_ABI_FIRST];
    Ucmd c = { .user = (void *)arg, .size = d->size };
    if (!c.user) {
        return -EFAULT;
    }
    memcpy(&c.user_size, c.user, sizeof c.user_size);
    if (c.user_size < d->min) {
        return -EINVAL;
    }
    int r = copy_struct(c.u.raw, d->size, d->min, c.user, c.user_size);
    if (r < 0) {
        return r;
    }
    switch (req) {
    case IOMMU_ABI_DESTROY:
        return cmd_destroy(s, ictx, &c);
    case IOMMU_ABI_IOAS_ALLOC:
        return cmd_ioas_alloc(ictx, &c);
    case IOMMU_ABI_IOAS_ALLOW_IOVAS:
        return cmd_allow_iovas(ictx, &c);
    case IOMMU_ABI_IOAS_COPY:
        return cmd_ioas_copy(s, ictx, &c);
    case IOMMU_ABI_IOAS_IOVA_RANGES:
        return cmd_iova_ranges(ictx, &c);
    case IOMMU_ABI_IOAS_MAP:
        return cmd_ioas_map(s, ictx, &c);
    case IOMMU_ABI_IOAS_UNMAP:
        return cmd_ioas_unmap(s, ictx, &c);
    case IOMMU_ABI_OPTION:
        return cmd_option(ictx, &c);
    case IOMMU_ABI_VFIO_IOAS:
        return cmd_vfio_ioas(ictx, &c);
    case IOMMU_ABI_HWPT_ALLOC:
        return cmd_hwpt_alloc(s, ictx, &c);
    case IOMMU_ABI_GET_HW_INFO:
        return cmd_get_hw_info(ictx, &c);
    case IOMMU_ABI_HWPT_SET_DIRTY_TRACKING:
        return cmd_set_dirty(ictx, &c);
    case IOMMU_ABI_HWPT_GET_DIRTY_BITMAP:
        return cmd_get_dirty(ictx, &c);
    case IOMMU_ABI_HWPT_INVALIDATE:
        return cmd_hwpt_invalidate(ictx, &c);
    case IOMMU_ABI_FAULT_QUEUE_ALLOC:
        g_printerr("vtdsim-vfio: IOMMU_FAULT_QUEUE_ALLOC: I/O page fault queues are not simulated\n");
        return -EOPNOTSUPP;
    default:
        return -ENOTTY;
    }
}

/* ---- the VFIO device cdev -------------------------------------------------------------------- */

ShimCdev *shim_cdev_new(PcieFn *fn)
{
    ShimCdev *c = g_new0(ShimCdev, 1);
    c->fn = fn;
    c->refs = 1;
    return c;
}

void shim_cdev_unref(VfioShim *s, ShimCdev *c)
{
    if (--c->refs > 0) {
        return;
    }
    if (c->dev) {
        shim_device_unref(s, c->dev);    /* the last close unbinds from the iommufd */
    }
    g_free(c);
}

/* TRUE when @fd is open in this process (bypassing any interposed fcntl). */
static bool fd_open(int fd)
{
    return fd >= 0 && syscall(SYS_fcntl, fd, F_GETFD) >= 0;
}

static long cdev_bind(VfioShim *s, ShimCdev *c, void *user)
{
    VfioAbiBindIommufd b = { 0 };
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiBindIommufd, out_devid);
    memcpy(&b, user, minsz);
    if (b.argsz < minsz || (b.flags & ~(uint32_t)VFIO_ABI_BIND_TOKEN)) {
        return -EINVAL;
    }
    if (c->dev) {
        return -EINVAL;    /* bound already */
    }
    uint8_t token[16];
    bool have_token = false;
    if (b.flags & VFIO_ABI_BIND_TOKEN) {
        if (b.argsz < sizeof b) {
            return -EINVAL;
        }
        memcpy(&b.token_uuid_ptr, (uint8_t *)user + minsz, sizeof b.token_uuid_ptr);
        if (!b.token_uuid_ptr) {
            return -EFAULT;
        }
        if (shim_copy_in(token, (const void *)(uintptr_t)b.token_uuid_ptr, sizeof token) < 0) {
            return -EFAULT;
        }
        have_token = true;
    }
    ShimFd *f = shim_fd(s, b.iommufd);
    if (!f || f->kind != SHIM_FD_IOMMUFD) {
        return fd_open(b.iommufd) ? -EBADFD : -EBADF;
    }
    if (g_hash_table_lookup(s->devices, c->fn)) {
        return -EBUSY;    /* opened through its group (or another cdev fd) already */
    }
    int err;
    ShimDevice *d = shim_device_open(s, c->fn, have_token ? token : NULL, &err);
    if (!d) {
        return err;
    }
    ShimIdev *idev = idev_bind(s, f->obj, d, &err);
    if (!idev) {
        shim_device_unref(s, d);
        return err;
    }
    c->dev = d;
    b.out_devid = idev->o.id;
    memcpy((uint8_t *)user + offsetof(VfioAbiBindIommufd, out_devid), &b.out_devid, sizeof b.out_devid);
    return 0;
}

long shim_cdev_ioctl(VfioShim *s, ShimCdev *c, unsigned long req, unsigned long arg)
{
    void *user = (void *)arg;
    if (req == VFIO_ABI_DEVICE_BIND_IOMMUFD) {
        return cdev_bind(s, c, user);
    }
    if (!c->dev) {
        return -EINVAL;    /* every other device ioctl needs BIND_IOMMUFD first */
    }
    ShimIdev *idev = shim_device_idev(c->dev);
    switch (req) {
    case VFIO_ABI_DEVICE_ATTACH_PT: {
        VfioAbiAttachPt a = { 0 };
        const size_t minsz = VFIO_ABI_MINSZ(VfioAbiAttachPt, pt_id);
        memcpy(&a, user, minsz);
        if (a.argsz < minsz || (a.flags & ~(uint32_t)VFIO_ABI_ATTACH_PASID)) {
            return -EINVAL;
        }
        if (a.flags & VFIO_ABI_ATTACH_PASID) {
            if (a.argsz < sizeof a) {
                return -EINVAL;
            }
            g_printerr("vtdsim-vfio: VFIO_DEVICE_ATTACH_IOMMUFD_PT: PASID attachment is not simulated\n");
            return -EOPNOTSUPP;
        }
        uint32_t hwpt;
        int r = idev_attach(s, idev, a.pt_id, &hwpt);
        if (r < 0) {
            return r;
        }
        memcpy((uint8_t *)user + offsetof(VfioAbiAttachPt, pt_id), &hwpt, sizeof hwpt);
        return 0;
    }
    case VFIO_ABI_DEVICE_DETACH_PT: {
        VfioAbiDetachPt dt = { 0 };
        const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDetachPt, flags);
        memcpy(&dt, user, minsz);
        if (dt.argsz < minsz || (dt.flags & ~(uint32_t)VFIO_ABI_ATTACH_PASID)) {
            return -EINVAL;
        }
        if (dt.flags & VFIO_ABI_ATTACH_PASID) {
            return dt.argsz < sizeof dt ? -EINVAL : -EOPNOTSUPP;
        }
        idev_detach(s, idev);
        return 0;
    }
    default:
        return shim_device_ioctl(s, c->dev, idev->ictx, req, arg);
    }
}
