/*
 * vmm/soft/tests/diff.c - the differential test driver: runs each
 * generated case on the host CPU and in the interpreter and compares.
 *
 *   soft-diff [--group NAME] [--scale N] [--seed S] [--verbose]
 *
 * Exit status 0: all cases matched; 1: mismatches; 77: the host cannot
 * run the native side (fixed mappings unavailable).
 */
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <ucontext.h>

#include "diff.h"
#include "shim.h"

/* ---- native side -------------------------------------------------------- */

typedef struct native_state {
   uint64_t gpr[16];
   uint64_t flags;
   uint64_t host_rsp;
} native_state;

#define ST ((volatile native_state *)DIFF_STATE_ADDR)
#define STACK_TOP (DIFF_STATE_ADDR + 0xff0)
#define EPILOGUE_ADDR (DIFF_CODE_ADDR + 0x200)
#define FX_TEST (DIFF_STATE_ADDR + 0x400)   /* the case's FPU state (FXSAVE64) */
#define FX_HOST (DIFF_STATE_ADDR + 0x600)   /* the harness's own, around the case */

static uint8_t *code_page;
static sigjmp_buf sig_jb;
static diff_result *sig_res;

static void put32(uint8_t *p, uint32_t v)
{
   memcpy(p, &v, 4);
}

static unsigned emit_abs_mov(uint8_t *p, bool store, unsigned r, uint64_t addr)
{
   unsigned n = 0;
   p[n++] = (uint8_t)(0x48 | (r >= 8 ? 4 : 0));
   p[n++] = store ? 0x89 : 0x8b;
   p[n++] = (uint8_t)(((r & 7) << 3) | 4);
   p[n++] = 0x25;
   put32(p + n, (uint32_t)addr);
   return n + 4;
}

/* fxsave64/fxrstor64 [abs32] */
static unsigned emit_fx(uint8_t *p, bool restore, uint64_t addr)
{
   p[0] = 0x48;
   p[1] = 0x0f;
   p[2] = 0xae;
   p[3] = restore ? 0x0c : 0x04;
   p[4] = 0x25;
   put32(p + 5, (uint32_t)addr);
   return 9;
}

static void build_native_frame(void)
{
   uint8_t *p = code_page;
   unsigned n = 0;
   static const uint8_t pushes[] = { 0x53, 0x55, 0x41, 0x54, 0x41, 0x55, 0x41, 0x56, 0x41, 0x57 };
   memcpy(p + n, pushes, sizeof(pushes));
   n += sizeof(pushes);
   n += emit_abs_mov(p + n, true, 4, DIFF_STATE_ADDR + 136);       /* save host rsp */
   n += emit_fx(p + n, false, FX_HOST);
   n += emit_fx(p + n, true, FX_TEST);
   p[n++] = 0x48; p[n++] = 0xc7; p[n++] = 0xc4;                    /* mov rsp, imm32 */
   put32(p + n, (uint32_t)STACK_TOP); n += 4;
   p[n++] = 0xff; p[n++] = 0x34; p[n++] = 0x25;                    /* push [flags] */
   put32(p + n, (uint32_t)(DIFF_STATE_ADDR + 128)); n += 4;
   p[n++] = 0x9d;                                                  /* popfq */
   for (unsigned r = 0; r < 16; r++)
      if (r != 4)
         n += emit_abs_mov(p + n, false, r, DIFF_STATE_ADDR + 8 * r);
   n += emit_abs_mov(p + n, false, 4, DIFF_STATE_ADDR + 32);
   p[n++] = 0xe9;                                                  /* jmp test */
   put32(p + n, (uint32_t)(DIFF_TEST_ADDR - (DIFF_CODE_ADDR + n + 4)));
   n += 4;

   p = code_page + 0x200;
   n = 0;
   for (unsigned r = 0; r < 16; r++)
      n += emit_abs_mov(p + n, true, r, DIFF_STATE_ADDR + 8 * r);
   p[n++] = 0x48; p[n++] = 0xc7; p[n++] = 0xc4;
   put32(p + n, (uint32_t)STACK_TOP); n += 4;
   p[n++] = 0x9c;                                                  /* pushfq */
   p[n++] = 0x8f; p[n++] = 0x04; p[n++] = 0x25;                    /* pop [flags] */
   put32(p + n, (uint32_t)(DIFF_STATE_ADDR + 128)); n += 4;
   n += emit_fx(p + n, false, FX_TEST);
   n += emit_fx(p + n, true, FX_HOST);
   n += emit_abs_mov(p + n, false, 4, DIFF_STATE_ADDR + 136);
   p[n++] = 0xfc;                                                  /* cld */
   static const uint8_t pops[] = { 0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d, 0x41, 0x5c, 0x5d, 0x5b, 0xc3 };
   memcpy(p + n, pops, sizeof(pops));
}

