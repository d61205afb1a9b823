/*
 * tests/guests/kit/platform.c - PC platform helpers for kit programs. See
 * platform.h.
 */
#include "platform.h"

/* ---- kernel command line ------------------------------------------------------------ */

bool kit_cmdline_get(const char *key, char *buf, size_t size)
{
   const char *p = kit_boot.cmdline;
   size_t klen = strlen(key);

   while (p && *p) {
      while (*p == ' ') {
         p++;
      }
      if (strncmp(p, key, klen) == 0 && p[klen] == '=') {
         size_t n = 0;

         p += klen + 1;
         while (p[n] && p[n] != ' ') {
            n++;
         }
         if (size) {
            size_t c = n < size - 1 ? n : size - 1;

            memcpy(buf, p, c);
            buf[c] = 0;
         }
         return true;
      }
      while (*p && *p != ' ') {
         p++;
      }
   }
   return false;
}

bool kit_cmdline_u64(const char *key, uint64_t *v)
{
   char buf[32];
   const char *p = buf;
   unsigned base = 10;
   uint64_t r = 0;

   if (!kit_cmdline_get(key, buf, sizeof buf) || !buf[0]) {
      return false;
   }
   if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
      base = 16;
      p += 2;
   }
   for (; *p; p++) {
      unsigned d;

      if (*p >= '0' && *p <= '9') {
         d = (unsigned)(*p - '0');
      } else if (base == 16 && *p >= 'a' && *p <= 'f') {
         d = (unsigned)(*p - 'a' + 10);
      } else if (base == 16 && *p >= 'A' && *p <= 'F') {
         d = (unsigned)(*p - 'A' + 10);
      } else {
         return false;
      }
      r = r * base + d;
   }
   *v = r;
   return true;
}

/* ---- CMOS ------------------------------------------------------------------------------ */

uint8_t kit_cmos_read(uint8_t index)
{
   kit_outb(0x70, index & 0x7f);
   return kit_inb(0x71);
}

void kit_cmos_write(uint8_t index, uint8_t v)
{
   kit_outb(0x70, index & 0x7f);
   kit_outb(0x71, v);
}

/* ---- time ------------------------------------------------------------------------------ */

static bool timing_leaf(uint32_t r[4])
{
   kit_cpuid(1, 0, r);
   if (!(r[2] & (1u << 31))) {
      return false;   /* no hypervisor */
   }
   kit_cpuid(0x40000000, 0, r);
   if (r[0] < 0x40000010 || r[0] > 0x400000ff) {
      return false;
   }
   kit_cpuid(0x40000010, 0, r);
   return true;
}

uint64_t kit_tsc_khz(void)
{
   static uint64_t khz;
   uint32_t r[4];

   if (!khz && timing_leaf(r)) {
      khz = r[0];
   }
   return khz;
}

uint64_t kit_apic_bus_khz(void)
{
   uint32_t r[4];

   return timing_leaf(r) ? r[1] : 0;
}

void kit_udelay(uint64_t us)
{
   uint64_t khz = kit_tsc_khz(), t0 = kit_rdtsc();
   uint64_t ticks = us * (khz ? khz : 1000000) / 1000;

   while (kit_rdtsc() - t0 < ticks) {
      __asm__ volatile("pause");
   }
}

/* ---- ACPI ------------------------------------------------------------------------------- */

uint8_t kit_acpi_sum(const void *p, size_t len)
{
   const uint8_t *b = p;
   uint8_t s = 0;

   while (len--) {
      s = (uint8_t)(s + *b++);
   }
   return s;
}

static const uint8_t *scan_rsdp(uint64_t start, uint64_t end)
{
   for (uint64_t a = start; a + 20 <= end; a += 16) {
      const uint8_t *p = (const uint8_t *)(uintptr_t)a;

      if (memcmp(p, "RSD PTR ", 8) == 0 && kit_acpi_sum(p, 20) == 0) {
         return p;
      }
   }
   return NULL;
}

const uint8_t *kit_acpi_rsdp(void)
{
   static const uint8_t *cached;
   uintptr_t bda_ebda = 0x40e;
   uint64_t ebda;

   /* A fixed physical address, not an object the compiler may reason about. */
   __asm__("" : "+r"(bda_ebda));
   ebda = (uint64_t)*(volatile const uint16_t *)bda_ebda << 4;

   if (cached) {
      return cached;
   }
   if (ebda >= 0x80000 && ebda < 0xa0000) {
      cached = scan_rsdp(ebda, ebda + 1024);
   }
   if (!cached) {
      cached = scan_rsdp(0xe0000, 0x100000);
   }
   return cached;
}

