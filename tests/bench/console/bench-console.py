#!/usr/bin/python3
"""tests/bench/console: the local console (MKS -> vmws window) against the
same guest seen through gvncviewer over our VNC server.

Runs inside tests/ui/run-ui-test.sh (Xvfb, a session bus, the accessibility
bus, a private HOME), with a display of VMWS_UI_SCREEN (2560x1440x24 from
meson.build) so that a 1920x1080 guest fits 1:1 in either window.

The guest is bench-vnc-guest.elf (tests/bench/vnc: a test-kit program
driving the VMware SVGA II adapter) at 1920x1080, under our vmx with the
software monitor, started with `vmrun start ... nogui`, VNC on. Two guest
runs:

  anim  the whole desktop animates (wallpaper, a scrolling document
        window, a bouncing picture, a progress bar) at --guest-fps frames
        a second; every frame carries its number in a stamp in the
        taskbar.
  key   the screen is one colour; each key press the guest reads from its
        PS/2 keyboard fills the whole screen with the next colour of a
        known sequence.

With each guest run, each viewer in turn (only one connected at a time, so
they never share the CPU or the guest's frames):

  vmws        the workstation (build/ui/vmws PATH.vmx): it finds the VM
              running, its Console page, "Fit Guest" off (1:1), the window
              made big enough to show the whole guest screen (set up through
              AT-SPI while the guest is paused: a main loop busy drawing
              frames answers AT-SPI slowly). --vmws-env NAME=VALUE runs it
              with more environment (e.g. GSK_RENDERER=cairo).
  gvncviewer  gtk-vnc's viewer on our VNC server (it asks for Tight with
              JPEG quality 5, so its picture is close to, not exactly, the
              guest's).

The probe (bench-console-probe.c) reads the pixels the X server shows:

  frames/s    the guest's frame stamp, read from the screen every
              --interval-us for --seconds: distinct frames seen per second
              (the guest's own rate over the same time from its serial
              port, and from the stamps' numbers).
  latency     after an idle gap of 40-120 ms, one key press + release sent
              with XTEST to the viewer's window (vmws: the console grabbed
              by a click; gvncviewer: focused), then the time until five
              points of the picture (corners and middle) all show the next
              colour: X input -> viewer -> MKS or VNC -> guest PS/2 read ->
              VRAM fill + SVGA UPDATE -> MKS -> viewer -> X server.

Output: a table, GOAL lines ("the local console at least matches VNC":
frames/s ratio >= 1 and latency p50 ratio <= 1; ratio = vmws / gvncviewer)
and key=value lines. Exit 0 when every measurement ran (whatever the goals
say; --quick also checks that frames were seen and latency samples taken),
77 skipped (gvncviewer or the UI test tools missing), 1 failed.
"""
import argparse
import importlib.util
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("VMWS_SOURCE_ROOT", os.path.abspath(os.path.join(HERE, "..", "..", "..")))


