/*
 * tests/fuzz/fuzz-guestrpc.c - libFuzzer target for the GuestRPC channel
 * (vmx/dev/chipset/guestrpc.c) and the backdoor dispatcher it sits on:
 * random sequences of backdoor MESSAGE calls, as a hostile guest makes
 * them, mixed with host-side operations.
 *
 * The input is a list of operations, each an opcode byte and its operands
 * (little-endian):
 *
 *   0..6 call  u8 chan, u8 cookie, u32 ebx   MESSAGE sub-command = opcode;
 *              chan < 8 picks a channel id (>= 8: that raw value << 8);
 *              cookie bit 0: use the cookies the open gave for that id,
 *              else the next 8 input bytes as ESI/EDI
 *   7 raw      u32 ecx-high, u16 id, u32 ebx, u32 esi, u32 edi
 *   8 text     u8 n, n bytes: send them as one message on a channel
 *              (u8 chan first), the way a well-behaved guest does
 *   9 tclo     u8 n, n bytes: guestrpc_tclo_send() them
 *  10          reset the platform
 *  11          save -> restore into a fresh platform -> save: identical;
 *              then carry on with the fresh one
 *  12 info     u8 n, n bytes: guestrpc_info_set("k<n%4>", bytes)
 *  13 any      u16 cmd, u32 ebx: any backdoor command (but GETMHZ and
 *              GETHZ, whose first call measures the TSC for 20 ms)
 *
 * Besides "never crashes, never leaks", it checks:
 *   1. EAX keeps the magic, the low half of EDX keeps the port, the low
 *      half of ECX is 0 and its high half has only SUCCESS and DORECV.
 *   2. DORECV comes only with SUCCESS, only for RECVSIZE, and then EBX
 *      (the size) is at most 64 KiB.
 *   3. An open that succeeds names a channel id below 8; at most 8 are
 *      open at once (counted here from the calls' results).
 *   4. save -> restore -> save is byte-identical at any point.
 */
#include "tests/fuzz/fuzz-common.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/guestrpc.h"

#include <string.h>

static const vmx_device_desc *const table[] = { &vmx_dev_backdoor, &vmx_dev_guestrpc };
static vmxcfg *cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   const char *text = "guestinfo.seed = \"from the config\"\n";
   char *err = NULL;
   cfg = vmxcfg_parse(text, strlen(text), "fuzz.vmx", &err);
   if (!cfg) {
      fuzz_fail("cannot parse the config: %s", err);
   }
   return 0;
}

static vmx_platform *
make(void)
{
   char *err = NULL;
   vmx_platform *p = vmx_platform_new();
   if (!vmx_platform_add_devices(p, table, 2, cfg, &err)) {
      fuzz_fail("cannot create the platform: %s", err);
   }
   return p;
}

typedef struct in {
   const uint8_t *d;
   size_t n, at;
} in;

static bool
take(in *s, void *out, size_t k)
{
   if (s->n - s->at < k) {
      return false;
   }
   memcpy(out, s->d + s->at, k);
   s->at += k;
   return true;
}

typedef struct state {
   vmx_platform *p;
   uint32_t hi[GUESTRPC_MAX_CHANNELS], lo[GUESTRPC_MAX_CHANNELS];
   bool open[GUESTRPC_MAX_CHANNELS];
} state;

static unsigned
count_open(const state *st)
{
   unsigned n = 0;
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      n += st->open[i];
   }
   return n;
}

static uint32_t
call(state *st, uint32_t sub, uint32_t id, uint32_t ebx, uint32_t si, uint32_t di)
{
   vmm_regs r;
   memset(&r, 0, sizeof r);
   r.gpr[VMM_RAX] = BDOOR_MAGIC;
   r.gpr[VMM_RBX] = ebx;
   r.gpr[VMM_RCX] = (sub << 16) | GUESTRPC_CMD_MESSAGE;
   r.gpr[VMM_RDX] = (id << 16) | BDOOR_PORT;
   r.gpr[VMM_RSI] = si;
   r.gpr[VMM_RDI] = di;
   if (!backdoor_dispatch(backdoor_get(st->p), NULL, &r)) {
      fuzz_fail("the backdoor did not take a call with the magic");
   }
   uint32_t ecx = backdoor_get32(&r, VMM_RCX), status = ecx >> 16;
   if (backdoor_get32(&r, VMM_RAX) != BDOOR_MAGIC ||
       (backdoor_get32(&r, VMM_RDX) & 0xffff) != BDOOR_PORT || (ecx & 0xffff) ||
       (status & ~(GUESTRPC_STATUS_SUCCESS | GUESTRPC_STATUS_DORECV))) {
      fuzz_fail("registers after sub-command %u: eax %08x ecx %08x edx %08x", sub,
                backdoor_get32(&r, VMM_RAX), ecx, backdoor_get32(&r, VMM_RDX));
   }
   if ((status & GUESTRPC_STATUS_DORECV) &&
       (!(status & GUESTRPC_STATUS_SUCCESS) || sub != GUESTRPC_RECVSIZE ||
        backdoor_get32(&r, VMM_RBX) > GUESTRPC_MAX_MESSAGE)) {
      fuzz_fail("DORECV on sub-command %u, status %x, size %u", sub, status,
                backdoor_get32(&r, VMM_RBX));
   }
   bool ok = status & GUESTRPC_STATUS_SUCCESS;
   if (sub == GUESTRPC_OPEN && ok) {
      uint32_t nid = backdoor_get32(&r, VMM_RDX) >> 16;
      if (nid >= GUESTRPC_MAX_CHANNELS || st->open[nid]) {
         fuzz_fail("open gave channel %u (open already: %d)", nid,
                   nid < GUESTRPC_MAX_CHANNELS && st->open[nid]);
      }
      st->open[nid] = true;
      st->hi[nid] = (ebx & GUESTRPC_FLAG_COOKIE) ? backdoor_get32(&r, VMM_RSI) : 0;
      st->lo[nid] = (ebx & GUESTRPC_FLAG_COOKIE) ? backdoor_get32(&r, VMM_RDI) : 0;
   } else if (sub == GUESTRPC_CLOSE && ok) {
      if (id >= GUESTRPC_MAX_CHANNELS || !st->open[id]) {
         fuzz_fail("close of channel %u that is not open succeeded", id);
      }
      st->open[id] = false;
   }
   if (guestrpc_tclo_channels(guestrpc_get(st->p)) > count_open(st)) {
      fuzz_fail("%u TCLO channels open, %u channels in all",
                guestrpc_tclo_channels(guestrpc_get(st->p)), count_open(st));
   }
   return status;
}

