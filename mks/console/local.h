/*
 * mks/console/local.h - the VM's local console: a shared-memory surface
 * for the GTK UI (and tests) on the same host, with damage, cursor and
 * mode messages over a Unix socket and input events coming back.
 * cui/mksclient.h is the client side.
 *
 * ---- Connection
 *
 * The server listens on a Unix stream socket at a path the caller gives
 * (normally in the per-user runtime directory of the VM). The socket file
 * is made owner-only (0600) before the server listens, and every peer's
 * uid (SO_PEERCRED) must be the server's effective uid; other peers are
 * refused with a log line. At most MKS_LOCAL_MAX_CLIENTS clients at once;
 * more get a BYE naming the reason and are closed. A stale socket file
 * left by a dead server is replaced; a live one (something accepts on it)
 * or a file that is not a socket makes mks_local_new() fail.
 *
 * ---- Wire format (protocol version 1)
 *
 * Every message is a 12-byte header and a payload. All fields are
 * little-endian; there is no padding:
 *
 *   u32 magic     MKS_LOCAL_MAGIC ("VMKS" as bytes on the wire)
 *   u16 version   MKS_LOCAL_VERSION
 *   u16 type      MKS_LOCAL_MSG_*
 *   u32 length    payload bytes that follow the header
 *
 * Server to client:
 *
 *   HELLO (1), MODE (2)   the surface, with its memfd attached (SCM_RIGHTS,
 *                         exactly one descriptor, carried with the first
 *                         byte of the message). 24 bytes:
 *                           u32 width, height   pixels, 1..MKS_LOCAL_MAX_DIM
 *                           u32 stride          bytes per row, >= 4 * width,
 *                                               a multiple of 4
 *                           u32 format          MKS_LOCAL_FORMAT_XRGB8888
 *                           u32 serial          frame serial (see ACK)
 *                           u32 flags           0
 *                         The memfd holds at least stride * height bytes,
 *                         is sealed against shrinking and growing (and,
 *                         where the kernel can, against writes through
 *                         new mappings: map it PROT_READ, MAP_SHARED).
 *                         HELLO is the first message of a connection; MODE
 *                         replaces the surface after a mode change. Both
 *                         mean "everything changed". The server writes the
 *                         picture into the surface as the guest draws, so
 *                         reading it may show a frame in the making; the
 *                         next DAMAGE names what changed.
 *   DAMAGE (3)            u32 serial, u32 count (1..MKS_LOCAL_MAX_RECTS),
 *                         then count times u32 x, y, w, h: rectangles of the
 *                         current surface (w, h > 0, inside the surface)
 *                         that changed. length = 8 + 16 * count.
 *   CURSOR_SHAPE (4)      u32 width, height (1..MKS_LOCAL_CURSOR_MAX),
 *                         u32 hot_x < width, hot_y < height, u32 flags
 *                         (MKS_LOCAL_CURSOR_PREMULTIPLIED or 0), then
 *                         width * height u32 pixels 0xAARRGGBB, rows packed.
 *                         length = 20 + 4 * width * height.
 *   CURSOR_POS (5)        i32 x, i32 y (the hot spot in surface pixels),
 *                         u32 visible (0 or 1). 12 bytes.
 *   BYE (6)               0..MKS_LOCAL_MAX_REASON bytes of UTF-8 text: why
 *                         the server is closing the connection.
 *
 * Client to server:
 *
 *   KEY (0x41)            u32 keysym (X11, 0 = none, < 0x20000000),
 *                         u32 keycode (Linux evdev KEY_*, 0 = none,
 *                         <= MKS_LOCAL_MAX_KEYCODE), u32 down (0 or 1).
 *                         At least one of keysym and keycode is set; the
 *                         MKS prefers the key code when both are.
 *   POINTER_ABS (0x42)    i32 x, i32 y (surface pixels; clamped to the
 *                         surface), u32 buttons (MKS_BUTTON_* held, nothing
 *                         else), i32 dz, i32 dw (wheel clicks since the last
 *                         event, |value| <= MKS_LOCAL_MAX_WHEEL, dz > 0 up,
 *                         dw > 0 right). 20 bytes.
 *   ACK (0x43)            u32 serial: the client has taken the frame (HELLO,
 *                         MODE or DAMAGE) with that serial and is ready for
 *                         the next. 4 bytes.
 *
 * Not watched. A producer may stop copying pixels while nobody is connected
 * (mks_local_invalidate); the surface then no longer shows the screen, and
 * a client that connects gets its HELLO (or MODE) only once an update has
 * covered the whole surface again, which the server asks the producer for
 * (the refresh callback). Clients never see a stale picture.
 *
 * Flow control. The server has at most one frame (HELLO, MODE or DAMAGE)
 * outstanding per client: after sending one it sends no further frame to
 * that client until the client ACKs it with its serial. Serials count up
 * by one per frame from the HELLO's, per connection. Meanwhile damage
 * is merged into at most MKS_LOCAL_MAX_RECTS rectangles per client (nearby
 * ones become their bounding box) and mode changes into the latest mode.
 * Cursor messages are not acknowledged; only the latest shape and position
 * are sent, and only once the client has read what was queued before, so
 * nothing is queued without bound for a client that stops reading.
 *
 * The server checks every field of every client message: a bad magic or
 * version, an unknown type, a length that does not fit the type, a field
 * out of range, an ACK that names no outstanding frame, or descriptors
 * sent to the server get the client a BYE, a log line and a disconnect;
 * other clients and the server are not affected.
 *
 * ---- Threads
 *
 * The server owns one thread ("mks-local") that runs a poll() loop over
 * the listening socket, the clients and a wake-up eventfd; every socket is
 * non-blocking. Producers (the MKS thread, or any thread) call set_mode /
 * update / cursor functions, which copy into the shared surface or the
 * server's state under a mutex and wake the thread; they never wait for a
 * client (only for the short copy another producer or the server thread
 * may be making under the same mutex). Input callbacks run on the server
 * thread with no lock held; they may call the feeding functions below
 * (not mks_local_free).
 */
