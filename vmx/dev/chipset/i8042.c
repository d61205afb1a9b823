/*
 * vmx/dev/chipset/i8042.c - the 8042 keyboard controller and port 0x92.
 * See i8042.h.
 */
#include "vmx/dev/chipset/i8042.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/scancodes.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <pthread.h>
#include <string.h>

#define DATA_PORT 0x60
#define CMD_PORT 0x64
#define PORT_A 0x92
#define IRQ_KBD 1
#define IRQ_AUX 12

#define ST_OBF 0x01
#define ST_SYS 0x04
#define ST_A2 0x08
#define ST_UNLOCKED 0x10
#define ST_AUXB 0x20

#define CB_KBD_IRQ 0x01
#define CB_AUX_IRQ 0x02
#define CB_SYS 0x04
#define CB_KBD_OFF 0x10
#define CB_AUX_OFF 0x20
#define CB_XLATE 0x40
#define CB_POWER_ON 0x47

#define OP_RESET 0x01   /* output port bit 0: 0 asserts CPU reset */
#define OP_A20 0x02

#define CTLQ 8

struct i8042 {
   vmx_platform *p;
   pthread_mutex_t lock;
   uint8_t ram[32];        /* ram[0] is the command byte */
   bool sys;               /* status bit 2 */
   bool a2;                /* status bit 3 */
   bool obf, obf_aux;
   uint8_t obuf;
   uint8_t ctlq[CTLQ][2];  /* controller answers: byte, aux */
   unsigned cq_head, cq_n;
   uint8_t pending;        /* command waiting for its data byte */
   uint8_t outport_a20;    /* output port bit 1 */
   uint8_t port92;         /* bits 0-1 */
   bool xlat_break;        /* an 0xf0 was swallowed by translation */
   bool irq1, irq12;
   bool mapped;
   unsigned unknown_logged;
   struct {
      const i8042_port_ops *ops;
      void *dev;
   } port[2];
};

i8042 *
i8042_get(vmx_platform *p)
{
   return vmx_platform_device(p, "i8042");
}

/* ---- output buffer (lock held) */

static void
update_irq(i8042 *c, bool force)
{
   bool i1 = c->obf && !c->obf_aux && (c->ram[0] & CB_KBD_IRQ);
   bool i12 = c->obf && c->obf_aux && (c->ram[0] & CB_AUX_IRQ);
   if (force || i1 != c->irq1) {
      c->irq1 = i1;
      vmx_platform_set_irq(c->p, IRQ_KBD, i1);
   }
   if (force || i12 != c->irq12) {
      c->irq12 = i12;
      vmx_platform_set_irq(c->p, IRQ_AUX, i12);
   }
}

static void
ctl_push(i8042 *c, uint8_t b, bool aux)
{
   if (c->cq_n == CTLQ) {
      return;   /* the guest asked for answers without reading them */
   }
   unsigned i = (c->cq_head + c->cq_n++) % CTLQ;
   c->ctlq[i][0] = b;
   c->ctlq[i][1] = aux;
}

static void
refill(i8042 *c)
{
   while (!c->obf) {
      if (c->cq_n) {
         c->obuf = c->ctlq[c->cq_head][0];
         c->obf_aux = c->ctlq[c->cq_head][1];
         c->cq_head = (c->cq_head + 1) % CTLQ;
         c->cq_n--;
         c->obf = true;
         break;
      }
      if (c->port[I8042_KBD].ops && !(c->ram[0] & CB_KBD_OFF)) {
         int b = c->port[I8042_KBD].ops->pull(c->port[I8042_KBD].dev);
         if (b >= 0) {
            if (c->ram[0] & CB_XLATE) {
               if (b == 0xf0) {
                  c->xlat_break = true;
                  continue;
               }
               b = ps2_xlat((uint8_t)b) | (c->xlat_break ? 0x80 : 0);
               c->xlat_break = false;
            }
            c->obuf = (uint8_t)b;
            c->obf_aux = false;
            c->obf = true;
            break;
         }
      }
      if (c->port[I8042_AUX].ops && !(c->ram[0] & CB_AUX_OFF)) {
         int b = c->port[I8042_AUX].ops->pull(c->port[I8042_AUX].dev);
         if (b >= 0) {
            c->obuf = (uint8_t)b;
            c->obf_aux = true;
            c->obf = true;
         }
      }
      break;
   }
   update_irq(c, false);
}

