/*
 * vmx/ckpt/ckpt-file.h - the checkpoint file (suspend state, snapshots):
 * named sections of device and vCPU state plus guest memory regions, written
 * crash-safely and read back with every structure checked first.
 *
 * ---- layout (format 1.0; all integers little-endian; offsets from the
 *      start of the file) ----------------------------------------------------
 *
 * Header, 128 bytes at offset 0:
 *     0  8  magic "VMWSCKPT"
 *     8  2  format major (1): a reader refuses a newer major
 *    10  2  format minor (0): later minors only add what older readers may
 *           skip (section kinds, fields in reserved space), so they load
 *    12  4  header size (128; a later minor may grow it, up to 4096)
 *    16  4  flags: bits 0-15 must be understood (none defined: refused if
 *           set), bits 16-31 may be ignored
 *    20  4  section count (at most 65536)
 *    24  8  directory offset (8-byte aligned)
 *    32  8  directory length (section count * 64)
 *    40  8  file size: the whole file; a shorter file is truncated
 *    48 72  reserved, zero
 *   120  8  checksum: XXH3-64 of the header bytes (this field taken as
 *           zero) followed by the directory bytes
 *
 * Directory: one 64-byte entry per section:
 *     0 32  name, 1-31 bytes of [A-Za-z0-9._-], NUL-padded; unique
 *    32  4  kind (ckpt_file_kind); a reader skips kinds it does not know
 *           (after checking bounds and checksum)
 *    36  4  flags (0)
 *    40  8  offset of the section body
 *    48  8  length of the section body
 *    56  8  XXH3-64 of the section body
 *
 * Section bodies: STATE and CPU sections are stored as given (the encoding
 * of vmx/ckpt-items.h). A MEMORY section body is the region's descriptor:
 *     0  8  region size in bytes
 *     8  4  chunk size: a power of two, 4 KiB .. 64 MiB
 *    12  4  chunk count: size / chunk size rounded up (at most 2^22)
 *    16  8  raw area offset (4 KiB aligned)
 *    24  8  raw area length: size rounded up to 4 KiB
 *    32  8  packed area offset
 *    40  8  packed area length
 *    48  4  flags (0)
 *    52  4  chunk table offset in this body (64)
 *    56  8  reserved, zero
 *    64     chunk table, one 32-byte entry per chunk:
 *             0  1  kind: 0 zero, 1 raw, 2 lz4, 3 zstd
 *             1  3  reserved, zero
 *             4  4  stored length: compressed bytes (0 for zero and raw)
 *             8  8  file offset of the compressed bytes (0 for zero and raw)
 *            16  8  XXH3-64 of the chunk's memory (0 for zero chunks)
 *            24  8  XXH3-64 of the compressed bytes (0 for zero and raw),
 *                   checked before they reach the decompressor
 *   The raw area is the region's image: a raw chunk's bytes sit at raw area
 *   offset + chunk index * chunk size, its zero pages are holes (never
 *   written), and zero and compressed chunks are holes entirely, so the file
 *   is sparse and the whole area can be mapped with one mmap(). Compressed
 *   chunks (one LZ4 block or one zstd frame each, decompressing to exactly
 *   the chunk's length) lie in the packed area, in any order.
 *
 * Everything the header, directory and descriptors point at lies inside
 * the file, and no two of header, directory, section bodies, raw areas,
 * packed areas or compressed chunks overlap; ckpt_file_open() checks all of
 * it and every checksum except those of the memory contents, which
 * ckpt_file_restore_memory() checks as it decompresses and
 * ckpt_file_verify() checks for all chunks.
 *
 * Our writer puts the header first, then the sections in the order added
 * (a memory region: raw area, packed area, descriptor), the directory last.
 *
 * ---- crash safety ----------------------------------------------------------
 * The file is built in a temporary file beside the target (lib/atomicfile)
 * and renamed over it by ckpt_file_commit(): a crash or kill at any moment
 * leaves the previous file complete and loadable.
 */
#ifndef VMX_CKPT_FILE_H
#define VMX_CKPT_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CKPT_FILE_MAJOR 1
#define CKPT_FILE_MINOR 0
#define CKPT_FILE_NAME_MAX 31

typedef enum ckpt_file_kind {
   CKPT_FILE_STATE = 1,   /* device state: one or more ckpt_writer sections */
   CKPT_FILE_CPU = 2,     /* one vCPU: a ckpt_writer section (ckpt-cpu.h) */
   CKPT_FILE_MEMORY = 3,  /* a guest memory region */
} ckpt_file_kind;

