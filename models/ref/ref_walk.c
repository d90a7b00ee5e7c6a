/*
 * Reference VT-d translation (see ref_walk.h): uncached, read everything,
 * check in specification order.  Deliberately written as plain sequential
 * code with early returns so that it can be read against the
 * specification line by line.  Interpretations are the same as the
 * engine's (listed at the top of vtd_xlate.c); the code is not.
 */
#include "models/ref/ref_walk.h"

#include <string.h>

#include "models/vtd/vtd_entries.h"
#include "models/vtd/vtd_regs.h"

typedef struct R {
    AddrSpace *mem;
    const VtdXlateConfig *cfg;
    const VtdXlateRequest *req;
    VtdXlateResult *res;
    unsigned bugs;
    unsigned haw;
    bool sm, fpd, ats, wr, priv, ex;
    uint16_t did;
    VtdPasidEntry pe;
} R;


static uint64_t above_haw(const R *r)
{
    unsigned lo = r->haw < 12 ? 12 : r->haw;
    return lo >= 52 ? 0 : (((1ull << 52) - 1) & ~((1ull << lo) - 1));
}

static bool load(R *r, uint64_t a, uint64_t *v)
{
    r->res->mem_reads++;
    return !(a & 7) && addr_space_read(r->mem, a, 8, v) == MEMTX_OK;
}

static bool store(R *r, uint64_t a, uint64_t v)
{
    r->res->mem_writes++;
    return addr_space_write(r->mem, a, 8, v) == MEMTX_OK;
}

static bool hits_intr(uint64_t a, uint64_t n)
{
    uint64_t last = n ? a + n - 1 : a;
    if (last < a)
        last = ~0ull;
    return !(last < 0xFEE00000ull || a > 0xFEEFFFFFull);
}

static VtdXlateStatus flt(R *r, unsigned fr, VtdFaultStruct where)
{
    static const uint8_t never_qualified[] = {0x1, 0x2, 0x8, 0x9, 0xA, 0xB, 0x30, 0x31, 0x32,
                                              0x38, 0x39, 0x3A, 0x40, 0x41, 0x42};
    bool q = true;
    for (unsigned i = 0; i < sizeof(never_qualified); i++)
        if (never_qualified[i] == fr)
            q = false;
    r->res->status = VTD_XLATE_FAULT;
    r->res->fault_reason = (uint8_t)fr;
    r->res->fault_qualified = q;
    r->res->fault_fpd = r->fpd;
    r->res->fault_record = !(q && r->fpd);
    r->res->fault_struct = where;
    r->res->fault_addr = r->req->addr & ~0xfffull;
    return VTD_XLATE_FAULT;
}

static VtdXlateStatus done(R *r, uint64_t out, unsigned level, unsigned perm, unsigned pgtt,
                           bool snoop)
{
    VtdXlateResult *s = r->res;
    s->status = VTD_XLATE_OK;
    s->out_addr = out;
    s->page_size = 1ull << (12 + 9 * (level - 1));
    s->perm = r->req->ats_nw ? perm & ~(unsigned)VTD_PERM_W : perm;
    s->did = r->did;
    s->pgtt = pgtt;
    s->snoop = snoop;
    return VTD_XLATE_OK;
}

/* ---- second stage ---------------------------------------------------- */

typedef struct SsRes {
    int rc;               /* 0, fault reason, or -1 = entry not present */
    uint64_t out;
    unsigned level, perm;
    bool snp, ipat;
    uint8_t emt;
    uint64_t ent_addr[5], ent[5];
    unsigned n;
} SsRes;

