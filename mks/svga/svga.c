/*
 * mks/svga/svga.c - the SVGA II device: creation, the PCI function and its
 * BARs, the register file behind the index/value ports, interrupts,
 * svga_process and the helper thread. See svga.h.
 *
 * Registers (SVGA_REG_*), as a driver sees them:
 *
 *   ID                 SVGA_ID_2 after reset; writing SVGA_ID_0..2 selects
 *                      that version (reads return it), anything else is
 *                      ignored (reads keep the supported version)
 *   ENABLE             bit 0 enable, bit 1 hide the legacy framebuffer
 *   WIDTH, HEIGHT      legacy mode, 1..MAX_WIDTH / MAX_HEIGHT (other
 *                      values are ignored); 1024 x 768 after reset
 *   BITS_PER_PIXEL     8, 15, 16, 24 or 32 (SVGA_CAP_8BIT_EMULATION);
 *                      DEPTH, PSEUDOCOLOR and the masks follow it
 *   BYTES_PER_LINE     PITCHLOCK if set, else the FIFO pitchlock register
 *                      if set, else width * bytes per pixel (4-aligned)
 *   FB_START, MEM_START  BAR1 / BAR2 address; FB_OFFSET 0
 *   VRAM_SIZE, FB_SIZE, MEM_SIZE, MEMORY_SIZE, MAX_PRIMARY_MEM
 *   CAPABILITIES       RECT_COPY, CURSOR, CURSOR_BYPASS(_2), 8BIT_EMULATION,
 *                      ALPHA_CURSOR, EXTENDED_FIFO, PITCHLOCK, IRQMASK,
 *                      DISPLAY_TOPOLOGY, GMR, TRACES, GMR2, SCREEN_OBJECT_2
 *                      (no 3D)
 *   CONFIG_DONE        1 turns the FIFO on (with ENABLE)
 *   SYNC, BUSY         see svga.h "Processing model"
 *   CURSOR_ID/X/Y/ON   cursor bypass 2
 *   HOST_BITS_PER_PIXEL 32; SCRATCH_SIZE 64; MEM_REGS 291; NUM_DISPLAYS 1
 *   IRQMASK            ANY_FENCE, FIFO_PROGRESS, FENCE_GOAL, ERROR
 *   NUM_GUEST_DISPLAYS, DISPLAY_ID, DISPLAY_*  stored for up to 10 displays
 *                      (the shadow shows the whole legacy framebuffer)
 *   GMR_ID, GMR_DESCRIPTOR, GMR_MAX_IDS (64), GMR_MAX_DESCRIPTOR_LENGTH
 *                      (4096), GMRS_MAX_PAGES (65536)
 *   TRACES             scan the legacy framebuffer even with the FIFO on
 *   DEV_CAP            every 3D device capability reads 0
 *   palette (1024..1791) and scratch (1792..1855) registers
 *
 * Unknown registers read 0 and ignore writes.
 */
#include "mks/svga/svga-int.h"
#include "mks/svga/svga-ckpt.h"
#include "vmx/vmxlog.h"

#include <errno.h>
#include <glib.h>
#include <poll.h>
#include <stdarg.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#define SVGA_CAPS                                                                          \
   (SVGA_CAP_RECT_COPY | SVGA_CAP_CURSOR | SVGA_CAP_CURSOR_BYPASS | SVGA_CAP_CURSOR_BYPASS_2 | \
    SVGA_CAP_8BIT_EMULATION | SVGA_CAP_ALPHA_CURSOR | SVGA_CAP_EXTENDED_FIFO |              \
    SVGA_CAP_PITCHLOCK | SVGA_CAP_IRQMASK | SVGA_CAP_DISPLAY_TOPOLOGY | SVGA_CAP_GMR |      \
    SVGA_CAP_TRACES | SVGA_CAP_GMR2 | SVGA_CAP_SCREEN_OBJECT_2)

#define LOG_BUDGET 64

svga *
svga_get(vmx_platform *p)
{
   return vmx_platform_device(p, "svga");
}

svga_fb *
svga_get_fb(svga *s)
{
   return s->fb;
}

/* ---- logging and the error state */

void
svga_guest_log(svga *s, const char *fmt, ...)
{
   if (s->log_budget == 0) {
      return;
   }
   va_list ap;
   va_start(ap, fmt);
   char *msg = g_strdup_vprintf(fmt, ap);
   va_end(ap);
   s->log_budget--;
   vmxlog("SVGA: %s%s", msg, s->log_budget ? "" : " (further messages suppressed)");
   g_free(msg);
}