typedef enum ckpt_file_compress {
   CKPT_FILE_COMPRESS_DEFAULT = 0, /* LZ4 */
   CKPT_FILE_COMPRESS_NONE = 1,
   CKPT_FILE_COMPRESS_LZ4 = 2,
   CKPT_FILE_COMPRESS_ZSTD = 3,
} ckpt_file_compress;

/* Writer options. A zeroed struct (or NULL) means the defaults.
 *
 * The defaults (LZ4, chunks stored compressed only when they shrink to a
 * quarter or less, 1 MiB chunks) are chosen for suspend, where the time to
 * resume matters most. Measured on 1 GiB of guest-like memory (40% zero
 * pages) with 2 threads: raw chunks resume in under 1 ms (they are mapped,
 * not read) but every compressed chunk is inflated before the guest runs,
 * about 0.6 ms per MiB per thread. Compressing only what shrinks 4x or more
 * (page tables, sparse kernel structures, mostly-zero chunks) keeps that
 * to ~150 ms per GiB while the file takes 499 MiB on disk; compressing
 * whatever halves (0.5) takes 367 MiB but ~400 ms; none takes 619 MiB and
 * resumes at once. Zero pages take nothing in any case. Snapshots, where
 * size matters more, can pass max_ratio 0.5 or zstd. */
typedef struct ckpt_file_opts {
   ckpt_file_compress compress;
   /* A chunk is stored compressed only when that takes at most this
    * fraction of its size; otherwise it stays raw (mapped lazily at
    * restore). 0: the default, 0.25. */
   double max_ratio;
   /* Bytes per chunk: a power of two, 4 KiB .. 64 MiB. 0: 1 MiB. */
   uint32_t chunk_size;
   /* Worker threads for memory. 0: online CPUs, at most 8. */
   unsigned threads;
   /* zstd level, 1..19. 0: 1. */
   int zstd_level;
   /* Mode of a new file. 0: 0600 (the file holds guest memory). A replaced
    * file keeps its mode. */
   mode_t mode;
} ckpt_file_opts;

/* Progress of a memory save, restore or verify: done of total bytes. Called
 * on the calling thread, about every 50 ms and once at the end. */
typedef void (*ckpt_file_progress_fn)(void *ud, uint64_t done, uint64_t total);

/* ---- writing ---------------------------------------------------------------
 *
 *   w = ckpt_file_create("vm.vmss", NULL, &err);
 *   ckpt_file_add_section(w, "cpu0", CKPT_FILE_CPU, data, len, &err);
 *   ckpt_file_add_memory(w, "ram", ram, ram_size, progress, ud, &err);
 *   ckpt_file_commit(w, &err)            or  ckpt_file_abort(w);
 *
 * Every call after a failed one fails too; commit then removes the
 * temporary file. Errors name the file. One thread at a time per writer. */
typedef struct ckpt_file_writer ckpt_file_writer;

ckpt_file_writer *ckpt_file_create(const char *path, const ckpt_file_opts *opts, char **err);
/* A STATE or CPU section (any other kind is written as given). name: 1-31
 * of [A-Za-z0-9._-], unique in the file. */
bool ckpt_file_add_section(ckpt_file_writer *w, const char *name, ckpt_file_kind kind,
                           const void *data, size_t len, char **err);
/* A memory region of size bytes at ram, scanned, compressed and written by
 * worker threads. ram is only read, and must not change during the call
 * (stop the vCPUs and device DMA first). progress may be NULL. */
bool ckpt_file_add_memory(ckpt_file_writer *w, const char *name, const void *ram, uint64_t size,
                          ckpt_file_progress_fn progress, void *ud, char **err);
/* Write the directory and header, flush, rename over the target, flush the
 * folder. Frees w. */
bool ckpt_file_commit(ckpt_file_writer *w, char **err);
/* Remove the temporary file; the target is untouched. Frees w; NULL is
 * fine. */
void ckpt_file_abort(ckpt_file_writer *w);

/* ---- reading ------------------------------------------------------------ */
typedef struct ckpt_file ckpt_file;

/* Open and check the structure: magic, version, header and directory
 * checksum, every section in bounds with its checksum, the memory
 * descriptors and chunk tables, nothing overlapping, the file size. NULL
 * with *err ("vm.vmss: section 'svga' checksum mismatch") on failure. */
