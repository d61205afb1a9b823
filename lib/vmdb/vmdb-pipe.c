/*
 * lib/vmdb/vmdb-pipe.c - mirror a VMDB subtree over a Unix socket.
 */
#include "lib/vmdb/vmdb-pipe.h"
#include "lib/vmdb/vmdb-wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* A peer that lets this much pile up unread is dropped. */
#define OUTBUF_LIMIT (256u << 20)

struct vmdb_pipe {
   vmdb_db *db;
   vmdb_ctx *ctx;
   int fd;
   bool server;
   char *subtree;
   char **writable;          /* NULL: the whole subtree */
   GMainContext *mc;
   GSource *src;
   gpointer fd_tag;
   GByteArray *in;
   GByteArray *out;
   size_t out_off;
   bool hello_seen;
   bool in_sync;
   bool synced;
   bool closed;
   bool flushing;            /* inside vmdb_pipe_flush() */
   GSource *closed_idle;     /* a close seen while flushing, told later */
   char *closed_reason;
   vmdb_pipe_callbacks cb;
   void *user;
   uint64_t tx_bytes, rx_bytes;
};

typedef struct pipe_source {
   GSource base;
   vmdb_pipe *p;
} pipe_source;

static void pipe_close(vmdb_pipe *p, const char *reason);

static void
update_events(vmdb_pipe *p)
{
   if (p->closed || !p->src) {
      return;
   }
   GIOCondition ev = G_IO_IN | G_IO_HUP | G_IO_ERR;
   if (p->out->len > p->out_off) {
      ev |= G_IO_OUT;
   }
   g_source_modify_unix_fd(p->src, p->fd_tag, ev);
}

/* Write as much as the socket takes now. */
static void
try_write(vmdb_pipe *p)
{
   while (!p->closed && p->out->len > p->out_off) {
      ssize_t n = send(p->fd, p->out->data + p->out_off, p->out->len - p->out_off,
                       MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
         if (errno == EINTR) {
            continue;
         }
         if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
         }
         char *why = g_strdup_printf("write failed: %s", strerror(errno));
         pipe_close(p, why);
         g_free(why);
         return;
      }
      p->out_off += (size_t)n;
      p->tx_bytes += (uint64_t)n;
   }
   if (p->out_off == p->out->len) {
      g_byte_array_set_size(p->out, 0);
      p->out_off = 0;
   } else if (p->out_off > (1u << 20)) {
      g_byte_array_remove_range(p->out, 0, (guint)p->out_off);
      p->out_off = 0;
   }
   if (!p->closed && p->out->len - p->out_off > OUTBUF_LIMIT) {
      pipe_close(p, "peer is not reading: too much unsent data");
      return;
   }
   update_events(p);
}

/* ---- sending local changes */

static void
on_local_changes(vmdb_ctx *ctx, const vmdb_change *ch, size_t n, void *user)
{
   vmdb_pipe *p = user;
   if (p->closed) {
      return;
   }
   size_t i = 0;
   while (i < n) {
      uint64_t txn = ch[i].txn;
      size_t start = vmdb_wire_txn_begin(p->out);
      uint32_t count = 0;
      for (; i < n && ch[i].txn == txn; i++) {
         if (ch[i].removed) {
            vmdb_wire_txn_remove(p->out, ch[i].path);
         } else {
            vmdb_wire_txn_set(p->out, ch[i].path, &ch[i].value);
         }
         count++;
      }
      vmdb_wire_txn_end(p->out, start, count);
   }
   try_write(p);
}

typedef struct sync_state {
   GByteArray *out;
   uint32_t count;
} sync_state;

static void
sync_one(const char *path, const vmdb_value *v, void *user)
{
   sync_state *s = user;
   vmdb_wire_txn_set(s->out, path, v);
   s->count++;
}

/* One TXN that replaces the peer's copy of path with ours. */
static void
send_subtree(vmdb_pipe *p, const char *path)
{
   size_t start = vmdb_wire_txn_begin(p->out);
   sync_state s = { p->out, 0 };
   vmdb_wire_txn_remove(p->out, path);
   s.count++;
   vmdb_foreach(p->ctx, path, sync_one, &s);
   vmdb_wire_txn_end(p->out, start, s.count);
}

static void
send_full_sync(vmdb_pipe *p)
{
   vmdb_wire_simple(p->out, VMDB_MSG_SYNC_BEGIN);
   size_t start = vmdb_wire_txn_begin(p->out);
   sync_state s = { p->out, 0 };
   vmdb_foreach(p->ctx, p->subtree, sync_one, &s);
   if (s.count) {
      vmdb_wire_txn_end(p->out, start, s.count);
   } else {
      g_byte_array_set_size(p->out, (guint)start);
   }
   vmdb_wire_simple(p->out, VMDB_MSG_SYNC_END);
}

