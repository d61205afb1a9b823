/*
 * mks/console/screenshot.h - a framebuffer to a PNG file.
 *
 * The file is written the way files a user cares about are written here:
 * a temporary file in the same folder (PATH.tmp-PID-N, created with
 * O_EXCL and mode 0666 minus the umask), fsync, rename over PATH, fsync of
 * the folder. A failure at any step removes the temporary file and leaves
 * PATH as it was.
 */
#ifndef MKS_CONSOLE_SCREENSHOT_H
#define MKS_CONSOLE_SCREENSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest width or height accepted (PNG allows more; no display has
 * it, and it keeps every size computation far from overflow). */
#define MKS_SCREENSHOT_MAX_DIM 32768u

/* Write width x height pixels of XRGB8888 (a little-endian uint32_t per
 * pixel, 0xXXRRGGBB; the X byte is ignored), stride bytes from one row to
 * the next, to path as an 8-bit RGB PNG. False with *err ("PATH: reason")
 * on failure. */
bool mks_screenshot_png(const char *path, const void *pixels, unsigned width, unsigned height,
                        size_t stride, char **err);

#endif
