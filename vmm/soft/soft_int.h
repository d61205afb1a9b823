/*
 * vmm/soft/soft_int.h - internals of the interpreter shared by its files.
 *
 * Layering (see README.md):
 *   decode.c   bytes -> soft_insn (handler pointer + operand descriptors)
 *   alu.c, bitops.c, ops.c, string.c, system.c, seg.c  instruction semantics
 *   flags.c    lazy flags
 *   mmu.c      software TLB, page walker, physical access, MMIO
 *   exc.c      exception/interrupt delivery, IRET, INT
 *   cpu.c      state, run loop
 * Semantics never look at instruction bytes; they see only soft_insn.
 */
#ifndef VMM_SOFT_INT_H
#define VMM_SOFT_INT_H

#include <pthread.h>
#include <setjmp.h>
#include <string.h>

#include "soft.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define NORETURN    __attribute__((noreturn))

/* ---- architectural constants ------------------------------------------- */
#define CR0_PE (1u << 0)
#define CR0_MP (1u << 1)
#define CR0_EM (1u << 2)
#define CR0_TS (1u << 3)
#define CR0_ET (1u << 4)
#define CR0_NE (1u << 5)
#define CR0_WP (1u << 16)
#define CR0_AM (1u << 18)
#define CR0_NW (1u << 29)
#define CR0_CD (1u << 30)
#define CR0_PG (1u << 31)

#define CR4_VME (1u << 0)
#define CR4_PVI (1u << 1)
#define CR4_TSD (1u << 2)
#define CR4_DE (1u << 3)
#define CR4_PSE (1u << 4)
#define CR4_PAE (1u << 5)
#define CR4_MCE (1u << 6)
#define CR4_PGE (1u << 7)
#define CR4_PCE (1u << 8)
#define CR4_OSFXSR (1u << 9)
#define CR4_OSXMMEXCPT (1u << 10)
#define CR4_UMIP (1u << 11)
#define CR4_FSGSBASE (1u << 16)
#define CR4_PCIDE (1u << 17)
#define CR4_OSXSAVE (1u << 18)
#define CR4_SMEP (1u << 20)
#define CR4_SMAP (1u << 21)

#define EFER_SCE (1u << 0)
#define EFER_LME (1u << 8)
#define EFER_LMA (1u << 10)
#define EFER_NXE (1u << 11)

#define FL_CF 0x0001u
#define FL_PF 0x0004u
#define FL_AF 0x0010u
#define FL_ZF 0x0040u
#define FL_SF 0x0080u
#define FL_TF 0x0100u
#define FL_IF 0x0200u
#define FL_DF 0x0400u
#define FL_OF 0x0800u
#define FL_IOPL 0x3000u
#define FL_NT 0x4000u
#define FL_RF 0x10000u
#define FL_VM 0x20000u
#define FL_AC 0x40000u
#define FL_VIF 0x80000u
#define FL_VIP 0x100000u
#define FL_ID 0x200000u
#define FL_ARITH (FL_CF | FL_PF | FL_AF | FL_ZF | FL_SF | FL_OF)

enum {
   EXC_DE = 0, EXC_DB = 1, EXC_NMI = 2, EXC_BP = 3, EXC_OF = 4, EXC_BR = 5,
   EXC_UD = 6, EXC_NM = 7, EXC_DF = 8, EXC_TS = 10, EXC_NP = 11, EXC_SS = 12,
   EXC_GP = 13, EXC_PF = 14, EXC_MF = 16, EXC_AC = 17, EXC_MC = 18, EXC_XM = 19,
};

#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)

/* MSRs */
#define MSR_TSC 0x10
#define MSR_APIC_BASE 0x1b
#define MSR_SYSENTER_CS 0x174
#define MSR_SYSENTER_ESP 0x175
#define MSR_SYSENTER_EIP 0x176
#define MSR_PAT 0x277
#define MSR_MISC_ENABLE 0x1a0
#define MSR_EFER 0xc0000080
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SFMASK 0xc0000084
#define MSR_FS_BASE 0xc0000100
#define MSR_GS_BASE 0xc0000101
#define MSR_KERNEL_GS_BASE 0xc0000102
#define MSR_TSC_AUX 0xc0000103
#define MSR_K7_HWCR 0xc0010015        /* AMD: hardware configuration */
#define MSR_AMD64_NB_CFG 0xc001001f   /* AMD: CF8 extended config enable... */
#define MSR_AMD64_DE_CFG 0xc0011029   /* AMD: LFENCE serializing, ... */

/* ---- execution modes ---------------------------------------------------- */
enum { MODE_REAL, MODE_V86, MODE_PROT, MODE_LONG64 };

/* ---- software TLB ------------------------------------------------------- */
#define SOFT_TLB_BITS 9
#define SOFT_TLB_SIZE (1u << SOFT_TLB_BITS)
#define TLB_INVALID 1ull   /* never equal to a page-aligned address */

