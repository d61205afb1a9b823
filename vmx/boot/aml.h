/*
 * vmx/boot/aml.h - a small emitter of ACPI Machine Language and resource
 * descriptors (ACPI specification, "ACPI Machine Language Specification"
 * and "Resource Data Types"), for the DSDT that acpi-tables.c builds.
 *
 * Usage: open a package-length construct with one of the *_begin
 * functions, emit its contents, close it with vmx_aml_end() (which
 * inserts the PkgLength in front of the contents).
 */
#ifndef VMX_BOOT_AML_H
#define VMX_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct vmx_aml {
   uint8_t *data;
   size_t len, cap;
} vmx_aml;

void vmx_aml_init(vmx_aml *a);
void vmx_aml_free(vmx_aml *a);
void vmx_aml_byte(vmx_aml *a, uint8_t b);
void vmx_aml_bytes(vmx_aml *a, const void *p, size_t n);
void vmx_aml_u16(vmx_aml *a, uint16_t v);
void vmx_aml_u32(vmx_aml *a, uint32_t v);
void vmx_aml_u64(vmx_aml *a, uint64_t v);

/* The PkgLength encoding of a package whose contents (after the PkgLength)
 * are n bytes: writes 1-4 bytes to out, returns how many. 0 if too big. */
unsigned vmx_aml_pkglength(size_t n, uint8_t out[4]);

/* A NameString: "\\_SB.PCI0", "_HID", "^FOO"; segments shorter than four
 * characters are padded with '_'. */
void vmx_aml_name(vmx_aml *a, const char *path);
/* Data objects. */
void vmx_aml_int(vmx_aml *a, uint64_t v);
void vmx_aml_string(vmx_aml *a, const char *s);
/* EisaId("PNP0A03") as a DWordConst. */
void vmx_aml_eisaid(vmx_aml *a, const char *id);
/* Buffer (n) { bytes } */
void vmx_aml_buffer(vmx_aml *a, const uint8_t *p, size_t n);

/* Name (path, <object the caller emits next>) */
void vmx_aml_name_decl(vmx_aml *a, const char *path);
/* Constructs with a PkgLength: each returns a mark for vmx_aml_end(). */
size_t vmx_aml_scope_begin(vmx_aml *a, const char *path);
size_t vmx_aml_device_begin(vmx_aml *a, const char *path);
size_t vmx_aml_package_begin(vmx_aml *a, unsigned nelems);
size_t vmx_aml_method_begin(vmx_aml *a, const char *path, unsigned nargs, bool serialized);
void vmx_aml_end(vmx_aml *a, size_t mark);
/* Return (integer) */
void vmx_aml_return_int(vmx_aml *a, uint64_t v);

/* Resource descriptors, appended to a plain byte buffer. Producers with
 * fixed minimum and maximum, positive decode. */
void vmx_res_io(vmx_aml *r, uint16_t base, uint8_t len);           /* IO (Decode16) */
void vmx_res_irq(vmx_aml *r, unsigned irq);                        /* IRQNoFlags */
void vmx_res_word_bus(vmx_aml *r, uint16_t min, uint16_t max);     /* WordBusNumber */
void vmx_res_word_io(vmx_aml *r, uint16_t min, uint16_t max);      /* WordIO, entire range */
void vmx_res_dword_mem(vmx_aml *r, uint32_t min, uint32_t max, bool cacheable);
void vmx_res_qword_mem(vmx_aml *r, uint64_t min, uint64_t max, bool prefetchable);
void vmx_res_end(vmx_aml *r);                                      /* EndTag */

#endif
