/*
 * vmx/dev/chipset/pci.c - PCI host bridge (configuration mechanism #1) and
 * the PCI device framework: config space with masks, BARs and their
 * mapping, INTx routing, MSI. See pci.h for the model.
 */
#include "vmx/dev/chipset/pci.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/vmxlog.h"

#include <pthread.h>
#include <string.h>

#define CF8_PORT 0xcf8
#define CFC_PORT 0xcfc
#define CF8_ENABLE 0x80000000u
#define CF8_MASK 0x80fffffcu

#define HOST_VENDOR 0x8086
#define HOST_DEVICE 0x1237
#define HOST_REVISION 0x02
#define HOST_CLASS 0x060000

#define CAP_START 0x40
#define PCI_MAX_CAPS 16

typedef struct pci_bar {
   bool defined;       /* this slot holds a BAR (the low half for 64-bit) */
   bool upper;         /* this slot is the upper half of a 64-bit BAR */
   pci_bar_kind kind;
   bool prefetch;
   uint64_t size;
   vmx_io_region region;
   char *name;
   uint64_t mapped;    /* address, or PCI_BAR_UNMAPPED */
} pci_bar;

struct pci_func {
   pci_host *h;
   unsigned dev, fn;
   char *name;
   pci_func_info info;
   uint8_t cfg[256];
   uint8_t wmask[256];
   uint8_t w1c[256];
   uint8_t init[256];    /* power-on values of guest-writable bits */
   uint8_t fixed[256];   /* bits a checkpoint must match */
   pci_bar bar[PCI_NUM_BARS];
   unsigned cap_next;    /* where the next capability goes by default */
   unsigned cap_last;    /* offset of the last capability, 0 if none */
   struct {
      uint8_t off, len;
   } caps[PCI_MAX_CAPS];
   unsigned ncaps;
   unsigned msi;         /* MSI capability offset, 0 if none */
   unsigned msi_nvec;
   bool msi_64, msi_maskable;
   bool msi_bad_logged;
   bool intx;            /* the function asserts its pin */
};

struct pci_host {
   vmx_platform *p;
   pthread_mutex_t lock;
   uint32_t cf8;
   pci_func *funcs[PCI_MAX_DEVICES][PCI_MAX_FUNCTIONS];
   bool gsi_level[PCI_INTX_GSI_COUNT];
   pci_msi_sink_fn msi_sink;
   void *msi_opaque;
   unsigned msi_dropped_logged;
   bool ports_mapped;
};

typedef struct msi_msg {
   uint64_t addr;
   uint32_t data;
} msi_msg;

/* ---- little-endian config helpers (host lock held) */

static uint32_t
rd(const uint8_t *a, unsigned off, unsigned size)
{
   uint32_t v = 0;
   for (unsigned i = 0; i < size; i++) {
      v |= (uint32_t)a[off + i] << (8 * i);
   }
   return v;
}

static void
wr(uint8_t *a, unsigned off, unsigned size, uint32_t v)
{
   for (unsigned i = 0; i < size; i++) {
      a[off + i] = (uint8_t)(v >> (8 * i));
   }
}

static bool
range_ok(unsigned off, unsigned size)
{
   return (size == 1 || size == 2 || size == 4) && off + size <= 256;
}

unsigned
pci_intx_gsi(unsigned dev, unsigned pin)
{
   return PCI_INTX_GSI_BASE + ((dev + pin - 1) % PCI_INTX_GSI_COUNT);
}

pci_host *
pci_host_get(vmx_platform *p)
{
   return vmx_platform_device(p, "pci");
}

/* ---- INTx */

static bool
msi_on(const pci_func *f)
{
   return f->msi && (rd(f->cfg, f->msi + 2, 2) & PCI_MSI_FLAGS_ENABLE);
}

static bool
pin_out(const pci_func *f)
{
   return f->intx && f->info.int_pin && !(rd(f->cfg, PCI_COMMAND, 2) & PCI_COMMAND_INTX_DISABLE) &&
          !msi_on(f);
}

static void
update_gsi(pci_host *h, unsigned g, bool force)
{
   bool level = false;
   for (unsigned d = 0; d < PCI_MAX_DEVICES && !level; d++) {
      for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
         pci_func *f = h->funcs[d][fn];
         if (f && f->info.int_pin && pci_intx_gsi(d, f->info.int_pin) - PCI_INTX_GSI_BASE == g &&
             pin_out(f)) {
            level = true;
            break;
         }
      }
   }
   if (force || level != h->gsi_level[g]) {
      h->gsi_level[g] = level;
      vmx_platform_set_irq(h->p, PCI_INTX_GSI_BASE + g, level);
   }
}

static void
update_func_gsi(pci_func *f)
{
   if (f->info.int_pin) {
      update_gsi(f->h, pci_intx_gsi(f->dev, f->info.int_pin) - PCI_INTX_GSI_BASE, false);
   }
}

/* ---- BARs */

