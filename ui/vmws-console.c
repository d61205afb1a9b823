/*
 * ui/vmws-console.c - VmwsConsole: a VM's screen, keyboard and mouse.
 *
 * Connection: mksclient_connect() waits for the server's HELLO, so it runs
 * on a worker thread; the connected client is handed to the main thread
 * and used only there, from a g_unix_fd_add() watch on its socket.
 *
 * Frames: damage marks tiles dirty and queues a redraw; the snapshot
 * draws and acknowledges the frame, so the server sends the next one at
 * most once per frame we draw. While the widget is not mapped, frames are
 * acknowledged at once and everything is redrawn when it is shown.
 *
 * How the picture gets drawn depends on GTK's renderer:
 *   GL      the dirty tiles are rebuilt as textures from the shared
 *           surface (their upload is what a GPU takes best);
 *   cairo   (which the application picks where OpenGL is software) the
 *           shared surface itself is the source: one cairo image surface
 *           over its mapping, with no copy of ours (a copy of 8 MB a frame
 *           at 1920x1080, and cairo copied it again, copy-on-write, for
 *           the node GTK kept of the frame before). The render nodes refer
 *           to that image surface through cairo's snapshot of it, which
 *           takes a copy of the picture only when the image surface ends
 *           (a mode change, a disconnect); the image surface holds the
 *           mapping (mksclient_surface_hold) until then, so no node ever
 *           reads it unmapped.
 *
 * Input while grabbed: keys as evdev codes (the hardware keycode less 8,
 * as X11 and Wayland number them) with the keysym; the pointer as
 * absolute surface positions through the current scale.
 */
#include "ui/vmws-console.h"
#include "cui/mksclient.h"
#include "mks/console/buttons.h"

#include <glib-unix.h>
#include <limits.h>
#include <string.h>

#define TILE 128
#define CONNECT_TRIES 5

/* Linux input event codes (linux/input-event-codes.h). */
#define EVDEV_LEFTCTRL 29
#define EVDEV_LEFTALT 56
#define EVDEV_DELETE 111

typedef struct held_key {
   guint32 keysym;
   guint32 code;
} held_key;

struct _VmwsConsole {
   GtkWidget parent;

   char *socket;
   unsigned generation;      /* bumped by every set_socket */
   unsigned tries;
   guint retry_src;
   GCancellable *connecting;
   mksclient *mc;
   guint watch;
   GIOCondition watch_cond;
   char *error;
   guint64 frames;
   vmws_console_stats stats;

   unsigned sw, sh;          /* surface size */
   unsigned cols, rows;
   GdkTexture **tiles;       /* GL renderer */
   guint8 *dirty;            /* per tile: its texture is stale */
   /* Cairo renderer: the shared surface as a cairo image (RGB24 over the
    * mapping, which it holds). */
   cairo_surface_t *shared;
   gboolean ack_pending;

   GdkTexture *cursor_tex;
   GdkCursor *cursor;
   int hot_x, hot_y;
   int cur_x, cur_y;
   gboolean cur_visible;

   gboolean fit;
   gboolean grabbed;
   GArray *held;             /* held_key: keys down in the guest */
   unsigned buttons;
   int px, py;               /* last pointer position sent */

   /* Geometry of the last snapshot. */
   double scale, ox, oy;

   /* GtkScrollable: 1:1 pans through these; scaled, nothing scrolls. */
   GtkAdjustment *hadj, *vadj;
   GtkScrollablePolicy hpolicy, vpolicy;
};

G_DEFINE_TYPE_WITH_CODE(VmwsConsole, vmws_console, GTK_TYPE_WIDGET,
                        G_IMPLEMENT_INTERFACE(GTK_TYPE_SCROLLABLE, NULL))

enum {
   PROP_0,
   PROP_SOCKET,
   PROP_CONNECTED,
   PROP_ERROR,
   PROP_FIT,
   PROP_GRABBED,
   N_PROPS,
   /* GtkScrollable's, overridden */
   PROP_HADJUSTMENT = N_PROPS,
   PROP_VADJUSTMENT,
   PROP_HSCROLL_POLICY,
   PROP_VSCROLL_POLICY,
};
static GParamSpec *props[N_PROPS];

static void disconnect(VmwsConsole *c, const char *why);
static void start_connect(VmwsConsole *c);
static void configure_adjustments(VmwsConsole *c);

/* ---- tiles */

static void
free_textures(VmwsConsole *c)
{
   for (unsigned i = 0; c->tiles && i < c->cols * c->rows; i++) {
      g_clear_object(&c->tiles[i]);
   }
   if (c->dirty) {
      memset(c->dirty, 1, c->cols * c->rows);
   }
}

static void
free_tiles(VmwsConsole *c)
{
   free_textures(c);
   g_clear_pointer(&c->tiles, g_free);
   g_clear_pointer(&c->dirty, g_free);
   /* Cairo copies the picture for the nodes GTK may still keep (its
    * snapshot's copy-on-write), then lets go of the mapping. */
   g_clear_pointer(&c->shared, cairo_surface_destroy);
   c->cols = c->rows = 0;
}

static void
new_surface(VmwsConsole *c, unsigned w, unsigned h)
{
   free_tiles(c);
   c->sw = w;
   c->sh = h;
   c->cols = (w + TILE - 1) / TILE;
   c->rows = (h + TILE - 1) / TILE;
   c->tiles = g_new0(GdkTexture *, c->cols * c->rows);
   c->dirty = g_new(guint8, c->cols * c->rows);
   memset(c->dirty, 1, c->cols * c->rows);
   configure_adjustments(c);
}

