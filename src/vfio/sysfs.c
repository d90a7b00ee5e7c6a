/*
 * The sysfs/devfs tree of a simulated platform (see sysfs.h for what it
 * contains and why it is files on disk).
 *
 * Layout rules, as a Linux host shows them:
 *  - A function's directory sits below the directory of the bridge above
 *    it: sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/...; a VF sits
 *    next to its PF (below the PF's upstream bridge).
 *  - Every symlink is relative and as short as possible (the common
 *    prefix of link directory and target is dropped), so readlink shows
 *    what a host shows ("../../../devices/pci0000:00/..." from
 *    bus/pci/devices) and realpath lands in the tree whatever it is
 *    mounted under, as long as sys/ stays one tree.
 *  - Text files end in a newline and use the kernel's formats: IDs
 *    "0x%04x", class "0x%06x", revision "0x%02x", intel-iommu cap/ecap
 *    and address "%llx" (no 0x), version "major:minor".
 *  - `resource` has one line per resource, "0x%016llx 0x%016llx
 *    0x%016llx" (start, end, flags), zeros for an unused one: 13 lines
 *    for a type 0 function (BARs 0-5, ROM, the six SR-IOV VF BARs, as a
 *    kernel built with CONFIG_PCI_IOV prints them - every distribution
 *    kernel) and 17 for a bridge (plus the four bridge windows, which we
 *    leave at zero).  The flags are the kernel's resource flags: the low
 *    four bits of the BAR register (I/O space, 64-bit type, prefetchable)
 *    plus IORESOURCE_IO 0x100 or IORESOURCE_MEM 0x200, PREFETCH 0x2000,
 *    SIZEALIGN 0x40000 and MEM_64 0x100000 - e.g. 0x40200 for a 32-bit
 *    memory BAR, 0x14220c for a 64-bit prefetchable one, 0x40101 for I/O.
 *    An SR-IOV line spans the VF BAR for TotalVFs VFs.
 *
 * IOMMU groups come from the fabric (pcie_fabric_compute_groups(), Linux's
 * rules).  Enabling VFs changes the fabric order the groups code numbers
 * by, so vfio_sysfs_set_numvfs() recomputes and then renumbers: every
 * function that existed before keeps its number, a new group takes the
 * lowest free number.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include "vfio/sysfs.h"
#include "platform/platform.h"
#include "models/vtd/vtd.h"
#include "explain/dump.h"

G_DEFINE_QUARK(vfio-sysfs-error-quark, vfio_sysfs_error)

/* SR-IOV extended capability registers (PCIe Base 5.0, 9.3.3). */
enum {
    SRIOV_CTRL = 0x08, SRIOV_CTRL_VFE = 0x01, SRIOV_CTRL_MSE = 0x08,
    SRIOV_TOTAL_VF = 0x0e, SRIOV_NUM_VF = 0x10, SRIOV_VF_OFFSET = 0x14,
    SRIOV_VF_STRIDE = 0x16, SRIOV_VF_DID = 0x1a, SRIOV_BAR = 0x24,
};

/* Linux resource flags (include/linux/ioport.h values, as sysfs prints them). */
enum {
    RES_IO = 0x100, RES_MEM = 0x200, RES_PREFETCH = 0x2000,
    RES_SIZEALIGN = 0x40000, RES_MEM_64 = 0x100000,
};

/* The device numbers of /dev/null; see sysfs.h. */
#define NODE_MAJOR 1
#define NODE_MINOR 3

typedef struct Tree {
    EmuSim *sim;
    Platform *p;
    const char *root;
} Tree;

int vfio_sysfs_error_errno(const GError *error)
{
    if (!error || error->domain != VFIO_SYSFS_ERROR) {
        return EIO;
    }
    switch ((VfioSysfsError)error->code) {
    case VFIO_SYSFS_ERROR_INVALID: return EINVAL;
    case VFIO_SYSFS_ERROR_RANGE: return ERANGE;
    case VFIO_SYSFS_ERROR_BUSY: return EBUSY;
    case VFIO_SYSFS_ERROR_IO: break;
    }
    return EIO;
}

/* ---- names ------------------------------------------------------------- */

char *vfio_sysfs_bdf_name(PcieFn *fn)
{
    uint16_t rid = pcie_fn_rid(fn);
    return g_strdup_printf("0000:%02x:%02x.%x", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid));
}

static gboolean hex_field(const char *s, size_t len, unsigned max, unsigned *out)
{
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (!g_ascii_isxdigit(s[i])) {
            return FALSE;
        }
        v = v * 16 + (unsigned)g_ascii_xdigit_value(s[i]);
    }
    *out = v;
    return v <= max;
}

PcieFn *vfio_sysfs_find(EmuSim *sim, const char *bdf_name)
{
    const char *s = bdf_name;
    if (!s) {
        return NULL;
    }
    if (strlen(s) == 12) {
        unsigned dom;
        if (s[4] != ':' || !hex_field(s, 4, 0xffff, &dom) || dom != 0) {
            return NULL;
        }
        s += 5;
    }
    unsigned bus, dev, fn;
    if (strlen(s) != 7 || s[2] != ':' || s[5] != '.' || !hex_field(s, 2, 0xff, &bus)
        || !hex_field(s + 3, 2, 0x1f, &dev) || !hex_field(s + 6, 1, 7, &fn)) {
        return NULL;
    }
    return pcie_fabric_find(platform_get(sim)->fabric, PCIE_BDF(bus, dev, fn));
}

