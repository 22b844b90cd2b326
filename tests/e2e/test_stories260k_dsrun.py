"""stories260K (../shared/models, skipped when absent) through our own FP32 reference
executor: the 48 reference greedy tokens exactly, through the KV-cache decode graph and
through prefill, and prefill logits within 1e-4 of ONNX Runtime's logit scale."""
import numpy as np

from conftest import ds_generate

SCALE_TOLERANCE = 1e-4


def test_greedy_tokens_through_decode_graph(stories260k_onnx, stories260k_reference_tokens,
                                            ds_run_model, kv_cache_stepper, greedy_decode,
                                            tmp_path):
    step = {"n": 0}

    def run(model, feeds):
        step["n"] += 1
        return ds_run_model(model, feeds, tmp_path / f"step{step['n']}")

    next_logits = kv_cache_stepper(run, stories260k_onnx / "prefill.onnx",
                                   stories260k_onnx / "decode.onnx")
    assert greedy_decode(next_logits, prompt=[1], count=48) == stories260k_reference_tokens


def test_prefill_matches_tokens_and_onnxruntime(stories260k_onnx, stories260k_reference_tokens,
                                                ds_run_model, ort_runner, tmp_path):
    # Teacher-forced: one prefill over BOS + the reference tokens predicts each next one.
    sequence = [1] + stories260k_reference_tokens
    feeds = {"input_ids": np.array([sequence[:-1]], dtype=np.int64)}
    ours = ds_run_model(stories260k_onnx / "prefill.onnx", feeds, tmp_path)["logits"]
    assert list(ours[0].argmax(-1)) == stories260k_reference_tokens
    reference = ort_runner(stories260k_onnx / "prefill.onnx", feeds)["logits"]
    scale = float(np.abs(reference).max())
    err = float(np.abs(ours.astype(np.float64) - reference).max())
    assert err <= SCALE_TOLERANCE * scale, f"max abs err {err:.3g} vs logit scale {scale:.3g}"


def test_generate_reproduces_the_reference_tokens(stories260k_onnx, stories260k_reference_tokens,
                                                  optimize_artifact, tmp_path):
    """ds-run --generate over the decode graph (token by token from an empty cache), on the
    reference executor and through an FP32 artifact's own ds_model_generate."""
    decode = stories260k_onnx / "decode.onnx"
    assert ds_generate(decode, 48) == stories260k_reference_tokens
    feeds = {"input_ids": np.array([[1]], np.int64)}
    for layer in range(5):
        for kind in ("key", "value"):
            feeds[f"past_{kind}_{layer}"] = np.zeros((1, 4, 0, 8), np.float32)
    np.savez(tmp_path / "bos.npz", **feeds)
    artifact = optimize_artifact(decode, ["--precision", "fp32", "--eval", tmp_path / "bos.npz"],
                                 tmp_path / "out")
    assert ds_generate(artifact, 48) == stories260k_reference_tokens
