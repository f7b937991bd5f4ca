"""ASGI entry point for `uvicorn app.asgi:app` (and `issuegraph serve --workers N`)."""

from app.cli_support import resolved_settings
from app.main import create_app

app = create_app(resolved_settings())
