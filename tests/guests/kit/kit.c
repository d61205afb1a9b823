/*
 * tests/guests/kit/kit.c - the guest test kit's runtime: COM1 output and
 * printf, the PASS/FAIL protocol, boot information (multiboot and PVH),
 * GDT/TSS/IDT setup, trap dispatch with recovery (kit_try, kit_user_run),
 * PCI configuration access and the freestanding C helpers.
 */
#include "kit.h"

#ifndef KIT_PROGRAM
#define KIT_PROGRAM "guest"
#endif

/* start.S */
typedef struct kit_jmpbuf {
   uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip, rflags;
} kit_jmpbuf;

int kit_setjmp(kit_jmpbuf *jb) __attribute__((returns_twice));
void kit_enter_user(uint64_t rip, uint64_t rsp, uint64_t arg, uint64_t rflags)
   __attribute__((noreturn));
extern const uint8_t kit_user_return[], kit_user_exit[], kit_isr_stubs[];
extern uint8_t kit_kstack_top[], kit_ustack_top[], kit_dfstack_top[];
extern uint64_t kit_gdt[];
extern uint64_t kit_pd[];
extern uint32_t kit_boot_magic, kit_boot_info, kit_boot_proto;
void kit_start(void) __attribute__((noreturn));
void kit_trap(kit_frame *f);

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_TSS   0x28

kit_bootinfo kit_boot;

/* ---- freestanding C ---------------------------------------------------------- */

void *memset(void *d, int c, size_t n)
{
   uint8_t *p = d;

   while (n--) {
      *p++ = (uint8_t)c;
   }
   return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
   uint8_t *p = d;
   const uint8_t *q = s;

   while (n--) {
      *p++ = *q++;
   }
   return d;
}

void *memmove(void *d, const void *s, size_t n)
{
   uint8_t *p = d;
   const uint8_t *q = s;

   if (p < q) {
      while (n--) {
         *p++ = *q++;
      }
   } else {
      while (n--) {
         p[n] = q[n];
      }
   }
   return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
   const uint8_t *p = a, *q = b;

   for (size_t i = 0; i < n; i++) {
      if (p[i] != q[i]) {
         return p[i] < q[i] ? -1 : 1;
      }
   }
   return 0;
}

size_t strlen(const char *s)
{
   size_t n = 0;

   while (s[n]) {
      n++;
   }
   return n;
}

int strncmp(const char *a, const char *b, size_t n)
{
   for (size_t i = 0; i < n; i++) {
      if (a[i] != b[i] || !a[i]) {
         return (unsigned char)a[i] - (unsigned char)b[i];
      }
   }
   return 0;
}

int strcmp(const char *a, const char *b)
{
   return strncmp(a, b, (size_t)-1);
}

/* ---- COM1 ----------------------------------------------------------------------- */

static void serial_init(void)
{
   kit_outb(KIT_COM1 + 1, 0x00);   /* no interrupts */
   kit_outb(KIT_COM1 + 3, 0x80);   /* DLAB */
   kit_outb(KIT_COM1 + 0, 0x01);   /* 115200 baud */
   kit_outb(KIT_COM1 + 1, 0x00);
   kit_outb(KIT_COM1 + 3, 0x03);   /* 8N1 */
   kit_outb(KIT_COM1 + 2, 0xc7);   /* FIFO on, cleared */
   kit_outb(KIT_COM1 + 4, 0x03);   /* DTR RTS */
}

void kit_putc(char c)
{
   /* Wait for THR empty, but not forever: no UART must not hang the test. */
   for (int i = 0; i < 100000 && !(kit_inb(KIT_COM1 + 5) & 0x20); i++) {
   }
   kit_outb(KIT_COM1, (uint8_t)c);
}

void kit_puts(const char *s)
{
   while (*s) {
      kit_putc(*s++);
   }
}

/* ---- formatting --------------------------------------------------------------------- */

typedef struct sink {
   void (*put)(struct sink *s, char c);
   char *buf;
   size_t size, len;
} sink;

static void put_serial(sink *s, char c)
{
   (void)s;
   kit_putc(c);
}

static void put_buf(sink *s, char c)
{
   if (s->len + 1 < s->size) {
      s->buf[s->len] = c;
   }
   s->len++;
}

