#!/usr/bin/python3
"""UI test (b): "Open a Virtual Machine".

  1. A .vmx chosen in the file chooser (File ▸ Open a Virtual Machine…,
     here from the empty library's button): the path is typed into the
     chooser's location field with X key events. The VM is a folder as
     VMware Workstation makes it (NAME.vmx with its .vmdk, .nvram, .vmsd,
     .vmxf and logs, and the keys Workstation writes); its summary shows
     what the .vmx says.
  2. A VM's folder given on the command line of a second "vmws FOLDER"
     while the first runs: the running instance opens it (one application).
  3. A folder without a .vmx: an error dialog says so and what to choose.
  4. Opening a VM already in the library selects it, without a second
     entry; the library file lists each VM once.
  5. File ▸ Remove from Library takes it out; its files stay.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from vmwsui import (App, VMWS, WORK, check, close_dialog, field_value, find, find_all,  # noqa: E402
                    has_label, key, log, menu, press, run, screenshot, type_keys, wait_for,
                    window_origin, xdo)

# What VMware Workstation 17 writes for a Windows 10 VM (values made up,
# keys and layout as Workstation has them).
WORKSTATION_VMX = """.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "20"
pciBridge0.present = "TRUE"
pciBridge4.present = "TRUE"
pciBridge4.virtualDev = "pcieRootPort"
pciBridge4.functions = "8"
vmci0.present = "TRUE"
hpet0.present = "TRUE"
nvram = "Windows 10 x64.nvram"
virtualHW.productCompatibility = "hosted"
powerType.powerOff = "soft"
powerType.powerOn = "soft"
powerType.suspend = "soft"
powerType.reset = "soft"
displayName = "Windows 10 x64"
usb.vbluetooth.startConnected = "TRUE"
firmware = "efi"
guestOS = "windows9-64"
tools.syncTime = "FALSE"
sound.autoDetect = "TRUE"
sound.virtualDev = "hdaudio"
sound.fileName = "-1"
sound.present = "TRUE"
numvcpus = "2"
cpuid.coresPerSocket = "2"
vcpu.hotadd = "TRUE"
memsize = "4096"
mem.hotadd = "TRUE"
scsi0.virtualDev = "lsisas1068"
scsi0.present = "TRUE"
scsi0:0.fileName = "Windows 10 x64.vmdk"
scsi0:0.present = "TRUE"
sata0.present = "TRUE"
sata0:1.deviceType = "cdrom-raw"
sata0:1.fileName = "auto detect"
sata0:1.present = "TRUE"
usb.present = "TRUE"
ehci.present = "TRUE"
usb_xhci.present = "TRUE"
svga.graphicsMemoryKB = "8388608"
ethernet0.connectionType = "nat"
ethernet0.addressType = "generated"
ethernet0.virtualDev = "e1000e"
serial0.fileType = "thinprint"
serial0.fileName = "thinprint"
ethernet0.present = "TRUE"
serial0.present = "FALSE"
extendedConfigFile = "Windows 10 x64.vmxf"
floppy0.present = "FALSE"
uuid.bios = "56 4d 2a 0b 9e 1f 3c 77-a1 0d 6e 52 13 88 f4 02"
uuid.location = "56 4d 2a 0b 9e 1f 3c 77-a1 0d 6e 52 13 88 f4 02"
vm.genid = "-3021576829105012477"
vm.genidX = "7342194210847113862"
scsi0:0.redo = ""
pciBridge0.pciSlotNumber = "17"
pciBridge4.pciSlotNumber = "21"
scsi0.pciSlotNumber = "160"
usb.pciSlotNumber = "32"
ethernet0.pciSlotNumber = "192"
sound.pciSlotNumber = "33"
ehci.pciSlotNumber = "34"
usb_xhci.pciSlotNumber = "224"
sata0.pciSlotNumber = "35"
ethernet0.generatedAddress = "00:0c:29:88:f4:02"
ethernet0.generatedAddressOffset = "0"
vmci0.id = "-1853299454"
monitor.phys_bits_used = "45"
cleanShutdown = "TRUE"
softPowerOff = "TRUE"
tools.remindInstall = "FALSE"
toolsInstallManager.updateCounter = "1"
checkpoint.vmState = ""
"""

VMDK = """# Disk DescriptorFile
version=1
encoding="UTF-8"
CID=fffffffe
parentCID=ffffffff
createType="monolithicSparse"

# Extent description
RW 125829120 SPARSE "Windows 10 x64.vmdk"

# The Disk Data Base
#DDB