static bool is_host_bridge(PcieFn *fn)
{
    return pcie_fn_kind(fn) == PCIE_KIND_HOST_BRIDGE;
}

/* Bound to vfio-pci: every function but bridges and the host bridge. */
static bool is_vfio_fn(PcieFn *fn)
{
    return !pcie_fn_is_bridge(fn) && !is_host_bridge(fn);
}

static const char *fn_driver(PcieFn *fn)
{
    switch (pcie_fn_kind(fn)) {
    case PCIE_KIND_ROOT_PORT:
    case PCIE_KIND_SWITCH_UP:
    case PCIE_KIND_SWITCH_DOWN:
        return "pcieport";
    case PCIE_KIND_HOST_BRIDGE:
    case PCIE_KIND_PCIE_TO_PCI:
        return NULL;
    default:
        return pcie_fn_is_bridge(fn) ? NULL : "vfio-pci";
    }
}

static unsigned sriov_total(PcieFn *pf)
{
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    return c ? pcie_fn_get(pf, c + SRIOV_TOTAL_VF, 2) : 0;
}

static void collect_fn(PcieFn *fn, void *opaque)
{
    g_ptr_array_add(opaque, fn);
}

static gint cmp_rid(gconstpointer a, gconstpointer b)
{
    PcieFn *x = *(PcieFn *const *)a, *y = *(PcieFn *const *)b;
    return (gint)pcie_fn_rid(x) - (gint)pcie_fn_rid(y);
}

/* Every function of the fabric, in fabric order; caller frees the array. */
static GPtrArray *all_fns(EmuSim *sim)
{
    GPtrArray *a = g_ptr_array_new();
    pcie_fabric_foreach(platform_get(sim)->fabric, collect_fn, a);
    return a;
}

int vfio_sysfs_cdev_index(EmuSim *sim, PcieFn *fn)
{
    if (!is_vfio_fn(fn)) {
        return -1;
    }
    g_autoptr(GPtrArray) fns = all_fns(sim);
    g_autoptr(GPtrArray) own = g_ptr_array_new();
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *x = g_ptr_array_index(fns, i);
        if (is_vfio_fn(x) && !pcie_fn_is_vf(x)) {
            g_ptr_array_add(own, x);
        }
    }
    g_ptr_array_sort(own, cmp_rid);
    if (!pcie_fn_is_vf(fn)) {
        for (guint i = 0; i < own->len; i++) {
            if (g_ptr_array_index(own, i) == fn) {
                return (int)i;
            }
        }
        g_assert_not_reached();
    }
    PcieFn *pf = pcie_fn_pf(fn);
    int k = (int)own->len;
    for (guint i = 0; i < own->len; i++) {
        PcieFn *x = g_ptr_array_index(own, i);
        if (pcie_fn_rid(x) < pcie_fn_rid(pf)) {
            k += (int)sriov_total(x);
        }
    }
    return k + (int)pcie_fn_vf_index(fn);
}

/* ---- paths and file writing -------------------------------------------- */

/* The directory of @fn relative to the root. */
static char *fn_dir(PcieFn *fn)
{
    g_autofree char *name = vfio_sysfs_bdf_name(fn);
    PcieFn *up = pcie_fn_parent(fn);
    if (!up) {
        return g_strdup_printf("sys/devices/pci0000:00/%s", name);
    }
    g_autofree char *d = fn_dir(up);
    return g_strdup_printf("%s/%s", d, name);
}

static char *abs_path(const Tree *t, const char *rel)
{
    return g_build_filename(t->root, rel, NULL);
}

static gboolean io_fail(GError **error, const char *what, const char *path, int err)
{
    g_set_error(error, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_IO, "cannot %s %s: %s", what, path,
                g_strerror(err));
    return FALSE;
}

static gboolean put_dir(const Tree *t, const char *rel, GError **error)
{
    g_autofree char *path = abs_path(t, rel);
    if (g_mkdir_with_parents(path, 0755) < 0) {
        return io_fail(error, "create directory", path, errno);
    }
    return TRUE;
}

static gboolean put_parent(const Tree *t, const char *rel, GError **error)
{
    g_autofree char *d = g_path_get_dirname(rel);
    return put_dir(t, d, error);
}

static gboolean put_data(const Tree *t, const char *rel, mode_t mode, const void *data, size_t len,
                         GError **error)
{
    if (!put_parent(t, rel, error)) {
        return FALSE;
    }
    g_autofree char *path = abs_path(t, rel);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) {
        return io_fail(error, "write", path, errno);
    }
    const char *p = data;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            close(fd);
            return io_fail(error, "write", path, e);
        }
        p += n;
        len -= (size_t)n;
    }
    if (fchmod(fd, mode) < 0 || close(fd) < 0) {
        return io_fail(error, "write", path, errno);
    }
    return TRUE;
}

