#!/usr/bin/python3
"""The stock Linux guest across suspend and resume (vmrun suspend / start).

usage: test-linux-ckpt.py [--monitor software|hardware] [--cycles N] [--timeout S] [--tools]

The guest boots with vmwgfx (its fbdev console on the SVGA device), then:
- a shell variable is set, 8 MiB of random data are written to a file and
  their MD5 noted, and a background loop counts in /tmp/count;
- a marker is written on the console (tty1) and the screen captured;
then, N times: suspend (the VM ends suspended, its vmx gone, a .vmss beside
the .vmx), resume, and check that the variable, the data and the counting
loop are all there and going, that the screen is exactly what it was, and
that the kernel logged no trouble. The guest's clocks after each resume: the
CMOS clock (hwclock) reads the host's time, while the kernel's system clock
went on from where it was, behind by about the time spent suspended, as on
VMware without its tools' time sync; `hwclock -s` then brings it to the
host's time. Then ACPI power-off.

With --tools the image also runs open-vm-tools' vmtoolsd (Debian's package,
timeSync plugin): guest variables go both ways between the guest
(vmware-rpctool info-set / info-get) and VMDB (vmrun readVariable /
writeVariable guestVar), and after each resume the vmx asks the tools over
TCLO to synchronize the time ("Time_Synchronize 1"): the system clock must
catch up with the host's within seconds, as on VMware with its tools.
(User-mode tools need the backdoor port at CPL 3: a monitor that applies
the I/O permission check to it fails this with vmware-rpctool's "must be
run inside a virtual machine".)
Exit 0 on success, 1 on failure, 77 when something this needs is missing.
"""
import argparse
import calendar
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmws_linux import GuestError, Image, LinuxGuest, Skip  # noqa: E402


