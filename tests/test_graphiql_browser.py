"""GraphiQL offline (issue #6, item 5): the page at /graphql, its assets served by the app;
and the page of ``issuegraph dev`` (issue #15): opened with the demo token and query.

The browser tests run Debian's headless ``chromium`` (Playwright's sync API, in a thread, with
that executable: never ``playwright install``) against a real uvicorn server on 127.0.0.1 with
every other host blocked. One types the ``Authorization`` header into GraphiQL's headers
editor, runs ``{ viewer { name } }`` and reads the name in the result pane; one opens the dev
page, finds the token and the README's demo query already in the editors (also over what an
earlier run left in the browser's storage), runs it with one click and opens the Explorer.

They skip when chromium, Playwright or the fetched files (``make graphiql``) are missing; with
``ISSUEGRAPH_REQUIRE_BROWSER_TEST=1`` (CI) they fail instead. ``ISSUEGRAPH_GRAPHIQL_SCREENSHOT``
names a folder for screenshots of the results (``graphiql.png``, ``graphiql-dev.png``; default:
the test's tmp_path).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
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
from graphql import parse, print_ast
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from app.devtools.graphiql import (
    ASSETS,
    CDN_URL,
    DEMO_QUERY,
    VENDOR_URL,
    Prefill,
    graphiql_html,
    is_loopback,
    mount_static,
    prefill_for,
    render_page,
    vendored,
)
from app.main import create_app
from app.settings import Settings
from services import auth
from services.seed import seed_demo
from tests.fakes import live_server

try:
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import Page, Route, expect, sync_playwright

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
    # The Explorer plugin's 3.x line is the one built for GraphiQL 3 (with a UMD bundle).
    assert versions["@graphiql/plugin-explorer"].startswith("3.")
    explorer = {a.path for a in ASSETS if a.package == "@graphiql/plugin-explorer"}
    assert explorer == {"dist/index.umd.js", "dist/style.css"}
    # It reads the globals of React and GraphiQL: its script comes after theirs.
    scripts = [a.package for a in ASSETS if a.path.endswith(".js")]
    assert scripts[-1] == "@graphiql/plugin-explorer"


# -- the dev page's prefill ------------------------------------------------------------------


def readme_demo_query() -> str:
    """The first ``graphql`` block of the README's "Running it" section."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    section = readme.split("## Running it", 1)[1]
    match = re.search(r"```graphql\n(.*?)```", section, re.DOTALL)
    assert match is not None, "no graphql block in the README's 'Running it'"
    return match.group(1)


def test_the_dev_page_opens_with_the_readmes_demo_query() -> None:
    assert print_ast(parse(DEMO_QUERY)) == print_ast(parse(readme_demo_query()))


def test_a_page_without_prefill_carries_no_token() -> None:
    page = render_page(local=True)
    assert "var prefill = null;" in page
    assert "igt_" not in page


def test_the_prefill_is_escaped_for_the_script_it_sits_in() -> None:
    hostile = 'igt_"</script><script>alert(1)</script><!--\u2028'
    page = render_page(
        local=True, prefill=Prefill(hostile, query="{ __typename } # </script><!-- '\" \u2029")
    )
    # Only the page's own elements close: nothing embedded ends the inline script early or
    # opens a comment in it; line separators are escaped (older engines end strings at them).
    assert page.count("</script>") == sum(1 for a in ASSETS if a.path.endswith(".js")) + 1
    assert "<!--" not in page
    assert "\u2028" not in page
    assert "\u2029" not in page
    # ... and the browser reads back exactly what was embedded.
    literal = re.search(r"var prefill = (.*);\n", page)
    assert literal is not None
    embedded = json.loads(literal.group(1))
    assert json.loads(embedded["headers"]) == {"Authorization": f"Bearer {hostile}"}
    assert embedded["query"].endswith("\u2029")
    assert hostile not in repr(Prefill(hostile))  # no token in logs or tracebacks


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("localhost", True),
        ("LOCALHOST.", True),
        ("app.localhost", True),
        ("0.0.0.0", False),  # noqa: S104 (what the check refuses)
        ("::", False),
        ("192.168.1.10", False),
        ("example.com", False),
        ("localhost.example.com", False),
        ("", False),
        (None, False),
    ],
)
def test_what_counts_as_loopback(host: str | None, loopback: bool) -> None:
    assert is_loopback(host) is loopback


@pytest.mark.parametrize(
    ("server", "host_header", "embedded"),
    [
        (("127.0.0.1", 8000), "127.0.0.1:8000", True),
        (("127.0.0.1", 8000), "localhost:8000", True),
        (("::1", 8000), "[::1]:8000", True),
        # Bound beyond loopback (0.0.0.0 answers on a LAN address).
        (("192.168.1.10", 8000), "192.168.1.10:8000", False),
        # DNS rebinding: a web site's name resolved to 127.0.0.1 in the developer's browser.
        (("127.0.0.1", 8000), "attacker.example:8000", False),
        (("127.0.0.1", 8000), None, False),
        (None, "127.0.0.1", False),  # a Unix socket, or no address known
    ],
)
def test_a_request_gets_the_prefill_only_on_loopback_by_a_loopback_name(
    server: tuple[str, int] | None, host_header: str | None, embedded: bool
) -> None:
    prefill = Prefill("igt_demo")
    assert (prefill_for(prefill, server=server, host_header=host_header) is prefill) is embedded


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


