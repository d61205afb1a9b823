#!/bin/bash
# End-to-end test of vmrun's snapshot commands on VMs without a guest
# (memory snapshots of a running guest: tests/guests/devices/run-snapshot.sh):
# snapshots of a powered-off VM made through a vmx that vmrun starts and
# stops, listSnapshots from the .vmsd and from VMDB, a VMware-made .vmsd,
# hostile .vmsd files refused with the key named, the .vmx put back by a
# revert, names and paths, usage errors, and no vmx left behind.
# usage: test-vmrun-snapshot.sh VMRUN
set -u
VMRUN=$1
. "$(dirname "$0")/lib.sh" vmrun-snap
none_running() { check "$1: no vmx left running" "Total running VMs: 0" "$($VMRUN list)"; }

# ---- a powered-off VM, no vmx running
A=$(mkvm a)
check "no snapshots" "Total snapshots: 0" "$($VMRUN listSnapshots "$A")"
$VMRUN snapshot "$A" base "the first one"; check "snapshot of a powered-off VM" 0 $?
none_running "after snapshot"
check "state unchanged" poweredOff "$($VMRUN getState "$A")"
[ -s "$T/a/a-Snapshot1.vmsn" ] && ok "state file a-Snapshot1.vmsn" || bad "state file a-Snapshot1.vmsn"
vmsd=$(cat "$T/a/a.vmsd")
contains ".vmsd names the file" 'snapshot0.filename = "a-Snapshot1.vmsn"' "$vmsd"
contains ".vmsd has the description" 'snapshot0.description = "the first one"' "$vmsd"
contains ".vmsd has the state" 'snapshot0.vmws.powerState = "poweredOff"' "$vmsd"
contains ".vmsd has no disks yet" 'snapshot0.numDisks = "0"' "$vmsd"
contains ".vmsd current" 'snapshot.current = "1"' "$vmsd"
$VMRUN snapshot "$A" "with spaces & ü"
$VMRUN snapshot "$A" leaf
check "showTree" "$(printf 'Total snapshots: 3\nbase\n\twith spaces & ü\n\t\tleaf')" \
   "$($VMRUN listSnapshots "$A" showTree)"
check "flat list" "$(printf 'Total snapshots: 3\nbase\nwith spaces & ü\nleaf')" \
   "$($VMRUN listSnapshots "$A")"

# A revert puts the .vmx back as it was when the snapshot was taken.
sed -i 's/^memsize = .*/memsize = "48"/' "$A"
echo 'added.later = "x"' >>"$A"
$VMRUN revertToSnapshot "$A" base; check "revert to base" 0 $?
none_running "after revert to a powered-off snapshot"
check "revert restores the .vmx" "$(printf '.encoding = "UTF-8"\ndisplayName = "a"\nmemsize = "32"\nnumvcpus = "1"\n')" "$(cat "$A")"
contains "base is current" 'snapshot.current = "1"' "$(cat "$T/a/a.vmsd")"
# A new snapshot is a child of the current one.
$VMRUN snapshot "$A" leaf
check "tree after revert and snapshot" "$(printf 'Total snapshots: 4\nbase\n\twith spaces & ü\n\t\tleaf\n\tleaf')" \
   "$($VMRUN listSnapshots "$A" showTree)"
out=$($VMRUN revertToSnapshot "$A" leaf 2>&1); rc=$?
check "ambiguous name fails" 1 "$rc"
contains "ambiguous name says so" "'leaf' is ambiguous: 2 snapshots have it" "$out"
$VMRUN revertToSnapshot "$A" "base/with spaces & ü/leaf"; check "revert by path" 0 $?
contains "path target is current" 'snapshot.current = "3"' "$(cat "$T/a/a.vmsd")"
out=$($VMRUN deleteSnapshot "$A" nosuch 2>&1); rc=$?
check "delete of an unknown name fails" 1 "$rc"
contains "unknown name says so" "there is no snapshot named 'nosuch'" "$out"
none_running "after refused requests"

