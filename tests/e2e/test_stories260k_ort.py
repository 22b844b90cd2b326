"""The llama2.c converter (samples/llama2c) checked with ONNX Runtime: stories260K's 48
reference greedy tokens through prefill (re-running the growing sequence) and through
decode (KV cache fed back), logits against a numpy forward pass written from
../shared/models/README.md, deterministic output, and one-line errors (exit 2) for bad
checkpoints. Synthetic checkpoints cover the untied classifier and MHA/MQA head layouts."""
import json
import struct
from pathlib import Path

import numpy as np
import onnx
import pytest

BOS = 1
SCALE_TOLERANCE = 1e-4


# --- numpy reference, written from the forward pass in ../shared/models/README.md -------

class Llama2cReference:
    """Token-at-a-time float32 forward pass with a KV cache, as llama2.c's run.c does."""

    def __init__(self, path):
        raw = Path(path).read_bytes()
        (self.dim, self.hidden, self.layers, self.heads, self.kv_heads, vocab,
         self.seq_len) = struct.unpack_from("<7i", raw)
        self.vocab = abs(vocab)
        self.head_size = self.dim // self.heads
        self.kv_dim = self.kv_heads * self.head_size
        floats = np.frombuffer(raw, dtype="<f4", offset=28)
        cursor = 0

        def take(*shape):
            nonlocal cursor
            count = int(np.prod(shape))
            array = floats[cursor:cursor + count].reshape(shape)
            cursor += count
            return array

        L, D, F, KV = self.layers, self.dim, self.hidden, self.kv_dim
        self.embedding = take(self.vocab, D)
        self.rms_att, self.wq = take(L, D), take(L, D, D)
        self.wk, self.wv, self.wo = take(L, KV, D), take(L, KV, D), take(L, D, D)
        self.rms_ffn = take(L, D)
        self.w1, self.w2, self.w3 = take(L, F, D), take(L, D, F), take(L, F, D)
        self.rms_final = take(D)
        take(self.seq_len, self.head_size)  # legacy RoPE tables
        self.classifier = self.embedding if vocab > 0 else take(self.vocab, D)
        assert cursor == floats.size
        self.reset()

    def reset(self):
        self.pos = 0
        self.key_cache = np.zeros((self.layers, self.seq_len, self.kv_dim), np.float32)
        self.value_cache = np.zeros_like(self.key_cache)

    @staticmethod
    def rmsnorm(x, weight):
        return weight * (x / np.sqrt(np.mean(x * x) + np.float32(1e-5)))

    def rotate(self, vec, pos):
        i = np.arange(0, vec.size, 2)
        freq = 10000.0 ** -((i % self.head_size) / self.head_size)
        cos = np.cos(pos * freq).astype(np.float32)
        sin = np.sin(pos * freq).astype(np.float32)
        v0, v1 = vec[0::2].copy(), vec[1::2].copy()
        vec[0::2] = v0 * cos - v1 * sin
        vec[1::2] = v0 * sin + v1 * cos

    def step(self, token):
        """Logits [vocab] for token at the next position."""
        pos, hs = self.pos, self.head_size
        x = self.embedding[token].copy()
        for l in range(self.layers):
            h = self.rmsnorm(x, self.rms_att[l])
            q, k, v = self.wq[l] @ h, self.wk[l] @ h, self.wv[l] @ h
            self.rotate(q, pos)
            self.rotate(k, pos)
            self.key_cache[l, pos], self.value_cache[l, pos] = k, v
            out = np.empty(self.dim, np.float32)
            for j in range(self.heads):
                kv = j // (self.heads // self.kv_heads)
                keys = self.key_cache[l, :pos + 1, kv * hs:(kv + 1) * hs]
                values = self.value_cache[l, :pos + 1, kv * hs:(kv + 1) * hs]
                scores = keys @ q[j * hs:(j + 1) * hs] / np.float32(np.sqrt(hs))
                probs = np.exp(scores - scores.max())
                probs /= probs.sum()
                out[j * hs:(j + 1) * hs] = probs @ values
            x = x + self.wo[l] @ out
            h = self.rmsnorm(x, self.rms_ffn[l])
            gate = self.w1[l] @ h
            x = x + self.w2[l] @ (gate / (np.float32(1) + np.exp(-gate)) * (self.w3[l] @ h))
        self.pos += 1
        return self.classifier @ self.rmsnorm(x, self.rms_final)

    def logits(self, tokens):
        """Logits [len(tokens), vocab] for a sequence from position 0."""
        self.reset()
        return np.stack([self.step(t) for t in tokens])


