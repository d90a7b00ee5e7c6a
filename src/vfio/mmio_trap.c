/*
 * MMIO trapping: a SIGSEGV handler that emulates the faulting instruction.
 *
 * The decoder is written from the encoding rules of the Intel SDM vol. 2
 * (chapter 2: prefixes, REX, ModRM/SIB/displacement; the opcode maps of
 * appendix A) for 64-bit mode only.  It decodes exactly the instructions a
 * compiler emits for volatile device-register accesses and refuses the
 * rest.  The effective address is recomputed from ModRM/SIB/displacement
 * and the interrupted registers, because the fault address (si_addr, CR2)
 * is where the access first hit a page without access rights - for an
 * access that begins on an ordinary page and runs into a trapped one that
 * is the trapped page, not the start.  With an FS/GS override (segment
 * base not in the signal frame) the fault address is used instead.
 *
 * Supported (m = memory operand; os = 16/32/64-bit operand size from 66 /
 * REX.W):
 *   88 /r  MOV m8,r8         89 /r  MOV m,r          8A /r  MOV r8,m8
 *   8B /r  MOV r,m           C6 /0  MOV m8,imm8      C7 /0  MOV m,imm16/32
 *   A0-A3  MOV AL/rAX <-> moffs (8-byte offset, 4 with 67)
 *   0F B6/B7 MOVZX r,m8/m16  0F BE/BF MOVSX r,m8/m16 REX.W 63 MOVSXD r64,m32
 *   80/81/83 /7 CMP m,imm    38/39 CMP m,r           3A/3B CMP r,m
 *   F6/F7 /0 TEST m,imm      84/85 TEST m,r
 *   66 0F 6E MOVD/MOVQ xmm,m 66 0F 7E MOVD/MOVQ m,xmm F3 0F 7E MOVQ xmm,m64
 *   66 0F D6 MOVQ m64,xmm    0F 10/11 MOVUPS/MOVUPD (66), MOVSS (F3), MOVSD (F2)
 *   0F 28/29 MOVAPS/MOVAPD   66/F3 0F 6F/7F MOVDQA/MOVDQU
 *   0F 2B MOVNTPS/MOVNTPD    66 0F E7 MOVNTDQ        0F C3 MOVNTI m,r
 * with any of the prefixes 66, 67 (32-bit addressing), F2, F3, segment
 * overrides and REX.  Register-only forms (mod = 3) cannot fault on memory
 * and are refused.  CMP/TEST only read; the flags CF PF AF ZF SF OF are
 * computed as the CPU would (AF, which the SDM leaves undefined after the
 * logical operations, is cleared).  A 16-byte access is two 8-byte
 * callbacks, low half first.
 *
 * Read-modify-write, because clang folds a volatile `*reg |= bit` into
 * `or $bit, (reg)`: the ALU rows 00-3B (ADD OR ADC SBB AND SUB XOR as
 * m,r and r,m), 80/81/83 /0-/6 ALU m,imm, FE/FF /0 /1 INC/DEC m, F6/F7
 * /2 /3 NOT/NEG m - a read callback, then a write callback of the result
 * for the memory-destination forms, with the flags of each operation.
 * LOCK is accepted on those: every trapped access is serialised by the
 * trap lock, so the pair is atomic with respect to all others.
 *
 * Not supported: XCHG, XADD, CMPXCHG, string instructions, PUSH/POP m,
 * shifts and rotates, MUL/DIV, BT*, SETcc m, MMX, x87, VEX/EVEX (AVX).
 * An unsupported instruction on a trapped address is reported once on
 * stderr and the default SIGSEGV action restored, so the program dies at
 * that instruction (with a core dump) instead of looping.
 *
 * Globals: the registry below is the only one, and is inherently
 * process-wide - a signal disposition belongs to the process, and the
 * handler has no other way to find the ranges it serves.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "core/error.h"
#include "vfio/mmio_trap.h"

/* ---- decoder -------------------------------------------------------------- */

/* Operand size of a non-byte GPR instruction (SDM vol. 1, 3.6.1). */
static unsigned gpr_opsize(bool rex_w, bool opsize_prefix)
{
    return rex_w ? 8 : opsize_prefix ? 2 : 4;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
    if (size >= 8 || size == 0) {
        return v;
    }
    uint64_t sign = 1ull << (size * 8 - 1);
    uint64_t mask = (sign << 1) - 1;
    return ((v & mask) ^ sign) - sign;
}

/* Fills the register operand of a byte instruction: without any REX,
 * register numbers 4..7 are AH CH DH BH (SDM vol. 2, table 3-1), i.e. bits
 * 15:8 of RAX RCX RDX RBX; with any REX they are SPL BPL SIL DIL. */
static void set_byte_reg(MmioInsn *out, int reg, bool any_rex)
{
    out->reg_kind = MMIO_REG_GPR;
    if (!any_rex && reg >= 4 && reg <= 7) {
        out->high8 = true;
        out->reg = reg - 4;
    } else {
        out->reg = reg;
    }
}

