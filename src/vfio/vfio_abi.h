/*
 * The VFIO user ABI as the shim serves it: ioctl request numbers, flag
 * values and argument layouts of the legacy container/group/device
 * interface (type1 / type1v2 IOMMU backend) and of the vfio-pci device.
 *
 * Written from the documented layouts (../shared/reference/vfio.md §1;
 * Linux Documentation/driver-api/vfio.rst), not copied from kernel
 * headers: names are our own (VfioAbi*), so that this file and a client's
 * <linux/vfio.h> can never clash, and every layout is pinned by a static
 * assertion on its size and field offsets, so a typo cannot silently move
 * a field.  All VFIO requests are _IO(';', 100 + n): the number carries no
 * size or direction, so the shim dispatches on the kind of fd first.
 *
 * The iommufd ABI (/dev/iommu, the cdev-only device ioctls) is in
 * iommufd_abi.h.
 */
#ifndef VTDSIM_VFIO_VFIO_ABI_H
#define VTDSIM_VFIO_VFIO_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define VFIO_ABI_TYPE ';'
#define VFIO_ABI_REQ(n) ((unsigned long)((VFIO_ABI_TYPE << 8) | (100 + (n))))

/* One name list: request number, name (for messages and the ioctl log). */
#define VFIO_ABI_REQUESTS(X)                                      \
    X(0, GET_API_VERSION)                                         \
    X(1, CHECK_EXTENSION)                                         \
    X(2, SET_IOMMU)                                               \
    X(3, GROUP_GET_STATUS)                                        \
    X(4, GROUP_SET_CONTAINER)                                     \
    X(5, GROUP_UNSET_CONTAINER)                                   \
    X(6, GROUP_GET_DEVICE_FD)                                     \
    X(7, DEVICE_GET_INFO)                                         \
    X(8, DEVICE_GET_REGION_INFO)                                  \
    X(9, DEVICE_GET_IRQ_INFO)                                     \
    X(10, DEVICE_SET_IRQS)                                        \
    X(11, DEVICE_RESET)                                           \
    X(12, IOMMU_GET_INFO_OR_HOT_RESET_INFO)                       \
    X(13, IOMMU_MAP_DMA_OR_PCI_HOT_RESET)                         \
    X(14, IOMMU_UNMAP_DMA)                                        \
    X(16, DEVICE_IOEVENTFD)                                       \
    X(17, IOMMU_DIRTY_PAGES_OR_DEVICE_FEATURE)

enum {
#define VFIO_ABI_ENUM(n, name) VFIO_ABI_##name = VFIO_ABI_REQ(n),
    VFIO_ABI_REQUESTS(VFIO_ABI_ENUM)
#undef VFIO_ABI_ENUM
};

/* Same numbers, meaning chosen by the fd kind. */
#define VFIO_ABI_IOMMU_GET_INFO        VFIO_ABI_REQ(12)
#define VFIO_ABI_DEVICE_HOT_RESET_INFO VFIO_ABI_REQ(12)
#define VFIO_ABI_IOMMU_MAP_DMA         VFIO_ABI_REQ(13)
#define VFIO_ABI_DEVICE_HOT_RESET      VFIO_ABI_REQ(13)
#define VFIO_ABI_IOMMU_DIRTY_PAGES     VFIO_ABI_REQ(17)
#define VFIO_ABI_DEVICE_FEATURE        VFIO_ABI_REQ(17)

/* CHECK_EXTENSION / SET_IOMMU values. */
enum {
    VFIO_ABI_TYPE1_IOMMU = 1,
    VFIO_ABI_SPAPR_TCE_IOMMU = 2,
    VFIO_ABI_TYPE1v2_IOMMU = 3,
    VFIO_ABI_DMA_CC_IOMMU = 4,
    VFIO_ABI_EEH = 5,
    VFIO_ABI_TYPE1_NESTING_IOMMU = 6,
    VFIO_ABI_SPAPR_TCE_v2_IOMMU = 7,
    VFIO_ABI_NOIOMMU_IOMMU = 8,
    VFIO_ABI_UNMAP_ALL = 9,
    VFIO_ABI_UPDATE_VADDR = 10,
};