static const int greg_of[16] = {
   REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
   REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
};

static void on_signal(int sig, siginfo_t *si, void *uc_)
{
   ucontext_t *uc = uc_;
   diff_result *r = sig_res;
   uint64_t pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
   if (pc - DIFF_CODE_ADDR >= 0x1000) {
      /* not the native test code: the harness or the interpreter itself
       * faulted. Crash loudly instead of swallowing it. */
      signal(sig, SIG_DFL);
      return;
   }
   for (unsigned i = 0; i < 16; i++)
      r->gpr[i] = (uint64_t)uc->uc_mcontext.gregs[greg_of[i]];
   r->rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
   r->flags = (uint64_t)uc->uc_mcontext.gregs[REG_EFL];
   r->vector = (int)uc->uc_mcontext.gregs[REG_TRAPNO];
   r->err = (uint32_t)uc->uc_mcontext.gregs[REG_ERR];
   r->cr2 = (uint64_t)uc->uc_mcontext.gregs[REG_CR2];
   if (sig == SIGILL)
      r->vector = 6;
   if (uc->uc_mcontext.fpregs)
      memcpy(r->fx, uc->uc_mcontext.fpregs, DIFF_FX_SIZE);   /* the state at the fault */
   siglongjmp(sig_jb, 1);
}