typedef struct soft_tlbe {
   uint64_t tag_r, tag_w, tag_x;  /* page address, or TLB_INVALID */
   uintptr_t addend;              /* host = lin + addend */
   uint32_t global;               /* survives CR3 writes (PGE) */
   uint32_t large;                /* came from a 2M/4M/1G page */
   uint64_t lmask;                /* page-size mask of the translation */
   uint32_t *pgen;                /* the RAM page's code generation (block cache) */
} soft_tlbe;

/* access kinds for the MMU */
enum {
   ACC_R = 0, ACC_W = 1, ACC_X = 2,
   ACC_KIND = 3,
   ACC_SUPER = 4,   /* implicit supervisor access (descriptor tables, TSS) */
};

/* ---- lazy flags --------------------------------------------------------- */
/* cc_op = CC_xxx << 2 | log2(size). */
enum {
   CC_EFLAGS = 0,  /* cc_src holds the arithmetic flags */
   CC_ADD, CC_ADC, CC_SUB, CC_SBB, CC_LOGIC, CC_INC, CC_DEC,
};
#define CCOP(k, lg) (((k) << 2) | (lg))

/* ---- decoded instruction ------------------------------------------------ */
typedef struct soft_insn soft_insn;
typedef void (*soft_fn)(soft_cpu *cpu, const soft_insn *in);

#define RM_NONE 0xff
#define RM_RIP 16

struct soft_insn {
   soft_fn fn;
   uint16_t op;        /* opcode: 0x00-0xff, 0x100-0x1ff for 0F xx, 0x2xx 0F38, 0x3xx 0F3A */
   uint8_t len;
   uint8_t osize;      /* operand size in bytes: 1, 2, 4, 8 */
   uint8_t asize;      /* address size: 2, 4, 8 */
   uint8_t seg;        /* segment of the memory operand */
   uint8_t rep;        /* 0, 0xf2, 0xf3 */
   uint8_t lock;
   uint8_t rex;        /* REX byte, 0 if none */
   uint8_t opsz_pfx;   /* 0x66 seen */
   uint8_t mod;        /* 3 = register operand */
   uint8_t ends;       /* a decoded block ends after this instruction */
   uint8_t reg;        /* modrm.reg (+REX.R), or register in opcode (+REX.B) */
   uint8_t rm;         /* register number when mod == 3 (+REX.B) */
   uint8_t base;       /* RM_NONE, RM_RIP or a register */
   uint8_t index;      /* RM_NONE or a register */
   uint8_t scale;      /* shift count 0-3 */
   int64_t disp;       /* displacement; full moffs for A0-A3 */
   uint64_t imm;       /* first immediate (sign-extended as the opcode says) */
   uint64_t imm2;      /* second immediate (ENTER level, far pointer selector) */
};

/* ---- guest physical memory ---------------------------------------------- */
typedef struct soft_slot {
   uint64_t gpa, size;
   uint8_t *host;
   bool readonly;
   /* One word per 4 KiB page: bit 0 "decoded blocks may exist", bits 1-31
    * a generation bumped by every write that drops them (block.c). */
   uint32_t *pgen;
} soft_slot;

/* An immutable slot table; soft_mem.cur is replaced, never edited. */
typedef struct soft_memmap {
   unsigned nslots;
   soft_slot slot[SOFT_MAX_SLOTS];
} soft_memmap;

struct soft_mem {
   soft_memmap *cur;            /* atomic; readers: vCPUs between boundaries */
   pthread_mutex_t lock;        /* writers, the vCPU list */
   uint32_t gen;                /* atomic: bumped by every change of cur */
   uint32_t code_epoch;         /* atomic: bumped when a page gets its first block */
   soft_cpu *cpus[SOFT_MAX_CPUS];
};

/* ---- the CPU ------------------------------------------------------------ */
struct soft_cpu {
   uint64_t gpr[16];
   uint64_t rip;
   uint64_t next_rip;        /* set before a handler runs; handlers may change it */
   uint64_t rflags;          /* arithmetic bits are stale: see lazy flags */
   uint64_t cc_dst, cc_src, cc_src2;
   uint32_t cc_op;

   /* cached mode */
   uint8_t mode;             /* MODE_* */
   uint8_t cpl;
   uint8_t code_size;        /* default operand size: 2, 4 (8 never: 64-bit uses 4 + REX.W) */
   uint8_t addr_size;        /* default address size: 2, 4, 8 */
   uint8_t stack_size;       /* 2, 4, 8 */
   uint8_t mmu_idx;          /* 1 if CPL 3 */

   vmm_seg seg[VMM_NSEG];
   vmm_seg tr, ldtr;
   vmm_dtable gdt, idt;
   uint64_t cr0, cr2, cr3, cr4, cr8, efer, apic_base;
   uint64_t dr[8];
   uint64_t pdpte[4];        /* PAE page-directory pointers, loaded with CR3 */
   uint64_t xcr0;

