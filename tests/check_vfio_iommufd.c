/*
 * The VFIO shim's iommufd side against the uAPI contract (vfio.md §1.4,
 * §1.5, §2.b): the generic size/E2BIG/ENOTTY rules of /dev/iommu, every
 * command's errno rows (IOAS alloc/map/unmap/copy/ranges/allow, options,
 * the compat IOAS, HWPT alloc, hardware info, invalidation, destroy with
 * objects in use), the cdev device path (bind, attach, replace, detach,
 * every ioctl refused before bind, devid hot-reset info), the iommufd VFIO
 * compat container (type1v2 and type1 semantics), and the end-to-end
 * paths: a device's DMA through an IOAS lands in the client's buffer or
 * becomes a VT-d fault record, and the same through a nested HWPT whose
 * stage-1 table lives in client memory, with HWPT_INVALIDATE reaching the
 * unit's invalidation queue.  The shim is driven directly, with /dev/null
 * fds standing in for the client's fds as the preload layer does.
 */
#define _GNU_SOURCE
#include "check_util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vfio/shim_internal.h"
#include "vfio/sysfs.h"
#include "vtdsim/platform.h"

/* A legacy-only unit (xeon preset: no ECAP.SMTS). */
static const char *const legacy_platform =
    "[platform]\nname = iofd\nram = 256M\nfirmware = full\n"
    "[device edu]\ntype = edu\nbdf = 00:01.0\n"
    "[device rp0]\ntype = root-port\nbdf = 00:1c.0\nacs = true\n"
    "[device nic]\ntype = endpoint\nparent = rp0\nvendor = 0x8086\ndevice = 0x1572\nclass = 0x020000\n"
    "bar0 = mem64:1M\nbar3 = mem64:16K\nmsix = 8\nmsix-bar = 3\n"
    "sriov-total-vfs = 2\nsriov-offset = 1\nsriov-stride = 1\nsriov-vf-device = 0x154c\n"
    "sriov-vf-bar0 = mem64:64K\nsriov-vf-bar3 = mem64:16K\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n";

/* The same with a scalable-mode unit that can nest (the shim then runs it in scalable mode). */
static const char *const nesting_platform =
    "[platform]\nname = iofd-sm\nram = 256M\nfirmware = full\n"
    "[device edu]\ntype = edu\nbdf = 00:01.0\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n"
    "ecap.SMTS = 1\necap.FSTS = 1\necap.SSTS = 1\necap.NEST = 1\necap.PASID = 1\necap.PSS = 19\n"
    "ecap.SRS = 1\necap.SSADS = 1\n";

typedef struct Ix {
    VfioShim *s;
    int iommufd, cdev;
    uint32_t devid;
    PcieFn *fn;
} Ix;

static int ix_fd(void)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    ck_assert_int_ge(fd, 0);
    return fd;
}

static int ix_open(Ix *x, const char *path)
{
    int fd = ix_fd();
    int r = vfio_shim_open(x->s, path, fd);
    if (r < 0) {
        close(fd);
        errno = -r;
        return -1;
    }
    return fd;
}

static void ix_close(Ix *x, int fd)
{
    vfio_shim_close(x->s, fd);
    close(fd);
}

static long io(Ix *x, unsigned long req, void *arg)
{
    return vfio_shim_ioctl(x->s, x->iommufd, req, (unsigned long)arg);
}

static long dv(Ix *x, unsigned long req, void *arg)
{
    return vfio_shim_ioctl(x->s, x->cdev, req, (unsigned long)arg);
}

/* /dev/iommu and the cdev of @bdf open, nothing bound. */
static void ix_init(Ix *x, const char *text, const char *bdf)
{
    memset(x, 0, sizeof *x);
    g_autoptr(GError) err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(text, "iofd.platform", &err);
    ck_assert_msg(sim, "%s", err ? err->message : "");
    x->s = vfio_shim_new(sim, &err);
    ck_assert_msg(x->s, "%s", err ? err->message : "");
    x->fn = platform_find_device(platform_get(sim), bdf);
    ck_assert_ptr_nonnull(x->fn);
    x->iommufd = ix_open(x, "/dev/iommu");
    ck_assert_int_ge(x->iommufd, 0);
    g_autofree char *path = g_strdup_printf("/dev/vfio/devices/vfio%d", vfio_sysfs_cdev_index(sim, x->fn));
    x->cdev = ix_open(x, path);
    ck_assert_int_ge(x->cdev, 0);
}

static void ix_bind(Ix *x)
{
    VfioAbiBindIommufd b = { sizeof b, 0, x->iommufd, 0, 0 };
    ck_assert_int_eq(dv(x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), 0);
    ck_assert_uint_ne(b.out_devid, 0);
    x->devid = b.out_devid;
}

static void ix_fini(Ix *x)
{
    if (x->cdev >= 0) {
        ix_close(x, x->cdev);
    }
    if (x->iommufd >= 0) {
        ix_close(x, x->iommufd);
    }
    vfio_shim_free(x->s);
}

static uint32_t ioas_alloc(Ix *x)
{
    IommuAbiIoasAlloc a = { sizeof a, 0, 0 };
    ck_assert_int_eq(io(x, IOMMU_ABI_IOAS_ALLOC, &a), 0);
    return a.out_ioas_id;
}

static long attach(Ix *x, uint32_t pt, uint32_t *out)
{
    VfioAbiAttachPt a = { sizeof a, 0, pt, 0 };
    long r = dv(x, VFIO_ABI_DEVICE_ATTACH_PT, &a);
    if (out) {
        *out = a.pt_id;
    }
    return r;
}

#define RWF (IOMMU_ABI_MAP_READABLE | IOMMU_ABI_MAP_WRITEABLE)

static long map_fixed(Ix *x, uint32_t ioas, void *va, uint64_t iova, uint64_t len)
{
    IommuAbiIoasMap m = { sizeof m, RWF | IOMMU_ABI_MAP_FIXED_IOVA, ioas, 0, (uintptr_t)va, len, iova };
    return io(x, IOMMU_ABI_IOAS_MAP, &m);
}

static long unmap(Ix *x, uint32_t ioas, uint64_t iova, uint64_t len, uint64_t *out)
{
    IommuAbiIoasUnmap u = { sizeof u, ioas, iova, len };
    long r = io(x, IOMMU_ABI_IOAS_UNMAP, &u);
    if (out) {
        *out = u.length;
    }
    return r;
}

static long destroy(Ix *x, uint32_t id)
{
    IommuAbiDestroy d = { sizeof d, id };
    return io(x, IOMMU_ABI_DESTROY, &d);
}

