/*
 * vmm/soft/hostexec.c - exact x87/MMX/SSE arithmetic by running the one
 * instruction on the host.
 *
 * The interpreter decodes x87/MMX/SSE instructions itself, checks
 * everything architectural (CR0/CR4 bits, #NM, pending x87 errors, memory
 * translation, faults, alignment) and moves operands in and out; only the
 * computation runs on the host, as a stub "instruction; ret" whose
 * operands are re-encoded onto fixed registers and a scratch buffer (see
 * hostexec.S). That gives bit-exact results, flags and exception status
 * for every rounding mode, DAZ/FTZ, NaN and denormal case, the
 * transcendental x87 instructions and the SSE4.2 string instructions,
 * without a software float library. The host must implement what the
 * CPUID model offers (soft_cpuid_model takes host features into account).
 *
 * Stubs are made on first use and cached by encoding. Code memory is one
 * memfd mapped twice (writable and executable views), so no page is ever
 * writable and executable at once.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "soft_int.h"
#include "hostexec.h"

_Static_assert(offsetof(soft_hx, xmm) == 0, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, mem) == 48, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, mm) == 112, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, rax) == 128, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, rcx) == 136, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, rdx) == 144, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, r8) == 152, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, r9) == 160, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, rflags) == 168, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, mxcsr) == 176, "hostexec.S layout");
_Static_assert(offsetof(soft_hx, use_mmx) == 180, "hostexec.S layout");

/* Room for every distinct encoding the interpreter can ask for: about 50k
 * (the imm8 forms dominate: ~40 opcodes x 256 immediates x forms), so the
 * cache never fills. Entries are touched only when used. */
#define CODE_SIZE (2u << 20)
#define STUB_SIZE 16u
#define TABLE_SIZE 131072u          /* power of two; at most half full */

typedef struct stub_entry {
   uint64_t key;                    /* encoding bytes | length << 56; 0 = free */
   const void *fn;                  /* published last (release) */
} stub_entry;

static struct {
   pthread_once_t once;
   pthread_mutex_t lock;
   uint8_t *rw, *rx;
   unsigned used;                   /* bytes of code */
   unsigned count;                  /* entries */
   uint32_t mxcsr_mask;
   stub_entry table[TABLE_SIZE];
} hx = { .once = PTHREAD_ONCE_INIT, .lock = PTHREAD_MUTEX_INITIALIZER };

static void hx_init(void)
{
   uint8_t fx[512] __attribute__((aligned(16)));
   int fd = memfd_create("vmws-soft-hostexec", MFD_CLOEXEC);

   if (fd >= 0 && ftruncate(fd, CODE_SIZE) == 0) {
      void *w = mmap(NULL, CODE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      void *x = mmap(NULL, CODE_SIZE, PROT_READ | PROT_EXEC, MAP_SHARED, fd, 0);
      if (w != MAP_FAILED && x != MAP_FAILED) {
         hx.rw = w;
         hx.rx = x;
      } else {
         if (w != MAP_FAILED)
            munmap(w, CODE_SIZE);
         if (x != MAP_FAILED)
            munmap(x, CODE_SIZE);
      }
   }
   if (fd >= 0)
      close(fd);
   memset(fx, 0, sizeof(fx));
   __asm__ volatile("fxsave64 %0" : "=m"(fx));
   memcpy(&hx.mxcsr_mask, fx + 28, 4);
   if (!hx.mxcsr_mask)
      hx.mxcsr_mask = 0xffbf;
}

uint32_t soft_hx_mxcsr_mask(void)
{
   pthread_once(&hx.once, hx_init);
   return hx.mxcsr_mask;
}

static uint64_t hash(uint64_t k)
{
   k ^= k >> 29;
   k *= 0xbf58476d1ce4e5b9ull;
   k ^= k >> 32;
   return k;
}

const void *soft_hx_stub(const uint8_t *code, unsigned len)
{
   uint64_t key = (uint64_t)len << 56;

   if (len == 0 || len > 7)
      return NULL;
   pthread_once(&hx.once, hx_init);
   if (!hx.rx)
      return NULL;
   for (unsigned i = 0; i < len; i++)
      key |= (uint64_t)code[i] << (8 * i);

   unsigned h = (unsigned)hash(key) & (TABLE_SIZE - 1);
   for (unsigned probe = 0; probe < TABLE_SIZE; probe++) {
      stub_entry *e = &hx.table[(h + probe) & (TABLE_SIZE - 1)];
      uint64_t k = __atomic_load_n(&e->key, __ATOMIC_ACQUIRE);
      if (k == key) {
         const void *fn = __atomic_load_n(&e->fn, __ATOMIC_ACQUIRE);
         if (fn)
            return fn;
         break;            /* being written: take the lock */
      }
      if (k == 0)
         break;
   }

   const void *fn = NULL;
   pthread_mutex_lock(&hx.lock);
   for (unsigned probe = 0; probe < TABLE_SIZE; probe++) {
      stub_entry *e = &hx.table[(h + probe) & (TABLE_SIZE - 1)];
      if (e->key == key) {
         fn = e->fn;
         break;
      }
      if (e->key == 0) {
         if (hx.used + STUB_SIZE > CODE_SIZE || hx.count >= TABLE_SIZE / 2)
            break;         /* full: the caller treats the encoding as invalid */
         uint8_t *w = hx.rw + hx.used;
         memcpy(w, code, len);
         w[len] = 0xc3;                           /* ret */
         memset(w + len + 1, 0xcc, STUB_SIZE - len - 1);
         fn = hx.rx + hx.used;
         hx.used += STUB_SIZE;
         hx.count++;
         __atomic_store_n(&e->key, key, __ATOMIC_RELEASE);
         __atomic_store_n(&e->fn, fn, __ATOMIC_RELEASE);
         break;
      }
   }
   pthread_mutex_unlock(&hx.lock);
   return fn;
}
