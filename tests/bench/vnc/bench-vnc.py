#!/usr/bin/python3
"""tests/bench/vnc: our VNC server against QEMU's, on the same guest picture.

The guest is bench-vnc-guest.elf (a test-kit multiboot program driving the
VMware SVGA II adapter). It runs under our vmx with the software monitor
(monitor.virtual_exec = "software", RemoteDisplay.vnc.* on, started through
`vmrun start ... nogui`) and under qemu-system-x86_64 -accel tcg -M pc
-device vmware-svga -vga none -vnc 127.0.0.1:N (QEMU's own VNC server),
booted the same way (-kernel, the same command line). One client,
bench-vnc (libvncclient), measures both, one connection at a time:

  update rate      the guest animates a whole desktop at --guest-fps frames
                   a second (nearly every pixel changes every frame; the
                   taskbar and most of a dialog, about 3% of the screen,
                   stay as they were, as on a real desktop); the client
                   counts the framebuffer updates it receives per second
                   (one request outstanding, the next sent when an update
                   ends, as viewers do), the distinct guest frames they show
                   (each frame carries its number in a stamp) and the guest's
                   own frame rate over the same time.
  bytes per frame  the exact bytes of those updates (TCP payload delivered to
                   the client's socket, less what was still unread) divided
                   by the number of updates, with only one encoding offered
                   to the server: Tight (lossless: no JPEG quality level),
                   ZRLE and raw by default; plus the share of the screen the
                   updates covered.
  latency          the guest shows one colour and waits for a key on its
                   PS/2 keyboard (polling the i8042); on each key press it
                   fills the whole screen with the next colour in VRAM and
                   sends SVGA_CMD_UPDATE + SYNC. The client sends the key
                   (RFB KeyEvent down and up) after an idle gap of 40-120 ms
                   and stops the clock when it has decoded an update after
                   which every pixel is the new colour. So a sample includes:
                   the client's key message, the server's input path to the
                   emulated PS/2 keyboard, the guest seeing the byte, filling
                   1024x768x4 bytes of VRAM and posting the command, the
                   device and display pipeline up to the VNC server, the
                   server's update scheduling, encoding, the loopback TCP
                   transfer and libvncclient's decoding of the whole screen.
                   "first byte" is the time until the first byte of the
                   answer reached the client. The guest also prints its
                   TSC when it read each scancode and when its SYNC
                   returned (bench.trace=1); where its TSC is the host's
                   (our software monitor) the sample is split into input,
                   guest + display pipeline + server, and transfer+decode.
                   --no-ping: the guest writes no SYNC (the devices find the
                   command on their own refresh).

Output: a table, GOAL lines (ours must send no more bytes per frame than
QEMU at each encoding; our p50 latency must be under 10 ms), and key=value
lines. ratio = vmws / qemu. Exit 0 when both sides were measured (whatever
the goals say), 77 skipped (no QEMU, no vmware-svga, no python needs), 1
failed (a guest or a client did not work).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LISTEN_RE = re.compile(r"MKS: VNC server listening on (\S+):(\d+)")


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


def cpu_seconds(pid):
    """utime + stime of a process, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Machine:
    """One guest run with a VNC server: start(), address, pid, stop()."""
    name = ""

    def __init__(self, a, workdir, cmdline):
        self.a = a
        self.dir = workdir
        self.cmdline = cmdline
        self.serial = os.path.join(workdir, "serial0.log")
        self.host = "127.0.0.1"
        self.port = None
        self.pid = None

    def logs(self):
        return "---- serial0\n%s" % read(self.serial)

    def check_alive(self):
        pass

    def wait_ready(self, timeout):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            s = read(self.serial)
            m = re.search(r"^BENCH error .*$", s, re.M)
            if m:
                raise Fail("%s guest: %s\n%s" % (self.name, m.group(0), self.logs()))
            if re.search(r"^BENCH ready", s, re.M):
                return
            if "KIT RESULT:" in s:
                raise Fail("%s guest ended early\n%s" % (self.name, self.logs()))
            self.check_alive()
            time.sleep(0.1)
        raise Fail("%s guest: no 'BENCH ready' within %d s\n%s" % (self.name, timeout,
                                                                   self.logs()))


