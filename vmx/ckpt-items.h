/*
 * vmx/ckpt-items.h - typed, named checkpoint items.
 *
 * Every device saves its modelled hardware state as a section of items,
 * each a (tag, type, value). Order does not matter; a reader looks items up
 * by tag, so items can be added in later versions (missing ones keep the
 * device's default) and unknown ones are skipped. The section encoding is
 * what the checkpoint file stores per device:
 *
 *   section: u16 name length, name, u32 version, u32 item count, items
 *   item:    u16 tag length, tag, u8 type, u32 value length, value
 *   values:  little-endian integers (U8, U16, U32, U64), raw BYTES
 *
 * Everything read is checked: a truncated or malformed section, a duplicate
 * tag, a value whose length does not fit its type all refuse the section
 * with a message that names the section and the tag.
 */
#ifndef VMX_CKPT_ITEMS_H
#define VMX_CKPT_ITEMS_H

#include <glib.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum ckpt_type {
   CKPT_U8 = 1,
   CKPT_U16 = 2,
   CKPT_U32 = 3,
   CKPT_U64 = 4,
   CKPT_BYTES = 5,
} ckpt_type;

typedef struct ckpt_writer ckpt_writer;
typedef struct ckpt_reader ckpt_reader;

ckpt_writer *ckpt_writer_new(const char *section, uint32_t version);
void ckpt_put_u8(ckpt_writer *w, const char *tag, uint8_t v);
void ckpt_put_u16(ckpt_writer *w, const char *tag, uint16_t v);
void ckpt_put_u32(ckpt_writer *w, const char *tag, uint32_t v);
void ckpt_put_u64(ckpt_writer *w, const char *tag, uint64_t v);
void ckpt_put_bytes(ckpt_writer *w, const char *tag, const void *p, size_t n);
/* The encoded section; the writer is freed. */
GBytes *ckpt_writer_finish(ckpt_writer *w);

/* Parse one encoded section from [p, p+len); *used gets its length. */
ckpt_reader *ckpt_reader_new(const void *p, size_t len, size_t *used, char **err);
void ckpt_reader_free(ckpt_reader *r);
const char *ckpt_reader_section(const ckpt_reader *r);
uint32_t ckpt_reader_version(const ckpt_reader *r);
/* Getters: true and *v set when the tag exists with the right type; false
 * when it is missing (the caller keeps its default). A tag present with the
 * wrong type or size is an error recorded in the reader (see
 * ckpt_reader_error) and also returns false. */
bool ckpt_get_u8(ckpt_reader *r, const char *tag, uint8_t *v);
bool ckpt_get_u16(ckpt_reader *r, const char *tag, uint16_t *v);
bool ckpt_get_u32(ckpt_reader *r, const char *tag, uint32_t *v);
bool ckpt_get_u64(ckpt_reader *r, const char *tag, uint64_t *v);
/* Exactly n bytes, or false (a size mismatch is an error). */
bool ckpt_get_bytes(ckpt_reader *r, const char *tag, void *p, size_t n);
/* Any length: returns a pointer into the reader's data. */
const void *ckpt_get_blob(ckpt_reader *r, const char *tag, size_t *n);
/* NULL when every get so far was well-formed. */
const char *ckpt_reader_error(const ckpt_reader *r);

#endif
