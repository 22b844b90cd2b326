"""Checks the committed samples (samples/digits, samples/lm) with ONNX Runtime as the reference.

These pin what the samples promise to the rest of the project: the digits CNN classifies its
held-out split at >= 95%, the LM's eval perplexity is the one recorded in meta.json, and the
LM's KV-cache decode graph reproduces the prefill graph's logits step by step.
"""
import json
import math
from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

SAMPLES = Path(__file__).resolve().parents[2] / "samples"
DIGITS = SAMPLES / "digits"
LM = SAMPLES / "lm"
MAX_SAMPLE_BYTES = 8 * 1024 * 1024


def session(path):
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def load_meta(folder):
    return json.loads((folder / "meta.json").read_text())


# ----------------------------------------------------------------------------- digits


def test_digits_files():
    x_calib = np.load(DIGITS / "calib.npz")["x"]
    x_eval = np.load(DIGITS / "eval.npz")["x"]
    labels = np.load(DIGITS / "eval_labels.npy")
    assert x_calib.dtype == np.float32 and x_calib.shape == (200, 1, 8, 8)
    assert x_eval.dtype == np.float32 and x_eval.shape[1:] == (1, 8, 8)
    assert labels.dtype == np.int64 and labels.shape == (x_eval.shape[0],)
    for x in (x_calib, x_eval):
        assert x.min() >= 0.0 and x.max() <= 1.0
    assert set(np.unique(labels)) == set(range(10))
    assert (DIGITS / "digits_cnn.onnx").stat().st_size <= MAX_SAMPLE_BYTES


def test_digits_graph_keeps_batchnorm():
    model = onnx.load(str(DIGITS / "digits_cnn.onnx"))
    ops = [n.op_type for n in model.graph.node]
    assert ops.count("BatchNormalization") == 2
    assert {"Conv", "Relu", "MaxPool", "Gemm"} <= set(ops)
    assert [i.name for i in model.graph.input] == ["x"]
    assert [o.name for o in model.graph.output] == ["logits"]


def test_digits_accuracy():
    meta = load_meta(DIGITS)
    x_eval = np.load(DIGITS / "eval.npz")["x"]
    labels = np.load(DIGITS / "eval_labels.npy")
    logits = session(DIGITS / "digits_cnn.onnx").run(["logits"], {"x": x_eval})[0]
    assert logits.shape == (len(labels), 10)
    correct = int((logits.argmax(1) == labels).sum())
    accuracy = correct / len(labels)
    assert accuracy >= 0.95
    # A different CPU may round a near-tie the other way; more than one flip is a real change.
    assert abs(correct - meta["eval_correct"]) <= 1, (correct, meta["eval_correct"])


# ----------------------------------------------------------------------------- lm


def kv_names(meta, prefix):
    return [f"{prefix}_{kind}_{i}"
            for i in range(meta["config"]["num_layers"]) for kind in ("key", "value")]


def nll_per_token(logits, tokens):
    logits = logits[:, :-1].astype(np.float64)
    top = logits.max(-1, keepdims=True)
    logz = np.log(np.exp(logits - top).sum(-1)) + top[..., 0]
    target = np.take_along_axis(logits, tokens[:, 1:, None], -1)[..., 0]
    return logz - target


def test_lm_files():
    meta = load_meta(LM)
    vocab = meta["config"]["vocab_size"]
    for name in ("calib_tokens.npy", "eval_tokens.npy"):
        tokens = np.load(LM / name)
        assert tokens.dtype == np.int64
        assert list(tokens.shape) == meta["tokens"][name]
        assert tokens.min() >= 0 and tokens.max() < vocab
    for name in ("lm_prefill.onnx", "lm_decode.onnx"):
        assert (LM / name).stat().st_size <= MAX_SAMPLE_BYTES


def test_lm_graph_signatures():
    meta = load_meta(LM)
    prefill = onnx.load(str(LM / "lm_prefill.onnx"))
    decode = onnx.load(str(LM / "lm_decode.onnx"))
    presents = kv_names(meta, "present")
    assert [i.name for i in prefill.graph.input] == ["input_ids"]
    assert [o.name for o in prefill.graph.output] == ["logits"] + presents
    assert [i.name for i in decode.graph.input] == ["input_ids"] + kv_names(meta, "past")
    assert [o.name for o in decode.graph.output] == ["logits"] + presents
    ops = {n.op_type for n in prefill.graph.node}
    # The Llama-export idioms and the MoE routing the compiler is meant to see.
    assert {"Range", "Where", "Softmax", "TopK", "GatherElements", "ScatterElements",
            "Expand", "Cos", "Sin"} <= ops


def test_lm_eval_perplexity_matches_meta():
    meta = load_meta(LM)
    tokens = np.load(LM / "eval_tokens.npy")
    logits = session(LM / "lm_prefill.onnx").run(["logits"], {"input_ids": tokens})[0]
    assert logits.shape == tokens.shape + (meta["config"]["vocab_size"],)
    ppl = math.exp(float(nll_per_token(logits, tokens).mean()))
    assert ppl == pytest.approx(meta["eval_perplexity"], rel=1e-4)
    # A trained model, far from the 256 of a uniform guess over bytes.
    assert ppl < 10.0


def test_lm_decode_matches_prefill():
    meta = load_meta(LM)
    tokens = np.load(LM / "eval_tokens.npy")[:2, :40]
    prompt = 13
    prefill = session(LM / "lm_prefill.onnx")
    decode = session(LM / "lm_decode.onnx")
    presents = kv_names(meta, "present")
    pasts = kv_names(meta, "past")
    full = prefill.run(["logits"], {"input_ids": tokens})[0]
    outs = prefill.run(["logits"] + presents, {"input_ids": tokens[:, :prompt]})
    np.testing.assert_allclose(outs[0], full[:, :prompt], atol=1e-4, rtol=0)
    kv_heads, head_dim = meta["config"]["num_kv_heads"], meta["config"]["head_dim"]
    for t in range(prompt, tokens.shape[1]):
        cache = outs[1:]
        assert all(c.shape == (2, kv_heads, t, head_dim) for c in cache)
        feed = {"input_ids": tokens[:, t:t + 1], **dict(zip(pasts, cache))}
        outs = decode.run(["logits"] + presents, feed)
        np.testing.assert_allclose(outs[0][:, 0], full[:, t], atol=1e-4, rtol=0,
                                   err_msg=f"decode step at position {t}")
