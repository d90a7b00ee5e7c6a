/*
 * The VFIO shim core against the uAPI contract (vfio.md §1): fd-kind
 * dispatch, argsz and capability-chain rules, the errno of every bad input
 * the reference lists for containers, groups, MAP/UNMAP (v1 and v2) and
 * devices, config-space virtualization, and the end-to-end paths: a DMA of
 * the device lands in the client's own buffer (or becomes a VT-d fault
 * record), and an MSI reaches the bound eventfd through interrupt
 * remapping.  The shim is driven directly (no LD_PRELOAD), with /dev/null
 * fds standing in for the client's VFIO fds as the preload layer does.
 */
#define _GNU_SOURCE
#include "check_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio/shim_internal.h"
#include "vtdsim/platform.h"

static const char *const platform_text =
    "[platform]\nname = shimtest\nram = 256M\nfirmware = full\n"
    "[device edu]\ntype = edu\nbdf = 00:01.0\n"
    "[device rp0]\ntype = root-port\nbdf = 00:1c.0\nacs = true\n"
    "[device nic]\ntype = endpoint\nparent = rp0\nvendor = 0x8086\ndevice = 0x1572\nclass = 0x020000\n"
    "bar0 = mem64:1M\nbar2 = io:32\nbar3 = mem64:16K\nmsix = 8\nmsix-bar = 3\nmsi = 4\n"
    "sriov-total-vfs = 2\nsriov-offset = 1\nsriov-stride = 1\nsriov-vf-device = 0x154c\n"
    "sriov-vf-bar0 = mem64:64K\nsriov-vf-bar3 = mem64:16K\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n";

typedef struct Fx {
    VfioShim *s;
    int container, group, device;
    int group_id;
} Fx;

static int fx_fd(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static int fx_open(Fx *f, const char *path)
{
    int fd = fx_fd();
    int r = vfio_shim_open(f->s, path, fd);
    if (r < 0) {
        close(fd);
        errno = -r;
        return -1;
    }
    return fd;
}

static long fx_ioctl(Fx *f, int fd, unsigned long req, const void *arg)
{
    return vfio_shim_ioctl(f->s, fd, req, (unsigned long)arg);
}

static int group_of(Fx *f, const char *bdf)
{
    PcieFn *fn = platform_find_device(platform_get(vfio_shim_sim(f->s)), bdf);
    ck_assert_ptr_nonnull(fn);
    return pcie_fn_group(fn);
}

/* A shim with no fds open. */
static void fx_init(Fx *f)
{
    memset(f, 0, sizeof *f);
    g_autoptr(GError) err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(platform_text, "shimtest.platform", &err);
    ck_assert_msg(sim, "%s", err ? err->message : "");
    f->s = vfio_shim_new(sim, &err);
    ck_assert_msg(f->s, "%s", err ? err->message : "");
    f->container = f->group = f->device = -1;
}

/* Container + group of @bdf + TYPE @type (+ device fd when @open_dev). */
static void fx_setup(Fx *f, const char *bdf, int type, bool open_dev)
{
    fx_init(f);
    f->container = fx_open(f, "/dev/vfio/vfio");
    ck_assert_int_ge(f->container, 0);
    f->group_id = group_of(f, bdf);
    g_autofree char *gp = g_strdup_printf("/dev/vfio/%d", f->group_id);
    f->group = fx_open(f, gp);
    ck_assert_int_ge(f->group, 0);
    ck_assert_int_eq(fx_ioctl(f, f->group, VFIO_ABI_GROUP_SET_CONTAINER, &f->container), 0);
    ck_assert_int_eq(vfio_shim_ioctl(f->s, f->container, VFIO_ABI_SET_IOMMU, (unsigned long)type), 0);
    if (open_dev) {
        g_autofree char *name = g_strdup_printf("0000:%s", bdf);
        f->device = (int)fx_ioctl(f, f->group, VFIO_ABI_GROUP_GET_DEVICE_FD, name);
        ck_assert_int_ge(f->device, 0);
    }
}

static void fx_fini(Fx *f)
{
    int fds[] = { f->device, f->group, f->container };
    for (unsigned i = 0; i < 3; i++) {
        if (fds[i] >= 0) {
            vfio_shim_close(f->s, fds[i]);
            close(fds[i]);
        }
    }
    vfio_shim_free(f->s);
}

static long map(Fx *f, void *vaddr, uint64_t iova, uint64_t size, uint32_t flags)
{
    VfioAbiDmaMap m = { sizeof m, flags, (uintptr_t)vaddr, iova, size };
    return fx_ioctl(f, f->container, VFIO_ABI_IOMMU_MAP_DMA, &m);
}

static long unmap(Fx *f, uint64_t iova, uint64_t size, uint32_t flags, uint64_t *out)
{
    VfioAbiDmaUnmap u = { sizeof u, flags, iova, size };
    long r = fx_ioctl(f, f->container, VFIO_ABI_IOMMU_UNMAP_DMA, &u);
    if (out) {
        *out = u.size;
    }
    return r;
}

#define RW (VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE)

START_TEST(test_paths)
{
    int n = -1;
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/vfio", NULL), VFIO_PATH_CONTAINER);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/17", &n), VFIO_PATH_GROUP);
    ck_assert_int_eq(n, 17);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/devices/vfio0", NULL), VFIO_PATH_CDEV);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/iommu", NULL), VFIO_PATH_IOMMUFD);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/17x", NULL), VFIO_PATH_NONE);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/", NULL), VFIO_PATH_NONE);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/null", NULL), VFIO_PATH_NONE);
}
END_TEST

