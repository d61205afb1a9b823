/*
 * vmx/dev/intc/clock.c - host and fake clocks with one-shot timers.
 *
 * Timers are few (the PIT and one per LAPIC), so a clock keeps them in a
 * list and looks for the earliest by a scan.
 */
#include "vmx/dev/intc/clock.h"

#include <glib.h>
#include <pthread.h>
#include <time.h>

struct intc_clock {
   bool fake;
   int refs;                  /* atomic */
   uint64_t fake_now;         /* atomic; fake clocks */
   pthread_mutex_t lock;
   pthread_cond_t wake;       /* timer thread: something changed */
   pthread_cond_t idle;       /* running callback returned */
   intc_timer *timers;        /* registered */
   intc_timer *running;       /* whose callback runs now, or NULL */
   uint64_t sleep_until;      /* what the thread waits for; UINT64_MAX none */
   bool stop;
   bool have_thread;
   pthread_t thread;
};

static pthread_mutex_t host_lock = PTHREAD_MUTEX_INITIALIZER;
static intc_clock *host_clock;

static uint64_t
mono_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t
intc_clock_now(intc_clock *c)
{
   return c->fake ? __atomic_load_n(&c->fake_now, __ATOMIC_ACQUIRE) : mono_ns();
}

/* Earliest armed timer; lock held. */
static intc_timer *
earliest(intc_clock *c)
{
   intc_timer *best = NULL;
   for (intc_timer *t = c->timers; t; t = t->next) {
      if (t->armed && (!best || t->deadline < best->deadline)) {
         best = t;
      }
   }
   return best;
}

/* Run t's callback with the lock dropped; lock held on entry and exit. */
static void
fire(intc_clock *c, intc_timer *t)
{
   uint64_t d = t->deadline;
   intc_timer_fn fn = t->fn;
   void *opaque = t->opaque;
   t->armed = false;
   c->running = t;
   pthread_mutex_unlock(&c->lock);
   fn(opaque, d);
   pthread_mutex_lock(&c->lock);
   c->running = NULL;
   pthread_cond_broadcast(&c->idle);
}

static void *
timer_thread(void *arg)
{
   intc_clock *c = arg;
   pthread_mutex_lock(&c->lock);
   while (!c->stop) {
      intc_timer *t = earliest(c);
      uint64_t now = mono_ns();
      if (t && t->deadline <= now) {
         fire(c, t);
         continue;
      }
      if (!t) {
         c->sleep_until = UINT64_MAX;
         pthread_cond_wait(&c->wake, &c->lock);
      } else {
         c->sleep_until = t->deadline;
         struct timespec ts = {
            .tv_sec = (time_t)(t->deadline / 1000000000ull),
            .tv_nsec = (long)(t->deadline % 1000000000ull),
         };
         pthread_cond_timedwait(&c->wake, &c->lock, &ts);
      }
   }
   pthread_mutex_unlock(&c->lock);
   return NULL;
}

static intc_clock *
clock_new(bool fake)
{
   intc_clock *c = g_new0(intc_clock, 1);
   c->fake = fake;
   c->refs = 1;
   c->sleep_until = UINT64_MAX;
   pthread_mutex_init(&c->lock, NULL);
   pthread_condattr_t ca;
   pthread_condattr_init(&ca);
   pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
   pthread_cond_init(&c->wake, &ca);
   pthread_condattr_destroy(&ca);
   pthread_cond_init(&c->idle, NULL);
   return c;
}

intc_clock *
intc_clock_host(void)
{
   pthread_mutex_lock(&host_lock);
   if (host_clock) {
      intc_clock_ref(host_clock);
   } else {
      intc_clock *c = clock_new(false);
      if (pthread_create(&c->thread, NULL, timer_thread, c) == 0) {
         c->have_thread = true;
         host_clock = c;
      } else {
         intc_clock_unref(c);   /* fake == false, but no thread and not shared */
      }
   }
   intc_clock *c = host_clock;
   pthread_mutex_unlock(&host_lock);
   return c;
}

