"""Figure 4: one worker's RSS after 1,000 and after 100,000 processed events.

The store (a SQLite file) is seeded with orders in review, written straight into the tables:
checkout and submit are what figure 1 measures, and 25,000 of them through the sandbox would
take longer than the events. The inbox then gets four DR events per order: ``order.accepted``,
``order.fulfilled``, ``order.complete`` and a redelivery of the acceptance under a new event id
(stale by then, or early when the worker takes it first). One ``affluent worker`` process works
them off; its RSS is read from ``/proc`` once 1,000 events are done and again at the end. Each
event is a real job: claim, order lease, dedupe row, transition, platform status write, finish.
The platform client counts its writes instead of keeping them, so the figure is the worker's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, insert

from affluent.hookspecs import hookimpl
from affluent.models import PlatformUpdate
from affluent.service import Inbox
from affluent.store import Store
from affluent.store.migrate import migrate
from affluent.store.tables import InboxEvent, LineItem, Order
from affluent.testing.memory import DictPlatform
from benchmarks.report import Figure

EVENTS_PER_ORDER = 4
_ROOT = Path(__file__).parents[1]


class CountingClient:
    """A platform client that counts writes and keeps none of them."""

    def __init__(self) -> None:
        self.count = 0

    async def push(self, update: PlatformUpdate) -> None:
        self.count += 1

    async def aclose(self) -> None:
        pass


class CountingPlatform(DictPlatform):
    """The dict platform with a client that keeps nothing (its RSS stays the worker's)."""

    def __init__(self) -> None:
        super().__init__()
        self.counter = CountingClient()

    @hookimpl
    def affluent_platform_client(self) -> CountingClient:  # type: ignore[override]
        return self.counter


def seed(store: Store, orders: int) -> None:
    """``orders`` orders in review (one line each) and their events in the inbox."""
    order_rows = [
        {
            "id": number + 1,
            "platform": "mem",
            "order_ref": f"m-{number}",
            "currency": "USD",
            "email": "mem@example.com",
            "status": "in_review",
            "dr_state": "in_review",
            "dr_order_id": f"dr-{number}",
            "submit_attempted": True,
        }
        for number in range(orders)
    ]
    line_rows = [
        {"order_id": number + 1, "line_ref": "L1", "dr_order_item_id": f"it-{number}", "ordered": 1}
        for number in range(orders)
    ]
    with store.transaction() as conn:
        conn.execute(insert(cast(Table, Order.__table__)), order_rows)
        conn.execute(insert(cast(Table, LineItem.__table__)), line_rows)
        for start in range(0, orders, 5000):
            conn.execute(
                insert(cast(Table, InboxEvent.__table__)),
                list(_inbox_rows(range(start, min(start + 5000, orders)))),
            )


def _inbox_rows(numbers: range) -> Iterator[dict[str, Any]]:
    steps = [
        ("order.accepted", "accepted", "a"),
        ("order.fulfilled", "fulfilled", "f"),
        ("order.complete", "complete", "c"),
        ("order.accepted", "accepted", "r"),
    ]
    for number in numbers:
        for event_type, state, tag in steps:
            key = f"evt-{tag}-{number}"
            payload = {
                "id": key,
                "type": event_type,
                "data": {
                    "object": {
                        "id": f"dr-{number}",
                        "state": state,
                        "stateTransitions": {"accepted": "2026-11-27T00:00:00Z"},
                    }
                },
            }
            yield {
                "source": "dr",
                "event_key": key,
                "type": event_type,
                "origin": "cli",
                "payload": json.dumps(payload),
            }


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(events: int) -> list[Figure]:
    orders = max(events // EVENTS_PER_ORDER, 1)
    total = orders * EVENTS_PER_ORDER
    first = min(1000, total // 2)
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'memory.sqlite3'}"
        store = Store(url)
        migrate(store)
        seed(store, orders)
        inbox = Inbox(store)
        env = {
            **os.environ,
            "PYTHONPATH": str(_ROOT),
            "AFFLUENT_DATABASE_URL": url,
            "AFFLUENT_DR_API_KEY": "sk_test_memory",
            "AFFLUENT_DR_BASE_URL": "http://127.0.0.1:9",  # never called: events need no DR call
            "AFFLUENT_ADAPTERS": "[]",
            "AFFLUENT_ADAPTER_PATHS": json.dumps({"mem": "benchmarks.memory:CountingPlatform"}),
            "AFFLUENT_WORKER_POLL_INTERVAL": "0.02",
            "AFFLUENT_RECONCILE_INTERVAL": "0",
            "AFFLUENT_LOG_LEVEL": "WARNING",
        }
        log = Path(folder) / "worker.log"
        with log.open("wb") as sink:
            worker = subprocess.Popen(
                [sys.executable, "-m", "affluent.service", "worker"],
                env=env,
                cwd=_ROOT,
                stdout=subprocess.DEVNULL,
                stderr=sink,
            )
        try:
            started = time.perf_counter()
            rss_first = elapsed_first = None
            while True:
                counts = inbox.counts()
                done = counts.get("done", 0) + counts.get("parked", 0)
                if rss_first is None and done >= first:
                    rss_first, elapsed_first = _rss_mb(worker.pid), time.perf_counter() - started
                if done >= total:
                    break
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited: {log.read_text()[-2000:]}")
                time.sleep(0.5)
            elapsed = time.perf_counter() - started
            rss_last = _rss_mb(worker.pid)
            parked = inbox.counts().get("parked", 0)
        finally:
            worker.terminate()
            worker.wait(timeout=30)
            store.dispose()
    if parked:
        raise RuntimeError(f"{parked} events were parked; the memory run is not valid")
    assert rss_first is not None
    assert elapsed_first is not None
    return [
        Figure(
            f"worker RSS after {first:,} then {total:,} events",
            "MB",
            rss_last,
            rss_first,
            f"drift {rss_last - rss_first:+.1f} MB; target drift < 50 MB",
        ),
        Figure(
            f"worker throughput over {total:,} events, SQLite, 1 process",
            "events/s",
            total / elapsed,
            None,
            f"first {first:,} at {first / elapsed_first:.0f}/s",
        ),
    ]