START_TEST(test_container_and_group_errnos)
{
    Fx f;
    fx_init(&f);
    int c = fx_open(&f, "/dev/vfio/vfio");
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_GET_API_VERSION, 0), 0);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_CHECK_EXTENSION, VFIO_ABI_TYPE1_IOMMU), 1);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_CHECK_EXTENSION, VFIO_ABI_TYPE1v2_IOMMU), 1);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_CHECK_EXTENSION, VFIO_ABI_UNMAP_ALL), 1);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_CHECK_EXTENSION, VFIO_ABI_NOIOMMU_IOMMU), 0);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_CHECK_EXTENSION, VFIO_ABI_SPAPR_TCE_IOMMU), 0);
    /* no group yet: SET_IOMMU is EINVAL; without a backend every other request is EINVAL */
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_SET_IOMMU, VFIO_ABI_TYPE1v2_IOMMU), -EINVAL);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_REQ(40), 0), -EINVAL);
    /* groups */
    int gid = group_of(&f, "00:01.0");
    g_autofree char *gp = g_strdup_printf("/dev/vfio/%d", gid);
    ck_assert_int_eq(fx_open(&f, "/dev/vfio/999"), -1);
    ck_assert_int_eq(errno, ENOENT);
    int g = fx_open(&f, gp);
    ck_assert_int_ge(g, 0);
    ck_assert_int_eq(fx_open(&f, gp), -1);
    ck_assert_int_eq(errno, EBUSY);
    VfioAbiGroupStatus st = { sizeof st, 0 };
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_STATUS, &st), 0);
    ck_assert_uint_eq(st.flags, VFIO_ABI_GROUP_VIABLE);
    st.argsz = 4;
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_STATUS, &st), -EINVAL);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_UNSET_CONTAINER, NULL), -EINVAL);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_DEVICE_FD, "0000:00:01.0"), -EINVAL);
    int notfd = 12345;
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_SET_CONTAINER, &notfd), -EBADF);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_SET_CONTAINER, &g), -EINVAL);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_SET_CONTAINER, &c), 0);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_SET_CONTAINER, &c), -EINVAL);
    st.argsz = sizeof st;
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_STATUS, &st), 0);
    ck_assert_uint_eq(st.flags, VFIO_ABI_GROUP_VIABLE | VFIO_ABI_GROUP_CONTAINER_SET);
    /* a type no backend accepts, then a good one, then a second one */
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_SET_IOMMU, VFIO_ABI_NOIOMMU_IOMMU), -ENODEV);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_SET_IOMMU, VFIO_ABI_TYPE1_IOMMU), 0);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_SET_IOMMU, VFIO_ABI_TYPE1v2_IOMMU), -EINVAL);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_REQ(40), 0), -ENOTTY);
    /* the same numbers mean other things on a group fd */
    ck_assert_int_eq(vfio_shim_ioctl(f.s, g, VFIO_ABI_GET_API_VERSION, 0), -ENOTTY);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_DEVICE_FD, "0000:00:1c.0"), -ENODEV);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_GET_DEVICE_FD, "00:01"), -ENODEV);
    /* a dup of the container keeps it alive after the original is closed */
    int c2 = dup(c);
    vfio_shim_dup(f.s, c, c2);
    vfio_shim_close(f.s, c);
    close(c);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c2, VFIO_ABI_GET_API_VERSION, 0), 0);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, c, VFIO_ABI_GET_API_VERSION, 0), -EBADF);
    ck_assert_int_eq(fx_ioctl(&f, g, VFIO_ABI_GROUP_UNSET_CONTAINER, NULL), 0);
    f.container = c2;
    f.group = g;
    fx_fini(&f);
}
END_TEST

START_TEST(test_iommu_info_chain)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, false);
    /* argsz below minsz */
    VfioAbiType1Info small = { 8, 0, 0, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_GET_INFO, &small), -EINVAL);
    /* an old 16-byte client: nothing written past argsz */
    uint8_t old[24];
    memset(old, 0xa5, sizeof old);
    uint32_t sz16 = 16;
    memcpy(old, &sz16, 4);
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_GET_INFO, old), 0);
    for (unsigned i = 16; i < 24; i++) {
        ck_assert_uint_eq(old[i], 0xa5);
    }
    /* the two-call dance */
    VfioAbiType1Info first = { sizeof first, 0, 0, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_GET_INFO, &first), 0);
    ck_assert(first.flags & VFIO_ABI_IOMMU_INFO_CAPS);
    ck_assert(first.flags & VFIO_ABI_IOMMU_INFO_PGSIZES);
    ck_assert_uint_gt(first.argsz, sizeof first);
    ck_assert_uint_eq(first.cap_offset, 0);
    ck_assert_uint_eq(first.iova_pgsizes & 0x1000, 0x1000);
    uint8_t *buf = g_malloc0(first.argsz);
    memcpy(buf, &first.argsz, 4);
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_GET_INFO, buf), 0);
    VfioAbiType1Info full;
    memcpy(&full, buf, sizeof full);
    ck_assert_uint_eq(full.cap_offset, sizeof full);
    bool seen[4] = { false };
    for (uint32_t off = full.cap_offset; off;) {
        VfioAbiCapHeader h;
        memcpy(&h, buf + off, sizeof h);
        ck_assert_uint_lt(h.id, 4);
        seen[h.id] = true;
        if (h.id == VFIO_ABI_IOMMU_CAP_IOVA_RANGE) {
            uint32_t nr;
            uint64_t r[4];
            memcpy(&nr, buf + off + 8, 4);
            memcpy(r, buf + off + 16, sizeof r);
            ck_assert_uint_eq(nr, 2);
            ck_assert_uint_eq(r[0], 0);
            ck_assert_uint_eq(r[1], 0xfedfffff);
            ck_assert_uint_eq(r[2], 0xfef00000);
            ck_assert_uint_ge(r[3], (1ull << 47) - 1);
        }
        if (h.id == VFIO_ABI_IOMMU_CAP_DMA_AVAIL) {
            uint32_t avail;
            memcpy(&avail, buf + off + 8, 4);
            ck_assert_uint_eq(avail, SHIM_DMA_ENTRY_LIMIT);
        }
        off = h.next;
    }
    ck_assert(seen[1] && seen[2] && seen[3]);
    g_free(buf);
    fx_fini(&f);
}
END_TEST

