"""Bad input gets one line on stderr naming the file and the problem, exit code 2,
never a crash (issue: foundation, item 9). One test per case, through ds-run."""
import os
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

BUILD = Path(os.environ.get("DS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
DS_RUN = BUILD / "bin" / "ds-run"


def run(*args):
    proc = subprocess.run([str(DS_RUN), *map(str, args)], capture_output=True, text=True,
                          timeout=120)
    return proc.returncode, proc.stdout, proc.stderr


def expect_error(args, *fragments):
    code, _, err = run(*args)
    assert code == 2, f"exit {code}, stderr: {err}"
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got: {err}"
    assert lines[0].startswith("ds-run: error: "), lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"'{fragment}' not in: {lines[0]}"
    return lines[0]


def matmul_model(path, opset=17, weight=None, x_shape=(2, 4), w_shape=(4, 3)):
    w = weight if weight is not None else numpy_helper.from_array(
        np.arange(np.prod(w_shape), dtype=np.float32).reshape(w_shape), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(x_shape))],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [x_shape[0], w_shape[1]])], [w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(model, path)
    return path


def external_weight(location, length=None):
    t = TensorProto()
    t.name = "w"
    t.data_type = TensorProto.FLOAT
    t.dims.extend([4, 3])
    t.data_location = TensorProto.EXTERNAL
    entry = t.external_data.add()
    entry.key, entry.value = "location", location
    if length is not None:
        entry = t.external_data.add()
        entry.key, entry.value = "length", str(length)
    return t


@pytest.fixture
def inputs(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.ones((2, 4), np.float32))
    return path


def test_missing_model_file(tmp_path, inputs):
    expect_error([tmp_path / "nope.onnx", "--inputs", inputs], "nope.onnx", "no such file")


def test_model_is_a_directory(tmp_path, inputs):
    (tmp_path / "dir.onnx").mkdir()
    expect_error([tmp_path / "dir.onnx", "--inputs", inputs], "dir.onnx", "not a regular file")


def test_not_onnx(tmp_path, inputs):
    path = tmp_path / "text.onnx"
    path.write_text("this is a text file, not a model\n")
    expect_error([path, "--inputs", inputs], "text.onnx", "ONNX model")


def test_truncated_protobuf(tmp_path, inputs):
    full = matmul_model(tmp_path / "full.onnx").read_bytes()
    path = tmp_path / "truncated.onnx"
    path.write_bytes(full[: len(full) // 2])
    expect_error([path, "--inputs", inputs], "truncated.onnx", "protobuf parsing failed")


def test_unsupported_op(tmp_path, inputs):
    graph = helper.make_graph(
        [helper.make_node("StringNormalizer", ["x"], ["y"], name="norm")], "g",
        [helper.make_tensor_value_info("x", TensorProto.STRING, [2])],
        [helper.make_tensor_value_info("y", TensorProto.STRING, [2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, tmp_path / "strings.onnx")
    expect_error([tmp_path / "strings.onnx", "--inputs", inputs], "strings.onnx",
                 "node 'norm' (StringNormalizer, opset 17)", "not supported",
                 "docs/supported-ops.md")


@pytest.mark.parametrize("opset", [6, 23])
def test_opset_out_of_range(tmp_path, inputs, opset):
    # 7-10 are upgraded by ONNX's version converter (tests/e2e/test_old_opsets.py).
    path = matmul_model(tmp_path / f"opset{opset}.onnx", opset=opset)
    expect_error([path, "--inputs", inputs], f"opset{opset}.onnx",
                 f"opset {opset} is not supported", "7-22")


def test_missing_external_data_file(tmp_path, inputs):
    path = matmul_model(tmp_path / "ext.onnx", weight=external_weight("weights.bin"))
    expect_error([path, "--inputs", inputs], "ext.onnx", "weights.bin", "does not exist")


@pytest.mark.parametrize("location", ["../outside.bin", "sub/../../outside.bin"])
def test_external_data_dotdot_escape(tmp_path, inputs, location):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (tmp_path / "outside.bin").write_bytes(b"\0" * 48)
    path = matmul_model(model_dir / "ext.onnx", weight=external_weight(location))
    expect_error([path, "--inputs", inputs], "ext.onnx", "escapes the model directory")


def test_external_data_absolute_path(tmp_path, inputs):
    (tmp_path / "abs.bin").write_bytes(b"\0" * 48)
    path = matmul_model(tmp_path / "ext.onnx", weight=external_weight(str(tmp_path / "abs.bin")))
    expect_error([path, "--inputs", inputs], "ext.onnx", "must be a relative path")


def test_external_data_symlink_escape(tmp_path, inputs):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (tmp_path / "secret.bin").write_bytes(b"\0" * 48)
    os.symlink(tmp_path / "secret.bin", model_dir / "link.bin")
    path = matmul_model(model_dir / "ext.onnx", weight=external_weight("link.bin"))
    expect_error([path, "--inputs", inputs], "ext.onnx", "outside the model directory")


def test_external_data_too_short(tmp_path, inputs):
    (tmp_path / "short.bin").write_bytes(b"\0" * 20)
    path = matmul_model(tmp_path / "ext.onnx", weight=external_weight("short.bin"))
    expect_error([path, "--inputs", inputs], "ext.onnx", "past the end of 'short.bin'")


def test_shape_inference_failure(tmp_path, inputs):
    # [2, 4] x [5, 3]: the inner dimensions disagree.
    path = matmul_model(tmp_path / "badshapes.onnx", w_shape=(5, 3))
    expect_error([path, "--inputs", inputs], "badshapes.onnx", "shape inference failed")


def test_input_wrong_name(tmp_path):
    path = matmul_model(tmp_path / "m.onnx")
    np.savez(tmp_path / "wrong.npz", input=np.ones((2, 4), np.float32))
    expect_error([path, "--inputs", tmp_path / "wrong.npz"], "wrong.npz",
                 "no tensor named 'x'", "input")


def test_input_wrong_dtype(tmp_path):
    path = matmul_model(tmp_path / "m.onnx")
    np.savez(tmp_path / "f64.npz", x=np.ones((2, 4), np.float64))
    expect_error([path, "--inputs", tmp_path / "f64.npz"], "f64.npz", "element type double",
                 "expects float")


def test_input_wrong_shape(tmp_path):
    path = matmul_model(tmp_path / "m.onnx")
    np.savez(tmp_path / "shape.npz", x=np.ones((2, 5), np.float32))
    expect_error([path, "--inputs", tmp_path / "shape.npz"], "shape.npz", "shape [2, 5]",
                 "[2, 4]")


def test_input_truncated_npy(tmp_path):
    path = matmul_model(tmp_path / "m.onnx")
    np.save(tmp_path / "x.npy", np.ones((2, 4), np.float32))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[:-7])
    expect_error([path, "--inputs", tmp_path / "cut.npy"], "cut.npy")
