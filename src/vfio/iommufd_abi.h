/*
 * The iommufd user ABI as the shim serves it: the /dev/iommu ioctls
 * (IOAS, HWPT, device info, invalidation, options, VFIO compat IOAS) and
 * the three cdev-only VFIO device ioctls (BIND_IOMMUFD, ATTACH/DETACH
 * _IOMMUFD_PT) with the cdev flags of HOT_RESET_INFO.
 *
 * Written from the documented layouts (../shared/reference/vfio.md §1.4,
 * §1.5 and §3.5), not from kernel headers: Debian 12's /usr/include/linux
 * has no iommufd.h and its vfio.h predates the cdev ioctls, so clients
 * built here carry their own definitions too.  Names are ours
 * (IommuAbi*, VfioAbi*) so nothing can clash with a client's headers, and
 * every layout is pinned by a static assertion on its size and on the
 * offsets that moved between kernel versions.
 *
 * Every iommufd request is _IO(';', 0x80 + n) and every argument begins
 * with its own u32 size: the kernel reads min(size, its struct) bytes,
 * refuses a size below the command's minimum (EINVAL, the offsetofend of
 * the last field the first kernel with the command had) and refuses
 * non-zero bytes beyond its struct (E2BIG).  The minimums are listed once,
 * beside the request numbers, in IOMMU_ABI_REQUESTS.
 */
#ifndef VTDSIM_VFIO_IOMMUFD_ABI_H
#define VTDSIM_VFIO_IOMMUFD_ABI_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include "vfio/vfio_abi.h"

/* ---- cdev-only VFIO device ioctls (vfio.md §1.4) ------------------------------------------- */

#define VFIO_ABI_DEVICE_BIND_IOMMUFD    VFIO_ABI_REQ(18)
#define VFIO_ABI_DEVICE_ATTACH_PT       VFIO_ABI_REQ(19)
#define VFIO_ABI_DEVICE_DETACH_PT       VFIO_ABI_REQ(20)

typedef struct VfioAbiBindIommufd {
    uint32_t argsz;
    uint32_t flags;          /* VFIO_ABI_BIND_TOKEN */
    int32_t iommufd;
    uint32_t out_devid;
    uint64_t token_uuid_ptr; /* with VFIO_ABI_BIND_TOKEN: user pointer to a 16-byte UUID */
} VfioAbiBindIommufd;
enum { VFIO_ABI_BIND_TOKEN = 1 };

typedef struct VfioAbiAttachPt {
    uint32_t argsz;
    uint32_t flags;          /* VFIO_ABI_ATTACH_PASID */
    uint32_t pt_id;          /* in: IOAS or HWPT id; out: the HWPT attached */
    uint32_t pasid;
} VfioAbiAttachPt;
typedef struct VfioAbiDetachPt {
    uint32_t argsz;
    uint32_t flags;
    uint32_t pasid;
} VfioAbiDetachPt;
enum { VFIO_ABI_ATTACH_PASID = 1 };

/* HOT_RESET_INFO on a cdev fd: entries carry devids instead of group ids. */
enum { VFIO_ABI_HOT_RESET_DEV_ID = 1, VFIO_ABI_HOT_RESET_DEV_ID_OWNED = 2 };
#define VFIO_ABI_DEVID_OWNED     0u           /* owned through the iommufd, not bound */
#define VFIO_ABI_DEVID_NOT_OWNED 0xffffffffu

/* ---- /dev/iommu (vfio.md §1.5) ------------------------------------------------------------- */

#define IOMMU_ABI_REQ(n) ((unsigned long)((VFIO_ABI_TYPE << 8) | (0x80 + (n))))

