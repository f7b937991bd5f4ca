"""Write a run's figures: results/<date>.json (all of them), .md (tables), .png (plot)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from benchmarks.common import REPO

SERVER_LABELS = {
    "issuegraph": "issuegraph",
    "issuegraph-graphql-core": "issuegraph, graphql-core executor",
    "issuegraph-traced": "issuegraph, tracing on (OTLP)",
    "legacy": "legacy (Flask/Graphene)",
    "postgraphile": "PostGraphile 4",
    "floor": "floor (asyncpg+orjson)",
    "minimal": "minimal (Flask/Graphene, no auth)",
}
PLOT_WORKLOADS = ("W1", "W1-small", "W2", "W3")
COLORS = {
    "issuegraph": "tab:blue",
    "issuegraph-graphql-core": "tab:cyan",
    "issuegraph-traced": "tab:gray",
    "legacy": "tab:orange",
    "postgraphile": "tab:green",
    "floor": "tab:red",
    "minimal": "tab:purple",
}


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return f"{value:,}" if isinstance(value, int) else str(value)


def _point(results: dict[str, Any], server: str, workload: str, c: int) -> dict[str, Any] | None:
    for point in results["load"].get(server, {}).get(workload, {}).get("points", []):
        if point.get("connections") == c:
            return point
    return None


def ratios(results: dict[str, Any], c: int = 16) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for workload in ("W1", "W1-small", "W2", "W3"):
        base = _point(results, "issuegraph", workload, c)
        if not base or not base.get("ok"):
            continue
        for other in (
            "issuegraph-graphql-core",
            "issuegraph-traced",
            "legacy",
            "postgraphile",
            "floor",
            "minimal",
        ):
            peer = _point(results, other, workload, c)
            if peer and peer.get("ok") and peer.get("rps"):
                out[f"{workload} issuegraph/{other}"] = round(base["rps"] / peer["rps"], 2)
    return out


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets, each with the measured value and pass/fail (None: not measured)."""
    rows: list[dict[str, Any]] = []
    r = results.get("ratios", {})
    legacy = r.get("W1 issuegraph/legacy")
    rows.append(
        {
            "target": "W1 at c=16: issuegraph ≥ 10x the legacy layer (req/s)",
            "value": f"{legacy:.1f}x" if legacy else "not measured",
            "pass": None if legacy is None else legacy >= 10,
        }
    )
    pg = r.get("W1 issuegraph/postgraphile")
    rows.append(
        {
            "target": "W1 at c=16: ratio to PostGraphile (reported)",
            "value": f"{pg:.2f}x" if pg else "not measured",
            "pass": None,
        }
    )
    sql = results.get("sql", {}).get("issuegraph", {})
    w1, w1s = (
        sql.get("W1", {}).get("data_statements"),
        sql.get("W1-small", {}).get("data_statements"),
    )
    if w1 is not None and w1s is not None:
        rows.append(
            {
                "target": "W1 SQL statements constant in the page size and ≤ 8",
                "value": f"{w1} (first: 50), {w1s} (first: 5)",
                "pass": w1 == w1s and w1 <= 8,
            }
        )
    else:
        rows.append(
            {"target": "W1 SQL statements constant and ≤ 8", "value": "not measured", "pass": None}
        )
    point = _point(results, "issuegraph", "W1", 16)
    if point and point.get("ok"):
        ratio = point["p99_ms"] / point["p50_ms"] if point["p50_ms"] else None
        rows.append(
            {
                "target": "W1 at c=16: issuegraph p99 within 3x of p50",
                "value": f"p50 {point['p50_ms']} ms, p99 {point['p99_ms']} ms ({ratio:.2f}x)",
                "pass": ratio is not None and ratio <= 3,
            }
        )
    jobs = results.get("jobs") or {}
    isolated = ((jobs.get("isolated") or {}).get("enqueue_to_start_ms") or {}).get("p50")
    rows.append(
        {
            "target": "W4: enqueue-to-start p50 < 100 ms — jobs one at a time (idle worker)",
            "value": f"{isolated} ms" if isolated is not None else "not measured",
            "pass": None if isolated is None else isolated < 100,
        }
    )
    start = (jobs.get("enqueue_to_start_ms") or {}).get("p50")
    rows.append(
        {
            "target": "W4: enqueue-to-start p50 < 100 ms — in the "
            f"{jobs.get('jobs', 200)}-job burst "
            "(includes queueing)",
            "value": f"{start} ms" if start is not None else "not measured",
            "pass": None if start is None else start < 100,
        }
    )
    imp = jobs.get("import") or {}
    rows.append(
        {
            "target": "10,000-row import < 15 s (mutation sent to SUCCEEDED)",
            "value": f"{imp['seconds']} s ({imp.get('created')} created)"
            if imp
            else "not measured",
            "pass": None if not imp else imp["seconds"] < 15 and imp.get("status") == "SUCCEEDED",
        }
    )
    run_s = results.get("run_seconds")
    rows.append(
        {
            "target": "the whole run fits in 10 minutes",
            "value": f"{run_s:.0f} s" if run_s else "-",
            "pass": None if not run_s else run_s <= 600,
        }
    )
    return rows


