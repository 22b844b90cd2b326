#!/usr/bin/env python3
"""Generates the hostile-input corpus (issue #4, item 1): malformed or malicious ONNX
models, calibration data and compiled artifacts, one directory per case.

    venv/bin/python tests/hostile/make_corpus.py CORPUS_DIR [--build-dir BUILD]

Each case directory holds its files and a case.json:

    {"name": ..., "why": "what is hostile and why the expectation is right",
     "tool": "ds-run" | "ds-optimize" | "ds-benchmark" | "./relative/runner",
     "args": [...],            # relative to the case dir; "{out}" is the output dir
     "expect_exit": 2,          # 0 only where the input is legal (documented in "why")
     "file": "model.onnx",      # basename the error line must name
     "fragments": [...],        # further text the error line must contain
     "expect_artifact": false,  # exit 0 with -o: {out}/host must be a complete artifact
     "stdout_regex": null,      # exit 0: a regex stdout must match (e.g. scales in the IR)
     "stderr_any": false,       # exit 0: stderr may hold the phase log (--compile-to)
     "out_before": null}        # a dir copied to {out} first; a refused job must keep it

Files that a case must never open live outside every case dir, in CORPUS/_outside/,
so run_corpus.py can tell an escape from a legitimate open. The artifact cases are
tampered copies of one small FP32 artifact, compiled here with BUILD/bin/ds-optimize
into CORPUS/_artifact/ (also off-limits to the cases).
"""
import argparse
import io
import json
import os
import shutil
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import numpy as np
from onnx import TensorProto, helper, numpy_helper

REPO = Path(__file__).resolve().parents[2]
OUT = "{out}"
CASES = []

HUGE = 1 << 62  # an int64 attribute / dim that overflows any element count or index math


def case(fn):
    """Registers a case builder: fn(case_dir, ctx) -> dict of case.json fields."""
    CASES.append(fn)
    return fn


# --- models ------------------------------------------------------------------------------

def save(model, path, ir=8):
    model.ir_version = ir
    Path(path).write_bytes(model.SerializeToString())
    return Path(path).name


def make_model(nodes, inputs, outputs, initializers=(), opset=17, domains=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, list(initializers))
    opsets = [helper.make_opsetid("", opset)] + [helper.make_opsetid(d, v) for d, v in domains]
    return helper.make_model(graph, opset_imports=opsets)


def vi(name, shape, dtype=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, dtype, shape)


def weight(shape=(4, 3), name="w"):
    return numpy_helper.from_array(
        np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape), name)


def matmul_model(w, opset=17, out_shape=(2, 3)):
    """y = x[2,4] @ w: the smallest model whose one initializer the cases corrupt."""
    return make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                      [vi("x", [2, 4])], [vi("y", list(out_shape))], [w], opset)


def external_w(location, offset=None, length=None, dims=(4, 3)):
    t = TensorProto()
    t.name, t.data_type = "w", TensorProto.FLOAT
    t.dims.extend(dims)
    t.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", offset), ("length", length)):
        if value is not None:
            entry = t.external_data.add()
            entry.key, entry.value = key, str(value)
    return t


def write_x(d, shape=(2, 4)):
    np.savez(d / "x.npz", x=np.ones(shape, np.float32))
    return "x.npz"


def tool_args(tool, model, d):
    """The invocation of `tool` on a model file (a bad model fails before anything runs)."""
    if tool == "ds-optimize":
        return [model, "--precision", "fp32", "--eval", write_x(d), "-o", OUT]
    if tool == "ds-benchmark":
        return [model, "--inputs", write_x(d), "--iterations", "1", "--warmup", "0",
                "--threads", "1"]
    return [model, "--inputs", write_x(d), "--threads", "1"]


def model_case(d, tool, model, why, fragments, expect_exit=2, name="model.onnx"):
    save(model, d / name)
    return {"tool": tool, "args": tool_args(tool, name, d), "expect_exit": expect_exit,
            "file": name, "fragments": fragments, "why": why}


# --- external data -----------------------------------------------------------------------

W_BYTES = 48  # a [4, 3] float initializer


def ext_case(d, ctx, tool, location, why, fragments, **kw):
    return model_case(d, tool, matmul_model(external_w(location, **kw)), why, fragments)


@case
def ext_dotdot(d, ctx):
    return ext_case(d, ctx, "ds-run", "../_outside/secret.bin",
                    "external data location climbs out of the model dir with '..'",
                    ["escapes the model directory"])


@case
def ext_absolute(d, ctx):
    return ext_case(d, ctx, "ds-optimize", str(ctx.outside / "secret.bin"),
                    "external data location is an absolute path to a file outside",
                    ["must be a relative path"])


@case
def ext_sub_dotdot(d, ctx):
    (d / "sub").mkdir()
    return ext_case(d, ctx, "ds-benchmark", "sub/../../_outside/secret.bin",
                    "'sub/../..' normalizes to outside the model dir",
                    ["escapes the model directory"])


@case
def ext_symlink_file(d, ctx):
    os.symlink(ctx.outside / "secret.bin", d / "link.bin")
    return ext_case(d, ctx, "ds-run", "link.bin",
                    "the external data file is a symlink to a file outside the model dir",
                    ["link.bin", "outside the model directory"])


@case
def ext_symlink_dir(d, ctx):
    os.symlink(ctx.outside, d / "sub")
    return ext_case(d, ctx, "ds-optimize", "sub/secret.bin",
                    "a directory on the location's path is a symlink to outside",
                    ["sub/secret.bin", "outside the model directory"])


@case
def ext_hardlink(d, ctx):
    # A hard link cannot be told from a plain file by its path: the importer refuses
    # external data files with more than one link.
    target = ctx.outside / "hardlinked.bin"
    target.write_bytes(b"\0" * W_BYTES)
    os.link(target, d / "hard.bin")
    return ext_case(d, ctx, "ds-run", "hard.bin",
                    "the external data file is a hard link to a file outside the model dir",
                    ["hard.bin", "hard link"])


@case
def ext_offset_negative(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-run", "w.bin", "negative external data offset",
                    ["tensor 'w'", "offset '-4'"], offset=-4)


@case
def ext_offset_not_a_number(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-benchmark", "w.bin", "non-numeric external data offset",
                    ["tensor 'w'", "offset '0x10'"], offset="0x10")


@case
def ext_offset_overflow(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-run", "w.bin", "offset above 2^64 (does not fit any integer)",
                    ["tensor 'w'", "offset '36893488147419103232'"],
                    offset=36893488147419103232)


@case
def ext_offset_huge(d, ctx):
    # 10^19 - 1 fits uint64; offset + 48 must be compared without wrapping.
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-optimize", "w.bin", "offset near 2^64, far past the end",
                    ["tensor 'w'", "past the end", "w.bin"], offset=9999999999999999999)


