/*
 * vmm/soft/exc.c - exceptions and interrupts: raising (longjmp back to the
 * run loop with the faulting instruction's state restored), the double and
 * triple fault rules, delivery through the IVT (real mode), 32-bit IDT
 * gates, and 64-bit IDT gates with IST; INT n/INT3/INTO/INT1 and IRET.
 */
#include "soft_int.h"

static bool vec_has_error(int v)
{
   return v == EXC_DF || (v >= EXC_TS && v <= EXC_PF) || v == EXC_AC || v == 21;
}

NORETURN void soft_raise(soft_cpu *cpu, int vector, uint32_t error)
{
   cpu->exc_vector = vector;
   cpu->exc_error = error;
   cpu->exc_has_error = vec_has_error(vector);
   cpu->exc_soft = false;
   if (cpu->snap_valid) {
      cpu->seg[VMM_CS] = cpu->snap_cs;
      cpu->seg[VMM_SS] = cpu->snap_ss;
      cpu->cpl = cpu->snap_cpl;
      cpu->snap_valid = false;
      soft_update_mode(cpu);
   }
   cpu->gpr[VMM_RSP] = cpu->insn_rsp;
   longjmp(cpu->jb, 1);
}

NORETURN void soft_raise_noerr(soft_cpu *cpu, int vector)
{
   soft_raise(cpu, vector, 0);
}

/* ---- delivery ------------------------------------------------------------- */

typedef struct event {
   int vector;
   bool has_error;
   uint32_t error;
   bool soft;           /* INT n / INT3 / INTO: gate DPL checked */
   bool ext;            /* external event: EXT bit in error codes */
   uint64_t ret_rip;    /* pushed return address */
} event;

static void push_raw(soft_cpu *cpu, unsigned size, uint64_t v)
{
   soft_push(cpu, size, v);
}

static void deliver_real(soft_cpu *cpu, const event *ev)
{
   uint64_t off = (uint64_t)ev->vector * 4;
   if (off + 3 > cpu->idt.limit)
      RAISE_GP(cpu, (uint32_t)ev->vector * 8 + 2);
   uint32_t ent = (uint32_t)lin_read(cpu, lin_mask(cpu, cpu->idt.base + off), 4, ACC_R | ACC_SUPER);
   uint64_t fl = soft_get_rflags(cpu);
   push_raw(cpu, 2, fl);
   push_raw(cpu, 2, cpu->seg[VMM_CS].selector);
   push_raw(cpu, 2, ev->ret_rip);
   soft_load_seg_real(cpu, VMM_CS, (uint16_t)(ent >> 16));
   cpu->rip = ent & 0xffff;
   cpu->rflags &= ~(uint64_t)(FL_IF | FL_TF | FL_AC | FL_RF);
}

static void check_code_target(soft_cpu *cpu, uint16_t sel, uint64_t lo, uint32_t ext, vmm_seg *n)
{
   soft_desc_to_seg(n, sel, lo, 0);
   if (!n->s || !(n->type & 8) || n->dpl > cpu->cpl)
      RAISE_GP(cpu, (sel & 0xfffc) | ext);
   if (!n->present)
      soft_raise(cpu, EXC_NP, (sel & 0xfffc) | ext);
}

