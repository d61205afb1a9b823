/*
 * tests/fuzz/fuzz-common.h - shared bits of the libFuzzer targets.
 */
#ifndef VMWS_FUZZ_COMMON_H
#define VMWS_FUZZ_COMMON_H

#include <glib.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A property the target checks does not hold: say which and crash, so
 * libFuzzer keeps the input as a crash artifact. */
static void fuzz_fail(const char *fmt, ...) G_GNUC_PRINTF(1, 2) G_GNUC_NORETURN;

static void
fuzz_fail(const char *fmt, ...)
{
   va_list ap;
   va_start(ap, fmt);
   fputs("FUZZ PROPERTY VIOLATED: ", stderr);
   vfprintf(stderr, fmt, ap);
   fputc('\n', stderr);
   va_end(ap);
   abort();
}

/*
 * GLib 2.74's GSlice keeps freed blocks in its own magazines, which hides
 * use-after-free and leaks from AddressSanitizer. Make it use malloc by
 * re-executing once with G_SLICE=always-malloc (GSlice reads it at start).
 */
static inline void
fuzz_glib_use_malloc(char **argv)
{
   if (!getenv("G_SLICE")) {
      setenv("G_SLICE", "always-malloc", 1);
      setenv("G_DEBUG", "gc-friendly", 0);
      execv("/proc/self/exe", argv);
      /* Could not re-exec: go on, with weaker leak checks. */
   }
}

#endif
