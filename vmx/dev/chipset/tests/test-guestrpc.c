/*
 * Tests of the GuestRPC channel (backdoor command 30): the protocol driven
 * through the backdoor as vmwgfx and open-vm-tools drive it, RPCI requests,
 * the TCLO queue, every out-of-order call, bounds, reset, save/restore, and
 * several vCPU threads at once.
 */
#include "chipset-test.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/guestrpc.h"

#include <stdio.h>

static const vmx_device_desc *const table[] = { &vmx_dev_backdoor, &vmx_dev_guestrpc };

/* ---- a guest's side of the protocol (as lib/message does it) */

typedef struct gchan {
   backdoor *bd;
   uint16_t id;
   uint32_t hi, lo;
} gchan;

static vmm_regs
msg_regs(unsigned sub, uint16_t id, uint32_t ebx, uint32_t si, uint32_t di)
{
   vmm_regs r;
   memset(&r, 0, sizeof r);
   r.gpr[VMM_RAX] = 0xffff000000000000ull | BDOOR_MAGIC;
   r.gpr[VMM_RBX] = ebx;
   r.gpr[VMM_RCX] = ((uint32_t)sub << 16) | GUESTRPC_CMD_MESSAGE;
   r.gpr[VMM_RDX] = ((uint32_t)id << 16) | BDOOR_PORT;
   r.gpr[VMM_RSI] = si;
   r.gpr[VMM_RDI] = di;
   return r;
}

/* One call; returns the status (high half of ECX). */
static uint32_t
call(backdoor *bd, vmm_regs *r)
{
   g_assert_true(backdoor_dispatch(bd, NULL, r));
   g_assert_cmphex(backdoor_get32(r, VMM_RCX) & 0xffff, ==, 0);
   g_assert_cmphex(backdoor_get32(r, VMM_RDX) & 0xffff, ==, BDOOR_PORT);
   g_assert_cmphex(backdoor_get32(r, VMM_RAX), ==, BDOOR_MAGIC);
   return backdoor_get32(r, VMM_RCX) >> 16;
}

static uint32_t
chan_call(gchan *c, unsigned sub, uint32_t ebx, vmm_regs *out)
{
   vmm_regs r = msg_regs(sub, c->id, ebx, c->hi, c->lo);
   uint32_t st = call(c->bd, &r);
   if (out) {
      *out = r;
   }
   return st;
}

static bool
gopen(backdoor *bd, uint32_t proto, gchan *c)
{
   vmm_regs r = msg_regs(GUESTRPC_OPEN, 0, proto, 0x1234, 0x5678);
   uint32_t st = call(bd, &r);
   if (!(st & GUESTRPC_STATUS_SUCCESS)) {
      return false;
   }
   g_assert_cmphex(st & GUESTRPC_STATUS_HB, ==, 0);   /* never high-bandwidth */
   c->bd = bd;
   c->id = (uint16_t)(backdoor_get32(&r, VMM_RDX) >> 16);
   c->hi = backdoor_get32(&r, VMM_RSI);
   c->lo = backdoor_get32(&r, VMM_RDI);
   if (!(proto & GUESTRPC_FLAG_COOKIE)) {
      g_assert_cmphex(c->hi, ==, 0x1234);   /* untouched */
      g_assert_cmphex(c->lo, ==, 0x5678);
   }
   g_assert_cmpuint(c->id, <, GUESTRPC_MAX_CHANNELS);
   return true;
}

static bool
gsend(gchan *c, const void *buf, size_t n)
{
   if (!(chan_call(c, GUESTRPC_SENDSIZE, (uint32_t)n, NULL) & GUESTRPC_STATUS_SUCCESS)) {
      return false;
   }
   const uint8_t *b = buf;
   for (size_t i = 0; i < n; i += 4) {
      uint32_t w = 0;
      for (size_t k = 0; k < 4 && i + k < n; k++) {
         w |= (uint32_t)b[i + k] << (8 * k);
      }
      if (!(chan_call(c, GUESTRPC_SENDPAYLOAD, w, NULL) & GUESTRPC_STATUS_SUCCESS)) {
         return false;
      }
   }
   return true;
}

