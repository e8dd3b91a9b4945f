"""Reliability: ``kill -9`` of workers, mid-batch and between "DR call sent" and "commit"."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from reliability import Deployment, deployment_settings
from service_support import PLATFORM, WriteLog, ship, submitted
from sqlalchemy import select

from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import FaultRule
from affluent.serving import serve_in_thread
from affluent.store import LineChangeRecord
from affluent.store.tables import InboxEvent
from affluent.testing.load import blast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


class HoldAfterCommit:
    """ASGI wrapper: a ``POST /fulfillments`` runs (DR commits it), then its answer is held
    until the test releases it: the caller has sent the call but not heard back."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.armed = threading.Event()
        self.committed = threading.Event()
        self.release = threading.Event()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if not (
            self.armed.is_set()
            and scope["type"] == "http"
            and scope["method"] == "POST"
            and scope["path"] == "/fulfillments"
        ):
            await self.app(scope, receive, send)
            return
        self.armed.clear()
        held: list[Any] = []

        async def keep(message: Any) -> None:
            held.append(message)

        await self.app(scope, receive, keep)
        self.committed.set()
        await asyncio.to_thread(self.release.wait, 60)
        for message in held:
            try:
                await send(message)
            except Exception:  # the caller is gone
                return


@pytest.fixture
def held_sandbox() -> Iterator[tuple[HoldAfterCommit, Any, str]]:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    wrapper = HoldAfterCommit(app)
    with serve_in_thread(wrapper) as url:
        yield wrapper, app, url


