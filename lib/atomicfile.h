/*
 * lib/atomicfile.h - writing files a user cares about so that a crash at
 * any moment leaves the old or the new version, never a torn one.
 *
 * The data goes to a temporary file in the same folder, which is flushed
 * (fsync) and then renamed over the target; the folder is flushed last so
 * the rename itself survives a crash. Where the file system supports it
 * (ext4, xfs, btrfs, tmpfs) the temporary file is unnamed (O_TMPFILE) until
 * the commit, so a process killed while writing leaves nothing behind;
 * elsewhere it is ".NAME.tmp-XXXXXX" beside the target.
 */
#ifndef VMWS_ATOMICFILE_H
#define VMWS_ATOMICFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Write len bytes of data to path. With replace false, an existing path is
 * never overwritten (the call fails with "... already exists"). mode is
 * used for a new file; a replaced file keeps its own mode. Returns 0, or -1
 * with *err naming the file and the reason; on failure the old file (if
 * any) is untouched and no temporary file is left behind. */
int vmws_atomicfile_write(const char *path, const void *data, size_t len, mode_t mode,
                         bool replace, char **err);

/* ---- streaming: for files too big to build in memory (checkpoints) ----
 *
 *   af = vmws_atomicfile_begin(path, 0600, true, &err);
 *   ... write / pwrite / ftruncate vmws_atomicfile_fd(af), from any threads ...
 *   vmws_atomicfile_commit(af, &err)   or   vmws_atomicfile_abort(af);
 *
 * Until the commit, path is untouched (the old file stays readable and
 * complete). The commit flushes the data, puts the file under path in one
 * step and flushes the folder. replace and mode as for vmws_atomicfile_write
 * (replace false: the commit fails with "... already exists" if path
 * appeared meanwhile, and never overwrites it). */
typedef struct vmws_atomicfile vmws_atomicfile;

/* NULL with *err ("cannot create a temporary file beside PATH: ...") on
 * failure. */
vmws_atomicfile *vmws_atomicfile_begin(const char *path, mode_t mode, bool replace, char **err);
/* The temporary file, open read-write. Do not close it. */
int vmws_atomicfile_fd(const vmws_atomicfile *af);
/* The temporary file's name, or NULL while it has none (O_TMPFILE). */
const char *vmws_atomicfile_tmp_path(const vmws_atomicfile *af);
/* The target path given to begin. */
const char *vmws_atomicfile_path(const vmws_atomicfile *af);
/* Flush, rename into place, flush the folder. Frees af whatever happens;
 * on failure (-1, *err set) the temporary file is removed and path is as
 * it was. */
int vmws_atomicfile_commit(vmws_atomicfile *af, char **err);
/* Drop the temporary file and free af. NULL is fine. */
void vmws_atomicfile_abort(vmws_atomicfile *af);

/* fsync() a folder so that a rename or a new entry in it is durable. */
void vmws_atomicfile_sync_dir(const char *dir);

#endif