@case
def ext_range_past_end(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-run", "w.bin", "offset + length ends past the end of the file",
                    ["tensor 'w'", "past the end of 'w.bin'"], offset=64)


@case
def ext_length_not_a_number(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * W_BYTES)
    return ext_case(d, ctx, "ds-run", "w.bin", "non-numeric external data length",
                    ["tensor 'w'", "length '4.8e1'"], length="4.8e1")


@case
def ext_length_disagrees(d, ctx):
    (d / "w.bin").write_bytes(b"\0" * 4096)
    return ext_case(d, ctx, "ds-benchmark", "w.bin",
                    "length claims more bytes than the initializer's shape holds",
                    ["tensor 'w'", "length 4096", "48-byte"], length=4096)


@case
def ext_location_is_directory(d, ctx):
    (d / "wdir").mkdir()
    return ext_case(d, ctx, "ds-run", "wdir", "the external data location is a directory",
                    ["wdir", "not a regular file"])


@case
def ext_location_fifo(d, ctx):
    # A FIFO blocks a reader that opens before checking the file type.
    os.mkfifo(d / "fifo.bin")
    return ext_case(d, ctx, "ds-run", "fifo.bin",
                    "the external data file is a FIFO (opening it for reading would block)",
                    ["fifo.bin", "not a regular file"])


# --- initializers ------------------------------------------------------------------------

def raw_w(dims, nbytes):
    t = TensorProto()
    t.name, t.data_type = "w", TensorProto.FLOAT
    t.dims.extend(dims)
    t.raw_data = b"\0" * nbytes
    return t


@case
def init_dims_exceed_raw_data(d, ctx):
    return model_case(d, "ds-run", matmul_model(raw_w([4, 30000], W_BYTES), opset=21),
                      "initializer dims claim 120000 floats, raw_data holds 12 (opset 21: "
                      "the importer's own check, no ONNX shape inference first)",
                      ["tensor 'w'", "raw_data holds 48 bytes"])


@case
def init_dims_exceed_typed_data(d, ctx):
    # 10^12 floats (4 TB) claimed, 12 present: must be refused before allocating.
    t = TensorProto()
    t.name, t.data_type = "w", TensorProto.FLOAT
    t.dims.extend([1000000, 1000000])
    t.float_data.extend([0.0] * 12)
    return model_case(d, "ds-optimize", matmul_model(t, opset=21),
                      "typed float_data with dims claiming 4 TB: no allocation of the claim",
                      ["tensor 'w'", "holds 12 values"])


@case
def init_element_count_overflow(d, ctx):
    return model_case(d, "ds-run", matmul_model(raw_w([1 << 40, 1 << 40], W_BYTES), opset=21),
                      "dims whose product overflows int64", ["tensor 'w'", "overflows"])


@case
def init_negative_dim(d, ctx):
    return model_case(d, "ds-benchmark", matmul_model(raw_w([-4, 3], W_BYTES), opset=21),
                      "negative initializer dim", ["tensor 'w'", "negative dimension -4"])


@case
def init_zero_dim_with_data(d, ctx):
    return model_case(d, "ds-run", matmul_model(raw_w([0, 3], W_BYTES)),
                      "a zero dim, but 48 bytes of data (opset 17: the ONNX checker's message)",
                      ["tensor name: w", "0-element but contains data"])


@case
def init_raw_data_short(d, ctx):
    return model_case(d, "ds-optimize", matmul_model(raw_w([4, 3], 20)),
                      "dims [4, 3] over 20 bytes of raw_data", ["'w'", "20"])


@case
def init_zero_dim_legal(d, ctx):
    # Zero-sized tensors are legal ONNX: y = x[2,4] @ w[4,0] is an empty [2, 0].
    c = model_case(d, "ds-run", matmul_model(raw_w([4, 0], 0), out_shape=(2, 0)),
                   "a legal zero-sized initializer: the model runs and yields an empty output",
                   [], expect_exit=0)
    c["stdout_regex"] = r"y: float \[2, 0\]"
    return c


# --- structure ---------------------------------------------------------------------------

def pb_field(number, payload):
    """One length-delimited protobuf field."""
    key, out, n = (number << 3) | 2, bytearray(), len(payload)
    for v in (key, n):
        while True:
            byte = v & 0x7F
            v >>= 7
            out.append(byte | (0x80 if v else 0))
            if not v:
                break
    return bytes(out) + payload


@case
def nesting_too_deep(d, ctx):
    # If -> then_branch -> If -> ... 200 levels (600 nested messages): past protobuf's
    # recursion limit (the importer sets 64). Written by hand: Python cannot build it.
    graph = b""
    for _ in range(200):
        attr = pb_field(1, b"then_branch") + bytes([20 << 3, 5]) + pb_field(6, graph)
        graph = pb_field(1, pb_field(4, b"If") + pb_field(5, attr))
    opset = pb_field(1, b"") + bytes([2 << 3, 17])
    (d / "deep.onnx").write_bytes(bytes([1 << 3, 8]) + pb_field(8, opset) + pb_field(7, graph))
    return {"tool": "ds-optimize", "args": tool_args("ds-optimize", "deep.onnx", d),
            "expect_exit": 2, "file": "deep.onnx", "fragments": ["protobuf parsing failed"],
            "why": "graph attributes nested 200 deep, past the protobuf recursion limit"}


@case
def duplicate_names(d, ctx):
    m = make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                   [vi("x", [2, 4])], [vi("y", [2, 3])], [weight(), weight()])
    return model_case(d, "ds-run", m, "two initializers named 'w'",
                      ["'w'", "defined more than once"])


@case
def duplicate_node_outputs(d, ctx):
    m = make_model([helper.make_node("Relu", ["x"], ["y"], name="a"),
                    helper.make_node("Neg", ["x"], ["y"], name="b")],
                   [vi("x", [2, 4])], [vi("y", [2, 4])])
    return model_case(d, "ds-benchmark", m, "two nodes write the same tensor 'y'",
                      ["'y'", "defined more than once"])


@case
def undefined_input(d, ctx):
    m = make_model([helper.make_node("Add", ["x", "ghost"], ["y"], name="add")],
                   [vi("x", [2, 4])], [vi("y", [2, 4])])
    return model_case(d, "ds-optimize", m, "a node reads a tensor nothing defines",
                      ["'ghost'", "not defined"])


@case
def graph_cycle(d, ctx):
    m = make_model([helper.make_node("Add", ["x", "b"], ["a"], name="n1"),
                    helper.make_node("Relu", ["a"], ["b"], name="n2")],
                   [vi("x", [2, 4])], [vi("b", [2, 4])])
    return model_case(d, "ds-run", m, "n1 reads n2's output, n2 reads n1's: a cycle",
                      ["'b'", "cycle"])


