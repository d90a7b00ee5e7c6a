/*
 * libvtdsim-vfio.so: the LD_PRELOAD face of the VFIO shim.
 *
 * It interposes the libc entry points a VFIO client uses on its VFIO file
 * descriptors - open/openat (and their fortified and 64-bit aliases),
 * close, dup/dup2/dup3, fcntl(F_DUPFD*), ioctl, pread/pwrite, mmap,
 * munmap - and hands them to the shim core (shim.h); every other call, and
 * every call on another fd, goes straight to the next definition
 * (dlsym(RTLD_NEXT)).  Path-based calls on /sys and /dev (readlink,
 * opendir, stat, fopen) are not interposed: vtdsim-run mounts a generated
 * tree there (sysfs.h), so they work on real files.
 *
 * The simulation is built lazily, on the first open of a VFIO path, from
 * $VTDSIM_PLATFORM (a platform file; empty or unset = the built-in q35
 * machine), so programs that never touch VFIO (a shell started by
 * vtdsim-run, say) pay nothing.  A background thread lets simulated time
 * run while the client waits; after fork() the child restarts it (threads
 * do not survive fork) and keeps its own copy of the simulation, as a
 * forked child of a real VFIO user keeps its fds to the same kernel objects
 * - the difference is documented in docs/vfio.md.
 *
 * Writes to sriov_numvfs under the generated tree are served too (open +
 * write, and fopen + fprintf through a cookie stream), because the kernel
 * creates VFs synchronously in that write and the shim must do the same in
 * the client's simulation.
 *
 * At exit, when $VTDSIM_VFIO_REPORT names a file ("%p" in it is replaced
 * by the pid), the VT-d fault records of the run are written there in the
 * kernel-log format; vtdsim-run collects them to report the DMA faults of
 * the whole session.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vfio/shim.h"
#include "vfio/vfio_abi.h"
#include "vfio/sysfs.h"
#include "vfio/mmio_trap.h"
#include "vfio/preload_numvfs.h"
#include "vtdsim/platform.h"

#define VTDSIM_EXPORT __attribute__((visibility("default")))

static struct {
    pthread_mutex_t init_lock;
    VfioShim *shim;
    bool failed;
    int (*open)(const char *, int, ...);
    int (*openat)(int, const char *, int, ...);
    int (*close)(int);
    int (*dup)(int);
    int (*dup2)(int, int);
    int (*dup3)(int, int, int);
    int (*fcntl)(int, int, ...);
    int (*ioctl)(int, unsigned long, ...);
    ssize_t (*pread)(int, void *, size_t, off_t);
    ssize_t (*pwrite)(int, const void *, size_t, off_t);
    ssize_t (*write)(int, const void *, size_t);
    void *(*mmap)(void *, size_t, int, int, int, off_t);
    int (*munmap)(void *, size_t);
    FILE *(*fopen)(const char *, const char *);
} P = { .init_lock = PTHREAD_MUTEX_INITIALIZER };

static void *next_sym(const char *name)
{
    void *f = dlsym(RTLD_NEXT, name);
    if (!f) {
        fprintf(stderr, "vtdsim-vfio: cannot find libc's %s\n", name);
        abort();    /* the library cannot work at all; nothing of the client has run yet */
    }
    return f;
}

/*
 * libc's entry points are resolved on first use, not in a constructor:
 * other libraries' constructors (libselinux's, for one) call fopen() and
 * open() before ours would run.
 */
static pthread_once_t resolve_once = PTHREAD_ONCE_INIT;

static void resolve_all(void)
{
    P.open = next_sym("open");
    P.openat = next_sym("openat");
    P.close = next_sym("close");
    P.dup = next_sym("dup");
    P.dup2 = next_sym("dup2");
    P.dup3 = next_sym("dup3");
    P.fcntl = next_sym("fcntl");
    P.ioctl = next_sym("ioctl");
    P.pread = next_sym("pread");
    P.pwrite = next_sym("pwrite");
    P.write = next_sym("write");
    P.mmap = next_sym("mmap");
    P.munmap = next_sym("munmap");
    P.fopen = next_sym("fopen");
}

#define REAL(fn) (pthread_once(&resolve_once, resolve_all), P.fn)

