#!/usr/bin/python3
"""Boot the stock Debian kernel with the busybox initramfs to a shell, run
commands, power off through ACPI.

usage: test-linux.py --backend qemu|vmws [--monitor software|hardware] [--entry linux|pvh]

Exit 0 on success, 1 on failure, 77 when something this needs is missing
(the kernel package, busybox-static, QEMU, a monitor that can boot Linux).
"""
import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmws_linux import GuestError, Image, LinuxGuest, Skip  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--backend", default="vmws")
    ap.add_argument("--monitor", default="software")
    ap.add_argument("--entry", default="linux")
    ap.add_argument("--timeout", type=int, default=600)
    ap.add_argument("--ncpus", type=int, default=1)
    ap.add_argument("--interpret-only", action="store_true",
                    help="the software monitor without its translator")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vmws-linux-test-")
    try:
        img = Image.build(os.path.join(work, "img"), modules=["psmouse"],
                          pvh=a.entry == "pvh")
        extra = ['monitor.soft.translate = "FALSE"'] if a.interpret_only else []
        with LinuxGuest(img, backend=a.backend, monitor=a.monitor, entry=a.entry,
                        ncpus=a.ncpus, workdir=work, boot_timeout=a.timeout,
                        vmx_extra=extra) as g:
            secs = g.boot()
            print("booted to the shell in %.1f s" % secs)
            kver = g.check("uname -r").strip()
            if kver != img.kver:
                raise GuestError("uname -r says %r, the image is %r" % (kver, img.kver))
            st, out = g.run("false")
            if st != 1:
                raise GuestError("exit status of 'false' came back as %d" % st)
            out = g.check("echo $((6 * 7)); cat /proc/cpuinfo | grep -c ^processor")
            lines = out.split()
            if lines[0] != "42":
                raise GuestError("arithmetic in the guest shell gave %r" % out)
            print("guest sees %s CPU(s)" % lines[1])
            if int(lines[1]) != a.ncpus:
                raise GuestError("the guest sees %s CPUs, the VM has %d" % (lines[1], a.ncpus))
            if a.ncpus > 1:
                # every vCPU takes interrupts (IPIs: function calls,
                # rescheduling) and runs a task pinned to it
                # (field 39 of /proc/self/stat: the CPU the reader runs on)
                out = g.check("for c in $(seq 0 %d); do taskset -c $c "
                              "awk '{print \"ran on \" $39}' /proc/self/stat; done"
                              % (a.ncpus - 1))
                for c in range(a.ncpus):
                    if "ran on %d" % c not in out:
                        raise GuestError("nothing ran on CPU %d:\n%s" % (c, out))
                print("a task ran on each of the %d vCPUs" % a.ncpus)
            mods = g.check("cat /proc/modules")
            if "psmouse" not in mods:
                raise GuestError("psmouse was not loaded:\n%s\nserial:\n%s" %
                                 (mods, g.serial_log[-2000:]))
            dmesg = g.check_kernel_log(extra=("unchecked MSR access",))
            if a.backend == "vmws":
                # The VMware platform code and the vmmouse driver bind to us.
                # (psmouse names the mouse "VMware VMMouse" from the backdoor
                # version alone; the absolute device exists only once the
                # vmmouse protocol itself answered)
                for want in ("Hypervisor detected: VMware",
                             "vmware: TSC freq read from hypervisor",
                             "VirtualPS/2 VMware VMMouse"):
                    if want not in dmesg:
                        raise GuestError("the kernel log lacks %r:\n%s" % (want, dmesg[-3000:]))
                print("VMware platform, hypervisor TSC frequency and vmmouse: found")
            g.poweroff()
            print("powered off through ACPI")
            if a.backend == "vmws":
                log = g.vm_log
                if "Boot: linux64" not in log:
                    raise GuestError("vmware.log has no Boot: line:\n%s" % log[-2000:])
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except (GuestError, OSError) as e:
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
