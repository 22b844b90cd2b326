#!/usr/bin/env python3
"""ONNX backend node-test conformance for ds-run (DESIGN §4: numeric conformance
through an allowlist that also generates the supported-op table).

Runs the test models shipped in the onnx wheel (backend/test/data/{node,
pytorch-converted,pytorch-operator,simple}) through

    ds-run MODEL.onnx --inputs test_data_set_N --compare test_data_set_N --rtol R --atol A

(exit 0 = match, 1 = mismatch, 2 = bad input / unsupported; anything else is a
crash). A test is "of a supported op" when every node in its model is an op in
supported_ops.tsv claimed for the model's opset; only those run, the rest are
skipped with the reason. overrides.tsv excludes single tests or loosens their
tolerance, each with its reason. Tests whose graph inputs/outputs have an element
type the runtime does not support (float16, ...) are skipped as such. ONNX
generates many node tests at the opset where their op last changed (Sin at 7,
Not at 1); when no op of such a model changed between its opset and 11, the
model runs re-stamped as opset 11 (same semantics by ONNX's versioning rules),
otherwise it is skipped.

Prints one summary line

    conformance: ops supported N, node tests passed P / failed F / skipped S (98.7% of supported)

plus one line per suite and the failures, writes a JSON result file, and exits 1
when the pass rate over tests of supported ops is below --min-pass-rate (98%),
2 when the runner itself cannot start (no ds-run, no test data).

    build/venv/bin/python tests/conformance/run_node_tests.py [--build-dir build]
    build/venv/bin/python tests/conformance/run_node_tests.py --generate-docs
    build/venv/bin/python tests/conformance/run_node_tests.py --from-json R.json --generate-docs
"""
import argparse
import concurrent.futures
import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
SUITES = ("node", "pytorch-converted", "pytorch-operator", "simple")
MIN_OPSET, MAX_OPSET = 11, 22
# Models at opsets 7-10 run as they are: the importer upgrades them to MIN_OPSET with
# ONNX's version converter. Older ones are lifted (re-stamped) when nothing changed.
UPGRADE_MIN_OPSET = 7
DEFAULT_DOMAINS = ("", "ai.onnx")
# TensorProto.DataType values the runtime has no kernels for.
UNSUPPORTED_ELEM_TYPES = {
    8: "string", 10: "float16", 14: "complex64", 15: "complex128", 16: "bfloat16",
    17: "float8e4m3fn", 18: "float8e4m3fnuz", 19: "float8e5m2", 20: "float8e5m2fnuz",
    21: "uint4", 22: "int4", 23: "float4e2m1",
}


@dataclass
class OpClaim:
    op: str
    min_opset: int
    max_opset: int
    limits: str


@dataclass
class Override:
    pattern: str
    action: str  # "exclude" or "tolerance"
    rtol: float
    atol: float
    reason: str


@dataclass
class Test:
    name: str
    suite: str
    path: str
    ops: list = field(default_factory=list)
    opset: int = 0
    status: str = ""  # passed / failed / skipped
    reason: str = ""  # skip reason or first line of the failure
    detail: str = ""  # ds-run's output for failures
    rtol: float = 0.0
    atol: float = 0.0
    seconds: float = 0.0
    lifted_from: int = 0  # the model's own opset when it ran re-stamped as MIN_OPSET
    model: str = ""  # the model file that ran


def fail_setup(msg):
    print(f"run_node_tests: {msg}", file=sys.stderr)
    sys.exit(2)


def read_tsv(path):
    """Rows of a tab-separated file, skipping comments, blank lines and the header."""
    rows = []
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            rows.append((lineno, line.split("\t")))
    return rows[1:] if rows else rows  # first row is the header


