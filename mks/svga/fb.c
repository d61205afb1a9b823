/*
 * mks/svga/fb.c - the shadow framebuffer with per-client damage and the
 * hardware cursor. See fb.h.
 */
#include "mks/svga/fb.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

struct svga_fb_client {
   svga_fb *fb;
   svga_fb_notify_fn notify;
   void *opaque;
   bool full;
   svga_damage_acc acc;
   bool cursor_shape, cursor_moved;
   bool notified;       /* notify called since the last begin */
};

struct svga_fb {
   pthread_mutex_t lock;
   uint32_t *pixels;
   uint32_t width, height;
   uint64_t generation;
   GPtrArray *clients;
   /* cursor */
   uint32_t cw, ch, hot_x, hot_y;
   uint32_t *cursor;
   int32_t cx, cy;
   bool cvisible;
   uint64_t cserial;
};

/* ---- damage accumulator */

static int64_t
rect_area(const svga_rect *r)
{
   return (int64_t)r->w * r->h;
}

static svga_rect
rect_union(const svga_rect *a, const svga_rect *b)
{
   int64_t x0 = MIN(a->x, b->x), y0 = MIN(a->y, b->y);
   int64_t x1 = MAX((int64_t)a->x + a->w, (int64_t)b->x + b->w);
   int64_t y1 = MAX((int64_t)a->y + a->h, (int64_t)b->y + b->h);
   svga_rect u = { (int32_t)x0, (int32_t)y0, (int32_t)(x1 - x0), (int32_t)(y1 - y0) };
   return u;
}

static bool
rect_contains(const svga_rect *outer, const svga_rect *in)
{
   return in->x >= outer->x && in->y >= outer->y &&
          (int64_t)in->x + in->w <= (int64_t)outer->x + outer->w &&
          (int64_t)in->y + in->h <= (int64_t)outer->y + outer->h;
}

/* Worth merging: the bounding box is not much more than the two. */
static bool
cheap_merge(const svga_rect *a, const svga_rect *b)
{
   svga_rect u = rect_union(a, b);
   int64_t sum = rect_area(a) + rect_area(b);
   return rect_area(&u) <= sum + sum / 4 + 256;
}

static void
acc_remove(svga_damage_acc *a, unsigned i)
{
   a->r[i] = a->r[a->n - 1];
   a->n--;
}

void
svga_damage_acc_add(svga_damage_acc *a, int32_t x, int32_t y, int32_t w, int32_t h)
{
   if (w <= 0 || h <= 0) {
      return;
   }
   svga_rect nr = { x, y, w, h };
   for (;;) {
      bool merged = false;
      for (unsigned i = 0; i < a->n; i++) {
         if (rect_contains(&a->r[i], &nr)) {
            return;
         }
         if (rect_contains(&nr, &a->r[i]) || cheap_merge(&a->r[i], &nr)) {
            nr = rect_union(&a->r[i], &nr);
            acc_remove(a, i);
            merged = true;
            break;
         }
      }
      if (merged) {
         continue;
      }
      if (a->n < SVGA_FB_MAX_RECTS) {
         a->r[a->n++] = nr;
         return;
      }
      /* Full: fold the new one into the rectangle it grows least. */
      unsigned best = 0;
      int64_t best_extra = INT64_MAX;
      for (unsigned i = 0; i < a->n; i++) {
         svga_rect u = rect_union(&a->r[i], &nr);
         int64_t extra = rect_area(&u) - rect_area(&a->r[i]);
         if (extra < best_extra) {
            best_extra = extra;
            best = i;
         }
      }
      nr = rect_union(&a->r[best], &nr);
      acc_remove(a, best);
   }
}

/* ---- producer */

svga_fb *
svga_fb_new(void)
{
   svga_fb *fb = g_new0(svga_fb, 1);
   pthread_mutex_init(&fb->lock, NULL);
   fb->clients = g_ptr_array_new();
   fb->width = 1;
   fb->height = 1;
   fb->pixels = g_new0(uint32_t, 1);
   fb->generation = 1;
   return fb;
}

