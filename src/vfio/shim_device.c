/*
 * The VFIO shim's device side: what vfio-pci shows a user of one PCIe
 * function of the simulated platform.
 *
 * Regions: BAR0-5 at index << 40 (memory BARs readable, writable and
 * mappable; I/O BARs not mappable; the upper half of a 64-bit BAR is
 * empty), no ROM, config space (4 KiB for PCIe functions, never mappable),
 * no VGA.  Region reads and writes go through the simulated system memory
 * space at the BAR's decoded address, so they reach the device model the
 * same way a CPU access would, and each advances simulated time by the
 * MMIO latency.  Reads of the MSI-X table through pread return all ones
 * and writes are dropped: the table belongs to SET_IRQS, as in vfio-pci.
 * Mapped BARs are trapping pages (mmio_trap.h).
 *
 * Config space is virtualized the way vfio-pci does it (vfio.md §1.6), in
 * a simplified per-byte form: the IDs (a VF's come from its PF), the BARs
 * and ROM BAR (sizing works, values never reach the device), Interrupt
 * Line and the whole MSI capability live in a virtual copy; the MSI-X
 * capability is read-only; a write of Initiate FLR performs the function
 * reset; everything else passes through to the device.  Bus Master is
 * cleared when the device is first opened.  Not modelled: PM state
 * trapping, hiding of unknown capabilities, AER masking, MRRS flooring.
 *
 * Interrupts: each bound vector gets a (destination, vector) pair unique
 * in the shim and, when the unit remaps interrupts, its own IRTE accepting
 * only the function's requester ID; the device's MSI-X table entry or MSI
 * capability is programmed in remappable format.  The platform's delivery
 * observer turns each interrupt the local-APIC side receives into a write
 * to the bound eventfd.  INTx goes the kernel's way too: the IOAPIC input
 * the platform wires the function to gets a level-triggered redirection
 * entry (remappable, naming an IRTE that accepts only the IOAPIC's source
 * ID, when the unit remaps), shared by the functions on that input; the
 * delivered interrupt signals every enabled, unmasked function showing
 * Interrupt Status, masks it with Interrupt Disable (AUTOMASKED) and EOIs
 * the IOAPIC.  An interrupt nobody claims gets no EOI until the next
 * unmask on that input, so a stuck line cannot storm.  ERR and REQ accept
 * an eventfd and never fire (no AER or unplug requests are modelled); the
 * INTx unmask eventfd (an irqfd for KVM) is accepted and not watched.
 */
#define _GNU_SOURCE
#include "vfio/shim_internal.h"
#include "vfio/shim_uaccess.h"
#include "models/ioapic/ioapic.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* PCI/PCIe config layout facts used here (PCI Local Bus 3.0, PCIe Base 5.0 §7.5, §7.7). */
enum {
    CFG_BAR0 = 0x10,
    CFG_ROM = 0x30,
    MSI_FLAGS = 2,             /* Message Control */
    MSI_FLAGS_ENABLE = 0x1,
    MSI_FLAGS_64BIT = 0x80,
    MSI_ADDR_LO = 4,
    MSIX_FLAGS = 2,
    MSIX_FLAGS_ENABLE = 0x8000,
    MSIX_FLAGS_MASKALL = 0x4000,
    MSIX_TABLE = 4,            /* BIR 2:0, offset 31:3 */
    MSIX_ENTRY = 16,
    EXP_DEVCAP = 4,
    EXP_DEVCAP_FLR = 1u << 28,
    EXP_DEVCTL = 8,
    EXP_DEVCTL_FLR = 0x8000,
    SRIOV_VF_DID = 0x1a,
};

struct ShimDevice {
    VfioShim *shim;
    PcieFn *fn;
    ShimGroup *group;
    int refs;                  /* open device fds */
    uint8_t vcfg[PCIE_CONFIG_SIZE];
    uint64_t bar_size[7];      /* 6 = ROM */
    bool bar_io[6], bar_hi[6];
    uint8_t msi_cap, msix_cap, exp_cap;
    unsigned msix_count, msix_bir;
    uint64_t msix_off;
    /* interrupts */
    int irq_index;             /* active MSI/MSI-X/INTx index, -1 none */
    GPtrArray *vectors;        /* ShimVector * of irq_index (MSI, MSI-X), NULL slots unbound */
    unsigned msi_block;        /* MSI: first (destination, vector) pair of the block */
    int msi_irte;              /* MSI: first IRTE of the block, -1 without remapping */
    int intx_fd, intx_unmask_fd, err_fd, req_fd;
    bool intx_masked;
    GPtrArray *traps;          /* ShimTrap * */
    bool closed;               /* every fd closed, BAR mmaps still alive (the kernel keeps them too) */
    ShimIdev *idev;            /* bound to an iommufd (cdev BIND, or a group in iommufd compat) */
};

typedef struct ShimTrap {
    ShimDevice *dev;
    unsigned bar;
    uint64_t off;              /* offset in the BAR of the first trapped byte */
    uint8_t *addr;
    size_t len;
    MmioTrap *trap;
} ShimTrap;

/* ---- groups and device lookup ----------------------------------------------------------- */

typedef struct GroupCollect {
    int id;
    GPtrArray *fns;
} GroupCollect;

static void collect_fn(PcieFn *fn, void *opaque)
{
    GroupCollect *gc = opaque;
    if (!pcie_fn_is_bridge(fn) && pcie_fn_kind(fn) != PCIE_KIND_HOST_BRIDGE && pcie_fn_group(fn) == gc->id) {
        g_ptr_array_add(gc->fns, fn);
    }
}

static PcieFn *find_by_name(VfioShim *s, const char *name);

static void fn_group_used(PcieFn *fn, void *opaque)
{
    if (pcie_fn_group(fn) >= 0) {
        g_hash_table_add(opaque, GINT_TO_POINTER(pcie_fn_group(fn)));
    }
}

static void fn_group_missing(PcieFn *fn, void *opaque)
{
    GHashTable *used = opaque;
    if (pcie_fn_group(fn) < 0 && pcie_fn_is_vf(fn)) {
        /* a VF enabled after the groups were computed: the lowest unused number, as Linux allocates */
        int g = 0;
        while (g_hash_table_contains(used, GINT_TO_POINTER(g))) {
            g++;
        }
        pcie_fn_set_group(fn, g);
        g_hash_table_add(used, GINT_TO_POINTER(g));
    }
}

static void assign_missing_groups(VfioShim *s)
{
    g_autoptr(GHashTable) used = g_hash_table_new(g_direct_hash, g_direct_equal);
    pcie_fabric_foreach(s->p->fabric, fn_group_used, used);
    pcie_fabric_foreach(s->p->fabric, fn_group_missing, used);
}

int vfio_shim_group_of(VfioShim *s, const char *bdf)
{
    vfio_shim_lock(s);
    assign_missing_groups(s);
    PcieFn *fn = find_by_name(s, bdf);
    int g = fn ? pcie_fn_group(fn) : -1;
    vfio_shim_unlock(s);
    return g;
}

void shim_collect_group(VfioShim *s, int id, GPtrArray *fns)
{
    assign_missing_groups(s);
    GroupCollect gc = { id, fns };
    pcie_fabric_foreach(s->p->fabric, collect_fn, &gc);
}

static bool cfg_is_pcie(ShimDevice *d)
{
    return d->exp_cap != 0;
}

static uint8_t find_cap(PcieFn *fn, uint8_t id)
{
    return pcie_fn_find_cap(fn, id);
}

static void device_snapshot(ShimDevice *d)
{
    PcieFn *fn = d->fn;
    for (unsigned off = 0; off < PCIE_CONFIG_SIZE; off += 4) {
        uint32_t v = pcie_fn_config_read(fn, (uint16_t)off, 4);
        memcpy(d->vcfg + off, &v, 4);
    }
    if (pcie_fn_is_vf(fn)) {
        /* a VF's ID registers read all ones; vfio-pci shows the PF's vendor and the VF Device ID */
        PcieFn *pf = pcie_fn_pf(fn);
        uint16_t sriov = pcie_fn_find_ext_cap(pf, 0x10);
        uint16_t vendor = (uint16_t)pcie_fn_config_read(pf, 0, 2);
        uint16_t dev = sriov ? (uint16_t)pcie_fn_config_read(pf, (uint16_t)(sriov + SRIOV_VF_DID), 2) : 0xffff;
        memcpy(d->vcfg + 0, &vendor, 2);
        memcpy(d->vcfg + 2, &dev, 2);
    }
}

