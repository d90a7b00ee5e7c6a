/*
 * The I/OAT DMA engine; see ioat.h for what is modelled and what is not,
 * and ioat_regs.h for the layout and where the facts come from.
 *
 * Structure.  One IoatDevice per PCIe function (the PF and each VF have
 * their own), holding the global register block and CHANCNT channels.
 * Registers live in little-endian byte arrays, one per block, and are
 * defined once in the two tables below with their reset values and
 * writable / write-1-to-clear masks (style rule 5): the generic write
 * path applies the masks, then a small per-register hook does the side
 * effect (a command, the doorbell, arming).
 *
 * A channel runs its chain on the event queue with one EmuTimer, in two
 * phases per descriptor:
 *   FETCH, desc_ps after the channel started (or after the previous
 *   descriptor completed): read the 64-byte descriptor, check it, and
 *   schedule EXEC size * copy_ps_per_byte later;
 *   EXEC: move the data, complete the descriptor (CHANSTS, the CHANCMP
 *   write-back, the interrupt) and schedule the next FETCH while the
 *   completed count differs from DMACOUNT.
 * MMIO writes never do DMA themselves; they only change state and arm the
 * timer.
 */
#include <string.h>
#include "models/ioat/ioat.h"
#include "core/evq.h"
#include "core/error.h"

#define LOG_PREFIX "ioat"
#include "core/log.h"

/* Bounce buffer for one piece of a copy; the fabric splits it further into TLPs. */
#define IOAT_PIECE 4096u

/* ---- register definitions (style rule 5) -------------------------------- */

typedef struct IoatRegDef {
    uint8_t off;          /* offset in its block */
    uint8_t size;         /* bytes: 1, 2, 4 or 8 */
    const char *name;
    uint64_t reset;       /* power-on value (CHANCNT and XFERCAP come from the params) */
    uint64_t wmask;       /* software-writable bits */
    uint64_t w1cmask;     /* write-1-to-clear bits */
} IoatRegDef;

static const IoatRegDef ioat_global_regs[] = {
    { IOAT_CHANCNT, 1, "CHANCNT", 0, 0, 0 },
    { IOAT_XFERCAP, 1, "XFERCAP", 0, 0, 0 },
    { IOAT_GENCTRL, 1, "GENCTRL", 0, 0x01, 0 },
    { IOAT_INTRCTRL, 1, "INTRCTRL", 0,
      IOAT_INTRCTRL_MASTER_INT_EN | IOAT_INTRCTRL_MSIX_VECTOR_CONTROL, 0 },
    { IOAT_ATTNSTATUS, 4, "ATTNSTATUS", 0, 0, 0 },
    { IOAT_CBVER, 1, "CBVER", IOAT_CBVER_3_3, 0, 0 },
    /* Interrupt Coalescing Supported (bit 15) stays clear: coalescing is not modelled */
    { IOAT_INTRDELAY, 2, "INTRDELAY", 0, IOAT_INTRDELAY_MASK, 0 },
    { IOAT_CS_STATUS, 2, "CS_STATUS", 0, 0, 0 },
    { IOAT_DMACAPABILITY, 4, "DMACAPABILITY", IOAT_CAP_FILL_BLOCK, 0, 0 },
};

static const IoatRegDef ioat_chan_regs[] = {
    { IOAT_CHANCTRL, 2, "CHANCTRL", 0, IOAT_CHANCTRL_WMASK, 0 },
    { IOAT_CHANCMD, 1, "CHANCMD", 0, 0x3f, 0 },
    { IOAT_DMACOUNT, 2, "DMACOUNT", 0, 0xffff, 0 },
    { IOAT_CHANSTS, 8, "CHANSTS", IOAT_CHANSTS_HALTED, 0, 0 },
    { IOAT_CHAINADDR, 8, "CHAINADDR", 0, ~0ull, 0 },
    /* the write-back is a quadword: CHANCMP is 8-byte aligned (DPDK IOAT_CHANCMP_ALIGN) */
    { IOAT_CHANCMP, 8, "CHANCMP", 0, ~0x7ull, 0 },
    { IOAT_CDAR, 8, "CDAR", 0, 0, 0 },
    { IOAT_CHANERR, 4, "CHANERR", 0, 0, IOAT_CHANERR_ALL },
    { IOAT_CHANERR_MASK, 4, "CHANERR_MASK", 0, IOAT_CHANERR_ALL, 0 },
    { IOAT_DCACTRL, 4, "DCACTRL", 0, 0x1ffff, 0 },
};

