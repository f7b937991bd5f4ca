"""What the embedded servers share: their error, timeouts, socket folders and log tails."""

from __future__ import annotations

import hashlib
import logging
import os
import pwd
import re
import socket
import stat
from pathlib import Path

# Named as before the embedded servers' code was split in modules: the same log lines.
logger = logging.getLogger("app.embedded")

_REDIS_SOCKET = "redis.sock"
_SHELL_AND_URL_SAFE = re.compile(r"[A-Za-z0-9/._+-]+")
# sun_path holds 108 bytes on Linux and 104 on macOS, terminating NUL included; stay below both.
_MAX_SOCKET_PATH = 100
_START_TIMEOUT = 15.0
_STOP_TIMEOUT = 15.0


class EmbeddedServerError(RuntimeError):
    """An embedded server could not be started, or another process already runs them."""


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


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
