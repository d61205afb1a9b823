/*
 * Tests of the 8042 keyboard controller, with scripted fake devices on its
 * two ports.
 */
#include "kbc-test.h"
#include "vmx/dev/chipset/i8042.h"

static const vmx_device_desc *const table[] = { &vmx_dev_i8042 };

typedef struct fake {
   pthread_mutex_t lock;
   uint8_t out[64];
   unsigned head, n;
   uint8_t got[64];
   unsigned ngot;
} fake;

static int
fake_pull(void *d)
{
   fake *f = d;
   pthread_mutex_lock(&f->lock);
   int b = -1;
   if (f->n) {
      b = f->out[f->head++];
      f->n--;
   }
   pthread_mutex_unlock(&f->lock);
   return b;
}

static void
fake_write(void *d, uint8_t b)
{
   fake *f = d;
   pthread_mutex_lock(&f->lock);
   g_assert_cmpuint(f->ngot, <, sizeof f->got);
   f->got[f->ngot++] = b;
   /* Answer like a device: ACK. */
   f->out[f->head + f->n++] = 0xfa;
   pthread_mutex_unlock(&f->lock);
}

static const i8042_port_ops fake_ops = { fake_pull, fake_write };

static void
fake_init(fake *f)
{
   memset(f, 0, sizeof *f);
   pthread_mutex_init(&f->lock, NULL);
}

static void
fake_send(vmx_platform *p, fake *f, const uint8_t *b, unsigned n)
{
   pthread_mutex_lock(&f->lock);
   for (unsigned i = 0; i < n; i++) {
      f->out[f->head + f->n++] = b[i];
   }
   pthread_mutex_unlock(&f->lock);
   i8042_data_ready(i8042_get(p));
}

static vmx_platform *
setup(irq_rec *irq, fake *kbd, fake *aux)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, irq);
   char *err = NULL;
   if (kbd) {
      fake_init(kbd);
      g_assert_true(i8042_attach(i8042_get(p), I8042_KBD, &fake_ops, kbd, &err));
   }
   if (aux) {
      fake_init(aux);
      g_assert_true(i8042_attach(i8042_get(p), I8042_AUX, &fake_ops, aux, &err));
   }
   return p;
}

static void
test_power_on_and_commands(void)
{
   fake k, a;
   vmx_platform *p = setup(NULL, &k, &a);
   g_assert_cmphex(inb(p, KBC_CMD), ==, 0x14);   /* SYS, not inhibited */
   g_assert_cmphex(kbc_ctr(p), ==, 0x47);
   kbc_cmd(p, 0x20);
   g_assert_cmphex(inb(p, KBC_CMD), ==, 0x1d);   /* OBF, A2 after a command */
   g_assert_cmphex(inb(p, KBC_DATA), ==, 0x47);
   /* RAM bytes. */
   kbc_cmd_data(p, 0x65, 0x99);
   kbc_cmd(p, 0x25);
   KBC_EXPECT(p, 0x99);
   /* Command byte and the SYS flag. */
   kbc_cmd_data(p, 0x60, 0x41);
   g_assert_cmphex(inb(p, KBC_CMD) & 0x04, ==, 0);
   g_assert_cmphex(kbc_ctr(p), ==, 0x41);
   kbc_cmd(p, 0xaa);
   KBC_EXPECT(p, 0x55);
   g_assert_cmphex(inb(p, KBC_CMD) & 0x04, ==, 0x04);
   kbc_cmd(p, 0xab);
   KBC_EXPECT(p, 0x00);
   kbc_cmd(p, 0xa9);
   KBC_EXPECT(p, 0x00);
   kbc_cmd(p, 0xa4);
   KBC_EXPECT(p, 0xf1);
   kbc_cmd(p, 0xe0);
   KBC_EXPECT(p, 0x00);
   kbc_cmd(p, 0xc0);
   KBC_EXPECT(p, 0xa0);
   /* Interface enables. */
   kbc_cmd_data(p, 0x60, 0x47);
   kbc_cmd(p, 0xad);
   g_assert_cmphex(kbc_ctr(p), ==, 0x57);
   kbc_cmd(p, 0xa7);
   g_assert_cmphex(kbc_ctr(p), ==, 0x77);
   kbc_cmd(p, 0xae);
   kbc_cmd(p, 0xa8);
   g_assert_cmphex(kbc_ctr(p), ==, 0x47);
   /* Several answers queue up in order. */
   kbc_cmd(p, 0x20);
   kbc_cmd(p, 0xaa);
   kbc_cmd(p, 0xa4);
   KBC_EXPECT(p, 0x47, 0x55, 0xf1);
   /* An unknown command answers nothing. */
   kbc_cmd(p, 0xc8);
   KBC_EXPECT_NONE(p);
   /* Reading an empty buffer gives its last byte again. */
   g_assert_cmphex(inb(p, KBC_DATA), ==, 0xf1);
   /* Only byte accesses. */
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, KBC_CMD, 2), ==, 0xffff);
   vmx_platform_free(p);
}

