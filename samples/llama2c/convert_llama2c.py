#!/usr/bin/env python3
"""Convert a llama2.c checkpoint (legacy float32 format) into two ONNX graphs.

    python samples/llama2c/convert_llama2c.py CHECKPOINT.bin OUT_DIR

writes OUT_DIR/prefill.onnx (input_ids [batch, seq] -> logits + KV cache),
OUT_DIR/decode.onnx (one token + past KV cache -> logits + grown KV cache) and
OUT_DIR/config.json. The graphs use plain default-domain opset-17 ops, decomposed
the way real exporters write them (Gather embedding, RMSNorm as
Pow/ReduceMean/Add/Sqrt/Div/Mul, interleaved-pair rotary, Trilu or Range/LessOrEqual
causal masks, GQA by Expand+Reshape, SiLU as x*Sigmoid(x), tied classifier), so they
are realistic input for ds-optimize's fusion passes. Output bytes are deterministic.

Bad input (missing, truncated or malformed checkpoint) is one line on stderr and
exit code 2.
"""
import argparse
import hashlib
import json
import math
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# The C++ importer is built against libonnx 1.12, which reads IR version 8.
IR_VERSION = 8
RMS_EPS = 1e-5
ROPE_THETA = 10000.0
BOS_TOKEN = 1
HEADER = struct.Struct("<7i")
# llama2.c's newer export formats start with this magic ("ak42").
VERSIONED_MAGIC = 0x616B3432
# A single protobuf cannot exceed 2 GiB; bigger weights go to an external-data file.
INLINE_WEIGHT_LIMIT = 1 << 30


class CheckpointError(Exception):
    """A checkpoint that cannot be converted; the message is shown to the user."""


@dataclass(frozen=True)
class Config:
    dim: int
    hidden_dim: int
    n_layers: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    seq_len: int
    shared_classifier: bool

    @property
    def head_size(self):
        return self.dim // self.n_heads

    @property
    def kv_dim(self):
        return self.n_kv_heads * self.head_size


