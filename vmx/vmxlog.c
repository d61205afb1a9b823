/*
 * vmx/vmxlog.c - the per-VM log.
 */
#include "vmx/vmxlog.h"

#include <errno.h>
#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static char *log_path;
static bool log_stderr;
static __thread char thread_name[32];

static void
rotate(const char *dir, int keep_old)
{
   char *oldest = g_strdup_printf("%s/vmware-%d.log", dir, keep_old - 1);
   unlink(oldest);
   g_free(oldest);
   for (int i = keep_old - 2; i >= 0; i--) {
      char *from = g_strdup_printf("%s/vmware-%d.log", dir, i);
      char *to = g_strdup_printf("%s/vmware-%d.log", dir, i + 1);
      rename(from, to);
      g_free(from);
      g_free(to);
   }
   char *cur = g_strdup_printf("%s/vmware.log", dir);
   char *to = g_strdup_printf("%s/vmware-0.log", dir);
   if (keep_old > 0) {
      rename(cur, to);
   } else {
      unlink(cur);
   }
   g_free(cur);
   g_free(to);
}

bool
vmxlog_open(const char *dir, int keep_old, char **err)
{
   if (keep_old < 0) {
      keep_old = 0;
   }
   if (keep_old > 99) {
      keep_old = 99;
   }
   pthread_mutex_lock(&log_lock);
   rotate(dir, keep_old);
   g_free(log_path);
   log_path = g_strdup_printf("%s/vmware.log", dir);
   log_file = fopen(log_path, "we");
   bool ok = log_file != NULL;
   if (!ok && err) {
      *err = g_strdup_printf("cannot open %s: %s", log_path, strerror(errno));
   }
   if (ok) {
      setvbuf(log_file, NULL, _IOLBF, 0);
   }
   pthread_mutex_unlock(&log_lock);
   return ok;
}

void
vmxlog_close(void)
{
   pthread_mutex_lock(&log_lock);
   if (log_file) {
      fclose(log_file);
      log_file = NULL;
   }
   pthread_mutex_unlock(&log_lock);
}

const char *
vmxlog_path(void)
{
   return log_path;
}

void
vmxlog_set_stderr(bool on)
{
   log_stderr = on;
}

void
vmxlog_set_thread_name(const char *name)
{
   g_strlcpy(thread_name, name, sizeof thread_name);
}

void
vmxlog(const char *fmt, ...)
{
   struct timeval tv;
   gettimeofday(&tv, NULL);
   struct tm tm;
   gmtime_r(&tv.tv_sec, &tm);
   char ts[64];
   strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
   va_list ap;
   va_start(ap, fmt);
   char *msg = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   const char *tn = thread_name[0] ? thread_name : "vmx";
   pthread_mutex_lock(&log_lock);
   if (log_file) {
      fprintf(log_file, "%s.%03dZ| %s| %s\n", ts, (int)(tv.tv_usec / 1000), tn, msg);
   }
   if (log_stderr) {
      fprintf(stderr, "%s.%03dZ| %s| %s\n", ts, (int)(tv.tv_usec / 1000), tn, msg);
   }
   pthread_mutex_unlock(&log_lock);
   g_free(msg);
}
