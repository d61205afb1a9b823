/*
 * tests/guests/devices/uart.c - the 16550A as a driver sees it, on COM2
 * (serial1, a file backend; COM1 carries the kit's own output): scratch and
 * divisor latch registers, reset values, LSR bits, loopback data and modem
 * lines (with delta bits), overrun with FIFOs off and on, the 16-byte FIFO
 * in order, trigger levels and the character timeout in IIR, THRE and line
 * status interrupt identification, break, and that loopback bytes never
 * reach the backend while normal output does (the host checks serial1.log
 * holds "COM2 OUT" and none of the loopback bytes). Absent ports (COM3,
 * COM4 without serial2/serial3) read all ones.
 */
#include "kit/kit.h"
#include "kit/platform.h"

#define COM2 0x2f8
#define RBR 0
#define THR 0
#define IER 1
#define IIR 2
#define FCR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

static uint8_t rd(unsigned r) { return kit_inb((uint16_t)(COM2 + r)); }
static void wr(unsigned r, uint8_t v) { kit_outb((uint16_t)(COM2 + r), v); }

static void drain_rx(void)
{
   for (int i = 0; i < 64 && (rd(LSR) & 0x01); i++) {
      rd(RBR);
   }
}

static void set_divisor(uint16_t d)
{
   uint8_t lcr = rd(LCR);

   wr(LCR, lcr | 0x80);
   wr(0, (uint8_t)d);
   wr(1, (uint8_t)(d >> 8));
   wr(LCR, lcr & 0x7f);
}

static void check_reset_state(void)
{
   uint8_t ier = rd(IER), iir = rd(IIR), lcr = rd(LCR), mcr = rd(MCR), lsr = rd(LSR);
   uint8_t msr = rd(MSR);

   kit_printf("uart: COM2 after power-on: IER 0x%x IIR 0x%x LCR 0x%x MCR 0x%x LSR 0x%x MSR "
              "0x%x\n", ier, iir, lcr, mcr, lsr, msr);
   kit_check("reset-values", ier == 0 && iir == 0x01 && lcr == 0 && mcr == 0 && lsr == 0x60,
             "IER 0x%x IIR 0x%x LCR 0x%x MCR 0x%x LSR 0x%x (expected 0, 0x01, 0, 0, 0x60)",
             ier, iir, lcr, mcr, lsr);
   /* A file backend is a connected peer: DCD, DSR, CTS on. */
   kit_check("msr-file-backend", (msr & 0xb0) == 0xb0, "MSR 0x%x: expected DCD DSR CTS", msr);
}

static void check_registers(void)
{
   uint8_t dll, dlm;

   wr(SCR, 0x55);
   kit_check("scratch", rd(SCR) == 0x55 && (wr(SCR, 0xaa), rd(SCR) == 0xaa), "scratch 0x%x",
             rd(SCR));
   wr(LCR, 0x80);
   wr(0, 0x0c);
   wr(1, 0x01);
   dll = rd(0);
   dlm = rd(1);
   wr(LCR, 0x1b);   /* 8 data bits, even parity, 1 stop bit */
   kit_check("divisor-latch", dll == 0x0c && dlm == 0x01 && rd(LCR) == 0x1b && rd(IER) == 0,
             "DLL 0x%x DLM 0x%x LCR 0x%x IER 0x%x", dll, dlm, rd(LCR), rd(IER));
   wr(LCR, 0x03);
   set_divisor(1);
}

static void check_loopback_lines(void)
{
   uint8_t msr;

   wr(MCR, 0x10);
   rd(MSR);   /* clear the deltas */
   wr(MCR, 0x1f);   /* loop, OUT2, OUT1, RTS, DTR */
   msr = rd(MSR);
   kit_check("loopback-msr", (msr & 0xf0) == 0xf0 && (msr & 0x0b) == 0x0b,
             "MSR 0x%x with MCR 0x1f: expected DCD RI DSR CTS and DDCD DDSR DCTS", msr);
   kit_check("msr-deltas-clear", (rd(MSR) & 0x0f) == 0, "MSR 0x%x on the second read",
             rd(MSR));
   wr(MCR, 0x1b);   /* OUT1 off: RI falls, TERI */
   msr = rd(MSR);
   kit_check("loopback-teri", (msr & 0x40) == 0 && (msr & 0x04), "MSR 0x%x after OUT1 1->0",
             msr);
   wr(MCR, 0x10);
   rd(MSR);
}

static void check_loopback_data(void)
{
   uint8_t lsr, v;

   wr(FCR, 0x00);
   wr(MCR, 0x10);
   drain_rx();
   kit_check("lsr-idle", rd(LSR) == 0x60, "LSR 0x%x with nothing received", rd(LSR));
   wr(THR, 0x5a);
   lsr = rd(LSR);
   v = rd(RBR);
   kit_check("loopback-byte", (lsr & 0x61) == 0x61 && v == 0x5a && !(rd(LSR) & 1),
             "LSR 0x%x, RBR 0x%x (expected DR THRE TEMT, 0x5a, then DR clear)", lsr, v);
   /* FIFOs off: a second byte overruns the first. */
   wr(THR, 0x11);
   wr(THR, 0x22);
   lsr = rd(LSR);
   v = rd(RBR);
   kit_check("overrun-16450", (lsr & 0x03) == 0x03 && v == 0x22 && !(rd(LSR) & 0x02),
             "LSR 0x%x RBR 0x%x: expected DR and OE, the newer byte, and OE cleared by reading "
             "LSR", lsr, v);
}

