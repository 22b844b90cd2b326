#!/usr/bin/env python3
"""Runs every case of the hostile-input corpus (make_corpus.py) through its tool and
checks what issue #4 (item 1) asks of bad input:

  - the exit code (2 for bad input; 0 where the case documents legal input);
  - stderr is exactly one non-empty line "<tool>: error: ..." naming the offending
    file (its basename) and the problem (the case's fragments); empty on success;
  - no sanitizer report (ASan/UBSan/LSan text, or their exit codes 98/99);
  - every path the tool (and its children) opened, created, renamed, linked or
    unlinked lies in the case dir, the output dir, the build dir, the source tree's
    runtime headers and version script (the artifact compiler reads them), $TMPDIR
    (set per case) or a system location, checked with strace (symlinks resolved);
    nothing else of the corpus is touched;
  - peak RSS <= 2 x the case's input bytes + 256 MB (skipped on sanitizer builds,
    whose shadow memory and quarantine make RSS meaningless);
  - no partial artifact: the output dir does not exist after a refused job; after a
    successful -o job it holds one complete artifact; the case dir is unchanged.

    venv/bin/python tests/hostile/run_corpus.py --build-dir build [--generate] [-k NAME]

Prints `hostile corpus: N/M cases passed` and one line per failure; exits 1 on any.
On a sanitizer build (DS_SANITIZE in CMakeCache.txt) each case runs twice: under
strace with leak detection off (LSan cannot run under ptrace), and bare with
detect_leaks=1 for the sanitizer, exit-code and message checks.
"""
import argparse
import codecs
import concurrent.futures
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
MB = 1 << 20
TRACED = ("open,openat,openat2,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,"
          "symlink,symlinkat,link,linkat,chdir,fchdir,clone,clone3,fork,vfork")
SYSTEM_DIRS = ["/usr", "/lib", "/lib64", "/etc", "/proc", "/sys", "/dev"]
SANITIZER_TEXT = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                            r"runtime error:|SUMMARY: \w+Sanitizer")
SANITIZER_EXIT = {98: "UBSan", 99: "ASan/LSan"}
ARTIFACT_FILES = ["manifest.json", "weights.bin", "src/model.cpp", "lib/libds_model.so",
                  "bin/ds-model-run", "report.json", "report.html"]


def sanitized(build):
    cache = build / "CMakeCache.txt"
    if not cache.exists():
        return False
    m = re.search(r"^DS_SANITIZE:\w+=(.*)$", cache.read_text(), re.M)
    return bool(m and m.group(1).strip())


def tree_state(root):
    """(relative path, type, size, mtime) of everything under root, links not followed."""
    state = []
    for dirpath, dirs, files in os.walk(root):
        for name in dirs + files:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            state.append((os.path.relpath(p, root), st.st_mode >> 12, st.st_size, st.st_mtime_ns))
    return sorted(state)


def tree_bytes(root):
    """relative path -> bytes (files) or None (dirs, links) of everything under root."""
    root = Path(root)
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() and not p.is_symlink()
            else None for p in sorted(root.rglob("*"))}


def input_bytes(root):
    return sum(s for _, mode, s, _ in tree_state(root) if mode == 0o10)  # regular files


# --- strace log ---------------------------------------------------------------------------

CALL = re.compile(r"^(\d+)\s+(?:(\w+)\((.*)|<\.\.\. (\w+) resumed>(.*))$")
STRING = r'"((?:[^"\\]|\\.)*)"'
DIRFD = r'(AT_FDCWD(?:<(?:[^>\\]|\\.)*>)?|-?\d+<(?:[^>\\]|\\.)*>|-?\d+)'
AT_PATH = re.compile(DIRFD + r",\s*" + STRING)
PLAIN_PATH = re.compile(STRING)
FD_PATH = re.compile(r"^(?:-?\d+|AT_FDCWD)<((?:[^>\\]|\\.)*)>$")  # -y: "3</dir>"
RESULT = re.compile(r"\)\s+=\s+(-?\d+)")


def unescape(s):
    return codecs.escape_decode(s.encode("utf-8", "surrogateescape"))[0].decode(
        "utf-8", "surrogateescape")


def syscalls(log_text):
    """(pid, name, full argument text) per completed call, unfinished/resumed pairs joined."""
    pending = {}
    for line in log_text.splitlines():
        m = CALL.match(line)
        if not m:
            continue
        pid = int(m.group(1))
        if m.group(2):
            name, rest = m.group(2), m.group(3)
            if rest.endswith("<unfinished ...>"):
                pending[pid] = (name, rest[: -len("<unfinished ...>")])
                continue
            yield pid, name, rest
        elif pid in pending:
            name, head = pending.pop(pid)
            yield pid, name, head + m.group(5)