/* The message waiting (NUL-terminated, g_free), "" when none, NULL on
 * failure. */
static char *
grecv(gchan *c)
{
   vmm_regs r;
   uint32_t st = chan_call(c, GUESTRPC_RECVSIZE, 0, &r);
   if (!(st & GUESTRPC_STATUS_SUCCESS)) {
      return NULL;
   }
   if (!(st & GUESTRPC_STATUS_DORECV)) {
      return g_strdup("");
   }
   g_assert_cmpuint(backdoor_get32(&r, VMM_RDX) >> 16, ==, GUESTRPC_SENDSIZE);
   uint32_t n = backdoor_get32(&r, VMM_RBX);
   char *buf = g_malloc0(n + 4);
   for (uint32_t i = 0; i < n; i += 4) {
      st = chan_call(c, GUESTRPC_RECVPAYLOAD, GUESTRPC_STATUS_SUCCESS, &r);
      if (!(st & GUESTRPC_STATUS_SUCCESS)) {
         g_free(buf);
         return NULL;
      }
      g_assert_cmpuint(backdoor_get32(&r, VMM_RDX) >> 16, ==, GUESTRPC_SENDPAYLOAD);
      uint32_t w = backdoor_get32(&r, VMM_RBX);
      memcpy(buf + i, &w, 4);
   }
   buf[n] = 0;
   if (!(chan_call(c, GUESTRPC_RECVSTATUS, GUESTRPC_STATUS_SUCCESS, NULL) &
         GUESTRPC_STATUS_SUCCESS)) {
      g_free(buf);
      return NULL;
   }
   return buf;
}

/* An RPCI request and its reply. */
static char *
rpci(gchan *c, const char *req)
{
   g_assert_true(gsend(c, req, strlen(req)));
   char *rep = grecv(c);
   g_assert_nonnull(rep);
   return rep;
}

static void
assert_rpci(gchan *c, const char *req, const char *want)
{
   char *rep = rpci(c, req);
   g_assert_cmpstr(rep, ==, want);
   g_free(rep);
}

static bool
gclose(gchan *c)
{
   return chan_call(c, GUESTRPC_CLOSE, 0, NULL) & GUESTRPC_STATUS_SUCCESS;
}

/* ---- tests */

typedef struct seen {
   unsigned calls;
   char *name, *value;
} seen;

static void
observer(void *opaque, const char *name, const char *value)
{
   seen *s = opaque;
   s->calls++;
   g_free(s->name);
   g_free(s->value);
   s->name = g_strdup(name);
   s->value = g_strdup(value);
}

