/*
 * A VFIO user-space driver following the cdev + iommufd flow of Linux
 * 6.6+ Documentation/driver-api/vfio.rst (and the iommu modes of the
 * kernel's VFIO selftests), written against the system's <linux/vfio.h>
 * with nothing vtdsim-specific in it.  Debian 12's headers predate the
 * cdev ioctls and have no <linux/iommufd.h>, so - like any program built
 * for newer kernels on older headers - it carries the few definitions it
 * needs, guarded, written from the documented layouts.
 *
 *   vfio_cdev BDF [iommufd|compat-type1v2]
 *
 * iommufd (default): opendir .../BDF/vfio-dev -> open /dev/vfio/devices/vfioX,
 * fstat S_ISCHR with st_rdev as vfio-dev/vfioX/dev says -> open /dev/iommu
 * -> errno contract of BIND (before-bind EINVAL, bad fd EBADF, second bind)
 * -> GET_HW_INFO -> IOAS_ALLOC -> ATTACH (unknown id ENOENT) -> IOVA_RANGES
 * (EMSGSIZE dance) -> IOAS_MAP (fixed IOVA, EEXIST).  compat-type1v2: the
 * group fd with /dev/iommu as its container (selftest mode
 * iommufd_compat_type1v2).  Then, either way, the IOAT (CBDMA) channel:
 * reset, a copy through the IOMMU with an MSI-X interrupt, a copy to an
 * unmapped IOVA that halts without an interrupt, a BAR mmap that iommufd
 * refuses to map, hot-reset info, unmap-all.  One "ok"/"FAIL" line per
 * step; exit 1 on any failure, 2 when the device cannot be found.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <linux/vfio.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/* ---- what newer headers would provide (layouts from the uAPI documentation) ---- */
#ifndef VFIO_DEVICE_BIND_IOMMUFD
struct vfio_device_bind_iommufd {
    uint32_t argsz, flags;
    int32_t iommufd;
    uint32_t out_devid;
    uint64_t token_uuid_ptr;
};
#define VFIO_DEVICE_BIND_IOMMUFD _IO(VFIO_TYPE, VFIO_BASE + 18)
struct vfio_device_attach_iommufd_pt {
    uint32_t argsz, flags, pt_id, pasid;
};
#define VFIO_DEVICE_ATTACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 19)
struct vfio_device_detach_iommufd_pt {
    uint32_t argsz, flags, pasid;
};
#define VFIO_DEVICE_DETACH_IOMMUFD_PT _IO(VFIO_TYPE, VFIO_BASE + 20)
#endif
#ifndef VFIO_PCI_HOT_RESET_FLAG_DEV_ID
#define VFIO_PCI_HOT_RESET_FLAG_DEV_ID 1
#endif

#define IOMMUFD_CMD(n) _IO(';', 0x80 + (n))
struct iofd_ioas_alloc {
    uint32_t size, flags, out_ioas_id;
};
struct iofd_iova_range {
    uint64_t start, last;
};
struct iofd_iova_ranges {
    uint32_t size, ioas_id, num_iovas, reserved;
    uint64_t allowed_iovas, out_iova_alignment;
};
struct iofd_ioas_map {
    uint32_t size, flags, ioas_id, reserved;
    uint64_t user_va, length, iova;
};
struct iofd_ioas_unmap {
    uint32_t size, ioas_id;
    uint64_t iova, length;
};
struct iofd_hw_info {
    uint32_t size, flags, dev_id, data_len;
    uint64_t data_uptr;
    uint32_t out_data_type;
    uint8_t out_max_pasid_log2, reserved[3];
    uint64_t out_capabilities;
};
struct iofd_hw_info_vtd {
    uint32_t flags, reserved;
    uint64_t cap_reg, ecap_reg;
};
enum { IOAS_ALLOC = 1, IOAS_IOVA_RANGES = 4, IOAS_MAP = 5, IOAS_UNMAP = 6, GET_HW_INFO = 10 };
enum { MAP_FIXED_IOVA = 1, MAP_WRITEABLE = 2, MAP_READABLE = 4 };

#include "vfio_client.h"

/* ---- mapping, per mode ---- */
static int compat;            /* 1: container ioctls on /dev/iommu */
static int iommufd = -1;
static uint32_t ioas_id;

