/*
 * vmx/dev/platform.c - device registry, I/O dispatch, interrupt routing.
 */
#include "vmx/dev/platform.h"
#include "vmx/vmxlog.h"

#include <pthread.h>
#include <string.h>

typedef struct pio_range {
   uint16_t base;
   uint32_t len;
   vmx_io_region r;
} pio_range;

typedef struct mmio_range {
   uint64_t base;
   uint64_t len;
   vmx_io_region r;
} mmio_range;

typedef struct dev_inst {
   const vmx_device_desc *desc;
   void *dev;
} dev_inst;

struct vmx_platform {
   pthread_rwlock_t map_lock;
   GArray *pio;    /* pio_range, sorted by base */
   GArray *mmio;   /* mmio_range, sorted by base */
   GArray *devs;   /* dev_inst in creation order */
   vmm_vm *vm;
   vmx_irq_sink_fn irq_sink;
   void *irq_opaque;
   pthread_mutex_t req_lock;
   vmx_request req;
   char *req_why;
   unsigned unclaimed_logged;
   bool continuing;
};

vmx_platform *
vmx_platform_new(void)
{
   vmx_platform *p = g_new0(vmx_platform, 1);
   pthread_rwlock_init(&p->map_lock, NULL);
   pthread_mutex_init(&p->req_lock, NULL);
   p->pio = g_array_new(FALSE, FALSE, sizeof(pio_range));
   p->mmio = g_array_new(FALSE, FALSE, sizeof(mmio_range));
   p->devs = g_array_new(FALSE, FALSE, sizeof(dev_inst));
   return p;
}

void
vmx_platform_set_continuing(vmx_platform *p, bool continuing)
{
   p->continuing = continuing;
}

bool
vmx_platform_continuing(const vmx_platform *p)
{
   return p->continuing;
}

void
vmx_platform_free(vmx_platform *p)
{
   if (!p) {
      return;
   }
   for (guint i = p->devs->len; i-- > 0;) {
      dev_inst *d = &g_array_index(p->devs, dev_inst, i);
      if (d->desc->destroy) {
         d->desc->destroy(d->dev);
      }
   }
   g_array_free(p->devs, TRUE);
   g_array_free(p->pio, TRUE);
   g_array_free(p->mmio, TRUE);
   pthread_rwlock_destroy(&p->map_lock);
   pthread_mutex_destroy(&p->req_lock);
   g_free(p->req_why);
   g_free(p);
}

bool
vmx_platform_add_devices(vmx_platform *p, const vmx_device_desc *const *table, size_t n,
                         const vmxcfg *cfg, char **err)
{
   for (size_t i = 0; i < n; i++) {
      char *why = NULL;
      void *dev = table[i]->create(p, cfg, &why);
      if (!dev) {
         *err = g_strdup_printf("device %s: %s", table[i]->name, why ? why : "cannot create");
         g_free(why);
         return false;
      }
      dev_inst d = { table[i], dev };
      g_array_append_val(p->devs, d);
   }
   return true;
}

void *
vmx_platform_device(vmx_platform *p, const char *name)
{
   for (guint i = 0; i < p->devs->len; i++) {
      dev_inst *d = &g_array_index(p->devs, dev_inst, i);
      if (strcmp(d->desc->name, name) == 0) {
         return d->dev;
      }
   }
   return NULL;
}

/* ---- ranges */

bool
vmx_platform_map_pio(vmx_platform *p, uint16_t base, uint32_t len, const vmx_io_region *r,
                     char **err)
{
   if (len == 0 || (uint32_t)base + len > 0x10000) {
      *err = g_strdup_printf("%s: port range 0x%x+%u is outside 0-0xffff", r->name, base, len);
      return false;
   }
   pthread_rwlock_wrlock(&p->map_lock);
   guint at = 0;
   for (; at < p->pio->len; at++) {
      pio_range *q = &g_array_index(p->pio, pio_range, at);
      if ((uint32_t)base < (uint32_t)q->base + q->len && (uint32_t)q->base < (uint32_t)base + len) {
         *err = g_strdup_printf("%s: ports 0x%x-0x%x overlap %s at 0x%x-0x%x", r->name, base,
                                base + len - 1, q->r.name, q->base, q->base + q->len - 1);
         pthread_rwlock_unlock(&p->map_lock);
         return false;
      }
      if (q->base > base) {
         break;
      }
   }
   pio_range nr = { base, len, *r };
   g_array_insert_val(p->pio, at, nr);
   pthread_rwlock_unlock(&p->map_lock);
   return true;
}