/* A DMA write of @len bytes by @fn at @iova, with Bus Master on; TRUE when it completed. */
static bool dma_write(Ix *x, uint64_t iova, const void *buf, uint32_t len)
{
    vfio_shim_lock(x->s);
    uint16_t cmd = (uint16_t)pcie_fn_config_read(x->fn, PCI_COMMAND, 2);
    pcie_fn_config_write(x->fn, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    bool ok = pcie_fn_dma_write(x->fn, iova, buf, len, NULL) == PCIE_CPL_SC;
    vfio_shim_unlock(x->s);
    return ok;
}

static bool dma_read(Ix *x, uint64_t iova, void *buf, uint32_t len)
{
    vfio_shim_lock(x->s);
    uint16_t cmd = (uint16_t)pcie_fn_config_read(x->fn, PCI_COMMAND, 2);
    pcie_fn_config_write(x->fn, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    bool ok = pcie_fn_dma_read(x->fn, iova, buf, len, NULL) == PCIE_CPL_SC;
    vfio_shim_unlock(x->s);
    return ok;
}

static void *anon(size_t len)
{
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    return p;
}

START_TEST(test_abi_numbers)
{
    /* request values as vfio.md §1.1/§1.5 list them (sizes are pinned by static_assert in the header) */
    ck_assert_uint_eq(IOMMU_ABI_DESTROY, 0x3b80);
    ck_assert_uint_eq(IOMMU_ABI_IOAS_MAP, 0x3b85);
    ck_assert_uint_eq(IOMMU_ABI_HWPT_ALLOC, 0x3b89);
    ck_assert_uint_eq(IOMMU_ABI_GET_HW_INFO, 0x3b8a);
    ck_assert_uint_eq(IOMMU_ABI_HWPT_INVALIDATE, 0x3b8d);
    ck_assert_uint_eq(IOMMU_ABI_FAULT_QUEUE_ALLOC, 0x3b8e);
    ck_assert_uint_eq(VFIO_ABI_DEVICE_BIND_IOMMUFD, 0x3b76);
    ck_assert_uint_eq(VFIO_ABI_DEVICE_ATTACH_PT, 0x3b77);
    ck_assert_uint_eq(VFIO_ABI_DEVICE_DETACH_PT, 0x3b78);
    int n = -1;
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/devices/vfio12", &n), VFIO_PATH_CDEV);
    ck_assert_int_eq(n, 12);
    ck_assert_int_eq(vfio_shim_path_kind("/dev/vfio/devices/vfiox", NULL), VFIO_PATH_NONE);
}
END_TEST

START_TEST(test_generic_rules)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    /* size below the minimum */
    IommuAbiIoasAlloc a = { 8, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOC, &a), -EINVAL);
    /* a larger struct: zero tail accepted, non-zero tail E2BIG */
    struct {
        IommuAbiIoasAlloc a;
        uint32_t tail[3];
    } big = { { sizeof big, 0, 0 }, { 0, 0, 0 } };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOC, &big), 0);
    ck_assert_uint_eq(big.a.out_ioas_id, 1);
    big.tail[2] = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOC, &big), -E2BIG);
    /* unknown flags: EOPNOTSUPP; unknown and later commands: ENOTTY */
    a = (IommuAbiIoasAlloc){ sizeof a, 1, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOC, &a), -EOPNOTSUPP);
    uint32_t dummy[16] = { 64 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_REQ(0x0f), dummy), -ENOTTY);
    ck_assert_int_eq(io(&x, IOMMU_ABI_REQ(0x20), dummy), -ENOTTY);
    /* a VFIO container ioctl without a compat IOAS */
    ck_assert_int_eq(io(&x, VFIO_ABI_GET_API_VERSION, NULL), 0);
    VfioAbiType1Info ti = { sizeof ti, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, VFIO_ABI_IOMMU_GET_INFO, &ti), -ENODEV);
    ck_assert_int_eq(io(&x, VFIO_ABI_IOMMU_DIRTY_PAGES, &ti), -ENOTTY);
    /* a fault queue is not simulated */
    IommuAbiFaultAlloc fa = { sizeof fa, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_FAULT_QUEUE_ALLOC, &fa), -EOPNOTSUPP);
    ix_fini(&x);
}
END_TEST

START_TEST(test_cdev_bind_attach)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    /* unknown cdev numbers do not open */
    errno = 0;
    ck_assert_int_eq(ix_open(&x, "/dev/vfio/devices/vfio999"), -1);
    ck_assert_int_eq(errno, ENOENT);
    /* every device ioctl before BIND fails with EINVAL */
    VfioAbiDeviceInfo di = { sizeof di, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_GET_INFO, &di), -EINVAL);
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_RESET, NULL), -EINVAL);
    ck_assert_int_eq(attach(&x, 1, NULL), -EINVAL);
    VfioAbiDetachPt dt = { sizeof dt, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), -EINVAL);
    uint64_t cfg = (uint64_t)VFIO_ABI_PCI_CONFIG << VFIO_ABI_PCI_OFFSET_SHIFT;
    uint32_t ids;
    ck_assert_int_eq(vfio_shim_pread(x.s, x.cdev, &ids, 4, cfg), -EINVAL);
    int merr = 0;
    ck_assert_ptr_eq(vfio_shim_mmap(x.s, NULL, 0x1000, PROT_READ, MAP_SHARED, x.cdev, 0, &merr), MAP_FAILED);
    ck_assert_int_eq(merr, EINVAL);
    /* BIND: bad fd, a real fd that is not an iommufd, bad flags, short argsz */
    VfioAbiBindIommufd b = { sizeof b, 0, -2, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), -EBADF);
    int other = ix_fd();
    b.iommufd = other;
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), -EBADFD);
    close(other);
    b = (VfioAbiBindIommufd){ sizeof b, 4, x.iommufd, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
    b = (VfioAbiBindIommufd){ 12, 0, x.iommufd, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), -EINVAL);
    /* the old 16-byte struct (before the token field) binds */
    b = (VfioAbiBindIommufd){ 16, 0, x.iommufd, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), 0);
    x.devid = b.out_devid;
    ck_assert_uint_ne(x.devid, 0);
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_BIND_IOMMUFD, &b), -EINVAL);   /* second bind */
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_GET_INFO, &di), 0);
    ck_assert_uint_eq(di.num_regions, 9);
    ck_assert_int_eq(vfio_shim_pread(x.s, x.cdev, &ids, 4, cfg), 4);
    /* a second cdev fd of the same device cannot bind while the first is */
    g_autofree char *path = g_strdup_printf("/dev/vfio/devices/vfio%d",
                                            vfio_sysfs_cdev_index(vfio_shim_sim(x.s), x.fn));
    int c2 = ix_open(&x, path);
    ck_assert_int_ge(c2, 0);
    b = (VfioAbiBindIommufd){ sizeof b, 0, x.iommufd, 0, 0 };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, c2, VFIO_ABI_DEVICE_BIND_IOMMUFD, (unsigned long)&b), -EBUSY);
    ix_close(&x, c2);
    /* ATTACH: unknown ids, a device id, flags; an IOAS gives an automatic HWPT */
    ck_assert_int_eq(attach(&x, UINT32_MAX, NULL), -ENOENT);
    ck_assert_int_eq(attach(&x, x.devid, NULL), -ENOENT);
    VfioAbiAttachPt ap = { sizeof ap, 2, 1, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_ATTACH_PT, &ap), -EINVAL);
    ap = (VfioAbiAttachPt){ 8, 0, 1, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_ATTACH_PT, &ap), -EINVAL);
    ap = (VfioAbiAttachPt){ sizeof ap, VFIO_ABI_ATTACH_PASID, 1, 1 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_ATTACH_PT, &ap), -EOPNOTSUPP);
    uint32_t ioas = ioas_alloc(&x), hwpt = 0, hwpt2 = 0;
    ck_assert_int_eq(attach(&x, ioas, &hwpt), 0);
    ck_assert_uint_ne(hwpt, ioas);
    ck_assert_uint_ne(hwpt, 0);
    ck_assert_int_eq(attach(&x, ioas, &hwpt2), 0);
    ck_assert_uint_eq(hwpt2, hwpt);
    /* re-attach to another IOAS replaces; the old automatic HWPT goes */
    uint32_t ioas2 = ioas_alloc(&x), hwpt3 = 0;
    ck_assert_int_eq(attach(&x, ioas2, &hwpt3), 0);
    ck_assert_uint_ne(hwpt3, hwpt);
    ck_assert_int_eq(destroy(&x, hwpt), -ENOENT);
    ck_assert_int_eq(destroy(&x, ioas), 0);
    /* detach, then the second automatic HWPT goes too */
    dt = (VfioAbiDetachPt){ sizeof dt, 1, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), -EOPNOTSUPP);
    dt = (VfioAbiDetachPt){ sizeof dt, 2, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), -EINVAL);
    dt = (VfioAbiDetachPt){ sizeof dt, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), 0);
    ck_assert_int_eq(destroy(&x, hwpt3), -ENOENT);
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), 0);        /* detached already: no-op */
    ix_fini(&x);
}
END_TEST

