/*
 * Tests of the 16550A UARTs: registers, FIFOs, interrupts, loopback, and
 * the file, socket, pipe and pty backends.
 */
#include "chipset-test.h"
#include "vmx/dev/chipset/uart.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static const vmx_device_desc *const table[] = { &vmx_dev_uart };

#define COM1 0x3f8
#define COM2 0x2f8
#define COM3 0x3e8
#define COM4 0x2e8

enum { RBR = 0, IER = 1, IIR = 2, FCR = 2, LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

static char *tmpdir;

static char *
tmp(const char *name)
{
   return g_build_filename(tmpdir, name, NULL);
}

static vmx_platform *
platform_with(const char *cfg, irq_rec *irq)
{
   return test_platform_ok(table, 1, cfg, irq);
}

static char *
file_cfg(unsigned n, const char *file)
{
   char *path = tmp(file);
   char *c = g_strdup_printf("serial%u.present = \"TRUE\"\nserial%u.fileType = \"file\"\n"
                             "serial%u.fileName = \"%s\"\n", n, n, n, path);
   g_free(path);
   return c;
}

static bool
wait_for(vmx_platform *p, uint16_t port, uint8_t mask, uint8_t want, unsigned ms)
{
   int64_t end = g_get_monotonic_time() + (int64_t)ms * 1000;
   do {
      if ((inb(p, port) & mask) == want) {
         return true;
      }
      g_usleep(1000);
   } while (g_get_monotonic_time() < end);
   return false;
}

static void
put(vmx_platform *p, uint16_t base, const char *s)
{
   for (; *s; s++) {
      g_assert_true(wait_for(p, base + LSR, 0x20, 0x20, 2000));
      outb(p, base + RBR, (uint8_t)*s);
   }
}

static char *
get(vmx_platform *p, uint16_t base, size_t n)
{
   char *s = g_malloc0(n + 1);
   for (size_t i = 0; i < n; i++) {
      g_assert_true(wait_for(p, base + LSR, 0x01, 0x01, 3000));
      s[i] = (char)inb(p, base + RBR);
   }
   return s;
}

static void
test_registers(void)
{
   char *cfg = file_cfg(0, "regs.txt");
   vmx_platform *p = platform_with(cfg, NULL);
   g_free(cfg);
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x60);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x01);
   g_assert_cmphex(inb(p, COM1 + IER), ==, 0x00);
   g_assert_cmphex(inb(p, COM1 + MCR), ==, 0x00);
   g_assert_cmphex(inb(p, COM1 + LCR), ==, 0x00);
   /* Connected file backend: DCD, DSR, CTS up, no deltas after reset. */
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0xb0);
   outb(p, COM1 + SCR, 0x5a);
   g_assert_cmphex(inb(p, COM1 + SCR), ==, 0x5a);
   /* Divisor latch. */
   outb(p, COM1 + LCR, 0x80);
   g_assert_cmphex(inb(p, COM1 + RBR), ==, 0x0c);
   outb(p, COM1 + RBR, 0x01);
   outb(p, COM1 + IER, 0x02);
   g_assert_cmphex(inb(p, COM1 + RBR), ==, 0x01);
   g_assert_cmphex(inb(p, COM1 + IER), ==, 0x02);
   outb(p, COM1 + LCR, 0x03);
   g_assert_cmphex(inb(p, COM1 + LCR), ==, 0x03);
   g_assert_cmphex(inb(p, COM1 + IER), ==, 0x00);
   outb(p, COM1 + IER, 0xff);
   g_assert_cmphex(inb(p, COM1 + IER), ==, 0x0f);
   outb(p, COM1 + IER, 0);
   outb(p, COM1 + MCR, 0xff);
   g_assert_cmphex(inb(p, COM1 + MCR), ==, 0x1f);
   outb(p, COM1 + MCR, 0);
   /* FIFOs on: IIR bits 7-6. */
   outb(p, COM1 + FCR, 0xc7);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0xc1);
   outb(p, COM1 + FCR, 0x00);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x01);
   /* Only byte accesses. */
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, COM1, 2), ==, 0xffff);
   /* Unclaimed ports of absent UARTs. */
   g_assert_cmphex(inb(p, COM2 + LSR), ==, 0xff);
   /* Reset. */
   outb(p, COM1 + LCR, 0x83);
   outb(p, COM1 + RBR, 0x03);
   vmx_platform_reset(p);
   g_assert_cmphex(inb(p, COM1 + LCR), ==, 0x00);
   g_assert_cmphex(inb(p, COM1 + SCR), ==, 0x00);
   outb(p, COM1 + LCR, 0x80);
   g_assert_cmphex(inb(p, COM1 + RBR), ==, 0x0c);
   vmx_platform_free(p);
}

