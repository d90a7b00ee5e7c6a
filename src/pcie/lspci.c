/*
 * lspci for the simulated fabric.
 *
 * What it models
 *  The listing pciutils' `lspci` prints in a Linux guest running on this
 *  fabric, so that users can compare a simulated machine with a real one
 *  line by line and tests can pin the fabric's config space down in a
 *  form people already read.  Like lspci on Linux, which reads config
 *  space through sysfs, we read config space only through
 *  pcie_fn_config_read() (reads have no side effects), plus what the
 *  kernel would publish beside it: BAR addresses and sizes
 *  (pcie_fn_bar_addr/size, as in sysfs "resource"), the IDs of VFs (whose
 *  Vendor/Device ID registers read all ones; Linux takes them from the
 *  PF's SR-IOV capability) and the IOMMU group once
 *  pcie_fabric_compute_groups() has run.
 *
 * Wording followed
 *  - Header lines, regions, bridge windows, Control/Status, Flags, the
 *    tree: pciutils lspci.c/ls-tree.c as in current pciutils (3.10 and
 *    later: show_range() with "[size=..]" and "[N-bit]" on bridge
 *    windows, "[virtual]" after a VF's address, BridgeCtl with VGA16,
 *    "IOMMU group" in Flags / on its own line).
 *  - Capabilities: pciutils 3.7 ls-caps.c (PM "NoSoftRst", MSI
 *    "Count=a/b Maskable 64bit" with Masking/Pending, Express v2 with
 *    DevCap2/DevCtl2/LnkCap2/LnkCtl2/LnkSta2 as in 3.7, MSI-X).
 *  - Extended capabilities: pciutils ls-ecaps.c of 2020 (3.7): AER with
 *    the 12-bit UESta line, ACS, ARI, ATS, PRI (no PASID bit in PRISta),
 *    PASID, SR-IOV with "Interrupt Message Number: %03x".
 *  - Names: a small built-in table with the entries pci.ids has for the
 *    devices vtdsim models (8086:29c0 "82G33/G31/P35/P31 Express DRAM
 *    Controller", 1b36:000c "QEMU PCIe Root port", 104c:8232/8233 XIO3130
 *    switch ports as QEMU's switch uses, 8086:10c9/10ca 82576 PF/VF), every
 *    base class and subclass name of pci.ids, bridge programming
 *    interfaces; anything else falls back exactly as lspci does
 *    ("Intel Corporation Device 1234", "Device 1234:11e8", "Class 1300",
 *    "Unclassified device [00ff]").  pci.ids has no vendor 1234, so the
 *    edu device prints as "Device 1234:11e8", as on a real QEMU guest.
 *
 * Not decoded (printed as lspci prints an unknown or absent item, or
 *  omitted): kernel driver/module lines (-k), Physical Slot, NUMA node,
 *  the IRQ number the kernel assigned (we print the Interrupt Line
 *  register, as lspci -b does), expansion ROM sizes, CardBus bridges, AGP,
 *  PCI-X, HyperTransport, EA, vendor-specific capability contents, and
 *  extended capabilities other than AER/ACS/ARI/ATS/SR-IOV/PRI/PASID/DSN
 *  (shown by name only, "<?>", or "Extended Capability ID 0x..").  Domains
 *  other than 0000, -x hex dumps, -vvv and -nn are not supported.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include "pcie/lspci.h"

#define FLAG(x, bit) (((x) & (bit)) ? '+' : '-')

/* ---- names (pci.ids entries for what vtdsim models) -------------------- */

typedef struct NameVendor {
    uint16_t id;
    const char *name;
} NameVendor;

typedef struct NameDevice {
    uint16_t vendor, device;
    const char *name;
} NameDevice;

typedef struct NameClass {
    uint16_t id;     /* base<<8 | sub, or base<<8 | 0xff.. see lookup */
    const char *name;
} NameClass;

static const NameVendor vendor_names[] = {
    { 0x104c, "Texas Instruments" },
    { 0x1af4, "Red Hat, Inc." },
    { 0x1b36, "Red Hat, Inc." },
    { 0x8086, "Intel Corporation" },
};

static const NameDevice device_names[] = {
    { 0x104c, 0x8232, "XIO3130 PCI Express Switch (Upstream)" },
    { 0x104c, 0x8233, "XIO3130 PCI Express Switch (Downstream)" },
    { 0x1b36, 0x0001, "QEMU PCI-PCI bridge" },
    { 0x1b36, 0x0008, "QEMU PCIe Host bridge" },
    { 0x1b36, 0x000c, "QEMU PCIe Root port" },
    { 0x1b36, 0x000d, "QEMU XHCI Host Controller" },
    { 0x1b36, 0x0010, "QEMU NVM Express Controller" },
    { 0x8086, 0x10c9, "82576 Gigabit Network Connection" },
    { 0x8086, 0x10ca, "82576 Virtual Function" },
    { 0x8086, 0x29c0, "82G33/G31/P35/P31 Express DRAM Controller" },
};

/* Base classes (id = base) and subclasses (id = base << 8 | sub), as pci.ids names them. */
static const NameClass base_class_names[] = {
    { 0x00, "Unclassified device" },
    { 0x01, "Mass storage controller" },
    { 0x02, "Network controller" },
    { 0x03, "Display controller" },
    { 0x04, "Multimedia controller" },
    { 0x05, "Memory controller" },
    { 0x06, "Bridge" },
    { 0x07, "Communication controller" },
    { 0x08, "Generic system peripheral" },
    { 0x09, "Input device controller" },
    { 0x0a, "Docking station" },
    { 0x0b, "Processor" },
    { 0x0c, "Serial bus controller" },
    { 0x0d, "Wireless controller" },
    { 0x0e, "Intelligent controller" },
    { 0x0f, "Satellite communications controller" },
    { 0x10, "Encryption controller" },
    { 0x11, "Signal processing controller" },
    { 0x12, "Processing accelerators" },
    { 0x13, "Non-Essential Instrumentation" },
    { 0x40, "Coprocessor" },
    { 0xff, "Unassigned class" },
};

static const NameClass sub_class_names[] = {
    { 0x0000, "Non-VGA unclassified device" },
    { 0x0001, "VGA compatible unclassified device" },
    { 0x0005, "Image coprocessor" },
    { 0x0100, "SCSI storage controller" },
    { 0x0101, "IDE interface" },
    { 0x0102, "Floppy disk controller" },
    { 0x0103, "IPI bus controller" },
    { 0x0104, "RAID bus controller" },
    { 0x0105, "ATA controller" },
    { 0x0106, "SATA controller" },
    { 0x0107, "Serial Attached SCSI controller" },
    { 0x0108, "Non-Volatile memory controller" },
    { 0x0109, "Universal Flash Storage controller" },
    { 0x0180, "Mass storage controller" },
    { 0x0200, "Ethernet controller" },
    { 0x0201, "Token ring network controller" },
    { 0x0202, "FDDI network controller" },
    { 0x0203, "ATM network controller" },
    { 0x0204, "ISDN controller" },
    { 0x0205, "WorldFip controller" },
    { 0x0206, "PICMG controller" },
    { 0x0207, "Infiniband controller" },
    { 0x0208, "Fabric controller" },
    { 0x0280, "Network controller" },
    { 0x0300, "VGA compatible controller" },
    { 0x0301, "XGA compatible controller" },
    { 0x0302, "3D controller" },
    { 0x0380, "Display controller" },
    { 0x0400, "Multimedia video controller" },
    { 0x0401, "Multimedia audio controller" },
    { 0x0402, "Computer telephony device" },
    { 0x0403, "Audio device" },
    { 0x0480, "Multimedia controller" },
    { 0x0500, "RAM memory" },
    { 0x0501, "FLASH memory" },
    { 0x0502, "CXL" },
    { 0x0580, "Memory controller" },
    { 0x0600, "Host bridge" },
    { 0x0601, "ISA bridge" },
    { 0x0602, "EISA bridge" },
    { 0x0603, "MicroChannel bridge" },
    { 0x0604, "PCI bridge" },
    { 0x0605, "PCMCIA bridge" },
    { 0x0606, "NuBus bridge" },
    { 0x0607, "CardBus bridge" },
    { 0x0608, "RACEway bridge" },
    { 0x0609, "Semi-transparent PCI-to-PCI bridge" },
    { 0x060a, "InfiniBand to PCI host bridge" },
    { 0x0680, "Bridge" },
    { 0x0700, "Serial controller" },
    { 0x0701, "Parallel controller" },
    { 0x0702, "Multiport serial controller" },
    { 0x0703, "Modem" },
    { 0x0704, "GPIB controller" },
    { 0x0705, "Smard Card controller" },
    { 0x0780, "Communication controller" },
    { 0x0800, "PIC" },
    { 0x0801, "DMA controller" },
    { 0x0802, "Timer" },
    { 0x0803, "RTC" },
    { 0x0804, "PCI Hot-plug controller" },
    { 0x0805, "SD Host controller" },
    { 0x0806, "IOMMU" },
    { 0x0880, "System peripheral" },
    { 0x0899, "Timing Card" },
    { 0x0900, "Keyboard controller" },
    { 0x0901, "Digitizer Pen" },
    { 0x0902, "Mouse controller" },
    { 0x0903, "Scanner controller" },
    { 0x0904, "Gameport controller" },
    { 0x0980, "Input device controller" },
    { 0x0a00, "Generic Docking Station" },
    { 0x0a80, "Docking Station" },
    { 0x0b00, "386" },
    { 0x0b01, "486" },
    { 0x0b02, "Pentium" },
    { 0x0b10, "Alpha" },
    { 0x0b20, "Power PC" },
    { 0x0b30, "MIPS" },
    { 0x0b40, "Co-processor" },
    { 0x0c00, "FireWire (IEEE 1394)" },
    { 0x0c01, "ACCESS Bus" },
    { 0x0c02, "SSA" },
    { 0x0c03, "USB controller" },
    { 0x0c04, "Fibre Channel" },
    { 0x0c05, "SMBus" },
    { 0x0c06, "InfiniBand" },
    { 0x0c07, "IPMI Interface" },
    { 0x0c08, "SERCOS interface" },
    { 0x0c09, "CANBUS" },
    { 0x0c80, "Serial bus controller" },
    { 0x0d00, "IRDA controller" },
    { 0x0d01, "Consumer IR controller" },
    { 0x0d10, "RF controller" },
    { 0x0d11, "Bluetooth" },
    { 0x0d12, "Broadband" },
    { 0x0d20, "802.1a controller" },
    { 0x0d21, "802.1b controller" },
    { 0x0d80, "Wireless controller" },
    { 0x0e00, "I2O" },
    { 0x0f01, "Satellite TV controller" },
    { 0x0f02, "Satellite audio communication controller" },
    { 0x0f03, "Satellite voice communication controller" },
    { 0x0f04, "Satellite data communication controller" },
    { 0x1000, "Network and computing encryption device" },
    { 0x1010, "Entertainment encryption device" },
    { 0x1080, "Encryption controller" },
    { 0x1100, "DPIO module" },
    { 0x1101, "Performance counters" },
    { 0x1110, "Communication synchronizer" },
    { 0x1120, "Signal processing management" },
    { 0x1180, "Signal processing controller" },
    { 0x1200, "Processing accelerators" },
    { 0x1201, "SNIA Smart Data Accelerator Interface (SDXI) controller" },
};

