/*
 * vmx/dev/chipset/uart.c - 16550A UARTs with file, pipe, socket and pty
 * backends. See uart.h.
 */
#include "vmx/dev/chipset/uart.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <fcntl.h>
#include <glib.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#define FIFO_SIZE 16
#define RING_SIZE 4096
#define NS 1000000000ll

/* Registers (offsets). */
#define R_RBR_THR 0
#define R_IER 1
#define R_IIR_FCR 2
#define R_LCR 3
#define R_MCR 4
#define R_LSR 5
#define R_MSR 6
#define R_SCR 7

#define IER_ERBFI 0x01
#define IER_ETBEI 0x02
#define IER_ELSI 0x04
#define IER_EDSSI 0x08

#define IIR_NONE 0x01
#define IIR_MSR 0x00
#define IIR_THRE 0x02
#define IIR_RDA 0x04
#define IIR_RLS 0x06
#define IIR_TIMEOUT 0x0c
#define IIR_FIFO 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04
#define FCR_KEEP 0xc9   /* enable, DMA mode, trigger */

#define LCR_BREAK 0x40
#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_PE 0x04
#define LSR_FE 0x08
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFOERR 0x80
#define LSR_ERRS (LSR_OE | LSR_PE | LSR_FE | LSR_BI)
#define RX_FLAGS (LSR_PE | LSR_FE | LSR_BI)

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

typedef enum bk_kind {
   BK_FILE,
   BK_PIPE_CLIENT,
   BK_SERVER,   /* socket, or pipe with endPoint = server */
   BK_PTY,
} bk_kind;

typedef struct uart_port {
   struct uart *u;
   unsigned n;
   bool present;
   uint16_t base;
   unsigned irq;
   pthread_mutex_t lock;
   pthread_cond_t drained;
   /* registers */
   uint8_t ier, lcr, mcr, scr, fcr, dll, dlm;
   uint8_t lsr_err;   /* OE, PE, FE, BI shown by LSR until it is read */
   uint8_t msr;
   bool thr_ip;       /* THR-empty interrupt pending */
   bool timeout_ip;   /* character timeout pending */
   uint16_t rx[FIFO_SIZE];   /* data | RX_FLAGS << 8 */
   unsigned rx_head, rx_count;
   uint8_t tx[FIFO_SIZE];
   unsigned tx_head, tx_count;
   bool out;          /* interrupt output after OUT2 gating (irq_lock) */
   int64_t timeout_at;   /* CLOCK_MONOTONIC ns, 0 = none */
   /* backend */
   bk_kind kind;
   char *path;
   int fd;
   int listen_fd;
   int wake_fd;
   bool connected;
   bool rx_waiting;
   uint8_t ring[RING_SIZE];
   unsigned ring_head, ring_count;
   int64_t retry_at;
   bool logged_connect_failure;
   bool logged_write_error;
   char *pty_path;
   char *link_path;
   bool unlink_socket;
   pthread_t thread;
   bool thread_started;
   bool stop;
   bool mapped;
} uart_port;

struct uart {
   vmx_platform *p;
   pthread_mutex_t irq_lock;
   bool line[16];
   uart_port port[UART_PORTS];
};

static const uint16_t port_base[UART_PORTS] = { 0x3f8, 0x2f8, 0x3e8, 0x2e8 };
static const unsigned port_irq[UART_PORTS] = { 4, 3, 4, 3 };

uart *
uart_get(vmx_platform *p)
{
   return vmx_platform_device(p, "uart");
}

static int64_t
mono_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (int64_t)ts.tv_sec * NS + ts.tv_nsec;
}

