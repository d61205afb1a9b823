/*
 * Tests of the vmmouse device (as a guest driver talks to it over the
 * backdoor, and its checkpoint) and of pointer routing against real
 * backdoor, i8042 and PS/2 mouse device instances.
 */
#include "mks/console/pointer.h"
#include "vmx/dev/chipset/vmmouse.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/tests/kbc-test.h"

#include <stdlib.h>

static const vmx_device_desc *const table[] = { &vmx_dev_i8042, &vmx_dev_ps2mouse,
                                                &vmx_dev_backdoor, &vmx_dev_vmmouse };

static vmx_platform *
setup(void)
{
   return test_platform_ok(table, G_N_ELEMENTS(table), NULL, NULL);
}

/* ---- the guest's side */

typedef struct words {
   uint32_t w[6];
} words;

static vmm_regs
bdoor(vmx_platform *p, uint16_t cmd, uint32_t ebx)
{
   vmm_regs r;
   memset(&r, 0, sizeof r);
   r.gpr[VMM_RAX] = BDOOR_MAGIC;
   r.gpr[VMM_RBX] = ebx;
   r.gpr[VMM_RCX] = cmd;
   r.gpr[VMM_RDX] = BDOOR_PORT;
   g_assert_true(backdoor_dispatch(backdoor_get(p), NULL, &r));
   return r;
}

static uint32_t
vm_status(vmx_platform *p)
{
   return (uint32_t)bdoor(p, VMMOUSE_CMD_STATUS, 0).gpr[VMM_RAX];
}

static void
vm_command(vmx_platform *p, uint32_t c)
{
   bdoor(p, VMMOUSE_CMD_COMMAND, c);
}

static words
vm_data(vmx_platform *p, uint32_t n)
{
   vmm_regs r = bdoor(p, VMMOUSE_CMD_DATA, n);
   words w;
   static const unsigned regs[6] = { VMM_RAX, VMM_RBX, VMM_RCX, VMM_RDX, VMM_RSI, VMM_RDI };
   for (unsigned i = 0; i < 6; i++) {
      w.w[i] = (uint32_t)r.gpr[regs[i]];
   }
   return w;
}

/* What the Linux driver does in vmmouse_check() and vmmouse_init(). */
static void
driver_enable(vmx_platform *p, bool absolute)
{
   vm_command(p, VMMOUSE_READ_ID);
   g_assert_cmphex(vm_status(p), ==, 1);
   g_assert_cmphex(vm_data(p, 1).w[0], ==, VMMOUSE_VERSION_ID);
   g_assert_cmphex(vm_status(p), ==, 0);
   vm_command(p, absolute ? VMMOUSE_REQUEST_ABSOLUTE : VMMOUSE_REQUEST_RELATIVE);
}

static void
aux(vmx_platform *p, uint8_t b)
{
   kbc_cmd_data(p, 0xd4, b);
}

/* PS/2 mouse with data reporting on, as a guest's driver sets it up. */
static void
ps2_enable(vmx_platform *p)
{
   aux(p, 0xf4);
   KBC_EXPECT(p, 0xfa);
}

static void
expect_packet(vmx_platform *p, uint32_t status, uint32_t x, uint32_t y, uint32_t z)
{
   g_assert_cmphex(vm_status(p) & 0xffff, >=, 4);
   words w = vm_data(p, 4);
   g_assert_cmphex(w.w[0], ==, status);
   g_assert_cmphex(w.w[1], ==, x);
   g_assert_cmphex(w.w[2], ==, y);
   g_assert_cmphex(w.w[3], ==, z);
}

/* ---- vmmouse device */