static void emit_num(sink *s, uint64_t v, unsigned base, bool upper, bool neg, int width,
                     bool zero, bool left)
{
   char tmp[24];
   const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
   int n = 0, len;

   do {
      tmp[n++] = digits[v % base];
      v /= base;
   } while (v);
   len = n + (neg ? 1 : 0);
   if (!left && !zero) {
      for (int i = len; i < width; i++) {
         s->put(s, ' ');
      }
   }
   if (neg) {
      s->put(s, '-');
   }
   if (!left && zero) {
      for (int i = len; i < width; i++) {
         s->put(s, '0');
      }
   }
   while (n) {
      s->put(s, tmp[--n]);
   }
   if (left) {
      for (int i = len; i < width; i++) {
         s->put(s, ' ');
      }
   }
}

static void vformat(sink *s, const char *fmt, va_list ap)
{
   for (; *fmt; fmt++) {
      bool left = false, zero = false, upper = false;
      int width = 0, lng = 0;
      uint64_t u;
      int64_t d;

      if (*fmt != '%') {
         s->put(s, *fmt);
         continue;
      }
      fmt++;
      for (;; fmt++) {
         if (*fmt == '-') {
            left = true;
         } else if (*fmt == '0') {
            zero = true;
         } else {
            break;
         }
      }
      while (*fmt >= '0' && *fmt <= '9') {
         width = width * 10 + (*fmt++ - '0');
      }
      while (*fmt == 'l' || *fmt == 'z') {
         lng++;
         fmt++;
      }
      switch (*fmt) {
      case 'd':
      case 'i':
         d = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
         emit_num(s, d < 0 ? (uint64_t)-d : (uint64_t)d, 10, false, d < 0, width, zero, left);
         break;
      case 'u':
      case 'x':
      case 'X':
         u = lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned);
         upper = *fmt == 'X';
         emit_num(s, u, *fmt == 'u' ? 10 : 16, upper, false, width, zero, left);
         break;
      case 'p':
         s->put(s, '0');
         s->put(s, 'x');
         emit_num(s, (uint64_t)(uintptr_t)va_arg(ap, void *), 16, false, false, width, zero,
                  left);
         break;
      case 'c':
         s->put(s, (char)va_arg(ap, int));
         break;
      case 's': {
         const char *str = va_arg(ap, const char *);
         int len;

         if (!str) {
            str = "(null)";
         }
         len = (int)strlen(str);
         for (int i = len; !left && i < width; i++) {
            s->put(s, ' ');
         }
         while (*str) {
            s->put(s, *str++);
         }
         for (int i = len; left && i < width; i++) {
            s->put(s, ' ');
         }
         break;
      }
      case '%':
         s->put(s, '%');
         break;
      case 0:
         return;
      default:
         s->put(s, '%');
         s->put(s, *fmt);
         break;
      }
   }
}

void kit_vprintf(const char *fmt, va_list ap)
{
   sink s = { .put = put_serial };

   vformat(&s, fmt, ap);
}

void kit_printf(const char *fmt, ...)
{
   va_list ap;

   va_start(ap, fmt);
   kit_vprintf(fmt, ap);
   va_end(ap);
}

int kit_snprintf(char *buf, size_t size, const char *fmt, ...)
{
   sink s = { .put = put_buf, .buf = buf, .size = size };
   va_list ap;

   va_start(ap, fmt);
   vformat(&s, fmt, ap);
   va_end(ap);
   if (size) {
      buf[s.len < size ? s.len : size - 1] = 0;
   }
   return (int)s.len;
}

/* ---- the PASS/FAIL protocol ---------------------------------------------------------- */

static unsigned npass, nfail, nskip;

void kit_pass(const char *name)
{
   npass++;
   kit_printf("TEST %s: PASS\n", name);
}

void kit_fail(const char *name, const char *fmt, ...)
{
   va_list ap;

   nfail++;
   kit_printf("TEST %s: FAIL ", name);
   va_start(ap, fmt);
   kit_vprintf(fmt, ap);
   va_end(ap);
   kit_putc('\n');
}

void kit_skip(const char *name, const char *fmt, ...)
{
   va_list ap;

   nskip++;
   kit_printf("TEST %s: SKIP ", name);
   va_start(ap, fmt);
   kit_vprintf(fmt, ap);
   va_end(ap);
   kit_putc('\n');
}

bool kit_check(const char *name, bool cond, const char *fmt, ...)
{
   va_list ap;

   if (cond) {
      kit_pass(name);
      return true;
   }
   nfail++;
   kit_printf("TEST %s: FAIL ", name);
   va_start(ap, fmt);
   kit_vprintf(fmt, ap);
   va_end(ap);
   kit_putc('\n');
   return false;
}

void (*kit_exit_hook)(int result);

