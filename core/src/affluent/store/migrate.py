"""Schema upgrades that run once when many processes start together.

On PostgreSQL the upgrade runs under a session advisory lock: the first process migrates, the
others wait for the lock, find the schema current and go on. A crashed migrator's lock goes with
its connection. On SQLite a lock file beside the database plays the same part for the processes
of one host.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text

from affluent.store import Store

__all__ = ["MIGRATION_LOCK_ID", "migrate"]

log = logging.getLogger(__name__)

MIGRATION_LOCK_ID = 0x6166_666C_7565_6E74 & 0x7FFF_FFFF_FFFF_FFFF
"""The advisory lock key (``"affluent"`` in ASCII, as a signed 64-bit integer)."""


@contextlib.contextmanager
def _advisory_lock(store: Store) -> Iterator[None]:
    with store.engine.connect() as raw:
        connection = raw.execution_options(isolation_level="AUTOCOMMIT")
        connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_ID})
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_ID})


@contextlib.contextmanager
def _file_lock(store: Store) -> Iterator[None]:
    database = store.engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(database).with_name(Path(database).name + ".migrate-lock")
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def migrate(store: Store) -> bool:
    """Upgrade ``store`` to the newest migration under a lock; True if this call upgraded it."""
    dialect = store.engine.dialect.name
    lock = (
        _advisory_lock(store)
        if dialect == "postgresql"
        else _file_lock(store)
        if dialect == "sqlite"
        else contextlib.nullcontext()
    )
    with lock:
        if store.is_current():
            return False
        log.info("migrating %r to the newest schema", store)
        store.upgrade()
        return True
