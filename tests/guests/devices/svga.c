/*
 * tests/guests/devices/svga.c - drives the VMware SVGA II adapter (PCI
 * 15ad:0405) as a driver would and draws the scenes of svga-scenes.h for a
 * VNC viewer (vnc-check.c) to verify: it finds the function, takes its
 * BARs (I/O ports, VRAM, FIFO; assigning them when nothing did), negotiates
 * SVGA_ID_2, sets 720x480x32, sets the FIFO up and turns it on, then draws
 * each scene through a different path (UPDATE, RECT_COPY, DEFINE_CURSOR,
 * DEFINE_ALPHA_CURSOR with the cursor placed through the FIFO cursor
 * registers or the CURSOR_* registers, screen objects with GMR2 memory and
 * GMRFB blits, annotations, a mode change). After each scene it checks that
 * the device consumed every command (STOP == NEXT_CMD after SYNC/BUSY, the
 * scene's FENCE reached, no ERROR interrupt status), prints
 * "svga: scene N ready" and waits for the viewer's key for that scene: the
 * keysym 'a' + N, which must arrive as its set-1 make and break codes
 * through the i8042 with translation on. Scenes the device cannot do
 * (capability bits absent: QEMU's vmware-svga has no alpha cursor, screen
 * objects or GMR2) are reported as SKIP with "svga: scene N skipped", and
 * no key is awaited for them.
 *
 * Everything after the PIC setup runs at CPL3 (kit_user_run): filling a
 * picture is millions of instructions, too many for hosts that emulate
 * guest kernel code.
 *
 * Command line: svga.slot=N  the device must be at 00:N.0
 *               svga.keywait=S  seconds to wait for each key (default 120)
 */
#include "kit/kit.h"
#include "kit/platform.h"
#include "svga-scenes.h"

/* ---- the SVGA II interface, as VMware's svga_reg.h numbers it */

#define PCI_VENDOR_VMWARE 0x15ad
#define PCI_DEVICE_SVGA2  0x0405

#define SVGA_ID_2 0x90000002u
#define SVGA_ID_INVALID 0xffffffffu

#define PORT_INDEX     0
#define PORT_VALUE     1
#define PORT_IRQSTATUS 8

enum {
   REG_ID = 0, REG_ENABLE = 1, REG_WIDTH = 2, REG_HEIGHT = 3, REG_MAX_WIDTH = 4,
   REG_MAX_HEIGHT = 5, REG_DEPTH = 6, REG_BITS_PER_PIXEL = 7, REG_BYTES_PER_LINE = 12,
   REG_FB_START = 13, REG_FB_OFFSET = 14, REG_VRAM_SIZE = 15, REG_FB_SIZE = 16,
   REG_CAPABILITIES = 17, REG_MEM_START = 18, REG_MEM_SIZE = 19, REG_CONFIG_DONE = 20,
   REG_SYNC = 21, REG_BUSY = 22, REG_GUEST_ID = 23, REG_CURSOR_ID = 24, REG_CURSOR_X = 25,
   REG_CURSOR_Y = 26, REG_CURSOR_ON = 27, REG_MEM_REGS = 30, REG_IRQMASK = 33,
};

#define CAP_RECT_COPY       0x00000002u
#define CAP_CURSOR          0x00000020u
#define CAP_CURSOR_BYPASS_2 0x00000080u
#define CAP_ALPHA_CURSOR    0x00000200u
#define CAP_EXTENDED_FIFO   0x00008000u
#define CAP_IRQMASK         0x00040000u
#define CAP_GMR2            0x00400000u
#define CAP_SCREEN_OBJECT_2 0x00800000u

enum {
   FIFO_MIN = 0, FIFO_MAX = 1, FIFO_NEXT_CMD = 2, FIFO_STOP = 3, FIFO_CAPABILITIES = 4,
   FIFO_FLAGS = 5, FIFO_FENCE = 6, FIFO_CURSOR_ON = 9, FIFO_CURSOR_X = 10, FIFO_CURSOR_Y = 11,
   FIFO_CURSOR_COUNT = 12, FIFO_CURSOR_LAST_UPDATED = 13, FIFO_CURSOR_SCREEN_ID = 15,
   FIFO_NUM_REGS = 291,
};

#define FIFO_CAP_FENCE           (1u << 0)
#define FIFO_CAP_CURSOR_BYPASS_3 (1u << 4)
#define FIFO_CAP_SCREEN_OBJECT   (1u << 7)
#define FIFO_CAP_GMR2            (1u << 8)
#define FIFO_CAP_SCREEN_OBJECT_2 (1u << 9)

enum {
   CMD_UPDATE = 1, CMD_RECT_COPY = 3, CMD_DEFINE_CURSOR = 19, CMD_DEFINE_ALPHA_CURSOR = 22,
   CMD_FENCE = 30, CMD_DEFINE_SCREEN = 34, CMD_DESTROY_SCREEN = 35, CMD_DEFINE_GMRFB = 36,
   CMD_BLIT_GMRFB_TO_SCREEN = 37, CMD_ANNOTATION_FILL = 39, CMD_ANNOTATION_COPY = 40,
   CMD_DEFINE_GMR2 = 41, CMD_REMAP_GMR2 = 42,
};