static void write_report(void)
{
    const char *tmpl = getenv("VTDSIM_VFIO_REPORT");
    if (!P.shim || !tmpl || !*tmpl) {
        return;
    }
    /* "%p" stands for the pid, so every process of a session (forks, shells) keeps its own report */
    g_autofree char *pid = g_strdup_printf("%d", (int)getpid());
    g_auto(GStrv) parts = g_strsplit(tmpl, "%p", -1);
    g_autofree char *path = g_strjoinv(pid, parts);
    g_autoptr(GString) out = g_string_new(NULL);
    vfio_shim_report_faults(P.shim, out);
    if (!out->len && strstr(tmpl, "%p")) {
        return;    /* nothing to say, and nobody waits for this process's file */
    }
    g_autoptr(GError) err = NULL;
    /* g_file_set_contents writes a temporary file and renames it: never a torn report */
    if (!g_file_set_contents(path, out->str, (gssize)out->len, &err)) {
        fprintf(stderr, "vtdsim-vfio: %s\n", err->message);
    }
}

static void atfork_prepare(void)
{
    if (P.shim) {
        vfio_shim_lock(P.shim);
    }
}

static void atfork_parent(void)
{
    if (P.shim) {
        vfio_shim_unlock(P.shim);
    }
}

static void atfork_child(void)
{
    if (P.shim) {
        vfio_shim_atfork_child(P.shim);
    }
}

/* The shim, built on first use; NULL (with a message, once) when the platform cannot be built. */
static VfioShim *shim_get(void)
{
    pthread_mutex_lock(&P.init_lock);
    if (!P.shim && !P.failed) {
        const char *pf = getenv("VTDSIM_PLATFORM");
        g_autoptr(GError) err = NULL;
        EmuSim *sim = vtdsim_platform_new(pf && *pf ? pf : NULL, &err);
        if (sim) {
            P.shim = vfio_shim_new(sim, &err);
        }
        if (P.shim && !mmio_trap_install(&err)) {
            vfio_shim_free(P.shim);
            P.shim = NULL;
        }
        if (!P.shim) {
            fprintf(stderr, "vtdsim-vfio: %s\n", err ? err->message : "cannot build the simulation");
            P.failed = true;
        } else {
            numvfs_sync_from_tree(P.shim);
            pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
            atexit(write_report);
            vfio_shim_start_thread(P.shim);
        }
    }
    pthread_mutex_unlock(&P.init_lock);
    return P.shim;
}

static bool owned(int fd)
{
    return P.shim && fd >= 0 && vfio_shim_owns_fd(P.shim, fd);
}

/* ---- open ------------------------------------------------------------------------------ */

static int open_vfio(const char *path, int flags)
{
    VfioShim *s = shim_get();
    if (!s) {
        errno = ENODEV;
        return -1;
    }
    int fd = REAL(open)("/dev/null", O_RDWR | (flags & O_CLOEXEC));
    if (fd < 0) {
        return -1;
    }
    int r = vfio_shim_open(s, path, fd);
    if (r < 0) {
        REAL(close)(fd);
        errno = -r;
        return -1;
    }
    return fd;
}

static int open_common(int dirfd, const char *path, int flags, mode_t mode, bool at)
{
    if (path && path[0] == '/' && vfio_shim_path_kind(path, NULL) != VFIO_PATH_NONE) {
        return open_vfio(path, flags);
    }
    int fd = at ? REAL(openat)(dirfd, path, flags, mode) : REAL(open)(path, flags, mode);
    if (fd >= 0 && (flags & O_ACCMODE) != O_RDONLY && path && numvfs_is_path(path)) {
        numvfs_track(fd, path);
    }
    return fd;
}

static mode_t va_mode(int flags, va_list ap)
{
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

VTDSIM_EXPORT int open(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode, false);
}

VTDSIM_EXPORT int open64(const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    return open_common(AT_FDCWD, path, flags, mode, false);
}

VTDSIM_EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode, true);
}

VTDSIM_EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
    va_list ap;
    va_start(ap, flags);
    mode_t mode = va_mode(flags, ap);
    va_end(ap);
    return open_common(dirfd, path, flags, mode, true);
}

/* _FORTIFY_SOURCE entry points (glib and QEMU are built with them); glibc declares them privately */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

VTDSIM_EXPORT int __open_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, path, flags, 0, false);
}

VTDSIM_EXPORT int __open64_2(const char *path, int flags)
{
    return open_common(AT_FDCWD, path, flags, 0, false);
}

VTDSIM_EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, path, flags, 0, true);
}

VTDSIM_EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
    return open_common(dirfd, path, flags, 0, true);
}

/* ---- fd lifetime ----------------------------------------------------------------------- */

