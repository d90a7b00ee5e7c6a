/*
 * State shared by the VFIO shim's files (shim.c: fds, containers, groups;
 * shim_device.c: devices, regions, interrupts).  Not installed.
 */
#ifndef VTDSIM_VFIO_SHIM_INTERNAL_H
#define VTDSIM_VFIO_SHIM_INTERNAL_H

#include "vfio/shim.h"
#include "vfio/vfio_abi.h"
#include "vfio/mmio_trap.h"
#include "platform/platform.h"
#include "driver/vtd_driver.h"
#include "models/vtd/vtd.h"
#include "models/vtd/vtd_entries.h"

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
} ShimFdKind;

typedef struct ShimFd {
    ShimFdKind kind;
    void *obj;
} ShimFd;

typedef struct ShimUnit {
    PlatformVtd *pv;
    VtdDrv *drv;
    unsigned index;        /* in VfioShim.units */
    bool ir;               /* interrupt remapping enabled */
    unsigned next_irte;
} ShimUnit;

typedef struct ShimDma {
    uint64_t iova, size, vaddr, hpa;
    unsigned prot;         /* VTD_PROT_* */
    MemRegion *region;     /* host-backed window at hpa */
} ShimDma;

typedef struct ShimContainer {
    int refs;              /* fds + groups */
    int type;              /* 0 (no backend), VFIO_ABI_TYPE1_IOMMU or VFIO_ABI_TYPE1v2_IOMMU */
    GPtrArray *groups;     /* ShimGroup * */
    GTree *dmas;           /* &iova -> ShimDma * */
    unsigned dma_count;
    bool dirty_started;
    VtdDom **doms;         /* per unit, NULL until a device behind it is attached */
} ShimContainer;

typedef struct ShimGroup {
    int id;
    GPtrArray *fns;        /* PcieFn * of the group's (non-bridge) functions */
    bool opened;
    int fd_refs;           /* dup()s of the group fd beyond the first */
    int open_devices;
    ShimContainer *container;
} ShimGroup;

typedef struct ShimDevice ShimDevice;

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
gint shim_cmp_u64(gconstpointer a, gconstpointer b);
gint shim_cmp_int_ptr(gconstpointer a, gconstpointer b);
void shim_container_unref(VfioShim *s, ShimContainer *c);
void shim_group_unset(VfioShim *s, ShimGroup *g);
long shim_info_reply(void *user, uint32_t argsz, void *fixed, size_t fixed_size, uint32_t *flags,
                     uint32_t caps_flag, uint32_t *cap_offset, const GByteArray *caps);
void shim_cap_add(GByteArray *caps, size_t fixed_size, uint16_t id, uint16_t version, const void *body,
                  size_t body_len);

/* shim_device.c */
void shim_collect_group(VfioShim *s, int id, GPtrArray *fns);
long shim_group_get_device_fd(VfioShim *s, ShimGroup *g, const char *name);
long shim_device_ioctl(VfioShim *s, ShimDevice *d, unsigned long req, unsigned long arg);
void shim_device_ref(ShimDevice *d);
void shim_device_unref(VfioShim *s, ShimDevice *d);
void shim_irq_init(VfioShim *s);
void shim_irq_fini(VfioShim *s);

#endif
