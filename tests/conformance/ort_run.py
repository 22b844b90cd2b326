#!/usr/bin/env python3
"""The ds-run command-line contract, implemented with ONNX Runtime: a check of the
conformance harness itself (test data, allowlist, tolerances, result handling)
against the reference implementation, independent of our compiler.

    run_node_tests.py --ds-run "build/venv/bin/python tests/conformance/ort_run.py"

Only what run_node_tests.py uses: MODEL --inputs DIR --compare DIR --rtol R --atol A,
with DIR an ONNX test_data_set directory. Exit 0 match, 1 mismatch, 2 error.
"""
import argparse
import glob
import os
import re
import sys

import numpy as np


def read_pbs(directory, prefix):
    import onnx
    from onnx import numpy_helper
    files = glob.glob(os.path.join(directory, f"{prefix}_*.pb"))
    files.sort(key=lambda f: int(re.search(r"_(\d+)\.pb$", f).group(1)))
    out = []
    for f in files:
        t = onnx.TensorProto()
        with open(f, "rb") as fh:
            t.ParseFromString(fh.read())
        out.append(numpy_helper.to_array(t))
    return out


def compare(got, want, rtol, atol):
    """'' when equal within tolerance (NaN matches NaN), else the problem."""
    if got.shape != want.shape:
        return f"shape {list(got.shape)} != expected {list(want.shape)}"
    if got.dtype != want.dtype:
        return f"dtype {got.dtype} != expected {want.dtype}"
    if got.dtype.kind not in "fc":
        bad = int(np.sum(got != want))
        return f"{bad} elements differ" if bad else ""
    g, w = got.astype(np.float64), want.astype(np.float64)
    both_nan = np.isnan(g) & np.isnan(w)
    with np.errstate(invalid="ignore"):
        ok = (np.abs(g - w) <= atol + rtol * np.abs(w)) | both_nan | (g == w)
    bad = int(ok.size - np.count_nonzero(ok))
    if not bad:
        return ""
    err = np.where(ok, 0, np.abs(g - w))
    return f"{bad} of {ok.size} outside rtol {rtol} atol {atol}, max abs err {np.nanmax(err):.3g}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--inputs", required=True)
    ap.add_argument("--compare", required=True)
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-7)
    args = ap.parse_args()
    try:
        import onnxruntime as ort
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = 1
        sess = ort.InferenceSession(args.model, opts, providers=["CPUExecutionProvider"])
        inputs = read_pbs(args.inputs, "input")
        names = [i.name for i in sess.get_inputs()]
        if len(inputs) > len(names):
            raise ValueError(f"{len(inputs)} inputs given, model takes {len(names)}")
        results = sess.run(None, dict(zip(names, inputs)))
        expected = read_pbs(args.compare, "output")
    except Exception as e:  # one line, like ds-run's exit 2
        print(str(e).replace("\n", " ")[:300], file=sys.stderr)
        return 2
    if len(results) != len(expected):
        print(f"{len(results)} outputs, {len(expected)} expected", file=sys.stderr)
        return 2
    ok = True
    for out, got, want in zip(sess.get_outputs(), results, expected):
        problem = compare(np.asarray(got), want, args.rtol, args.atol)
        print(f"  {out.name}: {'MISMATCH: ' + problem if problem else 'ok'}")
        ok &= not problem
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
