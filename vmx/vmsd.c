/*
 * vmx/vmsd.c - the snapshot tree of a VM (the .vmsd file).
 */
#include "vmx/vmsd.h"
#include "lib/atomicfile.h"
#include "vmx/config.h"

#include <errno.h>
#include <glib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct kv {
   char *key;
   char *value;
} kv;

struct vmsd_extra {
   GPtrArray *kv;   /* kv*: key is the part after "snapshotN." */
};

struct vmsd {
   GPtrArray *snaps;   /* vmsd_snapshot* in file order */
   uint32_t last_uid;
   uint32_t current;
   GPtrArray *extra;   /* kv*: top-level keys we keep as they are */
};

static const char *const power_states[] = { "poweredOn", "paused", "suspended", "poweredOff",
                                            NULL };

static void
kv_free(gpointer p)
{
   kv *e = p;
   g_free(e->key);
   g_free(e->value);
   g_free(e);
}

static kv *
kv_new(const char *key, const char *value)
{
   kv *e = g_new(kv, 1);
   e->key = g_strdup(key);
   e->value = g_strdup(value);
   return e;
}

static void
snapshot_free(gpointer p)
{
   vmsd_snapshot *s = p;
   g_free(s->filename);
   g_free(s->display_name);
   g_free(s->description);
   g_free(s->power_state);
   if (s->extra) {
      g_ptr_array_free(s->extra->kv, TRUE);
      g_free(s->extra);
   }
   g_free(s);
}

static char *
base_of(const char *vmx_path)
{
   size_t n = strlen(vmx_path);
   if (n > 4 && g_ascii_strcasecmp(vmx_path + n - 4, ".vmx") == 0) {
      n -= 4;
   }
   return g_strndup(vmx_path, n);
}

char *
vmsd_path_for(const char *vmx_path)
{
   char *b = base_of(vmx_path);
   char *p = g_strconcat(b, ".vmsd", NULL);
   g_free(b);
   return p;
}

char *
vmsd_state_filename(const char *vmx_path, uint32_t uid)
{
   char *b = base_of(vmx_path);
   char *name = g_path_get_basename(b);
   char *p = g_strdup_printf("%s-Snapshot%u.vmsn", name, uid);
   g_free(name);
   g_free(b);
   return p;
}

vmsd *
vmsd_new(void)
{
   vmsd *v = g_new0(vmsd, 1);
   v->snaps = g_ptr_array_new_with_free_func(snapshot_free);
   v->extra = g_ptr_array_new_with_free_func(kv_free);
   return v;
}

void
vmsd_free(vmsd *v)
{
   if (!v) {
      return;
   }
   g_ptr_array_free(v->snaps, TRUE);
   g_ptr_array_free(v->extra, TRUE);
   g_free(v);
}

unsigned
vmsd_count(const vmsd *v)
{
   return v->snaps->len;
}

const vmsd_snapshot *
vmsd_at(const vmsd *v, unsigned i)
{
   return i < v->snaps->len ? g_ptr_array_index(v->snaps, i) : NULL;
}

static int
index_of(const vmsd *v, uint32_t uid)
{
   for (guint i = 0; uid && i < v->snaps->len; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      if (s->uid == uid) {
         return (int)i;
      }
   }
   return -1;
}

const vmsd_snapshot *
vmsd_get(const vmsd *v, uint32_t uid)
{
   int i = index_of(v, uid);
   return i < 0 ? NULL : g_ptr_array_index(v->snaps, i);
}

vmsd_snapshot *
vmsd_get_mutable(vmsd *v, uint32_t uid)
{
   return (vmsd_snapshot *)vmsd_get(v, uid);
}

uint32_t
vmsd_current(const vmsd *v)
{
   return v->current;
}

bool
vmsd_set_current(vmsd *v, uint32_t uid)
{
   if (uid && !vmsd_get(v, uid)) {
      return false;
   }
   v->current = uid;
   return true;
}

uint32_t
vmsd_last_uid(const vmsd *v)
{
   return v->last_uid;
}

