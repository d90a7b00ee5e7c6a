#!/usr/bin/env python3
"""Writes the hand-made seed corpus of fuzz_vfio (tests/fuzz/corpus/vfio/).

Each seed is a program in the operation encoding fuzz_vfio.c documents;
they reach the deep states random bytes rarely do: a container with a
backend and mappings, device fds, bound interrupts, dirty tracking, hot
reset, the VF token, BAR mmaps.  Run from the source tree:

    python3 tests/fuzz/vfio_seeds.py tests/fuzz/corpus/vfio
    python3 tests/fuzz/vfio_seeds.py --repro DIR    # open findings (docs/robustness.md)
"""
import os
import struct
import sys

# fds are numbered by the order the program opens them (the harness's list)
C, G, D = 0, 1, 2

# requests (VFIO_ABI_REQ(n) numbers)
API, EXT, SET_IOMMU, G_STATUS, G_SET_C, G_UNSET_C, G_DEV_FD = 0, 1, 2, 3, 4, 5, 6
D_INFO, D_REGION, D_IRQ_INFO, D_SET_IRQS, D_RESET = 7, 8, 9, 10, 11
I_INFO, I_MAP, I_UNMAP, I_DIRTY = 12, 13, 14, 17
HR_INFO, HR, FEATURE = 12, 13, 17

# bdf choices (index into fuzz_vfio.c's bdfs[])
IOAT, EDU, NIC = 0, 1, 2

RW = 3
EVENTFD, BOOL, NONE = 4, 2, 1
MASK, UNMASK, TRIGGER = 8, 16, 32
INTX, MSI, MSIX, ERR, REQ = 0, 1, 2, 3, 4
CONFIG = 7


class Prog:
    def __init__(self):
        self.b = bytearray()

    def u8(self, *v):
        for x in v:
            self.b += struct.pack("<B", x)
        return self

    def open_container(self):
        return self.u8(0)

    def open_group(self, sel):
        return self.u8(1, sel)

    def close(self, fd):
        return self.u8(2, fd)

    def dup(self, fd):
        return self.u8(3, fd)

    def value(self, fd, req, v):
        return self.u8(4, fd, req, v)

    def set_container(self, g, c):
        return self.u8(4, g, G_SET_C, c)

    def device_fd(self, g, sel):
        return self.u8(4, g, G_DEV_FD, sel)

    def ptr(self, fd, req, payload, am=0, fix=b""):
        """A pointer argument: buffer of len(payload) bytes, argsz = size (am 0)."""
        self.u8(4, fd, req)
        self.b += struct.pack("<H", len(payload)) + payload
        self.u8(am)
        self.b += fix
        return self

    def pread(self, fd, region, off, n):
        self.u8(5, fd, region)
        self.b += struct.pack("<IH", off, n)
        return self

    def pwrite(self, fd, region, off, data):
        self.u8(6, fd, region)
        self.b += struct.pack("<IH", off, len(data)) + data
        return self

    def mmap(self, fd, region, page, pages, shared=True):
        return self.u8(7, fd, region, page, pages, 0, 0 if shared else 1)

    def munmap(self, which, first_page_only=False):
        return self.u8(8, which, 1 if first_page_only else 0)

    def advance(self, ns):
        """Up to 32767 ns exactly, longer times in 10 us steps (up to 327 ms)."""
        self.u8(9)
        self.b += struct.pack("<H", ns if ns < 0x8000 else 0x8000 | min(ns // 10000, 0x7fff))
        return self


def dma_map(iova, size, flags=RW):
    return struct.pack("<IIQQQ", 32, flags, 0, iova, size)


def dma_unmap(iova, size, flags=0, bitmap=False):
    s = struct.pack("<IIQQ", 48 if bitmap else 24, flags, iova, size)
    if bitmap:
        s += struct.pack("<QQQ", 4096, 8, 0)
    return s


def irq_set(flags, index, start, count, data=b""):
    return struct.pack("<IIIII", 20 + len(data), flags, index, start, count) + data


def setup(p, group_sel, iommu=3):
    p.open_container().open_group(group_sel).set_container(G, C).value(C, SET_IOMMU, iommu)
    return p


def seed_ioat_full():
    """vfio.rst on the IOAT: setup, info with caps, MAP_DMA, device fd, MSI-X on an eventfd, BAR0 mmap."""
    p = setup(Prog(), IOAT)
    p.value(C, API, 0).value(C, EXT, 3)
    p.ptr(G, G_STATUS, struct.pack("<II", 8, 0))
    p.ptr(C, I_INFO, struct.pack("<IIQII", 24, 0, 0, 0, 0))          # too small for the chain
    p.ptr(C, I_INFO, struct.pack("<I", 256) + bytes(252))             # room for the chain
    p.ptr(C, I_MAP, dma_map(0x100000, 0x4000), fix=bytes([0, 0]))     # vaddr = arena page 0
    p.ptr(C, I_MAP, dma_map(0x200000, 0x1000), fix=bytes([5, 1]))     # vaddr unmapped: EFAULT
    p.device_fd(G, IOAT)
    p.ptr(D, D_INFO, struct.pack("<IIIII", 24, 0, 0, 0, 0) + bytes(4))
    for r in (0, 7, 8):
        p.ptr(D, D_REGION, struct.pack("<IIIIQQ", 32, 0, r, 0, 0, 0))
    p.ptr(D, D_IRQ_INFO, struct.pack("<IIII", 16, 0, MSIX, 0))
    p.pread(D, CONFIG, 0, 64)
    p.pwrite(D, CONFIG, 4, struct.pack("<H", 6))                       # memory + bus master
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, MSIX, 0, 1, bytes(4)), fix=bytes([0]))
    p.pread(D, 0, 0, 8).pread(D, 0, 0x80, 8)
    p.pwrite(D, 0, 0x84, struct.pack("<B", 0x20))                      # CHANCMD reset
    p.advance(1000)
    p.mmap(D, 0, 0, 1)
    p.ptr(D, D_SET_IRQS, irq_set(BOOL | TRIGGER, MSIX, 0, 1, b"\x01"))  # loopback trigger
    p.ptr(D, D_SET_IRQS, irq_set(NONE | TRIGGER, MSIX, 0, 0))          # disable
    p.value(D, D_RESET, 0)
    p.ptr(C, I_UNMAP, dma_unmap(0x100000, 0x4000))
    p.munmap(0)
    p.close(D).close(G).close(C)
    return p.b


