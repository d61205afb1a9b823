/*
 * vmx/config.c - VMware-style .vmx configuration files.
 */
#include "vmx/config.h"
#include "lib/atomicfile.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct entry {
   char *raw;        /* the original line (without newline); NULL once changed */
   char *key;        /* NULL for blank/comment lines */
   char *value;
   bool removed;
} entry;

struct vmxcfg {
   GPtrArray *lines;       /* entry* in file order */
   GHashTable *index;      /* lowercased key -> entry* (last occurrence) */
   bool crlf;              /* the file used CRLF line ends */
   bool final_newline;
};

static void
entry_free(gpointer p)
{
   entry *e = p;
   g_free(e->raw);
   g_free(e->key);
   g_free(e->value);
   g_free(e);
}

vmxcfg *
vmxcfg_new(void)
{
   vmxcfg *c = g_new0(vmxcfg, 1);
   c->lines = g_ptr_array_new_with_free_func(entry_free);
   c->index = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
   c->final_newline = true;
   return c;
}

void
vmxcfg_free(vmxcfg *c)
{
   if (!c) {
      return;
   }
   g_hash_table_destroy(c->index);
   g_ptr_array_free(c->lines, TRUE);
   g_free(c);
}

static bool
key_char(char ch)
{
   return g_ascii_isalnum(ch) || ch == '.' || ch == '_' || ch == ':' || ch == '-';
}

bool
vmxcfg_key_valid(const char *key)
{
   if (!key || !*key || strlen(key) > 256) {
      return false;
   }
   for (const char *p = key; *p; p++) {
      if (!key_char(*p)) {
         return false;
      }
   }
   return true;
}

static int
hexval(char ch)
{
   if (ch >= '0' && ch <= '9') return ch - '0';
   if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
   if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
   return -1;
}

/* Decode |XX escapes. Returns NULL with *why on error. */
static char *
unescape(const char *s, size_t n, const char **why)
{
   GString *o = g_string_sized_new(n);
   for (size_t i = 0; i < n; i++) {
      if (s[i] == '|') {
         int h, l;
         if (i + 2 >= n || (h = hexval(s[i + 1])) < 0 || (l = hexval(s[i + 2])) < 0) {
            *why = "bad |XX escape in value";
            g_string_free(o, TRUE);
            return NULL;
         }
         char ch = (char)(h << 4 | l);
         if (ch == '\0') {
            *why = "value contains an escaped NUL byte";
            g_string_free(o, TRUE);
            return NULL;
         }
         g_string_append_c(o, ch);
         i += 2;
      } else {
         g_string_append_c(o, s[i]);
      }
   }
   return g_string_free(o, FALSE);
}

char *
vmxcfg_escape(const char *value)
{
   GString *o = g_string_new(NULL);
   const char *end = value + strlen(value);
   for (const char *p = value; *p;) {
      unsigned char c = (unsigned char)*p;
      if (c >= 0x80) {
         /* Valid UTF-8 is written as is; any other byte as |XX, so what we
          * write always loads again. */
         gunichar u = g_utf8_get_char_validated(p, end - p);
         if (u != (gunichar)-1 && u != (gunichar)-2) {
            const char *next = g_utf8_next_char(p);
            g_string_append_len(o, p, next - p);
            p = next;
            continue;
         }
         g_string_append_printf(o, "|%02X", c);
      } else if (c == '"' || c == '|' || c == '#' || c < 0x20 || c == 0x7f) {
         g_string_append_printf(o, "|%02X", c);
      } else {
         g_string_append_c(o, (char)c);
      }
      p++;
   }
   return g_string_free(o, FALSE);
}

static void
index_entry(vmxcfg *c, entry *e)
{
   g_hash_table_replace(c->index, g_ascii_strdown(e->key, -1), e);
}

