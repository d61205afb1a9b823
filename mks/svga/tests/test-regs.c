/*
 * SVGA II register-level tests: the PCI function and its BARs, version
 * negotiation, the register file, mode registers, config keys, the BAR
 * listener and the MMIO fallback of the memory BARs.
 */
#include "svga-test.h"

#include <unistd.h>

static void
test_pci_identity(void)
{
   t_env t;
   t_setup(&t);
   vmx_platform *p = t.p;
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 0, 4), ==, 0x040515ad);
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 8, 4) >> 8, ==, 0x030000);
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 0x2c, 4), ==, 0x040515ad);
   g_assert_cmpuint(t_cfg_read(p, T_SLOT, 0x3d, 1), ==, 1);
   g_assert_cmpuint(t_cfg_read(p, T_SLOT, 0x3c, 1), ==, pci_intx_gsi(T_SLOT, 1));
   /* MSI capability */
   g_assert_true(t_cfg_read(p, T_SLOT, 6, 2) & PCI_STATUS_CAP_LIST);
   unsigned cap = t_cfg_read(p, T_SLOT, 0x34, 1);
   g_assert_cmpuint(cap, >=, 0x40);
   g_assert_cmpuint(t_cfg_read(p, T_SLOT, cap, 1), ==, PCI_CAP_ID_MSI);
   /* BAR sizing */
   t_cfg_write(p, T_SLOT, 0x14, 4, 0xffffffff);
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 0x14, 4), ==, 0xff000008);
   t_cfg_write(p, T_SLOT, 0x18, 4, 0xffffffff);
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 0x18, 4), ==, 0xfffc0000);
   t_cfg_write(p, T_SLOT, 0x10, 4, 0xffffffff);
   g_assert_cmphex(t_cfg_read(p, T_SLOT, 0x10, 4), ==, 0xfffffff1);
   t_program_bars(p);
   g_assert_cmphex(svga_bar_address(t.s, SVGA_BAR_VRAM), ==, T_VRAM);
   g_assert_cmphex(svga_bar_address(t.s, SVGA_BAR_FIFO), ==, T_FIFO);
   g_assert_cmphex(svga_bar_address(t.s, SVGA_BAR_IO), ==, T_IO);
   t_teardown(&t);
}

static void
test_id_negotiation(void)
{
   t_env t;
   t_setup(&t);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_2);
   t_reg_write(&t, SVGA_REG_ID, SVGA_ID_1);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_1);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_CAPABILITIES), !=, 0);
   t_reg_write(&t, SVGA_REG_ID, SVGA_ID_0);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_0);
   /* SVGA_ID_0 has no registers from CAPABILITIES on */
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_CAPABILITIES), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_VRAM_SIZE), ==, 16u << 20);
   /* a version the device does not know is refused */
   t_reg_write(&t, SVGA_REG_ID, SVGA_MAKE_ID(3));
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_0);
   t_reg_write(&t, SVGA_REG_ID, 0x12345678);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_0);
   t_reg_write(&t, SVGA_REG_ID, SVGA_ID_2);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_ID), ==, SVGA_ID_2);
   t_teardown(&t);
}

