/*
 * A VFIO user-space driver written the way Linux's
 * Documentation/driver-api/vfio.rst describes the legacy container flow,
 * against the system's <linux/vfio.h>, with nothing vtdsim-specific in it:
 * run under vtdsim-run it must work on the simulated platform exactly as
 * it would on a host with a real IOAT (CBDMA) channel.
 *
 *   vfio_rst BDF          e.g. vfio_rst 0000:00:04.0
 *
 * Steps (each prints one "ok"/"FAIL" line; exit status 1 on any failure):
 * group discovery through sysfs, container and group setup, TYPE1v2,
 * IOMMU info with its capability chain (two-call dance), the errno
 * contract of MAP_DMA/UNMAP_DMA, device/region/IRQ info, config space
 * (IDs agree with sysfs, Bus Master initially clear), BAR0 mmap with
 * polling loads, then the IOAT: channel reset, a 4 KiB copy through the
 * IOMMU with an MSI-X interrupt on an eventfd, a copy to an unmapped IOVA
 * that must halt the channel without an interrupt, a copy from a forked
 * child, and a device reset.
 */
#define _GNU_SOURCE
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
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "vfio_client.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s BDF\n", argv[0]);
        return 2;
    }
    const char *bdf = argv[1];
    char path[512], link[512];
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* 1. the group, from sysfs */
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/iommu_group", bdf);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return 2;
    }
    link[n] = 0;
    int group_id = atoi(basename(link));
    printf("group %d\n", group_id);

    /* 2. container */
    int container = open("/dev/vfio/vfio", O_RDWR);
    check(container >= 0, "open /dev/vfio/vfio");
    check(ioctl(container, VFIO_GET_API_VERSION) == VFIO_API_VERSION, "VFIO_GET_API_VERSION");
    check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU) == 1, "CHECK_EXTENSION(TYPE1v2)");
    check(ioctl(container, VFIO_CHECK_EXTENSION, VFIO_NOIOMMU_IOMMU) == 0, "CHECK_EXTENSION(NOIOMMU) is 0");
    check_errno(ioctl(container, VFIO_IOMMU_GET_INFO, &(struct vfio_iommu_type1_info){ .argsz = 24 }), EINVAL,
                "IOMMU_GET_INFO before SET_IOMMU");

    /* 3. group */
    snprintf(path, sizeof path, "/dev/vfio/%d", group_id);
    int group = open(path, O_RDWR);
    check(group >= 0, "open group");
    check_errno(open(path, O_RDWR), EBUSY, "second open of the group");
    struct vfio_group_status status = { .argsz = sizeof status };
    check(ioctl(group, VFIO_GROUP_GET_STATUS, &status) == 0 && (status.flags & VFIO_GROUP_FLAGS_VIABLE),
          "group viable");
    check_errno(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU), EINVAL, "SET_IOMMU without a group");
    check(ioctl(group, VFIO_GROUP_SET_CONTAINER, &container) == 0, "GROUP_SET_CONTAINER");
    check_errno(ioctl(container, VFIO_SET_IOMMU, VFIO_NOIOMMU_IOMMU), ENODEV, "SET_IOMMU(NOIOMMU) refused");
    check(ioctl(container, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) == 0, "SET_IOMMU(TYPE1v2)");

    /* 4. IOMMU info: the two-call capability dance */
    struct vfio_iommu_type1_info probe = { .argsz = sizeof probe };
    check(ioctl(container, VFIO_IOMMU_GET_INFO, &probe) == 0 && (probe.flags & VFIO_IOMMU_INFO_CAPS) &&
              probe.argsz > sizeof probe && probe.cap_offset == 0,
          "IOMMU_GET_INFO first call asks for a larger buffer");
    struct vfio_iommu_type1_info *info = calloc(1, probe.argsz);
    info->argsz = probe.argsz;
    check(ioctl(container, VFIO_IOMMU_GET_INFO, info) == 0 && info->cap_offset >= sizeof *info,
          "IOMMU_GET_INFO second call fills the chain");
    check(info->iova_pgsizes & 4096, "4 KiB IOMMU pages");
    uint64_t top = 0;
    for (uint32_t off = info->cap_offset; off;) {
        struct vfio_info_cap_header *h = (void *)((char *)info + off);
        if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE) {
            struct vfio_iommu_type1_info_cap_iova_range *r = (void *)h;
            printf("iova ranges:");
            for (uint32_t i = 0; i < r->nr_iovas; i++) {
                printf(" [0x%llx, 0x%llx]", (unsigned long long)r->iova_ranges[i].start,
                       (unsigned long long)r->iova_ranges[i].end);
                top = r->iova_ranges[i].end;
            }
            printf("\n");
        }
        off = h->next;
    }
    check(top >= (1ull << 47) - 1, "IOVA range reaches 2^47 - 1 (iova = user VA works)");

    /* 5. mappings and their errno contract */
    size_t buf_size = 1 << 20;
    uint8_t *buf = mmap(NULL, buf_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    struct vfio_iommu_type1_dma_map map = { .argsz = sizeof map, .flags = VFIO_DMA_MAP_FLAG_READ |
                                            VFIO_DMA_MAP_FLAG_WRITE, .vaddr = (uintptr_t)buf, .iova = 0,
                                            .size = buf_size };
    check(ioctl(container, VFIO_IOMMU_MAP_DMA, &map) == 0, "MAP_DMA 1 MiB at IOVA 0");
    check_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &map), EEXIST, "MAP_DMA of a mapped range");
    struct vfio_iommu_type1_dma_map bad = map;
    bad.iova = 0x100001;
    check_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &bad), EINVAL, "MAP_DMA of a misaligned IOVA");
    bad = map;
    bad.iova = ~0ull - 0xfff;
    bad.size = 0x2000;
    check_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &bad), EOVERFLOW, "MAP_DMA wrapping the IOVA space");
    bad = map;
    bad.iova = 0xfee00000;
    check_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &bad), EINVAL, "MAP_DMA over the interrupt window");
    bad = map;
    bad.iova = 0x40000000;
    bad.vaddr = 0x1000;
    check_errno(ioctl(container, VFIO_IOMMU_MAP_DMA, &bad), EFAULT, "MAP_DMA of unmapped memory");
    struct vfio_iommu_type1_dma_unmap unmap = { .argsz = sizeof unmap, .iova = 0x1000, .size = 0x1000 };
    check_errno(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap), EINVAL, "v2 UNMAP_DMA bisecting a mapping");
    unmap = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof unmap, .flags = 3 };
    check_errno(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap), EINVAL, "UNMAP_DMA with flags 3 (ixy's bug)");
    unmap = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof unmap, .iova = 0x10000000, .size = 0x1000 };
    check(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == 0, "UNMAP_DMA of nothing: size 0");
    /* the descriptor page, mapped with iova = vaddr as the selftests and DPDK do */
    IoatDesc *desc = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    struct vfio_iommu_type1_dma_map dmap = { .argsz = sizeof dmap, .flags = VFIO_DMA_MAP_FLAG_READ |
                                             VFIO_DMA_MAP_FLAG_WRITE, .vaddr = (uintptr_t)desc,
                                             .iova = (uintptr_t)desc, .size = 4096 };
    check(ioctl(container, VFIO_IOMMU_MAP_DMA, &dmap) == 0, "MAP_DMA with iova = vaddr");

    /* 6. the device */
    int device = ioctl(group, VFIO_GROUP_GET_DEVICE_FD, bdf);
    check(device >= 0, "GROUP_GET_DEVICE_FD");
    check_errno(ioctl(group, VFIO_GROUP_GET_DEVICE_FD, "0000:7f:00.0"), ENODEV, "GET_DEVICE_FD of a stranger");
    check_errno(ioctl(group, VFIO_GROUP_UNSET_CONTAINER), EBUSY, "UNSET_CONTAINER with an open device");
    struct vfio_device_info dinfo = { .argsz = sizeof dinfo };
    check(ioctl(device, VFIO_DEVICE_GET_INFO, &dinfo) == 0 && (dinfo.flags & VFIO_DEVICE_FLAGS_PCI) &&
              dinfo.num_regions >= 9 && dinfo.num_irqs == 5,
          "DEVICE_GET_INFO: PCI, 9 regions, 5 IRQ indexes");
    uint64_t cfg_off = 0, bar0_size = 0;
    for (unsigned i = 0; i < dinfo.num_regions; i++) {
        struct vfio_region_info r = { .argsz = sizeof r, .index = i };
        if (ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &r) == 0) {
            printf("region %u: size 0x%llx offset 0x%llx flags 0x%x\n", i, (unsigned long long)r.size,
                   (unsigned long long)r.offset, r.flags);
            if (i == VFIO_PCI_CONFIG_REGION_INDEX) {
                cfg_off = r.offset;
                check(!(r.flags & VFIO_REGION_INFO_FLAG_MMAP) && r.size == 4096, "config: 4 KiB, not mappable");
            }
            if (i == VFIO_PCI_BAR0_REGION_INDEX) {
                bar0_size = r.size;
                check(r.flags & VFIO_REGION_INFO_FLAG_MMAP, "BAR0 mappable");
            }
        }
    }
    struct vfio_region_info rbad = { .argsz = sizeof rbad, .index = 9 };
    check_errno(ioctl(device, VFIO_DEVICE_GET_REGION_INFO, &rbad), EINVAL, "REGION_INFO index 9");
    for (unsigned i = 0; i < dinfo.num_irqs; i++) {
        struct vfio_irq_info irq = { .argsz = sizeof irq, .index = i };
        if (ioctl(device, VFIO_DEVICE_GET_IRQ_INFO, &irq) == 0) {
            printf("irq %u: count %u flags 0x%x\n", i, irq.count, irq.flags);
        }
    }

    /* 7. config space: IDs as sysfs shows them, Bus Master clear after open */
    uint16_t ids[2], cmd;
    check(pread(device, ids, 4, (off_t)cfg_off) == 4, "config read of the IDs");
    snprintf(path, sizeof path, "/sys/bus/pci/devices/%s/device", bdf);
    FILE *f = fopen(path, "r");
    unsigned sys_dev = 0;
    if (f) {
        check(fscanf(f, "%x", &sys_dev) == 1, "read sysfs device");
        fclose(f);
    }
    printf("ids %04x:%04x\n", ids[0], ids[1]);
    check(ids[0] == 0x8086 && ids[1] == sys_dev, "config IDs agree with sysfs");
    check(pread(device, &cmd, 2, (off_t)cfg_off + 4) == 2 && !(cmd & 4), "Bus Master clear after open");
    cmd |= 6;
    check(pwrite(device, &cmd, 2, (off_t)cfg_off + 4) == 2, "set Memory Space and Bus Master");

    /* 8. BAR0: mapped, every access trapped and emulated */
    check(mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, device, 0) == MAP_FAILED && errno == EINVAL,
          "private mmap of a BAR refused");
    bar0 = mmap(NULL, bar0_size, PROT_READ | PROT_WRITE, MAP_SHARED, device, 0);
    check(bar0 != MAP_FAILED, "mmap BAR0");
    if (bar0 == MAP_FAILED) {
        return 1;
    }
    printf("CBVER 0x%02x\n", rd8(IOAT_CBVER));
    check(rd8(IOAT_CBVER) == 0x33, "IOAT version 3.3");
    check(channel_reset() == STS_HALTED, "channel reset leaves HALTED");

    /* 9. MSI-X vector 0 on an eventfd */
    int efd = eventfd(0, EFD_NONBLOCK);
    check(set_irq_eventfd(device, VFIO_PCI_MSIX_IRQ_INDEX, efd) == 0, "SET_IRQS MSI-X vector 0");
    check(!eventfd_pending(efd, 0), "no spurious interrupt");
    wr8(IOAT_INTRCTRL, IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);

    /* 10. a copy through the IOMMU, with an interrupt */
    for (unsigned i = 0; i < 4096; i++) {
        buf[i] = (uint8_t)(i * 7 + 1);
    }
    memset(buf + 0x80000, 0, 4096);
    check(ioat_copy(desc, (uintptr_t)desc, 0x0, 0x80000, 4096, 1) == STS_DONE, "copy IOVA 0 -> 0x80000 DONE");
    check(!memcmp(buf, buf + 0x80000, 4096), "copied data landed in the program's buffer");
    check(eventfd_pending(efd, 2000), "MSI-X interrupt on the eventfd");
    uint64_t cnt = 0;
    check(read(efd, &cnt, 8) == 8 && cnt == 1, "exactly one interrupt");

    /* 11. a copy to an unmapped IOVA: halted, CHANERR, no interrupt, a VT-d fault */
    check(ioat_copy(desc, (uintptr_t)desc, 0x0, 0x200000000ull, 64, 1) == STS_HALTED,
          "copy to an unmapped IOVA halts the channel");
    printf("CHANERR 0x%08x\n", *(volatile uint32_t *)(bar0 + IOAT_CHANERR));
    check(*(volatile uint32_t *)(bar0 + IOAT_CHANERR) != 0, "CHANERR set");
    check(!eventfd_pending(efd, 100), "no interrupt for the failed copy");
    check(channel_reset() == STS_HALTED, "reset after the error");
    wr8(IOAT_INTRCTRL, IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);

    /* 12. a forked child keeps its VFIO fds working */
    pid_t pid = fork();
    if (pid == 0) {
        memset(buf + 0x90000, 0, 64);
        int st = ioat_copy(desc, (uintptr_t)desc, 0x0, 0x90000, 64, 0);
        _exit(st == STS_DONE && !memcmp(buf, buf + 0x90000, 64) ? 0 : 1);
    }
    int wst = 0;
    waitpid(pid, &wst, 0);
    check(WIFEXITED(wst) && WEXITSTATUS(wst) == 0, "copy from a forked child");

    /* 13. unmap, reset, teardown */
    unmap = (struct vfio_iommu_type1_dma_unmap){ .argsz = sizeof unmap, .iova = 0, .size = buf_size };
    check(ioctl(container, VFIO_IOMMU_UNMAP_DMA, &unmap) == 0 && unmap.size == buf_size,
          "UNMAP_DMA reports the bytes unmapped");
    check(ioat_copy(desc, (uintptr_t)desc, 0x0, 0x80000, 64, 0) == STS_HALTED, "copy after unmap faults");
    check(ioctl(device, VFIO_DEVICE_RESET) == 0, "DEVICE_RESET");
    check(channel_reset() == STS_HALTED, "channel usable after the reset");
    munmap((void *)bar0, bar0_size);
    close(efd);
    close(device);
    check(ioctl(group, VFIO_GROUP_UNSET_CONTAINER) == 0, "UNSET_CONTAINER");
    close(group);
    close(container);
    printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
    return failures ? 1 : 0;
}
