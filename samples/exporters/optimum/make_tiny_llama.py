#!/usr/bin/env python3
"""Write a tiny RANDOM-weight Hugging Face LlamaForCausalLM (torch.manual_seed(0)) to OUT_DIR.

Usage: make_tiny_llama.py OUT_DIR

hidden 64, intermediate 172, 2 layers, 8 heads, 4 KV heads, vocab 256, 128 positions.
Weights come from transformers' own initialisation (normal std 0.02, RMSNorm weights 1);
tie_word_embeddings is left at LlamaConfig's default (False).
"""
import os
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from llama2c_to_hf import write_byte_tokenizer  # noqa: E402


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    out = sys.argv[1]
    torch.manual_seed(0)
    cfg = LlamaConfig(hidden_size=64, intermediate_size=172, num_hidden_layers=2,
                      num_attention_heads=8, num_key_value_heads=4, vocab_size=256,
                      max_position_embeddings=128, rms_norm_eps=1e-5, rope_theta=10000.0,
                      bos_token_id=1, eos_token_id=2)
    model = LlamaForCausalLM(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    write_byte_tokenizer(out, cfg.vocab_size)
    print("wrote", out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
