/*
 * ui/actions/view-actions.h - the window's view actions: win.page
 * ("summary" or "console"), win.fit (scale the guest's screen to fit, or
 * 1:1) and win.fullscreen.
 */
#ifndef VMWS_VIEW_ACTIONS_H
#define VMWS_VIEW_ACTIONS_H

#include "ui/vmws-window.h"

void vmws_view_actions_add(VmwsWindow *win);
/* Action states follow the window (the page shown, fit, full screen). */
void vmws_view_actions_update(VmwsWindow *win);

#endif