static uint32_t get32(const void *p)
{
   uint32_t v;

   memcpy(&v, p, 4);
   return v;
}

static uint64_t get64(const void *p)
{
   uint64_t v;

   memcpy(&v, p, 8);
   return v;
}

static const kit_acpi_header *fadt_dsdt(const kit_acpi_header *fadt)
{
   const uint8_t *f = (const uint8_t *)fadt;
   uint64_t a = 0;

   if (fadt->length >= 148) {
      a = get64(f + 140);   /* X_DSDT */
   }
   if (!a && fadt->length >= 44) {
      a = get32(f + 40);    /* DSDT */
   }
   return a && a < (4ull << 30) ? (const kit_acpi_header *)(uintptr_t)a : NULL;
}

const kit_acpi_header *kit_acpi_table(const char *sig, unsigned n)
{
   const uint8_t *rsdp = kit_acpi_rsdp();
   const kit_acpi_header *root = NULL;
   unsigned esize = 4;

   if (!rsdp) {
      return NULL;
   }
   if (strncmp(sig, "DSDT", 4) == 0) {
      const kit_acpi_header *fadt = kit_acpi_table("FACP", 0);

      return n == 0 && fadt ? fadt_dsdt(fadt) : NULL;
   }
   if (rsdp[15] >= 2 && get64(rsdp + 24) && get64(rsdp + 24) < (4ull << 30)) {
      root = (const kit_acpi_header *)(uintptr_t)get64(rsdp + 24);
      esize = 8;
   } else {
      root = (const kit_acpi_header *)(uintptr_t)get32(rsdp + 16);
   }
   if (!root || root->length < sizeof *root || root->length > 65536) {
      return NULL;
   }
   for (uint32_t off = sizeof *root; off + esize <= root->length; off += esize) {
      const uint8_t *e = (const uint8_t *)root + off;
      uint64_t a = esize == 8 ? get64(e) : get32(e);
      const kit_acpi_header *t = (const kit_acpi_header *)(uintptr_t)a;

      if (a && a < (4ull << 30) && memcmp(t->sig, sig, 4) == 0 && n-- == 0) {
         return t;
      }
   }
   return NULL;
}

/* One AML integer constant at p (ZeroOp, OneOp, OnesOp, Byte/Word/DWord
 * prefix); returns its length, 0 when it is not one. */
static unsigned aml_int(const uint8_t *p, const uint8_t *end, uint32_t *v)
{
   if (p >= end) {
      return 0;
   }
   switch (p[0]) {
   case 0x00: *v = 0; return 1;
   case 0x01: *v = 1; return 1;
   case 0xff: *v = 0xffffffffu; return 1;
   case 0x0a: if (p + 2 > end) return 0; *v = p[1]; return 2;
   case 0x0b: if (p + 3 > end) return 0; *v = (uint32_t)(p[1] | p[2] << 8); return 3;
   case 0x0c: if (p + 5 > end) return 0; *v = get32(p + 1); return 5;
   default: return 0;
   }
}

bool kit_acpi_s5(kit_acpi_sleep *s, const char **why)
{
   const kit_acpi_header *fadt = kit_acpi_table("FACP", 0), *dsdt;
   const uint8_t *f, *p, *end;

   memset(s, 0, sizeof *s);
   if (!kit_acpi_rsdp()) {
      *why = "no RSDP in 0xE0000-0xFFFFF";
      return false;
   }
   if (!fadt || fadt->length < 76) {
      *why = "no FADT";
      return false;
   }
   f = (const uint8_t *)fadt;
   s->pm1a_cnt = (uint16_t)get32(f + 64);
   s->pm1b_cnt = (uint16_t)get32(f + 68);
   if (!s->pm1a_cnt && fadt->length >= 184 && f[172] == 1) {   /* X_PM1a_CNT_BLK, I/O */
      s->pm1a_cnt = (uint16_t)get64(f + 176);
   }
   if (!s->pm1a_cnt) {
      *why = "the FADT has no PM1a_CNT_BLK";
      return false;
   }
   dsdt = fadt_dsdt(fadt);
   if (!dsdt || memcmp(dsdt->sig, "DSDT", 4) != 0 || dsdt->length < sizeof *dsdt) {
      *why = "no DSDT";
      return false;
   }
   p = (const uint8_t *)dsdt + sizeof *dsdt;
   end = (const uint8_t *)dsdt + dsdt->length;
   for (; p + 4 < end; p++) {
      const uint8_t *q;
      unsigned pkglen_bytes, n;
      uint32_t a, b;

      if (memcmp(p, "_S5_", 4) != 0) {
         continue;
      }
      /* NameOp [\] "_S5_" PackageOp PkgLength NumElements a b ... */
      if (!(p[-1] == 0x08 || (p[-1] == '\\' && p[-2] == 0x08))) {
         continue;
      }
      q = p + 4;
      if (q >= end || *q != 0x12) {
         continue;
      }
      q++;
      pkglen_bytes = (unsigned)(*q >> 6) + 1;
      q += pkglen_bytes + 1;   /* PkgLength, NumElements */
      if (!(n = aml_int(q, end, &a))) {
         continue;
      }
      q += n;
      if (!aml_int(q, end, &b)) {
         b = 0;
      }
      s->slp_typ_a = (uint8_t)(a & 7);
      s->slp_typ_b = (uint8_t)(b & 7);
      return true;
   }
   *why = "no \\_S5 package in the DSDT";
   return false;
}

