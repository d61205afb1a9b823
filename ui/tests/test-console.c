/*
 * ui/tests/test-console.c - VmwsConsole against a real local console
 * server (mks/console/local.h) in this process: the picture drawn, damage
 * that replaces only the tiles it touches, frame acknowledgement, scaling
 * and the pointer mapping through it, the guest's cursor (drawn in the
 * picture, or as the pointer while grabbed), keys as evdev codes with keysyms,
 * Ctrl+Alt releasing the grab (and what was held), Ctrl+Alt+Del, and the
 * server going away. Needs a display (tests/ui/run-ui-test.sh gives it
 * one under Xvfb). Runs once with GTK's GL renderer (tiles of textures)
 * and once with its cairo renderer (the shared surface painted as it is,
 * which must survive a mode change).
 */
#include "mks/console/local.h"
#include "ui/vmws-console.h"

#include <glib/gstdio.h>
#include <string.h>

#define W 300
#define H 200

typedef struct input_event {
   bool is_key;
   uint32_t keysym, keycode;
   bool down;
   int x, y;
   unsigned buttons;
} input_event;

/* Input the server got, from its thread. */
static GMutex input_lock;
static GArray *inputs;

static void
on_key(void *opaque, uint32_t keysym, uint32_t keycode, bool down)
{
   input_event e = { .is_key = true, .keysym = keysym, .keycode = keycode, .down = down };
   g_mutex_lock(&input_lock);
   g_array_append_val(inputs, e);
   g_mutex_unlock(&input_lock);
}

static void
on_pointer(void *opaque, int x, int y, unsigned buttons, int dz, int dw)
{
   input_event e = { .is_key = false, .x = x, .y = y, .buttons = buttons };
   g_mutex_lock(&input_lock);
   g_array_append_val(inputs, e);
   g_mutex_unlock(&input_lock);
}

static guint
n_inputs(void)
{
   g_mutex_lock(&input_lock);
   guint n = inputs->len;
   g_mutex_unlock(&input_lock);
   return n;
}

static input_event
input_at(guint i)
{
   g_mutex_lock(&input_lock);
   input_event e = g_array_index(inputs, input_event, i);
   g_mutex_unlock(&input_lock);
   return e;
}

static void
spin_until(gboolean (*cond)(gpointer), gpointer data, const char *what)
{
   gint64 deadline = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
   while (!cond(data)) {
      if (g_get_monotonic_time() > deadline) {
         g_error("timed out waiting for %s", what);
      }
      g_main_context_iteration(NULL, FALSE);
      g_usleep(2000);
   }
}

static gboolean
is_connected(gpointer c)
{
   return vmws_console_get_connected(c);
}

/* Every frame the server sent has been drawn and acknowledged, and the
 * widget has nothing left to draw. */
typedef struct settle {
   VmwsConsole *c;
   mks_local *srv;
   guint64 want_frames;
} settle;

static gboolean
settled(gpointer data)
{
   settle *s = data;
   vmws_console_stats st;
   vmws_console_get_stats(s->c, &st);
   mks_local_stats ss;
   mks_local_get_stats(s->srv, &ss);
   return st.frames >= s->want_frames && st.acks == st.frames && ss.frames == st.frames;
}

static void
wait_frames(VmwsConsole *c, mks_local *srv, guint64 n)
{
   settle s = { c, srv, n };
   spin_until(settled, &s, "frames to be drawn and acknowledged");
   /* A little longer: nothing else may arrive. */
   for (int i = 0; i < 20; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(5000);
   }
}

/* What the widget draws now, as a render node. */
static GskRenderNode *
snapshot_node(GtkWidget *w)
{
   GtkSnapshot *s = gtk_snapshot_new();
   GTK_WIDGET_GET_CLASS(w)->snapshot(w, s);
   GskRenderNode *node = gtk_snapshot_free_to_node(s);
   g_assert_nonnull(node);
   return node;
}

/* A node rendered (by GSK's software renderer) as 0xAARRGGBB pixels. */
static guint32 *
render_node(GskRenderNode *node, int *rw, int *rh)
{
   GskRenderer *r = gsk_cairo_renderer_new();
   g_assert_true(gsk_renderer_realize(r, NULL, NULL));
   GdkTexture *t = gsk_renderer_render_texture(r, node, NULL);
   *rw = gdk_texture_get_width(t);
   *rh = gdk_texture_get_height(t);
   guint32 *px = g_new(guint32, (gsize)*rw * *rh);
   gdk_texture_download(t, (guchar *)px, (gsize)*rw * 4);
   g_object_unref(t);
   gsk_renderer_unrealize(r);
   g_object_unref(r);
   return px;
}