/* Parse one line; returns false with *why on error. */
static bool
parse_line(const char *line, size_t n, entry *e, const char **why)
{
   size_t i = 0;
   while (i < n && (line[i] == ' ' || line[i] == '\t')) {
      i++;
   }
   if (i == n || line[i] == '#') {
      return true; /* blank or comment */
   }
   size_t ks = i;
   while (i < n && key_char(line[i])) {
      i++;
   }
   if (i == ks) {
      *why = "expected a key";
      return false;
   }
   size_t ke = i;
   if (ke - ks > 256) {
      *why = "key longer than 256 characters";
      return false;
   }
   while (i < n && (line[i] == ' ' || line[i] == '\t')) {
      i++;
   }
   if (i == n || line[i] != '=') {
      *why = i < n && !key_char(line[i]) && line[i] != ' ' ? "invalid character in key"
                                                             : "expected '=' after the key";
      return false;
   }
   i++;
   while (i < n && (line[i] == ' ' || line[i] == '\t')) {
      i++;
   }
   const char *vs;
   size_t vn;
   if (i < n && line[i] == '"') {
      i++;
      vs = line + i;
      while (i < n && line[i] != '"') {
         i++;
      }
      if (i == n) {
         *why = "unterminated quoted value";
         return false;
      }
      vn = (size_t)(line + i - vs);
      i++;
   } else {
      /* VMware writes quotes, but accepts a bare word. */
      vs = line + i;
      while (i < n && line[i] != ' ' && line[i] != '\t' && line[i] != '#') {
         if (line[i] == '"') {
            *why = "stray quote in unquoted value";
            return false;
         }
         i++;
      }
      vn = (size_t)(line + i - vs);
      if (vn == 0) {
         *why = "expected a value after '='";
         return false;
      }
   }
   while (i < n && (line[i] == ' ' || line[i] == '\t')) {
      i++;
   }
   if (i < n && line[i] != '#') {
      *why = "unexpected text after the value";
      return false;
   }
   char *v = unescape(vs, vn, why);
   if (!v) {
      return false;
   }
   e->key = g_strndup(line + ks, ke - ks);
   e->value = v;
   return true;
}

vmxcfg *
vmxcfg_parse(const char *text, size_t len, const char *filename, char **err)
{
   const char *fname = filename ? filename : "config";
   if (len > VMXCFG_MAX_SIZE) {
      *err = g_strdup_printf("%s: file larger than %u bytes", fname, VMXCFG_MAX_SIZE);
      return NULL;
   }
   if (memchr(text, '\0', len)) {
      size_t off = (size_t)((const char *)memchr(text, '\0', len) - text);
      int ln = 1;
      for (size_t k = 0; k < off; k++) {
         ln += text[k] == '\n';
      }
      *err = g_strdup_printf("%s:%d: NUL byte in file", fname, ln);
      return NULL;
   }
   if (!g_utf8_validate(text, (gssize)len, NULL)) {
      const char *end;
      g_utf8_validate(text, (gssize)len, &end);
      int ln = 1;
      for (const char *k = text; k < end; k++) {
         ln += *k == '\n';
      }
      *err = g_strdup_printf("%s:%d: not valid UTF-8", fname, ln);
      return NULL;
   }
   vmxcfg *c = vmxcfg_new();
   size_t pos = 0;
   int lineno = 0;
   c->final_newline = len == 0 || text[len - 1] == '\n';
   while (pos < len) {
      lineno++;
      const char *nl = memchr(text + pos, '\n', len - pos);
      size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
      size_t body = n;
      /* CR is part of the line end only before LF. */
      if (nl && body > 0 && text[pos + body - 1] == '\r') {
         body--;
         c->crlf = true;
      }
      entry *e = g_new0(entry, 1);
      const char *why = NULL;
      if (!parse_line(text + pos, body, e, &why)) {
         *err = g_strdup_printf("%s:%d: %s", fname, lineno, why);
         entry_free(e);
         vmxcfg_free(c);
         return NULL;
      }
      e->raw = g_strndup(text + pos, body);
      g_ptr_array_add(c->lines, e);
      if (e->key) {
         index_entry(c, e);
      }
      pos += n + (nl ? 1 : 0);
   }
   return c;
}

vmxcfg *
vmxcfg_load(const char *path, char **err)
{
   gchar *text = NULL;
   gsize len = 0;
   GError *gerr = NULL;
   struct stat st;
   if (stat(path, &st) == 0 && st.st_size > (off_t)VMXCFG_MAX_SIZE) {
      *err = g_strdup_printf("%s: file larger than %u bytes", path, VMXCFG_MAX_SIZE);
      return NULL;
   }
   if (!g_file_get_contents(path, &text, &len, &gerr)) {
      *err = g_strdup(gerr->message);
      g_error_free(gerr);
      return NULL;
   }
   vmxcfg *c = vmxcfg_parse(text, len, path, err);
   g_free(text);
   return c;
}

static entry *
lookup(const vmxcfg *c, const char *key)
{
   char *k = g_ascii_strdown(key, -1);
   entry *e = g_hash_table_lookup(c->index, k);
   g_free(k);
   return e;
}

