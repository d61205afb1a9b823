#!/usr/bin/python3
"""UI test (e): power operations that fail end in an error dialog that says
what went wrong (the vmx's own message) and what to do, and the VM is left
in a clear state.

  - Power On (from the VM menu) of a VM whose .vmx names a kernel that does not exist: the
    dialog names the file, the VM stays "Powered off", no vmx is left.
  - A running (idle) VM: Shut Down Guest ends powered off (an idle machine
    has no guest to ask, the vmx powers off), and the toolbar offers what
    the state allows at each step.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwsui import (App, WORK, check, click_node, close_dialog, find, find_all,  # noqa: E402
                    has_label, log, menu, press, run, screenshot, vmrun, wait_for)


def write_vm(name, extra):
    d = os.path.join(WORK, "vms", name)
    os.makedirs(d)
    vmx = os.path.join(d, name + ".vmx")
    with open(vmx, "w") as f:
        f.write('.encoding = "UTF-8"\nconfig.version = "8"\nvirtualHW.version = "21"\n'
                'displayName = "%s"\nguestOS = "other-64"\nmemsize = "64"\nnumvcpus = "1"\n%s'
                % (name, extra))
    return vmx


def state_is(win, label):
    return len(find_all(win, label, "label")) >= 2


def enabled(win, name):
    b = find_all(win, name, "push button")
    return bool(b) and b[0].sensitive


def main(apps):
    broken = write_vm("Broken", 'linux.kernel = "/nonexistent/vmws-ui-kernel"\n')
    idle = write_vm("Idle", "")
    # Both opened from the command line (as "vmws PATH" does).
    app = App(broken, idle)
    apps.append(app)
    win = app.window
    wait_for(lambda: has_label(win, "Broken") and has_label(win, "Idle"), 10,
             "both VMs in the library")
    # The last one opened is selected: pick Broken in the sidebar.
    row = find(win, "Broken", "label")
    click_node(row, "Idle — vmws")
    wait_for(lambda: app.window.name == "Broken — vmws", 10, "Broken to be selected")
    check(enabled(win, "Power On"), "Power On is not offered for a powered-off VM")
    for name in ("Power Off", "Suspend", "Reset", "Pause", "Shut Down Guest"):
        check(not enabled(win, name), "%s is offered for a powered-off VM" % name)

    menu(win, "Broken — vmws", "VM", "Power On")
    title = "Cannot power on “Broken”"
    dlg = app.toplevel(title, timeout=60)
    texts = [n.name for n in find_all(dlg, None, "label")]
    body = "\n".join(texts)
    log("error dialog:\n%s" % body)
    screenshot("power-on-failed")
    check(title in texts, "no headline in the dialog")
    check(re.search(r"/nonexistent/vmws-ui-kernel.*No such file or directory", body),
          "the dialog does not give the vmx's reason")
    check("The virtual machine is powered off." in body,
          "the dialog does not say the VM is powered off")
    check("Settings" in body, "the dialog does not say what to do")
    close_dialog(dlg)
    wait_for(lambda: title not in app.toplevels(), 10, "the dialog to close")
    check(state_is(win, "Powered off"), "the VM is not shown powered off after the failure")
    check(broken not in vmrun("list"), "a vmx is left running the broken VM")
    check(enabled(win, "Power On"), "Power On is not offered again")

    # The idle VM: power on, then Shut Down Guest.
    click_node(find(win, "Idle", "label"), "Broken — vmws")
    wait_for(lambda: app.window.name == "Idle — vmws", 10, "Idle to be selected")
    press(win, "Power On")
    wait_for(lambda: state_is(win, "Powered on"), 60, "Idle powered on")
    check(vmrun("getState", idle) == "poweredOn", "vmrun does not see it powered on")
    for name in ("Power Off", "Suspend", "Reset", "Pause", "Shut Down Guest"):
        wait_for(lambda: enabled(win, name), 10, "%s to be offered when powered on" % name)
    check(not enabled(win, "Power On"), "Power On is offered for a powered-on VM")
    # No display in an idle machine: the console says so.
    screenshot("idle-powered-on")
    press(win, "Shut Down Guest")
    wait_for(lambda: state_is(win, "Powered off"), 60, "Idle powered off after Shut Down")
    wait_for(lambda: idle not in vmrun("list"), 20, "the vmx to exit")
    check(not app.toplevels().count("Cannot shut down “Idle”"), "shut down showed an error")
    screenshot("idle-shut-down")
    time.sleep(0.5)


if __name__ == "__main__":
    run(main)
