"""Cursor pagination over DR's list envelope ``{"hasMore": bool, "data": [...]}``.

A list call returns one page (:class:`SyncPage` / :class:`AsyncPage`). ``next_page()`` fetches the
following one with ``startingAfter=<last id>`` (or, for a list requested with ``ending_before``,
the previous one with ``endingBefore=<first id>``); ``auto_paging_iter()`` walks every item.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Generic, Protocol, TypeVar

from pydantic import TypeAdapter

from affluent.dr._base import Call
from affluent.dr.errors import DigitalRiverError

__all__ = ["AsyncPage", "HasId", "PageData", "SyncPage"]


class HasId(Protocol):
    """What pagination needs of an item: its id (the cursor)."""

    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=HasId)

_STARTING_AFTER = "startingAfter"
_ENDING_BEFORE = "endingBefore"


@dataclass(frozen=True, slots=True)
class PageData(Generic[T]):
    """The items of one list answer and whether DR has more."""

    data: list[T]
    has_more: bool


def list_parser(item: type[T]) -> Callable[[bytes], PageData[T]]:
    """Parser for a list answer: the envelope, or a bare JSON array (``GET /webhooks``)."""
    adapter = TypeAdapter(list[item])  # type: ignore[valid-type]

    def parse(content: bytes) -> PageData[T]:
        raw = json.loads(content)
        if isinstance(raw, list):
            items, has_more = raw, False
        elif isinstance(raw, dict):
            items, has_more = raw.get("data") or [], bool(raw.get("hasMore", False))
        else:
            raise ValueError(f"expected a list envelope, got {type(raw).__name__}")
        return PageData(adapter.validate_python(items), has_more)

    return parse


def next_page_call(call: Call[PageData[T]], page: PageData[T]) -> Call[PageData[T]] | None:
    """The call fetching the page after ``page`` (``None`` when DR has no more)."""
    if not page.has_more or not page.data:
        return None
    old = dict(call.params)
    backwards = _ENDING_BEFORE in old and _STARTING_AFTER not in old
    name = _ENDING_BEFORE if backwards else _STARTING_AFTER
    cursor = page.data[0].id if backwards else page.data[-1].id
    if old.get(name) == cursor:
        raise DigitalRiverError(f"GET {call.path}: pagination did not advance past {name}={cursor}")
    params = [(k, v) for k, v in call.params if k not in (_STARTING_AFTER, _ENDING_BEFORE)]
    params.append((name, cursor))
    return replace(call, params=tuple(params))


class SyncPage(Generic[T]):
    """One page of a list: ``data``, ``has_more``, and the means to fetch the next."""

    def __init__(
        self,
        page: PageData[T],
        call: Call[PageData[T]],
        fetch: Callable[[Call[PageData[T]]], SyncPage[T]],
    ) -> None:
        self.data = page.data
        self.has_more = page.has_more
        self._page = page
        self._call = call
        self._fetch = fetch

    def __repr__(self) -> str:
        return f"SyncPage(len(data)={len(self.data)}, has_more={self.has_more})"

    def has_next_page(self) -> bool:
        return next_page_call(self._call, self._page) is not None

    def next_page(self) -> SyncPage[T] | None:
        """Fetch the following page, or return ``None`` if this is the last one."""
        nxt = next_page_call(self._call, self._page)
        return None if nxt is None else self._fetch(nxt)

    def iter_pages(self) -> Iterator[SyncPage[T]]:
        """This page, then every following page."""
        page: SyncPage[T] | None = self
        while page is not None:
            yield page
            page = page.next_page()

    def auto_paging_iter(self) -> Iterator[T]:
        """Every item of this page and all following pages, fetching as it goes."""
        for page in self.iter_pages():
            yield from page.data


class AsyncPage(Generic[T]):
    """Async twin of :class:`SyncPage`."""

    def __init__(
        self,
        page: PageData[T],
        call: Call[PageData[T]],
        fetch: Callable[[Call[PageData[T]]], Awaitable[AsyncPage[T]]],
    ) -> None:
        self.data = page.data
        self.has_more = page.has_more
        self._page = page
        self._call = call
        self._fetch = fetch

    def __repr__(self) -> str:
        return f"AsyncPage(len(data)={len(self.data)}, has_more={self.has_more})"

    def has_next_page(self) -> bool:
        return next_page_call(self._call, self._page) is not None

    async def next_page(self) -> AsyncPage[T] | None:
        """Fetch the following page, or return ``None`` if this is the last one."""
        nxt = next_page_call(self._call, self._page)
        return None if nxt is None else await self._fetch(nxt)

    async def iter_pages(self) -> AsyncIterator[AsyncPage[T]]:
        """This page, then every following page."""
        page: AsyncPage[T] | None = self
        while page is not None:
            yield page
            page = await page.next_page()

    async def auto_paging_iter(self) -> AsyncIterator[T]:
        """Every item of this page and all following pages, fetching as it goes."""
        async for page in self.iter_pages():
            for item in page.data:
                yield item