static void
wake(uart_port *pt)
{
   uint64_t one = 1;
   if (pt->wake_fd >= 0 && write(pt->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN) {
      vmxlog("serial%u: cannot wake the I/O thread: %s", pt->n, g_strerror(errno));
   }
}

/* ---- state helpers (port lock held) */

static bool
fifo_on(const uart_port *pt)
{
   return pt->fcr & FCR_ENABLE;
}

static unsigned
rx_cap(const uart_port *pt)
{
   return fifo_on(pt) ? FIFO_SIZE : 1;
}

static unsigned
rx_trigger(const uart_port *pt)
{
   static const unsigned t[4] = { 1, 4, 8, 14 };
   return fifo_on(pt) ? t[pt->fcr >> 6] : 1;
}

static unsigned
rx_room(const uart_port *pt)
{
   return pt->rx_count < rx_cap(pt) ? rx_cap(pt) - pt->rx_count : 0;
}

static int64_t
char_timeout_ns(const uart_port *pt)
{
   unsigned div = (unsigned)pt->dll | (unsigned)pt->dlm << 8;
   if (div == 0) {
      div = 0x10000;
   }
   /* 4 characters of 10 bits at 115200 / divisor baud. */
   return 40ll * div * NS / 115200;
}

static void
arm_timeout(uart_port *pt)
{
   if (!fifo_on(pt) || pt->rx_count == 0) {
      pt->timeout_at = 0;
      return;
   }
   bool was = pt->timeout_at != 0;
   pt->timeout_at = mono_ns() + char_timeout_ns(pt);
   if (!was) {
      wake(pt);
   }
}

static uint8_t
iir_id(const uart_port *pt)
{
   if ((pt->ier & IER_ELSI) && (pt->lsr_err & LSR_ERRS)) {
      return IIR_RLS;
   }
   if ((pt->ier & IER_ERBFI) && pt->rx_count >= rx_trigger(pt)) {
      return IIR_RDA;
   }
   if ((pt->ier & IER_ERBFI) && pt->timeout_ip && pt->rx_count > 0) {
      return IIR_TIMEOUT;
   }
   if ((pt->ier & IER_ETBEI) && pt->thr_ip) {
      return IIR_THRE;
   }
   if ((pt->ier & IER_EDSSI) && (pt->msr & 0x0f)) {
      return IIR_MSR;
   }
   return IIR_NONE;
}

static void
update_irq(uart_port *pt)
{
   bool out = iir_id(pt) != IIR_NONE && (pt->mcr & MCR_OUT2) && !(pt->mcr & MCR_LOOP);
   uart *u = pt->u;
   pthread_mutex_lock(&u->irq_lock);
   if (out != pt->out) {
      pt->out = out;
      bool level = false;
      for (unsigned i = 0; i < UART_PORTS; i++) {
         if (u->port[i].present && u->port[i].irq == pt->irq && u->port[i].out) {
            level = true;
         }
      }
      if (level != u->line[pt->irq]) {
         u->line[pt->irq] = level;
         vmx_platform_set_irq(u->p, pt->irq, level);
      }
   }
   pthread_mutex_unlock(&u->irq_lock);
}

static uint8_t
lsr_value(const uart_port *pt)
{
   uint8_t v = pt->lsr_err & LSR_ERRS;
   if (pt->rx_count) {
      v |= LSR_DR;
   }
   if (pt->tx_count == 0) {
      v |= LSR_THRE | LSR_TEMT;
   }
   if (fifo_on(pt)) {
      for (unsigned i = 0; i < pt->rx_count; i++) {
         if (pt->rx[(pt->rx_head + i) % FIFO_SIZE] >> 8) {
            v |= LSR_FIFOERR;
            break;
         }
      }
   }
   return v;
}

/* Modem status inputs: from MCR in loopback, from the backend otherwise. */
static void
update_msr_lines(uart_port *pt)
{
   uint8_t lines;
   if (pt->mcr & MCR_LOOP) {
      lines = (uint8_t)(((pt->mcr & MCR_RTS) ? MSR_CTS : 0) | ((pt->mcr & MCR_DTR) ? MSR_DSR : 0) |
                        ((pt->mcr & MCR_OUT1) ? MSR_RI : 0) | ((pt->mcr & MCR_OUT2) ? MSR_DCD : 0));
   } else {
      lines = pt->connected ? (MSR_DCD | MSR_DSR | MSR_CTS) : 0;
   }
   uint8_t old = pt->msr & 0xf0, ch = old ^ lines, d = 0;
   if (ch & MSR_CTS) {
      d |= MSR_DCTS;
   }
   if (ch & MSR_DSR) {
      d |= MSR_DDSR;
   }
   if ((old & MSR_RI) && !(lines & MSR_RI)) {
      d |= MSR_TERI;
   }
   if (ch & MSR_DCD) {
      d |= MSR_DDCD;
   }
   pt->msr = (uint8_t)(lines | (pt->msr & 0x0f) | d);
}

static void
rx_clear(uart_port *pt)
{
   pt->rx_head = pt->rx_count = 0;
   pt->timeout_ip = false;
   pt->timeout_at = 0;
}

/* A character arrives at the receiver. */
static void
rx_push(uart_port *pt, uint8_t data, uint8_t flags)
{
   uint16_t e = (uint16_t)(data | (flags & RX_FLAGS) << 8);
   if (pt->rx_count >= rx_cap(pt)) {
      pt->lsr_err |= LSR_OE;
      if (!fifo_on(pt)) {
         pt->rx[pt->rx_head] = e;   /* RBR is overwritten */
         pt->lsr_err |= flags & RX_FLAGS;
      }
      return;
   }
   pt->rx[(pt->rx_head + pt->rx_count) % FIFO_SIZE] = e;
   if (pt->rx_count++ == 0) {
      pt->lsr_err |= flags & RX_FLAGS;   /* at the top of the FIFO */
   }
   pt->timeout_ip = false;
   arm_timeout(pt);
}

static void
maybe_wake_rx(uart_port *pt)
{
   if (pt->rx_waiting && rx_room(pt) > 0 && !(pt->mcr & MCR_LOOP)) {
      pt->rx_waiting = false;
      wake(pt);
   }
}

static uint8_t
rx_pop(uart_port *pt)
{
   if (!pt->rx_count) {
      return 0;
   }
   uint8_t v = (uint8_t)pt->rx[pt->rx_head];
   pt->rx_head = (pt->rx_head + 1) % FIFO_SIZE;
   pt->rx_count--;
   if (pt->rx_count) {
      pt->lsr_err |= (uint8_t)(pt->rx[pt->rx_head] >> 8) & RX_FLAGS;
   }
   pt->timeout_ip = false;
   arm_timeout(pt);
   maybe_wake_rx(pt);
   return v;
}

/* Move transmit FIFO bytes to the backend ring; discard them when no peer
 * is connected. */
static void
tx_drain(uart_port *pt)
{
   bool moved = false, was_empty = pt->ring_count == 0;
   while (pt->tx_count) {
      if (!pt->connected) {
         pt->tx_count = 0;
         moved = true;
         break;
      }
      if (pt->ring_count == RING_SIZE) {
         break;
      }
      pt->ring[(pt->ring_head + pt->ring_count) % RING_SIZE] = pt->tx[pt->tx_head];
      pt->ring_count++;
      pt->tx_head = (pt->tx_head + 1) % FIFO_SIZE;
      pt->tx_count--;
      moved = true;
   }
   if (moved && pt->tx_count == 0) {
      pt->thr_ip = true;
   }
   if (was_empty && pt->ring_count) {
      wake(pt);
   }
   if (pt->tx_count == 0 && pt->ring_count == 0) {
      pthread_cond_broadcast(&pt->drained);
   }
}

static void
thr_write(uart_port *pt, uint8_t v)
{
   pt->thr_ip = false;
   if (pt->mcr & MCR_LOOP) {
      rx_push(pt, v, 0);
      pt->thr_ip = true;
      return;
   }
   if (pt->tx_count < (fifo_on(pt) ? FIFO_SIZE : 1u)) {
      pt->tx[(pt->tx_head + pt->tx_count) % FIFO_SIZE] = v;
      pt->tx_count++;
   }
   tx_drain(pt);
}

static void
fcr_write(uart_port *pt, uint8_t v)
{
   bool en = v & FCR_ENABLE;
   if (en != fifo_on(pt)) {
      rx_clear(pt);
      if (pt->tx_count) {
         pt->tx_count = 0;
         pt->thr_ip = true;
      }
   }
   if (!en) {
      pt->fcr = 0;
      maybe_wake_rx(pt);
      return;
   }
   pt->fcr = v & FCR_KEEP;
   if (v & FCR_CLEAR_RX) {
      rx_clear(pt);
   }
   if ((v & FCR_CLEAR_TX) && pt->tx_count) {
      pt->tx_count = 0;
      pt->thr_ip = true;
   }
   arm_timeout(pt);
   maybe_wake_rx(pt);
}

/* ---- guest access */

static uint64_t
uart_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   uart_port *pt = opaque;
   if (size != 1) {
      return ~0ull;
   }
   pthread_mutex_lock(&pt->lock);
   uint8_t v = 0xff;
   switch (off) {
   case R_RBR_THR:
      v = (pt->lcr & LCR_DLAB) ? pt->dll : rx_pop(pt);
      break;
   case R_IER:
      v = (pt->lcr & LCR_DLAB) ? pt->dlm : pt->ier;
      break;
   case R_IIR_FCR:
      v = iir_id(pt);
      if (v == IIR_THRE) {
         pt->thr_ip = false;
      }
      if (fifo_on(pt)) {
         v |= IIR_FIFO;
      }
      break;
   case R_LCR:
      v = pt->lcr;
      break;
   case R_MCR:
      v = pt->mcr;
      break;
   case R_LSR:
      v = lsr_value(pt);
      pt->lsr_err = 0;
      break;
   case R_MSR:
      v = pt->msr;
      pt->msr &= 0xf0;
      break;
   case R_SCR:
      v = pt->scr;
      break;
   }
   update_irq(pt);
   pthread_mutex_unlock(&pt->lock);
   return v;
}