/* ---- state ---------------------------------------------------------------- */

typedef enum IoatPhase {
    IOAT_PHASE_FETCH,     /* the timer fetches the next descriptor */
    IOAT_PHASE_EXEC,      /* the timer executes and completes c->cur */
} IoatPhase;

typedef struct IoatChan {
    struct IoatDevice *dev;
    unsigned index;
    uint8_t regs[IOAT_CHANNEL_MMIO_SIZE];
    unsigned state;           /* IOAT_CHANSTS_*: the CHANSTS[2:0] value */
    uint64_t completed;       /* address of the last completed descriptor (0: none yet) */
    uint64_t next_desc;       /* where the next descriptor is fetched */
    bool chain_start;         /* the next fetch is the first one from CHAINADDR */
    uint16_t count;           /* descriptors completed since CHAINADDR / reset, wraps like DMACOUNT */
    bool busy;                /* a descriptor is in flight (the timer is armed) */
    bool suspend_req;         /* SUSPEND arrived while busy: stop after the descriptor */
    bool error_halt;          /* HALTED by an error: only RESET leaves it */
    bool reset_pending;       /* CHANCMD.RESET reads back set until reset_timer fires */
    IoatPhase phase;
    IoatDesc cur;             /* the descriptor in flight */
    uint64_t cur_addr;
    EmuTimer work;
    EmuTimer reset_timer;
} IoatChan;

struct IoatDevice {
    PcieFn *fn;
    EmuSim *sim;
    IoatParams p;
    bool is_vf;
    bool intx_level;          /* our INTx output (PF only) */
    uint8_t regs[IOAT_CHANNEL_MMIO_SIZE];   /* global block, BAR0 0x00..0x7F */
    IoatChan chan[IOAT_MAX_CHANNELS];
    IoatStats stats;
    uint8_t buf[IOAT_PIECE];
};

/* ---- little-endian storage -------------------------------------------------- */

static uint64_t ld_le(const uint8_t *b, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;) {
        v = (v << 8) | b[i];
    }
    return v;
}

static void st_le(uint8_t *b, unsigned n, uint64_t v)
{
    for (unsigned i = 0; i < n; i++) {
        b[i] = (uint8_t)(v >> (8 * i));
    }
}

static uint64_t chan_get(const IoatChan *c, unsigned off, unsigned size)
{
    return ld_le(c->regs + off, size);
}

static void chan_set(IoatChan *c, unsigned off, unsigned size, uint64_t v)
{
    st_le(c->regs + off, size, v);
}

static uint64_t glob_get(const IoatDevice *d, unsigned off, unsigned size)
{
    return ld_le(d->regs + off, size);
}

static void glob_set(IoatDevice *d, unsigned off, unsigned size, uint64_t v)
{
    st_le(d->regs + off, size, v);
}

/*
 * The register an access of @size bytes at @off hits, or NULL when it is
 * not exactly one register at its natural size (64-bit registers also
 * take aligned 32-bit halves).  Accesses are size-aligned (MmioOps).
 */
static const IoatRegDef *reg_lookup(const IoatRegDef *tab, size_t n, unsigned off, unsigned size)
{
    for (size_t i = 0; i < n; i++) {
        const IoatRegDef *r = &tab[i];
        if (off < r->off || off + size > (unsigned)r->off + r->size) {
            continue;
        }
        if (size == r->size || (r->size == 8 && size == 4)) {
            return r;
        }
        return NULL;
    }
    return NULL;
}

/* The generic write: writable bits take @val, RW1C bits clear where @val has ones. */
static void reg_write_masked(uint8_t *block, const IoatRegDef *r, unsigned off, unsigned size,
                             uint64_t val)
{
    unsigned sh = (off - r->off) * 8;
    uint64_t szmask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
    uint64_t wm = (r->wmask >> sh) & szmask;
    uint64_t w1c = (r->w1cmask >> sh) & szmask;
    uint64_t old = ld_le(block + off, size);
    uint64_t nv = ((old & ~wm) | (val & wm)) & ~(val & w1c);
    st_le(block + off, size, nv);
}

