"""Overload: W1 against one issuegraph process at many connections, clients that back off.

    .venv/bin/python -m benchmarks.overload [--connections 16,64,256,512] [--duration 20]
        [--reuse-db] [--stem NAME]

Issue 13's check of admission control (app/policy/admission.py). Each connection is a client that
sends W1 over HTTP/1.1 keep-alive, one request at a time; when it is refused with a 503 it
waits as ``Retry-After`` says, plus up to half that again of jitter, and tries again. Per
connection count: successes per second, the latency of every answer (p50, p99, max), answers by
status and code, dropped connections (closed or reset under a request) and client timeouts
(none should happen: 30 s). Only answers to requests sent after a warm-up of ``--warmup``
seconds count.

wrk cannot do this (its scripts have no per-connection back-off), so the client is ours: raw
asyncio streams, pinned to the load core, the server to the other (benchmarks/common.py:cores).
The server runs exactly as in `make bench` (production path, default admission settings).
Writes benchmarks/results/overload-<stem>.json and .md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import benchdb, workloads
from benchmarks.common import RESULTS, cores, load_settings
from benchmarks.servers import Server, spec

CLIENT_TIMEOUT = 30.0


@dataclass
class Answer:
    sent: float
    latency: float
    status: int
    code: str | None


@dataclass
class Tally:
    answers: list[Answer] = field(default_factory=list)
    dropped: int = 0
    timeouts: int = 0


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return status, headers, body


def _code(status: int, body: bytes) -> str | None:
    if status == 200:
        return None
    try:
        return str(json.loads(body)["errors"][0]["extensions"]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return "unparsable"


async def _client(
    host: str, port: int, request: bytes, until: float, tally: Tally, rng: random.Random
) -> None:
    loop = asyncio.get_running_loop()
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    while loop.time() < until:
        if writer is None:
            reader, writer = await asyncio.open_connection(host, port)
        assert reader is not None
        sent = loop.time()
        try:
            writer.write(request)
            status, headers, body = await asyncio.wait_for(_read_response(reader), CLIENT_TIMEOUT)
        except TimeoutError:
            tally.timeouts += 1
            writer.close()
            writer = None
            continue
        except (ConnectionError, asyncio.IncompleteReadError):
            tally.dropped += 1
            writer.close()
            writer = None
            continue
        tally.answers.append(Answer(sent, loop.time() - sent, status, _code(status, body)))
        if headers.get("connection", "").lower() == "close":
            writer.close()
            writer = None
        if status in (429, 503):
            delay = float(headers.get("retry-after", "1"))
            await asyncio.sleep(delay * (1 + 0.5 * rng.random()))
    if writer is not None:
        writer.close()


def _request(port: int, token: str, body: dict[str, Any]) -> bytes:
    payload = json.dumps(body).encode()
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Accept: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
    )
    return head.encode() + payload


async def _drive(
    port: int, request: bytes, connections: int, warmup: float, duration: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    start = loop.time()
    window = (start + warmup, start + warmup + duration)
    tally = Tally()
    rng = random.Random(connections)  # noqa: S311 - jitter, not security
    await asyncio.gather(
        *(_client("127.0.0.1", port, request, window[1], tally, rng) for _ in range(connections))
    )
    counted = [a for a in tally.answers if window[0] <= a.sent < window[1]]
    latencies = sorted(a.latency for a in counted)
    ok = sum(1 for a in counted if a.status == 200)

    def pct(p: float) -> float:
        if not latencies:
            return 0.0
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000

    return {
        "connections": connections,
        "successes_per_s": round(ok / duration, 1),
        "answers_per_s": round(len(counted) / duration, 1),
        "p50_ms": round(pct(0.50), 1),
        "p99_ms": round(pct(0.99), 1),
        "max_ms": round(latencies[-1] * 1000, 1) if latencies else 0.0,
        "mean_ms": round(statistics.fmean(latencies) * 1000, 1) if latencies else 0.0,
        "by_status": dict(Counter(f"{a.status} {a.code or ''}".strip() for a in counted)),
        "dropped": tally.dropped,
        "timeouts": tally.timeouts,
    }


def _report(results: dict[str, Any]) -> str:
    base = next((r for r in results["points"] if r["connections"] == 16), None)
    lines = [
        f"# Overload run {results['date']}",
        "",
        f"`{results['command']}`: W1 (issues(first: 50) with nested fields) against one "
        "issuegraph process on its production path, default admission settings; each "
        "connection a client that backs off as Retry-After says (+ up to 50% jitter). "
        f"{results['warmup']:g} s warm-up, then {results['duration']:g} s counted per point.",
        "",
        "| connections | successes/s | vs 16 | answers/s | p50 ms | p99 ms | max ms | answers "
        "| dropped | timeouts |",
        "|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|",
    ]
    for r in results["points"]:
        ratio = f"{r['successes_per_s'] / base['successes_per_s']:.2f}x" if base else "-"
        statuses = ", ".join(f"{k}: {v}" for k, v in sorted(r["by_status"].items()))
        lines.append(
            f"| {r['connections']} | {r['successes_per_s']} | {ratio} | {r['answers_per_s']} "
            f"| {r['p50_ms']} | {r['p99_ms']} | {r['max_ms']} | {statuses} | {r['dropped']} "
            f"| {r['timeouts']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", default="16,64,256,512")
    parser.add_argument("--duration", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=3)
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--db-name", default=None)
    parser.add_argument("--stem", default=None)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)

    settings = load_settings(args.db_name)
    data = benchdb.prepare(settings, reuse=args.reuse_db)
    server_cpus, load_cpus = cores()
    os.sched_setaffinity(0, {int(c) for c in load_cpus.split(",")})
    server_spec = spec("issuegraph", settings, 1, server_cpus)
    body = workloads.body(server_spec.dialect, workloads.W1)
    assert body is not None
    stem = args.stem or datetime.now(UTC).strftime("%Y-%m-%d")
    log_dir = RESULTS / f"overload-{stem}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    points = []
    with Server(server_spec, log_dir, data.token) as server:
        server.start()
        server.wait_ready(body)
        request = _request(server_spec.port, data.token, body)
        for connections in (int(c) for c in args.connections.split(",")):
            point = asyncio.run(
                _drive(server_spec.port, request, connections, args.warmup, args.duration)
            )
            print(json.dumps(point), flush=True)
            points.append(point)
            time.sleep(2)  # let the server drain what the clients abandoned
    results = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python -m benchmarks.overload", *argv]),
        "duration": args.duration,
        "warmup": args.warmup,
        "loadavg": os.getloadavg(),
        "points": points,
    }
    out = Path(RESULTS)
    (out / f"overload-{stem}.json").write_text(json.dumps(results, indent=2) + "\n")
    (out / f"overload-{stem}.md").write_text(_report(results))
    print(_report(results))


if __name__ == "__main__":
    main()