   /* MSRs */
   uint64_t star, lstar, cstar, sfmask, kernel_gs_base;
   uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
   uint64_t pat, tsc_aux, misc_enable, tsc_offset;
   uint64_t amd_nb_cfg, amd_de_cfg, amd_hwcr;   /* kept, no effect (as KVM does) */

   /* FPU/SSE state, kept as an XSAVE image for the checkpoint format */
   vmm_fpu fpu;
   uint16_t fpu_cs, fpu_ds;  /* x87 FCS/FDS (not in the 64-bit image format) */

   /* interrupts and events */
   int irq_line;             /* written by other threads (atomic) */
   int nmi_pending;          /* atomic */
   uint32_t req;             /* atomic SOFT_REQ_* bits from other threads */
   uint32_t wake_seq;        /* futex word for HLT / wait-for-SIPI */
   uint32_t sleeping;        /* atomic: in the futex wait (wakers skip the syscall otherwise) */
   bool nmi_masked;
   uint8_t intr_shadow;      /* 1: STI, 2: MOV SS - blocks interrupts for one insn */
   uint8_t mp_state;         /* vmm_mp_state; HALTED = HLT executed */
   uint8_t sipi_vector;      /* last set through soft_set_events */
   /* an event injected by soft_set_events (KVM checkpoint), delivered first */
   int inj_vector;           /* -1 none */
   bool inj_exception, inj_has_error, inj_soft;
   uint32_t inj_error;

   /* memory-map changes (soft_mem_map/unmap): quiescent = not between
    * instruction boundaries with pointers into guest RAM */
   uint32_t qs;              /* atomic: 1 outside run, asleep, in a callout */
   uint32_t mem_gen;         /* atomic: soft_mem.gen this vCPU has caught up with */
   void *user;

   /* exception state */
   int exc_vector;           /* raised, not yet delivered; -1 none */
   uint32_t exc_error;
   bool exc_has_error;
   int exc_first;            /* vector being delivered (double fault rules) */
   uint64_t exc_next_rip;    /* return address for software interrupts */
   bool exc_soft;            /* INT n/INT3/INTO: DPL check, push next rip */
   jmp_buf jb;
   /* Fault rollback: RSP at the instruction start always; CS/SS/CPL when
    * a handler that changes them took a snapshot first. */
   uint64_t insn_rsp;
   bool snap_valid;
   uint8_t snap_cpl;
   vmm_seg snap_cs, snap_ss;

   soft_options opt;
   uint64_t icount;
   unsigned index;

   soft_mem *mem;
   const soft_io *io;

   vmm_cpuid_entry *cpuid;
   unsigned ncpuid;
   unsigned maxphyaddr;
   bool feat_bmi1, feat_abm, feat_popcnt;   /* decode choices that follow CPUID */
   bool vendor_intel;

   soft_tlbe tlb[2][SOFT_TLB_SIZE];
   /* The large pages (2M/4M/1G, cached as 4K pieces) the TLB may hold
    * pieces of, as a 256-bit filter of (base, size): INVLPG inside one
    * drops every piece (a scan), elsewhere one slot. */
   uint64_t tlb_large[4];

   /* decoded-block cache (block.c) */
   struct soft_bcache *bc;
   uint32_t code_epoch;      /* soft_mem.code_epoch the write tags follow */
   uint8_t stop_block;       /* end the running block after this instruction */
   uint32_t tlb_gen;         /* bumped by every TLB flush and block flush (chains) */
   uint8_t mode_key;         /* what decoding depends on: mode, CS.D */
   uint64_t block_stats[3];  /* blocks built, run, flushes */
   struct soft_jit *jit;     /* translated blocks (jit.c) */
   uint64_t jit_stats[4];    /* blocks translated, translated runs, refused, code bytes */
   uint64_t jit_limit;       /* icount a chained block may not pass */
   uint8_t *jit_fix;         /* the unlinked exit the last block left by */
   void *jit_block;          /* the block whose code ran last */
   void *jit_jc;             /* the jump cache (jit.c) */
};

/* soft_cpu.req bits */
#define SOFT_REQ_KICK  1u    /* return SOFT_EXIT_STOP */
#define SOFT_REQ_POLL  2u    /* call io->poll */
#define SOFT_REQ_FLUSH 4u    /* the memory map changed: drop TLB and blocks */

/* ---- small helpers ------------------------------------------------------ */
static inline uint64_t sz_mask(unsigned size)
{
   return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}
static inline uint64_t sz_sign(unsigned size)
{
   return 1ull << (size * 8 - 1);
}
static inline unsigned sz_log(unsigned size)
{
   return size == 1 ? 0 : size == 2 ? 1 : size == 4 ? 2 : 3;
}
static inline int64_t sext(uint64_t v, unsigned size)
{
   switch (size) {
   case 1: return (int8_t)v;
   case 2: return (int16_t)v;
   case 4: return (int32_t)v;
   default: return (int64_t)v;
   }
}

/* Register access with the operand-size rules (32-bit writes zero the top,
 * 8/16-bit writes merge; AH-BH without REX). */