def servers_section(results: dict[str, Any]) -> list[str]:
    """Each server's settings that differ from its defaults and why (ServerSpec.notes), and
    for issuegraph what its log and /metrics showed after the load."""
    lines = ["## Servers and settings", ""]
    for name, server in results["servers"].items():
        if not server.get("available"):
            continue
        lines.append(f"- **{SERVER_LABELS.get(name, name)}**")
        lines += [f"  - {note}" for note in server.get("notes", [])]
        limits = server.get("rate_limit") or {}
        if limits:
            lines.append(
                "  - rate limiter seen in the answers (X-RateLimit-*): "
                + ", ".join(
                    f"{w} limit {v.get('limit') or 'MISSING'}, cost {_fmt(v.get('cost_points'))} "
                    "points"
                    for w, v in limits.items()
                )
            )
        check = server.get("production_check")
        if check:
            lines.append(
                f"  - after the load: {check.get('http_request_log_lines', 0):,} `http.request` "
                f"and {check.get('slow_request_log_lines', 0):,} `http.slow_request` lines in "
                f"`{check.get('log_file')}`; /metrics HTTP {check.get('metrics_status')}, "
                f"{_fmt(check.get('metrics_requests'))} requests counted"
            )
    lines.append("")
    return lines


# Issue 12's targets ("How make bench must measure"): (workload, peer, minimum req/s ratio of
# issuegraph to the peer, concurrencies).
ISSUE12_RATIOS = (
    ("W2", "postgraphile", 0.5, (1, 16)),
    ("W2", "legacy", 3.0, (1, 16)),
    ("W2", "minimal", 2.0, (1, 16)),
    ("W1", "postgraphile", 1.0, (1, 16)),
    ("W1", "legacy", 10.0, (1, 16)),
    ("W1-small", "legacy", 3.0, (16,)),
    ("W3", "legacy", 3.0, (16,)),
)
ISSUE12_WORKLOADS = ("W1", "W1-small", "W2", "W3")
# Scaling: req/s at this concurrency at least this share of the best of all concurrencies.
ISSUE12_SCALING = (64, 0.9)
ISSUE12_P99_OVER_P50 = (16, 3.0)
ISSUE12_P99_VS_LEGACY = (1, 16, 64)
ISSUE12_MAX_SQL = {"W1": 6, "W2": 6}


def _missing(results: dict[str, Any], server: str, workload: str, c: int) -> str:
    """Why a point is not there."""
    if c not in results["config"]["concurrency"]:
        return f"not measured (c={c} not in --concurrency)"
    if workload not in {w["name"] for w in results["workloads"]}:
        return f"not measured ({workload} not in --workloads)"
    info = results["servers"].get(server)
    if not info:
        return f"not measured ({server} not in --servers)"
    if not info.get("available"):
        return f"not measured ({server} not run)"
    load = results["load"].get(server, {}).get(workload, {})
    if load.get("skipped"):
        return f"- ({server}: {load['skipped']})"
    return f"not measured ({server} {workload} c={c} missing)"


def _fail(point: dict[str, Any]) -> str:
    return f"point FAILED ({str(point.get('problem', ''))[:80]})"


