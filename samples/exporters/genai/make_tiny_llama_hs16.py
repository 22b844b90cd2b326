#!/usr/bin/env python3
"""Write a tiny RANDOM-weight Hugging Face LlamaForCausalLM with head size 16 to OUT_DIR.

Usage: make_tiny_llama_hs16.py OUT_DIR

Like ../optimum/make_tiny_llama.py (same seed, vocab, sizes and placeholder tokenizer, which
it imports from ../optimum/llama2c_to_hf.py) but 4 heads / 2 KV heads, so head_size =
64 / 4 = 16: onnxruntime's CPU GroupQueryAttention with do_rotary=1 (what the genai builder
emits) rejects head sizes that are not a multiple of 16.

torch.manual_seed(0); hidden 64, intermediate 172, 2 layers, 4 heads, 2 KV heads, vocab 256,
128 positions, rms_norm_eps 1e-5, rope_theta 10000, bos 1, eos 2; transformers' own init;
tie_word_embeddings left at LlamaConfig's default (False).
"""
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "optimum"))
from llama2c_to_hf import write_byte_tokenizer  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = sys.argv[1]
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, vocab_size=256,
                      max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                      bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    write_byte_tokenizer(out, cfg.vocab_size)
    print("wrote", out, "head_size", cfg.hidden_size // cfg.num_attention_heads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
