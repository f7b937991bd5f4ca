"""Embedded PostgreSQL for ``issuegraph dev``: the pgserver wheel's binaries under ``pg_ctl``."""

from __future__ import annotations

import logging
import os
import pwd
import stat
import subprocess
import warnings
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from app.devtools.embedded_common import (
    _START_TIMEOUT,
    _STOP_TIMEOUT,
    EmbeddedServerError,
    _socket_answers,
    _SocketDirs,
    _tail,
    logger,
)

_PG_DEFAULT_PORT = 5432
# PostgreSQL refuses to run as root; as root it runs as this user (pgserver's choice too).
_PG_SYSTEM_USER = "pgserver"
# initdb and pg_ctl (which waits on its own -t timeout).
_COMMAND_TIMEOUT = 60.0


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