static void regs_reset(uint8_t *block, const IoatRegDef *tab, size_t n)
{
    memset(block, 0, IOAT_CHANNEL_MMIO_SIZE);
    for (size_t i = 0; i < n; i++) {
        st_le(block + tab[i].off, tab[i].size, tab[i].reset);
    }
}

/* ---- interrupts ------------------------------------------------------------- */

/* INTRCTRL's read-only status bits and the INTx line follow ATTNSTATUS. */
static void ioat_update_intr(IoatDevice *d)
{
    uint8_t ic = d->regs[IOAT_INTRCTRL] & (IOAT_INTRCTRL_MASTER_INT_EN |
                                          IOAT_INTRCTRL_MSIX_VECTOR_CONTROL);
    bool pending = glob_get(d, IOAT_ATTNSTATUS, 4) != 0;
    if (pending) {
        ic |= IOAT_INTRCTRL_INT_STATUS;
        if (ic & IOAT_INTRCTRL_MASTER_INT_EN) {
            ic |= IOAT_INTRCTRL_INT;
        }
    }
    d->regs[IOAT_INTRCTRL] = ic;
    if (d->is_vf) {
        return;   /* VFs have no INTx */
    }
    bool level = (ic & IOAT_INTRCTRL_INT) && !pcie_fn_msix_enabled(d->fn) &&
                 !pcie_fn_msi_enabled(d->fn);
    if (level != d->intx_level) {
        d->intx_level = level;
        if (level) {
            d->stats.interrupts++;
        }
        pcie_fn_set_intx(d->fn, level);
    }
}

/*
 * The channel interrupt: needs CHANCTRL.INT_REARM (consumed) unless it is
 * an error interrupt, sets the channel's ATTNSTATUS bit, and goes out as
 * MSI-X vector = channel, MSI vector 0 or INTx as ioat.h describes.
 */
static void chan_interrupt(IoatChan *c, bool error)
{
    IoatDevice *d = c->dev;
    uint16_t ctrl = (uint16_t)chan_get(c, IOAT_CHANCTRL, 2);
    if (!error && !(ctrl & IOAT_CHANCTRL_INT_REARM)) {
        return;
    }
    chan_set(c, IOAT_CHANCTRL, 2, ctrl & ~IOAT_CHANCTRL_INT_REARM);
    glob_set(d, IOAT_ATTNSTATUS, 4, glob_get(d, IOAT_ATTNSTATUS, 4) | (1u << c->index));
    uint8_t ic = d->regs[IOAT_INTRCTRL];
    if (pcie_fn_msix_enabled(d->fn)) {
        if (ic & (IOAT_INTRCTRL_MSIX_VECTOR_CONTROL | IOAT_INTRCTRL_MASTER_INT_EN)) {
            d->stats.interrupts++;
            pcie_fn_msi_notify(d->fn, c->index);
        }
    } else if (pcie_fn_msi_enabled(d->fn)) {
        if (ic & IOAT_INTRCTRL_MASTER_INT_EN) {
            d->stats.interrupts++;
            pcie_fn_msi_notify(d->fn, 0);
        }
    }
    ioat_update_intr(d);
}

/* ---- channel state -------------------------------------------------------- */

static void chan_set_state(IoatChan *c, unsigned state)
{
    c->state = state;
    chan_set(c, IOAT_CHANSTS, 8, (c->completed & IOAT_CHANSTS_COMPLETED_DESCRIPTOR_ADDR) | state);
}

/* Writes the current CHANSTS value to CHANCMP (when set); FALSE if the write failed. */
static bool chan_write_completion(IoatChan *c)
{
    uint64_t cmp = chan_get(c, IOAT_CHANCMP, 8);
    if (!cmp) {
        return true;
    }
    uint8_t b[8];
    st_le(b, 8, chan_get(c, IOAT_CHANSTS, 8));
    PcieCplStatus st = pcie_fn_dma_write(c->dev->fn, cmp, b, 8, NULL);
    if (st != PCIE_CPL_SC) {
        emu_info("%s ch%u: completion write to 0x%" G_GINT64_MODIFIER "x completed with %s",
                 pcie_fn_name(c->dev->fn), c->index, (guint64)cmp, pcie_cpl_status_name(st));
        return false;
    }
    return true;
}

