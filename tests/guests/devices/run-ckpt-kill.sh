#!/bin/bash
# tests/guests/devices/run-ckpt-kill.sh - kill -9 the vmx while it
# suspends, again and again at random moments, and check that the VM is
# never left unusable: after every kill it is either suspended with a
# complete .vmss that resumes (the guest goes on from where it was) or
# powered off with no .vmss (the suspend had not committed) and boots; no
# temporary files are left beside the .vmx.
#
# usage: run-ckpt-kill.sh IMAGE [KILLS]
# Environment: VMRUN, VMWS_VMX, VMWS_MONITOR (default software).
set -u
image=$(realpath -- "$1")
kills=${2:-20}
. "$(dirname "$0")/ckpt-lib.sh"

ckpt_make_vm ckptkill "$image" 128 8

fail() {
   echo "FAIL: $*"
   echo "---- serial"; tail -5 "$T/serial0.log" 2>/dev/null
   echo "---- vmware.log"; tail -30 "$T/vmware.log" 2>/dev/null
   pkill -9 -f "vmx.*$vmx" 2>/dev/null
   exit 1
}

last_round() {
   since_mark | grep -o 'CKPT round=[0-9][0-9]* ticks' | tail -1 | tr -cd '0-9\n'
}

# Wait until the guest of this vmx has printed a round above $1.
wait_round_above() {
   local end=$((SECONDS + 90)) r
   while [ $SECONDS -lt $end ]; do
      grep -q 'FAIL' "$T/serial0.log" 2>/dev/null && fail "the guest reported a failure"
      r=$(last_round)
      if [ -n "$r" ] && [ "$r" -gt "$1" ]; then
         echo "$r"
         return 0
      fi
      sleep 0.1
   done
   fail "no round above $1 within 90 s"
}

vmx_pid() { cat "$XDG_RUNTIME_DIR"/vmws/*.lock 2>/dev/null | head -1; }

"$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 || fail "vmrun start: $(cat "$T/start.out")"
r=$(wait_round_above 0)

# How long a suspend takes here (vmrun's request until the vmx answers):
# the kills land at random moments over 1.5 times that.
t0=$(date +%s%N)
pid=$(vmx_pid)
"$VMRUN" suspend "$vmx" >"$T/start.out" 2>&1 || fail "vmrun suspend: $(cat "$T/start.out")"
span_ms=$(( ($(date +%s%N) - t0) / 1000000 * 3 / 2 ))
for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
[ "$span_ms" -ge 20 ] || span_ms=20
echo "a suspend takes about $((span_ms * 2 / 3)) ms; killing within the first $span_ms ms"
before=$(last_round)
mark
"$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 || fail "resume: $(cat "$T/start.out")"
r=$(wait_round_above "$before")
committed=0 lost=0
for i in $(seq 1 "$kills"); do
   pid=$(vmx_pid)
   [ -n "$pid" ] || fail "no vmx pid"
   "$VMRUN" suspend "$vmx" >/dev/null 2>&1 &
   waiter=$!
   d=$((RANDOM % span_ms))
   sleep "$((d / 1000)).$(printf %03d $((d % 1000)))"
   kill -9 "$pid" 2>/dev/null
   wait "$waiter" 2>/dev/null
   for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
   kill -0 "$pid" 2>/dev/null && fail "the vmx survived kill -9"
   leftovers=$(ls -A "$T" | grep -vE '^(ckptkill\.vmx|ckptkill\.vmss|serial0\.log|vmware(-[0-9]+)?\.log|run|start\.out)$')
   [ -z "$leftovers" ] || fail "files left beside the .vmx after kill $i: $leftovers"
   state=$("$VMRUN" getState "$vmx")
   before=$(last_round)
   if [ -e "$vmss" ]; then
      mark
      [ "$state" = suspended ] || fail "a .vmss exists but the state is $state"
      "$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 ||
         fail "kill $i: the .vmss left behind does not resume: $(cat "$T/start.out")"
      r=$(wait_round_above "${before:-0}")
      first=$(since_mark | grep -o 'CKPT round=[0-9][0-9]* ticks' | head -1 | tr -cd '0-9\n')
      [ "$first" -gt "${before:-0}" ] || fail "kill $i: resumed at round $first, was $before"
      committed=$((committed + 1))
   else
      [ "$state" = poweredOff ] || fail "no .vmss but the state is $state"
      base=0   # a power-on empties the log
      "$VMRUN" start "$vmx" nogui >"$T/start.out" 2>&1 ||
         fail "kill $i: the VM does not power on again: $(cat "$T/start.out")"
      r=$(wait_round_above 0)
      lost=$((lost + 1))
   fi
done
"$VMRUN" stop "$vmx" hard >/dev/null 2>&1
grep -q 'FAIL' "$T/serial0.log" && fail "the guest reported a failure"
echo "PASS: $kills kills during suspend: $committed left a .vmss that resumed, $lost killed" \
     "before the commit (powered off, booted again)"
rm -rf "$T"
exit 0
