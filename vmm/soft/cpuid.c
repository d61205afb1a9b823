/*
 * vmm/soft/cpuid.c - the CPUID model of the software monitor and the
 * CPUID instruction.
 *
 * The model is the KVM monitor's (vmm/kvm/kvm-cpuid.c) as far as the
 * interpreter allows: the host's vendor, family/model/stepping, brand
 * string and cache descriptors, the feature bits the host has AND the
 * interpreter implements, the vCPU's APIC ID, the hypervisor-present bit,
 * and VMware's hypervisor leaves in place of KVM's:
 *
 *   0x40000000  eax = 0x40000010, ebx/ecx/edx = "VMwareVMware"
 *   0x40000001-0x4000000f  zero
 *   0x40000010  eax = TSC kHz (the host TSC, which is the guest's time
 *               base), ebx = APIC bus kHz (1 GHz, as under KVM)
 */
#include <cpuid.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <x86intrin.h>

#include "soft_int.h"

#define HV_BASE 0x40000000u
#define HV_MAX  0x40000010u
#define APIC_BUS_KHZ 1000000u

/* ---- what the interpreter implements ----------------------------------- */

/* CPUID.1:EDX */
#define F1D_FPU    (1u << 0)
#define F1D_DE     (1u << 2)
#define F1D_PSE    (1u << 3)
#define F1D_TSC    (1u << 4)
#define F1D_MSR    (1u << 5)
#define F1D_PAE    (1u << 6)
#define F1D_CX8    (1u << 8)
#define F1D_APIC   (1u << 9)
#define F1D_SEP    (1u << 11)
#define F1D_PGE    (1u << 13)
#define F1D_CMOV   (1u << 15)
#define F1D_PAT    (1u << 16)
#define F1D_PSE36  (1u << 17)
#define F1D_CLFSH  (1u << 19)
#define F1D_MMX    (1u << 23)
#define F1D_FXSR   (1u << 24)
#define F1D_SSE    (1u << 25)
#define F1D_SSE2   (1u << 26)
/* CPUID.1:ECX */
#define F1C_SSE3   (1u << 0)
#define F1C_SSSE3  (1u << 9)
#define F1C_CX16   (1u << 13)
#define F1C_SSE41  (1u << 19)
#define F1C_SSE42  (1u << 20)
#define F1C_MOVBE  (1u << 22)
#define F1C_POPCNT (1u << 23)
#define F1C_TSCDL  (1u << 24)
#define F1C_XSAVE  (1u << 26)
#define F1C_OSXSAVE (1u << 27)
#define F1C_HYPERVISOR (1u << 31)

static const uint32_t leaf1_edx =
   F1D_DE | F1D_PSE | F1D_TSC | F1D_MSR | F1D_PAE | F1D_CX8 | F1D_SEP | F1D_PGE |
   F1D_CMOV | F1D_PAT | F1D_PSE36 | F1D_CLFSH;
static const uint32_t leaf1_ecx = F1C_CX16 | F1C_MOVBE | F1C_POPCNT;
/* CPUID.7.0:EBX: FSGSBASE, SMEP, ERMS, SMAP */
static const uint32_t leaf7_ebx = (1u << 0) | (1u << 7) | (1u << 9) | (1u << 20);
/* CPUID.80000001h:ECX: LAHF/SAHF in 64-bit mode, LZCNT, PREFETCHW */
static const uint32_t ext1_ecx = (1u << 0) | (1u << 5) | (1u << 8);
/* CPUID.80000001h:EDX: SYSCALL, NX, 1 GiB pages, RDTSCP, long mode (plus the
 * leaf 1 bits AMD mirrors there) */
static const uint32_t ext1_edx = (1u << 11) | (1u << 20) | (1u << 26) | (1u << 27) | (1u << 29);

/* ---- the host ------------------------------------------------------------ */

static void host_cpuid(uint32_t leaf, uint32_t sub, uint32_t o[4])
{
   __cpuid_count(leaf, sub, o[0], o[1], o[2], o[3]);
}

static uint32_t tsc_khz;
static pthread_once_t tsc_once = PTHREAD_ONCE_INIT;

static double now_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC_RAW, &ts);
   return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* One (time, TSC) pair taken close together: the tightest of a few tries. */
static void sample(double *t, uint64_t *tsc)
{
   double best = 1e18;
   for (unsigned i = 0; i < 5; i++) {
      double a = now_ns();
      uint64_t c = __rdtsc();
      double b = now_ns();
      if (b - a < best) {
         best = b - a;
         *t = (a + b) / 2;
         *tsc = c;
      }
   }
}