/* Capability chain header of the *_INFO ioctls; offsets are from the start of the user buffer. */
typedef struct VfioAbiCapHeader {
    uint16_t id;
    uint16_t version;
    uint32_t next;
} VfioAbiCapHeader;

typedef struct VfioAbiGroupStatus {
    uint32_t argsz;
    uint32_t flags;
} VfioAbiGroupStatus;
enum { VFIO_ABI_GROUP_VIABLE = 1, VFIO_ABI_GROUP_CONTAINER_SET = 2 };

typedef struct VfioAbiDeviceInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t num_regions;
    uint32_t num_irqs;
    uint32_t cap_offset;   /* absent in old 16-byte clients */
    uint32_t pad;
} VfioAbiDeviceInfo;
enum { VFIO_ABI_DEVICE_RESET_FLAG = 1, VFIO_ABI_DEVICE_PCI = 2, VFIO_ABI_DEVICE_CAPS = 0x80 };

typedef struct VfioAbiRegionInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t cap_offset;   /* "resv" in old clients */
    uint64_t size;
    uint64_t offset;
} VfioAbiRegionInfo;
enum {
    VFIO_ABI_REGION_READ = 1,
    VFIO_ABI_REGION_WRITE = 2,
    VFIO_ABI_REGION_MMAP = 4,
    VFIO_ABI_REGION_CAPS = 8,
};
enum { VFIO_ABI_REGION_CAP_SPARSE_MMAP = 1, VFIO_ABI_REGION_CAP_TYPE = 2, VFIO_ABI_REGION_CAP_MSIX_MAPPABLE = 3 };
/* vfio-pci's fixed region indexes. */
enum {
    VFIO_ABI_PCI_BAR0 = 0,
    VFIO_ABI_PCI_ROM = 6,
    VFIO_ABI_PCI_CONFIG = 7,
    VFIO_ABI_PCI_VGA = 8,
    VFIO_ABI_PCI_NUM_REGIONS = 9,
};
/* vfio-pci places region N at N << 40 in the device fd (not uAPI, but what clients see). */
#define VFIO_ABI_PCI_OFFSET_SHIFT 40

typedef struct VfioAbiIrqInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t count;
} VfioAbiIrqInfo;
enum {
    VFIO_ABI_IRQ_INFO_EVENTFD = 1,
    VFIO_ABI_IRQ_INFO_MASKABLE = 2,
    VFIO_ABI_IRQ_INFO_AUTOMASKED = 4,
    VFIO_ABI_IRQ_INFO_NORESIZE = 8,
};
enum {
    VFIO_ABI_PCI_INTX_IRQ = 0,
    VFIO_ABI_PCI_MSI_IRQ = 1,
    VFIO_ABI_PCI_MSIX_IRQ = 2,
    VFIO_ABI_PCI_ERR_IRQ = 3,
    VFIO_ABI_PCI_REQ_IRQ = 4,
    VFIO_ABI_PCI_NUM_IRQS = 5,
};

typedef struct VfioAbiIrqSet {
    uint32_t argsz;
    uint32_t flags;
    uint32_t index;
    uint32_t start;
    uint32_t count;
    /* uint8_t data[] follows */
} VfioAbiIrqSet;
enum {
    VFIO_ABI_IRQ_SET_DATA_NONE = 1,
    VFIO_ABI_IRQ_SET_DATA_BOOL = 2,
    VFIO_ABI_IRQ_SET_DATA_EVENTFD = 4,
    VFIO_ABI_IRQ_SET_ACTION_MASK = 8,
    VFIO_ABI_IRQ_SET_ACTION_UNMASK = 16,
    VFIO_ABI_IRQ_SET_ACTION_TRIGGER = 32,
};

typedef struct VfioAbiType1Info {
    uint32_t argsz;
    uint32_t flags;
    uint64_t iova_pgsizes;
    uint32_t cap_offset;   /* absent in old 16-byte clients */
    uint32_t pad;
} VfioAbiType1Info;
enum { VFIO_ABI_IOMMU_INFO_PGSIZES = 1, VFIO_ABI_IOMMU_INFO_CAPS = 2 };
enum {
    VFIO_ABI_IOMMU_CAP_IOVA_RANGE = 1,
    VFIO_ABI_IOMMU_CAP_MIGRATION = 2,
    VFIO_ABI_IOMMU_CAP_DMA_AVAIL = 3,
};

