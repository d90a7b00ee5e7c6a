/*
 * Tests of the VFIO shim's MMIO trapping: the decoder against
 * hand-assembled encodings (lengths and fields), then live faults on
 * PROT_NONE pages served by a fake device.  The live tests are
 * differential: each instruction form runs once on ordinary memory (the
 * CPU is the reference model) and once on the trapped page holding the
 * same bytes, and registers, flags and stored bytes must agree.  Crashes
 * that must stay crashes run in forked children.
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check_util.h"
#include "core/error.h"
#include "vfio/mmio_trap.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif
#ifndef UNDER_ASAN
#define UNDER_ASAN 0
#endif

/* ---- decoder table -------------------------------------------------------- */

typedef struct DecodeCase {
    const char *name;
    uint8_t bytes[16];
    size_t n;
    int len;                /* expected result */
    MmioOp op;
    unsigned size;
    MmioRegKind kind;
    int reg;
    bool high8;
    unsigned dst;           /* loads only */
    MmioExt ext;            /* loads only */
    bool has_imm;
    uint64_t imm;
    bool rhs;
    MmioAlu alu;            /* RMW / ALU_LOAD only */
    bool lock;
} DecodeCase;

#define INSN(...) .bytes = { __VA_ARGS__ }, .n = sizeof((uint8_t[]){ __VA_ARGS__ })
#define LD   .op = MMIO_OP_LOAD
#define ST   .op = MMIO_OP_STORE
#define CMP  .op = MMIO_OP_CMP
#define TST  .op = MMIO_OP_TEST
#define RMW(a) .op = MMIO_OP_RMW, .alu = MMIO_ALU_##a
#define ALD(a) .op = MMIO_OP_ALU_LOAD, .alu = MMIO_ALU_##a
#define GPR(r) .kind = MMIO_REG_GPR, .reg = (r)
#define XMM(r) .kind = MMIO_REG_XMM, .reg = (r)
#define NOREG  .kind = MMIO_REG_NONE, .reg = -1
#define IMM(v) .has_imm = true, .imm = (uint64_t)(v)
#define ADDR8 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11