static gboolean put_text(const Tree *t, const char *rel, mode_t mode, GError **error,
                         const char *fmt, ...) G_GNUC_PRINTF(5, 6);
static gboolean put_text(const Tree *t, const char *rel, mode_t mode, GError **error,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *s = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    return put_data(t, rel, mode, s, strlen(s), error);
}

/* The shortest relative path from directory @from to @to (both relative to the root). */
static char *rel_target(const char *from, const char *to)
{
    g_auto(GStrv) f = g_strsplit(from, "/", -1);
    g_auto(GStrv) d = g_strsplit(to, "/", -1);
    guint nf = g_strv_length(f), nd = g_strv_length(d), c = 0;
    while (c < nf && c + 1 < nd && !strcmp(f[c], d[c])) {
        c++;
    }
    GString *s = g_string_new(NULL);
    for (guint i = c; i < nf; i++) {
        g_string_append(s, "../");
    }
    for (guint i = c; i < nd; i++) {
        g_string_append(s, d[i]);
        if (i + 1 < nd) {
            g_string_append_c(s, '/');
        }
    }
    return g_string_free(s, FALSE);
}

static gboolean put_link(const Tree *t, const char *rel, const char *target_rel, GError **error)
{
    if (!put_parent(t, rel, error)) {
        return FALSE;
    }
    g_autofree char *dir = g_path_get_dirname(rel);
    g_autofree char *target = rel_target(dir, target_rel);
    g_autofree char *path = abs_path(t, rel);
    if (unlink(path) < 0 && errno != ENOENT) {
        return io_fail(error, "replace", path, errno);
    }
    if (symlink(target, path) < 0) {
        return io_fail(error, "create symlink", path, errno);
    }
    return TRUE;
}

/* A character device 1:3, or an empty regular file where mknod is refused. */
static gboolean put_node(const Tree *t, const char *rel, GError **error)
{
    if (!put_parent(t, rel, error)) {
        return FALSE;
    }
    g_autofree char *path = abs_path(t, rel);
    if (unlink(path) < 0 && errno != ENOENT) {
        return io_fail(error, "replace", path, errno);
    }
    if (mknod(path, S_IFCHR | 0666, makedev(NODE_MAJOR, NODE_MINOR)) == 0) {
        chmod(path, 0666);   /* the umask applied to mknod */
        return TRUE;
    }
    return put_data(t, rel, 0666, "", 0, error);
}

/* Removes @rel (file, link, node or whole directory; links are not followed). */
static gboolean remove_rel(const Tree *t, const char *rel, GError **error);

static gboolean remove_path(const char *path, GError **error)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        return errno == ENOENT ? TRUE : io_fail(error, "remove", path, errno);
    }
    if (S_ISDIR(st.st_mode)) {
        GError *err = NULL;
        GDir *d = g_dir_open(path, 0, &err);
        if (!d) {
            g_propagate_error(error, err);
            return FALSE;
        }
        const char *name;
        gboolean ok = TRUE;
        while (ok && (name = g_dir_read_name(d))) {
            g_autofree char *sub = g_build_filename(path, name, NULL);
            ok = remove_path(sub, error);
        }
        g_dir_close(d);
        if (!ok) {
            return FALSE;
        }
        if (rmdir(path) < 0) {
            return io_fail(error, "remove", path, errno);
        }
        return TRUE;
    }
    if (unlink(path) < 0 && errno != ENOENT) {
        return io_fail(error, "remove", path, errno);
    }
    return TRUE;
}

static gboolean remove_rel(const Tree *t, const char *rel, GError **error)
{
    g_autofree char *path = abs_path(t, rel);
    return remove_path(path, error);
}

/* ---- contents ---------------------------------------------------------- */

static uint64_t res_flags(uint32_t bar_lo)
{
    if (bar_lo & 1) {
        return RES_IO | RES_SIZEALIGN | (bar_lo & 0x3);
    }
    uint64_t f = RES_MEM | RES_SIZEALIGN | (bar_lo & 0xf);
    if (bar_lo & 0x8) {
        f |= RES_PREFETCH;
    }
    if ((bar_lo & 0x6) == 0x4) {
        f |= RES_MEM_64;
    }
    return f;
}

static void res_line(GString *s, uint64_t start, uint64_t size, uint64_t flags)
{
    if (!size) {
        start = flags = 0;
    }
    g_string_append_printf(s, "0x%016llx 0x%016llx 0x%016llx\n", (unsigned long long)start,
                           (unsigned long long)(size ? start + size - 1 : 0),
                           (unsigned long long)flags);
}