#define IRQ_ERROR 0x10u
#define SCREEN_MUST_BE_SET (1u << 0)
#define SCREEN_IS_PRIMARY  (1u << 1)
#define REMAP_VIA_GMR    (1u << 0)
#define REMAP_PPN64      (1u << 1)
#define REMAP_SINGLE_PPN (1u << 2)
#define GMR_NULL 0xffffffffu
#define GMRFB_FORMAT_X888 (32u | 24u << 8)

#define PAGE 4096u
/* The command ring: small, so that the scenes' commands wrap around its
 * end (some of them across it) and the driver has to wait for room. */
#define RING_BYTES (10u * 1024u)   /* the least the SVGA II spec allows */

/* ---- the device */

static struct {
   unsigned dev;
   uint16_t io;
   uint64_t vram_bar, fifo_bar;
   uint8_t *vram;
   uint32_t vram_size;
   volatile uint32_t *fifo;
   uint32_t fifo_size;
   uint32_t caps, fifo_caps;
   uint32_t fmin, fmax, fnext;
   uint32_t pitch, fb_offset;
   uint32_t fence;
   unsigned wraps, waits;
   bool screens_used;
   bool broken;        /* the FIFO stopped: later scenes cannot run */
} d;

static uint32_t reg_read(uint32_t idx)
{
   kit_outl((uint16_t)(d.io + PORT_INDEX), idx);
   return kit_inl((uint16_t)(d.io + PORT_VALUE));
}

static void reg_write(uint32_t idx, uint32_t v)
{
   kit_outl((uint16_t)(d.io + PORT_INDEX), idx);
   kit_outl((uint16_t)(d.io + PORT_VALUE), v);
}

/* ---- seconds from the RTC (any privilege level, no TSC rate needed) */

typedef struct rtc_timer {
   uint8_t last;
   unsigned elapsed;
} rtc_timer;

static void rtc_start(rtc_timer *c)
{
   c->last = kit_cmos_read(0x00);
   c->elapsed = 0;
}

/* Call often; returns the whole seconds seen to pass. */
static unsigned rtc_seconds(rtc_timer *c)
{
   uint8_t s = kit_cmos_read(0x00);

   if (s != c->last) {
      c->last = s;
      c->elapsed++;
   }
   return c->elapsed;
}

/* ---- FIFO */

static bool sync_fifo(void)
{
   reg_write(REG_SYNC, 1);
   for (unsigned i = 0; i < 200000; i++) {
      if (reg_read(REG_BUSY) == 0) {
         return true;
      }
   }
   return false;
}

static uint32_t fifo_free(void)
{
   uint32_t stop = d.fifo[FIFO_STOP], size = d.fmax - d.fmin;
   uint32_t used;

   if (stop < d.fmin || stop >= d.fmax || (stop & 3)) {
      return 0;
   }
   used = d.fnext >= stop ? d.fnext - stop : size - (stop - d.fnext);
   return size - used - 4;
}

/* Room for nwords words, syncing while the device catches up. */
static bool fifo_reserve(uint32_t nwords)
{
   if (d.broken) {
      return false;
   }
   if ((uint64_t)nwords * 4 > d.fmax - d.fmin - 4) {
      kit_fail("fifo-room", "a command of %u words does not fit the FIFO (%u bytes)", nwords,
               d.fmax - d.fmin);
      d.broken = true;
      return false;
   }
   for (unsigned tries = 0; fifo_free() < nwords * 4; tries++) {
      d.waits += tries == 0;
      if (tries == 50 || !sync_fifo()) {
         kit_fail("fifo-room", "the device does not consume the FIFO: STOP 0x%x, NEXT_CMD "
                  "0x%x, MIN 0x%x, MAX 0x%x", d.fifo[FIFO_STOP], d.fnext, d.fmin, d.fmax);
         d.broken = true;
         return false;
      }
   }
   return true;
}

static void fifo_put(uint32_t v)
{
   d.fifo[d.fnext / 4] = v;
   d.fnext += 4;
   if (d.fnext >= d.fmax) {
      d.fnext = d.fmin;
      d.wraps++;
   }
}

static void fifo_commit(void)
{
   __asm__ volatile("" ::: "memory");
   d.fifo[FIFO_NEXT_CMD] = d.fnext;
}

/* One command of n words. */
static void fifo_cmd(const uint32_t *w, uint32_t n)
{
   if (!fifo_reserve(n)) {
      return;
   }
   for (uint32_t i = 0; i < n; i++) {
      fifo_put(w[i]);
   }
   fifo_commit();
}

#define CMD(...) do {                                                      \
      const uint32_t w_[] = { __VA_ARGS__ };                               \
      fifo_cmd(w_, sizeof w_ / sizeof w_[0]);                              \
   } while (0)

