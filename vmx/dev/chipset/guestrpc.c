/*
 * vmx/dev/chipset/guestrpc.c - VMware's GuestRPC channel (backdoor command
 * 30): channels, RPCI requests, the TCLO queue. See guestrpc.h.
 */
#include "vmx/dev/chipset/guestrpc.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define LOG_MAX 16                 /* protocol errors logged per VM */
#define GUEST_LOG_BURST 100        /* guest "log" lines per window */
#define GUEST_LOG_WINDOW_US (10 * G_USEC_PER_SEC)
#define GUEST_LOG_LINE_MAX 1024    /* characters of one line kept */
#define INFO_MAX_BYTES (1024u * 1024u)   /* all guest variables together */

typedef enum out_state {
   OUT_NONE = 0,       /* nothing for the guest */
   OUT_READY = 1,      /* a message waits for RECVSIZE */
   OUT_RECEIVING = 2,  /* RECVSIZE done: payload and status follow */
} out_state;

typedef struct grpc_chan {
   uint32_t proto;       /* 0: closed; RPCI or TCLO */
   bool cookie;
   uint32_t cookie_hi, cookie_lo;
   /* guest -> host */
   bool sending;         /* SENDSIZE seen, payload under way */
   uint32_t in_size, in_got;
   uint8_t *in;
   /* host -> guest */
   out_state out_st;
   uint32_t out_size, out_pos;
   uint8_t *out;
   char *tclo_cmd;       /* TCLO: command delivered, its reply awaited */
} grpc_chan;

struct guestrpc {
   vmx_platform *p;
   backdoor *bd;
   bool registered;
   pthread_mutex_t lock;
   GRand *rand;
   grpc_chan ch[GUESTRPC_MAX_CHANNELS];
   GQueue tclo;            /* char *, oldest first */
   char *tclo_last_reply;
   GHashTable *info;       /* name -> value (both g_malloc'd) */
   size_t info_bytes;
   uint32_t tools_version;
   gint64 log_window;      /* start of the guest-log window */
   unsigned log_lines, log_dropped;
   unsigned logged;        /* protocol errors logged */
   guestrpc_info_fn info_fn;
   void *info_opaque;
};

guestrpc *
guestrpc_get(vmx_platform *p)
{
   return vmx_platform_device(p, "guestrpc");
}

static void guest_error(guestrpc *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
guest_error(guestrpc *g, const char *fmt, ...)
{
   if (g->logged < LOG_MAX) {
      g->logged++;
      va_list ap;
      va_start(ap, fmt);
      char *msg = g_strdup_vprintf(fmt, ap);
      va_end(ap);
      vmxlog("GuestRPC: %s%s", msg, g->logged == LOG_MAX ? " (not logging more)" : "");
      g_free(msg);
   }
}

/* ---- channels (lock held) */

static void
chan_drop_in(grpc_chan *c)
{
   g_clear_pointer(&c->in, g_free);
   c->sending = false;
   c->in_size = c->in_got = 0;
}

static void
chan_drop_out(grpc_chan *c)
{
   g_clear_pointer(&c->out, g_free);
   c->out_st = OUT_NONE;
   c->out_size = c->out_pos = 0;
}

static void
chan_close(grpc_chan *c)
{
   chan_drop_in(c);
   chan_drop_out(c);
   g_free(c->tclo_cmd);
   memset(c, 0, sizeof *c);
}

static void
drop_everything(guestrpc *g)
{
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      chan_close(&g->ch[i]);
   }
   g_queue_clear_full(&g->tclo, g_free);
   g_clear_pointer(&g->tclo_last_reply, g_free);
}

static void
chan_set_out(grpc_chan *c, uint8_t *msg, uint32_t n)
{
   chan_drop_out(c);
   c->out = msg;
   c->out_size = n;
   c->out_st = OUT_READY;
}

static void
chan_set_out_str(grpc_chan *c, char *s)
{
   size_t n = strlen(s);
   if (n > GUESTRPC_MAX_MESSAGE) {
      n = GUESTRPC_MAX_MESSAGE;   /* (values are bounded below this) */
   }
   chan_set_out(c, (uint8_t *)s, (uint32_t)n);
}

/* Printable copy of guest text for the log: control characters and
 * non-ASCII bytes become '?', at most max characters. */
