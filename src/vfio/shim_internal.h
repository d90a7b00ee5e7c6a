/*
 * State shared by the VFIO shim's files (shim.c: fds, containers, groups;
 * shim_ioas.c: IO address spaces; shim_device.c: devices, regions,
 * interrupts; shim_iommufd.c: /dev/iommu objects and the cdev device
 * path).  Not installed.
 */
#ifndef VTDSIM_VFIO_SHIM_INTERNAL_H
#define VTDSIM_VFIO_SHIM_INTERNAL_H

#include "vfio/shim.h"
#include "vfio/vfio_abi.h"
#include "vfio/iommufd_abi.h"
#include "vfio/mmio_trap.h"
#include "platform/platform.h"
#include "driver/vtd_driver.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"

/* Parameters (documented in docs/vfio.md). */
#define SHIM_HPA_BASE (1ull << 36)          /* bytes: simulated HPA window for mapped client memory ... */
#define SHIM_HPA_END  (1ull << 39)          /* ... up to the 39-bit host address width of the q35 unit */
#define SHIM_DMA_ENTRY_LIMIT 65535u         /* vfio_iommu_type1 dma_entry_limit default */
#define SHIM_IRTE_LOG2 12                   /* 4096 IRTEs per unit */
#define SHIM_MMIO_READ_PS 800000ull         /* ps: an uncached MMIO read round trip (~0.8 us, pcie-bench) */
#define SHIM_MMIO_WRITE_PS 100000ull        /* ps: a posted MMIO write leaving the core (~0.1 us) */
#define SHIM_IDLE_STEP_PS 1000000ull        /* ps: how far the background thread runs per step */
#define SHIM_PAGE 4096u

typedef enum ShimFdKind {
    SHIM_FD_CONTAINER = 1,
    SHIM_FD_GROUP,
    SHIM_FD_DEVICE,
    SHIM_FD_IOMMUFD,       /* /dev/iommu: obj is a ShimIommufd */
    SHIM_FD_CDEV,          /* /dev/vfio/devices/vfioK: obj is a ShimCdev */
} ShimFdKind;

typedef struct ShimFd {
    ShimFdKind kind;
    void *obj;
} ShimFd;

typedef struct ShimDevice ShimDevice;

typedef struct ShimUnit {
    PlatformVtd *pv;
    VtdDrv *drv;
    unsigned index;        /* in VfioShim.units */
    bool ir;               /* interrupt remapping enabled */
    bool scalable;         /* brought up in scalable mode (ECAP.SMTS, as Linux does by default) */
    unsigned next_irte;
} ShimUnit;

typedef struct ShimDma {
    uint64_t iova, size, vaddr, hpa;
    unsigned prot;         /* VTD_PROT_* */
    MemRegion *region;     /* host-backed window at hpa */
} ShimDma;

/* One VT-d domain an IO address space is written into. */
typedef struct ShimIoasDom {
    ShimUnit *unit;
    VtdDom *dom;
} ShimIoasDom;

/*
 * An IO address space (shim_ioas.c): the mappings of a type1 container or
 * an iommufd IOAS, replicated into every domain in doms.
 */
typedef struct ShimIoas {
    GTree *dmas;           /* &iova -> ShimDma * */
    unsigned dma_count;
    GArray *doms;          /* ShimIoasDom */
    bool small_pages;      /* 4 KiB leaves only (iommufd TYPE1 compat, HUGE_PAGES = 0) */
} ShimIoas;

typedef struct ShimIommufd ShimIommufd;
typedef struct ShimIdev ShimIdev;

typedef struct ShimContainer {
    int refs;              /* fds + groups */
    int type;              /* 0 (no backend), VFIO_ABI_TYPE1_IOMMU or VFIO_ABI_TYPE1v2_IOMMU */
    GPtrArray *groups;     /* ShimGroup * */
    ShimIoas ioas;         /* one domain per unit its devices sit behind */
    bool dirty_started;
} ShimContainer;

typedef struct ShimGroup {
    int id;
    GPtrArray *fns;        /* PcieFn * of the group's (non-bridge) functions */
    bool opened;
    int fd_refs;           /* dup()s of the group fd beyond the first */
    int open_devices;
    ShimContainer *container;
    ShimIommufd *ictx;     /* SET_CONTAINER with a /dev/iommu fd (iommufd VFIO compat) */
} ShimGroup;

/* An open /dev/vfio/devices/vfioK: the device is opened by BIND_IOMMUFD. */
typedef struct ShimCdev {
    PcieFn *fn;
    int refs;              /* fds */
    ShimDevice *dev;       /* NULL until bound */
} ShimCdev;

/* One bound interrupt vector: a (destination, vector) pair unique in the shim. */
typedef struct ShimVector {
    ShimDevice *dev;
    unsigned index;        /* VFIO IRQ index */
    unsigned sub;
    int efd;               /* dup of the client's eventfd */
    uint8_t dest, vector;
    int irte;              /* -1 without remapping */
} ShimVector;

