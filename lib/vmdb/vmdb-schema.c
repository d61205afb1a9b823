/*
 * lib/vmdb/vmdb-schema.c - the declarations of every VMDB path.
 */
#include "lib/vmdb/vmdb.h"

#include <pthread.h>

#include <gio/gio.h>
#include <string.h>

typedef struct schema_entry {
   vmdb_type type;
   vmdb_value dflt;
   char *desc;
} schema_entry;

struct vmdb_schema {
   gint refs;
   GHashTable *entries; /* normalized path -> schema_entry */
};

static void
entry_free(gpointer p)
{
   schema_entry *e = p;
   vmdb_value_clear(&e->dflt);
   g_free(e->desc);
   g_free(e);
}

/* Replace every array segment "#xyz" by "#". */
static char *
normalize(const char *path)
{
   GString *s = g_string_sized_new(strlen(path));
   const char *p = path;
   while (*p) {
      if (*p == '/' && p[1] == '#') {
         g_string_append(s, "/#");
         p += 2;
         while (*p && *p != '/') {
            p++;
         }
      } else {
         g_string_append_c(s, *p++);
      }
   }
   return g_string_free(s, FALSE);
}

static bool
pattern_valid(const char *pat)
{
   /* A pattern is a valid path once each bare '#' gets a dummy id. */
   GString *s = g_string_new(NULL);
   for (const char *p = pat; *p; p++) {
      g_string_append_c(s, *p);
      if (*p == '#' && (p[1] == '/' || p[1] == '\0')) {
         g_string_append_c(s, 'x');
      }
   }
   bool ok = vmdb_path_valid(s->str) && strcmp(pat, "/") != 0;
   g_string_free(s, TRUE);
   return ok;
}

static const char *
skip_ws(const char *p)
{
   while (*p == ' ' || *p == '\t') {
      p++;
   }
   return p;
}

static char *
take_word(const char **pp)
{
   const char *p = skip_ws(*pp);
   const char *s = p;
   while (*p && *p != ' ' && *p != '\t') {
      p++;
   }
   *pp = p;
   return p == s ? NULL : g_strndup(s, p - s);
}

/* A default: a quoted string (with backslash escapes) or a bare word. */
static char *
take_default(const char **pp)
{
   const char *p = skip_ws(*pp);
   if (*p != '"') {
      return take_word(pp);
   }
   const char *s = p++;
   while (*p && *p != '"') {
      if (*p == '\\' && p[1]) {
         p++;
      }
      p++;
   }
   if (*p != '"') {
      return NULL;
   }
   p++;
   *pp = p;
   return g_strndup(s, p - s);
}

vmdb_schema *
vmdb_schema_parse(const char *text, const char *filename, char **err)
{
   vmdb_schema *s = g_new0(vmdb_schema, 1);
   s->refs = 1;
   s->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
   char **lines = g_strsplit(text, "\n", -1);
   int lineno = 0;
   for (char **l = lines; *l; l++) {
      lineno++;
      const char *p = skip_ws(*l);
      if (*p == '\0' || *p == '#') {
         continue;
      }
      char *path = take_word(&p);
      char *type = take_word(&p);
      char *dflt = take_default(&p);
      const char *desc = skip_ws(p);
      char *why = NULL;
      vmdb_value dv = { 0 };
      vmdb_type t = VMDB_TYPE_NONE;
      if (!path || !type || !dflt) {
         why = g_strdup("expected PATH TYPE DEFAULT DESCRIPTION");
      } else if (!pattern_valid(path)) {
         why = g_strdup_printf("'%s' is not a valid path pattern", path);
      } else if ((t = strcmp(type, "string") == 0 ? VMDB_TYPE_STRING
                      : strcmp(type, "int") == 0  ? VMDB_TYPE_INT
                      : strcmp(type, "bool") == 0 ? VMDB_TYPE_BOOL
                                                  : VMDB_TYPE_NONE) == VMDB_TYPE_NONE) {
         why = g_strdup_printf("unknown type '%s' (string, int or bool)", type);
      } else if (!vmdb_value_parse(dflt, &dv, &why)) {
         /* why set */
      } else if (dv.type != t) {
         why = g_strdup_printf("default %s is a %s, declared %s", dflt,
                               vmdb_type_name(dv.type), vmdb_type_name(t));
      } else if (*desc == '\0') {
         why = g_strdup("missing description");
      } else if (g_hash_table_contains(s->entries, path)) {
         why = g_strdup_printf("'%s' declared twice", path);
      }
      if (why) {
         if (err) {
            *err = g_strdup_printf("%s:%d: %s", filename ? filename : "schema", lineno, why);
         }
         g_free(why);
         g_free(path);
         g_free(type);
         g_free(dflt);
         vmdb_value_clear(&dv);
         g_strfreev(lines);
         vmdb_schema_unref(s);
         return NULL;
      }
      schema_entry *e = g_new0(schema_entry, 1);
      e->type = t;
      e->dflt = dv;
      e->desc = g_strdup(desc);
      g_hash_table_insert(s->entries, path, e);
      g_free(type);
      g_free(dflt);
   }
   g_strfreev(lines);
   return s;
}

vmdb_schema *
vmdb_schema_load(const char *filename, char **err)
{
   gchar *text = NULL;
   GError *gerr = NULL;
   if (!g_file_get_contents(filename, &text, NULL, &gerr)) {
      if (err) {
         *err = g_strdup(gerr->message);
      }
      g_error_free(gerr);
      return NULL;
   }
   vmdb_schema *s = vmdb_schema_parse(text, filename, err);
   g_free(text);
   return s;
}

extern GResource *vmws_lib_get_resource(void);

vmdb_schema *
vmdb_schema_builtin(void)
{
   static vmdb_schema *builtin;
   static pthread_mutex_t lock;
   pthread_mutex_lock(&lock);
   if (!builtin) {
      GBytes *b = g_resource_lookup_data(vmws_lib_get_resource(),
                                         "/org/vmws/lib/vmdb-schema.txt",
                                         G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
      g_assert(b != NULL);
      char *text = g_strndup(g_bytes_get_data(b, NULL), g_bytes_get_size(b));
      char *err = NULL;
      builtin = vmdb_schema_parse(text, "data/vmdb-schema.txt", &err);
      if (!builtin) {
         g_error("built-in VMDB schema is invalid: %s", err);
      }
      g_free(text);
      g_bytes_unref(b);
   }
   pthread_mutex_unlock(&lock);
   return vmdb_schema_ref(builtin);
}

vmdb_schema *
vmdb_schema_ref(vmdb_schema *s)
{
   g_atomic_int_inc(&s->refs);
   return s;
}

void
vmdb_schema_unref(vmdb_schema *s)
{
   if (s && g_atomic_int_dec_and_test(&s->refs)) {
      g_hash_table_destroy(s->entries);
      g_free(s);
   }
}

vmdb_type
vmdb_schema_lookup(const vmdb_schema *s, const char *path, const vmdb_value **dflt,
                   const char **desc)
{
   char *n = normalize(path);
   schema_entry *e = g_hash_table_lookup(s->entries, n);
   g_free(n);
   if (!e) {
      return VMDB_TYPE_NONE;
   }
   if (dflt) {
      *dflt = &e->dflt;
   }
   if (desc) {
      *desc = e->desc;
   }
   return e->type;
}
