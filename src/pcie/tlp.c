/*
 * TLP headers in their wire format (PCIe Base Spec 5.0 section 2.2).
 *
 * DW0 of every header: Fmt[31:29] Type[28:24] T9[23] TC[22:20] T8[19]
 * Attr2[18] LN[17] TH[16] TD[15] EP[14] Attr[13:12] AT[11:10] Length[9:0]
 * (Length in DW, 0 meaning 1024).  Attr bit 0 of PcieTlp.attr (No Snoop)
 * is header bit 12, bit 1 (Relaxed Ordering) bit 13, bit 2 (ID-Based
 * Ordering) bit 18.
 *
 * Memory requests: DW1 Requester ID[31:16] Tag[15:8] Last DW BE[7:4]
 * First DW BE[3:0]; then Address[31:2] (3 DW) or Address[63:32] and
 * Address[31:2] (4 DW).  A 4 DW header is used exactly when the address
 * needs more than 32 bits.  The byte address and length are recovered
 * from the DW address, the DW count and the byte enables.
 * Config requests: DW2 Bus[31:24] Device[23:19] Function[18:16]
 * Extended Register[11:8] Register[7:2]; PcieTlp keeps the target in
 * completer_id and the register offset in addr.
 * Messages: DW1 Requester ID, Tag, Message Code[7:0]; Type[2:0] is the
 * routing (PcieTlp.msg_routing); DW2-3 carry addr.
 * Completions: DW1 Completer ID[31:16] Status[15:13] BCM[12] Byte
 * Count[11:0] (0 means 4096); DW2 Requester ID[31:16] Tag[15:8] Lower
 * Address[6:0] (from addr).  Their length is the payload in whole DWs.
 *
 * The PASID end-to-end prefix precedes the header: Fmt 100b, Type 1 0001b
 * (byte 0 = 0x91), Execute Requested bit 22 (PCIE_TLP_PREFIX_EXE),
 * Privileged Mode Requested bit 21 (PCIE_TLP_PREFIX_PMR), PASID[19:0].
 *
 * Not modelled: TLP digests (TD is always 0 on encode and the digest DW
 * is not parsed), TPH and vendor prefixes, 10-bit tags, Flit mode.
 */
#include <string.h>
#include "pcie/tlp.h"

enum {
    FMT_3DW = 0, FMT_4DW = 1, FMT_3DW_DATA = 2, FMT_4DW_DATA = 3, FMT_PREFIX = 4,
    PCIE_TLP_PREFIX_PASID = 0x91,
    PCIE_TLP_PREFIX_EXE = 1u << 22,
    PCIE_TLP_PREFIX_PMR = 1u << 21,
};

#define TLP_ERROR (g_quark_from_static_string("pcie-tlp-error"))

const char *pcie_tlp_type_name(PcieTlpType t)
{
    switch (t) {
    case PCIE_TLP_MRD: return "MRd";
    case PCIE_TLP_MRDLK: return "MRdLk";
    case PCIE_TLP_MWR: return "MWr";
    case PCIE_TLP_CFGRD0: return "CfgRd0";
    case PCIE_TLP_CFGWR0: return "CfgWr0";
    case PCIE_TLP_CFGRD1: return "CfgRd1";
    case PCIE_TLP_CFGWR1: return "CfgWr1";
    case PCIE_TLP_MSG: return "Msg";
    case PCIE_TLP_MSGD: return "MsgD";
    case PCIE_TLP_CPL: return "Cpl";
    case PCIE_TLP_CPLD: return "CplD";
    case PCIE_TLP_FETCHADD: return "FetchAdd";
    case PCIE_TLP_SWAP: return "Swap";
    case PCIE_TLP_CAS: return "CAS";
    }
    return "?";
}

const char *pcie_cpl_status_name(PcieCplStatus s)
{
    switch (s) {
    case PCIE_CPL_SC: return "SC";
    case PCIE_CPL_UR: return "UR";
    case PCIE_CPL_CRS: return "CRS";
    case PCIE_CPL_CA: return "CA";
    }
    return "?";
}