static void
roundtrip(state *st)
{
   GBytes *s1 = vmx_platform_save(st->p);
   vmx_platform *q = make();
   gsize n1, n2;
   const void *d1 = g_bytes_get_data(s1, &n1);
   char *err = NULL;
   if (!vmx_platform_restore(q, d1, n1, &err)) {
      fuzz_fail("restore of a save refused: %s", err);
   }
   GBytes *s2 = vmx_platform_save(q);
   const void *d2 = g_bytes_get_data(s2, &n2);
   if (n1 != n2 || memcmp(d1, d2, n1) != 0) {
      fuzz_fail("save -> restore -> save differs (%zu vs %zu bytes)", (size_t)n1, (size_t)n2);
   }
   g_bytes_unref(s1);
   g_bytes_unref(s2);
   vmx_platform_free(st->p);
   st->p = q;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   state st;
   memset(&st, 0, sizeof st);
   st.p = make();
   in s = { data, size, 0 };
   uint8_t op;
   while (take(&s, &op, 1)) {
      uint8_t ch = 0, ck = 0, n = 0;
      uint16_t id16 = 0;
      uint32_t ebx = 0, si = 0, di = 0, sub = 0;
      uint8_t buf[256];
      switch (op % 14) {
      case 0: case 1: case 2: case 3: case 4: case 5: case 6: {
         if (!take(&s, &ch, 1) || !take(&s, &ck, 1) || !take(&s, &ebx, 4)) {
            goto out;
         }
         uint32_t id = ch < GUESTRPC_MAX_CHANNELS ? ch : (uint32_t)ch << 8;
         if ((ck & 1) && id < GUESTRPC_MAX_CHANNELS) {
            si = st.hi[id];
            di = st.lo[id];
         } else if (!take(&s, &si, 4) || !take(&s, &di, 4)) {
            goto out;
         }
         call(&st, op % 14, id, ebx, si, di);
         break;
      }
      case 7:
         if (!take(&s, &sub, 4) || !take(&s, &id16, 2) || !take(&s, &ebx, 4) ||
             !take(&s, &si, 4) || !take(&s, &di, 4)) {
            goto out;
         }
         call(&st, sub & 0xffff, id16, ebx, si, di);
         break;
      case 8: {
         if (!take(&s, &ch, 1) || !take(&s, &n, 1) || !take(&s, buf, n)) {
            goto out;
         }
         unsigned id = ch % GUESTRPC_MAX_CHANNELS;
         if (call(&st, GUESTRPC_SENDSIZE, id, n, st.hi[id], st.lo[id]) &
             GUESTRPC_STATUS_SUCCESS) {
            for (unsigned i = 0; i < n; i += 4) {
               uint32_t w = 0;
               memcpy(&w, buf + i, n - i < 4 ? n - i : 4);
               call(&st, GUESTRPC_SENDPAYLOAD, id, w, st.hi[id], st.lo[id]);
            }
         }
         break;
      }
      case 9: {
         if (!take(&s, &n, 1) || !take(&s, buf, n)) {
            goto out;
         }
         char *t = g_strndup((const char *)buf, n);
         guestrpc_tclo_send(guestrpc_get(st.p), t);
         g_free(t);
         break;
      }
      case 10:
         vmx_platform_reset(st.p);
         memset(st.open, 0, sizeof st.open);
         break;
      case 11:
         roundtrip(&st);
         break;
      case 12: {
         if (!take(&s, &n, 1) || !take(&s, buf, n)) {
            goto out;
         }
         char name[4] = { 'k', (char)('0' + n % 4), 0 };
         char *t = g_strndup((const char *)buf, n);
         guestrpc_info_set(guestrpc_get(st.p), name, t);
         g_free(t);
         break;
      }
      case 13: {
         uint16_t cmd;
         if (!take(&s, &cmd, 2) || !take(&s, &ebx, 4)) {
            goto out;
         }
         if (cmd == BDOOR_CMD_GETMHZ || cmd == BDOOR_CMD_GETHZ) {
            break;
         }
         vmm_regs r;
         memset(&r, 0, sizeof r);
         r.gpr[VMM_RAX] = BDOOR_MAGIC;
         r.gpr[VMM_RBX] = ebx;
         r.gpr[VMM_RCX] = cmd;
         r.gpr[VMM_RDX] = BDOOR_PORT;
         backdoor_dispatch(backdoor_get(st.p), NULL, &r);
         break;
      }
      }
   }
out:
   roundtrip(&st);
   vmx_platform_free(st.p);
   return 0;
}