static uint64_t load_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

int mmio_decode(const uint8_t *insn, size_t avail, MmioInsn *out)
{
    size_t lim = avail < MMIO_INSN_MAX_LEN ? avail : MMIO_INSN_MAX_LEN;
    size_t i = 0;
    bool opsize_prefix = false, addr32 = false, lock = false;
    uint8_t rep = 0, rex = 0;

    memset(out, 0, sizeof(*out));
    out->reg = -1;
    out->ea_base = -1;
    out->ea_index = -1;
    out->ea_scale = 1;

/* Needs n more bytes: past 15 the CPU itself would refuse (#GP). */
#define NEED(n)                                                         \
    do {                                                                \
        if (i + (n) > lim) {                                            \
            return avail >= MMIO_INSN_MAX_LEN ? MMIO_DECODE_UNSUPPORTED \
                                              : MMIO_DECODE_TRUNCATED;  \
        }                                                               \
    } while (0)

    /* Prefixes.  A REX counts only directly before the opcode; one followed
     * by a legacy prefix is ignored (SDM vol. 2, 2.2.1). */
    for (;;) {
        NEED(1);
        uint8_t b = insn[i];
        if (b == 0x66) {
            opsize_prefix = true;
        } else if (b == 0x67) {
            addr32 = true;
        } else if (b == 0xF0) {
            lock = true;        /* valid only on the read-modify-write forms, checked below */
        } else if (b == 0xF2 || b == 0xF3) {
            rep = b;            /* the last of F2/F3 wins */
        } else if (b == 0x2E || b == 0x3E || b == 0x26 || b == 0x36) {
            /* CS/DS/ES/SS overrides: base 0 in 64-bit mode */
        } else if (b == 0x64 || b == 0x65) {
            out->ea_seg_base = true;    /* FS/GS: a base we cannot see here */
        } else if ((b & 0xF0) == 0x40) {
            rex = b;
            i++;
            continue;
        } else {
            break;
        }
        rex = 0;
        i++;
    }
    bool any_rex = rex != 0;
    bool rex_w = rex & 0x08;
    int rex_r = (rex & 0x04) ? 8 : 0;
    unsigned os = gpr_opsize(rex_w, opsize_prefix);
    /* For SSE opcodes F2/F3 take precedence over 66 as the mandatory prefix. */
    uint8_t sse_prefix = rep ? rep : opsize_prefix ? 0x66 : 0;

    NEED(1);
    uint8_t op = insn[i++];
    bool two_byte = false;
    if (op == 0x0F) {
        NEED(1);
        op = insn[i++];
        two_byte = true;
    }

    /* moffs forms have no ModRM: the absolute address follows the opcode. */
    if (!two_byte && op >= 0xA0 && op <= 0xA3) {
        if (lock) {
            return MMIO_DECODE_UNSUPPORTED;
        }
        unsigned size = (op & 1) ? os : 1;
        size_t moffs = addr32 ? 4 : 8;
        NEED(moffs);
        out->ea_disp = (int64_t)load_le(insn + i, moffs);
        out->ea_addr32 = addr32;
        i += moffs;
        out->op = (op & 2) ? MMIO_OP_STORE : MMIO_OP_LOAD;
        out->is_write = out->op == MMIO_OP_STORE;
        out->size = size;
        out->dst_size = out->op == MMIO_OP_LOAD ? size : 0;
        out->reg_kind = MMIO_REG_GPR;
        out->reg = 0;
        return (int)i;
    }

    /* Which form is this?  Everything below has a ModRM memory operand. */
    unsigned imm_bytes = 0;
    int need_regfield = -1;     /* opcode extension the ModRM reg field must hold */
    int group = 0;              /* 80/81/83/F6/F7/FE/FF: the reg field picks the operation */
    enum { R_NONE, R_GPR, R_GPR8, R_XMM } regop = R_NONE;
    out->ext = MMIO_EXT_NONE;

    if (!two_byte) {
        switch (op) {
        case 0x88: out->op = MMIO_OP_STORE; out->size = 1;  regop = R_GPR8; break;
        case 0x89: out->op = MMIO_OP_STORE; out->size = os; regop = R_GPR;  break;
        case 0x8A: out->op = MMIO_OP_LOAD;  out->size = 1;  regop = R_GPR8; break;
        case 0x8B: out->op = MMIO_OP_LOAD;  out->size = os; regop = R_GPR;  break;
        case 0xC6:
            out->op = MMIO_OP_STORE; out->size = 1; need_regfield = 0; imm_bytes = 1;
            break;
        case 0xC7:
            out->op = MMIO_OP_STORE; out->size = os; need_regfield = 0;
            imm_bytes = os == 2 ? 2 : 4;    /* imm32 sign-extended for REX.W */
            break;
        case 0x63:
            if (!rex_w) {
                return MMIO_DECODE_UNSUPPORTED;  /* 32/16-bit MOVSXD: discouraged, never emitted */
            }
            out->op = MMIO_OP_LOAD; out->size = 4; out->dst_size = 8; out->ext = MMIO_EXT_SIGN;
            regop = R_GPR;
            break;
        case 0x80: case 0xF6: case 0xFE:
            group = op; out->size = 1;
            break;
        case 0x81: case 0x83: case 0xF7: case 0xFF:
            group = op; out->size = os;
            break;
        case 0x84: out->op = MMIO_OP_TEST; out->size = 1;  regop = R_GPR8; break;
        case 0x85: out->op = MMIO_OP_TEST; out->size = os; regop = R_GPR;  break;
        default:
            /* The ALU rows 00-3B: ADD OR ADC SBB AND SUB XOR CMP, each as
             * r/m8,r8 / r/m,r (memory destination) and r8,r/m8 / r,r/m
             * (register destination). */
            if (op >= 0x40 || (op & 7) > 3) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->alu = (MmioAlu)(op >> 3);
            out->size = (op & 1) ? os : 1;
            regop = (op & 1) ? R_GPR : R_GPR8;
            if (out->alu == MMIO_ALU_CMP) {
                out->op = MMIO_OP_CMP;
                out->mem_is_rhs = op & 2;
            } else {
                out->op = (op & 2) ? MMIO_OP_ALU_LOAD : MMIO_OP_RMW;
            }
            break;
        }
    } else {
        switch (op) {
        case 0xB6: case 0xB7: case 0xBE: case 0xBF:
            out->op = MMIO_OP_LOAD;
            out->size = (op & 1) ? 2 : 1;
            out->dst_size = os;
            out->ext = (op & 8) ? MMIO_EXT_SIGN : MMIO_EXT_ZERO;
            regop = R_GPR;
            break;
        case 0xC3:                  /* MOVNTI m32/m64, r (no 16-bit form) */
            if (os == 2) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->op = MMIO_OP_STORE;
            out->size = os;
            regop = R_GPR;
            break;
        case 0x10: case 0x11:       /* MOVUPS/MOVUPD/MOVSS/MOVSD */
            out->op = (op & 1) ? MMIO_OP_STORE : MMIO_OP_LOAD;
            out->size = sse_prefix == 0xF3 ? 4 : sse_prefix == 0xF2 ? 8 : 16;
            regop = R_XMM;
            break;
        case 0x28: case 0x29:       /* MOVAPS/MOVAPD */
        case 0x2B:                  /* MOVNTPS/MOVNTPD (store only) */
            if (sse_prefix != 0 && sse_prefix != 0x66) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->op = (op & 1) ? MMIO_OP_STORE : MMIO_OP_LOAD;
            out->size = 16;
            regop = R_XMM;
            break;
        case 0x6F: case 0x7F:       /* MOVDQA (66) / MOVDQU (F3); bare is MMX */
            if (sse_prefix != 0x66 && sse_prefix != 0xF3) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->op = op == 0x7F ? MMIO_OP_STORE : MMIO_OP_LOAD;
            out->size = 16;
            regop = R_XMM;
            break;
        case 0x6E:                  /* MOVD/MOVQ xmm, r/m */
            if (sse_prefix != 0x66) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->op = MMIO_OP_LOAD;
            out->size = rex_w ? 8 : 4;
            regop = R_XMM;
            break;
        case 0x7E:
            if (sse_prefix == 0x66) {           /* MOVD/MOVQ r/m, xmm */
                out->op = MMIO_OP_STORE;
                out->size = rex_w ? 8 : 4;
            } else if (sse_prefix == 0xF3) {    /* MOVQ xmm, xmm/m64 */
                out->op = MMIO_OP_LOAD;
                out->size = 8;
            } else {
                return MMIO_DECODE_UNSUPPORTED;
            }
            regop = R_XMM;
            break;
        case 0xD6:                  /* MOVQ xmm/m64, xmm */
        case 0xE7:                  /* MOVNTDQ */
            if (sse_prefix != 0x66) {
                return MMIO_DECODE_UNSUPPORTED;
            }
            out->op = MMIO_OP_STORE;
            out->size = op == 0xD6 ? 8 : 16;
            regop = R_XMM;
            break;
        default:
            return MMIO_DECODE_UNSUPPORTED;
        }
    }

    /* ModRM, then SIB and displacement (SDM vol. 2, 2.1.5 and 2.2.1.6).
     * 32-bit addressing (67) uses the same forms in 64-bit mode, so it does
     * not change the length here. */
    NEED(1);
    uint8_t modrm = insn[i++];
    unsigned mod = modrm >> 6;
    int regfield = (modrm >> 3) & 7;
    unsigned rm = modrm & 7;
    if (mod == 3) {
        return MMIO_DECODE_UNSUPPORTED;     /* register operand: no memory access */
    }
    if (need_regfield >= 0 && regfield != need_regfield) {
        return MMIO_DECODE_UNSUPPORTED;     /* another group member: ADD/OR/NOT/NEG/... */
    }
    int rex_x = (rex & 0x02) ? 8 : 0;
    int rex_b = (rex & 0x01) ? 8 : 0;
    size_t disp = mod == 1 ? 1 : mod == 2 ? 4 : 0;
    if (rm == 4) {
        NEED(1);
        uint8_t sib = insn[i++];
        int index = ((sib >> 3) & 7) + rex_x;
        out->ea_index = index == 4 ? -1 : index;   /* 100b without REX.X: no index */
        out->ea_scale = 1u << (sib >> 6);
        if (mod == 0 && (sib & 7) == 5) {
            disp = 4;                       /* no base, disp32 */
        } else {
            out->ea_base = (sib & 7) + rex_b;
        }
    } else if (mod == 0 && rm == 5) {
        disp = 4;                           /* RIP-relative, whatever REX.B says */
        out->ea_base = MMIO_EA_RIP;
    } else {
        out->ea_base = (int)rm + rex_b;
    }
    NEED(disp);
    out->ea_disp = (int64_t)sign_extend(load_le(insn + i, disp), (unsigned)disp);
    out->ea_addr32 = addr32;
    i += disp;

    switch (group) {
    case 0x80: case 0x81: case 0x83:   /* ALU m, imm; /7 is CMP */
        out->alu = (MmioAlu)regfield;
        out->op = out->alu == MMIO_ALU_CMP ? MMIO_OP_CMP : MMIO_OP_RMW;
        imm_bytes = group == 0x81 ? (os == 2 ? 2 : 4) : 1;
        break;
    case 0xF6: case 0xF7:               /* /0 TEST m,imm; /2 NOT; /3 NEG */
        if (regfield == 0) {
            out->op = MMIO_OP_TEST;
            imm_bytes = group == 0xF6 ? 1 : os == 2 ? 2 : 4;
        } else if (regfield == 2 || regfield == 3) {
            out->op = MMIO_OP_RMW;
            out->alu = regfield == 2 ? MMIO_ALU_NOT : MMIO_ALU_NEG;
        } else {
            return MMIO_DECODE_UNSUPPORTED;     /* MUL/IMUL/DIV/IDIV (and the /1 alias) */
        }
        break;
    case 0xFE: case 0xFF:               /* /0 INC; /1 DEC; FF /2../6 CALL/JMP/PUSH */
        if (regfield > 1) {
            return MMIO_DECODE_UNSUPPORTED;
        }
        out->op = MMIO_OP_RMW;
        out->alu = regfield == 0 ? MMIO_ALU_INC : MMIO_ALU_DEC;
        break;
    default:
        break;
    }
    if (lock && out->op != MMIO_OP_RMW) {
        return MMIO_DECODE_UNSUPPORTED;     /* LOCK elsewhere is #UD */
    }

    if (imm_bytes) {
        NEED(imm_bytes);
        uint64_t v = load_le(insn + i, imm_bytes);
        i += imm_bytes;
        out->has_imm = true;
        out->imm = sign_extend(v, imm_bytes);
    }
#undef NEED

    switch (regop) {
    case R_NONE:
        break;
    case R_GPR:
        out->reg_kind = MMIO_REG_GPR;
        out->reg = regfield + rex_r;
        break;
    case R_GPR8:
        set_byte_reg(out, regfield + rex_r, any_rex);
        break;
    case R_XMM:
        out->reg_kind = MMIO_REG_XMM;
        out->reg = regfield + rex_r;
        break;
    }
    out->is_write = out->op == MMIO_OP_STORE || out->op == MMIO_OP_RMW;
    out->lock = lock;
    if (out->op == MMIO_OP_LOAD && out->dst_size == 0) {
        out->dst_size = regop == R_XMM ? 16 : out->size;
    }
    if (regop == R_XMM && out->op == MMIO_OP_LOAD) {
        out->ext = MMIO_EXT_ZERO;           /* MOVD/MOVQ/MOVSS/MOVSD clear the rest of the XMM */
    }
    return (int)i;
}

