"""uvicorn's HTTP protocol, with its refusal of bytes that are not HTTP answered like every
other refusal: JSON with a code, an ``X-Request-ID``, and a log line under that id.

uvicorn answers what its parser (httptools) cannot read (a NUL or control byte in a header, a
malformed request line, one too long) itself, before any ASGI app runs, with a plain-text
``400 Invalid HTTP request received.`` and no id. Only that answer is replaced here; the
connection still ends after it, as with uvicorn (the parser cannot find the next request), but
with a lingering close, as web servers do: closed at once while the client is still sending, the
connection ended with a reset, which can destroy the answer before the client has read it.
``issuegraph serve`` and ``dev`` run with it (``uvicorn.run(http=HttpProtocol)``).
"""

from __future__ import annotations

import uuid

import structlog
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.policy.errors import error_body

log = structlog.get_logger("issuegraph.access")
# After a refusal, how long the rest of the client's request is read and dropped before the
# connection is closed (unless the client closes first).
LINGER_SECONDS = 2.0


class HttpProtocol(HttpToolsProtocol):
    """httptools, as uvicorn runs it, with a JSON 400 for a request it cannot parse."""

    _refused = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped (the lingering close)
        super().data_received(data)

    def send_400_response(self, msg: str) -> None:
        request_id = uuid.uuid4().hex
        log.warning(
            "http.invalid_request",
            request_id=request_id,
            status=400,
            client=f"{self.client[0]}:{self.client[1]}" if self.client else None,
        )
        body = error_body("The request is not valid HTTP.", "BAD_REQUEST")
        head = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            head.append(name + b": " + value + b"\r\n")
        head += [
            b"content-type: application/json\r\n",
            b"content-length: " + str(len(body)).encode() + b"\r\n",
            b"cache-control: no-store\r\n",
            b"x-request-id: " + request_id.encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self._refused = True
        if self.transport.can_write_eof():
            self.transport.write_eof()  # our side is done; the client's close ends it
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