static inline uint64_t reg_get(soft_cpu *cpu, const soft_insn *in, unsigned r, unsigned size)
{
   if (size == 1) {
      if (!in->rex && r >= 4 && r < 8)
         return (cpu->gpr[r - 4] >> 8) & 0xff;
      return cpu->gpr[r] & 0xff;
   }
   return cpu->gpr[r] & sz_mask(size);
}
static inline void reg_set(soft_cpu *cpu, const soft_insn *in, unsigned r, unsigned size, uint64_t v)
{
   switch (size) {
   case 1:
      if (!in->rex && r >= 4 && r < 8)
         cpu->gpr[r - 4] = (cpu->gpr[r - 4] & ~0xff00ull) | ((v & 0xff) << 8);
      else
         cpu->gpr[r] = (cpu->gpr[r] & ~0xffull) | (v & 0xff);
      break;
   case 2: cpu->gpr[r] = (cpu->gpr[r] & ~0xffffull) | (v & 0xffff); break;
   case 4: cpu->gpr[r] = (uint32_t)v; break;
   default: cpu->gpr[r] = v; break;
   }
}
/* Plain (no high-byte) register write by size, for implicit operands. */
static inline void gpr_set(soft_cpu *cpu, unsigned r, unsigned size, uint64_t v)
{
   switch (size) {
   case 1: cpu->gpr[r] = (cpu->gpr[r] & ~0xffull) | (v & 0xff); break;
   case 2: cpu->gpr[r] = (cpu->gpr[r] & ~0xffffull) | (v & 0xffff); break;
   case 4: cpu->gpr[r] = (uint32_t)v; break;
   default: cpu->gpr[r] = v; break;
   }
}

/* ---- exceptions (exc.c) ------------------------------------------------- */
NORETURN void soft_raise(soft_cpu *cpu, int vector, uint32_t error);
NORETURN void soft_raise_noerr(soft_cpu *cpu, int vector);
#define RAISE_GP(cpu, e) soft_raise((cpu), EXC_GP, (e))
#define RAISE_UD(cpu) soft_raise_noerr((cpu), EXC_UD)
/* Software interrupt (INT n, INT3, INTO, INT1): delivered at once. */
NORETURN void soft_soft_int(soft_cpu *cpu, int vector, bool is_int_n);
/* Deliver cpu->exc_vector (run loop). Returns false on triple fault. */
bool soft_deliver_pending(soft_cpu *cpu);
/* Deliver an external interrupt / NMI. */
void soft_deliver_interrupt(soft_cpu *cpu, int vector, bool nmi);

static inline void soft_snapshot(soft_cpu *cpu)
{
   cpu->snap_cs = cpu->seg[VMM_CS];
   cpu->snap_ss = cpu->seg[VMM_SS];
   cpu->snap_cpl = cpu->cpl;
   cpu->snap_valid = true;
}

/* ---- flags (flags.c) ---------------------------------------------------- */
uint32_t soft_arith_flags(const soft_cpu *cpu);
bool soft_cond(const soft_cpu *cpu, unsigned cc);
uint64_t soft_get_rflags(const soft_cpu *cpu);
/* soft_cond with the common cases inline: ZF and CF after 32/64-bit
 * SUB/CMP, logic ops, ADD, INC/DEC. */
static inline bool soft_cond_fast(const soft_cpu *cpu, unsigned cc)
{
   unsigned op = cpu->cc_op;
   unsigned kind = op >> 2;
   if (likely((op & 2) && (cc >> 1) == 2)) {        /* ZF, 32/64-bit */
      uint64_t res = (op & 1) ? cpu->cc_dst : (uint32_t)cpu->cc_dst;
      if (kind != CC_EFLAGS && kind != CC_ADC && kind != CC_SBB)
         return (res == 0) ^ (cc & 1);
   }
   if (kind == CC_SUB && (op & 2)) {                  /* after CMP/SUB, 32/64-bit */
      bool wide = op & 1;
      uint64_t src = wide ? cpu->cc_src : (uint32_t)cpu->cc_src;
      uint64_t res = wide ? cpu->cc_dst : (uint32_t)cpu->cc_dst;
      uint64_t a = wide ? res + src : (uint32_t)(res + src);   /* the first operand */
      int64_t sa = wide ? (int64_t)a : (int32_t)a, ss = wide ? (int64_t)src : (int32_t)src;
      switch (cc >> 1) {
      case 1: return (a < src) ^ (cc & 1);
      case 3: return (a <= src) ^ (cc & 1);
      case 6: return (sa < ss) ^ (cc & 1);
      case 7: return (sa <= ss) ^ (cc & 1);
      default: break;
      }
   }
   if ((cc >> 1) == 1 && (op & 2)) {                  /* CF, 32/64-bit */
      uint64_t m = (op & 1) ? ~0ull : 0xffffffffull;
      switch (kind) {
      case CC_LOGIC: return cc & 1;
      case CC_INC: case CC_DEC: return (cpu->cc_src2 != 0) ^ (cc & 1);
      case CC_ADD: return ((cpu->cc_dst & m) < (cpu->cc_src & m)) ^ (cc & 1);
      case CC_SUB: return ((((cpu->cc_dst + cpu->cc_src) & m)) < (cpu->cc_src & m)) ^ (cc & 1);
      default: break;
      }
   }
   return soft_cond(cpu, cc);
}
/* Writes rflags; 'mask' limits which bits may change (POPF/IRET rules). */
void soft_set_rflags(soft_cpu *cpu, uint64_t val, uint64_t mask);
static inline void set_flags_eager(soft_cpu *cpu, uint32_t arith)
{
   cpu->cc_op = CC_EFLAGS;
   cpu->cc_src = arith & FL_ARITH;
}
static inline void set_cc(soft_cpu *cpu, unsigned kind, unsigned size, uint64_t dst, uint64_t src, uint64_t src2)
{
   cpu->cc_op = CCOP(kind, sz_log(size));
   cpu->cc_dst = dst;
   cpu->cc_src = src;
   cpu->cc_src2 = src2;
}
static inline uint32_t parity8(uint64_t v)
{
   return __builtin_parity((unsigned)(v & 0xff)) ? 0 : FL_PF;
}

