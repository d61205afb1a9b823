/*
 * cui/inventory.c - the VM library, remembered between runs.
 */
#include "cui/inventory.h"
#include "lib/atomicfile.h"
#include "cui/vmclient.h"
#include "cui/vmxedit.h"
#include "vmx/config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A library file larger than this is not ours: it is left alone. */
#define INVENTORY_MAX_SIZE (4u << 20)

typedef struct item {
   cui_inventory_entry pub;
   char *real;              /* VMs: the .vmx path with links resolved, NULL if missing */
   bool suspended;          /* the .vmx records a suspend file */
} item;

struct cui_inventory {
   char *path;
   GPtrArray *items;        /* item*, display order */
   GPtrArray *warnings;     /* char*, NULL-terminated */
   unsigned next_id;
   bool read_only;
   char *bad_text;          /* the file as read, when lines were skipped */
   gsize bad_len;
};

/* ---- entries */

static void
item_free(gpointer p)
{
   item *it = p;
   g_free(it->pub.name);
   g_free(it->pub.path);
   g_free(it->pub.problem);
   g_free(it->pub.guest_os);
   g_free(it->pub.power_state);
   g_free(it->real);
   g_free(it);
}

static item *
item_copy(const item *src)
{
   item *it = g_new0(item, 1);
   *it = *src;
   it->pub.name = g_strdup(src->pub.name);
   it->pub.path = g_strdup(src->pub.path);
   it->pub.problem = g_strdup(src->pub.problem);
   it->pub.guest_os = g_strdup(src->pub.guest_os);
   it->pub.power_state = g_strdup(src->pub.power_state);
   it->real = g_strdup(src->real);
   return it;
}

static char *
real_path(const char *path)
{
   char *r = realpath(path, NULL);
   char *g = g_strdup(r);
   free(r);
   return g;
}

static item *
item_new(cui_inventory *inv, bool folder, unsigned parent, const char *name, const char *path)
{
   item *it = g_new0(item, 1);
   it->pub.id = ++inv->next_id;
   it->pub.is_folder = folder;
   it->pub.parent = parent;
   it->pub.name = g_strdup(name ? name : "");
   it->pub.path = g_strdup(path);
   it->pub.power_state = folder ? NULL : g_strdup("poweredOff");
   it->real = folder ? NULL : real_path(path);
   return it;
}

static item *
item_at(const cui_inventory *inv, guint i)
{
   return g_ptr_array_index(inv->items, i);
}

static gint
index_of(const cui_inventory *inv, unsigned id)
{
   for (guint i = 0; i < inv->items->len; i++) {
      if (item_at(inv, i)->pub.id == id) {
         return (gint)i;
      }
   }
   return -1;
}

static item *
get_item(const cui_inventory *inv, unsigned id)
{
   gint i = id ? index_of(inv, id) : -1;
   return i < 0 ? NULL : item_at(inv, (guint)i);
}

/* "name.vmx" -> "name" */
static char *
name_from_path(const char *path)
{
   char *base = g_path_get_basename(path);
   size_t n = strlen(base);
   if (n > 4 && !g_ascii_strcasecmp(base + n - 4, ".vmx")) {
      base[n - 4] = '\0';
   }
   return base;
}

/* Read the VM's .vmx again. */
static void
vm_refresh(item *it)
{
   cui_inventory_entry *e = &it->pub;
   g_clear_pointer(&e->problem, g_free);
   g_clear_pointer(&e->guest_os, g_free);
   it->suspended = false;
   g_free(it->real);
   it->real = real_path(e->path);
   if (!*e->name) {
      g_free(e->name);
      e->name = name_from_path(e->path);
   }
   struct stat st;
   if (stat(e->path, &st) < 0) {
      e->missing = errno == ENOENT || errno == ENOTDIR;
      e->problem = g_strdup_printf("%s: %s", e->path,
                                   e->missing ? "the file is missing" : g_strerror(errno));
      return;
   }
   e->missing = false;
   if (!S_ISREG(st.st_mode)) {
      e->problem = g_strdup_printf("%s: not a regular file", e->path);
      return;
   }
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_load(e->path, &err);
   if (!cfg) {
      e->problem = err;
      return;
   }
   const char *dn = vmxcfg_get(cfg, "displayName");
   if (dn && *dn) {
      g_free(e->name);
      e->name = g_strdup(dn);
   }
   const char *os = vmxcfg_get(cfg, "guestOS");
   e->guest_os = os && *os ? g_strdup(os) : NULL;
   const char *ck = vmxcfg_get(cfg, "checkpoint.vmState");
   it->suspended = ck && *ck;
   if (!e->running) {
      g_free(e->power_state);
      e->power_state = g_strdup(it->suspended ? "suspended" : "poweredOff");
   }
   vmxcfg_free(cfg);
}

