"""The stock-Linux guest harness: boot Debian's kernel with a busybox
initramfs, run commands on its serial shell, power it off, and keep the
serial log and the VM log.

    from vmws_linux import LinuxGuest, Image
    img = Image.build(workdir, modules=["vmwgfx"])       # or Image(...)
    img = Image.build(workdir, tools=True)   # + open-vm-tools' vmtoolsd
    with LinuxGuest(img, backend="vmws", monitor="software") as g:
        g.boot()
        print(g.run("uname -r"))
        g.poweroff()
    g.serial_log, g.vm_log

Backends:
  vmws  our vmx, started with vmrun; COM1 is a Unix socket the vmx listens
        on (serial0.fileType = "socket"); extra .vmx lines via vmx_extra.
  qemu  qemu-system-x86_64 -accel tcg on QEMU's PC machine with the same
        kernel, initramfs and command line (COM1 on a Unix socket; QEMU's
        firmware loads the kernel), the reference the benchmarks and image
        checks use.

Everything raises GuestError with the tail of the serial log on failure.
A test that cannot run here raises Skip (exit 77 in the scripts).
"""
import glob
import os
import re
import select
import shutil
import socket
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
READY = "VMWS-LINUX-READY"


class GuestError(Exception):
    pass


class Skip(Exception):
    pass


def find_kernel():
    """Debian's installed kernel: (vmlinuz path, version)."""
    cands = sorted(glob.glob("/boot/vmlinuz-*"))
    if not cands:
        raise Skip("no /boot/vmlinuz-*: install linux-image-amd64 (./vmws-dev does)")
    path = cands[-1]
    return path, os.path.basename(path)[len("vmlinuz-"):]


