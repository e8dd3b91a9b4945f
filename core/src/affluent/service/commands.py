"""The service's commands: ``serve``, ``worker``, ``reconcile`` and ``events …``.

Every command reads ``AFFLUENT_*`` settings; heavy imports happen inside the commands so
``affluent --help`` stays quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import click

T = TypeVar("T")


def _settings() -> Any:
    from affluent.settings import Settings

    return Settings()


def _configured(work: Coroutine[Any, Any, T]) -> T:
    """Run ``work``; a missing setting is a one-line error, not a traceback."""
    from affluent.service.runtime import NotConfigured

    try:
        return asyncio.run(work)
    except NotConfigured as exc:
        raise click.ClickException(str(exc)) from None


def _logging(settings: Any) -> None:
    from affluent.logs import configure_logging
    from affluent.service.runtime import register_secrets

    configure_logging(settings.log_level, fmt=settings.log_format)
    register_secrets(settings)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="uvicorn processes.")
@click.option("--access-log/--no-access-log", default=True, show_default=True)
def serve(host: str, port: int, workers: int, access_log: bool) -> None:
    """Run the connector service: webhooks, storefront API, /healthz and /readyz."""
    import uvicorn

    _logging(_settings())
    uvicorn.run(
        "affluent.service.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=access_log,
        timeout_graceful_shutdown=10,
    )


@click.command()
@click.option("--concurrency", type=int, default=None, help="Jobs at once [settings: 8].")
@click.option("--once", is_flag=True, help="Work until nothing is due, then exit.")
@click.option(
    "--reconcile-interval",
    type=float,
    default=None,
    help="Seconds between reconciliation passes; 0 turns them off [settings: 300].",
)
def worker(concurrency: int | None, once: bool, reconcile_interval: float | None) -> None:
    """Work off the inbox and outboxes; reconcile with DR's event log periodically.

    Run as many as you like, on any number of hosts sharing one PostgreSQL. SIGTERM stops
    claiming work, lets running jobs finish, and hands back the rest.
    """
    settings = _settings()
    _logging(settings)
    raise SystemExit(_configured(_work(settings, concurrency, once, reconcile_interval)))


async def _work(
    settings: Any, concurrency: int | None, once: bool, reconcile_interval: float | None
) -> int:
    from affluent.service._db import off_loop
    from affluent.service.runtime import Runtime
    from affluent.service.worker import Worker, WorkerOptions
    from affluent.store.migrate import migrate

    runtime = Runtime(settings)
    try:
        if settings.migrate_on_start:
            await off_loop(migrate, runtime.store)
        options = WorkerOptions.from_settings(
            settings, concurrency=concurrency, reconcile_interval=reconcile_interval
        )
        work = Worker(store=runtime.store, flow=runtime.flow, options=options)
        if once:
            await work.run_until_idle(limit=3600.0)
            return 0
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await work.run(stop)
        return 0
    finally:
        await runtime.aclose()


@click.command()
@click.option(
    "--since",
    default=None,
    help="Read DR events created from this ISO-8601 time instead of the stored cursor.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def reconcile(since: str | None, as_json: bool) -> None:
    """Store DR events missed by webhooks in the inbox (GET /events since the cursor).

    Running it twice changes nothing: events already stored are skipped.
    """
    settings = _settings()
    _logging(settings)
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since.replace("Z", "+00:00"))
        except ValueError:
            raise click.BadParameter(
                f"not an ISO-8601 time: {since!r}", param_hint="--since"
            ) from None
    result = _configured(_reconcile(settings, start))
    if as_json:
        click.echo(
            json.dumps(
                {
                    "listed": result.listed,
                    "added": result.added,
                    "since": result.since.isoformat(),
                    "cursor": result.cursor.isoformat() if result.cursor else None,
                }
            )
        )
    else:
        click.echo(
            f"{result.listed} DR event(s) since {result.since.isoformat()}: "
            f"{result.added} new in the inbox; cursor at "
            f"{result.cursor.isoformat() if result.cursor else '(none)'}"
        )


async def _reconcile(settings: Any, since: datetime | None) -> Any:
    from affluent.service._db import off_loop
    from affluent.service.leases import Leases
    from affluent.service.reconciler import reconcile as run
    from affluent.service.runtime import Runtime
    from affluent.service.worker import RECONCILE_LEASE
    from affluent.store.migrate import migrate

    runtime = Runtime(settings)
    try:
        if settings.migrate_on_start:
            await off_loop(migrate, runtime.store)
        holder = f"cli-reconcile-{datetime.now(UTC).timestamp()}"
        async with Leases(runtime.store).hold(
            RECONCILE_LEASE, holder, settings.lease_seconds, wait=settings.lease_seconds * 2
        ):
            return await run(
                runtime.dr,
                runtime.store,
                lookback=settings.reconcile_lookback,
                overlap=settings.reconcile_overlap,
                since=since,
            )
    finally:
        await runtime.aclose()


# -- events --------------------------------------------------------------------------------------


@click.group()
def events() -> None:
    """Inspect and re-run the inbox of received events."""


@contextlib.contextmanager
def _inbox() -> Iterator[Any]:
    from affluent.service.inbox import Inbox
    from affluent.store import Store

    store = Store(_settings().database_url)
    try:
        yield Inbox(store)
    finally:
        store.dispose()


def _row(row: Any, *, full: bool = False) -> dict[str, Any]:
    from affluent.logs import redact_text

    data: dict[str, Any] = {
        "id": row.id,
        "source": row.source,
        "event_key": row.event_key,
        "type": row.type,
        "origin": row.origin,
        "state": row.state,
        "outcome": row.outcome,
        "attempts": row.attempts,
        "received_at": row.received_at.isoformat(),
        "next_attempt_at": row.next_attempt_at.isoformat(),
        "finished_at": row.finished_at.isoformat() if row.finished_at else None,
        "last_error": redact_text(row.last_error) if row.last_error else None,
    }
    if full:
        try:
            data["payload"] = json.loads(redact_text(row.payload))
        except ValueError:
            data["payload"] = redact_text(row.payload)
        data["locked_by"] = row.locked_by
        data["locked_until"] = row.locked_until.isoformat() if row.locked_until else None
    return data


@events.command("list")
@click.option("--state", type=click.Choice(["pending", "running", "done", "parked"]), default=None)
@click.option("--source", default=None, help="'dr' or a platform name.")
@click.option("--type", "type_", default=None, help="e.g. order.accepted or line_changes.")
@click.option("--limit", default=50, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def events_list(
    state: str | None, source: str | None, type_: str | None, limit: int, as_json: bool
) -> None:
    """The newest events first, with their state and last error."""
    with _inbox() as inbox:
        rows = inbox.recent(state=state, source=source, type=type_, limit=limit)
        counts = inbox.counts()
    if as_json:
        for row in rows:
            click.echo(json.dumps(_row(row)))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(
        "id", "source", "type", "state", "tries", "outcome", "received", "last error",
        title=", ".join(f"{k}: {v}" for k, v in counts.items()),
    )  # fmt: skip
    for row in rows:
        data = _row(row)
        table.add_row(
            str(data["id"]),
            data["source"],
            data["type"],
            data["state"],
            str(data["attempts"]),
            data["outcome"] or "",
            data["received_at"][:19],
            (data["last_error"] or "")[:80],
        )
    Console().print(table)


@events.command("show")
@click.argument("event_id", type=int)
def events_show(event_id: int) -> None:
    """Everything stored about one event (secrets and card numbers masked)."""
    with _inbox() as inbox:
        row = inbox.get(event_id)
    if row is None:
        raise click.ClickException(f"no event {event_id} in the inbox")
    click.echo(json.dumps(_row(row, full=True), indent=2))


@events.command("replay")
@click.argument("event_ids", type=int, nargs=-1)
@click.option("--parked", is_flag=True, help="Replay every parked event.")
def events_replay(event_ids: tuple[int, ...], parked: bool) -> None:
    """Run events through the flow again (attempts reset); workers pick them up.

    The flow's own dedupe still holds: an event already applied is a no-op ("duplicate").
    """
    with _inbox() as inbox:
        ids = list(event_ids) + (inbox.parked_ids() if parked else [])
        if not ids:
            raise click.UsageError("name event ids, or pass --parked")
        count = inbox.replay(ids)
    click.echo(f"{count} event(s) queued again")


@events.command("prune")
@click.option(
    "--days",
    default=7.0,
    show_default=True,
    type=click.FloatRange(min=3.0),
    help="Delete done events finished longer ago than this (at least DR's 3-day retry window).",
)
def events_prune(days: float) -> None:
    """Delete old processed events; pending, running and parked ones are kept."""
    with _inbox() as inbox:
        count = inbox.prune(days * 86400)
    click.echo(f"{count} processed event(s) older than {days:g} day(s) deleted")