static uint64_t
bar_decoded(const pci_func *f, unsigned i)
{
   const pci_bar *b = &f->bar[i];
   uint16_t cmd = (uint16_t)rd(f->cfg, PCI_COMMAND, 2);
   uint32_t lo = rd(f->cfg, PCI_BAR0 + 4 * i, 4);
   if (b->kind == PCI_BAR_IO) {
      if (!(cmd & PCI_COMMAND_IO)) {
         return PCI_BAR_UNMAPPED;
      }
      uint32_t mask = ~(uint32_t)(b->size - 1) & ~3u;
      uint32_t a = lo & mask;
      if (a == 0 || a == mask || (uint64_t)a + b->size > 0x10000) {
         return PCI_BAR_UNMAPPED;
      }
      return a;
   }
   if (!(cmd & PCI_COMMAND_MEMORY)) {
      return PCI_BAR_UNMAPPED;
   }
   if (b->kind == PCI_BAR_MEM32) {
      uint32_t mask = ~(uint32_t)(b->size - 1) & ~0xfu;
      uint32_t a = lo & mask;
      if (a == 0 || a == mask || (uint64_t)a + b->size > (1ull << 32)) {
         return PCI_BAR_UNMAPPED;
      }
      return a;
   }
   uint64_t mask = ~(b->size - 1) & ~0xfull;
   uint32_t lo_mask = (uint32_t)mask, hi_mask = (uint32_t)(mask >> 32);
   uint32_t hi = rd(f->cfg, PCI_BAR0 + 4 * (i + 1), 4);
   uint64_t a = (((uint64_t)hi << 32) | lo) & mask;
   if (a == 0 || (lo_mask && (lo & lo_mask) == lo_mask) || (hi_mask && (hi & hi_mask) == hi_mask) ||
       a + b->size < a) {
      return PCI_BAR_UNMAPPED;
   }
   return a;
}

static void
bar_unmap(pci_func *f, pci_bar *b)
{
   if (b->mapped == PCI_BAR_UNMAPPED) {
      return;
   }
   if (b->kind == PCI_BAR_IO) {
      vmx_platform_unmap_pio(f->h->p, (uint16_t)b->mapped, (uint32_t)b->size);
   } else {
      vmx_platform_unmap_mmio(f->h->p, b->mapped);
   }
   b->mapped = PCI_BAR_UNMAPPED;
}

static void
update_mappings(pci_func *f)
{
   for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
      pci_bar *b = &f->bar[i];
      if (!b->defined) {
         continue;
      }
      uint64_t want = bar_decoded(f, i);
      if (want == b->mapped) {
         continue;
      }
      bar_unmap(f, b);
      if (want == PCI_BAR_UNMAPPED) {
         continue;
      }
      char *err = NULL;
      bool ok = b->kind == PCI_BAR_IO
                   ? vmx_platform_map_pio(f->h->p, (uint16_t)want, (uint32_t)b->size, &b->region,
                                          &err)
                   : vmx_platform_map_mmio(f->h->p, want, b->size, &b->region, &err);
      if (ok) {
         b->mapped = want;
      } else {
         vmxlog("PCI %02x.%x %s: BAR%u at 0x%llx left unmapped: %s", f->dev, f->fn, f->name, i,
                (unsigned long long)want, err);
         g_free(err);
      }
   }
}

/* ---- MSI */

static unsigned
msi_data_off(const pci_func *f)
{
   return f->msi + (f->msi_64 ? 0x0c : 0x08);
}

static unsigned
msi_mask_off(const pci_func *f)
{
   return f->msi + (f->msi_64 ? 0x10 : 0x0c);
}

static unsigned
msi_enabled_vectors(const pci_func *f)
{
   return 1u << ((rd(f->cfg, f->msi + 2, 2) & PCI_MSI_FLAGS_QSIZE) >> 4);
}

static msi_msg
msi_message(const pci_func *f, unsigned v)
{
   msi_msg m;
   m.addr = rd(f->cfg, f->msi + 4, 4) & ~3u;
   if (f->msi_64) {
      m.addr |= (uint64_t)rd(f->cfg, f->msi + 8, 4) << 32;
   }
   unsigned n = msi_enabled_vectors(f);
   m.data = (rd(f->cfg, msi_data_off(f), 2) & ~(n - 1)) | v;
   return m;
}

static void
msi_deliver(pci_host *h, const msi_msg *m, unsigned n)
{
   for (unsigned i = 0; i < n; i++) {
      if (h->msi_sink) {
         h->msi_sink(h->msi_opaque, m[i].addr, m[i].data);
      } else if (vmx_platform_vmm(h->p)) {
         vmm_vm_msi(vmx_platform_vmm(h->p), m[i].addr, m[i].data);
      } else if (__atomic_fetch_add(&h->msi_dropped_logged, 1, __ATOMIC_RELAXED) < 8) {
         vmxlog("PCI: MSI to 0x%llx data 0x%x dropped: no monitor attached",
                (unsigned long long)m[i].addr, m[i].data);
      }
   }
}