def seed_dirty():
    """type1v2 dirty tracking: START, MAP, UNMAP with a bitmap, GET_BITMAP, STOP, UNMAP_ALL."""
    p = setup(Prog(), EDU)
    p.ptr(C, I_DIRTY, struct.pack("<II", 8, 1))
    p.ptr(C, I_MAP, dma_map(0x10000, 0x2000), fix=bytes([0, 2]))
    p.ptr(C, I_MAP, dma_map(0x20000, 0x3000), fix=bytes([0, 8]))
    get = struct.pack("<IIQQQQQ", 48, 4, 0x10000, 0x40000, 4096, 8, 0)
    p.ptr(C, I_DIRTY, get, fix=bytes([1, 1, 0]))
    p.ptr(C, I_UNMAP, dma_unmap(0x10000, 0x2000, 1, True), fix=bytes([1, 1, 0]))
    p.ptr(C, I_UNMAP, dma_unmap(0x20000, 0x1000))                      # v2 bisect: EINVAL
    p.ptr(C, I_DIRTY, struct.pack("<II", 8, 2))
    p.ptr(C, I_UNMAP, dma_unmap(0, 0, 2))                              # UNMAP_ALL
    p.device_fd(G, EDU)
    p.ptr(D, D_REGION, struct.pack("<IIIIQQ", 32, 0, 0, 0, 0, 0))
    p.pread(D, 0, 0, 4).pwrite(D, 0, 4, struct.pack("<I", 0x12345678)).pread(D, 0, 4, 4)
    return p.b


def seed_nic_irqs():
    """A PCIe endpoint behind a root port: MSI, INTx and masking, ERR/REQ, hot reset, VF token."""
    p = setup(Prog(), NIC)
    p.device_fd(G, NIC)
    for idx in (INTX, MSI, MSIX, ERR, REQ):
        p.ptr(D, D_IRQ_INFO, struct.pack("<IIII", 16, 0, idx, 0))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, MSI, 0, 2, bytes(8)), fix=bytes([0, 1]))
    p.ptr(D, D_SET_IRQS, irq_set(BOOL | TRIGGER, MSI, 0, 2, b"\x01\x01"))
    p.ptr(D, D_SET_IRQS, irq_set(NONE | TRIGGER, MSI, 0, 0))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, INTX, 0, 1, bytes(4)), fix=bytes([1]))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | UNMASK, INTX, 0, 1, bytes(4)), fix=bytes([0]))
    p.ptr(D, D_SET_IRQS, irq_set(NONE | MASK, INTX, 0, 1))
    p.ptr(D, D_SET_IRQS, irq_set(NONE | UNMASK, INTX, 0, 1))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, ERR, 0, 1, bytes(4)), fix=bytes([0]))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, REQ, 0, 1, bytes(4)), fix=bytes([1]))
    p.ptr(D, D_SET_IRQS, irq_set(NONE | TRIGGER, ERR, 0, 1))
    p.ptr(D, D_SET_IRQS, irq_set(NONE | TRIGGER, INTX, 0, 0))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, MSIX, 0, 3, bytes(12)), fix=bytes([0, 1, 3]))
    p.ptr(D, D_SET_IRQS, irq_set(EVENTFD | TRIGGER, MSIX, 1, 1, bytes(4)), fix=bytes([0]))
    p.ptr(D, HR_INFO, struct.pack("<III", 12, 0, 0))                   # ENOSPC with the count
    p.ptr(D, HR_INFO, struct.pack("<III", 44, 0, 0) + bytes(32))
    p.ptr(D, HR, struct.pack("<III", 16, 0, 1) + bytes(4), fix=bytes([6 | (1 << 3)]))   # group fd
    p.ptr(D, FEATURE, struct.pack("<II", 8, (1 << 18)))                # PROBE the VF token
    p.ptr(D, FEATURE, struct.pack("<II", 24, (1 << 17)) + bytes(range(16)))
    p.pread(D, 2, 0, 4).pwrite(D, 2, 0, b"\x01\x02")                   # the I/O BAR
    p.pread(D, 3, 0, 64)                                               # MSI-X table reads as ones
    p.mmap(D, 3, 0, 4).mmap(D, 0, 1, 2).munmap(0, True)
    p.pread(D, CONFIG, 0x100, 256)
    p.value(D, D_RESET, 0)
    return p.b


