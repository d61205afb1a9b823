/*
 * ui/vmws-application.c - VmwsApplication.
 */
#include "ui/vmws-application.h"
#include "ui/actions/app-actions.h"
#include "ui/actions/vm-actions.h"
#include "ui/vmws-error-dialog.h"
#include "ui/vmws-window.h"

#include <epoxy/gl.h>
#include <string.h>

struct _VmwsApplication {
   GtkApplication parent;
   VmwsLibrary *library;
};

G_DEFINE_TYPE(VmwsApplication, vmws_application, GTK_TYPE_APPLICATION)

VmwsLibrary *
vmws_application_get_library(VmwsApplication *app)
{
   return app->library;
}

static void
warn_library(VmwsApplication *app, GtkWindow *win)
{
   const char *const *w = vmws_library_warnings(app->library);
   if (!w || !w[0]) {
      return;
   }
   char *text = g_strjoinv("\n", (char **)w);
   vmws_error_dialog_show(win, "Some entries of the library could not be read", text,
                          "The other virtual machines are shown. A copy of the file as it was "
                          "is kept beside it (.bad) when the library is next saved.");
   g_free(text);
}

static VmwsWindow *
main_window(VmwsApplication *app)
{
   GtkWindow *w = gtk_application_get_active_window(GTK_APPLICATION(app));
   if (w && VMWS_IS_WINDOW(w)) {
      return VMWS_WINDOW(w);
   }
   VmwsWindow *win = vmws_window_new(GTK_APPLICATION(app), app->library);
   gtk_window_present(GTK_WINDOW(win));
   warn_library(app, GTK_WINDOW(win));
   return win;
}

static void
vmws_application_activate(GApplication *gapp)
{
   gtk_window_present(GTK_WINDOW(main_window(VMWS_APPLICATION(gapp))));
}

static void
vmws_application_open(GApplication *gapp, GFile **files, int n, const char *hint)
{
   VmwsWindow *win = main_window(VMWS_APPLICATION(gapp));
   for (int i = 0; i < n; i++) {
      char *path = g_file_get_path(files[i]);
      if (path) {
         vmws_vm_actions_open_path(win, path);
      }
      g_free(path);
   }
   gtk_window_present(GTK_WINDOW(win));
}

/* Where OpenGL is Mesa's software rasterizer (llvmpipe: no GPU, as on a
 * server or under Xvfb), GTK's GL renderer composites every frame on the
 * CPU through it: a 1920x1080 guest screen cost about 100 ms of CPU a
 * frame (tests/bench/console), against about 25 ms for GTK's cairo
 * renderer, which copies pixels (about 6 ms since the console paints the
 * shared surface without a copy of its own). Take the cairo renderer
 * then, unless the user chose one (GSK_RENDERER); with a GPU, GL stays. */
static void
choose_renderer(void)
{
   if (g_getenv("GSK_RENDERER")) {
      return;
   }
   GError *e = NULL;
   GdkGLContext *ctx = gdk_display_create_gl_context(gdk_display_get_default(), &e);
   const char *why = NULL;
   char *renderer = NULL;
   if (!ctx || !gdk_gl_context_realize(ctx, &e)) {
      why = "no OpenGL";
   } else {
      gdk_gl_context_make_current(ctx);
      const char *r = (const char *)glGetString(GL_RENDERER);
      renderer = g_strdup(r ? r : "");
      gdk_gl_context_clear_current();
      if (strstr(renderer, "llvmpipe") || strstr(renderer, "softpipe") ||
          strstr(renderer, "swrast")) {
         why = renderer;
      }
   }
   g_clear_error(&e);
   g_clear_object(&ctx);
   if (why) {
      g_setenv("GSK_RENDERER", "cairo", TRUE);
      g_debug("OpenGL is software (%s): drawing with the cairo renderer", why);
   }
   g_free(renderer);
}

static void
vmws_application_startup(GApplication *gapp)
{
   VmwsApplication *app = VMWS_APPLICATION(gapp);
   G_APPLICATION_CLASS(vmws_application_parent_class)->startup(gapp);
   choose_renderer();
   g_set_application_name("vmws");
   gtk_window_set_default_icon_name(VMWS_APP_ID);
   GtkCssProvider *css = gtk_css_provider_new();
   gtk_css_provider_load_from_resource(css, "/org/vmws/Workstation/ui/style.css");
   gtk_style_context_add_provider_for_display(gdk_display_get_default(), GTK_STYLE_PROVIDER(css),
                                              GTK_STYLE_PROVIDER_PRIORITY_APPLICATION);
   g_object_unref(css);
   GtkBuilder *b = gtk_builder_new_from_resource("/org/vmws/Workstation/ui/vmws-menus.ui");
   gtk_application_set_menubar(GTK_APPLICATION(app),
                               G_MENU_MODEL(gtk_builder_get_object(b, "menubar")));
   g_object_unref(b);
   vmws_app_actions_add(app);
   app->library = vmws_library_new(NULL);
}

static void
vmws_application_dispose(GObject *obj)
{
   g_clear_object(&VMWS_APPLICATION(obj)->library);
   G_OBJECT_CLASS(vmws_application_parent_class)->dispose(obj);
}

static void
vmws_application_class_init(VmwsApplicationClass *klass)
{
   GApplicationClass *ac = G_APPLICATION_CLASS(klass);
   ac->startup = vmws_application_startup;
   ac->activate = vmws_application_activate;
   ac->open = vmws_application_open;
   G_OBJECT_CLASS(klass)->dispose = vmws_application_dispose;
}

static void
vmws_application_init(VmwsApplication *app)
{
}

VmwsApplication *
vmws_application_new(void)
{
   return g_object_new(VMWS_TYPE_APPLICATION, "application-id", VMWS_APP_ID, "flags",
                       G_APPLICATION_HANDLES_OPEN, NULL);
}
