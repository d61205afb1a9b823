#!/usr/bin/python3
"""The stock kernel's own display and input drivers on our SVGA II device,
vmmouse and PS/2 keyboard, seen and driven through the VNC server.

usage: test-linux-display.py --vncdo PATH --mksdo PATH [--monitor software|hardware]
                             [--timeout S]

1. The guest loads vmwgfx; its fbdev console (fbcon) takes the screen.
   Its host log message (GuestRPC "log" over the backdoor) reaches
   vmware.log as a "Guest: vmwgfx: Module Version" line, and the kernel
   does not report "Failed to send host log message". A guestinfo.* key of
   the .vmx is a guest variable the VMDB shows (vmrun readVariable guestVar).
2. A line with every printable ASCII character is written to /dev/tty1 (a
   calibration line), and a shell reads commands from tty1.
3. Through VNC (vncdo, a libvncclient viewer) a command is typed into that
   shell; the guest runs it (checked over the serial shell).
4. The screen is read back twice -- vmrun captureScreen (PNG) and the
   viewer's own framebuffer (PPM) -- and must be identical; the text on it
   is read with the glyphs learned from the calibration line: the typed
   command and its output must be there.
5. The same through the local console (the UI's path, mksdo): a command
   typed as keysyms and ended with an evdev key code runs, and the shared
   surface equals a fresh screenshot.
6. An absolute pointer move through VNC, then through the local console,
   reaches the guest's vmmouse input device as EV_ABS events at the
   scaled position.
Exit 0 on success, 1 on failure, 77 when something this needs is missing.
"""
import argparse
import os
import re
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmws_linux import GuestError, Image, LinuxGuest, Skip  # noqa: E402

CAL = "".join(chr(c) for c in range(0x21, 0x7f))
TYPED = "echo VNC-$((6*7)) | tee /tmp/typed"


# ---- images ------------------------------------------------------------------------
class Picture:
    def __init__(self, w, h, rgb):
        self.w, self.h, self.rgb = w, h, rgb

    def px(self, x, y):
        o = (y * self.w + x) * 3
        return self.rgb[o:o + 3]


def read_ppm(path):
    data = open(path, "rb").read()
    m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", data)
    if not m:
        raise GuestError("%s is not a binary PPM" % path)
    w, h = int(m.group(1)), int(m.group(2))
    rgb = data[m.end():m.end() + w * h * 3]
    if len(rgb) != w * h * 3:
        raise GuestError("%s is truncated" % path)
    return Picture(w, h, rgb)