uint32_t
vmsd_next_uid(const vmsd *v)
{
   return v->last_uid < VMSD_UID_MAX ? v->last_uid + 1 : 0;
}

void
vmsd_reserve_uid(vmsd *v, uint32_t uid)
{
   if (uid > v->last_uid && uid <= VMSD_UID_MAX) {
      v->last_uid = uid;
   }
}

static vmsd_snapshot *
snap_new(uint32_t uid, uint32_t parent)
{
   vmsd_snapshot *s = g_new0(vmsd_snapshot, 1);
   s->uid = uid;
   s->parent = parent;
   s->filename = g_strdup("");
   s->display_name = g_strdup("");
   s->description = g_strdup("");
   s->power_state = g_strdup("");
   s->extra = g_new0(vmsd_extra, 1);
   s->extra->kv = g_ptr_array_new_with_free_func(kv_free);
   return s;
}

vmsd_snapshot *
vmsd_add(vmsd *v, uint32_t uid, uint32_t parent)
{
   if (v->snaps->len >= VMSD_MAX_SNAPSHOTS) {
      return NULL;
   }
   if (uid == 0) {
      uid = vmsd_next_uid(v);
   }
   if (uid == 0 || uid > VMSD_UID_MAX || parent > VMSD_UID_MAX || vmsd_get(v, uid)) {
      return NULL;
   }
   vmsd_snapshot *s = snap_new(uid, parent);
   g_ptr_array_add(v->snaps, s);
   vmsd_reserve_uid(v, uid);
   return s;
}

static void
set_str(char **field, const char *value)
{
   char *old = *field;
   *field = g_strdup(value ? value : "");
   g_free(old);
}

void
vmsd_snapshot_set_name(vmsd_snapshot *s, const char *name)
{
   set_str(&s->display_name, name);
}

void
vmsd_snapshot_set_description(vmsd_snapshot *s, const char *description)
{
   set_str(&s->description, description);
}

void
vmsd_snapshot_set_filename(vmsd_snapshot *s, const char *filename)
{
   set_str(&s->filename, filename);
}

void
vmsd_snapshot_set_power_state(vmsd_snapshot *s, const char *state)
{
   set_str(&s->power_state, state);
}

/* ---- checks */

bool
vmsd_check(const vmsd *v, char **err)
{
   guint n = v->snaps->len;
   GHashTable *idx = g_hash_table_new(g_direct_hash, g_direct_equal);
   bool ok = true;
   for (guint i = 0; ok && i < n; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      if (s->uid == 0 || s->uid > VMSD_UID_MAX) {
         *err = g_strdup_printf("snapshot%u.uid = \"%u\": not a valid uid", i, s->uid);
         ok = false;
      } else if (g_hash_table_contains(idx, GUINT_TO_POINTER(s->uid))) {
         guint j = GPOINTER_TO_UINT(g_hash_table_lookup(idx, GUINT_TO_POINTER(s->uid))) - 1;
         *err = g_strdup_printf("snapshot%u.uid = \"%u\": snapshot%u has the same uid", i, s->uid,
                                j);
         ok = false;
      } else {
         g_hash_table_insert(idx, GUINT_TO_POINTER(s->uid), GUINT_TO_POINTER(i + 1));
      }
   }
   for (guint i = 0; ok && i < n; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      if (s->parent == s->uid) {
         *err = g_strdup_printf("snapshot%u.parent = \"%u\": a snapshot cannot be its own parent",
                                i, s->parent);
         ok = false;
      } else if (s->parent && !g_hash_table_contains(idx, GUINT_TO_POINTER(s->parent))) {
         *err = g_strdup_printf("snapshot%u.parent = \"%u\": no snapshot has uid %u", i,
                                s->parent, s->parent);
         ok = false;
      }
   }
   if (ok && v->current && !g_hash_table_contains(idx, GUINT_TO_POINTER(v->current))) {
      *err = g_strdup_printf("snapshot.current = \"%u\": no snapshot has uid %u", v->current,
                             v->current);
      ok = false;
   }
   /* Cycles: follow parents, marking the path (1) and what is known to
    * reach a root (2). */
   guint8 *mark = g_new0(guint8, n ? n : 1);
   guint *path = g_new(guint, n ? n : 1);
   for (guint i = 0; ok && i < n; i++) {
      guint depth = 0, j = i;
      for (;;) {
         if (mark[j] == 2) {
            break;
         }
         if (mark[j] == 1) {
            const vmsd_snapshot *s = g_ptr_array_index(v->snaps, j);
            *err = g_strdup_printf("snapshot%u.parent = \"%u\": the parents form a cycle", j,
                                   s->parent);
            ok = false;
            break;
         }
         mark[j] = 1;
         path[depth++] = j;
         const vmsd_snapshot *s = g_ptr_array_index(v->snaps, j);
         if (!s->parent) {
            break;
         }
         j = GPOINTER_TO_UINT(g_hash_table_lookup(idx, GUINT_TO_POINTER(s->parent))) - 1;
      }
      for (guint k = 0; k < depth; k++) {
         mark[path[k]] = 2;
      }
   }
   g_free(mark);
   g_free(path);
   g_hash_table_destroy(idx);
   return ok;
}

