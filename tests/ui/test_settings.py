#!/usr/bin/python3
"""UI test (c): the settings editor.

  1. A powered-off VM: name, processors, memory (with an inline check that
     blocks Save while the size is wrong), serial ports (COM1 becomes a
     pseudo-terminal, COM2 is added writing to a file), VNC, and the
     monitor mode (a drop-down); Save writes exactly those keys, keeps the
     rest of the .vmx, and the summary and sidebar show the new values.
  2. The same VM powered on (an idle machine): the settings that need it
     powered off are locked with the reason; a VNC change is saved through
     the running vmx and the UI says it applies from the next power-on.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwsui import (App, WORK, check, choose, click_node, close_dialog, field_value,  # noqa: E402
                    find, find_all, has_label, log, press, run, screenshot, set_text,
                    show_page, vmrun, vmx_keys, wait_for)

VMX = """.encoding = "UTF-8"
# kept as it is: a comment
config.version = "8"
virtualHW.version = "21"
displayName = "Settings VM"
guestOS = "debian12-64"
numvcpus = "1"
memsize = "128"
monitor.virtual_exec = "automatic"
serial0.present = "TRUE"
serial0.fileType = "file"
serial0.fileName = "serial0.log"
some.unknown.key = "kept"
"""


def page(dlg, title, win_title, name, role):
    """Show a page of the settings dialog by its entry in the sidebar; return
    the widget (name, role) on it, laid out."""
    return show_page(dlg, title, win_title, name, role)


def main(apps):
    d = os.path.join(WORK, "vms", "Settings VM")
    os.makedirs(d)
    vmx = os.path.join(d, "Settings VM.vmx")
    with open(vmx, "w") as f:
        f.write(VMX)
    app = App(vmx)
    apps.append(app)
    win = app.window
    wait_for(lambda: field_value(win, "Memory") == "128 MB", 10, "the VM's summary")

    # 1. powered off: everything can change
    press(win, "Settings")
    title = "Settings of “Settings VM”"
    dlg = app.toplevel(title)
    save = find(dlg, "Save", "push button")
    check(not save.sensitive, "Save is enabled before anything changed")
    set_text(dlg, "Name", "Settings VM (edited)")
    page(dlg, "Processors and memory", title, "Processors", "text")
    set_text(dlg, "Processors", "2")
    set_text(dlg, "Memory", "1001")
    wait_for(lambda: has_label(dlg, "Memory: must be a multiple of 4 MB"), 5,
             "the inline memory message")
    check(not save.sensitive, "Save is enabled with a wrong memory size")
    screenshot("settings-bad-memory")
    set_text(dlg, "Memory", "512")
    wait_for(lambda: save.sensitive, 5, "Save to be enabled")

    com2 = page(dlg, "Serial ports", title, "Serial port 2 (COM2)", "check box")
    choose(dlg, "Serial port 1 connection", 1, title)       # Pseudo-terminal
    click_node(com2, title)
    set_text(dlg, "Serial port 2 path", "com2.log")
    screenshot("settings-serial")

    vnc = page(dlg, "Remote display", title, "Enable VNC remote display", "check box")
    click_node(vnc, title)
    set_text(dlg, "VNC port", "5999")

    page(dlg, "Monitor", title, "Monitor mode", "combo box")
    choose(dlg, "Monitor mode", 2, title)                   # Software
    screenshot("settings-monitor")
    press(dlg, "Save")
    wait_for(lambda: title not in app.toplevels(), 20, "the settings dialog to close")

    keys = vmx_keys(vmx)
    log("saved: %s" % keys)
    for k, v in (("displayname", "Settings VM (edited)"), ("numvcpus", "2"),
                 ("memsize", "512"), ("serial0.present", "TRUE"), ("serial0.filetype", "pty"),
                 ("serial1.present", "TRUE"), ("serial1.filetype", "file"),
                 ("serial1.filename", "com2.log"), ("remotedisplay.vnc.enabled", "TRUE"),
                 ("remotedisplay.vnc.port", "5999"), ("monitor.virtual_exec", "software"),
                 ("guestos", "debian12-64"), ("some.unknown.key", "kept")):
        check(keys.get(k) == v, "%s = %r, expected %r" % (k, keys.get(k), v))
    check("serial0.filename" not in keys, "a pty kept its file name")
    check("# kept as it is: a comment\n" in open(vmx).read(), "the comment was lost")

    wait_for(lambda: has_label(win, "Settings VM (edited)"), 10, "the new name in the sidebar")
    wait_for(lambda: field_value(win, "Memory") == "512 MB", 10, "the new memory size")
    for k, v in (("Processors", "2"),
                 ("Serial ports", "COM1: Pseudo-terminal\nCOM2: Output file com2.log"),
                 ("Remote display", "VNC on port 5999"),
                 ("Monitor mode", "software (chosen at power-on)")):
        check(field_value(win, k) == v, "summary: %s is %r, expected %r" %
              (k, field_value(win, k), v))
    wait_for(lambda: has_label(win, "Monitor: software (configured)"), 10,
             "the configured monitor in the status bar")
    screenshot("settings-saved")

    # 2. powered on: locked, except the name and the remote display
    press(win, "Power On")
    wait_for(lambda: len(find_all(win, "Powered on", "label")) >= 2, 60, "the VM powered on")
    check(has_label(win, "Monitor: none (no guest to run)"),
          "the status bar does not say that an idle machine runs no monitor")
    press(win, "Settings")
    title = "Settings of “Settings VM (edited)”"
    dlg = app.toplevel(title)
    wait_for(lambda: find_all(dlg, "The virtual machine is powered on: only its name and the "
                                   "remote display can be changed now. Power it off to change "
                                   "the hardware, boot media, serial ports or monitor mode.",
                              "label"), 10, "the powered-on note")
    check(not find(dlg, "Memory", "text").sensitive, "Memory can be edited while powered on")
    check(has_label(dlg, "Power off the virtual machine to change this setting."),
          "no reason shown for the locked settings")
    page(dlg, "Remote display", title, "VNC port", "text")
    set_text(dlg, "VNC port", "6001")
    screenshot("settings-powered-on")
    press(dlg, "Save")
    wait_for(lambda: title not in app.toplevels(), 20, "the settings dialog to close")
    wait_for(lambda: has_label(app.node, "The settings were saved"), 10,
             "the note that VNC changes apply from the next power-on")
    note = [n.name for n in find_all(app.node, None, "label")
            if "next power-on" in (n.name or "")]
    log("note: %s" % note)
    check(note, "the note does not say when the change applies")
    screenshot("settings-note")
    close_dialog(app.toplevel("The settings were saved"))
    check(vmx_keys(vmx).get("remotedisplay.vnc.port") == "6001",
          "the running vmx did not save the VNC port")
    check(vmx_keys(vmx).get("memsize") == "512", "the memory size changed")
    press(win, "Power Off")
    wait_for(lambda: len(find_all(win, "Powered off", "label")) >= 2, 60, "powered off")
    wait_for(lambda: vmx not in vmrun("list"), 20, "the vmx to exit")


if __name__ == "__main__":
    run(main)
