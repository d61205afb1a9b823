/*
 * vmm/kvm/tests/test-kvm-stop.c - stopping vCPUs at an instruction boundary.
 *
 * The guest counts in rax in a CPL3 loop that never exits on its own; the
 * only way out of vmm_vcpu_run() is a stop request. Covers: a request made
 * before run, vmm_vm_stop() from another thread, from a signal handler, a
 * foreign signal that must not stop the vCPU, resuming after a stop, and
 * stopping two vCPUs at once where one never ran guest code (an AP waiting
 * for INIT).
 */
#include "kvm-test-env.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static kvmtest_env env;

static void sleep_ms(unsigned ms)
{
   struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

   while (nanosleep(&ts, &ts) != 0) {
   }
}

static uint64_t get_rax(vmm_vcpu *cpu, uint64_t *rip)
{
   vmm_regs r;
   int e = vmm_vcpu_get_regs(cpu, &r);

   KVMTEST_CHECK(e == 0, "get_regs: %d", e);
   *rip = r.rip;
   return r.gpr[VMM_RAX];
}

static void check_in_loop(uint64_t rip)
{
   uint64_t lo = KVMTEST_GPA(kvmtest_user_loop);

   /* add $1,%rax (4 bytes) + jmp (2 bytes): the boundaries are lo and lo+4. */
   KVMTEST_CHECK(rip == lo || rip == lo + 4, "stopped at rip 0x%llx, loop at 0x%llx",
                 (unsigned long long)rip, (unsigned long long)lo);
}

/* ---- helpers run on other threads --------------------------------------------- */

struct stopper {
   unsigned delay_ms;
   int how;            /* 0: vmm_vm_stop, 1: from a signal handler */
   pthread_t vcpu_thread;
   unsigned foreign_ms;   /* >0: first send SIGUSR2 to the vCPU thread at this time */
};

static void stop_from_signal(int signo)
{
   (void)signo;
   vmm_vm_stop(env.vm);   /* async-signal-safe by contract */
}

static volatile sig_atomic_t foreign_seen;

static void foreign_handler(int signo)
{
   (void)signo;
   foreign_seen = 1;
}

static void *stopper_main(void *arg)
{
   struct stopper *s = arg;
   unsigned slept = 0;

   if (s->foreign_ms) {
      sleep_ms(s->foreign_ms);
      slept = s->foreign_ms;
      pthread_kill(s->vcpu_thread, SIGUSR2);
   }
   sleep_ms(s->delay_ms > slept ? s->delay_ms - slept : 0);
   if (s->how == 1) {
      pthread_kill(pthread_self(), SIGUSR1);
   } else {
      vmm_vm_stop(env.vm);
   }
   return NULL;
}

static double run_with_stopper(vmm_vcpu *cpu, struct stopper *s, vmm_exit *ex)
{
   pthread_t t;
   double t0;
   int e;

   s->vcpu_thread = pthread_self();
   t0 = kvmtest_now();
   KVMTEST_CHECK(pthread_create(&t, NULL, stopper_main, s) == 0, "pthread_create");
   e = vmm_vcpu_run(cpu, ex);
   KVMTEST_CHECK(e == 0, "run: %d (%s)", e, ex->msg);
   pthread_join(t, NULL);
   return kvmtest_now() - t0;
}

/* ---- two vCPUs ----------------------------------------------------------------- */

struct runner {
   vmm_vcpu *cpu;
   vmm_exit ex;
   int rc;
   atomic_int started;
};

static void *runner_main(void *arg)
{
   struct runner *r = arg;

   atomic_store(&r->started, 1);
   r->rc = vmm_vcpu_run(r->cpu, &r->ex);
   return NULL;
}