def load_allowlist(path):
    claims = {}
    for lineno, cols in read_tsv(path):
        if len(cols) < 3:
            fail_setup(f"{path}:{lineno}: expected op, min_opset, max_opset[, limits]")
        op, lo, hi = cols[0].strip(), int(cols[1]), int(cols[2])
        if op in claims:
            fail_setup(f"{path}:{lineno}: {op} listed twice")
        if not MIN_OPSET <= lo <= hi <= MAX_OPSET:
            fail_setup(f"{path}:{lineno}: opsets {lo}-{hi} outside {MIN_OPSET}-{MAX_OPSET}")
        claims[op] = OpClaim(op, lo, hi, cols[3].strip() if len(cols) > 3 else "")
    return claims


def load_overrides(path):
    overrides = []
    if not os.path.exists(path):
        return overrides
    for lineno, cols in read_tsv(path):
        if len(cols) != 5 or cols[1] not in ("exclude", "tolerance") or not cols[4].strip():
            fail_setup(f"{path}:{lineno}: expected test-pattern, exclude|tolerance, rtol, atol, "
                       "reason (tab-separated, reason required)")
        rtol = float(cols[2]) if cols[2] not in ("", "-") else 0.0
        atol = float(cols[3]) if cols[3] not in ("", "-") else 0.0
        overrides.append(Override(cols[0], cols[1], rtol, atol, cols[4].strip()))
    return overrides


def find_override(overrides, name):
    for o in overrides:
        if fnmatch.fnmatchcase(name, o.pattern):
            return o
    return None


def graph_ops(graph, out):
    """(domain, op_type) of every node, subgraphs included."""
    import onnx
    for node in graph.node:
        out.add((node.domain, node.op_type))
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                graph_ops(attr.g, out)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    graph_ops(g, out)
    return out


def unsupported_elem_types(graph):
    """Names of unsupported element types among the graph's inputs and outputs."""
    found = set()
    for vi in list(graph.input) + list(graph.output):
        t = vi.type
        kind = t.WhichOneof("value")
        if kind == "tensor_type":
            et = t.tensor_type.elem_type
            if et in UNSUPPORTED_ELEM_TYPES:
                found.add(UNSUPPORTED_ELEM_TYPES[et])
        elif kind is not None:
            found.add(kind.replace("_type", ""))  # sequence / map / optional values
    return sorted(found)


def classify(test, claims, overrides, default_rtol, default_atol):
    """Sets test.ops/opset and, for tests that cannot run, status 'skipped' with the reason."""
    import onnx
    model = onnx.load(os.path.join(test.path, "model.onnx"), load_external_data=False)
    test.opset = max((o.version for o in model.opset_import if o.domain in DEFAULT_DOMAINS),
                     default=0)
    ops = graph_ops(model.graph, set())
    test.ops = sorted({op if dom in DEFAULT_DOMAINS else f"{dom}:{op}" for dom, op in ops})
    test.rtol, test.atol = default_rtol, default_atol
    unsupported = [op for op in test.ops if op not in claims]
    if unsupported:
        test.status, test.reason = "skipped", "unsupported op: " + ", ".join(unsupported)
        return
    claims_opset = test.opset
    if UPGRADE_MIN_OPSET <= test.opset < MIN_OPSET:
        claims_opset = MIN_OPSET  # what the version converter makes of it
    elif test.opset < MIN_OPSET:
        changed = changed_since(test.ops, test.opset)
        if changed:
            test.status = "skipped"
            test.reason = (f"opset {test.opset} outside {MIN_OPSET}-{MAX_OPSET} "
                           f"(changed by opset {MIN_OPSET}: {', '.join(changed)})")
            return
        test.lifted_from = test.opset
        test.opset = claims_opset = MIN_OPSET
    elif test.opset > MAX_OPSET:
        test.status, test.reason = "skipped", f"opset {test.opset} outside {MIN_OPSET}-{MAX_OPSET}"
        return
    unclaimed = [op for op in test.ops
                 if not claims[op].min_opset <= claims_opset <= claims[op].max_opset]
    if unclaimed:
        test.status = "skipped"
        test.reason = f"opset {test.opset} not claimed for: " + ", ".join(unclaimed)
        return
    bad_types = unsupported_elem_types(model.graph)
    if bad_types:
        test.status, test.reason = "skipped", "unsupported element type: " + ", ".join(bad_types)
        return
    override = find_override(overrides, test.name)
    if override and override.action == "exclude":
        test.status, test.reason = "skipped", "excluded: " + override.reason
        return
    if override:
        test.rtol, test.atol = override.rtol, override.atol
    if not data_sets(test.path):
        test.status, test.reason = "skipped", "no test_data_set directories"


