"""A shared "wait until" for an upstream that answered 429 with ``Retry-After``.

:class:`GatedTransport` wraps the httpx transport of the DR client: before every request it
waits until the gate is open, and a 429 closes the gate for the ``Retry-After`` it carried. The
gate lives in memory for this process and in the ``gates`` table for every other process and
host (read at most every ``refresh`` seconds), so one 429 quiets the whole fleet.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

import httpx
from sqlalchemy import update

from affluent.dr._base import parse_retry_after
from affluent.service._db import affected, insert_ignoring, off_loop
from affluent.store import Store
from affluent.store.tables import Gate, aware

__all__ = ["GatedTransport", "RateGate", "UpstreamPaused"]

log = logging.getLogger(__name__)

DEFAULT_RETRY_AFTER = 1.0
"""Seconds to wait after a 429 that names no ``Retry-After``."""


class UpstreamPaused(Exception):
    """The upstream asked everyone to wait longer than a caller should wait in place."""

    def __init__(self, name: str, seconds: float) -> None:
        self.name = name
        self.retry_after = seconds
        super().__init__(f"{name} asked callers to wait {seconds:.0f}s more (429 Retry-After)")


class RateGate:
    """When callers of one upstream may send again (unix time), in memory and in the store."""

    def __init__(
        self,
        store: Store | None,
        name: str = "dr",
        *,
        refresh: float = 0.25,
        max_wait: float = 10.0,
    ) -> None:
        self.store = store
        self.name = name
        self.refresh = refresh
        self.max_wait = max_wait
        self._until = 0.0
        self._checked = 0.0
        self.waited = 0.0
        """Seconds this process spent waiting at the gate (for figures)."""

    def _read(self) -> float:
        assert self.store is not None
        with self.store.session() as session:
            row = session.get(Gate, self.name)
            if row is None:
                return 0.0
            return aware(row.closed_until).timestamp()

    def _write(self, until: float) -> None:
        assert self.store is not None
        when = datetime.fromtimestamp(until, UTC)
        with self.store.session() as session:
            created = session.execute(
                insert_ignoring(self.store, Gate, ["name"]).values(
                    name=self.name, closed_until=when
                )
            )
            if affected(created) != 1:
                session.execute(
                    update(Gate)
                    .where(Gate.name == self.name, Gate.closed_until < when)
                    .values(closed_until=when)
                )

    async def open_at(self) -> float:
        """Unix time from which requests may go out (in the past when open)."""
        current = time.time()
        if self.store is not None and current - self._checked >= self.refresh:
            self._checked = current
            try:
                self._until = max(self._until, await off_loop(self._read))
            except Exception:
                log.warning("could not read the %s gate", self.name, exc_info=True)
        return self._until

    async def wait(self) -> None:
        """Return once the gate is open; raise :class:`UpstreamPaused` rather than wait longer
        than ``max_wait``."""
        while True:
            delay = await self.open_at() - time.time()
            if delay <= 0:
                return
            if delay > self.max_wait:
                raise UpstreamPaused(self.name, delay)
            self.waited += delay
            await asyncio.sleep(delay)

    async def close_for(self, seconds: float) -> None:
        """Close the gate for ``seconds`` from now (never shortening it)."""
        until = time.time() + max(seconds, 0.0)
        if until <= self._until:
            return
        self._until = until
        log.info("%s asked to wait %.1fs; holding every request until then", self.name, seconds)
        if self.store is not None:
            try:
                await off_loop(self._write, until)
            except Exception:
                log.warning("could not share the %s gate", self.name, exc_info=True)


class GatedTransport(httpx.AsyncBaseTransport):
    """An httpx transport that waits at ``gate`` before each request and closes it on 429."""

    def __init__(self, gate: RateGate, inner: httpx.AsyncBaseTransport | None = None) -> None:
        self.gate = gate
        self.inner = inner or httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await self.gate.wait()
        response = await self.inner.handle_async_request(request)
        if response.status_code == 429:
            retry_after = parse_retry_after(response.headers.get("retry-after"))
            await self.gate.close_for(DEFAULT_RETRY_AFTER if retry_after is None else retry_after)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