static void
uart_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   uart_port *pt = opaque;
   if (size != 1) {
      return;
   }
   uint8_t v = (uint8_t)val;
   pthread_mutex_lock(&pt->lock);
   switch (off) {
   case R_RBR_THR:
      if (pt->lcr & LCR_DLAB) {
         pt->dll = v;
      } else {
         thr_write(pt, v);
      }
      break;
   case R_IER:
      if (pt->lcr & LCR_DLAB) {
         pt->dlm = v;
      } else {
         uint8_t old = pt->ier;
         pt->ier = v & 0x0f;
         if (!(old & IER_ETBEI) && (pt->ier & IER_ETBEI) && pt->tx_count == 0) {
            pt->thr_ip = true;
         }
      }
      break;
   case R_IIR_FCR:
      fcr_write(pt, v);
      break;
   case R_LCR:
      if ((v & LCR_BREAK) && !(pt->lcr & LCR_BREAK) && (pt->mcr & MCR_LOOP)) {
         rx_push(pt, 0, LSR_BI | LSR_FE);
      }
      pt->lcr = v;
      break;
   case R_MCR:
      pt->mcr = v & MCR_MASK;
      update_msr_lines(pt);
      maybe_wake_rx(pt);
      break;
   case R_LSR:
   case R_MSR:
      break;   /* factory test registers: writes ignored */
   case R_SCR:
      pt->scr = v;
      break;
   }
   update_irq(pt);
   pthread_mutex_unlock(&pt->lock);
}

/* ---- backends */

static void
set_connected(uart_port *pt, bool on)
{
   if (pt->connected == on) {
      return;
   }
   pt->connected = on;
   if (!on) {
      pt->ring_count = 0;
      pt->ring_head = 0;
      tx_drain(pt);   /* discards what is left */
   }
   if (!(pt->mcr & MCR_LOOP)) {
      update_msr_lines(pt);
   }
   update_irq(pt);
}

static bool
unix_addr(const char *path, struct sockaddr_un *a, const char *key, char **err)
{
   memset(a, 0, sizeof *a);
   a->sun_family = AF_UNIX;
   if (strlen(path) >= sizeof a->sun_path) {
      *err = g_strdup_printf("%s = \"%s\": a Unix socket path must be shorter than %zu bytes",
                             key, path, sizeof a->sun_path);
      return false;
   }
   strcpy(a->sun_path, path);
   return true;
}

static int
try_connect(uart_port *pt)
{
   struct sockaddr_un a;
   char *err = NULL;
   if (!unix_addr(pt->path, &a, "", &err)) {
      g_free(err);
      return -1;
   }
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
   if (fd < 0) {
      return -1;
   }
   if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
      if (!pt->logged_connect_failure) {
         pt->logged_connect_failure = true;
         vmxlog("serial%u: cannot connect to %s (%s); retrying every second", pt->n, pt->path,
                g_strerror(errno));
      }
      close(fd);
      return -1;
   }
   vmxlog("serial%u: connected to %s", pt->n, pt->path);
   pt->logged_connect_failure = false;
   return fd;
}