static SsRes ss(R *r, uint64_t root, unsigned levels, uint64_t in)
{
    SsRes o;
    memset(&o, 0, sizeof(o));
    uint64_t table = root;
    unsigned perm = 7;
    for (unsigned lvl = levels; lvl >= 1; lvl--) {
        uint64_t a = table + ((in >> (12 + 9 * (lvl - 1))) & 0x1ff) * 8, e;
        if (!load(r, a, &e)) {
            o.rc = !r->sm ? 0x7 : lvl == levels ? 0x7B : 0x78;
            return o;
        }
        if (r->bugs & REF_BUG_IGNORE_SS_W)
            e |= 2;
        VtdSsPte p = {{e}};
        if (!vtd_sspte_R(&p) && !vtd_sspte_W(&p)) {
            o.rc = -1;
            return o;
        }
        bool ps = vtd_sspte_PS(&p);
        bool leaf = lvl == 1 || (ps && lvl <= 3);
        uint64_t bad = e & above_haw(r);
        if (lvl >= 4 && ps)
            bad = 1;
        if (leaf) {
            uint64_t sllps = vtd_cap_SLLPS(r->cfg->cap);
            if (lvl == 2 && (!(sllps & 1) || (e & 0x1ff000ull)))
                bad = 1;
            if (lvl == 3 && (!(sllps & 2) || (e & 0x3ffff000ull)))
                bad = 1;
            if (vtd_sspte_SNP(&p) && !vtd_ecap_SC(r->cfg->ecap))
                bad = 1;
            if (vtd_sspte_TM(&p))
                bad = 1;
        }
        if (bad) {
            o.rc = r->sm ? 0x7A : 0xC;
            return o;
        }
        perm &= (unsigned)(vtd_sspte_R(&p) | vtd_sspte_W(&p) << 1 | vtd_sspte_X(&p) << 2);
        o.ent_addr[o.n] = a;
        o.ent[o.n++] = e;
        if (leaf) {
            uint64_t span = 1ull << (12 + 9 * (lvl - 1));
            o.out = ((vtd_sspte_ADDR(&p) << 12) & ~(span - 1)) + (in & (span - 1));
            o.level = lvl;
            o.perm = perm;
            o.snp = vtd_ecap_SC(r->cfg->ecap) && vtd_sspte_SNP(&p);
            o.emt = (uint8_t)vtd_sspte_EMT(&p);
            o.ipat = vtd_sspte_IPAT(&p);
            return o;
        }
        table = vtd_sspte_ADDR(&p) << 12;
    }
    g_assert_not_reached();
}

static uint64_t with_ad(uint64_t e, bool d)
{
    VtdSsPte p = {{e}};
    vtd_sspte_set_A(&p, 1);
    if (d)
        vtd_sspte_set_D(&p, 1);
    return p.val[0];
}

static int ss_set_ad(R *r, const SsRes *s, bool dirty)
{
    for (unsigned i = 0; i < s->n; i++) {
        bool d = dirty && i == s->n - 1;
        uint64_t want = with_ad(s->ent[i], d);
        if (r->bugs & REF_BUG_IGNORE_SS_W) {
            uint64_t cur;
            load(r, s->ent_addr[i], &cur);
            want = with_ad(cur, d);
            if (want == cur)
                continue;
        } else if (want == s->ent[i]) {
            continue;
        }
        if (!store(r, s->ent_addr[i], want))
            return r->sm ? 0x78 : 0x7;
    }
    return 0;
}

static unsigned ss_width(R *r, unsigned levels)
{
    unsigned w = 30 + 9 * (levels - 2), m = (unsigned)vtd_cap_MGAW(r->cfg->cap) + 1;
    return m < w ? m : w;
}

/* ---- the request paths ---------------------------------------------- */

static unsigned ss_grant(R *r, unsigned ss)
{
    if (!(ss & 3))
        return 0;
    if (!r->sm)
        ss &= 3;
    return ss;
}

static VtdXlateStatus ats_empty(R *r, unsigned pgtt)
{
    done(r, 0, 1, 0, pgtt, false);
    return VTD_XLATE_OK;
}

