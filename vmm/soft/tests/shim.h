/*
 * vmm/soft/tests/shim.h - a tiny machine for interpreter tests: RAM, a
 * page-table builder, and helpers that put the CPU into real, protected
 * or long mode without running guest setup code.
 */
#ifndef SOFT_TEST_SHIM_H
#define SOFT_TEST_SHIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "vmm/soft/soft.h"

typedef struct shim {
   soft_mem *mem;
   soft_cpu *cpu;
   uint8_t *ram;
   uint64_t ram_size;
   uint64_t next_pt;          /* next free page for page tables */
   soft_io io;
   /* port/MMIO log */
   unsigned nout;
   uint16_t out_port[64];
   uint32_t out_val[64];
   uint32_t in_val;           /* value returned by port reads */
   unsigned nmmio;
   uint64_t mmio_addr[64];
   uint64_t mmio_val[64];
   bool mmio_write[64];
} shim;

#define PTE_P 1ull
#define PTE_W 2ull
#define PTE_U 4ull
#define PTE_A 0x20ull
#define PTE_D 0x40ull
#define PTE_PS 0x80ull
#define PTE_G 0x100ull
#define PTE_NX (1ull << 63)

shim *shim_new(uint64_t ram_size);
void shim_free(shim *s);
/* Page-table pages are allocated from pt_base upward. */
void shim_pt_reset(shim *s, uint64_t pt_base);
/* Map lin -> gpa (4K) in 4-level tables rooted at cr3; leaf gets 'flags',
 * intermediate levels P|W|U. Returns the leaf PTE's gpa. */
uint64_t shim_map4(shim *s, uint64_t cr3, uint64_t lin, uint64_t gpa, uint64_t flags);
/* 64-bit mode, flat segments, at cpl (0 or 3). */
void shim_long_mode(shim *s, uint64_t cr3, unsigned cpl);
/* 32-bit protected mode, flat segments, optional paging (cr3 = 0: off). */
void shim_prot32(shim *s, uint64_t cr3, uint64_t cr4, unsigned cpl);
void shim_real_mode(shim *s, uint16_t cs, uint16_t ip);
/* Writes to guest RAM from outside (as device DMA would): they tell the
 * interpreter, which drops instructions it decoded from there. */
void shim_wr(shim *s, uint64_t gpa, const void *p, size_t n);
void shim_clear(shim *s, uint64_t gpa, size_t n);
uint64_t shim_rd64(shim *s, uint64_t gpa);
uint32_t shim_rd32(shim *s, uint64_t gpa);
void shim_wr64(shim *s, uint64_t gpa, uint64_t v);
void shim_wr32(shim *s, uint64_t gpa, uint32_t v);

/* tiny test framework */
extern int shim_failures;
#define CHECK(cond, ...) do { \
   if (!(cond)) { \
      shim_failures++; \
      fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond); \
      fprintf(stderr, __VA_ARGS__); \
      fprintf(stderr, "\n"); \
   } \
} while (0)
#define CHECK_EQ(a, b) do { \
   unsigned long long _a = (unsigned long long)(a), _b = (unsigned long long)(b); \
   if (_a != _b) { \
      shim_failures++; \
      fprintf(stderr, "FAIL %s:%d: %s == %s: %#llx != %#llx\n", __FILE__, __LINE__, #a, #b, _a, _b); \
   } \
} while (0)

#endif