START_TEST(test_map_errnos)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, false);
    uint8_t *mem = mmap(NULL, 1 << 21, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    VfioAbiDmaMap m = { 16, RW, (uintptr_t)mem, 0, 4096 };
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_MAP_DMA, &m), -EINVAL);   /* argsz */
    ck_assert_int_eq(map(&f, mem, 0, 4096, 0x8), -EINVAL);                              /* flags */
    ck_assert_int_eq(map(&f, mem, 0, 0, RW), -EINVAL);                                  /* size 0 */
    ck_assert_int_eq(map(&f, mem, ~0ull - 0xfff, 0x2000, RW), -EOVERFLOW);              /* iova wraps */
    ck_assert_int_eq(map(&f, (void *)(uintptr_t)(~0ull - 0xfff), 0, 0x2000, RW), -EOVERFLOW);
    ck_assert_int_eq(map(&f, mem, 0, 4096, 0), -EINVAL);                                /* no prot */
    ck_assert_int_eq(map(&f, mem, 0x800, 4096, RW), -EINVAL);                           /* unaligned */
    ck_assert_int_eq(map(&f, mem + 1, 0, 4096, RW), -EINVAL);
    ck_assert_int_eq(map(&f, mem, 0xfee00000, 4096, RW), -EINVAL);                      /* MSI window */
    ck_assert_int_eq(map(&f, mem, 1ull << 60, 4096, RW), -EINVAL);                      /* above MGAW */
    ck_assert_int_eq(map(&f, (void *)(uintptr_t)0x1000, 0, 4096, RW), -EFAULT);         /* not mapped */
    ck_assert_int_eq(map(&f, mem, 0x100000, 0x10000, RW), 0);
    ck_assert_int_eq(map(&f, mem, 0x108000, 0x1000, RW), -EEXIST);                      /* overlap */
    ck_assert_int_eq(map(&f, mem, 0xff000, 0x2000, RW), -EEXIST);
    ck_assert_int_eq(map(&f, mem, 0x110000, 0x1000, VFIO_ABI_DMA_MAP_READ), 0);         /* adjacent */
    /* unmap */
    uint64_t got = 1;
    ck_assert_int_eq(unmap(&f, 0x100000, 0x1000, 0, &got), -EINVAL);    /* v2: bisects */
    ck_assert_int_eq(unmap(&f, 0, 0, 0, NULL), -EINVAL);                /* size 0 */
    ck_assert_int_eq(unmap(&f, 0x800, 0x1000, 0, NULL), -EINVAL);       /* unaligned */
    ck_assert_int_eq(unmap(&f, ~0ull - 0xfff, 0x2000, 0, NULL), -EOVERFLOW);
    ck_assert_int_eq(unmap(&f, 0, 0, 3, NULL), -EINVAL);                /* DIRTY|ALL (ixy's flags=3) */
    ck_assert_int_eq(unmap(&f, 0, 0x1000, 0x10, NULL), -EINVAL);        /* unknown flag */
    ck_assert_int_eq(unmap(&f, 0x1000, 0x1000, VFIO_ABI_DMA_UNMAP_ALL, NULL), -EINVAL);
    ck_assert_int_eq(unmap(&f, 0x40000000, 0x1000, 0, &got), 0);        /* nothing there */
    ck_assert_uint_eq(got, 0);
    ck_assert_int_eq(unmap(&f, 0x100000, 0x11000, 0, &got), 0);
    ck_assert_uint_eq(got, 0x11000);
    ck_assert_int_eq(map(&f, mem, 0x100000, 0x10000, RW), 0);
    ck_assert_int_eq(map(&f, mem, 0x200000, 0x1000, RW), 0);
    ck_assert_int_eq(unmap(&f, 0, 0, VFIO_ABI_DMA_UNMAP_ALL, &got), 0);
    ck_assert_uint_eq(got, 0x11000);
    /* v2 dirty tracking: every mapped page is dirty */
    ck_assert_int_eq(map(&f, mem, 0x100000, 0x4000, RW), 0);
    struct {
        VfioAbiDirty h;
        VfioAbiDirtyGet g;
    } dg = { { sizeof dg, VFIO_ABI_DIRTY_GET_BITMAP }, { 0x100000, 0x8000, { 0x1000, 8, 0 } } };
    uint64_t bits = 0;
    dg.g.bitmap.data = (uintptr_t)&bits;
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_DIRTY_PAGES, &dg), -EINVAL);   /* not started */
    VfioAbiDirty start = { sizeof start, VFIO_ABI_DIRTY_START | VFIO_ABI_DIRTY_STOP };
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_DIRTY_PAGES, &start), -EINVAL);
    start.flags = VFIO_ABI_DIRTY_START;
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_DIRTY_PAGES, &start), 0);
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_DIRTY_PAGES, &dg), 0);
    ck_assert_uint_eq(bits, 0xf);
    munmap(mem, 1 << 21);
    fx_fini(&f);
}
END_TEST

