/*
 * cui/newvm.h - the new-VM model: the fields of the "New Virtual Machine"
 * wizard, each validated on its own, and the writer that makes the VM.
 *
 * A field holds the text the user entered (cui_newvm_set/get); checks
 * parse it and answer with a message that starts with the field's label
 * ("Memory: must be a multiple of 4 MB"). The same model, in edit mode,
 * is behind the settings of an existing VM (cui/settings.h).
 *
 * cui_newvm_write() makes <location>/<name>/<name>.vmx:
 *
 *   .encoding = "UTF-8"
 *   config.version = "8"
 *   virtualHW.version = "21"
 *   displayName, guestOS, numvcpus, memsize, monitor.virtual_exec
 *   serial0.* -> serial0.log in the VM's folder (the guest's console)
 *   ide1:0.*  -> the ISO image (deviceType "cdrom-image"), when given
 *   linux.kernel/initrd/cmdline/entry (direct boot), when a kernel is given
 *   scsi0:0.* or sata0:0.* -> an existing .vmdk, when given
 *   RemoteDisplay.vnc.enabled/port/password, when VNC is enabled
 */
#ifndef CUI_NEWVM_H
#define CUI_NEWVM_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cui_inventory cui_inventory;
typedef struct cui_newvm cui_newvm;

typedef enum cui_newvm_field {
   CUI_NEWVM_NAME,          /* display name; for a new VM also its folder and file name */
   CUI_NEWVM_LOCATION,      /* the folder the VM's folder is made in (new VMs) */
   CUI_NEWVM_GUEST_OS,      /* a VMware guestOS id, see cui_newvm_guest_os_list() */
   CUI_NEWVM_CPUS,          /* numvcpus */
   CUI_NEWVM_MEMORY,        /* memsize, in MB */
   CUI_NEWVM_ISO,           /* CD/DVD image on ide1:0, or empty */
   CUI_NEWVM_KERNEL,        /* linux.kernel, or empty */
   CUI_NEWVM_INITRD,        /* linux.initrd, or empty */
   CUI_NEWVM_CMDLINE,       /* linux.cmdline */
   CUI_NEWVM_ENTRY,         /* linux.entry: auto, linux, pvh or multiboot */
   CUI_NEWVM_DISK,          /* an existing .vmdk, or empty */
   CUI_NEWVM_DISK_BUS,      /* scsi (scsi0:0) or sata (sata0:0) */
   CUI_NEWVM_VNC_ENABLED,   /* RemoteDisplay.vnc.enabled: true or false */
   CUI_NEWVM_VNC_PORT,      /* RemoteDisplay.vnc.port: 0 (pick one) or 1024-65535 */
   CUI_NEWVM_VNC_PASSWORD,  /* RemoteDisplay.vnc.password, or empty */
   CUI_NEWVM_MONITOR,       /* monitor.virtual_exec: automatic, hardware or software */
   CUI_NEWVM_N_FIELDS
} cui_newvm_field;

typedef enum cui_newvm_severity {
   CUI_NEWVM_OK,
   CUI_NEWVM_WARNING,       /* allowed, but the user should know */
   CUI_NEWVM_ERROR,         /* the VM cannot be made (or saved) like this */
} cui_newvm_severity;

typedef struct cui_newvm_issue {
   cui_newvm_field field;
   cui_newvm_severity severity;
   char *message;           /* "Label: what is wrong" */
} cui_newvm_issue;

typedef struct cui_newvm_guest_os {
   const char *id;          /* the guestOS value, e.g. "debian12-64" */
   const char *name;        /* e.g. "Debian 12.x 64-bit" */
   unsigned memory_mb;      /* recommended memory */
   unsigned disk_gb;        /* recommended disk size */
} cui_newvm_guest_os;

/* Limits. */
#define CUI_NEWVM_MAX_CPUS        32            /* VMware Workstation's limit */
#define CUI_NEWVM_MIN_MEMORY_MB   4
#define CUI_NEWVM_MAX_MEMORY_MB   (64 * 1024)
#define CUI_NEWVM_CONFIG_VERSION  "8"
#define CUI_NEWVM_VIRTUAL_HW      "21"

/* The guest OS types offered, in menu order. */
const cui_newvm_guest_os *cui_newvm_guest_os_list(size_t *n);
/* The entry for a guestOS value (any case), NULL when not offered. */
const cui_newvm_guest_os *cui_newvm_guest_os_find(const char *id);

/* "Memory", "Processors", ... */
const char *cui_newvm_field_label(cui_newvm_field f);
/* A stable identifier: "name", "memory", "vncPort", ... */
const char *cui_newvm_field_id(cui_newvm_field f);
bool cui_newvm_field_from_id(const char *id, cui_newvm_field *out);

/* A model with the defaults: no name, location ~/vmware, guest
 * "other-64", 1 processor, 1024 MB (at most half the host's memory), no
 * media, VNC off on port 5900, monitor automatic. */
cui_newvm *cui_newvm_new(void);
void cui_newvm_free(cui_newvm *m);

/* The host the limits come from (default: this machine). */
void cui_newvm_set_host(cui_newvm *m, unsigned cpus, uint64_t memory_mb);
unsigned cui_newvm_max_cpus(const cui_newvm *m);
uint64_t cui_newvm_max_memory_mb(const cui_newvm *m);

/* Text of a field (never NULL) and setting it (NULL: empty). Setting does
 * not validate: ask cui_newvm_check(). */
const char *cui_newvm_get(const cui_newvm *m, cui_newvm_field f);
void cui_newvm_set(cui_newvm *m, cui_newvm_field f, const char *value);
void cui_newvm_set_int(cui_newvm *m, cui_newvm_field f, int64_t value);
/* The guest's recommended memory (capped by the host) for a guest OS. */
void cui_newvm_apply_guest_defaults(cui_newvm *m);

/* Check one field; *message (may be NULL) gets the message when the
 * answer is not OK. */
cui_newvm_severity cui_newvm_check(const cui_newvm *m, cui_newvm_field f, char **message);
/* Every warning and error (cui_newvm_issue*, in field order). */
GPtrArray *cui_newvm_check_all(const cui_newvm *m);
/* No field has an error. */
bool cui_newvm_valid(const cui_newvm *m);

/* <location>/<name> and <location>/<name>/<name>.vmx. */
char *cui_newvm_folder(const cui_newvm *m);
char *cui_newvm_vmx_path(const cui_newvm *m);

/* Make the VM: its folder, then the .vmx (written atomically, never over
 * an existing file); then add it to inv (when not NULL). On failure
 * nothing is left behind: what was made is removed. Returns 0 and the
 * .vmx path in *vmx_out (may be NULL), or -1 with *err (every error, one
 * a line). */
int cui_newvm_write(const cui_newvm *m, cui_inventory *inv, char **vmx_out, char **err);

#endif