static void
test_file_output(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   char *cfg = file_cfg(0, "out.txt");
   vmx_platform *p = platform_with(cfg, &irq);
   g_free(cfg);
   put(p, COM1, "hello, world\n");
   g_assert_true(uart_flush(uart_get(p), 0, 2000));
   char *path = tmp("out.txt"), *text = NULL;
   g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
   g_assert_cmpstr(text, ==, "hello, world\n");
   g_free(text);
   /* THRE interrupt: pending in IIR; reaches IRQ 4 only with OUT2. */
   outb(p, COM1 + IER, 0x02);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x02);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x01);   /* reading IIR cleared it */
   g_assert_false(irq_level(&irq, 4));
   outb(p, COM1 + MCR, 0x08);
   outb(p, COM1 + RBR, 'x');
   g_assert_true(irq_wait(&irq, 4, true, 2000));
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x02);
   g_assert_false(irq_level(&irq, 4));
   /* Re-enabling ETBEI with THR empty raises it again. */
   outb(p, COM1 + IER, 0x00);
   outb(p, COM1 + IER, 0x02);
   g_assert_true(irq_level(&irq, 4));
   outb(p, COM1 + IER, 0x00);
   g_assert_false(irq_level(&irq, 4));
   /* A big burst through the FIFO arrives whole and in order. */
   outb(p, COM1 + FCR, 0x07);
   GString *want = g_string_new(NULL);
   for (unsigned i = 0; i < 3000; i++) {
      g_string_append_c(want, (char)('a' + i % 26));
   }
   for (unsigned i = 0; i < want->len; i++) {
      g_assert_true(wait_for(p, COM1 + LSR, 0x20, 0x20, 2000));
      outb(p, COM1 + RBR, (uint8_t)want->str[i]);
   }
   g_assert_true(uart_flush(uart_get(p), 0, 2000));
   g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
   g_assert_cmpuint(strlen(text), ==, 14 + want->len);
   g_assert_cmpstr(text + 14, ==, want->str);
   g_free(text);
   g_string_free(want, TRUE);
   g_free(path);
   vmx_platform_free(p);
}