static void
test_vmmouse_protocol(void)
{
   vmx_platform *p = setup();
   vmmouse *m = vmmouse_get(p);
   g_assert_nonnull(m);
   /* Disabled at power-on: status error, packets refused. */
   g_assert_cmphex(vm_status(p), ==, 0xffff0000u);
   g_assert_false(vmmouse_enabled(m));
   g_assert_false(vmmouse_abs(m, 1, 2, 0, 0));
   driver_enable(p, true);
   g_assert_true(vmmouse_enabled(m));
   g_assert_true(vmmouse_absolute(m));
   /* Absolute packet: buttons, x, y, z (wheel towards the user > 0). */
   g_assert_true(vmmouse_abs(m, 0x1234, 0xfedc, 1, MKS_BUTTON_LEFT | MKS_BUTTON_MIDDLE));
   g_assert_true(vmmouse_abs(m, 0, 0xffff, -2, MKS_BUTTON_RIGHT | MKS_BUTTON_SIDE));
   g_assert_cmphex(vm_status(p), ==, 8);
   expect_packet(p, 0x28, 0x1234, 0xfedc, (uint32_t)-1);
   expect_packet(p, 0x10, 0, 0xffff, 2);
   g_assert_cmphex(vm_status(p), ==, 0);
   /* Relative packets are refused in absolute mode and the reverse. */
   g_assert_false(vmmouse_rel(m, 1, 1, 0, 0));
   vm_command(p, VMMOUSE_REQUEST_RELATIVE);
   g_assert_false(vmmouse_absolute(m));
   g_assert_false(vmmouse_abs(m, 1, 1, 0, 0));
   /* Relative: flag, dx, dy up-positive, z. */
   g_assert_true(vmmouse_rel(m, -5, 7, 0, 0));
   expect_packet(p, VMMOUSE_RELATIVE_PACKET, (uint32_t)-5, (uint32_t)-7, 0);
   /* Asking for more than is queued: the device disables itself. */
   g_assert_true(vmmouse_rel(m, 1, 1, 0, 0));
   vm_data(p, 5);
   g_assert_cmphex(vm_status(p), ==, 0xffff0000u);
   g_assert_false(vmmouse_enabled(m));
   driver_enable(p, true);
   vm_data(p, 0);
   g_assert_cmphex(vm_status(p), ==, 0xffff0000u);
   driver_enable(p, true);
   g_assert_true(vmmouse_abs(m, 1, 2, 0, 0));
   g_assert_true(vmmouse_abs(m, 1, 2, 0, 0));
   vm_data(p, 7);
   g_assert_cmphex(vm_status(p), ==, 0xffff0000u);
   /* Disable empties the queue; unknown commands change nothing. */
   driver_enable(p, true);
   g_assert_true(vmmouse_abs(m, 1, 2, 0, 0));
   vm_command(p, 0x12345678);
   g_assert_cmphex(vm_status(p), ==, 4);
   vm_command(p, VMMOUSE_DISABLE);
   g_assert_cmphex(vm_status(p), ==, 0xffff0000u);
   /* Reset: disabled, relative. */
   driver_enable(p, true);
   vmx_platform_reset(p);
   g_assert_false(vmmouse_enabled(m));
   g_assert_false(vmmouse_absolute(m));
   vmx_platform_free(p);
}

static void
test_vmmouse_queue_full(void)
{
   vmx_platform *p = setup();
   vmmouse *m = vmmouse_get(p);
   driver_enable(p, true);
   unsigned ok = 0;
   for (unsigned i = 0; i < VMMOUSE_QUEUE_WORDS; i++) {
      ok += vmmouse_abs(m, (uint16_t)i, 0, 0, 0);
   }
   g_assert_cmpuint(ok, ==, VMMOUSE_QUEUE_WORDS / 4);
   g_assert_cmphex(vm_status(p), ==, VMMOUSE_QUEUE_WORDS);
   /* Oldest first, nothing reordered. */
   for (unsigned i = 0; i < VMMOUSE_QUEUE_WORDS / 4; i++) {
      expect_packet(p, 0, i, 0, 0);
   }
   vmx_platform_free(p);
}

/* The PS/2 mouse gets a one-count nudge per packet so the driver wakes. */
static void
test_vmmouse_notifies_ps2(void)
{
   vmx_platform *p = setup();
   ps2_enable(p);
   driver_enable(p, true);
   g_assert_true(vmmouse_abs(vmmouse_get(p), 100, 200, 0, MKS_BUTTON_LEFT));
   KBC_EXPECT(p, 0x09, 0x01, 0x00);
   vmx_platform_free(p);
}

