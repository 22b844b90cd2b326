"""float16 and bfloat16 models (most published LLM exports) import and run: they compute in
float32 behind their own interface (importer/WidenHalf.cpp), so an artifact takes and
returns the model's types; the numbers match ONNX Runtime on the same inputs. The
conversions themselves are checked bit for bit against numpy on every float16 value and a
dense float32 sweep."""
import json

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


def half_mlp(path, typed_field=False):
    """x float16 [n, 8] -> MatMul, Add, Mul, Relu -> y float16 (softmax) and r float32."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((8, 16)).astype(np.float16), "W")
    b = numpy_helper.from_array(rng.standard_normal(16).astype(np.float16), "B")
    scale = rng.uniform(0.5, 1.5, 16).astype(np.float16)
    if typed_field:  # ONNX's other encoding: the bits in int32_data
        s = helper.make_tensor("S", TensorProto.FLOAT16, [16], scale.view(np.uint16).tolist())
        s.ClearField("int32_data")
        s.int32_data.extend(scale.view(np.uint16).astype(np.int32).tolist())
    else:
        s = numpy_helper.from_array(scale, "S")
    nodes = [helper.make_node("MatMul", ["x", "W"], ["m"]), helper.make_node("Add", ["m", "B"], ["a"]),
             helper.make_node("Mul", ["a", "S"], ["s"]), helper.make_node("Relu", ["s"], ["r16"]),
             helper.make_node("Softmax", ["r16"], ["y"], axis=-1),
             helper.make_node("Cast", ["r16"], ["r"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(
        nodes, "half_mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT16, ["n", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT16, ["n", 16]),
         helper.make_tensor_value_info("r", TensorProto.FLOAT, ["n", 16])], [w, b, s])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def cast_model(path, src, dst):
    graph = helper.make_graph([helper.make_node("Cast", ["x"], ["y"], to=dst)], "cast",
                              [helper.make_tensor_value_info("x", src, ["n"])],
                              [helper.make_tensor_value_info("y", dst, ["n"])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("typed_field", [False, True])
def test_float16_model_matches_onnxruntime(typed_field, ds_run_model, ort_runner,
                                           optimize_artifact, model_run, tmp_path):
    model = half_mlp(tmp_path / "half.onnx", typed_field)
    x = np.random.default_rng(1).standard_normal((4, 8)).astype(np.float16)
    reference = ort_runner(model, {"x": x})
    ours = ds_run_model(model, {"x": x}, tmp_path / "run")
    assert ours["y"].dtype == np.float16 and ours["r"].dtype == np.float32
    for name in ("y", "r"):
        np.testing.assert_allclose(ours[name].astype(np.float32), reference[name].astype(np.float32),
                                   rtol=2e-3, atol=2e-3, err_msg=name)
    np.savez(tmp_path / "x.npz", x=x)
    artifact = optimize_artifact(model, ["--precision", "fp32", "--eval", tmp_path / "x.npz"],
                                 tmp_path / "out")
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["inputs"][0]["dtype"] == "float16"
    assert [o["dtype"] for o in manifest["outputs"]] == ["float16", "float"]
    shipped = model_run(artifact, {"x": x}, tmp_path / "art")
    assert shipped["y"].dtype == np.float16
    np.testing.assert_array_equal(shipped["y"], ours["y"])


def test_int8_from_a_float16_model_is_verified_on_its_float16_outputs(optimize_artifact,
                                                                      load_report, tmp_path):
    model = half_mlp(tmp_path / "half.onnx")
    x = np.random.default_rng(2).standard_normal((64, 8)).astype(np.float16)
    np.savez(tmp_path / "x.npz", x=x)
    artifact = optimize_artifact(model, ["--precision", "int8", "--quant-mode", "dynamic",
                                         "--eval", tmp_path / "x.npz"], tmp_path / "out")
    report = load_report(artifact)
    assert [l["precision"] for l in report["layers"]] == ["int8"]
    outputs = {o["name"]: o for o in report["accuracy"]["outputs"]}
    # Measured, not skipped: INT8 error is visible on the float16 output too.
    assert 0 < outputs["y"]["max_rel_error"] < 0.1, outputs["y"]
    assert outputs["y"]["cosine"] > 0.99


def test_bfloat16_weights_match_onnxruntime(ds_run_model, ort_runner, tmp_path):
    rng = np.random.default_rng(3)
    w32 = rng.standard_normal((8, 4)).astype(np.float32)
    w = helper.make_tensor("W", TensorProto.BFLOAT16, [8, 4],
                           (w32.view(np.uint32) >> 16).astype(np.uint16).tobytes(), raw=True)
    nodes = [helper.make_node("Cast", ["W"], ["w32"], to=TensorProto.FLOAT),
             helper.make_node("MatMul", ["x", "w32"], ["m"]),
             helper.make_node("Cast", ["m"], ["mb"], to=TensorProto.BFLOAT16),
             helper.make_node("Cast", ["mb"], ["y"], to=TensorProto.FLOAT)]
    graph = helper.make_graph(nodes, "bf16", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 4])], [w])
    path = tmp_path / "bf16.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    x = rng.standard_normal((2, 8)).astype(np.float32)
    np.testing.assert_allclose(ds_run_model(path, {"x": x}, tmp_path / "run")["y"],
                               ort_runner(path, {"x": x})["y"], rtol=1e-2, atol=1e-2)


def test_float16_conversions_are_bit_exact(ds_run_model, tmp_path):
    # Every float16 value widened, against numpy.
    halves = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
    wide = ds_run_model(cast_model(tmp_path / "h2f.onnx", TensorProto.FLOAT16, TensorProto.FLOAT),
                        {"x": halves}, tmp_path / "h2f")["y"]
    finite = ~np.isnan(halves)
    np.testing.assert_array_equal(wide[finite].view(np.uint32),
                                  halves[finite].astype(np.float32).view(np.uint32))
    assert np.isnan(wide[~finite]).all()
    # A dense float32 sweep narrowed (round to nearest even, overflow to inf), against numpy:
    # every float16 value, the midpoints between neighbours and random bit patterns.
    rng = np.random.default_rng(4)
    h = halves[finite].astype(np.float32)
    mids = (h[:-1].astype(np.float64) + h[1:].astype(np.float64)) / 2
    sweep = np.concatenate([h, mids.astype(np.float32),
                            rng.integers(0, 2**32, 200000, dtype=np.uint64).astype(np.uint32).view(np.float32),
                            np.array([65504, 65519.99, 65520, 1e9, -1e9, 6e-8, 2.98e-8, 2.9e-8], np.float32)])
    narrow = ds_run_model(cast_model(tmp_path / "f2h.onnx", TensorProto.FLOAT, TensorProto.FLOAT16),
                          {"x": sweep}, tmp_path / "f2h")["y"]
    expected = sweep.astype(np.float16)
    ok = ~np.isnan(sweep)
    np.testing.assert_array_equal(narrow[ok].view(np.uint16), expected[ok].view(np.uint16))
    assert np.isnan(narrow[~ok]).all()
