#!/bin/bash
# tests/guests/devices/run-svga-vnc.sh - runs the svga guest program with
# its VNC checker: boots the image with a VNC server (the vmx with
# RemoteDisplay.vnc.* keys through `vmrun start`, or QEMU with
# -device vmware-svga), runs vnc-check against it, which compares every
# scene the guest draws and types the key that moves the guest on, waits
# for the guest to end and judges both.
#
# usage: run-svga-vnc.sh [options] IMAGE CHECKER
#   --qemu              boot on QEMU's pc machine (TCG) with its vmware-svga
#                       instead of the vmx; scenes QEMU's device cannot do
#                       are skipped by the guest, and QEMU sends no cursor
#                       positions
#   --mem MB            memsize (default 64)
#   --timeout SEC       the whole run (default 280)
#   --check-arg ARG     one more vnc-check argument (repeatable)
#   --set 'KEY = "V"'   one more .vmx line (repeatable; vmx only)
# Environment (vmx): VMRUN (the vmrun binary), VMWS_VMX (the vmx it starts),
# VMWS_MONITOR (monitor.virtual_exec, default hardware).
#
# Verdict: PASS (0) needs vnc-check to pass, the guest's serial log to have
# PASS lines, no FAIL line and "KIT RESULT: PASS", every scene ready (vmx:
# none skipped) and the machine to end on its own (vmx: through ACPI S5,
# the vmx exiting with status 0); SKIP (77) when /dev/kvm (hardware
# monitor) or QEMU with vmware-svga is missing; else FAIL (1) with the
# logs. The VM is always stopped.
set -u

qemu_mode=0 mem=64 timeout=280 check_args=() extra=()
while [ $# -gt 2 ]; do
   case $1 in
   --qemu) qemu_mode=1 ;;
   --mem) mem=$2; shift ;;
   --timeout) timeout=$2; shift ;;
   --check-arg) check_args+=("$2"); shift ;;
   --set) extra+=("$2"); shift ;;
   *) echo "run-svga-vnc: unknown option $1" >&2; exit 2 ;;
   esac
   shift