/* Programming interfaces pci.ids names (class16 << 8 | prog-if). */
static const struct {
    uint32_t id;
    const char *name;
} progif_names[] = {
    { 0x060400, "Normal decode" },
    { 0x060401, "Subtractive decode" },
    { 0x0c0300, "UHCI" },
    { 0x0c0310, "OHCI" },
    { 0x0c0320, "EHCI" },
    { 0x0c0330, "XHCI" },
    { 0x010802, "NVM Express" },
    { 0x010601, "AHCI 1.0" },
};

static const char *vendor_name(uint16_t v)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vendor_names); i++)
        if (vendor_names[i].id == v)
            return vendor_names[i].name;
    return NULL;
}

void pcie_lspci_device_name(uint16_t vendor, uint16_t device, GString *out)
{
    const char *v = vendor_name(vendor);
    for (size_t i = 0; i < G_N_ELEMENTS(device_names); i++)
        if (device_names[i].vendor == vendor && device_names[i].device == device) {
            g_string_append_printf(out, "%s %s", v, device_names[i].name);
            return;
        }
    if (v)
        g_string_append_printf(out, "%s Device %04x", v, device);
    else
        g_string_append_printf(out, "Device %04x:%04x", vendor, device);
}

void pcie_lspci_class_name(uint16_t class16, GString *out)
{
    for (size_t i = 0; i < G_N_ELEMENTS(sub_class_names); i++)
        if (sub_class_names[i].id == class16) {
            g_string_append(out, sub_class_names[i].name);
            return;
        }
    for (size_t i = 0; i < G_N_ELEMENTS(base_class_names); i++)
        if (base_class_names[i].id == class16 >> 8) {
            g_string_append_printf(out, "%s [%04x]", base_class_names[i].name, class16);
            return;
        }
    g_string_append_printf(out, "Class %04x", class16);
}

static const char *progif_name(uint16_t class16, uint8_t progif)
{
    uint32_t id = (uint32_t)class16 << 8 | progif;
    for (size_t i = 0; i < G_N_ELEMENTS(progif_names); i++)
        if (progif_names[i].id == id)
            return progif_names[i].name;
    return NULL;
}

/*
 * A subsystem as pciutils names it: subsystem vendor's name, then the
 * subsystem's name (our table has no per-device subsystem entries, but
 * a subsystem ID equal to the function's own ID names the device), else
 * "Device <id>".
 */
static void subsys_name(uint16_t vendor, uint16_t device, uint16_t sv, uint16_t sd, bool numeric,
                        GString *out)
{
    const char *v = vendor_name(sv);
    if (numeric) {
        g_string_append_printf(out, "%04x:%04x", sv, sd);
    } else if (v && vendor == sv && device == sd) {
        pcie_lspci_device_name(sv, sd, out);
    } else if (v) {
        g_string_append_printf(out, "%s Device %04x", v, sd);
    } else {
        g_string_append_printf(out, "Device %04x:%04x", sv, sd);
    }
}

/* ---- our view of one function ------------------------------------------ */

typedef struct LsDev {
    PcieFn *fn;
    uint16_t rid;
    uint16_t vendor, device;   /* as Linux reports them (VFs: from the PF) */
    uint16_t class16;
    uint8_t cfg[PCIE_CONFIG_SIZE];
} LsDev;

typedef struct LsCtx {
    GString *o;
    int verbose;       /* 0, 1 (-v), 2 (-vv) */
    bool numeric;
    GPtrArray *devs;   /* LsDev*, sorted by routing ID */
} LsCtx;

static uint8_t c8(const LsDev *d, unsigned off)
{
    return d->cfg[off & (PCIE_CONFIG_SIZE - 1)];
}

static uint16_t c16(const LsDev *d, unsigned off)
{
    return (uint16_t)(c8(d, off) | c8(d, off + 1) << 8);
}

static uint32_t c32(const LsDev *d, unsigned off)
{
    return (uint32_t)c16(d, off) | (uint32_t)c16(d, off + 2) << 16;
}

static uint16_t sriov_pos(const LsDev *d)
{
    unsigned where = 0x100;
    for (int n = 0; where >= 0x100 && n < 64; n++) {
        uint32_t h = c32(d, where);
        if (!h || h == 0xffffffff)
            break;
        if ((h & 0xffff) == PCI_EXT_CAP_ID_SRIOV)
            return (uint16_t)where;
        where = (h >> 20) & ~3u;
    }
    return 0;
}

static void read_config(PcieFn *fn, uint8_t *cfg)
{
    for (unsigned off = 0; off < PCIE_CONFIG_SIZE; off += 4) {
        uint32_t v = pcie_fn_config_read(fn, (uint16_t)off, 4);
        cfg[off] = (uint8_t)v;
        cfg[off + 1] = (uint8_t)(v >> 8);
        cfg[off + 2] = (uint8_t)(v >> 16);
        cfg[off + 3] = (uint8_t)(v >> 24);
    }
}

static void collect(PcieFn *fn, void *opaque)
{
    LsDev *d = g_new0(LsDev, 1);
    d->fn = fn;
    d->rid = pcie_fn_rid(fn);
    read_config(fn, d->cfg);
    d->vendor = c16(d, PCI_VENDOR_ID);
    d->device = c16(d, PCI_DEVICE_ID);
    d->class16 = c16(d, PCI_CLASS_DEVICE);
    if (pcie_fn_is_vf(fn) && d->vendor == 0xffff) {
        /* A VF's ID registers read all ones; the kernel uses the PF's. */
        PcieFn *pf = pcie_fn_pf(fn);
        uint8_t *pcfg = g_malloc(PCIE_CONFIG_SIZE);
        read_config(pf, pcfg);
        LsDev tmp;
        memcpy(tmp.cfg, pcfg, PCIE_CONFIG_SIZE);
        uint16_t pos = sriov_pos(&tmp);
        d->vendor = c16(&tmp, PCI_VENDOR_ID);
        d->device = pos ? c16(&tmp, pos + 0x1a) : c16(&tmp, PCI_DEVICE_ID);
        g_free(pcfg);
    }
    g_ptr_array_add(opaque, d);
}

static gint cmp_rid(gconstpointer a, gconstpointer b)
{
    const LsDev *x = *(LsDev *const *)a, *y = *(LsDev *const *)b;
    return (gint)x->rid - (gint)y->rid;
}

static GPtrArray *scan(PcieFabric *f)
{
    GPtrArray *devs = g_ptr_array_new_with_free_func(g_free);
    pcie_fabric_foreach(f, collect, devs);
    g_ptr_array_sort(devs, cmp_rid);
    return devs;
}

/* ---- terse and header lines -------------------------------------------- */

static void put_class(LsCtx *c, uint16_t class16)
{
    if (c->numeric)
        g_string_append_printf(c->o, "%04x", class16);
    else
        pcie_lspci_class_name(class16, c->o);
}

static void put_device(LsCtx *c, uint16_t vendor, uint16_t device)
{
    if (c->numeric)
        g_string_append_printf(c->o, "%04x:%04x", vendor, device);
    else
        pcie_lspci_device_name(vendor, device, c->o);
}

static void show_slot(LsCtx *c, const LsDev *d)
{
    g_string_append_printf(c->o, "%02x:%02x.%d", PCIE_BUS(d->rid), PCIE_DEV(d->rid),
                           PCIE_FN(d->rid));
}

static void show_terse(LsCtx *c, const LsDev *d)
{
    show_slot(c, d);
    g_string_append_c(c->o, ' ');
    put_class(c, d->class16);
    g_string_append(c->o, ": ");
    put_device(c, d->vendor, d->device);
    uint8_t rev = c8(d, PCI_REVISION_ID);
    if (rev)
        g_string_append_printf(c->o, " (rev %02x)", rev);
    if (c->verbose) {
        uint8_t pi = c8(d, PCI_CLASS_PROG);
        const char *x = c->numeric ? NULL : progif_name(d->class16, pi);
        if (pi || x) {
            g_string_append_printf(c->o, " (prog-if %02x", pi);
            if (x)
                g_string_append_printf(c->o, " [%s]", x);
            g_string_append_c(c->o, ')');
        }
    }
    g_string_append_c(c->o, '\n');

    if (c->verbose) {
        uint16_t sv = 0, sd = 0;
        uint8_t ht = c8(d, PCI_HEADER_TYPE) & 0x7f;
        if (ht == 0) {
            sv = c16(d, PCI_SUBSYSTEM_VENDOR_ID);
            sd = c16(d, PCI_SUBSYSTEM_ID);
        } else if (ht == 1 && (c16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST)) {
            unsigned where = c8(d, PCI_CAPABILITY_LIST) & ~3u;
            for (int n = 0; where && n < 48; n++) {
                if (c8(d, where) == PCI_CAP_ID_SSVID) {
                    sv = c16(d, where + 4);
                    sd = c16(d, where + 6);
                    break;
                }
                where = c8(d, where + 1) & ~3u;
            }
        }
        if (sv && sv != 0xffff) {
            g_string_append(c->o, "\tSubsystem: ");
            subsys_name(d->vendor, d->device, sv, sd, c->numeric, c->o);
            g_string_append_c(c->o, '\n');
        }
    }
}

/* ---- regions and bridge windows ---------------------------------------- */

static void show_size(LsCtx *c, uint64_t x)
{
    static const char suffix[][2] = { "", "K", "M", "G", "T" };
    unsigned i;
    if (!x)
        return;
    for (i = 0; i < G_N_ELEMENTS(suffix) - 1; i++) {
        if (x % 1024)
            break;
        x /= 1024;
    }
    g_string_append_printf(c->o, " [size=%u%s]", (unsigned)x, suffix[i]);
}

static void show_range(LsCtx *c, const char *prefix, uint64_t base, uint64_t limit, int bits)
{
    g_string_append_printf(c->o, "%s:", prefix);
    if (base <= limit)
        g_string_append_printf(c->o, " %0*" PRIx64 "-%0*" PRIx64,
                               (bits + 3) / 4, base, (bits + 3) / 4, limit);
    if (base <= limit)
        show_size(c, limit - base + 1);
    else
        g_string_append(c->o, " [disabled]");
    if (bits)
        g_string_append_printf(c->o, " [%d-bit]", bits);
    g_string_append_c(c->o, '\n');
}