typedef struct VfioAbiDmaMap {
    uint32_t argsz;
    uint32_t flags;
    uint64_t vaddr;
    uint64_t iova;
    uint64_t size;
} VfioAbiDmaMap;
enum { VFIO_ABI_DMA_MAP_READ = 1, VFIO_ABI_DMA_MAP_WRITE = 2, VFIO_ABI_DMA_MAP_VADDR = 4 };

typedef struct VfioAbiDmaUnmap {
    uint32_t argsz;
    uint32_t flags;
    uint64_t iova;
    uint64_t size;
    /* VfioAbiBitmap follows with GET_DIRTY_BITMAP */
} VfioAbiDmaUnmap;
enum {
    VFIO_ABI_DMA_UNMAP_GET_DIRTY_BITMAP = 1,
    VFIO_ABI_DMA_UNMAP_ALL = 2,
    VFIO_ABI_DMA_UNMAP_VADDR = 4,
};

typedef struct VfioAbiBitmap {
    uint64_t pgsize;
    uint64_t size;   /* bytes of the bitmap buffer */
    uint64_t data;   /* user pointer to u64 words */
} VfioAbiBitmap;

typedef struct VfioAbiDirty {
    uint32_t argsz;
    uint32_t flags;
    /* with GET_BITMAP: VfioAbiDirtyGet follows */
} VfioAbiDirty;
enum { VFIO_ABI_DIRTY_START = 1, VFIO_ABI_DIRTY_STOP = 2, VFIO_ABI_DIRTY_GET_BITMAP = 4 };
typedef struct VfioAbiDirtyGet {
    uint64_t iova;
    uint64_t size;
    VfioAbiBitmap bitmap;
} VfioAbiDirtyGet;

typedef struct VfioAbiHotResetDev {
    uint32_t group_id;
    uint16_t segment;
    uint8_t bus;
    uint8_t devfn;
} VfioAbiHotResetDev;
typedef struct VfioAbiHotResetInfo {
    uint32_t argsz;
    uint32_t flags;
    uint32_t count;
    /* VfioAbiHotResetDev devices[] follow */
} VfioAbiHotResetInfo;
typedef struct VfioAbiHotReset {
    uint32_t argsz;
    uint32_t flags;
    uint32_t count;
    /* int32_t group_fds[] follow */
} VfioAbiHotReset;

typedef struct VfioAbiFeature {
    uint32_t argsz;
    uint32_t flags;
    /* uint8_t data[] follows */
} VfioAbiFeature;
enum {
    VFIO_ABI_FEATURE_MASK = 0xffff,
    VFIO_ABI_FEATURE_GET = 1u << 16,
    VFIO_ABI_FEATURE_SET = 1u << 17,
    VFIO_ABI_FEATURE_PROBE = 1u << 18,
    VFIO_ABI_FEATURE_PCI_VF_TOKEN = 0,
};

/* Layouts pinned against the sizes vfio.md states (§1.2-1.4). */
static_assert(sizeof(VfioAbiCapHeader) == 8, "cap header");
static_assert(sizeof(VfioAbiDeviceInfo) == 24 && offsetof(VfioAbiDeviceInfo, cap_offset) == 16, "device_info");
static_assert(sizeof(VfioAbiRegionInfo) == 32 && offsetof(VfioAbiRegionInfo, offset) == 24, "region_info");
static_assert(sizeof(VfioAbiIrqInfo) == 16, "irq_info");
static_assert(sizeof(VfioAbiIrqSet) == 20, "irq_set");
static_assert(sizeof(VfioAbiType1Info) == 24 && offsetof(VfioAbiType1Info, cap_offset) == 16, "type1_info");
static_assert(sizeof(VfioAbiDmaMap) == 32, "dma_map");
static_assert(sizeof(VfioAbiDmaUnmap) == 24, "dma_unmap");
static_assert(sizeof(VfioAbiBitmap) == 24, "bitmap");
static_assert(sizeof(VfioAbiHotResetDev) == 8 && sizeof(VfioAbiHotResetInfo) == 12, "hot_reset_info");

/* argsz minimums: offsetofend of the last mandatory field. */
#define VFIO_ABI_MINSZ(type, field) (offsetof(type, field) + sizeof(((type *)0)->field))

#endif
