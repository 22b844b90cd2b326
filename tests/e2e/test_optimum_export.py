"""An export made by the real Hugging Face Optimum exporter (samples/exporters/optimum:
a random-weight Llama, opset 18, one decoder-with-past graph with attention_mask,
position_ids and past_key_values.N.key/value). Above opset 17 Debian's ONNX library infers
no shapes; the dialect's own shape rules must rank every value, so that quantization and
the fusions work as on the opset-17 samples. Checked against ONNX Runtime on the same
inputs: prefill from an empty cache and a decode step that feeds the cache back."""
import json

import numpy as np
import pytest

from conftest import REPO, decoder_with_past_stepper, ds_generate, greedy_decode

TINY = REPO / "samples" / "exporters" / "optimum" / "tiny-llama-opset18" / "model.onnx"
SCALE_TOLERANCE = 1e-4
LAYERS, KV_HEADS, HEAD_DIM = 2, 4, 8


def prefill_feeds(tokens):
    """A prompt from an empty cache: past_key_values.* of shape [1, 4, 0, 8]."""
    n = len(tokens)
    feeds = {"input_ids": np.array([tokens], np.int64),
             "attention_mask": np.ones((1, n), np.int64),
             "position_ids": np.arange(n, dtype=np.int64)[None]}
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{layer}.{kind}"] = np.zeros((1, KV_HEADS, 0, HEAD_DIM),
                                                                 np.float32)
    return feeds


def decode_feeds(token, position, outputs):
    feeds = {"input_ids": np.array([[token]], np.int64),
             "attention_mask": np.ones((1, position + 1), np.int64),
             "position_ids": np.array([[position]], np.int64)}
    for layer in range(LAYERS):
        for kind in ("key", "value"):
            feeds[f"past_key_values.{layer}.{kind}"] = outputs[f"present.{layer}.{kind}"]
    return feeds


def assert_close(ours, reference, what):
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours.astype(np.float64) - reference).max())
    assert err <= SCALE_TOLERANCE * scale, f"{what}: max abs err {err:.3g}, scale {scale:.3g}"


@pytest.fixture(scope="module")
def calib(tmp_path_factory):
    path = tmp_path_factory.mktemp("optimum") / "prefill.npz"
    np.savez(path, **prefill_feeds([1, 17, 42, 99, 5, 200, 31, 7]))
    return path


def test_import_ranks_every_value(ds_optimize):
    code, out, err = ds_optimize([TINY, "--compile-to=import", "--elide-weights"])
    assert code == 0, err
    assert "ds.opset = 18" in out
    assert "tensor<*x" not in out, "an unranked value is left after shape inference"


def test_reference_executor_matches_onnxruntime(ds_run_model, ort_runner, tmp_path):
    feeds = prefill_feeds([1, 17, 42, 99, 5])
    ours = ds_run_model(TINY, feeds, tmp_path / "prefill")
    reference = ort_runner(TINY, feeds)
    for name, expected in reference.items():
        assert ours[name.replace("/", "_")].shape == expected.shape, name
        assert_close(ours[name.replace("/", "_")], expected, name)
    step = decode_feeds(int(reference["logits"][0, -1].argmax()), 5, reference)
    assert_close(ds_run_model(TINY, step, tmp_path / "decode")["logits"],
                 ort_runner(TINY, step)["logits"], "decode logits")


def test_fp32_artifact_fuses_and_matches_onnxruntime(optimize_artifact, model_run, ort_runner,
                                                     calib, tmp_path):
    artifact = optimize_artifact(TINY, ["--precision", "fp32", "--calib", calib], tmp_path / "out")
    report = json.loads((artifact / "report.json").read_text())
    fused = {f["fusion"]: f["fused"] for f in report["fusions"]}
    # 2 layers: 5 RMSNorms (2 per layer + final), rotary on q and k, one SwiGLU and one
    # attention (additive mask from attention_mask, IsNaN guard) each.
    assert fused["RMSNorm"] == 5 and fused["rotary"] == 4 and fused["SwiGLU"] == 2, fused
    assert fused["attention"] == 2, fused
    feeds = prefill_feeds([1, 17, 42, 99, 5])
    reference = ort_runner(TINY, feeds)
    ours = model_run(artifact, feeds, tmp_path / "prefill")
    assert_close(ours["logits"], reference["logits"], "prefill logits")
    step = decode_feeds(3, 5, reference)
    assert_close(model_run(artifact, step, tmp_path / "decode")["logits"],
                 ort_runner(TINY, step)["logits"], "decode logits")


