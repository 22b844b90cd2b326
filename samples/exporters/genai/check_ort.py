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
Prints how many greedy tokens equal the reference when the vocab is 512 (stories260K).

In-memory compatibility rewrites (the file on disk is never changed; printed when applied):
  * --unfuse-rotary auto|yes|no (default auto = when head_size % 16 != 0): onnxruntime's CPU
    GroupQueryAttention refuses do_rotary=1 unless head_size is a multiple of 16 ("head_size
    shall be a multiple of 16"), and the builder emits do_rotary=1 regardless (stories260K has
    head_size 8). The rewrite splits the packed QKV input, applies the same rotate-half rotary
    with standard ops (positions = Range(mask_width - seq, mask_width), Gather(cos_cache /
    sin_cache)) and sets do_rotary=0 (cos/sin inputs dropped). Graph inputs are unchanged.
  * ai.onnx opset: if this onnxruntime refuses the model's opset (ORT 1.20.1 stops at 21; the
    builder stamps 22), it is restamped to 21 (no op used here changed in opset 22) and
    trailing empty optional node inputs are dropped (1.20.1's GQA schema has fewer inputs).
  * --dequantize-gbq auto|yes|no (default auto = when this onnxruntime rejects the node, as
    1.20.1 does: "Unrecognized attribute: bits for operator GatherBlockQuantized"): replace
    com.microsoft GatherBlockQuantized (uint8 data, bits=4, quantize_axis=1) by a plain Gather
    of the dequantized fp32 table, (q - zero_point) * scale, zero_point 8 when absent (what
    GatherBlockQuantized computes itself; identical tokens with ORT 1.32).
"""
import argparse
import json
import os
import sys

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

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


def _const(g, name, arr):
    g.initializer.append(numpy_helper.from_array(np.asarray(arr), name))
    return name


def unfuse_rotary(m, head_size):
    """GQA(do_rotary=1) -> explicit rotate-half rotary + GQA(do_rotary=0). Returns count."""
    g = m.graph
    new_nodes, shared, count = [], {}, 0
    H, h2 = head_size, head_size // 2
    pre = "/check_ort/rotary"

    def node(op, ins, outs, **kw):
        new_nodes.append(helper.make_node(op, ins, outs, name=outs[0], **kw))
        return outs[0]

    def positions():
        if "pos" not in shared:
            one = _const(g, pre + "/one", np.array([1], np.int64))
            s = node("Gather", [node("Shape", ["input_ids"], [pre + "/ids_shape"]), one],
                     [pre + "/seq"], axis=0)
            t = node("Gather", [node("Shape", ["attention_mask"], [pre + "/mask_shape"]), one],
                     [pre + "/total"], axis=0)
            start = node("Sub", [t, s], [pre + "/start"])
            sq = _const(g, pre + "/axes0", np.array([0], np.int64))
            shared["pos"] = node("Range", [
                node("Squeeze", [start, sq], [pre + "/start_s"]),
                node("Squeeze", [t, sq], [pre + "/total_s"]),
                _const(g, pre + "/step", np.array(1, np.int64))], [pre + "/pos"])
        return shared["pos"]

    def table(cache):
        if cache not in shared:
            if "axes1" not in shared:
                shared["axes1"] = _const(g, pre + "/axes1", np.array([1], np.int64))
            ax = shared["axes1"]
            gth = node("Gather", [cache, positions()], [f"{pre}/{cache}/gather"], axis=0)
            shared[cache] = node("Unsqueeze", [gth, ax], [f"{pre}/{cache}/unsq"])  # [S,1,H/2]
        return shared[cache]

    def rotate(x, heads, cos, sin, tag):
        shp = _const(g, f"{pre}/{tag}/shape4", np.array([0, 0, heads, H], np.int64))
        back = _const(g, f"{pre}/{tag}/shape3", np.array([0, 0, heads * H], np.int64))
        halves = _const(g, f"{pre}/{tag}/halves", np.array([h2, h2], np.int64))
        x4 = node("Reshape", [x, shp], [f"{pre}/{tag}/x4"])
        x1, x2 = f"{pre}/{tag}/x1", f"{pre}/{tag}/x2"
        node("Split", [x4, halves], [x1, x2], axis=3)
        a = node("Sub", [node("Mul", [x1, cos], [f"{pre}/{tag}/x1c"]),
                         node("Mul", [x2, sin], [f"{pre}/{tag}/x2s"])], [f"{pre}/{tag}/a"])
        b = node("Add", [node("Mul", [x2, cos], [f"{pre}/{tag}/x2c"]),
                         node("Mul", [x1, sin], [f"{pre}/{tag}/x1s"])], [f"{pre}/{tag}/b"])
        cat = node("Concat", [a, b], [f"{pre}/{tag}/cat"], axis=3)
        return node("Reshape", [cat, back], [f"{pre}/{tag}/out"])

    for n in g.node:
        attrs = {a.name: a for a in n.attribute}
        if n.op_type != "GroupQueryAttention" or "do_rotary" not in attrs or \
                attrs["do_rotary"].i == 0:
            new_nodes.append(n)
            continue
        if "rotary_interleaved" in attrs and attrs["rotary_interleaved"].i != 0:
            raise SystemExit("unfuse_rotary: interleaved rotary not handled")
        nq, nkv = attrs["num_heads"].i, attrs["kv_num_heads"].i
        ins = list(n.input) + [""] * (12 - len(n.input))
        cos, sin = table(ins[7]), table(ins[8])
        tag = f"{count}"
        if ins[1] == "":
            q, k, v = (f"{pre}/{tag}/q", f"{pre}/{tag}/k", f"{pre}/{tag}/v")
            sizes = _const(g, f"{pre}/{tag}/qkv_sizes",
                           np.array([nq * H, nkv * H, nkv * H], np.int64))
            node("Split", [ins[0], sizes], [q, k, v], axis=2)
        else:
            q, k, v = ins[0], ins[1], ins[2]
        q = rotate(q, nq, cos, sin, tag + "/q")
        k = rotate(k, nkv, cos, sin, tag + "/k")
        ins[0], ins[1], ins[2], ins[7], ins[8] = q, k, v, "", ""
        attrs["do_rotary"].i = 0
        n.ClearField("input")
        n.input.extend(ins)
        new_nodes.append(n)
        count += 1
    g.ClearField("node")
    g.node.extend(new_nodes)
    return count


def strip_trailing_empty_inputs(m):
    for n in m.graph.node:
        ins = list(n.input)
        while ins and ins[-1] == "":
            ins.pop()
        if len(ins) != len(n.input):
            n.ClearField("input")
            n.input.extend(ins)


def _init_or_const(m, name):
    for t in m.graph.initializer:
        if t.name == name:
            return numpy_helper.to_array(t)
    for n in m.graph.node:
        if n.op_type == "Constant" and n.output[0] == name:
            return numpy_helper.to_array(n.attribute[0].t)
    return None


def dequantize_gbq(m):
    """GatherBlockQuantized(uint8 4-bit) -> Gather(dequantized fp32 table). Returns count."""
    g = m.graph
    producer = {o: n for n in g.node for o in n.output}
    count = 0
    for n in g.node:
        if n.op_type != "GatherBlockQuantized":
            continue
        at = {a.name: helper.get_attribute_value(a) for a in n.attribute}
        bits, block = at.get("bits", 4), at["block_size"]
        if bits != 4 or at.get("quantize_axis", 1) != 1 or at.get("gather_axis", 0) != 0:
            raise SystemExit(f"dequantize_gbq: unsupported attributes {at}")
        q = _init_or_const(m, n.input[0])
        if q is None and n.input[0] in producer and producer[n.input[0]].op_type == "Reshape":
            r = producer[n.input[0]]
            q = _init_or_const(m, r.input[0]).reshape(_init_or_const(m, r.input[1]))
        scales = _init_or_const(m, n.input[2])
        if q is None or scales is None or q.dtype != np.uint8 or q.ndim != 2:
            raise SystemExit("dequantize_gbq: data must be a 2-D uint8 initializer (or Reshape)")
        vals = np.stack([q & 15, q >> 4], -1).reshape(q.shape[0], -1)  # low nibble first
        zp = np.full(scales.shape, 8, np.uint8)
        if len(n.input) > 3 and n.input[3]:
            z = _init_or_const(m, n.input[3])
            zp = np.stack([z & 15, z >> 4], -1).reshape(z.shape[0], -1)[:, :scales.shape[1]]
        blk = np.arange(vals.shape[1]) // block
        table = ((vals.astype(np.float32) - zp[:, blk]) * scales[:, blk]).astype(scales.dtype)
        name = n.name + "/dequantized_table"
        g.initializer.append(numpy_helper.from_array(table, name))
        new = helper.make_node("Gather", [name, n.input[1]], list(n.output), name=n.name, axis=0)
        n.CopyFrom(new)
        count += 1
    return count


def make_session(path, geo, so, unfuse, gbq):
    """Load as-is if possible; apply the rewrites described in the module doc if needed."""
    m = None

    def model():
        nonlocal m
        if m is None:
            m = onnx.load(path)  # with external data, from the model's folder
        return m

    if unfuse == "yes" or (unfuse == "auto" and geo.head_size % 16 != 0):
        cnt = unfuse_rotary(model(), geo.head_size)
        print(f"rewrite: {cnt} GroupQueryAttention do_rotary=1 -> explicit rotary + do_rotary=0 "
              f"(head_size {geo.head_size} % 16 != 0)")
    if gbq == "yes":
        print(f"rewrite: {dequantize_gbq(model())} GatherBlockQuantized -> Gather(dequantized)")
    prov = ["CPUExecutionProvider"]
    for _ in range(3):
        try:
            return ort.InferenceSession(m.SerializeToString() if m is not None else path, so,
                                        providers=prov)
        except Exception as e:  # noqa: BLE001
            msg = str(e)
            if "opset" in msg.lower() and "support" in msg.lower():
                old = [(o.domain, o.version) for o in model().opset_import]
                for o in m.opset_import:
                    if o.domain in ("", "ai.onnx") and o.version > 21:
                        o.version = 21
                strip_trailing_empty_inputs(m)
                print(f"rewrite: this onnxruntime refused opset_import {old}; restamped ai.onnx "
                      "to 21 and dropped trailing empty node inputs")
            elif "GatherBlockQuantized" in msg and gbq == "auto":
                print(f"rewrite: this onnxruntime refused GatherBlockQuantized; "
                      f"{dequantize_gbq(model())} -> Gather(dequantized)")
            else:
                raise
    return ort.InferenceSession(m.SerializeToString(), so, providers=prov)

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
    ap.add_argument("--unfuse-rotary", choices=["auto", "yes", "no"], default="auto")
    ap.add_argument("--dequantize-gbq", choices=["auto", "yes", "no"], default="auto")
    a = ap.parse_args()

    geo = Geometry(a.model)
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    sess = make_session(a.model, geo, so, a.unfuse_rotary, a.dequantize_gbq)
    print(f"onnxruntime {ort.__version__}; kv_heads {geo.kv_heads}, head_size {geo.head_size}, "
          f"{len(geo.past_names) // 2} layers, dtype {geo.dtype.__name__}, "
          f"layout {'buffer %d' % a.buffer if a.buffer else 'growing past'}")
    print("inputs :", [(i.name, i.type, i.shape) for i in sess.get_inputs()][:3], "...")
    print("outputs:", [(o.name, o.type, o.shape) for o in sess.get_outputs()][:2], "...")

    tokens = greedy(sess, geo, a.steps, a.buffer)
    print("tokens :", ",".join(map(str, tokens)))
    if sess.get_outputs()[0].shape[-1] == 512 or a.expect_reference:  # stories260K's vocab
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
