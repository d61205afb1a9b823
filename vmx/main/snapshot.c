/*
 * vmx/main/snapshot.c - snapshots of the VM the vmx runs (see snapshot.h).
 */
#include "vmx/main/snapshot.h"
#include "lib/atomicfile.h"
#include "vmx/ckpt-items.h"
#include "vmx/vmsd.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* The section every .vmsn has: the .vmx text and the power state. */
#define SNAP_SECTION "snapshot"
#define SNAP_SECTION_VERSION 1

static bool
is(const vmx *v, const char *s)
{
   return strcmp(v->power_state, s) == 0;
}

/* The main loop does not run while a checkpoint is written or read: send
 * what changed to the clients now, briefly (a client that does not read
 * does not hold the operation up). A pipe that closes meanwhile is told
 * to us, and freed, from the main loop later. */
static void
push(vmx *v)
{
   for (guint i = 0; i < v->pipes->len; i++) {
      vmdb_pipe_flush(g_ptr_array_index(v->pipes, i), 10);
   }
}

void
vmx_checkpoint_progress(void *ud, uint64_t done, uint64_t total)
{
   vmx *v = ud;
   vmdb_set_int(v->ctx, "/vm/runtime/checkpoint/progress",
                total ? (int64_t)(done * 100 / total) : 100);
   push(v);
}

static void
op_begin(vmx *v, const char *op)
{
   vmdb_tx_begin(v->ctx);
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", op);
   vmdb_set_int(v->ctx, "/vm/runtime/checkpoint/progress", 0);
   vmdb_tx_commit(v->ctx);
   push(v);
}

static void
op_end(vmx *v)
{
   vmdb_set_str(v->ctx, "/vm/runtime/checkpoint/op", "");
}

static char *
in_dir(vmx *v, const char *name)
{
   return g_build_filename(v->dir, name, NULL);
}

static gint64
ms_since(gint64 t0)
{
   return (g_get_monotonic_time() - t0) / 1000;
}

/* ---- the .vmsn */

static bool
add_snap_section(ckpt_file_writer *w, const char *cfg_text, const char *state, char **err)
{
   ckpt_writer *sw = ckpt_writer_new(SNAP_SECTION, SNAP_SECTION_VERSION);
   ckpt_put_bytes(sw, "config", cfg_text, strlen(cfg_text));
   ckpt_put_bytes(sw, "powerState", state, strlen(state));
   GBytes *b = ckpt_writer_finish(sw);
   gsize n;
   const void *p = g_bytes_get_data(b, &n);
   bool ok = ckpt_file_add_section(w, SNAP_SECTION, CKPT_FILE_STATE, p, n, err);
   g_bytes_unref(b);
   return ok;
}

/* The saved config text and power state; false with *err. */
static bool
read_snap_section(ckpt_file *f, char **cfg_text, char **state, char **err)
{
   size_t len, used;
   const void *p = ckpt_file_section(f, SNAP_SECTION, CKPT_FILE_STATE, &len);
   if (!p) {
      *err = g_strdup("it has no 'snapshot' section: it is not a snapshot state file");
      return false;
   }
   ckpt_reader *r = ckpt_reader_new(p, len, &used, err);
   if (!r) {
      return false;
   }
   size_t cn = 0, sn = 0;
   const char *c = ckpt_get_blob(r, "config", &cn);
   const char *s = ckpt_get_blob(r, "powerState", &sn);
   bool ok = false;
   if (ckpt_reader_error(r) || !c || !s) {
      *err = g_strdup_printf("its 'snapshot' section is incomplete%s%s",
                             ckpt_reader_error(r) ? ": " : "",
                             ckpt_reader_error(r) ? ckpt_reader_error(r) : "");
   } else if (memchr(c, '\0', cn) || cn > VMXCFG_MAX_SIZE) {
      *err = g_strdup("the configuration in its 'snapshot' section is not text");
   } else {
      static const char *const states[] = { "poweredOn", "paused", "suspended", "poweredOff",
                                            NULL };
      *state = g_strndup(s, sn);
      if (!g_strv_contains(states, *state)) {
         *err = g_strdup("its 'snapshot' section has an unknown power state");
         g_clear_pointer(state, g_free);
      } else {
         *cfg_text = g_strndup(c, cn);
         ok = true;
      }
   }
   ckpt_reader_free(r);
   return ok;
}

