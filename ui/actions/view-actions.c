/*
 * ui/actions/view-actions.c - the view actions of the main window.
 */
#include "ui/actions/view-actions.h"

static void
on_page(GSimpleAction *a, GVariant *value, gpointer data)
{
   vmws_window_show_page(VMWS_WINDOW(data), g_variant_get_string(value, NULL));
}

static void
on_fit(GSimpleAction *a, GVariant *value, gpointer data)
{
   vmws_console_set_fit(vmws_window_get_console(VMWS_WINDOW(data)),
                        g_variant_get_boolean(value));
}

static void
on_fullscreen(GSimpleAction *a, GVariant *value, gpointer data)
{
   vmws_window_set_fullscreen_mode(VMWS_WINDOW(data), g_variant_get_boolean(value));
}

void
vmws_view_actions_add(VmwsWindow *win)
{
   static const GActionEntry entries[] = {
      { .name = "page", .parameter_type = "s", .state = "'summary'", .change_state = on_page },
      { .name = "fit", .state = "true", .change_state = on_fit },
      { .name = "fullscreen", .state = "false", .change_state = on_fullscreen },
   };
   g_action_map_add_action_entries(G_ACTION_MAP(win), entries, G_N_ELEMENTS(entries), win);
   vmws_view_actions_update(win);
}

static void
set_state(VmwsWindow *win, const char *name, GVariant *state, gboolean enabled)
{
   GAction *a = g_action_map_lookup_action(G_ACTION_MAP(win), name);
   if (!a) {
      g_variant_unref(g_variant_ref_sink(state));
      return;
   }
   g_simple_action_set_state(G_SIMPLE_ACTION(a), state);
   g_simple_action_set_enabled(G_SIMPLE_ACTION(a), enabled);
}

void
vmws_view_actions_update(VmwsWindow *win)
{
   gboolean have = vmws_window_get_vm(win) != NULL;
   const char *page = vmws_window_get_page(win);
   set_state(win, "page", g_variant_new_string(page ? page : "summary"), have);
   set_state(win, "fit", g_variant_new_boolean(vmws_console_get_fit(vmws_window_get_console(win))),
             have);
   set_state(win, "fullscreen", g_variant_new_boolean(vmws_window_get_fullscreen_mode(win)),
             have);
}