void
svga_fail(svga *s, const char *fmt, ...)
{
   if (s->error) {
      return;
   }
   va_list ap;
   va_start(ap, fmt);
   g_vsnprintf(s->error_msg, sizeof s->error_msg, fmt, ap);
   va_end(ap);
   s->error = true;
   s->sync_pending = false;
   vmxlog("SVGA: %s; command processing stopped until the driver reinitializes the device",
          s->error_msg);
   svga_raise_irq(s, SVGA_IRQFLAG_ERROR);
}

bool
svga_in_error(svga *s, char *msg, size_t n)
{
   pthread_mutex_lock(&s->lock);
   bool e = s->error;
   if (n) {
      g_strlcpy(msg, e ? s->error_msg : "", n);
   }
   pthread_mutex_unlock(&s->lock);
   return e;
}

void
svga_wake(svga *s)
{
   uint64_t one = 1;
   ssize_t r = write(s->wake_fd, &one, sizeof one);
   (void)r;   /* EAGAIN: already readable */
}

int
svga_wake_fd(svga *s)
{
   return s->wake_fd;
}

/* ---- interrupts */

void
svga_update_irq(svga *s)
{
   pci_set_irq(s->pci, (s->irq_status & s->irq_mask) != 0);
}

void
svga_raise_irq(svga *s, uint32_t flags)
{
   s->irq_status |= flags;
   if ((flags & s->irq_mask) && pci_msi_enabled(s->pci)) {
      pci_msi_notify(s->pci, 0);
   }
   svga_update_irq(s);
}

/* ---- legacy mode geometry */

svga_pf
svga_bpp_format(uint32_t bpp)
{
   switch (bpp) {
   case 8: return SVGA_PF_8;
   case 15: return SVGA_PF_555;
   case 16: return SVGA_PF_565;
   case 24: return SVGA_PF_888;
   case 32: return SVGA_PF_X888;
   default: return SVGA_PF_NONE;
   }
}

uint32_t
svga_reg_depth(uint32_t bpp)
{
   return bpp == 32 ? 24 : bpp;
}

uint32_t
svga_reg_bytes_per_line(svga *s)
{
   if (s->pitchlock) {
      return s->pitchlock;
   }
   if (svga_fifo_enabled(s) && svga_fifo_has_reg(s, SVGA_FIFO_PITCHLOCK)) {
      uint32_t p = svga_fifo_get(s, SVGA_FIFO_PITCHLOCK);
      if (p) {
         return p;
      }
   }
   unsigned bytes = (s->bpp + 7) / 8;
   return (s->width * bytes + 3) & ~3u;
}

static uint32_t
reg_masks(uint32_t bpp, unsigned which)
{
   static const uint32_t m565[3] = { 0xf800, 0x07e0, 0x001f };
   static const uint32_t m555[3] = { 0x7c00, 0x03e0, 0x001f };
   static const uint32_t m888[3] = { 0xff0000, 0x00ff00, 0x0000ff };
   switch (bpp) {
   case 15: return m555[which];
   case 16: return m565[which];
   case 24:
   case 32: return m888[which];
   default: return 0;
   }
}

/* ---- BAR listener */

static void
bar_sync(svga *s)
{
   static const unsigned bars[2] = { SVGA_BAR_VRAM, SVGA_BAR_FIFO };
   for (unsigned i = 0; i < 2; i++) {
      unsigned b = bars[i];
      uint64_t now = pci_bar_address(s->pci, b);
      pthread_mutex_lock(&s->bar_lock);
      uint64_t old = s->bar_seen[b];
      s->bar_seen[b] = now;
      svga_bar_moved_fn fn = s->bar_fn;
      void *op = s->bar_opaque;
      if (old != now && fn) {
         void *host;
         uint64_t size;
         svga_bar_memory(s, b, &host, &size);
         fn(op, b, old, now, host, size);
      }
      pthread_mutex_unlock(&s->bar_lock);
   }
}

void
svga_set_bar_listener(svga *s, svga_bar_moved_fn fn, void *opaque)
{
   pthread_mutex_lock(&s->bar_lock);
   s->bar_fn = fn;
   s->bar_opaque = opaque;
   for (unsigned b = SVGA_BAR_VRAM; b <= SVGA_BAR_FIFO && fn; b++) {
      s->bar_seen[b] = pci_bar_address(s->pci, b);
      if (s->bar_seen[b] != PCI_BAR_UNMAPPED) {
         void *host;
         uint64_t size;
         svga_bar_memory(s, b, &host, &size);
         fn(opaque, b, PCI_BAR_UNMAPPED, s->bar_seen[b], host, size);
      }
   }
   pthread_mutex_unlock(&s->bar_lock);
}

