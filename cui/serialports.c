/*
 * cui/serialports.c - the serial ports of an existing VM. See
 * serialports.h.
 */
#include "cui/serialports.h"
#include "cui/vmxedit.h"
#include "vmx/config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

typedef struct port {
   bool present;
   cui_serial_type type;
   char *path;
} port;

struct cui_serialports {
   char *vmx;
   char *dir;
   port cur[CUI_SERIAL_PORTS];
   port orig[CUI_SERIAL_PORTS];
};

static const struct {
   const char *id, *label;
} types[CUI_SERIAL_N_TYPES] = {
   [CUI_SERIAL_FILE] = { "file", "Output file" },
   [CUI_SERIAL_PTY] = { "pty", "Pseudo-terminal" },
   [CUI_SERIAL_SOCKET] = { "socket", "Socket (the virtual machine listens)" },
   [CUI_SERIAL_PIPE] = { "pipe", "Socket (the virtual machine connects)" },
};

const char *
cui_serial_type_id(cui_serial_type t)
{
   return t < CUI_SERIAL_N_TYPES ? types[t].id : "?";
}

const char *
cui_serial_type_label(cui_serial_type t)
{
   return t < CUI_SERIAL_N_TYPES ? types[t].label : "?";
}

static void
port_copy(port *dst, const port *src)
{
   g_free(dst->path);
   dst->present = src->present;
   dst->type = src->type;
   dst->path = g_strdup(src->path);
}

static bool
truthy(const char *v)
{
   return v && (!g_ascii_strcasecmp(v, "true") || !g_ascii_strcasecmp(v, "yes") ||
                !strcmp(v, "1") || !g_ascii_strcasecmp(v, "on"));
}

static void
read_port(const vmxcfg *cfg, unsigned n, port *p)
{
   char key[48];
   g_snprintf(key, sizeof key, "serial%u.present", n);
   p->present = truthy(vmxcfg_get(cfg, key));
   g_snprintf(key, sizeof key, "serial%u.fileType", n);
   const char *t = vmxcfg_get(cfg, key);
   g_snprintf(key, sizeof key, "serial%u.pipe.endPoint", n);
   const char *ep = vmxcfg_get(cfg, key);
   p->type = CUI_SERIAL_FILE;
   if (t && !g_ascii_strcasecmp(t, "pty")) {
      p->type = CUI_SERIAL_PTY;
   } else if (t && !g_ascii_strcasecmp(t, "socket")) {
      p->type = CUI_SERIAL_SOCKET;
   } else if (t && !g_ascii_strcasecmp(t, "pipe")) {
      /* A pipe whose end point is the server is a listening socket. */
      p->type = ep && !g_ascii_strcasecmp(ep, "server") ? CUI_SERIAL_SOCKET : CUI_SERIAL_PIPE;
   }
   g_snprintf(key, sizeof key, "serial%u.fileName", n);
   const char *name = vmxcfg_get(cfg, key);
   g_free(p->path);
   p->path = g_strdup(p->type == CUI_SERIAL_PTY || !name ? "" : name);
}

static int
read_file(cui_serialports *sp, char **err)
{
   vmxcfg *cfg = vmxcfg_load(sp->vmx, err);
   if (!cfg) {
      return -1;
   }
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      read_port(cfg, n, &sp->orig[n]);
      port_copy(&sp->cur[n], &sp->orig[n]);
   }
   vmxcfg_free(cfg);
   return 0;
}

cui_serialports *
cui_serialports_load(const char *vmx_path, char **err)
{
   char *r = realpath(vmx_path, NULL);
   if (!r) {
      *err = g_strdup_printf("%s: %s", vmx_path, g_strerror(errno));
      return NULL;
   }
   cui_serialports *sp = g_new0(cui_serialports, 1);
   sp->vmx = g_strdup(r);
   free(r);
   sp->dir = g_path_get_dirname(sp->vmx);
   if (read_file(sp, err) < 0) {
      cui_serialports_free(sp);
      return NULL;
   }
   return sp;
}