/* Sync, then check that everything was consumed without an error. */
static bool finish_scene(unsigned n)
{
   char name[48];
   bool drained, ok = true;
   uint32_t stop, irq = 0;

   kit_snprintf(name, sizeof name, "scene-%u-consumed", n);
   if (d.broken) {
      kit_fail(name, "the FIFO was given up earlier");
      return false;
   }
   if (d.fifo_caps & FIFO_CAP_FENCE) {
      CMD(CMD_FENCE, ++d.fence);
   }
   drained = sync_fifo();
   stop = d.fifo[FIFO_STOP];
   if (d.caps & CAP_IRQMASK) {
      irq = kit_inl((uint16_t)(d.io + PORT_IRQSTATUS));
      kit_outl((uint16_t)(d.io + PORT_IRQSTATUS), irq);
   }
   if (!drained || stop != d.fnext || (irq & IRQ_ERROR)) {
      kit_fail(name, "BUSY %s, STOP 0x%x, NEXT_CMD 0x%x, IRQ status 0x%x%s",
               drained ? "0" : "stuck at 1", stop, d.fnext, irq,
               irq & IRQ_ERROR ? " (ERROR: the device rejected a command; see vmware.log)" : "");
      d.broken = true;
      return false;
   }
   if (d.fifo_caps & FIFO_CAP_FENCE) {
      kit_snprintf(name, sizeof name, "scene-%u-fence", n);
      ok = kit_check(name, d.fifo[FIFO_FENCE] == d.fence, "FIFO FENCE reads %u, expected %u",
                     d.fifo[FIFO_FENCE], d.fence);
   } else {
      kit_pass(name);
   }
   return ok;
}

/* ---- keyboard (i8042, polled) */

static int kbd_read(unsigned timeout_s, bool *aux)
{
   rtc_timer c;

   rtc_start(&c);
   for (unsigned i = 0;; i++) {
      uint8_t st = kit_inb(0x64);

      if (st & 0x01) {
         *aux = st & 0x20;
         return kit_inb(0x60);
      }
      if ((i & 255) == 0 && rtc_seconds(&c) > timeout_s) {
         return -1;
      }
   }
}

static void kbd_flush(void)
{
   for (int i = 0; i < 64 && (kit_inb(0x64) & 0x01); i++) {
      kit_inb(0x60);
   }
}

static void kbd_cmd_byte(uint8_t v)
{
   kit_outb(0x64, 0x60);
   kit_outb(0x60, v);
}

/* Keyboard on, reset, scanning; mouse port off; translation to set 1 on;
 * no interrupts. */
static void kbd_setup(void)
{
   bool aux;
   int ack, bat;

   kit_outb(0x64, 0xad);
   kit_outb(0x64, 0xa7);
   kbd_flush();
   kbd_cmd_byte(0x24);          /* SYS, mouse port off, no translation, no IRQs */
   kit_outb(0x64, 0xae);
   kit_outb(0x60, 0xff);        /* reset */
   ack = kbd_read(5, &aux);
   bat = kbd_read(5, &aux);
   kit_check("kbd-reset", ack == 0xfa && bat == 0xaa, "keyboard reset answered 0x%x 0x%x, "
             "expected 0xfa 0xaa", ack, bat);
   kbd_cmd_byte(0x64);          /* and now translation */
   kbd_flush();
}

static void wait_key(unsigned n, unsigned timeout_s)
{
   uint8_t make = svga_scene_scancode(n);
   int got[2] = { -1, -1 };
   unsigned k = 0, junk = 0;
   char name[32];

   kit_snprintf(name, sizeof name, "scene-%u-key", n);
   while (k < 2) {
      bool aux = false;
      int b = kbd_read(timeout_s, &aux);

      if (b < 0) {
         break;
      }
      if (aux) {
         junk++;
         continue;
      }
      got[k++] = b;
   }
   kit_check(name, got[0] == make && got[1] == (make | 0x80) && junk == 0,
             "expected the make and break codes 0x%02x 0x%02x of '%c' within %u s, got "
             "0x%x 0x%x (-1: nothing) and %u mouse byte(s)", make, make | 0x80,
             (char)svga_scene_keysym(n), timeout_s, got[0], got[1], junk);
}

/* ---- PCI */

static bool find_device(void)
{
   for (unsigned dev = 0; dev < 32; dev++) {
      uint32_t id = kit_pci_read32(0, dev, 0, 0);

      if (id == ((uint32_t)PCI_DEVICE_SVGA2 << 16 | PCI_VENDOR_VMWARE)) {
         d.dev = dev;
         return true;
      }
   }
   return false;
}

/* Size BAR bar; *addr gets its address, *io whether it is an I/O BAR. */
static uint32_t bar_size(unsigned bar, uint32_t *addr, bool *io)
{
   unsigned off = 0x10 + 4 * bar;
   uint32_t old = kit_pci_read32(0, d.dev, 0, off), v;

   kit_pci_write32(0, d.dev, 0, off, 0xffffffffu);
   v = kit_pci_read32(0, d.dev, 0, off);
   kit_pci_write32(0, d.dev, 0, off, old);
   *io = old & 1;
   *addr = old & (*io ? ~3u : ~15u);
   if (*io) {
      return (~(v & ~3u) + 1) & 0xffffu;
   }
   return ~(v & ~15u) + 1;
}