static void
test_output_buffer_and_irqs(void)
{
   irq_rec irq;
   irq_rec_init(&irq);
   fake k, a;
   vmx_platform *p = setup(&irq, &k, &a);
   /* 0xd2: as keyboard data, IRQ 1. */
   kbc_cmd_data(p, 0xd2, 0x12);
   g_assert_true(irq_level(&irq, 1));
   g_assert_false(irq_level(&irq, 12));
   g_assert_cmphex(inb(p, KBC_CMD) & 0x21, ==, 0x01);
   g_assert_cmphex(inb(p, KBC_DATA), ==, 0x12);
   g_assert_false(irq_level(&irq, 1));
   /* 0xd3: as mouse data, AUXB, IRQ 12. */
   kbc_cmd_data(p, 0xd3, 0x34);
   g_assert_true(irq_level(&irq, 12));
   g_assert_cmphex(inb(p, KBC_CMD) & 0x21, ==, 0x21);
   g_assert_cmphex(inb(p, KBC_DATA), ==, 0x34);
   g_assert_false(irq_level(&irq, 12));
   /* Interrupts off in the command byte: data, no IRQ. */
   kbc_cmd_data(p, 0x60, 0x44);
   kbc_cmd_data(p, 0xd2, 0x56);
   g_assert_false(irq_level(&irq, 1));
   g_assert_cmphex(inb(p, KBC_DATA), ==, 0x56);
   kbc_cmd_data(p, 0x60, 0x47);
   /* Bytes to the devices: 0x60 to the keyboard, 0xd4 to the mouse. */
   outb(p, KBC_DATA, 0xf4);
   g_assert_cmpuint(k.ngot, ==, 1);
   g_assert_cmphex(k.got[0], ==, 0xf4);
   bool aux = false;
   g_assert_cmpint(kbc_get(p, &aux), ==, 0xfa);
   g_assert_false(aux);
   kbc_cmd_data(p, 0xd4, 0xf2);
   g_assert_cmpuint(a.ngot, ==, 1);
   g_assert_cmphex(a.got[0], ==, 0xf2);
   g_assert_cmpint(kbc_get(p, &aux), ==, 0xfa);
   g_assert_true(aux);
   /* Writing to the keyboard enables its interface. */
   kbc_cmd(p, 0xad);
   outb(p, KBC_DATA, 0xee);
   KBC_EXPECT(p, 0xfa);
   g_assert_cmphex(kbc_ctr(p) & 0x10, ==, 0);
   /* Disabled interfaces hold their device's data back. */
   kbc_cmd(p, 0xad);
   kbc_cmd(p, 0xa7);
   const uint8_t kb[] = { 0x1c, 0xf0, 0x1c }, ms[] = { 0x08, 0x01, 0x02 };
   fake_send(p, &k, kb, 3);
   fake_send(p, &a, ms, 3);
   KBC_EXPECT_NONE(p);
   /* Mouse first. */
   kbc_cmd(p, 0xa8);
   g_assert_true(irq_level(&irq, 12));
   KBC_EXPECT(p, 0x08, 0x01, 0x02);
   /* Keyboard, translated (command byte bit 6): 1c f0 1c -> 1e 9e. */
   kbc_cmd(p, 0xae);
   g_assert_true(irq_level(&irq, 1));
   KBC_EXPECT(p, 0x1e, 0x9e);
   g_assert_false(irq_level(&irq, 1));
   /* Untranslated. */
   kbc_cmd_data(p, 0x60, 0x07);
   fake_send(p, &k, kb, 3);
   KBC_EXPECT(p, 0x1c, 0xf0, 0x1c);
   /* Translation of prefixes, IDs and set numbers. */
   kbc_cmd_data(p, 0x60, 0x47);
   const uint8_t seq[] = { 0xe0, 0xf0, 0x75, 0xab, 0x83, 0x01, 0x02, 0x03, 0x00, 0xfa, 0xaa };
   fake_send(p, &k, seq, sizeof seq);
   KBC_EXPECT(p, 0xe0, 0xc8, 0xab, 0x41, 0x43, 0x41, 0x3f, 0xff, 0xfa, 0xaa);
   vmx_platform_free(p);
}

