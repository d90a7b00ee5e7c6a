/*
 * The VFIO shim core: objects, the fd table, the IOMMU side (containers,
 * type1 mappings on simulated VT-d domains) and the time keeping.  The
 * device side (vfio-pci regions, config-space virtualization, interrupts,
 * reset) is in shim_device.c; the LD_PRELOAD wrappers in preload.c.
 *
 * Model of the kernel.  One container = one second-stage domain per VT-d
 * unit its devices sit behind (the Linux intel-iommu driver gives a type1
 * container one domain the same way).  The simulated host physical
 * address of a mapping is allocated from a window above DRAM
 * (SHIM_HPA_BASE) and that window is backed by the client's own pages
 * (addr_space_add_host); the HPA keeps the IOVA's offset modulo 1 GiB, so
 * the driver library can use 2 MiB and 1 GiB pages whenever the IOVA range
 * allows, as intel-iommu does.  HPA space is not reused after unmap
 * (a bump allocator: 2^39 - 2^36 bytes of mappings over a process's life).
 *
 * The checks of MAP_DMA / UNMAP_DMA follow the order the reference lists
 * (vfio.md §1.2) because clients test errno values, not just failure.
 * "Pinning" is a mincore() probe of the range: an unmapped page gives
 * EFAULT as get_user_pages would; page residency and RLIMIT_MEMLOCK are
 * not modelled.
 */
#define _GNU_SOURCE
#include "vfio/shim_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/error.h"
#include "vfio/shim_uaccess.h"
#include "vfio/sysfs.h"

/* ---- paths ---------------------------------------------------------------------------- */

VfioPathKind vfio_shim_path_kind(const char *path, int *num)
{
    if (!path) {
        return VFIO_PATH_NONE;
    }
    if (!strcmp(path, "/dev/vfio/vfio")) {
        return VFIO_PATH_CONTAINER;
    }
    if (!strcmp(path, "/dev/iommu")) {
        return VFIO_PATH_IOMMUFD;
    }
    if (g_str_has_prefix(path, "/dev/vfio/devices/vfio")) {
        const char *n = path + strlen("/dev/vfio/devices/vfio");
        char *end;
        long v = g_ascii_isdigit(*n) ? strtol(n, &end, 10) : -1;
        if (v < 0 || *end || v > 0xffff) {
            return VFIO_PATH_NONE;
        }
        if (num) {
            *num = (int)v;
        }
        return VFIO_PATH_CDEV;
    }
    if (g_str_has_prefix(path, "/dev/vfio/")) {
        const char *n = path + strlen("/dev/vfio/");
        char *end;
        if (!*n || !g_ascii_isdigit(*n)) {
            return VFIO_PATH_NONE;
        }
        long v = strtol(n, &end, 10);
        if (*end || v < 0 || v > 0xffff) {
            return VFIO_PATH_NONE;
        }
        if (num) {
            *num = (int)v;
        }
        return VFIO_PATH_GROUP;
    }
    return VFIO_PATH_NONE;
}

/* ---- lifetime ------------------------------------------------------------------------- */

static ShimUnit *unit_for(VfioShim *s, uint16_t rid)
{
    PlatformVtd *pv = platform_vtd_for(s->p, rid);
    for (guint i = 0; pv && i < s->units->len; i++) {
        ShimUnit *u = g_ptr_array_index(s->units, i);
        if (u->pv == pv) {
            return u;
        }
    }
    return NULL;
}

ShimUnit *shim_unit_for(VfioShim *s, PcieFn *fn)
{
    return unit_for(s, pcie_fn_rid(fn));
}

static void unit_free(gpointer data)
{
    ShimUnit *u = data;
    vtd_drv_free(u->drv);
    g_free(u);
}

