/*
 * Fuzz target: the VFIO shim core (src/vfio/shim.h) driven the way a VFIO
 * program drives the kernel: open the container and groups, close and dup
 * their fds, ioctl any request on any fd with an argument of any size and
 * content, pread/pwrite device regions at any offset and length, mmap and
 * munmap BARs.  One fresh platform and shim per input.
 *
 * The input is a sequence of operations; every field is read from it
 * little-endian and reads past its end give zeros (so every input means
 * something).  Each operation begins with one byte, taken modulo OP_COUNT:
 *
 *   0 open container        1 open group  u8 sel
 *   2 close  u8 fd          3 dup  u8 fd
 *   4 ioctl  u8 fd, u8 req, then the argument (see ioctl_op)
 *   5 pread  u8 fd, u8 region, u32 offset, u16 len
 *   6 pwrite u8 fd, u8 region, u32 offset, u16 len, len data bytes
 *   7 mmap   u8 fd, u8 region, u8 page, u8 pages, u8 flags
 *   8 munmap u8 which, u8 mode  9 advance  u16 (ns; bit 15 set: x 10 us)
 *
 * "u8 fd" picks one of the fds open in this input (0xff: a number that is
 * not a VFIO fd).  Argument buffers are heap blocks of exactly the size the
 * input asks for, and argsz never exceeds that size (an honest client), so
 * any read or write of the shim past argsz is an ASan report.  Pointers
 * inside argument structs (MAP_DMA vaddr, dirty bitmap data, eventfds,
 * group fds) are made to point at memory and fds this harness owns, or at
 * unmapped pages and closed fds on purpose.
 *
 * VTDSIM_FUZZ_VFIO_TRACE=1 prints what each operation did (to read a seed).
 *
 * Inputs that crash the shim through known open findings (docs/
 * robustness.md, VFIO shim) are only generated with
 * VTDSIM_FUZZ_VFIO_STRICT=1 in the environment: an argument pointer that
 * is not readable and a buffer shorter than the fixed header the kernel
 * reads before it looks at argsz (no fault-safe user copy), a dirty bitmap
 * pointer into a hole, eventfd slots with any fd number, and a MAP_DMA of
 * a read-only page for device writes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>
#include <glib.h>
#include "fuzz.h"
#include "vtdsim/vtdsim.h"
#include "vfio/shim.h"
#include "vfio/vfio_abi.h"

enum { OP_COUNT = 10, MAX_OPS = 96, MAX_FDS = 48, MAX_MAPS = 16, ARENA_PAGES = 64 };

static const char *const platform_text =
    "[platform]\nname = fuzzvfio\nram = 32M\nfirmware = full\n"
    "[device ioat]\ntype = ioat\nbdf = 00:04.0\nxfercap = 20\nchannels = 1\n"
    "[device edu]\ntype = edu\nbdf = 00:01.0\n"
    "[device rp0]\ntype = root-port\nbdf = 00:1c.0\nacs = true\n"
    "[device nic]\ntype = endpoint\nparent = rp0\nvendor = 0x8086\ndevice = 0x1572\nclass = 0x020000\n"
    "bar0 = mem64:64K\nbar2 = io:32\nbar3 = mem64:16K\nmsix = 8\nmsix-bar = 3\nmsi = 4\n"
    "sriov-total-vfs = 2\nsriov-offset = 1\nsriov-stride = 1\nsriov-vf-device = 0x154c\n"
    "sriov-vf-bar0 = mem64:64K\nsriov-vf-bar3 = mem64:16K\n"
    "[device rp1]\ntype = root-port\nbdf = 00:1d.0\nacs = true\n"
    "[device ce]\ntype = ioat-sriov\nparent = rp1\nxfercap = 20\nchannels = 1\n"
    "sriov-total-vfs = 2\nsriov-offset = 1\nsriov-stride = 1\n"
    "[vtd dmar0]\nbase = 0xFED90000\npreset = xeon\nscope = all\n";

/* Functions a GET_DEVICE_FD name or a group choice may name (unknown ones are skipped). */
static const char *const bdfs[] = { "00:04.0", "00:01.0", "01:00.0", "01:00.1", "01:00.2",
                                    "02:00.0", "02:00.1", "02:00.2", "00:1c.0" };