/* ---- the file format */

static const char *
escape_exceptions(void)
{
   /* Bytes >= 0x80 stay raw so UTF-8 names stay readable. */
   static char ex[129];
   if (!ex[0]) {
      for (int i = 0; i < 128; i++) {
         ex[i] = (char)(0x80 + i);
      }
   }
   return ex;
}

static void
append_quoted(GString *o, const char *s)
{
   char *e = g_strescape(s, escape_exceptions());
   g_string_append_c(o, '"');
   g_string_append(o, e);
   g_string_append_c(o, '"');
   g_free(e);
}

static void
skip_blanks(const char **p)
{
   while (**p == ' ' || **p == '\t') {
      (*p)++;
   }
}

static bool
tok_uint(const char **p, unsigned *out)
{
   skip_blanks(p);
   if (!g_ascii_isdigit(**p)) {
      return false;
   }
   guint64 v = 0;
   while (g_ascii_isdigit(**p)) {
      v = v * 10 + (guint64)(**p - '0');
      if (v > G_MAXUINT) {
         return false;
      }
      (*p)++;
   }
   if (**p && **p != ' ' && **p != '\t') {
      return false;
   }
   *out = (unsigned)v;
   return true;
}

static bool
tok_string(const char **p, char **out)
{
   skip_blanks(p);
   if (**p != '"') {
      return false;
   }
   const char *s = ++*p;
   while (**p && **p != '"') {
      if (**p == '\\' && (*p)[1]) {
         (*p)++;
      }
      (*p)++;
   }
   if (**p != '"') {
      return false;
   }
   char *raw = g_strndup(s, (gsize)(*p - s));
   (*p)++;
   *out = g_strcompress(raw);
   g_free(raw);
   return true;
}

