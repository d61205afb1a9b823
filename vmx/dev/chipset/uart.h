/*
 * vmx/dev/chipset/uart.h - 16550A UARTs COM1-COM4.
 *
 * Ports, per VMware's keys serial0-serial3:
 *   serial0 = COM1 0x3f8 IRQ 4     serial1 = COM2 0x2f8 IRQ 3
 *   serial2 = COM3 0x3e8 IRQ 4     serial3 = COM4 0x2e8 IRQ 3
 * (COM1/COM3 and COM2/COM4 share a line: it is the OR of the two ports.)
 *
 * Config keys:
 *   serialN.present     TRUE to have the port (default FALSE)
 *   serialN.fileType    file    write the guest's output to fileName
 *                               (created or truncated; no input)
 *                       pipe    VMware's named pipe, on Linux a Unix socket:
 *                               connect to fileName as a client; with
 *                               serialN.pipe.endPoint = "server", listen
 *                               there instead (like socket)
 *                       socket  listen on a Unix socket at fileName (a stale
 *                               socket there is replaced); one client at a
 *                               time
 *                       pty     allocate a pseudo-terminal (raw mode); its
 *                               path is logged and given by uart_pty_path();
 *                               with fileName, a symlink there points to it
 *   serialN.fileName    the path (required except for pty)
 *   serialN.pipe.endPoint  client (default) | server
 *
 * Backend I/O runs on one thread per port; vCPUs never block on it. Output
 * goes to the backend as soon as the guest writes it (the thread is woken
 * for every batch; file writes are unbuffered), so a file fills as the
 * guest prints. While a socket, pipe or pty has nobody on the other end,
 * output is discarded (the guest never stalls on an absent peer) and the
 * modem status shows DCD, DSR and CTS off; a connected peer raises them
 * (with the delta bits and an MSR interrupt if enabled). A slow peer
 * applies back-pressure: the transmit FIFO stays full and THRE clear until
 * the thread hands the bytes on. Input is read only as far as the receive
 * FIFO has room, so nothing from the host overruns it.
 *
 * Registers: RBR/THR, IER (bits 0-3), IIR/FCR (16-byte FIFOs, trigger
 * levels 1/4/8/14, IIR bits 7-6 set while FIFOs are on), LCR with DLAB and
 * break, MCR (DTR, RTS, OUT1, OUT2, LOOP), LSR (DR, OE, PE, FE, BI, THRE,
 * TEMT, FIFO error), MSR, SCR, divisor latch. Interrupt priority as the
 * datasheet: line status > received data / character timeout > THR empty >
 * modem status. The character timeout fires 4 character times (from the
 * divisor, 10 bits per character) after the last FIFO activity. Loopback
 * feeds THR into the receiver and MCR outputs into MSR (RTS->CTS, DTR->DSR,
 * OUT1->RI, OUT2->DCD); a break in loopback receives a 0 with BI and FE.
 * Transmission takes no time: THR empties as soon as the backend accepts
 * the byte.
 *
 * As on a PC, the interrupt reaches the PIC only while MCR.OUT2 is set, and
 * not in loopback mode (the UART drives its OUT pins inactive then).
 */
#ifndef VMX_DEV_CHIPSET_UART_H
#define VMX_DEV_CHIPSET_UART_H

#include "vmx/dev/platform.h"

#include <stdbool.h>

#define UART_PORTS 4

typedef struct uart uart;

uart *uart_get(vmx_platform *p);
/* The slave path of serialN's pseudo-terminal, or NULL. */
const char *uart_pty_path(uart *u, unsigned n);
/* Wait up to timeout_ms until everything serialN's guest wrote has been
 * handed to the backend; true when it has. */
bool uart_flush(uart *u, unsigned n, unsigned timeout_ms);

#endif
