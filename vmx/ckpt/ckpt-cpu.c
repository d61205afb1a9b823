/*
 * vmx/ckpt/ckpt-cpu.c - one vCPU's state as checkpoint items (see
 * ckpt-cpu.h for the items).
 */
#include "vmx/ckpt/ckpt-cpu.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char *const gpr_names[VMM_NGPR] = {
   "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};
static const char *const seg_names[VMM_NSEG] = { "es", "cs", "ss", "ds", "fs", "gs" };

/* XSAVE standard format. */
#define XS_FCW 0
#define XS_FSW 2
#define XS_FTW 4
#define XS_FOP 6
#define XS_FIP 8
#define XS_FDP 16
#define XS_MXCSR 24
#define XS_MXCSR_MASK 28
#define XS_ST 32
#define XS_XMM 160
#define XS_LEGACY_RESERVED 416     /* 416..511: reserved and software-available */
#define XS_BV 512
#define XS_COMP 520
#define XS_HDR_RESERVED 528        /* 528..575 */
#define XS_AVX 576                 /* YMM_Hi128, 256 bytes */

#define XCR0_X87 1ull
#define XCR0_SSE 2ull
#define XCR0_AVX 4ull
#define XCR0_AVX512 0xe0ull

#define MSR_TSC_DEADLINE 0x6e0u

/* File codes of mp_state (not tied to the enum's values). */
enum { MP_RUNNABLE = 0, MP_WAIT_SIPI = 1, MP_HALTED = 2, MP_WAIT_INIT = 3 };

typedef struct cpu_state {
   vmm_regs regs;
   vmm_sregs sregs;
   vmm_fpu fpu;
   vmm_msr msrs[32];
   bool msr_have[32];
   unsigned nmsrs;
   vmm_lapic lapic;
   bool have_lapic;
   uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE, with the local APIC */
   bool have_tsc_deadline;
   vmm_events ev;
   vmm_mp_state mp;
   vmm_debugregs dr;
} cpu_state;

const char *
ckpt_cpu_section_name(unsigned index, char *buf, size_t len)
{
   snprintf(buf, len, "cpu%u", index);
   return buf;
}

static uint64_t
ld(const uint8_t *p, unsigned n)
{
   uint64_t v = 0;
   memcpy(&v, p, n);
   return v;
}

static void
st(uint8_t *p, uint64_t v, unsigned n)
{
   memcpy(p, &v, n);
}

/* One representation per architectural state: what is in its init state is
 * written out and marked in use, bytes with no meaning are zero. */
static void
xsave_canonical(vmm_fpu *f)
{
   uint8_t *x = f->xsave;
   uint64_t bv = ld(x + XS_BV, 8);

   if (!(bv & XCR0_X87)) {
      st(x + XS_FCW, 0x037f, 2);
      st(x + XS_FSW, 0, 2);
      x[XS_FTW] = 0;
      st(x + XS_FOP, 0, 2);
      st(x + XS_FIP, 0, 8);
      st(x + XS_FDP, 0, 8);
      memset(x + XS_ST, 0, 128);
   }
   x[XS_FTW + 1] = 0;
   for (unsigned i = 0; i < 8; i++) {
      memset(x + XS_ST + 16 * i + 10, 0, 6);
   }
   if (!(bv & XCR0_SSE)) {
      memset(x + XS_XMM, 0, 256);
   }
   memset(x + XS_LEGACY_RESERVED, 0, 512 - XS_LEGACY_RESERVED);
   bv |= XCR0_X87 | XCR0_SSE;
   if (!(f->xcr0 & XCR0_AVX) || !(bv & XCR0_AVX)) {
      memset(x + XS_AVX, 0, 256);
   }
   bv = (bv & ~XCR0_AVX) | (f->xcr0 & XCR0_AVX);
   st(x + XS_BV, bv, 8);
   memset(x + XS_HDR_RESERVED, 0, XS_AVX - XS_HDR_RESERVED);
}

