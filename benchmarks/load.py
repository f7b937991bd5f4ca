"""Load generation with wrk (Lua body script in wrk/graphql.lua), pinned to the load cores."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from benchmarks.common import WRK_DIR, BenchError

LUA = WRK_DIR / "graphql.lua"
# The seed of the random W2 issue numbers: every server of a run gets the same sequence.
WRK_SEED = 12


def ensure_wrk(log: Any) -> str:
    """The wrk binary; installs the Debian package when it is absent and we are root."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise BenchError(
            "wrk is not installed. Install it (Debian/Ubuntu: `sudo apt-get install -y wrk`, "
            "macOS: `brew install wrk`) and run again."
        )
    log("wrk is missing: apt-get install -y wrk ...")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    cmd = ["apt-get", "install", "-y", "--no-install-recommends", "wrk"]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    if result.returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True, env=env, check=False)  # noqa: S607
        result = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)  # noqa: S603
    found = shutil.which("wrk")
    if not found:
        raise BenchError(f"`apt-get install -y wrk` failed:\n{result.stderr[-1500:]}")
    return found


def wrk_version(wrk: str) -> str:
    result = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)  # noqa: S603
    return (
        (result.stdout + result.stderr).strip().splitlines()[0]
        if (result.stdout + result.stderr)
        else ""
    )


def run_wrk(
    wrk: str,
    url: str,
    body: dict[str, Any] | str,
    token: str,
    *,
    connections: int,
    duration: float,
    cpus: str,
    threads: int = 1,
    timeout_s: int = 30,
    numbers: tuple[int, int] | None = None,
    seed: int = WRK_SEED,
) -> dict[str, Any]:
    """One load point. Returns the raw figures plus req/s, p50/p99 in ms and ok/problem.

    ``body`` is the JSON body (a dict, or its text). With ``numbers`` it is a template
    (workloads.load_body): every request carries a random integer of that range in place of
    ``__ISSUE_NUMBER__``, from a generator seeded with ``seed`` (wrk/graphql.lua)."""
    text = body if isinstance(body, str) else json.dumps(body)
    with tempfile.NamedTemporaryFile("wb", suffix=".json", delete=False) as handle:
        handle.write(text.encode())
        body_file = handle.name
    threads = max(1, min(threads, connections))
    argv = [
        "taskset",
        "-c",
        cpus,
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration))}s",
        f"--timeout={timeout_s}s",
        "--latency",
        "-s",
        str(LUA),
        url,
    ]
    env = dict(os.environ, WRK_BODY_FILE=body_file, WRK_AUTHORIZATION=f"Bearer {token}")
    for name in ("WRK_NUMBER_MIN", "WRK_NUMBER_MAX", "WRK_SEED"):
        env.pop(name, None)
    if numbers is not None:
        env.update(WRK_NUMBER_MIN=str(numbers[0]), WRK_NUMBER_MAX=str(numbers[1]))
        env["WRK_SEED"] = str(seed)
    try:
        result = subprocess.run(  # noqa: S603 - our argv, no shell
            argv,
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=duration + timeout_s + 30,
        )
    finally:
        Path(body_file).unlink(missing_ok=True)
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        return {
            "ok": False,
            "problem": f"wrk failed ({result.returncode}): "
            f"{(result.stderr or result.stdout)[-600:]}",
            "connections": connections,
        }
    raw = json.loads(line[len("BENCH_JSON ") :])
    seconds = raw["duration_us"] / 1e6
    socket_errors = {k: v for k, v in raw["errors"].items() if v and k != "status"}
    problems = []
    if raw["non_2xx"] or raw["errors"]["status"]:
        problems.append(f"{max(raw['non_2xx'], raw['errors']['status'])} non-2xx")
    if raw["graphql_errors"]:
        problems.append(f"{raw['graphql_errors']} answers with GraphQL errors")
    if socket_errors:
        problems.append(f"socket errors {socket_errors}")
    if raw["requests"] == 0:
        problems.append("no request completed")
    picked = raw.get("random_numbers") or {}
    if numbers is not None and (
        picked.get("count", 0) < raw["requests"]
        or picked.get("min", 0) < numbers[0]
        or picked.get("max", 0) > numbers[1]
    ):
        problems.append(f"random issue numbers {picked}, expected {numbers}")
    if problems and raw.get("first_bad"):
        problems.append(f"first: {raw['first_bad'][:160]}")
    lat = raw["latency_us"]
    rps = raw["requests"] / seconds if seconds else 0.0
    # Little's law: with c connections always busy the mean latency is about c / rps. wrk only
    # times completed requests, so when few complete (a slow server at high c) the slowest are
    # missing and the percentiles are biased low.
    expected_ms = connections / rps * 1000 if rps else None
    biased = raw["requests"] < 2 * connections or (
        expected_ms is not None and lat["mean"] / 1000 < 0.5 * expected_ms
    )
    return {
        "ok": not problems,
        "problem": "; ".join(problems),
        "connections": connections,
        "threads": threads,
        "duration_s": round(seconds, 3),
        "requests": raw["requests"],
        "rps": round(rps, 1),
        "littles_law_latency_ms": round(expected_ms, 1) if expected_ms else None,
        "latency_biased": biased,
        "p50_ms": round(lat["p50"] / 1000, 2),
        "p75_ms": round(lat["p75"] / 1000, 2),
        "p90_ms": round(lat["p90"] / 1000, 2),
        "p99_ms": round(lat["p99"] / 1000, 2),
        "max_ms": round(lat["max"] / 1000, 2),
        "mean_ms": round(lat["mean"] / 1000, 2),
        "bytes_per_request": round(raw["bytes"] / raw["requests"]) if raw["requests"] else 0,
        "random_numbers": (
            {**picked, "range": list(numbers), "seed": seed} if numbers is not None else None
        ),
        "wrk": raw,
        "wrk_summary": "\n".join(
            ln for ln in result.stdout.splitlines() if not ln.startswith("BENCH_JSON ")
        ),
    }
