/*
 * Tests of the VMware backdoor dispatcher.
 */
#include "chipset-test.h"
#include "vmx/dev/chipset/backdoor.h"

#include <time.h>

static const vmx_device_desc *const table[] = { &vmx_dev_backdoor };

static vmm_regs
call_regs(uint32_t cmd)
{
   vmm_regs r;
   memset(&r, 0, sizeof r);
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      r.gpr[i] = 0x1111111100000000ull * (i + 1) + 0x01010101u * i;
   }
   r.gpr[VMM_RAX] = 0xdead000000000000ull | BDOOR_MAGIC;
   r.gpr[VMM_RBX] = 0xbeef000000000000ull | (uint32_t)~BDOOR_MAGIC;
   r.gpr[VMM_RCX] = 0xc0de000000000000ull | cmd;
   r.gpr[VMM_RDX] = 0x0000000100000000ull | BDOOR_PORT;
   r.rip = 0x1000;
   r.rflags = 0x202;
   return r;
}

static void
test_getversion(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   g_assert_nonnull(bd);
   /* The command is CX: the upper half of ECX does not matter. */
   vmm_regs r = call_regs(0x5a5a0000u | BDOOR_CMD_GETVERSION), in = r;
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, 6);
   g_assert_cmphex(backdoor_get32(&r, VMM_RBX), ==, BDOOR_MAGIC);
   g_assert_cmphex(backdoor_get32(&r, VMM_RCX), ==, 4);
   /* Only the low halves change. */
   g_assert_cmphex(r.gpr[VMM_RAX] >> 32, ==, 0xdead0000u);
   g_assert_cmphex(r.gpr[VMM_RBX] >> 32, ==, 0xbeef0000u);
   g_assert_cmphex(r.gpr[VMM_RCX] >> 32, ==, 0xc0de0000u);
   for (unsigned i = 0; i < VMM_NGPR; i++) {
      if (i != VMM_RAX && i != VMM_RBX && i != VMM_RCX) {
         g_assert_cmphex(r.gpr[i], ==, in.gpr[i]);
      }
   }
   g_assert_cmphex(r.rip, ==, in.rip);
   vmx_platform_free(p);
}

