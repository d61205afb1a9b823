/*
 * vmx/dev/chipset/ps2kbd.c - PS/2 keyboard. See ps2kbd.h.
 */
#include "vmx/dev/chipset/ps2kbd.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/i8042.h"
#include "vmx/dev/chipset/ps2-queue.h"
#include "vmx/dev/chipset/scancodes.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#define ACK 0xfa
#define RESEND 0xfe
#define BAT_OK 0xaa
#define TYPEMATIC_DEFAULT 0x2b

#define MODE_TYPEMATIC 1
#define MODE_BREAK 2
#define MODE_ALL (MODE_TYPEMATIC | MODE_BREAK)

struct ps2kbd {
   vmx_platform *p;
   i8042 *ctrl;
   pthread_mutex_t lock;
   ps2_queues out;        /* command answers, then key data */
   bool overrun;          /* an overrun code is queued */
   uint8_t set;           /* 1, 2, 3 */
   bool scanning;
   uint8_t leds;
   uint8_t typematic;
   uint8_t pending;       /* command waiting for its parameter */
   uint8_t last;          /* last byte sent, for 0xfe */
   uint8_t mode3[256];    /* per set 3 code: MODE_* */
   uint8_t down[32];      /* key codes 0-255 held down */
   bool attached;
};

ps2kbd *
ps2kbd_get(vmx_platform *p)
{
   return vmx_platform_device(p, "ps2kbd");
}

/* ---- queues (lock held) */

static void
push(ps2kbd *k, uint8_t b)
{
   ps2q_push(&k->out, b);
}

static void
respond(ps2kbd *k, uint8_t b)
{
   ps2q_respond(&k->out, b);
}

static void
clear_queue(ps2kbd *k)
{
   ps2q_clear_data(&k->out);
   k->overrun = false;
}

/* Key sequences go in whole or not at all; the last slot is kept for the
 * overrun code. */
static bool
push_seq(ps2kbd *k, const uint8_t *s, unsigned n)
{
   if (k->overrun || PS2Q_DATA - 1 - k->out.qn < n) {
      if (!k->overrun && k->out.qn < PS2Q_DATA) {
         push(k, k->set == 1 ? 0xff : 0x00);
         k->overrun = true;
      }
      return false;
   }
   for (unsigned i = 0; i < n; i++) {
      push(k, s[i]);
   }
   return true;
}

static void
defaults(ps2kbd *k)
{
   k->typematic = TYPEMATIC_DEFAULT;
   memset(k->mode3, MODE_ALL, sizeof k->mode3);
}

static void
power_on(ps2kbd *k)
{
   clear_queue(k);
   ps2q_clear(&k->out);
   defaults(k);
   k->set = 2;
   k->scanning = true;
   k->leds = 0;
   k->pending = 0;
   k->last = 0;
   memset(k->down, 0, sizeof k->down);
}

/* ---- bytes from the guest */

static void
command(ps2kbd *k, uint8_t b)
{
   k->pending = 0;
   if (b == 0xfe) {
      respond(k, k->last);
      return;
   }
   clear_queue(k);
   switch (b) {
   case 0xed:
   case 0xf0:
   case 0xf3:
   case 0xfb:
   case 0xfc:
   case 0xfd:
      respond(k, ACK);
      k->pending = b;
      break;
   case 0xee:
      respond(k, 0xee);
      break;
   case 0xf2:
      respond(k, ACK);
      respond(k, 0xab);
      respond(k, 0x83);
      break;
   case 0xf4:
      respond(k, ACK);
      k->scanning = true;
      break;
   case 0xf5:
      defaults(k);
      k->scanning = false;
      respond(k, ACK);
      break;
   case 0xf6:
      defaults(k);
      respond(k, ACK);
      break;
   case 0xf7:
   case 0xf8:
   case 0xf9:
   case 0xfa: {
      static const uint8_t m[4] = { MODE_TYPEMATIC, MODE_BREAK, 0, MODE_ALL };
      memset(k->mode3, m[b - 0xf7], sizeof k->mode3);
      respond(k, ACK);
      break;
   }
   case 0xff:
      power_on(k);
      respond(k, ACK);
      respond(k, BAT_OK);
      break;
   default:
      respond(k, RESEND);
      break;
   }
}

