/*
 * vtdsim-run: runs an unmodified VFIO program against a simulated
 * platform.
 *
 * The program must see the simulated machine where a VFIO program looks
 * for its devices: /sys/bus/pci, /sys/kernel/iommu_groups, /sys/module/
 * vfio*, /sys/class/iommu, /sys/kernel/debug/iommu (intel-iommu debugfs
 * files), /dev/vfio and /dev/iommu.  vtdsim-run builds
 * the simulation from the platform file, writes that surface as a tree of
 * files (src/vfio/sysfs.h), and starts the program in a child that has a
 * private mount namespace in which the tree's directories are
 * bind-mounted over (or grafted into) the real ones.  The host never sees
 * any of it: no directory or file is created outside the tree, and the
 * namespace dies with the program.  The fd-based VFIO calls are the
 * business of the preloaded shim (libvtdsim-vfio.so), which rebuilds the
 * same simulation in-process from VTDSIM_PLATFORM and keeps the tree at
 * VTDSIM_SYSFS_ROOT up to date (sriov_numvfs).
 *
 * Grafting.  A mount needs an existing mount point, and /dev/vfio, /dev/
 * iommu or /sys/module/vfio usually do not exist on the host.  For every
 * parent directory P that lacks some of the targets, the child mounts a
 * tmpfs on a staging directory, recreates each entry of P in it (a
 * directory or an empty file as mount point, bind-mounted recursively
 * from P/entry so submounts such as /dev/pts, /dev/shm or /dev/hugepages
 * come along; symlinks copied as symlinks), adds mount points for the
 * missing targets, bind-mounts the tree onto them, and moves the whole
 * staging mount onto P.  Everything that was in P keeps working inside
 * the namespace.  Targets that exist are simply bind-mounted over.
 * (Overlayfs cannot be used for this: /sys and devtmpfs are not valid
 * overlay lower layers for our purpose, and an overlay would not carry
 * P's submounts.)
 *
 * Not handled: statically linked programs (no preload), programs that
 * need host PCI devices below /sys/devices/pci0000:00 (hidden by the
 * simulated platform's directory), entries created in a grafted parent
 * by the host after the program started (the graft is a snapshot of P's
 * entries), and nested targets whose grandparent is missing.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dirent.h>

#include <glib.h>

#include "vtdsim/platform.h"
#include "vfio/sysfs.h"

#ifndef VTDSIM_PKGLIBDIR
#define VTDSIM_PKGLIBDIR "/usr/local/lib/vtdsim"
#endif

#define EXIT_USAGE 2

static const char usage_text[] =
    "NAME\n"
    "    vtdsim-run - run a VFIO program against a simulated VT-d/PCIe platform\n"
    "\n"
    "SYNOPSIS\n"
    "    vtdsim-run [--platform FILE] [--tree DIR] [--preload LIB|none] [--faults FILE]\n"
    "               [--] PROGRAM [ARGS...]\n"
    "\n"
    "DESCRIPTION\n"
    "    Builds the platform described by FILE (default: the built-in q35 machine),\n"
    "    writes its sysfs/devfs view (PCI devices, IOMMU groups, VFIO modules, VT-d\n"
    "    units, /dev/vfio nodes) into a directory tree, and runs PROGRAM in a private\n"
    "    mount namespace where /sys/bus/pci, /sys/devices/pci0000:00,\n"
    "    /sys/kernel/iommu_groups, /sys/module/vfio, /sys/module/vfio_pci,\n"
    "    /sys/module/vfio_iommu_type1, /sys/class/iommu, /sys/kernel/debug/iommu,\n"
    "    /dev/vfio and /dev/iommu\n"
    "    are those of the simulated platform.  Nothing changes outside the namespace.\n"
    "    Needs root (CAP_SYS_ADMIN), or unprivileged user namespaces.\n"
    "\n"
    "OPTIONS\n"
    "    --platform FILE   platform file (docs/platform-format.md)\n"
    "    --tree DIR        write the tree into DIR and keep it afterwards (default: a\n"
    "                      fresh temporary directory, removed when PROGRAM exits)\n"
    "    --preload LIB     the VFIO shim to preload; 'none' preloads nothing.  Default:\n"
    "                      $VTDSIM_VFIO_PRELOAD if set, else\n"
    "                      " VTDSIM_PKGLIBDIR "/libvtdsim-vfio.so, else (in a build\n"
    "                      tree) .libs/libvtdsim-vfio.so next to vtdsim-run\n"
    "    --faults FILE     write the VT-d fault records of every process of the session\n"
    "                      to FILE (\"pid N: DMAR: ...\" lines, kernel-log format; empty\n"
    "                      when nothing faulted).  Default: print them on standard error\n"
    "    -h, --help        this text\n"
    "\n"
    "ENVIRONMENT OF PROGRAM\n"
    "    VTDSIM_PLATFORM     absolute path of the platform file, empty for the built-in one\n"
    "    VTDSIM_SYSFS_ROOT   the tree's root directory (as seen from PROGRAM)\n"
    "    LD_PRELOAD          the shim library, prepended to any inherited value\n"
    "    VTDSIM_VFIO_REPORT  where each process's shim writes its fault records, unless\n"
    "                        already set (then the caller collects them)\n"
    "\n"
    "EXIT STATUS\n"
    "    PROGRAM's exit status, or 128+N when it was killed by signal N.  2 when\n"
    "    vtdsim-run itself fails (bad platform file, tree not writable, namespace or\n"
    "    mount not permitted, PROGRAM not found or not executable, shim not found),\n"
    "    with one line on standard error.\n";

typedef struct RunOpts {
    const char *platform;
    const char *tree;
    const char *preload;
    const char *faults;
    char **argv;          /* PROGRAM ARGS..., borrowed from main's argv */
} RunOpts;

