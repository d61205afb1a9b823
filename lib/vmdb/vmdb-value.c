/*
 * lib/vmdb/vmdb-value.c - VMDB values and paths.
 */
#include "lib/vmdb/vmdb.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *
vmdb_type_name(vmdb_type t)
{
   switch (t) {
   case VMDB_TYPE_STRING: return "string";
   case VMDB_TYPE_INT: return "int";
   case VMDB_TYPE_BOOL: return "bool";
   case VMDB_TYPE_NONE: break;
   }
   return "none";
}

void
vmdb_value_clear(vmdb_value *v)
{
   if (v->type == VMDB_TYPE_STRING) {
      g_free(v->s);
   }
   memset(v, 0, sizeof *v);
}

void
vmdb_value_copy(vmdb_value *dst, const vmdb_value *src)
{
   *dst = *src;
   if (src->type == VMDB_TYPE_STRING) {
      dst->s = g_strdup(src->s ? src->s : "");
   }
}

bool
vmdb_value_equal(const vmdb_value *a, const vmdb_value *b)
{
   if (a->type != b->type) {
      return false;
   }
   switch (a->type) {
   case VMDB_TYPE_STRING: return strcmp(a->s ? a->s : "", b->s ? b->s : "") == 0;
   case VMDB_TYPE_INT: return a->i == b->i;
   case VMDB_TYPE_BOOL: return a->b == b->b;
   case VMDB_TYPE_NONE: return true;
   }
   return false;
}

char *
vmdb_value_format(const vmdb_value *v)
{
   switch (v->type) {
   case VMDB_TYPE_STRING: {
      char *esc = g_strescape(v->s ? v->s : "", NULL);
      char *r = g_strdup_printf("\"%s\"", esc);
      g_free(esc);
      return r;
   }
   case VMDB_TYPE_INT: return g_strdup_printf("%" PRId64, v->i);
   case VMDB_TYPE_BOOL: return g_strdup(v->b ? "true" : "false");
   case VMDB_TYPE_NONE: break;
   }
   return g_strdup("(none)");
}

bool
vmdb_value_parse(const char *text, vmdb_value *out, char **err)
{
   memset(out, 0, sizeof *out);
   size_t n = strlen(text);
   if (n >= 2 && text[0] == '"' && text[n - 1] == '"') {
      /* g_strcompress stops at an escaped quote only if we let it; strip
       * the outer quotes and make sure no bare quote is inside. */
      char *inner = g_strndup(text + 1, n - 2);
      for (size_t i = 0; inner[i]; i++) {
         if (inner[i] == '\\' && inner[i + 1]) {
            i++;
         } else if (inner[i] == '"') {
            g_free(inner);
            if (err) *err = g_strdup("unescaped quote inside string");
            return false;
         } else if (inner[i] == '\\') {
            g_free(inner);
            if (err) *err = g_strdup("string ends with a lone backslash");
            return false;
         }
      }
      out->type = VMDB_TYPE_STRING;
      out->s = g_strcompress(inner);
      g_free(inner);
      return true;
   }
   if (strcmp(text, "true") == 0 || strcmp(text, "false") == 0) {
      out->type = VMDB_TYPE_BOOL;
      out->b = text[0] == 't';
      return true;
   }
   if (n > 0) {
      char *end = NULL;
      errno = 0;
      long long ll = strtoll(text, &end, 10);
      if (errno == 0 && end && *end == '\0' && end != text) {
         out->type = VMDB_TYPE_INT;
         out->i = ll;
         return true;
      }
   }
   if (err) {
      *err = g_strdup_printf("'%s' is not a quoted string, an integer, or true/false", text);
   }
   return false;
}

static bool
seg_char_ok(char c, bool array)
{
   if (g_ascii_isalnum(c) || c == '_' || c == '.' || c == '-' || c == ':') {
      return true;
   }
   return array && (c == '@' || c == '+');
}

bool
vmdb_path_valid(const char *path)
{
   if (!path || path[0] != '/' || strlen(path) >= VMDB_PATH_MAX) {
      return false;
   }
   if (path[1] == '\0') {
      return true; /* the root */
   }
   const char *p = path + 1;
   while (*p) {
      bool array = *p == '#';
      const char *s = array ? p + 1 : p;
      const char *q = s;
      while (*q && *q != '/') {
         if (!seg_char_ok(*q, array)) {
            return false;
         }
         q++;
      }
      if (q == s) {
         return false; /* empty segment or bare '#' */
      }
      if (!array && (q - s == 1 && s[0] == '.')) {
         return false;
      }
      if (!array && (q - s == 2 && s[0] == '.' && s[1] == '.')) {
         return false;
      }
      if (*q == '/') {
         q++;
         if (*q == '\0') {
            return false; /* trailing slash */
         }
      }
      p = q;
   }
   return true;
}

bool
vmdb_path_under(const char *path, const char *prefix)
{
   if (strcmp(prefix, "/") == 0) {
      return path[0] == '/';
   }
   size_t n = strlen(prefix);
   return strncmp(path, prefix, n) == 0 && (path[n] == '\0' || path[n] == '/');
}