static bool
no_control_chars(const char *s)
{
   for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
      if (*p < 0x20 || *p == 0x7f) {
         return false;
      }
   }
   return true;
}

bool
vmsd_name_valid(const char *name, char **err)
{
   size_t n = strlen(name);
   if (n == 0) {
      *err = g_strdup("a snapshot needs a name");
      return false;
   }
   if (n > VMSD_NAME_MAX) {
      *err = g_strdup_printf("the snapshot name is longer than %u bytes", VMSD_NAME_MAX);
      return false;
   }
   if (!g_utf8_validate(name, (gssize)n, NULL)) {
      *err = g_strdup("the snapshot name is not valid UTF-8");
      return false;
   }
   if (strchr(name, '/')) {
      *err = g_strdup_printf("the snapshot name '%s' contains '/', which separates the names "
                             "of a snapshot path", name);
      return false;
   }
   if (!no_control_chars(name)) {
      *err = g_strdup("the snapshot name contains control characters");
      return false;
   }
   return true;
}

/* A state file name must stay in the VM's folder: deleting a snapshot
 * removes it. */
static bool
filename_ok(const char *f)
{
   return strlen(f) <= 255 && !strchr(f, '/') && strcmp(f, ".") && strcmp(f, "..") &&
          no_control_chars(f);
}

/* ---- reading */

typedef struct slot {
   bool seen;                      /* some snapshotN.* key */
   const char *uid, *parent, *filename, *display_name, *description, *time_hi, *time_lo,
      *num_disks, *power_state;
   const char *k_uid, *k_parent, *k_filename, *k_time_hi, *k_time_lo, *k_num_disks,
      *k_power_state;
   GPtrArray *extra;               /* kv* */
} slot;

typedef struct parse_ctx {
   const char *file;
   slot *slots;
   guint n;
   GPtrArray *extra;
   char *err;
} parse_ctx;

static bool
parse_num(parse_ctx *pc, const char *key, const char *value, gint64 min, gint64 max, gint64 *out)
{
   gint64 x;
   bool ok = value[0] && strlen(value) <= 20;
   for (const char *p = value; ok && *p; p++) {
      ok = g_ascii_isdigit(*p) || (p == value && *p == '-' && min < 0 && p[1]);
   }
   ok = ok && g_ascii_string_to_signed(value, 10, min, max, &x, NULL);
   if (!ok) {
      if (!pc->err) {
         pc->err = g_strdup_printf("%s: %s = \"%s\": expected a number from %" G_GINT64_FORMAT
                                   " to %" G_GINT64_FORMAT,
                                   pc->file, key, value, min, max);
      }
      return false;
   }
   *out = x;
   return true;
}

/* "snapshot12.displayName" -> index 12, field "displayName"; false for
 * other keys. */