static const DecodeCase decode_cases[] = {
    /* MOV r, r/m: operand sizes, REX.R, addressing forms */
    { "mov eax,[rdi]", INSN(0x8b, 0x07), .len = 2, LD, .size = 4, GPR(0), .dst = 4 },
    { "mov rax,[rdi]", INSN(0x48, 0x8b, 0x07), .len = 3, LD, .size = 8, GPR(0), .dst = 8 },
    { "mov ax,[rdi]", INSN(0x66, 0x8b, 0x07), .len = 3, LD, .size = 2, GPR(0), .dst = 2 },
    { "mov r8d,[rdi+8]", INSN(0x44, 0x8b, 0x47, 0x08), .len = 4, LD, .size = 4, GPR(8), .dst = 4 },
    { "mov r9,[rsp+0x100]", INSN(0x4c, 0x8b, 0x8c, 0x24, 0x00, 0x01, 0x00, 0x00), .len = 8, LD,
      .size = 8, GPR(9), .dst = 8 },
    { "mov eax,[r12+r9*4]", INSN(0x43, 0x8b, 0x04, 0x8c), .len = 4, LD, .size = 4, GPR(0), .dst = 4 },
    { "mov eax,[r13+0]", INSN(0x41, 0x8b, 0x45, 0x00), .len = 4, LD, .size = 4, GPR(0), .dst = 4 },
    { "mov eax,[rip+d32]", INSN(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), .len = 6, LD, .size = 4, GPR(0),
      .dst = 4 },
    { "mov eax,[d32] (SIB, no base)", INSN(0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00), .len = 7, LD,
      .size = 4, GPR(0), .dst = 4 },
    { "mov edx,[rbp+rcx*8+d32] (SIB, mod 2)", INSN(0x8b, 0x94, 0xcd, 0x00, 0x10, 0x00, 0x00), .len = 7,
      LD, .size = 4, GPR(2), .dst = 4 },
    { "mov esi,[rax+rbx*2+d8]", INSN(0x8b, 0x74, 0x58, 0x10), .len = 4, LD, .size = 4, GPR(6), .dst = 4 },
    { "mov r15,[r15+d8]", INSN(0x4d, 0x8b, 0x7f, 0xf8), .len = 4, LD, .size = 8, GPR(15), .dst = 8 },
    { "addr32 mov eax,[edi]", INSN(0x67, 0x8b, 0x07), .len = 3, LD, .size = 4, GPR(0), .dst = 4 },
    { "addr32 mov eax,[eip+d32]", INSN(0x67, 0x8b, 0x05, 1, 2, 3, 4), .len = 7, LD, .size = 4, GPR(0),
      .dst = 4 },
    { "fs: mov eax,[rdi]", INSN(0x64, 0x8b, 0x07), .len = 3, LD, .size = 4, GPR(0), .dst = 4 },
    { "gs: mov rax,[0x28]", INSN(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), .len = 9, LD, .size = 8,
      GPR(0), .dst = 8 },
    { "REX before 66 is ignored", INSN(0x48, 0x66, 0x8b, 0x07), .len = 4, LD, .size = 2, GPR(0),
      .dst = 2 },
    { "cs ds 66 67 prefixes", INSN(0x2e, 0x3e, 0x66, 0x67, 0x8b, 0x07), .len = 6, LD, .size = 2, GPR(0),
      .dst = 2 },
    { "ss es prefixes", INSN(0x36, 0x26, 0x8b, 0x07), .len = 4, LD, .size = 4, GPR(0), .dst = 4 },
    { "66 with REX.W: 64-bit wins", INSN(0x66, 0x48, 0x8b, 0x07), .len = 4, LD, .size = 8, GPR(0),
      .dst = 8 },
    /* byte registers */
    { "mov [rdi],ah", INSN(0x88, 0x27), .len = 2, ST, .size = 1, GPR(0), .high8 = true },
    { "mov [rdi],sil (REX)", INSN(0x40, 0x88, 0x37), .len = 3, ST, .size = 1, GPR(6) },
    { "mov [rdi],bl", INSN(0x88, 0x1f), .len = 2, ST, .size = 1, GPR(3) },
    { "mov bh,[rsi]", INSN(0x8a, 0x3e), .len = 2, LD, .size = 1, GPR(3), .high8 = true, .dst = 1 },
    { "mov dil,[rsi] (REX)", INSN(0x40, 0x8a, 0x3e), .len = 3, LD, .size = 1, GPR(7), .dst = 1 },
    { "mov r15b,[rsi]", INSN(0x44, 0x8a, 0x3e), .len = 3, LD, .size = 1, GPR(15), .dst = 1 },
    { "mov ch,[rax+d8]", INSN(0x8a, 0x68, 0x04), .len = 3, LD, .size = 1, GPR(1), .high8 = true,
      .dst = 1 },
    /* MOV r/m, r */
    { "mov [rdi],ecx", INSN(0x89, 0x0f), .len = 2, ST, .size = 4, GPR(1) },
    { "mov [rdi],r15", INSN(0x4c, 0x89, 0x3f), .len = 3, ST, .size = 8, GPR(15) },
    { "mov [rdi],dx", INSN(0x66, 0x89, 0x17), .len = 3, ST, .size = 2, GPR(2) },
    { "mov [r8+r9*8+d32],r10w", INSN(0x66, 0x47, 0x89, 0x94, 0xc8, 0x00, 0x02, 0x00, 0x00), .len = 9, ST,
      .size = 2, GPR(10) },
    /* MOV r/m, imm */
    { "mov byte [rdi],0xab", INSN(0xc6, 0x07, 0xab), .len = 3, ST, .size = 1, NOREG, IMM((int8_t)-0x55) },
    { "mov dword [rdi+4],imm32", INSN(0xc7, 0x47, 0x04, 0x78, 0x56, 0x34, 0x12), .len = 7, ST, .size = 4,
      NOREG, IMM(0x12345678) },
    { "mov qword [rdi],-1", INSN(0x48, 0xc7, 0x07, 0xff, 0xff, 0xff, 0xff), .len = 7, ST, .size = 8,
      NOREG, IMM(~0ull) },
    { "mov word [rdi],imm16", INSN(0x66, 0xc7, 0x07, 0x34, 0x12), .len = 5, ST, .size = 2, NOREG,
      IMM(0x1234) },
    { "mov dword [rip+d32],1", INSN(0xc7, 0x05, 0, 0, 0, 0, 1, 0, 0, 0), .len = 10, ST, .size = 4, NOREG,
      IMM(1) },
    { "mov qword [rsp+d8],imm32 (SIB+disp8+imm)", INSN(0x48, 0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00,
      0x80), .len = 9, ST, .size = 8, NOREG, IMM(0xffffffff80000000ull) },
    /* MOVZX / MOVSX / MOVSXD */
    { "movzx eax,byte [rdi]", INSN(0x0f, 0xb6, 0x07), .len = 3, LD, .size = 1, GPR(0), .dst = 4,
      .ext = MMIO_EXT_ZERO },
    { "movzx rax,word [rdi]", INSN(0x48, 0x0f, 0xb7, 0x07), .len = 4, LD, .size = 2, GPR(0), .dst = 8,
      .ext = MMIO_EXT_ZERO },
    { "movzx ax,byte [rdi]", INSN(0x66, 0x0f, 0xb6, 0x07), .len = 4, LD, .size = 1, GPR(0), .dst = 2,
      .ext = MMIO_EXT_ZERO },
    { "movsx eax,byte [rdi]", INSN(0x0f, 0xbe, 0x07), .len = 3, LD, .size = 1, GPR(0), .dst = 4,
      .ext = MMIO_EXT_SIGN },
    { "movsx rax,word [rdi+0x10]", INSN(0x48, 0x0f, 0xbf, 0x47, 0x10), .len = 5, LD, .size = 2, GPR(0),
      .dst = 8, .ext = MMIO_EXT_SIGN },
    { "movsx r11d,word [rdi]", INSN(0x44, 0x0f, 0xbf, 0x1f), .len = 4, LD, .size = 2, GPR(11), .dst = 4,
      .ext = MMIO_EXT_SIGN },
    { "movsxd rax,[rdi]", INSN(0x48, 0x63, 0x07), .len = 3, LD, .size = 4, GPR(0), .dst = 8,
      .ext = MMIO_EXT_SIGN },
    { "movsxd r12,[rbx+d32]", INSN(0x4c, 0x63, 0xa3, 0x00, 0x01, 0x00, 0x00), .len = 7, LD, .size = 4,
      GPR(12), .dst = 8, .ext = MMIO_EXT_SIGN },
    /* moffs */
    { "mov eax,[moffs64]", INSN(0xa1, ADDR8), .len = 9, LD, .size = 4, GPR(0), .dst = 4 },
    { "mov [moffs64],rax", INSN(0x48, 0xa3, ADDR8), .len = 10, ST, .size = 8, GPR(0) },
    { "mov al,[moffs32] (67)", INSN(0x67, 0xa0, 1, 2, 3, 4), .len = 6, LD, .size = 1, GPR(0), .dst = 1 },
    { "mov ax,[moffs64] (66)", INSN(0x66, 0xa1, ADDR8), .len = 10, LD, .size = 2, GPR(0), .dst = 2 },
    { "mov [moffs64],al", INSN(0xa2, ADDR8), .len = 9, ST, .size = 1, GPR(0) },
    /* CMP / TEST */
    { "cmp byte [rdi],5", INSN(0x80, 0x3f, 0x05), .len = 3, CMP, .size = 1, NOREG, IMM(5) },
    { "cmp dword [rdi+8],0x80000000", INSN(0x81, 0x7f, 0x08, 0x00, 0x00, 0x00, 0x80), .len = 7, CMP,
      .size = 4, NOREG, IMM(0xffffffff80000000ull) },
    { "cmp qword [rdi],-1 (83)", INSN(0x48, 0x83, 0x3f, 0xff), .len = 4, CMP, .size = 8, NOREG,
      IMM(~0ull) },
    { "cmp word [rdi],0x1234", INSN(0x66, 0x81, 0x3f, 0x34, 0x12), .len = 5, CMP, .size = 2, NOREG,
      IMM(0x1234) },
    { "cmp dword [rip+d32],7", INSN(0x83, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x07), .len = 7, CMP, .size = 4,
      NOREG, IMM(7) },
    { "cmp [rdi],eax", INSN(0x39, 0x07), .len = 2, CMP, .size = 4, GPR(0) },
    { "cmp eax,[rdi]", INSN(0x3b, 0x07), .len = 2, CMP, .size = 4, GPR(0), .rhs = true },
    { "cmp [rdi],ah", INSN(0x38, 0x27), .len = 2, CMP, .size = 1, GPR(0), .high8 = true },
    { "cmp r9b,[rdi]", INSN(0x44, 0x3a, 0x0f), .len = 3, CMP, .size = 1, GPR(9), .rhs = true },
    { "test byte [rdi],1", INSN(0xf6, 0x07, 0x01), .len = 3, TST, .size = 1, NOREG, IMM(1) },
    { "test dword [rdi+4],0x80000000", INSN(0xf7, 0x47, 0x04, 0x00, 0x00, 0x00, 0x80), .len = 7, TST,
      .size = 4, NOREG, IMM(0xffffffff80000000ull) },
    { "test word [rdi],0x8001", INSN(0x66, 0xf7, 0x07, 0x01, 0x80), .len = 5, TST, .size = 2, NOREG,
      IMM(0xffffffffffff8001ull) },
    { "test [rdi],rax", INSN(0x48, 0x85, 0x07), .len = 3, TST, .size = 8, GPR(0) },
    { "test [rdi],dh", INSN(0x84, 0x37), .len = 2, TST, .size = 1, GPR(2), .high8 = true },
    /* read-modify-write */
    { "or dword [rdi],1 (83 /1)", INSN(0x83, 0x0f, 0x01), .len = 3, RMW(OR), .size = 4, NOREG, IMM(1) },
    { "add byte [rdi],1 (80 /0)", INSN(0x80, 0x07, 0x01), .len = 3, RMW(ADD), .size = 1, NOREG, IMM(1) },
    { "and dword [rdi],~4 (81 /4)", INSN(0x81, 0x27, 0xfb, 0xff, 0xff, 0xff), .len = 6, RMW(AND),
      .size = 4, NOREG, IMM(~4ull) },
    { "lock or dword [rdi],1", INSN(0xf0, 0x83, 0x0f, 0x01), .len = 4, RMW(OR), .size = 4, NOREG, IMM(1),
      .lock = true },
    { "xor byte [rdi],0x80", INSN(0x80, 0x37, 0x80), .len = 3, RMW(XOR), .size = 1, NOREG,
      IMM(0xffffffffffffff80ull) },
    { "sbb word [rdi],5 (66 83 /3)", INSN(0x66, 0x83, 0x1f, 0x05), .len = 4, RMW(SBB), .size = 2, NOREG,
      IMM(5) },
    { "sub qword [rdi+8],imm32 (81 /5)", INSN(0x48, 0x81, 0x6f, 0x08, 0x00, 0x01, 0x00, 0x00), .len = 8,
      RMW(SUB), .size = 8, NOREG, IMM(0x100) },
    { "add [rdi],eax (01)", INSN(0x01, 0x07), .len = 2, RMW(ADD), .size = 4, GPR(0) },
    { "lock add [rdi],eax", INSN(0xf0, 0x01, 0x07), .len = 3, RMW(ADD), .size = 4, GPR(0), .lock = true },
    { "sub [rdi],ah (28)", INSN(0x28, 0x27), .len = 2, RMW(SUB), .size = 1, GPR(0), .high8 = true },
    { "or [rdi],r10b (08)", INSN(0x44, 0x08, 0x17), .len = 3, RMW(OR), .size = 1, GPR(10) },
    { "and [rdi],dx (66 21)", INSN(0x66, 0x21, 0x17), .len = 3, RMW(AND), .size = 2, GPR(2) },
    { "add rax,[rdi] (03)", INSN(0x48, 0x03, 0x07), .len = 3, ALD(ADD), .size = 8, GPR(0) },
    { "adc r9,[rdi] (13)", INSN(0x4c, 0x13, 0x0f), .len = 3, ALD(ADC), .size = 8, GPR(9) },
    { "xor bh,[rdi] (32)", INSN(0x32, 0x3f), .len = 2, ALD(XOR), .size = 1, GPR(3), .high8 = true },
    { "sub esi,[rdi+4] (2B)", INSN(0x2b, 0x77, 0x04), .len = 3, ALD(SUB), .size = 4, GPR(6) },
    { "inc dword [rdi] (FF /0)", INSN(0xff, 0x07), .len = 2, RMW(INC), .size = 4, NOREG },
    { "dec byte [rdi] (FE /1)", INSN(0xfe, 0x0f), .len = 2, RMW(DEC), .size = 1, NOREG },
    { "lock inc qword [rdi+8]", INSN(0xf0, 0x48, 0xff, 0x47, 0x08), .len = 5, RMW(INC), .size = 8, NOREG,
      .lock = true },
    { "not byte [rdi] (F6 /2)", INSN(0xf6, 0x17), .len = 2, RMW(NOT), .size = 1, NOREG },
    { "neg dword [rdi+4] (F7 /3)", INSN(0xf7, 0x5f, 0x04), .len = 3, RMW(NEG), .size = 4, NOREG },
    /* SSE */
    { "movd xmm0,[rdi]", INSN(0x66, 0x0f, 0x6e, 0x07), .len = 4, LD, .size = 4, XMM(0), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movq xmm0,[rdi] (66 REX.W 6E)", INSN(0x66, 0x48, 0x0f, 0x6e, 0x07), .len = 5, LD, .size = 8,
      XMM(0), .dst = 16, .ext = MMIO_EXT_ZERO },
    { "movd [rdi],xmm9", INSN(0x66, 0x44, 0x0f, 0x7e, 0x0f), .len = 5, ST, .size = 4, XMM(9) },
    { "movq [rdi],xmm9 (66 REX.W 7E)", INSN(0x66, 0x4c, 0x0f, 0x7e, 0x0f), .len = 5, ST, .size = 8,
      XMM(9) },
    { "movq xmm0,[rdi] (F3 7E)", INSN(0xf3, 0x0f, 0x7e, 0x07), .len = 4, LD, .size = 8, XMM(0),
      .dst = 16, .ext = MMIO_EXT_ZERO },
    { "movq [rdi],xmm0 (66 D6)", INSN(0x66, 0x0f, 0xd6, 0x07), .len = 4, ST, .size = 8, XMM(0) },
    { "movdqa xmm1,[rdi]", INSN(0x66, 0x0f, 0x6f, 0x0f), .len = 4, LD, .size = 16, XMM(1), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movdqu xmm0,[rdi]", INSN(0xf3, 0x0f, 0x6f, 0x07), .len = 4, LD, .size = 16, XMM(0), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movdqa [rdi],xmm0", INSN(0x66, 0x0f, 0x7f, 0x07), .len = 4, ST, .size = 16, XMM(0) },
    { "movdqu [rdi],xmm15", INSN(0xf3, 0x44, 0x0f, 0x7f, 0x3f), .len = 5, ST, .size = 16, XMM(15) },
    { "movups xmm0,[rdi]", INSN(0x0f, 0x10, 0x07), .len = 3, LD, .size = 16, XMM(0), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movups [rax+d8],xmm2", INSN(0x0f, 0x11, 0x50, 0x10), .len = 4, ST, .size = 16, XMM(2) },
    { "movaps xmm0,[rdi]", INSN(0x0f, 0x28, 0x07), .len = 3, LD, .size = 16, XMM(0), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movaps [rdi],xmm0", INSN(0x0f, 0x29, 0x07), .len = 3, ST, .size = 16, XMM(0) },
    { "movapd xmm8,[rdi]", INSN(0x66, 0x44, 0x0f, 0x28, 0x07), .len = 5, LD, .size = 16, XMM(8),
      .dst = 16, .ext = MMIO_EXT_ZERO },
    { "movss xmm0,[rdi]", INSN(0xf3, 0x0f, 0x10, 0x07), .len = 4, LD, .size = 4, XMM(0), .dst = 16,
      .ext = MMIO_EXT_ZERO },
    { "movsd [rdi],xmm3", INSN(0xf2, 0x0f, 0x11, 0x1f), .len = 4, ST, .size = 8, XMM(3) },
    { "movntdq [rdi],xmm0", INSN(0x66, 0x0f, 0xe7, 0x07), .len = 4, ST, .size = 16, XMM(0) },
    { "movntps [rdi],xmm0", INSN(0x0f, 0x2b, 0x07), .len = 3, ST, .size = 16, XMM(0) },
    { "movnti [rdi],ecx", INSN(0x0f, 0xc3, 0x0f), .len = 3, ST, .size = 4, GPR(1) },
    { "movnti [rdi+d8],r9", INSN(0x4c, 0x0f, 0xc3, 0x4f, 0x08), .len = 5, ST, .size = 8, GPR(9) },
    { "movdqu xmm0,[rip+d32]", INSN(0xf3, 0x0f, 0x6f, 0x05, 0, 1, 0, 0), .len = 8, LD, .size = 16, XMM(0),
      .dst = 16, .ext = MMIO_EXT_ZERO },
    /* exactly 15 bytes: 13 prefixes + opcode + ModRM */
    { "15-byte instruction", INSN(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x8b, 0x07), .len = 15, LD, .size = 2, GPR(0), .dst = 2 },
};

/* Everything here must be refused with -1. */
static const struct {
    const char *name;
    uint8_t bytes[16];
    size_t n;
} refused_cases[] = {
    { "lock cmpxchg", INSN(0xf0, 0x0f, 0xb1, 0x0f) },
    { "lock xadd", INSN(0xf0, 0x0f, 0xc1, 0x07) },
    { "lock mov [rdi],eax", INSN(0xf0, 0x89, 0x07) },
    { "lock cmp [rdi],eax", INSN(0xf0, 0x39, 0x07) },
    { "lock test byte [rdi],1", INSN(0xf0, 0xf6, 0x07, 0x01) },
    { "lock mov eax,[moffs]", INSN(0xf0, 0xa1, ADDR8) },
    { "lock movdqu", INSN(0xf0, 0xf3, 0x0f, 0x6f, 0x07) },
    { "mul dword [rdi] (F7 /4)", INSN(0xf7, 0x27) },
    { "idiv byte [rdi] (F6 /7)", INSN(0xf6, 0x3f) },
    { "F6 /1 (TEST alias)", INSN(0xf6, 0x0f, 0x01) },
    { "call [rdi] (FF /2)", INSN(0xff, 0x17) },
    { "FE /2", INSN(0xfe, 0x17) },
    { "shl dword [rdi],1", INSN(0xd1, 0x27) },
    { "add al,imm8 (04, no ModRM)", INSN(0x04, 0x01) },
    { "add eax,imm32 (05)", INSN(0x05, 1, 2, 3, 4) },
    { "C6 /1 is not MOV", INSN(0xc6, 0x4f, 0x00, 0x00) },
    { "C7 /2", INSN(0xc7, 0x17, 0, 0, 0, 0) },
    { "mov eax,edi (register form)", INSN(0x8b, 0xc7) },
    { "mov [rdi],eax reg form 89 c7", INSN(0x89, 0xc7) },
    { "movdqu xmm0,xmm1 (register form)", INSN(0xf3, 0x0f, 0x6f, 0xc1) },
    { "movsd", INSN(0xa5) },
    { "rep movsb", INSN(0xf3, 0xa4) },
    { "stosq", INSN(0x48, 0xab) },
    { "push qword [rdi]", INSN(0xff, 0x37) },
    { "xchg [rdi],eax", INSN(0x87, 0x07) },
    { "movsxd without REX.W", INSN(0x63, 0x07) },
    { "MMX movq mm0,[rdi]", INSN(0x0f, 0x6f, 0x07) },
    { "MMX movd mm0,[rdi]", INSN(0x0f, 0x6e, 0x07) },
    { "MMX movd [rdi],mm0", INSN(0x0f, 0x7e, 0x07) },
    { "MMX movntq", INSN(0x0f, 0xe7, 0x07) },
    { "movnti with 66 (no 16-bit form)", INSN(0x66, 0x0f, 0xc3, 0x07) },
    { "movaps with F3 (undefined)", INSN(0xf3, 0x0f, 0x28, 0x07) },
    { "VEX vmovdqa xmm0,[rdi]", INSN(0xc5, 0xf9, 0x6f, 0x07) },
    { "EVEX", INSN(0x62, 0xf1, 0x7d, 0x48, 0x6f, 0x07) },
    { "fld dword [rdi]", INSN(0xd9, 0x07) },
    { "bt [rdi],eax", INSN(0x0f, 0xa3, 0x07) },
    { "sete [rdi]", INSN(0x0f, 0x94, 0x07) },
    { "16 bytes: too long", INSN(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x8b, 0x07) },
    { "16 prefixes only", INSN(0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
      0x66, 0x66, 0x66, 0x66) },
};

START_TEST(test_decode_table)
{
    for (size_t k = 0; k < G_N_ELEMENTS(decode_cases); k++) {
        const DecodeCase *c = &decode_cases[k];
        MmioInsn in;
        int n = mmio_decode(c->bytes, c->n, &in);
        ck_assert_msg(n == c->len, "%s: length %d, want %d", c->name, n, c->len);
        ck_assert_msg(in.op == c->op, "%s: op %d", c->name, in.op);
        ck_assert_msg(in.is_write == (c->op == MMIO_OP_STORE || c->op == MMIO_OP_RMW), "%s: is_write",
                      c->name);
        ck_assert_msg(in.lock == c->lock, "%s: lock", c->name);
        if (c->op == MMIO_OP_RMW || c->op == MMIO_OP_ALU_LOAD) {
            ck_assert_msg(in.alu == c->alu, "%s: alu %d", c->name, in.alu);
        }
        ck_assert_msg(in.size == c->size, "%s: size %u", c->name, in.size);
        ck_assert_msg(in.reg_kind == c->kind, "%s: reg kind %d", c->name, in.reg_kind);
        ck_assert_msg(in.reg == c->reg, "%s: reg %d, want %d", c->name, in.reg, c->reg);
        ck_assert_msg(in.high8 == c->high8, "%s: high8", c->name);
        ck_assert_msg(in.has_imm == c->has_imm, "%s: has_imm", c->name);
        if (c->has_imm) {
            ck_assert_msg(in.imm == c->imm, "%s: imm 0x%llx", c->name, (unsigned long long)in.imm);
        }
        ck_assert_msg(in.mem_is_rhs == c->rhs, "%s: mem_is_rhs", c->name);
        if (c->op == MMIO_OP_LOAD) {
            ck_assert_msg(in.dst_size == c->dst, "%s: dst_size %u", c->name, in.dst_size);
            ck_assert_msg(in.ext == c->ext, "%s: ext %d", c->name, in.ext);
        }
        /* Every proper prefix of the bytes is reported as truncated. */
        for (size_t cut = 0; cut < c->n; cut++) {
            ck_assert_msg(mmio_decode(c->bytes, cut, &in) == MMIO_DECODE_TRUNCATED,
                          "%s: cut at %zu not truncated", c->name, cut);
        }
    }
}
END_TEST

START_TEST(test_decode_refused)
{
    for (size_t k = 0; k < G_N_ELEMENTS(refused_cases); k++) {
        MmioInsn in;
        int n = mmio_decode(refused_cases[k].bytes, refused_cases[k].n, &in);
        ck_assert_msg(n == MMIO_DECODE_UNSUPPORTED, "%s: got %d", refused_cases[k].name, n);
    }
}
END_TEST

/* Trailing bytes after the instruction do not change its length. */
START_TEST(test_decode_trailing_bytes)
{
    uint8_t buf[16];
    memset(buf, 0x90, sizeof(buf));
    buf[0] = 0x8b;
    buf[1] = 0x47;
    buf[2] = 0x08;
    MmioInsn in;
    ck_assert_int_eq(mmio_decode(buf, sizeof(buf), &in), 3);
    ck_assert_int_eq(mmio_decode(buf, 3, &in), 3);
}
END_TEST

/* Effective addresses against a register file whose upper halves are set,
 * so 32-bit address truncation shows: gpr[k] = (k+1) << 32 | k << 12. */
#define G(k) ((((uint64_t)(k) + 1) << 32) | ((uint64_t)(k) << 12))
#define NEXT_RIP(len) (0x400000ull + (len))

static const struct {
    const char *name;
    uint8_t bytes[16];
    size_t n;
    bool known;             /* FALSE: FS/GS base needed */
    uint64_t ea;
} ea_cases[] = {
    { "[rdi]", INSN(0x8b, 0x07), true, G(7) },
    { "[r12+r9*4]", INSN(0x43, 0x8b, 0x04, 0x8c), true, G(12) + G(9) * 4 },
    { "[r12+r13*8]", INSN(0x43, 0x8b, 0x04, 0xec), true, G(12) + G(13) * 8 },
    { "[rsp+r12] (REX.X makes index 100b r12)", INSN(0x42, 0x8b, 0x04, 0x24), true, G(4) + G(12) },
    { "[rsp+0x100]", INSN(0x4c, 0x8b, 0x8c, 0x24, 0x00, 0x01, 0x00, 0x00), true, G(4) + 0x100 },
    { "[r12] (SIB)", INSN(0x41, 0x8b, 0x04, 0x24), true, G(12) },
    { "[r13+0]", INSN(0x41, 0x8b, 0x45, 0x00), true, G(13) },
    { "[r15-8]", INSN(0x4d, 0x8b, 0x7f, 0xf8), true, G(15) - 8 },
    { "[rax+rbx*2+0x10]", INSN(0x8b, 0x74, 0x58, 0x10), true, G(0) + G(3) * 2 + 0x10 },
    { "[rbp+rcx*8+0x1000]", INSN(0x8b, 0x94, 0xcd, 0x00, 0x10, 0x00, 0x00), true,
      G(5) + G(1) * 8 + 0x1000 },
    { "[0x1000] (SIB, no base)", INSN(0x8b, 0x04, 0x25, 0x00, 0x10, 0x00, 0x00), true, 0x1000 },
    { "[rdx*4-0x10] (SIB, no base)", INSN(0x8b, 0x04, 0x95, 0xf0, 0xff, 0xff, 0xff), true,
      G(2) * 4 - 0x10 },
    { "[rip+0x12345678]", INSN(0x8b, 0x05, 0x78, 0x56, 0x34, 0x12), true, NEXT_RIP(6) + 0x12345678 },
    { "[rip-16]", INSN(0x8b, 0x05, 0xf0, 0xff, 0xff, 0xff), true, NEXT_RIP(6) - 16 },
    { "[rip+0x10] with imm8 after", INSN(0x83, 0x3d, 0x10, 0x00, 0x00, 0x00, 0x07), true,
      NEXT_RIP(7) + 0x10 },
    { "REX.B with mod 0 rm 101 is still RIP", INSN(0x41, 0x8b, 0x05, 0x10, 0, 0, 0), true,
      NEXT_RIP(7) + 0x10 },
    { "[rsp+8] with imm32 after", INSN(0x48, 0xc7, 0x44, 0x24, 0x08, 0x00, 0x00, 0x00, 0x80), true,
      G(4) + 8 },
    { "addr32 [edi]", INSN(0x67, 0x8b, 0x07), true, G(7) & 0xffffffffull },
    { "addr32 [eax+ebx*8-4] wraps", INSN(0x67, 0x8b, 0x44, 0xd8, 0xfc), true,
      (G(0) + G(3) * 8 - 4) & 0xffffffffull },
    { "moffs64", INSN(0xa1, ADDR8), true, 0x1122334455667788ull },
    { "moffs32 (67)", INSN(0x67, 0xa0, 1, 2, 3, 4), true, 0x04030201 },
    { "fs: [rdi]", INSN(0x64, 0x8b, 0x07), false, 0 },
    { "gs: [0x28]", INSN(0x65, 0x48, 0x8b, 0x04, 0x25, 0x28, 0, 0, 0), false, 0 },
    { "ds: [rdi] (base 0)", INSN(0x3e, 0x8b, 0x07), true, G(7) },
};

START_TEST(test_decode_ea)
{
    uint64_t gpr[16];
    for (int k = 0; k < 16; k++) {
        gpr[k] = G(k);
    }
    for (size_t k = 0; k < G_N_ELEMENTS(ea_cases); k++) {
        MmioInsn in;
        int n = mmio_decode(ea_cases[k].bytes, ea_cases[k].n, &in);
        ck_assert_msg(n == (int)ea_cases[k].n, "%s: length %d", ea_cases[k].name, n);
        uint64_t ea = 0xdead;
        bool known = mmio_insn_ea(&in, gpr, NEXT_RIP((uint64_t)n), &ea);
        ck_assert_msg(known == ea_cases[k].known, "%s: known %d", ea_cases[k].name, known);
        if (known) {
            ck_assert_msg(ea == ea_cases[k].ea, "%s: ea %llx want %llx", ea_cases[k].name,
                          (unsigned long long)ea, (unsigned long long)ea_cases[k].ea);
        } else {
            ck_assert(ea == 0xdead);
        }
    }
}
END_TEST

/* Random byte strings, biased towards the prefixes and opcodes the decoder
 * knows, in buffers of exactly @avail bytes (ASan sees any over-read):
 * the result is always a length within @avail, -1 or -2, and a length is
 * stable when exactly that many bytes are given and truncated below it. */
START_TEST(test_decode_random)
{
    static const uint8_t hot[] = {
        0x66, 0x67, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x36, 0x64, 0x65, 0xf0, 0x40, 0x41, 0x44, 0x48,
        0x4c, 0x4f, 0x0f, 0x88, 0x89, 0x8a, 0x8b, 0xc6, 0xc7, 0x63, 0xa0, 0xa1, 0xa2, 0xa3, 0x80,
        0x81, 0x83, 0x38, 0x39, 0x3a, 0x3b, 0x84, 0x85, 0xf6, 0xf7, 0xb6, 0xb7, 0xbe, 0xbf, 0x10,
        0x11, 0x28, 0x29, 0x2b, 0x6e, 0x6f, 0x7e, 0x7f, 0xd6, 0xe7, 0xc3, 0x04, 0x05, 0x24, 0x25,
        0x44, 0x84, 0x07, 0x3f,
    };
    GRand *rng = g_rand_new_with_seed(0x7a9);
    unsigned decoded = 0;
    /* Check's assertions log every pass (slow in a hot loop); only failures here. */
#define REQUIRE(cond)                                                            \
    do {                                                                         \
        if (!(cond)) {                                                           \
            ck_abort_msg("iteration %u: %s", iter, #cond);                       \
        }                                                                        \
    } while (0)
    for (unsigned iter = 0; iter < 100000; iter++) {
        size_t avail = (size_t)g_rand_int_range(rng, 0, 17);
        uint8_t *buf = g_malloc(avail ? avail : 1);
        for (size_t k = 0; k < avail; k++) {
            buf[k] = g_rand_boolean(rng) ? hot[g_rand_int_range(rng, 0, G_N_ELEMENTS(hot))]
                                          : (uint8_t)g_rand_int_range(rng, 0, 256);
        }
        MmioInsn in;
        int n = mmio_decode(buf, avail, &in);
        REQUIRE(n >= MMIO_DECODE_TRUNCATED);
        REQUIRE(n != 0);
        if (n > 0) {
            decoded++;
            REQUIRE(n <= (int)avail);
            REQUIRE(n <= MMIO_INSN_MAX_LEN);
            REQUIRE(in.size == 1 || in.size == 2 || in.size == 4 || in.size == 8 || in.size == 16);
            REQUIRE(in.reg_kind != MMIO_REG_NONE || in.has_imm || in.op == MMIO_OP_RMW);
            REQUIRE(in.reg >= -1 && in.reg <= 15);
            MmioInsn again;
            REQUIRE(mmio_decode(buf, (size_t)n, &again) == n);
            REQUIRE(mmio_decode(buf, (size_t)n - 1, &again) == MMIO_DECODE_TRUNCATED);
        } else if (n == MMIO_DECODE_TRUNCATED) {
            REQUIRE(avail < MMIO_INSN_MAX_LEN);
        }
        g_free(buf);
    }
    g_rand_free(rng);
    ck_assert_uint_gt(decoded, 1000);
#undef REQUIRE
}
END_TEST

/* ---- a fake device behind PROT_NONE pages ---------------------------------- */

#define DEV_PAGES 2
#define DEV_SIZE  (DEV_PAGES * 4096)

typedef struct FakeDev {
    uint8_t regs[DEV_SIZE];
    atomic_uint reads;
    atomic_uint writes;
    atomic_uint bad;            /* callback saw a size or offset it must never see */
    unsigned ready_after;       /* polling test: status bit 0 reads 1 after this many reads */
} FakeDev;

static uint64_t fake_read(void *opaque, uint64_t off, unsigned size)
{
    FakeDev *d = opaque;
    if ((size != 1 && size != 2 && size != 4 && size != 8) || off + size > DEV_SIZE) {
        atomic_fetch_add(&d->bad, 1);
        return 0;
    }
    unsigned n = atomic_fetch_add(&d->reads, 1) + 1;
    if (d->ready_after && off == 0x800 && n >= d->ready_after) {
        d->regs[0x800] |= 1;
    }
    uint64_t v = 0;
    memcpy(&v, &d->regs[off], size);    /* little-endian host */
    return v;
}

static void fake_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    FakeDev *d = opaque;
    if ((size != 1 && size != 2 && size != 4 && size != 8) || off + size > DEV_SIZE ||
        (size < 8 && (val >> (size * 8)) != 0)) {
        atomic_fetch_add(&d->bad, 1);
        return;
    }
    atomic_fetch_add(&d->writes, 1);
    memcpy(&d->regs[off], &val, size);
}

static const MmioTrapOps fake_ops = { .read = fake_read, .write = fake_write };

typedef struct Rig {
    uint8_t *bar;               /* trapped */
    uint8_t *ref;               /* ordinary memory with the same contents */
    FakeDev *dev;
    MmioTrap *trap;
} Rig;

static void fill_pattern(uint8_t *p, size_t n)
{
    for (size_t k = 0; k < n; k++) {
        p[k] = (uint8_t)(k * 37 + 0x85 + (k >> 8));
    }
}

static void rig_init(Rig *r)
{
    GError *err = NULL;
    ck_assert(mmio_trap_install(&err));
    r->bar = mmap(NULL, DEV_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(r->bar != MAP_FAILED);
    r->ref = aligned_alloc(64, DEV_SIZE);
    ck_assert_ptr_nonnull(r->ref);
    r->dev = g_new0(FakeDev, 1);
    fill_pattern(r->ref, DEV_SIZE);
    memcpy(r->dev->regs, r->ref, DEV_SIZE);
    r->trap = mmio_trap_add(r->bar, DEV_SIZE, &fake_ops, r->dev, &err);
    ck_assert_msg(r->trap != NULL, "%s", err ? err->message : "?");
}

static void rig_fini(Rig *r)
{
    ck_assert_uint_eq(atomic_load(&r->dev->bad), 0);
    mmio_trap_remove(r->trap);
    munmap(r->bar, DEV_SIZE);
    free(r->ref);
    g_free(r->dev);
}

/* ---- live: loads ---------------------------------------------------------- */

typedef uint64_t (*LoadFn)(void *p, uint64_t init);

#define LOAD_FN(name, text)                                                      \
    static uint64_t name(void *p, uint64_t v)                                    \
    {                                                                            \
        __asm__ volatile(text : "+r"(v) : "r"(p) : "memory");                    \
        return v;                                                                \
    }
/* Destination pinned to one register (for REX.R / high-8 encodings). */
#define LOAD_FN_IN(name, regname, text)                                          \
    static uint64_t name(void *p, uint64_t v)                                    \
    {                                                                            \
        register uint64_t r __asm__(regname) = v;                               \
        __asm__ volatile(text : "+r"(r) : "r"(p) : "memory");                    \
        return r;                                                                \
    }
/* Base register pinned (r12 needs a SIB byte, r13 a zero disp8). */
#define LOAD_FN_BASE(name, regname, text)                                        \
    static uint64_t name(void *p, uint64_t v)                                    \
    {                                                                            \
        register void *b __asm__(regname) = p;                                   \
        __asm__ volatile(text : "+r"(v) : "r"(b) : "memory");                    \
        return v;                                                                \
    }

LOAD_FN(ld_mov8, "movb (%1), %b0")
LOAD_FN(ld_mov16, "movw (%1), %w0")
LOAD_FN(ld_mov32, "movl (%1), %k0")
LOAD_FN(ld_mov64, "movq (%1), %q0")
LOAD_FN(ld_mov32_d8, "movl 0x18(%1), %k0")
LOAD_FN(ld_mov64_d32, "movq 0x408(%1), %q0")
LOAD_FN(ld_movzx8_32, "movzbl (%1), %k0")
LOAD_FN(ld_movzx8_16, "movzbw (%1), %w0")
LOAD_FN(ld_movzx16_64, "movzwq (%1), %q0")
LOAD_FN(ld_movsx8_32, "movsbl (%1), %k0")
LOAD_FN(ld_movsx8_16, "movsbw (%1), %w0")
LOAD_FN(ld_movsx8_64, "movsbq (%1), %q0")
LOAD_FN(ld_movsx16_32, "movswl (%1), %k0")
LOAD_FN(ld_movsx16_64, "movswq (%1), %q0")
LOAD_FN(ld_movsxd, "movslq (%1), %q0")
LOAD_FN(ld_addr32, "addr32 movl (%k1), %k0")
LOAD_FN(ld_ds_seg, "movl %%ds:(%1), %k0")
LOAD_FN_IN(ld_ah, "rax", "movb (%1), %h0")
LOAD_FN_IN(ld_bh, "rbx", "movb 3(%1), %h0")
LOAD_FN_IN(ld_ch_movzx_not, "rcx", "movb 5(%1), %b0")
LOAD_FN_IN(ld_sil, "rsi", "movb 7(%1), %b0")
LOAD_FN_IN(ld_r8b, "r8", "movb 1(%1), %b0")
LOAD_FN_IN(ld_r11w, "r11", "movw 2(%1), %w0")
LOAD_FN_IN(ld_r15d, "r15", "movl 4(%1), %k0")
LOAD_FN_IN(ld_r9, "r9", "movq 8(%1), %q0")
LOAD_FN_IN(ld_r14_movsx, "r14", "movsbq 0x85(%1), %q0")
LOAD_FN_BASE(ld_base_r12, "r12", "movl 0x20(%1), %k0")
LOAD_FN_BASE(ld_base_r13, "r13", "movl (%1), %k0")
LOAD_FN_BASE(ld_base_r12_sib, "r12", "movq (%1), %q0")

static uint64_t ld_sib_index(void *p, uint64_t v)
{
    uint64_t idx = 3;
    __asm__ volatile("movl 0x10(%1,%2,8), %k0" : "+r"(v) : "r"(p), "r"(idx) : "memory");
    return v;
}

/* Two trapped loads and ordinary work between and after: RIP must land on
 * each following instruction. */
static uint64_t ld_sequence(void *p, uint64_t v)
{
    uint64_t t = 0;
    __asm__ volatile("movl (%2), %k0\n\t"
                     "addq $3, %q0\n\t"
                     "movzbl 9(%2), %k1\n\t"
                     "shlq $32, %q1\n\t"
                     "orq %q1, %q0\n\t"
                     : "+r"(v), "+r"(t) : "r"(p) : "memory");
    return v;
}

static const struct {
    const char *name;
    LoadFn fn;
    size_t off;
    unsigned reads;             /* callbacks expected */
} load_cases[] = {
    { "mov8", ld_mov8, 0x10, 1 },
    { "mov8 sign bit", ld_mov8, 0x11, 1 },
    { "mov16", ld_mov16, 0x12, 1 },
    { "mov32", ld_mov32, 0x14, 1 },
    { "mov64", ld_mov64, 0x18, 1 },
    { "mov32 disp8", ld_mov32_d8, 0x100, 1 },
    { "mov64 disp32", ld_mov64_d32, 0x200, 1 },
    { "mov64 second page", ld_mov64, 0x1ff8, 1 },
    { "movzx8->32", ld_movzx8_32, 0x21, 1 },
    { "movzx8->16", ld_movzx8_16, 0x22, 1 },
    { "movzx16->64", ld_movzx16_64, 0x24, 1 },
    { "movsx8->32 positive", ld_movsx8_32, 0x21, 1 },
    { "movsx8->32 negative", ld_movsx8_32, 0x23, 1 },
    { "movsx8->16", ld_movsx8_16, 0x22, 1 },
    { "movsx8->64", ld_movsx8_64, 0x25, 1 },
    { "movsx16->32", ld_movsx16_32, 0x26, 1 },
    { "movsx16->64", ld_movsx16_64, 0x28, 1 },
    { "movsxd", ld_movsxd, 0x2c, 1 },
    { "movsxd other", ld_movsxd, 0x30, 1 },
    { "ds: override", ld_ds_seg, 0x34, 1 },
    { "ah", ld_ah, 0x40, 1 },
    { "bh", ld_bh, 0x40, 1 },
    { "cl", ld_ch_movzx_not, 0x40, 1 },
    { "sil", ld_sil, 0x40, 1 },
    { "r8b", ld_r8b, 0x40, 1 },
    { "r11w", ld_r11w, 0x40, 1 },
    { "r15d", ld_r15d, 0x40, 1 },
    { "r9", ld_r9, 0x40, 1 },
    { "r14 movsx", ld_r14_movsx, 0x40, 1 },
    { "base r12 disp8", ld_base_r12, 0x50, 1 },
    { "base r13 (disp8 0)", ld_base_r13, 0x50, 1 },
    { "base r12 (SIB)", ld_base_r12_sib, 0x58, 1 },
    { "SIB index*8+disp8", ld_sib_index, 0x60, 1 },
    { "two loads in a row", ld_sequence, 0x70, 2 },
};

START_TEST(test_live_loads)
{
    Rig r;
    rig_init(&r);
    static const uint64_t inits[] = { 0x1111111111111111ull, 0xfedcba9876543210ull, 0, ~0ull };
    for (size_t k = 0; k < G_N_ELEMENTS(load_cases); k++) {
        for (size_t j = 0; j < G_N_ELEMENTS(inits); j++) {
            unsigned before = atomic_load(&r.dev->reads);
            uint64_t want = load_cases[k].fn(r.ref + load_cases[k].off, inits[j]);
            uint64_t got = load_cases[k].fn(r.bar + load_cases[k].off, inits[j]);
            ck_assert_msg(got == want, "%s init %016llx: got %016llx want %016llx", load_cases[k].name,
                          (unsigned long long)inits[j], (unsigned long long)got,
                          (unsigned long long)want);
            ck_assert_uint_eq(atomic_load(&r.dev->reads) - before, load_cases[k].reads);
        }
    }
    rig_fini(&r);
}
END_TEST

/* The addr32 (67) form needs a pointer below 4 GiB. */
START_TEST(test_live_addr32)
{
    GError *err = NULL;
    ck_assert(mmio_trap_install(&err));
    uint8_t *bar = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0);
    ck_assert(bar != MAP_FAILED);
    FakeDev *dev = g_new0(FakeDev, 1);
    uint8_t ref[64];
    fill_pattern(ref, sizeof(ref));
    memcpy(dev->regs, ref, sizeof(ref));
    MmioTrap *t = mmio_trap_add(bar, 4096, &fake_ops, dev, &err);
    ck_assert_ptr_nonnull(t);
    /* Compare with the value the pattern says, as ref itself is not below 4 GiB. */
    uint32_t want;
    memcpy(&want, &ref[0x14], 4);
    ck_assert_uint_eq(ld_addr32(bar + 0x14, ~0ull), want);
    ck_assert_uint_eq(atomic_load(&dev->reads), 1);
    mmio_trap_remove(t);
    munmap(bar, 4096);
    g_free(dev);
}
END_TEST

/* ---- live: stores ---------------------------------------------------------- */

typedef void (*StoreFn)(void *p, uint64_t v);

#define STORE_FN(name, text)                                                     \
    static void name(void *p, uint64_t v)                                        \
    {                                                                            \
        __asm__ volatile(text : : "r"(v), "r"(p) : "memory");                    \
    }
#define STORE_FN_IN(name, regname, text)                                         \
    static void name(void *p, uint64_t v)                                        \
    {                                                                            \
        register uint64_t r __asm__(regname) = v;                                \
        __asm__ volatile(text : : "r"(r), "r"(p) : "memory");                    \
    }

STORE_FN(st_mov8, "movb %b0, (%1)")
STORE_FN(st_mov16, "movw %w0, (%1)")
STORE_FN(st_mov32, "movl %k0, (%1)")
STORE_FN(st_mov64, "movq %q0, (%1)")
STORE_FN(st_mov64_d32, "movq %q0, 0x300(%1)")
STORE_FN(st_imm8, "movb $0xa5, (%1)")
STORE_FN(st_imm16, "movw $0x8421, (%1)")
STORE_FN(st_imm32, "movl $0x89abcdef, 4(%1)")
STORE_FN(st_imm64_neg, "movq $-0x12345678, (%1)")
STORE_FN(st_imm64_pos, "movq $0x7eadbeef, 8(%1)")
STORE_FN(st_movnti32, "movnti %k0, (%1)")
STORE_FN(st_movnti64, "movnti %q0, 8(%1)")
STORE_FN_IN(st_ah, "rax", "movb %h0, (%1)")
STORE_FN_IN(st_dh, "rdx", "movb %h0, 1(%1)")
STORE_FN_IN(st_dil, "rdi", "movb %b0, 2(%1)")
STORE_FN_IN(st_r10w, "r10", "movw %w0, 2(%1)")
STORE_FN_IN(st_r13d, "r13", "movl %k0, 4(%1)")
STORE_FN_IN(st_r15, "r15", "movq %q0, (%1)")

static const struct {
    const char *name;
    StoreFn fn;
    size_t off;
    unsigned writes;
} store_cases[] = {
    { "mov8", st_mov8, 0x10, 1 },
    { "mov16", st_mov16, 0x12, 1 },
    { "mov32", st_mov32, 0x14, 1 },
    { "mov64", st_mov64, 0x18, 1 },
    { "mov64 disp32", st_mov64_d32, 0x20, 1 },
    { "imm8", st_imm8, 0x30, 1 },
    { "imm16", st_imm16, 0x32, 1 },
    { "imm32", st_imm32, 0x30, 1 },
    { "imm32 sign-extended to 64", st_imm64_neg, 0x38, 1 },
    { "imm32 positive to 64", st_imm64_pos, 0x38, 1 },
    { "movnti32", st_movnti32, 0x50, 1 },
    { "movnti64", st_movnti64, 0x50, 1 },
    { "ah", st_ah, 0x40, 1 },
    { "dh", st_dh, 0x40, 1 },
    { "dil", st_dil, 0x40, 1 },
    { "r10w", st_r10w, 0x40, 1 },
    { "r13d", st_r13d, 0x40, 1 },
    { "r15", st_r15, 0x48, 1 },
    { "mov64 last bytes of the range", st_mov64, DEV_SIZE - 8, 1 },
};

START_TEST(test_live_stores)
{
    Rig r;
    rig_init(&r);
    static const uint64_t vals[] = { 0x0123456789abcdefull, 0xfedcba9876543210ull };
    for (size_t k = 0; k < G_N_ELEMENTS(store_cases); k++) {
        for (size_t j = 0; j < G_N_ELEMENTS(vals); j++) {
            unsigned before = atomic_load(&r.dev->writes);
            store_cases[k].fn(r.ref + store_cases[k].off, vals[j]);
            store_cases[k].fn(r.bar + store_cases[k].off, vals[j]);
            ck_assert_msg(memcmp(r.ref, r.dev->regs, DEV_SIZE) == 0, "%s: device differs",
                          store_cases[k].name);
            ck_assert_uint_eq(atomic_load(&r.dev->writes) - before, store_cases[k].writes);
        }
    }
    ck_assert_uint_eq(atomic_load(&r.dev->reads), 0);
    rig_fini(&r);
}
END_TEST

/* ---- live: compare and test ------------------------------------------------- */

/* RFLAGS after the instruction; the red zone is stepped over before the
 * push so locals the compiler keeps there survive. */
#define READ_FLAGS "\n\tleaq -128(%%rsp), %%rsp\n\tpushfq\n\tpopq %0\n\tleaq 128(%%rsp), %%rsp"
#define FLAGS_FN(name, text)                                                     \
    static uint64_t name(void *p, uint64_t v)                                    \
    {                                                                            \
        uint64_t fl;                                                             \
        __asm__ volatile(text READ_FLAGS : "=&r"(fl) : "r"(v), "r"(p) : "memory", "cc"); \
        return fl;                                                               \
    }
#define FLAGS_FN_AH(name, text)                                                  \
    static uint64_t name(void *p, uint64_t v)                                    \
    {                                                                            \
        uint64_t fl;                                                             \
        register uint64_t a __asm__("rax") = v;                                  \
        __asm__ volatile(text READ_FLAGS : "=&r"(fl) : "r"(a), "r"(p) : "memory", "cc"); \
        return fl;                                                               \
    }

FLAGS_FN(cmp_m8_i8, "cmpb $0x40, (%2)")
FLAGS_FN(cmp_m8_i8_neg, "cmpb $-0x80, (%2)")
FLAGS_FN(cmp_m16_i16, "cmpw $0x7ff0, (%2)")
FLAGS_FN(cmp_m32_i8, "cmpl $5, (%2)")
FLAGS_FN(cmp_m32_i32, "cmpl $0x80000001, (%2)")
FLAGS_FN(cmp_m64_i8, "cmpq $-1, (%2)")
FLAGS_FN(cmp_m64_i32, "cmpq $0x12345678, (%2)")
FLAGS_FN(cmp_m32_r, "cmpl %k1, (%2)")
FLAGS_FN(cmp_r_m32, "cmpl (%2), %k1")
FLAGS_FN(cmp_m64_r, "cmpq %q1, (%2)")
FLAGS_FN(cmp_r_m8, "cmpb (%2), %b1")
FLAGS_FN(cmp_r_m16, "cmpw (%2), %w1")
FLAGS_FN_AH(cmp_m8_ah, "cmpb %h1, (%2)")
FLAGS_FN(test_m8_i8, "testb $0x81, (%2)")
FLAGS_FN(test_m16_i16, "testw $0x8001, (%2)")
FLAGS_FN(test_m32_i32, "testl $0x80000000, (%2)")
FLAGS_FN(test_m64_i32, "testq $-2, (%2)")
FLAGS_FN(test_m32_r, "testl %k1, (%2)")
FLAGS_FN(test_m64_r, "testq %q1, (%2)")
FLAGS_FN_AH(test_m8_ah, "testb %h1, (%2)")

#define FL_ARITH 0x8d5ull       /* OF SF ZF AF PF CF */
#define FL_LOGIC 0x8c5ull       /* TEST leaves AF undefined */

static const struct {
    const char *name;
    LoadFn fn;
    uint64_t mask;
} flag_cases[] = {
    { "cmp m8,imm8", cmp_m8_i8, FL_ARITH },
    { "cmp m8,-128", cmp_m8_i8_neg, FL_ARITH },
    { "cmp m16,imm16", cmp_m16_i16, FL_ARITH },
    { "cmp m32,imm8", cmp_m32_i8, FL_ARITH },
    { "cmp m32,imm32", cmp_m32_i32, FL_ARITH },
    { "cmp m64,-1", cmp_m64_i8, FL_ARITH },
    { "cmp m64,imm32", cmp_m64_i32, FL_ARITH },
    { "cmp m32,r32", cmp_m32_r, FL_ARITH },
    { "cmp r32,m32", cmp_r_m32, FL_ARITH },
    { "cmp m64,r64", cmp_m64_r, FL_ARITH },
    { "cmp r8,m8", cmp_r_m8, FL_ARITH },
    { "cmp r16,m16", cmp_r_m16, FL_ARITH },
    { "cmp m8,ah", cmp_m8_ah, FL_ARITH },
    { "test m8,imm8", test_m8_i8, FL_LOGIC },
    { "test m16,imm16", test_m16_i16, FL_LOGIC },
    { "test m32,imm32", test_m32_i32, FL_LOGIC },
    { "test m64,imm32", test_m64_i32, FL_LOGIC },
    { "test m32,r32", test_m32_r, FL_LOGIC },
    { "test m64,r64", test_m64_r, FL_LOGIC },
    { "test m8,ah", test_m8_ah, FL_LOGIC },
};

START_TEST(test_live_flags)
{
    Rig r;
    rig_init(&r);
    static const uint64_t mems[] = {
        0, 1, 5, 0x40, 0x7f, 0x80, 0xff, 0x7ff0, 0x8000, 0xffff, 0x12345678, 0x80000000,
        0x80000001, 0xffffffff, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull,
        0x0f0f0f0f0f0f0f0full,
    };
    static const uint64_t regs[] = { 0, 5, 0x80, 0x8000, 0x80000000, 0x12345678, ~0ull, 0x4000 };
    for (size_t k = 0; k < G_N_ELEMENTS(flag_cases); k++) {
        for (size_t m = 0; m < G_N_ELEMENTS(mems); m++) {
            for (size_t j = 0; j < G_N_ELEMENTS(regs); j++) {
                memcpy(r.ref + 0x80, &mems[m], 8);
                memcpy(r.dev->regs + 0x80, &mems[m], 8);
                unsigned before = atomic_load(&r.dev->reads);
                uint64_t want = flag_cases[k].fn(r.ref + 0x80, regs[j]) & flag_cases[k].mask;
                uint64_t got = flag_cases[k].fn(r.bar + 0x80, regs[j]) & flag_cases[k].mask;
                ck_assert_msg(got == want, "%s mem %llx reg %llx: flags %03llx want %03llx",
                              flag_cases[k].name, (unsigned long long)mems[m],
                              (unsigned long long)regs[j], (unsigned long long)got,
                              (unsigned long long)want);
                ck_assert_uint_eq(atomic_load(&r.dev->reads) - before, 1);
            }
        }
    }
    ck_assert_uint_eq(atomic_load(&r.dev->writes), 0);
    ck_assert(memcmp(r.ref, r.dev->regs, DEV_SIZE) == 0);
    rig_fini(&r);
}
END_TEST

/* A compiler folds a volatile load into a compare-and-branch with setcc. */
START_TEST(test_live_setcc)
{
    Rig r;
    rig_init(&r);
    uint32_t v = 0x80000000u;
    memcpy(r.dev->regs + 0x90, &v, 4);
    uint8_t z, c, s, o;
    __asm__ volatile("cmpl $1, (%4)\n\tsetz %0\n\tsetc %1\n\tsets %2\n\tseto %3"
                     : "=q"(z), "=q"(c), "=q"(s), "=q"(o) : "r"(r.bar + 0x90) : "memory", "cc");
    /* 0x80000000 - 1 = 0x7fffffff: no borrow, positive, signed overflow. */
    ck_assert_uint_eq(z, 0);
    ck_assert_uint_eq(c, 0);
    ck_assert_uint_eq(s, 0);
    ck_assert_uint_eq(o, 1);
    __asm__ volatile("testl $0x80000000, (%4)\n\tsetz %0\n\tsetc %1\n\tsets %2\n\tseto %3"
                     : "=q"(z), "=q"(c), "=q"(s), "=q"(o) : "r"(r.bar + 0x90) : "memory", "cc");
    ck_assert_uint_eq(z, 0);
    ck_assert_uint_eq(c, 0);
    ck_assert_uint_eq(s, 1);
    ck_assert_uint_eq(o, 0);
    rig_fini(&r);
}
END_TEST

/* ---- live: read-modify-write --------------------------------------------- */

/* Returns RFLAGS; *vp is the register operand in and out.  All six
 * arithmetic flags are set first, so ADC/SBB carry in, INC/DEC must keep
 * CF and NOT must keep them all. */
#define PRESET_FLAGS "leaq -128(%%rsp), %%rsp\n\tpushq $0xad7\n\tpopfq\n\tleaq 128(%%rsp), %%rsp\n\t"
#define RMW_FN(name, text)                                                       \
    static uint64_t name(void *p, uint64_t *vp)                                  \
    {                                                                            \
        uint64_t fl, v = *vp;                                                    \
        __asm__ volatile(PRESET_FLAGS text READ_FLAGS                              \
                         : "=&r"(fl), "+r"(v) : "r"(p) : "memory", "cc");        \
        *vp = v;                                                                 \
        return fl;                                                               \
    }

typedef uint64_t (*RmwFn)(void *p, uint64_t *vp);

RMW_FN(rmw_or_i8, "orl $0x101, (%2)")
RMW_FN(rmw_and_i32, "andl $-5, (%2)")
RMW_FN(rmw_xor_m8, "xorb $0x80, (%2)")
RMW_FN(rmw_add_r64, "addq %q1, (%2)")
RMW_FN(rmw_add_r8, "addb %b1, (%2)")
RMW_FN(rmw_sub_r16, "subw %w1, (%2)")
RMW_FN(rmw_adc_r32, "adcl %k1, (%2)")
RMW_FN(rmw_sbb_i8, "sbbq $7, (%2)")
RMW_FN(rmw_sub_i32_64, "subq $0x7fffffff, (%2)")
RMW_FN(rmw_inc32, "incl (%2)")
RMW_FN(rmw_dec8, "decb (%2)")
RMW_FN(rmw_inc64, "incq (%2)")
RMW_FN(rmw_neg32, "negl (%2)")
RMW_FN(rmw_neg8, "negb (%2)")
RMW_FN(rmw_not64, "notq (%2)")
RMW_FN(rmw_not16, "notw (%2)")
RMW_FN(rmw_lock_or, "lock orl $0x10, (%2)")
RMW_FN(rmw_lock_add, "lock addq %q1, (%2)")
RMW_FN(rmw_lock_dec, "lock decl (%2)")
RMW_FN(ald_add32, "addl (%2), %k1")
RMW_FN(ald_add64, "addq (%2), %q1")
RMW_FN(ald_sub16, "subw (%2), %w1")
RMW_FN(ald_adc8, "adcb (%2), %b1")
RMW_FN(ald_sbb64, "sbbq (%2), %q1")
RMW_FN(ald_and32, "andl (%2), %k1")
RMW_FN(ald_or64, "orq (%2), %q1")
RMW_FN(ald_xor8, "xorb (%2), %b1")

static const struct {
    const char *name;
    RmwFn fn;
    uint64_t mask;
    bool writes;
} rmw_cases[] = {
    { "or m32,imm", rmw_or_i8, FL_LOGIC, true },
    { "and m32,imm", rmw_and_i32, FL_LOGIC, true },
    { "xor m8,imm", rmw_xor_m8, FL_LOGIC, true },
    { "add m64,r", rmw_add_r64, FL_ARITH, true },
    { "add m8,r", rmw_add_r8, FL_ARITH, true },
    { "sub m16,r", rmw_sub_r16, FL_ARITH, true },
    { "adc m32,r (CF=1)", rmw_adc_r32, FL_ARITH, true },
    { "sbb m64,imm8 (CF=1)", rmw_sbb_i8, FL_ARITH, true },
    { "sub m64,imm32", rmw_sub_i32_64, FL_ARITH, true },
    { "inc m32 (CF kept)", rmw_inc32, FL_ARITH, true },
    { "dec m8 (CF kept)", rmw_dec8, FL_ARITH, true },
    { "inc m64", rmw_inc64, FL_ARITH, true },
    { "neg m32", rmw_neg32, FL_ARITH, true },
    { "neg m8", rmw_neg8, FL_ARITH, true },
    { "not m64 (flags kept)", rmw_not64, FL_ARITH, true },
    { "not m16", rmw_not16, FL_ARITH, true },
    { "lock or m32,imm", rmw_lock_or, FL_LOGIC, true },
    { "lock add m64,r", rmw_lock_add, FL_ARITH, true },
    { "lock dec m32", rmw_lock_dec, FL_ARITH, true },
    { "add r32,m", ald_add32, FL_ARITH, false },
    { "add r64,m", ald_add64, FL_ARITH, false },
    { "sub r16,m", ald_sub16, FL_ARITH, false },
    { "adc r8,m (CF=1)", ald_adc8, FL_ARITH, false },
    { "sbb r64,m (CF=1)", ald_sbb64, FL_ARITH, false },
    { "and r32,m", ald_and32, FL_LOGIC, false },
    { "or r64,m", ald_or64, FL_LOGIC, false },
    { "xor r8,m", ald_xor8, FL_LOGIC, false },
};

START_TEST(test_live_rmw)
{
    Rig r;
    rig_init(&r);
    static const uint64_t mems[] = {
        0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff,
        0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull, 0x0f0f0f0f0f0f0f0full, 0xfffffffb,
    };
    static const uint64_t regs[] = { 0, 1, 0x7f, 0x8001, 0x80000000, ~0ull, 0x123456789abcdef0ull };
    for (size_t k = 0; k < G_N_ELEMENTS(rmw_cases); k++) {
        for (size_t m = 0; m < G_N_ELEMENTS(mems); m++) {
            for (size_t j = 0; j < G_N_ELEMENTS(regs); j++) {
                memcpy(r.ref + 0x80, &mems[m], 8);
                memcpy(r.dev->regs + 0x80, &mems[m], 8);
                unsigned reads = atomic_load(&r.dev->reads), writes = atomic_load(&r.dev->writes);
                uint64_t v_ref = regs[j], v_trap = regs[j];
                uint64_t want = rmw_cases[k].fn(r.ref + 0x80, &v_ref) & rmw_cases[k].mask;
                uint64_t got = rmw_cases[k].fn(r.bar + 0x80, &v_trap) & rmw_cases[k].mask;
                ck_assert_msg(got == want && v_trap == v_ref && memcmp(r.ref + 0x80, r.dev->regs + 0x80, 8) == 0,
                              "%s mem %llx reg %llx: flags %03llx want %03llx, reg %llx want %llx",
                              rmw_cases[k].name, (unsigned long long)mems[m],
                              (unsigned long long)regs[j], (unsigned long long)got,
                              (unsigned long long)want, (unsigned long long)v_trap,
                              (unsigned long long)v_ref);
                ck_assert_uint_eq(atomic_load(&r.dev->reads) - reads, 1);
                ck_assert_uint_eq(atomic_load(&r.dev->writes) - writes, rmw_cases[k].writes ? 1 : 0);
            }
        }
    }
    rig_fini(&r);
}
END_TEST

/* ---- live: SSE -------------------------------------------------------------- */

typedef void (*XmmLoadFn)(void *p, uint64_t out[2]);
typedef void (*XmmStoreFn)(void *p, const uint64_t in[2]);

/* The XMM register starts all-ones so a missing zeroing of the upper part shows. */
#define XMM_LOAD_FN(name, xreg, text)                                            \
    static void name(void *p, uint64_t out[2])                                   \
    {                                                                            \
        uint64_t lo, hi;                                                         \
        __asm__ volatile("pcmpeqd %%" xreg ", %%" xreg "\n\t" text "\n\t"        \
                         "movq %%" xreg ", %0\n\t"                               \
                         "movhlps %%" xreg ", %%" xreg "\n\t"                    \
                         "movq %%" xreg ", %1"                                   \
                         : "=r"(lo), "=r"(hi) : "r"(p) : "memory", xreg);        \
        out[0] = lo;                                                             \
        out[1] = hi;                                                             \
    }
#define XMM_STORE_FN(name, xreg, text)                                           \
    static void name(void *p, const uint64_t in[2])                              \
    {                                                                            \
        __asm__ volatile("movdqu (%1), %%" xreg "\n\t" text                      \
                         : : "r"(p), "r"(in) : "memory", xreg);                  \
    }

XMM_LOAD_FN(xl_movdqu, "xmm9", "movdqu (%2), %%xmm9")
XMM_LOAD_FN(xl_movdqa, "xmm1", "movdqa (%2), %%xmm1")
XMM_LOAD_FN(xl_movups, "xmm14", "movups 0x10(%2), %%xmm14")
XMM_LOAD_FN(xl_movaps, "xmm0", "movaps (%2), %%xmm0")
XMM_LOAD_FN(xl_movapd, "xmm8", "movapd (%2), %%xmm8")
XMM_LOAD_FN(xl_movd, "xmm3", "movd (%2), %%xmm3")
XMM_LOAD_FN(xl_movq_6e, "xmm10", "movq (%2), %%xmm10")
XMM_LOAD_FN(xl_movss, "xmm4", "movss (%2), %%xmm4")
XMM_LOAD_FN(xl_movsd, "xmm5", "movsd (%2), %%xmm5")

/* Encodings gas would not pick, spelled with .byte; the base is pinned to
 * RDX so the ModRM byte (0x32: [rdx], xmm6) is known. */
#define XMM_LOAD_FN_RDX(name, bytes)                                             \
    static void name(void *p, uint64_t out[2])                                   \
    {                                                                            \
        register void *b __asm__("rdx") = p;                                     \
        uint64_t lo, hi;                                                         \
        __asm__ volatile("pcmpeqd %%xmm6, %%xmm6\n\t"                            \
                         ".byte " bytes "\n\t"                                   \
                         "movq %%xmm6, %0\n\tmovhlps %%xmm6, %%xmm6\n\tmovq %%xmm6, %1" \
                         : "=r"(lo), "=r"(hi) : "r"(b) : "memory", "xmm6");      \
        out[0] = lo;                                                             \
        out[1] = hi;                                                             \
    }
XMM_LOAD_FN_RDX(xl_movq_66w, "0x66, 0x48, 0x0f, 0x6e, 0x32")   /* movq xmm6,[rdx] (66 REX.W 0F 6E) */
XMM_LOAD_FN_RDX(xl_movq_f3, "0xf3, 0x0f, 0x7e, 0x32")          /* movq xmm6,[rdx] (F3 0F 7E) */

XMM_STORE_FN(xs_movdqu, "xmm9", "movdqu %%xmm9, (%0)")
XMM_STORE_FN(xs_movdqa, "xmm0", "movdqa %%xmm0, 0x20(%0)")
XMM_STORE_FN(xs_movups, "xmm15", "movups %%xmm15, (%0)")
XMM_STORE_FN(xs_movaps, "xmm7", "movaps %%xmm7, (%0)")
XMM_STORE_FN(xs_movntdq, "xmm2", "movntdq %%xmm2, (%0)")
XMM_STORE_FN(xs_movntps, "xmm3", "movntps %%xmm3, (%0)")
XMM_STORE_FN(xs_movd, "xmm11", "movd %%xmm11, (%0)")
XMM_STORE_FN(xs_movq_7e, "xmm12", "movq %%xmm12, (%0)")
XMM_STORE_FN(xs_movss, "xmm4", "movss %%xmm4, (%0)")
XMM_STORE_FN(xs_movsd, "xmm5", "movsd %%xmm5, 8(%0)")

static void xs_movq_d6_pinned(void *p, const uint64_t in[2])
{
    uint64_t copy[2] = { in[0], in[1] };
    register void *b __asm__("rdi") = p;
    __asm__ volatile("movdqu (%1), %%xmm1\n\t"
                     ".byte 0x66, 0x0f, 0xd6, 0x0f"      /* movq %xmm1, (%rdi) */
                     : : "r"(b), "r"(copy) : "memory", "xmm1");
}

static const struct {
    const char *name;
    XmmLoadFn fn;
    size_t off;
    unsigned reads;
} xmm_load_cases[] = {
    { "movdqu", xl_movdqu, 0x108, 2 },
    { "movdqa", xl_movdqa, 0x100, 2 },
    { "movups", xl_movups, 0x100, 2 },
    { "movaps", xl_movaps, 0x110, 2 },
    { "movapd", xl_movapd, 0x120, 2 },
    { "movd", xl_movd, 0x104, 1 },
    { "movq (66 0F 6E REX.W)", xl_movq_6e, 0x108, 1 },
    { "movq (66 REX.W 0F 6E, .byte)", xl_movq_66w, 0x110, 1 },
    { "movq (F3 0F 7E)", xl_movq_f3, 0x118, 1 },
    { "movss", xl_movss, 0x11c, 1 },
    { "movsd", xl_movsd, 0x128, 1 },
    { "movdqu across the page boundary", xl_movdqu, 0xff8, 2 },
};

static const struct {
    const char *name;
    XmmStoreFn fn;
    size_t off;
    unsigned writes;
} xmm_store_cases[] = {
    { "movdqu", xs_movdqu, 0x208, 2 },
    { "movdqa", xs_movdqa, 0x200, 2 },
    { "movups", xs_movups, 0x240, 2 },
    { "movaps", xs_movaps, 0x250, 2 },
    { "movntdq", xs_movntdq, 0x260, 2 },
    { "movntps", xs_movntps, 0x270, 2 },
    { "movd", xs_movd, 0x284, 1 },
    { "movq (66 REX.W 0F 7E)", xs_movq_7e, 0x288, 1 },
    { "movq (66 0F D6)", xs_movq_d6_pinned, 0x290, 1 },
    { "movss", xs_movss, 0x29c, 1 },
    { "movsd", xs_movsd, 0x2a0, 1 },
};

START_TEST(test_live_sse)
{
    Rig r;
    rig_init(&r);
    for (size_t k = 0; k < G_N_ELEMENTS(xmm_load_cases); k++) {
        uint64_t want[2], got[2];
        unsigned before = atomic_load(&r.dev->reads);
        xmm_load_cases[k].fn(r.ref + xmm_load_cases[k].off, want);
        xmm_load_cases[k].fn(r.bar + xmm_load_cases[k].off, got);
        ck_assert_msg(got[0] == want[0] && got[1] == want[1],
                      "%s: got %016llx:%016llx want %016llx:%016llx", xmm_load_cases[k].name,
                      (unsigned long long)got[1], (unsigned long long)got[0],
                      (unsigned long long)want[1], (unsigned long long)want[0]);
        ck_assert_uint_eq(atomic_load(&r.dev->reads) - before, xmm_load_cases[k].reads);
    }
    const uint64_t val[2] = { 0x0706050403020100ull, 0x8f8e8d8c8b8a8988ull };
    for (size_t k = 0; k < G_N_ELEMENTS(xmm_store_cases); k++) {
        unsigned before = atomic_load(&r.dev->writes);
        xmm_store_cases[k].fn(r.ref + xmm_store_cases[k].off, val);
        xmm_store_cases[k].fn(r.bar + xmm_store_cases[k].off, val);
        ck_assert_msg(memcmp(r.ref, r.dev->regs, DEV_SIZE) == 0, "%s: device differs",
                      xmm_store_cases[k].name);
        ck_assert_uint_eq(atomic_load(&r.dev->writes) - before, xmm_store_cases[k].writes);
    }
    rig_fini(&r);
}
END_TEST

/* ---- live: what a C driver compiles to -------------------------------------- */

START_TEST(test_live_volatile_c)
{
    Rig r;
    rig_init(&r);
    volatile uint8_t *b8 = r.bar;
    volatile uint16_t *b16 = (volatile uint16_t *)r.bar;
    volatile uint32_t *b32 = (volatile uint32_t *)r.bar;
    volatile uint64_t *b64 = (volatile uint64_t *)r.bar;

    b8[0x301] = 0x5a;
    b16[0x302 / 2] = 0xbeef;
    b32[0x304 / 4] = 0xdeadbeef;
    b64[0x308 / 8] = 0x0123456789abcdefull;
    ck_assert_uint_eq(r.dev->regs[0x301], 0x5a);
    ck_assert_uint_eq(b8[0x301], 0x5a);
    ck_assert_uint_eq(b16[0x302 / 2], 0xbeef);
    ck_assert_uint_eq(b32[0x304 / 4], 0xdeadbeef);
    ck_assert(b64[0x308 / 8] == 0x0123456789abcdefull);
    int8_t s8 = ((volatile int8_t *)r.bar)[0x307];      /* 0xde */
    ck_assert_int_eq(s8, (int8_t)0xde);
    int64_t s32 = ((volatile int32_t *)r.bar)[0x304 / 4];
    ck_assert(s32 == (int64_t)(int32_t)0xdeadbeef);
    if (b32[0x304 / 4] != 0xdeadbeef) {
        ck_abort_msg("compare folded into a branch went wrong");
    }

    /* Read-modify-write as drivers write it (clang folds these into one
     * instruction on memory, gcc into load/op/store). */
    b32[0x310 / 4] = 0x0f;
    b32[0x310 / 4] |= 0x100;
    b32[0x310 / 4] &= ~1u;
    b32[0x310 / 4] += 0x20;
    b8[0x314] = 0x7f;
    b8[0x314] ^= 0x80;
    b16[0x316 / 2] = 0xffff;
    b16[0x316 / 2]++;
    ck_assert_uint_eq(b32[0x310 / 4], 0x12e);
    ck_assert_uint_eq(b8[0x314], 0xff);
    ck_assert_uint_eq(b16[0x316 / 2], 0);

    /* A polling loop: the status bit comes up after some reads. */
    r.dev->regs[0x800] = 0;
    r.dev->ready_after = atomic_load(&r.dev->reads) + 50;
    unsigned spins = 0;
    while ((b32[0x800 / 4] & 1) == 0) {
        spins++;
        ck_assert_uint_lt(spins, 1000);
    }
    ck_assert_uint_ge(spins, 40);

    /* Registers copied out one volatile access each.  (A volatile struct
     * copy is not used: clang with ASan turns it into a memcpy() call, and
     * libc's memcpy uses AVX and string instructions, which are refused.) */
    uint64_t copy[4];
    for (int k = 0; k < 4; k++) {
        copy[k] = b64[0x300 / 8 + k];
    }
    uint64_t a0;
    memcpy(&a0, &r.dev->regs[0x300], 8);
    ck_assert(copy[0] == a0);
    ck_assert(copy[1] == 0x0123456789abcdefull);
    rig_fini(&r);
}
END_TEST

/* RIP-relative forms: code placed next to the trapped page. */
START_TEST(test_live_rip_relative)
{
    GError *err = NULL;
    ck_assert(mmio_trap_install(&err));
    uint8_t *area = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(area != MAP_FAILED);
    uint8_t *code = area, *bar = area + 4096;
    /* mov eax,[rip+d32] ; add eax,1 ; mov dword [rip+d32],0x11223344 ; ret */
    uint8_t *c = code;
    int32_t d = (int32_t)((bar + 0x10) - (c + 6));
    *c++ = 0x8b; *c++ = 0x05; memcpy(c, &d, 4); c += 4;
    *c++ = 0x83; *c++ = 0xc0; *c++ = 0x01;
    d = (int32_t)((bar + 0x20) - (c + 10));
    *c++ = 0xc7; *c++ = 0x05; memcpy(c, &d, 4); c += 4;
    uint32_t imm = 0x11223344;
    memcpy(c, &imm, 4); c += 4;
    *c++ = 0xc3;
    if (mprotect(code, 4096, PROT_READ | PROT_EXEC) != 0) {
        munmap(area, 2 * 4096);
        return;                 /* no executable anonymous memory here: nothing to test */
    }
    ck_assert_int_eq(mprotect(bar, 4096, PROT_NONE), 0);
    FakeDev *dev = g_new0(FakeDev, 1);
    uint32_t v = 41;
    memcpy(dev->regs + 0x10, &v, 4);
    MmioTrap *t = mmio_trap_add(bar, 4096, &fake_ops, dev, &err);
    ck_assert_ptr_nonnull(t);
    uint32_t (*fn)(void);
    void *cp = code;
    memcpy(&fn, &cp, sizeof(fn));
    ck_assert_uint_eq(fn(), 42);
    uint32_t stored;
    memcpy(&stored, dev->regs + 0x20, 4);
    ck_assert_uint_eq(stored, 0x11223344);
    ck_assert_uint_eq(atomic_load(&dev->reads), 1);
    ck_assert_uint_eq(atomic_load(&dev->writes), 1);
    mmio_trap_remove(t);
    munmap(area, 2 * 4096);
    g_free(dev);
}
END_TEST

/* moffs forms need an absolute address known when assembling. */
#define MOFFS_BASE 0x5a000000ul
START_TEST(test_live_moffs)
{
    GError *err = NULL;
    ck_assert(mmio_trap_install(&err));
    void *bar = mmap((void *)MOFFS_BASE, 4096, PROT_NONE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (bar == MAP_FAILED || bar != (void *)MOFFS_BASE) {
        if (bar != MAP_FAILED) {
            munmap(bar, 4096);
        }
        return;                 /* address taken in this process: nothing to test */
    }
    FakeDev *dev = g_new0(FakeDev, 1);
    fill_pattern(dev->regs, 64);
    MmioTrap *t = mmio_trap_add(bar, 4096, &fake_ops, dev, &err);
    ck_assert_ptr_nonnull(t);
    uint64_t a = ~0ull, a2 = ~0ull;
    __asm__ volatile(".byte 0xa1\n\t.quad 0x5a000010\n\t"           /* mov eax,[moffs64] */
                     : "+a"(a) : : "memory");
    __asm__ volatile(".byte 0x67, 0xa0\n\t.long 0x5a000011\n\t"     /* mov al,[moffs32] */
                     : "+a"(a2) : : "memory");
    uint32_t want32;
    memcpy(&want32, dev->regs + 0x10, 4);
    ck_assert(a == want32);
    ck_assert(a2 == (0xffffffffffffff00ull | dev->regs[0x11]));
    uint64_t w = 0x1122334455667788ull;
    __asm__ volatile(".byte 0x48, 0xa3\n\t.quad 0x5a000018\n\t"     /* mov [moffs64],rax */
                     : : "a"(w) : "memory");
    uint64_t got;
    memcpy(&got, dev->regs + 0x18, 8);
    ck_assert(got == w);
    mmio_trap_remove(t);
    munmap(bar, 4096);
    g_free(dev);
}
END_TEST

/* ---- threads ---------------------------------------------------------------- */

#define THREADS 4
#define ITERS   5000

typedef struct Worker {
    uint8_t *bar;
    unsigned id;
    unsigned errors;
} Worker;

static void *worker_run(void *arg)
{
    Worker *w = arg;
    volatile uint64_t *reg = (volatile uint64_t *)(w->bar + 0x400 + 64 * w->id);
    volatile uint32_t *reg32 = (volatile uint32_t *)(w->bar + 0x400 + 64 * w->id + 8);
    for (unsigned i = 0; i < ITERS; i++) {
        uint64_t v = ((uint64_t)w->id << 56) | i;
        *reg = v;
        *reg32 = i ^ 0xa5a5a5a5u;
        if (*reg != v || *reg32 != (i ^ 0xa5a5a5a5u)) {
            w->errors++;
        }
    }
    return NULL;
}

START_TEST(test_live_threads)
{
    Rig r;
    rig_init(&r);
    pthread_t th[THREADS];
    Worker w[THREADS];
    for (unsigned k = 0; k < THREADS; k++) {
        w[k] = (Worker){ .bar = r.bar, .id = k };
        ck_assert_int_eq(pthread_create(&th[k], NULL, worker_run, &w[k]), 0);
    }
    for (unsigned k = 0; k < THREADS; k++) {
        pthread_join(th[k], NULL);
        ck_assert_uint_eq(w[k].errors, 0);
    }
    ck_assert_uint_eq(atomic_load(&r.dev->writes), THREADS * ITERS * 2);
    ck_assert_uint_eq(atomic_load(&r.dev->reads), THREADS * ITERS * 2);
    rig_fini(&r);
}
END_TEST

/* The trap lock is recursive: its holder may touch the BAR. */
START_TEST(test_lock_recursive)
{
    Rig r;
    rig_init(&r);
    mmio_trap_lock();
    *(volatile uint32_t *)(r.bar + 0x10) = 7;
    ck_assert_uint_eq(*(volatile uint32_t *)(r.bar + 0x10), 7);
    mmio_trap_unlock();
    rig_fini(&r);
}
END_TEST

/* A callback that itself reads another trapped range (a bridge forwarding
 * to a device behind it): the nested fault is handled (SA_NODEFER, lock
 * recursive) and its value returned through the outer one. */
typedef struct Bridge {
    uint8_t *inner;             /* trapped */
    atomic_uint reads;
} Bridge;

static uint64_t bridge_read(void *opaque, uint64_t off, unsigned size)
{
    Bridge *b = opaque;
    atomic_fetch_add(&b->reads, 1);
    switch (size) {
    case 1: return *(volatile uint8_t *)(b->inner + off);
    case 2: return *(volatile uint16_t *)(b->inner + off);
    case 4: return *(volatile uint32_t *)(b->inner + off);
    default: return *(volatile uint64_t *)(b->inner + off);
    }
}

static void bridge_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    Bridge *b = opaque;
    if (size == 4) {
        *(volatile uint32_t *)(b->inner + off) = (uint32_t)val;
    }
}

static const MmioTrapOps bridge_ops = { .read = bridge_read, .write = bridge_write };

START_TEST(test_nested_trap_in_callback)
{
    Rig r;
    rig_init(&r);
    GError *err = NULL;
    uint8_t *outer = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(outer != MAP_FAILED);
    Bridge b = { .inner = r.bar };
    MmioTrap *t = mmio_trap_add(outer, 4096, &bridge_ops, &b, &err);
    ck_assert_ptr_nonnull(t);
    uint64_t want;
    memcpy(&want, r.ref + 0x28, 8);
    ck_assert(*(volatile uint64_t *)(outer + 0x28) == want);
    *(volatile uint32_t *)(outer + 0x30) = 0xc0ffee;
    uint32_t got;
    memcpy(&got, r.dev->regs + 0x30, 4);
    ck_assert_uint_eq(got, 0xc0ffee);
    ck_assert_uint_eq(atomic_load(&b.reads), 1);
    ck_assert_uint_eq(atomic_load(&r.dev->reads), 1);
    mmio_trap_remove(t);
    munmap(outer, 4096);
    rig_fini(&r);
}
END_TEST

/* The trap lock serialises: a thread's access waits while another holds it. */
static void *one_write(void *arg)
{
    *(volatile uint32_t *)arg = 0x1234;
    return NULL;
}

START_TEST(test_lock_serialises)
{
    Rig r;
    rig_init(&r);
    pthread_t th;
    mmio_trap_lock();
    ck_assert_int_eq(pthread_create(&th, NULL, one_write, r.bar + 0x10), 0);
    usleep(50 * 1000);
    ck_assert_uint_eq(atomic_load(&r.dev->writes), 0);
    mmio_trap_unlock();
    pthread_join(th, NULL);
    ck_assert_uint_eq(atomic_load(&r.dev->writes), 1);
    rig_fini(&r);
}
END_TEST

static void child_bar_access(void *arg)
{
    Rig *r = arg;
    alarm(10);                  /* a hang becomes a SIGALRM death, not a stuck suite */
    *(volatile uint32_t *)(r->bar + 0x10) = 0x600d;
    if (*(volatile uint32_t *)(r->bar + 0x10) != 0x600d) {
        _exit(2);
    }
}

static int run_child(void (*body)(void *), void *arg, char *errbuf, size_t errcap);

/* fork() from a thread holding the trap lock: the child gets a usable lock. */
START_TEST(test_fork_while_locked)
{
    Rig r;
    rig_init(&r);
    char buf[4096];
    mmio_trap_lock();
    int st = run_child(child_bar_access, &r, buf, sizeof(buf));
    mmio_trap_unlock();
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "status 0x%x, stderr: %s", st, buf);
    rig_fini(&r);
}
END_TEST

/* ---- registration errors ------------------------------------------------------ */

START_TEST(test_add_errors)
{
    GError *err = NULL;
    static uint8_t dummy[1];
    ck_assert_ptr_null(mmio_trap_add(NULL, 4096, &fake_ops, NULL, &err));
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_INVALID));
    g_clear_error(&err);
    ck_assert_ptr_null(mmio_trap_add(dummy, 0, &fake_ops, NULL, &err));
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_INVALID));
    g_clear_error(&err);
    MmioTrapOps half = { .read = fake_read };
    ck_assert_ptr_null(mmio_trap_add(dummy, 1, &half, NULL, &err));
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_INVALID));
    g_clear_error(&err);

    /* Registration never touches the range, so made-up addresses do. */
    uintptr_t fake = 0x7e0000000000ull;
    MmioTrap *a = mmio_trap_add((void *)fake, 0x2000, &fake_ops, NULL, &err);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_null(mmio_trap_add((void *)(fake + 0x1fff), 0x10, &fake_ops, NULL, &err));
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_BUSY));
    g_clear_error(&err);
    ck_assert_ptr_null(mmio_trap_add((void *)(fake - 0x10), 0x11, &fake_ops, NULL, &err));
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_BUSY));
    g_clear_error(&err);
    MmioTrap *adj = mmio_trap_add((void *)(fake + 0x2000), 0x1000, &fake_ops, NULL, &err);
    ck_assert_ptr_nonnull(adj);     /* adjacent is fine */

    MmioTrap *many[MMIO_TRAP_MAX];
    size_t n = 0;
    for (; n < MMIO_TRAP_MAX; n++) {
        many[n] = mmio_trap_add((void *)(fake + 0x100000 + n * 0x1000), 0x1000, &fake_ops, NULL, &err);
        if (!many[n]) {
            break;
        }
    }
    ck_assert(g_error_matches(err, EMU_ERROR, EMU_ERROR_LIMIT));
    g_clear_error(&err);
    ck_assert_uint_le(n, MMIO_TRAP_MAX - 2);
    for (size_t k = 0; k < n; k++) {
        mmio_trap_remove(many[k]);
    }
    mmio_trap_remove(adj);
    mmio_trap_remove(a);
    mmio_trap_remove(NULL);
    /* Slots are reusable after removal. */
    a = mmio_trap_add((void *)fake, 0x2000, &fake_ops, NULL, &err);
    ck_assert_ptr_nonnull(a);
    mmio_trap_remove(a);
    ck_assert(mmio_trap_install(&err));     /* idempotent */
}
END_TEST