void kit_exit(int result)
{
   kit_printf("KIT RESULT: %s\n", result == KIT_PASS ? "PASS" :
              result == KIT_SKIP ? "SKIP" : "FAIL");
   kit_outb(KIT_EXIT_PORT, (uint8_t)result);
   if (kit_exit_hook) {
      kit_exit_hook(result);
   }
   /* No exit device: stop here (the host's timeout ends the run). */
   for (;;) {
      __asm__ volatile("cli; hlt");
   }
}

/* ---- boot information ---------------------------------------------------------------- */

#define MB_BOOT_MAGIC 0x2badb002u
#define PVH_MAGIC     0x336ec578u

static const char empty[] = "";

static void add_ram(uint64_t base, uint64_t len)
{
   kit_boot.ram_bytes += len;
   if (base + len > kit_boot.ram_top) {
      kit_boot.ram_top = base + len;
   }
}

static bool boot_multiboot(void)
{
   const uint8_t *mbi = (const uint8_t *)(uintptr_t)kit_boot_info;
   uint32_t flags;

   if (kit_boot_magic != MB_BOOT_MAGIC || !mbi) {
      kit_printf("kit: bad multiboot magic 0x%x\n", kit_boot_magic);
      return false;
   }
   flags = *(const uint32_t *)mbi;
   if (flags & (1u << 2)) {
      kit_boot.cmdline = (const char *)(uintptr_t)*(const uint32_t *)(mbi + 16);
   }
   if (flags & (1u << 6)) {
      uint32_t len = *(const uint32_t *)(mbi + 44);
      const uint8_t *p = (const uint8_t *)(uintptr_t)*(const uint32_t *)(mbi + 48);
      const uint8_t *end = p + (len < 65536 ? len : 65536);

      while (p + 24 <= end) {
         uint32_t size = *(const uint32_t *)p;
         uint64_t base, l;
         uint32_t type;

         memcpy(&base, p + 4, 8);
         memcpy(&l, p + 12, 8);
         memcpy(&type, p + 20, 4);
         if (type == 1) {
            add_ram(base, l);
         }
         p += size + 4;
      }
   } else if (flags & 1u) {
      add_ram(0, (uint64_t)*(const uint32_t *)(mbi + 4) * 1024);
      add_ram(1u << 20, (uint64_t)*(const uint32_t *)(mbi + 8) * 1024);
   }
   return true;
}

static bool boot_pvh(void)
{
   const uint8_t *si = (const uint8_t *)(uintptr_t)kit_boot_info;
   uint32_t version, n;
   uint64_t cmdline, map;

   if (!si || *(const uint32_t *)si != PVH_MAGIC) {
      kit_printf("kit: bad PVH start_info\n");
      return false;
   }
   version = *(const uint32_t *)(si + 4);
   memcpy(&cmdline, si + 24, 8);
   if (cmdline) {
      kit_boot.cmdline = (const char *)(uintptr_t)cmdline;
   }
   if (version >= 1) {
      memcpy(&map, si + 40, 8);
      n = *(const uint32_t *)(si + 48);
      for (uint32_t i = 0; map && i < n && i < 128; i++) {
         const uint8_t *e = (const uint8_t *)(uintptr_t)(map + 24ull * i);
         uint64_t base, len;
         uint32_t type;

         memcpy(&base, e, 8);
         memcpy(&len, e + 8, 8);
         memcpy(&type, e + 16, 4);
         if (type == 1) {
            add_ram(base, len);
         }
      }
   }
   return true;
}

/* ---- descriptor tables ------------------------------------------------------------------ */

typedef struct __attribute__((packed)) kit_tss {
   uint32_t reserved0;
   uint64_t rsp[3];
   uint64_t reserved1;
   uint64_t ist[7];
   uint64_t reserved2;
   uint16_t reserved3;
   uint16_t iomap_base;
   uint8_t iomap[8192 + 1];   /* all zero: every port allowed; then 0xff */
} kit_tss;

static kit_tss tss __attribute__((aligned(16)));

typedef struct __attribute__((packed)) idt_gate {
   uint16_t off0, sel;
   uint8_t ist, type;
   uint16_t off1;
   uint32_t off2, zero;
} idt_gate;

static idt_gate idt[256] __attribute__((aligned(16)));
static kit_handler handlers[256];
static unsigned unexpected;