static void
warn(cui_inventory *inv, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
warn(cui_inventory *inv, const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   g_ptr_array_add(inv->warnings, g_strdup_vprintf(fmt, ap));
   va_end(ap);
}

typedef struct rec {
   unsigned line;
   bool folder;
   unsigned file_id;      /* folders */
   unsigned file_parent;
   char *name;
   char *path;
} rec;

static void
rec_free(gpointer p)
{
   rec *r = p;
   g_free(r->name);
   g_free(r->path);
   g_free(r);
}

/* Parse one line (NUL-terminated, no newline). NULL for blank and comment
 * lines and for lines skipped with a warning. */
static rec *
parse_line(cui_inventory *inv, const char *line, unsigned lineno, bool *bad)
{
   const char *p = line;
   skip_blanks(&p);
   if (!*p || *p == '#') {
      return NULL;
   }
   const char *kw = p;
   while (*p && *p != ' ' && *p != '\t') {
      p++;
   }
   size_t kn = (size_t)(p - kw);
   rec *r = g_new0(rec, 1);
   r->line = lineno;
   const char *why = NULL;
   if (kn == 6 && !strncmp(kw, "folder", 6)) {
      r->folder = true;
      if (!tok_uint(&p, &r->file_id) || r->file_id == 0) {
         why = "expected a folder ID (a number from 1) after 'folder'";
      } else if (!tok_uint(&p, &r->file_parent)) {
         why = "expected the parent folder's ID (0 for the top level) after the folder ID";
      } else if (!tok_string(&p, &r->name)) {
         why = "expected the folder name in double quotes";
      } else if (!*r->name) {
         why = "the folder name is empty";
      }
   } else if (kn == 2 && !strncmp(kw, "vm", 2)) {
      if (!tok_uint(&p, &r->file_parent)) {
         why = "expected the parent folder's ID (0 for the top level) after 'vm'";
      } else if (!tok_string(&p, &r->path)) {
         why = "expected the .vmx path in double quotes";
      } else if (!g_path_is_absolute(r->path)) {
         why = "the .vmx path is not absolute";
      } else {
         const char *save = p;
         if (!tok_string(&p, &r->name)) {
            p = save;
         }
      }
   } else {
      why = "expected 'folder' or 'vm' at the start of the line";
   }
   if (why) {
      warn(inv, "%s:%u: %s; the line is ignored", inv->path, lineno, why);
      *bad = true;
      rec_free(r);
      return NULL;
   }
   skip_blanks(&p);
   if (*p && *p != '#') {
      warn(inv, "%s:%u: unexpected text after the entry (ignored)", inv->path, lineno);
      *bad = true;
   }
   return r;
}

/* The VM entry for path: the same text, or the same file once links are
 * resolved. */
static item *
find_vm(const cui_inventory *inv, const char *path)
{
   char *real = real_path(path);
   item *found = NULL;
   for (guint i = 0; i < inv->items->len && !found; i++) {
      item *it = item_at(inv, i);
      if (it->pub.is_folder) {
         continue;
      }
      if (!strcmp(it->pub.path, path) ||
          (real && ((it->real && !strcmp(it->real, real)) || !strcmp(it->pub.path, real)))) {
         found = it;
      }
   }
   g_free(real);
   return found;
}

/* "PATH:LINE: ..." sorts by LINE; "PATH: ..." after every line. */
static guint64
warning_line(const char *w, const cui_inventory *inv)
{
   size_t n = strlen(inv->path);
   if (strncmp(w, inv->path, n) || w[n] != ':' || !g_ascii_isdigit(w[n + 1])) {
      return G_MAXUINT64;
   }
   return g_ascii_strtoull(w + n + 1, NULL, 10);
}

static gint
cmp_warning_line(gconstpointer a, gconstpointer b, gpointer data)
{
   guint64 la = warning_line(*(const char *const *)a, data);
   guint64 lb = warning_line(*(const char *const *)b, data);
   return la < lb ? -1 : la > lb;
}

static void
load_text(cui_inventory *inv, const char *text, gsize len)
{
   GPtrArray *recs = g_ptr_array_new_with_free_func(rec_free);
   bool bad = false;
   unsigned lineno = 0;
   for (gsize off = 0; off < len;) {
      const char *nl = memchr(text + off, '\n', len - off);
      gsize n = nl ? (gsize)(nl - (text + off)) : len - off;
      lineno++;
      const char *ls = text + off;
      off += n + (nl ? 1 : 0);
      if (n && ls[n - 1] == '\r') {
         n--;
      }
      if (memchr(ls, '\0', n)) {
         warn(inv, "%s:%u: the line contains a NUL byte; the line is ignored", inv->path, lineno);
         bad = true;
         continue;
      }
      char *line = g_strndup(ls, n);
      rec *r = parse_line(inv, line, lineno, &bad);
      g_free(line);
      if (r) {
         g_ptr_array_add(recs, r);
      }
   }
   /* Folders first, so an entry may name a folder listed after it. */
   GHashTable *ids = g_hash_table_new(g_direct_hash, g_direct_equal); /* file id -> item */
   GPtrArray *made = g_ptr_array_new();                                /* item* per rec, or NULL */
   for (guint i = 0; i < recs->len; i++) {
      rec *r = g_ptr_array_index(recs, i);
      item *it = NULL;
      if (r->folder) {
         if (g_hash_table_contains(ids, GUINT_TO_POINTER(r->file_id))) {
            warn(inv, "%s:%u: folder ID %u is used twice; the line is ignored", inv->path,
                 r->line, r->file_id);
            bad = true;
         } else {
            it = item_new(inv, true, 0, r->name, NULL);
            g_hash_table_insert(ids, GUINT_TO_POINTER(r->file_id), it);
         }
      }
      g_ptr_array_add(made, it);
   }
   for (guint i = 0; i < recs->len; i++) {
      rec *r = g_ptr_array_index(recs, i);
      item *it = g_ptr_array_index(made, i);
      if (!r->folder) {
         item *dup = find_vm(inv, r->path);
         if (dup) {
            warn(inv, "%s:%u: %s is listed twice; the line is ignored", inv->path, r->line,
                 r->path);
            bad = true;
            continue;
         }
         it = item_new(inv, false, 0, r->name, r->path);
      }
      if (!it) {
         continue;
      }
      if (r->file_parent) {
         item *parent = g_hash_table_lookup(ids, GUINT_TO_POINTER(r->file_parent));
         if (!parent) {
            warn(inv, "%s:%u: there is no folder %u; the entry is shown at the top level",
                 inv->path, r->line, r->file_parent);
            bad = true;
         } else if (parent == it) {
            warn(inv, "%s:%u: folder %u is its own parent; it is shown at the top level",
                 inv->path, r->line, r->file_id);
            bad = true;
         } else {
            it->pub.parent = parent->pub.id;
         }
      }
      g_ptr_array_add(inv->items, it);
   }
   /* A cycle of folders (1 in 2, 2 in 1) goes to the top level. */
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (!it->pub.is_folder) {
         continue;
      }
      unsigned p = it->pub.parent;
      for (guint steps = 0; p && steps <= inv->items->len; steps++) {
         if (p == it->pub.id) {
            warn(inv, "%s: folder \"%s\" is inside itself; it is shown at the top level",
                 inv->path, it->pub.name);
            it->pub.parent = 0;
            bad = true;
            break;
         }
         item *pi = get_item(inv, p);
         p = pi ? pi->pub.parent : 0;
      }
   }
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (!it->pub.is_folder) {
         vm_refresh(it);
      }
   }
   /* In the order of the file's lines (the sort is stable). */
   g_ptr_array_sort_with_data(inv->warnings, cmp_warning_line, inv);
   if (bad) {
      inv->bad_text = g_memdup2(text, len);
      inv->bad_len = len;
   }
   g_ptr_array_free(made, TRUE);
   g_hash_table_destroy(ids);
   g_ptr_array_unref(recs);
}