static void
test_wrong_magic(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   vmm_regs r = call_regs(BDOOR_CMD_GETVERSION);
   r.gpr[VMM_RAX] = BDOOR_MAGIC + 1;
   vmm_regs in = r;
   g_assert_false(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmpmem(&r, sizeof r, &in, sizeof in);
   /* Magic in the upper half only is not the magic either. */
   r.gpr[VMM_RAX] = (uint64_t)BDOOR_MAGIC << 32;
   in = r;
   g_assert_false(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmpmem(&r, sizeof r, &in, sizeof in);
   vmx_platform_free(p);
}

static uint32_t
independent_tsc_mhz(void)
{
   struct timespec t0, t1, d = { 0, 50 * 1000 * 1000 };
   uint32_t lo, hi;
   clock_gettime(CLOCK_MONOTONIC, &t0);
   __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
   uint64_t c0 = ((uint64_t)hi << 32) | lo;
   nanosleep(&d, NULL);
   clock_gettime(CLOCK_MONOTONIC, &t1);
   __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
   uint64_t c1 = ((uint64_t)hi << 32) | lo;
   double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
   return (uint32_t)((double)(c1 - c0) / ns * 1000.0 + 0.5);
}

static void
test_getmhz(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   vmm_regs r = call_regs(BDOOR_CMD_GETMHZ);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   uint32_t mhz = backdoor_get32(&r, VMM_RAX);
   g_assert_cmphex(backdoor_get32(&r, VMM_RBX), ==, BDOOR_MAGIC);
   g_assert_cmphex(backdoor_get32(&r, VMM_RCX), ==, BDOOR_CMD_GETMHZ);
   uint32_t ref = independent_tsc_mhz();
   g_test_message("GETMHZ %u MHz, independent measurement %u MHz", mhz, ref);
   g_assert_cmpuint(mhz, >, 100);
   g_assert_cmpuint(mhz, <, 100000);
   g_assert_cmpuint(mhz * 100, >=, ref * 97);
   g_assert_cmpuint(mhz * 100, <=, ref * 103);
   /* Stable: the second call answers the same. */
   r = call_regs(BDOOR_CMD_GETMHZ);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmpuint(backdoor_get32(&r, VMM_RAX), ==, mhz);
   vmx_platform_free(p);
}

static void
test_gethz(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   vmm_regs r = call_regs(BDOOR_CMD_GETMHZ);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   uint32_t mhz = backdoor_get32(&r, VMM_RAX);
   r = call_regs(BDOOR_CMD_GETHZ);
   r.gpr[VMM_RCX] |= 0xdead0000ull;    /* the high half of CX is not the command */
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   uint64_t hz = backdoor_get32(&r, VMM_RAX) | (uint64_t)backdoor_get32(&r, VMM_RBX) << 32;
   g_test_message("GETHZ %llu Hz", (unsigned long long)hz);
   g_assert_cmphex(backdoor_get32(&r, VMM_RBX), !=, 0xffffffffu);
   g_assert_cmpuint((hz + 500000) / 1000000, ==, mhz);
   g_assert_cmpuint(hz % 1000, ==, 0);                  /* kHz precision */
   g_assert_cmpuint(backdoor_get32(&r, VMM_RCX), ==, 0);  /* no vCPU: bus unknown */
   vmx_platform_free(p);
}

/* The host time commands, as open-vm-tools' timesync reads them. */
static void
test_time(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   gint64 t0 = g_get_real_time();
   vmm_regs r = call_regs(BDOOR_CMD_GETTIMEFULL), in = r;
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   gint64 t1 = g_get_real_time();
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, BDOOR_MAGIC);   /* success */
   uint64_t secs = (uint64_t)backdoor_get32(&r, VMM_RSI) << 32 | backdoor_get32(&r, VMM_RDX);
   gint64 us = (gint64)secs * G_USEC_PER_SEC + backdoor_get32(&r, VMM_RBX);
   g_assert_cmpint(backdoor_get32(&r, VMM_RBX), <, G_USEC_PER_SEC);
   g_assert_cmpint(us, >=, t0 - 1);
   g_assert_cmpint(us, <=, t1 + 1);
   g_assert_cmpuint(backdoor_get32(&r, VMM_RCX), ==, BDOOR_TIME_MAX_LAG_US);
   g_assert_cmphex(r.gpr[VMM_RDI], ==, in.gpr[VMM_RDI]);
   g_assert_cmphex(r.gpr[VMM_RSI] >> 32, ==, in.gpr[VMM_RSI] >> 32);

   r = call_regs(BDOOR_CMD_GETTIMEFULL_WITH_LAG);
   r.gpr[VMM_RDI] = 0x12345678;
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, BDOOR_MAGIC);
   g_assert_cmphex(backdoor_get32(&r, VMM_RDI), ==, 0);
   secs = (uint64_t)backdoor_get32(&r, VMM_RSI) << 32 | backdoor_get32(&r, VMM_RDX);
   g_assert_cmpint((gint64)secs, >=, t0 / G_USEC_PER_SEC);
   g_assert_cmpint((gint64)secs, <=, g_get_real_time() / G_USEC_PER_SEC);

   t0 = g_get_real_time();
   r = call_regs(BDOOR_CMD_GETTIME);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   t1 = g_get_real_time();
   us = (gint64)backdoor_get32(&r, VMM_RAX) * G_USEC_PER_SEC + backdoor_get32(&r, VMM_RBX);
   g_assert_cmpint(us, >=, t0 - 1);
   g_assert_cmpint(us, <=, t1 + 1);
   g_assert_cmpuint(backdoor_get32(&r, VMM_RCX), ==, BDOOR_TIME_MAX_LAG_US);
   GDateTime *dt = g_date_time_new_now_local();
   g_assert_cmpint((int32_t)backdoor_get32(&r, VMM_RDX), ==,
                   g_date_time_get_utc_offset(dt) / G_USEC_PER_SEC / 60);
   g_date_time_unref(dt);

   /* STOPCATCHUP is known (no "unsupported": EAX unchanged). */
   r = call_regs(BDOOR_CMD_STOPCATCHUP);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, BDOOR_MAGIC);
   vmx_platform_free(p);
}

typedef struct echo {
   unsigned calls;
   vmm_vcpu *cpu;
} echo;

static void
echo_cmd(void *o, vmm_vcpu *cpu, vmm_regs *r)
{
   echo *e = o;
   e->calls++;
   e->cpu = cpu;
   backdoor_set32(r, VMM_RAX, backdoor_get32(r, VMM_RBX) + 1);
   backdoor_set32(r, VMM_RDX, 0x12345678);
}

static void
test_register_and_unknown(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   backdoor *bd = backdoor_get(p);
   vmm_regs r = call_regs(200), in = r;
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, 0xffffffffu);
   for (unsigned i = VMM_RCX; i < VMM_NGPR; i++) {
      g_assert_cmphex(r.gpr[i], ==, in.gpr[i]);
   }
   echo e = { 0 };
   char *err = NULL;
   g_assert_true(backdoor_register(bd, 200, echo_cmd, &e, &err));
   g_assert_false(backdoor_register(bd, 200, echo_cmd, &e, &err));
   g_assert_nonnull(strstr(err, "200"));
   g_clear_pointer(&err, g_free);
   g_assert_false(backdoor_register(bd, BDOOR_CMD_GETVERSION, echo_cmd, &e, &err));
   g_clear_pointer(&err, g_free);
   r = call_regs(200);
   r.gpr[VMM_RBX] = 41;
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmpuint(e.calls, ==, 1);
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, 42);
   g_assert_cmphex(backdoor_get32(&r, VMM_RDX), ==, 0x12345678);
   g_assert_cmphex(r.gpr[VMM_RDX] >> 32, ==, 1);
   backdoor_unregister(bd, 200);
   r = call_regs(200);
   g_assert_true(backdoor_dispatch(bd, NULL, &r));
   g_assert_cmpuint(e.calls, ==, 1);
   g_assert_cmphex(backdoor_get32(&r, VMM_RAX), ==, 0xffffffffu);
   vmx_platform_free(p);
}

