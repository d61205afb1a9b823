/*
 * vmx/dev/chipset/vmmouse.c - the VMware absolute pointer on the backdoor.
 * See vmmouse.h.
 */
#include "vmx/dev/chipset/vmmouse.h"
#include "mks/console/buttons.h"
#include "vmx/dev/chipset/backdoor.h"
#include "vmx/dev/chipset/ps2mouse.h"
#include "vmx/vmxlog.h"

#include <glib.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>

#define STATUS_OK 0u
#define LOG_MAX 8

struct vmmouse {
   vmx_platform *p;
   backdoor *bd;
   ps2mouse *ps2;
   pthread_mutex_t lock;
   uint32_t q[VMMOUSE_QUEUE_WORDS];   /* words, oldest first at qh */
   unsigned qh, qn;
   uint16_t status;                   /* 0 enabled, 0xffff disabled/error */
   bool absolute;
   unsigned logged;
   unsigned ncmds;                    /* backdoor commands registered */
};

vmmouse *
vmmouse_get(vmx_platform *p)
{
   return vmx_platform_device(p, "vmmouse");
}

/* ---- queue (lock held) */

static void
qpush(vmmouse *m, uint32_t w)
{
   m->q[(m->qh + m->qn++) % VMMOUSE_QUEUE_WORDS] = w;
}

static uint32_t
qpop(vmmouse *m)
{
   uint32_t w = m->q[m->qh];
   m->qh = (m->qh + 1) % VMMOUSE_QUEUE_WORDS;
   m->qn--;
   return w;
}

static void
power_on(vmmouse *m)
{
   m->qh = m->qn = 0;
   m->status = VMMOUSE_STATUS_ERROR;
   m->absolute = false;
}

