"""A throw-away PostgreSQL server for tests: ``initdb`` into a temporary folder, then ``pg_ctl``.

The server listens only on a Unix socket inside that folder (no TCP port), runs as the
``postgres`` system user when the tests run as root (PostgreSQL refuses root), and is stopped
and deleted on exit.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path


def find_bindir() -> Path | None:
    """The folder holding ``initdb`` and ``pg_ctl``, or None when PostgreSQL is not installed."""
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True)
    return Path(candidates[0]).parent if candidates else None


def _run(args: list[str], user: str | None) -> None:
    if user:
        args = ["runuser", "-u", user, "--", *args]
    subprocess.run(args, check=True, capture_output=True, text=True)  # noqa: S603


@contextlib.contextmanager
def temporary_server(bindir: Path | None = None) -> Iterator[str]:
    """Start a PostgreSQL server; yield a SQLAlchemy URL for its ``postgres`` database."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise RuntimeError(
            "PostgreSQL is not installed: no initdb on PATH or in /usr/lib/postgresql"
        )
    user = "postgres" if os.geteuid() == 0 else None
    root = Path(tempfile.mkdtemp(prefix="affluent-pg-"))
    data, sockets = root / "data", root / "sock"
    sockets.mkdir()
    if user:
        shutil.chown(root, user)
        shutil.chown(sockets, user)
    _run(
        [str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust", "-E", "UTF8"],
        user,
    )
    options = f"-k {sockets} -c listen_addresses='' -c fsync=off -c max_connections=200"
    _run(
        [
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-w",
            "-l",
            str(root / "log"),
            "start",
        ],
        user,
    )
    try:
        yield f"postgresql+psycopg://postgres@/postgres?host={sockets}"
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user)
        shutil.rmtree(root, ignore_errors=True)
