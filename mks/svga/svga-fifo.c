/*
 * mks/svga/svga-fifo.c - the command FIFO: sanity of its registers,
 * decoding of each command (size first, then a copy, then execution),
 * fences, the FIFO capability registers, and the hardware cursor.
 *
 * The FIFO is guest-writable memory. Its four basic registers are read
 * afresh for every command and must satisfy: MIN and MAX word-aligned,
 * 16 <= MIN, MAX <= the FIFO size, MAX - MIN >= 10 KiB, NEXT_CMD and STOP
 * word-aligned inside [MIN, MAX). Commands are read from STOP up to
 * NEXT_CMD as a ring wrapping from MAX to MIN; a command is run only when
 * all of it is there, after it has been copied out of the FIFO. A command
 * that can never fit (longer than MAX - MIN - 4 bytes), an unknown command
 * ID below 1000 or invalid contents is an error (svga_fail). SVGA3D
 * commands (ID >= 1000) are skipped by their {id, size} header.
 *
 * FIFO capabilities: FENCE, ACCELFRONT, PITCHLOCK, CURSOR_BYPASS_3,
 * ESCAPE, RESERVE, SCREEN_OBJECT, GMR2 (= 3D_HWVERSION_REVISED, which
 * reads 0), SCREEN_OBJECT_2. 3D_HWVERSION reads 0: no 3D.
 */
#include "mks/svga/svga-int.h"

#include <glib.h>
#include <string.h>

#define FIFO_CAPS                                                                            \
   (SVGA_FIFO_CAP_FENCE | SVGA_FIFO_CAP_ACCELFRONT | SVGA_FIFO_CAP_PITCHLOCK |              \
    SVGA_FIFO_CAP_CURSOR_BYPASS_3 | SVGA_FIFO_CAP_ESCAPE | SVGA_FIFO_CAP_RESERVE |          \
    SVGA_FIFO_CAP_SCREEN_OBJECT | SVGA_FIFO_CAP_GMR2 | SVGA_FIFO_CAP_SCREEN_OBJECT_2)

/* At most this many commands per run: another vCPU may keep feeding. */
#define MAX_CMDS_PER_RUN 65536u
#define MAX_SCREEN_STRUCT 1024u

/* ---- FIFO registers */

static uint32_t
fifo_load(svga *s, uint32_t idx)
{
   return __atomic_load_n(&s->fifo[idx], __ATOMIC_ACQUIRE);
}

static void
fifo_store(svga *s, uint32_t idx, uint32_t v)
{
   __atomic_store_n(&s->fifo[idx], v, __ATOMIC_RELEASE);
}

bool
svga_fifo_enabled(svga *s)
{
   return (s->enable & SVGA_REG_ENABLE_ENABLE) && s->config_done;
}

bool
svga_fifo_has_reg(svga *s, uint32_t idx)
{
   return s->fmin && idx < s->fmin / 4;
}

uint32_t
svga_fifo_get(svga *s, uint32_t idx)
{
   return svga_fifo_has_reg(s, idx) ? fifo_load(s, idx) : 0;
}

void
svga_fifo_put(svga *s, uint32_t idx, uint32_t v)
{
   if (svga_fifo_has_reg(s, idx)) {
      fifo_store(s, idx, v);
   }
}

typedef struct fifo_regs {
   uint32_t min, max, next, stop;
} fifo_regs;

static bool
fifo_regs_ok(const fifo_regs *f)
{
   return !(f->min & 3) && !(f->max & 3) && f->min >= 16 && f->max <= SVGA_FIFO_BYTES &&
          f->min < f->max && f->max - f->min >= SVGA_FIFO_MIN_DATA && !(f->next & 3) &&
          !(f->stop & 3) && f->next >= f->min && f->next < f->max && f->stop >= f->min &&
          f->stop < f->max;
}