PcieTlp pcie_tlp_mem(PcieTlpType type, uint16_t rid, uint64_t addr, uint32_t len)
{
    PcieTlp t;
    memset(&t, 0, sizeof(t));
    t.type = type;
    t.requester_id = rid;
    t.addr = addr;
    t.length = len;
    t.addr64 = addr > 0xffffffffull;
    if (len == 0) {
        return t;   /* zero-length request: one DW, no bytes enabled */
    }
    unsigned lead = addr & 3;
    uint64_t end = addr + len;            /* exclusive */
    unsigned ndw = (unsigned)((lead + len + 3) / 4);
    unsigned tail = (unsigned)(end & 3);   /* bytes used in the last DW, 0 = all */
    t.first_be = (uint8_t)(0xf << lead) & 0xf;
    uint8_t last = tail ? (uint8_t)((1u << tail) - 1) : 0xf;
    if (ndw == 1) {
        t.first_be &= last;
        t.last_be = 0;
    } else {
        t.last_be = last;
    }
    return t;
}

/* Fmt and Type of @t; FALSE for a type with no encoding. */
static void fmt_type(const PcieTlp *t, unsigned *fmt, unsigned *type)
{
    bool a64 = t->addr64;
    switch (t->type) {
    case PCIE_TLP_MRD: *fmt = a64 ? FMT_4DW : FMT_3DW; *type = 0x00; return;
    case PCIE_TLP_MRDLK: *fmt = a64 ? FMT_4DW : FMT_3DW; *type = 0x01; return;
    case PCIE_TLP_MWR: *fmt = a64 ? FMT_4DW_DATA : FMT_3DW_DATA; *type = 0x00; return;
    case PCIE_TLP_CFGRD0: *fmt = FMT_3DW; *type = 0x04; return;
    case PCIE_TLP_CFGWR0: *fmt = FMT_3DW_DATA; *type = 0x04; return;
    case PCIE_TLP_CFGRD1: *fmt = FMT_3DW; *type = 0x05; return;
    case PCIE_TLP_CFGWR1: *fmt = FMT_3DW_DATA; *type = 0x05; return;
    case PCIE_TLP_MSG: *fmt = FMT_4DW; *type = 0x10 | (t->msg_routing & 7); return;
    case PCIE_TLP_MSGD: *fmt = FMT_4DW_DATA; *type = 0x10 | (t->msg_routing & 7); return;
    case PCIE_TLP_CPL: *fmt = FMT_3DW; *type = 0x0a; return;
    case PCIE_TLP_CPLD: *fmt = FMT_3DW_DATA; *type = 0x0a; return;
    case PCIE_TLP_FETCHADD: *fmt = a64 ? FMT_4DW_DATA : FMT_3DW_DATA; *type = 0x0c; return;
    case PCIE_TLP_SWAP: *fmt = a64 ? FMT_4DW_DATA : FMT_3DW_DATA; *type = 0x0d; return;
    case PCIE_TLP_CAS: *fmt = a64 ? FMT_4DW_DATA : FMT_3DW_DATA; *type = 0x0e; return;
    }
    g_assert_not_reached();
}

static bool is_mem(PcieTlpType t)
{
    return t == PCIE_TLP_MRD || t == PCIE_TLP_MRDLK || t == PCIE_TLP_MWR ||
           t == PCIE_TLP_FETCHADD || t == PCIE_TLP_SWAP || t == PCIE_TLP_CAS;
}

static bool is_cfg(PcieTlpType t)
{
    return t >= PCIE_TLP_CFGRD0 && t <= PCIE_TLP_CFGWR1;
}

static bool is_cpl(PcieTlpType t)
{
    return t == PCIE_TLP_CPL || t == PCIE_TLP_CPLD;
}

/* Length field in DW for @t. */
static unsigned length_dw(const PcieTlp *t)
{
    if (t->type == PCIE_TLP_MSG) {
        return 0;
    }
    if (is_cfg(t->type)) {
        return 1;
    }
    if (is_mem(t->type)) {
        if (t->length == 0) {
            return 1;
        }
        return (unsigned)(((t->addr & 3) + t->length + 3) / 4);
    }
    return (t->length + 3) / 4;
}