def load_bench_vnc():
    """tests/bench/vnc/bench-vnc.py as a module: its Vmws class starts and
    stops the guest under our vmx."""
    spec = importlib.util.spec_from_file_location(
        "bench_vnc", os.path.join(SOURCE, "tests", "bench", "vnc", "bench-vnc.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


sys.path.insert(0, os.path.join(SOURCE, "tests", "ui"))
try:
    import vmwsui  # noqa: E402  (dogtail: run under Debian's /usr/bin/python3)
except ImportError as e:
    print("SKIP: the UI test helpers cannot be loaded (%s)" % e)
    sys.exit(77)

bench_vnc = load_bench_vnc()
Fail = vmwsui.Fail
T0 = time.monotonic()


def log(msg):
    vmwsui.log("[%5.1f s] %s" % (time.monotonic() - T0, msg))


def parse_kv(text):
    res = {}
    for line in text.splitlines():
        k, sep, v = line.partition("=")
        if sep:
            try:
                res[k] = float(v)
            except ValueError:
                res[k] = v
    return res


class Probe:
    def __init__(self, path):
        self.path = path

    def run(self, args, timeout):
        cmd = [self.path] + [str(x) for x in args]
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Fail("the probe timed out: %s" % " ".join(cmd))
        return p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")

    def locate(self, wid, mode, w, h, timeout):
        """Root coordinates of the guest's picture in window wid, waiting
        until it is there."""
        deadline = time.monotonic() + timeout
        while True:
            rc, out, err = self.run(["locate", wid, mode, w, h], 60)
            m = re.search(r"^origin=(\d+),(\d+)$", out, re.M)
            if rc == 0 and m:
                return int(m.group(1)), int(m.group(2))
            if time.monotonic() > deadline:
                raise Fail("the guest's %dx%d %s picture is not in the window (1:1): %s" % (
                    w, h, mode, err.strip()))
            time.sleep(0.5)


def xdo(*args):
    return vmwsui.xdo(*args)


def windows_of(pid):
    try:
        return xdo("search", "--onlyvisible", "--pid", pid).split()
    except Fail:
        return []


def biggest_window(pid):
    """The largest visible window of process pid (its main window)."""
    best, area = None, 0
    for wid in windows_of(pid):
        m = re.search(r"Geometry: (\d+)x(\d+)", xdo("getwindowgeometry", wid))
        if m and int(m.group(1)) * int(m.group(2)) > area:
            best, area = wid, int(m.group(1)) * int(m.group(2))
    return best if area > 100 * 100 else None


class Viewer:
    name = ""

    def __init__(self, a, vm, art):
        self.a = a
        self.vm = vm
        self.art = art
        self.wid = None
        self.origin = None

    def focus_for_keys(self):
        """Click in the middle of the guest's picture."""
        x, y = self.origin
        vmwsui.click_at(x + self.a.width // 2, y + self.a.height // 2)
        time.sleep(0.5)


class Gvnc(Viewer):
    name = "gvncviewer"

    def start(self, mode):
        port = self.vm.port
        if port < 5900:
            raise Fail("the VNC server took port %d: gvncviewer reaches only 5900 and up "
                       "(HOST:DISPLAY)" % port)
        self.log_path = os.path.join(self.art, "gvncviewer-%s.log" % mode)
        # Not on the accessibility bus: once it exits, AT-SPI calls that
        # still name it wait for D-Bus timeouts (the vmws steps took a
        # minute instead of a second).
        self.proc = subprocess.Popen(["gvncviewer", "%s:%d" % (self.vm.host, port - 5900)],
                                     env=dict(os.environ, NO_AT_BRIDGE="1"),
                                     stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        self.wid = vmwsui.wait_for(self.window, 30, "the gvncviewer window")
        xdo("windowmove", self.wid, 0, 0)
        self.origin = Probe(self.a.probe).locate(self.wid, mode, self.a.width, self.a.height, 30)

    def window(self):
        if self.proc.poll() is not None:
            raise Fail("gvncviewer exited (%d): %s" % (self.proc.returncode,
                                                       bench_vnc.read(self.log_path)))
        return biggest_window(self.proc.pid)

    def pid(self):
        return self.proc.pid

    def stop(self):
        p = getattr(self, "proc", None)
        if p and p.poll() is None:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


class Vmws(Viewer):
    name = "vmws"

    def vmrun(self, op):
        p = subprocess.run([self.a.vmrun, op, self.vm.vmx], env=self.vm.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        if p.returncode != 0:
            raise Fail("vmrun %s: %s" % (op, p.stdout.decode(errors="replace")))

    def start(self, mode):
        # The guest is paused while the app is set up: a main loop busy
        # drawing 1920x1080 frames answers AT-SPI slowly (a minute instead
        # of seconds).
        self.vmrun("pause")
        try:
            self.setup(mode)
        finally:
            self.vmrun("unpause")

    def setup(self, mode):
        # The VM runs with its own runtime folder (bench-vnc.py's Vmws):
        # the app finds it there.
        env = {"XDG_RUNTIME_DIR": self.vm.env["XDG_RUNTIME_DIR"]}
        for kv in self.a.vmws_env or ():
            k, _, v = kv.partition("=")
            env[k] = v
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.app = vmwsui.App(self.vm.vmx)
            log("vmws: on AT-SPI")
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        win = self.app.window
        self.wid = vmwsui.wait_for(lambda: biggest_window(self.app.proc.pid), 30,
                                   "the vmws window")
        # Room for the library, the toolbar and the guest at 1:1.
        xdo("windowmove", self.wid, 0, 0)
        xdo("windowsize", self.wid, self.a.screen_w - 40, self.a.screen_h - 60)
        time.sleep(0.5)
        log("vmws: window 0x%x" % int(self.wid))
        page = vmwsui.find(win, "Console", ("toggle button", "radio button", "push button",
                                            "page tab"), timeout=30)
        vmwsui.activate(page)
        vmwsui.find(win, "Virtual machine console", "image", timeout=30)
        vmwsui.press(win, "Fit Guest")
        log("vmws: console page, 1:1")
        time.sleep(0.5)
        try:
            self.origin = Probe(self.a.probe).locate(self.wid, mode, self.a.width,
                                                     self.a.height, 30)
        except Fail:
            vmwsui.screenshot("vmws-console-%s-not-found" % mode)
            raise

    def pid(self):
        return self.app.proc.pid

    def stop(self):
        app = getattr(self, "app", None)
        if app:
            app.stop()


def cpu_seconds(pid):
    return bench_vnc.cpu_seconds(pid) if pid else None


def guest_fps(serial, since_line):
    """Frames per second from the guest's "BENCH anim frames=N (M in the
    last 5 s)" lines after line since_line."""
    lines = re.findall(r"^BENCH anim frames=\d+ \((\d+) in the last 5 s\)", serial, re.M)
    lines = lines[since_line:]
    return (sum(int(x) for x in lines) / (5.0 * len(lines)) if lines else None), len(lines)


def count_anim_lines(serial):
    return len(re.findall(r"^BENCH anim frames=", serial, re.M))


def measure_fps(a, vm, viewer):
    probe = Probe(a.probe)
    x, y = viewer.origin
    time.sleep(a.warmup)
    n0 = count_anim_lines(bench_vnc.read(vm.serial))
    c0 = (cpu_seconds(viewer.pid()), cpu_seconds(vm.pid), time.monotonic())
    rc, out, err = probe.run(["fps", x, y, a.width, int(a.seconds), a.interval_us],
                             a.seconds + 60)
    c1 = (cpu_seconds(viewer.pid()), cpu_seconds(vm.pid), time.monotonic())
    if rc != 0:
        raise Fail("%s: the probe read no frame stamp: %s" % (viewer.name, err.strip()))
    r = parse_kv(out)
    # the guest's own rate over the same time (5 s lines that ended in it)
    time.sleep(0.2)
    g, nlines = guest_fps(bench_vnc.read(vm.serial), n0)
    if g is not None:
        r["guest_serial_fps"] = g
    dt = c1[2] - c0[2]
    if c0[0] is not None and c1[0] is not None:
        r["viewer_cpu_pct"] = 100.0 * (c1[0] - c0[0]) / dt
    if c0[1] is not None and c1[1] is not None:
        r["vm_cpu_pct"] = 100.0 * (c1[1] - c0[1]) / dt
    if r.get("guest_frames_per_s"):
        r["shown_share"] = r.get("frames_seen_per_s", 0) / r["guest_frames_per_s"]
    vmwsui.screenshot("%s-anim" % viewer.name)
    log("%s: %.1f frames/s seen on the screen (guest %.1f by its stamps%s), %d of %d reads "
        "unreadable, longest gap %.0f ms" % (
            viewer.name, r.get("frames_seen_per_s", 0), r.get("guest_frames_per_s", 0),
            ", %.1f by its serial port" % g if g is not None else "", r.get("unreadable", 0),
            r.get("samples", 0), r.get("max_gap_ms", 0)))
    return r


def measure_latency(a, vm, viewer):
    probe = Probe(a.probe)
    x, y = viewer.origin
    viewer.focus_for_keys()
    rc, out, err = probe.run(["latency", x, y, a.width, a.height, a.latency_samples, 40, 120,
                              a.latency_timeout_ms],
                             a.latency_samples * (0.2 + a.latency_timeout_ms / 1000.0) + 60)
    r = parse_kv(out)
    r["_samples"] = [float(v) for v in re.findall(r"^sample=([\d.]+)$", out, re.M)]
    if rc != 0 or not r["_samples"]:
        raise Fail("%s: no latency sample (probe exit %d): %s" % (viewer.name, rc, err.strip()))
    vmwsui.screenshot("%s-key" % viewer.name)
    log("%s: latency p50 %.1f ms, p90 %.1f ms (%d samples, %d lost)" % (
        viewer.name, r["latency_ms_p50"], r["latency_ms_p90"], r["samples"], r["lost"]))
    return r


def with_guest(a, top, mode, viewers, fn):
    """Start the guest in mode, then for each viewer class: start it, fn,
    stop it. {viewer name: fn's result}."""
    wd = os.path.join(top, mode)
    os.makedirs(wd)
    if mode == "anim":
        cmdline = "bench.mode=anim bench.w=%d bench.h=%d bench.fps=%d" % (
            a.width, a.height, a.guest_fps)
    else:
        cmdline = "bench.mode=key bench.w=%d bench.h=%d" % (a.width, a.height)
    vm = bench_vnc.Vmws(a, wd, cmdline)
    res = {}
    try:
        vm.start()
        log("%s guest ready, VNC on %s:%d" % (mode, vm.host, vm.port))
        for cls in viewers:
            v = cls(a, vm, vmwsui.ART)
            try:
                v.start(mode)
                log("%s: the guest's picture at %d,%d" % (v.name, v.origin[0], v.origin[1]))
                res[v.name] = fn(a, vm, v)
            except Fail:
                if isinstance(v, Vmws) and getattr(v, "app", None):
                    log("---- vmws log:\n%s" % v.app.log())
                raise
            finally:
                v.stop()
                time.sleep(0.5)
    finally:
        vm.stop()
    return res


def ratio(v, g):
    return v / g if g else float("nan")


def report(a, F, L):
    V, G = "vmws", "gvncviewer"
    print()
    print("bench-console: %dx%d guest, animating at %s, %g s of frames per viewer, %d key "
          "presses per viewer" % (a.width, a.height,
                                  "%d fps" % a.guest_fps if a.guest_fps else "full speed",
                                  a.seconds, a.latency_samples))
    print("%-38s %12s %12s %8s" % ("", "vmws", "gvncviewer", "ratio"))
    rows = [
        (F, "frames_seen_per_s", "frames/s on the screen", "%.1f"),
        (F, "guest_frames_per_s", "guest frames/s (stamps)", "%.1f"),
        (F, "guest_serial_fps", "guest frames/s (serial)", "%.1f"),
        (F, "shown_share", "share of the guest's frames shown", "%.2f"),
        (F, "max_gap_ms", "longest frame gap ms", "%.0f"),
        (F, "unreadable", "unreadable stamp reads", "%.0f"),
        (F, "samples_per_s", "stamp reads/s", "%.0f"),
        (F, "viewer_cpu_pct", "viewer CPU % (animation)", "%.0f"),
        (F, "vm_cpu_pct", "vmx CPU % (animation)", "%.0f"),
        (L, "latency_ms_p50", "latency p50 ms", "%.2f"),
        (L, "latency_ms_p90", "latency p90 ms", "%.2f"),
        (L, "latency_ms_min", "latency min ms", "%.2f"),
        (L, "latency_ms_max", "latency max ms", "%.2f"),
        (L, "samples", "latency samples", "%.0f"),
        (L, "lost", "latency presses lost", "%.0f"),
    ]
    kv = []
    for src, key, label, fmt in rows:
        v, g = src[V].get(key), src[G].get(key)
        if v is None or g is None:
            continue
        print("%-38s %12s %12s %8.2f" % (label, fmt % v, fmt % g, ratio(v, g)))
        kv.append((key, v, g))
    print("frames/s: distinct guest frames (by their stamps) the X server showed in the "
          "viewer's window, read every %d us" % a.interval_us)
    print("latency: XTEST key press -> every probe point of the window shows the guest's next "
          "colour")
    fr = ratio(F[V]["frames_seen_per_s"], F[G]["frames_seen_per_s"])
    lr = ratio(L[V]["latency_ms_p50"], L[G]["latency_ms_p50"])
    print()
    print("GOAL frames/s vmws >= gvncviewer:    %s (ratio %.2f: vmws %.1f, gvncviewer %.1f)" % (
        "PASS" if fr >= 1 else "FAIL", fr, F[V]["frames_seen_per_s"],
        F[G]["frames_seen_per_s"]))
    print("GOAL latency p50 vmws <= gvncviewer: %s (ratio %.2f: vmws %.1f ms, gvncviewer "
          "%.1f ms)" % ("PASS" if lr <= 1 else "FAIL", lr, L[V]["latency_ms_p50"],
                        L[G]["latency_ms_p50"]))
    print("GOAL the local console at least matches VNC: %s" % (
        "PASS" if fr >= 1 and lr <= 1 else "FAIL"))
    print()
    for key, v, g in kv:
        print("vmws.%s=%.3f" % (key, v))
        print("gvncviewer.%s=%.3f" % (key, g))
        print("ratio.%s=%.3f" % (key, ratio(v, g)))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--vmrun", default=os.environ.get("VMWS_VMRUN"))
    ap.add_argument("--vmx", default=os.environ.get("VMWS_VMX"))
    ap.add_argument("--guest", required=True, help="bench-vnc-guest.elf")
    ap.add_argument("--probe", required=True, help="bench-console-probe")
    ap.add_argument("--quick", action="store_true", help="a few seconds per viewer (CI smoke)")
    ap.add_argument("--seconds", type=float, default=20.0, help="frames counted per viewer")
    ap.add_argument("--warmup", type=float, default=2.0)
    ap.add_argument("--interval-us", type=int, default=1000,
                    help="pause between two reads of the frame stamp")
    ap.add_argument("--latency-samples", type=int, default=60)
    ap.add_argument("--latency-timeout-ms", type=int, default=5000)
    ap.add_argument("--guest-fps", type=int, default=60)
    ap.add_argument("--vmws-env", action="append", metavar="NAME=VALUE",
                    help="environment for vmws (e.g. GSK_RENDERER=cairo); repeatable")
    ap.add_argument("--width", type=int, default=1920)
    ap.add_argument("--height", type=int, default=1080)
    a = ap.parse_args()
    if a.quick:
        a.seconds, a.warmup, a.latency_samples = 3.0, 0.5, 8
    if a.seconds < 1 or a.latency_samples < 1:
        ap.error("bad --seconds or --latency-samples")
    if not a.vmrun or not a.vmx:
        ap.error("--vmrun and --vmx (or VMWS_VMRUN and VMWS_VMX) are needed")
    if not shutil.which("gvncviewer"):
        print("SKIP: gvncviewer is not installed (Debian package gvncviewer; ./vmws-dev "
              "installs it)")
        return 77
    if not vmwsui.VMWS:
        print("SKIP: the vmws program was not built (GTK 4 missing?)")
        return 77
    for p in (a.vmrun, a.vmx, a.guest, a.probe):
        if not os.access(p, os.R_OK):
            print("FAIL: %s is missing (build first)" % p)
            return 1
    a.guest = os.path.abspath(a.guest)
    a.vmx = os.path.abspath(a.vmx)
    m = re.search(r"(\d+)x(\d+)", subprocess.run(["xdotool", "getdisplaygeometry"],
                                                 stdout=subprocess.PIPE).stdout.decode()
                  .replace(" ", "x"))
    a.screen_w, a.screen_h = (int(m.group(1)), int(m.group(2))) if m else (0, 0)
    if a.screen_w < a.width + 400 or a.screen_h < a.height + 250:
        print("FAIL: the display is %dx%d, too small for a %dx%d guest at 1:1 in the vmws "
              "window (set VMWS_UI_SCREEN)" % (a.screen_w, a.screen_h, a.width, a.height))
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    top = os.path.join(vmwsui.WORK, "bench-console")
    os.makedirs(top, exist_ok=True)
    # Out of the way: the pointer is not in the pictures the probe reads.
    xdo("mousemove", a.screen_w - 1, a.screen_h - 1)
    try:
        # Each guest run: both viewers, in turn; the order alternates.
        F = with_guest(a, top, "anim", (Gvnc, Vmws), measure_fps)
        L = with_guest(a, top, "key", (Vmws, Gvnc), measure_latency)
        report(a, F, L)
        if a.quick:
            for name in ("vmws", "gvncviewer"):
                if F[name].get("frames_seen", 0) < 1 or L[name].get("samples", 0) < 1:
                    print("FAIL: %s: no frames seen or no latency sample" % name)
                    return 1
        return 0
    except (Fail, bench_vnc.Fail, OSError, subprocess.SubprocessError, KeyError) as e:
        try:
            vmwsui.screenshot("failure")
        except Exception:
            pass
        print("FAIL: %s" % e)
        return 1


if __name__ == "__main__":
    sys.exit(main())
