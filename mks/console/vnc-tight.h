/*
 * mks/console/vnc-tight.h - our encoder for the lossless part of the RFB
 * Tight encoding (rectangle bodies: fill, palette, full colour over four
 * persistent zlib streams), one per viewer.
 *
 * Why our own: libvncserver's Tight (TurboVNC's) caps lossless
 * compression at zlib level 1 whatever level the viewer asks for, which
 * costs about a fifth more bytes on a busy desktop than levels 4-6
 * (tests/bench/vnc). Viewers that ask for JPEG still get libvncserver's
 * encoder: it is good at that.
 *
 * Input is the server's XRGB8888 pixels (the top byte ignored); colours are
 * counted on them, and only what goes out is converted to the viewer's
 * format: Tight's packed TPIXEL (red, green, blue bytes, for a 32 bpp,
 * depth 24, 8-bits-a-channel viewer) or, through a callback, any other
 * true-colour format. Output is the rectangle body that follows the
 * rectangle header.
 */
#ifndef MKS_VNC_TIGHT_H
#define MKS_VNC_TIGHT_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <zlib.h>

/* What one Tight rectangle may be: viewers (TightVNC's rule, which
 * libvncclient and TigerVNC size their buffers by) take no more. */
#define VNC_TIGHT_MAX_WIDTH 2048u
#define VNC_TIGHT_MAX_AREA 65536u

typedef struct vnc_tight vnc_tight;

/* The four zlib streams a viewer inflates with: deflaters, whether each
 * was initialised, and its current zlib level. */
typedef struct vnc_tight_streams {
   z_stream *zs;
   int8_t *active;
   int *level;
} vnc_tight_streams;

/* An encoder with streams of its own (freed with it). */
vnc_tight *vnc_tight_new(void);
/* An encoder on streams someone else owns and frees: libvncserver's for
 * the viewer (cl->zsStruct, zsActive, zsLevel), so that rectangles from
 * either encoder can follow each other on one connection -- the viewer has
 * one inflater per stream id and sees one continuous stream. The streams
 * are initialised the way libvncserver does (deflateInit2 with MAX_WBITS,
 * MAX_MEM_LEVEL, the default strategy). */
vnc_tight *vnc_tight_new_shared(vnc_tight_streams streams);
void vnc_tight_free(vnc_tight *t);

/* Converts w x h XRGB pixels (rows stride bytes apart) to the viewer's
 * format, bpp bytes a pixel, rows packed. */
typedef void (*vnc_tight_translate_fn)(void *opaque, const uint32_t *src, size_t stride,
                                       uint8_t *dst, unsigned w, unsigned h);

typedef struct vnc_tight_format {
   unsigned bpp;                      /* 3: TPIXEL; 1, 2 or 4: translate */
   vnc_tight_translate_fn translate;  /* for bpp 1, 2, 4 */
   void *opaque;
} vnc_tight_format;

/* Encode w x h pixels (rows stride bytes apart) at compression level 0-9
 * (the viewer's CompressLevel pseudo-encoding) and append the body to
 * out. w, h >= 1, w <= VNC_TIGHT_MAX_WIDTH, w * h <= VNC_TIGHT_MAX_AREA.
 * False only when zlib fails (out of memory). */
bool vnc_tight_encode(vnc_tight *t, const uint32_t *px, size_t stride, unsigned w, unsigned h,
                      const vnc_tight_format *fmt, unsigned level, GByteArray *out);

/* Rows per piece when a rectangle w wide is cut for Tight. */
unsigned vnc_tight_rows_per_piece(unsigned w);

#endif
