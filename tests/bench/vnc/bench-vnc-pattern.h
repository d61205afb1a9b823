/*
 * tests/bench/vnc/bench-vnc-pattern.h - what the VNC benchmark's guest
 * (bench-vnc-guest.c) draws and its client (bench-vnc.c) reads back: the
 * frame counter stamped into every animation frame, and the colours of the
 * key-latency screens. Both include this file. Freestanding: <stdint.h>
 * only, no library calls.
 *
 * Pixels are 0x00RRGGBB.
 *
 * Frame stamp: the animation's taskbar (the top BENCH_VNC_BAR_H rows)
 * carries the guest's frame number as BENCH_VNC_STAMP_BITS cells of
 * BENCH_VNC_STAMP_CELL x BENCH_VNC_STAMP_CELL pixels, most significant bit
 * first, left to right, ending BENCH_VNC_STAMP_MARGIN pixels from the right
 * edge: a set bit is BENCH_VNC_STAMP_ON, a clear one BENCH_VNC_STAMP_OFF.
 * Like a clock in a real taskbar, it is a small area of flat detail.
 *
 * Key-latency screens: the guest starts with the whole screen in
 * bench_vnc_key_colour(0) and, for the n-th key press it reads, fills the
 * whole screen with bench_vnc_key_colour(n). Consecutive colours always
 * differ.
 */
#ifndef BENCH_VNC_PATTERN_H
#define BENCH_VNC_PATTERN_H

#include <stdint.h>

/* Mode limits the guest accepts (bench.w / bench.h) and the default. */
#define BENCH_VNC_MIN_W 800u
#define BENCH_VNC_MIN_H 600u
#define BENCH_VNC_MAX_W 1920u
#define BENCH_VNC_MAX_H 1200u
#define BENCH_VNC_DEF_W 1024u
#define BENCH_VNC_DEF_H 768u

#define BENCH_VNC_BAR_H 24u
#define BENCH_VNC_STAMP_BITS 32u
#define BENCH_VNC_STAMP_CELL 8u
#define BENCH_VNC_STAMP_MARGIN 8u
#define BENCH_VNC_STAMP_Y 8u
#define BENCH_VNC_STAMP_ON 0xe8e8e8u
#define BENCH_VNC_STAMP_OFF 0x3c4650u

/* Left edge of the stamp on a screen w pixels wide. */
static inline uint32_t bench_vnc_stamp_x(uint32_t w)
{
   return w - BENCH_VNC_STAMP_MARGIN - BENCH_VNC_STAMP_BITS * BENCH_VNC_STAMP_CELL;
}

/* The colour of key-latency screen n. */
static inline uint32_t bench_vnc_key_colour(uint32_t n)
{
   uint32_t h = n * 0x9e3779b1u;

   h ^= h >> 15;
   h *= 0x85ebca6bu;
   h ^= h >> 13;
   /* never black or white, and never the previous screen's colour: the
    * low bit of green is n's parity */
   return ((h & 0xfefefeu) | 0x101010u) ^ (n & 1u) << 8;
}

#endif
