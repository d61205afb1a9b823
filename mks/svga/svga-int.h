/*
 * mks/svga/svga-int.h - the SVGA II device's state, shared by its files:
 *
 *   svga.c          device lifecycle, PCI function and BARs, registers,
 *                   interrupts, svga_process, the helper thread
 *   svga-fifo.c     FIFO sanity, command decoding, fences, cursors
 *   svga-gmr.c      guest memory regions and guest memory access
 *   svga-display.c  what the shadow shows: legacy framebuffer, screen
 *                   objects, blits, pixel conversion, memory scanning
 *   vga.c           VGA registers, text rendering, Bochs VBE
 *   font.c          the built-in 8x16 font
 *   svga-ckpt.c     save and restore
 *
 * Locking: s->lock guards everything below; the shadow has its own lock
 * (taken inside s->lock, never the other way round). Guest memory, VRAM
 * and FIFO contents change under us at any time: they are read into local
 * copies before being checked.
 */
#ifndef MKS_SVGA_SVGA_INT_H
#define MKS_SVGA_SVGA_INT_H

#include "mks/svga/svga-reg.h"
#include "mks/svga/svga.h"
#include "vmx/dev/chipset/pci.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define SVGA_FIFO_BYTES (256u * 1024u)
#define SVGA_IO_BYTES 16u
#define SVGA_VRAM_DEFAULT (16u << 20)
#define SVGA_VRAM_MIN (4u << 20)
#define SVGA_VRAM_MAX (128u << 20)
#define SVGA_SCRATCH_REGS 64u
#define SVGA_MAX_DISPLAYS 10u
#define SVGA_GMR_IDS 64u
#define SVGA_GMR_MAX_PAGES 65536u          /* all GMRs together: 256 MiB */
#define SVGA_GMR_MAX_DESCRIPTORS 4096u     /* per legacy GMR definition */
#define SVGA_MAX_SCREENS 16u
#define SVGA_FIFO_MIN_DATA 10240u          /* MAX - MIN, as the spec asks */
#define SVGA_PAGE 4096u
#define SVGA_PPN_INVALID UINT64_MAX
#define SVGA_MAX_CURSOR 256u

/* Pixel formats of memory the device reads or writes. */
typedef enum svga_pf {
   SVGA_PF_NONE = 0,
   SVGA_PF_8,        /* palette index */
   SVGA_PF_555,
   SVGA_PF_565,
   SVGA_PF_888,      /* 3 bytes B, G, R */
   SVGA_PF_X888,     /* 4 bytes B, G, R, X */
} svga_pf;

/* What the shadow shows. */
typedef enum svga_src {
   SVGA_SRC_NONE = 0,
   SVGA_SRC_VGA_TEXT,
   SVGA_SRC_VGA_BLANK,   /* VGA graphics modes and a disabled screen */
   SVGA_SRC_VBE,
   SVGA_SRC_LEGACY,      /* the SVGA legacy framebuffer */
   SVGA_SRC_SCREEN,      /* a screen object */
} svga_src;

typedef struct svga_view {
   svga_src src;
   uint32_t w, h;
   /* VBE / LEGACY: where the pixels are in VRAM */
   uint64_t offset;
   uint32_t pitch;
   svga_pf pf;
   /* SCREEN: which one, and whether it shows black (blanking, deactivated) */
   uint32_t screen;
   bool black;
} svga_view;

typedef struct svga_display_regs {
   uint32_t is_primary, x, y, w, h;
} svga_display_regs;

typedef struct svga_gmr {
   uint32_t npages;      /* 0: not defined */
   uint64_t *ppn;        /* npages entries, SVGA_PPN_INVALID where unmapped */
} svga_gmr;

typedef struct svga_gmrfb {
   uint32_t gmr, offset, pitch;
   uint32_t bpp, depth;
   bool defined;
} svga_gmrfb;

typedef struct svga_screen {
   bool defined;
   uint32_t flags;
   uint32_t w, h;
   int32_t x, y;            /* root position */
   bool backed;             /* backing store in VRAM */
   uint32_t bs_offset, bs_pitch;
   uint32_t clone_count;
   uint32_t *priv;          /* contents without a backing store: w * h */
} svga_screen;

typedef struct svga_cursor {
   uint32_t w, h, hot_x, hot_y;
   uint32_t *argb;          /* NULL: none defined */
} svga_cursor;