/* Power-on state of one channel (CHANCMD RESET, FLR, creation). */
static void chan_reset(IoatChan *c)
{
    emu_timer_del(&c->work);
    emu_timer_del(&c->reset_timer);
    regs_reset(c->regs, ioat_chan_regs, G_N_ELEMENTS(ioat_chan_regs));
    c->completed = 0;
    c->next_desc = 0;
    c->chain_start = false;
    c->count = 0;
    c->busy = false;
    c->suspend_req = false;
    c->error_halt = false;
    c->reset_pending = false;
    chan_set_state(c, IOAT_CHANSTS_HALTED);
}

/*
 * Halts the channel on an error: the architectural outcome of anything a
 * guest can get wrong (style rule 8), never an abort.
 */
static void chan_error(IoatChan *c, uint32_t chanerr, const char *why)
{
    IoatDevice *d = c->dev;
    emu_guest_error("%s ch%u: descriptor at 0x%" G_GINT64_MODIFIER "x: %s; channel halted"
                    " (CHANERR |= 0x%x)", pcie_fn_name(d->fn), c->index, (guint64)c->cur_addr,
                    why, chanerr);
    emu_timer_del(&c->work);
    c->busy = false;
    c->suspend_req = false;
    c->error_halt = true;
    d->stats.errors++;
    chan_set(c, IOAT_CHANERR, 4, chan_get(c, IOAT_CHANERR, 4) | chanerr);
    chan_set(c, IOAT_CDAR, 8, c->cur_addr);
    chan_set_state(c, IOAT_CHANSTS_HALTED);
    uint16_t ctrl = (uint16_t)chan_get(c, IOAT_CHANCTRL, 2);
    if ((ctrl & IOAT_CHANCTRL_ERR_COMPLETION_EN) && !chan_write_completion(c)) {
        chan_set(c, IOAT_CHANERR, 4, chan_get(c, IOAT_CHANERR, 4) | IOAT_CHANERR_COMPLETION_ADDR_ERR);
    }
    if (ctrl & IOAT_CHANCTRL_ERR_INT_EN) {
        chan_interrupt(c, true);
    }
}

/* Starts the next descriptor if the channel may run and DMACOUNT is ahead. */
static void chan_kick(IoatChan *c)
{
    if (c->reset_pending || c->busy || c->state == IOAT_CHANSTS_HALTED ||
        c->state == IOAT_CHANSTS_SUSPENDED) {
        return;
    }
    if (c->count == (uint16_t)chan_get(c, IOAT_DMACOUNT, 2)) {
        return;
    }
    c->busy = true;
    c->phase = IOAT_PHASE_FETCH;
    chan_set_state(c, IOAT_CHANSTS_ACTIVE);
    emu_timer_mod(&c->work, emu_sim_now(c->dev->sim) + c->dev->p.desc_ps);
}

/* ---- the data mover ------------------------------------------------------- */

static void chan_fetch(IoatChan *c)
{
    IoatDevice *d = c->dev;
    uint64_t addr = c->next_desc;
    bool first = c->chain_start;
    c->cur_addr = addr;
    chan_set(c, IOAT_CDAR, 8, addr);
    if (addr & (IOAT_DESC_SIZE - 1)) {
        chan_error(c, first ? IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR : IOAT_CHANERR_NEXT_DESC_ALIGN_ERR,
                   "descriptor address not 64-byte aligned");
        return;
    }
    uint8_t raw[IOAT_DESC_SIZE];
    PcieCplStatus st = pcie_fn_dma_read(d->fn, addr, raw, sizeof raw, NULL);
    if (st != PCIE_CPL_SC) {
        chan_error(c, first ? IOAT_CHANERR_CHAIN_ADDR_VALUE_ERR : IOAT_CHANERR_NEXT_ADDR_ERR,
                   pcie_cpl_status_name(st));
        return;
    }
    for (unsigned i = 0; i < 8; i++) {
        c->cur.val[i] = ld_le(raw + 8 * i, 8);
    }
    const IoatDesc *desc = &c->cur;
    uint32_t size = ioat_desc_size(desc);
    EmuTick t = 0;
    if (!ioat_desc_null(desc)) {
        unsigned op = ioat_desc_op(desc);
        if (op != IOAT_OP_COPY && op != IOAT_OP_FILL) {
            chan_error(c, IOAT_CHANERR_CONTROL_ERR, "unsupported operation");
            return;
        }
        if (size == 0 || (uint64_t)size > (1ull << d->p.xfercap)) {
            chan_error(c, IOAT_CHANERR_LENGTH_ERR, "size is 0 or above 2^XFERCAP");
            return;
        }
        t = (EmuTick)size * d->p.copy_ps_per_byte;
    }
    c->phase = IOAT_PHASE_EXEC;
    emu_timer_mod(&c->work, emu_sim_now(d->sim) + t);
}

