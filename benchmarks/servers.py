"""Start, wait for, measure (peak RSS of the process tree) and stop each server under test.

Every server is started pinned to the server cores (``taskset -c 0`` on two cores) with the
same number of processes (``--workers N``): uvicorn workers for issuegraph and the floor,
gunicorn sync workers for the legacy layer and the minimal server, ``--cluster-workers`` for
PostGraphile (N > 1).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from benchmarks.benchdb import issuegraph_env
from benchmarks.common import (
    LEGACY_DIR,
    MINIMAL_DIR,
    POSTGRAPHILE_DIR,
    REPO,
    BenchError,
    Settings,
    cores,
)

PORTS = {
    "issuegraph": 18101,
    "legacy": 18102,
    "postgraphile": 18103,
    "floor": 18104,
    "issuegraph-graphql-core": 18105,
    "minimal": 18106,
    "issuegraph-traced": 18107,
    # benchmarks/compare.py --baseline: issuegraph served from another checkout.
    "issuegraph-baseline": 18110,
}
# The OTLP sink issuegraph-traced exports its spans to (benchmarks/otlp_sink.py).
OTLP_SINK_PORT = 18108
DIALECTS = {
    "issuegraph": "contract",
    "issuegraph-graphql-core": "contract",
    "issuegraph-traced": "contract",
    "issuegraph-baseline": "contract",
    "legacy": "legacy",
    "postgraphile": "postgraphile",
    "floor": "floor",
    "minimal": "minimal",
}
ALL_SERVERS = (
    "issuegraph",
    "issuegraph-graphql-core",
    "legacy",
    "postgraphile",
    "floor",
    "minimal",
)
# Run only when named in --servers: issuegraph with tracing on, to measure what it costs.
OPTIONAL_SERVERS = ("issuegraph-traced",)
KNOWN_SERVERS = (*ALL_SERVERS, *OPTIONAL_SERVERS)
# Servers that run in the legacy layer's environment (.venv-legacy).
LEGACY_ENV_SERVERS = ("legacy", "minimal")
# The same server with the compiled execution path off (ISSUEGRAPH_EXECUTION_ENGINE).
EXECUTION_ENGINES = {
    "issuegraph": "compiled",
    "issuegraph-graphql-core": "graphql-core",
    "issuegraph-traced": "compiled",
}
# issuegraph-traced: every span exported over OTLP/HTTP, in batches (the SDK's defaults), to a
# local sink that discards them (docs/operations.md, "Traces").
TRACING_ENV = {
    "OTEL_TRACES_EXPORTER": "otlp",
    "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{OTLP_SINK_PORT}",
    "OTEL_SERVICE_NAME": "issuegraph-bench",
}
QUEUE_NAME = "issuegraph-bench:queue"


@dataclass
class ServerSpec:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int
    processes: int
    notes: list[str] = field(default_factory=list)
    cwd: Path = REPO
    # A process the server needs beside it (the OTLP sink), started first, stopped after.
    sidecar: list[str] | None = None

    @property
    def dialect(self) -> str:
        return DIALECTS[self.name]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"


class Unavailable(BenchError):
    """A server that cannot be run here; the run goes on without it."""


# The rate limiter stays on (a Redis script call per request, as in production) with a budget
# no run can spend. A request costs 1 + nodes // 100 points (app/policy/rate_limit.py); a request
# estimated above ISSUEGRAPH_MAX_QUERY_COST (default 50,000 nodes, a batch's operations
# together) is refused and charged 1, so one request costs at most 501 points (measured: W1
# ~54, W1-small 6, W2 2; the report shows them). The window is one clock hour per token: 501
# points for each of 1,000,000 requests/s for 3,600 s (far beyond what this harness drives:
# ~100k+ requests per run, a few thousand req/s at most) is 1.8e12 points, still exact in
# Redis's integers and Lua's doubles (< 2^53).
MAX_POINTS_PER_REQUEST = 1 + 50_000 // 100
RATE_LIMIT_POINTS_PER_HOUR = MAX_POINTS_PER_REQUEST * 1_000_000 * 3600

# issuegraph's settings that differ from app/settings.py's defaults, and why (the report
# prints them). Everything else is left at its default: the production path.
ISSUEGRAPH_SETTINGS: dict[str, tuple[str, str, str]] = {
    # name: (value, default, why)
    "ISSUEGRAPH_RATE_LIMIT_POINTS_PER_HOUR": (
        str(RATE_LIMIT_POINTS_PER_HOUR),
        "5000",
        "the run sends ~100k+ requests with one token; the limiter still runs (a Redis script "
        f"call per request) but {RATE_LIMIT_POINTS_PER_HOUR:,} points ({MAX_POINTS_PER_REQUEST} "
        "points, the most one request can cost, x 1,000,000 req/s x 3,600 s) are never spent",
    ),
    "ISSUEGRAPH_LOG_FORMAT": (
        "json",
        "auto",
        "auto is JSON when stderr is not a terminal (here a file): the same, said explicitly",
    ),
    "ISSUEGRAPH_QUEUE_NAME": (
        QUEUE_NAME,
        "issuegraph:queue",
        "a queue of its own, so no other worker on this Redis takes the bench jobs",
    ),
    "ISSUEGRAPH_JOB_MAX_ACTIVE_PER_WORKSPACE": (
        "1000",
        "10",
        "W4 enqueues 200 jobs at once in one workspace",
    ),
}


def issuegraph_settings_env(settings: Settings, poll_delay: float | None = None) -> dict[str, str]:
    """The environment of `issuegraph serve` and `issuegraph worker` in a run: the production
    path (rate limiter on, INFO access log as JSON lines, metrics), with the bench database and
    Redis, and the few settings of ISSUEGRAPH_SETTINGS."""
    extra = {name: value for name, (value, _, _) in ISSUEGRAPH_SETTINGS.items()}
    # INFO is the default; benchdb.issuegraph_env (the CLI steps) sets WARNING.
    extra["ISSUEGRAPH_LOG_LEVEL"] = "INFO"
    if poll_delay is not None:
        extra["ISSUEGRAPH_WORKER_POLL_DELAY_SECONDS"] = str(poll_delay)
    return issuegraph_env(settings, **extra)


def issuegraph_notes() -> list[str]:
    """What the report says about issuegraph's settings (ServerSpec.notes)."""
    return [
        "production path: rate limiter on, access log at INFO (one JSON `http.request` line per "
        "request, to the server's log file), Prometheus metrics on; every setting not listed "
        "here is at its default",
        *(
            f"`{name}={value}` (default {default}): {why}"
            for name, (value, default, why) in ISSUEGRAPH_SETTINGS.items()
        ),
        "`ISSUEGRAPH_DATABASE_URL`, `ISSUEGRAPH_REDIS_URL`: the bench database and Redis",
    ]


