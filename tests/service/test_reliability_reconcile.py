"""Reliability: 100 orders whose webhooks were all dropped, then ``affluent reconcile``."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from reliability import Deployment
from service_support import PLATFORM, SUBPROCESS_LOGS, resolve, submitted
from sqlalchemy import func, select

from affluent.store import Transition

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300)]

SCENARIOS = ("review_accept", "review_block", "complete", "charge_fails")
EXPECTED = {
    "review_accept": "ready_to_fulfill",
    "review_block": "blocked",
    "complete": "complete",
    "charge_fails": "payment_failed",
}


async def run_scenario(deployment: Deployment, sandbox_url: str, ref: str, scenario: str) -> None:
    flow, dr = deployment.flow, deployment.dr
    if scenario.startswith("review"):
        order_id = await submitted(flow, dr, ref, email="review@example.com")
        await resolve(sandbox_url, order_id, "accept" if scenario == "review_accept" else "block")
    elif scenario == "complete":
        order_id = await submitted(flow, dr, ref)
        order = await dr.orders.get(order_id)
        items = [{"itemId": item.id, "quantity": item.quantity} for item in order.items or []]
        await dr.fulfillments.create({"orderId": order_id, "items": items})
    else:
        order_id = await submitted(flow, dr, ref, last_name="ChargeRemainPending")
        await resolve(sandbox_url, order_id, "fail_charge")


async def run_all(deployment: Deployment, sandbox_url: str, orders: dict[str, str]) -> None:
    gate = asyncio.Semaphore(8)

    async def one(ref: str, scenario: str) -> None:
        async with gate:
            await run_scenario(deployment, sandbox_url, ref, scenario)

    await asyncio.gather(*(one(ref, scenario) for ref, scenario in orders.items()))


def statuses(deployment: Deployment, refs: list[str]) -> dict[str, str | None]:
    return {ref: deployment.flow.order(PLATFORM, ref).status for ref in refs}


def reconcile_cli(deployment: Deployment, log: Path) -> dict[str, Any]:
    with log.open("ab") as err:
        done = subprocess.run(
            [sys.executable, "-m", "affluent.service", "reconcile", "--json"],
            env=deployment.fleet.env,
            stdout=subprocess.PIPE,
            stderr=err,
            timeout=120,
            check=True,
        )
    SUBPROCESS_LOGS.append(log)
    return dict(json.loads(done.stdout.decode().strip().splitlines()[-1]))


async def test_missed_webhooks_converge_through_reconciliation(
    deployment: Deployment, sandbox_url: str, tmp_path: Path
) -> None:
    await deployment.start(serve=True, workers=2, concurrency=4)
    assert deployment.url
    hook = await deployment.dr.webhooks.create(
        {"types": ["*"], "address": f"{deployment.url}/webhooks/digital-river"}
    )
    control = {f"with-{i}": SCENARIOS[i % 4] for i in range(20)}
    await run_all(deployment, sandbox_url, control)
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        drained = await client.post("/_sandbox/deliveries/drain", json={"timeout": 60})
        assert drained.status_code == 200, drained.text
    await deployment.settled()
    with_webhooks = statuses(deployment, list(control))
    assert all(with_webhooks[ref] == EXPECTED[s] for ref, s in control.items()), with_webhooks

    await deployment.dr.webhooks.update(hook.id, {"enabled": False})  # webhooks dropped
    dropped = {f"dropped-{i}": SCENARIOS[i % 4] for i in range(100)}
    started = time.monotonic()
    await run_all(deployment, sandbox_url, dropped)
    setup = time.monotonic() - started
    await deployment.settled()
    before = statuses(deployment, list(dropped))
    stuck = Counter(before.values())
    rows_before = deployment.rows()

    started = time.monotonic()
    first = await asyncio.to_thread(reconcile_cli, deployment, tmp_path / "reconcile.log")
    await deployment.settled()
    converged = time.monotonic() - started
    after = statuses(deployment, list(dropped))
    by_scenario = {
        scenario: {after[ref] for ref, s in dropped.items() if s == scenario}
        for scenario in SCENARIOS
    }
    control_by_scenario = {
        scenario: {with_webhooks[ref] for ref, s in control.items() if s == scenario}
        for scenario in SCENARIOS
    }
    assert by_scenario == control_by_scenario, (by_scenario, control_by_scenario)

    with deployment.runtime.store.session() as session:
        transitions = session.scalar(select(func.count()).select_from(Transition))
    rows = deployment.rows()
    second = await asyncio.to_thread(reconcile_cli, deployment, tmp_path / "reconcile-2.log")
    await deployment.settled()
    with deployment.runtime.store.session() as session:
        assert session.scalar(select(func.count()).select_from(Transition)) == transitions
    assert second["added"] == 0 and deployment.rows() == rows
    assert statuses(deployment, list(dropped)) == after
    print(
        f"\n[reconcile] 100 orders with webhooks dropped (set-up {setup:.1f}s; before: "
        f"{dict(stuck)}); reconcile listed {first['listed']} events, {first['added']} new "
        f"(inbox {rows_before} -> {rows}); all converged in {converged:.1f}s to "
        f"{dict(Counter(after.values()))}, same as the 20 orders with webhooks; second run: "
        f"{second['listed']} listed, {second['added']} new, transitions unchanged ({transitions})"
    )
