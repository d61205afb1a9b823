#!/usr/bin/python3
"""tests/bench/checkpoint: suspend and resume against QEMU's save to a file.

The guest is bench-checkpoint-guest.elf (a test-kit multiboot program). It
fills the region above 16 MiB of its RAM with a mix of incompressible pages
(ckb.random percent), compressible records (ckb.text percent) and zero pages
(the rest), then checks all of it again and again, printing a heartbeat line
every couple of milliseconds and a line at the end of every pass.

The same guest, with the same RAM size and command line, runs:
  vmws  under our vmx with the software monitor (monitor.virtual_exec =
        "software": on these hosts KVM emulates guest kernel code one
        instruction at a time, which would measure KVM's emulator, not the
        checkpoint), started, suspended and resumed with `vmrun start ...
        nogui` and `vmrun suspend`; the state goes to the .vmss (sparse raw
        image plus LZ4 chunks, mapped lazily on resume);
  qemu  under qemu-system-x86_64 -M pc -accel tcg (-vga none -device
        vmware-svga, as our machine has an SVGA adapter with 16 MiB of VRAM),
        saved with QMP `stop` + `migrate "exec:cat > FILE"` (max-bandwidth
        raised first, as libvirt does for `virsh save`, else QEMU throttles
        to 128 MiB/s) and loaded by a new QEMU with -incoming "exec:cat FILE"
        (it runs the guest on by itself when the load completes).

For each RAM size, each side: boot and fill; one check pass (the steady
speed); suspend (1) right as a pass ends; resume with the file's pages in
the page cache (warm); wait until the guest has checked all of its memory
since the resume (the pass under way at the suspend, and the next one when
that had already got past its start); suspend (2) right then; drop the
file's pages from the page cache (fsync + posix_fadvise DONTNEED, residency
shown by fincore; on tmpfs this cannot work and the report says so); resume
(cold); check again; power off. The guest's heartbeat count must go on
from where it was (no new boot) and every pass must find memory intact.

Figures:
  suspend          ours: `vmrun suspend` wall time (the guest running ->
                   the command returns with the state written, flushed and
                   the vmx gone), and vmware.log's "suspended ... in N ms".
                   QEMU: QMP stop -> query-migrate says completed, wall time;
                   and the same plus fsync of the file (ours fsyncs: a
                   suspend file must survive a crash), and QEMU's own
                   total-time.
  resume           wall time from the command (`vmrun start`, or spawning
                   QEMU with -incoming) to the guest's first heartbeat: the
                   guest runs again; plus when `vmrun start` returned /
                   QMP query-status said "running", and vmware.log's
                   "resumed ... in N ms".
  after resume     the guest's pass that was under way at the suspend goes
                   on over the rest of RAM: its speed (MiB checked per
                   second, host wall time) against the steady speed of a
                   pass before the suspend. Our resume maps the file and
                   pages come in when touched, so this is where the deferred
                   work shows; QEMU loaded everything before the guest ran.
  file             apparent size and size on disk (du) of the state file.
  timelines        where the time of our suspend and resume goes, from
                   vmware.log's timestamps (ms after the command): vmx
                   started, machine created, file opened and checked, state
                   loaded, powered on; and QEMU's: QMP up, running.

Output: a table per RAM size, per-GiB figures, GOAL lines ("resume faster
than QEMU", per size and cache state), and key=value lines.
ratio = vmws / qemu. Exit 0 when both sides were measured (whatever the
goals say), 77 skipped (no QEMU), 1 failed (a guest or a step did not work).
"""
import argparse
import datetime
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

HB_RE = re.compile(r"^CKB hb=(\d+) pass=(\d+) at=(\d+)$")
PASS_RE = re.compile(r"^CKB pass=(\d+) ok ticks=(\d+)$")
SUSPENDED_RE = re.compile(r"Checkpoint: suspended to .* in (\d+) ms")
RESUMED_RE = re.compile(r"Checkpoint: resumed from .* in (\d+) ms")


class Skip(Exception):
    pass


class Fail(Exception):
    pass