VfioShim *vfio_shim_new(EmuSim *sim, GError **error)
{
    g_autoptr(GError) err = NULL;
    VfioShim *s = g_new0(VfioShim, 1);
    g_rec_mutex_init(&s->lock);
    s->sim = sim;
    s->p = platform_get(sim);
    s->fds = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    s->groups = g_hash_table_new(g_direct_hash, g_direct_equal);
    s->devices = g_hash_table_new(g_direct_hash, g_direct_equal);
    s->vectors = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    s->vf_tokens = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
    s->units = g_ptr_array_new_with_free_func(unit_free);
    s->hpa_next = SHIM_HPA_BASE;
    s->mmio_read_ps = SHIM_MMIO_READ_PS;
    s->mmio_write_ps = SHIM_MMIO_WRITE_PS;
    s->idle_step_ps = SHIM_IDLE_STEP_PS;
    /* the IOMMU groups, numbered as the generated sysfs tree numbers them (same computation) */
    pcie_fabric_compute_groups(s->p->fabric);

    /* Table and queue memory: the upper half of DRAM, which nothing else uses. */
    uint64_t pool = s->p->ram_size / 2;
    uint64_t per_unit = s->p->vtd->len ? (pool / s->p->vtd->len) & ~0xfffull : 0;
    for (guint i = 0; i < s->p->vtd->len; i++) {
        PlatformVtd *pv = g_ptr_array_index(s->p->vtd, i);
        const VtdParams *vp = vtd_unit_params(pv->unit);
        bool qi = (vp->ecap >> 1) & 1;       /* ECAP.QI, bit 1 */
        /*
         * Scalable mode whenever the unit can do second-stage translation
         * in it (ECAP.SMTS, SSTS, and QI which it requires), as Linux does
         * by default; legacy mode otherwise.  Nested HWPTs need it.
         */
        bool scalable = qi && vtd_ecap_SMTS(vp->ecap) && vtd_ecap_SSTS(vp->ecap);
        VtdDrvConfig cfg = {
            .reg_base = pv->base,
            .mode = scalable ? VTD_DRV_SCALABLE : VTD_DRV_LEGACY,
            .inval = qi ? VTD_DRV_INVAL_QUEUED : VTD_DRV_INVAL_REGISTER,
            .pool_base = pool + per_unit * i,
            .pool_size = per_unit,
            .strict = true,
        };
        VtdDrv *d = vtd_drv_new(sim, s->p->mem, &cfg, &err);
        if (!d || !vtd_drv_enable(d, &err)) {
            g_propagate_prefixed_error(error, g_steal_pointer(&err), "VFIO shim: unit %s: ", pv->name);
            vtd_drv_free(d);
            vfio_shim_free(s);
            return NULL;
        }
        ShimUnit *u = g_new0(ShimUnit, 1);
        u->pv = pv;
        u->drv = d;
        u->index = i;
        u->scalable = scalable;
        bool ir = (vp->ecap >> 3) & 1;       /* ECAP.IR, bit 3 */
        if (ir && qi) {
            if (!vtd_drv_ir_enable(d, SHIM_IRTE_LOG2, false, &err)) {
                g_propagate_prefixed_error(error, g_steal_pointer(&err), "VFIO shim: unit %s: ", pv->name);
                unit_free(u);
                vfio_shim_free(s);
                return NULL;
            }
            u->ir = true;
            u->next_irte = 0;
        }
        g_ptr_array_add(s->units, u);
    }
    shim_irq_init(s);
    return s;
}

static void free_group(gpointer data)
{
    ShimGroup *g = data;
    g_ptr_array_unref(g->fns);
    g_free(g);
}

void vfio_shim_free(VfioShim *s)
{
    if (!s) {
        return;
    }
    vfio_shim_stop_thread(s);
    /* close every fd the client left open, in fd order for determinism */
    GList *keys = g_list_sort(g_hash_table_get_keys(s->fds), (GCompareFunc)shim_cmp_int_ptr);
    for (GList *l = keys; l; l = l->next) {
        vfio_shim_close(s, GPOINTER_TO_INT(l->data));
    }
    g_list_free(keys);
    shim_devices_free(s);
    shim_irq_fini(s);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->groups);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        free_group(v);
    }
    g_hash_table_destroy(s->groups);
    g_hash_table_destroy(s->devices);
    g_hash_table_destroy(s->fds);
    g_hash_table_destroy(s->vectors);
    g_hash_table_destroy(s->vf_tokens);
    g_ptr_array_unref(s->units);
    emu_sim_free(s->sim);
    g_rec_mutex_clear(&s->lock);
    g_free(s);
}

gint shim_cmp_int_ptr(gconstpointer a, gconstpointer b)
{
    int x = GPOINTER_TO_INT(a), y = GPOINTER_TO_INT(b);
    return (x > y) - (x < y);
}

EmuSim *vfio_shim_sim(VfioShim *s)
{
    return s->sim;
}

/*
 * Lock order: the trap lock, then the shim's.  Trapped BAR accesses arrive
 * holding the trap lock (mmio_trap.h) and mmap/munmap register traps while
 * holding the shim's, so every path takes both in the same order.
 */
void vfio_shim_lock(VfioShim *s)
{
    mmio_trap_lock();
    g_rec_mutex_lock(&s->lock);
}

void vfio_shim_unlock(VfioShim *s)
{
    g_rec_mutex_unlock(&s->lock);
    mmio_trap_unlock();
}

/* ---- time ------------------------------------------------------------------------------- */

void vfio_shim_advance(VfioShim *s, uint64_t ps)
{
    vfio_shim_lock(s);
    emu_sim_run_until(s->sim, emu_sim_now(s->sim) + ps);
    vfio_shim_unlock(s);
}

/*
 * The background thread lets simulated time run while the client is not
 * touching the device: a client polling a completion write-back in its own
 * memory, or sleeping in read() on an eventfd, never traps, and real
 * hardware would make progress meanwhile.  It runs the queue in steps of
 * idle_step_ps only while events are pending, so an idle simulation costs
 * nothing but a short sleep.
 */
static gpointer shim_thread(gpointer data)
{
    VfioShim *s = data;
    while (g_atomic_int_get(&s->thread_run)) {
        bool busy = false;
        vfio_shim_lock(s);
        EmuTick next = emu_sim_next_deadline(s->sim);
        if (next != EMU_TICK_MAX) {
            EmuTick until = MAX(next, emu_sim_now(s->sim) + s->idle_step_ps);
            emu_sim_run_until(s->sim, until);
            busy = true;
        }
        vfio_shim_unlock(s);
        if (!busy) {
            g_usleep(100);
        }
    }
    return NULL;
}

void vfio_shim_start_thread(VfioShim *s)
{
    if (s->thread) {
        return;
    }
    g_atomic_int_set(&s->thread_run, 1);
    s->thread = g_thread_new("vtdsim-vfio", shim_thread, s);
}

