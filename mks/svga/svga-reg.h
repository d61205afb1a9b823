/*
 * mks/svga/svga-reg.h - the guest-visible interface of VMware's SVGA II
 * device: register indices, capability bits, FIFO registers, command IDs
 * and command layouts, as VMware's published SVGA documentation and the
 * Linux vmwgfx driver headers number them. Only numbers the device model
 * uses are listed. All structures are little-endian, packed 32-bit words.
 */
#ifndef MKS_SVGA_SVGA_REG_H
#define MKS_SVGA_SVGA_REG_H

#include <stdint.h>

/* ---- PCI identity */
#define SVGA_PCI_VENDOR 0x15ad
#define SVGA_PCI_DEVICE 0x0405
#define SVGA_PCI_CLASS 0x030000   /* display controller, VGA compatible */

/* ---- version negotiation through SVGA_REG_ID */
#define SVGA_MAGIC 0x900000u
#define SVGA_MAKE_ID(v) ((SVGA_MAGIC << 8) | (v))
#define SVGA_ID_0 SVGA_MAKE_ID(0)
#define SVGA_ID_1 SVGA_MAKE_ID(1)
#define SVGA_ID_2 SVGA_MAKE_ID(2)
#define SVGA_ID_INVALID 0xffffffffu

/* ---- BAR0 port offsets */
#define SVGA_INDEX_PORT 0x0
#define SVGA_VALUE_PORT 0x1
#define SVGA_BIOS_PORT 0x2
#define SVGA_IRQSTATUS_PORT 0x8

/* ---- interrupt sources (IRQSTATUS port, IRQMASK register) */
#define SVGA_IRQFLAG_ANY_FENCE 0x1
#define SVGA_IRQFLAG_FIFO_PROGRESS 0x2
#define SVGA_IRQFLAG_FENCE_GOAL 0x4
#define SVGA_IRQFLAG_ERROR 0x10
#define SVGA_IRQFLAG_ALL 0x17u

/* ---- SVGA_REG_ENABLE bits */
#define SVGA_REG_ENABLE_ENABLE 1u
#define SVGA_REG_ENABLE_HIDE 2u