static void deliver_prot(soft_cpu *cpu, const event *ev)
{
   uint32_t ext = ev->ext ? 1 : 0;
   uint32_t idt_err = (uint32_t)ev->vector * 8 + 2 + ext;
   bool lma = (cpu->efer & EFER_LMA) != 0;
   unsigned esz = lma ? 16 : 8;
   if ((uint64_t)ev->vector * esz + esz - 1 > cpu->idt.limit)
      RAISE_GP(cpu, idt_err);
   uint64_t ga = cpu->idt.base + (uint64_t)ev->vector * esz;
   uint64_t lo = lin_read(cpu, lin_mask(cpu, ga), 8, ACC_R | ACC_SUPER);
   uint64_t hi = lma ? lin_read(cpu, ga + 8, 8, ACC_R | ACC_SUPER) : 0;
   unsigned type = (lo >> 40) & 0x1f;   /* includes S bit */
   unsigned gdpl = (lo >> 45) & 3;
   bool trap;
   unsigned gsize;
   if (lma) {
      if (type != 0xe && type != 0xf)
         RAISE_GP(cpu, idt_err);
      gsize = 8;
   } else {
      if (type == 0x5)
         RAISE_GP(cpu, idt_err);        /* task gate: not modelled (README) */
      if (type != 0x6 && type != 0x7 && type != 0xe && type != 0xf)
         RAISE_GP(cpu, idt_err);
      gsize = (type & 8) ? 4 : 2;
   }
   trap = type & 1;
   if (ev->soft && gdpl < cpu->cpl)
      RAISE_GP(cpu, idt_err);
   if (!((lo >> 47) & 1))
      soft_raise(cpu, EXC_NP, idt_err);
   uint16_t sel = (uint16_t)(lo >> 16);
   uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000u);
   if (lma)
      target |= (hi & 0xffffffffull) << 32;
   unsigned ist = lma ? (lo >> 32) & 7 : 0;
   if ((sel & ~3u) == 0)
      RAISE_GP(cpu, ext);
   uint64_t clo, chi;
   if (!soft_read_desc(cpu, sel, &clo, &chi, false))
      RAISE_GP(cpu, (sel & 0xfffc) | ext);
   vmm_seg n;
   check_code_target(cpu, sel, clo, ext, &n);
   if (lma && !(n.l && !n.db))
      RAISE_GP(cpu, (sel & 0xfffc) | ext);

   bool v86 = cpu->mode == MODE_V86;
   bool inner = !(n.type & 4) && n.dpl < cpu->cpl;
   if (v86 && (!inner || n.dpl != 0))
      RAISE_GP(cpu, (sel & 0xfffc) | ext);
   uint64_t old_fl = soft_get_rflags(cpu);
   uint16_t old_cs = cpu->seg[VMM_CS].selector;
   uint16_t old_ss = cpu->seg[VMM_SS].selector;
   uint64_t old_sp = cpu->gpr[VMM_RSP];
   unsigned new_cpl = inner ? n.dpl : cpu->cpl;

   soft_snapshot(cpu);
   if (lma) {
      uint64_t nsp = old_sp;
      if (ist || inner) {
         uint64_t off = ist ? 0x24 + 8 * (ist - 1) : 4 + 8 * new_cpl;
         if (off + 7 > cpu->tr.limit)
            soft_raise(cpu, EXC_TS, (cpu->tr.selector & 0xfffc) | ext);
         nsp = lin_read(cpu, cpu->tr.base + off, 8, ACC_R | ACC_SUPER);
         if ((uint64_t)((int64_t)((uint64_t)(nsp) << 16) >> 16) != nsp)
            soft_raise(cpu, EXC_SS, ext);
      }
      if (inner) {
         vmm_seg *ss = &cpu->seg[VMM_SS];
         memset(ss, 0, sizeof(*ss));
         ss->selector = (uint16_t)new_cpl;
         ss->type = 3;
         ss->s = 1;
         ss->present = 1;
         ss->dpl = new_cpl;
         ss->limit = 0xffffffff;
         ss->db = 1;
      }
      cpu->cpl = new_cpl;
      /* pushes go to the new stack in 64-bit mode */
      cpu->seg[VMM_CS] = n;
      soft_update_mode(cpu);
      cpu->gpr[VMM_RSP] = nsp & ~0xfull;
      push_raw(cpu, 8, old_ss);
      push_raw(cpu, 8, old_sp);
      push_raw(cpu, 8, old_fl);
      push_raw(cpu, 8, old_cs);
      push_raw(cpu, 8, ev->ret_rip);
      if (ev->has_error)
         push_raw(cpu, 8, ev->error);
   } else {
      if (inner) {
         unsigned w = (cpu->tr.type & 8) ? 4 : 2;
         uint64_t o = w == 4 ? 4 + 8 * new_cpl : 2 + 4 * new_cpl;
         if (o + 2 * w - 1 > cpu->tr.limit)
            soft_raise(cpu, EXC_TS, (cpu->tr.selector & 0xfffc) | ext);
         uint64_t nsp = lin_read(cpu, lin_mask(cpu, cpu->tr.base + o), w, ACC_R | ACC_SUPER);
         uint16_t nss = (uint16_t)lin_read(cpu, lin_mask(cpu, cpu->tr.base + o + w), 2, ACC_R | ACC_SUPER);
         if ((nss & ~3u) == 0)
            soft_raise(cpu, EXC_TS, ext);
         uint64_t slo, shi;
         if (!soft_read_desc(cpu, nss, &slo, &shi, false))
            soft_raise(cpu, EXC_TS, (nss & 0xfffc) | ext);
         vmm_seg s;
         soft_desc_to_seg(&s, nss, slo, 0);
         if ((nss & 3) != new_cpl || s.dpl != new_cpl || !s.s || (s.type & 8) || !(s.type & 2))
            soft_raise(cpu, EXC_TS, (nss & 0xfffc) | ext);
         if (!s.present)
            soft_raise(cpu, EXC_SS, (nss & 0xfffc) | ext);
         soft_set_accessed(cpu, nss, slo);
         s.type |= 1;
         cpu->cpl = new_cpl;
         cpu->seg[VMM_SS] = s;
         soft_update_mode(cpu);
         sp_set(cpu, nsp);
         if (v86) {
            push_raw(cpu, gsize, cpu->seg[VMM_GS].selector);
            push_raw(cpu, gsize, cpu->seg[VMM_FS].selector);
            push_raw(cpu, gsize, cpu->seg[VMM_DS].selector);
            push_raw(cpu, gsize, cpu->seg[VMM_ES].selector);
         }
         push_raw(cpu, gsize, old_ss);
         push_raw(cpu, gsize, old_sp);
      }
      push_raw(cpu, gsize, old_fl);
      push_raw(cpu, gsize, old_cs);
      push_raw(cpu, gsize, ev->ret_rip);
      if (ev->has_error)
         push_raw(cpu, gsize, ev->error);
      if (v86) {
         static const unsigned ds[] = { VMM_ES, VMM_DS, VMM_FS, VMM_GS };
         for (unsigned i = 0; i < 4; i++) {
            memset(&cpu->seg[ds[i]], 0, sizeof(vmm_seg));
            cpu->seg[ds[i]].unusable = 1;
         }
      }
   }
   soft_set_accessed(cpu, sel, clo);
   n.type |= 1;
   n.selector = (sel & ~3u) | new_cpl;
   cpu->seg[VMM_CS] = n;
   cpu->cpl = new_cpl;
   cpu->snap_valid = false;
   cpu->rflags &= ~(uint64_t)(FL_TF | FL_NT | FL_RF | FL_VM);
   if (!trap)
      cpu->rflags &= ~(uint64_t)FL_IF;
   soft_update_mode(cpu);
   cpu->rip = gsize == 2 ? (uint16_t)target : gsize == 4 ? (uint32_t)target : target;
}