static G_GNUC_PRINTF(1, 2) int fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vtdsim-run: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return EXIT_USAGE;
}

/* Returns -1 when the options are fine, else the exit status. */
static int parse_args(int argc, char **argv, RunOpts *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        const char **slot = NULL;
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(usage_text, stdout);
            return 0;
        }
        if (a[0] != '-') {
            break;
        }
        const char *names[] = { "--platform", "--tree", "--preload", "--faults" };
        const char **slots[] = { &o->platform, &o->tree, &o->preload, &o->faults };
        const char *val = NULL;
        for (size_t k = 0; k < G_N_ELEMENTS(names); k++) {
            size_t n = strlen(names[k]);
            if (!strncmp(a, names[k], n) && (a[n] == '=' || a[n] == '\0')) {
                slot = slots[k];
                if (a[n] == '=') {
                    val = a + n + 1;
                } else if (i + 1 < argc) {
                    val = argv[++i];
                } else {
                    return fail("%s needs a value (see --help)", names[k]);
                }
            }
        }
        if (!slot) {
            return fail("unknown option '%s' (see --help)", a);
        }
        *slot = val;
    }
    if (i >= argc) {
        return fail("no program given (see --help)");
    }
    o->argv = argv + i;
    return -1;
}

/* ---- the child: namespace, mounts, exec --------------------------------- */

/* One failure line through the status pipe, then exit. */
static G_GNUC_NORETURN G_GNUC_PRINTF(2, 3) void child_fail(int fd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    ssize_t r = write(fd, msg, strlen(msg));
    (void)r;
    _exit(EXIT_USAGE);
}

static gboolean write_proc(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        return FALSE;
    }
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n == (ssize_t)strlen(text);
}

static void enter_namespace(int fd)
{
    uid_t uid = geteuid();
    gid_t gid = getegid();
    if (uid == 0) {
        if (unshare(CLONE_NEWNS) < 0) {
            child_fail(fd, "cannot create a mount namespace (unshare CLONE_NEWNS): %s",
                       g_strerror(errno));
        }
    } else {
        if (unshare(CLONE_NEWUSER | CLONE_NEWNS) < 0) {
            child_fail(fd, "not root and cannot create a user+mount namespace "
                       "(unshare CLONE_NEWUSER|CLONE_NEWNS): %s", g_strerror(errno));
        }
        g_autofree char *um = g_strdup_printf("%u %u 1\n", (unsigned)uid, (unsigned)uid);
        g_autofree char *gm = g_strdup_printf("%u %u 1\n", (unsigned)gid, (unsigned)gid);
        if (!write_proc("/proc/self/setgroups", "deny\n") || !write_proc("/proc/self/uid_map", um)
            || !write_proc("/proc/self/gid_map", gm)) {
            child_fail(fd, "cannot write the user namespace's uid/gid maps: %s", g_strerror(errno));
        }
    }
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) < 0) {
        child_fail(fd, "cannot make mount propagation private: %s", g_strerror(errno));
    }
}

/* What goes where: host path, tree path relative to the root. */
static const char *const mounts[][2] = {
    { "/sys/bus/pci", "sys/bus/pci" },
    { "/sys/devices/pci0000:00", "sys/devices/pci0000:00" },
    { "/sys/kernel/iommu_groups", "sys/kernel/iommu_groups" },
    { "/sys/module/vfio", "sys/module/vfio" },
    { "/sys/module/vfio_pci", "sys/module/vfio_pci" },
    { "/sys/module/vfio_iommu_type1", "sys/module/vfio_iommu_type1" },
    { "/sys/class/iommu", "sys/class/iommu" },
    { "/sys/kernel/debug/iommu", "sys/kernel/debug/iommu" },
    { "/dev/vfio", "dev/vfio" },
    { "/dev/iommu", "dev/iommu" },
};

