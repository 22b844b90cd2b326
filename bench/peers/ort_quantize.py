"""ONNX Runtime's own static INT8 as the speed and accuracy peer of ds-optimize's INT8
artifacts: writes the QDQ model that `ds-benchmark ARTIFACT --vs-onnxruntime` then times.

    python ort_quantize.py MODEL.onnx --calib X.npz|X.npy [--method minmax|entropy|percentile]
                           [--percentile P] [--op-types MatMul,Gemm,Conv|all] -o MODEL.qdq.onnx

The setup mirrors ds-optimize's host INT8 so the comparison is like for like: ORT's
preprocessing (quant_pre_process: shape inference, BatchNorm folding), QDQ format, uint8
activations, int8 per-channel weights, and the calibration rows fed as ds-optimize splits them
(rows of axis 0 in runs of the model's batch size, 16 when it is dynamic). By default only
MatMul/Gemm/Conv are quantized, the op types ds-optimize quantizes (ORT's default list also
quantizes Softmax inputs and attention products, which ruins the sample LM's accuracy).

Bad input: one line on stderr naming the file, exit 2.
"""
import argparse
import os
import sys
import tempfile

import numpy as np
import onnx
from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat,
                                      QuantType, quantize_static)
from onnxruntime.quantization.shape_inference import quant_pre_process

METHODS = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
           "percentile": CalibrationMethod.Percentile}
DYNAMIC_BATCH_ROWS = 16  # ds-optimize's run length when the batch dim is dynamic


class BadInput(Exception):
    pass


def graph_inputs(model):
    """(name, fixed batch size or None) of the model's real inputs (initializers excluded)."""
    initializers = {t.name for t in model.graph.initializer}
    out = []
    for value in model.graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim
        batch = dims[0].dim_value if dims and dims[0].HasField("dim_value") else None
        out.append((value.name, batch))
    return out


def load_calibration(path, inputs):
    """name -> array for every model input, from a .npz keyed by input name or a .npy."""
    if not os.path.isfile(path):
        raise BadInput(f"{path}: no such file")
    names = [name for name, _ in inputs]
    if path.endswith(".npy"):
        if len(names) != 1:
            raise BadInput(f"{path}: a .npy feeds a one-input model, this one has inputs "
                           f"{names}; pass a .npz keyed by input name")
        return {names[0]: np.load(path)}
    if not path.endswith(".npz"):
        raise BadInput(f"{path}: not a .npz or .npy file")
    data = np.load(path)
    missing = [n for n in names if n not in data.files]
    if missing:
        raise BadInput(f"{path}: has no array for input(s) {missing} (has {data.files})")
    return {n: data[n] for n in names}


class RowChunks(CalibrationDataReader):
    """Feeds rows [i, i + rows) of every input, as ds-optimize's calibration does. With a
    fixed batch size a short last run cannot be fed and is dropped; with a dynamic one it is
    fed as it is."""

    def __init__(self, arrays, rows, fixed_batch):
        counts = {a.shape[0] if a.ndim else 1 for a in arrays.values()}
        if len(counts) != 1:
            raise BadInput(f"calibration inputs disagree on the number of rows: {sorted(counts)}")
        total = counts.pop()
        starts = range(0, total - rows + 1 if fixed_batch else total, rows)
        if not starts:
            raise BadInput(f"calibration data has {total} rows, fewer than the model's batch {rows}")
        self.feeds = iter([{n: a[i:i + rows] for n, a in arrays.items()} for i in starts])

    def get_next(self):
        return next(self.feeds, None)


def quantize(model_path, calib_path, method, percentile, op_types, out_path):
    model = onnx.load(model_path, load_external_data=False)
    inputs = graph_inputs(model)
    arrays = load_calibration(calib_path, inputs)
    fixed = sorted({batch for _, batch in inputs if batch})
    if len(fixed) > 1:
        raise BadInput(f"{model_path}: inputs have different fixed batch sizes {fixed}")
    rows = fixed[0] if fixed else DYNAMIC_BATCH_ROWS
    total = next(iter(arrays.values())).shape[0]
    if method != "minmax" and not fixed and total % rows:
        # ORT's histogram collectors stack every run's outputs into one array, so all runs
        # must have one shape: feed the same rows one at a time instead of a short last run.
        rows = 1
    reader = RowChunks(arrays, rows, fixed_batch=bool(fixed))
    with tempfile.TemporaryDirectory() as work:
        pre = os.path.join(work, "pre.onnx")
        quant_pre_process(model_path, pre)
        extra = {"CalibPercentile": percentile} if method == "percentile" else {}
        quantize_static(pre, out_path, reader, quant_format=QuantFormat.QDQ,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        per_channel=True, calibrate_method=METHODS[method],
                        op_types_to_quantize=op_types, extra_options=extra)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("model")
    p.add_argument("--calib", required=True, help=".npz keyed by input name or .npy")
    p.add_argument("--method", choices=sorted(METHODS), default="minmax")
    p.add_argument("--percentile", type=float, default=99.99,
                   help="for --method percentile (ds-optimize's default)")
    p.add_argument("--op-types", default="MatMul,Gemm,Conv",
                   help="comma-separated op types to quantize, or 'all' for ORT's default list")
    p.add_argument("-o", "--output", required=True)
    a = p.parse_args()
    if not os.path.isfile(a.model):
        print(f"ort_quantize: error: {a.model}: no such file", file=sys.stderr)
        return 2
    op_types = None if a.op_types == "all" else [t for t in a.op_types.split(",") if t]
    try:
        rows = quantize(a.model, a.calib, a.method, a.percentile, op_types, a.output)
    except BadInput as e:
        print(f"ort_quantize: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {a.output} (onnxruntime quantize_static, QDQ, {a.method}, "
          f"calibration in runs of {rows} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