struct VfioShim {
    EmuSim *sim;
    Platform *p;
    GRecMutex lock;
    GHashTable *fds;        /* fd -> ShimFd * */
    GHashTable *groups;     /* id -> ShimGroup * */
    GHashTable *devices;    /* PcieFn * -> ShimDevice * */
    GHashTable *vectors;    /* (dest << 8 | vector) -> ShimVector * */
    GHashTable *vf_tokens;  /* PF PcieFn * -> 16-byte UUID */
    GPtrArray *units;       /* ShimUnit * */
    uint64_t hpa_next;
    unsigned next_vec;      /* vector allocator */
    uint64_t mmio_read_ps, mmio_write_ps, idle_step_ps;
    GThread *thread;
    gint thread_run;
    /* INTx: one (destination, vector) per IOAPIC input in use, shared by the functions on it */
    ShimVector *intx_vec[PLATFORM_IOAPIC_PINS];
    unsigned intx_users[PLATFORM_IOAPIC_PINS];
    uint8_t intx_eoi_pending[PLATFORM_IOAPIC_PINS];   /* vector whose EOI waits for an unmask, 0 none */
};

ShimFd *shim_fd(VfioShim *s, int fd);
void shim_fd_bind(VfioShim *s, int fd, ShimFdKind kind, void *obj);
ShimUnit *shim_unit_for(VfioShim *s, PcieFn *fn);
ShimGroup *shim_group_get(VfioShim *s, int id);
gint shim_cmp_u64(gconstpointer a, gconstpointer b);
gint shim_cmp_int_ptr(gconstpointer a, gconstpointer b);
void shim_container_unref(VfioShim *s, ShimContainer *c);
void shim_group_unset(VfioShim *s, ShimGroup *g);
long shim_info_reply(void *user, uint32_t argsz, void *fixed, size_t fixed_size, uint32_t *flags,
                     uint32_t caps_flag, uint32_t *cap_offset, const GByteArray *caps);
void shim_cap_add(GByteArray *caps, size_t fixed_size, uint16_t id, uint16_t version, const void *body,
                  size_t body_len);
/* The interrupt window is never DMA-mappable (VT-d treats it as interrupt requests). */
#define SHIM_MSI_LO 0xfee00000ull
#define SHIM_MSI_HI 0xfeefffffull
/*
 * The type1 argument checks made before the address space is looked at,
 * shared by the container and iommufd's compat, in the order vfio.md §1.2
 * gives.  MAP: argsz, flags outside @known, size 0 (EINVAL), wrap
 * (EOVERFLOW), VADDR (not served), no permission; *@vprot gets VTD_PROT_*.
 * UNMAP: argsz, flags outside @known, DIRTY_BITMAP with ALL or VADDR, VADDR,
 * ALL with a range (EINVAL); otherwise size 0 or misaligned (EINVAL), wrap
 * (EOVERFLOW).  Both copy the fixed struct into @m / @u.
 */
long shim_type1_map_args(const void *user, uint32_t known, VfioAbiDmaMap *m, unsigned *vprot);
long shim_type1_unmap_args(const void *user, uint32_t known, VfioAbiDmaUnmap *u);
/* CHECK_EXTENSION as both type1 and iommufd's compat answer it. */
long shim_type1_check_extension(unsigned long ext);
/* The type1 IOMMU_GET_INFO reply (pgsizes and the capability chain) for @ranges. */
long shim_type1_info(VfioShim *s, void *user, uint32_t dma_avail, const GArray *ranges);

/* shim_ioas.c: the IO address space shared by containers and IOAS */
void shim_ioas_init(ShimIoas *io);
void shim_ioas_fini(VfioShim *s, ShimIoas *io);
/** The mappings in IOVA order (the caller frees the array, not the mappings). */
GPtrArray *shim_ioas_list(ShimIoas *io);
ShimDma *shim_ioas_overlap(ShimIoas *io, uint64_t iova, uint64_t last);
/**
 * Maps [iova, iova+size) (4 KiB aligned, checked by the caller) to the
 * user pages at @vaddr with VTD_PROT_* @prot in every domain.  Returns 0,
 * -EFAULT (user range not mapped) or -ENOMEM (HPA window or table pool
 * exhausted).  @who names the request in messages.
 */
int shim_ioas_map(VfioShim *s, ShimIoas *io, uint64_t iova, uint64_t vaddr, uint64_t size, unsigned prot,
                  const char *who);
void shim_ioas_unmap(VfioShim *s, ShimIoas *io, ShimDma *d);
/**
 * Unmaps the mappings inside [iova, last] and adds their bytes to *@bytes
 * (set to 0 first).  A mapping only partly inside fails the request with
 * @split_err and unmaps nothing (type1v2: -EINVAL, iommufd: -ENOENT); with
 * @split_err 0 (type1 v1) a mapping whose first IOVA is inside goes whole
 * and one starting before @iova stays.  @each (may be NULL) sees every
 * mapping just before it goes.
 */
