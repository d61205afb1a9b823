/*
 * tests/guests/devices/ps2.c - the i8042 controller with its PS/2 keyboard
 * and mouse, as far as a guest alone can drive them: controller self test
 * (0x55) and interface tests, the command byte, output-buffer writes
 * (0xd2/0xd3 with AUXB), keyboard reset (ACK, BAT 0xaa), echo, identify
 * (raw and translated), scancode set get/set, LEDs, enable/disable, resend,
 * unknown commands; mouse reset (0xfa 0xaa 0x00), ID, the IntelliMouse
 * knock (ID 3), status with data reporting, resolution, read data, wrap
 * mode. Built with -DPS2_IRQS (image ps2-irq) it tests the keyboard (IRQ 1)
 * and mouse (IRQ 12) interrupts through the IOAPIC instead. This program
 * has no host input source: key events from the host (VNC) are tested by
 * the svga program (vmx-svga-vnc), pointer events by linux-soft-display.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define DATA 0x60
#define STS  0x64
#define CMD  0x64
#define VEC_KBD 0x51
#define VEC_AUX 0x52

static int rd_data(void)
{
   for (int i = 0; i < 5000; i++) {
      if (kit_inb(STS) & 0x01) {
         return kit_inb(DATA);
      }
   }
   return -1;
}

/* The next byte and whether it came from the mouse (AUXB). */
static int rd_data_src(bool *aux)
{
   for (int i = 0; i < 5000; i++) {
      uint8_t s = kit_inb(STS);

      if (s & 0x01) {
         *aux = s & 0x20;
         return kit_inb(DATA);
      }
   }
   return -1;
}

static void flush(void)
{
   for (int i = 0; i < 64 && (kit_inb(STS) & 0x01); i++) {
      kit_inb(DATA);
   }
}

static void ctl(uint8_t c)
{
   kit_outb(CMD, c);
}

static void ctl_arg(uint8_t c, uint8_t arg)
{
   kit_outb(CMD, c);
   kit_outb(DATA, arg);
}

__attribute__((unused)) static uint8_t cmd_byte(void)
{
   ctl(0x20);
   return (uint8_t)rd_data();
}

static void set_cmd_byte(uint8_t v)
{
   ctl_arg(0x60, v);
}

/* Sends bytes to the keyboard, one at a time, reading each byte's ACK
 * (or other first answer) before the next; then collects nin more answer
 * bytes. in[] gets every byte read (-1 = none came). */
__attribute__((unused)) static void kbd(const uint8_t *out, unsigned nout, int *in, unsigned nin)
{
   unsigned k = 0;

   flush();
   for (unsigned i = 0; i < nout; i++) {
      kit_outb(DATA, out[i]);
      in[k++] = rd_data();
   }
   for (unsigned i = 0; i < nin; i++) {
      in[k++] = rd_data();
   }
}

/* The same for the mouse (0xd4 before each byte); *all_aux is cleared
 * when a byte read did not have AUXB. */
__attribute__((unused)) static void aux(const uint8_t *out, unsigned nout, int *in, unsigned nin, bool *all_aux)
{
   unsigned k = 0;
   bool a = false;

   flush();
   for (unsigned i = 0; i < nout + nin; i++) {
      if (i < nout) {
         ctl_arg(0xd4, out[i]);
      }
      in[k++] = rd_data_src(&a);
      if (!a) {
         *all_aux = false;
      }
   }
}