/* Pending, now unmasked vectors: clear them and collect their messages. */
static unsigned
msi_collect_unmasked(pci_func *f, msi_msg *out)
{
   if (!f->msi_maskable || !msi_on(f) || !(rd(f->cfg, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
      return 0;
   }
   unsigned mo = msi_mask_off(f);
   uint32_t mask = rd(f->cfg, mo, 4), pend = rd(f->cfg, mo + 4, 4);
   unsigned n = 0, nv = msi_enabled_vectors(f);
   for (unsigned v = 0; v < nv; v++) {
      if ((pend & (1u << v)) && !(mask & (1u << v))) {
         pend &= ~(1u << v);
         out[n++] = msi_message(f, v);
      }
   }
   wr(f->cfg, mo + 4, 4, pend);
   return n;
}

/* ---- function registration */

static void
set_masks(pci_func *f, unsigned off, unsigned size, uint32_t wmask, uint32_t w1c, uint32_t fixed)
{
   wr(f->wmask, off, size, wmask);
   wr(f->w1c, off, size, w1c);
   wr(f->fixed, off, size, fixed);
}

static void
update_multifunction(pci_host *h, unsigned dev)
{
   unsigned n = 0;
   for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
      n += h->funcs[dev][fn] != NULL;
   }
   for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
      pci_func *f = h->funcs[dev][fn];
      if (f) {
         uint8_t ht = (f->cfg[PCI_HEADER_TYPE] & 0x7f) | (n > 1 ? 0x80 : 0);
         f->cfg[PCI_HEADER_TYPE] = ht;
         f->init[PCI_HEADER_TYPE] = ht;
      }
   }
}

pci_func *
pci_register(pci_host *h, unsigned bus, unsigned dev, unsigned fn, const pci_func_info *info,
             char **err)
{
   const char *name = info->name ? info->name : "function";
   if (bus != 0 || dev >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCTIONS) {
      *err = g_strdup_printf("PCI %s: address %02x:%02x.%x does not exist (bus 0 only, "
                             "devices 0-31, functions 0-7)", name, bus, dev, fn);
      return NULL;
   }
   if (info->int_pin > 4) {
      *err = g_strdup_printf("PCI %s: interrupt pin %u (must be 0-4)", name, info->int_pin);
      return NULL;
   }
   if (info->vendor_id == 0xffff || info->vendor_id == 0) {
      *err = g_strdup_printf("PCI %s: vendor ID 0x%04x is not valid", name, info->vendor_id);
      return NULL;
   }
   pthread_mutex_lock(&h->lock);
   if (h->funcs[dev][fn]) {
      *err = g_strdup_printf("PCI %s: 00:%02x.%x is taken by %s", name, dev, fn,
                             h->funcs[dev][fn]->name);
      pthread_mutex_unlock(&h->lock);
      return NULL;
   }
   pci_func *f = g_new0(pci_func, 1);
   f->h = h;
   f->dev = dev;
   f->fn = fn;
   f->name = g_strdup(name);
   f->info = *info;
   f->info.name = f->name;
   f->cap_next = CAP_START;
   for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
      f->bar[i].mapped = PCI_BAR_UNMAPPED;
   }
   /* Everything below 0x40 is fixed unless opened up below. */
   memset(f->fixed, 0xff, CAP_START);
   wr(f->cfg, PCI_VENDOR_ID, 2, info->vendor_id);
   wr(f->cfg, PCI_DEVICE_ID, 2, info->device_id);
   set_masks(f, PCI_COMMAND, 2, 0x0547, 0, 0xffff & ~0x0547);
   set_masks(f, PCI_STATUS, 2, 0, PCI_STATUS_W1C,
             0xffff & ~(PCI_STATUS_W1C | PCI_STATUS_INTERRUPT));
   f->cfg[PCI_REVISION_ID] = info->revision;
   wr(f->cfg, PCI_CLASS_PROG, 3, info->class_code & 0xffffff);
   set_masks(f, PCI_CACHE_LINE_SIZE, 2, 0xffff, 0, 0);
   wr(f->cfg, PCI_SUBSYSTEM_VENDOR, 2, info->subsys_vendor_id);
   wr(f->cfg, PCI_SUBSYSTEM_ID, 2, info->subsys_id);
   f->cfg[PCI_INTERRUPT_PIN] = info->int_pin;
   uint8_t line = info->int_pin ? (uint8_t)pci_intx_gsi(dev, info->int_pin) : 0;
   f->cfg[PCI_INTERRUPT_LINE] = line;
   f->init[PCI_INTERRUPT_LINE] = line;
   set_masks(f, PCI_INTERRUPT_LINE, 1, 0xff, 0, 0);
   h->funcs[dev][fn] = f;
   update_multifunction(h, dev);
   pthread_mutex_unlock(&h->lock);
   return f;
}

void
pci_unregister(pci_func *f)
{
   if (!f) {
      return;
   }
   pci_host *h = f->h;
   pthread_mutex_lock(&h->lock);
   for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
      bar_unmap(f, &f->bar[i]);
   }
   h->funcs[f->dev][f->fn] = NULL;
   update_multifunction(h, f->dev);
   if (f->info.int_pin) {
      update_gsi(h, pci_intx_gsi(f->dev, f->info.int_pin) - PCI_INTX_GSI_BASE, false);
   }
   pthread_mutex_unlock(&h->lock);
   for (unsigned i = 0; i < PCI_NUM_BARS; i++) {
      g_free(f->bar[i].name);
   }
   g_free(f->name);
   g_free(f);
}