intc_clock *
intc_clock_new_fake(uint64_t start_ns)
{
   intc_clock *c = clock_new(true);
   c->fake_now = start_ns;
   return c;
}

intc_clock *
intc_clock_ref(intc_clock *c)
{
   __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
   return c;
}

void
intc_clock_unref(intc_clock *c)
{
   if (!c) {
      return;
   }
   bool host = c->have_thread;
   if (host) {
      pthread_mutex_lock(&host_lock);
   }
   if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0) {
      if (host) {
         pthread_mutex_unlock(&host_lock);
      }
      return;
   }
   if (host) {
      host_clock = NULL;
      pthread_mutex_unlock(&host_lock);
   }
   if (c->have_thread) {
      pthread_mutex_lock(&c->lock);
      c->stop = true;
      pthread_cond_signal(&c->wake);
      pthread_mutex_unlock(&c->lock);
      pthread_join(c->thread, NULL);
   }
   pthread_mutex_destroy(&c->lock);
   pthread_cond_destroy(&c->wake);
   pthread_cond_destroy(&c->idle);
   g_free(c);
}

void
intc_clock_set(intc_clock *c, uint64_t target)
{
   g_assert(c->fake);
   pthread_mutex_lock(&c->lock);
   for (;;) {
      intc_timer *t = earliest(c);
      if (!t || t->deadline > target) {
         break;
      }
      if (t->deadline > c->fake_now) {
         __atomic_store_n(&c->fake_now, t->deadline, __ATOMIC_RELEASE);
      }
      fire(c, t);
   }
   if (target > c->fake_now) {
      __atomic_store_n(&c->fake_now, target, __ATOMIC_RELEASE);
   }
   pthread_mutex_unlock(&c->lock);
}

void
intc_clock_advance_late(intc_clock *c, uint64_t ns)
{
   g_assert(c->fake);
   pthread_mutex_lock(&c->lock);
   uint64_t target = __atomic_load_n(&c->fake_now, __ATOMIC_ACQUIRE) + ns;
   __atomic_store_n(&c->fake_now, target, __ATOMIC_RELEASE);
   pthread_mutex_unlock(&c->lock);
   intc_clock_set(c, target);
}

void
intc_clock_advance(intc_clock *c, uint64_t ns)
{
   intc_clock_set(c, __atomic_load_n(&c->fake_now, __ATOMIC_ACQUIRE) + ns);
}

void
intc_timer_init(intc_timer *t, intc_clock *c, intc_timer_fn fn, void *opaque)
{
   t->clock = c;
   t->fn = fn;
   t->opaque = opaque;
   t->armed = false;
   t->deadline = 0;
   pthread_mutex_lock(&c->lock);
   t->next = c->timers;
   c->timers = t;
   pthread_mutex_unlock(&c->lock);
}

void
intc_timer_destroy(intc_timer *t)
{
   intc_clock *c = t->clock;
   if (!c) {
      return;
   }
   pthread_mutex_lock(&c->lock);
   for (intc_timer **pp = &c->timers; *pp; pp = &(*pp)->next) {
      if (*pp == t) {
         *pp = t->next;
         break;
      }
   }
   t->armed = false;
   while (c->running == t) {
      pthread_cond_wait(&c->idle, &c->lock);
   }
   pthread_mutex_unlock(&c->lock);
   t->clock = NULL;
}

void
intc_timer_arm(intc_timer *t, uint64_t deadline)
{
   intc_clock *c = t->clock;
   pthread_mutex_lock(&c->lock);
   t->deadline = deadline;
   t->armed = true;
   if (!c->fake && deadline < c->sleep_until) {
      pthread_cond_signal(&c->wake);
   }
   pthread_mutex_unlock(&c->lock);
}

void
intc_timer_cancel(intc_timer *t)
{
   intc_clock *c = t->clock;
   pthread_mutex_lock(&c->lock);
   t->armed = false;
   pthread_mutex_unlock(&c->lock);
}
