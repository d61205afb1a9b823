/*
 * mks/mks.c - the MKS thread: SVGA processing, the shadow framebuffer's
 * consumers and input routing. See mks.h.
 *
 * The thread sleeps in poll() on three eventfds (the device's wake-up, the
 * shadow framebuffer client's notify, quit) with the refresh timer as the
 * timeout. Each round it runs svga_process(), then takes the client's
 * damage under the picture lock, copies the damaged rectangles to the
 * backends (each backend copies into its own staging buffer, so the lock
 * is held for memcpy time only) and hands cursor changes on.
 *
 * Only backends somebody watches get pixels: with no viewer connected a
 * backend's copy (and, for VNC, the work behind it) would be for nobody,
 * and it would delay the backends that are watched. A backend skipped so
 * is invalidated; once it has a viewer again (its refresh callback wakes
 * this thread when one is waiting) it gets the whole picture before any
 * viewer sees it.
 */
#include "mks/mks.h"
#include "mks/console/keyinput.h"
#include "mks/console/local.h"
#include "mks/console/pointer.h"
#include "mks/console/screenshot.h"
#include "mks/console/vnc.h"
#include "mks/svga/svga.h"
#include "vmx/dev/chipset/ps2kbd.h"
#include "vmx/dev/chipset/ps2mouse.h"
#include "vmx/dev/chipset/vmmouse.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

struct mks {
   svga *dev;
   svga_fb *fb;
   svga_fb_client *client;
   int notify_fd;              /* the client's notify */
   int quit_fd;
   unsigned refresh_hz;
   pthread_t thread;
   bool thread_started;

   mks_keyinput *keys;
   mks_pointer *pointer;

   mks_vnc *vnc;
   char *vnc_error;            /* why the enabled server is not running */
   mks_local *local;           /* the local console (UI), or NULL */
   /* MKS thread: the backend was skipped (nobody watched) and needs the
    * whole picture before it is watched again. */
   bool vnc_stale, local_stale;

   /* The MKS thread's view, published for other threads under lock. */
   pthread_mutex_t lock;
   unsigned width, height;
   uint64_t generation;
   bool have_mode;
   uint64_t cursor_serial;
   bool cursor_shown;          /* what the backends were last told */
};

static void
efd_signal(int fd)
{
   uint64_t one = 1;
   while (write(fd, &one, sizeof one) < 0 && errno == EINTR) {
   }
}

static void
efd_drain(int fd)
{
   uint64_t v;
   while (read(fd, &v, sizeof v) > 0) {
   }
}

static void
on_fb_news(void *opaque)
{
   mks *m = opaque;
   efd_signal(m->notify_fd);
}

/* ---- input from the backends (their threads); VNC and the local console
 * report the pointer the same way */

static void
vnc_key(void *opaque, uint32_t keysym, bool down)
{
   mks *m = opaque;
   if (m->keys) {
      mks_keyinput_keysym(m->keys, keysym, down);
   }
}

static void
vnc_pointer(void *opaque, int x, int y, unsigned buttons, int dz, int dw)
{
   mks *m = opaque;
   if (m->pointer) {
      mks_pointer_abs(m->pointer, x, y, buttons, dz);
   }
}

static void
local_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
   mks *m = opaque;
   if (!m->keys) {
      return;
   }
   if (keycode) {
      mks_keyinput_key(m->keys, keycode, down);
   } else {
      mks_keyinput_keysym(m->keys, keysym, down);
   }
}

/* A backend has a viewer waiting for the picture it stopped getting. */
static void
backend_refresh(void *opaque)
{
   mks *m = opaque;
   efd_signal(m->notify_fd);
}

/* ---- output to the backends (the MKS thread) */

/* Whether a backend gets this frame's pixels, and (*whole) the whole
 * picture because it was skipped before (see the top). picture: there is
 * one; changed: this frame has pixels to hand on. */
