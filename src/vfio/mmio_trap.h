/*
 * MMIO trapping for the VFIO shim.
 *
 * A VFIO program mmaps a device BAR and then pokes it with ordinary loads
 * and stores.  Under the shim the BAR mapping is an anonymous PROT_NONE
 * range, so every access raises a synchronous SIGSEGV.  This module catches
 * that fault, decodes the x86-64 instruction at RIP (mmio_decode()), turns
 * it into 1/2/4/8-byte read or write callbacks on the registered range,
 * writes the result into the interrupted context's registers (and flags,
 * for the compare and arithmetic forms) and resumes the program after the instruction -
 * so the program sees a live device.
 *
 * What is modelled: the instructions compilers emit for volatile accesses
 * in 64-bit mode - MOV in all its register, immediate and moffs forms,
 * MOVZX/MOVSX/MOVSXD, CMP and TEST against memory (a volatile load folded
 * into a compare), the read-modify-write ALU forms (ADD/OR/AND/XOR/SUB/
 * ADC/SBB/INC/DEC/NOT/NEG on memory, LOCK-prefixed or not: clang folds a
 * volatile `*reg |= bit` into one), and the SSE moves used for 4/8/16-byte
 * copies (MOVD/MOVQ/MOVSS/MOVSD/MOVUPS/MOVAPS/MOVDQA/MOVDQU and the
 * non-temporal stores); a 16-byte access becomes two 8-byte accesses, low
 * half first.  The full list is in mmio_trap.c.
 *
 * What is not: string instructions (MOVS/STOS/...), XCHG/XADD/CMPXCHG,
 * shifts, multiplies, bit tests, x87, MMX, VEX/EVEX (AVX) encodings,
 * 32-bit or 16-bit code, and accesses that start outside a registered
 * range and run into it (or out of it).  Such an access at a trapped
 * address is reported on stderr (address, RIP, instruction bytes) and the
 * program then dies of SIGSEGV at that instruction; it never hangs and
 * never silently misbehaves.
 *
 * In particular memcpy()/memset() on a BAR do not work: libc implements
 * them with AVX and REP MOVS/STOS.  Drivers (and the shim) must use
 * explicit volatile 1/2/4/8-byte accesses - which is also what real MMIO
 * wants.  Beware that some compilers (clang with ASan) lower a volatile
 * struct copy to a memcpy() call.
 *
 * The module does not map or protect memory itself: the caller maps the
 * range (mmap(PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS)) and registers it.
 */
#ifndef VTDSIM_VFIO_MMIO_TRAP_H
#define VTDSIM_VFIO_MMIO_TRAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <glib.h>

/* ---- the pure decoder ---------------------------------------------------- */

/* Longest x86 instruction (SDM vol. 2, 2.3.11). */
#define MMIO_INSN_MAX_LEN 15

/* mmio_decode() results other than a length. */
#define MMIO_DECODE_UNSUPPORTED (-1)
#define MMIO_DECODE_TRUNCATED   (-2)

typedef enum MmioOp {
    MMIO_OP_LOAD,    /* register <- memory */
    MMIO_OP_STORE,   /* memory <- register or immediate */
    MMIO_OP_CMP,     /* flags <- lhs - rhs (memory is read, nothing written) */
    MMIO_OP_TEST,    /* flags <- memory & operand */
    MMIO_OP_RMW,     /* memory <- memory alu operand, flags (memory read, then written) */
    MMIO_OP_ALU_LOAD,/* register <- register alu memory, flags */
} MmioOp;

/* Arithmetic of MMIO_OP_RMW / MMIO_OP_ALU_LOAD; the first eight are in
 * opcode order (the ModRM reg field of 80/81/83, bits 5:3 of 00-3F). */
typedef enum MmioAlu {
    MMIO_ALU_ADD, MMIO_ALU_OR, MMIO_ALU_ADC, MMIO_ALU_SBB,
    MMIO_ALU_AND, MMIO_ALU_SUB, MMIO_ALU_XOR, MMIO_ALU_CMP,
    MMIO_ALU_INC, MMIO_ALU_DEC, MMIO_ALU_NOT, MMIO_ALU_NEG,
    MMIO_ALU_TEST,
} MmioAlu;

