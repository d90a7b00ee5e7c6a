/*
 * The sysfs/devfs tree of src/vfio/sysfs.c: what VFIO programs read by
 * path.  Each test builds the tree of a platform into a fresh temporary
 * directory and checks file contents against the simulated fabric, the
 * symlinks both as readlink shows them and where realpath lands, the
 * IOMMU group directories and /dev/vfio nodes, the cdev numbering, and
 * sriov_numvfs writes (VFs appear in the fabric and the tree, keep their
 * group numbers across disable/enable, and bad counts fail the way the
 * kernel fails them), and the intel-iommu debugfs snapshot files.
 */
#include "config.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <glib.h>
#include "tests/check_util.h"
#include "vtdsim/platform.h"
#include "platform/platform.h"
#include "models/vtd/vtd.h"
#include "vfio/sysfs.h"
#include "explain/dump.h"

typedef struct Fix {
    EmuSim *sim;
    char *root;
} Fix;

static void fix_open(Fix *f, const char *platform)
{
    GError *err = NULL;
    f->sim = vtdsim_platform_new(platform, &err);
    ck_assert_msg(f->sim, "%s", err ? err->message : "?");
    f->root = g_dir_make_tmp("check-vfio-sysfs-XXXXXX", &err);
    ck_assert_msg(f->root, "%s", err ? err->message : "?");
    ck_assert_msg(vfio_sysfs_build(f->sim, f->root, &err), "%s", err ? err->message : "?");
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    return flag == FTW_DP ? rmdir(path) : unlink(path);
}

static void fix_close(Fix *f)
{
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    g_free(f->root);
    emu_sim_free(f->sim);
}

static char *path_of(const Fix *f, const char *rel)
{
    return g_build_filename(f->root, rel, NULL);
}

/* Contents of ROOT/@rel (must exist); caller frees. */
static char *slurp(const Fix *f, const char *rel, gsize *len)
{
    g_autofree char *p = path_of(f, rel);
    char *s = NULL;
    GError *err = NULL;
    ck_assert_msg(g_file_get_contents(p, &s, len, &err), "%s", err ? err->message : "?");
    return s;
}

static void assert_file(const Fix *f, const char *rel, const char *want)
{
    g_autofree char *s = slurp(f, rel, NULL);
    ck_assert_msg(!strcmp(s, want), "%s: '%s', expected '%s'", rel, s, want);
}

static char *link_of(const Fix *f, const char *rel)
{
    g_autofree char *p = path_of(f, rel);
    char buf[PATH_MAX];
    ssize_t n = readlink(p, buf, sizeof buf - 1);
    ck_assert_msg(n > 0, "readlink %s: %s", rel, g_strerror(errno));
    buf[n] = '\0';
    return g_strdup(buf);
}

static char *real_of(const Fix *f, const char *rel)
{
    g_autofree char *p = path_of(f, rel);
    char *r = realpath(p, NULL);
    ck_assert_msg(r, "realpath %s: %s", rel, g_strerror(errno));
    return r;
}

/* The link @rel resolves to the directory ROOT/@target_rel. */
static void assert_resolves(const Fix *f, const char *rel, const char *target_rel)
{
    g_autofree char *a = real_of(f, rel);
    g_autofree char *b = real_of(f, target_rel);
    ck_assert_msg(!strcmp(a, b), "%s resolves to %s, expected %s", rel, a, b);
}

static bool exists(const Fix *f, const char *rel)
{
    g_autofree char *p = path_of(f, rel);
    struct stat st;
    return lstat(p, &st) == 0;
}

static void assert_node(const Fix *f, const char *rel)
{
    g_autofree char *p = path_of(f, rel);
    struct stat st;
    ck_assert_msg(lstat(p, &st) == 0, "%s missing", rel);
    if (S_ISCHR(st.st_mode)) {
        ck_assert_uint_eq(major(st.st_rdev), 1);
        ck_assert_uint_eq(minor(st.st_rdev), 3);
    } else {
        ck_assert_msg(S_ISREG(st.st_mode) && st.st_size == 0, "%s: not a node or empty file", rel);
    }
}

