"""GraphiQL offline (issue #6, item 5): the page at /graphql, its assets served by the app.

The browser test runs Debian's headless ``chromium`` (Playwright's sync API, in a thread, with
that executable: never ``playwright install``) against a real uvicorn server on 127.0.0.1 with
every other host blocked, types the ``Authorization`` header into GraphiQL's headers editor,
runs ``{ viewer { name } }`` and reads the name in the result pane.

It skips when chromium, Playwright or the fetched files (``make graphiql``) are missing; with
``ISSUEGRAPH_REQUIRE_BROWSER_TEST=1`` (CI) it fails instead. ``ISSUEGRAPH_GRAPHIQL_SCREENSHOT``
names a file for a screenshot of the result (default: the test's tmp_path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
import pytest
from blockbuster import BlockBuster
from fastapi import FastAPI
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from app.graphiql import (
    ASSETS,
    CDN_URL,
    VENDOR_URL,
    graphiql_html,
    mount_static,
    render_page,
    vendored,
)
from app.settings import Settings
from tests.fakes import live_server

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Route, expect, sync_playwright

    HAVE_PLAYWRIGHT = True
except ImportError:  # pragma: no cover - the dev extra installs it
    HAVE_PLAYWRIGHT = False

REQUIRE = os.environ.get("ISSUEGRAPH_REQUIRE_BROWSER_TEST") == "1"
# Looked up once, at import (no file system calls on the event loop later).
CHROMIUM = os.environ.get("ISSUEGRAPH_CHROMIUM") or shutil.which("chromium")
VENDORED = vendored()
LOCAL_HOSTS = {"127.0.0.1"}


def need(condition: object, reason: str) -> None:
    if not condition:
        if REQUIRE:
            pytest.fail(f"{reason} (ISSUEGRAPH_REQUIRE_BROWSER_TEST=1)")
        pytest.skip(reason)


# -- the page ------------------------------------------------------------------------------


def test_the_page_loads_the_served_files_once_fetched(tmp_path: Path) -> None:
    assert not vendored(tmp_path)
    for asset in ASSETS:
        target = tmp_path / asset.relpath
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("")
    assert vendored(tmp_path)

    page = render_page(local=True)
    for asset in ASSETS:
        assert f'"{VENDOR_URL}/{asset.relpath}" integrity="{asset.integrity}"' in page
    assert CDN_URL not in page


async def test_without_the_files_the_page_falls_back_to_the_cdn(tmp_path: Path) -> None:
    page = await graphiql_html(tmp_path / "nothing-fetched")
    for asset in ASSETS:
        assert f'"{CDN_URL}/{asset.relpath}" integrity="{asset.integrity}"' in page
    assert VENDOR_URL not in page


def test_the_pins_are_react_18_and_graphiql_3() -> None:
    versions = {asset.package: asset.version for asset in ASSETS}
    assert versions["react"] == versions["react-dom"] == "18.3.1"
    assert versions["graphiql"].startswith("3.")


async def test_the_vendor_folder_is_served_and_404s_when_empty(tmp_path: Path) -> None:
    app = FastAPI()
    mount_static(app, tmp_path / "vendor")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        missing = await client.get(f"{VENDOR_URL}/{ASSETS[0].relpath}")
        assert missing.status_code == 404  # not fetched: a 404, not a 500

        await anyio.to_thread.run_sync(write_file, tmp_path / "vendor" / "x" / "a.js", "ok();")
        found = await client.get(f"{VENDOR_URL}/x/a.js")
        assert found.status_code == 200
        assert found.text == "ok();"
        assert found.headers["content-type"] == "text/javascript; charset=utf-8"


def write_file(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# -- the app -------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def serving(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """The app served by uvicorn on a free local port: its base URL."""
    async with live_server(settings) as base_url:
        yield base_url


async def test_the_app_serves_the_offline_page(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(settings, monkeypatch) as base, httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "GraphiQL.createFetcher" in page.text
        assert (VENDOR_URL if VENDORED else CDN_URL) in page.text
        if VENDORED:
            for asset in ASSETS:
                served = await http.get(f"{VENDOR_URL}/{asset.relpath}")
                assert served.status_code == 200, asset


# -- in the browser ------------------------------------------------------------------------


@dataclass
class Outcome:
    results: list[str] = field(default_factory=list)  # the result pane after each operation
    requested: list[str] = field(default_factory=list)  # every URL the page asked for
    blocked: list[str] = field(default_factory=list)  # ... of which not on 127.0.0.1
    errors: list[str] = field(default_factory=list)  # uncaught errors in the page


def drive_graphiql(
    base_url: str, token: str, steps: list[tuple[str, str]], screenshot: Path
) -> Outcome:
    """Open GraphiQL with only 127.0.0.1 reachable, type the header as a user would, then run
    each ``(operation, expected text)`` in turn and wait for its result; a screenshot of the
    first result."""
    assert CHROMIUM is not None
    outcome = Outcome()

    def only_local(route: Route) -> None:
        url = route.request.url
        outcome.requested.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outcome.blocked.append(url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            # Offline below the page too: no name but 127.0.0.1 resolves, no background traffic.
            args=[
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        context = browser.new_context(viewport={"width": 1400, "height": 800})
        context.route("**/*", only_local)
        page = context.new_page()
        page.on("pageerror", lambda error: outcome.errors.append(str(error)))
        try:
            page.goto(f"{base_url}/graphql", wait_until="load")
            query_editor = page.locator(".graphiql-query-editor .CodeMirror")
            expect(query_editor).to_be_visible(timeout=15_000)

            # The headers editor: its tab, then replace its text.
            page.locator(".graphiql-editor-tools").get_by_role("button", name="Headers").click()
            page.locator(".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror").click()
            page.keyboard.press("ControlOrMeta+A")
            page.keyboard.insert_text(f'{{\n  "Authorization": "Bearer {token}"\n}}')

            for operation, expected in steps:
                query_editor.click()
                page.keyboard.press("ControlOrMeta+A")
                page.keyboard.insert_text(operation)
                # GraphiQL parses the editor's text after a short debounce; the fetcher picks
                # the transport (HTTP, or the WebSocket for a subscription) from that parse.
                page.wait_for_timeout(500)
                page.locator(".graphiql-execute-button").click()
                response = page.locator(".graphiql-response")
                expect(response).to_contain_text(expected, timeout=15_000)
                outcome.results.append(response.inner_text())
                if len(outcome.results) == 1:
                    page.screenshot(path=str(screenshot))
        except PlaywrightError:
            with contextlib.suppress(PlaywrightError):
                page.screenshot(path=str(screenshot))
            raise
        finally:
            browser.close()
    return outcome


def let_the_browser_thread_block(request: pytest.FixtureRequest) -> None:
    """Playwright's sync API runs an event loop of its own in the browser's thread (in a
    greenlet): its file and pipe calls are not on the app's loop. Only frames of that thread
    are let through; the server, on the test's loop, is checked as everywhere."""
    bb: BlockBuster = request.getfixturevalue("_blockbuster")
    for function in bb.functions.values():
        function.can_block_in("playwright/sync_api/_context_manager.py", "greenlet_main")
        function.can_block_in("tests/test_graphiql_browser.py", ["drive_graphiql", "only_local"])


