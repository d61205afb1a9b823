/*
 * vmx/dev/chipset/ps2mouse.c - PS/2 mouse with IntelliMouse extensions.
 * See ps2mouse.h.
 */
#include "vmx/dev/chipset/ps2mouse.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/i8042.h"
#include "vmx/dev/chipset/ps2-queue.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#define ACK 0xfa
#define RESEND 0xfe
#define ACC_MAX (1 << 20)   /* counts kept beyond this are dropped */

#define F_SCALE21 1
#define F_REMOTE 2
#define F_ENABLED 4
#define F_WRAP 8

struct ps2mouse {
   vmx_platform *p;
   i8042 *ctrl;
   pthread_mutex_t lock;
   ps2_queues out;         /* command answers, then stream packets */
   uint8_t rate, res, flags, id;
   uint8_t hist[3];        /* the last sample rates set, for the knocks */
   uint8_t pending;        /* 0xf3 or 0xe8 waiting for its parameter */
   uint8_t last;           /* last byte sent, for 0xfe */
   int32_t ax, ay, az;     /* counts not yet reported: y up, z toward user */
   uint8_t buttons;        /* PS2MOUSE_BUTTON_* now */
   uint8_t sent_buttons;   /* as in the last packet */
   bool attached;
};

ps2mouse *
ps2mouse_get(vmx_platform *p)
{
   return vmx_platform_device(p, "ps2mouse");
}

/* ---- packets (lock held) */

static void
push(ps2mouse *m, uint8_t b)
{
   ps2q_push(&m->out, b);
}

static void
respond(ps2mouse *m, uint8_t b)
{
   ps2q_respond(&m->out, b);
}

static unsigned
packet_size(const ps2mouse *m)
{
   return m->id ? 4 : 3;
}

static int
clamp(int v, int lo, int hi)
{
   return v < lo ? lo : v > hi ? hi : v;
}

static int
scale21(int v)
{
   static const int t[6] = { 0, 1, 1, 3, 6, 9 };
   int a = v < 0 ? -v : v;
   int s = a <= 5 ? t[a] : 2 * a;
   return v < 0 ? -s : s;
}

/* One packet from the counts, consuming what it reports: a stream packet,
 * or the answer to 0xeb. */
static void
packet(ps2mouse *m, bool stream)
{
   void (*out)(ps2mouse *, uint8_t) = stream ? push : respond;
   bool sc = stream && (m->flags & F_SCALE21);
   int lim = sc ? 127 : 255;
   int x = clamp(m->ax, -lim, lim), y = clamp(m->ay, -lim, lim), z = clamp(m->az, -8, 7);
   m->ax -= x;
   m->ay -= y;
   m->az -= z;
   if (sc) {
      x = scale21(x);
      y = scale21(y);
   }
   uint8_t b0 = (uint8_t)(0x08 | (m->buttons & 7) | (x < 0 ? 0x10 : 0) | (y < 0 ? 0x20 : 0));
   out(m, b0);
   out(m, (uint8_t)x);
   out(m, (uint8_t)y);
   if (m->id == 3) {
      out(m, (uint8_t)z);
   } else if (m->id == 4) {
      out(m, (uint8_t)((z & 0x0f) | ((m->buttons & PS2MOUSE_BUTTON_SIDE) ? 0x10 : 0) |
                        ((m->buttons & PS2MOUSE_BUTTON_EXTRA) ? 0x20 : 0)));
   }
   m->sent_buttons = m->buttons;
}

static bool
streaming(const ps2mouse *m)
{
   return (m->flags & F_ENABLED) && !(m->flags & (F_REMOTE | F_WRAP));
}

/* Stream mode: turn counts into packets while the queue has room. */
static bool
stream_fill(ps2mouse *m)
{
   bool any = false;
   if (!streaming(m)) {
      return false;
   }
   while (m->out.qn + packet_size(m) <= PS2Q_DATA &&
          (m->ax || m->ay || m->az || m->buttons != m->sent_buttons)) {
      packet(m, true);
      any = true;
   }
   return any;
}