char *
cui_inventory_default_path(void)
{
   /* Read the environment each time (GLib caches its own answer). */
   const char *xdg = g_getenv("XDG_CONFIG_HOME");
   if (xdg && g_path_is_absolute(xdg)) {
      return g_build_filename(xdg, "vmws", "inventory", NULL);
   }
   return g_build_filename(g_get_home_dir(), ".config", "vmws", "inventory", NULL);
}

cui_inventory *
cui_inventory_load(const char *path)
{
   cui_inventory *inv = g_new0(cui_inventory, 1);
   inv->path = path ? g_strdup(path) : cui_inventory_default_path();
   inv->items = g_ptr_array_new_with_free_func(item_free);
   inv->warnings = g_ptr_array_new_null_terminated(0, g_free, TRUE);
   struct stat st;
   if (stat(inv->path, &st) < 0) {
      if (errno != ENOENT) {
         warn(inv, "%s: %s; the library is empty and will not be saved over the file",
              inv->path, g_strerror(errno));
         inv->read_only = true;
      }
      return inv;
   }
   if (!S_ISREG(st.st_mode)) {
      warn(inv, "%s: not a regular file; the library is empty and will not be saved over it",
           inv->path);
      inv->read_only = true;
      return inv;
   }
   if (st.st_size > (off_t)INVENTORY_MAX_SIZE) {
      warn(inv, "%s: larger than %u bytes, so not a VM library; it is left alone", inv->path,
           INVENTORY_MAX_SIZE);
      inv->read_only = true;
      return inv;
   }
   gchar *text = NULL;
   gsize len = 0;
   GError *gerr = NULL;
   if (!g_file_get_contents(inv->path, &text, &len, &gerr)) {
      warn(inv, "%s; the library is empty and will not be saved over the file", gerr->message);
      g_error_free(gerr);
      inv->read_only = true;
      return inv;
   }
   load_text(inv, text, len);
   g_free(text);
   return inv;
}

void
cui_inventory_free(cui_inventory *inv)
{
   if (!inv) {
      return;
   }
   g_ptr_array_unref(inv->items);
   g_ptr_array_unref(inv->warnings);
   g_free(inv->bad_text);
   g_free(inv->path);
   g_free(inv);
}