typedef enum MmioRegKind {
    MMIO_REG_NONE,   /* no register operand (store or compare of an immediate) */
    MMIO_REG_GPR,    /* reg is 0..15 in encoding order: RAX RCX RDX RBX RSP RBP RSI RDI R8..R15 */
    MMIO_REG_XMM,    /* reg is XMM0..XMM15 */
} MmioRegKind;

/* How a load narrower than its destination fills the rest. */
typedef enum MmioExt {
    MMIO_EXT_NONE,   /* MOV: dst_size == size; CPU rules for 8/16/32-bit writes apply */
    MMIO_EXT_ZERO,   /* MOVZX, and XMM loads (upper XMM bits cleared) */
    MMIO_EXT_SIGN,   /* MOVSX, MOVSXD */
} MmioExt;

typedef struct MmioInsn {
    MmioOp op;
    bool is_write;          /* op is MMIO_OP_STORE or MMIO_OP_RMW */
    MmioAlu alu;            /* MMIO_OP_RMW / MMIO_OP_ALU_LOAD only */
    bool lock;              /* LOCK prefix (RMW forms only) */
    unsigned size;          /* bytes of memory accessed: 1, 2, 4, 8 or 16 */
    MmioRegKind reg_kind;
    int reg;                /* register number per reg_kind; -1 when MMIO_REG_NONE */
    bool high8;             /* GPR byte operand is AH/CH/DH/BH (reg 0..3 then names the full register) */
    unsigned dst_size;      /* loads: width of the register written (1,2,4,8; 16 for XMM) */
    MmioExt ext;
    bool has_imm;
    uint64_t imm;           /* sign-extended to 64 bits as the CPU extends it to the operand size */
    bool mem_is_rhs;        /* CMP only: register - memory (3A/3B) rather than memory - operand */
    /* The memory operand: base + index * scale + disp (SDM vol. 2, 2.1.5),
     * or an absolute moffs (base and index -1, disp the offset). */
    int ea_base;            /* GPR 0..15, MMIO_EA_RIP (next instruction's RIP), or -1 */
    int ea_index;           /* GPR 0..15 or -1 */
    unsigned ea_scale;      /* 1, 2, 4, 8 */
    int64_t ea_disp;        /* sign-extended displacement; moffs zero-extended */
    bool ea_addr32;         /* 67 prefix: the address is truncated to 32 bits */
    bool ea_seg_base;       /* FS/GS override: a segment base is added that we do not know */
} MmioInsn;

#define MMIO_EA_RIP 16

/**
 * mmio_decode:
 * @insn: the instruction bytes (64-bit mode), at least @avail readable.
 * @avail: how many bytes of @insn may be read (at most MMIO_INSN_MAX_LEN are).
 * @out: filled on success; unspecified otherwise.
 *
 * Decodes one instruction that accesses memory through its ModRM (or moffs)
 * operand.  Pure: no state, no allocation, safe in a signal handler.
 *
 * Returns: the instruction length (1..15); MMIO_DECODE_UNSUPPORTED (-1) for
 * anything outside the supported set, including register-only (mod = 3)
 * forms that cannot fault; MMIO_DECODE_TRUNCATED (-2) when the instruction
 * may be supported but needs more than @avail bytes.
 */
int mmio_decode(const uint8_t *insn, size_t avail, MmioInsn *out);

/**
 * mmio_insn_ea:
 * @in: a decoded instruction.
 * @gpr: the 16 GPRs in encoding order (RAX RCX RDX RBX RSP RBP RSI RDI R8..R15).
 * @next_rip: the address of the following instruction (RIP-relative base).
 * @ea: (out): the linear address the access starts at.
 *
 * Returns: FALSE, leaving *@ea alone, when an FS/GS override makes the
 * address depend on a segment base this function does not know.
 */
