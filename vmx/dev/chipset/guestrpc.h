/*
 * vmx/dev/chipset/guestrpc.h - VMware's GuestRPC channel on the backdoor
 * (command 30, MESSAGE), as the Linux kernel's vmwgfx
 * (drivers/gpu/drm/vmwgfx/vmwgfx_msg.c) and open-vm-tools (lib/message,
 * lib/rpcOut, lib/rpcIn) use it.
 *
 * Guest side: backdoor command 30 with the sub-command in the high 16 bits
 * of ECX; a channel's id in the high 16 bits of EDX; its cookies in ESI
 * (high) and EDI (low) when the guest opened it with the cookie flag. The
 * reply status is in the high 16 bits of ECX (low half 0): SUCCESS 0x0001,
 * DORECV 0x0002 (a message waits for the guest). High-bandwidth (0x0080)
 * is never advertised: guests move payloads 4 bytes per call in EBX.
 *
 *   0 OPEN         EBX = protocol ("RPCI" 0x49435052 or "TCLO" 0x4f4c4354),
 *                  optionally | 0x80000000 (cookies). Out: EDX high = id,
 *                  ESI/EDI = cookies (cookie channels only).
 *   1 SENDSIZE     EBX = size (at most 64 KiB) of the message that follows.
 *                  Restarts any message being sent or reply not fetched.
 *   2 SENDPAYLOAD  EBX = the next 4 bytes (little-endian; fewer at the end).
 *   3 RECVSIZE     Out: DORECV set when a message is waiting, then EBX =
 *                  its size and EDX high = 1 (SENDSIZE). Starts (or
 *                  restarts) its reception.
 *   4 RECVPAYLOAD  EBX in = the guest's status for the previous piece
 *                  (SUCCESS, or 0 to abandon the reception). Out: EBX = the
 *                  next 4 bytes, EDX high = 2 (SENDPAYLOAD).
 *   5 RECVSTATUS   EBX in = the guest's status; ends the reception (the
 *                  message is dropped either way).
 *   6 CLOSE        Frees the channel and whatever it held.
 * Anything out of order (payload before size, more payload than announced,
 * receiving with nothing pending), an unknown or closed channel id, a wrong
 * cookie, a ninth channel, a message over 64 KiB: the call fails (no
 * SUCCESS bit) and changes nothing, except that a refused SENDSIZE drops a
 * message under way on that channel.
 *
 * RPCI (guest -> host requests): the host answers each message with
 * "1 <result>" on success, "0 <reason>" on failure:
 *   log <text>                         vmware.log line "Guest: <text>"
 *                                      (rate-limited)
 *   info-set guestinfo.<key> <value>   guest variable, kept per VM
 *   info-get guestinfo.<key>           "1 <value>" or "0 No value found"
 *   tools.set.version <n>              remembered, logged
 *   tools.capability.<anything>        accepted
 *   anything else                      "0 Unknown command"
 * Guest variables also start from the .vmx's guestinfo.<key> entries; the
 * vmx mirrors them in VMDB as /vm/guestVar/#<key> (vmrun readVariable /
 * writeVariable guestVar), both ways (vmx/main/power.c).
 *
 * TCLO (host -> guest commands): the tools poll their TCLO channel by
 * sending a message (empty, or the reply to the previous command, "OK ..."
 * or "ERROR ...") and then receiving; what they receive is the next command
 * the host queued (guestrpc_tclo_send), or nothing. Commands are queued per
 * VM and go to whichever TCLO channel polls first.
 *
 * Reset drops every channel and the TCLO queue (a new guest starts over);
 * guest variables stay, as the .vmx's and the host's do. A checkpoint
 * saves all of it -- open channels with their cookies, a message half sent
 * or a reply half received, the TCLO queue, the guest variables -- so the
 * guest tools, whose memory still holds channel ids and cookies, carry on
 * after a resume or a revert as if nothing happened. (Dropping channels
 * instead would make every tools call right after a resume fail once, and
 * open-vm-tools would tear down and reopen its channels after an error
 * back-off: exactly when the host wants its time-sync command delivered.)
 *
 * The device, "guestrpc", must come after vmx_dev_backdoor. Calls come from
 * any vCPU thread; one lock guards the device.
 */
#ifndef VMX_DEV_CHIPSET_GUESTRPC_H
#define VMX_DEV_CHIPSET_GUESTRPC_H

#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stdint.h>

#define GUESTRPC_CMD_MESSAGE 30

#define GUESTRPC_OPEN 0
#define GUESTRPC_SENDSIZE 1
#define GUESTRPC_SENDPAYLOAD 2
#define GUESTRPC_RECVSIZE 3
#define GUESTRPC_RECVPAYLOAD 4
#define GUESTRPC_RECVSTATUS 5
#define GUESTRPC_CLOSE 6

#define GUESTRPC_STATUS_SUCCESS 0x0001u
#define GUESTRPC_STATUS_DORECV 0x0002u
#define GUESTRPC_STATUS_CPT 0x0010u
#define GUESTRPC_STATUS_HB 0x0080u

#define GUESTRPC_PROTO_RPCI 0x49435052u
#define GUESTRPC_PROTO_TCLO 0x4f4c4354u
#define GUESTRPC_FLAG_COOKIE 0x80000000u

#define GUESTRPC_MAX_CHANNELS 8
#define GUESTRPC_MAX_MESSAGE (64u * 1024u)
#define GUESTRPC_TCLO_QUEUE_MAX 16
#define GUESTRPC_INFO_MAX_KEYS 256
#define GUESTRPC_INFO_MAX_KEY 128

typedef struct guestrpc guestrpc;

extern const vmx_device_desc vmx_dev_guestrpc;

/* The platform's GuestRPC device, NULL if it has none. */
guestrpc *guestrpc_get(vmx_platform *p);

/* Queue a command for the guest's tools (e.g. "Time_Synchronize 1").
 * False when it is empty, longer than a message may be, or the queue
 * already holds GUESTRPC_TCLO_QUEUE_MAX commands. */
bool guestrpc_tclo_send(guestrpc *g, const char *cmd);
/* TCLO channels open now: non-zero when guest tools are listening. */
unsigned guestrpc_tclo_channels(guestrpc *g);
/* Commands queued and not yet taken by the guest. */
unsigned guestrpc_tclo_pending(guestrpc *g);
/* The last reply the tools sent to a TCLO command ("OK ..." / "ERROR ..."),
 * NULL before any; g_free it. */
char *guestrpc_tclo_last_reply(guestrpc *g);

/* Guest variables (guestinfo.<name>; name without the prefix). get: a copy
 * to g_free, NULL when unset. set: false when the name is empty or too
 * long, or the store is full. */
char *guestrpc_info_get(guestrpc *g, const char *name);
bool guestrpc_info_set(guestrpc *g, const char *name, const char *value);

/* Every variable, in name order (a snapshot taken under the lock; fn runs
 * outside it). */
void guestrpc_info_foreach(guestrpc *g, void (*fn)(void *opaque, const char *name,
                                                    const char *value), void *opaque);

/* Called (on the vCPU thread, outside the device lock) when the guest sets
 * a variable with info-set. NULL to stop. */
typedef void (*guestrpc_info_fn)(void *opaque, const char *name, const char *value);
void guestrpc_set_info_observer(guestrpc *g, guestrpc_info_fn fn, void *opaque);

/* The version the tools reported with tools.set.version, 0 when none. */
uint32_t guestrpc_tools_version(guestrpc *g);

#endif