/* Take the BARs; assign the ones nobody assigned (no firmware ran). */
static bool setup_bars(void)
{
   static const uint32_t mem_base[3] = { 0, 0xe0000000u, 0xe8000000u };
   uint32_t addr[3], size[3];
   bool io[3], assigned = false;
   uint16_t cmd = kit_pci_read16(0, d.dev, 0, 4);

   kit_pci_write16(0, d.dev, 0, 4, cmd & ~3u);
   for (unsigned b = 0; b < 3; b++) {
      size[b] = bar_size(b, &addr[b], &io[b]);
      if (addr[b] == 0) {
         addr[b] = b == 0 ? 0xc000u : mem_base[b];
         kit_pci_write32(0, d.dev, 0, 0x10 + 4 * b, addr[b]);
         assigned = true;
      }
      kit_printf("svga: BAR%u %s at 0x%x, %u bytes\n", b, io[b] ? "I/O" : "memory", addr[b],
                 size[b]);
   }
   kit_pci_write16(0, d.dev, 0, 4, cmd | 7u);   /* I/O, memory, bus master */
   if (assigned) {
      kit_printf("svga: assigned unassigned BARs ourselves\n");
   }
   if (!kit_check("bars", io[0] && !io[1] && !io[2] && size[0] >= 16 && size[1] >= 4u << 20 &&
                  size[2] >= 64u << 10, "BAR0 must be I/O of at least 16 ports, BAR1 memory "
                  "of at least 4 MiB, BAR2 memory of at least 64 KiB")) {
      return false;
   }
   d.io = (uint16_t)addr[0];
   d.vram_bar = addr[1];
   d.fifo_bar = addr[2];
   d.vram = (uint8_t *)(uintptr_t)addr[1];
   d.fifo = (volatile uint32_t *)(uintptr_t)addr[2];
   d.fifo_size = size[2];
   return true;
}

/* ---- mode and FIFO */

static bool set_mode(uint32_t w, uint32_t h)
{
   char name[32];
   uint32_t rw, rh, bpp;

   reg_write(REG_WIDTH, w);
   reg_write(REG_HEIGHT, h);
   reg_write(REG_BITS_PER_PIXEL, 32);
   rw = reg_read(REG_WIDTH);
   rh = reg_read(REG_HEIGHT);
   bpp = reg_read(REG_BITS_PER_PIXEL);
   d.pitch = reg_read(REG_BYTES_PER_LINE);
   d.fb_offset = reg_read(REG_FB_OFFSET);
   kit_snprintf(name, sizeof name, "mode-%ux%u", w, h);
   return kit_check(name, rw == w && rh == h && bpp == 32 && reg_read(REG_DEPTH) == 24 &&
                    d.pitch >= w * 4 && (uint64_t)d.fb_offset + (uint64_t)d.pitch * h <=
                    d.vram_size, "reads back %ux%u, %u bpp, depth %u, %u bytes per line, "
                    "framebuffer offset 0x%x (VRAM %u bytes)", rw, rh, bpp,
                    reg_read(REG_DEPTH), d.pitch, d.fb_offset, d.vram_size);
}

static bool setup_device(void)
{
   uint32_t id, fb_start, mem_start, mem_size, min;

   reg_write(REG_ID, SVGA_ID_2);
   id = reg_read(REG_ID);
   if (!kit_check("id-2", id == SVGA_ID_2, "SVGA_REG_ID reads 0x%x after writing SVGA_ID_2",
                  id)) {
      return false;
   }
   d.caps = reg_read(REG_CAPABILITIES);
   d.vram_size = reg_read(REG_VRAM_SIZE);
   fb_start = reg_read(REG_FB_START);
   mem_start = reg_read(REG_MEM_START);
   mem_size = reg_read(REG_MEM_SIZE);
   kit_printf("svga: capabilities 0x%x, VRAM %u bytes at 0x%x, FIFO %u bytes at 0x%x, max "
              "%ux%u\n", d.caps, d.vram_size, fb_start, mem_size, mem_start,
              reg_read(REG_MAX_WIDTH), reg_read(REG_MAX_HEIGHT));
   if (!kit_check("registers", fb_start == d.vram_bar && mem_start == d.fifo_bar &&
                  mem_size >= 16u << 10 && mem_size <= d.fifo_size && d.vram_size >= 4u << 20,
                  "FB_START 0x%x (BAR1 0x%lx), MEM_START 0x%x (BAR2 0x%lx), MEM_SIZE %u (BAR2 "
                  "%u bytes), VRAM_SIZE %u", fb_start, d.vram_bar, mem_start, d.fifo_bar,
                  mem_size, d.fifo_size, d.vram_size)) {
      return false;
   }
   reg_write(REG_GUEST_ID, 0x5010);   /* "other 64-bit" */
   if (!set_mode(SVGA_SCENE_W, SVGA_SCENE_H)) {
      return false;
   }

   /* FIFO: registers first, as vmwgfx sets them up. */
   min = 16;
   if (d.caps & CAP_EXTENDED_FIFO) {
      min = reg_read(REG_MEM_REGS) * 4;
      min = min < PAGE ? PAGE : (min + PAGE - 1) & ~(PAGE - 1);
   }
   for (uint32_t i = 4; i < min / 4; i++) {
      d.fifo[i] = 0;
   }
   d.fmin = min;
   d.fmax = min + RING_BYTES <= mem_size ? min + RING_BYTES : mem_size;
   d.fnext = min;
   d.fifo[FIFO_MIN] = min;
   d.fifo[FIFO_MAX] = d.fmax;
   d.fifo[FIFO_NEXT_CMD] = min;
   d.fifo[FIFO_STOP] = min;
   if (d.caps & CAP_IRQMASK) {
      reg_write(REG_IRQMASK, 0);
      kit_outl((uint16_t)(d.io + PORT_IRQSTATUS), 0xff);
   }
   reg_write(REG_ENABLE, 1);
   reg_write(REG_CONFIG_DONE, 1);
   if (d.caps & CAP_EXTENDED_FIFO) {
      d.fifo_caps = d.fifo[FIFO_CAPABILITIES];
   }
   kit_printf("svga: FIFO 0x%x-0x%x, FIFO capabilities 0x%x\n", d.fmin, d.fmax, d.fifo_caps);
   return kit_check("fifo-enable", reg_read(REG_CONFIG_DONE) == 1 && reg_read(REG_ENABLE) == 1,
                    "CONFIG_DONE %u, ENABLE %u", reg_read(REG_CONFIG_DONE),
                    reg_read(REG_ENABLE));
}