static char *
printable(const uint8_t *s, size_t n, size_t max)
{
   bool cut = n > max;
   if (cut) {
      n = max;
   }
   char *o = g_malloc(n + 4);
   for (size_t i = 0; i < n; i++) {
      o[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
   }
   strcpy(o + n, cut ? "..." : "");
   return o;
}

/* ---- guest variables (lock held) */

static bool
info_name_ok(const char *name)
{
   size_t n = strlen(name);
   if (n == 0 || n > GUESTRPC_INFO_MAX_KEY) {
      return false;
   }
   for (size_t i = 0; i < n; i++) {
      unsigned char ch = (unsigned char)name[i];
      if (ch <= 0x20 || ch >= 0x7f) {
         return false;
      }
   }
   return true;
}

static bool
info_store(guestrpc *g, const char *name, const char *value)
{
   if (!info_name_ok(name) || strlen(value) > GUESTRPC_MAX_MESSAGE) {
      return false;
   }
   const char *old = g_hash_table_lookup(g->info, name);
   size_t oldn = old ? strlen(name) + strlen(old) : 0;
   size_t newn = strlen(name) + strlen(value);
   if ((!old && g_hash_table_size(g->info) >= GUESTRPC_INFO_MAX_KEYS) ||
       g->info_bytes - oldn + newn > INFO_MAX_BYTES) {
      return false;
   }
   g->info_bytes = g->info_bytes - oldn + newn;
   g_hash_table_replace(g->info, g_strdup(name), g_strdup(value));
   return true;
}

/* ---- RPCI requests (lock held) */

typedef struct pending_info {
   char *name, *value;
} pending_info;

static void
guest_log(guestrpc *g, const uint8_t *text, size_t n)
{
   gint64 now = g_get_monotonic_time();
   if (now - g->log_window >= GUEST_LOG_WINDOW_US) {
      if (g->log_dropped) {
         vmxlog("GuestRPC: %u guest log lines dropped (more than %d in %d s)", g->log_dropped,
                GUEST_LOG_BURST, (int)(GUEST_LOG_WINDOW_US / G_USEC_PER_SEC));
      }
      g->log_window = now;
      g->log_lines = g->log_dropped = 0;
   }
   if (g->log_lines >= GUEST_LOG_BURST) {
      g->log_dropped++;
      return;
   }
   g->log_lines++;
   /* Guests end their lines with a newline or two. */
   while (n && (text[n - 1] == '\n' || text[n - 1] == '\r')) {
      n--;
   }
   char *t = printable(text, n, GUEST_LOG_LINE_MAX);
   vmxlog("Guest: %s", t);
   g_free(t);
}

/* The text after a command word: "cmd args" -> args, "cmd" -> "". */
static const char *
args_after(const char *msg, size_t cmdlen)
{
   const char *a = msg + cmdlen;
   return *a == ' ' ? a + 1 : a;
}

static bool
is_cmd(const char *msg, const char *cmd)
{
   size_t n = strlen(cmd);
   return strncmp(msg, cmd, n) == 0 && (msg[n] == ' ' || msg[n] == '\0');
}

/* Answer an RPCI request; returns the reply text. *set is filled when the
 * guest set a variable (for the observer). */
static char *
rpci_request(guestrpc *g, const uint8_t *raw, uint32_t n, pending_info *set)
{
   if (n >= 3 && memcmp(raw, "log", 3) == 0 && (n == 3 || raw[3] == ' ')) {
      guest_log(g, raw + (n > 3 ? 4 : 3), n > 3 ? n - 4 : 0);
      return g_strdup("1 ");
   }
   /* The other commands are text: a NUL inside ends it. */
   char *msg = g_strndup((const char *)raw, n);
   char *reply;
   static const char prefix[] = "guestinfo.";
   if (is_cmd(msg, "info-set")) {
      const char *a = args_after(msg, strlen("info-set"));
      const char *sp = strchr(a, ' ');
      char *key = sp ? g_strndup(a, (gsize)(sp - a)) : g_strdup(a);
      const char *value = sp ? sp + 1 : "";
      if (g_ascii_strncasecmp(key, prefix, strlen(prefix)) != 0) {
         reply = g_strdup("0 Permission denied");
      } else if (!info_store(g, key + strlen(prefix), value)) {
         reply = g_strdup("0 Invalid key or no room for it");
      } else {
         set->name = g_strdup(key + strlen(prefix));
         set->value = g_strdup(value);
         reply = g_strdup("1 ");
      }
      g_free(key);
   } else if (is_cmd(msg, "info-get")) {
      const char *key = args_after(msg, strlen("info-get"));
      const char *v = NULL;
      if (g_ascii_strncasecmp(key, prefix, strlen(prefix)) == 0) {
         v = g_hash_table_lookup(g->info, key + strlen(prefix));
      }
      reply = v ? g_strdup_printf("1 %s", v) : g_strdup("0 No value found");
   } else if (is_cmd(msg, "tools.set.version")) {
      guint64 ver = 0;
      const char *a = args_after(msg, strlen("tools.set.version"));
      if (g_ascii_string_to_unsigned(a, 10, 0, G_MAXUINT32, &ver, NULL)) {
         if (g->tools_version != (uint32_t)ver) {
            vmxlog("GuestRPC: guest tools version %u", (unsigned)ver);
         }
         g->tools_version = (uint32_t)ver;
         reply = g_strdup("1 ");
      } else {
         reply = g_strdup("0 Invalid version");
      }
   } else if (strncmp(msg, "tools.capability.", strlen("tools.capability.")) == 0) {
      reply = g_strdup("1 ");
   } else {
      reply = g_strdup("0 Unknown command");
   }
   g_free(msg);
   return reply;
}

/* ---- TCLO (lock held) */

static void
tclo_reply(guestrpc *g, grpc_chan *c, const uint8_t *msg, uint32_t n)
{
   if (c->tclo_cmd) {
      char *r = printable(msg, n, 200);
      vmxlog("GuestRPC: TCLO '%s' -> '%s'", c->tclo_cmd, r);
      g_free(g->tclo_last_reply);
      g->tclo_last_reply = r;
      g_clear_pointer(&c->tclo_cmd, g_free);
   } else if (n) {
      char *r = printable(msg, n, 200);
      guest_error(g, "TCLO reply '%s' to no command ignored", r);
      g_free(r);
   }
   char *next = g_queue_pop_head(&g->tclo);
   if (next) {
      c->tclo_cmd = g_strdup(next);
      chan_set_out_str(c, next);
   }
}

/* A whole message arrived on c. */
static void
message_done(guestrpc *g, grpc_chan *c, pending_info *set)
{
   uint8_t *msg = c->in;
   uint32_t n = c->in_size;
   c->in = NULL;
   c->sending = false;
   c->in_size = c->in_got = 0;
   chan_drop_out(c);
   if (c->proto == GUESTRPC_PROTO_RPCI) {
      chan_set_out_str(c, rpci_request(g, msg ? msg : (const uint8_t *)"", n, set));
   } else {
      tclo_reply(g, c, msg ? msg : (const uint8_t *)"", n);
   }
   g_free(msg);
}

/* ---- backdoor command */

static void
set_status(vmm_regs *r, uint32_t status)
{
   backdoor_set32(r, VMM_RCX, status << 16);
}

static void
set_edx_high(vmm_regs *r, uint32_t hi)
{
   backdoor_set32(r, VMM_RDX, (hi << 16) | (backdoor_get32(r, VMM_RDX) & 0xffffu));
}

static const char *const sub_names[] = {
   "open", "send size", "send payload", "receive size", "receive payload", "receive status",
   "close",
};

static uint32_t
do_open(guestrpc *g, vmm_regs *r)
{
   uint32_t ebx = backdoor_get32(r, VMM_RBX);
   uint32_t proto = ebx & ~GUESTRPC_FLAG_COOKIE;
   if (proto != GUESTRPC_PROTO_RPCI && proto != GUESTRPC_PROTO_TCLO) {
      guest_error(g, "open of unknown protocol 0x%08x refused", ebx);
      return 0;
   }
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      grpc_chan *c = &g->ch[i];
      if (c->proto) {
         continue;
      }
      memset(c, 0, sizeof *c);
      c->proto = proto;
      c->cookie = (ebx & GUESTRPC_FLAG_COOKIE) != 0;
      if (c->cookie) {
         c->cookie_hi = g_rand_int(g->rand);
         c->cookie_lo = g_rand_int(g->rand);
         backdoor_set32(r, VMM_RSI, c->cookie_hi);
         backdoor_set32(r, VMM_RDI, c->cookie_lo);
      }
      set_edx_high(r, i);
      return GUESTRPC_STATUS_SUCCESS;
   }
   guest_error(g, "open refused: all %d channels are in use", GUESTRPC_MAX_CHANNELS);
   return 0;
}

