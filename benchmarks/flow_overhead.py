"""Figure 1: the standard flow for N orders through affluent vs the same DR calls with raw httpx.

Both sides talk to a fresh in-process sandbox (no sockets) per round, so the difference is what
affluent adds: hooks, models, the SQLite store, the outbox, dedupe. Per order: customer,
checkout, source, payment applied, order (accepted), the ``order.accepted`` event, two
fulfillments. The floor sends the same requests: the same bodies byte for byte (checked on the
first order) and the same headers. Rounds alternate which side goes first; each side's figure
is the median of its rounds, because the shared machines here are noisy.
"""

from __future__ import annotations

import asyncio
import json
import re
import statistics
import tempfile
import time
import uuid
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
from affluent.testing.sources import ADDRESS, browser_source, source_request
from benchmarks.report import Figure

KEY = "sk_test_benchmark"
BASE = "http://sandbox.invalid"


async def _sandbox(
    record: list[tuple[str, str, bytes]] | None = None,
) -> tuple[Any, httpx.AsyncClient]:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    await app.state.sandbox.start()
    http = httpx.AsyncClient(
        transport=InProcessTransport(app), base_url=BASE, headers={"Authorization": f"Bearer {KEY}"}
    )
    for sku, name in SKUS.items():
        (
            await http.post("/skus", json={"id": sku, "name": name, "physical": True})
        ).raise_for_status()
    if record is not None:

        async def remember(request: httpx.Request) -> None:
            record.append((request.method, request.url.raw_path.decode(), request.content))

        http.event_hooks["request"].append(remember)
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


async def affluent_orders(
    count: int, *, record: list[tuple[str, str, bytes]] | None = None
) -> float:
    app, http = await _sandbox(record)
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
            source = await browser_source(dr, summary.checkout_id)  # reads the checkout, as Drop-in
            await flow.hand_off_payment("mem", {"ref": ref, "source": source})
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


SHIP_FROM = {
    "line1": "100 Main St",
    "city": "Minneapolis",
    "postalCode": "55401",
    "state": "MN",
    "country": "US",
}
CONTACT = {"address": ADDRESS, "name": "Ada Lovelace", "email": "ada@example.com"}


async def raw_orders(count: int, *, record: list[tuple[str, str, bytes]] | None = None) -> float:
    """The floor: the requests affluent makes for ``count`` orders, written out with httpx."""
    app, http = await _sandbox()
    emulator = app.state.sandbox
    headers = {"DigitalRiver-Version": "2021-12-13", "Accept": "application/json"}

    async def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        content = None if body is None else json.dumps(body, separators=(",", ":")).encode()
        request_headers = headers | {"Upstream-Id": str(uuid.uuid4())}
        if content is not None:
            request_headers["Content-Type"] = "application/json"
        if record is not None:
            record.append((method, path, content or b""))
        response = await http.request(method, path, content=content, headers=request_headers)
        response.raise_for_status()
        return response.json()

    started = time.perf_counter()
    for number in range(count):
        ref = f"o-{number}"
        await call("POST", "/customers", {"email": "ada@example.com", "id": f"c-{ref}"})
        checkout = await call(
            "POST",
            "/checkouts",
            {
                "customerId": f"c-{ref}",
                "email": "ada@example.com",
                "browserIp": "203.0.113.7",
                "upstreamId": ref,
                "shipFrom": {"address": SHIP_FROM},
                "shipTo": CONTACT,
                "billTo": CONTACT,
                "shippingChoice": {"amount": 4.0, "description": "Ground", "serviceLevel": "SG"},
                "currency": "USD",
                "items": [
                    {
                        "skuId": "sku-widget-blue",
                        "price": 15.0,
                        "quantity": 2,
                        "metadata": {"affluentLineRef": "L1"},
                    },
                    {
                        "skuId": "sku-gadget",
                        "price": 9.99,
                        "quantity": 1,
                        "metadata": {"affluentLineRef": "L2"},
                    },
                ],
                "taxInclusive": False,
            },
        )
        await call("GET", f"/checkouts/{checkout['id']}")
        source = await call(
            "POST", "/sources", source_request(checkout["payment"]["session"]["id"])
        )
        await call("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
        order = await call("POST", "/orders", {"checkoutId": checkout["id"]})
        await call("GET", "/events?type=order.accepted&limit=1")  # the outcome
        items = [item["id"] for item in order["items"]]
        await call(
            "POST",
            "/fulfillments",
            {
                "orderId": order["id"],
                "items": [{"itemId": items[0], "quantity": 1}],
                "metadata": {"affluentChangeRef": "s1"},
            },
        )
        await call(
            "POST",
            "/fulfillments",
            {
                "orderId": order["id"],
                "items": [
                    {"itemId": items[0], "quantity": 1},
                    {"itemId": items[1], "cancelQuantity": 1},
                ],
                "metadata": {"affluentChangeRef": "s2"},
            },
        )
    elapsed = time.perf_counter() - started
    await http.aclose()
    await emulator.aclose()
    return elapsed


def _shape(requests: list[tuple[str, str, bytes]]) -> list[tuple[str, str, bytes]]:
    """Requests with the sandbox's generated ids blanked, for comparing the two sides."""
    ids = re.compile(rb'"[0-9a-f]{8}-[0-9a-f-]{27}"|"\d{9,}"')
    return [
        (method, re.sub(r"/[0-9a-f]{8}-[0-9a-f-]{27}", "/ID", path), ids.sub(b'"ID"', body))
        for method, path, body in requests
    ]


async def check_same_requests() -> None:
    """Fail loudly if the floor's requests differ from affluent's (first order, ids blanked)."""
    ours: list[tuple[str, str, bytes]] = []
    floor: list[tuple[str, str, bytes]] = []
    await affluent_orders(1, record=ours)
    await raw_orders(1, record=floor)
    if _shape(ours) != _shape(floor):
        diff = [
            pair for pair in zip(_shape(ours), _shape(floor), strict=False) if pair[0] != pair[1]
        ]
        raise AssertionError(f"the floor no longer makes affluent's requests: {diff[:2]}")


def run(count: int, rounds: int = 5) -> list[Figure]:
    asyncio.run(check_same_requests())
    asyncio.run(affluent_orders(5))  # warm up imports and caches on both sides
    asyncio.run(raw_orders(5))
    per_round = max(count // rounds, 1)
    ours, floor = [], []
    for number in range(rounds):
        sides = [(affluent_orders, ours), (raw_orders, floor)]
        for side, results in sides if number % 2 == 0 else sides[::-1]:
            results.append(asyncio.run(side(per_round)) / per_round * 1000)
    return [
        Figure(
            f"flow overhead, {per_round * rounds} orders",
            "ms/order",
            statistics.median(ours),
            statistics.median(floor),
            f"median of {rounds} alternating rounds; target ratio ≤ 1.2",
        )
    ]