__attribute__((unused)) static void check_controller(void)
{
   uint8_t cb, s;
   int r;
   bool a = true;

   s = kit_inb(STS);
   kit_printf("ps2: status 0x%x, command byte 0x%x at power-on\n", s, cmd_byte());
   kit_check("status-sys", (s & 0x04) && !(s & 0x02), "status 0x%x: expected SYS, IBF clear",
             s);
   ctl(0xad);   /* keyboard off */
   ctl(0xa7);   /* mouse off */
   flush();
   cb = cmd_byte();
   kit_check("disable-bits", (cb & 0x30) == 0x30, "command byte 0x%x after 0xad/0xa7", cb);
   ctl(0xaa);
   r = rd_data();
   kit_check("self-test", r == 0x55, "0xaa answered 0x%x, expected 0x55", r);
   ctl(0xab);
   r = rd_data();
   kit_check("kbd-interface-test", r == 0x00, "0xab answered 0x%x", r);
   ctl(0xa9);
   r = rd_data();
   kit_check("aux-interface-test", r == 0x00, "0xa9 answered 0x%x", r);
   set_cmd_byte(0x34);
   kit_check("command-byte-rw", cmd_byte() == 0x34, "read 0x%x after writing 0x34",
             cmd_byte());
   /* Controller-written output buffer, keyboard and mouse side. */
   ctl_arg(0xd2, 0x12);
   r = rd_data_src(&a);
   kit_check("write-kbd-buffer", r == 0x12 && !a, "0xd2 0x12 read back 0x%x (AUXB %d)", r, a);
   ctl_arg(0xd3, 0x34);
   r = rd_data_src(&a);
   kit_check("write-aux-buffer", r == 0x34 && a, "0xd3 0x34 read back 0x%x (AUXB %d)", r, a);
   /* Both interfaces on, IRQs off, no translation. */
   set_cmd_byte(0x04);
   ctl(0xae);
   ctl(0xa8);
   cb = cmd_byte();
   kit_check("enable-bits", (cb & 0x30) == 0, "command byte 0x%x after 0xae/0xa8", cb);
}

__attribute__((unused)) static void check_keyboard(void)
{
   int in[8];

   kbd((const uint8_t[]){ 0xff }, 1, in, 1);
   kit_check("kbd-reset-bat", in[0] == 0xfa && in[1] == 0xaa, "0xff answered 0x%x 0x%x, "
             "expected ACK 0xfa, BAT 0xaa", in[0], in[1]);
   kbd((const uint8_t[]){ 0xee }, 1, in, 0);
   kit_check("kbd-echo", in[0] == 0xee, "echo answered 0x%x", in[0]);
   kbd((const uint8_t[]){ 0xf2 }, 1, in, 2);
   kit_check("kbd-id", in[0] == 0xfa && in[1] == 0xab && in[2] == 0x83,
             "identify: 0x%x 0x%x 0x%x, expected 0xfa 0xab 0x83", in[0], in[1], in[2]);
   kbd((const uint8_t[]){ 0xf0, 0x00 }, 2, in, 1);
   kit_check("kbd-get-set", in[0] == 0xfa && in[1] == 0xfa && in[2] == 0x02,
             "get scancode set: 0x%x 0x%x 0x%x (expected set 2)", in[0], in[1], in[2]);
   kbd((const uint8_t[]){ 0xf0, 0x01, 0xf0, 0x00 }, 4, in, 1);
   kit_check("kbd-set-set", in[0] == 0xfa && in[1] == 0xfa && in[4] == 0x01,
             "set 1 then get: 0x%x 0x%x 0x%x 0x%x 0x%x", in[0], in[1], in[2], in[3], in[4]);
   kbd((const uint8_t[]){ 0xf0, 0x02 }, 2, in, 0);
   kbd((const uint8_t[]){ 0xed, 0x07 }, 2, in, 0);
   kit_check("kbd-leds", in[0] == 0xfa && in[1] == 0xfa, "LEDs: 0x%x 0x%x", in[0], in[1]);
   kbd((const uint8_t[]){ 0xf3, 0x20 }, 2, in, 0);
   kit_check("kbd-typematic", in[0] == 0xfa && in[1] == 0xfa, "typematic: 0x%x 0x%x", in[0],
             in[1]);
   kbd((const uint8_t[]){ 0xf5, 0xf4 }, 2, in, 0);
   kit_check("kbd-disable-enable", in[0] == 0xfa && in[1] == 0xfa, "0xf5/0xf4: 0x%x 0x%x",
             in[0], in[1]);
   kbd((const uint8_t[]){ 0xee, 0xfe }, 2, in, 0);
   kit_check("kbd-resend", in[0] == 0xee && in[1] == 0xee, "resend after echo gave 0x%x",
             in[1]);
   kbd((const uint8_t[]){ 0xd5 }, 1, in, 0);
   kit_check("kbd-unknown", in[0] == 0xfe, "unknown command 0xd5 answered 0x%x", in[0]);
   /* Translation on: the identify bytes come through set-1 translated. */
   set_cmd_byte(0x44);
   kbd((const uint8_t[]){ 0xf2 }, 1, in, 2);
   set_cmd_byte(0x04);
   kit_check("kbd-id-translated", in[0] == 0xfa && in[1] == 0xab && in[2] == 0x41,
             "identify with translation: 0x%x 0x%x 0x%x, expected 0xfa 0xab 0x41", in[0],
             in[1], in[2]);
   kit_skip("kbd-key-events", "no host key source here (VNC keys: vmx-svga-vnc)");
}