typedef enum FdKind { K_CONTAINER, K_GROUP, K_DEVICE } FdKind;

typedef struct Harness {
    bool trace;       /* VTDSIM_FUZZ_VFIO_TRACE=1: one stderr line per operation */
    const uint8_t *p;
    size_t left;
    bool strict;
    VfioShim *s;
    int fds[MAX_FDS];
    FdKind kind[MAX_FDS];
    int nfds;
    struct {
        void *addr;
        size_t len;
    } maps[MAX_MAPS];
    int nmaps;
    int efd[2];       /* eventfds the input may bind */
    int devnull;      /* an fd that is not an eventfd */
    int closed_fd;    /* a number known not to be open */
} Harness;

/* Memory a MAP_DMA may name: read-write pages, a read-only page, and a hole. */
static uint8_t *arena, *ro_page, *hole;

static void init_memory(void)
{
    if (arena) {
        return;
    }
    arena = mmap(NULL, ARENA_PAGES * 4096ul, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ro_page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    hole = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    g_assert(arena != MAP_FAILED && ro_page != MAP_FAILED && hole != MAP_FAILED);
    munmap(hole, 16 * 4096);
}

#define TRACE(h, ...)                    \
    do {                                 \
        if ((h)->trace) {                \
            fprintf(stderr, __VA_ARGS__); \
            fputc('\n', stderr);         \
        }                                \
    } while (0)

/* ---- reading the input ------------------------------------------------------------------- */

static uint64_t rd(Harness *h, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++) {
        if (h->left) {
            v |= (uint64_t)*h->p++ << (8 * i);
            h->left--;
        }
    }
    return v;
}

static void rd_bytes(Harness *h, uint8_t *out, size_t n)
{
    size_t k = MIN(n, h->left);
    memcpy(out, h->p, k);
    memset(out + k, 0, n - k);
    h->p += k;
    h->left -= k;
}

/* ---- fds -------------------------------------------------------------------------------- */

static int pick_fd(Harness *h, int *slot)
{
    unsigned sel = (unsigned)rd(h, 1);
    if (slot) {
        *slot = -1;
    }
    if (sel == 0xff || !h->nfds) {
        return h->closed_fd;
    }
    int i = (int)(sel % (unsigned)h->nfds);
    if (slot) {
        *slot = i;
    }
    return h->fds[i];
}

static FdKind kind_of(Harness *h, int fd)
{
    for (int i = 0; i < h->nfds; i++) {
        if (h->fds[i] == fd) {
            return h->kind[i];
        }
    }
    return K_CONTAINER;
}

static void add_fd(Harness *h, int fd, FdKind k)
{
    if (h->nfds == MAX_FDS) {
        vfio_shim_close(h->s, fd);
        close(fd);
        return;
    }
    h->fds[h->nfds] = fd;
    h->kind[h->nfds++] = k;
}

static void open_path(Harness *h, const char *path, FdKind k)
{
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return;
    }
    int r = vfio_shim_open(h->s, path, fd);
    TRACE(h, "open %s -> fd %d: %d", path, fd, r);
    if (r < 0) {
        close(fd);
        return;
    }
    add_fd(h, fd, k);
}

/* An fd for an eventfd slot or a group-fd list: mostly ours, sometimes wrong on purpose. */
static int32_t fd_value(Harness *h, uint8_t sel)
{
    switch (sel % 8) {
    case 0:
    case 1:
    case 2:
        return h->efd[sel % 2];
    case 3:
        return -1;
    case 4:
        return h->devnull;
    case 5:
        return h->closed_fd;
    case 6:
        return h->nfds ? h->fds[(sel >> 3) % h->nfds] : -1;
    default:
        return h->strict ? (int32_t)(sel >> 3) : -1 - (sel >> 3);
    }
}

/* ---- ioctl ------------------------------------------------------------------------------ */

