/*
 * Client memory access for the VFIO shim, the way the kernel's
 * copy_from_user / copy_to_user / strndup_user behave: a bad pointer in an
 * ioctl argument is an EFAULT for the caller, never a crash of the client
 * inside the shim.  The client and the shim share one address space, so the
 * copies go through process_vm_readv/process_vm_writev on our own pid,
 * which the kernel checks page by page (a read-only page makes a copy-out
 * fail as it would for the kernel).  One system call per copy: ioctl
 * arguments are small and rare next to the work behind them.
 */
#ifndef VTDSIM_VFIO_SHIM_UACCESS_H
#define VTDSIM_VFIO_SHIM_UACCESS_H

#include <stdbool.h>
#include <stddef.h>

/** Copies @n bytes from client address @user into @dst.  0 or -EFAULT. */
int shim_copy_in(void *dst, const void *user, size_t n);

/** Copies @n bytes from @src to client address @user.  0 or -EFAULT. */
int shim_copy_out(void *user, const void *src, size_t n);

/**
 * shim_user_check:
 * 0 when all @len bytes at client address @user can be read (and, with
 * @write, written: the bytes are read and written back unchanged), or
 * -EFAULT.  For pointers the shim then dereferences directly: ioctl
 * argument structs, bitmaps, arrays.
 */
int shim_user_check(const void *user, size_t len, bool write);

/**
 * shim_strndup_user:
 * A NUL-terminated client string of at most @max bytes including the NUL.
 * Returns a g_malloc'ed copy, or NULL with *@err = -EFAULT (bad pointer) or
 * -EINVAL (no NUL within @max bytes), as strndup_user does.
 */
char *shim_strndup_user(const char *user, size_t max, int *err);

/**
 * shim_check_eventfd:
 * 0 when @fd is an open eventfd, -EBADF when it is not open, -EINVAL when
 * it is something else (eventfd_ctx_fdget's answers).
 */
int shim_check_eventfd(int fd);

#endif
