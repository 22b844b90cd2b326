#!/usr/bin/env python3
"""Convert a llama2.c checkpoint (legacy format) into a Hugging Face LlamaForCausalLM directory.

Usage: llama2c_to_hf.py CHECKPOINT.bin OUT_DIR [--verify]

Writes OUT_DIR/config.json and OUT_DIR/model.safetensors (tied embeddings), plus a minimal
byte-level tokenizer (tokenizer.json etc.) so that tools that want a tokenizer find one. The
tokenizer is NOT the model's real vocabulary (llama2.c ships none here); work in token ids.

llama2.c applies rotary embedding to interleaved pairs (2i, 2i+1); HF Llama rotates halves
(i, i + head_dim/2). The rows of wq and wk are permuted per head to convert, exactly as in
HF's convert_llama_weights_to_hf.py `permute`.

--verify: greedy-decode 48 tokens from BOS (id 1) with transformers and compare them with the
reference tokens of stories260K.bin (see shared/models/README.md).
"""
import json
import os
import struct
import sys

import numpy as np

REFERENCE_STORIES260K = [
    461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452,
    288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 293, 430, 417,
    363, 416, 315, 342, 418, 424, 400, 442, 402, 303, 266, 299,
]


def read_llama2c(path):
    with open(path, "rb") as f:
        data = f.read()
    dim, hidden, n_layers, n_heads, n_kv_heads, vocab, seq_len = struct.unpack("<7i", data[:28])
    shared = vocab > 0
    vocab = abs(vocab)
    head_dim = dim // n_heads
    kv_dim = n_kv_heads * head_dim
    floats = np.frombuffer(data, dtype="<f4", offset=28)
    pos = 0

    def take(*shape):
        nonlocal pos
        n = int(np.prod(shape))
        a = floats[pos:pos + n].reshape(shape).copy()
        pos += n
        return a

    w = {}
    w["tok"] = take(vocab, dim)
    w["rms_att"] = take(n_layers, dim)
    w["wq"] = take(n_layers, dim, dim)
    w["wk"] = take(n_layers, kv_dim, dim)
    w["wv"] = take(n_layers, kv_dim, dim)
    w["wo"] = take(n_layers, dim, dim)
    w["rms_ffn"] = take(n_layers, dim)
    w["w1"] = take(n_layers, hidden, dim)
    w["w2"] = take(n_layers, dim, hidden)
    w["w3"] = take(n_layers, hidden, dim)
    w["rms_final"] = take(dim)
    pos += seq_len * head_dim  # legacy freq_cis_real + freq_cis_imag: 2 * seq_len * head_dim/2
    if not shared:
        w["cls"] = take(vocab, dim)
    if pos != floats.size:
        raise ValueError(f"size mismatch: consumed {pos} floats of {floats.size}")
    cfg = dict(dim=dim, hidden=hidden, n_layers=n_layers, n_heads=n_heads,
               n_kv_heads=n_kv_heads, vocab=vocab, seq_len=seq_len, shared=shared)
    return cfg, w


def permute(w, n_heads):
    """Interleaved-pair rotary rows -> rotate-half rows (HF convert_llama_weights_to_hf)."""
    dim_out, dim_in = w.shape
    head_dim = dim_out // n_heads
    return (w.reshape(n_heads, head_dim // 2, 2, dim_in)
             .transpose(0, 2, 1, 3)
             .reshape(dim_out, dim_in))


def write_byte_tokenizer(out_dir, vocab):
    """A minimal byte-level tokenizer (ids 0..2 specials, 3..258 bytes, rest unused)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, decoders
    from transformers import PreTrainedTokenizerFast

    toks = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        if len(toks) >= vocab:
            break
        toks[f"<0x{b:02X}>"] = len(toks)
    while len(toks) < vocab:
        toks[f"<unused{len(toks)}>"] = len(toks)
    tk = Tokenizer(models.WordLevel(vocab=toks, unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    tk.decoder = decoders.Fuse()
    fast = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="<unk>", bos_token="<s>",
                                   eos_token="</s>", model_max_length=4096)
    fast.save_pretrained(out_dir)


def convert(ckpt, out_dir):
    import torch
    from safetensors.torch import save_file

    cfg, w = read_llama2c(ckpt)
    L, nh, nkv = cfg["n_layers"], cfg["n_heads"], cfg["n_kv_heads"]
    t = {}
    t["model.embed_tokens.weight"] = w["tok"]
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = w["rms_att"][i]
        t[p + "self_attn.q_proj.weight"] = permute(w["wq"][i], nh)
        t[p + "self_attn.k_proj.weight"] = permute(w["wk"][i], nkv)
        t[p + "self_attn.v_proj.weight"] = w["wv"][i]
        t[p + "self_attn.o_proj.weight"] = w["wo"][i]
        t[p + "post_attention_layernorm.weight"] = w["rms_ffn"][i]
        t[p + "mlp.gate_proj.weight"] = w["w1"][i]
        t[p + "mlp.down_proj.weight"] = w["w2"][i]
        t[p + "mlp.up_proj.weight"] = w["w3"][i]
    t["model.norm.weight"] = w["rms_final"]
    if not cfg["shared"]:
        t["lm_head.weight"] = w["cls"]
    os.makedirs(out_dir, exist_ok=True)
    save_file({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in t.items()},
              os.path.join(out_dir, "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_size": cfg["dim"],
        "intermediate_size": cfg["hidden"],
        "num_hidden_layers": L,
        "num_attention_heads": nh,
        "num_key_value_heads": nkv,
        "head_dim": cfg["dim"] // nh,
        "vocab_size": cfg["vocab"],
        "max_position_embeddings": cfg["seq_len"],
        "rms_norm_eps": 1e-5,
        "rope_theta": 10000.0,
        "rope_scaling": None,
        "hidden_act": "silu",
        "attention_bias": False,
        "attention_dropout": 0.0,
        "mlp_bias": False,
        "tie_word_embeddings": cfg["shared"],
        "bos_token_id": 1,
        "eos_token_id": 2,
        "pad_token_id": None,
        "initializer_range": 0.02,
        "pretraining_tp": 1,
        "use_cache": True,
        "torch_dtype": "float32",
    }
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    write_byte_tokenizer(out_dir, cfg["vocab"])
    return cfg


def greedy(model_dir, steps=48):
    import torch
    from transformers import LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    model.eval()
    # Manual loop with KV cache: exactly llama2.c's "feed back the argmax".
    ids = torch.tensor([[1]])
    out_tokens, past = [], None
    with torch.no_grad():
        for pos in range(steps):
            r = model(input_ids=ids, past_key_values=past, use_cache=True,
                      position_ids=torch.tensor([[pos]]))
            past = r.past_key_values
            nxt = int(r.logits[0, -1].argmax())
            out_tokens.append(nxt)
            ids = torch.tensor([[nxt]])
        gen = model.generate(torch.tensor([[1]]), attention_mask=torch.ones(1, 1, dtype=torch.long),
                             do_sample=False, max_new_tokens=steps, min_new_tokens=steps,
                             pad_token_id=0)
    return out_tokens, gen[0, 1:].tolist()


def main():
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 2:
        print(__doc__)
        return 2
    cfg = convert(args[0], args[1])
    print("converted:", cfg)
    if "--verify" in sys.argv:
        loop, gen = greedy(args[1])
        print("manual loop :", ",".join(map(str, loop)))
        print("generate()  :", ",".join(map(str, gen)))
        ok = loop == REFERENCE_STORIES260K and gen == REFERENCE_STORIES260K
        print("reference match:", ok)
        return 0 if ok else 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
