"""``affluent sandbox``: serve the emulator, or walk one guest order end to end (smoke)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import httpx
import uvicorn

from affluent.sandbox.app import create_app
from affluent.sandbox.config import TEST_API_KEY, SandboxConfig
from affluent.serving import serve_in_thread

PERSIST_ENV = "AFFLUENT_SANDBOX_PERSIST_PATH"


def run(host: str = "127.0.0.1", port: int = 8787) -> None:
    """Serve a sandbox until interrupted (state in memory, or in the file named by
    ``$AFFLUENT_SANDBOX_PERSIST_PATH``)."""
    config = SandboxConfig(persist_path=os.environ.get(PERSIST_ENV) or None)
    app = create_app(config)
    print(f"Digital River sandbox on http://{host}:{port}")
    print(f"  API key (any sk_test_... works): {TEST_API_KEY}")
    print(f"  webhook signing secret:          {config.webhook_secrets[0]}")
    print(
        f"  state: {config.persist_path or 'in memory'}; controls under /_sandbox (docs/sandbox.md)"
    )
    uvicorn.run(app, host=host, port=port, log_level="info")


class SmokeFailure(Exception):
    """A step of the smoke walk did not answer as expected."""


def _step(
    client: httpx.Client,
    say: Callable[[str], None],
    method: str,
    path: str,
    expect: int,
    body: dict[str, Any] | None = None,
    show: tuple[str, ...] = (),
) -> dict[str, Any]:
    response = client.request(method, path, json=body)
    data: dict[str, Any] = response.json() if response.content else {}
    if response.status_code != expect:
        say(f"{method} {path} -> {response.status_code}  {data}")
        raise SmokeFailure(f"{method} {path}: expected {expect}, got {response.status_code}")
    shown = ", ".join(f"{k}={_dig(data, k)!r}" for k in show)
    say(f"{method} {path} -> {response.status_code}" + (f"  {shown}" if shown else ""))
    return data


def _dig(data: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        data = data[int(part)] if isinstance(data, list) else data.get(part)
    return data


def _expect(actual: Any, wanted: Any, what: str) -> None:
    if actual != wanted:
        raise SmokeFailure(f"{what}: expected {wanted!r}, got {actual!r}")


def walk(base_url: str, say: Callable[[str], None] = print) -> str:
    """One guest order from checkout to ``complete`` over HTTP; return the order id."""
    headers = {"Authorization": f"Bearer {TEST_API_KEY}"}
    address = {
        "line1": "12 Elm Ave",
        "city": "St Paul",
        "postalCode": "55102",
        "state": "MN",
        "country": "US",
    }
    with httpx.Client(base_url=base_url, headers=headers, timeout=10) as client:
        _step(
            client,
            say,
            "POST",
            "/skus",
            201,
            {"id": "smoke-widget", "name": "Widget", "physical": True},
            ("id",),
        )
        checkout = _step(
            client,
            say,
            "POST",
            "/checkouts",
            201,
            {
                "currency": "USD",
                "email": "guest@example.com",
                "upstreamId": "smoke-1",
                "shipFrom": {
                    "address": {
                        "line1": "100 Main St",
                        "city": "Minneapolis",
                        "postalCode": "55401",
                        "state": "MN",
                        "country": "US",
                    }
                },
                "shipTo": {"name": "Ada Lovelace", "address": address},
                "billTo": {"name": "Ada Lovelace", "address": address},
                "shippingChoice": {"amount": 4.00, "description": "Ground", "serviceLevel": "SG"},
                "items": [{"skuId": "smoke-widget", "price": 15.00, "quantity": 2}],
            },
            ("id", "subtotal", "totalTax", "totalAmount", "sellingEntity.id"),
        )
        _expect(checkout["totalAmount"], 36.64, "checkout totalAmount")
        source = _step(
            client,
            say,
            "POST",
            "/sources",
            201,
            {
                "type": "creditCard",
                "paymentSessionId": checkout["payment"]["session"]["id"],
                "creditCard": {
                    "number": "4444 2222 3333 1111",
                    "expirationMonth": 7,
                    "expirationYear": 2040,
                    "cvv": "123",
                },
            },
            ("id", "state", "creditCard.lastFourDigits"),
        )
        applied = _step(
            client,
            say,
            "POST",
            f"/checkouts/{checkout['id']}",
            200,
            {"sourceId": source["id"]},
            ("payment.session.state",),
        )
        _expect(applied["payment"]["session"]["state"], "requires_confirmation", "session state")
        order = _step(
            client,
            say,
            "POST",
            "/orders",
            201,
            {"checkoutId": checkout["id"]},
            ("id", "state", "fraudState", "payment.charges.0.state"),
        )
        _expect(order["state"], "accepted", "order state")
        _step(
            client,
            say,
            "POST",
            "/fulfillments",
            201,
            {
                "orderId": order["id"],
                "trackingCompany": "UPS",
                "trackingNumber": "1Z999",
                "items": [{"itemId": order["items"][0]["id"], "quantity": 2}],
            },
            ("id",),
        )
        final = _step(
            client,
            say,
            "GET",
            f"/orders/{order['id']}",
            200,
            show=("state", "capturedAmount", "payment.charges.0.state"),
        )
        _expect(final["state"], "complete", "final order state")
        _expect(final["capturedAmount"], 36.64, "captured amount")
        listed = _step(client, say, "GET", f"/events?orderId={order['id']}&limit=100", 200)
        say("events: " + ", ".join(e["type"] for e in reversed(listed["data"])))
    return str(order["id"])


def smoke() -> int:
    """Start a fresh sandbox on loopback, walk one guest order; 0 on success, 1 otherwise."""
    app = create_app(SandboxConfig(resolve_delay=None))
    try:
        with serve_in_thread(app) as base_url:
            print(f"sandbox at {base_url}")
            order_id = walk(base_url)
    except (SmokeFailure, httpx.HTTPError, ValueError, KeyError, RuntimeError) as exc:
        print(f"SMOKE FAILED: {exc}")
        return 1
    print(f"OK: order {order_id} went from checkout to complete")
    return 0
