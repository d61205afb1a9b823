/*
 * cui/inventory.h - the VM library: the virtual machines a user opened and
 * the folders they arranged them in, in the order they chose.
 *
 * The library is remembered in $XDG_CONFIG_HOME/vmws/inventory (else
 * ~/.config/vmws/inventory), a text file with one entry a line:
 *
 *   # comment
 *   folder ID PARENT "NAME"
 *   vm PARENT "/absolute/path/to/name.vmx" "LAST KNOWN NAME"
 *
 * PARENT is 0 for the top level or the ID of a folder. Strings are in
 * double quotes with C escapes (\" \\ \n \ooo). Lines are in display order.
 * Every change is saved at once, atomically (temporary file, fsync,
 * rename); when the save fails the change is undone and reported.
 *
 * A hand-edited or damaged file is read line by line: a bad line is
 * skipped with a warning "FILE:LINE: reason" (cui_inventory_warnings()),
 * the other entries are kept, and before the next save a copy of the file
 * as it was is left in FILE.bad. A file that cannot be read at all is never
 * written over.
 *
 * A VM entry shows the displayName from its .vmx. Entries whose .vmx is
 * gone stay in the library, marked missing, with the last name seen.
 *
 * Entries are owned by the inventory; pointers stay valid until the next
 * call that changes or refreshes it.
 */
#ifndef CUI_INVENTORY_H
#define CUI_INVENTORY_H

#include <glib.h>
#include <stdbool.h>

typedef struct cui_inventory cui_inventory;

typedef struct cui_inventory_entry {
   unsigned id;             /* unique within this inventory object, never 0 */
   bool is_folder;
   unsigned parent;         /* 0: top level; else a folder's id */
   char *name;              /* folder name, or the VM's display name */
   /* VMs only: */
   char *path;              /* absolute .vmx path */
   bool missing;            /* the .vmx file does not exist (any more) */
   char *problem;           /* why the .vmx cannot be used now, or NULL */
   char *guest_os;          /* guestOS from the .vmx, or NULL */
   /* Live state, set by cui_inventory_refresh_state(): */
   bool running;            /* a vmx process has this VM open */
   char *power_state;       /* poweredOff, poweredOn, paused, suspended, ... */
} cui_inventory_entry;

/* $XDG_CONFIG_HOME/vmws/inventory, or ~/.config/vmws/inventory. */
char *cui_inventory_default_path(void);

/* Read the library at path (NULL: the default path). Never fails: a
 * missing file is an empty library; problems are in the warnings. */
cui_inventory *cui_inventory_load(const char *path);
void cui_inventory_free(cui_inventory *inv);

const char *cui_inventory_path(const cui_inventory *inv);
/* "FILE:LINE: reason" for each line that was skipped or repaired, and
 * "FILE: reason" when the file could not be read (then the library is
 * read-only: every change fails and the file is left alone). */
const char *const *cui_inventory_warnings(const cui_inventory *inv);
bool cui_inventory_read_only(const cui_inventory *inv);

/* Every entry, folders and VMs, in display order (children of a folder
 * are the entries whose parent is its id, in this order). */
guint cui_inventory_count(const cui_inventory *inv);
const cui_inventory_entry *cui_inventory_nth(const cui_inventory *inv, guint i);
const cui_inventory_entry *cui_inventory_lookup(const cui_inventory *inv, unsigned id);
/* The VM entry for a .vmx path (compared after resolving links). */
const cui_inventory_entry *cui_inventory_find(const cui_inventory *inv, const char *vmx_path);
/* The entries directly in folder parent (0: top level), in order; free the
 * array with g_ptr_array_unref(). */
GPtrArray *cui_inventory_children(const cui_inventory *inv, unsigned parent);

/* The .vmx to open for path: path itself when it is a readable .vmx, or
 * the only .vmx in path when it is a folder (as VMware Workstation keeps a
 * VM: NAME.vmx with NAME.vmdk, .nvram, .vmsd, .vmxf, logs). Returns the
 * absolute, symlink-free path, or NULL with *err. */
char *cui_inventory_resolve_vmx(const char *path, char **err);

/* Add the VM at vmx_path (a .vmx file) in folder parent (0: top level), at
 * the end. Refuses a VM that is already in the library and a file that is
 * not a readable .vmx. */
const cui_inventory_entry *cui_inventory_add(cui_inventory *inv, const char *vmx_path,
                                             unsigned parent, char **err);
/* "Open a virtual machine": path is a .vmx or a VM's folder. A VM already
 * in the library is returned as it is (*added false). */
const cui_inventory_entry *cui_inventory_open(cui_inventory *inv, const char *path,
                                              bool *added, char **err);
/* A new library folder; returns its id, 0 with *err. */
unsigned cui_inventory_add_folder(cui_inventory *inv, const char *name, unsigned parent,
                                  char **err);
/* Take an entry out of the library (the VM's files are not touched). The
 * entries of a removed folder move to its parent, where it was. */
bool cui_inventory_remove(cui_inventory *inv, unsigned id, char **err);
/* Rename a folder, or a VM: its displayName is written into the .vmx
 * (through its vmx when it runs; see cui/vmxedit.h). */
bool cui_inventory_rename(cui_inventory *inv, unsigned id, const char *name, char **err);
/* Move an entry into folder parent (0: top level), before the entry
 * before_id there (0: at the end). */
bool cui_inventory_move(cui_inventory *inv, unsigned id, unsigned parent, unsigned before_id,
                        char **err);

/* Read each VM's .vmx again (names, missing files). */
void cui_inventory_refresh(cui_inventory *inv);
/* Ask which VMs run (vmclient_list_running) and their power states. */
void cui_inventory_refresh_state(cui_inventory *inv);
/* The same for one VM (connects to its vmx only). */
void cui_inventory_refresh_entry_state(cui_inventory *inv, unsigned id);

#endif