done
[ $# -eq 2 ] || { echo "usage: run-svga-vnc.sh [options] IMAGE CHECKER" >&2; exit 2; }
image=$(realpath -- "$1")
checker=$(realpath -- "$2")
nscenes=7

if [ $qemu_mode = 1 ]; then
   qemu=$(command -v qemu-system-x86_64) || {
      echo "SKIP: qemu-system-x86_64 is not installed"
      exit 77
   }
   "$qemu" -device help 2>/dev/null | grep -q '"vmware-svga"' || {
      echo "SKIP: this QEMU has no vmware-svga device"
      exit 77
   }
else
   VMRUN=${VMRUN:?set VMRUN to the vmrun binary}
   : "${VMWS_VMX:?set VMWS_VMX to the vmx binary}"
   export VMWS_VMX
   if [ "${VMWS_MONITOR:-hardware}" = hardware ]; then
      if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
         echo "SKIP: /dev/kvm is missing or not usable (the test needs the KVM monitor)"
         exit 77
      fi
      exec 3>&-
   fi
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/vmws-svga-vnc-XXXXXX")
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
name=$(basename "$image" .elf)
vmx=$T/$name.vmx
serial=$T/serial0.log
qemu_pid=""

stop_vm() {
   if [ $qemu_mode = 1 ]; then
      if [ -n "$qemu_pid" ] && kill -0 "$qemu_pid" 2>/dev/null; then
         kill "$qemu_pid" 2>/dev/null
         wait "$qemu_pid" 2>/dev/null
      fi
      return
   fi
   local s
   s=$("$VMRUN" getState "$vmx" 2>/dev/null)
   if [ "$s" != poweredOff ]; then
      "$VMRUN" stop "$vmx" hard >/dev/null 2>&1
   fi
   for f in "$XDG_RUNTIME_DIR"/vmws/*.lock; do
      [ -f "$f" ] || continue
      pid=$(cat "$f" 2>/dev/null)
      [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
   done
}
cleanup() {
   stop_vm
   [ -n "${KEEP_TMP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

show_logs() {
   echo "---- serial0 ($serial)"
   cat "$serial" 2>/dev/null
   if [ $qemu_mode = 1 ]; then
      echo "---- qemu"
      cat "$T/qemu.log" 2>/dev/null
   else
      echo "---- vmware.log"
      cat "$T/vmware.log" 2>/dev/null
   fi
   echo "----"
}
fail() {
   echo "run-svga-vnc: FAIL: $*"
   show_logs
   exit 1
}

deadline=$((SECONDS + timeout))
if [ $qemu_mode = 1 ]; then
   sock=$T/vnc.sock
   "$qemu" -machine pc -accel tcg -m "$mem" -nodefaults -no-user-config -vga none \
      -device vmware-svga -vnc "unix:$sock" -serial "file:$serial" \
      -device isa-debug-exit,iobase=0x501,iosize=1 \
      -kernel "$image" -append "svga.keywait=240" </dev/null >"$T/qemu.log" 2>&1 &
   qemu_pid=$!
   echo "run-svga-vnc: QEMU (pid $qemu_pid), VNC on $sock"
   # QEMU sends no cursor positions, and its desktop size changes break
   # libvncclient's connection (see vnc-check.c, --reconnect).
   target=("$sock" --no-cursor-pos --reconnect)
else
   {
      printf '.encoding = "UTF-8"\ndisplayName = "%s"\n' "$name"
      printf 'memsize = "%s"\nnumvcpus = "1"\n' "$mem"
      printf 'monitor.virtual_exec = "%s"\n' "${VMWS_MONITOR:-hardware}"
      printf 'linux.kernel = "%s"\nlinux.entry = "multiboot"\n' "$image"
      printf 'linux.cmdline = "svga.slot=15 svga.keywait=240 kit.ncpus=1 kit.memsize=%s"\n' "$mem"
      printf 'serial0.present = "TRUE"\nserial0.fileType = "file"\n'
      printf 'serial0.fileName = "serial0.log"\n'
      printf 'RemoteDisplay.vnc.enabled = "TRUE"\nRemoteDisplay.vnc.port = "0"\n'
      for l in "${extra[@]}"; do
         printf '%s\n' "$l"
      done
   } >"$vmx"
   echo "run-svga-vnc: $vmx"
   sed 's/^/   /' "$vmx"
   out=$("$VMRUN" start "$vmx" nogui 2>&1)
   rc=$?
   [ $rc -eq 0 ] || fail "vmrun start failed (exit $rc): $out"
   target=(--log "$T/vmware.log" --require-all)
fi

# The checker: three viewers at once (Tight without JPEG, ZRLE, raw), each
# of which must see every scene exactly.
timeout $((deadline - SECONDS)) "$checker" "${target[@]}" --serial "$serial" \
   --encodings tight,zrle,raw "${check_args[@]}"
crc=$?
[ $crc -eq 0 ] || fail "vnc-check failed (exit $crc)"

# The guest ends by itself after the last key.
if [ $qemu_mode = 1 ]; then
   while [ $SECONDS -lt $deadline ] && kill -0 "$qemu_pid" 2>/dev/null; do
      sleep 0.2
   done
   kill -0 "$qemu_pid" 2>/dev/null && fail "QEMU is still running after ${timeout}s"
   wait "$qemu_pid"
   qrc=$?
   qemu_pid=""
   # isa-debug-exit: (code << 1) | 1, code 0 = pass
   [ $qrc -eq 1 ] || fail "QEMU exited with status $qrc (not the kit's PASS through isa-debug-exit)"
else
   state=""
   while [ $SECONDS -lt $deadline ]; do
      state=$("$VMRUN" getState "$vmx" 2>&1)
      [ "$state" = poweredOff ] && break
      sleep 0.2
   done
   [ "$state" = poweredOff ] || fail "the VM is still '$state' (the guest did not power off)"
   for i in $(seq 50); do
      ls "$XDG_RUNTIME_DIR"/vmws/*.lock >/dev/null 2>&1 || break
      sleep 0.1
   done
fi

[ -f "$serial" ] || fail "no serial log"
npass=$(grep -c '^TEST .*: PASS' "$serial")
nfail=$(grep -c '^TEST .*: FAIL' "$serial")
nready=$(grep -c '^svga: scene [0-9]* ready' "$serial")
nskipped=$(grep -c '^svga: scene [0-9]* skipped' "$serial")
echo "run-svga-vnc: $npass passed, $nfail failed; $nready scene(s) ready, $nskipped skipped"
[ "$nfail" -eq 0 ] || fail "$nfail check(s) failed"
[ "$npass" -gt 0 ] || fail "no PASS line"
grep -q '^KIT RESULT: PASS' "$serial" || fail "no 'KIT RESULT: PASS' line"
[ $((nready + nskipped)) -eq $nscenes ] || fail "the guest went through $((nready + nskipped)) of $nscenes scenes"
if [ $qemu_mode = 0 ]; then
   [ "$nskipped" -eq 0 ] || fail "the guest skipped $nskipped scene(s) on our SVGA device"
   grep -qF 'ACPI: guest entered S5' "$T/vmware.log" ||
      fail "the VM is off, but not through the guest's ACPI S5"
   grep -q 'vmx exiting (status 0)' "$T/vmware.log" || fail "the vmx did not exit cleanly"
fi
cat "$serial"
echo "run-svga-vnc: PASS"
exit 0