START_TEST(test_ioas_map_unmap)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    uint8_t *mem = anon(0x10000);
    /* argument errors */
    IommuAbiIoasMap m = { sizeof m, RWF | IOMMU_ABI_MAP_FIXED_IOVA | 8, ioas, 0, (uintptr_t)mem, 0x1000, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -EOPNOTSUPP);
    m.flags = RWF | IOMMU_ABI_MAP_FIXED_IOVA;
    m.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -EOPNOTSUPP);
    m.reserved = 0;
    m.ioas_id = 77;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -ENOENT);
    m.ioas_id = x.devid;    /* a device id is not an IOAS */
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -ENOENT);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x100000, 0), -EINVAL);
    m = (IommuAbiIoasMap){ sizeof m, IOMMU_ABI_MAP_FIXED_IOVA, ioas, 0, (uintptr_t)mem, 0x1000, 0x100000 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -EINVAL);                 /* no permission */
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x100800, 0x1000), -EINVAL);    /* misaligned */
    ck_assert_int_eq(map_fixed(&x, ioas, mem, UINT64_MAX - 0xfff, 0x2000), -EOVERFLOW);
    ck_assert_int_eq(map_fixed(&x, ioas, (void *)0x1000, 0x100000, 0x1000), -EFAULT);
    /* a fresh IOAS has no reserved regions: the interrupt window maps until a device is attached */
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0xfee00000, 0x1000), 0);
    ck_assert_int_eq(attach(&x, ioas, NULL), -EADDRINUSE);
    ck_assert_int_eq(unmap(&x, ioas, 0xfee00000, 0x1000, NULL), 0);
    uint32_t hwpt;
    ck_assert_int_eq(attach(&x, ioas, &hwpt), 0);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0xfee00000, 0x1000), -EINVAL);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 1ull << 50, 0x1000), -EINVAL);  /* above MGAW */
    /* map, overlap, and the DMA lands in the client's buffer */
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x100000, 0x8000), 0);
    ck_assert_int_eq(map_fixed(&x, ioas, mem + 0x8000, 0x107000, 0x2000), -EEXIST);
    ck_assert_int_eq(map_fixed(&x, ioas, mem + 0x8000, 0x108000, 0x8000), 0);
    const char msg[] = "through an IOAS";
    ck_assert(dma_write(&x, 0x101010, msg, sizeof msg));
    ck_assert_str_eq((char *)mem + 0x1010, msg);
    mem[0xfff0] = 0xa5;
    uint8_t b = 0;
    ck_assert(dma_read(&x, 0x10fff0, &b, 1));
    ck_assert_uint_eq(b, 0xa5);
    /* read-only mapping: the device's write faults */
    uint8_t *ro = anon(0x1000);
    m = (IommuAbiIoasMap){ sizeof m, IOMMU_ABI_MAP_READABLE | IOMMU_ABI_MAP_FIXED_IOVA, ioas, 0, (uintptr_t)ro,
                           0x1000, 0x200000 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), 0);
    ck_assert(!dma_write(&x, 0x200000, msg, 4));
    ck_assert(!dma_write(&x, 0x300000, msg, 4));
    g_autoptr(GString) rep = g_string_new(NULL);
    vfio_shim_report_faults(x.s, rep);
    ck_assert_msg(strstr(rep->str, "[00:01.0] fault addr 0x300000"), "%s", rep->str);
    /* kernel-allocated IOVA: aligned, not overlapping, returned */
    m = (IommuAbiIoasMap){ sizeof m, RWF, ioas, 0, (uintptr_t)mem, 0x4000, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), 0);
    ck_assert_uint_eq(m.iova & 0xfff, 0);
    ck_assert(m.iova + 0x4000 <= 0x100000 || m.iova >= 0x110000);
    uint64_t auto_iova = m.iova;
    /* UNMAP: whole areas only, empty range, everything */
    uint64_t len = 0;
    ck_assert_int_eq(unmap(&x, 77, 0x100000, 0x1000, NULL), -ENOENT);
    ck_assert_int_eq(unmap(&x, ioas, 0x100000, 0x1000, NULL), -ENOENT);        /* splits an area */
    ck_assert_int_eq(unmap(&x, ioas, 0x104000, 0x8000, NULL), -ENOENT);        /* splits two */
    ck_assert_int_eq(unmap(&x, ioas, 0x100000, 0, NULL), -EINVAL);
    ck_assert_int_eq(unmap(&x, ioas, UINT64_MAX - 0xfff, 0x2000, NULL), -EOVERFLOW);
    ck_assert_int_eq(unmap(&x, ioas, 0x40000000, 0x1000, &len), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_int_eq(unmap(&x, ioas, 0x100000, 0x10000, &len), 0);
    ck_assert_uint_eq(len, 0x10000);
    ck_assert(!dma_write(&x, 0x101010, msg, 4));                                /* gone from the tables */
    ck_assert_int_eq(unmap(&x, ioas, 0, UINT64_MAX, &len), 0);
    ck_assert_uint_eq(len, 0x1000 + 0x4000);
    (void)auto_iova;
    munmap(ro, 0x1000);
    munmap(mem, 0x10000);
    ix_fini(&x);
}
END_TEST

START_TEST(test_bar_mmap_refused)
{
    Ix x;
    ix_init(&x, legacy_platform, "01:00.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    ck_assert_int_eq(attach(&x, ioas, NULL), 0);
    int err = 0;
    void *bar = vfio_shim_mmap(x.s, NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, x.cdev, 0, &err);
    ck_assert_ptr_ne(bar, MAP_FAILED);
    /* iommufd cannot pin a BAR mmap (the selftest's mmio mapping test requires failure) */
    ck_assert_int_eq(map_fixed(&x, ioas, bar, 0x100000, 0x1000), -EFAULT);
    ck_assert(vfio_shim_munmap(x.s, bar, 0x10000));
    munmap(bar, 0x10000);
    ix_fini(&x);
}
END_TEST

START_TEST(test_iova_ranges_and_allow)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    IommuAbiIovaRange r[4];
    IommuAbiIoasIovaRanges q = { sizeof q, ioas, 0, 0, (uintptr_t)r, 0 };
    /* fresh IOAS: the EMSGSIZE dance, then the whole space */
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), -EMSGSIZE);
    ck_assert_uint_eq(q.num_iovas, 1);
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), 0);
    ck_assert_uint_eq(r[0].start, 0);
    ck_assert_uint_eq(r[0].last, UINT64_MAX);
    ck_assert_uint_eq(q.out_iova_alignment, 4096);
    q.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), -EOPNOTSUPP);
    q = (IommuAbiIoasIovaRanges){ sizeof q, 99, 4, 0, (uintptr_t)r, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), -ENOENT);
    /* an attached device narrows it: VT-d aperture minus the interrupt window */
    ck_assert_int_eq(attach(&x, ioas, NULL), 0);
    q = (IommuAbiIoasIovaRanges){ sizeof q, ioas, 1, 0, (uintptr_t)r, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), -EMSGSIZE);
    ck_assert_uint_eq(q.num_iovas, 2);
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), 0);
    ck_assert_uint_eq(r[0].start, 0);
    ck_assert_uint_eq(r[0].last, 0xfedfffffull);
    ck_assert_uint_eq(r[1].start, 0xfef00000ull);
    ck_assert_uint_eq(r[1].last, shim_iova_top(x.s));
    ck_assert_uint_ge(r[1].last, (1ull << 47) - 1);
    /* ALLOW_IOVAS narrows further; mappings must stay inside; overlapping input is refused */
    uint8_t *mem = anon(0x2000);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x10000000, 0x2000), 0);
    IommuAbiIovaRange allow[2] = { { 0x20000000, 0x2fffffff }, { 0x40000000, 0x4fffffff } };
    IommuAbiIoasAllowIovas al = { sizeof al, ioas, 2, 0, (uintptr_t)allow };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), -EADDRINUSE);
    ck_assert_int_eq(unmap(&x, ioas, 0, UINT64_MAX, NULL), 0);
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), 0);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x10000000, 0x2000), -EINVAL);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x20000000, 0x2000), 0);
    IommuAbiIoasMap m = { sizeof m, RWF, ioas, 0, (uintptr_t)mem, 0x2000, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), 0);
    ck_assert_uint_eq(m.iova, 0x20002000);
    q = (IommuAbiIoasIovaRanges){ sizeof q, ioas, 4, 0, (uintptr_t)r, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_IOVA_RANGES, &q), 0);
    ck_assert_uint_eq(q.num_iovas, 2);
    ck_assert_uint_eq(r[1].start, 0x40000000);
    allow[1].start = 0x28000000;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), -EINVAL);       /* overlapping */
    allow[1] = (IommuAbiIovaRange){ 5, 4 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), -EINVAL);       /* start > last */
    al.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), -EOPNOTSUPP);
    /* no room left for an allocated IOVA */
    ck_assert_int_eq(unmap(&x, ioas, 0, UINT64_MAX, NULL), 0);
    IommuAbiIovaRange tiny = { 0x20000000, 0x20000fff };
    al = (IommuAbiIoasAllowIovas){ sizeof al, ioas, 1, 0, (uintptr_t)&tiny };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_ALLOW_IOVAS, &al), 0);
    m = (IommuAbiIoasMap){ sizeof m, RWF, ioas, 0, (uintptr_t)mem, 0x2000, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_MAP, &m), -ENOSPC);
    munmap(mem, 0x2000);
    ix_fini(&x);
}
END_TEST