void
svga_fb_free(svga_fb *fb)
{
   if (!fb) {
      return;
   }
   g_assert(fb->clients->len == 0);
   g_ptr_array_free(fb->clients, TRUE);
   g_free(fb->pixels);
   g_free(fb->cursor);
   pthread_mutex_destroy(&fb->lock);
   g_free(fb);
}

void
svga_fb_lock(svga_fb *fb)
{
   pthread_mutex_lock(&fb->lock);
}

void
svga_fb_unlock(svga_fb *fb)
{
   pthread_mutex_unlock(&fb->lock);
}

static void
damage_all_clients_full(svga_fb *fb)
{
   for (guint i = 0; i < fb->clients->len; i++) {
      svga_fb_client *c = g_ptr_array_index(fb->clients, i);
      c->full = true;
      c->acc.n = 0;
   }
}

bool
svga_fb_resize_locked(svga_fb *fb, uint32_t w, uint32_t h)
{
   if (w == 0 || h == 0 || w > SVGA_FB_MAX_DIM || h > SVGA_FB_MAX_DIM) {
      return false;
   }
   uint32_t *px = g_try_malloc0((gsize)w * h * sizeof(uint32_t));
   if (!px) {
      return false;
   }
   g_free(fb->pixels);
   fb->pixels = px;
   fb->width = w;
   fb->height = h;
   fb->generation++;
   damage_all_clients_full(fb);
   return true;
}

uint32_t *
svga_fb_pixels_locked(svga_fb *fb, uint32_t *w, uint32_t *h, uint32_t *stride)
{
   *w = fb->width;
   *h = fb->height;
   *stride = fb->width;
   return fb->pixels;
}

void
svga_fb_add_damage_locked(svga_fb *fb, int64_t x, int64_t y, int64_t w, int64_t h)
{
   int64_t x0 = MAX(x, 0), y0 = MAX(y, 0);
   int64_t x1 = MIN(x + w, (int64_t)fb->width), y1 = MIN(y + h, (int64_t)fb->height);
   if (w <= 0 || h <= 0 || x0 >= x1 || y0 >= y1) {
      return;
   }
   for (guint i = 0; i < fb->clients->len; i++) {
      svga_fb_client *c = g_ptr_array_index(fb->clients, i);
      if (!c->full) {
         svga_damage_acc_add(&c->acc, (int32_t)x0, (int32_t)y0, (int32_t)(x1 - x0),
                             (int32_t)(y1 - y0));
      }
   }
}

void
svga_fb_set_cursor_shape(svga_fb *fb, uint32_t w, uint32_t h, uint32_t hot_x, uint32_t hot_y,
                         const uint32_t *argb)
{
   if (w > SVGA_FB_CURSOR_MAX || h > SVGA_FB_CURSOR_MAX || !argb) {
      w = h = 0;
   }
   uint32_t *copy = w && h ? g_memdup2(argb, (gsize)w * h * sizeof(uint32_t)) : NULL;
   pthread_mutex_lock(&fb->lock);
   g_free(fb->cursor);
   fb->cursor = copy;
   fb->cw = copy ? w : 0;
   fb->ch = copy ? h : 0;
   fb->hot_x = hot_x;
   fb->hot_y = hot_y;
   fb->cserial++;
   for (guint i = 0; i < fb->clients->len; i++) {
      svga_fb_client *c = g_ptr_array_index(fb->clients, i);
      c->cursor_shape = true;
   }
   pthread_mutex_unlock(&fb->lock);
}

void
svga_fb_set_cursor_pos(svga_fb *fb, int32_t x, int32_t y, bool visible)
{
   pthread_mutex_lock(&fb->lock);
   if (fb->cx != x || fb->cy != y || fb->cvisible != visible) {
      fb->cx = x;
      fb->cy = y;
      fb->cvisible = visible;
      for (guint i = 0; i < fb->clients->len; i++) {
         svga_fb_client *c = g_ptr_array_index(fb->clients, i);
         c->cursor_moved = true;
      }
   }
   pthread_mutex_unlock(&fb->lock);
}

