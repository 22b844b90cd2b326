"""Reliability, round 2 (issue 16): what the hostile corpus cannot show in one run.

The calibration cache's key (external data, calibration data, options), temporary files
that a planted symlink must not redirect, the thread pool under a process limit, and
outputs that must not be lost or overwritten."""
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

BUILD = Path(os.environ.get("DS_BUILD_DIR", Path(__file__).resolve().parents[2] / "build"))
BIN = BUILD / "bin"


def tool(name, *args, cwd=None, env=None, preexec_fn=None, timeout=300):
    proc = subprocess.run([str(BIN / name), *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, preexec_fn=preexec_fn, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def mlp(dir_, external=False, seed=0):
    """x[N,8] -> MatMul(w) -> Add(b) -> y[N,4]; w optionally in w.bin next to the model."""
    rng = np.random.default_rng(seed)
    w = numpy_helper.from_array(rng.standard_normal((8, 4)).astype(np.float32), "w")
    b = numpy_helper.from_array(np.zeros(4, np.float32), "b")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["t"], name="mm"),
         helper.make_node("Add", ["t", "b"], ["y"], name="bias")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 4])], [w, b])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = Path(dir_) / "model.onnx"
    if external:
        onnx.save_model(model, str(path), save_as_external_data=True, location="w.bin",
                        size_threshold=0, all_tensors_to_one_file=True)
    else:
        onnx.save_model(model, str(path))
    return path


def calib(dir_, seed=1, name="calib.npy"):
    path = Path(dir_) / name
    np.save(path, np.random.default_rng(seed).standard_normal((16, 8)).astype(np.float32))
    return path


def quantize_with_cache(model, calib_path, cache, *extra):
    code, out, err = tool("ds-optimize", model, "--precision", "int8", "--calib", calib_path,
                          "--calib-cache", cache, "--compile-to=quantize", "--elide-weights",
                          *extra)
    assert code == 0, err
    return err  # the phase log (IR on stdout)


def test_cache_reused_when_nothing_changed(tmp_path):
    model, data, cache = mlp(tmp_path, external=True), calib(tmp_path), tmp_path / "c.json"
    assert "calibrating" in quantize_with_cache(model, data, cache)
    assert "(from the cache)" in quantize_with_cache(model, data, cache)


def test_cache_not_reused_after_external_data_changed(tmp_path):
    # The .onnx file is byte-identical; only w.bin changed (was: reused, top-1 dropped).
    model, data, cache = mlp(tmp_path, external=True), calib(tmp_path), tmp_path / "c.json"
    quantize_with_cache(model, data, cache)
    onnx_bytes = model.read_bytes()
    w = bytearray((tmp_path / "w.bin").read_bytes())
    w[0:4] = np.float32(7.5).tobytes()
    (tmp_path / "w.bin").write_bytes(bytes(w))
    assert model.read_bytes() == onnx_bytes
    log = quantize_with_cache(model, data, cache)
    assert "other external data" in log and "(from the cache)" not in log


@pytest.mark.parametrize("change", ["calib", "method", "percentile", "calib-nan"])
def test_cache_key_covers_data_method_and_options(tmp_path, change):
    model, data, cache = mlp(tmp_path), calib(tmp_path), tmp_path / "c.json"
    base = ["--calib-method", "percentile", "--percentile", "99.9"]
    quantize_with_cache(model, data, cache, *base)
    extra = list(base)
    if change == "calib":
        calib(tmp_path, seed=2)
    elif change == "method":
        extra = ["--calib-method", "minmax"]
    elif change == "percentile":
        extra[3] = "99.5"
    else:
        extra += ["--calib-nan", "skip"]
    log = quantize_with_cache(model, data, cache, *extra)
    assert "(from the cache)" not in log and "the cache was made for" in log, log


def test_cache_alone_still_works_without_calib(tmp_path):
    model, data, cache = mlp(tmp_path), calib(tmp_path), tmp_path / "c.json"
    quantize_with_cache(model, data, cache)
    code, _, err = tool("ds-optimize", model, "--precision", "int8", "--calib-cache", cache,
                        "--compile-to=quantize", "--elide-weights")
    assert code == 0 and "(from the cache)" in err, err


def test_cache_temporary_file_is_never_a_planted_symlink(tmp_path):
    # The old code wrote `.c.json.tmp` by name: a planted link sent the write elsewhere.
    model, data = mlp(tmp_path), calib(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink(victim, tmp_path / ".c.json.tmp")
    quantize_with_cache(model, data, tmp_path / "c.json")
    assert victim.read_text() == "keep me\n"
    assert (tmp_path / "c.json").is_file() and not (tmp_path / "c.json").is_symlink()
    leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(".c.json.tmp-")]
    assert leftovers == []