bool mmio_insn_ea(const MmioInsn *in, const uint64_t gpr[16], uint64_t next_rip, uint64_t *ea);

/* ---- trapping ------------------------------------------------------------- */

typedef struct MmioTrapOps {
    /* Returns the @size-byte (1, 2, 4, 8) value at @offset into the range. */
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size);
    /* Writes the low @size bytes of @val at @offset into the range. */
    void (*write)(void *opaque, uint64_t offset, uint64_t val, unsigned size);
} MmioTrapOps;

typedef struct MmioTrap MmioTrap;

/* At most this many ranges are registered at once (the registry is a
 * fixed table so the signal handler never allocates). */
#define MMIO_TRAP_MAX 64

/**
 * mmio_trap_install:
 * Installs the process-wide SIGSEGV handler (once; later calls return TRUE
 * and do nothing).  The handler emulates faults inside registered ranges
 * and hands every other SIGSEGV to the handler that was installed before
 * (or the default action), so a genuine crash still crashes.  Install it
 * after any other SIGSEGV user (sanitizers, crash reporters) so the chain
 * runs in the right order.  The handler runs on the faulting thread's own
 * stack (no SA_ONSTACK: callbacks may need more than an alternate stack
 * holds) with SIGSEGV not blocked, so a callback may itself touch another
 * trapped range.  It also registers pthread_atfork() handlers so the trap
 * lock stays usable in a forked child.
 *
 * Returns: FALSE with @error (EMU_ERROR_IO) if sigaction() fails.
 */
bool mmio_trap_install(GError **error);

/**
 * mmio_trap_add:
 * @base: start of a range the caller has mapped PROT_NONE; the caller keeps
 *   it mapped (and inaccessible) until mmio_trap_remove() returns.
 * @len: its length in bytes, > 0.
 * @ops: the callbacks; @ops and @opaque are borrowed and must stay valid
 *   until mmio_trap_remove() returns.
 * @error: EMU_ERROR_INVALID for a NULL/empty range or missing callback,
 *   EMU_ERROR_BUSY if the range overlaps a registered one, EMU_ERROR_LIMIT
 *   when MMIO_TRAP_MAX ranges are registered, EMU_ERROR_IO from the
 *   implicit mmio_trap_install().
 *
 * Registers a range; installs the handler if that was not done yet.
 * Offsets passed to @ops are relative to @base.
 *
 * Callbacks run inside the SIGSEGV handler of the faulting thread, under
 * the trap lock (below), so they never run concurrently with each other or
 * with a section bracketed by mmio_trap_lock()/mmio_trap_unlock().  The
 * signal is synchronous - the thread stopped at its own load or store, not
 * inside libc - so callbacks may allocate and call into the simulator.
 *
 * Returns: a handle owned by the module, valid until mmio_trap_remove();
 * NULL with @error on failure.
 */
MmioTrap *mmio_trap_add(void *base, size_t len, const MmioTrapOps *ops, void *opaque,
                        GError **error);

/**
 * mmio_trap_remove:
 * @t: (nullable): a handle from mmio_trap_add(); NULL is a no-op.
 *
 * Unregisters the range.  When this returns no callback of @t is running
 * or will run (it takes the trap lock), so @ops/@opaque may be freed and
 * the range unmapped; a later access to the range is a genuine SIGSEGV.
 * @t is invalid afterwards.  May be called from a callback (the lock is
 * recursive), including one of @t itself.
 */
void mmio_trap_remove(MmioTrap *t);

/**
 * mmio_trap_lock / mmio_trap_unlock:
 * The one lock that serialises all trap callbacks, so the shim can enter
 * the (single-threaded) simulator from its other paths - ioctls,
 * interrupts - without racing a trapped access.  Recursive: a thread
 * holding it may itself access a trapped range.  Pairs must balance.
 * fork() waits for it, so the child starts with the lock free.
 */
void mmio_trap_lock(void);
void mmio_trap_unlock(void);

#endif