static void make_mount_point(int fd, const char *path, bool dir)
{
    if (dir) {
        if (mkdir(path, 0755) < 0 && errno != EEXIST) {
            child_fail(fd, "cannot create mount point %s: %s", path, g_strerror(errno));
        }
        return;
    }
    int f = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (f < 0) {
        child_fail(fd, "cannot create mount point %s: %s", path, g_strerror(errno));
    }
    close(f);
}

static void bind_mount(int fd, const char *src, const char *dst, bool rec)
{
    if (mount(src, dst, "none", MS_BIND | (rec ? MS_REC : 0), NULL) < 0) {
        child_fail(fd, "cannot bind-mount %s on %s: %s", src, dst, g_strerror(errno));
    }
}

/* Replaces @parent by a tmpfs holding its entries plus the targets @names (see the top). */
static void graft(int fd, const char *root, const char *stage, const char *parent, GPtrArray *names)
{
    struct stat pst;
    if (stat(parent, &pst) < 0 || !S_ISDIR(pst.st_mode)) {
        child_fail(fd, "cannot graft into %s: it is not a directory on this host", parent);
    }
    if (g_mkdir_with_parents(stage, 0700) < 0) {
        child_fail(fd, "cannot create %s: %s", stage, g_strerror(errno));
    }
    if (mount("vtdsim-run", stage, "tmpfs", MS_NOSUID, "mode=755") < 0) {
        child_fail(fd, "cannot mount a tmpfs on %s: %s", stage, g_strerror(errno));
    }
    if (chmod(stage, pst.st_mode & 07777) < 0) {
        child_fail(fd, "cannot chmod %s: %s", stage, g_strerror(errno));
    }
    DIR *d = opendir(parent);
    if (!d) {
        child_fail(fd, "cannot read %s: %s", parent, g_strerror(errno));
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
            continue;
        }
        g_autofree char *src = g_build_filename(parent, e->d_name, NULL);
        g_autofree char *dst = g_build_filename(stage, e->d_name, NULL);
        struct stat st;
        if (lstat(src, &st) < 0) {
            continue;   /* gone meanwhile */
        }
        if (S_ISLNK(st.st_mode)) {
            char target[PATH_MAX];
            ssize_t n = readlink(src, target, sizeof target - 1);
            if (n < 0) {
                child_fail(fd, "cannot read link %s: %s", src, g_strerror(errno));
            }
            target[n] = '\0';
            if (symlink(target, dst) < 0) {
                child_fail(fd, "cannot copy link %s: %s", src, g_strerror(errno));
            }
            continue;
        }
        make_mount_point(fd, dst, S_ISDIR(st.st_mode));
        bind_mount(fd, src, dst, true);
    }
    closedir(d);
    for (guint i = 0; i < names->len; i++) {
        const char *const *m = g_ptr_array_index(names, i);
        g_autofree char *src = g_build_filename(root, m[1], NULL);
        g_autofree char *base = g_path_get_basename(m[0]);
        g_autofree char *dst = g_build_filename(stage, base, NULL);
        struct stat st;
        if (lstat(src, &st) < 0) {
            child_fail(fd, "tree entry %s is missing: %s", src, g_strerror(errno));
        }
        make_mount_point(fd, dst, S_ISDIR(st.st_mode));
        bind_mount(fd, src, dst, false);
    }
    if (mount(stage, parent, "none", MS_MOVE, NULL) < 0) {
        child_fail(fd, "cannot move the grafted %s into place: %s", parent, g_strerror(errno));
    }
}