/* ---- registers (index written to the index port) */
enum {
   SVGA_REG_ID = 0,
   SVGA_REG_ENABLE = 1,
   SVGA_REG_WIDTH = 2,
   SVGA_REG_HEIGHT = 3,
   SVGA_REG_MAX_WIDTH = 4,
   SVGA_REG_MAX_HEIGHT = 5,
   SVGA_REG_DEPTH = 6,
   SVGA_REG_BITS_PER_PIXEL = 7,
   SVGA_REG_PSEUDOCOLOR = 8,
   SVGA_REG_RED_MASK = 9,
   SVGA_REG_GREEN_MASK = 10,
   SVGA_REG_BLUE_MASK = 11,
   SVGA_REG_BYTES_PER_LINE = 12,
   SVGA_REG_FB_START = 13,
   SVGA_REG_FB_OFFSET = 14,
   SVGA_REG_VRAM_SIZE = 15,
   SVGA_REG_FB_SIZE = 16,
   SVGA_REG_ID_0_TOP = 17,     /* SVGA_ID_0 has only the registers below this */
   SVGA_REG_CAPABILITIES = 17,
   SVGA_REG_MEM_START = 18,
   SVGA_REG_MEM_SIZE = 19,
   SVGA_REG_CONFIG_DONE = 20,
   SVGA_REG_SYNC = 21,
   SVGA_REG_BUSY = 22,
   SVGA_REG_GUEST_ID = 23,
   SVGA_REG_CURSOR_ID = 24,
   SVGA_REG_CURSOR_X = 25,
   SVGA_REG_CURSOR_Y = 26,
   SVGA_REG_CURSOR_ON = 27,
   SVGA_REG_HOST_BITS_PER_PIXEL = 28,
   SVGA_REG_SCRATCH_SIZE = 29,
   SVGA_REG_MEM_REGS = 30,
   SVGA_REG_NUM_DISPLAYS = 31,
   SVGA_REG_PITCHLOCK = 32,
   SVGA_REG_IRQMASK = 33,
   SVGA_REG_NUM_GUEST_DISPLAYS = 34,
   SVGA_REG_DISPLAY_ID = 35,
   SVGA_REG_DISPLAY_IS_PRIMARY = 36,
   SVGA_REG_DISPLAY_POSITION_X = 37,
   SVGA_REG_DISPLAY_POSITION_Y = 38,
   SVGA_REG_DISPLAY_WIDTH = 39,
   SVGA_REG_DISPLAY_HEIGHT = 40,
   SVGA_REG_GMR_ID = 41,
   SVGA_REG_GMR_DESCRIPTOR = 42,
   SVGA_REG_GMR_MAX_IDS = 43,
   SVGA_REG_GMR_MAX_DESCRIPTOR_LENGTH = 44,
   SVGA_REG_TRACES = 45,
   SVGA_REG_GMRS_MAX_PAGES = 46,
   SVGA_REG_MEMORY_SIZE = 47,
   SVGA_REG_COMMAND_LOW = 48,
   SVGA_REG_COMMAND_HIGH = 49,
   SVGA_REG_MAX_PRIMARY_MEM = 50,  /* MAX_PRIMARY_BOUNDING_BOX_MEM */
   SVGA_REG_SUGGESTED_GBOBJECT_MEM_SIZE_KB = 51,
   SVGA_REG_DEV_CAP = 52,
   SVGA_REG_TOP = 53,              /* registers at and above read as 0 */
   SVGA_PALETTE_BASE = 1024,       /* 256 x (red, green, blue) */
   SVGA_SCRATCH_BASE = 1024 + 768,
};

/* ---- SVGA_REG_CAPABILITIES bits */
#define SVGA_CAP_RECT_COPY 0x00000002u
#define SVGA_CAP_CURSOR 0x00000020u
#define SVGA_CAP_CURSOR_BYPASS 0x00000040u
#define SVGA_CAP_CURSOR_BYPASS_2 0x00000080u
#define SVGA_CAP_8BIT_EMULATION 0x00000100u
#define SVGA_CAP_ALPHA_CURSOR 0x00000200u
#define SVGA_CAP_3D 0x00004000u
#define SVGA_CAP_EXTENDED_FIFO 0x00008000u
#define SVGA_CAP_MULTIMON 0x00010000u
#define SVGA_CAP_PITCHLOCK 0x00020000u
#define SVGA_CAP_IRQMASK 0x00040000u
#define SVGA_CAP_DISPLAY_TOPOLOGY 0x00080000u
#define SVGA_CAP_GMR 0x00100000u
#define SVGA_CAP_TRACES 0x00200000u
#define SVGA_CAP_GMR2 0x00400000u
#define SVGA_CAP_SCREEN_OBJECT_2 0x00800000u

/* ---- FIFO registers (32-bit word indices into FIFO memory) */
enum {
   SVGA_FIFO_MIN = 0,
   SVGA_FIFO_MAX = 1,
   SVGA_FIFO_NEXT_CMD = 2,
   SVGA_FIFO_STOP = 3,
   SVGA_FIFO_CAPABILITIES = 4,
   SVGA_FIFO_FLAGS = 5,
   SVGA_FIFO_FENCE = 6,
   SVGA_FIFO_3D_HWVERSION = 7,
   SVGA_FIFO_PITCHLOCK = 8,
   SVGA_FIFO_CURSOR_ON = 9,
   SVGA_FIFO_CURSOR_X = 10,
   SVGA_FIFO_CURSOR_Y = 11,
   SVGA_FIFO_CURSOR_COUNT = 12,
   SVGA_FIFO_CURSOR_LAST_UPDATED = 13,
   SVGA_FIFO_RESERVED = 14,
   SVGA_FIFO_CURSOR_SCREEN_ID = 15,
   SVGA_FIFO_DEAD = 16,
   SVGA_FIFO_3D_HWVERSION_REVISED = 17,
   SVGA_FIFO_3D_CAPS = 32,
   SVGA_FIFO_3D_CAPS_LAST = 32 + 255,
   SVGA_FIFO_GUEST_3D_HWVERSION = 288,
   SVGA_FIFO_FENCE_GOAL = 289,
   SVGA_FIFO_BUSY = 290,
   SVGA_FIFO_NUM_REGS = 291,
};

