/*
 * mks/svga/tests/svga-test.h - helpers for the SVGA device tests: a
 * platform with the PCI host bridge and the SVGA device, PCI configuration
 * through ports 0xcf8/0xcfc, register access through BAR0, a FIFO writer,
 * fake guest RAM, and reading the shadow framebuffer.
 */
#ifndef MKS_SVGA_TESTS_SVGA_TEST_H
#define MKS_SVGA_TESTS_SVGA_TEST_H

#include "mks/svga/svga-reg.h"
#include "mks/svga/svga.h"
#include "vmx/dev/chipset/pci.h"
#include "vmx/dev/chipset/tests/chipset-test.h"

#include <glib.h>
#include <string.h>

#define T_IO 0xc000
#define T_VRAM 0xe0000000u
#define T_FIFO 0xe8000000u
#define T_RAM_SIZE (16u << 20)
#define T_FIFO_MIN 4096u
#define T_FIFO_MAX (256u * 1024u)
#define T_SLOT 15

typedef struct t_env {
   vmx_platform *p;
   irq_rec irq;
   svga *s;
   uint8_t *vram;
   uint32_t *fifo;
   uint8_t *ram;            /* fake guest RAM at guest-physical 0 */
   uint64_t ram_size;
   unsigned writes;         /* guest RAM write notifications */
   uint64_t last_write_gpa, last_write_len;
   svga_fb_client *client;
} t_env;

static const vmx_device_desc *const t_table[] = { &vmx_dev_pci, &vmx_dev_svga };

static inline uint32_t
t_cfg_addr(unsigned dev, unsigned reg)
{
   return 0x80000000u | (dev << 11) | (reg & 0xfc);
}

static inline uint32_t
t_cfg_read(vmx_platform *p, unsigned dev, unsigned reg, unsigned size)
{
   outl(p, 0xcf8, t_cfg_addr(dev, reg));
   return (uint32_t)vmx_platform_pio_read(p, NULL, (uint16_t)(0xcfc + (reg & 3)), size);
}

static inline void
t_cfg_write(vmx_platform *p, unsigned dev, unsigned reg, unsigned size, uint32_t v)
{
   outl(p, 0xcf8, t_cfg_addr(dev, reg));
   vmx_platform_pio_write(p, NULL, (uint16_t)(0xcfc + (reg & 3)), size, v);
}

static inline void *
t_map(void *opaque, uint64_t gpa, uint64_t len)
{
   t_env *t = opaque;
   if (gpa >= t->ram_size || len > t->ram_size - gpa) {
      return NULL;
   }
   return t->ram + gpa;
}

static inline void
t_written(void *opaque, uint64_t gpa, uint64_t len)
{
   t_env *t = opaque;
   t->writes++;
   t->last_write_gpa = gpa;
   t->last_write_len = len;
}

static const svga_guest_mem_ops t_mem_ops = { t_map, t_written };