/* Moves the data of c->cur; returns 0 or the CHANERR bit of the failure. */
static uint32_t chan_move_data(IoatChan *c, const char **why)
{
    IoatDevice *d = c->dev;
    const IoatDesc *desc = &c->cur;
    bool fill = ioat_desc_op(desc) == IOAT_OP_FILL;
    uint64_t src = ioat_desc_src_addr(desc), dst = ioat_desc_dst_addr(desc);
    uint32_t left = ioat_desc_size(desc);
    if (fill) {
        /* the pattern repeats from the destination's start */
        for (unsigned i = 0; i < IOAT_PIECE; i++) {
            d->buf[i] = (uint8_t)(src >> (8 * (i & 7)));
        }
    }
    while (left) {
        uint32_t n = MIN(left, IOAT_PIECE);
        PcieCplStatus st;
        if (!fill) {
            st = pcie_fn_dma_read(d->fn, src, d->buf, n, NULL);
            if (st != PCIE_CPL_SC) {
                *why = "source read failed";
                return IOAT_CHANERR_READ_DATA_ERR;
            }
            src += n;
        }
        st = pcie_fn_dma_write(d->fn, dst, d->buf, n, NULL);
        if (st != PCIE_CPL_SC) {
            *why = "destination write failed";
            return IOAT_CHANERR_WRITE_DATA_ERR;
        }
        d->stats.bytes += n;
        dst += n;
        left -= n;
    }
    return 0;
}

static void chan_exec(IoatChan *c)
{
    IoatDevice *d = c->dev;
    const IoatDesc *desc = &c->cur;
    if (!ioat_desc_null(desc)) {
        const char *why = "";
        uint32_t err = chan_move_data(c, &why);
        if (err) {
            chan_error(c, err, why);
            return;
        }
    }
    c->completed = c->cur_addr;
    c->count++;
    c->next_desc = ioat_desc_next(desc);
    c->chain_start = false;
    c->busy = false;
    d->stats.descriptors++;
    unsigned state;
    if (c->suspend_req) {
        c->suspend_req = false;
        state = IOAT_CHANSTS_SUSPENDED;
    } else if (c->count != (uint16_t)chan_get(c, IOAT_DMACOUNT, 2)) {
        state = IOAT_CHANSTS_ACTIVE;
    } else {
        state = IOAT_CHANSTS_DONE;
    }
    chan_set_state(c, state);
    if (ioat_desc_compl_write(desc) && !chan_write_completion(c)) {
        chan_error(c, IOAT_CHANERR_COMPLETION_ADDR_ERR, "completion write failed");
        return;
    }
    if (ioat_desc_int_en(desc)) {
        chan_interrupt(c, false);
    }
    if (state == IOAT_CHANSTS_ACTIVE) {
        chan_kick(c);
    }
}

static void chan_work(EmuSim *sim, void *opaque)
{
    IoatChan *c = opaque;
    (void)sim;
    if (!c->busy) {
        return;
    }
    if (c->phase == IOAT_PHASE_FETCH) {
        chan_fetch(c);
    } else {
        chan_exec(c);
    }
}

static void chan_reset_done(EmuSim *sim, void *opaque)
{
    IoatChan *c = opaque;
    (void)sim;
    c->reset_pending = false;
    chan_set(c, IOAT_CHANCMD, 1, 0);
    chan_kick(c);   /* DMACOUNT may have been written while the reset ran */
}

/* ---- register side effects ------------------------------------------------ */