static uint8_t
status(const i8042 *c)
{
   return (uint8_t)((c->obf ? ST_OBF : 0) | (c->sys ? ST_SYS : 0) | (c->a2 ? ST_A2 : 0) |
                    ST_UNLOCKED | (c->obf && c->obf_aux ? ST_AUXB : 0));
}

static uint8_t
output_port(const i8042 *c)
{
   /* Reset deasserted, A20, clock and data lines idle high, the two
    * output-buffer-full lines. */
   return (uint8_t)(OP_RESET | c->outport_a20 | 0xcc | (c->obf && !c->obf_aux ? 0x10 : 0) |
                    (c->obf && c->obf_aux ? 0x20 : 0));
}

/* ---- commands; returns a reset reason or NULL */

static const char *
command(i8042 *c, uint8_t cmd)
{
   c->pending = 0;
   if (cmd >= 0x20 && cmd <= 0x3f) {
      ctl_push(c, c->ram[cmd & 0x1f], false);
      return NULL;
   }
   if (cmd >= 0x60 && cmd <= 0x7f) {
      c->pending = cmd;
      return NULL;
   }
   if (cmd >= 0xf0) {
      return (cmd & 1) ? NULL : "keyboard controller reset (pulse of output port bit 0)";
   }
   switch (cmd) {
   case 0xa4:
      ctl_push(c, 0xf1, false);
      break;
   case 0xa7:
      c->ram[0] |= CB_AUX_OFF;
      break;
   case 0xa8:
      c->ram[0] &= (uint8_t)~CB_AUX_OFF;
      break;
   case 0xa9:
      ctl_push(c, c->port[I8042_AUX].ops ? 0x00 : 0x02, false);
      break;
   case 0xaa:
      c->sys = true;
      ctl_push(c, 0x55, false);
      break;
   case 0xab:
      ctl_push(c, c->port[I8042_KBD].ops ? 0x00 : 0x02, false);
      break;
   case 0xad:
      c->ram[0] |= CB_KBD_OFF;
      break;
   case 0xae:
      c->ram[0] &= (uint8_t)~CB_KBD_OFF;
      break;
   case 0xc0:
      ctl_push(c, 0xa0, false);   /* keyboard not inhibited, no jumper */
      break;
   case 0xd0:
      ctl_push(c, output_port(c), false);
      break;
   case 0xd1:
   case 0xd2:
   case 0xd3:
   case 0xd4:
      c->pending = cmd;
      break;
   case 0xdd:
      c->outport_a20 = 0;
      break;
   case 0xdf:
      c->outport_a20 = OP_A20;
      break;
   case 0xe0:
      ctl_push(c, 0x00, false);
      break;
   default:
      if (c->unknown_logged++ < 16) {
         vmxlog("i8042: unknown command 0x%02x ignored", cmd);
      }
      break;
   }
   return NULL;
}