/* Take a running or paused machine's state. */
static bool
save_machine(vmx *v, const char *path, const char *cfg_text, const char *state, char **err)
{
   bool running = is(v, "poweredOn");
   if (running && vmx_machine_pause(v->machine, err) < 0) {
      return false;
   }
   /* Snapshots are kept: store what halves. */
   ckpt_file_opts o = { .max_ratio = 0.5 };
   ckpt_file_writer *w = ckpt_file_create(path, &o, err);
   bool ok = w && add_snap_section(w, cfg_text, state, err) &&
             vmx_machine_save(v->machine, w, vmx_checkpoint_progress, v, err);
   if (w && !ok) {
      ckpt_file_abort(w);
   } else if (ok) {
      ok = ckpt_file_commit(w, err);
   }
   if (running) {
      char *why = NULL;
      if (vmx_machine_unpause(v->machine, &why) < 0) {
         vmxlog("Error: after the snapshot the virtual machine cannot run again: %s", why);
         vmx_set_power_state(v, "paused");
      }
      g_free(why);
   }
   return ok;
}

/* One memory region of src into w, through an anonymous mapping that the
 * lazy restore fills from the file. */
static bool
copy_memory(vmx *v, ckpt_file *src, ckpt_file_writer *w, const char *name, char **err)
{
   ckpt_file_memory_info mi;
   if (!ckpt_file_memory(src, name, &mi) || mi.size > SIZE_MAX / 2) {
      *err = g_strdup_printf("memory '%s' cannot be read", name);
      return false;
   }
   size_t page = (size_t)sysconf(_SC_PAGESIZE);
   size_t maplen = (size_t)((mi.size + page - 1) / page * page);
   void *ram = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
   if (ram == MAP_FAILED) {
      *err = g_strdup_printf("cannot map %llu bytes for memory '%s': %s",
                             (unsigned long long)mi.size, name, g_strerror(errno));
      return false;
   }
   bool ok = ckpt_file_restore_memory(src, name, ram, mi.size, CKPT_FILE_RESTORE_LAZY, NULL, NULL,
                                      err) &&
             ckpt_file_add_memory(w, name, ram, mi.size, vmx_checkpoint_progress, v, err);
   munmap(ram, maplen);
   return ok;
}

/* A suspended VM: its .vmss with the snapshot section added. */
static bool
copy_suspended(vmx *v, const char *path, const char *cfg_text, char **err)
{
   char *vmss = vmxcfg_suspend_path(v->vmx_path);
   ckpt_file *src = ckpt_file_open(vmss, err);
   g_free(vmss);
   if (!src) {
      return false;
   }
   ckpt_file_opts o = { .max_ratio = 0.5 };
   ckpt_file_writer *w = ckpt_file_create(path, &o, err);
   bool ok = w && add_snap_section(w, cfg_text, "suspended", err);
   unsigned n = ckpt_file_n_sections(src);
   for (unsigned i = 0; ok && i < n; i++) {
      ckpt_file_section_info info;
      if (!ckpt_file_section_at(src, i, &info) || !strcmp(info.name, SNAP_SECTION)) {
         continue;
      }
      if (info.kind == CKPT_FILE_STATE || info.kind == CKPT_FILE_CPU) {
         size_t len;
         const void *p = ckpt_file_section(src, info.name, info.kind, &len);
         ok = p && ckpt_file_add_section(w, info.name, info.kind, p, len, err);
      } else if (info.kind == CKPT_FILE_MEMORY) {
         ok = copy_memory(v, src, w, info.name, err);
      } else {
         vmxlog("Snapshot: section '%s' of the suspended state has a kind (%u) this build does "
                "not know; not copied",
                info.name, info.kind);
      }
   }
   if (w && !ok) {
      if (!*err) {
         *err = g_strdup("cannot copy the suspended state");
      }
      ckpt_file_abort(w);
   } else if (ok) {
      ok = ckpt_file_commit(w, err);
   }
   ckpt_file_close(src);
   return ok;
}