static void
test_rpci(void)
{
   vmx_platform *p = test_platform_ok(table, 2, "guestinfo.fromcfg = \"cfg value\"\n", NULL);
   backdoor *bd = backdoor_get(p);
   guestrpc *g = guestrpc_get(p);
   g_assert_nonnull(g);
   seen s = { 0 };
   guestrpc_set_info_observer(g, observer, &s);
   gchan c;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
   assert_rpci(&c, "log hello from the guest", "1 ");
   assert_rpci(&c, "info-get guestinfo.fromcfg", "1 cfg value");
   assert_rpci(&c, "info-get guestinfo.unset", "0 No value found");
   assert_rpci(&c, "info-set guestinfo.ip 10.0.0.7 and more", "1 ");
   g_assert_cmpuint(s.calls, ==, 1);
   g_assert_cmpstr(s.name, ==, "ip");
   g_assert_cmpstr(s.value, ==, "10.0.0.7 and more");
   assert_rpci(&c, "info-get guestinfo.ip", "1 10.0.0.7 and more");
   char *v = guestrpc_info_get(g, "ip");
   g_assert_cmpstr(v, ==, "10.0.0.7 and more");
   g_free(v);
   g_assert_true(guestrpc_info_set(g, "fromhost", "h"));
   assert_rpci(&c, "info-get guestinfo.fromhost", "1 h");
   assert_rpci(&c, "info-set guestinfo.empty", "1 ");
   assert_rpci(&c, "info-get guestinfo.empty", "1 ");
   assert_rpci(&c, "info-set isolation.tools.foo 1", "0 Permission denied");
   assert_rpci(&c, "info-set guestinfo. x", "0 Invalid key or no room for it");
   assert_rpci(&c, "tools.set.version 12389", "1 ");
   g_assert_cmpuint(guestrpc_tools_version(g), ==, 12389);
   assert_rpci(&c, "tools.set.version x", "0 Invalid version");
   assert_rpci(&c, "tools.capability.hgfs_server toolbox 1", "1 ");
   assert_rpci(&c, "vmx.capability.unified_loop toolbox", "0 Unknown command");
   assert_rpci(&c, "", "0 Unknown command");
   assert_rpci(&c, "logx", "0 Unknown command");
   /* A request of odd length (1..3 bytes in the last word). */
   assert_rpci(&c, "info-get guestinfo.fromcf", "0 No value found");
   g_assert_true(gclose(&c));
   /* Without cookies (what old guests fall back to). */
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI, &c));
   assert_rpci(&c, "info-get guestinfo.ip", "1 10.0.0.7 and more");
   g_assert_true(gclose(&c));
   g_assert_cmpuint(s.calls, ==, 2);
   g_free(s.name);
   g_free(s.value);
   guestrpc_set_info_observer(g, NULL, NULL);
   vmx_platform_free(p);
}

/* vmwgfx's vmw_host_printf: open, send "log ...", close without taking
 * the reply. The next user finds a clean channel. */
static void
test_vmwgfx_log(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   for (int i = 0; i < 3 * GUESTRPC_MAX_CHANNELS; i++) {
      gchan c;
      g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
      const char *m = "log vmwgfx: Module loaded.\n";
      g_assert_true(gsend(&c, m, strlen(m)));
      g_assert_true(gclose(&c));
   }
   gchan c;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
   char *rep = grecv(&c);
   g_assert_cmpstr(rep, ==, "");   /* nothing left over from before */
   g_free(rep);
   vmx_platform_free(p);
}

static void
tclo_poll(gchan *t, const char *result, const char *want)
{
   g_assert_true(gsend(t, result, strlen(result)));
   char *cmd = grecv(t);
   g_assert_cmpstr(cmd, ==, want);
   g_free(cmd);
}

static void
test_tclo(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   guestrpc *g = guestrpc_get(p);
   g_assert_cmpuint(guestrpc_tclo_channels(g), ==, 0);
   gchan t;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_TCLO | GUESTRPC_FLAG_COOKIE, &t));
   g_assert_cmpuint(guestrpc_tclo_channels(g), ==, 1);
   tclo_poll(&t, "", "");              /* nothing queued */
   g_assert_true(guestrpc_tclo_send(g, "Time_Synchronize 1"));
   g_assert_true(guestrpc_tclo_send(g, "ping"));
   g_assert_cmpuint(guestrpc_tclo_pending(g), ==, 2);
   tclo_poll(&t, "", "Time_Synchronize 1");
   g_assert_cmpuint(guestrpc_tclo_pending(g), ==, 1);
   g_assert_null(guestrpc_tclo_last_reply(g));
   tclo_poll(&t, "OK ", "ping");
   char *r = guestrpc_tclo_last_reply(g);
   g_assert_cmpstr(r, ==, "OK ");
   g_free(r);
   tclo_poll(&t, "OK ", "");
   /* Bounds of the queue and of a command. */
   g_assert_false(guestrpc_tclo_send(g, ""));
   for (int i = 0; i < GUESTRPC_TCLO_QUEUE_MAX; i++) {
      g_assert_true(guestrpc_tclo_send(g, "ping"));
   }
   g_assert_false(guestrpc_tclo_send(g, "ping"));
   char *big = g_malloc(GUESTRPC_MAX_MESSAGE + 2);
   memset(big, 'x', GUESTRPC_MAX_MESSAGE + 1);
   big[GUESTRPC_MAX_MESSAGE + 1] = 0;
   g_assert_false(guestrpc_tclo_send(g, big));
   g_free(big);
   /* An RPCI channel does not take TCLO commands. */
   gchan c;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI, &c));
   assert_rpci(&c, "ping", "0 Unknown command");
   g_assert_cmpuint(guestrpc_tclo_pending(g), ==, GUESTRPC_TCLO_QUEUE_MAX);
   g_assert_true(gclose(&t));
   g_assert_cmpuint(guestrpc_tclo_channels(g), ==, 0);
   vmx_platform_free(p);
}