/* ---- scenes */

static uint32_t *fb_pixel(uint32_t x, uint32_t y)
{
   return (uint32_t *)(d.vram + d.fb_offset + (uint64_t)y * d.pitch + (uint64_t)x * 4);
}

static void scene_update(void)
{
   for (uint32_t y = 0; y < SVGA_SCENE_H; y++) {
      for (uint32_t x = 0; x < SVGA_SCENE_W; x++) {
         /* junk in the X byte, which is not part of the colour */
         *fb_pixel(x, y) = svga_scene_base(x, y) | ((x * 7 + y) & 0xffu) << 24;
      }
   }
   /* Row by row (the top half bottom up, in two-row updates with the
    * left and right halves apart), so that the commands fill the ring. */
   for (uint32_t y = SVGA_SCENE_H / 2; y >= 2; y -= 2) {
      CMD(CMD_UPDATE, 0, y - 2, SVGA_SCENE_W / 2, 2);
      CMD(CMD_UPDATE, SVGA_SCENE_W / 2, y - 2, SVGA_SCENE_W / 2, 2);
   }
   for (uint32_t y = SVGA_SCENE_H / 2; y < SVGA_SCENE_H; y++) {
      CMD(CMD_UPDATE, 0, y, SVGA_SCENE_W, 1);
   }
}

static void scene_rect_copy(void)
{
   for (unsigned i = 0; i < SVGA_SCENE_NCOPIES; i++) {
      svga_scene_copy c = svga_scene_copy_get(i);

      CMD(CMD_RECT_COPY, c.sx, c.sy, c.dx, c.dy, c.w, c.h);
   }
}

static uint32_t cursor_count;

/* Show the cursor with its hot spot at (x, y): through the FIFO cursor
 * registers (CURSOR_BYPASS_3) when the FIFO has them, else through the
 * CURSOR_* registers (CURSOR_BYPASS_2). */
static void place_cursor(unsigned n, int32_t x, int32_t y)
{
   char name[40];

   kit_snprintf(name, sizeof name, "scene-%u-cursor-position", n);
   if (d.fifo_caps & FIFO_CAP_CURSOR_BYPASS_3) {
      rtc_timer c;
      bool acked = false;

      d.fifo[FIFO_CURSOR_ON] = 1;
      d.fifo[FIFO_CURSOR_X] = (uint32_t)x;
      d.fifo[FIFO_CURSOR_Y] = (uint32_t)y;
      if (d.fifo_caps & FIFO_CAP_SCREEN_OBJECT) {
         d.fifo[FIFO_CURSOR_SCREEN_ID] = SVGA_ID_INVALID;   /* root coordinates */
      }
      __asm__ volatile("" ::: "memory");
      d.fifo[FIFO_CURSOR_COUNT] = ++cursor_count;
      /* The device acknowledges through CURSOR_LAST_UPDATED. */
      rtc_start(&c);
      while (rtc_seconds(&c) < 5) {
         if (d.fifo[FIFO_CURSOR_LAST_UPDATED] == cursor_count) {
            acked = true;
            break;
         }
      }
      kit_check(name, acked, "FIFO CURSOR_LAST_UPDATED reads %u, CURSOR_COUNT is %u: the "
                "device did not take the FIFO cursor position within 5 s",
                d.fifo[FIFO_CURSOR_LAST_UPDATED], cursor_count);
   } else if (d.caps & CAP_CURSOR_BYPASS_2) {
      reg_write(REG_CURSOR_ID, 0);
      reg_write(REG_CURSOR_X, (uint32_t)x);
      reg_write(REG_CURSOR_Y, (uint32_t)y);
      reg_write(REG_CURSOR_ON, 1);
      kit_pass(name);
   } else {
      kit_skip(name, "neither CURSOR_BYPASS_3 nor CURSOR_BYPASS_2");
   }
}