bool
pci_bar_define(pci_func *f, unsigned index, pci_bar_kind kind, bool prefetchable, uint64_t size,
               const vmx_io_region *region, char **err)
{
   unsigned slots = kind == PCI_BAR_MEM64 ? 2 : 1;
   if (index + slots > PCI_NUM_BARS) {
      *err = g_strdup_printf("PCI %s: BAR%u does not exist%s", f->name, index,
                             slots == 2 ? " (a 64-bit BAR takes two slots)" : "");
      return false;
   }
   uint64_t min = kind == PCI_BAR_IO ? 4 : 16;
   uint64_t max = kind == PCI_BAR_IO ? 256 : kind == PCI_BAR_MEM32 ? (1ull << 31) : (1ull << 62);
   if (size < min || size > max || (size & (size - 1))) {
      *err = g_strdup_printf("PCI %s: BAR%u size 0x%llx must be a power of two from 0x%llx "
                             "to 0x%llx", f->name, index, (unsigned long long)size,
                             (unsigned long long)min, (unsigned long long)max);
      return false;
   }
   if (kind == PCI_BAR_IO && prefetchable) {
      *err = g_strdup_printf("PCI %s: BAR%u: an I/O BAR cannot be prefetchable", f->name, index);
      return false;
   }
   pthread_mutex_lock(&f->h->lock);
   for (unsigned i = index; i < index + slots; i++) {
      if (f->bar[i].defined || f->bar[i].upper) {
         pthread_mutex_unlock(&f->h->lock);
         *err = g_strdup_printf("PCI %s: BAR%u is already defined", f->name, i);
         return false;
      }
   }
   pci_bar *b = &f->bar[index];
   b->defined = true;
   b->kind = kind;
   b->prefetch = prefetchable;
   b->size = size;
   b->region = *region;
   b->name = g_strdup_printf("PCI 00:%02x.%x %s BAR%u", f->dev, f->fn, f->name, index);
   b->region.name = b->name;
   b->mapped = PCI_BAR_UNMAPPED;
   unsigned off = PCI_BAR0 + 4 * index;
   uint32_t type, wmask;
   if (kind == PCI_BAR_IO) {
      type = 1;
      wmask = ~(uint32_t)(size - 1) & ~3u;
   } else {
      type = (kind == PCI_BAR_MEM64 ? 4u : 0u) | (prefetchable ? 8u : 0u);
      wmask = (uint32_t)(~(size - 1)) & ~0xfu;
   }
   wr(f->cfg, off, 4, type);
   set_masks(f, off, 4, wmask, 0, ~wmask);
   if (kind == PCI_BAR_MEM64) {
      uint32_t hmask = (uint32_t)(~(size - 1) >> 32);
      f->bar[index + 1].upper = true;
      wr(f->cfg, off + 4, 4, 0);
      set_masks(f, off + 4, 4, hmask, 0, ~hmask);
   }
   pthread_mutex_unlock(&f->h->lock);
   return true;
}

uint64_t
pci_bar_address(pci_func *f, unsigned index)
{
   if (index >= PCI_NUM_BARS) {
      return PCI_BAR_UNMAPPED;
   }
   pthread_mutex_lock(&f->h->lock);
   uint64_t a = f->bar[index].mapped;
   pthread_mutex_unlock(&f->h->lock);
   return a;
}

static bool
in_cap(const pci_func *f, unsigned off)
{
   for (unsigned i = 0; i < f->ncaps; i++) {
      if (off >= f->caps[i].off && off < (unsigned)f->caps[i].off + f->caps[i].len) {
         return true;
      }
   }
   return false;
}

unsigned
pci_cap_add(pci_func *f, unsigned at, uint8_t id, unsigned len, char **err)
{
   pthread_mutex_lock(&f->h->lock);
   unsigned off = at ? at : f->cap_next;
   unsigned alen = (len + 3) & ~3u;
   const char *why = NULL;
   if (len < 2) {
      why = "shorter than its header";
   } else if (off < CAP_START || (off & 3) || off + alen > 256) {
      why = "outside 0x40-0xff or not dword-aligned";
   } else if (f->ncaps == PCI_MAX_CAPS) {
      why = "too many capabilities";
   } else {
      for (unsigned i = off; i < off + alen; i++) {
         if (in_cap(f, i)) {
            why = "overlapping another capability";
            break;
         }
      }
   }
   if (why) {
      pthread_mutex_unlock(&f->h->lock);
      *err = g_strdup_printf("PCI %s: capability 0x%02x (%u bytes) at 0x%x: %s", f->name, id,
                             len, off, why);
      return 0;
   }
   f->cfg[off] = id;
   f->cfg[off + 1] = 0;
   f->fixed[off] = 0xff;
   f->fixed[off + 1] = 0xff;
   if (f->cap_last) {
      f->cfg[f->cap_last + 1] = (uint8_t)off;
   } else {
      f->cfg[PCI_CAPABILITY_LIST] = (uint8_t)off;
      f->cfg[PCI_STATUS] |= PCI_STATUS_CAP_LIST;
   }
   f->caps[f->ncaps].off = (uint8_t)off;
   f->caps[f->ncaps].len = (uint8_t)(alen > 255 ? 255 : alen);
   f->ncaps++;
   f->cap_last = off;
   if (off + alen > f->cap_next) {
      f->cap_next = off + alen;
   }
   pthread_mutex_unlock(&f->h->lock);
   return off;
}