bool
svga_bar_memory(svga *s, unsigned bar, void **host, uint64_t *size)
{
   if (bar == SVGA_BAR_VRAM) {
      *host = s->vram;
      *size = s->vram_bar;
      return true;
   }
   if (bar == SVGA_BAR_FIFO) {
      *host = s->fifo;
      *size = SVGA_FIFO_BYTES;
      return true;
   }
   *host = NULL;
   *size = 0;
   return false;
}

uint64_t
svga_bar_address(svga *s, unsigned bar)
{
   return pci_bar_address(s->pci, bar);
}

static void
config_written(void *opaque, unsigned off, unsigned size, uint32_t val)
{
   bar_sync(opaque);
}

void
svga_set_guest_memory(svga *s, const svga_guest_mem_ops *ops, void *opaque)
{
   pthread_mutex_lock(&s->lock);
   s->gm_ops = ops;
   s->gm_opaque = opaque;
   pthread_mutex_unlock(&s->lock);
}

/* ---- registers */

static bool
have_reg(svga *s, uint32_t idx)
{
   return s->id != SVGA_ID_0 || idx < SVGA_REG_ID_0_TOP || idx >= SVGA_PALETTE_BASE;
}

/* Process the FIFO now (SYNC and BUSY); true when it is drained. */
static bool
sync_now(svga *s)
{
   svga_display_sync(s);
   bool drained = svga_fifo_run(s);
   return drained || s->error || !svga_fifo_enabled(s);
}

static uint32_t
reg_read(svga *s, uint32_t idx)
{
   if (!have_reg(s, idx)) {
      return 0;
   }
   if (idx >= SVGA_PALETTE_BASE && idx < SVGA_SCRATCH_BASE) {
      return s->palette[idx - SVGA_PALETTE_BASE];
   }
   if (idx >= SVGA_SCRATCH_BASE && idx < SVGA_SCRATCH_BASE + SVGA_SCRATCH_REGS) {
      return s->scratch[idx - SVGA_SCRATCH_BASE];
   }
   uint64_t a;
   switch (idx) {
   case SVGA_REG_ID: return s->id;
   case SVGA_REG_ENABLE: return s->enable;
   case SVGA_REG_WIDTH: return s->width;
   case SVGA_REG_HEIGHT: return s->height;
   case SVGA_REG_MAX_WIDTH: return s->max_w;
   case SVGA_REG_MAX_HEIGHT: return s->max_h;
   case SVGA_REG_DEPTH: return svga_reg_depth(s->bpp);
   case SVGA_REG_BITS_PER_PIXEL: return s->bpp;
   case SVGA_REG_HOST_BITS_PER_PIXEL: return 32;
   case SVGA_REG_PSEUDOCOLOR: return s->bpp == 8;
   case SVGA_REG_RED_MASK: return reg_masks(s->bpp, 0);
   case SVGA_REG_GREEN_MASK: return reg_masks(s->bpp, 1);
   case SVGA_REG_BLUE_MASK: return reg_masks(s->bpp, 2);
   case SVGA_REG_BYTES_PER_LINE: return svga_reg_bytes_per_line(s);
   case SVGA_REG_FB_START:
      a = pci_bar_address(s->pci, SVGA_BAR_VRAM);
      return a == PCI_BAR_UNMAPPED ? 0 : (uint32_t)a;
   case SVGA_REG_FB_OFFSET: return 0;
   case SVGA_REG_VRAM_SIZE: return s->vram_size;
   case SVGA_REG_FB_SIZE:
      a = (uint64_t)svga_reg_bytes_per_line(s) * s->height;
      return a > UINT32_MAX ? UINT32_MAX : (uint32_t)a;
   case SVGA_REG_CAPABILITIES: return SVGA_CAPS;
   case SVGA_REG_MEM_START:
      a = pci_bar_address(s->pci, SVGA_BAR_FIFO);
      return a == PCI_BAR_UNMAPPED ? 0 : (uint32_t)a;
   case SVGA_REG_MEM_SIZE: return SVGA_FIFO_BYTES;
   case SVGA_REG_CONFIG_DONE: return s->config_done;
   case SVGA_REG_SYNC: return 0;
   case SVGA_REG_BUSY: return sync_now(s) ? 0 : 1;
   case SVGA_REG_GUEST_ID: return s->guest_id;
   case SVGA_REG_CURSOR_ID: return s->cursor_id;
   case SVGA_REG_CURSOR_X: return s->cursor_x;
   case SVGA_REG_CURSOR_Y: return s->cursor_y;
   case SVGA_REG_CURSOR_ON: return s->cursor_on;
   case SVGA_REG_SCRATCH_SIZE: return SVGA_SCRATCH_REGS;
   case SVGA_REG_MEM_REGS: return SVGA_FIFO_NUM_REGS;
   case SVGA_REG_NUM_DISPLAYS: return 1;
   case SVGA_REG_PITCHLOCK: return s->pitchlock;
   case SVGA_REG_IRQMASK: return s->irq_mask;
   case SVGA_REG_NUM_GUEST_DISPLAYS: return s->num_guest_displays;
   case SVGA_REG_DISPLAY_ID: return s->display_id;
   case SVGA_REG_DISPLAY_IS_PRIMARY:
   case SVGA_REG_DISPLAY_POSITION_X:
   case SVGA_REG_DISPLAY_POSITION_Y:
   case SVGA_REG_DISPLAY_WIDTH:
   case SVGA_REG_DISPLAY_HEIGHT: {
      if (s->display_id >= SVGA_MAX_DISPLAYS) {
         return 0;
      }
      const svga_display_regs *d = &s->displays[s->display_id];
      const uint32_t v[5] = { d->is_primary, d->x, d->y, d->w, d->h };
      return v[idx - SVGA_REG_DISPLAY_IS_PRIMARY];
   }
   case SVGA_REG_GMR_ID: return s->gmr_id;
   case SVGA_REG_GMR_MAX_IDS: return SVGA_GMR_IDS;
   case SVGA_REG_GMR_MAX_DESCRIPTOR_LENGTH: return SVGA_GMR_MAX_DESCRIPTORS;
   case SVGA_REG_TRACES: return s->traces;
   case SVGA_REG_GMRS_MAX_PAGES: return SVGA_GMR_MAX_PAGES;
   case SVGA_REG_MEMORY_SIZE: return s->vram_size + SVGA_GMR_MAX_PAGES * SVGA_PAGE;
   case SVGA_REG_MAX_PRIMARY_MEM: return s->vram_size;
   case SVGA_REG_DEV_CAP: return 0;
   default: return 0;
   }
}