static const char *
data_write(i8042 *c, uint8_t v)
{
   uint8_t cmd = c->pending;
   c->pending = 0;
   if (cmd >= 0x60 && cmd <= 0x7f) {
      c->ram[cmd & 0x1f] = v;
      if (cmd == 0x60) {
         c->sys = v & CB_SYS;
      }
      return NULL;
   }
   switch (cmd) {
   case 0xd1:
      c->outport_a20 = v & OP_A20;
      if (!(v & OP_RESET)) {
         return "keyboard controller reset (output port bit 0 written 0)";
      }
      return NULL;
   case 0xd2:
      ctl_push(c, v, false);
      return NULL;
   case 0xd3:
      ctl_push(c, v, true);
      return NULL;
   case 0xd4:
      if (c->port[I8042_AUX].ops) {
         c->port[I8042_AUX].ops->write(c->port[I8042_AUX].dev, v);
      }
      return NULL;
   }
   if (c->port[I8042_KBD].ops) {
      c->ram[0] &= (uint8_t)~CB_KBD_OFF;
      c->port[I8042_KBD].ops->write(c->port[I8042_KBD].dev, v);
   }
   return NULL;
}

static uint64_t
kbc_read(i8042 *c, bool data, unsigned size)
{
   if (size != 1) {
      return ~0ull;
   }
   pthread_mutex_lock(&c->lock);
   uint8_t v;
   if (data) {
      refill(c);
      v = c->obuf;   /* an empty buffer reads its last byte again */
      c->obf = false;
      c->obf_aux = false;
      /* Drop the line before the next byte raises it again: an edge-
       * triggered PIC or IOAPIC pin must see one edge per byte, or a driver
       * that reads one byte per interrupt loses the rest of an answer. */
      update_irq(c, false);
      refill(c);
   } else {
      refill(c);
      v = status(c);
   }
   pthread_mutex_unlock(&c->lock);
   return v;
}

static void
kbc_write(i8042 *c, bool data, unsigned size, uint64_t val)
{
   if (size != 1) {
      return;
   }
   pthread_mutex_lock(&c->lock);
   const char *reset;
   if (data) {
      c->a2 = false;
      reset = data_write(c, (uint8_t)val);
   } else {
      c->a2 = true;
      reset = command(c, (uint8_t)val);
   }
   refill(c);
   update_irq(c, false);
   pthread_mutex_unlock(&c->lock);
   if (reset) {
      vmx_platform_request(c->p, VMX_REQ_RESET, reset);
   }
}

static uint64_t
data_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return kbc_read(opaque, true, size);
}

static void
data_write_port(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   kbc_write(opaque, true, size, val);
}

static uint64_t
cmd_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   return kbc_read(opaque, false, size);
}

static void
cmd_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   kbc_write(opaque, false, size, val);
}

static uint64_t
porta_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   i8042 *c = opaque;
   if (size != 1) {
      return ~0ull;
   }
   pthread_mutex_lock(&c->lock);
   uint8_t v = c->port92;
   pthread_mutex_unlock(&c->lock);
   return v;
}

static void
porta_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   i8042 *c = opaque;
   if (size != 1) {
      return;
   }
   pthread_mutex_lock(&c->lock);
   bool reset = (val & 1) && !(c->port92 & 1);
   c->port92 = (uint8_t)(val & 3);
   pthread_mutex_unlock(&c->lock);
   if (reset) {
      vmx_platform_request(c->p, VMX_REQ_RESET, "fast reset through port 0x92");
   }
}

/* ---- the device side */

bool
i8042_attach(i8042 *c, unsigned port, const i8042_port_ops *ops, void *dev, char **err)
{
   if (port > I8042_AUX) {
      *err = g_strdup_printf("i8042: no port %u", port);
      return false;
   }
   pthread_mutex_lock(&c->lock);
   if (c->port[port].ops) {
      pthread_mutex_unlock(&c->lock);
      *err = g_strdup_printf("i8042: the %s port already has a device",
                             port == I8042_KBD ? "keyboard" : "auxiliary");
      return false;
   }
   c->port[port].ops = ops;
   c->port[port].dev = dev;
   pthread_mutex_unlock(&c->lock);
   return true;
}

void
i8042_detach(i8042 *c, unsigned port)
{
   if (port > I8042_AUX) {
      return;
   }
   pthread_mutex_lock(&c->lock);
   c->port[port].ops = NULL;
   c->port[port].dev = NULL;
   pthread_mutex_unlock(&c->lock);
}