/* The status of one call on an open channel. */
static uint32_t
do_channel(guestrpc *g, unsigned sub, grpc_chan *c, unsigned id, vmm_regs *r, pending_info *set)
{
   uint32_t ebx = backdoor_get32(r, VMM_RBX);
   switch (sub) {
   case GUESTRPC_SENDSIZE:
      chan_drop_in(c);
      if (ebx > GUESTRPC_MAX_MESSAGE) {
         guest_error(g, "channel %u: message of %u bytes refused (the limit is %u)", id, ebx,
                     GUESTRPC_MAX_MESSAGE);
         return 0;
      }
      c->in_size = ebx;
      c->in = g_malloc(ebx ? ebx : 1);
      c->sending = true;
      if (ebx == 0) {
         message_done(g, c, set);
      }
      return GUESTRPC_STATUS_SUCCESS;
   case GUESTRPC_SENDPAYLOAD: {
      if (!c->sending) {
         guest_error(g, "channel %u: payload without a size", id);
         return 0;
      }
      uint32_t left = c->in_size - c->in_got;
      uint32_t k = left < 4 ? left : 4;
      for (uint32_t i = 0; i < k; i++) {
         c->in[c->in_got + i] = (uint8_t)(ebx >> (8 * i));
      }
      c->in_got += k;
      if (c->in_got == c->in_size) {
         message_done(g, c, set);
      }
      return GUESTRPC_STATUS_SUCCESS;
   }
   case GUESTRPC_RECVSIZE:
      if (c->out_st == OUT_NONE) {
         return GUESTRPC_STATUS_SUCCESS;   /* nothing waits: no DORECV */
      }
      c->out_st = OUT_RECEIVING;
      c->out_pos = 0;
      backdoor_set32(r, VMM_RBX, c->out_size);
      set_edx_high(r, GUESTRPC_SENDSIZE);
      return GUESTRPC_STATUS_SUCCESS | GUESTRPC_STATUS_DORECV;
   case GUESTRPC_RECVPAYLOAD: {
      if (c->out_st != OUT_RECEIVING) {
         guest_error(g, "channel %u: receive payload with no message being received", id);
         return 0;
      }
      if (!(ebx & GUESTRPC_STATUS_SUCCESS)) {
         chan_drop_out(c);   /* the guest gave up on this message */
         return GUESTRPC_STATUS_SUCCESS;
      }
      if (c->out_pos >= c->out_size) {
         guest_error(g, "channel %u: receive payload past the end of the message", id);
         return 0;
      }
      uint32_t w = 0;
      for (uint32_t i = 0; i < 4 && c->out_pos + i < c->out_size; i++) {
         w |= (uint32_t)c->out[c->out_pos + i] << (8 * i);
      }
      c->out_pos = c->out_pos + 4 > c->out_size ? c->out_size : c->out_pos + 4;
      backdoor_set32(r, VMM_RBX, w);
      set_edx_high(r, GUESTRPC_SENDPAYLOAD);
      return GUESTRPC_STATUS_SUCCESS;
   }
   case GUESTRPC_RECVSTATUS:
      if (c->out_st != OUT_RECEIVING) {
         guest_error(g, "channel %u: receive status with no message being received", id);
         return 0;
      }
      if ((ebx & GUESTRPC_STATUS_SUCCESS) && c->out_pos < c->out_size) {
         guest_error(g, "channel %u: message acknowledged after %u of %u bytes", id,
                     c->out_pos, c->out_size);
      }
      chan_drop_out(c);
      return GUESTRPC_STATUS_SUCCESS;
   case GUESTRPC_CLOSE:
      chan_close(c);
      return GUESTRPC_STATUS_SUCCESS;
   default:
      return 0;
   }
}