static bool
watched(bool viewers, bool picture, bool changed, bool *stale, bool *whole)
{
   *whole = false;
   if (!viewers) {
      if (picture && changed) {
         *stale = true;
      }
      return false;
   }
   if (*stale && picture) {
      *whole = true;
      *stale = false;
   }
   return true;
}

static void
push_cursor(mks *m, bool shape_changed)
{
   svga_fb_cursor c;
   svga_fb_cursor_get(m->fb, &c);
   bool show = c.visible && c.width && c.height && c.argb;
   bool new_shape = show && (shape_changed || !m->cursor_shown || c.serial != m->cursor_serial);
   /* vmwgfx defines premultiplied alpha cursors; AND/XOR cursors come out
    * of the device as opaque or fully transparent pixels, which read the
    * same either way. */
   if (m->vnc) {
      if (new_shape) {
         mks_vnc_set_cursor(m->vnc, c.argb, c.width, c.height, c.hot_x, c.hot_y, true);
      } else if (!show && m->cursor_shown) {
         mks_vnc_hide_cursor(m->vnc);
      }
      if (show) {
         mks_vnc_move_cursor(m->vnc, c.x, c.y);
      }
   }
   if (m->local) {
      if (new_shape) {
         mks_local_set_cursor(m->local, c.argb, c.width, c.height, c.hot_x, c.hot_y, true);
      } else if (!show && m->cursor_shown) {
         mks_local_hide_cursor(m->local);
      }
      if (show) {
         mks_local_move_cursor(m->local, c.x, c.y);
      }
   }
   m->cursor_serial = c.serial;
   m->cursor_shown = show;
   svga_fb_cursor_clear(&c);
}

static void
push_frame(mks *m)
{
   svga_fb_image img;
   svga_fb_damage dmg;
   svga_fb_begin(m->client, &img, &dmg);
   bool mode_changed = dmg.full && (!m->have_mode || img.generation != m->generation ||
                                    img.width != m->width || img.height != m->height);
   if (mode_changed && img.width && img.height) {
      if (m->vnc) {
         mks_vnc_set_mode(m->vnc, img.width, img.height);
      }
      if (m->local) {
         mks_local_set_mode(m->local, img.width, img.height);
      }
      if (m->pointer) {
         mks_pointer_set_screen(m->pointer, img.width, img.height);
      }
      pthread_mutex_lock(&m->lock);
      m->width = img.width;
      m->height = img.height;
      m->generation = img.generation;
      m->have_mode = true;
      pthread_mutex_unlock(&m->lock);
   }
   bool picture = img.pixels && img.width && img.height;
   bool changed = dmg.nrects > 0 || mode_changed;
   bool vnc_whole = false, local_whole = false;
   bool vnc_on = false, local_on = false;
   if (m->vnc) {
      bool was = m->vnc_stale;
      vnc_on = watched(mks_vnc_client_count(m->vnc) > 0, picture, changed, &m->vnc_stale,
                       &vnc_whole);
      if (m->vnc_stale && !was) {
         mks_vnc_invalidate(m->vnc);
      }
   }
   if (m->local) {
      bool was = m->local_stale;
      local_on = watched(mks_local_client_count(m->local) > 0, picture, changed,
                         &m->local_stale, &local_whole);
      if (m->local_stale && !was) {
         mks_local_invalidate(m->local);
      }
   }
   const size_t bstride = (size_t)img.stride * 4;
   if (vnc_whole) {
      mks_vnc_update(m->vnc, img.pixels, bstride, 0, 0, img.width, img.height);
   }
   if (local_whole) {
      mks_local_update(m->local, img.pixels, bstride, 0, 0, img.width, img.height);
   }
   for (unsigned i = 0; img.pixels && i < dmg.nrects; i++) {
      const svga_rect *r = &dmg.rects[i];
      if (r->w <= 0 || r->h <= 0) {
         continue;
      }
      if (vnc_on && !vnc_whole) {
         mks_vnc_update(m->vnc, img.pixels, bstride, (unsigned)r->x, (unsigned)r->y,
                        (unsigned)r->w, (unsigned)r->h);
      }
      if (local_on && !local_whole) {
         mks_local_update(m->local, img.pixels, bstride, (unsigned)r->x, (unsigned)r->y,
                          (unsigned)r->w, (unsigned)r->h);
      }
   }
   svga_fb_end(m->client);
   if (dmg.cursor_shape || dmg.cursor_moved || mode_changed) {
      push_cursor(m, dmg.cursor_shape || mode_changed);
   }
}

