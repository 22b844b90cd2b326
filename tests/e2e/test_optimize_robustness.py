"""Properties of what `ds-optimize ... -o OUT` writes, beyond accuracy: the artifact is
self-contained (no compiler libraries, relocatable), reproducible to the byte, never half
written even when the compiler is SIGKILLed, and bad input is refused with exit 2, one error
line and no artifact. `--max-drop` misses exit 3 and still write the artifact."""
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest

# Libraries an artifact must not need: the compiler's (MLIR/LLVM, ONNX, protobuf) and Python.
FORBIDDEN_LIBRARIES = ("libmlir", "libllvm", "protobuf", "onnx", "python")
KILLS = 20
KILL_SEED = 20240607


def tree_bytes(root):
    """relative path -> bytes of every file under root."""
    root = Path(root)
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted(root.rglob("*")) if p.is_file()}


def tree_differences(a, b):
    """Paths whose bytes differ, or that only one of the trees has."""
    return sorted(p for p in a.keys() | b.keys() if a.get(p) != b.get(p))


def staging_dirs(out):
    return sorted(p.name for p in Path(out).glob(".host.staging-*"))


# --- self-contained ------------------------------------------------------------------------

@pytest.mark.parametrize("binary", ["lib/libds_model.so", "bin/ds-model-run"])
def test_artifact_needs_no_compiler_libraries(digits_int8_artifact, binary):
    if shutil.which("ldd") is None:
        pytest.skip("ldd not found")
    proc = subprocess.run(["ldd", str(digits_int8_artifact / binary)], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    listing = proc.stdout.lower()
    assert "libc.so" in listing, proc.stdout  # ldd really listed the dependencies
    assert "not found" not in listing, proc.stdout
    found = [lib for lib in FORBIDDEN_LIBRARIES if lib in listing]
    assert not found, f"{binary} depends on {found}:\n{proc.stdout}"


def test_copied_artifact_runs_after_original_is_deleted(digits_int8_artifact, model_run,
                                                        samples_dir, tmp_path):
    feeds = {"x": np.load(samples_dir / "digits" / "eval.npz")["x"]}
    expected = model_run(digits_int8_artifact, feeds, tmp_path / "original_run")["logits"]
    original = shutil.copytree(digits_int8_artifact, tmp_path / "first" / "host", symlinks=True)
    moved = shutil.copytree(original, tmp_path / "elsewhere" / "deeper" / "model", symlinks=True)
    shutil.rmtree(tmp_path / "first")
    got = model_run(moved, feeds, tmp_path / "moved_run")["logits"]
    assert got.tobytes() == expected.tobytes()


# --- reproducible --------------------------------------------------------------------------

def test_two_runs_are_byte_identical(digits_int8_job, digits_int8_artifact, optimize_artifact,
                                     ds_optimize_binary, tmp_path):
    model, args = digits_int8_job
    trees = {}
    for threads in (1, 2):
        cwd = tmp_path / f"cwd{threads}"
        cwd.mkdir()
        out = optimize_artifact(model, [*args, "--threads", threads],
                                tmp_path / f"out{threads}" / "nested", cwd=cwd)
        trees[f"--threads {threads}"] = tree_bytes(out)
    trees["all cores (session artifact)"] = tree_bytes(digits_int8_artifact)
    # Another locale, with a decimal comma (scripts/setup.sh generates it): the tools
    # never call setlocale, so number formatting is "C" whatever the environment says;
    # this keeps it so.
    locales = subprocess.run(["locale", "-a"], capture_output=True, text=True).stdout.split()
    assert "de_DE.utf8" in locales, "de_DE.UTF-8 is missing: run scripts/setup.sh"
    env = dict(os.environ, LC_ALL="de_DE.UTF-8", LANG="de_DE.UTF-8")
    out = tmp_path / "out_locale"
    proc = subprocess.run([str(ds_optimize_binary), str(model), *map(str, args), "-o", str(out)],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    trees["LC_ALL=de_DE.UTF-8"] = tree_bytes(out / "host")
    first_label, first = next(iter(trees.items()))
    assert "weights.bin" in first and "lib/libds_model.so" in first
    for label, tree in trees.items():
        differ = tree_differences(first, tree)
        assert not differ, f"'{first_label}' and '{label}' differ in: {differ}"


# --- never half written --------------------------------------------------------------------

def test_sigkill_leaves_the_old_or_the_new_artifact(digits_int8_job, digits_fp32_artifact,
                                                    optimize_artifact, ds_optimize,
                                                    ds_optimize_binary, check_complete_artifact,
                                                    tmp_path):
    model, args = digits_int8_job
    start = time.monotonic()
    new = tree_bytes(optimize_artifact(model, args, tmp_path / "measure"))
    runtime = time.monotonic() - start
    old = tree_bytes(digits_fp32_artifact)
    assert tree_differences(old, new), "the old and new artifacts must be distinguishable"

    out = tmp_path / "out"
    shutil.copytree(digits_fp32_artifact, out / "host")
    command = [str(ds_optimize_binary), str(model), *map(str, args), "-o", str(out)]

    rng = random.Random(KILL_SEED)
    # One kill per slice of the measured runtime (stretched by 25%, as runs vary by ~10%, so
    # that the last slices cover publishing and a finished run), at a random point
    # inside the slice.
    delays = [(i + rng.random()) / KILLS * 1.25 * runtime for i in range(KILLS)]
    outcomes = []
    for delay in delays:
        if tree_bytes(out / "host") != old:  # every round replaces the old artifact
            shutil.rmtree(out / "host")
            shutil.copytree(digits_fp32_artifact, out / "host")
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        time.sleep(delay)
        finished = proc.poll() is not None
        if not finished:
            proc.send_signal(signal.SIGKILL)  # ds-optimize itself, as the OOM killer would
            # Wait for it to die but leave it a zombie, so that its process group id stays
            # ours while the compiler children it started may still run.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        state = check_state_after_kill(out, old, new, check_complete_artifact, delay)
        if not finished:
            # End those orphans so the next round starts clean, and check again: they
            # write only into their staging directory.
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            time.sleep(0.05)
            check_state_after_kill(out, old, new, check_complete_artifact, delay)
        outcomes.append((round(delay, 2), state + (" (had finished)" if finished else "")))

    code, stdout, stderr = ds_optimize([model, *args, "-o", out])
    assert code == 0, stdout + stderr
    assert tree_differences(tree_bytes(out / "host"), new) == []
    assert staging_dirs(out) == [], "the complete run left staging directories"
    assert sorted(p.name for p in out.iterdir()) == ["host"]
    print("kill outcomes (delay s, artifact):", outcomes)


def check_state_after_kill(out, old, new, check_complete_artifact, delay):
    """OUT holds host (the old or the new artifact, whole) and maybe staging dirs only."""
    entries = sorted(p.name for p in out.iterdir())
    strays = [e for e in entries if e != "host" and not e.startswith(".host.staging-")]
    assert not strays, f"kill after {delay:.2f} s left {strays} in {out}"
    host = out / "host"
    assert host.is_dir(), f"kill after {delay:.2f} s: {host} is missing (had an artifact before)"
    check_complete_artifact(host)
    tree = tree_bytes(host)
    if tree == old:
        return "old"
    assert not tree_differences(tree, new), (
        f"kill after {delay:.2f} s: {host} is neither artifact; differs from the new one in "
        f"{tree_differences(tree, new)}, from the old one in {tree_differences(tree, old)}")
    return "new"


# --- bad input -----------------------------------------------------------------------------

def calib_with_nan(samples_dir, path):
    x = np.load(samples_dir / "digits" / "calib.npz")["x"].copy()
    x[3, 0, 2, 2] = np.nan
    np.save(path, x)
    return path


def calib_named(samples_dir, path, name):
    np.savez(path, **{name: np.load(samples_dir / "digits" / "calib.npz")["x"]})
    return path


def calib_double(samples_dir, path):
    np.savez(path, x=np.load(samples_dir / "digits" / "calib.npz")["x"].astype(np.float64))
    return path


def bad_cases(samples, tmp):
    """name -> (arguments before -o, fragments the error line must contain)."""
    digits = samples / "digits"
    model = digits / "digits_cnn.onnx"
    calib = ["--calib", digits / "calib.npz"]
    nan = calib_with_nan(samples, tmp / "calib_nan.npy")
    named = calib_named(samples, tmp / "calib_named.npz", "pixels")
    double = calib_double(samples, tmp / "calib_double.npz")
    return {
        "missing model": ([tmp / "absent.onnx", "--precision", "int8", *calib],
                          [str(tmp / "absent.onnx")]),
        "int4": ([model, "--precision", "int4", *calib], ["int4", "fp32", "int8"]),
        "profile a100": ([model, "--profile", "a100", "--precision", "int8", *calib],
                         ["a100", "host"]),
        "static int8 without --calib": ([model, "--precision", "int8", "--eval",
                                         digits / "eval.npz"], ["--calib"]),
        "NaN in calibration": ([model, "--precision", "int8", "--calib", nan],
                               [str(nan), "--calib-nan=skip"]),
        "wrong tensor name": ([model, "--precision", "int8", "--calib", named],
                              [str(named), "'x'"]),
        "wrong dtype": ([model, "--precision", "int8", "--calib", double],
                        [str(double), "double", "float"]),
        "max-drop abc": ([model, "--precision", "int8", *calib, "--max-drop", "abc"],
                         ["--max-drop", "abc"]),
        "accuracy control without a target": ([model, "--precision", "int8", *calib,
                                               "--accuracy-control"],
                                              ["--accuracy-control", "--max-drop", "--max-kl",
                                               "--min-top1"]),
        "accuracy control with auto-fp32": ([model, "--precision", "int8", *calib,
                                             "--max-drop", "1%", "--accuracy-control",
                                             "--auto-fp32", "0.1"],
                                            ["--accuracy-control", "--auto-fp32"]),
        # Command-line mistakes follow the same convention (not CLI11's exit codes).
        "negative max-kl": ([model, "--precision", "int8", *calib, "--max-kl", "-1"],
                            ["--max-kl", ">= 0", "'-1'"]),
        "smoothquant-alpha 2": ([model, "--precision", "int8", *calib, "--smoothquant-alpha", "2"],
                                ["--smoothquant-alpha", "2"]),
        "min-top1 1.5": ([model, "--precision", "int8", *calib, "--min-top1", "1.5"],
                         ["--min-top1", "1.5"]),
        "unknown option": ([model, "--precision", "int8", *calib, "--bogus"], ["--bogus"]),
    }


BAD_CASE_NAMES = ["missing model", "int4", "profile a100", "static int8 without --calib",
                  "NaN in calibration", "wrong tensor name", "wrong dtype", "max-drop abc",
                  "accuracy control without a target", "accuracy control with auto-fp32",
                  "negative max-kl", "smoothquant-alpha 2", "min-top1 1.5", "unknown option"]


@pytest.mark.parametrize("case", BAD_CASE_NAMES)
def test_bad_input_exits_2_with_one_error_line(case, ds_optimize, error_line, samples_dir,
                                               tmp_path):
    args, fragments = bad_cases(samples_dir, tmp_path)[case]
    out = tmp_path / "out"
    code, stdout, stderr = ds_optimize([*args, "-o", out], timeout=120)
    assert code == 2, f"exit {code}:\n{stdout}{stderr}"
    line = error_line(stderr)
    for fragment in fragments:
        assert fragment in line, f"'{fragment}' not in: {line}"
    assert not (out / "host").exists(), "a refused job wrote an artifact"
    assert not out.exists() or staging_dirs(out) == []


def test_calib_nan_skip_succeeds(ds_optimize, digits_int8_artifact, load_report,
                                 check_complete_artifact, samples_dir, tmp_path):
    digits = samples_dir / "digits"
    nan = calib_with_nan(samples_dir, tmp_path / "calib_nan.npy")
    out = tmp_path / "out"
    code, stdout, stderr = ds_optimize([digits / "digits_cnn.onnx", "--precision", "int8",
                                        "--calib", nan, "--calib-nan=skip",
                                        "--eval", digits / "eval.npz", "-o", out])
    assert code == 0, stdout + stderr
    check_complete_artifact(out / "host")
    calibration = load_report(out / "host")["calibration"]
    assert calibration["skipped_non_finite_samples"] == 1, calibration
    full = load_report(digits_int8_artifact)["calibration"]["samples"]
    assert calibration["samples"] == full - 1, (calibration, full)


# --- accuracy target missed ------------------------------------------------------------------

def test_max_drop_zero_exits_3_and_still_writes_the_artifact(lm_int8_job, optimize_artifact,
                                                             load_report,
                                                             check_complete_artifact, tmp_path):
    model, args = lm_int8_job
    artifact = optimize_artifact(model, [*args, "--max-drop", "0%"], tmp_path / "out", expect=3)
    check_complete_artifact(artifact)
    target = load_report(artifact)["accuracy"]["target"]
    assert target["passed"] is False, target
    assert target["max_drop_percent"] == 0 and target["drop_percent"] > 0, target
