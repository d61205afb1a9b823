/*
 * Register-level tests of the dual 8259A PIC.
 */
#include "intc-test.h"

static intc_pic *
new_pic(void)
{
   char *err = NULL;
   intc_pic *pic = pic_new(NULL, &err);
   g_assert_nonnull(pic);
   return pic;
}

/* The usual PC initialization: master 0x08 (or base), slave on IR2. */
static void
init_pair(intc_pic *pic, uint8_t mbase, uint8_t sbase, uint8_t icw4)
{
   pic_port_write(pic, 0x20, 0x11);
   pic_port_write(pic, 0x21, mbase);
   pic_port_write(pic, 0x21, 0x04);
   pic_port_write(pic, 0x21, icw4);
   pic_port_write(pic, 0xa0, 0x11);
   pic_port_write(pic, 0xa1, sbase);
   pic_port_write(pic, 0xa1, 0x02);
   pic_port_write(pic, 0xa1, icw4);
   pic_port_write(pic, 0x21, 0x00);
   pic_port_write(pic, 0xa1, 0x00);
}

static uint8_t
read_isr(intc_pic *pic, uint16_t cmd)
{
   pic_port_write(pic, cmd, 0x0b);
   uint8_t v = pic_port_read(pic, cmd);
   pic_port_write(pic, cmd, 0x0a);
   return v;
}

static void
pulse(intc_pic *pic, unsigned irq)
{
   pic_set_irq(pic, irq, true);
   pic_set_irq(pic, irq, false);
}

static void
test_init_sequence(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x20, 0x28, 0x01);
   g_assert_cmpuint(pic_port_read(pic, 0x21), ==, 0);
   pic_port_write(pic, 0x21, 0xfb);
   g_assert_cmpuint(pic_port_read(pic, 0x21), ==, 0xfb);
   g_assert_false(pic_output(pic));
   g_assert_cmpint(pic_peek(pic), ==, -1);

   pulse(pic, 1);            /* masked: latched in IRR, no INT */
   g_assert_false(pic_output(pic));
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x02);   /* IRR by default */
   pic_port_write(pic, 0x21, 0xf9);
   g_assert_true(pic_output(pic));
   g_assert_cmpint(pic_peek(pic), ==, 0x21);
   g_assert_cmpint(pic_ack(pic), ==, 0x21);
   g_assert_false(pic_output(pic));
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x02);
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x00);
   pic_port_write(pic, 0x20, 0x20);   /* non-specific EOI */
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);

   /* Re-initializing clears IMR and ISR, keeps the vector base new. */
   pulse(pic, 1);
   g_assert_cmpint(pic_ack(pic), ==, 0x21);
   init_pair(pic, 0x08, 0x70, 0x01);
   pic_port_write(pic, 0x21, 0x00);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);
   pulse(pic, 0);
   g_assert_cmpint(pic_ack(pic), ==, 0x08);
   pic_free(pic);
}

static void
test_priorities(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   /* IR3 then IR1 and IR5: fully nested, lower number wins. */
   pulse(pic, 3);
   pulse(pic, 5);
   pulse(pic, 1);
   g_assert_cmpint(pic_ack(pic), ==, 0x09);
   /* IR3 and IR5 have lower priority than IR1 in service. */
   g_assert_false(pic_output(pic));
   pulse(pic, 0);                       /* higher: nests */
   g_assert_cmpint(pic_ack(pic), ==, 0x08);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x03);
   pic_port_write(pic, 0x20, 0x20);     /* clears IR0 (highest in service) */
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x02);
   g_assert_false(pic_output(pic));
   pic_port_write(pic, 0x20, 0x61);     /* specific EOI IR1 */
   g_assert_cmpint(pic_ack(pic), ==, 0x0b);
   pic_port_write(pic, 0x20, 0x63);
   g_assert_cmpint(pic_ack(pic), ==, 0x0d);
   pic_port_write(pic, 0x20, 0x20);
   g_assert_false(pic_output(pic));

   /* Set priority: IR4 lowest, so IR5 is the highest. */
   pic_port_write(pic, 0x20, 0xc4);
   pulse(pic, 0);
   pulse(pic, 5);
   g_assert_cmpint(pic_ack(pic), ==, 0x0d);
   g_assert_true(pic_output(pic) == false);   /* IR0 ranks below IR5 now */
   /* Rotate on non-specific EOI: IR5 becomes lowest, IR6 highest. */
   pic_port_write(pic, 0x20, 0xa0);
   pulse(pic, 6);
   g_assert_cmpint(pic_ack(pic), ==, 0x0e);
   pic_port_write(pic, 0x20, 0xe6);     /* rotate on specific EOI IR6 */
   g_assert_cmpint(pic_ack(pic), ==, 0x08);   /* IR7 rank 0, IR0 rank 1 */
   pic_port_write(pic, 0x20, 0x20);
   pic_free(pic);
}