static void
test_loopback(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   char *cfg = file_cfg(0, "loop.txt");
   vmx_platform *p = platform_with(cfg, &irq);
   g_free(cfg);
   /* 115200 baud: the character timeout is 4 * 87 us. */
   outb(p, COM1 + LCR, 0x80);
   outb(p, COM1 + RBR, 0x01);
   outb(p, COM1 + LCR, 0x03);
   outb(p, COM1 + FCR, 0x47);   /* FIFOs, trigger 4 */
   outb(p, COM1 + MCR, 0x10 | 0x08);
   outb(p, COM1 + IER, 0x05);
   outb(p, COM1 + RBR, 'a');
   outb(p, COM1 + RBR, 'b');
   outb(p, COM1 + RBR, 'c');
   g_assert_cmphex(inb(p, COM1 + LSR) & 0x01, ==, 0x01);
   /* Below the trigger: the character timeout comes. */
   g_assert_true(wait_for(p, COM1 + IIR, 0xff, 0xcc, 1000));
   /* In loopback the interrupt does not leave the chip. */
   g_assert_false(irq_level(&irq, 4));
   outb(p, COM1 + RBR, 'd');
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0xc4);
   char *s = get(p, COM1, 4);
   g_assert_cmpstr(s, ==, "abcd");
   g_free(s);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0xc1);
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x60);
   /* Loopback sends nothing to the file. */
   g_assert_true(uart_flush(uart_get(p), 0, 1000));
   char *path = tmp("loop.txt"), *text = NULL;
   g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
   g_assert_cmpstr(text, ==, "");
   g_free(text);
   g_free(path);
   /* Overrun: 17 characters into a 16-byte FIFO. */
   for (unsigned i = 0; i < 17; i++) {
      outb(p, COM1 + RBR, (uint8_t)('A' + i));
   }
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0xc6);   /* line status first */
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x63);
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x61);   /* OE cleared by reading */
   s = get(p, COM1, 16);
   g_assert_cmpstr(s, ==, "ABCDEFGHIJKLMNOP");
   g_free(s);
   /* Break: a 0 with BI and FE; FIFO error bit while it is inside. */
   outb(p, COM1 + RBR, 'z');
   outb(p, COM1 + LCR, 0x43);
   outb(p, COM1 + LCR, 0x03);
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0xe1);
   g_assert_cmphex(inb(p, COM1 + RBR), ==, 'z');
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0xf9);   /* BI, FE of the 0 at the top */
   g_assert_cmphex(inb(p, COM1 + RBR), ==, 0);
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x60);
   /* Without FIFOs the holding register is overwritten. */
   outb(p, COM1 + FCR, 0x00);
   outb(p, COM1 + RBR, '1');
   outb(p, COM1 + RBR, '2');
   g_assert_cmphex(inb(p, COM1 + LSR), ==, 0x63);
   g_assert_cmphex(inb(p, COM1 + RBR), ==, '2');
   /* Modem lines from MCR. */
   inb(p, COM1 + MSR);
   outb(p, COM1 + MCR, 0x10 | 0x03);
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0x3b);   /* CTS, DSR up; DCD down */
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0x30);
   outb(p, COM1 + MCR, 0x10 | 0x04);
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0x43);
   outb(p, COM1 + MCR, 0x10 | 0x08);
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0x8c);   /* RI trailing edge, DCD */
   outb(p, COM1 + IER, 0x08);
   outb(p, COM1 + MCR, 0x10);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x00);   /* modem status */
   inb(p, COM1 + MSR);
   g_assert_cmphex(inb(p, COM1 + IIR), ==, 0x01);
   /* Leaving loopback: lines from the file backend again. */
   outb(p, COM1 + MCR, 0x00);
   g_assert_cmphex(inb(p, COM1 + MSR), ==, 0xbb);
   vmx_platform_free(p);
}

static int
unix_connect(const char *path)
{
   int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   struct sockaddr_un a = { .sun_family = AF_UNIX };
   g_strlcpy(a.sun_path, path, sizeof a.sun_path);
   for (unsigned i = 0; i < 100; i++) {
      if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
         return fd;
      }
      g_usleep(10000);
   }
   g_error("cannot connect to %s: %s", path, g_strerror(errno));
}

static void
read_exact(int fd, char *buf, size_t n)
{
   size_t got = 0;
   while (got < n) {
      struct pollfd pf = { fd, POLLIN, 0 };
      g_assert_cmpint(poll(&pf, 1, 3000), ==, 1);
      ssize_t r = read(fd, buf + got, n - got);
      g_assert_cmpint(r, >, 0);
      got += (size_t)r;
   }
}