static bool
fifo_check(svga *s, fifo_regs *f)
{
   f->min = fifo_load(s, SVGA_FIFO_MIN);
   f->max = fifo_load(s, SVGA_FIFO_MAX);
   f->next = fifo_load(s, SVGA_FIFO_NEXT_CMD);
   f->stop = fifo_load(s, SVGA_FIFO_STOP);
   if (!fifo_regs_ok(f)) {
      svga_fail(s, "FIFO registers out of range: MIN 0x%x MAX 0x%x NEXT_CMD 0x%x STOP 0x%x "
                "(FIFO of 0x%x bytes)", f->min, f->max, f->next, f->stop, SVGA_FIFO_BYTES);
      return false;
   }
   s->fmin = f->min;
   s->fmax = f->max;
   return true;
}

void
svga_fifo_configure(svga *s)
{
   fifo_regs f;
   s->fmin = s->fmax = 0;
   if (!fifo_check(s, &f)) {
      return;
   }
   svga_fifo_put(s, SVGA_FIFO_CAPABILITIES, FIFO_CAPS);
   svga_fifo_put(s, SVGA_FIFO_FLAGS, 0);
   svga_fifo_put(s, SVGA_FIFO_3D_HWVERSION, 0);
   svga_fifo_put(s, SVGA_FIFO_3D_HWVERSION_REVISED, 0);
   /* cursor positions are root coordinates until the driver says otherwise */
   svga_fifo_put(s, SVGA_FIFO_CURSOR_SCREEN_ID, SVGA_ID_INVALID);
   s->cursor_count = svga_fifo_get(s, SVGA_FIFO_CURSOR_COUNT);
}

static uint32_t
ring_avail(const fifo_regs *f)
{
   return f->next >= f->stop ? f->next - f->stop : (f->max - f->stop) + (f->next - f->min);
}

/* Copy len bytes of the ring starting at byte offset from. */
static void
ring_copy(svga *s, const fifo_regs *f, uint32_t from, uint32_t len, void *dst)
{
   const uint8_t *base = (const uint8_t *)s->fifo;
   uint32_t first = MIN(len, f->max - from);
   memcpy(dst, base + from, first);
   if (len > first) {
      memcpy((uint8_t *)dst + first, base + f->min, len - first);
   }
}

/* ---- the hardware cursor */

void
svga_cursor_publish(svga *s)
{
   if (s->cursor.argb) {
      svga_fb_set_cursor_shape(s->fb, s->cursor.w, s->cursor.h, s->cursor.hot_x,
                               s->cursor.hot_y, s->cursor.argb);
   } else {
      svga_fb_set_cursor_shape(s->fb, 0, 0, 0, 0, NULL);
   }
   svga_cursor_update_pos(s);
}

/* Position in the picture the shadow shows. */
void
svga_cursor_update_pos(svga *s)
{
   int64_t x = s->cpos_x, y = s->cpos_y;
   bool on = s->cpos_on && s->cursor.argb;
   if (s->view.src == SVGA_SRC_SCREEN) {
      const svga_screen *scr = &s->screen[s->view.screen];
      if (s->cpos_screen == SVGA_ID_INVALID) {
         x -= scr->x;
         y -= scr->y;
      } else if (s->cpos_screen != s->view.screen) {
         on = false;   /* on another monitor */
      }
   } else if (s->view.src == SVGA_SRC_VGA_TEXT || s->view.src == SVGA_SRC_VGA_BLANK) {
      on = false;
   }
   x = CLAMP(x, INT32_MIN, INT32_MAX);
   y = CLAMP(y, INT32_MIN, INT32_MAX);
   svga_fb_set_cursor_pos(s->fb, (int32_t)x, (int32_t)y, on);
}

void
svga_fifo_poll_cursor(svga *s)
{
   if (!svga_fifo_enabled(s) || !svga_fifo_has_reg(s, SVGA_FIFO_CURSOR_LAST_UPDATED)) {
      return;
   }
   uint32_t count = svga_fifo_get(s, SVGA_FIFO_CURSOR_COUNT);
   if (count == s->cursor_count) {
      return;
   }
   s->cursor_count = count;
   s->fifo_cursor_seen = true;
   s->cpos_on = svga_fifo_get(s, SVGA_FIFO_CURSOR_ON) != 0;
   s->cpos_x = (int32_t)svga_fifo_get(s, SVGA_FIFO_CURSOR_X);
   s->cpos_y = (int32_t)svga_fifo_get(s, SVGA_FIFO_CURSOR_Y);
   s->cpos_screen = svga_fifo_has_reg(s, SVGA_FIFO_CURSOR_SCREEN_ID)
                       ? svga_fifo_get(s, SVGA_FIFO_CURSOR_SCREEN_ID)
                       : SVGA_ID_INVALID;
   svga_fifo_put(s, SVGA_FIFO_CURSOR_LAST_UPDATED, count);
   svga_cursor_update_pos(s);
}

