/*
 * vmx/dev/chipset/ps2-queue.h - the two output queues of a PS/2 device
 * (keyboard, mouse): answers to commands, sent first, and data (key codes,
 * stream packets), with their checkpoint items "responses" and "queue".
 * The owning device holds its lock around every call.
 */
#ifndef VMX_DEV_CHIPSET_PS2_QUEUE_H
#define VMX_DEV_CHIPSET_PS2_QUEUE_H

#include "vmx/ckpt-items.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define PS2Q_DATA 64u   /* the device's data buffer */
#define PS2Q_RESP 16u   /* command answers not yet read */

typedef struct ps2_queues {
   uint8_t rq[PS2Q_RESP];
   unsigned rqh, rqn;
   uint8_t q[PS2Q_DATA];
   unsigned qh, qn;
} ps2_queues;

/* Data byte; dropped when the buffer is full. */
static inline void
ps2q_push(ps2_queues *o, uint8_t b)
{
   if (o->qn < PS2Q_DATA) {
      o->q[(o->qh + o->qn++) % PS2Q_DATA] = b;
   }
}

/* Answer byte; dropped when PS2Q_RESP are already waiting. */
static inline void
ps2q_respond(ps2_queues *o, uint8_t b)
{
   if (o->rqn < PS2Q_RESP) {
      o->rq[(o->rqh + o->rqn++) % PS2Q_RESP] = b;
   }
}

static inline void
ps2q_clear_data(ps2_queues *o)
{
   o->qh = o->qn = 0;
}

static inline void
ps2q_clear(ps2_queues *o)
{
   o->qh = o->qn = 0;
   o->rqh = o->rqn = 0;
}

static inline int
ps2q_pop_response(ps2_queues *o)
{
   if (!o->rqn) {
      return -1;
   }
   uint8_t b = o->rq[o->rqh];
   o->rqh = (o->rqh + 1) % PS2Q_RESP;
   o->rqn--;
   return b;
}

static inline int
ps2q_pop_data(ps2_queues *o)
{
   if (!o->qn) {
      return -1;
   }
   uint8_t b = o->q[o->qh];
   o->qh = (o->qh + 1) % PS2Q_DATA;
   o->qn--;
   return b;
}

/* The same queues with their bytes from index 0 (what is saved). */
static inline void
ps2q_linear(const ps2_queues *o, ps2_queues *out)
{
   ps2_queues l = { .rqn = o->rqn, .qn = o->qn };
   for (unsigned i = 0; i < o->qn; i++) {
      l.q[i] = o->q[(o->qh + i) % PS2Q_DATA];
   }
   for (unsigned i = 0; i < o->rqn; i++) {
      l.rq[i] = o->rq[(o->rqh + i) % PS2Q_RESP];
   }
   *out = l;
}

static inline void
ps2q_save(const ps2_queues *o, ckpt_writer *w)
{
   ps2_queues l;
   ps2q_linear(o, &l);
   ckpt_put_bytes(w, "queue", l.q, l.qn);
   ckpt_put_bytes(w, "responses", l.rq, l.rqn);
}

/* Read "queue" and "responses" into *o (linear; absent items keep what
 * *o has). NULL, or why they are bad: too_long when "queue" is longer
 * than the buffer (its message names the device). */
static inline const char *
ps2q_load(ps2_queues *o, ckpt_reader *r, const char *too_long)
{
   size_t n, rn;
   const uint8_t *b = ckpt_get_blob(r, "queue", &n);
   const uint8_t *rb = ckpt_get_blob(r, "responses", &rn);
   if (b && n > PS2Q_DATA) {
      return too_long;
   }
   if (rb && rn > PS2Q_RESP) {
      return "'responses' holds more than 16 bytes";
   }
   if (b) {
      memcpy(o->q, b, n);
      o->qh = 0;
      o->qn = (unsigned)n;
   }
   if (rb) {
      memcpy(o->rq, rb, rn);
      o->rqh = 0;
      o->rqn = (unsigned)rn;
   }
   return NULL;
}

#endif
