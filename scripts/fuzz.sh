#!/usr/bin/env bash
# Builds and runs ds-optimize's libFuzzer targets (FUZZING.md):
#   scripts/fuzz.sh [TARGET|all] [MINUTES]   build, then fuzz each target in turn
#   scripts/fuzz.sh build                    only install clang-22 + build
# TARGET: onnx_import, datasets, artifact (default all); MINUTES default 30.
# Env: DS_FUZZ_BUILD_DIR, DS_JOBS (build jobs, 2), DS_FUZZ_NO_BUILD=1 (skip the
# build step), DS_FUZZ_ARTIFACT=DIR (an artifact whose manifest.json joins the seeds).
# Installs clang-22 + libclang-rt-22-dev when missing, configures a separate
# build dir (DS_FUZZ_BUILD_DIR, default build-fuzz/) with clang-22 and
# -fsanitize=fuzzer-no-link,address,undefined on the project's own code (the
# system MLIR/ONNX/protobuf stay uninstrumented), and builds only the fuzz
# targets. Per target, under BUILD/fuzz/TARGET/: corpus/ (grows), crashes/
# (reproducers: crash-*, timeout-*, oom-*, leak-*), extra-seeds/, fuzz.log.
# Ends with one summary line per target; exit 1 if any target crashed.
set -euo pipefail
# All in one function: bash parses it whole before running, so editing this
# file while a long run is going does not change what that run does.
main() {
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}"
JOBS="${DS_JOBS:-2}"
ALL_TARGETS=(onnx_import datasets artifact)

what="${1:-all}"
minutes="${2:-30}"
case "$what" in
  build|all) targets=("${ALL_TARGETS[@]}") ;;
  onnx_import|datasets|artifact) targets=("$what") ;;
  *) echo "usage: scripts/fuzz.sh [onnx_import|datasets|artifact|all|build] [MINUTES]" >&2; exit 2 ;;
esac
[[ "$minutes" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: MINUTES must be a whole number, got '$minutes'" >&2; exit 2; }

# --- toolchain (idempotent, like setup.sh) ---
# shellcheck source=install-debs.sh
source "$ROOT/scripts/install-debs.sh"
install_missing_debs fuzz clang-22 libclang-rt-22-dev

# --- build: only the fuzz targets and what they link ---
SAN="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
mkdir -p "$BUILD"
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S "$ROOT" -B "$BUILD" -G Ninja \
    -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
    "-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only -DNDEBUG" \
    "-DCMAKE_CXX_FLAGS=$SAN" "-DCMAKE_C_FLAGS=$SAN" \
    "-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined" \
    "-DCMAKE_SHARED_LINKER_FLAGS=-fsanitize=address,undefined" \
    -DDS_FUZZ=ON -DDS_BUILD_COMPILER=ON -DDS_PYTHON="$ROOT/build/venv/bin/python" \
    > "$BUILD/cmake.log" 2>&1 || { cat "$BUILD/cmake.log"; exit 1; }
fi
ninja_targets=()
for t in "${targets[@]}"; do ninja_targets+=("ds-fuzz-$t" "ds-fuzz-replay-$t"); done
# DS_FUZZ_NO_BUILD=1 reruns what is built without waiting for the shared build lock.
[ -n "${DS_FUZZ_NO_BUILD:-}" ] ||
  flock /tmp/ds-build.lock nice -n 10 ninja -C "$BUILD" -j "$JOBS" "${ninja_targets[@]}"
[ "$what" = build ] && exit 0

# --- seeds beyond the committed ones: conformance models and sample data ---
max_len() { case "$1" in onnx_import|datasets) echo 65536 ;; artifact) echo 16384 ;; esac; }
NODE_DIRS=(/usr/share/libonnx-testdata/data/node)
ONNX_PY_NODE="$("$ROOT/build/venv/bin/python" -c \
  'import onnx,os;print(os.path.join(os.path.dirname(onnx.__file__),"backend/test/data/node"))' 2>/dev/null || true)"
[ -n "$ONNX_PY_NODE" ] && [ -d "$ONNX_PY_NODE" ] && NODE_DIRS+=("$ONNX_PY_NODE")
gather_seeds() { # TARGET DIR
  local t="$1" out="$2" limit
  limit="$(max_len "$t")"
  rm -rf "$out"; mkdir -p "$out"
  local files=()
  case "$t" in
    onnx_import)
      for d in "${NODE_DIRS[@]}"; do [ -d "$d" ] && files+=("$d"/*/model.onnx); done
      files+=("$ROOT"/samples/*/*.onnx) ;;
    datasets)
      for d in "${NODE_DIRS[@]}"; do [ -d "$d" ] && files+=("$d"/*/test_data_set_0/input_0.pb); done
      files+=("$ROOT"/samples/*/*.npy "$ROOT"/samples/*/*.npz) ;;
    artifact)
      [ -n "${DS_FUZZ_ARTIFACT:-}" ] && files+=("$DS_FUZZ_ARTIFACT"/manifest.json) ;;
  esac
  local f
  for f in "${files[@]}"; do
    [ -f "$f" ] && [ "$(stat -c %s "$f")" -le "$limit" ] || continue
    cp "$f" "$out/$(echo "${f#/}" | tr '/' '_')"
  done
}

summary=()
status=0
for t in "${targets[@]}"; do
  work="$BUILD/fuzz/$t"
  mkdir -p "$work/corpus" "$work/crashes"
  gather_seeds "$t" "$work/extra-seeds"
  corpora=("$work/corpus" "$ROOT/tests/fuzz/seeds/$t")
  [ -d "$ROOT/tests/fuzz/regression/$t" ] && corpora+=("$ROOT/tests/fuzz/regression/$t")
  cmd=(nice -n 19 "$BUILD/bin/ds-fuzz-$t" "${corpora[@]}" "$work/extra-seeds"
       -max_total_time=$((minutes * 60)) -rss_limit_mb=2048 -timeout=10
       -max_len="$(max_len "$t")" -artifact_prefix="$work/crashes/" -print_final_stats=1)
  echo "fuzz: $t for $minutes min: ${cmd[*]}"
  echo "${cmd[*]}" > "$work/command.txt"
  before=$(find "$work/crashes" -type f | wc -l)
  rc=0
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" "${cmd[@]}" > "$work/fuzz.log" 2>&1 || rc=$?
  runs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$work/fuzz.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  corpus=$(find "$work/corpus" -type f | wc -l)
  crashes=$(( $(find "$work/crashes" -type f | wc -l) - before ))
  [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ] && crashes="? (exit $rc, see $work/fuzz.log)"
  [ "$rc" -ne 0 ] && status=1
  summary+=("fuzz: $t minutes=$minutes runs=$runs corpus=$corpus crashes=$crashes")
  echo "${summary[-1]}"
done
printf '%s\n' "${summary[@]}"
exit $status
}
main "$@"
