/*
 * ui/main.c - vmws: the workstation application.
 *
 *   vmws [PATH.vmx | VM-FOLDER]...
 */
#include "ui/vmws-application.h"

#include <signal.h>

int
main(int argc, char **argv)
{
   /* A vmx that goes away must not take the UI with it. */
   signal(SIGPIPE, SIG_IGN);
   VmwsApplication *app = vmws_application_new();
   int status = g_application_run(G_APPLICATION(app), argc, argv);
   g_object_unref(app);
   return status;
}