static void
assert_fails(gchan *c, unsigned sub, uint32_t ebx)
{
   g_assert_cmphex(chan_call(c, sub, ebx, NULL), ==, 0);
}

static void
test_bad_order(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   gchan c;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
   /* payload before size */
   assert_fails(&c, GUESTRPC_SENDPAYLOAD, 0x41414141);
   /* receive payload / status with nothing pending; size says nothing */
   assert_fails(&c, GUESTRPC_RECVPAYLOAD, GUESTRPC_STATUS_SUCCESS);
   assert_fails(&c, GUESTRPC_RECVSTATUS, GUESTRPC_STATUS_SUCCESS);
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVSIZE, 0, NULL), ==, GUESTRPC_STATUS_SUCCESS);
   assert_fails(&c, GUESTRPC_RECVPAYLOAD, GUESTRPC_STATUS_SUCCESS);
   /* more payload than announced */
   g_assert_true(gsend(&c, "log x", 5));
   assert_fails(&c, GUESTRPC_SENDPAYLOAD, 0x41414141);
   /* receive past the end: "1 " is one word */
   vmm_regs r;
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVSIZE, 0, &r), ==,
                   GUESTRPC_STATUS_SUCCESS | GUESTRPC_STATUS_DORECV);
   g_assert_cmpuint(backdoor_get32(&r, VMM_RBX), ==, 2);
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVPAYLOAD, 1, &r), ==, GUESTRPC_STATUS_SUCCESS);
   g_assert_cmphex(backdoor_get32(&r, VMM_RBX), ==, 0x2031);   /* "1 " */
   assert_fails(&c, GUESTRPC_RECVPAYLOAD, 1);
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVSTATUS, 1, NULL), ==, GUESTRPC_STATUS_SUCCESS);
   assert_fails(&c, GUESTRPC_RECVSTATUS, 1);
   /* a reception restarted by RECVSIZE, and one the guest abandons */
   g_assert_true(gsend(&c, "info-get guestinfo.none", 23));
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVSIZE, 0, NULL), ==,
                   GUESTRPC_STATUS_SUCCESS | GUESTRPC_STATUS_DORECV);
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVPAYLOAD, 1, NULL), ==, GUESTRPC_STATUS_SUCCESS);
   char *rep = grecv(&c);
   g_assert_cmpstr(rep, ==, "0 No value found");
   g_free(rep);
   g_assert_true(gsend(&c, "info-get guestinfo.none", 23));
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVSIZE, 0, NULL), ==,
                   GUESTRPC_STATUS_SUCCESS | GUESTRPC_STATUS_DORECV);
   g_assert_cmphex(chan_call(&c, GUESTRPC_RECVPAYLOAD, 0, NULL), ==, GUESTRPC_STATUS_SUCCESS);
   assert_fails(&c, GUESTRPC_RECVPAYLOAD, 1);
   rep = grecv(&c);
   g_assert_cmpstr(rep, ==, "");
   g_free(rep);
   /* a message over 64 KiB; exactly 64 KiB is fine */
   assert_fails(&c, GUESTRPC_SENDSIZE, GUESTRPC_MAX_MESSAGE + 1);
   assert_fails(&c, GUESTRPC_SENDSIZE, 0xffffffffu);
   assert_fails(&c, GUESTRPC_SENDPAYLOAD, 0);   /* the refused size started nothing */
   char *big = g_malloc(GUESTRPC_MAX_MESSAGE);
   memset(big, 'a', GUESTRPC_MAX_MESSAGE);
   memcpy(big, "log ", 4);
   g_assert_true(gsend(&c, big, GUESTRPC_MAX_MESSAGE));
   g_free(big);
   rep = grecv(&c);
   g_assert_cmpstr(rep, ==, "1 ");
   g_free(rep);
   /* SENDSIZE restarts a message under way (a guest retrying) */
   g_assert_cmphex(chan_call(&c, GUESTRPC_SENDSIZE, 100, NULL), ==, GUESTRPC_STATUS_SUCCESS);
   g_assert_cmphex(chan_call(&c, GUESTRPC_SENDPAYLOAD, 0x41414141, NULL), ==,
                   GUESTRPC_STATUS_SUCCESS);
   assert_rpci(&c, "tools.capability.x", "1 ");
   /* wrong cookie, wrong or closed channel id, unknown sub-command */
   gchan bad = c;
   bad.lo ^= 1;
   assert_fails(&bad, GUESTRPC_SENDSIZE, 4);
   bad = c;
   bad.hi ^= 0x80000000u;
   assert_fails(&bad, GUESTRPC_RECVSIZE, 0);
   assert_fails(&bad, GUESTRPC_CLOSE, 0);
   for (unsigned id = 0; id < 0x10000; id += (id < 16 ? 1 : 4093)) {
      if (id == c.id) {
         continue;
      }
      bad = c;
      bad.id = (uint16_t)id;
      assert_fails(&bad, GUESTRPC_SENDSIZE, 4);
      assert_fails(&bad, GUESTRPC_CLOSE, 0);
   }
   assert_fails(&c, 7, 0);
   assert_fails(&c, 0xffff, 0);
   /* bad protocols and flags */
   gchan o;
   g_assert_false(gopen(bd, 0x12345678, &o));
   g_assert_false(gopen(bd, GUESTRPC_PROTO_RPCI | 0x20000000u, &o));
   g_assert_false(gopen(bd, 0, &o));
   /* the channel still works after all that */
   assert_rpci(&c, "log still here", "1 ");
   g_assert_true(gclose(&c));
   assert_fails(&c, GUESTRPC_SENDSIZE, 0);
   assert_fails(&c, GUESTRPC_CLOSE, 0);
   vmx_platform_free(p);
}