static void
test_vmmouse_checkpoint(void)
{
   vmx_platform *a = setup(), *b = setup();
   /* Disabled. */
   assert_roundtrip(a, b);
   /* Enabled, absolute, with packets queued. */
   driver_enable(a, true);
   vmmouse_abs(vmmouse_get(a), 7, 8, 1, MKS_BUTTON_RIGHT);
   vmmouse_abs(vmmouse_get(a), 9, 10, 0, 0);
   assert_roundtrip(a, b);
   g_assert_true(vmmouse_absolute(vmmouse_get(b)));
   expect_packet(b, 0x10, 7, 8, (uint32_t)-1);
   expect_packet(b, 0, 9, 10, 0);
   /* A queue that is not whole words, or too long, or a bad status. */
   ckpt_writer *w = ckpt_writer_new("vmmouse", 1);
   ckpt_put_bytes(w, "queue", "abc", 3);
   assert_restore_refused(b, w, "queue");
   uint8_t *big = g_malloc0(4 * VMMOUSE_QUEUE_WORDS + 4);
   w = ckpt_writer_new("vmmouse", 1);
   ckpt_put_bytes(w, "queue", big, 4 * VMMOUSE_QUEUE_WORDS + 4);
   assert_restore_refused(b, w, "queue");
   g_free(big);
   w = ckpt_writer_new("vmmouse", 1);
   ckpt_put_u16(w, "status", 0x1234);
   assert_restore_refused(b, w, "status");
   w = ckpt_writer_new("vmmouse", 1);
   ckpt_put_u8(w, "absolute", 2);
   assert_restore_refused(b, w, "absolute");
   w = ckpt_writer_new("vmmouse", 1);
   ckpt_put_u16(w, "status", 0xffff);
   ckpt_put_bytes(w, "queue", "abcd", 4);
   assert_restore_refused(b, w, "disabled");
   vmx_platform_free(a);
   vmx_platform_free(b);
}

static void
test_vmmouse_needs_backdoor(void)
{
   static const vmx_device_desc *const bad[] = { &vmx_dev_vmmouse };
   char *err = NULL;
   g_assert_null(test_platform(bad, 1, NULL, NULL, &err));
   g_assert_nonnull(strstr(err, "backdoor"));
   g_free(err);
}

/* ---- routing */

static void
test_scale(void)
{
   g_assert_cmpuint(mks_pointer_scale(0, 1024), ==, 0);
   g_assert_cmpuint(mks_pointer_scale(1023, 1024), ==, 65535);
   g_assert_cmpuint(mks_pointer_scale(5000, 1024), ==, 65535);
   g_assert_cmpuint(mks_pointer_scale(-3, 1024), ==, 0);
   /* Middle pixel of an odd axis is the middle of the range. */
   g_assert_cmpuint(mks_pointer_scale(400, 801), ==, 32768);
   g_assert_cmpuint(mks_pointer_scale(0, 1), ==, 0);
   /* Exhaustive on one axis: monotonic, ends exact, steps even. */
   unsigned prev = 0;
   for (int x = 0; x < 1920; x++) {
      unsigned s = mks_pointer_scale(x, 1920);
      double ideal = x * 65535.0 / 1919.0;
      g_assert_cmpfloat(s - ideal, <=, 0.5);
      g_assert_cmpfloat(ideal - s, <=, 0.5);
      if (x) {
         g_assert_cmpuint(s, >, prev);
      }
      prev = s;
   }
}

