#!/bin/sh
# tests/guests/qemu-boot.sh IMAGE ENTRY - boots a kit image on QEMU's microvm
# machine under TCG, the firmware-free direct boot path (-kernel), and maps
# the kit's result from isa-debug-exit ((code << 1) | 1) back to 0/1/77.
# ENTRY (pvh or multiboot) is passed to the guest as kit.expect=ENTRY, and the
# hello program checks that QEMU really took that entry.
# Skips (77) when qemu-system-x86_64 is not installed.
set -u
image=$1
entry=$2
qemu=$(command -v qemu-system-x86_64) || {
   echo "SKIP: qemu-system-x86_64 is not installed"
   exit 77
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
timeout 100 "$qemu" -M microvm,x-option-roms=off,rtc=on -accel tcg -m 64 \
   -nodefaults -no-user-config -display none -serial stdio \
   -device isa-debug-exit,iobase=0x501,iosize=1 \
   -kernel "$image" -append "kit.expect=$entry" </dev/null >"$out" 2>&1
rc=$?
cat "$out"
case $rc in
1)   result=0 ;;
3)   result=1 ;;
155) result=77 ;;
124) echo "qemu-boot: TIMEOUT after 100 s"; exit 1 ;;
*)   echo "qemu-boot: qemu exited with status $rc (no kit result)"; exit 1 ;;
esac
if [ $result = 0 ]; then
   grep -q '^KIT RESULT: PASS' "$out" && ! grep -q '^TEST .*: FAIL' "$out" || {
      echo "qemu-boot: exit status says PASS but the serial output disagrees"
      exit 1
   }
fi
exit $result
