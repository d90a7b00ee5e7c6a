/*
 * sriov_numvfs for the preload library: see preload_numvfs.h.  The fd
 * table is process-wide because the fds are (a preload library serves
 * exactly one process); a fixed-size array keeps it free of allocation
 * in close(), which may run in async contexts.
 */
#include "vfio/preload_numvfs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "vfio/sysfs.h"
#include "platform/platform.h"

#define NUMVFS_FDS 64

static struct {
    int fd;
    char *path;
} tracked[NUMVFS_FDS];
static GMutex tracked_lock;

bool numvfs_is_path(const char *path)
{
    if (!g_str_has_prefix(path, "/sys/") || !g_str_has_suffix(path, "/sriov_numvfs")) {
        return false;
    }
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *bdf = g_path_get_basename(dir);
    /* 0000:BB:DD.F */
    return strlen(bdf) == 12 && bdf[4] == ':' && bdf[7] == ':' && bdf[10] == '.';
}

void numvfs_track(int fd, const char *path)
{
    g_mutex_lock(&tracked_lock);
    for (unsigned i = 0; i < NUMVFS_FDS; i++) {
        if (!tracked[i].path) {
            tracked[i].fd = fd;
            tracked[i].path = g_strdup(path);
            break;
        }
    }
    g_mutex_unlock(&tracked_lock);
}

const char *numvfs_path(int fd)
{
    const char *p = NULL;
    g_mutex_lock(&tracked_lock);
    for (unsigned i = 0; i < NUMVFS_FDS && !p; i++) {
        if (tracked[i].path && tracked[i].fd == fd) {
            p = tracked[i].path;
        }
    }
    g_mutex_unlock(&tracked_lock);
    return p;
}

void numvfs_forget(int fd)
{
    g_mutex_lock(&tracked_lock);
    for (unsigned i = 0; i < NUMVFS_FDS; i++) {
        if (tracked[i].path && tracked[i].fd == fd) {
            g_free(tracked[i].path);
            tracked[i].path = NULL;
        }
    }
    g_mutex_unlock(&tracked_lock);
}

int numvfs_write(VfioShim *s, const char *path, const char *buf, size_t n)
{
    g_autofree char *text = g_strndup(buf, n);
    g_strstrip(text);
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 0);
    if (!*text || *end || errno || v > 0xffff) {
        return -EINVAL;    /* kstrtou16 */
    }
    g_autofree char *dir = g_path_get_dirname(path);
    g_autofree char *bdf = g_path_get_basename(dir);
    const char *root = g_getenv("VTDSIM_SYSFS_ROOT");
    if (!root || !*root) {
        g_printerr("vtdsim-vfio: %s: no generated sysfs tree (run the program under vtdsim-run)\n", path);
        return -ENODEV;
    }
    int ret = 0;
    vfio_shim_lock(s);
    PcieFn *pf = vfio_sysfs_find(vfio_shim_sim(s), bdf);
    if (!pf) {
        ret = -ENODEV;
    } else {
        g_autoptr(GError) err = NULL;
        if (!vfio_sysfs_set_numvfs(vfio_shim_sim(s), root, pf, (unsigned)v, &err)) {
            g_printerr("vtdsim-vfio: %s: %s\n", path, err->message);
            ret = -vfio_sysfs_error_errno(err);
        }
    }
    vfio_shim_unlock(s);
    return ret;
}

typedef struct SyncCtx {
    EmuSim *sim;
    const char *root;
    GPtrArray *pfs;
} SyncCtx;

static void collect_pf(PcieFn *fn, void *opaque)
{
    SyncCtx *c = opaque;
    if (!pcie_fn_is_vf(fn) && pcie_fn_find_ext_cap(fn, 0x10)) {
        g_ptr_array_add(c->pfs, fn);
    }
}

void numvfs_sync_from_tree(VfioShim *s)
{
    const char *root = g_getenv("VTDSIM_SYSFS_ROOT");
    if (!root || !*root) {
        return;
    }
    vfio_shim_lock(s);
    SyncCtx c = { vfio_shim_sim(s), root, g_ptr_array_new() };
    pcie_fabric_foreach(platform_get(c.sim)->fabric, collect_pf, &c);
    for (guint i = 0; i < c.pfs->len; i++) {
        PcieFn *pf = g_ptr_array_index(c.pfs, i);
        g_autofree char *bdf = vfio_sysfs_bdf_name(pf);
        g_autofree char *path = g_build_filename(root, "sys/bus/pci/devices", bdf, "sriov_numvfs", NULL);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL)) {
            continue;
        }
        unsigned long n = strtoul(text, NULL, 10);
        g_autoptr(GError) err = NULL;
        if (n && !vfio_sysfs_set_numvfs(c.sim, root, pf, (unsigned)n, &err)) {
            g_printerr("vtdsim-vfio: %s: %s\n", path, err->message);
        }
    }
    g_ptr_array_unref(c.pfs);
    vfio_shim_unlock(s);
}