/* Checks the resource file of @fn line by line against the fabric. */
static void assert_resource(const Fix *f, PcieFn *fn, unsigned want_lines)
{
    g_autofree char *name = vfio_sysfs_bdf_name(fn);
    g_autofree char *rel = g_strdup_printf("sys/bus/pci/devices/%s/resource", name);
    g_autofree char *s = slurp(f, rel, NULL);
    g_auto(GStrv) lines = g_strsplit(s, "\n", -1);
    ck_assert_uint_eq(g_strv_length(lines), want_lines + 1);   /* trailing newline */
    ck_assert_str_eq(lines[want_lines], "");
    for (unsigned i = 0; i < 6; i++) {
        unsigned long long start, end, flags;
        ck_assert_int_eq(strlen(lines[i]), 3 * 18 + 2);
        ck_assert_int_eq(sscanf(lines[i], "0x%llx 0x%llx 0x%llx", &start, &end, &flags), 3);
        uint64_t size = pcie_fn_bar_size(fn, i);
        if (!size) {
            continue;   /* the upper half of a 64-bit BAR, or no BAR */
        }
        uint64_t addr = pcie_fn_bar_addr(fn, i);
        if (addr == PCIE_BAR_UNMAPPED) {
            /* not decoding (no firmware ran): the BAR register's address */
            addr = pcie_fn_get(fn, PCI_BASE_ADDRESS_0 + 4 * i, 4) & ~0xfull;
        }
        ck_assert_uint_eq(start, addr);
        ck_assert_uint_eq(end, addr + size - 1);
        ck_assert(flags & 0x200);   /* IORESOURCE_MEM */
    }
}

static PcieFn *find(const Fix *f, const char *bdf)
{
    PcieFn *fn = vfio_sysfs_find(f->sim, bdf);
    ck_assert_msg(fn, "no function %s", bdf);
    return fn;
}

#define EDU "sys/bus/pci/devices/0000:00:01.0"

/* ---- q35 ---------------------------------------------------------------- */

START_TEST(q35_identity_files)
{
    Fix f;
    fix_open(&f, NULL);
    PcieFn *edu = find(&f, "0000:00:01.0");
    assert_file(&f, EDU "/vendor", "0x1234\n");
    assert_file(&f, EDU "/device", "0x11e8\n");
    assert_file(&f, EDU "/class", "0x00ff00\n");
    assert_file(&f, EDU "/numa_node", "-1\n");
    assert_file(&f, EDU "/driver_override", "(null)\n");
    g_autofree char *rev = g_strdup_printf("0x%02x\n", pcie_fn_get(edu, PCI_REVISION_ID, 1));
    assert_file(&f, EDU "/revision", rev);
    gsize len;
    g_autofree char *cfg = slurp(&f, EDU "/config", &len);
    ck_assert_uint_eq(len, 4096);
    ck_assert(memcmp(cfg, pcie_fn_config(edu), 4096) == 0);
    assert_resource(&f, edu, 13);
    /* the host bridge: present, no driver, no cdev */
    ck_assert(exists(&f, "sys/bus/pci/devices/0000:00:00.0/vendor"));
    ck_assert(!exists(&f, "sys/bus/pci/devices/0000:00:00.0/driver"));
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, find(&f, "00:00.0")), -1);
    fix_close(&f);
}
END_TEST