static ShimDevice *device_get(VfioShim *s, PcieFn *fn, ShimGroup *g)
{
    ShimDevice *d = g_hash_table_lookup(s->devices, fn);
    if (d && d->closed) {
        /* opened again while an old BAR mmap kept it: a fresh open, as vfio-pci does one */
        d->closed = false;
        d->group = g;
        device_snapshot(d);
        uint16_t cmd = (uint16_t)pcie_fn_config_read(fn, PCI_COMMAND, 2);
        pcie_fn_config_write(fn, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
        d->vcfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;
    }
    if (d) {
        return d;
    }
    d = g_new0(ShimDevice, 1);
    d->shim = s;
    d->fn = fn;
    d->group = g;
    d->irq_index = -1;
    d->intx_fd = d->intx_unmask_fd = d->err_fd = d->req_fd = -1;
    d->traps = g_ptr_array_new();
    d->msi_cap = find_cap(fn, PCI_CAP_ID_MSI);
    d->msix_cap = find_cap(fn, PCI_CAP_ID_MSIX);
    d->exp_cap = find_cap(fn, PCI_CAP_ID_EXP);
    for (unsigned i = 0; i < 6; i++) {
        d->bar_size[i] = pcie_fn_bar_size(fn, i);
    }
    device_snapshot(d);
    for (unsigned i = 0; i < 6; i++) {
        uint32_t v;
        memcpy(&v, d->vcfg + CFG_BAR0 + 4 * i, 4);
        if (!d->bar_size[i]) {
            continue;
        }
        d->bar_io[i] = v & 1;
        if (!(v & 1) && ((v >> 1) & 3) == 2 && i < 5) {
            d->bar_hi[i + 1] = true;
        }
    }
    if (d->msix_cap) {
        uint16_t flags = (uint16_t)pcie_fn_config_read(fn, (uint16_t)(d->msix_cap + MSIX_FLAGS), 2);
        uint32_t table = pcie_fn_config_read(fn, (uint16_t)(d->msix_cap + MSIX_TABLE), 4);
        d->msix_count = (flags & 0x7ffu) + 1;
        d->msix_bir = table & 7;
        d->msix_off = table & ~7u;
    }
    /* vfio-pci leaves Bus Master off after open; the user sets it */
    uint16_t cmd = (uint16_t)pcie_fn_config_read(fn, PCI_COMMAND, 2);
    pcie_fn_config_write(fn, PCI_COMMAND, 2, cmd & ~PCI_COMMAND_MASTER);
    d->vcfg[PCI_COMMAND] &= (uint8_t)~PCI_COMMAND_MASTER;
    g_hash_table_insert(s->devices, fn, d);
    return d;
}

static PcieFn *find_by_name(VfioShim *s, const char *name)
{
    const char *p = name;
    if (strlen(p) > 5 && p[4] == ':' && !strncmp(p, "0000", 4)) {
        p += 5;    /* segment 0 is the only one */
    }
    uint16_t rid;
    if (strlen(p) != 7 || !platform_parse_bdf(p, &rid)) {
        return NULL;
    }
    return pcie_fabric_find(s->p->fabric, rid);
}

static bool parse_uuid(const char *t, uint8_t out[16])
{
    unsigned k = 0;
    for (const char *c = t; *c; c++) {
        if (*c == '-') {
            continue;
        }
        if (!g_ascii_isxdigit(c[0]) || !g_ascii_isxdigit(c[1]) || k >= 16) {
            return false;
        }
        out[k++] = (uint8_t)(g_ascii_xdigit_value(c[0]) << 4 | g_ascii_xdigit_value(c[1]));
        c++;
    }
    return k == 16;
}

/*
 * The VF token rule of vfio-pci as clients rely on it: once a PF's token is
 * set (by the PF's user with DEVICE_FEATURE, or by the first open naming
 * one), every VF open must present the same token (EACCES otherwise).
 */
static int check_vf_token(VfioShim *s, PcieFn *fn, const uint8_t *uuid)
{
    bool have = uuid != NULL;
    if (pcie_fn_is_vf(fn)) {
        const uint8_t *pf_token = g_hash_table_lookup(s->vf_tokens, pcie_fn_pf(fn));
        if (!pf_token && !have) {
            return 0;
        }
        if (!pf_token || !have || memcmp(pf_token, uuid, 16)) {
            g_printerr("vtdsim-vfio: device open: %s VF token for a VF of %s\n",
                       have ? "incorrect" : "missing", pcie_fn_name(pcie_fn_pf(fn)));
            return -EACCES;
        }
        return 0;
    }
    if (have) {
        if (!pcie_fn_find_ext_cap(fn, 0x10)) {
            return -EINVAL;    /* a token for a function that is not a PF */
        }
        g_hash_table_replace(s->vf_tokens, fn, g_memdup2(uuid, 16));
    }
    return 0;
}

ShimDevice *shim_device_open(VfioShim *s, PcieFn *fn, const uint8_t *token, int *err)
{
    *err = check_vf_token(s, fn, token);
    if (*err < 0) {
        return NULL;
    }
    assign_missing_groups(s);    /* a VF enabled since the groups were computed (cdev opens) */
    ShimGroup *g = shim_group_get(s, pcie_fn_group(fn));
    if (!g) {
        *err = -ENODEV;
        return NULL;
    }
    ShimDevice *d = device_get(s, fn, g);
    d->refs++;
    g->open_devices++;
    return d;
}

PcieFn *shim_device_fn(ShimDevice *d)
{
    return d->fn;
}

ShimIdev *shim_device_idev(ShimDevice *d)
{
    return d->idev;
}

void shim_device_set_idev(ShimDevice *d, ShimIdev *idev)
{
    d->idev = idev;
}

long shim_group_get_device_fd(VfioShim *s, ShimGroup *g, const char *name)
{
    g_auto(GStrv) parts = g_strsplit(name, " ", 2);
    if (!parts[0]) {
        return -ENODEV;
    }
    PcieFn *fn = find_by_name(s, parts[0]);
    if (!fn || !g_ptr_array_find(g->fns, fn, NULL)) {
        return -ENODEV;
    }
    /* a container with an IOMMU set, or an iommufd (compat: no SET_IOMMU needed) */
    if (!g->ictx && (!g->container || !g->container->type)) {
        return -EINVAL;
    }
    uint8_t uuid[16];
    bool have_token = false;
    if (parts[1]) {
        if (!g_str_has_prefix(parts[1], "vf_token=") || !parse_uuid(parts[1] + strlen("vf_token="), uuid)) {
            return -EINVAL;
        }
        have_token = true;
    }
    int r;
    ShimDevice *d = shim_device_open(s, fn, have_token ? uuid : NULL, &r);
    if (!d) {
        return r;
    }
    if (g->ictx && !d->idev) {
        r = shim_iommufd_compat_open(s, g->ictx, d);
        if (r < 0) {
            shim_device_unref(s, d);
            return r;
        }
    }
    int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        shim_device_unref(s, d);
        return r;
    }
    shim_fd_bind(s, fd, SHIM_FD_DEVICE, d);
    return fd;
}

void shim_device_ref(ShimDevice *d)
{
    d->refs++;
    d->group->open_devices++;
}

static void irq_disable(ShimDevice *d);
static void trap_free(ShimTrap *t);

void shim_device_unref(VfioShim *s, ShimDevice *d)
{
    d->group->open_devices--;
    if (--d->refs > 0) {
        return;
    }
    /* last close: vfio-pci disables interrupts and resets the function; iommufd unbinds */
    irq_disable(d);
    if (d->idev) {
        shim_iommufd_unbind(s, d->idev);
        d->idev = NULL;
    }
    int *fds[] = { &d->intx_unmask_fd, &d->err_fd, &d->req_fd };
    for (unsigned i = 0; i < G_N_ELEMENTS(fds); i++) {
        if (*fds[i] >= 0) {
            close(*fds[i]);
            *fds[i] = -1;
        }
    }
    ShimGroup *g = d->group;
    if (d->traps->len) {
        /* a BAR mmap outlives the fd, as the kernel's does: the device stays until it is unmapped */
        d->closed = true;
    } else {
        g_ptr_array_unref(d->traps);
        g_hash_table_remove(s->devices, d->fn);
        g_free(d);
    }
    if (!g->opened && !g->open_devices && (g->container || g->ictx)) {
        shim_group_unset(s, g);
    }
}