unsigned pcie_tlp_encode(const PcieTlp *t, uint32_t dw[5])
{
    unsigned n = 0, fmt, type;
    fmt_type(t, &fmt, &type);
    if (t->pasid_present) {
        dw[n++] = ((uint32_t)PCIE_TLP_PREFIX_PASID << 24) | (t->exec ? PCIE_TLP_PREFIX_EXE : 0) |
                  (t->priv ? PCIE_TLP_PREFIX_PMR : 0) | (t->pasid & 0xfffff);
    }
    unsigned len = length_dw(t);
    uint32_t d0 = (fmt << 29) | (type << 24) | ((uint32_t)(t->tc & 7) << 20) |
                  ((t->attr & 4) ? (1u << 18) : 0) | (t->poisoned ? (1u << 14) : 0) |
                  ((uint32_t)(t->attr & 3) << 12) | ((uint32_t)(t->at & 3) << 10) |
                  (len & 0x3ff);
    dw[n++] = d0;
    if (is_cpl(t->type)) {
        dw[n++] = ((uint32_t)t->completer_id << 16) | ((uint32_t)(t->status & 7) << 13) |
                  (t->byte_count & 0xfff);
        dw[n++] = ((uint32_t)t->requester_id << 16) | ((uint32_t)t->tag << 8) |
                  (uint32_t)(t->addr & 0x7f);
        return n;
    }
    if (t->type == PCIE_TLP_MSG || t->type == PCIE_TLP_MSGD) {
        dw[n++] = ((uint32_t)t->requester_id << 16) | ((uint32_t)t->tag << 8) | t->msg_code;
        dw[n++] = (uint32_t)(t->addr >> 32);
        dw[n++] = (uint32_t)t->addr;
        return n;
    }
    dw[n++] = ((uint32_t)t->requester_id << 16) | ((uint32_t)t->tag << 8) |
              ((uint32_t)(t->last_be & 0xf) << 4) | (t->first_be & 0xf);
    if (is_cfg(t->type)) {
        dw[n++] = ((uint32_t)t->completer_id << 16) | (uint32_t)(t->addr & 0xffc);
        return n;
    }
    if (t->addr64) {
        dw[n++] = (uint32_t)(t->addr >> 32);
    }
    dw[n++] = (uint32_t)t->addr & ~3u;
    return n;
}

static unsigned lowest_set(uint8_t be)
{
    for (unsigned i = 0; i < 4; i++) {
        if (be >> i & 1) {
            return i;
        }
    }
    return 4;
}

static unsigned highest_set(uint8_t be)
{
    for (unsigned i = 4; i-- > 0;) {
        if (be >> i & 1) {
            return i;
        }
    }
    return 0;
}