def touched_paths(log_text, cwd):
    """Absolute paths of every path argument of the traced calls, in call order, with
    each process's cwd tracked through chdir/fchdir and inherited at clone/fork."""
    calls = list(syscalls(log_text))
    cwds, paths = {}, []
    for pid, name, args in calls:
        # The first process starts in `cwd`; others inherit at clone (None: not seen yet,
        # which only matters for relative paths without strace's -y directory names).
        base = cwds.setdefault(pid, None if cwds else cwd)
        result = RESULT.search(args)
        ret = int(result.group(1)) if result else -1
        if name in ("clone", "clone3", "fork", "vfork"):
            if ret > 0:
                cwds[ret] = base
            continue
        if name == "fchdir":
            fd = FD_PATH.match(args.split(")")[0].strip())
            if ret == 0:
                cwds[pid] = unescape(fd.group(1)) if fd else None
            continue
        found = []
        if name.endswith("at") or name in ("openat2", "renameat2"):
            for dirfd, path in AT_PATH.findall(args):
                fd = FD_PATH.match(dirfd)  # strace -y names the directory, cwd included
                found.append((unescape(fd.group(1)) if fd else base if dirfd == "AT_FDCWD"
                              else None, unescape(path)))
            if name == "symlinkat":  # the first string is the link's target, not a path used
                found = found[-1:]
        else:
            found = [(base, unescape(p)) for p in PLAIN_PATH.findall(args.split(") = ")[0])]
            if name == "symlink":
                found = found[1:]
            elif name in ("open", "creat", "mkdir", "unlink", "chdir"):
                found = found[:1]
            else:  # rename, link
                found = found[:2]
        for b, p in found:
            if os.path.isabs(p):
                paths.append(p)
            elif b is None:
                paths.append(f"<unknown dir>/{p}")
            else:
                paths.append(os.path.join(b, p))
        if name == "chdir" and ret == 0 and found:
            cwds[pid] = paths[-1]
    return paths


def inside(path, root):
    return path == root or path.startswith(root.rstrip("/") + "/")


def path_violations(paths, own, forbidden, allowed):
    """Paths that, as written or resolved (symlinks followed), are not in `own` (the
    case's dirs) and lie in `forbidden` (the rest of the corpus) or outside `allowed`."""
    bad = []
    for p in paths:
        if p.startswith("<unknown dir>"):
            bad.append(p)
            continue
        norm, real = os.path.normpath(p), os.path.realpath(p)
        for q in (norm, real):
            if any(inside(q, o) for o in own):
                continue
            if any(inside(q, f) for f in forbidden) or not any(inside(q, a) for a in allowed):
                bad.append(p if q == norm else f"{p} -> {real}")
                break
    return sorted(set(bad))


# --- one case -----------------------------------------------------------------------------

