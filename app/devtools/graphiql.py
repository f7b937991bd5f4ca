"""GraphiQL that works offline (issue #6): our page for ``GET /graphql`` and its assets.

Strawberry's own page loads React and GraphiQL from a CDN. Ours loads the same kind of UMD
bundles (GraphiQL 3 with React 18: the last versions that ship them) from
``/static/vendor/<package>@<version>/<file>`` when ``scripts/fetch_graphiql.py`` has unpacked
them into ``app/static/vendor/`` (``make venv`` / ``make graphiql`` run it when npm is
present; the folder is ignored by git: third-party code is never committed). Without them the
page loads the same pinned files from the CDN, so a Python-only machine still works online.
Every file is pinned by version and by its SRI hash, checked by the fetch step and by the
browser.

The page sends what the user types into GraphiQL's headers editor (e.g. ``Authorization:
Bearer <token>``) with every query, and as the ``connection_init`` payload of subscriptions
(graphql-transport-ws on the same URL). The GraphiQL Explorer plugin (build a query by ticking
fields) is pinned and served the same way.

``issuegraph dev`` knows the demo token it prints and hands it to the app as a ``Prefill``
(issue #15): its page opens with ``Authorization: Bearer <demo token>`` in the headers editor
and the README's demo query in the query editor. Only a page served on loopback, to a request
that names a loopback host, carries it (``prefill_for``; docs/security.md).
"""

from __future__ import annotations

import hashlib
import html
import ipaddress
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import anyio.to_thread
import structlog
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

log = structlog.get_logger("issuegraph.graphiql")

#: Where the fetch step unpacks the pinned files, and where the app serves them from.
VENDOR_DIR = Path(__file__).resolve().parent.parent / "static" / "vendor"
VENDOR_URL = "/static/vendor"
#: The fallback: unpkg serves each file of a published package byte for byte, so the same
#: SRI hashes hold.
CDN_URL = "https://unpkg.com"


@dataclass(frozen=True)
class Asset:
    """One file of a pinned npm package."""

    package: str
    version: str
    path: str  # inside the package tarball, below its ``package/`` folder
    integrity: str  # Subresource Integrity: "sha384-<base64 digest>"

    @property
    def spec(self) -> str:
        """What ``npm pack`` takes: ``name@version``."""
        return f"{self.package}@{self.version}"

    @property
    def relpath(self) -> str:
        """Its path below ``VENDOR_DIR`` / ``VENDOR_URL`` / ``CDN_URL`` (the unpkg layout)."""
        return f"{self.spec}/{self.path}"


REACT = Asset(
    "react",
    "18.3.1",
    "umd/react.production.min.js",
    "sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z",
)
REACT_DOM = Asset(
    "react-dom",
    "18.3.1",
    "umd/react-dom.production.min.js",
    "sha384-gTGxhz21lVGYNMcdJOyq01Edg0jhn/c22nsx0kyqP0TxaV5WVdsSH1fSDUf5YJj1",
)
# The latest 3.x. Its UMD bundle includes @graphiql/react, @graphiql/toolkit (the fetcher,
# ``GraphiQL.createFetcher``), graphql-ws and the fonts (inlined in the CSS).
GRAPHIQL_JS = Asset(
    "graphiql",
    "3.9.0",
    "graphiql.min.js",
    "sha384-8NGfVj4CVlqHajlZj+bPJT4thxPMHMJYn7DWK2CvtopLd02E7qsPHazniBYvVjOO",
)
GRAPHIQL_CSS = Asset(
    "graphiql",
    "3.9.0",
    "graphiql.min.css",
    "sha384-QMux00XgRtwRLSYIY3kw2rj1ovk5AuuliAchk+HSQbqdbGFnz9GYuqIlOqxhwCE2",
)
# The GraphiQL Explorer plugin: 3.2.6 is the last release for @graphiql/react 0.29, which
# GraphiQL 3.9.0's bundle contains (4.x and later are for GraphiQL 4/5, which ship no UMD
# build). Its UMD bundle takes React, ``GraphiQL.React`` and ``GraphiQL.GraphQL`` from the
# globals the scripts above define, and includes graphiql-explorer itself.
EXPLORER_JS = Asset(
    "@graphiql/plugin-explorer",
    "3.2.6",
    "dist/index.umd.js",
    "sha384-5p6hGdlOTvUy6Wf0GauxCz+xM9YB/YYvcGG+bf9msr2eyd+KVIxgRkepHgUijedJ",
)
EXPLORER_CSS = Asset(
    "@graphiql/plugin-explorer",
    "3.2.6",
    "dist/style.css",
    "sha384-YN9MumWidbWKuNj8VfH5ggrFvm9YqAoIOMnKYpeGL3dr7Eg1qnQ+SAqSthdNZCjz",
)
#: Everything the page loads, in order (the plugin after the globals it reads).
ASSETS = (GRAPHIQL_CSS, EXPLORER_CSS, REACT, REACT_DOM, GRAPHIQL_JS, EXPLORER_JS)