def assert_close_to_scale(ours, reference, what):
    scale = float(np.max(np.abs(reference)))
    err = float(np.max(np.abs(ours.astype(np.float64) - reference)))
    assert err <= SCALE_TOLERANCE * scale, f"{what}: max abs err {err:.3g} > 1e-4 x {scale:.3g}"


# --- stories260K ---------------------------------------------------------------------

@pytest.fixture
def reference_tokens(stories260k_reference_tokens):
    return stories260k_reference_tokens


def test_converted_graphs_have_the_promised_interface(stories260k_onnx):
    config = json.loads((stories260k_onnx / "config.json").read_text())
    assert (config["dim"], config["n_layers"], config["n_heads"], config["n_kv_heads"],
            config["vocab_size"], config["head_size"]) == (64, 5, 8, 4, 512, 8)
    kv = [f"{k}_{l}" for l in range(5) for k in ("key", "value")]
    for kind in ("prefill", "decode"):
        model = onnx.load(stories260k_onnx / f"{kind}.onnx")
        onnx.checker.check_model(model, full_check=True)
        assert [(o.domain, o.version) for o in model.opset_import] == [("", 17)]
        inputs = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
                  for i in model.graph.input}
        outputs = {o.name: [d.dim_param or d.dim_value for d in o.type.tensor_type.shape.dim]
                   for o in model.graph.output}
        assert list(outputs) == config[kind]["outputs"] == ["logits"] + [f"present_{n}"
                                                                         for n in kv]
        assert list(inputs) == config[kind]["inputs"]
        ops = {n.op_type for n in model.graph.node}
        # Decomposed the way exporters write it, for the fusion passes to find.
        assert {"Gather", "Pow", "ReduceMean", "Sqrt", "Div", "Split", "Concat", "Expand",
                "Softmax", "Sigmoid", "Where", "Range", "MatMul", "Transpose"} <= ops
        # Tied classifier: one embedding table, used by the Gather and the classifier.
        users = [n.op_type for n in model.graph.node if "tok_embeddings.weight" in n.input]
        assert sorted(users) == ["Gather", "Transpose"]
    prefill = onnx.load(stories260k_onnx / "prefill.onnx")
    assert "Trilu" in {n.op_type for n in prefill.graph.node}
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
           for i in prefill.graph.input}
    assert ins == {"input_ids": ["batch", "seq"]}
    decode = onnx.load(stories260k_onnx / "decode.onnx")
    ins = {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim]
           for i in decode.graph.input}
    assert ins["input_ids"] == ["batch", 1]
    assert ins["past_key_3"] == ["batch", 4, "past_seq", 8]


def test_conversion_is_deterministic(stories260k, stories260k_onnx, convert_llama2c,
                                     tmp_path):
    code, stdout, stderr = convert_llama2c(stories260k, tmp_path)
    assert code == 0, stdout + stderr
    for name in ("prefill.onnx", "decode.onnx", "config.json"):
        assert (tmp_path / name).read_bytes() == (stories260k_onnx / name).read_bytes(), name


def test_numpy_reference_reproduces_reference_tokens(stories260k, reference_tokens,
                                                     greedy_decode):
    reference = Llama2cReference(stories260k)

    def step(tokens):  # greedy_decode calls once per new token, in order
        return reference.step(tokens[-1])

    assert greedy_decode(step, [BOS], 48) == reference_tokens


def test_prefill_greedy_reproduces_reference_tokens(stories260k_onnx, reference_tokens, ort_runner,
                                                    greedy_decode, full_sequence_stepper):
    step = full_sequence_stepper(ort_runner, stories260k_onnx / "prefill.onnx")
    assert greedy_decode(step, [BOS], 48) == reference_tokens


def test_decode_greedy_with_kv_cache_reproduces_reference_tokens(
        stories260k_onnx, reference_tokens, ort_runner, greedy_decode, kv_cache_stepper):
    step = kv_cache_stepper(ort_runner, stories260k_onnx / "prefill.onnx",
                            stories260k_onnx / "decode.onnx")
    assert greedy_decode(step, [BOS], 48) == reference_tokens