@case
def empty_graph(d, ctx):
    m = make_model([], [vi("x", [2, 4])], [])
    return model_case(d, "ds-run", m, "a graph with no nodes and no outputs", ["no outputs"])


@case
def unknown_domain(d, ctx):
    m = make_model([helper.make_node("Exfiltrate", ["x"], ["y"], name="evil",
                                     domain="com.evil")],
                   [vi("x", [2, 4])], [vi("y", [2, 4])], domains=[("com.evil", 1)])
    return model_case(d, "ds-optimize", m, "an op from a domain nobody implements",
                      ["Exfiltrate", "com.evil"])


@case
def unknown_opset(d, ctx):
    return model_case(d, "ds-run", matmul_model(weight(), opset=999),
                      "default-domain opset 999", ["opset 999 is not supported"])


@case
def truncated_protobuf(d, ctx):
    data = matmul_model(weight()).SerializeToString()
    (d / "model.onnx").write_bytes(data[: len(data) // 2])
    return {"tool": "ds-run", "args": tool_args("ds-run", "model.onnx", d), "expect_exit": 2,
            "file": "model.onnx", "fragments": ["protobuf parsing failed"],
            "why": "the model file is cut in half"}


# --- attributes --------------------------------------------------------------------------

def conv_model(opset, **attrs):
    nodes = [helper.make_node("Conv", ["x", "w"], ["y"], name="conv", **attrs)]
    return make_model(nodes, [vi("x", [1, 1, 4, 4])], [vi("y", ["n", "c", "h", "w"])],
                      [weight((1, 1, 3, 3))], opset)


def conv_case(d, tool, opset, why, fragments, **attrs):
    save(conv_model(opset, **attrs), d / "model.onnx")
    np.savez(d / "x.npz", x=np.ones((1, 1, 4, 4), np.float32))
    args = {"ds-optimize": ["model.onnx", "--precision", "fp32", "--eval", "x.npz", "-o", OUT],
            "ds-run": ["model.onnx", "--inputs", "x.npz", "--threads", "1"]}[tool]
    return {"tool": tool, "args": args, "expect_exit": 2, "file": "model.onnx",
            "fragments": fragments, "why": why}


@case
def attr_wrong_type(d, ctx):
    # Transpose perm as a string, opset 17: the ONNX checker's territory.
    m = make_model([helper.make_node("Transpose", ["x"], ["y"], name="t", perm="1,0")],
                   [vi("x", [2, 4])], [vi("y", [4, 2])])
    return model_case(d, "ds-run", m, "Transpose 'perm' is a string, not ints", ["perm"])


@case
def attr_wrong_type_opset21(d, ctx):
    # The same at opset 21, where the ONNX library cannot check: the importer must.
    m = make_model([helper.make_node("Transpose", ["x"], ["y"], name="t", perm="1,0")],
                   [vi("x", [2, 4])], [vi("y", [4, 2])], opset=21)
    return model_case(d, "ds-run", m, "Transpose 'perm' is a string at opset 21 (no ONNX checker)",
                      ["perm"])


@case
def conv_pads_overflow(d, ctx):
    return conv_case(d, "ds-run", 17, "Conv pads of 2^62 overflow the output size",
                     ["conv"], pads=[HUGE] * 4)


@case
def conv_pads_overflow_opset21(d, ctx):
    return conv_case(d, "ds-run", 21, "Conv pads of 2^62 at opset 21 (no ONNX shape inference)",
                     ["conv"], pads=[HUGE] * 4)


@case
def conv_strides_zero_opset21(d, ctx):
    return conv_case(d, "ds-run", 21, "Conv strides 0 would divide by zero", ["conv", "stride"],
                     strides=[0, 0])


@case
def conv_dilations_overflow_opset21(d, ctx):
    return conv_case(d, "ds-optimize", 21, "Conv dilations 2^62 overflow the kernel extent",
                     ["conv"], dilations=[HUGE, HUGE])


@case
def convtranspose_weight_rank(d, ctx):
    # The fuzzer's SEGV inside libonnx 1.12's ConvTranspose shape inference: W of rank 2.
    nodes = [helper.make_node("ConvTranspose", ["x", "w"], ["y"], name="deconv")]
    m = make_model(nodes, [vi("x", [1, 1, 3])], [vi("y", [1, 2, 5])], [weight((1, 3))], opset=11)
    return model_case(d, "ds-run", m, "ConvTranspose weight of rank 2 (ONNX 1.12 reads past it)",
                      ["ConvTranspose", "rank"])


@case
def split_sizes_overflow(d, ctx):
    split = numpy_helper.from_array(np.array([HUGE, HUGE], np.int64), "split")
    m = make_model([helper.make_node("Split", ["x", "split"], ["a", "b"], name="split", axis=1)],
                   [vi("x", [2, 4])], [vi("a", None), vi("b", None)], [split], opset=21)
    return model_case(d, "ds-run", m, "Split sizes 2^62 + 2^62 overflow and exceed the axis",
                      ["split"])


@case
def split_num_outputs_zero(d, ctx):
    m = make_model([helper.make_node("Split", ["x"], ["a"], name="split", axis=1, num_outputs=0)],
                   [vi("x", [2, 4])], [vi("a", None)], opset=21)
    return model_case(d, "ds-run", m, "Split with num_outputs 0 (a division by zero)",
                      ["split"])


@case
def reshape_overflow(d, ctx):
    shape = numpy_helper.from_array(np.array([1 << 40, 1 << 40, 1 << 40], np.int64), "shape")
    m = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
                   [vi("x", [2, 4])], [vi("y", None)], [shape], opset=21)
    return model_case(d, "ds-run", m, "Reshape target shape's element count overflows int64",
                      ["reshape"])


@case
def reshape_two_wildcards(d, ctx):
    shape = numpy_helper.from_array(np.array([-1, -1], np.int64), "shape")
    m = make_model([helper.make_node("Reshape", ["x", "shape"], ["y"], name="reshape")],
                   [vi("x", [2, 4])], [vi("y", None)], [shape], opset=21)
    return model_case(d, "ds-benchmark", m, "Reshape with two -1 dims", ["reshape"])


# --- calibration data --------------------------------------------------------------------

def calib_model(d):
    """y = x[2,4] @ w + b: MatMul is quantized at int8; the bias keeps y non-zero."""
    b = numpy_helper.from_array(np.array([0.5, -1.0, 2.0], np.float32), "b")
    m = make_model([helper.make_node("MatMul", ["x", "w"], ["t"], name="mm"),
                    helper.make_node("Add", ["t", "b"], ["y"], name="bias")],
                   [vi("x", [2, 4])], [vi("y", [2, 3])], [weight(), b])
    return save(m, d / "model.onnx")


def calib_case(d, calib, why, fragments, expect_exit=2, extra=()):
    model = calib_model(d)
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "int8", "--calib", calib, *extra, "-o", OUT],
            "expect_exit": expect_exit, "file": Path(calib).name, "fragments": fragments,
            "why": why, "expect_artifact": expect_exit == 0}