static bool
open_server(uart_port *pt, const char *key, char **err)
{
   struct sockaddr_un a;
   if (!unix_addr(pt->path, &a, key, err)) {
      return false;
   }
   struct stat st;
   if (lstat(pt->path, &st) == 0) {
      if (!S_ISSOCK(st.st_mode)) {
         *err = g_strdup_printf("%s = \"%s\": exists and is not a socket", key, pt->path);
         return false;
      }
      unlink(pt->path);
   }
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
   if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1) != 0) {
      *err = g_strdup_printf("%s = \"%s\": cannot listen there: %s", key, pt->path,
                             g_strerror(errno));
      if (fd >= 0) {
         close(fd);
      }
      return false;
   }
   pt->listen_fd = fd;
   pt->unlink_socket = true;
   vmxlog("serial%u: listening on %s", pt->n, pt->path);
   return true;
}

static bool
open_pty(uart_port *pt, const char *key, char **err)
{
   int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
   char name[128];
   if (m < 0 || grantpt(m) != 0 || unlockpt(m) != 0 || ptsname_r(m, name, sizeof name) != 0) {
      *err = g_strdup_printf("serial%u.fileType = \"pty\": cannot allocate a pseudo-terminal: "
                             "%s", pt->n, g_strerror(errno));
      if (m >= 0) {
         close(m);
      }
      return false;
   }
   /* Raw mode, set through the slave; closing it leaves the master hung up
    * until a user opens the slave. */
   int s = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
   if (s >= 0) {
      struct termios t;
      if (tcgetattr(s, &t) == 0) {
         cfmakeraw(&t);
         tcsetattr(s, TCSANOW, &t);
      }
      close(s);
   }
   fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
   pt->fd = m;
   pt->pty_path = g_strdup(name);
   if (pt->path) {
      struct stat st;
      if (lstat(pt->path, &st) == 0) {
         if (!S_ISLNK(st.st_mode)) {
            *err = g_strdup_printf("%s = \"%s\": exists and is not a symbolic link", key,
                                   pt->path);
            return false;
         }
         unlink(pt->path);
      }
      if (symlink(name, pt->path) != 0) {
         *err = g_strdup_printf("%s = \"%s\": cannot link it to %s: %s", key, pt->path, name,
                                g_strerror(errno));
         return false;
      }
      pt->link_path = g_strdup(pt->path);
   }
   vmxlog("serial%u: pseudo-terminal %s%s%s", pt->n, name, pt->link_path ? " linked from " : "",
          pt->link_path ? pt->link_path : "");
   return true;
}

/* Does the pty have a reader (a slave open)? */
static bool
pty_open(int m)
{
   struct pollfd p = { m, 0, 0 };
   return poll(&p, 1, 0) >= 0 && !(p.revents & POLLHUP);
}

static void
drop_peer(uart_port *pt)
{
   if (pt->kind == BK_PTY) {
      pt->retry_at = mono_ns() + NS / 4;
   } else {
      if (pt->fd >= 0) {
         close(pt->fd);
      }
      pt->fd = -1;
      if (pt->kind == BK_PIPE_CLIENT) {
         pt->retry_at = mono_ns() + NS;
      }
   }
   set_connected(pt, false);
}

/* Write what the ring holds; on a write error the peer is gone. */
static void
flush_ring(uart_port *pt, int fd)
{
   uint8_t buf[RING_SIZE];
   pthread_mutex_lock(&pt->lock);
   unsigned n = pt->ring_count;
   for (unsigned i = 0; i < n; i++) {
      buf[i] = pt->ring[(pt->ring_head + i) % RING_SIZE];
   }
   pthread_mutex_unlock(&pt->lock);
   if (!n) {
      return;
   }
   /* Sockets: no SIGPIPE when the peer has gone. */
   ssize_t w = pt->kind == BK_FILE || pt->kind == BK_PTY ? write(fd, buf, n)
                                                          : send(fd, buf, n, MSG_NOSIGNAL);
   int e = errno;
   pthread_mutex_lock(&pt->lock);
   if (w > 0 && pt->fd == fd && pt->ring_count >= (unsigned)w) {
      pt->ring_head = (pt->ring_head + (unsigned)w) % RING_SIZE;
      pt->ring_count -= (unsigned)w;
      tx_drain(pt);
      update_irq(pt);
   } else if (w < 0 && e != EAGAIN && e != EINTR) {
      if (pt->kind == BK_FILE) {
         if (!pt->logged_write_error) {
            pt->logged_write_error = true;
            vmxlog("serial%u: cannot write %s: %s; output is discarded", pt->n, pt->path,
                   g_strerror(e));
         }
         pt->ring_count = 0;
         tx_drain(pt);
         update_irq(pt);
      } else {
         drop_peer(pt);
      }
   }
   pthread_mutex_unlock(&pt->lock);
}

static void
read_input(uart_port *pt, int fd)
{
   pthread_mutex_lock(&pt->lock);
   unsigned room = (pt->mcr & MCR_LOOP) ? 0 : rx_room(pt);
   pthread_mutex_unlock(&pt->lock);
   if (!room) {
      return;
   }
   uint8_t buf[FIFO_SIZE];
   ssize_t r = read(fd, buf, room);
   int e = errno;
   pthread_mutex_lock(&pt->lock);
   if (r > 0 && pt->fd == fd) {
      for (ssize_t i = 0; i < r; i++) {
         rx_push(pt, buf[i], 0);
      }
      update_irq(pt);
   } else if (r == 0 || (r < 0 && e != EAGAIN && e != EINTR)) {
      drop_peer(pt);
   }
   pthread_mutex_unlock(&pt->lock);
}