static void
test_route_ps2(void)
{
   vmx_platform *p = setup();
   ps2_enable(p);
   mks_pointer *pt = mks_pointer_new(ps2mouse_get(p), vmmouse_get(p));
   mks_pointer_set_screen(pt, 1024, 768);
   g_assert_cmpint(mks_pointer_current_route(pt), ==, MKS_POINTER_PS2);
   /* The first position only sets the reference. */
   mks_pointer_abs(pt, 100, 100, 0, 0);
   KBC_EXPECT_NONE(p);
   /* Right 10, down 5 (PS/2: y up): 0x08|ysign, 10, -5. */
   mks_pointer_abs(pt, 110, 105, 0, 0);
   KBC_EXPECT(p, 0x28, 10, 0xfb);
   /* A button alone. */
   mks_pointer_abs(pt, 110, 105, MKS_BUTTON_LEFT, 0);
   KBC_EXPECT(p, 0x09, 0, 0);
   mks_pointer_abs(pt, 110, 105, 0, 0);
   KBC_EXPECT(p, 0x08, 0, 0);
   /* A large move: split into packets, none larger than the 9-bit range,
    * nothing lost. */
   mks_pointer_abs(pt, 1023, 0, 0, 0);
   uint8_t got[128];
   unsigned n = kbc_drain(p, got, sizeof got);
   g_assert_cmpuint(n % 3, ==, 0);
   int sx = 0, sy = 0;
   for (unsigned i = 0; i < n; i += 3) {
      int dx = got[i + 1] - ((got[i] & 0x10) ? 256 : 0);
      int dy = got[i + 2] - ((got[i] & 0x20) ? 256 : 0);
      g_assert_cmpint(abs(dx), <=, 255);
      g_assert_cmpint(abs(dy), <=, 255);
      sx += dx;
      sy += dy;
   }
   g_assert_cmpuint(n / 3, ==, 4);   /* 913 right = 255 * 3 + 148 */
   g_assert_cmpint(sx, ==, 1023 - 110);
   g_assert_cmpint(sy, ==, 105);     /* up 105: positive in PS/2 */
   /* Positions off screen are clamped first. */
   mks_pointer_abs(pt, 5000, -10, 0, 0);
   KBC_EXPECT_NONE(p);
   /* Relative input passes straight through. */
   mks_pointer_rel(pt, -3, 4, MKS_BUTTON_RIGHT, 0);
   KBC_EXPECT(p, 0x3a, 0xfd, 0xfc);
   mks_pointer_free(pt);
   vmx_platform_free(p);
}

static void
test_route_ps2_wheel(void)
{
   vmx_platform *p = setup();
   /* IntelliMouse knock, then reporting on. */
   static const uint8_t rates[] = { 200, 100, 80 };
   for (unsigned i = 0; i < 3; i++) {
      aux(p, 0xf3);
      aux(p, rates[i]);
      KBC_EXPECT(p, 0xfa, 0xfa);
   }
   ps2_enable(p);
   mks_pointer *pt = mks_pointer_new(ps2mouse_get(p), NULL);
   mks_pointer_abs(pt, 10, 10, 0, 0);
   mks_pointer_abs(pt, 10, 10, 0, 1);   /* scroll up: z = -1 */
   KBC_EXPECT(p, 0x08, 0, 0, 0xff);
   mks_pointer_abs(pt, 10, 10, 0, -2);
   KBC_EXPECT(p, 0x08, 0, 0, 0x02);
   mks_pointer_free(pt);
   vmx_platform_free(p);
}

static void
test_route_vmmouse_abs(void)
{
   vmx_platform *p = setup();
   ps2_enable(p);
   mks_pointer *pt = mks_pointer_new(ps2mouse_get(p), vmmouse_get(p));
   mks_pointer_set_screen(pt, 800, 600);
   driver_enable(p, true);
   g_assert_cmpint(mks_pointer_current_route(pt), ==, MKS_POINTER_VMMOUSE_ABS);
   mks_pointer_abs(pt, 0, 0, 0, 0);
   mks_pointer_abs(pt, 799, 599, MKS_BUTTON_LEFT, 0);
   mks_pointer_abs(pt, 400, 300, MKS_BUTTON_RIGHT | MKS_BUTTON_MIDDLE, 3);
   mks_pointer_abs(pt, -50, 9000, 0, 0);
   expect_packet(p, 0, 0, 0, 0);
   expect_packet(p, VMMOUSE_LEFT_BUTTON, 65535, 65535, 0);
   expect_packet(p, VMMOUSE_RIGHT_BUTTON | VMMOUSE_MIDDLE_BUTTON, mks_pointer_scale(400, 800),
                 mks_pointer_scale(300, 600), (uint32_t)-3);
   expect_packet(p, 0, 0, 65535, 0);
   g_assert_cmphex(vm_status(p), ==, 0);
   /* The PS/2 side saw only wake-up nudges (one count right each). */
   uint8_t got[64];
   unsigned n = kbc_drain(p, got, sizeof got);
   g_assert_cmpuint(n, >=, 3);
   int sx = 0;
   for (unsigned i = 0; i < n; i += 3) {
      sx += got[i + 1];
      g_assert_cmpuint(got[i + 2], ==, 0);
   }
   g_assert_cmpint(sx, ==, 4);
   /* Relative input in absolute mode moves the kept position. */
   mks_pointer_abs(pt, 100, 100, 0, 0);
   mks_pointer_rel(pt, 10, -20, 0, 0);
   expect_packet(p, 0, mks_pointer_scale(100, 800), mks_pointer_scale(100, 600), 0);
   expect_packet(p, 0, mks_pointer_scale(110, 800), mks_pointer_scale(80, 600), 0);
   /* A new screen size rescales. */
   mks_pointer_set_screen(pt, 1920, 1080);
   mks_pointer_abs(pt, 1919, 0, 0, 0);
   expect_packet(p, 0, 65535, 0, 0);
   mks_pointer_free(pt);
   vmx_platform_free(p);
}