def extract_vmlinux(vmlinuz, out):
    """The uncompressed ELF vmlinux inside a bzImage (xz payload)."""
    data = open(vmlinuz, "rb").read()
    off = data.find(b"\xfd7zXZ\x00")
    if off < 0:
        raise GuestError("%s: no xz payload found" % vmlinuz)
    p = subprocess.run(["xz", "-dc", "--single-stream"], input=data[off:],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if not p.stdout.startswith(b"\x7fELF"):
        raise GuestError("%s: xz payload is not an ELF vmlinux (%s)" %
                         (vmlinuz, p.stderr.decode(errors="replace").strip()))
    with open(out, "wb") as f:
        f.write(p.stdout)
    return out


# open-vm-tools in the busybox guest: vmtoolsd with only the timeSync
# plugin, vmware-rpctool, and the shared libraries they need (from the host:
# the guest runs the same Debian release), under their own paths.
TOOLS_BINARIES = ("usr/bin/vmtoolsd", "usr/bin/vmware-rpctool")
TOOLS_PLUGINS = ("usr/lib/x86_64-linux-gnu/open-vm-tools/plugins/vmsvc/libtimeSync.so",)
# Started by init before the shell, in a session of its own (the serial
# line's hangup across a suspend must not end it); what it prints goes to
# /tmp/vmtoolsd.out.
TOOLS_START = """
setsid /usr/bin/vmtoolsd -n vmsvc </dev/null >/tmp/vmtoolsd.out 2>&1 &
"""


def tools_cache():
    return os.path.join(os.environ.get("XDG_CACHE_HOME") or
                        os.path.join(os.path.expanduser("~"), ".cache"), "vmws-tests")


def open_vm_tools(workdir):
    """The open-vm-tools package (Debian's, fetched with apt-get download
    into a cache) unpacked under workdir/ovt; returns that root. Skip when
    it cannot be had."""
    cache = tools_cache()
    os.makedirs(cache, exist_ok=True)
    debs = sorted(glob.glob(os.path.join(cache, "open-vm-tools_*.deb")))
    if not debs:
        try:
            p = subprocess.run(["apt-get", "download", "open-vm-tools"], cwd=cache,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Skip("cannot run apt-get download open-vm-tools: %s" % e)
        debs = sorted(glob.glob(os.path.join(cache, "open-vm-tools_*.deb")))
        if p.returncode != 0 or not debs:
            raise Skip("apt-get download open-vm-tools failed: %s" %
                       p.stdout.decode(errors="replace").strip()[-500:])
    root = os.path.join(workdir, "ovt")
    os.makedirs(root, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", debs[-1], root], check=True)
    return root


def _needed_libs(elf, libdir):
    """Absolute paths of the shared libraries elf loads (ldd), the dynamic
    loader included."""
    env = dict(os.environ, LD_LIBRARY_PATH=libdir)
    p = subprocess.run(["ldd", elf], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    out = p.stdout.decode(errors="replace")
    if p.returncode != 0 or "not found" in out:
        raise Skip("ldd %s: %s" % (elf, out.strip()))
    libs = []
    for line in out.splitlines():
        m = re.match(r"\s*\S+ => (/\S+)", line) or re.match(r"\s*(/\S+) \(", line)
        if m:
            libs.append(m.group(1))
    return libs


def tools_files(workdir):
    """("SRC:DEST" for mkinitramfs, the init script lines) for open-vm-tools."""
    root = open_vm_tools(workdir)
    libdir = os.path.join(root, "usr/lib/x86_64-linux-gnu")
    files, seen = [], set()

    def add(src, dest):
        if dest not in seen:
            seen.add(dest)
            files.append("%s:%s" % (os.path.realpath(src), dest))

    for rel in TOOLS_BINARIES + TOOLS_PLUGINS:
        src = os.path.join(root, rel)
        if not os.path.exists(src):
            raise Skip("the open-vm-tools package has no %s" % rel)
        add(src, rel)
        for lib in _needed_libs(src, libdir):
            if lib.startswith(root):
                add(lib, lib[len(root):].lstrip("/"))
            else:
                add(lib, lib.lstrip("/"))
    # GLib looks the user up (getpwuid) when it starts.
    passwd = os.path.join(workdir, "passwd")
    with open(passwd, "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\n")
    add(passwd, "etc/passwd")
    return files, TOOLS_START


class Image:
    """A kernel + initramfs pair."""

    def __init__(self, kernel, initrd, kver, vmlinux=None, tools=False):
        self.kernel, self.initrd, self.kver, self.vmlinux = kernel, initrd, kver, vmlinux
        self.tools = tools

    @classmethod
    def build(cls, workdir, modules=(), files=(), init_extra=None, pvh=False,
              busybox="/bin/busybox", tools=False):
        """tools: open-vm-tools' vmtoolsd (timeSync plugin) runs in the guest
        from init on, with vmware-rpctool; Skip when the package cannot be
        fetched."""
        kernel, kver = find_kernel()
        if not os.path.exists(busybox) or not _is_static(busybox):
            raise Skip("%s is not a static busybox: install busybox-static" % busybox)
        os.makedirs(workdir, exist_ok=True)
        files = list(files)
        if tools:
            tfiles, start = tools_files(workdir)
            files += tfiles
            script = "#!/bin/sh\n"
            if init_extra:
                script += open(init_extra).read().replace("#!/bin/sh\n", "", 1) + "\n"
            script += start
            init_extra = os.path.join(workdir, "init-extra-tools.sh")
            with open(init_extra, "w") as f:
                f.write(script)
        initrd = os.path.join(workdir, "initramfs.cpio")
        cmd = ["/usr/bin/python3", os.path.join(HERE, "mkinitramfs.py"), initrd,
               "--kver", kver, "--busybox", busybox]
        for m in modules:
            cmd += ["--module", m]
        for f in files:
            cmd += ["--file", f]
        if init_extra:
            cmd += ["--init-extra", init_extra]
        subprocess.run(cmd, check=True)
        vmlinux = extract_vmlinux(kernel, os.path.join(workdir, "vmlinux")) if pvh else None
        return cls(kernel, initrd, kver, vmlinux, tools)


def _is_static(path):
    """An ELF file with no program interpreter (PT_INTERP)."""
    with open(path, "rb") as f:
        head = f.read(65536)
    if not head.startswith(b"\x7fELF") or head[4] != 2:
        return False
    phoff = int.from_bytes(head[32:40], "little")
    phentsize = int.from_bytes(head[54:56], "little")
    phnum = int.from_bytes(head[56:58], "little")
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(head):
            return False
        if int.from_bytes(head[off:off + 4], "little") == 3:   # PT_INTERP
            return False
    return True


class LinuxGuest:
    CMDLINE = "console=ttyS0 panic=-1 loglevel=4"

    def __init__(self, image, backend="vmws", monitor="software", memsize=256, ncpus=1,
                 cmdline_extra="", vmx_extra=(), entry="linux", workdir=None,
                 vmrun=None, boot_timeout=600):
        self.image, self.backend, self.monitor = image, backend, monitor
        self.memsize, self.ncpus, self.entry = memsize, ncpus, entry
        self.cmdline = (self.CMDLINE + " " + cmdline_extra).strip()
        self.vmx_extra = list(vmx_extra)
        self.boot_timeout = boot_timeout
        self.dir = workdir or tempfile.mkdtemp(prefix="vmws-linux-")
        self.vmrun = vmrun or os.environ.get("VMWS_VMRUN") or os.path.join(
            HERE, "..", "..", "..", "build", "cui", "vmrun")
        self.serial = b""
        self._seq = 0
        self._proc = None
        self._sock = None
        self.vmx = None
        self.boot_seconds = None
        self.t_start = None

    # ---- context manager: always stop the VM
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False

    @property
    def serial_log(self):
        return self.serial.decode(errors="replace")

    @property
    def vm_log(self):
        p = os.path.join(self.dir, "vmware.log")
        return open(p, errors="replace").read() if os.path.exists(p) else ""

    # ---- I/O
    def _send(self, text):
        data = text.encode()
        if self._sock:
            self._sock.sendall(data)
        else:
            self._proc.stdin.write(data)
            self._proc.stdin.flush()

    def _fd(self):
        return self._sock.fileno() if self._sock else self._proc.stdout.fileno()

    def _read_until(self, pattern, timeout, since=0):
        """Read serial output until the regex matches in what arrived from
        offset since on; returns the match."""
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern, re.S)
        deadline = time.monotonic() + timeout
        start = since
        while True:
            m = rx.search(self.serial, start)
            if m:
                return m
            left = deadline - time.monotonic()
            if left <= 0:
                raise GuestError("timed out after %d s waiting for %r; serial tail:\n%s" %
                                 (timeout, pattern, self.serial_log[-3000:]))
            r, _, _ = select.select([self._fd()], [], [], min(left, 1.0))
            if not r:
                if self._proc and self._proc.poll() is not None and not self._sock:
                    raise GuestError("the VM exited (%d) while waiting for %r; serial tail:\n%s"
                                     % (self._proc.returncode, pattern,
                                        self.serial_log[-3000:]))
                continue
            chunk = os.read(self._fd(), 65536)
            if not chunk:
                raise GuestError("serial console closed while waiting for %r; serial tail:\n%s"
                                 % (pattern, self.serial_log[-3000:]))
            # A match may begin before the new chunk (a marker, then a
            # long output): search again from where this wait began.
            start = since
            self.serial += chunk

    # ---- life cycle
    def boot(self):
        self.t_start = time.monotonic()
        if self.backend == "qemu":
            self._boot_qemu()
        else:
            self._boot_vmws()
        self._read_until(READY + r" \S+", self.boot_timeout)
        self.boot_seconds = time.monotonic() - self.t_start
        # No echo, so only command output comes back.
        self._send("stty -echo\n")
        self.run("true")
        return self.boot_seconds

    def _boot_qemu(self):
        qemu = shutil.which("qemu-system-x86_64")
        if not qemu:
            raise Skip("qemu-system-x86_64 is not installed")
        kernel = self.image.vmlinux if self.entry == "pvh" else self.image.kernel
        sock = os.path.join(self.dir, "com1.sock")
        # COM1 on a Unix socket: QEMU does not run the guest with "-serial
        # stdio" when stdin is a pipe.
        # QEMU's default PC machine: on microvm this kernel's timer setup
        # stalls nondeterministically under TCG here (jiffies never move).
        args = [qemu, "-accel", "tcg", "-M", "pc",
                "-m", str(self.memsize), "-smp", str(self.ncpus),
                "-display", "none", "-monitor", "none", "-no-reboot",
                "-serial", "unix:%s,server=on,wait=on" % sock,
                "-kernel", kernel, "-initrd", self.image.initrd, "-append", self.cmdline]
        self._proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL,
                                      stderr=open(os.path.join(self.dir, "qemu.err"), "wb"))
        self._sock = self._connect(sock)

    def _connect(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        for _ in range(200):
            try:
                s.connect(path)
                return s
            except OSError:
                if self._proc and self._proc.poll() is not None:
                    break
                time.sleep(0.05)
        raise GuestError("cannot connect to the VM's COM1 at %s" % path)

    def _boot_vmws(self):
        if not os.path.exists(self.vmrun):
            raise GuestError("vmrun not found at %s (set VMWS_VMRUN)" % self.vmrun)
        sock = os.path.join(self.dir, "com1.sock")
        kernel = self.image.vmlinux if self.entry == "pvh" else self.image.kernel
        lines = [
            '.encoding = "UTF-8"',
            'displayName = "linux test guest"',
            'memsize = "%d"' % self.memsize,
            'numvcpus = "%d"' % self.ncpus,
            'monitor.virtual_exec = "%s"' % self.monitor,
            'linux.kernel = "%s"' % kernel,
            'linux.initrd = "%s"' % self.image.initrd,
            'linux.cmdline = "%s"' % self.cmdline,
            'linux.entry = "%s"' % self.entry,
            'serial0.present = "TRUE"',
            'serial0.fileType = "socket"',
            'serial0.fileName = "%s"' % sock,
        ] + self.vmx_extra
        self.vmx = os.path.join(self.dir, "linux.vmx")
        with open(self.vmx, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([self.vmrun, "start", self.vmx, "nogui"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT)
        if p.returncode != 0:
            raise GuestError("vmrun start failed: %s\n%s" % (p.stdout.decode(errors="replace"),
                                                              self.vm_log[-3000:]))
        self._sock = self._connect(sock)

    def suspend(self, timeout=120):
        """vmrun suspend: the VM ends suspended and its vmx exits (the serial
        socket closes); returns the seconds it took."""
        if self.backend != "vmws":
            raise Skip("suspend needs the vmws backend")
        t0 = time.monotonic()
        p = subprocess.run([self.vmrun, "suspend", self.vmx], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        if p.returncode != 0:
            raise GuestError("vmrun suspend failed: %s\n%s" % (
                p.stdout.decode(errors="replace"), self.vm_log[-3000:]))
        took = time.monotonic() - t0
        # What the guest wrote until the end is still in the socket.
        while True:
            r, _, _ = select.select([self._fd()], [], [], 2.0)
            chunk = os.read(self._fd(), 65536) if r else b""
            if not chunk:
                break
            self.serial += chunk
        self._sock.close()
        self._sock = None
        st = self.state()
        if st != "suspended":
            raise GuestError("after vmrun suspend the VM is %s\n%s" % (st, self.vm_log[-3000:]))
        return took

    def resume(self, timeout=120):
        """vmrun start of the suspended VM; reconnects to its serial port.
        Returns the seconds vmrun start took."""
        sock = os.path.join(self.dir, "com1.sock")
        t0 = time.monotonic()
        p = subprocess.run([self.vmrun, "start", self.vmx, "nogui"], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        if p.returncode != 0:
            raise GuestError("resume (vmrun start) failed: %s\n%s" % (
                p.stdout.decode(errors="replace"), self.vm_log[-3000:]))
        took = time.monotonic() - t0
        self._sock = self._connect(sock)
        return took

    def state(self):
        return subprocess.run([self.vmrun, "getState", self.vmx],
                              stdout=subprocess.PIPE).stdout.decode().strip()

    def run(self, cmd, timeout=120):
        """Run a shell command in the guest; returns (exit status, output)."""
        self._seq += 1
        n = self._seq
        since = len(self.serial)
        # The markers are built by the shell, so an echoed command line
        # cannot be mistaken for them.
        self._send("echo VMWS-B''EGIN-%d; %s\necho VMWS-E''ND-%d $?\n" % (n, cmd, n))
        m = self._read_until(r"VMWS-BEGIN-%d\r?\n(.*?)VMWS-END-%d (\d+)" % (n, n), timeout,
                             since)
        out = m.group(1).decode(errors="replace").replace("\r\n", "\n")
        return int(m.group(2)), out

    def check(self, cmd, timeout=120):
        st, out = self.run(cmd, timeout)
        if st != 0:
            raise GuestError("guest command failed (%d): %s\n%s" % (st, cmd, out))
        return out

    # What a healthy guest's kernel log never has.
    KERNEL_LOG_BAD = ("Call Trace", "BUG:", "Oops:", "Kernel panic")

    def check_kernel_log(self, extra=()):
        """dmesg, after checking it has none of KERNEL_LOG_BAD and extra
        (GuestError with the text around the first one found)."""
        dmesg = self.check("dmesg")
        for bad in self.KERNEL_LOG_BAD + tuple(extra):
            at = dmesg.find(bad)
            if at >= 0:
                raise GuestError("the kernel log has %r:\n%s" %
                                 (bad, dmesg[max(0, at - 500):at + 1500]))
        return dmesg

    def poweroff(self, timeout=120):
        """ACPI power-off from inside; waits until the VM is off."""
        self._send("poweroff -f\n")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.backend == "qemu":
                if self._proc.poll() is not None:
                    return
            else:
                st = subprocess.run([self.vmrun, "getState", self.vmx],
                                    stdout=subprocess.PIPE).stdout.decode().strip()
                if st == "poweredOff":
                    return
            try:
                r, _, _ = select.select([self._fd()], [], [], 0.2)
                if r:
                    chunk = os.read(self._fd(), 65536)
                    self.serial += chunk
            except OSError:
                pass
        raise GuestError("the guest did not power off within %d s" % timeout)

    def kill(self):
        if self._sock:
            self._sock.close()
            self._sock = None
        if self._proc and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self.vmx and os.path.exists(self.vmrun):
            st = subprocess.run([self.vmrun, "getState", self.vmx],
                                stdout=subprocess.PIPE).stdout.decode().strip()
            if st not in ("poweredOff", ""):
                subprocess.run([self.vmrun, "stop", self.vmx, "hard"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
