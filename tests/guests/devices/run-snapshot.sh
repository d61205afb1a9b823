#!/bin/bash
# tests/guests/devices/run-snapshot.sh - memory snapshots and the snapshot
# tree through vmrun, with the ckpt guest (ckpt.c: a memory pattern checked
# every round, so memory that comes back wrong is a FAIL on the serial
# port) under the monitor VMWS_MONITOR names (default software):
#   - snapshot A of the running guest, later B; the guest keeps running;
#   - revert to A again and again: the guest goes back to A's round (the
#     first round after the revert is one it had when A was taken) and
#     keeps counting with every pattern check passing; revert to B too;
#   - listSnapshots [showTree] (from VMDB while a vmx runs, from the .vmsd
#     when none does), ambiguous names refused, paths accepted;
#   - a corrupted .vmsn (header, and guest memory) is refused with a
#     message naming it; the VM keeps running and the file is not touched;
#   - deleteSnapshot B: its child moves up, its .vmsn goes; andDeleteChildren;
#   - a snapshot of a paused VM reverts to paused;
#   - revert of a suspended VM (no vmx running) brings A back running;
#     a snapshot of a suspended VM reverts to suspended and resumes;
#   - a snapshot of a powered-off VM reverts to powered off.
#
# usage: run-snapshot.sh IMAGE [REVERTS]
# Environment: VMRUN, VMWS_VMX, VMWS_MONITOR (hardware | software).
set -u
image=$(realpath -- "$1")
reverts=${2:-3}
. "$(dirname "$0")/ckpt-lib.sh"

if [ "$monitor" = hardware ]; then
   ckpt_need_kvm
fi

ckpt_make_vm snap "$image" 64 16