/*
 * One BAR as Linux publishes it: flags and address from the kernel's
 * resource (for a VF: carved from the PF's VF BAR, the VF's own BAR
 * registers being zero, which lspci marks [virtual]).
 */
static void show_bases(LsCtx *c, const LsDev *d, unsigned cnt)
{
    uint16_t cmd = c16(d, PCI_COMMAND);
    bool vf = pcie_fn_is_vf(d->fn);
    uint16_t pf_sriov = 0;
    LsDev *pf = NULL;
    if (vf) {
        pf = g_new0(LsDev, 1);
        read_config(pcie_fn_pf(d->fn), pf->cfg);
        pf_sriov = sriov_pos(pf);
    }

    for (unsigned i = 0; i < cnt; i++) {
        uint64_t len = pcie_fn_bar_size(d->fn, i);
        if (!len)
            continue;
        uint32_t hw = c32(d, PCI_BASE_ADDRESS_0 + 4 * i);
        uint32_t flg = hw;
        if (vf && !hw && pf_sriov)
            flg = c32(pf, pf_sriov + 0x24 + 4 * i);
        uint64_t pos = pcie_fn_bar_addr(d->fn, i);
        bool io = flg & 1;
        unsigned type = (flg >> 1) & 3;
        if (pos == PCIE_BAR_UNMAPPED) {
            /* not decoding now: the address software assigned */
            if (io) {
                pos = hw & ~3u;
            } else {
                pos = hw & ~0xfu;
                if (type == 2 && i + 1 < 6)
                    pos |= (uint64_t)c32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) << 32;
            }
            if (vf && !hw && pf_sriov && !io) {
                uint64_t base = c32(pf, pf_sriov + 0x24 + 4 * i) & ~0xfu;
                if (type == 2 && i + 1 < 6)
                    base |= (uint64_t)c32(pf, pf_sriov + 0x24 + 4 * (i + 1)) << 32;
                pos = base ? base + pcie_fn_vf_index(d->fn) * len : 0;
            }
        }
        uint32_t hw_upper = (!io && type == 2 && i + 1 < 6) ?
                                c32(d, PCI_BASE_ADDRESS_0 + 4 * (i + 1)) : 0;
        bool virt = pos && !hw && !hw_upper;

        if (c->verbose > 1)
            g_string_append_printf(c->o, "\tRegion %u: ", i);
        else
            g_string_append_c(c->o, '\t');
        if (io) {
            g_string_append(c->o, "I/O ports at ");
            if (pos || (cmd & PCI_COMMAND_IO))
                g_string_append_printf(c->o, "%04" PRIx64, (uint64_t)(pos & ~(uint64_t)3));
            else if (hw)
                g_string_append(c->o, "<ignored>");
            else
                g_string_append(c->o, "<unassigned>");
            if (virt)
                g_string_append(c->o, " [virtual]");
            else if (!(cmd & PCI_COMMAND_IO))
                g_string_append(c->o, " [disabled]");
        } else {
            g_string_append(c->o, "Memory at ");
            if (pos)
                g_string_append_printf(c->o, "%08" PRIx64, (uint64_t)(pos & ~(uint64_t)0xf));
            else if (hw || hw_upper)
                g_string_append(c->o, "<ignored>");
            else
                g_string_append(c->o, "<unassigned>");
            g_string_append_printf(c->o, " (%s, %sprefetchable)",
                                   type == 0 ? "32-bit" : type == 2 ? "64-bit" :
                                   type == 1 ? "low-1M" : "type 3",
                                   (flg & 8) ? "" : "non-");
            if (virt)
                g_string_append(c->o, " [virtual]");
            else if (!(cmd & PCI_COMMAND_MEMORY))
                g_string_append(c->o, " [disabled]");
        }
        show_size(c, len);
        g_string_append_c(c->o, '\n');
    }
    g_free(pf);
}

static void show_rom(LsCtx *c, const LsDev *d, unsigned reg)
{
    uint32_t rom = c32(d, reg);
    if (!rom)
        return;
    g_string_append(c->o, "\tExpansion ROM at ");
    if (rom & 0xfffff800u)
        g_string_append_printf(c->o, "%08x", rom & 0xfffff800u);
    else
        g_string_append(c->o, "<unassigned>");
    if (!(rom & 1))
        g_string_append(c->o, " [disabled]");
    else if (!(c16(d, PCI_COMMAND) & PCI_COMMAND_MEMORY))
        g_string_append(c->o, " [disabled by cmd]");
    g_string_append_c(c->o, '\n');
}

/* ---- capabilities (ls-caps.c wording) ------------------------------------ */

static void cap_pm(LsCtx *c, const LsDev *d, unsigned where, uint16_t cap)
{
    static const int aux_current[8] = { 0, 55, 100, 160, 220, 270, 320, 375 };
    g_string_append_printf(c->o, "Power Management version %d\n", cap & 7);
    if (c->verbose < 2)
        return;
    g_string_append_printf(c->o,
        "\t\tFlags: PMEClk%c DSI%c D1%c D2%c AuxCurrent=%dmA PME(D0%c,D1%c,D2%c,D3hot%c,D3cold%c)\n",
        FLAG(cap, 0x0008), FLAG(cap, 0x0020), FLAG(cap, 0x0200), FLAG(cap, 0x0400),
        aux_current[(cap >> 6) & 7], FLAG(cap, 0x0800), FLAG(cap, 0x1000), FLAG(cap, 0x2000),
        FLAG(cap, 0x4000), FLAG(cap, 0x8000));
    uint16_t t = c16(d, where + 4);
    g_string_append_printf(c->o, "\t\tStatus: D%d NoSoftRst%c PME-Enable%c DSel=%d DScale=%d PME%c\n",
                           t & 3, FLAG(t, 0x0008), FLAG(t, 0x0100), (t >> 9) & 0xf,
                           (t >> 13) & 3, FLAG(t, 0x8000));
    if (c8(d, where + 6))
        g_string_append_printf(c->o, "\t\tBridge: PM%c B3%c\n", FLAG(t, 0x80), FLAG(~t, 0x40));
}

static void cap_msi(LsCtx *c, const LsDev *d, unsigned where, uint16_t cap)
{
    g_string_append_printf(c->o, "MSI: Enable%c Count=%d/%d Maskable%c 64bit%c\n",
                           FLAG(cap, 0x1), 1 << ((cap >> 4) & 7), 1 << ((cap >> 1) & 7),
                           FLAG(cap, 0x100), FLAG(cap, 0x80));
    if (c->verbose < 2)
        return;
    bool is64 = cap & 0x80;
    uint16_t data;
    g_string_append(c->o, "\t\tAddress: ");
    if (is64) {
        g_string_append_printf(c->o, "%08x", c32(d, where + 8));
        data = c16(d, where + 12);
    } else {
        data = c16(d, where + 8);
    }
    g_string_append_printf(c->o, "%08x  Data: %04x\n", c32(d, where + 4), data);
    if (cap & 0x100) {
        unsigned m = where + (is64 ? 16 : 12);
        g_string_append_printf(c->o, "\t\tMasking: %08x  Pending: %08x\n", c32(d, m),
                               c32(d, m + 4));
    }
}

static void cap_msix(LsCtx *c, const LsDev *d, unsigned where, uint16_t cap)
{
    g_string_append_printf(c->o, "MSI-X: Enable%c Count=%d Masked%c\n", FLAG(cap, 0x8000),
                           (cap & 0x7ff) + 1, FLAG(cap, 0x4000));
    if (c->verbose < 2)
        return;
    uint32_t off = c32(d, where + 4);
    g_string_append_printf(c->o, "\t\tVector table: BAR=%d offset=%08x\n", off & 7, off & ~7u);
    off = c32(d, where + 8);
    g_string_append_printf(c->o, "\t\tPBA: BAR=%d offset=%08x\n", off & 7, off & ~7u);
}

enum {
    EXP_ENDPOINT = 0, EXP_LEG_END = 1, EXP_ROOT_PORT = 4, EXP_UPSTREAM = 5,
    EXP_DOWNSTREAM = 6, EXP_PCI_BRIDGE = 7, EXP_PCIE_BRIDGE = 8, EXP_ROOT_INT_EP = 9,
    EXP_ROOT_EC = 10,
};

static void show_power_limit(LsCtx *c, int value, int scale)
{
    static const float scales[4] = { 1.0f, 0.1f, 0.01f, 0.001f };
    if (scale == 0 && value == 0xff) {
        g_string_append(c->o, ">600W");
        return;
    }
    if (scale == 0 && value >= 0xf0 && value <= 0xfe)
        value = 250 + 25 * (value - 0xf0);
    g_string_append_printf(c->o, "%gW", (double)(value * scales[scale]));
}

static const char *latency_l0s(unsigned v)
{
    static const char *const l[] = { "<64ns", "<128ns", "<256ns", "<512ns", "<1us", "<2us",
                                     "<4us", "unlimited" };
    return l[v & 7];
}

static const char *latency_l1(unsigned v)
{
    static const char *const l[] = { "<1us", "<2us", "<4us", "<8us", "<16us", "<32us", "<64us",
                                     "unlimited" };
    return l[v & 7];
}

