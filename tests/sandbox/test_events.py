"""The event log (paging, filters) and webhooks (management, signed delivery, rotation)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sandbox_support import Api, FakeClock
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from affluent.dr.signature import SIGNATURE_HEADER, verify
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET, SandboxConfig, create_app
from affluent.serving import serve_in_thread

EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_event_envelope_and_get(local: Api) -> None:
    order = await local.order()
    [accepted] = await local.events(type="order.accepted")
    assert set(accepted) == {
        "id",
        "type",
        "data",
        "liveMode",
        "createdTime",
        "webhookIds",
        "digitalriverVersion",
    }
    assert accepted["liveMode"] is False
    assert accepted["digitalriverVersion"] == "2021-12-13"
    assert accepted["createdTime"] == "2024-03-05T10:15:00.000000Z"
    assert EVENT_TIME.match(accepted["createdTime"])
    assert accepted["webhookIds"] == []
    assert accepted["data"]["object"]["id"] == order["id"]
    assert accepted["data"]["object"]["state"] == "accepted"
    assert await local.ok("GET", f"/events/{accepted['id']}") == accepted
    await local.fails("GET", "/events/nope", None, 404, "not_found", "eventId")


async def test_events_paging(api: Api) -> None:
    for index in range(4):
        await api.order(upstreamId=f"u-{index}")  # 3 events each
    everything = await api.ok("GET", "/events", params={"limit": 100})
    ids = [e["id"] for e in everything["data"]]
    assert len(ids) == 12
    assert everything["hasMore"] is False
    assert everything["data"][0]["type"] == "order.accepted"  # newest first

    first = await api.ok("GET", "/events", params={"limit": 5})
    assert ([e["id"] for e in first["data"]], first["hasMore"]) == (ids[:5], True)
    second = await api.ok("GET", "/events", params={"limit": 5, "startingAfter": ids[4]})
    assert ([e["id"] for e in second["data"]], second["hasMore"]) == (ids[5:10], True)
    third = await api.ok("GET", "/events", params={"limit": 5, "startingAfter": ids[9]})
    assert ([e["id"] for e in third["data"]], third["hasMore"]) == (ids[10:], False)
    back = await api.ok("GET", "/events", params={"limit": 5, "endingBefore": ids[10]})
    assert ([e["id"] for e in back["data"]], back["hasMore"]) == (ids[5:10], True)
    start = await api.ok("GET", "/events", params={"limit": 5, "endingBefore": ids[5]})
    assert ([e["id"] for e in start["data"]], start["hasMore"]) == (ids[:5], False)
    default = await api.ok("GET", "/events")
    assert len(default["data"]) == 10

    for params, parameter in [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"startingAfter": "nope"}, "startingAfter"),
        ({"startingAfter": ids[0], "endingBefore": ids[1]}, "endingBefore"),
    ]:
        reply = await api.call("GET", "/events", params=params)
        assert reply.status == 400, params
        assert reply.error()["parameter"] == parameter


async def test_events_filters(local: Api, fake_clock: FakeClock) -> None:
    first = await local.order()
    fake_clock.advance(30)
    second = await local.order(email="review@example.com")

    async def types(**params: Any) -> list[str]:
        return [e["type"] for e in await local.events(**params)]

    assert await types(type="order.accepted") == ["order.accepted"]
    assert await types(type="order.charge.*") == ["order.charge.capturable"] * 2
    assert await types(types=["order.accepted", "order.review_opened"]) == [
        "order.accepted",
        "order.review_opened",
    ]
    assert await types(types="order.created,order.review_opened") == [
        "order.created",
        "order.created",
        "order.review_opened",
    ]
    later = await local.events(**{"createdTime[gte]": "2024-03-05T10:15:30Z"})
    assert {e["data"]["object"].get("orderId", e["data"]["object"]["id"]) for e in later} == {
        second["id"]
    }
    earlier = await local.events(**{"createdTime[lt]": "2024-03-05T10:15:30Z"})
    assert len(earlier) == 3
    assert {e["data"]["object"].get("orderId", e["data"]["object"]["id"]) for e in earlier} == {
        first["id"]
    }
    await local.fails("GET", "/events?type=a&types=b", None, 400, "invalid_parameter", "types")
    many = "&".join(f"types=t{i}" for i in range(20))
    await local.fails("GET", f"/events?{many}", None, 400, "invalid_parameter", "types")


async def test_webhook_management(api: Api) -> None:
    created = await api.ok(
        "POST",
        "/webhooks",
        {
            "address": "https://shop.example/hooks",
            "types": ["order.accepted"],
            "authentication": {"userName": "dr", "password": "pw"},
        },
        201,
    )
    assert (created["enabled"], created["apiVersion"], created["transportType"]) == (
        True,
        "default",
        "HTTP",
    )
    assert created["authentication"] == {"userName": "dr"}
    listed = await api.ok("GET", "/webhooks")
    assert listed == [created]  # a bare array, not the list envelope
    patched = await api.ok("PATCH", f"/webhooks/{created['id']}", {"enabled": False})
    assert patched["enabled"] is False
    assert (await api.ok("GET", f"/webhooks/{created['id']}"))["enabled"] is False
    await api.fails("POST", "/webhooks", {"types": ["x"]}, 400, "missing_parameter", "address")
    await api.fails(
        "POST",
        "/webhooks",
        {"address": "ftp://x", "types": ["x"]},
        400,
        "invalid_parameter",
        "address",
    )
    await api.fails(
        "POST",
        "/webhooks",
        {"address": "https://x", "types": "x"},
        400,
        "invalid_parameter",
        "types",
    )
    assert (await api.call("DELETE", f"/webhooks/{created['id']}")).status == 204
    await api.fails("GET", f"/webhooks/{created['id']}", None, 404, "not_found", "webhookId")


class Receiver:
    """A webhook endpoint recording raw bodies and headers."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, dict[str, str]]] = []
        self.app = Starlette(routes=[Route("/hooks", self.handle, methods=["POST"])])

    async def handle(self, request: Request) -> Response:
        self.received.append((await request.body(), dict(request.headers)))
        return Response(status_code=202)


