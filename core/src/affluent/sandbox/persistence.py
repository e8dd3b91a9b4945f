"""SQLite file behind the sandbox store: one JSON document per row, in creation order."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    collection TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    UNIQUE (collection, id)
)
"""


class SqliteBackend:
    """Durable copy of every collection; written once per committed request."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute(_SCHEMA)

    def load(self) -> Iterator[tuple[str, str, dict[str, Any]]]:
        """Every stored document as ``(collection, id, document)``, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT collection, id, body FROM documents ORDER BY seq"
            ).fetchall()
        for collection, doc_id, body in rows:
            yield collection, doc_id, json.loads(body)

    def write(
        self,
        upserts: Sequence[tuple[str, str, dict[str, Any]]],
        deletes: Sequence[tuple[str, str]],
    ) -> None:
        """Apply one transaction: replace or insert ``upserts``, remove ``deletes``."""
        if not upserts and not deletes:
            return
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany(
                    "INSERT INTO documents (collection, id, body) VALUES (?, ?, ?) "
                    "ON CONFLICT (collection, id) DO UPDATE SET body = excluded.body",
                    [(c, i, json.dumps(d, separators=(",", ":"))) for c, i, d in upserts],
                )
                self._conn.executemany(
                    "DELETE FROM documents WHERE collection = ? AND id = ?", deletes
                )
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def clear(self) -> None:
        """Remove every document."""
        with self._lock:
            self._conn.execute("DELETE FROM documents")

    def close(self) -> None:
        """Close the file."""
        with self._lock:
            self._conn.close()