static void
check_timeout(uart_port *pt)
{
   pthread_mutex_lock(&pt->lock);
   if (pt->timeout_at && mono_ns() >= pt->timeout_at) {
      pt->timeout_at = 0;
      if (fifo_on(pt) && pt->rx_count) {
         pt->timeout_ip = true;
         update_irq(pt);
      }
   }
   pthread_mutex_unlock(&pt->lock);
}

static void
check_retry(uart_port *pt)
{
   pthread_mutex_lock(&pt->lock);
   if (!pt->retry_at || mono_ns() < pt->retry_at) {
      pthread_mutex_unlock(&pt->lock);
      return;
   }
   pt->retry_at = 0;
   if (pt->kind == BK_PTY) {
      if (pty_open(pt->fd)) {
         set_connected(pt, true);
      } else {
         pt->retry_at = mono_ns() + NS / 4;
      }
   } else if (pt->kind == BK_PIPE_CLIENT && pt->fd < 0) {
      int fd = try_connect(pt);
      if (fd >= 0) {
         pt->fd = fd;
         set_connected(pt, true);
      } else {
         pt->retry_at = mono_ns() + NS;
      }
   }
   pthread_mutex_unlock(&pt->lock);
}

static void *
port_thread(void *opaque)
{
   uart_port *pt = opaque;
   for (;;) {
      pthread_mutex_lock(&pt->lock);
      if (pt->stop) {
         pthread_mutex_unlock(&pt->lock);
         break;
      }
      int fd = pt->fd, lfd = pt->listen_fd;
      bool has_input = pt->kind != BK_FILE;
      bool want_in = fd >= 0 && pt->connected && has_input && !(pt->mcr & MCR_LOOP) &&
                     rx_room(pt) > 0;
      pt->rx_waiting = fd >= 0 && pt->connected && has_input && !want_in;
      bool want_out = fd >= 0 && pt->connected && pt->ring_count > 0;
      bool watch = fd >= 0 && pt->connected && has_input;   /* hang-ups */
      bool want_accept = lfd >= 0 && fd < 0;
      int64_t wake_at = pt->timeout_at;
      if (pt->retry_at && (!wake_at || pt->retry_at < wake_at)) {
         wake_at = pt->retry_at;
      }
      pthread_mutex_unlock(&pt->lock);

      struct pollfd pf[3];
      unsigned n = 0;
      pf[n++] = (struct pollfd){ pt->wake_fd, POLLIN, 0 };
      int fd_slot = -1, l_slot = -1;
      if (want_in || want_out || watch) {
         fd_slot = (int)n;
         pf[n++] = (struct pollfd){ fd, (short)((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0)),
                                    0 };
      }
      if (want_accept) {
         l_slot = (int)n;
         pf[n++] = (struct pollfd){ lfd, POLLIN, 0 };
      }
      struct timespec ts, *tsp = NULL;
      if (wake_at) {
         int64_t d = wake_at - mono_ns();
         if (d < 0) {
            d = 0;
         }
         ts.tv_sec = (time_t)(d / NS);
         ts.tv_nsec = (long)(d % NS);
         tsp = &ts;
      }
      int rc = ppoll(pf, n, tsp, NULL);
      if (rc < 0 && errno != EINTR) {
         vmxlog("serial%u: poll failed: %s", pt->n, g_strerror(errno));
         break;
      }
      if (rc > 0 && (pf[0].revents & POLLIN)) {
         uint64_t cnt;
         if (read(pt->wake_fd, &cnt, sizeof cnt) < 0 && errno != EAGAIN) {
            vmxlog("serial%u: wake read failed: %s", pt->n, g_strerror(errno));
         }
      }
      if (rc > 0 && l_slot >= 0 && (pf[l_slot].revents & POLLIN)) {
         int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
         if (c >= 0) {
            pthread_mutex_lock(&pt->lock);
            pt->fd = c;
            set_connected(pt, true);
            pthread_mutex_unlock(&pt->lock);
            vmxlog("serial%u: client connected on %s", pt->n, pt->path);
         }
      }
      if (rc > 0 && fd_slot >= 0) {
         short re = pf[fd_slot].revents;
         if (re & POLLOUT) {
            flush_ring(pt, fd);
         }
         if (re & POLLIN) {
            read_input(pt, fd);
         } else if (re & (POLLHUP | POLLERR | POLLNVAL)) {
            pthread_mutex_lock(&pt->lock);
            if (pt->fd == fd && pt->connected) {
               drop_peer(pt);
            }
            pthread_mutex_unlock(&pt->lock);
         }
      }
      check_timeout(pt);
      check_retry(pt);
   }
   /* Last output: everything still queued for a file, what fits for others. */
   pthread_mutex_lock(&pt->lock);
   int fd = pt->connected ? pt->fd : -1;
   pthread_mutex_unlock(&pt->lock);
   if (fd >= 0) {
      for (unsigned tries = 0; tries < 64; tries++) {
         pthread_mutex_lock(&pt->lock);
         bool more = pt->ring_count > 0 && pt->fd == fd;
         pthread_mutex_unlock(&pt->lock);
         if (!more) {
            break;
         }
         flush_ring(pt, fd);
      }
   }
   return NULL;
}

/* ---- creation */