START_TEST(test_copy)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    ix_bind(&x);
    uint32_t src = ioas_alloc(&x), dst = ioas_alloc(&x);
    uint8_t *mem = anon(0x4000);
    ck_assert_int_eq(map_fixed(&x, src, mem, 0x100000, 0x4000), 0);
    IommuAbiIoasCopy c = { sizeof c, RWF | IOMMU_ABI_MAP_FIXED_IOVA, dst, src, 0x2000, 0x500000, 0x101000 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_COPY, &c), 0);
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_COPY, &c), -EEXIST);
    c.src_iova = 0x900000;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_COPY, &c), -ENOENT);
    c.src_ioas_id = 99;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_COPY, &c), -ENOENT);
    c.flags |= 0x10;
    ck_assert_int_eq(io(&x, IOMMU_ABI_IOAS_COPY, &c), -EOPNOTSUPP);
    /* the copy maps the same pages: a DMA through dst lands at mem + 0x1000 */
    ck_assert_int_eq(attach(&x, dst, NULL), 0);
    const char msg[] = "copied";
    ck_assert(dma_write(&x, 0x500010, msg, sizeof msg));
    ck_assert_str_eq((char *)mem + 0x1010, msg);
    munmap(mem, 0x4000);
    ix_fini(&x);
}
END_TEST

START_TEST(test_destroy_in_use)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x), hwpt;
    ck_assert_int_eq(attach(&x, ioas, &hwpt), 0);
    ck_assert_int_eq(destroy(&x, ioas), -EBUSY);
    ck_assert_int_eq(destroy(&x, hwpt), -EBUSY);
    ck_assert_int_eq(destroy(&x, x.devid), -EBUSY);
    ck_assert_int_eq(destroy(&x, 4242), -ENOENT);
    IommuAbiDestroy d = { 4, ioas };
    ck_assert_int_eq(io(&x, IOMMU_ABI_DESTROY, &d), -EINVAL);
    /* an explicit HWPT on the IOAS: attach replaces the automatic one, which goes */
    IommuAbiHwptAlloc h = { sizeof h, 0, x.devid, ioas, 0, 0, IOMMU_ABI_HWPT_DATA_NONE, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &h), 0);
    uint32_t out;
    ck_assert_int_eq(attach(&x, h.out_hwpt_id, &out), 0);
    ck_assert_uint_eq(out, h.out_hwpt_id);
    ck_assert_int_eq(destroy(&x, hwpt), -ENOENT);
    ck_assert_int_eq(destroy(&x, h.out_hwpt_id), -EBUSY);
    /* closing the cdev unbinds; then the user's HWPT and the IOAS can go */
    ix_close(&x, x.cdev);
    x.cdev = -1;
    ck_assert_int_eq(destroy(&x, x.devid), -ENOENT);
    ck_assert_int_eq(destroy(&x, ioas), -EBUSY);
    ck_assert_int_eq(destroy(&x, h.out_hwpt_id), 0);
    ck_assert_int_eq(destroy(&x, ioas), 0);
    ix_fini(&x);
}
END_TEST

START_TEST(test_option_and_vfio_ioas)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    uint32_t ioas = ioas_alloc(&x);
    IommuAbiOption o = { sizeof o, IOMMU_ABI_OPTION_RLIMIT_MODE, IOMMU_ABI_OPTION_OP_GET, 0, 0, 7 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    ck_assert_uint_eq(o.val64, 0);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_RLIMIT_MODE, IOMMU_ABI_OPTION_OP_SET, 0, 0, 1 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    o.val64 = 2;
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -EINVAL);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_RLIMIT_MODE, IOMMU_ABI_OPTION_OP_GET, 0, ioas, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -EINVAL);
    o.object_id = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    ck_assert_uint_eq(o.val64, 1);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_HUGE_PAGES, IOMMU_ABI_OPTION_OP_GET, 0, ioas, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    ck_assert_uint_eq(o.val64, 1);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_HUGE_PAGES, IOMMU_ABI_OPTION_OP_SET, 0, ioas, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    o.op = IOMMU_ABI_OPTION_OP_GET;
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), 0);
    ck_assert_uint_eq(o.val64, 0);
    o.object_id = 99;
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -ENOENT);
    o = (IommuAbiOption){ sizeof o, 7, IOMMU_ABI_OPTION_OP_GET, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -EOPNOTSUPP);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_RLIMIT_MODE, 5, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -EOPNOTSUPP);
    o = (IommuAbiOption){ sizeof o, IOMMU_ABI_OPTION_RLIMIT_MODE, IOMMU_ABI_OPTION_OP_GET, 1, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_OPTION, &o), -EOPNOTSUPP);
    /* the compat IOAS */
    IommuAbiVfioIoas v = { sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), -ENODEV);
    v = (IommuAbiVfioIoas){ sizeof v, 99, IOMMU_ABI_VFIO_IOAS_SET, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), -ENOENT);
    v.ioas_id = ioas;
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), 0);
    v = (IommuAbiVfioIoas){ sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), 0);
    ck_assert_uint_eq(v.ioas_id, ioas);
    v = (IommuAbiVfioIoas){ sizeof v, 0, IOMMU_ABI_VFIO_IOAS_CLEAR, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), 0);
    v = (IommuAbiVfioIoas){ sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), -ENODEV);
    v = (IommuAbiVfioIoas){ sizeof v, 0, 3, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), -EOPNOTSUPP);
    v = (IommuAbiVfioIoas){ sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 1 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_VFIO_IOAS, &v), -EOPNOTSUPP);
    ix_fini(&x);
}
END_TEST