bool
pci_msi_init(pci_func *f, unsigned at, unsigned nvectors, bool addr64, bool maskable,
             char **err)
{
   if (nvectors == 0 || nvectors > 32 || (nvectors & (nvectors - 1))) {
      *err = g_strdup_printf("PCI %s: MSI vector count %u must be 1, 2, 4, 8, 16 or 32", f->name,
                             nvectors);
      return false;
   }
   if (f->msi) {
      *err = g_strdup_printf("PCI %s: MSI capability already present", f->name);
      return false;
   }
   unsigned len = addr64 ? (maskable ? 0x18 : 0x0e) : (maskable ? 0x14 : 0x0a);
   unsigned c = pci_cap_add(f, at, PCI_CAP_ID_MSI, len, err);
   if (!c) {
      return false;
   }
   pthread_mutex_lock(&f->h->lock);
   unsigned mmc = (unsigned)__builtin_ctz(nvectors);
   uint16_t ctl = (uint16_t)((mmc << 1) | (addr64 ? PCI_MSI_FLAGS_64BIT : 0) |
                             (maskable ? PCI_MSI_FLAGS_MASKBIT : 0));
   uint16_t ctl_w = PCI_MSI_FLAGS_ENABLE | PCI_MSI_FLAGS_QSIZE;
   wr(f->cfg, c + 2, 2, ctl);
   set_masks(f, c + 2, 2, ctl_w, 0, 0xffff & ~ctl_w);
   set_masks(f, c + 4, 4, 0xfffffffc, 0, 3);
   if (addr64) {
      set_masks(f, c + 8, 4, 0xffffffff, 0, 0);
   }
   f->msi = c;
   f->msi_nvec = nvectors;
   f->msi_64 = addr64;
   f->msi_maskable = maskable;
   unsigned d = msi_data_off(f);
   set_masks(f, d, 2, 0xffff, 0, 0);
   if (maskable) {
      uint32_t vmask = nvectors == 32 ? 0xffffffffu : (1u << nvectors) - 1;
      set_masks(f, d + 2, 2, 0, 0, 0xffff);   /* reserved */
      set_masks(f, msi_mask_off(f), 4, vmask, 0, ~vmask);
      set_masks(f, msi_mask_off(f) + 4, 4, 0, 0, ~vmask);
   }
   pthread_mutex_unlock(&f->h->lock);
   return true;
}

/* ---- device-side config accessors */

uint32_t
pci_config_get(pci_func *f, unsigned off, unsigned size)
{
   if (!range_ok(off, size)) {
      vmxlog("PCI %s: bad config get at 0x%x size %u", f->name, off, size);
      return 0;
   }
   pthread_mutex_lock(&f->h->lock);
   uint32_t v = rd(f->cfg, off, size);
   pthread_mutex_unlock(&f->h->lock);
   return v;
}

static void
config_set(pci_func *f, unsigned off, unsigned size, uint32_t val, bool init)
{
   if (!range_ok(off, size)) {
      vmxlog("PCI %s: bad config set at 0x%x size %u", f->name, off, size);
      return;
   }
   pthread_mutex_lock(&f->h->lock);
   wr(f->cfg, off, size, val);
   if (init) {
      wr(f->init, off, size, val);
   }
   pthread_mutex_unlock(&f->h->lock);
}

void
pci_config_set(pci_func *f, unsigned off, unsigned size, uint32_t val)
{
   config_set(f, off, size, val, false);
}

void
pci_config_init(pci_func *f, unsigned off, unsigned size, uint32_t val)
{
   config_set(f, off, size, val, true);
}

static bool
device_area(pci_func *f, unsigned off, unsigned size)
{
   if (!range_ok(off, size) || off < CAP_START) {
      return false;
   }
   for (unsigned i = off; i < off + size; i++) {
      if (in_cap(f, i)) {
         return false;
      }
   }
   return true;
}

void
pci_config_set_wmask(pci_func *f, unsigned off, unsigned size, uint32_t mask)
{
   pthread_mutex_lock(&f->h->lock);
   if (!device_area(f, off, size)) {
      vmxlog("PCI %s: write mask at 0x%x size %u is outside the device area", f->name, off, size);
   } else {
      wr(f->wmask, off, size, mask);
   }
   pthread_mutex_unlock(&f->h->lock);
}

void
pci_config_set_w1cmask(pci_func *f, unsigned off, unsigned size, uint32_t mask)
{
   pthread_mutex_lock(&f->h->lock);
   if (!device_area(f, off, size)) {
      vmxlog("PCI %s: W1C mask at 0x%x size %u is outside the device area", f->name, off, size);
   } else {
      wr(f->w1c, off, size, mask);
   }
   pthread_mutex_unlock(&f->h->lock);
}

/* ---- interrupts */

void
pci_set_irq(pci_func *f, bool level)
{
   pthread_mutex_lock(&f->h->lock);
   if (f->intx != level) {
      f->intx = level;
      if (level) {
         f->cfg[PCI_STATUS] |= PCI_STATUS_INTERRUPT;
      } else {
         f->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
      }
      update_func_gsi(f);
   }
   pthread_mutex_unlock(&f->h->lock);
}