/* A tile's texture from the shared surface (alpha forced opaque: the
 * surface is XRGB). */
static GdkTexture *
make_tile(const uint32_t *pixels, size_t stride, unsigned x0, unsigned y0, unsigned w,
          unsigned h)
{
   guint32 *buf = g_malloc((gsize)w * h * 4);
   for (unsigned y = 0; y < h; y++) {
      const uint32_t *src = (const uint32_t *)((const guint8 *)pixels +
                                               (y0 + y) * stride) + x0;
      guint32 *dst = buf + (gsize)y * w;
      for (unsigned x = 0; x < w; x++) {
         dst[x] = src[x] | 0xff000000u;
      }
   }
   GBytes *bytes = g_bytes_new_take(buf, (gsize)w * h * 4);
   GdkTexture *t = gdk_memory_texture_new((int)w, (int)h, GDK_MEMORY_B8G8R8A8_PREMULTIPLIED,
                                          bytes, (gsize)w * 4);
   g_bytes_unref(bytes);
   return t;
}

/* Bring the dirty tiles' textures (GL renderer) up to date from the
 * shared surface. */
static void
rebuild_dirty(VmwsConsole *c)
{
   const uint32_t *pixels;
   unsigned w, h;
   size_t stride;
   if (!c->mc || !mksclient_surface(c->mc, &pixels, &w, &h, &stride) || w != c->sw ||
       h != c->sh) {
      return;
   }
   for (unsigned ty = 0; ty < c->rows; ty++) {
      for (unsigned tx = 0; tx < c->cols; tx++) {
         unsigned i = ty * c->cols + tx;
         if (!c->dirty[i]) {
            continue;
         }
         unsigned x0 = tx * TILE, y0 = ty * TILE;
         g_clear_object(&c->tiles[i]);
         c->tiles[i] = make_tile(pixels, stride, x0, y0, MIN(TILE, w - x0), MIN(TILE, h - y0));
         c->stats.tiles_made++;
         c->dirty[i] = 0;
      }
   }
}

static void
release_hold(void *hold)
{
   mksclient_surface_release(hold);
}

/* The shared surface as a cairo image (cairo renderer), made once per
 * surface; NULL when there is none. */
static cairo_surface_t *
shared_image(VmwsConsole *c)
{
   const uint32_t *pixels;
   unsigned w, h;
   size_t stride;
   static cairo_user_data_key_t hold_key;
   if (c->shared || !c->mc || !mksclient_surface(c->mc, &pixels, &w, &h, &stride) ||
       w != c->sw || h != c->sh || stride > INT_MAX) {
      return c->shared;
   }
   /* XRGB8888 words are cairo's RGB24 (the X byte is not looked at); the
    * stride is a multiple of 4 of at least 4 * w (mksclient checked). */
   cairo_surface_t *s = cairo_image_surface_create_for_data(
      (unsigned char *)pixels, CAIRO_FORMAT_RGB24, (int)w, (int)h, (int)stride);
   mksclient_hold *hold = mksclient_surface_hold(c->mc);
   if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS ||
       cairo_surface_set_user_data(s, &hold_key, hold, release_hold) != CAIRO_STATUS_SUCCESS) {
      g_warning("console: cannot draw the guest's %ux%u screen with cairo: %s", w, h,
                cairo_status_to_string(cairo_surface_status(s)));
      cairo_surface_destroy(s);
      mksclient_surface_release(hold);
      return NULL;
   }
   c->shared = s;
   return s;
}

/* ---- frames from the server */

static void
frame_arrived(VmwsConsole *c)
{
   c->frames++;
   c->stats.frames++;
   if (gtk_widget_get_mapped(GTK_WIDGET(c))) {
      c->ack_pending = TRUE;
      gtk_widget_queue_draw(GTK_WIDGET(c));
   } else {
      mksclient_ack(c->mc);
      c->stats.acks++;
   }
}

static void
on_mode(void *opaque, unsigned w, unsigned h)
{
   VmwsConsole *c = opaque;
   new_surface(c, w, h);
   gtk_widget_queue_resize(GTK_WIDGET(c));
   frame_arrived(c);
}

static void
on_damage(void *opaque, const mksclient_rect *r, unsigned n)
{
   VmwsConsole *c = opaque;
   for (unsigned k = 0; k < n && c->dirty; k++) {
      unsigned tx0 = r[k].x / TILE, ty0 = r[k].y / TILE;
      unsigned tx1 = (r[k].x + r[k].w - 1) / TILE, ty1 = (r[k].y + r[k].h - 1) / TILE;
      for (unsigned ty = ty0; ty <= ty1 && ty < c->rows; ty++) {
         for (unsigned tx = tx0; tx <= tx1 && tx < c->cols; tx++) {
            c->dirty[ty * c->cols + tx] = 1;
         }
      }
   }
   frame_arrived(c);
}

static void
update_pointer_cursor(VmwsConsole *c)
{
   GtkWidget *w = GTK_WIDGET(c);
   if (!c->grabbed) {
      gtk_widget_set_cursor(w, NULL);
   } else if (c->cursor && c->cur_visible) {
      gtk_widget_set_cursor(w, c->cursor);
   } else {
      gtk_widget_set_cursor_from_name(w, "none");
   }
}

