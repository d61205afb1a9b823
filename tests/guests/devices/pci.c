/*
 * tests/guests/devices/pci.c - PCI configuration mechanism #1 and what it
 * finds: CONFIG_ADDRESS read-back, the enable bit, absent devices and
 * buses, the 82441FX host bridge (8086:1237) at 00:00.0 and its header
 * (class, revision, header type, read-only and writable fields), byte and
 * word accesses, and BAR sizing: the host bridge must have no BARs; the
 * BARs of every other function found are sized and checked (power-of-two
 * sizes, type bits); when there is no such function the check is skipped
 * with the reason.
 */
#include "kit/kit.h"
#include "kit/platform.h"

typedef struct found {
   unsigned n;
   struct { uint8_t bus, dev, fn; uint32_t id; } f[64];
} found;

static void collect(unsigned bus, unsigned dev, unsigned fn, uint32_t id, void *arg)
{
   found *fd = arg;

   kit_printf("pci: %02x:%02x.%u %04x:%04x class %06x header 0x%02x\n", bus, dev, fn,
              id & 0xffff, id >> 16, kit_pci_read32(bus, dev, fn, 8) >> 8,
              kit_pci_read8(bus, dev, fn, 0x0e));
   if (fd->n < 64) {
      fd->f[fd->n].bus = (uint8_t)bus;
      fd->f[fd->n].dev = (uint8_t)dev;
      fd->f[fd->n].fn = (uint8_t)fn;
      fd->f[fd->n].id = id;
      fd->n++;
   }
}

static void check_mechanism(void)
{
   uint32_t a = 0x80001234u & ~3u, b;

   kit_outl(0xcf8, a);
   b = kit_inl(0xcf8);
   kit_check("config-address-readback", b == a, "wrote 0x%x to 0xcf8, read 0x%x", a, b);
   /* A byte write to 0xcf8 is not the address register. (0xcf9 is the
    * reset register: no word or byte accesses there.) */
   kit_outl(0xcf8, 0x80000000u);
   kit_outb(0xcf8, 0x12);
   b = kit_inl(0xcf8);
   kit_check("config-address-byte-ignored", b == 0x80000000u,
             "CONFIG_ADDRESS 0x%x after a byte write", b);
   /* Enable bit clear: no configuration cycle. */
   kit_outl(0xcf8, 0x00000000u);
   b = kit_inl(0xcfc);
   kit_check("enable-bit", b == 0xffffffffu, "CONFIG_DATA read 0x%x with bit 31 clear", b);
   kit_check("absent-device", kit_pci_read32(0, 31, 0, 0) == 0xffffffffu &&
             kit_pci_read16(0, 5, 3, 0) == 0xffff, "00:1f.0 reads 0x%x",
             kit_pci_read32(0, 31, 0, 0));
   kit_check("absent-bus", kit_pci_read32(1, 0, 0, 0) == 0xffffffffu &&
             kit_pci_read32(255, 0, 0, 0) == 0xffffffffu, "bus 1 reads 0x%x",
             kit_pci_read32(1, 0, 0, 0));
}

static void check_host_bridge(void)
{
   uint32_t id = kit_pci_read32(0, 0, 0, 0), cls = kit_pci_read32(0, 0, 0, 8);
   uint16_t cmd0 = kit_pci_read16(0, 0, 0, 4), cmd;
   uint8_t line0 = kit_pci_read8(0, 0, 0, 0x3c);
   bool bars_zero = true;

   if (!kit_check("host-bridge", id == 0x12378086u, "00:00.0 is %04x:%04x, expected the "
                  "82441FX 8086:1237", id & 0xffff, id >> 16)) {
      return;
   }
   kit_check("host-bridge-class", cls >> 8 == 0x060000 && (cls & 0xff) == 0x02 &&
             kit_pci_read8(0, 0, 0, 0x0e) == 0x00, "class/revision 0x%x, header type 0x%x "
             "(expected class 060000, revision 02, type 0)", cls, kit_pci_read8(0, 0, 0, 0x0e));
   /* Byte and word reads at every offset of the dword. */
   kit_check("config-sizes", kit_pci_read16(0, 0, 0, 2) == 0x1237 &&
             kit_pci_read8(0, 0, 0, 1) == 0x80 && kit_pci_read8(0, 0, 0, 3) == 0x12 &&
             kit_pci_read8(0, 0, 0, 0x0b) == 0x06, "word at 2: 0x%x, byte at 3: 0x%x",
             kit_pci_read16(0, 0, 0, 2), kit_pci_read8(0, 0, 0, 3));
   /* Read-only IDs. */
   kit_pci_write32(0, 0, 0, 0, 0xdeadbeef);
   kit_check("ids-read-only", kit_pci_read32(0, 0, 0, 0) == 0x12378086u,
             "vendor/device 0x%x after a write", kit_pci_read32(0, 0, 0, 0));
   /* Command: I/O, memory, bus master, parity, SERR, INTx disable. */
   kit_pci_write16(0, 0, 0, 4, 0xffff);
   cmd = kit_pci_read16(0, 0, 0, 4);
   kit_pci_write16(0, 0, 0, 4, cmd0);
   kit_check("command-mask", cmd == 0x0547, "command 0x%x after writing 0xffff, expected "
             "0x0547", cmd);
   /* Interrupt line is writable; the bridge has no pin. */
   kit_pci_write8(0, 0, 0, 0x3c, 0x5a);
   kit_check("interrupt-line", kit_pci_read8(0, 0, 0, 0x3c) == 0x5a &&
             kit_pci_read8(0, 0, 0, 0x3d) == 0, "line 0x%x, pin %u",
             kit_pci_read8(0, 0, 0, 0x3c), kit_pci_read8(0, 0, 0, 0x3d));
   kit_pci_write8(0, 0, 0, 0x3c, line0);
   /* No BARs, no expansion ROM: sizing writes read back 0. */
   for (unsigned off = 0x10; off <= 0x24; off += 4) {
      uint32_t old = kit_pci_read32(0, 0, 0, off), v;

      kit_pci_write32(0, 0, 0, off, 0xffffffffu);
      v = kit_pci_read32(0, 0, 0, off);
      kit_pci_write32(0, 0, 0, off, old);
      if (v != 0) {
         kit_fail("host-bridge-no-bars", "BAR at 0x%x sizes as 0x%x", off, v);
         bars_zero = false;
      }
   }
   kit_pci_write32(0, 0, 0, 0x30, 0xfffff800u);
   if (kit_pci_read32(0, 0, 0, 0x30) != 0) {
      kit_fail("host-bridge-no-bars", "expansion ROM BAR reads 0x%x",
               kit_pci_read32(0, 0, 0, 0x30));
      bars_zero = false;
   }
   if (bars_zero) {
      kit_pass("host-bridge-no-bars");
   }
}