/* ---- config space ----------------------------------------------------------------------- */

/* TRUE when byte @off of config space lives in the virtual copy. */
static bool cfg_virtual(ShimDevice *d, unsigned off)
{
    if (off < 4) {
        return true;                                   /* IDs */
    }
    if ((off >= CFG_BAR0 && off < CFG_BAR0 + 24) || (off >= CFG_ROM && off < CFG_ROM + 4)) {
        return true;                                   /* BARs, ROM BAR */
    }
    if (off == PCI_INTERRUPT_LINE) {
        return true;
    }
    if (d->msi_cap && off >= d->msi_cap && off < d->msi_cap + 24u) {
        return true;                                   /* the whole MSI capability */
    }
    return false;
}

static uint32_t cfg_read(ShimDevice *d, unsigned off, unsigned size)
{
    uint32_t hw = pcie_fn_config_read(d->fn, (uint16_t)off, size);
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++) {
        uint8_t b = cfg_virtual(d, off + i) ? d->vcfg[off + i] : (uint8_t)(hw >> (8 * i));
        v |= (uint32_t)b << (8 * i);
    }
    return v;
}

/* Re-applies a BAR's sizing mask and type bits after a write to its virtual dword. */
static void bar_fixup(ShimDevice *d, unsigned bar)
{
    uint32_t v;
    unsigned off = bar == 6 ? CFG_ROM : CFG_BAR0 + 4 * bar;
    memcpy(&v, d->vcfg + off, 4);
    if (bar == 6) {
        v = 0;    /* no option ROM: the ROM BAR reads as zero */
    } else if (d->bar_hi[bar]) {
        uint64_t size = d->bar_size[bar - 1];
        v &= (uint32_t)(~(size - 1) >> 32);
    } else if (!d->bar_size[bar]) {
        v = 0;
    } else if (d->bar_io[bar]) {
        v = (v & (uint32_t)~(d->bar_size[bar] - 1) & ~3u) | 1;
    } else {
        uint32_t hwv = pcie_fn_config_read(d->fn, (uint16_t)off, 4);
        v = (v & (uint32_t)~(d->bar_size[bar] - 1) & ~0xfu) | (hwv & 0xf);
    }
    memcpy(d->vcfg + off, &v, 4);
}

static void device_reset(ShimDevice *d);

static void cfg_write(ShimDevice *d, unsigned off, unsigned size, uint32_t val)
{
    bool all_hw = true, any_hw = false;
    for (unsigned i = 0; i < size; i++) {
        bool v = cfg_virtual(d, off + i);
        all_hw &= !v;
        any_hw |= !v;
    }
    for (unsigned i = 0; i < size; i++) {
        unsigned o = off + i;
        if (!cfg_virtual(d, o) || o < 4) {
            continue;          /* IDs are read-only */
        }
        if (d->msi_cap && o >= d->msi_cap && o < d->msi_cap + 2u) {
            continue;          /* MSI ID/next: read-only */
        }
        d->vcfg[o] = (uint8_t)(val >> (8 * i));
    }
    for (unsigned bar = 0; bar < 7; bar++) {
        unsigned boff = bar == 6 ? CFG_ROM : CFG_BAR0 + 4 * bar;
        if (off < boff + 4 && off + size > boff) {
            bar_fixup(d, bar);
        }
    }
    if (!any_hw) {
        return;
    }
    if (d->msix_cap && off >= d->msix_cap && off < d->msix_cap + 12u) {
        return;                /* MSI-X capability: read-only to the user */
    }
    if (d->exp_cap && off <= d->exp_cap + EXP_DEVCTL + 1u && off + size > d->exp_cap + EXP_DEVCTL + 1u &&
        (val >> (8 * (d->exp_cap + EXP_DEVCTL + 1 - off))) & (EXP_DEVCTL_FLR >> 8)) {
        /* Initiate FLR: vfio-pci performs a function reset instead */
        device_reset(d);
        val &= ~((uint32_t)(EXP_DEVCTL_FLR >> 8) << (8 * (d->exp_cap + EXP_DEVCTL + 1 - off)));
    }
    if (all_hw) {
        pcie_fn_config_write(d->fn, (uint16_t)off, size, val);
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        if (!cfg_virtual(d, off + i)) {
            pcie_fn_config_write(d->fn, (uint16_t)(off + i), 1, (val >> (8 * i)) & 0xff);
        }
    }
}

/* ---- BARs ------------------------------------------------------------------------------- */

static bool in_msix_table(ShimDevice *d, unsigned bar, uint64_t off, unsigned size)
{
    return d->msix_cap && bar == d->msix_bir && off + size > d->msix_off &&
           off < d->msix_off + (uint64_t)d->msix_count * MSIX_ENTRY;
}

static uint64_t bar_read(ShimDevice *d, unsigned bar, uint64_t off, unsigned size)
{
    uint64_t base = pcie_fn_bar_addr(d->fn, bar);
    uint64_t v = ~0ull;
    emu_sim_run_until(d->shim->sim, emu_sim_now(d->shim->sim) + d->shim->mmio_read_ps);
    if (base != PCIE_BAR_UNMAPPED) {
        addr_space_read(d->shim->p->mem, base + off, size, &v);
    }
    return size == 8 ? v : v & ((1ull << (8 * size)) - 1);
}

static void bar_write(ShimDevice *d, unsigned bar, uint64_t off, uint64_t val, unsigned size)
{
    uint64_t base = pcie_fn_bar_addr(d->fn, bar);
    if (base != PCIE_BAR_UNMAPPED) {
        addr_space_write(d->shim->p->mem, base + off, size, val);
    }
    emu_sim_run_until(d->shim->sim, emu_sim_now(d->shim->sim) + d->shim->mmio_write_ps);
}

static uint64_t trap_read(void *opaque, uint64_t offset, unsigned size)
{
    ShimTrap *t = opaque;
    VfioShim *s = t->dev->shim;
    vfio_shim_lock(s);
    uint64_t v = bar_read(t->dev, t->bar, t->off + offset, size);
    vfio_shim_unlock(s);
    return v;
}

static void trap_write(void *opaque, uint64_t offset, uint64_t val, unsigned size)
{
    ShimTrap *t = opaque;
    VfioShim *s = t->dev->shim;
    vfio_shim_lock(s);
    bar_write(t->dev, t->bar, t->off + offset, val, size);
    vfio_shim_unlock(s);
}

static const MmioTrapOps trap_ops = {
    .read = trap_read,
    .write = trap_write,
};

static void trap_free(ShimTrap *t)
{
    mmio_trap_remove(t->trap);
    g_free(t);
}

static ShimDevice *device_of_fd(VfioShim *s, int fd)
{
    ShimFd *f = shim_fd(s, fd);
    if (f && f->kind == SHIM_FD_CDEV) {
        return ((ShimCdev *)f->obj)->dev;    /* NULL before BIND_IOMMUFD */
    }
    return f && f->kind == SHIM_FD_DEVICE ? f->obj : NULL;
}

/* The errno for an fd with no device behind it: a cdev fd before BIND_IOMMUFD is EINVAL, as in the kernel. */
static int no_device(VfioShim *s, int fd)
{
    ShimFd *f = shim_fd(s, fd);
    return f && f->kind == SHIM_FD_CDEV ? EINVAL : EBADF;
}

/* The BAR mmap overlapping [va, va+len), or NULL (trapped ranges never overlap each other). */
static ShimTrap *trap_overlapping(VfioShim *s, uint64_t va, uint64_t len, ShimDevice **dev)
{
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ShimDevice *d = v;
        for (guint i = 0; i < d->traps->len; i++) {
            ShimTrap *t = g_ptr_array_index(d->traps, i);
            uint64_t a = (uintptr_t)t->addr;
            if (va < a + t->len && a < va + len) {
                *dev = d;
                return t;
            }
        }
    }
    return NULL;
}