static void
test_socket(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   char *path = tmp("com2.sock");
   char *cfg = g_strdup_printf("serial1.present = \"TRUE\"\nserial1.fileType = \"socket\"\n"
                               "serial1.fileName = \"%s\"\n", path);
   vmx_platform *p = platform_with(cfg, &irq);
   g_free(cfg);
   /* No client: lines down, output discarded without stalling. */
   g_assert_cmphex(inb(p, COM2 + MSR), ==, 0x00);
   put(p, COM2, "lost");
   g_assert_cmphex(inb(p, COM2 + LSR), ==, 0x60);
   outb(p, COM2 + MCR, 0x08);
   outb(p, COM2 + IER, 0x09);   /* received data, modem status */
   int c = unix_connect(path);
   g_assert_true(irq_wait(&irq, 3, true, 3000));
   g_assert_cmphex(inb(p, COM2 + IIR), ==, 0x00);
   g_assert_cmphex(inb(p, COM2 + MSR), ==, 0xbb);
   g_assert_false(irq_level(&irq, 3));
   /* Host to guest, more than the FIFO holds: nothing lost. */
   outb(p, COM2 + FCR, 0x01);
   GString *big = g_string_new(NULL);
   for (unsigned i = 0; i < 200; i++) {
      g_string_append_c(big, (char)('0' + i % 10));
   }
   g_assert_cmpint(write(c, big->str, big->len), ==, (ssize_t)big->len);
   g_assert_true(irq_wait(&irq, 3, true, 3000));
   char *s = get(p, COM2, big->len);
   g_assert_cmpstr(s, ==, big->str);
   g_assert_cmphex(inb(p, COM2 + LSR) & 0x02, ==, 0);
   g_free(s);
   g_string_free(big, TRUE);
   /* Guest to host. */
   put(p, COM2, "xyz");
   char buf[4] = { 0 };
   read_exact(c, buf, 3);
   g_assert_cmpstr(buf, ==, "xyz");
   /* Hang-up: DCD, DSR, CTS drop with deltas. */
   close(c);
   g_assert_true(wait_for(p, COM2 + MSR, 0xff, 0x0b, 3000));
   /* A second client is accepted. */
   c = unix_connect(path);
   g_assert_true(wait_for(p, COM2 + MSR, 0xf0, 0xb0, 3000));
   put(p, COM2, "again");
   char buf2[6] = { 0 };
   read_exact(c, buf2, 5);
   g_assert_cmpstr(buf2, ==, "again");
   vmx_platform_free(p);
   close(c);
   /* The socket file is removed with the device. */
   g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
   g_free(path);
}

static void
test_pipe_client(void)
{
   char *path = tmp("pipe.sock");
   int l = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
   struct sockaddr_un a = { .sun_family = AF_UNIX };
   g_strlcpy(a.sun_path, path, sizeof a.sun_path);
   g_assert_cmpint(bind(l, (struct sockaddr *)&a, sizeof a), ==, 0);
   g_assert_cmpint(listen(l, 1), ==, 0);
   char *cfg = g_strdup_printf("serial2.present = \"TRUE\"\nserial2.fileType = \"pipe\"\n"
                               "serial2.fileName = \"%s\"\n", path);
   vmx_platform *p = platform_with(cfg, NULL);
   g_free(cfg);
   int c = accept(l, NULL, NULL);
   g_assert_cmpint(c, >=, 0);
   g_assert_true(wait_for(p, COM3 + MSR, 0xf0, 0xb0, 3000));
   put(p, COM3, "to host");
   char buf[8] = { 0 };
   read_exact(c, buf, 7);
   g_assert_cmpstr(buf, ==, "to host");
   g_assert_cmpint(write(c, "to guest", 8), ==, 8);
   char *s = get(p, COM3, 8);
   g_assert_cmpstr(s, ==, "to guest");
   g_free(s);
   /* The server goes away and comes back: the port reconnects. */
   close(c);
   g_assert_true(wait_for(p, COM3 + MSR, 0x80, 0x00, 3000));
   c = accept(l, NULL, NULL);
   g_assert_cmpint(c, >=, 0);
   g_assert_true(wait_for(p, COM3 + MSR, 0x80, 0x80, 3000));
   put(p, COM3, "back");
   char buf2[5] = { 0 };
   read_exact(c, buf2, 4);
   g_assert_cmpstr(buf2, ==, "back");
   vmx_platform_free(p);
   close(c);
   close(l);
   unlink(path);
   g_free(path);
}