def test_decode_from_an_empty_cache_reproduces_reference_tokens(
        stories260k_onnx, reference_tokens, ort_runner, greedy_decode):
    decode = stories260k_onnx / "decode.onnx"
    past = {f"past_{k}_{l}": np.zeros((1, 4, 0, 8), np.float32)
            for l in range(5) for k in ("key", "value")}

    def step(tokens):
        outputs = ort_runner(decode, {"input_ids": np.array([[tokens[-1]]]), **past})
        past.update({n.replace("present_", "past_"): v for n, v in outputs.items()
                     if n.startswith("present_")})
        return outputs["logits"][0, -1]

    assert greedy_decode(step, [BOS], 48) == reference_tokens


def test_logits_agree_with_numpy_reference(stories260k, stories260k_onnx, reference_tokens,
                                           ort_runner):
    tokens = [BOS] + reference_tokens
    reference = Llama2cReference(stories260k).logits(tokens)
    prefill, decode = stories260k_onnx / "prefill.onnx", stories260k_onnx / "decode.onnx"
    whole = ort_runner(prefill, {"input_ids": np.array([tokens])})
    assert whole["logits"].shape == (1, 49, 512)
    assert_close_to_scale(whole["logits"][0], reference, "prefill logits")
    for l in range(5):
        assert whole[f"present_key_{l}"].shape == (1, 4, 49, 8)

    # Prompt of 10 through prefill, the rest one token at a time through decode.
    outputs = ort_runner(prefill, {"input_ids": np.array([tokens[:10]])})
    decoded = [outputs["logits"][0]]
    for token in tokens[10:]:
        feeds = {n.replace("present_", "past_"): v for n, v in outputs.items()
                 if n.startswith("present_")}
        outputs = ort_runner(decode, {"input_ids": np.array([[token]]), **feeds})
        decoded.append(outputs["logits"][0])
    assert outputs["present_value_4"].shape == (1, 4, 49, 8)
    assert_close_to_scale(np.concatenate(decoded), reference, "decode logits")


def test_batched_prefill_and_decode_match_single_rows(stories260k_onnx, ort_runner):
    rows = np.array([[BOS, 461, 461, 401, 401], [BOS, 300, 12, 7, 511]], dtype=np.int64)
    prefill, decode = stories260k_onnx / "prefill.onnx", stories260k_onnx / "decode.onnx"
    batched = ort_runner(prefill, {"input_ids": rows})
    next_ids = np.array([[401], [99]], dtype=np.int64)
    feeds = {n.replace("present_", "past_"): v for n, v in batched.items()
             if n.startswith("present_")}
    batched_decode = ort_runner(decode, {"input_ids": next_ids, **feeds})
    for b in range(2):
        single = ort_runner(prefill, {"input_ids": np.concatenate([rows[b], next_ids[b]])[None]})
        np.testing.assert_allclose(batched["logits"][b], single["logits"][0, :5], atol=1e-4)
        np.testing.assert_allclose(batched_decode["logits"][b, 0], single["logits"][0, 5],
                                   atol=1e-4)


# --- synthetic checkpoints: other head layouts, untied classifier, bad input ---------

def write_checkpoint(path, dim=16, hidden=24, layers=2, heads=4, kv_heads=2, vocab=32,
                     seq_len=16, shared=True, seed=0):
    rng = np.random.default_rng(seed)
    hs, kv_dim = dim // heads, kv_heads * dim // heads
    shapes = [(vocab, dim), (layers, dim), (layers, dim, dim), (layers, kv_dim, dim),
              (layers, kv_dim, dim), (layers, dim, dim), (layers, dim), (layers, hidden, dim),
              (layers, dim, hidden), (layers, hidden, dim), (dim,), (seq_len, hs)]
    if not shared:
        shapes.append((vocab, dim))
    arrays = [rng.standard_normal(s).astype("<f4") * np.float32(0.5) for s in shapes]
    for norm in (1, 6, 10):
        arrays[norm] = np.float32(1) + arrays[norm] * np.float32(0.2)
    header = struct.pack("<7i", dim, hidden, layers, heads, kv_heads,
                         vocab if shared else -vocab, seq_len)
    Path(path).write_bytes(header + b"".join(a.tobytes() for a in arrays))
    return path


@pytest.mark.parametrize("heads,kv_heads,shared", [(4, 4, True), (4, 2, False), (4, 1, True)],
                         ids=["mha-tied", "gqa-untied", "mqa-tied"])