static void
legacy_mode_written(svga *s)
{
   for (unsigned i = 0; i < SVGA_MAX_SCREENS; i++) {
      if (s->screen[i].defined) {
         svga_screens_legacy_mode(s);
         break;
      }
   }
}

static void
reg_write(svga *s, uint32_t idx, uint32_t val)
{
   if (!have_reg(s, idx)) {
      return;
   }
   if (idx >= SVGA_PALETTE_BASE && idx < SVGA_SCRATCH_BASE) {
      s->palette[idx - SVGA_PALETTE_BASE] = (uint8_t)val;
      svga_palette_changed(s);
      return;
   }
   if (idx >= SVGA_SCRATCH_BASE && idx < SVGA_SCRATCH_BASE + SVGA_SCRATCH_REGS) {
      s->scratch[idx - SVGA_SCRATCH_BASE] = val;
      return;
   }
   switch (idx) {
   case SVGA_REG_ID:
      if (val >= SVGA_ID_0 && val <= SVGA_ID_2) {
         s->id = val;
      }
      break;
   case SVGA_REG_ENABLE: {
      uint32_t old = s->enable;
      s->enable = val & (SVGA_REG_ENABLE_ENABLE | SVGA_REG_ENABLE_HIDE);
      if (!(old & SVGA_REG_ENABLE_ENABLE) && (s->enable & SVGA_REG_ENABLE_ENABLE) &&
          s->config_done) {
         s->error = false;
         svga_fifo_configure(s);
      }
      break;
   }
   case SVGA_REG_WIDTH:
   case SVGA_REG_HEIGHT: {
      uint32_t max = idx == SVGA_REG_WIDTH ? s->max_w : s->max_h;
      if (val == 0 || val > max) {
         svga_guest_log(s, "%s %u ignored (1..%u)", idx == SVGA_REG_WIDTH ? "width" : "height",
                        val, max);
         break;
      }
      *(idx == SVGA_REG_WIDTH ? &s->width : &s->height) = val;
      legacy_mode_written(s);
      break;
   }
   case SVGA_REG_BITS_PER_PIXEL:
      if (svga_bpp_format(val) == SVGA_PF_NONE) {
         svga_guest_log(s, "%u bits per pixel ignored (8, 15, 16, 24 or 32)", val);
         break;
      }
      s->bpp = val;
      legacy_mode_written(s);
      break;
   case SVGA_REG_PITCHLOCK:
      s->pitchlock = val;
      legacy_mode_written(s);
      break;
   case SVGA_REG_CONFIG_DONE: {
      bool was = s->config_done;
      s->config_done = val ? 1 : 0;
      if (!was && s->config_done) {
         s->error = false;
         svga_fifo_configure(s);
      }
      break;
   }
   case SVGA_REG_SYNC:
      s->sync_pending = true;
      sync_now(s);
      svga_wake(s);
      break;
   case SVGA_REG_GUEST_ID: s->guest_id = val; break;
   case SVGA_REG_CURSOR_ID: s->cursor_id = val; break;
   case SVGA_REG_CURSOR_X: s->cursor_x = val; break;
   case SVGA_REG_CURSOR_Y: s->cursor_y = val; break;
   case SVGA_REG_CURSOR_ON:
      s->cursor_on = val;
      s->cpos_x = (int32_t)s->cursor_x;
      s->cpos_y = (int32_t)s->cursor_y;
      s->cpos_on = val == SVGA_CURSOR_ON_SHOW || val == SVGA_CURSOR_ON_RESTORE_TO_FB;
      s->cpos_screen = SVGA_ID_INVALID;
      svga_cursor_update_pos(s);
      break;
   case SVGA_REG_IRQMASK: {
      uint32_t old = s->irq_mask;
      s->irq_mask = val & SVGA_IRQFLAG_ALL;
      if ((s->irq_status & s->irq_mask & ~old) && pci_msi_enabled(s->pci)) {
         pci_msi_notify(s->pci, 0);
      }
      svga_update_irq(s);
      break;
   }
   case SVGA_REG_NUM_GUEST_DISPLAYS:
      s->num_guest_displays = MIN(val, SVGA_MAX_DISPLAYS);
      break;
   case SVGA_REG_DISPLAY_ID: s->display_id = val; break;
   case SVGA_REG_DISPLAY_IS_PRIMARY:
   case SVGA_REG_DISPLAY_POSITION_X:
   case SVGA_REG_DISPLAY_POSITION_Y:
   case SVGA_REG_DISPLAY_WIDTH:
   case SVGA_REG_DISPLAY_HEIGHT:
      if (s->display_id < SVGA_MAX_DISPLAYS) {
         svga_display_regs *d = &s->displays[s->display_id];
         uint32_t *f[5] = { &d->is_primary, &d->x, &d->y, &d->w, &d->h };
         *f[idx - SVGA_REG_DISPLAY_IS_PRIMARY] = val;
      }
      break;
   case SVGA_REG_GMR_ID: s->gmr_id = val; break;
   case SVGA_REG_GMR_DESCRIPTOR: svga_gmr_define_legacy(s, s->gmr_id, val); break;
   case SVGA_REG_TRACES: s->traces = val ? 1 : 0; break;
   case SVGA_REG_DEV_CAP: s->dev_cap = val; break;
   default:
      break;   /* read-only or unknown */
   }
}

