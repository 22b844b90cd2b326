"""Exports made by onnxruntime-genai's model builder (samples/exporters/genai: a random-weight
Llama with head size 16, fp32 and int4; opset 22 with com.microsoft GroupQueryAttention
(packed QKV, fused rotary), SkipSimplifiedLayerNormalization, MatMulNBits), against ONNX
Runtime on the same inputs. ORT 1.20 (the test venv) refuses opset 22 and trailing empty
node inputs, so its copy is restamped to 21 in memory (the ops are the same); the int4
comparison runs ORT's MatMulNBits with accuracy_level 0 (float activations), the semantics
the importer's dequantized weights have."""
import json

import numpy as np
import onnx
import pytest
from onnx import helper

from conftest import REPO, decoder_with_past_stepper, ds_generate, greedy_decode

GENAI = REPO / "samples" / "exporters" / "genai"
FP32, INT4 = GENAI / "tiny-llama-fp32" / "model.onnx", GENAI / "tiny-llama-int4" / "model.onnx"
LAYERS, KV_HEADS, HEAD = 2, 2, 16


def ort_copy(src, dst, accuracy_level=None):
    model = onnx.load(src)
    for o in model.opset_import:
        if o.domain in ("", "ai.onnx") and o.version > 21:
            o.version = 21
    for node in model.graph.node:
        inputs = list(node.input)
        while inputs and not inputs[-1]:
            inputs.pop()
        del node.input[:]
        node.input.extend(inputs)
        if accuracy_level is not None and node.op_type == "MatMulNBits":
            kept = [a for a in node.attribute if a.name != "accuracy_level"]
            del node.attribute[:]
            node.attribute.extend(kept + [helper.make_attribute("accuracy_level", accuracy_level)])
    onnx.save(model, dst)
    return dst


def feeds(tokens, past):
    p = 0 if past is None else past["present.0.key"].shape[2]
    f = {"input_ids": np.array([tokens], np.int64),
         "attention_mask": np.ones((1, p + len(tokens)), np.int64)}
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            f[f"past_key_values.{layer}.{kind}"] = (
                np.zeros((1, KV_HEADS, 0, HEAD), np.float32) if past is None
                else past[f"present.{layer}.{kind}"])
    return f


def ort_greedy(ort_runner, model, steps):
    return greedy_decode(decoder_with_past_stepper(ort_runner, model, feeds), prompt=[1], count=steps)


@pytest.mark.parametrize("model,tolerance", [(FP32, 1e-4), (INT4, 1e-3)])
def test_matches_onnxruntime(model, tolerance, ds_run_model, ort_runner, tmp_path):
    reference = ort_copy(model, tmp_path / "ort.onnx", accuracy_level=0)
    prompt = feeds([1, 17, 42, 99, 5, 200, 31], None)
    expected = ort_runner(reference, prompt)
    ours = ds_run_model(model, prompt, tmp_path / "prefill")
    for name, value in expected.items():
        scale = float(np.abs(value).max())
        assert ours[name].shape == value.shape, name
        assert float(np.abs(ours[name] - value).max()) <= tolerance * scale, name
    assert ds_generate(model, 16) == ort_greedy(ort_runner, reference, 16)


def test_int8_artifact_fuses_and_quantizes(optimize_artifact, tmp_path):
    np.savez(tmp_path / "prompt.npz", **feeds([1, 17, 42, 99, 5, 200, 31], None))
    artifact = optimize_artifact(FP32, ["--precision", "int8", "--quant-mode", "dynamic-per-token",
                                        "--calib", tmp_path / "prompt.npz"], tmp_path / "out")
    report = json.loads((artifact / "report.json").read_text())
    fused = {f["fusion"]: f["fused"] for f in report["fusions"]}
    # GroupQueryAttention -> ds.rotary (q, k) + ds.attention; the norms -> ds.rms_norm; the
    # builder's Sigmoid/Mul/Mul MLP -> ds.swiglu. Nothing is left decomposed.
    assert fused == {"RMSNorm": 5, "attention": 2, "rotary": 4, "SwiGLU": 2}, fused
    assert all(f["anchors_left_unfused"] == 0 for f in report["fusions"]), report["fusions"]
    layers = report["layers"]
    # Packed QKV, o, gate, up, down per layer and the head: every weight MatMul.
    assert sum(l["precision"] == "int8" for l in layers) == 5 * LAYERS + 1, layers
    manifest = json.loads((artifact / "manifest.json").read_text())
    cache = next(i for i in manifest["inputs"] if i["name"] == "past_key_values.0.key")
    assert cache["shape"] == [-1, KV_HEADS, -1, HEAD]  # the head size the builder left symbolic
    assert len(ds_generate(artifact, 8)) == 8


def test_int4_export_stays_int4(optimize_artifact, ort_runner, tmp_path):
    """MatMulNBits and the weights behind them are kept as the exporter packed them: the
    artifact's weights are no larger than the model's, and it generates ORT's tokens."""
    np.savez(tmp_path / "prompt.npz", **feeds([1, 17, 42, 99, 5, 200, 31], None))
    artifact = optimize_artifact(INT4, ["--precision", "int8", "--quant-mode", "dynamic-per-token",
                                        "--calib", tmp_path / "prompt.npz"], tmp_path / "out")
    report = json.loads((artifact / "report.json").read_text())
    assert report["size"]["weight_bytes_artifact"] <= report["size"]["weight_bytes_fp32"], report["size"]
    model_weights = sum(t.ByteSize() for t in onnx.load(INT4).graph.initializer)
    assert report["size"]["weight_bytes_artifact"] <= model_weights, (report["size"], model_weights)
    precisions = [l["precision"] for l in report["layers"]]
    assert precisions.count("int4") == 5 * LAYERS + 1, precisions
    reference = ort_copy(INT4, tmp_path / "ort.onnx", accuracy_level=0)
    assert ds_generate(artifact, 16) == ort_greedy(ort_runner, reference, 16)