cleanup() {
   for s in "$XDG_RUNTIME_DIR"/vmws/*.lock; do
      [ -f "$s" ] && kill -9 "$(cat "$s" 2>/dev/null)" 2>/dev/null
   done
}
trap cleanup EXIT

fail() {
   echo "FAIL: $*"
   echo "---- serial"; tail -20 "$T/serial0.log" 2>/dev/null
   echo "---- snap.vmsd"; cat "$T/snap.vmsd" 2>/dev/null
   echo "---- vmware.log"; tail -40 "$T/vmware.log" 2>/dev/null
   "$VMRUN" stop "$vmx" hard >/dev/null 2>&1
   exit 1
}

# Rounds the guest has printed whole (a line still being written may end
# in the middle of its number).
rounds() { since_mark | grep -o 'CKPT round=[0-9]* ticks=' | cut -d= -f2 | cut -d' ' -f1; }
last_round() { rounds | tail -1; }
first_round() { rounds | head -1; }
check_no_fail() {
   grep -q 'FAIL' "$T/serial0.log" 2>/dev/null && fail "the guest reported a failure"
}

# Sets R to the last round once it is above N.
wait_round_above() { # wait_round_above N SECONDS
   local end=$((SECONDS + $2))
   while [ $SECONDS -lt $end ]; do
      check_no_fail
      R=$(last_round)
      if [ -n "$R" ] && [ "$R" -gt "$1" ]; then
         return 0
      fi
      sleep 0.2
   done
   fail "no round above $1 within $2 s"
}

state() { "$VMRUN" getState "$vmx" 2>&1; }
vmrun_ok() { # vmrun_ok WHAT ARGS...: run vmrun, fail the test if it fails
   local what=$1
   shift
   "$VMRUN" "$@" >"$T/out" 2>&1 || fail "$what: $(cat "$T/out")"
}
vmx_gone() {
   local i
   for i in $(seq 50); do
      pgrep -f "vmx.*$vmx" >/dev/null || return 0
      sleep 0.1
   done
   return 1
}

# Take snapshot NAME; sets LO and HI: the guest's state is that of a round
# after LO (the last printed before) and at most HI + 1 (HI: the last
# printed when vmrun returned).
take() {
   LO=$(last_round)
   vmrun_ok "snapshot $1" snapshot "$vmx" "$1"
   HI=$(last_round)
}

# After a revert to a snapshot taken between rounds LO and HI: the new run
# starts right after the snapshot, not at a new boot. The first line may be
# the rest of one the guest was printing when the snapshot was taken, so
# the first whole round is at most HI + 2. Sets FIRST.
check_back() { # check_back NAME LO HI
   wait_round_above 0 60
   FIRST=$(first_round)
   [ "$FIRST" -gt "$2" ] && [ "$FIRST" -le $(($3 + 2)) ] ||
      fail "after the revert to $1 the guest is at round $FIRST, but $1 was taken between rounds $2 and $3"
   since_mark | grep -q 'kit: ckpt, booted' && fail "the guest booted again after reverting to $1"
   # And goes on with its memory checks passing.
   wait_round_above $((FIRST + 2)) 60
}

vmrun_ok "vmrun start" start "$vmx" nogui
wait_round_above 1 120
echo "booted, round $R"

# ---- snapshots of the running guest
take A
a_lo=$LO a_hi=$HI
[ "$(state)" = poweredOn ] || fail "after snapshot A the VM is $(state)"
wait_round_above $((a_hi + 3)) 60
echo "snapshot A between rounds $a_lo and $a_hi; running on at round $R"
grep -q "Snapshot: took 'A' (uid 1, poweredOn" "$T/vmware.log" || fail "vmware.log does not record snapshot A"
take B
b_lo=$LO b_hi=$HI
wait_round_above $((b_hi + 2)) 60
echo "snapshot B between rounds $b_lo and $b_hi; running on at round $R"

out=$("$VMRUN" listSnapshots "$vmx" showTree 2>&1)
[ "$out" = "$(printf 'Total snapshots: 2\nA\n\tB')" ] || fail "listSnapshots showTree (VMDB): [$out]"
out=$("$VMRUN" listSnapshots "$vmx" 2>&1)
[ "$out" = "$(printf 'Total snapshots: 2\nA\nB')" ] || fail "listSnapshots (VMDB): [$out]"
grep -q 'snapshot.current = "2"' "$T/snap.vmsd" || fail "B is not current after it was taken"

# ---- revert to A, again and again
for i in $(seq 1 "$reverts"); do
   before=$(last_round)
   vmrun_ok "revert to A ($i)" revertToSnapshot "$vmx" A
   base=0   # the reverted run starts the serial log anew
   [ "$(state)" = poweredOn ] || fail "after revert $i the VM is $(state)"
   [ -e "$vmss" ] && fail "$vmss is left after reverting to a running snapshot"
   check_back A "$a_lo" "$a_hi"
   echo "revert $i to A: was at round $before, back at round $FIRST"
done
grep -q 'snapshot.current = "1"' "$T/snap.vmsd" || fail "A is not current after reverting to it"

# A snapshot path, and B.
vmrun_ok "revert to A/B" revertToSnapshot "$vmx" A/B
base=0   # the reverted run starts the serial log anew
check_back B "$b_lo" "$b_hi"
echo "revert to A/B: back at round $FIRST"

# ---- ambiguous and unknown names
take X
x_lo=$LO x_hi=$HI
take X
out=$("$VMRUN" revertToSnapshot "$vmx" X 2>&1) && fail "an ambiguous name was accepted"
case "$out" in *"'X' is ambiguous"*) ;; *) fail "ambiguous name: $out" ;; esac
out=$("$VMRUN" revertToSnapshot "$vmx" nosuch 2>&1) && fail "an unknown name was accepted"
case "$out" in *"no snapshot named 'nosuch'"*) ;; *) fail "unknown name: $out" ;; esac
out=$("$VMRUN" snapshot "$vmx" "a/b" 2>&1) && fail "a name with '/' was accepted"
[ "$(state)" = poweredOn ] || fail "after refused requests the VM is $(state)"
out=$("$VMRUN" listSnapshots "$vmx" showTree 2>&1)
[ "$out" = "$(printf 'Total snapshots: 4\nA\n\tB\n\t\tX\n\t\t\tX')" ] || fail "tree with X: [$out]"
vmrun_ok "revert to A/B/X" revertToSnapshot "$vmx" A/B/X
base=0   # the reverted run starts the serial log anew
check_back X "$x_lo" "$x_hi"
echo "ambiguous 'X' refused; revert to A/B/X: back at round $FIRST"
vmrun_ok "delete A/B/X with children" deleteSnapshot "$vmx" A/B/X andDeleteChildren
[ "$(ls "$T"/snap-Snapshot*.vmsn | wc -l)" = 2 ] || fail "the X snapshots' files are left: $(ls "$T")"

# ---- a corrupted .vmsn is refused and the VM runs on
vmsn_a=$T/snap-Snapshot1.vmsn
cp "$vmsn_a" "$T/good.vmsn"
for where in header memory; do
   if [ $where = header ]; then off=200; else off=$(( (20 << 20) + 12345 )); fi
   printf 'X' | dd of="$vmsn_a" bs=1 seek=$off conv=notrunc status=none
   cp "$vmsn_a" "$T/bad.vmsn"
   before=$(last_round)
   if "$VMRUN" revertToSnapshot "$vmx" A >"$T/out" 2>&1; then
      fail "a .vmsn corrupted in its $where was accepted"
   fi
   grep -q "snap-Snapshot1.vmsn" "$T/out" || fail "the refusal does not name the file: $(cat "$T/out")"
   grep -q "left as it was" "$T/out" || fail "the refusal does not say the VM is unchanged: $(cat "$T/out")"
   [ "$(state)" = poweredOn ] || fail "after a refused revert the VM is $(state)"
   cmp -s "$vmsn_a" "$T/bad.vmsn" || fail "the refused .vmsn was changed"
   wait_round_above $((before + 1)) 60
   [ "$(first_round)" -lt "$before" ] || fail "the VM did not keep running after the refused revert"
   echo "corrupt .vmsn ($where) refused: $(head -1 "$T/out" | cut -c1-150)"
   cp "$T/good.vmsn" "$vmsn_a"
done

# ---- delete B: no children left below it (X went), A stays
vmrun_ok "delete B" deleteSnapshot "$vmx" B
[ -e "$T/snap-Snapshot2.vmsn" ] && fail "B's .vmsn is left after deleting B"
out=$("$VMRUN" listSnapshots "$vmx" showTree 2>&1)
[ "$out" = "$(printf 'Total snapshots: 1\nA')" ] || fail "after deleting B: [$out]"
wait_round_above "$(last_round)" 60
echo "deleted B; the guest runs on (from the deleted X's memory, still mapped) at round $R"

# ---- a snapshot of a paused VM reverts to paused
vmrun_ok "pause" pause "$vmx"
take P
p_round=$(last_round)
vmrun_ok "unpause" unpause "$vmx"
wait_round_above $((p_round + 3)) 60
vmrun_ok "revert to P" revertToSnapshot "$vmx" P
base=0   # the reverted run starts the serial log anew
[ "$(state)" = paused ] || fail "after reverting to P (taken paused) the VM is $(state)"
sleep 1
[ -z "$(last_round)" ] || [ "$(last_round)" -le $((p_round + 1)) ] || fail "the guest runs after reverting to a paused snapshot"
vmrun_ok "unpause after revert to P" unpause "$vmx"
check_back P "$p_round" "$p_round"
echo "snapshot P of the paused VM at round $p_round: reverted to paused, went on at $FIRST"

# ---- revert of a suspended VM
vmrun_ok "suspend" suspend "$vmx"
[ "$(state)" = suspended ] || fail "after suspend the VM is $(state)"
vmx_gone || fail "a vmx still runs after suspend"
vmrun_ok "revert a suspended VM to A" revertToSnapshot "$vmx" A
base=0   # the reverted run starts the serial log anew
[ "$(state)" = poweredOn ] || fail "after reverting the suspended VM the VM is $(state)"
[ -e "$vmss" ] && fail "the suspended state is left after the revert"
check_back A "$a_lo" "$a_hi"
echo "suspended VM reverted to A: back at round $FIRST"

# ---- a snapshot of a suspended VM
vmrun_ok "suspend" suspend "$vmx"
vmx_gone || fail "a vmx still runs after suspend"
s_round=$(last_round)
mark
vmrun_ok "snapshot S of the suspended VM" snapshot "$vmx" S "taken while suspended"
[ "$(state)" = suspended ] || fail "after snapshot S the VM is $(state)"
vmx_gone || fail "the vmx started for snapshot S did not quit"
grep -q 'vmws.powerState = "suspended"' "$T/snap.vmsd" || fail "S is not recorded as suspended"
vmrun_ok "resume after snapshot S" start "$vmx" nogui
wait_round_above 0 60
[ "$(first_round)" -gt "$s_round" ] || fail "the resume after snapshot S started at $(first_round), not after $s_round"
wait_round_above $((s_round + 4)) 60
vmrun_ok "revert to S" revertToSnapshot "$vmx" S
mark   # no machine now: the resume appends after this
[ "$(state)" = suspended ] || fail "after reverting to S (taken suspended) the VM is $(state)"
vmx_gone || fail "a vmx still runs after reverting to a suspended snapshot"
[ -s "$vmss" ] || fail "no $vmss after reverting to S"
vmrun_ok "resume S" start "$vmx" nogui
check_back S "$s_round" "$s_round"
echo "snapshot S of the suspended VM at round $s_round: reverted to suspended, resumed at $FIRST"

# ---- a snapshot of a powered-off VM
vmrun_ok "stop" stop "$vmx" hard
vmx_gone || fail "a vmx still runs after stop"
mark
vmrun_ok "snapshot OFF" snapshot "$vmx" OFF
[ "$(state)" = poweredOff ] || fail "after snapshot OFF the VM is $(state)"
vmx_gone || fail "the vmx started for snapshot OFF did not quit"
out=$("$VMRUN" listSnapshots "$vmx" showTree 2>&1)
[ "$out" = "$(printf 'Total snapshots: 4\nA\n\tP\n\tS\n\t\tOFF')" ] || fail "tree from the .vmsd: [$out]"
vmrun_ok "revert to A from powered off" revertToSnapshot "$vmx" A
base=0
check_back A "$a_lo" "$a_hi"
echo "powered-off VM reverted to A: back at round $FIRST"
# Reverting a running VM to a powered-off snapshot powers it off.
vmrun_ok "revert to OFF" revertToSnapshot "$vmx" A/S/OFF
[ "$(state)" = poweredOff ] || fail "after reverting to OFF the VM is $(state)"
vmx_gone || fail "a vmx still runs after reverting to a powered-off snapshot"
[ -e "$vmss" ] && fail "a suspended state exists after reverting to OFF"
# uids: A 1, B 2, X 3 and 4, P 5, S 6, OFF 7.
grep -q 'snapshot.current = "7"' "$T/snap.vmsd" || fail "OFF is not current after reverting to it"

# ---- the whole tree goes
vmrun_ok "delete A with children" deleteSnapshot "$vmx" A andDeleteChildren
out=$("$VMRUN" listSnapshots "$vmx" 2>&1)
[ "$out" = "Total snapshots: 0" ] || fail "after deleting everything: [$out]"
ls "$T"/snap-*.vmsn >/dev/null 2>&1 && fail "state files are left: $(ls "$T"/snap-*.vmsn)"
vmx_gone || fail "a vmx is left running"
check_no_fail
echo "PASS: snapshots, $reverts reverts to A, under the $monitor monitor"
rm -rf "$T"
exit 0
