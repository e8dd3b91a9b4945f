"""Helpers for the sandbox tests: an ``Api`` driver, body builders, a fake clock."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx

from affluent.sandbox import Sandbox

KEY = "sk_test_sandbox_tests"
VISA = "4444222233331111"
MN = {
    "line1": "12 Elm Ave",
    "city": "St Paul",
    "postalCode": "55102",
    "state": "MN",
    "country": "US",
}
SHIP_FROM = {
    "address": {
        "line1": "100 Main St",
        "city": "Minneapolis",
        "postalCode": "55401",
        "state": "MN",
        "country": "US",
    }
}


class FakeClock:
    """A settable clock for ``SandboxConfig(clock=...)``."""

    def __init__(self) -> None:
        self.now = datetime(2024, 3, 5, 10, 15, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@dataclass
class Reply:
    """A response with its JSON body parsed (numbers with a fraction become ``Decimal``)."""

    status: int
    body: Any
    headers: httpx.Headers

    def error(self) -> dict[str, Any]:
        """The single error of a DR error envelope."""
        assert isinstance(self.body, dict), self.body
        assert len(self.body["errors"]) == 1, self.body
        error: dict[str, Any] = self.body["errors"][0]
        return error


class Api:
    """Drives a sandbox the way a client would, plus builders for common objects."""

    def __init__(self, client: httpx.AsyncClient, sandbox: Sandbox) -> None:
        self.client = client
        self.sandbox = sandbox

    async def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        key: str | None = KEY,
        params: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if key is not None:
            sent["Authorization"] = f"Bearer {key}"
        response = await self.client.request(method, path, json=body, params=params, headers=sent)
        parsed = json.loads(response.text, parse_float=Decimal) if response.content else None
        return Reply(response.status_code, parsed, response.headers)

    async def ok(
        self, method: str, path: str, body: Any = None, status: int = 200, **kw: Any
    ) -> Any:
        reply = await self.call(method, path, body, **kw)
        assert reply.status == status, (method, path, reply.status, reply.body)
        return reply.body

    async def fails(
        self,
        method: str,
        path: str,
        body: Any,
        status: int,
        code: str,
        parameter: str | None = None,
    ) -> dict[str, Any]:
        """Assert an error reply with exactly this status, code and parameter."""
        reply = await self.call(method, path, body)
        assert reply.status == status, (reply.status, reply.body)
        error = reply.error()
        assert error["code"] == code, error
        assert error.get("parameter") == parameter, error
        types = {400: "bad_request", 401: "unauthorized", 404: "not_found", 409: "conflict"}
        assert reply.body["type"] == types[status]
        return error

    # -- builders -------------------------------------------------------------------------

    async def sku(self, sku_id: str = "widget", *, physical: bool = True) -> dict[str, Any]:
        existing = await self.call("GET", f"/skus/{sku_id}")
        if existing.status == 200:
            return dict(existing.body)
        body = {"id": sku_id, "name": sku_id.title(), "physical": physical}
        return dict(await self.ok("POST", "/skus", body, 201))

    async def checkout(self, **overrides: Any) -> dict[str, Any]:
        await self.sku("widget")
        return dict(await self.ok("POST", "/checkouts", checkout_body(**overrides), 201))

    async def source(
        self, checkout: dict[str, Any] | None, kind: str = "creditCard", **extra: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"type": kind, **extra}
        if checkout is not None:
            body["paymentSessionId"] = checkout["payment"]["session"]["id"]
        if kind == "creditCard" and "creditCard" not in extra:
            body["creditCard"] = card(VISA)
        return dict(await self.ok("POST", "/sources", body, 201))

    async def funded(
        self, number: str = VISA, *, last_name: str | None = None, **overrides: Any
    ) -> dict[str, Any]:
        """A checkout with a card source applied (session ``requires_confirmation``)."""
        checkout = await self.checkout(**overrides)
        extra: dict[str, Any] = {"creditCard": card(number)}
        if last_name is not None:
            extra["owner"] = {"firstName": "Ada", "lastName": last_name, "address": MN}
        source = await self.source(checkout, **extra)
        return dict(
            await self.ok("POST", f"/checkouts/{checkout['id']}", {"sourceId": source["id"]})
        )

    async def order(self, number: str = VISA, **overrides: Any) -> dict[str, Any]:
        """An order placed from a funded checkout (201 expected)."""
        checkout = await self.funded(number, **overrides)
        return dict(await self.ok("POST", "/orders", {"checkoutId": checkout["id"]}, 201))

    async def resolve(self, order_id: str, outcome: str, status: int = 200) -> Any:
        return await self.ok(
            "POST", f"/_sandbox/orders/{order_id}/resolve", {"outcome": outcome}, status
        )

    async def events(self, **params: Any) -> list[dict[str, Any]]:
        """Events matching ``params``, oldest first (all pages)."""
        found: list[dict[str, Any]] = []
        query: dict[str, Any] = {"limit": 100, **params}
        while True:
            page = await self.ok("GET", "/events", params=query)
            found.extend(page["data"])
            if not page["hasMore"]:
                return list(reversed(found))
            query["startingAfter"] = page["data"][-1]["id"]

    async def event_types(self, order_id: str) -> list[str]:
        return [e["type"] for e in await self.events(orderId=order_id)]


def checkout_body(**overrides: Any) -> dict[str, Any]:
    """The §9.1 example checkout (2 x 15.00 widgets to Minnesota); ``None`` drops a field."""
    body: dict[str, Any] = {
        "currency": "USD",
        "email": "ada@example.com",
        "upstreamId": "shop-order-1",
        "shipFrom": SHIP_FROM,
        "shipTo": {"name": "Ada Lovelace", "phone": "555-0100", "address": MN},
        "billTo": {"name": "Ada Lovelace", "email": "ada@example.com", "address": MN},
        "shippingChoice": {"amount": 4.00, "description": "Ground", "serviceLevel": "SG"},
        "items": [{"skuId": "widget", "price": 15.00, "quantity": 2}],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def card(number: str, month: int = 7, year: int = 2040) -> dict[str, Any]:
    return {"number": number, "expirationMonth": month, "expirationYear": year, "cvv": "123"}