static void setup_tables(void)
{
   uint64_t base = (uint64_t)(uintptr_t)&tss;
   uint64_t limit = sizeof tss - 1;
   struct __attribute__((packed)) { uint16_t limit; uint64_t base; } idtr;

   tss.iomap_base = (uint16_t)__builtin_offsetof(kit_tss, iomap);
   tss.iomap[8192] = 0xff;
   tss.rsp[0] = (uint64_t)(uintptr_t)kit_kstack_top;
   tss.ist[0] = (uint64_t)(uintptr_t)kit_dfstack_top;
   kit_gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
                ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
   kit_gdt[6] = base >> 32;
   __asm__ volatile("ltr %w0" :: "r"(SEL_TSS));

   for (unsigned v = 0; v < 256; v++) {
      uint64_t h = (uint64_t)(uintptr_t)kit_isr_stubs + 16ull * v;
      bool user = v == 3 || v == 4;   /* int3 and into work from CPL3 */

      idt[v] = (idt_gate){
         .off0 = (uint16_t)h, .sel = SEL_KCODE, .ist = v == 8 ? 1 : 0,
         .type = user ? 0xee : 0x8e, .off1 = (uint16_t)(h >> 16),
         .off2 = (uint32_t)(h >> 32),
      };
   }
   idtr.limit = sizeof idt - 1;
   idtr.base = (uint64_t)(uintptr_t)idt;
   __asm__ volatile("lidt %0" :: "m"(idtr));
}

uint64_t *kit_pde(uint64_t va)
{
   return va < (4ull << 30) ? &kit_pd[va >> 21] : NULL;
}

/* ---- traps -------------------------------------------------------------------------------- */

static const char *const exc_names[32] = {
   "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
   "#BR bound range", "#UD invalid opcode", "#NM device not available",
   "#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
   "#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
   "#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
   "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
   "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV hypervisor injection",
   "#VC VMM communication", "#SX security", "reserved 31",
};

const char *kit_exception_name(unsigned vector)
{
   return vector < 32 ? exc_names[vector] : "interrupt";
}

void kit_set_gate_dpl(unsigned vector, unsigned dpl)
{
   if (vector < 256) {
      idt[vector].type = (uint8_t)(0x8e | (dpl & 3) << 5);
   }
}

void kit_set_handler(unsigned vector, kit_handler h)
{
   if (vector < 256) {
      handlers[vector] = h;
   }
}

unsigned kit_unexpected_interrupts(void)
{
   return unexpected;
}

static kit_jmpbuf try_jb, user_jb;
static volatile bool try_active, user_active, user_faulted;
static kit_fault *try_fault, *user_fault;
static volatile uint64_t user_result;

/* Makes the trap return to the kit_setjmp() that filled jb, returning 1. */
static void resume_at(kit_frame *f, const kit_jmpbuf *jb)
{
   f->rbx = jb->rbx;
   f->rbp = jb->rbp;
   f->r12 = jb->r12;
   f->r13 = jb->r13;
   f->r14 = jb->r14;
   f->r15 = jb->r15;
   f->rsp = jb->rsp;
   f->rip = jb->rip;
   f->rflags = jb->rflags;
   f->rax = 1;
   f->cs = SEL_KCODE;
   f->ss = SEL_KDATA;
}

void kit_trap(kit_frame *f)
{
   unsigned v = (unsigned)f->vector;
   bool from_user = (f->cs & 3) == 3;

   if (v == 6 && from_user && user_active && f->rip == (uint64_t)(uintptr_t)kit_user_exit) {
      user_result = f->rdi;
      user_active = false;
      resume_at(f, &user_jb);
      return;
   }
   if (handlers[v]) {
      handlers[v](f);
      return;
   }
   if (v < 32) {
      kit_fault flt = {
         .vector = v, .error = f->error, .rip = f->rip,
         .cr2 = v == 14 ? kit_read_cr2() : 0, .user = from_user,
      };

      if (from_user && user_active) {
         *user_fault = flt;
         user_faulted = true;
         user_active = false;
         resume_at(f, &user_jb);
         return;
      }
      if (!from_user && try_active) {
         *try_fault = flt;
         try_active = false;
         resume_at(f, &try_jb);
         return;
      }
      kit_printf("kit: unexpected %s (vector %u) error 0x%lx at rip 0x%lx cs 0x%lx "
                 "rsp 0x%lx cr2 0x%lx\n", exc_names[v], v, f->error, f->rip, f->cs, f->rsp,
                 flt.cr2);
      kit_fail("kit", "unexpected exception %s", exc_names[v]);
      kit_exit(KIT_FAIL);
   }
   unexpected++;
   kit_printf("kit: unexpected interrupt, vector %u\n", v);
}

bool kit_try(void (*fn)(void *), void *arg, kit_fault *fault)
{
   try_fault = fault;
   if (kit_setjmp(&try_jb) == 0) {
      try_active = true;
      fn(arg);
      try_active = false;
      return false;
   }
   return true;
}