def changed_since(ops, opset):
    """Ops whose definition at MIN_OPSET differs from the one at `opset`."""
    import onnx.defs
    changed = []
    for op in ops:
        try:
            if onnx.defs.get_schema(op, MIN_OPSET).since_version > opset:
                changed.append(op)
        except Exception:  # not in the default domain at MIN_OPSET
            changed.append(op)
    return changed


def lift_model(test, out_root):
    """Writes the test's model re-stamped as an opset MIN_OPSET model; returns its path.

    Only done when every op's definition is the same at MIN_OPSET as at the model's
    opset (changed_since() is empty), so the expected outputs stay valid; this gives
    the ops whose node tests ONNX generated at an older opset (Sin at 7, Not at 1,
    ...) a test at an opset we support.
    """
    import onnx
    model = onnx.load(os.path.join(test.path, "model.onnx"), load_external_data=False)
    for o in model.opset_import:
        if o.domain in DEFAULT_DOMAINS:
            o.version = MIN_OPSET
    model.ir_version = max(model.ir_version, 6)  # IR 6 came with opset 11
    out_dir = os.path.join(out_root, test.suite, test.name)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")
    onnx.save(model, path)
    return path


def data_sets(path):
    sets = [d for d in os.listdir(path) if re.fullmatch(r"test_data_set_\d+", d)]
    return [os.path.join(path, d) for d in sorted(sets, key=lambda s: int(s.rsplit("_", 1)[1]))]


def first_line(text):
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def run_test(test, ds_run, timeout):
    """Runs every data set of `test` through ds-run; sets status/reason/detail."""
    start = time.monotonic()
    model = test.model or os.path.join(test.path, "model.onnx")
    for ds in data_sets(test.path):
        cmd = ds_run + [model, "--inputs", ds, "--compare", ds,
                        "--rtol", repr(test.rtol), "--atol", repr(test.atol)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                                  errors="replace")
        except subprocess.TimeoutExpired:
            test.status, test.reason = "failed", f"timed out after {timeout} s"
            break
        if proc.returncode == 0:
            continue
        tag = os.path.basename(ds)
        if proc.returncode == 1:
            mism = [l.strip() for l in proc.stdout.splitlines() if "MISMATCH" in l]
            what = mism[0] if mism else (first_line(proc.stderr) or "outputs differ")
            test.reason = f"mismatch ({tag}): {what}"
        elif proc.returncode == 2:
            test.reason = f"error ({tag}): {first_line(proc.stderr) or 'exit 2'}"
        else:
            sig = f"signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
            test.reason = f"crash ({tag}, {sig}): {first_line(proc.stderr)}"
        test.status = "failed"
        test.detail = (proc.stdout[-2000:] + proc.stderr[-2000:]).strip()
        break
    else:
        test.status = "passed"
    test.seconds = round(time.monotonic() - start, 3)
    return test


def discover(data_root, suites, name_filter):
    tests = []
    for suite in suites:
        root = os.path.join(data_root, suite)
        if not os.path.isdir(root):
            fail_setup(f"{root}: no such test data directory")
        for name in sorted(os.listdir(root)):
            path = os.path.join(root, name)
            if not os.path.isfile(os.path.join(path, "model.onnx")):
                continue
            if name_filter and not re.search(name_filter, name):
                continue
            tests.append(Test(name=name, suite=suite, path=path))
    return tests


def tally(tests):
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    for t in tests:
        counts[t.status] += 1
    return counts


def pass_rate(counts):
    ran = counts["passed"] + counts["failed"]
    return 100.0 * counts["passed"] / ran if ran else 0.0