__attribute__((unused)) static void check_mouse(void)
{
   int in[12];
   bool a = true;

   aux((const uint8_t[]){ 0xff }, 1, in, 2, &a);
   kit_check("aux-reset", in[0] == 0xfa && in[1] == 0xaa && in[2] == 0x00 && a,
             "reset answered 0x%x 0x%x 0x%x (AUXB on all: %d)", in[0], in[1], in[2], a);
   aux((const uint8_t[]){ 0xf2 }, 1, in, 1, &a);
   kit_check("aux-id", in[0] == 0xfa && in[1] == 0x00, "ID: 0x%x 0x%x", in[0], in[1]);
   aux((const uint8_t[]){ 0xe9 }, 1, in, 3, &a);
   kit_check("aux-status-default", in[0] == 0xfa && (in[1] & 0x20) == 0 && in[2] == 2 &&
             in[3] == 100, "status 0x%x 0x%x %d %d: expected reporting off, resolution 2, "
             "100 samples/s", in[0], in[1], in[2], in[3]);
   aux((const uint8_t[]){ 0xf3, 200, 0xf3, 100, 0xf3, 80, 0xf2 }, 7, in, 1, &a);
   kit_check("aux-intellimouse", in[6] == 0xfa && in[7] == 0x03,
             "ID after 200/100/80: 0x%x 0x%x, expected 3", in[6], in[7]);
   aux((const uint8_t[]){ 0xe8, 0x03, 0xf4, 0xe9 }, 4, in, 3, &a);
   kit_check("aux-enable-reporting", in[3] == 0xfa && (in[4] & 0x20) && in[5] == 3 &&
             in[6] == 80, "status 0x%x 0x%x %d %d: expected reporting on, resolution 3, 80 "
             "samples/s", in[3], in[4], in[5], in[6]);
   aux((const uint8_t[]){ 0xf5, 0xeb }, 2, in, 4, &a);
   kit_check("aux-read-data", in[1] == 0xfa && (in[2] & 0x08) && in[3] == 0 && in[4] == 0 &&
             in[5] == 0, "read data: 0x%x 0x%x 0x%x 0x%x 0x%x (a 4-byte packet, no motion)",
             in[1], in[2], in[3], in[4], in[5]);
   aux((const uint8_t[]){ 0xee, 0x55, 0xec, 0xf2 }, 4, in, 1, &a);
   kit_check("aux-wrap-mode", in[0] == 0xfa && in[1] == 0x55 && in[2] == 0xfa &&
             in[3] == 0xfa && in[4] == 0x03, "wrap: 0x%x, echo 0x%x, leave 0x%x, ID 0x%x 0x%x",
             in[0], in[1], in[2], in[3], in[4]);
   aux((const uint8_t[]){ 0xf3, 33 }, 2, in, 0, &a);
   kit_check("aux-bad-rate", in[0] == 0xfa && in[1] == 0xfe, "sample rate 33: 0x%x 0x%x",
             in[0], in[1]);
   aux((const uint8_t[]){ 0xff }, 1, in, 2, &a);
   aux((const uint8_t[]){ 0xf2 }, 1, in, 1, &a);
   kit_check("aux-reset-id", in[1] == 0x00, "ID after reset 0x%x", in[1]);
   kit_check("aux-auxb", a, "a mouse byte came without AUXB in the status register");
   kit_skip("aux-motion", "no host pointer source here (VNC pointer: linux-soft-display)");
}

static volatile uint32_t kbd_irqs, aux_irqs;
static volatile uint8_t kbd_bytes[8], aux_bytes[8];

__attribute__((unused)) static void kbd_irq(kit_frame *f)
{
   uint8_t b = kit_inb(DATA);

   (void)f;
   if (kbd_irqs < 8) {
      kbd_bytes[kbd_irqs] = b;
   }
   kbd_irqs++;
   kit_lapic_eoi();
}