static void calibrate(void)
{
   double t0, t1;
   uint64_t c0, c1;
   struct timespec d = { 0, 20 * 1000 * 1000 };
   sample(&t0, &c0);
   nanosleep(&d, NULL);
   sample(&t1, &c1);
   double khz = (double)(c1 - c0) / (t1 - t0) * 1e6;
   tsc_khz = khz > 1000 && khz < 1e8 ? (uint32_t)(khz + 0.5) : 1000000;
}

uint32_t soft_host_tsc_khz(void)
{
   pthread_once(&tsc_once, calibrate);
   return tsc_khz;
}

/* ---- the model ------------------------------------------------------------- */

typedef struct builder {
   vmm_cpuid_entry *e;
   unsigned n, max;
} builder;

static void add(builder *b, uint32_t fn, uint32_t idx, uint32_t flags, uint32_t a, uint32_t bx,
                uint32_t c, uint32_t d)
{
   if (b->n < b->max)
      b->e[b->n] = (vmm_cpuid_entry){ fn, idx, flags, a, bx, c, d };
   b->n++;
}

static const bool offer_fpu = true;   /* x87/MMX/SSE/XSAVE */

unsigned soft_cpuid_model(vmm_cpuid_entry *e, unsigned max, unsigned index, bool with_apic)
{
   builder b = { e, 0, max };
   uint32_t h[4], maxb, maxe;
   bool intel;

   host_cpuid(0, 0, h);
   maxb = h[0] < 0xd ? h[0] : 0xd;
   intel = h[1] == 0x756e6547;   /* "Genu" */
   add(&b, 0, 0, 0, maxb, h[1], h[2], h[3]);

   uint32_t edx1 = leaf1_edx | (with_apic ? F1D_APIC : 0);
   uint32_t ecx1 = leaf1_ecx | (with_apic ? F1C_TSCDL : 0);
   if (offer_fpu) {
      edx1 |= F1D_FPU | F1D_MMX | F1D_FXSR | F1D_SSE | F1D_SSE2;
      ecx1 |= F1C_SSE3 | F1C_SSSE3 | F1C_SSE41 | F1C_SSE42 | F1C_XSAVE;
   }
   host_cpuid(1, 0, h);
   add(&b, 1, 0, 0, h[0], (h[1] & 0xff00u) | (1u << 16) | (index << 24),
       (h[2] & ecx1 & ~F1C_TSCDL) | (ecx1 & F1C_TSCDL) | F1C_HYPERVISOR, h[3] & edx1);
   if (intel && maxb >= 2) {
      host_cpuid(2, 0, h);
      add(&b, 2, 0, 0, h[0], h[1], h[2], h[3]);
   }
   if (intel && maxb >= 4) {
      for (uint32_t i = 0; i < 8; i++) {
         host_cpuid(4, i, h);
         /* cache parameters without the host's core and thread counts */
         add(&b, 4, i, VMM_CPUID_FLAG_INDEXED, h[0] & 0x3fffu, h[1], h[2], h[3]);
         if ((h[0] & 0x1f) == 0)
            break;
      }
   }
   for (uint32_t l = 5; l <= maxb; l++) {
      if (l == 7) {
         host_cpuid(7, 0, h);
         add(&b, 7, 0, VMM_CPUID_FLAG_INDEXED, 0, h[1] & leaf7_ebx, 0, 0);
      } else if (l == 0xd) {
         if (offer_fpu) {
            add(&b, 0xd, 0, VMM_CPUID_FLAG_INDEXED, 3, 576, 576, 0);
            add(&b, 0xd, 1, VMM_CPUID_FLAG_INDEXED, 0, 0, 0, 0);
         }
      } else {
         add(&b, l, 0, (l == 0xb) ? VMM_CPUID_FLAG_INDEXED : 0, 0, 0, 0, 0);
      }
   }

   host_cpuid(0x80000000u, 0, h);
   maxe = h[0] < 0x80000008u ? h[0] : 0x80000008u;
   add(&b, 0x80000000u, 0, 0, maxe, intel ? 0 : h[1], intel ? 0 : h[2], intel ? 0 : h[3]);
   for (uint32_t l = 0x80000001u; l <= maxe; l++) {
      host_cpuid(l, 0, h);
      switch (l) {
      case 0x80000001u: {
         uint32_t mirror = intel ? 0 : (edx1 & 0x0183f3ffu & ~F1D_APIC) |
                                       (with_apic ? F1D_APIC : 0);
         add(&b, l, 0, 0, h[0], h[1], h[2] & ext1_ecx, h[3] & (ext1_edx | mirror));
         break;
      }
      case 0x80000002u: case 0x80000003u: case 0x80000004u:
      case 0x80000005u: case 0x80000006u:
         add(&b, l, 0, 0, h[0], h[1], h[2], h[3]);
         break;
      case 0x80000007u:
         add(&b, l, 0, 0, 0, 0, 0, h[3] & (1u << 8));   /* invariant TSC */
         break;
      case 0x80000008u:
         add(&b, l, 0, 0, h[0] & 0xffffu, 0, 0, 0);
         break;
      default:
         add(&b, l, 0, 0, 0, 0, 0, 0);
         break;
      }
   }

   add(&b, HV_BASE, 0, 0, HV_MAX, 0x61774d56u, 0x4d566572u, 0x65726177u); /* VMwareVMware */
   for (uint32_t f = HV_BASE + 1; f < HV_MAX; f++)
      add(&b, f, 0, 0, 0, 0, 0, 0);
   add(&b, HV_MAX, 0, 0, soft_host_tsc_khz(), APIC_BUS_KHZ, 0, 0);
   return b.n < max ? b.n : max;
}