def per_op_results(tests, claims):
    """op -> [passed, run] over the tests that ran."""
    result = {op: [0, 0] for op in claims}
    for t in tests:
        if t.status == "skipped":
            continue
        for op in t.ops:
            if op in result:
                result[op][1] += 1
                result[op][0] += t.status == "passed"
    return result


def summary_line(n_ops, counts):
    return (f"conformance: ops supported {n_ops}, node tests passed {counts['passed']} / "
            f"failed {counts['failed']} / skipped {counts['skipped']} "
            f"({pass_rate(counts):.1f}% of supported)")


def write_docs(path, claims, tests, summary, overrides, onnx_version):
    per_op = per_op_results(tests, claims)
    lines = [
        "# Supported ONNX operators",
        "",
        "Generated by `tests/conformance/run_node_tests.py --generate-docs` from",
        "`tests/conformance/supported_ops.tsv` and a conformance run over the node tests of the",
        f"onnx {onnx_version} wheel; do not edit by hand.",
        "",
        f"    {summary}",
        "",
        f"Model opsets {UPGRADE_MIN_OPSET} to {MAX_OPSET} of the default ONNX domain "
        f"({UPGRADE_MIN_OPSET}-{MIN_OPSET - 1} are upgraded to {MIN_OPSET} by ONNX's version "
        "converter at import; the table's opsets are those after it). float16 and bfloat16 "
        "models compute in float32 behind their own interface (README); their node tests are "
        "not run here, since ONNX's expected outputs round every op to half. Element types "
        "float8, int4, string and complex are not supported by any op.",
        "\"Node tests\" counts the ONNX backend tests that contain the op and that ran "
        f"(all of their ops claimed; models at opsets {UPGRADE_MIN_OPSET}-{MIN_OPSET - 1} run "
        "through the version converter, older ones whose ops did not change by opset "
        f"{MIN_OPSET} re-stamped as opset {MIN_OPSET}); tests excluded in "
        "`tests/conformance/overrides.tsv` are listed below.",
        "",
        "| Op | Opsets | Node tests passed | Limits |",
        "|---|---|---|---|",
    ]
    for op in sorted(claims):
        c = claims[op]
        passed, run = per_op[op]
        lines.append(f"| {op} | {c.min_opset}-{c.max_opset} | {passed} / {run} | {c.limits} |")
    if overrides:
        lines += ["", "## Excluded tests and loosened tolerances", "",
                  "| Test (pattern) | Action | Reason |", "|---|---|---|"]
        for o in overrides:
            action = "excluded" if o.action == "exclude" else f"rtol {o.rtol:g}, atol {o.atol:g}"
            lines.append(f"| `{o.pattern}` | {action} | {o.reason} |")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.environ.get("DS_BUILD_DIR", os.path.join(REPO, "build")))
    ap.add_argument("--ds-run", help="ds-run command (default: <build-dir>/bin/ds-run); "
                    "may hold extra arguments, split like a shell would")
    ap.add_argument("--data-dir", help="onnx backend test data (default: the installed onnx wheel's)")
    ap.add_argument("--suites", default=",".join(SUITES))
    ap.add_argument("--filter", help="regex on test names")
    ap.add_argument("--allowlist", default=os.path.join(HERE, "supported_ops.tsv"))
    ap.add_argument("--overrides", default=os.path.join(HERE, "overrides.tsv"))
    ap.add_argument("--rtol", type=float, default=1e-3)
    ap.add_argument("--atol", type=float, default=1e-7)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per test")
    ap.add_argument("--min-pass-rate", type=float, default=98.0, help="percent")
    ap.add_argument("--json", help="result file (default: <build-dir>/conformance/results.json)")
    ap.add_argument("--from-json", help="use a previous run's results instead of running")
    ap.add_argument("--generate-docs", action="store_true",
                    help="write docs/supported-ops.md (see --docs)")
    ap.add_argument("--docs", default=os.path.join(REPO, "docs", "supported-ops.md"))
    ap.add_argument("--list-skipped", action="store_true",
                    help="also list skipped tests with their reasons")
    ap.add_argument("-v", "--verbose", action="store_true", help="print ds-run output of failures")
    args = ap.parse_args()

    import onnx
    claims = load_allowlist(args.allowlist)
    overrides = load_overrides(args.overrides)
    data_root = args.data_dir or os.path.join(os.path.dirname(onnx.__file__), "backend", "test", "data")
    suites = [s for s in args.suites.split(",") if s]

    if args.from_json:
        with open(args.from_json, encoding="utf-8") as f:
            saved = json.load(f)
        tests = [Test(**{k: v for k, v in t.items() if k in Test.__dataclass_fields__})
                 for t in saved["tests"]]
    else:
        ds_run = shlex.split(args.ds_run) if args.ds_run else [os.path.join(args.build_dir, "bin", "ds-run")]
        if not (os.path.isfile(ds_run[0]) and os.access(ds_run[0], os.X_OK)):
            fail_setup(f"{ds_run[0]}: ds-run not found or not executable (build it, or pass --ds-run)")
        tests = discover(data_root, suites, args.filter)
        if not tests:
            fail_setup(f"{data_root}: no tests found")
        for t in tests:
            classify(t, claims, overrides, args.rtol, args.atol)
        to_run = [t for t in tests if not t.status]
        lifted_root = os.path.join(args.build_dir, "conformance", "lifted")
        for t in to_run:
            t.model = lift_model(t, lifted_root) if t.lifted_from else ""
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            list(pool.map(lambda t: run_test(t, ds_run, args.timeout), to_run))

    counts = tally(tests)
    summary = summary_line(len(claims), counts)
    print(summary)
    for suite in suites:
        c = tally([t for t in tests if t.suite == suite])
        print(f"  {suite}: passed {c['passed']} / failed {c['failed']} / skipped {c['skipped']}")
    failed = [t for t in tests if t.status == "failed"]
    if failed:
        print(f"failures ({len(failed)}):")
        for t in failed:
            print(f"  {t.name}: {t.reason}")
            if args.verbose and t.detail:
                print("    " + t.detail.replace("\n", "\n    "))
    if args.list_skipped:
        print("skipped:")
        for t in tests:
            if t.status == "skipped":
                print(f"  {t.name}: {t.reason}")
    # Which unclaimed ops block the most tests (what to implement next).
    blocking = {}
    for t in tests:
        if t.reason.startswith("unsupported op: "):
            for op in t.reason[len("unsupported op: "):].split(", "):
                blocking[op] = blocking.get(op, 0) + 1

    if not args.from_json:
        json_path = args.json or os.path.join(args.build_dir, "conformance", "results.json")
        os.makedirs(os.path.dirname(os.path.abspath(json_path)), exist_ok=True)
        result = {
            "summary": summary,
            "onnx_version": onnx.__version__,
            "rtol": args.rtol, "atol": args.atol,
            "ops_supported": len(claims),
            "counts": counts,
            "pass_rate": round(pass_rate(counts), 3),
            "suites": {s: tally([t for t in tests if t.suite == s]) for s in suites},
            "per_op": {op: {"passed": p, "run": r} for op, (p, r) in per_op_results(tests, claims).items()},
            "unsupported_ops": dict(sorted(blocking.items(), key=lambda kv: (-kv[1], kv[0]))),
            "tests": [t.__dict__ for t in tests],
        }
        with open(json_path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=1)
        print(f"results: {json_path}")

    if args.generate_docs:
        version = saved.get("onnx_version", onnx.__version__) if args.from_json else onnx.__version__
        write_docs(args.docs, claims, tests, summary, overrides, version)
        print(f"docs: {args.docs}")

    ran = counts["passed"] + counts["failed"]
    if ran == 0 or pass_rate(counts) < args.min_pass_rate:
        print(f"conformance: FAILED, pass rate below {args.min_pass_rate:g}%", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