static void guest_error(vmmouse *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
guest_error(vmmouse *m, const char *fmt, ...)
{
   if (m->logged < LOG_MAX) {
      m->logged++;
      va_list ap;
      va_start(ap, fmt);
      char *msg = g_strdup_vprintf(fmt, ap);
      va_end(ap);
      vmxlog("vmmouse: %s%s", msg, m->logged == LOG_MAX ? " (not logging more)" : "");
      g_free(msg);
   }
}

/* ---- backdoor commands (vCPU threads) */

static void
cmd_data(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   static const unsigned out[6] = { VMM_RAX, VMM_RBX, VMM_RCX, VMM_RDX, VMM_RSI, VMM_RDI };
   vmmouse *m = opaque;
   uint32_t n = backdoor_get32(r, VMM_RBX);
   pthread_mutex_lock(&m->lock);
   if (n == 0 || n > 6 || n > m->qn) {
      /* The driver asked for what is not there: VMware disables the
       * device, and the drivers then re-probe it. */
      guest_error(m, "driver asked for %u queued words; device disabled", n);
      m->status = VMMOUSE_STATUS_ERROR;
      m->qh = m->qn = 0;
      m->absolute = false;
      pthread_mutex_unlock(&m->lock);
      return;
   }
   uint32_t w[6];
   for (uint32_t i = 0; i < n; i++) {
      w[i] = qpop(m);
   }
   pthread_mutex_unlock(&m->lock);
   for (uint32_t i = 0; i < n; i++) {
      backdoor_set32(r, out[i], w[i]);
   }
}

static void
cmd_status(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   vmmouse *m = opaque;
   pthread_mutex_lock(&m->lock);
   uint32_t v = ((uint32_t)m->status << 16) | m->qn;
   pthread_mutex_unlock(&m->lock);
   backdoor_set32(r, VMM_RAX, v);
}

static void
cmd_command(void *opaque, vmm_vcpu *cpu, vmm_regs *r)
{
   vmmouse *m = opaque;
   uint32_t c = backdoor_get32(r, VMM_RBX);
   pthread_mutex_lock(&m->lock);
   switch (c) {
   case VMMOUSE_READ_ID:
      if (m->qn < VMMOUSE_QUEUE_WORDS) {
         qpush(m, VMMOUSE_VERSION_ID);
      }
      m->status = STATUS_OK;
      break;
   case VMMOUSE_DISABLE:
      m->status = VMMOUSE_STATUS_ERROR;
      m->qh = m->qn = 0;
      m->absolute = false;
      break;
   case VMMOUSE_REQUEST_RELATIVE:
      m->absolute = false;
      break;
   case VMMOUSE_REQUEST_ABSOLUTE:
      m->absolute = true;
      break;
   default:
      guest_error(m, "unknown command 0x%x ignored", c);
      break;
   }
   pthread_mutex_unlock(&m->lock);
}

/* ---- host input */

bool
vmmouse_enabled(vmmouse *m)
{
   pthread_mutex_lock(&m->lock);
   bool on = m->status == STATUS_OK;
   pthread_mutex_unlock(&m->lock);
   return on;
}

bool
vmmouse_absolute(vmmouse *m)
{
   pthread_mutex_lock(&m->lock);
   bool on = m->status == STATUS_OK && m->absolute;
   pthread_mutex_unlock(&m->lock);
   return on;
}

static uint32_t
button_bits(unsigned buttons)
{
   return ((buttons & MKS_BUTTON_LEFT) ? VMMOUSE_LEFT_BUTTON : 0) |
          ((buttons & MKS_BUTTON_RIGHT) ? VMMOUSE_RIGHT_BUTTON : 0) |
          ((buttons & MKS_BUTTON_MIDDLE) ? VMMOUSE_MIDDLE_BUTTON : 0);
}

static bool
queue_packet(vmmouse *m, bool absolute, uint32_t status, uint32_t x, uint32_t y,
             uint32_t z, unsigned buttons)
{
   pthread_mutex_lock(&m->lock);
   if (m->status != STATUS_OK || m->absolute != absolute ||
       m->qn + 4 > VMMOUSE_QUEUE_WORDS) {
      pthread_mutex_unlock(&m->lock);
      return false;
   }
   qpush(m, status);
   qpush(m, x);
   qpush(m, y);
   qpush(m, z);
   pthread_mutex_unlock(&m->lock);
   /* Wake the guest driver through the PS/2 mouse (outside our lock: the
    * mouse takes its own and the i8042's). */
   if (m->ps2) {
      ps2mouse_move(m->ps2, 1, 0, 0, buttons & MKS_BUTTON_ALL);
   }
   return true;
}

bool
vmmouse_abs(vmmouse *m, uint16_t x, uint16_t y, int dz, unsigned buttons)
{
   return queue_packet(m, true, button_bits(buttons), x, y, (uint32_t)-dz, buttons);
}

bool
vmmouse_rel(vmmouse *m, int dx, int dy, int dz, unsigned buttons)
{
   return queue_packet(m, false, VMMOUSE_RELATIVE_PACKET | button_bits(buttons), (uint32_t)dx,
                       (uint32_t)-dy, (uint32_t)-dz, buttons);
}

/* ---- device */

static const struct {
   uint16_t cmd;
   backdoor_fn fn;
} cmds[] = {
   { VMMOUSE_CMD_DATA, cmd_data },
   { VMMOUSE_CMD_STATUS, cmd_status },
   { VMMOUSE_CMD_COMMAND, cmd_command },
};

static void
vmmouse_destroy(void *dev)
{
   vmmouse *m = dev;
   for (unsigned i = 0; i < m->ncmds; i++) {
      backdoor_unregister(m->bd, cmds[i].cmd);
   }
   pthread_mutex_destroy(&m->lock);
   g_free(m);
}

static void *
vmmouse_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   backdoor *bd = backdoor_get(p);
   if (!bd) {
      *err = g_strdup("the backdoor device must come before vmmouse in the device table");
      return NULL;
   }
   vmmouse *m = g_new0(vmmouse, 1);
   m->p = p;
   m->bd = bd;
   m->ps2 = ps2mouse_get(p);
   pthread_mutex_init(&m->lock, NULL);
   power_on(m);
   for (unsigned i = 0; i < G_N_ELEMENTS(cmds); i++) {
      if (!backdoor_register(bd, cmds[i].cmd, cmds[i].fn, m, err)) {
         vmmouse_destroy(m);
         return NULL;
      }
      m->ncmds++;
   }
   if (!m->ps2) {
      vmxlog("vmmouse: no PS/2 mouse before it in the device table: guests will not be "
             "notified of pointer packets");
   }
   return m;
}