/* Sizes the BARs of one function; returns how many it has. */
static unsigned size_bars(unsigned bus, unsigned dev, unsigned fn, bool *ok)
{
   unsigned nbars = 0;
   uint16_t cmd = kit_pci_read16(bus, dev, fn, 4);

   if ((kit_pci_read8(bus, dev, fn, 0x0e) & 0x7f) != 0) {
      return 0;   /* only type 0 headers have six BARs */
   }
   kit_pci_write16(bus, dev, fn, 4, cmd & ~3u);   /* decode off while sizing */
   for (unsigned i = 0; i < 6; i++) {
      unsigned off = 0x10 + 4 * i;
      uint32_t old = kit_pci_read32(bus, dev, fn, off), v;
      uint64_t mask, size;
      bool io, is64 = false;

      kit_pci_write32(bus, dev, fn, off, 0xffffffffu);
      v = kit_pci_read32(bus, dev, fn, off);
      kit_pci_write32(bus, dev, fn, off, old);
      if (v == 0) {
         continue;
      }
      io = v & 1;
      if (io) {
         mask = (v & ~3u) | 0xffff0000ull;
         size = (~mask + 1) & 0xffff;
      } else {
         is64 = ((v >> 1) & 3) == 2;
         mask = v & ~0xfull;
         if (is64 && i < 5) {
            uint32_t oldhi = kit_pci_read32(bus, dev, fn, off + 4), hi;

            kit_pci_write32(bus, dev, fn, off + 4, 0xffffffffu);
            hi = kit_pci_read32(bus, dev, fn, off + 4);
            kit_pci_write32(bus, dev, fn, off + 4, oldhi);
            mask |= (uint64_t)hi << 32;
         } else {
            mask |= 0xffffffff00000000ull;
         }
         size = ~mask + 1;
      }
      nbars++;
      kit_printf("pci: %02x:%02x.%u BAR%u: %s%s%s, %lu bytes (sizing read 0x%x)\n", bus, dev,
                 fn, i, io ? "I/O" : is64 ? "64-bit memory" : "32-bit memory",
                 !io && (v & 8) ? ", prefetchable" : "", "", size, v);
      if (!size || (size & (size - 1)) || (io && size < 4) || (!io && size < 16) ||
          (!io && ((v >> 1) & 3) == 1)) {
         kit_fail("bar-sizing", "%02x:%02x.%u BAR%u: sizing read 0x%x gives size %lu", bus,
                  dev, fn, i, v, size);
         *ok = false;
      }
      if (is64) {
         i++;
      }
   }
   kit_pci_write16(bus, dev, fn, 4, cmd);
   return nbars;
}

void kit_main(void)
{
   found fd = { 0 };
   unsigned nbars = 0, with_bars = 0;
   bool ok = true;

   kit_poweroff_at_exit();
   check_mechanism();
   kit_pci_scan(0, collect, &fd);
   kit_printf("pci: %u function(s) on bus 0\n", fd.n);
   check_host_bridge();
   for (unsigned i = 0; i < fd.n; i++) {
      unsigned n;

      if (fd.f[i].bus == 0 && fd.f[i].dev == 0 && fd.f[i].fn == 0) {
         continue;
      }
      n = size_bars(fd.f[i].bus, fd.f[i].dev, fd.f[i].fn, &ok);
      nbars += n;
      with_bars += n ? 1 : 0;
   }
   if (with_bars == 0) {
      kit_skip("bar-sizing", "no PCI function with BARs on bus 0 yet: only the 82441FX host "
               "bridge (00:00.0), which has none (%u function(s) found)", fd.n);
   } else if (ok) {
      kit_printf("pci: sized %u BAR(s) of %u function(s)\n", nbars, with_bars);
      kit_pass("bar-sizing");
   }
}