void kit_acpi_poweroff(void)
{
   kit_acpi_sleep s;
   const char *why = "";

   if (!kit_acpi_s5(&s, &why)) {
      kit_printf("kit: cannot power off through ACPI: %s\n", why);
      return;
   }
   kit_outw(s.pm1a_cnt, (uint16_t)(s.slp_typ_a << 10 | 0x2000));
   if (s.pm1b_cnt) {
      kit_outw(s.pm1b_cnt, (uint16_t)(s.slp_typ_b << 10 | 0x2000));
   }
   /* A machine that powers off never comes back here; give it a moment. */
   kit_udelay(200000);
   kit_printf("kit: still running after ACPI S5 (PM1a_CNT 0x%x, SLP_TYP %u)\n", s.pm1a_cnt,
              s.slp_typ_a);
}

static void poweroff_hook(int result)
{
   (void)result;
   kit_acpi_poweroff();
}

void kit_poweroff_at_exit(void)
{
   kit_exit_hook = poweroff_hook;
}

bool kit_acpi_madt(kit_madt *m)
{
   const kit_acpi_header *t = kit_acpi_table("APIC", 0);
   const uint8_t *p, *end;

   memset(m, 0, sizeof *m);
   if (!t || t->length < 44) {
      return false;
   }
   p = (const uint8_t *)t;
   m->lapic_addr = get32(p + 36);
   m->pcat_compat = get32(p + 40) & 1;
   end = p + t->length;
   for (p += 44; p + 2 <= end && p[1] >= 2 && p + p[1] <= end; p += p[1]) {
      switch (p[0]) {
      case 0:   /* processor local APIC */
         if (p[1] >= 8 && (get32(p + 4) & 1) && m->ncpus < KIT_MAX_CPUS) {
            m->apic_id[m->ncpus++] = p[3];
         }
         break;
      case 1:   /* IOAPIC */
         if (p[1] >= 12) {
            if (!m->nioapics) {
               m->ioapic_id = p[2];
               m->ioapic_addr = get32(p + 4);
               m->ioapic_gsi_base = get32(p + 8);
            }
            m->nioapics++;
         }
         break;
      case 2:   /* interrupt source override */
         if (p[1] >= 10 && m->niso < 16) {
            m->iso[m->niso].irq = p[3];
            m->iso[m->niso].gsi = get32(p + 4);
            m->iso[m->niso].flags = (uint16_t)(p[8] | p[9] << 8);
            m->niso++;
         }
         break;
      default:
         break;
      }
   }
   return true;
}

uint32_t kit_isa_irq_gsi(const kit_madt *m, unsigned irq, bool *level, bool *low)
{
   *level = false;
   *low = false;
   for (unsigned i = 0; i < m->niso; i++) {
      if (m->iso[i].irq == irq) {
         unsigned pol = m->iso[i].flags & 3, trig = (m->iso[i].flags >> 2) & 3;

         *low = pol == 3;
         *level = trig == 3;
         return m->iso[i].gsi;
      }
   }
   return irq;
}

/* ---- local APIC ------------------------------------------------------------------------------ */

void kit_lapic_enable(void)
{
   kit_lapic_write(KIT_LAPIC_TPR, 0);
   kit_lapic_write(KIT_LAPIC_SVR, 0x100 | KIT_VEC_SPURIOUS);
}