static int
get_state(vmm_vcpu *cpu, cpu_state *s, bool for_restore, char **err)
{
   const uint32_t *list;
   int e;

   memset(s, 0, sizeof *s);
   s->nmsrs = vmm_state_msrs(&list);
   g_assert(s->nmsrs <= G_N_ELEMENTS(s->msrs));
#define GET(call, what)                                                                   \
   if ((e = (call)) < 0) {                                                                \
      *err = g_strdup_printf("cpu%u: cannot read the %s: %s", vmm_vcpu_index(cpu), what, \
                             g_strerror(-e));                                            \
      return e;                                                                           \
   }
   GET(vmm_vcpu_get_regs(cpu, &s->regs), "general registers");
   GET(vmm_vcpu_get_sregs(cpu, &s->sregs), "segment and control registers");
   GET(vmm_vcpu_get_fpu(cpu, &s->fpu), "FPU state");
   GET(vmm_vcpu_get_events(cpu, &s->ev), "pending events");
   GET(vmm_vcpu_get_mp_state(cpu, &s->mp), "run state");
   GET(vmm_vcpu_get_debugregs(cpu, &s->dr), "debug registers");
#undef GET
   for (unsigned i = 0; i < s->nmsrs; i++) {
      s->msrs[i].index = list[i];
      e = vmm_vcpu_get_msrs(cpu, &s->msrs[i], 1);
      if (e == 0) {
         s->msr_have[i] = true;
      } else if (e != -ENOENT && !for_restore) {
         *err = g_strdup_printf("cpu%u: cannot read MSR 0x%x: %s", vmm_vcpu_index(cpu), list[i],
                                g_strerror(-e));
         return e;
      }
   }
   e = vmm_vcpu_get_lapic(cpu, &s->lapic);
   if (e == 0) {
      s->have_lapic = true;
      /* The TSC-deadline timer is the local APIC's, but reached as an MSR
       * (KVM's in-kernel APIC keeps it outside the register page). A
       * local APIC without one leaves the item out. */
      vmm_msr m = { .index = MSR_TSC_DEADLINE };
      if (vmm_vcpu_get_msrs(cpu, &m, 1) == 0) {
         s->tsc_deadline = m.value;
         s->have_tsc_deadline = true;
      }
   } else if (e != -ENOTSUP && !for_restore) {
      *err = g_strdup_printf("cpu%u: cannot read the local APIC: %s", vmm_vcpu_index(cpu),
                             g_strerror(-e));
      return e;
   }
   return 0;
}

static uint32_t
seg_attr(const vmm_seg *g)
{
   return (uint32_t)(g->type & 0xf) | (uint32_t)(g->s & 1) << 4 | (uint32_t)(g->dpl & 3) << 5 |
          (uint32_t)(g->present & 1) << 7 | (uint32_t)(g->avl & 1) << 12 |
          (uint32_t)(g->l & 1) << 13 | (uint32_t)(g->db & 1) << 14 | (uint32_t)(g->g & 1) << 15 |
          (uint32_t)(g->unusable & 1) << 16;
}

#define SEG_ATTR_VALID 0x1f0ffu

static void
seg_from_attr(vmm_seg *g, uint32_t a)
{
   g->type = a & 0xf;
   g->s = (a >> 4) & 1;
   g->dpl = (a >> 5) & 3;
   g->present = (a >> 7) & 1;
   g->avl = (a >> 12) & 1;
   g->l = (a >> 13) & 1;
   g->db = (a >> 14) & 1;
   g->g = (a >> 15) & 1;
   g->unusable = (a >> 16) & 1;
}

static void
put_seg(ckpt_writer *w, const char *name, const vmm_seg *g)
{
   char tag[32];
   snprintf(tag, sizeof tag, "%s.sel", name);
   ckpt_put_u16(w, tag, g->selector);
   snprintf(tag, sizeof tag, "%s.base", name);
   ckpt_put_u64(w, tag, g->base);
   snprintf(tag, sizeof tag, "%s.limit", name);
   ckpt_put_u32(w, tag, g->limit);
   snprintf(tag, sizeof tag, "%s.attr", name);
   ckpt_put_u32(w, tag, seg_attr(g));
}

static uint8_t
mp_code(vmm_mp_state mp)
{
   switch (mp) {
   case VMM_MP_WAIT_SIPI: return MP_WAIT_SIPI;
   case VMM_MP_HALTED: return MP_HALTED;
   case VMM_MP_WAIT_INIT: return MP_WAIT_INIT;
   default: return MP_RUNNABLE;
   }
}