/* ---- crashes stay crashes --------------------------------------------------- */

/* Runs @body in a child with its stderr captured; returns the wait status. */
static int run_child(void (*body)(void *), void *arg, char *errbuf, size_t errcap)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit no_core = { 0, 0 };
        setrlimit(RLIMIT_CORE, &no_core);
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        body(arg);
        _exit(0);               /* survived: the parent reports it */
    }
    close(fds[1]);
    size_t got = 0;
    ssize_t n;
    while ((n = read(fds[0], errbuf + got, errcap - 1 - got)) > 0) {
        got += (size_t)n;
        if (got >= errcap - 1) {
            break;
        }
    }
    errbuf[got] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    return status;
}

/* Died of the SIGSEGV; under ASan the chained sanitizer handler reports it
 * and exits non-zero instead. */
static bool died_of_segv(int status, bool chained)
{
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
        return true;
    }
    return chained && UNDER_ASAN && WIFEXITED(status) && WEXITSTATUS(status) != 0;
}

static void child_null_deref(void *arg)
{
    GError *err = NULL;
    if (!mmio_trap_install(&err)) {
        _exit(3);
    }
    volatile int *volatile np = arg;
    *np = 1;
}

START_TEST(test_null_deref_still_crashes)
{
    char buf[4096];
    int st = run_child(child_null_deref, NULL, buf, sizeof(buf));
    ck_assert_msg(died_of_segv(st, true), "status 0x%x, stderr: %s", st, buf);
}
END_TEST

