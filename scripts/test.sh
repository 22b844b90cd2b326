#!/usr/bin/env bash
# The README's test command: installs what is missing, builds, runs every test
# (gtest unit tests, lit/FileCheck, end-to-end pytest, ONNX conformance) via ctest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
cd "$BUILD"
status=0
ctest --output-on-failure -j "${DS_JOBS:-$(nproc)}" "$@" | tee ctest.out || status=${PIPESTATUS[0]}
# ctest keeps passing tests' output in its log: show the conformance counts, then
# repeat ctest's own closing lines so they stay the last thing printed.
grep -h '^conformance: ops supported' Testing/Temporary/LastTest*.log 2>/dev/null | tail -1 || true
grep -E 'tests passed|tests failed out of|Total Test time' ctest.out | tail -2 || true
exit "$status"