static void
test_registers(void)
{
   t_env t;
   t_setup(&t);
   uint32_t caps = t_reg_read(&t, SVGA_REG_CAPABILITIES);
   uint32_t want = SVGA_CAP_GMR | SVGA_CAP_GMR2 | SVGA_CAP_SCREEN_OBJECT_2 | SVGA_CAP_IRQMASK |
                   SVGA_CAP_EXTENDED_FIFO | SVGA_CAP_PITCHLOCK | SVGA_CAP_CURSOR |
                   SVGA_CAP_ALPHA_CURSOR | SVGA_CAP_CURSOR_BYPASS_2 | SVGA_CAP_TRACES |
                   SVGA_CAP_DISPLAY_TOPOLOGY | SVGA_CAP_RECT_COPY | SVGA_CAP_8BIT_EMULATION;
   g_assert_cmphex(caps & want, ==, want);
   g_assert_cmphex(caps & SVGA_CAP_3D, ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_VRAM_SIZE), ==, 16u << 20);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MEM_SIZE), ==, 256u << 10);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_FB_START), ==, T_VRAM);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_MEM_START), ==, T_FIFO);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_FB_OFFSET), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MAX_WIDTH), ==, 8192);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MAX_HEIGHT), ==, 8192);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_HOST_BITS_PER_PIXEL), ==, 32);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MEM_REGS), ==, SVGA_FIFO_NUM_REGS);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_SCRATCH_SIZE), ==, 64);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_GMR_MAX_IDS), ==, 64);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_GMR_MAX_DESCRIPTOR_LENGTH), ==, 4096);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_GMRS_MAX_PAGES), ==, 65536);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MEMORY_SIZE), ==, (16u << 20) + (256u << 20));
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MAX_PRIMARY_MEM), ==, 16u << 20);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_NUM_DISPLAYS), ==, 1);
   /* no 3D: every device capability reads 0 */
   for (uint32_t i = 0; i < 300; i += 37) {
      t_reg_write(&t, SVGA_REG_DEV_CAP, i);
      g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DEV_CAP), ==, 0);
   }
   /* scratch and palette */
   t_reg_write(&t, SVGA_SCRATCH_BASE + 5, 0xcafef00d);
   g_assert_cmphex(t_reg_read(&t, SVGA_SCRATCH_BASE + 5), ==, 0xcafef00d);
   g_assert_cmphex(t_reg_read(&t, SVGA_SCRATCH_BASE + 64), ==, 0);
   t_reg_write(&t, SVGA_PALETTE_BASE + 7, 0x1ab);
   g_assert_cmphex(t_reg_read(&t, SVGA_PALETTE_BASE + 7), ==, 0xab);
   /* misc registers */
   t_reg_write(&t, SVGA_REG_GUEST_ID, 0x5010);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_GUEST_ID), ==, 0x5010);
   t_reg_write(&t, SVGA_REG_TRACES, 7);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_TRACES), ==, 1);
   t_reg_write(&t, SVGA_REG_IRQMASK, 0xffffffff);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_IRQMASK), ==, SVGA_IRQFLAG_ALL);
   t_reg_write(&t, SVGA_REG_IRQMASK, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BUSY), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, 1000), ==, 0);   /* unknown */
   /* display topology */
   t_reg_write(&t, SVGA_REG_NUM_GUEST_DISPLAYS, 2);
   t_reg_write(&t, SVGA_REG_DISPLAY_ID, 1);
   t_reg_write(&t, SVGA_REG_DISPLAY_IS_PRIMARY, 0);
   t_reg_write(&t, SVGA_REG_DISPLAY_POSITION_X, 1024);
   t_reg_write(&t, SVGA_REG_DISPLAY_POSITION_Y, 0);
   t_reg_write(&t, SVGA_REG_DISPLAY_WIDTH, 800);
   t_reg_write(&t, SVGA_REG_DISPLAY_HEIGHT, 600);
   t_reg_write(&t, SVGA_REG_DISPLAY_ID, 0);
   t_reg_write(&t, SVGA_REG_DISPLAY_WIDTH, 1024);
   t_reg_write(&t, SVGA_REG_DISPLAY_ID, 1);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DISPLAY_POSITION_X), ==, 1024);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DISPLAY_WIDTH), ==, 800);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DISPLAY_HEIGHT), ==, 600);
   t_reg_write(&t, SVGA_REG_DISPLAY_ID, SVGA_ID_INVALID);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DISPLAY_WIDTH), ==, 0);
   t_reg_write(&t, SVGA_REG_DISPLAY_WIDTH, 5);   /* ignored */
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_NUM_GUEST_DISPLAYS), ==, 2);
   /* other access sizes are not registers */
   g_assert_cmphex(vmx_platform_pio_read(t.p, NULL, T_IO + 1, 2), ==, 0xffff);
   /* the BIOS port reads 0 */
   g_assert_cmphex(inl(t.p, T_IO + SVGA_BIOS_PORT), ==, 0);
   t_teardown(&t);
}