static VtdXlateStatus second_stage_only(R *r, uint64_t root, unsigned levels)
{
    const VtdXlateRequest *q = r->req;
    SsRes s = ss(r, root, levels, q->addr);
    if (s.rc == -1) {
        if (r->ats)
            return ats_empty(r, 2);
        return flt(r, r->sm ? 0x79 : (r->wr ? 0x5 : 0x6), VTD_FSTRUCT_SS_PTE);
    }
    if (s.rc)
        return flt(r, (unsigned)s.rc, VTD_FSTRUCT_SS_PTE);
    unsigned g = ss_grant(r, s.perm);
    if (!r->ats) {
        if (!r->sm) {
            if (r->wr && !(s.perm & 2))
                return flt(r, 0x5, VTD_FSTRUCT_SS_PTE);
            if (!r->wr && !(s.perm & 1))
                return flt(r, 0x6, VTD_FSTRUCT_SS_PTE);
        } else {
            if (!(s.perm & 3))
                return flt(r, 0x79, VTD_FSTRUCT_SS_PTE);
            if (r->wr && !(s.perm & 2))
                return flt(r, 0x85, VTD_FSTRUCT_SS_PTE);
            if (!r->wr && !(s.perm & 1))
                return flt(r, 0x86, VTD_FSTRUCT_SS_PTE);
        }
    } else {
        if (q->ats_nw)
            g &= ~2u;
        if (!g)
            return ats_empty(r, 2);
    }
    uint64_t span = 1ull << (12 + 9 * (s.level - 1));
    bool bad_out = r->ats ? hits_intr(s.out & ~(span - 1), span) : hits_intr(s.out, q->len);
    if (bad_out)
        return flt(r, r->sm ? 0x87 : 0xE, VTD_FSTRUCT_REQUEST);
    bool ad = r->sm && vtd_pe_SSADE(&r->pe);
    if (ad) {
        int rc = ss_set_ad(r, &s, r->ats ? (g & 2) != 0 : r->wr);
        if (rc)
            return flt(r, (unsigned)rc, VTD_FSTRUCT_SS_PTE);
    }
    bool snoop = s.snp || (r->sm && vtd_pe_PGSNP(&r->pe));
    done(r, s.out, s.level, g, 2, snoop);
    r->res->emt = s.emt;
    r->res->ipat = s.ipat;
    return VTD_XLATE_OK;
}

