"""``affluent sandbox --smoke`` and the Python backdoor used by other test suites."""

from __future__ import annotations

import pytest
from sandbox_support import Api
from starlette.applications import Starlette

from affluent.sandbox import server as sandbox_server
from affluent.sandbox.faults import FaultRule


def test_smoke_walks_one_order_to_complete(capsys: pytest.CaptureFixture[str]) -> None:
    assert sandbox_server.smoke() == 0
    out = capsys.readouterr().out
    assert "POST /orders -> 201" in out
    assert "state='accepted'" in out
    assert "order.complete" in out
    assert out.strip().splitlines()[-1].startswith("OK: order ")


def test_walk_reports_the_failing_step(app: Starlette, server: str) -> None:
    app.state.sandbox.faults.add(FaultRule("POST", "/orders", "status", status=503))
    lines: list[str] = []
    with pytest.raises(sandbox_server.SmokeFailure, match="POST /orders: expected 201, got 503"):
        sandbox_server.walk(server, lines.append)
    assert lines[-1].startswith("POST /orders -> 503  {'type': 'service_unavailable'")


async def test_backdoor_from_another_thread(remote: Api) -> None:
    """The test's event loop is not the server's: the backdoor hops over safely."""
    order = await remote.order(email="review@example.com")
    sandbox = remote.sandbox
    accepted = await sandbox.resolve_order(order["id"], "accept")
    assert accepted["state"] == "accepted"
    assert [e["type"] for e in sandbox.events()][-2:] == ["order.review_closed", "order.accepted"]
    stored = sandbox.get("orders", order["id"])
    assert stored is not None
    assert stored["state"] == "accepted"
    over_http = await remote.ok("GET", f"/orders/{order['id']}")
    assert over_http["state"] == "accepted"
    await sandbox.reset()
    assert sandbox.events() == []
    assert (await remote.ok("GET", "/orders"))["data"] == []


async def test_backdoor_in_process(local: Api) -> None:
    checkout = await local.checkout()
    source = await local.source(checkout, "payPal")
    approved = await local.sandbox.approve_source(source["id"])
    assert approved["state"] == "chargeable"
    info = await local.ok("GET", "/_sandbox")
    assert info["counts"]["sources"] == 1
    assert info["apiVersion"] == "2021-12-13"
    await local.sandbox.drain(1)


def test_smoke_returns_1_with_the_reason(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(base_url: str) -> str:
        raise sandbox_server.SmokeFailure("order state: expected 'accepted', got 'in_review'")

    monkeypatch.setattr(sandbox_server, "walk", broken)
    assert sandbox_server.smoke() == 1
    assert "SMOKE FAILED: order state: expected 'accepted'" in capsys.readouterr().out