static void
test_a20_and_reset(void)
{
   fake k;
   vmx_platform *p = setup(NULL, &k, NULL);
   i8042 *c = i8042_get(p);
   char *why = NULL;
   g_assert_true(i8042_a20(c));
   kbc_cmd(p, 0xd0);
   KBC_EXPECT(p, 0xcf);
   kbc_cmd_data(p, 0xd1, 0xcd);   /* A20 off, no reset */
   g_assert_false(i8042_a20(c));
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_NONE);
   kbc_cmd(p, 0xd0);
   KBC_EXPECT(p, 0xcd);
   kbc_cmd(p, 0xdf);
   g_assert_true(i8042_a20(c));
   kbc_cmd(p, 0xdd);
   g_assert_false(i8042_a20(c));
   /* Output port bit 0 low: reset. */
   kbc_cmd_data(p, 0xd1, 0xce);
   g_assert_cmpint(vmx_platform_take_request(p, &why), ==, VMX_REQ_RESET);
   g_assert_nonnull(strstr(why, "keyboard controller"));
   g_free(why);
   /* Pulse commands: 0xfe resets, 0xff and odd ones do not. */
   kbc_cmd(p, 0xff);
   kbc_cmd(p, 0xfd);
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_NONE);
   kbc_cmd(p, 0xfe);
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_RESET);
   kbc_cmd(p, 0xf0);
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_RESET);
   /* Port 0x92. */
   g_assert_cmphex(inb(p, 0x92), ==, 0x00);
   outb(p, 0x92, 0x02);
   g_assert_true(i8042_a20(c));
   g_assert_cmphex(inb(p, 0x92), ==, 0x02);
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_NONE);
   outb(p, 0x92, 0xff);
   g_assert_cmpint(vmx_platform_take_request(p, &why), ==, VMX_REQ_RESET);
   g_assert_nonnull(strstr(why, "0x92"));
   g_free(why);
   g_assert_cmphex(inb(p, 0x92), ==, 0x03);
   outb(p, 0x92, 0x03);   /* no new 0 -> 1 edge */
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_NONE);
   outb(p, 0x92, 0x02);
   outb(p, 0x92, 0x03);
   g_assert_cmpint(vmx_platform_take_request(p, NULL), ==, VMX_REQ_RESET);
   /* Reset: power-on state. */
   kbc_cmd_data(p, 0x60, 0x00);
   kbc_cmd_data(p, 0xd2, 0x77);
   vmx_platform_reset(p);
   g_assert_cmphex(inb(p, 0x92), ==, 0x00);
   g_assert_true(i8042_a20(c));
   g_assert_cmphex(inb(p, KBC_CMD), ==, 0x14);
   g_assert_cmphex(kbc_ctr(p), ==, 0x47);
   vmx_platform_free(p);
}

