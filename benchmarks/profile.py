"""Where issuegraph's CPU goes under W1 and W2: py-spy on the served process, by library.

    .venv/bin/python -m benchmarks.profile [--seconds 10] [--concurrency 1] [--db-name NAME]
    make profile PROFILE_ARGS="--seconds 10 --concurrency 16"

1. The bench database (ISSUEGRAPH_BENCH_DB_NAME or --db-name) is reused when seeded, else
   created and seeded (`issuegraph seed --bench`), as `benchmarks.run --reuse-db` does.
2. `issuegraph serve` (one process) starts on the production settings of the load benchmark
   (benchmarks/servers.py: rate limiter on, INFO JSON access log into
   results/profile-<stem>-logs/, metrics), pinned to the server CPU (0); wrk runs on CPU 1.
3. Per workload (W1, then W2 with a random issue per request): a warm-up, then wrk for
   --seconds without the profiler (req/s and server CPU ms per request), then wrk again with
   `py-spy record --format raw` attached to the server for --seconds (needs root or ptrace
   rights; `--native` by default, so time in uvloop, asyncpg's and SQLAlchemy's Cython and
   orjson is seen as theirs).
4. Each sample is put in the bucket of its innermost frame's file (sqlalchemy, asyncpg,
   strawberry, graphql-core, ..., our packages app/, execution/, resolvers/, ...; see
   BUCKETS). Native frames of the interpreter itself or libc (a dict lookup, a malloc) are
   charged to the nearest frame outward that has a bucket, as a pure-Python profile would.
   Also printed: for each bucket the share of samples whose stack contains a frame of it
   ("inclusive": most time is spent in libraries called from our code), and the 25 innermost
   functions that take most samples.
5. results/profile-<stem>-<workload>.txt (py-spy's collapsed stacks, "frame;frame;... count",
   root first, paths shortened; flamegraph.pl and speedscope read it) and .json (the summary).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from benchmarks import benchdb, load, workloads
from benchmarks.common import REPO, RESULTS, W2_NUMBERS, BenchError, cores, load_settings
from benchmarks.servers import Server, issuegraph_notes, spec

OURS = ("app", "execution", "resolvers", "schema", "services", "db", "jobs")
# Top-level package (site-packages, or a native frame's path component) -> bucket.
LIBRARIES = {
    "sqlalchemy": "sqlalchemy",
    "asyncpg": "asyncpg",
    "strawberry": "strawberry",
    "graphql": "graphql-core",
    "starlette": "starlette/fastapi/uvicorn",
    "fastapi": "starlette/fastapi/uvicorn",
    "uvicorn": "starlette/fastapi/uvicorn",
    "structlog": "structlog/logging",
    "prometheus_client": "prometheus_client",
    "redis": "redis",
    "hiredis": "redis",
    "orjson": "orjson",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "pydantic_settings": "pydantic",
    "uvloop": "uvloop/httptools",
    "httptools": "uvloop/httptools",
    "libuv": "uvloop/httptools",
    "llhttp": "uvloop/httptools",
}
# First component under the standard library directory -> bucket (else "other stdlib").
STDLIB = {"asyncio": "asyncio", "selectors.py": "asyncio", "logging": "structlog/logging"}
# CPython's C accelerators of those (native frames).
STDLIB_NATIVE = {
    "_asynciomodule.c": "asyncio",
    "selectmodule.c": "asyncio",
}
BUCKETS = (
    *dict.fromkeys(LIBRARIES.values()),
    "asyncio",
    *(f"{p}/" for p in OURS),
    "other stdlib",
    "other",
)
# Native frames with no bucket of their own: the interpreter and the C library. Charged to
# the nearest frame outward that has one.
_RUNTIME = re.compile(
    r"/(Objects|Python|Include|Parser|Modules)/|/include/python3|^\?$|^$|"
    r"/(libc|libpthread|libm|ld-linux[^/]*|libpython[^/]*|libgcc[^/]*|libstdc\+\+[^/]*)"
    r"\.so(\.[\d.]+)?$|^0x[0-9a-f]+$"
)
_LAUNCHER = ("app/cli.py",)
# py-spy leaves out threads it sees idle, but not always a loop blocked in its poll: a sample
# whose innermost frame is one of these waits is dropped (and counted as idle).
IDLE_NATIVE = frozenset(
    {
        "epoll_wait",
        "epoll_pwait",
        "epoll_pwait2",
        "poll",
        "__poll",
        "ppoll",
        "select",
        "__select",
        "pselect",
        "pselect6",
        "pthread_cond_wait",
        "pthread_cond_timedwait",
        "__futex_abstimed_wait_common",
        "futex_wait",
        "sem_wait",
        "sem_timedwait",
        "nanosleep",
        "clock_nanosleep",
    }
)
# The same waits seen as Python frames (--no-native): the selectors module's poll.
IDLE_PYTHON = (("select", "/selectors.py"), ("wait", "/threading.py"))


@dataclass
class Classifier:
    """Bucket of a frame from its file path (py-spy --full-filenames)."""

    stdlib_dirs: list[str]
    repo: str = str(REPO)
    cache: dict[str, str | None] = field(default_factory=dict)

    def bucket(self, path: str) -> str | None:
        """The bucket, or None for a native frame of the interpreter or libc."""
        found = self.cache.get(path, "")
        if found == "":
            found = self.cache[path] = self._bucket(path)
        return found

    def _bucket(self, path: str) -> str | None:
        if path.startswith("<plan "):  # execution's generated functions (codegen)
            return "execution/"
        if path.startswith("<sqlalchemy"):
            return "sqlalchemy"
        if path.startswith("<frozen "):
            return "other stdlib"
        name = path.rsplit("/", 1)[-1]
        if name in STDLIB_NATIVE:
            return STDLIB_NATIVE[name]
        if _RUNTIME.search(path):
            return None
        parts = path.split("/")
        if "site-packages" in parts:
            below = parts[parts.index("site-packages") + 1 :]
            top = below[0].split(".", 1)[0]
            return LIBRARIES.get(top) or self._ours("/".join(below)) or "other"
        if path.startswith(self.repo + "/"):
            return self._ours(path[len(self.repo) + 1 :]) or "other"
        for directory in self.stdlib_dirs:
            if path.startswith(directory + "/"):
                top = path[len(directory) + 1 :].split("/", 1)[0]
                return STDLIB.get(top, "other stdlib")
        # A native frame of an extension: a component of its build path or its shared
        # object's name names the package (/project/uvloop/loop.c, orjson.cpython-311-...so).
        for part in parts:
            key = part.split(".", 1)[0]
            if key.startswith("libuv"):
                key = "libuv"
            if key in LIBRARIES:
                return LIBRARIES[key]
        return "other"

    @staticmethod
    def _ours(relative: str) -> str | None:
        top = relative.split("/", 1)[0]
        return f"{top}/" if top in OURS and "/" in relative else None


def parse_frame(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame "function (file:line)"."""
    function, _, rest = frame.rpartition(" (")
    if not function:
        return frame, ""
    location = rest[:-1] if rest.endswith(")") else rest
    path, _, line = location.rpartition(":")
    return function, path if line.isdigit() else location