const char *
cui_inventory_path(const cui_inventory *inv)
{
   return inv->path;
}

const char *const *
cui_inventory_warnings(const cui_inventory *inv)
{
   static const char *const none[] = { NULL };
   /* pdata is NULL for an empty array that never held anything. */
   return inv->warnings->pdata ? (const char *const *)inv->warnings->pdata : none;
}

bool
cui_inventory_read_only(const cui_inventory *inv)
{
   return inv->read_only;
}

guint
cui_inventory_count(const cui_inventory *inv)
{
   return inv->items->len;
}

const cui_inventory_entry *
cui_inventory_nth(const cui_inventory *inv, guint i)
{
   return i < inv->items->len ? &item_at(inv, i)->pub : NULL;
}

const cui_inventory_entry *
cui_inventory_lookup(const cui_inventory *inv, unsigned id)
{
   item *it = get_item(inv, id);
   return it ? &it->pub : NULL;
}

const cui_inventory_entry *
cui_inventory_find(const cui_inventory *inv, const char *vmx_path)
{
   item *it = find_vm(inv, vmx_path);
   return it ? &it->pub : NULL;
}

GPtrArray *
cui_inventory_children(const cui_inventory *inv, unsigned parent)
{
   GPtrArray *out = g_ptr_array_new();
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (it->pub.parent == parent) {
         g_ptr_array_add(out, &it->pub);
      }
   }
   return out;
}

/* ---- saving */

static int
save(cui_inventory *inv, char **err)
{
   if (inv->read_only) {
      *err = g_strdup_printf("the library file %s could not be read, so it is not written over "
                             "(move it away to start a new library)",
                             inv->path);
      return -1;
   }
   GString *o = g_string_new("# vmws virtual machine library. One entry a line, in the order "
                             "shown:\n"
                             "#   folder ID PARENT \"NAME\"\n"
                             "#   vm PARENT \"PATH.vmx\" \"LAST KNOWN NAME\"\n"
                             "# PARENT is 0 for the top level or a folder's ID.\n");
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (it->pub.is_folder) {
         g_string_append_printf(o, "folder %u %u ", it->pub.id, it->pub.parent);
         append_quoted(o, it->pub.name);
      } else {
         g_string_append_printf(o, "vm %u ", it->pub.parent);
         append_quoted(o, it->pub.path);
         g_string_append_c(o, ' ');
         append_quoted(o, it->pub.name);
      }
      g_string_append_c(o, '\n');
   }
   int r = -1;
   char *dir = g_path_get_dirname(inv->path);
   if (g_mkdir_with_parents(dir, 0700) < 0) {
      *err = g_strdup_printf("cannot create %s: %s", dir, g_strerror(errno));
      goto out;
   }
   if (inv->bad_text) {
      /* Keep what the skipped lines said before they disappear. */
      char *bak = g_strdup_printf("%s.bad", inv->path);
      int br = vmws_atomicfile_write(bak, inv->bad_text, inv->bad_len, 0600, true, err);
      g_free(bak);
      if (br < 0) {
         goto out;
      }
      g_clear_pointer(&inv->bad_text, g_free);
   }
   r = vmws_atomicfile_write(inv->path, o->str, o->len, 0600, true, err);
out:
   g_free(dir);
   g_string_free(o, TRUE);
   return r;
}

static GPtrArray *
snapshot(const cui_inventory *inv)
{
   GPtrArray *s = g_ptr_array_new_with_free_func(item_free);
   for (guint i = 0; i < inv->items->len; i++) {
      g_ptr_array_add(s, item_copy(item_at(inv, i)));
   }
   return s;
}

/* Save; on failure put the entries back as they were in snap. */
static bool
commit(cui_inventory *inv, GPtrArray *snap, char **err)
{
   if (save(inv, err) == 0) {
      g_ptr_array_unref(snap);
      return true;
   }
   g_ptr_array_unref(inv->items);
   inv->items = snap;
   return false;
}

/* ---- changes */