def seed_edu_dma():
    """edu DMA through the IOMMU: to a mapped page, then to an unmapped IOVA (a VT-d fault)."""
    p = setup(Prog(), EDU)
    p.ptr(C, I_MAP, dma_map(0x100000, 0x1000), fix=bytes([0, 1]))
    p.device_fd(G, EDU)
    p.pwrite(D, CONFIG, 4, struct.pack("<H", 6))
    for dst in (0x100000, 0x300000):
        p.pwrite(D, 0, 0x80, struct.pack("<Q", 0x40000)).pwrite(D, 0, 0x88, struct.pack("<Q", dst))
        p.pwrite(D, 0, 0x90, struct.pack("<Q", 64)).pwrite(D, 0, 0x98, struct.pack("<Q", 3 | 4))
        p.advance(150000000)
        p.pread(D, 0, 0x24, 4)
    return p.b


def seed_lifetimes():
    """type1 (v1) rules and fd lifetimes: dup/close orders, UNSET with a device open, reopen."""
    p = setup(Prog(), EDU, 1)
    p.ptr(C, I_MAP, dma_map(0x1000, 0x2000), fix=bytes([0, 4]))
    p.ptr(C, I_MAP, dma_map(0x1000, 0x1000), fix=bytes([0, 4]))       # EEXIST
    p.ptr(C, I_MAP, dma_map(0xfee00000, 0x1000), fix=bytes([0, 5]))   # the MSI window
    p.ptr(C, I_MAP, dma_map(0x8000, 0x1000), fix=bytes([3]))          # read-only page
    p.ptr(C, I_UNMAP, dma_unmap(0x1000, 0x1000))                      # v1: removes the whole mapping
    p.device_fd(G, EDU)                                                # fd 2
    p.dup(C)                                                           # fd 3 = container
    p.close(C)                                                         # fd 3 moves to slot 0
    p.dup(D).close(D)
    p.u8(4, G, G_UNSET_C, 0)                                           # EBUSY: device open
    p.close(2)                                                         # last device fd
    p.u8(4, G, G_UNSET_C, 0)
    p.open_group(EDU)                                                  # EBUSY: still open
    p.close(G).open_group(EDU)
    p.set_container(1, 0).value(0, SET_IOMMU, 3)
    p.open_group(0xff)                                                 # /dev/iommu: ENODEV
    p.open_group(0x80 | 99)                                            # no such group
    p.u8(4, 0xff, API, 0)                                              # not a VFIO fd
    return p.b


def repro_null_arg():
    """Open finding: VFIO_GROUP_GET_STATUS with a NULL argument (the kernel: EFAULT)."""
    return Prog().open_container().open_group(IOAT).u8(4, G, G_STATUS, 0, 0, 0xf0).b


def repro_ro_dma():
    """Open finding: MAP_DMA of a read-only page for writes succeeds; edu's DMA to it faults."""
    p = setup(Prog(), EDU)
    p.ptr(C, I_MAP, dma_map(0x100000, 0x1000), fix=bytes([3]))
    p.device_fd(G, EDU)
    p.pwrite(D, CONFIG, 4, struct.pack("<H", 6))
    p.pwrite(D, 0, 0x80, struct.pack("<Q", 0x40000)).pwrite(D, 0, 0x88, struct.pack("<Q", 0x100000))
    p.pwrite(D, 0, 0x90, struct.pack("<Q", 64)).pwrite(D, 0, 0x98, struct.pack("<Q", 3))
    return p.advance(150000000).b


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--repro":
        # reproducers of open findings: crash with VTDSIM_FUZZ_VFIO_STRICT=1; never in the corpus
        os.makedirs(sys.argv[2], exist_ok=True)
        for name, fn in (("null-arg", repro_null_arg), ("ro-dma", repro_ro_dma)):
            with open(os.path.join(sys.argv[2], name), "wb") as f:
                f.write(fn())
        return
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fuzz/corpus/vfio"
    os.makedirs(out, exist_ok=True)
    for name, fn in (("ioat-full", seed_ioat_full), ("dirty", seed_dirty), ("nic-irqs", seed_nic_irqs), ("edu-dma", seed_edu_dma),
                     ("lifetimes", seed_lifetimes)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(fn())


if __name__ == "__main__":
    main()