class Runner:
    def __init__(self, build, corpus, scratch, timeout):
        self.build, self.corpus, self.scratch, self.timeout = build, corpus, scratch, timeout
        self.sanitized = sanitized(build)
        self.strace = shutil.which("strace")
        if self.strace and subprocess.run([self.strace, "-qq", "-o", os.devnull, "true"],
                                          capture_output=True).returncode != 0:
            self.strace = None  # ptrace not permitted here (some containers)
        self.system = SYSTEM_DIRS + [os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)]

    def run(self, cmd, cwd, env, stdout, stderr):
        """Runs cmd in its own session; returns (exit code or -signal, peak RSS in bytes of
        it and every descendant it waited for)."""
        with open(stdout, "wb") as out, open(stderr, "wb") as err:
            proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=err, start_new_session=True)
        def kill():
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        timer = threading.Timer(self.timeout, kill)
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        return proc.returncode, usage.ru_maxrss * 1024

    def env(self, tmp, leaks):
        env = dict(os.environ)
        env["TMPDIR"] = str(tmp)
        env["ASAN_OPTIONS"] = f"detect_leaks={int(leaks)}:abort_on_error=0:exitcode=99"
        env["UBSAN_OPTIONS"] = "print_stacktrace=1:halt_on_error=1:exitcode=98"
        return env

    def check(self, case_dir):
        spec = json.loads((case_dir / "case.json").read_text())
        name = spec["name"]
        work = self.scratch / name
        shutil.rmtree(work, ignore_errors=True)
        tmp = work / "tmp"
        tmp.mkdir(parents=True)
        out = work / "out"
        tool = spec["tool"]
        exe = (str(case_dir / tool) if tool.startswith("./") else tool if tool.startswith("/")
               else str(self.build / "bin" / tool))
        cmd = [exe] + [a.replace("{out}", str(out)) for a in spec["args"]]
        before = tree_state(case_dir)
        size = input_bytes(case_dir)
        old_out = None
        if spec.get("out_before"):  # OUT already holds an artifact, which must survive
            shutil.copytree(case_dir / spec["out_before"], out, symlinks=True)
            old_out = tree_bytes(out)
        problems = []

        code = rss = None
        if self.strace:
            log = work / "strace.log"
            traced = [self.strace, "-f", "-qq", "-y", "-s", "4096", "-e", "signal=none",
                      "-e", f"trace={TRACED}", "-o", str(log), *cmd]
            code, rss = self.run(traced, case_dir, self.env(tmp, leaks=False),
                                 work / "stdout", work / "stderr")
            paths = touched_paths(log.read_text(errors="replace"), str(case_dir))
            if not paths:  # the dynamic loader alone opens several files
                problems.append("the strace log shows no paths: broken parser?")
            # The artifact compiler reads the runtime headers and the library's version
            # script from the source tree.
            allowed = [str(self.build), str(REPO / "codegen" / "runtime" / "include"),
                       str(REPO / "codegen" / "runtime" / "api" / "ds_model.map"), *self.system]
            bad = path_violations(paths, [str(case_dir), str(work)],
                                  [str(self.corpus), str(self.scratch)], allowed)
            if bad:
                problems.append(f"touched {len(bad)} path(s) outside the allowed dirs: "
                                + ", ".join(bad[:4]))
        if self.sanitized or not self.strace:
            if self.sanitized and code is not None and code in SANITIZER_EXIT:
                problems.append(f"under strace: exit {code} ({SANITIZER_EXIT[code]} report)")
            if out.exists():
                shutil.rmtree(out)
            if old_out is not None:
                shutil.copytree(case_dir / spec["out_before"], out, symlinks=True)
            traced_code = code
            code, rss = self.run(cmd, case_dir, self.env(tmp, leaks=True), work / "stdout",
                                 work / "stderr")
            if traced_code is not None and traced_code != code:
                problems.append(f"exit {traced_code} under strace, {code} without")

        stdout = (work / "stdout").read_text(errors="replace")
        stderr = (work / "stderr").read_text(errors="replace")
        want = spec["expect_exit"]
        if code in SANITIZER_EXIT or code < 0:
            problems.append(f"exit {code} ({SANITIZER_EXIT.get(code, 'killed by a signal')})")
        elif code != want:
            problems.append(f"exit {code}, want {want}")
        if SANITIZER_TEXT.search(stderr):
            problems.append("sanitizer report on stderr")
        problems += self.check_stderr(spec, tool, stderr, code)
        if spec.get("stdout_regex") and code == 0 and not re.search(spec["stdout_regex"], stdout):
            problems.append(f"stdout does not match /{spec['stdout_regex']}/")
        if not self.sanitized:
            limit = 2 * size + 256 * MB
            if rss > limit:
                problems.append(f"peak RSS {rss // MB} MB > limit {limit // MB} MB")
        problems += self.check_output(spec, out, old_out)
        if tree_state(case_dir) != before:
            problems.append("the case dir changed")
        if not problems:
            shutil.rmtree(work, ignore_errors=True)
        line = stderr.strip() or stdout.strip().split("\n")[-1]
        return name, problems, f"[{rss // MB} MB] {line}"

    @staticmethod
    def check_stderr(spec, tool, stderr, code):
        if spec["expect_exit"] == 0:
            if stderr.strip() and not spec.get("stderr_any"):
                return [f"stderr is not empty on success: {stderr.strip()[:200]!r}"]
            return []
        lines = stderr.strip("\n").split("\n") if stderr.strip() else []
        if len(lines) != 1 or not lines[0].strip():
            return [f"stderr has {len(lines)} lines, want 1: {stderr[:300]!r}"]
        line, prefix = lines[0], f"{os.path.basename(tool)}: error: "
        problems = []
        if not line.startswith(prefix):
            problems.append(f"error line does not start with '{prefix}': {line!r}")
        missing = [f for f in [spec["file"], *spec["fragments"]] if f not in line]
        if missing:
            problems.append(f"error line lacks {missing}: {line!r}")
        return problems

    @staticmethod
    def check_output(spec, out, old_out):
        if old_out is not None and spec["expect_exit"] != 0:
            if not out.is_dir():
                return ["the output dir that existed before is gone"]
            new = tree_bytes(out)
            changed = sorted(p for p in old_out.keys() | new.keys() if old_out.get(p) != new.get(p))
            return [f"the existing output dir changed: {changed[:5]}"] if changed else []
        if not spec.get("expect_artifact"):
            return [f"output dir exists: {sorted(p.name for p in out.iterdir())}"] \
                if out.exists() else []
        host = out / "host"
        missing = [f for f in ARTIFACT_FILES if not (host / f).is_file()]
        if missing:
            return [f"artifact lacks {missing}"]
        strays = [p.name for p in out.iterdir() if p.name != "host"]
        if strays:
            return [f"output dir holds {strays} besides host/"]
        report = json.loads((host / "report.json").read_text())
        outs = report["accuracy"]["outputs"]
        errors = [o.get("max_abs_error") for o in outs]
        if not outs or not all(isinstance(e, (int, float)) and math.isfinite(e) for e in errors):
            return [f"report.json max_abs_error not finite: {errors}"]
        return []


