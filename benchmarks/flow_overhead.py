"""Figure 1: the standard flow for N orders through affluent vs the same DR calls with raw httpx.

Both sides talk to a fresh in-process sandbox (no sockets) per round, so the difference is what
affluent adds: hooks, models, the SQLite store, the outbox, dedupe. Per order: customer,
checkout, source, payment applied, order (accepted), the ``order.accepted`` event, two
fulfillments. The floor sends the same requests: the same bodies byte for byte (checked on the
first order) and the same headers. Rounds alternate which side goes first; each side's figure
is the median of its rounds, because the shared machines here are noisy.

Each round also clocks the time spent inside the sandbox (on both sides: the same requests, so
about the same work) and inside affluent's store transactions, so the table says where the
difference goes: the second row is figure 1 less the store, what affluent adds on top of the
network and the database. A last set of rounds runs the same flow with the sandbox in its own
process under uvicorn on loopback, where each DR call costs an HTTP round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Connection

from affluent.demo import SKUS
from affluent.dr import AsyncDigitalRiver
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport
from affluent.store import Store
from affluent.testing.memory import DictPlatform
from affluent.testing.sources import ADDRESS, browser_source, source_request
from benchmarks.process import server_process
from benchmarks.report import Figure

KEY = "sk_test_benchmark"
BASE = "http://sandbox.invalid"


@dataclass
class Round:
    """Seconds one side took for its orders, and how much of that was inside the sandbox and
    inside affluent's store transactions (zero for the floor)."""

    elapsed: float = 0.0
    sandbox: float = 0.0
    store: float = 0.0


class _TimedTransport(InProcessTransport):
    def __init__(self, app: Any, clock: Round) -> None:
        super().__init__(app)
        self._clock = clock

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        try:
            return await super().handle_async_request(request)
        finally:
            self._clock.sandbox += time.perf_counter() - started


class _TimedStore(Store):
    def __init__(self, url: str, clock: Round) -> None:
        super().__init__(url)
        self._clock = clock

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Connection]:
        started = time.perf_counter()
        try:
            with super().transaction() as connection:
                yield connection
        finally:
            self._clock.store += time.perf_counter() - started


def sandbox_app() -> Any:
    """The sandbox both sides talk to (uvicorn factory for the loopback rounds)."""
    return create_app(SandboxConfig(rate_limit=None, resolve_delay=None))


