"""Helpers for the UI tests of the vmws application (run by
run-ui-test.sh inside Xvfb with a session bus and the accessibility bus).

The app is driven the way a person would: widgets are found through AT-SPI
(dogtail) by their visible names, buttons pressed through their AT-SPI
"click" action, text typed into entries through AT-SPI EditableText, and
the console (which has no accessible text) gets real X pointer and key
events through XTest (xdotool). Screenshots of the whole display are saved
in $VMWS_UI_ARTIFACTS.
"""
import os
import re
import subprocess
import sys
import time
import traceback

WORK = os.environ.get("VMWS_UI_WORK", "/tmp")

# dogtail's own scratch and log files go into the test's folder, not /tmp.
from dogtail import config as _dcfg  # noqa: E402

_dcfg.config.scratchDir = os.path.join(WORK, "dogtail") + "/"
_dcfg.config.dataDir = os.path.join(WORK, "dogtail", "data") + "/"
_dcfg.config.logDir = os.path.join(WORK, "dogtail", "logs") + "/"
_dcfg.config.logDebugToStdOut = False
_dcfg.config.logDebugToFile = False
_dcfg.config.searchBackoffDuration = 0.25
_dcfg.config.searchCutoffCount = 20
_dcfg.config.defaultDelay = 0.2
_dcfg.config.actionDelay = 0.2