static bool native_init(void)
{
   void *st = mmap((void *)DIFF_STATE_ADDR, 0x1000, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
   void *da = mmap((void *)DIFF_DATA_ADDR, DIFF_DATA_SIZE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
   void *co = mmap((void *)DIFF_CODE_ADDR, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
   if (st != (void *)DIFF_STATE_ADDR || da != (void *)DIFF_DATA_ADDR || co != (void *)DIFF_CODE_ADDR)
      return false;
   code_page = co;
   build_native_frame();
   static uint8_t altstack[65536];
   stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack), .ss_flags = 0 };
   sigaltstack(&ss, NULL);
   struct sigaction sa;
   memset(&sa, 0, sizeof(sa));
   sa.sa_sigaction = on_signal;
   sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
   sigaction(SIGSEGV, &sa, NULL);
   sigaction(SIGBUS, &sa, NULL);
   sigaction(SIGFPE, &sa, NULL);
   sigaction(SIGILL, &sa, NULL);
   sigaction(SIGTRAP, &sa, NULL);
   return true;
}

static void native_run(const diff_case *c, diff_result *r)
{
   memcpy((void *)DIFF_DATA_ADDR, c->data, DIFF_DATA_SIZE);
   uint8_t *t = code_page + (DIFF_TEST_ADDR - DIFF_CODE_ADDR);
   memcpy(t, c->code, c->len);
   t[c->len] = 0xe9;
   put32(t + c->len + 1, (uint32_t)(EPILOGUE_ADDR - (DIFF_TEST_ADDR + c->len + 5)));
   for (unsigned i = 0; i < 16; i++)
      ST->gpr[i] = c->gpr[i];
   ST->flags = (c->flags & (DIFF_FLAGS)) | 0x202;
   memcpy((void *)FX_TEST, c->fx, DIFF_FX_SIZE);
   sig_res = r;
   r->vector = -1;
   if (sigsetjmp(sig_jb, 1) == 0) {
      ((void (*)(void))(uintptr_t)DIFF_CODE_ADDR)();
      for (unsigned i = 0; i < 16; i++)
         r->gpr[i] = ST->gpr[i];
      r->flags = ST->flags;
      r->rip = DIFF_TEST_ADDR + c->len;
      memcpy(r->fx, (void *)FX_TEST, DIFF_FX_SIZE);
   }
   memcpy(r->data, (void *)DIFF_DATA_ADDR, DIFF_DATA_SIZE);
}

/* ---- interpreter side --------------------------------------------------- */

static shim *S;
/* --translate: run each case as whole blocks through the translator (every
 * block translated the first time it runs) instead of one instruction at a
 * time through the interpreter. */
static bool translate;
#define G_DATA 0x100000ull
#define G_CODE 0x200000ull

static void interp_init(void)
{
   S = shim_new(4 << 20);
   uint64_t cr3 = 0x1000;
   shim_pt_reset(S, 0x2000);
   memset(S->ram + cr3, 0, 0x1000);
   for (unsigned i = 0; i < DIFF_DATA_SIZE / 0x1000; i++)
      shim_map4(S, cr3, DIFF_DATA_ADDR + i * 0x1000ull, G_DATA + i * 0x1000ull, PTE_P | PTE_W | PTE_U | PTE_NX);
   shim_map4(S, cr3, DIFF_CODE_ADDR, G_CODE, PTE_P | PTE_U);
   shim_map4(S, cr3, 0x40000000ull, 0x300000, PTE_P | PTE_W);   /* TSS (supervisor) */
   shim_wr32(S, 0x300000 + 0x64, 0x00680000);                    /* I/O map base 0x68 */
   shim_long_mode(S, cr3, 3);
   vmm_sregs sr;
   soft_get_sregs(S->cpu, &sr);
   sr.cr4 |= 0x600 | 0x40000;    /* OSFXSR OSXMMEXCPT OSXSAVE, as the host kernel has */
   /* Linux's 64-bit user selectors: DS/ES/FS/GS null (x87 FDS records them) */
   sr.seg[VMM_DS].selector = sr.seg[VMM_ES].selector = 0;
   sr.seg[VMM_FS].selector = sr.seg[VMM_GS].selector = 0;
   sr.tr = (vmm_seg){ 0x40000000ull, 0x67, 0x40, 0xb, 0, 0, 1, 0, 0, 0, 0, 0 };
   if (soft_set_sregs(S->cpu, &sr) < 0) {
      fprintf(stderr, "soft-diff: the interpreter refused the test machine's state\n");
      exit(1);
   }
   /* the host's decode-relevant features: TZCNT (BMI1), LZCNT (ABM), POPCNT */
   vmm_cpuid_entry e[32];
   unsigned n = 0;
   static const uint32_t leaves[] = { 0, 1, 7, 0xd, 0x80000000u, 0x80000001u, 0x80000008u };
   for (unsigned i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++) {
      uint32_t o[4];
      __asm__ volatile("cpuid" : "=a"(o[0]), "=b"(o[1]), "=c"(o[2]), "=d"(o[3]) : "a"(leaves[i]), "c"(0));
      e[n++] = (vmm_cpuid_entry){ leaves[i], 0, leaves[i] == 7 ? 1u : 0u, o[0], o[1], o[2], o[3] };
   }
   soft_set_cpuid(S->cpu, e, n);
   soft_options o = { .intercept_exceptions = true,
                      .translate = translate ? SOFT_TRANSLATE_ALL : SOFT_TRANSLATE_OFF };
   soft_cpu_set_options(S->cpu, &o);
}

static void interp_once(const diff_case *c, diff_result *r, bool write_code)
{
   shim_wr(S, G_DATA, c->data, DIFF_DATA_SIZE);
   if (write_code)
      shim_wr(S, G_CODE + (DIFF_TEST_ADDR & 0xfff), c->code, c->len);
   vmm_regs regs;
   memcpy(regs.gpr, c->gpr, sizeof(regs.gpr));
   regs.rip = DIFF_TEST_ADDR;
   regs.rflags = (c->flags & DIFF_FLAGS) | 0x202;
   soft_set_regs(S->cpu, &regs);
   static vmm_fpu fpu;
   memset(&fpu, 0, sizeof(fpu));
   fpu.xcr0 = 3;
   memcpy(fpu.xsave, c->fx, DIFF_FX_SIZE);
   fpu.xsave[512] = 3;                 /* XSTATE_BV: x87, SSE */
   if (soft_set_fpu(S->cpu, &fpu) < 0) {
      r->vector = 998;
      return;
   }
   uint64_t end = DIFF_TEST_ADDR + c->len;
   r->vector = -1;
   if (translate && write_code) {
      /* whole blocks through the translator: UD2 after the code ends the run */
      static const uint8_t ud2[2] = { 0x0f, 0x0b };
      shim_wr(S, G_CODE + (end & 0xfff), ud2, sizeof(ud2));
   }
   for (unsigned step = 0; step < 100000; step++) {
      soft_exit ex;
      soft_cpu_run(S->cpu, translate ? 100000 : 1, &ex);
      soft_get_regs(S->cpu, &regs);
      if (translate && ex.reason == SOFT_EXIT_EXCEPTION && ex.vector == 6 && regs.rip == end)
         break;
      if (ex.reason == SOFT_EXIT_EXCEPTION) {
         r->vector = ex.vector;
         r->err = ex.error;
         vmm_sregs sr;
         soft_get_sregs(S->cpu, &sr);
         r->cr2 = sr.cr2;
         break;
      }
      if (ex.reason != SOFT_EXIT_LIMIT) {
         r->vector = 1000 + ex.reason;
         break;
      }
      if (regs.rip == end)
         break;
      if (regs.rip < DIFF_TEST_ADDR || regs.rip > end) {
         r->vector = 999;   /* ran away */
         break;
      }
   }
   memcpy(r->gpr, regs.gpr, sizeof(r->gpr));
   r->rip = regs.rip;
   r->flags = regs.rflags;
   soft_get_fpu(S->cpu, &fpu);
   memcpy(r->fx, fpu.xsave, DIFF_FX_SIZE);
   memcpy(r->data, S->ram + G_DATA, DIFF_DATA_SIZE);
}

/* Translated, each case runs twice and the second run counts: writing
 * the code made its page new code again, which drops the TLB's write
 * entries, so the first run's stores all go the slow way; the second run
 * (same code, data and registers reset) has them, and its loads and
 * stores take the translator's inline paths. */
static void interp_run(const diff_case *c, diff_result *r)
{
   if (translate)
      interp_once(c, r, true);
   interp_once(c, r, !translate);
}

/* ---- comparison ---------------------------------------------------------- */

static const char *const rname[16] = {
   "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
   "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static bool compare(const diff_case *c, const diff_result *n, const diff_result *s, bool print)
{
   bool ok = true;
   uint32_t fm = c->flag_mask ? c->flag_mask : DIFF_FLAGS;
   char buf[2048];
   int len = 0;
#define OUT(...) do { if (len < (int)sizeof(buf) - 200) len += snprintf(buf + len, sizeof(buf) - len, __VA_ARGS__); } while (0)
   if (n->vector != s->vector) {
      OUT("  vector: host %d interp %d\n", n->vector, s->vector);
      ok = false;
   }
   if (n->vector == s->vector && (n->vector == 13 || n->vector == 14 || n->vector == 12) &&
       n->err != s->err) {
      OUT("  error code: host %#x interp %#x (cr2 %#llx)\n", n->err, s->err,
          (unsigned long long)n->cr2);
      ok = false;
   }
   if (n->vector == 14 && s->vector == 14 && n->cr2 != s->cr2 &&
       !(c->cr2_in_page && n->cr2 >> 12 == s->cr2 >> 12)) {
      OUT("  cr2: host %#llx interp %#llx\n", (unsigned long long)n->cr2, (unsigned long long)s->cr2);
      ok = false;
   }
   if (n->rip != s->rip) {
      OUT("  rip: host %#llx interp %#llx\n", (unsigned long long)n->rip, (unsigned long long)s->rip);
      ok = false;
   }
   for (unsigned i = 0; i < 16; i++) {
      if (n->gpr[i] != s->gpr[i]) {
         OUT("  %s: host %#llx interp %#llx (init %#llx)\n", rname[i], (unsigned long long)n->gpr[i],
             (unsigned long long)s->gpr[i], (unsigned long long)c->gpr[i]);
         ok = false;
      }
   }
   if ((n->flags ^ s->flags) & fm) {
      OUT("  flags: host %#llx interp %#llx (init %#llx, diff %#llx)\n",
          (unsigned long long)(n->flags & fm), (unsigned long long)(s->flags & fm),
          (unsigned long long)(c->flags & fm), (unsigned long long)((n->flags ^ s->flags) & fm));
      ok = false;
   }
   if (c->fpu) {
      /* FCW FSW FTW, MXCSR, ST0-7 (80 bits each), XMM0-15; not FOP/FIP/FDP */
      static const struct { unsigned off, len; const char *name; } fld[] = {
         { 0, 2, "fcw" }, { 2, 2, "fsw" }, { 4, 1, "ftw" }, { 24, 4, "mxcsr" },
      };
      for (unsigned i = 0; i < 4; i++) {
         uint32_t a = 0, b = 0;
         memcpy(&a, n->fx + fld[i].off, fld[i].len);
         memcpy(&b, s->fx + fld[i].off, fld[i].len);
         if (a != b) {
            OUT("  %s: host %#x interp %#x\n", fld[i].name, a, b);
            ok = false;
         }
      }
      for (unsigned i = 0; i < 8; i++) {
         if (memcmp(n->fx + 32 + 16 * i, s->fx + 32 + 16 * i, 10)) {
            uint64_t a, b;
            memcpy(&a, n->fx + 32 + 16 * i, 8);
            memcpy(&b, s->fx + 32 + 16 * i, 8);
            OUT("  st%u: host %04x:%016llx interp %04x:%016llx\n", i,
                n->fx[40 + 16 * i] | n->fx[41 + 16 * i] << 8, (unsigned long long)a,
                s->fx[40 + 16 * i] | s->fx[41 + 16 * i] << 8, (unsigned long long)b);
            ok = false;
         }
      }
      for (unsigned i = 0; i < 16; i++) {
         if (memcmp(n->fx + 160 + 16 * i, s->fx + 160 + 16 * i, 16)) {
            uint64_t a[2], b[2];
            memcpy(a, n->fx + 160 + 16 * i, 16);
            memcpy(b, s->fx + 160 + 16 * i, 16);
            OUT("  xmm%u: host %016llx%016llx interp %016llx%016llx\n", i,
                (unsigned long long)a[1], (unsigned long long)a[0],
                (unsigned long long)b[1], (unsigned long long)b[0]);
            ok = false;
         }
      }
   }
   if (memcmp(n->data, s->data, DIFF_DATA_SIZE) != 0) {
      for (unsigned i = 0; i < DIFF_DATA_SIZE; i++) {
         if (i >= c->ignore_off && i < c->ignore_off + c->ignore_len)
            continue;
         if (n->data[i] != s->data[i]) {
            OUT("  data[%#x]: host %#x interp %#x (init %#x)\n", i, n->data[i], s->data[i], c->data[i]);
            ok = false;
            break;
         }
      }
   }
   if (!ok && print) {
      fprintf(stderr, "MISMATCH %s: code", c->desc);
      for (unsigned i = 0; i < c->len; i++)
         fprintf(stderr, " %02x", c->code[i]);
      fprintf(stderr, "\n%s", buf);
   }
#undef OUT
   return ok;
}

/* ---- main ---------------------------------------------------------------- */

int main(int argc, char **argv)
{
   const char *only = NULL;
   double scale = 1.0;
   uint64_t seed = 0x5eed;
   unsigned max_print = 5;
   for (int i = 1; i < argc; i++) {
      if (!strcmp(argv[i], "--group") && i + 1 < argc)
         only = argv[++i];
      else if (!strcmp(argv[i], "--scale") && i + 1 < argc)
         scale = atof(argv[++i]);
      else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
         seed = strtoull(argv[++i], NULL, 0);
      else if (!strcmp(argv[i], "--translate"))
         translate = true;
      else if (!strcmp(argv[i], "--verbose"))
         max_print = 1000;
      else {
         fprintf(stderr, "usage: %s [--group NAME] [--scale F] [--seed N] [--translate] [--verbose]\n", argv[0]);
         return 2;
      }
   }
   if (!native_init()) {
      printf("SKIP: cannot map the fixed native test pages\n");
      return 77;
   }
   interp_init();

   static diff_case c;
   static diff_result rn, rs;
   unsigned long total = 0, failed_total = 0;
   struct timespec t0, t1;
   clock_gettime(CLOCK_MONOTONIC, &t0);
   for (unsigned g = 0; g < diff_ngroups; g++) {
      const diff_group *grp = &diff_groups[g];
      if (only && strcmp(only, grp->name))
         continue;
      unsigned count = (unsigned)(grp->count * scale);
      unsigned ran = 0, failed = 0, faults = 0;
      dseed(seed ^ ((uint64_t)(g + 1) * 0x9e3779b97f4a7c15ull));
      for (unsigned i = 0; i < count; i++) {
         memset(&c, 0, offsetof(diff_case, data));
         if (!grp->gen(&c, i))
            continue;
         native_run(&c, &rn);
         interp_run(&c, &rs);
         ran++;
         if (rn.vector >= 0)
            faults++;
         if (!compare(&c, &rn, &rs, failed < max_print))
            failed++;
      }
      printf("group %-10s %6u cases (%u faulting), %u mismatches\n", grp->name, ran, faults, failed);
      total += ran;
      failed_total += failed;
   }
   clock_gettime(CLOCK_MONOTONIC, &t1);
   double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
   printf("total: %lu cases, %lu mismatches, %.2f s\n", total, failed_total, secs);
   return failed_total ? 1 : 0;
}