bool mmio_insn_ea(const MmioInsn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea)
{
    if (in->ea_seg_base) {
        return false;
    }
    uint64_t a = (uint64_t)in->ea_disp;
    if (in->ea_base == MMIO_EA_RIP) {
        a += next_rip;
    } else if (in->ea_base >= 0) {
        a += gpr[in->ea_base];
    }
    if (in->ea_index >= 0) {
        a += gpr[in->ea_index] * in->ea_scale;
    }
    *ea = in->ea_addr32 ? (a & 0xffffffffull) : a;
    return true;
}

/* ---- registry ------------------------------------------------------------- */

struct MmioTrap {
    /* base/len are read without the lock by the handler's first look, so
     * it can pass a genuine crash on without ever touching the lock; base
     * is published last (release) and 0 marks a free slot. */
    _Atomic uintptr_t base;
    _Atomic size_t len;
    /* Written and read only under the lock. */
    const MmioTrapOps *ops;
    void *opaque;
};

static struct {
    pthread_mutex_t lock;       /* recursive: see mmio_trap_lock() */
    bool installed;             /* under lock */
    struct sigaction prev;      /* the disposition we chain to; set once */
    long page_size;
    MmioTrap slots[MMIO_TRAP_MAX];
} trap_registry = {
    .lock = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP,
};