START_TEST(q35_links_resolve)
{
    Fix f;
    fix_open(&f, NULL);
    PcieFn *edu = find(&f, "00:01.0");
    int g = pcie_fn_group(edu);
    ck_assert_int_ge(g, 0);
    const char *d = "sys/bus/pci/devices/0000:00:01.0";
    g_autofree char *dlink = link_of(&f, d);
    ck_assert_str_eq(dlink, "../../../devices/pci0000:00/0000:00:01.0");
    assert_resolves(&f, d, "sys/devices/pci0000:00/0000:00:01.0");
    g_autofree char *gl = g_strdup_printf("%s/iommu_group", d);
    g_autofree char *gwant = g_strdup_printf("../../../kernel/iommu_groups/%d", g);
    g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
    g_autofree char *glink = link_of(&f, gl);
    ck_assert_str_eq(glink, gwant);
    assert_resolves(&f, gl, gdir);
    g_autofree char *greal = real_of(&f, gl);
    g_autofree char *gbase = g_path_get_basename(greal);
    ck_assert_int_eq(atoi(gbase), g);
    g_autofree char *dl = g_strdup_printf("%s/driver", d);
    assert_resolves(&f, dl, "sys/bus/pci/drivers/vfio-pci");
    g_autofree char *dreal = real_of(&f, dl);
    g_autofree char *dbase = g_path_get_basename(dreal);
    ck_assert_str_eq(dbase, "vfio-pci");
    g_autofree char *sl = g_strdup_printf("%s/subsystem", d);
    assert_resolves(&f, sl, "sys/bus/pci");
    g_autofree char *back = g_strdup_printf("%s/devices/0000:00:01.0", gdir);
    assert_resolves(&f, back, "sys/devices/pci0000:00/0000:00:01.0");
    g_autofree char *type = g_strdup_printf("%s/type", gdir);
    assert_file(&f, type, "DMA\n");
    /* IOMMU: the unit's CAP/ECAP in Linux's format */
    g_autofree char *il = g_strdup_printf("%s/iommu", d);
    assert_resolves(&f, il, "sys/class/iommu/dmar0");
    Platform *p = platform_get(f.sim);
    PlatformVtd *v = g_ptr_array_index(p->vtd, 0);
    g_autofree char *cap = g_strdup_printf("%llx\n",
                                           (unsigned long long)vtd_unit_reg_peek(v->unit, 8, 8));
    g_autofree char *ecap = g_strdup_printf("%llx\n",
                                            (unsigned long long)vtd_unit_reg_peek(v->unit, 16, 8));
    g_autofree char *capf = g_strdup_printf("%s/iommu/intel-iommu/cap", d);
    assert_file(&f, capf, cap);
    assert_file(&f, "sys/class/iommu/dmar0/intel-iommu/ecap", ecap);
    assert_file(&f, "sys/class/iommu/dmar0/intel-iommu/address", "fed90000\n");
    /* VFIO: cdev 0, nodes, modules */
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, edu), 0);
    g_autofree char *vd = g_strdup_printf("%s/vfio-dev/vfio0/dev", d);
    assert_file(&f, vd, "1:3\n");
    assert_node(&f, "dev/vfio/vfio");
    assert_node(&f, "dev/iommu");
    assert_node(&f, "dev/vfio/devices/vfio0");
    g_autofree char *gn = g_strdup_printf("dev/vfio/%d", g);
    assert_node(&f, gn);
    assert_file(&f, "sys/module/vfio/parameters/enable_unsafe_noiommu_mode", "N\n");
    assert_file(&f, "sys/module/vfio_iommu_type1/parameters/dma_entry_limit", "65535\n");
    ck_assert(exists(&f, "sys/module/vfio_pci"));
    ck_assert(exists(&f, "sys/bus/pci/drivers/vfio-pci/bind"));
    ck_assert(exists(&f, "sys/bus/pci/drivers/vfio-pci/unbind"));
    ck_assert(exists(&f, "sys/bus/pci/drivers/vfio-pci/new_id"));
    ck_assert(exists(&f, "sys/bus/pci/drivers/vfio-pci/remove_id"));
    fix_close(&f);
}
END_TEST

START_TEST(find_and_names)
{
    Fix f;
    fix_open(&f, NULL);
    PcieFn *edu = find(&f, "0000:00:01.0");
    ck_assert_ptr_eq(vfio_sysfs_find(f.sim, "00:01.0"), edu);
    ck_assert_ptr_eq(vfio_sysfs_find(f.sim, "0000:00:01.0"), edu);
    g_autofree char *n = vfio_sysfs_bdf_name(edu);
    ck_assert_str_eq(n, "0000:00:01.0");
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, "0001:00:01.0"));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, "00:01.8"));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, "00:20.0"));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, "00:1f.7"));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, "0:1.0"));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, ""));
    ck_assert_ptr_null(vfio_sysfs_find(f.sim, NULL));
    fix_close(&f);
}
END_TEST

