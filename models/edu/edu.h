/*
 * QEMU's "edu" teaching device (PCI 1234:11E8), register-compatible.
 *
 * Why this device: it is the smallest PCI device with a DMA engine, MSI and
 * INTx, and QEMU's own tests and tutorials use it, so a command stream
 * written for QEMU runs unchanged on vtdsim and the answers can be diffed.
 *
 * BAR0 (1 MiB, 32-bit memory):
 *   0x00 RO  identification 0xRRrr00ed (major 1, minor 0)
 *   0x04 RW  liveness check: reads back the bitwise inverse of the last write
 *   0x08 RW  factorial: write n, read n! once status bit 0 clears
 *   0x20 RW  status: bit 0 computing (RO), bit 7 raise an interrupt when the
 *            factorial is done
 *   0x24 RO  interrupt status
 *   0x60 WO  interrupt raise: ORs the value into the interrupt status
 *   0x64 WO  interrupt acknowledge: clears the written bits
 *   0x80 RW  DMA source address (64-bit)
 *   0x88 RW  DMA destination address (64-bit)
 *   0x90 RW  DMA transfer count
 *   0x98 RW  DMA command: bit 0 start, bit 1 direction (0 RAM->device,
 *            1 device->RAM), bit 2 raise interrupt 0x100 when done
 * Offsets below 0x80 accept 4-byte accesses only, the DMA registers 4 or 8.
 * The device buffer is 4 KiB at device address 0x40000.  A DMA runs 100 ms
 * of simulated time after it is started (QEMU's timer), through the
 * platform's DMA path with the device's requester ID - so through VT-d.
 * Addresses are masked to the 28-bit DMA mask as QEMU does.
 *
 * Differences from QEMU 7.2, deliberate: a DMA range outside the device
 * buffer is a guest error that is logged and ignored (QEMU calls hw_error()
 * and the whole emulator exits); the factorial is computed at once instead
 * of on a thread (the status bit still reads "computing" until the event
 * queue runs, which happens before the next qtest command completes).
 */
#ifndef VTDSIM_MODELS_EDU_H
#define VTDSIM_MODELS_EDU_H

#include "pcie/pcie.h"

typedef struct EduDevice EduDevice;

/**
 * edu_new:
 * Creates an edu device at @devfn below @parent (NULL: the root bus).
 * The fabric owns the function; the device state is freed with it.
 * Returns NULL and sets @error if the slot is taken.
 */
EduDevice *edu_new(PcieFabric *f, PcieFn *parent, uint8_t devfn, GError **error);
PcieFn *edu_fn(EduDevice *d);

#endif