const char *
vmxcfg_get(const vmxcfg *c, const char *key)
{
   entry *e = lookup(c, key);
   return e ? e->value : NULL;
}

void
vmxcfg_set(vmxcfg *c, const char *key, const char *value)
{
   entry *e = lookup(c, key);
   if (e) {
      if (strcmp(e->value, value) == 0) {
         return;
      }
      g_free(e->value);
      e->value = g_strdup(value);
      g_free(e->raw);
      e->raw = NULL;
      return;
   }
   e = g_new0(entry, 1);
   e->key = g_strdup(key);
   e->value = g_strdup(value);
   g_ptr_array_add(c->lines, e);
   index_entry(c, e);
}

bool
vmxcfg_remove(vmxcfg *c, const char *key)
{
   char *k = g_ascii_strdown(key, -1);
   bool found = false;
   /* Remove every occurrence, not just the one that wins. */
   for (guint i = 0; i < c->lines->len;) {
      entry *e = g_ptr_array_index(c->lines, i);
      if (e->key && g_ascii_strcasecmp(e->key, k) == 0) {
         g_ptr_array_remove_index(c->lines, i);
         found = true;
      } else {
         i++;
      }
   }
   g_hash_table_remove(c->index, k);
   g_free(k);
   return found;
}

bool
vmxcfg_get_bool(const vmxcfg *c, const char *key, bool dflt, bool *out, char **err)
{
   const char *v = vmxcfg_get(c, key);
   if (!v) {
      *out = dflt;
      return true;
   }
   static const char *const yes[] = { "true", "yes", "1", "on" };
   static const char *const no[] = { "false", "no", "0", "off" };
   for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
      if (g_ascii_strcasecmp(v, yes[i]) == 0) {
         *out = true;
         return true;
      }
      if (g_ascii_strcasecmp(v, no[i]) == 0) {
         *out = false;
         return true;
      }
   }
   *err = g_strdup_printf("%s = \"%s\": expected TRUE or FALSE", key, v);
   return false;
}

bool
vmxcfg_get_int(const vmxcfg *c, const char *key, int64_t dflt, int64_t *out, char **err)
{
   const char *v = vmxcfg_get(c, key);
   if (!v) {
      *out = dflt;
      return true;
   }
   char *end = NULL;
   errno = 0;
   long long ll = strtoll(v, &end, 0);
   if (errno || end == v || *end) {
      *err = g_strdup_printf("%s = \"%s\": expected an integer", key, v);
      return false;
   }
   *out = ll;
   return true;
}

void
vmxcfg_foreach(const vmxcfg *c, vmxcfg_foreach_fn fn, void *user)
{
   for (guint i = 0; i < c->lines->len; i++) {
      entry *e = g_ptr_array_index(c->lines, i);
      if (e->key && lookup(c, e->key) == e) {
         fn(e->key, e->value, user);
      }
   }
}

size_t
vmxcfg_count(const vmxcfg *c)
{
   return g_hash_table_size(c->index);
}

char *
vmxcfg_write(const vmxcfg *c, size_t *len)
{
   GString *o = g_string_new(NULL);
   const char *eol = c->crlf ? "\r\n" : "\n";
   for (guint i = 0; i < c->lines->len; i++) {
      entry *e = g_ptr_array_index(c->lines, i);
      if (e->raw) {
         g_string_append(o, e->raw);
      } else {
         char *esc = vmxcfg_escape(e->value);
         g_string_append_printf(o, "%s = \"%s\"", e->key, esc);
         g_free(esc);
      }
      if (i + 1 < c->lines->len || c->final_newline) {
         g_string_append(o, eol);
      }
   }
   if (len) {
      *len = o->len;
   }
   return g_string_free(o, FALSE);
}

int
vmxcfg_save(const vmxcfg *c, const char *path, char **err)
{
   size_t len;
   char *text = vmxcfg_write(c, &len);
   int r = vmws_atomicfile_write(path, text, len, 0644, true, err);
   g_free(text);
   return r;
}

char *
vmxcfg_suspend_path(const char *vmx_path)
{
   size_t n = strlen(vmx_path);
   if (n > 4 && g_ascii_strcasecmp(vmx_path + n - 4, ".vmx") == 0) {
      n -= 4;
   }
   return g_strdup_printf("%.*s.vmss", (int)n, vmx_path);
}
