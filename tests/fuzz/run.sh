#!/usr/bin/env bash
# Builds one libFuzzer target into build-fuzz/ (clang, ASan + UBSan; incremental, ccache),
# replays its committed regressions, then fuzzes a scratch copy of its seed corpus.
#
#   tests/fuzz/run.sh TARGET [SECONDS]     TARGET: gguf | template | json_request | format
#
# SECONDS defaults to $OLLAMA_FUZZ_SECONDS, else 60; 0 only builds and replays. Exit status:
# 0 clean, 1 a finding (the reproducer's path is printed), 2 usage or build error, 77 clang++
# absent (CTest reports a skip). Extra libFuzzer flags: $OLLAMA_FUZZ_FLAGS.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
target="${1:-}"
seconds="${2:-${OLLAMA_FUZZ_SECONDS:-60}}"
case "$target" in
  gguf) max_len=16384 dict=gguf.dict ;;
  template) max_len=8192 dict=template.dict ;;
  json_request) max_len=16384 dict=json.dict ;;
  format) max_len=4096 dict=format.dict ;;
  *) echo "usage: $0 gguf|template|json_request|format [seconds]" >&2; exit 2 ;;
esac
[[ "$seconds" =~ ^[0-9]+$ ]] || { echo "seconds must be a whole number: $seconds" >&2; exit 2; }

cxx="${OLLAMA_FUZZ_CXX:-}"
if [ -z "$cxx" ]; then
  for c in clang++-14 clang++; do
    if command -v "$c" >/dev/null; then cxx="$(command -v "$c")"; break; fi
  done
fi
if [ -z "$cxx" ]; then
  echo "SKIP: clang++ not found (scripts/install-deps.sh installs clang-14 and libFuzzer)"
  exit 77
fi

build="$root/build-fuzz"
mkdir -p "$build"
# One build and one fuzzer at a time: the machine has few cores and build-fuzz/ is shared.
exec 9>"$build/.lock"
flock 9

log="$build/build.log"
if [ ! -f "$build/CMakeCache.txt" ] || ! grep -q "CMAKE_CXX_COMPILER:[A-Z]*=$cxx\$" \
    "$build/CMakeCache.txt"; then
  rm -rf "$build/CMakeCache.txt" "$build/CMakeFiles"
  if ! cmake -S "$here" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" >"$log" 2>&1; then
    cat "$log"; echo "fuzz build: cmake configure failed" >&2; exit 2
  fi
fi
start=$SECONDS
if ! cmake --build "$build" --target "fuzz_$target" -j"${OLLAMA_FUZZ_JOBS:-2}" >"$log" 2>&1; then
  cat "$log"; echo "fuzz build: fuzz_$target failed to build" >&2; exit 2
fi
echo "built $build/fuzz_$target ($((SECONDS - start)) s)"

bin="$build/fuzz_$target"
work="$build/work/$target"
run_id="$(date +%Y%m%d-%H%M%S)"
artifacts="$work/artifacts-$run_id"
mkdir -p "$artifacts"
# Symbolized stacks: Debian's llvm-14 ships only the versioned name.
if [ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && ! command -v llvm-symbolizer >/dev/null &&
    command -v llvm-symbolizer-14 >/dev/null; then
  export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer-14)"
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
if [ -f "$here/lsan.supp" ]; then
  export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$here/lsan.supp:print_suppressions=0}"
fi
# No -max_len here: libFuzzer would cut replayed files to it.
flags=(-rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=10 -artifact_prefix="$artifacts/"
  ${OLLAMA_FUZZ_FLAGS:-})

# Prints the sanitizer report of a failed run and where its reproducer is ($2: the input run).
report() {
  local out="$1" repro="${2:-}"
  awk '/==[0-9]+== ?ERROR|ERROR: libFuzzer|runtime error:|deadly signal/ {on = 1}
       on && n++ < 60' "$out"
  grep -m1 '^SUMMARY:' "$out" || true
  [ -n "$repro" ] ||
    repro="$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$out" | tail -n1)"
  echo "FINDING in fuzz_$target; reproducer: ${repro:-see the log above}"
  echo "  replay:   $bin ${repro:-FILE}"
  echo "  minimize: $bin -minimize_crash=1 -runs=100000 ${repro:-FILE}"
  [ -n "${2:-}" ] || echo "  keep it:  cp MINIMIZED_FILE $here/regressions/$target/KIND-WHAT"
  echo "  full log: $out"
}

# 1. Regressions: every committed reproducer must now pass. All are replayed and reported, and
# fuzzing still runs, so one run shows every open finding.
failed=0
mapfile -t regressions < <(find "$here/regressions/$target" -type f ! -name '*.md' 2>/dev/null |
  sort)
for r in "${regressions[@]}"; do
  out="$work/replay-$(basename "$r").log"
  if ! "$bin" "${flags[@]}" "$r" >"$out" 2>&1; then
    report "$out" "$r"
    failed=1
  fi
done
if ((${#regressions[@]})); then
  echo "replayed ${#regressions[@]} regression input(s): $( ((failed)) && echo FAILED || echo ok)"
fi
((seconds > 0)) || exit "$failed"

# 2. Fuzz a scratch copy of the seeds, so new corpus entries never touch the source tree.
rm -rf "$work/corpus"
mkdir -p "$work/corpus"
cp "$here/corpus/$target/"* "$work/corpus/"
ls -t "$work"/fuzz-*.log 2>/dev/null | tail -n +10 | xargs -r rm -f || true  # keep recent logs
out="$work/fuzz-$run_id.log"
echo "fuzzing fuzz_$target for $seconds s (log: $out)"
if "$bin" "${flags[@]}" -max_len="$max_len" -dict="$here/$dict" -max_total_time="$seconds" \
    -print_final_stats=1 "$work/corpus" >"$out" 2>&1; then
  runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$out")"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out")"
  echo "clean: ${runs:-?} executions, ${rate:-?} exec/s, corpus $(ls "$work/corpus" | wc -l) inputs"
  rmdir "$artifacts" 2>/dev/null || true
  exit "$failed"
fi
report "$out"
exit 1