static void
on_cursor_shape(void *opaque, const uint32_t *argb, unsigned w, unsigned h, unsigned hx,
                unsigned hy, bool premultiplied)
{
   VmwsConsole *c = opaque;
   GBytes *bytes = g_bytes_new(argb, (gsize)w * h * 4);
   g_clear_object(&c->cursor_tex);
   g_clear_object(&c->cursor);
   c->cursor_tex = gdk_memory_texture_new((int)w, (int)h,
                                          premultiplied ? GDK_MEMORY_B8G8R8A8_PREMULTIPLIED
                                                        : GDK_MEMORY_B8G8R8A8,
                                          bytes, (gsize)w * 4);
   g_bytes_unref(bytes);
   c->hot_x = (int)hx;
   c->hot_y = (int)hy;
   c->cursor = gdk_cursor_new_from_texture(c->cursor_tex, c->hot_x, c->hot_y, NULL);
   update_pointer_cursor(c);
   gtk_widget_queue_draw(GTK_WIDGET(c));
}

static void
on_cursor_pos(void *opaque, int x, int y, bool visible)
{
   VmwsConsole *c = opaque;
   gboolean was = c->cur_visible;
   c->cur_x = x;
   c->cur_y = y;
   c->cur_visible = visible;
   if (was != c->cur_visible) {
      update_pointer_cursor(c);
   }
   if (!c->grabbed) {
      gtk_widget_queue_draw(GTK_WIDGET(c)); /* drawn in the picture while not grabbed */
   }
}

/* ---- the socket */

static gboolean on_socket(gint fd, GIOCondition cond, gpointer data);

static void
set_watch(VmwsConsole *c)
{
   GIOCondition want = G_IO_IN | (mksclient_want_write(c->mc) ? G_IO_OUT : 0);
   if (c->watch && want == c->watch_cond) {
      return;
   }
   if (c->watch) {
      g_source_remove(c->watch);
   }
   c->watch_cond = want;
   c->watch = g_unix_fd_add(mksclient_fd(c->mc), want, on_socket, c);
}

static gboolean
on_socket(gint fd, GIOCondition cond, gpointer data)
{
   VmwsConsole *c = data;
   if (!mksclient_dispatch(c->mc)) {
      c->watch = 0; /* removed by returning G_SOURCE_REMOVE */
      disconnect(c, mksclient_error(c->mc));
      return G_SOURCE_REMOVE;
   }
   GIOCondition want = G_IO_IN | (mksclient_want_write(c->mc) ? G_IO_OUT : 0);
   if (want != c->watch_cond) {
      /* Replace this watch: the new one is added, this one ends. */
      c->watch_cond = want;
      c->watch = g_unix_fd_add(fd, want, on_socket, c);
      return G_SOURCE_REMOVE;
   }
   return G_SOURCE_CONTINUE;
}

static void
take_client(VmwsConsole *c, mksclient *mc)
{
   c->mc = mc;
   c->frames = 0;
   memset(&c->stats, 0, sizeof c->stats);
   g_clear_pointer(&c->error, g_free);
   const mksclient_callbacks cb = { on_mode, on_damage, on_cursor_shape, on_cursor_pos, c };
   mksclient_set_callbacks(mc, &cb);
   const uint32_t *pixels;
   unsigned w = 0, h = 0;
   size_t stride;
   mksclient_surface(mc, &pixels, &w, &h, &stride);
   new_surface(c, w, h);
   const uint32_t *argb;
   unsigned cw, ch, hx, hy;
   bool pm;
   if (mksclient_cursor(mc, &argb, &cw, &ch, &hx, &hy, &pm)) {
      on_cursor_shape(c, argb, cw, ch, hx, hy, pm);
   }
   int x, y;
   bool vis;
   mksclient_cursor_pos(mc, &x, &y, &vis);
   c->cur_x = x;
   c->cur_y = y;
   c->cur_visible = vis;
   set_watch(c);
   frame_arrived(c); /* the HELLO's frame */
   gtk_widget_queue_resize(GTK_WIDGET(c));
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_CONNECTED]);
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_ERROR]);
}

typedef struct connect_job {
   VmwsConsole *c;   /* a reference */
   unsigned generation;
} connect_job;

static void
connect_thread(GTask *task, gpointer source, gpointer data, GCancellable *cancel)
{
   char *err = NULL;
   mksclient *mc = mksclient_connect(g_task_get_task_data(task), &err);
   if (mc) {
      g_task_return_pointer(task, mc, (GDestroyNotify)mksclient_free);
   } else {
      g_task_return_new_error(task, G_IO_ERROR, G_IO_ERROR_FAILED, "%s", err);
      g_free(err);
   }
}

static gboolean
retry_cb(gpointer data)
{
   VmwsConsole *c = data;
   c->retry_src = 0;
   start_connect(c);
   return G_SOURCE_REMOVE;
}

static void
connect_done(GObject *source, GAsyncResult *res, gpointer data)
{
   connect_job *j = data;
   VmwsConsole *c = j->c;
   GError *e = NULL;
   mksclient *mc = g_task_propagate_pointer(G_TASK(res), &e);
   if (j->generation != c->generation || c->mc) {
      /* The socket changed meanwhile: this connection is not wanted. */
      mksclient_free(mc);
      g_clear_error(&e);
   } else {
      g_clear_object(&c->connecting);
      if (mc) {
         take_client(c, mc);
      } else {
         g_free(c->error);
         c->error = g_strdup(e->message);
         g_object_notify_by_pspec(G_OBJECT(c), props[PROP_ERROR]);
         g_clear_error(&e);
         if (++c->tries < CONNECT_TRIES && c->socket) {
            c->retry_src = g_timeout_add(1000, retry_cb, c);
         }
      }
   }
   g_object_unref(c);
   g_free(j);
}