static void
port_close_backend(uart_port *pt)
{
   if (pt->thread_started) {
      pthread_mutex_lock(&pt->lock);
      pt->stop = true;
      pthread_mutex_unlock(&pt->lock);
      wake(pt);
      pthread_join(pt->thread, NULL);
      pt->thread_started = false;
   }
   if (pt->fd >= 0) {
      close(pt->fd);
      pt->fd = -1;
   }
   if (pt->listen_fd >= 0) {
      close(pt->listen_fd);
      pt->listen_fd = -1;
   }
   if (pt->unlink_socket) {
      unlink(pt->path);
      pt->unlink_socket = false;
   }
   if (pt->link_path) {
      unlink(pt->link_path);
      g_clear_pointer(&pt->link_path, g_free);
   }
   if (pt->wake_fd >= 0) {
      close(pt->wake_fd);
      pt->wake_fd = -1;
   }
}

static void
port_reset_regs(uart_port *pt)
{
   pt->ier = 0;
   pt->lcr = 0;
   pt->mcr = 0;
   pt->scr = 0;
   pt->fcr = 0;
   pt->dll = 0x0c;   /* 9600 baud */
   pt->dlm = 0;
   pt->lsr_err = 0;
   pt->msr &= 0xf0;
   pt->thr_ip = false;
   rx_clear(pt);
   pt->tx_count = 0;
   pt->tx_head = 0;
   update_msr_lines(pt);
   pt->msr &= 0xf0;
}

static bool
port_open(uart *u, uart_port *pt, const vmxcfg *cfg, char **err)
{
   char key[64], tkey[64], ekey[64];
   g_snprintf(key, sizeof key, "serial%u.fileName", pt->n);
   g_snprintf(tkey, sizeof tkey, "serial%u.fileType", pt->n);
   g_snprintf(ekey, sizeof ekey, "serial%u.pipe.endPoint", pt->n);
   const char *type = vmxcfg_get(cfg, tkey);
   const char *name = vmxcfg_get(cfg, key);
   const char *ep = vmxcfg_get(cfg, ekey);
   if (!type) {
      *err = g_strdup_printf("%s is missing: serial%u is present, so it needs file, pipe, "
                             "socket or pty", tkey, pt->n);
      return false;
   }
   if (!g_ascii_strcasecmp(type, "file")) {
      pt->kind = BK_FILE;
   } else if (!g_ascii_strcasecmp(type, "pipe")) {
      if (ep && g_ascii_strcasecmp(ep, "client") && g_ascii_strcasecmp(ep, "server")) {
         *err = g_strdup_printf("%s = \"%s\": must be client or server", ekey, ep);
         return false;
      }
      pt->kind = ep && !g_ascii_strcasecmp(ep, "server") ? BK_SERVER : BK_PIPE_CLIENT;
   } else if (!g_ascii_strcasecmp(type, "socket")) {
      pt->kind = BK_SERVER;
   } else if (!g_ascii_strcasecmp(type, "pty")) {
      pt->kind = BK_PTY;
   } else {
      *err = g_strdup_printf("%s = \"%s\": must be file, pipe, socket or pty", tkey, type);
      return false;
   }
   if (pt->kind != BK_PTY && (!name || !*name)) {
      *err = g_strdup_printf("%s is missing: serial%u.fileType = \"%s\" needs a path", key,
                             pt->n, type);
      return false;
   }
   pt->path = name && *name ? g_strdup(name) : NULL;
   pt->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
   if (pt->wake_fd < 0) {
      *err = g_strdup_printf("serial%u: eventfd: %s", pt->n, g_strerror(errno));
      return false;
   }
   switch (pt->kind) {
   case BK_FILE:
      /* Emptied when a run starts (power-on, revert); a resumed guest's
       * output goes on after what it wrote before the suspend. */
      pt->fd = open(pt->path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY |
                    (vmx_platform_continuing(u->p) ? O_APPEND : O_TRUNC), 0644);
      if (pt->fd < 0) {
         *err = g_strdup_printf("%s = \"%s\": cannot open it for writing: %s", key, pt->path,
                                g_strerror(errno));
         return false;
      }
      pt->connected = true;
      break;
   case BK_PIPE_CLIENT:
      pt->fd = try_connect(pt);
      pt->connected = pt->fd >= 0;
      if (!pt->connected) {
         pt->retry_at = mono_ns() + NS;
      }
      break;
   case BK_SERVER:
      if (!open_server(pt, key, err)) {
         return false;
      }
      break;
   case BK_PTY:
      if (!open_pty(pt, key, err)) {
         return false;
      }
      pt->connected = pty_open(pt->fd);
      if (!pt->connected) {
         pt->retry_at = mono_ns() + NS / 4;
      }
      break;
   }
   port_reset_regs(pt);
   static const char *const names[UART_PORTS] = { "COM1", "COM2", "COM3", "COM4" };
   const vmx_io_region r = { names[pt->n], uart_read, uart_write, pt };
   if (!vmx_platform_map_pio(u->p, pt->base, 8, &r, err)) {
      return false;
   }
   pt->mapped = true;
   int rc = pthread_create(&pt->thread, NULL, port_thread, pt);
   if (rc != 0) {
      *err = g_strdup_printf("serial%u: cannot start its I/O thread: %s", pt->n, g_strerror(rc));
      return false;
   }
   pt->thread_started = true;
   return true;
}

static void uart_destroy(void *dev);