def parse_header(raw):
    if len(raw) < HEADER.size:
        raise CheckpointError(f"truncated checkpoint: {len(raw)} bytes, the header alone is "
                              f"{HEADER.size}")
    if struct.unpack_from("<I", raw)[0] == VERSIONED_MAGIC:
        version = struct.unpack_from("<i", raw, 4)[0] if len(raw) >= 8 else "?"
        raise CheckpointError(f"llama2.c export format version {version} (magic 'ak42') is not "
                              "supported; export with the legacy float32 format")
    dim, hidden, layers, heads, kv_heads, vocab, seq_len = HEADER.unpack_from(raw)
    for name, value in (("dim", dim), ("hidden_dim", hidden), ("n_layers", layers),
                        ("n_heads", heads), ("n_kv_heads", kv_heads), ("seq_len", seq_len)):
        if value <= 0:
            raise CheckpointError(f"invalid header: {name} = {value} (not a llama2.c checkpoint?)")
    if vocab == 0:
        raise CheckpointError("invalid header: vocab_size = 0")
    if dim % heads:
        raise CheckpointError(f"invalid header: dim {dim} is not a multiple of n_heads {heads}")
    if heads % kv_heads:
        raise CheckpointError(f"invalid header: n_heads {heads} is not a multiple of "
                              f"n_kv_heads {kv_heads}")
    if (dim // heads) % 2:
        raise CheckpointError(f"invalid header: head size {dim // heads} is odd (rotary needs "
                              "pairs)")
    return Config(dim, hidden, layers, heads, kv_heads, abs(vocab), seq_len, vocab > 0)


def weight_shapes(cfg):
    """The float32 arrays of the legacy format, in file order (name, shape)."""
    L, D, F, V, KV = cfg.n_layers, cfg.dim, cfg.hidden_dim, cfg.vocab_size, cfg.kv_dim
    shapes = [("token_embedding", (V, D)), ("rms_att", (L, D)), ("wq", (L, D, D)),
              ("wk", (L, KV, D)), ("wv", (L, KV, D)), ("wo", (L, D, D)), ("rms_ffn", (L, D)),
              ("w1", (L, F, D)), ("w2", (L, D, F)), ("w3", (L, F, D)), ("rms_final", (D,)),
              ("legacy_rope", (cfg.seq_len, cfg.head_size))]
    if not cfg.shared_classifier:
        shapes.append(("wcls", (V, D)))
    return shapes


def read_checkpoint(path):
    """Returns (Config, {name: float32 array}, sha256 hex) or raises CheckpointError."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise CheckpointError(f"cannot read: {e.strerror or e}") from None
    cfg = parse_header(raw)
    shapes = weight_shapes(cfg)
    expected = HEADER.size + 4 * sum(math.prod(shape) for _, shape in shapes)
    if len(raw) < expected:
        raise CheckpointError(f"truncated checkpoint: {len(raw)} bytes, the header "
                              f"(dim {cfg.dim}, {cfg.n_layers} layers, vocab {cfg.vocab_size}) "
                              f"needs {expected}")
    if len(raw) > expected:
        raise CheckpointError(f"{len(raw) - expected} unexpected trailing bytes after the weights "
                              "(not a legacy llama2.c checkpoint, or a wrong header)")
    weights, offset = {}, HEADER.size
    for name, shape in shapes:
        count = math.prod(shape)
        weights[name] = np.frombuffer(raw, dtype="<f4", count=count,
                                      offset=offset).reshape(shape).astype(np.float32)
        offset += 4 * count
    bad = [name for name, w in weights.items() if not np.all(np.isfinite(w))]
    if bad:
        raise CheckpointError(f"non-finite values in {', '.join(bad)}")
    return cfg, weights, hashlib.sha256(raw).hexdigest()


def rope_tables(cfg):
    """cos/sin [seq_len, head_size/2, 1] as llama2.c computes them in float32:
    freq = 1 / 10000^(2p/head_size) for pair p, angle = pos * freq."""
    hs = cfg.head_size
    exponent = np.arange(0, hs, 2, dtype=np.float32) / np.float32(hs)
    freq = np.float32(1.0) / np.power(np.float32(ROPE_THETA), exponent)
    angle = np.arange(cfg.seq_len, dtype=np.float32)[:, None] * freq[None, :]
    # cos/sin of the float32 angle, rounded once (what cosf/sinf return).
    cos = np.cos(angle.astype(np.float64)).astype(np.float32)
    sin = np.sin(angle.astype(np.float64)).astype(np.float32)
    return cos[:, :, None], sin[:, :, None]


class GraphBuilder:
    """Appends named nodes and initializers; output names follow the node name the way
    torch.onnx does ("/layers.0/attn/MatMul" -> "/layers.0/attn/MatMul_output_0")."""

    def __init__(self):
        self.nodes = []
        self.initializers = []
        self._node_names = set()
        self._constants = {}

    def initializer(self, name, array):
        self.initializers.append(numpy_helper.from_array(np.array(array, order="C"), name))
        return name

    def const(self, value, dtype=np.int64):
        """A small constant initializer, shared by value."""
        array = np.asarray(value, dtype=dtype)
        key = (array.dtype.str, array.shape, array.tobytes())
        if key not in self._constants:
            self._constants[key] = self.initializer(f"const_{len(self._constants)}", array)
        return self._constants[key]

    def op(self, op_type, inputs, name, outputs=1, out_names=None, **attrs):
        assert name not in self._node_names, name
        self._node_names.add(name)
        names = out_names or [f"{name}_output_{i}" for i in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, names, name=name, **attrs))
        return names[0] if len(names) == 1 else names


def rms_norm(g, x, weight, scope):
    sq = g.op("Pow", [x, g.const(2.0, np.float32)], f"{scope}/Pow")
    mean = g.op("ReduceMean", [sq], f"{scope}/ReduceMean", axes=[-1], keepdims=1)
    std = g.op("Sqrt", [g.op("Add", [mean, g.const(RMS_EPS, np.float32)], f"{scope}/Add")],
               f"{scope}/Sqrt")
    normed = g.op("Div", [x, std], f"{scope}/Div")
    return g.op("Mul", [normed, weight], f"{scope}/Mul")


def split_heads(g, x, heads, head_size, scope, out_name=None):
    """[B, S, heads*hs] -> [B, heads, S, hs]."""
    x = g.op("Reshape", [x, g.const([0, 0, heads, head_size])], f"{scope}/Reshape")
    return g.op("Transpose", [x], f"{scope}/Transpose", perm=[0, 2, 1, 3],
                out_names=[out_name] if out_name else None)


def rotary(g, x, cos, sin, head_size, scope, out_name=None):
    """llama2.c rotates interleaved pairs (2i, 2i+1) of each head: view the last axis
    as [hs/2, 2], rotate, view back. cos/sin are [S, hs/2, 1]."""
    pairs = g.op("Reshape", [x, g.const([0, 0, 0, head_size // 2, 2])], f"{scope}/Reshape")
    even, odd = g.op("Split", [pairs], f"{scope}/Split", outputs=2, axis=-1)
    rot_even = g.op("Sub", [g.op("Mul", [even, cos], f"{scope}/Mul"),
                            g.op("Mul", [odd, sin], f"{scope}/Mul_1")], f"{scope}/Sub")
    rot_odd = g.op("Add", [g.op("Mul", [even, sin], f"{scope}/Mul_2"),
                           g.op("Mul", [odd, cos], f"{scope}/Mul_3")], f"{scope}/Add")
    joined = g.op("Concat", [rot_even, rot_odd], f"{scope}/Concat", axis=-1)
    return g.op("Reshape", [joined, g.const([0, 0, 0, head_size])], f"{scope}/Reshape_1",
                out_names=[out_name] if out_name else None)


def repeat_kv(g, x, n_heads, n_kv_heads, head_size, scope):
    """[B, kv, T, hs] -> [B, heads, T, hs], each KV head repeated for its query group
    (query head j reads KV head j // (heads / kv))."""
    rep = n_heads // n_kv_heads
    if rep == 1:
        return x
    x = g.op("Unsqueeze", [x, g.const([2])], f"{scope}/Unsqueeze")
    x = g.op("Expand", [x, g.const([1, 1, rep, 1, 1])], f"{scope}/Expand")
    return g.op("Reshape", [x, g.const([0, n_heads, -1, head_size])], f"{scope}/Reshape")


def build_model(cfg, weights, kind):
    """kind "prefill": input_ids [batch, seq] from position 0; kind "decode": input_ids
    [batch, 1] at position past_seq (read from past_key_0's shape)."""
    assert kind in ("prefill", "decode")
    decode = kind == "decode"
    g = GraphBuilder()
    H, KVH, hs, D = cfg.n_heads, cfg.n_kv_heads, cfg.head_size, cfg.dim
    float_t = TensorProto.FLOAT

    emb = g.initializer("tok_embeddings.weight", weights["token_embedding"])
    cos_table, sin_table = rope_tables(cfg)
    cos_table = g.initializer("rope.cos", cos_table)
    sin_table = g.initializer("rope.sin", sin_table)

    x = g.op("Gather", [emb, "input_ids"], "/embed_tokens/Gather", axis=0)

    # Positions start..start+seq-1; start is the past length when decoding.
    seq = g.op("Gather", [g.op("Shape", ["input_ids"], "/Shape"), g.const(1)], "/Gather_seq",
               axis=0)
    if decode:
        past_shape = g.op("Shape", ["past_key_0"], "/Shape_past")
        start = g.op("Gather", [past_shape, g.const(2)], "/Gather_past", axis=0)
    else:
        start = g.const(0)
    end = g.op("Add", [start, seq], "/Add_end")
    positions = g.op("Range", [start, end, g.const(1)], "/Range_pos")
    cos = g.op("Gather", [cos_table, positions], "/rotary/Gather_cos", axis=0)
    sin = g.op("Gather", [sin_table, positions], "/rotary/Gather_sin", axis=0)

    # Causal mask [seq, total]: True where a query may attend.
    if decode:
        key_pos = g.op("Range", [g.const(0), end, g.const(1)], "/mask/Range_keys")
        query_pos = g.op("Unsqueeze", [positions, g.const([1])], "/mask/Unsqueeze")
        mask = g.op("LessOrEqual", [key_pos, query_pos], "/mask/LessOrEqual")
    else:
        seq_1d = g.op("Unsqueeze", [seq, g.const([0])], "/mask/Unsqueeze")
        square = g.op("Concat", [seq_1d, seq_1d], "/mask/Concat", axis=0)
        ones = g.op("ConstantOfShape", [square], "/mask/ConstantOfShape",
                    value=helper.make_tensor("value", TensorProto.BOOL, [1], [True]))
        mask = g.op("Trilu", [ones], "/mask/Trilu", upper=0)
    # The lowest finite float, as HF exporters use: exp() of it is still 0 after the
    # max-subtraction, and no kernel has to handle infinities.
    masked = g.const(np.finfo(np.float32).min, np.float32)
    scale = g.const(math.sqrt(hs), np.float32)

    inputs = [helper.make_tensor_value_info(
        "input_ids", TensorProto.INT64, ["batch", 1 if decode else "seq"])]
    total = "total_seq" if decode else "seq"
    outputs = [helper.make_tensor_value_info("logits", float_t, ["batch", 1 if decode else "seq",
                                                                   cfg.vocab_size])]

    for l in range(cfg.n_layers):
        p = f"/layers.{l}"
        wq = g.initializer(f"layers.{l}.attention.wq.weight_T", weights["wq"][l].T)
        wk = g.initializer(f"layers.{l}.attention.wk.weight_T", weights["wk"][l].T)
        wv = g.initializer(f"layers.{l}.attention.wv.weight_T", weights["wv"][l].T)
        wo = g.initializer(f"layers.{l}.attention.wo.weight_T", weights["wo"][l].T)
        w1 = g.initializer(f"layers.{l}.feed_forward.w1.weight_T", weights["w1"][l].T)
        w2 = g.initializer(f"layers.{l}.feed_forward.w2.weight_T", weights["w2"][l].T)
        w3 = g.initializer(f"layers.{l}.feed_forward.w3.weight_T", weights["w3"][l].T)
        att_norm = g.initializer(f"layers.{l}.attention_norm.weight", weights["rms_att"][l])
        ffn_norm = g.initializer(f"layers.{l}.ffn_norm.weight", weights["rms_ffn"][l])

        h = rms_norm(g, x, att_norm, f"{p}/attention_norm")
        q = split_heads(g, g.op("MatMul", [h, wq], f"{p}/attention/wq/MatMul"), H, hs,
                        f"{p}/attention/q")
        k = split_heads(g, g.op("MatMul", [h, wk], f"{p}/attention/wk/MatMul"), KVH, hs,
                        f"{p}/attention/k")
        present_k, present_v = f"present_key_{l}", f"present_value_{l}"
        v = split_heads(g, g.op("MatMul", [h, wv], f"{p}/attention/wv/MatMul"), KVH, hs,
                        f"{p}/attention/v", out_name=None if decode else present_v)
        q = rotary(g, q, cos, sin, hs, f"{p}/attention/q_rotary")
        if decode:
            past_k, past_v = f"past_key_{l}", f"past_value_{l}"
            for name in (past_k, past_v):
                inputs.append(helper.make_tensor_value_info(name, float_t,
                                                            ["batch", KVH, "past_seq", hs]))
            k = rotary(g, k, cos, sin, hs, f"{p}/attention/k_rotary")
            k = g.op("Concat", [past_k, k], f"{p}/attention/Concat_k", axis=2,
                     out_names=[present_k])
            v = g.op("Concat", [past_v, v], f"{p}/attention/Concat_v", axis=2,
                     out_names=[present_v])
        else:
            k = rotary(g, k, cos, sin, hs, f"{p}/attention/k_rotary", out_name=present_k)
        for name in (present_k, present_v):
            outputs.append(helper.make_tensor_value_info(name, float_t, ["batch", KVH, total, hs]))

        k = repeat_kv(g, k, H, KVH, hs, f"{p}/attention/repeat_k")
        v = repeat_kv(g, v, H, KVH, hs, f"{p}/attention/repeat_v")
        kt = g.op("Transpose", [k], f"{p}/attention/Transpose_k", perm=[0, 1, 3, 2])
        scores = g.op("MatMul", [q, kt], f"{p}/attention/MatMul_qk")
        scores = g.op("Div", [scores, scale], f"{p}/attention/Div")
        scores = g.op("Where", [mask, scores, masked], f"{p}/attention/Where")
        probs = g.op("Softmax", [scores], f"{p}/attention/Softmax", axis=-1)
        att = g.op("MatMul", [probs, v], f"{p}/attention/MatMul_pv")
        att = g.op("Transpose", [att], f"{p}/attention/Transpose_out", perm=[0, 2, 1, 3])
        att = g.op("Reshape", [att, g.const([0, 0, D])], f"{p}/attention/Reshape_out")
        x = g.op("Add", [x, g.op("MatMul", [att, wo], f"{p}/attention/wo/MatMul")], f"{p}/Add")

        h = rms_norm(g, x, ffn_norm, f"{p}/ffn_norm")
        gate = g.op("MatMul", [h, w1], f"{p}/feed_forward/w1/MatMul")
        silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], f"{p}/feed_forward/Sigmoid")],
                    f"{p}/feed_forward/Mul_silu")
        up = g.op("MatMul", [h, w3], f"{p}/feed_forward/w3/MatMul")
        hidden = g.op("Mul", [silu, up], f"{p}/feed_forward/Mul")
        down = g.op("MatMul", [hidden, w2], f"{p}/feed_forward/w2/MatMul")
        x = g.op("Add", [x, down], f"{p}/Add_1")

    final_norm = g.initializer("norm.weight", weights["rms_final"])
    h = rms_norm(g, x, final_norm, "/norm")
    if cfg.shared_classifier:
        # Tied: the classifier is the embedding table itself, transposed in the graph.
        classifier = g.op("Transpose", [emb], "/output/Transpose", perm=[1, 0])
    else:
        classifier = g.initializer("output.weight_T", weights["wcls"].T)
    g.op("MatMul", [h, classifier], "/output/MatMul", out_names=["logits"])

    graph = helper.make_graph(g.nodes, f"llama2c_{kind}", inputs, outputs, g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="ds-optimize convert_llama2c",
                              doc_string=f"llama2.c checkpoint, {kind} graph")
    model.ir_version = IR_VERSION
    return model