static VtdXlateStatus first_stage(R *r, bool nested)
{
    const VtdXlateRequest *q = r->req;
    VtdPasidEntry *pe = &r->pe;
    unsigned levels = vtd_pe_FSPM(pe) ? 5 : 4;
    unsigned ss_lv = (unsigned)vtd_pe_AW(pe) + 2;
    uint64_t ss_root = vtd_pe_SSPTPTR(pe) << 12;
    bool ssade = vtd_pe_SSADE(pe);
    unsigned pgtt = nested ? 3 : 1;

    uint64_t table = vtd_pe_FSPTPTR(pe) << 12;
    bool rw = true, us = true, xd = false;
    uint64_t ent_addr[5], ent[5], ent_gpa[5];
    bool ent_ss_w[5];
    unsigned n = 0, leaf_level = 0;
    uint64_t out = 0, leaf_e = 0;
    for (unsigned lvl = levels; lvl >= 1; lvl--) {
        uint64_t host = table;
        bool ss_w = true;
        if (nested) {
            if (table >> ss_width(r, ss_lv))
                return flt(r, 0x74, VTD_FSTRUCT_SS_PTE);
            SsRes s = ss(r, ss_root, ss_lv, table);
            if (s.rc == -1)
                return flt(r, 0x79, VTD_FSTRUCT_SS_PTE);
            if (s.rc)
                return flt(r, (unsigned)s.rc, VTD_FSTRUCT_SS_PTE);
            if (!(s.perm & 1))
                return flt(r, lvl == levels ? 0x75 : 0x76, VTD_FSTRUCT_SS_PTE);
            int rc = ssade ? ss_set_ad(r, &s, false) : 0;
            if (rc)
                return flt(r, (unsigned)rc, VTD_FSTRUCT_SS_PTE);
            host = s.out;
            ss_w = (s.perm & 2) != 0;
        }
        uint64_t a = host + ((q->addr >> (12 + 9 * (lvl - 1))) & 0x1ff) * 8, e;
        if (!load(r, a, &e))
            return flt(r, lvl == levels ? 0x73 : 0x70, VTD_FSTRUCT_FS_PTE);
        VtdFsPte p = {{e}};
        if (!vtd_fspte_P(&p)) {
            if (r->ats)
                return ats_empty(r, pgtt);
            return flt(r, 0x71, VTD_FSTRUCT_FS_PTE);
        }
        bool ps = vtd_fspte_PS(&p);
        bool leaf = lvl == 1 || (lvl <= 3 && ps);
        uint64_t bad = e & above_haw(r);
        if (lvl >= 4 && ps)
            bad = 1;
        if (leaf && lvl == 3 && ((e & 0x3fffe000ull) || !vtd_cap_FS1GP(r->cfg->cap)))
            bad = 1;
        if (leaf && lvl == 2 && (e & 0x1fe000ull))
            bad = 1;
        if (bad)
            return flt(r, 0x72, VTD_FSTRUCT_FS_PTE);
        rw = rw && vtd_fspte_RW(&p);
        us = us && vtd_fspte_US(&p);
        xd = xd || vtd_fspte_XD(&p);
        ent_addr[n] = a;
        ent[n] = e;
        ent_gpa[n] = table;
        ent_ss_w[n++] = ss_w;
        if (leaf) {
            uint64_t span = 1ull << (12 + 9 * (lvl - 1));
            out = ((vtd_fspte_ADDR(&p) << 12) & ~(span - 1)) + (q->addr & (span - 1));
            leaf_level = lvl;
            leaf_e = e;
            break;
        }
        table = vtd_fspte_ADDR(&p) << 12;
    }

    /* rights of the first stage */
    unsigned g;
    if (r->priv)
        g = 1 | VTD_PERM_PRIV | ((rw || !vtd_pe_WPE(pe)) ? 2 : 0) | (xd ? 0 : 4);
    else
        g = us ? (1 | (rw ? 2 : 0) | (xd ? 0 : 4)) : 0;
    if (!r->ats) {
        if (!r->priv && !us)
            return flt(r, 0x81, VTD_FSTRUCT_FS_PTE);
        if (r->ex && xd)
            return flt(r, 0x82, VTD_FSTRUCT_FS_PTE);
        if (r->wr && !(g & 2))
            return flt(r, 0x85, VTD_FSTRUCT_FS_PTE);
    }

    SsRes s;
    memset(&s, 0, sizeof(s));
    unsigned level = leaf_level;
    uint8_t emt = 0;
    bool ipat = false;
    if (nested) {
        if (out >> ss_width(r, ss_lv))
            return flt(r, 0x84, VTD_FSTRUCT_REQUEST);
        s = ss(r, ss_root, ss_lv, out);
        if (s.rc == -1) {
            if (r->ats)
                return ats_empty(r, pgtt);
            return flt(r, 0x79, VTD_FSTRUCT_SS_PTE);
        }
        if (s.rc)
            return flt(r, (unsigned)s.rc, VTD_FSTRUCT_SS_PTE);
        if (!r->ats) {
            if (!(s.perm & 3))
                return flt(r, 0x79, VTD_FSTRUCT_SS_PTE);
            if (r->wr && !(s.perm & 2))
                return flt(r, 0x85, VTD_FSTRUCT_SS_PTE);
            if (!r->wr && !(s.perm & 1))
                return flt(r, 0x86, VTD_FSTRUCT_SS_PTE);
        }
        unsigned sg = ss_grant(r, s.perm);
        g &= sg | VTD_PERM_PRIV;
        if (!(g & 7))
            g = 0;
        out = s.out;
        if (s.level < level)
            level = s.level;
        emt = s.emt;
        ipat = s.ipat;
    }
    if (r->ats) {
        if (q->ats_nw)
            g &= ~2u;
        if (!g)
            return ats_empty(r, pgtt);
    }
    uint64_t span = 1ull << (12 + 9 * (level - 1));
    bool bad_out = r->ats ? hits_intr(out & ~(span - 1), span) : hits_intr(out, q->len);
    if (bad_out)
        return flt(r, 0x87, VTD_FSTRUCT_REQUEST);

    bool dirty = r->ats ? (g & 2) != 0 : r->wr;
    for (unsigned i = 0; i < n; i++) {
        VtdFsPte p = {{ent[i]}};
        vtd_fspte_set_A(&p, 1);
        if (vtd_pe_EAFE(pe))
            vtd_fspte_set_EA(&p, 1);   /* Extended Accessed, with A */
        if (dirty && i == n - 1)
            vtd_fspte_set_D(&p, 1);
        uint64_t want = p.val[0];
        if (want == ent[i])
            continue;
        if (!ent_ss_w[i])
            return flt(r, 0x77, VTD_FSTRUCT_FS_PTE);
        if (nested && ssade) {
            /* the A/D write goes through the second stage: mark its page dirty */
            SsRes t = ss(r, ss_root, ss_lv, ent_gpa[i]);
            if (t.rc == -1)
                return flt(r, 0x79, VTD_FSTRUCT_SS_PTE);
            int rc = t.rc ? t.rc : ss_set_ad(r, &t, true);
            if (rc)
                return flt(r, (unsigned)rc, VTD_FSTRUCT_SS_PTE);
        }
        if (!store(r, ent_addr[i], want))
            return flt(r, 0x70, VTD_FSTRUCT_FS_PTE);
    }
    if (nested && ssade) {
        int rc = ss_set_ad(r, &s, dirty);
        if (rc)
            return flt(r, (unsigned)rc, VTD_FSTRUCT_SS_PTE);
    }
    done(r, out, level, g, pgtt, vtd_pe_PGSNP(pe));
    VtdFsPte leaf = {{leaf_e}};
    r->res->global = vtd_fspte_G(&leaf);
    r->res->emt = emt;
    r->res->ipat = ipat;
    return VTD_XLATE_OK;
}

