"""The bundled samples through our own FP32 reference executor (ds-run): task metric
and agreement with ONNX Runtime within 1e-4 relative to the output scale."""
import json
import os
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DS_BUILD_DIR", REPO / "build"))
SAMPLES = REPO / "samples"
SCALE_TOLERANCE = 1e-4


def ds_run_outputs(model, inputs, out_dir):
    proc = subprocess.run([str(BUILD / "bin" / "ds-run"), str(model), "--inputs", str(inputs),
                           "--outputs", str(out_dir)], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {p.stem: np.load(p) for p in Path(out_dir).glob("*.npy")}


def assert_close_to_scale(ours, reference, what):
    scale = float(np.max(np.abs(reference)))
    err = float(np.max(np.abs(ours.astype(np.float64) - reference)))
    assert err <= SCALE_TOLERANCE * scale, f"{what}: max abs err {err:.3g} > 1e-4 x {scale:.3g}"


def test_digits_accuracy_and_onnxruntime_agreement(tmp_path):
    d = SAMPLES / "digits"
    meta = json.loads((d / "meta.json").read_text())
    outs = ds_run_outputs(d / "digits_cnn.onnx", d / "eval.npz", tmp_path)
    logits = outs["logits"]
    labels = np.load(d / "eval_labels.npy")
    accuracy = float(np.mean(np.argmax(logits, axis=1) == labels))
    assert accuracy >= 0.95
    assert abs(accuracy - meta["eval_accuracy"]) < 1e-9
    x = np.load(d / "eval.npz")["x"]
    reference = ort.InferenceSession(str(d / "digits_cnn.onnx")).run(None, {"x": x})[0]
    assert_close_to_scale(logits, reference, "digits logits")