VTDSIM_EXPORT int close(int fd)
{
    if (owned(fd)) {
        vfio_shim_close(P.shim, fd);
    }
    numvfs_forget(fd);
    return REAL(close)(fd);
}

static int after_dup(int oldfd, int newfd)
{
    if (newfd >= 0 && newfd != oldfd) {
        /* shells write "echo N > sriov_numvfs" through a dup2 of the opened fd onto stdout */
        numvfs_forget(newfd);
        const char *p = numvfs_path(oldfd);
        if (p) {
            g_autofree char *copy = g_strdup(p);
            numvfs_track(newfd, copy);
        }
    }
    if (newfd >= 0 && owned(oldfd)) {
        vfio_shim_dup(P.shim, oldfd, newfd);
    } else if (newfd >= 0 && owned(newfd)) {
        vfio_shim_close(P.shim, newfd);    /* dup2 onto one of ours closed it */
    }
    return newfd;
}

VTDSIM_EXPORT int dup(int fd)
{
    return after_dup(fd, REAL(dup)(fd));
}

VTDSIM_EXPORT int dup2(int oldfd, int newfd)
{
    if (oldfd != newfd && owned(newfd)) {
        vfio_shim_close(P.shim, newfd);
    }
    return after_dup(oldfd, REAL(dup2)(oldfd, newfd));
}

VTDSIM_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    if (oldfd != newfd && owned(newfd)) {
        vfio_shim_close(P.shim, newfd);
    }
    return after_dup(oldfd, REAL(dup3)(oldfd, newfd, flags));
}

VTDSIM_EXPORT int fcntl(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    /* every fcntl argument is an int, a long or a pointer: pass it on as a word */
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    int r = REAL(fcntl)(fd, cmd, arg);
    if ((cmd == F_DUPFD || cmd == F_DUPFD_CLOEXEC) && r >= 0) {
        after_dup(fd, r);
    }
    return r;
}

/* fcntl64 is what glibc 2.28+ binaries built with _FILE_OFFSET_BITS=64 call */
VTDSIM_EXPORT int fcntl64(int fd, int cmd, ...)
{
    va_list ap;
    va_start(ap, cmd);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    return fcntl(fd, cmd, arg);
}

/* ---- the VFIO calls -------------------------------------------------------------------- */

static const char *request_name(unsigned long req)
{
    switch (req) {
#define VFIO_ABI_CASE(n, name) \
    case VFIO_ABI_REQ(n):      \
        return #name;
        VFIO_ABI_REQUESTS(VFIO_ABI_CASE)
#undef VFIO_ABI_CASE
    default:
        return NULL;
    }
}

/*
 * $VTDSIM_VFIO_LOG names a file that gets one line per VFIO ioctl: fd,
 * request, result (errno name on failure).  For users finding out what
 * their program asked and what the "kernel" said.
 */
static void log_ioctl(int fd, unsigned long req, long r)
{
    const char *path = getenv("VTDSIM_VFIO_LOG");
    if (!path || !*path) {
        return;
    }
    FILE *f = REAL(fopen)(path, "a");
    if (!f) {
        return;
    }
    const char *name = request_name(req);
    if (name) {
        fprintf(f, "%d fd %d %s", (int)getpid(), fd, name);
    } else {
        fprintf(f, "%d fd %d 0x%lx", (int)getpid(), fd, req);
    }
    if (r < 0) {
        fprintf(f, " -> -1 %s\n", strerrorname_np((int)-r) ? strerrorname_np((int)-r) : "?");
    } else {
        fprintf(f, " -> %ld\n", r);
    }
    fclose(f);
}

/*
 * The intel-iommu debugfs files of the tree are snapshots: after the page
 * tables change they are rewritten, so a test that checks its mappings
 * there (the kernel selftests read domain_translation_struct) sees them.
 * Only device fds share request numbers with MAP/UNMAP (hot reset), and a
 * spurious refresh is harmless.
 */
static void refresh_debugfs(void)
{
    const char *root = getenv("VTDSIM_SYSFS_ROOT");
    if (!root || !*root || !P.shim) {
        return;
    }
    g_autoptr(GError) err = NULL;
    vfio_shim_lock(P.shim);
    if (!vfio_sysfs_refresh_debugfs(vfio_shim_sim(P.shim), root, &err)) {
        fprintf(stderr, "vtdsim-vfio: %s\n", err->message);
    }
    vfio_shim_unlock(P.shim);
}