START_TEST(test_hw_info_and_hwpt_alloc_legacy)
{
    Ix x;
    ix_init(&x, legacy_platform, "00:01.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    ShimUnit *u = g_ptr_array_index(x.s->units, 0);
    ck_assert(!u->scalable);
    /* GET_HW_INFO: raw CAP/ECAP, the data_len rules */
    uint8_t buf[40];
    memset(buf, 0xee, sizeof buf);
    IommuAbiHwInfo h = { sizeof h, 0, x.devid, 16, (uintptr_t)buf, 0, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), 0);
    ck_assert_uint_eq(h.data_len, sizeof(IommuAbiHwInfoVtd));
    ck_assert_uint_eq(h.out_data_type, IOMMU_ABI_HW_INFO_TYPE_INTEL_VTD);
    ck_assert_uint_eq(h.out_capabilities, 0);
    ck_assert_uint_eq(h.out_max_pasid_log2, 0);
    uint64_t cap;
    memcpy(&cap, buf + 8, 8);
    ck_assert_uint_eq(cap, vtd_drv_cap(u->drv));
    ck_assert_uint_eq(buf[16], 0xee);                 /* only data_len bytes written */
    h = (IommuAbiHwInfo){ sizeof h, 0, x.devid, sizeof buf, (uintptr_t)buf, 0, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), 0);
    uint64_t ecap;
    memcpy(&ecap, buf + 16, 8);
    ck_assert_uint_eq(ecap, vtd_drv_ecap(u->drv));
    ck_assert_uint_eq(buf[39], 0);                    /* the excess is zero-filled */
    h = (IommuAbiHwInfo){ 32, 0, x.devid, 0, 0, 0, 0, { 0 }, 0 };   /* the old 32-byte struct */
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), 0);
    ck_assert_uint_eq(h.data_len, 24);
    h = (IommuAbiHwInfo){ sizeof h, 2, x.devid, 0, 0, 0, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), -EOPNOTSUPP);
    h = (IommuAbiHwInfo){ sizeof h, IOMMU_ABI_HW_INFO_INPUT_TYPE, x.devid, 0, 0, 2, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), -EOPNOTSUPP);
    h = (IommuAbiHwInfo){ sizeof h, 0, 77, 0, 0, 0, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &h), -ENOENT);
    /* HWPT_ALLOC rows on a legacy-only unit */
    IommuAbiHwptAlloc a = { sizeof a, 0, x.devid, ioas, 0, 0, IOMMU_ABI_HWPT_DATA_NONE, 0, 0, 0, 0 };
    a.flags = 0x100;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    a.flags = IOMMU_ABI_HWPT_DIRTY_TRACKING;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    a.flags = IOMMU_ABI_HWPT_FAULT_ID_VALID;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    a.flags = IOMMU_ABI_HWPT_NEST_PARENT;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    a.flags = 0;
    a.data_len = 8;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EINVAL);
    a.data_len = 0;
    a.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    a.reserved = 0;
    a.dev_id = 77;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -ENOENT);
    a.dev_id = x.devid;
    a.pt_id = 77;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -ENOENT);
    a.pt_id = ioas;
    a.data_type = 9;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);
    IommuAbiHwptVtdS1 s1 = { 0, 0x1000, 48, 0 };
    a.data_type = IOMMU_ABI_HWPT_DATA_VTD_S1;
    a.data_len = sizeof s1;
    a.data_uptr = (uintptr_t)&s1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EINVAL);       /* stage-1 data needs a HWPT parent */
    a = (IommuAbiHwptAlloc){ 24, 0, x.devid, ioas, 0, 0, 0, 0, 0, 0, 0 };   /* the first, 24-byte layout */
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), 0);
    uint32_t paging = a.out_hwpt_id;
    a = (IommuAbiHwptAlloc){ sizeof a, 0, x.devid, paging, 0, 0, IOMMU_ABI_HWPT_DATA_VTD_S1, sizeof s1,
                             (uintptr_t)&s1, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EOPNOTSUPP);   /* legacy unit: no nesting */
    a.data_type = IOMMU_ABI_HWPT_DATA_NONE;
    a.data_len = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), -EINVAL);       /* a HWPT parent needs data */
    /* invalidation and dirty tracking on a paging HWPT */
    IommuAbiHwptInvalidate iv = { sizeof iv, paging, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -ENOENT);
    IommuAbiHwptSetDirty sd = { sizeof sd, 1, paging, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), -EOPNOTSUPP);
    sd.hwpt_id = 99;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), -ENOENT);
    IommuAbiHwptGetDirtyBitmap gd = { sizeof gd, paging, 0, 0, 0, 0x1000, 0x1000, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &gd), -EOPNOTSUPP);
    ix_fini(&x);
}
END_TEST

/* First-stage (x86-64) entry bits: P, R/W, U/S, A, D, and the 4 KiB frame. */
static uint64_t fs_entry(uint64_t addr)
{
    return addr | 0x1 | 0x2 | 0x4 | 0x20 | 0x40;
}

START_TEST(test_nested_hwpt)
{
    Ix x;
    ix_init(&x, nesting_platform, "00:01.0");
    ShimUnit *u = g_ptr_array_index(x.s->units, 0);
    ck_assert_msg(u->scalable, "a unit with ECAP.SMTS/SSTS runs in scalable mode");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    /* the "guest": stage-1 tables and a data page in client memory, mapped in the parent at GPA 0x100000 */
    uint64_t *pg = anon(6 * 0x1000);
    const uint64_t gpa = 0x100000;
    ck_assert_int_eq(map_fixed(&x, ioas, pg, gpa, 6 * 0x1000), 0);
    const uint64_t va = 0x40201000;   /* PML4 0, PDPT 1, PD 1, PT 1 */
    pg[0 * 512 + 0] = fs_entry(gpa + 0x1000);
    pg[1 * 512 + 1] = fs_entry(gpa + 0x2000);
    pg[2 * 512 + 1] = fs_entry(gpa + 0x3000);
    pg[3 * 512 + 1] = fs_entry(gpa + 0x4000);
    /* a NEST_PARENT HWPT on the IOAS, then the nested one */
    IommuAbiHwptAlloc a = { sizeof a, IOMMU_ABI_HWPT_NEST_PARENT, x.devid, ioas, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), 0);
    uint32_t parent = a.out_hwpt_id;
    IommuAbiHwptAlloc p2 = { sizeof p2, 0, x.devid, ioas, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &p2), 0);
    struct {
        IommuAbiHwptVtdS1 s1;
        uint64_t tail;
    } d = { { 0, gpa, 48, 0 }, 0 };
    IommuAbiHwptAlloc n = { sizeof n, 0, x.devid, parent, 0, 0, IOMMU_ABI_HWPT_DATA_VTD_S1, sizeof d.s1,
                            (uintptr_t)&d, 0, 0 };
    /* the rows of the stage-1 data */
    n.pt_id = p2.out_hwpt_id;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);       /* parent not NEST_PARENT */
    n.pt_id = parent;
    n.flags = IOMMU_ABI_HWPT_NEST_PARENT;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);
    n.flags = 0;
    n.data_len = 16;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);
    n.data_len = sizeof d;
    d.tail = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -E2BIG);
    d.tail = 0;
    d.s1.addr_width = 50;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);
    d.s1.addr_width = 57;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);       /* no CAP.FS5LP */
    d.s1.addr_width = 48;
    d.s1.flags = 0x100;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EOPNOTSUPP);
    d.s1.flags = 0;
    d.s1.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EOPNOTSUPP);
    d.s1.reserved = 0;
    d.s1.pgtbl_addr = gpa + 8;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), -EINVAL);
    d.s1.pgtbl_addr = gpa;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &n), 0);
    uint32_t nested = n.out_hwpt_id;
    ck_assert_int_eq(destroy(&x, parent), -EBUSY);                     /* the nested one uses it */
    uint32_t out;
    ck_assert_int_eq(attach(&x, nested, &out), 0);
    ck_assert_uint_eq(out, nested);
    /* DMA through both stages lands in the data page */
    const char msg[] = "nested: stage 1 then stage 2";
    ck_assert(dma_write(&x, va + 0x20, msg, sizeof msg));
    ck_assert_str_eq((char *)&pg[4 * 512] + 0x20, msg);
    /* not in stage 1: a fault record */
    ck_assert(!dma_write(&x, 0x80000000, msg, 4));
    g_autoptr(GString) rep = g_string_new(NULL);
    vfio_shim_report_faults(x.s, rep);
    ck_assert_msg(strstr(rep->str, "[00:01.0] fault addr 0x80000000"), "%s", rep->str);
    /* the guest moves its page: stale until HWPT_INVALIDATE reaches the IOTLB */
    pg[3 * 512 + 1] = fs_entry(gpa + 0x5000);
    ck_assert(dma_write(&x, va + 0x60, "old", 4));
    ck_assert_str_eq((char *)&pg[4 * 512] + 0x60, "old");             /* the IOTLB still holds the old page */
    IommuAbiVtdS1Inval e[2] = { { va, 1, IOMMU_ABI_VTD_INV_LEAF, 0 }, { 0, UINT64_MAX, 0, 0 } };
    IommuAbiHwptInvalidate iv = { sizeof iv, nested, (uintptr_t)e, IOMMU_ABI_HWPT_INVALIDATE_DATA_VTD_S1,
                                  sizeof e[0], 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), 0);       /* entry_num 0: a probe */
    ck_assert_uint_eq(iv.entry_num, 0);
    iv.data_type = 5;
    iv.entry_num = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EINVAL);
    iv.data_type = IOMMU_ABI_HWPT_INVALIDATE_DATA_VTD_S1;
    iv.entry_len = 16;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EINVAL);
    ck_assert_uint_eq(iv.entry_num, 0);
    iv.entry_len = sizeof e[0];
    iv.entry_num = 1;
    iv.data_uptr = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EINVAL);
    iv.data_uptr = (uintptr_t)e;
    iv.reserved = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EOPNOTSUPP);
    iv.reserved = 0;
    e[1].flags = 2;
    iv.entry_num = 2;
    uint64_t before = vtd_drv_invalidations(u->drv);
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EOPNOTSUPP);
    ck_assert_uint_eq(iv.entry_num, 1);                                 /* the first one was handled */
    ck_assert_uint_gt(vtd_drv_invalidations(u->drv), before);
    e[1] = (IommuAbiVtdS1Inval){ 0x1000, UINT64_MAX, 0, 0 };
    iv.entry_num = 2;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EINVAL);
    ck_assert_uint_eq(iv.entry_num, 1);
    e[1] = (IommuAbiVtdS1Inval){ 0x1008, 1, 0, 0 };
    iv.entry_num = 2;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), -EINVAL);
    e[1] = (IommuAbiVtdS1Inval){ 0, UINT64_MAX, 0, 0 };
    iv.entry_num = 2;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_INVALIDATE, &iv), 0);
    ck_assert_uint_eq(iv.entry_num, 2);
    ck_assert(dma_write(&x, va + 0x40, msg, sizeof msg));
    ck_assert_str_eq((char *)&pg[5 * 512] + 0x40, msg);
    /* unmapping the stage-1 table's GPA from the parent: the walk now faults */
    ck_assert_int_eq(unmap(&x, ioas, gpa, 6 * 0x1000, NULL), 0);
    ck_assert(!dma_write(&x, va + 0x40, msg, 4));
    /* tear down in dependency order */
    ck_assert_int_eq(destroy(&x, nested), -EBUSY);
    VfioAbiDetachPt dt = { sizeof dt, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_DETACH_PT, &dt), 0);
    ck_assert_int_eq(destroy(&x, nested), 0);
    ck_assert_int_eq(destroy(&x, parent), 0);
    munmap(pg, 6 * 0x1000);
    ix_fini(&x);
}
END_TEST

