"""ds-run and ds-benchmark on artifact directories (issue: end-to-end INT8, parts 4 and 7):
the artifact runs through its own lib/libds_model.so and C API, loaded into the tool."""
import shutil
import subprocess

import numpy as np
import pytest

from conftest import BUILD, DIGITS_MODEL, SAMPLES

DS_RUN = BUILD / "bin" / "ds-run"
DS_BENCHMARK = BUILD / "bin" / "ds-benchmark"


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=300, **kw)


@pytest.fixture()
def digits_inputs(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, x=np.load(SAMPLES / "digits" / "eval.npz")["x"][:32])
    return path


def test_ds_run_artifact_equals_its_runner(digits_int8_artifact, digits_inputs, tmp_path):
    a = run([DS_RUN, digits_int8_artifact, "--inputs", digits_inputs, "--outputs", tmp_path / "a"])
    assert a.returncode == 0, a.stderr
    b = run([digits_int8_artifact / "bin" / "ds-model-run", digits_int8_artifact, "--inputs",
             digits_inputs, "--outputs", tmp_path / "b"])
    assert b.returncode == 0, b.stderr
    x, y = np.load(tmp_path / "a" / "logits.npy"), np.load(tmp_path / "b" / "logits.npy")
    assert x.shape == (32, 10) and np.array_equal(x, y)
    # --compare: exact against itself, a mismatch against the FP32 model's outputs at rtol 0.
    same = run([DS_RUN, digits_int8_artifact, "--inputs", digits_inputs, "--compare", tmp_path / "b",
                "--rtol", "0", "--atol", "0"])
    assert same.returncode == 0, same.stdout + same.stderr
    fp32 = run([DS_RUN, DIGITS_MODEL, "--inputs", digits_inputs, "--outputs", tmp_path / "f"])
    assert fp32.returncode == 0
    differ = run([DS_RUN, digits_int8_artifact, "--inputs", digits_inputs, "--compare", tmp_path / "f",
                  "--rtol", "0", "--atol", "0"])
    assert differ.returncode == 1, differ.stdout


def test_ds_run_artifact_copied_elsewhere_and_bad_inputs(digits_int8_artifact, digits_inputs, tmp_path):
    copy = tmp_path / "moved"
    shutil.copytree(digits_int8_artifact, copy)
    ok = run([DS_RUN, copy, "--inputs", digits_inputs])
    assert ok.returncode == 0, ok.stderr
    np.savez(tmp_path / "bad.npz", x=np.zeros((2, 1, 7, 7), np.float32))
    bad = run([DS_RUN, copy, "--inputs", tmp_path / "bad.npz"])
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ds-run: error: ") and "x" in lines[0], bad.stderr
    empty = tmp_path / "not_an_artifact"
    empty.mkdir()
    missing = run([DS_RUN, empty, "--inputs", digits_inputs])
    assert missing.returncode == 2 and "manifest.json" in missing.stderr


def test_ds_benchmark_artifact_vs_onnxruntime(digits_fp32_artifact, digits_inputs):
    out = run([DS_BENCHMARK, digits_fp32_artifact, "--inputs", digits_inputs, "--threads", "1",
               "--iterations", "5", "--warmup", "1", "--batch-sizes", "1,8",
               "--vs-onnxruntime", DIGITS_MODEL])
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "batch 1" in text and "batch 8" in text, text
    assert text.count("ratio ds/onnxruntime (p50):") == 2, text
    assert "samples/s" in text and "peak RSS" in text


def test_ds_benchmark_lm_tokens_per_second(tmp_path, optimize_artifact):
    art = optimize_artifact(SAMPLES / "lm" / "lm_prefill.onnx",
                            ["--precision", "fp32", "--eval", SAMPLES / "lm" / "eval_tokens.npy"],
                            tmp_path / "out")
    tokens = tmp_path / "t.npz"
    np.savez(tokens, input_ids=np.load(SAMPLES / "lm" / "eval_tokens.npy")[:1])
    out = run([DS_BENCHMARK, art, "--inputs", tokens, "--threads", "1", "--iterations", "3",
               "--warmup", "1"])
    assert out.returncode == 0, out.stderr
    assert "prefill tokens/s" in out.stdout, out.stdout
