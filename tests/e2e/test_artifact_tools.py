"""ds-run and ds-benchmark on artifact directories (issue: end-to-end INT8, parts 4 and 7):
the artifact runs through its own lib/libds_model.so and C API, loaded into the tool."""
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import BUILD, DIGITS_INT8_ARGS, DIGITS_MODEL, DS_OPTIMIZE, REPO, SAMPLES

DS_RUN = BUILD / "bin" / "ds-run"
DS_BENCHMARK = BUILD / "bin" / "ds-benchmark"
ORT_QUANTIZE = REPO / "bench" / "peers" / "ort_quantize.py"


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
    # 5 iterations cap the default 10 turns: ds and ONNX Runtime alternate 5 times.
    assert "ds and onnxruntime in 5 alternating blocks" in text, text


def test_ds_benchmark_peer_failure_is_one_error_line(digits_fp32_artifact, digits_inputs,
                                                     tmp_path):
    out = run([DS_BENCHMARK, digits_fp32_artifact, "--inputs", digits_inputs, "--iterations", "3",
               "--vs-onnxruntime", tmp_path / "absent.onnx"])
    assert out.returncode == 2, out.stdout + out.stderr
    errors = [l for l in out.stderr.splitlines() if l.startswith("ds-benchmark: error: ")]
    assert len(errors) == 1 and "ONNX Runtime runner" in errors[0], out.stderr


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


def test_ds_run_artifact_equals_executor_int8_simulation(digits_int8_artifact, digits_inputs, tmp_path):
    # The reference executor runs the quantized IR (the same job stopped after quantize, in
    # MLIR quant types, which ds-run lowers as ds-optimize does): the artifact's generated
    # code must give the same bits, since both drive one kernel library.
    ir = run([DS_OPTIMIZE, DIGITS_MODEL, *DIGITS_INT8_ARGS, "--compile-to=quantize",
              "-o", tmp_path / "unused"])
    assert ir.returncode == 0, ir.stderr
    (tmp_path / "q.mlir").write_text(ir.stdout)
    assert "quant_conv" in ir.stdout
    assert "!quant.uniform<i8<-127:127>:f32:0, {" in ir.stdout and "quant.qcast" in ir.stdout
    sim = run([DS_RUN, tmp_path / "q.mlir", "--inputs", digits_inputs, "--outputs", tmp_path / "sim"])
    assert sim.returncode == 0, sim.stderr
    same = run([DS_RUN, digits_int8_artifact, "--inputs", digits_inputs, "--compare", tmp_path / "sim",
                "--rtol", "0", "--atol", "0", "--threads", "2"])
    assert same.returncode == 0, same.stdout + same.stderr


def test_artifact_library_exports_only_the_c_api(digits_int8_artifact):
    # ds-run links its own kernel library and loads the artifact's into the same process; they
    # cannot clash only because the artifact's library exports nothing but ds_* (version script).
    nm = shutil.which("nm")
    if nm is None:
        pytest.skip("nm (binutils) not installed")
    out = run([nm, "-D", "--defined-only", digits_int8_artifact / "lib" / "libds_model.so"])
    assert out.returncode == 0, out.stderr
    names = [line.split()[-1] for line in out.stdout.splitlines() if line.strip()]
    assert "ds_model_open" in names and "ds_model_run" in names
    assert [n for n in names if not n.startswith("ds_")] == []


def test_relocated_artifact_runs_with_ds_run_and_its_runner(digits_int8_artifact, digits_inputs, tmp_path):
    # Copy twice and delete the first copy, so nothing can refer to a path that still exists.
    first, moved = tmp_path / "first", tmp_path / "moved"
    shutil.copytree(digits_int8_artifact, first)
    shutil.copytree(first, moved)
    shutil.rmtree(first)
    a = run([DS_RUN, moved, "--inputs", digits_inputs, "--outputs", tmp_path / "a"])
    assert a.returncode == 0, a.stderr
    b = run([moved / "bin" / "ds-model-run", moved, "--inputs", digits_inputs, "--outputs", tmp_path / "b"],
            cwd=tmp_path)
    assert b.returncode == 0, b.stderr
    assert np.array_equal(np.load(tmp_path / "a" / "logits.npy"), np.load(tmp_path / "b" / "logits.npy"))


def ort_quantize(args):
    return run([sys.executable, ORT_QUANTIZE, *args])


@pytest.mark.parametrize("method", ["minmax", "percentile"])
def test_ort_quantize_writes_a_qdq_model_ort_runs(method, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    out = tmp_path / "digits.qdq.onnx"
    q = ort_quantize([DIGITS_MODEL, "--calib", SAMPLES / "digits" / "calib.npz", "--method", method,
                      "-o", out])
    assert q.returncode == 0, q.stderr
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= ops, ops
    x = np.load(SAMPLES / "digits" / "eval.npz")["x"]
    fp32 = ort.InferenceSession(str(DIGITS_MODEL), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    int8 = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    assert int8.shape == fp32.shape and not np.array_equal(int8, fp32)
    assert (int8.argmax(-1) == fp32.argmax(-1)).mean() > 0.95


def test_ort_quantize_bad_calibration_is_one_line(tmp_path):
    pytest.importorskip("onnxruntime")
    q = ort_quantize([SAMPLES / "lm" / "lm_prefill.onnx", "--calib", SAMPLES / "digits" / "calib.npz",
                      "-o", tmp_path / "x.onnx"])
    assert q.returncode == 2
    lines = q.stderr.strip().splitlines()
    assert len(lines) == 1 and "calib.npz" in lines[0] and "input_ids" in lines[0], q.stderr
    assert not (tmp_path / "x.onnx").exists()


def test_ds_benchmark_int8_artifact_vs_ort_qdq(digits_int8_artifact, digits_inputs, tmp_path):
    pytest.importorskip("onnxruntime")
    qdq = tmp_path / "digits.qdq.onnx"
    q = ort_quantize([DIGITS_MODEL, "--calib", SAMPLES / "digits" / "calib.npz", "-o", qdq])
    assert q.returncode == 0, q.stderr
    out = run([DS_BENCHMARK, digits_int8_artifact, "--inputs", digits_inputs, "--threads", "2",
               "--iterations", "5", "--warmup", "1", "--vs-onnxruntime", qdq])
    assert out.returncode == 0, out.stderr
    ds = re.search(r"ds: +p50 ([0-9.]+) ms +p90 ([0-9.]+) ms +p99 ([0-9.]+) ms +min ([0-9.]+) ms", out.stdout)
    ratio = re.search(r"ratio ds/onnxruntime \(p50\): ([0-9.]+)x", out.stdout)
    assert ds and ratio, out.stdout
    p50, p90, p99, low = map(float, ds.groups())
    assert 0 < low <= p50 <= p90 <= p99 and float(ratio.group(1)) > 0
    assert str(qdq) in out.stdout