static void
clear_counts(ps2mouse *m)
{
   m->ax = m->ay = m->az = 0;
}

static void
defaults(ps2mouse *m)
{
   m->rate = 100;
   m->res = 2;
   m->flags = 0;   /* 1:1, stream mode, reporting off */
   clear_counts(m);
}

static void
power_on(ps2mouse *m)
{
   ps2q_clear(&m->out);
   defaults(m);
   m->id = 0;
   memset(m->hist, 0, sizeof m->hist);
   m->pending = 0;
   m->last = 0;
   m->buttons = m->sent_buttons = 0;
}

static bool
rate_ok(unsigned r)
{
   return r == 10 || r == 20 || r == 40 || r == 60 || r == 80 || r == 100 || r == 200;
}

/* ---- bytes from the guest */

static void
command(ps2mouse *m, uint8_t b)
{
   m->pending = 0;
   if (b != 0xf3) {
      memset(m->hist, 0, sizeof m->hist);
   }
   if (b == 0xfe) {
      respond(m, m->last);
      return;
   }
   ps2q_clear_data(&m->out);
   switch (b) {
   case 0xff:
      power_on(m);
      respond(m, ACK);
      respond(m, 0xaa);
      respond(m, 0x00);
      return;
   case 0xf6:
      defaults(m);
      break;
   case 0xf5:
      m->flags &= (uint8_t)~F_ENABLED;
      clear_counts(m);
      break;
   case 0xf4:
      m->flags |= F_ENABLED;
      clear_counts(m);
      m->sent_buttons = m->buttons;
      break;
   case 0xf3:
   case 0xe8:
      m->pending = b;
      break;
   case 0xf2:
      respond(m, ACK);
      respond(m, m->id);
      return;
   case 0xf0:
      m->flags |= F_REMOTE;
      clear_counts(m);
      break;
   case 0xee:
      m->flags |= F_WRAP;
      clear_counts(m);
      break;
   case 0xec:
      break;   /* not in wrap mode: nothing to leave */
   case 0xeb:
      respond(m, ACK);
      packet(m, false);
      return;
   case 0xea:
      m->flags &= (uint8_t)~F_REMOTE;
      clear_counts(m);
      break;
   case 0xe9:
      respond(m, ACK);
      respond(m, (uint8_t)(((m->flags & F_REMOTE) ? 0x40 : 0) | ((m->flags & F_ENABLED) ? 0x20 : 0) |
                        ((m->flags & F_SCALE21) ? 0x10 : 0) |
                        ((m->buttons & PS2MOUSE_BUTTON_LEFT) ? 0x04 : 0) |
                        ((m->buttons & PS2MOUSE_BUTTON_MIDDLE) ? 0x02 : 0) |
                        ((m->buttons & PS2MOUSE_BUTTON_RIGHT) ? 0x01 : 0)));
      respond(m, m->res);
      respond(m, m->rate);
      return;
   case 0xe7:
      m->flags |= F_SCALE21;
      break;
   case 0xe6:
      m->flags &= (uint8_t)~F_SCALE21;
      break;
   default:
      respond(m, RESEND);
      return;
   }
   respond(m, ACK);
}

static void
parameter(ps2mouse *m, uint8_t b)
{
   if (m->pending == 0xf3) {
      if (!rate_ok(b)) {
         respond(m, RESEND);
         return;
      }
      m->rate = b;
      m->hist[0] = m->hist[1];
      m->hist[1] = m->hist[2];
      m->hist[2] = b;
      if (m->id == 0 && m->hist[0] == 200 && m->hist[1] == 100 && m->hist[2] == 80) {
         m->id = 3;
      } else if (m->id == 3 && m->hist[0] == 200 && m->hist[1] == 200 && m->hist[2] == 80) {
         m->id = 4;
      }
   } else {
      if (b > 3) {
         respond(m, RESEND);
         return;
      }
      m->res = b;
   }
   m->pending = 0;
   clear_counts(m);
   respond(m, ACK);
}