static void deliver(soft_cpu *cpu, const event *ev)
{
   cpu->insn_rsp = cpu->gpr[VMM_RSP];
   if (cpu->mp_state == VMM_MP_HALTED)
      cpu->mp_state = VMM_MP_RUNNABLE;
   if (cpu->mode == MODE_REAL)
      deliver_real(cpu, ev);
   else
      deliver_prot(cpu, ev);
   cpu->intr_shadow = 0;
}

static int exc_class(int v)
{
   if (v == EXC_PF)
      return 2;
   if (v == EXC_DE || (v >= EXC_TS && v <= EXC_GP))
      return 1;
   return 0;
}

bool soft_deliver_pending(soft_cpu *cpu)
{
   int v = cpu->exc_vector;
   uint32_t err = cpu->exc_error;
   bool has_err = cpu->exc_has_error;
   cpu->exc_vector = -1;

   if (cpu->exc_first >= 0) {
      int first = cpu->exc_first;
      if (first == EXC_DF)
         return false;                        /* triple fault */
      int c1 = exc_class(first), c2 = exc_class(v);
      if ((c1 == 1 && c2 == 1) || (c1 == 2 && c2 != 0)) {
         v = EXC_DF;
         err = 0;
         has_err = true;
      }
   }
   if (cpu->mode == MODE_REAL)
      has_err = false;
   event ev = { v, has_err, err, false, true, cpu->exc_soft ? cpu->exc_next_rip : cpu->rip };
   cpu->exc_first = v;
   deliver(cpu, &ev);
   cpu->exc_first = -1;
   return true;
}