void
vmx_platform_unmap_pio(vmx_platform *p, uint16_t base, uint32_t len)
{
   pthread_rwlock_wrlock(&p->map_lock);
   for (guint i = 0; i < p->pio->len; i++) {
      pio_range *q = &g_array_index(p->pio, pio_range, i);
      if (q->base == base && q->len == len) {
         g_array_remove_index(p->pio, i);
         break;
      }
   }
   pthread_rwlock_unlock(&p->map_lock);
}

bool
vmx_platform_map_mmio(vmx_platform *p, uint64_t base, uint64_t len, const vmx_io_region *r,
                      char **err)
{
   if (len == 0 || base + len < base) {
      *err = g_strdup_printf("%s: bad MMIO range 0x%llx+0x%llx", r->name,
                             (unsigned long long)base, (unsigned long long)len);
      return false;
   }
   pthread_rwlock_wrlock(&p->map_lock);
   guint at = 0;
   for (; at < p->mmio->len; at++) {
      mmio_range *q = &g_array_index(p->mmio, mmio_range, at);
      if (base < q->base + q->len && q->base < base + len) {
         *err = g_strdup_printf("%s: MMIO 0x%llx-0x%llx overlaps %s", r->name,
                                (unsigned long long)base, (unsigned long long)(base + len - 1),
                                q->r.name);
         pthread_rwlock_unlock(&p->map_lock);
         return false;
      }
      if (q->base > base) {
         break;
      }
   }
   mmio_range nr = { base, len, *r };
   g_array_insert_val(p->mmio, at, nr);
   pthread_rwlock_unlock(&p->map_lock);
   return true;
}

void
vmx_platform_unmap_mmio(vmx_platform *p, uint64_t base)
{
   pthread_rwlock_wrlock(&p->map_lock);
   for (guint i = 0; i < p->mmio->len; i++) {
      if (g_array_index(p->mmio, mmio_range, i).base == base) {
         g_array_remove_index(p->mmio, i);
         break;
      }
   }
   pthread_rwlock_unlock(&p->map_lock);
}

/* ---- dispatch */

static void
note_unclaimed(vmx_platform *p, const char *kind, uint64_t addr, bool write)
{
   /* The first few are worth a log line; a guest probing is not. */
   if (__atomic_fetch_add(&p->unclaimed_logged, 1, __ATOMIC_RELAXED) < 32) {
      vmxlog("Unclaimed %s access at 0x%llx", kind, (unsigned long long)addr);
   }
}

/* Binary search; the caller holds map_lock for reading. */
static const pio_range *
find_pio(vmx_platform *p, uint16_t port)
{
   guint lo = 0, hi = p->pio->len;
   while (lo < hi) {
      guint mid = (lo + hi) / 2;
      const pio_range *q = &g_array_index(p->pio, pio_range, mid);
      if (port < q->base) {
         hi = mid;
      } else if ((uint32_t)port >= (uint32_t)q->base + q->len) {
         lo = mid + 1;
      } else {
         return q;
      }
   }
   return NULL;
}

static const mmio_range *
find_mmio(vmx_platform *p, uint64_t gpa)
{
   guint lo = 0, hi = p->mmio->len;
   while (lo < hi) {
      guint mid = (lo + hi) / 2;
      const mmio_range *q = &g_array_index(p->mmio, mmio_range, mid);
      if (gpa < q->base) {
         hi = mid;
      } else if (gpa - q->base >= q->len) {
         lo = mid + 1;
      } else {
         return q;
      }
   }
   return NULL;
}

static uint64_t
ones(unsigned size)
{
   return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1;
}

/* The region claiming an access, copied out under the map lock so that a
 * concurrent BAR move cannot free it under the handler. */