static void chan_command(IoatChan *c, uint8_t cmd)
{
    IoatDevice *d = c->dev;
    if (cmd & IOAT_CHANCMD_RESET) {
        chan_reset(c);
        glob_set(d, IOAT_ATTNSTATUS, 4, glob_get(d, IOAT_ATTNSTATUS, 4) & ~(1u << c->index));
        ioat_update_intr(d);
        c->reset_pending = true;
        emu_timer_mod(&c->reset_timer, emu_sim_now(d->sim) + d->p.reset_ps);
        return;   /* the other bits of the same write are lost in the reset */
    }
    if (cmd & IOAT_CHANCMD_ABORT) {
        /* drops the descriptor in flight; like an error, only RESET leaves HALTED */
        emu_timer_del(&c->work);
        c->busy = false;
        c->suspend_req = false;
        c->error_halt = true;
        chan_set_state(c, IOAT_CHANSTS_HALTED);
        return;
    }
    if (cmd & IOAT_CHANCMD_SUSPEND) {
        if (c->busy) {
            c->suspend_req = true;
        } else if (c->state != IOAT_CHANSTS_HALTED) {
            chan_set_state(c, IOAT_CHANSTS_SUSPENDED);
        }
    }
    if (cmd & IOAT_CHANCMD_RESUME) {
        if (c->suspend_req) {
            c->suspend_req = false;
        } else if (c->state == IOAT_CHANSTS_SUSPENDED) {
            chan_set_state(c, IOAT_CHANSTS_DONE);
            chan_kick(c);
        }
    }
    if (cmd & (IOAT_CHANCMD_APPEND | IOAT_CHANCMD_START)) {
        chan_kick(c);
    }
}

/* CHAINADDR written: an idle channel arms with a new chain. */
static void chan_chainaddr_written(IoatChan *c)
{
    if (c->busy) {
        emu_guest_error("%s ch%u: CHAINADDR written while a descriptor is in flight; the running"
                        " chain is not affected", pcie_fn_name(c->dev->fn), c->index);
        return;
    }
    if (c->error_halt) {
        emu_guest_error("%s ch%u: CHAINADDR written while halted on an error; reset the channel"
                        " first", pcie_fn_name(c->dev->fn), c->index);
        return;
    }
    c->next_desc = chan_get(c, IOAT_CHAINADDR, 8);
    c->chain_start = true;
    c->count = 0;
    c->completed = 0;
    c->suspend_req = false;
    chan_set_state(c, IOAT_CHANSTS_ARMED);
}

static void chan_write(IoatChan *c, unsigned off, unsigned size, uint64_t val)
{
    const IoatRegDef *r = reg_lookup(ioat_chan_regs, G_N_ELEMENTS(ioat_chan_regs), off, size);
    if (!r) {
        emu_guest_error("%s ch%u: %u-byte write to channel offset 0x%02x: no such register or"
                        " wrong size; ignored", pcie_fn_name(c->dev->fn), c->index, size, off);
        return;
    }
    reg_write_masked(c->regs, r, off, size, val);
    switch (r->off) {
    case IOAT_CHANCMD:
        chan_set(c, IOAT_CHANCMD, 1, 0);
        chan_command(c, (uint8_t)val);
        break;
    case IOAT_CHANCTRL:
        if (val & IOAT_CHANCTRL_INT_REARM) {
            IoatDevice *d = c->dev;
            glob_set(d, IOAT_ATTNSTATUS, 4, glob_get(d, IOAT_ATTNSTATUS, 4) & ~(1u << c->index));
            ioat_update_intr(d);
        }
        break;
    case IOAT_DMACOUNT:
        chan_kick(c);
        break;
    case IOAT_CHAINADDR:
        chan_chainaddr_written(c);
        break;
    default:
        break;
    }
    if (c->reset_pending) {
        chan_set(c, IOAT_CHANCMD, 1, IOAT_CHANCMD_RESET);
    }
}

/* ---- BAR0 ------------------------------------------------------------------ */

/* The channel whose block holds @addr, or NULL (global block, beyond CHANCNT). */
static IoatChan *chan_at(IoatDevice *d, uint64_t addr)
{
    uint64_t n = addr / IOAT_CHANNEL_MMIO_SIZE;
    if (n == 0 || n > d->p.channels) {
        return NULL;
    }
    return &d->chan[n - 1];
}

static uint64_t ioat_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    IoatDevice *d = opaque;
    unsigned off = (unsigned)(addr % IOAT_CHANNEL_MMIO_SIZE);
    if (addr < IOAT_CHANNEL_MMIO_SIZE) {
        if (!reg_lookup(ioat_global_regs, G_N_ELEMENTS(ioat_global_regs), off, size)) {
            emu_guest_error("%s: %u-byte read at BAR0+0x%02x: no such register or wrong size;"
                            " reads 0", pcie_fn_name(d->fn), size, off);
            return 0;
        }
        return glob_get(d, off, size);
    }
    IoatChan *c = chan_at(d, addr);
    if (!c || !reg_lookup(ioat_chan_regs, G_N_ELEMENTS(ioat_chan_regs), off, size)) {
        emu_guest_error("%s: %u-byte read at BAR0+0x%04" G_GINT64_MODIFIER "x: no such register"
                        " or wrong size; reads 0", pcie_fn_name(d->fn), size, (guint64)addr);
        return 0;
    }
    return chan_get(c, off, size);
}

