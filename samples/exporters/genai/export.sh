#!/usr/bin/env bash
# Export stories260K (llama2.c) and a tiny random Llama (head size 16) to ONNX with Microsoft's
# onnxruntime-genai model builder (python -m onnxruntime_genai.models.builder), fp32 and int4.
#
# Usage: samples/exporters/genai/export.sh [OUT_PREFIX]   (default /tmp/genai-stories260k)
#   -> OUT_PREFIX-fp32/ and OUT_PREFIX-int4/ (model.onnx + model.onnx.data as the builder
#      writes them, genai_config.json, tokenizer files, prefill_inputs.npz and
#      prefill_inputs_ort_outputs.npz), and the committed samples tiny-llama-fp32/ and
#      tiny-llama-int4/ here (model.onnx folded into one file + genai_config.json).
#
# Needs the venv /work/genaienv (see README.md; override with GENAIENV=...) and
# ../shared/models/stories260K.bin (override with CKPT=...). Works offline.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../../.." && pwd)"
OPT="$HERE/../optimum"
PREFIX="${1:-/tmp/genai-stories260k}"
VENV="${GENAIENV:-/work/genaienv}"
CKPT="${CKPT:-$REPO/../shared/models/stories260K.bin}"
[ -f "$CKPT" ] || CKPT=/work/shared/models/stories260K.bin
PY="$VENV/bin/python"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_DATASETS_OFFLINE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"

WORK="$(mktemp -d /tmp/genai-export.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

# The builder's -c/--cache_dir defaults to ./cache_dir in the current directory: always pass it.
build() {  # build HF_DIR OUT PRECISION
  rm -rf "$2"
  "$PY" -m onnxruntime_genai.models.builder -i "$1" -o "$2" -p "$3" -e cpu -c "$WORK/cache" \
    > "$WORK/builder-$(basename "$2").log" 2>&1 || { tail -30 "$WORK/builder-$(basename "$2").log"; exit 1; }
  grep -E "GroupQueryAttention|Saving (ONNX|GenAI)" "$WORK/builder-$(basename "$2").log" || true
}

echo "== stories260K: llama2.c -> Hugging Face ($WORK/stories260k-hf)"
"$PY" "$OPT/llama2c_to_hf.py" "$CKPT" "$WORK/stories260k-hf" --verify

for p in fp32 int4; do
  echo "== stories260K: builder -p $p -e cpu -> $PREFIX-$p"
  build "$WORK/stories260k-hf" "$PREFIX-$p" "$p"
  # head_size 8: check_ort.py rewrites GQA's fused rotary in memory (ORT CPU needs % 16 == 0).
  EXPECT=""; [ "$p" = fp32 ] && EXPECT="--expect-reference"
  "$PY" "$HERE/check_ort.py" "$PREFIX-$p/model.onnx" --steps 48 $EXPECT \
    --npz "$PREFIX-$p/prefill_inputs.npz"
done

echo "== tiny random Llama, head size 16 (seed 0)"
"$PY" "$HERE/../optimum/make_tiny_llama.py" "$WORK/tiny-hf" --heads 4 --kv-heads 2
for p in fp32 int4; do
  build "$WORK/tiny-hf" "$WORK/tiny-$p" "$p"
  DEST="$HERE/tiny-llama-$p"
  mkdir -p "$DEST"
  # Fold model.onnx.data back into one file. (../optimum/single_file.py cannot be reused: its
  # onnx.checker.check_model rejects these graphs, "No Op registered for
  # SimplifiedLayerNormalization with domain_version of 22": the builder puts that ORT op in
  # the default domain.)
  "$PY" -c 'import onnx, sys; onnx.save(onnx.load(sys.argv[1]), sys.argv[2], save_as_external_data=False)' \
    "$WORK/tiny-$p/model.onnx" "$DEST/model.onnx"
  cp "$WORK/tiny-$p/genai_config.json" "$DEST/"
  "$PY" "$HERE/check_ort.py" "$DEST/model.onnx" --steps 16
  ls -l "$DEST"
done
echo "done"