DEFAULT_QUERY = """\
# issuegraph GraphiQL
#
# Put your token in the Headers tab below:
#   {"Authorization": "Bearer <token>"}
# (headers are kept in this browser's local storage).
# Run with Ctrl-Enter or the ▶ button.

{
  viewer {
    name
  }
}
"""
DEFAULT_HEADERS = '{\n  "Authorization": "Bearer "\n}'

#: The demo query of the README ("Running it"), as the dev page opens with it: it reads the
#: workspace ``issuegraph dev`` seeds (services/seed.py). tests/test_graphiql_browser.py checks
#: that the README shows the same query.
DEMO_QUERY = """\
# The demo workspace of `issuegraph dev`, read with
# its demo token (in the Headers tab below).
# Run it: Ctrl-Enter or the ▶ button. The Explorer
# (left sidebar) builds queries by ticking fields.

{
  viewer {
    name
  }
  workspace(slug: "demo") {
    projects {
      edges {
        node {
          key
          issues(first: 5) {
            totalCount
            edges {
              node {
                identifier
                title
                status
                assignee {
                  name
                }
              }
            }
          }
        }
      }
    }
  }
}
"""


@dataclass(frozen=True)
class Prefill:
    """What the dev page opens with: a token for the headers editor and a query."""

    token: str = field(repr=False)
    query: str = DEMO_QUERY

    @property
    def headers(self) -> str:
        """The headers editor's text (JSON, as GraphiQL reads it)."""
        return json.dumps({"Authorization": f"Bearer {self.token}"}, indent=2)

    @property
    def fingerprint(self) -> str:
        """Names this prefill in the browser's storage without repeating the token: a page
        whose fingerprint the browser has not seen yet opens on it (a new ``dev`` run)."""
        return hashlib.sha256(f"{self.headers}\0{self.query}".encode()).hexdigest()[:16]


def is_loopback(host: str | None) -> bool:
    """Whether ``host`` (an address or a name) is this machine only: 127.0.0.0/8, ::1,
    ``localhost`` (and its subdomains, RFC 6761)."""
    if not host:
        return False
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_loopback


def _host_name(host_header: str | None) -> str | None:
    """The name of a ``Host`` header, without its port (``[::1]:8000`` -> ``::1``)."""
    if not host_header:
        return None
    if host_header.startswith("["):
        return host_header[1 : host_header.find("]")] if "]" in host_header else None
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


def prefill_for_server(prefill: Prefill | None, bind_host: str) -> Prefill | None:
    """``prefill`` for a server listening on ``bind_host``: refused (``None``, and a warning)
    unless that is loopback, since the page goes to anyone who reaches the port."""
    if prefill is not None and not is_loopback(bind_host):
        log.warning(
            "graphiql.prefill_refused",
            host=bind_host,
            reason="the server is not bound to loopback: GraphiQL opens without a token",
        )
        return None
    return prefill


def prefill_for(
    prefill: Prefill | None, *, server: tuple[str, int | None] | None, host_header: str | None
) -> Prefill | None:
    """The prefill one request's page may carry: ``None`` unless the connection arrived on a
    loopback address (the server listens on loopback) and the request names a loopback host
    in ``Host``, so that a page fetched through DNS rebinding (a web site's name resolved to
    127.0.0.1 in the developer's browser) carries no token either."""
    if prefill is None or server is None:
        return None
    if not is_loopback(server[0]) or not is_loopback(_host_name(host_header)):
        return None
    return prefill


