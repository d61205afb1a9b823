#!/bin/bash
# End-to-end test of vmrun and the vmx process: power operations, state in
# VMDB, variables, errors that name the key, the log, and clean exits.
# usage: test-vmrun.sh VMRUN
set -u
VMRUN=$1
. "$(dirname "$0")/lib.sh" vmrun

A=$(mkvm a 'Future.Key = "kept as is"\n')
check "getState of a VM that never ran" poweredOff "$($VMRUN getState "$A")"
out=$($VMRUN start "$A" nogui 2>&1); rc=$?
check "start exits 0" 0 "$rc"
check "start prints nothing for nogui" "" "$out"
check "getState after start" poweredOn "$($VMRUN getState "$A")"
out=$($VMRUN list)
check "list" "Total running VMs: 1
$A" "$out"
out=$($VMRUN start "$A" nogui 2>&1); rc=$?
check "second start fails" 1 "$rc"
contains "second start says why" "already running" "$out"
check "readVariable runtimeConfig (case-insensitive key)" "a" "$($VMRUN readVariable "$A" runtimeConfig DISPLAYNAME)"
$VMRUN writeVariable "$A" runtimeConfig annotation 'quote " pipe |'
check "writeVariable runtimeConfig reads back" 'quote " pipe |' "$($VMRUN readVariable "$A" runtimeConfig annotation)"
contains "writeVariable runtimeConfig saved with VMware escapes" 'annotation = "quote |22 pipe |7C"' "$(cat "$A")"
contains "unknown key kept" 'Future.Key = "kept as is"' "$(cat "$A")"
$VMRUN writeVariable "$A" guestVar color blue
check "guestVar round trip" blue "$($VMRUN readVariable "$A" guestVar color)"
out=$($VMRUN readVariable "$A" guestVar nosuch 2>&1); rc=$?
check "unset guestVar fails" 1 "$rc"
contains "unset guestVar says so" "is not set" "$out"
$VMRUN pause "$A"
check "pause" paused "$($VMRUN getState "$A")"
out=$($VMRUN pause "$A" 2>&1); rc=$?
check "pause twice fails" 1 "$rc"
contains "pause twice says why" "cannot pause: the virtual machine is paused" "$out"
$VMRUN unpause "$A"
check "unpause" poweredOn "$($VMRUN getState "$A")"
$VMRUN reset "$A" hard
check "reset keeps it on" poweredOn "$($VMRUN getState "$A")"
out=$($VMRUN suspend "$A" 2>&1); rc=$?
check "suspend of an idle machine fails" 1 "$rc"
contains "suspend of an idle machine says why" "runs no guest: there is no state to save" "$out"
check "suspend failure leaves it running" poweredOn "$($VMRUN getState "$A")"
pid=$(cat "$XDG_RUNTIME_DIR"/vmws/*.lock)
$VMRUN stop "$A" hard; rc=$?
check "stop hard" 0 "$rc"
check "state after stop" poweredOff "$($VMRUN getState "$A")"
for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then bad "vmx exits after power off"; else ok "vmx exits after power off"; fi
check "no sockets left" "" "$(ls "$XDG_RUNTIME_DIR/vmws")"
log=$(cat "$T/a/vmware.log")
contains "log has the power states" "Power state: poweringOn -> poweredOn" "$log"
contains "log has the stop" "Power state: poweringOff -> poweredOff" "$log"
contains "log names the request" "Request #c" "$log"

# Second run rotates the log.
$VMRUN start "$A" nogui && $VMRUN stop "$A" soft
check "soft stop of an idle machine powers off" poweredOff "$($VMRUN getState "$A")"
[ -f "$T/a/vmware-0.log" ] && ok "log rotated to vmware-0.log" || bad "log rotated to vmware-0.log"

# Errors.
out=$($VMRUN stop "$A" 2>&1); rc=$?
check "stop when off fails" 1 "$rc"
contains "stop when off says why" "not powered on" "$out"
B=$(mkvm b 'numvcpus = "0"\n')
out=$($VMRUN start "$B" nogui 2>&1); rc=$?
check "numvcpus 0 fails" 1 "$rc"
contains "numvcpus 0 names the key" 'numvcpus = "0": must be between 1 and 64' "$out"
check "numvcpus 0 VM ends poweredOff" poweredOff "$($VMRUN getState "$B")"
contains "numvcpus error is in the log" 'numvcpus = "0"' "$(cat "$T/b/vmware.log")"
C=$(mkvm c 'memsize = "99999996"\n')
out=$($VMRUN start "$C" nogui 2>&1); rc=$?
check "huge memsize fails" 1 "$rc"
contains "huge memsize names the key" 'memsize = "99999996": larger than this host' "$out"
D=$(mkvm d 'broken line here\n')
out=$($VMRUN start "$D" nogui 2>&1); rc=$?
check "bad config line fails" 1 "$rc"
contains "bad config line names file:line" "d.vmx:5: expected '=' after the key" "$out"
contains "bad config line is in the log" "d.vmx:5: expected '=' after the key" "$(cat "$T/d/vmware.log")"
out=$($VMRUN start "$T/nope.vmx" 2>&1); rc=$?
check "missing file fails" 1 "$rc"
contains "missing file says so" "No such file" "$out"
out=$($VMRUN frobnicate 2>&1); rc=$?
check "unknown command is a usage error" 2 "$rc"
check "no vmx left running" "Total running VMs: 0" "$($VMRUN list)"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
