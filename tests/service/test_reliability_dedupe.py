"""Reliability: the same signed ``order.accepted`` 1,000 times, 200 at a time, 4 workers."""

from __future__ import annotations

import asyncio

import pytest
from reliability import Deployment, figures
from service_support import PLATFORM, percentile, resolve, signed, submitted
from sqlalchemy import select

from affluent.lifecycle import OrderStatus
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.store import PlatformWrite, Transition
from affluent.testing.load import blast

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]


async def test_one_event_delivered_1000_times_has_one_effect(
    deployment: Deployment, sandbox_url: str
) -> None:
    await deployment.start(serve=True, workers=4, concurrency=4)
    order_id = await submitted(deployment.flow, deployment.dr, "dup-1", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    [accepted] = [
        e async for e in deployment.dr.events.iterate(order_id=order_id, type="order.accepted")
    ]
    body, headers = signed(accepted.to_dict(), DEFAULT_WEBHOOK_SECRET)

    statuses, latencies, elapsed = await blast(
        f"{deployment.url}/webhooks/digital-river", [(body, headers)] * 1000, concurrency=200
    )
    assert statuses == [202] * 1000
    await deployment.settled()
    await asyncio.sleep(1.0)  # a late duplicate effect would show up here

    view = deployment.flow.order(PLATFORM, "dup-1")
    assert view.status == OrderStatus.ready_to_fulfill
    with deployment.runtime.store.session() as session:
        transitions = session.scalars(
            select(Transition.new).where(Transition.cause == f"event:{accepted.id}")
        ).all()
        writes = session.scalars(
            select(PlatformWrite.state).where(PlatformWrite.kind == "status")
        ).all()
    assert transitions == [OrderStatus.ready_to_fulfill]
    sent = deployment.writes.statuses("dup-1")
    assert sent.count("ready_to_fulfill") == 1, sent
    counts = deployment.inbox()
    figures(
        "dedupe x1000",
        latencies,
        elapsed,
        stored_events=deployment.rows(),
        state_changes=len(transitions),
        platform_writes=sent.count("ready_to_fulfill"),
        status_write_rows=len(writes),
        inbox=counts,
    )
    assert deployment.rows() == 1 and counts["done"] == 1
    assert percentile(latencies, 99) < 3.0  # DR's answer budget