static void
test_pty(void)
{
   char *link = tmp("ttyS3");
   char *cfg = g_strdup_printf("serial3.present = \"TRUE\"\nserial3.fileType = \"pty\"\n"
                               "serial3.fileName = \"%s\"\n", link);
   vmx_platform *p = platform_with(cfg, NULL);
   g_free(cfg);
   const char *pty = uart_pty_path(uart_get(p), 3);
   g_assert_nonnull(pty);
   g_assert_true(g_str_has_prefix(pty, "/dev/pts/"));
   g_assert_null(uart_pty_path(uart_get(p), 0));
   char *target = g_file_read_link(link, NULL);
   g_assert_cmpstr(target, ==, pty);
   g_free(target);
   /* Nobody on the terminal: lines down, output discarded. */
   g_assert_cmphex(inb(p, COM4 + MSR) & 0xf0, ==, 0);
   put(p, COM4, "nobody");
   int s = open(link, O_RDWR | O_NOCTTY);
   g_assert_cmpint(s, >=, 0);
   g_assert_true(wait_for(p, COM4 + MSR, 0xf0, 0xb0, 3000));
   put(p, COM4, "ping\n");
   char buf[6] = { 0 };
   read_exact(s, buf, 5);
   g_assert_cmpstr(buf, ==, "ping\n");   /* raw: no CR added */
   g_assert_cmpint(write(s, "pong\n", 5), ==, 5);
   char *in = get(p, COM4, 5);
   g_assert_cmpstr(in, ==, "pong\n");
   g_free(in);
   close(s);
   g_assert_true(wait_for(p, COM4 + MSR, 0x80, 0x00, 3000));
   vmx_platform_free(p);
   g_assert_false(g_file_test(link, G_FILE_TEST_IS_SYMLINK));
   g_free(link);
}

static void
test_shared_irq(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   char *c0 = file_cfg(0, "shared0.txt"), *c2 = file_cfg(2, "shared2.txt");
   char *cfg = g_strconcat(c0, c2, NULL);
   vmx_platform *p = platform_with(cfg, &irq);
   g_free(c0);
   g_free(c2);
   g_free(cfg);
   outb(p, COM1 + MCR, 0x08);
   outb(p, COM3 + MCR, 0x08);
   outb(p, COM1 + IER, 0x02);
   outb(p, COM3 + IER, 0x02);
   g_assert_true(irq_level(&irq, 4));
   inb(p, COM1 + IIR);
   g_assert_true(irq_level(&irq, 4));
   inb(p, COM3 + IIR);
   g_assert_false(irq_level(&irq, 4));
   g_assert_false(irq_level(&irq, 3));
   vmx_platform_free(p);
}

static void
expect_error(const char *cfg, const char *want)
{
   char *err = NULL;
   g_assert_null(test_platform(table, 1, cfg, NULL, &err));
   g_assert_nonnull(err);
   if (!strstr(err, want)) {
      g_error("error \"%s\" does not mention \"%s\"", err, want);
   }
   g_free(err);
}

