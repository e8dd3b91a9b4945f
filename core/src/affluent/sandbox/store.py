"""Collections of JSON documents with all-or-nothing writes per request."""

from __future__ import annotations

import copy
from typing import Any

from affluent.sandbox.persistence import SqliteBackend

Doc = dict[str, Any]


class Store:
    """In-memory collections (``id`` → document, in creation order) with a write buffer.

    Reads see buffered writes; ``commit`` applies them (and saves them to the SQLite backend,
    if any); ``rollback`` discards them, so a failed request changes nothing. ``get`` returns a
    private copy to modify and ``put`` back; ``peek`` and ``values`` return shared documents
    that must not be modified.
    """

    def __init__(self, backend: SqliteBackend | None = None) -> None:
        self.backend = backend
        self._docs: dict[str, dict[str, Doc]] = {}
        self._pending: dict[str, dict[str, Doc | None]] = {}
        if backend is not None:
            for collection, doc_id, doc in backend.load():
                self._docs.setdefault(collection, {})[doc_id] = doc

    def peek(self, collection: str, doc_id: str) -> Doc | None:
        """The current document, shared (read only)."""
        pending = self._pending.get(collection, {})
        if doc_id in pending:
            return pending[doc_id]
        return self._docs.get(collection, {}).get(doc_id)

    def get(self, collection: str, doc_id: str) -> Doc | None:
        """A private copy of the current document."""
        doc = self.peek(collection, doc_id)
        return None if doc is None else copy.deepcopy(doc)

    def put(self, collection: str, doc: Doc) -> None:
        """Buffer an insert or replacement of ``doc`` (keyed by its ``id``)."""
        self._pending.setdefault(collection, {})[str(doc["id"])] = doc

    def delete(self, collection: str, doc_id: str) -> None:
        """Buffer the removal of a document."""
        self._pending.setdefault(collection, {})[doc_id] = None

    def values(self, collection: str) -> list[Doc]:
        """All current documents, oldest first (shared, read only)."""
        committed = self._docs.get(collection, {})
        pending = self._pending.get(collection, {})
        docs = [pending.get(k, v) if k in pending else v for k, v in committed.items()]
        docs.extend(v for k, v in pending.items() if k not in committed)
        return [d for d in docs if d is not None]

    def commit(self) -> None:
        """Apply buffered writes."""
        upserts: list[tuple[str, str, Doc]] = []
        deletes: list[tuple[str, str]] = []
        for collection, changes in self._pending.items():
            for doc_id, doc in changes.items():
                if doc is None:
                    deletes.append((collection, doc_id))
                else:
                    upserts.append((collection, doc_id, doc))
        if self.backend is not None:
            self.backend.write(upserts, deletes)
        for collection, doc_id, doc in upserts:
            self._docs.setdefault(collection, {})[doc_id] = doc
        for collection, doc_id in deletes:
            self._docs.get(collection, {}).pop(doc_id, None)
        self._pending.clear()

    def rollback(self) -> None:
        """Discard buffered writes."""
        self._pending.clear()

    def clear(self) -> None:
        """Remove everything, durably."""
        self._pending.clear()
        self._docs.clear()
        if self.backend is not None:
            self.backend.clear()


def public(doc: Doc) -> Doc:
    """A document without its internal (``_``-prefixed, top-level) fields."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