/* ---- lookups ----------------------------------------------------------------- */

void soft_cpuid_lookup(soft_cpu *cpu, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
   const vmm_cpuid_entry *best = NULL;
   uint32_t max_basic = 0, max_ext = 0x80000000u, max_hv = 0;
   for (unsigned i = 0; i < cpu->ncpuid; i++) {
      const vmm_cpuid_entry *e = &cpu->cpuid[i];
      if (e->function == 0)
         max_basic = e->eax;
      if (e->function == 0x80000000u)
         max_ext = e->eax;
      if (e->function == HV_BASE)
         max_hv = e->eax;
   }
   /* out-of-range leaves return the highest basic leaf (Intel rule) */
   if ((leaf < HV_BASE && leaf > max_basic) ||
       (leaf >= HV_BASE && leaf < 0x80000000u && leaf > max_hv) ||
       (leaf >= 0x80000000u && leaf > max_ext))
      leaf = max_basic;
   for (unsigned i = 0; i < cpu->ncpuid; i++) {
      const vmm_cpuid_entry *e = &cpu->cpuid[i];
      if (e->function == leaf && (!(e->flags & VMM_CPUID_FLAG_INDEXED) || e->index == sub)) {
         best = e;
         break;
      }
   }
   if (!best) {
      out[0] = out[1] = out[2] = out[3] = 0;
      return;
   }
   out[0] = best->eax;
   out[1] = best->ebx;
   out[2] = best->ecx;
   out[3] = best->edx;
}

/* Decode and execution choices that follow the CPUID model. */
void soft_cpu_features(soft_cpu *cpu)
{
   uint32_t o[4];
   soft_cpuid_lookup(cpu, 7, 0, o);
   cpu->feat_bmi1 = (o[1] >> 3) & 1;
   soft_cpuid_lookup(cpu, 0x80000001u, 0, o);
   cpu->feat_abm = (o[2] >> 5) & 1;
   soft_cpuid_lookup(cpu, 1, 0, o);
   cpu->feat_popcnt = (o[2] >> 23) & 1;
}

void op_cpuid(soft_cpu *cpu, const soft_insn *in)
{
   uint32_t leaf = (uint32_t)cpu->gpr[VMM_RAX], o[4];
   soft_cpuid_lookup(cpu, leaf, (uint32_t)cpu->gpr[VMM_RCX], o);
   if (leaf == 1) {
      /* OSXSAVE follows CR4 */
      o[2] &= ~F1C_OSXSAVE;
      if ((o[2] & F1C_XSAVE) && (cpu->cr4 & CR4_OSXSAVE))
         o[2] |= F1C_OSXSAVE;
   } else if (leaf == 0xd && (uint32_t)cpu->gpr[VMM_RCX] == 0 && (o[0] & 3)) {
      /* EBX: the XSAVE area size for the XCR0 in effect */
      o[1] = (cpu->xcr0 & 4) ? 832 : 576;
   }
   cpu->gpr[VMM_RAX] = o[0];
   cpu->gpr[VMM_RBX] = o[1];
   cpu->gpr[VMM_RCX] = o[2];
   cpu->gpr[VMM_RDX] = o[3];
}