static void
test_config_errors(void)
{
   expect_error("serial0.present = \"TRUE\"\n", "serial0.fileType");
   expect_error("serial1.present = \"TRUE\"\nserial1.fileType = \"tcp\"\n", "serial1.fileType");
   expect_error("serial2.present = \"TRUE\"\nserial2.fileType = \"file\"\n", "serial2.fileName");
   expect_error("serial0.present = \"sometimes\"\n", "serial0.present");
   expect_error("serial0.present = \"TRUE\"\nserial0.fileType = \"file\"\n"
                "serial0.fileName = \"/nonexistent/dir/out.txt\"\n", "serial0.fileName");
   expect_error("serial0.present = \"TRUE\"\nserial0.fileType = \"pipe\"\n"
                "serial0.fileName = \"/tmp/x\"\nserial0.pipe.endPoint = \"both\"\n",
                "serial0.pipe.endPoint");
   char *reg = tmp("regular");
   g_assert_true(g_file_set_contents(reg, "x", 1, NULL));
   char *cfg = g_strdup_printf("serial3.present = \"TRUE\"\nserial3.fileType = \"socket\"\n"
                               "serial3.fileName = \"%s\"\n", reg);
   expect_error(cfg, "not a socket");
   g_free(cfg);
   cfg = g_strdup_printf("serial3.present = \"TRUE\"\nserial3.fileType = \"pty\"\n"
                         "serial3.fileName = \"%s\"\n", reg);
   expect_error(cfg, "not a symbolic link");
   g_free(cfg);
   g_free(reg);
   GString *longp = g_string_new("/tmp/");
   for (unsigned i = 0; i < 120; i++) {
      g_string_append_c(longp, 'x');
   }
   cfg = g_strdup_printf("serial0.present = \"TRUE\"\nserial0.fileType = \"socket\"\n"
                         "serial0.fileName = \"%s\"\n", longp->str);
   expect_error(cfg, "shorter than");
   g_free(cfg);
   g_string_free(longp, TRUE);
   /* A failed later port undoes the earlier ones (no leaked threads or
    * claimed ports): a fresh platform can take COM1 again. */
   char *ok = file_cfg(0, "undo.txt");
   cfg = g_strconcat(ok, "serial1.present = \"TRUE\"\n", NULL);
   expect_error(cfg, "serial1.fileType");
   g_free(cfg);
   vmx_platform *p = platform_with(ok, NULL);
   g_free(ok);
   vmx_platform_free(p);
}

static void
state_loopback(vmx_platform *p)
{
   outb(p, COM1 + LCR, 0x80);
   outb(p, COM1 + RBR, 0x02);
   outb(p, COM1 + IER, 0x00);
   outb(p, COM1 + LCR, 0x1b);
   outb(p, COM1 + FCR, 0x81);   /* FIFOs, trigger 8 */
   outb(p, COM1 + MCR, 0x10 | 0x0b);
   outb(p, COM1 + IER, 0x0d);
   outb(p, COM1 + SCR, 0x42);
   outb(p, COM1 + RBR, 'r');
   outb(p, COM1 + RBR, 's');
   outb(p, COM1 + LCR, 0x5b);   /* break: 0 with BI, FE */
   outb(p, COM1 + LCR, 0x1b);
   outb(p, COM1 + RBR, 't');
   g_usleep(50000);              /* let the character timeout happen */
}