from dogtail import tree  # noqa: E402
ART = os.environ.get("VMWS_UI_ARTIFACTS", WORK)
VMWS = os.environ.get("VMWS_UI", "")
VMRUN = os.environ.get("VMWS_VMRUN", "")
SOURCE = os.environ.get("VMWS_SOURCE_ROOT",
                        os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..")))


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def log(msg):
    print(msg, flush=True)


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def wait_for(fn, timeout, what, interval=0.25):
    """Call fn until it returns something true; that value, or Fail."""
    deadline = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # a node may vanish while we look
            last_exc = e
        if time.monotonic() > deadline:
            raise Fail("timed out after %d s waiting for %s%s" %
                       (timeout, what, " (%s)" % last_exc if last_exc else ""))
        time.sleep(interval)


# ---- screenshots and pixels ------------------------------------------------------------

_shot_no = [0]


def screenshot(name):
    """The whole display, as ARTIFACTS/NN-name.png; returns the path."""
    _shot_no[0] += 1
    path = os.path.join(ART, "%02d-%s.png" % (_shot_no[0], name))
    subprocess.run(["import", "-window", "root", path], check=True)
    log("screenshot: %s" % path)
    return path


class Picture:
    def __init__(self, path):
        ppm = subprocess.run(["convert", path, "-depth", "8", "ppm:-"], check=True,
                             stdout=subprocess.PIPE).stdout
        m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+255\s", ppm)
        if not m:
            raise Fail("cannot read %s" % path)
        self.w, self.h = int(m.group(1)), int(m.group(2))
        self.rgb = ppm[m.end():m.end() + self.w * self.h * 3]

    def px(self, x, y):
        o = (y * self.w + x) * 3
        return tuple(self.rgb[o:o + 3])

    def region_stats(self, x, y, w, h, step=2):
        """(pixels looked at, pixels not near black, distinct colours)."""
        n = bright = 0
        colours = set()
        for yy in range(max(0, y), min(self.h, y + h), step):
            for xx in range(max(0, x), min(self.w, x + w), step):
                p = self.px(xx, yy)
                n += 1
                if max(p) > 48:
                    bright += 1
                if len(colours) < 64:
                    colours.add(p)
        return n, bright, len(colours)


# ---- X input (XTest through xdotool) ----------------------------------------------------

def xdo(*args):
    p = subprocess.run(["xdotool"] + [str(a) for a in args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise Fail("xdotool %s failed: %s" % (" ".join(map(str, args)),
                                              p.stderr.decode(errors="replace")))
    return p.stdout.decode()


def window_origin(title_re):
    """Top-left corner of the X window whose title matches, on the screen."""
    ids = xdo("search", "--onlyvisible", "--name", title_re).split()
    if not ids:
        raise Fail("no window titled %r" % title_re)
    out = xdo("getwindowgeometry", ids[-1])
    m = re.search(r"Position: (-?\d+),(-?\d+)", out)
    return (int(m.group(1)), int(m.group(2))), ids[-1]


def click_at(x, y, button=1):
    xdo("mousemove", "--sync", x, y)
    time.sleep(0.1)
    xdo("click", button)


def type_keys(text, delay_ms=60):
    xdo("type", "--delay", delay_ms, text)


def key(*keys):
    xdo("key", "--delay", 60, *keys)


# ---- the application --------------------------------------------------------------------

class App:
    """A running vmws, found through AT-SPI."""

    def __init__(self, *args, name="vmws"):
        if not VMWS:
            raise Skip("VMWS_UI is not set")
        self.log_path = os.path.join(ART, "vmws-%d.log" % int(time.time() * 1000))
        self.proc = subprocess.Popen([VMWS] + list(args), stdout=open(self.log_path, "w"),
                                     stderr=subprocess.STDOUT)
        self.node = wait_for(lambda: self._find(name), 30, "the vmws application on AT-SPI")
        self.window = wait_for(lambda: self.frame(), 10, "the main window")

    def _find(self, name):
        if self.proc.poll() is not None:
            raise Fail("vmws exited (%d):\n%s" % (self.proc.returncode, self.log()))
        for a in tree.root.applications():
            try:
                if a.name == name and a.get_process_id() == self.proc.pid:
                    return a
            except Exception:
                continue
        return None

    def log(self):
        try:
            return open(self.log_path, errors="replace").read()[-4000:]
        except OSError:
            return ""

    def frame(self):
        for w in self.node.children:
            if w.roleName == "frame":
                return w
        return None

    def toplevel(self, name, timeout=10):
        """A window (dialog) of the app by its title."""
        def find():
            for w in self.node.children:
                if w.name == name:
                    return w
            return None
        return wait_for(find, timeout, "the window %r" % name)

    def toplevels(self):
        return [w.name for w in self.node.children]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def dump(node, depth=0, out=None, limit=80):
    """The accessible tree under node, as text (for failure messages)."""
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    try:
        out.append("%s%s %r%s" % ("  " * depth, node.roleName, node.name,
                                  "" if node.visible else " (hidden)"))
        for c in node.children:
            dump(c, depth + 1, out, limit)
    except Exception as e:
        out.append("%s(gone: %s)" % ("  " * depth, e))
    return out


def find(parent, name=None, role=None, timeout=10, showing=True):
    """A descendant by name (exact, or a compiled regex) and role."""
    def match(n):
        try:
            if role and n.roleName not in ((role,) if isinstance(role, str) else role):
                return False
            if showing and not n.visible:
                return False
            if name is None:
                return True
            if hasattr(name, "search"):
                return bool(name.search(n.name or ""))
            return n.name == name
        except Exception:
            return False
    try:
        return wait_for(lambda: parent.findChild(match, retry=False, requireResult=False),
                        timeout, "%s %r" % (role or "node", getattr(name, "pattern", name)))
    except Fail as e:
        raise Fail("%s; the tree there:\n%s" % (e, "\n".join(dump(parent))))


def find_all(parent, name=None, role=None, showing=True):
    def match(n):
        try:
            if role and n.roleName not in ((role,) if isinstance(role, str) else role):
                return False
            if showing and not n.visible:
                return False
            if name is None:
                return True
            if hasattr(name, "search"):
                return bool(name.search(n.name or ""))
            return n.name == name
        except Exception:
            return False
    return parent.findChildren(match)


def press(parent, name, timeout=10):
    """Press a button by its name (its AT-SPI click action)."""
    b = find(parent, name, "push button", timeout)
    wait_for(lambda: b.sensitive, timeout, "the %r button to be enabled" %
             getattr(name, "pattern", name))
    b.doActionNamed("click")
    time.sleep(0.3)
    return b


def close_dialog(dlg):
    """Press a dialog's Close button (GTK 4.8 names a dialog's action
    buttons "LABEL LABEL": their label, then again by relation)."""
    press(dlg, re.compile(r"^_?Close( Close)?$"))


def activate(node):
    """Do a widget's default AT-SPI action (click, activate, press...)."""
    acts = list(node.actions.keys())
    for a in ("click", "activate", "press", "toggle"):
        if a in acts:
            node.doActionNamed(a)
            time.sleep(0.3)
            return
    raise Fail("%s %r has no action to press it (it has %s)" % (node.roleName, node.name, acts))


def click_node(node, window_title, button=1):
    """A real pointer click (XTest) in the middle of node. AT-SPI gives GTK
    4's positions relative to the node's window; xdotool adds where that
    window is on the screen."""
    (wx, wy), _ = window_origin("^%s$" % re.escape(window_title))
    # A widget on a page just switched to may not be laid out yet (on a
    # loaded machine that has taken over a second): give it time.
    end = time.time() + 15
    while True:
        x, y = node.position
        w, h = node.size
        if w > 0 and h > 0:
            break
        if time.time() > end:
            raise Fail("%s %r has no size on the screen" % (node.roleName, node.name))
        time.sleep(0.2)
    click_at(wx + x + w // 2, wy + y + h // 2, button)
    time.sleep(0.3)


def has_size(node):
    try:
        w, h = node.size
        return w > 0 and h > 0
    except Exception:
        return False


def show_page(dlg, page_label, window_title, name, role):
    """Show a page of a dialog by clicking its sidebar entry, and return the
    widget (name, role) on it once it is laid out. A click that arrives
    while a dialog just opened is still being mapped can be lost (CI saw
    the page never switch once in ~10 runs), so the entry is clicked again,
    up to four times, while the page's widget has no size; a page that
    never shows still fails."""
    entry = find(dlg, page_label, "label")
    for attempt in range(4):
        click_node(entry, window_title)
        node = find(dlg, name, role, showing=False)
        try:
            wait_for(lambda: has_size(node), 4, "%s %r" % (role, name))
            return node
        except Fail:
            print("page %r: %s %r not shown after click %d" %
                  (page_label, role, name, attempt + 1), flush=True)
    raise Fail("the %r page never showed %s %r" % (page_label, role, name))


def choose(parent, name, index, window_title):
    """Pick item index (0-based) of the drop-down called name: open its
    list, then the keyboard (Home, Down x index, Return)."""
    dd = find(parent, name, "combo box")
    toggle = find(dd, None, "push button", showing=False)
    click_node(toggle, window_title)
    time.sleep(0.5)
    key("Home")
    for _ in range(index):
        key("Down")
    key("Return")
    time.sleep(0.5)
    return dd


def menu(win, window_title, menu_name, item):
    """Choose item in the menu bar's menu_name menu: the menu opens with a
    real click, the item is taken through its AT-SPI click action."""
    click_node(find(win, menu_name, "menu item"), window_title)
    it = find(win, item, "menu item")
    wait_for(lambda: it.sensitive, 10, "the menu item %r to be enabled" % item)
    it.doActionNamed("click")
    time.sleep(0.3)


def set_text(parent, name, text):
    e = find(parent, name, ("text", "password text"))
    e.text = text
    time.sleep(0.2)
    return e


def labels(parent):
    return [n.name for n in find_all(parent, role="label")]


def has_label(parent, name):
    return bool(find_all(parent, name, "label"))


def field_value(parent, key):
    """The value of a "Key: value" row of the summary page: the label
    whose accessible description is the key."""
    for n in find_all(parent, None, "label"):
        try:
            if n.description == key:
                return n.name
        except Exception:
            continue
    return None


def vmx_keys(path):
    """key (lower case) -> value of a .vmx."""
    out = {}
    for line in open(path, encoding="utf-8"):
        m = re.match(r'\s*([^#=\s][^=]*?)\s*=\s*"(.*)"\s*$', line)
        if m:
            out[m.group(1).lower()] = m.group(2)
    return out


def vmrun(*args, check_rc=True):
    p = subprocess.run([VMRUN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if check_rc and p.returncode != 0:
        raise Fail("vmrun %s: %s" % (" ".join(args), p.stdout.decode(errors="replace")))
    return p.stdout.decode(errors="replace").strip()


def run(main):
    """Run a test: exit 0, 1 (with a screenshot of the failure) or 77."""
    apps = []
    try:
        main(apps)
        log("PASS")
        code = 0
    except Skip as e:
        log("SKIP: %s" % e)
        code = 77
    except Exception as e:
        traceback.print_exc()
        try:
            screenshot("failure")
        except Exception:
            pass
        for a in apps:
            log("---- vmws log:\n%s" % a.log())
        log("FAIL: %s" % e)
        code = 1
    finally:
        for a in apps:
            a.stop()
    sys.exit(code)