bool
ckpt_cpu_save(vmm_vcpu *cpu, ckpt_writer *w, char **err)
{
   static __thread cpu_state s;   /* 5 KiB: not on the stack */
   char tag[32];

   if (get_state(cpu, &s, false, err) < 0) {
      return false;
   }
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      ckpt_put_u64(w, gpr_names[i], s.regs.gpr[i]);
   }
   ckpt_put_u64(w, "rip", s.regs.rip);
   ckpt_put_u64(w, "rflags", s.regs.rflags);
   for (unsigned i = 0; i < VMM_NSEG; i++) {
      put_seg(w, seg_names[i], &s.sregs.seg[i]);
   }
   put_seg(w, "tr", &s.sregs.tr);
   put_seg(w, "ldtr", &s.sregs.ldtr);
   ckpt_put_u64(w, "gdt.base", s.sregs.gdt.base);
   ckpt_put_u16(w, "gdt.limit", s.sregs.gdt.limit);
   ckpt_put_u64(w, "idt.base", s.sregs.idt.base);
   ckpt_put_u16(w, "idt.limit", s.sregs.idt.limit);
   ckpt_put_u64(w, "cr0", s.sregs.cr0);
   ckpt_put_u64(w, "cr2", s.sregs.cr2);
   ckpt_put_u64(w, "cr3", s.sregs.cr3);
   ckpt_put_u64(w, "cr4", s.sregs.cr4);
   ckpt_put_u64(w, "cr8", s.sregs.cr8);
   ckpt_put_u64(w, "efer", s.sregs.efer);
   ckpt_put_u64(w, "apic_base", s.sregs.apic_base);
   xsave_canonical(&s.fpu);
   ckpt_put_u64(w, "xcr0", s.fpu.xcr0);
   ckpt_put_bytes(w, "xsave", s.fpu.xsave, VMM_XSAVE_SIZE);
   for (unsigned i = 0; i < s.nmsrs; i++) {
      if (s.msr_have[i]) {
         snprintf(tag, sizeof tag, "msr.%08x", s.msrs[i].index);
         ckpt_put_u64(w, tag, s.msrs[i].value);
      }
   }
   if (s.have_lapic) {
      ckpt_put_bytes(w, "lapic", s.lapic.regs, VMM_LAPIC_SIZE);
   }
   if (s.have_tsc_deadline) {
      ckpt_put_u64(w, "tsc_deadline", s.tsc_deadline);
   }
   ckpt_put_u8(w, "ev.exc.injected", s.ev.exception_injected);
   ckpt_put_u8(w, "ev.exc.nr", s.ev.exception_nr);
   ckpt_put_u8(w, "ev.exc.has_error", s.ev.exception_has_error);
   ckpt_put_u32(w, "ev.exc.error", s.ev.exception_error);
   ckpt_put_u8(w, "ev.intr.injected", s.ev.interrupt_injected);
   ckpt_put_u8(w, "ev.intr.nr", s.ev.interrupt_nr);
   ckpt_put_u8(w, "ev.intr.soft", s.ev.interrupt_soft);
   ckpt_put_u8(w, "ev.nmi.injected", s.ev.nmi_injected);
   ckpt_put_u8(w, "ev.nmi.pending", s.ev.nmi_pending);
   ckpt_put_u8(w, "ev.nmi.masked", s.ev.nmi_masked);
   ckpt_put_u8(w, "ev.shadow", s.ev.interrupt_shadow);
   ckpt_put_u8(w, "ev.sipi", s.ev.sipi_vector);
   ckpt_put_u8(w, "mp_state", mp_code(s.mp));
   for (unsigned i = 0; i < 4; i++) {
      snprintf(tag, sizeof tag, "dr%u", i);
      ckpt_put_u64(w, tag, s.dr.dr[i]);
   }
   ckpt_put_u64(w, "dr6", s.dr.dr6);
   ckpt_put_u64(w, "dr7", s.dr.dr7);
   return true;
}

GBytes *
ckpt_cpu_save_section(vmm_vcpu *cpu, char **err)
{
   char name[16];
   ckpt_writer *w = ckpt_writer_new(ckpt_cpu_section_name(vmm_vcpu_index(cpu), name, sizeof name),
                                    CKPT_CPU_VERSION);
   bool ok = ckpt_cpu_save(cpu, w, err);
   GBytes *b = ckpt_writer_finish(w);
   if (!ok) {
      g_bytes_unref(b);
      return NULL;
   }
   return b;
}

