/*
 * intc_kvm_save / intc_kvm_restore on a KVM VM with the in-kernel irqchip:
 * a guest (vmm/kvm/tests' kvmtest_intc) programs the PICs, the ELCR, the
 * IOAPIC and the PIT through their ports and MMIO; the sections load into
 * the userspace models and save again byte for byte; the models' sections
 * load into KVM and come back; the PIT counts on; bad sections are refused
 * and leave KVM's chips alone. Exits 77 when /dev/kvm cannot run guests.
 */
#include "kvm-test-env.h"
#include "kvm-test-util.h"

#include <time.h>

static uint64_t
mono_ns(void)
{
   struct timespec ts;
   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t
ticks_of(uint64_t ns)
{
   return (uint64_t)((unsigned __int128)ns * PIT_HZ / 1000000000u);
}

static void
pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   if (port == 0xe1) {
      vmm_vm_stop(vmm_vcpu_vm(cpu));
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

/* A VM whose guest programmed its chips; *latched is the count of counter 2
 * the guest read last, *t0 a time before it did. */
static void
guest_setup(kvmtest_env *env, uint16_t *latched, uint64_t *t0)
{
   vmm_exit ex;
   vmm_regs r;
   kvmtest_env_init(env, 1, &io, NULL);
   kvmtest_enter(env, KVMTEST_GPA(kvmtest_intc), true, 0);
   *t0 = mono_ns();
   g_assert_cmpint(vmm_vcpu_run(env->cpu, &ex), ==, 0);
   if (ex.reason != VMM_EXIT_STOP) {
      g_error("guest: exit %d (%s)", ex.reason, ex.msg);
   }
   g_assert_cmpint(vmm_vcpu_get_regs(env->cpu, &r), ==, 0);
   *latched = (uint16_t)r.gpr[VMM_RBX];
}

static GBytes *
save(vmm_vm *vm)
{
   char *err = NULL;
   GBytes *b = intc_kvm_save(vm, &err);
   if (!b) {
      g_error("intc_kvm_save: %s", err);
   }
   return b;
}

static uint64_t
pit_item(GBytes *all, const char *tag)
{
   GBytes *s = kt_section(all, "pit");
   gsize n;
   size_t used;
   char *err = NULL;
   uint64_t v = 0;
   const void *p = g_bytes_get_data(s, &n);
   ckpt_reader *r = ckpt_reader_new(p, n, &used, &err);
   g_assert_nonnull(r);
   g_assert_true(ckpt_get_u64(r, tag, &v));
   ckpt_reader_free(r);
   g_bytes_unref(s);
   return v;
}

/* KVM -> sections -> models -> sections: the same bytes; the models then
 * behave as the guest programmed KVM, and counter 2 counts on. */
static void
test_kvm_to_models(void)
{
   kvmtest_env env;
   kt_fixture f;
   uint16_t latched;
   uint64_t t0;
   guest_setup(&env, &latched, &t0);
   g_assert_cmpint(vmm_vm_irq_line(env.vm, 9, true), ==, 0);   /* masked level pin */
   g_assert_cmpint(vmm_vm_irq_line(env.vm, 1, true), ==, 0);   /* ISA edge line */
   GBytes *a = save(env.vm);
   uint64_t t1 = mono_ns();

   kt_setup(&f);
   kt_restore(&f, a);
   GBytes *b = kt_save(&f);
   g_assert_true(g_bytes_equal(a, b));
   g_bytes_unref(b);

   /* What the guest set, through the models' registers. */
   g_assert_cmphex(kt_in8(&f, 0x21), ==, 0xb8);
   g_assert_cmphex(kt_in8(&f, 0xa1), ==, 0x8e);
   g_assert_cmphex(kt_in8(&f, 0x4d0), ==, 0x20);
   g_assert_cmphex(kt_in8(&f, 0x4d1), ==, 0x0c);
   g_assert_cmphex(kt_in8(&f, 0x20) & ~1u, ==, 0x02);   /* IRR: IRQ1 (and IRQ0 if it ticked) */
   g_assert_cmphex(kt_in8(&f, 0xa0), ==, 0x00);   /* OCW3 left the slave reading ISR */
   g_assert_cmphex(ioapic_redir(f.io, 9), ==, 0x0100000000018051ull);
   g_assert_cmphex(ioapic_redir(f.io, 16), ==, 0x0300000000018861ull);
   g_assert_cmphex(ioapic_redir(f.io, 20), ==, 0x40);
   vmx_platform_mmio_write(f.p, NULL, IOAPIC_BASE, 4, 0);
   g_assert_cmphex(vmx_platform_mmio_read(f.p, NULL, IOAPIC_BASE + 0x10, 4), ==, 0x05000000);
   /* Priorities as the guest left them (IR3 lowest): IR4 goes before IR1
    * and, while in service, holds IR1 back. */
   kt_out8(&f, 0x21, 0x01);
   vmx_platform_set_irq(f.p, 4, true);
   g_assert_cmpint(pic_ack(f.pic), ==, 0x24);
   g_assert_cmpint(pic_ack(f.pic), ==, 0x27);    /* spurious: IR1 is lower */
   kt_out8(&f, 0x20, 0x20);
   g_assert_cmpint(pic_ack(f.pic), ==, 0x21);

   /* Counter 2: elapsed as the guest's own latch says, then on. */
   uint64_t el = pit_item(a, "c2.elapsed");
   uint64_t guest = 0xffffu - latched;
   g_test_message("counter 2: the guest read %llu ticks, the section says %llu",
                  (unsigned long long)guest, (unsigned long long)el);
   g_assert_cmpuint(el + 1, >=, guest);
   g_assert_cmpuint(el, <=, guest + ticks_of(t1 - t0) + 1);
   kt_teardown(&f);
   kt_setup(&f);
   kt_restore(&f, a);
   g_assert_cmpuint(kt_pit_latched(&f, 2), ==, 0xffff - el);
   uint64_t now = intc_clock_now(f.clock);
   intc_clock_advance(f.clock, 2000000);
   g_assert_cmpuint(kt_pit_latched(&f, 2), ==,
                    0xffff - el - (ticks_of(now + 2000000) - ticks_of(now)));
   /* Counter 0's phase is not knowable from KVM: its period restarts. */
   g_assert_cmpuint(pit_item(a, "c0.elapsed"), ==, 0);
   g_bytes_unref(a);
   kt_teardown(&f);
   kvmtest_env_fini(&env);
}

/* Models -> sections -> KVM -> sections: the PIC and IOAPIC sections come
 * back byte for byte, the PIT's except the counters' elapsed times (KVM
 * restarts its counters when loaded). */
static void
test_models_to_kvm(void)
{
   kvmtest_env env;
   kt_fixture f;
   uint16_t latched;
   uint64_t t0;
   char *err = NULL;
   guest_setup(&env, &latched, &t0);   /* KVM holds other state first */

   kt_setup(&f);
   kt_program_like_guest(&f);
   kt_out8(&f, 0x20, 0xa0);     /* rotate on non-specific EOI (nothing in service) */
   kt_out8(&f, 0x20, 0x80);     /* rotate in automatic EOI: on */
   kt_out8(&f, 0x4d0, 0x28);
   vmx_platform_set_irq(f.p, 9, true);
   vmx_platform_set_irq(f.p, 1, true);
   vmx_platform_set_irq(f.p, 18, true);   /* no PIC line; masked IOAPIC pin */
   kt_out8(&f, 0x43, 0x76);     /* counter 1: mode 3, LSB then MSB */
   kt_out8(&f, 0x41, 0x4d);
   kt_out8(&f, 0x41, 0x01);
   intc_clock_advance(f.clock, 12000000);
   kt_out8(&f, 0x43, 0x40);     /* latch counter 1, read half */
   (void)kt_in8(&f, 0x41);
   kt_out8(&f, 0x43, 0xe8);     /* read-back: status of counter 2 */
   kt_out8(&f, 0x61, 0x03);     /* speaker data on */
   GBytes *u = kt_save(&f);
   gsize n;
   const void *p = g_bytes_get_data(u, &n);
   uint64_t t_load = mono_ns();
   if (!intc_kvm_restore(env.vm, p, n, &err)) {
      g_error("intc_kvm_restore: %s", err);
   }
   g_assert_null(err);
   GBytes *k = save(env.vm);
   uint64_t t_back = mono_ns();

   static const char *const same[] = { "pic", "ioapic" };
   for (unsigned i = 0; i < G_N_ELEMENTS(same); i++) {
      GBytes *x = kt_section(u, same[i]), *y = kt_section(k, same[i]);
      if (!g_bytes_equal(x, y)) {
         g_error("section %s changed on its way through KVM", same[i]);
      }
      g_bytes_unref(x);
      g_bytes_unref(y);
   }
   GBytes *pu = kt_section(u, "pit"), *pk = kt_section(k, "pit");
   uint64_t eu[3], ek[3];
   kt_pit_same_but_time(pu, pk, eu, ek);
   for (unsigned i = 0; i < 3; i++) {
      g_test_message("counter %u: elapsed %llu ticks in the models, %llu after KVM", i,
                     (unsigned long long)eu[i], (unsigned long long)ek[i]);
   }
   g_assert_cmpuint(ek[0], ==, 0);
   g_assert_cmpuint(ek[1], <=, ticks_of(t_back - t_load) + 1);
   g_assert_cmpuint(ek[2], <=, ticks_of(t_back - t_load) + 1);
   g_bytes_unref(pu);
   g_bytes_unref(pk);

   /* Through the monitor's own terms, too. */
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   g_assert_cmpint(vmm_vm_get_irqchip(env.vm, &irq), ==, 0);
   g_assert_cmpint(vmm_vm_get_pit(env.vm, &pit), ==, 0);
   g_assert_cmpuint(irq.pic[0].rotate_on_auto_eoi, ==, 1);
   g_assert_cmphex(irq.pic[0].elcr, ==, 0x28);
   g_assert_cmphex(irq.ioapic.irr, ==, 1u << 1 | 1u << 9 | 1u << 18);
   g_assert_cmpuint(pit.ch[1].mode, ==, 3);
   g_assert_cmpuint(pit.ch[1].count, ==, 333);
   g_assert_cmpuint(pit.ch[1].count_latched, ==, VMM_PIT_RW_MSB);
   g_assert_cmpuint(pit.ch[2].status_latched, ==, 1);
   g_assert_cmphex(pit.flags, ==, VMM_PIT_SPEAKER_DATA_ON);
   g_bytes_unref(u);
   g_bytes_unref(k);
   kt_teardown(&f);
   kvmtest_env_fini(&env);
}

static void
assert_untouched(kvmtest_env *env, const vmm_irqchip_state *irq, const vmm_pit_state *pit)
{
   vmm_irqchip_state i2;
   vmm_pit_state p2;
   g_assert_cmpint(vmm_vm_get_irqchip(env->vm, &i2), ==, 0);
   g_assert_cmpint(vmm_vm_get_pit(env->vm, &p2), ==, 0);
   g_assert_cmpmem(i2.pic, sizeof i2.pic, irq->pic, sizeof irq->pic);
   g_assert_cmpuint(i2.ioapic.id, ==, irq->ioapic.id);
   g_assert_cmpuint(i2.ioapic.ioregsel, ==, irq->ioapic.ioregsel);
   g_assert_cmphex(i2.ioapic.irr, ==, irq->ioapic.irr);
   g_assert_cmpmem(i2.ioapic.redir, sizeof i2.ioapic.redir, irq->ioapic.redir,
                   sizeof irq->ioapic.redir);
   g_assert_cmphex(p2.flags, ==, pit->flags);
   for (unsigned i = 0; i < 3; i++) {
      vmm_pit_channel x = p2.ch[i], y = pit->ch[i];
      /* Not reloaded: counter 2 is further on, not back at 0. */
      g_assert_cmpuint(x.elapsed_ns, >=, y.elapsed_ns);
      x.elapsed_ns = y.elapsed_ns = 0;
      g_assert_cmpmem(&x, sizeof x, &y, sizeof y);
   }
}

/* Bad sections are refused with a message, and KVM's chips are untouched. */
static void
test_refused(void)
{
   kvmtest_env env;
   kt_fixture f;
   uint16_t latched;
   uint64_t t0;
   vmm_irqchip_state irq;
   vmm_pit_state pit;
   guest_setup(&env, &latched, &t0);
   /* Counter 0 ticks every 10 ms: after its first tick (IRQ0 latched in
    * the PIC's IRR, not acknowledged) the chips hold still. */
   g_usleep(30000);
   g_assert_cmpint(vmm_vm_get_irqchip(env.vm, &irq), ==, 0);
   g_assert_cmpint(vmm_vm_get_pit(env.vm, &pit), ==, 0);
   g_assert_cmphex(irq.pic[0].irr & 1, ==, 1);
   GBytes *good = save(env.vm);
   gsize n;
   const uint8_t *p = g_bytes_get_data(good, &n);

   kt_setup(&f);
   kt_out8(&f, 0x20, 0x19);     /* level-triggered mode: no such thing in KVM */
   GBytes *ltim = kt_save(&f);
   kt_teardown(&f);
   ckpt_writer *w = ckpt_writer_new("pit", 1);
   ckpt_put_u8(w, "c0.mode", 7);
   GBytes *badmode = ckpt_writer_finish(w);
   GBytes *pic = kt_section(good, "pic");
   GBytes *twice = kt_concat(good, pic);

   struct {
      const char *what;
      const void *data;
      size_t len;
      const char *needle;
   } cases[] = {
      { "short by one byte", p, n - 1, "truncated" },
      { "short by ten bytes", p, n - 10, "truncated" },
      { "three bytes", p, 3, NULL },
      { "LTIM", g_bytes_get_data(ltim, NULL), g_bytes_get_size(ltim), "level-triggered" },
      { "bad PIT mode", g_bytes_get_data(badmode, NULL), g_bytes_get_size(badmode), "mode" },
      { "pic twice", g_bytes_get_data(twice, NULL), g_bytes_get_size(twice), "twice" },
   };
   for (unsigned i = 0; i < G_N_ELEMENTS(cases); i++) {
      char *err = NULL;
      g_assert_false(intc_kvm_restore(env.vm, cases[i].data, cases[i].len, &err));
      g_assert_nonnull(err);
      g_test_message("%s: %s", cases[i].what, err);
      if (cases[i].needle && !strstr(err, cases[i].needle)) {
         g_error("%s: message \"%s\" lacks \"%s\"", cases[i].what, err, cases[i].needle);
      }
      g_free(err);
      assert_untouched(&env, &irq, &pit);
   }
   g_bytes_unref(ltim);
   g_bytes_unref(badmode);
   g_bytes_unref(pic);
   g_bytes_unref(twice);
   g_bytes_unref(good);
   kvmtest_env_fini(&env);
}

int
main(int argc, char **argv)
{
   char why[256];
   if (vmm_kvm_check(why, sizeof why) < 0) {
      printf("SKIP: %s\n", why);
      return 77;
   }
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/intc-kvm/kvm-to-models", test_kvm_to_models);
   g_test_add_func("/intc-kvm/models-to-kvm", test_models_to_kvm);
   g_test_add_func("/intc-kvm/refused", test_refused);
   return g_test_run();
}
