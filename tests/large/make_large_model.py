"""Writes a synthetic ONNX model whose weights live in one external-data file.

Issue 4's larger-than-memory test: `layers` MatMul(+Relu) blocks of
[dim, dim] FP32 weights, default 12 x 8192^2 x 4 bytes = 3.2 GB. Each weight is
generated and written on its own, so this script needs ~dim^2 x 4 bytes of
memory, not the model's size.

usage: make_large_model.py OUT_DIR [--layers N] [--dim D]
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out_dir")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--dim", type=int, default=8192)
    args = parser.parse_args()
    os.makedirs(args.out_dir, exist_ok=True)
    data_name = "weights.data"
    rng = np.random.default_rng(4)
    initializers, nodes = [], []
    offset = 0
    with open(os.path.join(args.out_dir, data_name), "wb") as data:
        for i in range(args.layers):
            w = (rng.standard_normal((args.dim, args.dim), dtype=np.float32) /
                 np.float32(np.sqrt(args.dim)))
            raw = w.tobytes()
            data.write(raw)
            tensor = TensorProto(name=f"w{i}", data_type=TensorProto.FLOAT,
                                 dims=[args.dim, args.dim],
                                 data_location=TensorProto.EXTERNAL)
            for key, value in (("location", data_name), ("offset", str(offset)),
                               ("length", str(len(raw)))):
                entry = tensor.external_data.add()
                entry.key, entry.value = key, value
            offset += len(raw)
            initializers.append(tensor)
            x = "x" if i == 0 else f"h{i - 1}"
            nodes.append(helper.make_node("MatMul", [x, f"w{i}"], [f"m{i}"], name=f"matmul{i}"))
            out = "y" if i == args.layers - 1 else f"h{i}"
            nodes.append(helper.make_node("Relu", [f"m{i}"], [out], name=f"relu{i}"))
    graph = helper.make_graph(
        nodes, "large", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, args.dim])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, args.dim])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, os.path.join(args.out_dir, "model.onnx"))
    print(f"{args.out_dir}: {args.layers} x [{args.dim}, {args.dim}] FP32, {offset} bytes of "
          f"external data")


if __name__ == "__main__":
    main()