int shim_ioas_unmap_range(VfioShim *s, ShimIoas *io, uint64_t iova, uint64_t last, int split_err,
                          void (*each)(const ShimDma *d, void *opaque), void *opaque, uint64_t *bytes);
/** Unmaps everything; returns the bytes unmapped. */
uint64_t shim_ioas_unmap_all(VfioShim *s, ShimIoas *io);
/** Cuts the mapping containing @at so that a mapping starts at @at (small_pages spaces only). */
void shim_ioas_split(VfioShim *s, ShimIoas *io, uint64_t at);
/** The first domain of @io on unit @u, or NULL. */
VtdDom *shim_ioas_dom(ShimIoas *io, ShimUnit *u);
/** Adds @dom (replaying every mapping into it); -ENOMEM when the replay fails. */
int shim_ioas_add_dom(VfioShim *s, ShimIoas *io, ShimUnit *u, VtdDom *dom);
/** Removes @dom, clearing every mapping from its tables. */
void shim_ioas_del_dom(VfioShim *s, ShimIoas *io, VtdDom *dom);
bool shim_range_mapped(uint64_t vaddr, uint64_t size, bool write);
/** The largest IOVA unit @u (every unit) translates: 2^MGAW - 1. */
uint64_t shim_unit_iova_top(ShimUnit *u);
uint64_t shim_iova_top(VfioShim *s);
/** Page sizes every unit supports (4K, plus 2M/1G per CAP.SLLPS). */
uint64_t shim_pgsizes(VfioShim *s);

/* shim_device.c */
void shim_collect_group(VfioShim *s, int id, GPtrArray *fns);
long shim_group_get_device_fd(VfioShim *s, ShimGroup *g, const char *name);
/**
 * Opens @fn for a user (first open: snapshot, Bus Master cleared), after
 * the VF token rule with the 16-byte @token (NULL: none given).  Returns
 * the device with one more reference, or NULL with *@err = -errno.
 */
ShimDevice *shim_device_open(VfioShim *s, PcieFn *fn, const uint8_t *token, int *err);
/** Device ioctls; @ictx is the iommufd of a cdev fd (HOT_RESET* use devids), NULL for the group path. */
long shim_device_ioctl(VfioShim *s, ShimDevice *d, ShimIommufd *ictx, unsigned long req, unsigned long arg);
void shim_device_ref(ShimDevice *d);
void shim_device_unref(VfioShim *s, ShimDevice *d);
PcieFn *shim_device_fn(ShimDevice *d);
ShimIdev *shim_device_idev(ShimDevice *d);
void shim_device_set_idev(ShimDevice *d, ShimIdev *idev);
/** TRUE when any byte of [va, va+len) is a BAR mmap of a device (iommufd refuses to map those). */
bool shim_range_is_bar_mmap(VfioShim *s, uint64_t va, uint64_t len);
/* The bus address behind [va, va+len) when it lies inside one BAR mmap (peer-to-peer DMA). */
bool shim_bar_mmap_hpa(VfioShim *s, uint64_t va, uint64_t len, uint64_t *hpa);
/* Frees the devices left only by BAR mmaps (at shim teardown); their pages stay the client's. */
void shim_devices_free(VfioShim *s);
void shim_irq_init(VfioShim *s);
void shim_irq_fini(VfioShim *s);

/* shim_iommufd.c */
ShimIommufd *shim_iommufd_new(VfioShim *s);
void shim_iommufd_ref(ShimIommufd *ictx);
void shim_iommufd_unref(VfioShim *s, ShimIommufd *ictx);
long shim_iommufd_ioctl(VfioShim *s, ShimIommufd *ictx, unsigned long req, unsigned long arg);
/** SET_CONTAINER of @g with an iommufd: creates the compat IOAS if there is none. */
int shim_iommufd_group_set(VfioShim *s, ShimIommufd *ictx, ShimGroup *g);
void shim_iommufd_group_unset(VfioShim *s, ShimGroup *g);
/** The group path's device open in compat mode: binds @d and attaches it to the compat IOAS. */
int shim_iommufd_compat_open(VfioShim *s, ShimIommufd *ictx, ShimDevice *d);
/** Last close of a bound device: detaches and destroys its device object. */
void shim_iommufd_unbind(VfioShim *s, ShimIdev *idev);
/** What HOT_RESET_INFO reports for @fn to a cdev user of @ictx (devid, OWNED or NOT_OWNED). */
uint32_t shim_iommufd_devid_of(VfioShim *s, ShimIommufd *ictx, PcieFn *fn);
ShimCdev *shim_cdev_new(PcieFn *fn);
void shim_cdev_unref(VfioShim *s, ShimCdev *c);
long shim_cdev_ioctl(VfioShim *s, ShimCdev *c, unsigned long req, unsigned long arg);

#endif
