/*
 * cui/serialports.h - the serial ports (COM1-COM4) of an existing VM, as
 * the settings editor shows them.
 *
 * Port n (0-3) is serialN.* in the .vmx, what the vmx reads
 * (vmx/dev/chipset/uart.c):
 *
 *   serialN.present = "TRUE"
 *   serialN.fileType = "file"     serialN.fileName: the file the guest's
 *                                 output is written to
 *                      "pty"      a pseudo-terminal (no file name)
 *                      "socket"   a Unix socket the vmx listens on
 *                      "pipe"     a Unix socket the vmx connects to
 *                                 (serialN.pipe.endPoint = "client")
 *
 * A relative file name is taken from the VM's folder. Saving writes only
 * the keys of the ports that changed (every other line stays as it was)
 * and needs the VM powered off (cui/vmxedit.h).
 */
#ifndef CUI_SERIALPORTS_H
#define CUI_SERIALPORTS_H

#include "cui/newvm.h"

#include <stdbool.h>

#define CUI_SERIAL_PORTS 4

typedef struct cui_serialports cui_serialports;

typedef enum cui_serial_type {
   CUI_SERIAL_FILE,
   CUI_SERIAL_PTY,
   CUI_SERIAL_SOCKET,
   CUI_SERIAL_PIPE,
   CUI_SERIAL_N_TYPES
} cui_serial_type;

/* "file", "pty", "socket", "pipe" (the fileType value). */
const char *cui_serial_type_id(cui_serial_type t);
/* "Output file", "Pseudo-terminal", "Socket (the VM listens)", ... */
const char *cui_serial_type_label(cui_serial_type t);

/* The ports of the VM at vmx_path. NULL with *err ("FILE:LINE: reason"
 * for a malformed file). */
cui_serialports *cui_serialports_load(const char *vmx_path, char **err);
void cui_serialports_free(cui_serialports *sp);

/* Port n: whether it is there, how it is connected and to what (the text
 * as entered; "" for a pty). */
bool cui_serialports_present(const cui_serialports *sp, unsigned n);
cui_serial_type cui_serialports_type(const cui_serialports *sp, unsigned n);
const char *cui_serialports_path(const cui_serialports *sp, unsigned n);

void cui_serialports_set_present(cui_serialports *sp, unsigned n, bool present);
void cui_serialports_set_type(cui_serialports *sp, unsigned n, cui_serial_type t);
void cui_serialports_set_path(cui_serialports *sp, unsigned n, const char *path);

/* "Serial port 1: enter the file the guest's output goes to" and the
 * like; CUI_NEWVM_OK for a port that is fine (or absent). */
cui_newvm_severity cui_serialports_check(const cui_serialports *sp, unsigned n, char **message);

bool cui_serialports_changed(const cui_serialports *sp, unsigned n);
bool cui_serialports_any_changed(const cui_serialports *sp);
void cui_serialports_revert(cui_serialports *sp);

/* Save the ports that changed. 0, or -1 with *err: the errors, one a line,
 * or why it cannot be done now (the VM is not powered off). */
int cui_serialports_save(cui_serialports *sp, char **err);

#endif