void
cui_serialports_free(cui_serialports *sp)
{
   if (!sp) {
      return;
   }
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      g_free(sp->cur[n].path);
      g_free(sp->orig[n].path);
   }
   g_free(sp->vmx);
   g_free(sp->dir);
   g_free(sp);
}

bool
cui_serialports_present(const cui_serialports *sp, unsigned n)
{
   return n < CUI_SERIAL_PORTS && sp->cur[n].present;
}

cui_serial_type
cui_serialports_type(const cui_serialports *sp, unsigned n)
{
   return n < CUI_SERIAL_PORTS ? sp->cur[n].type : CUI_SERIAL_FILE;
}

const char *
cui_serialports_path(const cui_serialports *sp, unsigned n)
{
   return n < CUI_SERIAL_PORTS ? sp->cur[n].path : "";
}

void
cui_serialports_set_present(cui_serialports *sp, unsigned n, bool present)
{
   if (n < CUI_SERIAL_PORTS) {
      sp->cur[n].present = present;
   }
}

void
cui_serialports_set_type(cui_serialports *sp, unsigned n, cui_serial_type t)
{
   if (n < CUI_SERIAL_PORTS && t < CUI_SERIAL_N_TYPES) {
      sp->cur[n].type = t;
   }
}

void
cui_serialports_set_path(cui_serialports *sp, unsigned n, const char *path)
{
   if (n < CUI_SERIAL_PORTS) {
      g_free(sp->cur[n].path);
      sp->cur[n].path = g_strdup(path ? path : "");
   }
}

/* The path as the vmx will open it (relative to the VM's folder). */
static char *
abs_path(const cui_serialports *sp, const char *path)
{
   return g_path_is_absolute(path) ? g_strdup(path) : g_build_filename(sp->dir, path, NULL);
}

static cui_newvm_severity
say(char **message, unsigned n, cui_newvm_severity sev, const char *fmt, ...)
   G_GNUC_PRINTF(4, 5);

static cui_newvm_severity
say(char **message, unsigned n, cui_newvm_severity sev, const char *fmt, ...)
{
   if (message) {
      va_list ap;
      va_start(ap, fmt);
      char *what = g_strdup_vprintf(fmt, ap);
      va_end(ap);
      *message = g_strdup_printf("Serial port %u: %s", n + 1, what);
      g_free(what);
   }
   return sev;
}

cui_newvm_severity
cui_serialports_check(const cui_serialports *sp, unsigned n, char **message)
{
   if (message) {
      *message = NULL;
   }
   if (n >= CUI_SERIAL_PORTS || !sp->cur[n].present || sp->cur[n].type == CUI_SERIAL_PTY) {
      return CUI_NEWVM_OK;
   }
   const port *p = &sp->cur[n];
   const char *path = p->path;
   if (!*path) {
      return say(message, n, CUI_NEWVM_ERROR, "%s",
                 p->type == CUI_SERIAL_FILE ? "enter the file the guest's output goes to"
                                            : "enter the path of the socket");
   }
   if (!g_utf8_validate(path, -1, NULL)) {
      return say(message, n, CUI_NEWVM_ERROR, "the path is not valid UTF-8 text");
   }
   for (const char *c = path; *c; c++) {
      if ((unsigned char)*c < 0x20) {
         return say(message, n, CUI_NEWVM_ERROR,
                    "the path must not contain control characters (such as a line break)");
      }
   }
   char *abs = abs_path(sp, path);
   char *parent = g_path_get_dirname(abs);
   cui_newvm_severity sev = CUI_NEWVM_OK;
   struct stat st;
   struct sockaddr_un sun;
   if (stat(parent, &st) < 0) {
      sev = say(message, n, CUI_NEWVM_ERROR, "the folder %s does not exist", parent);
   } else if (!S_ISDIR(st.st_mode)) {
      sev = say(message, n, CUI_NEWVM_ERROR, "%s is not a folder", parent);
   } else if (p->type != CUI_SERIAL_FILE && strlen(abs) >= sizeof sun.sun_path) {
      sev = say(message, n, CUI_NEWVM_ERROR,
                "%s is too long for a socket (at most %zu bytes)", abs,
                sizeof sun.sun_path - 1);
   } else if (p->type == CUI_SERIAL_FILE && stat(abs, &st) == 0 && S_ISDIR(st.st_mode)) {
      sev = say(message, n, CUI_NEWVM_ERROR, "%s is a folder, not a file", abs);
   } else if (p->type == CUI_SERIAL_FILE && stat(abs, &st) == 0) {
      sev = say(message, n, CUI_NEWVM_WARNING,
                "%s exists; it is replaced at each power-on", abs);
   } else if (p->type == CUI_SERIAL_SOCKET && stat(abs, &st) == 0 && !S_ISSOCK(st.st_mode)) {
      sev = say(message, n, CUI_NEWVM_ERROR, "%s exists and is not a socket", abs);
   } else if (p->type == CUI_SERIAL_PIPE && (stat(abs, &st) < 0 || !S_ISSOCK(st.st_mode))) {
      sev = say(message, n, CUI_NEWVM_WARNING,
                "nothing listens on %s yet; the virtual machine keeps trying to connect", abs);
   }
   g_free(parent);
   g_free(abs);
   return sev;
}

