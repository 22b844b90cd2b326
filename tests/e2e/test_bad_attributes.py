"""Window and block attributes that ONNX 1.12's shape inference divides by or indexes with
(strides, dilations, kernel_shape, pads, group, blocksize) are checked by the importer before
any of ONNX's code runs, at every opset (the version converter runs the same functions for
7-10): exit 2 and one line naming the node, never SIGFPE."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

CASES = [
    ("Conv", {"strides": [0, 0]}, "'strides' is [0, 0]"),
    ("Conv", {"dilations": [0, 1]}, "'dilations'"),
    ("Conv", {"group": 0}, "'group'"),
    ("Conv", {"kernel_shape": [3, 3], "pads": [1, 1, 1]}, "'pads' has 3 entries"),
    ("Conv", {"pads": [-1, 0, 0, 0]}, "'pads'"),
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [0, 0]}, "'strides'"),
    ("MaxPool", {"kernel_shape": [2, 2], "strides": [1]}, "'strides' has 1 entries"),
    ("AveragePool", {"kernel_shape": [0, 2]}, "'kernel_shape'"),
    ("MaxPool", {"kernel_shape": [2**40, 2]}, "at most 2^31"),
    ("DepthToSpace", {"blocksize": 0}, "'blocksize'"),
    ("SpaceToDepth", {"blocksize": -2}, "'blocksize'"),
]


@pytest.mark.parametrize("opset", [9, 13, 17, 21])
@pytest.mark.parametrize("op,attrs,text", CASES)
def test_bad_window_attribute_is_one_line(opset, op, attrs, text, ds_optimize, tmp_path):
    inputs = ["x", "w"] if op == "Conv" else ["x"]
    inits = [numpy_helper.from_array(np.ones((4, 4, 3, 3), np.float32), "w")] if op == "Conv" else []
    graph = helper.make_graph([helper.make_node(op, inputs, ["y"], name="bad", **attrs)], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 8, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    path = tmp_path / "bad.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)]), path)
    code, out, err = ds_optimize([path, "--compile-to=import"])
    assert code == 2, (code, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "node 'bad'" in lines[0] and text in lines[0], err
