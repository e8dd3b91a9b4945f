"""A Shopify-shaped order through the whole standard flow, against the DR sandbox over loopback.

The store (the platform fake) and the sandbox each run under uvicorn on 127.0.0.1. Store
webhooks are signed by the fake and parsed by the adapter's hook; DR events are read from the
sandbox's ``GET /events`` and handed to the flow.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from affluent.dr import AsyncDigitalRiver
from affluent.errors import InvalidInput, UnknownOrder
from affluent.flow import ChangeResult, Flow
from affluent.models import CheckoutSummary
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent_shopify_like.plugin import ShopifyLikeAdapter
from affluent_shopify_like.testing import ShopifyFake

PLATFORM = "shopify_like"
API_KEY = "sk_test_affluent_shopify_like"
VISA = "4444222233331111"
ORDER = "450789469"
GREEN, RED, BLACK = "466157049", "518995019", "703073504"
SKUS = ("IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK")


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    with serve_in_thread(create_app(SandboxConfig(rate_limit=None, resolve_delay=None))) as url:
        yield url


@pytest.fixture
def fake() -> ShopifyFake:
    return ShopifyFake()


@pytest.fixture
def fake_url(fake: ShopifyFake) -> Iterator[str]:
    with serve_in_thread(fake.app) as url:
        yield url


@pytest.fixture
async def dr(sandbox_url: str) -> AsyncIterator[AsyncDigitalRiver]:
    async with AsyncDigitalRiver(api_key=API_KEY, base_url=sandbox_url) as client:
        async with httpx.AsyncClient(
            base_url=sandbox_url, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as http:
            for sku in SKUS:
                answer = await http.put(
                    f"/skus/{sku}", json={"name": f"iPod nano {sku}", "physical": True}
                )
                assert answer.status_code == 200, answer.text
        yield client


@pytest.fixture
async def flow(
    tmp_path: Path, dr: AsyncDigitalRiver, fake: ShopifyFake, fake_url: str
) -> AsyncIterator[Flow]:
    store = Store(f"sqlite:///{tmp_path / 'affluent.sqlite'}")
    store.upgrade()
    config = fake.client_config(fake_url)
    flow = Flow(
        dr=dr,
        store=store,
        adapters=Adapters.from_plugins({PLATFORM: ShopifyLikeAdapter()}),
        configs={PLATFORM: config},
    )
    yield flow
    await flow.aclose()


def shopify_order(load: Any, email: str) -> dict[str, Any]:
    """order.json as a fresh store order: 2 green, 1 red, 1 black, nothing paid or shipped."""
    order: dict[str, Any] = load("order.json")["order"]
    order.update(
        email=email,
        financial_status="pending",
        fulfillments=[],
        tags="vip",
        browser_ip="203.0.113.7",
        shipping_lines=[{"code": "ups", "title": "UPS Ground", "price": "5.00"}],
    )
    order["line_items"][0]["quantity"] = 2
    return order


async def webhook(flow: Flow, fake: ShopifyFake, topic: str, body: Any) -> object:
    """A signed store webhook through the adapter's parse hook into the flow."""
    event = flow.hooks(PLATFORM).parse_webhook(*fake.webhook(topic, body))
    return await flow.handle_platform_event(PLATFORM, event)


async def changed(flow: Flow, fake: ShopifyFake, topic: str, body: Any) -> str:
    """A store line-item webhook through the flow: ``sent``, ``duplicate`` or ``ignored``."""
    result = await webhook(flow, fake, topic, body)
    assert isinstance(result, ChangeResult)
    return result.outcome


async def pump(flow: Flow, dr: AsyncDigitalRiver, seen: set[str]) -> list[tuple[str, str]]:
    """Hand every new DR event, oldest first, to the flow."""
    events = [event async for event in dr.events.iterate(limit=100)]
    outcomes = []
    for event in reversed(events):
        if str(event.id) in seen:
            continue
        seen.add(str(event.id))
        try:
            outcome = await flow.handle_dr_event(event)
        except UnknownOrder:
            outcome = "unknown_order"
        outcomes.append((str(event.type), outcome))
    return outcomes