void mmio_trap_lock(void)
{
    pthread_mutex_lock(&trap_registry.lock);
}

void mmio_trap_unlock(void)
{
    pthread_mutex_unlock(&trap_registry.lock);
}

static MmioTrap *trap_find(uintptr_t addr)
{
    for (size_t k = 0; k < MMIO_TRAP_MAX; k++) {
        MmioTrap *t = &trap_registry.slots[k];
        uintptr_t b = atomic_load_explicit(&t->base, memory_order_acquire);
        if (b && addr >= b && addr - b < atomic_load_explicit(&t->len, memory_order_relaxed)) {
            return t;
        }
    }
    return NULL;
}

/* ---- the handler ---------------------------------------------------------- */

/* gregs index of each GPR in encoding order. */
static const int gpr_greg[16] = {
    REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
    REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

static uint64_t gpr_get(const ucontext_t *uc, const MmioInsn *in, unsigned size)
{
    uint64_t full = (uint64_t)uc->uc_mcontext.gregs[gpr_greg[in->reg]];
    if (in->high8) {
        return (full >> 8) & 0xff;
    }
    return full & size_mask(size);
}

/* The CPU's rules for writing a GPR (SDM vol. 1, 3.4.1.1): a 32-bit result
 * clears bits 63:32; 8- and 16-bit results leave the other bits alone. */
static void gpr_set(ucontext_t *uc, const MmioInsn *in, unsigned size, uint64_t v)
{
    greg_t *r = &uc->uc_mcontext.gregs[gpr_greg[in->reg]];
    uint64_t full = (uint64_t)*r;
    if (in->high8) {
        full = (full & ~0xff00ull) | ((v & 0xff) << 8);
    } else if (size >= 8) {
        full = v;
    } else if (size == 4) {
        full = v & 0xffffffffull;
    } else {
        full = (full & ~size_mask(size)) | (v & size_mask(size));
    }
    *r = (greg_t)full;
}

/* XMM registers live in the FXSAVE image the kernel put in the signal
 * frame; sigreturn loads them back from there. */
static void xmm_get(const ucontext_t *uc, int reg, uint64_t q[2])
{
    memcpy(q, uc->uc_mcontext.fpregs->_xmm[reg].element, 16);
}

static void xmm_set(ucontext_t *uc, int reg, const uint64_t q[2])
{
    memcpy(uc->uc_mcontext.fpregs->_xmm[reg].element, q, 16);
}

/* Arithmetic flags in RFLAGS. */
enum {
    EFL_CF = 1u << 0, EFL_PF = 1u << 2, EFL_AF = 1u << 4,
    EFL_ZF = 1u << 6, EFL_SF = 1u << 7, EFL_OF = 1u << 11,
};

static uint64_t parity_zero_sign(uint64_t res, uint64_t sign)
{
    uint64_t fl = 0;
    if (res == 0) {
        fl |= EFL_ZF;
    }
    if (res & sign) {
        fl |= EFL_SF;
    }
    if (!__builtin_parity((unsigned)(res & 0xff))) {
        fl |= EFL_PF;           /* even number of ones in the low byte */
    }
    return fl;
}

/* Computes a @alu b at @size bytes as the CPU does (SDM vol. 2, each
 * instruction's "Flags Affected"), updating *@efl; returns the result.
 * AF, which the SDM leaves undefined for AND/OR/XOR/TEST, is cleared. */
static uint64_t alu_apply(MmioAlu alu, uint64_t a, uint64_t b, unsigned size, uint64_t *efl)
{
    const uint64_t arith = EFL_CF | EFL_PF | EFL_AF | EFL_ZF | EFL_SF | EFL_OF;
    uint64_t mask = size_mask(size);
    uint64_t sign = 1ull << (size * 8 - 1);
    uint64_t carry_in = (*efl & EFL_CF) ? 1 : 0;
    uint64_t res, fl = 0, keep = *efl & ~arith;
    a &= mask;
    b &= mask;
    switch (alu) {
    case MMIO_ALU_INC:
    case MMIO_ALU_DEC:
        keep |= *efl & EFL_CF;  /* INC/DEC leave CF alone */
        b = 1;
        carry_in = 0;
        /* fall through */
    case MMIO_ALU_ADD:
    case MMIO_ALU_ADC:
    case MMIO_ALU_SUB:
    case MMIO_ALU_SBB:
    case MMIO_ALU_CMP:
    case MMIO_ALU_NEG: {
        bool sub = alu == MMIO_ALU_SUB || alu == MMIO_ALU_SBB || alu == MMIO_ALU_CMP ||
                   alu == MMIO_ALU_DEC || alu == MMIO_ALU_NEG;
        uint64_t c = (alu == MMIO_ALU_ADC || alu == MMIO_ALU_SBB) ? carry_in : 0;
        if (alu == MMIO_ALU_NEG) {
            b = a;              /* NEG is 0 - a */
            a = 0;
        }
        if (sub) {
            res = (a - b - c) & mask;
            if (a < b || (c && a == b)) {
                fl |= EFL_CF;   /* borrow */
            }
            if ((a ^ b) & (a ^ res) & sign) {
                fl |= EFL_OF;   /* operands of different sign, result took b's */
            }
        } else {
            res = (a + b + c) & mask;
            if (res < a || (c && res == a)) {
                fl |= EFL_CF;   /* carry out of the top bit */
            }
            if (~(a ^ b) & (a ^ res) & sign) {
                fl |= EFL_OF;   /* operands of one sign, result of the other */
            }
        }
        if ((a ^ b ^ res) & 0x10) {
            fl |= EFL_AF;       /* carry or borrow at bit 3 */
        }
        if (alu == MMIO_ALU_INC || alu == MMIO_ALU_DEC) {
            fl &= ~(uint64_t)EFL_CF;
        }
        break;
    }
    case MMIO_ALU_AND:
    case MMIO_ALU_TEST:
        res = a & b;
        break;
    case MMIO_ALU_OR:
        res = a | b;
        break;
    case MMIO_ALU_XOR:
        res = a ^ b;
        break;
    case MMIO_ALU_NOT:
    default:
        return ~a & mask;       /* NOT changes no flag */
    }
    *efl = keep | fl | parity_zero_sign(res, sign);
    return res;
}

static void emulate(ucontext_t *uc, const MmioInsn *in, const MmioTrapOps *ops, void *opaque,
                    uint64_t off)
{
    switch (in->op) {
    case MMIO_OP_LOAD:
        if (in->reg_kind == MMIO_REG_XMM) {
            uint64_t q[2] = { 0, 0 };
            if (in->size == 16) {
                q[0] = ops->read(opaque, off, 8);
                q[1] = ops->read(opaque, off + 8, 8);
            } else {
                q[0] = ops->read(opaque, off, in->size) & size_mask(in->size);
            }
            xmm_set(uc, in->reg, q);
        } else {
            uint64_t v = ops->read(opaque, off, in->size) & size_mask(in->size);
            if (in->ext == MMIO_EXT_SIGN) {
                v = sign_extend(v, in->size);
            }
            gpr_set(uc, in, in->dst_size, v);
        }
        break;
    case MMIO_OP_STORE:
        if (in->reg_kind == MMIO_REG_XMM) {
            uint64_t q[2];
            xmm_get(uc, in->reg, q);
            if (in->size == 16) {
                ops->write(opaque, off, q[0], 8);
                ops->write(opaque, off + 8, q[1], 8);
            } else {
                ops->write(opaque, off, q[0] & size_mask(in->size), in->size);
            }
        } else {
            uint64_t v = in->has_imm ? in->imm : gpr_get(uc, in, in->size);
            ops->write(opaque, off, v & size_mask(in->size), in->size);
        }
        break;
    case MMIO_OP_CMP:
    case MMIO_OP_TEST:
    case MMIO_OP_RMW:
    case MMIO_OP_ALU_LOAD: {
        /* Under the trap lock the read and write of an RMW are atomic with
         * respect to every other trapped access, which is all LOCK asks. */
        uint64_t m = ops->read(opaque, off, in->size) & size_mask(in->size);
        uint64_t other = in->has_imm ? in->imm
                         : in->reg_kind == MMIO_REG_GPR ? gpr_get(uc, in, in->size) : 0;
        MmioAlu alu = in->op == MMIO_OP_TEST ? MMIO_ALU_TEST : in->alu;
        uint64_t efl = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
        uint64_t res;
        if (in->op == MMIO_OP_ALU_LOAD || in->mem_is_rhs) {
            res = alu_apply(alu, other, m, in->size, &efl);     /* register op memory */
        } else {
            res = alu_apply(alu, m, other, in->size, &efl);     /* memory op operand */
        }
        uc->uc_mcontext.gregs[REG_EFL] = (greg_t)efl;
        if (in->op == MMIO_OP_RMW) {
            ops->write(opaque, off, res, in->size);
        } else if (in->op == MMIO_OP_ALU_LOAD) {
            gpr_set(uc, in, in->size, res);
        }
        break;
    }
    }
}

/* Readable instruction bytes at @rip without reading past what the CPU
 * fetched: up to the end of RIP's page first, the whole 15 only when the
 * instruction really continues on the next page (which must then be
 * mapped, since the CPU fetched it). */
static int decode_at(const uint8_t *rip, MmioInsn *in, size_t *shown)
{
    size_t ps = (size_t)trap_registry.page_size;
    size_t avail = ps - ((uintptr_t)rip & (ps - 1));
    if (avail > MMIO_INSN_MAX_LEN) {
        avail = MMIO_INSN_MAX_LEN;
    }
    int n = mmio_decode(rip, avail, in);
    if (n == MMIO_DECODE_TRUNCATED && !trap_find((uintptr_t)rip + avail)) {
        avail = MMIO_INSN_MAX_LEN;
        n = mmio_decode(rip, avail, in);
    }
    /* Still truncated: the rest is on a trapped page, i.e. an instruction
     * fetch faulted there; reported as unsupported. */
    *shown = n > 0 ? (size_t)n : avail;
    return n;
}

/* Message building without stdio (not async-signal-safe). */
static size_t put_str(char *buf, size_t pos, size_t cap, const char *s)
{
    while (*s && pos + 1 < cap) {
        buf[pos++] = *s++;
    }
    return pos;
}

static size_t put_hex(char *buf, size_t pos, size_t cap, uint64_t v, int digits)
{
    static const char hex[] = "0123456789abcdef";
    char tmp[16];
    int n = 0;
    do {
        tmp[n++] = hex[v & 15];
        v >>= 4;
    } while ((v || n < digits) && n < 16);
    while (n > 0 && pos + 1 < cap) {
        buf[pos++] = tmp[--n];
    }
    return pos;
}

static void report_unsupported(uintptr_t addr, const uint8_t *rip, size_t nbytes, const char *why)
{
    char msg[256];
    size_t cap = sizeof(msg), p = 0;
    p = put_str(msg, p, cap, "vtdsim mmio_trap: ");
    p = put_str(msg, p, cap, why);
    p = put_str(msg, p, cap, " at address 0x");
    p = put_hex(msg, p, cap, addr, 1);
    p = put_str(msg, p, cap, ", rip 0x");
    p = put_hex(msg, p, cap, (uintptr_t)rip, 1);
    p = put_str(msg, p, cap, ", bytes");
    for (size_t k = 0; k < nbytes; k++) {
        p = put_str(msg, p, cap, " ");
        p = put_hex(msg, p, cap, rip[k], 2);
    }
    p = put_str(msg, p, cap, "; giving up (SIGSEGV)\n");
    ssize_t r = write(STDERR_FILENO, msg, p);
    (void)r;
}

static void reset_default(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, NULL);
}

