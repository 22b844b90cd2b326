"""com.microsoft operators of the LLM exporters (onnxruntime-genai's builder, ORT's
transformer optimizer), lowered onto ds ops at import (importer/ContribOps.cpp), against
ONNX Runtime's own kernels on the same inputs: GroupQueryAttention (prefill from an empty
cache and decode steps; separate and packed QKV; with and without rotary; GQA and MHA
head layouts), RotaryEmbedding (3-D and 4-D, position ids and offsets),
(Skip)SimplifiedLayerNormalization, SkipLayerNormalization, MatMulNBits (4 and 8 bits,
block sizes, with and without zero points, bias) and the GELU variants; bad attributes and
blobs are one error line."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

MS = "com.microsoft"
F, I64, I32 = TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32


def make(path, nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "contrib", inputs, outputs, list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21),
                                                    helper.make_opsetid(MS, 1)])
    model.ir_version = 10
    onnx.save(model, path)
    return path


def vi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


def check(path, feeds, ds_run_model, ort_runner, tmp_path, rtol=1e-5, atol=1e-5):
    reference = ort_runner(path, feeds)
    ours = ds_run_model(path, feeds, tmp_path / "run")
    for name, expected in reference.items():
        np.testing.assert_allclose(ours[name], expected, rtol=rtol, atol=atol, err_msg=name)
    return ours


def test_simplified_layer_norms(ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(0)
    gamma = numpy_helper.from_array(rng.uniform(0.5, 1.5, 16).astype(np.float32), "gamma")
    nodes = [helper.make_node("SimplifiedLayerNormalization", ["x", "gamma"], ["n"], epsilon=1e-6),
             helper.make_node("SkipSimplifiedLayerNormalization", ["n", "skip", "gamma"],
                              ["y", "", "", "sum"], domain=MS, epsilon=1e-5)]
    path = make(tmp_path / "sln.onnx", nodes, [vi("x", F, [2, 5, 16]), vi("skip", F, [2, 5, 16])],
                [vi("y", F, [2, 5, 16]), vi("sum", F, [2, 5, 16])], [gamma])
    feeds = {"x": rng.standard_normal((2, 5, 16)).astype(np.float32),
             "skip": rng.standard_normal((2, 5, 16)).astype(np.float32)}
    check(path, feeds, ds_run_model, ort_runner, tmp_path)


def test_skip_layer_norm_with_beta_and_bias(ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(1)
    inits = [numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), n)
             for n in ("gamma", "beta", "bias")]
    nodes = [helper.make_node("SkipLayerNormalization", ["x", "skip", "gamma", "beta", "bias"],
                              ["y", "", "", "sum"], domain=MS, epsilon=1e-5)]
    path = make(tmp_path / "skln.onnx", nodes, [vi("x", F, [3, 8]), vi("skip", F, [3, 8])],
                [vi("y", F, [3, 8]), vi("sum", F, [3, 8])], inits)
    feeds = {"x": rng.standard_normal((3, 8)).astype(np.float32),
             "skip": rng.standard_normal((3, 8)).astype(np.float32)}
    check(path, feeds, ds_run_model, ort_runner, tmp_path)


def rope_caches(max_pos, head):
    inv = 1.0 / (10000 ** (np.arange(0, head, 2) / head))
    angles = np.arange(max_pos)[:, None] * inv[None]
    return np.cos(angles).astype(np.float32), np.sin(angles).astype(np.float32)


@pytest.mark.parametrize("layout", ["3d", "4d"])
def test_rotary_embedding(layout, ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(2)
    heads, head, seq = 4, 16, 5
    cos, sin = rope_caches(32, head)
    inits = [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin")]
    shape = [1, seq, heads * head] if layout == "3d" else [1, heads, seq, head]
    attrs = {"num_heads": heads} if layout == "3d" else {}
    nodes = [helper.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], domain=MS,
                              interleaved=0, **attrs)]
    path = make(tmp_path / f"rope{layout}.onnx", nodes, [vi("x", F, shape), vi("pos", I64, [1, seq])],
                [vi("y", F, shape)], inits)
    feeds = {"x": rng.standard_normal(shape).astype(np.float32),
             "pos": np.array([[3, 4, 5, 6, 7]], np.int64)}
    check(path, feeds, ds_run_model, ort_runner, tmp_path)


def gqa_model(path, heads, kv_heads, head, rotary, packed):
    cos, sin = rope_caches(64, head)
    inits = [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin")]
    qkv = ["qkv", "", ""] if packed else ["q", "k", "v"]
    node = helper.make_node(
        "GroupQueryAttention", qkv + ["past_k", "past_v", "seqlens_k", "total_len"] +
        (["cos", "sin"] if rotary else []), ["out", "present_k", "present_v"], domain=MS,
        num_heads=heads, kv_num_heads=kv_heads, do_rotary=int(rotary))
    if packed:
        ins = [vi("qkv", F, [1, "s", (heads + 2 * kv_heads) * head])]
    else:
        ins = [vi("q", F, [1, "s", heads * head]), vi("k", F, [1, "s", kv_heads * head]),
               vi("v", F, [1, "s", kv_heads * head])]
    ins += [vi("past_k", F, [1, kv_heads, "p", head]), vi("past_v", F, [1, kv_heads, "p", head]),
            vi("seqlens_k", I32, [1]), vi("total_len", I32, [1])]
    outs = [vi("out", F, [1, "s", heads * head]), vi("present_k", F, [1, kv_heads, "t", head]),
            vi("present_v", F, [1, kv_heads, "t", head])]
    return make(path, [node], ins, outs, inits if rotary else [])


@pytest.mark.parametrize("heads,kv_heads,rotary,packed",
                         [(4, 2, False, False), (4, 2, True, False), (4, 4, True, False),
                          (4, 1, True, True)])
def test_group_query_attention_prefill_then_decode(heads, kv_heads, rotary, packed, ds_run_model,
                                                   ort_runner, tmp_path):
    head = 16
    path = gqa_model(tmp_path / "gqa.onnx", heads, kv_heads, head, rotary, packed)
    rng = np.random.default_rng(3)
    past_k = np.zeros((1, kv_heads, 0, head), np.float32)
    past_v = past_k
    for step, seq in enumerate([6, 1, 1]):
        past = past_k.shape[2]
        feeds = {"past_k": past_k, "past_v": past_v,
                 "seqlens_k": np.array([past + seq - 1], np.int32),
                 "total_len": np.array([past + seq], np.int32)}
        width = {"q": heads * head, "k": kv_heads * head, "v": kv_heads * head}
        if packed:
            feeds["qkv"] = rng.standard_normal((1, seq, sum(width.values()))).astype(np.float32)
        else:
            for name, w in width.items():
                feeds[name] = rng.standard_normal((1, seq, w)).astype(np.float32)
        ours = check(path, feeds, ds_run_model, ort_runner, tmp_path / f"step{step}", atol=1e-5)
        past_k, past_v = ours["present_k"], ours["present_v"]
    assert past_k.shape == (1, kv_heads, 8, head)


def nbits_weights(rng, k, n, bits, block, zero_points):
    """Random codes, scales and zero points in MatMulNBits' layout, and the float weights."""
    blocks = -(-k // block)
    q = rng.integers(0, 2 ** bits, (n, blocks * block)).astype(np.uint8)
    scales = rng.uniform(0.01, 0.1, (n, blocks)).astype(np.float32)
    zp = rng.integers(0, 2 ** bits, (n, blocks)).astype(np.uint8) if zero_points else None
    per = 8 // bits
    packed = np.zeros((n, blocks, block * bits // 8), np.uint8)
    codes = q.reshape(n, blocks, block)
    for i in range(per):
        packed |= (codes[:, :, i::per] << (i * bits)).astype(np.uint8)
    zp_packed = None
    if zp is not None:
        zp_row = -(-blocks * bits // 8)
        zp_packed = np.zeros((n, zp_row), np.uint8)
        for j in range(blocks):
            zp_packed[:, j // per] |= (zp[:, j] << ((j % per) * bits)).astype(np.uint8)
    zero = zp.astype(np.float32) if zp is not None else np.float32(2 ** (bits - 1))
    w = ((codes.astype(np.float32) - (zero[..., None] if zp is not None else zero)) *
         scales[..., None]).reshape(n, -1)[:, :k].T
    return packed, scales, zp_packed, w


@pytest.mark.parametrize("bits,block,k,zero_points,bias",
                         [(4, 32, 64, False, False), (4, 16, 40, True, True), (8, 32, 64, True, False),
                          (4, 128, 96, True, False)])
def test_matmul_nbits(bits, block, k, zero_points, bias, ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(bits * block + k)
    n = 24
    packed, scales, zp, w = nbits_weights(rng, k, n, bits, block, zero_points)
    inits = [numpy_helper.from_array(packed, "B"), numpy_helper.from_array(scales.reshape(-1), "scales")]
    ins = ["a", "B", "scales"]
    if zp is not None:
        inits.append(numpy_helper.from_array(zp.reshape(-1), "zp"))
        ins.append("zp")
    if bias:
        b = rng.standard_normal(n).astype(np.float32)
        inits.append(numpy_helper.from_array(b, "bias"))
        ins += [""] * (5 - len(ins)) + ["bias"]
    node = helper.make_node("MatMulNBits", ins, ["y"], domain=MS, K=k, N=n, bits=bits,
                            block_size=block, accuracy_level=0)
    path = make(tmp_path / "nbits.onnx", [node], [vi("a", F, [3, k])], [vi("y", F, [3, n])], inits)
    a = rng.standard_normal((3, k)).astype(np.float32)
    if bits == 4:
        ours = check(path, {"a": a}, ds_run_model, ort_runner, tmp_path, rtol=1e-4, atol=1e-4)
    else:  # ONNX Runtime 1.20's CPU kernel has 4 bits only: numpy is the oracle
        ours = ds_run_model(path, {"a": a}, tmp_path / "run")
    expected = a @ w + (b if bias else 0)
    np.testing.assert_allclose(ours["y"], expected, rtol=1e-4, atol=1e-4)


def test_gelu_variants(ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(5)
    bias = numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "bias")
    nodes = [helper.make_node("FastGelu", ["x", "bias"], ["fast"], domain=MS),
             helper.make_node("BiasGelu", ["x", "bias"], ["biased"], domain=MS),
             helper.make_node("QuickGelu", ["x"], ["quick"], domain=MS, alpha=1.702)]
    path = make(tmp_path / "gelu.onnx", nodes, [vi("x", F, [4, 8])],
                [vi("fast", F, [4, 8]), vi("biased", F, [4, 8]), vi("quick", F, [4, 8])], [bias])
    check(path, {"x": rng.standard_normal((4, 8)).astype(np.float32)}, ds_run_model, ort_runner,
          tmp_path, rtol=1e-4, atol=1e-5)


def bad(tmp_path, name, node, inits, ins, outs):
    return make(tmp_path / f"{name}.onnx", [node], ins, outs, inits)


@pytest.mark.parametrize("case", ["nbits_blob_size", "nbits_bits", "nbits_g_idx", "gqa_heads",
                                  "gqa_window", "rope_interleaved", "unknown_op"])
def test_bad_contrib_ops_are_one_line(case, ds_run, tmp_path):
    rng = np.random.default_rng(6)
    a = vi("a", F, [2, 64])
    packed, scales, _, _ = nbits_weights(rng, 64, 8, 4, 32, False)
    blob = numpy_helper.from_array(packed, "B")
    sc = numpy_helper.from_array(scales.reshape(-1), "scales")
    y = [vi("y", F, [2, 8])]
    if case == "nbits_blob_size":
        path = bad(tmp_path, case, helper.make_node("MatMulNBits", ["a", "B", "scales"], ["y"], domain=MS,
                                                    K=96, N=8, bits=4, block_size=32), [blob, sc], [a], y)
        text = "B (the packed weights) has 256 ui8 elements, expected 384"
    elif case == "nbits_bits":
        path = bad(tmp_path, case, helper.make_node("MatMulNBits", ["a", "B", "scales"], ["y"], domain=MS,
                                                    K=64, N=8, bits=3, block_size=32), [blob, sc], [a], y)
        text = "bits 3 is not supported"
    elif case == "nbits_g_idx":
        g = numpy_helper.from_array(np.zeros(64, np.int32), "g")
        path = bad(tmp_path, case, helper.make_node("MatMulNBits", ["a", "B", "scales", "", "g"], ["y"],
                                                    domain=MS, K=64, N=8, bits=4, block_size=32),
                   [blob, sc, g], [a], y)
        text = "g_idx"
    elif case in ("gqa_heads", "gqa_window"):
        path = gqa_model(tmp_path / f"{case}.onnx", 4, 3 if case == "gqa_heads" else 2, 16, False, False)
        model = onnx.load(path)
        if case == "gqa_window":
            model.graph.node[0].attribute.append(helper.make_attribute("local_window_size", 8))
        onnx.save(model, path)
        text = "multiple of kv_num_heads" if case == "gqa_heads" else "local_window_size"
    elif case == "rope_interleaved":
        cos, sin = rope_caches(8, 16)
        path = bad(tmp_path, case, helper.make_node("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"],
                                                    domain=MS, interleaved=1),
                   [numpy_helper.from_array(cos, "cos"), numpy_helper.from_array(sin, "sin")],
                   [vi("x", F, [1, 2, 3, 16]), vi("pos", I64, [1, 3])], [vi("y", F, [1, 2, 3, 16])])
        text = "interleaved"
    else:
        path = bad(tmp_path, case, helper.make_node("Attention", ["a"], ["y"], domain=MS), [], [a], y)
        text = "com.microsoft operator is not supported"
    np.savez(tmp_path / "in.npz", a=np.zeros((2, 64), np.float32))
    code, out, err = ds_run([path, "--inputs", tmp_path / "in.npz"])
    assert code == 2, out + err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and text in lines[0] and f"{path.name}" in lines[0], err