void vfio_shim_stop_thread(VfioShim *s)
{
    if (!s->thread) {
        return;
    }
    g_atomic_int_set(&s->thread_run, 0);
    g_thread_join(s->thread);
    s->thread = NULL;
}

void vfio_shim_atfork_child(VfioShim *s)
{
    /*
     * The parent's thread does not exist here, and the inherited lock names
     * the parent's thread as owner (the trap lock is re-created by
     * mmio_trap.c's own fork handler, which runs before the preload's).
     */
    s->thread = NULL;
    g_atomic_int_set(&s->thread_run, 0);
    g_rec_mutex_init(&s->lock);
    vfio_shim_start_thread(s);
}

/* ---- the fd table ----------------------------------------------------------------------- */

ShimFd *shim_fd(VfioShim *s, int fd)
{
    return g_hash_table_lookup(s->fds, GINT_TO_POINTER(fd));
}

void shim_fd_bind(VfioShim *s, int fd, ShimFdKind kind, void *obj)
{
    ShimFd *f = g_new0(ShimFd, 1);
    f->kind = kind;
    f->obj = obj;
    g_hash_table_replace(s->fds, GINT_TO_POINTER(fd), f);
}

bool vfio_shim_owns_fd(VfioShim *s, int fd)
{
    vfio_shim_lock(s);
    bool r = shim_fd(s, fd) != NULL;
    vfio_shim_unlock(s);
    return r;
}

ShimGroup *shim_group_get(VfioShim *s, int id)
{
    ShimGroup *g = g_hash_table_lookup(s->groups, GINT_TO_POINTER(id));
    if (g) {
        return g;
    }
    GPtrArray *fns = g_ptr_array_new();
    shim_collect_group(s, id, fns);
    if (!fns->len) {
        g_ptr_array_unref(fns);
        return NULL;
    }
    g = g_new0(ShimGroup, 1);
    g->id = id;
    g->fns = fns;
    g_hash_table_insert(s->groups, GINT_TO_POINTER(id), g);
    return g;
}

typedef struct CdevFind {
    EmuSim *sim;
    int index;
    PcieFn *found;
} CdevFind;

static void cdev_find(PcieFn *fn, void *opaque)
{
    CdevFind *c = opaque;
    if (!c->found && vfio_sysfs_cdev_index(c->sim, fn) == c->index) {
        c->found = fn;
    }
}

/* The function /dev/vfio/devices/vfio@index names (the generated tree's numbering), or NULL. */
static PcieFn *cdev_fn(VfioShim *s, int index)
{
    CdevFind c = { s->sim, index, NULL };
    pcie_fabric_foreach(s->p->fabric, cdev_find, &c);
    return c.found;
}

int vfio_shim_open(VfioShim *s, const char *path, int fd)
{
    int num = -1;
    int ret = 0;
    vfio_shim_lock(s);
    switch (vfio_shim_path_kind(path, &num)) {
    case VFIO_PATH_CONTAINER: {
        ShimContainer *c = g_new0(ShimContainer, 1);
        c->refs = 1;
        c->groups = g_ptr_array_new();
        shim_ioas_init(&c->ioas);
        shim_fd_bind(s, fd, SHIM_FD_CONTAINER, c);
        break;
    }
    case VFIO_PATH_GROUP: {
        ShimGroup *g = shim_group_get(s, num);
        if (!g) {
            ret = -ENOENT;
        } else if (g->opened) {
            ret = -EBUSY;    /* the kernel allows one open of a group file at a time */
        } else {
            g->opened = true;
            shim_fd_bind(s, fd, SHIM_FD_GROUP, g);
        }
        break;
    }
    case VFIO_PATH_CDEV: {
        PcieFn *fn = cdev_fn(s, num);
        if (!fn) {
            ret = -ENOENT;
        } else {
            shim_fd_bind(s, fd, SHIM_FD_CDEV, shim_cdev_new(fn));
        }
        break;
    }
    case VFIO_PATH_IOMMUFD:
        shim_fd_bind(s, fd, SHIM_FD_IOMMUFD, shim_iommufd_new(s));
        break;
    case VFIO_PATH_NONE:
        ret = -ENOENT;
        break;
    }
    vfio_shim_unlock(s);
    return ret;
}

void vfio_shim_dup(VfioShim *s, int oldfd, int newfd)
{
    vfio_shim_lock(s);
    ShimFd *f = shim_fd(s, oldfd);
    if (f && oldfd != newfd) {
        if (shim_fd(s, newfd)) {
            vfio_shim_close(s, newfd);
        }
        switch (f->kind) {
        case SHIM_FD_CONTAINER:
            ((ShimContainer *)f->obj)->refs++;
            break;
        case SHIM_FD_GROUP:
            ((ShimGroup *)f->obj)->fd_refs++;
            break;
        case SHIM_FD_DEVICE:
            shim_device_ref(f->obj);
            break;
        case SHIM_FD_IOMMUFD:
            shim_iommufd_ref(f->obj);
            break;
        case SHIM_FD_CDEV:
            ((ShimCdev *)f->obj)->refs++;
            break;
        }
        shim_fd_bind(s, newfd, f->kind, f->obj);
    }
    vfio_shim_unlock(s);
}