/* A fault that is not ours goes where it would have gone without us.  For
 * the default action (and SIG_IGN, which the kernel overrides for a fault)
 * we restore it and return: the instruction faults again and the process
 * dies with the usual core at the real culprit.  A SIGSEGV sent by kill()
 * has no faulting instruction, so it is re-raised instead. */
static void chain(int sig, siginfo_t *si, void *ctx)
{
    const struct sigaction *p = &trap_registry.prev;
    if (p->sa_handler == SIG_DFL || p->sa_handler == SIG_IGN) {
        reset_default();
        if (si->si_code <= 0) {
            raise(sig);
        }
    } else if (p->sa_flags & SA_SIGINFO) {
        p->sa_sigaction(sig, si, ctx);
    } else {
        p->sa_handler(sig);
    }
}

static void trap_handler(int sig, siginfo_t *si, void *ctx)
{
    int saved_errno = errno;
    ucontext_t *uc = ctx;
    uintptr_t addr = (uintptr_t)si->si_addr;

    /* The lock-free look first: a genuine crash never waits on the lock. */
    if (si->si_code <= 0 || !trap_find(addr)) {
        chain(sig, si, ctx);
        errno = saved_errno;
        return;
    }

    pthread_mutex_lock(&trap_registry.lock);
    MmioTrap *t = trap_find(addr);          /* authoritative, under the lock */
    if (!t) {
        pthread_mutex_unlock(&trap_registry.lock);
        chain(sig, si, ctx);
        errno = saved_errno;
        return;
    }
    uintptr_t base = atomic_load_explicit(&t->base, memory_order_relaxed);
    size_t len = atomic_load_explicit(&t->len, memory_order_relaxed);
    const MmioTrapOps *ops = t->ops;
    void *opaque = t->opaque;
    const uint8_t *rip = (const uint8_t *)(uintptr_t)uc->uc_mcontext.gregs[REG_RIP];

    /* Executing from the trapped range: reading the code would fault again. */
    if (trap_find((uintptr_t)rip)) {
        report_unsupported(addr, rip, 0, "instruction fetch from a trapped range");
        reset_default();
        pthread_mutex_unlock(&trap_registry.lock);
        errno = saved_errno;
        return;
    }

    MmioInsn in;
    size_t shown;
    int n = decode_at(rip, &in, &shown);
    const char *why = NULL;
    if (n < 0) {
        why = "unsupported instruction";
    } else if (in.reg_kind == MMIO_REG_XMM && !uc->uc_mcontext.fpregs) {
        why = "XMM access without FPU state in the signal frame";
    } else {
        /* The fault address is where the CPU found no access right, not
         * necessarily where the access starts (one that begins on an
         * ordinary page and runs into the range faults at the range), so
         * the access is placed by its effective address when it can be
         * computed (not with an FS/GS base, which the frame does not hold). */
        uint64_t gpr[16], ea;
        for (int k = 0; k < 16; k++) {
            gpr[k] = (uint64_t)uc->uc_mcontext.gregs[gpr_greg[k]];
        }
        if (mmio_insn_ea(&in, gpr, (uintptr_t)rip + (unsigned)n, &ea)) {
            addr = (uintptr_t)ea;
        }
        if (addr < base || addr - base > len || len - (addr - base) < in.size) {
            why = "access not within the trapped range";
        }
    }
    if (why) {
        report_unsupported(addr, rip, shown, why);
        reset_default();
    } else {
        emulate(uc, &in, ops, opaque, addr - base);
        uc->uc_mcontext.gregs[REG_RIP] += n;
    }
    pthread_mutex_unlock(&trap_registry.lock);
    errno = saved_errno;
}

