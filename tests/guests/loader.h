/*
 * tests/guests/loader.h - loads a multiboot (v1) or PVH image into guest RAM
 * for the guest test kit's runner. Every offset, size and address taken from
 * the image is checked against the file and against the RAM ranges given.
 */
#ifndef GUEST_LOADER_H
#define GUEST_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Usable RAM ranges an image may be loaded into (the runner reports the same
 * ranges to the guest). */
typedef struct guest_ram_range {
   uint64_t base, size;
} guest_ram_range;

typedef struct guest_image {
   bool has_multiboot;        /* a valid multiboot header was found */
   uint32_t mb_flags;
   uint32_t mb_entry;         /* multiboot entry (ELF e_entry or entry_addr) */
   bool has_pvh;              /* an XEN_ELFNOTE_PHYS32_ENTRY note was found */
   uint32_t pvh_entry;
   uint64_t lo, hi;           /* guest-physical extent of what was loaded */
} guest_image;

/* Finds the multiboot header, loads the image (ELF32/ELF64 program headers,
 * or the header's address fields when flag 16 is set) into ram (guest
 * physical 0 .. ram_size) and finds the entry points. Only [ranges] may be
 * written. Returns 0, or -1 with a sentence in err. */
int guest_image_load(const uint8_t *file, size_t size, uint8_t *ram, uint64_t ram_size,
                     const guest_ram_range *ranges, unsigned nranges, guest_image *img,
                     char *err, size_t errlen);

#endif
