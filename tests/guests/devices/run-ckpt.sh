#!/bin/bash
# tests/guests/devices/run-ckpt.sh - suspend and resume a running guest
# (ckpt.c: a memory pattern checked every round, a PIT tick counter) again
# and again through vmrun, under the monitor VMWS_MONITOR names (default
# software), and check that it never notices:
#   - `vmrun suspend` ends with the VM suspended, the vmx gone and a .vmss
#     beside the .vmx; `vmrun getState` says suspended;
#   - `vmrun start` resumes it: the round count goes on from where it was
#     (no new boot), the .vmss is gone;
#   - a corrupted .vmss is refused with a message naming the file, the VM
#     stays suspended and the file is left as it was; the good one resumes;
#   - in the end the guest reports PASS and powers off.
#
# usage: run-ckpt.sh IMAGE [CYCLES [alternate]]
#   alternate: every resume runs under the other monitor (the .vmx's
#   monitor.virtual_exec is switched while the VM is suspended), so states
#   saved under KVM resume under the software monitor and the reverse.
# Environment: VMRUN, VMWS_VMX, VMWS_MONITOR (hardware | software: the
# first monitor).
set -u
image=$(realpath -- "$1")
cycles=${2:-5}
alternate=${3:-}
. "$(dirname "$0")/ckpt-lib.sh"

if [ "$monitor" = hardware ] || [ -n "$alternate" ]; then
   ckpt_need_kvm
fi

ckpt_make_vm ckpt "$image" 64 24

fail() {
   echo "FAIL: $*"
   echo "---- serial"; tail -20 "$T/serial0.log" 2>/dev/null
   echo "---- vmware.log"; tail -40 "$T/vmware.log" 2>/dev/null
   "$VMRUN" stop "$vmx" hard >/dev/null 2>&1
   exit 1
}

# The last round number the guest printed since the mark.
last_round() {
   since_mark | grep -o 'CKPT round=[0-9][0-9]* ticks' | tail -1 | tr -cd '0-9\n'
}

wait_round_above() { # wait_round_above N SECONDS
   local end=$((SECONDS + $2)) r
   while [ $SECONDS -lt $end ]; do
      grep -q 'FAIL' "$T/serial0.log" 2>/dev/null && fail "the guest reported a failure"
      r=$(last_round)
      if [ -n "$r" ] && [ "$r" -gt "$1" ]; then
         echo "$r"
         return 0
      fi
      sleep 0.2
   done
   fail "no round above $1 within $2 s"
}

state() { "$VMRUN" getState "$vmx" 2>&1; }

"$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 || fail "vmrun start: $(cat "$T/start.out")"
r=$(wait_round_above 1 120)
echo "booted, round $r"

for i in $(seq 1 "$cycles"); do
   r=$(wait_round_above "$r" 60)
   "$VMRUN" suspend "$vmx" >"$T/suspend.out" 2>&1 || fail "vmrun suspend: $(cat "$T/suspend.out")"
   [ "$(state)" = suspended ] || fail "after suspend the state is $(state)"
   [ -s "$vmss" ] || fail "no $vmss after suspend"
   pgrep -f "vmx.*$vmx" >/dev/null && sleep 1
   pgrep -f "vmx.*$vmx" >/dev/null && fail "a vmx still runs after suspend"
   before=$(last_round)
   cp "$T/serial0.log" "$T/serial.before"
   mark

   if [ "$i" -eq 2 ]; then
      # A corrupted state: refused, the VM stays suspended, the file as it was.
      cp "$vmss" "$T/good.vmss"
      printf 'X' | dd of="$vmss" bs=1 seek=200 conv=notrunc status=none
      cp "$vmss" "$T/bad.vmss"
      if "$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1; then
         fail "vmrun start resumed a corrupted checkpoint"
      fi
      grep -q "ckpt.vmss" "$T/start.out" || fail "the refusal does not name the file: $(cat "$T/start.out")"
      echo "corrupt checkpoint refused: $(grep -o 'cannot resume.*' "$T/start.out" | head -1)"
      [ "$(state)" = suspended ] || fail "after a refused resume the state is $(state)"
      cmp -s "$vmss" "$T/bad.vmss" || fail "the refused checkpoint was changed"
      cp "$T/good.vmss" "$vmss"
   fi

   if [ -n "$alternate" ]; then
      saved_under=$monitor
      if [ "$monitor" = hardware ]; then monitor=software; else monitor=hardware; fi
      sed -i "s/^monitor.virtual_exec = .*/monitor.virtual_exec = \"$monitor\"/" "$vmx"
   fi
   "$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 || fail "resume: $(cat "$T/start.out")"
   [ -e "$vmss" ] && fail "$vmss is still there after the resume"
   grep -q "Checkpoint: resumed from" "$T/vmware.log" || fail "vmware.log does not say it resumed"
   r=$(wait_round_above "$before" 60)
   # The log goes on after what the guest wrote before the suspend.
   cmp -s -n "$base" "$T/serial0.log" "$T/serial.before" ||
      fail "the serial log lost what the guest wrote before the suspend"
   # Resumed, not rebooted: the first round of this run continues the count.
   first=$(since_mark | grep -o 'CKPT round=[0-9][0-9]* ticks' | head -1 | tr -cd '0-9\n')
   [ "$first" -gt "$before" ] || fail "after resume the guest started again at round $first (was $before)"
   if [ -n "$alternate" ]; then
      grep -q "saved under the $saved_under monitor, resuming under the $monitor monitor" \
         "$T/vmware.log" || fail "vmware.log does not show the move from $saved_under to $monitor"
      echo "cycle $i: suspended at round $before under $saved_under, resumed at round $first under $monitor"
   else
      echo "cycle $i: suspended at round $before, resumed at round $first"
   fi
done

# A reset after a resume: RAM is the checkpoint's private mapping until
# then; the machine must go back to its own memory and boot the image anew.
mark
"$VMRUN" reset "$vmx" hard >"$T/reset.out" 2>&1 || fail "vmrun reset: $(cat "$T/reset.out")"
end=$((SECONDS + 60))
until since_mark | grep -A1000 'kit: ckpt, booted' | grep -q 'CKPT round=1 '; do
   [ $SECONDS -lt $end ] || fail "the guest did not boot again after a reset"
   sleep 0.2
done
echo "reset after resume: the guest booted again"
"$VMRUN" stop "$vmx" hard >/dev/null 2>&1
grep -q 'FAIL' "$T/serial0.log" && fail "the guest reported a failure"
echo "PASS: $cycles suspend/resume cycles"
rm -rf "$T"
exit 0
