/*
 * Our ACPI tables through the reference implementation: every table is
 * disassembled with `iasl -d` (Debian's acpica-tools), which must accept it
 * without errors or checksum complaints, and the DSDT's disassembly must
 * compile again. Exits 77 (skip) when iasl is not installed.
 */
#include "vmx/boot/acpi-tables.h"

#include <glib.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

static int failures;

#define CHECK(cond, ...)                                                                  \
   do {                                                                                  \
      if (!(cond)) {                                                                     \
         fprintf(stderr, "FAIL: " __VA_ARGS__);                                          \
         fprintf(stderr, "\n");                                                          \
         failures++;                                                                     \
      }                                                                                  \
   } while (0)

static uint32_t
rd32(const uint8_t *p)
{
   return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t
rd64(const uint8_t *p)
{
   return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

/* Run iasl with args in dir; returns its combined output, *status the exit. */
static char *
run_iasl(const char *dir, const char *const *args, int *status)
{
   GPtrArray *argv = g_ptr_array_new();
   g_ptr_array_add(argv, (gpointer) "iasl");
   for (const char *const *a = args; *a; a++) {
      g_ptr_array_add(argv, (gpointer)*a);
   }
   g_ptr_array_add(argv, NULL);
   char *out = NULL, *errout = NULL;
   GError *gerr = NULL;
   if (!g_spawn_sync(dir, (char **)argv->pdata, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, &out,
                     &errout, status, &gerr)) {
      fprintf(stderr, "cannot run iasl: %s\n", gerr->message);
      exit(1);
   }
   g_ptr_array_free(argv, TRUE);
   char *all = g_strconcat(out, errout, NULL);
   g_free(out);
   g_free(errout);
   return all;
}

/* Disassemble one table; returns the .dsl text. */
static char *
disassemble(const char *dir, const char *name, const uint8_t *data, size_t len)
{
   char *dat = g_strdup_printf("%s/%s.dat", dir, name);
   g_assert_true(g_file_set_contents(dat, (const char *)data, (gssize)len, NULL));
   const char *args[] = { "-d", dat, NULL };
   int status;
   char *log = run_iasl(dir, args, &status);
   CHECK(g_spawn_check_wait_status(status, NULL), "iasl -d %s failed:\n%s", name, log);
   char *dslpath = g_strdup_printf("%s/%s.dsl", dir, name);
   char *dsl = NULL;
   CHECK(g_file_get_contents(dslpath, &dsl, NULL, NULL), "%s: no .dsl produced:\n%s", name, log);
   if (dsl) {
      CHECK(!strstr(dsl, "Incorrect checksum"), "%s: iasl reports a bad checksum", name);
      CHECK(!strstr(dsl, "**** ") || strstr(name, "DSDT"), "%s: iasl complains:\n%s", name,
            dsl);
   }
   CHECK(!strstr(log, "Error") && !strstr(log, "ERROR"), "%s: iasl errors:\n%s", name, log);
   printf("--- %s (%zu bytes)\n%s\n", name, len, dsl ? dsl : "");
   g_free(log);
   g_free(dat);
   g_free(dslpath);
   return dsl;
}

int
main(void)
{
   char *iasl = g_find_program_in_path("iasl");
   if (!iasl) {
      printf("SKIP: iasl not installed (Debian package acpica-tools)\n");
      return 77;
   }
   g_free(iasl);
   char *dir = g_dir_make_tmp("vmws-iasl-XXXXXX", NULL);
   g_assert_nonnull(dir);

   vmx_guest_ram ram = { mmap(NULL, 2u << 20, PROT_READ | PROT_WRITE,
                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), 2u << 20 };
   g_assert_true(ram.base != MAP_FAILED);
   vmx_acpi_tables_config c = { .ncpus = 4, .ram_size = 8ull << 30, .serial_mask = 0x3 };
   uint64_t rsdp;
   char *err = NULL;
   if (!vmx_acpi_tables_build(&ram, &c, &rsdp, &err)) {
      fprintf(stderr, "build: %s\n", err);
      return 1;
   }
   /* (iasl cannot disassemble a bare RSDP; test-boot checks it.) */
   const uint8_t *rp = ram.base + rsdp;
   char *dsl;
   const uint8_t *xsdt = ram.base + rd64(rp + 24);
   dsl = disassemble(dir, "XSDT", xsdt, rd32(xsdt + 4));
   g_free(dsl);
   const uint8_t *rsdt = ram.base + rd32(rp + 16);
   dsl = disassemble(dir, "RSDT", rsdt, rd32(rsdt + 4));
   g_free(dsl);
   const uint8_t *fadt = ram.base + rd64(xsdt + 36);
   dsl = disassemble(dir, "FACP", fadt, rd32(fadt + 4));
   if (dsl) {
      CHECK(strstr(dsl, "SCI Interrupt : 0009"), "FADT: SCI");
      CHECK(strstr(dsl, "PM1A Control Block Address : 00000604"), "FADT: PM1a_CNT");
      CHECK(strstr(dsl, "PM Timer Block Address : 00000608"), "FADT: PM timer");
      CHECK(strstr(dsl, "Address : 0000000000000CF9"), "FADT: reset register");
   }
   g_free(dsl);
   const uint8_t *facs = ram.base + rd32(fadt + 36);
   dsl = disassemble(dir, "FACS", facs, 64);
   g_free(dsl);
   const uint8_t *madt = ram.base + rd64(xsdt + 44);
   dsl = disassemble(dir, "APIC", madt, rd32(madt + 4));
   if (dsl) {
      CHECK(strstr(dsl, "Processor Local APIC"), "MADT: LAPIC");
      CHECK(strstr(dsl, "I/O APIC"), "MADT: IOAPIC");
      CHECK(strstr(dsl, "Interrupt Source Override"), "MADT: overrides");
   }
   g_free(dsl);
   const uint8_t *dsdt = ram.base + rd64(fadt + 140);
   uint32_t dlen = rd32(dsdt + 4);
   dsl = disassemble(dir, "DSDT", dsdt, dlen);
   if (dsl) {
      static const char *const want[] = {
         "Name (\\_S5, Package (0x04)", "Device (PCI0)", "EisaId (\"PNP0A03\")", "Name (_PRT, ",
         "Device (C003)", "\"ACPI0007\"", "WordBusNumber (ResourceProducer",
         "DWordMemory (ResourceProducer", "QWordMemory (ResourceProducer",
         "0xC0000000,", "0x0000000240000000,", "EisaId (\"PNP0303\")", "EisaId (\"PNP0F13\")",
         "Device (COM2)", "IRQNoFlags ()",
      };
      for (unsigned i = 0; i < G_N_ELEMENTS(want); i++) {
         CHECK(strstr(dsl, want[i]), "DSDT disassembly lacks \"%s\"", want[i]);
      }
      CHECK(!strstr(dsl, "Device (C004)"), "DSDT: too many processors");
      /* The disassembly compiles back, and (with iasl's optimizations off,
       * which would shorten \_S5 to _S5) to exactly our AML. */
      const char *args[] = { "-oa", "-p", "recompiled", "DSDT.dsl", NULL };
      int status;
      char *log = run_iasl(dir, args, &status);
      CHECK(g_spawn_check_wait_status(status, NULL), "iasl cannot compile the DSDT back:\n%s",
            log);
      char *aml = NULL;
      gsize alen = 0;
      char *amlpath = g_strdup_printf("%s/recompiled.aml", dir);
      bool have = g_file_get_contents(amlpath, &aml, &alen, NULL);
      CHECK(have, "iasl produced no AML:\n%s", log);
      if (have) {
         /* Compare the AML after the header (iasl writes its own creator). */
         bool same = alen == dlen && memcmp(aml + 36, dsdt + 36, dlen - 36) == 0;
         printf("recompiled DSDT: %zu bytes, %s ours\n", (size_t)alen,
                same ? "AML identical to" : "AML differs from");
         CHECK(same, "the recompiled DSDT differs from ours");
         if (!same && getenv("VMWS_KEEP_AML")) {
            g_file_set_contents("/tmp/ours.aml", (const char *)dsdt, dlen, NULL);
            g_file_set_contents("/tmp/iasl.aml", aml, (gssize)alen, NULL);
         }
         g_unlink(amlpath);
      }
      g_free(amlpath);
      g_free(aml);
      g_free(log);
   }
   g_free(dsl);

   /* Clean up the scratch folder. */
   GDir *d = g_dir_open(dir, 0, NULL);
   const char *n;
   while (d && (n = g_dir_read_name(d))) {
      char *p = g_build_filename(dir, n, NULL);
      g_unlink(p);
      g_free(p);
   }
   if (d) {
      g_dir_close(d);
   }
   g_rmdir(dir);
   g_free(dir);
   printf("%s\n", failures ? "FAILED" : "all tables disassemble cleanly");
   return failures ? 1 : 0;
}