static void scene_cursor(void)
{
   const uint32_t w = SVGA_SCENE_CURSOR_W, h = SVGA_SCENE_CURSOR_H;

   /* 1-bit AND mask (rows padded to 32 bits, MSB first), 32-bit XOR mask. */
   if (!fifo_reserve(8 + h * ((w + 31) / 32) + w * h)) {
      return;
   }
   fifo_put(CMD_DEFINE_CURSOR);
   fifo_put(0);
   fifo_put(SVGA_SCENE_CURSOR_HOTX);
   fifo_put(SVGA_SCENE_CURSOR_HOTY);
   fifo_put(w);
   fifo_put(h);
   fifo_put(1);
   fifo_put(32);
   for (uint32_t y = 0; y < h; y++) {
      for (uint32_t x0 = 0; x0 < w; x0 += 32) {
         uint8_t bytes[4] = { 0, 0, 0, 0 };

         for (uint32_t x = x0; x < x0 + 32 && x < w; x++) {
            bool a;
            uint32_t c;

            svga_scene_cursor_mono(x, y, &a, &c);
            if (a) {
               bytes[(x - x0) / 8] |= (uint8_t)(0x80u >> (x % 8));
            }
         }
         fifo_put(bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
                  (uint32_t)bytes[3] << 24);
      }
   }
   for (uint32_t y = 0; y < h; y++) {
      for (uint32_t x = 0; x < w; x++) {
         bool a;
         uint32_t c;

         svga_scene_cursor_mono(x, y, &a, &c);
         fifo_put(c);
      }
   }
   fifo_commit();
   place_cursor(SVGA_SCENE_CURSOR, SVGA_SCENE_CURSOR_X, SVGA_SCENE_CURSOR_Y);
}

static void scene_alpha_cursor(void)
{
   const uint32_t w = SVGA_SCENE_ACURSOR_W, h = SVGA_SCENE_ACURSOR_H;

   if (!fifo_reserve(6 + w * h)) {
      return;
   }
   fifo_put(CMD_DEFINE_ALPHA_CURSOR);
   fifo_put(0);
   fifo_put(SVGA_SCENE_ACURSOR_HOTX);
   fifo_put(SVGA_SCENE_ACURSOR_HOTY);
   fifo_put(w);
   fifo_put(h);
   for (uint32_t y = 0; y < h; y++) {
      for (uint32_t x = 0; x < w; x++) {
         fifo_put(svga_scene_cursor_alpha(x, y));
      }
   }
   fifo_commit();
   place_cursor(SVGA_SCENE_ALPHA_CURSOR, SVGA_SCENE_ACURSOR_X, SVGA_SCENE_ACURSOR_Y);
}

/* Guest memory behind the GMRs (identity-mapped: address = physical). */
#define GMR1_PAGES 300u   /* the 640 x 480 x 4 bytes of the GMRFB */
#define GMR3_PAGES 19u    /* 160 x 120 x 4 bytes, 640 bytes per line */
static uint8_t gmr1_mem[GMR1_PAGES * PAGE] __attribute__((aligned(PAGE)));
static uint8_t gmr2_page[PAGE] __attribute__((aligned(PAGE)));
static uint8_t gmr3_mem[GMR3_PAGES * PAGE] __attribute__((aligned(PAGE)));
static uint8_t gmr4_page[PAGE] __attribute__((aligned(PAGE)));

static uint64_t ppn(const void *p)
{
   return (uint64_t)(uintptr_t)p / PAGE;
}

/* GMR 1's page i is page gmr1_perm(i) of gmr1_mem. */
static uint32_t gmr1_perm(uint32_t i)
{
   return (i * 7 + 3) % GMR1_PAGES;
}

/* GMR 3's page i is page 18 - i of gmr3_mem. */
static uint32_t gmr3_perm(uint32_t i)
{
   return GMR3_PAGES - 1 - i;
}

static bool screens_supported(void)
{
   return (d.caps & CAP_GMR2) && (d.fifo_caps & FIFO_CAP_GMR2) &&
          (d.fifo_caps & (FIFO_CAP_SCREEN_OBJECT | FIFO_CAP_SCREEN_OBJECT_2));
}