/* Bits a mask pixel of this depth takes (15-bit pixels are stored in 16). */
static uint32_t
mask_bits(uint32_t depth)
{
   return depth == 15 ? 16 : depth;
}

static uint64_t
mask_pitch(uint32_t w, uint32_t depth)
{
   return (((uint64_t)w * mask_bits(depth) + 31) / 32) * 4;
}

static uint64_t
mask_bytes(uint32_t w, uint32_t h, uint32_t depth)
{
   return mask_pitch(w, depth) * h;
}

static bool
cursor_depth_ok(svga *s, uint32_t d)
{
   return d == 1 || (d == s->bpp && svga_bpp_format(d) != SVGA_PF_NONE);
}

/* Words of a DEFINE_CURSOR command, 0 if it is invalid. */
static uint64_t
define_cursor_words(svga *s, const uint32_t *w)
{
   uint32_t cw = w[4], ch = w[5];
   if (cw > SVGA_MAX_CURSOR || ch > SVGA_MAX_CURSOR || !cursor_depth_ok(s, w[6]) ||
       !cursor_depth_ok(s, w[7])) {
      return 0;
   }
   return SVGA_CMDLEN_DEFINE_CURSOR + (mask_bytes(cw, ch, w[6]) + mask_bytes(cw, ch, w[7])) / 4;
}

static uint32_t
mask_pixel(const uint8_t *row, uint32_t x, uint32_t depth, svga_pf pf, const uint32_t *pal,
           bool *set)
{
   if (depth == 1) {
      *set = (row[x / 8] >> (7 - x % 8)) & 1;
      return *set ? 0xffffff : 0;
   }
   uint32_t px;
   unsigned b = svga_pf_bytes(pf);
   svga_convert_row(&px, row + (size_t)x * b, 1, pf, pal);
   uint32_t raw = 0;
   memcpy(&raw, row + (size_t)x * b, b);
   *set = raw != 0;
   return px;
}

static void
set_cursor(svga *s, uint32_t w, uint32_t h, uint32_t hx, uint32_t hy, uint32_t *argb)
{
   g_free(s->cursor.argb);
   s->cursor.argb = argb;
   s->cursor.w = argb ? w : 0;
   s->cursor.h = argb ? h : 0;
   s->cursor.hot_x = MIN(hx, w ? w - 1 : 0);
   s->cursor.hot_y = MIN(hy, h ? h - 1 : 0);
   svga_cursor_publish(s);
}

static void
cmd_define_cursor(svga *s, const uint32_t *w)
{
   uint32_t cw = w[4], ch = w[5], ad = w[6], xd = w[7];
   if (!cw || !ch) {
      set_cursor(s, 0, 0, 0, 0, NULL);
      return;
   }
   const uint8_t *andm = (const uint8_t *)&w[SVGA_CMDLEN_DEFINE_CURSOR];
   const uint8_t *xorm = andm + mask_bytes(cw, ch, ad);
   size_t and_pitch = (size_t)mask_pitch(cw, ad);
   size_t xor_pitch = (size_t)mask_pitch(cw, xd);
   svga_pf apf = svga_bpp_format(ad), xpf = svga_bpp_format(xd);
   uint32_t *img = g_new(uint32_t, (size_t)cw * ch);
   for (uint32_t y = 0; y < ch; y++) {
      for (uint32_t x = 0; x < cw; x++) {
         bool a, xo;
         mask_pixel(andm + y * and_pitch, x, ad, apf, s->pal_svga, &a);
         uint32_t color = mask_pixel(xorm + y * xor_pitch, x, xd, xpf, s->pal_svga, &xo);
         uint32_t out;
         if (!a) {
            out = 0xff000000u | (color & 0xffffff);
         } else if (!xo) {
            out = 0;                 /* transparent */
         } else {
            out = 0xff000000u;       /* inverts the screen: shown black */
         }
         img[(size_t)y * cw + x] = out;
      }
   }
   set_cursor(s, cw, ch, w[2], w[3], img);
}