/* ---- SVGA_FIFO_CAPABILITIES bits */
#define SVGA_FIFO_CAP_FENCE (1u << 0)
#define SVGA_FIFO_CAP_ACCELFRONT (1u << 1)
#define SVGA_FIFO_CAP_PITCHLOCK (1u << 2)
#define SVGA_FIFO_CAP_VIDEO (1u << 3)
#define SVGA_FIFO_CAP_CURSOR_BYPASS_3 (1u << 4)
#define SVGA_FIFO_CAP_ESCAPE (1u << 5)
#define SVGA_FIFO_CAP_RESERVE (1u << 6)
#define SVGA_FIFO_CAP_SCREEN_OBJECT (1u << 7)
#define SVGA_FIFO_CAP_GMR2 (1u << 8)
#define SVGA_FIFO_CAP_3D_HWVERSION_REVISED SVGA_FIFO_CAP_GMR2
#define SVGA_FIFO_CAP_SCREEN_OBJECT_2 (1u << 9)
#define SVGA_FIFO_CAP_DEAD (1u << 10)

/* ---- cursor bypass 2 register values */
#define SVGA_CURSOR_ON_HIDE 0
#define SVGA_CURSOR_ON_SHOW 1
#define SVGA_CURSOR_ON_REMOVE_FROM_FB 2
#define SVGA_CURSOR_ON_RESTORE_TO_FB 3

/* ---- special GMR IDs */
#define SVGA_GMR_NULL 0xffffffffu
#define SVGA_GMR_FRAMEBUFFER 0xfffffffeu

/* ---- screen object flags */
#define SVGA_SCREEN_MUST_BE_SET (1u << 0)
#define SVGA_SCREEN_IS_PRIMARY (1u << 1)
#define SVGA_SCREEN_FULLSCREEN_HINT (1u << 2)
#define SVGA_SCREEN_DEACTIVATE (1u << 3)
#define SVGA_SCREEN_BLANKING (1u << 4)

/* ---- REMAP_GMR2 flags */
#define SVGA_REMAP_GMR2_VIA_GMR (1u << 0)
#define SVGA_REMAP_GMR2_PPN64 (1u << 1)
#define SVGA_REMAP_GMR2_SINGLE_PPN (1u << 2)

#define SVGA_ROP_COPY 0x03

/* ---- FIFO command IDs (2D) */
enum {
   SVGA_CMD_INVALID_CMD = 0,
   SVGA_CMD_UPDATE = 1,
   SVGA_CMD_RECT_FILL = 2,
   SVGA_CMD_RECT_COPY = 3,
   SVGA_CMD_RECT_ROP_COPY = 14,
   SVGA_CMD_DEFINE_CURSOR = 19,
   SVGA_CMD_DEFINE_ALPHA_CURSOR = 22,
   SVGA_CMD_UPDATE_VERBOSE = 25,
   SVGA_CMD_FRONT_ROP_FILL = 29,
   SVGA_CMD_FENCE = 30,
   SVGA_CMD_ESCAPE = 33,
   SVGA_CMD_DEFINE_SCREEN = 34,
   SVGA_CMD_DESTROY_SCREEN = 35,
   SVGA_CMD_DEFINE_GMRFB = 36,
   SVGA_CMD_BLIT_GMRFB_TO_SCREEN = 37,
   SVGA_CMD_BLIT_SCREEN_TO_GMRFB = 38,
   SVGA_CMD_ANNOTATION_FILL = 39,
   SVGA_CMD_ANNOTATION_COPY = 40,
   SVGA_CMD_DEFINE_GMR2 = 41,
   SVGA_CMD_REMAP_GMR2 = 42,
   SVGA_CMD_DEAD = 43,
   SVGA_CMD_DEAD_2 = 44,
   SVGA_CMD_NOP = 45,
   SVGA_CMD_NOP_ERROR = 46,
};