static void mount_tree(int fd, const char *root)
{
    g_autoptr(GHashTable) missing = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                          (GDestroyNotify)g_ptr_array_unref);
    g_autoptr(GPtrArray) parents = g_ptr_array_new();   /* in order of first appearance */
    for (size_t i = 0; i < G_N_ELEMENTS(mounts); i++) {
        struct stat st;
        if (lstat(mounts[i][0], &st) == 0) {
            continue;
        }
        char *parent = g_path_get_dirname(mounts[i][0]);
        GPtrArray *names = g_hash_table_lookup(missing, parent);
        if (!names) {
            names = g_ptr_array_new();
            g_hash_table_insert(missing, parent, names);
            g_ptr_array_add(parents, parent);
        } else {
            g_free(parent);
        }
        g_ptr_array_add(names, (gpointer)mounts[i]);
    }
    for (guint i = 0; i < parents->len; i++) {
        const char *parent = g_ptr_array_index(parents, i);
        g_autofree char *stage = g_strdup_printf("%s/.vtdsim-run-stage/%u", root, i);
        graft(fd, root, stage, parent, g_hash_table_lookup(missing, parent));
    }
    for (size_t i = 0; i < G_N_ELEMENTS(mounts); i++) {
        g_autofree char *parent = g_path_get_dirname(mounts[i][0]);
        if (g_hash_table_contains(missing, parent)) {
            GPtrArray *names = g_hash_table_lookup(missing, parent);
            bool grafted = false;
            for (guint k = 0; k < names->len; k++) {
                grafted |= g_ptr_array_index(names, k) == (gpointer)mounts[i];
            }
            if (grafted) {
                continue;
            }
        }
        g_autofree char *src = g_build_filename(root, mounts[i][1], NULL);
        bind_mount(fd, src, mounts[i][0], false);
    }
}

static char *find_program(const char *name)
{
    if (strchr(name, '/')) {
        return access(name, X_OK) == 0 ? g_strdup(name) : NULL;
    }
    return g_find_program_in_path(name);
}

static G_GNUC_NORETURN void child(int fd, const RunOpts *o, const char *root, const char *prog,
                                  const char *platform_abs, const char *preload,
                                  const sigset_t *oldmask)
{
    enter_namespace(fd);
    mount_tree(fd, root);
    g_setenv("VTDSIM_PLATFORM", platform_abs ? platform_abs : "", TRUE);
    g_setenv("VTDSIM_SYSFS_ROOT", root, TRUE);
    if (!g_getenv("VTDSIM_VFIO_REPORT")) {
        g_autofree char *rep = g_build_filename(root, ".vtdsim-run-faults", "faults.%p", NULL);
        g_setenv("VTDSIM_VFIO_REPORT", rep, TRUE);
    }
    if (preload) {
        const char *old = g_getenv("LD_PRELOAD");
        g_autofree char *v = old && *old ? g_strdup_printf("%s:%s", preload, old) : g_strdup(preload);
        g_setenv("LD_PRELOAD", v, TRUE);
    }
    sigprocmask(SIG_SETMASK, oldmask, NULL);
    execv(prog, o->argv);
    child_fail(fd, "cannot execute %s: %s", prog, g_strerror(errno));
}

/* ---- the parent -------------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP) {
        return rmdir(path) < 0 ? -1 : 0;
    }
    return unlink(path) < 0 ? -1 : 0;
}

/*
 * Collects the fault reports the session's processes left (one file per
 * pid) into @out, or onto standard error when @out is NULL.  FALSE (with
 * a message) when @out cannot be written.
 */
static gboolean report_faults(const char *root, const char *out)
{
    if (g_getenv("VTDSIM_VFIO_REPORT")) {
        return TRUE;    /* the caller chose where reports go and collects them */
    }
    g_autofree char *dir = g_build_filename(root, ".vtdsim-run-faults", NULL);
    g_autoptr(GString) all = g_string_new(NULL);
    GDir *d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    for (const char *n; d && (n = g_dir_read_name(d));) {
        if (g_str_has_prefix(n, "faults.")) {
            g_ptr_array_add(names, g_strdup(n));
        }
    }
    if (d) {
        g_dir_close(d);
    }
    g_ptr_array_sort(names, (GCompareFunc)g_strcmp0);
    for (guint i = 0; i < names->len; i++) {
        const char *n = g_ptr_array_index(names, i);
        g_autofree char *path = g_build_filename(dir, n, NULL);
        g_autofree char *text = NULL;
        if (!g_file_get_contents(path, &text, NULL, NULL)) {
            continue;
        }
        g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
        for (char **l = lines; *l; l++) {
            if (**l) {
                g_string_append_printf(all, "pid %s: %s\n", n + strlen("faults."), *l);
            }
        }
        unlink(path);
    }
    rmdir(dir);
    if (!out) {
        if (all->len) {
            fprintf(stderr, "vtdsim-run: VT-d faults recorded during the run:\n%s", all->str);
        }
        return TRUE;
    }
    g_autoptr(GError) err = NULL;
    if (!g_file_set_contents(out, all->str, (gssize)all->len, &err)) {
        fail("%s", err->message);
        return FALSE;
    }
    return TRUE;
}