START_TEST(test_dirty_tracking)
{
    Ix x;
    ix_init(&x, nesting_platform, "00:01.0");
    ix_bind(&x);
    uint32_t ioas = ioas_alloc(&x);
    IommuAbiHwInfo hi = { sizeof hi, 0, x.devid, 0, 0, 0, 0, { 0 }, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_GET_HW_INFO, &hi), 0);
    ck_assert_uint_eq(hi.out_capabilities, IOMMU_ABI_HW_CAP_DIRTY_TRACKING);
    IommuAbiHwptAlloc a = { sizeof a, IOMMU_ABI_HWPT_DIRTY_TRACKING, x.devid, ioas, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &a), 0);
    uint32_t hwpt = a.out_hwpt_id;
    IommuAbiHwptAlloc plain = { sizeof plain, 0, x.devid, ioas, 0, 0, 0, 0, 0, 0, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_ALLOC, &plain), 0);
    IommuAbiHwptSetDirty sd = { sizeof sd, 1, plain.out_hwpt_id, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), -EOPNOTSUPP);
    ck_assert_int_eq(attach(&x, hwpt, NULL), 0);
    uint8_t *mem = anon(0x4000);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x100000, 0x4000), 0);
    uint64_t bm = 0;
    IommuAbiHwptGetDirtyBitmap g = { sizeof g, hwpt, 0, 0, 0x100000, 0x4000, 0x1000, (uintptr_t)&bm };
    /* tracking off: the hardware sets no D bits */
    ck_assert(dma_write(&x, 0x100000, "x", 1));
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0);
    sd = (IommuAbiHwptSetDirty){ sizeof sd, 2, hwpt, 0 };
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), -EOPNOTSUPP);
    sd.flags = 1;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), 0);
    /* a write marks its page, a read does not */
    uint8_t b;
    ck_assert(dma_write(&x, 0x101010, "dirty", 6));
    ck_assert(dma_read(&x, 0x102000, &b, 1));
    g.flags = 1;    /* NO_CLEAR */
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0x2);
    bm = 0;
    g.flags = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0x2);
    bm = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0);                                          /* cleared */
    /* after the clear (and its invalidation) a write to the same page marks it again */
    ck_assert(dma_write(&x, 0x101020, "again", 6));
    ck_assert(dma_write(&x, 0x103000, "3", 2));
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0xa);
    /* 16 KiB granules: one bit for the range */
    ck_assert(dma_write(&x, 0x102000, "2", 2));
    bm = 0;
    g.page_size = 0x4000;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0x1);
    /* argument rows */
    g.page_size = 0x1800;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EINVAL);
    g.page_size = 0x1000;
    g.iova = 0x100800;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EINVAL);
    g.iova = 0x100000;
    g.length = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EINVAL);
    g.length = 0x4000;
    g.data = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EFAULT);
    g.data = (uintptr_t)&bm;
    g.flags = 2;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EOPNOTSUPP);
    g.flags = 0;
    g.hwpt_id = 99;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -ENOENT);
    g.hwpt_id = plain.out_hwpt_id;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), -EOPNOTSUPP);
    /* tracking off again: writes leave no mark */
    sd.flags = 0;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_SET_DIRTY_TRACKING, &sd), 0);
    ck_assert(dma_write(&x, 0x100000, "y", 1));
    bm = 0;
    g.hwpt_id = hwpt;
    ck_assert_int_eq(io(&x, IOMMU_ABI_HWPT_GET_DIRTY_BITMAP, &g), 0);
    ck_assert_uint_eq(bm, 0);
    munmap(mem, 0x4000);
    ix_fini(&x);
}
END_TEST

/* The iommufd VFIO compat container: group fd + /dev/iommu, as selftest modes iommufd_compat_type1[v2]. */
typedef struct Cx {
    Ix x;
    int group, device;
} Cx;

