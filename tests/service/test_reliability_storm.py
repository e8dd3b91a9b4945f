"""Reliability: a 429 storm with ``Retry-After``; nobody calls early, every job finishes."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Service
from reliability import Deployment, deployment_settings
from service_support import PLATFORM, WriteLog, free_port, service_env, ship, submitted
from sqlalchemy import select

from affluent.dr import sign
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.sandbox.faults import FaultRule
from affluent.store.tables import InboxEvent
from affluent.testing.load import blast

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]


@dataclass(frozen=True)
class Seen:
    at: float
    key: str | None
    method: str
    path: str
    status: int
    retry_after: float | None


@pytest.fixture
def recorded_sandbox(tmp_path: Path) -> Iterator[str]:
    """The sandbox and its request recorder in their own process; yields its URL."""
    port = free_port()
    log = tmp_path / "sandbox.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", f"import recorded_sandbox; recorded_sandbox.main({port})"],
            env=service_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/_recorder", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def recorded(url: str) -> list[Seen]:
    data = httpx.get(f"{url}/_recorder", timeout=10).json()
    return [Seen(**row) for row in data["seen"]]


@pytest.fixture
async def deployment(
    tmp_path: Path,
    pg_url: str,
    recorded_sandbox: str,
    write_log: tuple[WriteLog, str],
) -> AsyncIterator[Deployment]:
    log, writes_url = write_log
    settings = deployment_settings(pg_url, recorded_sandbox, writes_url, dr_max_retry_wait=5.0)
    deployment = Deployment(tmp_path, settings, log)
    try:
        yield deployment
    finally:
        await deployment.close()


def early_calls(seen: list[Seen], slack: float = 0.1) -> tuple[int, int]:
    """(429 answers, requests a client sent before its own Retry-After was up)."""
    limited = [s for s in seen if s.status == 429 and s.retry_after is not None]
    early = 0
    for hit in limited:
        assert hit.retry_after is not None
        window = (hit.at + slack, hit.at + hit.retry_after - slack)
        early += sum(1 for s in seen if s.key == hit.key and window[0] < s.at < window[1])
    return len(limited), early


async def test_a_429_storm_is_waited_out_and_every_job_finishes(
    deployment: Deployment, recorded_sandbox: str
) -> None:
    await deployment.start(serve=True)
    refs = [f"s-{i}" for i in range(12)]
    orders = {ref: await submitted(deployment.flow, deployment.dr, ref) for ref in refs}
    hosts = [
        deployment.worker(concurrency=4, dr_api_key=f"sk_test_storm_host_{name}") for name in "ab"
    ]
    await asyncio.to_thread(deployment.fleet.wait_started, *hosts)
    storm_started = max((s.at for s in recorded(recorded_sandbox)), default=0.0)

    async with httpx.AsyncClient(base_url=recorded_sandbox) as control:
        rule = {"path": "*", "kind": "status", "status": 429, "retryAfter": 1, "times": None}
        assert (await control.post("/_sandbox/faults", json=rule)).status_code == 201
        requests = [ship(ref, f"ship-{ref}", [("L1", 2, 1), ("L2", 1, 0)]) for ref in refs]
        statuses, _, _ = await blast(
            f"{deployment.url}/webhooks/{PLATFORM}", requests, concurrency=12
        )
        assert statuses == [202] * 12
        await asyncio.sleep(3.0)
        assert (await control.delete("/_sandbox/faults")).status_code == 204
    storm_ended = time.monotonic()
    await deployment.settled(within=90)
    finished = time.monotonic() - storm_ended

    assert deployment.inbox() == {"pending": 0, "running": 0, "done": 12, "parked": 0}
    shipped = 0
    for ref, order_id in orders.items():
        view = deployment.flow.order(PLATFORM, ref)
        assert [(line.fulfilled, line.cancelled) for line in view.lines] == [(2, 1), (1, 0)]
        found = await deployment.dr.fulfillments.list_for_order(order_id)
        assert len(found) == 1
        shipped += len(found)
    seen = [s for s in recorded(recorded_sandbox) if s.at > storm_started]
    limited, early = early_calls(seen)
    storm = [s for s in seen if s.status == 429]
    print(
        f"\n[429 storm] 3.0s of 429 Retry-After: 1 for every call, 2 hosts x 4 jobs: "
        f"{len(storm)} calls answered 429 ({len(storm) / 3.0:.1f}/s), {early} sent before "
        f"their own Retry-After was up; all 12 jobs done {finished:.1f}s after the storm; "
        f"fulfillments: {shipped}"
    )
    assert limited > 0
    assert early == 0


async def test_a_long_retry_after_reschedules_the_job_without_blocking_the_worker(
    service: Service, sandbox_app: Any
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    await submitted(flow, dr, "long-1")
    sandbox_app.state.sandbox.faults.add(
        FaultRule(method="POST", path="/fulfillments", kind="status", status=429, retry_after=600)
    )
    body, headers = ship("long-1", "ship-long", [("L1", 1, 0)])
    async with httpx.AsyncClient(base_url=service.url) as client:
        assert (
            await client.post(f"/webhooks/{PLATFORM}", content=body, headers=headers)
        ).status_code == 202
        other = b'{"id": "evt-other", "type": "order.created", "data": {"object": {}}}'
        signature = sign(other, [DEFAULT_WEBHOOK_SECRET])
        response = await client.post(
            "/webhooks/digital-river", content=other, headers={"DigitalRiver-Signature": signature}
        )
        assert response.status_code == 202
    started = time.monotonic()
    stats = await service.worker.run_until_idle(limit=20)
    took = time.monotonic() - started
    with service.store.session() as session:
        rows = {row.event_key: row for row in session.scalars(select(InboxEvent)).all()}
    waiting = rows["d-ship-long"]
    due = (
        waiting.next_attempt_at.replace(tzinfo=UTC)
        if waiting.next_attempt_at.tzinfo is None
        else waiting.next_attempt_at
    )
    assert waiting.state == "pending" and waiting.attempts == 0
    assert 590 < (due - datetime.now(UTC)).total_seconds() <= 600
    assert rows["evt-other"].state == "done"  # the worker went on with other work
    assert took < 10 and stats.retried == 1
