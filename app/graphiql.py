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
(graphql-transport-ws on the same URL).
"""

from __future__ import annotations

import html
import json
import os
from dataclasses import dataclass
from pathlib import Path

import anyio.to_thread
from fastapi import FastAPI
from starlette.datastructures import Headers
from starlette.responses import FileResponse, Response
from starlette.staticfiles import NotModifiedResponse, StaticFiles
from starlette.types import Scope

#: Where the fetch step unpacks the pinned files, and where the app serves them from.
VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
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
#: Everything the page loads, in order.
ASSETS = (GRAPHIQL_CSS, REACT, REACT_DOM, GRAPHIQL_JS)

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
  ReactDOM.createRoot(document.getElementById("graphiql")).render(
    React.createElement(GraphiQL, {{
      fetcher: fetcher,
      defaultQuery: {default_query},
      defaultHeaders: {default_headers},
      isHeadersEditorEnabled: true,
      shouldPersistHeaders: true,
      defaultEditorToolsVisibility: "headers",
      inputValueDeprecation: true,
    }}),
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


def _js(value: str) -> str:
    """A JavaScript string literal that cannot close the ``<script>`` element."""
    return json.dumps(value).replace("<", "\\u003c")


def render_page(*, local: bool) -> str:
    """The page, loading the pinned files from ``VENDOR_URL`` (local) or ``CDN_URL``."""
    return _PAGE.format(
        css="\n".join(_tag(a, local=local) for a in ASSETS if a.path.endswith(".css")),
        scripts="\n".join(_tag(a, local=local) for a in ASSETS if not a.path.endswith(".css")),
        default_query=_js(DEFAULT_QUERY),
        default_headers=_js(DEFAULT_HEADERS),
    )


def vendored(vendor_dir: Path = VENDOR_DIR) -> bool:
    """Whether every pinned file has been fetched (blocking: a few ``stat`` calls)."""
    return all((vendor_dir / asset.relpath).is_file() for asset in ASSETS)


async def graphiql_html(vendor_dir: Path = VENDOR_DIR) -> str:
    """The page for this request: the served files once fetched, else the CDN.

    Checked per request (in a worker thread, off the event loop), so a fetch while the server
    runs takes effect on the next reload of the page.
    """
    local = await anyio.to_thread.run_sync(vendored, vendor_dir)
    return render_page(local=local)


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