void soft_deliver_interrupt(soft_cpu *cpu, int vector, bool nmi)
{
   event ev = { vector, false, 0, false, true, cpu->rip };
   cpu->exc_first = -1;
   if (nmi)
      cpu->nmi_masked = true;
   deliver(cpu, &ev);
}

NORETURN void soft_soft_int(soft_cpu *cpu, int vector, bool is_int_n)
{
   /* INT n/INT3/INTO: the gate DPL is checked, EXT = 0, the pushed return
    * address is the next instruction. Faults during delivery are ordinary
    * faults of this instruction. */
   event ev = { vector, false, 0, is_int_n, false, cpu->next_rip };
   cpu->exc_first = -1;
   deliver(cpu, &ev);
   cpu->icount++;
   longjmp(cpu->jb, 2);        /* delivered: resume the loop at the handler */
}

/* ---- instructions ----------------------------------------------------------- */

void op_int(soft_cpu *cpu, const soft_insn *in)
{
   if (cpu->mode == MODE_V86 && ((cpu->rflags & FL_IOPL) >> 12) < 3)
      RAISE_GP(cpu, 0);
   soft_soft_int(cpu, (int)(in->imm & 0xff), true);
}

void op_int3(soft_cpu *cpu, const soft_insn *in)
{
   soft_soft_int(cpu, EXC_BP, true);
}

void op_into(soft_cpu *cpu, const soft_insn *in)
{
   if (soft_arith_flags(cpu) & FL_OF)
      soft_soft_int(cpu, EXC_OF, true);
}

void op_int1(soft_cpu *cpu, const soft_insn *in)
{
   /* ICEBP: like a hardware #DB trap, no DPL check */
   soft_soft_int(cpu, EXC_DB, false);
}