/* ---- BAR0: the I/O ports */

static uint64_t
io_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   svga *s = opaque;
   if (size != 4) {
      return ~0ull;
   }
   pthread_mutex_lock(&s->lock);
   uint32_t idx = s->index;
   uint32_t v = 0;
   switch (off) {
   case SVGA_INDEX_PORT: v = s->index; break;
   case SVGA_VALUE_PORT: v = reg_read(s, s->index); break;
   case SVGA_BIOS_PORT: v = 0; break;
   case SVGA_IRQSTATUS_PORT: v = s->irq_status; break;
   default: v = ~0u; break;
   }
   pthread_mutex_unlock(&s->lock);
   if (off == SVGA_VALUE_PORT && idx == SVGA_REG_BUSY) {
      svga_fb_notify(s->fb);
   }
   return v;
}

static void
io_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   svga *s = opaque;
   if (size != 4) {
      return;
   }
   uint32_t v = (uint32_t)val;
   pthread_mutex_lock(&s->lock);
   uint32_t idx = s->index;
   switch (off) {
   case SVGA_INDEX_PORT: s->index = v; break;
   case SVGA_VALUE_PORT: reg_write(s, idx, v); break;
   case SVGA_IRQSTATUS_PORT:
      s->irq_status &= ~v;
      svga_update_irq(s);
      break;
   default: break;
   }
   pthread_mutex_unlock(&s->lock);
   if (off == SVGA_VALUE_PORT && idx == SVGA_REG_SYNC) {
      svga_fb_notify(s->fb);
   }
}