/* ---- receiving */

static bool
peer_may_write(vmdb_pipe *p, const char *path)
{
   if (!vmdb_path_under(path, p->subtree)) {
      return false;
   }
   if (!p->writable) {
      return true;
   }
   for (char **w = p->writable; *w; w++) {
      if (vmdb_path_under(path, *w)) {
         return true;
      }
   }
   return false;
}

static void
refuse(vmdb_pipe *p, GArray *items, const char *why)
{
   vmdb_wire_error(p->out, why);
   for (guint i = 0; i < items->len; i++) {
      vmdb_wire_item *it = &g_array_index(items, vmdb_wire_item, i);
      if (vmdb_path_under(it->path, p->subtree)) {
         send_subtree(p, it->path);
      }
   }
}

static void
apply_txn(vmdb_pipe *p, GArray *items)
{
   if (!p->in_sync) {
      for (guint i = 0; i < items->len; i++) {
         vmdb_wire_item *it = &g_array_index(items, vmdb_wire_item, i);
         if (!peer_may_write(p, it->path)) {
            char *why = g_strdup_printf("vmdb pipe: write to %s refused: the peer may not write there",
                                        it->path);
            refuse(p, items, why);
            g_free(why);
            return;
         }
      }
      vmdb_tx_begin(p->ctx);
   }
   for (guint i = 0; i < items->len; i++) {
      vmdb_wire_item *it = &g_array_index(items, vmdb_wire_item, i);
      if (p->in_sync && !vmdb_path_under(it->path, p->subtree)) {
         continue;
      }
      if (it->remove) {
         vmdb_remove(p->ctx, it->path);
      } else {
         vmdb_set(p->ctx, it->path, &it->value);
      }
   }
   if (!p->in_sync && vmdb_tx_commit(p->ctx) < 0) {
      char *why = g_strdup_printf("vmdb pipe: %s", vmdb_ctx_error(p->ctx));
      refuse(p, items, why);
      g_free(why);
   }
}

static bool
handle_msg(vmdb_pipe *p, vmdb_msg *m)
{
   if (!p->hello_seen && m->type != VMDB_MSG_HELLO) {
      pipe_close(p, "protocol error: first message is not HELLO");
      return false;
   }
   switch (m->type) {
   case VMDB_MSG_HELLO:
      if (p->hello_seen) {
         pipe_close(p, "protocol error: second HELLO");
         return false;
      }
      if (m->version != VMDB_WIRE_VERSION) {
         char *why = g_strdup_printf("peer speaks VMDB pipe version %u, we speak %u", m->version,
                                     VMDB_WIRE_VERSION);
         pipe_close(p, why);
         g_free(why);
         return false;
      }
      if (strcmp(m->text, p->subtree) != 0) {
         char *why = g_strdup_printf("peer mirrors %s, we mirror %s", m->text, p->subtree);
         pipe_close(p, why);
         g_free(why);
         return false;
      }
      p->hello_seen = true;
      return true;
   case VMDB_MSG_SYNC_BEGIN:
      if (p->server || p->in_sync || p->synced) {
         pipe_close(p, "protocol error: unexpected SYNC_BEGIN");
         return false;
      }
      p->in_sync = true;
      vmdb_tx_begin(p->ctx);
      vmdb_remove(p->ctx, p->subtree);
      return true;
   case VMDB_MSG_SYNC_END:
      if (!p->in_sync) {
         pipe_close(p, "protocol error: unexpected SYNC_END");
         return false;
      }
      p->in_sync = false;
      if (vmdb_tx_commit(p->ctx) < 0) {
         char *why = g_strdup_printf("initial sync refused: %s", vmdb_ctx_error(p->ctx));
         pipe_close(p, why);
         g_free(why);
         return false;
      }
      p->synced = true;
      if (p->cb.synced) {
         p->cb.synced(p, p->user);
      }
      return !p->closed;
   case VMDB_MSG_TXN:
      if (!p->server && !p->synced && !p->in_sync) {
         pipe_close(p, "protocol error: transaction before the initial sync");
         return false;
      }
      apply_txn(p, m->items);
      return true;
   case VMDB_MSG_ERROR:
      if (p->cb.peer_error) {
         p->cb.peer_error(p, m->text, p->user);
      }
      return !p->closed;
   }
   return true;
}

