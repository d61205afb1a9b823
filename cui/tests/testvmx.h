/*
 * cui/tests/testvmx.h - for the cui tests that start real vmx processes:
 * remember each one, and kill them all when the test program ends, however
 * it ends, so that none is left behind.
 */
#ifndef CUI_TESTS_TESTVMX_H
#define CUI_TESTS_TESTVMX_H

#include "cui/vmclient.h"

#include <glib.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>

static GArray *tv_pids G_GNUC_UNUSED;

static inline void
tv_kill_all(void)
{
   for (guint i = 0; tv_pids && i < tv_pids->len; i++) {
      int pid = g_array_index(tv_pids, int, i);
      if (pid > 0) {
         kill(pid, SIGKILL);
      }
   }
   if (tv_pids) {
      g_array_set_size(tv_pids, 0);
   }
}

static inline void
tv_on_fatal(int sig)
{
   tv_kill_all();
   signal(sig, SIG_DFL);
   raise(sig);
}

/* Call once from main(). */
static inline void
tv_init(void)
{
   tv_pids = g_array_new(FALSE, FALSE, sizeof(int));
   atexit(tv_kill_all);
   signal(SIGABRT, tv_on_fatal);
   signal(SIGTERM, tv_on_fatal);
   signal(SIGINT, tv_on_fatal);
   signal(SIGSEGV, tv_on_fatal);
}

/* Remember the vmx that serves vmx now (its /vm/pid), if one does. */
static inline void
tv_remember(const char *vmx)
{
   char *err = NULL;
   vmclient *c = vmclient_connect(vmx, 5000, &err);
   if (!c) {
      g_free(err);
      return;
   }
   char *pid = vmclient_get(c, "/vm/pid");
   int n = pid ? atoi(pid) : 0;
   g_free(pid);
   vmclient_free(c);
   if (n > 0) {
      g_array_append_val(tv_pids, n);
   }
}

/* Whether a vmx can be run (meson test sets VMWS_VMX); skips when not. */
static inline bool
tv_have_vmx(void)
{
   if (!g_getenv("VMWS_VMX")) {
      g_test_skip("VMWS_VMX is not set: no vmx to run (meson test sets it)");
      return false;
   }
   return true;
}

#endif
