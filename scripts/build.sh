#!/usr/bin/env bash
# Configures and builds ds-optimize into build/ (Release, Ninja). Assumes setup.sh ran.
# DS_BUILD_DIR picks another build dir; DS_SANITIZE=address,undefined makes a
# sanitizer build (give it its own DS_BUILD_DIR, e.g. build-asan).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_BUILD_DIR:-$ROOT/build}"
mkdir -p "$BUILD"
JOBS="${DS_JOBS:-$(nproc)}"
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DDS_BUILD_COMPILER=ON \
  -DDS_PYTHON="$BUILD/venv/bin/python" -DDS_SANITIZE="${DS_SANITIZE:-}" > "$BUILD/cmake.log" 2>&1 || { cat "$BUILD/cmake.log"; exit 1; }
ninja -C "$BUILD" -j "$JOBS"