static bool
name_ok(const char *name, const char *what, char **err)
{
   if (!name || !*name) {
      *err = g_strdup_printf("%s: the name is empty", what);
      return false;
   }
   if (!g_utf8_validate(name, -1, NULL)) {
      *err = g_strdup_printf("%s: the name is not valid UTF-8", what);
      return false;
   }
   for (const char *p = name; *p; p++) {
      if ((unsigned char)*p < 0x20 || *p == 0x7f) {
         *err = g_strdup_printf("%s: the name contains a control character", what);
         return false;
      }
   }
   if (strlen(name) > 1024) {
      *err = g_strdup_printf("%s: the name is longer than 1024 bytes", what);
      return false;
   }
   return true;
}

static bool
parent_ok(const cui_inventory *inv, unsigned parent, char **err)
{
   if (parent == 0) {
      return true;
   }
   item *p = get_item(inv, parent);
   if (!p || !p->pub.is_folder) {
      *err = g_strdup_printf("there is no library folder with id %u", parent);
      return false;
   }
   return true;
}

static bool
writable(const cui_inventory *inv, char **err)
{
   if (inv->read_only) {
      *err = g_strdup_printf("the library file %s could not be read, so it is not written over "
                             "(move it away to start a new library)",
                             inv->path);
      return false;
   }
   return true;
}

/* A readable .vmx: its absolute, symlink-free path. */
static char *
check_vmx_file(const char *path, char **err)
{
   char *r = realpath(path, NULL);
   if (!r) {
      *err = g_strdup_printf("%s: %s", path, g_strerror(errno));
      return NULL;
   }
   char *abs = g_strdup(r);
   free(r);
   struct stat st;
   size_t n = strlen(abs);
   if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode)) {
      *err = g_strdup_printf("%s is not a regular file", path);
   } else if (n < 5 || g_ascii_strcasecmp(abs + n - 4, ".vmx")) {
      *err = g_strdup_printf("%s is not a virtual machine configuration (.vmx) file", path);
   } else if (access(abs, R_OK) < 0) {
      *err = g_strdup_printf("%s cannot be read: %s", path, g_strerror(errno));
   } else {
      vmxcfg *cfg = vmxcfg_load(abs, err);
      if (cfg) {
         vmxcfg_free(cfg);
         return abs;
      }
   }
   g_free(abs);
   return NULL;
}

static gint
cmp_str(gconstpointer a, gconstpointer b)
{
   return strcmp(*(char *const *)a, *(char *const *)b);
}

char *
cui_inventory_resolve_vmx(const char *path, char **err)
{
   struct stat st;
   if (!path || !*path) {
      *err = g_strdup("no file or folder was given");
      return NULL;
   }
   if (stat(path, &st) < 0) {
      *err = g_strdup_printf("%s: %s", path, g_strerror(errno));
      return NULL;
   }
   if (!S_ISDIR(st.st_mode)) {
      return check_vmx_file(path, err);
   }
   GError *gerr = NULL;
   GDir *d = g_dir_open(path, 0, &gerr);
   if (!d) {
      *err = g_strdup(gerr->message);
      g_error_free(gerr);
      return NULL;
   }
   /* A VMware VM folder: NAME.vmx, NAME.vmdk, NAME.nvram, NAME.vmsd,
    * NAME.vmxf, vmware*.log, maybe NAME.vmx.lck/ and caches/. Only the
    * .vmx matters; hidden files are temporary files of a save. */
   GPtrArray *found = g_ptr_array_new_with_free_func(g_free);
   const char *name;
   while ((name = g_dir_read_name(d))) {
      size_t n = strlen(name);
      if (name[0] == '.' || n < 5 || g_ascii_strcasecmp(name + n - 4, ".vmx")) {
         continue;
      }
      char *full = g_build_filename(path, name, NULL);
      struct stat fs;
      if (stat(full, &fs) == 0 && S_ISREG(fs.st_mode)) {
         g_ptr_array_add(found, g_strdup(name));
      }
      g_free(full);
   }
   g_dir_close(d);
   char *abs = NULL;
   if (found->len == 0) {
      *err = g_strdup_printf("%s holds no .vmx file, so it is not a virtual machine's folder",
                             path);
   } else if (found->len > 1) {
      g_ptr_array_sort(found, cmp_str);
      g_ptr_array_add(found, NULL);
      char *list = g_strjoinv(", ", (char **)found->pdata);
      *err = g_strdup_printf("%s holds several .vmx files (%s); open one of them", path, list);
      g_free(list);
   } else {
      char *full = g_build_filename(path, g_ptr_array_index(found, 0), NULL);
      abs = check_vmx_file(full, err);
      g_free(full);
   }
   g_ptr_array_unref(found);
   return abs;
}