static void
cmd_define_alpha_cursor(svga *s, const uint32_t *w)
{
   uint32_t cw = w[4], ch = w[5];
   if (!cw || !ch) {
      set_cursor(s, 0, 0, 0, 0, NULL);
      return;
   }
   uint32_t *img = g_memdup2(&w[SVGA_CMDLEN_DEFINE_ALPHA_CURSOR], (gsize)cw * ch * 4);
   set_cursor(s, cw, ch, w[2], w[3], img);
}

/* ---- fences */

static void
cmd_fence(svga *s, uint32_t fence)
{
   svga_fifo_put(s, SVGA_FIFO_FENCE, fence);
   uint32_t flags = SVGA_IRQFLAG_ANY_FENCE;
   if (svga_fifo_has_reg(s, SVGA_FIFO_FENCE_GOAL) &&
       svga_fifo_get(s, SVGA_FIFO_FENCE_GOAL) == fence) {
      flags |= SVGA_IRQFLAG_FENCE_GOAL;
   }
   svga_raise_irq(s, flags);
}

/* ---- decoding */

/* Words needed to know a command's length (0: unknown command). */
static uint32_t
header_words(uint32_t id)
{
   if (id >= SVGA_3D_CMD_BASE) {
      return 2;
   }
   switch (id) {
   case SVGA_CMD_UPDATE: return SVGA_CMDLEN_UPDATE;
   case SVGA_CMD_RECT_FILL: return SVGA_CMDLEN_RECT_FILL;
   case SVGA_CMD_RECT_COPY: return SVGA_CMDLEN_RECT_COPY;
   case SVGA_CMD_RECT_ROP_COPY: return SVGA_CMDLEN_RECT_ROP_COPY;
   case SVGA_CMD_DEFINE_CURSOR: return SVGA_CMDLEN_DEFINE_CURSOR;
   case SVGA_CMD_DEFINE_ALPHA_CURSOR: return SVGA_CMDLEN_DEFINE_ALPHA_CURSOR;
   case SVGA_CMD_UPDATE_VERBOSE: return SVGA_CMDLEN_UPDATE_VERBOSE;
   case SVGA_CMD_FRONT_ROP_FILL: return SVGA_CMDLEN_FRONT_ROP_FILL;
   case SVGA_CMD_FENCE: return SVGA_CMDLEN_FENCE;
   case SVGA_CMD_ESCAPE: return SVGA_CMDLEN_ESCAPE;
   case SVGA_CMD_DEFINE_SCREEN: return 2;
   case SVGA_CMD_DESTROY_SCREEN: return SVGA_CMDLEN_DESTROY_SCREEN;
   case SVGA_CMD_DEFINE_GMRFB: return SVGA_CMDLEN_DEFINE_GMRFB;
   case SVGA_CMD_BLIT_GMRFB_TO_SCREEN: return SVGA_CMDLEN_BLIT;
   case SVGA_CMD_BLIT_SCREEN_TO_GMRFB: return SVGA_CMDLEN_BLIT;
   case SVGA_CMD_ANNOTATION_FILL: return SVGA_CMDLEN_ANNOTATION_FILL;
   case SVGA_CMD_ANNOTATION_COPY: return SVGA_CMDLEN_ANNOTATION_COPY;
   case SVGA_CMD_DEFINE_GMR2: return SVGA_CMDLEN_DEFINE_GMR2;
   case SVGA_CMD_REMAP_GMR2: return SVGA_CMDLEN_REMAP_GMR2;
   case SVGA_CMD_NOP: return 1;
   case SVGA_CMD_NOP_ERROR: return 1;
   default: return 0;
   }
}

/* The whole command's length in words from its header words; 0 when the
 * header is invalid (*why says how). */