static void *
uart_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   uart *u = g_new0(uart, 1);
   u->p = p;
   pthread_mutex_init(&u->irq_lock, NULL);
   for (unsigned i = 0; i < UART_PORTS; i++) {
      uart_port *pt = &u->port[i];
      pt->u = u;
      pt->n = i;
      pt->base = port_base[i];
      pt->irq = port_irq[i];
      pt->fd = pt->listen_fd = pt->wake_fd = -1;
      pthread_mutex_init(&pt->lock, NULL);
      pthread_cond_init(&pt->drained, NULL);
   }
   for (unsigned i = 0; i < UART_PORTS; i++) {
      char key[32];
      g_snprintf(key, sizeof key, "serial%u.present", i);
      bool present;
      if (!vmxcfg_get_bool(cfg, key, false, &present, err)) {
         uart_destroy(u);
         return NULL;
      }
      if (present) {
         u->port[i].present = true;
         if (!port_open(u, &u->port[i], cfg, err)) {
            uart_destroy(u);
            return NULL;
         }
      }
   }
   return u;
}

static void
uart_destroy(void *dev)
{
   uart *u = dev;
   for (unsigned i = 0; i < UART_PORTS; i++) {
      uart_port *pt = &u->port[i];
      port_close_backend(pt);
      if (pt->mapped) {
         vmx_platform_unmap_pio(u->p, pt->base, 8);
      }
      g_free(pt->path);
      g_free(pt->pty_path);
      pthread_mutex_destroy(&pt->lock);
      pthread_cond_destroy(&pt->drained);
   }
   pthread_mutex_destroy(&u->irq_lock);
   g_free(u);
}

static void
uart_reset(void *dev)
{
   uart *u = dev;
   for (unsigned i = 0; i < UART_PORTS; i++) {
      uart_port *pt = &u->port[i];
      if (!pt->present) {
         continue;
      }
      pthread_mutex_lock(&pt->lock);
      port_reset_regs(pt);
      update_irq(pt);
      maybe_wake_rx(pt);
      pthread_cond_broadcast(&pt->drained);
      pthread_mutex_unlock(&pt->lock);
   }
}

const char *
uart_pty_path(uart *u, unsigned n)
{
   return n < UART_PORTS && u->port[n].present ? u->port[n].pty_path : NULL;
}

bool
uart_flush(uart *u, unsigned n, unsigned timeout_ms)
{
   if (n >= UART_PORTS || !u->port[n].present) {
      return false;
   }
   uart_port *pt = &u->port[n];
   struct timespec ts;
   clock_gettime(CLOCK_REALTIME, &ts);
   int64_t t = (int64_t)ts.tv_sec * NS + ts.tv_nsec + (int64_t)timeout_ms * 1000000;
   ts.tv_sec = (time_t)(t / NS);
   ts.tv_nsec = (long)(t % NS);
   pthread_mutex_lock(&pt->lock);
   int rc = 0;
   while ((pt->ring_count || pt->tx_count) && pt->connected && rc == 0) {
      rc = pthread_cond_timedwait(&pt->drained, &pt->lock, &ts);
   }
   bool ok = pt->ring_count == 0 && pt->tx_count == 0;
   pthread_mutex_unlock(&pt->lock);
   return ok;
}

/* ---- checkpoint */

static void
port_tag(char *buf, size_t n, unsigned port, const char *what)
{
   g_snprintf(buf, n, "serial%u.%s", port, what);
}

static void
uart_save(void *dev, ckpt_writer *w)
{
   uart *u = dev;
   for (unsigned i = 0; i < UART_PORTS; i++) {
      uart_port *pt = &u->port[i];
      if (!pt->present) {
         continue;
      }
      char tag[48];
      pthread_mutex_lock(&pt->lock);
      uint8_t regs[9] = { pt->ier, pt->lcr, pt->mcr, pt->scr, pt->fcr,
                          pt->dll, pt->dlm, pt->lsr_err, pt->msr };
      port_tag(tag, sizeof tag, i, "regs");
      ckpt_put_bytes(w, tag, regs, sizeof regs);
      port_tag(tag, sizeof tag, i, "thr_ip");
      ckpt_put_u8(w, tag, pt->thr_ip);
      port_tag(tag, sizeof tag, i, "timeout_ip");
      ckpt_put_u8(w, tag, pt->timeout_ip);
      uint8_t rx[2 * FIFO_SIZE], tx[FIFO_SIZE];
      for (unsigned k = 0; k < pt->rx_count; k++) {
         uint16_t e = pt->rx[(pt->rx_head + k) % FIFO_SIZE];
         rx[2 * k] = (uint8_t)e;
         rx[2 * k + 1] = (uint8_t)(e >> 8);
      }
      for (unsigned k = 0; k < pt->tx_count; k++) {
         tx[k] = pt->tx[(pt->tx_head + k) % FIFO_SIZE];
      }
      port_tag(tag, sizeof tag, i, "rx");
      ckpt_put_bytes(w, tag, rx, 2 * pt->rx_count);
      port_tag(tag, sizeof tag, i, "tx");
      ckpt_put_bytes(w, tag, tx, pt->tx_count);
      pthread_mutex_unlock(&pt->lock);
   }
}

typedef struct staged_port {
   uint8_t regs[9];
   uint8_t thr_ip, timeout_ip;
   uint8_t rx[2 * FIFO_SIZE];
   size_t nrx;
   uint8_t tx[FIFO_SIZE];
   size_t ntx;
} staged_port;