/* Bytes the kernel copies in before it checks argsz (offsetofend of the minsz field). */
static size_t header_of(FdKind k, unsigned n)
{
    if (k == K_DEVICE && (n == 12 || n == 13)) {
        return 12;    /* HOT_RESET_INFO, HOT_RESET: argsz, flags, count */
    }
    static const uint8_t hdr[18] = { 0, 0, 0, 8, 4, 0, 0, 16, 32, 16, 20, 0, 16, 32, 24, 0, 0, 8 };
    return n < 18 ? hdr[n] : 0;
}

/* A user pointer a struct may carry: into a buffer the harness allocates, NULL, or (strict) unmapped. */
static uint64_t bitmap_ptr(Harness *h, uint64_t bytes, GPtrArray *owned)
{
    uint8_t mode = (uint8_t)rd(h, 1);
    if (mode % 4 == 3) {
        return 0;
    }
    if (mode % 4 == 2 && h->strict) {
        return (uint64_t)(uintptr_t)hole;
    }
    /* an exact-size heap buffer: ASan catches bitmap writes past the size the client gave */
    void *b = g_malloc(bytes);
    g_ptr_array_add(owned, b);
    return (uint64_t)(uintptr_t)b;
}

static void fix_map_dma(Harness *h, uint8_t *buf, size_t n)
{
    if (n < sizeof(VfioAbiDmaMap)) {
        return;
    }
    VfioAbiDmaMap m;
    memcpy(&m, buf, sizeof m);
    uint8_t mode = (uint8_t)rd(h, 1);
    switch (mode & 7) {
    case 0:
    case 1:
    case 2:
        m.vaddr = (uint64_t)(uintptr_t)(arena + (rd(h, 1) % ARENA_PAGES) * 4096);
        break;
    case 3:
        /* a read-only page: accepted for DMA writes, then a device write faults (strict only) */
        m.vaddr = (uint64_t)(uintptr_t)(h->strict ? ro_page : arena);
        break;
    case 4:
        m.vaddr = (uint64_t)(uintptr_t)hole + (rd(h, 1) % 16) * 4096;
        break;
    case 5:
        m.vaddr = rd(h, 1) * 4096;    /* low, unmapped */
        break;
    default:
        break;                        /* as the input gave it */
    }
    if (mode & 8) {
        /* a plausible range: page-aligned IOVA, 1..16 pages */
        m.iova = rd(h, 2) * 4096;
        m.size = (rd(h, 1) % 16 + 1) * 4096;
    }
    if (mode & 16) {
        m.flags = VFIO_ABI_DMA_MAP_READ | VFIO_ABI_DMA_MAP_WRITE;
    }
    if (m.vaddr >= (uint64_t)(uintptr_t)arena && m.vaddr < (uint64_t)(uintptr_t)(arena + ARENA_PAGES * 4096) &&
        (mode & 32)) {
        /* keep the range inside the arena */
        uint64_t room = (uint64_t)(uintptr_t)(arena + ARENA_PAGES * 4096) - m.vaddr;
        m.size = m.size % room ? m.size % room : room;
    }
    memcpy(buf + 4, (uint8_t *)&m + 4, sizeof m - 4);
}

static void fix_bitmap(Harness *h, uint8_t *buf, size_t n, size_t at, GPtrArray *owned)
{
    if (n < at + sizeof(VfioAbiBitmap)) {
        return;
    }
    VfioAbiBitmap b;
    memcpy(&b, buf + at, sizeof b);
    if (rd(h, 1) & 1) {
        b.pgsize = 4096;
        b.size = rd(h, 1) * 8;
    }
    b.size = MIN(b.size, (uint64_t)65536);    /* an honest client owns the bytes it declares */
    b.data = bitmap_ptr(h, b.size, owned);
    memcpy(buf + at, &b, sizeof b);
}

