#!/usr/bin/env bash
# The README's main command: installs what is missing, builds, and runs the main
# job on the bundled sample LM: ds-optimize calibrates it, quantizes it to INT8,
# checks it against the FP32 teacher on held-out tokens, and writes a host
# artifact (out/demo/host), which then runs with its own runner and generates text.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${DS_BUILD_DIR:-$ROOT/build}"
OUT="${DS_DEMO_OUT:-$BUILD/demo}"
bash "$ROOT/scripts/setup.sh"
bash "$ROOT/scripts/build.sh"
echo
echo "== ds-optimize: sample LM -> INT8 host artifact =="
"$BUILD/bin/ds-optimize" "$ROOT/samples/lm/lm_prefill.onnx" --profile host --precision int8 \
  --calib "$ROOT/samples/lm/calib_tokens.npy" --eval "$ROOT/samples/lm/eval_tokens.npy" \
  --smoothquant-alpha 0.5 --max-drop 2% -o "$OUT"
echo
echo "== the artifact, run by its own runtime (no MLIR, no protobuf, no Python) =="
"$BUILD/venv/bin/python" - "$ROOT" "$BUILD" <<'PY'
import sys, numpy as np
root, build = sys.argv[1], sys.argv[2]
tokens = np.load(f"{root}/samples/lm/eval_tokens.npy")[:1]
np.savez(f"{build}/demo_input.npz", input_ids=tokens)
PY
"$OUT/host/bin/ds-model-run" "$OUT/host" --inputs "$BUILD/demo_input.npz" --outputs "$BUILD/demo_outputs" | head -2
echo
echo "== generating text with the INT8 artifact (its own ds_model_generate; greedy) =="
"$BUILD/bin/ds-run" "$OUT/host" --generate 64 --prompt "The "
echo "report: $OUT/host/report.html"