int main(void)
{
   struct sigaction sa;
   struct stopper s;
   vmm_exit ex;
   uint64_t rax1, rax2, rip;
   double dt;
   int e;

   kvmtest_require_kvm();
   setvbuf(stdout, NULL, _IONBF, 0);

   memset(&sa, 0, sizeof sa);
   sigemptyset(&sa.sa_mask);
   sa.sa_handler = stop_from_signal;
   sigaction(SIGUSR1, &sa, NULL);
   sa.sa_handler = foreign_handler;
   sigaction(SIGUSR2, &sa, NULL);

   kvmtest_env_init(&env, 2, NULL, NULL);
   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_user_loop), true, 0);

   /* 1. A request made before run returns STOP without running guest code. */
   vmm_vm_stop(env.vm);
   e = vmm_vcpu_run(env.cpu, &ex);
   KVMTEST_CHECK(e == 0 && ex.reason == VMM_EXIT_STOP, "early stop: rc %d reason %d %s",
                 e, ex.reason, ex.msg);
   rax1 = get_rax(env.cpu, &rip);
   KVMTEST_CHECK(rax1 == 0 && rip == KVMTEST_GPA(kvmtest_user_loop),
                 "guest ran before the pending stop (rax %llu)", (unsigned long long)rax1);
   printf("ok 1 - stop requested before run\n");

   /* 2. Stop from another thread while the guest loops in user mode. */
   s = (struct stopper){ .delay_ms = 50, .how = 0 };
   dt = run_with_stopper(env.cpu, &s, &ex);
   KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "reason %d (%s)", ex.reason, ex.msg);
   KVMTEST_CHECK(dt >= 0.045 && dt < 2.0, "run took %.3f s", dt);
   rax1 = get_rax(env.cpu, &rip);
   KVMTEST_CHECK(rax1 > 1000, "the guest loop did not run (rax %llu)", (unsigned long long)rax1);
   check_in_loop(rip);
   printf("ok 2 - stop from another thread after %.1f ms, %llu iterations\n", dt * 1e3,
          (unsigned long long)rax1);

   /* 3. Resume: the loop continues from where it stopped. */
   s = (struct stopper){ .delay_ms = 20, .how = 0 };
   run_with_stopper(env.cpu, &s, &ex);
   KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "reason %d (%s)", ex.reason, ex.msg);
   rax2 = get_rax(env.cpu, &rip);
   KVMTEST_CHECK(rax2 > rax1, "no progress after resume (%llu -> %llu)",
                 (unsigned long long)rax1, (unsigned long long)rax2);
   check_in_loop(rip);
   printf("ok 3 - resumed and stopped again\n");

   /* 4. Stop from a signal handler on another thread. */
   s = (struct stopper){ .delay_ms = 20, .how = 1 };
   dt = run_with_stopper(env.cpu, &s, &ex);
   KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "reason %d (%s)", ex.reason, ex.msg);
   KVMTEST_CHECK(dt < 2.0, "run took %.3f s", dt);
   printf("ok 4 - stop from signal context\n");

   /* 5. A foreign signal on the vCPU thread interrupts KVM_RUN but is not a stop. */
   foreign_seen = 0;
   s = (struct stopper){ .delay_ms = 150, .how = 0, .foreign_ms = 20 };
   dt = run_with_stopper(env.cpu, &s, &ex);
   KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "reason %d (%s)", ex.reason, ex.msg);
   KVMTEST_CHECK(foreign_seen, "the foreign signal was not delivered");
   KVMTEST_CHECK(dt >= 0.14, "run returned after %.3f s, before the stop request", dt);
   printf("ok 5 - a foreign signal does not stop the vCPU\n");

   /* 6. Two vCPUs: the BSP loops, the AP waits for INIT inside KVM_RUN. */
   {
      struct runner ap = { .cpu = env.cpus[1] };
      pthread_t t;
      vmm_mp_state st;

      e = vmm_vcpu_get_mp_state(env.cpus[1], &st);
      KVMTEST_CHECK(e == 0 && st == VMM_MP_WAIT_INIT, "AP mp_state %d (rc %d)", st, e);
      KVMTEST_CHECK(pthread_create(&t, NULL, runner_main, &ap) == 0, "pthread_create");
      while (!atomic_load(&ap.started)) {
         sleep_ms(1);
      }
      s = (struct stopper){ .delay_ms = 50, .how = 0 };
      run_with_stopper(env.cpu, &s, &ex);
      pthread_join(t, NULL);
      KVMTEST_CHECK(ex.reason == VMM_EXIT_STOP, "BSP reason %d (%s)", ex.reason, ex.msg);
      KVMTEST_CHECK(ap.rc == 0 && ap.ex.reason == VMM_EXIT_STOP, "AP rc %d reason %d (%s)",
                    ap.rc, ap.ex.reason, ap.ex.msg);
      printf("ok 6 - vmm_vm_stop stops every vCPU, running or waiting\n");
   }

   kvmtest_env_fini(&env);
   printf("PASS\n");
   return 0;
}