bool
pci_msi_enabled(pci_func *f)
{
   pthread_mutex_lock(&f->h->lock);
   bool on = msi_on(f);
   pthread_mutex_unlock(&f->h->lock);
   return on;
}

bool
pci_bus_master(pci_func *f)
{
   pthread_mutex_lock(&f->h->lock);
   bool on = rd(f->cfg, PCI_COMMAND, 2) & PCI_COMMAND_MASTER;
   pthread_mutex_unlock(&f->h->lock);
   return on;
}

bool
pci_msi_notify(pci_func *f, unsigned vector)
{
   pci_host *h = f->h;
   pthread_mutex_lock(&h->lock);
   if (!msi_on(f) || !(rd(f->cfg, PCI_COMMAND, 2) & PCI_COMMAND_MASTER)) {
      pthread_mutex_unlock(&h->lock);
      return false;
   }
   if (vector >= msi_enabled_vectors(f)) {
      if (!f->msi_bad_logged) {
         f->msi_bad_logged = true;
         vmxlog("PCI %s: MSI vector %u not enabled (%u enabled)", f->name, vector,
                msi_enabled_vectors(f));
      }
      pthread_mutex_unlock(&h->lock);
      return false;
   }
   if (f->msi_maskable && (rd(f->cfg, msi_mask_off(f), 4) & (1u << vector))) {
      unsigned po = msi_mask_off(f) + 4;
      wr(f->cfg, po, 4, rd(f->cfg, po, 4) | (1u << vector));
      pthread_mutex_unlock(&h->lock);
      return true;
   }
   msi_msg m = msi_message(f, vector);
   pthread_mutex_unlock(&h->lock);
   msi_deliver(h, &m, 1);
   return true;
}

void
pci_host_set_msi_sink(pci_host *h, pci_msi_sink_fn fn, void *opaque)
{
   pthread_mutex_lock(&h->lock);
   h->msi_sink = fn;
   h->msi_opaque = opaque;
   pthread_mutex_unlock(&h->lock);
}

/* ---- configuration cycles */

static pci_func *
lookup(pci_host *h, unsigned bus, unsigned dev, unsigned fn)
{
   if (bus != 0 || dev >= PCI_MAX_DEVICES || fn >= PCI_MAX_FUNCTIONS) {
      return NULL;
   }
   return h->funcs[dev][fn];
}

uint32_t
pci_host_config_read(pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                     unsigned size)
{
   uint32_t ones = size >= 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
   if (!range_ok(off, size)) {
      return ones;
   }
   pthread_mutex_lock(&h->lock);
   pci_func *f = lookup(h, bus, dev, fn);
   uint32_t v = f ? rd(f->cfg, off, size) : ones;
   pthread_mutex_unlock(&h->lock);
   return v;
}

static bool
overlaps(unsigned off, unsigned size, unsigned lo, unsigned len)
{
   return off < lo + len && lo < off + size;
}

void
pci_host_config_write(pci_host *h, unsigned bus, unsigned dev, unsigned fn, unsigned off,
                      unsigned size, uint32_t val)
{
   if (!range_ok(off, size)) {
      return;
   }
   pthread_mutex_lock(&h->lock);
   pci_func *f = lookup(h, bus, dev, fn);
   if (!f) {
      pthread_mutex_unlock(&h->lock);
      return;
   }
   for (unsigned i = 0; i < size; i++) {
      unsigned o = off + i;
      uint8_t v = (uint8_t)(val >> (8 * i));
      uint8_t n = (uint8_t)((f->cfg[o] & ~f->wmask[o]) | (v & f->wmask[o]));
      n &= (uint8_t)~(v & f->w1c[o]);
      f->cfg[o] = n;
   }
   msi_msg msgs[32];
   unsigned nmsg = 0;
   bool cmd = overlaps(off, size, PCI_COMMAND, 2);
   if (f->msi && overlaps(off, size, f->msi + 2, 2)) {
      uint16_t ctl = (uint16_t)rd(f->cfg, f->msi + 2, 2);
      unsigned mmc = (ctl & PCI_MSI_FLAGS_QMASK) >> 1, mme = (ctl & PCI_MSI_FLAGS_QSIZE) >> 4;
      if (mme > mmc) {
         ctl = (uint16_t)((ctl & ~PCI_MSI_FLAGS_QSIZE) | (mmc << 4));
         wr(f->cfg, f->msi + 2, 2, ctl);
      }
   }
   if (cmd || overlaps(off, size, PCI_BAR0, 4 * PCI_NUM_BARS)) {
      update_mappings(f);
   }
   bool msi_ctl = f->msi && overlaps(off, size, f->msi + 2, 2);
   if (cmd || msi_ctl) {
      update_func_gsi(f);
   }
   if (f->msi_maskable && (cmd || msi_ctl || overlaps(off, size, msi_mask_off(f), 4))) {
      nmsg = msi_collect_unmasked(f, msgs);
   }
   void (*cb)(void *, unsigned, unsigned, uint32_t) = f->info.config_written;
   void *opaque = f->info.opaque;
   pthread_mutex_unlock(&h->lock);
   msi_deliver(h, msgs, nmsg);
   if (cb) {
      cb(opaque, off, size, val);
   }
}