START_TEST(debugfs_files)
{
    Fix f;
    fix_open(&f, NULL);
    GString *want = g_string_new(NULL);
    GError *err = NULL;
    ck_assert(explain_dump_file(f.sim, "iommu_regset", want, &err));
    assert_file(&f, "sys/kernel/debug/iommu/intel/iommu_regset", want->str);
    ck_assert(exists(&f, "sys/kernel/debug/iommu/intel/dmar_translation_struct"));
    ck_assert(exists(&f, "sys/kernel/debug/iommu/intel/invalidation_queue"));
    ck_assert(exists(&f, "sys/kernel/debug/iommu/intel/ir_translation_struct"));
    /* a stale per-device file goes away on refresh */
    g_autofree char *stale = path_of(&f, "sys/kernel/debug/iommu/intel/0000:00:01.0/domain_translation_struct");
    g_autofree char *stale_dir = g_path_get_dirname(stale);
    ck_assert_int_eq(g_mkdir_with_parents(stale_dir, 0755), 0);
    ck_assert(g_file_set_contents(stale, "x", 1, NULL));
    ck_assert_msg(vfio_sysfs_refresh_debugfs(f.sim, f.root, &err), "%s", err ? err->message : "?");
    ck_assert(!exists(&f, "sys/kernel/debug/iommu/intel/0000:00:01.0"));
    assert_file(&f, "sys/kernel/debug/iommu/intel/iommu_regset", want->str);
    g_string_free(want, TRUE);
    fix_close(&f);
}
END_TEST

START_TEST(build_error_names_path)
{
    GError *err = NULL;
    EmuSim *sim = vtdsim_platform_new(NULL, &err);
    ck_assert(sim);
    ck_assert(!vfio_sysfs_build(sim, "/proc/no-such-dir/tree", &err));
    ck_assert(g_error_matches(err, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_IO));
    ck_assert_msg(strstr(err->message, "/proc/no-such-dir/tree"), "%s", err->message);
    ck_assert_int_eq(vfio_sysfs_error_errno(err), EIO);
    g_error_free(err);
    emu_sim_free(sim);
}
END_TEST

/* ---- sriov-nic ------------------------------------------------------------ */

#define SRIOV_PLATFORM TEST_SRC_PATH("traces/platforms/sriov-nic.platform")
#define NIC "sys/bus/pci/devices/0000:03:00.0"