async def page_over_asgi(app: FastAPI, base_url: str) -> httpx.Response:
    """GET /graphql as a browser would, with ``base_url``'s host as the server address and the
    ``Host`` header."""
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url=base_url) as client,
    ):
        return await client.get("/graphql", headers={"Accept": "text/html"})


async def test_the_dev_page_carries_the_token_on_loopback_only(settings: Settings) -> None:
    token = "igt_only-on-loopback"
    dev = create_app(settings, graphiql_prefill=Prefill(token))
    page = await page_over_asgi(dev, "http://127.0.0.1:8000")
    assert f"Bearer {token}" in page.text
    assert page.headers["cache-control"] == "no-store"
    # The same app asked by another name, or on another address: no token.
    for base_url in ("http://attacker.example:8000", "http://192.168.1.10:8000"):
        other = await page_over_asgi(dev, base_url)
        assert other.status_code == 200
        assert token not in other.text, base_url
        assert "var prefill = null;" in other.text


async def test_a_server_not_bound_to_loopback_refuses_the_token(settings: Settings) -> None:
    token = "igt_never-published"
    for host in ("0.0.0.0", "::", "192.168.1.10"):  # noqa: S104 (no server binds here)
        app = create_app(
            settings.model_copy(update={"host": host}), graphiql_prefill=Prefill(token)
        )
        # Even a request that arrives on loopback: the server listens beyond it.
        page = await page_over_asgi(app, "http://127.0.0.1:8000")
        assert token not in page.text, host
        assert "var prefill = null;" in page.text