VTDSIM_EXPORT int ioctl(int fd, unsigned long req, ...)
{
    va_list ap;
    va_start(ap, req);
    unsigned long arg = va_arg(ap, unsigned long);
    va_end(ap);
    if (!owned(fd)) {
        return REAL(ioctl)(fd, req, arg);
    }
    long r = vfio_shim_ioctl(P.shim, fd, req, arg);
    log_ioctl(fd, req, r);
    if (r >= 0 && (req == VFIO_ABI_IOMMU_MAP_DMA || req == VFIO_ABI_IOMMU_UNMAP_DMA || req == VFIO_ABI_SET_IOMMU)) {
        refresh_debugfs();
    }
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return (int)r;
}

static ssize_t shim_ret(ssize_t r)
{
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

VTDSIM_EXPORT ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
    if (!owned(fd)) {
        return REAL(pread)(fd, buf, n, off);
    }
    return shim_ret(vfio_shim_pread(P.shim, fd, buf, n, (uint64_t)off));
}

VTDSIM_EXPORT ssize_t pread64(int fd, void *buf, size_t n, off_t off)
{
    return pread(fd, buf, n, off);
}

/* _FORTIFY_SOURCE pread (QEMU calls __pread64_chk); @buflen is the object size the compiler knew */
ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);
ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen);

VTDSIM_EXPORT ssize_t __pread_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    if (n > buflen) {
        fprintf(stderr, "vtdsim-vfio: pread of %zu bytes into a %zu-byte buffer\n", n, buflen);
        abort();    /* what glibc's __chk_fail does: the program's own overflow */
    }
    return pread(fd, buf, n, off);
}

VTDSIM_EXPORT ssize_t __pread64_chk(int fd, void *buf, size_t n, off_t off, size_t buflen)
{
    return __pread_chk(fd, buf, n, off, buflen);
}

VTDSIM_EXPORT ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
    if (!owned(fd)) {
        return REAL(pwrite)(fd, buf, n, off);
    }
    return shim_ret(vfio_shim_pwrite(P.shim, fd, buf, n, (uint64_t)off));
}

VTDSIM_EXPORT ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off)
{
    return pwrite(fd, buf, n, off);
}

VTDSIM_EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    if (!owned(fd)) {
        return REAL(mmap)(addr, len, prot, flags, fd, off);
    }
    int err = 0;
    void *p = vfio_shim_mmap(P.shim, addr, len, prot, flags, fd, (uint64_t)off, &err);
    if (p == MAP_FAILED) {
        errno = err;
    }
    return p;
}

VTDSIM_EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return mmap(addr, len, prot, flags, fd, off);
}

VTDSIM_EXPORT int munmap(void *addr, size_t len)
{
    if (P.shim) {
        vfio_shim_munmap(P.shim, addr, len);
    }
    return REAL(munmap)(addr, len);
}

/* ---- sriov_numvfs ---------------------------------------------------------------------- */

static int numvfs_apply(const char *path, const char *buf, size_t n)
{
    VfioShim *s = shim_get();
    if (!s) {
        return -ENODEV;
    }
    return numvfs_write(s, path, buf, n);
}

VTDSIM_EXPORT ssize_t write(int fd, const void *buf, size_t n)
{
    const char *path = numvfs_path(fd);
    if (!path) {
        return REAL(write)(fd, buf, n);
    }
    int r = numvfs_apply(path, buf, n);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return (ssize_t)n;
}

static ssize_t cookie_write(void *c, const char *buf, size_t n)
{
    int r = numvfs_apply(c, buf, n);
    if (r < 0) {
        errno = -r;
        return -1;
    }
    return (ssize_t)n;
}

static int cookie_close(void *c)
{
    g_free(c);
    return 0;
}

VTDSIM_EXPORT FILE *fopen(const char *path, const char *mode)
{
    if (path && numvfs_is_path(path) && (strchr(mode, 'w') || strchr(mode, 'a') || strchr(mode, '+'))) {
        cookie_io_functions_t io = { .read = NULL, .write = cookie_write, .seek = NULL, .close = cookie_close };
        FILE *f = fopencookie(g_strdup(path), "w", io);
        if (f) {
            setvbuf(f, NULL, _IONBF, 0);    /* the kernel acts on each write() */
        }
        return f;
    }
    return REAL(fopen)(path, mode);
}

VTDSIM_EXPORT FILE *fopen64(const char *path, const char *mode)
{
    return fopen(path, mode);
}