#ifndef MKS_CONSOLE_LOCAL_H
#define MKS_CONSOLE_LOCAL_H

#include "mks/console/buttons.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- protocol constants (shared with cui/mksclient.c) */

#define MKS_LOCAL_MAGIC 0x534b4d56u   /* bytes 'V' 'M' 'K' 'S' */
#define MKS_LOCAL_VERSION 1u
#define MKS_LOCAL_HEADER_SIZE 12u

enum {
   MKS_LOCAL_MSG_HELLO = 1,
   MKS_LOCAL_MSG_MODE = 2,
   MKS_LOCAL_MSG_DAMAGE = 3,
   MKS_LOCAL_MSG_CURSOR_SHAPE = 4,
   MKS_LOCAL_MSG_CURSOR_POS = 5,
   MKS_LOCAL_MSG_BYE = 6,
   MKS_LOCAL_MSG_KEY = 0x41,
   MKS_LOCAL_MSG_POINTER_ABS = 0x42,
   MKS_LOCAL_MSG_ACK = 0x43,
};

#define MKS_LOCAL_FORMAT_XRGB8888 1u
#define MKS_LOCAL_CURSOR_PREMULTIPLIED 0x1u

#define MKS_LOCAL_MAX_DIM 8192u        /* surface width and height limit */
#define MKS_LOCAL_CURSOR_MAX 256u      /* cursor width and height limit */
#define MKS_LOCAL_MAX_RECTS 16u        /* rectangles in one DAMAGE */
#define MKS_LOCAL_MAX_REASON 256u      /* BYE text */
#define MKS_LOCAL_MAX_KEYCODE 0x2ffu   /* KEY_MAX */
#define MKS_LOCAL_MAX_KEYSYM 0x1fffffffu
#define MKS_LOCAL_MAX_WHEEL 64
#define MKS_LOCAL_MAX_CLIENTS 8u

#define MKS_LOCAL_SURFACE_SIZE 24u
#define MKS_LOCAL_KEY_SIZE 12u
#define MKS_LOCAL_POINTER_SIZE 20u
#define MKS_LOCAL_ACK_SIZE 4u
#define MKS_LOCAL_CURSOR_POS_SIZE 12u
#define MKS_LOCAL_CURSOR_HDR_SIZE 20u
/* The largest message either side sends. */
#define MKS_LOCAL_MAX_MSG \
   (MKS_LOCAL_HEADER_SIZE + MKS_LOCAL_CURSOR_HDR_SIZE + \
    4u * MKS_LOCAL_CURSOR_MAX * MKS_LOCAL_CURSOR_MAX)

/* ---- the server */

typedef struct mks_local mks_local;

