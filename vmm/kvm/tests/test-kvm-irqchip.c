/*
 * vmm/kvm/tests/test-kvm-irqchip.c - the in-kernel PIC, IOAPIC and PIT
 * state through vmm_vm_get/set_irqchip and vmm_vm_get/set_pit: a guest
 * programs the chips through their ports and MMIO (kvmtest_intc), and the
 * state reads back in the terms of the data sheets; set and get round-trip;
 * bad states are refused and change nothing; the PIT's elapsed time
 * follows the counter; the software monitor answers -ENOTSUP.
 */
#include "kvm-test-env.h"

#include <errno.h>
#include <string.h>
#include <time.h>

static kvmtest_env env;

static void pio_write(void *opaque, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   (void)opaque;
   (void)size;
   (void)val;
   if (port == 0xe1) {
      vmm_vm_stop(vmm_vcpu_vm(cpu));
   }
}

static const vmm_io_ops io = { .pio_write = pio_write };

static uint64_t mono_ns(void)
{
   struct timespec ts;

   clock_gettime(CLOCK_MONOTONIC, &ts);
   return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
   struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

   nanosleep(&ts, NULL);
}

#define PIT_TICKS(ns) ((uint64_t)((unsigned __int128)(ns) * 1193182u / 1000000000u))

static void check_programmed(const vmm_irqchip_state *s)
{
   const vmm_pic_chip *m = &s->pic[0], *sl = &s->pic[1];

   KVMTEST_CHECK(m->irq_base == 0x20 && sl->irq_base == 0x28, "vector bases %#x %#x",
                 m->irq_base, sl->irq_base);
   KVMTEST_CHECK(m->imr == 0xb8 && sl->imr == 0x8e, "masks %#x %#x", m->imr, sl->imr);
   KVMTEST_CHECK(m->init_state == 0 && sl->init_state == 0, "init state %u %u",
                 m->init_state, sl->init_state);
   KVMTEST_CHECK(m->init4 == 1 && sl->init4 == 1 && m->auto_eoi == 0 &&
                 m->special_fully_nested_mode == 0, "ICW1/ICW4 bits");
   KVMTEST_CHECK(m->priority_add == 4, "master highest priority IR%u, want IR4 "
                 "(IR3 lowest)", m->priority_add);
   KVMTEST_CHECK(sl->priority_add == 0, "slave priority %u", sl->priority_add);
   KVMTEST_CHECK(sl->read_reg_select == 1 && m->read_reg_select == 0, "OCW3 RIS");
   KVMTEST_CHECK(m->elcr == 0x20 && sl->elcr == 0x0c, "ELCR %#x %#x", m->elcr, sl->elcr);
   KVMTEST_CHECK(s->ioapic.id == 5, "IOAPIC ID %u", s->ioapic.id);
   KVMTEST_CHECK(s->ioapic.ioregsel == 0x23, "IOREGSEL %#x", s->ioapic.ioregsel);
   KVMTEST_CHECK(s->ioapic.redir[9] == 0x0100000000018051ull, "pin 9 %#llx",
                 (unsigned long long)s->ioapic.redir[9]);
   KVMTEST_CHECK(s->ioapic.redir[16] == 0x0300000000018861ull, "pin 16 %#llx",
                 (unsigned long long)s->ioapic.redir[16]);
   KVMTEST_CHECK(s->ioapic.redir[20] == 0x40, "pin 20 %#llx",
                 (unsigned long long)s->ioapic.redir[20]);
   KVMTEST_CHECK(s->ioapic.redir[0] == 1ull << 16, "pin 0 at power-on: masked");
}

