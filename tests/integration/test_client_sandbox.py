"""The typed DR client against the sandbox over loopback HTTP: each documented outcome end to end."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from affluent.dr import AsyncDigitalRiver, DigitalRiver, construct_event, verify
from affluent.dr.errors import (
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    OrderDeclinedError,
    RateLimitError,
    SignatureFailure,
    SignatureVerificationError,
)
from affluent.sandbox import SandboxConfig, create_app
from affluent.serving import serve_in_thread
from affluent.testing.sources import ADDRESS, DECLINED, VISA

OWNER = {"firstName": "Ada", "lastName": "Lovelace", "email": "ada@example.com", "address": ADDRESS}


def checkout_body(email: str = "ada@example.com", customer: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "currency": "USD",
        "email": email,
        "upstreamId": "up-1",
        "browserIp": "203.0.113.7",
        "shipTo": {"name": "Ada Lovelace", "address": ADDRESS},
        "billTo": {"name": "Ada Lovelace", "address": ADDRESS},
        "shipFrom": {"address": ADDRESS},
        "shippingChoice": {"amount": 4.0, "description": "Ground"},
        "items": [{"skuId": "sku-widget-blue", "quantity": 3, "price": 15.0}],
    }
    if customer:
        body["customerId"] = customer
    return body


async def paid_checkout(
    dr: AsyncDigitalRiver, *, number: str = VISA, kind: str = "creditCard", **kwargs: Any
) -> str:
    checkout = await dr.checkouts.create(checkout_body(**kwargs))
    assert checkout.payment is not None and checkout.payment.session is not None
    body: dict[str, Any] = {
        "type": kind,
        "paymentSessionId": checkout.payment.session.id,
        "owner": OWNER,
    }
    body |= (
        {
            "creditCard": {
                "number": number,
                "expirationMonth": 7,
                "expirationYear": 2031,
                "cvv": "123",
            }
        }
        if kind == "creditCard"
        else {kind: {}}
    )
    source = await dr.sources.create(body)
    await dr.checkouts.update(str(checkout.id), {"sourceId": str(source.id)})
    return str(checkout.id)


async def test_guest_and_registered_checkouts(dr: AsyncDigitalRiver) -> None:
    guest = await dr.checkouts.create(checkout_body())
    assert guest.customer_id is None
    assert guest.total_amount == (guest.subtotal or 0) + (guest.total_tax or 0)
    assert isinstance(guest.total_tax, Decimal) and guest.total_tax > 0
    assert guest.selling_entity is not None and guest.selling_entity.id
    await dr.customers.create({"id": "cust-1", "email": "ada@example.com"})
    registered = await dr.checkouts.create(checkout_body(customer="cust-1"))
    assert registered.customer_id == "cust-1"
    with pytest.raises(ConflictError):
        await dr.customers.create({"id": "cust-1", "email": "ada@example.com"})


@pytest.mark.parametrize(
    ("email", "state"), [("ada@example.com", "accepted"), ("review@example.com", "in_review")]
)
async def test_order_created(dr: AsyncDigitalRiver, email: str, state: str) -> None:
    order = await dr.orders.create(await paid_checkout(dr, email=email))
    assert order.state == state
    assert order.upstream_id == "up-1"


async def test_delayed_payment_order_is_pending(dr: AsyncDigitalRiver) -> None:
    order = await dr.orders.create(await paid_checkout(dr, kind="wireTransfer"))
    assert order.state == "pending_payment"


async def test_decline_is_its_own_error_and_no_order_exists(dr: AsyncDigitalRiver) -> None:
    checkout_id = await paid_checkout(dr, number=DECLINED)
    with pytest.raises(OrderDeclinedError) as info:
        await dr.orders.create(checkout_id)
    assert info.value.status_code == 409
    assert await dr.orders.find_by_checkout(checkout_id) is None


async def test_consumed_checkout_is_recognised(dr: AsyncDigitalRiver) -> None:
    checkout_id = await paid_checkout(dr)
    first = await dr.orders.create(checkout_id)
    with pytest.raises(NotFoundError) as info:
        await dr.orders.create(checkout_id)
    assert info.value.is_consumed_checkout
    found = await dr.orders.find_by_checkout(checkout_id)
    assert found is not None and found.id == first.id


async def test_unfunded_session_is_a_bad_request(dr: AsyncDigitalRiver) -> None:
    checkout = await dr.checkouts.create(checkout_body())
    with pytest.raises(BadRequestError) as info:
        await dr.orders.create(str(checkout.id))
    assert info.value.code == "order_submit_failed"


async def test_partial_fulfillment_then_cancel_of_the_rest(dr: AsyncDigitalRiver) -> None:
    order = await dr.orders.create(await paid_checkout(dr))
    item = str((order.items or [])[0].id)
    await dr.fulfillments.create(
        {"orderId": str(order.id), "items": [{"itemId": item, "quantity": 2}]}
    )
    assert (await dr.orders.get(str(order.id))).state == "accepted"
    with pytest.raises(ConflictError):
        await dr.fulfillments.create(
            {"orderId": str(order.id), "items": [{"itemId": item, "quantity": 2}]}
        )
    await dr.fulfillments.create(
        {"orderId": str(order.id), "items": [{"itemId": item, "cancelQuantity": 1}]}
    )
    final = await dr.orders.get(str(order.id))
    assert final.state == "complete"
    assert final.captured_amount is not None and final.captured_amount > 0
    assert len(await dr.fulfillments.list_for_order(str(order.id))) == 2


async def test_events_page_through_every_event(dr: AsyncDigitalRiver) -> None:
    for _ in range(3):
        await dr.orders.create(await paid_checkout(dr))
    page = await dr.events.list(limit=2)
    assert len(page.data) == 2 and page.has_more
    everything = [event async for event in dr.events.iterate(limit=2)]
    assert len({event.id for event in everything}) == len(everything) >= 6
    accepted = [event async for event in dr.events.iterate(type="order.accepted")]
    assert len(accepted) == 3


# -- webhooks ---------------------------------------------------------------------------------------


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[bytes, str]]]]:
    received: list[tuple[bytes, str]] = []

    async def hook(request: Request) -> Response:
        received.append((await request.body(), request.headers.get("digitalriver-signature", "")))
        return Response(status_code=202)

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as url:
        yield url, received


@pytest.fixture
def rotating_app() -> Any:
    return create_app(
        SandboxConfig(
            rate_limit=None, resolve_delay=None, webhook_secrets=["whsec_old", "whsec_new"]
        )
    )


async def test_webhook_deliveries_verify_with_the_client(
    rotating_app: Any, receiver: tuple[str, list[tuple[bytes, str]]]
) -> None:
    url, received = receiver
    with serve_in_thread(rotating_app) as base:
        async with AsyncDigitalRiver(api_key="sk_test_hooks", base_url=base) as dr:
            await dr.skus.create({"id": "sku-widget-blue", "name": "Widget", "physical": True})
            await dr.webhooks.create({"address": f"{url}/hook", "types": ["order.accepted"]})
            await dr.orders.create(await paid_checkout(dr))
            await rotating_app.state.sandbox.drain(timeout=10)
    assert len(received) == 1
    body, header = received[0]
    assert construct_event(body, header, ["whsec_new"]).type == "order.accepted"  # after rotation
    assert construct_event(body, header, ["whsec_old"]).type == "order.accepted"  # before it
    timestamp = verify(body, header, "whsec_new")
    cases = [
        (
            body.replace(b"accepted", b"blocked"),
            header,
            "whsec_new",
            SignatureFailure.NO_MATCHING_SIGNATURE,
        ),
        (body, header, "whsec_wrong", SignatureFailure.NO_MATCHING_SIGNATURE),
        (body, "", "whsec_new", SignatureFailure.MISSING_HEADER),
        (body, "t=abc, xyz", "whsec_new", SignatureFailure.MALFORMED_HEADER),
    ]
    for payload, sig, secret, reason in cases:
        with pytest.raises(SignatureVerificationError) as info:
            verify(payload, sig, secret, now=timestamp)
        assert info.value.reason is reason
    with pytest.raises(SignatureVerificationError) as stale:
        verify(body, header, "whsec_new", now=timestamp + 301)
    assert stale.value.reason is SignatureFailure.TIMESTAMP_TOO_OLD
    with pytest.raises(SignatureVerificationError) as future:
        verify(body, header, "whsec_new", now=timestamp - 301)
    assert future.value.reason is SignatureFailure.TIMESTAMP_IN_FUTURE


# -- retries and ambiguity ----------------------------------------------------------------------------


async def _fault(base: str, **rule: Any) -> None:
    async with httpx.AsyncClient(base_url=base) as control:
        response = await control.post("/_sandbox/faults", json=rule)
        assert response.status_code in (200, 201), response.text


async def test_429_is_retried_after_retry_after(sandbox_url: str) -> None:
    await _fault(
        sandbox_url,
        method="GET",
        path="/customers/*",
        kind="status",
        status=429,
        retryAfter=1,
        times=1,
    )
    async with AsyncDigitalRiver(
        api_key="sk_test_retry", base_url=sandbox_url, max_retries=2
    ) as dr:
        await dr.customers.create({"id": "c-1"})
        started = time.monotonic()
        customer = await dr.customers.get("c-1")
        waited = time.monotonic() - started
    assert customer.id == "c-1"
    assert waited >= 1.0


async def test_5xx_on_a_read_is_retried_and_on_post_orders_is_not(sandbox_url: str) -> None:
    async with AsyncDigitalRiver(
        api_key="sk_test_retry", base_url=sandbox_url, max_retries=2
    ) as dr:
        await dr.skus.create({"id": "sku-widget-blue", "name": "Widget", "physical": True})
        checkout_id = await paid_checkout(dr)
        await _fault(
            sandbox_url, method="GET", path="/checkouts/*", kind="status", status=503, times=1
        )
        assert (await dr.checkouts.get(checkout_id)).id == checkout_id
        await _fault(sandbox_url, method="POST", path="/orders", kind="status", status=503, times=1)
        with pytest.raises(InternalServerError) as info:
            await dr.orders.create(checkout_id)
        assert info.value.ambiguous
        assert (
            await dr.orders.find_by_checkout(checkout_id) is None
        )  # the fault answered before DR acted
        assert (await dr.orders.create(checkout_id)).state == "accepted"


async def test_dropped_connection_after_commit_is_resolved_by_lookup(sandbox_url: str) -> None:
    async with AsyncDigitalRiver(api_key="sk_test_retry", base_url=sandbox_url) as dr:
        await dr.skus.create({"id": "sku-widget-blue", "name": "Widget", "physical": True})
        checkout_id = await paid_checkout(dr)
        await _fault(sandbox_url, method="POST", path="/orders", kind="drop_after_commit", times=1)
        with pytest.raises(Exception) as info:  # noqa: PT011 - any transport error, as long as it is ambiguous
            await dr.orders.create(checkout_id)
        assert getattr(info.value, "ambiguous", False)
        found = await dr.orders.find_by_checkout(checkout_id)
        assert found is not None and found.state == "accepted"


def test_rate_limit_of_test_mode_and_the_sync_client() -> None:
    app = create_app(SandboxConfig(rate_limit=5, resolve_delay=None))
    with (
        serve_in_thread(app) as base,
        DigitalRiver(api_key="sk_test_rl", base_url=base, max_retries=0) as dr,
    ):
        errors: list[RateLimitError] = []
        for _ in range(8):
            try:
                dr.customers.list()
            except RateLimitError as exc:
                errors.append(exc)
        assert 0 < len(errors) < 8
        assert all(exc.retry_after is not None and exc.retry_after >= 1 for exc in errors)
        time.sleep(1.1)
        with DigitalRiver(api_key="sk_test_rl", base_url=base, max_retries=3) as patient:
            for _ in range(8):
                patient.customers.list()  # waits out the limit instead of failing


async def test_sandbox_smoke_walk_runs_to_complete(sandbox_url: str) -> None:
    from affluent.sandbox import server

    lines: list[str] = []
    await asyncio.to_thread(server.walk, sandbox_url, lines.append)
    assert any("complete" in line for line in lines)
