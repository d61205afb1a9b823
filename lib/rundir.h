/*
 * lib/rundir.h - the private runtime directory for vmws sockets.
 */
#ifndef VMWS_RUNDIR_H
#define VMWS_RUNDIR_H

/* $XDG_RUNTIME_DIR/vmws when that is usable, else /tmp/vmws-UID. Created
 * with mode 0700 and checked: a directory, not a link, owned by us, no
 * access for group or others. Returns NULL with *err set otherwise. */
char *vmws_runtime_dir(char **err);

#endif

#ifndef VMWS_RUNDIR_PATH_DECL
#define VMWS_RUNDIR_PATH_DECL
/* A path in the runtime directory named after a key (a VM's .vmx path):
 * "<dir>/vm-<first 20 hex digits of SHA-256(key)><suffix>". Short enough
 * for a socket address whatever the key's length. */
char *vmws_runtime_path(const char *key, const char *suffix, char **err);
#endif