bool kit_user_run(uint64_t (*fn)(uint64_t), uint64_t arg, uint64_t *ret, kit_fault *fault)
{
   uintptr_t top;
   uint64_t *usp;
   uint64_t rflags = 0x202;   /* IF: user code always runs interruptible */

   /* The stack symbol is an address, not an array the compiler may reason about. */
   __asm__("" : "=r"(top) : "0"((uintptr_t)kit_ustack_top));
   usp = (uint64_t *)(top - 8);
   *usp = (uint64_t)(uintptr_t)kit_user_return;
   user_fault = fault;
   user_faulted = false;
   if (kit_setjmp(&user_jb) == 0) {
      uint64_t rsp;

      /* Traps from CPL3 land below everything live on this stack. */
      __asm__ volatile("mov %%rsp, %0" : "=r"(rsp));
      tss.rsp[0] = (rsp - 512) & ~15ull;
      user_active = true;
      kit_enter_user((uint64_t)(uintptr_t)fn, (uint64_t)(uintptr_t)usp, arg, rflags);
   }
   tss.rsp[0] = (uint64_t)(uintptr_t)kit_kstack_top;
   if (user_faulted) {
      return true;
   }
   *ret = user_result;
   return false;
}

/* ---- PCI ------------------------------------------------------------------------------------ */

static void pci_select(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
   kit_outl(0xcf8, 0x80000000u | (bus & 0xff) << 16 | (dev & 0x1f) << 11 | (fn & 7) << 8 |
                   (off & 0xfc));
}

uint32_t kit_pci_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
   pci_select(bus, dev, fn, off);
   return kit_inl(0xcfc);
}

uint16_t kit_pci_read16(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
   pci_select(bus, dev, fn, off);
   return kit_inw((uint16_t)(0xcfc + (off & 2)));
}

uint8_t kit_pci_read8(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
   pci_select(bus, dev, fn, off);
   return kit_inb((uint16_t)(0xcfc + (off & 3)));
}

void kit_pci_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
   pci_select(bus, dev, fn, off);
   kit_outl(0xcfc, v);
}

void kit_pci_write16(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint16_t v)
{
   pci_select(bus, dev, fn, off);
   kit_outw((uint16_t)(0xcfc + (off & 2)), v);
}

void kit_pci_write8(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint8_t v)
{
   pci_select(bus, dev, fn, off);
   kit_outb((uint16_t)(0xcfc + (off & 3)), v);
}

unsigned kit_pci_scan(unsigned max_bus, void (*fn)(unsigned bus, unsigned dev, unsigned func,
                                                    uint32_t id, void *arg), void *arg)
{
   unsigned found = 0;

   for (unsigned bus = 0; bus <= max_bus && bus < 256; bus++) {
      for (unsigned dev = 0; dev < 32; dev++) {
         unsigned nfn = 1;

         for (unsigned func = 0; func < nfn; func++) {
            uint32_t id = kit_pci_read32(bus, dev, func, 0);

            if ((id & 0xffff) == 0xffff) {
               continue;
            }
            if (func == 0 && (kit_pci_read8(bus, dev, 0, 0x0e) & 0x80)) {
               nfn = 8;   /* multi-function device */
            }
            found++;
            if (fn) {
               fn(bus, dev, func, id, arg);
            }
         }
      }
   }
   return found;
}

/* ---- start ------------------------------------------------------------------------------------ */

void kit_start(void)
{
   bool ok;

   serial_init();
   kit_boot.proto = (int)kit_boot_proto;
   kit_boot.cmdline = empty;
   ok = kit_boot.proto == KIT_BOOT_MULTIBOOT ? boot_multiboot() :
        kit_boot.proto == KIT_BOOT_PVH ? boot_pvh() : false;
   if (!kit_boot.cmdline) {
      kit_boot.cmdline = empty;
   }
   setup_tables();
   kit_printf("kit: %s, booted via %s, %lu KiB RAM, cmdline '%s'\n", KIT_PROGRAM,
              kit_boot.proto == KIT_BOOT_MULTIBOOT ? "multiboot" :
              kit_boot.proto == KIT_BOOT_PVH ? "PVH" : "an unknown entry",
              kit_boot.ram_bytes / 1024, kit_boot.cmdline);
   if (!ok) {
      kit_fail("kit", "the boot loader's handoff is not valid");
      kit_exit(KIT_FAIL);
   }
   kit_main();
   if (nfail) {
      kit_exit(KIT_FAIL);
   }
   if (npass) {
      kit_exit(KIT_PASS);
   }
   if (nskip) {
      kit_exit(KIT_SKIP);
   }
   kit_fail("kit", "the program reported no result");
   kit_exit(KIT_FAIL);
}