START_TEST(sriov_tree)
{
    Fix f;
    fix_open(&f, SRIOV_PLATFORM);
    PcieFn *nic = find(&f, "03:00.0");
    PcieFn *accel = find(&f, "00:04.0");
    assert_file(&f, NIC "/vendor", "0x8086\n");
    assert_file(&f, NIC "/device", "0x1572\n");
    assert_file(&f, NIC "/class", "0x020000\n");
    assert_file(&f, NIC "/sriov_totalvfs", "8\n");
    assert_file(&f, NIC "/sriov_numvfs", "0\n");
    assert_file(&f, NIC "/sriov_offset", "16\n");
    assert_file(&f, NIC "/sriov_stride", "1\n");
    assert_file(&f, NIC "/sriov_vf_device", "154c\n");
    assert_file(&f, NIC "/sriov_drivers_autoprobe", "1\n");
    assert_resource(&f, nic, 13);
    /* a 64-bit prefetchable BAR has Linux's flags; line 7 is the VF BAR 0 for 8 VFs */
    g_autofree char *res = slurp(&f, NIC "/resource", NULL);
    g_auto(GStrv) lines = g_strsplit(res, "\n", -1);
    ck_assert(g_str_has_suffix(lines[0], " 0x000000000014220c"));
    ck_assert_str_eq(lines[1], "0x0000000000000000 0x0000000000000000 0x0000000000000000");
    unsigned long long s, e, fl;
    ck_assert_int_eq(sscanf(lines[7], "0x%llx 0x%llx 0x%llx", &s, &e, &fl), 3);
    ck_assert_uint_eq(e - s + 1, 8 * 64 * 1024);
    ck_assert_uint_eq(fl, 0x14220c);
    /* nested below its bridges as Linux nests it */
    assert_resolves(&f, NIC, "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/0000:02:00.0/0000:03:00.0");
    g_autofree char *gl = link_of(&f, NIC "/iommu_group");
    g_autofree char *gwant = g_strdup_printf("../../../../../../kernel/iommu_groups/%d", pcie_fn_group(nic));
    ck_assert_str_eq(gl, gwant);
    g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", pcie_fn_group(nic));
    assert_resolves(&f, NIC "/iommu_group", gdir);
    assert_resolves(&f, "sys/bus/pci/devices/0000:00:1c.0/driver", "sys/bus/pci/drivers/pcieport");
    /* the accelerator is behind the first unit, the NIC behind the second */
    assert_resolves(&f, "sys/bus/pci/devices/0000:00:04.0/iommu", "sys/class/iommu/dmar0");
    assert_resolves(&f, NIC "/iommu", "sys/class/iommu/dmar1");
    assert_file(&f, "sys/class/iommu/dmar1/intel-iommu/address", "fed90000\n");
    /* cdev numbering: endpoints in RID order, then reserved VF numbers */
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, accel), 0);
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, nic), 1);
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, find(&f, "00:1c.0")), -1);
    assert_file(&f, NIC "/vfio-dev/vfio1/dev", "1:3\n");
    /* groups of bridges have no /dev/vfio node; endpoints' do */
    g_autofree char *gn = g_strdup_printf("dev/vfio/%d", pcie_fn_group(nic));
    assert_node(&f, gn);
    g_autofree char *bn = g_strdup_printf("dev/vfio/%d", pcie_fn_group(find(&f, "00:1c.0")));
    ck_assert(!exists(&f, bn));
    fix_close(&f);
}
END_TEST

static void collect(PcieFn *fn, void *opaque)
{
    g_ptr_array_add(opaque, fn);
}