static void
test_special_mask_and_aeoi(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   pulse(pic, 1);
   g_assert_cmpint(pic_ack(pic), ==, 0x09);
   pulse(pic, 4);
   g_assert_false(pic_output(pic));     /* blocked by IR1 in service */
   pic_port_write(pic, 0x21, 0x02);     /* mask IR1 */
   pic_port_write(pic, 0x20, 0x68);     /* special mask mode on */
   g_assert_true(pic_output(pic));
   g_assert_cmpint(pic_ack(pic), ==, 0x0c);
   pic_port_write(pic, 0x20, 0x64);     /* specific EOI IR4 */
   pic_port_write(pic, 0x20, 0x48);     /* special mask mode off */
   pic_port_write(pic, 0x21, 0x00);
   pic_port_write(pic, 0x20, 0x61);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);

   /* Auto-EOI: nothing stays in service. */
   init_pair(pic, 0x08, 0x70, 0x03);
   pulse(pic, 3);
   g_assert_cmpint(pic_ack(pic), ==, 0x0b);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);
   pulse(pic, 5);
   g_assert_cmpint(pic_ack(pic), ==, 0x0d);
   /* Rotate in auto-EOI: each acknowledged IR becomes the lowest. */
   pic_port_write(pic, 0x20, 0x80);
   pulse(pic, 4);
   g_assert_cmpint(pic_ack(pic), ==, 0x0c);   /* IR4 lowest: IR5 highest */
   pulse(pic, 0);
   pulse(pic, 6);
   g_assert_cmpint(pic_ack(pic), ==, 0x0e);   /* IR6 ranks above IR0 */
   g_assert_cmpint(pic_ack(pic), ==, 0x08);
   pic_free(pic);
}

static void
test_poll(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   pic_port_write(pic, 0x20, 0x0c);   /* poll */
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x00);
   pulse(pic, 6);
   pulse(pic, 3);
   pic_port_write(pic, 0x20, 0x0c);
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x83);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x08);
   /* Only one read is a poll. */
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x40);
   pic_port_write(pic, 0x20, 0x20);
   pic_port_write(pic, 0x20, 0x0c);
   g_assert_cmpuint(pic_port_read(pic, 0x20), ==, 0x86);
   pic_free(pic);
}