static void
parameter(ps2kbd *k, uint8_t b)
{
   switch (k->pending) {
   case 0xed:
      if (b & ~7u) {
         respond(k, RESEND);
         return;
      }
      k->leds = b;
      break;
   case 0xf0:
      if (b > 3) {
         respond(k, RESEND);
         return;
      }
      respond(k, ACK);
      if (b == 0) {
         respond(k, k->set);
      } else {
         k->set = b;
      }
      k->pending = 0;
      return;
   case 0xf3:
      if (b & 0x80) {
         respond(k, RESEND);
         return;
      }
      k->typematic = b;
      break;
   case 0xfb:
   case 0xfc:
   case 0xfd: {
      static const uint8_t m[3] = { MODE_TYPEMATIC, MODE_BREAK, 0 };
      k->mode3[b] = m[k->pending - 0xfb];
      respond(k, ACK);
      return;   /* the list goes on until a command */
   }
   }
   k->pending = 0;
   respond(k, ACK);
}

static void
kbd_write(void *dev, uint8_t b)
{
   ps2kbd *k = dev;
   pthread_mutex_lock(&k->lock);
   if (k->pending && b < 0xed) {
      parameter(k, b);
   } else {
      command(k, b);
   }
   pthread_mutex_unlock(&k->lock);
}

static int
kbd_pull(void *dev)
{
   ps2kbd *k = dev;
   pthread_mutex_lock(&k->lock);
   int b = ps2q_pop_response(&k->out);
   if (b < 0) {
      b = ps2q_pop_data(&k->out);
      if (b >= 0 && k->out.qn == 0) {
         k->overrun = false;
      }
   }
   if (b >= 0) {
      k->last = (uint8_t)b;
   }
   pthread_mutex_unlock(&k->lock);
   return b;
}

static const i8042_port_ops kbd_ops = { kbd_pull, kbd_write };

/* ---- host keys */

bool
ps2kbd_key(ps2kbd *k, unsigned keycode, bool down)
{
   if (keycode >= 256) {
      return false;
   }
   uint8_t seq[PS2_SEQ_MAX];
   unsigned n = 0;
   bool known = true, queued = false;
   pthread_mutex_lock(&k->lock);
   if (!k->scanning) {
      pthread_mutex_unlock(&k->lock);
      return false;
   }
   uint8_t bit = (uint8_t)(1u << (keycode & 7));
   bool was = k->down[keycode >> 3] & bit;
   if (k->set == 3) {
      uint8_t c = ps2_scancode_set3(keycode);
      known = c != 0;
      if (known && down && (!was || (k->mode3[c] & MODE_TYPEMATIC))) {
         seq[n++] = c;
      } else if (known && !down && (k->mode3[c] & MODE_BREAK)) {
         seq[n++] = 0xf0;
         seq[n++] = c;
      }
   } else if (!(down && was && ps2_scancode_no_repeat(keycode))) {
      n = ps2_scancode_seq(k->set, keycode, down, seq);
      known = n > 0 || (keycode < 256 && !down && ps2_scancode_no_repeat(keycode));
   }
   if (known) {
      if (down) {
         k->down[keycode >> 3] |= bit;
      } else {
         k->down[keycode >> 3] &= (uint8_t)~bit;
      }
   }
   if (n) {
      queued = push_seq(k, seq, n);
   }
   pthread_mutex_unlock(&k->lock);
   if (n) {
      i8042_data_ready(k->ctrl);
   }
   return known && (n == 0 || queued);
}

uint8_t
ps2kbd_leds(ps2kbd *k)
{
   pthread_mutex_lock(&k->lock);
   uint8_t l = k->leds;
   pthread_mutex_unlock(&k->lock);
   return l;
}

/* ---- device */

static void *
kbd_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   i8042 *c = i8042_get(p);
   if (!c) {
      *err = g_strdup("the i8042 device must come before ps2kbd in the device table");
      return NULL;
   }
   ps2kbd *k = g_new0(ps2kbd, 1);
   k->p = p;
   k->ctrl = c;
   pthread_mutex_init(&k->lock, NULL);
   power_on(k);
   if (!i8042_attach(c, I8042_KBD, &kbd_ops, k, err)) {
      pthread_mutex_destroy(&k->lock);
      g_free(k);
      return NULL;
   }
   k->attached = true;
   return k;
}