static VtdXlateStatus legacy(R *r)
{
    const VtdXlateRequest *q = r->req;
    unsigned bus = q->sid >> 8, devfn = q->sid & 0xff;
    uint64_t rta = r->cfg->rtaddr & ~0xfffull, lo, hi;
    if (!load(r, rta + 16 * bus, &lo) || !load(r, rta + 16 * bus + 8, &hi))
        return flt(r, 0x8, VTD_FSTRUCT_ROOT);
    VtdRootEntry re = {{lo, hi}};
    if (!vtd_re_P(&re))
        return flt(r, 0x1, VTD_FSTRUCT_ROOT);
    if ((lo & 0xffe) || (lo & above_haw(r)) || hi)
        return flt(r, 0xA, VTD_FSTRUCT_ROOT);
    uint64_t ca = (vtd_re_CTP(&re) << 12) + 16 * devfn;
    VtdContextEntry c;
    if (!load(r, ca, &c.val[0]) || !load(r, ca + 8, &c.val[1]))
        return flt(r, 0x9, VTD_FSTRUCT_CONTEXT);
    if (!vtd_ce_P(&c))
        return flt(r, 0x2, VTD_FSTRUCT_CONTEXT);
    if ((c.val[0] & 0xff0) || (c.val[0] & above_haw(r)) || ((c.val[1] >> 7) & 1) ||
        (c.val[1] >> 24))
        return flt(r, 0xB, VTD_FSTRUCT_CONTEXT);
    r->fpd = vtd_ce_FPD(&c);
    unsigned tt = (unsigned)vtd_ce_TT(&c), aw = (unsigned)vtd_ce_AW(&c);
    bool tt_ok = tt == 0 || (tt == 1 && vtd_ecap_DT(r->cfg->ecap)) ||
                 (tt == 2 && vtd_ecap_PT(r->cfg->ecap));
    bool aw_ok = tt == 2 || (aw <= 3 && ((vtd_cap_SAGAW(r->cfg->cap) >> aw) & 1));
    if (!tt_ok || !aw_ok)
        return flt(r, 0x3, VTD_FSTRUCT_CONTEXT);
    r->did = (uint16_t)vtd_ce_DID(&c);
    if (q->at != VTD_AT_UNTRANSLATED && tt != 1)
        return flt(r, 0xD, VTD_FSTRUCT_CONTEXT);
    if (q->at == VTD_AT_TRANSLATED)
        return done(r, q->addr, 1, 7, 2, false);
    if (tt == 2) {
        if (q->addr >> r->haw)
            return flt(r, 0x4, VTD_FSTRUCT_REQUEST);
        return done(r, q->addr, 1, 7, 4, false);
    }
    if (q->addr >> ss_width(r, aw + 2))
        return flt(r, 0x4, VTD_FSTRUCT_REQUEST);
    return second_stage_only(r, vtd_ce_SLPTPTR(&c) << 12, aw + 2);
}