def need_a_browser(request: pytest.FixtureRequest) -> None:
    need(HAVE_PLAYWRIGHT, "Playwright for Python is not installed")
    need(CHROMIUM, "no chromium executable (apt-get install chromium)")
    need(VENDORED, "GraphiQL's files are not fetched (`make graphiql`, needs npm)")
    let_the_browser_thread_block(request)


def screenshot_path(tmp_path: Path) -> Path:
    return Path(os.environ.get("ISSUEGRAPH_GRAPHIQL_SCREENSHOT") or tmp_path / "graphiql.png")


async def test_graphiql_runs_a_query_with_the_internet_blocked(
    settings: Settings,
    make_person: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    need_a_browser(request)
    viewer = await make_person("Grace Offline")

    async with serving(settings, monkeypatch) as base_url:
        outcome = await asyncio.to_thread(
            drive_graphiql,
            base_url,
            viewer.token,
            [("{ viewer { name } }", viewer.name)],
            screenshot_path(tmp_path),
        )

    [result] = outcome.results
    assert '"name": "Grace Offline"' in result, result
    assert outcome.errors == []
    # Nothing needed the internet: every file came from the app.
    assert outcome.blocked == []
    for asset in ASSETS:
        assert f"{base_url}{VENDOR_URL}/{asset.relpath}" in outcome.requested


async def server_sends_binary_frames(base_url: str, token: str) -> bool:
    """Whether graphql-transport-ws messages come as binary WebSocket frames: browsers' clients
    (graphql-ws in GraphiQL) cannot read them ("Message is missing the 'type' property")."""
    ws_url = base_url.replace("http://", "ws://") + "/graphql"
    async with ws_connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        async with asyncio.timeout(10):
            ack = await ws.recv()
    return isinstance(ack, bytes)


async def test_graphiql_subscribes_with_the_headers_over_the_websocket(
    settings: Settings,
    make_person: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """The headers go into ``connection_init``: without them the socket is refused, with them
    the resolver answers (here: no such job)."""
    need_a_browser(request)
    viewer = await make_person("Sub Scriber")

    async with serving(settings, monkeypatch) as base_url:
        # Browser graphql-ws clients reject binary frames: messages must go out as text.
        assert not await server_sends_binary_frames(base_url, viewer.token)
        outcome = await asyncio.to_thread(
            drive_graphiql,
            base_url,
            viewer.token,
            [('subscription { jobUpdates(id: "no-such-job") { status } }', "Job not found.")],
            tmp_path / "subscription.png",
        )

    [result] = outcome.results
    assert '"code": "NOT_FOUND"' in result, result
    assert outcome.blocked == []