static bool
split_indexed(const char *key, guint64 *index, const char **field, bool *bad)
{
   *bad = false;
   if (g_ascii_strncasecmp(key, "snapshot", 8) != 0 || !g_ascii_isdigit(key[8])) {
      return false;
   }
   const char *p = key + 8;
   const char *d = p;
   while (g_ascii_isdigit(*p)) {
      p++;
   }
   if (*p != '.' || p[1] == '\0' || (p - d > 1 && d[0] == '0') || p - d > 6) {
      *bad = true;
      return true;
   }
   *index = g_ascii_strtoull(d, NULL, 10);
   *field = p + 1;
   return true;
}

static void
take_key(const char *key, const char *value, void *user)
{
   parse_ctx *pc = user;
   if (pc->err) {
      return;
   }
   guint64 idx;
   const char *f;
   bool bad;
   if (!split_indexed(key, &idx, &f, &bad)) {
      if (!g_ascii_strcasecmp(key, ".encoding") || !g_ascii_strcasecmp(key, "snapshot.lastUID") ||
          !g_ascii_strcasecmp(key, "snapshot.current") ||
          !g_ascii_strcasecmp(key, "snapshot.numSnapshots")) {
         return;
      }
      g_ptr_array_add(pc->extra, kv_new(key, value));
      return;
   }
   if (bad) {
      pc->err = g_strdup_printf("%s: %s: not a snapshot key (snapshotN.name with N a number)",
                                pc->file, key);
      return;
   }
   if (idx >= pc->n) {
      pc->err = g_strdup_printf("%s: %s: snapshot index %" G_GUINT64_FORMAT
                                " is not below snapshot.numSnapshots = %u",
                                pc->file, key, idx, pc->n);
      return;
   }
   slot *s = &pc->slots[idx];
   s->seen = true;
#define FIELD(name, member)                   \
   if (!g_ascii_strcasecmp(f, name)) {        \
      s->member = value;                      \
      s->k_##member = key;                    \
      return;                                 \
   }
   FIELD("uid", uid);
   FIELD("parent", parent);
   FIELD("filename", filename);
   FIELD("createTimeHigh", time_hi);
   FIELD("createTimeLow", time_lo);
   FIELD("numDisks", num_disks);
   FIELD("vmws.powerState", power_state);
#undef FIELD
   if (!g_ascii_strcasecmp(f, "displayName")) {
      s->display_name = value;
      return;
   }
   if (!g_ascii_strcasecmp(f, "description")) {
      s->description = value;
      return;
   }
   if (!s->extra) {
      s->extra = g_ptr_array_new_with_free_func(kv_free);
   }
   g_ptr_array_add(s->extra, kv_new(f, value));
}

static bool
global_num(parse_ctx *pc, const vmxcfg *c, const char *key, gint64 min, gint64 max, gint64 *out)
{
   const char *val = vmxcfg_get(c, key);
   *out = 0;
   return !val || parse_num(pc, key, val, min, max, out);
}

