#!/usr/bin/env python3
"""Describe an ONNX graph (needs only onnx): what the README's "Measured facts" are made from.

Usage: inspect_onnx.py MODEL.onnx [--all-nodes]

Prints ir_version, producer, opset_import, op counts per (domain, op_type), graph inputs and
outputs with dtypes and shapes, and, for every op type outside the default domain, the
attributes of its first instance (also for ops in the default domain that ONNX does not
define, e.g. the builder's SimplifiedLayerNormalization) and its inputs/outputs (name, dtype, shape where the graph
records one: graph inputs/outputs, value_info, initializers). MatMulNBits /
GatherBlockQuantized initializers (B, scales, zero_points) are listed for every instance.
--all-nodes also prints every node (op, name, inputs -> outputs).
"""
import collections
import sys

import onnx
import onnx.defs
from onnx import helper, numpy_helper


def dims(tt):
    if not tt.HasField("shape"):
        return "?"
    return "[" + ", ".join(d.dim_param if d.HasField("dim_param") else
                           (str(d.dim_value) if d.HasField("dim_value") else "?")
                           for d in tt.shape.dim) + "]"


def vi_str(vi):
    tt = vi.type.tensor_type
    return f"{onnx.TensorProto.DataType.Name(tt.elem_type)} {dims(tt)}"


def attr_str(a):
    v = helper.get_attribute_value(a)
    if isinstance(v, bytes):
        v = v.decode(errors="replace")
    if isinstance(v, onnx.TensorProto):
        arr = numpy_helper.to_array(v)
        v = f"tensor {arr.dtype} {list(arr.shape)} {arr.ravel()[:8].tolist()}"
    if isinstance(v, float):
        v = repr(v)
    return f"{a.name}={v}"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if len(args) != 1:
        print(__doc__)
        return 2
    m = onnx.load(args[0], load_external_data=False)
    g = m.graph
    print(f"file {args[0]}")
    print(f"ir_version {m.ir_version}, producer {m.producer_name!r} {m.producer_version!r}, "
          f"graph name {g.name!r}")
    print("opset_import:", [(o.domain, o.version) for o in m.opset_import])
    ext = [i.name for i in g.initializer if i.data_location == onnx.TensorProto.EXTERNAL]
    print(f"nodes {len(g.node)}, initializers {len(g.initializer)} (external: {len(ext)}), "
          f"value_info {len(g.value_info)}")
    cnt = collections.Counter((n.domain or "", n.op_type) for n in g.node)
    print("op counts (domain, op_type):")
    for (d, op), c in sorted(cnt.items()):
        print(f"  {d or 'ai.onnx'}:{op} {c}")

    info = {}
    for vi in list(g.input) + list(g.output) + list(g.value_info):
        info[vi.name] = vi_str(vi)
    for t in g.initializer:
        info[t.name] = (f"{onnx.TensorProto.DataType.Name(t.data_type)} {list(t.dims)} "
                        f"(initializer)")
    print("inputs:")
    for vi in g.input:
        print(f"  {vi.name}: {vi_str(vi)}")
    print("outputs:")
    for vi in g.output:
        print(f"  {vi.name}: {vi_str(vi)}")

    seen = set()
    for n in g.node:
        standard = (n.domain or "") in ("", "ai.onnx") and onnx.defs.has(n.op_type)
        if standard or n.op_type in seen:
            continue
        seen.add(n.op_type)
        print(f"first {n.domain or 'ai.onnx'}:{n.op_type} ({n.name}):"
              + ("" if (n.domain or "") else "  [not an ONNX op]"))
        print("  attrs:", ", ".join(attr_str(a) for a in n.attribute) or "(none)")
        for i, x in enumerate(n.input):
            print(f"  in[{i}] {x or '(empty)'}: {info.get(x, '') if x else ''}")
        for i, x in enumerate(n.output):
            print(f"  out[{i}] {x}: {info.get(x, '')}")

    inits = {t.name: t for t in g.initializer}
    for n in g.node:
        if n.op_type in ("MatMulNBits", "GatherBlockQuantized"):
            parts = []
            for x in n.input:
                if x in inits:
                    t = inits[x]
                    parts.append(f"{x.split('.')[-1] if '.' in x else x}="
                                 f"{onnx.TensorProto.DataType.Name(t.data_type)}{list(t.dims)}")
            attrs = {a.name: helper.get_attribute_value(a) for a in n.attribute}
            print(f"  {n.op_type} {n.name}: K={attrs.get('K')} N={attrs.get('N')} "
                  + " ".join(parts))
    if "--all-nodes" in sys.argv:
        for n in g.node:
            print(f"{n.domain or ''}:{n.op_type} {n.name}: {list(n.input)} -> {list(n.output)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
