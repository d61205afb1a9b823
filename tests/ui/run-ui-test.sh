#!/bin/bash
# tests/ui/run-ui-test.sh TEST [ARGS...] - run one UI test of the vmws
# application (TEST.py, or a test program) in a private display server and
# desktop session:
#
#   Xvfb (a free display number), a session D-Bus (dbus-launch), the
#   accessibility bus (at-spi-bus-launcher), toolkit-accessibility on, and
#   a private HOME and XDG folders, so the user's VM library and settings
#   are never read or written. The test runs under Debian's /usr/bin/python3
#   (which has dogtail) and drives the app through AT-SPI and XTest.
#
# Environment (set by tests/ui/meson.build): VMWS_UI (the vmws program),
# VMWS_VMX, VMWS_VMRUN, VMWS_UI_ARTIFACTS (where screenshots go; they are
# kept), VMWS_SOURCE_ROOT. VMWS_UI_KEEP=1 keeps the temporary folder.
# VMWS_UI_SCREEN: the display's size and depth (default 1280x1024x24; the
# console benchmark, tests/bench/console, needs room for 1920x1080).
#
# Exit: the test's status; 77 (skip) with the reason when something this
# needs is missing.
set -u

skip() {
   case " $* $ARGS " in
      *" --tap "*) echo "1..0 # SKIP $*" ;;   # a TAP test program
      *) echo "SKIP: $*" ;;
   esac
   exit 77
}

[ $# -ge 1 ] || { echo "usage: $0 TEST.py|PROGRAM [ARGS...]" >&2; exit 2; }
TEST=$1
shift
ARGS="$*"

PY=/usr/bin/python3
for prog in Xvfb dbus-launch gsettings import xdotool; do
   command -v "$prog" >/dev/null || skip "$prog is not installed (./vmws-dev installs the UI test packages)"
done
[ -x /usr/libexec/at-spi-bus-launcher ] || skip "at-spi2-core is not installed"
[ -x "$PY" ] || skip "$PY is missing"
"$PY" -c 'import pyatspi' 2>/dev/null || skip "python3-pyatspi is not installed"
"$PY" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("dogtail") is None)' \
   2>/dev/null || skip "python3-dogtail is not installed"
[ -n "${VMWS_UI:-}" ] && [ -x "$VMWS_UI" ] || skip "the vmws program was not built (GTK 4 missing?)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/vmws-ui-XXXXXX")
export HOME=$WORK/home
export XDG_CONFIG_HOME=$HOME/.config XDG_DATA_HOME=$HOME/.local/share XDG_CACHE_HOME=$HOME/.cache
export XDG_RUNTIME_DIR=$WORK/run
mkdir -p "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
mkdir -m 700 "$XDG_RUNTIME_DIR"
export VMWS_UI_WORK=$WORK
export VMWS_UI_ARTIFACTS=${VMWS_UI_ARTIFACTS:-$WORK/artifacts}
mkdir -p "$VMWS_UI_ARTIFACTS"
# Only this run's pictures and logs in the test's artifact folder.
rm -f "$VMWS_UI_ARTIFACTS"/*.png "$VMWS_UI_ARTIFACTS"/vmws-*.log
# dogtail makes its default folders in /tmp/dogtail-$LOGNAME when it is
# imported: a name of this run's own, removed at the end.
export LOGNAME=$(basename "$WORK")
# Nothing from the caller's desktop.
unset WAYLAND_DISPLAY DBUS_SESSION_BUS_ADDRESS SESSION_MANAGER GTK_MODULES
export GDK_BACKEND=x11 NO_AT_BRIDGE=0 GTK_A11Y=atspi LC_ALL=C.UTF-8

PIDS=()
cleanup() {
   # VMs the test left running (only ours: their .vmx are under $WORK).
   if [ -n "${VMWS_VMRUN:-}" ] && [ -x "$VMWS_VMRUN" ]; then
      "$VMWS_VMRUN" list 2>/dev/null | grep "^$WORK/" | while read -r vmx; do
         "$VMWS_VMRUN" stop "$vmx" hard >/dev/null 2>&1
      done
   fi
   for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
      kill "${PIDS[$i]}" 2>/dev/null
   done
   for p in "${PIDS[@]}"; do
      for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
      kill -9 "$p" 2>/dev/null
   done
   if [ -n "${DBUS_SESSION_BUS_PID:-}" ]; then
      kill "$DBUS_SESSION_BUS_PID" 2>/dev/null
   fi
   rm -rf "/tmp/dogtail-$LOGNAME"
   if [ "${VMWS_UI_KEEP:-0}" = 1 ]; then
      echo "kept: $WORK"
   else
      rm -rf "$WORK"
   fi
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# The display server, on a free display number (it writes the number to
# fd 5: a FIFO opened read-write, so neither side blocks on opening it).
mkfifo "$WORK/displayfd"
exec 5<>"$WORK/displayfd"
Xvfb -displayfd 5 -screen 0 "${VMWS_UI_SCREEN:-1280x1024x24}" -nolisten tcp -noreset >"$WORK/xvfb.log" 2>&1 &
PIDS+=($!)
DISPLAY_NUM=
# One read of up to 60 s (on a loaded 2-core machine Xvfb has taken over 10
# s to start): polling with short read timeouts can split the line, and a
# timed-out read keeps the part it got, so the number was lost.
read -r -t 60 DISPLAY_NUM <&5 || DISPLAY_NUM=
[ -n "$DISPLAY_NUM" ] || { cat "$WORK/xvfb.log"; echo "FAIL: Xvfb did not start"; exit 1; }
export DISPLAY=:$DISPLAY_NUM

# The session bus and the accessibility bus.
eval "$(dbus-launch --sh-syntax)"
[ -n "${DBUS_SESSION_BUS_ADDRESS:-}" ] || { echo "FAIL: dbus-launch did not start a bus"; exit 1; }
gsettings set org.gnome.desktop.interface toolkit-accessibility true
/usr/libexec/at-spi-bus-launcher --launch-immediately >"$WORK/atspi.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
   dbus-send --session --print-reply --dest=org.a11y.Bus /org/a11y/bus org.a11y.Bus.GetAddress \
      >/dev/null 2>&1 && break
   sleep 0.1
done

echo "display $DISPLAY, work folder $WORK, artifacts $VMWS_UI_ARTIFACTS" >&2
case $TEST in
   *.py) "$PY" "$TEST" "$@" ;;
   *) "$TEST" "$@" ;;
esac
rc=$?
exit $rc
