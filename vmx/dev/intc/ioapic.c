/*
 * vmx/dev/intc/ioapic.c - the I/O APIC.
 *
 * Modelled from the 82093AA data sheet:
 *  - registers through IOREGSEL/IOWIN: ID (bits 27:24), version
 *    (0x00170011: 24 entries, version 0x11), arbitration ID, and the 24
 *    64-bit redirection entries (vector, delivery mode, destination mode,
 *    delivery status (always idle here), polarity, remote IRR, trigger
 *    mode, mask, destination 63:56);
 *  - edge-triggered pins send a message on each rising edge while unmasked
 *    (an edge while masked is lost);
 *  - level-triggered fixed/lowest-priority pins send while asserted,
 *    unmasked and remote IRR clear; remote IRR is set when a LAPIC accepts
 *    the message and cleared by the EOI broadcast of its vector, which
 *    resends if the pin is still asserted. Unmasking a level pin that is
 *    asserted sends. Switching an entry to edge clears its remote IRR.
 *  - NMI, INIT and ExtINT entries send on rising edges whatever the trigger
 *    mode; the reserved modes (011, 110) send nothing.
 */
#include "vmx/dev/intc/ioapic.h"
#include "vmx/dev/intc/intc.h"
#include "vmx/vmxlog.h"

#include <pthread.h>
#include <string.h>

#define RE_LOGICAL  IOAPIC_RE_LOGICAL
#define RE_STATUS   IOAPIC_RE_STATUS
#define RE_POLARITY IOAPIC_RE_POLARITY
#define RE_RIRR     IOAPIC_RE_RIRR
#define RE_LEVEL    IOAPIC_RE_LEVEL
#define RE_MASK     IOAPIC_RE_MASK
#define RE_WRITABLE IOAPIC_RE_WRITABLE

struct intc_ioapic {
   pthread_mutex_t lock;
   uint8_t id, regsel;
   uint32_t lines;
   uint64_t redir[IOAPIC_PINS];
   lapic_bus *bus;
   vmx_platform *p;
   bool mapped;
};

static unsigned
mode_of(uint64_t e)
{
   return (e >> 8) & 7;
}

static bool
uses_rirr(uint64_t e)
{
   return (e & RE_LEVEL) && (mode_of(e) == LAPIC_DM_FIXED || mode_of(e) == LAPIC_DM_LOWEST);
}

/* Lock held. Send pin's message. */
static void
deliver(intc_ioapic *io, unsigned pin)
{
   uint64_t e = io->redir[pin];
   unsigned mode = mode_of(e);
   if (!io->bus || mode == 3 || mode == 6) {
      return;
   }
   lapic_msg m = {
      .dest = (uint32_t)(e >> 56),
      .vector = e & 0xff,
      .mode = (uint8_t)mode,
      .logical = (e & RE_LOGICAL) != 0,
      .level_trig = (e & RE_LEVEL) != 0,
      .assert = true,
      .src = -1,
   };
   if (lapic_bus_deliver(io->bus, &m) && uses_rirr(e)) {
      io->redir[pin] |= RE_RIRR;
   }
}

void
ioapic_set_irq(intc_ioapic *io, unsigned pin, bool level)
{
   if (pin >= IOAPIC_PINS) {
      return;
   }
   uint32_t bit = 1u << pin;
   pthread_mutex_lock(&io->lock);
   bool old = (io->lines & bit) != 0;
   io->lines = level ? io->lines | bit : io->lines & ~bit;
   uint64_t e = io->redir[pin];
   if (level && !(e & RE_MASK)) {
      if (uses_rirr(e) ? !(e & RE_RIRR) : !old) {
         deliver(io, pin);
      }
   }
   pthread_mutex_unlock(&io->lock);
}

void
ioapic_eoi(intc_ioapic *io, uint8_t vector)
{
   pthread_mutex_lock(&io->lock);
   for (unsigned pin = 0; pin < IOAPIC_PINS; pin++) {
      uint64_t e = io->redir[pin];
      if ((e & 0xff) != vector || !(e & RE_RIRR) || !(e & RE_LEVEL)) {
         continue;
      }
      io->redir[pin] = e & ~RE_RIRR;
      if ((io->lines >> pin & 1) && !(e & RE_MASK)) {
         deliver(io, pin);
      }
   }
   pthread_mutex_unlock(&io->lock);
}

/* ---- registers (lock held) */