static VtdXlateStatus scalable(R *r)
{
    const VtdXlateRequest *q = r->req;
    const uint64_t cap = r->cfg->cap, ecap = r->cfg->ecap;
    unsigned bus = q->sid >> 8, devfn = q->sid & 0xff;
    uint64_t rta = r->cfg->rtaddr & ~0xfffull, half;
    if (!load(r, rta + 16 * bus + (devfn >= 128 ? 8 : 0), &half))
        return flt(r, 0x38, VTD_FSTRUCT_ROOT);
    /* the half selected by devfn[7] has the layout of a legacy root entry's low word */
    VtdRootEntry hre = {{half, 0}};
    if (!vtd_sre_LP(&hre))
        return flt(r, 0x39, VTD_FSTRUCT_ROOT);
    if ((half & 0xffe) || (half & above_haw(r)))
        return flt(r, 0x3A, VTD_FSTRUCT_ROOT);
    VtdSmContextEntry c;
    uint64_t ca = (vtd_sre_LCTP(&hre) << 12) + 32 * (devfn & 0x7f);
    for (int i = 0; i < 4; i++)
        if (!load(r, ca + 8 * i, &c.val[i]))
            return flt(r, 0x40, VTD_FSTRUCT_CONTEXT);
    if (!vtd_sce_P(&c))
        return flt(r, 0x41, VTD_FSTRUCT_CONTEXT);
    bool rsvd = (c.val[0] & 0x1e0) || (c.val[0] & above_haw(r)) || (c.val[1] >> 21) ||
                c.val[2] || c.val[3];
    if (!vtd_ecap_RPS(ecap) && vtd_sce_RID_PASID(&c))
        rsvd = true;
    if (!vtd_ecap_RPRIVS(ecap) && vtd_sce_RID_PRIV(&c))
        rsvd = true;
    if (rsvd)
        return flt(r, 0x42, VTD_FSTRUCT_CONTEXT);
    r->fpd = vtd_sce_FPD(&c);
    if ((vtd_sce_DTE(&c) && !vtd_ecap_DT(ecap)) || (vtd_sce_PRE(&c) && !vtd_ecap_PRS(ecap)) ||
        (vtd_sce_PASIDE(&c) && !vtd_ecap_PASID(ecap)))
        return flt(r, 0x43, VTD_FSTRUCT_CONTEXT);
    uint64_t dir_entries = 1ull << (vtd_sce_PDTS(&c) + 7);
    if ((vtd_sce_RID_PASID(&c) >> 6) >= dir_entries)
        return flt(r, 0x48, VTD_FSTRUCT_CONTEXT);
    if (q->at != VTD_AT_UNTRANSLATED && !vtd_sce_DTE(&c))
        return flt(r, 0x44, VTD_FSTRUCT_CONTEXT);
    if (q->at == VTD_AT_TRANSLATED)
        return done(r, q->addr, 1, 7, 4, false);

    uint32_t pasid;
    if (q->pasid_present) {
        if (!vtd_sce_PASIDE(&c))
            return flt(r, 0x45, VTD_FSTRUCT_CONTEXT);
        pasid = q->pasid & 0xfffff;
        if ((pasid >> 6) >= dir_entries)
            return flt(r, 0x46, VTD_FSTRUCT_CONTEXT);
    } else {
        pasid = (uint32_t)vtd_sce_RID_PASID(&c);
        r->priv = vtd_sce_RID_PRIV(&c);
        r->ex = false;
    }

    VtdPasidDirEntry d;
    if (!load(r, (vtd_sce_PASIDDIRPTR(&c) << 12) + 8 * (pasid >> 6), &d.val[0]))
        return flt(r, 0x50, VTD_FSTRUCT_PASID_DIR);
    if (!vtd_pdire_P(&d))
        return flt(r, 0x51, VTD_FSTRUCT_PASID_DIR);
    if ((d.val[0] & 0xffc) || (d.val[0] & above_haw(r)))
        return flt(r, 0x52, VTD_FSTRUCT_PASID_DIR);
    r->fpd = r->fpd || vtd_pdire_FPD(&d);
    VtdPasidEntry *pe = &r->pe;
    uint64_t pa = (vtd_pdire_SMPTBLPTR(&d) << 12) + 64 * (pasid & 63);
    for (int i = 0; i < 8; i++)
        if (!load(r, pa + 8 * i, &pe->val[i]))
            return flt(r, 0x58, VTD_FSTRUCT_PASID_ENTRY);
    if (!vtd_pe_P(pe))
        return flt(r, 0x59, VTD_FSTRUCT_PASID_ENTRY);
    unsigned pgtt = (unsigned)vtd_pe_PGTT(pe);
    bool fs = pgtt == 1 || pgtt == 3, ssu = pgtt == 2 || pgtt == 3;
    rsvd = ((pe->val[0] >> 10) & 3) || (ssu && (pe->val[0] & above_haw(r))) ||
           (!vtd_ecap_SSADS(ecap) && vtd_pe_SSADE(pe)) || ((pe->val[1] >> 16) & 0x7f) ||
           ((pe->val[2] >> 8) & 0xf) || (fs && (pe->val[2] & above_haw(r))) ||
           (!vtd_ecap_EAFS(ecap) && vtd_pe_EAFE(pe)) || (!vtd_ecap_SRS(ecap) && vtd_pe_SRE(pe)) ||
           (!vtd_ecap_ERS(ecap) && vtd_pe_ERE(pe));
    for (int i = 3; i < 8; i++)
        rsvd = rsvd || pe->val[i];
    if (rsvd)
        return flt(r, 0x5A, VTD_FSTRUCT_PASID_ENTRY);
    r->fpd = r->fpd || vtd_pe_FPD(pe);
    bool valid = (pgtt == 1 && vtd_ecap_FSTS(ecap)) || (pgtt == 2 && vtd_ecap_SSTS(ecap)) ||
                 (pgtt == 3 && vtd_ecap_NEST(ecap) && vtd_ecap_FSTS(ecap) &&
                  vtd_ecap_SSTS(ecap)) ||
                 (pgtt == 4 && vtd_ecap_PT(ecap));
    if (valid && ssu)
        valid = vtd_pe_AW(pe) <= 3 && ((vtd_cap_SAGAW(cap) >> vtd_pe_AW(pe)) & 1);
    if (valid && fs)
        valid = vtd_pe_FSPM(pe) == 0 || (vtd_pe_FSPM(pe) == 1 && vtd_cap_FS5LP(cap));
    if (!valid)
        return flt(r, 0x5B, VTD_FSTRUCT_PASID_ENTRY);
    r->did = (uint16_t)vtd_pe_DID(pe);
    if (fs && r->ex && !vtd_pe_ERE(pe))
        return flt(r, 0x5C, VTD_FSTRUCT_PASID_ENTRY);
    if (fs && r->priv && !vtd_pe_SRE(pe))
        return flt(r, 0x5D, VTD_FSTRUCT_PASID_ENTRY);
    if (!fs)
        r->ex = false;

    switch (pgtt) {
    case 4:
        if (q->addr >> r->haw)
            return flt(r, 0x83, VTD_FSTRUCT_REQUEST);
        if (r->ats ? hits_intr(q->addr & ~0xfffull, 4096) : hits_intr(q->addr, q->len))
            return flt(r, 0x87, VTD_FSTRUCT_REQUEST);
        return done(r, q->addr, 1, 7, 4, vtd_pe_PGSNP(pe));
    case 2: {
        unsigned lv = (unsigned)vtd_pe_AW(pe) + 2;
        if (q->addr >> ss_width(r, lv))
            return flt(r, 0x84, VTD_FSTRUCT_REQUEST);
        return second_stage_only(r, vtd_pe_SSPTPTR(pe) << 12, lv);
    }
    default: {
        unsigned bits = vtd_pe_FSPM(pe) ? 57 : 48;
        uint64_t top = q->addr >> (bits - 1);
        uint64_t ones = ~0ull >> (bits - 1);
        if (top != 0 && top != ones)
            return flt(r, 0x80, VTD_FSTRUCT_REQUEST);
        return first_stage(r, pgtt == 3);
    }
    }
}