gboolean pcie_tlp_decode(const uint32_t *dw, unsigned n, PcieTlp *out, GError **error)
{
    PcieTlp t;
    memset(&t, 0, sizeof(t));
    unsigned i = 0;
    while (i < n && (dw[i] >> 29) == FMT_PREFIX) {
        if ((dw[i] >> 24) != PCIE_TLP_PREFIX_PASID) {
            g_set_error(error, TLP_ERROR, 1, "Type: unsupported TLP prefix type 0x%02x",
                        (dw[i] >> 24) & 0x1f);
            return FALSE;
        }
        if (t.pasid_present) {
            g_set_error(error, TLP_ERROR, 1, "Type: more than one PASID prefix");
            return FALSE;
        }
        t.pasid_present = true;
        t.pasid = dw[i] & 0xfffff;
        t.exec = dw[i] & PCIE_TLP_PREFIX_EXE;
        t.priv = dw[i] & PCIE_TLP_PREFIX_PMR;
        i++;
    }
    if (i >= n) {
        g_set_error(error, TLP_ERROR, 1, "Fmt: no header after %u prefix DW(s)", i);
        return FALSE;
    }
    const uint32_t *h = dw + i;
    unsigned left = n - i;
    uint32_t d0 = h[0];
    unsigned fmt = d0 >> 29, type = (d0 >> 24) & 0x1f;
    unsigned len = d0 & 0x3ff;
    if (fmt > FMT_4DW_DATA) {
        g_set_error(error, TLP_ERROR, 1, "Fmt: reserved value %u", fmt);
        return FALSE;
    }
    bool data = fmt & 2, four = fmt & 1;
    t.addr64 = four;
    t.tc = (d0 >> 20) & 7;
    t.attr = (uint8_t)(((d0 >> 12) & 3) | ((d0 & (1u << 18)) ? 4 : 0));
    t.poisoned = d0 & (1u << 14);
    t.at = (PcieAt)((d0 >> 10) & 3);
    if (t.at == 3) {
        g_set_error(error, TLP_ERROR, 1, "AT: reserved value 3");
        return FALSE;
    }
    if ((type & 0x18) == 0x10) {
        t.type = data ? PCIE_TLP_MSGD : PCIE_TLP_MSG;
        t.msg_routing = type & 7;
        if (!four) {
            g_set_error(error, TLP_ERROR, 1, "Fmt: messages have a 4 DW header");
            return FALSE;
        }
    } else {
        switch (type) {
        case 0x00: t.type = data ? PCIE_TLP_MWR : PCIE_TLP_MRD; break;
        case 0x01:
            if (data) {
                g_set_error(error, TLP_ERROR, 1, "Fmt: MRdLk with data");
                return FALSE;
            }
            t.type = PCIE_TLP_MRDLK;
            break;
        case 0x04: t.type = data ? PCIE_TLP_CFGWR0 : PCIE_TLP_CFGRD0; break;
        case 0x05: t.type = data ? PCIE_TLP_CFGWR1 : PCIE_TLP_CFGRD1; break;
        case 0x0a: t.type = data ? PCIE_TLP_CPLD : PCIE_TLP_CPL; break;
        case 0x0c: case 0x0d: case 0x0e:
            if (!data) {
                g_set_error(error, TLP_ERROR, 1, "Fmt: AtomicOp without data");
                return FALSE;
            }
            t.type = type == 0x0c ? PCIE_TLP_FETCHADD : type == 0x0d ? PCIE_TLP_SWAP : PCIE_TLP_CAS;
            break;
        default:
            g_set_error(error, TLP_ERROR, 1, "Type: reserved or unsupported value 0x%02x", type);
            return FALSE;
        }
        if ((is_cfg(t.type) || is_cpl(t.type)) && four) {
            g_set_error(error, TLP_ERROR, 1, "Fmt: %s has a 3 DW header", pcie_tlp_type_name(t.type));
            return FALSE;
        }
    }
    unsigned need = four ? 4 : 3;
    if (left < need) {
        g_set_error(error, TLP_ERROR, 1, "Fmt: %u DW header truncated to %u DW", need, left);
        return FALSE;
    }
    unsigned ndw = len ? len : 1024;
    if (t.type == PCIE_TLP_MSG) {
        if (len != 0) {
            g_set_error(error, TLP_ERROR, 1, "Length: %u for a message without data", len);
            return FALSE;
        }
        ndw = 0;
    }
    if (is_cpl(t.type)) {
        t.completer_id = (uint16_t)(h[1] >> 16);
        unsigned st = (h[1] >> 13) & 7;
        if (st != PCIE_CPL_SC && st != PCIE_CPL_UR && st != PCIE_CPL_CRS && st != PCIE_CPL_CA) {
            g_set_error(error, TLP_ERROR, 1, "Completion Status: reserved value %u", st);
            return FALSE;
        }
        t.status = (PcieCplStatus)st;
        t.byte_count = (uint16_t)(h[1] & 0xfff);
        if (t.byte_count == 0) {
            t.byte_count = 4096;
        }
        t.requester_id = (uint16_t)(h[2] >> 16);
        t.tag = (uint8_t)(h[2] >> 8);
        t.addr = h[2] & 0x7f;
        t.length = t.type == PCIE_TLP_CPLD ? ndw * 4 : 0;
        *out = t;
        return TRUE;
    }
    t.requester_id = (uint16_t)(h[1] >> 16);
    t.tag = (uint8_t)(h[1] >> 8);
    if (t.type == PCIE_TLP_MSG || t.type == PCIE_TLP_MSGD) {
        t.msg_code = (uint8_t)h[1];
        t.addr = ((uint64_t)h[2] << 32) | h[3];
        t.length = ndw * 4;
        *out = t;
        return TRUE;
    }
    t.first_be = h[1] & 0xf;
    t.last_be = (h[1] >> 4) & 0xf;
    if (is_cfg(t.type)) {
        if (len != 1) {
            g_set_error(error, TLP_ERROR, 1, "Length: %u DW for a config request (must be 1)", ndw);
            return FALSE;
        }
        if (t.last_be) {
            g_set_error(error, TLP_ERROR, 1, "Last DW BE: must be 0 for a config request");
            return FALSE;
        }
        t.completer_id = (uint16_t)(h[2] >> 16);
        t.addr = h[2] & 0xffc;
        t.length = 4;
        *out = t;
        return TRUE;
    }
    /* memory requests and AtomicOps */
    uint64_t a = four ? (((uint64_t)h[2] << 32) | (h[3] & ~3u)) : (h[2] & ~3u);
    if (four && a <= 0xffffffffull) {
        g_set_error(error, TLP_ERROR, 1,
                    "Fmt: 4 DW header for address 0x%" G_GINT64_MODIFIER "x below 4 GiB", a);
        return FALSE;
    }
    if (ndw == 1 && t.last_be) {
        g_set_error(error, TLP_ERROR, 1, "Last DW BE: must be 0 for a 1 DW request");
        return FALSE;
    }
    if (ndw > 1 && (!t.first_be || !t.last_be)) {
        g_set_error(error, TLP_ERROR, 1, "%s: must be non-zero for a %u DW request",
                    t.first_be ? "Last DW BE" : "First DW BE", ndw);
        return FALSE;
    }
    if (ndw == 1 && !t.first_be) {
        t.addr = a;
        t.length = 0;   /* zero-length read */
        *out = t;
        return TRUE;
    }
    if (((a & 0xfff) + (uint64_t)ndw * 4) > 4096 && is_mem(t.type) &&
        t.type != PCIE_TLP_CAS && t.type != PCIE_TLP_SWAP && t.type != PCIE_TLP_FETCHADD) {
        g_set_error(error, TLP_ERROR, 1, "Length: %u DW at 0x%" G_GINT64_MODIFIER "x crosses 4 KiB",
                    ndw, a);
        return FALSE;
    }
    unsigned first = lowest_set(t.first_be);
    t.addr = a + first;
    if (ndw == 1) {
        t.length = highest_set(t.first_be) + 1 - first;
    } else {
        t.length = ndw * 4 - first - (3 - highest_set(t.last_be));
    }
    *out = t;
    return TRUE;
}