@pytest.fixture
async def wired() -> AsyncIterator[tuple[Api, Receiver]]:
    """A sandbox delivering webhooks in process to a ``Receiver``."""
    receiver = Receiver()
    config = SandboxConfig(
        rate_limit=None,
        resolve_delay=None,
        webhook_transport=httpx.ASGITransport(app=receiver.app),
        webhook_retry_delays=(0.01,),
    )
    app = create_app(config)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
            yield Api(client, app.state.sandbox), receiver


async def test_signed_delivery_in_process(wired: tuple[Api, Receiver]) -> None:
    api, receiver = wired
    hook = await api.ok(
        "POST", "/webhooks", {"address": "http://receiver/hooks", "types": ["order.*"]}, 201
    )
    order = await api.order()
    await api.ok("POST", "/_sandbox/deliveries/drain", {"timeout": 5})
    delivered = []
    for body, headers in receiver.received:
        verify(body, headers[SIGNATURE_HEADER.lower()], DEFAULT_WEBHOOK_SECRET)
        delivered.append(httpx.Response(200, content=body).json())
    assert sorted(e["type"] for e in delivered) == [
        "order.accepted",
        "order.charge.capturable",
        "order.created",
    ]
    assert all(e["webhookIds"] == [hook["id"]] for e in delivered)
    stored = {e["id"]: e for e in await api.events(orderId=order["id"])}
    assert {e["id"] for e in delivered} == set(stored)
    assert all(stored[e["id"]]["webhookIds"] == [hook["id"]] for e in delivered)
    log = await api.ok("GET", "/_sandbox/deliveries")
    assert log["pending"] == 0
    assert {(a["webhookId"], a["statusCode"], a["ok"]) for a in log["data"]} == {
        (hook["id"], 202, True)
    }


