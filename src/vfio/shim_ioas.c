/*
 * An IO address space of the VFIO shim: the mappings a type1 container or
 * an iommufd IOAS holds, and the VT-d second-stage domains they are
 * written into.  One piece of code serves both front ends because the
 * kernel's two are the same thing underneath (a set of IOVA -> user-page
 * areas, replicated into every IOMMU domain attached to it); what differs
 * between them - the order of the argument checks, the unmap covering
 * rules, the errno values - stays with the front end (shim.c for the
 * container, shim_iommufd.c for IOAS and the iommufd VFIO compat).
 *
 * A mapping (ShimDma) gets a simulated host physical address from a bump
 * allocator over [SHIM_HPA_BASE, SHIM_HPA_END), and that HPA window is
 * backed by the client's own pages (addr_space_add_host), so device DMA
 * lands in the client's buffer without a copy.  The HPA keeps the IOVA's
 * offset within 1 GiB, so the driver library can use 2 MiB and 1 GiB
 * leaves whenever the range allows, as intel-iommu does - unless the
 * space asks for 4 KiB leaves only (iommufd's TYPE1 v1 compat, or the
 * HUGE_PAGES option cleared), which is what lets a mapping be cut in two
 * without rewriting page tables.  HPA space is never reused.
 *
 * Domains: each entry of ShimIoas.doms is one VtdDom on one unit.  A
 * domain added to a space gets every existing mapping replayed into it (as
 * type1 and iommufd do on attach); a domain removed has every mapping
 * cleared from it (the driver library keeps the domain's tables, so a
 * later reuse starts clean).  Every page-table write and invalidation
 * goes through the driver library, i.e. through the simulated VT-d's
 * registers and invalidation queue.
 *
 * Not modelled: pinning (a mincore() probe stands in for get_user_pages:
 * an unmapped page gives EFAULT; residency and RLIMIT_MEMLOCK are not
 * accounted), sharing of pages between spaces (IOAS_COPY makes a second
 * mapping of the same user pages).
 */
#define _GNU_SOURCE
#include "vfio/shim_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

void shim_ioas_init(ShimIoas *io)
{
    memset(io, 0, sizeof *io);
    io->dmas = g_tree_new(shim_cmp_u64);
    io->doms = g_array_new(FALSE, FALSE, sizeof(ShimIoasDom));
}

void shim_ioas_fini(VfioShim *s, ShimIoas *io)
{
    shim_ioas_unmap_all(s, io);
    g_tree_destroy(io->dmas);
    g_array_free(io->doms, TRUE);
    io->dmas = NULL;
    io->doms = NULL;
}

static gboolean collect_dma(gpointer key, gpointer value, gpointer data)
{
    (void)key;
    g_ptr_array_add(data, value);
    return FALSE;
}

GPtrArray *shim_ioas_list(ShimIoas *io)
{
    GPtrArray *all = g_ptr_array_new();
    g_tree_foreach(io->dmas, collect_dma, all);
    return all;
}

/*
 * The lowest mapping overlapping [iova, last] in O(log n): mappings never
 * overlap each other, so only the last one starting below @iova can reach
 * into the range from the left; otherwise it is the first starting in it.
 */
static GTreeNode *overlap_node(ShimIoas *io, uint64_t iova, uint64_t last)
{
    GTreeNode *n = g_tree_lower_bound(io->dmas, &iova);
    GTreeNode *p = n ? g_tree_node_previous(n) : g_tree_node_last(io->dmas);
    if (p) {
        const ShimDma *d = g_tree_node_value(p);
        if (d->iova + d->size - 1 >= iova) {
            return p;
        }
    }
    if (n && ((const ShimDma *)g_tree_node_value(n))->iova <= last) {
        return n;
    }
    return NULL;
}

ShimDma *shim_ioas_overlap(ShimIoas *io, uint64_t iova, uint64_t last)
{
    GTreeNode *n = overlap_node(io, iova, last);
    return n ? g_tree_node_value(n) : NULL;
}

