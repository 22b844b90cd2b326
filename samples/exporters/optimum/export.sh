#!/usr/bin/env bash
# Export stories260K (llama2.c) and a tiny random Llama to ONNX with the real Hugging Face
# Optimum exporter (optimum-cli export onnx, TorchScript-based torch.onnx.export, opset 18).
#
# Usage: samples/exporters/optimum/export.sh [OUT_DIR]    (default /tmp/optimum-stories260k)
#
# Needs the venv /work/exportenv (see README.md; override with EXPORTENV=...), and
# ../shared/models/stories260K.bin (override with CKPT=...). Works offline.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OUT="${1:-/tmp/optimum-stories260k}"
VENV="${EXPORTENV:-/work/exportenv}"
CKPT="${CKPT:-$REPO/../shared/models/stories260K.bin}"
[ -f "$CKPT" ] || CKPT=/work/shared/models/stories260K.bin
PY="$VENV/bin/python"
CLI="$VENV/bin/optimum-cli"
TINY="$HERE/tiny-llama-opset18"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

WORK="$(mktemp -d /tmp/optimum-export.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# A graph written with external data (model.onnx_data) is folded back into one file.
single_file() {
  local d="$1"
  if ls "$d"/*.onnx_data >/dev/null 2>&1 || ls "$d"/*.data >/dev/null 2>&1; then
    "$PY" "$HERE/single_file.py" "$d/model.onnx" "$d/model.single.onnx"
    rm -f "$d"/*.onnx_data "$d"/*.data
    mv "$d/model.single.onnx" "$d/model.onnx"
  fi
}

echo "== stories260K: llama2.c -> Hugging Face ($WORK/stories260k-hf)"
"$PY" "$HERE/llama2c_to_hf.py" "$CKPT" "$WORK/stories260k-hf" --verify

echo "== stories260K: optimum-cli export onnx -> $OUT"
rm -rf "$OUT"
"$CLI" export onnx --model "$WORK/stories260k-hf" --task text-generation-with-past \
  --opset 18 --device cpu "$OUT"
single_file "$OUT"

echo "== stories260K: onnxruntime greedy check"
"$PY" "$HERE/check_ort.py" "$OUT/model.onnx" --steps 48 --expect-reference \
  --npz "$OUT/prefill_inputs.npz"

echo "== tiny random Llama (seed 0) -> $TINY"
"$PY" "$HERE/make_tiny_llama.py" "$WORK/tiny-hf"
"$CLI" export onnx --model "$WORK/tiny-hf" --task text-generation-with-past \
  --opset 18 --device cpu "$WORK/tiny-onnx"
single_file "$WORK/tiny-onnx"
mkdir -p "$TINY"
cp "$WORK/tiny-onnx/model.onnx" "$WORK/tiny-onnx/config.json" "$TINY/"
"$PY" "$HERE/check_ort.py" "$TINY/model.onnx" --steps 8
ls -l "$TINY"
echo "done"
