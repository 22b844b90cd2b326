#!/usr/bin/env python3
"""Trains the decoder-LM sample and exports it as ONNX prefill and KV-cache decode graphs.

A tiny DeepSeek/Llama-family decoder: byte-level tokens (vocab 256), RMSNorm, rotary position
embeddings, grouped-query attention (8 query heads sharing 4 KV heads), SwiGLU MLPs, and one
DeepSeek-style MoE layer (a shared expert plus 4 routed experts, top-2 by router softmax).
It is trained on English text from the Debian package `fortunes` (see TEXT_FILES).

Outputs (next to this script): lm_prefill.onnx, lm_decode.onnx, calib_tokens.npy,
eval_tokens.npy, meta.json. Deterministic: fixed seeds, one thread, a fixed step count.
See samples/README.md for the environment and the exact command.
"""
import argparse
import json
import math
import os
import time
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1234
FORTUNES_DIR = "/usr/share/games/fortunes"
# Prose collections only (no ASCII art, no non-English, no tiny files).
TEXT_FILES = [
    "computers", "cookie", "definitions", "education", "food", "fortunes", "humorists",
    "kids", "law", "literature", "love", "medicine", "people", "pets", "platitudes",
    "politics", "science", "sports", "wisdom", "work",
]
SEPARATOR = b"\n%\n"  # the fortune file format's own separator, kept as text the model sees

CONFIG = {
    "vocab_size": 256,  # raw bytes
    "dim": 128,
    "num_layers": 4,
    "num_heads": 8,
    "num_kv_heads": 4,
    "head_dim": 16,
    "ffn_hidden": 344,
    "rms_eps": 1e-5,
    "rope_theta": 10000.0,
    "max_context": 256,
    "moe_layer": 2,  # this layer's MLP is the MoE block; the others are dense SwiGLU
    "moe_num_experts": 4,
    "moe_top_k": 2,
    "moe_expert_hidden": 172,
    "moe_shared_hidden": 172,
}

TRAIN_SEQ = 128
TRAIN_BATCH = 16
TRAIN_STEPS = 1400
LR = 3e-3
WARMUP = 50
MOE_AUX_WEIGHT = 0.01
NUM_CALIB = 32
NUM_EVAL = 32
TOKEN_SEQ = 128


# ----------------------------------------------------------------------------- text


def load_splits():
    """Splits the fortune entries: every 20th entry is eval, every 20th (offset 10) calib."""
    entries = []
    for name in TEXT_FILES:
        with open(os.path.join(FORTUNES_DIR, name), "rb") as f:
            data = f.read()
        entries += [e.strip(b"\n") for e in data.split(SEPARATOR) if e.strip()]
    train = [e for i, e in enumerate(entries) if i % 20 not in (0, 10)]
    calib = [e for i, e in enumerate(entries) if i % 20 == 10]
    evals = [e for i, e in enumerate(entries) if i % 20 == 0]

    def stream(es):
        return np.frombuffer(SEPARATOR.join(es), dtype=np.uint8).astype(np.int64)

    return stream(train), stream(calib), stream(evals), len(entries)


def windows(stream, count, length):
    """`count` evenly spaced, non-overlapping windows of `length` tokens."""
    assert len(stream) >= count * length, (len(stream), count, length)
    step = (len(stream) - length) // (count - 1)
    return np.stack([stream[i * step:i * step + length] for i in range(count)])


# ----------------------------------------------------------------------------- model


class RmsNorm(nn.Module):
    def __init__(self, dim, eps):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        # Written as Pow/ReduceMean/Add/Sqrt/Div/Mul, the chain exporters of Llama emit.
        return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class SwiGlu(nn.Module):
    def __init__(self, dim, hidden):
        super().__init__()
        self.gate = nn.Linear(dim, hidden, bias=False)
        self.up = nn.Linear(dim, hidden, bias=False)
        self.down = nn.Linear(hidden, dim, bias=False)

    def forward(self, x):
        return self.down(F.silu(self.gate(x)) * self.up(x))


