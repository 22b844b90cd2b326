"""Writes small ONNX models for the importer's lit tests: make_model.py NAME OUT.onnx."""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def model(nodes, inputs, outputs, inits=(), opset=17, value_info=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits),
                              value_info=list(value_info))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def f32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def mlp():
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 8)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(8, np.float32), "b")
    return model([helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"),
                  helper.make_node("Add", ["h", "b"], ["hb"], name="bias"),
                  helper.make_node("Relu", ["hb"], ["y"], name="act")],
                 [f32("x", ["batch", 16])], [f32("y", ["batch", 8])], [w, b])


def softmax_opset11():
    return model([helper.make_node("Softmax", ["x"], ["y"], name="sm", axis=1)],
                 [f32("x", [2, 3, 4])], [f32("y", [2, 3, 4])], opset=11)


def optional_input():
    hi = numpy_helper.from_array(np.array(6.0, np.float32), "hi")
    return model([helper.make_node("Clip", ["x", "", "hi"], ["y"], name="clip")],
                 [f32("x", [4])], [f32("y", [4])], [hi])


def constant_node():
    return model([helper.make_node("Constant", [], ["shape"], name="c", value_ints=[2, -1]),
                  helper.make_node("Reshape", ["x", "shape"], ["y"], name="r")],
                 [f32("x", [2, 3, 4])], [f32("y", [2, 12])])


def opset18_reduce():
    # ReduceMean-18 takes axes as an input: ONNX 1.12's shape inference does not
    # know it, so the importer keeps the declared output type only.
    axes = numpy_helper.from_array(np.array([-1], np.int64), "axes")
    return model([helper.make_node("ReduceMean", ["x", "axes"], ["m"], name="rm", keepdims=1),
                  helper.make_node("Sub", ["x", "m"], ["y"], name="centre")],
                 [f32("x", [2, 8])], [f32("y", [2, 8])], [axes], opset=18)


def unsupported_op():
    return model([helper.make_node("Loop2", ["x"], ["y"], name="weird")],
                 [f32("x", [4])], [f32("y", [4])])


if __name__ == "__main__":
    name, out = sys.argv[1], sys.argv[2]
    onnx.save(globals()[name](), out)