__attribute__((unused)) static void aux_irq(kit_frame *f)
{
   uint8_t b = kit_inb(DATA);

   (void)f;
   if (aux_irqs < 8) {
      aux_bytes[aux_irqs] = b;
   }
   aux_irqs++;
   kit_lapic_eoi();
}

__attribute__((unused)) static void route(const kit_madt *m, unsigned irq, uint8_t vec, kit_handler h, unsigned *gsi)
{
   bool level, low;

   *gsi = kit_isa_irq_gsi(m, irq, &level, &low);
   kit_set_handler(vec, h);
   kit_ioapic_route(*gsi, vec, kit_lapic_id(), (level ? KIT_IOAPIC_LEVEL : 0) |
                    (low ? KIT_IOAPIC_LOW : 0));
}

/* IRQ 1 and IRQ 12 through the IOAPIC (edge, as ISA IRQs are): one
 * interrupt per byte, also when a command answers with several bytes (the
 * handler reads one byte per interrupt, as OS drivers do). */
__attribute__((unused)) static void check_irqs(void)
{
   kit_madt m;
   unsigned g1, g12;
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000;

   if (!kit_acpi_madt(&m)) {
      kit_fail("irqs", "no MADT");
      return;
   }
   route(&m, 1, VEC_KBD, kbd_irq, &g1);
   route(&m, 12, VEC_AUX, aux_irq, &g12);
   set_cmd_byte(0x04);
   ctl(0xae);
   ctl(0xa8);
   flush();
   set_cmd_byte(0x07);   /* both IRQs, SYS, no translation */

   kit_outb(DATA, 0xee);
   kit_wait_irqs(&kbd_irqs, 1, khz * 200);
   kit_check("kbd-irq1", kbd_irqs == 1 && kbd_bytes[0] == 0xee && aux_irqs == 0,
             "%u IRQ 1 (GSI %u) interrupts, first byte 0x%x; %u on IRQ 12", kbd_irqs, g1,
             kbd_bytes[0], aux_irqs);

   /* IRQs off in the command byte: the byte waits, no interrupt. */
   set_cmd_byte(0x04);
   kit_outb(DATA, 0xee);
   kit_wait_irqs(&kbd_irqs, 2, khz * 50);
   kit_check("kbd-irq-disabled", kbd_irqs == 1 && rd_data() == 0xee,
             "%u interrupts with the command byte's IRQ bit clear", kbd_irqs - 1);
   flush();
   set_cmd_byte(0x07);

   /* Two-byte answers: reset (0xfa 0xaa), mouse ID (0xfa 0x00). */
   kbd_irqs = 0;
   kit_outb(DATA, 0xff);
   kit_wait_irqs(&kbd_irqs, 2, khz * 200);
   kit_check("kbd-irq1-per-byte", kbd_irqs == 2 && kbd_bytes[0] == 0xfa &&
             kbd_bytes[1] == 0xaa, "keyboard reset: %u IRQ 1 interrupt(s) for its 2 bytes "
             "(0x%x 0x%x); the line must fall when port 0x60 is read and rise again for the "
             "next byte", kbd_irqs, kbd_bytes[0], kbd_irqs > 1 ? kbd_bytes[1] : 0);
   flush();
   ctl_arg(0xd4, 0xf2);
   kit_wait_irqs(&aux_irqs, 2, khz * 200);
   kit_check("aux-irq12-per-byte", aux_irqs == 2 && aux_bytes[0] == 0xfa &&
             aux_bytes[1] == 0x00 && kbd_irqs <= 2,
             "mouse identify: %u IRQ 12 (GSI %u) interrupt(s) for its 2 bytes (0x%x 0x%x); "
             "the line must fall when port 0x60 is read and rise again for the next byte",
             aux_irqs, g12, aux_bytes[0], aux_irqs > 1 ? aux_bytes[1] : 0);
   flush();
   kit_ioapic_mask(g1);
   kit_ioapic_mask(g12);
   set_cmd_byte(0x47);   /* back to the power-on value */
}

void kit_main(void)
{
   kit_poweroff_at_exit();
   kit_pic_init(0x20);
   kit_lapic_enable();
#ifdef PS2_IRQS
   check_irqs();
#else
   check_controller();
   check_keyboard();
   check_mouse();
#endif
   kit_check("no-unexpected-interrupts", kit_unexpected_interrupts() == 0, "%u unexpected",
             kit_unexpected_interrupts());
}
