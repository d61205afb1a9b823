/*
 * ui/actions/app-actions.c - the application's actions and shortcuts.
 */
#include "ui/actions/app-actions.h"

static void
on_quit(GSimpleAction *a, GVariant *param, gpointer data)
{
   GApplication *app = data;
   /* Running VMs go on without the UI (their vmx processes are their
    * own); closing the windows ends the application. */
   GList *wins = gtk_application_get_windows(GTK_APPLICATION(app));
   while (wins) {
      GtkWindow *w = wins->data;
      wins = wins->next;
      gtk_window_destroy(w);
   }
}

static void
on_about(GSimpleAction *a, GVariant *param, gpointer data)
{
   GtkApplication *app = data;
   static const char *authors[] = { "The vmws developers", NULL };
   gtk_show_about_dialog(gtk_application_get_active_window(app),
                         "program-name", "vmws Workstation",
                         "logo-icon-name", VMWS_APP_ID,
                         "version", VMWS_VERSION,
                         "comments", "Create, run and control virtual machines on this computer, "
                                     "on KVM or vmws's own software monitor.",
                         "license-type", GTK_LICENSE_GPL_2_0,
                         "authors", authors,
                         NULL);
}

void
vmws_app_actions_add(VmwsApplication *app)
{
   static const GActionEntry entries[] = {
      { .name = "quit", .activate = on_quit },
      { .name = "about", .activate = on_about },
   };
   g_action_map_add_action_entries(G_ACTION_MAP(app), entries, G_N_ELEMENTS(entries), app);
   static const struct {
      const char *action, *accel;
   } accels[] = {
      { "app.quit", "<Control>q" },         { "win.new-vm", "<Control>n" },
      { "win.open-vm", "<Control>o" },      { "win.power-on", "<Control>b" },
      { "win.power-off", "<Control>e" },    { "win.suspend", "<Control>z" },
      { "win.reset", "<Control>r" },        { "win.settings", "<Control>d" },
      { "win.fullscreen", "<Control><Alt>Return" }, { "win.snapshot-manager", "<Control>m" },
   };
   for (size_t i = 0; i < G_N_ELEMENTS(accels); i++) {
      const char *list[] = { accels[i].accel, NULL };
      gtk_application_set_accels_for_action(GTK_APPLICATION(app), accels[i].action, list);
   }
}
