/*
 * tests/fuzz/fuzz-svga-fifo.c - libFuzzer target for the SVGA II
 * device: the FIFO command processor, GMRs, screens, blits, registers,
 * VGA/VBE ports and save/restore, driven through a platform as a guest
 * would drive it.
 *
 * The input is a list of operations, each an opcode byte and its operands
 * (little-endian):
 *
 *   0 reg  u8 idx, u32 val      write an SVGA register (idx picks one of a
 *                               list, or palette/scratch)
 *   1 fifo u8 n, n x u32        append words to the FIFO and commit
 *   2                           svga_process()
 *   3                           SYNC, then read BUSY
 *   4 ram  u16 page, u16 off, u32 val   write fake guest RAM
 *   5 freg u8 idx, u32 val      write a FIFO register (word idx % 300)
 *   6 port u8 sel, u16 val      write a VGA or VBE port
 *   7 vram u32 off, u32 val     write VRAM
 *   8                           save, restore, save: must be identical
 *
 * Before the operations the FIFO is set up as vmwgfx does and the device
 * enabled. Besides "never crashes, never leaks", it checks:
 *
 *   1. Right after the device processed the FIFO, outside the error state,
 *      STOP is word-aligned inside [MIN, MAX) whenever MIN and MAX are
 *      valid and the FIFO is on (the guest may write anything there in
 *      between; the device checks it when it next looks).
 *   2. save -> restore -> save gives the same bytes, at any point.
 *   3. The shadow framebuffer is 1..8192 pixels each way.
 */
#include "mks/svga/svga-reg.h"
#include "mks/svga/svga.h"
#include "tests/fuzz/fuzz-common.h"
#include "vmx/dev/chipset/chipset.h"
#include "vmx/dev/chipset/pci.h"

#include <string.h>

#define IO 0xc000
#define VRAM_BAR 0xe0000000u
#define FIFO_BAR 0xe8000000u
#define RAM_SIZE (1u << 20)
#define FIFO_MIN 4096u
#define FIFO_MAX (256u * 1024u)
#define SLOT 15u

static vmx_platform *plat;
static svga *dev;
static uint8_t *ram;
static uint8_t *vram;
static uint64_t vram_size;
static uint32_t *fifo;

static void *
map_ram(void *opaque, uint64_t gpa, uint64_t len)
{
   return gpa < RAM_SIZE && len <= RAM_SIZE - gpa ? ram + gpa : NULL;
}

static const svga_guest_mem_ops mem_ops = { map_ram, NULL };

