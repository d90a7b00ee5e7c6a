#!/usr/bin/env python3
"""Generates the bundled experiment traces of traces/experiments (timing model,
issue 7).  Deterministic: a fixed xorshift seed.  Run from this directory:
    python3 gen_experiments.py
The traces replay functionally today; once the replayer calls the timing
model (src/timing/timing.h) they give the unloaded latencies of
docs/calibration.md experiment (b) and (d) through `vtdsim replay`.
`vtdsim bench --experiment NAME` remains the reference implementation."""

import collections

N = 1000          # reads per trace
GAP = "2us"       # one outstanding read: the next is issued long after the last completes


def xorshift(state):
    state ^= (state << 13) & 0xFFFFFFFFFFFFFFFF
    state ^= state >> 7
    state ^= (state << 17) & 0xFFFFFFFFFFFFFFFF
    return state


def write(name, comment, window, page):
    rng = 0x2545F4914F6CDD1D
    lru = collections.OrderedDict()   # the 64-entry fully associative LRU IOTLB
    lines = ["vtdsim-trace 1"]
    lines += ["# " + c for c in comment]
    lines += [
        "platform xeon-e5.platform",
        "iommu dmar0 mode=legacy inval=queued pool=0x10000000+32M lazy",
        "domain d dmar0 type=ss levels=4",
        "attach d nic",
        "map d 0 0x4000000 64M perm=rw page=%s" % page,
        "enable dmar0",
    ]
    pagesize = {"4K": 4096, "2M": 2 << 20}[page]
    for i in range(N):
        rng = xorshift(rng)
        addr = (rng % (window // 64)) * 64
        lines.append("@+%s dma read nic 0x%x 64" % (GAP, addr))
        pg = addr // pagesize
        hit = pg in lru
        if i < 8 or i == N - 1:
            lines.append("expect status SC")
            lines.append("expect cache iotlb %s" % ("hit" if hit else "miss"))
        lru[pg] = True
        lru.move_to_end(pg)
        if len(lru) > 64:
            lru.popitem(last=False)
    with open(name, "w") as f:
        f.write("\n".join(lines) + "\n")


write("miss-penalty-4k.trace",
      ["Experiment (b), IOTLB hits: one 64 B read at a time in a 4 KiB window.",
       "Expected with [timing] profile = xeon-e5: about 548 ns per read."],
      4096, "4K")
write("miss-penalty-64m.trace",
      ["Experiment (b), IOTLB misses: one 64 B read at a time in a 64 MiB window",
       "(4 KiB pages; nearly every read misses the 64-entry IOTLB).",
       "Expected with [timing] profile = xeon-e5: about 859 ns per read,",
       "i.e. about 310 ns more than miss-penalty-4k.trace (published: 330 ns)."],
      64 << 20, "4K")
write("hugepage-64m.trace",
      ["Experiment (d): as miss-penalty-64m.trace with 2 MiB IOMMU pages:",
       "after the first touch of each of the 32 pages every read hits."],
      64 << 20, "2M")