void vfio_shim_close(VfioShim *s, int fd)
{
    vfio_shim_lock(s);
    ShimFd *f = shim_fd(s, fd);
    if (f) {
        ShimFdKind kind = f->kind;
        void *obj = f->obj;
        g_hash_table_remove(s->fds, GINT_TO_POINTER(fd));
        switch (kind) {
        case SHIM_FD_CONTAINER:
            shim_container_unref(s, obj);
            break;
        case SHIM_FD_GROUP: {
            ShimGroup *g = obj;
            if (g->fd_refs) {
                g->fd_refs--;
            } else {
                /* last group fd: the kernel releases the group from its container */
                g->opened = false;
                if ((g->container || g->ictx) && !g->open_devices) {
                    shim_group_unset(s, g);
                }
            }
            break;
        }
        case SHIM_FD_DEVICE:
            shim_device_unref(s, obj);
            break;
        case SHIM_FD_IOMMUFD:
            shim_iommufd_unref(s, obj);
            break;
        case SHIM_FD_CDEV:
            shim_cdev_unref(s, obj);
            break;
        }
    }
    vfio_shim_unlock(s);
}

/* ---- containers and the type1 backend ------------------------------------------------- */

gint shim_cmp_u64(gconstpointer a, gconstpointer b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Attaches every device of @g to the container's domains (creating a unit's domain on first use). */
static int container_attach_group(VfioShim *s, ShimContainer *c, ShimGroup *g)
{
    g_autoptr(GError) err = NULL;
    for (guint i = 0; i < g->fns->len; i++) {
        PcieFn *fn = g_ptr_array_index(g->fns, i);
        ShimUnit *u = shim_unit_for(s, fn);
        if (!u) {
            continue;    /* no unit covers it: its DMA is untranslated, as without an IOMMU */
        }
        VtdDom *dom = shim_ioas_dom(&c->ioas, u);
        if (!dom) {
            dom = vtd_drv_domain_new(u->drv, VTD_DOM_SECOND_STAGE, 0, &err);
            if (!dom) {
                g_printerr("vtdsim-vfio: no domain for group %d: %s\n", g->id, err->message);
                return -ENOSPC;
            }
            int r = shim_ioas_add_dom(s, &c->ioas, u, dom);
            if (r < 0) {
                return r;
            }
        }
        if (!vtd_drv_attach(u->drv, dom, pcie_fn_rid(fn), -1, &err)) {
            g_printerr("vtdsim-vfio: attach of group %d: %s\n", g->id, err->message);
            return -EINVAL;
        }
    }
    return 0;
}

void shim_group_unset(VfioShim *s, ShimGroup *g)
{
    if (g->ictx) {
        shim_iommufd_group_unset(s, g);
        return;
    }
    ShimContainer *c = g->container;
    g_autoptr(GError) err = NULL;
    if (c->type) {
        for (guint i = 0; i < g->fns->len; i++) {
            PcieFn *fn = g_ptr_array_index(g->fns, i);
            ShimUnit *u = shim_unit_for(s, fn);
            if (u && !vtd_drv_detach(u->drv, pcie_fn_rid(fn), -1, &err)) {
                g_printerr("vtdsim-vfio: detach: %s\n", err->message);
                g_clear_error(&err);
            }
        }
    }
    g_ptr_array_remove(c->groups, g);
    g->container = NULL;
    if (!c->groups->len) {
        /* the last group left: the backend is released with all its mappings */
        shim_ioas_unmap_all(s, &c->ioas);
        c->type = 0;
    }
    shim_container_unref(s, c);
}

void shim_container_unref(VfioShim *s, ShimContainer *c)
{
    if (--c->refs > 0) {
        return;
    }
    g_assert(!c->groups->len);
    shim_ioas_fini(s, &c->ioas);
    g_ptr_array_unref(c->groups);
    g_free(c);
}

static bool iova_allowed(VfioShim *s, uint64_t iova, uint64_t last)
{
    if (last > shim_iova_top(s)) {
        return false;
    }
    return last < SHIM_MSI_LO || iova > SHIM_MSI_HI;
}

/* Copies out a fixed struct plus capability chain with the two-call rules (vfio.md §1.1). */
long shim_info_reply(void *user, uint32_t argsz, void *fixed, size_t fixed_size, uint32_t *flags,
                     uint32_t caps_flag, uint32_t *cap_offset, const GByteArray *caps)
{
    if (caps && caps->len) {
        *flags |= caps_flag;
        if (argsz < fixed_size + caps->len) {
            /* too small: report the size needed, no chain, and succeed */
            ((uint32_t *)fixed)[0] = (uint32_t)(fixed_size + caps->len);
            *cap_offset = 0;
        } else {
            *cap_offset = (uint32_t)fixed_size;
            memcpy((uint8_t *)user + fixed_size, caps->data, caps->len);
        }
    }
    memcpy(user, fixed, MIN(argsz, fixed_size));
    return 0;
}