bool shim_range_is_bar_mmap(VfioShim *s, uint64_t va, uint64_t len)
{
    ShimDevice *d;
    return trap_overlapping(s, va, len, &d) != NULL;
}

void shim_devices_free(VfioShim *s)
{
    /* devices whose fds are closed but whose BAR mmaps the client never unmapped */
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ShimDevice *d = v;
        while (d->traps->len) {
            trap_free(g_ptr_array_steal_index(d->traps, d->traps->len - 1));
        }
        g_ptr_array_unref(d->traps);
        g_free(d);
        g_hash_table_iter_remove(&it);
    }
}

bool shim_bar_mmap_hpa(VfioShim *s, uint64_t va, uint64_t len, uint64_t *hpa)
{
    ShimDevice *d;
    ShimTrap *t = trap_overlapping(s, va, len, &d);
    if (!t) {
        return false;
    }
    uint64_t a = (uintptr_t)t->addr;
    uint64_t base = pcie_fn_bar_addr(d->fn, t->bar);
    /* the whole range inside this one mapping (a range straddling its edge is not peer-to-peer) */
    if (va < a || va + len > a + t->len || base == PCIE_BAR_UNMAPPED) {
        return false;
    }
    *hpa = base + t->off + (va - a);
    return true;
}

static ssize_t region_rw(VfioShim *s, int fd, uint8_t *buf, size_t len, uint64_t offset, bool write)
{
    vfio_shim_lock(s);
    ShimDevice *d = device_of_fd(s, fd);
    ssize_t ret = (ssize_t)len;
    unsigned index = (unsigned)(offset >> VFIO_ABI_PCI_OFFSET_SHIFT);
    uint64_t off = offset & ((1ull << VFIO_ABI_PCI_OFFSET_SHIFT) - 1);
    if (!d) {
        ret = -no_device(s, fd);
    } else if (index == VFIO_ABI_PCI_CONFIG) {
        unsigned size_cfg = cfg_is_pcie(d) ? PCIE_CONFIG_SIZE : 256;
        if (off >= size_cfg || len > size_cfg - off) {
            ret = -EINVAL;
        } else {
            emu_sim_run_until(s->sim, emu_sim_now(s->sim) + s->mmio_read_ps);
            for (size_t done = 0; done < len;) {
                unsigned o = (unsigned)(off + done);
                unsigned n = (o & 1) || len - done < 2 ? 1 : (o & 2) || len - done < 4 ? 2 : 4;
                uint32_t v = 0;
                if (write) {
                    memcpy(&v, buf + done, n);
                    cfg_write(d, o, n, v);
                } else {
                    v = cfg_read(d, o, n);
                    memcpy(buf + done, &v, n);
                }
                done += n;
            }
        }
    } else if (index < 6 && d->bar_size[index] && !d->bar_hi[index]) {
        if (off >= d->bar_size[index] || len > d->bar_size[index] - off) {
            ret = -EINVAL;
        } else {
            for (size_t done = 0; done < len;) {
                uint64_t o = off + done;
                unsigned n = 8;
                while (n > 1 && ((o & (n - 1)) || len - done < n)) {
                    n /= 2;
                }
                uint64_t v = 0;
                if (in_msix_table(d, index, o, n)) {
                    if (!write) {
                        memset(buf + done, 0xff, n);
                    }
                } else if (write) {
                    memcpy(&v, buf + done, n);
                    bar_write(d, index, o, v, n);
                } else {
                    v = bar_read(d, index, o, n);
                    memcpy(buf + done, &v, n);
                }
                done += n;
            }
        }
    } else {
        ret = -EINVAL;
    }
    vfio_shim_unlock(s);
    return ret;
}

ssize_t vfio_shim_pread(VfioShim *s, int fd, void *buf, size_t len, uint64_t offset)
{
    return region_rw(s, fd, buf, len, offset, false);
}

ssize_t vfio_shim_pwrite(VfioShim *s, int fd, const void *buf, size_t len, uint64_t offset)
{
    return region_rw(s, fd, (uint8_t *)buf, len, offset, true);
}

void *vfio_shim_mmap(VfioShim *s, void *addr, size_t len, int prot, int flags, int fd, uint64_t offset,
                     int *err)
{
    (void)prot;
    void *ret = MAP_FAILED;
    vfio_shim_lock(s);
    ShimDevice *d = device_of_fd(s, fd);
    unsigned index = (unsigned)(offset >> VFIO_ABI_PCI_OFFSET_SHIFT);
    uint64_t off = offset & ((1ull << VFIO_ABI_PCI_OFFSET_SHIFT) - 1);
    *err = EINVAL;
    if (!d) {
        *err = no_device(s, fd);
    } else if (!(flags & MAP_SHARED) || index >= 6 || !d->bar_size[index] || d->bar_io[index] ||
               d->bar_hi[index] || (off & (SHIM_PAGE - 1)) || !len) {
        /* private mappings, non-BAR and I/O regions are refused, as vfio-pci does */
    } else {
        uint64_t span = (d->bar_size[index] + SHIM_PAGE - 1) & ~(uint64_t)(SHIM_PAGE - 1);
        if (off < span && len <= span - off) {
            int mflags = MAP_SHARED | MAP_ANONYMOUS | (flags & MAP_FIXED);
            void *p = mmap(addr, len, PROT_NONE, mflags, -1, 0);
            if (p == MAP_FAILED) {
                *err = errno;
            } else {
                ShimTrap *t = g_new0(ShimTrap, 1);
                t->dev = d;
                t->bar = index;
                t->off = off;
                t->addr = p;
                t->len = len;
                g_autoptr(GError) terr = NULL;
                t->trap = mmio_trap_add(p, len, &trap_ops, t, &terr);
                if (!t->trap) {
                    g_printerr("vtdsim-vfio: mmap of BAR%u: %s\n", index, terr->message);
                    munmap(p, len);
                    g_free(t);
                    *err = ENOMEM;
                } else {
                    g_ptr_array_add(d->traps, t);
                    ret = p;
                    *err = 0;
                }
            }
        }
    }
    vfio_shim_unlock(s);
    return ret;
}

bool vfio_shim_munmap(VfioShim *s, void *addr, size_t len)
{
    bool any = false;
    vfio_shim_lock(s);
    GHashTableIter it;
    gpointer v;
    g_hash_table_iter_init(&it, s->devices);
    while (g_hash_table_iter_next(&it, NULL, &v)) {
        ShimDevice *d = v;
        for (guint i = d->traps->len; i-- > 0;) {
            ShimTrap *t = g_ptr_array_index(d->traps, i);
            if (t->addr >= (uint8_t *)addr && t->addr < (uint8_t *)addr + len) {
                g_ptr_array_remove_index(d->traps, i);
                trap_free(t);
                any = true;
            }
        }
        if (d->closed && !d->traps->len) {
            /* the last mapping of a closed device */
            g_hash_table_iter_remove(&it);
            g_ptr_array_unref(d->traps);
            g_free(d);
        }
    }
    vfio_shim_unlock(s);
    return any;
}

/* ---- interrupts ------------------------------------------------------------------------- */

/*
 * Allocates @n (a power of two) consecutive (destination, vector) pairs
 * on one destination, the first aligned to @n - what a multi-message MSI
 * needs without remapping, since the device ORs the message number into
 * the data - and, with remapping, @n consecutive IRTEs accepting only the
 * function's requester ID.  Returns the first pair's index k (vector
 * 0x30 + k % 192 on destination k / 192); the IRTE of pair i is *@irte + i,
 * or *@irte = -1 without remapping.
 */
static unsigned vector_block(ShimDevice *d, unsigned n, int *irte)
{
    VfioShim *s = d->shim;
    unsigned k = s->next_vec % (192u * 256u);
    while (((k % 192) + 0x30) % n || (k % 192) + n > 192) {
        k = (k + 1) % (192u * 256u);
    }
    s->next_vec = k + n;
    *irte = -1;
    ShimUnit *u = shim_unit_for(s, d->fn);
    if (u && u->ir) {
        *irte = (int)(u->next_irte % (1u << SHIM_IRTE_LOG2));
        if (*irte + n > (1u << SHIM_IRTE_LOG2)) {
            *irte = 0;    /* wrap: a run binding more than 4096 vectors reuses entries */
        }
        u->next_irte = (unsigned)*irte + n;
    }
    return k;
}