static void
test_route_switches(void)
{
   vmx_platform *p = setup();
   ps2_enable(p);
   mks_pointer *pt = mks_pointer_new(ps2mouse_get(p), vmmouse_get(p));
   mks_pointer_set_screen(pt, 640, 480);
   mks_pointer_abs(pt, 10, 10, 0, 0);
   mks_pointer_abs(pt, 20, 10, 0, 0);
   KBC_EXPECT(p, 0x08, 10, 0);
   /* The guest's vmmouse driver comes up in relative mode: deltas go on
    * the vmmouse queue, starting afresh (no jump). */
   driver_enable(p, false);
   g_assert_cmpint(mks_pointer_current_route(pt), ==, MKS_POINTER_VMMOUSE_REL);
   mks_pointer_abs(pt, 200, 200, 0, 0);
   mks_pointer_abs(pt, 205, 190, MKS_BUTTON_LEFT, 0);
   g_assert_cmphex(vm_status(p), ==, 8);
   expect_packet(p, VMMOUSE_RELATIVE_PACKET, 0, 0, 0);
   expect_packet(p, VMMOUSE_RELATIVE_PACKET | VMMOUSE_LEFT_BUTTON, 5, 10, 0);
   uint8_t junk[64];
   kbc_drain(p, junk, sizeof junk);
   /* Absolute requested. */
   vm_command(p, VMMOUSE_REQUEST_ABSOLUTE);
   mks_pointer_abs(pt, 639, 479, 0, 0);
   expect_packet(p, 0, 65535, 65535, 0);
   kbc_drain(p, junk, sizeof junk);
   /* Driver unloaded: back to PS/2, again without a jump. */
   vm_command(p, VMMOUSE_DISABLE);
   g_assert_cmpint(mks_pointer_current_route(pt), ==, MKS_POINTER_PS2);
   mks_pointer_abs(pt, 100, 100, 0, 0);
   KBC_EXPECT_NONE(p);
   mks_pointer_abs(pt, 99, 100, 0, 0);
   KBC_EXPECT(p, 0x18, 0xff, 0);
   mks_pointer_free(pt);
   /* No devices at all: events are dropped. */
   pt = mks_pointer_new(NULL, NULL);
   g_assert_cmpint(mks_pointer_current_route(pt), ==, MKS_POINTER_NONE);
   mks_pointer_abs(pt, 1, 1, MKS_BUTTON_LEFT, 0);
   mks_pointer_free(pt);
   vmx_platform_free(p);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/mks/vmmouse/protocol", test_vmmouse_protocol);
   g_test_add_func("/mks/vmmouse/queue-full", test_vmmouse_queue_full);
   g_test_add_func("/mks/vmmouse/notifies-ps2", test_vmmouse_notifies_ps2);
   g_test_add_func("/mks/vmmouse/checkpoint", test_vmmouse_checkpoint);
   g_test_add_func("/mks/vmmouse/needs-backdoor", test_vmmouse_needs_backdoor);
   g_test_add_func("/mks/pointer/scale", test_scale);
   g_test_add_func("/mks/pointer/ps2", test_route_ps2);
   g_test_add_func("/mks/pointer/ps2-wheel", test_route_ps2_wheel);
   g_test_add_func("/mks/pointer/vmmouse-abs", test_route_vmmouse_abs);
   g_test_add_func("/mks/pointer/switches", test_route_switches);
   return g_test_run();
}