static void
start_connect(VmwsConsole *c)
{
   if (!c->socket || c->mc || c->connecting) {
      return;
   }
   c->connecting = g_cancellable_new();
   connect_job *j = g_new0(connect_job, 1);
   j->c = g_object_ref(c);
   j->generation = c->generation;
   GTask *t = g_task_new(NULL, c->connecting, connect_done, j);
   g_task_set_task_data(t, g_strdup(c->socket), g_free);
   g_task_set_check_cancellable(t, FALSE);
   g_task_run_in_thread(t, connect_thread);
   g_object_unref(t);
}

static void
disconnect(VmwsConsole *c, const char *reason)
{
   /* reason may be the client's own text: keep a copy past its end. */
   char *why = g_strdup(reason);
   gboolean was = c->mc != NULL;
   if (c->grabbed) {
      vmws_console_release(c);
   }
   if (c->watch) {
      g_source_remove(c->watch);
      c->watch = 0;
   }
   g_clear_pointer(&c->mc, mksclient_free);
   free_tiles(c);
   c->sw = c->sh = 0;
   c->ack_pending = FALSE;
   g_clear_object(&c->cursor);
   g_clear_object(&c->cursor_tex);
   c->cur_visible = FALSE;
   configure_adjustments(c);
   if (why) {
      g_free(c->error);
      c->error = why;
      g_object_notify_by_pspec(G_OBJECT(c), props[PROP_ERROR]);
   }
   gtk_widget_queue_resize(GTK_WIDGET(c));
   if (was) {
      g_object_notify_by_pspec(G_OBJECT(c), props[PROP_CONNECTED]);
   }
}

void
vmws_console_set_socket(VmwsConsole *c, const char *path)
{
   if (path && !*path) {
      path = NULL;
   }
   if (!g_strcmp0(path, c->socket)) {
      return;
   }
   c->generation++;
   c->tries = 0;
   if (c->retry_src) {
      g_source_remove(c->retry_src);
      c->retry_src = 0;
   }
   if (c->connecting) {
      g_cancellable_cancel(c->connecting);
      g_clear_object(&c->connecting);
   }
   disconnect(c, NULL);
   g_clear_pointer(&c->error, g_free);
   g_free(c->socket);
   c->socket = g_strdup(path);
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_SOCKET]);
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_ERROR]);
   start_connect(c);
}

gboolean
vmws_console_get_connected(VmwsConsole *c)
{
   return c->mc != NULL;
}

const char *
vmws_console_get_error(VmwsConsole *c)
{
   return c->error;
}

void
vmws_console_get_guest_size(VmwsConsole *c, unsigned *w, unsigned *h)
{
   *w = c->mc ? c->sw : 0;
   *h = c->mc ? c->sh : 0;
}

guint64
vmws_console_get_frames(VmwsConsole *c)
{
   return c->frames;
}

void
vmws_console_get_stats(VmwsConsole *c, vmws_console_stats *out)
{
   *out = c->stats;
}

/* ---- drawing */

static void
geometry(VmwsConsole *c)
{
   double W = gtk_widget_get_width(GTK_WIDGET(c)), H = gtk_widget_get_height(GTK_WIDGET(c));
   if (!c->sw || !c->sh || W <= 0 || H <= 0) {
      c->scale = 1;
      c->ox = c->oy = 0;
      return;
   }
   c->scale = c->fit ? MIN(W / c->sw, H / c->sh) : 1.0;
   /* Whole pixels: at a half-pixel offset every texel is filtered across
    * its neighbours (a blurred picture at 1:1; seams between the tiles
    * with the cairo renderer). */
   c->ox = (int)MAX(0, (W - c->sw * c->scale) / 2);
   c->oy = (int)MAX(0, (H - c->sh * c->scale) / 2);
   if (!c->fit) {
      /* 1:1 and larger than the widget: where the scroll bars are. */
      if (c->hadj && c->sw > W) {
         c->ox = -(int)(gtk_adjustment_get_value(c->hadj) + 0.5);
      }
      if (c->vadj && c->sh > H) {
         c->oy = -(int)(gtk_adjustment_get_value(c->vadj) + 0.5);
      }
   }
}

/* The adjustments describe what is visible of the guest's screen. */
static void
configure_adjustments(VmwsConsole *c)
{
   double W = gtk_widget_get_width(GTK_WIDGET(c)), H = gtk_widget_get_height(GTK_WIDGET(c));
   gboolean scroll = !c->fit && c->mc;
   double uw = scroll ? MAX(W, c->sw) : W, uh = scroll ? MAX(H, c->sh) : H;
   if (c->hadj) {
      gtk_adjustment_configure(c->hadj, CLAMP(gtk_adjustment_get_value(c->hadj), 0, uw - W), 0,
                               uw, 32, W * 0.9, W);
   }
   if (c->vadj) {
      gtk_adjustment_configure(c->vadj, CLAMP(gtk_adjustment_get_value(c->vadj), 0, uh - H), 0,
                               uh, 32, H * 0.9, H);
   }
}

static void
vmws_console_size_allocate(GtkWidget *w, int width, int height, int baseline)
{
   configure_adjustments(VMWS_CONSOLE(w));
}

