"""`ds-optimize ... -o OUT` end to end on the host CPU (issue: end-to-end INT8 on the host
CPU): the accuracy the report claims for the digits CNN, the sample LM and stories260K; the
FP32 artifact against ONNX Runtime; and the INT8 artifact's own runner (bin/ds-model-run)
against the report's simulated numbers, ONNX Runtime and itself.

Artifacts are built once per session (conftest.py fixtures) and shared."""
import numpy as np
import pytest

from conftest import LM_MODEL, SAMPLES, sha256_file

# Acceptance targets of the issue.
DIGITS_MAX_DROP_POINTS = 0.5
DIGITS_MIN_TEACHER_ACCURACY = 0.95
LM_MAX_PERPLEXITY_INCREASE = 0.02
LM_MAX_MEAN_KL = 0.02
LM_MIN_TOP1 = 0.97
STORIES_MIN_TOP1 = 0.95
# Floors below the targets: what today's min-max calibration reaches with a margin, so a
# regression fails even where a target is still an expected failure.
LM_TOP1_FLOOR = 0.95
STORIES_TOP1_FLOOR = 0.85


def output_metrics(report, name):
    for o in report["accuracy"]["outputs"]:
        if o["name"] == name:
            return o
    raise AssertionError(f"report has no output '{name}': {report['accuracy']['outputs']}")


# --- accuracy acceptance (report.json) ---------------------------------------------------------

def test_digits_int8_accuracy(digits_int8_artifact, load_report):
    report = load_report(digits_int8_artifact)
    assert report["precision"] == "int8-static"
    assert report["calibration"]["method"] == "minmax" and report["calibration"]["samples"] > 0
    task = report["accuracy"]["task"]
    assert task["metric"] == "accuracy" and task["count"] == 447
    assert task["teacher"] >= DIGITS_MIN_TEACHER_ACCURACY, task
    drop_points = 100 * (task["teacher"] - task["student"])
    assert drop_points <= DIGITS_MAX_DROP_POINTS, f"accuracy drop {drop_points:.2f} points: {task}"
    assert report["accuracy"]["target"]["drop_percent"] == pytest.approx(drop_points, abs=1e-9)
    # Every Conv/Gemm really is INT8 (else the accuracy says nothing about quantization).
    assert report["layers"] and all(l["precision"] == "int8" for l in report["layers"])
    assert report["size"]["weight_bytes_artifact"] < 0.3 * report["size"]["weight_bytes_fp32"]


def test_lm_int8_perplexity_and_kl(lm_int8_artifact, load_report):
    report = load_report(lm_int8_artifact)
    task = report["accuracy"]["task"]
    assert task["metric"] == "perplexity" and task["count"] == 32 * 127
    increase = task["student"] / task["teacher"] - 1
    assert abs(increase) <= LM_MAX_PERPLEXITY_INCREASE, f"perplexity {task}"
    logits = output_metrics(report, "logits")
    assert logits["rows"] == 32 * 128
    assert 0 <= logits["mean_kl_nats"] <= LM_MAX_MEAN_KL, logits
    assert logits["top1_agreement"] >= LM_TOP1_FLOOR, logits


@pytest.mark.xfail(strict=False, reason="static per-tensor min-max gives top-1 agreement 0.967 on "
                                        "the sample LM; per-token activations reach it (below)")
def test_lm_int8_top1_agreement(lm_int8_artifact, load_report):
    logits = output_metrics(load_report(lm_int8_artifact), "logits")
    assert logits["top1_agreement"] >= LM_MIN_TOP1, logits


@pytest.fixture(scope="module")
def lm_int8_per_token(optimize_artifact, tmp_path_factory):
    """The sample LM with dynamic per-token activations (one uint8 range per token)."""
    args = ["--precision", "int8", "--quant-mode", "dynamic-per-token",
            "--eval", SAMPLES / "lm" / "eval_tokens.npy", "--max-drop", "2%"]
    return optimize_artifact(LM_MODEL, args, tmp_path_factory.mktemp("lm_int8_token") / "out")


def test_lm_int8_per_token_meets_every_lm_target(lm_int8_per_token, load_report):
    report = load_report(lm_int8_per_token)
    logits = output_metrics(report, "logits")
    task = report["accuracy"]["task"]
    assert task["metric"] == "perplexity"
    assert task["student"] <= task["teacher"] * (1 + LM_MAX_PERPLEXITY_INCREASE), task
    assert logits["mean_kl_nats"] <= LM_MAX_MEAN_KL, logits
    assert logits["top1_agreement"] >= LM_MIN_TOP1, logits
    assert report["accuracy"]["target"]["passed"] is True