static void
mouse_write(void *dev, uint8_t b)
{
   ps2mouse *m = dev;
   pthread_mutex_lock(&m->lock);
   if (m->flags & F_WRAP) {
      if (b == 0xec) {
         m->flags &= (uint8_t)~F_WRAP;
         ps2q_clear_data(&m->out);
         respond(m, ACK);
      } else if (b == 0xff) {
         command(m, b);
      } else {
         respond(m, b);   /* echo */
      }
   } else if (m->pending && b < 0xe6) {
      parameter(m, b);
   } else {
      command(m, b);
   }
   pthread_mutex_unlock(&m->lock);
}

static int
mouse_pull(void *dev)
{
   ps2mouse *m = dev;
   pthread_mutex_lock(&m->lock);
   int b = ps2q_pop_response(&m->out);
   if (b < 0) {
      b = ps2q_pop_data(&m->out);
   }
   stream_fill(m);   /* counts left over from a large move */
   if (b < 0) {
      b = ps2q_pop_data(&m->out);
   }
   if (b >= 0) {
      m->last = (uint8_t)b;
   }
   pthread_mutex_unlock(&m->lock);
   return b;
}

static const i8042_port_ops mouse_ops = { mouse_pull, mouse_write };

/* ---- host input */

static int32_t
add_sat(int32_t a, int b)
{
   int64_t s = (int64_t)a + b;
   return (int32_t)(s > ACC_MAX ? ACC_MAX : s < -ACC_MAX ? -ACC_MAX : s);
}

void
ps2mouse_move(ps2mouse *m, int dx, int dy, int dz, unsigned buttons)
{
   pthread_mutex_lock(&m->lock);
   bool counting = streaming(m) || (m->flags & F_REMOTE);
   if (counting) {
      m->ax = add_sat(m->ax, dx);
      m->ay = add_sat(m->ay, -dy);
      if (m->id) {
         m->az = add_sat(m->az, -dz);
      }
   }
   m->buttons = (uint8_t)(buttons & 0x1f);
   bool any = stream_fill(m);
   pthread_mutex_unlock(&m->lock);
   if (any) {
      i8042_data_ready(m->ctrl);
   }
}

/* ---- device */

static void *
mouse_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   i8042 *c = i8042_get(p);
   if (!c) {
      *err = g_strdup("the i8042 device must come before ps2mouse in the device table");
      return NULL;
   }
   ps2mouse *m = g_new0(ps2mouse, 1);
   m->p = p;
   m->ctrl = c;
   pthread_mutex_init(&m->lock, NULL);
   power_on(m);
   if (!i8042_attach(c, I8042_AUX, &mouse_ops, m, err)) {
      pthread_mutex_destroy(&m->lock);
      g_free(m);
      return NULL;
   }
   m->attached = true;
   return m;
}

static void
mouse_destroy(void *dev)
{
   ps2mouse *m = dev;
   if (m->attached) {
      i8042_detach(m->ctrl, I8042_AUX);
   }
   pthread_mutex_destroy(&m->lock);
   g_free(m);
}

static void
mouse_reset(void *dev)
{
   ps2mouse *m = dev;
   pthread_mutex_lock(&m->lock);
   power_on(m);
   pthread_mutex_unlock(&m->lock);
}

static void
mouse_save(void *dev, ckpt_writer *w)
{
   ps2mouse *m = dev;
   pthread_mutex_lock(&m->lock);
   ps2q_save(&m->out, w);
   ckpt_put_u8(w, "rate", m->rate);
   ckpt_put_u8(w, "resolution", m->res);
   ckpt_put_u8(w, "flags", m->flags);
   ckpt_put_u8(w, "id", m->id);
   ckpt_put_bytes(w, "knock", m->hist, sizeof m->hist);
   ckpt_put_u8(w, "pending", m->pending);
   ckpt_put_u8(w, "last", m->last);
   ckpt_put_u32(w, "dx", (uint32_t)m->ax);
   ckpt_put_u32(w, "dy", (uint32_t)m->ay);
   ckpt_put_u32(w, "dz", (uint32_t)m->az);
   ckpt_put_u8(w, "buttons", m->buttons);
   ckpt_put_u8(w, "sent_buttons", m->sent_buttons);
   pthread_mutex_unlock(&m->lock);
}