static void
cmd_message(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   guestrpc *g = opaque;
   unsigned sub = backdoor_get32(r, VMM_RCX) >> 16;
   unsigned id = backdoor_get32(r, VMM_RDX) >> 16;
   pending_info set = { NULL, NULL };
   uint32_t status = 0;
   pthread_mutex_lock(&g->lock);
   if (sub == GUESTRPC_OPEN) {
      status = do_open(g, r);
   } else if (sub > GUESTRPC_CLOSE) {
      guest_error(g, "unknown message call %u", sub);
   } else if (id >= GUESTRPC_MAX_CHANNELS || !g->ch[id].proto) {
      guest_error(g, "%s on channel %u, which is not open", sub_names[sub], id);
   } else if (g->ch[id].cookie && (backdoor_get32(r, VMM_RSI) != g->ch[id].cookie_hi ||
                                   backdoor_get32(r, VMM_RDI) != g->ch[id].cookie_lo)) {
      guest_error(g, "%s on channel %u with a wrong cookie", sub_names[sub], id);
   } else {
      status = do_channel(g, sub, &g->ch[id], id, r, &set);
   }
   guestrpc_info_fn fn = g->info_fn;
   void *fo = g->info_opaque;
   pthread_mutex_unlock(&g->lock);
   set_status(r, status);
   if (set.name && fn) {
      fn(fo, set.name, set.value);
   }
   g_free(set.name);
   g_free(set.value);
}

