"""Figure 2: signed DR webhooks answered per second by ``affluent serve`` vs verify + insert.

Both servers run under uvicorn on loopback against the same kind of database (a fresh SQLite file,
or a fresh database on a throw-away PostgreSQL) and receive the same signed events from 200
concurrent senders. The floor verifies the signature and inserts the raw event into a one-table
database, nothing else; affluent also parses, routes and stores the event in its inbox.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Column, MetaData, String, Table, Text, create_engine, insert, make_url, text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from affluent.dr import sign, verify
from affluent.dr.errors import SignatureVerificationError
from affluent.testing.load import blast
from affluent.testing.postgres import find_bindir, temporary_server
from benchmarks.process import server_process
from benchmarks.report import Figure

SECRET = "whsec_benchmark_0123456789"
SENDERS = 200


def _event(number: int) -> bytes:
    order = {
        "id": f"9{number:011d}",
        "state": "accepted",
        "stateTransitions": {"accepted": "2026-01-01T00:00:00Z"},
    }
    event = {
        "id": str(uuid.uuid4()),
        "type": "order.accepted",
        "liveMode": False,
        "createdTime": "2026-01-01T00:00:00.000000Z",
        "data": {"object": order},
    }
    return json.dumps(event).encode()


def _floor_app(url: str) -> Starlette:
    metadata = MetaData()
    events = Table(
        "events", metadata, Column("id", String(64), primary_key=True), Column("body", Text)
    )
    engine = create_engine(url, pool_size=20)
    metadata.create_all(engine)

    def store(event_id: str, body: bytes) -> None:
        with engine.begin() as connection:
            connection.execute(insert(events).values(id=event_id, body=body.decode()))

    async def receive(request: Request) -> JSONResponse:
        body = await request.body()
        try:
            verify(body, request.headers.get("digitalriver-signature"), SECRET)
        except SignatureVerificationError as exc:
            return JSONResponse({"error": str(exc)}, status_code=401)
        await asyncio.to_thread(store, json.loads(body)["id"], body)
        return JSONResponse({"stored": True}, status_code=202)

    async def healthz(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/webhooks/digital-river", receive, methods=["POST"]),
            Route("/healthz", healthz),
        ]
    )


def floor_from_env() -> Starlette:
    """uvicorn factory for the floor server (``BENCH_FLOOR_DB`` names its database)."""
    return _floor_app(os.environ["BENCH_FLOOR_DB"])


async def _send(url: str, bodies: list[bytes]) -> tuple[float, list[float]]:
    """POST every signed body from SENDERS keep-alive connections; return (seconds, latencies)."""
    requests = [
        (body, {"Content-Type": "application/json", "DigitalRiver-Signature": sign(body, SECRET)})
        for body in bodies
    ]
    statuses, latencies, elapsed = await blast(
        f"{url}/webhooks/digital-river", requests, concurrency=SENDERS
    )
    refused = sorted({status for status in statuses if status != 202})
    if refused:
        raise RuntimeError(f"answered {refused}")
    return elapsed, latencies


@contextlib.contextmanager
def _databases(backend: str, folder: Path) -> Iterator[tuple[str, str]]:
    if backend == "sqlite":
        yield f"sqlite:///{folder / 'service.sqlite3'}", f"sqlite:///{folder / 'floor.sqlite3'}"
        return
    with temporary_server() as server:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            for name in ("service", "floor"):
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        base = make_url(server)
        yield (
            base.set(database="service").render_as_string(hide_password=False),
            base.set(database="floor").render_as_string(hide_password=False),
        )


def _measure(
    args: list[str], env: dict[str, str], bodies: list[bytes]
) -> tuple[float, float, float]:
    with server_process(args, env) as url:
        asyncio.run(_send(url, [_event(-1 - n) for n in range(50)]))  # warm up
        elapsed, latencies = asyncio.run(_send(url, bodies))
    latencies.sort()
    p99 = latencies[int(len(latencies) * 0.99) - 1]
    return len(bodies) / elapsed, statistics.median(latencies) * 1000, p99 * 1000


def run(count: int, backends: tuple[str, ...] = ("sqlite", "postgres")) -> list[Figure]:
    figures = []
    for backend in backends:
        if backend == "postgres" and find_bindir() is None:
            continue
        with (
            tempfile.TemporaryDirectory() as folder,
            _databases(backend, Path(folder)) as (ours, floor),
        ):
            env = {
                "AFFLUENT_DATABASE_URL": ours,
                "AFFLUENT_DR_WEBHOOK_SECRETS": json.dumps([SECRET]),
                "AFFLUENT_ADAPTERS": "[]",
                "AFFLUENT_DR_API_KEY": "sk_test_bench",
                "AFFLUENT_LOG_LEVEL": "WARNING",
            }
            rate, p50, p99 = _measure(
                ["affluent.service", "serve", "--no-access-log"],
                env,
                [_event(n) for n in range(count)],
            )
            floor_args = [
                "uvicorn",
                "--factory",
                "benchmarks.ingest:floor_from_env",
                "--no-access-log",
                "--log-level",
                "warning",
            ]
            floor_rate, floor_p50, floor_p99 = _measure(
                floor_args, {"BENCH_FLOOR_DB": floor}, [_event(n) for n in range(count)]
            )
        figures += [
            Figure(
                f"webhook ingest, {backend}, {SENDERS} senders",
                "events/s",
                rate,
                floor_rate,
                "target ≥ 0.6",
            ),
            Figure(f"webhook answer p50, {backend}", "ms", p50, floor_p50),
            Figure(
                f"webhook answer p99, {backend}", "ms", p99, floor_p99, "DR's budget is 3000 ms"
            ),
        ]
    return figures