/* ---- the 0xcf8 / 0xcfc ports */

static uint64_t
cf8_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   pci_host *h = opaque;
   if (off != 0 || size != 4) {
      return ~0ull;
   }
   pthread_mutex_lock(&h->lock);
   uint32_t v = h->cf8;
   pthread_mutex_unlock(&h->lock);
   return v;
}

static void
cf8_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   pci_host *h = opaque;
   if (off != 0 || size != 4) {
      return;
   }
   pthread_mutex_lock(&h->lock);
   h->cf8 = (uint32_t)val & CF8_MASK;
   pthread_mutex_unlock(&h->lock);
}

static bool
cfc_target(pci_host *h, uint64_t off, unsigned size, unsigned *bus, unsigned *dev, unsigned *fn,
           unsigned *reg)
{
   if (off + size > 4) {
      return false;
   }
   pthread_mutex_lock(&h->lock);
   uint32_t a = h->cf8;
   pthread_mutex_unlock(&h->lock);
   if (!(a & CF8_ENABLE)) {
      return false;
   }
   *bus = (a >> 16) & 0xff;
   *dev = (a >> 11) & 0x1f;
   *fn = (a >> 8) & 7;
   *reg = (a & 0xfc) + (unsigned)off;
   return true;
}

static uint64_t
cfc_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   unsigned bus, dev, fn, reg;
   if (!cfc_target(opaque, off, size, &bus, &dev, &fn, &reg)) {
      return ~0ull;
   }
   return pci_host_config_read(opaque, bus, dev, fn, reg, size);
}

static void
cfc_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   unsigned bus, dev, fn, reg;
   if (cfc_target(opaque, off, size, &bus, &dev, &fn, &reg)) {
      pci_host_config_write(opaque, bus, dev, fn, reg, size, (uint32_t)val);
   }
}

/* ---- device callbacks */

static void pci_destroy(void *dev);

static void *
pci_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   pci_host *h = g_new0(pci_host, 1);
   h->p = p;
   pthread_mutex_init(&h->lock, NULL);
   const vmx_io_region r8 = { "PCI CONFIG_ADDRESS", cf8_read, cf8_write, h };
   const vmx_io_region rc = { "PCI CONFIG_DATA", cfc_read, cfc_write, h };
   if (!vmx_platform_map_pio(p, CF8_PORT, 1, &r8, err)) {
      pci_destroy(h);
      return NULL;
   }
   if (!vmx_platform_map_pio(p, CFC_PORT, 4, &rc, err)) {
      vmx_platform_unmap_pio(p, CF8_PORT, 1);
      pci_destroy(h);
      return NULL;
   }
   const pci_func_info bridge = {
      .name = "host bridge",
      .vendor_id = HOST_VENDOR,
      .device_id = HOST_DEVICE,
      .revision = HOST_REVISION,
      .class_code = HOST_CLASS,
   };
   h->ports_mapped = true;
   if (!pci_register(h, 0, 0, 0, &bridge, err)) {
      pci_destroy(h);
      return NULL;
   }
   return h;
}

static void
pci_destroy(void *dev)
{
   pci_host *h = dev;
   if (!h) {
      return;
   }
   for (unsigned d = 0; d < PCI_MAX_DEVICES; d++) {
      for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
         if (h->funcs[d][fn]) {
            pci_unregister(h->funcs[d][fn]);
         }
      }
   }
   if (h->ports_mapped) {
      vmx_platform_unmap_pio(h->p, CF8_PORT, 1);
      vmx_platform_unmap_pio(h->p, CFC_PORT, 4);
   }
   pthread_mutex_destroy(&h->lock);
   g_free(h);
}

static void
pci_reset(void *dev)
{
   pci_host *h = dev;
   pthread_mutex_lock(&h->lock);
   h->cf8 = 0;
   for (unsigned d = 0; d < PCI_MAX_DEVICES; d++) {
      for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
         pci_func *f = h->funcs[d][fn];
         if (!f) {
            continue;
         }
         for (unsigned i = 0; i < 256; i++) {
            uint8_t m = f->wmask[i] | f->w1c[i];
            f->cfg[i] = (uint8_t)((f->cfg[i] & ~m) | (f->init[i] & m));
         }
         f->intx = false;
         f->cfg[PCI_STATUS] &= (uint8_t)~PCI_STATUS_INTERRUPT;
         if (f->msi_maskable) {
            wr(f->cfg, msi_mask_off(f) + 4, 4, 0);
         }
         update_mappings(f);
      }
   }
   for (unsigned g = 0; g < PCI_INTX_GSI_COUNT; g++) {
      update_gsi(h, g, true);
   }
   pthread_mutex_unlock(&h->lock);
}

static void
func_tag(char *buf, size_t n, const pci_func *f, const char *what)
{
   g_snprintf(buf, n, "00:%02x.%x.%s", f->dev, f->fn, what);
}

