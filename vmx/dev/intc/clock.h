/*
 * vmx/dev/intc/clock.h - the time base of the userspace interrupt
 * controllers and timers (PIT, LAPIC timers).
 *
 * A clock gives the time in nanoseconds and runs one-shot timers. Two kinds:
 *
 *  - host: CLOCK_MONOTONIC, with one timer thread per clock. The thread
 *    sleeps on a condition variable until the earliest armed deadline (or
 *    indefinitely when nothing is armed), so an idle VM costs no CPU. It is
 *    shared: intc_clock_host() returns a reference to the process's clock
 *    (one VM per vmx process), released with intc_clock_unref().
 *  - fake (tests): time moves only when the test calls intc_clock_advance(),
 *    which fires due timers in deadline order on the caller's thread, with
 *    the clock reading exactly each timer's deadline while it fires.
 *
 * Timer callbacks run without any clock lock held; they may re-arm their
 * own timer or arm others. A callback can still run once after
 * intc_timer_cancel() returns (it raced with the expiry): devices compare
 * the deadline they are given with the one they armed, under their own lock.
 */
#ifndef VMX_DEV_INTC_CLOCK_H
#define VMX_DEV_INTC_CLOCK_H

#include <stdbool.h>
#include <stdint.h>

typedef struct intc_clock intc_clock;

/* Called when the timer expires; deadline is the one it was armed with. */
typedef void (*intc_timer_fn)(void *opaque, uint64_t deadline);

/* Embedded in the device; fields are the clock's, under its lock. */
typedef struct intc_timer {
   intc_clock *clock;
   intc_timer_fn fn;
   void *opaque;
   uint64_t deadline;
   bool armed;
   struct intc_timer *next;
} intc_timer;

/* The process's host clock (created on first use); one reference. NULL
 * when its timer thread cannot be started. */
intc_clock *intc_clock_host(void);
/* A fake clock reading start_ns until advanced. */
intc_clock *intc_clock_new_fake(uint64_t start_ns);
intc_clock *intc_clock_ref(intc_clock *c);
void intc_clock_unref(intc_clock *c);

/* Now, in ns. Any thread. */
uint64_t intc_clock_now(intc_clock *c);

/* Fake clocks only: move time forward by ns (to an absolute time), firing
 * every timer due on the way, in order. */
void intc_clock_advance(intc_clock *c, uint64_t ns);
void intc_clock_set(intc_clock *c, uint64_t now_ns);
/* As intc_clock_advance, but the timers that expire meanwhile fire only at
 * the end, all seeing the new time: what a loaded host's late timer
 * thread does. */
void intc_clock_advance_late(intc_clock *c, uint64_t ns);

/* Register a timer with a clock (not armed). */
void intc_timer_init(intc_timer *t, intc_clock *c, intc_timer_fn fn, void *opaque);
/* Unregister; waits until a callback of this timer running on the timer
 * thread has returned. Never call it from that callback or while holding a
 * lock the callback takes. */
void intc_timer_destroy(intc_timer *t);
/* Fire at deadline (absolute ns); a deadline in the past fires at once
 * (from the timer thread, or the next intc_clock_advance for a fake clock).
 * Re-arming replaces the previous deadline. */
void intc_timer_arm(intc_timer *t, uint64_t deadline);
void intc_timer_cancel(intc_timer *t);

#endif
