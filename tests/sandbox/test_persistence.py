"""State in a SQLite file survives a restart of the sandbox."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import httpx
from sandbox_support import Api

from affluent.sandbox import SandboxConfig, create_app
from affluent.serving import serve_in_thread


def _config(path: Path, resolve_delay: float | None = None) -> SandboxConfig:
    return SandboxConfig(rate_limit=None, resolve_delay=resolve_delay, persist_path=str(path))


async def test_state_survives_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    first = create_app(_config(db))
    with serve_in_thread(first) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            api = Api(client, first.state.sandbox)
            await api.ok("POST", "/customers", {"id": "cust-1"}, 201)
            order = await api.order(customerId="cust-1")
            review = await api.order(email="review@example.com", upstreamId="u-review")
            hook = await api.ok(
                "POST", "/webhooks", {"address": "https://h.example/x", "types": ["*"]}, 201
            )
            await api.ok("PUT", "/_sandbox/webhook-secrets", {"secrets": ["whsec_rotated"]})
            before = await api.events()
            failed = await api.call("POST", "/customers", {"id": "x" * 41})
            assert failed.status == 400

    second = create_app(_config(db))
    with serve_in_thread(second) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            api = Api(client, second.state.sandbox)
            assert (await api.ok("GET", f"/orders/{order['id']}")) == order
            assert (await api.ok("GET", "/customers/cust-1"))["id"] == "cust-1"
            assert await api.events() == before
            assert await api.ok("GET", "/webhooks") == [hook]
            assert await api.ok("GET", "/_sandbox/webhook-secrets") == {
                "secrets": ["whsec_rotated"]
            }
            await api.fails(
                "POST", "/orders", {"checkoutId": order["checkoutId"]}, 404, "not_found", "orderId"
            )
            accepted = await api.resolve(review["id"], "accept")
            assert accepted["state"] == "accepted"
            listed = await api.ok("GET", "/orders")
            assert [o["id"] for o in listed["data"]] == [review["id"], order["id"]]
            await api.ok("POST", "/_sandbox/reset", None, 204)
            assert (await api.ok("GET", "/orders"))["data"] == []

    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT count(*) FROM documents").fetchone() == (0,)


async def test_pending_outcomes_resume_after_restart(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    first = create_app(_config(db))
    async with first.router.lifespan_context(first):
        transport = httpx.ASGITransport(app=first)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            order = await Api(client, first.state.sandbox).order(email="review+accept@x.example")
    assert order["state"] == "in_review"

    second = create_app(_config(db, resolve_delay=0.01))
    async with second.router.lifespan_context(second):
        sandbox = second.state.sandbox
        for _ in range(100):
            stored = sandbox.get("orders", order["id"])
            if stored is not None and stored["state"] == "accepted":
                break
            await asyncio.sleep(0.01)
        assert stored is not None
        assert stored["state"] == "accepted"
