"""What the app records about itself: its structured log lines, captured, and its metrics."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, MutableMapping
from typing import Any, cast

import structlog

from app import metrics
from app.graphql.extensions import error_policy
from app.observability import request_id
from jobs import runner

LogLine = MutableMapping[str, Any]


@contextlib.contextmanager
def captured_logs(*loggers: Any) -> Iterator[list[LogLine]]:
    """Every line the app's loggers emit while the block runs, with the contextvars merged.

    ``structlog.testing.capture_logs()`` swaps the processors of the *current* configuration
    only. ``configure_logging`` runs again for every ``create_app`` and every worker start,
    each time with a new processor list, and loggers are cached on first use
    (``cache_logger_on_first_use``) with the list of that moment: a module logger first used
    under an earlier configuration would escape ``capture_logs``. So the capture goes into the
    current list and into the list of each module logger the tests look at (binding one that
    was never used caches it on the current list). ``loggers``: more module loggers to capture.
    """
    capture = structlog.testing.LogCapture()
    chains: dict[int, list[Any]] = {}
    current = structlog.get_config()["processors"]
    chains[id(current)] = current
    for proxy in (request_id.log, error_policy.log, runner.log, *loggers):
        bound = cast(structlog.BoundLoggerBase, proxy.bind())
        chain = cast(list[Any], bound._processors)
        chains[id(chain)] = chain
    saved = {key: list(chain) for key, chain in chains.items()}
    for chain in chains.values():
        chain[:] = [structlog.contextvars.merge_contextvars, capture]
    try:
        yield capture.entries
    finally:
        for key, chain in chains.items():
            chain[:] = saved[key]


def lines_of(logs: list[LogLine], request_id: str, name: str | None = None) -> list[LogLine]:
    return [
        line
        for line in logs
        if line.get("request_id") == request_id and (name is None or line["event"] == name)
    ]


def counted(outcome: str) -> float:
    """This process's count (the whole registry would read /proc: a blocking call)."""
    return sum(
        sample.value
        for family in metrics.PERSISTED_QUERIES.collect()
        for sample in family.samples
        if sample.name.endswith("_total") and sample.labels == {"outcome": outcome}
    )