/* ---- BAR1/BAR2 as MMIO over the same memory (until the vmx maps them) */

static uint64_t
mem_read(uint8_t *base, uint64_t limit, uint64_t off, unsigned size)
{
   uint64_t v = 0;
   if (size <= 8 && off < limit && size <= limit - off) {
      memcpy(&v, base + off, size);
   }
   return v;
}

static void
mem_write(uint8_t *base, uint64_t limit, uint64_t off, unsigned size, uint64_t val)
{
   if (size <= 8 && off < limit && size <= limit - off) {
      memcpy(base + off, &val, size);
   }
}

static uint64_t
vram_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   svga *s = opaque;
   return mem_read(s->vram, s->vram_bar, off, size);
}

static void
vram_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   svga *s = opaque;
   mem_write(s->vram, s->vram_bar, off, size, val);
}

static uint64_t
fifo_read(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size)
{
   svga *s = opaque;
   return mem_read((uint8_t *)s->fifo, SVGA_FIFO_BYTES, off, size);
}

static void
fifo_write(void *opaque, vmm_vcpu *cpu, uint64_t off, unsigned size, uint64_t val)
{
   svga *s = opaque;
   mem_write((uint8_t *)s->fifo, SVGA_FIFO_BYTES, off, size, val);
   if (off == SVGA_FIFO_NEXT_CMD * 4) {
      svga_wake(s);   /* a doorbell of sorts: the MMIO path sees the commit */
   }
}

/* ---- memory */

static void *
alloc_shared(const char *name, uint64_t size, char **err)
{
   int fd = memfd_create(name, MFD_CLOEXEC);
   if (fd < 0) {
      *err = g_strdup_printf("SVGA: memfd_create: %s", g_strerror(errno));
      return NULL;
   }
   if (ftruncate(fd, (off_t)size) != 0) {
      *err = g_strdup_printf("SVGA: cannot size %s to %llu bytes: %s", name,
                             (unsigned long long)size, g_strerror(errno));
      close(fd);
      return NULL;
   }
   void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
   close(fd);
   if (p == MAP_FAILED) {
      *err = g_strdup_printf("SVGA: cannot map %s: %s", name, g_strerror(errno));
      return NULL;
   }
   return p;
}

/* ---- reset */

static void
reset_locked(svga *s)
{
   s->index = 0;
   s->id = SVGA_ID_2;
   s->enable = 0;
   s->width = 1024;
   s->height = 768;
   s->bpp = 32;
   s->pitchlock = 0;
   s->config_done = 0;
   s->guest_id = 0;
   s->traces = 0;
   s->cursor_id = s->cursor_x = s->cursor_y = s->cursor_on = 0;
   s->irq_mask = 0;
   s->irq_status = 0;
   s->num_guest_displays = 0;
   s->display_id = 0;
   memset(s->displays, 0, sizeof s->displays);
   s->gmr_id = 0;
   s->dev_cap = 0;
   memset(s->palette, 0, sizeof s->palette);
   memset(s->scratch, 0, sizeof s->scratch);
   s->sync_pending = false;
   s->error = false;
   s->error_msg[0] = 0;
   s->fmin = s->fmax = 0;
   s->cursor_count = 0;
   s->fifo_cursor_seen = false;
   s->log_budget = LOG_BUDGET;
   svga_gmr_free_all(s);
   memset(&s->gmrfb, 0, sizeof s->gmrfb);
   svga_screens_free(s);
   g_free(s->cursor.argb);
   memset(&s->cursor, 0, sizeof s->cursor);
   s->cpos_x = s->cpos_y = 0;
   s->cpos_on = false;
   s->cpos_screen = SVGA_ID_INVALID;
   /* VRAM and FIFO memory keep their contents, as memory does: a driver
    * sets the FIFO registers up before it writes CONFIG_DONE. */
   svga_vga_reset(s);
   svga_palette_changed(s);
   svga_display_reset(s);
   svga_update_irq(s);
   svga_cursor_publish(s);
}

static void
svga_reset(void *dev)
{
   svga *s = dev;
   pthread_mutex_lock(&s->lock);
   reset_locked(s);
   pthread_mutex_unlock(&s->lock);
   bar_sync(s);
   svga_fb_notify(s->fb);
}

