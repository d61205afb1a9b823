/*
 * mks/svga/svga-gmr.c - guest memory regions (GMRs) and guest memory
 * access.
 *
 * A GMR is a list of guest page numbers (PPNs); a guest pointer {gmrId,
 * offset} addresses byte offset of that list's concatenated pages.
 * SVGA_GMR_FRAMEBUFFER addresses VRAM. Up to 64 GMR IDs and 65536 pages
 * in all.
 *
 * Two ways to define one:
 *
 *   - Legacy (SVGA_CAP_GMR): the driver writes GMR_ID, then the PPN of a
 *     descriptor page to GMR_DESCRIPTOR (0 deletes the GMR). The page holds
 *     {ppn, numPages} pairs: numPages != 0 adds that run of pages, numPages
 *     == 0 with ppn != 0 continues at the descriptor page ppn, {0, 0} ends
 *     the list. A descriptor list that runs off the end of its page, is
 *     longer than GMR_MAX_DESCRIPTOR_LENGTH (4096, which also ends loops),
 *     adds too many pages or names a page outside guest RAM is an error.
 *   - GMR2 (SVGA_CAP_GMR2): DEFINE_GMR2 {gmrId, numPages} makes (or with 0
 *     pages deletes) a GMR whose pages are all unmapped; REMAP_GMR2
 *     {gmrId, flags, offsetPages, numPages} maps numPages of them from a
 *     PPN list: 32- or 64-bit PPNs (PPN64), inline or read from a guest
 *     pointer (VIA_GMR), one PPN for every page (SINGLE_PPN) or one each.
 *     Every PPN is checked against guest RAM before anything changes.
 *
 * Accesses go page by page through the guest memory ops; an unmapped GMR
 * page, a page outside RAM or an offset past the end fails the access
 * (the caller then puts the device in its error state).
 */
#include "mks/svga/svga-int.h"

#include <glib.h>
#include <string.h>

#define DESCS_PER_PAGE (SVGA_PAGE / 8u)
#define PPN_LIMIT (1ull << 40)   /* guest-physical addresses below 2^52 */

void *
svga_guest_map(svga *s, uint64_t gpa, uint64_t len)
{
   if (len == 0 || gpa + len < gpa) {
      return NULL;
   }
   if (s->gm_ops) {
      return s->gm_ops->map(s->gm_opaque, gpa, len);
   }
   vmm_vm *vm = vmx_platform_vmm(s->p);
   return vm ? vmm_vm_gpa_to_hva(vm, gpa, len) : NULL;
}

void
svga_guest_written(svga *s, uint64_t gpa, uint64_t len)
{
   if (s->gm_ops) {
      if (s->gm_ops->written) {
         s->gm_ops->written(s->gm_opaque, gpa, len);
      }
      return;
   }
   vmm_vm *vm = vmx_platform_vmm(s->p);
   if (vm) {
      vmm_vm_notify_write(vm, gpa, len);
   }
}

static bool
ppn_in_ram(svga *s, uint64_t ppn)
{
   return ppn < PPN_LIMIT && svga_guest_map(s, ppn * SVGA_PAGE, SVGA_PAGE) != NULL;
}

/* ---- access */

static bool
gmr_access(svga *s, uint32_t id, uint64_t offset, uint8_t *buf, uint64_t len, bool write)
{
   if (len == 0) {
      return true;
   }
   if (id == SVGA_GMR_FRAMEBUFFER) {
      if (offset > s->vram_size || len > s->vram_size - offset) {
         return false;
      }
      if (write) {
         memmove(s->vram + offset, buf, len);
      } else {
         memmove(buf, s->vram + offset, len);
      }
      return true;
   }
   if (id >= SVGA_GMR_IDS || !s->gmr[id].npages) {
      return false;
   }
   const svga_gmr *g = &s->gmr[id];
   uint64_t size = (uint64_t)g->npages * SVGA_PAGE;
   if (offset > size || len > size - offset) {
      return false;
   }
   while (len) {
      uint64_t page = offset / SVGA_PAGE, in = offset % SVGA_PAGE;
      uint64_t chunk = MIN(len, SVGA_PAGE - in);
      uint64_t ppn = g->ppn[page];
      if (ppn == SVGA_PPN_INVALID) {
         return false;
      }
      uint64_t gpa = ppn * SVGA_PAGE + in;
      uint8_t *host = svga_guest_map(s, gpa, chunk);
      if (!host) {
         return false;
      }
      if (write) {
         memcpy(host, buf, chunk);
         svga_guest_written(s, gpa, chunk);
      } else {
         memcpy(buf, host, chunk);
      }
      buf += chunk;
      offset += chunk;
      len -= chunk;
   }
   return true;
}

