/*
 * The sysfs/devfs surface of a simulated platform, as files on disk.
 *
 * VFIO programs find their devices by path before they ever open a VFIO
 * fd: DPDK scans /sys/bus/pci/devices/BDF/{vendor,device,class,resource},
 * follows the `driver` and `iommu_group` symlinks and reads
 * /sys/kernel/iommu_groups and iommu/intel-iommu/cap; QEMU takes the
 * basename of the realpath of the device directory and of its
 * iommu_group link; the cdev path reads vfio-dev/vfioK/dev and fstat()s
 * /dev/vfio/devices/vfioK.  Instead of intercepting every path-based libc
 * call (glibc's realpath, opendir and fopen use internal entry points an
 * LD_PRELOAD library cannot see), this module writes the tree those
 * programs read as real files, directories and relative symlinks under a
 * root directory; vtdsim-run bind-mounts it over /sys and /dev in a
 * private mount namespace (docs/vfio-sysfs.md).
 *
 * What the tree holds (ROOT = the directory given):
 *  - ROOT/sys/devices/pci0000:00/.../BDF: one real directory per function
 *    (host bridge, ports, endpoints, enabled VFs), nested below the bridges
 *    above it exactly as Linux nests them, with the identity files,
 *    `resource`, a snapshot of `config`, SR-IOV files and the symlinks
 *    `iommu_group`, `driver`, `subsystem`, `iommu`, `physfn`, `virtfnN`;
 *    ROOT/sys/bus/pci/devices/BDF are relative symlinks to them, so
 *    readlink, realpath and basename give what they give on a host.
 *  - ROOT/sys/kernel/iommu_groups/N, ROOT/sys/bus/pci/drivers/{vfio-pci,
 *    pcieport}, ROOT/sys/module/{vfio,vfio_pci,vfio_iommu_type1},
 *    ROOT/sys/class/iommu/dmarN (one per VT-d unit, in platform-file
 *    order, with intel-iommu/{cap,ecap,version,address} from the unit's
 *    registers), ROOT/sys/kernel/debug/iommu/intel (Linux's intel-iommu
 *    debugfs files, see vfio_sysfs_refresh_debugfs()).
 *  - ROOT/dev/vfio/vfio, ROOT/dev/vfio/N (one per group holding a function
 *    bound to vfio-pci), ROOT/dev/vfio/devices/vfioK and ROOT/dev/iommu as
 *    character devices 1:3 (the numbers of /dev/null), and "1:3\n" in every
 *    vfio-dev/vfioK/dev: the shim hands out /dev/null fds for these
 *    opens, so a client's fstat() check of st_rdev against the sysfs
 *    numbers (QEMU's cdev path) holds without faking fstat.  Where mknod is
 *    not permitted (no CAP_MKNOD) they are empty regular files instead.
 *
 * Binding: every non-bridge function except the host bridge is bound to
 * vfio-pci; bridges to pcieport; the host bridge to nothing.
 *
 * Not modelled: files the VFIO clients we target do not read (resourceN,
 * rom, uevent, modalias, power/, msi_irqs/, link attributes), writes to the tree having any effect (only the shim's
 * interception of sriov_numvfs, through vfio_sysfs_set_numvfs(), changes
 * anything), and other PCI domains than 0000.  `config` is a snapshot
 * taken when the directory is written, not live.
 *
 * Nothing here keeps state between calls: every answer is derived from
 * the simulated fabric, so the in-process simulation of the shim and the
 * tree vtdsim-run generated from the same platform file agree on names,
 * group numbers and cdev indexes.
 */
#ifndef VTDSIM_VFIO_SYSFS_H
#define VTDSIM_VFIO_SYSFS_H

#include <glib.h>
#include "vtdsim/sim.h"
#include "pcie/pcie.h"

/* GError domain and codes of this module. */
#define VFIO_SYSFS_ERROR (vfio_sysfs_error_quark())
GQuark vfio_sysfs_error_quark(void);
typedef enum VfioSysfsError {
    VFIO_SYSFS_ERROR_IO,       /* a file, directory, link or node could not be written (errno EIO) */
    VFIO_SYSFS_ERROR_INVALID,  /* not an SR-IOV PF, or the fabric did not do what was asked (EINVAL) */
    VFIO_SYSFS_ERROR_RANGE,    /* sriov_numvfs above sriov_totalvfs (Linux returns ERANGE) */
    VFIO_SYSFS_ERROR_BUSY,     /* VFs already enabled with another count: write 0 first (EBUSY) */
} VfioSysfsError;