ckpt_file *ckpt_file_open(const char *path, char **err);
/* The same on an open file (the fd is duplicated); name is used in
 * messages. */
ckpt_file *ckpt_file_open_fd(int fd, const char *name, char **err);
/* Closes the file. Memory mapped lazily by ckpt_file_restore_memory() stays
 * valid (the mapping holds the file). */
void ckpt_file_close(ckpt_file *f);

/* The format minor version of the file (major is always CKPT_FILE_MAJOR). */
unsigned ckpt_file_minor(const ckpt_file *f);

typedef struct ckpt_file_section_info {
   const char *name;
   uint32_t kind;         /* possibly a kind this build does not know */
   uint64_t length;
} ckpt_file_section_info;

/* Sections in directory order, including kinds this build skips. */
unsigned ckpt_file_n_sections(const ckpt_file *f);
bool ckpt_file_section_at(const ckpt_file *f, unsigned i, ckpt_file_section_info *info);

/* The checked body of a STATE or CPU section, or NULL when the file has
 * no section of that name and kind. Valid until ckpt_file_close(). */
const void *ckpt_file_section(const ckpt_file *f, const char *name, ckpt_file_kind kind,
                              size_t *len);

typedef struct ckpt_file_memory_info {
   uint64_t size;
   uint32_t chunk_size;
   uint32_t chunks;
   uint32_t zero_chunks, raw_chunks, lz4_chunks, zstd_chunks;
   uint64_t packed_bytes;   /* compressed bytes stored */
} ckpt_file_memory_info;

/* false when the file has no memory region of that name. */
bool ckpt_file_memory(const ckpt_file *f, const char *name, ckpt_file_memory_info *info);

typedef enum ckpt_file_restore_mode {
   /* Map the raw area over ram (mmap MAP_PRIVATE | MAP_FIXED, so guest
    * writes stay private and the file never changes) and let raw pages
    * fault in when first touched; zero and compressed chunks are replaced
    * by anonymous memory and the compressed ones decompressed into it by
    * worker threads. ram must be page-aligned (else this falls back to
    * COPY, as it does when the file system cannot map files).
    *
    * What the caller must know about ram afterwards:
    *  - It is no longer the memory that was there (e.g. the vmx's memfd):
    *    the memfd does not see the guest's writes and the guest does not
    *    see the memfd. Whoever reached RAM through the memfd must use the
    *    mapping instead.
    *  - On reset (or power-off and reuse), map the memfd back over the
    *    range: mmap(ram, size, PROT_READ | PROT_WRITE,
    *    MAP_SHARED | MAP_NORESERVE | MAP_FIXED, memfd, 0), after punching
    *    a hole in the memfd if it must read as zero. munmap() of the range
    *    drops the file's pages as usual.
    *  - Until then the file must not be truncated or rewritten in place
    *    (a SIGBUS on the next fault). Our writer never does that: a new
    *    checkpoint of the same path is a new file renamed over it, and the
    *    mapping keeps the old one alive.
    *  - Restore before the vCPUs first run, or call vmm_vm_notify_write()
    *    for the range afterwards; KVM memory slots over the range follow
    *    the new mapping by themselves. */
   CKPT_FILE_RESTORE_LAZY = 0,
   /* Read everything into ram now (pread, decompress), checking every
    * chunk's checksum. */
   CKPT_FILE_RESTORE_COPY = 1,
} ckpt_file_restore_mode;

/* Put memory region name into [ram, ram + size); size must be the region's.
 * Compressed chunks are checked (exact length, checksum) as they are
 * decompressed; raw chunks are checked only in COPY mode. On failure (*err
 * set) the contents of ram are undefined. progress may be NULL. */
bool ckpt_file_restore_memory(ckpt_file *f, const char *name, void *ram, uint64_t size,
                              ckpt_file_restore_mode mode, ckpt_file_progress_fn progress,
                              void *ud, char **err);

/* Read every memory chunk and check its checksum (zero chunks: that the
 * file reads zero there). For a "check" command and the tests. */
bool ckpt_file_verify(ckpt_file *f, ckpt_file_progress_fn progress, void *ud, char **err);

/* Names for messages and the command line: "none", "lz4", "zstd"; parse
 * returns false for anything else. */
const char *ckpt_file_compress_name(ckpt_file_compress c);
bool ckpt_file_compress_parse(const char *s, ckpt_file_compress *c);

#endif