static void
on_adjustment(GtkAdjustment *adj, gpointer data)
{
   gtk_widget_queue_draw(GTK_WIDGET(data));
}

static void
set_adjustment(VmwsConsole *c, GtkAdjustment **slot, GtkAdjustment *adj)
{
   if (*slot == adj) {
      return;
   }
   if (*slot) {
      g_signal_handlers_disconnect_by_func(*slot, on_adjustment, c);
      g_object_unref(*slot);
   }
   *slot = adj ? g_object_ref_sink(adj) : NULL;
   if (*slot) {
      g_signal_connect(*slot, "value-changed", G_CALLBACK(on_adjustment), c);
      configure_adjustments(c);
   }
}

static void
vmws_console_snapshot(GtkWidget *w, GtkSnapshot *s)
{
   VmwsConsole *c = VMWS_CONSOLE(w);
   double W = gtk_widget_get_width(w), H = gtk_widget_get_height(w);
   GdkRGBA black = { 0, 0, 0, 1 };
   if (!c->mc || !c->tiles) {
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(0, 0, W, H));
      return;
   }
   GtkNative *native = gtk_widget_get_native(w);
   GskRenderer *renderer = native ? gtk_native_get_renderer(native) : NULL;
   cairo_surface_t *image = NULL;
   if (renderer && GSK_IS_CAIRO_RENDERER(renderer)) {
      image = shared_image(c);
      free_textures(c);   /* of a GL renderer before: stale by now */
   } else {
      g_clear_pointer(&c->shared, cairo_surface_destroy);
      rebuild_dirty(c);
   }
   geometry(c);
   /* Black only around the picture: under it, every frame would paint
    * its pixels twice. */
   double x0 = MAX(0, c->ox), y0 = MAX(0, c->oy);
   double x1 = MIN(W, c->ox + c->sw * c->scale), y1 = MIN(H, c->oy + c->sh * c->scale);
   if (x1 <= x0 || y1 <= y0) {
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(0, 0, W, H));
   } else {
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(0, 0, W, y0));
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(0, y1, W, H - y1));
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(0, y0, x0, y1 - y0));
      gtk_snapshot_append_color(s, &black, &GRAPHENE_RECT_INIT(x1, y0, W - x1, y1 - y0));
   }
   gtk_snapshot_save(s);
   gtk_snapshot_translate(s, &GRAPHENE_POINT_INIT(c->ox, c->oy));
   if (image) {
      /* Scaled here, not by the snapshot: GTK 4.8 applies a snapshot's
       * scale to the cairo context before its translation, which moves
       * the picture by the widget's offset times (scale - 1). */
      cairo_t *cr = gtk_snapshot_append_cairo(
         s, &GRAPHENE_RECT_INIT(0, 0, c->sw * c->scale, c->sh * c->scale));
      cairo_scale(cr, c->scale, c->scale);
      cairo_set_source_surface(cr, image, 0, 0);
      cairo_pattern_set_filter(cairo_get_source(cr),
                               c->scale == 1.0 ? CAIRO_FILTER_NEAREST : CAIRO_FILTER_GOOD);
      cairo_paint(cr);
      cairo_destroy(cr);
   }
   gtk_snapshot_scale(s, c->scale, c->scale);
   for (unsigned ty = 0; ty < c->rows && !image; ty++) {
      for (unsigned tx = 0; tx < c->cols; tx++) {
         GdkTexture *t = c->tiles[ty * c->cols + tx];
         if (t) {
            gtk_snapshot_append_texture(s, t,
                                        &GRAPHENE_RECT_INIT(tx * TILE, ty * TILE,
                                                            gdk_texture_get_width(t),
                                                            gdk_texture_get_height(t)));
         }
      }
   }
   /* While not grabbed the host pointer is ours: show where the guest's
    * cursor is, in the picture. */
   if (!c->grabbed && c->cursor_tex && c->cur_visible) {
      gtk_snapshot_append_texture(s, c->cursor_tex,
                                  &GRAPHENE_RECT_INIT(c->cur_x - c->hot_x, c->cur_y - c->hot_y,
                                                      gdk_texture_get_width(c->cursor_tex),
                                                      gdk_texture_get_height(c->cursor_tex)));
   }
   gtk_snapshot_restore(s);
   c->stats.draws++;
   if (c->ack_pending) {
      c->ack_pending = FALSE;
      mksclient_ack(c->mc);
      c->stats.acks++;
      set_watch(c);
   }
}

static void
vmws_console_measure(GtkWidget *w, GtkOrientation o, int for_size, int *min, int *nat,
                     int *min_base, int *nat_base)
{
   VmwsConsole *c = VMWS_CONSOLE(w);
   unsigned size = o == GTK_ORIENTATION_HORIZONTAL ? c->sw : c->sh;
   if (!size) {
      size = o == GTK_ORIENTATION_HORIZONTAL ? 640 : 480;
   }
   /* Any size will do: scaled, the picture fits; 1:1, the scrolled
    * window around it pans through the adjustments. The natural size is
    * the guest's, for windows that can grow to show it whole. */
   *min = 16;
   *nat = (int)size;
}

static void
vmws_console_map(GtkWidget *w)
{
   VmwsConsole *c = VMWS_CONSOLE(w);
   GTK_WIDGET_CLASS(vmws_console_parent_class)->map(w);
   /* Frames taken while hidden were acknowledged unseen: redraw all. */
   if (c->dirty) {
      memset(c->dirty, 1, c->cols * c->rows);
   }
   gtk_widget_queue_draw(w);
}