class MoE(nn.Module):
    """Shared expert + top-k routed experts, computed densely and weighted by a sparse gate.

    Every expert runs on every token and the gate is zero outside each token's top-k, so the
    graph has no data-dependent shapes; routing shows up as TopK + Softmax + GatherElements +
    ScatterElements.
    """

    def __init__(self, cfg):
        super().__init__()
        dim = cfg["dim"]
        self.top_k = cfg["moe_top_k"]
        self.router = nn.Linear(dim, cfg["moe_num_experts"], bias=False)
        self.experts = nn.ModuleList(
            [SwiGlu(dim, cfg["moe_expert_hidden"]) for _ in range(cfg["moe_num_experts"])])
        self.shared = SwiGlu(dim, cfg["moe_shared_hidden"])
        self.aux_loss = None

    def forward(self, x):
        probs = torch.softmax(self.router(x), dim=-1)  # [B, S, E]
        top_idx = torch.topk(probs, self.top_k, dim=-1).indices
        top_w = torch.gather(probs, -1, top_idx)
        top_w = top_w / top_w.sum(-1, keepdim=True)
        gate = torch.zeros_like(probs).scatter(-1, top_idx, top_w)  # [B, S, E], k nonzeros
        out = self.shared(x)
        for e, expert in enumerate(self.experts):
            out = out + gate[..., e:e + 1] * expert(x)
        if self.training:
            # Switch-Transformer load-balancing loss: fraction routed x mean router prob.
            routed = (gate > 0).float().mean(dim=(0, 1))
            self.aux_loss = probs.shape[-1] * (routed * probs.mean(dim=(0, 1))).sum()
        return out


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.h = cfg["num_heads"]
        self.kv = cfg["num_kv_heads"]
        self.hd = cfg["head_dim"]
        dim = cfg["dim"]
        self.q = nn.Linear(dim, self.h * self.hd, bias=False)
        self.k = nn.Linear(dim, self.kv * self.hd, bias=False)
        self.v = nn.Linear(dim, self.kv * self.hd, bias=False)
        self.o = nn.Linear(self.h * self.hd, dim, bias=False)

    def forward(self, x, cos, sin, allowed, past_k, past_v):
        b, s, _ = x.shape
        q = self.q(x).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        if past_k is not None:
            k = torch.cat([past_k, k], dim=2)  # the KV-cache Concat
            v = torch.cat([past_v, v], dim=2)
        present_k, present_v = k, v
        t = k.shape[2]
        rep = self.h // self.kv  # GQA: each KV head serves `rep` query heads
        k = k[:, :, None].expand(b, self.kv, rep, t, self.hd).reshape(b, self.h, t, self.hd)
        v = v[:, :, None].expand(b, self.kv, rep, t, self.hd).reshape(b, self.h, t, self.hd)
        scores = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.hd)
        scores = torch.where(allowed, scores, torch.finfo(torch.float32).min)
        out = torch.matmul(torch.softmax(scores, dim=-1), v)
        out = out.transpose(1, 2).reshape(b, s, self.h * self.hd)
        return self.o(out), present_k, present_v


class Block(nn.Module):
    def __init__(self, cfg, moe):
        super().__init__()
        self.attn_norm = RmsNorm(cfg["dim"], cfg["rms_eps"])
        self.attn = Attention(cfg)
        self.mlp_norm = RmsNorm(cfg["dim"], cfg["rms_eps"])
        self.mlp = MoE(cfg) if moe else SwiGlu(cfg["dim"], cfg["ffn_hidden"])

    def forward(self, x, cos, sin, allowed, past_k, past_v):
        a, pk, pv = self.attn(self.attn_norm(x), cos, sin, allowed, past_k, past_v)
        x = x + a
        return x + self.mlp(self.mlp_norm(x)), pk, pv


