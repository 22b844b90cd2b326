"""--input-shape: shape specialization (issue: end-to-end INT8, "C++ glue with static shapes").
The fixed input shape reaches ONNX shape inference, the shape arithmetic folds away, and the
artifact takes exactly that shape. --max-shape: dynamic dims up to a user-given maximum; the
artifact takes any size up to it and refuses larger inputs with one line."""
import json
import re
import subprocess

import numpy as np
import pytest

from conftest import DIGITS_MODEL, LM_MODEL, SAMPLES


@pytest.fixture(scope="module")
def lm_static(optimize_artifact, tmp_path_factory):
    args = ["--precision", "fp32", "--eval", SAMPLES / "lm" / "eval_tokens.npy",
            "--input-shape", "input_ids=1x128"]
    return optimize_artifact(LM_MODEL, args, tmp_path_factory.mktemp("lm_static") / "out")


def kernel_calls(artifact):
    """Rows of the generated kSteps table (codegen/host/ProgramEmitter.cpp): one per call."""
    step_row = re.compile(r"^  \{(\d+, ){9}\d+\}, // \d+$")
    return sum(1 for line in (artifact / "src" / "model.cpp").read_text().splitlines()
               if step_row.match(line))


def test_static_shape_is_baked_in_and_folds_shape_math(lm_static, optimize_artifact, tmp_path):
    manifest = json.loads((lm_static / "manifest.json").read_text())
    assert manifest["inputs"] == [{"name": "input_ids", "dtype": "int64", "shape": [1, 128]}]
    logits = [o for o in manifest["outputs"] if o["name"] == "logits"][0]
    assert logits["shape"] == [1, 128, 256]
    dynamic = optimize_artifact(LM_MODEL, ["--precision", "fp32", "--eval",
                                           SAMPLES / "lm" / "eval_tokens.npy"], tmp_path / "dyn")
    report = json.loads((lm_static / "report.json").read_text())
    assert report["accuracy"]["outputs"][0]["max_rel_error"] <= 1e-5
    # Specialization folds the Shape/Gather/Concat/Unsqueeze chains that compute shapes.
    static, dyn = kernel_calls(lm_static), kernel_calls(dynamic)
    assert 0 < static < 0.8 * dyn, (static, dyn)


def test_static_artifact_rejects_other_shapes(lm_static, model_run, tmp_path):
    tokens = np.load(SAMPLES / "lm" / "eval_tokens.npy")[:1]
    out = model_run(lm_static, {"input_ids": tokens}, tmp_path / "ok")
    assert out["logits"].shape == (1, 128, 256)
    np.savez(tmp_path / "short.npz", input_ids=tokens[:, :64])
    proc = subprocess.run([str(lm_static / "bin" / "ds-model-run"), str(lm_static), "--inputs",
                           str(tmp_path / "short.npz")], capture_output=True, text=True)
    assert proc.returncode != 0
    assert "input_ids" in proc.stderr and "128" in proc.stderr, proc.stderr


@pytest.fixture(scope="module")
def digits_max8(optimize_artifact, tmp_path_factory):
    args = ["--precision", "fp32", "--eval", SAMPLES / "digits" / "eval.npz",
            "--max-shape", "x=8x1x8x8"]
    return optimize_artifact(DIGITS_MODEL, args, tmp_path_factory.mktemp("digits_max8") / "out")


def test_max_shape_keeps_the_batch_dynamic_up_to_the_bound(digits_max8, model_run, ds_run,
                                                           tmp_path):
    manifest = json.loads((digits_max8 / "manifest.json").read_text())
    assert manifest["inputs"] == [{"name": "x", "dtype": "float", "shape": [-1, 1, 8, 8],
                                   "max_shape": [8, 1, 8, 8]}]
    report = json.loads((digits_max8 / "report.json").read_text())
    assert report["accuracy"]["outputs"][0]["max_rel_error"] <= 1e-5
    x = np.load(SAMPLES / "digits" / "eval.npz")["x"]
    for rows in (1, 5, 8):
        out = model_run(digits_max8, {"x": x[:rows]}, tmp_path / f"rows{rows}")
        assert out["logits"].shape == (rows, 10)
    # One row above the bound: refused by the runner and by ds-run, naming input, dim and bound.
    np.save(tmp_path / "x9.npy", x[:9])
    runner = subprocess.run([str(digits_max8 / "bin" / "ds-model-run"), str(digits_max8),
                             "--inputs", str(tmp_path / "x9.npy")], capture_output=True, text=True)
    code, _, stderr = ds_run([digits_max8, "--inputs", tmp_path / "x9.npy"])
    for rc, err in ((runner.returncode, runner.stderr), (code, stderr)):
        assert rc != 0
        assert len(err.strip().splitlines()) == 1, err
        assert "'x'" in err and "dim 0 is 9, above the maximum 8" in err, err


def test_manifest_max_shape_must_match_the_library(digits_max8, ds_run, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(digits_max8, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    del manifest["inputs"][0]["max_shape"]
    (copy / "manifest.json").write_text(json.dumps(manifest))
    np.save(tmp_path / "x1.npy", np.load(SAMPLES / "digits" / "eval.npz")["x"][:1])
    code, _, stderr = ds_run([copy, "--inputs", tmp_path / "x1.npy"])
    assert code != 0 and "max_shape" in stderr, stderr


# Bad --input-shape (on the LM) and --max-shape (on the digits CNN) values.
BAD_SHAPES = [
    ("--input-shape", "tokens=1x128", "not a graph input"),
    ("--input-shape", "input_ids=1x128x4", "gives input 'input_ids' 3 dims"),
    ("--input-shape", "input_ids=1xabc", "is not NAME=D0xD1"),
    ("--input-shape", "input_ids=0x128", "is not NAME=D0xD1"),
    ("--max-shape", "pixels=8x1x8x8", "not a graph input"),
    ("--max-shape", "x=8x1x8", "gives input 'x' 3 dims"),
    ("--max-shape", "x=8x2x8x8", "dim 1 of 'x' is fixed at 1"),
    ("--max-shape", "x=0x1x8x8", "is not NAME=D0xD1"),
]


@pytest.mark.parametrize("option, spec, needle", BAD_SHAPES)
def test_bad_shape_option_is_one_line_exit_2(ds_optimize, error_line, tmp_path, option, spec,
                                             needle):
    model, data = ((LM_MODEL, SAMPLES / "lm" / "eval_tokens.npy") if option == "--input-shape"
                   else (DIGITS_MODEL, SAMPLES / "digits" / "eval.npz"))
    code, _, stderr = ds_optimize([model, "--precision", "fp32", "--eval", data, option, spec,
                                   "-o", tmp_path / "out"])
    assert code == 2
    line = error_line(stderr)
    assert needle in line and option in line, stderr
    assert not (tmp_path / "out" / "host").exists()
