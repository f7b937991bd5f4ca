"""OpenTelemetry traces, on only when ``OTEL_TRACES_EXPORTER`` names an exporter.

The SDK's standard variables configure everything (``OTEL_TRACES_EXPORTER``,
``OTEL_EXPORTER_OTLP_ENDPOINT``, ``OTEL_SERVICE_NAME``, ``OTEL_TRACES_SAMPLER``, ...), with one
departure: unset means off (the SDK's default is ``otlp``), so that a plain install never tries
to reach a collector. Off, nothing here runs on a request: no library is patched, no middleware
or schema extension is added, no span (not even a no-op one) is made. The SDK and the
instrumentations are the optional ``tracing`` extra; this module imports them only when on.

On, one process traces (docs/operations.md, "Traces"):

- HTTP requests (the ASGI instrumentation, outermost; an incoming ``traceparent`` is honoured);
- each GraphQL operation, named by its type and name (``OperationSpan``, one span, not one per
  resolver: strawberry's own extension adds a resolver hook, which turns the compiled
  executor off for every operation, docs/performance.md);
- each dataloader batch (``traced_batch``, through the request's ``Context``);
- each SQL statement (the asyncpg instrumentation: the prepared reads of ``db.statements`` run
  ``Connection.fetch``, SQLAlchemy's units of work run asyncpg prepared statements; both are
  wrapped, so one instrumentation covers both paths, once) and each Redis command;
- each job run in a worker (``JobSpans``), continuing the trace of the request that started the
  job: its context is stored in the job row (``jobs.trace_context``), so a job the sweeper
  enqueues again still belongs to it.

Set up per process, after any fork: ``create_app`` (each ``serve --workers N`` process builds
its own app) and the worker's start-up.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Coroutine, Iterator, Mapping, MutableMapping, Sequence
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Tracer
from strawberry.extensions import SchemaExtension

from app.graphql.document_facts import facts

if TYPE_CHECKING:
    from opentelemetry.context import Context as OtelContext
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.sdk.trace.sampling import Sampler
    from opentelemetry.trace import Link
    from opentelemetry.util.types import Attributes
    from starlette.types import ASGIApp

EXPORTER_VARIABLE = "OTEL_TRACES_EXPORTER"
# Probes and scrapes would each start a trace every few seconds.
_UNTRACED_PATHS = "/healthz,/readyz,/metrics"
_DOWNLOAD_PATH = re.compile(r"^/jobs/[^/]+/download$")

BatchFn = Callable[[list[Any]], Coroutine[Any, Any, list[Any]]]


def requested() -> bool:
    """Does the environment ask for traces? (``none`` or unset: no.)"""
    names = os.environ.get(EXPORTER_VARIABLE, "").strip().lower()
    return names not in ("", "none")


class Tracing:
    """The tracing of one process: its provider and the libraries it patched."""

    def __init__(self, provider: TracerProvider) -> None:
        self.provider = provider
        self.tracer: Tracer = provider.get_tracer("issuegraph")

    def asgi_middleware(self, app: ASGIApp) -> ASGIApp:
        """The server span of every HTTP request and WebSocket, around everything else."""
        from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
        from opentelemetry.metrics import NoOpMeterProvider
        from opentelemetry.util.http import parse_excluded_urls

        return OpenTelemetryMiddleware(
            app,
            excluded_urls=parse_excluded_urls(_UNTRACED_PATHS),
            default_span_details=_span_details,
            tracer_provider=self.provider,
            # Its HTTP metrics duplicate /metrics; without a meter provider they cost nothing.
            meter_provider=NoOpMeterProvider(),
            # A span per ASGI message (body chunks) is noise at a cost per request.
            exclude_spans=["receive", "send"],
        )

    def operation_extension(self) -> Callable[[], SchemaExtension]:
        """The schema extension (a factory, one per operation) that makes the operation's span."""
        tracer = self.tracer
        return lambda: OperationSpan(tracer=tracer)

    def traced_batch(self, name: str, batch: BatchFn) -> BatchFn:
        """A dataloader batch function whose every call is a span (``Context.trace_batch``)."""
        tracer = self.tracer

        async def traced(keys: list[Any]) -> list[Any]:
            with tracer.start_as_current_span(
                f"dataloader {name}",
                attributes={"dataloader.name": name, "dataloader.batch_size": len(keys)},
            ):
                return await batch(keys)

        return traced

    @staticmethod
    def carrier() -> dict[str, str]:
        """The current trace context as W3C headers, stored with a job to continue its trace."""
        headers: dict[str, str] = {}
        propagate.inject(headers)
        return headers

    def shutdown(self) -> None:
        """Export what is left and restore the patched libraries (tests trace one app)."""
        global _active
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor

        AsyncPGInstrumentor().uninstrument()  # type: ignore[no-untyped-call]
        RedisInstrumentor().uninstrument()
        self.provider.shutdown()
        if _active is self:
            _active = None


_active: Tracing | None = None


def active() -> Tracing | None:
    """This process's tracing, or None when it is off."""
    return _active


def start_from_environment(service_name: str) -> Tracing | None:
    """Start tracing as ``OTEL_*`` says, once per process; None when it is off."""
    if _active is not None:
        return _active
    if not requested():
        return None
    return start(service_name)