static bool
save_config_only(const char *path, const char *cfg_text, char **err)
{
   ckpt_file_writer *w = ckpt_file_create(path, NULL, err);
   if (!w) {
      return false;
   }
   if (!add_snap_section(w, cfg_text, "poweredOff", err)) {
      ckpt_file_abort(w);
      return false;
   }
   return ckpt_file_commit(w, err);
}

/* ---- take */

int
vmx_snapshot_take(vmx *v, const char *name, const char *description, char **err)
{
   bool with_machine = is(v, "poweredOn") || is(v, "paused");
   if (!with_machine && !is(v, "suspended") && !is(v, "poweredOff")) {
      return vmx_op_fail(v, err, "cannot take a snapshot: the virtual machine is %s",
                       v->power_state);
   }
   char *why = NULL;
   if (!vmsd_name_valid(name, &why)) {
      vmx_op_fail(v, err, "cannot take a snapshot: %s", why);
      g_free(why);
      return -1;
   }
   if (strlen(description) > VMSD_DESCRIPTION_MAX || !g_utf8_validate(description, -1, NULL)) {
      return vmx_op_fail(v, err, "cannot take a snapshot: the description must be UTF-8 text of "
                               "at most %u bytes",
                       VMSD_DESCRIPTION_MAX);
   }
   char *vmsd_path = vmsd_path_for(v->vmx_path);
   vmsd *tree = vmsd_load(vmsd_path, &why);
   char *fname = NULL, *fpath = NULL;
   int rc = -1;
   if (!tree) {
      vmx_op_fail(v, err, "cannot take a snapshot: %s", why);
      goto out;
   }
   if (vmsd_count(tree) >= VMSD_MAX_SNAPSHOTS) {
      vmx_op_fail(v, err, "cannot take a snapshot: the virtual machine has %u already",
                vmsd_count(tree));
      goto out;
   }
   /* A uid whose state file name is free (a stray file is never
    * overwritten). */
   uint32_t uid;
   for (;;) {
      uid = vmsd_next_uid(tree);
      if (!uid) {
         vmx_op_fail(v, err, "cannot take a snapshot: %s has used up every snapshot uid",
                   vmsd_path);
         goto out;
      }
      fname = vmsd_state_filename(v->vmx_path, uid);
      fpath = in_dir(v, fname);
      struct stat st;
      if (lstat(fpath, &st) < 0 && errno == ENOENT) {
         break;
      }
      vmxlog("Snapshot: %s is in the way; not using uid %u", fpath, uid);
      vmsd_reserve_uid(tree, uid);
      g_clear_pointer(&fname, g_free);
      g_clear_pointer(&fpath, g_free);
   }
   const char *state = v->power_state;   /* one of the four, a static string */
   char *cfg_text = vmxcfg_write(v->cfg, NULL);
   gint64 t0 = g_get_monotonic_time();
   op_begin(v, "snapshot");
   bool ok = with_machine      ? save_machine(v, fpath, cfg_text, state, &why)
             : is(v, "suspended") ? copy_suspended(v, fpath, cfg_text, &why)
                                  : save_config_only(fpath, cfg_text, &why);
   op_end(v);
   g_free(cfg_text);
   if (!ok) {
      vmx_op_fail(v, err, "cannot take snapshot '%s': %s%s", name, why,
                is(v, "poweredOn") ? "; the virtual machine keeps running" : "");
      goto out;
   }
   vmsd_snapshot *s = vmsd_add(tree, uid, vmsd_current(tree));
   vmsd_snapshot_set_name(s, name);
   vmsd_snapshot_set_description(s, description);
   vmsd_snapshot_set_filename(s, fname);
   vmsd_snapshot_set_power_state(s, state);
   s->create_time_us = g_get_real_time();
   vmsd_set_current(tree, uid);
   if (vmsd_save(tree, vmsd_path, &why) < 0) {
      unlink(fpath);
      vmx_op_fail(v, err, "cannot take snapshot '%s': %s", name, why);
      goto out;
   }
   vmxlog("Snapshot: took '%s' (uid %u, %s, parent %u) to %s in %lld ms", name, uid, state,
          s->parent, fname, (long long)ms_since(t0));
   rc = 0;
out:
   g_free(why);
   g_free(fname);
   g_free(fpath);
   g_free(vmsd_path);
   vmsd_free(tree);
   if (rc == 0) {
      vmx_snapshot_publish(v);
   }
   return rc;
}

/* ---- revert */

/* Copy src to the open file fd, leaving src's holes as holes. */
static bool
copy_sparse(int in, int out, char **err)
{
   struct stat st;
   if (fstat(in, &st) < 0 || ftruncate(out, st.st_size) < 0) {
      *err = g_strdup(g_strerror(errno));
      return false;
   }
   char *buf = g_malloc(1 << 20);
   off_t pos = 0;
   bool ok = true;
   while (ok && pos < st.st_size) {
      off_t data = lseek(in, pos, SEEK_DATA);
      if (data < 0) {
         break; /* only a hole is left (or no SEEK_DATA: copied below) */
      }
      off_t hole = lseek(in, data, SEEK_HOLE);
      if (hole < 0) {
         hole = st.st_size;
      }
      for (off_t o = data; ok && o < hole;) {
         size_t want = (size_t)MIN((off_t)(1 << 20), hole - o);
         ssize_t n = pread(in, buf, want, o);
         ok = n > 0 && pwrite(out, buf, (size_t)n, o) == n;
         o += n > 0 ? n : 0;
      }
      pos = hole;
   }
   g_free(buf);
   if (!ok) {
      *err = g_strdup(g_strerror(errno ? errno : EIO));
   }
   return ok;
}

/* Put the snapshot's state file where the VM's suspended state goes, under
 * a temporary name first: a hard link (the checkpoint is never changed in
 * place, and a resume removes only the link), or a copy where the file
 * system has no links. Returns the temporary name, to be renamed over the
 * .vmss. */
static char *
stage_vmss(const char *vmsn, const char *vmss, char **err)
{
   char *tmp = g_strdup_printf("%s.revert-tmp", vmss);
   unlink(tmp);
   if (link(vmsn, tmp) == 0) {
      return tmp;
   }
   int in = open(vmsn, O_RDONLY | O_CLOEXEC);
   int out = in < 0 ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
   char *why = NULL;
   bool ok = out >= 0 && copy_sparse(in, out, &why) && fsync(out) == 0;
   if (!ok) {
      *err = g_strdup_printf("cannot put %s in place as %s: %s", vmsn, vmss,
                             why ? why : g_strerror(errno));
      g_free(why);
      unlink(tmp);
      g_clear_pointer(&tmp, g_free);
   }
   if (in >= 0) {
      close(in);
   }
   if (out >= 0) {
      close(out);
   }
   return tmp;
}

int
vmx_snapshot_revert(vmx *v, const char *name, char **err)
{
   bool had_machine = v->machine != NULL;
   if (!is(v, "poweredOn") && !is(v, "paused") && !is(v, "suspended") && !is(v, "poweredOff")) {
      return vmx_op_fail(v, err, "cannot revert to a snapshot: the virtual machine is %s",
                       v->power_state);
   }
   char *why = NULL;
   char *vmsd_path = vmsd_path_for(v->vmx_path);
   vmsd *tree = vmsd_load(vmsd_path, &why);
   char *fpath = NULL, *cfg_text = NULL, *state = NULL, *tmp = NULL, *cur = NULL;
   char *vmss = vmxcfg_suspend_path(v->vmx_path);
   vmxcfg *ncfg = NULL;
   ckpt_file *f = NULL;
   int rc = -1;
   if (!tree) {
      vmx_op_fail(v, err, "cannot revert to snapshot '%s': %s", name, why);
      goto out;
   }
   uint32_t uid = vmsd_find(tree, name, &why);
   const vmsd_snapshot *s = uid ? vmsd_get(tree, uid) : NULL;
   if (!s) {
      vmx_op_fail(v, err, "cannot revert to a snapshot: %s", why);
      goto out;
   }
   if (!s->filename[0]) {
      vmx_op_fail(v, err, "cannot revert to snapshot '%s': %s names no state file for it", name,
                vmsd_path);
      goto out;
   }
   fpath = in_dir(v, s->filename);

   /* Check everything before anything changes. */
   gint64 t0 = g_get_monotonic_time();
   op_begin(v, "revert");
   f = ckpt_file_open(fpath, &why);
   bool ok = f && read_snap_section(f, &cfg_text, &state, &why);
   if (ok) {
      char *label = g_strdup_printf("%s (the configuration saved with the snapshot)", fpath);
      ncfg = vmxcfg_parse(cfg_text, strlen(cfg_text), label, &why);
      g_free(label);
      ok = ncfg != NULL;
   }
   bool memory = ok && strcmp(state, "poweredOff") != 0;
   if (ok && memory) {
      vmx_hw_config hw;
      char *hwerr = NULL;
      if (!vmx_hw_config_read(ncfg, &hw, &hwerr)) {
         why = g_strdup_printf("the configuration saved with it: %s", hwerr);
         g_free(hwerr);
         ok = false;
      } else if (!ckpt_file_section(f, "machine", CKPT_FILE_STATE, &(size_t){ 0 })) {
         why = g_strdup("it has no machine state");
         ok = false;
      } else {
         ok = ckpt_file_verify(f, vmx_checkpoint_progress, v, &why);
      }
   }
   ckpt_file_close(f);
   f = NULL;
   op_end(v);
   if (ok && memory) {
      tmp = stage_vmss(fpath, vmss, &why);
      ok = tmp != NULL;
   }
   /* The .vmx goes back to what it was; if it cannot be written, nothing
    * has changed yet. */
   cur = ok ? vmxcfg_write(v->cfg, NULL) : NULL;
   if (ok && strcmp(cur, cfg_text) != 0 && vmxcfg_save(ncfg, v->vmx_path, &why) < 0) {
      ok = false;
   }
   if (!ok) {
      bool named = why && g_str_has_prefix(why, fpath);
      vmx_op_fail(v, err, "cannot revert to snapshot '%s': %s%s%s; the virtual machine is left as "
                        "it was",
                name, named ? "" : fpath, named ? "" : ": ", why ? why : "unknown error");
      goto out;
   }

   /* Committed: the machine goes, the snapshot's state takes its place. */
   if (had_machine) {
      vmx_drop_machine(v);
   }
   vmxcfg_free(v->cfg);
   v->cfg = ncfg;
   ncfg = NULL;
   vmx_publish_config(v);
   const char *dn = vmxcfg_get(v->cfg, "displayName");
   vmdb_set_str(v->ctx, "/vm/displayName", dn ? dn : "");
   if (memory) {
      if (rename(tmp, vmss) < 0) {
         why = g_strdup_printf("cannot rename %s to %s: %s", tmp, vmss, g_strerror(errno));
         unlink(tmp);
      }
      vmws_atomicfile_sync_dir(v->dir);
   } else if (unlink(vmss) < 0 && errno != ENOENT) {
      vmxlog("Snapshot: cannot remove %s: %s", vmss, g_strerror(errno));
   }
   vmsd_set_current(tree, uid);
   char *terr = NULL;
   if (vmsd_save(tree, vmsd_path, &terr) < 0) {
      vmxlog("Error: snapshot '%s' is not marked current: %s", name, terr);
      g_free(terr);
   }
   vmx_snapshot_publish(v);
   if (why) {
      /* The old suspended state (if any) is still there. */
      vmx_set_power_state(v, g_file_test(vmss, G_FILE_TEST_EXISTS) ? "suspended" : "poweredOff");
      vmx_op_fail(v, err, "cannot revert to snapshot '%s': %s", name, why);
      if (had_machine) {
         vmx_schedule_exit(v, 0);
      }
      goto out;
   }
   vmxlog("Snapshot: reverting to '%s' (uid %u, taken %s), checked in %lld ms", name, uid, state,
          (long long)ms_since(t0));
   if (!memory) {
      vmx_set_power_state(v, "poweredOff");
   } else {
      vmx_set_power_state(v, "suspended");
      if (strcmp(state, "suspended") != 0) {
         char *perr = NULL;
         v->reverting = true;   /* the guest's run starts again from the snapshot */
         int prc = vmx_power_on(v, &perr);
         v->reverting = false;
         if (prc < 0) {
            /* The snapshot's state waits as the VM's suspended state. */
            vmx_op_fail(v, err, "reverted to snapshot '%s', but it does not run: %s", name, perr);
            g_free(perr);
            if (had_machine) {
               vmx_schedule_exit(v, 0);
            }
            goto out;
         }
         if (!strcmp(state, "paused") && vmx_pause(v, &perr) < 0) {
            vmxlog("Snapshot: cannot pause after the revert: %s", perr);
            g_free(perr);
         }
      }
   }
   if (!v->machine && had_machine) {
      /* As after power off and suspend: no machine, no vmx. */
      vmx_schedule_exit(v, 0);
   }
   vmxlog("Snapshot: reverted to '%s' in %lld ms; the virtual machine is %s", name,
          (long long)ms_since(t0), v->power_state);
   rc = 0;
out:
   if (tmp && rc < 0 && g_file_test(tmp, G_FILE_TEST_EXISTS)) {
      unlink(tmp);
   }
   ckpt_file_close(f);
   vmxcfg_free(ncfg);
   g_free(cur);
   g_free(tmp);
   g_free(cfg_text);
   g_free(state);
   g_free(fpath);
   g_free(vmss);
   g_free(why);
   g_free(vmsd_path);
   vmsd_free(tree);
   return rc;
}

