/*
 * vmm/soft/string.c - string instructions (MOVS, CMPS, STOS, LODS, SCAS,
 * INS, OUTS) with REP/REPE/REPNE and address-size, and port I/O.
 *
 * REP loops commit RCX/RSI/RDI after every element, so a fault in the
 * middle leaves the architectural state of a partially done instruction.
 * Long loops stop after REP_BUDGET elements and restart the instruction
 * (next_rip = rip) so interrupts and kicks are seen.
 */
#include "soft_int.h"

#define REP_BUDGET 65536

static inline uint64_t amask(const soft_insn *in)
{
   return sz_mask(in->asize);
}

static inline uint64_t step(soft_cpu *cpu, unsigned size)
{
   return (cpu->rflags & FL_DF) ? (uint64_t)-(int64_t)size : size;
}

static inline void adv(soft_cpu *cpu, const soft_insn *in, unsigned r, uint64_t d)
{
   gpr_set(cpu, r, in->asize, cpu->gpr[r] + d);
}

/* For REP prefixes: true if there is nothing (more) to do. */
static inline bool rep_done(soft_cpu *cpu, const soft_insn *in)
{
   return in->rep && (cpu->gpr[VMM_RCX] & amask(in)) == 0;
}

static inline void rep_dec(soft_cpu *cpu, const soft_insn *in)
{
   gpr_set(cpu, VMM_RCX, in->asize, cpu->gpr[VMM_RCX] - 1);
}

/* ---- bulk REP MOVS / STOS ---------------------------------------------------
 * In 64-bit mode, forward, with both sides in RAM pages the TLB already
 * allows: whole page-sized chunks at once with host memmove/stores. A chunk
 * never crosses a page, so translation, faults and code-page writes (the
 * TLB holds no write tag for those) are exactly as element by element;
 * anything else - the first and last elements of a page, MMIO, an overlap
 * where the forward copy would replicate - takes the element loop. */

static inline uint8_t *tlb_host(soft_cpu *cpu, uint64_t lin, bool write)
{
   soft_tlbe *e = &cpu->tlb[cpu->mmu_idx][(lin >> 12) & (SOFT_TLB_SIZE - 1)];
   uint64_t tag = write ? e->tag_w : e->tag_r;
   return tag == (lin & ~0xfffull) ? (uint8_t *)(uintptr_t)(lin + e->addend) : NULL;
}

static inline uint64_t min64(uint64_t a, uint64_t b)
{
   return a < b ? a : b;
}

/* Elements done; *budget counts down. */
static uint64_t bulk_movs(soft_cpu *cpu, const soft_insn *in, unsigned size, unsigned *budget)
{
   uint64_t done = 0;
   while (*budget > 1) {
      uint64_t count = cpu->gpr[VMM_RCX] & amask(in);
      uint64_t si = cpu->gpr[VMM_RSI] & amask(in), di = cpu->gpr[VMM_RDI] & amask(in);
      uint64_t slin = seg_lin(cpu, in->seg, si, size, ACC_R);
      uint64_t dlin = seg_lin(cpu, VMM_ES, di, size, ACC_W);
      uint64_t n = min64(count, *budget);
      n = min64(n, (0x1000 - (slin & 0xfff)) / size);
      n = min64(n, (0x1000 - (dlin & 0xfff)) / size);
      if (n < 2)
         break;
      uint8_t *hs = tlb_host(cpu, slin, false), *hd = tlb_host(cpu, dlin, true);
      size_t bytes = (size_t)(n * size);
      if (!hs || !hd || (hd > hs && hd < hs + bytes))
         break;
      memmove(hd, hs, bytes);
      gpr_set(cpu, VMM_RSI, in->asize, cpu->gpr[VMM_RSI] + bytes);
      gpr_set(cpu, VMM_RDI, in->asize, cpu->gpr[VMM_RDI] + bytes);
      gpr_set(cpu, VMM_RCX, in->asize, cpu->gpr[VMM_RCX] - n);
      *budget -= (unsigned)n;
      done += n;
   }
   return done;
}

