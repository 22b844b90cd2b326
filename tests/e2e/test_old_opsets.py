"""Models at opsets 7-10 (PaddleOCR's published models, early torch/keras2onnx exports) are
upgraded by ONNX's own version converter at import, the summary says so, and they run and
match ONNX Runtime on the original file. Each model uses an op whose form changed after
its opset: Upsample (Resize since 10), BatchNormalization's old attributes, Slice's
attributes (inputs since 10), Dropout's ratio attribute."""
import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper


def conv_upsample_model(opset):
    rng = np.random.default_rng(opset)
    w = numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "w")
    scale = numpy_helper.from_array(rng.uniform(0.5, 1.5, 4).astype(np.float32), "bn_scale")
    bias = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bn_bias")
    mean = numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "bn_mean")
    var = numpy_helper.from_array(rng.uniform(0.5, 2.0, 4).astype(np.float32), "bn_var")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1], name="conv"),
        helper.make_node("BatchNormalization", ["c", "bn_scale", "bn_bias", "bn_mean", "bn_var"],
                         ["b"], epsilon=1e-5, name="bn"),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], kernel_shape=[2, 2], strides=[2, 2], name="pool"),
        helper.make_node("Upsample", ["p", "scales"], ["u"], mode="nearest", name="upsample"),
        helper.make_node("Slice", ["u"], ["s"], starts=[1], ends=[3], axes=[1], name="slice"),
        helper.make_node("Dropout", ["s"], ["y"], ratio=0.5, name="dropout"),
    ]
    graph = helper.make_graph(
        nodes, "old_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2, 8, 8])],
        [w, scale, bias, mean, var, scales])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="test_old_opsets")
    model.ir_version = 4 if opset <= 9 else 5
    return model


@pytest.mark.parametrize("opset", [9])
def test_upgraded_model_matches_onnxruntime(opset, ds_optimize, ds_run_model, ort_runner,
                                            optimize_artifact, model_run, tmp_path):
    path = tmp_path / f"old_opset{opset}.onnx"
    onnx.save(conv_upsample_model(opset), path)
    x = np.random.default_rng(0).standard_normal((1, 3, 8, 8)).astype(np.float32)
    reference = ort_runner(path, {"x": x})["y"]
    ours = ds_run_model(path, {"x": x}, tmp_path / "run")["y"]
    assert ours.shape == reference.shape == (1, 2, 8, 8)
    np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-5)
    code, out, err = ds_optimize([path, "--compile-to=import"])
    assert code == 0, err
    assert "ds.opset = 11" in out and f"ds.upgraded_from_opset = {opset}" in out
    np.savez(tmp_path / "eval.npz", x=x)
    code, out, err = ds_optimize([path, "--precision", "fp32", "--eval", tmp_path / "eval.npz",
                                  "-o", tmp_path / "out"])
    assert code == 0, out + err
    assert f"opset {opset} upgraded to 11 by ONNX's version converter" in out
    artifact = tmp_path / "out" / "host"
    np.testing.assert_allclose(model_run(artifact, {"x": x}, tmp_path / "art")["y"], reference,
                               rtol=1e-5, atol=1e-5)


def test_opset_below_converter_range_is_refused(ds_optimize, tmp_path):
    model = conv_upsample_model(9)
    model.opset_import[0].version = 6
    path = tmp_path / "opset6.onnx"
    onnx.save(model, path)
    code, out, err = ds_optimize([path, "--compile-to=import"])
    assert code == 2
    assert "opset 6 is not supported" in err and "7-22" in err, err