def start(service_name: str, *, exporter: SpanExporter | None = None) -> Tracing:
    """Start tracing: exporters from ``OTEL_TRACES_EXPORTER``, or ``exporter`` (spans handed
    over at once, for tests' in-memory exporter); ``service_name`` unless ``OTEL_SERVICE_NAME``
    (or ``OTEL_RESOURCE_ATTRIBUTES``) names the service."""
    global _active
    if _active is not None:
        raise RuntimeError("tracing is already started in this process")
    try:
        from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
        from opentelemetry.instrumentation.redis import RedisInstrumentor
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.sdk.trace.sampling import _get_from_env_or_default
    except ImportError as error:
        raise RuntimeError(
            f"{EXPORTER_VARIABLE} is set but the tracing packages are not installed: "
            "pip install 'issuegraph[tracing]'"
        ) from error

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: service_name}))
    # The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (the SDK's own reading of
    # them; parentbased_always_on when unset).
    provider = TracerProvider(
        resource=resource, sampler=_without_orphan_client_spans(_get_from_env_or_default())
    )
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        # Exported from a thread of the SDK's, in batches: nothing blocks the event loop.
        for configured in _exporters():
            provider.add_span_processor(BatchSpanProcessor(configured))
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        trace.set_tracer_provider(provider)  # for any library that traces on its own
    AsyncPGInstrumentor().instrument(tracer_provider=provider)  # type: ignore[no-untyped-call]
    RedisInstrumentor().instrument(tracer_provider=provider)
    _active = Tracing(provider)
    return _active


def _exporters() -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names, found as the SDK finds them (entry
    points), so an installed exporter package (zipkin, gRPC OTLP) works by its name."""
    exporters: list[SpanExporter] = []
    for name in os.environ.get(EXPORTER_VARIABLE, "").lower().split(","):
        name = name.strip()
        if name in ("", "none"):
            continue
        if name == "otlp":
            protocol = os.environ.get(
                "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
                os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            )
            name = "otlp_proto_grpc" if protocol.strip() == "grpc" else "otlp_proto_http"
        found = entry_points(group="opentelemetry_traces_exporter", name=name)
        if not found:
            raise RuntimeError(
                f"{EXPORTER_VARIABLE}: no span exporter named {name!r} is installed "
                "(issuegraph[tracing] brings `console` and `otlp` over HTTP)"
            )
        exporters.append(next(iter(found)).load()())
    return exporters


def _span_details(scope: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """``METHOD /path`` as the span name, with the id in a download path generalised."""
    path = str(scope.get("path", ""))
    if _DOWNLOAD_PATH.match(path):
        path = "/jobs/{id}/download"
    method = scope.get("method")
    return (f"{method} {path}" if method else path), {}


def _without_orphan_client_spans(delegate: Sampler) -> Sampler:
    """``delegate``, except that a database or Redis call made outside any request or job is
    dropped.

    A worker polls arq's queue in Redis every ``WORKER_POLL_DELAY_SECONDS`` and the sweeper
    scans the jobs table every few seconds: each call would start a trace of its own, one span
    long, drowning the traces of requests and jobs. A CLIENT span with no parent is such a call.
    """
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    class NoOrphanClientSpans(Sampler):
        def should_sample(
            self,
            parent_context: OtelContext | None,
            trace_id: int,
            name: str,
            kind: SpanKind | None = None,
            attributes: Attributes = None,
            links: Sequence[Link] | None = None,
            trace_state: Any = None,
        ) -> SamplingResult:
            if (
                kind is SpanKind.CLIENT
                and not trace.get_current_span(parent_context).get_span_context().is_valid
            ):
                return SamplingResult(Decision.DROP)
            return delegate.should_sample(
                parent_context, trace_id, name, kind, attributes, links, trace_state
            )

        def get_description(self) -> str:
            return f"NoOrphanClientSpans{{{delegate.get_description()}}}"

    return NoOrphanClientSpans()


class OperationSpan(SchemaExtension):
    """One span per GraphQL operation, around parsing, validation, the request policy and
    execution, named ``<type> <name>`` (OpenTelemetry's GraphQL conventions): the parent of
    the operation's loader batches, statements and Redis calls."""

    def __init__(self, *, tracer: Tracer) -> None:
        self.tracer = tracer

    def on_operation(self) -> Iterator[None]:
        with self.tracer.start_as_current_span("graphql") as span:
            yield
            ctx = self.execution_context
            document = ctx.graphql_document
            if document is None:  # did not parse
                return
            found = facts(document, ctx.operation_name)
            if found.operation is None:
                return
            kind = found.operation.operation.value
            name = found.operation.name.value if found.operation.name is not None else None
            span.update_name(f"{kind} {name}" if name else kind)
            span.set_attribute("graphql.operation.type", kind)
            if name:
                span.set_attribute("graphql.operation.name", name)


class JobSpans:
    """A span around each job run, continuing the trace stored in the job row (``jobs.deps``)."""

    def __init__(self, tracing: Tracing) -> None:
        self.tracer = tracing.tracer

    @contextmanager
    def run(
        self, name: str, carrier: Mapping[str, str] | None, attributes: dict[str, Any]
    ) -> Iterator[None]:
        parent = propagate.extract(carrier) if carrier else None
        with self.tracer.start_as_current_span(
            name, context=parent, kind=SpanKind.CONSUMER, attributes=attributes
        ):
            yield


def add_trace_ids(
    _: Any, __: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: the current span's ``trace_id`` and ``span_id`` on a log line
    (in the chain only while tracing is on, ``app.observability.logging``)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict
