/*
 * lib/atomicfile.h - writing files a user cares about so that a crash at
 * any moment leaves the old or the new version, never a torn one.
 *
 * The data goes to a temporary file in the same folder (".NAME.tmp-XXXXXX"),
 * which is flushed (fsync) and then renamed over the target; the folder is
 * flushed last so the rename itself survives a crash.
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

/* fsync() a folder so that a rename or a new entry in it is durable. */
void vmws_atomicfile_sync_dir(const char *dir);

#endif