START_TEST(sriov_numvfs_cycle)
{
    Fix f;
    fix_open(&f, SRIOV_PLATFORM);
    PcieFn *nic = find(&f, "03:00.0");
    Platform *p = platform_get(f.sim);
    g_autoptr(GPtrArray) fns = g_ptr_array_new();
    pcie_fabric_foreach(p->fabric, collect, fns);
    int before[16];
    ck_assert_uint_le(fns->len, 16);
    for (guint i = 0; i < fns->len; i++) {
        before[i] = pcie_fn_group(g_ptr_array_index(fns, i));
    }
    int ngroups = 0;
    for (guint i = 0; i < fns->len; i++) {
        ngroups = MAX(ngroups, before[i] + 1);
    }

    GError *err = NULL;
    int vfgroup[2] = { -1, -1 };
    for (int round = 0; round < 2; round++) {
        ck_assert_msg(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 2, &err), "%s",
                      err ? err->message : "?");
        ck_assert_uint_eq(pcie_fn_num_vfs(nic), 2);
        assert_file(&f, NIC "/sriov_numvfs", "2\n");
        for (guint i = 0; i < fns->len; i++) {
            ck_assert_int_eq(pcie_fn_group(g_ptr_array_index(fns, i)), before[i]);
        }
        for (unsigned n = 0; n < 2; n++) {
            /* First VF Offset 16, stride 1 (ARI) from 03:00.0 */
            g_autofree char *bdf = g_strdup_printf("0000:03:02.%u", n);
            PcieFn *vf = vfio_sysfs_find(f.sim, bdf);
            ck_assert_ptr_eq(vf, pcie_fn_vf(nic, n));
            ck_assert_uint_eq(pcie_fn_rid(vf), 0x0310 + n);
            g_autofree char *d = g_strdup_printf("sys/bus/pci/devices/%s", bdf);
            g_autofree char *real = g_strdup_printf(
                "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/0000:02:00.0/%s", bdf);
            assert_resolves(&f, d, real);
            g_autofree char *pl = g_strdup_printf("%s/physfn", d);
            assert_resolves(&f, pl, NIC);
            g_autofree char *vl = g_strdup_printf(NIC "/virtfn%u", n);
            assert_resolves(&f, vl, real);
            g_autofree char *vend = g_strdup_printf("%s/vendor", d);
            assert_file(&f, vend, "0x8086\n");
            g_autofree char *dev = g_strdup_printf("%s/device", d);
            assert_file(&f, dev, "0x154c\n");
            assert_resource(&f, vf, 13);
            /* ACS everywhere: each VF its own new group, numbered after the old ones */
            int g = pcie_fn_group(vf);
            ck_assert_int_eq(g, ngroups + (int)n);
            if (round) {
                ck_assert_int_eq(g, vfgroup[n]);
            }
            vfgroup[n] = g;
            g_autofree char *gl = g_strdup_printf("%s/iommu_group", d);
            g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
            assert_resolves(&f, gl, gdir);
            g_autofree char *gdev = g_strdup_printf("%s/devices/%s", gdir, bdf);
            assert_resolves(&f, gdev, real);
            g_autofree char *gn = g_strdup_printf("dev/vfio/%d", g);
            assert_node(&f, gn);
            int k = vfio_sysfs_cdev_index(f.sim, vf);
            ck_assert_int_eq(k, 2 + (int)n);
            g_autofree char *vd = g_strdup_printf("%s/vfio-dev/vfio%d/dev", d, k);
            assert_file(&f, vd, "1:3\n");
            g_autofree char *cn = g_strdup_printf("dev/vfio/devices/vfio%d", k);
            assert_node(&f, cn);
            assert_resolves(&f, gl, gdir);
        }

        /* the kernel's rules: same count is a no-op, another count needs 0 first, > total fails */
        ck_assert(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 2, &err));
        ck_assert(!vfio_sysfs_set_numvfs(f.sim, f.root, nic, 3, &err));
        ck_assert(g_error_matches(err, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_BUSY));
        ck_assert_int_eq(vfio_sysfs_error_errno(err), EBUSY);
        ck_assert_msg(strstr(err->message, "0000:03:00.0/sriov_numvfs"), "%s", err->message);
        g_clear_error(&err);
        ck_assert_uint_eq(pcie_fn_num_vfs(nic), 2);
        assert_file(&f, NIC "/sriov_numvfs", "2\n");

        ck_assert_msg(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 0, &err), "%s",
                      err ? err->message : "?");
        ck_assert_uint_eq(pcie_fn_num_vfs(nic), 0);
        ck_assert_ptr_null(vfio_sysfs_find(f.sim, "03:02.0"));
        assert_file(&f, NIC "/sriov_numvfs", "0\n");
        for (unsigned n = 0; n < 2; n++) {
            g_autofree char *d = g_strdup_printf("sys/bus/pci/devices/0000:03:02.%u", n);
            g_autofree char *real = g_strdup_printf(
                "sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/0000:02:00.0/0000:03:02.%u", n);
            g_autofree char *vl = g_strdup_printf(NIC "/virtfn%u", n);
            g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", vfgroup[n]);
            g_autofree char *gn = g_strdup_printf("dev/vfio/%d", vfgroup[n]);
            g_autofree char *cn = g_strdup_printf("dev/vfio/devices/vfio%u", 2 + n);
            ck_assert(!exists(&f, d));
            ck_assert(!exists(&f, real));
            ck_assert(!exists(&f, vl));
            ck_assert(!exists(&f, gdir));
            ck_assert(!exists(&f, gn));
            ck_assert(!exists(&f, cn));
        }
        for (guint i = 0; i < fns->len; i++) {
            ck_assert_int_eq(pcie_fn_group(g_ptr_array_index(fns, i)), before[i]);
        }
    }
    fix_close(&f);
}
END_TEST

