#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test
# (gtest unit tests, lit/FileCheck, end-to-end pytest, ONNX conformance) via ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
cd "$BUILD"
ctest --output-on-failure -j "${DS_JOBS:-$(nproc)}" "$@"