/*
 * "Pinning": the kernel faults the range in for the access the mapping
 * allows and answers EFAULT when it cannot - unmapped pages, PROT_NONE, or
 * a read-only mapping asked to be writable.  MADV_POPULATE_READ/WRITE
 * (Linux 5.14) do exactly that check and fault the pages in; on older
 * kernels only presence is checked (mincore).
 */
bool shim_range_mapped(uint64_t vaddr, uint64_t size, bool write)
{
#ifndef MADV_POPULATE_READ
#define MADV_POPULATE_READ 22
#define MADV_POPULATE_WRITE 23
#endif
    /* EINVAL means "insufficient permissions" - or an old kernel: find out once which */
    static int supported = -1;
    if (supported < 0) {
        void *probe = mmap(NULL, SHIM_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        supported = probe != MAP_FAILED && madvise(probe, SHIM_PAGE, MADV_POPULATE_WRITE) == 0;
        if (probe != MAP_FAILED) {
            munmap(probe, SHIM_PAGE);
        }
    }
    if (supported) {
        return madvise((void *)(uintptr_t)vaddr, size, write ? MADV_POPULATE_WRITE : MADV_POPULATE_READ) == 0;
    }
    /* mincore fails with ENOMEM when any page of the range is not mapped */
    uint64_t pages = (size + SHIM_PAGE - 1) / SHIM_PAGE;
    unsigned char vec[256];
    for (uint64_t done = 0; done < pages;) {
        uint64_t n = MIN(pages - done, (uint64_t)sizeof vec);
        if (mincore((void *)(uintptr_t)(vaddr + done * SHIM_PAGE), n * SHIM_PAGE, vec) < 0) {
            return false;
        }
        done += n;
    }
    return true;
}

static uint64_t leaf_size(const ShimIoas *io)
{
    return io->small_pages ? SHIM_PAGE : 0;    /* 0: the largest the range and CAP.SLLPS allow */
}

static bool dom_map(ShimIoas *io, const ShimIoasDom *e, const ShimDma *d, GError **err)
{
    return vtd_drv_map(e->unit->drv, e->dom, d->iova, d->hpa, d->size, d->prot, leaf_size(io), err);
}

static void dom_unmap(const ShimIoasDom *e, uint64_t iova, uint64_t size)
{
    g_autoptr(GError) err = NULL;
    if (!vtd_drv_unmap(e->unit->drv, e->dom, iova, size, &err)) {
        /* our own tables: an unmap that fails is a shim bug, but the client must not die of it */
        g_printerr("vtdsim-vfio: unmap of IOVA 0x%" G_GINT64_MODIFIER "x failed: %s\n", iova, err->message);
    }
}

int shim_ioas_map(VfioShim *s, ShimIoas *io, uint64_t iova, uint64_t vaddr, uint64_t size, unsigned prot,
                  const char *who)
{
    g_assert(size && !((iova | vaddr | size) & (SHIM_PAGE - 1)));
    /*
     * A BAR mmap of a VFIO device (type1 follows VM_PFNMAP): peer-to-peer,
     * the IOVA maps to the BAR's own bus address, so a device's DMA there
     * reaches the other device's registers through the fabric.
     */
    uint64_t p2p = 0;
    bool peer = shim_bar_mmap_hpa(s, vaddr, size, &p2p);
    if (!peer && !shim_range_mapped(vaddr, size, (prot & VTD_PROT_WRITE) != 0)) {
        return -EFAULT;
    }
    /* HPA keeps the IOVA's offset within 1 GiB so superpages stay possible */
    const uint64_t gig = 1ull << 30;
    uint64_t hpa = ((s->hpa_next + gig - 1) & ~(gig - 1)) + (iova & (gig - 1));
    if (hpa < s->hpa_next) {
        hpa += gig;
    }
    if (peer) {
        hpa = p2p;
    } else if (hpa + size > SHIM_HPA_END || hpa + size < hpa) {
        g_printerr("vtdsim-vfio: %s: simulated host address window exhausted\n", who);
        return -ENOMEM;
    }
    ShimDma *d = g_new0(ShimDma, 1);
    d->iova = iova;
    d->size = size;
    d->vaddr = vaddr;
    d->hpa = hpa;
    d->prot = prot;
    g_autoptr(GError) err = NULL;
    for (guint i = 0; i < io->doms->len; i++) {
        const ShimIoasDom *e = &g_array_index(io->doms, ShimIoasDom, i);
        if (!dom_map(io, e, d, &err)) {
            g_printerr("vtdsim-vfio: %s: %s\n", who, err->message);
            for (guint k = 0; k < i; k++) {
                dom_unmap(&g_array_index(io->doms, ShimIoasDom, k), iova, size);
            }
            g_free(d);
            return -ENOMEM;
        }
    }
    if (!peer) {
        s->hpa_next = hpa + size;
        d->region = addr_space_add_host(s->p->mem, "vfio-dma", d->hpa, d->size, (void *)(uintptr_t)d->vaddr, 50);
    }
    g_tree_insert(io->dmas, &d->iova, d);
    io->dma_count++;
    return 0;
}

void shim_ioas_unmap(VfioShim *s, ShimIoas *io, ShimDma *d)
{
    for (guint i = 0; i < io->doms->len; i++) {
        dom_unmap(&g_array_index(io->doms, ShimIoasDom, i), d->iova, d->size);
    }
    if (d->region) {
        addr_space_del(s->p->mem, d->region);
    }
    g_tree_remove(io->dmas, &d->iova);
    io->dma_count--;
    g_free(d);
}

uint64_t shim_ioas_unmap_all(VfioShim *s, ShimIoas *io)
{
    uint64_t bytes = 0;
    g_autoptr(GPtrArray) all = shim_ioas_list(io);
    for (guint i = 0; i < all->len; i++) {
        ShimDma *d = g_ptr_array_index(all, i);
        bytes += d->size;
        shim_ioas_unmap(s, io, d);
    }
    return bytes;
}

int shim_ioas_unmap_range(VfioShim *s, ShimIoas *io, uint64_t iova, uint64_t last, int split_err,
                          void (*each)(const ShimDma *d, void *opaque), void *opaque, uint64_t *bytes)
{
    g_autoptr(GPtrArray) victims = g_ptr_array_new();
    /* only the mappings that overlap: O(log n + k), as the kernel's interval tree */
    for (GTreeNode *n = overlap_node(io, iova, last); n; n = g_tree_node_next(n)) {
        ShimDma *d = g_tree_node_value(n);
        uint64_t dlast = d->iova + d->size - 1;
        if (d->iova > last) {
            break;
        }
        if (d->iova >= iova && dlast <= last) {
            g_ptr_array_add(victims, d);
        } else if (split_err) {
            return split_err;    /* nothing is unmapped */
        } else if (d->iova >= iova) {
            g_ptr_array_add(victims, d);    /* type1 v1: covering its first IOVA removes a mapping whole */
        }
    }
    *bytes = 0;
    for (guint i = 0; i < victims->len; i++) {
        ShimDma *d = g_ptr_array_index(victims, i);
        *bytes += d->size;
        if (each) {
            each(d, opaque);
        }
        shim_ioas_unmap(s, io, d);
    }
    return 0;
}

void shim_ioas_split(VfioShim *s, ShimIoas *io, uint64_t at)
{
    g_assert(io->small_pages && !(at & (SHIM_PAGE - 1)));
    ShimDma *d = at ? shim_ioas_overlap(io, at, at) : NULL;
    if (!d || d->iova == at) {
        return;
    }
    /* 4 KiB leaves: the page tables already describe both halves; only the records and windows change */
    uint64_t off = at - d->iova;
    ShimDma *t = g_new0(ShimDma, 1);
    t->iova = at;
    t->size = d->size - off;
    t->vaddr = d->vaddr + off;
    t->hpa = d->hpa + off;
    t->prot = d->prot;
    d->size = off;
    if (d->region) {    /* peer-to-peer mappings have no host window */
        addr_space_del(s->p->mem, d->region);
        d->region = addr_space_add_host(s->p->mem, "vfio-dma", d->hpa, d->size, (void *)(uintptr_t)d->vaddr, 50);
        t->region = addr_space_add_host(s->p->mem, "vfio-dma", t->hpa, t->size, (void *)(uintptr_t)t->vaddr, 50);
    }
    g_tree_insert(io->dmas, &t->iova, t);
    io->dma_count++;
}

VtdDom *shim_ioas_dom(ShimIoas *io, ShimUnit *u)
{
    for (guint i = 0; i < io->doms->len; i++) {
        const ShimIoasDom *e = &g_array_index(io->doms, ShimIoasDom, i);
        if (e->unit == u) {
            return e->dom;
        }
    }
    return NULL;
}

int shim_ioas_add_dom(VfioShim *s, ShimIoas *io, ShimUnit *u, VtdDom *dom)
{
    (void)s;
    ShimIoasDom e = { u, dom };
    g_autoptr(GError) err = NULL;
    /* replay the existing mappings into the new domain, as type1 and iommufd do */
    g_autoptr(GPtrArray) all = shim_ioas_list(io);
    for (guint k = 0; k < all->len; k++) {
        ShimDma *d = g_ptr_array_index(all, k);
        if (!dom_map(io, &e, d, &err)) {
            g_printerr("vtdsim-vfio: replaying a mapping into domain %u: %s\n", vtd_dom_id(dom), err->message);
            for (guint j = 0; j < k; j++) {
                ShimDma *dj = g_ptr_array_index(all, j);
                dom_unmap(&e, dj->iova, dj->size);
            }
            return -ENOMEM;
        }
    }
    g_array_append_val(io->doms, e);
    return 0;
}

void shim_ioas_del_dom(VfioShim *s, ShimIoas *io, VtdDom *dom)
{
    (void)s;
    for (guint i = 0; i < io->doms->len; i++) {
        ShimIoasDom e = g_array_index(io->doms, ShimIoasDom, i);
        if (e.dom == dom) {
            g_autoptr(GPtrArray) all = shim_ioas_list(io);
            for (guint k = 0; k < all->len; k++) {
                ShimDma *d = g_ptr_array_index(all, k);
                dom_unmap(&e, d->iova, d->size);
            }
            g_array_remove_index(io->doms, i);
            return;
        }
    }
}

uint64_t shim_unit_iova_top(ShimUnit *u)
{
    unsigned mgaw = (unsigned)((vtd_drv_cap(u->drv) >> 16) & 0x3f) + 1;   /* CAP.MGAW 21:16 */
    return mgaw >= 64 ? UINT64_MAX : (1ull << mgaw) - 1;
}

uint64_t shim_iova_top(VfioShim *s)
{
    uint64_t top = UINT64_MAX;
    for (guint i = 0; i < s->units->len; i++) {
        top = MIN(top, shim_unit_iova_top(g_ptr_array_index(s->units, i)));
    }
    return top;
}

uint64_t shim_pgsizes(VfioShim *s)
{
    uint64_t sizes = SHIM_PAGE;
    unsigned sllps = 3;
    for (guint i = 0; i < s->units->len; i++) {
        ShimUnit *u = g_ptr_array_index(s->units, i);
        sllps &= (unsigned)((vtd_drv_cap(u->drv) >> 34) & 0xf);            /* CAP.SLLPS 37:34 */
    }
    if (sllps & 1) {
        sizes |= 1ull << 21;
    }
    if (sllps & 2) {
        sizes |= 1ull << 30;
    }
    return sizes;
}
