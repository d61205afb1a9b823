#!/usr/bin/python3
"""tests/bench/boot: Debian's stock kernel with the busybox test initramfs,
booted to a shell under our vmx with the software monitor and under
qemu-system-x86_64 -accel tcg (QEMU's PC machine), side by side in one run.

Figures, each the median of --reps boots per machine:

  boot-to-shell  from `vmrun start` (or the exec of QEMU) to the shell's
                 ready line on COM1, for two boot methods:
                   bzimage  the bzImage file as both machines take it for a
                            direct kernel boot (QEMU: -kernel bzImage through
                            its linuxboot option ROM, where the kernel
                            decompresses itself; our vmx unpacks the payload
                            on the host and starts the vmlinux);
                   pvh      the uncompressed vmlinux through its PVH entry on
                            both, so no one decompresses anything: the same
                            guest instructions on both, the engines compared.
  guest MIPS     a fixed CPU-bound workload in the guest shell (busybox ash
                 counting to --loop), timed from the harness; its instruction
                 count is measured once on the host by running the same static
                 busybox with the same command under valgrind (cachegrind's
                 "I refs"); MIPS = count / seconds. Without valgrind the time
                 ratio is still printed.

Output: a table and key=value lines; ratio = vmws / qemu (time: above 1 is
slower than QEMU; MIPS: above 1 is faster). Exit 0 done, 77 skipped (no
kernel, busybox-static or QEMU), 1 failed (a guest did not boot or answer).
No timing figure decides the exit status.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "guests", "linux"))
from vmws_linux import GuestError, Image, LinuxGuest, Skip  # noqa: E402


def workload(n):
    return "i=0; while [ $i -lt %d ]; do i=$((i+1)); done" % n


def count_instructions(busybox, n):
    """User-mode instructions of the workload on the host (valgrind), or None."""
    vg = shutil.which("valgrind")
    if not vg:
        return None
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.run([vg, "--tool=cachegrind", "--cache-sim=no",
                            "--cachegrind-out-file=" + os.path.join(d, "cg.out"),
                            busybox, "sh", "-c", workload(n)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    m = re.search(rb"I\s+refs:\s+([\d,]+)", p.stderr)
    return int(m.group(1).replace(b",", b"")) if m else None


def one_boot(img, backend, entry, loop, workdir):
    with LinuxGuest(img, backend=backend, monitor="software", entry=entry,
                    workdir=workdir, boot_timeout=900) as g:
        secs = g.boot()
        t = None
        if loop:
            import time
            t0 = time.monotonic()
            g.check(workload(loop), timeout=900)
            t = time.monotonic() - t0
        g.poweroff()
        return secs, t


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--loop", type=int, default=300000)
    ap.add_argument("--quick", action="store_true",
                    help="one boot per machine and method, a short loop (CI smoke run)")
    a = ap.parse_args()
    if a.quick:
        a.reps, a.loop = 1, 30000
    if not shutil.which("qemu-system-x86_64"):
        print("SKIP: qemu-system-x86_64 is not installed")
        return 77
    top = tempfile.mkdtemp(prefix="vmws-bench-boot-")
    try:
        img = Image.build(os.path.join(top, "img"), modules=["psmouse"], pvh=True)
        busybox = "/bin/busybox"
        insns = count_instructions(busybox, a.loop)
        res = {}
        for entry, label in (("linux", "bzimage"), ("pvh", "pvh")):
            for backend in ("vmws", "qemu"):
                boots, loops = [], []
                for r in range(a.reps):
                    wd = os.path.join(top, "%s-%s-%d" % (label, backend, r))
                    os.makedirs(wd)
                    # the workload once per machine, on the bzImage boots
                    secs, t = one_boot(img, backend, entry, a.loop if entry == "linux" else 0, wd)
                    boots.append(secs)
                    if t is not None:
                        loops.append(t)
                    shutil.rmtree(wd, ignore_errors=True)
                res[(label, backend)] = statistics.median(boots)
                if loops:
                    res[("loop", backend)] = statistics.median(loops)
        print("%-22s %10s %10s %8s" % ("", "vmws", "qemu-tcg", "ratio"))
        for label in ("bzimage", "pvh"):
            v, q = res[(label, "vmws")], res[(label, "qemu")]
            print("%-22s %9.2fs %9.2fs %8.2f" % ("boot-to-shell " + label, v, q, v / q))
        lv, lq = res[("loop", "vmws")], res[("loop", "qemu")]
        print("%-22s %9.2fs %9.2fs %8.2f" % ("workload time", lv, lq, lv / lq))
        if insns:
            mv, mq = insns / lv / 1e6, insns / lq / 1e6
            print("%-22s %10.0f %10.0f %8.2f" % ("guest MIPS", mv, mq, mv / mq))
        print()
        for label in ("bzimage", "pvh"):
            print("vmws.boot_%s_s=%.3f" % (label, res[(label, "vmws")]))
            print("qemu.boot_%s_s=%.3f" % (label, res[(label, "qemu")]))
            print("ratio.boot_%s=%.3f" % (label, res[(label, "vmws")] / res[(label, "qemu")]))
        print("workload.instructions=%s" % (insns if insns else "unknown"))
        print("vmws.workload_s=%.3f" % lv)
        print("qemu.workload_s=%.3f" % lq)
        print("ratio.workload_time=%.3f" % (lv / lq))
        if insns:
            print("vmws.mips=%.1f" % (insns / lv / 1e6))
            print("qemu.mips=%.1f" % (insns / lq / 1e6))
            print("ratio.mips=%.3f" % (lq / lv))
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except (GuestError, OSError) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
