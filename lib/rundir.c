/*
 * lib/rundir.c - the private runtime directory for vmws sockets.
 */
#include "lib/rundir.h"

#include <errno.h>
#include <stdbool.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool
private_dir(const char *dir, char **err)
{
   if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
      *err = g_strdup_printf("cannot create %s: %s", dir, strerror(errno));
      return false;
   }
   struct stat st;
   if (lstat(dir, &st) < 0) {
      *err = g_strdup_printf("cannot stat %s: %s", dir, strerror(errno));
      return false;
   }
   if (!S_ISDIR(st.st_mode)) {
      *err = g_strdup_printf("%s is not a directory (refusing a link or file there)", dir);
      return false;
   }
   if (st.st_uid != getuid()) {
      *err = g_strdup_printf("%s is owned by uid %u, not by us (uid %u)", dir,
                             (unsigned)st.st_uid, (unsigned)getuid());
      return false;
   }
   if ((st.st_mode & 077) != 0 && chmod(dir, 0700) < 0) {
      *err = g_strdup_printf("cannot make %s private: %s", dir, strerror(errno));
      return false;
   }
   return true;
}

char *
vmws_runtime_dir(char **err)
{
   const char *xdg = g_getenv("XDG_RUNTIME_DIR");
   char *dir = NULL;
   char *why = NULL;
   if (xdg && xdg[0] == '/') {
      struct stat st;
      if (stat(xdg, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == getuid()) {
         dir = g_build_filename(xdg, "vmws", NULL);
         if (private_dir(dir, &why)) {
            return dir;
         }
         g_free(dir);
         g_free(why);
         why = NULL;
      }
   }
   dir = g_strdup_printf("/tmp/vmws-%u", (unsigned)getuid());
   if (private_dir(dir, &why)) {
      return dir;
   }
   g_free(dir);
   if (err) {
      *err = why;
   } else {
      g_free(why);
   }
   return NULL;
}

char *
vmws_runtime_path(const char *key, const char *suffix, char **err)
{
   char *dir = vmws_runtime_dir(err);
   if (!dir) {
      return NULL;
   }
   char *sum = g_compute_checksum_for_string(G_CHECKSUM_SHA256, key, -1);
   sum[20] = '\0';
   char *p = g_strdup_printf("%s/vm-%s%s", dir, sum, suffix);
   g_free(sum);
   g_free(dir);
   return p;
}