/* BAR lines of a function whose BAR registers are @regs (type 0 or 1 layout). */
static void bar_lines(GString *s, PcieFn *fn, unsigned nbars)
{
    PcieFn *pf = pcie_fn_pf(fn);
    uint16_t pfcap = pf ? pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV) : 0;
    for (unsigned i = 0; i < nbars; i++) {
        uint64_t size = pcie_fn_bar_size(fn, i);
        /* A VF's BAR registers read 0: its type bits are those of the PF's VF BAR. */
        uint32_t lo = pf ? pcie_fn_get(pf, pfcap + SRIOV_BAR + 4 * i, 4)
                         : pcie_fn_get(fn, PCI_BASE_ADDRESS_0 + 4 * i, 4);
        bool is64 = !(lo & 1) && (lo & 0x6) == 0x4;
        uint64_t addr = pcie_fn_bar_addr(fn, i);
        if (addr == PCIE_BAR_UNMAPPED) {
            /* not decoding: what the BAR register holds, as Linux read it at enumeration */
            if (pf) {
                uint64_t base = lo & ~0xfull;
                if (is64 && i < 5) {
                    base |= (uint64_t)pcie_fn_get(pf, pfcap + SRIOV_BAR + 4 * i + 4, 4) << 32;
                }
                addr = base + size * pcie_fn_vf_index(fn);
            } else {
                addr = lo & ((lo & 1) ? ~0x3ull : ~0xfull);
                if (is64 && i < 5) {
                    addr |= (uint64_t)pcie_fn_get(fn, PCI_BASE_ADDRESS_0 + 4 * i + 4, 4) << 32;
                }
            }
        }
        res_line(s, addr, size, res_flags(lo));
        if (is64 && size && i + 1 < nbars) {
            res_line(s, 0, 0, 0);
            i++;
        }
    }
}

static char *resource_text(PcieFn *fn)
{
    GString *s = g_string_new(NULL);
    bool bridge = pcie_fn_is_bridge(fn);
    bar_lines(s, fn, bridge ? 2 : 6);
    for (unsigned i = bridge ? 2 : 6; i < 6; i++) {
        res_line(s, 0, 0, 0);
    }
    res_line(s, 0, 0, 0);   /* expansion ROM: not modelled */
    uint16_t c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_SRIOV);
    unsigned total = c ? pcie_fn_get(fn, c + SRIOV_TOTAL_VF, 2) : 0;
    for (unsigned i = 0; i < 6; i++) {
        uint64_t vsize = c ? pcie_fn_sriov_vf_bar_size(fn, i) : 0;
        if (!vsize) {
            res_line(s, 0, 0, 0);
            continue;
        }
        uint32_t lo = pcie_fn_get(fn, c + SRIOV_BAR + 4 * i, 4);
        uint64_t base = lo & ~0xfull;
        bool is64 = (lo & 0x6) == 0x4;
        if (is64 && i < 5) {
            base |= (uint64_t)pcie_fn_get(fn, c + SRIOV_BAR + 4 * i + 4, 4) << 32;
        }
        res_line(s, base, vsize * total, res_flags(lo));
        if (is64 && i < 5) {
            res_line(s, 0, 0, 0);
            i++;
        }
    }
    if (bridge) {
        for (unsigned i = 0; i < 4; i++) {
            res_line(s, 0, 0, 0);   /* bridge windows: not reported */
        }
    }
    return g_string_free(s, FALSE);
}

static void subsystem_ids(PcieFn *fn, unsigned *svid, unsigned *sdid)
{
    *svid = *sdid = 0;
    if (!pcie_fn_is_bridge(fn)) {
        *svid = pcie_fn_get(fn, PCI_SUBSYSTEM_VENDOR_ID, 2);
        *sdid = pcie_fn_get(fn, PCI_SUBSYSTEM_ID, 2);
        return;
    }
    uint8_t c = pcie_fn_find_cap(fn, PCI_CAP_ID_SSVID);
    if (c) {
        *svid = pcie_fn_get(fn, c + 4, 2);
        *sdid = pcie_fn_get(fn, c + 6, 2);
    }
}

/* Index of the VT-d unit translating @fn, or -1. */
static int dmar_index(const Tree *t, PcieFn *fn)
{
    PlatformVtd *v = platform_vtd_for(t->p, pcie_fn_rid(fn));
    for (guint i = 0; v && i < t->p->vtd->len; i++) {
        if (g_ptr_array_index(t->p->vtd, i) == v) {
            return (int)i;
        }
    }
    return -1;
}

static gboolean put_group(const Tree *t, int g, bool vfio, GError **error)
{
    g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
    g_autofree char *devs = g_strdup_printf("%s/devices", gdir);
    g_autofree char *type = g_strdup_printf("%s/type", gdir);
    g_autofree char *rr = g_strdup_printf("%s/reserved_regions", gdir);
    if (!put_dir(t, devs, error) || !put_text(t, type, 0644, error, "DMA\n")
        || !put_text(t, rr, 0444, error, "0x00000000fee00000 0x00000000feefffff msi\n")) {
        return FALSE;
    }
    if (vfio) {
        g_autofree char *node = g_strdup_printf("dev/vfio/%d", g);
        g_autofree char *path = abs_path(t, node);
        if (!g_file_test(path, G_FILE_TEST_EXISTS)) {
            return put_node(t, node, error);
        }
    }
    return TRUE;
}