static ShimVector *vector_new(ShimDevice *d, unsigned index, unsigned sub, int efd, unsigned k, int irte,
                              uint16_t sid, bool level)
{
    VfioShim *s = d->shim;
    ShimVector *v = g_new0(ShimVector, 1);
    v->dev = d;
    v->index = index;
    v->sub = sub;
    v->efd = efd;
    v->irte = -1;
    v->dest = (uint8_t)(k / 192);
    v->vector = (uint8_t)(0x30 + k % 192);
    ShimUnit *u = shim_unit_for(s, d->fn);
    if (irte >= 0 && u) {
        g_autoptr(GError) err = NULL;
        if (vtd_drv_irte_set(u->drv, (unsigned)irte, sid, v->vector, v->dest, level, &err)) {
            v->irte = irte;
        } else {
            g_printerr("vtdsim-vfio: IRTE %d: %s\n", irte, err->message);
        }
    }
    g_hash_table_replace(s->vectors, GUINT_TO_POINTER((unsigned)v->dest << 8 | v->vector), v);
    return v;
}

static void vector_free(VfioShim *s, ShimVector *v)
{
    if (!v) {
        return;
    }
    if (v->efd >= 0) {
        close(v->efd);
    }
    g_hash_table_remove(s->vectors, GUINT_TO_POINTER((unsigned)v->dest << 8 | v->vector));
}

static void signal_fd(int fd);

/* ---- INTx through the IOAPIC ------------------------------------------------------------ */

static unsigned fn_gsi(PcieFn *fn)
{
    unsigned pin = (unsigned)pcie_fn_config_read(fn, PCI_INTERRUPT_PIN, 1);
    return platform_intx_gsi(fn, pin ? pin : 1);
}

static void ioapic_rte_write(VfioShim *s, unsigned gsi, uint64_t rte)
{
    /* the kernel's IOAPIC driver: select the high dword, write it, then the low one */
    AddrSpace *as = s->p->mem;
    addr_space_write(as, s->p->ioapic_base + IOAPIC_IOREGSEL, 4, IOAPIC_REG_RTE(gsi) + 1);
    addr_space_write(as, s->p->ioapic_base + IOAPIC_IOWIN, 4, (uint32_t)(rte >> 32));
    addr_space_write(as, s->p->ioapic_base + IOAPIC_IOREGSEL, 4, IOAPIC_REG_RTE(gsi));
    addr_space_write(as, s->p->ioapic_base + IOAPIC_IOWIN, 4, (uint32_t)rte);
}

/*
 * Routes the function's INTx line as the kernel does: the IOAPIC input the
 * platform wires it to gets a level-triggered redirection entry - in
 * remappable format naming an IRTE that accepts only the IOAPIC's source ID
 * when the unit remaps interrupts - shared by every function on that input.
 */
static void intx_route(ShimDevice *d)
{
    VfioShim *s = d->shim;
    unsigned gsi = fn_gsi(d->fn);
    if (s->intx_users[gsi]++) {
        return;
    }
    int irte;
    unsigned k = vector_block(d, 1, &irte);
    ShimVector *v = vector_new(d, VFIO_ABI_PCI_INTX_IRQ, gsi, -1, k, irte, PLATFORM_IOAPIC_SID, true);
    s->intx_vec[gsi] = v;
    uint64_t rte = v->irte >= 0 ? ioapic_rte_remappable((uint16_t)v->irte, v->vector, true, true)
                                : ioapic_rte_compat(v->dest, v->vector, 0, false, true, true);
    ioapic_rte_write(s, gsi, rte);
}

static void intx_unroute(ShimDevice *d)
{
    VfioShim *s = d->shim;
    unsigned gsi = fn_gsi(d->fn);
    if (!s->intx_users[gsi] || --s->intx_users[gsi]) {
        return;
    }
    ioapic_rte_write(s, gsi, IOAPIC_RTE_MASK);
    vector_free(s, s->intx_vec[gsi]);
    s->intx_vec[gsi] = NULL;
}

static void intx_set_disable(ShimDevice *d, bool disable)
{
    uint16_t cmd = (uint16_t)pcie_fn_config_read(d->fn, PCI_COMMAND, 2);
    cmd = disable ? (cmd | 0x400) : (cmd & ~0x400u);    /* Interrupt Disable */
    pcie_fn_config_write(d->fn, PCI_COMMAND, 2, cmd);
}

/*
 * The kernel's handler for a shared INTx line: every function on it that
 * is enabled, unmasked and shows Interrupt Status gets its eventfd signalled
 * and is masked (Interrupt Disable, so the line drops) until the user
 * unmasks it; then the EOI clears the IOAPIC's Remote IRR.
 */
static void intx_deliver(VfioShim *s, const ShimVector *v)
{
    unsigned gsi = v->sub;
    bool handled = false;
    GHashTableIter it;
    gpointer val;
    g_hash_table_iter_init(&it, s->devices);
    while (g_hash_table_iter_next(&it, NULL, &val)) {
        ShimDevice *d = val;
        uint16_t st = (uint16_t)pcie_fn_config_read(d->fn, PCI_STATUS, 2);
        if (d->irq_index != VFIO_ABI_PCI_INTX_IRQ || d->intx_masked || d->intx_fd < 0 ||
            !(st & PCI_STATUS_INTERRUPT) || fn_gsi(d->fn) != gsi) {
            continue;
        }
        d->intx_masked = true;
        intx_set_disable(d, true);
        signal_fd(d->intx_fd);
        handled = true;
    }
    if (!handled) {
        /*
         * Nobody on this line claims the interrupt (a function no VFIO user
         * owns, or one whose user masked it after it asserted): without an
         * EOI the IOAPIC's Remote IRR stays set and the level-triggered
         * line cannot storm; the next unmask on this input sends the EOI.
         */
        s->intx_eoi_pending[gsi] = v->vector;
        return;
    }
    platform_irq_eoi(s->p, v->vector);
}

static void intx_retry(ShimDevice *d)
{
    VfioShim *s = d->shim;
    unsigned gsi = fn_gsi(d->fn);
    if (s->intx_eoi_pending[gsi]) {
        uint8_t vec = s->intx_eoi_pending[gsi];
        s->intx_eoi_pending[gsi] = 0;
        platform_irq_eoi(s->p, vec);
    }
}

static void observe_irq(void *opaque, const PlatformIrq *irq)
{
    VfioShim *s = opaque;
    if (irq->path == PLATFORM_IRQ_UNIT_EVENT || irq->path == PLATFORM_IRQ_POSTED) {
        return;
    }
    ShimVector *v = g_hash_table_lookup(s->vectors, GUINT_TO_POINTER((unsigned)irq->dest << 8 | irq->vector));
    if (!v) {
        return;
    }
    if (v->index == VFIO_ABI_PCI_INTX_IRQ) {
        intx_deliver(s, v);
    } else {
        signal_fd(v->efd);
    }
}

void shim_irq_init(VfioShim *s)
{
    platform_set_irq_observer(s->p, observe_irq, s);
}

void shim_irq_fini(VfioShim *s)
{
    platform_set_irq_observer(s->p, NULL, NULL);
}

static void vector_message(ShimVector *v, uint64_t *addr, uint32_t *data)
{
    if (v->irte >= 0) {
        vtd_drv_msi_remappable((unsigned)v->irte, addr, data);
    } else {
        *addr = 0xfee00000ull | ((uint64_t)v->dest << 12);
        *data = v->vector;
    }
}

/* Writes MSI-X table entry @i through the system memory space, as the kernel's CPU does. */
static void msix_program(ShimDevice *d, unsigned i, ShimVector *v)
{
    uint64_t base = pcie_fn_bar_addr(d->fn, d->msix_bir);
    if (base == PCIE_BAR_UNMAPPED) {
        return;
    }
    AddrSpace *as = d->shim->p->mem;
    uint64_t e = base + d->msix_off + (uint64_t)i * MSIX_ENTRY;
    if (!v) {
        addr_space_write(as, e + 12, 4, 1);    /* masked */
        return;
    }
    uint64_t addr;
    uint32_t data;
    vector_message(v, &addr, &data);
    addr_space_write(as, e + 0, 4, (uint32_t)addr);
    addr_space_write(as, e + 4, 4, (uint32_t)(addr >> 32));
    addr_space_write(as, e + 8, 4, data);
    addr_space_write(as, e + 12, 4, 0);
}