/* ---- input */

static void
to_guest(VmwsConsole *c, double x, double y, int *gx, int *gy)
{
   geometry(c);
   double sx = (x - c->ox) / c->scale, sy = (y - c->oy) / c->scale;
   *gx = (int)CLAMP(sx, 0, c->sw ? c->sw - 1 : 0);
   *gy = (int)CLAMP(sy, 0, c->sh ? c->sh - 1 : 0);
}

void
vmws_console_to_guest(VmwsConsole *c, double x, double y, int *gx, int *gy)
{
   to_guest(c, x, y, gx, gy);
}

static void
send_pointer(VmwsConsole *c, double x, double y, int dz, int dw)
{
   if (!c->mc) {
      return;
   }
   to_guest(c, x, y, &c->px, &c->py);
   mksclient_send_pointer(c->mc, c->px, c->py, c->buttons, dz, dw);
   c->stats.pointer++;
   set_watch(c);
}

static void
send_key(VmwsConsole *c, guint32 keysym, guint32 code, gboolean down)
{
   if (!c->mc) {
      return;
   }
   /* Only keysyms the protocol takes (< 0x20000000), and evdev codes the
    * server accepts; unknown keys go by keysym alone. */
   if (keysym >= 0x20000000u) {
      keysym = 0;
   }
   if (!keysym && !code) {
      return;
   }
   if (!mksclient_send_key(c->mc, keysym, code, down) && code) {
      mksclient_send_key(c->mc, keysym, 0, down);
   }
   c->stats.keys++;
   set_watch(c);
   if (down) {
      for (guint i = 0; i < c->held->len; i++) {
         held_key *k = &g_array_index(c->held, held_key, i);
         if (k->code == code && k->keysym == keysym) {
            return;
         }
      }
      held_key k = { keysym, code };
      g_array_append_val(c->held, k);
   } else {
      for (guint i = 0; i < c->held->len; i++) {
         held_key *k = &g_array_index(c->held, held_key, i);
         if ((code && k->code == code) || (!code && k->keysym == keysym)) {
            g_array_remove_index(c->held, i);
            break;
         }
      }
   }
}

void
vmws_console_grab(VmwsConsole *c)
{
   if (c->grabbed || !c->mc) {
      return;
   }
   c->grabbed = TRUE;
   gtk_widget_grab_focus(GTK_WIDGET(c));
   GtkNative *native = gtk_widget_get_native(GTK_WIDGET(c));
   GdkSurface *surf = native ? gtk_native_get_surface(native) : NULL;
   if (surf && GDK_IS_TOPLEVEL(surf)) {
      gdk_toplevel_inhibit_system_shortcuts(GDK_TOPLEVEL(surf), NULL);
   }
   update_pointer_cursor(c);
   gtk_widget_queue_draw(GTK_WIDGET(c));
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_GRABBED]);
}

void
vmws_console_release(VmwsConsole *c)
{
   if (!c->grabbed) {
      return;
   }
   /* Nothing stays pressed in the guest. */
   for (guint i = c->held->len; i-- > 0 && c->mc;) {
      held_key k = g_array_index(c->held, held_key, i);
      mksclient_send_key(c->mc, k.keysym, k.code, false);
      c->stats.keys++;
   }
   g_array_set_size(c->held, 0);
   if (c->mc) {
      set_watch(c);
   }
   if (c->buttons && c->mc) {
      c->buttons = 0;
      mksclient_send_pointer(c->mc, c->px, c->py, 0, 0, 0);
      set_watch(c);
   }
   c->buttons = 0;
   c->grabbed = FALSE;
   GtkNative *native = gtk_widget_get_native(GTK_WIDGET(c));
   GdkSurface *surf = native ? gtk_native_get_surface(native) : NULL;
   if (surf && GDK_IS_TOPLEVEL(surf)) {
      gdk_toplevel_restore_system_shortcuts(GDK_TOPLEVEL(surf));
   }
   update_pointer_cursor(c);
   gtk_widget_queue_draw(GTK_WIDGET(c));
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_GRABBED]);
}

gboolean
vmws_console_get_grabbed(VmwsConsole *c)
{
   return c->grabbed;
}

static gboolean
is_ctrl(guint keyval)
{
   return keyval == GDK_KEY_Control_L || keyval == GDK_KEY_Control_R;
}

static gboolean
is_alt(guint keyval)
{
   return keyval == GDK_KEY_Alt_L || keyval == GDK_KEY_Alt_R || keyval == GDK_KEY_Meta_L ||
          keyval == GDK_KEY_Meta_R;
}

gboolean
vmws_console_key_event(VmwsConsole *c, guint keyval, guint keycode, GdkModifierType state,
                       gboolean pressed)
{
   if (!c->grabbed) {
      return FALSE;
   }
   /* Ctrl+Alt gives keyboard and pointer back. */
   if (pressed && ((is_ctrl(keyval) && (state & GDK_ALT_MASK)) ||
                   (is_alt(keyval) && (state & GDK_CONTROL_MASK)))) {
      vmws_console_release(c);
      return TRUE;
   }
   guint32 code = keycode >= 8 ? keycode - 8 : 0;
   send_key(c, keyval, code, pressed);
   return TRUE;
}

