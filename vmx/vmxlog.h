/*
 * vmx/vmxlog.h - the per-VM log, vmware.log beside the .vmx.
 *
 * At open the previous logs rotate as VMware rotates them: vmware.log
 * becomes vmware-0.log, vmware-0.log becomes vmware-1.log, and so on up to
 * log.keepOld files. Each line: "2026-11-20T23:22:22.123Z| thread| text".
 * Safe to call from any thread.
 */
#ifndef VMX_VMXLOG_H
#define VMX_VMXLOG_H

#include <stdbool.h>

/* Open (rotating old logs); keep_old old files are kept. */
bool vmxlog_open(const char *dir, int keep_old, char **err);
void vmxlog_close(void);
const char *vmxlog_path(void);
/* Also copy every line to stderr. */
void vmxlog_set_stderr(bool on);
/* Name for the calling thread in log lines (default "vmx"). */
void vmxlog_set_thread_name(const char *name);

void vmxlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
