"""The worker in process: events through the flow, retries, parking, outboxes, the CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx
from click.testing import CliRunner
from conftest import Service
from service_support import PLATFORM, resolve, ship, signed, submitted
from sqlalchemy import func, select, update

from affluent.cli import main
from affluent.dr import AsyncDigitalRiver
from affluent.lifecycle import OrderStatus
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.service import Inbox
from affluent.store import LineChangeRecord, PlatformWrite, Transition
from affluent.store.tables import InboxEvent


async def deliver_dr(service: Service, event: dict[str, Any]) -> None:
    body, headers = signed(event, DEFAULT_WEBHOOK_SECRET)
    async with httpx.AsyncClient(base_url=service.url) as client:
        response = await client.post("/webhooks/digital-river", content=body, headers=headers)
    assert response.status_code == 202, response.text


async def deliver_platform(service: Service, body: bytes, headers: dict[str, str]) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        response = await client.post(f"/webhooks/{PLATFORM}", content=body, headers=headers)
    assert response.status_code == 202, response.text


async def dr_events(dr: AsyncDigitalRiver, order_id: str) -> list[dict[str, Any]]:
    found = [e async for e in dr.events.iterate(order_id=order_id, limit=100)]
    return [e.to_dict() for e in reversed(found)]


def inbox_rows(service: Service) -> list[InboxEvent]:
    with service.store.session() as session:
        return list(session.scalars(select(InboxEvent).order_by(InboxEvent.id)).all())


def recorded(service: Service) -> list[str]:
    plugin: Any = service.runtime.adapters.info(PLATFORM).plugin
    return [u.body["status"] for u in plugin.client.pushed if u.kind == "status"]


async def test_dr_events_flow_through_the_inbox_to_the_order(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-1", email="review@example.com")
    assert flow.order(PLATFORM, "w-1").status == OrderStatus.in_review
    await resolve(sandbox_url, order_id, "accept")
    for event in await dr_events(dr, order_id):
        await deliver_dr(service, event)
    stats = await service.worker.run_until_idle(limit=30)
    assert flow.order(PLATFORM, "w-1").status == OrderStatus.ready_to_fulfill
    assert {row.state for row in inbox_rows(service)} == {"done"}
    assert stats.outcomes.get("applied") == 1, stats
    assert recorded(service) == ["in_review", "ready_to_fulfill"]


async def test_an_event_for_an_order_not_yet_recorded_waits_then_parks(service: Service) -> None:
    stray = {
        "id": "evt-stray",
        "type": "order.accepted",
        "data": {"object": {"id": "999999990336", "state": "accepted"}},
    }
    await deliver_dr(service, stray)
    stats = await service.worker.run_until_idle(limit=30, settle=2.0)
    [row] = inbox_rows(service)
    assert row.state == "parked" and row.outcome == "unknown_order"
    assert row.attempts == service.settings.job_max_attempts
    assert "999999990336" in (row.last_error or "")
    assert stats.parked == 1 and stats.retried == service.settings.job_max_attempts - 1


async def test_an_early_event_is_applied_once_its_order_is_recorded(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-2", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    accepted = [e for e in await dr_events(dr, order_id) if e["type"] == "order.accepted"]
    with service.store.session() as session:  # as if the submit had not been recorded yet
        from affluent.store import Order

        session.execute(update(Order).values(dr_order_id=None))
    await deliver_dr(service, accepted[0])
    worker = service.new_worker(max_attempts=50)
    first = await worker.run_until_idle(limit=10)
    assert first.retried >= 1 and first.done == 0
    with service.store.session() as session:
        from affluent.store import Order

        session.execute(update(Order).values(dr_order_id=order_id))
    await worker.run_until_idle(limit=10, settle=2.0)
    assert flow.order(PLATFORM, "w-2").status == OrderStatus.ready_to_fulfill


async def test_platform_line_changes_become_one_fulfillment_each(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-3")
    for _ in range(3):  # the platform retries its webhook
        await deliver_platform(service, *ship("w-3", "ful-1", [("L1", 2, 0), ("L2", 0, 1)]))
    await service.worker.run_until_idle(limit=30)
    await deliver_platform(service, *ship("w-3", "ful-2", [("L1", 1, 0)]))
    await deliver_platform(service, *ship("w-3", "ful-3", [("L1", 1, 0)]))  # too many
    stats = await service.worker.run_until_idle(limit=30)
    fulfillments = await dr.fulfillments.list_for_order(order_id)
    assert len(fulfillments) == 2
    view = flow.order(PLATFORM, "w-3")
    assert [(line.fulfilled, line.cancelled) for line in view.lines] == [(3, 0), (0, 1)]
    states = {row.event_key: (row.state, row.outcome) for row in inbox_rows(service)}
    assert states["d-ful-1"] == ("done", "sent")
    # ful-2 and ful-3 race for the last unit of L1: one is sent, the other refused and parked
    assert sorted([states["d-ful-2"], states["d-ful-3"]]) == [("done", "sent"), ("parked", "error")]
    assert stats.parked == 1
    parked = [row for row in inbox_rows(service) if row.state == "parked"]
    assert "exceeds the 0 unit(s) remaining" in (parked[0].last_error or "")


async def test_a_failed_platform_write_is_sent_by_the_sweep(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    plugin: Any = service.runtime.adapters.info(PLATFORM).plugin
    order_id = await submitted(flow, dr, "w-4", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    plugin.client.fail_next = 1
    for event in await dr_events(dr, order_id):
        await deliver_dr(service, event)
    await service.worker.run_until_idle(limit=30, settle=2.0)
    assert recorded(service)[-1] == "ready_to_fulfill"
    with service.store.session() as session:
        states = session.scalars(select(PlatformWrite.state)).all()
    assert set(states) == {"sent"}


async def test_a_sending_line_change_is_finished_by_asking_dr_first(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-5")
    await flow.apply_line_changes(
        PLATFORM, {"ref": "w-5", "event": "c-1", "lines": [{"id": "L1", "shipped": 1}]}
    )
    with service.store.session() as session:  # as if the worker died before recording "sent"
        session.execute(update(LineChangeRecord).values(state="sending", dr_fulfillment_id=None))
    assert await flow.resume_line_changes(PLATFORM, "w-5") == 1
    assert len(await dr.fulfillments.list_for_order(order_id)) == 1
    with service.store.session() as session:
        [record] = session.scalars(select(LineChangeRecord)).all()
        assert record.state == "sent" and record.dr_fulfillment_id


async def test_events_cli_lists_shows_and_replays(service: Service, monkeypatch: Any) -> None:
    await deliver_dr(
        service,
        {
            "id": "evt-cli",
            "type": "order.accepted",
            "data": {"object": {"id": "1", "state": "accepted"}},
        },
    )
    await service.worker.run_until_idle(limit=30, settle=2.0)
    monkeypatch.setenv("AFFLUENT_DATABASE_URL", service.settings.database_url)
    runner = CliRunner()
    listed = runner.invoke(main, ["events", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = [json.loads(line) for line in listed.output.splitlines()]
    assert row["state"] == "parked" and row["event_key"] == "evt-cli"
    shown = runner.invoke(main, ["events", "show", str(row["id"])])
    assert json.loads(shown.output)["payload"]["id"] == "evt-cli"
    table = runner.invoke(main, ["events", "list", "--state", "parked"])
    assert "parked: 1" in table.output
    replayed = runner.invoke(main, ["events", "replay", "--parked"])
    assert replayed.output.strip() == "1 event(s) queued again"
    assert Inbox(service.store).counts()["pending"] == 1
    assert runner.invoke(main, ["events", "show", "424242"]).exit_code == 1


async def test_transitions_are_recorded_once_however_often_events_arrive(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-6", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    events = await dr_events(dr, order_id)
    for event in events * 3:
        await deliver_dr(service, event)
    await service.worker.run_until_idle(limit=30)
    with service.store.session() as session:
        count = session.scalar(select(func.count()).select_from(Transition))
    assert count == 2  # in_review (submit) and ready_to_fulfill
    assert len(inbox_rows(service)) == len(events)


async def test_the_worker_reconciles_once_per_fleet_and_twice_is_a_no_op(
    service: Service, sandbox_url: str
) -> None:
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-7", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    worker = service.new_worker(reconcile_interval=60.0)
    other = service.new_worker()
    from affluent.service import Leases
    from affluent.service.worker import RECONCILE_LEASE

    assert Leases(service.store).acquire(RECONCILE_LEASE, "another-host", 30)
    assert await worker.reconcile_once() is None  # someone else is reconciling
    Leases(service.store).release(RECONCILE_LEASE, "another-host")
    added = await worker.reconcile_once()
    assert added and added >= 4
    assert await other.reconcile_once() == 0
    await worker.run_until_idle(limit=30)
    assert flow.order(PLATFORM, "w-7").status == OrderStatus.ready_to_fulfill


async def test_prune_deletes_only_old_processed_events(service: Service, monkeypatch: Any) -> None:
    await deliver_dr(
        service, {"id": "evt-old", "type": "fulfillment.created", "data": {"object": {}}}
    )
    await deliver_dr(
        service,
        {
            "id": "evt-bad",
            "type": "order.accepted",
            "data": {"object": {"id": "9", "state": "accepted"}},
        },
    )
    await service.worker.run_until_idle(limit=30, settle=2.0)
    inbox = Inbox(service.store)
    assert inbox.prune(3600) == 0
    with service.store.session() as session:
        from datetime import UTC, datetime, timedelta

        session.execute(
            update(InboxEvent).values(finished_at=datetime.now(UTC) - timedelta(days=8))
        )
    monkeypatch.setenv("AFFLUENT_DATABASE_URL", service.settings.database_url)
    result = CliRunner().invoke(main, ["events", "prune", "--days", "7"])
    assert result.output.strip() == "1 processed event(s) older than 7 day(s) deleted"
    assert [row.event_key for row in inbox_rows(service)] == ["evt-bad"]  # parked: kept


async def test_a_burst_for_one_order_queues_in_the_worker_instead_of_bouncing(
    service: Service, sandbox_url: str
) -> None:
    """Jobs of one order claimed together wait on the worker's own lock for that order; none is
    handed back to the inbox as busy (which costs a database round trip and a delay each)."""
    flow, dr = service.runtime.flow, service.runtime.dr
    order_id = await submitted(flow, dr, "w-burst", email="review@example.com")
    await resolve(sandbox_url, order_id, "accept")
    [accepted] = [e for e in await dr_events(dr, order_id) if e["type"] == "order.accepted"]
    for number in range(4):  # DR redelivering the acceptance under new event ids
        await deliver_dr(service, accepted | {"id": f"{accepted['id']}-again-{number}"})

    stats = await service.worker.run_until_idle(limit=30)

    assert stats.deferred == 0, stats
    assert stats.outcomes == {"applied": 1, "stale": 3}, stats
    assert {row.state for row in inbox_rows(service)} == {"done"}
    assert flow.order(PLATFORM, "w-burst").status == OrderStatus.ready_to_fulfill