static void cap_express_dev(LsCtx *c, const LsDev *d, unsigned where, int type)
{
    uint32_t t = c32(d, where + 4);
    bool ep = type == EXP_ENDPOINT || type == EXP_LEG_END;
    g_string_append_printf(c->o, "\t\tDevCap:\tMaxPayload %d bytes, PhantFunc %d",
                           128 << (t & 7), (1 << ((t >> 3) & 3)) - 1);
    if (ep)
        g_string_append_printf(c->o, ", Latency L0s %s, L1 %s", latency_l0s(t >> 6),
                               latency_l1(t >> 9));
    g_string_append(c->o, "\n");
    g_string_append_printf(c->o, "\t\t\tExtTag%c", FLAG(t, 1u << 5));
    if (ep || type == EXP_UPSTREAM || type == EXP_PCI_BRIDGE)
        g_string_append_printf(c->o, " AttnBtn%c AttnInd%c PwrInd%c", FLAG(t, 1u << 12),
                               FLAG(t, 1u << 13), FLAG(t, 1u << 14));
    g_string_append_printf(c->o, " RBE%c", FLAG(t, 1u << 15));
    if (ep || type == EXP_ROOT_INT_EP)
        g_string_append_printf(c->o, " FLReset%c", FLAG(t, 1u << 28));
    if (type == EXP_ENDPOINT || type == EXP_UPSTREAM || type == EXP_PCI_BRIDGE) {
        g_string_append(c->o, " SlotPowerLimit ");
        show_power_limit(c, (t >> 18) & 0xff, (t >> 26) & 3);
    }
    g_string_append(c->o, "\n");

    uint16_t w = c16(d, where + 8);
    g_string_append_printf(c->o, "\t\tDevCtl:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c\n",
                           FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8));
    g_string_append_printf(c->o, "\t\t\tRlxdOrd%c ExtTag%c PhantFunc%c AuxPwr%c NoSnoop%c",
                           FLAG(w, 0x10), FLAG(w, 0x100), FLAG(w, 0x200), FLAG(w, 0x400),
                           FLAG(w, 0x800));
    if (type == EXP_PCI_BRIDGE)
        g_string_append_printf(c->o, " BrConfRtry%c", FLAG(w, 0x8000));
    if ((ep || type == EXP_ROOT_INT_EP) && (t & (1u << 28)))
        g_string_append_printf(c->o, " FLReset%c", FLAG(w, 0x8000));
    g_string_append_printf(c->o, "\n\t\t\tMaxPayload %d bytes, MaxReadReq %d bytes\n",
                           128 << ((w >> 5) & 7), 128 << ((w >> 12) & 7));

    w = c16(d, where + 10);
    g_string_append_printf(c->o,
        "\t\tDevSta:\tCorrErr%c NonFatalErr%c FatalErr%c UnsupReq%c AuxPwr%c TransPend%c\n",
        FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10), FLAG(w, 0x20));
}

static const char *link_speed(unsigned s)
{
    switch (s) {
    case 1: return "2.5GT/s";
    case 2: return "5GT/s";
    case 3: return "8GT/s";
    case 4: return "16GT/s";
    case 5: return "32GT/s";
    case 6: return "64GT/s";
    default: return "unknown";
    }
}

static const char *link_compare(int type, unsigned sta, unsigned cap)
{
    if (sta > cap)
        return " (overdriven)";
    if (sta == cap)
        return "";
    if (type == EXP_ROOT_PORT || type == EXP_DOWNSTREAM || type == EXP_PCIE_BRIDGE)
        return "";
    return " (downgraded)";
}

static const char *aspm_support(unsigned code)
{
    static const char *const s[] = { "not supported", "L0s", "L1", "L0s L1" };
    return s[code & 3];
}

static const char *aspm_enabled(unsigned code)
{
    static const char *const s[] = { "Disabled", "L0s Enabled", "L1 Enabled", "L0s L1 Enabled" };
    return s[code & 3];
}

static void cap_express_link(LsCtx *c, const LsDev *d, unsigned where, int type)
{
    uint32_t t = c32(d, where + 0x0c);
    unsigned aspm = (t >> 10) & 3, cap_speed = t & 0xf, cap_width = (t >> 4) & 0x3f;
    g_string_append_printf(c->o, "\t\tLnkCap:\tPort #%u, Speed %s, Width x%u, ASPM %s", t >> 24,
                           link_speed(cap_speed), cap_width, aspm_support(aspm));
    if (aspm) {
        g_string_append(c->o, ", Exit Latency ");
        if (aspm & 1)
            g_string_append_printf(c->o, "L0s %s", latency_l0s(t >> 12));
        if (aspm & 2)
            g_string_append_printf(c->o, "%sL1 %s", (aspm & 1) ? ", " : "", latency_l1(t >> 15));
    }
    g_string_append(c->o, "\n");
    g_string_append_printf(c->o, "\t\t\tClockPM%c Surprise%c LLActRep%c BwNot%c ASPMOptComp%c\n",
                           FLAG(t, 1u << 18), FLAG(t, 1u << 19), FLAG(t, 1u << 20),
                           FLAG(t, 1u << 21), FLAG(t, 1u << 22));

    uint16_t w = c16(d, where + 0x10);
    g_string_append_printf(c->o, "\t\tLnkCtl:\tASPM %s;", aspm_enabled(w & 3));
    if (type == EXP_ROOT_PORT || type == EXP_ENDPOINT || type == EXP_LEG_END ||
        type == EXP_PCI_BRIDGE)
        g_string_append_printf(c->o, " RCB %d bytes,", (w & 8) ? 128 : 64);
    g_string_append_printf(c->o,
        " Disabled%c CommClk%c\n\t\t\tExtSynch%c ClockPM%c AutWidDis%c BWInt%c AutBWInt%c\n",
        FLAG(w, 0x10), FLAG(w, 0x40), FLAG(w, 0x80), FLAG(w, 0x100), FLAG(w, 0x200),
        FLAG(w, 0x400), FLAG(w, 0x800));

    w = c16(d, where + 0x12);
    unsigned sta_speed = w & 0xf, sta_width = (w >> 4) & 0x3f;
    g_string_append_printf(c->o, "\t\tLnkSta:\tSpeed %s%s, Width x%u%s\n", link_speed(sta_speed),
                           link_compare(type, sta_speed, cap_speed), sta_width,
                           link_compare(type, sta_width, cap_width));
    g_string_append_printf(c->o, "\t\t\tTrErr%c Train%c SlotClk%c DLActive%c BWMgmt%c ABWMgmt%c\n",
                           FLAG(w, 0x400), FLAG(w, 0x800), FLAG(w, 0x1000), FLAG(w, 0x2000),
                           FLAG(w, 0x4000), FLAG(w, 0x8000));
}

static const char *indicator(unsigned code)
{
    static const char *const n[] = { "Unknown", "On", "Blink", "Off" };
    return n[code & 3];
}

static void cap_express_slot(LsCtx *c, const LsDev *d, unsigned where)
{
    uint32_t t = c32(d, where + 0x14);
    g_string_append_printf(c->o,
        "\t\tSltCap:\tAttnBtn%c PwrCtrl%c MRL%c AttnInd%c PwrInd%c HotPlug%c Surprise%c\n",
        FLAG(t, 1), FLAG(t, 2), FLAG(t, 4), FLAG(t, 8), FLAG(t, 0x10), FLAG(t, 0x40),
        FLAG(t, 0x20));
    g_string_append_printf(c->o, "\t\t\tSlot #%u, PowerLimit ", t >> 19);
    show_power_limit(c, (t >> 7) & 0xff, (t >> 15) & 3);
    g_string_append_printf(c->o, "; Interlock%c NoCompl%c\n", FLAG(t, 1u << 17),
                           FLAG(t, 1u << 18));
    uint16_t w = c16(d, where + 0x18);
    g_string_append_printf(c->o,
        "\t\tSltCtl:\tEnable: AttnBtn%c PwrFlt%c MRL%c PresDet%c CmdCplt%c HPIrq%c LinkChg%c\n",
        FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10), FLAG(w, 0x20),
        FLAG(w, 0x1000));
    g_string_append_printf(c->o, "\t\t\tControl: AttnInd %s, PwrInd %s, Power%c Interlock%c\n",
                           indicator(w >> 6), indicator(w >> 8), FLAG(w, 0x400), FLAG(w, 0x800));
    w = c16(d, where + 0x1a);
    g_string_append_printf(c->o,
        "\t\tSltSta:\tStatus: AttnBtn%c PowerFlt%c MRL%c CmdCplt%c PresDet%c Interlock%c\n",
        FLAG(w, 1), FLAG(w, 2), FLAG(w, 0x20), FLAG(w, 0x10), FLAG(w, 0x40), FLAG(w, 0x80));
    g_string_append_printf(c->o, "\t\t\tChanged: MRL%c PresDet%c LinkState%c\n", FLAG(w, 4),
                           FLAG(w, 8), FLAG(w, 0x100));
}

static void cap_express_root(LsCtx *c, const LsDev *d, unsigned where)
{
    uint16_t w = c16(d, where + 0x1e);
    g_string_append_printf(c->o, "\t\tRootCap: CRSVisible%c\n", FLAG(w, 1));
    w = c16(d, where + 0x1c);
    g_string_append_printf(c->o,
        "\t\tRootCtl: ErrCorrectable%c ErrNon-Fatal%c ErrFatal%c PMEIntEna%c CRSVisible%c\n",
        FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10));
    uint32_t l = c32(d, where + 0x20);
    g_string_append_printf(c->o, "\t\tRootSta: PME ReqID %04x, PMEStatus%c PMEPending%c\n",
                           l & 0xffff, FLAG(l, 1u << 16), FLAG(l, 1u << 17));
}

static const char *dev2_timeout_range(unsigned v)
{
    switch (v) {
    case 0: return "Not Supported";
    case 1: return "Range A";
    case 2: return "Range B";
    case 3: return "Range AB";
    case 6: return "Range BC";
    case 7: return "Range ABC";
    case 14: return "Range BCD";
    case 15: return "Range ABCD";
    default: return "Unknown";
    }
}

static const char *dev2_timeout_value(unsigned v)
{
    switch (v) {
    case 0: return "50us to 50ms";
    case 1: return "50us to 100us";
    case 2: return "1ms to 10ms";
    case 5: return "16ms to 55ms";
    case 6: return "65ms to 210ms";
    case 9: return "260ms to 900ms";
    case 10: return "1s to 3.5s";
    case 13: return "4s to 13s";
    case 14: return "17s to 64s";
    default: return "Unknown";
    }
}

static const char *devcap2_obff(unsigned v)
{
    switch (v) {
    case 1: return "Via message";
    case 2: return "Via WAKE#";
    case 3: return "Via message/WAKE#";
    default: return "Not Supported";
    }
}

static const char *devcap2_epr(unsigned v)
{
    switch (v) {
    case 1: return "Dev Specific";
    case 2: return "Form Factor Dev Specific";
    case 3: return "Reserved";
    default: return "Not Supported";
    }
}

static const char *devcap2_lncls(unsigned v)
{
    switch (v) {
    case 1: return "64byte cachelines";
    case 2: return "128byte cachelines";
    case 3: return "Reserved";
    default: return "Not Supported";
    }
}

static const char *devcap2_tphcomp(unsigned v)
{
    switch (v) {
    case 1: return "TPHComp+ ExtTPHComp-";
    case 2: return "";
    case 3: return "TPHComp+ ExtTPHComp+";
    default: return "TPHComp- ExtTPHComp-";
    }
}

static const char *devctl2_obff(unsigned v)
{
    static const char *const s[] = { "Disabled", "Via message A", "Via message B", "Via WAKE#" };
    return s[v & 3];
}

static bool has_mem_bar(const LsDev *d)
{
    for (unsigned i = 0; i < 6; i++)
        if (pcie_fn_bar_size(d->fn, i) && !(c32(d, PCI_BASE_ADDRESS_0 + 4 * i) & 1))
            return true;
    return false;
}