_PAGE = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>issuegraph · GraphiQL</title>
<link rel="icon" href="data:,">
<style>
body {{ margin: 0; height: 100vh; overflow: hidden; }}
#graphiql {{ height: 100vh; }}
</style>
{css}
{scripts}
</head>
<body>
<div id="graphiql">Loading GraphiQL…</div>
<script>
(function () {{
  "use strict";
  // This page's own URL: /graphql, without the query string.
  var url = new URL(window.location.pathname, window.location.href);
  var subscriptionUrl = new URL(url.href);
  subscriptionUrl.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  // Headers from the editor go with every request, and into connection_init for
  // subscriptions (graphql-transport-ws).
  var fetcher = GraphiQL.createFetcher({{
    url: url.href,
    subscriptionUrl: subscriptionUrl.href,
  }});
  var props = {{
    fetcher: fetcher,
    defaultQuery: {default_query},
    defaultHeaders: {default_headers},
    isHeadersEditorEnabled: true,
    shouldPersistHeaders: true,
    defaultEditorToolsVisibility: "headers",
    inputValueDeprecation: true,
    plugins: [GraphiQLPluginExplorer.explorerPlugin()],
  }};
  // `issuegraph dev`: its token and demo query (null elsewhere).
  var prefill = {prefill};
  if (prefill !== null) {{
    // GraphiQL restores its tabs from localStorage and uses the defaults above only for new
    // tabs. The first time this browser sees this prefill (a new `dev` run, a new token), the
    // query and headers are given outright: GraphiQL opens a tab with them whatever it had
    // stored. Later loads restore what the user made of it.
    var seenKey = "issuegraph:graphiql-prefill";
    var seen = null;
    try {{ seen = window.localStorage.getItem(seenKey); }} catch (e) {{}}
    if (seen !== prefill.fingerprint) {{
      props.query = prefill.query;
      props.headers = prefill.headers;
      props.variables = "";
      try {{ window.localStorage.setItem(seenKey, prefill.fingerprint); }} catch (e) {{}}
    }}
  }}
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, props),
  );
}})();
</script>
</body>
</html>
"""


def asset_url(asset: Asset, *, local: bool) -> str:
    return f"{VENDOR_URL if local else CDN_URL}/{asset.relpath}"


def _tag(asset: Asset, *, local: bool) -> str:
    url = html.escape(asset_url(asset, local=local))
    integrity = html.escape(asset.integrity)
    # crossorigin: SRI on a cross-origin file needs a CORS request (harmless on our own).
    if asset.path.endswith(".css"):
        return (
            f'<link rel="stylesheet" href="{url}" integrity="{integrity}" crossorigin="anonymous">'
        )
    return f'<script src="{url}" integrity="{integrity}" crossorigin="anonymous"></script>'


def _js(value: object) -> str:
    """A JavaScript literal (JSON, ASCII only: U+2028/U+2029 escaped too) that cannot end the
    ``<script>`` element or open a comment in it (``</script>``, ``<!--``)."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e")


def render_page(*, local: bool, prefill: Prefill | None = None) -> str:
    """The page, loading the pinned files from ``VENDOR_URL`` (local) or ``CDN_URL``; with
    ``prefill``, opening on its query and token (the caller checked ``prefill_for``)."""
    return _PAGE.format(
        css="\n".join(_tag(a, local=local) for a in ASSETS if a.path.endswith(".css")),
        scripts="\n".join(_tag(a, local=local) for a in ASSETS if not a.path.endswith(".css")),
        default_query=_js(prefill.query if prefill else DEFAULT_QUERY),
        default_headers=_js(prefill.headers if prefill else DEFAULT_HEADERS),
        prefill=_js(
            None
            if prefill is None
            else {
                "query": prefill.query,
                "headers": prefill.headers,
                "fingerprint": prefill.fingerprint,
            }
        ),
    )


def vendored(vendor_dir: Path = VENDOR_DIR) -> bool:
    """Whether every pinned file has been fetched (blocking: a few ``stat`` calls)."""
    return all((vendor_dir / asset.relpath).is_file() for asset in ASSETS)


async def graphiql_html(vendor_dir: Path = VENDOR_DIR, prefill: Prefill | None = None) -> str:
    """The page for this request: the served files once fetched, else the CDN.

    Checked per request (in a worker thread, off the event loop), so a fetch while the server
    runs takes effect on the next reload of the page.
    """
    local = await anyio.to_thread.run_sync(vendored, vendor_dir)
    return render_page(local=local, prefill=prefill)


#: Media types of what is fetched: Starlette would otherwise ask ``mimetypes``, whose first
#: use reads /etc/mime.types (blocking, on the event loop).
MEDIA_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".map": "application/json",
}


class VendorFiles(StaticFiles):
    """The fetched files. Nothing fetched (no folder) answers 404 rather than 500."""

    async def check_config(self) -> None:
        return None

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        media_type = MEDIA_TYPES.get(os.path.splitext(full_path)[1], "application/octet-stream")
        response = FileResponse(
            full_path, status_code=status_code, stat_result=stat_result, media_type=media_type
        )
        if self.is_not_modified(response.headers, Headers(scope=scope)):
            return NotModifiedResponse(response.headers)
        return response


def mount_static(app: FastAPI, vendor_dir: Path = VENDOR_DIR) -> None:
    """Serve the fetched files at ``VENDOR_URL`` (no file system access here)."""
    app.mount(VENDOR_URL, VendorFiles(directory=vendor_dir, check_dir=False), name="vendor")
