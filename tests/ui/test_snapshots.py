#!/usr/bin/python3
"""UI test (f): snapshots through the workstation UI.

The guest is the kit's ckpt program (tests/guests/devices/ckpt.c), the
lightest guest that shows whether a revert really went back: round after
round it checks and rewrites a memory pattern and prints "CKPT round=N" on
its serial port (serial0.log, which starts anew with every machine). It
runs under the software monitor (or VMWS_UI_SNAPSHOT_MONITOR). Through the
UI only:

  1. the VM, powered off: Take Snapshot is offered, Revert to Snapshot is
     not (no snapshot yet); Power On;
  2. Take Snapshot (toolbar): the dialog suggests a name, takes "first"
     with a description; the guest keeps running;
  3. Take Snapshot again (VM ▸ Snapshot menu): "second";
  4. the Snapshot Manager shows both, "second" current with "You are here"
     after it, and the details of the selected one;
  5. Revert To "first" (with its confirmation): the guest goes back to a
     round it had when "first" was taken, without booting again; the
     manager shows "You are here" after "first";
  6. a name already used is refused in the Take Snapshot dialog, which
     says so and offers no Take;
  7. Delete "second" (with its confirmation): vmrun listSnapshots agrees;
  8. Revert to Snapshot from the toolbar (to the current one, with a
     confirmation) goes back to "first" again;
  9. a revert that fails (the state file replaced by garbage) ends in an
     error dialog with the vmx's reason and what to do; the VM keeps
     running;
 10. Power Off.

Screenshots of every step are in $VMWS_UI_ARTIFACTS.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwsui import (App, Fail, Skip, WORK, check, close_dialog, click_node, find,  # noqa: E402
                    find_all, has_label, log, menu, press, run, screenshot, set_text, vmrun,
                    wait_for)

IMAGE = os.environ.get("VMWS_CKPT_IMAGE", "")
MONITOR = os.environ.get("VMWS_UI_SNAPSHOT_MONITOR", "software")
NAME = "Kit Guest"
MAIN = "%s — vmws" % NAME
MANAGER = "Snapshot Manager — %s" % NAME
TAKE = "Take Snapshot of “%s”" % NAME


def write_vm():
    d = os.path.join(WORK, "vms", NAME)
    os.makedirs(d)
    vmx = os.path.join(d, NAME + ".vmx")
    with open(vmx, "w") as f:
        f.write('.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "21"\n'
                'displayName = "%s"\nguestOS = "other-64"\nmemsize = "64"\nnumvcpus = "1"\n'
                'monitor.virtual_exec = "%s"\nlinux.kernel = "%s"\nlinux.entry = "multiboot"\n'
                'linux.cmdline = "ckpt.mb=8 ckpt.rounds=100000000"\n'
                'serial0.present = "TRUE"\nserial0.fileType = "file"\n'
                'serial0.fileName = "serial0.log"\n' % (NAME, MONITOR, IMAGE))
    return d, vmx


class Guest:
    def __init__(self, vmdir):
        self.log = os.path.join(vmdir, "serial0.log")

    def text(self):
        try:
            return open(self.log, errors="replace").read()
        except OSError:
            return ""

    def rounds(self):
        return [int(m) for m in re.findall(r"CKPT round=(\d+) ticks=", self.text())]

    def last(self):
        r = self.rounds()
        return r[-1] if r else -1

    def first(self):
        r = self.rounds()
        return r[0] if r else -1

    def wait_above(self, n, timeout, what):
        def above():
            if "FAIL" in self.text():
                raise Fail("the guest reported a failure:\n%s" % self.text()[-2000:])
            return self.last() > n
        wait_for(above, timeout, what)
        return self.last()


def state_is(win, label):
    return len(find_all(win, label, "label")) >= 2


def enabled(win, name):
    b = find_all(win, name, "push button")
    return bool(b) and b[0].sensitive


def idle(win):
    """No operation under way: the status bar shows no progress."""
    return not find_all(win, re.compile(r"^(Taking|Reverting to|Deleting) snapshot"), "label")


def snapshots(vmx):
    return vmrun("listSnapshots", vmx, "showTree")


def confirm(app, title, button):
    dlg = app.toplevel(title)
    texts = [n.name for n in find_all(dlg, None, "label")]
    screenshot("confirm-" + button.lower())
    press(dlg, re.compile(r"^%s( %s)?$" % (button, button)))
    wait_for(lambda: title not in app.toplevels(), 10, "the confirmation to close")
    return "\n".join(texts)


def take(app, win, name, description, how):
    """Take a snapshot through the dialog; the rounds printed before and
    after (the snapshot's state lies between)."""
    if how == "menu":
        menu(win, MAIN, "VM", "Snapshot")
        it = find(win, "Take Snapshot…", "menu item")
        wait_for(lambda: it.sensitive, 10, "Take Snapshot… in the menu to be enabled")
        it.doActionNamed("click")
    else:
        press(win, "Take Snapshot")
    dlg = app.toplevel(TAKE)
    # (GTK 4.8 does not give an entry's text to AT-SPI: the suggested name,
    # "Snapshot N", shows in the screenshot.)
    suggested = find(dlg, "Name", "text").text
    screenshot("take-%s-suggested" % name)
    set_text(dlg, "Name", name)
    try:
        set_text(dlg, "Description", description)
    except Exception as e:  # a text view may have no editable text on AT-SPI
        log("description not set through AT-SPI (%s)" % e)
    screenshot("take-%s-dialog" % name)
    return dlg, suggested


def main(apps):
    if not IMAGE or not os.path.exists(IMAGE):
        raise Skip("the ckpt guest image is not built (VMWS_CKPT_IMAGE=%r)" % IMAGE)
    vmdir, vmx = write_vm()
    guest = Guest(vmdir)
    app = App(vmx)
    apps.append(app)
    win = app.window
    wait_for(lambda: app.window.name == MAIN, 10, "the VM to be selected")

    # 1. powered off, no snapshot yet
    wait_for(lambda: enabled(win, "Take Snapshot"), 10, "Take Snapshot to be offered")
    check(not enabled(win, "Revert to Snapshot"),
          "Revert to Snapshot is offered with no snapshot to revert to")
    check(enabled(win, "Snapshot Manager"), "the Snapshot Manager is not offered")
    press(win, "Power On")
    wait_for(lambda: state_is(win, "Powered on"), 60, "the state Powered on")
    r = guest.wait_above(2, 120, "the guest to run some rounds")
    log("the guest runs, round %d" % r)

    # 2. the first snapshot, from the toolbar
    dlg, suggested = take(app, win, "first", "the first one", "toolbar")
    lo1 = guest.last()
    press(dlg, "Take Snapshot")
    wait_for(lambda: TAKE not in app.toplevels(), 10, "the dialog to close")
    seen = []

    def taken():
        for n in find_all(win, re.compile(r"^Taking snapshot “first”…"), "label"):
            if n.name not in seen:
                seen.append(n.name)
        return idle(win) and enabled(win, "Revert to Snapshot")
    wait_for(taken, 120, "the snapshot to be taken (Revert to Snapshot offered)")
    hi1 = guest.last()
    log("progress seen: %s; 'first' taken between rounds %d and %d" %
        (seen or "none (it was quick)", lo1, hi1))
    check(not [t for t in app.toplevels() if t.startswith("Cannot ")],
          "an error dialog came up: %s" % app.toplevels())
    check(snapshots(vmx) == "Total snapshots: 1\nfirst", "vmrun: %r" % snapshots(vmx))
    check(state_is(win, "Powered on"), "the VM is not running after the snapshot")
    guest.wait_above(hi1 + 3, 60, "the guest to run on after the snapshot")
    screenshot("first-taken")

    # 3. the second, from the menu
    dlg, suggested = take(app, win, "second", "the second one", "menu")
    press(dlg, "Take Snapshot")
    wait_for(lambda: TAKE not in app.toplevels(), 10, "the dialog to close")
    wait_for(lambda: idle(win) and snapshots(vmx) == "Total snapshots: 2\nfirst\n\tsecond", 120,
             "the second snapshot")
    hi2 = guest.wait_above(guest.last() + 3, 60, "the guest to run on after 'second'")

    # 4. the manager
    press(win, "Snapshot Manager")
    mgr = app.toplevel(MANAGER)
    for name in ("first", "second", "You are here"):
        find(mgr, name, "label")
    wait_for(lambda: has_label(mgr, "“Kit Guest” is powered on and has 2 snapshots"), 10,
             "the manager's summary")
    # The current one is selected: its details are shown.
    wait_for(lambda: has_label(mgr, "the second one") or has_label(mgr, "(no description)"),
             10, "the details of 'second'")
    screenshot("manager-two")
    rows = [n.name for n in find_all(mgr, None, "label")
            if n.name in ("first", "second", "You are here")]
    log("manager rows: %s" % rows)
    check(rows[:3] == ["first", "second", "You are here"],
          "the tree is not first, second, You are here: %s" % rows)

    # 5. revert to the first one
    click_node(find(mgr, "first", "label"), MANAGER)
    wait_for(lambda: enabled(mgr, "Revert To"), 10, "Revert To to be enabled for 'first'")
    before = guest.last()
    press(mgr, "Revert To")
    body = confirm(app, "Revert to Snapshot", "Revert")
    check("Revert to snapshot “first”?" in body, "the confirmation does not name it: %s" % body)
    wait_for(lambda: idle(win) and has_label(mgr, "“Kit Guest” is powered on and has 2 "
                                                  "snapshots"), 120, "the revert to finish")
    check(not [t for t in app.toplevels() if t.startswith("Cannot ")],
          "an error dialog came up: %s" % app.toplevels())
    guest.wait_above(0, 60, "the reverted guest to print a round")
    back = guest.first()
    log("revert: the guest was at round %d, is back at round %d ('first' was taken between %d "
        "and %d)" % (before, back, lo1, hi1))
    check(lo1 < back <= hi1 + 2, "after the revert the guest is at round %d, but 'first' was "
          "taken between rounds %d and %d" % (back, lo1, hi1))
    check("booted" not in guest.text(), "the guest booted again after the revert")
    guest.wait_above(back + 2, 60, "the reverted guest to run on")
    check(state_is(win, "Powered on"), "the VM is not running after the revert")
    vmsd = open(os.path.join(vmdir, NAME + ".vmsd")).read()
    check('snapshot.current = "1"' in vmsd, "'first' is not current in the .vmsd")

    def here_after_first():
        rows = [n.name for n in find_all(mgr, None, "label")
                if n.name in ("first", "second", "You are here")]
        return rows[:3] == ["first", "You are here", "second"]
    wait_for(here_after_first, 10, "'You are here' after 'first'")
    screenshot("manager-reverted")

    # 6. a name already used
    press(mgr, "Take Snapshot…")
    dlg = app.toplevel(TAKE)
    set_text(dlg, "Name", "second")
    wait_for(lambda: has_label(dlg, "There is already a snapshot named 'second'; choose another "
                                    "name."), 10, "the dialog to refuse the name")
    check(not find(dlg, "Take Snapshot", "push button").sensitive,
          "Take Snapshot is offered for a name already used")
    screenshot("name-used")
    press(dlg, "Cancel")
    wait_for(lambda: TAKE not in app.toplevels(), 10, "the dialog to close")

    # 7. delete the second one
    click_node(find(mgr, "second", "label"), MANAGER)
    wait_for(lambda: find(mgr, "second", "label", showing=True) and enabled(mgr, "Delete"), 10,
             "Delete to be enabled")
    press(mgr, "Delete")
    body = confirm(app, "Delete Snapshot", "Delete")
    check("Delete snapshot “second”?" in body, "the confirmation does not name it: %s" % body)
    wait_for(lambda: idle(win) and snapshots(vmx) == "Total snapshots: 1\nfirst", 60,
             "'second' to be deleted")
    wait_for(lambda: not has_label(mgr, "second"), 10, "'second' to leave the manager")
    check(not os.path.exists(os.path.join(vmdir, NAME + "-Snapshot2.vmsn")),
          "the deleted snapshot's state file is left")
    screenshot("manager-deleted")
    press(mgr, "Close")
    wait_for(lambda: MANAGER not in app.toplevels(), 10, "the manager to close")

    # 8. Revert to Snapshot from the toolbar: back to "first" again
    guest.wait_above(guest.last() + 3, 60, "the guest to run on")
    press(win, "Revert to Snapshot")
    body = confirm(app, "Revert to Snapshot", "Revert")
    check("Revert “Kit Guest” to its snapshot “first”?" in body,
          "the confirmation does not name the current snapshot: %s" % body)
    wait_for(lambda: idle(win) and state_is(win, "Powered on"), 120, "the second revert")
    guest.wait_above(0, 60, "the guest to print a round after the second revert")
    back = guest.first()
    log("toolbar revert: back at round %d" % back)
    check(lo1 < back <= hi1 + 2, "after the toolbar revert the guest is at round %d, not "
          "between %d and %d" % (back, lo1, hi1))
    guest.wait_above(back + 2, 60, "the guest to run on")
    screenshot("toolbar-reverted")

    # 9. a revert that fails: the state file replaced (a new file: the
    # running machine keeps the one it maps).
    vmsn = os.path.join(vmdir, NAME + "-Snapshot1.vmsn")
    tmp = vmsn + ".tmp"
    with open(tmp, "w") as f:
        f.write("not a checkpoint\n")
    os.rename(tmp, vmsn)
    press(win, "Revert to Snapshot")
    confirm(app, "Revert to Snapshot", "Revert")
    title = "Cannot revert “Kit Guest”"
    dlg = app.toplevel(title, timeout=60)
    body = "\n".join(n.name for n in find_all(dlg, None, "label"))
    log("error dialog:\n%s" % body)
    screenshot("revert-failed")
    check("Snapshot1.vmsn" in body and "left as it was" in body,
          "the dialog does not give the vmx's reason")
    check("The virtual machine is powered on" in body, "the dialog does not say the VM's state")
    check("Snapshot Manager" in body and "vmware.log" in body,
          "the dialog does not say what to do")
    close_dialog(dlg)
    wait_for(lambda: title not in app.toplevels(), 10, "the dialog to close")
    n = guest.last()
    guest.wait_above(n + 2, 60, "the guest to run on after the refused revert")
    check(state_is(win, "Powered on"), "the VM is not running after the refused revert")

    # 10. power off
    press(win, "Power Off")
    wait_for(lambda: state_is(win, "Powered off"), 60, "Powered off")
    wait_for(lambda: vmx not in vmrun("list"), 20, "the vmx to exit")
    # Powered off, the snapshot actions still work from the .vmsd.
    wait_for(lambda: enabled(win, "Take Snapshot") and enabled(win, "Revert to Snapshot"), 10,
             "the snapshot actions offered for the powered-off VM")
    screenshot("powered-off")
    time.sleep(0.5)


if __name__ == "__main__":
    run(main)