/* X(n, name, struct, last mandatory field): the command table, one row per ioctl. */
#define IOMMU_ABI_REQUESTS(X)                                           \
    X(0, DESTROY, IommuAbiDestroy, id)                                  \
    X(1, IOAS_ALLOC, IommuAbiIoasAlloc, out_ioas_id)                    \
    X(2, IOAS_ALLOW_IOVAS, IommuAbiIoasAllowIovas, allowed_iovas)       \
    X(3, IOAS_COPY, IommuAbiIoasCopy, src_iova)                         \
    X(4, IOAS_IOVA_RANGES, IommuAbiIoasIovaRanges, out_iova_alignment)  \
    X(5, IOAS_MAP, IommuAbiIoasMap, iova)                               \
    X(6, IOAS_UNMAP, IommuAbiIoasUnmap, length)                         \
    X(7, OPTION, IommuAbiOption, val64)                                 \
    X(8, VFIO_IOAS, IommuAbiVfioIoas, reserved)                         \
    X(9, HWPT_ALLOC, IommuAbiHwptAlloc, reserved)                       \
    X(10, GET_HW_INFO, IommuAbiHwInfo, reserved)                        \
    X(11, HWPT_SET_DIRTY_TRACKING, IommuAbiHwptSetDirty, reserved)      \
    X(12, HWPT_GET_DIRTY_BITMAP, IommuAbiHwptGetDirtyBitmap, data)      \
    X(13, HWPT_INVALIDATE, IommuAbiHwptInvalidate, reserved)            \
    X(14, FAULT_QUEUE_ALLOC, IommuAbiFaultAlloc, out_fault_fd)

enum {
#define IOMMU_ABI_ENUM(n, name, type, last) IOMMU_ABI_##name = IOMMU_ABI_REQ(n),
    IOMMU_ABI_REQUESTS(IOMMU_ABI_ENUM)
#undef IOMMU_ABI_ENUM
};
#define IOMMU_ABI_FIRST IOMMU_ABI_REQ(0)
#define IOMMU_ABI_LAST  IOMMU_ABI_REQ(14)

typedef struct IommuAbiDestroy {
    uint32_t size;
    uint32_t id;
} IommuAbiDestroy;

typedef struct IommuAbiIoasAlloc {
    uint32_t size;
    uint32_t flags;
    uint32_t out_ioas_id;
} IommuAbiIoasAlloc;

/* An inclusive IOVA range. */
typedef struct IommuAbiIovaRange {
    uint64_t start;
    uint64_t last;
} IommuAbiIovaRange;

typedef struct IommuAbiIoasAllowIovas {
    uint32_t size;
    uint32_t ioas_id;
    uint32_t num_iovas;
    uint32_t reserved;
    uint64_t allowed_iovas;  /* user pointer to IommuAbiIovaRange[num_iovas] */
} IommuAbiIoasAllowIovas;

typedef struct IommuAbiIoasCopy {
    uint32_t size;
    uint32_t flags;          /* IOMMU_ABI_MAP_* */
    uint32_t dst_ioas_id;
    uint32_t src_ioas_id;
    uint64_t length;
    uint64_t dst_iova;
    uint64_t src_iova;
} IommuAbiIoasCopy;

typedef struct IommuAbiIoasIovaRanges {
    uint32_t size;
    uint32_t ioas_id;
    uint32_t num_iovas;      /* in: room; out: ranges there are */
    uint32_t reserved;
    uint64_t allowed_iovas;  /* user pointer to IommuAbiIovaRange[num_iovas] */
    uint64_t out_iova_alignment;
} IommuAbiIoasIovaRanges;

typedef struct IommuAbiIoasMap {
    uint32_t size;
    uint32_t flags;
    uint32_t ioas_id;
    uint32_t reserved;
    uint64_t user_va;
    uint64_t length;
    uint64_t iova;           /* in with FIXED_IOVA, else out */
} IommuAbiIoasMap;
enum { IOMMU_ABI_MAP_FIXED_IOVA = 1, IOMMU_ABI_MAP_WRITEABLE = 2, IOMMU_ABI_MAP_READABLE = 4 };

typedef struct IommuAbiIoasUnmap {
    uint32_t size;
    uint32_t ioas_id;
    uint64_t iova;
    uint64_t length;         /* in: range; out: bytes unmapped */
} IommuAbiIoasUnmap;

