/*
 * tests/fuzz/fuzz-vmx-config.c - libFuzzer target for the .vmx parser and
 * writer (vmx/config.c).
 *
 * The input is the text of a .vmx file. Besides "never crashes, never
 * leaks", it checks these properties and aborts when one fails:
 *
 *   1. A refused file gets a message "fuzz.vmx:LINE: reason".
 *   2. parse -> write -> parse gives the same key/value pairs, in the same
 *      order and spelling, and writing that again gives the same text.
 *   3. Every pair is reachable: vmxcfg_get(key) returns its value, and the
 *      key is one vmxcfg_key_valid() accepts.
 *   4. The same holds when every entry is written by the writer instead of
 *      copied from the input: each key is set to another value and back,
 *      which makes vmxcfg_write() render it with vmxcfg_escape().
 */
#include "vmx/config.h"
#include "tests/fuzz/fuzz-common.h"

#include <string.h>

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   return 0;
}

typedef struct pairs {
   GPtrArray *keys;
   GPtrArray *values;
} pairs;

static void
collect(const char *key, const char *value, void *user)
{
   pairs *p = user;
   g_ptr_array_add(p->keys, g_strdup(key));
   g_ptr_array_add(p->values, g_strdup(value));
}

static void
pairs_get(const vmxcfg *c, pairs *p)
{
   p->keys = g_ptr_array_new_with_free_func(g_free);
   p->values = g_ptr_array_new_with_free_func(g_free);
   vmxcfg_foreach(c, collect, p);
}

static void
pairs_clear(pairs *p)
{
   g_ptr_array_free(p->keys, TRUE);
   g_ptr_array_free(p->values, TRUE);
}

/* Printable form of a value for messages. */
static char *
show(const char *s)
{
   return g_strescape(s, NULL);
}

static void
pairs_check_same(const pairs *a, const pairs *b, const char *what)
{
   if (a->keys->len != b->keys->len) {
      fuzz_fail("%s: %u key/value pairs became %u", what, a->keys->len, b->keys->len);
   }
   for (guint i = 0; i < a->keys->len; i++) {
      const char *ka = g_ptr_array_index(a->keys, i), *kb = g_ptr_array_index(b->keys, i);
      const char *va = g_ptr_array_index(a->values, i), *vb = g_ptr_array_index(b->values, i);
      if (strcmp(ka, kb) != 0) {
         fuzz_fail("%s: pair %u: key '%s' became '%s'", what, i, ka, kb);
      }
      if (strcmp(va, vb) != 0) {
         fuzz_fail("%s: %s: value \"%s\" became \"%s\"", what, ka, show(va), show(vb));
      }
   }
}

static void
pairs_check_reachable(const vmxcfg *c, const pairs *p)
{
   if (vmxcfg_count(c) != p->keys->len) {
      fuzz_fail("vmxcfg_count() says %zu, vmxcfg_foreach() gives %u", vmxcfg_count(c),
                p->keys->len);
   }
   for (guint i = 0; i < p->keys->len; i++) {
      const char *k = g_ptr_array_index(p->keys, i);
      const char *v = g_ptr_array_index(p->values, i);
      if (!vmxcfg_key_valid(k)) {
         fuzz_fail("the parser accepted key '%s', which vmxcfg_key_valid() refuses", k);
      }
      const char *got = vmxcfg_get(c, k);
      if (!got || strcmp(got, v) != 0) {
         fuzz_fail("vmxcfg_get(%s) gives %s, vmxcfg_foreach() gave \"%s\"", k,
                   got ? show(got) : "NULL", show(v));
      }
   }
}

/* Write c, parse the text again and check it holds the same pairs. Returns
 * the written text. */
static char *
write_and_reparse(const vmxcfg *c, const pairs *want, const char *what, size_t *len_out)
{
   size_t len = 0;
   char *text = vmxcfg_write(c, &len);
   if (strlen(text) != len) {
      fuzz_fail("%s: vmxcfg_write() reports %zu bytes but wrote %zu", what, len, strlen(text));
   }
   char *err = NULL;
   vmxcfg *again = vmxcfg_parse(text, len, "written.vmx", &err);
   if (!again) {
      char *t = show(text);
      fuzz_fail("%s: the written file does not parse: %s\nwritten: \"%s\"", what, err, t);
   }
   pairs got;
   pairs_get(again, &got);
   pairs_check_same(want, &got, what);
   pairs_check_reachable(again, &got);
   pairs_clear(&got);
   vmxcfg_free(again);
   if (len_out) {
      *len_out = len;
   }
   return text;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   /* A copy: the parser gets exactly size bytes, with nothing after them. */
   char *text = g_malloc(size ? size : 1);
   memcpy(text, data, size);
   char *err = NULL;
   vmxcfg *c = vmxcfg_parse(text, size, "fuzz.vmx", &err);
   if (!c) {
      int line = 0;
      if (!err || sscanf(err, "fuzz.vmx:%d:", &line) != 1 || line < 1) {
         fuzz_fail("a refused file got message '%s', not 'fuzz.vmx:LINE: reason'",
                   err ? err : "(none)");
      }
      g_free(err);
      g_free(text);
      return 0;
   }

   pairs orig;
   pairs_get(c, &orig);
   pairs_check_reachable(c, &orig);

   /* 2: unchanged, every line is copied through */
   size_t len1;
   char *w1 = write_and_reparse(c, &orig, "write of the parsed file", &len1);
   vmxcfg *c2 = vmxcfg_parse(w1, len1, "written.vmx", &err);
   size_t len2;
   char *w2 = vmxcfg_write(c2, &len2);
   if (len1 != len2 || memcmp(w1, w2, len1) != 0) {
      char *a = show(w1), *b = show(w2);
      fuzz_fail("writing is not stable:\nfirst:  \"%s\"\nsecond: \"%s\"", a, b);
   }
   g_free(w2);
   vmxcfg_free(c2);
   g_free(w1);

   /* 4: every entry rendered by the writer */
   for (guint i = 0; i < orig.keys->len; i++) {
      const char *k = g_ptr_array_index(orig.keys, i);
      const char *v = g_ptr_array_index(orig.values, i);
      vmxcfg_set(c, k, strcmp(v, "x") == 0 ? "y" : "x");
      vmxcfg_set(c, k, v);
   }
   g_free(write_and_reparse(c, &orig, "write of re-rendered entries", NULL));

   pairs_clear(&orig);
   vmxcfg_free(c);
   g_free(text);
   return 0;
}