static void
test_mode_registers(void)
{
   t_env t;
   t_setup(&t);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_WIDTH), ==, 1024);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_HEIGHT), ==, 768);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BITS_PER_PIXEL), ==, 32);
   t_reg_write(&t, SVGA_REG_WIDTH, 800);
   t_reg_write(&t, SVGA_REG_HEIGHT, 600);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DEPTH), ==, 24);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 3200);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_FB_SIZE), ==, 3200 * 600);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_RED_MASK), ==, 0xff0000);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_GREEN_MASK), ==, 0xff00);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_BLUE_MASK), ==, 0xff);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_PSEUDOCOLOR), ==, 0);
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 16);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DEPTH), ==, 16);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 1600);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_RED_MASK), ==, 0xf800);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_GREEN_MASK), ==, 0x07e0);
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 15);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_DEPTH), ==, 15);
   g_assert_cmphex(t_reg_read(&t, SVGA_REG_RED_MASK), ==, 0x7c00);
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 24);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 2400);
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 8);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_PSEUDOCOLOR), ==, 1);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 800);
   /* invalid values are ignored */
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 7);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BITS_PER_PIXEL), ==, 8);
   t_reg_write(&t, SVGA_REG_WIDTH, 0);
   t_reg_write(&t, SVGA_REG_HEIGHT, 9000);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_WIDTH), ==, 800);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_HEIGHT), ==, 600);
   /* pitch lock */
   t_reg_write(&t, SVGA_REG_BITS_PER_PIXEL, 32);
   t_reg_write(&t, SVGA_REG_PITCHLOCK, 4096);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 4096);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_FB_SIZE), ==, 4096 * 600);
   t_reg_write(&t, SVGA_REG_PITCHLOCK, 0);
   /* the FIFO pitch lock register, once the FIFO is on */
   t_fifo_init(&t);
   t.fifo[SVGA_FIFO_PITCHLOCK] = 3328;
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BYTES_PER_LINE), ==, 3328);
   t_teardown(&t);
}

static void
test_config_keys(void)
{
   t_env t;
   t_setup_cfg(&t, "svga.vramSize = \"8388608\"\nsvga.maxWidth = 1920\nsvga.maxHeight = 1200\n");
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_VRAM_SIZE), ==, 8u << 20);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MAX_WIDTH), ==, 1920);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_MAX_HEIGHT), ==, 1200);
   t_cfg_write(t.p, T_SLOT, 0x14, 4, 0xffffffff);
   g_assert_cmphex(t_cfg_read(t.p, T_SLOT, 0x14, 4), ==, 0xff800008);
   t_teardown(&t);

   /* not a power of two: the BAR is the next one, VRAM_SIZE what was asked */
   t_setup_cfg(&t, "svga.vramSize = \"12582912\"\n");
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_VRAM_SIZE), ==, 12u << 20);
   void *h;
   uint64_t n;
   g_assert_true(svga_bar_memory(t.s, SVGA_BAR_VRAM, &h, &n));
   g_assert_cmpuint(n, ==, 16u << 20);
   g_assert_false(svga_bar_memory(t.s, SVGA_BAR_IO, &h, &n));
   t_teardown(&t);

   static const char *const bad[] = {
      "svga.vramSize = \"1000\"\n",
      "svga.vramSize = \"1073741824\"\n",
      "svga.vramSize = \"8388609\"\n",
      "svga.vramSize = \"lots\"\n",
      "svga.maxWidth = 100\n",
   };
   for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
      char *err = NULL;
      vmx_platform *p = test_platform(t_table, G_N_ELEMENTS(t_table), bad[i], NULL, &err);
      g_assert_null(p);
      g_assert_nonnull(strstr(err, "svga."));
      g_free(err);
   }
}

typedef struct moves {
   unsigned n;
   unsigned bar[16];
   uint64_t old[16], now[16];
   void *host[16];
   uint64_t size[16];
} moves;

static void
record_move(void *opaque, unsigned bar, uint64_t old, uint64_t now, void *host, uint64_t size)
{
   moves *m = opaque;
   g_assert_cmpuint(m->n, <, 16);
   m->bar[m->n] = bar;
   m->old[m->n] = old;
   m->now[m->n] = now;
   m->host[m->n] = host;
   m->size[m->n] = size;
   m->n++;
}

static void
test_bar_listener(void)
{
   t_env t;
   t_setup(&t);
   moves m = { 0 };
   svga_set_bar_listener(t.s, record_move, &m);
   /* told at once where both memory BARs are */
   g_assert_cmpuint(m.n, ==, 2);
   g_assert_cmpuint(m.bar[0], ==, SVGA_BAR_VRAM);
   g_assert_cmphex(m.now[0], ==, T_VRAM);
   g_assert_cmphex(m.old[0], ==, PCI_BAR_UNMAPPED);
   g_assert_true(m.host[0] == (void *)t.vram);
   g_assert_cmpuint(m.size[0], ==, 16u << 20);
   g_assert_cmpuint(m.bar[1], ==, SVGA_BAR_FIFO);
   g_assert_cmphex(m.now[1], ==, T_FIFO);
   g_assert_true(m.host[1] == (void *)t.fifo);
   /* a move */
   m.n = 0;
   t_cfg_write(t.p, T_SLOT, 0x14, 4, 0xe4000000);
   g_assert_cmpuint(m.n, ==, 1);
   g_assert_cmphex(m.old[0], ==, T_VRAM);
   g_assert_cmphex(m.now[0], ==, 0xe4000000);
   /* memory decoding off: both go away */
   m.n = 0;
   t_cfg_write(t.p, T_SLOT, 0x04, 2, PCI_COMMAND_IO);
   g_assert_cmpuint(m.n, ==, 2);
   g_assert_cmphex(m.now[0], ==, PCI_BAR_UNMAPPED);
   g_assert_cmphex(m.now[1], ==, PCI_BAR_UNMAPPED);
   /* back on, then a machine reset unmaps them (command register cleared) */
   m.n = 0;
   t_cfg_write(t.p, T_SLOT, 0x04, 2, PCI_COMMAND_IO | PCI_COMMAND_MEMORY);
   g_assert_cmpuint(m.n, ==, 2);
   m.n = 0;
   vmx_platform_reset(t.p);
   g_assert_cmpuint(m.n, ==, 2);
   g_assert_cmphex(m.now[0], ==, PCI_BAR_UNMAPPED);
   svga_set_bar_listener(t.s, NULL, NULL);
   t_program_bars(t.p);
   g_assert_cmpuint(m.n, ==, 2);
   t_teardown(&t);
}

