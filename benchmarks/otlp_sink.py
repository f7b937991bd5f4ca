"""A local OTLP/HTTP trace collector that accepts and discards: the other end of
`issuegraph-traced` in `make bench` (benchmarks/README.md), so tracing's cost is measured with
the real exporter sending over HTTP, on this machine, without a collector to install.

    python -m benchmarks.otlp_sink --port 18108

``POST /v1/traces`` (protobuf) is answered 200 with an empty ``ExportTraceServiceResponse``
(an empty protobuf message); the spans are counted, not kept. ``GET /stats`` returns the
counts as JSON. Written here rather than run as the OpenTelemetry Collector: that is a Go
binary this harness could not install from the package registries it uses.
"""

from __future__ import annotations

import argparse
from typing import Any

import orjson
import uvicorn
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from starlette.types import Receive, Scope, Send

_stats = {"requests": 0, "bytes": 0, "spans": 0}


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            break
    if scope["method"] == "POST" and scope["path"] == "/v1/traces":
        request = ExportTraceServiceRequest.FromString(body)
        _stats["requests"] += 1
        _stats["bytes"] += len(body)
        _stats["spans"] += sum(
            len(scoped.spans) for spans in request.resource_spans for scoped in spans.scope_spans
        )
        await _answer(send, 200, b"", b"application/x-protobuf")
    elif scope["method"] == "GET" and scope["path"] == "/stats":
        await _answer(send, 200, orjson.dumps(_stats), b"application/json")
    else:
        await _answer(send, 404, b"", b"text/plain")


async def _answer(send: Send, status: int, body: bytes, content_type: bytes) -> None:
    headers: list[Any] = [(b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=18108)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