async def test_the_app_serves_the_offline_page(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with serving(settings, monkeypatch) as base, httpx.AsyncClient(base_url=base) as http:
        page = await http.get("/graphql", headers={"Accept": "text/html"})
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert "GraphiQL.createFetcher" in page.text
        assert "GraphiQLPluginExplorer.explorerPlugin()" in page.text
        assert (VENDOR_URL if VENDORED else CDN_URL) in page.text
        # A server that is not `issuegraph dev` puts no token in its page.
        assert "var prefill = null;" in page.text
        assert "Bearer igt_" not in page.text
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


def let_the_browser_thread_block(
    request: pytest.FixtureRequest, driver: str = "drive_graphiql"
) -> None:
    """Playwright's sync API runs an event loop of its own in the browser's thread (in a
    greenlet): its file and pipe calls are not on the app's loop. Only frames of that thread
    are let through; the server, on the test's loop, is checked as everywhere."""
    bb: BlockBuster = request.getfixturevalue("_blockbuster")
    for function in bb.functions.values():
        function.can_block_in("playwright/sync_api/_context_manager.py", "greenlet_main")
        function.can_block_in("tests/test_graphiql_browser.py", [driver, "only_local"])


def need_a_browser(request: pytest.FixtureRequest, driver: str = "drive_graphiql") -> None:
    need(HAVE_PLAYWRIGHT, "Playwright for Python is not installed")
    need(CHROMIUM, "no chromium executable (apt-get install chromium)")
    need(VENDORED, "GraphiQL's files are not fetched (`make graphiql`, needs npm)")
    let_the_browser_thread_block(request, driver)


def screenshot_path(tmp_path: Path, name: str = "graphiql.png") -> Path:
    """Where a browser test's screenshot goes: ``ISSUEGRAPH_GRAPHIQL_SCREENSHOT`` (a folder),
    else the test's tmp_path."""
    folder = os.environ.get("ISSUEGRAPH_GRAPHIQL_SCREENSHOT")
    return Path(folder) / name if folder else tmp_path / name


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


# -- the dev page in the browser -------------------------------------------------------------

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
HEADERS_EDITOR = (
    '.graphiql-editor-tool[aria-label="Headers"] .graphiql-editor:not(.hidden) .CodeMirror'
)
#: What an earlier `issuegraph dev` run leaves in GraphiQL's storage: another token (revoked
#: with that run's database), another query, variables that do not parse.
STALE_STORAGE = """
(() => {
  const headers = '{"Authorization": "Bearer igt_from-an-earlier-run"}';
  const tab = {id: "earlier", title: "Earlier", query: "{ __typename }", variables: "{ broken",
               headers: headers, operationName: null, response: null};
  localStorage.setItem("graphiql:tabState", JSON.stringify({activeTabIndex: 0, tabs: [tab]}));
  localStorage.setItem("graphiql:query", tab.query);
  localStorage.setItem("graphiql:variables", tab.variables);
  localStorage.setItem("graphiql:headers", headers);
  localStorage.setItem("graphiql:shouldPersistHeaders", "true");
  localStorage.setItem("issuegraph:graphiql-prefill", "an-earlier-run");
})();
"""


@dataclass
class DevOutcome:
    opened: list[tuple[str, str]] = field(default_factory=list)  # (query, headers) per load
    results: list[str] = field(default_factory=list)  # the result pane after each run
    explorer: str = ""  # the Explorer's text once opened
    kept_edit: str = ""  # the query editor after an edit and a reload
    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def drive_dev_graphiql(base_url: str, screenshot: Path) -> DevOutcome:
    """Open the dev page with only 127.0.0.1 reachable, in a fresh browser profile and in one
    with an earlier run's storage; each time read both editors and press run, touching nothing
    else. In the fresh one, open the Explorer, then edit the query and reload."""
    assert CHROMIUM is not None
    outcome = DevOutcome()

    def only_local(route: Route) -> None:
        url = route.request.url
        outcome.requested.append(url)
        if urlsplit(url).hostname in LOCAL_HOSTS:
            route.continue_()
        else:
            outcome.blocked.append(url)
            route.abort("internetdisconnected")

    def editor_text(page: Page, selector: str) -> str:
        locator = page.locator(selector)
        expect(locator).to_be_visible(timeout=15_000)
        text: str = locator.evaluate("element => element.CodeMirror.getValue()")
        return text

    def open_and_run(page: Page) -> None:
        page.goto(f"{base_url}/graphql", wait_until="load")
        outcome.opened.append((editor_text(page, QUERY_EDITOR), editor_text(page, HEADERS_EDITOR)))
        page.locator(".graphiql-execute-button").click()
        expect(page.locator(".graphiql-response")).to_contain_text('"data"', timeout=15_000)
        outcome.results.append(editor_text(page, ".graphiql-response .CodeMirror"))

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--disable-background-networking",
                "--no-first-run",
            ],
        )
        try:
            fresh = browser.new_context(viewport={"width": 1400, "height": 800})
            fresh.route("**/*", only_local)
            page = fresh.new_page()
            page.on("pageerror", lambda error: outcome.errors.append(str(error)))
            try:
                open_and_run(page)
                page.screenshot(path=str(screenshot))

                page.get_by_role("button", name="Show GraphiQL Explorer").click()
                explorer = page.locator(".graphiql-explorer-root")
                expect(explorer).to_contain_text("workspace", timeout=15_000)
                outcome.explorer = explorer.inner_text()
                page.screenshot(path=str(screenshot.with_name(f"{screenshot.stem}-explorer.png")))

                # The user's edit survives a reload: the prefill is given once per token.
                page.locator(QUERY_EDITOR).click()
                page.keyboard.press("ControlOrMeta+A")
                page.keyboard.insert_text("{ viewer { email } }")
                page.wait_for_function(
                    "() => (localStorage.getItem('graphiql:tabState') || '').includes('email')"
                )
                page.reload(wait_until="load")
                outcome.kept_edit = editor_text(page, QUERY_EDITOR)
            except PlaywrightError:
                with contextlib.suppress(PlaywrightError):
                    page.screenshot(path=str(screenshot))
                raise

            earlier = browser.new_context(viewport={"width": 1400, "height": 800})
            earlier.route("**/*", only_local)
            earlier.add_init_script(STALE_STORAGE)
            page = earlier.new_page()
            page.on("pageerror", lambda error: outcome.errors.append(str(error)))
            open_and_run(page)
        finally:
            browser.close()
    return outcome


async def demo_token(session_factory: async_sessionmaker[AsyncSession]) -> str:
    """What `issuegraph dev` does before it serves: the demo workspace and a token for it."""
    async with session_factory() as session:
        seeded = await seed_demo(session)
        token = await auth.create_token(session, email=seeded.email, label="demo")
        await session.commit()
    return token


async def test_the_dev_page_opens_ready_to_run_with_the_internet_blocked(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    need_a_browser(request, "drive_dev_graphiql")
    token = await demo_token(session_factory)

    async with live_server(settings, graphiql_prefill=Prefill(token)) as base_url:
        outcome = await asyncio.to_thread(
            drive_dev_graphiql, base_url, screenshot_path(tmp_path, "graphiql-dev.png")
        )

    # Fresh, and over an earlier run's storage: the demo query and this run's token.
    assert len(outcome.opened) == 2
    for query, headers in outcome.opened:
        assert query == DEMO_QUERY
        assert json.loads(headers) == {"Authorization": f"Bearer {token}"}
    # One click: the demo workspace's data, not an authentication error.
    for result in outcome.results:
        body = json.loads(result)
        assert "errors" not in body, result
        assert body["data"]["viewer"]["name"] == "Demo User"
        [project] = body["data"]["workspace"]["projects"]["edges"]
        assert project["node"]["key"] == "DEMO"
        assert project["node"]["issues"]["edges"][0]["node"]["identifier"].startswith("DEMO-")
    # The Explorer lists the schema's root fields.
    for name in ("viewer", "workspace", "searchIssues"):
        assert name in outcome.explorer
    assert outcome.kept_edit == "{ viewer { email } }"
    assert outcome.errors == []
    assert outcome.blocked == []
    for asset in ASSETS:
        assert f"{base_url}{VENDOR_URL}/{asset.relpath}" in outcome.requested
