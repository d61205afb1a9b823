#!/usr/bin/python3
"""UI test (a): the New Virtual Machine assistant.

Fields are typed through AT-SPI; the inline checks appear and block Next
while a field is wrong; Finish writes the .vmx with the expected keys, the
VM appears in the library's sidebar and on its summary page, and the
library remembers it when the app starts again.
"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwsui import (App, WORK, check, click_node, field_value, find, has_label,  # noqa: E402
                    log, press, run, screenshot, set_text, vmx_keys, wait_for)


def main(apps):
    loc = os.path.join(WORK, "vms")
    os.makedirs(loc)
    app = App()
    apps.append(app)
    win = app.window
    wait_for(lambda: has_label(win, "vmws Workstation"), 10, "the empty library's page")
    screenshot("empty-library")

    press(win, "Create a New Virtual Machine")
    dlg = app.toplevel("New Virtual Machine")
    check(has_label(dlg, "Step 1 of 5"), "the assistant does not start at step 1")
    # Empty name: the check says so and Next is off.
    check(has_label(dlg, "Name: enter a name for the virtual machine"),
          "no inline message for the empty name")
    next_b = find(dlg, "Next", "push button")
    check(not next_b.sensitive, "Next is enabled with no name")
    set_text(dlg, "Name", "ui/test")
    wait_for(lambda: has_label(dlg, "Name: must not contain '/': it also names the VM's folder "
                                    "and file"), 5, "the message for a '/' in the name")
    check(not next_b.sensitive, "Next is enabled with a bad name")
    set_text(dlg, "Name", "UI Test VM")
    set_text(dlg, "Location", loc)
    wait_for(lambda: next_b.sensitive, 5, "Next to be enabled")
    want_folder = "The virtual machine's files go in %s" % os.path.join(loc, "UI Test VM")
    check(has_label(dlg, want_folder), "the folder is not shown: %r" % want_folder)
    screenshot("assistant-name")
    press(dlg, "Next")

    wait_for(lambda: has_label(dlg, "Step 2 of 5"), 5, "step 2")
    set_text(dlg, "Memory", "1001")
    wait_for(lambda: has_label(dlg, "Memory: must be a multiple of 4 MB"), 5,
             "the memory message")
    check(not next_b.sensitive, "Next is enabled with a bad memory size")
    screenshot("assistant-bad-memory")
    set_text(dlg, "Memory", "256")
    set_text(dlg, "Processors", "2")
    wait_for(lambda: next_b.sensitive, 5, "Next after fixing the memory size")
    press(dlg, "Next")

    wait_for(lambda: has_label(dlg, "Step 3 of 5"), 5, "step 3")
    set_text(dlg, "Linux kernel", "/nonexistent/vmlinuz")
    wait_for(lambda: has_label(dlg, "Kernel: /nonexistent/vmlinuz: No such file or "
                                    "directory"), 5, "the message for a missing kernel")
    check(not next_b.sensitive, "Next is enabled with a missing kernel")
    set_text(dlg, "Linux kernel", "")
    wait_for(lambda: next_b.sensitive, 5, "Next with no kernel")
    press(dlg, "Next")

    wait_for(lambda: has_label(dlg, "Step 4 of 5"), 5, "step 4")
    vnc = find(dlg, "Enable VNC remote display", "check box")
    click_node(vnc, "New Virtual Machine")
    set_text(dlg, "VNC port", "5977")
    screenshot("assistant-display")
    press(dlg, "Next")

    wait_for(lambda: has_label(dlg, "Step 5 of 5"), 5, "step 5")
    vmx = os.path.join(loc, "UI Test VM", "UI Test VM.vmx")
    summary = find(dlg, re.compile(r"^Name: UI Test VM\n"), "label")
    for want in ("Configuration file: %s" % vmx, "Processors: 2", "Memory: 256 MB",
                 "VNC: port 5977"):
        check(want in summary.name, "the summary lacks %r:\n%s" % (want, summary.name))
    screenshot("assistant-summary")
    press(dlg, "Finish")
    wait_for(lambda: "New Virtual Machine" not in app.toplevels(), 10,
             "the assistant to close")

    # The file, with what was asked.
    check(os.path.exists(vmx), "%s was not written" % vmx)
    keys = vmx_keys(vmx)
    log("written: %s" % keys)
    for k, v in (("displayname", "UI Test VM"), ("memsize", "256"), ("numvcpus", "2"),
                 ("guestos", "other-64"), ("monitor.virtual_exec", "automatic"),
                 ("remotedisplay.vnc.enabled", "TRUE"), ("remotedisplay.vnc.port", "5977"),
                 ("serial0.present", "TRUE"), ("serial0.filename", "serial0.log")):
        check(keys.get(k) == v, "%s: expected %s = %r, found %r" % (vmx, k, v, keys.get(k)))
    check("linux.kernel" not in keys, "a kernel was written although it was cleared")

    # The library shows it, selected, with its summary.
    wait_for(lambda: has_label(win, "UI Test VM"), 10, "the VM in the sidebar")
    wait_for(lambda: has_label(win, "Powered off"), 10, "its state in the sidebar")
    wait_for(lambda: field_value(win, "Memory") == "256 MB", 10, "its memory on the summary page")
    for k, v in (("Processors", "2"), ("Configuration file", vmx),
                 ("Remote display", "VNC on port 5977"),
                 ("Serial ports", "COM1: Output file serial0.log"),
                 ("Monitor mode", "automatic (chosen at power-on)")):
        check(field_value(win, k) == v,
              "summary: %s is %r, expected %r" % (k, field_value(win, k), v))
    inv = open(os.path.join(os.environ["XDG_CONFIG_HOME"], "vmws", "inventory")).read()
    check(vmx in inv, "the library file does not list the VM:\n%s" % inv)
    screenshot("library-with-new-vm")

    # Started again, the app remembers it.
    app.stop()
    apps.remove(app)
    time.sleep(0.5)
    app2 = App()
    apps.append(app2)
    wait_for(lambda: has_label(app2.window, "UI Test VM"), 10,
             "the VM in the library after a restart")


if __name__ == "__main__":
    run(main)