const cui_inventory_entry *
cui_inventory_add(cui_inventory *inv, const char *vmx_path, unsigned parent, char **err)
{
   if (!writable(inv, err) || !parent_ok(inv, parent, err)) {
      return NULL;
   }
   char *abs = check_vmx_file(vmx_path, err);
   if (!abs) {
      return NULL;
   }
   item *dup = find_vm(inv, abs);
   if (dup) {
      *err = g_strdup_printf("%s is already in the library as \"%s\"", abs, dup->pub.name);
      g_free(abs);
      return NULL;
   }
   GPtrArray *snap = snapshot(inv);
   item *it = item_new(inv, false, parent, NULL, abs);
   g_free(abs);
   vm_refresh(it);
   g_ptr_array_add(inv->items, it);
   return commit(inv, snap, err) ? &it->pub : NULL;
}

const cui_inventory_entry *
cui_inventory_open(cui_inventory *inv, const char *path, bool *added, char **err)
{
   if (added) {
      *added = false;
   }
   char *abs = cui_inventory_resolve_vmx(path, err);
   if (!abs) {
      return NULL;
   }
   item *have = find_vm(inv, abs);
   if (have) {
      g_free(abs);
      vm_refresh(have);
      return &have->pub;
   }
   const cui_inventory_entry *e = cui_inventory_add(inv, abs, 0, err);
   g_free(abs);
   if (e && added) {
      *added = true;
   }
   return e;
}

unsigned
cui_inventory_add_folder(cui_inventory *inv, const char *name, unsigned parent, char **err)
{
   if (!writable(inv, err) || !parent_ok(inv, parent, err) ||
       !name_ok(name, "Folder name", err)) {
      return 0;
   }
   GPtrArray *snap = snapshot(inv);
   item *it = item_new(inv, true, parent, name, NULL);
   unsigned id = it->pub.id;
   g_ptr_array_add(inv->items, it);
   return commit(inv, snap, err) ? id : 0;
}

bool
cui_inventory_remove(cui_inventory *inv, unsigned id, char **err)
{
   if (!writable(inv, err)) {
      return false;
   }
   gint at = id ? index_of(inv, id) : -1;
   if (at < 0) {
      *err = g_strdup_printf("there is no library entry with id %u", id);
      return false;
   }
   GPtrArray *snap = snapshot(inv);
   item *gone = g_ptr_array_steal_index(inv->items, (guint)at);
   if (gone->pub.is_folder) {
      /* Its entries take its place, in their order. */
      GPtrArray *kids = g_ptr_array_new();
      for (guint i = 0; i < inv->items->len;) {
         item *it = item_at(inv, i);
         if (it->pub.parent == gone->pub.id) {
            it->pub.parent = gone->pub.parent;
            g_ptr_array_add(kids, g_ptr_array_steal_index(inv->items, i));
            if (i < (guint)at) {
               at--;
            }
         } else {
            i++;
         }
      }
      for (guint k = 0; k < kids->len; k++) {
         g_ptr_array_insert(inv->items, at + (gint)k, g_ptr_array_index(kids, k));
      }
      g_ptr_array_free(kids, TRUE);
   }
   item_free(gone);
   return commit(inv, snap, err);
}