static bool
client_has_news(const svga_fb_client *c)
{
   return c->full || c->acc.n || c->cursor_shape || c->cursor_moved;
}

void
svga_fb_notify(svga_fb *fb)
{
   /* Collect under the lock, call without it. Clients past the first 64
    * with news are left unmarked and get their call on the next round. */
   svga_fb_notify_fn fns[64];
   void *ops[64];
   unsigned n = 0;
   pthread_mutex_lock(&fb->lock);
   for (guint i = 0; i < fb->clients->len && n < G_N_ELEMENTS(fns); i++) {
      svga_fb_client *c = g_ptr_array_index(fb->clients, i);
      if (c->notify && !c->notified && client_has_news(c)) {
         c->notified = true;
         fns[n] = c->notify;
         ops[n++] = c->opaque;
      }
   }
   pthread_mutex_unlock(&fb->lock);
   for (unsigned i = 0; i < n; i++) {
      fns[i](ops[i]);
   }
}

/* ---- consumers */

svga_fb_client *
svga_fb_client_new(svga_fb *fb, svga_fb_notify_fn notify, void *opaque)
{
   svga_fb_client *c = g_new0(svga_fb_client, 1);
   c->fb = fb;
   c->notify = notify;
   c->opaque = opaque;
   c->full = true;
   c->cursor_shape = true;
   c->cursor_moved = true;
   pthread_mutex_lock(&fb->lock);
   g_ptr_array_add(fb->clients, c);
   pthread_mutex_unlock(&fb->lock);
   return c;
}

void
svga_fb_client_free(svga_fb_client *c)
{
   if (!c) {
      return;
   }
   pthread_mutex_lock(&c->fb->lock);
   g_ptr_array_remove(c->fb->clients, c);
   pthread_mutex_unlock(&c->fb->lock);
   g_free(c);
}

void
svga_fb_begin(svga_fb_client *c, svga_fb_image *img, svga_fb_damage *dmg)
{
   svga_fb *fb = c->fb;
   pthread_mutex_lock(&fb->lock);
   img->pixels = fb->pixels;
   img->width = fb->width;
   img->height = fb->height;
   img->stride = fb->width;
   img->generation = fb->generation;
   memset(dmg, 0, sizeof *dmg);
   if (c->full) {
      dmg->full = true;
      dmg->nrects = 1;
      dmg->rects[0] = (svga_rect){ 0, 0, (int32_t)fb->width, (int32_t)fb->height };
   } else {
      dmg->nrects = c->acc.n;
      memcpy(dmg->rects, c->acc.r, c->acc.n * sizeof(svga_rect));
   }
   dmg->cursor_shape = c->cursor_shape;
   dmg->cursor_moved = c->cursor_moved;
   c->full = false;
   c->acc.n = 0;
   c->cursor_shape = false;
   c->cursor_moved = false;
   c->notified = false;
}

void
svga_fb_end(svga_fb_client *c)
{
   pthread_mutex_unlock(&c->fb->lock);
}

void
svga_fb_cursor_get(svga_fb *fb, svga_fb_cursor *c)
{
   pthread_mutex_lock(&fb->lock);
   c->width = fb->cw;
   c->height = fb->ch;
   c->hot_x = fb->hot_x;
   c->hot_y = fb->hot_y;
   c->x = fb->cx;
   c->y = fb->cy;
   c->visible = fb->cvisible;
   c->serial = fb->cserial;
   c->argb = fb->cursor ? g_memdup2(fb->cursor, (gsize)fb->cw * fb->ch * sizeof(uint32_t)) : NULL;
   pthread_mutex_unlock(&fb->lock);
}

void
svga_fb_cursor_clear(svga_fb_cursor *c)
{
   g_free(c->argb);
   memset(c, 0, sizeof *c);
}

uint64_t
svga_fb_generation(svga_fb *fb)
{
   pthread_mutex_lock(&fb->lock);
   uint64_t g = fb->generation;
   pthread_mutex_unlock(&fb->lock);
   return g;
}