/* Writes the directory of @fn and every link and node that refers to it. */
static gboolean add_fn(const Tree *t, PcieFn *fn, GError **error)
{
    g_autofree char *dir = fn_dir(fn);
    g_autofree char *name = vfio_sysfs_bdf_name(fn);
    if (!put_dir(t, dir, error)) {
        return FALSE;
    }
#define FILE_AT(var, leaf) g_autofree char *var = g_strdup_printf("%s/%s", dir, leaf)
    FILE_AT(f_vendor, "vendor");
    FILE_AT(f_device, "device");
    FILE_AT(f_svid, "subsystem_vendor");
    FILE_AT(f_sdid, "subsystem_device");
    FILE_AT(f_class, "class");
    FILE_AT(f_rev, "revision");
    FILE_AT(f_numa, "numa_node");
    FILE_AT(f_irq, "irq");
    FILE_AT(f_enable, "enable");
    FILE_AT(f_res, "resource");
    FILE_AT(f_config, "config");
    FILE_AT(f_override, "driver_override");
    FILE_AT(f_subsys, "subsystem");

    PcieFn *pf = pcie_fn_pf(fn);
    unsigned vendor = pcie_fn_get(pf ? pf : fn, PCI_VENDOR_ID, 2);   /* a VF's reads 0xffff */
    unsigned svid, sdid;
    subsystem_ids(fn, &svid, &sdid);
    uint32_t cls = pcie_fn_get(fn, PCI_CLASS_PROG, 1) | (pcie_fn_get(fn, PCI_CLASS_DEVICE, 2) << 8);
    const char *drv = fn_driver(fn);
    g_autofree char *res = resource_text(fn);
    if (!put_text(t, f_vendor, 0444, error, "0x%04x\n", vendor)
        || !put_text(t, f_device, 0444, error, "0x%04x\n", pcie_fn_get(fn, PCI_DEVICE_ID, 2))
        || !put_text(t, f_svid, 0444, error, "0x%04x\n", svid)
        || !put_text(t, f_sdid, 0444, error, "0x%04x\n", sdid)
        || !put_text(t, f_class, 0444, error, "0x%06x\n", cls)
        || !put_text(t, f_rev, 0444, error, "0x%02x\n", pcie_fn_get(fn, PCI_REVISION_ID, 1))
        || !put_text(t, f_numa, 0644, error, "-1\n")
        || !put_text(t, f_irq, 0444, error, "%u\n",
                     pcie_fn_get(fn, PCI_INTERRUPT_PIN, 1) ? pcie_fn_get(fn, PCI_INTERRUPT_LINE, 1) : 0)
        || !put_text(t, f_enable, 0644, error, "%d\n", drv && !strcmp(drv, "pcieport"))
        || !put_data(t, f_res, 0444, res, strlen(res), error)
        || !put_data(t, f_config, 0644, pcie_fn_config(fn), PCIE_CONFIG_SIZE, error)
        || !put_text(t, f_override, 0644, error, "(null)\n")
        || !put_link(t, f_subsys, "sys/bus/pci", error)) {
        return FALSE;
    }

    g_autofree char *buslink = g_strdup_printf("sys/bus/pci/devices/%s", name);
    if (!put_link(t, buslink, dir, error)) {
        return FALSE;
    }
    if (drv) {
        g_autofree char *ddir = g_strdup_printf("sys/bus/pci/drivers/%s", drv);
        g_autofree char *dlink = g_strdup_printf("%s/driver", dir);
        g_autofree char *back = g_strdup_printf("%s/%s", ddir, name);
        if (!put_link(t, dlink, ddir, error) || !put_link(t, back, dir, error)) {
            return FALSE;
        }
    }

    int g = pcie_fn_group(fn);
    if (g >= 0) {
        g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
        g_autofree char *glink = g_strdup_printf("%s/iommu_group", dir);
        g_autofree char *gback = g_strdup_printf("%s/devices/%s", gdir, name);
        if (!put_group(t, g, is_vfio_fn(fn), error) || !put_link(t, glink, gdir, error)
            || !put_link(t, gback, dir, error)) {
            return FALSE;
        }
    }

    int u = dmar_index(t, fn);
    if (u >= 0) {
        g_autofree char *udir = g_strdup_printf("sys/class/iommu/dmar%d", u);
        g_autofree char *ulink = g_strdup_printf("%s/iommu", dir);
        g_autofree char *uback = g_strdup_printf("%s/devices/%s", udir, name);
        if (!put_link(t, ulink, udir, error) || !put_link(t, uback, dir, error)) {
            return FALSE;
        }
    }

    uint16_t c = pcie_fn_find_ext_cap(fn, PCI_EXT_CAP_ID_SRIOV);
    if (c) {
        FILE_AT(f_total, "sriov_totalvfs");
        FILE_AT(f_num, "sriov_numvfs");
        FILE_AT(f_off, "sriov_offset");
        FILE_AT(f_stride, "sriov_stride");
        FILE_AT(f_vfdev, "sriov_vf_device");
        FILE_AT(f_probe, "sriov_drivers_autoprobe");
        if (!put_text(t, f_total, 0444, error, "%u\n", pcie_fn_get(fn, c + SRIOV_TOTAL_VF, 2))
            || !put_text(t, f_num, 0664, error, "%u\n", pcie_fn_num_vfs(fn))
            || !put_text(t, f_off, 0444, error, "%u\n", pcie_fn_get(fn, c + SRIOV_VF_OFFSET, 2))
            || !put_text(t, f_stride, 0444, error, "%u\n", pcie_fn_get(fn, c + SRIOV_VF_STRIDE, 2))
            || !put_text(t, f_vfdev, 0444, error, "%x\n", pcie_fn_get(fn, c + SRIOV_VF_DID, 2))
            || !put_text(t, f_probe, 0644, error, "1\n")) {
            return FALSE;
        }
    }
    if (pf) {
        g_autofree char *pfdir = fn_dir(pf);
        g_autofree char *plink = g_strdup_printf("%s/physfn", dir);
        g_autofree char *vlink = g_strdup_printf("%s/virtfn%u", pfdir, pcie_fn_vf_index(fn));
        if (!put_link(t, plink, pfdir, error) || !put_link(t, vlink, dir, error)) {
            return FALSE;
        }
    }

    int k = vfio_sysfs_cdev_index(t->sim, fn);
    if (k >= 0) {
        g_autofree char *vdev = g_strdup_printf("%s/vfio-dev/vfio%d/dev", dir, k);
        g_autofree char *node = g_strdup_printf("dev/vfio/devices/vfio%d", k);
        if (!put_text(t, vdev, 0444, error, "%d:%d\n", NODE_MAJOR, NODE_MINOR)
            || !put_node(t, node, error)) {
            return FALSE;
        }
    }
#undef FILE_AT
    return TRUE;
}

