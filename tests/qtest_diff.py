#!/usr/bin/env python3
"""Differential test: one qtest command stream against QEMU and against vtdsim.

usage: qtest_diff.py --vtdsim PATH [--qemu PATH] SCRIPT.qtest...

Each SCRIPT holds qtest commands, one a line; '#' starts a comment.  A
command whose comment contains 'differs:' is sent to both but its answers
are not compared (vtdsim follows the VT-d specification where QEMU 7.2 does
not; docs/qemu-differences.md lists each case).  QEMU from Debian has no
qtest accelerator, so 'clock_step N' becomes a real-time wait on the QEMU
side (at least 150 ms, enough for the edu device's 100 ms DMA timer) while
its CPU idles in a firmware of HLT instructions.

Exit status: 0 all answers matched, 1 some differed, 77 QEMU is not
installed (the Automake convention for a skipped test).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time


# IOAPIC inputs of timers vtdsim does not model (PIT on 0/2, RTC on 8): QEMU reports
# them while its clock runs in real time; they say nothing about the devices under test.
TIMER_GSIS = {"0", "2", "8"}


class Peer:
    def __init__(self, argv):
        self.pending = []
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL, text=True, bufsize=1)

    def ask(self, line):
        """The answer, preceded by any IRQ notifications it caused ("IRQ raise 21 | OK")."""
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        notes, self.pending = self.pending, []
        while True:
            ans = self.p.stdout.readline()
            if not ans:
                return "<closed>"
            ans = ans.strip()
            if ans.startswith(("OK", "FAIL", "ERR")):
                return " | ".join(notes + [ans])
            if ans.startswith("IRQ ") and ans.split()[-1] not in TIMER_GSIS:
                notes.append(ans)

    def step(self, line):
        """A clock step: its notifications belong before the next answer (QEMU sleeps instead)."""
        ans = self.ask(line)
        self.pending = ans.split(" | ")[:-1]

    def close(self):
        self.p.kill()
        self.p.wait()


def run(script, vtdsim, qemu, fw):
    cmds = []
    with open(script) as f:
        for n, raw in enumerate(f, 1):
            code, _, comment = raw.partition("#")
            code = code.strip()
            if code:
                cmds.append((n, code, "differs:" in comment))
    q = Peer([qemu, "-M", "q35", "-qtest", "stdio", "-display", "none", "-nodefaults",
              "-m", "256", "-bios", fw, "-device", "intel-iommu,intremap=off",
              "-device", "edu"])
    s = Peer([vtdsim, "qtest"])
    bad = same = 0
    for n, line, differs in cmds:
        if line.startswith("clock_step"):
            parts = line.split()
            ns = int(parts[1], 0) if len(parts) > 1 else 0
            time.sleep(max(ns / 1e9, 0.15))
            s.step(line)
            continue
        a, b = q.ask(line), s.ask(line)
        if differs:
            print(f"{script}:{n}: {line}  (known difference) qemu: {a}  vtdsim: {b}")
            continue
        if a != b:
            bad += 1
            print(f"{script}:{n}: {line}\n  qemu:   {a}\n  vtdsim: {b}")
        else:
            same += 1
    q.close()
    s.close()
    print(f"{script}: {same} matched, {bad} differed")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vtdsim", required=True)
    ap.add_argument("--qemu", default="qemu-system-x86_64")
    ap.add_argument("scripts", nargs="+")
    a = ap.parse_args()
    if not shutil.which(a.qemu):
        print(f"{a.qemu} not installed: skipping the differential test")
        return 77
    fw = os.path.join(tempfile.mkdtemp(prefix="qtest-diff-"), "hlt.bin")
    with open(fw, "wb") as f:
        f.write(b"\xf4" * 65536)
    bad = sum(run(s, a.vtdsim, a.qemu, fw) for s in a.scripts)
    shutil.rmtree(os.path.dirname(fw), ignore_errors=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