static void
process_input(vmdb_pipe *p)
{
   size_t off = 0;
   while (!p->closed && p->in->len - off >= 4) {
      const uint8_t *h = p->in->data + off;
      uint32_t len = (uint32_t)h[0] | (uint32_t)h[1] << 8 | (uint32_t)h[2] << 16 |
                     (uint32_t)h[3] << 24;
      if (len == 0 || len > VMDB_WIRE_FRAME_MAX) {
         pipe_close(p, "protocol error: bad frame length");
         return;
      }
      if (p->in->len - off - 4 < len) {
         break;
      }
      vmdb_msg m;
      char *err = NULL;
      if (!vmdb_wire_decode(h + 4, len, &m, &err)) {
         char *why = g_strdup_printf("protocol error: %s", err);
         pipe_close(p, why);
         g_free(why);
         g_free(err);
         return;
      }
      bool ok = handle_msg(p, &m);
      vmdb_msg_clear(&m);
      off += 4 + len;
      if (!ok) {
         return;
      }
   }
   if (off) {
      g_byte_array_remove_range(p->in, 0, (guint)off);
   }
   try_write(p);
}

static void
do_read(vmdb_pipe *p)
{
   uint8_t buf[65536];
   for (;;) {
      ssize_t n = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
         p->rx_bytes += (uint64_t)n;
         g_byte_array_append(p->in, buf, (guint)n);
         if (p->in->len > 2 * VMDB_WIRE_FRAME_MAX) {
            pipe_close(p, "protocol error: input backlog too large");
            return;
         }
         process_input(p);
         if (p->closed) {
            return;
         }
         continue;
      }
      if (n == 0) {
         pipe_close(p, NULL);
         return;
      }
      if (errno == EINTR) {
         continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
         char *why = g_strdup_printf("read failed: %s", strerror(errno));
         pipe_close(p, why);
         g_free(why);
      }
      return;
   }
}

static gboolean
pipe_dispatch(GSource *src, GSourceFunc unused, gpointer unused2)
{
   vmdb_pipe *p = ((pipe_source *)src)->p;
   GIOCondition c = g_source_query_unix_fd(src, p->fd_tag);
   if (c & G_IO_OUT) {
      try_write(p);
   }
   if (!p->closed && (c & (G_IO_IN | G_IO_HUP | G_IO_ERR))) {
      do_read(p);
   }
   return G_SOURCE_CONTINUE;
}

static GSourceFuncs pipe_source_funcs = {
   .dispatch = pipe_dispatch,
};

static gboolean
tell_closed(gpointer data)
{
   vmdb_pipe *p = data;
   g_source_unref(p->closed_idle);
   p->closed_idle = NULL;
   char *reason = g_steal_pointer(&p->closed_reason);
   if (p->cb.closed) {
      p->cb.closed(p, reason, p->user);   /* may free p */
   }
   g_free(reason);
   return G_SOURCE_REMOVE;
}

static void
pipe_close(vmdb_pipe *p, const char *reason)
{
   if (p->closed) {
      return;
   }
   p->closed = true;
   if (p->in_sync) {
      vmdb_tx_abort(p->ctx);
      p->in_sync = false;
   }
   if (p->src) {
      g_source_destroy(p->src);
      g_source_unref(p->src);
      p->src = NULL;
   }
   if (p->fd >= 0) {
      close(p->fd);
      p->fd = -1;
   }
   if (!p->cb.closed) {
      return;
   }
   if (p->flushing) {
      /* The owner typically frees the pipe from its callback, and the
       * flush, and the owner's loop over its pipes around it, still use
       * it: tell it from the main loop instead. */
      p->closed_reason = g_strdup(reason);
      p->closed_idle = g_idle_source_new();
      g_source_set_callback(p->closed_idle, tell_closed, p, NULL);
      g_source_attach(p->closed_idle, p->mc);
      return;
   }
   p->cb.closed(p, reason, p->user);
}

vmdb_pipe *
vmdb_pipe_new(vmdb_db *db, int fd, bool server, const char *subtree,
              const char *const *peer_writable, GMainContext *mc,
              const vmdb_pipe_callbacks *cb, void *user)
{
   vmdb_pipe *p = g_new0(vmdb_pipe, 1);
   p->db = vmdb_db_ref(db);
   p->ctx = vmdb_ctx_new(db, VMDB_CTX_JOURNAL);
   vmdb_ctx_set_origin(p->ctx, p);
   p->fd = fd;
   p->server = server;
   p->subtree = g_strdup(subtree);
   p->writable = peer_writable ? g_strdupv((char **)peer_writable) : NULL;
   p->mc = mc ? g_main_context_ref(mc) : g_main_context_ref_thread_default();
   p->in = g_byte_array_new();
   p->out = g_byte_array_new();
   if (cb) {
      p->cb = *cb;
   }
   p->user = user;
   int fl = fcntl(fd, F_GETFL);
   fcntl(fd, F_SETFL, fl | O_NONBLOCK);

   vmdb_subscribe(p->ctx, subtree, on_local_changes, p);
   vmdb_ctx_attach(p->ctx, p->mc);

   vmdb_wire_hello(p->out, subtree);
   if (server) {
      send_full_sync(p);
   }
   p->src = g_source_new(&pipe_source_funcs, sizeof(pipe_source));
   ((pipe_source *)p->src)->p = p;
   g_source_set_name(p->src, "vmdb-pipe");
   p->fd_tag = g_source_add_unix_fd(p->src, fd, G_IO_IN | G_IO_HUP | G_IO_ERR);
   g_source_attach(p->src, p->mc);
   try_write(p);
   return p;
}