/* Type1 v1 unmap rules: a range covering a mapping's first IOVA removes all of it. */
START_TEST(test_unmap_v1_semantics)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1_IOMMU, false);
    uint8_t *mem = mmap(NULL, 1 << 21, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_int_eq(map(&f, mem, 0x200000, 0x200000, RW), 0);
    uint64_t got = 0, total = 0;
    /* backwards page by page, as awilliam's hugepage test does: only the first page unmaps, all 2 MiB */
    for (uint64_t a = 0x3ff000; a >= 0x200000; a -= 0x1000) {
        ck_assert_int_eq(unmap(&f, a, 0x1000, 0, &got), 0);
        total += got;
        ck_assert_uint_eq(got, a == 0x200000 ? 0x200000 : 0);
    }
    ck_assert_uint_eq(total, 0x200000);
    /* v1 has no dirty tracking */
    VfioAbiDirty start = { sizeof start, VFIO_ABI_DIRTY_START };
    ck_assert_int_eq(fx_ioctl(&f, f.container, VFIO_ABI_IOMMU_DIRTY_PAGES, &start), -EACCES);
    munmap(mem, 1 << 21);
    fx_fini(&f);
}
END_TEST

/* Device DMA through the container's domain lands in the client's buffer; an unmapped IOVA faults. */
START_TEST(test_dma_into_client_memory)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    uint8_t *mem = mmap(NULL, 0x4000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_int_eq(map(&f, mem, 0x7f0000004000ull, 0x4000, RW), 0);
    PcieFn *edu = platform_find_device(platform_get(vfio_shim_sim(f.s)), "00:01.0");
    /* bus mastering is off after open: the platform drops the request */
    const char msg[] = "through the simulated VT-d";
    vfio_shim_lock(f.s);
    uint16_t cmd = (uint16_t)pcie_fn_config_read(edu, PCI_COMMAND, 2);
    ck_assert_uint_eq(cmd & PCI_COMMAND_MASTER, 0);
    pcie_fn_config_write(edu, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    ck_assert_int_eq(pcie_fn_dma_write(edu, 0x7f0000005010ull, msg, sizeof msg, NULL), PCIE_CPL_SC);
    vfio_shim_unlock(f.s);
    ck_assert_str_eq((char *)mem + 0x1010, msg);
    mem[0x3ff0] = 0x5a;
    uint8_t b = 0;
    vfio_shim_lock(f.s);
    ck_assert_int_eq(pcie_fn_dma_read(edu, 0x7f0000007ff0ull, &b, 1, NULL), PCIE_CPL_SC);
    ck_assert_uint_eq(b, 0x5a);
    ck_assert_int_ne(pcie_fn_dma_write(edu, 0x7f0000008000ull, msg, 4, NULL), PCIE_CPL_SC);
    vfio_shim_unlock(f.s);
    g_autoptr(GString) rep = g_string_new(NULL);
    vfio_shim_report_faults(f.s, rep);
    ck_assert_msg(strstr(rep->str, "[00:01.0] fault addr 0x7f0000008000"), "%s", rep->str);
    /* after unmap the same IOVA faults too */
    ck_assert_int_eq(unmap(&f, 0x7f0000004000ull, 0x4000, 0, NULL), 0);
    vfio_shim_lock(f.s);
    ck_assert_int_ne(pcie_fn_dma_read(edu, 0x7f0000007ff0ull, &b, 1, NULL), PCIE_CPL_SC);
    vfio_shim_unlock(f.s);
    munmap(mem, 0x4000);
    fx_fini(&f);
}
END_TEST

START_TEST(test_device_info_and_regions)
{
    Fx f;
    fx_setup(&f, "01:00.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    /* old 16-byte device_info */
    uint8_t old[24];
    memset(old, 0xa5, sizeof old);
    uint32_t sz = 16;
    memcpy(old, &sz, 4);
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_INFO, old), 0);
    ck_assert_uint_eq(old[16], 0xa5);
    VfioAbiDeviceInfo di;
    memcpy(&di, old, 16);
    ck_assert_uint_eq(di.flags & VFIO_ABI_DEVICE_PCI, VFIO_ABI_DEVICE_PCI);
    ck_assert_uint_eq(di.num_regions, 9);
    ck_assert_uint_eq(di.num_irqs, 5);
    VfioAbiRegionInfo ri = { sizeof ri, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &ri), 0);
    ck_assert_uint_eq(ri.size, 1 << 20);
    ck_assert_uint_eq(ri.flags, VFIO_ABI_REGION_READ | VFIO_ABI_REGION_WRITE | VFIO_ABI_REGION_MMAP);
    ri.index = 1;    /* upper half of the 64-bit BAR0 */
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &ri), 0);
    ck_assert_uint_eq(ri.size, 0);
    ri.index = 2;    /* I/O BAR: not mappable */
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &ri), 0);
    ck_assert_uint_eq(ri.flags, VFIO_ABI_REGION_READ | VFIO_ABI_REGION_WRITE);
    ck_assert_uint_eq(ri.offset, 2ull << 40);
    ri.index = VFIO_ABI_PCI_CONFIG;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &ri), 0);
    ck_assert_uint_eq(ri.size, 4096);
    ck_assert_uint_eq(ri.flags, VFIO_ABI_REGION_READ | VFIO_ABI_REGION_WRITE);
    ri.index = 9;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &ri), -EINVAL);
    /* the MSI-X BAR carries MSIX_MAPPABLE: first call too small, second gets the chain */
    VfioAbiRegionInfo r3 = { sizeof r3, 0, 3, 0, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, &r3), 0);
    ck_assert(r3.flags & VFIO_ABI_REGION_CAPS);
    ck_assert_uint_eq(r3.argsz, sizeof r3 + 8);
    ck_assert_uint_eq(r3.cap_offset, 0);
    uint8_t big[40] = { 0 };
    uint32_t a40 = 40, idx3 = 3;
    memcpy(big, &a40, 4);
    memcpy(big + 8, &idx3, 4);
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_REGION_INFO, big), 0);
    VfioAbiRegionInfo r3b;
    memcpy(&r3b, big, sizeof r3b);
    ck_assert_uint_eq(r3b.cap_offset, 32);
    VfioAbiCapHeader h;
    memcpy(&h, big + 32, sizeof h);
    ck_assert_uint_eq(h.id, VFIO_ABI_REGION_CAP_MSIX_MAPPABLE);
    ck_assert_uint_eq(h.next, 0);
    /* IRQ info */
    VfioAbiIrqInfo ii = { sizeof ii, 0, VFIO_ABI_PCI_MSIX_IRQ, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_IRQ_INFO, &ii), 0);
    ck_assert_uint_eq(ii.count, 8);
    ii.index = VFIO_ABI_PCI_MSI_IRQ;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_IRQ_INFO, &ii), 0);
    ck_assert_uint_eq(ii.count, 4);
    ii.index = 5;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_GET_IRQ_INFO, &ii), -EINVAL);
    /* hot reset info: ENOSPC with the count for a header-only buffer */
    VfioAbiHotResetInfo hr = { sizeof hr, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_HOT_RESET_INFO, &hr), -ENOSPC);
    ck_assert_uint_eq(hr.count, 1);
    /* unknown device ioctl */
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.device, VFIO_ABI_REQ(30), 0), -ENOTTY);
    /* features: VF token only on a PF; GET+SET without PROBE is EINVAL */
    VfioAbiFeature feat = { sizeof feat, VFIO_ABI_FEATURE_GET | VFIO_ABI_FEATURE_SET | 1 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_FEATURE, &feat), -EINVAL);
    feat.flags = VFIO_ABI_FEATURE_PROBE | VFIO_ABI_FEATURE_GET | 1;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_FEATURE, &feat), -ENOTTY);
    feat.flags = VFIO_ABI_FEATURE_PROBE | VFIO_ABI_FEATURE_SET | VFIO_ABI_FEATURE_PCI_VF_TOKEN;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_FEATURE, &feat), 0);
    feat.flags = 1u << 20;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_FEATURE, &feat), -EINVAL);
    fx_fini(&f);
}
END_TEST