class DecoderLM(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg["vocab_size"], cfg["dim"])
        self.layers = nn.ModuleList(
            [Block(cfg, i == cfg["moe_layer"]) for i in range(cfg["num_layers"])])
        self.norm = RmsNorm(cfg["dim"], cfg["rms_eps"])
        self.lm_head = nn.Linear(cfg["dim"], cfg["vocab_size"], bias=False)
        hd = cfg["head_dim"]
        inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2).float() / hd))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, input_ids, past=None):
        """input_ids [B, S]; past: None or a list of (key, value) [B, KV, P, hd] per layer.

        The new tokens sit at positions P .. P+S-1, P taken from the past's shape.
        Returns logits [B, S, vocab] and the presents [B, KV, P+S, hd] per layer.
        """
        s = input_ids.shape[1]
        p = past[0][0].shape[2] if past is not None else 0
        # RoPE angles and the causal mask are built in-graph (Range/Cast/Mul/Cos/Sin,
        # Range/Unsqueeze/LessOrEqual), so one graph serves every length.
        pos = torch.arange(p, p + s, dtype=torch.int64)
        angles = pos[:, None].float() * self.inv_freq[None, :]  # [S, hd/2]
        angles = torch.cat([angles, angles], dim=-1)  # [S, hd]
        cos, sin = torch.cos(angles), torch.sin(angles)
        key_pos = torch.arange(0, p + s, dtype=torch.int64)
        allowed = key_pos[None, :] <= pos[:, None]  # [S, P+S], True where attention is allowed
        x = self.embed(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = past[i] if past is not None else (None, None)
            x, k, v = layer(x, cos, sin, allowed, pk, pv)
            presents.append((k, v))
        return self.lm_head(self.norm(x)), presents

    def aux_loss(self):
        return sum(l.mlp.aux_loss for l in self.layers if isinstance(l.mlp, MoE))


class PrefillGraph(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids):
        logits, presents = self.lm(input_ids)
        return (logits, *[t for kv in presents for t in kv])


class DecodeGraph(nn.Module):
    def __init__(self, lm):
        super().__init__()
        self.lm = lm

    def forward(self, input_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.lm(input_ids, past)
        return (logits, *[t for kv in presents for t in kv])


# ----------------------------------------------------------------------------- training


def train(model, train_stream, steps, log_every=100):
    gen = torch.Generator().manual_seed(SEED)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1},
                             {"params": no_decay, "weight_decay": 0.0}],
                            lr=LR, betas=(0.9, 0.95))

    def lr_at(step):
        if step < WARMUP:
            return LR * (step + 1) / WARMUP
        frac = (step - WARMUP) / max(1, steps - WARMUP)
        return LR * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * frac)))

    data = torch.from_numpy(train_stream)
    offsets = torch.arange(TRAIN_SEQ + 1)
    model.train()
    start = time.time()
    for step in range(steps):
        idx = torch.randint(0, len(data) - TRAIN_SEQ - 1, (TRAIN_BATCH, 1), generator=gen)
        batch = data[idx + offsets]
        logits, _ = model(batch[:, :-1])
        ce = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), batch[:, 1:].reshape(-1))
        loss = ce + MOE_AUX_WEIGHT * model.aux_loss()
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % log_every == 0 or step == steps - 1:
            print(f"step {step}: ce {ce.item():.4f} ({time.time() - start:.0f}s)", flush=True)
    model.eval()


# ----------------------------------------------------------------------------- export + checks


def export(model, out_dir):
    n = CONFIG["num_layers"]
    present_names = [f"present_{kind}_{i}" for i in range(n) for kind in ("key", "value")]
    past_names = [f"past_{kind}_{i}" for i in range(n) for kind in ("key", "value")]
    kw = dict(dynamo=False, opset_version=17, do_constant_folding=True)

    prefill_path = os.path.join(out_dir, "lm_prefill.onnx")
    dyn = {"input_ids": {0: "batch", 1: "seq"}, "logits": {0: "batch", 1: "seq"}}
    dyn.update({name: {0: "batch", 2: "seq"} for name in present_names})
    torch.onnx.export(PrefillGraph(model), (torch.zeros(2, 7, dtype=torch.int64),),
                      prefill_path, input_names=["input_ids"],
                      output_names=["logits"] + present_names, dynamic_axes=dyn, **kw)

    decode_path = os.path.join(out_dir, "lm_decode.onnx")
    kv, hd = CONFIG["num_kv_heads"], CONFIG["head_dim"]
    past = [torch.zeros(2, kv, 5, hd) for _ in past_names]
    dyn = {"input_ids": {0: "batch"}, "logits": {0: "batch"}}
    dyn.update({name: {0: "batch", 2: "past_seq"} for name in past_names})
    dyn.update({name: {0: "batch", 2: "total_seq"} for name in present_names})
    torch.onnx.export(DecodeGraph(model), (torch.zeros(2, 1, dtype=torch.int64), *past),
                      decode_path, input_names=["input_ids"] + past_names,
                      output_names=["logits"] + present_names, dynamic_axes=dyn, **kw)
    for path, seq in ((prefill_path, "seq"), (decode_path, "total_seq")):
        fix_present_shapes(path, seq)
    return prefill_path, decode_path