/* ---- creation */

static void svga_destroy(void *dev);

static bool
read_config(svga *s, const vmxcfg *cfg, char **err)
{
   int64_t vram, mw, mh;
   if (!vmxcfg_get_int(cfg, "svga.vramSize", SVGA_VRAM_DEFAULT, &vram, err) ||
       !vmxcfg_get_int(cfg, "svga.maxWidth", SVGA_FB_MAX_DIM, &mw, err) ||
       !vmxcfg_get_int(cfg, "svga.maxHeight", SVGA_FB_MAX_DIM, &mh, err)) {
      return false;
   }
   if (vram < SVGA_VRAM_MIN || vram > SVGA_VRAM_MAX || (vram & 0xffff)) {
      *err = g_strdup_printf("svga.vramSize = %lld: must be %u to %u bytes (4 MiB to 128 MiB), "
                             "a multiple of 64 KiB", (long long)vram, SVGA_VRAM_MIN,
                             SVGA_VRAM_MAX);
      return false;
   }
   if (mw < 640 || mw > SVGA_FB_MAX_DIM || mh < 480 || mh > SVGA_FB_MAX_DIM) {
      *err = g_strdup_printf("svga.maxWidth x svga.maxHeight = %lld x %lld: each must be "
                             "640 (480) to %u", (long long)mw, (long long)mh, SVGA_FB_MAX_DIM);
      return false;
   }
   s->vram_size = (uint32_t)vram;
   s->max_w = (uint32_t)mw;
   s->max_h = (uint32_t)mh;
   s->vram_bar = 1;
   while (s->vram_bar < (uint64_t)vram) {
      s->vram_bar <<= 1;
   }
   return true;
}

static void *
svga_create(vmx_platform *p, const vmxcfg *cfg, char **err)
{
   pci_host *h = pci_host_get(p);
   if (!h) {
      *err = g_strdup("SVGA: the platform has no PCI host bridge (put \"pci\" before \"svga\")");
      return NULL;
   }
   svga *s = g_new0(svga, 1);
   s->p = p;
   s->wake_fd = -1;
   s->stop_fd = -1;
   pthread_mutex_init(&s->lock, NULL);
   pthread_mutex_init(&s->bar_lock, NULL);
   for (unsigned i = 0; i < 3; i++) {
      s->bar_seen[i] = PCI_BAR_UNMAPPED;
   }
   if (!read_config(s, cfg, err)) {
      svga_destroy(s);
      return NULL;
   }
   s->vram = alloc_shared("vmws-svga-vram", s->vram_bar, err);
   s->fifo = s->vram ? alloc_shared("vmws-svga-fifo", SVGA_FIFO_BYTES, err) : NULL;
   if (!s->fifo) {
      svga_destroy(s);
      return NULL;
   }
   s->cmd = g_malloc(SVGA_FIFO_BYTES);
   s->fb = svga_fb_new();
   s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
   if (s->wake_fd < 0) {
      *err = g_strdup_printf("SVGA: eventfd: %s", g_strerror(errno));
      svga_destroy(s);
      return NULL;
   }
   const pci_func_info info = {
      .name = "SVGA II",
      .vendor_id = SVGA_PCI_VENDOR,
      .device_id = SVGA_PCI_DEVICE,
      .revision = 0,
      .class_code = SVGA_PCI_CLASS,
      .subsys_vendor_id = SVGA_PCI_VENDOR,
      .subsys_id = SVGA_PCI_DEVICE,
      .int_pin = 1,
      .config_written = config_written,
      .opaque = s,
   };
   s->pci = pci_register(h, 0, SVGA_PCI_SLOT, 0, &info, err);
   if (!s->pci) {
      svga_destroy(s);
      return NULL;
   }
   const vmx_io_region rio = { "SVGA ports", io_read, io_write, s };
   const vmx_io_region rvram = { "SVGA VRAM", vram_read, vram_write, s };
   const vmx_io_region rfifo = { "SVGA FIFO", fifo_read, fifo_write, s };
   if (!pci_bar_define(s->pci, SVGA_BAR_IO, PCI_BAR_IO, false, SVGA_IO_BYTES, &rio, err) ||
       !pci_bar_define(s->pci, SVGA_BAR_VRAM, PCI_BAR_MEM32, true, s->vram_bar, &rvram, err) ||
       !pci_bar_define(s->pci, SVGA_BAR_FIFO, PCI_BAR_MEM32, false, SVGA_FIFO_BYTES, &rfifo,
                       err) ||
       !pci_msi_init(s->pci, 0, 1, true, false, err) || !svga_vga_map(s, err)) {
      svga_destroy(s);
      return NULL;
   }
   pthread_mutex_lock(&s->lock);
   reset_locked(s);
   pthread_mutex_unlock(&s->lock);
   return s;
}