START_TEST(test_config_virtualization)
{
    Fx f;
    fx_setup(&f, "01:00.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    const uint64_t cfg = (uint64_t)VFIO_ABI_PCI_CONFIG << 40;
    uint32_t v = 0;
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, cfg), 4);
    ck_assert_uint_eq(v, 0x15728086);
    v = 0x12345678;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &v, 4, cfg), 4);   /* IDs are read-only */
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, cfg), 4);
    ck_assert_uint_eq(v, 0x15728086);
    /* BAR sizing works on the virtual copy; the device keeps its address */
    PcieFn *nic = platform_find_device(platform_get(vfio_shim_sim(f.s)), "nic");
    uint64_t hw_bar = pcie_fn_bar_addr(nic, 0);
    v = 0xffffffff;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &v, 4, cfg + 0x10), 4);
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, cfg + 0x10), 4);
    ck_assert_uint_eq(v, 0xfff00004);    /* 1 MiB, 64-bit memory */
    ck_assert_uint_eq(pcie_fn_bar_addr(nic, 0), hw_bar);
    /* unaligned multi-byte reads are split; out of range is EINVAL */
    uint8_t bytes[6];
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, bytes, 6, cfg + 1), 6);
    ck_assert_uint_eq(bytes[0], 0x80);
    ck_assert_uint_eq(bytes[1], 0x72);
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, bytes, 4, cfg + 4094), -EINVAL);
    /* BAR0 reads reach the device at its real address */
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, 0), 4);
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, 1 << 20), -EINVAL);
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, 6ull << 40), -EINVAL);   /* no ROM */
    /* the MSI-X table reads as all ones through pread */
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &v, 4, 3ull << 40), 4);
    ck_assert_uint_eq(v, 0xffffffff);
    /* mmap: private and non-BAR refused */
    int err = 0;
    ck_assert_ptr_eq(vfio_shim_mmap(f.s, NULL, 4096, PROT_READ, MAP_PRIVATE, f.device, 0, &err), MAP_FAILED);
    ck_assert_int_eq(err, EINVAL);
    ck_assert_ptr_eq(vfio_shim_mmap(f.s, NULL, 4096, PROT_READ, MAP_SHARED, f.device, cfg, &err), MAP_FAILED);
    ck_assert_ptr_eq(vfio_shim_mmap(f.s, NULL, 2 << 20, PROT_READ, MAP_SHARED, f.device, 0, &err), MAP_FAILED);
    fx_fini(&f);
}
END_TEST

static bool efd_count(int efd, uint64_t *n)
{
    return read(efd, n, 8) == 8;
}