/* ---- IOAPIC ------------------------------------------------------------------------------------ */

uint32_t kit_ioapic_read(unsigned reg)
{
   kit_mmio_write32(KIT_IOAPIC_BASE, reg);
   return kit_mmio_read32(KIT_IOAPIC_BASE + 0x10);
}

void kit_ioapic_write(unsigned reg, uint32_t v)
{
   kit_mmio_write32(KIT_IOAPIC_BASE, reg);
   kit_mmio_write32(KIT_IOAPIC_BASE + 0x10, v);
}

uint64_t kit_ioapic_entry(unsigned pin)
{
   uint64_t lo = kit_ioapic_read(0x10 + 2 * pin), hi = kit_ioapic_read(0x11 + 2 * pin);

   return hi << 32 | lo;
}

void kit_ioapic_set_entry(unsigned pin, uint64_t e)
{
   /* Masked while the halves disagree. */
   kit_ioapic_write(0x10 + 2 * pin, KIT_IOAPIC_MASKED);
   kit_ioapic_write(0x11 + 2 * pin, (uint32_t)(e >> 32));
   kit_ioapic_write(0x10 + 2 * pin, (uint32_t)e);
}

void kit_ioapic_route(unsigned pin, uint8_t vector, unsigned apic_id, uint32_t flags)
{
   kit_ioapic_set_entry(pin, (uint64_t)apic_id << 56 | (flags & ~0xffu) | vector);
}

void kit_ioapic_mask(unsigned pin)
{
   kit_ioapic_write(0x10 + 2 * pin, kit_ioapic_read(0x10 + 2 * pin) | KIT_IOAPIC_MASKED);
}

/* ---- 8259 PICs -------------------------------------------------------------------------------- */

void kit_pic_init(uint8_t base)
{
   kit_outb(0x20, 0x11);   /* ICW1: edge, cascade, ICW4 */
   kit_outb(0xa0, 0x11);
   kit_outb(0x21, base);   /* ICW2: vectors */
   kit_outb(0xa1, (uint8_t)(base + 8));
   kit_outb(0x21, 0x04);   /* ICW3: slave on IRQ2 */
   kit_outb(0xa1, 0x02);
   kit_outb(0x21, 0x01);   /* ICW4: 8086 mode, normal EOI */
   kit_outb(0xa1, 0x01);
   kit_pic_set_mask(0xffff);
}

void kit_pic_set_mask(uint16_t mask)
{
   kit_outb(0x21, (uint8_t)mask);
   kit_outb(0xa1, (uint8_t)(mask >> 8));
}

void kit_pic_eoi(unsigned irq)
{
   if (irq >= 8) {
      kit_outb(0xa0, 0x20);
   }
   kit_outb(0x20, 0x20);
}

/* ---- PIT ---------------------------------------------------------------------------------------- */

void kit_pit_rate(uint32_t divisor)
{
   uint16_t d = (uint16_t)(divisor >= 65536 ? 0 : divisor);

   kit_outb(0x43, 0x34);   /* channel 0, lobyte/hibyte, mode 2, binary */
   kit_outb(0x40, (uint8_t)d);
   kit_outb(0x40, (uint8_t)(d >> 8));
}

void kit_pit_stop(void)
{
   kit_outb(0x43, 0x30);   /* channel 0, lobyte/hibyte, mode 0 */
   kit_outb(0x40, 1);
   kit_outb(0x40, 0);
}

/* ---- waiting at CPL3 ------------------------------------------------------------------------------ */

typedef struct wait_args {
   volatile uint32_t *counter;
   uint32_t target;
   uint64_t ticks;
} wait_args;

static uint64_t user_wait(uint64_t arg)
{
   const wait_args *w = (const wait_args *)(uintptr_t)arg;
   uint64_t t0 = kit_rdtsc(), t;

   do {
      __asm__ volatile("pause");
      t = kit_rdtsc() - t0;
   } while (*w->counter < w->target && t < w->ticks);
   return t;
}

uint64_t kit_wait_irqs(volatile uint32_t *counter, uint32_t target, uint64_t tsc_ticks)
{
   wait_args w = { counter, target, tsc_ticks };
   uint64_t ret = 0;
   kit_fault f;

   if (kit_user_run(user_wait, (uint64_t)(uintptr_t)&w, &ret, &f)) {
      kit_printf("kit: waiting at CPL3 raised %s at rip 0x%lx\n",
                 kit_exception_name((unsigned)f.vector), f.rip);
      return 0;
   }
   return ret;
}