static void
cfg_write(unsigned reg, unsigned size, uint32_t v)
{
   vmx_platform_pio_write(plat, NULL, 0xcf8, 4, 0x80000000u | (SLOT << 11) | (reg & 0xfc));
   vmx_platform_pio_write(plat, NULL, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static void
reg_write(uint32_t idx, uint32_t v)
{
   vmx_platform_pio_write(plat, NULL, IO, 4, idx);
   vmx_platform_pio_write(plat, NULL, IO + 1, 4, v);
}

static uint32_t
reg_read(uint32_t idx)
{
   vmx_platform_pio_write(plat, NULL, IO, 4, idx);
   return (uint32_t)vmx_platform_pio_read(plat, NULL, IO + 1, 4);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
   fuzz_glib_use_malloc(*argv);
   static const vmx_device_desc *const table[] = { &vmx_dev_pci, &vmx_dev_svga };
   const char *text = "svga.vramSize = \"4194304\"\nsvga.maxWidth = 1024\nsvga.maxHeight = 768\n";
   char *err = NULL;
   vmxcfg *cfg = vmxcfg_parse(text, strlen(text), "fuzz.vmx", &err);
   plat = vmx_platform_new();
   if (!cfg || !vmx_platform_add_devices(plat, table, 2, cfg, &err)) {
      fuzz_fail("cannot create the platform: %s", err);
   }
   vmxcfg_free(cfg);
   dev = svga_get(plat);
   ram = g_malloc0(RAM_SIZE);
   svga_set_guest_memory(dev, &mem_ops, NULL);
   void *h;
   uint64_t n;
   svga_bar_memory(dev, SVGA_BAR_VRAM, &h, &n);
   vram = h;
   vram_size = n;
   svga_bar_memory(dev, SVGA_BAR_FIFO, &h, &n);
   fifo = h;
   return 0;
}

static void
fresh_device(void)
{
   vmx_platform_reset(plat);
   memset(ram, 0, RAM_SIZE);
   memset(vram, 0, vram_size);
   memset(fifo, 0, FIFO_MAX);
   cfg_write(0x10, 4, IO);
   cfg_write(0x14, 4, VRAM_BAR);
   cfg_write(0x18, 4, FIFO_BAR);
   cfg_write(0x04, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
   reg_write(SVGA_REG_ID, SVGA_ID_2);
   reg_write(SVGA_REG_WIDTH, 64);    /* small pictures keep the runs fast */
   reg_write(SVGA_REG_HEIGHT, 48);
   reg_write(SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
   fifo[SVGA_FIFO_MIN] = FIFO_MIN;
   fifo[SVGA_FIFO_MAX] = FIFO_MAX;
   fifo[SVGA_FIFO_NEXT_CMD] = FIFO_MIN;
   fifo[SVGA_FIFO_STOP] = FIFO_MIN;
   reg_write(SVGA_REG_CONFIG_DONE, 1);
}

static void
check_stop(void)
{
   if (svga_in_error(dev, NULL, 0)) {
      return;
   }
   uint32_t min = fifo[SVGA_FIFO_MIN], max = fifo[SVGA_FIFO_MAX], stop = fifo[SVGA_FIFO_STOP];
   bool regs_ok = !(min & 3) && !(max & 3) && min >= 16 && max <= FIFO_MAX && min < max &&
                  max - min >= 10240;
   bool on = reg_read(SVGA_REG_CONFIG_DONE) && (reg_read(SVGA_REG_ENABLE) & SVGA_REG_ENABLE_ENABLE);
   if (regs_ok && on && (stop < min || stop >= max || (stop & 3))) {
      fuzz_fail("STOP 0x%x outside [0x%x, 0x%x) without an error", stop, min, max);
   }
}

static void
check_roundtrip(void)
{
   GBytes *a = vmx_platform_save(plat);
   gsize n;
   const void *d = g_bytes_get_data(a, &n);
   char *err = NULL;
   if (!vmx_platform_restore(plat, d, n, &err)) {
      fuzz_fail("restoring a fresh save failed: %s", err);
   }
   GBytes *b = vmx_platform_save(plat);
   if (!g_bytes_equal(a, b)) {
      fuzz_fail("save -> restore -> save differs");
   }
   g_bytes_unref(a);
   g_bytes_unref(b);
}

static void
check_shadow(void)
{
   svga_fb_client *c = svga_fb_client_new(svga_get_fb(dev), NULL, NULL);
   svga_fb_image img;
   svga_fb_damage dmg;
   svga_fb_begin(c, &img, &dmg);
   bool ok = img.width >= 1 && img.width <= 8192 && img.height >= 1 && img.height <= 8192;
   uint32_t w = img.width, h = img.height;
   svga_fb_end(c);
   svga_fb_client_free(c);
   if (!ok) {
      fuzz_fail("shadow of %u x %u", w, h);
   }
}

typedef struct reader {
   const uint8_t *p;
   size_t n;
} reader;

static bool
take(reader *r, void *dst, size_t len)
{
   if (r->n < len) {
      return false;
   }
   memcpy(dst, r->p, len);
   r->p += len;
   r->n -= len;
   return true;
}

static const uint32_t regs[] = {
   SVGA_REG_ID, SVGA_REG_ENABLE, SVGA_REG_WIDTH, SVGA_REG_HEIGHT, SVGA_REG_BITS_PER_PIXEL,
   SVGA_REG_CONFIG_DONE, SVGA_REG_SYNC, SVGA_REG_BUSY, SVGA_REG_CURSOR_ID, SVGA_REG_CURSOR_X,
   SVGA_REG_CURSOR_Y, SVGA_REG_CURSOR_ON, SVGA_REG_PITCHLOCK, SVGA_REG_IRQMASK,
   SVGA_REG_NUM_GUEST_DISPLAYS, SVGA_REG_DISPLAY_ID, SVGA_REG_DISPLAY_WIDTH,
   SVGA_REG_GMR_ID, SVGA_REG_GMR_DESCRIPTOR, SVGA_REG_TRACES, SVGA_REG_DEV_CAP,
};

static const uint16_t ports[] = {
   0x3c0, 0x3c2, 0x3c4, 0x3c5, 0x3c6, 0x3c7, 0x3c8, 0x3c9, 0x3ce, 0x3cf, 0x3d4, 0x3d5,
   0x3b4, 0x3b5, 0x3da, 0x1ce, 0x1cf,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
   fresh_device();
   reader r = { data, size };
   uint8_t op;
   unsigned ops = 0;
   while (take(&r, &op, 1) && ops++ < 4096) {
      uint8_t b;
      uint16_t h, h2;
      uint32_t v, v2;
      switch (op % 9) {
      case 0:
         if (take(&r, &b, 1) && take(&r, &v, 4)) {
            uint32_t idx = b < 64    ? regs[b % (sizeof regs / sizeof regs[0])]
                           : b < 128 ? SVGA_PALETTE_BASE + b * 5
                                     : SVGA_SCRATCH_BASE + b % 70;
            reg_write(idx, v);
         }
         break;
      case 1: {
         if (!take(&r, &b, 1)) {
            break;
         }
         uint32_t next = fifo[SVGA_FIFO_NEXT_CMD];
         if (next < FIFO_MIN || next >= FIFO_MAX || (next & 3)) {
            next = FIFO_MIN;
         }
         for (unsigned i = 0; i < b && take(&r, &v, 4); i++) {
            fifo[next / 4] = v;
            next += 4;
            if (next >= FIFO_MAX) {
               next = FIFO_MIN;
            }
         }
         __atomic_store_n(&fifo[SVGA_FIFO_NEXT_CMD], next, __ATOMIC_RELEASE);
         break;
      }
      case 2:
         svga_process(dev);
         break;
      case 3:
         reg_write(SVGA_REG_SYNC, 1);
         reg_read(SVGA_REG_BUSY);
         break;
      case 4:
         if (take(&r, &h, 2) && take(&r, &h2, 2) && take(&r, &v, 4)) {
            uint64_t at = ((uint64_t)h * 4096 + (h2 & 4092)) % (RAM_SIZE - 4);
            memcpy(ram + at, &v, 4);
         }
         break;
      case 5:
         if (take(&r, &b, 1) && take(&r, &v, 4)) {
            fifo[b % 300] = v;
         }
         break;
      case 6:
         if (take(&r, &b, 1) && take(&r, &h, 2)) {
            uint16_t port = ports[b % (sizeof ports / sizeof ports[0])];
            vmx_platform_pio_write(plat, NULL, port, port >= 0x3b0 ? 1 : 2, h);
         }
         break;
      case 7:
         if (take(&r, &v, 4) && take(&r, &v2, 4)) {
            memcpy(vram + (v % (vram_size - 4)), &v2, 4);
         }
         break;
      case 8:
         check_roundtrip();
         break;
      }
      if (op % 9 == 2 || op % 9 == 3) {
         check_stop();   /* right after the device processed the FIFO */
      }
   }
   svga_process(dev);
   check_stop();
   check_roundtrip();
   check_shadow();
   return 0;
}