def test_synthetic_checkpoint_matches_numpy_reference(convert_llama2c, tmp_path, ort_runner,
                                                      heads, kv_heads, shared):
    ckpt = write_checkpoint(tmp_path / "tiny.bin", heads=heads, kv_heads=kv_heads,
                            shared=shared)
    code, stdout, stderr = convert_llama2c(ckpt, tmp_path / "onnx")
    assert code == 0, stdout + stderr
    tokens = np.random.default_rng(1).integers(0, 32, size=(2, 12))
    reference = Llama2cReference(ckpt)
    prefill = ort_runner(tmp_path / "onnx" / "prefill.onnx", {"input_ids": tokens[:, :11]})
    feeds = {n.replace("present_", "past_"): v for n, v in prefill.items()
             if n.startswith("present_")}
    decode = ort_runner(tmp_path / "onnx" / "decode.onnx",
                        {"input_ids": tokens[:, 11:], **feeds})
    for b in range(2):
        expected = reference.logits(tokens[b])
        assert_close_to_scale(prefill["logits"][b], expected[:11], f"prefill row {b}")
        assert_close_to_scale(decode["logits"][b], expected[11:], f"decode row {b}")


def expect_error(convert_llama2c, tmp_path, checkpoint, *fragments):
    out = tmp_path / "out"
    code, _, err = convert_llama2c(checkpoint, out)
    assert code == 2, f"exit {code}: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("convert_llama2c: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"'{fragment}' not in: {lines[0]}"
    assert not (out / "prefill.onnx").exists()


def test_missing_checkpoint_is_one_line_error(convert_llama2c, tmp_path):
    expect_error(convert_llama2c, tmp_path, tmp_path / "absent.bin", "absent.bin",
                 "cannot read")


def test_truncated_checkpoint_is_one_line_error(convert_llama2c, tmp_path):
    ckpt = write_checkpoint(tmp_path / "tiny.bin")
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:-100])
    expect_error(convert_llama2c, tmp_path, ckpt, "truncated", str(len(data) - 100),
                 str(len(data)))
    ckpt.write_bytes(data[:10])
    expect_error(convert_llama2c, tmp_path, ckpt, "truncated", "header")


def test_trailing_bytes_are_an_error(convert_llama2c, tmp_path):
    ckpt = write_checkpoint(tmp_path / "tiny.bin")
    ckpt.write_bytes(ckpt.read_bytes() + b"\0" * 8)
    expect_error(convert_llama2c, tmp_path, ckpt, "8 unexpected trailing bytes")


def test_non_finite_weights_are_an_error(convert_llama2c, tmp_path):
    ckpt = write_checkpoint(tmp_path / "tiny.bin")
    data = bytearray(ckpt.read_bytes())
    offset = 28 + 4 * (32 * 16 + 2 * 16 + 5)  # a float inside wq
    data[offset:offset + 4] = struct.pack("<f", float("nan"))
    ckpt.write_bytes(bytes(data))
    expect_error(convert_llama2c, tmp_path, ckpt, "non-finite values in wq")


@pytest.mark.parametrize("header,fragment", [
    ((16, 24, 2, 0, 2, 32, 16), "n_heads = 0"),
    ((16, 24, 2, 3, 3, 32, 16), "not a multiple of n_heads"),
    ((16, 24, 2, 4, 3, 32, 16), "not a multiple of n_kv_heads"),
    ((16, 24, 2, 16, 16, 32, 16), "head size 1 is odd"),
    ((16, 24, 2, 4, 2, 0, 16), "vocab_size = 0"),
])
def test_invalid_header_is_one_line_error(convert_llama2c, tmp_path, header, fragment):
    ckpt = tmp_path / "bad.bin"
    ckpt.write_bytes(struct.pack("<7i", *header) + b"\0" * 4096)
    expect_error(convert_llama2c, tmp_path, ckpt, fragment)


def test_versioned_export_format_is_rejected_clearly(convert_llama2c, tmp_path):
    ckpt = tmp_path / "v1.bin"
    ckpt.write_bytes(struct.pack("<Ii7i", 0x616B3432, 1, 16, 24, 2, 4, 2, 32, 16) + b"\0" * 256)
    expect_error(convert_llama2c, tmp_path, ckpt, "version 1", "not supported")