@pytest.fixture(scope="module")
def stories260k_int8(stories260k_onnx, stories260k_reference_tokens, optimize_artifact,
                     tmp_path_factory):
    """stories260K prefill at INT8, calibrated and verified on the teacher-forced reference
    sequence (BOS + the 48 reference tokens, [1, 49] int64)."""
    work = tmp_path_factory.mktemp("stories260k_int8")
    tokens = work / "reference_tokens.npy"
    np.save(tokens, np.array([[1] + stories260k_reference_tokens], dtype=np.int64))
    args = ["--precision", "int8", "--quant-mode", "dynamic-per-token", "--weight-rounding", "gptq",
            "--calib", tokens, "--eval", tokens]
    return optimize_artifact(stories260k_onnx / "prefill.onnx", args, work / "out")


def test_stories260k_int8_floor(stories260k_int8, load_report):
    report = load_report(stories260k_int8)
    logits = report["accuracy"]["outputs"][0]
    assert logits["name"] == "logits" and logits["rows"] == 49
    assert logits["top1_agreement"] >= STORIES_TOP1_FLOOR, logits


@pytest.mark.xfail(strict=False, reason="per-token activations + GPTQ weights give top-1 0.898 "
                                        "(KL 0.024) on the 49-token trace; 3 of its 5 flips are "
                                        "positions whose FP32 top-2 margin is < 0.06 logits; "
                                        "weight-only INT8 alone already gives 0.90; target 0.95. "
                                        "--max-kl 0.01 --accuracy-control (5 layers FP32) gives "
                                        "0.959, but top-1 is not monotone in the KL (--max-kl "
                                        "0.005, 12 layers FP32: 0.898); bf16 weights alone flip one. "
                                        "--min-top1 0.95 --accuracy-control meets it (test below)")
def test_stories260k_int8_top1_agreement(stories260k_int8, load_report):
    logits = load_report(stories260k_int8)["accuracy"]["outputs"][0]
    assert logits["top1_agreement"] >= STORIES_MIN_TOP1, logits


# stories260K's all-INT8 KL (0.024 nats) is above the LM target; --accuracy-control must bring
# it under this by returning the layers that cost most alone to FP32.
STORIES_CONTROLLED_MAX_KL = 0.01


@pytest.fixture(scope="module")
def stories260k_int8_controlled(stories260k_onnx, stories260k_reference_tokens, optimize_artifact,
                                tmp_path_factory):
    work = tmp_path_factory.mktemp("stories260k_int8_controlled")
    tokens = work / "reference_tokens.npy"
    np.save(tokens, np.array([[1] + stories260k_reference_tokens], dtype=np.int64))
    args = ["--precision", "int8", "--quant-mode", "dynamic-per-token", "--weight-rounding", "gptq",
            "--calib", tokens, "--eval", tokens, "--max-kl", str(STORIES_CONTROLLED_MAX_KL),
            "--accuracy-control"]
    return optimize_artifact(stories260k_onnx / "prefill.onnx", args, work / "out")


def test_stories260k_accuracy_control_meets_its_kl_target(stories260k_int8, stories260k_int8_controlled,
                                                          load_report):
    plain = load_report(stories260k_int8)
    report = load_report(stories260k_int8_controlled)
    target = report["accuracy"]["target"]
    assert target["passed"] is True and target["max_mean_kl_nats"] == STORIES_CONTROLLED_MAX_KL
    logits = report["accuracy"]["outputs"][0]
    assert logits["mean_kl_nats"] <= STORIES_CONTROLLED_MAX_KL, logits
    assert plain["accuracy"]["outputs"][0]["mean_kl_nats"] > STORIES_CONTROLLED_MAX_KL, \
        "the all-INT8 student already meets the target: the search was not exercised"
    assert logits["top1_agreement"] >= STORIES_TOP1_FLOOR, logits
    # A few layers back in FP32, each saying why; one trial per layer to rank, one per return.
    layers = report["layers"]
    fp32 = [l for l in layers if l["precision"] == "fp32"]
    assert 0 < len(fp32) <= len(layers) // 4, [l["node"] for l in fp32]
    assert all("--accuracy-control" in l["fp32_reason"] for l in fp32), fp32
    assert target["accuracy_control_trials"] == len(layers) + len(fp32), target
    assert report["size"]["weight_bytes_artifact"] < 0.6 * report["size"]["weight_bytes_fp32"]


