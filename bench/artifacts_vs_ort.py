#!/usr/bin/env python3
"""Issue 3's speed table: the sample artifacts against ONNX Runtime, in interleaved rounds.

Builds (unless --reuse) the digits CNN and sample LM (prefill and decode) artifacts at FP32
and INT8 with ds-optimize, ONNX Runtime's own static QDQ models of all three
(bench/peers/ort_quantize.py, same calibration rows, min-max), then runs `ds-benchmark
ARTIFACT --vs-onnxruntime PEER` for all six, --rounds times in turn (each start waits for a quiet CPU), and prints the median of the
per-run p50s and ratios with their ranges: single runs on a shared machine are not to be
trusted. BENCHMARKS.md quotes its output.

    build/venv/bin/python bench/artifacts_vs_ort.py --work /tmp/ab --rounds 5
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(cmd, **kw):
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, cmd))}\n{proc.stdout}{proc.stderr}")
    return proc.stdout


def wait_for_quiet_cpu(threshold=0.95, seconds=2.0, timeout=60.0):
    """Waits until the CPU was at least `threshold` idle over `seconds` (or `timeout`)."""
    def times():
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        return fields[3] + fields[4], sum(fields)
    start = time.time()
    while time.time() - start < timeout:
        idle0, total0 = times()
        time.sleep(seconds)
        idle1, total1 = times()
        if total1 > total0 and (idle1 - idle0) / (total1 - total0) >= threshold:
            return


def build(work, build_dir, python):
    opt = build_dir / "bin" / "ds-optimize"
    samples = ROOT / "samples"
    import numpy as np
    d = np.load(samples / "digits" / "eval.npz")
    np.savez(work / "digits64.npz", x=d["x"][:64])
    t = np.load(samples / "lm" / "eval_tokens.npy")
    np.savez(work / "lm128.npz", input_ids=t[:1].astype(np.int64))
    digits, lm = samples / "digits" / "digits_cnn.onnx", samples / "lm" / "lm_prefill.onnx"
    decode = samples / "lm" / "lm_decode.onnx"
    # A decode step at position 127: its KV cache is what the FP32 prefill of the first
    # 127 tokens returns (ONNX Runtime computes it), its input the 128th token.
    import onnxruntime as ort
    prefill = ort.InferenceSession(str(lm), providers=["CPUExecutionProvider"])
    names = [o.name for o in prefill.get_outputs()]
    cache = dict(zip(names, prefill.run(None, {"input_ids": t[:1, :127].astype(np.int64)})))
    step = {"input_ids": t[:1, 127:128].astype(np.int64)}
    for name, value in cache.items():
        if name.startswith("present_"):
            step["past_" + name[len("present_"):]] = value
    np.savez(work / "decode127.npz", **step)
    jobs = [
        (digits, ["--precision", "fp32", "--eval", samples / "digits" / "eval.npz"], "d32"),
        (digits, ["--precision", "int8", "--calib", samples / "digits" / "calib.npz",
                  "--eval", samples / "digits" / "eval.npz"], "d8"),
        (lm, ["--precision", "fp32", "--eval", samples / "lm" / "eval_tokens.npy",
              "--input-shape", "input_ids=1x128"], "l32"),
        (lm, ["--precision", "int8", "--calib", samples / "lm" / "calib_tokens.npy",
              "--eval", samples / "lm" / "eval_tokens.npy", "--input-shape", "input_ids=1x128"], "l8"),
        (decode, ["--precision", "fp32", "--eval", work / "decode127.npz"], "dec32"),
        (decode, ["--precision", "int8", "--calib", work / "decode127.npz",
                  "--eval", work / "decode127.npz"], "dec8"),
    ]
    for model, args, name in jobs:
        out = work / name
        if out.exists():
            subprocess.run(["rm", "-rf", str(out)], check=True)
        run([opt, model, *args, "-o", out])
    peers = ROOT / "bench" / "peers" / "ort_quantize.py"
    run([python, peers, digits, "--calib", samples / "digits" / "calib.npz", "--method", "minmax",
         "-o", work / "digits.qdq.onnx"])
    run([python, peers, lm, "--calib", samples / "lm" / "calib_tokens.npy", "--method", "minmax",
         "-o", work / "lm.qdq.onnx"])
    run([python, peers, decode, "--calib", work / "decode127.npz", "--method", "minmax",
         "-o", work / "decode.qdq.onnx"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--work", type=Path, default=Path("/tmp/ab"))
    ap.add_argument("--build", type=Path, default=ROOT / "build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--reuse", action="store_true", help="keep the artifacts already in --work")
    a = ap.parse_args()
    a.work.mkdir(parents=True, exist_ok=True)
    python = a.build / "venv" / "bin" / "python"
    if not a.reuse:
        build(a.work, a.build, python)
    samples = ROOT / "samples"
    digits = ["--inputs", a.work / "digits64.npz", "--iterations", "1000", "--warmup", "50",
              "--batch-sizes", "64,1"]
    lm = ["--inputs", a.work / "lm128.npz", "--iterations", "100", "--warmup", "10"]
    dec = ["--inputs", a.work / "decode127.npz", "--iterations", "1000", "--warmup", "20"]
    cases = [
        ("digits CNN FP32", "d32", digits, samples / "digits" / "digits_cnn.onnx"),
        ("digits CNN INT8 (vs QDQ)", "d8", digits, a.work / "digits.qdq.onnx"),
        ("sample LM prefill FP32, 1x128", "l32", lm, samples / "lm" / "lm_prefill.onnx"),
        ("sample LM prefill INT8 (vs QDQ), 1x128", "l8", lm, a.work / "lm.qdq.onnx"),
        ("sample LM decode FP32, 1 token after 127", "dec32", dec, samples / "lm" / "lm_decode.onnx"),
        ("sample LM decode INT8 (vs QDQ), 1 token after 127", "dec8", dec,
         a.work / "decode.qdq.onnx"),
    ]
    bench = a.build / "bin" / "ds-benchmark"
    results = {}  # (case, batch) -> list of (ds p50, ort p50, ratio)
    for r in range(a.rounds):
        for label, name, args, peer in cases:
            wait_for_quiet_cpu()
            out = run([bench, a.work / name / "host", *args, "--threads", a.threads,
                       "--vs-onnxruntime", peer])
            batch = None
            ds = ort = None
            for line in out.splitlines():
                if m := re.match(r"batch (\d+)", line.strip()):
                    batch = int(m.group(1))
                elif m := re.search(r"ds:\s+p50 ([\d.]+) ms", line):
                    ds = float(m.group(1))
                elif m := re.search(r"onnxruntime:\s+p50 ([\d.]+) ms", line):
                    ort = float(m.group(1))
                elif m := re.search(r"ratio ds/onnxruntime \(p50\): ([\d.]+)x", line):
                    results.setdefault((label, batch), []).append((ds, ort, float(m.group(1))))
        print(f"round {r + 1}/{a.rounds} done", file=sys.stderr)
    print(f"| artifact | ds p50 (median) | ONNX Runtime p50 (median) | ratio ds/ORT (median, range) |")
    print("|---|---|---|---|")
    for (label, batch), runs in results.items():
        ds = statistics.median(x[0] for x in runs)
        ort = statistics.median(x[1] for x in runs)
        ratios = [x[2] for x in runs]
        where = f", batch {batch}" if batch is not None else ""
        print(f"| {label}{where} | {ds:.3f} ms | {ort:.3f} ms | {statistics.median(ratios):.2f}x "
              f"({min(ratios):.2f}-{max(ratios):.2f}) |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
