"""GraphQL over HTTP: response media types, status codes and caching (docs/security.md,
"Transport"), used by the router in app.main.

- ``Accept: application/graphql-response+json`` gets that media type, and a request error
  (the document does not parse or validate, variables do not coerce: no execution) gets
  HTTP 400 with no ``data`` entry, as the GraphQL-over-HTTP specification says.
- ``application/json`` (also ``*/*``, ``application/*``, or no ``Accept``) keeps the legacy
  behaviour: HTTP 200 with ``"data": null`` and the errors.
- An ``Accept`` naming neither is refused with 406 before anything runs.
"""

from __future__ import annotations

from dataclasses import dataclass

from graphql import GraphQLError

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"


def negotiate(accept: str | None) -> str | None:
    """The response media type for an ``Accept`` header; None when it accepts neither."""
    if accept is None or not accept.strip():
        return JSON
    best: tuple[float, int, str] | None = None
    for part in accept.split(","):
        media, _, parameters = part.partition(";")
        media = media.strip().lower()
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value.strip())
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        if media == GRAPHQL_RESPONSE_JSON:
            candidate = (quality, 2, GRAPHQL_RESPONSE_JSON)
        elif media == JSON:
            candidate = (quality, 1, JSON)
        elif media in ("application/*", "*/*"):
            candidate = (quality, 0, JSON)  # a wildcard gets the legacy default
        else:
            continue
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return best[2] if best is not None else None


def is_request_error(data: object, errors: list[GraphQLError] | None) -> bool:
    """Errors before execution (parse, validation, coercion, refusals): no data, no paths."""
    return data is None and bool(errors) and all(error.path is None for error in errors or ())


@dataclass(frozen=True)
class HTTPCachePolicy:
    """``Cache-Control`` for answers to GET queries (mutations never run over GET).

    Only an answer without errors is cacheable. A request that carried a token gets a
    viewer's answer: ``private`` (a browser may keep it; a shared cache never). A request
    without one could only select meta fields (docs/architecture.md, error policy), the same
    for everyone: ``public``. ``Vary: Accept, Authorization`` goes on every GET answer.
    """

    public_max_age: int = 300
    private_max_age: int = 0

    def header(self, *, ok: bool, authorized: bool) -> str:
        if not ok:
            return "no-store"
        if authorized:
            if self.private_max_age > 0:
                return f"private, max-age={self.private_max_age}"
            return "private, no-cache"
        if self.public_max_age > 0:
            return f"public, max-age={self.public_max_age}"
        return "no-cache"