static uint64_t
command_words(svga *s, const uint32_t *w, const char **why)
{
   uint32_t id = w[0];
   *why = NULL;
   if (id >= SVGA_3D_CMD_BASE) {
      if (w[1] & 3) {
         *why = "SVGA3D body size is not a multiple of 4";
         return 0;
      }
      return 2 + (uint64_t)w[1] / 4;
   }
   switch (id) {
   case SVGA_CMD_ESCAPE:
      return SVGA_CMDLEN_ESCAPE + ((uint64_t)w[2] + 3) / 4;
   case SVGA_CMD_DEFINE_SCREEN:
      if (w[1] < SVGA_SCREEN_SIZE_V1 || w[1] > MAX_SCREEN_STRUCT || (w[1] & 3)) {
         *why = "screen object structSize out of range";
         return 0;
      }
      return 1 + w[1] / 4;
   case SVGA_CMD_DEFINE_CURSOR: {
      uint64_t n = define_cursor_words(s, w);
      if (!n) {
         *why = "cursor size or mask depth not supported";
      }
      return n;
   }
   case SVGA_CMD_DEFINE_ALPHA_CURSOR:
      if (w[4] > SVGA_MAX_CURSOR || w[5] > SVGA_MAX_CURSOR) {
         *why = "cursor larger than 256 x 256";
         return 0;
      }
      return SVGA_CMDLEN_DEFINE_ALPHA_CURSOR + (uint64_t)w[4] * w[5];
   case SVGA_CMD_REMAP_GMR2: {
      uint64_t n = svga_remap_gmr2_words(w);
      if (!n) {
         *why = "unknown REMAP_GMR2 flags";
      }
      return n;
   }
   default:
      return header_words(id);
   }
}

static bool
execute(svga *s, const uint32_t *w, uint32_t nwords)
{
   uint32_t id = w[0];
   if (id >= SVGA_3D_CMD_BASE) {
      svga_guest_log(s, "SVGA3D command %u (%u bytes) skipped: 3D is not supported", id, w[1]);
      return true;
   }
   switch (id) {
   case SVGA_CMD_UPDATE:
   case SVGA_CMD_UPDATE_VERBOSE:
      return svga_cmd_update(s, w[1], w[2], w[3], w[4]);
   case SVGA_CMD_FRONT_ROP_FILL:
      /* A hint that the driver filled the rectangle of the legacy
       * framebuffer: it is in VRAM, so an update is exact. */
      return svga_cmd_update(s, w[2], w[3], w[4], w[5]);
   case SVGA_CMD_RECT_FILL:
      return svga_cmd_rect_fill(s, w);
   case SVGA_CMD_RECT_ROP_COPY:
      if (w[7] != SVGA_ROP_COPY) {
         svga_fail(s, "RECT_ROP_COPY with raster operation 0x%x (only COPY exists)", w[7]);
         return false;
      }
      return svga_cmd_rect_copy(s, w);
   case SVGA_CMD_RECT_COPY:
      return svga_cmd_rect_copy(s, w);
   case SVGA_CMD_DEFINE_CURSOR:
      cmd_define_cursor(s, w);
      return true;
   case SVGA_CMD_DEFINE_ALPHA_CURSOR:
      cmd_define_alpha_cursor(s, w);
      return true;
   case SVGA_CMD_FENCE:
      cmd_fence(s, w[1]);
      return true;
   case SVGA_CMD_ESCAPE:
      /* Escapes carry video overlay and vendor extensions, none of which
       * this device has (no SVGA_FIFO_CAP_VIDEO): skip them. */
      return true;
   case SVGA_CMD_DEFINE_SCREEN:
      return svga_cmd_define_screen(s, w, w[1]);
   case SVGA_CMD_DESTROY_SCREEN:
      return svga_cmd_destroy_screen(s, w[1]);
   case SVGA_CMD_DEFINE_GMRFB:
      return svga_cmd_define_gmrfb(s, w);
   case SVGA_CMD_BLIT_GMRFB_TO_SCREEN:
      return svga_cmd_blit_to_screen(s, w);
   case SVGA_CMD_BLIT_SCREEN_TO_GMRFB:
      return svga_cmd_blit_from_screen(s, w);
   case SVGA_CMD_ANNOTATION_FILL:
   case SVGA_CMD_ANNOTATION_COPY:
      /* Hints about the next blit; the blit itself carries the pixels. */
      return true;
   case SVGA_CMD_DEFINE_GMR2:
      return svga_cmd_define_gmr2(s, w);
   case SVGA_CMD_REMAP_GMR2:
      return svga_cmd_remap_gmr2(s, w, nwords);
   case SVGA_CMD_NOP:
      return true;
   case SVGA_CMD_NOP_ERROR:
      svga_fail(s, "NOP_ERROR command");
      return false;
   default:
      svga_fail(s, "unknown command %u", id);
      return false;
   }
}