static void cx_setup(Cx *c, const char *bdf, int type)
{
    memset(c, 0, sizeof *c);
    g_autoptr(GError) err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(legacy_platform, "iofd.platform", &err);
    ck_assert_msg(sim, "%s", err ? err->message : "");
    c->x.s = vfio_shim_new(sim, &err);
    ck_assert(c->x.s);
    c->x.fn = platform_find_device(platform_get(sim), bdf);
    c->x.cdev = -1;
    c->x.iommufd = ix_open(&c->x, "/dev/iommu");
    ck_assert_int_ge(c->x.iommufd, 0);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_ABI_TYPE1v2_IOMMU), 1);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_ABI_TYPE1_IOMMU), 1);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_ABI_UPDATE_VADDR), 0);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_SET_IOMMU, (void *)(uintptr_t)VFIO_ABI_TYPE1v2_IOMMU), -ENODEV);
    g_autofree char *gp = g_strdup_printf("/dev/vfio/%d", pcie_fn_group(c->x.fn));
    c->group = ix_open(&c->x, gp);
    ck_assert_int_ge(c->group, 0);
    ck_assert_int_eq(vfio_shim_ioctl(c->x.s, c->group, VFIO_ABI_GROUP_SET_CONTAINER, (unsigned long)&c->x.iommufd),
                     0);
    VfioAbiGroupStatus st = { sizeof st, 0 };
    ck_assert_int_eq(vfio_shim_ioctl(c->x.s, c->group, VFIO_ABI_GROUP_GET_STATUS, (unsigned long)&st), 0);
    ck_assert_uint_eq(st.flags, VFIO_ABI_GROUP_VIABLE | VFIO_ABI_GROUP_CONTAINER_SET);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_SET_IOMMU, (void *)(uintptr_t)VFIO_ABI_NOIOMMU_IOMMU), -EINVAL);
    ck_assert_int_eq(io(&c->x, VFIO_ABI_SET_IOMMU, (void *)(uintptr_t)(unsigned long)type), 0);
    g_autofree char *name = g_strdup_printf("0000:%s", bdf);
    c->device = (int)vfio_shim_ioctl(c->x.s, c->group, VFIO_ABI_GROUP_GET_DEVICE_FD, (unsigned long)name);
    ck_assert_int_ge(c->device, 0);
}

static void cx_fini(Cx *c)
{
    ix_close(&c->x, c->device);
    ix_close(&c->x, c->group);
    ix_fini(&c->x);
}

static long cmap(Cx *c, void *va, uint64_t iova, uint64_t size)
{
    VfioAbiDmaMap m = { sizeof m, VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE, (uintptr_t)va, iova, size };
    return io(&c->x, VFIO_ABI_IOMMU_MAP_DMA, &m);
}

static long cunmap(Cx *c, uint64_t iova, uint64_t size, uint32_t flags, uint64_t *out)
{
    VfioAbiDmaUnmap u = { sizeof u, flags, iova, size };
    long r = io(&c->x, VFIO_ABI_IOMMU_UNMAP_DMA, &u);
    if (out) {
        *out = u.size;
    }
    return r;
}

START_TEST(test_compat_type1v2)
{
    Cx c;
    cx_setup(&c, "00:01.0", VFIO_ABI_TYPE1v2_IOMMU);
    Ix *x = &c.x;
    /* the compat IOAS is an ordinary IOAS, visible through IOMMU_VFIO_IOAS */
    IommuAbiVfioIoas v = { sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 0 };
    ck_assert_int_eq(io(x, IOMMU_ABI_VFIO_IOAS, &v), 0);
    ck_assert_uint_ne(v.ioas_id, 0);
    /* IOMMU_GET_INFO: the two-call chain with the IOVA ranges of the attached device */
    VfioAbiType1Info probe = { sizeof probe, 0, 0, 0, 0 };
    ck_assert_int_eq(io(x, VFIO_ABI_IOMMU_GET_INFO, &probe), 0);
    ck_assert(probe.flags & VFIO_ABI_IOMMU_INFO_CAPS);
    ck_assert_uint_gt(probe.argsz, sizeof probe);
    g_autofree uint8_t *buf = g_malloc0(probe.argsz);
    memcpy(buf, &probe.argsz, 4);
    ck_assert_int_eq(io(x, VFIO_ABI_IOMMU_GET_INFO, buf), 0);
    VfioAbiType1Info info;
    memcpy(&info, buf, sizeof info);
    bool ranges = false;
    for (uint32_t off = info.cap_offset; off;) {
        VfioAbiCapHeader h;
        memcpy(&h, buf + off, sizeof h);
        if (h.id == VFIO_ABI_IOMMU_CAP_IOVA_RANGE) {
            uint32_t nr;
            uint64_t r1[2];
            memcpy(&nr, buf + off + 8, 4);
            memcpy(r1, buf + off + 16, 16);
            ck_assert_uint_eq(nr, 2);
            ck_assert_uint_eq(r1[1], 0xfedfffffull);
            ranges = true;
        }
        off = h.next;
    }
    ck_assert(ranges);
    /* MAP/UNMAP on the compat IOAS: iommufd's errno values */
    uint8_t *mem = anon(0x10000);
    ck_assert_int_eq(cmap(&c, mem, 0x100000, 0x8000), 0);
    ck_assert_int_eq(cmap(&c, mem, 0x104000, 0x1000), -EEXIST);
    ck_assert_int_eq(cmap(&c, mem, 0xfee00000, 0x1000), -EINVAL);
    ck_assert_int_eq(cmap(&c, mem, 0x200800, 0x1000), -EINVAL);
    ck_assert_int_eq(cmap(&c, mem, 0x200000, 0), -EINVAL);
    ck_assert_int_eq(cmap(&c, (void *)0x1000, 0x200000, 0x1000), -EFAULT);
    VfioAbiDmaMap vm = { sizeof vm, VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_VADDR, (uintptr_t)mem, 0x300000,
                         0x1000 };
    ck_assert_int_eq(io(x, VFIO_ABI_IOMMU_MAP_DMA, &vm), -EINVAL);
    const char msg[] = "compat v2";
    ck_assert(dma_write(x, 0x100100, msg, sizeof msg));
    ck_assert_str_eq((char *)mem + 0x100, msg);
    uint64_t sz = 0;
    ck_assert_int_eq(cunmap(&c, 0x101000, 0x1000, 0, NULL), -ENOENT);      /* bisects: iommufd says ENOENT */
    ck_assert_int_eq(cunmap(&c, 0x900000, 0x1000, 0, &sz), 0);
    ck_assert_uint_eq(sz, 0);
    ck_assert_int_eq(cunmap(&c, 0x100000, 0x1000, VFIO_ABI_DMA_UNMAP_GET_DIRTY_BITMAP, NULL), -EINVAL);
    ck_assert_int_eq(cunmap(&c, 0x100000, 0x1000, VFIO_ABI_DMA_UNMAP_ALL, NULL), -EINVAL);
    ck_assert_int_eq(cunmap(&c, 0, 0, VFIO_ABI_DMA_UNMAP_ALL, &sz), 0);
    ck_assert_uint_eq(sz, 0x8000);
    ck_assert(!dma_write(x, 0x100100, msg, 4));
    /* the group cannot leave while its device is open */
    ck_assert_int_eq(vfio_shim_ioctl(x->s, c.group, VFIO_ABI_GROUP_UNSET_CONTAINER, 0), -EBUSY);
    munmap(mem, 0x10000);
    cx_fini(&c);
}
END_TEST