vmsd *
vmsd_parse(const char *text, size_t len, const char *filename, char **err)
{
   const char *file = filename ? filename : "snapshot file";
   vmxcfg *c = vmxcfg_parse(text, len, file, err);
   if (!c) {
      return NULL;
   }
   parse_ctx pc = { .file = file };
   pc.extra = g_ptr_array_new_with_free_func(kv_free);
   gint64 last = 0, cur = 0, num = 0;
   vmsd *v = NULL;
   if (!global_num(&pc, c, "snapshot.numSnapshots", 0, VMSD_MAX_SNAPSHOTS, &num) ||
       !global_num(&pc, c, "snapshot.lastUID", 0, VMSD_UID_MAX, &last) ||
       !global_num(&pc, c, "snapshot.current", 0, VMSD_UID_MAX, &cur)) {
      goto out;
   }
   pc.n = (guint)num;
   pc.slots = g_new0(slot, pc.n ? pc.n : 1);
   vmxcfg_foreach(c, take_key, &pc);
   if (pc.err) {
      goto out;
   }
   v = vmsd_new();
   g_ptr_array_extend_and_steal(v->extra, pc.extra);
   pc.extra = NULL;
   for (guint i = 0; i < pc.n; i++) {
      slot *s = &pc.slots[i];
      if (!s->uid) {
         pc.err = g_strdup_printf("%s: snapshot%u.uid is missing (snapshot.numSnapshots = %u)",
                                  file, i, pc.n);
         goto out;
      }
      gint64 uid, parent = 0, hi = 0, lo = 0, disks = 0;
      if (!parse_num(&pc, s->k_uid, s->uid, 1, VMSD_UID_MAX, &uid) ||
          (s->parent && !parse_num(&pc, s->k_parent, s->parent, 0, VMSD_UID_MAX, &parent)) ||
          (s->time_hi &&
           !parse_num(&pc, s->k_time_hi, s->time_hi, G_MININT32, G_MAXUINT32, &hi)) ||
          (s->time_lo &&
           !parse_num(&pc, s->k_time_lo, s->time_lo, G_MININT32, G_MAXUINT32, &lo)) ||
          (s->num_disks && !parse_num(&pc, s->k_num_disks, s->num_disks, 0, 1024, &disks))) {
         goto out;
      }
      if (s->filename && !filename_ok(s->filename)) {
         pc.err = g_strdup_printf("%s: %s = \"%s\": the state file must be a file name in the "
                                  "virtual machine's folder",
                                  file, s->k_filename, s->filename);
         goto out;
      }
      if (s->power_state && s->power_state[0] &&
          !g_strv_contains(power_states, s->power_state)) {
         pc.err = g_strdup_printf("%s: %s = \"%s\": expected poweredOn, paused, suspended or "
                                  "poweredOff",
                                  file, s->k_power_state, s->power_state);
         goto out;
      }
      /* Duplicate uids and missing parents are found by vmsd_check below. */
      vmsd_snapshot *sn = snap_new((uint32_t)uid, (uint32_t)parent);
      g_ptr_array_add(v->snaps, sn);
      vmsd_snapshot_set_filename(sn, s->filename);
      vmsd_snapshot_set_name(sn, s->display_name);
      vmsd_snapshot_set_description(sn, s->description);
      vmsd_snapshot_set_power_state(sn, s->power_state);
      sn->create_time_us = (int64_t)(((uint64_t)(uint32_t)hi << 32) | (uint32_t)lo);
      sn->num_disks = (uint32_t)disks;
      if (s->extra) {
         g_ptr_array_extend_and_steal(sn->extra->kv, s->extra);
         s->extra = NULL;
      }
   }
   /* The file's lastUID, or the highest uid if the file's is lower. */
   v->last_uid = (uint32_t)last;
   for (guint i = 0; i < v->snaps->len; i++) {
      vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      vmsd_reserve_uid(v, s->uid);
   }
   v->current = (uint32_t)cur;
   char *why = NULL;
   if (!vmsd_check(v, &why)) {
      pc.err = g_strdup_printf("%s: %s", file, why);
      g_free(why);
   }
out:
   for (guint i = 0; pc.slots && i < pc.n; i++) {
      if (pc.slots[i].extra) {
         g_ptr_array_free(pc.slots[i].extra, TRUE);
      }
   }
   g_free(pc.slots);
   if (pc.extra) {
      g_ptr_array_free(pc.extra, TRUE);
   }
   vmxcfg_free(c);
   if (pc.err) {
      vmsd_free(v);
      *err = pc.err;
      return NULL;
   }
   return v;
}

vmsd *
vmsd_load(const char *path, char **err)
{
   struct stat st;
   if (stat(path, &st) < 0) {
      if (errno == ENOENT) {
         return vmsd_new();
      }
      *err = g_strdup_printf("%s: %s", path, g_strerror(errno));
      return NULL;
   }
   if (st.st_size > (off_t)VMXCFG_MAX_SIZE) {
      *err = g_strdup_printf("%s: file larger than %u bytes", path, VMXCFG_MAX_SIZE);
      return NULL;
   }
   gchar *text = NULL;
   gsize len = 0;
   GError *gerr = NULL;
   if (!g_file_get_contents(path, &text, &len, &gerr)) {
      bool gone = g_error_matches(gerr, G_FILE_ERROR, G_FILE_ERROR_NOENT);
      if (!gone) {
         *err = g_strdup(gerr->message);
      }
      g_error_free(gerr);
      return gone ? vmsd_new() : NULL;
   }
   vmsd *v = vmsd_parse(text, len, path, err);
   g_free(text);
   return v;
}

