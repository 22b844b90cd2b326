"""Shared helpers for the end-to-end tests: where the build and the shared test models
are, running ds-run, skipping cleanly when a file is absent, stories260K converted to
ONNX once per session, and one greedy decoding loop that the ONNX Runtime and the ds-run
language-model tests share.

The helpers are plain functions; each is also a fixture of the same name, so tests can
use them without importing this module.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("DS_BUILD_DIR", REPO / "build"))
# Test-only data lives beside the repository (see ../shared/models/README.md);
# DS_MODELS_DIR points elsewhere (or at an empty directory to check the skips).
MODELS = Path(os.environ.get("DS_MODELS_DIR", REPO.parent / "shared" / "models"))
DS_RUN = BUILD / "bin" / "ds-run"
LLAMA2C_CONVERTER = REPO / "samples" / "llama2c" / "convert_llama2c.py"
# Greedy tokens of the original C implementation from BOS (../shared/models/README.md).
STORIES260K_REFERENCE_TOKENS = [
    461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264, 283, 452,
    288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 293, 430, 417,
    363, 416, 315, 342, 418, 424, 400, 442, 402, 303, 266, 299]


def sanitizer_build():
    """Whether BUILD is a DS_SANITIZE build: its shadow memory and quarantine make
    peak-RSS bounds meaningless there."""
    import re
    cache = BUILD / "CMakeCache.txt"
    match = cache.exists() and re.search(r"^DS_SANITIZE:\w+=(.*)$", cache.read_text(), re.M)
    return bool(match and match.group(1).strip())


def ds_run(args, cwd=None, timeout=600):
    """Runs <build>/bin/ds-run with args; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([str(DS_RUN), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def requires_file(path, what=None):
    """Skip marker for tests that need a file that may be absent (shared models, tools)."""
    path = Path(path)
    return pytest.mark.skipif(not path.exists(), reason=f"{what or path.name} not found at {path}")


def shared_model(name):
    """Path of ../shared/models/<name>; skips the calling test when it is absent."""
    path = MODELS / name
    if not path.exists():
        pytest.skip(f"{name} not found at {path}")
    return path


def convert_llama2c(checkpoint, out_dir):
    """Runs samples/llama2c/convert_llama2c.py; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([sys.executable, str(LLAMA2C_CONVERTER), str(checkpoint), str(out_dir)],
                          capture_output=True, text=True, timeout=300)
    return proc.returncode, proc.stdout, proc.stderr


def ds_run_model(model, feeds, work_dir, extra_args=()):
    """Runs one model through ds-run: feeds (name -> array) go in as .npz, the outputs
    come back as name -> array. Fails the test on a non-zero exit."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    inputs, outputs = work_dir / "inputs.npz", work_dir / "outputs"
    np.savez(inputs, **feeds)
    if outputs.exists():
        for old in outputs.glob("*.npy"):
            old.unlink()
    code, out, err = ds_run([model, "--inputs", inputs, "--outputs", outputs, *extra_args])
    assert code == 0, f"ds-run {model} exited {code}: {out}{err}"
    return {p.stem: np.load(p) for p in outputs.glob("*.npy")}


def ort_runner():
    """A run(model, feeds) -> {output name: array} callable over ONNX Runtime, with one
    cached session per model file."""
    import onnxruntime as ort

    sessions = {}

    def run(model, feeds):
        key = str(model)
        if key not in sessions:
            sessions[key] = ort.InferenceSession(key, providers=["CPUExecutionProvider"])
        session = sessions[key]
        names = [o.name for o in session.get_outputs()]
        return dict(zip(names, session.run(names, feeds)))

    return run


def greedy_decode(next_logits, prompt=(1,), count=48):
    """Greedy decoding: next_logits(tokens so far) returns the logits [vocab] for the next
    token; the argmax is appended, count times. Returns the generated tokens."""
    tokens = [int(t) for t in prompt]
    for _ in range(count):
        logits = np.asarray(next_logits(list(tokens)))
        assert logits.ndim == 1, f"next_logits returned shape {logits.shape}, want [vocab]"
        tokens.append(int(np.argmax(logits)))
    return tokens[len(prompt):]


def full_sequence_stepper(run, prefill):
    """next_logits for greedy_decode that re-runs prefill over the whole growing sequence
    (no cache). run(model, feeds) -> outputs, e.g. ort_runner() or a ds-run wrapper."""

    def next_logits(tokens):
        outputs = run(prefill, {"input_ids": np.array([tokens], dtype=np.int64)})
        return outputs["logits"][0, -1]

    return next_logits


def decoder_with_past_stepper(run, model, feeds):
    """next_logits for greedy_decode over one decoder-with-past graph (Optimum, the genai
    builder): feeds(new_tokens, last_outputs) builds its inputs, last_outputs None for the
    prompt (an empty cache), else the previous run's outputs (their present.* are the past)."""
    state = {"outputs": None}

    def next_logits(tokens):
        new = tokens if state["outputs"] is None else tokens[-1:]
        state["outputs"] = run(model, feeds(new, state["outputs"]))
        return state["outputs"]["logits"][0, -1]

    return next_logits


def ds_generate(model, count, prompt=(1,)):
    """The ids `ds-run MODEL --generate COUNT --prompt-ids PROMPT` prints on its tokens: line;
    fails the test on a non-zero exit."""
    code, out, err = ds_run([model, "--generate", count, "--prompt-ids", ",".join(map(str, prompt))])
    assert code == 0, f"ds-run {model} --generate exited {code}: {out}{err}"
    line = next(l for l in out.splitlines() if l.startswith("tokens:"))
    return [int(t) for t in line.split()[1:]]


def kv_cache_stepper(run, prefill, decode):
    """next_logits for greedy_decode with a KV cache: prefill runs the prompt once, then
    decode runs one token at a time, its present_* outputs fed back as past_*."""
    state = {"length": 0, "past": None}

    def next_logits(tokens):
        if state["past"] is None or len(tokens) != state["length"] + 1:
            outputs = run(prefill, {"input_ids": np.array([tokens], dtype=np.int64)})
        else:
            feeds = {"input_ids": np.array([[tokens[-1]]], dtype=np.int64), **state["past"]}
            outputs = run(decode, feeds)
        state["past"] = {name.replace("present_", "past_", 1): value
                         for name, value in outputs.items() if name.startswith("present_")}
        state["length"] = len(tokens)
        return outputs["logits"][0, -1]

    return next_logits


@pytest.fixture(scope="session")
def build_dir():
    return BUILD


@pytest.fixture(scope="session")
def models_dir():
    return MODELS


@pytest.fixture(name="ds_run")
def ds_run_fixture():
    if not DS_RUN.exists():
        pytest.skip(f"ds-run not built at {DS_RUN}")
    return ds_run


@pytest.fixture(name="convert_llama2c")
def convert_llama2c_fixture():
    return convert_llama2c


@pytest.fixture(name="ds_run_model")
def ds_run_model_fixture():
    if not DS_RUN.exists():
        pytest.skip(f"ds-run not built at {DS_RUN}")
    return ds_run_model


@pytest.fixture(name="ort_runner")
def ort_runner_fixture():
    return ort_runner()


@pytest.fixture(name="greedy_decode")
def greedy_decode_fixture():
    return greedy_decode


@pytest.fixture(name="full_sequence_stepper")
def full_sequence_stepper_fixture():
    return full_sequence_stepper


@pytest.fixture(name="kv_cache_stepper")
def kv_cache_stepper_fixture():
    return kv_cache_stepper


@pytest.fixture(scope="session")
def stories260k():
    """../shared/models/stories260K.bin; the test is skipped when it is absent."""
    return shared_model("stories260K.bin")


@pytest.fixture(scope="session")
def stories260k_onnx(stories260k, tmp_path_factory):
    """Directory with stories260K's prefill.onnx, decode.onnx and config.json, converted
    once per session."""
    out = tmp_path_factory.mktemp("stories260k_onnx")
    code, stdout, stderr = convert_llama2c(stories260k, out)
    assert code == 0, stdout + stderr
    return out


@pytest.fixture(scope="session")
def stories260k_reference_tokens():
    return list(STORIES260K_REFERENCE_TOKENS)


# --- ds-optimize -o OUT: the whole job and its artifact --------------------------------------

DS_OPTIMIZE = BUILD / "bin" / "ds-optimize"
SAMPLES = REPO / "samples"
# Absolute paths, so that a run from any working directory writes the same report.
DIGITS_MODEL = SAMPLES / "digits" / "digits_cnn.onnx"
DIGITS_INT8_ARGS = ["--precision", "int8", "--calib", SAMPLES / "digits" / "calib.npz",
                    "--eval", SAMPLES / "digits" / "eval.npz",
                    "--eval-labels", SAMPLES / "digits" / "eval_labels.npy"]
LM_MODEL = SAMPLES / "lm" / "lm_prefill.onnx"
LM_INT8_ARGS = ["--precision", "int8", "--calib", SAMPLES / "lm" / "calib_tokens.npy",
                "--eval", SAMPLES / "lm" / "eval_tokens.npy"]
# The files every complete host artifact holds (docs/artifact-format.md).
ARTIFACT_FILES = ["manifest.json", "weights.bin", "src/model.cpp", "lib/libds_model.so",
                  "bin/ds-model-run", "report.json", "report.html"]


def ds_optimize(args, cwd=None, timeout=600):
    """Runs <build>/bin/ds-optimize with args; returns (exit code, stdout, stderr)."""
    proc = subprocess.run([str(DS_OPTIMIZE), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr


def optimize_artifact(model, args, out, cwd=None, expect=0):
    """ds-optimize MODEL ARGS -o OUT; asserts the exit code and returns OUT/host."""
    code, stdout, stderr = ds_optimize([model, *args, "-o", out], cwd=cwd)
    assert code == expect, f"ds-optimize {model} exited {code}, want {expect}:\n{stdout}{stderr}"
    return Path(out) / "host"


def load_report(artifact):
    """The parsed report.json of an artifact directory (OUT/host)."""
    import json
    return json.loads((Path(artifact) / "report.json").read_text())


def sha256_file(path):
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def check_complete_artifact(artifact):
    """Asserts that `artifact` (OUT/host) is a whole artifact: every file present, the
    manifest parses, and weights.bin and the library hash to what the manifest says.
    Returns the manifest."""
    import json
    artifact = Path(artifact)
    missing = [f for f in ARTIFACT_FILES if not (artifact / f).is_file()]
    assert not missing, f"{artifact} lacks {missing}"
    manifest = json.loads((artifact / "manifest.json").read_text())
    assert manifest["format"] == "ds-artifact" and manifest["version"] == 1
    weights = artifact / manifest["weights"]["file"]
    assert weights.stat().st_size == manifest["weights"]["bytes"]
    assert sha256_file(weights) == manifest["weights"]["sha256"], f"{weights}: sha256 mismatch"
    library = artifact / manifest["library"]["file"]
    assert sha256_file(library) == manifest["library"]["sha256"], f"{library}: sha256 mismatch"
    load_report(artifact)  # parses
    return manifest


def model_run(artifact, feeds, work_dir, threads=None):
    """Runs ARTIFACT/bin/ds-model-run on feeds (name -> array, stored as .npz); returns
    name -> array of its outputs. Fails the test on a non-zero exit."""
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    inputs, outputs = work_dir / "inputs.npz", work_dir / "outputs"
    np.savez(inputs, **feeds)
    if outputs.exists():
        for old in outputs.glob("*.npy"):
            old.unlink()
    args = [str(Path(artifact) / "bin" / "ds-model-run"), str(artifact), "--inputs", str(inputs),
            "--outputs", str(outputs)]
    if threads is not None:
        args += ["--threads", str(threads)]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"ds-model-run {artifact} exited {proc.returncode}: {proc.stderr}"
    return {p.stem: np.load(p) for p in outputs.glob("*.npy")}


def error_line(stderr, tool="ds-optimize"):
    """The one '<tool>: error: ...' line of a failed run. ds-optimize logs its phases
    ('[i/n] phase', indented details) on stderr too; those are the only other lines allowed,
    and the error must be the last line."""
    import re
    lines = stderr.strip().splitlines()
    errors = [l for l in lines if l.startswith(f"{tool}: error: ")]
    assert len(errors) == 1, f"want exactly one error line, got:\n{stderr}"
    assert lines[-1] == errors[0], f"the error is not the last line:\n{stderr}"
    others = [l for l in lines[:-1] if not re.match(r"^(\[\d+/\d+\] |      \S)", l)]
    assert not others, f"stderr has lines besides the phase log and the error: {others}"
    return errors[0]


@pytest.fixture(name="ds_optimize", scope="session")
def ds_optimize_fixture():
    if not DS_OPTIMIZE.exists():
        pytest.skip(f"ds-optimize not built at {DS_OPTIMIZE}")
    return ds_optimize


@pytest.fixture(scope="session")
def digits_int8_artifact(ds_optimize, tmp_path_factory):
    """OUT/host of the digits CNN at static INT8 (calib.npz, eval.npz + labels), once per
    session. Read-only for tests: copy it before changing anything."""
    return optimize_artifact(DIGITS_MODEL, DIGITS_INT8_ARGS, tmp_path_factory.mktemp("digits_int8"))


@pytest.fixture(scope="session")
def digits_fp32_artifact(ds_optimize, tmp_path_factory):
    """OUT/host of the digits CNN at FP32, verified on eval.npz + labels."""
    args = ["--precision", "fp32", "--eval", SAMPLES / "digits" / "eval.npz",
            "--eval-labels", SAMPLES / "digits" / "eval_labels.npy"]
    return optimize_artifact(DIGITS_MODEL, args, tmp_path_factory.mktemp("digits_fp32"))


@pytest.fixture(scope="session")
def lm_int8_artifact(ds_optimize, tmp_path_factory):
    """OUT/host of the sample LM's prefill graph at static INT8, once per session."""
    return optimize_artifact(LM_MODEL, LM_INT8_ARGS, tmp_path_factory.mktemp("lm_int8"))


@pytest.fixture(name="optimize_artifact", scope="session")
def optimize_artifact_fixture(ds_optimize):
    return optimize_artifact


@pytest.fixture(name="model_run", scope="session")
def model_run_fixture():
    return model_run


@pytest.fixture(name="load_report", scope="session")
def load_report_fixture():
    return load_report


@pytest.fixture(name="check_complete_artifact", scope="session")
def check_complete_artifact_fixture():
    return check_complete_artifact


@pytest.fixture(name="error_line", scope="session")
def error_line_fixture():
    return error_line


@pytest.fixture(scope="session")
def digits_int8_job():
    """(model, arguments before -o) of the digits INT8 job, all paths absolute."""
    return DIGITS_MODEL, list(DIGITS_INT8_ARGS)


@pytest.fixture(scope="session")
def lm_int8_job():
    """(model, arguments before -o) of the sample LM's prefill INT8 job."""
    return LM_MODEL, list(LM_INT8_ARGS)


@pytest.fixture(scope="session")
def samples_dir():
    return SAMPLES


@pytest.fixture(scope="session")
def ds_optimize_binary(ds_optimize):
    """Path of the ds-optimize binary (for tests that start it themselves)."""
    return DS_OPTIMIZE