/* SVGA3D commands: IDs from 1000, each with an {id, size} header where
 * size is the byte length of the body that follows. */
#define SVGA_3D_CMD_BASE 1000u

/* Word counts (including the command ID word) of the fixed-size
 * commands. */
#define SVGA_CMDLEN_UPDATE 5
#define SVGA_CMDLEN_RECT_FILL 6
#define SVGA_CMDLEN_RECT_COPY 7
#define SVGA_CMDLEN_RECT_ROP_COPY 8
#define SVGA_CMDLEN_UPDATE_VERBOSE 6
#define SVGA_CMDLEN_FRONT_ROP_FILL 7
#define SVGA_CMDLEN_FENCE 2
#define SVGA_CMDLEN_DESTROY_SCREEN 2
#define SVGA_CMDLEN_DEFINE_GMRFB 5
#define SVGA_CMDLEN_BLIT 8
#define SVGA_CMDLEN_ANNOTATION_FILL 2
#define SVGA_CMDLEN_ANNOTATION_COPY 4
#define SVGA_CMDLEN_DEFINE_GMR2 3
#define SVGA_CMDLEN_REMAP_GMR2 5   /* then the PPN list or guest pointer */
#define SVGA_CMDLEN_DEFINE_CURSOR 8   /* then the AND and XOR masks */
#define SVGA_CMDLEN_DEFINE_ALPHA_CURSOR 6   /* then the BGRA image */
#define SVGA_CMDLEN_ESCAPE 3   /* then size bytes, padded to a word */

/* SVGAScreenObject: structSize, id, flags, width, height, root x, y
 * (7 words, the original layout); then the backing store (gmrId, offset,
 * pitch) and cloneCount. */
#define SVGA_SCREEN_SIZE_V1 28u
#define SVGA_SCREEN_SIZE_V2 44u

/* ---- Bochs VBE ("dispi") interface */
#define VBE_DISPI_IOPORT_INDEX 0x01ce
#define VBE_DISPI_IOPORT_DATA 0x01cf
enum {
   VBE_DISPI_INDEX_ID = 0,
   VBE_DISPI_INDEX_XRES = 1,
   VBE_DISPI_INDEX_YRES = 2,
   VBE_DISPI_INDEX_BPP = 3,
   VBE_DISPI_INDEX_ENABLE = 4,
   VBE_DISPI_INDEX_BANK = 5,
   VBE_DISPI_INDEX_VIRT_WIDTH = 6,
   VBE_DISPI_INDEX_VIRT_HEIGHT = 7,
   VBE_DISPI_INDEX_X_OFFSET = 8,
   VBE_DISPI_INDEX_Y_OFFSET = 9,
   VBE_DISPI_INDEX_VIDEO_MEMORY_64K = 10,
   VBE_DISPI_INDEX_NB = 11,
};
#define VBE_DISPI_ID0 0xb0c0
#define VBE_DISPI_ID5 0xb0c5
#define VBE_DISPI_ENABLED 0x01
#define VBE_DISPI_GETCAPS 0x02
#define VBE_DISPI_8BIT_DAC 0x20
#define VBE_DISPI_LFB_ENABLED 0x40
#define VBE_DISPI_NOCLEARMEM 0x80

#endif