/* Whether the group directory @devs_abs lists a vfio-pci function other than @except. */
static bool group_has_vfio_fn(const Tree *t, const char *devs_abs, PcieFn *except)
{
    GDir *d = g_dir_open(devs_abs, 0, NULL);
    bool found = false;
    const char *name;
    while (d && !found && (name = g_dir_read_name(d))) {
        PcieFn *x = vfio_sysfs_find(t->sim, name);
        found = x && x != except && is_vfio_fn(x);
    }
    if (d) {
        g_dir_close(d);
    }
    return found;
}

/* Removes what add_fn() wrote for @fn (a VF about to disappear). */
static gboolean remove_fn(const Tree *t, PcieFn *fn, GError **error)
{
    g_autofree char *dir = fn_dir(fn);
    g_autofree char *name = vfio_sysfs_bdf_name(fn);
    g_autofree char *buslink = g_strdup_printf("sys/bus/pci/devices/%s", name);
    if (!remove_rel(t, buslink, error)) {
        return FALSE;
    }
    const char *drv = fn_driver(fn);
    if (drv) {
        g_autofree char *back = g_strdup_printf("sys/bus/pci/drivers/%s/%s", drv, name);
        if (!remove_rel(t, back, error)) {
            return FALSE;
        }
    }
    int u = dmar_index(t, fn);
    if (u >= 0) {
        g_autofree char *uback = g_strdup_printf("sys/class/iommu/dmar%d/devices/%s", u, name);
        if (!remove_rel(t, uback, error)) {
            return FALSE;
        }
    }
    int g = pcie_fn_group(fn);
    if (g >= 0) {
        g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
        g_autofree char *gback = g_strdup_printf("%s/devices/%s", gdir, name);
        g_autofree char *gdevs = g_strdup_printf("%s/devices", gdir);
        g_autofree char *gdevs_abs = abs_path(t, gdevs);
        if (!remove_rel(t, gback, error)) {
            return FALSE;
        }
        g_autofree char *node = g_strdup_printf("dev/vfio/%d", g);
        if (rmdir(gdevs_abs) == 0) {   /* the group is empty now */
            if (!remove_rel(t, gdir, error) || !remove_rel(t, node, error)) {
                return FALSE;
            }
        } else if (!group_has_vfio_fn(t, gdevs_abs, fn) && !remove_rel(t, node, error)) {
            return FALSE;   /* only bridges are left: no VFIO group any more */
        }
    }
    int k = vfio_sysfs_cdev_index(t->sim, fn);
    if (k >= 0) {
        g_autofree char *node = g_strdup_printf("dev/vfio/devices/vfio%d", k);
        if (!remove_rel(t, node, error)) {
            return FALSE;
        }
    }
    PcieFn *pf = pcie_fn_pf(fn);
    if (pf) {
        g_autofree char *pfdir = fn_dir(pf);
        g_autofree char *vlink = g_strdup_printf("%s/virtfn%u", pfdir, pcie_fn_vf_index(fn));
        if (!remove_rel(t, vlink, error)) {
            return FALSE;
        }
    }
    return remove_rel(t, dir, error);
}