/* ---- writing */

static void
set_u(vmxcfg *c, const char *key, uint64_t x)
{
   char buf[32];
   g_snprintf(buf, sizeof buf, "%" G_GUINT64_FORMAT, x);
   vmxcfg_set(c, key, buf);
}

char *
vmsd_write(const vmsd *v, size_t *len)
{
   vmxcfg *c = vmxcfg_new();
   vmxcfg_set(c, ".encoding", "UTF-8");
   set_u(c, "snapshot.lastUID", v->last_uid);
   if (v->current) {
      set_u(c, "snapshot.current", v->current);
   }
   for (guint i = 0; i < v->extra->len; i++) {
      const kv *e = g_ptr_array_index(v->extra, i);
      vmxcfg_set(c, e->key, e->value);
   }
   for (guint i = 0; i < v->snaps->len; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      char key[64];
#define K(f) (g_snprintf(key, sizeof key, "snapshot%u.%s", i, f), key)
      set_u(c, K("uid"), s->uid);
      if (s->filename[0]) {
         vmxcfg_set(c, K("filename"), s->filename);
      }
      if (s->parent) {
         set_u(c, K("parent"), s->parent);
      }
      vmxcfg_set(c, K("displayName"), s->display_name);
      if (s->description[0]) {
         vmxcfg_set(c, K("description"), s->description);
      }
      uint64_t t = (uint64_t)s->create_time_us;
      set_u(c, K("createTimeHigh"), t >> 32);
      char lo[16];
      g_snprintf(lo, sizeof lo, "%d", (int32_t)(uint32_t)t);
      vmxcfg_set(c, K("createTimeLow"), lo);
      set_u(c, K("numDisks"), s->num_disks);
      if (s->power_state[0]) {
         vmxcfg_set(c, K("vmws.powerState"), s->power_state);
      }
      for (guint j = 0; j < s->extra->kv->len; j++) {
         const kv *e = g_ptr_array_index(s->extra->kv, j);
         char *k = g_strdup_printf("snapshot%u.%s", i, e->key);
         vmxcfg_set(c, k, e->value);
         g_free(k);
      }
#undef K
   }
   set_u(c, "snapshot.numSnapshots", v->snaps->len);
   char *text = vmxcfg_write(c, len);
   vmxcfg_free(c);
   return text;
}

int
vmsd_save(const vmsd *v, const char *path, char **err)
{
   size_t len;
   char *text = vmsd_write(v, &len);
   int r = vmws_atomicfile_write(path, text, len, 0644, true, err);
   g_free(text);
   return r;
}

/* ---- tree operations */

static void
collect_subtree(const vmsd *v, uint32_t uid, GArray *out)
{
   g_array_append_val(out, uid);
   /* Breadth first over out itself: no recursion on a deep chain. */
   for (guint k = out->len - 1; k < out->len; k++) {
      uint32_t p = g_array_index(out, uint32_t, k);
      for (guint i = 0; i < v->snaps->len; i++) {
         const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
         if (s->parent == p && s->uid != p) {
            g_array_append_val(out, s->uid);
         }
      }
      if (out->len > v->snaps->len) {
         break; /* a cycle (only in a tree that failed vmsd_check) */
      }
   }
}

