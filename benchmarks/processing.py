"""Figure 3: events processed end to end by ``affluent worker`` processes on PostgreSQL.

Per batch: N orders are taken to ``in_review`` through the flow against the sandbox (loopback),
the sandbox accepts them, and their ``order.accepted`` events are put in the inbox. Then K
worker processes (1, 2, 4) start together and the clock runs until the inbox is empty: each
event is claimed, applied through the flow (a transition and a platform write, here to the
in-memory platform), and finished. The scaling factor is the rate with K workers over the rate
with one. (Figure 4, memory, is :mod:`benchmarks.memory`.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, make_url, text

from affluent.demo import SKUS
from affluent.dr import AsyncDigitalRiver
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.service import Inbox
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent.store.migrate import migrate
from affluent.testing.memory import DictPlatform
from affluent.testing.postgres import find_bindir, temporary_server
from affluent.testing.sources import browser_source
from benchmarks.flow_overhead import KEY
from benchmarks.report import Figure

ADAPTER = {"mem": "affluent.testing.memory:DictPlatform"}


async def _orders(
    dr: AsyncDigitalRiver, store: Store, sandbox_url: str, prefix: str, count: int
) -> list[Any]:
    """``count`` orders in review, then accepted at the sandbox; their ``order.accepted`` events."""
    flow = Flow(dr=dr, store=store, adapters=Adapters.from_plugins({"mem": DictPlatform()}))
    import httpx

    orders = []
    for number in range(count):
        ref = f"{prefix}-{number}"
        cart = {
            "ref": ref,
            "currency": "USD",
            "email": "review@example.com",
            "lines": [{"id": "L1", "sku": "sku-widget-blue", "qty": 1, "price": "15.00"}],
        }
        summary = await flow.begin_checkout("mem", cart)
        source = await browser_source(dr, summary.checkout_id)
        await flow.hand_off_payment("mem", {"ref": ref, "source": source})
        orders.append((await flow.submit("mem", ref)).dr_order_id)
    async with httpx.AsyncClient(base_url=sandbox_url) as control:
        for order_id in orders:
            (
                await control.post(
                    f"/_sandbox/orders/{order_id}/resolve", json={"outcome": "accept"}
                )
            ).raise_for_status()
    wanted = set(orders)
    events = [
        e
        async for e in dr.events.iterate(type="order.accepted", limit=100)
        if e.data.object.get("id") in wanted
    ]  # type: ignore[union-attr]
    return events


def _enqueue(store: Store, events: list[Any]) -> None:
    inbox = Inbox(store)
    for event in events:
        inbox.add(
            source="dr",
            event_key=str(event.id),
            type="order.accepted",
            payload=event.to_json(),
            origin="cli",
        )


@contextlib.contextmanager
def _workers(count: int, env: dict[str, str]) -> Iterator[list[subprocess.Popen[bytes]]]:
    root = Path(__file__).parents[1]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "affluent.service", "worker", "--concurrency", "4"],
            env={**os.environ, **env, "PYTHONPATH": str(root)},
            cwd=root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=20)


def _pending(store: Store) -> int:
    counts = Inbox(store).counts()
    return counts.get("pending", 0) + counts.get("running", 0)


def run(per_batch: int) -> list[Figure]:
    if find_bindir() is None:
        return []
    figures: list[Figure] = []
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    with temporary_server() as server, serve_in_thread(app) as sandbox_url:
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text('CREATE DATABASE "processing"'))
        admin.dispose()
        url = make_url(server).set(database="processing").render_as_string(hide_password=False)
        store = Store(url)
        migrate(store)
        env = {
            "AFFLUENT_DATABASE_URL": url,
            "AFFLUENT_DR_API_KEY": KEY,
            "AFFLUENT_DR_BASE_URL": sandbox_url,
            "AFFLUENT_ADAPTERS": "[]",
            "AFFLUENT_ADAPTER_PATHS": json.dumps(ADAPTER),
            "AFFLUENT_WORKER_POLL_INTERVAL": "0.02",
            "AFFLUENT_RECONCILE_INTERVAL": "0",
            "AFFLUENT_LOG_LEVEL": "WARNING",
        }

        async def prepare(prefix: str) -> list[Any]:
            async with AsyncDigitalRiver(api_key=KEY, base_url=sandbox_url) as dr:
                if prefix == "w1":
                    for sku, name in SKUS.items():
                        await dr.skus.create({"id": sku, "name": name, "physical": True})
                return await _orders(dr, store, sandbox_url, prefix, per_batch)

        def drain(processes: list[subprocess.Popen[bytes]]) -> None:
            while _pending(store):
                if any(p.poll() is not None for p in processes):
                    raise RuntimeError("a worker exited early")
                time.sleep(0.02)

        rates = {}
        for workers in (1, 2, 4):
            events = asyncio.run(prepare(f"w{workers}"))
            with _workers(workers, env) as processes:
                time.sleep(4)  # let every worker import and start polling before the clock runs
                started = time.perf_counter()
                _enqueue(store, events)
                drain(processes)
                rates[workers] = per_batch / (time.perf_counter() - started)
        store.dispose()
    base = rates[1]
    for workers, rate in rates.items():
        figures.append(
            Figure(
                f"processing, {workers} worker process(es), PostgreSQL",
                "events/s",
                rate,
                base if workers > 1 else None,
                "ratio = scaling factor over 1 worker" if workers > 1 else "",
            )
        )
    return figures