int main(void)
{
   vmm_irqchip_state a, b, bad;
   vmm_pit_state p, q, badp;
   vmm_regs r;
   vmm_exit ex;
   uint64_t t_read, el_ticks;
   int e;

   setvbuf(stdout, NULL, _IONBF, 0);
#ifdef VMM_HAVE_SOFT
   {
      vmm_config cfg = { .kind = VMM_KIND_SOFTWARE, .nvcpus = 1 };

      memset(&a, 0, sizeof a);
      memset(&q, 0, sizeof q);
      char err[256];
      vmm_vm *vm = vmm_vm_create(&cfg, err, sizeof err);

      KVMTEST_CHECK(vm, "software monitor: %s", err);
      KVMTEST_CHECK(vmm_vm_get_irqchip(vm, &a) == -ENOTSUP &&
                    vmm_vm_set_irqchip(vm, &a) == -ENOTSUP &&
                    vmm_vm_get_pit(vm, &p) == -ENOTSUP && vmm_vm_set_pit(vm, &q) == -ENOTSUP,
                    "the software monitor has no in-kernel chips");
      vmm_vm_destroy(vm);
      printf("ok - software monitor: -ENOTSUP\n");
   }
#endif
   kvmtest_require_kvm();
   kvmtest_env_init(&env, 1, &io, NULL);

   /* Power-on: nothing programmed. */
   KVMTEST_CHECK(vmm_vm_get_pit(env.vm, &p) == 0, "get_pit");
   for (unsigned i = 0; i < 3; i++) {
      KVMTEST_CHECK(p.ch[i].mode == VMM_PIT_MODE_NONE && p.ch[i].rw_mode == 0 &&
                    p.ch[i].count == 0x10000 && p.ch[i].gate == (i != 2) &&
                    !p.ch[i].elapsed_known, "counter %u at power-on: mode %#x rw %u count %u",
                    i, p.ch[i].mode, p.ch[i].rw_mode, p.ch[i].count);
   }
   printf("ok - power-on PIT: no counter programmed\n");

   kvmtest_enter(&env, KVMTEST_GPA(kvmtest_intc), true, 0);
   t_read = mono_ns();   /* before the guest latches counter 2 */
   e = vmm_vcpu_run(env.cpu, &ex);
   KVMTEST_CHECK(e == 0 && ex.reason == VMM_EXIT_STOP, "run: rc %d reason %d (%s)", e,
                 ex.reason, ex.msg);
   KVMTEST_CHECK(vmm_vcpu_get_regs(env.cpu, &r) == 0, "get_regs");
   /* Counter 0 ticks every 10 ms; after its first IRQ0 (latched in the
    * PIC's IRR, never acknowledged, so KVM injects no more) the chips hold
    * still while we compare them. */
   sleep_ms(30);

   /* A masked level line stays in IRR (the IOAPIC owes its message). */
   KVMTEST_CHECK(vmm_vm_irq_line(env.vm, 9, true) == 0, "irq_line 9");
   KVMTEST_CHECK(vmm_vm_get_irqchip(env.vm, &a) == 0, "get_irqchip");
   check_programmed(&a);
   KVMTEST_CHECK(a.pic[0].irr & 1, "IRQ0 from counter 0 not in the PIC's IRR (%#x)",
                 a.pic[0].irr);
   KVMTEST_CHECK(a.ioapic.irr & (1u << 9), "IOAPIC irr %#x lacks pin 9", a.ioapic.irr);
   KVMTEST_CHECK(a.pic[1].last_irr & 0x02, "slave line IR1 (IRQ9) %#x", a.pic[1].last_irr);
   printf("ok - the guest's PIC, ELCR and IOAPIC programming reads back\n");

   KVMTEST_CHECK(vmm_vm_get_pit(env.vm, &p) == 0, "get_pit");
   KVMTEST_CHECK(p.ch[0].mode == 2 && p.ch[0].rw_mode == VMM_PIT_RW_WORD0 &&
                 p.ch[0].count == 11932 && p.ch[0].gate == 1, "counter 0: mode %u rw %u "
                 "count %u", p.ch[0].mode, p.ch[0].rw_mode, p.ch[0].count);
   KVMTEST_CHECK(!p.ch[0].elapsed_known && p.ch[0].elapsed_ns == 0,
                 "KVM cannot tell counter 0's phase; the monitor says so");
   KVMTEST_CHECK(p.ch[2].mode == 0 && p.ch[2].count == 0xffff && p.ch[2].gate == 1 &&
                 p.ch[2].elapsed_known && p.ch[2].count_latched == 0 &&
                 p.ch[2].read_state == VMM_PIT_RW_WORD0 &&
                 p.ch[2].write_state == VMM_PIT_RW_WORD0, "counter 2");
   KVMTEST_CHECK(p.ch[1].mode == VMM_PIT_MODE_NONE, "counter 1 untouched");
   KVMTEST_CHECK(p.flags == 0, "flags %#x", p.flags);
   /* The guest latched counter 2 just before it stopped: the elapsed time
    * says at least as much, and no more than the time since the run began. */
   el_ticks = PIT_TICKS(p.ch[2].elapsed_ns);
   {
      uint64_t guest_ticks = 0xffffu - (r.gpr[VMM_RBX] & 0xffff);
      uint64_t since = PIT_TICKS(mono_ns() - t_read) + 2;

      KVMTEST_CHECK(el_ticks + 2 >= guest_ticks && el_ticks <= guest_ticks + since,
                    "counter 2: the guest read %llu ticks, elapsed_ns says %llu (+%llu since)",
                    (unsigned long long)guest_ticks, (unsigned long long)el_ticks,
                    (unsigned long long)since);
      printf("ok - counter 2 elapsed %llu ticks; the guest's latch said %llu\n",
             (unsigned long long)el_ticks, (unsigned long long)guest_ticks);
   }

   /* set(get()) changes nothing. */
   KVMTEST_CHECK(vmm_vm_set_irqchip(env.vm, &a) == 0, "set_irqchip");
   KVMTEST_CHECK(vmm_vm_get_irqchip(env.vm, &b) == 0, "get_irqchip");
   KVMTEST_CHECK(memcmp(&a, &b, sizeof a) == 0, "irqchip state changed by set(get())");
   printf("ok - set_irqchip(get_irqchip()) is a no-op\n");

   /* A state of our own: every PIC field, IOAPIC pins and irr. */
   b.pic[0].isr = 0x01;
   b.pic[0].irr = 0x40;
   b.pic[0].priority_add = 6;
   b.pic[0].special_mask = 1;
   b.pic[0].auto_eoi = 1;
   b.pic[0].rotate_on_auto_eoi = 1;
   b.pic[1].poll = 1;
   b.pic[1].special_fully_nested_mode = 1;
   b.pic[1].init_state = 3;
   b.pic[1].elcr = 0x9c;
   b.ioapic.id = 9;
   b.ioapic.ioregsel = 0x3f;
   b.ioapic.redir[3] = 0xff0000000001a3ffull;   /* masked, level, remote IRR clear */
   b.ioapic.irr = (1u << 9) | (1u << 3);
   KVMTEST_CHECK(vmm_vm_set_irqchip(env.vm, &b) == 0, "set_irqchip (own state)");
   KVMTEST_CHECK(vmm_vm_get_irqchip(env.vm, &a) == 0, "get_irqchip");
   KVMTEST_CHECK(memcmp(&a, &b, sizeof a) == 0, "own irqchip state did not read back");
   printf("ok - a state of our own reads back field by field\n");

   /* Refused, and nothing changes. */
   {
      const char *what[] = { "init_state 4", "priority_add 8", "irq_base 0x21",
                             "master ELCR IRQ2", "slave ELCR IRQ13", "IOAPIC id 16",
                             "irr pin 24", "redir reserved bit", "poll 2" };

      for (unsigned i = 0; i < sizeof what / sizeof what[0]; i++) {
         bad = a;
         switch (i) {
         case 0: bad.pic[1].init_state = 4; break;
         case 1: bad.pic[0].priority_add = 8; break;
         case 2: bad.pic[0].irq_base = 0x21; break;
         case 3: bad.pic[0].elcr = 0x04; break;
         case 4: bad.pic[1].elcr = 0x20; break;
         case 5: bad.ioapic.id = 16; break;
         case 6: bad.ioapic.irr = 1u << 24; break;
         case 7: bad.ioapic.redir[5] = 1ull << 40; break;
         default: bad.pic[0].poll = 2; break;
         }
         e = vmm_vm_set_irqchip(env.vm, &bad);
         KVMTEST_CHECK(e == -EINVAL, "%s: set_irqchip returned %d", what[i], e);
         KVMTEST_CHECK(vmm_vm_get_irqchip(env.vm, &b) == 0, "get_irqchip");
         KVMTEST_CHECK(memcmp(&a, &b, sizeof a) == 0, "%s changed the state", what[i]);
      }
      printf("ok - bad irqchip states refused, state untouched\n");
   }

   /* PIT: set(get()) keeps every register; KVM restarts the counts. */
   KVMTEST_CHECK(vmm_vm_get_pit(env.vm, &p) == 0, "get_pit");
   p.ch[2].elapsed_ns = 5000000000ull;   /* 5 s into a one-shot */
   p.flags = VMM_PIT_SPEAKER_DATA_ON;
   p.ch[1] = (vmm_pit_channel){ .count = 333, .latched_count = 0x1234,
                                .count_latched = VMM_PIT_RW_MSB, .status_latched = 1,
                                .status = 0x36, .read_state = VMM_PIT_RW_WORD1,
                                .write_state = VMM_PIT_RW_WORD1, .write_latch = 0x77,
                                .rw_mode = VMM_PIT_RW_WORD0, .mode = 3, .gate = 1,
                                .elapsed_known = 1, .elapsed_ns = 1000 };
   KVMTEST_CHECK(vmm_vm_set_pit(env.vm, &p) == 0, "set_pit");
   sleep_ms(20);
   KVMTEST_CHECK(vmm_vm_get_pit(env.vm, &q) == 0, "get_pit");
   for (unsigned i = 0; i < 3; i++) {
      vmm_pit_channel x = p.ch[i], y = q.ch[i];

      x.elapsed_ns = y.elapsed_ns = 0;
      KVMTEST_CHECK(memcmp(&x, &y, sizeof x) == 0, "counter %u registers changed by set", i);
   }
   KVMTEST_CHECK(q.flags == VMM_PIT_SPEAKER_DATA_ON, "flags %#x", q.flags);
   if (q.ch[2].elapsed_ns < 1000000000ull) {
      printf("ok - set_pit keeps the registers; KVM restarted counter 2 (elapsed %llu ns)\n",
             (unsigned long long)q.ch[2].elapsed_ns);
   } else {
      KVMTEST_CHECK(q.ch[2].elapsed_ns >= p.ch[2].elapsed_ns + 20000000ull,
                    "counter 2 elapsed %llu ns after setting %llu ns and 20 ms",
                    (unsigned long long)q.ch[2].elapsed_ns,
                    (unsigned long long)p.ch[2].elapsed_ns);
      printf("ok - set_pit keeps the registers and the phase of counter 2\n");
   }
   KVMTEST_CHECK(q.ch[2].elapsed_ns >= 20000000ull, "counter 2 elapsed %llu ns < 20 ms",
                 (unsigned long long)q.ch[2].elapsed_ns);

   {
      const char *what[] = { "count 0", "count 65537", "mode 6", "gate 0 low", "rw 0",
                             "read_state 5", "flags 4", "NONE with rw_mode" };

      for (unsigned i = 0; i < sizeof what / sizeof what[0]; i++) {
         badp = q;
         switch (i) {
         case 0: badp.ch[0].count = 0; break;
         case 1: badp.ch[1].count = 65537; break;
         case 2: badp.ch[2].mode = 6; break;
         case 3: badp.ch[0].gate = 0; break;
         case 4: badp.ch[2].rw_mode = 0; break;
         case 5: badp.ch[1].read_state = 5; break;
         case 6: badp.flags = 4; break;
         default:
            badp.ch[1].mode = VMM_PIT_MODE_NONE;
            break;
         }
         e = vmm_vm_set_pit(env.vm, &badp);
         KVMTEST_CHECK(e == -EINVAL, "%s: set_pit returned %d", what[i], e);
         KVMTEST_CHECK(vmm_vm_get_pit(env.vm, &p) == 0, "get_pit");
         for (unsigned c = 0; c < 3; c++) {
            vmm_pit_channel x = p.ch[c], y = q.ch[c];

            KVMTEST_CHECK(x.elapsed_ns >= y.elapsed_ns, "%s: counter %u restarted", what[i], c);
            x.elapsed_ns = y.elapsed_ns = 0;
            KVMTEST_CHECK(memcmp(&x, &y, sizeof x) == 0, "%s changed counter %u", what[i], c);
         }
      }
      printf("ok - bad PIT states refused, state untouched\n");
   }
   kvmtest_env_fini(&env);

   printf("PASS\n");
   return 0;
}
