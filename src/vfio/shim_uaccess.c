/*
 * Client memory access for the VFIO shim: see shim_uaccess.h.
 */
#define _GNU_SOURCE
#include "vfio/shim_uaccess.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include <glib.h>

static int vm_copy(void *local, const void *remote, size_t n, bool out)
{
    if (!n) {
        return 0;
    }
    if (!remote) {
        return -EFAULT;
    }
    struct iovec l = { local, n };
    struct iovec r = { (void *)(uintptr_t)remote, n };
    ssize_t got = out ? process_vm_writev(getpid(), &l, 1, &r, 1, 0) : process_vm_readv(getpid(), &l, 1, &r, 1, 0);
    return got == (ssize_t)n ? 0 : -EFAULT;
}

int shim_copy_in(void *dst, const void *user, size_t n)
{
    return vm_copy(dst, user, n, false);
}

int shim_copy_out(void *user, const void *src, size_t n)
{
    return vm_copy((void *)(uintptr_t)src, user, n, true);
}

int shim_user_check(const void *user, size_t len, bool write)
{
    uint8_t buf[16384];
    for (size_t off = 0; off < len; off += sizeof buf) {
        size_t n = MIN(len - off, sizeof buf);
        const uint8_t *u = (const uint8_t *)user + off;
        if (vm_copy(buf, u, n, false) < 0 || (write && vm_copy(buf, u, n, true) < 0)) {
            return -EFAULT;
        }
    }
    return 0;
}

char *shim_strndup_user(const char *user, size_t max, int *err)
{
    GString *s = g_string_new(NULL);
    for (size_t off = 0; off < max;) {
        /* read up to the next page boundary, so a string ending before an unmapped page is fine */
        uintptr_t a = (uintptr_t)user + off;
        size_t chunk = MIN(max - off, 4096 - (a & 4095));
        char buf[4096];
        if (vm_copy(buf, (const void *)a, chunk, false) < 0) {
            g_string_free(s, TRUE);
            *err = -EFAULT;
            return NULL;
        }
        const char *nul = memchr(buf, 0, chunk);
        g_string_append_len(s, buf, nul ? nul - buf : (gssize)chunk);
        if (nul) {
            *err = 0;
            return g_string_free(s, FALSE);
        }
        off += chunk;
    }
    g_string_free(s, TRUE);
    *err = -EINVAL;
    return NULL;
}

int shim_check_eventfd(int fd)
{
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) {
        return -EBADF;
    }
    char path[64], link[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, link, sizeof link - 1);
    if (n < 0) {
        return -EBADF;
    }
    link[n] = 0;
    return strcmp(link, "anon_inode:[eventfd]") ? -EINVAL : 0;
}
