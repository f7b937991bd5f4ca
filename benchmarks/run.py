"""The benchmark harness behind `make bench` (issues #5 and #12).

    .venv/bin/python -m benchmarks.run [--workers 1] [--reuse-db] [--servers issuegraph,floor]

1. wrk (apt-get installs it when missing and we are root), PostGraphile 4 (npm install into
   benchmarks/postgraphile), the legacy layer's .venv-legacy (from
   benchmarks/legacy/requirements.lock; the minimal server runs in it too); a server that
   cannot be had is left out, with the reason in the report.
2. The database ISSUEGRAPH_BENCH_DB_NAME (issuegraph_bench_run) next to
   ISSUEGRAPH_BENCH_DATABASE_URL (an admin URL, default
   postgresql://postgres@127.0.0.1:5432/postgres) is dropped, created, migrated and seeded with
   `issuegraph seed --bench` (or reused with --reuse-db); W2's issue range is checked in it.
3. SQL statements per request: with ``log_statement = 'all'`` on that database, every server
   is started, warmed up and sent exactly one request of each workload; the statements
   PostgreSQL logged for it are counted (benchmarks/sqlcount.py). Logging is then switched off.
4. Load: each server in turn is started (pinned to CPU 0, same process count, its output in
   results/<stem>-logs/; issuegraph on its production path, see servers.ISSUEGRAPH_SETTINGS),
   checked to answer with the same rows as the others, warmed up, and driven by wrk (pinned to
   CPU 1; W2 with a random issue per request) at each concurrency for each workload; peak RSS
   of its process tree is sampled throughout. For issuegraph: its rate-limit headers, access
   log lines and /metrics afterwards.
5. W4 against issuegraph with one `issuegraph worker` (benchmarks/jobs_load.py).
6. benchmarks/results/<stem>.json, .md and .png (benchmarks/report.py), with issue 12's
   targets.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shlex
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks import benchdb, load, report, sqlcount, workloads
from benchmarks.common import (
    POSTGRAPHILE_DIR,
    REPO,
    RESULTS,
    W2_CHECK_NUMBERS,
    W2_NUMBERS,
    BenchError,
    Settings,
    cores,
    load_settings,
)
from benchmarks.servers import (
    ALL_SERVERS,
    DIALECTS,
    EXECUTION_ENGINES,
    ISSUEGRAPH_SETTINGS,
    KNOWN_SERVERS,
    LEGACY_ENV_SERVERS,
    QUEUE_NAME,
    Server,
    ServerSpec,
    Unavailable,
    ensure_legacy_venv,
    ensure_postgraphile,
    issuegraph_settings_env,
    spec,
)

T0 = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.run", description="issuegraph benchmark harness (make bench)"
    )
    parser.add_argument("--workers", type=int, default=1, help="processes per server (1)")
    parser.add_argument(
        "--servers",
        default=",".join(ALL_SERVERS),
        help="comma-separated subset; also issuegraph-traced (tracing on, not run by default)",
    )
    parser.add_argument("--concurrency", default="1,4,16,64", help="wrk -c values")
    parser.add_argument("--duration", type=float, default=5, help="seconds per load point (5)")
    parser.add_argument("--warmup", type=float, default=2, help="warm-up seconds per workload (2)")
    parser.add_argument("--workloads", default="W1,W1-small,W2,W3")
    parser.add_argument("--reuse-db", action="store_true", help="reuse a seeded bench database")
    parser.add_argument("--db-name", default=None, help="bench database (issuegraph_bench_run)")
    parser.add_argument("--skip-sql-count", action="store_true")
    parser.add_argument("--skip-jobs", action="store_true", help="no W4 (and no import)")
    parser.add_argument("--jobs", type=int, default=200, help="W4 triage jobs (200)")
    parser.add_argument("--import-rows", type=int, default=10_000, help="0: no import")
    parser.add_argument("--poll-delay", type=float, default=0.01, help="worker poll delay (s)")
    parser.add_argument("--out-dir", type=Path, default=RESULTS)
    parser.add_argument("--stem", default=None, help="output file name (default: the date)")
    return parser.parse_args(argv)


def _version(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=10)  # noqa: S603
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def busy_processes(seconds: float = 1.0, threshold: float = 10.0) -> list[dict[str, Any]]:
    """Other processes using CPU right now (they share the two cores with the benchmark)."""
    me = os.getpid()
    procs = []
    for proc in psutil.process_iter(["pid", "cmdline", "name"]):
        with contextlib.suppress(psutil.Error):
            proc.cpu_percent(None)
            procs.append(proc)
    time.sleep(seconds)
    busy = []
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            percent = proc.cpu_percent(None)
            if percent >= threshold and proc.pid != me:
                cmd = " ".join(proc.info["cmdline"] or [proc.info["name"] or "?"])
                busy.append({"pid": proc.pid, "cpu_percent": round(percent), "cmd": cmd[:160]})
    return sorted(busy, key=lambda p: -p["cpu_percent"])


def machine_info(wrk: str, pg: dict[str, Any]) -> dict[str, Any]:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "node": _version(["node", "--version"]),
        "wrk": load.wrk_version(wrk),
        "postgres": pg.get("server_version"),
        "loadavg_at_start": [round(x, 2) for x in os.getloadavg()],
        "busy_processes_at_start": busy_processes(),
    }


def wait_idle(server: Server, threshold: float = 5.0, max_wait: float = 30.0) -> float:
    """Until the server's process tree stops using CPU (a sync server may still be working
    through requests wrk abandoned); returns the seconds waited."""
    started = time.monotonic()
    assert server.process is not None
    try:
        root = psutil.Process(server.process.pid)
    except psutil.Error:
        return 0.0
    quiet = 0
    while time.monotonic() - started < max_wait:
        try:
            procs = [root, *root.children(recursive=True)]
            before = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
            time.sleep(0.25)
            after = sum(p.cpu_times().user + p.cpu_times().system for p in procs)
        except psutil.Error:
            return time.monotonic() - started
        busy = (after - before) / 0.25 * 100
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= 1:
            break
    return round(time.monotonic() - started, 2)


def probe_body(server_spec: ServerSpec) -> dict[str, Any]:
    body = workloads.body(server_spec.dialect, workloads.W1_SMALL)
    assert body is not None
    return body


def write_project_id(server: Server) -> str | None:
    body = workloads.project_id_body(server.spec.dialect)
    if body is None:
        return None
    status, answer = server.post(body)
    if status != 200:
        return None
    return workloads.extract_project_id(answer)


def count_sql(
    specs: dict[str, ServerSpec],
    settings: Settings,
    token: str,
    chosen: list[workloads.Workload],
    log_dir: Path,
    results: dict[str, Any],
) -> None:
    info = results["postgres"]
    path = sqlcount.find_log_file(info)
    if path is None:
        results["sql_problem"] = "no PostgreSQL log file found (set ISSUEGRAPH_BENCH_PG_LOG)"
        return
    try:
        statement_log = sqlcount.StatementLog(path, settings.db_name, info.get("log_line_prefix"))
    except BenchError as error:
        results["sql_problem"] = str(error)
        log(f"SQL counting skipped: {error}")
        return
    results["sql_log"] = str(path)
    benchdb.enable_statement_logging(settings)
    try:
        for name, server_spec in specs.items():
            log(f"SQL count: {name}")
            try:
                results["sql"][name] = count_server_sql(
                    server_spec, token, chosen, log_dir, statement_log
                )
            except BenchError as error:
                log(f"  {name} failed: {error}")
                results["notes"].append(f"SQL count of {name} failed: {str(error)[:300]}")
    finally:
        benchdb.disable_statement_logging(settings)


def count_server_sql(
    server_spec: ServerSpec,
    token: str,
    chosen: list[workloads.Workload],
    log_dir: Path,
    statement_log: sqlcount.StatementLog,
) -> dict[str, Any]:
    counts: dict[str, Any] = {}
    with Server(server_spec, log_dir, token) as server:
        server.start()
        server.wait_ready(probe_body(server_spec))
        project_id = write_project_id(server)
        bodies = {w.name: workloads.body(server_spec.dialect, w, project_id) for w in chosen}
        # Warm-up, right before each count: every pooled connection opened and its driver
        # caches (type introspection, prepared statements) filled before anything is counted.
        # The pool hands connections out in turn, so another workload's requests in between
        # would shift which connection each statement of the counted request lands on (one
        # its warm-up never gave that statement). 25 rounds cover a pool of 10 twice.
        for w in chosen:
            body = bodies[w.name]
            if body is None:
                continue
            for _ in range(1 if w.writes else 25):
                server.post(body)
            (status, answer), capture = statement_log.capture(lambda b=body: server.post(b))
            ok, problem, _ = workloads.check_answer(server_spec.dialect, w, answer)
            entry = capture.summary()
            entry.update(http_status=status, answer_ok=ok, problem=problem)
            counts[w.name] = entry
            log(f"  {w.name}: {entry['data_statements']} data statements {entry['by_kind']}")
    return counts


def run_worker(
    settings: Settings, poll_delay: float, cpus: str, log_dir: Path
) -> subprocess.Popen[bytes]:
    exe = settings.python.parent / "issuegraph"
    handle = (log_dir / "worker.log").open("ab")
    argv = ["taskset", "-c", cpus, str(exe), "worker"]
    process = subprocess.Popen(  # noqa: S603 - our argv, no shell
        argv,
        env=issuegraph_settings_env(settings, poll_delay=poll_delay),
        cwd=REPO,
        stdout=handle,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    handle.close()
    return process


def stop_process(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def run_jobs(
    server: Server, settings: Settings, token: str, args: argparse.Namespace, log_dir: Path
) -> dict[str, Any]:
    server_cpus, load_cpus = cores()
    worker = run_worker(settings, args.poll_delay, server_cpus, log_dir)
    try:
        time.sleep(1.0)
        if worker.poll() is not None:
            return {
                "error": f"issuegraph worker exited ({worker.returncode}); see {log_dir}/worker.log"
            }
        argv = [
            "taskset",
            "-c",
            load_cpus,
            str(settings.python),
            "-m",
            "benchmarks.jobs_load",
            "--url",
            server.spec.url,
            "--token",
            token,
            "--database-url",
            settings.database_url,
            "--jobs",
            str(args.jobs),
            "--import-rows",
            str(args.import_rows),
        ]
        result = subprocess.run(  # noqa: S603 - our argv, no shell
            argv, capture_output=True, text=True, cwd=REPO, check=False, timeout=400
        )
        if result.returncode != 0:
            return {"error": f"jobs_load failed: {result.stderr[-1500:]}"}
        return json.loads(result.stdout.strip().splitlines()[-1])
    finally:
        stop_process(worker)


def check_server_answers(
    server: Server, workload: workloads.Workload, fixed: dict[str, Any]
) -> dict[str, Any]:
    """The answer check before the load: ``fixed`` (W1, W1-small, W3), or for W2 each issue of
    W2_CHECK_NUMBERS, whose rows are compared across servers."""
    dialect = server.spec.dialect
    if workload is not workloads.W2:
        status, answer = server.post(fixed)
        ok, problem, rows = workloads.check_answer(dialect, workload, answer)
        return {"ok": ok, "problem": problem, "http_status": status, "rows": rows}
    all_rows: list[Any] = []
    for number in W2_CHECK_NUMBERS:
        body = workloads.body(dialect, workload, number=number)
        assert body is not None
        status, answer = server.post(body)
        ok, problem, rows = workloads.check_answer(dialect, workload, answer)
        if not ok or status != 200:
            return {
                "ok": False,
                "problem": f"issue {number}: HTTP {status}, {problem}",
                "http_status": status,
                "rows": None,
                "numbers": list(W2_CHECK_NUMBERS),
            }
        all_rows += rows
    return {
        "ok": True,
        "problem": "",
        "http_status": 200,
        "rows": all_rows,
        "numbers": list(W2_CHECK_NUMBERS),
    }


def rate_limit_headers(server: Server, body: dict[str, Any]) -> dict[str, Any]:
    """One request's X-RateLimit-* headers (the limiter is on: they must be there)."""
    _, _, headers = server.post_with_headers(body)
    before = headers.get("x-ratelimit-remaining")
    _, _, headers = server.post_with_headers(body)
    after = headers.get("x-ratelimit-remaining")
    cost = int(before) - int(after) if before and after else None
    return {"limit": headers.get("x-ratelimit-limit"), "remaining": after, "cost_points": cost}


