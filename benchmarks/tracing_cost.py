"""What tracing costs a W2 request, in CPU, measured in-process (issue 15 §5).

    python -m benchmarks.tracing_cost [--requests 3000] [--rounds 3] [--db-name NAME]

Each variant runs in a child process of its own (instrumentations patch libraries for the
whole process, and tracing starts once per process), pinned to the server CPUs. The child
builds the app as `issuegraph serve` does (``create_app``, settings from the environment, the
production path of benchmarks/servers.py: rate limiter on, INFO access log as JSON lines) and
sends W2 requests (a random issue each) through its whole ASGI stack with httpx's ASGI
transport, one at a time. The figure is the child's CPU time (every thread: the exporter's
batches included) per request after a warm-up, the client's share included alike in every
variant. Variants:

- ``off``: ``OTEL_TRACES_EXPORTER`` unset;
- ``otlp``: tracing on, every request sampled, spans exported over OTLP/HTTP to
  benchmarks/otlp_sink.py (another process, on the load CPUs), as `issuegraph-traced` in
  `make bench`;
- ``strawberry``: the same with strawberry's ``OpenTelemetryExtension`` in place of
  issuegraph's operation span (a span per resolver; its resolver hook turns the compiled
  executor off).

The variants alternate for ``--rounds`` rounds (``--variants`` picks some); the report gives
each variant's median CPU per request, and what tracing adds as the median over rounds of the
difference to ``off`` in the same round (paired: a busy moment of a shared machine moves both).
Writes ``results/tracing-<date>.json``. The bench database is created and seeded when missing
(``issuegraph_bench_tracing`` by default, not the one `make bench` uses).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from typing import Any

from benchmarks.benchdb import prepare
from benchmarks.common import RESULTS, W2_NUMBERS, cores, load_settings
from benchmarks.servers import RATE_LIMIT_POINTS_PER_HOUR, TRACING_ENV
from benchmarks.workloads import W2, body

VARIANTS = ("off", "otlp", "strawberry")
SINK_PORT = 18109  # not make bench's, so the two never collide


async def _child(variant: str, requests: int, warmup: int, token: str) -> dict[str, Any]:
    import httpx

    from app.main import create_app
    from app.observability import tracing
    from app.settings import Settings

    if variant == "strawberry":
        from strawberry.extensions.tracing import OpenTelemetryExtension

        def strawberry_extension(self: tracing.Tracing) -> Any:
            return lambda: OpenTelemetryExtension(tracer_provider=self.provider)

        tracing.Tracing.operation_extension = strawberry_extension  # type: ignore[method-assign]

    app = create_app(Settings())
    rng = random.Random(15)  # noqa: S311 - which issue to read, the same sequence each run
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://x") as client,
    ):

        async def one() -> None:
            request = body("contract", W2, number=rng.randint(*W2_NUMBERS))
            response = await client.post("/graphql", json=request, headers=headers)
            answer = response.json()
            assert response.status_code == 200, answer
            assert answer["data"]["issue"] is not None, answer

        for _ in range(warmup):
            await one()
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(requests):
            await one()
        wall = time.perf_counter() - wall
        active = tracing.active()
        if active is not None:
            # Whatever is still queued is exported (and counted) too.
            await asyncio.to_thread(active.provider.force_flush)
        cpu = time.process_time() - cpu
    return {
        "variant": variant,
        "requests": requests,
        "cpu_ms_per_request": round(cpu / requests * 1000, 3),
        "wall_ms_per_request": round(wall / requests * 1000, 3),
    }


def _run_child(variant: str, args: argparse.Namespace, token: str, env: dict[str, str]) -> Any:
    child_env = {k: v for k, v in env.items() if not k.startswith("OTEL_")}
    if variant != "off":
        child_env.update(TRACING_ENV)
        child_env["OTEL_EXPORTER_OTLP_ENDPOINT"] = f"http://127.0.0.1:{SINK_PORT}"
    argv = ["taskset", "-c", cores()[0], sys.executable, "-m", "benchmarks.tracing_cost"]
    argv += ["--child", variant, "--requests", str(args.requests), "--warmup", str(args.warmup)]
    out = subprocess.run(  # noqa: S603 - our argv
        argv,
        env={**child_env, "ISSUEGRAPH_BENCH_TOKEN": token},
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        raise RuntimeError(f"{variant}: exit {out.returncode}\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--db-name", default="issuegraph_bench_tracing")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="off,otlp,strawberry")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        token = os.environ["ISSUEGRAPH_BENCH_TOKEN"]
        figures = asyncio.run(_child(args.child, args.requests, args.warmup, token))
        print(json.dumps(figures))
        return

    bench = load_settings(args.db_name)
    data = prepare(bench, reuse=True)
    env = {
        **os.environ,
        "ISSUEGRAPH_DATABASE_URL": bench.database_url,
        "ISSUEGRAPH_REDIS_URL": bench.redis_url,
        "ISSUEGRAPH_RATE_LIMIT_POINTS_PER_HOUR": str(RATE_LIMIT_POINTS_PER_HOUR),
        "ISSUEGRAPH_LOG_FORMAT": "json",
        "ISSUEGRAPH_LOG_LEVEL": "INFO",
    }
    sink_argv = ["taskset", "-c", cores()[1], sys.executable, "-m", "benchmarks.otlp_sink"]
    sink = subprocess.Popen(  # noqa: S603 - our argv
        [*sink_argv, "--port", str(SINK_PORT)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    variants = [v for v in VARIANTS if v in args.variants.split(",")]
    rounds: dict[str, list[dict[str, Any]]] = {v: [] for v in variants}
    try:
        time.sleep(1.0)  # the sink's start-up
        for n in range(args.rounds):
            for variant in variants:
                figures = _run_child(variant, args, data.token, env)
                rounds[variant].append(figures)
                print(f"round {n + 1} {variant}: {figures}", flush=True)
        import httpx

        received = httpx.get(f"http://127.0.0.1:{SINK_PORT}/stats", timeout=5).json()
    finally:
        sink.terminate()
        sink.wait(timeout=10)
    median = {v: statistics.median(r["cpu_ms_per_request"] for r in rounds[v]) for v in variants}
    added = {
        v: round(
            statistics.median(
                r["cpu_ms_per_request"] - o["cpu_ms_per_request"]
                for r, o in zip(rounds[v], rounds["off"], strict=True)
            ),
            3,
        )
        for v in variants
        if v != "off" and "off" in variants
    }
    result = {
        "date": datetime.date.today().isoformat(),
        "python": platform.python_version(),
        "cpu_model": platform.processor() or platform.machine(),
        "requests_per_round": args.requests,
        "rounds": rounds,
        "median_cpu_ms_per_request": median,
        "added_cpu_ms_per_request": added,
        "otlp_sink_received": received,
        "loadavg": [round(x, 2) for x in os.getloadavg()],
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"tracing-{result['date']}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    print(
        json.dumps(
            {k: result[k] for k in ("median_cpu_ms_per_request", "added_cpu_ms_per_request")},
            indent=2,
        )
    )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