def is_idle(frame: tuple[str, str]) -> bool:
    function, path = frame
    if function in IDLE_NATIVE and (".so" in path or not path):
        return True
    return any(function.endswith(f) and path.endswith(p) for f, p in IDLE_PYTHON)


def past_event_loop(frames: list[tuple[str, str]], buckets: list[str | None]) -> int:
    """Index of the first frame below the server's start-up and its event loop.

    Every sample of the served process starts the same way (the `issuegraph` script,
    app/cli.py, typer, uvicorn.run, asyncio's Runner.run, then the loop: uvloop's or
    asyncio's run_forever, a handle, a task step): those frames would make uvicorn, asyncio
    and uvloop 100% "inclusive". Inclusive shares count from the first frame after them."""
    runner = next(
        (i for i, (_, path) in enumerate(frames) if path.endswith("asyncio/runners.py")), None
    )
    if runner is None:
        return 0
    i = runner + 1
    while i < len(frames) and buckets[i] in (None, "uvloop/httptools", "asyncio"):
        i += 1
    return i


def aggregate(raw: str, classifier: Classifier) -> dict[str, Any]:
    """Own (innermost) and inclusive shares per bucket, and the top innermost functions."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    others: Counter[str] = Counter()
    charged_outward = 0
    total = idle = 0
    for line in raw.splitlines():
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [parse_frame(f) for f in stack.split(";")]
        if is_idle(frames[-1]):
            idle += count
            continue
        total += count
        buckets = [classifier.bucket(path) for _, path in frames]
        innermost = next(
            (i for i in range(len(frames) - 1, -1, -1) if buckets[i] is not None), None
        )
        if innermost is None:
            own["other"] += count
            functions["(native only)"] += count
            continue
        if innermost != len(frames) - 1:
            charged_outward += count
        bucket = buckets[innermost]
        assert bucket is not None
        own[bucket] += count
        function, path = frames[innermost]
        functions[f"{function} ({shorten(path, classifier)})"] += count
        if bucket == "other":
            others[shorten(path, classifier).split("/", 1)[0]] += count
        keep = past_event_loop(frames, buckets)
        seen = {
            b
            for (_, path), b in zip(frames[keep:], buckets[keep:], strict=True)
            if b is not None and not any(path.endswith("/" + x) for x in _LAUNCHER)
        }
        seen.add(bucket)
        for b in seen:
            inclusive[b] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"name": k, "samples": v, "percent": round(100 * v / total, 1) if total else 0.0}
            for k, v in counter.most_common()
        ]

    return {
        "samples": total,
        "idle_samples_dropped": idle,
        "own": share(own),
        "inclusive": share(inclusive),
        "top_functions": share(functions)[:25],
        "other_breakdown": share(others)[:15],
        "native_runtime_charged_outward_percent": (
            round(100 * charged_outward / total, 1) if total else 0.0
        ),
    }


def shorten(path: str, classifier: Classifier) -> str:
    if path.startswith(classifier.repo + "/"):
        path = path[len(classifier.repo) + 1 :]
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1]
    for directory in classifier.stdlib_dirs:
        if path.startswith(directory + "/"):
            return "stdlib/" + path[len(directory) + 1 :]
    return path


STARTUP_FRAME = "start-up (issuegraph serve ... asyncio Runner.run)"


def shorten_stacks(raw: str, classifier: Classifier) -> str:
    """The collapsed stacks, smaller: the frames of the start-up (the `issuegraph` script down
    to asyncio's Runner.run, the same on every stack) become one frame, and the long directory
    prefixes are cut (site-packages/, the standard library's, the repository's)."""
    prefixes = sorted(
        {*(f"{d}/" for d in classifier.stdlib_dirs), f"{classifier.repo}/"},
        key=len,
        reverse=True,
    )
    lines = []
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        runner = next(
            (i for i, f in enumerate(frames) if "asyncio/runners.py:" in f.rsplit(" (", 1)[-1]),
            None,
        )
        if runner is not None:
            frames = [STARTUP_FRAME, *frames[runner + 1 :]]
        text = re.sub(r"\([^();]*/site-packages/", "(", ";".join(frames))
        for prefix in prefixes:
            label = "" if prefix == f"{classifier.repo}/" else "stdlib/"
            text = text.replace(f"({prefix}", f"({label}")
        lines.append(f"{text} {count}")
    return "\n".join(lines) + "\n"


def stdlib_dirs(python: Path) -> list[str]:
    """The standard library directories of the server's Python (sysconfig)."""
    code = "import json, sysconfig; p = sysconfig.get_paths(); print(json.dumps(p))"
    result = subprocess.run(  # noqa: S603 - our argv
        [str(python), "-c", code], capture_output=True, text=True, check=True
    )
    paths = json.loads(result.stdout)
    return sorted({paths["stdlib"], paths["platstdlib"]}, key=len, reverse=True)


def find_py_spy() -> str:
    for candidate in (Path(sys.executable).parent / "py-spy", shutil.which("py-spy")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    raise BenchError("py-spy not found: `make venv` installs it (make profile does it).")


def cpu_seconds(pid: int) -> float:
    proc = psutil.Process(pid)
    total: float = sum(proc.cpu_times()[:2])
    for child in proc.children(recursive=True):
        with contextlib.suppress(psutil.Error):
            total += sum(child.cpu_times()[:2])
    return total


def drive(
    wrk: str,
    server: Server,
    text: str,
    numbers: tuple[int, int] | None,
    token: str,
    args: argparse.Namespace,
    load_cpus: str,
    seconds: float,
) -> dict[str, Any]:
    """One wrk run of ``seconds``; adds server CPU ms per request."""
    assert server.process is not None
    before = cpu_seconds(server.process.pid)
    point = load.run_wrk(
        wrk,
        server.spec.url,
        text,
        token,
        connections=args.concurrency,
        duration=seconds,
        cpus=load_cpus,
        numbers=numbers,
    )
    used = cpu_seconds(server.process.pid) - before
    requests = point.get("requests") or 0
    point["server_cpu_seconds"] = round(used, 3)
    point["server_cpu_ms_per_request"] = round(used * 1000 / requests, 2) if requests else None
    return point


def figures(point: dict[str, Any]) -> dict[str, Any]:
    keys = ("ok", "problem", "requests", "duration_s", "rps", "p50_ms", "p99_ms")
    return {k: point.get(k) for k in (*keys, "server_cpu_ms_per_request", "server_cpu_seconds")}


def profile_workload(
    workload: workloads.Workload,
    server: Server,
    token: str,
    wrk: str,
    py_spy: str,
    classifier: Classifier,
    args: argparse.Namespace,
    load_cpus: str,
    out: Path,
) -> dict[str, Any]:
    sent = workloads.load_body("contract", workload)
    fixed = workloads.body("contract", workload)
    assert sent is not None
    assert fixed is not None
    text, numbers = sent
    status, answer = server.post(fixed)
    ok, problem, _ = workloads.check_answer("contract", workload, answer)
    if not ok:
        raise BenchError(f"{workload.name}: wrong answer (HTTP {status}): {problem}")
    log(f"{workload.name}: warm-up {args.warmup} s at c={args.concurrency}")
    load.run_wrk(
        wrk,
        server.spec.url,
        text,
        token,
        connections=args.concurrency,
        duration=args.warmup,
        cpus=load_cpus,
        numbers=numbers,
    )
    log(f"{workload.name}: {args.seconds} s without the profiler")
    plain = drive(wrk, server, text, numbers, token, args, load_cpus, args.seconds)
    log(
        f"  {plain.get('rps')} req/s, {plain.get('server_cpu_ms_per_request')} ms server CPU "
        "per request"
    )

    assert server.process is not None
    stacks = Path(f"{out}.txt")
    raw_file = out.parent / f".{out.name}.raw"
    argv = [
        py_spy,
        "record",
        "--pid",
        str(server.process.pid),
        "--duration",
        str(args.seconds),
        "--rate",
        str(args.rate),
        "--format",
        "raw",
        "--output",
        str(raw_file),
        "--full-filenames",
        "--function",
        "--subprocesses",
    ]
    if args.native:
        argv.append("--native")
    if args.nonblocking:
        argv.append("--nonblocking")
    # wrk runs a second longer than py-spy samples, so every sample sees the load.
    result: dict[str, Any] = {}
    driver = threading.Thread(
        target=lambda: result.update(
            drive(wrk, server, text, numbers, token, args, load_cpus, args.seconds + 2)
        )
    )
    log(f"{workload.name}: {args.seconds} s under py-spy ({' '.join(argv[1:])})")
    driver.start()
    time.sleep(0.5)
    spy = subprocess.run(argv, capture_output=True, text=True, check=False)  # noqa: S603
    driver.join()
    if spy.returncode != 0 or not raw_file.exists():
        raise BenchError(
            f"py-spy failed ({spy.returncode}): {(spy.stderr or spy.stdout)[-1500:]}\n"
            "It needs root or ptrace permission (kernel.yama.ptrace_scope=0, or CAP_SYS_PTRACE)."
        )
    raw = raw_file.read_text()
    raw_file.unlink()
    summary = aggregate(raw, classifier)
    wall = plain.get("duration_s") or 0
    taken = summary["samples"] + summary["idle_samples_dropped"]
    summary["check"] = {
        # The share of samples that found the server busy, and its CPU time per wall second
        # without the profiler (py-spy pauses the process to sample it, so the profiled run's
        # own CPU share is lower). Far apart: idle samples kept, or busy ones missed.
        "busy_sample_share": round(summary["samples"] / taken, 2) if taken else None,
        "server_cpu_share": round(plain["server_cpu_seconds"] / wall, 2) if wall else None,
    }
    summary.update(
        workload=workload.name,
        description=workload.description,
        concurrency=args.concurrency,
        seconds=args.seconds,
        rate_hz=args.rate,
        native=args.native,
        nonblocking=args.nonblocking,
        without_profiler=figures(plain),
        under_profiler=figures(result),
        stacks_file=str(
            stacks.relative_to(REPO) if stacks.resolve().is_relative_to(REPO) else stacks
        ),
    )
    stacks.write_text(shorten_stacks(raw, classifier))
    return summary


def render(summary: dict[str, Any]) -> str:
    plain, spied = summary["without_profiler"], summary["under_profiler"]
    lines = [
        f"== {summary['workload']}: {summary['description']}",
        f"c={summary['concurrency']}; without py-spy {plain['rps']} req/s, "
        f"{plain['server_cpu_ms_per_request']} ms server CPU/request (p50 {plain['p50_ms']} ms); "
        f"under py-spy {spied['rps']} req/s, {spied['server_cpu_ms_per_request']} ms/request"
        + (
            ""
            if plain["ok"] and spied["ok"]
            else f"  FAILED: {plain['problem']} {spied['problem']}"
        ),
        f"{summary['samples']} samples at {summary['rate_hz']} Hz over {summary['seconds']} s "
        f"({'native' if summary['native'] else 'Python frames only'}; "
        f"{summary['idle_samples_dropped']} idle ones dropped; "
        f"{summary['native_runtime_charged_outward_percent']}% had an interpreter/libc frame "
        "innermost, charged to its caller)",
        f"busy samples {summary['check']['busy_sample_share']} of all, server CPU "
        f"{summary['check']['server_cpu_share']} s per second without py-spy (close: the "
        "samples are the CPU time)",
        "",
        "CPU by library (innermost frame)          own %   inclusive %",
    ]
    inclusive = {row["name"]: row["percent"] for row in summary["inclusive"]}
    for row in summary["own"]:
        lines.append(
            f"  {row['name']:<38} {row['percent']:6.1f}   {inclusive.get(row['name'], 0.0):6.1f}"
        )
    ours = [f"{p}/" for p in OURS]
    lines += [
        "",
        "Inclusive: samples with a frame of it on the stack below the start-up and the event "
        "loop (which are on every stack).",
        "",
        "Our code, inclusive:",
    ]
    for name in sorted(ours, key=lambda n: -inclusive.get(n, 0.0)):
        lines.append(f"  {name:<38} {inclusive.get(name, 0.0):6.1f}")
    if summary["other_breakdown"]:
        lines += [
            "",
            "'other' by top-level package: "
            + ", ".join(f"{r['name']} {r['percent']}%" for r in summary["other_breakdown"][:8]),
        ]
    lines += ["", "Top 25 innermost functions:"]
    for row in summary["top_functions"]:
        lines.append(f"  {row['percent']:5.1f}%  {row['name'][:150]}")
    lines.append("")
    return "\n".join(lines)


T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.profile",
        description="CPU profile of issuegraph under W1 and W2, by library (py-spy)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="sampling seconds (10)")
    parser.add_argument("--concurrency", type=int, default=1, help="wrk -c (1)")
    parser.add_argument("--workloads", default="W1,W2", help="W1,W1-small,W2 (W1,W2)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds (2)")
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples per second (100)")
    parser.add_argument(
        "--native",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="py-spy --native: C/Cython/Rust frames (uvloop, asyncpg, orjson) (on)",
    )
    parser.add_argument(
        "--nonblocking", action="store_true", help="py-spy --nonblocking (less overhead)"
    )
    parser.add_argument("--db-name", default=None, help="bench database (issuegraph_bench_run)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--stem", default=None, help="profile-<stem>-<workload> (the date)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    by_name = {w.name: w for w in workloads.HTTP_WORKLOADS if not w.writes}
    chosen = [w.strip() for w in args.workloads.split(",") if w.strip()]
    if unknown := [w for w in chosen if w not in by_name]:
        raise BenchError(f"unknown or unsupported workloads {unknown}; choose from {list(by_name)}")
    stem = args.stem or datetime.now(UTC).strftime("%Y-%m-%d")
    settings = load_settings(args.db_name)
    server_cpus, load_cpus = cores()
    wrk = load.ensure_wrk(log)
    py_spy = find_py_spy()
    classifier = Classifier(stdlib_dirs(settings.python))
    log(f"database {settings.db_name}: reusing it if seeded, else seeding ..")
    data = benchdb.prepare(settings, reuse=True)
    benchdb.check_read_issues(settings, *W2_NUMBERS)
    log_dir = args.out_dir / f"profile-{stem}-logs"
    if log_dir.exists():
        shutil.rmtree(log_dir)
    log_dir.mkdir(parents=True)
    server_spec = spec("issuegraph", settings, 1, server_cpus)
    with Server(server_spec, log_dir, data.token) as server:
        server.start()
        probe = workloads.body("contract", workloads.W1_SMALL)
        assert probe is not None
        server.wait_ready(probe)
        log(
            f"issuegraph serve pid {server.process.pid if server.process else '?'}, CPU "
            f"{server_cpus}; wrk on CPU {load_cpus}; log {server.log_path}"
        )
        for name in chosen:
            out = args.out_dir / f"profile-{stem}-{name}"
            summary = profile_workload(
                by_name[name], server, data.token, wrk, py_spy, classifier, args, load_cpus, out
            )
            summary.update(
                server_argv=server_spec.argv,
                server_settings=issuegraph_notes(),
                database=settings.db_name,
                server_cpus=server_cpus,
                load_cpus=load_cpus,
                started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            )
            text = render(summary)
            summary["summary_text"] = text
            print(text, flush=True)
            Path(f"{out}.json").write_text(json.dumps(summary, indent=2) + "\n")
            log(f"wrote {out}.txt and {out}.json")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"\nprofile failed: {error}", file=sys.stderr)
        sys.exit(1)