async def resolve(sandbox_url: str, order_id: str, outcome: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        answer = await client.post(
            f"/_sandbox/orders/{order_id}/resolve", json={"outcome": outcome}
        )
        assert answer.status_code == 200, answer.text


async def card_source(dr: AsyncDigitalRiver, checkout_id: str, number: str = VISA) -> str:
    checkout = await dr.checkouts.get(checkout_id)
    assert checkout.payment is not None and checkout.payment.session is not None
    source = await dr.sources.create(
        {
            "type": "creditCard",
            "paymentSessionId": checkout.payment.session.id,
            "owner": {
                "firstName": "Bob",
                "lastName": "Norman",
                "email": "bob.norman@hostmail.com",
                "address": {
                    "line1": "Chestnut Street 92",
                    "city": "Louisville",
                    "postalCode": "40202",
                    "state": "KY",
                    "country": "US",
                },
            },
            "creditCard": {
                "number": number,
                "expirationMonth": 7,
                "expirationYear": 2031,
                "cvv": "123",
            },
        }
    )
    return str(source.id)


async def ledger(sandbox_url: str, order_id: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        answer = await client.get(f"/_sandbox/orders/{order_id}/ledger")
        assert answer.status_code == 200, answer.text
        result: dict[str, Any] = answer.json()
        return result


async def test_a_shopify_order_from_checkout_to_complete(
    flow: Flow, dr: AsyncDigitalRiver, fake: ShopifyFake, sandbox_url: str, load: Any
) -> None:
    seen: set[str] = set()
    order = shopify_order(load, email="review+accept@hostmail.com")
    fake.store.add({"order": order})

    # step 10-15: orders/create builds the DR checkout; DR's tax lands on the store order
    summary = await webhook(flow, fake, "orders/create", order)
    assert isinstance(summary, CheckoutSummary)
    checkout = await dr.checkouts.get(summary.checkout_id)
    assert checkout.upstream_id == ORDER
    assert checkout.customer_id == "shopify-207119551"
    assert [(i.sku_id, i.quantity) for i in checkout.items or []] == [
        ("IPOD2008GREEN", 2),
        ("IPOD2008RED", 1),
        ("IPOD2008BLACK", 1),
    ]
    assert checkout.total_tax and checkout.total_tax > 0

    # step 22-29: the payment hand-off (saved to the customer) and the final tax
    source_id = await card_source(dr, str(checkout.id))
    final = await flow.hand_off_payment(
        PLATFORM, {"order_id": int(ORDER), "dr_source_id": source_id, "save_payment_method": True}
    )
    stored = fake.order(ORDER)
    assert stored["total_tax"] == f"{final.total_tax:.2f}"
    assert stored["total_price"] == f"{final.total_amount:.2f}"
    assert sum(Decimal(t["price"]) for t in stored["tax_lines"]) == final.total_tax
    line_tax = {str(line["id"]): line["tax_lines"][0]["price"] for line in stored["line_items"]}
    assert line_tax == {line.line_ref: f"{line.tax:.2f}" for line in final.lines}
    assert fake.metafields(ORDER)["tax_final"] == "true"

    # step 32-39: submit; the email sends the order to fraud review first
    result = await flow.submit(PLATFORM, ORDER)
    assert result.status == "in_review"
    assert fake.platform_status(ORDER) == "pending/unfulfilled"
    dr_order = str(result.dr_order_id)

    # step 40-41: review passes, order.accepted arrives
    await resolve(sandbox_url, dr_order, "accept")
    outcomes = await pump(flow, dr, seen)
    assert ("order.accepted", "applied") in outcomes
    assert fake.platform_status(ORDER) == "authorized/unfulfilled"
    assert "dr-state:accepted" in fake.tags(ORDER)

    # step 48-52: a first partial fulfillment, delivered twice (create, then update)
    first = fake.store.fulfill(
        ORDER,
        [(GREEN, 1)],
        tracking={"company": "UPS", "number": "1Z111", "url": "https://ups.test/1Z111"},
    )
    assert await changed(flow, fake, "fulfillments/create", first) == "sent"
    assert await changed(flow, fake, "fulfillments/update", first) == "duplicate"
    fulfillments = await dr.fulfillments.list_for_order(dr_order)
    assert len(fulfillments) == 1
    assert fulfillments[0].tracking_number == "1Z111"

    # a second one: pending first (not shipped yet), then successful
    second = fake.store.fulfill(ORDER, [(GREEN, 1), (RED, 1)], status="pending")
    assert await changed(flow, fake, "fulfillments/create", second) == "ignored"
    second = fake.store.update_fulfillment(ORDER, second["id"], "success")
    assert await changed(flow, fake, "fulfillments/update", second) == "sent"

    # step 53-57: the merchant cancels the order; only the black iPod is left to cancel
    cancelled = fake.store.cancel(ORDER)
    assert await changed(flow, fake, "orders/cancelled", cancelled) == "sent"
    assert await changed(flow, fake, "orders/updated", cancelled) == "duplicate"
    items = {item["skuId"]: item for item in (await ledger(sandbox_url, dr_order))["items"]}
    assert {sku: (i["fulfilled"], i["cancelled"], i["open"]) for sku, i in items.items()} == {
        "IPOD2008GREEN": (2, 0, 0),
        "IPOD2008RED": (1, 0, 0),
        "IPOD2008BLACK": (0, 1, 0),
    }
    view = flow.order(PLATFORM, ORDER)
    assert [(line.line_ref, line.fulfilled, line.cancelled) for line in view.lines] == [
        (GREEN, 2, 0),
        (RED, 1, 0),
        (BLACK, 0, 1),
    ]

    # DR fulfils, captures and completes the order; the store follows
    await pump(flow, dr, seen)
    if flow.order(PLATFORM, ORDER).status != "complete":
        await resolve(sandbox_url, dr_order, "settle")
        await pump(flow, dr, seen)
    assert flow.order(PLATFORM, ORDER).status == "complete"
    # paid for what shipped, everything that remained shipped, and cancelled by the merchant
    assert fake.platform_status(ORDER) == "paid/fulfilled/cancelled:customer"
    entity = final.selling_entity
    assert entity is not None
    tags = fake.tags(ORDER)
    assert tags[0] == "vip"  # the merchant's own tag survives
    assert set(tags[1:]) == {
        "dr-status:complete",
        "dr-state:complete",
        f"dr-order:{dr_order}",
        f"dr-entity:{entity.id}",
    }
    meta = fake.metafields(ORDER)
    assert meta["order_id"] == dr_order
    assert meta["checkout_id"] == final.checkout_id
    assert meta["customer_id"] == "shopify-207119551"
    assert meta["state"] == "complete"
    assert meta["selling_entity_id"] == entity.id
    assert not fake.admin.rejected


async def test_foreign_lines_and_bad_webhooks_change_nothing(
    flow: Flow, dr: AsyncDigitalRiver, fake: ShopifyFake, sandbox_url: str, load: Any
) -> None:
    order = shopify_order(load, email="bob.norman@hostmail.com")
    fake.store.add({"order": order})
    await webhook(flow, fake, "orders/create", order)
    summary_checkout = flow.order(PLATFORM, ORDER).dr_checkout_id
    source_id = await card_source(dr, str(summary_checkout))
    await flow.hand_off_payment(PLATFORM, {"order_id": ORDER, "dr_source_id": source_id})
    result = await flow.submit(PLATFORM, ORDER)
    assert result.status == "ready_to_fulfill"
    assert fake.platform_status(ORDER) == "authorized/unfulfilled"
    writes = len(fake.writes)
    before = flow.order(PLATFORM, ORDER)

    foreign = fake.store.fulfill(ORDER, [(GREEN, 1), ("999", 1)])
    with pytest.raises(InvalidInput) as caught:
        await webhook(flow, fake, "fulfillments/create", foreign)
    assert caught.value.field == "changes[1].line_ref"
    assert "'999' is not in order '450789469'" in caught.value.message

    too_many = fake.store.fulfill(ORDER, [(RED, 5)])
    with pytest.raises(InvalidInput) as caught:
        await webhook(flow, fake, "fulfillments/create", too_many)
    assert caught.value.field == "changes[0]"

    with pytest.raises(InvalidInput):
        flow.hooks(PLATFORM).parse_webhook(*fake.webhook("orders/paid", order))
    with pytest.raises(Exception, match="matches no configured"):
        flow.hooks(PLATFORM).parse_webhook(*fake.webhook("orders/cancelled", order, secret="x"))

    assert flow.order(PLATFORM, ORDER) == before
    assert await dr.fulfillments.list_for_order(str(result.dr_order_id)) == []
    assert len(fake.writes) == writes


@pytest.mark.parametrize(
    ("email", "card", "outcome", "words"),
    [
        ("review+block@hostmail.com", VISA, "block", "voided/unfulfilled/cancelled:fraud"),
        (
            "bob.norman@hostmail.com",
            "4000000000003600",
            None,
            "voided/unfulfilled/cancelled:declined",
        ),
    ],
)
async def test_blocked_and_declined_orders_are_cancelled_in_the_store(
    flow: Flow,
    dr: AsyncDigitalRiver,
    fake: ShopifyFake,
    sandbox_url: str,
    load: Any,
    email: str,
    card: str,
    outcome: str | None,
    words: str,
) -> None:
    order = shopify_order(load, email=email)
    fake.store.add({"order": order})
    await webhook(flow, fake, "orders/create", order)
    source_id = await card_source(dr, str(flow.order(PLATFORM, ORDER).dr_checkout_id), card)
    await flow.hand_off_payment(PLATFORM, {"order_id": ORDER, "dr_source_id": source_id})
    result = await flow.submit(PLATFORM, ORDER)
    if outcome is not None:
        await resolve(sandbox_url, str(result.dr_order_id), outcome)
        await pump(flow, dr, set())

    assert fake.platform_status(ORDER) == words
    view = flow.order(PLATFORM, ORDER)
    assert f"dr-status:{view.status}" in fake.tags(ORDER)
    if result.shopper_message:
        assert fake.metafields(ORDER)["shopper_message"] == result.shopper_message