static void irq_disable(ShimDevice *d)
{
    VfioShim *s = d->shim;
    if (d->irq_index == VFIO_ABI_PCI_MSIX_IRQ && d->msix_cap) {
        uint16_t f = (uint16_t)pcie_fn_config_read(d->fn, (uint16_t)(d->msix_cap + MSIX_FLAGS), 2);
        pcie_fn_config_write(d->fn, (uint16_t)(d->msix_cap + MSIX_FLAGS), 2, f & ~MSIX_FLAGS_ENABLE);
    } else if (d->irq_index == VFIO_ABI_PCI_MSI_IRQ && d->msi_cap) {
        uint16_t f = (uint16_t)pcie_fn_config_read(d->fn, (uint16_t)(d->msi_cap + MSI_FLAGS), 2);
        pcie_fn_config_write(d->fn, (uint16_t)(d->msi_cap + MSI_FLAGS), 2, f & ~MSI_FLAGS_ENABLE);
    } else if (d->irq_index == VFIO_ABI_PCI_INTX_IRQ) {
        intx_set_disable(d, true);
        intx_unroute(d);
        if (d->intx_fd >= 0) {
            close(d->intx_fd);
            d->intx_fd = -1;
        }
    }
    if (d->vectors) {
        for (guint i = 0; i < d->vectors->len; i++) {
            vector_free(s, g_ptr_array_index(d->vectors, i));
        }
        g_ptr_array_unref(d->vectors);
        d->vectors = NULL;
    }
    d->irq_index = -1;
}

static unsigned irq_count(ShimDevice *d, unsigned index)
{
    switch (index) {
    case VFIO_ABI_PCI_INTX_IRQ:
        return pcie_fn_config_read(d->fn, PCI_INTERRUPT_PIN, 1) ? 1 : 0;
    case VFIO_ABI_PCI_MSI_IRQ:
        if (!d->msi_cap) {
            return 0;
        }
        return 1u << ((pcie_fn_config_read(d->fn, (uint16_t)(d->msi_cap + MSI_FLAGS), 2) >> 1) & 7);
    case VFIO_ABI_PCI_MSIX_IRQ:
        return d->msix_cap ? d->msix_count : 0;
    case VFIO_ABI_PCI_ERR_IRQ:
        return cfg_is_pcie(d) ? 1 : 0;
    case VFIO_ABI_PCI_REQ_IRQ:
        return 1;
    default:
        return 0;
    }
}

static void signal_fd(int fd)
{
    uint64_t one = 1;
    if (fd >= 0 && write(fd, &one, sizeof one) < 0) {
        g_printerr("vtdsim-vfio: eventfd write failed: %s\n", g_strerror(errno));
    }
}

static int dup_fd(int fd)
{
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 0);
}

/* MSI / MSI-X enable or re-bind of [start, start+count). */
static long set_msi(ShimDevice *d, unsigned index, unsigned start, unsigned count, const int32_t *fds)
{
    VfioShim *s = d->shim;
    unsigned total = irq_count(d, index);
    if (d->irq_index >= 0 && d->irq_index != (int)index) {
        return -EINVAL;
    }
    for (unsigned i = 0; i < count; i++) {
        int bad = fds[i] >= 0 ? shim_check_eventfd(fds[i]) : 0;
        if (bad < 0) {
            return bad;    /* not open: EBADF; not an eventfd: EINVAL (eventfd_ctx_fdget) */
        }
    }
    bool first = d->irq_index < 0;
    if (first) {
        d->vectors = g_ptr_array_new();
        guint n = total;
        if (index == VFIO_ABI_PCI_MSI_IRQ) {
            /* Multiple Message Enable takes a power of two: round the vectors asked for up */
            for (n = 1; n < start + count; n *= 2) {
            }
        }
        g_ptr_array_set_size(d->vectors, n);
    } else if (index == VFIO_ABI_PCI_MSI_IRQ && start + count > d->vectors->len) {
        return -EINVAL;    /* MSI cannot grow once enabled */
    }
    if (index == VFIO_ABI_PCI_MSI_IRQ && first) {
        /* MSI: one aligned block for all vectors the function will use, so message i lands on pair i */
        d->msi_block = vector_block(d, d->vectors->len, &d->msi_irte);
    }
    for (unsigned i = start; i < start + count; i++) {
        ShimVector *old = g_ptr_array_index(d->vectors, i);
        vector_free(s, old);
        ShimVector *v = NULL;
        if (fds[i - start] >= 0) {
            if (index == VFIO_ABI_PCI_MSI_IRQ) {
                v = vector_new(d, index, i, dup_fd(fds[i - start]), d->msi_block + i,
                               d->msi_irte >= 0 ? d->msi_irte + (int)i : -1, pcie_fn_rid(d->fn), false);
            } else {
                int irte;
                unsigned k = vector_block(d, 1, &irte);
                v = vector_new(d, index, i, dup_fd(fds[i - start]), k, irte, pcie_fn_rid(d->fn), false);
            }
        }
        g_ptr_array_index(d->vectors, i) = v;
        if (index == VFIO_ABI_PCI_MSIX_IRQ) {
            msix_program(d, i, v);
        }
    }
    if (index == VFIO_ABI_PCI_MSIX_IRQ) {
        uint16_t f = (uint16_t)pcie_fn_config_read(d->fn, (uint16_t)(d->msix_cap + MSIX_FLAGS), 2);
        pcie_fn_config_write(d->fn, (uint16_t)(d->msix_cap + MSIX_FLAGS), 2,
                             (f | MSIX_FLAGS_ENABLE) & ~MSIX_FLAGS_MASKALL);
    } else {
        /*
         * MSI: the function sends data | message number.  With remapping the
         * address names the block's first IRTE with SHV set, so the unit adds
         * the message number (the subhandle) to the handle; without, the data
         * is the block's first vector, aligned to the block size.
         */
        uint16_t f = (uint16_t)pcie_fn_config_read(d->fn, (uint16_t)(d->msi_cap + MSI_FLAGS), 2);
        uint64_t addr;
        uint32_t data;
        if (d->msi_irte >= 0) {
            vtd_drv_msi_remappable((unsigned)d->msi_irte, &addr, &data);
            addr |= 1u << 3;    /* SHV */
        } else {
            addr = 0xfee00000ull | ((uint64_t)(d->msi_block / 192) << 12);
            data = 0x30 + d->msi_block % 192;
        }
        unsigned mme = 0;
        while ((1u << mme) < d->vectors->len) {
            mme++;
        }
        uint16_t a = (uint16_t)(d->msi_cap + MSI_ADDR_LO);
        pcie_fn_config_write(d->fn, a, 4, (uint32_t)addr);
        if (f & MSI_FLAGS_64BIT) {
            pcie_fn_config_write(d->fn, (uint16_t)(a + 4), 4, (uint32_t)(addr >> 32));
            pcie_fn_config_write(d->fn, (uint16_t)(a + 8), 2, data);
        } else {
            pcie_fn_config_write(d->fn, (uint16_t)(a + 4), 2, data);
        }
        pcie_fn_config_write(d->fn, (uint16_t)(d->msi_cap + MSI_FLAGS), 2,
                             (f & ~0x70u) | (mme << 4) | MSI_FLAGS_ENABLE);
    }
    d->irq_index = (int)index;
    return 0;
}