static void cap_express_dev2(LsCtx *c, const LsDev *d, unsigned where, int type)
{
    uint32_t l = c32(d, where + 0x24);
    bool mem = has_mem_bar(d);
    bool rp = type == EXP_ROOT_PORT, up = type == EXP_UPSTREAM, down = type == EXP_DOWNSTREAM;
    g_string_append_printf(c->o, "\t\tDevCap2: Completion Timeout: %s, TimeoutDis%c NROPrPrP%c LTR%c",
                           dev2_timeout_range(l & 0xf), FLAG(l, 1u << 4), FLAG(l, 1u << 10),
                           FLAG(l, 1u << 11));
    g_string_append_printf(c->o, "\n\t\t\t 10BitTagComp%c 10BitTagReq%c OBFF %s, ExtFmt%c EETLPPrefix%c",
                           FLAG(l, 1u << 16), FLAG(l, 1u << 17), devcap2_obff((l >> 18) & 3),
                           FLAG(l, 1u << 20), FLAG(l, 1u << 21));
    if (l & (1u << 21)) {
        unsigned mee = (l >> 22) & 3;
        g_string_append_printf(c->o, ", MaxEETLPPrefixes %u", mee ? mee : 4);
    }
    g_string_append_printf(c->o, "\n\t\t\t EmergencyPowerReduction %s, EmergencyPowerReductionInit%c",
                           devcap2_epr((l >> 24) & 3), FLAG(l, 1u << 26));
    g_string_append_printf(c->o, "\n\t\t\t FRS%c", FLAG(l, 1u << 31));
    if (rp)
        g_string_append_printf(c->o, " LN System CLS %s,", devcap2_lncls((l >> 14) & 3));
    if (rp || type == EXP_ENDPOINT)
        g_string_append_printf(c->o, " %s", devcap2_tphcomp((l >> 12) & 3));
    if (rp || down)
        g_string_append_printf(c->o, " ARIFwd%c\n", FLAG(l, 1u << 5));
    else
        g_string_append(c->o, "\n");
    if (rp || up || down || mem) {
        g_string_append(c->o, "\t\t\t AtomicOpsCap:");
        if (rp || up || down)
            g_string_append_printf(c->o, " Routing%c", FLAG(l, 1u << 6));
        if (rp || mem)
            g_string_append_printf(c->o, " 32bit%c 64bit%c 128bitCAS%c", FLAG(l, 1u << 7),
                                   FLAG(l, 1u << 8), FLAG(l, 1u << 9));
        g_string_append(c->o, "\n");
    }

    uint16_t w = c16(d, where + 0x28);
    g_string_append_printf(c->o, "\t\tDevCtl2: Completion Timeout: %s, TimeoutDis%c",
                           dev2_timeout_value(w & 0xf), FLAG(w, 0x10));
    if (rp || down)
        g_string_append_printf(c->o, " ARIFwd%c\n", FLAG(w, 0x20));
    else
        g_string_append(c->o, "\n");
    bool req = rp || type == EXP_ENDPOINT || type == EXP_ROOT_INT_EP || type == EXP_LEG_END;
    if (req || up || down) {
        g_string_append(c->o, "\t\t\t AtomicOpsCtl:");
        if (req)
            g_string_append_printf(c->o, " ReqEn%c", FLAG(w, 0x40));
        if (rp || up || down)
            g_string_append_printf(c->o, " EgressBlck%c", FLAG(w, 0x80));
        g_string_append(c->o, "\n");
    }
    g_string_append_printf(c->o, "\t\t\t LTR%c 10BitTagReq%c OBFF %s\n", FLAG(w, 0x400),
                           FLAG(w, 0x1000), devctl2_obff((w >> 13) & 3));
}

static const char *link2_speed_cap(unsigned v)
{
    if (v & 0x60)
        return "RsvdP";
    if (v & 0x10)
        return "2.5-32GT/s";
    if (v & 0x08)
        return "2.5-16GT/s";
    if (v & 0x04)
        return "2.5-8GT/s";
    if (v & 0x02)
        return "2.5-5GT/s";
    if (v & 0x01)
        return "2.5GT/s";
    return "Unknown";
}

static const char *link2_speed(unsigned v)
{
    switch (v) {
    case 0:
    case 1: return "2.5GT/s";
    case 2: return "5GT/s";
    case 3: return "8GT/s";
    case 4: return "16GT/s";
    case 5: return "32GT/s";
    case 6: return "64GT/s";
    default: return "Unknown";
    }
}

static const char *link2_deemphasis(unsigned v)
{
    return v == 0 ? "-6dB" : v == 1 ? "-3.5dB" : "Unknown";
}

static const char *link2_compliance_preset(unsigned v)
{
    static const char *const s[] = {
        "-6dB de-emphasis, 0dB preshoot", "-3.5dB de-emphasis, 0dB preshoot",
        "-4.4dB de-emphasis, 0dB preshoot", "-2.5dB de-emphasis, 0dB preshoot",
        "0dB de-emphasis, 0dB preshoot", "0dB de-emphasis, 1.9dB preshoot",
        "0dB de-emphasis, 2.5dB preshoot", "-6.0dB de-emphasis, 3.5dB preshoot",
        "-3.5dB de-emphasis, 3.5dB preshoot", "0dB de-emphasis, 3.5dB preshoot",
    };
    return v < G_N_ELEMENTS(s) ? s[v] : "Unknown";
}

static const char *link2_transmargin(unsigned v)
{
    if (v == 0)
        return "Normal Operating Range";
    if (v == 1)
        return "800-1200mV(full-swing)/400-700mV(half-swing)";
    if (v <= 5)
        return "200-400mV(full-swing)/100-200mV(half-swing)";
    return "Unknown";
}

static const char *link2_crosslink_res(unsigned v)
{
    static const char *const s[] = { "unsupported", "Upstream Port", "Downstream Port",
                                     "incomplete" };
    return s[v & 3];
}

static const char *link2_component(unsigned v)
{
    switch (v) {
    case 0: return "Link Down - Not Determined";
    case 1: return "Link Down - Not Present";
    case 2: return "Link Down - Present";
    case 4: return "Link Up - Present";
    case 5: return "Link Up - Present and DRS Received";
    default: return "Reserved";
    }
}

static void cap_express_link2(LsCtx *c, const LsDev *d, unsigned where, int type)
{
    uint32_t l = 0;
    bool ep = type == EXP_ENDPOINT || type == EXP_LEG_END;
    if (!(ep && (PCIE_DEV(d->rid) != 0 || PCIE_FN(d->rid) != 0))) {
        l = c32(d, where + 0x2c);
        if (l)
            g_string_append_printf(c->o,
                "\t\tLnkCap2: Supported Link Speeds: %s, Crosslink%c Retimer%c 2Retimers%c DRS%c\n",
                link2_speed_cap((l >> 1) & 0x7f), FLAG(l, 1u << 8), FLAG(l, 1u << 23),
                FLAG(l, 1u << 24), FLAG(l, 1u << 31));
        uint16_t w = c16(d, where + 0x30);
        g_string_append_printf(c->o, "\t\tLnkCtl2: Target Link Speed: %s, EnterCompliance%c SpeedDis%c",
                               link2_speed(w & 0xf), FLAG(w, 0x10), FLAG(w, 0x20));
        if (type == EXP_DOWNSTREAM)
            g_string_append_printf(c->o, ", Selectable De-emphasis: %s",
                                   link2_deemphasis((w >> 6) & 1));
        g_string_append_printf(c->o,
            "\n\t\t\t Transmit Margin: %s, EnterModifiedCompliance%c ComplianceSOS%c\n"
            "\t\t\t Compliance Preset/De-emphasis: %s\n",
            link2_transmargin((w >> 7) & 7), FLAG(w, 0x400), FLAG(w, 0x800),
            link2_compliance_preset((w >> 12) & 0xf));
    }
    uint16_t w = c16(d, where + 0x32);
    g_string_append_printf(c->o,
        "\t\tLnkSta2: Current De-emphasis Level: %s, EqualizationComplete%c EqualizationPhase1%c\n"
        "\t\t\t EqualizationPhase2%c EqualizationPhase3%c LinkEqualizationRequest%c\n"
        "\t\t\t Retimer%c 2Retimers%c CrosslinkRes: %s",
        link2_deemphasis(w & 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10),
        FLAG(w, 0x20), FLAG(w, 0x40), FLAG(w, 0x80), link2_crosslink_res((w >> 8) & 3));
    bool dsp = type == EXP_ROOT_PORT || type == EXP_DOWNSTREAM || type == EXP_PCIE_BRIDGE;
    if (dsp && (l & (1u << 31)))
        g_string_append_printf(c->o, ", DRS%c\n\t\t\t DownstreamComp: %s\n", FLAG(w, 0x8000),
                               link2_component((w >> 12) & 7));
    else
        g_string_append(c->o, "\n");
}

static int cap_express(LsCtx *c, const LsDev *d, unsigned where, uint16_t cap)
{
    int type = (cap >> 4) & 0xf;
    bool slot = false, link = true;
    g_string_append(c->o, "Express ");
    if (c->verbose >= 2)
        g_string_append_printf(c->o, "(v%d) ", cap & 0xf);
    switch (type) {
    case EXP_ENDPOINT: g_string_append(c->o, "Endpoint"); break;
    case EXP_LEG_END: g_string_append(c->o, "Legacy Endpoint"); break;
    case EXP_ROOT_PORT:
        slot = cap & 0x100;
        g_string_append_printf(c->o, "Root Port (Slot%c)", FLAG(cap, 0x100));
        break;
    case EXP_UPSTREAM: g_string_append(c->o, "Upstream Port"); break;
    case EXP_DOWNSTREAM:
        slot = cap & 0x100;
        g_string_append_printf(c->o, "Downstream Port (Slot%c)", FLAG(cap, 0x100));
        break;
    case EXP_PCI_BRIDGE: g_string_append(c->o, "PCI-Express to PCI/PCI-X Bridge"); break;
    case EXP_PCIE_BRIDGE:
        slot = cap & 0x100;
        g_string_append_printf(c->o, "PCI/PCI-X to PCI-Express Bridge (Slot%c)", FLAG(cap, 0x100));
        break;
    case EXP_ROOT_INT_EP:
        link = false;
        g_string_append(c->o, "Root Complex Integrated Endpoint");
        break;
    case EXP_ROOT_EC:
        link = false;
        g_string_append(c->o, "Root Complex Event Collector");
        break;
    default: g_string_append_printf(c->o, "Unknown type %d", type); break;
    }
    g_string_append_printf(c->o, ", MSI %02x\n", (cap >> 9) & 0x1f);
    if (c->verbose < 2)
        return type;
    cap_express_dev(c, d, where, type);
    if (link)
        cap_express_link(c, d, where, type);
    if (slot)
        cap_express_slot(c, d, where);
    if (type == EXP_ROOT_PORT || type == EXP_ROOT_EC)
        cap_express_root(c, d, where);
    if ((cap & 0xf) < 2)
        return type;
    cap_express_dev2(c, d, where, type);
    if (link)
        cap_express_link2(c, d, where, type);
    return type;
}