def spec(name: str, settings: Settings, processes: int, cpus: str) -> ServerSpec:
    port = PORTS[name]
    pin = ["taskset", "-c", cpus]
    if name in EXECUTION_ENGINES:
        exe = settings.python.parent / "issuegraph"
        if not exe.exists():
            raise BenchError(f"{exe} not found (set ISSUEGRAPH_BENCH_PYTHON).")
        argv = [*pin, str(exe), "serve", "--host", "127.0.0.1", "--port", str(port)]
        argv += ["--workers", str(processes)]
        engine = EXECUTION_ENGINES[name]
        env = issuegraph_settings_env(settings)
        env["ISSUEGRAPH_EXECUTION_ENGINE"] = engine
        sidecar = None
        traced: list[str] = []
        if name == "issuegraph-traced":
            env.update(TRACING_ENV)
            # The sink shares wrk's CPUs: the server's CPU is all the server's.
            sidecar = [
                "taskset",
                "-c",
                cores()[1],
                str(settings.python),
                "-m",
                "benchmarks.otlp_sink",
                "--port",
                str(OTLP_SINK_PORT),
            ]
            traced = [
                "tracing on: "
                + ", ".join(f"`{k}={v}`" for k, v in TRACING_ENV.items())
                + " (a local sink that discards, benchmarks/otlp_sink.py, on the load CPUs); "
                "every request traced (the default sampler)"
            ]
        return ServerSpec(
            name,
            argv,
            env,
            port,
            processes,
            [
                *issuegraph_notes(),
                f"`ISSUEGRAPH_EXECUTION_ENGINE={engine}`"
                + (
                    " (the default)"
                    if engine == "compiled"
                    else " (default compiled): the same server with the compiled path off"
                ),
                *traced,
            ],
            sidecar=sidecar,
        )
    if name == "legacy":
        conf = LEGACY_DIR / "gunicorn.conf.py"
        if not conf.exists():
            raise Unavailable(
                f"{conf.relative_to(REPO)} is missing: the legacy layer is not ready."
            )
        python = settings.legacy_python
        if not python.exists():
            raise Unavailable(f"{python} is missing (the harness creates .venv-legacy first).")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ISSUEGRAPH_", "LEGACY_"))}
        env.update(
            LEGACY_DATABASE_URL=settings.database_url,
            LEGACY_BIND=f"127.0.0.1:{port}",
            LEGACY_WORKERS=str(processes),
        )
        argv = [*pin, str(python), "-m", "gunicorn", "-c", str(conf)]
        return ServerSpec(name, argv, env, port, processes, ["gunicorn sync workers"])
    if name == "minimal":
        conf = MINIMAL_DIR / "gunicorn.conf.py"
        python = settings.legacy_python
        if not python.exists():
            raise Unavailable(f"{python} is missing (the harness creates .venv-legacy first).")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ISSUEGRAPH_", "MINIMAL_"))}
        env.update(
            MINIMAL_DATABASE_URL=settings.database_url,
            MINIMAL_BIND=f"127.0.0.1:{port}",
            MINIMAL_WORKERS=str(processes),
        )
        argv = [*pin, str(python), "-m", "gunicorn", "-c", str(conf)]
        return ServerSpec(
            name,
            argv,
            env,
            port,
            processes,
            [
                "Flask + Graphene + sync SQLAlchemy (benchmarks/minimal/app.py), gunicorn sync "
                "workers: no authentication, no logging, plain N+1 resolvers; W1 and W2 only"
            ],
        )
    if name == "postgraphile":
        cli = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
        if not cli.exists():
            raise Unavailable(f"{cli} is missing (npm install in benchmarks/postgraphile failed).")
        argv = [
            *pin,
            "node",
            str(cli.resolve()),
            "--connection",
            settings.database_url,
            "--schema",
            "public",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--disable-default-mutations",
            "--disable-query-log",
            "--disable-graphiql",
            "--max-pool-size",
            "20",
        ]
        if processes > 1:
            argv += ["--cluster-workers", str(processes)]
        env = dict(os.environ, NODE_ENV="production")
        return ServerSpec(
            name,
            argv,
            env,
            port,
            processes,
            ["--disable-default-mutations: no W3", "NODE_ENV=production"],
        )
    if name == "floor":
        argv = [
            *pin,
            str(settings.python),
            "-m",
            "uvicorn",
            "benchmarks.floor:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(processes),
            "--no-access-log",
            "--log-level",
            "warning",
        ]
        env = dict(os.environ, FLOOR_DATABASE_URL=settings.database_url)
        return ServerSpec(name, argv, env, port, processes, ["asyncpg + orjson, raw ASGI"])
    raise ValueError(name)