typedef enum run_result {
   RUN_EMPTY,
   RUN_PARTIAL,   /* the next command is not complete yet */
   RUN_MORE,      /* stopped at the batch limit */
   RUN_ERROR,
} run_result;

static run_result
run_commands(svga *s, uint32_t *next_seen)
{
   unsigned done = 0;
   run_result res = RUN_EMPTY;
   uint32_t *cmd = (uint32_t *)s->cmd;
   for (;;) {
      fifo_regs f;
      if (!fifo_check(s, &f)) {
         res = RUN_ERROR;
         break;
      }
      *next_seen = f.next;
      uint32_t avail = ring_avail(&f);
      if (avail == 0) {
         res = RUN_EMPTY;
         break;
      }
      if (done >= MAX_CMDS_PER_RUN) {
         res = RUN_MORE;
         break;
      }
      uint32_t id;
      ring_copy(s, &f, f.stop, 4, &id);
      uint32_t hw = header_words(id);
      if (!hw) {
         svga_fail(s, "unknown command %u at FIFO offset 0x%x", id, f.stop);
         res = RUN_ERROR;
         break;
      }
      if (avail < hw * 4) {
         res = RUN_PARTIAL;
         break;
      }
      ring_copy(s, &f, f.stop, hw * 4, cmd);
      const char *why;
      uint64_t nw = command_words(s, cmd, &why);
      uint64_t limit = (uint64_t)(f.max - f.min - 4) / 4;
      if (!nw) {
         svga_fail(s, "command %u at FIFO offset 0x%x: %s", id, f.stop, why);
         res = RUN_ERROR;
         break;
      }
      if (nw > limit) {
         svga_fail(s, "command %u at FIFO offset 0x%x is %llu bytes long; the FIFO holds %u",
                   id, f.stop, (unsigned long long)nw * 4, f.max - f.min - 4);
         res = RUN_ERROR;
         break;
      }
      if (avail < nw * 4) {
         res = RUN_PARTIAL;
         break;
      }
      ring_copy(s, &f, f.stop, (uint32_t)nw * 4, cmd);
      if (!execute(s, cmd, (uint32_t)nw)) {
         res = RUN_ERROR;
         break;
      }
      uint32_t stop = f.stop + (uint32_t)nw * 4;
      if (stop >= f.max) {
         stop -= f.max - f.min;
      }
      fifo_store(s, SVGA_FIFO_STOP, stop);
      done++;
   }
   if (done) {
      svga_raise_irq(s, SVGA_IRQFLAG_FIFO_PROGRESS);
   }
   return res;
}

bool
svga_fifo_run(svga *s)
{
   if (!svga_fifo_enabled(s) || s->error || !s->fmax) {
      s->sync_pending = false;
      return true;
   }
   for (unsigned round = 0;; round++) {
      uint32_t seen = 0;
      run_result r = run_commands(s, &seen);
      if (r == RUN_ERROR) {
         return true;
      }
      if (r == RUN_MORE) {
         svga_wake(s);   /* FIFO_BUSY stays set: we come back at once */
         return false;
      }
      /* Going idle: the guest must SYNC again for new work. Look once
       * more so that nothing written meanwhile is missed. */
      svga_fifo_put(s, SVGA_FIFO_BUSY, 0);
      __atomic_thread_fence(__ATOMIC_SEQ_CST);
      uint32_t now = fifo_load(s, SVGA_FIFO_NEXT_CMD);
      if (now != seen) {
         if (round < 4) {
            svga_fifo_put(s, SVGA_FIFO_BUSY, 1);
            continue;
         }
         svga_wake(s);
         return false;
      }
      if (r == RUN_EMPTY) {
         s->sync_pending = false;
         return true;
      }
      return false;   /* waiting for the rest of a command */
   }
}