static void
test_mmio_fallback(void)
{
   t_env t;
   t_setup(&t);
   vmx_platform_mmio_write(t.p, NULL, T_VRAM + 16, 4, 0xdeadbeef);
   uint32_t v;
   memcpy(&v, t.vram + 16, 4);
   g_assert_cmphex(v, ==, 0xdeadbeef);
   g_assert_cmphex(vmx_platform_mmio_read(t.p, NULL, T_VRAM + 17, 2), ==, 0xadbe);
   vmx_platform_mmio_write(t.p, NULL, T_VRAM + (16u << 20) - 8, 8, 0x0102030405060708ull);
   g_assert_cmphex(vmx_platform_mmio_read(t.p, NULL, T_VRAM + (16u << 20) - 8, 8), ==,
                   0x0102030405060708ull);
   /* a write of NEXT_CMD through the FIFO BAR wakes the MKS side */
   int fd = svga_wake_fd(t.s);
   uint64_t cnt;
   while (read(fd, &cnt, sizeof cnt) > 0) {
   }
   vmx_platform_mmio_write(t.p, NULL, T_FIFO + SVGA_FIFO_NEXT_CMD * 4, 4, 4096);
   g_assert_cmpint(read(fd, &cnt, sizeof cnt), ==, sizeof cnt);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_NEXT_CMD], ==, 4096);
   g_assert_cmphex(vmx_platform_mmio_read(t.p, NULL, T_FIFO + 8, 4), ==, 4096);
   t_teardown(&t);
}

static void
test_reset(void)
{
   t_env t;
   t_setup(&t);
   t_fifo_init(&t);
   t_legacy_mode(&t, 640, 480, 16);
   t_reg_write(&t, SVGA_REG_IRQMASK, SVGA_IRQFLAG_ANY_FENCE);
   t_reg_write(&t, SVGA_SCRATCH_BASE, 1);
   vmx_platform_reset(t.p);
   t_program_bars(t.p);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_ENABLE), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_CONFIG_DONE), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_WIDTH), ==, 1024);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_BITS_PER_PIXEL), ==, 32);
   g_assert_cmpuint(t_reg_read(&t, SVGA_REG_IRQMASK), ==, 0);
   g_assert_cmpuint(t_reg_read(&t, SVGA_SCRATCH_BASE), ==, 0);
   /* memory is not cleared, but the FIFO is off until configured again */
   g_assert_cmpuint(t.fifo[SVGA_FIFO_MIN], ==, T_FIFO_MIN);
   T_PUSH(&t, SVGA_CMD_FENCE, 99);
   svga_process(t.s);
   g_assert_cmpuint(t.fifo[SVGA_FIFO_FENCE], !=, 99);
   t_teardown(&t);
}

int
main(int argc, char **argv)
{
   g_test_init(&argc, &argv, NULL);
   g_test_add_func("/svga/regs/pci-identity", test_pci_identity);
   g_test_add_func("/svga/regs/id-negotiation", test_id_negotiation);
   g_test_add_func("/svga/regs/registers", test_registers);
   g_test_add_func("/svga/regs/mode-registers", test_mode_registers);
   g_test_add_func("/svga/regs/config-keys", test_config_keys);
   g_test_add_func("/svga/regs/bar-listener", test_bar_listener);
   g_test_add_func("/svga/regs/mmio-fallback", test_mmio_fallback);
   g_test_add_func("/svga/regs/reset", test_reset);
   return g_test_run();
}