def test_int8_quantizes_every_weight_matmul(optimize_artifact, calib, tmp_path):
    artifact = optimize_artifact(TINY, ["--precision", "int8", "--quant-mode", "dynamic-per-token",
                                        "--calib", calib], tmp_path / "out")
    report = json.loads((artifact / "report.json").read_text())
    layers = report["layers"]
    int8 = [l for l in layers if l["precision"] == "int8"]
    # 7 projections per layer (q, k, v, o, gate, up, down) and the untied head.
    assert len(int8) == 7 * LAYERS + 1, [l for l in layers if l["precision"] != "int8"]
    # The rest multiply two activations (attention, rotary tables), and say so.
    assert all("not a 2-D float constant" in l["fp32_reason"] for l in layers
               if l["precision"] != "int8")
    assert report["size"]["weight_bytes_artifact"] < 0.4 * report["size"]["weight_bytes_fp32"]


def test_int8_with_nothing_quantizable_is_refused(ds_optimize, calib, tmp_path):
    args = [TINY, "--precision", "int8", "--quant-mode", "dynamic", "--keep-fp32", "*",
            "--calib", calib, "-o", tmp_path / "out"]
    code, out, err = ds_optimize(args)
    assert code == 2, out + err
    assert "quantized none of the" in err and "--allow-unquantized" in err, err
    assert not (tmp_path / "out").exists()
    code, out, err = ds_optimize(args + ["--allow-unquantized"])
    assert code == 0, out + err


def ort_greedy(ort_runner, steps):
    """Greedy tokens from BOS through ONNX Runtime, the cache fed back."""
    def feeds(new, last):
        if last is None:
            return prefill_feeds(new)
        return decode_feeds(new[0], last["present.0.key"].shape[2], last)
    return greedy_decode(decoder_with_past_stepper(ort_runner, TINY, feeds), prompt=[1], count=steps)


def test_generate_reproduces_onnxruntime_greedy_tokens(ds_run, ort_runner, optimize_artifact,
                                                       calib, tmp_path):
    expected = ort_greedy(ort_runner, 12)
    assert ds_generate(TINY, 12) == expected
    code, out, err = ds_run([TINY, "--generate", 12, "--prompt-ids", 1])
    assert code == 0 and "prefill:" in out and "decode:" in out, out + err
    artifact = optimize_artifact(TINY, ["--precision", "fp32", "--calib", calib], tmp_path / "out")
    assert ds_generate(artifact, 12) == expected


def test_generate_bad_arguments_are_one_line(ds_run, tmp_path):
    for args, text in [(["--generate", 4], "needs the prompt"),
                       (["--generate", 4, "--prompt-ids", "1,x"], "--prompt-ids '1,x'"),
                       (["--generate", 4, "--prompt", "hi", "--prompt-ids", 1], "one of them"),
                       (["--generate", 4, "--prompt-ids", 1, "--inputs", "x.npz"], "drop --inputs"),
                       (["--generate", 4, "--prompt-ids", 1, "--temperature", -1], "--temperature"),
                       (["--generate", 4, "--prompt-ids", 1, "--top-p", 2], "--top-p"),
                       (["--generate", 4, "--prompt-ids", 1, "--top-p", "nan"], "--top-p"),
                       (["--generate", 0, "--prompt-ids", 1], "--generate"),
                       (["--generate", 4, "--prompt-ids", 1, "--threads", -1], "--threads")]:
        code, out, err = ds_run([TINY, *args])
        assert code == 2, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and text in lines[0], (args, err)


def test_benchmark_llm_reports_prefill_and_decode_next_to_onnxruntime(tmp_path):
    import subprocess

    from conftest import BUILD
    bench = BUILD / "bin" / "ds-benchmark"
    proc = subprocess.run([str(bench), TINY, "--llm", "-p", "16", "-n", "8", "-r", "2", "--threads",
                           "1", "--vs-onnxruntime"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {line.split()[0]: line.split() for line in proc.stdout.splitlines()[2:]}
    for test in ("pp16", "tg8"):
        assert float(rows[test][1]) > 0 and float(rows[test][4]) > 0, proc.stdout
        assert rows[test][-1].endswith("x"), proc.stdout
    bad = subprocess.run([str(bench), TINY, "--llm", "--inputs", "x.npz"], capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--llm makes its own prompt" in bad.stderr, bad.stderr