START_TEST(test_compat_type1)
{
    Cx c;
    cx_setup(&c, "00:01.0", VFIO_ABI_TYPE1_IOMMU);
    Ix *x = &c.x;
    IommuAbiVfioIoas v = { sizeof v, 0, IOMMU_ABI_VFIO_IOAS_GET, 0 };
    ck_assert_int_eq(io(x, IOMMU_ABI_VFIO_IOAS, &v), 0);
    /* TYPE1 compat gives up large IOPTEs */
    IommuAbiOption o = { sizeof o, IOMMU_ABI_OPTION_HUGE_PAGES, IOMMU_ABI_OPTION_OP_GET, 0, v.ioas_id, 9 };
    ck_assert_int_eq(io(x, IOMMU_ABI_OPTION, &o), 0);
    ck_assert_uint_eq(o.val64, 0);
    /* a 2 MiB-aligned 2 MiB mapping, then a cut in its middle: exactly that page goes */
    uint8_t *raw = mmap(NULL, 4u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(raw, MAP_FAILED);
    uint8_t *mem = (uint8_t *)(((uintptr_t)raw + (2u << 20) - 1) & ~(uintptr_t)((2u << 20) - 1));
    memset(mem, 0, 2u << 20);
    ck_assert_int_eq(cmap(&c, mem, 0x40000000, 2u << 20), 0);
    uint64_t sz = 0;
    ck_assert_int_eq(cunmap(&c, 0x40100000, 0x1000, 0, &sz), 0);
    ck_assert_uint_eq(sz, 0x1000);
    const char msg[] = "v1";
    ck_assert(!dma_write(x, 0x40100000, msg, sizeof msg));
    ck_assert(dma_write(x, 0x400ff000, msg, sizeof msg));
    ck_assert(dma_write(x, 0x40101000, msg, sizeof msg));
    ck_assert_str_eq((char *)mem + 0x101000, msg);
    ck_assert_int_eq(cunmap(&c, 0, 0, VFIO_ABI_DMA_UNMAP_ALL, &sz), 0);
    ck_assert_uint_eq(sz, (2u << 20) - 0x1000);
    munmap(raw, 4u << 20);
    cx_fini(&c);
}
END_TEST

START_TEST(test_cdev_hot_reset_info)
{
    Ix x;
    ix_init(&x, legacy_platform, "01:00.0");
    ix_bind(&x);
    VfioAbiHotResetInfo h = { sizeof h, 0, 0 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_HOT_RESET_INFO, &h), -ENOSPC);
    ck_assert_uint_eq(h.count, 1);
    struct {
        VfioAbiHotResetInfo h;
        VfioAbiHotResetDev d[1];
    } full = { { sizeof full, 0, 0 }, { { 0, 0, 0, 0 } } };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_HOT_RESET_INFO, &full), 0);
    ck_assert_uint_eq(full.h.flags, VFIO_ABI_HOT_RESET_DEV_ID | VFIO_ABI_HOT_RESET_DEV_ID_OWNED);
    ck_assert_uint_eq(full.d[0].group_id, x.devid);
    ck_assert_uint_eq(full.d[0].bus, 1);
    /* the cdev reset takes an empty group-fd array */
    struct {
        VfioAbiHotReset h;
        int32_t fd;
    } r = { { sizeof r, 0, 1 }, -1 };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_HOT_RESET, &r), -EINVAL);
    r.h.count = 0;
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_HOT_RESET, &r), 0);
    ix_fini(&x);
}
END_TEST

START_TEST(test_cdev_vf_token)
{
    Ix x;
    ix_init(&x, legacy_platform, "01:00.0");
    ix_bind(&x);
    /* the PF's user sets the VF token, then enables a VF */
    struct {
        VfioAbiFeature h;
        uint8_t uuid[16];
    } tok = { { sizeof tok, VFIO_ABI_FEATURE_SET | VFIO_ABI_FEATURE_PCI_VF_TOKEN },
              { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 } };
    ck_assert_int_eq(dv(&x, VFIO_ABI_DEVICE_FEATURE, &tok), 0);
    uint16_t sriov = pcie_fn_find_ext_cap(x.fn, 0x10);
    vfio_shim_lock(x.s);
    pcie_fn_config_write(x.fn, (uint16_t)(sriov + 0x10), 2, 1);      /* NumVFs */
    pcie_fn_config_write(x.fn, (uint16_t)(sriov + 0x08), 2, 0x9);    /* VF Enable + VF MSE */
    vfio_shim_unlock(x.s);
    PcieFn *vf = pcie_fn_vf(x.fn, 0);
    ck_assert_ptr_nonnull(vf);
    g_autofree char *path = g_strdup_printf("/dev/vfio/devices/vfio%d", vfio_sysfs_cdev_index(vfio_shim_sim(x.s), vf));
    int vc = ix_open(&x, path);
    ck_assert_int_ge(vc, 0);
    /* no token, a wrong one, then the right one (BIND_FLAG_TOKEN + token_uuid_ptr) */
    VfioAbiBindIommufd b = { sizeof b, 0, x.iommufd, 0, 0 };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, vc, VFIO_ABI_DEVICE_BIND_IOMMUFD, (unsigned long)&b), -EACCES);
    uint8_t wrong[16] = { 0 };
    b = (VfioAbiBindIommufd){ sizeof b, VFIO_ABI_BIND_TOKEN, x.iommufd, 0, (uintptr_t)wrong };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, vc, VFIO_ABI_DEVICE_BIND_IOMMUFD, (unsigned long)&b), -EACCES);
    b = (VfioAbiBindIommufd){ 16, VFIO_ABI_BIND_TOKEN, x.iommufd, 0, (uintptr_t)tok.uuid };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, vc, VFIO_ABI_DEVICE_BIND_IOMMUFD, (unsigned long)&b), -EINVAL);
    b = (VfioAbiBindIommufd){ sizeof b, VFIO_ABI_BIND_TOKEN, x.iommufd, 0, (uintptr_t)tok.uuid };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, vc, VFIO_ABI_DEVICE_BIND_IOMMUFD, (unsigned long)&b), 0);
    ck_assert_uint_ne(b.out_devid, x.devid);
    /* the VF's own requester ID is attached: its DMA lands in the buffer */
    uint32_t ioas = ioas_alloc(&x), hwpt;
    VfioAbiAttachPt a = { sizeof a, 0, ioas, 0 };
    ck_assert_int_eq(vfio_shim_ioctl(x.s, vc, VFIO_ABI_DEVICE_ATTACH_PT, (unsigned long)&a), 0);
    hwpt = a.pt_id;
    uint8_t *mem = anon(0x1000);
    ck_assert_int_eq(map_fixed(&x, ioas, mem, 0x100000, 0x1000), 0);
    vfio_shim_lock(x.s);
    uint16_t cmd = (uint16_t)pcie_fn_config_read(x.fn, PCI_COMMAND, 2);   /* a VF masters only with its PF */
    pcie_fn_config_write(x.fn, PCI_COMMAND, 2, cmd | PCI_COMMAND_MASTER);
    vfio_shim_unlock(x.s);
    x.fn = vf;
    ck_assert(dma_write(&x, 0x100008, "vf", 3));
    ck_assert_str_eq((char *)mem + 8, "vf");
    ck_assert_int_eq(destroy(&x, hwpt), -EBUSY);
    ix_close(&x, vc);
    ck_assert_int_eq(destroy(&x, hwpt), -ENOENT);     /* the automatic HWPT went with the VF's fd */
    munmap(mem, 0x1000);
    ix_fini(&x);
}
END_TEST

static Suite *vfio_iommufd_suite(void)
{
    Suite *s = suite_create("vfio_iommufd");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_abi_numbers);
    tcase_add_test(tc, test_generic_rules);
    tcase_add_test(tc, test_cdev_bind_attach);
    tcase_add_test(tc, test_ioas_map_unmap);
    tcase_add_test(tc, test_bar_mmap_refused);
    tcase_add_test(tc, test_iova_ranges_and_allow);
    tcase_add_test(tc, test_copy);
    tcase_add_test(tc, test_destroy_in_use);
    tcase_add_test(tc, test_option_and_vfio_ioas);
    tcase_add_test(tc, test_hw_info_and_hwpt_alloc_legacy);
    suite_add_tcase(s, tc);
    TCase *nest = tcase_create("nested");
    tcase_add_test(nest, test_nested_hwpt);
    tcase_add_test(nest, test_dirty_tracking);
    suite_add_tcase(s, nest);
    TCase *compat = tcase_create("compat");
    tcase_add_test(compat, test_compat_type1v2);
    tcase_add_test(compat, test_compat_type1);
    tcase_add_test(compat, test_cdev_hot_reset_info);
    tcase_add_test(compat, test_cdev_vf_token);
    suite_add_tcase(s, compat);
    return s;
}

CHECK_MAIN(vfio_iommufd_suite)