def capture(g, path):
    p = subprocess.run([g.vmrun, "captureScreen", g.vmx, path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise GuestError("captureScreen failed: %s" % p.stdout.decode(errors="replace"))
    return open(path, "rb").read()


def clocks(g):
    """(seconds the CMOS clock and the system clock are ahead of the host)."""
    t0 = time.time()
    out = g.check("hwclock -u -r; date -u +%s").strip().splitlines()
    t1 = time.time()
    host = (t0 + t1) / 2
    try:
        # busybox: "Sat Nov 21 08:10:00 2026  0.000000 seconds"
        rtc = calendar.timegm(time.strptime(" ".join(out[0].split()[:5]),
                                            "%a %b %d %H:%M:%S %Y"))
        return rtc - host, int(out[-1]) - host
    except (ValueError, IndexError):
        raise GuestError("cannot read the guest's clocks from %r" % out)


def tools_up(g, a):
    """vmtoolsd runs; guest variables reach VMDB and back."""
    st, out = g.run('/usr/bin/vmware-rpctool "info-set guestinfo.ckpt tools-$((6*7))"')
    if st != 0:
        raise GuestError("vmware-rpctool info-set failed (%d): %s" % (st, out.strip()))
    p = subprocess.run([g.vmrun, "readVariable", g.vmx, "guestVar", "ckpt"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    got = p.stdout.decode(errors="replace").strip()
    if got != "tools-42":
        raise GuestError("vmrun readVariable guestVar ckpt gave %r, not the guest's "
                         "info-set value" % got)
    p = subprocess.run([g.vmrun, "writeVariable", g.vmx, "guestVar", "fromhost", "host-7"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise GuestError("vmrun writeVariable guestVar failed: %s" % p.stdout.decode())
    deadline = time.monotonic() + 10
    while True:
        out = g.check('/usr/bin/vmware-rpctool "info-get guestinfo.fromhost" 2>&1 || true').strip()
        if out == "host-7" or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    if out != "host-7":
        raise GuestError("the guest's info-get guestinfo.fromhost gave %r" % out)
    deadline = time.monotonic() + a.timeout
    while not g.check("pidof vmtoolsd || true").strip():
        if time.monotonic() > deadline:
            raise GuestError("vmtoolsd is not running: %s" %
                             g.check("cat /tmp/vmtoolsd.out 2>&1 || true"))
        time.sleep(1)
    print("tools: vmtoolsd running; guest variables guest -> VMDB and VMDB -> guest")


def counter(g):
    return int(g.check("cat /tmp/count").strip() or "0")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--monitor", default="software")
    ap.add_argument("--cycles", type=int, default=3)
    ap.add_argument("--timeout", type=int, default=400)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    ap.add_argument("--tools", action="store_true",
                    help="open-vm-tools in the guest: the clock must catch up after resume")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vmws-linux-ckpt-")
    try:
        img = Image.build(os.path.join(work, "img"), modules=["vmwgfx"], tools=a.tools)
        with LinuxGuest(img, monitor=a.monitor, workdir=work, boot_timeout=a.timeout) as g:
            print("booted to the shell in %.1f s" % g.boot())
            if "fb0: vmwgfxdrmfb" not in g.check("dmesg"):
                raise GuestError("vmwgfx did not take the console")
            if a.tools:
                tools_up(g, a)
            g.check("export CKPT_VAR=vmws-$((6*7))")
            g.check("dd if=/dev/urandom of=/tmp/blob bs=1M count=8 2>/dev/null && "
                    "md5sum /tmp/blob > /tmp/blob.md5")
            # In a session of its own: the serial line's carrier drops while
            # the VM is suspended (no vmx serves the socket), and the hangup
            # would end anything in the serial shell's session.
            # The count is renamed into place: "echo > /tmp/count" truncates
            # first, and a reader between the truncation and the write saw
            # an empty file (0.5% of reads on a fast guest).
            g.check("(setsid sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/count.new; "
                    "mv /tmp/count.new /tmp/count; "
                    "sleep 0.2; done' >/dev/null 2>&1 &)")
            g.check("echo 0 > /sys/class/graphics/fbcon/cursor_blink")
            g.check("printf '\\033[2J\\033[HSUSPEND-RESUME-MARKER\\n' > /dev/tty1")
            time.sleep(1)
            before = capture(g, os.path.join(work, "before.png"))
            c0 = counter(g)
            rtc0, sys0 = clocks(g)
            print("before: CMOS clock %+.1f s, system clock %+.1f s from the host's" % (rtc0, sys0))
            for i in range(1, a.cycles + 1):
                t_s = g.suspend()
                t_away = time.time()
                time.sleep(5)
                vmss = os.path.splitext(g.vmx)[0] + ".vmss"
                if not os.path.exists(vmss):
                    raise GuestError("no %s after suspend" % vmss)
                size = os.stat(vmss).st_size
                used = os.stat(vmss).st_blocks * 512
                t_r = g.resume()
                away = time.time() - t_away
                if os.path.exists(vmss):
                    raise GuestError("%s is still there after resume" % vmss)
                after = capture(g, os.path.join(work, "after-%d.png" % i))
                if after != before:
                    raise GuestError("the screen after resume %d differs from before "
                                     "(see %s)" % (i, work))
                var = g.check("echo $CKPT_VAR").strip()
                if var != "vmws-42":
                    raise GuestError("the shell variable is %r after resume" % var)
                g.check("md5sum -c /tmp/blob.md5 >/dev/null")
                c1 = counter(g)
                time.sleep(1.5)
                c2 = counter(g)
                if not c0 <= c1 < c2:
                    diag = g.run("cat /proc/uptime; grep -E 'LOC|timer' /proc/interrupts; "
                                 "ps; cat /proc/95/stat /proc/95/wchan 2>&1; "
                                 "grep -B2 -A12 'cpu: 0' /proc/timer_list")[1]
                    raise GuestError("the background loop is not counting after resume "
                                     "(%d, %d, %d):\n%s" % (c0, c1, c2, diag))
                c0 = c2
                rtc, sysc = clocks(g)
                synced = None
                if a.tools:
                    # The tools step the clock at their next TCLO poll.
                    t0 = time.monotonic()
                    while abs(sysc) > 2 and time.monotonic() - t0 < 20:
                        time.sleep(0.5)
                        rtc, sysc = clocks(g)
                    synced = time.monotonic() - t0
                    if abs(sysc) > 2:
                        raise GuestError("after resume %d the tools left the system clock %+.1f s "
                                         "from the host's (suspended %.1f s); vmware.log:\n%s" %
                                         (i, sysc, away, "\n".join(
                                             ln for ln in g.vm_log.splitlines()
                                             if "GuestRPC" in ln)[-2000:]))
                    # (each resume is a new vmx with a fresh vmware.log)
                    if "TCLO 'Time_Synchronize 1' -> 'OK" not in g.vm_log:
                        raise GuestError("vmware.log of resume %d has no time sync the tools "
                                         "answered with OK" % i)
                if abs(rtc) > 3:
                    raise GuestError("after resume %d the CMOS clock is %+.1f s from the host's "
                                     "(suspended %.1f s)" % (i, rtc, away))
                if synced is None and not -away - 5 < sysc - sys0 < 3:
                    raise GuestError("after resume %d the system clock moved %+.1f s against "
                                     "the host's (suspended %.1f s)" % (i, sysc - sys0, away))
                g.check("hwclock -u -s")
                _, sysc2 = clocks(g)
                if abs(sysc2) > 3:
                    raise GuestError("hwclock -s left the system clock %+.1f s from the host's"
                                     % sysc2)
                sys0 = sysc2
                print("cycle %d: suspend %.2f s (file %d MiB, %d MiB on disk), resume %.2f s; "
                      "shell, data, loop and screen intact; CMOS clock %+.1f s, system clock %+.1f s "
                      "after %.1f s away%s, %+.1f s after hwclock -s"
                      % (i, t_s, size >> 20, used >> 20, t_r, rtc, sysc, away,
                         "" if synced is None else
                         " (synchronized by the tools within %.1f s)" % synced, sysc2))
            g.check_kernel_log(extra=("[drm] *ERROR* Device error",))
            g.poweroff()
        print("PASS")
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except GuestError as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if not a.keep:
            subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    sys.exit(main())
