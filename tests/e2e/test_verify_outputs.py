"""Every graph output is compared with the teacher, whatever its element type: an integer
output (argmax ids) is measured by value, not left out with a perfect score, and top-1/KL
are computed only for a float first output."""
import json

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def test_integer_outputs_are_measured(optimize_artifact, tmp_path):
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((16, 32)).astype(np.float32), "w")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["logits"], name="fc"),
             helper.make_node("ArgMax", ["logits"], ["ids"], axis=-1, keepdims=0)]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 16])],
                              [helper.make_tensor_value_info("ids", TensorProto.INT64, ["n"]),
                               helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["n", 32])], [w])
    path = tmp_path / "argmax.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    # Calibrated on a tiny range, evaluated on a wide one: the clipped INT8 student changes
    # some argmaxes, which the report must show.
    np.save(tmp_path / "calib.npy", (0.01 * rng.standard_normal((64, 16))).astype(np.float32))
    np.save(tmp_path / "eval.npy", rng.standard_normal((64, 16)).astype(np.float32))
    artifact = optimize_artifact(path, ["--precision", "int8", "--calib", tmp_path / "calib.npy",
                                        "--eval", tmp_path / "eval.npy"], tmp_path / "out")
    outputs = {o["name"]: o for o in json.loads((artifact / "report.json").read_text())["accuracy"]["outputs"]}
    assert outputs["ids"]["max_abs_error"] > 0, outputs["ids"]
    assert outputs["ids"]["cosine"] < 1, outputs["ids"]
    assert outputs["ids"]["rows"] == 0, outputs["ids"]  # no top-1/KL over ids
