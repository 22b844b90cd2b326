#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the main
# job on the bundled sample LM. Today that is import + the FP32 reference run +
# a summary (perplexity of the sample LM's eval tokens, agreement with ONNX
# Runtime); the INT8 optimize path replaces it as it lands.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_BUILD_DIR:-$ROOT/build}"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
echo
echo "== ds-optimize: import the sample LM =="
"$BUILD/bin/ds-optimize" "$ROOT/samples/lm/lm_prefill.onnx"
echo
echo "== ds-run: FP32 reference executor on the eval tokens =="
"$BUILD/venv/bin/python" "$ROOT/scripts/lm_summary.py" --build-dir "$BUILD"