# Negative controls: commands that break one rule each, and the problem the checks must
# report for them. They run before the corpus, so a check that cannot fail is caught.
CONTROLS = {
    "escape": (["/bin/cat", "{corpus}/_outside/secret.bin"], "touched"),
    "partial_output": (["/bin/sh", "-c", "mkdir -p {out}/host; echo 'sh: error: x.bin: bad' >&2; "
                        "exit 2"], "output dir exists"),
    "sanitizer": (["/bin/sh", "-c", "echo 'sh: error: x.bin: bad' >&2; "
                   "echo '==1==ERROR: AddressSanitizer: heap-use-after-free' >&2; exit 2"],
                  "sanitizer report"),
    "two_lines": (["/bin/sh", "-c", "echo 'sh: error: x.bin: bad' >&2; echo more >&2; exit 2"],
                  "2 lines"),
    "signal": (["/bin/sh", "-c", "kill -SEGV $$"], "killed by a signal"),
}


def run_controls(runner, root):
    """Runs CONTROLS; returns the names whose expected problem was not reported."""
    missed = []
    for name, (cmd, want) in CONTROLS.items():
        d = root / name
        d.mkdir(parents=True, exist_ok=True)
        args = [a.replace("{corpus}", str(runner.corpus)) for a in cmd[1:]]
        spec = {"name": f"_control_{name}", "tool": cmd[0], "args": args, "expect_exit": 2,
                "file": "x.bin", "fragments": ["bad"]}
        (d / "case.json").write_text(json.dumps(spec))
        _, problems, _ = runner.check(d)
        if not any(want in p for p in problems):
            if want != "touched" or runner.strace:
                missed.append(f"{name} (want '{want}', got {problems})")
    shutil.rmtree(root, ignore_errors=True)
    return missed


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-dir", type=Path,
                        default=Path(os.environ.get("DS_BUILD_DIR", REPO / "build")))
    parser.add_argument("--corpus", type=Path, help="default: BUILD/tests/hostile/corpus")
    parser.add_argument("--generate", action="store_true", help="run make_corpus.py first")
    parser.add_argument("-k", dest="select", help="only cases whose name contains this")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("-v", dest="verbose", action="store_true",
                        help="print every case's error line (or last stdout line)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per run")
    args = parser.parse_args()
    build = args.build_dir.resolve()
    corpus = (args.corpus or build / "tests" / "hostile" / "corpus").resolve()
    if args.generate:
        subprocess.run([sys.executable, str(Path(__file__).with_name("make_corpus.py")),
                        str(corpus), "--build-dir", str(build)], check=True)
    cases = sorted(d for d in corpus.iterdir() if (d / "case.json").is_file()) \
        if corpus.is_dir() else []
    if args.select:
        cases = [d for d in cases if args.select in d.name]
    if not cases:
        sys.exit(f"run_corpus: no cases in {corpus} (run with --generate)")
    scratch = corpus.parent / "scratch"
    runner = Runner(build, corpus, scratch.resolve(), args.timeout)
    notes = []
    if not runner.strace:
        notes.append("strace missing or not permitted: opened files NOT checked")
    if runner.sanitized:
        notes.append("sanitizer build: peak-RSS bound not checked")
    missed = run_controls(runner, runner.scratch / "_controls")
    if missed:
        sys.exit("run_corpus: the checks missed negative controls: " + "; ".join(missed))
    with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
        results = list(pool.map(runner.check, cases))
    if args.verbose:
        for name, problems, line in results:
            print(f"{'FAIL' if problems else 'ok'} {name}: {line[:300]}")
    failures = [(n, p) for n, p, _ in results if p]
    print(f"hostile corpus: {len(results) - len(failures)}/{len(results)} cases passed"
          + (f" ({'; '.join(notes)})" if notes else ""))
    for name, problems in failures:
        print(f"FAIL {name}: {'; '.join(problems)}")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
