"""Transport fuzz over a real socket (issue 13): whatever the bytes, a coded 4xx, never a 5xx,
and the connection stays usable.

Hypothesis (derandomized, so CI runs the same examples every time) writes requests by hand
(tests/raw_http.py) to a real uvicorn serving the app: random bodies (bytes; JSON truncated,
BOM-prefixed, in UTF-16 or Latin-1, nested up to 100,000 deep, with invalid UTF-8 or huge
numbers), content types (JSON with odd charsets, GraphQL, forms, multipart with bad
boundaries, text, none), header values (non-ASCII bytes, very long, a duplicated or bad
``Authorization``), query strings (junk, broken percent-encoding), to ``/graphql``,
``/jobs/<junk>/download``, ``/healthz`` and ``/readyz``. Every answer must be below 500;
every 4xx must be JSON with ``errors[0].extensions.code``, carry ``X-Request-ID`` and have its
log line under that id; and the same connection must then answer a valid request.

Bytes uvicorn's parser cannot read as HTTP (a control byte in a header, a request line too
long, garbage) never reach the app: they get the same kind of JSON 400 from the server's
protocol (app/graphql/http_protocol.py), and then a clean close, the one case where the connection
ends (the parser cannot find where the next request would start).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from app.graphql import http_protocol
from app.settings import Settings
from tests.fakes import live_server
from tests.jobs_support import eventually
from tests.raw_http import Answer, ConnectionDropped, RawConnection, request
from tests.test_observability import captured_logs

EXAMPLES = 1_000
VALID = b'{"query": "{ viewer { name } }"}'
# Bytes a header value may hold (RFC 9110 field-vchar, obs-text, SP, HTAB), which reach the
# app; and any byte but CR and LF (which would end the header), control bytes included, which
# the server's parser refuses.
HEADER_BYTES = [9, *range(32, 127), *range(128, 256)]
ANY_BUT_CRLF = [b for b in range(256) if b not in (10, 13)]
# Characters of a request target that uvicorn's parser takes as they are.
TARGET_CHARS = "".join(chr(c) for c in range(33, 127) if chr(c) not in "#")


@dataclass(frozen=True)
class Case:
    method: str
    target: str
    body: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)

    def raw(self) -> bytes:
        return request(self.method, self.target, self.body, self.headers)


# -- bodies ---------------------------------------------------------------------------------------


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


operations = st.fixed_dictionaries(
    {"query": st.sampled_from(["{ viewer { name } }", "{ __typename }", "query { viewer {"])},
    optional={
        "variables": st.one_of(st.none(), st.dictionaries(st.text(max_size=5), st.integers())),
        "operationName": st.one_of(st.none(), st.text(max_size=10), st.integers()),
        "extensions": st.one_of(
            st.none(),
            st.just({"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}),
            st.just({"persistedQuery": "nope"}),
        ),
    },
).map(_json)


@st.composite
def nested(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([10, 1_000, 1_025, 5_000, 100_000]))
    kind = draw(st.sampled_from(["array", "object", "variables", "unclosed"]))
    if kind == "array":
        return b"[" * depth + b"]" * depth
    if kind == "object":
        return b'{"a":' * depth + b"1" + b"}" * depth
    if kind == "variables":
        inner = b"[" * depth + b"]" * depth
        return b'{"query": "{ viewer { name } }", "variables": {"v": ' + inner + b"}}"
    return b"[" * depth


@st.composite
def reencoded(draw: st.DrawFn) -> bytes:
    """A JSON operation in another encoding, with a BOM, truncated or corrupted."""
    text = draw(operations).decode() + draw(st.sampled_from(["", "é", "\u2603", "\U0001f600"]))
    how = draw(st.sampled_from(["utf-16", "utf-16-le", "latin-1", "bom", "truncated", "bad-utf8"]))
    if how == "bom":
        return b"\xef\xbb\xbf" + text.encode()
    if how == "truncated":
        data = text.encode()
        return data[: draw(st.integers(0, max(0, len(data) - 1)))]
    if how == "bad-utf8":
        return b'{"query": "{ viewer { name } }", "operationName": "\xff\xfe\xc3"}'
    return text.encode(how, errors="replace")


huge_numbers = st.sampled_from(
    [
        b'{"query": "{ viewer { name } }", "variables": {"n": ' + b"9" * 5_000 + b"}}",
        b'{"query": "query($n: Int) { workspaces(first: $n) { totalCount } }", '
        b'"variables": {"n": 1e400}}',
        b'{"query": "query($n: Int) { workspaces(first: $n) { totalCount } }", '
        b'"variables": {"n": 99999999999999999999}}',
        b"-" + b"1" * 10_000,
    ]
)

bodies = st.one_of(
    st.binary(max_size=512),
    operations,
    nested(),
    reencoded(),
    huge_numbers,
    st.sampled_from([b"", b"null", b"[]", b"[{}]", b"query { viewer { name } }", b"a=1&b=%zz"]),
)


# -- headers --------------------------------------------------------------------------------------

content_types = st.sampled_from(
    [
        None,
        b"application/json",
        b"application/json; charset=utf-8",
        b"application/json; charset=UTF-16",
        b"application/json; charset=latin-1",
        b"application/json; charset=bogus",
        b"application/json; charset",
        b"APPLICATION/JSON",
        b"application/graphql-response+json",
        b"application/graphql",
        b"application/x-www-form-urlencoded",
        b"multipart/form-data",
        b"multipart/form-data; boundary=",
        b"multipart/form-data; boundary=xyz",
        b'multipart/form-data; boundary="unterminated',
        b"text/plain",
        b"text/html; charset=utf-7",
        b"*/*",
        b"application/json\xe9\xff",
    ]
)
_valid_values = st.binary(max_size=64).map(
    lambda b: bytes(HEADER_BYTES[x % len(HEADER_BYTES)] for x in b)
)
header_values = st.one_of(
    # Mostly values the app sees; now and then one the parser refuses (the connection ends).
    *[_valid_values] * 6,
    st.binary(min_size=1, max_size=16).map(
        lambda b: bytes(ANY_BUT_CRLF[x % len(ANY_BUT_CRLF)] for x in b)
    ),
    st.sampled_from([b"", b" ", b"\xff" * 3, b"\xc3\xa9t\xc3\xa9", b"a" * 16_000]),
)


@st.composite
def authorizations(draw: st.DrawFn, token: str) -> list[tuple[bytes, bytes]]:
    valid = b"Bearer " + token.encode()
    choice = draw(
        st.sampled_from(["none", "valid", "bad", "basic", "empty", "twice", "junk", "long"])
    )
    values = {
        "none": [],
        "valid": [valid],
        "bad": [b"Bearer igt_nope"],
        "basic": [b"Basic dXNlcjpwYXNz"],
        "empty": [b"Bearer "],
        "twice": [valid, b"Bearer igt_other"],
        "junk": [b"Bearer " + draw(header_values)],
        "long": [b"Bearer " + b"x" * 20_000],
    }[choice]
    return [(b"Authorization", value) for value in values]


extra_header_names = st.sampled_from(
    [b"X-Request-ID", b"Accept", b"Accept-Charset", b"Content-Encoding", b"X-Junk", b"Cookie"]
)


# -- targets --------------------------------------------------------------------------------------

junk_text = st.text(alphabet=TARGET_CHARS, max_size=40)
broken_percent = st.sampled_from(["%", "%z", "%zz", "%e9", "%ff%fe", "%00", "%C3%28", "%u00e9"])
query_strings = st.one_of(
    st.just(""),
    st.tuples(junk_text, broken_percent, junk_text).map(lambda t: "?query=" + "".join(t)),
    st.tuples(broken_percent, junk_text).map(lambda t: "?" + "".join(t)),
    st.just("?query=%7B%20viewer%20%7B%20name%20%7D%20%7D&variables=%5B" + "%5B" * 2_000),
    st.just("?query={viewer{name}}&variables={&operationName=%ff"),
    st.just("?extensions=%7B%22persistedQuery%22%3A1%7D"),
)
downloads = st.one_of(
    st.builds(lambda junk: f"/jobs/{junk or 'x'}/download", junk_text),
    st.sampled_from(["/jobs/Sm9iOjE=/download", "/jobs/%ff/download", "/jobs//download"]),
)


@st.composite
def cases(draw: st.DrawFn, token: str) -> Case:
    # What the request is, first: most of the weight on bodies POSTed to /graphql.
    kind = draw(st.sampled_from(["post"] * 6 + ["get"] * 2 + ["download", "health", "other"]))
    headers: list[tuple[bytes, bytes]] = []
    content_type = None
    if kind in ("post", "other"):
        # Half the bodies as JSON, so the body parsers see them, not only the media check.
        content_type = draw(st.one_of(st.just(b"application/json"), content_types))
    if content_type is not None:
        headers.append((b"Content-Type", content_type))
    headers += draw(authorizations(token))
    for _ in range(draw(st.integers(0, 3))):
        headers.append((draw(extra_header_names), draw(header_values)))
    if kind == "post":
        return Case("POST", "/graphql" + draw(query_strings), draw(bodies), headers)
    if kind == "get":
        return Case("GET", "/graphql" + draw(query_strings), b"", headers)
    if kind == "download":
        return Case("GET", draw(downloads) + draw(query_strings), b"", headers)
    if kind == "health":
        path = draw(st.sampled_from(["/healthz", "/readyz"]))
        return Case("GET", path + draw(query_strings), b"", headers)
    method = draw(st.sampled_from(["PUT", "DELETE", "OPTIONS", "PATCH", "POST"]))
    path = draw(st.one_of(downloads, st.sampled_from(["/graphql", "/healthz", "/nowhere"])))
    return Case(method, path + draw(query_strings), draw(bodies), headers)


# -- the check ------------------------------------------------------------------------------------


def assert_coded_refusal(answer: Answer) -> None:
    assert (answer.header("content-type") or "").startswith(
        ("application/json", "application/graphql-response+json")
    ), answer.headers
    body = answer.json()
    code = body["errors"][0]["extensions"]["code"]
    assert isinstance(code, str), body
    assert code, body


async def logged(logs: list[dict[str, Any]], request_id: str) -> bool:
    return any(
        line["event"] in ("http.request", "http.slow_request", "http.invalid_request")
        and line.get("request_id") == request_id
        for line in logs
    )


async def check(base: str, case: Case, token: str, logs: list[dict[str, Any]]) -> None:
    connection = await RawConnection.open(base)
    try:
        try:
            answer = await connection.exchange(case.raw(), case.method, within=30)
        except ConnectionDropped:
            pytest.fail(f"connection dropped without an answer: {case!r}"[:2000])
        assert answer.status < 500, (answer.status, answer.body[:500], case)
        if answer.status >= 400:
            assert_coded_refusal(answer)
        request_id = answer.header("x-request-id")
        assert request_id, answer.headers
        await eventually(
            lambda: logged(logs, request_id), within=10, what=f"a log line for {request_id}"
        )
        if answer.closes:
            assert await connection.at_eof(), "the server's close was not clean"
            return
        follow = await connection.exchange(
            request(
                "POST",
                "/graphql",
                VALID,
                [
                    (b"Content-Type", b"application/json"),
                    (b"Authorization", b"Bearer " + token.encode()),
                ],
            ),
            within=30,
        )
        assert follow.status == 200, (follow.status, follow.body[:500], case)
        assert follow.json()["data"]["viewer"]["name"] == "Fuzzer"
    finally:
        await connection.close()


@pytest.fixture
async def fuzz_server(settings: Settings) -> AsyncIterator[str]:
    # One executor (the production default): the fuzz is about the transport, and the
    # differential mode would only double the time of every valid operation.
    async with live_server(settings.model_copy(update={"execution_engine": "compiled"})) as base:
        yield base


@pytest.mark.timeout(300)
async def test_transport_fuzz(fuzz_server: str, make_person: Any) -> None:
    person = await make_person("Fuzzer")
    loop = asyncio.get_running_loop()

    @hypothesis_settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @given(case=cases(person.token))
    def fuzz(case: Case) -> None:
        # Hypothesis drives from a thread; each example runs on the server's event loop.
        asyncio.run_coroutine_threadsafe(check(fuzz_server, case, person.token, logs), loop).result(
            timeout=120
        )

    with captured_logs(http_protocol.log) as logs:
        await asyncio.to_thread(fuzz)


@pytest.mark.parametrize(
    "raw",
    [
        b"GET /graphql?query=" + b"a" * 200_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Bad: \x80\xff\x01\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Name: a\r\n\r\n",
        b"GET /h\xffealthz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"NOT HTTP AT ALL\r\n\r\n",
    ],
    ids=[
        "long-request-line",
        "nul-in-header",
        "control-byte-in-header",
        "space-in-header-name",
        "raw-byte-in-path",
        "negative-content-length",
        "garbage",
    ],
)
async def test_what_is_not_http_gets_a_json_400_and_a_clean_close(
    fuzz_server: str, raw: bytes
) -> None:
    connection = await RawConnection.open(fuzz_server)
    try:
        with captured_logs(http_protocol.log) as logs:
            answer = await connection.exchange(raw, "GET", within=30)
        assert answer.status == 400, answer.body
        assert_coded_refusal(answer)
        request_id = answer.header("x-request-id")
        assert request_id, answer.headers
        assert await logged(logs, request_id), logs
        assert answer.closes, answer.headers
        assert await connection.at_eof()
    finally:
        await connection.close()