# Delete: children move up; andDeleteChildren takes the subtree.
$VMRUN deleteSnapshot "$A" "with spaces & ü"; check "delete a middle snapshot" 0 $?
check "its child moved up" "$(printf 'Total snapshots: 3\nbase\n\tleaf\n\tleaf')" \
   "$($VMRUN listSnapshots "$A" showTree)"
[ -e "$T/a/a-Snapshot2.vmsn" ] && bad "deleted snapshot's file removed" || ok "deleted snapshot's file removed"
contains "current stays (it was not the deleted one)" 'snapshot.current = "3"' "$(cat "$T/a/a.vmsd")"
$VMRUN deleteSnapshot "$A" base andDeleteChildren; check "delete with children" 0 $?
check "nothing left" "Total snapshots: 0" "$($VMRUN listSnapshots "$A")"
check "no state files left" "" "$(cd "$T/a" && ls *.vmsn 2>/dev/null)"
lacks "no current left" 'snapshot.current' "$(cat "$T/a/a.vmsd")"
contains "uids are not reused" 'snapshot.lastUID = "4"' "$(cat "$T/a/a.vmsd")"
none_running "after deletes"

# ---- a running VM without a guest: the tree comes from VMDB
$VMRUN snapshot "$A" off1
$VMRUN start "$A" nogui
check "listSnapshots from VMDB" "$(printf 'Total snapshots: 1\noff1')" "$($VMRUN listSnapshots "$A" showTree)"
out=$($VMRUN snapshot "$A" on1 2>&1); rc=$?
check "snapshot of a running idle machine fails" 1 "$rc"
contains "and says why" "runs no guest: there is no state to save" "$out"
check "it keeps running" poweredOn "$($VMRUN getState "$A")"
check "no snapshot added" "$(printf 'Total snapshots: 1\noff1')" "$($VMRUN listSnapshots "$A")"
$VMRUN writeVariable "$A" runtimeConfig annotation "changed while on"
$VMRUN revertToSnapshot "$A" off1; check "revert a running VM to a powered-off snapshot" 0 $?
check "it is powered off" poweredOff "$($VMRUN getState "$A")"
for i in $(seq 50); do [ "$($VMRUN list)" = "Total running VMs: 0" ] && break; sleep 0.1; done
none_running "after reverting a running VM to a powered-off snapshot"
lacks "the runtime change is gone from the .vmx" "annotation" "$(cat "$A")"

# ---- a VMware-made .vmsd (written from the documented layout)
W=$(mkvm w)
cat >"$T/w/w.vmsd" <<'EOF'
.encoding = "UTF-8"
snapshot.lastUID = "7"
snapshot.current = "7"
snapshot.mru0.uid = "7"
snapshot.numMRU = "1"
snapshot0.uid = "3"
snapshot0.filename = "w-Snapshot3.vmsn"
snapshot0.displayName = "Clean |22install|22"
snapshot0.type = "1"
snapshot0.createTimeHigh = "385671"
snapshot0.createTimeLow = "-1532215296"
snapshot0.numDisks = "1"
snapshot0.disk0.fileName = "w.vmdk"
snapshot0.disk0.node = "scsi0:0"
snapshot1.uid = "7"
snapshot1.filename = "w-Snapshot7.vmsn"
snapshot1.parent = "3"
snapshot1.displayName = "Patched"
snapshot1.createTimeHigh = "385700"
snapshot1.createTimeLow = "12345"
snapshot1.numDisks = "1"
snapshot1.disk0.fileName = "w-000001.vmdk"
snapshot1.disk0.node = "scsi0:0"
snapshot.numSnapshots = "2"
EOF
check "VMware-made .vmsd" "$(printf 'Total snapshots: 2\nClean "install"\n\tPatched')" \
   "$($VMRUN listSnapshots "$W" showTree)"