START_TEST(sriov_numvfs_errors)
{
    Fix f;
    fix_open(&f, SRIOV_PLATFORM);
    PcieFn *nic = find(&f, "03:00.0");
    GError *err = NULL;
    ck_assert(!vfio_sysfs_set_numvfs(f.sim, f.root, nic, 9, &err));
    ck_assert(g_error_matches(err, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_RANGE));
    ck_assert_int_eq(vfio_sysfs_error_errno(err), ERANGE);
    ck_assert_msg(strstr(err->message, "sriov_numvfs"), "%s", err->message);
    g_clear_error(&err);
    ck_assert_uint_eq(pcie_fn_num_vfs(nic), 0);
    assert_file(&f, NIC "/sriov_numvfs", "0\n");
    /* 0 when none are enabled: nothing to do */
    ck_assert(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 0, &err));
    /* all eight: the cdev numbers run up to the reserved range's end */
    ck_assert(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 8, &err));
    ck_assert_int_eq(vfio_sysfs_cdev_index(f.sim, pcie_fn_vf(nic, 7)), 9);
    ck_assert(exists(&f, "dev/vfio/devices/vfio9"));
    /* a function without SR-IOV */
    ck_assert(!vfio_sysfs_set_numvfs(f.sim, f.root, find(&f, "00:04.0"), 1, &err));
    ck_assert(g_error_matches(err, VFIO_SYSFS_ERROR, VFIO_SYSFS_ERROR_INVALID));
    ck_assert_int_eq(vfio_sysfs_error_errno(err), EINVAL);
    g_clear_error(&err);
    fix_close(&f);
}
END_TEST

START_TEST(sriov_numvfs_shared_group)
{
    /* no ACS above the NIC: its VFs join the group of the ports and the PF */
    Fix f;
    fix_open(&f, TEST_SRC_PATH("tests/platforms/sriov-noacs.platform"));
    PcieFn *nic = find(&f, "03:00.0");
    int g = pcie_fn_group(nic);
    ck_assert_int_eq(pcie_fn_group(find(&f, "00:1c.0")), g);
    GError *err = NULL;
    ck_assert_msg(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 3, &err), "%s", err ? err->message : "?");
    g_autofree char *gdir = g_strdup_printf("sys/kernel/iommu_groups/%d", g);
    g_autofree char *gn = g_strdup_printf("dev/vfio/%d", g);
    for (unsigned n = 0; n < 3; n++) {
        ck_assert_int_eq(pcie_fn_group(pcie_fn_vf(nic, n)), g);
        g_autofree char *gl = g_strdup_printf("sys/bus/pci/devices/0000:03:02.%u/iommu_group", n);
        assert_resolves(&f, gl, gdir);
    }
    g_autofree char *extra = g_strdup_printf("sys/kernel/iommu_groups/%d", g + 3);
    ck_assert(!exists(&f, extra));
    ck_assert(vfio_sysfs_set_numvfs(f.sim, f.root, nic, 0, &err));
    ck_assert_int_eq(pcie_fn_group(nic), g);
    ck_assert(exists(&f, gdir));
    assert_node(&f, gn);
    ck_assert(!exists(&f, "sys/bus/pci/devices/0000:03:02.0"));
    g_autofree char *vfl = g_strdup_printf("%s/devices/0000:03:02.0", gdir);
    ck_assert(!exists(&f, vfl));
    fix_close(&f);
}
END_TEST

static Suite *suite_vfio_sysfs(void)
{
    Suite *s = suite_create("vfio_sysfs");
    TCase *tc = tcase_create("q35");
    tcase_add_test(tc, q35_identity_files);
    tcase_add_test(tc, q35_links_resolve);
    tcase_add_test(tc, find_and_names);
    tcase_add_test(tc, debugfs_files);
    tcase_add_test(tc, build_error_names_path);
    suite_add_tcase(s, tc);
    tc = tcase_create("sriov");
    tcase_add_test(tc, sriov_tree);
    tcase_add_test(tc, sriov_numvfs_cycle);
    tcase_add_test(tc, sriov_numvfs_errors);
    tcase_add_test(tc, sriov_numvfs_shared_group);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_vfio_sysfs)
