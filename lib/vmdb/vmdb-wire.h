/*
 * lib/vmdb/vmdb-wire.h - the VMDB pipe's message format.
 *
 * A frame is a 32-bit little-endian body length followed by the body. The
 * body starts with a one-byte message type:
 *   HELLO       u32 magic "VMDB", u16 version, str16 subtree
 *   SYNC_BEGIN  -                (the full sync of the subtree follows)
 *   SYNC_END    -
 *   TXN         u32 count, count x item: u8 kind (1 set, 2 remove),
 *               str16 path, and for a set a value
 *   ERROR       str16 message
 * str16 is a u16 length and bytes; a value is a u8 type then: string u32
 * length and bytes, int i64, bool u8 (0 or 1). Every length is checked and
 * nothing may follow the last field.
 */
#ifndef VMWS_VMDB_WIRE_H
#define VMWS_VMDB_WIRE_H

#include "lib/vmdb/vmdb.h"

#define VMDB_WIRE_MAGIC 0x42444d56u /* "VMDB" */
#define VMDB_WIRE_VERSION 1
#define VMDB_WIRE_FRAME_MAX (16u << 20)
#define VMDB_WIRE_TXN_MAX 100000u

typedef enum vmdb_msg_type {
   VMDB_MSG_HELLO = 1,
   VMDB_MSG_SYNC_BEGIN = 2,
   VMDB_MSG_SYNC_END = 3,
   VMDB_MSG_TXN = 4,
   VMDB_MSG_ERROR = 5,
} vmdb_msg_type;

typedef struct vmdb_wire_item {
   bool remove;
   char *path;
   vmdb_value value;
} vmdb_wire_item;

typedef struct vmdb_msg {
   vmdb_msg_type type;
   uint16_t version;
   char *text;              /* HELLO subtree, ERROR message */
   GArray *items;           /* vmdb_wire_item, for TXN */
} vmdb_msg;

/* Decode one frame body. Returns false with *err set on any malformed
 * input; never reads outside [body, body + len). */
bool vmdb_wire_decode(const uint8_t *body, size_t len, vmdb_msg *msg, char **err);
void vmdb_msg_clear(vmdb_msg *msg);

/* Encoders append one whole frame (length prefix included) to out. */
void vmdb_wire_hello(GByteArray *out, const char *subtree);
void vmdb_wire_simple(GByteArray *out, vmdb_msg_type type);
void vmdb_wire_error(GByteArray *out, const char *message);
/* A TXN frame is built in steps: begin, add items, end. */
size_t vmdb_wire_txn_begin(GByteArray *out);
void vmdb_wire_txn_set(GByteArray *out, const char *path, const vmdb_value *v);
void vmdb_wire_txn_remove(GByteArray *out, const char *path);
void vmdb_wire_txn_end(GByteArray *out, size_t start, uint32_t count);

#endif