static gboolean put_global(const Tree *t, GError **error)
{
    static const char *const dirs[] = {
        "sys/bus/pci/devices", "sys/bus/pci/drivers/pcieport", "sys/kernel/iommu_groups",
        "sys/module/vfio_pci/parameters", "sys/class/iommu", "dev/vfio/devices",
    };
    for (size_t i = 0; i < G_N_ELEMENTS(dirs); i++) {
        if (!put_dir(t, dirs[i], error)) {
            return FALSE;
        }
    }
    static const char *const wo[] = { "bind", "unbind", "new_id", "remove_id" };
    for (size_t i = 0; i < G_N_ELEMENTS(wo); i++) {
        g_autofree char *f = g_strdup_printf("sys/bus/pci/drivers/vfio-pci/%s", wo[i]);
        if (!put_data(t, f, 0200, "", 0, error)) {
            return FALSE;
        }
    }
    if (!put_data(t, "sys/bus/pci/drivers_probe", 0200, "", 0, error)
        || !put_data(t, "sys/bus/pci/rescan", 0200, "", 0, error)
        || !put_text(t, "sys/bus/pci/drivers_autoprobe", 0644, error, "1\n")
        || !put_text(t, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", 0644, error, "N\n")
        || !put_text(t, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", 0644, error,
                     "65535\n")
        || !put_text(t, "sys/module/vfio_iommu_type1/parameters/allow_unsafe_interrupts", 0644,
                     error, "N\n")
        || !put_node(t, "dev/vfio/vfio", error) || !put_node(t, "dev/iommu", error)) {
        return FALSE;
    }
    for (guint i = 0; i < t->p->vtd->len; i++) {
        PlatformVtd *v = g_ptr_array_index(t->p->vtd, i);
        uint64_t ver = vtd_unit_reg_peek(v->unit, 0x00, 4);
        uint64_t cap = vtd_unit_reg_peek(v->unit, 0x08, 8);
        uint64_t ecap = vtd_unit_reg_peek(v->unit, 0x10, 8);
        g_autofree char *d = g_strdup_printf("sys/class/iommu/dmar%u", i);
        g_autofree char *f_cap = g_strdup_printf("%s/intel-iommu/cap", d);
        g_autofree char *f_ecap = g_strdup_printf("%s/intel-iommu/ecap", d);
        g_autofree char *f_ver = g_strdup_printf("%s/intel-iommu/version", d);
        g_autofree char *f_addr = g_strdup_printf("%s/intel-iommu/address", d);
        g_autofree char *f_nd = g_strdup_printf("%s/intel-iommu/domains_supported", d);
        g_autofree char *f_used = g_strdup_printf("%s/intel-iommu/domains_used", d);
        g_autofree char *f_devs = g_strdup_printf("%s/devices", d);
        if (!put_text(t, f_cap, 0444, error, "%llx\n", (unsigned long long)cap)
            || !put_text(t, f_ecap, 0444, error, "%llx\n", (unsigned long long)ecap)
            || !put_text(t, f_ver, 0444, error, "%u:%u\n", (unsigned)(ver >> 4) & 0xf,
                         (unsigned)ver & 0xf)
            || !put_text(t, f_addr, 0444, error, "%llx\n", (unsigned long long)v->base)
            || !put_text(t, f_nd, 0444, error, "%lu\n", 1ul << (4 + 2 * (cap & 7)))
            || !put_text(t, f_used, 0444, error, "0\n") || !put_dir(t, f_devs, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

#define DEBUGFS_DIR "sys/kernel/debug/iommu/intel"

gboolean vfio_sysfs_refresh_debugfs(EmuSim *sim, const char *root, GError **error)
{
    Tree t = { sim, platform_get(sim), root };
    if (!remove_rel(&t, DEBUGFS_DIR, error) || !put_dir(&t, DEBUGFS_DIR, error)) {
        return FALSE;
    }
    g_auto(GStrv) names = explain_dump_files(sim);
    for (char **n = names; *n; n++) {
        g_autoptr(GString) out = g_string_new(NULL);
        g_autofree char *rel = g_strdup_printf(DEBUGFS_DIR "/%s", *n);
        if (!explain_dump_file(sim, *n, out, error) || !put_data(&t, rel, 0444, out->str, out->len, error)) {
            return FALSE;
        }
    }
    return TRUE;
}

gboolean vfio_sysfs_build(EmuSim *sim, const char *root, GError **error)
{
    Tree t = { sim, platform_get(sim), root };
    pcie_fabric_compute_groups(t.p->fabric);
    if (!put_dir(&t, "", error) || !put_global(&t, error)) {
        return FALSE;
    }
    g_autoptr(GPtrArray) fns = all_fns(sim);
    for (guint i = 0; i < fns->len; i++) {
        if (!add_fn(&t, g_ptr_array_index(fns, i), error)) {
            return FALSE;
        }
    }
    return vfio_sysfs_refresh_debugfs(sim, root, error);
}

/* ---- sriov_numvfs ------------------------------------------------------ */

/*
 * Recomputes groups after VFs came or went and gives the functions that
 * existed before (@old: PcieFn * -> group + 1) their old numbers back.
 */
static void regroup(EmuSim *sim, GHashTable *old)
{
    pcie_fabric_compute_groups(platform_get(sim)->fabric);
    g_autoptr(GPtrArray) fns = all_fns(sim);
    g_autoptr(GHashTable) map = g_hash_table_new(NULL, NULL);   /* computed + 1 -> final + 1 */
    g_autoptr(GHashTable) used = g_hash_table_new(NULL, NULL);  /* final + 1 */
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *fn = g_ptr_array_index(fns, i);
        int was = GPOINTER_TO_INT(g_hash_table_lookup(old, fn)) - 1;
        int now = pcie_fn_group(fn);
        if (was >= 0 && now >= 0) {
            g_hash_table_insert(map, GINT_TO_POINTER(now + 1), GINT_TO_POINTER(was + 1));
            g_hash_table_add(used, GINT_TO_POINTER(was + 1));
        }
    }
    GArray *final = g_array_sized_new(FALSE, FALSE, sizeof(int), fns->len);
    for (guint i = 0; i < fns->len; i++) {
        PcieFn *fn = g_ptr_array_index(fns, i);
        int was = GPOINTER_TO_INT(g_hash_table_lookup(old, fn)) - 1;
        int now = pcie_fn_group(fn);
        int g = -1;
        if (was >= 0) {
            g = was;
        } else if (now >= 0) {
            g = GPOINTER_TO_INT(g_hash_table_lookup(map, GINT_TO_POINTER(now + 1))) - 1;
            if (g < 0) {
                for (g = 0; g_hash_table_contains(used, GINT_TO_POINTER(g + 1)); g++) {
                }
                g_hash_table_insert(map, GINT_TO_POINTER(now + 1), GINT_TO_POINTER(g + 1));
                g_hash_table_add(used, GINT_TO_POINTER(g + 1));
            }
        }
        g_array_append_val(final, g);
    }
    for (guint i = 0; i < fns->len; i++) {
        pcie_fn_set_group(g_ptr_array_index(fns, i), g_array_index(final, int, i));
    }
    g_array_free(final, TRUE);
}

gboolean vfio_sysfs_set_numvfs(EmuSim *sim, const char *root, PcieFn *pf, unsigned numvfs,
                               GError **error)
{
    Tree t = { sim, platform_get(sim), root };
    g_autofree char *dir = fn_dir(pf);
    g_autofree char *file = g_strdup_printf("%s/sriov_numvfs", dir);
    g_autofree char *path = abs_path(&t, file);
    uint16_t c = pcie_fn_find_ext_cap(pf, PCI_EXT_CAP_ID_SRIOV);
    if (!c || pcie_fn_is_vf(pf)) {
        g_set_error(error, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_INVALID,
                    "%s: %s has no SR-IOV capability", path, pcie_fn_name(pf));
        return FALSE;
    }
    unsigned total = pcie_fn_get(pf, c + SRIOV_TOTAL_VF, 2);
    unsigned cur = pcie_fn_num_vfs(pf);
    if (numvfs > total) {
        g_set_error(error, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_RANGE,
                    "%s: %u VFs requested, sriov_totalvfs is %u", path, numvfs, total);
        return FALSE;
    }
    if (numvfs == cur) {
        return TRUE;
    }
    if (numvfs && cur) {
        g_set_error(error, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_BUSY,
                    "%s: %u VFs already enabled; write 0 before enabling %u", path, cur, numvfs);
        return FALSE;
    }

    g_autoptr(GPtrArray) before = all_fns(sim);
    bool need_groups = FALSE;
    for (guint i = 0; i < before->len; i++) {
        need_groups |= pcie_fn_group(g_ptr_array_index(before, i)) < 0;
    }
    if (need_groups) {
        pcie_fabric_compute_groups(t.p->fabric);   /* never built: start from the fabric's numbers */
    }

    if (numvfs == 0) {
        for (unsigned i = 0; i < cur; i++) {
            if (!remove_fn(&t, pcie_fn_vf(pf, i), error)) {
                return FALSE;
            }
        }
    }

    g_autoptr(GHashTable) old = g_hash_table_new(NULL, NULL);
    for (guint i = 0; i < before->len; i++) {
        PcieFn *fn = g_ptr_array_index(before, i);
        if (!(numvfs == 0 && pcie_fn_pf(fn) == pf)) {
            g_hash_table_insert(old, fn, GINT_TO_POINTER(pcie_fn_group(fn) + 1));
        }
    }

    /* What the kernel's SR-IOV enable/disable writes. */
    uint16_t ctrl = (uint16_t)pcie_fn_config_read(pf, c + SRIOV_CTRL, 2);
    if (numvfs) {
        pcie_fn_config_write(pf, c + SRIOV_NUM_VF, 2, numvfs);
        pcie_fn_config_write(pf, c + SRIOV_CTRL, 2, ctrl | SRIOV_CTRL_VFE | SRIOV_CTRL_MSE);
    } else {
        pcie_fn_config_write(pf, c + SRIOV_CTRL, 2,
                             ctrl & (uint16_t)~(SRIOV_CTRL_VFE | SRIOV_CTRL_MSE));
        pcie_fn_config_write(pf, c + SRIOV_NUM_VF, 2, 0);
    }
    if (pcie_fn_num_vfs(pf) != numvfs) {
        g_set_error(error, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_INVALID,
                    "%s: %s has %u VFs after the SR-IOV control write, %u expected", path,
                    pcie_fn_name(pf), pcie_fn_num_vfs(pf), numvfs);
        return FALSE;
    }
    regroup(sim, old);

    for (unsigned i = 0; i < numvfs; i++) {
        if (!add_fn(&t, pcie_fn_vf(pf, i), error)) {
            return FALSE;
        }
    }
    return put_text(&t, file, 0664, error, "%u\n", numvfs);
}