/* ---- extended capabilities (ls-ecaps.c wording) -------------------------- */

static void aer_unc(LsCtx *c, const char *name, uint32_t l)
{
    g_string_append_printf(c->o,
        "\t\t%s\tDLP%c SDES%c TLP%c FCP%c CmpltTO%c CmpltAbrt%c UnxCmplt%c RxOF%c "
        "MalfTLP%c ECRC%c UnsupReq%c ACSViol%c\n",
        name, FLAG(l, 1u << 4), FLAG(l, 1u << 5), FLAG(l, 1u << 12), FLAG(l, 1u << 13),
        FLAG(l, 1u << 14), FLAG(l, 1u << 15), FLAG(l, 1u << 16), FLAG(l, 1u << 17),
        FLAG(l, 1u << 18), FLAG(l, 1u << 19), FLAG(l, 1u << 20), FLAG(l, 1u << 21));
}

static void aer_cor(LsCtx *c, const char *name, uint32_t l)
{
    g_string_append_printf(c->o,
        "\t\t%s\tRxErr%c BadTLP%c BadDLLP%c Rollover%c Timeout%c AdvNonFatalErr%c\n", name,
        FLAG(l, 1u << 0), FLAG(l, 1u << 6), FLAG(l, 1u << 7), FLAG(l, 1u << 8),
        FLAG(l, 1u << 12), FLAG(l, 1u << 13));
}

static void ecap_aer(LsCtx *c, const LsDev *d, unsigned where, int type)
{
    g_string_append(c->o, "Advanced Error Reporting\n");
    if (c->verbose < 2)
        return;
    aer_unc(c, "UESta:", c32(d, where + 0x04));
    aer_unc(c, "UEMsk:", c32(d, where + 0x08));
    aer_unc(c, "UESvrt:", c32(d, where + 0x0c));
    aer_cor(c, "CESta:", c32(d, where + 0x10));
    aer_cor(c, "CEMsk:", c32(d, where + 0x14));
    uint32_t l = c32(d, where + 0x18);
    g_string_append_printf(c->o,
        "\t\tAERCap:\tFirst Error Pointer: %02x, ECRCGenCap%c ECRCGenEn%c ECRCChkCap%c ECRCChkEn%c\n"
        "\t\t\tMultHdrRecCap%c MultHdrRecEn%c TLPPfxPres%c HdrLogCap%c\n",
        l & 0x1f, FLAG(l, 1u << 5), FLAG(l, 1u << 6), FLAG(l, 1u << 7), FLAG(l, 1u << 8),
        FLAG(l, 1u << 9), FLAG(l, 1u << 10), FLAG(l, 1u << 11), FLAG(l, 1u << 12));
    g_string_append_printf(c->o, "\t\tHeaderLog: %08x %08x %08x %08x\n", c32(d, where + 0x1c),
                           c32(d, where + 0x20), c32(d, where + 0x24), c32(d, where + 0x28));
    if (type == EXP_ROOT_PORT || type == EXP_ROOT_EC) {
        l = c32(d, where + 0x2c);
        g_string_append_printf(c->o, "\t\tRootCmd: CERptEn%c NFERptEn%c FERptEn%c\n", FLAG(l, 1),
                               FLAG(l, 2), FLAG(l, 4));
        l = c32(d, where + 0x30);
        g_string_append_printf(c->o,
            "\t\tRootSta: CERcvd%c MultCERcvd%c UERcvd%c MultUERcvd%c\n"
            "\t\t\t FirstFatal%c NonFatalMsg%c FatalMsg%c IntMsg %d\n",
            FLAG(l, 1), FLAG(l, 2), FLAG(l, 4), FLAG(l, 8), FLAG(l, 0x10), FLAG(l, 0x20),
            FLAG(l, 0x40), (int)(l >> 27));
        g_string_append_printf(c->o, "\t\tErrorSrc: ERR_COR: %04x ", c16(d, where + 0x34));
        g_string_append_printf(c->o, "ERR_FATAL/NONFATAL: %04x\n", c16(d, where + 0x36));
    }
}

static void acs_bits(LsCtx *c, const char *name, uint16_t w)
{
    g_string_append_printf(c->o,
        "\t\t%s\tSrcValid%c TransBlk%c ReqRedir%c CmpltRedir%c UpstreamFwd%c EgressCtrl%c "
        "DirectTrans%c\n",
        name, FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10), FLAG(w, 0x20),
        FLAG(w, 0x40));
}

static void ecap_acs(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Access Control Services\n");
    if (c->verbose < 2)
        return;
    acs_bits(c, "ACSCap:", c16(d, where + 4));
    acs_bits(c, "ACSCtl:", c16(d, where + 6));
}

static void ecap_ari(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Alternative Routing-ID Interpretation (ARI)\n");
    if (c->verbose < 2)
        return;
    uint16_t w = c16(d, where + 4);
    g_string_append_printf(c->o, "\t\tARICap:\tMFVC%c ACS%c, Next Function: %d\n", FLAG(w, 1),
                           FLAG(w, 2), w >> 8);
    w = c16(d, where + 6);
    g_string_append_printf(c->o, "\t\tARICtl:\tMFVC%c ACS%c, Function Group: %d\n", FLAG(w, 1),
                           FLAG(w, 2), (w >> 4) & 7);
}

static void ecap_ats(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Address Translation Service (ATS)\n");
    if (c->verbose < 2)
        return;
    uint16_t w = c16(d, where + 4);
    g_string_append_printf(c->o, "\t\tATSCap:\tInvalidate Queue Depth: %02x\n", w & 0x1f);
    w = c16(d, where + 6);
    g_string_append_printf(c->o, "\t\tATSCtl:\tEnable%c, Smallest Translation Unit: %02x\n",
                           FLAG(w, 0x8000), w & 0x1f);
}

static void ecap_pri(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Page Request Interface (PRI)\n");
    if (c->verbose < 2)
        return;
    uint16_t w = c16(d, where + 4);
    g_string_append_printf(c->o, "\t\tPRICtl: Enable%c Reset%c\n", FLAG(w, 1), FLAG(w, 2));
    w = c16(d, where + 6);
    g_string_append_printf(c->o, "\t\tPRISta: RF%c UPRGI%c Stopped%c\n", FLAG(w, 1), FLAG(w, 2),
                           FLAG(w, 0x100));
    g_string_append_printf(c->o, "\t\tPage Request Capacity: %08x, ", c32(d, where + 8));
    g_string_append_printf(c->o, "Page Request Allocation: %08x\n", c32(d, where + 0xc));
}

static void ecap_pasid(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Process Address Space ID (PASID)\n");
    if (c->verbose < 2)
        return;
    uint16_t w = c16(d, where + 4);
    g_string_append_printf(c->o, "\t\tPASIDCap: Exec%c Priv%c, Max PASID Width: %02x\n",
                           FLAG(w, 2), FLAG(w, 4), (w >> 8) & 0x1f);
    w = c16(d, where + 6);
    g_string_append_printf(c->o, "\t\tPASIDCtl: Enable%c Exec%c Priv%c\n", FLAG(w, 1),
                           FLAG(w, 2), FLAG(w, 4));
}

static void ecap_sriov(LsCtx *c, const LsDev *d, unsigned where)
{
    g_string_append(c->o, "Single Root I/O Virtualization (SR-IOV)\n");
    if (c->verbose < 2)
        return;
    uint32_t l = c32(d, where + 4);
    g_string_append_printf(c->o,
        "\t\tIOVCap:\tMigration%c 10BitTagReq%c Interrupt Message Number: %03x\n", FLAG(l, 1),
        FLAG(l, 4), l >> 21);
    uint16_t w = c16(d, where + 8);
    g_string_append_printf(c->o,
        "\t\tIOVCtl:\tEnable%c Migration%c Interrupt%c MSE%c ARIHierarchy%c 10BitTagReq%c\n",
        FLAG(w, 1), FLAG(w, 2), FLAG(w, 4), FLAG(w, 8), FLAG(w, 0x10), FLAG(w, 0x20));
    g_string_append_printf(c->o, "\t\tIOVSta:\tMigration%c\n", FLAG(c16(d, where + 0xa), 1));
    g_string_append_printf(c->o, "\t\tInitial VFs: %d, ", c16(d, where + 0xc));
    g_string_append_printf(c->o, "Total VFs: %d, ", c16(d, where + 0xe));
    g_string_append_printf(c->o, "Number of VFs: %d, ", c16(d, where + 0x10));
    g_string_append_printf(c->o, "Function Dependency Link: %02x\n", c8(d, where + 0x12));
    g_string_append_printf(c->o, "\t\tVF offset: %d, ", c16(d, where + 0x14));
    g_string_append_printf(c->o, "stride: %d, ", c16(d, where + 0x16));
    g_string_append_printf(c->o, "Device ID: %04x\n", c16(d, where + 0x1a));
    g_string_append_printf(c->o, "\t\tSupported Page Size: %08x, ", c32(d, where + 0x1c));
    g_string_append_printf(c->o, "System Page Size: %08x\n", c32(d, where + 0x20));
    for (unsigned i = 0; i < 6; i++) {
        l = c32(d, where + 0x24 + 4 * i);
        if (l == 0xffffffff)
            l = 0;
        if (!l)
            continue;
        g_string_append_printf(c->o, "\t\tRegion %u: Memory at ", i);
        unsigned type = (l >> 1) & 3;
        uint32_t addr = l & ~0xfu;
        if (type == 2) {
            i++;
            g_string_append_printf(c->o, "%08x", c32(d, where + 0x24 + 4 * i));
        }
        g_string_append_printf(c->o, "%08x (%s-bit, %sprefetchable)\n", addr,
                               type == 0 ? "32" : "64", (l & 8) ? "" : "non-");
    }
    l = c32(d, where + 0x3c);
    g_string_append_printf(c->o, "\t\tVF Migration: offset: %08x, BIR: %x\n", l & ~7u, l & 7);
}

static void ecap_dsn(LsCtx *c, const LsDev *d, unsigned where)
{
    uint32_t t1 = c32(d, where + 4), t2 = c32(d, where + 8);
    g_string_append_printf(c->o, "Device Serial Number %02x-%02x-%02x-%02x-%02x-%02x-%02x-%02x\n",
                           t2 >> 24, (t2 >> 16) & 0xff, (t2 >> 8) & 0xff, t2 & 0xff, t1 >> 24,
                           (t1 >> 16) & 0xff, (t1 >> 8) & 0xff, t1 & 0xff);
}