static uint32_t
read_ind(intc_ioapic *io, uint8_t idx)
{
   switch (idx) {
   case 0x00:
   case 0x02:
      return (uint32_t)(io->id & 0xf) << 24;
   case 0x01:
      return ((IOAPIC_PINS - 1) << 16) | IOAPIC_VERSION;
   default:
      if (idx >= 0x10 && idx < 0x10 + 2 * IOAPIC_PINS) {
         uint64_t e = io->redir[(idx - 0x10) / 2];
         return (idx & 1) ? (uint32_t)(e >> 32) : (uint32_t)e;
      }
      return 0;
   }
}

static void
write_ind(intc_ioapic *io, uint8_t idx, uint32_t v)
{
   if (idx == 0x00) {
      io->id = (v >> 24) & 0xf;
      return;
   }
   if (idx < 0x10 || idx >= 0x10 + 2 * IOAPIC_PINS) {
      return;   /* version, arbitration: read-only; others reserved */
   }
   unsigned pin = (idx - 0x10) / 2u;
   uint64_t e = io->redir[pin];
   if (idx & 1) {
      e = (e & 0xffffffffull) | ((uint64_t)v << 32 & RE_WRITABLE);
   } else {
      e = (e & ~0xffffffffull) | (v & RE_WRITABLE) | (e & (RE_STATUS | RE_RIRR));
      if (!(e & RE_LEVEL)) {
         e &= ~RE_RIRR;
      }
   }
   io->redir[pin] = e;
   if (!(idx & 1) && uses_rirr(e) && !(e & (RE_MASK | RE_RIRR)) && (io->lines >> pin & 1)) {
      deliver(io, pin);
   }
}

/* The 32-bit register at dword-aligned offset a. */
static uint32_t
dword(intc_ioapic *io, uint64_t a)
{
   return a == 0x00 ? io->regsel : a == 0x10 ? read_ind(io, io->regsel) : 0;
}

uint64_t
ioapic_mmio_read(intc_ioapic *io, uint64_t off, unsigned size)
{
   uint64_t v = 0;
   pthread_mutex_lock(&io->lock);
   for (unsigned i = 0; i < size && i < 8; i++) {
      uint64_t a = off + i;
      v |= (uint64_t)((dword(io, a & ~3ull) >> ((a & 3) * 8)) & 0xff) << (8 * i);
   }
   pthread_mutex_unlock(&io->lock);
   return v;
}

void
ioapic_mmio_write(intc_ioapic *io, uint64_t off, unsigned size, uint64_t val)
{
   pthread_mutex_lock(&io->lock);
   if (off == 0x00) {
      io->regsel = (uint8_t)val;
   } else if (off >= 0x10 && off < 0x14) {
      unsigned sh = (unsigned)(off - 0x10) * 8;
      unsigned n = size < 0x14 - off ? size : (unsigned)(0x14 - off);
      uint32_t mask = (n >= 4 ? ~0u : (1u << (n * 8)) - 1) << sh;
      uint32_t cur = read_ind(io, io->regsel);
      write_ind(io, io->regsel, (cur & ~mask) | ((uint32_t)(val << sh) & mask));
   }
   pthread_mutex_unlock(&io->lock);
}

uint64_t
ioapic_redir(intc_ioapic *io, unsigned pin)
{
   pthread_mutex_lock(&io->lock);
   uint64_t e = pin < IOAPIC_PINS ? io->redir[pin] : 0;
   pthread_mutex_unlock(&io->lock);
   return e;
}

/* ---- object */

static uint64_t
mmio_read(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return ioapic_mmio_read(o, off, size);
}

static void
mmio_write(void *o, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   ioapic_mmio_write(o, off, size, val);
}

static void
regs_reset(intc_ioapic *io)
{
   io->id = 0;
   io->regsel = 0;
   for (unsigned i = 0; i < IOAPIC_PINS; i++) {
      io->redir[i] = RE_MASK;
   }
}

intc_ioapic *
ioapic_new(vmx_platform *p, char **err)
{
   intc_ioapic *io = g_new0(intc_ioapic, 1);
   pthread_mutex_init(&io->lock, NULL);
   regs_reset(io);
   io->p = p;
   if (p) {
      vmx_io_region r = { "ioapic", mmio_read, mmio_write, io };
      if (!vmx_platform_map_mmio(p, IOAPIC_BASE, IOAPIC_MMIO_SIZE, &r, err)) {
         pthread_mutex_destroy(&io->lock);
         g_free(io);
         return NULL;
      }
      io->mapped = true;
   }
   return io;
}