@pytest.fixture
async def deployment(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    held_sandbox: tuple[HoldAfterCommit, Any, str],
    write_log: tuple[WriteLog, str],
) -> AsyncIterator[Deployment]:
    database = getattr(request, "param", "postgres")
    db = (
        f"sqlite:///{tmp_path / 'crash.sqlite3'}"
        if database == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    log, writes_url = write_log
    settings = deployment_settings(db, held_sandbox[2], writes_url, lease_seconds=2.0)
    deployment = Deployment(tmp_path, settings, log)
    try:
        yield deployment
    finally:
        held_sandbox[0].release.set()
        await deployment.close()


def running_of(deployment: Deployment, pid: int) -> list[int]:
    with deployment.runtime.store.session() as session:
        return list(
            session.scalars(
                select(InboxEvent.id).where(
                    InboxEvent.state == "running", InboxEvent.locked_by.like(f"%:{pid}:%")
                )
            ).all()
        )


async def test_kill_9_mid_batch_loses_nothing_and_ships_each_line_once(
    deployment: Deployment, held_sandbox: tuple[HoldAfterCommit, Any, str]
) -> None:
    sandbox = held_sandbox[1].state.sandbox
    await deployment.start(serve=True)
    orders = {
        f"k-{i}": await submitted(deployment.flow, deployment.dr, f"k-{i}") for i in range(16)
    }
    sandbox.faults.add(
        FaultRule(method="POST", path="/fulfillments", kind="latency", latency=0.25, times=None)
    )
    victim = deployment.worker(concurrency=4)
    await asyncio.to_thread(deployment.fleet.wait_started, victim)
    requests = [ship(ref, f"ship-{ref}", [("L1", 3, 0), ("L2", 1, 0)]) for ref in orders]
    statuses, _, _ = await blast(f"{deployment.url}/webhooks/{PLATFORM}", requests, concurrency=16)
    assert statuses == [202] * 16

    deadline = time.monotonic() + 30
    while len(sandbox.all("fulfillments")) < 3 or len(running_of(deployment, victim.pid)) < 2:
        assert time.monotonic() < deadline, "the victim never got busy"
        await asyncio.sleep(0.01)
    in_flight = running_of(deployment, victim.pid)
    shipped_before = len(sandbox.all("fulfillments"))
    victim.kill()
    killed_at = time.monotonic()
    rescuers = [deployment.worker(concurrency=4) for _ in range(2)]
    await asyncio.to_thread(deployment.fleet.wait_started, *rescuers)
    await deployment.settled(within=90)
    recovered = time.monotonic() - killed_at

    counts = deployment.inbox()
    assert counts == {"pending": 0, "running": 0, "done": 16, "parked": 0}, counts
    per_order: dict[str, list[Any]] = {}
    for fulfillment in sandbox.all("fulfillments"):
        per_order.setdefault(fulfillment["orderId"], []).append(fulfillment)
    for ref, order_id in orders.items():
        view = deployment.flow.order(PLATFORM, ref)
        assert [(line.fulfilled, line.cancelled) for line in view.lines] == [(3, 0), (1, 0)]
        [only] = per_order[order_id]  # exactly one fulfillment: each line shipped once
        assert sorted(item["quantity"] for item in only["items"]) == [1, 3]
    print(
        f"\n[kill -9 mid-batch] 16 line-change events; victim held {len(in_flight)} in flight "
        f"with {shipped_before} fulfillments sent; all 16 done {recovered:.1f}s after the kill; "
        f"fulfillments at the sandbox: {len(sandbox.all('fulfillments'))} (one per order, "
        f"{sum(len(f['items']) for f in sandbox.all('fulfillments'))} lines)"
    )


@pytest.mark.parametrize("deployment", ["postgres", "sqlite"], indirect=True)
async def test_kill_9_between_the_dr_call_and_the_commit_sends_nothing_twice(
    deployment: Deployment, held_sandbox: tuple[HoldAfterCommit, Any, str]
) -> None:
    hold, app, _ = held_sandbox
    sandbox = app.state.sandbox
    await deployment.start(serve=True)
    order_id = await submitted(deployment.flow, deployment.dr, "c-1")
    victim = deployment.worker(concurrency=1)
    await asyncio.to_thread(deployment.fleet.wait_started, victim)
    hold.armed.set()
    statuses, _, _ = await blast(
        f"{deployment.url}/webhooks/{PLATFORM}",
        [ship("c-1", "ship-c-1", [("L1", 2, 1), ("L2", 0, 1)])],
        concurrency=1,
    )
    assert statuses == [202]
    assert await asyncio.to_thread(hold.committed.wait, 30), "the fulfillment never reached DR"
    victim.kill()  # DR has the fulfillment; the worker never heard back
    hold.release.set()
    with deployment.runtime.store.session() as session:
        [record] = session.scalars(select(LineChangeRecord)).all()
        assert record.state == "sending" and record.dr_fulfillment_id is None
    assert len(sandbox.all("fulfillments")) == 1

    started = time.monotonic()
    rescuer = deployment.worker(concurrency=1)
    await asyncio.to_thread(deployment.fleet.wait_started, rescuer)
    await deployment.settled(within=60)
    took = time.monotonic() - started

    [fulfillment] = sandbox.all("fulfillments")
    assert fulfillment["orderId"] == order_id
    with deployment.runtime.store.session() as session:
        [record] = session.scalars(select(LineChangeRecord)).all()
        [row] = session.scalars(select(InboxEvent)).all()
    assert record.state == "sent" and record.dr_fulfillment_id == fulfillment["id"]
    # the retried job or the outbox sweep finishes it (whichever gets the order first): the
    # job then reports the change as already sent
    assert row.state == "done" and row.outcome in ("sent", "duplicate") and row.attempts == 2
    view = deployment.flow.order(PLATFORM, "c-1")
    assert [(line.fulfilled, line.cancelled) for line in view.lines] == [(2, 1), (0, 1)]
    print(
        f"\n[kill -9 between DR call and commit, {deployment.runtime.store.engine.dialect.name}] "
        f"rescued in {took:.1f}s (lease 2s) by asking DR first; fulfillments at the sandbox: 1"
    )


async def test_sigterm_lets_running_jobs_finish_then_exits(
    deployment: Deployment, held_sandbox: tuple[HoldAfterCommit, Any, str]
) -> None:
    sandbox = held_sandbox[1].state.sandbox
    await deployment.start(serve=True)
    await submitted(deployment.flow, deployment.dr, "t-1")
    sandbox.faults.add(FaultRule(method="POST", path="/fulfillments", kind="latency", latency=1.5))
    worker = deployment.worker(concurrency=2)
    await asyncio.to_thread(deployment.fleet.wait_started, worker)
    await blast(
        f"{deployment.url}/webhooks/{PLATFORM}",
        [ship("t-1", "ship-t-1", [("L1", 1, 0)])],
        concurrency=1,
    )
    deadline = time.monotonic() + 20
    while not running_of(deployment, worker.pid):
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    started = time.monotonic()
    code = await asyncio.to_thread(worker.terminate, 30)
    assert code == 0
    assert deployment.inbox() == {"pending": 0, "running": 0, "done": 1, "parked": 0}
    assert len(sandbox.all("fulfillments")) == 1
    print(
        f"\n[SIGTERM] the running job finished and the worker exited 0 in {time.monotonic() - started:.1f}s"
    )