static void
svga_destroy(void *dev)
{
   svga *s = dev;
   if (!s) {
      return;
   }
   svga_thread_stop(s);
   svga_vga_unmap(s);
   if (s->pci) {
      pci_unregister(s->pci);
   }
   svga_gmr_free_all(s);
   svga_screens_free(s);
   g_free(s->cursor.argb);
   if (s->vram) {
      munmap(s->vram, s->vram_bar);
   }
   if (s->fifo) {
      munmap(s->fifo, SVGA_FIFO_BYTES);
   }
   if (s->wake_fd >= 0) {
      close(s->wake_fd);
   }
   svga_fb_free(s->fb);
   g_free(s->cmd);
   pthread_mutex_destroy(&s->lock);
   pthread_mutex_destroy(&s->bar_lock);
   g_free(s);
}

/* ---- processing */

void
svga_process(svga *s)
{
   pthread_mutex_lock(&s->lock);
   svga_display_sync(s);
   svga_fifo_run(s);
   svga_fifo_poll_cursor(s);
   svga_display_scan(s);
   pthread_mutex_unlock(&s->lock);
   svga_fb_notify(s->fb);
}

static void *
thread_main(void *arg)
{
   svga *s = arg;
   vmxlog_set_thread_name("svga");
   int timeout = (int)(1000 / s->thread_hz);
   for (;;) {
      struct pollfd pf[2] = { { s->wake_fd, POLLIN, 0 }, { s->stop_fd, POLLIN, 0 } };
      int r = poll(pf, 2, timeout ? timeout : 1);
      if (r < 0 && errno != EINTR) {
         vmxlog("SVGA: poll failed: %s", g_strerror(errno));
         break;
      }
      if (pf[1].revents) {
         break;
      }
      uint64_t v;
      if (pf[0].revents && read(s->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN) {
         vmxlog("SVGA: reading the wake eventfd: %s", g_strerror(errno));
      }
      svga_process(s);
   }
   return NULL;
}

bool
svga_thread_start(svga *s, unsigned hz, char **err)
{
   if (s->thread_running) {
      return true;
   }
   if (hz < 1 || hz > 1000) {
      *err = g_strdup_printf("SVGA: refresh rate %u Hz (1-1000)", hz);
      return false;
   }
   s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
   if (s->stop_fd < 0) {
      *err = g_strdup_printf("SVGA: eventfd: %s", g_strerror(errno));
      return false;
   }
   s->thread_hz = hz;
   int rc = pthread_create(&s->thread, NULL, thread_main, s);
   if (rc != 0) {
      *err = g_strdup_printf("SVGA: cannot start its thread: %s", g_strerror(rc));
      close(s->stop_fd);
      s->stop_fd = -1;
      return false;
   }
   s->thread_running = true;
   return true;
}

void
svga_thread_stop(svga *s)
{
   if (!s->thread_running) {
      return;
   }
   uint64_t one = 1;
   if (write(s->stop_fd, &one, sizeof one) < 0) {
      vmxlog("SVGA: cannot stop its thread: %s", g_strerror(errno));
   }
   pthread_join(s->thread, NULL);
   close(s->stop_fd);
   s->stop_fd = -1;
   s->thread_running = false;
}

/* ---- checkpoint glue */

static void
svga_save(void *dev, ckpt_writer *w)
{
   svga *s = dev;
   pthread_mutex_lock(&s->lock);
   svga_ckpt_save(s, w);
   pthread_mutex_unlock(&s->lock);
}

static bool
svga_restore(void *dev, ckpt_reader *r, char **err)
{
   svga *s = dev;
   pthread_mutex_lock(&s->lock);
   bool ok = svga_ckpt_restore(s, r, err);
   pthread_mutex_unlock(&s->lock);
   if (ok) {
      bar_sync(s);
      svga_fb_notify(s->fb);
   }
   return ok;
}

const vmx_device_desc vmx_dev_svga = {
   .name = "svga",
   .version = 1,
   .create = svga_create,
   .reset = svga_reset,
   .destroy = svga_destroy,
   .save = svga_save,
   .restore = svga_restore,
};