void op_iret(soft_cpu *cpu, const soft_insn *in)
{
   unsigned os = in->osize;
   uint64_t sp = sp_get(cpu);
   uint64_t smask = sz_mask(cpu->stack_size);
   uint64_t ip = seg_read(cpu, VMM_SS, sp, os);
   uint16_t sel = (uint16_t)seg_read(cpu, VMM_SS, (sp + os) & smask, os == 8 ? 8 : 2);
   uint64_t fl = seg_read(cpu, VMM_SS, (sp + 2 * os) & smask, os);
   uint64_t cur = soft_get_rflags(cpu);

   if (cpu->mode == MODE_REAL) {
      if ((ip & sz_mask(os)) > cpu->seg[VMM_CS].limit)
         RAISE_GP(cpu, 0);
      uint64_t mask = os == 2 ? 0xffff : 0x257fd5;
      mask &= ~(uint64_t)(FL_VM | FL_VIF | FL_VIP);
      soft_load_seg_real(cpu, VMM_CS, sel);
      sp_set(cpu, sp + 3 * os);
      soft_set_rflags(cpu, fl, mask);
      cpu->next_rip = ip & sz_mask(os);
      cpu->nmi_masked = false;
      return;
   }
   if (cpu->mode == MODE_V86) {
      if (((cur & FL_IOPL) >> 12) < 3)
         RAISE_GP(cpu, 0);
      soft_load_seg_real(cpu, VMM_CS, sel);
      sp_set(cpu, sp + 3 * os);
      soft_set_rflags(cpu, fl, (os == 2 ? 0xffff : 0x257fd5) & ~(uint64_t)(FL_IOPL | FL_VM));
      cpu->next_rip = ip & sz_mask(os);
      cpu->nmi_masked = false;
      return;
   }
   if (cur & FL_NT)
      RAISE_GP(cpu, 0);       /* long mode: #GP; legacy task return: not modelled (README) */
   if (os != 8)
      fl = (cur & ~sz_mask(os)) | (fl & sz_mask(os));
   if ((fl & FL_VM) && cpu->cpl == 0 && os == 4 && !(cpu->efer & EFER_LMA))
      RAISE_GP(cpu, 0);       /* return to virtual-8086 mode: not modelled */
   if ((sel & ~3u) == 0)
      RAISE_GP(cpu, 0);
   uint64_t lo, hi;
   if (!soft_read_desc(cpu, sel, &lo, &hi, false))
      RAISE_GP(cpu, sel & 0xfffc);
   vmm_seg n;
   soft_desc_to_seg(&n, sel, lo, 0);
   unsigned rpl = sel & 3;
   if (!n.s || !(n.type & 8) || rpl < cpu->cpl)
      RAISE_GP(cpu, sel & 0xfffc);
   if ((n.type & 4) ? n.dpl > rpl : n.dpl != rpl)
      RAISE_GP(cpu, sel & 0xfffc);
   if (!n.present)
      soft_raise(cpu, EXC_NP, sel & 0xfffc);
   bool lma = (cpu->efer & EFER_LMA) != 0;
   if (lma && n.l && n.db)
      RAISE_GP(cpu, sel & 0xfffc);
   bool to64 = lma && n.l;
   bool pop_ss = rpl != cpu->cpl || cpu->mode == MODE_LONG64;
   uint64_t nsp = 0;
   uint16_t nss = 0;
   if (pop_ss) {
      nsp = seg_read(cpu, VMM_SS, (sp + 3 * os) & smask, os);
      nss = (uint16_t)seg_read(cpu, VMM_SS, (sp + 4 * os) & smask, os == 8 ? 8 : 2);
   }
   if (!to64)
      ip &= sz_mask(os);
   if (to64 ? (uint64_t)((int64_t)((uint64_t)(ip) << 16) >> 16) != ip : ip > n.limit)
      RAISE_GP(cpu, 0);

   /* flags the current privilege may change */
   uint64_t mask = FL_ARITH | FL_TF | FL_DF | FL_NT | FL_OF | FL_RF | FL_AC | FL_ID;
   unsigned iopl = (cur & FL_IOPL) >> 12;
   if (cpu->cpl == 0)
      mask |= FL_IOPL | FL_VIF | FL_VIP;
   if (cpu->cpl <= iopl)
      mask |= FL_IF;
   if (os == 2)
      mask &= 0xffff;

   unsigned old_cpl = cpu->cpl;
   soft_snapshot(cpu);
   cpu->seg[VMM_CS] = n;
   cpu->seg[VMM_CS].selector = sel;
   cpu->seg[VMM_CS].type |= 1;
   cpu->cpl = rpl;
   soft_update_mode(cpu);
   if (pop_ss) {
      if ((nss & ~3u) == 0 && !(to64 && rpl != 3)) {
         RAISE_GP(cpu, 0);
      }
      soft_load_seg(cpu, VMM_SS, nss);
      if (cpu->stack_size == 8 || to64)
         cpu->gpr[VMM_RSP] = nsp;
      else
         sp_set(cpu, nsp);
   } else {
      sp_set(cpu, sp + 3 * os);
   }
   soft_set_accessed(cpu, sel, lo);
   cpu->snap_valid = false;
   /* the flag mask above was computed with the old CPL */
   soft_set_rflags(cpu, fl, mask);
   if (rpl > old_cpl) {
      static const unsigned ds[] = { VMM_ES, VMM_DS, VMM_FS, VMM_GS };
      for (unsigned i = 0; i < 4; i++) {
         vmm_seg *s = &cpu->seg[ds[i]];
         bool conf = s->s && (s->type & 0xc) == 0xc;
         if (!s->unusable && !conf && s->dpl < rpl) {
            uint64_t base = s->base;
            memset(s, 0, sizeof(*s));
            s->unusable = 1;
            if (ds[i] >= VMM_FS && cpu->mode == MODE_LONG64)
               s->base = base;
         }
      }
   }
   soft_update_mode(cpu);
   cpu->nmi_masked = false;
   cpu->next_rip = ip;
}