static uint64_t bulk_stos(soft_cpu *cpu, const soft_insn *in, unsigned size, uint64_t v,
                          unsigned *budget)
{
   uint64_t done = 0;
   while (*budget > 1) {
      uint64_t count = cpu->gpr[VMM_RCX] & amask(in);
      uint64_t di = cpu->gpr[VMM_RDI] & amask(in);
      uint64_t dlin = seg_lin(cpu, VMM_ES, di, size, ACC_W);
      uint64_t n = min64(min64(count, *budget), (0x1000 - (dlin & 0xfff)) / size);
      if (n < 2)
         break;
      uint8_t *hd = tlb_host(cpu, dlin, true);
      if (!hd)
         break;
      if (size == 1 || v == (v & 0xff) * (sz_mask(size) / 0xff)) {
         memset(hd, (int)(v & 0xff), (size_t)(n * size));   /* a byte pattern: 0 mostly */
      } else {
         for (uint64_t i = 0; i < n; i++)
            host_st(hd + i * size, size, v);
      }
      gpr_set(cpu, VMM_RDI, in->asize, cpu->gpr[VMM_RDI] + n * size);
      gpr_set(cpu, VMM_RCX, in->asize, cpu->gpr[VMM_RCX] - n);
      *budget -= (unsigned)n;
      done += n;
   }
   return done;
}

static inline bool bulk_ok(soft_cpu *cpu, const soft_insn *in)
{
   return in->rep && cpu->mode == MODE_LONG64 && !(cpu->rflags & FL_DF);
}