/* MSI from edu -> interrupt remapping -> the bound eventfd; loopback; disable. */
START_TEST(test_msi_to_eventfd)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct {
        VfioAbiIrqSet s;
        int32_t fd;
    } set = { { sizeof set, VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                VFIO_ABI_PCI_MSI_IRQ, 0, 1 }, efd };
    /* malformed requests */
    set.s.flags = VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_DATA_BOOL | VFIO_ABI_IRQ_SET_ACTION_TRIGGER;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EINVAL);
    set.s.flags = VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_ACTION_TRIGGER;
    set.s.count = 2;    /* edu has one MSI vector */
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EINVAL);
    set.s.count = 1;
    set.s.argsz = 20;   /* no room for the fd */
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EINVAL);
    set.s.argsz = sizeof set;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), 0);
    /* an MSI is a memory write: the user enables bus mastering, as every driver does */
    uint16_t cmd = 0;
    const uint64_t cfg = (uint64_t)VFIO_ABI_PCI_CONFIG << 40;
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, &cmd, 2, cfg + 4), 2);
    cmd |= PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &cmd, 2, cfg + 4), 2);
    uint64_t n = 0;
    ck_assert(!efd_count(efd, &n));    /* nothing spurious */
    /* the device raises its interrupt through its BAR; it arrives remapped */
    uint32_t raise = 1;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &raise, 4, 0x60), 4);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(efd_count(efd, &n));
    ck_assert_uint_eq(n, 1);
    const GArray *log = platform_irq_log(platform_get(vfio_shim_sim(f.s)));
    const PlatformIrq *last = &g_array_index(log, PlatformIrq, log->len - 1);
    ck_assert_int_eq(last->path, PLATFORM_IRQ_REMAPPED);
    ck_assert_uint_eq(last->rid, 0x0008);
    /* loopback trigger */
    VfioAbiIrqSet loop = { sizeof loop, VFIO_ABI_IRQ_SET_DATA_NONE | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                           VFIO_ABI_PCI_MSI_IRQ, 0, 1 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &loop), 0);
    ck_assert(efd_count(efd, &n));
    /* MSI-X while MSI is active: EINVAL; masking is INTx-only */
    VfioAbiIrqSet mask = { sizeof mask, VFIO_ABI_IRQ_SET_DATA_NONE | VFIO_ABI_IRQ_SET_ACTION_MASK,
                           VFIO_ABI_PCI_MSI_IRQ, 0, 1 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &mask), -EINVAL);
    /* disable, then the device's interrupt no longer reaches the eventfd */
    VfioAbiIrqSet off = { sizeof off, VFIO_ABI_IRQ_SET_DATA_NONE | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                          VFIO_ABI_PCI_MSI_IRQ, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &off), 0);
    uint32_t ack = 1;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &ack, 4, 0x64), 4);
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &raise, 4, 0x60), 4);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(!efd_count(efd, &n));
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &loop), -EINVAL);
    close(efd);
    fx_fini(&f);
}
END_TEST

/* Bad pointers and bad fds from the client become errnos, as copy_from_user and eventfd_ctx_fdget give them. */
START_TEST(test_bad_client_pointers)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.group, VFIO_ABI_GROUP_GET_STATUS, 0), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.group, VFIO_ABI_GROUP_GET_STATUS, 0x1000), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.group, VFIO_ABI_GROUP_SET_CONTAINER, 8), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.group, VFIO_ABI_GROUP_GET_DEVICE_FD, 16), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.container, VFIO_ABI_IOMMU_MAP_DMA, 24), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.device, VFIO_ABI_DEVICE_GET_INFO, 0), -EFAULT);
    /* an argument in read-only memory: fine to read (MAP_DMA), EFAULT where results are written back */
    uint8_t *ro = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    VfioAbiDeviceInfo di = { sizeof di, 0, 0, 0, 0, 0 };
    memcpy(ro, &di, sizeof di);
    VfioAbiDmaMap m = { sizeof m, RW, (uintptr_t)ro + 4096, 0x100000, 4096 };
    memcpy(ro + 64, &m, sizeof m);
    mprotect(ro, 4096, PROT_READ);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.device, VFIO_ABI_DEVICE_GET_INFO, (unsigned long)ro), -EFAULT);
    ck_assert_int_eq(vfio_shim_ioctl(f.s, f.container, VFIO_ABI_IOMMU_MAP_DMA, (unsigned long)(ro + 64)), 0);
    /* a device name without a NUL in the first page */
    char *nonul = g_malloc(8192);
    memset(nonul, 'x', 8192);
    ck_assert_int_eq(fx_ioctl(&f, f.group, VFIO_ABI_GROUP_GET_DEVICE_FD, nonul), -EINVAL);
    g_free(nonul);
    /* a writable mapping of read-only memory, and of PROT_NONE memory: EFAULT, as pinning fails */
    ck_assert_int_eq(map(&f, ro, 0x200000, 4096, RW), -EFAULT);
    ck_assert_int_eq(map(&f, ro, 0x200000, 4096, VFIO_ABI_DMA_MAP_READ), 0);
    mprotect(ro + 4096, 4096, PROT_NONE);
    ck_assert_int_eq(map(&f, ro + 4096, 0x300000, 4096, VFIO_ABI_DMA_MAP_READ), -EFAULT);
    /* eventfds: not open -> EBADF, not an eventfd -> EINVAL */
    int notev = fx_fd();
    struct {
        VfioAbiIrqSet s;
        int32_t fd;
    } set = { { sizeof set, VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                VFIO_ABI_PCI_MSI_IRQ, 0, 1 }, notev };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EINVAL);
    set.s.index = VFIO_ABI_PCI_ERR_IRQ;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EINVAL);
    close(notev);
    set.fd = notev;
    set.s.index = VFIO_ABI_PCI_INTX_IRQ;
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), -EBADF);
    munmap(ro, 8192);
    fx_fini(&f);
}
END_TEST

