#!/usr/bin/env python3
"""Generates the bundled workload traces under traces/ (committed; rerun to refresh).

usage: gen_bundled.py TRACES_DIR
Deterministic: the same script always writes the same files.
"""
import os, random, sys

HDR = "vtdsim-trace 1\n"


def nic_rx(path, strict, packets=512, ring=256):
    rnd = random.Random(1)
    out = [HDR, "# NIC receive ring: %d packets into a ring of %d 2 KiB buffers,\n" % (packets, ring)]
    if strict:
        out.append("# one map/unmap per packet with strict invalidation (Linux iommu.strict=1)\n")
    else:
        out.append("# buffers mapped once (a persistent mapping, as with a page pool)\n")
    out += ["platform platforms/server.platform\n",
            "iommu dmar0 mode=legacy inval=queued pool=0x10000000+64M %s\n" % ("strict" if strict else "lazy"),
            "domain rx dmar0 type=ss\n", "attach rx nic\n", "enable dmar0\n"]
    iova_base, pa_base = 0x100000000, 0x40000000
    if not strict:
        out.append("map rx 0x%x 0x%x %d perm=w\n" % (iova_base, pa_base, ring * 4096))
    t = 0
    for p in range(packets):
        slot = p % ring
        iova, pa = iova_base + slot * 4096, pa_base + slot * 4096
        if strict:
            out.append("map rx 0x%x 0x%x 4K perm=w\n" % (iova, pa))
        t += 1000
        length = rnd.choice([64, 128, 256, 512, 1024, 1500])
        out.append("@%dns dma write nic 0x%x %d\n" % (t, iova, length))
        if p in (0, ring, packets - 1):
            out.append("expect status SC\nexpect translated 0x%x\n" % pa)
            if not strict and p >= ring:
                out.append("expect cache iotlb hit\n")
        if strict:
            out.append("unmap rx 0x%x 4K\n" % iova)
    if strict:
        out += ["# after the last unmap the buffer is gone: a late write faults\n",
                "dma write nic 0x%x 64\n" % iova_base, "expect status UR\n", "expect fault WRITE_DENIED\n"]
    open(path, "w").write("".join(out))


def nvme(path, ios=256):
    rnd = random.Random(2)
    out = [HDR, "# NVMe-like controller: a submission queue and a completion queue in persistent\n",
           "# mappings; each I/O reads its 64-byte command, moves 4 KiB of data through a\n",
           "# per-I/O mapping (strict), and writes a 16-byte completion.\n",
           "platform platforms/server.platform\n",
           "iommu dmar0 mode=legacy inval=queued pool=0x10000000+64M strict\n",
           "domain io dmar0 type=ss\n", "attach io nvme\n",
           "map io 0x10000 0x20000000 64K perm=r   # submission queue, 1024 x 64 B\n",
           "map io 0x20000 0x20010000 16K perm=w   # completion queue, 1024 x 16 B\n",
           "enable dmar0\n"]
    t = 0
    for i in range(ios):
        t += 2000
        write = rnd.random() < 0.3
        out.append("@%dns dma read nvme 0x%x 64\n" % (t, 0x10000 + (i % 1024) * 64))
        data_iova, data_pa = 0x40000000 + (i % 64) * 4096, 0x30000000 + (i % 64) * 4096
        out.append("map io 0x%x 0x%x 4K perm=%s\n" % (data_iova, data_pa, "r" if write else "w"))
        out.append("dma %s nvme 0x%x 4096\n" % ("read" if write else "write", data_iova))
        out.append("unmap io 0x%x 4K\n" % data_iova)
        out.append("dma write nvme 0x%x 16\n" % (0x20000 + (i % 1024) * 16))
        if i % 64 == 0:
            out.append("expect status SC\nexpect no-fault\n")
    open(path, "w").write("".join(out))


def scalable(path):
    out = [HDR, "# Scalable mode: requests without PASID go through RID_PASID to a second-stage\n",
           "# domain; PASID 1 and PASID 2 are two processes' first-stage address spaces.\n",
           "platform platforms/server.platform\n",
           "iommu dmar0 mode=scalable pool=0x10000000+64M strict\n",
           "domain kernel dmar0 type=ss\n", "domain proc1 dmar0 type=fs\n", "domain proc2 dmar0 type=fs\n",
           "attach kernel nic\n", "attach proc1 nic pasid=1\n", "attach proc2 nic pasid=2\n",
           "map kernel 0x100000 0x50000000 64K perm=rw\n",
           "map proc1 0x7f0000000000 0x51000000 64K perm=rwu\n",
           "map proc2 0x7f0000000000 0x52000000 64K perm=rwu\n",
           "map proc2 0xffff800000000000 0x53000000 4K perm=rw   # supervisor page\n",
           "enable dmar0\n",
           "writeq 0x51000008 0x1111\n", "writeq 0x52000008 0x2222\n"]
    t = 0
    for i in range(200):
        t += 500
        pasid = 1 + i % 2
        off = (i * 64) % 0x10000
        out.append("@%dns dma read nic 0x%x 64 pasid=%d\n" % (t, 0x7f0000000000 + off, pasid))
        out.append("dma write nic 0x%x 64\n" % (0x100000 + off))
    out += ["# the same virtual address means different memory in each process\n",
            "dma read nic 0x7f0000000008 8 pasid=1\n", "expect data 1111000000000000\n",
            "dma read nic 0x7f0000000008 8 pasid=2\n", "expect data 2222000000000000\n",
            "expect translated 0x52000008\n",
            "# a user request to the supervisor page faults; a privileged one works\n",
            "dma read nic 0xffff800000000000 8 pasid=2\n", "expect fault SM_US_DENIED\n",
            "clear-faults dmar0\n",
            "dma read nic 0xffff800000000000 8 pasid=2 priv\n", "expect status SC\n",
            "# PASID 3 was never attached\n",
            "dma read nic 0x7f0000000000 8 pasid=3\n", "expect fault SM_PTE_NOT_PRESENT\n",
            "clear-faults dmar0\n"]
    open(path, "w").write("".join(out))


def main():
    d = sys.argv[1]
    nic_rx(os.path.join(d, "nic-rx-strict.trace"), True)
    nic_rx(os.path.join(d, "nic-rx-persistent.trace"), False)
    nvme(os.path.join(d, "nvme-queue.trace"))
    scalable(os.path.join(d, "scalable-pasid.trace"))


if __name__ == "__main__":
    main()