unsigned
vmsd_remove(vmsd *v, uint32_t uid, bool children, uint32_t *removed)
{
   const vmsd_snapshot *victim = vmsd_get(v, uid);
   if (!victim) {
      return 0;
   }
   uint32_t parent = victim->parent;
   GArray *gone = g_array_new(FALSE, FALSE, sizeof(uint32_t));
   if (children) {
      collect_subtree(v, uid, gone);
   } else {
      g_array_append_val(gone, uid);
      for (guint i = 0; i < v->snaps->len; i++) {
         vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
         if (s->parent == uid) {
            s->parent = parent;
         }
      }
   }
   unsigned n = 0;
   for (guint k = 0; k < gone->len; k++) {
      uint32_t u = g_array_index(gone, uint32_t, k);
      int i = index_of(v, u);
      if (i < 0) {
         continue;
      }
      if (v->current == u) {
         v->current = parent;
      }
      if (removed) {
         removed[n] = u;
      }
      n++;
      g_ptr_array_remove_index(v->snaps, (guint)i);
   }
   g_array_free(gone, TRUE);
   return n;
}

char *
vmsd_path_name(const vmsd *v, uint32_t uid)
{
   GPtrArray *names = g_ptr_array_new();
   const vmsd_snapshot *s = vmsd_get(v, uid);
   for (guint steps = 0; s && steps <= v->snaps->len; steps++) {
      g_ptr_array_insert(names, 0, s->display_name);
      s = s->parent ? vmsd_get(v, s->parent) : NULL;
   }
   g_ptr_array_add(names, NULL);
   char *p = g_strjoinv("/", (char **)names->pdata);
   g_ptr_array_free(names, TRUE);
   return p;
}

uint32_t
vmsd_find(const vmsd *v, const char *name, char **err)
{
   /* The whole name first: a display name may itself hold a '/' in a file
    * VMware made. */
   uint32_t found = 0;
   unsigned hits = 0;
   for (guint i = 0; i < v->snaps->len; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      if (!strcmp(s->display_name, name)) {
         found = s->uid;
         hits++;
      }
   }
   if (hits == 1) {
      return found;
   }
   if (hits > 1 && !strchr(name, '/')) {
      char *example = vmsd_path_name(v, found);
      *err = g_strdup_printf("the snapshot name '%s' is ambiguous: %u snapshots have it; name "
                             "one by its path from the root, such as '%s'",
                             name, hits, example);
      g_free(example);
      return 0;
   }
   if (!strchr(name, '/')) {
      *err = g_strdup_printf("there is no snapshot named '%s'", name);
      return 0;
   }
   /* A path of names from a root. */
   char **parts = g_strsplit(name, "/", -1);
   uint32_t at = 0;   /* the parent the next element must be a child of */
   bool ok = true;
   for (char **p = parts; ok && *p; p++) {
      uint32_t next = 0;
      unsigned n = 0;
      for (guint i = 0; i < v->snaps->len; i++) {
         const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
         if (s->parent == at && !strcmp(s->display_name, *p)) {
            next = s->uid;
            n++;
         }
      }
      if (n != 1) {
         char *where = at ? vmsd_path_name(v, at) : NULL;
         if (n == 0) {
            *err = g_strdup_printf("there is no snapshot named '%s'%s%s%s (looking up '%s')", *p,
                                   where ? " under '" : " at the root", where ? where : "",
                                   where ? "'" : "", name);
         } else {
            *err = g_strdup_printf("the snapshot path '%s' is ambiguous: %u snapshots named '%s' "
                                   "%s%s%s",
                                   name, n, *p, where ? "are children of '" : "are roots",
                                   where ? where : "", where ? "'" : "");
         }
         g_free(where);
         ok = false;
      }
      at = next;
   }
   g_strfreev(parts);
   return ok ? at : 0;
}

static void
tree_walk(const vmsd *v, uint32_t parent, unsigned depth, vmsd_tree_fn fn, void *user)
{
   if (depth > v->snaps->len) {
      return; /* a cycle in a tree that failed vmsd_check */
   }
   for (guint i = 0; i < v->snaps->len; i++) {
      const vmsd_snapshot *s = g_ptr_array_index(v->snaps, i);
      if (s->parent == parent && s->uid != parent) {
         fn(s, depth, user);
         tree_walk(v, s->uid, depth + 1, fn, user);
      }
   }
}

void
vmsd_foreach_tree(const vmsd *v, vmsd_tree_fn fn, void *user)
{
   tree_walk(v, 0, 0, fn, user);
}