/* Type1 maps a BAR mmap of a VFIO device peer-to-peer: another device's DMA reaches its registers. */
START_TEST(test_p2p_bar_mapping)
{
    Fx f;
    fx_setup(&f, "01:00.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    g_autofree char *gp = g_strdup_printf("/dev/vfio/%d", group_of(&f, "00:01.0"));
    int eg = fx_open(&f, gp);
    ck_assert_int_ge(eg, 0);
    ck_assert_int_eq(fx_ioctl(&f, eg, VFIO_ABI_GROUP_SET_CONTAINER, &f.container), 0);
    const uint64_t cfg = (uint64_t)VFIO_ABI_PCI_CONFIG << 40;
    uint16_t cmd = PCI_COMMAND_MEMORY;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &cmd, 2, cfg + 4), 2);
    int err = 0;
    void *bar = vfio_shim_mmap(f.s, NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, f.device, 0, &err);
    ck_assert_ptr_ne(bar, MAP_FAILED);
    ck_assert_int_eq(map(&f, bar, 0x40000000, 4096, RW), 0);
    PcieFn *edu = platform_find_device(platform_get(vfio_shim_sim(f.s)), "edu");
    vfio_shim_lock(f.s);
    pcie_fn_config_write(edu, PCI_COMMAND, 2, PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY);
    ck_assert_int_eq(pcie_fn_dma_write(edu, 0x40000010, "p2p!", 4, NULL), PCIE_CPL_SC);
    vfio_shim_unlock(f.s);
    char got[5] = { 0 };
    ck_assert_int_eq(vfio_shim_pread(f.s, f.device, got, 4, 0x10), 4);
    ck_assert_str_eq(got, "p2p!");
    /* the BAR mmap outlives the device fd, as with the kernel: it still reaches the device */
    vfio_shim_close(f.s, f.device);
    close(f.device);
    f.device = -1;
    /* valgrind reports the trapped load itself as invalid before the SIGSEGV it emulates */
    const char *pre = g_getenv("LD_PRELOAD");
    if (!pre || !strstr(pre, "vgpreload")) {
        uint32_t word = *(volatile uint32_t *)((uint8_t *)bar + 0x10);
        ck_assert_int_eq(memcmp(&word, "p2p!", 4), 0);
    }
    ck_assert(vfio_shim_munmap(f.s, bar, 4096));
    munmap(bar, 4096);
    vfio_shim_close(f.s, eg);
    close(eg);
    fx_fini(&f);
}
END_TEST

/* INTx: IOAPIC input -> remapped IRTE (IOAPIC source ID) -> eventfd; automasked until unmasked. */
START_TEST(test_intx_through_ioapic)
{
    Fx f;
    fx_setup(&f, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct {
        VfioAbiIrqSet s;
        int32_t fd;
    } set = { { sizeof set, VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                VFIO_ABI_PCI_INTX_IRQ, 0, 1 }, efd };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), 0);
    uint32_t one = 1;
    uint64_t n = 0;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &one, 4, 0x60), 4);    /* edu raises INTx */
    vfio_shim_advance(f.s, 1000000);
    ck_assert(efd_count(efd, &n));
    const GArray *log = platform_irq_log(platform_get(vfio_shim_sim(f.s)));
    const PlatformIrq *last = &g_array_index(log, PlatformIrq, log->len - 1);
    ck_assert_int_eq(last->path, PLATFORM_IRQ_REMAPPED);
    ck_assert_int_eq(last->source, PLATFORM_IRQ_SRC_IOAPIC);
    ck_assert_uint_eq(last->rid, PLATFORM_IOAPIC_SID);
    ck_assert_int_ge(last->irte, 0);
    guint delivered = log->len;
    /* automasked: the device keeps asserting, nothing more arrives */
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &one, 4, 0x60), 4);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(!efd_count(efd, &n));
    /* unmask with the line still asserted: it fires again */
    VfioAbiIrqSet unmask = { sizeof unmask, VFIO_ABI_IRQ_SET_DATA_NONE | VFIO_ABI_IRQ_SET_ACTION_UNMASK,
                             VFIO_ABI_PCI_INTX_IRQ, 0, 1 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &unmask), 0);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(efd_count(efd, &n));
    ck_assert_uint_gt(log->len, delivered);
    /* automasked again; now something nobody owns asserts the same IOAPIC input: no claim, no storm */
    ck_assert(!efd_count(efd, &n));
    PcieFn *edu = platform_find_device(platform_get(vfio_shim_sim(f.s)), "edu");
    unsigned gsi = platform_intx_gsi(edu, 1);
    vfio_shim_lock(f.s);
    uint64_t before = platform_irq_count(platform_get(vfio_shim_sim(f.s)));
    platform_irq_set_gsi(platform_get(vfio_shim_sim(f.s)), gsi, true);
    ck_assert_uint_eq(platform_irq_count(platform_get(vfio_shim_sim(f.s))), before + 1);
    vfio_shim_unlock(f.s);
    ck_assert(!efd_count(efd, &n));
    /* the unmask sends the held-back EOI: the edu's pending interrupt arrives */
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &unmask), 0);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(efd_count(efd, &n));
    vfio_shim_lock(f.s);
    platform_irq_set_gsi(platform_get(vfio_shim_sim(f.s)), gsi, false);
    vfio_shim_unlock(f.s);
    /* acknowledged at the device and unmasked: quiet */
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &one, 4, 0x64), 4);
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &unmask), 0);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(!efd_count(efd, &n));
    /* disabled: the IOAPIC entry is masked again */
    VfioAbiIrqSet off = { sizeof off, VFIO_ABI_IRQ_SET_DATA_NONE | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                          VFIO_ABI_PCI_INTX_IRQ, 0, 0 };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &off), 0);
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &one, 4, 0x60), 4);
    vfio_shim_advance(f.s, 1000000);
    ck_assert(!efd_count(efd, &n));
    close(efd);
    fx_fini(&f);
}
END_TEST