static void child_removed(void *arg)
{
    Rig *r = arg;
    mmio_trap_remove(r->trap);
    r->trap = NULL;
    (void)*(volatile uint32_t *)(r->bar + 0x10);
}

START_TEST(test_removed_range_crashes)
{
    Rig r;
    rig_init(&r);
    /* Handled while registered... */
    ck_assert_uint_eq(*(volatile uint8_t *)(r.bar + 0x10), r.ref[0x10]);
    char buf[4096];
    int st = run_child(child_removed, &r, buf, sizeof(buf));
    ck_assert_msg(died_of_segv(st, true), "status 0x%x, stderr: %s", st, buf);
    rig_fini(&r);
}
END_TEST

static void child_unsupported(void *arg)
{
    Rig *r = arg;
    uint32_t v = 1;
    __asm__ volatile("xchgl %0, (%1)" : "+r"(v) : "r"(r->bar + 0x10) : "memory");
}

START_TEST(test_unsupported_dies_loudly)
{
    Rig r;
    rig_init(&r);
    char buf[4096];
    int st = run_child(child_unsupported, &r, buf, sizeof(buf));
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x, stderr: %s", st, buf);
    ck_assert_msg(strstr(buf, "unsupported instruction") != NULL, "stderr: %s", buf);
    ck_assert_msg(strstr(buf, "bytes 87") != NULL, "stderr: %s", buf);
    char addr[32];
    snprintf(addr, sizeof(addr), "0x%lx", (unsigned long)(uintptr_t)(r.bar + 0x10));
    ck_assert_msg(strstr(buf, addr) != NULL, "stderr lacks %s: %s", addr, buf);
    ck_assert_msg(strstr(buf, "rip 0x") != NULL, "stderr: %s", buf);
    rig_fini(&r);
}
END_TEST

