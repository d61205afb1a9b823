/*
 * mks/console/pointer.c - pointer routing to vmmouse or the PS/2 mouse.
 * See pointer.h.
 */
#include "mks/console/pointer.h"

#include <glib.h>
#include <pthread.h>

_Static_assert(MKS_BUTTON_LEFT == PS2MOUSE_BUTTON_LEFT && MKS_BUTTON_RIGHT == PS2MOUSE_BUTTON_RIGHT &&
                  MKS_BUTTON_MIDDLE == PS2MOUSE_BUTTON_MIDDLE &&
                  MKS_BUTTON_SIDE == PS2MOUSE_BUTTON_SIDE &&
                  MKS_BUTTON_EXTRA == PS2MOUSE_BUTTON_EXTRA,
               "MKS_BUTTON_* must equal PS2MOUSE_BUTTON_*");

#define DELTA_MAX 65535   /* no host reports more per event; keeps sums in range */

struct mks_pointer {
   pthread_mutex_t lock;
   ps2mouse *ps2;
   vmmouse *vmm;
   unsigned width, height;
   bool have_pos;
   int x, y;                  /* last position, framebuffer pixels */
   mks_pointer_route route;   /* of the last event */
};

mks_pointer *
mks_pointer_new(ps2mouse *ps2, vmmouse *vmm)
{
   mks_pointer *p = g_new0(mks_pointer, 1);
   pthread_mutex_init(&p->lock, NULL);
   p->ps2 = ps2;
   p->vmm = vmm;
   p->width = 640;
   p->height = 480;
   return p;
}

void
mks_pointer_free(mks_pointer *p)
{
   if (!p) {
      return;
   }
   pthread_mutex_destroy(&p->lock);
   g_free(p);
}

static int
clampi(int v, int lo, int hi)
{
   return v < lo ? lo : v > hi ? hi : v;
}

void
mks_pointer_set_screen(mks_pointer *p, unsigned width, unsigned height)
{
   if (!width || !height) {
      return;
   }
   pthread_mutex_lock(&p->lock);
   p->width = width;
   p->height = height;
   p->x = clampi(p->x, 0, (int)width - 1);
   p->y = clampi(p->y, 0, (int)height - 1);
   pthread_mutex_unlock(&p->lock);
}

uint16_t
mks_pointer_scale(int v, unsigned size)
{
   if (size <= 1) {
      return 0;
   }
   int64_t c = clampi(v, 0, (int)size - 1);
   return (uint16_t)((c * VMMOUSE_ABS_MAX + (size - 1) / 2) / (size - 1));
}

static mks_pointer_route
route_now(const mks_pointer *p)
{
   if (p->vmm && vmmouse_enabled(p->vmm)) {
      return vmmouse_absolute(p->vmm) ? MKS_POINTER_VMMOUSE_ABS : MKS_POINTER_VMMOUSE_REL;
   }
   return p->ps2 ? MKS_POINTER_PS2 : MKS_POINTER_NONE;
}

mks_pointer_route
mks_pointer_current_route(mks_pointer *p)
{
   pthread_mutex_lock(&p->lock);
   mks_pointer_route r = route_now(p);
   pthread_mutex_unlock(&p->lock);
   return r;
}

/* Send one event (lock held). x, y is the new position; dx, dy the
 * motion that led there. */
static void
deliver(mks_pointer *p, mks_pointer_route r, int dx, int dy, unsigned buttons, int dz)
{
   buttons &= MKS_BUTTON_ALL;
   switch (r) {
   case MKS_POINTER_VMMOUSE_ABS:
      vmmouse_abs(p->vmm, mks_pointer_scale(p->x, p->width),
                      mks_pointer_scale(p->y, p->height), dz, buttons);
      break;
   case MKS_POINTER_VMMOUSE_REL:
      vmmouse_rel(p->vmm, dx, dy, dz, buttons);
      break;
   case MKS_POINTER_PS2:
      ps2mouse_move(p->ps2, dx, dy, dz, buttons);
      break;
   case MKS_POINTER_NONE:
      break;
   }
}

void
mks_pointer_abs(mks_pointer *p, int x, int y, unsigned buttons, int dz)
{
   pthread_mutex_lock(&p->lock);
   x = clampi(x, 0, (int)p->width - 1);
   y = clampi(y, 0, (int)p->height - 1);
   mks_pointer_route r = route_now(p);
   int dx = 0, dy = 0;
   if (p->have_pos && r == p->route) {
      dx = x - p->x;
      dy = y - p->y;
   }
   p->x = x;
   p->y = y;
   p->have_pos = true;
   p->route = r;
   deliver(p, r, dx, dy, buttons, dz);
   pthread_mutex_unlock(&p->lock);
}

void
mks_pointer_rel(mks_pointer *p, int dx, int dy, unsigned buttons, int dz)
{
   dx = clampi(dx, -DELTA_MAX, DELTA_MAX);
   dy = clampi(dy, -DELTA_MAX, DELTA_MAX);
   pthread_mutex_lock(&p->lock);
   mks_pointer_route r = route_now(p);
   int nx = clampi(p->x + dx, 0, (int)p->width - 1);
   int ny = clampi(p->y + dy, 0, (int)p->height - 1);
   p->x = nx;
   p->y = ny;
   p->have_pos = true;
   p->route = r;
   deliver(p, r, dx, dy, buttons, dz);
   pthread_mutex_unlock(&p->lock);
}