static void
vmmouse_reset(void *dev)
{
   vmmouse *m = dev;
   pthread_mutex_lock(&m->lock);
   power_on(m);
   pthread_mutex_unlock(&m->lock);
}

static void
vmmouse_save(void *dev, ckpt_writer *w)
{
   vmmouse *m = dev;
   pthread_mutex_lock(&m->lock);
   uint8_t *q = g_malloc(m->qn * 4u + 1);
   for (unsigned i = 0; i < m->qn; i++) {
      uint32_t v = m->q[(m->qh + i) % VMMOUSE_QUEUE_WORDS];
      q[i * 4] = (uint8_t)v;
      q[i * 4 + 1] = (uint8_t)(v >> 8);
      q[i * 4 + 2] = (uint8_t)(v >> 16);
      q[i * 4 + 3] = (uint8_t)(v >> 24);
   }
   ckpt_put_bytes(w, "queue", q, m->qn * 4u);
   ckpt_put_u16(w, "status", m->status);
   ckpt_put_u8(w, "absolute", m->absolute);
   pthread_mutex_unlock(&m->lock);
   g_free(q);
}

static bool
vmmouse_restore(void *dev, ckpt_reader *r, char **err)
{
   vmmouse *m = dev;
   pthread_mutex_lock(&m->lock);
   uint16_t status = m->status;
   uint8_t absolute = m->absolute;
   pthread_mutex_unlock(&m->lock);
   size_t n = 0;
   const uint8_t *b = ckpt_get_blob(r, "queue", &n);
   ckpt_get_u16(r, "status", &status);
   ckpt_get_u8(r, "absolute", &absolute);
   if (ckpt_reader_error(r)) {
      return false;
   }
   const char *bad = NULL;
   if (b && (n % 4 || n / 4 > VMMOUSE_QUEUE_WORDS)) {
      bad = "'queue' is not a whole number of words within the 1024-word queue";
   } else if (status != STATUS_OK && status != VMMOUSE_STATUS_ERROR) {
      bad = "'status' is neither 0 (enabled) nor 0xffff (disabled)";
   } else if (absolute > 1) {
      bad = "'absolute' is not 0 or 1";
   } else if (status == VMMOUSE_STATUS_ERROR && b && n) {
      bad = "'queue' holds words while the device is disabled";
   }
   if (bad) {
      *err = g_strdup_printf("checkpoint section vmmouse: item %s", bad);
      return false;
   }
   pthread_mutex_lock(&m->lock);
   if (b) {
      m->qh = 0;
      m->qn = (unsigned)(n / 4);
      for (unsigned i = 0; i < m->qn; i++) {
         m->q[i] = (uint32_t)b[i * 4] | (uint32_t)b[i * 4 + 1] << 8 |
                   (uint32_t)b[i * 4 + 2] << 16 | (uint32_t)b[i * 4 + 3] << 24;
      }
   }
   m->status = status;
   m->absolute = absolute;
   pthread_mutex_unlock(&m->lock);
   return true;
}

const vmx_device_desc vmx_dev_vmmouse = {
   .name = "vmmouse",
   .version = 1,
   .create = vmmouse_create,
   .reset = vmmouse_reset,
   .destroy = vmmouse_destroy,
   .save = vmmouse_save,
   .restore = vmmouse_restore,
};