gboolean
vmws_console_send_ctrl_alt_del(VmwsConsole *c)
{
   if (!c->mc) {
      return FALSE;
   }
   send_key(c, GDK_KEY_Control_L, EVDEV_LEFTCTRL, TRUE);
   send_key(c, GDK_KEY_Alt_L, EVDEV_LEFTALT, TRUE);
   send_key(c, GDK_KEY_Delete, EVDEV_DELETE, TRUE);
   send_key(c, GDK_KEY_Delete, EVDEV_DELETE, FALSE);
   send_key(c, GDK_KEY_Alt_L, EVDEV_LEFTALT, FALSE);
   send_key(c, GDK_KEY_Control_L, EVDEV_LEFTCTRL, FALSE);
   return TRUE;
}

static unsigned
button_bit(guint button)
{
   switch (button) {
   case GDK_BUTTON_PRIMARY: return MKS_BUTTON_LEFT;
   case GDK_BUTTON_MIDDLE: return MKS_BUTTON_MIDDLE;
   case GDK_BUTTON_SECONDARY: return MKS_BUTTON_RIGHT;
   case 8: return MKS_BUTTON_SIDE;
   case 9: return MKS_BUTTON_EXTRA;
   default: return 0;
   }
}

static gboolean
on_event(GtkEventControllerLegacy *ctl, GdkEvent *ev, gpointer data)
{
   VmwsConsole *c = data;
   GdkEventType type = gdk_event_get_event_type(ev);
   double x = 0, y = 0;
   if (type == GDK_BUTTON_PRESS || type == GDK_BUTTON_RELEASE || type == GDK_MOTION_NOTIFY ||
       type == GDK_SCROLL) {
      /* Event positions are in the surface; ours are widget coordinates. */
      double ex, ey;
      gdk_event_get_position(ev, &ex, &ey);
      GtkNative *native = gtk_widget_get_native(GTK_WIDGET(c));
      double nx = 0, ny = 0;
      gtk_native_get_surface_transform(native, &nx, &ny);
      graphene_point_t in = GRAPHENE_POINT_INIT((float)(ex - nx), (float)(ey - ny)), out;
      if (!gtk_widget_compute_point(GTK_WIDGET(native), GTK_WIDGET(c), &in, &out)) {
         return FALSE;
      }
      x = out.x;
      y = out.y;
   }
   switch (type) {
   case GDK_BUTTON_PRESS:
      if (!c->grabbed) {
         if (gdk_button_event_get_button(ev) == GDK_BUTTON_PRIMARY && c->mc) {
            vmws_console_grab(c);
            send_pointer(c, x, y, 0, 0); /* the guest's pointer to where we clicked */
            return TRUE;
         }
         return FALSE;
      }
      c->buttons |= button_bit(gdk_button_event_get_button(ev));
      send_pointer(c, x, y, 0, 0);
      return TRUE;
   case GDK_BUTTON_RELEASE:
      if (!c->grabbed) {
         return FALSE;
      }
      c->buttons &= ~button_bit(gdk_button_event_get_button(ev));
      send_pointer(c, x, y, 0, 0);
      return TRUE;
   case GDK_MOTION_NOTIFY:
      if (!c->grabbed) {
         return FALSE;
      }
      send_pointer(c, x, y, 0, 0);
      return TRUE;
   case GDK_SCROLL: {
      if (!c->grabbed) {
         return FALSE;
      }
      int dz = 0, dw = 0;
      switch (gdk_scroll_event_get_direction(ev)) {
      case GDK_SCROLL_UP: dz = 1; break;
      case GDK_SCROLL_DOWN: dz = -1; break;
      case GDK_SCROLL_LEFT: dw = -1; break;
      case GDK_SCROLL_RIGHT: dw = 1; break;
      case GDK_SCROLL_SMOOTH: {
         double dx, dy;
         gdk_scroll_event_get_deltas(ev, &dx, &dy);
         dz = dy < 0 ? 1 : dy > 0 ? -1 : 0;
         dw = dx > 0 ? 1 : dx < 0 ? -1 : 0;
         break;
      }
      }
      send_pointer(c, x, y, dz, dw);
      return TRUE;
   }
   default:
      return FALSE;
   }
}

static void
on_focus_leave(GtkEventControllerFocus *ctl, gpointer data)
{
   /* Another window (or widget) took the keyboard: give the input back. */
   vmws_console_release(VMWS_CONSOLE(data));
}

/* ---- properties, life cycle */

void
vmws_console_set_fit(VmwsConsole *c, gboolean fit)
{
   fit = !!fit;
   if (c->fit == fit) {
      return;
   }
   c->fit = fit;
   configure_adjustments(c);
   gtk_widget_queue_resize(GTK_WIDGET(c));
   g_object_notify_by_pspec(G_OBJECT(c), props[PROP_FIT]);
}

gboolean
vmws_console_get_fit(VmwsConsole *c)
{
   return c->fit;
}

static void
vmws_console_get_property(GObject *obj, guint id, GValue *value, GParamSpec *pspec)
{
   VmwsConsole *c = VMWS_CONSOLE(obj);
   switch (id) {
   case PROP_SOCKET: g_value_set_string(value, c->socket); break;
   case PROP_CONNECTED: g_value_set_boolean(value, c->mc != NULL); break;
   case PROP_ERROR: g_value_set_string(value, c->error); break;
   case PROP_FIT: g_value_set_boolean(value, c->fit); break;
   case PROP_GRABBED: g_value_set_boolean(value, c->grabbed); break;
   case PROP_HADJUSTMENT: g_value_set_object(value, c->hadj); break;
   case PROP_VADJUSTMENT: g_value_set_object(value, c->vadj); break;
   case PROP_HSCROLL_POLICY: g_value_set_enum(value, c->hpolicy); break;
   case PROP_VSCROLL_POLICY: g_value_set_enum(value, c->vpolicy); break;
   default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
   }
}

