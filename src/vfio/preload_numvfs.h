/*
 * sriov_numvfs writes for the preload library (preload.c): which paths are
 * sriov_numvfs files, which fds were opened for writing them, and the
 * write itself, which enables or disables VFs in the client's simulation
 * and updates the generated sysfs tree ($VTDSIM_SYSFS_ROOT) as the kernel
 * does before write(2) returns.
 */
#ifndef VTDSIM_VFIO_PRELOAD_NUMVFS_H
#define VTDSIM_VFIO_PRELOAD_NUMVFS_H

#include <stdbool.h>
#include <stddef.h>
#include "vfio/shim.h"

/** TRUE for an absolute /sys path ending in <BDF>/sriov_numvfs. */
bool numvfs_is_path(const char *path);
/** Remembers that @fd was opened for writing @path (copied). */
void numvfs_track(int fd, const char *path);
/** The path @fd was opened for, or NULL. */
const char *numvfs_path(int fd);
void numvfs_forget(int fd);
/** Applies a write of @buf to @path: 0, or -errno (EINVAL syntax, ERANGE, EBUSY, ENODEV). */
int numvfs_write(VfioShim *s, const char *path, const char *buf, size_t n);

/**
 * numvfs_sync_from_tree:
 * Brings a freshly built simulation in line with the tree: every PF whose
 * sriov_numvfs file says N > 0 (written by an earlier program of the same
 * vtdsim-run session) gets its N VFs enabled, so all programs of a
 * session see the same functions and groups.
 */
void numvfs_sync_from_tree(VfioShim *s);

#endif