ddb.adapterType = "lsilogic"
ddb.geometry.cylinders = "7832"
ddb.geometry.heads = "255"
ddb.geometry.sectors = "63"
ddb.longContentID = "7e1d2b9a4f0c83e61d5a2c40fffffffe"
ddb.virtualHWVersion = "20"
"""

VMXF = """<?xml version="1.0"?>
<Foundry>
<VM>
<VMId type="string">52 8a 1c 0e 3b 77 f4 91-6d 02 5e a8 13 44 c2 7b</VMId>
<ClientMetaData>
<clientMetaDataAttributes/>
<HistoryEventList/></ClientMetaData>
<vmxPathName type="string">Windows 10 x64.vmx</vmxPathName></VM></Foundry>
"""


def workstation_folder(parent, name, vmx_text):
    d = os.path.join(parent, name)
    os.makedirs(d)
    files = {
        name + ".vmx": vmx_text,
        name + ".vmdk": VMDK.replace("Windows 10 x64", name),
        name + ".vmsd": "",
        name + ".vmxf": VMXF.replace("Windows 10 x64", name),
        "vmware.log": "2024-05-02T10:11:12.345Z In(05) vmx  Log for VMware Workstation\n",
    }
    for fn, text in files.items():
        with open(os.path.join(d, fn), "w") as f:
            f.write(text)
    with open(os.path.join(d, name + ".nvram"), "wb") as f:
        f.write(b"MRVN" + bytes(8188))
    os.makedirs(os.path.join(d, "caches", "GuestAppsCache"))
    return d


def main(apps):
    lib = os.path.join(WORK, "Virtual Machines")
    win10 = workstation_folder(lib, "Windows 10 x64", WORKSTATION_VMX)
    win10_vmx = os.path.join(win10, "Windows 10 x64.vmx")
    other = workstation_folder(lib, "Ubuntu 64-bit",
                               WORKSTATION_VMX.replace("Windows 10 x64", "Ubuntu 64-bit")
                               .replace('"windows9-64"', '"ubuntu-64"')
                               .replace('memsize = "4096"', 'memsize = "2048"'))
    empty = os.path.join(WORK, "not a vm")
    os.makedirs(empty)

    app = App()
    apps.append(app)
    win = app.window

    # 1. the file chooser
    press(win, "Open a Virtual Machine")
    app.toplevel("Open a Virtual Machine")
    (wx, wy), wid = window_origin("^Open a Virtual Machine$")
    # Keys go where the pointer is (no window manager): put it over the
    # chooser, then type the path into its location field.
    xdo("mousemove", "--sync", wx + 200, wy + 200)
    time.sleep(0.5)
    key("ctrl+l")
    time.sleep(0.5)
    type_keys(win10_vmx, 20)
    time.sleep(0.5)
    screenshot("file-chooser")
    key("Return")
    wait_for(lambda: "Open a Virtual Machine" not in app.toplevels(), 15,
             "the file chooser to close")
    wait_for(lambda: has_label(win, "Windows 10 x64"), 10, "the opened VM in the library")
    wait_for(lambda: field_value(win, "Memory") == "4096 MB", 10, "its summary")
    for k, v in (("Guest operating system", "Windows 10 x64"), ("Processors", "2"),
                 ("Hard disk", "Windows 10 x64.vmdk (scsi)"),
                 ("Configuration file", win10_vmx), ("Serial ports", "None")):
        got = field_value(win, k)
        check(got == v, "summary: %s is %r, expected %r" % (k, got, v))
    check(has_label(win, "Powered off"), "the opened VM is not shown powered off")
    screenshot("opened-workstation-vm")

    # 2. a folder, from the command line of a second instance
    p = subprocess.run([VMWS, other], timeout=30)
    check(p.returncode == 0, "vmws FOLDER exited %d" % p.returncode)
    wait_for(lambda: has_label(win, "Ubuntu 64-bit"), 15,
             "the folder's VM in the running instance's library")
    wait_for(lambda: app.window.name == "Ubuntu 64-bit — vmws", 10, "it to be selected")
    wait_for(lambda: field_value(win, "Memory") == "2048 MB", 10, "its summary")
    check(field_value(win, "Guest operating system") == "Ubuntu 64-bit", "wrong guest OS")

    # 3. a folder without a .vmx
    subprocess.run([VMWS, empty], timeout=30)
    dlg = app.toplevel("Cannot open the virtual machine", timeout=15)
    body = "\n".join(n.name for n in find_all(dlg, None, "label"))
    log("error dialog:\n%s" % body)
    screenshot("open-failed")
    check(empty in body, "the dialog does not name the folder")
    check(re.search(r"no \.vmx|\.vmx", body), "the dialog does not say what is missing")
    check("Choose the virtual machine's configuration file (.vmx), or the folder that holds "
          "it." in body, "the dialog does not say what to do")
    close_dialog(dlg)
    wait_for(lambda: "Cannot open the virtual machine" not in app.toplevels(), 10,
             "the dialog to close")

    # 4. again: selected, not added twice
    subprocess.run([VMWS, win10_vmx], timeout=30)
    wait_for(lambda: app.window.name == "Windows 10 x64 — vmws", 10,
             "the VM already in the library to be selected")
    sidebar = find(win, "Virtual machines", "list")
    rows = [n.name for n in find_all(sidebar, None, "label")]
    log("sidebar: %s" % rows)
    check(rows.count("Windows 10 x64") == 1, "the VM is %d times in the library's sidebar" %
          rows.count("Windows 10 x64"))
    check(rows.count("Ubuntu 64-bit") == 1, "the folder's VM is not once in the sidebar")
    inv = open(os.path.join(os.environ["XDG_CONFIG_HOME"], "vmws", "inventory")).read()
    log("library file:\n%s" % inv)
    check(inv.count(win10_vmx) == 1, "the library lists the Workstation VM %d times" %
          inv.count(win10_vmx))
    check(inv.count(os.path.join(other, "Ubuntu 64-bit.vmx")) == 1,
          "the library does not list the folder's VM once")
    # Opening changed nothing in the VMs' files.
    check(open(win10_vmx).read() == WORKSTATION_VMX, "opening the VM changed its .vmx")
    screenshot("library")

    # 5. File ▸ Remove from Library: out of the library, files kept.
    menu(win, "Windows 10 x64 — vmws", "File", "Remove from Library")
    wait_for(lambda: [n.name for n in find_all(sidebar, None, "label")
                      if n.name in ("Windows 10 x64", "Ubuntu 64-bit")] == ["Ubuntu 64-bit"],
             10, "the VM to leave the sidebar")
    inv = open(os.path.join(os.environ["XDG_CONFIG_HOME"], "vmws", "inventory")).read()
    check(win10_vmx not in inv, "the removed VM is still in the library file")
    check(open(win10_vmx).read() == WORKSTATION_VMX, "removing the VM changed its files")
    screenshot("removed")


if __name__ == "__main__":
    run(main)
