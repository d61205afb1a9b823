/*
 * ui/actions/app-actions.h - the application's actions: app.quit and
 * app.about, and the keyboard shortcuts of every action.
 */
#ifndef VMWS_APP_ACTIONS_H
#define VMWS_APP_ACTIONS_H

#include "ui/vmws-application.h"

void vmws_app_actions_add(VmwsApplication *app);

#endif