static bool
mouse_restore(void *dev, ckpt_reader *r, char **err)
{
   ps2mouse *m = dev;
   pthread_mutex_lock(&m->lock);
   uint8_t hist[3], rate = m->rate, res = m->res, flags = m->flags, id = m->id;
   uint8_t pending = m->pending, last = m->last, buttons = m->buttons, sent = m->sent_buttons;
   uint32_t ax = (uint32_t)m->ax, ay = (uint32_t)m->ay, az = (uint32_t)m->az;
   memcpy(hist, m->hist, sizeof hist);
   ps2_queues out;
   ps2q_linear(&m->out, &out);
   pthread_mutex_unlock(&m->lock);
   const char *bad = ps2q_load(&out, r, "'queue' is longer than the mouse's 64-byte buffer");
   ckpt_get_u8(r, "rate", &rate);
   ckpt_get_u8(r, "resolution", &res);
   ckpt_get_u8(r, "flags", &flags);
   ckpt_get_u8(r, "id", &id);
   ckpt_get_bytes(r, "knock", hist, sizeof hist);
   ckpt_get_u8(r, "pending", &pending);
   ckpt_get_u8(r, "last", &last);
   ckpt_get_u32(r, "dx", &ax);
   ckpt_get_u32(r, "dy", &ay);
   ckpt_get_u32(r, "dz", &az);
   ckpt_get_u8(r, "buttons", &buttons);
   ckpt_get_u8(r, "sent_buttons", &sent);
   if (ckpt_reader_error(r)) {
      return false;
   }
   int32_t sx = (int32_t)ax, sy = (int32_t)ay, sz = (int32_t)az;
   if (bad) {
      /* the queues are wrong */
   } else if (!rate_ok(rate)) {
      bad = "'rate' is not a PS/2 sample rate";
   } else if (res > 3) {
      bad = "'resolution' is not 0-3";
   } else if (flags & ~0x0fu) {
      bad = "'flags' has unknown bits";
   } else if (id != 0 && id != 3 && id != 4) {
      bad = "'id' is not 0, 3 or 4";
   } else if (pending && pending != 0xf3 && pending != 0xe8) {
      bad = "'pending' is not 0xf3 or 0xe8";
   } else if ((buttons | sent) & ~0x1fu) {
      bad = "'buttons' has bits above button 5";
   } else if (sx < -ACC_MAX || sx > ACC_MAX || sy < -ACC_MAX || sy > ACC_MAX || sz < -ACC_MAX ||
              sz > ACC_MAX) {
      bad = "'dx', 'dy' or 'dz' is beyond the counts the mouse keeps";
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section ps2mouse: item %s", bad);
      return false;
   }
   pthread_mutex_lock(&m->lock);
   m->out = out;
   m->rate = rate;
   m->res = res;
   m->flags = flags;
   m->id = id;
   memcpy(m->hist, hist, sizeof hist);
   m->pending = pending;
   m->last = last;
   m->ax = sx;
   m->ay = sy;
   m->az = sz;
   m->buttons = buttons;
   m->sent_buttons = sent;
   pthread_mutex_unlock(&m->lock);
   i8042_data_ready(m->ctrl);
   return true;
}

const vmx_device_desc vmx_dev_ps2mouse = {
   .name = "ps2mouse",
   .version = 1,
   .create = mouse_create,
   .reset = mouse_reset,
   .destroy = mouse_destroy,
   .save = mouse_save,
   .restore = mouse_restore,
};
