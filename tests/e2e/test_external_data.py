"""Models whose weights live in external-data files import (by mmap) and run with
the same results as ONNX Runtime, including from another working directory."""
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

BUILD = Path(os.environ.get("DS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))


def test_external_data_model_matches_onnxruntime(tmp_path):
    rng = np.random.default_rng(7)
    w1 = numpy_helper.from_array(rng.standard_normal((32, 64)).astype(np.float32), "w1")
    w2 = numpy_helper.from_array(rng.standard_normal((64, 16)).astype(np.float32), "w2")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
         helper.make_node("MatMul", ["h", "w2"], ["y"], name="fc2")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 32])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 16])], [w1, w2])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    model_dir = tmp_path / "model"
    (model_dir / "weights").mkdir(parents=True)
    onnx.save(model, model_dir / "m.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="weights/m.bin", size_threshold=0)
    assert (model_dir / "weights" / "m.bin").stat().st_size == (32 * 64 + 64 * 16) * 4

    x = rng.standard_normal((3, 32)).astype(np.float32)
    np.savez(tmp_path / "x.npz", x=x)
    expected_dir = tmp_path / "expected"
    expected_dir.mkdir()
    session = ort.InferenceSession(str(model_dir / "m.onnx"))
    np.save(expected_dir / "y.npy", session.run(None, {"x": x})[0])

    # Run from an unrelated working directory with a relative model path.
    proc = subprocess.run(
        [str(BUILD / "bin" / "ds-run"), os.path.relpath(model_dir / "m.onnx", tmp_path / "model" / "weights"),
         "--inputs", str(tmp_path / "x.npz"), "--compare", str(expected_dir),
         "--rtol", "1e-5", "--atol", "1e-5"],
        cwd=model_dir / "weights", capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "y: ok" in proc.stdout