static int
cmp_str(const void *a, const void *b)
{
   return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- host API */

bool
guestrpc_tclo_send(guestrpc *g, const char *cmd)
{
   size_t n = strlen(cmd);
   if (n == 0 || n > GUESTRPC_MAX_MESSAGE) {
      return false;
   }
   pthread_mutex_lock(&g->lock);
   bool ok = g_queue_get_length(&g->tclo) < GUESTRPC_TCLO_QUEUE_MAX;
   if (ok) {
      g_queue_push_tail(&g->tclo, g_strdup(cmd));
   }
   pthread_mutex_unlock(&g->lock);
   return ok;
}

unsigned
guestrpc_tclo_channels(guestrpc *g)
{
   unsigned n = 0;
   pthread_mutex_lock(&g->lock);
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      n += g->ch[i].proto == GUESTRPC_PROTO_TCLO;
   }
   pthread_mutex_unlock(&g->lock);
   return n;
}

unsigned
guestrpc_tclo_pending(guestrpc *g)
{
   pthread_mutex_lock(&g->lock);
   unsigned n = g_queue_get_length(&g->tclo);
   pthread_mutex_unlock(&g->lock);
   return n;
}

char *
guestrpc_tclo_last_reply(guestrpc *g)
{
   pthread_mutex_lock(&g->lock);
   char *r = g_strdup(g->tclo_last_reply);
   pthread_mutex_unlock(&g->lock);
   return r;
}

char *
guestrpc_info_get(guestrpc *g, const char *name)
{
   pthread_mutex_lock(&g->lock);
   char *v = g_strdup(g_hash_table_lookup(g->info, name));
   pthread_mutex_unlock(&g->lock);
   return v;
}

bool
guestrpc_info_set(guestrpc *g, const char *name, const char *value)
{
   pthread_mutex_lock(&g->lock);
   bool ok = info_store(g, name, value);
   pthread_mutex_unlock(&g->lock);
   return ok;
}

void
guestrpc_info_foreach(guestrpc *g, void (*fn)(void *opaque, const char *name, const char *value),
                      void *opaque)
{
   pthread_mutex_lock(&g->lock);
   guint n = 0;
   gpointer *names = g_hash_table_get_keys_as_array(g->info, &n);
   qsort(names, n, sizeof *names, cmp_str);
   char **pairs = g_new(char *, 2 * (size_t)n + 1);
   for (guint i = 0; i < n; i++) {
      pairs[2 * i] = g_strdup(names[i]);
      pairs[2 * i + 1] = g_strdup(g_hash_table_lookup(g->info, names[i]));
   }
   pairs[2 * n] = NULL;
   g_free(names);
   pthread_mutex_unlock(&g->lock);
   for (guint i = 0; i < n; i++) {
      fn(opaque, pairs[2 * i], pairs[2 * i + 1]);
   }
   g_strfreev(pairs);
}

void
guestrpc_set_info_observer(guestrpc *g, guestrpc_info_fn fn, void *opaque)
{
   pthread_mutex_lock(&g->lock);
   g->info_fn = fn;
   g->info_opaque = opaque;
   pthread_mutex_unlock(&g->lock);
}

uint32_t
guestrpc_tools_version(guestrpc *g)
{
   pthread_mutex_lock(&g->lock);
   uint32_t v = g->tools_version;
   pthread_mutex_unlock(&g->lock);
   return v;
}