/* Appends one capability; @prev_next is patched to point at it (offsets from buffer start). */
void shim_cap_add(GByteArray *caps, size_t fixed_size, uint16_t id, uint16_t version, const void *body,
                  size_t body_len)
{
    /* link the previous capability's next field to this one */
    if (caps->len) {
        guint off = 0;
        for (;;) {
            VfioAbiCapHeader h;
            memcpy(&h, caps->data + off, sizeof h);
            if (!h.next) {
                h.next = (uint32_t)(fixed_size + caps->len);
                memcpy(caps->data + off, &h, sizeof h);
                break;
            }
            off = (guint)(h.next - fixed_size);
        }
    }
    VfioAbiCapHeader h = { .id = id, .version = version, .next = 0 };
    g_byte_array_append(caps, (const guint8 *)&h, sizeof h);
    g_byte_array_append(caps, body, (guint)body_len);
    /* keep every capability 8-byte aligned, as the kernel does */
    while (caps->len % 8) {
        g_byte_array_append(caps, (const guint8 *)"", 1);
    }
}

long shim_type1_info(VfioShim *s, void *user, uint32_t dma_avail, const GArray *ranges)
{
    VfioAbiType1Info info;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiType1Info, iova_pgsizes);
    memset(&info, 0, sizeof info);
    memcpy(&info, user, minsz);
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    info.flags = VFIO_ABI_IOMMU_INFO_PGSIZES;
    info.iova_pgsizes = shim_pgsizes(s);
    uint32_t argsz = info.argsz;
    if (argsz < sizeof info) {
        /* an old client without cap_offset: no chain */
        memcpy(user, &info, argsz);
        return 0;
    }
    g_autoptr(GByteArray) caps = g_byte_array_new();
    /* order as type1 emits them: migration, DMA available, IOVA ranges (vfio.md §1.2) */
    struct {
        uint32_t flags;
        uint32_t pad;
        uint64_t pgsize_bitmap;
        uint64_t max_dirty_bitmap_size;
    } mig = { 0, 0, 0x1000, 256ull << 20 };
    shim_cap_add(caps, sizeof info, VFIO_ABI_IOMMU_CAP_MIGRATION, 1, &mig, sizeof mig);
    uint32_t avail[2] = { dma_avail, 0 };
    shim_cap_add(caps, sizeof info, VFIO_ABI_IOMMU_CAP_DMA_AVAIL, 1, avail, 4);
    /* {u32 nr_iovas, reserved; {u64 start, end}[]} */
    g_autoptr(GByteArray) body = g_byte_array_new();
    uint32_t hdr[2] = { ranges->len, 0 };
    g_byte_array_append(body, (const guint8 *)hdr, sizeof hdr);
    g_byte_array_append(body, (const guint8 *)ranges->data, ranges->len * (guint)sizeof(uint64_t) * 2);
    shim_cap_add(caps, sizeof info, VFIO_ABI_IOMMU_CAP_IOVA_RANGE, 1, body->data, body->len);
    return shim_info_reply(user, argsz, &info, sizeof info, &info.flags, VFIO_ABI_IOMMU_INFO_CAPS,
                           &info.cap_offset, caps);
}

static long container_get_info(VfioShim *s, ShimContainer *c, void *user)
{
    uint64_t top = shim_iova_top(s);
    uint64_t r[4] = { 0, SHIM_MSI_LO - 1, SHIM_MSI_HI + 1, top };
    g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, 2 * sizeof(uint64_t));
    g_array_append_vals(ranges, r, 2);
    return shim_type1_info(s, user, SHIM_DMA_ENTRY_LIMIT - c->ioas.dma_count, ranges);
}

long shim_type1_map_args(const void *user, uint32_t known, VfioAbiDmaMap *m, unsigned *vprot)
{
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDmaMap, size);
    memcpy(m, user, minsz);
    if (m->argsz < minsz || (m->flags & ~known) || !m->size) {
        return -EINVAL;
    }
    if (m->iova + m->size - 1 < m->iova || m->vaddr + m->size - 1 < m->vaddr) {
        return -EOVERFLOW;
    }
    unsigned prot = m->flags & (VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE);
    if (m->flags & VFIO_ABI_DMA_MAP_VADDR) {
        g_printerr("vtdsim-vfio: VFIO_IOMMU_MAP_DMA: VFIO_DMA_MAP_FLAG_VADDR is not supported\n");
        return prot ? -EINVAL : -ENOENT;
    }
    if (!prot) {
        return -EINVAL;
    }
    *vprot = (prot & VFIO_ABI_DMA_MAP_READ ? VTD_PROT_READ : 0) | (prot & VFIO_ABI_DMA_MAP_WRITE ? VTD_PROT_WRITE : 0);
    return 0;
}

long shim_type1_unmap_args(const void *user, uint32_t known, VfioAbiDmaUnmap *u)
{
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDmaUnmap, size);
    memcpy(u, user, minsz);
    if (u->argsz < minsz || (u->flags & ~known)) {
        return -EINVAL;
    }
    if ((u->flags & VFIO_ABI_DMA_UNMAP_GET_DIRTY_BITMAP) &&
        (u->flags & (VFIO_ABI_DMA_UNMAP_ALL | VFIO_ABI_DMA_UNMAP_VADDR))) {
        return -EINVAL;
    }
    if (u->flags & VFIO_ABI_DMA_UNMAP_VADDR) {
        g_printerr("vtdsim-vfio: VFIO_IOMMU_UNMAP_DMA: VFIO_DMA_UNMAP_FLAG_VADDR is not supported\n");
        return -EINVAL;
    }
    if (u->flags & VFIO_ABI_DMA_UNMAP_ALL) {
        return u->iova || u->size ? -EINVAL : 0;
    }
    if (!u->size || ((u->iova | u->size) & 0xfff)) {
        return -EINVAL;
    }
    return u->iova + u->size - 1 < u->iova ? -EOVERFLOW : 0;
}

