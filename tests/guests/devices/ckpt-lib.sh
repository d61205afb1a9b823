# tests/guests/devices/ckpt-lib.sh - sourced by run-ckpt.sh,
# run-ckpt-kill.sh and run-snapshot.sh: the environment they share, a VM
# for the kit ckpt guest (ckpt.c) in a private folder, and reading its
# serial log.
#
# Environment: VMRUN, VMWS_VMX, VMWS_MONITOR (hardware | software, default
# software).
VMRUN=${VMRUN:?set VMRUN to the vmrun binary}
: "${VMWS_VMX:?set VMWS_VMX to the vmx binary}"
export VMWS_VMX
monitor=${VMWS_MONITOR:-software}

# Exit 77 unless /dev/kvm can be opened.
ckpt_need_kvm() {
   if ! { exec 3<>/dev/kvm; } 2>/dev/null; then
      echo "SKIP: /dev/kvm is missing or not usable (the test needs the KVM monitor)"
      exit 77
   fi
   exec 3>&-
}

# ckpt_make_vm NAME IMAGE MEMSIZE_MB CKPT_MB: a fresh folder T (with the
# runtime folder in it), and in it NAME.vmx (vmx) for the ckpt guest
# checking CKPT_MB MiB of memory every round, COM1 to serial0.log; vmss is
# where its suspended state goes.
ckpt_make_vm() {
   T=$(mktemp -d "${TMPDIR:-/tmp}/vmws-$1-XXXXXX")
   export XDG_RUNTIME_DIR=$T/run
   mkdir -m 700 "$XDG_RUNTIME_DIR"
   vmx=$T/$1.vmx
   vmss=$T/$1.vmss
   cat >"$vmx" <<VMX
.encoding = "UTF-8"
displayName = "$1"
memsize = "$3"
numvcpus = "1"
monitor.virtual_exec = "$monitor"
linux.kernel = "$2"
linux.entry = "multiboot"
linux.cmdline = "ckpt.mb=$4 ckpt.rounds=1000000"
serial0.present = "TRUE"
serial0.fileType = "file"
serial0.fileName = "serial0.log"
VMX
}

# The serial log is emptied when a run starts (power-on, a revert that
# runs the guest: set base=0 then) and appended to on resume: since_mark
# gives what the guest wrote since the last mark.
base=0
mark() { base=$(stat -c %s "$T/serial0.log" 2>/dev/null || echo 0); }
since_mark() { tail -c +$((base + 1)) "$T/serial0.log" 2>/dev/null; }