/* fork() while another thread is inside a callback would hand the child a
 * lock nobody there can release, and the child's first BAR access would
 * hang.  Holding the lock across fork() makes the child's copy consistent;
 * the child then re-creates it, since the recursive mutex records the
 * parent's thread id as owner and would refuse the child's unlock. */
static void trap_fork_prepare(void)
{
    pthread_mutex_lock(&trap_registry.lock);
}

static void trap_fork_parent(void)
{
    pthread_mutex_unlock(&trap_registry.lock);
}

static void trap_fork_child(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&trap_registry.lock, &attr);
    pthread_mutexattr_destroy(&attr);
}

/* ---- API ------------------------------------------------------------------ */

bool mmio_trap_install(GError **error)
{
    bool ok = true;
    pthread_mutex_lock(&trap_registry.lock);
    if (!trap_registry.installed) {
        long ps = sysconf(_SC_PAGESIZE);
        trap_registry.page_size = ps > 0 ? ps : 4096;
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = trap_handler;
        /* NODEFER: a callback may itself touch another trapped range. */
        sa.sa_flags = SA_SIGINFO | SA_NODEFER;
        sigemptyset(&sa.sa_mask);
        /* Learn the previous disposition before ours goes live, so a crash
         * in another thread in between is never passed to a blank one. */
        if (sigaction(SIGSEGV, NULL, &trap_registry.prev) != 0 ||
            sigaction(SIGSEGV, &sa, NULL) != 0) {
            g_set_error(error, EMU_ERROR, EMU_ERROR_IO, "mmio_trap: sigaction(SIGSEGV): %s",
                        g_strerror(errno));
            ok = false;
        } else {
            trap_registry.installed = true;
            pthread_atfork(trap_fork_prepare, trap_fork_parent, trap_fork_child);
        }
    }
    pthread_mutex_unlock(&trap_registry.lock);
    return ok;
}