def issue12_targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 12's targets, each row with its concurrency, the figures and met (True), missed
    (False) or not measured (None). A failed issuegraph point (errors under load) is missed; a
    failed peer point is not measured."""
    rows: list[dict[str, Any]] = []

    def row(target: str, c: int | str, value: str, met: bool | None) -> None:
        rows.append({"target": target, "c": c, "value": value, "pass": met})

    me = "issuegraph"
    for workload, peer, minimum, levels in ISSUE12_RATIOS:
        target = f"{workload} req/s: issuegraph ≥ {minimum:g}x {SERVER_LABELS.get(peer, peer)}"
        for c in levels:
            base, other = _point(results, me, workload, c), _point(results, peer, workload, c)
            if base is None or other is None:
                row(target, c, _missing(results, me if base is None else peer, workload, c), None)
            elif not base.get("ok"):
                row(target, c, f"issuegraph {_fail(base)}", False)
            elif not other.get("ok") or not other.get("rps"):
                row(target, c, f"{peer} {_fail(other)}", None)
            else:
                ratio = base["rps"] / other["rps"]
                value = f"{base['rps']:,.1f} / {other['rps']:,.1f} req/s = {ratio:.2f}x"
                row(target, c, value, ratio >= minimum)

    at, share = ISSUE12_SCALING
    for workload in ISSUE12_WORKLOADS:
        target = f"{workload}: issuegraph req/s at c={at} ≥ {share:g}x its best"
        points = results["load"].get(me, {}).get(workload, {}).get("points") or []
        point = _point(results, me, workload, at)
        if point is None:
            row(target, at, _missing(results, me, workload, at), None)
        elif not point.get("ok"):
            row(target, at, f"issuegraph {_fail(point)}", False)
        else:
            best = max((p for p in points if p.get("ok")), key=lambda p: p.get("rps") or 0)
            ratio = point["rps"] / best["rps"] if best.get("rps") else 0.0
            value = (
                f"{point['rps']:,.1f} req/s; best {best['rps']:,.1f} at c={best['connections']} "
                f"({ratio:.2f}x)"
            )
            row(target, at, value, ratio >= share)

    at, factor = ISSUE12_P99_OVER_P50
    for workload in ISSUE12_WORKLOADS:
        target = f"{workload}: issuegraph p99 ≤ {factor:g}x its p50"
        point = _point(results, me, workload, at)
        if point is None:
            row(target, at, _missing(results, me, workload, at), None)
        elif not point.get("ok"):
            row(target, at, f"issuegraph {_fail(point)}", False)
        else:
            ratio = point["p99_ms"] / point["p50_ms"] if point.get("p50_ms") else float("inf")
            mark = " †" if point.get("latency_biased") else ""
            value = f"p50 {point['p50_ms']} ms, p99 {point['p99_ms']} ms{mark} ({ratio:.2f}x)"
            row(target, at, value, ratio <= factor)

    for workload in ISSUE12_WORKLOADS:
        target = f"{workload}: issuegraph p99 ≤ legacy p99"
        for c in ISSUE12_P99_VS_LEGACY:
            base, other = _point(results, me, workload, c), _point(results, "legacy", workload, c)
            if base is None or other is None:
                missing = me if base is None else "legacy"
                row(target, c, _missing(results, missing, workload, c), None)
            elif not base.get("ok"):
                row(target, c, f"issuegraph {_fail(base)}", False)
            elif not other.get("ok"):
                row(target, c, f"legacy {_fail(other)}", None)
            else:
                marks = ["†" if p.get("latency_biased") else "" for p in (base, other)]
                value = f"{base['p99_ms']:,} ms{marks[0]} vs {other['p99_ms']:,} ms{marks[1]}"
                row(target, c, value, base["p99_ms"] <= other["p99_ms"])

    sql = results.get("sql", {}).get(me, {})
    for workload, most in ISSUE12_MAX_SQL.items():
        target = f"{workload}: SQL statements per request ≤ {most} (PostgreSQL's count)"
        count = (sql.get(workload) or {}).get("data_statements")
        if count is None:
            problem = results.get("sql_problem") or "no count"
            row(target, "-", f"not measured ({problem})", None)
        else:
            row(target, "-", str(count), count <= most)
    return rows


def markdown(results: dict[str, Any]) -> str:
    cfg = results["config"]
    machine = results["machine"]
    lines = [
        f"# Benchmark run {results['date']}",
        "",
        f"`{cfg['command']}` — {results['run_seconds']:.0f} s, started {results['started_at']}.",
        "",
        f"Machine: {machine['cpus']} CPUs ({machine.get('cpu_model', '?')}), "
        f"{machine.get('memory_gb', '?')} GB RAM; PostgreSQL {machine.get('postgres')}, "
        f"{machine.get('wrk')}, Python {machine.get('python')}, Node {machine.get('node')}.",
        f"Servers pinned to CPU {cfg['server_cpus']}, wrk to CPU {cfg['load_cpus']} "
        "(PostgreSQL and Redis unpinned, on the same machine); "
        f"{cfg['workers']} server process(es) each; {cfg['warmup_s']} s warm-up at c=16 per "
        f"workload, then {cfg['duration_s']} s per point; wrk `--latency`, 1 thread.",
        f"Data: `issuegraph seed --bench` (10,000 issues, 50,000 comments) in database "
        f"`{cfg['database']}`"
        + (" (reused)." if cfg.get("reused_db") else f", seeded in {cfg.get('seed_seconds')} s."),
        "issuegraph runs on its production path: rate limiter on (budget raised), JSON access "
        "log at INFO into its log file, metrics on (settings below).",
        "",
    ]
    busy = (results["machine"].get("busy_processes_at_start") or []) + (
        results["machine"].get("busy_processes_at_end") or []
    )
    if busy:
        lines += [
            "> **The machine was not quiet**: other processes were using CPU when the run "
            "started or ended (see Notes), so the servers did not have CPU 0 to themselves and "
            "the figures are lower and noisier than on an idle machine.",
            "",
        ]
    for name, server in results["servers"].items():
        if not server.get("available"):
            lines.append(
                f"- **{SERVER_LABELS.get(name, name)}: not run** — {server.get('skipped')}"
            )
    if any(not s.get("available") for s in results["servers"].values()):
        lines.append("")

    lines += servers_section(results)

    sql = results.get("sql", {})
    biased = False
    for workload in results["workloads"]:
        lines += [
            f"## {workload['name']}: {workload['description']}",
            "",
            "| server | c | req/s | p50 ms | p99 ms | SQL statements/request | peak RSS MB "
            "| server CPU % | |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for name in results["servers"]:
            load = results["load"].get(name, {}).get(workload["name"])
            if not load:
                continue
            statements = sql.get(name, {}).get(workload["name"], {}).get("data_statements")
            if load.get("skipped"):
                lines.append(
                    f"| {SERVER_LABELS.get(name, name)} | - | - | - | - | - | - | - "
                    f"| {load['skipped']} |"
                )
                continue
            for point in load["points"]:
                note = "" if point.get("ok") else f"FAILED: {point.get('problem', '')[:120]}"
                mark = " †" if point.get("latency_biased") else ""
                if mark:
                    biased = True
                lines.append(
                    f"| {SERVER_LABELS.get(name, name)} | {point['connections']} | "
                    f"{_fmt(point.get('rps'))} | {_fmt(point.get('p50_ms'), 2)}{mark} | "
                    f"{_fmt(point.get('p99_ms'), 2)}{mark} | {_fmt(statements)} | "
                    f"{_fmt(point.get('peak_rss_mb'))} | "
                    f"{_fmt(point.get('server_cpu_percent'), 0)} | {note} |"
                )
        lines.append("")

    if biased:
        lines += [
            "† Latency biased low: the requests still waiting when wrk stopped are not counted "
            "(fewer than 2 per connection completed, or the mean is under half of c ÷ req/s); "
            "req/s is right, p50/p99 are the fastest completions only.",
            "",
        ]
    lines += [
        "Server CPU %: CPU time of the server's process tree over the point (100 = one core).",
        "",
    ]
    lines += [
        "## Ratios (req/s, issuegraph ÷ peer)",
        "",
        "| | c=1 | c=16 | c=64 |",
        "|---|---:|---:|---:|",
    ]
    columns = [results.get(k, {}) for k in ("ratios_c1", "ratios", "ratios_c64")]
    keys = list(dict.fromkeys(k for column in columns for k in column))
    for key in keys:
        cells = [f"{column[key]:.2f}x" if column.get(key) else "-" for column in columns]
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    lines.append("")

    lines += [
        "## SQL statements per request",
        "",
        "Counted by PostgreSQL (`log_statement = 'all'` on the bench database, one request after "
        "a warm-up): SELECT/INSERT/UPDATE/DELETE (WITH included), the token lookup counted; "
        "transaction control, SET/SHOW and table-less SELECTs (driver pings, `version()`) left "
        "out and listed as *other*.",
        "",
        "| server | " + " | ".join(w["name"] for w in results["workloads"]) + " |",
        "|---|" + "---:|" * len(results["workloads"]),
    ]
    for name in results["servers"]:
        if name not in sql:
            continue
        cells = []
        for workload in results["workloads"]:
            entry = sql[name].get(workload["name"])
            if not entry:
                cells.append("-")
                continue
            other = sum(v for k, v in entry.get("by_kind", {}).items() if k != "data")
            cells.append(f"{entry['data_statements']}" + (f" (+{other} other)" if other else ""))
        lines.append(f"| {SERVER_LABELS.get(name, name)} | " + " | ".join(cells) + " |")
    if results.get("sql_problem"):
        lines.append(f"\nSQL counting: {results['sql_problem']}")
    lines.append("")

    jobs = results.get("jobs")
    lines += ["## W4: background jobs (issuegraph API + one `issuegraph worker`)", ""]
    if jobs and not jobs.get("error"):
        cfg_jobs = results["config"].get("jobs", {})
        lines += [
            f"{jobs['jobs']} `triageIssue` jobs sent {jobs['concurrency']} at a time; worker "
            f"poll delay {cfg_jobs.get('poll_delay_s')} s, per-workspace job limit "
            f"{cfg_jobs.get('max_active_per_workspace')}, `WORKER_MAX_JOBS` "
            f"{cfg_jobs.get('worker_max_jobs')}. Times from the job rows (enqueue = row "
            "created in the mutation's transaction).",
            "",
            "| measure | p50 | p99 | max |",
            "|---|---:|---:|---:|",
        ]
        iso = jobs.get("isolated") or {}
        for key, label in (
            ("enqueue_to_start_ms", "enqueue → start (ms)"),
            ("enqueue_to_succeeded_ms", "enqueue → SUCCEEDED (ms)"),
        ):
            v = iso.get(key) or {}
            lines.append(
                f"| {iso.get('jobs')} jobs one at a time: {label} | {_fmt(v.get('p50'))} | "
                f"{_fmt(v.get('p99'))} | {_fmt(v.get('max'))} |"
            )
        for key, label in (
            ("enqueue_to_start_ms", "enqueue → start (ms)"),
            ("enqueue_to_succeeded_ms", "enqueue → SUCCEEDED (ms)"),
            ("answered_to_succeeded_ms", "mutation answered → SUCCEEDED (ms)"),
            ("run_ms", "run (ms)"),
        ):
            v = jobs.get(key) or {}
            lines.append(
                f"| {jobs['jobs']}-job burst: {label} | {_fmt(v.get('p50'))} | "
                f"{_fmt(v.get('p99'))} | {_fmt(v.get('max'))} |"
            )
        lines += [
            "",
            f"Throughput: **{_fmt(jobs.get('jobs_per_second'))} jobs/s** (first enqueue to last "
            f"finish); all {jobs['jobs']} enqueued in {jobs['enqueue_seconds']} s "
            f"({jobs.get('enqueued_per_second')} mutations/s), all finished "
            f"{jobs['wall_seconds']} s after the first was sent; statuses {jobs['statuses']}.",
        ]
        imp = jobs.get("import")
        if imp:
            lines += [
                "",
                f"Import: {imp['rows']:,} rows ({imp['csv_bytes']:,} bytes) → {imp['status']}, "
                f"{imp.get('created')} created, {imp.get('failed')} failed, "
                f"**{imp['seconds']} s** from mutation sent to SUCCEEDED "
                f"(run {imp['run_seconds']} s).",
            ]
    else:
        error = str((jobs or {}).get("error", "skipped")).strip().splitlines() or ["?"]
        lines.append(f"Not measured: {error[-1][:300]} (details in the JSON).")
    lines += [
        "",
        "## Targets of issue 12 (this run)",
        "",
        "Ratios and latencies from this run's points (same machine, same data, one after the "
        "other); a failed issuegraph point counts as missed, a failed or absent peer as not "
        "measured. † latency biased low (see above): a legacy p99 with † is lower than the "
        "truth, which makes its target harder, not easier.",
        "",
        "| target | c | measured | |",
        "|---|---:|---|---|",
    ]
    for row in results.get("targets_issue12", []):
        verdict = {True: "met", False: "**missed**", None: ""}[row["pass"]]
        lines.append(f"| {row['target']} | {row['c']} | {row['value']} | {verdict} |")
    met = [r["pass"] for r in results.get("targets_issue12", [])]
    lines += [
        "",
        f"{met.count(True)} met, {met.count(False)} missed, {met.count(None)} not measured.",
    ]
    lines += ["", "## Targets (issue #5)", "", "| target | measured | |", "|---|---|---|"]
    for row in results.get("targets", []):
        verdict = {True: "met", False: "**missed**", None: ""}[row["pass"]]
        lines.append(f"| {row['target']} | {row['value']} | {verdict} |")
    same = results.get("same_data", {})
    if same:
        lines += ["", "## Same data", ""]
        for workload, by_server in same.items():
            verdicts = ", ".join(
                f"{k}: {'same' if v else 'DIFFERENT'}" for k, v in by_server.items()
            )
            lines.append(
                f"- {workload} (compared with {results.get('same_data_reference')}): {verdicts}"
            )
    notes = results.get("notes", [])
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    lines += [
        "",
        f"Raw figures: `{results['files']['json']}`; plot: `{results['files']['png']}`.",
        "",
    ]
    return "\n".join(lines)


def plot(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    workloads = [w["name"] for w in results["workloads"] if w["name"] in PLOT_WORKLOADS]
    cols = 2
    rows = (len(workloads) + 1) // 2
    fig, axes = plt.subplots(rows, cols, figsize=(11, 4.2 * rows), squeeze=False)
    for ax, workload in zip(axes.flat, workloads, strict=False):
        for name in results["servers"]:
            load = results["load"].get(name, {}).get(workload)
            if not load or load.get("skipped"):
                continue
            points = [p for p in load["points"] if p.get("rps")]
            if not points:
                continue
            xs = [p["connections"] for p in points]
            ys = [p["rps"] for p in points]
            ax.plot(xs, ys, marker="o", color=COLORS.get(name), label=SERVER_LABELS.get(name, name))
            bad = [p for p in points if not p.get("ok")]
            if bad:
                ax.scatter(
                    [p["connections"] for p in bad],
                    [p["rps"] for p in bad],
                    s=120,
                    facecolors="none",
                    edgecolors="red",
                    zorder=3,
                )
        ax.set_title(workload)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(ScalarFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(results["config"]["concurrency"])
        ax.set_xticklabels([str(c) for c in results["config"]["concurrency"]])
        ax.set_xlabel("concurrent connections (wrk -c)")
        ax.set_ylabel("requests/s")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(workloads) :]:
        ax.set_visible(False)
    fig.suptitle(
        f"issuegraph benchmark {results['date']}: req/s vs concurrency "
        f"({results['config']['workers']} process(es) per server; red rings: failed points)"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write(results: dict[str, Any], out_dir: Path, stem: str) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {ext: out_dir / f"{stem}.{ext}" for ext in ("json", "md", "png")}
    results["files"] = {k: os.path.relpath(v, REPO) for k, v in paths.items()}
    results["ratios"] = ratios(results)
    results["ratios_c1"] = ratios(results, 1)
    results["ratios_c64"] = ratios(results, 64)
    results["targets"] = targets(results)
    results["targets_issue12"] = issue12_targets(results)
    try:
        plot(results, paths["png"])
    except Exception as error:  # the figures matter more than the picture
        results.setdefault("notes", []).append(f"plot failed: {error!r}")
    paths["json"].write_text(json.dumps(results, indent=2, default=str) + "\n")
    paths["md"].write_text(markdown(results))
    return paths