static void scene_screen(void)
{
   const uint32_t pitch = SVGA_SCENE_GMRFB_W * 4, half = GMR1_PAGES / 2;

   for (uint32_t y = 0; y < SVGA_SCENE_GMRFB_H; y++) {
      for (uint32_t x = 0; x < SVGA_SCENE_GMRFB_W; x++) {
         uint32_t off = y * pitch + x * 4;
         uint32_t *p = (uint32_t *)(gmr1_mem + gmr1_perm(off / PAGE) * PAGE + off % PAGE);

         *p = svga_scene_gmrfb(x, y);
      }
   }
   d.screens_used = true;
   CMD(CMD_DEFINE_GMR2, 1, GMR1_PAGES);
   /* first half: 32-bit PPNs inline */
   if (fifo_reserve(5 + half)) {
      fifo_put(CMD_REMAP_GMR2);
      fifo_put(1);
      fifo_put(0);
      fifo_put(0);
      fifo_put(half);
      for (uint32_t i = 0; i < half; i++) {
         fifo_put((uint32_t)ppn(gmr1_mem + gmr1_perm(i) * PAGE));
      }
      fifo_commit();
   }
   /* second half: 64-bit PPNs inline */
   if (fifo_reserve(5 + 2 * (GMR1_PAGES - half))) {
      fifo_put(CMD_REMAP_GMR2);
      fifo_put(1);
      fifo_put(REMAP_PPN64);
      fifo_put(half);
      fifo_put(GMR1_PAGES - half);
      for (uint32_t i = half; i < GMR1_PAGES; i++) {
         uint64_t p = ppn(gmr1_mem + gmr1_perm(i) * PAGE);

         fifo_put((uint32_t)p);
         fifo_put((uint32_t)(p >> 32));
      }
      fifo_commit();
   }
   /* SVGAScreenObject: structSize, id, flags, size, root, backing store
    * (none: GMR_NULL), cloneCount */
   CMD(CMD_DEFINE_SCREEN, 44, 0, SCREEN_MUST_BE_SET | SCREEN_IS_PRIMARY, SVGA_SCENE_W,
       SVGA_SCENE_H, 0, 0, GMR_NULL, 0, 0, 0);
   CMD(CMD_DEFINE_GMRFB, 1, 0, pitch, GMRFB_FORMAT_X888);
   for (unsigned i = 0; i < SVGA_SCENE_NBLITS; i++) {
      svga_scene_blit b = svga_scene_blit_get(i);

      CMD(CMD_BLIT_GMRFB_TO_SCREEN, (uint32_t)b.ox, (uint32_t)b.oy, (uint32_t)b.l,
          (uint32_t)b.t, (uint32_t)b.r, (uint32_t)b.b, 0);
   }
}

static void scene_annotation(void)
{
   const uint32_t w = SVGA_SCENE_COPY_R - SVGA_SCENE_COPY_L;
   const uint32_t h = SVGA_SCENE_COPY_B - SVGA_SCENE_COPY_T;
   const uint32_t pitch = w * 4;
   uint32_t *fill = (uint32_t *)gmr2_page, *list = (uint32_t *)(gmr4_page + 0x100);
   uint64_t lp = ppn(gmr4_page);

   /* ANNOTATION_FILL: the GMRFB is GMR 2, whose 64 pages are all one page
    * of the fill colour; with 4096 bytes per line every line is that page. */
   for (uint32_t i = 0; i < PAGE / 4; i++) {
      fill[i] = SVGA_SCENE_FILL_COLOR;
   }
   CMD(CMD_DEFINE_GMR2, 2, 64);
   CMD(CMD_REMAP_GMR2, 2, REMAP_SINGLE_PPN, 0, 64, (uint32_t)ppn(gmr2_page));
   CMD(CMD_DEFINE_GMRFB, 2, 0, PAGE, GMRFB_FORMAT_X888);
   CMD(CMD_ANNOTATION_FILL, SVGA_SCENE_FILL_COLOR);
   CMD(CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, SVGA_SCENE_FILL_L, SVGA_SCENE_FILL_T, SVGA_SCENE_FILL_R,
       SVGA_SCENE_FILL_B, 0);

   /* ANNOTATION_COPY: the GMRFB is GMR 3 holding the pixels the copy
    * reads; its pages come from a PPN list in GMR 4 (REMAP_GMR2 VIA_GMR). */
   for (uint32_t y = 0; y < h; y++) {
      for (uint32_t x = 0; x < w; x++) {
         uint32_t off = y * pitch + x * 4;
         uint32_t *p = (uint32_t *)(gmr3_mem + gmr3_perm(off / PAGE) * PAGE + off % PAGE);

         *p = svga_scene_screen(SVGA_SCENE_COPY_SRC_X + x, SVGA_SCENE_COPY_SRC_Y + y);
      }
   }
   for (uint32_t i = 0; i < GMR3_PAGES; i++) {
      list[i] = (uint32_t)ppn(gmr3_mem + gmr3_perm(i) * PAGE);
   }
   CMD(CMD_DEFINE_GMR2, 4, 1);
   CMD(CMD_REMAP_GMR2, 4, REMAP_PPN64, 0, 1, (uint32_t)lp, (uint32_t)(lp >> 32));
   CMD(CMD_DEFINE_GMR2, 3, GMR3_PAGES);
   CMD(CMD_REMAP_GMR2, 3, REMAP_VIA_GMR, 0, GMR3_PAGES, 4, 0x100);
   CMD(CMD_DEFINE_GMRFB, 3, 0, pitch, GMRFB_FORMAT_X888);
   CMD(CMD_ANNOTATION_COPY, SVGA_SCENE_COPY_SRC_X, SVGA_SCENE_COPY_SRC_Y, 0);
   CMD(CMD_BLIT_GMRFB_TO_SCREEN, 0, 0, SVGA_SCENE_COPY_L, SVGA_SCENE_COPY_T, SVGA_SCENE_COPY_R,
       SVGA_SCENE_COPY_B, 0);
}