/* VGA and VBE registers (vga.c). */
typedef struct svga_vga {
   uint8_t misc;
   uint8_t seq_index, seq[8];
   uint8_t gc_index, gc[16];
   uint8_t ac_index, ac[32];
   bool ac_flip;            /* false: next 0x3c0 write is an index */
   uint8_t crtc_index, crtc[32];
   uint8_t dac_mask, dac_read, dac_write, dac_sub, dac_state;
   uint8_t dac[768];
   uint8_t feature;
   uint8_t st1_toggle;
   uint16_t vbe_index;
   uint16_t vbe[VBE_DISPI_INDEX_NB];
} svga_vga;

/* The VGA text screen as last rendered. */
#define SVGA_TEXT_MAX_COLS 132u
#define SVGA_TEXT_MAX_ROWS 60u
typedef struct svga_text_cache {
   bool valid;
   uint16_t cells[SVGA_TEXT_MAX_COLS * SVGA_TEXT_MAX_ROWS];
   int cursor_cell;         /* -1: none shown */
   uint8_t cursor_start, cursor_end;
} svga_text_cache;

struct svga {
   vmx_platform *p;
   pci_func *pci;
   pthread_mutex_t lock;

   /* memory */
   uint8_t *vram;
   uint32_t vram_size;      /* what SVGA_REG_VRAM_SIZE reports */
   uint64_t vram_bar;       /* BAR1 size, all backed */
   uint32_t *fifo;          /* SVGA_FIFO_BYTES */
   bool pio_mapped;
   bool vga_mapped, vbe_mapped;
   uint32_t max_w, max_h;

   /* BAR listener (bar_lock, not s->lock: it is called without s->lock) */
   pthread_mutex_t bar_lock;
   svga_bar_moved_fn bar_fn;
   void *bar_opaque;
   uint64_t bar_seen[3];

   /* guest memory */
   const svga_guest_mem_ops *gm_ops;
   void *gm_opaque;

   int wake_fd;
   svga_fb *fb;

   /* registers */
   uint32_t index;
   uint32_t id;
   uint32_t enable;
   uint32_t width, height, bpp;
   uint32_t pitchlock;
   uint32_t config_done;
   uint32_t guest_id;
   uint32_t traces;
   uint32_t cursor_id, cursor_x, cursor_y, cursor_on;
   uint32_t irq_mask, irq_status;
   uint32_t num_guest_displays, display_id;
   svga_display_regs displays[SVGA_MAX_DISPLAYS];
   uint32_t gmr_id;
   uint32_t dev_cap;
   uint8_t palette[768];
   uint32_t scratch[SVGA_SCRATCH_REGS];
   bool sync_pending;       /* SYNC written, FIFO not yet drained */

   /* FIFO processing */
   bool error;
   char error_msg[200];
   uint32_t fmin, fmax;     /* last validated MIN and MAX */
   uint32_t cursor_count;   /* last FIFO cursor count seen */
   bool fifo_cursor_seen;   /* the FIFO cursor registers were used */
   uint8_t *cmd;            /* bounce buffer for one command */
   unsigned log_budget;     /* guest-triggered log lines left */

   /* GMRs, GMRFB, screens, cursor */
   svga_gmr gmr[SVGA_GMR_IDS];
   uint32_t gmr_pages;      /* sum of npages */
   svga_gmrfb gmrfb;
   svga_screen screen[SVGA_MAX_SCREENS];
   svga_cursor cursor;
   int32_t cpos_x, cpos_y;  /* cursor hotspot position as the guest set it */
   bool cpos_on;
   uint32_t cpos_screen;    /* relative to this screen; SVGA_ID_INVALID: root */

   /* display */
   svga_view view;
   bool redraw;             /* redraw everything at the next sync */
   svga_text_cache text;
   uint32_t pal_svga[256];  /* XRGB of the SVGA palette registers */
   uint32_t pal_dac[256];   /* XRGB of the VGA DAC */
   bool vga_graphics_logged;

   svga_vga vga;

   /* helper thread */
   pthread_t thread;
   bool thread_running;
   int stop_fd;
   unsigned thread_hz;
};

