"""gunicorn settings for the legacy layer: sync workers, one request per worker at a time.

    .venv-legacy/bin/gunicorn -c benchmarks/legacy/gunicorn.conf.py

LEGACY_WORKERS (default 1) and LEGACY_BIND (default 127.0.0.1:8100) come from the environment.
"""

import os

# The repository root, so ``benchmarks.legacy`` imports from wherever gunicorn is started.
chdir = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
wsgi_app = "benchmarks.legacy.app:create_app()"

bind = os.environ.get("LEGACY_BIND", "127.0.0.1:8100")
worker_class = "sync"
workers = int(os.environ.get("LEGACY_WORKERS", "1"))
timeout = 60
keepalive = 2

accesslog = None  # the app logs each request itself (app.log_request)
errorlog = "-"
loglevel = os.environ.get("LEGACY_LOG_LEVEL", "info")
