#!/usr/bin/env python3
"""Greedy-decode an Optimum-exported decoder-with-past model.onnx with onnxruntime.

Needs only onnx, onnxruntime and numpy.

Usage:
  check_ort.py MODEL.onnx [--steps N] [--expect-reference] [--npz OUT.npz]

  * prefill of [1] (BOS) with empty past (past_key_values.* of shape [1, kv_heads, 0, head_dim],
    attention_mask ones [1, 1], position_ids [[0]]), then N-1 decode steps of one token each,
    feeding present.* back as past_key_values.*; prints the N greedy tokens.
  * --expect-reference: exit 1 unless the tokens equal the 48 stories260K reference tokens
    (shared/models/README.md), and unless a 16-token prefill (BOS + the first 15 reference
    tokens) predicts reference token 16 at its last position.
  * --npz OUT.npz: write the 16-token prefill inputs (keyed by graph input names, empty past),
    and onnxruntime's outputs for them to OUT_ort_outputs.npz (keyed by graph output names).
"""
import argparse
import sys

import numpy as np
import onnx
import onnxruntime as ort

REFERENCE_STORIES260K = [
    461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452,
    288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 293, 430, 417,
    363, 416, 315, 342, 418, 424, 400, 442, 402, 303, 266, 299,
]


def past_geometry(model_path):
    m = onnx.load(model_path, load_external_data=False)
    past = [i for i in m.graph.input if i.name.startswith("past_key_values.")]
    dims = past[0].type.tensor_type.shape.dim
    kv_heads, head_dim = dims[1].dim_value, dims[3].dim_value
    return [p.name for p in past], kv_heads, head_dim


def make_inputs(ids, past_names, kv_heads, head_dim, past=None, start=0):
    ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
    n = ids.shape[1]
    feed = {
        "input_ids": ids,
        "attention_mask": np.ones((1, start + n), dtype=np.int64),
        "position_ids": np.arange(start, start + n, dtype=np.int64).reshape(1, n),
    }
    for name in past_names:
        feed[name] = past[name] if past is not None else np.zeros((1, kv_heads, 0, head_dim), np.float32)
    return feed


def greedy(sess, past_names, kv_heads, head_dim, steps):
    out_names = [o.name for o in sess.get_outputs()]
    tokens, past, tok = [], None, 1
    for pos in range(steps):
        feed = make_inputs([tok], past_names, kv_heads, head_dim, past, start=pos)
        res = dict(zip(out_names, sess.run(None, feed)))
        tok = int(np.argmax(res["logits"][0, -1]))
        tokens.append(tok)
        past = {n: res[n.replace("past_key_values.", "present.")] for n in past_names}
    return tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--expect-reference", action="store_true")
    ap.add_argument("--npz")
    a = ap.parse_args()

    past_names, kv_heads, head_dim = past_geometry(a.model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    print("inputs :", [(i.name, i.shape) for i in sess.get_inputs()][:5], "...")
    print("outputs:", [(o.name, o.shape) for o in sess.get_outputs()][:3], "...")

    tokens = greedy(sess, past_names, kv_heads, head_dim, a.steps)
    print("tokens :", ",".join(map(str, tokens)))

    prefill_ids = [1] + REFERENCE_STORIES260K[:15]
    prefill = make_inputs(prefill_ids, past_names, kv_heads, head_dim)
    ok = True
    if a.expect_reference:
        match = tokens == REFERENCE_STORIES260K[:a.steps]
        print("reference match (greedy with past):", match)
        logits = sess.run(["logits"], prefill)[0]
        pred = int(np.argmax(logits[0, -1]))
        pmatch = pred == REFERENCE_STORIES260K[15] and \
            [int(t) for t in np.argmax(logits[0], -1)] == REFERENCE_STORIES260K[:16]
        print("reference match (16-token prefill, all positions):", pmatch)
        ok = match and pmatch
    if a.npz:
        np.savez(a.npz, **prefill)
        print("wrote", a.npz, {k: v.shape for k, v in prefill.items()})
        # onnxruntime's outputs for that prefill, for comparisons later.
        out_names = [o.name for o in sess.get_outputs()]
        ref = a.npz[:-4] + "_ort_outputs.npz" if a.npz.endswith(".npz") else a.npz + "_ort_outputs.npz"
        np.savez(ref, **dict(zip(out_names, sess.run(None, prefill))))
        print("wrote", ref)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
