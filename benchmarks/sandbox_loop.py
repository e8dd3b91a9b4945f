"""The sandbox itself: a checkout → source → order → fulfill loop, in process vs over loopback.

Requests per second through ``InProcessTransport`` (no sockets) and through uvicorn in its own
process on 127.0.0.1 (the sandboxes of figure 1), side by side; the difference is what HTTP over
loopback costs.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from affluent.testing.sources import ADDRESS, source_request
from benchmarks.flow_overhead import Round, sandbox_client
from benchmarks.report import Figure

CALLS_PER_LOOP = 5


async def _loop(count: int, *, loopback: bool) -> float:
    async with sandbox_client(Round(), loopback=loopback) as http:
        return await _orders(http, count)


async def _orders(http: httpx.AsyncClient, count: int) -> float:
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
                "items": [{"skuId": "sku-widget-blue", "quantity": 1, "price": 15.0}],
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


def run(count: int) -> list[Figure]:
    calls = count * CALLS_PER_LOOP
    in_process = calls / asyncio.run(_loop(count, loopback=False))
    loopback = calls / asyncio.run(_loop(count, loopback=True))
    return [
        Figure(
            f"sandbox loop, {count} orders",
            "requests/s",
            loopback,
            in_process,
            "affluent = over loopback (uvicorn), floor = in process",
        )
    ]