static void show_ext_caps(LsCtx *c, const LsDev *d, int type)
{
    unsigned where = 0x100;
    guint8 *been_there = g_malloc0(PCIE_CONFIG_SIZE);
    do {
        uint32_t header = c32(d, where);
        if (!header || header == 0xffffffff)
            break;
        unsigned id = header & 0xffff, version = (header >> 16) & 0xf;
        g_string_append_printf(c->o, "\tCapabilities: [%03x", where);
        if (c->verbose > 1)
            g_string_append_printf(c->o, " v%u", version);
        g_string_append(c->o, "] ");
        if (been_there[where]++) {
            g_string_append(c->o, "<chain looped>\n");
            break;
        }
        switch (id) {
        case 0x0000: g_string_append(c->o, "Null\n"); break;
        case PCI_EXT_CAP_ID_ERR: ecap_aer(c, d, where, type); break;
        case 0x0002:
        case 0x0009: g_string_append(c->o, "Virtual Channel\n"); break;
        case 0x0003: ecap_dsn(c, d, where); break;
        case 0x0004: g_string_append(c->o, "Power Budgeting <?>\n"); break;
        case 0x000b: g_string_append(c->o, "Vendor Specific Information\n"); break;
        case PCI_EXT_CAP_ID_ACS: ecap_acs(c, d, where); break;
        case PCI_EXT_CAP_ID_ARI: ecap_ari(c, d, where); break;
        case PCI_EXT_CAP_ID_ATS: ecap_ats(c, d, where); break;
        case PCI_EXT_CAP_ID_SRIOV: ecap_sriov(c, d, where); break;
        case PCI_EXT_CAP_ID_PRI: ecap_pri(c, d, where); break;
        case 0x0018: g_string_append(c->o, "Latency Tolerance Reporting\n"); break;
        case 0x0019: g_string_append(c->o, "Secondary PCI Express\n"); break;
        case PCI_EXT_CAP_ID_PASID: ecap_pasid(c, d, where); break;
        case 0x001d: g_string_append(c->o, "Downstream Port Containment\n"); break;
        default: g_string_append_printf(c->o, "Extended Capability ID %#02x\n", id); break;
        }
        where = (header >> 20) & ~3u;
    } while (where);
    g_free(been_there);
}

static void show_caps(LsCtx *c, const LsDev *d)
{
    bool can_have_ext = false;
    int type = -1;
    if (c16(d, PCI_STATUS) & PCI_STATUS_CAP_LIST) {
        guint8 been_there[256] = { 0 };
        unsigned where = c8(d, PCI_CAPABILITY_LIST) & ~3u;
        while (where) {
            g_string_append(c->o, "\tCapabilities: ");
            unsigned id = c8(d, where), next = c8(d, where + 1) & ~3u;
            uint16_t cap = c16(d, where + 2);
            g_string_append_printf(c->o, "[%02x] ", where);
            if (been_there[where]++) {
                g_string_append(c->o, "<chain looped>\n");
                break;
            }
            if (id == 0xff) {
                g_string_append(c->o, "<chain broken>\n");
                break;
            }
            switch (id) {
            case 0x00: g_string_append(c->o, "Null\n"); break;
            case PCI_CAP_ID_PM: cap_pm(c, d, where, cap); break;
            case PCI_CAP_ID_MSI: cap_msi(c, d, where, cap); break;
            case PCI_CAP_ID_VNDR:
                g_string_append_printf(c->o, "Vendor Specific Information: Len=%02x <?>\n",
                                       c8(d, where + 2));
                break;
            case PCI_CAP_ID_SSVID:
                g_string_append(c->o, "Subsystem: ");
                subsys_name(d->vendor, d->device, c16(d, where + 4), c16(d, where + 6), c->numeric,
                            c->o);
                g_string_append_c(c->o, '\n');
                break;
            case PCI_CAP_ID_EXP:
                type = cap_express(c, d, where, cap);
                can_have_ext = true;
                break;
            case PCI_CAP_ID_MSIX: cap_msix(c, d, where, cap); break;
            default:
                g_string_append_printf(c->o, "Capability ID %#02x [%04x]\n", id, cap);
                break;
            }
            where = next;
        }
    }
    if (can_have_ext)
        show_ext_caps(c, d, type);
}

/* ---- per-header-type blocks ---------------------------------------------- */

static void show_htype1(LsCtx *c, const LsDev *d)
{
    show_bases(c, d, 2);
    g_string_append_printf(c->o, "\tBus: primary=%02x, secondary=%02x, subordinate=%02x, sec-latency=%d\n",
                           c8(d, PCI_PRIMARY_BUS), c8(d, PCI_SECONDARY_BUS),
                           c8(d, PCI_SUBORDINATE_BUS), c8(d, PCI_SEC_LATENCY_TIMER));

    uint32_t io_base = c8(d, PCI_IO_BASE), io_limit = c8(d, PCI_IO_LIMIT);
    uint32_t io_type = io_base & 0xf;
    if (io_type != (io_limit & 0xf) || (io_type != 0 && io_type != 1)) {
        g_string_append_printf(c->o, "\t!!! Unknown I/O range types %x/%x\n", io_base, io_limit);
    } else {
        io_base = (io_base & 0xf0) << 8;
        io_limit = (io_limit & 0xf0) << 8;
        if (io_type == 1) {
            io_base |= (uint32_t)c16(d, PCI_IO_BASE_UPPER16) << 16;
            io_limit |= (uint32_t)c16(d, PCI_IO_LIMIT_UPPER16) << 16;
        }
        show_range(c, "\tI/O behind bridge", io_base, io_limit + 0xfff, io_type == 1 ? 32 : 16);
    }

    uint32_t mem_base = c16(d, PCI_MEMORY_BASE), mem_limit = c16(d, PCI_MEMORY_LIMIT);
    if ((mem_base & 0xf) != (mem_limit & 0xf) || (mem_base & 0xf)) {
        g_string_append_printf(c->o, "\t!!! Unknown memory range types %x/%x\n", mem_base,
                               mem_limit);
    } else {
        show_range(c, "\tMemory behind bridge", (uint64_t)(mem_base & 0xfff0) << 16,
                   ((uint64_t)(mem_limit & 0xfff0) << 16) + 0xfffff, 32);
    }

    uint32_t pref_base = c16(d, PCI_PREF_MEMORY_BASE), pref_limit = c16(d, PCI_PREF_MEMORY_LIMIT);
    uint32_t pref_type = pref_base & 0xf;
    if (pref_type != (pref_limit & 0xf) || (pref_type != 0 && pref_type != 1)) {
        g_string_append_printf(c->o, "\t!!! Unknown prefetchable memory range types %x/%x\n",
                               pref_base, pref_limit);
    } else {
        uint64_t b = (uint64_t)(pref_base & 0xfff0) << 16;
        uint64_t l = (uint64_t)(pref_limit & 0xfff0) << 16;
        if (pref_type == 1) {
            b |= (uint64_t)c32(d, PCI_PREF_BASE_UPPER32) << 32;
            l |= (uint64_t)c32(d, PCI_PREF_LIMIT_UPPER32) << 32;
        }
        show_range(c, "\tPrefetchable memory behind bridge", b, l + 0xfffff,
                   pref_type == 1 ? 64 : 32);
    }

    if (c->verbose > 1) {
        uint16_t s = c16(d, PCI_SEC_STATUS);
        g_string_append_printf(c->o,
            "\tSecondary status: 66MHz%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c "
            "<MAbort%c <SERR%c <PERR%c\n",
            FLAG(s, 0x20), FLAG(s, 0x80), FLAG(s, 0x100),
            ((s >> 9) & 3) == 0 ? "fast" : ((s >> 9) & 3) == 1 ? "medium" :
            ((s >> 9) & 3) == 2 ? "slow" : "??",
            FLAG(s, 0x800), FLAG(s, 0x1000), FLAG(s, 0x2000), FLAG(s, 0x4000), FLAG(s, 0x8000));
    }
    show_rom(c, d, PCI_ROM_ADDRESS1);
    if (c->verbose > 1) {
        uint16_t b = c16(d, PCI_BRIDGE_CONTROL);
        g_string_append_printf(c->o,
            "\tBridgeCtl: Parity%c SERR%c NoISA%c VGA%c VGA16%c MAbort%c >Reset%c FastB2B%c\n",
            FLAG(b, 1), FLAG(b, 2), FLAG(b, 4), FLAG(b, 8), FLAG(b, 0x10), FLAG(b, 0x20),
            FLAG(b, 0x40), FLAG(b, 0x80));
        g_string_append_printf(c->o,
            "\t\tPriDiscTmr%c SecDiscTmr%c DiscTmrStat%c DiscTmrSERREn%c\n", FLAG(b, 0x100),
            FLAG(b, 0x200), FLAG(b, 0x400), FLAG(b, 0x800));
    }
    show_caps(c, d);
}

static const char *devsel(uint16_t status)
{
    switch ((status >> 9) & 3) {
    case 0: return "fast";
    case 1: return "medium";
    case 2: return "slow";
    default: return "??";
    }
}