def stories260k_job(stories260k_onnx, reference_tokens, tmp_path, extra):
    tokens = tmp_path / "reference_tokens.npy"
    np.save(tokens, np.array([[1] + reference_tokens], dtype=np.int64))
    return (stories260k_onnx / "prefill.onnx",
            ["--precision", "int8", "--quant-mode", "dynamic-per-token", "--weight-rounding", "gptq",
             "--calib", tokens, "--eval", tokens, *extra])


def test_stories260k_top1_target_fails_plain_int8_and_accuracy_control_meets_it(
        stories260k_onnx, stories260k_reference_tokens, ds_optimize, optimize_artifact,
        load_report, tmp_path):
    """--min-top1 is the issue's own stories260K target (0.95 of the trace's positions): the
    all-INT8 student misses it (exit 3, with an artifact, a report saying so and a hint), and
    --accuracy-control returns layers to FP32 until it holds."""
    model, args = stories260k_job(stories260k_onnx, stories260k_reference_tokens, tmp_path,
                                  ["--min-top1", str(STORIES_MIN_TOP1)])
    code, stdout, stderr = ds_optimize([model, *args, "-o", tmp_path / "plain"])
    assert code == 3, stdout + stderr
    assert "min top-1 agreement 0.95" in stdout and "MISSED" in stdout, stdout
    assert "hint     --accuracy-control" in stdout, stdout
    plain = load_report(tmp_path / "plain" / "host")
    assert plain["accuracy"]["target"]["passed"] is False
    assert plain["accuracy"]["outputs"][0]["top1_agreement"] < STORIES_MIN_TOP1
    report = load_report(optimize_artifact(model, args + ["--accuracy-control"], tmp_path / "ctl"))
    target = report["accuracy"]["target"]
    assert target["passed"] is True and target["min_top1_agreement"] == STORIES_MIN_TOP1
    assert report["accuracy"]["outputs"][0]["top1_agreement"] >= STORIES_MIN_TOP1
    fp32 = [l for l in report["layers"] if l["precision"] == "fp32"]
    assert 0 < len(fp32) <= len(report["layers"]) // 4, [l["node"] for l in fp32]
    assert report["size"]["weight_bytes_artifact"] < 0.6 * report["size"]["weight_bytes_fp32"]


def test_stories260k_accuracy_control_is_deterministic(stories260k_onnx, stories260k_int8_controlled,
                                                       optimize_artifact, tmp_path):
    """The search's 41 trials at one thread choose the same layers, so the same artifact."""
    tokens = stories260k_int8_controlled.parent.parent / "reference_tokens.npy"
    args = ["--precision", "int8", "--quant-mode", "dynamic-per-token", "--weight-rounding", "gptq",
            "--calib", tokens, "--eval", tokens, "--max-kl", str(STORIES_CONTROLLED_MAX_KL),
            "--accuracy-control", "--threads", "1"]
    again = optimize_artifact(stories260k_onnx / "prefill.onnx", args, tmp_path / "out")
    for name in ("weights.bin", "manifest.json", "report.json"):
        assert sha256_file(again / name) == sha256_file(stories260k_int8_controlled / name), name


# --- the FP32 artifact --------------------------------------------------------------------------

def test_digits_fp32_report_is_exact(digits_fp32_artifact, load_report):
    report = load_report(digits_fp32_artifact)
    assert report["precision"] == "fp32"
    assert all(l["precision"] == "fp32" for l in report["layers"])
    logits = output_metrics(report, "logits")
    assert logits["cosine"] == pytest.approx(1.0, abs=1e-6), logits
    assert logits["max_rel_error"] <= 1e-5, logits
    assert logits["top1_agreement"] == 1.0 and logits["mean_kl_nats"] <= 1e-9, logits
    task = report["accuracy"]["task"]
    assert task["student"] == task["teacher"]


def test_digits_fp32_runner_matches_onnxruntime(digits_fp32_artifact, model_run, ort_runner,
                                                samples_dir, tmp_path):
    x = np.load(samples_dir / "digits" / "eval.npz")["x"]
    ours = model_run(digits_fp32_artifact, {"x": x}, tmp_path)["logits"]
    reference = ort_runner(samples_dir / "digits" / "digits_cnn.onnx", {"x": x})["logits"]
    assert ours.shape == reference.shape and ours.dtype == np.float32
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours.astype(np.float64) - reference).max())
    assert err <= 1e-4 * scale, f"max abs err {err:.3g} vs output scale {scale:.3g}"


# --- the INT8 artifact's runner -----------------------------------------------------------------

def lm_eval_feeds(samples_dir):
    return {"input_ids": np.load(samples_dir / "lm" / "eval_tokens.npy")}