static void
test_channel_limit(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   gchan c[GUESTRPC_MAX_CHANNELS + 1];
   for (int i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      g_assert_true(gopen(bd, (i & 1 ? GUESTRPC_PROTO_TCLO : GUESTRPC_PROTO_RPCI) |
                                  GUESTRPC_FLAG_COOKIE, &c[i]));
      for (int k = 0; k < i; k++) {
         g_assert_cmpuint(c[k].id, !=, c[i].id);
      }
   }
   g_assert_false(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c[8]));
   g_assert_cmpuint(guestrpc_tclo_channels(guestrpc_get(p)), ==, 4);
   /* The cookies tell channels apart: one channel's cookie on another's id
    * fails (the chance that two random 64-bit cookies are equal is nil). */
   gchan mix = c[0];
   mix.id = c[1].id;
   assert_fails(&mix, GUESTRPC_SENDSIZE, 0);
   g_assert_true(gclose(&c[3]));
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c[8]));
   g_assert_cmpuint(c[8].id, ==, c[3].id);
   /* the old cookie of a reused id does not work on the new channel */
   assert_fails(&c[3], GUESTRPC_SENDSIZE, 0);
   assert_rpci(&c[8], "log reused", "1 ");
   vmx_platform_free(p);
}

static void
test_reset(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   guestrpc *g = guestrpc_get(p);
   gchan c, t;
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
   g_assert_true(gopen(bd, GUESTRPC_PROTO_TCLO | GUESTRPC_FLAG_COOKIE, &t));
   assert_rpci(&c, "info-set guestinfo.keep me", "1 ");
   g_assert_true(guestrpc_tclo_send(g, "ping"));
   g_assert_true(gsend(&c, "log", 3));
   vmx_platform_reset(p);
   g_assert_cmpuint(guestrpc_tclo_channels(g), ==, 0);
   g_assert_cmpuint(guestrpc_tclo_pending(g), ==, 0);
   assert_fails(&c, GUESTRPC_RECVSIZE, 0);
   assert_fails(&t, GUESTRPC_SENDSIZE, 0);
   g_assert_true(gopen(bd, GUESTRPC_PROTO_RPCI, &c));
   assert_rpci(&c, "info-get guestinfo.keep", "1 me");
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   vmx_platform *a = test_platform_ok(table, 2, NULL, NULL);
   vmx_platform *b = test_platform_ok(table, 2, NULL, NULL);
   backdoor *bda = backdoor_get(a);
   guestrpc *ga = guestrpc_get(a);
   assert_roundtrip(a, b);
   gchan c1, c2, c3, t;
   g_assert_true(gopen(bda, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c1));
   g_assert_true(gopen(bda, GUESTRPC_PROTO_RPCI, &c2));
   g_assert_true(gopen(bda, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c3));
   g_assert_true(gopen(bda, GUESTRPC_PROTO_TCLO | GUESTRPC_FLAG_COOKIE, &t));
   assert_rpci(&c1, "info-set guestinfo.b two", "1 ");
   assert_rpci(&c1, "info-set guestinfo.a one", "1 ");
   assert_rpci(&c1, "tools.set.version 7", "1 ");
   /* c1 half way through sending; c2 half way through receiving; c3 with a
    * reply not yet asked for; t with a delivered command and one queued */
   const char *req = "info-get guestinfo.a";
   g_assert_cmphex(chan_call(&c1, GUESTRPC_SENDSIZE, (uint32_t)strlen(req), NULL), ==, 1);
   uint32_t w;
   memcpy(&w, req, 4);
   g_assert_cmphex(chan_call(&c1, GUESTRPC_SENDPAYLOAD, w, NULL), ==, 1);
   g_assert_true(gsend(&c2, "info-get guestinfo.b", 20));
   g_assert_cmphex(chan_call(&c2, GUESTRPC_RECVSIZE, 0, NULL), ==, 3);
   g_assert_cmphex(chan_call(&c2, GUESTRPC_RECVPAYLOAD, 1, NULL), ==, 1);   /* "1 tw" */
   g_assert_true(gsend(&c3, "info-get guestinfo.a", 20));
   g_assert_true(guestrpc_tclo_send(ga, "Time_Synchronize 1"));
   g_assert_true(guestrpc_tclo_send(ga, "ping"));
   g_assert_true(gsend(&t, "", 0));
   assert_roundtrip(a, b);
   /* b carries on where a was */
   backdoor *bdb = backdoor_get(b);
   guestrpc *gb = guestrpc_get(b);
   c1.bd = c2.bd = c3.bd = t.bd = bdb;
   g_assert_cmpuint(guestrpc_tools_version(gb), ==, 7);
   g_assert_cmpuint(guestrpc_tclo_channels(gb), ==, 1);
   g_assert_cmpuint(guestrpc_tclo_pending(gb), ==, 1);
   for (size_t i = 4; i < strlen(req); i += 4) {
      memcpy(&w, req + i, 4);
      g_assert_cmphex(chan_call(&c1, GUESTRPC_SENDPAYLOAD, w, NULL), ==, 1);
   }
   char *rep = grecv(&c1);
   g_assert_cmpstr(rep, ==, "1 one");
   g_free(rep);
   vmm_regs r;
   g_assert_cmphex(chan_call(&c2, GUESTRPC_RECVPAYLOAD, 1, &r), ==, 1);
   g_assert_cmphex(backdoor_get32(&r, VMM_RBX), ==, 0x6f);
   g_assert_cmphex(chan_call(&c2, GUESTRPC_RECVSTATUS, 1, NULL), ==, 1);
   rep = grecv(&c3);
   g_assert_cmpstr(rep, ==, "1 one");
   g_free(rep);
   rep = grecv(&t);
   g_assert_cmpstr(rep, ==, "Time_Synchronize 1");
   g_free(rep);
   tclo_poll(&t, "OK ", "ping");
   rep = guestrpc_tclo_last_reply(gb);
   g_assert_cmpstr(rep, ==, "OK ");
   g_free(rep);
   vmx_platform_free(a);
   vmx_platform_free(b);
}