def calib_rows(rows=8):
    return np.random.default_rng(0).standard_normal((rows, 4)).astype(np.float32)


@case
def calib_nan(d, ctx):
    x = calib_rows()
    x[5, 2] = np.nan
    np.save(d / "calib.npy", x)
    return calib_case(d, "calib.npy", "a NaN in the calibration data",
                      ["'x'", "--calib-nan=skip"])


@case
def calib_inf(d, ctx):
    x = calib_rows()
    x[0, 0] = -np.inf
    np.savez(d / "calib.npz", x=x)
    return calib_case(d, "calib.npz", "an -Inf in the calibration data",
                      ["'x'", "--calib-nan=skip"])


@case
def calib_constant(d, ctx):
    np.save(d / "calib.npy", np.full((8, 4), 3.0, np.float32))
    return calib_case(d, "calib.npy",
                      "a constant tensor is legal calibration data: the job succeeds with a "
                      "finite, non-zero activation scale", [], expect_exit=0)


# The static activation's quantized type in `--compile-to=quantize` IR, with a scale
# that is positive, finite and not 0 (e.g. !quant.uniform<u8:f32, 0.0117647061:0>).
ACTIVATION_SCALE_IN_IR = r"!quant\.uniform<u8:f32, (?!0\.0*e\+00)(?!-)[0-9.]+(e[+-]?\d+)?(:\d+)?>"


@case
def calib_all_zero_scale(d, ctx):
    # The same job stopped after quantization: the IR shows the activation scale itself.
    np.save(d / "calib.npy", np.zeros((8, 4), np.float32))
    model = calib_model(d)
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "int8", "--calib", "calib.npy",
                     "--compile-to=quantize", "--elide-weights"],
            "expect_exit": 0, "file": "calib.npy", "fragments": [],
            "why": "all-zero calibration data is legal: the activation scale must be finite "
                   "and non-zero (the README: an all-zero range gets scale 1)",
            "stdout_regex": ACTIVATION_SCALE_IN_IR,
            "stderr_any": True}


@case
def calib_wrong_dtype(d, ctx):
    np.save(d / "calib.npy", calib_rows().astype(np.float64))
    return calib_case(d, "calib.npy", "float64 calibration data for a float input",
                      ["double", "float"])


@case
def calib_wrong_shape(d, ctx):
    np.savez(d / "calib.npz", x=np.ones((8, 5), np.float32))
    return calib_case(d, "calib.npz", "rows of 5 values for an input of 4", ["'x'", "shape"])


@case
def calib_truncated_npy(d, ctx):
    np.save(d / "calib.npy", calib_rows())
    data = (d / "calib.npy").read_bytes()
    (d / "calib.npy").write_bytes(data[:-10])
    return calib_case(d, "calib.npy", "the .npy data is 10 bytes short", ["truncated"])


@case
def calib_header_oversized(d, ctx):
    # A v2.0 header claiming 2 GiB of header text.
    (d / "calib.npy").write_bytes(b"\x93NUMPY\x02\x00" + struct.pack("<I", 0x7FFFFFFF) + b"{")
    return calib_case(d, "calib.npy", "an .npy header length of 2 GiB", ["header too large"])


@case
def calib_header_huge_shape(d, ctx):
    # The header claims 2^40 x 4 floats; 32 bytes follow: refuse before allocating.
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 4), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    data = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + b"\0" * 32
    (d / "calib.npy").write_bytes(data)
    return calib_case(d, "calib.npy", "a header shape of 16 TiB over 32 bytes of data",
                      ["truncated"])


@case
def calib_empty_rows_huge_count(d, ctx):
    # 2^34 rows of nothing: 128 header bytes that once made 2^34 empty samples.
    np.save(d / "calib.npy", np.empty((1 << 34, 0), np.float32))
    return calib_case(d, "calib.npy", "2^34 calibration rows of zero values each",
                      ["'x'", "shape"])