bool
svga_gmr_read(svga *s, uint32_t gmr, uint64_t offset, void *dst, uint64_t len)
{
   return gmr_access(s, gmr, offset, dst, len, false);
}

bool
svga_gmr_write(svga *s, uint32_t gmr, uint64_t offset, const void *src, uint64_t len)
{
   return gmr_access(s, gmr, offset, (uint8_t *)src, len, true);
}

/* ---- tables */

static void
gmr_free(svga *s, uint32_t id)
{
   svga_gmr *g = &s->gmr[id];
   s->gmr_pages -= g->npages;
   g_free(g->ppn);
   g->ppn = NULL;
   g->npages = 0;
}

void
svga_gmr_free_all(svga *s)
{
   for (uint32_t i = 0; i < SVGA_GMR_IDS; i++) {
      gmr_free(s, i);
   }
   s->gmr_pages = 0;
}

void
svga_gmr_set(svga *s, uint32_t id, uint32_t npages, uint64_t *ppn)
{
   gmr_free(s, id);
   s->gmr[id].npages = npages;
   s->gmr[id].ppn = ppn;
   s->gmr_pages += npages;
}

/* Pages still available for GMR id if it is redefined. */
static uint32_t
pages_left(svga *s, uint32_t id)
{
   return SVGA_GMR_MAX_PAGES - (s->gmr_pages - s->gmr[id].npages);
}

void
svga_gmr_define_legacy(svga *s, uint32_t id, uint32_t ppn)
{
   if (id >= SVGA_GMR_IDS) {
      svga_fail(s, "GMR_DESCRIPTOR for GMR %u (GMR_MAX_IDS is %u)", id, SVGA_GMR_IDS);
      return;
   }
   if (ppn == 0) {
      gmr_free(s, id);
      return;
   }
   uint32_t max = pages_left(s, id);
   GArray *pages = g_array_new(FALSE, FALSE, sizeof(uint64_t));
   uint64_t page = ppn;
   unsigned slot = 0, count = 0;
   const char *why = NULL;
   for (;;) {
      if (++count > SVGA_GMR_MAX_DESCRIPTORS) {
         why = "more than GMR_MAX_DESCRIPTOR_LENGTH descriptors (a loop?)";
         break;
      }
      if (slot == DESCS_PER_PAGE) {
         why = "a descriptor page without an end or a link";
         break;
      }
      const uint8_t *d = svga_guest_map(s, page * SVGA_PAGE + slot * 8, 8);
      if (!d) {
         why = "a descriptor page outside guest RAM";
         break;
      }
      uint32_t dppn, dnum;
      memcpy(&dppn, d, 4);
      memcpy(&dnum, d + 4, 4);
      if (dppn == 0 && dnum == 0) {
         break;
      }
      if (dnum == 0) {
         page = dppn;
         slot = 0;
         continue;
      }
      if (dnum > max - pages->len) {
         why = "more pages than GMRS_MAX_PAGES allows";
         break;
      }
      for (uint32_t i = 0; i < dnum && !why; i++) {
         uint64_t p = (uint64_t)dppn + i;
         if (!ppn_in_ram(s, p)) {
            why = "a data page outside guest RAM";
         }
         g_array_append_val(pages, p);
      }
      if (why) {
         break;
      }
      slot++;
   }
   if (why) {
      svga_fail(s, "GMR %u descriptor at PPN 0x%x: %s", id, ppn, why);
      g_array_free(pages, TRUE);
      return;
   }
   uint32_t n = pages->len;
   uint64_t *tab = (uint64_t *)g_array_free(pages, FALSE);
   if (n == 0) {
      g_free(tab);
      gmr_free(s, id);
      return;
   }
   svga_gmr_set(s, id, n, tab);
}