echo "not our format" >"$T/w/w-Snapshot7.vmsn"
out=$($VMRUN revertToSnapshot "$W" Patched 2>&1); rc=$?
check "revert to a state file we cannot read fails" 1 "$rc"
contains "and names the file" "w-Snapshot7.vmsn" "$out"
contains "and leaves the VM" "left as it was" "$out"
$VMRUN snapshot "$W" ours; check "snapshot beside VMware's" 0 $?
vmsd=$(cat "$T/w/w.vmsd")
contains "VMware's disk keys kept" 'snapshot0.disk0.fileName = "w.vmdk"' "$vmsd"
contains "VMware's type key kept" 'snapshot0.type = "1"' "$vmsd"
contains "VMware's MRU kept" 'snapshot.numMRU = "1"' "$vmsd"
contains "new uid after lastUID" 'snapshot2.uid = "8"' "$vmsd"
contains "new one under the current" 'snapshot2.parent = "7"' "$vmsd"
contains "time as VMware writes it" 'snapshot0.createTimeLow = "-1532215296"' "$vmsd"
none_running "after the VMware-made .vmsd"

# ---- hostile .vmsd files: refused, the key named, nothing changed
H=$(mkvm h)
hostile() { # hostile NAME CONTENT NEEDLE
   printf '%b' "$2" >"$T/h/h.vmsd"
   local out rc before
   before=$(cat "$T/h/h.vmsd")
   out=$($VMRUN listSnapshots "$H" 2>&1); rc=$?
   check "$1: listSnapshots fails" 1 "$rc"
   contains "$1: names file and key" "h.vmsd$3" "$out"
   out=$($VMRUN snapshot "$H" x 2>&1); rc=$?
   check "$1: snapshot fails" 1 "$rc"
   contains "$1: snapshot says why" "$3" "$out"
   check "$1: file untouched" "$before" "$(cat "$T/h/h.vmsd")"
}
hostile "path in filename" 'snapshot.numSnapshots = "1"\nsnapshot0.uid = "1"\nsnapshot0.filename = "../../x"\n' \
   ': snapshot0.filename = "../../x": the state file must be a file name'
hostile "cycle" 'snapshot.numSnapshots = "2"\nsnapshot0.uid = "1"\nsnapshot0.parent = "2"\nsnapshot1.uid = "2"\nsnapshot1.parent = "1"\n' \
   ': snapshot0.parent = "2": the parents form a cycle'
hostile "dangling parent" 'snapshot.numSnapshots = "1"\nsnapshot0.uid = "1"\nsnapshot0.parent = "5"\n' \
   ': snapshot0.parent = "5": no snapshot has uid 5'
hostile "duplicate uid" 'snapshot.numSnapshots = "2"\nsnapshot0.uid = "1"\nsnapshot1.uid = "1"\n' \
   ': snapshot1.uid = "1": snapshot0 has the same uid'
hostile "bad number" 'snapshot.numSnapshots = "1"\nsnapshot0.uid = "1x"\n' \
   ': snapshot0.uid = "1x": expected a number'
hostile "bad line" 'snapshot.numSnapshots = "1\n' ":1: unterminated quoted value"
none_running "after hostile files"

# ---- usage
$VMRUN listSnapshots "$A" bogus >/dev/null 2>&1; check "listSnapshots bad option" 2 $?
$VMRUN deleteSnapshot "$A" x bogus >/dev/null 2>&1; check "deleteSnapshot bad option" 2 $?
$VMRUN snapshot "$A" >/dev/null 2>&1; check "snapshot without a name" 2 $?
out=$($VMRUN snapshot "$A" "a/b" 2>&1); rc=$?
check "name with a slash fails" 1 "$rc"
contains "and says why" "contains '/'" "$out"
out=$($VMRUN listSnapshots "$T/nope.vmx" 2>&1); rc=$?
check "missing .vmx" 1 "$rc"
none_running "at the end"

echo "$passes passed, $fails failed"
[ $fails -eq 0 ]