static void
test_port(void)
{
   vmx_platform *p = test_platform_ok(table, 1, NULL, NULL);
   /* Without a vCPU there are no registers: the port reads as empty. */
   g_assert_cmphex(inl(p, 0x5658), ==, 0xffffffffu);
   g_assert_cmphex(inb(p, 0x5658), ==, 0xff);
   g_assert_cmphex(vmx_platform_pio_read(p, NULL, 0x5658, 2), ==, 0xffff);
   outl(p, 0x5658, BDOOR_MAGIC);
   /* The port is one byte wide: 0x5659 (the high-bandwidth port) is not
    * claimed by this device. */
   g_assert_cmphex(inb(p, 0x5659), ==, 0xff);
   char *err = NULL;
   vmx_platform *q = test_platform(table, 1, "monitor_control.restrict_backdoor = \"maybe\"\n",
                                   NULL, &err);
   g_assert_null(q);
   g_assert_nonnull(strstr(err, "monitor_control.restrict_backdoor"));
   g_free(err);
   q = test_platform_ok(table, 1, "monitor_control.restrict_backdoor = \"TRUE\"\n", NULL);
   vmm_regs r = call_regs(BDOOR_CMD_GETVERSION);
   g_assert_true(backdoor_dispatch(backdoor_get(q), NULL, &r));
   vmx_platform_free(q);
   vmx_platform_free(p);
}

static void
test_save_restore(void)
{
   vmx_platform *a = test_platform_ok(table, 1, NULL, NULL);
   vmx_platform *b = test_platform_ok(table, 1, NULL, NULL);
   /* Nothing determined yet: round trip of an empty section. */
   assert_roundtrip(a, b);
   uint32_t mhz = backdoor_tsc_mhz(backdoor_get(a), NULL);
   assert_roundtrip(a, b);
   /* b answers with a's frequency. Force it to differ first. */
   vmx_platform *c = test_platform_ok(table, 1, NULL, NULL);
   ckpt_writer *w = ckpt_writer_new("backdoor", 1);
   ckpt_put_u32(w, "tsc_khz", 1234567);
   GBytes *sec = ckpt_writer_finish(w);
   gsize n;
   const void *d = g_bytes_get_data(sec, &n);
   char *err = NULL;
   g_assert_true(vmx_platform_restore(c, d, n, &err));
   g_bytes_unref(sec);
   g_assert_cmpuint(backdoor_tsc_mhz(backdoor_get(c), NULL), ==, 1235);
   vmm_regs r = call_regs(BDOOR_CMD_GETMHZ);
   g_assert_true(backdoor_dispatch(backdoor_get(c), NULL, &r));
   g_assert_cmpuint(backdoor_get32(&r, VMM_RAX), ==, 1235);
   g_assert_cmpuint(backdoor_tsc_mhz(backdoor_get(b), NULL), ==, mhz);

   w = ckpt_writer_new("backdoor", 1);
   ckpt_put_u32(w, "tsc_khz", 0);
   assert_restore_refused(c, w, "'tsc_khz' is 0 kHz");
   w = ckpt_writer_new("backdoor", 1);
   ckpt_put_u32(w, "tsc_khz", 200000000);
   assert_restore_refused(c, w, "tsc_khz");
   w = ckpt_writer_new("backdoor", 1);
   ckpt_put_u64(w, "tsc_khz", 1000000);
   assert_restore_refused(c, w, "tsc_khz");
   g_assert_cmpuint(backdoor_tsc_mhz(backdoor_get(c), NULL), ==, 1235);
   vmx_platform_free(a);
   vmx_platform_free(b);
   vmx_platform_free(c);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/backdoor/getversion", test_getversion);
   g_test_add_func("/backdoor/wrong-magic", test_wrong_magic);
   g_test_add_func("/backdoor/getmhz", test_getmhz);
   g_test_add_func("/backdoor/gethz", test_gethz);
   g_test_add_func("/backdoor/time", test_time);
   g_test_add_func("/backdoor/register-unknown", test_register_and_unknown);
   g_test_add_func("/backdoor/port", test_port);
   g_test_add_func("/backdoor/save-restore", test_save_restore);
   return g_test_run();
}