static void
test_cascade_and_spurious(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   pulse(pic, 12);
   g_assert_true(pic_output(pic));
   g_assert_cmpint(pic_peek(pic), ==, 0x74);
   g_assert_cmpint(pic_ack(pic), ==, 0x74);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x04);
   g_assert_cmpuint(read_isr(pic, 0xa0), ==, 0x10);
   /* A higher slave request is blocked by master IR2 in service... */
   pulse(pic, 8);
   g_assert_false(pic_output(pic));
   pic_port_write(pic, 0xa0, 0x20);
   pic_port_write(pic, 0x20, 0x20);
   g_assert_cmpint(pic_ack(pic), ==, 0x70);
   pic_port_write(pic, 0xa0, 0x20);
   pic_port_write(pic, 0x20, 0x20);

   /* ...unless the master is in special fully nested mode. */
   init_pair(pic, 0x08, 0x70, 0x11);
   pulse(pic, 12);
   g_assert_cmpint(pic_ack(pic), ==, 0x74);
   pulse(pic, 8);
   g_assert_true(pic_output(pic));
   g_assert_cmpint(pic_ack(pic), ==, 0x70);
   g_assert_cmpuint(read_isr(pic, 0xa0), ==, 0x11);

   /* Spurious: a level request that goes away before INTA. */
   init_pair(pic, 0x08, 0x70, 0x01);
   pic_port_write(pic, 0x4d0, 0x20);   /* IRQ5 level */
   pic_set_irq(pic, 5, true);
   g_assert_true(pic_output(pic));
   pic_set_irq(pic, 5, false);
   g_assert_false(pic_output(pic));
   g_assert_cmpint(pic_ack(pic), ==, 0x0f);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);
   /* On the slave: IRQ15 vector, master IR2 stays in service. */
   pic_port_write(pic, 0x4d1, 0x08);   /* IRQ11 level */
   pic_set_irq(pic, 11, true);
   g_assert_cmpint(pic_peek(pic), ==, 0x73);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0);
   pic_set_irq(pic, 11, false);
   /* the slave's INT dropped; the master latched IR2 already (edge) */
   g_assert_cmpint(pic_ack(pic), ==, 0x77);
   g_assert_cmpuint(read_isr(pic, 0x20), ==, 0x04);
   g_assert_cmpuint(read_isr(pic, 0xa0), ==, 0x00);
   pic_free(pic);
}

static void
test_edge_level(void)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   /* ELCR: reserved bits (IRQ0-2, 8, 13) stay clear. */
   pic_port_write(pic, 0x4d0, 0xff);
   pic_port_write(pic, 0x4d1, 0xff);
   g_assert_cmpuint(pic_port_read(pic, 0x4d0), ==, 0xf8);
   g_assert_cmpuint(pic_port_read(pic, 0x4d1), ==, 0xde);
   pic_port_write(pic, 0x4d0, 0x08);   /* IRQ3 level, IRQ4 edge */
   pic_port_write(pic, 0x4d1, 0x00);

   /* Level: re-requests after EOI while the line stays high. */
   pic_set_irq(pic, 3, true);
   g_assert_cmpint(pic_ack(pic), ==, 0x0b);
   pic_port_write(pic, 0x20, 0x20);
   g_assert_true(pic_output(pic));
   g_assert_cmpint(pic_ack(pic), ==, 0x0b);
   pic_set_irq(pic, 3, false);
   pic_port_write(pic, 0x20, 0x20);
   g_assert_false(pic_output(pic));

   /* Edge: one request per rising edge, even if the line stays high. */
   pic_set_irq(pic, 4, true);
   g_assert_cmpint(pic_ack(pic), ==, 0x0c);
   pic_port_write(pic, 0x20, 0x20);
   g_assert_false(pic_output(pic));
   pic_set_irq(pic, 4, true);
   g_assert_false(pic_output(pic));
   /* ICW1 resets the edge sense: a line already high does not request. */
   init_pair(pic, 0x08, 0x70, 0x01);
   g_assert_false(pic_output(pic));
   pic_set_irq(pic, 4, false);
   pic_set_irq(pic, 4, true);
   g_assert_cmpint(pic_ack(pic), ==, 0x0c);
   pic_free(pic);
}

static void
test_platform_ports(void)
{
   vmx_platform *p = vmx_platform_new();
   char *err = NULL;
   intc_pic *pic = pic_new(p, &err);
   g_assert_nonnull(pic);
   vmx_platform_pio_write(p, NULL, 0x20, 1, 0x11);
   vmx_platform_pio_write(p, NULL, 0x21, 1, 0x30);
   vmx_platform_pio_write(p, NULL, 0x21, 1, 0x04);
   vmx_platform_pio_write(p, NULL, 0x21, 1, 0x01);
   /* A word write to 0x20 is 0x20 then 0x21. */
   vmx_platform_pio_write(p, NULL, 0x20, 2, 0xa50a);
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x21, 1), ==, 0xa5);
   vmx_platform_pio_write(p, NULL, 0x4d0, 1, 0x20);
   g_assert_cmpuint(vmx_platform_pio_read(p, NULL, 0x4d0, 2), ==, 0x0020);
   /* The ranges are taken. */
   intc_pic *again = pic_new(p, &err);
   g_assert_null(again);
   g_assert_nonnull(err);
   g_free(err);
   pic_free(pic);
   vmx_platform_free(p);
}

