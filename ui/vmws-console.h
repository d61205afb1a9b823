/*
 * ui/vmws-console.h - VmwsConsole: a VM's screen, keyboard and mouse
 * through its local console (cui/mksclient.h) on the GTK main loop.
 *
 * With GTK's GL renderer the guest's screen is kept as tiles of
 * GdkTextures: a damage message replaces the textures of the tiles it
 * touches and nothing else, so the GPU renderer uploads only what changed.
 * With its cairo renderer (software) the shared surface is painted as it
 * is, without a copy. Either way the picture is scaled to fit the widget
 * or shown at 1:1. A click grabs the keyboard and pointer
 * (system shortcuts inhibited, the guest's cursor image shown, absolute
 * pointer positions and key events go to the guest); Ctrl+Alt releases.
 */
#ifndef VMWS_CONSOLE_H
#define VMWS_CONSOLE_H

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define VMWS_TYPE_CONSOLE (vmws_console_get_type())
G_DECLARE_FINAL_TYPE(VmwsConsole, vmws_console, VMWS, CONSOLE, GtkWidget)

GtkWidget *vmws_console_new(void);

/* The console socket to show (NULL or "": none). Connecting happens in
 * the background; "connected" tells when the screen is there. */
void vmws_console_set_socket(VmwsConsole *c, const char *path);
gboolean vmws_console_get_connected(VmwsConsole *c);
/* Why the last connection ended or failed, or NULL. */
const char *vmws_console_get_error(VmwsConsole *c);
/* The guest's screen size (0 while not connected). */
void vmws_console_get_guest_size(VmwsConsole *c, unsigned *w, unsigned *h);
/* Frames (HELLO, MODE, DAMAGE) taken so far on this connection. */
guint64 vmws_console_get_frames(VmwsConsole *c);

typedef struct vmws_console_stats {
   guint64 frames;        /* frames taken (as above) */
   guint64 acks;          /* frames acknowledged */
   guint64 tiles_made;    /* tile textures made from the surface (GL renderer) */
   guint64 draws;         /* snapshots with a picture */
   guint64 keys;          /* key events sent to the guest */
   guint64 pointer;       /* pointer events sent to the guest */
} vmws_console_stats;
/* Counters since this connection began. */
void vmws_console_get_stats(VmwsConsole *c, vmws_console_stats *out);

/* Where a point of the widget (its coordinates) is on the guest's screen
 * with the current scaling and scrolling, clamped to the screen. */
void vmws_console_to_guest(VmwsConsole *c, double x, double y, int *gx, int *gy);

/* Scale to fit the widget (TRUE) or show the guest 1:1. */
void vmws_console_set_fit(VmwsConsole *c, gboolean fit);
gboolean vmws_console_get_fit(VmwsConsole *c);

/* Keyboard and pointer go to the guest. */
void vmws_console_grab(VmwsConsole *c);
void vmws_console_release(VmwsConsole *c);
gboolean vmws_console_get_grabbed(VmwsConsole *c);

/* A key event the window caught (in its capture phase): true when the
 * console took it (while grabbed). */
gboolean vmws_console_key_event(VmwsConsole *c, guint keyval, guint keycode,
                                GdkModifierType state, gboolean pressed);
/* Ctrl+Alt+Del to the guest. */
gboolean vmws_console_send_ctrl_alt_del(VmwsConsole *c);

G_END_DECLS

#endif