/* ---- calls out to the platform ------------------------------------------- */
/* Around every io callback: the vCPU is quiescent for soft_mem_map/unmap
 * while it is outside, and catches up with a map change when it returns. */
void soft_mem_catch_up(soft_cpu *cpu);
int soft_mem_add_cpu(soft_mem *m, soft_cpu *cpu);
void soft_mem_remove_cpu(soft_mem *m, soft_cpu *cpu);
/* The memory map changed: drop cached decoded blocks (block cache). */
void soft_mem_changed(soft_cpu *cpu);
static inline void soft_enter_running(soft_cpu *cpu)
{
   __atomic_store_n(&cpu->qs, 0, __ATOMIC_SEQ_CST);
   if (unlikely(__atomic_load_n(&cpu->mem->gen, __ATOMIC_SEQ_CST) !=
                __atomic_load_n(&cpu->mem_gen, __ATOMIC_RELAXED)))
      soft_mem_catch_up(cpu);
}
static inline bool callout_begin(soft_cpu *cpu)
{
   if (__atomic_load_n(&cpu->qs, __ATOMIC_RELAXED))
      return false;      /* not running (state access from outside) */
   __atomic_store_n(&cpu->qs, 1, __ATOMIC_SEQ_CST);
   return true;
}
static inline void callout_end(soft_cpu *cpu, bool was_running)
{
   if (was_running)
      soft_enter_running(cpu);
}
#define CALLOUT(cpu, ...) do { \
   bool was_running_ = callout_begin(cpu); \
   __VA_ARGS__; \
   callout_end((cpu), was_running_); \
} while (0)

/* ---- decoded blocks (block.c) ------------------------------------------------ */
#define PGEN_CODE 1u
typedef struct soft_block soft_block;
/* The block starting at cpu->rip, built if needed; NULL when the code
 * there cannot be cached (MMIO, a page-crossing first instruction, TF). */
soft_block *soft_block_find(soft_cpu *cpu);
/* Run b and the blocks it chains to, until an event, the limit, a stop, or
 * code that cannot be cached. */
void soft_block_run(soft_cpu *cpu, soft_block *b, uint64_t limit);
/* Something for the run loop to look at before the next instruction. */
static inline bool soft_events_pending(soft_cpu *cpu)
{
   return (__atomic_load_n(&cpu->req, __ATOMIC_RELAXED) |
           __atomic_load_n(&cpu->nmi_pending, __ATOMIC_RELAXED) | cpu->mp_state |
           (__atomic_load_n(&cpu->irq_line, __ATOMIC_RELAXED) & (cpu->rflags & FL_IF ? 1 : 0)) |
           (cpu->inj_vector >= 0)) != 0;
}
void soft_block_flush(soft_cpu *cpu);
void soft_block_free(soft_cpu *cpu);
/* A write is about to reach a page whose word is *pgen: drop its blocks. */
static inline void soft_code_write(soft_cpu *cpu, uint32_t *pgen)
{
   uint32_t g = __atomic_load_n(pgen, __ATOMIC_RELAXED);
   if (unlikely(g & PGEN_CODE)) {
      __atomic_store_n(pgen, (g + 2) & ~PGEN_CODE, __ATOMIC_RELEASE);
      cpu->stop_block = 1;
   }
}
void soft_tlb_drop_writes(soft_cpu *cpu);

/* ---- memory (mmu.c) ----------------------------------------------------- */
void soft_tlb_flush(soft_cpu *cpu, bool include_global);
void soft_tlb_flush_page(soft_cpu *cpu, uint64_t lin);
/* Translate for 'acc'; raises #PF. Returns host pointer or NULL for MMIO
 * (physical address in *pa). Fills the TLB. */