long shim_type1_check_extension(unsigned long ext)
{
    switch (ext) {
    case VFIO_ABI_TYPE1_IOMMU:
    case VFIO_ABI_TYPE1v2_IOMMU:
    case VFIO_ABI_UNMAP_ALL:
        return 1;
    case VFIO_ABI_DMA_CC_IOMMU:
        return 1;    /* VT-d snoops DMA (ECAP.C is not needed for it to be coherent here) */
    default:
        return 0;    /* UPDATE_VADDR among them: not served */
    }
}

static long container_map(VfioShim *s, ShimContainer *c, void *user)
{
    VfioAbiDmaMap m;
    unsigned vprot;
    const uint32_t known = VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE | VFIO_ABI_DMA_MAP_VADDR;
    long r = shim_type1_map_args(user, known, &m, &vprot);
    if (r < 0) {
        return r;
    }
    if ((m.size | m.iova | m.vaddr) & 0xfff) {
        return -EINVAL;
    }
    if (shim_ioas_overlap(&c->ioas, m.iova, m.iova + m.size - 1)) {
        return -EEXIST;
    }
    if (c->ioas.dma_count >= SHIM_DMA_ENTRY_LIMIT) {
        return -ENOSPC;
    }
    if (!iova_allowed(s, m.iova, m.iova + m.size - 1)) {
        return -EINVAL;
    }
    return shim_ioas_map(s, &c->ioas, m.iova, m.vaddr, m.size, vprot, "VFIO_IOMMU_MAP_DMA");
}

/* Sets the bits of the pages of [iova, iova+size) in a user bitmap that starts at @base. */
static void bitmap_set_range(uint64_t *bm, uint64_t base, uint64_t pgsize, uint64_t iova, uint64_t size)
{
    for (uint64_t a = iova; a < iova + size; a += pgsize) {
        uint64_t bit = (a - base) / pgsize;
        bm[bit / 64] |= 1ull << (bit % 64);
    }
}

typedef struct DirtyOut {
    const VfioAbiBitmap *bm;
    uint64_t iova, last;
} DirtyOut;

/* Every mapped page of a physical device counts as dirty, as type1 reports it. */
static void dirty_out(const ShimDma *d, void *opaque)
{
    const DirtyOut *o = opaque;
    if (d->iova >= o->iova && d->iova + d->size - 1 <= o->last) {
        bitmap_set_range((uint64_t *)(uintptr_t)o->bm->data, o->iova, o->bm->pgsize, d->iova, d->size);
    }
}

static long container_unmap(VfioShim *s, ShimContainer *c, void *user)
{
    VfioAbiDmaUnmap u;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDmaUnmap, size);
    const uint32_t known = VFIO_ABI_DMA_UNMAP_GET_DIRTY_BITMAP | VFIO_ABI_DMA_UNMAP_ALL |
                           VFIO_ABI_DMA_UNMAP_VADDR;
    long r = shim_type1_unmap_args(user, known, &u);
    if (r < 0) {
        return r;
    }
    if (u.flags & VFIO_ABI_DMA_UNMAP_ALL) {
        u.size = shim_ioas_unmap_all(s, &c->ioas);
        memcpy(user, &u, minsz);
        return 0;
    }
    VfioAbiBitmap bm = { 0 };
    if (u.flags & VFIO_ABI_DMA_UNMAP_GET_DIRTY_BITMAP) {
        if (u.argsz < minsz + sizeof bm) {
            return -EINVAL;
        }
        memcpy(&bm, (uint8_t *)user + minsz, sizeof bm);
        if (!c->dirty_started || bm.pgsize != 0x1000 || bm.size < ((u.size / bm.pgsize) + 63) / 64 * 8) {
            return -EINVAL;
        }
        if (shim_user_check((const void *)(uintptr_t)bm.data, ((u.size / bm.pgsize) + 63) / 64 * 8, true) < 0) {
            return -EFAULT;
        }
    }
    DirtyOut out = { &bm, u.iova, u.iova + u.size - 1 };
    r = shim_ioas_unmap_range(s, &c->ioas, u.iova, u.iova + u.size - 1,
                                  c->type == VFIO_ABI_TYPE1v2_IOMMU ? -EINVAL : 0,   /* v2 may not bisect */
                                  bm.data ? dirty_out : NULL, &out, &u.size);
    if (r < 0) {
        return r;
    }
    memcpy(user, &u, minsz);
    return 0;
}