static void
set_state(intc_pic *pic)
{
   init_pair(pic, 0x08, 0x70, 0x11);
   pic_port_write(pic, 0x4d0, 0x20);
   pic_port_write(pic, 0x4d1, 0x0e);
   pic_port_write(pic, 0x21, 0x40);
   pulse(pic, 1);
   pulse(pic, 12);
   pic_set_irq(pic, 5, true);
   pic_ack(pic);
   pic_port_write(pic, 0x20, 0xc3);   /* priority */
   pic_port_write(pic, 0xa0, 0x0b);   /* read ISR */
   pic_port_write(pic, 0xa0, 0x68);   /* special mask */
   pic_port_write(pic, 0x20, 0x0c);   /* poll pending */
}

static void
test_save_restore(void)
{
   intc_pic *a = new_pic(), *b = new_pic();
   set_state(a);
   test_roundtrip("pic", (test_save_fn)pic_save, (test_restore_fn)pic_restore, a, b);
   /* The restored PIC behaves the same. */
   g_assert_cmpint(pic_output(a), ==, pic_output(b));
   g_assert_cmpuint(pic_port_read(a, 0x20), ==, pic_port_read(b, 0x20));
   g_assert_cmpuint(pic_port_read(a, 0xa0), ==, pic_port_read(b, 0xa0));
   g_assert_cmpint(pic_ack(a), ==, pic_ack(b));
   /* A half-initialized PIC too. */
   pic_port_write(a, 0x20, 0x11);
   pic_port_write(a, 0x21, 0x08);
   test_roundtrip("pic", (test_save_fn)pic_save, (test_restore_fn)pic_restore, a, b);
   pic_free(a);
   pic_free(b);
}

static void
refuse(const char *tag, int type, uint32_t v)
{
   intc_pic *pic = new_pic();
   init_pair(pic, 0x08, 0x70, 0x01);
   GBytes *before = test_save("pic", (test_save_fn)pic_save, pic);
   ckpt_writer *w = ckpt_writer_new("pic", 1);
   if (type == CKPT_U8) {
      ckpt_put_u8(w, tag, (uint8_t)v);
   } else {
      ckpt_put_u32(w, tag, v);
   }
   GBytes *bad = ckpt_writer_finish(w);
   char *err = NULL;
   g_assert_false(test_restore(bad, (test_restore_fn)pic_restore, pic, &err));
   g_assert_nonnull(err);
   g_test_message("refused %s: %s", tag, err);
   g_free(err);
   GBytes *after = test_save("pic", (test_save_fn)pic_save, pic);
   g_assert_true(g_bytes_equal(before, after));   /* nothing applied */
   g_bytes_unref(before);
   g_bytes_unref(after);
   g_bytes_unref(bad);
   pic_free(pic);
}

static void
test_restore_refused(void)
{
   refuse("master.init", CKPT_U8, 4);
   refuse("master.icw2", CKPT_U8, 0x09);
   refuse("slave.elcr", CKPT_U8, 0x01);
   refuse("master.elcr", CKPT_U8, 0x04);
   refuse("slave.lowest", CKPT_U8, 8);
   refuse("master.flags", CKPT_U8, 0x10);
   refuse("master.icw1", CKPT_U8, 0x01);
   refuse("master.irr", CKPT_U32, 1);   /* wrong type */
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/pic/init-sequence", test_init_sequence);
   g_test_add_func("/pic/priorities", test_priorities);
   g_test_add_func("/pic/special-mask-aeoi", test_special_mask_and_aeoi);
   g_test_add_func("/pic/poll", test_poll);
   g_test_add_func("/pic/cascade-spurious", test_cascade_and_spurious);
   g_test_add_func("/pic/edge-level", test_edge_level);
   g_test_add_func("/pic/platform-ports", test_platform_ports);
   g_test_add_func("/pic/save-restore", test_save_restore);
   g_test_add_func("/pic/restore-refused", test_restore_refused);
   return g_test_run();
}