uint8_t *soft_translate(soft_cpu *cpu, uint64_t lin, unsigned acc, uint64_t *pa);
uint64_t soft_read_slow(soft_cpu *cpu, uint64_t lin, unsigned size, unsigned acc);
void soft_write_slow(soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val, unsigned acc);
/* Physical access (page walker, DMA-like internal users). */
uint64_t soft_phys_read(soft_cpu *cpu, uint64_t pa, unsigned size);
void soft_phys_write(soft_cpu *cpu, uint64_t pa, unsigned size, uint64_t val);
uint8_t *soft_phys_host(soft_mem *m, uint64_t pa, bool write);
/* Load PDPTEs for PAE paging; false if reserved bits set. */
bool soft_load_pdptes(soft_cpu *cpu);

static inline uint64_t lin_mask(const soft_cpu *cpu, uint64_t lin)
{
   return cpu->mode == MODE_LONG64 ? lin : (uint32_t)lin;
}

static inline uint64_t host_ld(const uint8_t *p, unsigned size)
{
   switch (size) {
   case 1: return *p;
   case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
   case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
   default: { uint64_t v; memcpy(&v, p, 8); return v; }
   }
}
static inline void host_st(uint8_t *p, unsigned size, uint64_t v)
{
   switch (size) {
   case 1: *p = (uint8_t)v; break;
   case 2: { uint16_t x = (uint16_t)v; memcpy(p, &x, 2); break; }
   case 4: { uint32_t x = (uint32_t)v; memcpy(p, &x, 4); break; }
   default: memcpy(p, &v, 8); break;
   }
}