class Vmws(Machine):
    name = "vmws"

    def start(self):
        run = os.path.join(self.dir, "run")
        os.makedirs(run, mode=0o700, exist_ok=True)
        self.env = dict(os.environ, XDG_RUNTIME_DIR=run, VMWS_VMX=self.a.vmx)
        self.vmx = os.path.join(self.dir, "bench-vnc.vmx")
        self.log = os.path.join(self.dir, "vmware.log")
        lines = [
            '.encoding = "UTF-8"',
            'displayName = "bench-vnc"',
            'memsize = "128"',
            'numvcpus = "1"',
            'monitor.virtual_exec = "software"',
            'linux.kernel = "%s"' % self.a.guest,
            'linux.entry = "multiboot"',
            'linux.cmdline = "%s"' % self.cmdline,
            'serial0.present = "TRUE"',
            'serial0.fileType = "file"',
            'serial0.fileName = "serial0.log"',
            'RemoteDisplay.vnc.enabled = "TRUE"',
            'RemoteDisplay.vnc.port = "0"',
        ]
        with open(self.vmx, "w") as f:
            f.write("\n".join(lines) + "\n")
        p = subprocess.run([self.a.vmrun, "start", self.vmx, "nogui"], env=self.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if p.returncode != 0:
            raise Fail("vmrun start failed (exit %d): %s\n%s" % (
                p.returncode, p.stdout.decode(errors="replace"), self.logs()))
        self.wait_ready(180)
        m = None
        for _ in range(100):
            m = LISTEN_RE.search(read(self.log))
            if m:
                break
            time.sleep(0.1)
        if not m or not 0 < int(m.group(2)) < 65536:
            raise Fail("no 'MKS: VNC server listening on ADDR:PORT' line in vmware.log\n" +
                       self.logs())
        self.host, self.port = m.group(1).strip("[]"), int(m.group(2))
        self.pid = self.lock_pid()

    def lock_pid(self):
        d = os.path.join(self.dir, "run", "vmws")
        try:
            for n in os.listdir(d):
                if n.endswith(".lock"):
                    return int(read(os.path.join(d, n)).strip() or "0") or None
        except (OSError, ValueError):
            pass
        return None

    def check_alive(self):
        if "vmx exiting (status" in read(os.path.join(self.dir, "vmware.log")):
            raise Fail("the vmx exited\n" + self.logs())

    def logs(self):
        return Machine.logs(self) + "---- vmware.log\n%s" % read(
            os.path.join(self.dir, "vmware.log"))

    def stop(self):
        vmx = getattr(self, "vmx", None)
        if not vmx:
            return
        try:
            subprocess.run([self.a.vmrun, "stop", vmx, "hard"], env=self.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        except subprocess.TimeoutExpired:
            pass
        # never leave a vmx behind: the one this run started, by its pid
        for _ in range(50):
            pid = self.lock_pid()
            if not pid:
                break
            time.sleep(0.1)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass


class Qemu(Machine):
    name = "qemu"

    def start(self):
        self.qmp = os.path.join(self.dir, "qmp.sock")
        self.out = open(os.path.join(self.dir, "qemu.log"), "w")
        cmd = [self.a.qemu, "-machine", "pc", "-accel", "tcg", "-m", "128",
               "-nodefaults", "-no-user-config", "-no-reboot",
               "-vga", "none", "-device", "vmware-svga",
               "-vnc", "127.0.0.1:0,to=99",
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp,
               "-serial", "file:%s" % self.serial,
               "-device", "isa-debug-exit,iobase=0x501,iosize=1",
               "-kernel", self.a.guest, "-append", self.cmdline]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.out,
                                     stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.wait_ready(180)
        self.port = self.query_vnc_port()

    def check_alive(self):
        if self.proc.poll() is not None:
            raise Fail("QEMU exited with status %d\n%s" % (self.proc.returncode, self.logs()))

    def logs(self):
        return Machine.logs(self) + "---- qemu\n%s" % read(os.path.join(self.dir, "qemu.log"))

    def query_vnc_port(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        try:
            s.connect(self.qmp)
            f = s.makefile("rwb")

            def call(cmd):
                f.write((json.dumps({"execute": cmd}) + "\n").encode())
                f.flush()
                while True:
                    line = f.readline()
                    if not line:
                        raise Fail("QMP: QEMU closed the monitor")
                    msg = json.loads(line)
                    if "return" in msg:
                        return msg["return"]
                    if "error" in msg:
                        raise Fail("QMP %s: %s" % (cmd, msg["error"]))

            f.readline()   # greeting
            call("qmp_capabilities")
            info = call("query-vnc")
            port = int(info.get("service", "0"))
            if not info.get("enabled") or not 0 < port < 65536:
                raise Fail("QMP query-vnc: %r" % info)
            return port
        except (OSError, ValueError) as e:
            raise Fail("QMP: %s\n%s" % (e, self.logs()))
        finally:
            s.close()

    def stop(self):
        p = getattr(self, "proc", None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        if getattr(self, "out", None):
            self.out.close()


def run_client(a, m, args, timeout):
    cmd = [a.client] + args[:1] + ["%s:%d" % (m.host, m.port)] + args[1:]
    c0, t0 = cpu_seconds(m.pid) if m.pid else None, time.monotonic()
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=timeout)
    except subprocess.TimeoutExpired:
        raise Fail("%s: the client timed out: %s" % (m.name, " ".join(cmd)))
    c1, t1 = cpu_seconds(m.pid) if m.pid else None, time.monotonic()
    err = p.stderr.decode(errors="replace")
    if a.verbose:
        sys.stderr.write(err)
    if p.returncode != 0:
        raise Fail("%s: %s failed (exit %d):\n%s%s" % (m.name, " ".join(cmd), p.returncode,
                                                      err, m.logs()))
    out = p.stdout.decode(errors="replace")
    res = {"_out": out}
    for line in out.splitlines():
        k, sep, v = line.partition("=")
        if sep and not line.startswith("trace "):
            try:
                res[k] = float(v)
            except ValueError:
                res[k] = v
    if c0 is not None and c1 is not None and t1 > t0:
        res["vm_cpu_pct"] = 100.0 * (c1 - c0) / (t1 - t0)
    return res


def median(v):
    v = sorted(v)
    return v[len(v) // 2] if v else None


def breakdown(serial, client_out):
    """Medians (ms) of the parts of a latency sample, from the guest's TSC
    (bench.trace=1) lined up with the client's (--trace 1): "post" (the
    guest's fill, UPDATE and SYNC, from its TSC alone) always; "input",
    "display" and "decode" only where the guest reads the host's TSC (our
    software monitor). None without the guest's lines."""
    m = re.search(r"^BENCH tsc (\d+) kHz", serial, re.M)
    guest = {int(k): (int(a), int(b)) for k, a, b in
             re.findall(r"^BENCH key (\d+) seen=(\d+) posted=(\d+)", serial, re.M)}
    if not m or not guest:
        return None
    khz = int(m.group(1))
    res = {"post": median([(b - a) / khz for a, b in guest.values()])}
    rows = []
    samples = re.findall(r"^trace key=(\d+) sent=([\d.]+) first=([\d.]+) done=([\d.]+) "
                         r"tsc=(\d+)", client_out, re.M)
    for k, sent, first, done, tsc in samples:
        if int(k) not in guest:
            continue
        sent, first, done, tsc = float(sent), float(first), float(done), int(tsc)
        seen = sent + (guest[int(k)][0] - tsc) / (khz * 1e3)
        if not sent - 0.0002 <= seen <= done:
            continue
        rows.append(((seen - sent) * 1e3, (first - seen) * 1e3, (done - first) * 1e3))
    if samples and len(rows) >= 0.8 * len(samples):
        for i, name in enumerate(("input", "display", "decode")):
            res[name] = median([r[i] for r in rows])
    return res


def measure(a, kind, top, encodings):
    """Everything for one machine kind ("vmws" or "qemu")."""
    cls = Vmws if kind == "vmws" else Qemu
    res = {}
    size = ["--width", str(a.width), "--height", str(a.height)]
    compress = ["--compress", str(a.compress)] if a.compress is not None else []
    wd = os.path.join(top, kind + "-anim")
    os.makedirs(wd)
    ping = " bench.sync=0" if a.no_ping else ""
    m = cls(a, wd, "bench.mode=anim bench.w=%d bench.h=%d bench.fps=%d%s" % (
        a.width, a.height, a.guest_fps, ping))
    try:
        m.start()
        print("%s: animation ready, VNC on %s:%d" % (kind, m.host, m.port), flush=True)
        for enc in encodings:
            r = run_client(a, m, ["fps", "--encoding", enc, "--warmup", str(a.warmup),
                                  "--seconds", str(a.seconds)] + size + compress,
                           a.seconds + a.warmup + 120)
            res["fps", enc] = r
            print("%s: %-7s %6.1f updates/s, %6.1f frames shown/s (guest %5.1f), "
                  "%9.0f bytes/update, %.2f of the screen each" % (
                      kind, enc, r["updates_per_s"], r["frames_shown_per_s"], r["guest_fps"],
                      r["bytes_per_update"], r["pixels_per_update"]), flush=True)
    finally:
        m.stop()
    wd = os.path.join(top, kind + "-key")
    os.makedirs(wd)
    m = cls(a, wd, "bench.mode=key bench.trace=1 bench.w=%d bench.h=%d%s" % (
        a.width, a.height, ping))
    try:
        m.start()
        print("%s: key-latency screen ready, VNC on %s:%d" % (kind, m.host, m.port), flush=True)
        r = run_client(a, m, ["latency", "--encoding", a.latency_encoding, "--samples",
                              str(a.latency_samples), "--trace", "1"] + size + compress,
                       a.latency_samples * 6 + 120)
        res["latency"] = r
        res["breakdown"] = breakdown(read(m.serial), r["_out"])
        print("%s: latency p50 %.2f ms, p95 %.2f ms (%d samples, %d lost)" % (
            kind, r["latency_ms_p50"], r["latency_ms_p95"], r["samples"], r["lost"]),
            flush=True)
    finally:
        m.stop()
    return res


def ratio(v, q):
    return v / q if q else float("nan")


def report(a, encodings, V, Q):
    print()
    print("bench-vnc: %dx%d, guest animating at %s, %g s per encoding, %d key presses "
          "(latency with %s)%s" % (a.width, a.height,
                                   "%d fps" % a.guest_fps if a.guest_fps else "full speed",
                                   a.seconds, a.latency_samples, a.latency_encoding,
                                   ", no SYNC ping" if a.no_ping else ""))
    print("%-34s %12s %12s %8s" % ("", "vmws", "qemu-tcg", "ratio"))
    rows = [
        ("updates_per_s", "updates/s", "%.1f"),
        ("frames_shown_per_s", "frames shown/s", "%.1f"),
        ("guest_fps", "guest frames/s", "%.1f"),
        ("bytes_per_update", "bytes/frame", "%.0f"),
        ("pixels_per_update", "screen share per update", "%.3f"),
        ("bytes_per_screen", "bytes per full screen", "%.0f"),
        ("mbit_per_s", "Mbit/s", "%.1f"),
        ("vm_cpu_pct", "VM process CPU %", "%.0f"),
    ]
    kv = []
    for enc in encodings:
        v, q = V["fps", enc], Q["fps", enc]
        for key, label, fmt in rows:
            if key not in v or key not in q:
                continue
            print("%-34s %12s %12s %8.2f" % ("%s %s" % (enc, label), fmt % v[key], fmt % q[key],
                                             ratio(v[key], q[key])))
            kv.append(("%s.%s" % (enc, key), v[key], q[key]))
    v, q = V["latency"], Q["latency"]
    for key, label in (("latency_ms_p50", "latency p50 ms"), ("latency_ms_p95", "latency p95 ms"),
                       ("latency_ms_min", "latency min ms"), ("latency_ms_max", "latency max ms"),
                       ("first_byte_ms_p50", "first byte p50 ms"),
                       ("first_byte_ms_p95", "first byte p95 ms")):
        print("%-34s %12.2f %12.2f %8.2f" % (label, v[key], q[key], ratio(v[key], q[key])))
        kv.append(("latency.%s" % key, v[key], q[key]))
    print("latency: key message sent -> whole new screen decoded by the client (guest PS/2 "
          "poll, VRAM fill, UPDATE+SYNC, server, encoding, loopback TCP, decoding)")
    for kind, r in (("vmws", V), ("qemu", Q)):
        b = r.get("breakdown") or {}
        if "input" in b:
            print("%s latency parts (medians, ms): key sent -> guest read the scancode %.2f; "
                  "guest read it -> first byte at the client %.2f (of which the guest's fill, "
                  "UPDATE and SYNC until it returned %.2f); first byte -> screen decoded %.2f" % (
                      kind, b["input"], b["display"], b["post"], b["decode"]))
        elif "post" in b:
            print("%s latency parts (medians, ms): the guest's fill, UPDATE and SYNC until it "
                  "returned %.2f; first byte -> screen decoded %.2f; the rest cannot be split "
                  "(the guest's TSC is not the host's)" % (
                      kind, b["post"], r["latency"]["latency_ms_p50"] -
                      r["latency"]["first_byte_ms_p50"]))
    print()
    for enc in encodings:
        v, q = V["fps", enc]["bytes_per_update"], Q["fps", enc]["bytes_per_update"]
        print("GOAL bytes/frame %-6s <= QEMU: %s (vmws %.0f, qemu %.0f, ratio %.2f)" % (
            enc, "PASS" if v <= q else "FAIL", v, q, ratio(v, q)))
    p50 = V["latency"]["latency_ms_p50"]
    print("GOAL latency p50 < 10 ms:      %s (vmws %.2f ms, qemu %.2f ms)" % (
        "PASS" if p50 < 10 else "FAIL", p50, Q["latency"]["latency_ms_p50"]))
    print()
    for kind, r in (("vmws", V), ("qemu", Q)):
        for name, x in sorted((r.get("breakdown") or {}).items()):
            print("%s.latency.part_%s_ms=%.3f" % (kind, name, x))
    for key, v, q in kv:
        print("vmws.%s=%.3f" % (key, v))
        print("qemu.%s=%.3f" % (key, q))
        print("ratio.%s=%.3f" % (key, ratio(v, q)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmrun", default=os.environ.get("VMWS_VMRUN"))
    ap.add_argument("--vmx", default=os.environ.get("VMWS_VMX"))
    ap.add_argument("--guest", required=True, help="bench-vnc-guest.elf")
    ap.add_argument("--client", required=True, help="the bench-vnc client")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-x86_64"))
    ap.add_argument("--quick", action="store_true",
                    help="a few seconds per side (CI smoke run)")
    ap.add_argument("--seconds", type=float, default=10.0, help="per encoding (default 10)")
    ap.add_argument("--warmup", type=float, default=1.0)
    ap.add_argument("--latency-samples", type=int, default=100)
    ap.add_argument("--latency-encoding", default="tight")
    ap.add_argument("--encodings", default="tight,zrle,raw")
    ap.add_argument("--compress", type=int, choices=range(10), default=None,
                    help="compression level sent to the server (default libvncclient's 3)")
    ap.add_argument("--guest-fps", type=int, default=60,
                    help="animation frames per second in the guest; 0: as fast as it can")
    ap.add_argument("--no-ping", action="store_true",
                    help="the guest does not write SVGA_REG_SYNC after its commands "
                    "(bench.sync=0): the devices find them on their own refresh")
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--height", type=int, default=768)
    ap.add_argument("--only", choices=("vmws", "qemu"), help="measure one side only")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    ap.add_argument("--verbose", action="store_true", help="show the client's messages")
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.warmup, a.latency_samples = 2.0, 0.5, 15
    encodings = [e for e in a.encodings.split(",") if e]
    if not encodings or a.seconds <= 0 or a.latency_samples < 1 or not 0 <= a.guest_fps <= 500:
        ap.error("bad --encodings, --seconds, --latency-samples or --guest-fps")
    if not a.vmrun or not a.vmx:
        ap.error("--vmrun and --vmx (or VMWS_VMRUN and VMWS_VMX) are needed")
    for p in (a.vmrun, a.vmx, a.guest, a.client):
        if not os.access(p, os.R_OK):
            print("FAIL: %s is missing (build first)" % p)
            return 1
    a.guest = os.path.abspath(a.guest)
    a.vmx = os.path.abspath(a.vmx)
    if a.only != "vmws":
        if not a.qemu:
            print("SKIP: qemu-system-x86_64 is not installed")
            return 77
        dev = subprocess.run([a.qemu, "-device", "help"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT).stdout.decode(errors="replace")
        if '"vmware-svga"' not in dev:
            print("SKIP: this QEMU has no vmware-svga device")
            return 77
    # a test-harness timeout still stops the machines (the finally blocks)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    top = tempfile.mkdtemp(prefix="vmws-bench-vnc-")
    try:
        res = {}
        for kind in ("vmws", "qemu"):
            if a.only and kind != a.only:
                continue
            res[kind] = measure(a, kind, top, encodings)
        if a.only:
            return 0
        report(a, encodings, res["vmws"], res["qemu"])
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