/* The widget rendered as 0xAARRGGBB pixels. */
static guint32 *
render(GtkWidget *w, int *rw, int *rh)
{
   GskRenderNode *node = snapshot_node(w);
   guint32 *px = render_node(node, rw, rh);
   gsk_render_node_unref(node);
   return px;
}

static guint32
pixel_at(GtkWidget *w, int x, int y)
{
   int rw, rh;
   guint32 *px = render(w, &rw, &rh);
   g_assert_cmpint(x, <, rw);
   g_assert_cmpint(y, <, rh);
   guint32 v = px[y * rw + x] & 0xffffff;
   g_free(px);
   return v;
}

static void
fill(guint32 *fb, guint32 colour)
{
   for (int i = 0; i < W * H; i++) {
      fb[i] = colour;
   }
}

static void
test_console(gconstpointer data)
{
   const char *renderer_name = data;
   char *dir = g_dir_make_tmp("vmws-test-console-XXXXXX", NULL);
   g_assert_nonnull(dir);
   char *sock = g_build_filename(dir, "console.mks", NULL);
   inputs = g_array_new(FALSE, FALSE, sizeof(input_event));
   const mks_local_input in = { on_key, on_pointer, NULL };
   char *err = NULL;
   mks_local *srv = mks_local_new(sock, &in, &err);
   if (!srv) {
      g_error("cannot start the console server: %s", err);
   }
   mks_local_set_mode(srv, W, H);
   guint32 *fb = g_new(guint32, W * H);
   fill(fb, 0x00c01010);
   mks_local_update(srv, fb, W * 4, 0, 0, W, H);

   /* The renderer the window gets (GTK looks at this before
    * GSK_RENDERER). */
   g_object_set_data_full(G_OBJECT(gdk_display_get_default()), "gsk-renderer",
                          g_strdup(renderer_name), g_free);
   GtkWidget *win = gtk_window_new();
   gtk_window_set_default_size(GTK_WINDOW(win), 2 * W, 2 * H);
   GtkWidget *cw = vmws_console_new();
   VmwsConsole *c = VMWS_CONSOLE(cw);
   gtk_window_set_child(GTK_WINDOW(win), cw);
   gtk_window_present(GTK_WINDOW(win));

   vmws_console_set_socket(c, sock);
   spin_until(is_connected, c, "the console to connect");
   GskRenderer *renderer = gtk_native_get_renderer(GTK_NATIVE(win));
   g_assert_nonnull(renderer);
   gboolean cairo = GSK_IS_CAIRO_RENDERER(renderer);
   g_test_message("renderer %s", G_OBJECT_TYPE_NAME(renderer));
   if (!strcmp(renderer_name, "cairo")) {
      g_assert_true(cairo);
   } else if (cairo) {
      g_test_message("no GL renderer here: the cairo one again");
   }
   unsigned gw, gh;
   vmws_console_get_guest_size(c, &gw, &gh);
   g_assert_cmpuint(gw, ==, W);
   g_assert_cmpuint(gh, ==, H);
   wait_frames(c, srv, 1);
   vmws_console_stats st0;
   vmws_console_get_stats(c, &st0);
   /* 300x200 in 128-pixel tiles: 3 x 2, each made once; none with cairo,
    * which paints the shared surface itself. */
   g_assert_cmpuint(st0.tiles_made, ==, cairo ? 0 : 6);
   g_test_message("connected: %" G_GUINT64_FORMAT " frames, %" G_GUINT64_FORMAT " tiles",
                  st0.frames, st0.tiles_made);

   /* Scaled to fit a 600x400 widget: 2x, the guest's red everywhere. */
   int ww = gtk_widget_get_width(cw), wh = gtk_widget_get_height(cw);
   g_test_message("widget %dx%d", ww, wh);
   g_assert_cmpint(ww, >=, W);
   g_assert_cmphex(pixel_at(cw, ww / 2, wh / 2), ==, 0xc01010);

   /* A small change inside one tile: that tile is made again, no other. */
   for (int y = 140; y < 150; y++) {
      for (int x = 140; x < 150; x++) {
         fb[y * W + x] = 0x0010c010;
      }
   }
   mks_local_update(srv, fb, W * 4, 140, 140, 10, 10);
   wait_frames(c, srv, st0.frames + 1);
   vmws_console_stats st1;
   vmws_console_get_stats(c, &st1);
   g_assert_cmpuint(st1.tiles_made - st0.tiles_made, ==, cairo ? 0 : 1);
   int gx, gy;
   /* The changed pixels are where the mapping says. */
   double scale = MIN((double)ww / W, (double)wh / H);
   double ox = (ww - W * scale) / 2, oy = (wh - H * scale) / 2;
   int px = (int)(ox + 145 * scale), py = (int)(oy + 145 * scale);
   vmws_console_to_guest(c, px, py, &gx, &gy);
   g_assert_cmpint(gx, ==, 145);
   g_assert_cmpint(gy, ==, 145);
   g_assert_cmphex(pixel_at(cw, px, py), ==, 0x10c010);
   g_assert_cmphex(pixel_at(cw, (int)(ox + 10 * scale), (int)(oy + 10 * scale)), ==, 0xc01010);
   /* Outside the picture clamps to its edge. */
   vmws_console_to_guest(c, -50, 100000, &gx, &gy);
   g_assert_cmpint(gx, ==, 0);
   g_assert_cmpint(gy, ==, H - 1);

   /* A change across two tiles: both, only. */
   mks_local_update(srv, fb, W * 4, 120, 10, 20, 5);
   wait_frames(c, srv, st1.frames + 1);
   vmws_console_stats st2;
   vmws_console_get_stats(c, &st2);
   g_assert_cmpuint(st2.tiles_made - st1.tiles_made, ==, cairo ? 0 : 2);

   /* 1:1: the guest's pixels unscaled, centred in the larger widget. */
   vmws_console_set_fit(c, FALSE);
   for (int i = 0; i < 20; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(5000);
   }
   ww = gtk_widget_get_width(cw);
   wh = gtk_widget_get_height(cw);
   vmws_console_to_guest(c, (ww - W) / 2.0 + 7, (wh - H) / 2.0 + 9, &gx, &gy);
   g_assert_cmpint(gx, ==, 7);
   g_assert_cmpint(gy, ==, 9);
   /* Unscaled and in whole pixels: the changed block's corners exactly
    * where they are in the guest, black around the picture. */
   ox = (int)((ww - W) / 2);
   oy = (int)((wh - H) / 2);
   g_assert_cmphex(pixel_at(cw, (int)ox + 140, (int)oy + 140), ==, 0x10c010);
   g_assert_cmphex(pixel_at(cw, (int)ox + 149, (int)oy + 149), ==, 0x10c010);
   g_assert_cmphex(pixel_at(cw, (int)ox + 139, (int)oy + 140), ==, 0xc01010);
   g_assert_cmphex(pixel_at(cw, (int)ox + 150, (int)oy + 149), ==, 0xc01010);
   g_assert_cmphex(pixel_at(cw, (int)ox - 1, (int)oy + 5), ==, 0x000000);
   vmws_console_set_fit(c, TRUE);

   /* The guest's cursor: drawn into the picture at its position while the
    * host pointer is ours; the pointer's own image while grabbed. */
   guint32 cur[8 * 8];
   for (int i = 0; i < 8 * 8; i++) {
      cur[i] = 0xff2040ffu;
   }
   mks_local_set_cursor(srv, cur, 8, 8, 2, 3, false);
   mks_local_move_cursor(srv, 100, 60);
   for (int i = 0; i < 50; i++) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(5000);
   }
   ww = gtk_widget_get_width(cw);
   wh = gtk_widget_get_height(cw);
   scale = MIN((double)ww / W, (double)wh / H);
   ox = (ww - W * scale) / 2;
   oy = (wh - H * scale) / 2;
   /* The hot spot is at (100, 60): the image spans (98..105, 57..64). */
   g_assert_cmphex(pixel_at(cw, (int)(ox + 101 * scale), (int)(oy + 61 * scale)), ==, 0x2040ff);
   g_assert_cmphex(pixel_at(cw, (int)(ox + 96 * scale), (int)(oy + 61 * scale)), ==, 0xc01010);
   g_assert_null(gtk_widget_get_cursor(cw));
   vmws_console_grab(c);
   GdkCursor *gc = gtk_widget_get_cursor(cw);
   g_assert_nonnull(gc);
   g_assert_nonnull(gdk_cursor_get_texture(gc));
   g_assert_cmpint(gdk_cursor_get_hotspot_x(gc), ==, 2);
   g_assert_cmpint(gdk_cursor_get_hotspot_y(gc), ==, 3);
   /* Grabbed, the picture has no cursor drawn in it. */
   g_assert_cmphex(pixel_at(cw, (int)(ox + 101 * scale), (int)(oy + 61 * scale)), ==, 0xc01010);
   vmws_console_release(c);
   g_assert_null(gtk_widget_get_cursor(cw));

   /* Keys: nothing goes to the guest until the console is grabbed. */
   g_assert_false(vmws_console_key_event(c, GDK_KEY_a, 38, 0, TRUE));
   vmws_console_grab(c);
   g_assert_true(vmws_console_get_grabbed(c));
   /* X11 keycode 38 is 'a': evdev KEY_A (30), with its keysym. */
   g_assert_true(vmws_console_key_event(c, GDK_KEY_a, 38, 0, TRUE));
   g_assert_true(vmws_console_key_event(c, GDK_KEY_a, 38, 0, FALSE));
   /* Ctrl down, then Alt with Ctrl held: the grab ends, Alt is not sent,
    * and Ctrl is released in the guest. */
   g_assert_true(vmws_console_key_event(c, GDK_KEY_Control_L, 37, 0, TRUE));
   g_assert_true(vmws_console_key_event(c, GDK_KEY_Alt_L, 64, GDK_CONTROL_MASK, TRUE));
   g_assert_false(vmws_console_get_grabbed(c));
   g_assert_false(vmws_console_key_event(c, GDK_KEY_b, 56, 0, TRUE));
   g_assert_true(vmws_console_send_ctrl_alt_del(c));
   static const struct {
      uint32_t keysym, keycode;
      bool down;
   } want[] = {
      { GDK_KEY_a, 30, true },          { GDK_KEY_a, 30, false },
      { GDK_KEY_Control_L, 29, true },  { GDK_KEY_Control_L, 29, false },
      { GDK_KEY_Control_L, 29, true },  { GDK_KEY_Alt_L, 56, true },
      { GDK_KEY_Delete, 111, true },    { GDK_KEY_Delete, 111, false },
      { GDK_KEY_Alt_L, 56, false },     { GDK_KEY_Control_L, 29, false },
   };
   gint64 deadline = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
   while (n_inputs() < G_N_ELEMENTS(want) && g_get_monotonic_time() < deadline) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(2000);
   }
   guint keys = 0;
   for (guint i = 0; i < n_inputs(); i++) {
      input_event e = input_at(i);
      if (!e.is_key) {
         continue;
      }
      g_assert_cmpuint(keys, <, G_N_ELEMENTS(want));
      g_assert_cmphex(e.keysym, ==, want[keys].keysym);
      g_assert_cmpuint(e.keycode, ==, want[keys].keycode);
      g_assert_cmpint(e.down, ==, want[keys].down);
      keys++;
   }
   g_assert_cmpuint(keys, ==, G_N_ELEMENTS(want));

   /* A mode change: the new picture. A node made before it still draws
    * the old picture after the console let go of the old surface (with
    * cairo, which paints the surface itself, cairo copies what such a node
    * refers to before the mapping goes). */
   GskRenderNode *before = snapshot_node(cw);
   vmws_console_stats st3;
   vmws_console_get_stats(c, &st3);
   guint32 *fb2 = g_new(guint32, 200 * 100);
   for (int i = 0; i < 200 * 100; i++) {
      fb2[i] = 0x002050e0;
   }
   mks_local_set_mode(srv, 200, 100);
   mks_local_update(srv, fb2, 200 * 4, 0, 0, 200, 100);
   wait_frames(c, srv, st3.frames + 1);
   vmws_console_get_guest_size(c, &gw, &gh);
   g_assert_cmpuint(gw, ==, 200);
   g_assert_cmpuint(gh, ==, 100);
   ww = gtk_widget_get_width(cw);
   wh = gtk_widget_get_height(cw);
   g_assert_cmphex(pixel_at(cw, ww / 2, wh / 2), ==, 0x2050e0);
   int bw, bh;
   guint32 *old = render_node(before, &bw, &bh);
   g_assert_cmphex(old[(bh / 2) * bw + bw / 2] & 0xffffff, ==, 0xc01010);
   g_free(old);
   gsk_render_node_unref(before);
   g_free(fb2);

   /* The server goes away: the console says why and shows nothing. */
   mks_local_free(srv);
   gint64 end = g_get_monotonic_time() + 5 * G_USEC_PER_SEC;
   while (vmws_console_get_connected(c) && g_get_monotonic_time() < end) {
      g_main_context_iteration(NULL, FALSE);
      g_usleep(2000);
   }
   g_assert_false(vmws_console_get_connected(c));
   g_assert_nonnull(vmws_console_get_error(c));
   g_assert_true(g_utf8_validate(vmws_console_get_error(c), -1, NULL));
   g_assert_cmpuint(strlen(vmws_console_get_error(c)), >, 0);
   g_test_message("after the server left: %s", vmws_console_get_error(c));
   g_assert_cmphex(pixel_at(cw, 5, 5), ==, 0x000000);

   gtk_window_destroy(GTK_WINDOW(win));
   g_free(fb);
   g_array_unref(inputs);
   g_remove(sock);
   g_rmdir(dir);
   g_free(sock);
   g_free(dir);
}

int
main(int argc, char **argv)
{
   gtk_test_init(&argc, &argv, NULL);
   g_test_add_data_func("/ui/console/gl", "gl", test_console);
   g_test_add_data_func("/ui/console/cairo", "cairo", test_console);
   return g_test_run();
}
