/*
 * mks/console/tests/input-recorder.h - records the input events a console
 * backend (VNC, the local console) hands to its callbacks, which run on
 * the backend's own thread, for the tests to take and check.
 */
#ifndef MKS_CONSOLE_TESTS_INPUT_RECORDER_H
#define MKS_CONSOLE_TESTS_INPUT_RECORDER_H

#include <glib.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

typedef struct ev {
   bool is_key;
   uint32_t keysym, keycode;
   bool down;
   int x, y;
   unsigned buttons;
   int dz, dw;
} ev;

static pthread_mutex_t in_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t in_cond = PTHREAD_COND_INITIALIZER;
static ev evs[256];
static unsigned nevs;

static inline void
rec_push(ev e)
{
   pthread_mutex_lock(&in_lock);
   if (nevs < G_N_ELEMENTS(evs)) {
      evs[nevs++] = e;
   }
   pthread_cond_broadcast(&in_cond);
   pthread_mutex_unlock(&in_lock);
}

static inline void
rec_pointer(void *opaque, int x, int y, unsigned buttons, int dz, int dw)
{
   rec_push((ev){ .x = x, .y = y, .buttons = buttons, .dz = dz, .dw = dw });
}

/* Wait until n events arrived (10 s at most); take them. */
static inline void
take_events(unsigned n, ev *out)
{
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   ts.tv_sec += 10;
   pthread_mutex_lock(&in_lock);
   while (nevs < n) {
      if (pthread_cond_timedwait(&in_cond, &in_lock, &ts) != 0) {
         g_error("waited 10 s for %u input events, got %u", n, nevs);
      }
   }
   g_assert_cmpuint(nevs, ==, n);
   memcpy(out, evs, n * sizeof *out);
   nevs = 0;
   pthread_mutex_unlock(&in_lock);
}

static inline unsigned
count_events(void)
{
   pthread_mutex_lock(&in_lock);
   unsigned n = nevs;
   pthread_mutex_unlock(&in_lock);
   return n;
}

static inline void
clear_events(void)
{
   pthread_mutex_lock(&in_lock);
   nevs = 0;
   pthread_mutex_unlock(&in_lock);
}

#endif