@case
def calib_npz_crc(d, ctx):
    np.savez(d / "calib.npz", x=calib_rows())
    data = bytearray((d / "calib.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside the member's array bytes
    (d / "calib.npz").write_bytes(bytes(data))
    return calib_case(d, "calib.npz", "a flipped byte inside an .npz member", ["CRC mismatch"])


@case
def calib_npz_zip_bomb_claim(d, ctx):
    # A deflated member whose header claims 4 GiB uncompressed from a few bytes.
    with zipfile.ZipFile(d / "calib.npz", "w", zipfile.ZIP_DEFLATED) as z:
        buf = io.BytesIO()
        np.save(buf, calib_rows())
        z.writestr("x.npy", buf.getvalue())
    data = bytearray((d / "calib.npz").read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    data[cd + 24: cd + 28] = struct.pack("<I", 0xFFFFFFF0)  # central uncompressed size
    (d / "calib.npz").write_bytes(bytes(data))
    return calib_case(d, "calib.npz", "a deflated .npz member claiming ~4 GiB uncompressed",
                      ["implausible uncompressed size"])


@case
def calib_not_npy(d, ctx):
    (d / "calib.npy").write_text("x = [1, 2, 3]\n")
    return calib_case(d, "calib.npy", "a text file named .npy", ["bad magic"])


@case
def calib_empty_dir(d, ctx):
    (d / "calib").mkdir()
    (d / "calib" / "notes.txt").write_text("no samples here\n")
    return calib_case(d, "calib", "a calibration directory without samples", ["holds no"])


@case
def calib_fifo(d, ctx):
    os.mkfifo(d / "calib.npy")
    return calib_case(d, "calib.npy", "the calibration file is a FIFO (a read would block)",
                      ["not a regular file"])


@case
def calib_constant_scale(d, ctx):
    np.save(d / "calib.npy", np.full((8, 4), 3.0, np.float32))
    model = calib_model(d)
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "int8", "--calib", "calib.npy",
                     "--compile-to=quantize", "--elide-weights"],
            "expect_exit": 0, "file": "calib.npy", "fragments": [],
            "why": "constant calibration data (3.0 everywhere): the range [0, 3] gives a "
                   "finite, non-zero activation scale",
            "stdout_regex": ACTIVATION_SCALE_IN_IR,
            "stderr_any": True}


@case
def out_existing_kept_bad_model(d, ctx):
    # -o names a directory that holds a good artifact: a refused job must leave it as it was.
    shutil.copytree(ctx.artifact.parent, d / "previous", symlinks=True)
    data = matmul_model(weight()).SerializeToString()
    (d / "model.onnx").write_bytes(data[: len(data) // 3])
    return {"tool": "ds-optimize", "args": tool_args("ds-optimize", "model.onnx", d),
            "expect_exit": 2, "file": "model.onnx", "fragments": ["protobuf parsing failed"],
            "out_before": "previous",
            "why": "a truncated model with -o pointing at an existing artifact: exit 2, the old "
                   "artifact untouched"}


@case
def out_existing_kept_bad_calib(d, ctx):
    shutil.copytree(ctx.artifact.parent, d / "previous", symlinks=True)
    x = calib_rows()
    x[7, 3] = np.inf
    np.save(d / "calib.npy", x)
    c = calib_case(d, "calib.npy", "Inf in the calibration data with -o pointing at an existing "
                   "artifact: exit 2 after import and optimize, the old artifact untouched",
                   ["--calib-nan=skip"])
    c["out_before"] = "previous"
    return c


# --- run inputs --------------------------------------------------------------------------

def inputs_case(d, tool, inputs, why, fragments):
    save(matmul_model(weight()), d / "model.onnx")
    args = ["model.onnx", "--inputs", inputs, "--threads", "1"]
    if tool == "ds-benchmark":
        args += ["--iterations", "1", "--warmup", "0"]
    return {"tool": tool, "args": args, "expect_exit": 2, "file": Path(inputs).name,
            "fragments": fragments, "why": why}


@case
def inputs_npy_huge_shape(d, ctx):
    header = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
    header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
    (d / "x.npy").write_bytes(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) +
                              header.encode() + b"\0" * 32)
    return inputs_case(d, "ds-run", "x.npy", "an input .npy whose shape's byte size overflows",
                       ["x.npy"])


@case
def inputs_pb_dims_exceed_data(d, ctx):
    (d / "test_data_set_0").mkdir()
    t = TensorProto()
    t.name, t.data_type = "x", TensorProto.FLOAT
    t.dims.extend([1 << 20, 1 << 20])
    t.raw_data = b"\0" * 32
    (d / "test_data_set_0" / "input_0.pb").write_bytes(t.SerializeToString())
    c = inputs_case(d, "ds-benchmark", "test_data_set_0",
                    "an input_0.pb claiming 4 TiB over 32 bytes of raw_data", ["input_0.pb"])
    c["file"] = "input_0.pb"
    return c


@case
def inputs_npz_duplicate_member(d, ctx):
    with zipfile.ZipFile(d / "x.npz", "w") as z:
        for _ in range(2):
            buf = io.BytesIO()
            np.save(buf, np.ones((2, 4), np.float32))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # zipfile warns about the duplicate name
                z.writestr("x.npy", buf.getvalue())
    return inputs_case(d, "ds-run", "x.npz", "an .npz holding member x.npy twice",
                       ["duplicate member"])


# --- artifacts ---------------------------------------------------------------------------

def artifact_case(d, ctx, why, fragments, file, tool="ds-run", mutate=None):
    """A copy of the sample artifact as d/art, changed by mutate(art_dir, manifest)."""
    art = d / "art"
    shutil.copytree(ctx.artifact, art, symlinks=True)
    manifest = json.loads((art / "manifest.json").read_text())
    raw = mutate(art, manifest) if mutate else None  # raw: manifest text to write verbatim
    if (art / "manifest.json").is_file():
        (art / "manifest.json").write_text(
            raw if raw is not None else json.dumps(manifest, indent=2) + "\n")
    write_x(d)
    args = ["art", "--inputs", "x.npz"]
    if tool == "ds-benchmark":
        args += ["--iterations", "1", "--warmup", "0", "--threads", "1"]
    elif tool == "ds-run":
        args += ["--threads", "1"]
    return {"tool": tool, "args": args, "expect_exit": 2, "file": file,
            "fragments": fragments, "why": why}


def flip_weights_byte(art, manifest):
    data = bytearray((art / "weights.bin").read_bytes())
    data[len(data) // 2] ^= 0x01
    (art / "weights.bin").write_bytes(bytes(data))


@case
def art_weights_tampered(d, ctx):
    return artifact_case(d, ctx, "one bit of weights.bin flipped: the SHA-256 must catch it",
                         ["SHA-256", "modified"], "weights.bin", mutate=flip_weights_byte)


@case
def art_weights_tampered_benchmark(d, ctx):
    return artifact_case(d, ctx, "tampered weights.bin through ds-benchmark",
                         ["SHA-256"], "weights.bin", tool="ds-benchmark", mutate=flip_weights_byte)


@case
def art_weights_tampered_runner(d, ctx):
    c = artifact_case(d, ctx, "tampered weights.bin through the artifact's own runner",
                      ["SHA-256"], "weights.bin", mutate=flip_weights_byte)
    c["tool"], c["args"] = "./art/bin/ds-model-run", ["art", "--inputs", "x.npz"]
    return c


@case
def art_weights_truncated(d, ctx):
    def cut(art, manifest):
        data = (art / "weights.bin").read_bytes()
        (art / "weights.bin").write_bytes(data[: len(data) // 2])
    return artifact_case(d, ctx, "weights.bin cut in half", ["truncated"], "weights.bin",
                         mutate=cut)


@case
def art_manifest_offset_past_end(d, ctx):
    def move(art, manifest):
        t = manifest["weights"]["tensors"][0]
        t["offset"] = (manifest["weights"]["bytes"] + 63) // 64 * 64 + 64 * 1024  # aligned
    return artifact_case(d, ctx, "a manifest tensor offset past the end of weights.bin",
                         ["past the end"], "manifest.json", mutate=move)


@case
def art_manifest_offset_wraps(d, ctx):
    def move(art, manifest):
        t = manifest["weights"]["tensors"][0]
        t["offset"] = (1 << 64) - 64  # offset + bytes wraps around 2^64
    return artifact_case(d, ctx, "a manifest tensor offset whose end wraps past 2^64",
                         ["past the end"], "manifest.json", tool="ds-benchmark", mutate=move)


@case
def art_unknown_version(d, ctx):
    def bump(art, manifest):
        manifest["version"] = 99
    return artifact_case(d, ctx, "artifact format version 99",
                         ["version 99 is not supported"], "manifest.json", mutate=bump)


@case
def art_manifest_not_json(d, ctx):
    def garble(art, manifest):
        text = (art / "manifest.json").read_text()
        return text[: len(text) // 2]
    return artifact_case(d, ctx, "manifest.json cut in half", ["not valid JSON"], "manifest.json",
                         mutate=garble)


@case
def art_weights_path_escape(d, ctx):
    def escape(art, manifest):
        manifest["weights"]["file"] = "../../_artifact/host/weights.bin"
    return artifact_case(d, ctx, "manifest weights.file climbs out of the artifact with '..'",
                         ["weights.file", "inside the artifact"], "manifest.json", mutate=escape)


@case
def art_weights_symlink_outside(d, ctx):
    # The same bytes (so the SHA-256 matches), but the file lives outside the artifact.
    def link(art, manifest):
        shutil.copy(art / "weights.bin", ctx.outside / "weights_copy.bin")
        (art / "weights.bin").unlink()
        os.symlink(ctx.outside / "weights_copy.bin", art / "weights.bin")
    return artifact_case(d, ctx, "weights.bin is a symlink to a file outside the artifact",
                         ["weights.bin", "outside the artifact"], "weights.bin", mutate=link)


@case
def art_library_symlink_outside(d, ctx):
    # Loading the library runs its code: it must come from inside the artifact.
    def link(art, manifest):
        shutil.copy(art / "lib" / "libds_model.so", ctx.outside / "libds_model_copy.so")
        (art / "lib" / "libds_model.so").unlink()
        os.symlink(ctx.outside / "libds_model_copy.so", art / "lib" / "libds_model.so")
    return artifact_case(d, ctx, "lib/libds_model.so is a symlink to a library outside",
                         ["libds_model.so", "outside the artifact"], "libds_model.so",
                         mutate=link)


@case
def art_weights_fifo(d, ctx):
    def fifo(art, manifest):
        (art / "weights.bin").unlink()
        os.mkfifo(art / "weights.bin")
    return artifact_case(d, ctx, "weights.bin is a FIFO (opening it would block)",
                         ["not a regular file"], "weights.bin", mutate=fifo)


@case
def art_manifest_fifo(d, ctx):
    def fifo(art, manifest):
        (art / "manifest.json").unlink()
        os.mkfifo(art / "manifest.json")
        return ""
    c = artifact_case(d, ctx, "manifest.json is a FIFO (reading it would block), through "
                      "the artifact's own runner", ["not a regular file"], "manifest.json",
                      mutate=fifo)
    c["tool"], c["args"] = "./art/bin/ds-model-run", ["art", "--inputs", "x.npz"]
    return c


@case
def art_shape_overflow(d, ctx):
    def grow(art, manifest):
        manifest["weights"]["tensors"][0]["shape"] = [1 << 40, 1 << 40]
    return artifact_case(d, ctx, "a manifest tensor shape whose element count overflows",
                         ["overflows"], "manifest.json", mutate=grow)


@case
def art_unknown_dtype(d, ctx):
    def retype(art, manifest):
        manifest["inputs"][0]["dtype"] = "float128"
    return artifact_case(d, ctx, "an input dtype nobody knows", ["unknown dtype 'float128'"],
                         "manifest.json", tool="ds-benchmark", mutate=retype)


# --- round 2 (issue 16): numbers, files, caches, outputs, the one line -------------------

def cli_case(d, tool, extra, file, fragments, why, model_fn=None):
    """A good model and input with one bad option: refused before anything runs."""
    model = save((model_fn or (lambda: matmul_model(weight())))(), d / "model.onnx")
    if tool == "ds-optimize":
        np.save(d / "calib.npy", calib_rows())
        args = [model, "--precision", "fp32", "--eval", write_x(d), "-o", OUT, *extra]
    elif tool == "ds-benchmark":
        args = [model, "--inputs", write_x(d), "--iterations", "1", "--warmup", "0", *extra]
    else:
        args = [model, "--inputs", write_x(d), *extra]
    return {"tool": tool, "args": args, "expect_exit": 2, "file": file, "fragments": fragments,
            "why": why}


def number_case(name, tool, option, value, fragments=("must be",)):
    def build(d, ctx):
        return cli_case(d, tool, [option, value], option, list(fragments),
                        f"{tool} {option} {value!r}: one parser refuses NaN, infinities, "
                        "overflow, sign wrap and out-of-range values (issue 16)")
    build.__name__ = name
    case(build)


for _name, _tool, _option, _value in [
        ("num_run_threads_minus_one", "ds-run", "--threads", "-1"),
        ("num_run_threads_huge", "ds-run", "--threads", "100000"),
        ("num_run_threads_overflow", "ds-run", "--threads", "99999999999999999999"),
        ("num_optimize_threads_minus_one", "ds-optimize", "--threads", "-1"),
        ("num_optimize_threads_huge", "ds-optimize", "--threads", "100000"),
        ("num_benchmark_threads_minus_one", "ds-benchmark", "--threads", "-1"),
        ("num_benchmark_threads_huge", "ds-benchmark", "--threads", "4294967295"),
        ("num_optimize_min_top1_nan", "ds-optimize", "--min-top1", "nan"),
        ("num_optimize_min_top1_above_one", "ds-optimize", "--min-top1", "1.5"),
        ("num_optimize_max_kl_nan", "ds-optimize", "--max-kl", "nan"),
        ("num_optimize_max_kl_inf", "ds-optimize", "--max-kl", "inf"),
        ("num_optimize_max_kl_overflow", "ds-optimize", "--max-kl", "1e999"),
        ("num_optimize_smoothquant_nan", "ds-optimize", "--smoothquant-alpha", "nan"),
        ("num_optimize_percentile_nan", "ds-optimize", "--percentile", "nan"),
        ("num_optimize_percentile_zero", "ds-optimize", "--percentile", "0"),
        ("num_optimize_auto_fp32_inf", "ds-optimize", "--auto-fp32", "inf"),
        ("num_run_rtol_nan", "ds-run", "--rtol", "nan"),
        ("num_run_atol_inf", "ds-run", "--atol", "inf"),
        ("num_run_rtol_negative", "ds-run", "--rtol", "-1e-3"),
        ("num_run_atol_trailing_text", "ds-run", "--atol", "1e-3x"),
        ("num_benchmark_iterations_zero", "ds-benchmark", "--iterations", "0"),
        ("num_benchmark_warmup_negative", "ds-benchmark", "--warmup", "-5"),
        ("num_benchmark_blocks_overflow", "ds-benchmark", "--blocks", "1e30")]:
    number_case(_name, _tool, _option, _value)


@case
def num_optimize_max_drop_nan(d, ctx):
    return cli_case(d, "ds-optimize", ["--max-drop", "nan%"], "--max-drop", ["non-negative"],
                    "--max-drop nan%: NaN would make the accuracy gate pass whatever the drop")


def dynamic_batch_model():
    return make_model([helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")],
                      [vi("x", ["N", 4])], [vi("y", ["N", 3])], [weight()])


@case
def num_benchmark_batch_sizes_overflow(d, ctx):
    return cli_case(d, "ds-benchmark", ["--batch-sizes", "99999999999999999999"], "--batch-sizes",
                    ["must be an integer"], "a batch size beyond int64 (was 'error: stoll')",
                    dynamic_batch_model)


@case
def num_benchmark_batch_sizes_zero(d, ctx):
    return cli_case(d, "ds-benchmark", ["--batch-sizes", "1,0"], "--batch-sizes",
                    ["must be an integer"], "a batch size of 0 in the list", dynamic_batch_model)


@case
def num_benchmark_batch_sizes_zero_rows(d, ctx):
    c = cli_case(d, "ds-benchmark", ["--batch-sizes", "4"], "x.npz", ["0 rows"],
                 "--batch-sizes 4 over a legal 0-row input: there is no row to cycle through "
                 "(was a division by zero)", dynamic_batch_model)
    np.savez(d / "x.npz", x=np.ones((0, 4), np.float32))
    return c


# Calibration caches: a valid one is made here with the tool, then corrupted.

def make_cache(d, ctx):
    """model.onnx + calib.npy + cache.json that ds-optimize wrote for them."""
    model = calib_model(d)
    np.save(d / "calib.npy", calib_rows())
    args = [model, "--precision", "int8", "--calib", "calib.npy", "--calib-cache", "cache.json",
            "--compile-to=quantize", "--elide-weights"]
    proc = subprocess.run([str(ctx.build / "bin" / "ds-optimize"), *args], cwd=d,
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not (d / "cache.json").is_file():
        sys.exit(f"make_corpus: cannot make a calibration cache:\n{proc.stdout}{proc.stderr}")
    return args, json.loads((d / "cache.json").read_text())


def cache_case(d, ctx, mutate, fragments, why):
    args, cache = make_cache(d, ctx)
    raw = mutate(cache)
    (d / "cache.json").write_text(raw if isinstance(raw, str) else json.dumps(cache, indent=1))
    args = args[:args.index("--compile-to=quantize")] + ["-o", OUT]  # progress on stdout
    return {"tool": "ds-optimize", "args": args, "expect_exit": 2, "file": "cache.json",
            "fragments": fragments, "why": why}


def first_tensor(cache):
    return next(iter(cache["tensors"].values()))


@case
def cache_value_beyond_float(d, ctx):
    def big(c):
        first_tensor(c)["max"] = 1e39
    return cache_case(d, ctx, big, ["max of"], "a cached range of 1e39: finite as a double, "
                      "infinite as the float32 it becomes; must be refused naming the cache")


@case
def cache_value_nan_literal(d, ctx):
    def nan(c):
        first_tensor(c)["min"] = 12345.5
        return json.dumps(c, indent=1).replace("12345.5", "NaN")
    return cache_case(d, ctx, nan, ["malformed JSON"], "NaN in a cache (not JSON)")


@case
def cache_channel_value_beyond_float(d, ctx):
    def big(c):
        t = next(t for t in c["tensors"].values() if "channel_max" in t)
        t["channel_max"][0] = -1e300
    return cache_case(d, ctx, big, ["channel_max"], "a per-channel value beyond float32")


@case
def cache_channel_wrong_length(d, ctx):
    def shorten(c):
        t = next(t for t in c["tensors"].values() if "channel_max" in t)
        t["channel_min"] = t["channel_min"][:-1]
        t["channel_max"] = t["channel_max"][:-1]
    return cache_case(d, ctx, shorten, ["channel ranges"],
                      "per-channel ranges one shorter than the MatMul's input channels: was "
                      "accepted and SmoothQuant then silently skipped the layer")


@case
def cache_negative_samples(d, ctx):
    def neg(c):
        c["samples"] = -3
    return cache_case(d, ctx, neg, ["negative"], "a negative sample count in the cache")


@case
def cache_fifo(d, ctx):
    model = calib_model(d)
    np.save(d / "calib.npy", calib_rows())
    os.mkfifo(d / "cache.json")
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "int8", "--calib", "calib.npy", "--calib-cache",
                     "cache.json", "-o", OUT],
            "expect_exit": 2, "file": "cache.json", "fragments": ["not a regular file"],
            "why": "--calib-cache names a FIFO (reading it would block)"}


# Files opened as what they must be: FIFOs on every read path.

@case
def fifo_eval(d, ctx):
    c = cli_case(d, "ds-optimize", [], "eval.npy", ["not a regular file"],
                 "--eval names a FIFO")
    os.mkfifo(d / "eval.npy")
    c["args"][c["args"].index("x.npz")] = "eval.npy"
    return c


@case
def fifo_eval_labels(d, ctx):
    model = calib_model(d)
    np.save(d / "eval.npy", calib_rows())
    os.mkfifo(d / "labels.npy")
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "fp32", "--eval", "eval.npy", "--eval-labels",
                     "labels.npy", "-o", OUT],
            "expect_exit": 2, "file": "labels.npy", "fragments": ["not a regular file"],
            "why": "--eval-labels names a FIFO"}


@case
def fifo_inputs_npz(d, ctx):
    save(matmul_model(weight()), d / "model.onnx")
    os.mkfifo(d / "x.npz")
    return inputs_case(d, "ds-run", "x.npz", "--inputs names a FIFO", ["not a regular file"])


@case
def fifo_inputs_benchmark(d, ctx):
    save(matmul_model(weight()), d / "model.onnx")
    os.mkfifo(d / "x.npy")
    return inputs_case(d, "ds-benchmark", "x.npy", "--inputs names a FIFO (ds-benchmark)",
                       ["not a regular file"])


@case
def fifo_compare_npy(d, ctx):
    c = cli_case(d, "ds-run", ["--compare", "expected"], "y.npy", ["not a regular file"],
                 "--compare's expected output is a FIFO")
    (d / "expected").mkdir()
    os.mkfifo(d / "expected" / "y.npy")
    return c


@case
def fifo_artifact_library(d, ctx):
    def fifo(art, manifest):
        (art / "lib" / "libds_model.so").unlink()
        os.mkfifo(art / "lib" / "libds_model.so")
    return artifact_case(d, ctx, "lib/libds_model.so is a FIFO (dlopen would block)",
                         ["not a regular file"], "libds_model.so", mutate=fifo)


@case
def fifo_artifact_library_benchmark(d, ctx):
    def fifo(art, manifest):
        (art / "lib" / "libds_model.so").unlink()
        os.mkfifo(art / "lib" / "libds_model.so")
    return artifact_case(d, ctx, "lib/libds_model.so is a FIFO, through ds-benchmark",
                         ["not a regular file"], "libds_model.so", tool="ds-benchmark",
                         mutate=fifo)


# Outputs say what they are: injective names, OUT/host replaced only when it is an artifact.

@case
def outputs_name_collision(d, ctx):
    m = make_model([helper.make_node("Relu", ["x"], ["a/b"], name="r1"),
                    helper.make_node("Neg", ["x"], ["a_b"], name="r2")],
                   [vi("x", [2, 4])], [vi("a/b", [2, 4]), vi("a_b", [2, 4])])
    save(m, d / "model.onnx")
    return {"tool": "ds-run", "args": ["model.onnx", "--inputs", write_x(d), "--outputs", OUT],
            "expect_exit": 2, "file": "a_b.npy", "fragments": ["'a/b'", "'a_b'"],
            "why": "outputs a/b and a_b would both be written to a_b.npy: exit 2 before "
                   "anything is written"}


def out_user_dir_case(d, ctx, build, fragments, why):
    prev = d / "previous"
    prev.mkdir()
    build(prev / "host")
    save(matmul_model(weight()), d / "model.onnx")
    return {"tool": "ds-optimize", "args": tool_args("ds-optimize", "model.onnx", d),
            "expect_exit": 2, "file": "host", "fragments": fragments, "out_before": "previous",
            "why": why}


@case
def out_host_user_files(d, ctx):
    def build(host):
        host.mkdir()
        (host / "thesis.tex").write_text("years of work\n")
    return out_user_dir_case(d, ctx, build, ["not an artifact"],
                             "OUT/host holds the user's files and no manifest.json: it must "
                             "not be deleted")


@case
def out_host_is_file(d, ctx):
    def build(host):
        host.write_text("a file, not a directory\n")
    return out_user_dir_case(d, ctx, build, ["not a directory"], "OUT/host is a regular file")


@case
def out_host_symlink(d, ctx):
    def build(host):
        os.symlink(ctx.outside, host)
    return out_user_dir_case(d, ctx, build, ["symlink"],
                             "OUT/host is a symlink to a directory outside: never replaced "
                             "through it")


# The one-line error contract.

@case
def labels_short(d, ctx):
    model = calib_model(d)
    np.save(d / "eval.npy", calib_rows())
    np.save(d / "labels.npy", np.array([0, 1, 2], np.int64))
    return {"tool": "ds-optimize",
            "args": [model, "--precision", "fp32", "--eval", "eval.npy", "--eval-labels",
                     "labels.npy", "-o", OUT],
            "expect_exit": 2, "file": "labels.npy", "fragments": ["3 labels"],
            "why": "fewer labels than eval samples: the error names the labels file"}


@case
def newline_in_path(d, ctx):
    x = calib_rows()
    x[1, 1] = np.nan
    np.save(d / "ca\nlib.npy", x)
    c = calib_case(d, "ca\nlib.npy", "a NaN in a calibration file whose name holds a newline: "
                   "the error stays one line (control characters escaped)", ["'x'"])
    c["file"] = "ca\\nlib.npy"
    return c


@case
def newline_in_option_value(d, ctx):
    return cli_case(d, "ds-run", ["--threads", "4\n2"], "--threads", ["4\\n2"],
                    "a newline inside a command-line value: still one escaped line")


# Bounded .npz reading: the whole directory is checked before anything is inflated.

def npy_bytes(a):
    buf = io.BytesIO()
    np.save(buf, a)
    return buf.getvalue()


@case
def npz_entries_alias_one_member(d, ctx):
    # One stored member and 3000 central-directory entries, under other names, pointing at it.
    member = npy_bytes(np.ones((2, 4), np.float32))
    with zipfile.ZipFile(d / "x.npz", "w") as z:
        z.writestr("x.npy", member)
    data = bytearray((d / "x.npz").read_bytes())
    cd = data.rfind(b"PK\x01\x02")
    eocd = data.rfind(b"PK\x05\x06")
    entry = bytes(data[cd:eocd])
    name_len = struct.unpack("<H", entry[28:30])[0]
    entries = [entry]
    for i in range(3000):
        name = f"a{i:04d}.npy".encode()
        e = bytearray(entry[:46]) + name + entry[46 + name_len:]
        e[28:30] = struct.pack("<H", len(name))
        entries.append(bytes(e))
    directory = b"".join(entries)
    end = bytearray(data[eocd:])
    end[8:10] = end[10:12] = struct.pack("<H", len(entries))
    end[12:16] = struct.pack("<I", len(directory))
    end[16:20] = struct.pack("<I", cd)
    (d / "x.npz").write_bytes(bytes(data[:cd]) + directory + bytes(end))
    return inputs_case(d, "ds-run", "x.npz", "3000 zip directory entries sharing one member's "
                       "bytes (was 3 GiB RSS from a 1.2 MB file)", ["overlap"])


@case
def npz_deflate_bomb(d, ctx):
    # A real deflate stream: 320 MiB of zeros in ~320 KB. Refused before inflating.
    import zlib
    rows = 320 << 18  # x 4 floats = 320 MiB
    text = "{'descr': '<f4', 'fortran_order': False, 'shape': (%d, 4), }" % rows
    text += " " * ((64 - (10 + len(text) + 1) % 64) % 64) + "\n"
    header = b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode()
    with zipfile.ZipFile(d / "x.npz", "w", zipfile.ZIP_DEFLATED) as z:
        with z.open("x.npy", "w", force_zip64=True) as f:
            f.write(header)
            chunk = bytes(1 << 20)
            for _ in range(320):
                f.write(chunk)
    c = inputs_case(d, "ds-run", "x.npz", "a deflated member of 320 MiB of zeros from a "
                    "~320 KB archive: bounded before inflating", ["zip bomb"])
    return c


# --- generation --------------------------------------------------------------------------

class Context:
    def __init__(self, root, build):
        self.root, self.build = root, build
        self.outside = root / "_outside"
        self.artifact = root / "_artifact" / "host"


def build_sample_artifact(ctx):
    """The FP32 artifact that the artifact cases tamper with (a MatMul + Add model)."""
    src = ctx.root / "_artifact_src"
    src.mkdir()
    model = calib_model(src)
    np.save(src / "eval.npy", calib_rows())
    proc = subprocess.run([str(ctx.build / "bin" / "ds-optimize"), str(src / model),
                           "--precision", "fp32", "--eval", str(src / "eval.npy"),
                           "-o", str(ctx.root / "_artifact")],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        sys.exit(f"make_corpus: cannot build the sample artifact:\n{proc.stdout}{proc.stderr}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", type=Path)
    parser.add_argument("--build-dir", type=Path,
                        default=Path(os.environ.get("DS_BUILD_DIR", REPO / "build")))
    args = parser.parse_args()
    root = args.corpus.resolve()
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    ctx = Context(root, args.build_dir.resolve())
    ctx.outside.mkdir()
    (ctx.outside / "secret.bin").write_bytes(b"\0" * W_BYTES)
    build_sample_artifact(ctx)
    for fn in CASES:
        d = root / fn.__name__
        d.mkdir()
        spec = {"name": fn.__name__, "expect_artifact": False, "stdout_regex": None,
                "stderr_any": False, "out_before": None, **fn(d, ctx)}
        (d / "case.json").write_text(json.dumps(spec, indent=2) + "\n")
    print(f"make_corpus: {len(CASES)} cases in {root}")


if __name__ == "__main__":
    main()