/* Waits for @pid, forwarding SIGTERM and SIGHUP; returns its wait status. */
static int wait_child(pid_t pid, const sigset_t *set)
{
    for (;;) {
        siginfo_t si;
        int sig = sigwaitinfo(set, &si);
        if (sig == SIGTERM || sig == SIGHUP) {
            kill(pid, sig);
        }
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid) {
            return status;
        }
        if (r < 0 && errno != EINTR) {
            return 0;
        }
    }
}

int main(int argc, char **argv)
{
    RunOpts o = { 0 };
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0) {
        return rc;
    }

    g_autofree char *platform_abs = NULL;
    if (o.platform) {
        platform_abs = realpath(o.platform, NULL);
        if (!platform_abs) {
            return fail("%s: %s", o.platform, g_strerror(errno));
        }
    }
    g_autoptr(GError) err = NULL;
    g_autoptr(EmuSim) sim = vtdsim_platform_new(o.platform, &err);
    if (!sim) {
        return fail("%s", err->message);
    }

    g_autofree char *preload = NULL;
    const char *pl = o.preload ? o.preload : g_getenv("VTDSIM_VFIO_PRELOAD");
    g_autofree char *beside = NULL;
    if (!pl) {
        pl = VTDSIM_PKGLIBDIR "/libvtdsim-vfio.so";
        /* run from a build tree: libtool leaves the library in .libs next to us */
        g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
        g_autofree char *dir = self ? g_path_get_dirname(self) : NULL;
        beside = dir ? g_build_filename(dir, ".libs", "libvtdsim-vfio.so", NULL) : NULL;
        if (access(pl, R_OK) < 0 && beside && access(beside, R_OK) == 0) {
            pl = beside;
        }
    }
    if (strcmp(pl, "none")) {
        if (access(pl, R_OK) < 0) {
            return fail("preload library %s: %s (build the shim, or pass --preload none)", pl,
                        g_strerror(errno));
        }
        preload = g_canonicalize_filename(pl, NULL);
    }

    g_autofree char *prog = find_program(o.argv[0]);
    if (!prog) {
        return fail("%s: program not found or not executable", o.argv[0]);
    }

    g_autofree char *root = NULL;
    g_autofree char *faults_dir = NULL;
    if (o.tree) {
        if (g_mkdir_with_parents(o.tree, 0755) < 0) {
            return fail("cannot create %s: %s", o.tree, g_strerror(errno));
        }
        root = realpath(o.tree, NULL);
        if (!root) {
            return fail("%s: %s", o.tree, g_strerror(errno));
        }
    } else {
        root = g_dir_make_tmp("vtdsim-run-XXXXXX", &err);
        if (!root) {
            return fail("cannot create a temporary directory: %s", err->message);
        }
        chmod(root, 0755);   /* readable by the program whatever user it switches to */
    }
    if (!vfio_sysfs_build(sim, root, &err)) {
        rc = fail("%s", err->message);
        goto out;
    }

    faults_dir = g_build_filename(root, ".vtdsim-run-faults", NULL);
    if (g_mkdir_with_parents(faults_dir, 0777) < 0) {
        rc = fail("cannot create %s: %s", faults_dir, g_strerror(errno));
        goto out;
    }
    chmod(faults_dir, 01777);    /* programs that switch users still leave their reports */
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        rc = fail("pipe: %s", g_strerror(errno));
        goto out;
    }
    fflush(NULL);
    sigset_t set, oldmask;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, &oldmask);
    pid_t pid = fork();
    if (pid < 0) {
        rc = fail("fork: %s", g_strerror(errno));
        sigprocmask(SIG_SETMASK, &oldmask, NULL);
        goto out;
    }
    if (pid == 0) {
        close(pfd[0]);
        child(pfd[1], &o, root, prog, platform_abs, preload, &oldmask);
    }
    close(pfd[1]);
    char msg[1024];
    size_t len = 0;
    for (;;) {
        ssize_t n = read(pfd[0], msg + len, sizeof msg - 1 - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0 || (len += (size_t)n) == sizeof msg - 1) {
            break;
        }
    }
    msg[len] = '\0';
    close(pfd[0]);
    int status = wait_child(pid, &set);
    sigprocmask(SIG_SETMASK, &oldmask, NULL);
    if (len) {
        rc = fail("%s", msg);
    } else if (WIFSIGNALED(status)) {
        rc = 128 + WTERMSIG(status);
    } else {
        rc = WEXITSTATUS(status);
    }
    if (!len && !report_faults(root, o.faults)) {
        rc = rc ? rc : EXIT_USAGE;
    }

out:
    if (!o.tree) {
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        g_autofree char *stage = g_build_filename(root, ".vtdsim-run-stage", NULL);
        nftw(stage, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    return rc;
}