static void ioat_mmio_write(void *opaque, uint64_t addr, uint64_t val, unsigned size)
{
    IoatDevice *d = opaque;
    unsigned off = (unsigned)(addr % IOAT_CHANNEL_MMIO_SIZE);
    if (addr < IOAT_CHANNEL_MMIO_SIZE) {
        const IoatRegDef *r = reg_lookup(ioat_global_regs, G_N_ELEMENTS(ioat_global_regs), off, size);
        if (!r) {
            emu_guest_error("%s: %u-byte write at BAR0+0x%02x: no such register or wrong size;"
                            " ignored", pcie_fn_name(d->fn), size, off);
            return;
        }
        reg_write_masked(d->regs, r, off, size, val);
        if (r->off == IOAT_INTRCTRL) {
            ioat_update_intr(d);
        }
        return;
    }
    IoatChan *c = chan_at(d, addr);
    if (!c) {
        emu_guest_error("%s: %u-byte write at BAR0+0x%04" G_GINT64_MODIFIER "x: no register there;"
                        " ignored", pcie_fn_name(d->fn), size, (guint64)addr);
        return;
    }
    chan_write(c, off, size, val);
}

static const MmioOps ioat_mmio_ops = {
    .name = "ioat-bar0",
    .read = ioat_mmio_read,
    .write = ioat_mmio_write,
    .min_access = 1,
    .max_access = 8,
};

/* ---- function lifecycle --------------------------------------------------- */

/* Power-on values of every register of @d (creation, FLR, conventional reset). */
static void ioat_reset_state(IoatDevice *d)
{
    regs_reset(d->regs, ioat_global_regs, G_N_ELEMENTS(ioat_global_regs));
    d->regs[IOAT_CHANCNT] = (uint8_t)d->p.channels;
    d->regs[IOAT_XFERCAP] = (uint8_t)d->p.xfercap;
    for (unsigned i = 0; i < d->p.channels; i++) {
        chan_reset(&d->chan[i]);
    }
    ioat_update_intr(d);
}

static void ioat_fn_reset(void *opaque, PcieFn *fn)
{
    IoatDevice *d = opaque;
    (void)fn;
    d->intx_level = false;   /* the fabric lowered the line */
    ioat_reset_state(d);
}

static void ioat_fn_destroy(void *opaque, PcieFn *fn)
{
    IoatDevice *d = opaque;
    (void)fn;
    for (unsigned i = 0; i < d->p.channels; i++) {
        emu_timer_del(&d->chan[i].work);
        emu_timer_del(&d->chan[i].reset_timer);
    }
    g_free(d);
}

/* MSI / MSI-X enable changes move the interrupt between INTx and messages. */
static void ioat_fn_config_write(void *opaque, PcieFn *fn, uint16_t off, unsigned size,
                                 uint32_t val)
{
    (void)fn;
    (void)off;
    (void)size;
    (void)val;
    ioat_update_intr(opaque);
}

static const PcieFnOps ioat_fn_ops = {
    .name = "ioat",
    .config_write = ioat_fn_config_write,
    .reset = ioat_fn_reset,
    .destroy = ioat_fn_destroy,
};

static IoatDevice *ioat_state_new(PcieFabric *f, const IoatParams *p, bool is_vf)
{
    IoatDevice *d = g_new0(IoatDevice, 1);
    d->sim = pcie_fabric_sim(f);
    d->p = *p;
    d->is_vf = is_vf;
    for (unsigned i = 0; i < p->channels; i++) {
        IoatChan *c = &d->chan[i];
        c->dev = d;
        c->index = i;
        emu_timer_init(&c->work, d->sim, EVQ_PRIO_DEFAULT, chan_work, c);
        emu_timer_init(&c->reset_timer, d->sim, EVQ_PRIO_DEFAULT, chan_reset_done, c);
    }
    return d;
}

