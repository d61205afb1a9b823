#!/bin/bash
# tests/guests/devices/run-in-vmx.sh - runs one guest test kit image on the
# real PC platform: writes a .vmx for it, starts it with `vmrun start`,
# waits until the guest powers the VM off (kit programs end with ACPI S5
# after their result line), and judges the serial log.
#
# usage: run-in-vmx.sh [options] IMAGE
#   --mem MB                memsize (default 64)
#   --vcpus N               numvcpus (default 1)
#   --cmdline TEXT          linux.cmdline (kit.ncpus=N kit.memsize=MB are always added)
#   --cmdline-time          add kit.time=<host UTC seconds> to the command line
#   --set 'KEY = "VALUE"'   one more .vmx line (repeatable)
#   --serial1               add COM2 (serial1) writing serial1.log
#   --serial1-has TEXT      serial1.log must contain TEXT (implies --serial1)
#   --serial1-lacks TEXT    serial1.log must not contain TEXT (implies --serial1)
#   --kernel PATH           linux.kernel (default IMAGE)
#   --timeout SEC           how long the guest may run (default 60)
#   --boots N               the program must start N times (resets; default 1)
#   --no-result             the guest ends without a result line (a triple
#                           fault with cpu.tripleFault = "poweroff"); it still
#                           needs PASS lines and no FAIL
#   --log TEXT              vmware.log must contain TEXT (repeatable)
#   --expect-start-error T  `vmrun start` must fail with a message containing
#                           T; the VM must end poweredOff, the log must say it
#                           and no vmx may be left
# Environment: VMRUN (the vmrun binary), VMWS_VMX (the vmx it starts),
# VMWS_MONITOR (monitor.virtual_exec, default hardware).
#
# Verdict: PASS (exit 0) needs at least one "TEST ...: PASS" line, no
# "TEST ...: FAIL" line, "KIT RESULT: PASS" (unless --no-result), the
# expected number of starts and the VM poweredOff within the timeout; SKIP
# (77) when /dev/kvm cannot be used or the guest only skipped; else FAIL (1)
# with the serial log and vmware.log printed. The VM is always stopped.
set -u

mem=64 vcpus=1 cmdline="" add_time=0 serial1=0 kernel="" timeout=60 boots=1 no_result=0
expect_err="" extra=() logs=() s1texts=() s1absent=()
while [ $# -gt 1 ]; do
   case $1 in
   --mem) mem=$2; shift ;;
   --vcpus) vcpus=$2; shift ;;
   --cmdline) cmdline=$2; shift ;;
   --cmdline-time) add_time=1 ;;
   --set) extra+=("$2"); shift ;;
   --serial1) serial1=1 ;;
   --serial1-has) serial1=1; s1texts+=("$2"); shift ;;
   --serial1-lacks) serial1=1; s1absent+=("$2"); shift ;;
   --kernel) kernel=$2; shift ;;
   --timeout) timeout=$2; shift ;;
   --boots) boots=$2; shift ;;
   --no-result) no_result=1 ;;
   --log) logs+=("$2"); shift ;;
   --expect-start-error) expect_err=$2; shift ;;
   *) echo "run-in-vmx: unknown option $1" >&2; exit 2 ;;
   esac
   shift