def test_benchmark_temporary_inputs_are_private(tmp_path):
    pytest.importorskip("onnxruntime")
    model = mlp(tmp_path)
    np.savez(tmp_path / "x.npz", x=np.ones((2, 8), np.float32))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    victim = tmp_path / "victim.npz"
    victim.write_bytes(b"keep me")
    # The old name was $TMPDIR/ds-benchmark-<pid>.npz: plant it for the next pids.
    last = int(Path("/proc/sys/kernel/ns_last_pid").read_text())
    for pid in range(last + 1, last + 400):
        os.symlink(victim, tmp / f"ds-benchmark-{pid}.npz")
    planted = set(os.listdir(tmp))
    env = dict(os.environ, TMPDIR=str(tmp))
    code, out, err = tool("ds-benchmark", model, "--inputs", tmp_path / "x.npz", "--threads", "1",
                          "--iterations", "2", "--warmup", "0", "--batch-sizes", "1,3",
                          "--vs-onnxruntime", env=env)
    assert code == 0, err
    assert "onnxruntime" in out
    assert victim.read_bytes() == b"keep me"
    assert set(os.listdir(tmp)) == planted  # its private directory is gone again


def drop_to_limited_user(limit):
    def preexec():
        import resource
        if os.geteuid() == 0:
            os.setgid(65534)
            os.setuid(65534)
        resource.setrlimit(resource.RLIMIT_NPROC, (limit, limit))
    return preexec


@pytest.mark.parametrize("name", ["ds-run", "ds-benchmark"])
def test_thread_limit_runs_with_fewer_threads(name):
    # --threads 64 where the process may have only a few: fewer workers, no hang.
    # (pytest's tmp_path is private to root; the limited user must read the model.)
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)
        run_limited(Path(tmp), name)


def run_limited(tmp_path, name):
    model = mlp(tmp_path)
    np.savez(tmp_path / "x.npz", x=np.ones((3, 8), np.float32))
    args = [model, "--inputs", tmp_path / "x.npz", "--threads", "64"]
    if name == "ds-benchmark":
        args += ["--iterations", "3", "--warmup", "1"]
    code, out, err = tool(name, *args, preexec_fn=drop_to_limited_user(6), timeout=120)
    assert code == 0, err
    if name == "ds-run":
        assert "y: f32 [3, 4]" in out or "y: float32" in out or "[3, 4]" in out, out


def test_threads_bounds_are_one_line(tmp_path):
    model = mlp(tmp_path)
    np.savez(tmp_path / "x.npz", x=np.ones((3, 8), np.float32))
    for bad in ["-1", "100000", "4294967295", "nan", "2.5"]:
        code, _, err = tool("ds-run", model, "--inputs", tmp_path / "x.npz", "--threads", bad)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and "--threads" in lines[0], (bad, err)
    code, _, err = tool("ds-run", model, "--inputs", tmp_path / "x.npz", "--threads", "0")
    assert code == 0, err


def test_outputs_of_distinct_names_do_not_collide(tmp_path):
    # Names that differ only in unsafe characters collide; others must still be written.
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["a.b"], name="r1"),
         helper.make_node("Neg", ["x"], ["a-b"], name="r2")], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("a.b", TensorProto.FLOAT, [2, 8]),
         helper.make_tensor_value_info("a-b", TensorProto.FLOAT, [2, 8])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, str(tmp_path / "m.onnx"))
    np.savez(tmp_path / "x.npz", x=-np.ones((2, 8), np.float32))
    code, _, err = tool("ds-run", tmp_path / "m.onnx", "--inputs", tmp_path / "x.npz",
                        "--outputs", tmp_path / "out")
    assert code == 0, err
    assert np.load(tmp_path / "out" / "a.b.npy").max() == 0
    assert np.load(tmp_path / "out" / "a-b.npy").min() == 1


def test_existing_artifact_is_still_replaced(tmp_path):
    model = mlp(tmp_path)
    np.save(tmp_path / "eval.npy", np.ones((2, 8), np.float32))
    out = tmp_path / "out"
    for _ in range(2):
        code, _, err = tool("ds-optimize", model, "--precision", "fp32", "--eval",
                            tmp_path / "eval.npy", "-o", out)
        assert code == 0, err
    shutil.rmtree(out / "host")
    (out / "host").mkdir()  # an empty directory is replaced too
    code, _, err = tool("ds-optimize", model, "--precision", "fp32", "--eval",
                        tmp_path / "eval.npy", "-o", out)
    assert code == 0, err
    assert (out / "host" / "manifest.json").is_file()
