#!/bin/bash
# run-fuzzers.sh BUILD_DIR SECONDS [TARGET...]
#
# Runs each libFuzzer target of BUILD_DIR (configured with CC=clang and
# -Dfuzzing=true) for SECONDS, on a temporary copy of its seeds
# (tests/fuzz/corpus/TARGET/ plus what gen-vmdb-seeds writes), with its
# dictionary. Without TARGET arguments, every target tests/fuzz/meson.build
# declares is run. Fails if any target crashes, leaks, hangs, runs out of
# memory or reports a property violation; the input that did it is kept in
# BUILD_DIR/fuzz-artifacts/ with the target's log.
#
# The targets are built first (only them), unless VMWS_FUZZ_NO_BUILD=1.
set -euo pipefail

if [ $# -lt 2 ]; then
   echo "usage: $0 BUILD_DIR SECONDS [TARGET...]" >&2
   exit 2
fi
build=$(cd "$1" && pwd)
secs=$2
shift 2
case $secs in
   '' | *[!0-9]*) echo "$0: SECONDS must be a whole number, got '$secs'" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)

# Every executable target declared in tests/fuzz, with its output path.
list_targets() {
   meson introspect "$build" --targets | python3 -c '
import json, os, sys
for t in json.load(sys.stdin):
    if t["type"] != "executable" or not t["name"].startswith("fuzz-"):
        continue
    if os.path.normpath(os.path.dirname(t["defined_in"])).endswith(os.path.join("tests", "fuzz")):
        print(t["name"], t["filename"][0])
'
}

declare -A path_of=()
while read -r name path; do
   path_of[$name]=$path
done < <(list_targets)
if [ ${#path_of[@]} -eq 0 ]; then
   echo "$0: $build has no fuzz targets: configure it with CC=clang meson setup $1 -Dfuzzing=true" >&2
   exit 2
fi

if [ $# -gt 0 ]; then
   targets=("$@")
else
   mapfile -t targets < <(printf '%s\n' "${!path_of[@]}" | sort)
fi
for t in "${targets[@]}"; do
   if [ -z "${path_of[$t]:-}" ]; then
      echo "$0: no fuzz target '$t' in $build (have: ${!path_of[*]})" >&2
      exit 2
   fi
done

gen=$build/tests/fuzz/gen-vmdb-seeds
if [ "${VMWS_FUZZ_NO_BUILD:-0}" != 1 ]; then
   outs=()
   for t in "${targets[@]}"; do
      outs+=("$(realpath --relative-to="$build" "${path_of[$t]}")")
   done
   outs+=("$(realpath --relative-to="$build" "$gen")")
   ninja -C "$build" "${outs[@]}" >/dev/null
fi

artifacts=$build/fuzz-artifacts
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/vmws-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Generated seeds (always match the current wire format).
if [ -x "$gen" ]; then
   "$gen" "$work/gen" >/dev/null
fi

# Sanitizers: stop at the first error, with a stack; GLib on plain malloc
# so ASan sees its memory too.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export G_SLICE=always-malloc
export G_DEBUG=gc-friendly

failed=()
for t in "${targets[@]}"; do
   corpus=$work/corpus-$t
   mkdir -p "$corpus"
   if [ -d "$here/corpus/$t" ]; then
      cp -R "$here/corpus/$t/." "$corpus/"
   fi
   if [ -d "$work/gen/$t" ]; then
      cp -R "$work/gen/$t/." "$corpus/"
   fi
   seeds=$(find "$corpus" -type f | wc -l)
   # fuzz-vmdb-wire -> vmdb.dict, fuzz-vmx-config -> vmx.dict
   module=${t#fuzz-}
   module=${module%%-*}
   dict=()
   for d in "$here/$t.dict" "$here/$module.dict"; do
      if [ -f "$d" ]; then
         dict=(-dict="$d")
         break
      fi
   done
   log=$artifacts/$t.log
   echo "== $t: ${secs}s, $seeds seeds${dict:+, ${dict[0]#-dict=}}"
   rc=0
   "${path_of[$t]}" "${dict[@]}" \
      -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
      -print_final_stats=1 -artifact_prefix="$artifacts/$t-" \
      "$corpus" >"$log" 2>&1 || rc=$?
   grep -E '^(#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" | sed 's/^/   /' || true
   if [ $rc -ne 0 ]; then
      echo "   FAILED (exit $rc); log: $log"
      # the report, and the stack frames in our own sources
      grep -E 'ERROR: |FUZZ PROPERTY VIOLATED|SUMMARY: |Test unit written to|^[[:space:]]+#[0-9]+ 0x[0-9a-f]+ in [^ ]+ [^ ]*(/lib/|/vmx/|/tests/fuzz/)[^ ]*\.[ch]' "$log" |
         head -30 | sed 's/^/   /'
      failed+=("$t")
   else
      echo "   ok: $(find "$corpus" -type f | wc -l) corpus entries at the end"
   fi
done

if [ ${#failed[@]} -gt 0 ]; then
   echo "fuzz targets that failed: ${failed[*]}"
   exit 1
fi
echo "all ${#targets[@]} fuzz targets ran ${secs}s without a failure"