static bool
lookup(vmx_platform *p, bool mmio, uint64_t addr, vmx_io_region *r, uint64_t *off)
{
   bool found = false;
   pthread_rwlock_rdlock(&p->map_lock);
   if (mmio) {
      const mmio_range *q = find_mmio(p, addr);
      if (q) {
         *r = q->r;
         *off = addr - q->base;
         found = true;
      }
   } else {
      const pio_range *q = find_pio(p, (uint16_t)addr);
      if (q) {
         *r = q->r;
         *off = addr - q->base;
         found = true;
      }
   }
   pthread_rwlock_unlock(&p->map_lock);
   if (!found) {
      note_unclaimed(p, mmio ? "MMIO" : "port", addr, false);
   }
   return found;
}

static uint64_t
dispatch_read(vmx_platform *p, bool mmio, vmm_vcpu *cpu, uint64_t addr, unsigned size)
{
   vmx_io_region r;
   uint64_t off;
   if (!lookup(p, mmio, addr, &r, &off) || !r.read) {
      return ones(size);
   }
   return r.read(r.opaque, cpu, off, size) & ones(size);
}

static void
dispatch_write(vmx_platform *p, bool mmio, vmm_vcpu *cpu, uint64_t addr, unsigned size,
               uint64_t val)
{
   vmx_io_region r;
   uint64_t off;
   if (lookup(p, mmio, addr, &r, &off) && r.write) {
      r.write(r.opaque, cpu, off, size, val & ones(size));
   }
}

uint64_t
vmx_platform_pio_read(vmx_platform *p, vmm_vcpu *cpu, uint16_t port, unsigned size)
{
   return dispatch_read(p, false, cpu, port, size);
}

void
vmx_platform_pio_write(vmx_platform *p, vmm_vcpu *cpu, uint16_t port, unsigned size,
                       uint64_t val)
{
   dispatch_write(p, false, cpu, port, size, val);
}

uint64_t
vmx_platform_mmio_read(vmx_platform *p, vmm_vcpu *cpu, uint64_t gpa, unsigned size)
{
   return dispatch_read(p, true, cpu, gpa, size);
}

void
vmx_platform_mmio_write(vmx_platform *p, vmm_vcpu *cpu, uint64_t gpa, unsigned size,
                        uint64_t val)
{
   dispatch_write(p, true, cpu, gpa, size, val);
}

static void
ops_pio_read(void *o, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t *val)
{
   *val = (uint32_t)vmx_platform_pio_read(o, cpu, port, size);
}

static void
ops_pio_write(void *o, vmm_vcpu *cpu, uint16_t port, unsigned size, uint32_t val)
{
   vmx_platform_pio_write(o, cpu, port, size, val);
}

static void
ops_mmio_read(void *o, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t *val)
{
   *val = vmx_platform_mmio_read(o, cpu, gpa, size);
}

static void
ops_mmio_write(void *o, vmm_vcpu *cpu, uint64_t gpa, unsigned size, uint64_t val)
{
   vmx_platform_mmio_write(o, cpu, gpa, size, val);
}

const vmm_io_ops vmx_platform_io_ops = {
   .pio_read = ops_pio_read,
   .pio_write = ops_pio_write,
   .mmio_read = ops_mmio_read,
   .mmio_write = ops_mmio_write,
};

/* ---- interrupts and requests */

void
vmx_platform_attach_vmm(vmx_platform *p, vmm_vm *vm)
{
   p->vm = vm;
}

vmm_vm *
vmx_platform_vmm(vmx_platform *p)
{
   return p->vm;
}

void
vmx_platform_set_irq_sink(vmx_platform *p, vmx_irq_sink_fn fn, void *opaque)
{
   p->irq_sink = fn;
   p->irq_opaque = opaque;
}

void
vmx_platform_set_irq(vmx_platform *p, unsigned gsi, bool level)
{
   if (p->irq_sink) {
      p->irq_sink(p->irq_opaque, gsi, level);
   } else if (p->vm) {
      vmm_vm_irq_line(p->vm, gsi, level);
   }
}