static long container_dirty(VfioShim *s, ShimContainer *c, void *user)
{
    (void)s;
    VfioAbiDirty d;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDirty, flags);
    memcpy(&d, user, minsz);
    if (d.argsz < minsz) {
        return -EINVAL;
    }
    if (c->type != VFIO_ABI_TYPE1v2_IOMMU) {
        return -EACCES;
    }
    const uint32_t all = VFIO_ABI_DIRTY_START | VFIO_ABI_DIRTY_STOP | VFIO_ABI_DIRTY_GET_BITMAP;
    if (!d.flags || (d.flags & ~all) || (d.flags & (d.flags - 1))) {
        return -EINVAL;    /* exactly one operation */
    }
    if (d.flags == VFIO_ABI_DIRTY_START) {
        c->dirty_started = true;
        return 0;
    }
    if (d.flags == VFIO_ABI_DIRTY_STOP) {
        c->dirty_started = false;
        return 0;
    }
    VfioAbiDirtyGet g;
    if (d.argsz < minsz + sizeof g || !c->dirty_started) {
        return -EINVAL;
    }
    memcpy(&g, (uint8_t *)user + minsz, sizeof g);
    if (g.bitmap.pgsize != 0x1000 || !g.size || ((g.iova | g.size) & 0xfff) ||
        g.bitmap.size < ((g.size / 0x1000) + 63) / 64 * 8 || !g.bitmap.data) {
        return -EINVAL;
    }
    uint64_t last = g.iova + g.size - 1;
    if (shim_user_check((const void *)(uintptr_t)g.bitmap.data, ((g.size / 0x1000) + 63) / 64 * 8, true) < 0) {
        return -EFAULT;
    }
    memset((void *)(uintptr_t)g.bitmap.data, 0, ((g.size / 0x1000) + 63) / 64 * 8);
    g_autoptr(GPtrArray) all_d = shim_ioas_list(&c->ioas);
    for (guint i = 0; i < all_d->len; i++) {
        ShimDma *m = g_ptr_array_index(all_d, i);
        uint64_t lo = MAX(m->iova, g.iova), hi = MIN(m->iova + m->size - 1, last);
        if (lo <= hi) {
            bitmap_set_range((uint64_t *)(uintptr_t)g.bitmap.data, g.iova, 0x1000, lo, hi - lo + 1);
        }
    }
    return 0;
}

static long container_ioctl(VfioShim *s, ShimContainer *c, unsigned long req, unsigned long arg)
{
    void *user = (void *)arg;
    switch (req) {
    case VFIO_ABI_GET_API_VERSION:
        return 0;
    case VFIO_ABI_CHECK_EXTENSION:
        return shim_type1_check_extension(arg);
    case VFIO_ABI_SET_IOMMU: {
        if (!c->groups->len || c->type) {
            return -EINVAL;
        }
        if (arg != VFIO_ABI_TYPE1_IOMMU && arg != VFIO_ABI_TYPE1v2_IOMMU) {
            return -ENODEV;
        }
        c->type = (int)arg;
        for (guint i = 0; i < c->groups->len; i++) {
            int r = container_attach_group(s, c, g_ptr_array_index(c->groups, i));
            if (r < 0) {
                c->type = 0;
                return r;
            }
        }
        return 0;
    }
    default:
        break;
    }
    if (!c->type) {
        return -EINVAL;    /* no backend: the container dispatcher's default */
    }
    switch (req) {
    case VFIO_ABI_IOMMU_GET_INFO:
        return container_get_info(s, c, user);
    case VFIO_ABI_IOMMU_MAP_DMA:
        return container_map(s, c, user);
    case VFIO_ABI_IOMMU_UNMAP_DMA:
        return container_unmap(s, c, user);
    case VFIO_ABI_IOMMU_DIRTY_PAGES:
        return container_dirty(s, c, user);
    default:
        return -ENOTTY;
    }
}

/* ---- groups ----------------------------------------------------------------------------- */

static long group_ioctl(VfioShim *s, ShimGroup *g, unsigned long req, unsigned long arg)
{
    void *user = (void *)arg;
    switch (req) {
    case VFIO_ABI_GROUP_GET_STATUS: {
        VfioAbiGroupStatus st;
        memcpy(&st, user, sizeof st);
        if (st.argsz < sizeof st) {
            return -EINVAL;
        }
        st.flags = VFIO_ABI_GROUP_VIABLE | (g->container || g->ictx ? VFIO_ABI_GROUP_CONTAINER_SET : 0);
        memcpy(user, &st, sizeof st);
        return 0;
    }
    case VFIO_ABI_GROUP_SET_CONTAINER: {
        int cfd;
        memcpy(&cfd, user, sizeof cfd);
        if (g->container || g->ictx) {
            return -EINVAL;
        }
        ShimFd *f = shim_fd(s, cfd);
        if (!f) {
            return -EBADF;
        }
        if (f->kind == SHIM_FD_IOMMUFD) {
            return shim_iommufd_group_set(s, f->obj, g);    /* iommufd VFIO compat */
        }
        if (f->kind != SHIM_FD_CONTAINER) {
            return -EINVAL;
        }
        ShimContainer *c = f->obj;
        if (c->type) {
            int r = container_attach_group(s, c, g);
            if (r < 0) {
                return r;
            }
        }
        c->refs++;
        g->container = c;
        g_ptr_array_add(c->groups, g);
        return 0;
    }
    case VFIO_ABI_GROUP_UNSET_CONTAINER:
        if (!g->container && !g->ictx) {
            return -EINVAL;
        }
        if (g->open_devices) {
            return -EBUSY;
        }
        shim_group_unset(s, g);
        return 0;
    case VFIO_ABI_GROUP_GET_DEVICE_FD:
        return shim_group_get_device_fd(s, g, (const char *)user);
    default:
        return -ENOTTY;
    }
}

/*
 * copy_from_user's job for the argument itself: a request that takes a
 * struct with a leading size (argsz, or iommufd's size) must point at that
 * many readable bytes - writable too when the kernel writes results back -
 * or the caller gets EFAULT, never a crash inside the shim.  Pointers
 * inside the structs are checked where they are used.  At most the first
 * 64 KiB are probed: no handler touches more of the argument itself.
 */