MmioTrap *mmio_trap_add(void *base, size_t len, const MmioTrapOps *ops, void *opaque,
                        GError **error)
{
    uintptr_t b = (uintptr_t)base;
    if (!base || len == 0 || b + len < b || !ops || !ops->read || !ops->write) {
        g_set_error(error, EMU_ERROR, EMU_ERROR_INVALID,
                    "mmio_trap: need a non-empty range and both read and write callbacks");
        return NULL;
    }
    if (!mmio_trap_install(error)) {
        return NULL;
    }
    MmioTrap *free_slot = NULL;
    pthread_mutex_lock(&trap_registry.lock);
    for (size_t k = 0; k < MMIO_TRAP_MAX; k++) {
        MmioTrap *t = &trap_registry.slots[k];
        uintptr_t tb = atomic_load_explicit(&t->base, memory_order_relaxed);
        if (!tb) {
            if (!free_slot) {
                free_slot = t;
            }
            continue;
        }
        size_t tl = atomic_load_explicit(&t->len, memory_order_relaxed);
        if (b < tb + tl && tb < b + len) {
            pthread_mutex_unlock(&trap_registry.lock);
            g_set_error(error, EMU_ERROR, EMU_ERROR_BUSY,
                        "mmio_trap: range %p+0x%zx overlaps %p+0x%zx", base, len, (void *)tb, tl);
            return NULL;
        }
    }
    if (!free_slot) {
        pthread_mutex_unlock(&trap_registry.lock);
        g_set_error(error, EMU_ERROR, EMU_ERROR_LIMIT, "mmio_trap: all %d trap slots in use",
                    MMIO_TRAP_MAX);
        return NULL;
    }
    free_slot->ops = ops;
    free_slot->opaque = opaque;
    atomic_store_explicit(&free_slot->len, len, memory_order_relaxed);
    atomic_store_explicit(&free_slot->base, b, memory_order_release);
    pthread_mutex_unlock(&trap_registry.lock);
    return free_slot;
}

void mmio_trap_remove(MmioTrap *t)
{
    if (!t) {
        return;
    }
    pthread_mutex_lock(&trap_registry.lock);
    g_assert(atomic_load_explicit(&t->base, memory_order_relaxed) != 0);
    atomic_store_explicit(&t->base, 0, memory_order_release);
    atomic_store_explicit(&t->len, 0, memory_order_relaxed);
    t->ops = NULL;
    t->opaque = NULL;
    pthread_mutex_unlock(&trap_registry.lock);
}