static int dma_map(void *va, uint64_t iova, uint64_t len)
{
    if (compat) {
        struct vfio_iommu_type1_dma_map m = { .argsz = sizeof m, .flags = VFIO_DMA_MAP_FLAG_READ |
                                              VFIO_DMA_MAP_FLAG_WRITE, .vaddr = (uintptr_t)va, .iova = iova,
                                              .size = len };
        return ioctl(iommufd, VFIO_IOMMU_MAP_DMA, &m);
    }
    struct iofd_ioas_map m = { sizeof m, MAP_FIXED_IOVA | MAP_READABLE | MAP_WRITEABLE, ioas_id, 0, (uintptr_t)va,
                               len, iova };
    return ioctl(iommufd, IOMMUFD_CMD(IOAS_MAP), &m);
}

static int dma_unmap_all(uint64_t *bytes)
{
    if (compat) {
        struct vfio_iommu_type1_dma_unmap u = { .argsz = sizeof u, .flags = VFIO_DMA_UNMAP_FLAG_ALL };
        int r = ioctl(iommufd, VFIO_IOMMU_UNMAP_DMA, &u);
        *bytes = u.size;
        return r;
    }
    struct iofd_ioas_unmap u = { sizeof u, ioas_id, 0, UINT64_MAX };
    int r = ioctl(iommufd, IOMMUFD_CMD(IOAS_UNMAP), &u);
    *bytes = u.length;
    return r;
}

/* The cdev path: returns the device fd. */
static int open_cdev(const char *bdf)
{
    char path[1024], name[256] = "";
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/vfio-dev", bdf);
    DIR *dir = opendir(path);
    if (!dir) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    for (struct dirent *e; (e = readdir(dir));) {
        if (!strncmp(e->d_name, "vfio", 4)) {
            snprintf(name, sizeof name, "%s", e->d_name);
            break;
        }
    }
    closedir(dir);
    check(name[0] != 0, "vfio-dev lists the device's cdev");
    unsigned maj = 0, min = 0;
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/vfio-dev/%s/dev", bdf, name);
    FILE *f = fopen(path, "r");
    check(f && fscanf(f, "%u:%u", &maj, &min) == 2, "read vfio-dev/vfioX/dev");
    if (f) {
        fclose(f);
    }
    snprintf(path, sizeof path, "/dev/vfio/devices/%s", name);
    printf("cdev %s (%u:%u)\n", path, maj, min);
    int dev = open(path, O_RDWR);
    check(dev >= 0, "open /dev/vfio/devices/vfioX");
    struct stat st;
    check(fstat(dev, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(maj, min),
          "fstat: a character device whose st_rdev matches vfio-dev/vfioX/dev");

    iommufd = open("/dev/iommu", O_RDWR);
    check(iommufd >= 0, "open /dev/iommu");
    struct vfio_device_info di = { .argsz = sizeof di };
    check_errno(ioctl(dev, VFIO_DEVICE_GET_INFO, &di), EINVAL, "DEVICE_GET_INFO before BIND");
    struct vfio_device_bind_iommufd bind = { .argsz = sizeof bind, .iommufd = -2 };
    check_errno(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), EBADF, "BIND_IOMMUFD with fd -2");
    bind.iommufd = iommufd;
    check(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind) == 0 && bind.out_devid != 0, "BIND_IOMMUFD");
    check_errno(ioctl(dev, VFIO_DEVICE_BIND_IOMMUFD, &bind), EINVAL, "a second BIND_IOMMUFD");

    struct iofd_hw_info_vtd vtd = { 0 };
    struct iofd_hw_info hw = { .size = sizeof hw, .dev_id = bind.out_devid, .data_len = sizeof vtd,
                               .data_uptr = (uintptr_t)&vtd };
    check(ioctl(iommufd, IOMMUFD_CMD(GET_HW_INFO), &hw) == 0 && hw.out_data_type == 1 && vtd.cap_reg != 0,
          "IOMMU_GET_HW_INFO: Intel VT-d with its CAP/ECAP");
    printf("VT-d cap 0x%llx ecap 0x%llx\n", (unsigned long long)vtd.cap_reg, (unsigned long long)vtd.ecap_reg);

    struct iofd_ioas_alloc alloc = { .size = sizeof alloc };
    check(ioctl(iommufd, IOMMUFD_CMD(IOAS_ALLOC), &alloc) == 0, "IOMMU_IOAS_ALLOC");
    ioas_id = alloc.out_ioas_id;
    struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof at, .pt_id = UINT32_MAX };
    check_errno(ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at), ENOENT, "ATTACH_IOMMUFD_PT to an unknown id");
    at.pt_id = ioas_id;
    check(ioctl(dev, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at) == 0 && at.pt_id != ioas_id,
          "ATTACH_IOMMUFD_PT to the IOAS returns its HWPT");

    struct iofd_iova_ranges rq = { .size = sizeof rq, .ioas_id = ioas_id };
    check_errno(ioctl(iommufd, IOMMUFD_CMD(IOAS_IOVA_RANGES), &rq), EMSGSIZE, "IOAS_IOVA_RANGES with no room");
    struct iofd_iova_range *r = calloc(rq.num_iovas ? rq.num_iovas : 1, sizeof *r);
    rq.allowed_iovas = (uintptr_t)r;
    check(ioctl(iommufd, IOMMUFD_CMD(IOAS_IOVA_RANGES), &rq) == 0, "IOAS_IOVA_RANGES");
    uint64_t top = 0;
    printf("iova ranges:");
    for (uint32_t i = 0; i < rq.num_iovas; i++) {
        printf(" [0x%llx, 0x%llx]", (unsigned long long)r[i].start, (unsigned long long)r[i].last);
        top = r[i].last;
    }
    printf("\n");
    check(rq.num_iovas == 2 && r[0].last == 0xfedfffff && top >= (1ull << 47) - 1,
          "IOVA ranges: the aperture minus the interrupt window");
    free(r);
    return dev;
}

