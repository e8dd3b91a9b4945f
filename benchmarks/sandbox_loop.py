"""The sandbox itself: a checkout → source → order → fulfill loop, in process vs over loopback.

Requests per second through ``InProcessTransport`` (no sockets) and through uvicorn on
127.0.0.1, side by side; the difference is what HTTP over loopback costs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport
from affluent.serving import serve_in_thread
from affluent.testing.sources import ADDRESS, source_request
from benchmarks.flow_overhead import KEY
from benchmarks.report import Figure

CALLS_PER_LOOP = 5


async def _loop(http: httpx.AsyncClient, count: int) -> float:
    (
        await http.post("/skus", json={"id": "sku-1", "name": "Widget", "physical": True})
    ).raise_for_status()

    async def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
        response = await http.post(path, json=body)
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    started = time.perf_counter()
    for _ in range(count):
        checkout = await post(
            "/checkouts",
            {
                "currency": "USD",
                "email": "ada@example.com",
                "shipTo": {"name": "Ada", "address": ADDRESS},
                "billTo": {"name": "Ada", "address": ADDRESS},
                "shipFrom": {"address": ADDRESS},
                "shippingChoice": {"amount": 4.0},
                "items": [{"skuId": "sku-1", "quantity": 1, "price": 15.0}],
            },
        )
        source = await post(
            "/sources",
            source_request(checkout["payment"]["session"]["id"]),
        )
        await post(f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
        order = await post("/orders", {"checkoutId": checkout["id"]})
        await post(
            "/fulfillments",
            {"orderId": order["id"], "items": [{"itemId": order["items"][0]["id"], "quantity": 1}]},
        )
    return time.perf_counter() - started


async def _in_process(count: int) -> float:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    await app.state.sandbox.start()
    async with httpx.AsyncClient(
        transport=InProcessTransport(app),
        base_url="http://sandbox.invalid",
        headers={"Authorization": f"Bearer {KEY}"},
    ) as http:
        elapsed = await _loop(http, count)
    await app.state.sandbox.aclose()
    return elapsed


async def _loopback(count: int) -> float:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    with serve_in_thread(app) as url:
        async with httpx.AsyncClient(
            base_url=url, headers={"Authorization": f"Bearer {KEY}"}
        ) as http:
            return await _loop(http, count)


def run(count: int) -> list[Figure]:
    calls = count * CALLS_PER_LOOP
    in_process = calls / asyncio.run(_in_process(count))
    loopback = calls / asyncio.run(_loopback(count))
    return [
        Figure(
            f"sandbox loop, {count} orders",
            "requests/s",
            loopback,
            in_process,
            "affluent = over loopback (uvicorn), floor = in process",
        )
    ]