def read(path):
    try:
        with open(path, "r", errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def now():
    return time.monotonic()


class Serial:
    """The guest's serial output, read as it grows; every complete line
    gets the host time at which it was first seen."""

    def __init__(self, path):
        self.path = path
        self.f = None
        self.buf = b""
        self.lines = []          # (time seen, text)
        self.failed = None       # the guest's first failure line

    def poll(self):
        if self.f is None:
            try:
                self.f = open(self.path, "rb")
            except OSError:
                return
        data = self.f.read()
        if not data:
            return
        t = now()
        self.buf += data
        *done, self.buf = self.buf.split(b"\n")
        for line in done:
            text = line.decode(errors="replace").rstrip("\r")
            self.lines.append((t, text))
            if self.failed is None and (text.startswith("CKB FAIL") or text.startswith("TEST ckb")
                                        or "KIT RESULT: FAIL" in text):
                self.failed = text

    def close(self):
        if self.f:
            self.f.close()
            self.f = None

    def text(self):
        return "\n".join(l for _, l in self.lines)

    def find(self, regex, start=0):
        """(index, time, match) of the first line from start that matches."""
        for i in range(start, len(self.lines)):
            m = regex.match(self.lines[i][1])
            if m:
                return i, self.lines[i][0], m
        return None

    def watch(self, regex, start=0):
        """A condition for Side.wait(): the first line from start that
        matches, as find() gives it, or None; it remembers how far it has
        looked, so each call only reads the new lines."""
        pos = [start]

        def cond():
            r = self.find(regex, pos[0])
            pos[0] = r[0] if r else len(self.lines)
            return r
        return cond

    def last(self, regex):
        for i in range(len(self.lines) - 1, -1, -1):
            m = regex.match(self.lines[i][1])
            if m:
                return i, self.lines[i][0], m
        return None

    def check_fail(self, who):
        if self.failed is not None:
            raise Fail("%s guest: %s\n%s" % (who, self.failed, self.tail()))

    def tail(self, n=15):
        return "---- serial (%s)\n%s\n" % (self.path, "\n".join(l for _, l in self.lines[-n:]))


def log_lines(path):
    """vmware.log as [(epoch seconds, text)]."""
    res = []
    for line in read(path).splitlines():
        stamp, sep, rest = line.partition("| ")
        if not sep:
            continue
        try:
            t = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
                tzinfo=datetime.timezone.utc).timestamp()
        except ValueError:
            continue
        res.append((t, rest.partition("| ")[2]))
    return res


def log_timeline(path, t0_wall, marks):
    """{name: ms after t0_wall} for the first log line that each mark's
    regex matches (marks: [(name, regex)])."""
    lines = log_lines(path)
    res = {}
    for name, regex in marks:
        for t, l in lines:
            if re.search(regex, l):
                res[name] = (t - t0_wall) * 1e3
                break
    return res


RESUME_MARKS = [("vmx started", r"^vmws vmx .* starting"),
                ("power-on request", r"^Power state: .* -> poweringOn"),
                ("machine created", r"^Machine: "), ("file opened", r"^Checkpoint: saved under"),
                ("state loaded", r"^Checkpoint: resumed from"),
                ("powered on", r"^Power state: .* -> poweredOn")]
SUSPEND_MARKS = [("request", r"^Request #\S+: suspend$"),
                 ("suspending", r"^Power state: .* -> suspending"),
                 ("state written", r"^Checkpoint: suspended to"),
                 ("machine torn down", r"^Power state: .* -> suspended"),
                 ("vmx exiting", r"^vmx exiting")]


def file_sizes(path):
    st = os.stat(path)
    return st.st_size, st.st_blocks * 512