def config_json(cfg, sha256):
    kv_names = [f"{kind}_{l}" for l in range(cfg.n_layers) for kind in ("key", "value")]
    return {
        "format": "llama2.c",
        "checkpoint_sha256": sha256,
        "dim": cfg.dim,
        "hidden_dim": cfg.hidden_dim,
        "n_layers": cfg.n_layers,
        "n_heads": cfg.n_heads,
        "n_kv_heads": cfg.n_kv_heads,
        "head_size": cfg.head_size,
        "vocab_size": cfg.vocab_size,
        "max_seq_len": cfg.seq_len,
        "shared_classifier": cfg.shared_classifier,
        "rms_norm_eps": RMS_EPS,
        "rope_theta": ROPE_THETA,
        "rope_pairs": "interleaved",
        "bos_token_id": BOS_TOKEN,
        "opset": OPSET,
        "prefill": {"file": "prefill.onnx", "inputs": ["input_ids"],
                    "outputs": ["logits"] + [f"present_{n}" for n in kv_names]},
        "decode": {"file": "decode.onnx",
                   "inputs": ["input_ids"] + [f"past_{n}" for n in kv_names],
                   "outputs": ["logits"] + [f"present_{n}" for n in kv_names]},
    }


def save_model(model, path, weight_bytes):
    """Writes via a temp name and renames, so a failed run leaves no half file."""
    tmp = path.with_name(path.name + ".tmp")
    if weight_bytes > INLINE_WEIGHT_LIMIT:
        data = path.name + ".data"
        onnx.save(model, tmp, save_as_external_data=True, all_tensors_to_one_file=True,
                  location=data, size_threshold=1024)
    else:
        onnx.save(model, tmp)
    os.replace(tmp, path)