void
i8042_data_ready(i8042 *c)
{
   pthread_mutex_lock(&c->lock);
   refill(c);
   pthread_mutex_unlock(&c->lock);
}

bool
i8042_a20(i8042 *c)
{
   pthread_mutex_lock(&c->lock);
   bool on = c->outport_a20 || (c->port92 & 2);
   pthread_mutex_unlock(&c->lock);
   return on;
}

/* ---- device */

static void
power_on_state(i8042 *c)
{
   memset(c->ram, 0, sizeof c->ram);
   c->ram[0] = CB_POWER_ON;
   c->sys = true;
   c->a2 = false;
   c->obf = c->obf_aux = false;
   c->obuf = 0;
   c->cq_head = c->cq_n = 0;
   c->pending = 0;
   c->outport_a20 = OP_A20;
   c->port92 = 0;
   c->xlat_break = false;
}

static void kbc_destroy(void *dev);

static void *
kbc_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   i8042 *c = g_new0(i8042, 1);
   c->p = p;
   pthread_mutex_init(&c->lock, NULL);
   power_on_state(c);
   const vmx_io_region data = { "i8042 data", data_read, data_write_port, c };
   const vmx_io_region cmd = { "i8042 status/command", cmd_read, cmd_write, c };
   const vmx_io_region pa = { "system control port A", porta_read, porta_write, c };
   if (!vmx_platform_map_pio(p, DATA_PORT, 1, &data, err)) {
      kbc_destroy(c);
      return NULL;
   }
   if (!vmx_platform_map_pio(p, CMD_PORT, 1, &cmd, err)) {
      vmx_platform_unmap_pio(p, DATA_PORT, 1);
      kbc_destroy(c);
      return NULL;
   }
   if (!vmx_platform_map_pio(p, PORT_A, 1, &pa, err)) {
      vmx_platform_unmap_pio(p, DATA_PORT, 1);
      vmx_platform_unmap_pio(p, CMD_PORT, 1);
      kbc_destroy(c);
      return NULL;
   }
   c->mapped = true;
   return c;
}

static void
kbc_destroy(void *dev)
{
   i8042 *c = dev;
   if (c->mapped) {
      vmx_platform_unmap_pio(c->p, DATA_PORT, 1);
      vmx_platform_unmap_pio(c->p, CMD_PORT, 1);
      vmx_platform_unmap_pio(c->p, PORT_A, 1);
   }
   pthread_mutex_destroy(&c->lock);
   g_free(c);
}

static void
kbc_reset(void *dev)
{
   i8042 *c = dev;
   pthread_mutex_lock(&c->lock);
   power_on_state(c);
   update_irq(c, true);
   pthread_mutex_unlock(&c->lock);
}

static void
kbc_save(void *dev, ckpt_writer *w)
{
   i8042 *c = dev;
   pthread_mutex_lock(&c->lock);
   ckpt_put_bytes(w, "ram", c->ram, sizeof c->ram);
   uint8_t flags = (uint8_t)((c->sys ? 1 : 0) | (c->a2 ? 2 : 0) | (c->obf ? 4 : 0) |
                             (c->obf_aux ? 8 : 0) | (c->xlat_break ? 16 : 0));
   ckpt_put_u8(w, "flags", flags);
   ckpt_put_u8(w, "obuf", c->obuf);
   ckpt_put_u8(w, "pending", c->pending);
   uint8_t q[2 * CTLQ];
   for (unsigned i = 0; i < c->cq_n; i++) {
      q[2 * i] = c->ctlq[(c->cq_head + i) % CTLQ][0];
      q[2 * i + 1] = c->ctlq[(c->cq_head + i) % CTLQ][1];
   }
   ckpt_put_bytes(w, "ctlq", q, 2 * c->cq_n);
   ckpt_put_u8(w, "outport_a20", c->outport_a20);
   ckpt_put_u8(w, "port92", c->port92);
   pthread_mutex_unlock(&c->lock);
}