/* ---- svga.c */
void svga_update_irq(svga *s);
void svga_raise_irq(svga *s, uint32_t flags);
/* Enter the error state (once) with a log line. */
void svga_fail(svga *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A rate-limited log line about guest behaviour. */
void svga_guest_log(svga *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void svga_wake(svga *s);
/* The legacy framebuffer's geometry from the registers. */
uint32_t svga_reg_bytes_per_line(svga *s);
uint32_t svga_reg_depth(uint32_t bpp);
svga_pf svga_bpp_format(uint32_t bpp);

/* ---- svga-fifo.c */
/* CONFIG_DONE / ENABLE turned the FIFO on: check it, write the FIFO
 * capability registers. */
void svga_fifo_configure(svga *s);
bool svga_fifo_enabled(svga *s);
/* Run all complete commands; true when the FIFO is empty afterwards. */
bool svga_fifo_run(svga *s);
/* Does the FIFO have the register at word idx (below MIN)? */
bool svga_fifo_has_reg(svga *s, uint32_t idx);
uint32_t svga_fifo_get(svga *s, uint32_t idx);
void svga_fifo_put(svga *s, uint32_t idx, uint32_t v);
void svga_fifo_poll_cursor(svga *s);
void svga_cursor_publish(svga *s);
void svga_cursor_update_pos(svga *s);

/* ---- svga-gmr.c */
void *svga_guest_map(svga *s, uint64_t gpa, uint64_t len);
void svga_guest_written(svga *s, uint64_t gpa, uint64_t len);
/* Copy len bytes at offset in GMR gmr (or VRAM for SVGA_GMR_FRAMEBUFFER);
 * false when any of it is outside the region or guest RAM. */
bool svga_gmr_read(svga *s, uint32_t gmr, uint64_t offset, void *dst, uint64_t len);
bool svga_gmr_write(svga *s, uint32_t gmr, uint64_t offset, const void *src, uint64_t len);
void svga_gmr_free_all(svga *s);
/* SVGA_REG_GMR_DESCRIPTOR written. */
void svga_gmr_define_legacy(svga *s, uint32_t id, uint32_t ppn);
/* FIFO commands; false on a malformed one (the error is set). */
bool svga_cmd_define_gmr2(svga *s, const uint32_t *w);
bool svga_cmd_remap_gmr2(svga *s, const uint32_t *w, uint32_t nwords);
/* Size in words of a REMAP_GMR2 command from its first 5 words; 0 if it
 * can never be valid. */
uint64_t svga_remap_gmr2_words(const uint32_t *w);
/* Replace GMR id's page table (restore). */
void svga_gmr_set(svga *s, uint32_t id, uint32_t npages, uint64_t *ppn);

/* ---- svga-display.c */
void svga_display_sync(svga *s);
void svga_display_reset(svga *s);
void svga_display_scan(svga *s);
void svga_palette_changed(svga *s);
void svga_dac_changed(svga *s);
bool svga_cmd_update(svga *s, uint32_t x, uint32_t y, uint32_t w, uint32_t h);
bool svga_cmd_rect_copy(svga *s, const uint32_t *w);
bool svga_cmd_rect_fill(svga *s, const uint32_t *w);
bool svga_cmd_define_screen(svga *s, const uint32_t *w, uint32_t size);
bool svga_cmd_destroy_screen(svga *s, uint32_t id);
bool svga_cmd_define_gmrfb(svga *s, const uint32_t *w);
bool svga_cmd_blit_to_screen(svga *s, const uint32_t *w);
bool svga_cmd_blit_from_screen(svga *s, const uint32_t *w);
void svga_screens_free(svga *s);
/* The legacy mode registers changed while screens exist (spec: all but
 * screen 0 go away, screen 0 takes the mode). */
void svga_screens_legacy_mode(svga *s);
/* Is screen id valid for a new definition (restore)? */
/* other_mem: bytes the other screens take (svga_screens_mem). */
bool svga_screen_check(svga *s, uint32_t id, uint32_t flags, uint32_t w, uint32_t h,
                       uint32_t bs_gmr, uint32_t bs_offset, uint32_t bs_pitch,
                       uint64_t other_mem, char **why);
uint64_t svga_screens_mem(svga *s, uint32_t except_id);
/* Pixel conversion. */
void svga_convert_row(uint32_t *dst, const uint8_t *src, uint32_t n, svga_pf pf,
                      const uint32_t *pal);
void svga_pack_row(uint8_t *dst, const uint32_t *src, uint32_t n, svga_pf pf);
unsigned svga_pf_bytes(svga_pf pf);

/* ---- vga.c */
void svga_vga_reset(svga *s);
bool svga_vga_map(svga *s, char **err);
void svga_vga_unmap(svga *s);
/* What the VGA/VBE side shows. */
void svga_vga_view(svga *s, svga_view *v);
/* Render the text screen into the shadow (changed cells, or all). */
void svga_vga_text_scan(svga *s, bool all);
uint32_t svga_vbe_line_bytes(const svga_vga *v);

/* ---- font.c */
const uint8_t *svga_font_glyph(uint8_t ch);   /* 16 rows, bit 7 = left */

#endif
