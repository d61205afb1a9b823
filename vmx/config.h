/*
 * vmx/config.h - VMware-style .vmx configuration files.
 *
 * A .vmx is a list of `key = "value"` lines. Keys are case-insensitive (as
 * VMware treats them); the spelling found in the file is kept. Values use
 * VMware's |XX hex escapes for characters that cannot appear raw. Lines we
 * do not change (comments, blank lines, unknown keys) are written back
 * byte for byte.
 */
#ifndef VMX_CONFIG_H
#define VMX_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vmxcfg vmxcfg;

#define VMXCFG_MAX_SIZE (16u << 20)

/* Parse text. On error returns NULL and sets *err to "FILE:LINE: reason". */
vmxcfg *vmxcfg_parse(const char *text, size_t len, const char *filename, char **err);
vmxcfg *vmxcfg_load(const char *path, char **err);
vmxcfg *vmxcfg_new(void);
void vmxcfg_free(vmxcfg *cfg);

/* Value of key (any case), NULL if absent. The last occurrence wins. */
const char *vmxcfg_get(const vmxcfg *cfg, const char *key);
/* Set or add key; an existing entry keeps its place and key spelling. */
void vmxcfg_set(vmxcfg *cfg, const char *key, const char *value);
bool vmxcfg_remove(vmxcfg *cfg, const char *key);
/* True if key is a syntactically valid .vmx key. */
bool vmxcfg_key_valid(const char *key);

/* Typed getters: the default when absent; on a malformed value, false and
 * *err names the key and the value. */
bool vmxcfg_get_bool(const vmxcfg *cfg, const char *key, bool dflt, bool *out, char **err);
bool vmxcfg_get_int(const vmxcfg *cfg, const char *key, int64_t dflt, int64_t *out, char **err);

typedef void (*vmxcfg_foreach_fn)(const char *key, const char *value, void *user);
/* Every entry once, in file order, with its spelling as in the file. */
void vmxcfg_foreach(const vmxcfg *cfg, vmxcfg_foreach_fn fn, void *user);
size_t vmxcfg_count(const vmxcfg *cfg);

/* The file's text; unchanged lines are reproduced exactly. */
char *vmxcfg_write(const vmxcfg *cfg, size_t *len);
/* Write atomically: temporary file in the same folder, fsync, rename, fsync
 * of the folder. A crash leaves the old or the new file, never a mix. */
int vmxcfg_save(const vmxcfg *cfg, const char *path, char **err);

/* Escaping as VMware does it: '"', '|', '#' and control bytes as |XX. */
char *vmxcfg_escape(const char *value);

/* The suspended state beside a .vmx, named as VMware names it: "vm.vmx"
 * -> "vm.vmss" (a path without the .vmx suffix gets ".vmss" added). */
char *vmxcfg_suspend_path(const char *vmx_path);

#endif