static void ioctl_op(Harness *h)
{
    int fd = pick_fd(h, NULL);
    FdKind k = kind_of(h, fd);
    uint8_t rs = (uint8_t)rd(h, 1);
    unsigned long req;
    unsigned n;
    if (rs < 0xe0) {
        n = rs % 18;
        req = VFIO_ABI_REQ(n);
    } else if (rs < 0xf0) {
        n = 18 + (rs & 15);
        req = VFIO_ABI_REQ(n);
    } else {
        req = (unsigned long)rd(h, 4);
        n = (req >> 8) == VFIO_ABI_TYPE && (req & 0xff) >= 100 ? (unsigned)(req & 0xff) - 100 : 999;
    }

    /* requests whose argument is a value */
    if (n == 0 || n == 1 || n == 2 || n == 5 || n == 11 || n == 15 || n == 16) {
        long r = vfio_shim_ioctl(h->s, fd, req, (unsigned long)rd(h, 1) % 16);
        TRACE(h, "ioctl fd %d req %u (value) -> %ld", fd, n, r);
        return;
    }
    if (n == 4 && k == K_GROUP) {
        int32_t *cfd = g_new(int32_t, 1);
        uint8_t sel = (uint8_t)rd(h, 1);
        *cfd = sel < 0xc0 && h->nfds ? h->fds[sel % h->nfds] : fd_value(h, sel);
        long r = vfio_shim_ioctl(h->s, fd, req, (unsigned long)cfd);
        TRACE(h, "ioctl fd %d SET_CONTAINER %d -> %ld", fd, *cfd, r);
        g_free(cfd);
        return;
    }
    if (n == 6 && k == K_GROUP) {
        uint8_t sel = (uint8_t)rd(h, 1);
        char *name;
        if (sel < 0x80) {
            const char *tok = "";
            if (sel & 0x40) {
                tok = (sel & 0x20) ? " vf_token=6f1d4b2a-0c4e-4a8c-9b7e-2d5f0a3c1e9b" : " vf_token=x";
            }
            name = g_strdup_printf("%s%s%s", (sel & 0x10) ? "" : "0000:", bdfs[sel % G_N_ELEMENTS(bdfs)], tok);
        } else {
            size_t len = rd(h, 1) % 64;
            name = g_malloc(len + 1);
            rd_bytes(h, (uint8_t *)name, len);
            name[len] = '\0';
        }
        long r = vfio_shim_ioctl(h->s, fd, req, (unsigned long)name);
        TRACE(h, "ioctl fd %d GET_DEVICE_FD \"%s\" -> %ld", fd, name, r);
        if (r >= 0) {
            add_fd(h, (int)r, K_DEVICE);
        }
        g_free(name);
        return;
    }

    /* a pointer argument: heap buffer of exactly the asked size, argsz <= size */
    size_t size = (size_t)rd(h, 2) % 1025;
    if (!h->strict) {
        size = MAX(size, header_of(k, n));
    }
    uint8_t *buf = g_malloc(size ? size : 1);
    rd_bytes(h, buf, size);
    uint8_t am = (uint8_t)rd(h, 1);
    if (size >= 4) {
        uint32_t argsz;
        memcpy(&argsz, buf, 4);
        switch (am % 4) {
        case 0:
            argsz = (uint32_t)size;
            break;
        case 1:
            argsz = argsz % ((uint32_t)size + 1);
            break;
        case 2:
            argsz = argsz % 40;
            argsz = MIN(argsz, (uint32_t)size);
            break;
        default:
            argsz = (uint32_t)size - (uint32_t)MIN(size, (size_t)(am >> 2));
            break;
        }
        memcpy(buf, &argsz, 4);
    }
    g_autoptr(GPtrArray) owned = g_ptr_array_new_with_free_func(g_free);
    if (k == K_CONTAINER && n == 13) {
        fix_map_dma(h, buf, size);
    } else if (k == K_CONTAINER && n == 14) {
        fix_bitmap(h, buf, size, sizeof(VfioAbiDmaUnmap), owned);
    } else if (k == K_CONTAINER && n == 17) {
        fix_bitmap(h, buf, size, sizeof(VfioAbiDirty) + 16, owned);
    } else if (k == K_DEVICE && n == 10 && size > sizeof(VfioAbiIrqSet)) {
        /* eventfd slots: replace every 4-byte slot after the header by a chosen fd */
        if (buf[4] & 4) {
            for (size_t o = sizeof(VfioAbiIrqSet); o + 4 <= size; o += 4) {
                int32_t v = fd_value(h, (uint8_t)rd(h, 1));
                memcpy(buf + o, &v, 4);
            }
        }
    } else if (k == K_DEVICE && n == 13 && size > sizeof(VfioAbiHotReset)) {
        for (size_t o = sizeof(VfioAbiHotReset); o + 4 <= size; o += 4) {
            int32_t v = fd_value(h, (uint8_t)rd(h, 1));
            memcpy(buf + o, &v, 4);
        }
    }
    unsigned long arg = (unsigned long)buf;
    if (h->strict && (am & 0xf0) == 0xf0) {
        arg = (unsigned long)(am & 0x0f) * 4096;    /* NULL or an unmapped low page */
    }
    long r = vfio_shim_ioctl(h->s, fd, req, arg);
    TRACE(h, "ioctl fd %d req %u size %zu -> %ld", fd, n, size, r);
    g_free(buf);
}

