#!/usr/bin/env python3
"""Writes the small numpy/ONNX files under tests/io/data/ that tensor_io_test.cpp
reads, so the C++ readers are checked against files made by numpy and onnx
themselves (not only against our own writers).

Run from anywhere with the project's venv: build/venv/bin/python tests/io/make_fixtures.py
The values follow formulas the C++ test recomputes (see the comments there).
"""
import os
import shutil

import numpy as np
from onnx import TensorProto, helper, numpy_helper

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def ramp(dtype, shape):
    """Element i is (i * 7) % 11 - 3 (cast to dtype): signed, small, exact in all types."""
    n = int(np.prod(shape))
    v = (np.arange(n) * 7) % 11 - 3
    if np.dtype(dtype).kind == "u":
        v = np.abs(v)
    if np.dtype(dtype) == np.bool_:
        v = v > 0
    return v.astype(dtype).reshape(shape)


def main():
    if os.path.isdir(DATA):
        shutil.rmtree(DATA)
    os.makedirs(DATA)
    p = lambda name: os.path.join(DATA, name)

    # One .npy per dtype, shape (2, 3).
    for tag, dt in [("f32", np.float32), ("f64", np.float64), ("f16", np.float16),
                    ("i8", np.int8), ("u8", np.uint8), ("i16", np.int16),
                    ("u16", np.uint16), ("i32", np.int32), ("u32", np.uint32),
                    ("i64", np.int64), ("u64", np.uint64), ("bool", np.bool_)]:
        np.save(p(f"{tag}.npy"), ramp(dt, (2, 3)))
    # Shapes: scalar, 1-D, empty, rank 4 (1-D and scalar headers differ: "(5,)", "()").
    np.save(p("scalar.npy"), np.float32(2.5))
    np.save(p("vec5.npy"), ramp(np.float32, (5,)))
    np.save(p("empty.npy"), np.zeros((0, 3), np.float32))
    np.save(p("rank4.npy"), ramp(np.float32, (2, 1, 3, 4)))
    # Header format 2.0 (4-byte header length).
    with open(p("v2.npy"), "wb") as f:
        np.lib.format.write_array(f, ramp(np.int32, (3, 2)), version=(2, 0))
    # Not supported: Fortran order, big-endian, structured.
    np.save(p("fortran.npy"), np.asfortranarray(ramp(np.float32, (2, 3))))
    np.save(p("bigendian.npy"), ramp(np.dtype(">f4"), (2, 3)))
    np.save(p("structured.npy"), np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))

    # Archives: stored and deflated, several members, archive order a, b, c.
    members = dict(a=ramp(np.float32, (2, 3)), b=ramp(np.int64, (4,)),
                   c=np.float32(1.5))
    np.savez(p("stored.npz"), **members)
    np.savez_compressed(p("deflated.npz"), **members)
    np.savez_compressed(p("big_deflated.npz"), x=ramp(np.float32, (64, 100)))

    # TensorProtos: raw_data (numpy_helper) and the typed fields.
    def save_pb(name, proto):
        with open(p(name), "wb") as f:
            f.write(proto.SerializeToString())
    save_pb("raw_f32.pb", numpy_helper.from_array(ramp(np.float32, (2, 3)), "x"))
    save_pb("raw_bool.pb", numpy_helper.from_array(ramp(np.bool_, (2, 3)), "flags"))
    save_pb("typed_f32.pb", helper.make_tensor("tf", TensorProto.FLOAT, [2, 3],
                                               ramp(np.float32, (6,)).tolist()))
    save_pb("typed_i64.pb", helper.make_tensor("ti", TensorProto.INT64, [3],
                                               ramp(np.int64, (3,)).tolist()))
    save_pb("typed_i8.pb", helper.make_tensor("tb", TensorProto.INT8, [6],
                                              ramp(np.int8, (6,)).tolist()))
    save_pb("typed_f64.pb", helper.make_tensor("td", TensorProto.DOUBLE, [2],
                                               [0.25, -8.0]))
    save_pb("string.pb", helper.make_tensor("s", TensorProto.STRING, [1], [b"hi"]))
    # dims claim 6 elements, data has 5.
    short = helper.make_tensor("bad", TensorProto.FLOAT, [5], [1.0, 2.0, 3.0, 4.0, 5.0])
    short.dims[:] = [2, 3]
    save_pb("short.pb", short)

    # An ONNX test_data_set directory with two inputs and one output.
    ds = p("test_data_set_0")
    os.makedirs(ds)
    for i, arr in enumerate([ramp(np.float32, (2, 2)), ramp(np.int64, (3,))]):
        with open(os.path.join(ds, f"input_{i}.pb"), "wb") as f:
            f.write(numpy_helper.from_array(arr, f"in{i}").SerializeToString())
    with open(os.path.join(ds, "output_0.pb"), "wb") as f:
        f.write(numpy_helper.from_array(ramp(np.float32, (2, 2)), "out0").SerializeToString())


if __name__ == "__main__":
    main()