/* ---- device */

static void
cfg_guestinfo(const char *key, const char *value, void *user)
{
   guestrpc *g = user;
   static const char prefix[] = "guestinfo.";
   if (g_ascii_strncasecmp(key, prefix, strlen(prefix)) == 0 &&
       !info_store(g, key + strlen(prefix), value)) {
      vmxlog("GuestRPC: config key %s not offered to the guest (bad name or no room)", key);
   }
}

static void
guestrpc_destroy(void *dev)
{
   guestrpc *g = dev;
   if (g->registered) {
      backdoor_unregister(g->bd, GUESTRPC_CMD_MESSAGE);
   }
   drop_everything(g);
   g_hash_table_destroy(g->info);
   g_rand_free(g->rand);
   pthread_mutex_destroy(&g->lock);
   g_free(g);
}

static void *
guestrpc_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   backdoor *bd = backdoor_get(p);
   if (!bd) {
      *err = g_strdup("the backdoor device must come before guestrpc in the device table");
      return NULL;
   }
   guestrpc *g = g_new0(guestrpc, 1);
   g->p = p;
   g->bd = bd;
   pthread_mutex_init(&g->lock, NULL);
   g->rand = g_rand_new();
   g_queue_init(&g->tclo);
   g->info = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
   if (cfg) {
      vmxcfg_foreach(cfg, cfg_guestinfo, g);
   }
   if (!backdoor_register(bd, GUESTRPC_CMD_MESSAGE, cmd_message, g, err)) {
      guestrpc_destroy(g);
      return NULL;
   }
   g->registered = true;
   return g;
}

static void
guestrpc_reset(void *dev)
{
   guestrpc *g = dev;
   pthread_mutex_lock(&g->lock);
   drop_everything(g);
   pthread_mutex_unlock(&g->lock);
}

/* ---- checkpoint
 *
 * Items: "ch<N>.proto" u32 for each open channel N, with "ch<N>.cookie"
 * (u8), "ch<N>.cookie_hi/lo" (u32), "ch<N>.in_size" (u32) and "ch<N>.in"
 * (the bytes received so far) while a message is being sent,
 * "ch<N>.out_state" (u8 1 ready, 2 receiving), "ch<N>.out", "ch<N>.out_pos"
 * (u32) while a reply waits, "ch<N>.tclo_cmd" while a TCLO reply is awaited;
 * "tclo.count" (u32) and "tclo.<i>"; "info.count" (u32), "info.<i>.name",
 * "info.<i>.value" in name order; "tools_version" (u32). */

static char *
chtag(unsigned n, const char *what)
{
   return g_strdup_printf("ch%u.%s", n, what);
}

static char *
infotag(unsigned n, const char *what)
{
   return g_strdup_printf("info.%u.%s", n, what);
}

static void
put_str(ckpt_writer *w, const char *t, const char *s)
{
   ckpt_put_bytes(w, t, s, strlen(s));
}


static void
guestrpc_save(void *dev, ckpt_writer *w)
{
   guestrpc *g = dev;
   pthread_mutex_lock(&g->lock);
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      grpc_chan *c = &g->ch[i];
      if (!c->proto) {
         continue;
      }
      char *t;
#define PUT(kind, what, ...)                 \
      t = chtag(i, what);           \
      ckpt_put_##kind(w, t, __VA_ARGS__);    \
      g_free(t)
      PUT(u32, "proto", c->proto);
      PUT(u8, "cookie", c->cookie);
      PUT(u32, "cookie_hi", c->cookie_hi);
      PUT(u32, "cookie_lo", c->cookie_lo);
      if (c->sending) {
         PUT(u32, "in_size", c->in_size);
         PUT(bytes, "in", c->in, c->in_got);
      }
      if (c->out_st != OUT_NONE) {
         PUT(u8, "out_state", (uint8_t)c->out_st);
         PUT(bytes, "out", c->out, c->out_size);
         PUT(u32, "out_pos", c->out_pos);
      }
      if (c->tclo_cmd) {
         PUT(bytes, "tclo_cmd", c->tclo_cmd, strlen(c->tclo_cmd));
      }
#undef PUT
   }
   ckpt_put_u32(w, "tclo.count", g_queue_get_length(&g->tclo));
   unsigned k = 0;
   for (GList *l = g->tclo.head; l; l = l->next, k++) {
      char *t = g_strdup_printf("tclo.%u", k);
      put_str(w, t, l->data);
      g_free(t);
   }
   guint nn = 0;
   gpointer *names = g_hash_table_get_keys_as_array(g->info, &nn);
   qsort(names, nn, sizeof *names, cmp_str);
   ckpt_put_u32(w, "info.count", nn);
   for (unsigned i = 0; i < nn; i++) {
      char *t = infotag(i, "name");
      put_str(w, t, names[i]);
      g_free(t);
      t = infotag(i, "value");
      put_str(w, t, g_hash_table_lookup(g->info, names[i]));
      g_free(t);
   }
   g_free(names);
   ckpt_put_u32(w, "tools_version", g->tools_version);
   pthread_mutex_unlock(&g->lock);
}

