# tests/vmrun/lib.sh - sourced by the vmrun end-to-end tests: a private
# folder T with its own runtime folder (every vmx started there is killed
# at exit), TAP-like checks, and guest-less VMs.
# usage: . lib.sh NAME   (the folder is /tmp/vmws-NAME-*)
T=$(mktemp -d "/tmp/vmws-$1-XXXXXX")
export XDG_RUNTIME_DIR=$T/run
mkdir -m 700 "$XDG_RUNTIME_DIR"
fails=0
passes=0
cleanup() {
   # Never leave a vmx behind, even when a check failed.
   for s in "$XDG_RUNTIME_DIR"/vmws/*.lock; do
      [ -f "$s" ] && kill -9 "$(cat "$s" 2>/dev/null)" 2>/dev/null
   done
   rm -rf "$T"
}
trap cleanup EXIT

ok() { passes=$((passes + 1)); echo "ok - $1"; }
bad() { fails=$((fails + 1)); echo "not ok - $1"; }
check() { # check NAME EXPECTED ACTUAL
   if [ "$2" == "$3" ]; then ok "$1"; else bad "$1: expected [$2], got [$3]"; fi
}
contains() { # contains NAME NEEDLE HAYSTACK
   case "$3" in *"$2"*) ok "$1" ;; *) bad "$1: [$2] not in [$3]" ;; esac
}
lacks() { # lacks NAME NEEDLE HAYSTACK
   case "$3" in *"$2"*) bad "$1: [$2] in [$3]" ;; *) ok "$1" ;; esac
}
mkvm() { # mkvm NAME EXTRA-LINES: T/NAME/NAME.vmx with no guest; prints its path
   mkdir -p "$T/$1"
   printf '.encoding = "UTF-8"\ndisplayName = "%s"\nmemsize = "32"\nnumvcpus = "1"\n%b' "$1" "${2:-}" > "$T/$1/$1.vmx"
   echo "$T/$1/$1.vmx"
}
