"""Small portable helpers over the store: insert-or-ignore, the time, running off-loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, ParamSpec, TypeVar, cast

from sqlalchemy import CursorResult, Insert, Result
from sqlalchemy import insert as generic_insert

from affluent.store import Store

P = ParamSpec("P")
T = TypeVar("T")


def now() -> datetime:
    return datetime.now(UTC)


def later(seconds: float) -> datetime:
    return now() + timedelta(seconds=seconds)


def insert_ignoring(store: Store, table: Any, index: list[str]) -> Insert:
    """``INSERT … ON CONFLICT (index) DO NOTHING`` for PostgreSQL and SQLite."""
    dialect = store.engine.dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=index)
    if dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=index)
    return generic_insert(table)


async def off_loop(fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run blocking store work in a thread so the event loop keeps serving."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def affected(result: Result[Any]) -> int:
    """Rows an ``UPDATE``/``INSERT``/``DELETE`` touched."""
    return int(cast(CursorResult[Any], result).rowcount)
