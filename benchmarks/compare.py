"""Ratios between servers that a drifting machine cannot fake: all servers up at once, turns
interleaved.

    python -m benchmarks.compare [--servers issuegraph,postgraphile,legacy] [--workloads W1,W2]
        [--concurrency 1,16] [--rounds 5] [--duration 3] [--reuse-db] [--stem NAME]
        [--baseline /path/to/other/checkout]

`make bench` runs its servers one after another, a few minutes each; on a VM whose speed moves
by ±30% within minutes, a ratio between two servers then measures the machine as much as the
code (docs/performance.md, "The per-request cost"). Here every server is started once, pinned
to the same server CPU, and the load points take turns, each after every server is idle
(one working off the requests wrk abandoned at the end of its turn would share the CPU):
for each round, workload and concurrency, every server gets ``--duration`` seconds of wrk,
in an order that rotates from round to round. A ratio is then taken within one round (the
same minute of the machine for both servers), and the report gives its median and range over
the rounds, beside each server's median req/s and p99. Reads only (W1, W1-small, W2): a
write workload's turns would change what the other servers read after it.

``--baseline DIR`` adds ``issuegraph-baseline``: `issuegraph serve` from another checkout (its
own ``.venv``, e.g. a worktree of the commit before a change), on the same settings, to judge a
change of ours the same way (paired by round).

Writes ``results/compare-<stem>.json`` and ``.md``. Uses the database of `make bench`
(seeded when missing or without ``--reuse-db``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks import benchdb, load, workloads
from benchmarks.common import RESULTS, W2_NUMBERS, cores, load_settings
from benchmarks.run import probe_body, wait_idle, write_project_id
from benchmarks.servers import (
    PORTS,
    Server,
    ServerSpec,
    ensure_legacy_venv,
    ensure_postgraphile,
    spec,
)

REFERENCE = "issuegraph"
BASELINE = "issuegraph-baseline"


def log(message: str) -> None:
    print(f"[{datetime.datetime.now(datetime.UTC):%H:%M:%S}] {message}", flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("--servers", default="issuegraph,postgraphile,legacy")
    parser.add_argument("--workloads", default="W1,W2")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--duration", type=float, default=3, help="seconds per turn (3)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds per server and workload")
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--reuse-db", action="store_true")
    parser.add_argument("--db-name", default=None)
    parser.add_argument("--stem", default=None)
    return parser.parse_args(argv)


def baseline_spec(issuegraph: ServerSpec, checkout: Path) -> ServerSpec:
    """issuegraph's spec, served by another checkout's venv on a port of its own."""
    exe = checkout.resolve() / ".venv" / "bin" / "issuegraph"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run `make venv` in {checkout}")
    argv = list(issuegraph.argv)
    argv[argv.index(next(a for a in argv if a.endswith("/issuegraph")))] = str(exe)
    argv[argv.index("--port") + 1] = str(PORTS[BASELINE])
    return replace(
        issuegraph, name=BASELINE, argv=argv, port=PORTS[BASELINE], cwd=checkout.resolve()
    )


def ratios(turns: dict[str, list[float]], server: str) -> dict[str, Any]:
    """The reference's req/s over the server's, round by round (paired)."""
    paired = [a / b for a, b in zip(turns[REFERENCE], turns[server], strict=True) if b > 0]
    if not paired:
        return {}
    return {
        "median": round(statistics.median(paired), 2),
        "min": round(min(paired), 2),
        "max": round(max(paired), 2),
        "rounds": [round(r, 2) for r in paired],
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = load_settings(args.db_name)
    server_cpus, load_cpus = cores()
    names = [s.strip() for s in args.servers.split(",") if s.strip()]
    if REFERENCE not in names:
        names.insert(0, REFERENCE)
    if "postgraphile" in names and (problem := ensure_postgraphile(log)):
        raise SystemExit(f"postgraphile: {problem}")
    if "legacy" in names and (problem := ensure_legacy_venv(settings, log)):
        raise SystemExit(f"legacy: {problem}")
    specs = {name: spec(name, settings, 1, server_cpus) for name in names}
    if args.baseline is not None:
        specs[BASELINE] = baseline_spec(specs[REFERENCE], args.baseline)
    chosen = [w for w in workloads.HTTP_WORKLOADS if w.name in args.workloads.split(",")]
    concurrency = [int(c) for c in args.concurrency.split(",")]
    data = benchdb.prepare(settings, reuse=args.reuse_db)
    benchdb.check_read_issues(settings, *W2_NUMBERS)
    stem = args.stem or f"{datetime.date.today():%Y-%m-%d}"
    log_dir = RESULTS / f"compare-{stem}-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    servers = {name: Server(s, log_dir, data.token) for name, s in specs.items()}
    turns: dict[tuple[str, int], dict[str, list[float]]] = {}
    p99: dict[tuple[str, int], dict[str, list[float | None]]] = {}
    try:
        bodies: dict[str, dict[str, tuple[str, tuple[int, int] | None]]] = {}
        for name, server in servers.items():
            server.start()
            server.wait_ready(probe_body(server.spec))
            project_id = write_project_id(server)
            bodies[name] = {}
            for w in chosen:
                sent = workloads.load_body(server.spec.dialect, w, project_id)
                if sent is not None and not w.writes:
                    bodies[name][w.name] = sent
        log(f"up: {', '.join(servers)}; server CPU {server_cpus}, wrk on {load_cpus}")
        wrk = load.ensure_wrk(log)
        for w in chosen:
            for name, server in servers.items():
                if w.name in bodies[name]:
                    text, numbers = bodies[name][w.name]
                    load.run_wrk(
                        wrk,
                        server.spec.url,
                        text,
                        data.token,
                        connections=16,
                        duration=args.warmup,
                        cpus=load_cpus,
                        numbers=numbers,
                    )
        order = list(servers)
        for round_no in range(args.rounds):
            rotated = order[round_no % len(order) :] + order[: round_no % len(order)]
            for w in chosen:
                for c in concurrency:
                    for name in rotated:
                        if w.name not in bodies[name]:
                            continue
                        text, numbers = bodies[name][w.name]
                        # Every server idle first: a server still working off the requests
                        # wrk abandoned at the end of its turn would share the CPU with this one.
                        for other in servers.values():
                            wait_idle(other, max_wait=60)
                        point = load.run_wrk(
                            wrk,
                            servers[name].spec.url,
                            text,
                            data.token,
                            connections=c,
                            duration=args.duration,
                            cpus=load_cpus,
                            numbers=numbers,
                            seed=load.WRK_SEED + c + round_no,
                        )
                        ok = bool(point.get("ok"))
                        if not ok:  # e.g. no answer within the turn: counted as nothing done
                            log(f"  {name} {w.name} c={c}: {point.get('problem')}")
                        rps = point.get("rps", 0.0) if ok else 0.0
                        turns.setdefault((w.name, c), {}).setdefault(name, []).append(rps)
                        late = point.get("p99_ms") if ok else None
                        p99.setdefault((w.name, c), {}).setdefault(name, []).append(late)
            log(f"round {round_no + 1}/{args.rounds} done")
    finally:
        for server in servers.values():
            server.stop()
    return report(args, stem, turns, p99)


def report(
    args: argparse.Namespace,
    stem: str,
    turns: dict[tuple[str, int], dict[str, list[float]]],
    p99: dict[tuple[str, int], dict[str, list[float | None]]],
) -> int:
    command = "python -m benchmarks.compare " + " ".join(sys.argv[1:])
    points = []
    lines = [
        f"# Interleaved comparison, {stem}",
        "",
        f"`{command}`: {args.rounds} rounds, {args.duration:g} s per turn, all servers up at "
        "once on the same CPU, turns rotating (benchmarks/compare.py). Ratio: issuegraph's "
        "req/s over the other's in the same round; median [min-max] over the rounds.",
        "",
        "| workload | c | server | median req/s | median p99 ms | issuegraph ÷ server |",
        "|---|---:|---|---:|---:|---|",
    ]
    for (workload, c), by_server in turns.items():
        for name, values in by_server.items():
            share = ratios(by_server, name) if name != REFERENCE else {}
            points.append(
                {
                    "workload": workload,
                    "concurrency": c,
                    "server": name,
                    "rps": values,
                    "p99_ms": p99[(workload, c)][name],
                    "ratio": share,
                }
            )
            ratio = f"{share['median']}\u00d7 [{share['min']}-{share['max']}]" if share else ""
            answered = [v for v in p99[(workload, c)][name] if v is not None]
            late = f"{statistics.median(answered):,.1f}" if answered else "-"
            failed = len(values) - len(answered)
            note = f" ({failed} of {len(values)} turns failed)" if failed else ""
            lines.append(
                f"| {workload} | {c} | {name} | {statistics.median(values):,.1f}{note} | "
                f"{late} | {ratio} |"
            )
    out = RESULTS / f"compare-{stem}"
    out.with_suffix(".json").write_text(
        json.dumps({"command": command, "points": points}, indent=2) + "\n"
    )
    out.with_suffix(".md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    log(f"wrote {out}.json and .md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