@contextlib.asynccontextmanager
async def sandbox_client(
    clock: Round, record: list[tuple[str, str, bytes]] | None = None, *, loopback: bool = False
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of a fresh sandbox with the demo SKUs: in process, or under uvicorn in its own
    process on loopback (its time is then not clocked)."""
    async with contextlib.AsyncExitStack() as stack:
        if loopback:
            factory = f"{__name__}:sandbox_app"
            args = ["uvicorn", "--factory", factory, "--no-access-log", "--log-level", "warning"]
            url = stack.enter_context(server_process(args, ready="/_sandbox"))
            transport: httpx.AsyncBaseTransport = httpx.AsyncHTTPTransport()
        else:
            app = sandbox_app()
            await app.state.sandbox.start()
            stack.push_async_callback(app.state.sandbox.aclose)
            url, transport = BASE, _TimedTransport(app, clock)
        http = await stack.enter_async_context(
            httpx.AsyncClient(
                transport=transport, base_url=url, headers={"Authorization": f"Bearer {KEY}"}
            )
        )
        for sku, name in SKUS.items():
            (
                await http.post("/skus", json={"id": sku, "name": name, "physical": True})
            ).raise_for_status()
        clock.sandbox = 0.0  # the SKUs are set-up, not the flow
        if record is not None:

            async def remember(request: httpx.Request) -> None:
                record.append((request.method, request.url.raw_path.decode(), request.content))

            http.event_hooks["request"].append(remember)
        yield http


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
    count: int, *, record: list[tuple[str, str, bytes]] | None = None, loopback: bool = False
) -> Round:
    clock = Round()
    async with sandbox_client(clock, record, loopback=loopback) as http:
        return await _affluent_orders(http, count, clock)


async def _affluent_orders(http: httpx.AsyncClient, count: int, clock: Round) -> Round:
    with tempfile.TemporaryDirectory() as folder:
        store = _TimedStore(f"sqlite:///{Path(folder) / 'bench.sqlite3'}", clock)
        store.upgrade()
        dr = AsyncDigitalRiver(api_key=KEY, base_url=str(http.base_url), http_client=http)
        flow = Flow(dr=dr, store=store, adapters=Adapters.from_plugins({"mem": DictPlatform()}))
        clock.store = 0.0
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
        clock.elapsed = time.perf_counter() - started
        store.dispose()
    return clock


SHIP_FROM = {
    "line1": "100 Main St",
    "city": "Minneapolis",
    "postalCode": "55401",
    "state": "MN",
    "country": "US",
}
CONTACT = {"address": ADDRESS, "name": "Ada Lovelace", "email": "ada@example.com"}


async def raw_orders(
    count: int, *, record: list[tuple[str, str, bytes]] | None = None, loopback: bool = False
) -> Round:
    """The floor: the requests affluent makes for ``count`` orders, written out with httpx."""
    clock = Round()
    async with sandbox_client(clock, loopback=loopback) as http:
        return await _raw_orders(http, count, clock, record)


async def _raw_orders(
    http: httpx.AsyncClient,
    count: int,
    clock: Round,
    record: list[tuple[str, str, bytes]] | None,
) -> Round:
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
    clock.elapsed = time.perf_counter() - started
    return clock


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


def _ms(rounds: list[Round], per_round: int, part: Any) -> float:
    """The median over rounds of one part of a round, in ms per order."""
    return statistics.median(part(r) for r in rounds) / per_round * 1000


def _rounds(rounds: int, per_round: int, *, loopback: bool) -> tuple[list[Round], list[Round]]:
    """``rounds`` rounds of each side, alternating which goes first."""
    ours: list[Round] = []
    floor: list[Round] = []
    for number in range(rounds):
        sides = [(affluent_orders, ours), (raw_orders, floor)]
        for side, results in sides if number % 2 == 0 else sides[::-1]:
            results.append(asyncio.run(side(per_round, loopback=loopback)))
    return ours, floor


def run(count: int, rounds: int = 5) -> list[Figure]:
    asyncio.run(check_same_requests())
    asyncio.run(affluent_orders(5))  # warm up imports and caches on both sides
    asyncio.run(raw_orders(5))
    per_round = max(count // rounds, 1)
    ours, floor = _rounds(rounds, per_round, loopback=False)
    far, far_floor = _rounds(rounds, per_round, loopback=True)

    def both(part: Any) -> tuple[float, float]:
        return _ms(ours, per_round, part), _ms(floor, per_round, part)

    store = _ms(ours, per_round, lambda r: r.store)
    return [
        Figure(
            f"flow overhead, {per_round * rounds} orders",
            "ms/order",
            *both(lambda r: r.elapsed),
            f"median of {rounds} alternating rounds; target ratio ≤ 1.2; of it, affluent's"
            f" store transactions {store:.1f} ms",
        ),
        Figure(
            "flow overhead less affluent's store transactions",
            "ms/order",
            _ms(ours, per_round, lambda r: r.elapsed - r.store),
            _ms(floor, per_round, lambda r: r.elapsed),
            "what affluent adds on top of the network and the database",
        ),
        Figure(
            "flow time outside the sandbox",
            "ms/order",
            *both(lambda r: r.elapsed - r.sandbox),
            "the client side alone; the sandbox's own time is "
            + " / ".join(f"{v:.1f}" for v in both(lambda r: r.sandbox))
            + " ms",
        ),
        Figure(
            "flow overhead, sandbox over loopback",
            "ms/order",
            _ms(far, per_round, lambda r: r.elapsed),
            _ms(far_floor, per_round, lambda r: r.elapsed),
            "the same flow with the sandbox under uvicorn in its own process on 127.0.0.1",
        ),
    ]