void
vmx_platform_request(vmx_platform *p, vmx_request req, const char *why)
{
   pthread_mutex_lock(&p->req_lock);
   /* Power off wins over reset. */
   if (req > p->req) {
      p->req = req;
      g_free(p->req_why);
      p->req_why = g_strdup(why);
   }
   pthread_mutex_unlock(&p->req_lock);
   if (p->vm) {
      vmm_vm_stop(p->vm);
   }
}

vmx_request
vmx_platform_take_request(vmx_platform *p, char **why)
{
   pthread_mutex_lock(&p->req_lock);
   vmx_request r = p->req;
   p->req = VMX_REQ_NONE;
   if (why) {
      *why = p->req_why;
   } else {
      g_free(p->req_why);
   }
   p->req_why = NULL;
   pthread_mutex_unlock(&p->req_lock);
   return r;
}

/* ---- reset, save, restore */

void
vmx_platform_reset(vmx_platform *p)
{
   for (guint i = 0; i < p->devs->len; i++) {
      dev_inst *d = &g_array_index(p->devs, dev_inst, i);
      if (d->desc->reset) {
         d->desc->reset(d->dev);
      }
   }
}

GBytes *
vmx_platform_save(vmx_platform *p)
{
   GByteArray *all = g_byte_array_new();
   for (guint i = 0; i < p->devs->len; i++) {
      dev_inst *d = &g_array_index(p->devs, dev_inst, i);
      if (!d->desc->save) {
         continue;
      }
      ckpt_writer *w = ckpt_writer_new(d->desc->name, d->desc->version);
      d->desc->save(d->dev, w);
      GBytes *b = ckpt_writer_finish(w);
      gsize n;
      const guint8 *data = g_bytes_get_data(b, &n);
      g_byte_array_append(all, data, (guint)n);
      g_bytes_unref(b);
   }
   return g_byte_array_free_to_bytes(all);
}

static bool
apply(vmx_platform *p, const uint8_t *data, size_t len, char **err)
{
   size_t off = 0;
   GPtrArray *readers = g_ptr_array_new_with_free_func((GDestroyNotify)ckpt_reader_free);
   bool ok = true;
   while (ok && off < len) {
      size_t used = 0;
      ckpt_reader *r = ckpt_reader_new(data + off, len - off, &used, err);
      if (!r) {
         ok = false;
         break;
      }
      g_ptr_array_add(readers, r);
      off += used;
   }
   for (guint i = 0; ok && i < readers->len; i++) {
      ckpt_reader *r = g_ptr_array_index(readers, i);
      dev_inst *d = NULL;
      for (guint k = 0; k < p->devs->len; k++) {
         if (!strcmp(g_array_index(p->devs, dev_inst, k).desc->name, ckpt_reader_section(r))) {
            d = &g_array_index(p->devs, dev_inst, k);
         }
      }
      if (!d) {
         vmxlog("Checkpoint: skipping section %s of a device this VM does not have",
                ckpt_reader_section(r));
         continue;
      }
      if (ckpt_reader_version(r) > d->desc->version) {
         *err = g_strdup_printf("checkpoint section %s has version %u; this build reads up to %u",
                                d->desc->name, ckpt_reader_version(r), d->desc->version);
         ok = false;
         break;
      }
      if (d->desc->restore && (!d->desc->restore(d->dev, r, err) || ckpt_reader_error(r))) {
         if (!*err) {
            *err = g_strdup(ckpt_reader_error(r));
         }
         ok = false;
      }
   }
   g_ptr_array_free(readers, TRUE);
   return ok;
}

bool
vmx_platform_restore(vmx_platform *p, const void *data, size_t len, char **err)
{
   /* Keep the current state: a section a device refuses halfway through
    * must not leave the machine half restored. */
   GBytes *backup = vmx_platform_save(p);
   *err = NULL;
   bool ok = apply(p, data, len, err);
   if (!ok) {
      char *ignored = NULL;
      gsize n;
      const void *b = g_bytes_get_data(backup, &n);
      vmx_platform_reset(p);
      if (!apply(p, b, n, &ignored)) {
         vmxlog("Checkpoint: could not roll back device state: %s", ignored);
      }
      g_free(ignored);
   }
   g_bytes_unref(backup);
   return ok;
}