static void
pci_save(void *dev, ckpt_writer *w)
{
   pci_host *h = dev;
   pthread_mutex_lock(&h->lock);
   ckpt_put_u32(w, "cf8", h->cf8);
   for (unsigned d = 0; d < PCI_MAX_DEVICES; d++) {
      for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
         pci_func *f = h->funcs[d][fn];
         if (!f) {
            continue;
         }
         char tag[32];
         func_tag(tag, sizeof tag, f, "config");
         ckpt_put_bytes(w, tag, f->cfg, sizeof f->cfg);
         func_tag(tag, sizeof tag, f, "intx");
         ckpt_put_u8(w, tag, f->intx);
      }
   }
   pthread_mutex_unlock(&h->lock);
}

typedef struct staged_func {
   bool have_cfg;
   uint8_t cfg[256];
   uint8_t intx;
} staged_func;

static bool
validate_func(pci_func *f, staged_func *s, char **err)
{
   char tag[32];
   func_tag(tag, sizeof tag, f, "config");
   for (unsigned i = 0; i < 256; i++) {
      if ((s->cfg[i] ^ f->cfg[i]) & f->fixed[i]) {
         *err = g_strdup_printf("checkpoint section pci: item '%s': byte 0x%02x is 0x%02x, but "
                                "this %s has 0x%02x in its read-only bits 0x%02x", tag, i,
                                s->cfg[i], f->name, f->cfg[i], f->fixed[i]);
         return false;
      }
   }
   if (f->msi) {
      uint16_t ctl = (uint16_t)rd(s->cfg, f->msi + 2, 2);
      unsigned mmc = (ctl & PCI_MSI_FLAGS_QMASK) >> 1, mme = (ctl & PCI_MSI_FLAGS_QSIZE) >> 4;
      if (mme > mmc) {
         *err = g_strdup_printf("checkpoint section pci: item '%s': MSI enables %u vectors, the "
                                "function has %u", tag, 1u << mme, 1u << mmc);
         return false;
      }
   }
   if (s->intx > 1) {
      *err = g_strdup_printf("checkpoint section pci: item '00:%02x.%x.intx' is %u, expected 0 "
                             "or 1", f->dev, f->fn, s->intx);
      return false;
   }
   if (s->intx && !f->info.int_pin) {
      *err = g_strdup_printf("checkpoint section pci: item '00:%02x.%x.intx': %s has no "
                             "interrupt pin", f->dev, f->fn, f->name);
      return false;
   }
   if (!!(s->cfg[PCI_STATUS] & PCI_STATUS_INTERRUPT) != !!s->intx) {
      *err = g_strdup_printf("checkpoint section pci: item '%s': status interrupt bit does not "
                             "match '00:%02x.%x.intx'", tag, f->dev, f->fn);
      return false;
   }
   return true;
}

static bool
pci_restore(void *dev, ckpt_reader *r, char **err)
{
   pci_host *h = dev;
   uint32_t cf8 = 0;
   bool have_cf8 = ckpt_get_u32(r, "cf8", &cf8);
   if (have_cf8 && (cf8 & ~CF8_MASK)) {
      *err = g_strdup_printf("checkpoint section pci: item 'cf8' is 0x%08x: reserved bits set",
                             cf8);
      return false;
   }
   staged_func *st = g_new0(staged_func, PCI_MAX_DEVICES * PCI_MAX_FUNCTIONS);
   bool ok = true;
   pthread_mutex_lock(&h->lock);
   for (unsigned d = 0; ok && d < PCI_MAX_DEVICES; d++) {
      for (unsigned fn = 0; ok && fn < PCI_MAX_FUNCTIONS; fn++) {
         pci_func *f = h->funcs[d][fn];
         staged_func *s = &st[d * PCI_MAX_FUNCTIONS + fn];
         if (!f) {
            continue;
         }
         char tag[32];
         memcpy(s->cfg, f->cfg, sizeof s->cfg);
         s->intx = f->intx;
         func_tag(tag, sizeof tag, f, "config");
         s->have_cfg = ckpt_get_bytes(r, tag, s->cfg, sizeof s->cfg);
         func_tag(tag, sizeof tag, f, "intx");
         ckpt_get_u8(r, tag, &s->intx);
         if (ckpt_reader_error(r)) {
            ok = false;
            break;
         }
         ok = validate_func(f, s, err);
      }
   }
   if (ok) {
      if (have_cf8) {
         h->cf8 = cf8;
      }
      for (unsigned d = 0; d < PCI_MAX_DEVICES; d++) {
         for (unsigned fn = 0; fn < PCI_MAX_FUNCTIONS; fn++) {
            pci_func *f = h->funcs[d][fn];
            staged_func *s = &st[d * PCI_MAX_FUNCTIONS + fn];
            if (f) {
               memcpy(f->cfg, s->cfg, sizeof f->cfg);
               f->intx = s->intx;
               update_mappings(f);
            }
         }
      }
      for (unsigned g = 0; g < PCI_INTX_GSI_COUNT; g++) {
         update_gsi(h, g, true);
      }
   }
   pthread_mutex_unlock(&h->lock);
   g_free(st);
   return ok;
}

const vmx_device_desc vmx_dev_pci = {
   .name = "pci",
   .version = 1,
   .create = pci_create,
   .reset = pci_reset,
   .destroy = pci_destroy,
   .save = pci_save,
   .restore = pci_restore,
};