/* Input from clients, called on the server thread. key: keysym (X11, 0 if
 * none) and keycode (Linux KEY_*, 0 if none) going down or up; feed
 * mks_keyinput_key with the code when there is one, else
 * mks_keyinput_keysym. pointer: absolute position in surface pixels
 * (clamped to the current mode), MKS_BUTTON_* held, wheel clicks. When a
 * client disconnects, releases are sent for the keys and buttons it still
 * held. refresh: after mks_local_invalidate(), a client waits for the
 * picture: the producer should soon call mks_local_update() over the whole
 * surface (asked once per invalidation). Any may be NULL. */
typedef struct mks_local_input {
   void (*key)(void *opaque, uint32_t keysym, uint32_t keycode, bool down);
   void (*pointer)(void *opaque, int x, int y, unsigned buttons, int dz, int dw);
   void *opaque;
   void (*refresh)(void *opaque);
} mks_local_input;

/* Listen on socket_path (its directory must exist and should be private
 * to the user). The surface starts as 640x480 black with no cursor. NULL
 * with *err when the socket cannot be made. */
mks_local *mks_local_new(const char *socket_path, const mks_local_input *in, char **err);
/* Send every client a BYE, release what they held through the callbacks
 * (on the calling thread), stop the thread, remove the socket file, free.
 * Free it before the devices the callbacks feed. NULL is ignored. */
void mks_local_free(mks_local *l);

const char *mks_local_path(const mks_local *l);

/* The guest changed mode: width x height pixels (1..MKS_LOCAL_MAX_DIM),
 * black until updated. A new memfd; clients get it as MODE. Out of range
 * sizes (or no memory) keep the old mode, with a log line. */
void mks_local_set_mode(mks_local *l, unsigned width, unsigned height);
/* Copy the rectangle (x, y, w, h) of a framebuffer of the current mode
 * into the surface and mark it changed. fb points at the framebuffer's
 * pixel (0, 0), stride bytes per row. The rectangle is clipped to the
 * mode; fb must cover the clipped rectangle. */
void mks_local_update(mks_local *l, const void *fb, size_t stride, unsigned x, unsigned y,
                      unsigned w, unsigned h);

/* The producer stops copying pixels for now (mks_local_client_count() said
 * 0: nobody would see them). Clients that connect from now on wait for
 * their surface until an mks_local_update() covers all of it (the refresh
 * callback asks for one). */
void mks_local_invalidate(mks_local *l);

/* The guest's cursor: width x height ARGB pixels (0xAARRGGBB), hot spot in
 * it; it becomes visible. Cursors over MKS_LOCAL_CURSOR_MAX either way
 * are cropped around the hot spot. The pixels go to clients as they are,
 * with the premultiplied flag. NULL or 0 x 0 hides the cursor. */
void mks_local_set_cursor(mks_local *l, const uint32_t *argb, unsigned width, unsigned height,
                          unsigned hot_x, unsigned hot_y, bool premultiplied);
void mks_local_hide_cursor(mks_local *l);
/* Where the guest put its cursor's hot spot. */
void mks_local_move_cursor(mks_local *l, int x, int y);

/* Clients connected now. */
unsigned mks_local_client_count(mks_local *l);

typedef struct mks_local_stats {
   uint64_t clients;          /* connections accepted */
   uint64_t refused;          /* refused: too many, wrong uid */
   uint64_t protocol_errors;  /* clients dropped for a bad message */
   uint64_t frames;           /* HELLO, MODE and DAMAGE messages sent */
   uint64_t rects;            /* rectangles in DAMAGE messages */
   uint64_t cursor_shapes;    /* CURSOR_SHAPE messages sent */
   uint64_t bytes;            /* bytes sent */
   uint64_t max_queued;       /* most bytes ever queued for one client */
} mks_local_stats;
void mks_local_get_stats(mks_local *l, mks_local_stats *out);

/* ---- the server's message parser (exposed for tests and fuzzing) */

typedef struct mks_local_client_msg {
   uint16_t type;          /* MKS_LOCAL_MSG_KEY, _POINTER_ABS or _ACK */
   uint32_t keysym, keycode;
   bool down;
   int32_t x, y;
   uint32_t buttons;
   int32_t dz, dw;
   uint32_t serial;
} mks_local_client_msg;

/* Parse one client message from the start of buf. Returns the bytes it
 * takes (> 0) and fills *out; 0 when buf holds only part of a message that
 * may still be valid; -1 when it is malformed, with *why saying how (a
 * static string). Never reads beyond buf[len - 1]. */
long mks_local_parse_client(const uint8_t *buf, size_t len, mks_local_client_msg *out,
                            const char **why);

#endif