async def test_secret_rotation_signs_with_both(wired: tuple[Api, Receiver]) -> None:
    api, receiver = wired
    assert await api.ok("GET", "/_sandbox/webhook-secrets") == {"secrets": [DEFAULT_WEBHOOK_SECRET]}
    rotated = await api.ok(
        "PUT", "/_sandbox/webhook-secrets", {"secrets": ["whsec_new", DEFAULT_WEBHOOK_SECRET]}
    )
    assert rotated == {"secrets": ["whsec_new", DEFAULT_WEBHOOK_SECRET]}
    await api.ok(
        "POST", "/webhooks", {"address": "http://receiver/hooks", "types": ["order.accepted"]}, 201
    )
    await api.order()
    await api.ok("POST", "/_sandbox/deliveries/drain", {"timeout": 5})
    [(body, headers)] = receiver.received
    header = headers[SIGNATURE_HEADER.lower()]
    assert header.count(",") == 2  # t=..., new signature, old signature
    verify(body, header, "whsec_new")
    verify(body, header, DEFAULT_WEBHOOK_SECRET)


async def test_disabled_webhook_gets_nothing(wired: tuple[Api, Receiver]) -> None:
    api, receiver = wired
    hook = await api.ok(
        "POST",
        "/webhooks",
        {"address": "http://receiver/hooks", "types": ["*"], "enabled": False},
        201,
    )
    await api.order()
    await api.ok("POST", "/_sandbox/deliveries/drain", {"timeout": 5})
    assert receiver.received == []
    assert all(e["webhookIds"] == [] for e in await api.events())
    await api.ok("PATCH", f"/webhooks/{hook['id']}", {"enabled": True})
    [event] = await api.events(type="order.accepted")
    replay = await api.ok("POST", f"/_sandbox/events/{event['id']}/redeliver", None, 202)
    assert replay == {"eventId": event["id"], "type": "order.accepted"}
    await api.ok("POST", "/_sandbox/deliveries/drain", {"timeout": 5})
    assert [httpx.Response(200, content=b).json()["id"] for b, _ in receiver.received] == [
        event["id"]
    ]


def test_delivery_over_loopback() -> None:
    """Both sides under uvicorn: the sandbox POSTs signed events to a real HTTP endpoint."""
    receiver = Receiver()
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    with serve_in_thread(receiver.app) as hook_url, serve_in_thread(app) as base:
        client = httpx.Client(base_url=base, headers={"Authorization": "Bearer sk_test_x"})
        with client:
            client.post(
                "/webhooks", json={"address": f"{hook_url}/hooks", "types": ["order.accepted"]}
            )
            client.post("/skus", json={"id": "ebook", "name": "E-book"})
            checkout = client.post(
                "/checkouts",
                json={
                    "currency": "USD",
                    "email": "a@example.com",
                    "billTo": {
                        "name": "A",
                        "address": {
                            "line1": "1 St",
                            "city": "X",
                            "postalCode": "55102",
                            "country": "US",
                        },
                    },
                    "items": [{"skuId": "ebook", "price": 5}],
                },
            ).json()
            source = client.post(
                "/sources",
                json={
                    "type": "creditCard",
                    "paymentSessionId": checkout["payment"]["session"]["id"],
                    "creditCard": {
                        "number": "4444222233331111",
                        "expirationMonth": 1,
                        "expirationYear": 2045,
                    },
                },
            ).json()
            client.post(f"/checkouts/{checkout['id']}", json={"sourceId": source["id"]})
            order = client.post("/orders", json={"checkoutId": checkout["id"]}).json()
            drained = client.post("/_sandbox/deliveries/drain", json={"timeout": 5})
            assert drained.status_code == 200
    [(body, headers)] = receiver.received
    verify(body, headers[SIGNATURE_HEADER.lower()], DEFAULT_WEBHOOK_SECRET)
    event = httpx.Response(200, content=body).json()
    assert (event["type"], event["data"]["object"]["id"]) == ("order.accepted", order["id"])