void pcie_tlp_format(const PcieTlp *t, GString *out)
{
    bool sized = is_mem(t->type);
    g_string_append_printf(out, "%s%s", pcie_tlp_type_name(t->type),
                           sized ? (t->addr64 ? "64" : "32") : "");
    g_string_append_printf(out, " rid=%02x:%02x.%x tag=%u", t->requester_id >> 8,
                           (t->requester_id >> 3) & 0x1f, t->requester_id & 7, t->tag);
    if (is_cpl(t->type)) {
        g_string_append_printf(out, " cid=%02x:%02x.%x status=%s bc=%u", t->completer_id >> 8,
                               (t->completer_id >> 3) & 0x1f, t->completer_id & 7,
                               pcie_cpl_status_name(t->status), t->byte_count);
    } else if (is_cfg(t->type)) {
        g_string_append_printf(out, " target=%02x:%02x.%x reg=0x%03" G_GINT64_MODIFIER "x",
                               t->completer_id >> 8, (t->completer_id >> 3) & 0x1f,
                               t->completer_id & 7, t->addr);
    } else if (t->type == PCIE_TLP_MSG || t->type == PCIE_TLP_MSGD) {
        g_string_append_printf(out, " code=0x%02x", t->msg_code);
    } else {
        g_string_append_printf(out, " addr=0x%" G_GINT64_MODIFIER "x", t->addr);
    }
    g_string_append_printf(out, " len=%u", t->length);
    if (t->pasid_present) {
        g_string_append_printf(out, " pasid=%u%s%s", t->pasid, t->priv ? " priv" : "",
                               t->exec ? " exec" : "");
    }
    if (sized) {
        static const char at_names[4][4] = { "U", "TR", "T", "?" };
        g_string_append_printf(out, " AT=%s", at_names[t->at & 3]);
    }
    if (t->poisoned) {
        g_string_append(out, " EP");
    }
}