def production_check(server: Server) -> dict[str, Any]:
    """After the load: access-log lines written, requests counted by /metrics."""
    check: dict[str, Any] = {
        "log_file": str(server.log_path),
        "http_request_log_lines": server.count_log_lines("http.request"),
        "slow_request_log_lines": server.count_log_lines("http.slow_request"),
    }
    try:
        response = server.get("/metrics")
        requests = sum(
            float(line.rsplit(" ", 1)[1])
            for line in response.text.splitlines()
            if line.startswith("issuegraph_request_duration_seconds_count")
        )
        check["metrics_status"] = response.status_code
        check["metrics_requests"] = int(requests)
    except (httpx.HTTPError, ValueError, IndexError) as error:
        check["metrics_status"] = repr(error)
    return check


def load_server(
    server_spec: ServerSpec,
    token: str,
    chosen: list[workloads.Workload],
    args: argparse.Namespace,
    wrk: str,
    log_dir: Path,
    results: dict[str, Any],
    settings: Settings,
) -> None:
    name = server_spec.name
    _, load_cpus = cores()
    concurrency = results["config"]["concurrency"]
    server_results: dict[str, Any] = {}
    with Server(server_spec, log_dir, token) as server:
        server.start()
        started = time.monotonic()
        server.wait_ready(probe_body(server_spec))
        info = results["servers"][name]
        info["startup_seconds"] = round(time.monotonic() - started, 2)
        assert server.sampler is not None
        info["idle_rss_mb"] = round(server.sampler.sample() / 2**20, 1)
        project_id = write_project_id(server)
        rate_limits: dict[str, Any] = {}
        for w in chosen:
            body = workloads.body(server_spec.dialect, w, project_id)
            if name in EXECUTION_ENGINES and body is not None and not w.writes:
                rate_limits[w.name] = rate_limit_headers(server, body)
            entry: dict[str, Any] = {"query_file": workloads.query_file(server_spec.dialect, w)}
            server_results[w.name] = entry
            sent = workloads.load_body(server_spec.dialect, w, project_id)
            if body is None or sent is None:
                entry["skipped"] = workloads.skip_reason(server_spec.dialect, w)
                continue
            text, numbers = sent
            entry["variables"] = body["variables"]
            if numbers is not None:
                entry["variables"] = "a random issue number of [{}, {}] on every request".format(
                    *numbers
                )
                entry["body_template"] = text
            entry["check"] = check_server_answers(server, w, body)
            if entry["check"]["rows"] is not None:
                results["_rows"].setdefault(w.name, {})[name] = entry["check"].pop("rows")
            if not entry["check"]["ok"]:
                log(
                    f"  {name} {w.name}: wrong answer ({entry['check']['problem']}); "
                    "measuring anyway"
                )
            load.run_wrk(
                wrk,
                server_spec.url,
                text,
                token,
                connections=16,
                duration=args.warmup,
                cpus=load_cpus,
                numbers=numbers,
            )
            wait_idle(server)
            server.sampler.take_window()
            points = []
            for c in concurrency:
                psutil.cpu_percent(percpu=True)
                cpu_before = server.cpu_seconds()
                point = load.run_wrk(
                    wrk,
                    server_spec.url,
                    text,
                    token,
                    connections=c,
                    duration=args.duration,
                    cpus=load_cpus,
                    numbers=numbers,
                    # another sequence than the warm-up's, the same on every server
                    seed=load.WRK_SEED + c,
                )
                point["cpu_busy_percent_per_core"] = psutil.cpu_percent(percpu=True)
                if point.get("duration_s"):
                    point["server_cpu_percent"] = round(
                        (server.cpu_seconds() - cpu_before) / point["duration_s"] * 100, 1
                    )
                point["peak_rss_mb"] = round(server.sampler.take_window() / 2**20, 1)
                point["drain_seconds"] = wait_idle(server)
                server.sampler.take_window()
                points.append(point)
                flag = "" if point.get("ok") else f"  FAILED: {point.get('problem')}"
                log(
                    f"  {name} {w.name} c={c}: {point.get('rps', 0):,.1f} req/s, "
                    f"p50 {point.get('p50_ms')} ms, p99 {point.get('p99_ms')} ms, "
                    f"RSS {point['peak_rss_mb']} MB{flag}"
                )
            entry["points"] = points
        info["peak_rss_mb"] = round(server.sampler.peak / 2**20, 1)
        sink = server.sidecar_stats()
        if sink is not None:
            info["otlp_sink"] = sink
            log(f"  {name}: the OTLP sink received {sink}")
        if name in EXECUTION_ENGINES:
            info["rate_limit"] = rate_limits
            info["production_check"] = production_check(server)
            log(f"  {name}: rate limit {rate_limits}; {info['production_check']}")
        results["load"][name] = server_results
        if name == "issuegraph" and not args.skip_jobs:
            log("W4: 200 triage jobs and the 10,000-row import (issuegraph + 1 worker)")
            try:
                results["jobs"] = run_jobs(server, settings, token, args, log_dir)
            except (subprocess.TimeoutExpired, ValueError, OSError) as error:
                results["jobs"] = {"error": repr(error)}
            jobs = results["jobs"]
            if "error" in jobs:
                log(f"  W4 failed: {jobs['error'][:500]}")
            else:
                log(
                    f"  W4: {jobs['jobs_per_second']} jobs/s, enqueue→start p50 "
                    f"{jobs['enqueue_to_start_ms']['p50']} ms, enqueue→SUCCEEDED p50 "
                    f"{jobs['enqueue_to_succeeded_ms']['p50']} / p99 "
                    f"{jobs['enqueue_to_succeeded_ms']['p99']} ms"
                    + (f"; import {jobs['import']['seconds']} s" if jobs.get("import") else "")
                )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    started_at = datetime.now(UTC)
    settings = load_settings(args.db_name)
    server_cpus, load_cpus = cores()
    requested = [s.strip() for s in args.servers.split(",") if s.strip()]
    unknown = set(requested) - set(KNOWN_SERVERS)
    if unknown:
        raise BenchError(f"unknown servers {sorted(unknown)}; choose from {KNOWN_SERVERS}")
    by_name = {w.name: w for w in workloads.HTTP_WORKLOADS}
    chosen = [by_name[w.strip()] for w in args.workloads.split(",") if w.strip()]
    stem = args.stem or started_at.strftime("%Y-%m-%d")
    # The servers' stdout/stderr (issuegraph's JSON access log) beside the run's results;
    # results/.gitignore keeps these out of git.
    log_dir = args.out_dir / f"{stem}-logs"
    if log_dir.exists():
        shutil.rmtree(log_dir)
    log_dir.mkdir(parents=True)
    log(f"server logs in {log_dir}")

    wrk = load.ensure_wrk(log)
    pg = benchdb.server_info(settings)
    results: dict[str, Any] = {
        "date": started_at.strftime("%Y-%m-%d"),
        "started_at": started_at.isoformat(timespec="seconds"),
        "machine": machine_info(wrk, pg),
        "postgres": pg,
        "config": {
            "command": " ".join(
                ["python -m benchmarks.run", *(shlex.quote(a) for a in (argv or sys.argv[1:]))]
            ),
            "workers": args.workers,
            "concurrency": [int(c) for c in args.concurrency.split(",")],
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "server_cpus": server_cpus,
            "load_cpus": load_cpus,
            "database": settings.db_name,
            "python": str(settings.python),
            "legacy_python": str(settings.legacy_python),
            "queue": QUEUE_NAME,
            "jobs": {
                "poll_delay_s": args.poll_delay,
                "max_active_per_workspace": 1000,
                "worker_max_jobs": int(os.environ.get("ISSUEGRAPH_WORKER_MAX_JOBS", "10")),
                "count": args.jobs,
                "import_rows": args.import_rows,
            },
            "issuegraph_env": {
                "ISSUEGRAPH_LOG_LEVEL": "INFO",
                **{k: v for k, (v, _, _) in ISSUEGRAPH_SETTINGS.items()},
            },
        },
        "workloads": [{"name": w.name, "description": w.description} for w in chosen],
        "servers": {},
        "sql": {},
        "load": {},
        "notes": [],
        "_rows": {},
    }

    # 1. what can run here
    specs: dict[str, ServerSpec] = {}
    for name in requested:
        problem = None
        if name == "postgraphile":
            problem = ensure_postgraphile(log)
        elif name in LEGACY_ENV_SERVERS:
            problem = ensure_legacy_venv(settings, log)
        entry: dict[str, Any] = {"available": False}
        results["servers"][name] = entry
        if problem:
            entry["skipped"] = problem
            log(f"{name}: skipped — {problem}")
            continue
        try:
            specs[name] = spec(name, settings, args.workers, server_cpus)
        except Unavailable as error:
            entry["skipped"] = str(error)
            log(f"{name}: skipped — {error}")
            continue
        entry.update(
            available=True,
            argv=specs[name].argv,
            processes=args.workers,
            notes=specs[name].notes,
            dialect=DIALECTS[name],
        )
    if "postgraphile" in specs:
        lock = json.loads(
            (POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "package.json").read_text()
        )
        results["servers"]["postgraphile"]["version"] = lock.get("version")

    # 2. the database
    log(
        f"database {settings.db_name}: "
        f"{'reusing' if args.reuse_db else 'creating, migrating, seeding'} .."
    )
    data = benchdb.prepare(settings, reuse=args.reuse_db)
    results["config"].update(reused_db=data.reused, seed_seconds=data.seeded_seconds)
    log(f"database ready ({'reused' if data.reused else f'seeded in {data.seeded_seconds} s'})")
    # W2's random issues: every one must exist with 3 labels and 5 comments.
    benchdb.check_read_issues(settings, *W2_NUMBERS)
    results["config"]["w2_numbers"] = list(W2_NUMBERS)
    results["config"]["w2_check_numbers"] = list(W2_CHECK_NUMBERS)
    results["config"]["wrk_seed"] = load.WRK_SEED

    # 3. SQL statements per request
    if not args.skip_sql_count:
        count_sql(specs, settings, data.token, chosen, log_dir, results)
    else:
        results["sql_problem"] = "skipped (--skip-sql-count)"

    # 4./5. load, and W4 with issuegraph
    for name, server_spec in specs.items():
        log(f"load: {name} ({args.workers} process(es), CPU {server_cpus})")
        try:
            load_server(server_spec, data.token, chosen, args, wrk, log_dir, results, settings)
        except BenchError as error:
            log(f"{name} failed: {error}")
            results["servers"][name]["error"] = str(error)
            results["notes"].append(f"{name} failed during the load runs: {str(error)[:300]}")

    # same rows everywhere?
    rows = results.pop("_rows")
    reference = "issuegraph" if "issuegraph" in specs else next(iter(specs), None)
    results["same_data_reference"] = reference
    results["same_data"] = {
        w: {s: r == by_server.get(reference) for s, r in by_server.items() if s != reference}
        for w, by_server in rows.items()
        if reference in by_server
    }
    if args.skip_jobs:
        results["jobs"] = {"error": "skipped (--skip-jobs)"}
    elif "issuegraph" not in specs:
        results["jobs"] = {"error": "issuegraph was not run"}
    results["notes"] += [
        "PostGraphile runs without W3: --disable-default-mutations (its generated createIssue "
        "would need the client to choose the issue number).",
        "issuegraph runs on its production path: rate limiter on (budget raised), JSON access "
        "log at INFO to its log file, metrics on; see Servers and settings.",
        "The floor (benchmarks/floor.py) is not GraphQL: same bodies, dispatch on operationName.",
        "The minimal server (benchmarks/minimal/app.py: Flask, Graphene, sync SQLAlchemy, "
        "gunicorn sync workers) has no authentication, no logging and plain N+1 resolvers; it "
        "serves W1, W1-small and W2 (no W3).",
        "Authentication: issuegraph, legacy and the floor look the bearer token up in PostgreSQL "
        "on every request (counted in their SQL statements); PostGraphile (no JWT configured) "
        "and the minimal server run without authentication, so they do no lookup.",
        f"Server logs of this run: {log_dir}",
    ]
    results["machine"]["loadavg_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["machine"]["busy_processes_at_end"] = busy_processes()
    others = (
        results["machine"]["busy_processes_at_start"] + results["machine"]["busy_processes_at_end"]
    )
    if others:
        results["notes"].append(
            "Other processes were using CPU on this machine during the run (figures are "
            "disturbed accordingly): "
            + "; ".join(f"{p['cpu_percent']}% {p['cmd'][:80]}" for p in others[:6])
        )
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["run_seconds"] = round(time.monotonic() - T0, 1)
    paths = report.write(results, args.out_dir, stem)
    log(f"wrote {', '.join(str(p) for p in paths.values())}")
    print(paths["md"].read_text())
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as error:
        print(f"\nbenchmark failed: {error}", file=sys.stderr)
        sys.exit(1)