void
vmdb_pipe_free(vmdb_pipe *p)
{
   if (!p) {
      return;
   }
   p->cb.closed = NULL;
   pipe_close(p, NULL);
   if (p->closed_idle) {
      g_source_destroy(p->closed_idle);
      g_source_unref(p->closed_idle);
   }
   g_free(p->closed_reason);
   vmdb_ctx_free(p->ctx);
   vmdb_db_unref(p->db);
   g_main_context_unref(p->mc);
   g_byte_array_free(p->in, TRUE);
   g_byte_array_free(p->out, TRUE);
   g_strfreev(p->writable);
   g_free(p->subtree);
   g_free(p);
}

bool
vmdb_pipe_synced(vmdb_pipe *p)
{
   return p->synced;
}

bool
vmdb_pipe_closed(vmdb_pipe *p)
{
   return p->closed;
}

void
vmdb_pipe_stats(vmdb_pipe *p, uint64_t *tx, uint64_t *rx)
{
   if (tx) {
      *tx = p->tx_bytes;
   }
   if (rx) {
      *rx = p->rx_bytes;
   }
}

bool
vmdb_pipe_flush(vmdb_pipe *p, int timeout_ms)
{
   /* Pick up changes committed but not yet dispatched to us. */
   p->flushing = true;
   vmdb_ctx_dispatch(p->ctx);
   gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
   bool ok = true;
   while (!p->closed && p->out->len > p->out_off) {
      gint64 left = (deadline - g_get_monotonic_time()) / 1000;
      if (left <= 0) {
         ok = false;
         break;
      }
      struct pollfd pfd = { .fd = p->fd, .events = POLLOUT };
      if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) {
         ok = false;
         break;
      }
      try_write(p);
   }
   p->flushing = false;
   return ok && !p->closed;
}

/* ---- sockets */

static int
fill_addr(struct sockaddr_un *a, const char *path, char **err)
{
   memset(a, 0, sizeof *a);
   a->sun_family = AF_UNIX;
   if (strlen(path) >= sizeof a->sun_path) {
      *err = g_strdup_printf("socket path %s is too long", path);
      return -1;
   }
   strcpy(a->sun_path, path);
   return 0;
}

bool
vmdb_peer_uid_ok(int fd, char **err)
{
   struct ucred cred;
   socklen_t len = sizeof cred;
   if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
      *err = g_strdup_printf("cannot read peer credentials: %s", strerror(errno));
      return false;
   }
   if (cred.uid != getuid()) {
      *err = g_strdup_printf("refused a connection from uid %u (pid %d): only uid %u may connect",
                             (unsigned)cred.uid, (int)cred.pid, (unsigned)getuid());
      return false;
   }
   return true;
}

int
vmdb_listen(const char *path, char **err)
{
   struct sockaddr_un a;
   if (fill_addr(&a, path, err) < 0) {
      return -1;
   }
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   if (fd < 0) {
      *err = g_strdup_printf("socket: %s", strerror(errno));
      return -1;
   }
   /* Bind under a private umask so the socket is never reachable by others,
    * not even between bind and chmod. */
   mode_t old = umask(0177);
   unlink(path);
   int r = bind(fd, (struct sockaddr *)&a, sizeof a);
   int e = errno;
   umask(old);
   if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 16) < 0) {
      *err = g_strdup_printf("cannot listen on %s: %s", path, strerror(r < 0 ? e : errno));
      close(fd);
      return -1;
   }
   return fd;
}

int
vmdb_connect(const char *path, char **err)
{
   struct sockaddr_un a;
   if (fill_addr(&a, path, err) < 0) {
      return -1;
   }
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   if (fd < 0) {
      *err = g_strdup_printf("socket: %s", strerror(errno));
      return -1;
   }
   if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
      *err = g_strdup_printf("cannot connect to %s: %s", path, strerror(errno));
      close(fd);
      return -1;
   }
   if (!vmdb_peer_uid_ok(fd, err)) {
      close(fd);
      return -1;
   }
   return fd;
}

int
vmdb_accept(int lfd, char **err)
{
   int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
   if (fd < 0) {
      *err = g_strdup_printf("accept: %s", strerror(errno));
      return -1;
   }
   if (!vmdb_peer_uid_ok(fd, err)) {
      close(fd);
      return -1;
   }
   return fd;
}