def digits_eval_feeds(samples_dir):
    return {"x": np.load(samples_dir / "digits" / "eval.npz")["x"]}


CASES = {
    # artifact fixture, model, feeds, loose tolerance (max error / output scale)
    "digits": ("digits_int8_artifact", "digits/digits_cnn.onnx", digits_eval_feeds, 0.05),
    "lm": ("lm_int8_artifact", "lm/lm_prefill.onnx", lm_eval_feeds, 0.25),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_int8_runner_reproduces_report(case, request, model_run, ort_runner, load_report,
                                       samples_dir, tmp_path):
    """The runner's INT8 logits against ONNX Runtime's FP32 ones: within a loose tolerance,
    and with the same max error and top-1 agreement the report measured for the compiler's
    simulated INT8 model against its FP32 teacher (so the artifact runs what was verified)."""
    fixture, model, feeds_of, tolerance = CASES[case]
    artifact = request.getfixturevalue(fixture)
    feeds = feeds_of(samples_dir)
    ours = model_run(artifact, feeds, tmp_path)["logits"]
    reference = ort_runner(samples_dir / model, feeds)["logits"]
    assert ours.shape == reference.shape and ours.dtype == np.float32
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours.astype(np.float64) - reference).max())
    assert err <= tolerance * scale, f"max abs err {err:.3g} vs output scale {scale:.3g}"

    claimed = output_metrics(load_report(artifact), "logits")
    # Our FP32 teacher is within ~1e-5 of ONNX Runtime, so the errors agree to well below that.
    assert abs(err - claimed["max_abs_error"]) <= 1e-3 * scale, (err, claimed)
    agreement = float((ours.argmax(-1) == reference.argmax(-1)).mean())
    rows = reference.size // reference.shape[-1]
    assert abs(agreement - claimed["top1_agreement"]) <= 2 / rows, (agreement, claimed)
    if case == "digits":
        labels = np.load(samples_dir / "digits" / "eval_labels.npy")
        accuracy = float((ours.argmax(-1) == labels).mean())
        assert abs(accuracy - load_report(artifact)["accuracy"]["task"]["student"]) <= 1 / rows


@pytest.mark.parametrize("case", sorted(CASES))
def test_int8_runner_is_deterministic(case, request, model_run, samples_dir, tmp_path):
    """Same input, same bits: run twice, and with --threads 1 and --threads 2."""
    fixture, _, feeds_of, _ = CASES[case]
    artifact = request.getfixturevalue(fixture)
    feeds = feeds_of(samples_dir)
    runs = {
        "default a": model_run(artifact, feeds, tmp_path / "a"),
        "default b": model_run(artifact, feeds, tmp_path / "b"),
        "threads 1": model_run(artifact, feeds, tmp_path / "t1", threads=1),
        "threads 2": model_run(artifact, feeds, tmp_path / "t2", threads=2),
    }
    first = runs["default a"]
    assert first and "logits" in first
    for label, outputs in runs.items():
        assert outputs.keys() == first.keys(), label
        for name, value in outputs.items():
            assert value.dtype == first[name].dtype and value.shape == first[name].shape
            assert value.tobytes() == first[name].tobytes(), f"{name} differs in run '{label}'"


# --- numerics policy (issue 4) ------------------------------------------------------------------

def test_reduction_deeper_than_the_int32_bound_stays_fp32(tmp_path, optimize_artifact,
                                                          load_report):
    """K u8*s8 products fit int32 only up to K = 65793: a deeper MatMul stays FP32 with
    the reason in the report, and the artifact still matches the teacher."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    k = 65800
    rng = np.random.default_rng(1)
    w = numpy_helper.from_array((rng.standard_normal((k, 2)) / np.sqrt(k)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="deep")], "deep",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, k])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])], [w])
    model = tmp_path / "deep.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), model)
    samples = tmp_path / "x.npy"
    np.save(samples, rng.standard_normal((2, k)).astype(np.float32))
    args = ["--precision", "int8", "--quant-mode", "dynamic", "--eval", samples]
    # Its only layer cannot be INT8: refused unless the user accepts an FP32 artifact.
    optimize_artifact(model, args, tmp_path / "refused", expect=2)
    artifact = optimize_artifact(model, args + ["--allow-unquantized"], tmp_path / "out")
    report = load_report(artifact)
    layer = next(l for l in report["layers"] if l["node"] == "deep")
    assert layer["precision"] == "fp32"
    assert "INT32 accumulator bound" in layer["fp32_reason"], layer
