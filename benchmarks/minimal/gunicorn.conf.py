"""gunicorn settings of the minimal server: sync workers, no access log.

    .venv-legacy/bin/gunicorn -c benchmarks/minimal/gunicorn.conf.py

MINIMAL_WORKERS (default 1) and MINIMAL_BIND (default 127.0.0.1:8200) come from the environment.
"""

import os

# The repository root, so ``benchmarks.minimal`` imports from wherever gunicorn is started.
chdir = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
wsgi_app = "benchmarks.minimal.app:app"

bind = os.environ.get("MINIMAL_BIND", "127.0.0.1:8200")
worker_class = "sync"
workers = int(os.environ.get("MINIMAL_WORKERS", "1"))
timeout = 60
keepalive = 2

accesslog = None
errorlog = "-"
loglevel = "warning"