/* Program the BARs as firmware would and enable the function. */
static inline void
t_program_bars(vmx_platform *p)
{
   t_cfg_write(p, T_SLOT, 0x10, 4, T_IO);
   t_cfg_write(p, T_SLOT, 0x14, 4, T_VRAM);
   t_cfg_write(p, T_SLOT, 0x18, 4, T_FIFO);
   t_cfg_write(p, T_SLOT, 0x04, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
}

/* Find the adapter the way firmware does: scan bus 0 for 15ad:0405 with
 * class 0x0300. */
static inline unsigned
t_find_svga(vmx_platform *p)
{
   for (unsigned dev = 0; dev < 32; dev++) {
      if (t_cfg_read(p, dev, 0, 4) == 0x040515adu && (t_cfg_read(p, dev, 8, 4) >> 16) == 0x0300) {
         return dev;
      }
   }
   return 32;
}

static inline void
t_setup_cfg(t_env *t, const char *cfg)
{
   memset(t, 0, sizeof *t);
   irq_rec_init(&t->irq);
   t->p = test_platform_ok(t_table, G_N_ELEMENTS(t_table), cfg, &t->irq);
   t->s = svga_get(t->p);
   g_assert_nonnull(t->s);
   g_assert_cmpuint(t_find_svga(t->p), ==, T_SLOT);
   t_program_bars(t->p);
   void *h;
   uint64_t n;
   g_assert_true(svga_bar_memory(t->s, SVGA_BAR_VRAM, &h, &n));
   t->vram = h;
   g_assert_true(svga_bar_memory(t->s, SVGA_BAR_FIFO, &h, &n));
   t->fifo = h;
   t->ram_size = T_RAM_SIZE;
   t->ram = g_malloc0(t->ram_size);
   svga_set_guest_memory(t->s, &t_mem_ops, t);
   t->client = svga_fb_client_new(svga_get_fb(t->s), NULL, NULL);
}

static inline void
t_setup(t_env *t)
{
   t_setup_cfg(t, NULL);
}

static inline void
t_teardown(t_env *t)
{
   svga_fb_client_free(t->client);
   vmx_platform_free(t->p);
   g_free(t->ram);
}

/* ---- registers */

static inline void
t_reg_write(t_env *t, uint32_t idx, uint32_t v)
{
   outl(t->p, T_IO + SVGA_INDEX_PORT, idx);
   outl(t->p, T_IO + SVGA_VALUE_PORT, v);
}

static inline uint32_t
t_reg_read(t_env *t, uint32_t idx)
{
   outl(t->p, T_IO + SVGA_INDEX_PORT, idx);
   return inl(t->p, T_IO + SVGA_VALUE_PORT);
}

/* ---- FIFO */

/* The FIFO set up the way vmwgfx does it, then the device enabled. */
static inline void
t_fifo_init(t_env *t)
{
   g_assert_cmphex(t_reg_read(t, SVGA_REG_ID), ==, SVGA_ID_2);
   t_reg_write(t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE | SVGA_REG_ENABLE_HIDE);
   t->fifo[SVGA_FIFO_MIN] = T_FIFO_MIN;
   t->fifo[SVGA_FIFO_MAX] = T_FIFO_MAX;
   t->fifo[SVGA_FIFO_NEXT_CMD] = T_FIFO_MIN;
   t->fifo[SVGA_FIFO_STOP] = T_FIFO_MIN;
   t->fifo[SVGA_FIFO_BUSY] = 0;
   t_reg_write(t, SVGA_REG_CONFIG_DONE, 1);
}

/* Append words at NEXT_CMD (wrapping) without committing. */
static inline uint32_t
t_fifo_put_raw(t_env *t, uint32_t at, const uint32_t *w, size_t n)
{
   uint32_t min = t->fifo[SVGA_FIFO_MIN], max = t->fifo[SVGA_FIFO_MAX];
   for (size_t i = 0; i < n; i++) {
      t->fifo[at / 4] = w[i];
      at += 4;
      if (at >= max) {
         at = min;
      }
   }
   return at;
}

/* Append and commit. */
static inline void
t_fifo_push(t_env *t, const uint32_t *w, size_t n)
{
   uint32_t next = t_fifo_put_raw(t, t->fifo[SVGA_FIFO_NEXT_CMD], w, n);
   __atomic_store_n(&t->fifo[SVGA_FIFO_NEXT_CMD], next, __ATOMIC_RELEASE);
}

#define T_PUSH(t, ...)                                                   \
   do {                                                                  \
      const uint32_t t_w_[] = { __VA_ARGS__ };                           \
      t_fifo_push((t), t_w_, G_N_ELEMENTS(t_w_));                        \
   } while (0)

/* The legacy drain: SYNC, then poll BUSY. */
static inline void
t_sync(t_env *t)
{
   t->fifo[SVGA_FIFO_BUSY] = 1;
   t_reg_write(t, SVGA_REG_SYNC, 1);
   for (int i = 0; i < 1000 && t_reg_read(t, SVGA_REG_BUSY); i++) {
   }
   g_assert_cmpuint(t_reg_read(t, SVGA_REG_BUSY), ==, 0);
}

static inline bool
t_error(t_env *t)
{
   char msg[256];
   bool e = svga_in_error(t->s, msg, sizeof msg);
   if (e && g_test_verbose()) {
      g_test_message("device error: %s", msg);
   }
   return e;
}

/* ---- the shadow */

typedef struct t_shot {
   uint32_t w, h;
   uint64_t gen;
   uint32_t *px;
   svga_fb_damage dmg;
} t_shot;

/* Process, then copy the whole picture and the client's damage. */
static inline void
t_shoot(t_env *t, t_shot *s)
{
   svga_process(t->s);
   svga_fb_image img;
   svga_fb_begin(t->client, &img, &s->dmg);
   s->w = img.width;
   s->h = img.height;
   s->gen = img.generation;
   s->px = g_new(uint32_t, (size_t)img.width * img.height);
   for (uint32_t y = 0; y < img.height; y++) {
      memcpy(s->px + (size_t)y * img.width, img.pixels + (size_t)y * img.stride,
             (size_t)img.width * 4);
   }
   svga_fb_end(t->client);
}

static inline uint32_t
t_px(const t_shot *s, uint32_t x, uint32_t y)
{
   g_assert_cmpuint(x, <, s->w);
   g_assert_cmpuint(y, <, s->h);
   return s->px[(size_t)y * s->w + x] & 0xffffff;
}

static inline void
t_shot_free(t_shot *s)
{
   g_free(s->px);
   s->px = NULL;
}

/* Does the damage cover the rectangle? */
static inline bool
t_damage_covers(const svga_fb_damage *d, int32_t x, int32_t y, int32_t w, int32_t h)
{
   for (int32_t yy = y; yy < y + h; yy++) {
      for (int32_t xx = x; xx < x + w; xx++) {
         bool in = false;
         for (unsigned i = 0; i < d->nrects && !in; i++) {
            const svga_rect *r = &d->rects[i];
            in = xx >= r->x && xx < r->x + r->w && yy >= r->y && yy < r->y + r->h;
         }
         if (!in) {
            return false;
         }
      }
   }
   return true;
}

static inline int64_t
t_damage_area(const svga_fb_damage *d)
{
   int64_t a = 0;
   for (unsigned i = 0; i < d->nrects; i++) {
      a += (int64_t)d->rects[i].w * d->rects[i].h;
   }
   return a;
}

/* A legacy mode through the registers (enable, no hide). */
static inline void
t_legacy_mode(t_env *t, uint32_t w, uint32_t h, uint32_t bpp)
{
   t_reg_write(t, SVGA_REG_WIDTH, w);
   t_reg_write(t, SVGA_REG_HEIGHT, h);
   t_reg_write(t, SVGA_REG_BITS_PER_PIXEL, bpp);
   t_reg_write(t, SVGA_REG_ENABLE, SVGA_REG_ENABLE_ENABLE);
}

#endif