/* Linear-address accesses through the TLB fast path. */
static inline uint64_t lin_read(soft_cpu *cpu, uint64_t lin, unsigned size, unsigned acc)
{
   unsigned mi = (acc & ACC_SUPER) ? 0 : cpu->mmu_idx;
   soft_tlbe *e = &cpu->tlb[mi][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   if (likely(e->tag_r == (lin & ~0xfffull) && (lin & 0xfff) <= 0x1000 - size))
      return host_ld((const uint8_t *)(uintptr_t)(lin + e->addend), size);
   return soft_read_slow(cpu, lin, size, acc);
}
static inline void lin_write(soft_cpu *cpu, uint64_t lin, unsigned size, uint64_t val, unsigned acc)
{
   unsigned mi = (acc & ACC_SUPER) ? 0 : cpu->mmu_idx;
   soft_tlbe *e = &cpu->tlb[mi][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   if (likely(e->tag_w == (lin & ~0xfffull) && (lin & 0xfff) <= 0x1000 - size)) {
      host_st((uint8_t *)(uintptr_t)(lin + e->addend), size, val);
      return;
   }
   soft_write_slow(cpu, lin, size, val, acc | ACC_W);
}
/* Host pointer for a read-modify-write of [lin, lin+size) in one RAM page,
 * checked for write; NULL if the access crosses a page or hits MMIO (the
 * caller then uses lin_read/lin_write, after soft_check_write). */
uint8_t *soft_rmw_ptr(soft_cpu *cpu, uint64_t lin, unsigned size);
/* Raise the fault a write to [lin, lin+size) would raise, without writing. */
void soft_check_write(soft_cpu *cpu, uint64_t lin, unsigned size);

/* ---- segmentation (seg.c) ----------------------------------------------- */
/* Segmented address -> linear address, with limit/type checks. */
uint64_t soft_seg_lin(soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size, unsigned acc);
static inline uint64_t seg_lin(soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size, unsigned acc)
{
   if (likely(cpu->mode == MODE_LONG64)) {
      uint64_t lin = off;
      if (seg >= VMM_FS)
         lin += cpu->seg[seg].base;
      if (unlikely((uint64_t)((int64_t)((uint64_t)(lin) << 16) >> 16) != lin))
         soft_raise(cpu, seg == VMM_SS ? EXC_SS : EXC_GP, 0);
      return lin;
   }
   return soft_seg_lin(cpu, seg, off, size, acc);
}
static inline uint64_t seg_read(soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size)
{
   return lin_read(cpu, seg_lin(cpu, seg, off, size, ACC_R), size, ACC_R);
}
static inline void seg_write(soft_cpu *cpu, unsigned seg, uint64_t off, unsigned size, uint64_t v)
{
   lin_write(cpu, seg_lin(cpu, seg, off, size, ACC_W), size, v, ACC_W);
}
/* Load a segment register with the mode's rules (raises #GP/#NP/#SS). */
void soft_load_seg(soft_cpu *cpu, unsigned seg, uint16_t sel);
/* Descriptor helpers for far transfers and interrupt delivery. */
bool soft_read_desc(soft_cpu *cpu, uint16_t sel, uint64_t *lo, uint64_t *hi, bool need_hi);
void soft_desc_to_seg(vmm_seg *s, uint16_t sel, uint64_t lo, uint64_t hi);
void soft_set_accessed(soft_cpu *cpu, uint16_t sel, uint64_t lo);
void soft_load_seg_real(soft_cpu *cpu, unsigned seg, uint16_t sel);
void soft_update_mode(soft_cpu *cpu);

/* ---- stack helpers (ops.c) ---------------------------------------------- */
void soft_push(soft_cpu *cpu, unsigned size, uint64_t v);
uint64_t soft_pop(soft_cpu *cpu, unsigned size);
static inline uint64_t sp_get(const soft_cpu *cpu)
{
   return cpu->gpr[VMM_RSP] & sz_mask(cpu->stack_size);
}
static inline void sp_set(soft_cpu *cpu, uint64_t v)
{
   gpr_set(cpu, VMM_RSP, cpu->stack_size, v);
}

/* ---- operand helpers (ops.c) -------------------------------------------- */
uint64_t soft_ea(soft_cpu *cpu, const soft_insn *in);
static inline uint64_t ea_lin(soft_cpu *cpu, const soft_insn *in, unsigned size, unsigned acc)
{
   return seg_lin(cpu, in->seg, soft_ea(cpu, in), size, acc);
}
static inline uint64_t rm_get(soft_cpu *cpu, const soft_insn *in, unsigned size)
{
   if (in->mod == 3)
      return reg_get(cpu, in, in->rm, size);
   return lin_read(cpu, ea_lin(cpu, in, size, ACC_R), size, ACC_R);
}
static inline void rm_set(soft_cpu *cpu, const soft_insn *in, unsigned size, uint64_t v)
{
   if (in->mod == 3)
      reg_set(cpu, in, in->rm, size, v);
   else
      lin_write(cpu, ea_lin(cpu, in, size, ACC_W), size, v, ACC_W);
}
void soft_branch(soft_cpu *cpu, uint64_t target, unsigned osize);

/* ---- decoder (decode.c) ------------------------------------------------- */
void soft_decode(soft_cpu *cpu, soft_insn *in);
bool soft_decode_probe(soft_cpu *cpu, const uint8_t *p, unsigned avail, soft_insn *in);
/* block.c: whether a block ends after in (decided on the generic handler) */
bool soft_insn_ends_block(const soft_insn *in);
/* fast.c: swap in a specialized handler for a frequent form */
void soft_specialize(soft_cpu *cpu, soft_insn *in);
/* fast.c: what a specialized handler does, for the translator: the kind,
 * the ALU operation (0 ADD, 1 OR, 4 AND, 5 SUB, 6 XOR, 7 CMP) and the
 * operand size. False for a generic handler. */
enum {
   SF_ALU_RR = 1, SF_ALU_RI, SF_ALU_RM, SF_TEST_RR, SF_TEST_RI, SF_INC, SF_DEC,
   SF_MOV_RR, SF_MOV_RI, SF_LOAD, SF_STORE, SF_LEA, SF_PUSH, SF_POP, SF_CALL, SF_RET,
   SF_JMP, SF_JCC, SF_CMOV_RR, SF_CMP_MI, SF_SHL_RI, SF_SHR_RI, SF_SAR_RI,
};
typedef struct soft_form {
   uint8_t kind, alu, size;
} soft_form;
bool soft_fast_form(const soft_insn *in, soft_form *f);

/* ---- the translator (jit.c) --------------------------------------------------- */
/* Host code for a decoded block that starts at rip: it runs the block's n
 * instructions as run_one would (same state at every exit and fault) and
 * returns 1 when the block ran to its end or a taken branch, 0 when an
 * instruction asked to stop. In 64-bit mode a direct branch out of it can
 * be linked (soft_jit_link) to the next block's chain entry, which checks
 * what the run loop would (events, the limit, the code epoch, the page's
 * code generation *pgen == gen) before running it. owner is recorded in
 * cpu->jit_block when the code leaves. False when it cannot be built (the
 * block is then interpreted). The code lives until soft_jit_flush. */
typedef int (*soft_jit_fn)(soft_cpu *cpu);
typedef struct soft_jit_code {
   soft_jit_fn entry;
   const uint8_t *chain;
} soft_jit_code;
bool soft_jit_compile(soft_cpu *cpu, const soft_insn *insn, unsigned n, uint64_t rip,
                      void *owner, const uint32_t *pgen, uint32_t gen, soft_jit_code *out);
/* Make the exit cpu->jit_fix named go straight to chain while the TLB
 * generation and the CPL stay as they are now. */
void soft_jit_link(soft_cpu *cpu, uint8_t *fix, const uint8_t *chain);
/* The block translated for rip (64-bit mode) chains in at chain: exits
 * to a RIP known only when they run find it there. */
void soft_jit_remember(soft_cpu *cpu, uint64_t rip, const uint8_t *chain);
void soft_jit_flush(soft_cpu *cpu);
/* The arena has no room for another block (until soft_jit_flush). */
bool soft_jit_full(const soft_cpu *cpu);
void soft_jit_free(soft_cpu *cpu);

/* ---- handlers (declared where the tables need them) --------------------- */
#define H(name) void name(soft_cpu *cpu, const soft_insn *in)
/* alu.c */
H(op_alu_rm_r); H(op_alu_r_rm); H(op_alu_acc_imm); H(op_grp1); H(op_test_rm_r);
H(op_test_acc_imm); H(op_incdec_r); H(op_grp3); H(op_grp45); H(op_shift);
H(op_shld); H(op_shrd); H(op_imul_r_rm); H(op_imul_imm); H(op_cbw); H(op_cwd);
H(op_daa); H(op_das); H(op_aaa); H(op_aas); H(op_aam); H(op_aad); H(op_salc);
/* bitops.c */
H(op_bt); H(op_grp8); H(op_bsf); H(op_bsr); H(op_popcnt); H(op_bswap);
H(op_cmpxchg); H(op_xadd); H(op_grp9); H(op_xchg_rm); H(op_xchg_acc); H(op_movbe);
/* ops.c */
H(op_mov_rm_r); H(op_mov_r_rm); H(op_mov_r_imm); H(op_mov_rm_imm); H(op_mov_moffs);
H(op_lea); H(op_movzx); H(op_movsx); H(op_movsxd); H(op_cmov); H(op_setcc);
H(op_jcc); H(op_jmp_rel); H(op_call_rel); H(op_ret_near); H(op_loop); H(op_jcxz);
H(op_push_r); H(op_pop_r); H(op_push_imm); H(op_pop_rm); H(op_pusha); H(op_popa);
H(op_enter); H(op_leave); H(op_pushf); H(op_popf); H(op_sahf); H(op_lahf);
H(op_flagop); H(op_nop); H(op_xlat); H(op_ud); H(op_cpuid); H(op_rdtsc); H(op_rdtscp);
H(op_hlt); H(op_fence); H(op_grp15); H(op_bound);
/* fpu.c, sse.c */
H(op_fpu_escape); H(op_fwait); H(op_emms); H(op_sse); H(op_maskmov); H(op_movnti); H(op_crc32);
/* string.c */
H(op_movs); H(op_cmps); H(op_stos); H(op_lods); H(op_scas); H(op_ins); H(op_outs);
H(op_in); H(op_out);
/* system.c / seg.c / exc.c */
H(op_mov_r_sreg); H(op_mov_sreg_r); H(op_push_sreg); H(op_pop_sreg); H(op_lxs);
H(op_call_far); H(op_jmp_far); H(op_retf); H(op_iret); H(op_int); H(op_int3);
H(op_into); H(op_int1); H(op_grp6); H(op_grp7); H(op_lar); H(op_lsl); H(op_syscall);
H(op_sysret); H(op_sysenter); H(op_sysexit); H(op_clts); H(op_mov_cr); H(op_mov_dr);
H(op_rdmsr); H(op_wrmsr); H(op_invd); H(op_cli); H(op_sti); H(op_arpl); H(op_rdpmc);
#undef H

/* fpu.c, sse.c */
void soft_x87_prepare(soft_cpu *cpu, soft_insn *in);
void soft_sse_prepare(soft_cpu *cpu, soft_insn *in);
bool soft_op_fpstate(soft_cpu *cpu, const soft_insn *in);
void soft_op_xgetbv(soft_cpu *cpu, bool set);
void soft_x87_check_pending(soft_cpu *cpu);
uint32_t soft_mxcsr(soft_cpu *cpu);
void soft_set_mxcsr(soft_cpu *cpu, uint32_t v);
uint16_t soft_fsw(soft_cpu *cpu);
uint8_t *soft_xmm(soft_cpu *cpu, unsigned i);
uint64_t soft_mm_get(soft_cpu *cpu, unsigned i);
void soft_mm_set(soft_cpu *cpu, unsigned i, uint64_t v);
void soft_mmx_enter(soft_cpu *cpu);
/* Guest memory in bulk at a linear address (fault before any byte is
 * written: soft_mem_check_write first). */
void soft_mem_read(soft_cpu *cpu, uint64_t lin, void *buf, unsigned len);
void soft_mem_check_write(soft_cpu *cpu, uint64_t lin, unsigned len);
void soft_mem_write(soft_cpu *cpu, uint64_t lin, const void *buf, unsigned len);

/* system.c */
void soft_write_cr0(soft_cpu *cpu, uint64_t v);
void soft_write_cr3(soft_cpu *cpu, uint64_t v);
void soft_write_cr4(soft_cpu *cpu, uint64_t v);
bool soft_msr_read(soft_cpu *cpu, uint32_t idx, uint64_t *v);
bool soft_msr_write(soft_cpu *cpu, uint32_t idx, uint64_t v);
void soft_cpu_features(soft_cpu *cpu);
void soft_cpuid_lookup(soft_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4]);
uint64_t soft_rdtsc(soft_cpu *cpu);

/* privileged-instruction check: CPL 0 or #GP(0) (real mode is CPL 0) */
static inline void need_cpl0(soft_cpu *cpu)
{
   if (cpu->cpl != 0)
      RAISE_GP(cpu, 0);
}

#endif
