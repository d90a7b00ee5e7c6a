/*
 * The VFIO shim core: the kernel side of the VFIO user API, served from a
 * simulation running inside the client's own process.
 *
 * A VfioShim plays two kernel roles at once.  As "vfio" it serves the
 * legacy container / group / device interface (type1 and type1v2 IOMMU
 * backends, vfio-pci region, IRQ, reset and feature ioctls) with the
 * argsz rules, capability chains and errno values real kernels give
 * (../shared/reference/vfio.md §1).  As "intel-iommu" it programs the
 * simulated VT-d through its registers with the driver library
 * (src/driver): a container is a second-stage domain, attaching a group
 * writes its devices' context entries, MAP_DMA writes page-table entries
 * and UNMAP_DMA invalidates through the queued-invalidation interface, and
 * SET_IRQS allocates remapped IRTEs and programs the device's MSI/MSI-X
 * entries in remappable format.  Mapped buffers are the client's own
 * memory (addr_space_add_host), so device DMA lands in them with no copy;
 * interrupts the simulated platform delivers are written to the client's
 * eventfds.
 *
 * File descriptors are real kernel fds (the caller opens /dev/null for
 * each VFIO object), so dup/close/poll/fstat behave; the shim keys its
 * objects by fd number and must be told about dup() and close().  Every
 * entry point takes the shim's one lock: clients may call from several
 * threads, and the MMIO trap handler and the background thread that lets
 * simulated time run while the client waits share the state.
 *
 * The iommufd interface is served by the same core (shim_iommufd.c):
 * /dev/iommu with IOAS and HWPT objects (nested VT-d stage-1 HWPTs when
 * the unit runs in scalable mode), the cdev device path
 * /dev/vfio/devices/vfioK (BIND_IOMMUFD, ATTACH/DETACH_IOMMUFD_PT), and a
 * /dev/iommu fd used as a VFIO container (iommufd's VFIO compat).
 *
 * Not served: VFIO_UPDATE_VADDR, iommufd dirty tracking on units without
 * scalable mode and ECAP.SSADS, fault queues, PASID attachment and vIOMMU
 * objects; requests for them fail with the
 * kernel's "not supported" errno (EOPNOTSUPP/ENOTTY/EINVAL) and a message.
 */
#ifndef VTDSIM_VFIO_SHIM_H
#define VTDSIM_VFIO_SHIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <glib.h>
#include "vtdsim/sim.h"

typedef struct VfioShim VfioShim;

/** What a path names for the shim. */
typedef enum VfioPathKind {
    VFIO_PATH_NONE = 0,     /* not ours */
    VFIO_PATH_CONTAINER,    /* /dev/vfio/vfio */
    VFIO_PATH_GROUP,        /* /dev/vfio/N */
    VFIO_PATH_CDEV,         /* /dev/vfio/devices/vfioK */
    VFIO_PATH_IOMMUFD,      /* /dev/iommu */
} VfioPathKind;

/** Classifies @path (no file-system access); *@num gets N for groups, K for cdevs. */
VfioPathKind vfio_shim_path_kind(const char *path, int *num);

/**
 * vfio_shim_new:
 * Takes over @sim (freed with the shim): brings every VT-d unit up with
 * translation on (queued invalidation when the unit has it, interrupt
 * remapping when it has ECAP.IR) and installs the interrupt observer.
 * Returns NULL with @error (EMU_ERROR) when the platform cannot be driven.
 */
VfioShim *vfio_shim_new(EmuSim *sim, GError **error);
void vfio_shim_free(VfioShim *s);
EmuSim *vfio_shim_sim(VfioShim *s);

/** The shim's lock (recursive): held by every entry point below. */
void vfio_shim_lock(VfioShim *s);
void vfio_shim_unlock(VfioShim *s);

/**
 * vfio_shim_open:
 * Binds the already-open kernel fd @fd to the object @path names.
 * Returns 0, or -errno (-ENOENT no such group or cdev, -EBUSY group
 * already open); @fd stays the caller's to close then.
 */
int vfio_shim_open(VfioShim *s, const char *path, int fd);

/**
 * vfio_shim_group_of:
 * The IOMMU group of the function named @bdf ("0000:BB:DD.F" or "BB:DD.F"),
 * giving VFs enabled since the groups were computed the lowest unused
 * numbers (as Linux allocates them); -1 for an unknown function.
 */
int vfio_shim_group_of(VfioShim *s, const char *bdf);

/** TRUE when @fd is bound to a shim object. */
bool vfio_shim_owns_fd(VfioShim *s, int fd);

/**
 * vfio_shim_ioctl:
 * Serves @req on @fd.  Returns the ioctl's non-negative result or -errno,
 * exactly as the kernel would.  @arg is the client's argument (a pointer
 * or a value).  A new fd (GET_DEVICE_FD) is opened by the shim itself.
 */
long vfio_shim_ioctl(VfioShim *s, int fd, unsigned long req, unsigned long arg);

/** pread/pwrite on a device fd: region index in offset bits 63:40.  -errno on errors. */
ssize_t vfio_shim_pread(VfioShim *s, int fd, void *buf, size_t len, uint64_t offset);
ssize_t vfio_shim_pwrite(VfioShim *s, int fd, const void *buf, size_t len, uint64_t offset);

/**
 * vfio_shim_mmap:
 * Maps a BAR region of a device fd.  Returns the address, or MAP_FAILED
 * with *@err set (EINVAL for private mappings, non-BAR regions, windows
 * past the BAR).  The pages trap every access (src/vfio/mmio_trap.h).
 */
void *vfio_shim_mmap(VfioShim *s, void *addr, size_t len, int prot, int flags, int fd, uint64_t offset,
                     int *err);
/** Forgets trapped BAR pages inside [addr, addr+len); returns TRUE when any were ours. */
bool vfio_shim_munmap(VfioShim *s, void *addr, size_t len);

/** @newfd now refers to what @oldfd does (dup, dup2, dup3, F_DUPFD). */
void vfio_shim_dup(VfioShim *s, int oldfd, int newfd);
/** @fd is being closed: drops its reference (tearing down what the kernel tears down on release). */
void vfio_shim_close(VfioShim *s, int fd);

/**
 * vfio_shim_advance:
 * Lets simulated time run for @ps picoseconds (the events due run).  The
 * MMIO and config paths call it with the access latency; a background
 * thread (vfio_shim_start_thread) calls it when the client is not touching
 * the device, so a client waiting on memory or an eventfd sees progress.
 */
void vfio_shim_advance(VfioShim *s, uint64_t ps);
/** Starts (again, e.g. in a forked child) the background thread; idempotent. */
void vfio_shim_start_thread(VfioShim *s);
void vfio_shim_stop_thread(VfioShim *s);
/**
 * vfio_shim_atfork_child:
 * In a forked child, when the parent held vfio_shim_lock() over fork():
 * fresh locks, and the background thread started again (threads do not
 * survive fork).  The child's simulation is its own copy from then on.
 */
void vfio_shim_atfork_child(VfioShim *s);

/** Appends a one-line-per-record report of the VT-d fault records of every unit. */
void vfio_shim_report_faults(VfioShim *s, GString *out);

#endif
