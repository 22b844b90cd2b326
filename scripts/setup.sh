#!/usr/bin/env bash
# Installs everything ds-optimize needs to build and test, idempotently:
# Debian packages (MLIR 22, ONNX C++ library, protobuf, CLI11, gtest, benchmark, lit)
# and the test-only Python packages (onnx, onnxruntime, numpy) in build/venv.
# Safe to run again: it only installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${DS_VENV:-${DS_BUILD_DIR:-$ROOT/build}/venv}"

DEB_PACKAGES=(
  cmake ninja-build g++ python3 python3-venv
  libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev libonnx-testdata zlib1g-dev libzstd-dev
  nlohmann-json3-dev strace time locales
)

# shellcheck source=install-debs.sh
source "$ROOT/scripts/install-debs.sh"
install_missing_debs setup "${DEB_PACKAGES[@]}"

# A comma-decimal locale for the determinism test (artifacts must not depend on it).
if ! locale -a 2>/dev/null | grep -qx 'de_DE.utf8'; then
  echo "setup: generating the de_DE.UTF-8 locale"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating Python virtualenv $VENV"
  python3 -m venv "$VENV"
fi
# Reinstall whenever the pinned list changes (a stamp copy lives in the venv).
REQS="$ROOT/scripts/requirements-test.txt"
if ! cmp -s "$REQS" "$VENV/.requirements-installed"; then
  echo "setup: installing test-only Python packages into $VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check -r "$REQS"
  cp "$REQS" "$VENV/.requirements-installed"
fi
echo "setup: ok"