def fix_present_shapes(path, seq_dim):
    """Names the presents' dims [batch, kv_heads, seq_dim, head_dim] in the graph outputs.

    The TorchScript exporter's shape inference loses head_dim through rotate_half's Slice
    and leaves a made-up symbol there; the true shape is static and known.
    """
    model = onnx.load(path)
    for out in model.graph.output:
        if out.name.startswith("present_"):
            dims = out.type.tensor_type.shape.dim
            for d, v in zip(dims, ("batch", CONFIG["num_kv_heads"], seq_dim, CONFIG["head_dim"])):
                d.Clear()
                if isinstance(v, str):
                    d.dim_param = v
                else:
                    d.dim_value = v
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, path)


def ort_session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])


def perplexity(sess, tokens):
    """exp(mean NLL) of tokens[:, 1:] given their prefixes, over all sequences."""
    logits = sess.run(["logits"], {"input_ids": tokens})[0].astype(np.float64)
    logits = logits[:, :-1]
    logz = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    target = np.take_along_axis(logits, tokens[:, 1:, None], -1)[..., 0]
    nll = float((logz - target).mean())
    return math.exp(nll), nll


def decode_consistency(prefill, decode, tokens, prompt_len):
    """Max |logit diff| between decode steps (after a prefill of prompt_len) and one prefill."""
    n = CONFIG["num_layers"]
    names = [f"present_{kind}_{i}" for i in range(n) for kind in ("key", "value")]
    full = prefill.run(["logits"], {"input_ids": tokens})[0]
    outs = prefill.run(["logits"] + names, {"input_ids": tokens[:, :prompt_len]})
    cache = outs[1:]
    worst = float(np.abs(outs[0] - full[:, :prompt_len]).max())
    for t in range(prompt_len, tokens.shape[1]):
        feed = {"input_ids": tokens[:, t:t + 1]}
        feed.update({f"past_{kind}_{i}": cache[2 * i + j]
                     for i in range(n) for j, kind in enumerate(("key", "value"))})
        outs = decode.run(["logits"] + names, feed)
        cache = outs[1:]
        worst = max(worst, float(np.abs(outs[0][:, 0] - full[:, t]).max()))
    return worst


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.dirname(os.path.abspath(__file__)))
    ap.add_argument("--steps", type=int, default=TRAIN_STEPS,
                    help="training steps (the committed model uses the default)")
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    # The TorchScript exporter (dynamo=False) is used on purpose: it emits the plain-op
    # Llama-style graph (no custom functions); its deprecation notice is noise here.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)

    train_stream, calib_stream, eval_stream, num_entries = load_splits()
    print(f"{num_entries} fortunes: train {len(train_stream)} bytes, "
          f"calib {len(calib_stream)}, eval {len(eval_stream)}")
    calib_tokens = windows(calib_stream, NUM_CALIB, TOKEN_SEQ)
    eval_tokens = windows(eval_stream, NUM_EVAL, TOKEN_SEQ)

    torch.manual_seed(SEED)
    model = DecoderLM(CONFIG)
    num_params = sum(p.numel() for p in model.parameters())
    print(f"{num_params} parameters")
    train(model, train_stream, args.steps)

    with torch.no_grad():
        prefill_path, decode_path = export(model, args.out)
        torch_logits, _ = model(torch.from_numpy(eval_tokens[:4]))
    np.save(os.path.join(args.out, "calib_tokens.npy"), calib_tokens)
    np.save(os.path.join(args.out, "eval_tokens.npy"), eval_tokens)

    prefill, decode = ort_session(prefill_path), ort_session(decode_path)
    ort_logits = prefill.run(["logits"], {"input_ids": eval_tokens[:4]})[0]
    export_diff = float(np.abs(ort_logits - torch_logits.numpy()).max())
    eval_ppl, eval_nll = perplexity(prefill, eval_tokens)
    calib_ppl, _ = perplexity(prefill, calib_tokens)
    consistency = decode_consistency(prefill, decode, eval_tokens[:3, :48], 17)
    print(f"eval perplexity {eval_ppl:.4f} (nll {eval_nll:.4f}), calib perplexity "
          f"{calib_ppl:.4f}; torch vs ort max |diff| {export_diff:.2e}; "
          f"prefill vs decode max |diff| {consistency:.2e}")
    assert consistency < 1e-4, consistency

    graph_ops = {}
    for name, path in (("prefill", prefill_path), ("decode", decode_path)):
        graph_ops[name] = sorted({n.op_type for n in onnx.load(path).graph.node})
    meta = {
        "models": {"prefill": "lm_prefill.onnx", "decode": "lm_decode.onnx"},
        "config": CONFIG,
        "num_parameters": num_params,
        "tokenizer": "bytes: token id = byte value (0..255) of the UTF-8 text, no specials",
        "text": {
            "debian_package": "fortunes (1:1.99.1-7.3, Debian 12)",
            "files": [os.path.join(FORTUNES_DIR, f) for f in TEXT_FILES],
            "split": "entries (separated by '\\n%\\n', in file order) with index % 20 == 0 "
                     "-> eval, == 10 -> calib, the rest train; each split is joined with "
                     "'\\n%\\n'",
            "num_entries": num_entries,
        },
        "tokens": {
            "calib_tokens.npy": [NUM_CALIB, TOKEN_SEQ],
            "eval_tokens.npy": [NUM_EVAL, TOKEN_SEQ],
            "windows": "evenly spaced, non-overlapping windows of each split's byte stream",
        },
        "graphs": {
            "opset": 17,
            "prefill_inputs": "input_ids int64 [batch, seq]",
            "prefill_outputs": "logits float32 [batch, seq, 256], present_key_<i> / "
                               "present_value_<i> float32 [batch, 4, seq, 16], i = 0..3",
            "decode_inputs": "input_ids int64 [batch, 1], past_key_<i> / past_value_<i> "
                             "float32 [batch, 4, past_seq, 16]; the new token's position is "
                             "past_seq (taken from the past's shape), no position input",
            "decode_outputs": "logits float32 [batch, 1, 256], present_key_<i> / "
                              "present_value_<i> float32 [batch, 4, past_seq + 1, 16]",
            "ops": graph_ops,
        },
        "training": {
            "seed": SEED, "steps": args.steps, "batch": TRAIN_BATCH, "seq": TRAIN_SEQ,
            "lr": LR, "warmup": WARMUP, "schedule": "cosine to 0.1 x lr", "optimizer":
            "AdamW(0.9, 0.95), weight decay 0.1 on matrices", "moe_aux_weight": MOE_AUX_WEIGHT,
            "torch": torch.__version__, "threads": 1,
        },
        "eval_perplexity": eval_ppl,
        "eval_nll": eval_nll,
        "calib_perplexity": calib_ppl,
        "perplexity_definition": "exp(mean over all eval_tokens rows and positions 1..127 of "
                                 "-log softmax(prefill logits at t-1)[token t]), computed "
                                 "with onnxruntime on lm_prefill.onnx, float64 log-softmax",
        "prefill_decode_max_abs_diff": consistency,
        "torch_ort_max_abs_diff": export_diff,
    }
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=2)
        f.write("\n")


if __name__ == "__main__":
    main()