static int64_t
now_us(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void *
mks_main(void *arg)
{
   mks *m = arg;
   vmxlog_set_thread_name("mks");
   pthread_setname_np(pthread_self(), "mks");
   const int64_t period = 1000000 / m->refresh_hz;
   int64_t next_tick = now_us();
   for (;;) {
      int64_t now = now_us();
      int timeout_ms = next_tick > now ? (int)((next_tick - now + 999) / 1000) : 0;
      struct pollfd p[3] = {
         { .fd = m->quit_fd, .events = POLLIN },
         { .fd = svga_wake_fd(m->dev), .events = POLLIN },
         { .fd = m->notify_fd, .events = POLLIN },
      };
      int n = poll(p, 3, timeout_ms);
      if (n < 0 && errno != EINTR) {
         vmxlog("MKS: poll failed: %s; the screen is no longer updated", g_strerror(errno));
         break;
      }
      if (p[0].revents) {
         break;
      }
      if (p[1].revents) {
         efd_drain(p[1].fd);
      }
      if (p[2].revents) {
         efd_drain(p[2].fd);
      }
      now = now_us();
      if (p[1].revents || now >= next_tick) {
         svga_process(m->dev);
         if (now >= next_tick) {
            next_tick += period;
            if (next_tick <= now) {   /* fell behind: do not catch up */
               next_tick = now + period;
            }
         }
      }
      push_frame(m);
   }
   return NULL;
}

/* ---- life cycle */

static bool
read_refresh(const vmxcfg *cfg, unsigned *hz, char **err)
{
   int64_t v = 60;
   if (!vmxcfg_get_int(cfg, "mks.refreshHz", 60, &v, err)) {
      return false;
   }
   if (v < 1 || v > 1000) {
      *err = g_strdup_printf("mks.refreshHz = \"%s\": expected 1 to 1000 (times a second)",
                             vmxcfg_get(cfg, "mks.refreshHz"));
      return false;
   }
   *hz = (unsigned)v;
   return true;
}

mks *
mks_new(vmx_platform *plat, const vmxcfg *cfg, const char *console_socket, char **err)
{
   svga *dev = svga_get(plat);
   if (!dev) {
      *err = g_strdup("the machine has no SVGA device");
      return NULL;
   }
   unsigned hz = 60;
   mks_vnc_config vc;
   if (!read_refresh(cfg, &hz, err) || !mks_vnc_config_read(cfg, &vc, err)) {
      return NULL;
   }
   mks *m = g_new0(mks, 1);
   m->dev = dev;
   m->fb = svga_get_fb(dev);
   m->refresh_hz = hz;
   m->notify_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   m->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
   pthread_mutex_init(&m->lock, NULL);
   if (m->notify_fd < 0 || m->quit_fd < 0) {
      *err = g_strdup_printf("MKS: cannot create an eventfd: %s", g_strerror(errno));
      mks_vnc_config_clear(&vc);
      mks_free(m);
      return NULL;
   }
   ps2kbd *kbd = ps2kbd_get(plat);
   if (kbd) {
      m->keys = mks_keyinput_new_ps2kbd(kbd);
   }
   ps2mouse *ps2m = ps2mouse_get(plat);
   vmmouse *vmm = vmmouse_get(plat);
   if (ps2m || vmm) {
      m->pointer = mks_pointer_new(ps2m, vmm);
   }
   m->client = svga_fb_client_new(m->fb, on_fb_news, m);
   if (vc.enabled) {
      static const mks_vnc_input in_ops = { .key = vnc_key, .pointer = vnc_pointer,
                                            .refresh = backend_refresh };
      mks_vnc_input in = in_ops;
      in.opaque = m;
      char *why = NULL;
      m->vnc = mks_vnc_new(&vc, &in, &why);
      if (m->vnc) {
         vmxlog("MKS: VNC server listening on %s:%u%s", mks_vnc_address(m->vnc),
                mks_vnc_port(m->vnc), vc.password ? " (password required)" : "");
      } else {
         m->vnc_error = why;
         vmxlog("MKS: the VNC server (RemoteDisplay.vnc.enabled) could not start: %s", why);
      }
   }
   mks_vnc_config_clear(&vc);
   if (console_socket) {
      static const mks_local_input lin_ops = { .key = local_key, .pointer = vnc_pointer,
                                               .refresh = backend_refresh };
      mks_local_input lin = lin_ops;
      lin.opaque = m;
      m->local = mks_local_new(console_socket, &lin, err);
      if (!m->local) {
         mks_free(m);
         return NULL;
      }
      vmxlog("MKS: local console at %s", console_socket);
   }
   if (pthread_create(&m->thread, NULL, mks_main, m) != 0) {
      *err = g_strdup("MKS: cannot start its thread");
      mks_free(m);
      return NULL;
   }
   m->thread_started = true;
   vmxlog("MKS: started (refresh %u Hz)", hz);
   return m;
}

void
mks_free(mks *m)
{
   if (!m) {
      return;
   }
   if (m->thread_started) {
      efd_signal(m->quit_fd);
      pthread_join(m->thread, NULL);
   }
   /* VNC first: freeing it releases the keys and buttons viewers hold
    * through the input objects below. */
   mks_vnc_free(m->vnc);
   mks_local_free(m->local);
   if (m->client) {
      svga_fb_client_free(m->client);
   }
   if (m->keys) {
      mks_keyinput_free(m->keys);
   }
   if (m->pointer) {
      mks_pointer_free(m->pointer);
   }
   if (m->notify_fd >= 0) {
      close(m->notify_fd);
   }
   if (m->quit_fd >= 0) {
      close(m->quit_fd);
   }
   pthread_mutex_destroy(&m->lock);
   g_free(m->vnc_error);
   g_free(m);
}

bool
mks_vnc_info(mks *m, const char **address, unsigned *port, const char **error)
{
   if (error) {
      *error = m->vnc_error;
   }
   if (!m->vnc) {
      return false;
   }
   *address = mks_vnc_address(m->vnc);
   *port = mks_vnc_port(m->vnc);
   return true;
}

void
mks_screen_size(mks *m, unsigned *width, unsigned *height)
{
   pthread_mutex_lock(&m->lock);
   *width = m->have_mode ? m->width : 0;
   *height = m->have_mode ? m->height : 0;
   pthread_mutex_unlock(&m->lock);
}

bool
mks_capture_screen(mks *m, const char *path, char **err)
{
   /* Take in what the guest wrote since the last refresh. */
   svga_process(m->dev);
   svga_fb_client *c = svga_fb_client_new(m->fb, NULL, NULL);
   svga_fb_image img;
   svga_fb_damage dmg;
   svga_fb_begin(c, &img, &dmg);
   uint32_t *copy = NULL;
   unsigned w = img.width, h = img.height;
   if (img.pixels && w && h) {
      copy = g_try_malloc((size_t)w * h * 4);
      for (unsigned y = 0; copy && y < h; y++) {
         memcpy(copy + (size_t)y * w, img.pixels + (size_t)y * img.stride, (size_t)w * 4);
      }
   }
   svga_fb_end(c);
   svga_fb_client_free(c);
   if (!copy) {
      *err = w && h ? g_strdup_printf("out of memory for a %ux%u screenshot", w, h)
                    : g_strdup("the virtual display has no picture yet");
      return false;
   }
   bool ok = mks_screenshot_png(path, copy, w, h, (size_t)w * 4, err);
   g_free(copy);
   return ok;
}
