#!/usr/bin/env python3
"""Write a tiny RANDOM-weight Hugging Face LlamaForCausalLM (torch.manual_seed(0)) to OUT_DIR.

Usage: make_tiny_llama.py OUT_DIR [--heads H --kv-heads K]

hidden 64, intermediate 172, 2 layers, 8 heads, 4 KV heads (by default), vocab 256, 128
positions. Weights come from transformers' own initialisation (normal std 0.02, RMSNorm
weights 1); tie_word_embeddings is left at LlamaConfig's default (False). ../genai uses
--heads 4 --kv-heads 2 (head size 16): onnxruntime's CPU GroupQueryAttention with
do_rotary=1, which the genai builder emits, rejects head sizes that are not a multiple of 16.
"""
import argparse
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_to_hf import write_byte_tokenizer  # noqa: E402


def main():
    ap = argparse.ArgumentParser(usage=__doc__)
    ap.add_argument("out")
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--kv-heads", type=int, default=4)
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                      num_attention_heads=a.heads, num_key_value_heads=a.kv_heads, vocab_size=256,
                      max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                      bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(a.out, safe_serialization=True)
    write_byte_tokenizer(a.out, cfg.vocab_size)
    print("wrote", a.out, "head_size", cfg.hidden_size // cfg.num_attention_heads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