/* Multi-message MSI: message i of the function reaches eventfd i, through one block of IRTEs. */
START_TEST(test_msi_multi_message)
{
    Fx f;
    fx_setup(&f, "01:00.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    int efd[3];
    struct {
        VfioAbiIrqSet s;
        int32_t fd[3];
    } set = { { sizeof set, VFIO_ABI_IRQ_SET_DATA_EVENTFD | VFIO_ABI_IRQ_SET_ACTION_TRIGGER,
                VFIO_ABI_PCI_MSI_IRQ, 0, 3 }, { 0 } };
    for (unsigned i = 0; i < 3; i++) {
        efd[i] = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        set.fd[i] = efd[i];
    }
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_SET_IRQS, &set), 0);
    const uint64_t cfg = (uint64_t)VFIO_ABI_PCI_CONFIG << 40;
    uint16_t cmd = PCI_COMMAND_MASTER | PCI_COMMAND_MEMORY;
    ck_assert_int_eq(vfio_shim_pwrite(f.s, f.device, &cmd, 2, cfg + 4), 2);
    PcieFn *nic = platform_find_device(platform_get(vfio_shim_sim(f.s)), "nic");
    uint8_t msi = pcie_fn_find_cap(nic, PCI_CAP_ID_MSI);
    /* three vectors asked for: Multiple Message Enable says four */
    ck_assert_uint_eq((pcie_fn_config_read(nic, (uint16_t)(msi + 2), 2) >> 4) & 7, 2);
    for (unsigned v = 0; v < 3; v++) {
        vfio_shim_lock(f.s);
        pcie_fn_msi_notify(nic, 2 - v);
        vfio_shim_unlock(f.s);
        vfio_shim_advance(f.s, 1000000);
        for (unsigned i = 0; i < 3; i++) {
            uint64_t n = 0;
            ck_assert_msg(efd_count(efd[i], &n) == (i == 2 - v), "message %u, eventfd %u", 2 - v, i);
        }
        const GArray *log = platform_irq_log(platform_get(vfio_shim_sim(f.s)));
        ck_assert_int_eq(g_array_index(log, PlatformIrq, log->len - 1).path, PLATFORM_IRQ_REMAPPED);
    }
    for (unsigned i = 0; i < 3; i++) {
        close(efd[i]);
    }
    fx_fini(&f);
}
END_TEST

/* The VF token: once the PF's token is set, a VF opens only with it. */
START_TEST(test_vf_token)
{
    Fx f;
    fx_setup(&f, "01:00.0", VFIO_ABI_TYPE1v2_IOMMU, true);
    PcieFn *nic = platform_find_device(platform_get(vfio_shim_sim(f.s)), "nic");
    uint16_t sriov = pcie_fn_find_ext_cap(nic, 0x10);
    vfio_shim_lock(f.s);
    pcie_fn_config_write(nic, (uint16_t)(sriov + 0x10), 2, 1);      /* NumVFs */
    pcie_fn_config_write(nic, (uint16_t)(sriov + 0x08), 2, 0x9);    /* VF Enable + VF MSE */
    vfio_shim_unlock(f.s);
    PcieFn *vf = pcie_fn_vf(nic, 0);
    ck_assert_ptr_nonnull(vf);
    struct {
        VfioAbiFeature h;
        uint8_t uuid[16];
    } tok = { { sizeof tok, VFIO_ABI_FEATURE_SET | VFIO_ABI_FEATURE_PCI_VF_TOKEN },
              { 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00 } };
    ck_assert_int_eq(fx_ioctl(&f, f.device, VFIO_ABI_DEVICE_FEATURE, &tok), 0);
    uint16_t rid = pcie_fn_rid(vf);
    g_autofree char *name = g_strdup_printf("0000:%02x:%02x.%d", PCIE_BUS(rid), PCIE_DEV(rid), PCIE_FN(rid));
    int vgid = vfio_shim_group_of(f.s, name);
    ck_assert_int_ge(vgid, 0);
    ck_assert_int_ne(vgid, f.group_id);
    g_autofree char *gp = g_strdup_printf("/dev/vfio/%d", vgid);
    int vg = fx_open(&f, gp);
    ck_assert_int_ge(vg, 0);
    ck_assert_int_eq(fx_ioctl(&f, vg, VFIO_ABI_GROUP_SET_CONTAINER, &f.container), 0);
    ck_assert_int_eq(fx_ioctl(&f, vg, VFIO_ABI_GROUP_GET_DEVICE_FD, name), -EACCES);
    g_autofree char *wrong = g_strdup_printf("%s vf_token=00000000-0000-0000-0000-000000000001", name);
    ck_assert_int_eq(fx_ioctl(&f, vg, VFIO_ABI_GROUP_GET_DEVICE_FD, wrong), -EACCES);
    g_autofree char *right = g_strdup_printf("%s vf_token=11223344-5566-7788-99aa-bbccddeeff00", name);
    int vd = (int)fx_ioctl(&f, vg, VFIO_ABI_GROUP_GET_DEVICE_FD, right);
    ck_assert_int_ge(vd, 0);
    /* the VF's IDs: PF vendor, VF Device ID */
    uint32_t ids = 0;
    ck_assert_int_eq(vfio_shim_pread(f.s, vd, &ids, 4, (uint64_t)VFIO_ABI_PCI_CONFIG << 40), 4);
    ck_assert_uint_eq(ids, 0x154c8086);
    vfio_shim_close(f.s, vd);
    close(vd);
    vfio_shim_close(f.s, vg);
    close(vg);
    fx_fini(&f);
}
END_TEST

static Suite *vfio_shim_suite(void)
{
    Suite *s = suite_create("vfio_shim");
    TCase *tc = tcase_create("uapi");
    tcase_add_test(tc, test_paths);
    tcase_add_test(tc, test_container_and_group_errnos);
    tcase_add_test(tc, test_iommu_info_chain);
    tcase_add_test(tc, test_map_errnos);
    tcase_add_test(tc, test_unmap_v1_semantics);
    tcase_add_test(tc, test_dma_into_client_memory);
    tcase_add_test(tc, test_device_info_and_regions);
    tcase_add_test(tc, test_config_virtualization);
    tcase_add_test(tc, test_msi_to_eventfd);
    tcase_add_test(tc, test_bad_client_pointers);
    tcase_add_test(tc, test_p2p_bar_mapping);
    tcase_add_test(tc, test_intx_through_ioapic);
    tcase_add_test(tc, test_msi_multi_message);
    tcase_add_test(tc, test_vf_token);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(vfio_shim_suite)