static bool
port_equal(const port *a, const port *b)
{
   if (a->present != b->present) {
      return false;
   }
   if (!a->present) {
      return true; /* an absent port's other settings do not matter */
   }
   return a->type == b->type && (a->type == CUI_SERIAL_PTY || !strcmp(a->path, b->path));
}

bool
cui_serialports_changed(const cui_serialports *sp, unsigned n)
{
   return n < CUI_SERIAL_PORTS && !port_equal(&sp->cur[n], &sp->orig[n]);
}

bool
cui_serialports_any_changed(const cui_serialports *sp)
{
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      if (cui_serialports_changed(sp, n)) {
         return true;
      }
   }
   return false;
}

void
cui_serialports_revert(cui_serialports *sp)
{
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      port_copy(&sp->cur[n], &sp->orig[n]);
   }
}

static void
port_changes(const cui_serialports *sp, unsigned n, GPtrArray *ch)
{
   const port *p = &sp->cur[n];
   char key[48];
   g_snprintf(key, sizeof key, "serial%u.present", n);
   cui_vmxedit_changes_add(ch, key, p->present ? "TRUE" : "FALSE");
   if (!p->present) {
      return; /* the rest stays, for when it is turned on again */
   }
   bool pipe = p->type == CUI_SERIAL_PIPE;
   g_snprintf(key, sizeof key, "serial%u.fileType", n);
   cui_vmxedit_changes_add(ch, key, cui_serial_type_id(p->type));
   g_snprintf(key, sizeof key, "serial%u.fileName", n);
   cui_vmxedit_changes_add(ch, key, p->type == CUI_SERIAL_PTY ? NULL : p->path);
   g_snprintf(key, sizeof key, "serial%u.pipe.endPoint", n);
   cui_vmxedit_changes_add(ch, key, pipe ? "client" : NULL);
}

int
cui_serialports_save(cui_serialports *sp, char **err)
{
   GString *errs = g_string_new(NULL);
   GPtrArray *ch = cui_vmxedit_changes_new();
   for (unsigned n = 0; n < CUI_SERIAL_PORTS; n++) {
      if (!cui_serialports_changed(sp, n)) {
         continue;
      }
      char *msg = NULL;
      if (cui_serialports_check(sp, n, &msg) == CUI_NEWVM_ERROR) {
         g_string_append_printf(errs, "%s%s", errs->len ? "\n" : "", msg);
      }
      g_free(msg);
      port_changes(sp, n, ch);
   }
   int r = -1;
   if (errs->len) {
      *err = g_strdup(errs->str);
   } else if (ch->len == 0) {
      r = 0;
   } else if (cui_vmxedit_apply(sp->vmx, ch, "Serial ports", NULL, err) == 0) {
      char *why = NULL;
      if (read_file(sp, &why) < 0) {
         *err = g_strdup_printf("the serial ports were saved, but %s", why);
         g_free(why);
      } else {
         r = 0;
      }
   }
   g_ptr_array_unref(ch);
   g_string_free(errs, TRUE);
   return r;
}
