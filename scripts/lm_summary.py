"""Runs the sample LM's prefill graph on its eval tokens with ds-run (the FP32
reference executor) and prints a summary: perplexity, and agreement with ONNX
Runtime on the same tokens. Used by scripts/demo.sh.

    build/venv/bin/python scripts/lm_summary.py [--build-dir build] [--sequences 8]
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO = Path(__file__).resolve().parents[1]


def perplexity(logits, tokens):
    """exp(mean next-token cross-entropy) of logits [n, seq, vocab] on tokens [n, seq]."""
    logits = logits[:, :-1].astype(np.float64)
    targets = tokens[:, 1:]
    logits -= logits.max(axis=-1, keepdims=True)
    log_probs = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    nll = -np.take_along_axis(log_probs, targets[..., None], axis=-1)
    return float(np.exp(nll.mean()))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--build-dir", default=str(REPO / "build"))
    p.add_argument("--sequences", type=int, default=8)
    a = p.parse_args()
    lm = REPO / "samples" / "lm"
    model = lm / "lm_prefill.onnx"
    tokens = np.load(lm / "eval_tokens.npy")[: a.sequences].astype(np.int64)
    with tempfile.TemporaryDirectory() as tmp:
        np.savez(Path(tmp) / "tokens.npz", input_ids=tokens)
        start = time.perf_counter()
        proc = subprocess.run([str(Path(a.build_dir) / "bin" / "ds-run"), str(model), "--inputs",
                               str(Path(tmp) / "tokens.npz"), "--outputs", str(Path(tmp) / "out")],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - start
        if proc.returncode != 0:
            sys.stderr.write(proc.stderr)
            return proc.returncode
        ours = np.load(Path(tmp) / "out" / "logits.npy")
    reference = ort.InferenceSession(str(model)).run(["logits"], {"input_ids": tokens})[0]
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours.astype(np.float64) - reference).max())
    meta = json.loads((lm / "meta.json").read_text())
    print(f"sample LM: {model.relative_to(REPO)}, {tokens.shape[0]} eval sequences x "
          f"{tokens.shape[1]} tokens, ds-run {seconds:.2f} s (process, incl. import)")
    print(f"  FP32 perplexity, ds reference executor: {perplexity(ours, tokens):.4f}")
    print(f"  FP32 perplexity, onnxruntime:           {perplexity(reference, tokens):.4f}")
    if "eval_perplexity" in meta:
        print(f"  recorded eval perplexity (all eval sequences, meta.json): "
              f"{meta['eval_perplexity']:.4f}")
    print(f"  max |logit difference| vs onnxruntime: {err:.3g} ({err / scale:.2g} of logit scale "
          f"{scale:.3g})")
    print(f"  top-1 agreement with onnxruntime: "
          f"{float(np.mean(ours.argmax(-1) == reference.argmax(-1))) * 100:.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