static bool
stage_port(uart_port *pt, ckpt_reader *r, staged_port *s, char **err)
{
   char tag[48];
   pthread_mutex_lock(&pt->lock);
   uint8_t regs[9] = { pt->ier, pt->lcr, pt->mcr, pt->scr, pt->fcr,
                       pt->dll, pt->dlm, pt->lsr_err, pt->msr };
   memcpy(s->regs, regs, sizeof regs);
   s->thr_ip = pt->thr_ip;
   s->timeout_ip = pt->timeout_ip;
   s->nrx = pt->rx_count;
   for (unsigned k = 0; k < pt->rx_count; k++) {
      uint16_t e = pt->rx[(pt->rx_head + k) % FIFO_SIZE];
      s->rx[2 * k] = (uint8_t)e;
      s->rx[2 * k + 1] = (uint8_t)(e >> 8);
   }
   s->ntx = pt->tx_count;
   for (unsigned k = 0; k < pt->tx_count; k++) {
      s->tx[k] = pt->tx[(pt->tx_head + k) % FIFO_SIZE];
   }
   pthread_mutex_unlock(&pt->lock);
   port_tag(tag, sizeof tag, pt->n, "regs");
   ckpt_get_bytes(r, tag, s->regs, sizeof s->regs);
   port_tag(tag, sizeof tag, pt->n, "thr_ip");
   ckpt_get_u8(r, tag, &s->thr_ip);
   port_tag(tag, sizeof tag, pt->n, "timeout_ip");
   ckpt_get_u8(r, tag, &s->timeout_ip);
   port_tag(tag, sizeof tag, pt->n, "rx");
   size_t n;
   const uint8_t *b = ckpt_get_blob(r, tag, &n);
   if (b) {
      if (n > sizeof s->rx || (n & 1)) {
         *err = g_strdup_printf("checkpoint section uart: item '%s' has %zu bytes; the receive "
                                "FIFO holds at most %u characters of 2 bytes", tag, n, FIFO_SIZE);
         return false;
      }
      memcpy(s->rx, b, n);
      s->nrx = n / 2;
   }
   port_tag(tag, sizeof tag, pt->n, "tx");
   b = ckpt_get_blob(r, tag, &n);
   if (b) {
      if (n > sizeof s->tx) {
         *err = g_strdup_printf("checkpoint section uart: item '%s' has %zu bytes; the transmit "
                                "FIFO holds %u", tag, n, FIFO_SIZE);
         return false;
      }
      memcpy(s->tx, b, n);
      s->ntx = n;
   }
   if (ckpt_reader_error(r)) {
      return false;
   }
   const char *bad = NULL;
   uint8_t ier = s->regs[0], mcr = s->regs[2], fcr = s->regs[4], lsr = s->regs[7];
   size_t cap = (fcr & FCR_ENABLE) ? FIFO_SIZE : 1;
   if (ier & 0xf0) {
      bad = "IER has bits 4-7 set";
   } else if (mcr & ~MCR_MASK) {
      bad = "MCR has bits 5-7 set";
   } else if ((fcr & ~FCR_KEEP) || (!(fcr & FCR_ENABLE) && fcr)) {
      bad = "FCR is not a stored FIFO setting";
   } else if (lsr & ~LSR_ERRS) {
      bad = "LSR error bits other than OE, PE, FE, BI";
   } else if (s->nrx > cap || s->ntx > cap) {
      bad = "more characters in a FIFO than it holds";
   } else if (s->thr_ip > 1 || s->timeout_ip > 1) {
      bad = "an interrupt flag is not 0 or 1";
   }
   for (size_t k = 0; !bad && k < s->nrx; k++) {
      if (s->rx[2 * k + 1] & ~RX_FLAGS) {
         bad = "a received character has flags other than PE, FE, BI";
      }
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section uart: serial%u: %s", pt->n, bad);
      return false;
   }
   return true;
}

static void
apply_port(uart_port *pt, const staged_port *s)
{
   pthread_mutex_lock(&pt->lock);
   pt->ier = s->regs[0];
   pt->lcr = s->regs[1];
   pt->mcr = s->regs[2];
   pt->scr = s->regs[3];
   pt->fcr = s->regs[4];
   pt->dll = s->regs[5];
   pt->dlm = s->regs[6];
   pt->lsr_err = s->regs[7];
   pt->msr = s->regs[8];
   pt->thr_ip = s->thr_ip;
   pt->timeout_ip = s->timeout_ip;
   pt->rx_head = 0;
   pt->rx_count = (unsigned)s->nrx;
   for (size_t k = 0; k < s->nrx; k++) {
      pt->rx[k] = (uint16_t)(s->rx[2 * k] | s->rx[2 * k + 1] << 8);
   }
   pt->tx_head = 0;
   pt->tx_count = (unsigned)s->ntx;
   memcpy(pt->tx, s->tx, s->ntx);
   /* The lines now come from this host's backend; a difference shows up as
    * a change while the VM was away. */
   update_msr_lines(pt);
   pt->timeout_at = 0;
   arm_timeout(pt);
   tx_drain(pt);   /* a FIFO saved full goes out now */
   pt->rx_waiting = true;
   maybe_wake_rx(pt);
   update_irq(pt);
   pthread_mutex_unlock(&pt->lock);
}

static bool
uart_restore(void *dev, ckpt_reader *r, char **err)
{
   uart *u = dev;
   staged_port st[UART_PORTS];
   for (unsigned i = 0; i < UART_PORTS; i++) {
      if (u->port[i].present && !stage_port(&u->port[i], r, &st[i], err)) {
         return false;
      }
   }
   for (unsigned i = 0; i < UART_PORTS; i++) {
      if (u->port[i].present) {
         apply_port(&u->port[i], &st[i]);
      }
   }
   return true;
}

const vmx_device_desc vmx_dev_uart = {
   .name = "uart",
   .version = 1,
   .create = uart_create,
   .reset = uart_reset,
   .destroy = uart_destroy,
   .save = uart_save,
   .restore = uart_restore,
};