def cached_bytes(path):
    """Bytes of the file in the page cache (fincore), or None."""
    if not shutil.which("fincore"):
        return None
    p = subprocess.run(["fincore", "--bytes", "--noheadings", "--output", "RES", path],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        return int(p.stdout.split()[0])
    except (IndexError, ValueError):
        return None


def drop_cache(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def vmss_chunks(path):
    """Chunk kinds of the vmss's "ram" region (format in vmx/ckpt/ckpt-file.h):
    {"zero": n, "raw": n, "lz4": n, "zstd": n, "chunk_kib": k, "packed": bytes},
    or None."""
    try:
        with open(path, "rb") as f:
            hdr = f.read(128)
            if hdr[:8] != b"VMWSCKPT":
                return None
            count, dir_off = struct.unpack_from("<IQ", hdr, 20)
            f.seek(dir_off)
            d = f.read(count * 64)
            for i in range(count):
                name = d[i * 64:i * 64 + 32].rstrip(b"\0").decode()
                kind, _, off, length = struct.unpack_from("<IIQQ", d, i * 64 + 32)
                if kind != 3 or name != "ram":
                    continue
                f.seek(off)
                body = f.read(length)
                chunk_size, nchunks = struct.unpack_from("<II", body, 8)
                packed_len, = struct.unpack_from("<Q", body, 40)
                table, = struct.unpack_from("<I", body, 52)
                res = {"zero": 0, "raw": 0, "lz4": 0, "zstd": 0,
                       "chunk_kib": chunk_size // 1024, "packed": packed_len}
                names = ("zero", "raw", "lz4", "zstd")
                for c in range(nchunks):
                    k = body[table + c * 32]
                    if k < 4:
                        res[names[k]] += 1
                return res
    except (OSError, struct.error, UnicodeDecodeError, IndexError):
        return None
    return None


class Qmp:
    def __init__(self, path, timeout):
        end = now() + timeout
        while True:
            self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self.s.connect(path)
                break
            except OSError:
                self.s.close()
                if now() > end:
                    raise Fail("QMP: cannot connect to %s" % path)
                time.sleep(0.002)
        self.s.settimeout(60)
        self.f = self.s.makefile("rwb")
        self.events = []
        self.f.readline()  # greeting
        self.call("qmp_capabilities")

    def call(self, cmd, **args):
        msg = {"execute": cmd}
        if args:
            msg["arguments"] = args
        self.f.write((json.dumps(msg) + "\n").encode())
        self.f.flush()
        while True:
            line = self.f.readline()
            if not line:
                raise Fail("QMP %s: QEMU closed the monitor" % cmd)
            r = json.loads(line)
            if "return" in r:
                return r["return"]
            if "error" in r:
                raise Fail("QMP %s: %s" % (cmd, r["error"]))
            if "event" in r:
                self.events.append((now(), r))

    def close(self):
        try:
            self.f.close()
            self.s.close()
        except OSError:
            pass


class Side:
    """One side (vmws or qemu) for one RAM size: boot(), suspend(n),
    resume(n, label), stop()."""
    name = ""

    def __init__(self, a, workdir, mb):
        self.a = a
        self.dir = workdir
        self.mb = mb
        self.region_mb = mb - 32
        self.cmdline = "ckb.mb=%d ckb.random=%d ckb.text=%d ckb.hz=%d ckb.hb=%d" % (
            self.region_mb, a.random, a.text, a.hz, a.hb)
        self.run = 0
        self.serial = None
        self.res = {}

    def serial_path(self):
        return os.path.join(self.dir, "serial-%d.log" % self.run)

    def logs(self):
        return self.serial.tail() if self.serial else ""

    def check_alive(self):
        pass

    def wait(self, what, cond, timeout, step=0.01):
        end = now() + timeout
        while True:
            self.serial.poll()
            self.serial.check_fail(self.name)
            r = cond()
            if r:
                return r
            self.check_alive()
            if now() > end:
                raise Fail("%s: %s: not within %d s\n%s" % (self.name, what, timeout,
                                                           self.logs()))
            time.sleep(step)

    def boot_wait(self):
        """Wait for the fill and the first full pass; steady pass speed."""
        self.serial = Serial(self.serial_path())
        t0 = now()
        r = self.wait("CKB ready", self.serial.watch(re.compile(r"^CKB ready")),
                      self.a.fill_timeout)
        fill = self.serial.find(re.compile(r"^CKB fill done .*ticks=(\d+)"))
        self.res["fill_s"] = r[1] - t0
        self.res["fill_line"] = fill[2].group(0) if fill else ""
        # the first pass (the fill touched all memory: this is the steady speed)
        p1 = self.wait("pass 1", self.serial.watch(PASS_RE, r[0]), self.a.pass_timeout)
        self.res["pass_s"] = p1[1] - r[1]
        self.res["pass_mib_s"] = self.region_mb / self.res["pass_s"]
        self.res["pass_ticks"] = int(p1[2].group(2))

    def before_suspend(self):
        """Suspend at the end of a pass (one that just ended, or the next), so
        that the pass under way still has all of the region to check after
        the resume."""
        last = self.serial.last(PASS_RE)
        if last and now() - last[1] < 0.02:
            return
        start = last[0] + 1 if last else 0
        self.wait("a pass ends", self.serial.watch(PASS_RE, start), self.a.pass_timeout,
                  step=0.001)

    def after_suspend(self, n):
        self.serial.poll()
        hb = self.serial.last(HB_RE)
        if not hb:
            raise Fail("%s: no heartbeat before the suspend\n%s" % (self.name, self.logs()))
        self.res["s%d_hb" % n] = int(hb[2].group(1))
        self.res["s%d_pass" % n] = int(hb[2].group(2))
        self.res["s%d_at_kib" % n] = int(hb[2].group(3))
        ok = self.serial.last(PASS_RE)
        if ok and ok[0] > hb[0]:
            # the pass ended after the last heartbeat: the next one is under way
            self.res["s%d_pass" % n] = int(ok[2].group(1)) + 1
            self.res["s%d_at_kib" % n] = 0
        # The guest stopped in the middle of a line: a "CKB pass=N ok" line
        # means its pass had ended (it prints that after checking); one cut
        # too short to tell ("CKB ") may be either.
        self.res["s%d_pass_alt" % n] = None
        partial = self.serial.buf.decode(errors="replace")
        if partial.startswith("CKB p"):
            self.res["s%d_pass" % n] += 1
            self.res["s%d_at_kib" % n] = 0
        elif partial and "CKB pass=".startswith(partial):
            self.res["s%d_pass_alt" % n] = self.res["s%d_pass" % n] + 1
        self.serial.close()
        size, disk = file_sizes(self.state_file())
        self.res["s%d_apparent" % n] = size
        self.res["s%d_disk" % n] = disk

    def resume_check(self, n, label):
        """After a resume: the guest continued (heartbeats count on, no boot
        banner), the pass under way finished (its speed after the resume)
        and, when that pass had got past its start before the suspend, the
        next one too: all memory checked since the resume."""
        s = self.serial
        hb = s.find(HB_RE)
        first_hb = int(hb[2].group(1))
        if first_hb <= self.res["s%d_hb" % n]:
            raise Fail("%s: after the resume the heartbeat count is %d, it was %d before: "
                       "the guest booted again\n%s" % (self.name, first_hb,
                                                       self.res["s%d_hb" % n], self.logs()))
        if any(l.startswith("kit:") and "booted" in l for _, l in s.lines):
            raise Fail("%s: the guest booted again after the resume\n%s" % (self.name,
                                                                           self.logs()))
        p = self.res["s%d_pass" % n]
        # how far the pass had got when the guest ran again (no further than
        # its first heartbeat says)
        at_mib = int(hb[2].group(3)) / 1024.0
        if int(hb[2].group(2)) == p - 1:
            at_mib = 0.0   # suspended between "pass ok" and the next pass's start
        elif int(hb[2].group(2)) == self.res["s%d_pass_alt" % n]:
            p = self.res["s%d_pass_alt" % n]   # the cut line was the pass's end
            at_mib = 0.0
        elif int(hb[2].group(2)) != p:
            raise Fail("%s: suspended in pass %d, the first heartbeat after the resume says "
                       "pass %s\n%s" % (self.name, p, hb[2].group(2), self.logs()))
        end1 = self.wait("pass %d ends after the resume" % p,
                         s.watch(re.compile(r"^CKB pass=%d ok" % p)), self.a.pass_timeout,
                         step=0.005)
        left_mib = self.region_mb - at_mib
        self.res[label + "_rest_s"] = end1[1] - self.t_resume
        self.res[label + "_rest_mib_s"] = left_mib / max(end1[1] - hb[1], 1e-6)
        self.res[label + "_rest_mib"] = left_mib
        if at_mib > 0:
            # part of the region was checked before the suspend only: the
            # next pass checks it after the resume
            self.wait("pass %d ends after the resume" % (p + 1),
                      s.watch(re.compile(r"^CKB pass=%d ok" % (p + 1)), end1[0]),
                      self.a.pass_timeout)
        self.res[label + "_intact"] = True


class Vmws(Side):
    name = "vmws"

    def __init__(self, a, workdir, mb):
        Side.__init__(self, a, workdir, mb)
        run = os.path.join(workdir, "run")
        os.makedirs(run, mode=0o700, exist_ok=True)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=run, VMWS_VMX=a.vmx)
        self.vmx = os.path.join(workdir, "ckb.vmx")
        self.vmss = os.path.join(workdir, "ckb.vmss")
        self.log = os.path.join(workdir, "vmware.log")
        self.started = False

    def state_file(self):
        return self.vmss

    def write_vmx(self):
        lines = [
            '.encoding = "UTF-8"',
            'displayName = "bench-checkpoint"',
            'memsize = "%d"' % self.mb,
            'numvcpus = "1"',
            'monitor.virtual_exec = "software"',
            'linux.kernel = "%s"' % self.a.guest,
            'linux.entry = "multiboot"',
            'linux.cmdline = "%s"' % self.cmdline,
            'serial0.present = "TRUE"',
            'serial0.fileType = "file"',
            # a new file for every power-on (the vmx truncates it)
            'serial0.fileName = "%s"' % os.path.basename(self.serial_path()),
        ]
        with open(self.vmx, "w") as f:
            f.write("\n".join(lines) + "\n")

    def vmrun(self, *args, timeout=300):
        t0 = now()
        p = subprocess.run([self.a.vmrun] + list(args), env=self.env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout)
        return p.returncode, p.stdout.decode(errors="replace"), now() - t0

    def boot(self):
        self.write_vmx()
        rc, out, _ = self.vmrun("start", self.vmx, "nogui", timeout=120)
        if rc != 0:
            raise Fail("vmrun start failed (exit %d): %s\n%s" % (rc, out, self.logs()))
        self.started = True
        self.boot_wait()

    def suspend(self, n):
        self.before_suspend()
        t0_wall = time.time()
        rc, out, dt = self.vmrun("suspend", self.vmx)
        if rc != 0:
            raise Fail("vmrun suspend failed (exit %d): %s\n%s" % (rc, out, self.logs()))
        self.res["s%d_wall" % n] = dt
        self.res["s%d_timeline" % n] = log_timeline(self.log, t0_wall, SUSPEND_MARKS)
        m = SUSPENDED_RE.findall(read(self.log))
        if not m:
            raise Fail("no 'Checkpoint: suspended' line in vmware.log\n" + self.logs())
        self.res["s%d_log" % n] = int(m[-1]) / 1000.0
        self.wait_vmx_gone()
        if not os.path.exists(self.vmss):
            raise Fail("no %s after vmrun suspend" % self.vmss)
        self.after_suspend(n)
        self.res["s%d_chunks" % n] = vmss_chunks(self.vmss)

    def resume(self, n, label):
        self.run += 1
        self.write_vmx()
        self.serial = Serial(self.serial_path())
        self.t_resume = t0 = now()
        t0_wall = time.time()
        p = subprocess.Popen([self.a.vmrun, "start", self.vmx, "nogui"], env=self.env,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        t_cmd = t_hb = None
        end = t0 + 120
        while t_cmd is None or t_hb is None:
            if t_cmd is None and p.poll() is not None:
                t_cmd = now()
                if p.returncode != 0:
                    raise Fail("resume: vmrun start failed (exit %d): %s\n%s" % (
                        p.returncode, p.stdout.read().decode(errors="replace"), self.logs()))
            if t_hb is None:
                self.serial.poll()
                hb = self.serial.find(HB_RE)
                if hb:
                    t_hb = hb[1]
            if now() > end:
                p.kill()
                raise Fail("resume: the guest did not run again within 120 s\n" + self.logs())
            time.sleep(0.0005)
        p.wait()
        self.started = True
        self.res[label + "_run"] = t_hb - t0
        self.res[label + "_cmd"] = t_cmd - t0
        m = RESUMED_RE.findall(read(self.log))
        if not m:
            raise Fail("no 'Checkpoint: resumed' line in vmware.log\n" + self.logs())
        self.res[label + "_log"] = int(m[-1]) / 1000.0
        tl = log_timeline(self.log, t0_wall, RESUME_MARKS)
        tl["vmrun returned"] = (t_cmd - t0) * 1e3
        tl["guest ran"] = (t_hb - t0) * 1e3
        self.res[label + "_timeline"] = tl
        self.resume_check(n, label)

    def lock_pid(self):
        d = os.path.join(self.dir, "run", "vmws")
        try:
            for n in os.listdir(d):
                if n.endswith(".lock"):
                    return int(read(os.path.join(d, n)).strip() or "0") or None
        except (OSError, ValueError):
            pass
        return None

    def wait_vmx_gone(self):
        for _ in range(200):
            pid = self.lock_pid()
            if not pid or not os.path.exists("/proc/%d" % pid):
                return
            time.sleep(0.05)
        raise Fail("a vmx still runs after the suspend")

    def check_alive(self):
        # vmware.log is a new file for every run of the vmx
        if self.started and "vmx exiting (status" in read(self.log):
            raise Fail("the vmx exited\n" + self.logs())

    def logs(self):
        return Side.logs(self) + "---- vmware.log (end)\n%s\n" % "\n".join(
            read(self.log).splitlines()[-30:])

    def stop(self):
        if not self.started:
            return
        try:
            self.vmrun("stop", self.vmx, "hard", timeout=60)
        except subprocess.TimeoutExpired:
            pass
        # never leave a vmx behind: the one this run started, by its pid
        for _ in range(50):
            pid = self.lock_pid()
            if not pid or not os.path.exists("/proc/%d" % pid):
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        self.started = False


class Qemu(Side):
    name = "qemu"

    def __init__(self, a, workdir, mb):
        Side.__init__(self, a, workdir, mb)
        self.proc = None
        self.qmp = None
        self.out = None
        self.state = None

    def state_file(self):
        return self.state

    def spawn(self, incoming=None):
        sock = os.path.join(self.dir, "qmp-%d.sock" % self.run)
        if self.out:
            self.out.close()
        self.out = open(os.path.join(self.dir, "qemu-%d.log" % self.run), "w")
        cmd = [self.a.qemu, "-machine", "pc", "-accel", "tcg", "-m", str(self.mb),
               "-nodefaults", "-no-user-config", "-display", "none",
               "-vga", "none", "-device", "vmware-svga",
               "-qmp", "unix:%s,server=on,wait=off" % sock,
               "-serial", "file:%s" % self.serial_path(),
               "-device", "isa-debug-exit,iobase=0x501,iosize=1",
               "-kernel", self.a.guest, "-append", self.cmdline]
        if incoming:
            cmd += ["-incoming", "exec:cat %s" % incoming]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        return sock

    def boot(self):
        sock = self.spawn()
        self.qmp = Qmp(sock, 30)
        self.boot_wait()

    def check_alive(self):
        if self.proc and self.proc.poll() is not None:
            raise Fail("QEMU exited with status %d\n%s" % (self.proc.returncode, self.logs()))

    def logs(self):
        return Side.logs(self) + "---- qemu\n%s" % read(
            os.path.join(self.dir, "qemu-%d.log" % self.run))

    def suspend(self, n):
        q = self.qmp
        # as libvirt's `virsh save` does: no bandwidth limit to a file
        q.call("migrate-set-parameters", **{"max-bandwidth": 1 << 40})
        self.state = os.path.join(self.dir, "qemu-%d.state" % n)
        self.before_suspend()
        t0 = now()
        q.call("stop")
        q.call("migrate", uri="exec:cat > %s" % self.state)
        while True:
            info = q.call("query-migrate")
            st = info.get("status")
            if st == "completed":
                break
            if st in ("failed", "cancelled"):
                raise Fail("QEMU migration to the file %s: %r\n%s" % (st, info, self.logs()))
            time.sleep(0.001)
        t1 = now()
        fd = os.open(self.state, os.O_RDONLY)
        os.fsync(fd)
        os.close(fd)
        t2 = now()
        self.res["s%d_wall" % n] = t1 - t0
        self.res["s%d_sync" % n] = t2 - t0
        self.res["s%d_log" % n] = info.get("total-time", 0) / 1000.0
        self.res["s%d_downtime" % n] = info.get("downtime", 0) / 1000.0
        self.after_suspend(n)
        self.quit()

    def quit(self):
        if self.qmp:
            try:
                self.qmp.call("quit")
            except (Fail, OSError):
                pass
            self.qmp.close()
            self.qmp = None
        if self.proc:
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def resume(self, n, label):
        self.run += 1
        self.serial = Serial(self.serial_path())
        self.t_resume = t0 = now()
        sock = self.spawn(incoming=self.state)
        self.qmp = q = Qmp(sock, 30)
        t_qmp = now()
        t_run = t_hb = None
        end = t0 + 120
        while t_run is None or t_hb is None:
            if t_run is None:
                st = q.call("query-status").get("status")
                if st == "running":
                    t_run = now()
                elif st == "paused":
                    # loaded; the source was stopped, so QEMU keeps it paused
                    # (global state) until told to go on, as libvirt does
                    q.call("cont")
                elif st != "inmigrate":
                    raise Fail("QEMU's state after -incoming: %s\n%s" % (st, self.logs()))
            if t_hb is None:
                self.serial.poll()
                hb = self.serial.find(HB_RE)
                if hb:
                    t_hb = hb[1]
            self.check_alive()
            if now() > end:
                raise Fail("resume: QEMU did not run the guest within 120 s\n" + self.logs())
            time.sleep(0.0005)
        self.res[label + "_run"] = t_hb - t0
        self.res[label + "_cmd"] = t_run - t0
        self.res[label + "_log"] = None
        self.res[label + "_timeline"] = {"QMP up": (t_qmp - t0) * 1e3,
                                         "qmp running": (t_run - t0) * 1e3,
                                         "guest ran": (t_hb - t0) * 1e3}
        self.resume_check(n, label)

    def stop(self):
        self.quit()
        if self.out:
            self.out.close()
            self.out = None


def measure(a, kind, top, mb):
    cls = Vmws if kind == "vmws" else Qemu
    wd = os.path.join(top, "%s-%d" % (kind, mb))
    os.makedirs(wd)
    s = cls(a, wd, mb)
    try:
        s.boot()
        r = s.res
        print("%s %d MiB: filled %d MiB in %.1f s (%s); check pass %.2f s (%.0f MiB/s)" % (
            kind, mb, s.region_mb, r["fill_s"], r["fill_line"].replace("CKB fill done ", ""),
            r["pass_s"], r["pass_mib_s"]), flush=True)
        s.suspend(1)
        print("%s %d MiB: suspended in %.3f s, file %.0f MiB (%.0f MiB on disk)" % (
            kind, mb, r["s1_wall"], r["s1_apparent"] / 2**20, r["s1_disk"] / 2**20), flush=True)
        r["warm_cached"] = cached_bytes(s.state_file())
        s.resume(1, "warm")
        print("%s %d MiB: resumed (warm cache) in %.3f s; rest of the pass at %.0f MiB/s; "
              "memory intact" % (kind, mb, r["warm_run"], r["warm_rest_mib_s"]), flush=True)
        if kind == "qemu":
            os.unlink(s.state_file())
        s.suspend(2)
        drop_cache(s.state_file())
        r["cold_cached"] = cached_bytes(s.state_file())
        s.resume(2, "cold")
        print("%s %d MiB: resumed (cold cache, %s cached) in %.3f s; rest of the pass at "
              "%.0f MiB/s; memory intact" % (
                  kind, mb, "?" if r["cold_cached"] is None else
                  "%.1f MiB" % (r["cold_cached"] / 2**20), r["cold_run"],
                  r["cold_rest_mib_s"]), flush=True)
        return r
    finally:
        s.stop()
        if kind == "qemu" and s.state and os.path.exists(s.state):
            os.unlink(s.state)


def ratio(v, q):
    return v / q if v is not None and q else float("nan")


def report(a, sizes, R):
    kv = []
    print()
    print("bench-checkpoint: guest RAM %s; region above 16 MiB: %d%% random, %d%% compressible "
          "records, %d%% zero pages; vmws: software monitor; qemu: TCG" % (
              ", ".join("%d MiB" % mb for mb in sizes), a.random, a.text,
              100 - a.random - a.text))
    goals = []
    for mb in sizes:
        V, Q = R["vmws", mb], R["qemu", mb]
        gib = mb / 1024.0
        print()
        print("%d MiB guest (%g GiB)" % (mb, gib))
        print("%-54s %11s %11s %8s" % ("", "vmws", "qemu-tcg", "ratio"))

        def row(label, key, vk=None, qk=None, scale=1e3, fmt="%.1f", per_gib=True):
            v = V.get(vk or key)
            q = Q.get(qk or key)
            vs = fmt % (v * scale) if v is not None else "-"
            qs = fmt % (q * scale) if q is not None else "-"
            print("%-54s %11s %11s %8.2f" % (label, vs, qs, ratio(v, q)))
            kv.append(("%d.%s" % (mb, key), v, q, scale))
            if per_gib and v is not None and q is not None:
                print("%-54s %11s %11s" % ("  per GiB", fmt % (v * scale / gib),
                                           fmt % (q * scale / gib)))

        for n in (1, 2):
            row("suspend %d ms (command: guest running -> saved)" % n, "s%d_wall" % n)
            row("suspend %d ms, durable (qemu + fsync; ours syncs)" % n, "s%d_durable" % n,
                "s%d_wall" % n, "s%d_sync" % n)
            row("suspend %d ms (vmware.log / qemu total-time)" % n, "s%d_log" % n,
                per_gib=False)
        for label, what in (("warm", "warm cache"), ("cold", "cold cache")):
            row("resume ms, %s: until the guest runs" % what, "%s_run" % label)
            row("resume ms, %s: vmrun returned / qmp running" % what, "%s_cmd" % label,
                per_gib=False)
            if V.get("%s_log" % label) is not None:
                print("%-54s %11.1f %11s" % ("resume ms, %s: vmware.log" % what,
                                              V["%s_log" % label] * 1e3, "-"))
                kv.append(("%d.%s_log" % (mb, label), V["%s_log" % label], None, 1e3))
            row("after resume, %s: check MiB/s (rest of pass)" % what,
                "%s_rest_mib_s" % label, scale=1, fmt="%.0f", per_gib=False)
            row("  resume + check of the rest (%.0f/%.0f MiB), ms" % (
                V["%s_rest_mib" % label], Q["%s_rest_mib" % label]),
                "%s_rest_s" % label, per_gib=False)
        row("steady check MiB/s (a pass before suspend)", "pass_mib_s", scale=1, fmt="%.0f",
            per_gib=False)
        row("file apparent size MiB", "s1_apparent", scale=1 / 2**20, fmt="%.0f", per_gib=False)
        row("file size on disk MiB (du)", "s1_disk", scale=1 / 2**20, fmt="%.0f", per_gib=False)
        for label in ("warm", "cold"):
            cv, cq = V.get("%s_cached" % label), Q.get("%s_cached" % label)
            if cv is not None and cq is not None:
                print("%-54s %11.0f %11.0f" % ("file in page cache before %s resume, MiB" % label,
                                               cv / 2**20, cq / 2**20))
        cv, cq = V.get("cold_cached"), Q.get("cold_cached")
        if (cv or 0) > V["s2_disk"] / 10 or (cq or 0) > Q["s2_disk"] / 10:
            print("NOTE: the files stayed in memory after the drop (tmpfs?): the cold figures "
                  "are warm ones; set TMPDIR to a disk-backed folder")
        ch = V.get("s1_chunks")
        if ch:
            print("vmws file: %d KiB chunks: %d zero, %d raw (mapped), %d lz4 (%.0f MiB "
                  "packed), %d zstd" % (ch["chunk_kib"], ch["zero"], ch["raw"], ch["lz4"],
                                        ch["packed"] / 2**20, ch["zstd"]))
        for kind, r in (("vmws", V), ("qemu", Q)):
            for key, what in (("warm_timeline", "resume, warm"), ("cold_timeline", "resume, cold"),
                              ("s1_timeline", "suspend 1"), ("s2_timeline", "suspend 2")):
                tl = r.get(key)
                if tl:
                    print("%s %s, ms from the command: %s" % (kind, what, ", ".join(
                        "%s %.0f" % (k, v) for k, v in sorted(tl.items(), key=lambda x: x[1]))))
        for label, what in (("warm", "warm cache"), ("cold", "cold cache")):
            v, q = V["%s_run" % label], Q["%s_run" % label]
            goals.append("GOAL resume faster than QEMU (%d MiB, %s): %s (vmws %.1f ms, qemu "
                         "%.1f ms, ratio %.3f; per GiB %.1f vs %.1f ms)" % (
                             mb, what, "PASS" if v < q else "FAIL", v * 1e3, q * 1e3,
                             ratio(v, q), v * 1e3 / gib, q * 1e3 / gib))
    print()
    print("resume: from the command (vmrun start / spawning qemu -incoming) to the guest's "
          "first heartbeat after it; 'after resume' is the guest checking the memory it had "
          "not yet checked in its pass when it was suspended, host wall time")
    print()
    for g in goals:
        print(g)
    print()
    for key, v, q, scale in kv:
        if v is not None:
            print("vmws.%s=%.3f" % (key, v * scale))
        if q is not None:
            print("qemu.%s=%.3f" % (key, q * scale))
        if v is not None and q:
            print("ratio.%s=%.3f" % (key, v / q))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmrun", default=os.environ.get("VMWS_VMRUN"))
    ap.add_argument("--vmx", default=os.environ.get("VMWS_VMX"))
    ap.add_argument("--guest", required=True, help="bench-checkpoint-guest.elf")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--quick", action="store_true", help="one 256 MiB guest (CI smoke run)")
    ap.add_argument("--sizes", default="1024,2048", help="guest RAM sizes in MiB "
                    "(default 1024,2048)")
    ap.add_argument("--random", type=int, default=30,
                    help="percent of pages with incompressible contents (default 30)")
    ap.add_argument("--text", type=int, default=30,
                    help="percent of pages with compressible records (default 30)")
    ap.add_argument("--hz", type=int, default=1000, help="guest PIT rate (default 1000)")
    ap.add_argument("--hb", type=int, default=2, help="PIT ticks between heartbeats (default 2)")
    ap.add_argument("--only", choices=("vmws", "qemu"), help="measure one side only")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    sizes = [256] if a.quick else [int(x) for x in a.sizes.split(",") if x]
    if not sizes or any(mb < 64 or mb % 4 for mb in sizes) or a.random < 0 or a.text < 0 or \
            a.random + a.text > 100:
        ap.error("bad --sizes, --random or --text")
    if not a.vmrun or not a.vmx:
        ap.error("--vmrun and --vmx (or VMWS_VMRUN and VMWS_VMX) are needed")
    for p in (a.vmrun, a.vmx, a.guest):
        if not os.access(p, os.R_OK):
            print("FAIL: %s is missing (build first)" % p)
            return 1
    a.guest = os.path.abspath(a.guest)
    a.vmx = os.path.abspath(a.vmx)
    # generous: a check pass of 2 GiB under an interpreter takes a while
    a.fill_timeout = 120 + max(sizes) // 4
    a.pass_timeout = 120 + max(sizes) // 4
    if a.only != "vmws" and not a.qemu:
        print("SKIP: qemu-system-x86_64 is not installed")
        return 77
    # a test-harness timeout still stops the machines (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    top = tempfile.mkdtemp(prefix="vmws-bench-ckpt-")
    try:
        R = {}
        for mb in sizes:
            for kind in ("vmws", "qemu"):
                if a.only and kind != a.only:
                    continue
                R[kind, mb] = measure(a, kind, top, mb)
        if a.only:
            return 0
        report(a, sizes, R)
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except (Fail, OSError, subprocess.SubprocessError, KeyError) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if a.keep:
            print("work directory: %s" % top)
        else:
            shutil.rmtree(top, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