/* ---- restore ----------------------------------------------------------------- */

static bool
get_seg(ckpt_reader *r, const char *name, vmm_seg *g, char **err, const char *sec)
{
   char tag[32];
   uint32_t attr;
   snprintf(tag, sizeof tag, "%s.sel", name);
   ckpt_get_u16(r, tag, &g->selector);
   snprintf(tag, sizeof tag, "%s.base", name);
   ckpt_get_u64(r, tag, &g->base);
   snprintf(tag, sizeof tag, "%s.limit", name);
   ckpt_get_u32(r, tag, &g->limit);
   snprintf(tag, sizeof tag, "%s.attr", name);
   if (ckpt_get_u32(r, tag, &attr)) {
      if (attr & ~SEG_ATTR_VALID) {
         *err = g_strdup_printf("%s: item '%s' (0x%x) has reserved bits set", sec, tag, attr);
         return false;
      }
      seg_from_attr(g, attr);
   }
   return true;
}

static bool
canonical(uint64_t a, bool la57)
{
   unsigned bits = la57 ? 57 : 48;
   uint64_t top = a >> (bits - 1);
   return top == 0 || top == (UINT64_MAX >> (bits - 1));
}

/* Checks what the monitors take on faith (or would fail to run with).
 * NULL when s is acceptable, else the reason. */