/* A text item: no NUL inside, at most max bytes. NULL when missing (*bad
 * set when present but not acceptable). */
static char *
get_text(ckpt_reader *r, const char *t, size_t max, bool *bad)
{
   size_t n = 0;
   const char *b = ckpt_get_blob(r, t, &n);
   if (!b) {
      return NULL;
   }
   if (n > max || memchr(b, 0, n)) {
      *bad = true;
      return NULL;
   }
   return g_strndup(b, n);
}

typedef struct restored {
   grpc_chan ch[GUESTRPC_MAX_CHANNELS];
   GQueue tclo;
   GHashTable *info;
   size_t info_bytes;
   uint32_t tools_version;
} restored;

static void
restored_free(restored *s)
{
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS; i++) {
      chan_close(&s->ch[i]);
   }
   g_queue_clear_full(&s->tclo, g_free);
   if (s->info) {
      g_hash_table_destroy(s->info);
   }
}

/* Read one channel's items; NULL when fine, else what is wrong. */
static const char *
restore_chan(ckpt_reader *r, unsigned i, grpc_chan *c)
{
   char *t;
   bool ok;
   uint8_t u8 = 0;
   uint32_t u32 = 0;
   t = chtag(i, "proto");
   ok = ckpt_get_u32(r, t, &u32);
   g_free(t);
   if (!ok) {
      return NULL;   /* closed */
   }
   if (u32 != GUESTRPC_PROTO_RPCI && u32 != GUESTRPC_PROTO_TCLO) {
      return "'proto' is neither RPCI nor TCLO";
   }
   c->proto = u32;
   t = chtag(i, "cookie");
   ckpt_get_u8(r, t, &u8);
   g_free(t);
   if (u8 > 1) {
      return "'cookie' is not 0 or 1";
   }
   c->cookie = u8;
   t = chtag(i, "cookie_hi");
   ckpt_get_u32(r, t, &c->cookie_hi);
   g_free(t);
   t = chtag(i, "cookie_lo");
   ckpt_get_u32(r, t, &c->cookie_lo);
   g_free(t);
   t = chtag(i, "in_size");
   bool sending = ckpt_get_u32(r, t, &u32);
   g_free(t);
   if (sending) {
      size_t n = 0;
      t = chtag(i, "in");
      const uint8_t *b = ckpt_get_blob(r, t, &n);
      g_free(t);
      if (u32 > GUESTRPC_MAX_MESSAGE || !b || n >= u32) {
         return "'in' is not a message part under its 'in_size' (at most 64 KiB)";
      }
      c->sending = true;
      c->in_size = u32;
      c->in_got = (uint32_t)n;
      c->in = g_malloc(u32);
      memcpy(c->in, b, n);
   }
   t = chtag(i, "out_state");
   bool out = ckpt_get_u8(r, t, &u8);
   g_free(t);
   if (out) {
      size_t n = 0;
      t = chtag(i, "out");
      const uint8_t *b = ckpt_get_blob(r, t, &n);
      g_free(t);
      t = chtag(i, "out_pos");
      ckpt_get_u32(r, t, &u32);
      g_free(t);
      if ((u8 != OUT_READY && u8 != OUT_RECEIVING) || !b || n > GUESTRPC_MAX_MESSAGE ||
          u32 > n || (u8 == OUT_READY && u32)) {
         return "'out_state', 'out' and 'out_pos' do not describe a message of at most 64 "
                "KiB";
      }
      c->out_st = u8;
      c->out_size = (uint32_t)n;
      c->out_pos = u32;
      c->out = g_malloc(n + 1);
      memcpy(c->out, b, n);
   }
   bool bad = false;
   t = chtag(i, "tclo_cmd");
   c->tclo_cmd = get_text(r, t, GUESTRPC_MAX_MESSAGE, &bad);
   g_free(t);
   if (bad || (c->tclo_cmd && c->proto != GUESTRPC_PROTO_TCLO)) {
      return "'tclo_cmd' is not a TCLO command";
   }
   return NULL;
}

