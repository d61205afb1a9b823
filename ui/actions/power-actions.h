/*
 * ui/actions/power-actions.h - the window's power actions: win.power-on,
 * win.shut-down, win.power-off, win.suspend, win.resume, win.reset,
 * win.pause, win.unpause (named as cui_power_op_name) and
 * win.send-ctrl-alt-del. Each runs on the selected VM; its progress shows
 * in the status bar and the sidebar, and a failure in an error dialog that
 * says what went wrong and what to do.
 */
#ifndef VMWS_POWER_ACTIONS_H
#define VMWS_POWER_ACTIONS_H

#include "ui/vmws-window.h"

void vmws_power_actions_add(VmwsWindow *win);
/* Enable what the selected VM's state allows. */
void vmws_power_actions_update(VmwsWindow *win);

#endif
