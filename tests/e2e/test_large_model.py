"""Models larger than memory (issue 4): import + INT8 quantization + verify +
codegen of an external-data model under a peak-RSS bound, measured with
/usr/bin/time -v (ru_maxrss: anonymous and file-backed pages alike).

The always-on case is 1.3 GB (CI time); DS_LARGE_MODEL_TEST=1 runs the 3.2 GB
case of the issue's acceptance, whose bound is 25% of the model's size.
"""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from conftest import BUILD, REPO, sanitizer_build

MAKE_MODEL = REPO / "tests" / "large" / "make_large_model.py"


def peak_rss_bytes(time_stderr):
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", time_stderr)
    assert match, time_stderr[-2000:]
    return int(match.group(1)) * 1024


def optimize_large_model(tmp_path, layers, dim=8192):
    model_dir = tmp_path / "model"
    subprocess.run([sys.executable, str(MAKE_MODEL), str(model_dir), "--layers", str(layers),
                    "--dim", str(dim)], check=True, capture_output=True)
    model_bytes = sum(f.stat().st_size for f in model_dir.iterdir())
    samples = tmp_path / "x.npy"
    np.save(samples, np.random.default_rng(0).standard_normal((2, dim)).astype(np.float32))
    out = tmp_path / "out"
    proc = subprocess.run(
        ["/usr/bin/time", "-v", str(BUILD / "bin" / "ds-optimize"), str(model_dir / "model.onnx"),
         "--precision", "int8", "--quant-mode", "dynamic", "--eval", str(samples), "-o", str(out)],
        capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert f"{layers} of {layers} MatMul/Gemm/Conv layers INT8" in proc.stdout, proc.stdout
    weights = (out / "host" / "weights.bin").stat().st_size
    assert weights < model_bytes / 3.9  # INT8: a quarter of FP32, plus alignment
    rss = peak_rss_bytes(proc.stderr)
    print(f"large model: {model_bytes / 1e9:.2f} GB -> peak RSS {rss / 1e6:.0f} MB "
          f"({100 * rss / model_bytes:.1f}% of the model)")
    return model_bytes, rss


@pytest.mark.skipif(not os.path.exists("/usr/bin/time"), reason="needs GNU time")
def test_1_3gb_model_optimizes_in_half_its_size(tmp_path):
    model_bytes, rss = optimize_large_model(tmp_path, layers=5)
    if sanitizer_build():
        pytest.skip(f"the job ran; ASan's shadow memory makes its RSS ({rss / 1e6:.0f} MB) no bound")
    assert rss < 0.5 * model_bytes


@pytest.mark.skipif(os.environ.get("DS_LARGE_MODEL_TEST") != "1",
                    reason="3.2 GB on disk and ~1 min: set DS_LARGE_MODEL_TEST=1")
def test_3gb_model_optimizes_in_a_quarter_of_its_size(tmp_path):
    model_bytes, rss = optimize_large_model(tmp_path, layers=12)
    assert model_bytes >= 3e9
    if sanitizer_build():
        pytest.skip(f"the job ran; ASan's shadow memory makes its RSS ({rss / 1e6:.0f} MB) no bound")
    assert rss < 0.25 * model_bytes