static long set_irqs(ShimDevice *d, void *user)
{
    VfioAbiIrqSet hdr;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiIrqSet, count);
    memcpy(&hdr, user, minsz);
    if (hdr.argsz < minsz || hdr.index >= VFIO_ABI_PCI_NUM_IRQS) {
        return -EINVAL;
    }
    uint32_t data_type = hdr.flags & 7, action = hdr.flags & 0x38;
    if ((hdr.flags & ~0x3fu) || !data_type || (data_type & (data_type - 1)) || !action ||
        (action & (action - 1))) {
        return -EINVAL;
    }
    unsigned max = irq_count(d, hdr.index);
    if (hdr.start >= max && !(hdr.count == 0 && hdr.start == 0)) {
        return -EINVAL;
    }
    if ((uint64_t)hdr.start + hdr.count > max) {
        return -EINVAL;
    }
    if (!hdr.count && data_type != VFIO_ABI_IRQ_SET_DATA_NONE) {
        return -EINVAL;
    }
    size_t elem = data_type == VFIO_ABI_IRQ_SET_DATA_EVENTFD ? 4 : data_type == VFIO_ABI_IRQ_SET_DATA_BOOL ? 1 : 0;
    if (hdr.argsz - minsz < elem * hdr.count) {
        return -EINVAL;
    }
    const uint8_t *data = (const uint8_t *)user + minsz;
    unsigned index = hdr.index;

    if (action != VFIO_ABI_IRQ_SET_ACTION_TRIGGER) {
        /* masking is for INTx only (vfio-pci) */
        if (index != VFIO_ABI_PCI_INTX_IRQ) {
            return -EINVAL;
        }
        if (action == VFIO_ABI_IRQ_SET_ACTION_UNMASK && data_type == VFIO_ABI_IRQ_SET_DATA_EVENTFD) {
            int32_t fd;
            memcpy(&fd, data, 4);
            int bad = fd >= 0 ? shim_check_eventfd(fd) : 0;
            if (bad < 0) {
                return bad;
            }
            if (d->intx_unmask_fd >= 0) {
                close(d->intx_unmask_fd);
            }
            d->intx_unmask_fd = dup_fd(fd);
            return 0;
        }
        bool on = data_type == VFIO_ABI_IRQ_SET_DATA_NONE || (hdr.count && data[0]);
        if (on) {
            d->intx_masked = action == VFIO_ABI_IRQ_SET_ACTION_MASK;
            if (d->irq_index == VFIO_ABI_PCI_INTX_IRQ) {
                /* unmasking lets a still-pending line assert again and fire */
                intx_set_disable(d, d->intx_masked);
                if (!d->intx_masked) {
                    intx_retry(d);
                }
            }
        }
        return 0;
    }
    if (index == VFIO_ABI_PCI_ERR_IRQ || index == VFIO_ABI_PCI_REQ_IRQ) {
        int *slot = index == VFIO_ABI_PCI_ERR_IRQ ? &d->err_fd : &d->req_fd;
        if (data_type == VFIO_ABI_IRQ_SET_DATA_EVENTFD) {
            int32_t fd;
            memcpy(&fd, data, 4);
            int bad = fd >= 0 ? shim_check_eventfd(fd) : 0;
            if (bad < 0) {
                return bad;
            }
            if (*slot >= 0) {
                close(*slot);
            }
            *slot = dup_fd(fd);
        } else if (!hdr.count) {
            if (*slot >= 0) {
                close(*slot);
            }
            *slot = -1;
        } else if (data_type == VFIO_ABI_IRQ_SET_DATA_NONE || data[0]) {
            signal_fd(*slot);
        }
        return 0;
    }
    if (data_type == VFIO_ABI_IRQ_SET_DATA_NONE && !hdr.count) {
        if (d->irq_index == (int)index) {
            irq_disable(d);
        }
        return 0;
    }
    if (data_type != VFIO_ABI_IRQ_SET_DATA_EVENTFD) {
        /* loopback trigger: the kernel signals the bound eventfds itself */
        if (d->irq_index != (int)index) {
            return -EINVAL;
        }
        for (unsigned i = 0; i < hdr.count; i++) {
            if (data_type == VFIO_ABI_IRQ_SET_DATA_BOOL && !data[i]) {
                continue;
            }
            if (index == VFIO_ABI_PCI_INTX_IRQ) {
                signal_fd(d->intx_fd);
            } else {
                ShimVector *v = hdr.start + i < d->vectors->len ? g_ptr_array_index(d->vectors, hdr.start + i) : NULL;
                if (v) {
                    signal_fd(v->efd);
                }
            }
        }
        return 0;
    }
    int32_t *fds = g_new(int32_t, hdr.count);
    memcpy(fds, data, 4ull * hdr.count);
    long r;
    if (index == VFIO_ABI_PCI_INTX_IRQ) {
        if (d->irq_index >= 0 && d->irq_index != (int)index) {
            r = -EINVAL;
        } else if (fds[0] >= 0 && (r = shim_check_eventfd(fds[0])) < 0) {
            /* EBADF or EINVAL */
        } else {
            if (d->intx_fd >= 0) {
                close(d->intx_fd);
            }
            bool was = d->irq_index == (int)index;
            d->intx_fd = dup_fd(fds[0]);
            d->intx_masked = false;
            if (d->intx_fd >= 0 && !was) {
                intx_route(d);
            } else if (d->intx_fd < 0 && was) {
                intx_unroute(d);
            }
            intx_set_disable(d, d->intx_fd < 0);
            d->irq_index = d->intx_fd >= 0 ? (int)index : -1;
            r = 0;
        }
    } else {
        r = set_msi(d, index, hdr.start, hdr.count, fds);
    }
    g_free(fds);
    return r;
}

/* ---- reset ------------------------------------------------------------------------------ */

/*
 * A function reset the way the kernel does it: interrupts torn down, the
 * config header saved, FLR, the header restored (so the BAR addresses the
 * platform assigned survive), virtual config back to the snapshot.
 */
static void device_reset(ShimDevice *d)
{
    irq_disable(d);
    uint32_t hdr[16];
    for (unsigned i = 0; i < 16; i++) {
        hdr[i] = pcie_fn_config_read(d->fn, (uint16_t)(4 * i), 4);
    }
    pcie_fn_flr(d->fn);
    for (unsigned i = 1; i < 16; i++) {
        pcie_fn_config_write(d->fn, (uint16_t)(4 * i), 4, i == 1 ? hdr[i] & 0xffff : hdr[i]);
    }
    device_snapshot(d);
    for (unsigned b = 0; b < 7; b++) {
        bar_fixup(d, b);
    }
}

/* ---- device ioctls ---------------------------------------------------------------------- */

static long get_info(ShimDevice *d, void *user)
{
    VfioAbiDeviceInfo info;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiDeviceInfo, num_irqs);
    memset(&info, 0, sizeof info);
    memcpy(&info, user, minsz);
    if (info.argsz < minsz) {
        return -EINVAL;
    }
    (void)d;
    info.flags = VFIO_ABI_DEVICE_PCI | VFIO_ABI_DEVICE_RESET_FLAG;
    info.num_regions = VFIO_ABI_PCI_NUM_REGIONS;
    info.num_irqs = VFIO_ABI_PCI_NUM_IRQS;
    memcpy(user, &info, MIN(info.argsz, sizeof info));
    return 0;
}

static long get_region_info(ShimDevice *d, void *user)
{
    VfioAbiRegionInfo info;
    const size_t minsz = VFIO_ABI_MINSZ(VfioAbiRegionInfo, offset);
    memcpy(&info, user, minsz);
    if (info.argsz < minsz || info.index >= VFIO_ABI_PCI_NUM_REGIONS) {
        return -EINVAL;
    }
    uint32_t argsz = info.argsz;
    info.cap_offset = 0;
    info.flags = 0;
    info.size = 0;
    info.offset = (uint64_t)info.index << VFIO_ABI_PCI_OFFSET_SHIFT;
    g_autoptr(GByteArray) caps = g_byte_array_new();
    if (info.index < 6) {
        unsigned b = info.index;
        if (d->bar_size[b] && !d->bar_hi[b]) {
            info.size = d->bar_size[b];
            info.flags = VFIO_ABI_REGION_READ | VFIO_ABI_REGION_WRITE;
            if (!d->bar_io[b]) {
                info.flags |= VFIO_ABI_REGION_MMAP;
                if (d->msix_cap && d->msix_bir == b) {
                    shim_cap_add(caps, sizeof info, VFIO_ABI_REGION_CAP_MSIX_MAPPABLE, 1, NULL, 0);
                }
            }
        }
    } else if (info.index == VFIO_ABI_PCI_CONFIG) {
        info.size = cfg_is_pcie(d) ? PCIE_CONFIG_SIZE : 256;
        info.flags = VFIO_ABI_REGION_READ | VFIO_ABI_REGION_WRITE;
    }
    return shim_info_reply(user, argsz, &info, sizeof info, &info.flags, VFIO_ABI_REGION_CAPS, &info.cap_offset,
                           caps);
}