def read_png(path):
    """8-bit RGB or RGBA, non-interlaced: what vmrun captureScreen writes."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise GuestError("%s is not a PNG" % path)
    pos, idat, w = 8, b"", None
    while pos + 8 <= len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise GuestError("%s: unsupported PNG layout" % path)
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if w is None:
        raise GuestError("%s has no IHDR" % path)
    raw = zlib.decompress(idat)
    stride = w * bpp
    out = bytearray()
    prev = bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pr) & 255
            elif f != 0:
                raise GuestError("%s: bad PNG filter %d" % (path, f))
        prev = line
        if bpp == 3:
            out += line
        else:
            for x in range(w):
                out += line[x * 4:x * 4 + 3]
    return Picture(w, h, bytes(out))


# ---- reading text off a character-cell console ---------------------------------------
def cell_bits(pic, col, row, cw, chh, bg):
    bits = []
    for y in range(row * chh, row * chh + chh):
        o = (y * pic.w + col * cw) * 3
        seg = pic.rgb[o:o + cw * 3]
        bits.append(tuple(seg[i:i + 3] != bg for i in range(0, cw * 3, 3)))
    return tuple(bits)


def learn_font(pic, cal_row):
    """The calibration line (CAL at column 0 of cal_row) gives each glyph;
    the cell size is the one under which all of them differ."""
    bg = pic.px(pic.w - 1, pic.h - 1)
    for cw, chh in ((8, 16), (8, 8), (16, 32), (12, 22), (10, 18)):
        if len(CAL) * cw > pic.w:
            continue
        glyphs = {}
        for i, ch in enumerate(CAL):
            g = cell_bits(pic, i, cal_row, cw, chh, bg)
            if not any(any(r) for r in g):
                break
            glyphs.setdefault(g, ch)
        else:
            if len(glyphs) == len(CAL):
                glyphs[cell_bits(pic, pic.w // cw - 1, pic.h // chh - 1, cw, chh, bg)] = " "
                return cw, chh, bg, glyphs
    raise GuestError("cannot find the calibration line's glyphs on the screen")


def read_text(pic, font):
    cw, chh, bg, glyphs = font
    rows = []
    for r in range(pic.h // chh):
        line = "".join(glyphs.get(cell_bits(pic, c, r, cw, chh, bg), "?")
                       for c in range(pic.w // cw))
        rows.append(line.rstrip())
    return rows


# ---- the test ------------------------------------------------------------------------
def run_tool(tool, target, *actions, timeout=120):
    p = subprocess.run([tool, target] + list(actions), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=timeout)
    if p.returncode != 0:
        raise GuestError("%s %s failed: %s" % (os.path.basename(tool), " ".join(actions),
                                                p.stdout.decode(errors="replace")))
    return p.stdout.decode()


vncdo = run_tool


def vnc_address(g):
    m = re.search(r"MKS: VNC server listening on ([0-9.]+):(\d+)", g.vm_log)
    if not m:
        raise GuestError("vmware.log does not say where the VNC server listens:\n%s" %
                         g.vm_log[-2000:])
    return "%s:%s" % (m.group(1), m.group(2))


def abs_event_device(g):
    """/dev/input/eventN of the vmmouse's absolute device."""
    devs = g.check("cat /proc/bus/input/devices").split("\n\n")
    for d in devs:
        if "VMMouse" in d and re.search(r"^B: ABS=\S+", d, re.M):
            m = re.search(r"^H: Handlers=.*\b(event\d+)", d, re.M)
            if m:
                return "/dev/input/" + m.group(1)
    raise GuestError("no absolute vmmouse input device:\n%s" % "\n\n".join(devs))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--vncdo", required=True)
    ap.add_argument("--mksdo", required=True)
    ap.add_argument("--monitor", default="software")
    ap.add_argument("--timeout", type=int, default=400)
    ap.add_argument("--keep", action="store_true", help="keep the work folder")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="vmws-linux-display-")
    vmrun = os.environ.get("VMWS_VMRUN")
    try:
        img = Image.build(os.path.join(work, "img"), modules=["psmouse", "evdev", "vmwgfx"])
        vmx_extra = ['RemoteDisplay.vnc.enabled = "TRUE"', 'RemoteDisplay.vnc.port = "0"',
                     'guestinfo.vmwstest = "display-42"']
        with LinuxGuest(img, monitor=a.monitor, workdir=work, boot_timeout=a.timeout,
                        vmx_extra=vmx_extra) as g:
            print("booted to the shell in %.1f s" % g.boot())
            dmesg = g.check_kernel_log(extra=("[drm] *ERROR* Device error",))
            for want in ("Initialized vmwgfx", "fb0: vmwgfxdrmfb frame buffer device",
                         "VirtualPS/2 VMware VMMouse"):
                if want not in dmesg:
                    raise GuestError("the kernel log lacks %r:\n%s" % (want, dmesg[-3000:]))
            if "Failed to send host log message" in dmesg:
                raise GuestError("vmwgfx could not log to the host over GuestRPC:\n%s" %
                                 dmesg[-3000:])
            glines = [ln for ln in g.vm_log.splitlines() if "Guest: vmwgfx: Module Version" in ln]
            if not glines:
                raise GuestError("vmware.log lacks vmwgfx's host log line:\n%s" %
                                 g.vm_log[-3000:])
            print("vmwgfx's GuestRPC log line: %s" % glines[0].split("| ", 2)[-1])
            p = subprocess.run([vmrun or g.vmrun, "readVariable", g.vmx, "guestVar", "vmwstest"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.stdout.decode(errors="replace").strip() != "display-42":
                raise GuestError("vmrun readVariable guestVar vmwstest: %s" %
                                 p.stdout.decode(errors="replace"))
            mode = g.check("cat /sys/class/graphics/fb0/virtual_size").strip()
            print("vmwgfx bound; fbdev console %s" % mode)
            addr = vnc_address(g)

            # 2. calibration line, then a shell on tty1 (the console VT); the
            # text cursor stops blinking so two pictures taken apart match
            g.check("echo 0 > /sys/class/graphics/fbcon/cursor_blink")
            g.check("printf '\\033[2J\\033[H%s\\n' > /dev/tty1" % CAL.replace("\\", "\\\\")
                    .replace("'", "'\\''").replace("%", "%%"))
            # (a plain read-eval loop: an interactive ash started this way
            # takes the serial shell's terminal with it, on QEMU too)
            g.check("(setsid sh -c 'while read -r l; do eval \"$l\"; done "
                    "</dev/tty1 >/dev/tty1 2>&1' &)")
            time.sleep(1)

            # 3. type a command through VNC
            vncdo(a.vncdo, addr, "-d", "25", "type:" + TYPED + "\n")
            deadline = time.monotonic() + 60
            typed = ""
            while time.monotonic() < deadline:
                st, typed = g.run("cat /tmp/typed 2>/dev/null")
                if st == 0 and typed.strip():
                    break
                time.sleep(0.5)
            if typed.strip() != "VNC-42":
                raise GuestError("the command typed through VNC did not run: /tmp/typed is %r"
                                 % typed)
            print("a command typed through VNC ran in the guest shell")

            # 4. the screen, two ways
            time.sleep(0.5)
            png = os.path.join(work, "screen.png")
            ppm = os.path.join(work, "viewer.ppm")
            p = subprocess.run([vmrun or g.vmrun, "captureScreen", g.vmx, png],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode != 0:
                raise GuestError("vmrun captureScreen failed: %s" % p.stdout.decode())
            vncdo(a.vncdo, addr, "capture:" + ppm)
            shot, view = read_png(png), read_ppm(ppm)
            if (shot.w, shot.h) != (view.w, view.h) or "%dx%d" % (shot.w, shot.h) != \
                    mode.replace(",", "x"):
                raise GuestError("sizes differ: screenshot %dx%d, viewer %dx%d, fb0 %s" %
                                 (shot.w, shot.h, view.w, view.h, mode))
            if shot.rgb != view.rgb:
                diff = sum(1 for i in range(0, len(shot.rgb), 3)
                           if shot.rgb[i:i + 3] != view.rgb[i:i + 3])
                raise GuestError("the VNC viewer's picture differs from the screenshot in "
                                 "%d pixels" % diff)
            font = learn_font(shot, 0)
            text = read_text(shot, font)
            print("screen %dx%d, %dx%d cells; text on it:" % (shot.w, shot.h, font[0],
                                                                font[1]))
            for line in text:
                if line:
                    print("   | " + line)
            if not any(line.endswith(TYPED) for line in text):
                raise GuestError("the typed command is not on the screen")
            if "VNC-42" not in text:
                raise GuestError("the command's output is not on the screen")

            # 5. the local console: type (keysyms, then Enter as an evdev
            # code), compare its surface with a screenshot
            m = re.search(r"MKS: local console at (\S+)", g.vm_log)
            if not m:
                raise GuestError("vmware.log does not name the local console's socket")
            console = m.group(1)
            run_tool(a.mksdo, console, "-d", "25", "type:echo LOCAL-$((7*6)) > /tmp/typed2",
                     "keycode:28")
            deadline = time.monotonic() + 60
            typed = ""
            while time.monotonic() < deadline:
                st, typed = g.run("cat /tmp/typed2 2>/dev/null")
                if st == 0 and typed.strip():
                    break
                time.sleep(0.5)
            if typed.strip() != "LOCAL-42":
                raise GuestError("the command typed through the local console did not run: "
                                 "/tmp/typed2 is %r" % typed)
            print("a command typed through the local console ran in the guest shell")
            lppm = os.path.join(work, "local.ppm")
            run_tool(a.mksdo, console, "capture:" + lppm)
            p = subprocess.run([vmrun or g.vmrun, "captureScreen", g.vmx, png],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if p.returncode != 0:
                raise GuestError("vmrun captureScreen failed: %s" % p.stdout.decode())
            shot, local = read_png(png), read_ppm(lppm)
            if (shot.w, shot.h) != (local.w, local.h) or shot.rgb != local.rgb:
                raise GuestError("the local console's surface differs from the screenshot")
            if "echo LOCAL-$((7*6)) > /tmp/typed2" not in read_text(shot, font):
                raise GuestError("the command typed through the local console is not on the "
                                 "screen")
            print("the local console's surface equals the screenshot")

            # 6. absolute pointer: vmmouse reports where the viewer points
            dev = abs_event_device(g)
            # dd writes each 24-byte event as it comes (od would buffer)
            g.check("(timeout 30 dd if=%s of=/tmp/ev bs=24 2>/dev/null &)" % dev)
            time.sleep(1)
            w, h = shot.w, shot.h
            targets = [(w // 4, h // 3), (w - 1, h - 1), (w // 2, h // 2)]
            vncdo(a.vncdo, addr, "-d", "300", *["move:%d,%d" % t for t in targets])
            local_targets = [(w // 5, h // 7), (0, 0)]
            run_tool(a.mksdo, console, "-d", "300",
                     *["move:%d,%d" % t for t in local_targets])
            targets += local_targets
            time.sleep(1)
            out = g.check("od -An -v -tx1 -w24 /tmp/ev")
            events = []
            for line in out.splitlines():
                b = bytes(int(x, 16) for x in line.split())
                if len(b) == 24:
                    events.append(struct.unpack("<qqHHi", b)[2:])
            absx = [v for (t, c, v) in events if t == 3 and c == 0]
            absy = [v for (t, c, v) in events if t == 3 and c == 1]
            print("EV_ABS X %s, Y %s" % (absx, absy))
            for (x, y) in targets:
                ex, ey = x * 65535 // (w - 1), y * 65535 // (h - 1)
                if not any(abs(v - ex) <= 1 for v in absx) or \
                        not any(abs(v - ey) <= 1 for v in absy):
                    raise GuestError("the guest did not get an absolute move to (%d, %d) "
                                     "(expected ABS_X %d, ABS_Y %d)" % (x, y, ex, ey))
            print("absolute pointer moves (VNC and local console) reached the guest's vmmouse "
                  "device")
            g.poweroff()
        print("PASS")
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return 77
    except (GuestError, subprocess.TimeoutExpired) as e:
        print("FAIL: %s" % e)
        return 1
    finally:
        if not a.keep:
            subprocess.run(["rm", "-rf", work])
        else:
            print("work folder kept: %s" % work)


if __name__ == "__main__":
    sys.exit(main())
