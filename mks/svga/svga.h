/*
 * mks/svga/svga.h - VMware's SVGA II display adapter (PCI 15ad:0405) with
 * its VGA and Bochs VBE personalities.
 *
 * The device ("svga" in the platform's device table; after "pci") is PCI
 * function 00:0f.0, class 0x030000, INTA, with an MSI capability (one
 * vector, 64-bit). Its BARs:
 *
 *   BAR0  I/O, 16 ports: index (+0), value (+1), BIOS (+2, reads 0,
 *         writes ignored), IRQ status (+8, write 1 to clear). 32-bit
 *         accesses; other sizes read all ones and are ignored.
 *   BAR1  VRAM, 32-bit prefetchable memory: svga.vramSize bytes (default
 *         16 MiB; 4-128 MiB, a multiple of 64 KiB; the BAR is the next
 *         power of two). The legacy framebuffer, the VBE linear
 *         framebuffer and screen-object backing stores live here.
 *   BAR2  FIFO, 32-bit memory, 256 KiB: the command FIFO and its
 *         registers.
 *
 * VRAM and FIFO are host memory owned by the device (memfds, mapped
 * shared). The guest is meant to reach them directly: the vmx maps them
 * into the monitor at their BAR addresses (vmm_vm_map) and follows BAR
 * moves with svga_set_bar_listener(). Until it does, the BARs work as MMIO
 * regions backed by the same memory (correct, but every access exits).
 * The memory is not part of the device's checkpoint: the vmx saves and
 * restores it like RAM (svga_bar_memory gives the pointers), before the
 * guest runs again. The device's own items (registers, GMR page tables,
 * screens, cursor, VGA/VBE state, FIFO processing state) are in its
 * checkpoint section.
 *
 * Guest memory (the pages of guest memory regions, the VGA text buffer at
 * 0xB8000, which is RAM in this machine) is reached through the monitor
 * attached to the platform (vmm_vm_gpa_to_hva; writes are followed by
 * vmm_vm_notify_write), or through svga_set_guest_memory().
 *
 * Registers, capabilities and commands: see svga.c and svga-fifo.c. 3D is
 * not supported and reported absent; SVGA3D commands in the FIFO are
 * skipped by their size header. A guest that breaks the protocol (a
 * malformed command, FIFO registers out of range, GMR pages outside guest
 * RAM, a looping descriptor chain) puts the device in an error state: one
 * log line, the ERROR interrupt if unmasked, FIFO processing stops (BUSY
 * reads 0) until the driver writes CONFIG_DONE or turns ENABLE on again,
 * or the machine resets.
 *
 * Display: the device keeps the shadow framebuffer (fb.h) in step with
 * what the guest shows: VGA text mode (80x25 and other text geometries the
 * CRTC describes, rendered with a built-in 8x16 font), a VBE mode, the
 * SVGA legacy framebuffer (updated by UPDATE commands, or scanned while the
 * FIFO is off or SVGA_REG_TRACES is set), or the primary screen object.
 * Memory the guest writes directly (text buffer, VBE framebuffer, legacy
 * framebuffer without FIFO) is compared with the shadow on every
 * svga_process() call.
 *
 * Processing model: FIFO commands run in svga_process(), which the MKS
 * thread calls whenever svga_wake_fd() becomes readable and on its refresh
 * timer (60 Hz is right; svga_thread_start() provides such a thread). A
 * guest write to SVGA_REG_SYNC also processes the FIFO at once on the
 * writing vCPU and signals the eventfd; reading SVGA_REG_BUSY processes it
 * too and reads 0 once the FIFO is drained. svga_process() also polls the
 * FIFO cursor registers and the memory-backed display modes.
 *
 * Config keys: svga.vramSize (bytes), svga.maxWidth / svga.maxHeight
 * (default 8192 x 8192: the largest mode; modes must also fit VRAM).
 */
#ifndef MKS_SVGA_SVGA_H
#define MKS_SVGA_SVGA_H

#include "mks/svga/fb.h"
#include "vmx/dev/platform.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

extern const vmx_device_desc vmx_dev_svga;

typedef struct svga svga;

#define SVGA_PCI_SLOT 15u
#define SVGA_BAR_IO 0u
#define SVGA_BAR_VRAM 1u
#define SVGA_BAR_FIFO 2u

/* The platform's SVGA device, or NULL. */
svga *svga_get(vmx_platform *p);

/* The shadow framebuffer (lives as long as the device). */
svga_fb *svga_get_fb(svga *s);

/* Host memory behind a memory BAR (SVGA_BAR_VRAM or SVGA_BAR_FIFO): page
 * aligned, *size a multiple of the page size (the whole BAR). False for
 * other BARs. */
bool svga_bar_memory(svga *s, unsigned bar, void **host, uint64_t *size);
/* Where the BAR is mapped now, or UINT64_MAX (PCI_BAR_UNMAPPED). */
uint64_t svga_bar_address(svga *s, unsigned bar);

/* Called when a memory BAR moves: old_gpa is where it was (UINT64_MAX:
 * nowhere), new_gpa where it is now (UINT64_MAX: unmapped). On setting,
 * the listener is called at once for each BAR that is mapped. Runs on the
 * thread that moved the BAR (a vCPU's config write, or the main thread's
 * reset and restore) without the device lock, but under the listener's own
 * lock: it must not call svga_set_bar_listener(). One listener; NULL
 * removes it. The vmx vmm_vm_unmap()s old_gpa and vmm_vm_map()s host at
 * new_gpa (size bytes). */
typedef void (*svga_bar_moved_fn)(void *opaque, unsigned bar, uint64_t old_gpa,
                                  uint64_t new_gpa, void *host, uint64_t size);
void svga_set_bar_listener(svga *s, svga_bar_moved_fn fn, void *opaque);

/* How the device reaches guest RAM. map returns the host address of
 * guest-physical [gpa, gpa + len) when all of it is RAM, else NULL;
 * written (may be NULL) is told after the device wrote guest RAM. The
 * default (ops NULL) is the monitor attached to the platform. */
typedef struct svga_guest_mem_ops {
   void *(*map)(void *opaque, uint64_t gpa, uint64_t len);
   void (*written)(void *opaque, uint64_t gpa, uint64_t len);
} svga_guest_mem_ops;
void svga_set_guest_memory(svga *s, const svga_guest_mem_ops *ops, void *opaque);

/* Consume every complete FIFO command, poll the cursor and the
 * memory-backed display, update the shadow and notify its clients. Any
 * thread; calls are serialized by the device lock. */
void svga_process(svga *s);
/* An eventfd (non-blocking) that becomes readable when svga_process
 * should run soon; the MKS thread reads it to clear it. */
int svga_wake_fd(svga *s);

/* An MKS-like thread that waits on svga_wake_fd() and runs svga_process
 * at least hz times per second (1-1000). Stop before destroying. */
bool svga_thread_start(svga *s, unsigned hz, char **err);
void svga_thread_stop(svga *s);

/* True while the device is in its error state; msg (if n > 0) gets why. */
bool svga_in_error(svga *s, char *msg, size_t n);

#endif