static long check_arg(ShimFdKind kind, unsigned long req, unsigned long arg, char **name)
{
    bool sized = false, write = false;
    switch (kind) {
    case SHIM_FD_CONTAINER:
        sized = req == VFIO_ABI_IOMMU_GET_INFO || req == VFIO_ABI_IOMMU_MAP_DMA ||
                req == VFIO_ABI_IOMMU_UNMAP_DMA || req == VFIO_ABI_IOMMU_DIRTY_PAGES;
        write = req == VFIO_ABI_IOMMU_GET_INFO || req == VFIO_ABI_IOMMU_UNMAP_DMA;
        break;
    case SHIM_FD_GROUP:
        if (req == VFIO_ABI_GROUP_SET_CONTAINER) {
            return shim_user_check((const void *)arg, sizeof(int), false);
        }
        if (req == VFIO_ABI_GROUP_GET_DEVICE_FD) {
            int err;
            *name = shim_strndup_user((const char *)arg, 4096, &err);    /* strndup_user(PAGE_SIZE) */
            return err;
        }
        sized = write = req == VFIO_ABI_GROUP_GET_STATUS;
        break;
    case SHIM_FD_DEVICE:
    case SHIM_FD_CDEV:
        sized = req >= VFIO_ABI_DEVICE_GET_INFO && req <= VFIO_ABI_REQ(20) && req != VFIO_ABI_DEVICE_RESET;
        /* requests the kernel only reads; the rest copy results back */
        write = req != VFIO_ABI_DEVICE_SET_IRQS && req != VFIO_ABI_DEVICE_HOT_RESET &&
                req != VFIO_ABI_DEVICE_FEATURE && req != VFIO_ABI_REQ(16) && req != VFIO_ABI_REQ(20);
        break;
    case SHIM_FD_IOMMUFD:
        sized = write = (req & 0xff00) == (VFIO_ABI_TYPE << 8) && (req & 0xff) >= 0x80;
        if (!sized) {
            /* the compat container requests */
            return check_arg(SHIM_FD_CONTAINER, req, arg, name);
        }
        break;
    }
    if (!sized) {
        return 0;
    }
    uint32_t size;
    if (shim_copy_in(&size, (const void *)arg, sizeof size) < 0) {
        return -EFAULT;
    }
    return shim_user_check((const void *)arg, MIN(MAX(size, (uint32_t)sizeof size), 65536u), write);
}

long vfio_shim_ioctl(VfioShim *s, int fd, unsigned long req, unsigned long arg)
{
    long r;
    g_autofree char *name = NULL;
    vfio_shim_lock(s);
    ShimFd *f = shim_fd(s, fd);
    if (!f) {
        r = -EBADF;
    } else if ((r = check_arg(f->kind, req, arg, &name)) < 0) {
        /* a bad argument pointer: EFAULT, as copy_from_user gives */
    } else {
        if (name) {
            arg = (unsigned long)name;    /* the handler reads the shim's copy of the device name */
        }
        switch (f->kind) {
        case SHIM_FD_CONTAINER:
            r = container_ioctl(s, f->obj, req, arg);
            break;
        case SHIM_FD_GROUP:
            r = group_ioctl(s, f->obj, req, arg);
            break;
        case SHIM_FD_DEVICE:
            r = shim_device_ioctl(s, f->obj, NULL, req, arg);
            break;
        case SHIM_FD_IOMMUFD:
            r = shim_iommufd_ioctl(s, f->obj, req, arg);
            break;
        case SHIM_FD_CDEV:
            r = shim_cdev_ioctl(s, f->obj, req, arg);
            break;
        default:
            r = -ENOTTY;
        }
    }
    vfio_shim_unlock(s);
    return r;
}

void vfio_shim_report_faults(VfioShim *s, GString *out)
{
    vfio_shim_lock(s);
    for (guint i = 0; i < s->units->len; i++) {
        ShimUnit *u = g_ptr_array_index(s->units, i);
        VtdUnit *vu = u->pv->unit;
        for (unsigned k = 0; k < vtd_unit_num_fault_records(vu); k++) {
            VtdFaultRecord fr;
            vtd_unit_fault_record(vu, k, &fr);
            if (!vtd_frcd_F(&fr)) {
                continue;
            }
            unsigned sid = (unsigned)vtd_frcd_SID(&fr);
            /* {T1, T2}: 00 write, 10 read, 01 page request, 11 AtomicOp (VtdFaultType) */
            unsigned type = (unsigned)(vtd_frcd_T1(&fr) << 1 | vtd_frcd_T2(&fr));
            static const char *const kinds[] = { "Write", "PGREQ", "Read", "Atomic" };
            unsigned reason = (unsigned)vtd_frcd_FR(&fr);
            g_string_append_printf(out,
                                   "DMAR: [DMA %s] Request device [%02x:%02x.%d] fault addr 0x%" G_GINT64_MODIFIER
                                   "x [fault reason 0x%02x] %s\n",
                                   kinds[type & 3], PCIE_BUS(sid), PCIE_DEV(sid),
                                   PCIE_FN(sid), vtd_frcd_FI(&fr) << 12, reason, vtd_fault_reason_name(reason));
        }
    }
    vfio_shim_unlock(s);
}