/* ---- delete */

int
vmx_snapshot_delete(vmx *v, const char *name, const char *mode, char **err)
{
   bool children = !strcmp(mode, "andDeleteChildren");
   if (mode[0] && !children) {
      return vmx_op_fail(v, err, "cannot delete a snapshot: unknown option '%s' (only "
                               "andDeleteChildren)",
                       mode);
   }
   if (!is(v, "poweredOn") && !is(v, "paused") && !is(v, "suspended") && !is(v, "poweredOff")) {
      return vmx_op_fail(v, err, "cannot delete a snapshot: the virtual machine is %s",
                       v->power_state);
   }
   char *why = NULL;
   char *vmsd_path = vmsd_path_for(v->vmx_path);
   vmsd *tree = vmsd_load(vmsd_path, &why);
   int rc = -1;
   GHashTable *files = NULL;
   uint32_t *gone = NULL;
   if (!tree) {
      vmx_op_fail(v, err, "cannot delete snapshot '%s': %s", name, why);
      goto out;
   }
   uint32_t uid = vmsd_find(tree, name, &why);
   if (!uid) {
      vmx_op_fail(v, err, "cannot delete a snapshot: %s", why);
      goto out;
   }
   /* The state files, by uid, before the tree forgets them. */
   files = g_hash_table_new_full(g_direct_hash, g_direct_equal, NULL, g_free);
   for (unsigned i = 0; i < vmsd_count(tree); i++) {
      const vmsd_snapshot *s = vmsd_at(tree, i);
      g_hash_table_insert(files, GUINT_TO_POINTER(s->uid), g_strdup(s->filename));
   }
   gone = g_new(uint32_t, vmsd_count(tree));
   unsigned n = vmsd_remove(tree, uid, children, gone);
   /* The tree first: a crash in between leaves a stray file, not a
    * snapshot without its state. */
   if (vmsd_save(tree, vmsd_path, &why) < 0) {
      vmx_op_fail(v, err, "cannot delete snapshot '%s': %s", name, why);
      goto out;
   }
   for (unsigned k = 0; k < n; k++) {
      const char *fn = g_hash_table_lookup(files, GUINT_TO_POINTER(gone[k]));
      bool shared = false;
      for (unsigned i = 0; fn && fn[0] && i < vmsd_count(tree); i++) {
         shared = shared || !strcmp(vmsd_at(tree, i)->filename, fn);
      }
      if (!fn || !fn[0] || shared) {
         continue;
      }
      /* A machine running from it keeps its mapping: the file lives on
       * until that goes. */
      char *p = in_dir(v, fn);
      if (unlink(p) < 0 && errno != ENOENT) {
         vmxlog("Snapshot: cannot remove %s: %s", p, g_strerror(errno));
      }
      g_free(p);
   }
   vmxlog("Snapshot: deleted '%s' (uid %u)%s; %u snapshot%s removed", name, uid,
          children ? " and its children" : "", n, n == 1 ? "" : "s");
   rc = 0;
out:
   if (files) {
      g_hash_table_destroy(files);
   }
   g_free(gone);
   g_free(why);
   g_free(vmsd_path);
   vmsd_free(tree);
   if (rc == 0) {
      vmx_snapshot_publish(v);
   }
   return rc;
}