def convert(checkpoint, out_dir):
    cfg, weights, sha256 = read_checkpoint(checkpoint)
    out_dir = Path(out_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CheckpointError(f"cannot create {out_dir}: {e.strerror or e}") from None
    weight_bytes = sum(w.nbytes for name, w in weights.items() if name != "legacy_rope")
    for kind in ("prefill", "decode"):
        model = build_model(cfg, weights, kind)
        if weight_bytes <= INLINE_WEIGHT_LIMIT:
            onnx.checker.check_model(model, full_check=True)
        save_model(model, out_dir / f"{kind}.onnx", weight_bytes)
    (out_dir / "config.json").write_text(json.dumps(config_json(cfg, sha256), indent=2) + "\n")
    return cfg


def main(argv=None):
    parser = argparse.ArgumentParser(
        description="Convert a llama2.c checkpoint into prefill.onnx, decode.onnx and "
                    "config.json")
    parser.add_argument("checkpoint", help="llama2.c checkpoint (legacy float32 format)")
    parser.add_argument("out_dir", help="output directory (created if missing)")
    args = parser.parse_args(argv)
    try:
        cfg = convert(args.checkpoint, args.out_dir)
    except CheckpointError as e:
        print(f"convert_llama2c: error: {args.checkpoint}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"convert_llama2c: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out_dir}: dim {cfg.dim}, {cfg.n_layers} layers, {cfg.n_heads} heads "
          f"({cfg.n_kv_heads} KV), vocab {cfg.vocab_size}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