typedef struct IommuAbiOption {
    uint32_t size;
    uint32_t option_id;
    uint16_t op;
    uint16_t reserved;
    uint32_t object_id;
    uint64_t val64;
} IommuAbiOption;
enum { IOMMU_ABI_OPTION_RLIMIT_MODE = 0, IOMMU_ABI_OPTION_HUGE_PAGES = 1 };
enum { IOMMU_ABI_OPTION_OP_SET = 0, IOMMU_ABI_OPTION_OP_GET = 1 };

typedef struct IommuAbiVfioIoas {
    uint32_t size;
    uint32_t ioas_id;
    uint16_t op;
    uint16_t reserved;
} IommuAbiVfioIoas;
enum { IOMMU_ABI_VFIO_IOAS_GET = 0, IOMMU_ABI_VFIO_IOAS_SET = 1, IOMMU_ABI_VFIO_IOAS_CLEAR = 2 };

typedef struct IommuAbiHwptAlloc {
    uint32_t size;
    uint32_t flags;
    uint32_t dev_id;
    uint32_t pt_id;
    uint32_t out_hwpt_id;
    uint32_t reserved;
    uint32_t data_type;
    uint32_t data_len;
    uint64_t data_uptr;
    uint32_t fault_id;
    uint32_t reserved2;
} IommuAbiHwptAlloc;
enum {
    IOMMU_ABI_HWPT_NEST_PARENT = 1,
    IOMMU_ABI_HWPT_DIRTY_TRACKING = 2,
    IOMMU_ABI_HWPT_FAULT_ID_VALID = 4,
    IOMMU_ABI_HWPT_PASID = 8,
};
enum { IOMMU_ABI_HWPT_DATA_NONE = 0, IOMMU_ABI_HWPT_DATA_VTD_S1 = 1, IOMMU_ABI_HWPT_DATA_ARM_SMMUV3 = 2 };

/* Stage-1 table of a nested HWPT: pgtbl_addr is an address in the parent's IOVA space. */
typedef struct IommuAbiHwptVtdS1 {
    uint64_t flags;
    uint64_t pgtbl_addr;
    uint32_t addr_width;     /* 48 or 57 */
    uint32_t reserved;
} IommuAbiHwptVtdS1;
enum { IOMMU_ABI_VTD_S1_SRE = 1, IOMMU_ABI_VTD_S1_EAFE = 2, IOMMU_ABI_VTD_S1_WPE = 4 };

typedef struct IommuAbiHwInfo {
    uint32_t size;
    uint32_t flags;          /* IOMMU_ABI_HW_INFO_INPUT_TYPE */
    uint32_t dev_id;
    uint32_t data_len;       /* in: buffer size; out: the driver's size */
    uint64_t data_uptr;
    uint32_t out_data_type;  /* in_data_type with INPUT_TYPE */
    uint8_t out_max_pasid_log2;
    uint8_t reserved[3];
    uint64_t out_capabilities;
} IommuAbiHwInfo;
enum { IOMMU_ABI_HW_INFO_INPUT_TYPE = 1 };
enum { IOMMU_ABI_HW_INFO_TYPE_DEFAULT = 0, IOMMU_ABI_HW_INFO_TYPE_INTEL_VTD = 1 };
enum {
    IOMMU_ABI_HW_CAP_DIRTY_TRACKING = 1,
    IOMMU_ABI_HW_CAP_PCI_PASID_EXEC = 2,
    IOMMU_ABI_HW_CAP_PCI_PASID_PRIV = 4,
};

typedef struct IommuAbiHwInfoVtd {
    uint32_t flags;          /* ERRATA_772415_SPR17 = 1 */
    uint32_t reserved;
    uint64_t cap_reg;
    uint64_t ecap_reg;
} IommuAbiHwInfoVtd;