static void scene_mode(void)
{
   if (d.screens_used) {
      /* Back to the legacy framebuffer: drop the screen and the GMRs. */
      CMD(CMD_DESTROY_SCREEN, 0);
      for (uint32_t id = 1; id <= 4; id++) {
         CMD(CMD_DEFINE_GMR2, id, 0);
      }
      if (!sync_fifo() || d.fifo[FIFO_STOP] != d.fnext) {
         kit_fail("destroy-screen", "the FIFO did not drain (STOP 0x%x, NEXT_CMD 0x%x)",
                  d.fifo[FIFO_STOP], d.fnext);
         d.broken = true;
         return;
      }
   }
   if (!set_mode(SVGA_SCENE_MODE_W, SVGA_SCENE_MODE_H)) {
      d.broken = true;
      return;
   }
   for (uint32_t y = 0; y < SVGA_SCENE_MODE_H; y++) {
      for (uint32_t x = 0; x < SVGA_SCENE_MODE_W; x++) {
         *fb_pixel(x, y) = svga_scene_mode(x, y);
      }
   }
   CMD(CMD_UPDATE, 0, 0, SVGA_SCENE_MODE_W, SVGA_SCENE_MODE_H);
}

/* Why scene n cannot run on this device, or NULL. */
static const char *scene_missing(unsigned n)
{
   switch (n) {
   case SVGA_SCENE_RECT_COPY:
      return d.caps & CAP_RECT_COPY ? NULL : "no SVGA_CAP_RECT_COPY";
   case SVGA_SCENE_CURSOR:
      return d.caps & CAP_CURSOR ? NULL : "no SVGA_CAP_CURSOR";
   case SVGA_SCENE_ALPHA_CURSOR:
      return d.caps & CAP_ALPHA_CURSOR ? NULL : "no SVGA_CAP_ALPHA_CURSOR";
   case SVGA_SCENE_SCREEN:
   case SVGA_SCENE_ANNOTATION:
      return screens_supported() ? NULL : "no GMR2 and screen objects (SVGA_CAP_GMR2, "
             "SVGA_FIFO_CAP_GMR2, SVGA_FIFO_CAP_SCREEN_OBJECT(_2))";
   default:
      return NULL;
   }
}

static uint64_t program(uint64_t arg)
{
   uint64_t keywait = 120, slot;

   (void)arg;
   kit_cmdline_u64("svga.keywait", &keywait);
   if (!kit_check("find-device", find_device(), "no PCI function 15ad:0405 on bus 0")) {
      return 1;
   }
   kit_printf("svga: SVGA II at 00:%02x.0\n", d.dev);
   if (kit_cmdline_u64("svga.slot", &slot)) {
      kit_check("slot", d.dev == slot, "the device is at 00:%02x.0, expected 00:%02lx.0", d.dev,
                slot);
   }
   if (!setup_bars() || !setup_device()) {
      return 1;
   }
   kbd_setup();
   for (unsigned n = 0; n < SVGA_SCENE_COUNT; n++) {
      const char *why = scene_missing(n);
      char name[40];

      kit_snprintf(name, sizeof name, "scene-%u-%s", n, svga_scene_name(n));
      if (why) {
         kit_skip(name, "%s", why);
         kit_printf("svga: scene %u skipped\n", n);
         continue;
      }
      switch (n) {
      case SVGA_SCENE_UPDATE: scene_update(); break;
      case SVGA_SCENE_RECT_COPY: scene_rect_copy(); break;
      case SVGA_SCENE_CURSOR: scene_cursor(); break;
      case SVGA_SCENE_ALPHA_CURSOR: scene_alpha_cursor(); break;
      case SVGA_SCENE_SCREEN: scene_screen(); break;
      case SVGA_SCENE_ANNOTATION: scene_annotation(); break;
      default: scene_mode(); break;
      }
      if (!finish_scene(n)) {
         kit_printf("svga: scene %u failed\n", n);
         return 1;
      }
      kit_pass(name);
      kit_printf("svga: scene %u ready\n", n);
      wait_key(n, (unsigned)keywait);
   }
   kit_printf("svga: the command ring wrapped %u time(s); the driver waited for room %u "
              "time(s)\n", d.wraps, d.waits);
   kit_check("fifo-wrap", d.wraps > 0, "the commands never wrapped around the ring's end");
   return 0;
}

void kit_main(void)
{
   uint64_t ret;
   kit_fault f;

   kit_poweroff_at_exit();
   kit_pic_init(0x20);
   if (kit_user_run(program, 0, &ret, &f)) {
      kit_fail("user-mode", "%s (vector %lu) at rip 0x%lx, cr2 0x%lx, error 0x%lx",
               kit_exception_name((unsigned)f.vector), f.vector, f.rip, f.cr2, f.error);
   }
}