static void child_past_end(void *arg)
{
    Rig *r = arg;
    /* Re-register the range ending 8 bytes into the second page; a 16-byte
     * load at its last 8 bytes then runs past the end inside one page. */
    mmio_trap_remove(r->trap);
    r->trap = mmio_trap_add(r->bar, 0x1008, &fake_ops, r->dev, NULL);
    uint64_t out[2];
    xl_movdqu(r->bar + 0x1000, out);
}

START_TEST(test_past_end_dies_loudly)
{
    Rig r;
    rig_init(&r);
    char buf[4096];
    int st = run_child(child_past_end, &r, buf, sizeof(buf));
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x, stderr: %s", st, buf);
    ck_assert_msg(strstr(buf, "not within the trapped range") != NULL, "stderr: %s", buf);
    rig_fini(&r);
}
END_TEST

/* An 8-byte load starting 4 bytes below the range: the CPU faults at the
 * range's first byte, but the access does not start there. */
static void child_from_below(void *arg)
{
    uint8_t *area = arg;
    uint64_t v = 0;
    __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(area + 4096 - 4) : "memory");
    (void)v;
}

START_TEST(test_from_below_dies_loudly)
{
    GError *err = NULL;
    uint8_t *area = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert(area != MAP_FAILED);
    ck_assert_int_eq(mprotect(area + 4096, 4096, PROT_NONE), 0);
    FakeDev *dev = g_new0(FakeDev, 1);
    MmioTrap *t = mmio_trap_add(area + 4096, 4096, &fake_ops, dev, &err);
    ck_assert_ptr_nonnull(t);
    char buf[4096];
    int st = run_child(child_from_below, area, buf, sizeof(buf));
    ck_assert_msg(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "status 0x%x, stderr: %s", st, buf);
    ck_assert_msg(strstr(buf, "not within the trapped range") != NULL, "stderr: %s", buf);
    ck_assert_uint_eq(atomic_load(&dev->reads), 0);
    mmio_trap_remove(t);
    munmap(area, 2 * 4096);
    g_free(dev);
}
END_TEST