static void
vmws_console_set_property(GObject *obj, guint id, const GValue *value, GParamSpec *pspec)
{
   VmwsConsole *c = VMWS_CONSOLE(obj);
   switch (id) {
   case PROP_SOCKET: vmws_console_set_socket(c, g_value_get_string(value)); break;
   case PROP_FIT: vmws_console_set_fit(c, g_value_get_boolean(value)); break;
   case PROP_HADJUSTMENT: set_adjustment(c, &c->hadj, g_value_get_object(value)); break;
   case PROP_VADJUSTMENT: set_adjustment(c, &c->vadj, g_value_get_object(value)); break;
   case PROP_HSCROLL_POLICY: c->hpolicy = g_value_get_enum(value); break;
   case PROP_VSCROLL_POLICY: c->vpolicy = g_value_get_enum(value); break;
   default: G_OBJECT_WARN_INVALID_PROPERTY_ID(obj, id, pspec);
   }
}

static void
vmws_console_dispose(GObject *obj)
{
   VmwsConsole *c = VMWS_CONSOLE(obj);
   if (c->retry_src) {
      g_source_remove(c->retry_src);
      c->retry_src = 0;
   }
   if (c->connecting) {
      g_cancellable_cancel(c->connecting);
      g_clear_object(&c->connecting);
   }
   c->generation++;
   disconnect(c, NULL);
   set_adjustment(c, &c->hadj, NULL);
   set_adjustment(c, &c->vadj, NULL);
   G_OBJECT_CLASS(vmws_console_parent_class)->dispose(obj);
}

static void
vmws_console_finalize(GObject *obj)
{
   VmwsConsole *c = VMWS_CONSOLE(obj);
   g_free(c->socket);
   g_free(c->error);
   g_array_unref(c->held);
   G_OBJECT_CLASS(vmws_console_parent_class)->finalize(obj);
}

static void
vmws_console_class_init(VmwsConsoleClass *klass)
{
   GObjectClass *oc = G_OBJECT_CLASS(klass);
   GtkWidgetClass *wc = GTK_WIDGET_CLASS(klass);
   oc->get_property = vmws_console_get_property;
   oc->set_property = vmws_console_set_property;
   oc->dispose = vmws_console_dispose;
   oc->finalize = vmws_console_finalize;
   wc->snapshot = vmws_console_snapshot;
   wc->measure = vmws_console_measure;
   wc->map = vmws_console_map;
   wc->size_allocate = vmws_console_size_allocate;
   props[PROP_SOCKET] = g_param_spec_string("socket", NULL, NULL, NULL,
                                            G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                               G_PARAM_EXPLICIT_NOTIFY);
   props[PROP_CONNECTED] = g_param_spec_boolean("connected", NULL, NULL, FALSE,
                                                G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                                   G_PARAM_EXPLICIT_NOTIFY);
   props[PROP_ERROR] = g_param_spec_string("error", NULL, NULL, NULL,
                                           G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                              G_PARAM_EXPLICIT_NOTIFY);
   props[PROP_FIT] = g_param_spec_boolean("fit", NULL, NULL, TRUE,
                                          G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
                                             G_PARAM_EXPLICIT_NOTIFY);
   props[PROP_GRABBED] = g_param_spec_boolean("grabbed", NULL, NULL, FALSE,
                                              G_PARAM_READABLE | G_PARAM_STATIC_STRINGS |
                                                 G_PARAM_EXPLICIT_NOTIFY);
   g_object_class_install_properties(oc, N_PROPS, props);
   g_object_class_override_property(oc, PROP_HADJUSTMENT, "hadjustment");
   g_object_class_override_property(oc, PROP_VADJUSTMENT, "vadjustment");
   g_object_class_override_property(oc, PROP_HSCROLL_POLICY, "hscroll-policy");
   g_object_class_override_property(oc, PROP_VSCROLL_POLICY, "vscroll-policy");
   gtk_widget_class_set_css_name(wc, "vmws-console");
   gtk_widget_class_set_accessible_role(wc, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
vmws_console_init(VmwsConsole *c)
{
   GtkWidget *w = GTK_WIDGET(c);
   c->fit = TRUE;
   c->scale = 1;
   c->held = g_array_new(FALSE, FALSE, sizeof(held_key));
   gtk_widget_set_focusable(w, TRUE);
   gtk_widget_set_overflow(w, GTK_OVERFLOW_HIDDEN);
   GtkEventController *legacy = gtk_event_controller_legacy_new();
   g_signal_connect(legacy, "event", G_CALLBACK(on_event), c);
   gtk_widget_add_controller(w, legacy);
   GtkEventController *focus = gtk_event_controller_focus_new();
   g_signal_connect(focus, "leave", G_CALLBACK(on_focus_leave), c);
   gtk_widget_add_controller(w, focus);
   gtk_accessible_update_property(GTK_ACCESSIBLE(c), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  "Virtual machine console", -1);
}

GtkWidget *
vmws_console_new(void)
{
   return g_object_new(VMWS_TYPE_CONSOLE, NULL);
}
