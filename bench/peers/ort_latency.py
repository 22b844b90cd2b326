"""ONNX Runtime's side of `ds-benchmark --vs-onnxruntime`: times one model on one
input set with the same thread count and iteration plan, prints one JSON line.

    python ort_latency.py MODEL INPUTS --threads N --warmup W --iterations I
    python ort_latency.py MODEL INPUTS --threads N --warmup W --serve

--serve keeps the session: after the warmup it prints "ready", then answers each
line "W N" on stdin with W untimed runs and one line of the next N run times in
ms (space-separated), until EOF. ds-benchmark uses it to alternate blocks of its own runs and ONNX Runtime's,
so that both sides see the same moments of a shared machine.

INPUTS is a .npz keyed by input name, a .npy (one-input model) or a test_data_set dir.
"""
import argparse
import glob
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from onnx import numpy_helper, TensorProto


def load_inputs(path, session):
    names = [i.name for i in session.get_inputs()]
    if os.path.isdir(path):
        files = sorted(glob.glob(os.path.join(path, "input_*.pb")),
                       key=lambda f: int(f.rsplit("_", 1)[1].split(".")[0]))
        tensors = []
        for f in files:
            t = TensorProto()
            with open(f, "rb") as fh:
                t.ParseFromString(fh.read())
            tensors.append(numpy_helper.to_array(t))
        return dict(zip(names, tensors))
    if path.endswith(".npy"):
        return {names[0]: np.load(path)}
    data = np.load(path)
    return {n: data[n] for n in names}


def serve(session, feeds):
    print("ready", flush=True)
    for line in sys.stdin:
        warmup, count = (int(x) for x in line.split())
        for _ in range(warmup):
            session.run(None, feeds)
        times = []
        for _ in range(count):
            start = time.perf_counter()
            session.run(None, feeds)
            times.append((time.perf_counter() - start) * 1e3)
        print(" ".join(f"{t:.6f}" for t in times), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("inputs")
    p.add_argument("--threads", type=int, default=0)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--iterations", type=int, default=20)
    p.add_argument("--serve", action="store_true")
    a = p.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    feeds = load_inputs(a.inputs, session)
    for _ in range(a.warmup):
        session.run(None, feeds)
    if a.serve:
        return serve(session, feeds)
    times = []
    for _ in range(a.iterations):
        start = time.perf_counter()
        session.run(None, feeds)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(json.dumps({"peer": f"onnxruntime {ort.__version__}",
                      "median_ms": statistics.median(times),
                      "p90_ms": times[min(len(times) - 1, int(0.9 * len(times)))],
                      "min_ms": times[0]}))


if __name__ == "__main__":
    sys.exit(main())