static char *
validate(const cpu_state *s, const char *sec)
{
   const vmm_sregs *sr = &s->sregs;
   bool la57 = (sr->cr4 >> 12) & 1;
#define BAD(...)                                              \
   do {                                                       \
      char *m_ = g_strdup_printf(__VA_ARGS__);                \
      char *r_ = g_strdup_printf("%s: %s", sec, m_);          \
      g_free(m_);                                             \
      return r_;                                              \
   } while (0)

   if ((s->regs.rflags & ~0x3f7fd7ull) || !(s->regs.rflags & 2)) {
      BAD("rflags 0x%llx has reserved bits wrong", (unsigned long long)s->regs.rflags);
   }
   if ((sr->cr0 & ~0xe005003full) || ((sr->cr0 >> 31) & 1 && !(sr->cr0 & 1)) ||
       ((sr->cr0 >> 29) & 1 && !((sr->cr0 >> 30) & 1))) {
      BAD("cr0 0x%llx is not a valid value", (unsigned long long)sr->cr0);
   }
   if (sr->cr4 & ~0x3ff7fffull) {
      BAD("cr4 0x%llx has reserved bits set", (unsigned long long)sr->cr4);
   }
   if (sr->cr3 >> 52) {
      BAD("cr3 0x%llx is past the physical address width", (unsigned long long)sr->cr3);
   }
   if (sr->cr8 > 15) {
      BAD("cr8 %llu is more than 15", (unsigned long long)sr->cr8);
   }
   if (sr->efer & ~0xfd01ull) {
      BAD("efer 0x%llx has reserved bits set", (unsigned long long)sr->efer);
   }
   bool lme = (sr->efer >> 8) & 1, lma = (sr->efer >> 10) & 1;
   bool pg = (sr->cr0 >> 31) & 1, pae = (sr->cr4 >> 5) & 1;
   if ((lma && (!lme || !pg || !pae)) || (pg && lme != lma)) {
      BAD("efer 0x%llx does not agree with cr0 0x%llx and cr4 0x%llx (long mode)",
          (unsigned long long)sr->efer, (unsigned long long)sr->cr0, (unsigned long long)sr->cr4);
   }
   if ((sr->apic_base & 0x2ffull) || (sr->apic_base >> 52) ||
       (((sr->apic_base >> 10) & 1) && !((sr->apic_base >> 11) & 1))) {
      BAD("apic_base 0x%llx is not a valid value", (unsigned long long)sr->apic_base);
   }
   if (lma && sr->seg[VMM_CS].l && sr->seg[VMM_CS].db) {
      BAD("cs is a 64-bit code segment with D set");
   }
   for (unsigned i = 0; i < VMM_NSEG; i++) {
      const vmm_seg *g = &sr->seg[i];
      bool usable = g->present && !g->unusable;
      if (i == VMM_FS || i == VMM_GS ? !canonical(g->base, la57)
                                     : usable && (g->base >> 32) && !lma) {
         BAD("%s base 0x%llx is not a valid address", seg_names[i], (unsigned long long)g->base);
      }
   }
   if (!canonical(sr->tr.base, la57) || !canonical(sr->ldtr.base, la57) ||
       !canonical(sr->gdt.base, la57) || !canonical(sr->idt.base, la57)) {
      BAD("a table base (tr, ldtr, gdt, idt) is not a canonical address");
   }

   uint64_t xcr0 = s->fpu.xcr0;
   if (!(xcr0 & XCR0_X87) || ((xcr0 & XCR0_AVX) && !(xcr0 & XCR0_SSE)) || (xcr0 >> 63) ||
       ((xcr0 & XCR0_AVX512) && ((xcr0 & XCR0_AVX512) != XCR0_AVX512 || !(xcr0 & XCR0_AVX)))) {
      BAD("xcr0 0x%llx is not a valid value", (unsigned long long)xcr0);
   }
   const uint8_t *x = s->fpu.xsave;
   uint64_t bv = ld(x + XS_BV, 8);
   /* x87 and SSE state exist whatever XCR0 says (FXSAVE, legacy SSE). */
   if (bv & ~(xcr0 | XCR0_X87 | XCR0_SSE)) {
      BAD("the XSAVE image has state (0x%llx) that xcr0 0x%llx does not enable",
          (unsigned long long)bv, (unsigned long long)xcr0);
   }
   if (ld(x + XS_COMP, 8) || ld(x + XS_HDR_RESERVED, 8)) {
      BAD("the XSAVE image is not in the standard format");
   }
   uint32_t mask = (uint32_t)ld(x + XS_MXCSR_MASK, 4);
   uint32_t mxcsr = (uint32_t)ld(x + XS_MXCSR, 4);
   if (mxcsr & ~(mask ? mask : 0xffbfu)) {
      BAD("mxcsr 0x%x has reserved bits set", mxcsr);
   }

   for (unsigned i = 0; i < s->nmsrs; i++) {
      uint32_t idx = s->msrs[i].index;
      uint64_t v = s->msrs[i].value;
      if (!s->msr_have[i]) {
         continue;
      }
      if ((idx == 0x175 || idx == 0x176 || idx == 0xc0000082 || idx == 0xc0000083 ||
           idx == 0xc0000102) && !canonical(v, la57)) {
         BAD("MSR 0x%x value 0x%llx is not a canonical address", idx, (unsigned long long)v);
      }
      if (idx == 0xc0000103 && (v >> 32)) {
         BAD("TSC_AUX 0x%llx has reserved bits set", (unsigned long long)v);
      }
      if (idx == 0x277) {
         for (unsigned b = 0; b < 8; b++) {
            unsigned t = (unsigned)(v >> (8 * b)) & 0xff;
            if (t != 0 && t != 1 && t != 4 && t != 5 && t != 6 && t != 7) {
               BAD("PAT 0x%llx has an invalid memory type", (unsigned long long)v);
            }
         }
      }
   }

   const vmm_events *e = &s->ev;
   if (e->exception_injected > 1 || e->exception_has_error > 1 || e->interrupt_injected > 1 ||
       e->interrupt_soft > 1 || e->nmi_injected > 1 || e->nmi_pending > 1 || e->nmi_masked > 1) {
      BAD("an event flag is not 0 or 1");
   }
   if (e->exception_injected + e->interrupt_injected + e->nmi_injected > 1) {
      BAD("more than one event is being injected");
   }
   if (e->exception_injected && e->exception_nr >= 32) {
      BAD("injected exception %u is not an exception vector", e->exception_nr);
   }
   if (e->interrupt_shadow & ~(VMM_SHADOW_STI | VMM_SHADOW_MOV_SS)) {
      BAD("interrupt shadow 0x%x is not a valid value", e->interrupt_shadow);
   }
   if ((s->dr.dr6 >> 32) || (s->dr.dr7 >> 32)) {
      BAD("dr6 0x%llx or dr7 0x%llx has reserved bits set", (unsigned long long)s->dr.dr6,
          (unsigned long long)s->dr.dr7);
   }
   return NULL;
#undef BAD
}

static char *
refused(vmm_vcpu *cpu, const char *sec, const char *what, int e)
{
   return g_strdup_printf("%s: the %s monitor refuses the %s: %s", sec,
                          vmm_kind_name(vmm_vm_kind(vmm_vcpu_vm(cpu))), what, g_strerror(-e));
}