static void
test_save_restore(void)
{
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   char *ca = file_cfg(0, "sa.txt"), *cb = file_cfg(0, "sb.txt");
   vmx_platform *a = platform_with(ca, &ia);
   vmx_platform *b = platform_with(cb, &ib);
   state_loopback(a);
   g_assert_cmphex(inb(a, COM1 + IIR), ==, 0xcc);
   assert_roundtrip(a, b);
   g_assert_cmphex(inb(b, COM1 + SCR), ==, 0x42);
   g_assert_cmphex(inb(b, COM1 + IIR), ==, 0xcc);
   g_assert_cmphex(inb(b, COM1 + LSR), ==, 0xe1);
   char *s = get(b, COM1, 2);
   g_assert_cmpstr(s, ==, "rs");
   g_free(s);
   g_assert_cmphex(inb(b, COM1 + LSR), ==, 0xf9);
   g_assert_cmphex(inb(b, COM1 + RBR), ==, 0);
   g_assert_cmphex(inb(b, COM1 + RBR), ==, 't');
   outb(b, COM1 + LCR, 0x9b);
   g_assert_cmphex(inb(b, COM1 + RBR), ==, 0x02);
   outb(b, COM1 + LCR, 0x1b);

   /* Refused: each bad item names the port and what is wrong. */
   ckpt_writer *w = ckpt_writer_new("uart", 1);
   uint8_t rx[3] = { 1, 0, 2 };
   ckpt_put_bytes(w, "serial0.rx", rx, 3);
   assert_restore_refused(b, w, "serial0.rx");
   w = ckpt_writer_new("uart", 1);
   uint8_t big[34] = { 0 };
   ckpt_put_bytes(w, "serial0.rx", big, 34);
   assert_restore_refused(b, w, "serial0.rx");
   w = ckpt_writer_new("uart", 1);
   uint8_t badflag[2] = { 'x', 0x01 };
   ckpt_put_bytes(w, "serial0.rx", badflag, 2);
   assert_restore_refused(b, w, "flags");
   uint8_t regs[9] = { 0x00, 0x03, 0x00, 0, 0x01, 0x0c, 0, 0, 0xb0 };
   w = ckpt_writer_new("uart", 1);
   regs[0] = 0x10;
   ckpt_put_bytes(w, "serial0.regs", regs, 9);
   assert_restore_refused(b, w, "IER");
   regs[0] = 0;
   w = ckpt_writer_new("uart", 1);
   regs[2] = 0x20;
   ckpt_put_bytes(w, "serial0.regs", regs, 9);
   assert_restore_refused(b, w, "MCR");
   regs[2] = 0;
   w = ckpt_writer_new("uart", 1);
   regs[4] = 0x06;
   ckpt_put_bytes(w, "serial0.regs", regs, 9);
   assert_restore_refused(b, w, "FCR");
   regs[4] = 0x00;
   w = ckpt_writer_new("uart", 1);
   ckpt_put_bytes(w, "serial0.regs", regs, 9);
   ckpt_put_bytes(w, "serial0.rx", big, 4);   /* 2 characters without FIFOs */
   assert_restore_refused(b, w, "FIFO");
   w = ckpt_writer_new("uart", 1);
   regs[7] = 0x01;
   ckpt_put_bytes(w, "serial0.regs", regs, 9);
   assert_restore_refused(b, w, "LSR");
   w = ckpt_writer_new("uart", 1);
   ckpt_put_u8(w, "serial0.thr_ip", 2);
   assert_restore_refused(b, w, "interrupt flag");
   w = ckpt_writer_new("uart", 1);
   ckpt_put_u32(w, "serial0.timeout_ip", 1);
   assert_restore_refused(b, w, "serial0.timeout_ip");
   w = ckpt_writer_new("uart", 1);
   ckpt_put_bytes(w, "serial0.regs", regs, 8);
   assert_restore_refused(b, w, "serial0.regs");
   g_free(ca);
   g_free(cb);
   vmx_platform_free(a);
   vmx_platform_free(b);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   tmpdir = g_dir_make_tmp("vmws-uart-XXXXXX", NULL);
   g_assert_nonnull(tmpdir);
   g_test_add_func("/uart/registers", test_registers);
   g_test_add_func("/uart/file-output", test_file_output);
   g_test_add_func("/uart/loopback", test_loopback);
   g_test_add_func("/uart/socket", test_socket);
   g_test_add_func("/uart/pipe-client", test_pipe_client);
   g_test_add_func("/uart/pty", test_pty);
   g_test_add_func("/uart/shared-irq", test_shared_irq);
   g_test_add_func("/uart/config-errors", test_config_errors);
   g_test_add_func("/uart/save-restore", test_save_restore);
   int rc = g_test_run();
   GDir *d = g_dir_open(tmpdir, 0, NULL);
   const char *n;
   while (d && (n = g_dir_read_name(d))) {
      char *f = g_build_filename(tmpdir, n, NULL);
      g_unlink(f);
      g_free(f);
   }
   if (d) {
      g_dir_close(d);
   }
   g_rmdir(tmpdir);
   g_free(tmpdir);
   return rc;
}