/* The iommufd compat path: the group, with /dev/iommu as its container. */
static int open_compat(const char *bdf)
{
    char path[512], link[512];
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        exit(2);
    }
    link[n] = 0;
    iommufd = open("/dev/iommu", O_RDWR);
    check(iommufd >= 0, "open /dev/iommu as the container");
    check(ioctl(iommufd, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO_GET_API_VERSION");
    check(ioctl(iommufd, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1, "CHECK_EXTENSION(TYPE1v2)");
    check(ioctl(iommufd, VFIO_CHECK_EXTENSION, 10 /* VFIO_UPDATE_VADDR */) == 0,
          "CHECK_EXTENSION(UPDATE_VADDR) is 0 on iommufd");
    snprintf(path, sizeof path, "/dev/vfio/%s", basename(link));
    int group = open(path, O_RDWR);
    check(group >= 0, "open the group");
    check(ioctl(group, VFIO_GROUP_SET_CONTAINER, &iommufd) == 0, "GROUP_SET_CONTAINER(/dev/iommu)");
    check_errno(ioctl(iommufd, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), EINVAL, "SET_IOMMU(NOIOMMU)");
    check(ioctl(iommufd, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0, "SET_IOMMU(TYPE1v2)");
    struct vfio_iommu_type1_info probe = { .argsz = sizeof probe };
    check(ioctl(iommufd, VFIO_IOMMU_GET_INFO, &probe) == 0 && (probe.flags & VFIO_IOMMU_INFO_CAPS),
          "IOMMU_GET_INFO has capabilities");
    int dev = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    check(dev >= 0, "GROUP_GET_DEVICE_FD");
    return dev;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3 || (argc == 3 && strcmp(argv[2], "iommufd") && strcmp(argv[2], "compat-type1v2"))) {
        fprintf(stderr, "usage: %s BDF [iommufd|compat-type1v2]\n", argv[0]);
        return 2;
    }
    const char *bdf = argv[1];
    compat = argc == 3 && !strcmp(argv[2], "compat-type1v2");
    setvbuf(stdout, NULL, _IOLBF, 0);
    int dev = compat ? open_compat(bdf) : open_cdev(bdf);
    if (dev < 0) {
        printf("FAILED: no device\n");
        return 1;
    }

    /* memory: a 1 MiB buffer at IOVA 0, the descriptor page at iova = vaddr */
    size_t buf_size = 1 << 20;
    uint8_t *buf = mmap(NULL, buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    check(dma_map(buf, 0, buf_size) == 0, "map 1 MiB at IOVA 0");
    check_errno(dma_map(buf, 0, 0x1000), EEXIST, "map over a mapped IOVA");
    IoatDesc *desc = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    check(dma_map(desc, (uintptr_t)desc, 4096) == 0, "map the descriptor page with iova = vaddr");

    /* the device */
    struct vfio_device_info di = { .argsz = sizeof di };
    check(ioctl(dev, VFIO_DEVICE_GET_INFO, &di) == 0 && (di.flags & VFIO_DEVICE_FLAGS_PCI) && di.num_irqs == 5,
          "DEVICE_GET_INFO");
    struct vfio_region_info cfg = { .argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX };
    struct vfio_region_info b0 = { .argsz = sizeof b0, .index = VFIO_PCI_BAR0_REGION_INDEX };
    check(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &cfg) == 0 && !(cfg.flags & VFIO_REGION_INFO_FLAG_MMAP),
          "config region, not mappable");
    check(ioctl(dev, VFIO_DEVICE_GET_REGION_INFO, &b0) == 0 && (b0.flags & VFIO_REGION_INFO_FLAG_MMAP),
          "BAR0 mappable");
    uint16_t cmd = 0;
    check(pread(dev, &cmd, 2, (off_t)cfg.offset + 4) == 2 && !(cmd & 4), "Bus Master clear after open");
    cmd |= 6;
    check(pwrite(dev, &cmd, 2, (off_t)cfg.offset + 4) == 2, "set Memory Space and Bus Master");
    bar0 = mmap(NULL, b0.size, PROT_READ | PROT_WRITE, MAP_SHARED, dev, (off_t)b0.offset);
    check(bar0 != MAP_FAILED, "mmap BAR0");
    if (bar0 == MAP_FAILED) {
        return 1;
    }
    check(rd8(IOAT_CBVER) == 0x33, "IOAT version 3.3");
    check(channel_reset() == STS_HALTED, "channel reset leaves HALTED");
    wr8(IOAT_INTRCTRL, IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
    /* iommufd cannot map a device's BAR mmap (the selftest mmio mapping test requires failure) */
    check(dma_map((void *)bar0, 0x40000000, 4096) < 0, "mapping the BAR0 mmap fails");

    int efd = eventfd(0, EFD_NONBLOCK);
    check(set_irq_eventfd(dev, VFIO_PCI_MSIX_IRQ_INDEX, efd) == 0, "SET_IRQS MSI-X vector 0");
    check(!eventfd_pending(efd, 0), "no spurious interrupt");

    for (unsigned i = 0; i < 4096; i++) {
        buf[i] = (uint8_t)(i * 13 + 5);
    }
    memset(buf + 0x80000, 0, 4096);
    check(ioat_copy(desc, (uintptr_t)desc, 0, 0x80000, 4096, 1) == STS_DONE, "copy IOVA 0 -> 0x80000 DONE");
    check(!memcmp(buf, buf + 0x80000, 4096), "copied data landed in the program's buffer");
    uint64_t cnt = 0;
    check(eventfd_pending(efd, 2000) && read(efd, &cnt, 8) == 8 && cnt == 1, "exactly one MSI-X interrupt");
    check(ioat_copy(desc, (uintptr_t)desc, 0, 0x300000000ull, 64, 1) == STS_HALTED,
          "copy to an unmapped IOVA halts the channel");
    check(!eventfd_pending(efd, 100), "no interrupt for the failed copy");
    check(channel_reset() == STS_HALTED, "reset after the error");

    /* hot reset info: probe with a header, then the full list (devids on the cdev path) */
    struct vfio_pci_hot_reset_info hri = { .argsz = sizeof hri };
    int r = ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, &hri);
    if (r < 0 && errno == ENOSPC) {
        size_t sz = sizeof hri + hri.count * sizeof(struct vfio_pci_dependent_device);
        struct vfio_pci_hot_reset_info *full = calloc(1, sz);
        full->argsz = (uint32_t)sz;
        check(ioctl(dev, VFIO_DEVICE_GET_PCI_HOT_RESET_INFO, full) == 0 &&
                  !!(full->flags & VFIO_PCI_HOT_RESET_FLAG_DEV_ID) == !compat,
              "HOT_RESET_INFO (devids on the cdev path, group ids in compat)");
        free(full);
    } else {
        /* a root-complex integrated endpoint has no bus to reset */
        check(r < 0 && errno == ENODEV, "HOT_RESET_INFO: no bus reset for an integrated endpoint");
    }

    uint64_t bytes = 0;
    check(dma_unmap_all(&bytes) == 0 && bytes == buf_size + 4096, "unmap everything reports the bytes");
    check(ioat_copy(desc, (uintptr_t)desc, 0, 0x80000, 64, 0) == STS_HALTED, "copy after unmap faults");
    check(ioctl(dev, VFIO_DEVICE_RESET) == 0, "DEVICE_RESET");
    if (!compat) {
        struct vfio_device_detach_iommufd_pt dt = { .argsz = sizeof dt };
        check(ioctl(dev, VFIO_DEVICE_DETACH_IOMMUFD_PT, &dt) == 0, "DETACH_IOMMUFD_PT");
    }
    munmap((void *)bar0, b0.size);
    close(efd);
    close(dev);
    close(iommufd);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