static void
test_attach_errors(void)
{
   fake k, k2;
   vmx_platform *p = setup(NULL, &k, NULL);
   fake_init(&k2);
   char *err = NULL;
   g_assert_false(i8042_attach(i8042_get(p), I8042_KBD, &fake_ops, &k2, &err));
   g_assert_nonnull(strstr(err, "keyboard port"));
   g_clear_pointer(&err, g_free);
   g_assert_false(i8042_attach(i8042_get(p), 2, &fake_ops, &k2, &err));
   g_clear_pointer(&err, g_free);
   /* No mouse: the aux interface test says so. */
   kbc_cmd(p, 0xa9);
   KBC_EXPECT(p, 0x02);
   i8042_detach(i8042_get(p), I8042_KBD);
   outb(p, KBC_DATA, 0xff);
   KBC_EXPECT_NONE(p);
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   irq_rec ia, ib;
   irq_rec_init(&ia);
   irq_rec_init(&ib);
   vmx_platform *a = test_platform_ok(table, 1, NULL, &ia);
   vmx_platform *b = test_platform_ok(table, 1, NULL, &ib);
   kbc_cmd_data(a, 0x60, 0x63);
   kbc_cmd_data(a, 0x7f, 0x5a);
   kbc_cmd_data(a, 0xd1, 0xcd);
   outb(a, 0x92, 0x02);
   kbc_cmd_data(a, 0xd3, 0x11);   /* in the output buffer, as mouse data */
   kbc_cmd(a, 0xaa);              /* queued behind it */
   kbc_cmd(a, 0xd1);              /* waiting for its data byte */
   g_assert_true(irq_level(&ia, 12));
   assert_roundtrip(a, b);
   g_assert_true(irq_level(&ib, 12));
   g_assert_false(irq_level(&ib, 1));
   outb(b, KBC_DATA, 0xcf);   /* the pending 0xd1 takes it */
   g_assert_true(i8042_a20(i8042_get(b)));
   bool aux = false;
   g_assert_cmpint(kbc_get(b, &aux), ==, 0x11);
   g_assert_true(aux);
   g_assert_cmpint(kbc_get(b, &aux), ==, 0x55);
   g_assert_false(aux);
   g_assert_cmphex(kbc_ctr(b), ==, 0x63);
   kbc_cmd(b, 0x3f);
   KBC_EXPECT(b, 0x5a);
   g_assert_cmphex(inb(b, 0x92), ==, 0x02);

   ckpt_writer *w = ckpt_writer_new("i8042", 1);
   ckpt_put_u8(w, "pending", 0xd5);
   assert_restore_refused(b, w, "'pending'");
   w = ckpt_writer_new("i8042", 1);
   ckpt_put_u8(w, "flags", 0x20);
   assert_restore_refused(b, w, "'flags'");
   w = ckpt_writer_new("i8042", 1);
   ckpt_put_u8(w, "flags", 0x08);
   assert_restore_refused(b, w, "empty output buffer");
   w = ckpt_writer_new("i8042", 1);
   ckpt_put_u8(w, "port92", 0x04);
   assert_restore_refused(b, w, "'port92'");
   w = ckpt_writer_new("i8042", 1);
   ckpt_put_u8(w, "outport_a20", 0x01);
   assert_restore_refused(b, w, "'outport_a20'");
   w = ckpt_writer_new("i8042", 1);
   uint8_t q[18] = { 0 };
   ckpt_put_bytes(w, "ctlq", q, 18);
   assert_restore_refused(b, w, "'ctlq'");
   w = ckpt_writer_new("i8042", 1);
   uint8_t q2[2] = { 0x55, 2 };
   ckpt_put_bytes(w, "ctlq", q2, 2);
   assert_restore_refused(b, w, "channel");
   w = ckpt_writer_new("i8042", 1);
   ckpt_put_bytes(w, "ram", q, 16);
   assert_restore_refused(b, w, "ram");
   vmx_platform_free(a);
   vmx_platform_free(b);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/i8042/power-on-commands", test_power_on_and_commands);
   g_test_add_func("/i8042/output-buffer-irqs", test_output_buffer_and_irqs);
   g_test_add_func("/i8042/a20-reset", test_a20_and_reset);
   g_test_add_func("/i8042/attach-errors", test_attach_errors);
   g_test_add_func("/i8042/save-restore", test_save_restore);
   return g_test_run();
}