/**
 * vfio_sysfs_error_errno:
 * The errno a kernel returns from the write(2) that failed with @error
 * (a VFIO_SYSFS_ERROR; any other domain gives EIO), for the shim.
 */
int vfio_sysfs_error_errno(const GError *error);

/**
 * vfio_sysfs_bdf_name:
 * The sysfs name of @fn, "0000:BB:DD.F" from its current routing ID.
 * Returns: a new string; the caller frees it with g_free().
 */
char *vfio_sysfs_bdf_name(PcieFn *fn);

/**
 * vfio_sysfs_cdev_index:
 * K of /dev/vfio/devices/vfioK for @fn: the rank (from 0) of @fn among the
 * platform's functions that are neither bridges, the host bridge, nor VFs,
 * ordered by routing ID; for a VF, the number of those functions, plus
 * the sum of TotalVFs of every such PF with a lower routing ID, plus the
 * VF's index.  So the numbers of the platform's own functions never move
 * and every VF a PF could ever have has its number reserved.
 * Returns: K, or -1 for bridges and the host bridge.
 */
int vfio_sysfs_cdev_index(EmuSim *sim, PcieFn *fn);

/**
 * vfio_sysfs_find:
 * Looks up the function named "0000:BB:DD.F" or "BB:DD.F" (hex digits of
 * either case) in the platform of @sim.
 * Returns: the function (borrowed; the fabric owns it, and a VF lives only
 * until its PF's VFs are disabled), or NULL for a malformed name, another
 * domain than 0000 or no function there.
 */
PcieFn *vfio_sysfs_find(EmuSim *sim, const char *bdf_name);

/**
 * vfio_sysfs_build:
 * Computes the platform's IOMMU groups (pcie_fabric_compute_groups()) and
 * writes the whole tree described above under @root, which is created if
 * missing.  Existing entries of the same names are replaced; @root is
 * otherwise left as it is (give an empty directory).
 * Returns: FALSE with @error (VFIO_SYSFS_ERROR_IO, naming the path) when
 * something could not be written; the tree is then incomplete.
 */
gboolean vfio_sysfs_build(EmuSim *sim, const char *root, GError **error);

/**
 * vfio_sysfs_refresh_debugfs:
 * Rewrites ROOT/sys/kernel/debug/iommu/intel/ from the current state of
 * the platform's VT-d units and memory: iommu_regset,
 * dmar_translation_struct, invalidation_queue, ir_translation_struct and
 * one BDF/domain_translation_struct (and BDF/PASID/...) per present
 * context (PASID) entry, in the layouts of Linux's intel-iommu debugfs
 * (src/explain/dump.h).  vfio_sysfs_build() calls it once; the shim calls
 * it after it changed mappings, since the files are snapshots.  Old
 * per-device files are removed first.
 * Returns: FALSE with @error naming the path when a file could not be
 * written.
 */
gboolean vfio_sysfs_refresh_debugfs(EmuSim *sim, const char *root, GError **error);

/**
 * vfio_sysfs_set_numvfs:
 * What the kernel does on a write of @numvfs to @pf's sriov_numvfs, on
 * the simulated fabric and on the tree at @root built by
 * vfio_sysfs_build() for @sim:
 *  - @numvfs equal to the enabled count: nothing changes (success);
 *  - above TotalVFs: VFIO_SYSFS_ERROR_RANGE;
 *  - non-zero while another non-zero count is enabled:
 *    VFIO_SYSFS_ERROR_BUSY (Linux requires writing 0 first);
 *  - @pf without an SR-IOV capability: VFIO_SYSFS_ERROR_INVALID.
 * Enabling writes NumVFs, then VF Enable and VF Memory Space Enable into
 * the SR-IOV Control register through config writes, so the fabric
 * creates the VFs with the routing IDs and BARs it derives from First VF
 * Offset, VF Stride and the VF BAR registers; disabling clears both bits
 * and then NumVFs.  The tree then gains (loses) the VF directories,
 * bus/pci/devices links, virtfnN and physfn links, group directories and
 * /dev/vfio/N nodes, vfio-dev/vfioK and /dev/vfio/devices/vfioK nodes, and
 * sriov_numvfs is rewritten.  Groups of the functions that already
 * existed keep their numbers; a new group takes the lowest unused number
 * (as Linux's group ID allocator does), and pcie_fn_group() reports these
 * numbers afterwards.
 * Returns: FALSE with @error naming the sriov_numvfs path on failure.
 */
gboolean vfio_sysfs_set_numvfs(EmuSim *sim, const char *root, PcieFn *pf, unsigned numvfs,
                               GError **error);

#endif