done
[ $# -eq 1 ] || { echo "usage: run-in-vmx.sh [options] IMAGE" >&2; exit 2; }
image=$(realpath -- "$1")
[ -n "$kernel" ] || kernel=$image
VMRUN=${VMRUN:?set VMRUN to the vmrun binary}
: "${VMWS_VMX:?set VMWS_VMX to the vmx binary}"
export VMWS_VMX

# The hardware monitor needs a /dev/kvm we can open read-write.
if [ "${VMWS_MONITOR:-hardware}" = hardware ]; then
   if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
      echo "SKIP: /dev/kvm is missing or not usable (the test needs the KVM monitor)"
      exit 77
   fi
   exec 3>&-
fi

T=$(mktemp -d "${TMPDIR:-/tmp}/vmws-gvmx-XXXXXX")
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
name=$(basename "$image" .elf)
vmx=$T/$name.vmx

stop_vm() {
   local s
   s=$("$VMRUN" getState "$vmx" 2>/dev/null)
   if [ "$s" != poweredOff ]; then
      "$VMRUN" stop "$vmx" hard >/dev/null 2>&1
   fi
   # Never leave a vmx behind.
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
   echo "---- serial0 ($T/serial0.log)"
   cat "$T/serial0.log" 2>/dev/null
   if [ $serial1 = 1 ]; then
      echo "---- serial1"
      cat "$T/serial1.log" 2>/dev/null
   fi
   echo "---- vmware.log"
   cat "$T/vmware.log" 2>/dev/null
   echo "----"
}
fail() {
   echo "run-in-vmx: FAIL: $*"
   show_logs
   exit 1
}

[ $add_time = 1 ] && cmdline="$cmdline kit.time=$(date -u +%s)"
cmdline="$cmdline kit.ncpus=$vcpus kit.memsize=$mem"
{
   printf '.encoding = "UTF-8"\ndisplayName = "%s"\n' "$name"
   printf 'memsize = "%s"\nnumvcpus = "%s"\n' "$mem" "$vcpus"
   printf 'monitor.virtual_exec = "%s"\n' "${VMWS_MONITOR:-hardware}"
   printf 'linux.kernel = "%s"\nlinux.entry = "multiboot"\n' "$kernel"
   printf 'linux.cmdline = "%s"\n' "${cmdline# }"
   printf 'serial0.present = "TRUE"\nserial0.fileType = "file"\n'
   printf 'serial0.fileName = "serial0.log"\n'
   if [ $serial1 = 1 ]; then
      printf 'serial1.present = "TRUE"\nserial1.fileType = "file"\n'
      printf 'serial1.fileName = "serial1.log"\n'
   fi
   for l in "${extra[@]}"; do
      printf '%s\n' "$l"
   done
} >"$vmx"
echo "run-in-vmx: $vmx"
sed 's/^/   /' "$vmx"

out=$("$VMRUN" start "$vmx" nogui 2>&1)
rc=$?
if [ -n "$expect_err" ]; then
   echo "vmrun start: exit $rc: $out"
   [ $rc -ne 0 ] || fail "vmrun start succeeded; expected an error naming '$expect_err'"
   case $out in *"$expect_err"*) ;; *) fail "the error does not name '$expect_err'" ;; esac
   state=$("$VMRUN" getState "$vmx" 2>&1)
   [ "$state" = poweredOff ] || fail "state after the failed start is '$state', not poweredOff"
   grep -qF -- "$expect_err" "$T/vmware.log" 2>/dev/null ||
      fail "vmware.log does not have the error"
   # The vmx ended on its own, with its last log line (nothing crashed).
   for i in $(seq 50); do
      grep -q 'vmx exiting (status' "$T/vmware.log" && break
      sleep 0.1
   done
   grep -q 'vmx exiting (status' "$T/vmware.log" || fail "the vmx did not log its exit"
   for f in "$XDG_RUNTIME_DIR"/vmws/*.lock; do
      [ -f "$f" ] && fail "a vmx is still running (lock $f)"
   done
   out2=$("$VMRUN" list 2>&1)
   [ "$out2" = "Total running VMs: 0" ] || fail "vmrun list: $out2"
   echo "run-in-vmx: PASS: the start failed as expected and the VM is poweredOff"
   exit 0
fi
[ $rc -eq 0 ] || fail "vmrun start failed (exit $rc): $out"

# Wait for the guest to power the VM off.
state=""
deadline=$((SECONDS + timeout))
while [ $SECONDS -lt $deadline ]; do
   state=$("$VMRUN" getState "$vmx" 2>&1)
   [ "$state" = poweredOff ] && break
   sleep 0.2
done
if [ "$state" != poweredOff ]; then
   fail "the VM is still '$state' after ${timeout}s (the guest did not power off)"
fi
# The vmx exits after the power-off; give it a moment, then the logs are whole.
for i in $(seq 50); do
   ls "$XDG_RUNTIME_DIR"/vmws/*.lock >/dev/null 2>&1 || break
   sleep 0.1
done

log=$T/serial0.log
[ -f "$log" ] || fail "no serial log"
npass=$(grep -c '^TEST .*: PASS' "$log")
nfail=$(grep -c '^TEST .*: FAIL' "$log")
nskip=$(grep -c '^TEST .*: SKIP' "$log")
nboot=$(grep -c '^kit: .*, booted via ' "$log")
echo "run-in-vmx: $npass passed, $nfail failed, $nskip skipped, $nboot start(s), VM poweredOff"
[ "$nfail" -eq 0 ] || fail "$nfail check(s) failed"
[ "$nboot" -eq "$boots" ] || fail "the program started $nboot time(s), expected $boots"
for l in "${logs[@]}"; do
   grep -qF -- "$l" "$T/vmware.log" || fail "vmware.log lacks '$l'"
done
for l in "${s1texts[@]}"; do
   grep -qF -- "$l" "$T/serial1.log" || fail "serial1.log lacks '$l'"
done
for l in "${s1absent[@]}"; do
   grep -qF -- "$l" "$T/serial1.log" && fail "serial1.log has '$l'"
done
if [ $no_result = 0 ]; then
   if [ "$npass" -eq 0 ] && [ "$nskip" -gt 0 ] && grep -q '^KIT RESULT: SKIP' "$log"; then
      show_logs
      echo "run-in-vmx: SKIP (the guest skipped every check)"
      exit 77
   fi
   grep -q '^KIT RESULT: PASS' "$log" || fail "no 'KIT RESULT: PASS' line"
   grep -qF 'ACPI: guest entered S5' "$T/vmware.log" ||
      fail "the VM is off, but not through the guest's ACPI S5"
else
   grep -q '^KIT RESULT:' "$log" && fail "a result line, but --no-result expected none"
fi
[ "$npass" -gt 0 ] || fail "no PASS line"
grep -q 'vmx exiting (status 0)' "$T/vmware.log" || fail "the vmx did not exit cleanly"
cat "$log"
echo "---- from vmware.log"
grep -E 'Guest reset|triple fault|powered off|ACPI: ' "$T/vmware.log"
echo "run-in-vmx: PASS"
exit 0