static void show_verbose(LsCtx *c, const LsDev *d)
{
    uint8_t htype = c8(d, PCI_HEADER_TYPE) & 0x7f;
    uint8_t bist = 0, max_lat = 0, min_gnt = 0;
    bool unknown = false;
    show_terse(c, d);
    switch (htype) {
    case 0:
        if (d->class16 == 0x0604)
            g_string_append_printf(c->o, "\t!!! Invalid class %04x for header type %02x\n",
                                   d->class16, htype);
        bist = c8(d, PCI_BIST);
        max_lat = c8(d, PCI_MAX_LAT);
        min_gnt = c8(d, PCI_MIN_GNT);
        break;
    case 1:
        if ((d->class16 >> 8) != 0x06)
            g_string_append_printf(c->o, "\t!!! Invalid class %04x for header type %02x\n",
                                   d->class16, htype);
        bist = c8(d, PCI_BIST);
        break;
    default:
        g_string_append_printf(c->o, "\t!!! Unknown header type %02x\n", htype);
        unknown = true;
        break;
    }

    uint16_t cmd = c16(d, PCI_COMMAND), status = c16(d, PCI_STATUS);
    uint8_t pin = c8(d, PCI_INTERRUPT_PIN), line = c8(d, PCI_INTERRUPT_LINE);
    /* the IRQ the OS would report: here the Interrupt Line register (lspci -b) */
    unsigned irq = (pin && line != 0xff) ? line : 0;
    int group = pcie_fn_group(d->fn);

    if (!unknown && c->verbose > 1) {
        g_string_append_printf(c->o,
            "\tControl: I/O%c Mem%c BusMaster%c SpecCycle%c MemWINV%c VGASnoop%c ParErr%c "
            "Stepping%c SERR%c FastB2B%c DisINTx%c\n",
            FLAG(cmd, 0x1), FLAG(cmd, 0x2), FLAG(cmd, 0x4), FLAG(cmd, 0x8), FLAG(cmd, 0x10),
            FLAG(cmd, 0x20), FLAG(cmd, 0x40), FLAG(cmd, 0x80), FLAG(cmd, 0x100),
            FLAG(cmd, 0x200), FLAG(cmd, 0x400));
        g_string_append_printf(c->o,
            "\tStatus: Cap%c 66MHz%c UDF%c FastB2B%c ParErr%c DEVSEL=%s >TAbort%c <TAbort%c "
            "<MAbort%c >SERR%c <PERR%c INTx%c\n",
            FLAG(status, 0x10), FLAG(status, 0x20), FLAG(status, 0x40), FLAG(status, 0x80),
            FLAG(status, 0x100), devsel(status), FLAG(status, 0x800), FLAG(status, 0x1000),
            FLAG(status, 0x2000), FLAG(status, 0x4000), FLAG(status, 0x8000),
            FLAG(status, 0x8));
        if (cmd & PCI_COMMAND_MASTER) {
            uint8_t lat = c8(d, PCI_LATENCY_TIMER), cls = c8(d, PCI_CACHE_LINE_SIZE);
            g_string_append_printf(c->o, "\tLatency: %d", lat);
            if (min_gnt || max_lat) {
                g_string_append(c->o, " (");
                if (min_gnt)
                    g_string_append_printf(c->o, "%dns min", min_gnt * 250);
                if (min_gnt && max_lat)
                    g_string_append(c->o, ", ");
                if (max_lat)
                    g_string_append_printf(c->o, "%dns max", max_lat * 250);
                g_string_append_c(c->o, ')');
            }
            if (cls)
                g_string_append_printf(c->o, ", Cache Line Size: %d bytes", cls * 4);
            g_string_append_c(c->o, '\n');
        }
    }
    if (c->verbose > 1) {
        if (pin || irq)
            g_string_append_printf(c->o, "\tInterrupt: pin %c routed to IRQ %u\n",
                                   pin ? 'A' + pin - 1 : '?', irq);
        if (group >= 0)
            g_string_append_printf(c->o, "\tIOMMU group: %d\n", group);
    }
    if (!unknown && c->verbose <= 1) {
        g_string_append(c->o, "\tFlags: ");
        if (cmd & PCI_COMMAND_MASTER)
            g_string_append(c->o, "bus master, ");
        if (cmd & 0x20)
            g_string_append(c->o, "VGA palette snoop, ");
        if (cmd & 0x80)
            g_string_append(c->o, "stepping, ");
        if (cmd & 0x200)
            g_string_append(c->o, "fast Back2Back, ");
        if (status & 0x20)
            g_string_append(c->o, "66MHz, ");
        if (status & 0x40)
            g_string_append(c->o, "user-definable features, ");
        g_string_append_printf(c->o, "%s devsel", devsel(status));
        if (cmd & PCI_COMMAND_MASTER)
            g_string_append_printf(c->o, ", latency %d", c8(d, PCI_LATENCY_TIMER));
        if (irq)
            g_string_append_printf(c->o, ", IRQ %u", irq);
        if (group >= 0)
            g_string_append_printf(c->o, ", IOMMU group %d", group);
        g_string_append_c(c->o, '\n');
    }
    if (bist & 0x80) {
        if (bist & 0x40)
            g_string_append(c->o, "\tBIST is running\n");
        else
            g_string_append_printf(c->o, "\tBIST result: %02x\n", bist & 0x0f);
    }
    if (htype == 0) {
        show_bases(c, d, 6);
        show_rom(c, d, PCI_ROM_ADDRESS);
        show_caps(c, d);
    } else if (htype == 1) {
        show_htype1(c, d);
    }
}

/* ---- -t: the bus tree ----------------------------------------------------- */

/*
 * lspci draws the tree into one line buffer: after a line is printed,
 * every character becomes a space except '+' and '|', which become '|',
 * so the next sibling's "+-" or "\-" lands under its parent's branch.
 */
static void tree_print(LsCtx *c, GString *line)
{
    g_string_append(c->o, line->str);
    g_string_append_c(c->o, '\n');
    for (gsize i = 0; i < line->len; i++)
        line->str[i] = (line->str[i] == '+' || line->str[i] == '|') ? '|' : ' ';
}

static void tree_bus(LsCtx *c, GString *line, unsigned bus, int depth);

/*
 * -t -vv: the regions under a device, in ls-tree.c's older wording (raw
 * BAR flags; an address the device does not show is "[virtual] " first).
 */
static void tree_bases(LsCtx *c, const LsDev *d, GString *line, gsize at)
{
    uint16_t cmd = c16(d, PCI_COMMAND);
    for (unsigned i = 0; i < 6; i++) {
        uint64_t len = pcie_fn_bar_size(d->fn, i);
        uint64_t pos = pcie_fn_bar_addr(d->fn, i);
        uint32_t flg = c32(d, PCI_BASE_ADDRESS_0 + 4 * i);
        if (pos == PCIE_BAR_UNMAPPED)
            pos = 0;
        if (flg == 0xffffffff)
            flg = 0;
        if (!pos && !flg && !len)
            continue;
        g_string_truncate(line, at);
        g_string_append(line, "  ");
        bool virt = false;
        if (pos && !(flg & ((flg & 1) ? ~3u : ~0xfu))) {
            g_string_append(line, "[virtual] ");
            flg = (uint32_t)pos;
            virt = true;
        }
        if (flg & 1) {
            g_string_append(line, "I/O ports at ");
            if (pos || (cmd & PCI_COMMAND_IO))
                g_string_append_printf(line, "%04" PRIx64, (uint64_t)(pos & ~(uint64_t)3));
            else
                g_string_append(line, (flg & ~3u) ? "<ignored>" : "<unassigned>");
            if (!virt && !(cmd & PCI_COMMAND_IO))
                g_string_append(line, " [disabled]");
        } else {
            unsigned t = (flg >> 1) & 3;
            uint32_t z = 0;
            g_string_append(line, "Memory at ");
            bool invalid = t == 2 && i >= 5;
            if (t == 2 && !invalid) {
                i++;
                z = c32(d, PCI_BASE_ADDRESS_0 + 4 * i);
            }
            if (invalid) {
                g_string_append(line, "<invalid-64bit-slot>");
            } else if (pos) {
                g_string_append_printf(line, "%08" PRIx64, (uint64_t)(pos & ~(uint64_t)0xf));
            } else {
                g_string_append(line, ((flg & ~0xfu) || z) ? "<ignored>" : "<unassigned>");
            }
            g_string_append_printf(line, " (%s, %sprefetchable)",
                                   t == 0 ? "32-bit" : t == 2 ? "64-bit" : t == 1 ? "low-1M" : "type 3",
                                   (flg & 8) ? "" : "non-");
            if (!virt && !(cmd & PCI_COMMAND_MEMORY))
                g_string_append(line, " [disabled]");
        }
        if (len) {
            static const char suffix[][2] = { "", "K", "M", "G", "T" };
            unsigned k;
            uint64_t x = len;
            for (k = 0; k < G_N_ELEMENTS(suffix) - 1 && !(x % 1024); k++)
                x /= 1024;
            g_string_append_printf(line, " [size=%u%s]", (unsigned)x, suffix[k]);
        }
        tree_print(c, line);
    }
}

static void tree_dev(LsCtx *c, const LsDev *d, GString *line, int depth)
{
    g_string_append_printf(line, "%02x.%x", PCIE_DEV(d->rid), PCIE_FN(d->rid));
    uint8_t ht = c8(d, PCI_HEADER_TYPE) & 0x7f;
    if ((d->class16 >> 8) == 0x06 && ht == 1) {
        unsigned sec = c8(d, PCI_SECONDARY_BUS), sub = c8(d, PCI_SUBORDINATE_BUS);
        if (sec == sub)
            g_string_append_printf(line, "-[%02x]-", sec);
        else
            g_string_append_printf(line, "-[%02x-%02x]-", sec, sub);
        g_string_append_c(line, '-');
        if (sec > PCIE_BUS(d->rid) && depth < 64)
            tree_bus(c, line, sec, depth + 1);
        else
            tree_print(c, line);
        return;
    }
    gsize bases_at = line->len + 2;
    if (c->verbose) {
        g_string_append(line, "  ");
        if (c->numeric)
            g_string_append_printf(line, "%04x:%04x", d->vendor, d->device);
        else
            pcie_lspci_device_name(d->vendor, d->device, line);
    }
    tree_print(c, line);
    if (c->verbose > 1)
        tree_bases(c, d, line, bases_at);
}

static void tree_bus(LsCtx *c, GString *line, unsigned bus, int depth)
{
    GPtrArray *on = g_ptr_array_new();
    for (guint i = 0; i < c->devs->len; i++) {
        LsDev *d = g_ptr_array_index(c->devs, i);
        if (PCIE_BUS(d->rid) == bus)
            g_ptr_array_add(on, d);
    }
    gsize base = line->len;
    if (on->len == 0) {
        tree_print(c, line);
    } else if (on->len == 1) {
        g_string_append(line, "--");
        tree_dev(c, g_ptr_array_index(on, 0), line, depth);
    } else {
        for (guint i = 0; i < on->len; i++) {
            g_string_truncate(line, base);
            g_string_append(line, i + 1 < on->len ? "+-" : "\\-");
            tree_dev(c, g_ptr_array_index(on, i), line, depth);
        }
    }
    g_string_truncate(line, base);
    g_ptr_array_free(on, TRUE);
}

/* ---- entry point ---------------------------------------------------------- */

void pcie_lspci(PcieFabric *f, unsigned flags, GString *out)
{
    LsCtx c = {
        .o = out,
        .verbose = (flags & PCIE_LSPCI_VERY_VERBOSE) ? 2 : (flags & PCIE_LSPCI_VERBOSE) ? 1 : 0,
        .numeric = flags & PCIE_LSPCI_NUMERIC,
        .devs = scan(f),
    };
    if (flags & PCIE_LSPCI_TREE) {
        GString *line = g_string_new("-[0000:00]-");
        tree_bus(&c, line, 0, 0);
        g_string_free(line, TRUE);
    } else {
        for (guint i = 0; i < c.devs->len; i++) {
            const LsDev *d = g_ptr_array_index(c.devs, i);
            if (c.verbose) {
                show_verbose(&c, d);
                g_string_append_c(out, '\n');
            } else {
                show_terse(&c, d);
            }
        }
    }
    g_ptr_array_free(c.devs, TRUE);
}
