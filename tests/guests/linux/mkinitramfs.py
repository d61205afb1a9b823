#!/usr/bin/python3
"""Build the test guest's initramfs: busybox-static, an init that gives a
shell on the serial console, kernel modules from the Debian kernel package
(with their dependencies), and any extra files a test adds.

usage: mkinitramfs.py OUT.cpio [--kver VER] [--module NAME]... [--file SRC:DEST]...
                      [--busybox PATH] [--init-extra SCRIPT]

The archive is an uncompressed newc cpio: the kernel unpacks it without a
decompressor, which matters when the guest runs on an interpreter.
"""
import argparse
import os
import stat
import sys

INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /tmp /run
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
for m in $(cat /etc/vmws-modules 2>/dev/null); do
   insmod /lib/modules/$m || echo "VMWS-INSMOD-FAILED $m"
done
[ -x /etc/vmws-init-extra ] && /etc/vmws-init-extra
echo "VMWS-LINUX-READY $(uname -r)"
# The harness drives this shell over ttyS0. No job control, no prompt
# noise: PS1 is empty and each command's output is framed by markers.
export PS1=''
exec setsid sh -c 'exec sh </dev/ttyS0 >/dev/ttyS0 2>&1'
"""


class Cpio:
    """Writes a newc ("070701") archive."""

    def __init__(self, path):
        self.f = open(path, "wb")
        self.ino = 1
        self.seen = set()

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join("%08X" % v for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        self.f.write(hdr.encode())
        self.f.write(name_b)
        self.f.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self.f.write(data)
        self.f.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, name):
        parts = name.strip("/").split("/")
        for i in range(1, len(parts) + 1):
            d = "/".join(parts[:i])
            if d and d not in self.seen:
                self.seen.add(d)
                self._entry(d, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, name, data, mode=0o644):
        name = name.strip("/")
        self.dir(os.path.dirname(name)) if os.path.dirname(name) else None
        self._entry(name, stat.S_IFREG | mode, data)

    def symlink(self, name, target):
        name = name.strip("/")
        self.dir(os.path.dirname(name))
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.close()


def module_closure(kver, names):
    """Module paths (relative to /lib/modules/KVER) for names and their
    dependencies, dependencies first."""
    base = "/lib/modules/%s" % kver
    deps = {}
    by_name = {}
    with open(os.path.join(base, "modules.dep")) as f:
        for line in f:
            mod, _, rest = line.partition(":")
            deps[mod] = rest.split()
            n = os.path.basename(mod).split(".ko")[0].replace("-", "_")
            by_name[n] = mod
    order = []

    def visit(mod):
        if mod in order:
            return
        for d in deps.get(mod, []):
            visit(d)
        order.append(mod)

    for n in names:
        key = n.replace("-", "_")
        if key not in by_name:
            sys.exit("mkinitramfs: module %s is not in %s/modules.dep "
                     "(built in, or not in this kernel?)" % (n, base))
        visit(by_name[key])
    return base, order


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--kver", help="kernel version for --module")
    ap.add_argument("--module", action="append", default=[])
    ap.add_argument("--file", action="append", default=[], help="SRC:DEST")
    ap.add_argument("--busybox", default="/bin/busybox")
    ap.add_argument("--init-extra", help="script run by init before the shell")
    a = ap.parse_args()

    with open(a.busybox, "rb") as f:
        bb = f.read()
    if not bb.startswith(b"\x7fELF"):
        sys.exit("mkinitramfs: %s is not an ELF file" % a.busybox)
    tmp = a.out + ".tmp"
    c = Cpio(tmp)
    for d in ("bin", "sbin", "dev", "proc", "sys", "tmp", "etc", "root", "lib/modules"):
        c.dir(d)
    c.file("bin/busybox", bb, 0o755)
    c.symlink("bin/sh", "busybox")
    c.file("init", INIT.encode(), 0o755)
    if a.module:
        if not a.kver:
            sys.exit("mkinitramfs: --module needs --kver")
        base, order = module_closure(a.kver, a.module)
        for rel in order:
            with open(os.path.join(base, rel), "rb") as f:
                c.file("lib/modules/" + rel, f.read())
        c.file("etc/vmws-modules", ("\n".join(order) + "\n").encode())
    for spec in a.file:
        src, sep, dest = spec.partition(":")
        if not sep:
            sys.exit("mkinitramfs: --file wants SRC:DEST, got %s" % spec)
        with open(src, "rb") as f:
            mode = os.stat(src).st_mode & 0o777
            c.file(dest, f.read(), mode)
    if a.init_extra:
        with open(a.init_extra, "rb") as f:
            c.file("etc/vmws-init-extra", f.read(), 0o755)
    c.close()
    os.replace(tmp, a.out)


if __name__ == "__main__":
    main()