static bool
pending_ok(uint8_t p)
{
   return p == 0 || (p >= 0x60 && p <= 0x7f) || (p >= 0xd1 && p <= 0xd4);
}

static bool
kbc_restore(void *dev, ckpt_reader *r, char **err)
{
   i8042 *c = dev;
   pthread_mutex_lock(&c->lock);
   uint8_t ram[32], flags, obuf = c->obuf, pending = c->pending, a20 = c->outport_a20;
   uint8_t p92 = c->port92, q[2 * CTLQ];
   memcpy(ram, c->ram, sizeof ram);
   flags = (uint8_t)((c->sys ? 1 : 0) | (c->a2 ? 2 : 0) | (c->obf ? 4 : 0) |
                     (c->obf_aux ? 8 : 0) | (c->xlat_break ? 16 : 0));
   size_t nq = 2 * c->cq_n;
   for (unsigned i = 0; i < c->cq_n; i++) {
      q[2 * i] = c->ctlq[(c->cq_head + i) % CTLQ][0];
      q[2 * i + 1] = c->ctlq[(c->cq_head + i) % CTLQ][1];
   }
   pthread_mutex_unlock(&c->lock);
   ckpt_get_bytes(r, "ram", ram, sizeof ram);
   ckpt_get_u8(r, "flags", &flags);
   ckpt_get_u8(r, "obuf", &obuf);
   ckpt_get_u8(r, "pending", &pending);
   ckpt_get_u8(r, "outport_a20", &a20);
   ckpt_get_u8(r, "port92", &p92);
   size_t n;
   const uint8_t *b = ckpt_get_blob(r, "ctlq", &n);
   if (ckpt_reader_error(r)) {
      return false;
   }
   const char *bad = NULL;
   if (b) {
      if (n > sizeof q || (n & 1)) {
         bad = "'ctlq' is not up to 8 (byte, channel) pairs";
      } else {
         memcpy(q, b, n);
         nq = n;
         for (size_t i = 1; i < n; i += 2) {
            if (q[i] > 1) {
               bad = "'ctlq' has a channel other than 0 or 1";
            }
         }
      }
   }
   if (flags & ~0x1f) {
      bad = "'flags' has unknown bits";
   } else if (!pending_ok(pending)) {
      bad = "'pending' is not a command that takes a data byte";
   } else if (a20 & ~OP_A20) {
      bad = "'outport_a20' is not 0 or 2";
   } else if (p92 & ~3) {
      bad = "'port92' has bits other than 0 and 1";
   } else if ((flags & 8) && !(flags & 4)) {
      bad = "'flags' says mouse data with an empty output buffer";
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section i8042: item %s", bad);
      return false;
   }
   pthread_mutex_lock(&c->lock);
   memcpy(c->ram, ram, sizeof ram);
   c->sys = flags & 1;
   c->a2 = flags & 2;
   c->obf = flags & 4;
   c->obf_aux = flags & 8;
   c->xlat_break = flags & 16;
   c->obuf = obuf;
   c->pending = pending;
   c->outport_a20 = a20;
   c->port92 = p92;
   c->cq_head = 0;
   c->cq_n = (unsigned)(nq / 2);
   for (unsigned i = 0; i < c->cq_n; i++) {
      c->ctlq[i][0] = q[2 * i];
      c->ctlq[i][1] = q[2 * i + 1];
   }
   update_irq(c, true);
   pthread_mutex_unlock(&c->lock);
   return true;
}

const vmx_device_desc vmx_dev_i8042 = {
   .name = "i8042",
   .version = 1,
   .create = kbc_create,
   .reset = kbc_reset,
   .destroy = kbc_destroy,
   .save = kbc_save,
   .restore = kbc_restore,
};