static void
test_restore_refused(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   gchan c;
   g_assert_true(gopen(backdoor_get(p), GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c));
   assert_rpci(&c, "info-set guestinfo.x y", "1 ");
   ckpt_writer *w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch0.proto", 0x11111111);
   assert_restore_refused(p, w, "neither RPCI nor TCLO");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch3.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_u8(w, "ch3.cookie", 2);
   assert_restore_refused(p, w, "'cookie'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch1.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_u32(w, "ch1.in_size", GUESTRPC_MAX_MESSAGE + 1);
   ckpt_put_bytes(w, "ch1.in", "ab", 2);
   assert_restore_refused(p, w, "'in'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch1.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_u32(w, "ch1.in_size", 2);
   ckpt_put_bytes(w, "ch1.in", "ab", 2);
   assert_restore_refused(p, w, "'in'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch1.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_u8(w, "ch1.out_state", 2);
   ckpt_put_bytes(w, "ch1.out", "ab", 2);
   ckpt_put_u32(w, "ch1.out_pos", 3);
   assert_restore_refused(p, w, "'out_pos'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch1.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_u8(w, "ch1.out_state", 9);
   ckpt_put_bytes(w, "ch1.out", "ab", 2);
   assert_restore_refused(p, w, "'out_state'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "ch1.proto", GUESTRPC_PROTO_RPCI);
   ckpt_put_bytes(w, "ch1.tclo_cmd", "ping", 4);
   assert_restore_refused(p, w, "'tclo_cmd'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "tclo.count", GUESTRPC_TCLO_QUEUE_MAX + 1);
   assert_restore_refused(p, w, "'tclo.count'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "tclo.count", 1);
   assert_restore_refused(p, w, "'tclo.0'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "tclo.count", 1);
   ckpt_put_bytes(w, "tclo.0", "pi\0ng", 5);
   assert_restore_refused(p, w, "'tclo.0'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "info.count", 2);
   ckpt_put_bytes(w, "info.0.name", "k", 1);
   ckpt_put_bytes(w, "info.0.value", "v", 1);
   ckpt_put_bytes(w, "info.1.name", "k", 1);
   ckpt_put_bytes(w, "info.1.value", "w", 1);
   assert_restore_refused(p, w, "'info.1.name'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "info.count", 1);
   ckpt_put_bytes(w, "info.0.name", "a b", 3);
   ckpt_put_bytes(w, "info.0.value", "v", 1);
   assert_restore_refused(p, w, "'info.0.name'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u32(w, "info.count", GUESTRPC_INFO_MAX_KEYS + 1);
   assert_restore_refused(p, w, "'info.count'");
   w = ckpt_writer_new("guestrpc", 1);
   ckpt_put_u8(w, "ch0.proto", 1);
   assert_restore_refused(p, w, "ch0.proto");
   /* still the old state */
   assert_rpci(&c, "info-get guestinfo.x", "1 y");
   vmx_platform_free(p);
}

static void
test_info_bounds(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   guestrpc *g = guestrpc_get(p);
   char name[GUESTRPC_INFO_MAX_KEY + 2];
   memset(name, 'n', sizeof name - 1);
   name[sizeof name - 1] = 0;
   g_assert_false(guestrpc_info_set(g, name, "v"));
   name[GUESTRPC_INFO_MAX_KEY] = 0;
   g_assert_true(guestrpc_info_set(g, name, "v"));
   g_assert_false(guestrpc_info_set(g, "", "v"));
   g_assert_false(guestrpc_info_set(g, "a\tb", "v"));
   for (int i = 1; i < GUESTRPC_INFO_MAX_KEYS; i++) {
      char k[16];
      snprintf(k, sizeof k, "k%d", i);
      g_assert_true(guestrpc_info_set(g, k, "v"));
   }
   g_assert_false(guestrpc_info_set(g, "onemore", "v"));
   g_assert_true(guestrpc_info_set(g, "k1", "replaced"));   /* replacing is fine */
   gchan c;
   g_assert_true(gopen(backdoor_get(p), GUESTRPC_PROTO_RPCI, &c));
   assert_rpci(&c, "info-set guestinfo.onemore v", "0 Invalid key or no room for it");
   assert_rpci(&c, "info-get guestinfo.k1", "1 replaced");
   vmx_platform *q = test_platform_ok(table, 2, NULL, NULL);
   assert_roundtrip(p, q);
   vmx_platform_free(q);
   vmx_platform_free(p);
}

/* Several vCPU threads, each with its own channel, at once. */
typedef struct worker {
   backdoor *bd;
   int n;
   int ok;
} worker;

static void *
work(void *opaque)
{
   worker *w = opaque;
   for (int i = 0; i < 200; i++) {
      gchan c;
      if (!gopen(w->bd, GUESTRPC_PROTO_RPCI | GUESTRPC_FLAG_COOKIE, &c)) {
         continue;   /* all channels busy with the other threads: retry */
      }
      char req[64], want[64];
      snprintf(req, sizeof req, "info-set guestinfo.t%d %d", w->n, i);
      char *rep = rpci(&c, req);
      snprintf(req, sizeof req, "info-get guestinfo.t%d", w->n);
      char *rep2 = rpci(&c, req);
      snprintf(want, sizeof want, "1 %d", i);
      w->ok += !strcmp(rep, "1 ") && !strcmp(rep2, want);
      g_free(rep);
      g_free(rep2);
      gclose(&c);
   }
   return NULL;
}

static void
test_threads(void)
{
   vmx_platform *p = test_platform_ok(table, 2, NULL, NULL);
   worker w[6];
   pthread_t th[6];
   for (int i = 0; i < 6; i++) {
      w[i] = (worker){ backdoor_get(p), i, 0 };
      pthread_create(&th[i], NULL, work, &w[i]);
   }
   for (int i = 0; i < 6; i++) {
      pthread_join(th[i], NULL);
      g_assert_cmpint(w[i].ok, ==, 200);
   }
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/guestrpc/rpci", test_rpci);
   g_test_add_func("/guestrpc/vmwgfx-log", test_vmwgfx_log);
   g_test_add_func("/guestrpc/tclo", test_tclo);
   g_test_add_func("/guestrpc/bad-order", test_bad_order);
   g_test_add_func("/guestrpc/channel-limit", test_channel_limit);
   g_test_add_func("/guestrpc/reset", test_reset);
   g_test_add_func("/guestrpc/save-restore", test_save_restore);
   g_test_add_func("/guestrpc/restore-refused", test_restore_refused);
   g_test_add_func("/guestrpc/info-bounds", test_info_bounds);
   g_test_add_func("/guestrpc/threads", test_threads);
   return g_test_run();
}