static void
kbd_destroy(void *dev)
{
   ps2kbd *k = dev;
   if (k->attached) {
      i8042_detach(k->ctrl, I8042_KBD);
   }
   pthread_mutex_destroy(&k->lock);
   g_free(k);
}

static void
kbd_reset(void *dev)
{
   ps2kbd *k = dev;
   pthread_mutex_lock(&k->lock);
   power_on(k);
   pthread_mutex_unlock(&k->lock);
}

static void
kbd_save(void *dev, ckpt_writer *w)
{
   ps2kbd *k = dev;
   pthread_mutex_lock(&k->lock);
   ps2q_save(&k->out, w);
   ckpt_put_u8(w, "overrun", k->overrun);
   ckpt_put_u8(w, "set", k->set);
   ckpt_put_u8(w, "scanning", k->scanning);
   ckpt_put_u8(w, "leds", k->leds);
   ckpt_put_u8(w, "typematic", k->typematic);
   ckpt_put_u8(w, "pending", k->pending);
   ckpt_put_u8(w, "last", k->last);
   ckpt_put_bytes(w, "mode3", k->mode3, sizeof k->mode3);
   ckpt_put_bytes(w, "down", k->down, sizeof k->down);
   pthread_mutex_unlock(&k->lock);
}

static bool
kbd_restore(void *dev, ckpt_reader *r, char **err)
{
   ps2kbd *k = dev;
   ps2kbd s;
   pthread_mutex_lock(&k->lock);
   s = *k;
   ps2q_linear(&k->out, &s.out);
   pthread_mutex_unlock(&k->lock);
   uint8_t overrun = s.overrun, scanning = s.scanning;
   const char *bad = ps2q_load(&s.out, r, "'queue' is longer than the keyboard's 64-byte buffer");
   ckpt_get_u8(r, "overrun", &overrun);
   ckpt_get_u8(r, "set", &s.set);
   ckpt_get_u8(r, "scanning", &scanning);
   ckpt_get_u8(r, "leds", &s.leds);
   ckpt_get_u8(r, "typematic", &s.typematic);
   ckpt_get_u8(r, "pending", &s.pending);
   ckpt_get_u8(r, "last", &s.last);
   ckpt_get_bytes(r, "mode3", s.mode3, sizeof s.mode3);
   ckpt_get_bytes(r, "down", s.down, sizeof s.down);
   if (ckpt_reader_error(r)) {
      return false;
   }
   if (bad) {
      /* the queues are wrong */
   } else if (s.set < 1 || s.set > 3) {
      bad = "'set' is not scancode set 1, 2 or 3";
   } else if (overrun > 1 || scanning > 1) {
      bad = "'overrun' or 'scanning' is not 0 or 1";
   } else if (s.leds & ~7u) {
      bad = "'leds' has bits other than 0-2";
   } else if (s.typematic & 0x80) {
      bad = "'typematic' has bit 7 set";
   } else if (s.pending && s.pending != 0xed && s.pending != 0xf0 && s.pending != 0xf3 &&
              (s.pending < 0xfb || s.pending > 0xfd)) {
      bad = "'pending' is not a command that takes a parameter";
   }
   for (unsigned i = 0; !bad && i < 256; i++) {
      if (s.mode3[i] > MODE_ALL) {
         bad = "'mode3' has a key mode other than 0-3";
      }
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section ps2kbd: item %s", bad);
      return false;
   }
   pthread_mutex_lock(&k->lock);
   k->out = s.out;
   k->overrun = overrun;
   k->set = s.set;
   k->scanning = scanning;
   k->leds = s.leds;
   k->typematic = s.typematic;
   k->pending = s.pending;
   k->last = s.last;
   memcpy(k->mode3, s.mode3, sizeof k->mode3);
   memcpy(k->down, s.down, sizeof k->down);
   pthread_mutex_unlock(&k->lock);
   i8042_data_ready(k->ctrl);
   return true;
}

const vmx_device_desc vmx_dev_ps2kbd = {
   .name = "ps2kbd",
   .version = 1,
   .create = kbd_create,
   .reset = kbd_reset,
   .destroy = kbd_destroy,
   .save = kbd_save,
   .restore = kbd_restore,
};