static long get_irq_info(ShimDevice *d, void *user)
{
    VfioAbiIrqInfo info;
    memcpy(&info, user, sizeof info);
    if (info.argsz < sizeof info || info.index >= VFIO_ABI_PCI_NUM_IRQS) {
        return -EINVAL;
    }
    if (info.index == VFIO_ABI_PCI_ERR_IRQ && !cfg_is_pcie(d)) {
        return -EINVAL;
    }
    info.count = irq_count(d, info.index);
    info.flags = VFIO_ABI_IRQ_INFO_EVENTFD;
    if (info.index == VFIO_ABI_PCI_INTX_IRQ) {
        info.flags |= VFIO_ABI_IRQ_INFO_MASKABLE | VFIO_ABI_IRQ_INFO_AUTOMASKED;
    } else if (info.index == VFIO_ABI_PCI_MSI_IRQ || info.index == VFIO_ABI_PCI_MSIX_IRQ) {
        info.flags |= VFIO_ABI_IRQ_INFO_NORESIZE;
    }
    memcpy(user, &info, sizeof info);
    return 0;
}

static long hot_reset_info(VfioShim *s, ShimDevice *d, ShimIommufd *ictx, void *user)
{
    VfioAbiHotResetInfo h;
    memcpy(&h, user, sizeof h);
    if (h.argsz < sizeof h) {
        return -EINVAL;
    }
    PcieFn *parent = pcie_fn_parent(d->fn);
    if (!parent) {
        return -ENODEV;    /* on the root bus: no secondary bus to reset */
    }
    /* every function below the same bridge is affected by its secondary bus reset */
    g_autoptr(GPtrArray) kids = pcie_fn_children(parent);
    unsigned n = 0;
    for (guint i = 0; i < kids->len; i++) {
        PcieFn *k = g_ptr_array_index(kids, i);
        if (!pcie_fn_is_bridge(k)) {
            n++;
        }
    }
    uint32_t need = (uint32_t)(sizeof h + n * sizeof(VfioAbiHotResetDev));
    h.flags = ictx ? VFIO_ABI_HOT_RESET_DEV_ID | VFIO_ABI_HOT_RESET_DEV_ID_OWNED : 0;
    h.count = n;
    if (h.argsz < need) {
        memcpy(user, &h, sizeof h);
        return -ENOSPC;
    }
    VfioAbiHotResetDev *out = (VfioAbiHotResetDev *)((uint8_t *)user + sizeof h);
    unsigned k = 0;
    for (guint i = 0; i < kids->len; i++) {
        PcieFn *f = g_ptr_array_index(kids, i);
        if (pcie_fn_is_bridge(f)) {
            continue;
        }
        uint16_t rid = pcie_fn_rid(f);
        VfioAbiHotResetDev e = { (uint32_t)pcie_fn_group(f), 0, PCIE_BUS(rid), (uint8_t)(rid & 0xff) };
        if (ictx) {
            /* the cdev path names devices by devid, and says whether the caller owns them all */
            e.group_id = shim_iommufd_devid_of(s, ictx, f);
            if (e.group_id == VFIO_ABI_DEVID_NOT_OWNED) {
                h.flags &= ~(uint32_t)VFIO_ABI_HOT_RESET_DEV_ID_OWNED;
            }
        }
        memcpy(&out[k++], &e, sizeof e);
    }
    memcpy(user, &h, sizeof h);
    return 0;
}

static long hot_reset(VfioShim *s, ShimDevice *d, ShimIommufd *ictx, void *user)
{
    VfioAbiHotReset h;
    memcpy(&h, user, sizeof h);
    if (h.argsz < sizeof h || h.flags || h.argsz - sizeof h < 4ull * h.count) {
        return -EINVAL;
    }
    PcieFn *parent = pcie_fn_parent(d->fn);
    if (!parent) {
        return -ENODEV;
    }
    if (ictx ? h.count != 0 : h.count == 0) {
        return -EINVAL;    /* cdev users prove ownership through their iommufd, group users with group fds */
    }
    const int32_t *gfds = (const int32_t *)((uint8_t *)user + sizeof h);
    g_autoptr(GPtrArray) kids = pcie_fn_children(parent);
    /* the caller must prove ownership of every affected group */
    for (guint i = 0; i < kids->len; i++) {
        PcieFn *f = g_ptr_array_index(kids, i);
        if (pcie_fn_is_bridge(f)) {
            continue;
        }
        bool owned = ictx && shim_iommufd_devid_of(s, ictx, f) != VFIO_ABI_DEVID_NOT_OWNED;
        for (unsigned k = 0; k < h.count && !owned; k++) {
            ShimFd *gf = shim_fd(s, gfds[k]);
            if (!gf || gf->kind != SHIM_FD_GROUP) {
                return -EINVAL;
            }
            owned = ((ShimGroup *)gf->obj)->id == pcie_fn_group(f);
        }
        if (!owned) {
            return ictx ? -EPERM : -EINVAL;
        }
    }
    for (guint i = 0; i < kids->len; i++) {
        PcieFn *f = g_ptr_array_index(kids, i);
        ShimDevice *od = g_hash_table_lookup(s->devices, f);
        if (od) {
            device_reset(od);
        } else if (!pcie_fn_is_bridge(f)) {
            pcie_fn_flr(f);
        }
    }
    return 0;
}

static long feature(VfioShim *s, ShimDevice *d, void *user)
{
    VfioAbiFeature f;
    memcpy(&f, user, sizeof f);
    if (f.argsz < sizeof f) {
        return -EINVAL;
    }
    const uint32_t known = VFIO_ABI_FEATURE_MASK | VFIO_ABI_FEATURE_GET | VFIO_ABI_FEATURE_SET |
                           VFIO_ABI_FEATURE_PROBE;
    if (f.flags & ~known) {
        return -EINVAL;
    }
    bool get = f.flags & VFIO_ABI_FEATURE_GET, set = f.flags & VFIO_ABI_FEATURE_SET;
    bool probe = f.flags & VFIO_ABI_FEATURE_PROBE;
    if (get && set && !probe) {
        return -EINVAL;
    }
    unsigned id = f.flags & VFIO_ABI_FEATURE_MASK;
    if (id != VFIO_ABI_FEATURE_PCI_VF_TOKEN || !pcie_fn_find_ext_cap(d->fn, 0x10) || pcie_fn_is_vf(d->fn)) {
        return -ENOTTY;    /* migration, low power, DMA logging: not supported by this device */
    }
    if (get) {
        return -EINVAL;    /* the VF token is SET-only */
    }
    if (probe) {
        return 0;
    }
    if (!set || f.argsz < sizeof f + 16) {
        return -EINVAL;
    }
    g_hash_table_replace(s->vf_tokens, d->fn, g_memdup2((uint8_t *)user + sizeof f, 16));
    return 0;
}

long shim_device_ioctl(VfioShim *s, ShimDevice *d, ShimIommufd *ictx, unsigned long req, unsigned long arg)
{
    void *user = (void *)arg;
    switch (req) {
    case VFIO_ABI_DEVICE_GET_INFO:
        return get_info(d, user);
    case VFIO_ABI_DEVICE_GET_REGION_INFO:
        return get_region_info(d, user);
    case VFIO_ABI_DEVICE_GET_IRQ_INFO:
        return get_irq_info(d, user);
    case VFIO_ABI_DEVICE_SET_IRQS:
        return set_irqs(d, user);
    case VFIO_ABI_DEVICE_RESET:
        device_reset(d);
        return 0;
    case VFIO_ABI_DEVICE_HOT_RESET_INFO:
        return hot_reset_info(s, d, ictx, user);
    case VFIO_ABI_DEVICE_HOT_RESET:
        return hot_reset(s, d, ictx, user);
    case VFIO_ABI_DEVICE_FEATURE:
        return feature(s, d, user);
    default:
        return -ENOTTY;
    }
}