/* BAR0, MSI-X, FLR and the device-specific config registers a PF and its VFs share. */
static void ioat_setup_fn(IoatDevice *d)
{
    PcieFn *fn = d->fn;
    pcie_fn_bar_init(fn, 0, IOAT_BAR0_SIZE, PCIE_BAR_MEM64, &ioat_mmio_ops, d);
    pcie_cap_msix_init(fn, d->p.channels, 0, IOAT_MSIX_TABLE_OFFSET, 0, IOAT_MSIX_PBA_OFFSET);
    pcie_fn_set_flr_capable(fn, true);
    pcie_fn_set_masks(fn, IOAT_PCI_DMAUNCERRSTS, 4, 0, 0xffffffffu);
    pcie_fn_set_masks(fn, IOAT_PCI_CHANERR_INT, 4, 0, 0xffffffffu);
    pcie_fn_set_masks(fn, IOAT_PCI_CHANERRMSK_INT, 4, 0xffffffffu, 0);
    ioat_reset_state(d);
}

static void ioat_vf_added(void *pf_opaque, PcieFn *pf, PcieFn *vf)
{
    IoatDevice *pfd = pf_opaque;
    (void)pf;
    IoatDevice *d = ioat_state_new(pcie_fn_fabric(vf), &pfd->p, true);
    d->fn = vf;
    pcie_fn_set_ops(vf, &ioat_fn_ops, d);
    ioat_setup_fn(d);
}

void ioat_params_default(IoatParams *p)
{
    *p = (IoatParams){
        .device_id = IOAT_DEVICE_ID_SKX,
        .channels = 1,
        .xfercap = 20,
        .reset_ps = 1 * EMU_TICKS_PER_US,
        .desc_ps = 100 * EMU_TICKS_PER_NS,
        .copy_ps_per_byte = 200,
        .total_vfs = 0,
        .vf_offset = 1,
        .vf_stride = 1,
        .vf_device_id = IOAT_DEVICE_ID_SKX,
    };
}

IoatDevice *ioat_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, const IoatParams *params,
                     GError **error)
{
    IoatParams def;
    if (!params) {
        ioat_params_default(&def);
        params = &def;
    }
    if (params->channels < 1 || params->channels > IOAT_MAX_CHANNELS) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID, "ioat: channels %u: expected 1..%u",
                    params->channels, IOAT_MAX_CHANNELS);
        return NULL;
    }
    if (params->xfercap < 5 || params->xfercap > 31) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "ioat: xfercap %u: expected 5..31 (log2 of the largest transfer)",
                    params->xfercap);
        return NULL;
    }
    if (params->total_vfs && (params->vf_offset == 0 ||
                              (params->total_vfs > 1 && params->vf_stride == 0))) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "ioat: First VF Offset must not be 0, nor VF Stride with more than one VF");
        return NULL;
    }
    IoatDevice *d = ioat_state_new(f, params, false);
    PcieFnKind kind = parent ? PCIE_KIND_ENDPOINT : PCIE_KIND_RC_INTEGRATED;
    d->fn = pcie_fn_new(f, parent, devfn, kind, IOAT_VENDOR_ID, params->device_id,
                        IOAT_CLASS_CODE, &ioat_fn_ops, d, error);
    if (!d->fn) {
        g_free(d);
        return NULL;
    }
    pcie_fn_set(d->fn, PCI_INTERRUPT_PIN, 1, 1);
    pcie_cap_msi_init(d->fn, 1, true, false);
    ioat_setup_fn(d);
    if (params->total_vfs) {
        PcieSriovParams sp = {
            .total_vfs = params->total_vfs,
            .initial_vfs = params->total_vfs,
            .first_vf_offset = params->vf_offset,
            .vf_stride = params->vf_stride,
            .vf_device_id = params->vf_device_id,
            .vf_added = ioat_vf_added,
        };
        sp.vf_bar_size[0] = IOAT_BAR0_SIZE;
        sp.vf_bar_flags[0] = PCIE_BAR_MEM64;
        pcie_cap_sriov_init(d->fn, &sp);
    }
    pcie_fn_set_name(d->fn, "ioat");
    return d;
}

PcieFn *ioat_fn(IoatDevice *d)
{
    return d->fn;
}

gboolean ioat_fn_stats(PcieFn *fn, IoatStats *out)
{
    if (!pcie_fn_has_ops(fn, &ioat_fn_ops)) {
        return FALSE;
    }
    const IoatDevice *d = pcie_fn_opaque(fn);
    *out = d->stats;
    return TRUE;
}