/* ---- regions ---------------------------------------------------------------------------- */

static uint64_t region_offset(Harness *h)
{
    uint8_t region = (uint8_t)rd(h, 1);
    uint64_t off = rd(h, 4);
    if (!(region & 0x80)) {
        off &= 0xffff;    /* mostly inside small BARs and config space */
    }
    return ((uint64_t)(region & 0x7f) % 12 << VFIO_ABI_PCI_OFFSET_SHIFT) | off;
}

static void rw_op(Harness *h, bool write)
{
    int fd = pick_fd(h, NULL);
    uint64_t offset = region_offset(h);
    size_t len = (size_t)rd(h, 2) % 4097;
    uint8_t *buf = g_malloc(len ? len : 1);
    if (write) {
        rd_bytes(h, buf, len);
        ssize_t r = vfio_shim_pwrite(h->s, fd, buf, len, offset);
        TRACE(h, "pwrite fd %d 0x%" G_GINT64_MODIFIER "x len %zu -> %zd", fd, offset, len, r);
    } else {
        ssize_t r = vfio_shim_pread(h->s, fd, buf, len, offset);
        TRACE(h, "pread fd %d 0x%" G_GINT64_MODIFIER "x len %zu -> %zd", fd, offset, len, r);
    }
    g_free(buf);
}

static void mmap_op(Harness *h)
{
    int fd = pick_fd(h, NULL);
    uint8_t region = (uint8_t)rd(h, 1) % 10;
    uint64_t page = rd(h, 1);
    size_t len = (size_t)(rd(h, 1) % 32) * 4096 + ((rd(h, 1) & 0x80) ? 1 : 0);
    uint8_t fl = (uint8_t)rd(h, 1);
    int flags = (fl & 1) ? MAP_PRIVATE : MAP_SHARED;
    uint64_t offset = ((uint64_t)region << VFIO_ABI_PCI_OFFSET_SHIFT) | page * 4096 | ((fl & 2) ? 0x10 : 0);
    int err = 0;
    void *p = vfio_shim_mmap(h->s, NULL, len, PROT_READ | PROT_WRITE, flags, fd, offset, &err);
    TRACE(h, "mmap fd %d 0x%" G_GINT64_MODIFIER "x len %zu -> %s", fd, offset, len,
          p == MAP_FAILED ? g_strerror(err) : "ok");
    if (p == MAP_FAILED) {
        return;
    }
    if (h->nmaps == MAX_MAPS) {
        vfio_shim_munmap(h->s, p, len);
        munmap(p, len);
        return;
    }
    h->maps[h->nmaps].addr = p;
    h->maps[h->nmaps++].len = len;
}

/*
 * The shim unmaps a device's BAR pages itself when the device's last fd is
 * closed (the kernel keeps them mapped); the pages are unmapped here only
 * while the shim still traps them, so a stale record never unmaps memory
 * the address was reused for.
 */
