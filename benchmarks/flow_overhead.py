"""Figure 1: the standard flow for N orders through affluent vs the same DR calls with raw httpx.

Both sides talk to the same in-process sandbox (no sockets), so the difference is what affluent
adds: hooks, models, the SQLite store, the outbox, dedupe. Per order: customer, checkout, source,
payment applied, order (accepted), the ``order.accepted`` event, two fulfillments.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from affluent.demo import SKUS
from affluent.dr import AsyncDigitalRiver
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport
from affluent.store import Store
from affluent.testing.memory import DictPlatform
from benchmarks.report import Figure

KEY = "sk_test_benchmark"
BASE = "http://sandbox.invalid"
CARD = {"number": "4444222233331111", "expirationMonth": 7, "expirationYear": 2031, "cvv": "123"}
OWNER = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "email": "ada@example.com",
    "address": {
        "line1": "12 Elm Ave",
        "city": "St Paul",
        "postalCode": "55102",
        "state": "MN",
        "country": "US",
    },
}
ADDRESS = {
    "line1": "12 Elm Ave",
    "city": "St Paul",
    "postalCode": "55102",
    "state": "MN",
    "country": "US",
}


async def _sandbox() -> tuple[Any, httpx.AsyncClient]:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    await app.state.sandbox.start()
    http = httpx.AsyncClient(
        transport=InProcessTransport(app), base_url=BASE, headers={"Authorization": f"Bearer {KEY}"}
    )
    for sku, name in SKUS.items():
        (
            await http.post("/skus", json={"id": sku, "name": name, "physical": True})
        ).raise_for_status()
    return app, http


def _cart(ref: str) -> dict[str, Any]:
    return {
        "ref": ref,
        "currency": "USD",
        "email": "ada@example.com",
        "customer": f"c-{ref}",
        "lines": [
            {"id": "L1", "sku": "sku-widget-blue", "qty": 2, "price": "15.00"},
            {"id": "L2", "sku": "sku-gadget", "qty": 1, "price": "9.99"},
        ],
    }


async def affluent_orders(count: int) -> float:
    app, http = await _sandbox()
    with tempfile.TemporaryDirectory() as folder:
        store = Store(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        store.upgrade()
        dr = AsyncDigitalRiver(api_key=KEY, base_url=BASE, http_client=http)
        flow = Flow(dr=dr, store=store, adapters=Adapters.from_plugins({"mem": DictPlatform()}))
        emulator = app.state.sandbox
        started = time.perf_counter()
        for number in range(count):
            ref = f"o-{number}"
            summary = await flow.begin_checkout("mem", _cart(ref))
            checkout = await dr.checkouts.get(summary.checkout_id)  # the browser's Drop-in reads it
            session = checkout.payment.session.id  # type: ignore[union-attr]
            source = await dr.sources.create(
                {
                    "type": "creditCard",
                    "paymentSessionId": session,
                    "owner": OWNER,
                    "creditCard": CARD,
                }
            )
            await flow.hand_off_payment("mem", {"ref": ref, "source": str(source.id)})
            result = await flow.submit("mem", ref)
            [accepted] = (await dr.events.list(type="order.accepted", limit=1)).data  # newest
            assert accepted.data.object["id"] == result.dr_order_id  # type: ignore[index]
            await flow.handle_dr_event(accepted)
            await flow.apply_line_changes(
                "mem", {"ref": ref, "event": "s1", "lines": [{"id": "L1", "shipped": 1}]}
            )
            await flow.apply_line_changes(
                "mem",
                {
                    "ref": ref,
                    "event": "s2",
                    "lines": [{"id": "L1", "shipped": 1}, {"id": "L2", "cancelled": 1}],
                },
            )
        elapsed = time.perf_counter() - started
        store.dispose()
    await http.aclose()
    await emulator.aclose()
    return elapsed


async def raw_orders(count: int) -> float:
    app, http = await _sandbox()
    emulator = app.state.sandbox
    started = time.perf_counter()
    for number in range(count):
        ref = f"o-{number}"

        async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await http.post(path, json=body)
            response.raise_for_status()
            return response.json()  # type: ignore[no-any-return]

        await post("/customers", {"id": f"c-{ref}", "email": "ada@example.com"})
        checkout = await post(
            "/checkouts",
            {
                "currency": "USD",
                "customerId": f"c-{ref}",
                "email": "ada@example.com",
                "upstreamId": ref,
                "shipTo": {"name": "Ada Lovelace", "address": ADDRESS},
                "billTo": {"name": "Ada Lovelace", "address": ADDRESS},
                "shipFrom": {"address": ADDRESS},
                "shippingChoice": {"amount": 4.0, "description": "Ground"},
                "items": [
                    {"skuId": "sku-widget-blue", "quantity": 2, "price": 15.0},
                    {"skuId": "sku-gadget", "quantity": 1, "price": 9.99},
                ],
            },
        )
        await http.get(f"/checkouts/{checkout['id']}")
        source = await post(
            "/sources",
            {
                "type": "creditCard",
                "paymentSessionId": checkout["payment"]["session"]["id"],
                "owner": OWNER,
                "creditCard": CARD,
            },
        )
        await post(f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
        order = await post("/orders", {"checkoutId": checkout["id"]})
        await http.get("/events", params={"type": "order.accepted", "limit": 1})  # the outcome
        items = [item["id"] for item in order["items"]]
        await post(
            "/fulfillments",
            {"orderId": order["id"], "items": [{"itemId": items[0], "quantity": 1}]},
        )
        await post(
            "/fulfillments",
            {
                "orderId": order["id"],
                "items": [
                    {"itemId": items[0], "quantity": 1},
                    {"itemId": items[1], "cancelQuantity": 1},
                ],
            },
        )
    elapsed = time.perf_counter() - started
    await http.aclose()
    await emulator.aclose()
    return elapsed


def run(count: int) -> list[Figure]:
    asyncio.run(affluent_orders(5))  # warm up imports and caches on both sides
    asyncio.run(raw_orders(5))
    ours = asyncio.run(affluent_orders(count))
    floor = asyncio.run(raw_orders(count))
    return [
        Figure(
            f"flow overhead, {count} orders",
            "ms/order",
            ours / count * 1000,
            floor / count * 1000,
            "target ratio ≤ 1.2",
        )
    ]