typedef struct IommuAbiHwptSetDirty {
    uint32_t size;
    uint32_t flags;          /* ENABLE = 1 */
    uint32_t hwpt_id;
    uint32_t reserved;
} IommuAbiHwptSetDirty;

typedef struct IommuAbiHwptGetDirtyBitmap {
    uint32_t size;
    uint32_t hwpt_id;
    uint32_t flags;
    uint32_t reserved;
    uint64_t iova;
    uint64_t length;
    uint64_t page_size;
    uint64_t data;
} IommuAbiHwptGetDirtyBitmap;

typedef struct IommuAbiHwptInvalidate {
    uint32_t size;
    uint32_t hwpt_id;
    uint64_t data_uptr;
    uint32_t data_type;
    uint32_t entry_len;
    uint32_t entry_num;      /* in: entries given; out: entries handled */
    uint32_t reserved;
} IommuAbiHwptInvalidate;
enum { IOMMU_ABI_HWPT_INVALIDATE_DATA_VTD_S1 = 0 };

typedef struct IommuAbiVtdS1Inval {
    uint64_t addr;           /* 4 KiB aligned; 0 with npages = U64_MAX: everything */
    uint64_t npages;
    uint32_t flags;          /* LEAF = 1 */
    uint32_t reserved;
} IommuAbiVtdS1Inval;
enum { IOMMU_ABI_VTD_INV_LEAF = 1 };

typedef struct IommuAbiFaultAlloc {
    uint32_t size;
    uint32_t flags;
    uint32_t out_fault_id;
    uint32_t out_fault_fd;
} IommuAbiFaultAlloc;

/* Layouts pinned against the sizes vfio.md §3.5 states. */
static_assert(sizeof(VfioAbiBindIommufd) == 24 && offsetof(VfioAbiBindIommufd, token_uuid_ptr) == 16, "bind");
static_assert(sizeof(VfioAbiAttachPt) == 16 && offsetof(VfioAbiAttachPt, pasid) == 12, "attach_pt");
static_assert(sizeof(VfioAbiDetachPt) == 12, "detach_pt");
static_assert(sizeof(IommuAbiDestroy) == 8 && sizeof(IommuAbiIoasAlloc) == 12, "destroy, ioas_alloc");
static_assert(sizeof(IommuAbiIoasAllowIovas) == 24 && sizeof(IommuAbiIoasCopy) == 40, "allow_iovas, copy");
static_assert(sizeof(IommuAbiIoasIovaRanges) == 32, "iova_ranges");
static_assert(sizeof(IommuAbiIoasMap) == 40 && offsetof(IommuAbiIoasMap, user_va) == 16, "ioas_map");
static_assert(sizeof(IommuAbiIoasUnmap) == 24 && sizeof(IommuAbiOption) == 24, "unmap, option");
static_assert(sizeof(IommuAbiVfioIoas) == 12, "vfio_ioas");
static_assert(sizeof(IommuAbiHwptAlloc) == 48 && offsetof(IommuAbiHwptAlloc, data_uptr) == 32, "hwpt_alloc");
static_assert(sizeof(IommuAbiHwptVtdS1) == 24, "hwpt_vtd_s1");
static_assert(sizeof(IommuAbiHwInfo) == 40 && offsetof(IommuAbiHwInfo, out_capabilities) == 32, "hw_info");
static_assert(sizeof(IommuAbiHwInfoVtd) == 24, "hw_info_vtd");
static_assert(sizeof(IommuAbiHwptSetDirty) == 16 && sizeof(IommuAbiHwptGetDirtyBitmap) == 48, "dirty");
static_assert(sizeof(IommuAbiHwptInvalidate) == 32 && offsetof(IommuAbiHwptInvalidate, entry_num) == 24,
              "hwpt_invalidate");
static_assert(sizeof(IommuAbiVtdS1Inval) == 24, "vtd_s1_invalidate");
static_assert(sizeof(IommuAbiFaultAlloc) == 16, "fault_alloc");

#endif