static bool
guestrpc_restore(void *dev, ckpt_reader *r, char **err)
{
   guestrpc *g = dev;
   restored s;
   memset(&s, 0, sizeof s);
   g_queue_init(&s.tclo);
   s.info = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
   const char *bad = NULL;
   unsigned bad_ch = 0;
   for (unsigned i = 0; i < GUESTRPC_MAX_CHANNELS && !bad; i++) {
      bad = restore_chan(r, i, &s.ch[i]);
      bad_ch = i;
   }
   char *badtxt = bad ? g_strdup_printf("of channel %u: %s", bad_ch, bad) : NULL;
   uint32_t n = 0;
   if (!badtxt) {
      ckpt_get_u32(r, "tclo.count", &n);
      if (n > GUESTRPC_TCLO_QUEUE_MAX) {
         badtxt = g_strdup_printf("'tclo.count' is %u; the queue holds at most %d", n,
                                  GUESTRPC_TCLO_QUEUE_MAX);
      }
      for (uint32_t i = 0; i < n && !badtxt; i++) {
         char *t = g_strdup_printf("tclo.%u", i);
         bool b = false;
         char *cmd = get_text(r, t, GUESTRPC_MAX_MESSAGE, &b);
         if (!cmd || !*cmd) {
            badtxt = g_strdup_printf("'%s' is missing or not a command", t);
            g_free(cmd);
         } else {
            g_queue_push_tail(&s.tclo, cmd);
         }
         g_free(t);
      }
   }
   if (!badtxt) {
      n = 0;
      ckpt_get_u32(r, "info.count", &n);
      if (n > GUESTRPC_INFO_MAX_KEYS) {
         badtxt = g_strdup_printf("'info.count' is %u; at most %d variables are kept", n,
                                  GUESTRPC_INFO_MAX_KEYS);
      }
      for (uint32_t i = 0; i < n && !badtxt; i++) {
         char *tn = infotag(i, "name"), *tv = infotag(i, "value");
         bool b = false;
         char *name = get_text(r, tn, GUESTRPC_INFO_MAX_KEY, &b);
         char *value = get_text(r, tv, GUESTRPC_MAX_MESSAGE, &b);
         size_t add = name && value ? strlen(name) + strlen(value) : 0;
         if (!name || !value || !info_name_ok(name) ||
             g_hash_table_contains(s.info, name) || s.info_bytes + add > INFO_MAX_BYTES) {
            badtxt = g_strdup_printf("'%s'/'%s' is not a guest variable (or one too many)", tn,
                                     tv);
            g_free(name);
            g_free(value);
         } else {
            s.info_bytes += add;
            g_hash_table_insert(s.info, name, value);
         }
         g_free(tn);
         g_free(tv);
      }
      ckpt_get_u32(r, "tools_version", &s.tools_version);
   }
   if (ckpt_reader_error(r) || badtxt) {
      if (badtxt) {
         *err = g_strdup_printf("checkpoint section guestrpc: item %s", badtxt);
      }
      g_free(badtxt);
      restored_free(&s);
      return false;
   }
   pthread_mutex_lock(&g->lock);
   drop_everything(g);
   memcpy(g->ch, s.ch, sizeof g->ch);
   memset(s.ch, 0, sizeof s.ch);
   GQueue tmp = g->tclo;
   g->tclo = s.tclo;
   s.tclo = tmp;
   GHashTable *ti = g->info;
   g->info = s.info;
   s.info = ti;
   g->info_bytes = s.info_bytes;
   g->tools_version = s.tools_version;
   pthread_mutex_unlock(&g->lock);
   restored_free(&s);
   return true;
}

const vmx_device_desc vmx_dev_guestrpc = {
   .name = "guestrpc",
   .version = 1,
   .create = guestrpc_create,
   .reset = guestrpc_reset,
   .destroy = guestrpc_destroy,
   .save = guestrpc_save,
   .restore = guestrpc_restore,
};
