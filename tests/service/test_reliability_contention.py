"""Reliability: two hosts shipping and cancelling the same lines concurrently, 1,000 times."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from typing import Any

import pytest
from reliability import Deployment
from service_support import PLATFORM, ship, submitted
from sqlalchemy import select

from affluent.store import LineChangeRecord, LineItem
from affluent.testing.load import blast

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

ORDERS = 10
EVENTS_PER_ORDER = 100


class LedgerWatch(threading.Thread):
    """Reads every line's ledger every few milliseconds; remembers any line over its order."""

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(daemon=True)
        self.store = deployment.runtime.store
        self.stop = threading.Event()
        self.samples = 0
        self.violations: list[tuple[int, int, int, int]] = []

    def run(self) -> None:
        while not self.stop.is_set():
            with self.store.session() as session:
                rows = session.execute(
                    select(LineItem.id, LineItem.ordered, LineItem.fulfilled, LineItem.cancelled)
                ).all()
            self.samples += 1
            self.violations += [tuple(r) for r in rows if r[2] + r[3] > r[1] or min(r[2], r[3]) < 0]
            time.sleep(0.005)


async def test_two_hosts_never_ship_or_cancel_more_than_was_ordered(
    deployment: Deployment, sandbox_app: Any
) -> None:
    sandbox = sandbox_app.state.sandbox
    await deployment.start(serve=True)
    refs = [f"race-{i}" for i in range(ORDERS)]
    gate = asyncio.Semaphore(5)

    async def order(ref: str) -> str:
        async with gate:
            return await submitted(deployment.flow, deployment.dr, ref)

    dr_ids = dict(zip(refs, await asyncio.gather(*(order(ref) for ref in refs)), strict=True))
    hosts = [deployment.worker(concurrency=4, dr_api_key=f"sk_test_race_host_{n}") for n in "ab"]
    await asyncio.to_thread(deployment.fleet.wait_started, *hosts)

    rng = random.Random(1000)
    events = []
    for ref in refs:
        for n in range(EVENTS_PER_ORDER):
            change = [("L1", 2, 0)] if rng.random() < 0.5 else [("L1", 0, 1)]
            events.append(ship(ref, f"{ref}-change-{n}", change))
    rng.shuffle(events)
    watch = LedgerWatch(deployment)
    watch.start()
    started = time.monotonic()
    statuses, _, _ = await blast(f"{deployment.url}/webhooks/{PLATFORM}", events, concurrency=50)
    await deployment.settled(within=240)
    elapsed = time.monotonic() - started
    watch.stop.set()
    watch.join()

    assert statuses == [202] * len(events)
    assert watch.violations == []
    counts = deployment.inbox()
    with deployment.runtime.store.session() as session:
        records = session.scalars(select(LineChangeRecord)).all()
    assert {r.state for r in records} == {"sent"}
    for ref in refs:
        [l1, l2] = deployment.flow.order(PLATFORM, ref).lines
        assert l1.fulfilled + l1.cancelled == l1.ordered == 3 and (l2.fulfilled, l2.cancelled) == (
            0,
            0,
        )
        at_dr = [f for f in sandbox.all("fulfillments") if f["orderId"] == dr_ids[ref]]
        units = sum(i["quantity"] + i["cancelQuantity"] for f in at_dr for i in f["items"])
        shipped = sum(i["quantity"] for f in at_dr for i in f["items"])
        assert units == 3 and shipped == l1.fulfilled
    assert counts["done"] == len(records) and counts["done"] + counts["parked"] == len(events)
    print(
        f"\n[ship/cancel race] {len(events)} ship-2 / cancel-1 events over {ORDERS} three-unit "
        f"lines, 2 worker hosts x 4: done in {elapsed:.1f}s ({len(events) / elapsed:.0f} events/s); "
        f"{counts['done']} changes sent to DR, {counts['parked']} refused (more than remained); "
        f"ledger sampled {watch.samples} times, over-ordered lines seen: {len(watch.violations)}; "
        f"units at the sandbox per line: 3"
    )