void
ioapic_free(intc_ioapic *io)
{
   if (!io) {
      return;
   }
   if (io->mapped) {
      vmx_platform_unmap_mmio(io->p, IOAPIC_BASE);
   }
   pthread_mutex_destroy(&io->lock);
   g_free(io);
}

void
ioapic_reset(intc_ioapic *io)
{
   pthread_mutex_lock(&io->lock);
   regs_reset(io);   /* pin levels stay: the devices still drive them */
   pthread_mutex_unlock(&io->lock);
}

void
ioapic_connect(intc_ioapic *io, lapic_bus *bus)
{
   pthread_mutex_lock(&io->lock);
   io->bus = bus;
   pthread_mutex_unlock(&io->lock);
}

/* ---- state and checkpoint */

void
ioapic_get_state(intc_ioapic *io, ioapic_state *st)
{
   pthread_mutex_lock(&io->lock);
   st->id = io->id;
   st->regsel = io->regsel;
   st->lines = io->lines;
   memcpy(st->redir, io->redir, sizeof st->redir);
   pthread_mutex_unlock(&io->lock);
}

void
ioapic_reset_state(ioapic_state *st)
{
   memset(st, 0, sizeof *st);
   for (unsigned i = 0; i < IOAPIC_PINS; i++) {
      st->redir[i] = RE_MASK;
   }
}

bool
ioapic_set_state(intc_ioapic *io, const ioapic_state *st, char **err)
{
   const char *bad = NULL;
   if (st->id > 0xf) {
      bad = "id";
   } else if (st->lines >> IOAPIC_PINS) {
      bad = "lines";
   }
   for (unsigned i = 0; i < IOAPIC_PINS && !bad; i++) {
      if (st->redir[i] & ~(RE_WRITABLE | RE_RIRR)) {
         bad = "redir";
      } else if ((st->redir[i] & RE_RIRR) && !(st->redir[i] & RE_LEVEL)) {
         bad = "redir";
      }
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section %s: item '%s' has an invalid value",
                             vmx_dev_ioapic.name, bad);
      return false;
   }
   pthread_mutex_lock(&io->lock);
   io->id = st->id;
   io->regsel = st->regsel;
   io->lines = st->lines;
   memcpy(io->redir, st->redir, sizeof io->redir);
   pthread_mutex_unlock(&io->lock);
   return true;
}

void
ioapic_save(intc_ioapic *io, ckpt_writer *w)
{
   ioapic_state st;
   uint8_t tab[IOAPIC_PINS * 8];
   ioapic_get_state(io, &st);
   for (unsigned i = 0; i < IOAPIC_PINS; i++) {
      for (unsigned b = 0; b < 8; b++) {
         tab[i * 8 + b] = (uint8_t)(st.redir[i] >> (8 * b));
      }
   }
   ckpt_put_u8(w, "id", st.id);
   ckpt_put_u8(w, "regsel", st.regsel);
   ckpt_put_u32(w, "lines", st.lines);
   ckpt_put_bytes(w, "redir", tab, sizeof tab);
}

bool
ioapic_restore(intc_ioapic *io, ckpt_reader *r, char **err)
{
   ioapic_state st;
   uint8_t tab[IOAPIC_PINS * 8];
   ioapic_reset_state(&st);
   ckpt_get_u8(r, "id", &st.id);
   ckpt_get_u8(r, "regsel", &st.regsel);
   ckpt_get_u32(r, "lines", &st.lines);
   if (ckpt_get_bytes(r, "redir", tab, sizeof tab)) {
      for (unsigned i = 0; i < IOAPIC_PINS; i++) {
         st.redir[i] = 0;
         for (unsigned b = 0; b < 8; b++) {
            st.redir[i] |= (uint64_t)tab[i * 8 + b] << (8 * b);
         }
      }
   }
   if (ckpt_reader_error(r)) {
      return false;
   }
   return ioapic_set_state(io, &st, err);
}

/* ---- device descriptor */

static void *
dev_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   return ioapic_new(p, err);
}

static void
dev_reset(void *d)
{
   ioapic_reset(d);
}

static void
dev_destroy(void *d)
{
   ioapic_free(d);
}

static void
dev_save(void *d, ckpt_writer *w)
{
   ioapic_save(d, w);
}

static bool
dev_restore(void *d, ckpt_reader *r, char **err)
{
   return ioapic_restore(d, r, err);
}

const vmx_device_desc vmx_dev_ioapic = {
   .name = "ioapic",
   .version = 1,
   .create = dev_create,
   .reset = dev_reset,
   .destroy = dev_destroy,
   .save = dev_save,
   .restore = dev_restore,
};