static void munmap_op(Harness *h)
{
    uint8_t which = (uint8_t)rd(h, 1), mode = (uint8_t)rd(h, 1);
    if (!h->nmaps) {
        return;
    }
    int i = which % h->nmaps;
    uint8_t *a = h->maps[i].addr;
    size_t len = h->maps[i].len;
    if (mode & 1 && len > 4096) {
        /* the first page only: the rest stays mapped and trapped */
        if (vfio_shim_munmap(h->s, a, 4096)) {
            munmap(a, 4096);
        }
        h->maps[i].addr = a + 4096;
        h->maps[i].len = len - 4096;
        return;
    }
    if (vfio_shim_munmap(h->s, a, len)) {
        munmap(a, len);
    }
    h->maps[i] = h->maps[--h->nmaps];
}

/* ---- one input -------------------------------------------------------------------------- */

static void run_ops(Harness *h)
{
    for (unsigned ops = 0; h->left && ops < MAX_OPS; ops++) {
        switch (rd(h, 1) % OP_COUNT) {
        case 0:
            open_path(h, "/dev/vfio/vfio", K_CONTAINER);
            break;
        case 1: {
            uint8_t sel = (uint8_t)rd(h, 1);
            int gid = sel & 0x80 ? (sel & 0x7f) : vfio_shim_group_of(h->s, bdfs[sel % G_N_ELEMENTS(bdfs)]);
            g_autofree char *path = sel == 0xff ? g_strdup("/dev/iommu") : g_strdup_printf("/dev/vfio/%d", gid);
            open_path(h, path, K_GROUP);
            break;
        }
        case 2: {
            int slot;
            int fd = pick_fd(h, &slot);
            if (slot >= 0) {
                vfio_shim_close(h->s, fd);
                close(fd);
                h->fds[slot] = h->fds[h->nfds - 1];
                h->kind[slot] = h->kind[--h->nfds];
            }
            break;
        }
        case 3: {
            int slot;
            int fd = pick_fd(h, &slot);
            if (slot >= 0 && h->nfds < MAX_FDS) {
                int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
                if (nfd >= 0) {
                    vfio_shim_dup(h->s, fd, nfd);
                    add_fd(h, nfd, h->kind[slot]);
                }
            }
            break;
        }
        case 4:
            ioctl_op(h);
            break;
        case 5:
            rw_op(h, false);
            break;
        case 6:
            rw_op(h, true);
            break;
        case 7:
            mmap_op(h);
            break;
        case 8:
            munmap_op(h);
            break;
        default: {
            /* bit 15 clear: up to 32 us in ns; set: up to 327 ms in 10 us steps (edu DMA takes 100 ms) */
            uint64_t v = rd(h, 2);
            vfio_shim_advance(h->s, (v & 0x8000) ? (v & 0x7fff) * 10000000ull : v * 1000);
            break;
        }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int strict = -1, trace;
    if (strict < 0) {
        const char *e = getenv("VTDSIM_FUZZ_VFIO_STRICT");
        strict = e && *e == '1';
        e = getenv("VTDSIM_FUZZ_VFIO_TRACE");
        trace = e && *e == '1';
    }
    init_memory();
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new_from_data(platform_text, "fuzz-vfio.platform", &err);
    if (!sim) {
        g_error("fuzz_vfio: %s", err->message);
    }
    Harness h = { .trace = trace, .p = data, .left = size, .strict = strict == 1 };
    h.s = vfio_shim_new(sim, &err);
    if (!h.s) {
        g_error("fuzz_vfio: %s", err->message);
    }
    h.efd[0] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h.efd[1] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    h.devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    h.closed_fd = 987;    /* not open: fds here stay far below it */

    run_ops(&h);

    for (int i = 0; i < h.nmaps; i++) {
        if (vfio_shim_munmap(h.s, h.maps[i].addr, h.maps[i].len)) {
            munmap(h.maps[i].addr, h.maps[i].len);
        }
    }
    for (int i = 0; i < h.nfds; i++) {
        vfio_shim_close(h.s, h.fds[i]);
        close(h.fds[i]);
    }
    vfio_shim_free(h.s);
    close(h.efd[0]);
    close(h.efd[1]);
    close(h.devnull);
    return 0;
}
