"""structlog set-up: JSON lines in production, pretty output in a terminal.

The request id and (in jobs) the job id are bound through contextvars, so every line of a
request or job carries them without being passed around.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog

_configured: tuple[str, str, bool] | None = None


def configure_logging(level: str = "INFO", fmt: str = "auto", *, trace_ids: bool = False) -> None:
    """Configure structlog once per process (again only if the level, format or tracing changes).

    Loggers cache their processor list on first use; reconfiguring with an equal setup
    would leave them on a stale list, so an unchanged call is a no-op. With ``trace_ids``
    (tracing on, ``app.observability.tracing``) each line carries the current span's
    ``trace_id`` and ``span_id``; without, the chain has no such step at all.
    """
    global _configured
    if _configured == (level, fmt, trace_ids):
        return
    _configured = (level, fmt, trace_ids)
    use_console = fmt == "console" or (fmt == "auto" and sys.stderr.isatty())
    # JSON lines are rendered by orjson straight to bytes (structlog's own advice for speed:
    # an access line per request was 4% of a one-issue read with json.dumps and print).
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer()
        if use_console
        else structlog.processors.JSONRenderer(serializer=orjson.dumps)
    )
    factory: Any = (
        structlog.PrintLoggerFactory(sys.stderr)
        if use_console
        else structlog.BytesLoggerFactory(sys.stderr.buffer)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    if trace_ids:
        from app.observability.tracing import add_trace_ids

        shared.append(add_trace_ids)
    if not use_console:
        shared.append(structlog.processors.format_exc_info)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
        ),
        logger_factory=factory,
        cache_logger_on_first_use=True,
    )