void op_movs(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t d = step(cpu, size);
   unsigned budget = REP_BUDGET;
   bool bulk = bulk_ok(cpu, in);
   while (budget) {
      /* bulk where it can, an element where it cannot (a page's first
       * element fills the TLB; then bulk again) */
      if (bulk)
         bulk_movs(cpu, in, size, &budget);
      if (!budget)
         break;
      budget--;
      if (rep_done(cpu, in))
         return;
      uint64_t v = seg_read(cpu, in->seg, cpu->gpr[VMM_RSI] & amask(in), size);
      seg_write(cpu, VMM_ES, cpu->gpr[VMM_RDI] & amask(in), size, v);
      adv(cpu, in, VMM_RSI, d);
      adv(cpu, in, VMM_RDI, d);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

void op_stos(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t d = step(cpu, size);
   uint64_t v = cpu->gpr[VMM_RAX] & sz_mask(size);
   unsigned budget = REP_BUDGET;
   bool bulk = bulk_ok(cpu, in);
   while (budget) {
      if (bulk)
         bulk_stos(cpu, in, size, v, &budget);   /* as in op_movs */
      if (!budget)
         break;
      budget--;
      if (rep_done(cpu, in))
         return;
      seg_write(cpu, VMM_ES, cpu->gpr[VMM_RDI] & amask(in), size, v);
      adv(cpu, in, VMM_RDI, d);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

void op_lods(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t d = step(cpu, size);
   for (unsigned n = 0; n < REP_BUDGET; n++) {
      if (rep_done(cpu, in))
         return;
      uint64_t v = seg_read(cpu, in->seg, cpu->gpr[VMM_RSI] & amask(in), size);
      gpr_set(cpu, VMM_RAX, size, v);
      adv(cpu, in, VMM_RSI, d);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

void op_cmps(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t d = step(cpu, size), m = sz_mask(size);
   for (unsigned n = 0; n < REP_BUDGET; n++) {
      if (rep_done(cpu, in))
         return;
      uint64_t a = seg_read(cpu, in->seg, cpu->gpr[VMM_RSI] & amask(in), size);
      uint64_t b = seg_read(cpu, VMM_ES, cpu->gpr[VMM_RDI] & amask(in), size);
      adv(cpu, in, VMM_RSI, d);
      adv(cpu, in, VMM_RDI, d);
      set_cc(cpu, CC_SUB, size, (a - b) & m, b, 0);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
      bool eq = ((a - b) & m) == 0;
      if (in->rep == 0xf3 ? !eq : eq)
         return;
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

void op_scas(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize;
   uint64_t d = step(cpu, size), m = sz_mask(size);
   uint64_t a = cpu->gpr[VMM_RAX] & m;
   for (unsigned n = 0; n < REP_BUDGET; n++) {
      if (rep_done(cpu, in))
         return;
      uint64_t b = seg_read(cpu, VMM_ES, cpu->gpr[VMM_RDI] & amask(in), size);
      adv(cpu, in, VMM_RDI, d);
      set_cc(cpu, CC_SUB, size, (a - b) & m, b, 0);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
      bool eq = ((a - b) & m) == 0;
      if (in->rep == 0xf3 ? !eq : eq)
         return;
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

/* ---- port I/O --------------------------------------------------------------- */

/* I/O permission: IOPL, then the TSS bitmap (raises #GP(0)). */
/* The VMware backdoor ports (0x5658, and 0x5659 for its high-bandwidth
 * calls), like VMware's monitor and KVM's enable_vmware_backdoor: open at
 * every privilege level whatever IOPL and the TSS bitmap say, so that the
 * guest tools, which run as user processes, reach them. */
#define BDOOR_PORT_LB 0x5658
#define BDOOR_PORT_HB 0x5659

static void io_check(soft_cpu *cpu, uint16_t port, unsigned size)
{
   if (cpu->mode == MODE_REAL)
      return;
   if (port == BDOOR_PORT_LB || port == BDOOR_PORT_HB)
      return;
   if (cpu->mode != MODE_V86 && cpu->cpl <= ((cpu->rflags & FL_IOPL) >> 12))
      return;
   const vmm_seg *tr = &cpu->tr;
   if (tr->unusable || !(tr->type == 0x9 || tr->type == 0xb) || tr->limit < 0x67)
      RAISE_GP(cpu, 0);
   uint64_t base = tr->base;
   uint16_t iomap = (uint16_t)lin_read(cpu, lin_mask(cpu, base + 0x66), 2, ACC_R | ACC_SUPER);
   uint64_t off = (uint64_t)iomap + port / 8;
   if (off + 1 > tr->limit)
      RAISE_GP(cpu, 0);
   uint16_t bits = (uint16_t)lin_read(cpu, lin_mask(cpu, base + off), 2, ACC_R | ACC_SUPER);
   if ((bits >> (port & 7)) & ((1u << size) - 1))
      RAISE_GP(cpu, 0);
}

static uint32_t pio_in(soft_cpu *cpu, uint16_t port, unsigned size)
{
   uint32_t v = 0xffffffffu;
   if (cpu->io->pio_read) {
      CALLOUT(cpu, cpu->io->pio_read(cpu->io->opaque, cpu, port, size, &v));
   }
   return (uint32_t)(v & sz_mask(size));
}

static void pio_out(soft_cpu *cpu, uint16_t port, unsigned size, uint32_t v)
{
   if (cpu->io->pio_write) {
      CALLOUT(cpu, cpu->io->pio_write(cpu->io->opaque, cpu, port, size, (uint32_t)(v & sz_mask(size))));
   }
}

/* E4/E5 (imm8 port), EC/ED (DX) */
void op_in(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize == 8 ? 4 : in->osize;
   uint16_t port = (in->op & 8) ? (uint16_t)cpu->gpr[VMM_RDX] : (uint16_t)in->imm;
   io_check(cpu, port, size);
   gpr_set(cpu, VMM_RAX, size, pio_in(cpu, port, size));
}

void op_out(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize == 8 ? 4 : in->osize;
   uint16_t port = (in->op & 8) ? (uint16_t)cpu->gpr[VMM_RDX] : (uint16_t)in->imm;
   io_check(cpu, port, size);
   pio_out(cpu, port, size, (uint32_t)cpu->gpr[VMM_RAX]);
}

void op_ins(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize == 8 ? 4 : in->osize;
   uint64_t d = step(cpu, size);
   uint16_t port = (uint16_t)cpu->gpr[VMM_RDX];
   io_check(cpu, port, size);
   for (unsigned n = 0; n < REP_BUDGET; n++) {
      if (rep_done(cpu, in))
         return;
      uint64_t off = cpu->gpr[VMM_RDI] & amask(in);
      /* the destination is checked before the port is read */
      uint64_t lin = seg_lin(cpu, VMM_ES, off, size, ACC_W);
      soft_check_write(cpu, lin, size);
      uint32_t v = pio_in(cpu, port, size);
      lin_write(cpu, lin, size, v, ACC_W);
      adv(cpu, in, VMM_RDI, d);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}

void op_outs(soft_cpu *cpu, const soft_insn *in)
{
   unsigned size = in->osize == 8 ? 4 : in->osize;
   uint64_t d = step(cpu, size);
   uint16_t port = (uint16_t)cpu->gpr[VMM_RDX];
   io_check(cpu, port, size);
   for (unsigned n = 0; n < REP_BUDGET; n++) {
      if (rep_done(cpu, in))
         return;
      uint64_t v = seg_read(cpu, in->seg, cpu->gpr[VMM_RSI] & amask(in), size);
      pio_out(cpu, port, size, (uint32_t)v);
      adv(cpu, in, VMM_RSI, d);
      if (!in->rep)
         return;
      rep_dec(cpu, in);
   }
   if (!rep_done(cpu, in))
      cpu->next_rip = cpu->rip;
}