class RssSampler(threading.Thread):
    """Samples the summed RSS of a process and all its descendants every ``interval`` s."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self.peak = 0
        self.window_peak = 0

    def sample(self) -> int:
        try:
            root = psutil.Process(self.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                total += proc.memory_info().rss
        return total

    def run(self) -> None:
        while not self._stop.is_set():
            rss = self.sample()
            with self._lock:
                self.peak = max(self.peak, rss)
                self.window_peak = max(self.window_peak, rss)
            self._stop.wait(self.interval)

    def take_window(self) -> int:
        """Peak since the last call (bytes)."""
        with self._lock:
            peak, self.window_peak = self.window_peak, 0
        return peak

    def stop(self) -> None:
        self._stop.set()


class Server:
    def __init__(self, server_spec: ServerSpec, log_dir: Path, token: str) -> None:
        self.spec = server_spec
        self.log_path = log_dir / f"{server_spec.name}.log"
        self.token = token
        self.process: subprocess.Popen[bytes] | None = None
        self.sidecar: subprocess.Popen[bytes] | None = None
        self.sampler: RssSampler | None = None
        self.client = httpx.Client(timeout=60, headers={"Authorization": f"Bearer {token}"})

    def _port_free(self) -> bool:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(("127.0.0.1", self.spec.port))
            except OSError:
                return False
        return True

    def start(self) -> None:
        if not self._port_free():
            raise BenchError(
                f"Port {self.spec.port} is already in use; stop whatever listens there "
                f"(needed by {self.spec.name})."
            )
        log = self.log_path.open("ab")
        if self.spec.sidecar is not None:
            self.sidecar = subprocess.Popen(  # noqa: S603 - our argv, no shell
                self.spec.sidecar,
                cwd=self.spec.cwd,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        log.write(f"\n=== {time.strftime('%H:%M:%S')} {' '.join(self.spec.argv)}\n".encode())
        log.flush()
        self.process = subprocess.Popen(  # noqa: S603 - our argv, no shell
            self.spec.argv,
            env=self.spec.env,
            cwd=self.spec.cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        self.sampler = RssSampler(self.process.pid)
        self.sampler.start()

    def post(self, body: dict[str, Any]) -> tuple[int, Any]:
        status, answer, _ = self.post_with_headers(body)
        return status, answer

    def post_with_headers(self, body: dict[str, Any]) -> tuple[int, Any, httpx.Headers]:
        response = self.client.post(self.spec.url, json=body)
        try:
            return response.status_code, response.json(), response.headers
        except ValueError:
            return response.status_code, response.text, response.headers

    def get(self, path: str) -> httpx.Response:
        """GET ``path`` on the server (e.g. /metrics)."""
        return self.client.get(self.spec.url.rsplit("/", 1)[0] + path)

    def count_log_lines(self, event: str) -> int:
        """JSON lines of the server's log file whose ``event`` is ``event``."""
        count = 0
        try:
            with self.log_path.open("rb") as handle:
                for line in handle:
                    if event.encode() not in line:
                        continue
                    try:
                        if json.loads(line).get("event") == event:
                            count += 1
                    except ValueError:
                        continue
        except OSError:
            return 0
        return count

    def wait_ready(self, probe: dict[str, Any], timeout: float = 90) -> None:
        """Until ``probe`` is answered with data and no errors."""
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise BenchError(
                    f"{self.spec.name} exited with {self.process.returncode} while starting; "
                    f"log {self.log_path}:\n{self.log_tail()}"
                )
            try:
                status, answer = self.post(probe)
                if (
                    status == 200
                    and isinstance(answer, dict)
                    and answer.get("data")
                    and not answer.get("errors")
                ):
                    return
                last = f"HTTP {status}: {str(answer)[:300]}"
            except httpx.HTTPError as error:
                last = repr(error)
            time.sleep(0.25)
        raise BenchError(
            f"{self.spec.name} not ready after {timeout:.0f} s ({last}); log {self.log_path}:\n"
            f"{self.log_tail()}"
        )

    def cpu_seconds(self) -> float:
        """User + system CPU time of the server's process tree so far."""
        assert self.process is not None
        try:
            root = psutil.Process(self.process.pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0.0
        total = 0.0
        for proc in procs:
            with contextlib.suppress(psutil.Error):
                times = proc.cpu_times()
                total += times.user + times.system
        return total

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def sidecar_stats(self) -> dict[str, Any] | None:
        """What the OTLP sink received (its GET /stats), when this server has one."""
        if self.sidecar is None:
            return None
        try:
            stats: dict[str, Any] = httpx.get(
                f"http://127.0.0.1:{OTLP_SINK_PORT}/stats", timeout=5
            ).json()
        except (httpx.HTTPError, ValueError) as error:
            return {"problem": repr(error)}
        return stats

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
        try:
            self._stop_server()
        finally:
            if self.sidecar is not None and self.sidecar.poll() is None:
                self.sidecar.terminate()
                try:
                    self.sidecar.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.sidecar.kill()
                    self.sidecar.wait(timeout=5)

    def _stop_server(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        pgid = self.process.pid  # start_new_session: the server leads its own process group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            self.process.wait(timeout=5)
        # Workers that outlived their parent (same group) get the same treatment.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGKILL)

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
        self.client.close()


def ensure_postgraphile(log: Any) -> str | None:
    """npm install into benchmarks/postgraphile when needed; None, or why it is unavailable."""
    cli = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
    if cli.exists():
        return None
    npm = "npm"
    if not any((Path(p) / npm).exists() for p in os.environ.get("PATH", "").split(os.pathsep)):
        return "npm is not installed"
    log("installing PostGraphile 4 (npm install in benchmarks/postgraphile) ...")
    result = subprocess.run(  # noqa: S603
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=POSTGRAPHILE_DIR,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if result.returncode != 0 or not cli.exists():
        return f"npm install failed: {result.stderr[-1000:]}"
    return None


def ensure_legacy_venv(settings: Settings, log: Any) -> str | None:
    """Create .venv-legacy from benchmarks/legacy/requirements.lock (hashed, as `make
    legacy-venv` installs it) when missing."""
    requirements = LEGACY_DIR / "requirements.lock"
    if not (LEGACY_DIR / "gunicorn.conf.py").exists() or not requirements.exists():
        return (
            "benchmarks/legacy/ is not there yet (no gunicorn.conf.py or requirements.lock); "
            "the legacy layer is skipped"
        )
    python = settings.legacy_python
    venv = python.parent.parent
    stamp = venv / ".bench-requirements"
    wanted = requirements.read_text()
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return None
    if python.exists() and (python.parent / "gunicorn").exists() and not stamp.exists():
        # Made by someone else (e.g. the legacy layer's own setup): trust it, check it imports.
        check = subprocess.run(  # noqa: S603
            [str(python), "-c", "import flask, graphene, gunicorn, sqlalchemy, psycopg"],
            capture_output=True,
            text=True,
            check=False,
        )
        if check.returncode == 0:
            return None
    base = os.environ.get("ISSUEGRAPH_BENCH_LEGACY_BASE_PYTHON") or next(
        (
            p
            for p in ("python3.11", "python3")
            if any((Path(d) / p).exists() for d in os.environ.get("PATH", "").split(os.pathsep))
        ),
        "python3",
    )
    log(f"creating {venv} from {requirements.relative_to(REPO)} ...")
    steps = []
    if not python.exists():
        steps.append([base, "-m", "venv", str(venv)])
    install = ["install", "--quiet", "--require-hashes", "-r", str(requirements)]
    steps.append([str(python), "-m", "pip", *install])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True, check=False, timeout=600)  # noqa: S603
        if result.returncode != 0:
            return f"`{' '.join(step)}` failed: {result.stderr[-1000:]}"
    stamp.write_text(wanted)
    return None
