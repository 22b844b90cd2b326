#!/usr/bin/env python3
"""Greedy-decode an onnxruntime-genai-built decoder model.onnx with plain onnxruntime.

Needs only onnx, onnxruntime and numpy (works in build/venv: onnx 1.16, ORT 1.20.1).

Usage:
  check_ort.py MODEL.onnx [--steps N] [--expect-reference] [--npz OUT.npz]
               [--buffer M] [--threads T]

Feeds whatever the graph declares:
  input_ids        int64 [1, seq]
  attention_mask   int64 [1, past + seq]           ones (GroupQueryAttention derives
                                                    seqlens_k = sum(mask) - 1 and
                                                    total_sequence_length = mask width)
  position_ids     int64 [1, seq]                   only if declared (the builder drops it
                                                    when rotary is fused into GQA)
  past_key_values.N.key/value  [1, kv_heads, past, head_size]  float (or float16)
The last past dim is symbolic ("kv_cache_dim") in the graph; head_size is taken from a numeric
dim, else genai_config.json next to the model, else GQA output width / num_heads.

Default ("growing" past, as Optimum-style graphs): prefill [BOS=1] with empty past
[1, kv, 0, H], then N-1 one-token steps feeding present.* (length past+1) back.
--buffer M: onnxruntime-genai's layout (past_present_share_buffer=true): past is a fixed
[1, kv, M, H] buffer from the start (zeros), present.* comes back with the same shape and is
fed back; attention_mask still has width past+seq. (genai itself binds past and present to
the same memory; here they are separate buffers, which GQA also accepts.)

--expect-reference: exit 1 unless the tokens equal the 48 stories260K reference tokens and a
16-token prefill (BOS + first 15 reference tokens) predicts reference tokens 1..16.
--npz OUT.npz: write that 16-token prefill (keyed by graph input names, empty past: growing
layout, or [1, kv, M, H] zeros with --buffer) and ORT's outputs for it to OUT_ort_outputs.npz.
Always prints how many of the greedy tokens equal the reference (meaningful for stories260K).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort

REFERENCE_STORIES260K = [
    461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452,
    288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 293, 430, 417,
    363, 416, 315, 342, 418, 424, 400, 442, 402, 303, 266, 299,
]

NP_TYPES = {onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.FLOAT16: np.float16}


class Geometry:
    def __init__(self, model_path):
        m = onnx.load(model_path, load_external_data=False)
        g = m.graph
        self.input_names = [i.name for i in g.input]
        self.past = [i for i in g.input if i.name.startswith("past_key_values.")]
        self.past_names = [p.name for p in self.past]
        tt = self.past[0].type.tensor_type
        self.dtype = NP_TYPES[tt.elem_type]
        dims = tt.shape.dim
        self.kv_heads = dims[1].dim_value
        self.head_size = dims[3].dim_value or None
        if not self.head_size:
            cfg = os.path.join(os.path.dirname(os.path.abspath(model_path)), "genai_config.json")
            if os.path.exists(cfg):
                with open(cfg) as f:
                    self.head_size = json.load(f)["model"]["decoder"]["head_size"]
        if not self.head_size:
            shapes = {v.name: v.type.tensor_type.shape for v in g.value_info}
            for n in g.node:
                if n.op_type == "GroupQueryAttention":
                    heads = [a.i for a in n.attribute if a.name == "num_heads"][0]
                    self.head_size = shapes[n.output[0]].dim[-1].dim_value // heads
                    break
        if not self.head_size:
            raise SystemExit("cannot determine head_size")

    def feed(self, ids, past=None, start=0, buffer=None):
        ids = np.asarray(ids, dtype=np.int64).reshape(1, -1)
        n = ids.shape[1]
        f = {"input_ids": ids, "attention_mask": np.ones((1, start + n), dtype=np.int64)}
        if "position_ids" in self.input_names:
            f["position_ids"] = np.arange(start, start + n, dtype=np.int64).reshape(1, n)
        plen = 0 if buffer is None else buffer
        for name in self.past_names:
            f[name] = past[name] if past is not None else \
                np.zeros((1, self.kv_heads, plen, self.head_size), self.dtype)
        unknown = set(self.input_names) - set(f)
        if unknown:
            raise SystemExit(f"graph wants inputs this script does not make: {sorted(unknown)}")
        return f


def greedy(sess, geo, steps, buffer=None):
    out_names = [o.name for o in sess.get_outputs()]
    tokens, past, tok = [], None, 1
    for pos in range(steps):
        res = dict(zip(out_names, sess.run(None, geo.feed([tok], past, pos, buffer))))
        tok = int(np.argmax(res["logits"][0, -1]))
        tokens.append(tok)
        past = {n: res[n.replace("past_key_values.", "present.")] for n in geo.past_names}
        if pos == 0:
            print("present shape after prefill:", past[geo.past_names[0]].shape)
    return tokens


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--steps", type=int, default=48)
    ap.add_argument("--expect-reference", action="store_true")
    ap.add_argument("--npz")
    ap.add_argument("--buffer", type=int, default=None,
                    help="fixed KV buffer length (genai share-buffer layout)")
    ap.add_argument("--threads", type=int, default=1)
    a = ap.parse_args()

    geo = Geometry(a.model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    print(f"onnxruntime {ort.__version__}; kv_heads {geo.kv_heads}, head_size {geo.head_size}, "
          f"{len(geo.past_names) // 2} layers, dtype {geo.dtype.__name__}, "
          f"layout {'buffer %d' % a.buffer if a.buffer else 'growing past'}")
    print("inputs :", [(i.name, i.type, i.shape) for i in sess.get_inputs()][:3], "...")
    print("outputs:", [(o.name, o.type, o.shape) for o in sess.get_outputs()][:2], "...")

    tokens = greedy(sess, geo, a.steps, a.buffer)
    print("tokens :", ",".join(map(str, tokens)))
    ref = REFERENCE_STORIES260K[:len(tokens)]
    same = sum(int(x == y) for x, y in zip(tokens, ref))
    first = next((i for i, (x, y) in enumerate(zip(tokens, ref)) if x != y), None)
    print(f"equal to stories260K reference: {same}/{len(ref)} positions"
          + ("" if first is None else f", first difference at index {first}"))

    prefill = geo.feed([1] + REFERENCE_STORIES260K[:15], buffer=a.buffer)
    ok = True
    if a.expect_reference:
        match = tokens == REFERENCE_STORIES260K[:a.steps]
        print("reference match (greedy with past):", match)
        logits = sess.run(["logits"], prefill)[0]
        pmatch = [int(t) for t in np.argmax(logits[0], -1)] == REFERENCE_STORIES260K[:16]
        print("reference match (16-token prefill, all positions):", pmatch)
        ok = match and pmatch
    if a.npz:
        np.savez(a.npz, **prefill)
        print("wrote", a.npz, {k: v.shape for k, v in list(prefill.items())[:3]}, "...")
        out_names = [o.name for o in sess.get_outputs()]
        path = (a.npz[:-4] if a.npz.endswith(".npz") else a.npz) + "_ort_outputs.npz"
        np.savez(path, **dict(zip(out_names, sess.run(None, prefill))))
        print("wrote", path)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