/* ---- VMDB */

void
vmx_snapshot_publish(vmx *v)
{
   char *path = vmsd_path_for(v->vmx_path);
   char *why = NULL;
   vmsd *tree = vmsd_load(path, &why);
   vmdb_tx_begin(v->ctx);
   vmdb_remove(v->ctx, "/vm/snapshot");
   if (!tree) {
      vmxlog("Snapshot: %s", why);
      vmdb_set_str(v->ctx, "/vm/snapshot/error", why);
      vmdb_set_int(v->ctx, "/vm/snapshot/count", 0);
   } else {
      for (unsigned i = 0; i < vmsd_count(tree); i++) {
         const vmsd_snapshot *s = vmsd_at(tree, i);
         char p[96];
#define P(f) (g_snprintf(p, sizeof p, "/vm/snapshot/#%u/%s", s->uid, f), p)
         vmdb_set_int(v->ctx, P("uid"), s->uid);
         vmdb_set_str(v->ctx, P("name"), s->display_name);
         vmdb_set_int(v->ctx, P("parent"), s->parent);
         vmdb_set_str(v->ctx, P("description"), s->description);
         vmdb_set_int(v->ctx, P("createTime"), s->create_time_us / G_USEC_PER_SEC);
         vmdb_set_str(v->ctx, P("powerState"), s->power_state);
         vmdb_set_int(v->ctx, P("index"), i);
#undef P
      }
      const vmsd_snapshot *cur = vmsd_get(tree, vmsd_current(tree));
      vmdb_set_int(v->ctx, "/vm/snapshot/count", vmsd_count(tree));
      vmdb_set_str(v->ctx, "/vm/snapshot/current", cur ? cur->display_name : "");
      vmdb_set_int(v->ctx, "/vm/snapshot/currentUid", cur ? cur->uid : 0);
   }
   vmdb_tx_commit(v->ctx);
   vmsd_free(tree);
   g_free(why);
   g_free(path);
}