static void check_fifo(void)
{
   uint8_t got[17], iir, lsr;
   bool order = true;

   wr(MCR, 0x10);
   wr(FCR, 0x07);   /* enable, clear both */
   iir = rd(IIR);
   kit_check("fifo-enabled", (iir & 0xc0) == 0xc0, "IIR 0x%x: FIFO bits not set", iir);
   for (int i = 0; i < 16; i++) {
      wr(THR, (uint8_t)(0x40 + i));
   }
   kit_check("fifo-no-overrun", !(rd(LSR) & 0x02), "OE after 16 bytes");
   wr(THR, 0x99);   /* the 17th overruns; the FIFO keeps the first 16 */
   lsr = rd(LSR);
   for (int i = 0; i < 17; i++) {
      got[i] = (rd(LSR) & 1) ? rd(RBR) : 0;
   }
   for (int i = 0; i < 16; i++) {
      if (got[i] != 0x40 + i) {
         order = false;
      }
   }
   kit_check("fifo-16-in-order", order && got[16] == 0, "bytes 0x%x 0x%x ... 0x%x, then 0x%x",
             got[0], got[1], got[15], got[16]);
   kit_check("fifo-overrun", (lsr & 0x02) != 0, "LSR 0x%x after 17 bytes: no OE", lsr);
   wr(FCR, 0x07);
}

static void check_trigger_and_timeout(void)
{
   uint64_t khz = kit_tsc_khz() ? kit_tsc_khz() : 3000000, t0;
   uint8_t iir1, iir2, iir3 = 0, iir4;

   /* 300 baud: a character takes 33 ms, the timeout is 4 of them. */
   set_divisor(384);
   wr(MCR, 0x10);
   wr(FCR, 0x87);   /* trigger level 8 */
   wr(IER, 0x01);   /* received data available */
   for (int i = 0; i < 7; i++) {
      wr(THR, (uint8_t)('a' + i));
   }
   iir1 = rd(IIR);
   wr(THR, 'h');
   iir2 = rd(IIR);
   rd(RBR);   /* 7 left: below the trigger */
   t0 = kit_rdtsc();
   while (kit_rdtsc() - t0 < khz * 1000) {
      iir3 = rd(IIR);
      if ((iir3 & 0x0f) == 0x0c) {
         break;
      }
   }
   drain_rx();
   iir4 = rd(IIR);
   kit_printf("uart: IIR below trigger 0x%x, at trigger 0x%x, timeout after %lu ms 0x%x, "
              "empty 0x%x\n", iir1, iir2, (kit_rdtsc() - t0) / khz, iir3, iir4);
   kit_check("iir-trigger-level", (iir1 & 0x0f) == 0x01 && (iir2 & 0x0f) == 0x04,
             "IIR 0x%x with 7 bytes, 0x%x with 8 (trigger 8)", iir1, iir2);
   kit_check("iir-char-timeout", (iir3 & 0x0f) == 0x0c && (iir4 & 0x0f) == 0x01,
             "IIR 0x%x below the trigger after waiting, 0x%x once read empty", iir3, iir4);
   wr(IER, 0x00);
   set_divisor(1);
}

static void check_interrupt_ids(void)
{
   uint8_t iir1, iir2, iir3, iir4;

   wr(MCR, 0x10);
   wr(FCR, 0x07);
   wr(IER, 0x02);   /* THR empty */
   iir1 = rd(IIR);
   iir2 = rd(IIR);   /* reading IIR cleared it */
   kit_check("iir-thre", (iir1 & 0x0f) == 0x02 && (iir2 & 0x0f) == 0x01,
             "IIR 0x%x then 0x%x (expected THRE, then none)", iir1, iir2);
   /* Line status has the highest priority. */
   wr(FCR, 0x00);
   wr(IER, 0x07);
   wr(THR, 1);
   wr(THR, 2);   /* overrun */
   iir3 = rd(IIR);
   rd(LSR);
   iir4 = rd(IIR);
   kit_check("iir-line-status", (iir3 & 0x0f) == 0x06 && (iir4 & 0x0f) == 0x04,
             "IIR 0x%x with an overrun (expected 0x06), 0x%x after LSR (expected data 0x04)",
             iir3, iir4);
   drain_rx();
   wr(IER, 0);
}

static void check_break(void)
{
   uint8_t lsr, v;

   wr(MCR, 0x10);
   wr(FCR, 0x00);
   drain_rx();
   wr(LCR, 0x43);   /* break */
   wr(LCR, 0x03);
   lsr = rd(LSR);
   v = rd(RBR);
   kit_check("loopback-break", (lsr & 0x19) == 0x19 && v == 0,
             "LSR 0x%x, RBR 0x%x after a break in loopback (expected BI FE DR, 0)", lsr, v);
   rd(LSR);
}

void kit_main(void)
{
   static const char out[] = "COM2 OUT\n";

   kit_poweroff_at_exit();
   wr(SCR, 0xa5);
   if (rd(SCR) != 0xa5) {
      kit_skip("com2", "no COM2: run with serial1.present = TRUE");
      return;
   }
   check_reset_state();
   check_registers();
   check_loopback_lines();
   check_loopback_data();
   check_fifo();
   check_trigger_and_timeout();
   check_interrupt_ids();
   check_break();
   /* Normal mode again: this reaches serial1.log. */
   wr(MCR, 0x03);
   wr(FCR, 0x07);
   for (const char *p = out; *p; p++) {
      for (int i = 0; i < 1000 && !(rd(LSR) & 0x20); i++) {
      }
      wr(THR, (uint8_t)*p);
   }
   kit_check("absent-ports", kit_inb(0x3ef) == 0xff && kit_inb(0x2ef) == 0xff &&
             kit_inb(0x3fd) != 0xff, "COM3 SCR 0x%x, COM4 SCR 0x%x, COM1 LSR 0x%x",
             kit_inb(0x3ef), kit_inb(0x2ef), kit_inb(0x3fd));
}