bool
cui_inventory_rename(cui_inventory *inv, unsigned id, const char *name, char **err)
{
   if (!writable(inv, err)) {
      return false;
   }
   item *it = get_item(inv, id);
   if (!it) {
      *err = g_strdup_printf("there is no library entry with id %u", id);
      return false;
   }
   if (!name_ok(name, it->pub.is_folder ? "Folder name" : "Name", err)) {
      return false;
   }
   if (it->pub.is_folder) {
      GPtrArray *snap = snapshot(inv);
      g_free(it->pub.name);
      it->pub.name = g_strdup(name);
      return commit(inv, snap, err);
   }
   char *abs = realpath(it->pub.path, NULL);
   if (!abs) {
      *err = g_strdup_printf("cannot rename \"%s\": %s: %s", it->pub.name, it->pub.path,
                             g_strerror(errno));
      return false;
   }
   GPtrArray *ch = cui_vmxedit_changes_new();
   cui_vmxedit_changes_add(ch, "displayName", name);
   int r = cui_vmxedit_apply(abs, ch, NULL, NULL, err);
   g_ptr_array_unref(ch);
   free(abs);
   if (r < 0) {
      return false;
   }
   g_free(it->pub.name);
   it->pub.name = g_strdup(name);
   /* The library remembers the name for when the file goes missing. */
   char *why = NULL;
   if (save(inv, &why) < 0) {
      *err = g_strdup_printf("the new name is in %s, but the library could not be saved: %s",
                             it->pub.path, why);
      g_free(why);
      return false;
   }
   return true;
}

bool
cui_inventory_move(cui_inventory *inv, unsigned id, unsigned parent, unsigned before_id,
                   char **err)
{
   if (!writable(inv, err) || !parent_ok(inv, parent, err)) {
      return false;
   }
   item *it = get_item(inv, id);
   if (!it) {
      *err = g_strdup_printf("there is no library entry with id %u", id);
      return false;
   }
   /* A folder cannot go into itself or a folder inside it. */
   for (unsigned p = parent; p; ) {
      if (p == id) {
         *err = g_strdup_printf("the folder \"%s\" cannot be moved into itself", it->pub.name);
         return false;
      }
      item *pi = get_item(inv, p);
      p = pi ? pi->pub.parent : 0;
   }
   if (before_id) {
      item *b = get_item(inv, before_id);
      if (!b || b->pub.parent != parent || before_id == id) {
         *err = g_strdup_printf("entry %u is not in the target folder", before_id);
         return false;
      }
   }
   GPtrArray *snap = snapshot(inv);
   g_ptr_array_steal_index(inv->items, (guint)index_of(inv, id));
   it->pub.parent = parent;
   if (before_id) {
      g_ptr_array_insert(inv->items, index_of(inv, before_id), it);
   } else {
      g_ptr_array_add(inv->items, it);
   }
   return commit(inv, snap, err);
}

void
cui_inventory_refresh(cui_inventory *inv)
{
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (!it->pub.is_folder) {
         vm_refresh(it);
      }
   }
}

void
cui_inventory_refresh_state(cui_inventory *inv)
{
   char **running = vmclient_list_running();
   for (guint i = 0; i < inv->items->len; i++) {
      item *it = item_at(inv, i);
      if (it->pub.is_folder) {
         continue;
      }
      const char *vmx_path = NULL;
      for (char **r = running; *r && !vmx_path; r++) {
         /* The vmx publishes the path with links resolved. */
         if (!strcmp(*r, it->pub.path) || (it->real && !strcmp(*r, it->real))) {
            vmx_path = *r; /* the path the vmx runs it by */
         }
      }
      char *state = NULL;
      bool up = false;
      if (vmx_path) {
         state = cui_vmxedit_power_state(vmx_path, &up);
      }
      it->pub.running = up;
      g_free(it->pub.power_state);
      it->pub.power_state = up ? state : g_strdup(it->suspended ? "suspended" : "poweredOff");
      if (!up) {
         g_free(state);
      }
   }
   g_strfreev(running);
}

void
cui_inventory_refresh_entry_state(cui_inventory *inv, unsigned id)
{
   item *it = get_item(inv, id);
   if (!it || it->pub.is_folder) {
      return;
   }
   char *abs = realpath(it->pub.path, NULL);
   bool up = false;
   char *state = abs ? cui_vmxedit_power_state(abs, &up) : NULL;
   free(abs);
   it->pub.running = up;
   g_free(it->pub.power_state);
   it->pub.power_state = up ? state : g_strdup(it->suspended ? "suspended" : "poweredOff");
   if (!up) {
      g_free(state);
   }
}
