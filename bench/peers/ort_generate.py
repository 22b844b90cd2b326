"""ONNX Runtime's side of `ds-benchmark --llm --vs-onnxruntime`: the same greedy
prefill + decode loop as ds-optimize's runtime (codegen/runtime/Generation.cpp) over a
decoder graph, timed per repetition.

    python ort_generate.py MODEL --threads N --prompt-ids 1,2,3 --new-tokens G --cache JSON

--cache maps each past_* input to the shape of its empty form ({"past_key_values.0.key":
[1, 4, 0, 8], ...}, from ds-benchmark, which knows the head size even where the graph
leaves it symbolic). Prints "ready", then answers each line "R" on stdin with R lines
"PREFILL_SECONDS DECODE_SECONDS GENERATED", until EOF.
"""
import argparse
import json
import sys
import time

import numpy as np
import onnxruntime as ort


def present_name(past, outputs):
    for prefix in ("past_key_values", "past"):
        if past.startswith(prefix) and "present" + past[len(prefix):] in outputs:
            return "present" + past[len(prefix):]
    raise SystemExit(f"ort_generate: no present output for '{past}'")


class Loop:
    def __init__(self, model, threads, cache):
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        self.session = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
        self.inputs = {i.name: i for i in self.session.get_inputs()}
        self.outputs = [o.name for o in self.session.get_outputs()]
        self.cache = {name: (tuple(shape), present_name(name, self.outputs))
                      for name, shape in cache.items()}
        dims = self.inputs["input_ids"].shape
        self.one_token = len(dims) == 2 and dims[1] == 1
        self.dtypes = {n: np.float16 if "float16" in i.type else np.float32
                       for n, i in self.inputs.items()}

    def run(self, tokens, pos, past):
        feeds = {"input_ids": np.array([tokens], np.int64)}
        if "attention_mask" in self.inputs:
            feeds["attention_mask"] = np.ones((1, pos + len(tokens)), np.int64)
        if "position_ids" in self.inputs:
            feeds["position_ids"] = np.arange(pos, pos + len(tokens), dtype=np.int64)[None]
        feeds.update(past)
        out = dict(zip(self.outputs, self.session.run(None, feeds)))
        past = {name: out[present] for name, (_, present) in self.cache.items()}
        return int(np.argmax(out["logits"][0, -1])), past

    def generate(self, prompt, new_tokens):
        past = {n: np.zeros(shape, self.dtypes[n]) for n, (shape, _) in self.cache.items()}
        start = time.perf_counter()
        if self.one_token:
            for i, t in enumerate(prompt):
                token, past = self.run([t], i, past)
        else:
            token, past = self.run(prompt, 0, past)
        prefill = time.perf_counter() - start
        start = time.perf_counter()
        generated, pos = 1, len(prompt)
        while generated < new_tokens:
            token, past = self.run([token], pos, past)
            pos += 1
            generated += 1
        return prefill, time.perf_counter() - start, generated


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--prompt-ids", required=True)
    ap.add_argument("--new-tokens", type=int, required=True)
    ap.add_argument("--cache", default="{}")
    a = ap.parse_args()
    loop = Loop(a.model, a.threads, json.loads(a.cache))
    prompt = [int(t) for t in a.prompt_ids.split(",")]
    loop.generate(prompt, 2)  # warm up: sessions allocate on their first runs
    print("ready", flush=True)
    for line in sys.stdin:
        for _ in range(int(line)):
            prefill, decode, generated = loop.generate(prompt, a.new_tokens)
            print(f"{prefill:.9f} {decode:.9f} {generated}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