static void child_kill_self(void *arg)
{
    GError *err = NULL;
    if (!mmio_trap_install(&err)) {
        _exit(3);
    }
    kill(getpid(), SIGSEGV);
    /* A handler may run before kill() returns; give delivery a moment. */
    for (int k = 0; k < 100; k++) {
        usleep(1000);
    }
}

START_TEST(test_sent_sigsegv_still_kills)
{
    char buf[4096];
    int st = run_child(child_kill_self, NULL, buf, sizeof(buf));
    ck_assert_msg(died_of_segv(st, true), "status 0x%x, stderr: %s", st, buf);
}
END_TEST

static Suite *suite_mmio_trap(void)
{
    Suite *s = suite_create("mmio_trap");
    TCase *tc = tcase_create("decode");
    tcase_add_test(tc, test_decode_table);
    tcase_add_test(tc, test_decode_refused);
    tcase_add_test(tc, test_decode_trailing_bytes);
    tcase_add_test(tc, test_decode_ea);
    tcase_add_test(tc, test_decode_random);
    suite_add_tcase(s, tc);
    tc = tcase_create("live");
    tcase_add_test(tc, test_live_loads);
    tcase_add_test(tc, test_live_addr32);
    tcase_add_test(tc, test_live_stores);
    tcase_add_test(tc, test_live_flags);
    tcase_add_test(tc, test_live_setcc);
    tcase_add_test(tc, test_live_rmw);
    tcase_add_test(tc, test_live_sse);
    tcase_add_test(tc, test_live_volatile_c);
    tcase_add_test(tc, test_live_rip_relative);
    tcase_add_test(tc, test_live_moffs);
    tcase_add_test(tc, test_live_threads);
    tcase_add_test(tc, test_lock_recursive);
    tcase_add_test(tc, test_lock_serialises);
    tcase_add_test(tc, test_nested_trap_in_callback);
    tcase_add_test(tc, test_fork_while_locked);
    tcase_add_test(tc, test_add_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("crash");
    tcase_add_test(tc, test_null_deref_still_crashes);
    tcase_add_test(tc, test_removed_range_crashes);
    tcase_add_test(tc, test_unsupported_dies_loudly);
    tcase_add_test(tc, test_past_end_dies_loudly);
    tcase_add_test(tc, test_from_below_dies_loudly);
    tcase_add_test(tc, test_sent_sigsegv_still_kills);
    suite_add_tcase(s, tc);
    return s;
}

CHECK_MAIN(suite_mmio_trap)