bool
svga_cmd_define_gmr2(svga *s, const uint32_t *w)
{
   uint32_t id = w[1], n = w[2];
   if (id >= SVGA_GMR_IDS) {
      svga_fail(s, "DEFINE_GMR2 of GMR %u (GMR_MAX_IDS is %u)", id, SVGA_GMR_IDS);
      return false;
   }
   if (n > pages_left(s, id)) {
      svga_fail(s, "DEFINE_GMR2 of GMR %u with %u pages: %u of %u are left", id, n,
                pages_left(s, id), SVGA_GMR_MAX_PAGES);
      return false;
   }
   if (n == 0) {
      gmr_free(s, id);
      return true;
   }
   uint64_t *tab = g_try_new(uint64_t, n);
   if (!tab) {
      svga_fail(s, "DEFINE_GMR2 of GMR %u: out of host memory", id);
      return false;
   }
   for (uint32_t i = 0; i < n; i++) {
      tab[i] = SVGA_PPN_INVALID;
   }
   svga_gmr_set(s, id, n, tab);
   return true;
}

uint64_t
svga_remap_gmr2_words(const uint32_t *w)
{
   uint32_t flags = w[2];
   if (flags & ~(SVGA_REMAP_GMR2_VIA_GMR | SVGA_REMAP_GMR2_PPN64 | SVGA_REMAP_GMR2_SINGLE_PPN)) {
      return 0;
   }
   if (flags & SVGA_REMAP_GMR2_VIA_GMR) {
      return SVGA_CMDLEN_REMAP_GMR2 + 2;
   }
   uint64_t count = (flags & SVGA_REMAP_GMR2_SINGLE_PPN) ? 1 : w[4];
   return SVGA_CMDLEN_REMAP_GMR2 + count * ((flags & SVGA_REMAP_GMR2_PPN64) ? 2 : 1);
}

bool
svga_cmd_remap_gmr2(svga *s, const uint32_t *w, uint32_t nwords)
{
   uint32_t id = w[1], flags = w[2], first = w[3], n = w[4];
   if (id >= SVGA_GMR_IDS || !s->gmr[id].npages) {
      svga_fail(s, "REMAP_GMR2 of GMR %u, which is not defined", id);
      return false;
   }
   svga_gmr *g = &s->gmr[id];
   if ((uint64_t)first + n > g->npages) {
      svga_fail(s, "REMAP_GMR2 of pages %u..%llu of GMR %u, which has %u", first,
                (unsigned long long)first + n, id, g->npages);
      return false;
   }
   if (n == 0) {
      return true;
   }
   bool single = flags & SVGA_REMAP_GMR2_SINGLE_PPN;
   bool wide = flags & SVGA_REMAP_GMR2_PPN64;
   uint32_t count = single ? 1 : n;
   size_t esz = wide ? 8 : 4;
   const uint8_t *list;
   uint8_t *fetched = NULL;
   if (flags & SVGA_REMAP_GMR2_VIA_GMR) {
      uint32_t src = w[SVGA_CMDLEN_REMAP_GMR2], off = w[SVGA_CMDLEN_REMAP_GMR2 + 1];
      fetched = g_try_malloc((size_t)count * esz);
      if (!fetched || !svga_gmr_read(s, src, off, fetched, (uint64_t)count * esz)) {
         g_free(fetched);
         svga_fail(s, "REMAP_GMR2 of GMR %u: its PPN list at GMR 0x%x offset 0x%x is not "
                   "readable", id, src, off);
         return false;
      }
      list = fetched;
   } else {
      g_assert((uint64_t)nwords * 4 >= SVGA_CMDLEN_REMAP_GMR2 * 4 + (uint64_t)count * esz);
      list = (const uint8_t *)&w[SVGA_CMDLEN_REMAP_GMR2];
   }
   /* Check every page first: all or nothing. */
   for (uint32_t i = 0; i < count; i++) {
      uint64_t ppn = 0;
      memcpy(&ppn, list + i * esz, esz);
      if (!ppn_in_ram(s, ppn)) {
         svga_fail(s, "REMAP_GMR2 of GMR %u page %u: PPN 0x%llx is not guest RAM", id,
                   first + (single ? 0 : i), (unsigned long long)ppn);
         g_free(fetched);
         return false;
      }
   }
   for (uint32_t i = 0; i < n; i++) {
      uint64_t ppn = 0;
      memcpy(&ppn, list + (single ? 0 : i) * esz, esz);
      g->ppn[first + i] = ppn;
   }
   g_free(fetched);
   return true;
}