VtdXlateStatus ref_walk_translate(AddrSpace *mem, const VtdXlateConfig *cfg,
                                  const VtdXlateRequest *req, VtdXlateResult *res,
                                  unsigned bugs)
{
    memset(res, 0, sizeof(*res));
    R r;
    memset(&r, 0, sizeof(r));
    r.mem = mem;
    r.cfg = cfg;
    r.req = req;
    r.res = res;
    r.bugs = bugs;
    r.haw = cfg->haw ? cfg->haw : (unsigned)vtd_cap_MGAW(cfg->cap) + 1;
    if (r.haw > 52)
        r.haw = 52;
    r.ats = req->at == VTD_AT_TRANSLATION;
    r.wr = req->write && !r.ats;
    r.priv = req->pasid_present && req->priv;
    r.ex = req->pasid_present && req->exec;

    if (req->at == VTD_AT_UNTRANSLATED && !req->pasid_present && hits_intr(req->addr, req->len))
        return res->status = req->write ? VTD_XLATE_INTERRUPT : VTD_XLATE_UR;
    if (!cfg->te)
        return done(&r, req->addr, 1, 7, 4, false);
    if (req->at == VTD_AT_TRANSLATED && hits_intr(req->addr, req->len))
        return res->status = VTD_XLATE_UR;
    unsigned ttm = (cfg->rtaddr >> 10) & 3;
    if (ttm == 0) {
        if (req->pasid_present)
            return flt(&r, 0x31, VTD_FSTRUCT_REQUEST);
        return legacy(&r);
    }
    if (ttm == 1 && vtd_ecap_SMTS(cfg->ecap)) {
        r.sm = true;
        return scalable(&r);
    }
    if (ttm == 3 && vtd_ecap_ADMS(cfg->ecap))
        return res->status = VTD_XLATE_UR;
    return flt(&r, 0x30, VTD_FSTRUCT_REQUEST);
}
