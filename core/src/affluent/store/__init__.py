"""The embedded store: SQLAlchemy 2 over SQLite by default, PostgreSQL for many hosts."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from affluent.store.tables import (
    Base,
    HandledEvent,
    LineChangeRecord,
    LineItem,
    Order,
    PlatformWrite,
    Transition,
)

__all__ = [
    "Base",
    "HandledEvent",
    "LineChangeRecord",
    "LineItem",
    "Order",
    "PlatformWrite",
    "Store",
    "Transition",
]

MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


class Store:
    """A database holding affluent's bookkeeping. ``url`` is any SQLAlchemy URL."""

    def __init__(self, url: str, **engine_options: Any) -> None:
        self.url = url
        self.engine: Engine = create_engine(url, **engine_options)
        if self.engine.dialect.name == "sqlite":
            if sqlite3.sqlite_version_info < (3, 35):  # the inbox and claims use RETURNING
                raise RuntimeError(
                    f"affluent needs SQLite 3.35 or newer; this Python links {sqlite3.sqlite_version}"
                    " (use a newer Python build, or PostgreSQL)"
                )
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def _alembic_config(self) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["engine"] = self.engine
        return config

    def upgrade(self, revision: str = "head") -> None:
        """Apply migrations up to ``revision`` (unlocked: see :func:`affluent.store.migrate.migrate`)."""
        command.upgrade(self._alembic_config(), revision)

    def is_current(self) -> bool:
        """True when the database is at the newest migration."""
        head = ScriptDirectory.from_config(self._alembic_config()).get_current_head()
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision() == head

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A Core transaction (the flow's hot path): committed when the block ends, rolled back
        if it raises."""
        with self.engine.begin() as connection:
            yield connection

    def dispose(self) -> None:
        self.engine.dispose()