bool
ckpt_cpu_restore(vmm_vcpu *cpu, ckpt_reader *r, char **err)
{
   static __thread cpu_state s;
   char sec[16], tag[32];
   bool lapic_in_file = false;
   int e;

   ckpt_cpu_section_name(vmm_vcpu_index(cpu), sec, sizeof sec);
   if (get_state(cpu, &s, true, err) < 0) {
      return false;
   }
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      ckpt_get_u64(r, gpr_names[i], &s.regs.gpr[i]);
   }
   ckpt_get_u64(r, "rip", &s.regs.rip);
   ckpt_get_u64(r, "rflags", &s.regs.rflags);
   for (unsigned i = 0; i < VMM_NSEG; i++) {
      if (!get_seg(r, seg_names[i], &s.sregs.seg[i], err, sec)) {
         return false;
      }
   }
   if (!get_seg(r, "tr", &s.sregs.tr, err, sec) || !get_seg(r, "ldtr", &s.sregs.ldtr, err, sec)) {
      return false;
   }
   ckpt_get_u64(r, "gdt.base", &s.sregs.gdt.base);
   ckpt_get_u16(r, "gdt.limit", &s.sregs.gdt.limit);
   ckpt_get_u64(r, "idt.base", &s.sregs.idt.base);
   ckpt_get_u16(r, "idt.limit", &s.sregs.idt.limit);
   ckpt_get_u64(r, "cr0", &s.sregs.cr0);
   ckpt_get_u64(r, "cr2", &s.sregs.cr2);
   ckpt_get_u64(r, "cr3", &s.sregs.cr3);
   ckpt_get_u64(r, "cr4", &s.sregs.cr4);
   ckpt_get_u64(r, "cr8", &s.sregs.cr8);
   ckpt_get_u64(r, "efer", &s.sregs.efer);
   ckpt_get_u64(r, "apic_base", &s.sregs.apic_base);
   ckpt_get_u64(r, "xcr0", &s.fpu.xcr0);
   ckpt_get_bytes(r, "xsave", s.fpu.xsave, VMM_XSAVE_SIZE);
   for (unsigned i = 0; i < s.nmsrs; i++) {
      snprintf(tag, sizeof tag, "msr.%08x", s.msrs[i].index);
      /* Only what the file has is set: setting the TSC to the value just
       * read would move it back. */
      s.msr_have[i] = ckpt_get_u64(r, tag, &s.msrs[i].value);
   }
   lapic_in_file = ckpt_get_bytes(r, "lapic", s.lapic.regs, VMM_LAPIC_SIZE);
   bool tscdl_in_file = ckpt_get_u64(r, "tsc_deadline", &s.tsc_deadline);
   ckpt_get_u8(r, "ev.exc.injected", &s.ev.exception_injected);
   ckpt_get_u8(r, "ev.exc.nr", &s.ev.exception_nr);
   ckpt_get_u8(r, "ev.exc.has_error", &s.ev.exception_has_error);
   ckpt_get_u32(r, "ev.exc.error", &s.ev.exception_error);
   ckpt_get_u8(r, "ev.intr.injected", &s.ev.interrupt_injected);
   ckpt_get_u8(r, "ev.intr.nr", &s.ev.interrupt_nr);
   ckpt_get_u8(r, "ev.intr.soft", &s.ev.interrupt_soft);
   ckpt_get_u8(r, "ev.nmi.injected", &s.ev.nmi_injected);
   ckpt_get_u8(r, "ev.nmi.pending", &s.ev.nmi_pending);
   ckpt_get_u8(r, "ev.nmi.masked", &s.ev.nmi_masked);
   ckpt_get_u8(r, "ev.shadow", &s.ev.interrupt_shadow);
   ckpt_get_u8(r, "ev.sipi", &s.ev.sipi_vector);
   uint8_t mp;
   if (ckpt_get_u8(r, "mp_state", &mp)) {
      switch (mp) {
      case MP_RUNNABLE: s.mp = VMM_MP_RUNNABLE; break;
      case MP_WAIT_SIPI: s.mp = VMM_MP_WAIT_SIPI; break;
      case MP_HALTED: s.mp = VMM_MP_HALTED; break;
      case MP_WAIT_INIT: s.mp = VMM_MP_WAIT_INIT; break;
      default:
         *err = g_strdup_printf("%s: mp_state %u is not a valid value", sec, mp);
         return false;
      }
   }
   for (unsigned i = 0; i < 4; i++) {
      snprintf(tag, sizeof tag, "dr%u", i);
      ckpt_get_u64(r, tag, &s.dr.dr[i]);
   }
   ckpt_get_u64(r, "dr6", &s.dr.dr6);
   ckpt_get_u64(r, "dr7", &s.dr.dr7);
   if (ckpt_reader_error(r)) {
      *err = g_strdup(ckpt_reader_error(r));
      return false;
   }
   char *why = validate(&s, sec);
   if (why) {
      *err = why;
      return false;
   }
   if (lapic_in_file && !s.have_lapic) {
      *err = g_strdup_printf("%s: the checkpoint has a local APIC but this VM's %s monitor has "
                             "none to restore it into", sec,
                             vmm_kind_name(vmm_vm_kind(vmm_vcpu_vm(cpu))));
      return false;
   }

   /* Apply: control state first, then what depends on it. */
   if ((e = vmm_vcpu_set_sregs(cpu, &s.sregs)) < 0) {
      *err = refused(cpu, sec, "segment and control registers", e);
      return false;
   }
   if ((e = vmm_vcpu_set_regs(cpu, &s.regs)) < 0) {
      *err = refused(cpu, sec, "general registers", e);
      return false;
   }
   if ((e = vmm_vcpu_set_fpu(cpu, &s.fpu)) < 0) {
      *err = refused(cpu, sec, "FPU state", e);
      return false;
   }
   for (unsigned i = 0; i < s.nmsrs; i++) {
      if (s.msr_have[i] && (e = vmm_vcpu_set_msrs(cpu, &s.msrs[i], 1)) < 0) {
         char what[48];
         snprintf(what, sizeof what, "value 0x%llx of MSR 0x%x",
                  (unsigned long long)s.msrs[i].value, s.msrs[i].index);
         *err = refused(cpu, sec, what, e);
         return false;
      }
   }
   if (lapic_in_file && (e = vmm_vcpu_set_lapic(cpu, &s.lapic)) < 0) {
      *err = refused(cpu, sec, "local APIC", e);
      return false;
   }
   /* After the TSC it counts against and the timer mode in the LAPIC's
    * LVT (a deadline written in another mode is dropped). */
   if (tscdl_in_file && lapic_in_file) {
      vmm_msr m = { .index = MSR_TSC_DEADLINE, .value = s.tsc_deadline };
      if ((e = vmm_vcpu_set_msrs(cpu, &m, 1)) < 0) {
         char what[64];
         snprintf(what, sizeof what, "TSC deadline 0x%llx", (unsigned long long)s.tsc_deadline);
         *err = refused(cpu, sec, what, e);
         return false;
      }
   }
   if ((e = vmm_vcpu_set_mp_state(cpu, s.mp)) < 0) {
      *err = refused(cpu, sec, "run state", e);
      return false;
   }
   if ((e = vmm_vcpu_set_events(cpu, &s.ev)) < 0) {
      *err = refused(cpu, sec, "pending events", e);
      return false;
   }
   if ((e = vmm_vcpu_set_debugregs(cpu, &s.dr)) < 0) {
      *err = refused(cpu, sec, "debug registers", e);
      return false;
   }
   return true;
}

bool
ckpt_cpu_restore_section(vmm_vcpu *cpu, const void *data, size_t len, char **err)
{
   char want[16];
   size_t used = 0;
   ckpt_reader *r = ckpt_reader_new(data, len, &used, err);
   if (!r) {
      return false;
   }
   ckpt_cpu_section_name(vmm_vcpu_index(cpu), want, sizeof want);
   bool ok = false;
   if (strcmp(ckpt_reader_section(r), want) != 0) {
      *err = g_strdup_printf("checkpoint section %s is not for vCPU %u (%s)",
                             ckpt_reader_section(r), vmm_vcpu_index(cpu), want);
   } else if (used != len) {
      *err = g_strdup_printf("checkpoint section %s: %zu bytes of junk after it", want,
                             len - used);
   } else {
      ok = ckpt_cpu_restore(cpu, r, err);
   }
   ckpt_reader_free(r);
   return ok;
}
