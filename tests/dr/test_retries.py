"""Retries: what is resent, when, how long it waits, and what an exhausted call reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from dr_support import Clients, Script, error_body, fixture, resolve, respond

from affluent.dr import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    BadRequestError,
    ConflictError,
    DigitalRiverError,
    InternalServerError,
    NotFoundError,
    Order,
    RateLimitError,
)
from affluent.dr._base import ClientConfig, backoff_delay, parse_retry_after

ORDER = fixture("order_201.json")
CUSTOMER = {"id": "c1"}
FULFILLMENT = fixture("fulfillment_201.json")
FUL_REQ = fixture("fulfillment_request.json")


def _create_order(dr: Any) -> Any:
    return dr.orders.create("k1", upstream_id="up-1")


def _get_order(dr: Any) -> Any:
    return dr.orders.get("o1", upstream_id="up-1")


def assert_same_request_each_time(script: Script) -> None:
    first = script.requests[0]
    for req in script.requests[1:]:
        assert req.headers["upstream-id"] == first.headers["upstream-id"]
        assert (req.method, req.url, req.content) == (first.method, first.url, first.content)


# --- retried and then successful ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "call", "answer"),
    [
        pytest.param(respond(503), _get_order, respond(200, ORDER), id="GET 503"),
        pytest.param(respond(500), _get_order, respond(200, ORDER), id="GET 500"),
        pytest.param(respond(408), _get_order, respond(200, ORDER), id="GET 408"),
        pytest.param(httpx.ConnectError, _get_order, respond(200, ORDER), id="GET connect"),
        pytest.param(httpx.ReadTimeout, _get_order, respond(200, ORDER), id="GET read timeout"),
        pytest.param(httpx.RemoteProtocolError, _get_order, respond(200, ORDER), id="GET dropped"),
        pytest.param(httpx.ConnectError, _create_order, respond(201, ORDER), id="order connect"),
        pytest.param(httpx.ConnectTimeout, _create_order, respond(201, ORDER), id="order conn-to"),
        pytest.param(httpx.PoolTimeout, _create_order, respond(201, ORDER), id="order pool"),
        pytest.param(respond(429), _create_order, respond(201, ORDER), id="order 429"),
        pytest.param(
            respond(503),
            lambda dr: dr.customers.create({"email": "a@b.c"}),
            respond(201, CUSTOMER),
            id="customer create 503",
        ),
        pytest.param(
            httpx.ReadTimeout,
            lambda dr: dr.checkouts.update("k1", {"email": "a@b.c"}),
            respond(200, {"id": "k1"}),
            id="checkout update timeout",
        ),
        pytest.param(
            httpx.ReadError,
            lambda dr: dr.customers.attach_source("c1", "s1"),
            respond(200, {"id": "s1"}),
            id="attach read error",
        ),
        pytest.param(
            respond(502),
            lambda dr: dr.checkouts.delete("k1"),
            httpx.Response(204),
            id="delete 502",
        ),
        pytest.param(
            httpx.ConnectError,
            lambda dr: dr.fulfillments.create(FUL_REQ),
            respond(201, FULFILLMENT),
            id="fulfillment connect",
        ),
    ],
)
async def test_retried_then_succeeds_with_same_request(
    clients: Clients, first: Any, call: Callable[[Any], Any], answer: httpx.Response
) -> None:
    script = Script(first, answer)
    dr = clients(script)
    await resolve(call(dr))
    assert script.count == 2
    assert len(clients.sleeps) == 1
    assert_same_request_each_time(script)


async def test_429_waits_at_least_retry_after(clients: Clients) -> None:
    script = Script(respond(429, {}, **{"Retry-After": "7"}), respond(200, ORDER))
    dr = clients(script, random=lambda: 0.999)
    order = await resolve(dr.orders.get("o1"))
    assert isinstance(order, Order)
    assert clients.sleeps[0] >= 7


async def test_retry_after_longer_than_max_wait_is_not_slept(clients: Clients) -> None:
    script = Script(
        respond(
            429, error_body("too_many_requests", "rate", "Slow down."), **{"Retry-After": "120"}
        )
    )
    dr = clients(script)
    with pytest.raises(RateLimitError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert excinfo.value.retry_after == 120
    assert clients.sleeps == []
    assert script.count == 1


async def test_rate_limit_exhausted_reports_retry_after_and_attempts(clients: Clients) -> None:
    script = Script(*[respond(429, {}, **{"Retry-After": "1"}) for _ in range(3)])
    dr = clients(script, max_retries=2)
    with pytest.raises(RateLimitError) as excinfo:
        await resolve(dr.orders.create("k1"))
    assert excinfo.value.retry_after == 1
    assert excinfo.value.attempts == 3
    assert excinfo.value.ambiguous is False  # DR blocks before its backend
    assert all(s >= 1 for s in clients.sleeps)
    assert len(clients.sleeps) == 2


async def test_backoff_grows_and_is_capped(clients: Clients) -> None:
    script = Script(*[respond(503) for _ in range(7)])
    dr = clients(script, max_retries=6, random=lambda: 0.0)
    with pytest.raises(InternalServerError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert clients.sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    assert script.count == 7
    assert excinfo.value.attempts == 7
    assert excinfo.value.ambiguous is False  # a read changes nothing
    assert "after 7 attempts" in str(excinfo.value)


def test_backoff_jitter_stays_within_half_and_full_step() -> None:
    cfg = ClientConfig(
        api_key="k",
        base_url="x",
        api_version="v",
        timeout=httpx.Timeout(1),
        max_retries=3,
        max_retry_wait=60,
    )
    assert backoff_delay(cfg, 2, 0.0) == 2.0
    assert backoff_delay(cfg, 2, 1.0) == 1.0
    assert 1.0 <= backoff_delay(cfg, 2, 0.37) <= 2.0
    assert backoff_delay(cfg, 30, 0.0) == cfg.max_retry_delay


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("7", 7.0),
        (" 2.5 ", 2.5),
        ("0", 0.0),
        ("-3", 0.0),
        ("soon", None),
        ("nan", None),
        (None, None),
        ("Wed, 21 Oct 2015 07:28:30 GMT", 30.0),
    ],
)
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    now = 1445412480.0  # 2015-10-21T07:28:00Z
    assert parse_retry_after(value, now=now) == expected


async def test_max_retries_zero_means_one_attempt(clients: Clients) -> None:
    script = Script(respond(503))
    dr = clients(script, max_retries=0)
    with pytest.raises(InternalServerError):
        await resolve(dr.orders.get("o1"))
    assert script.count == 1
    assert clients.sleeps == []


async def test_transport_failures_exhausted_raise_connection_errors(clients: Clients) -> None:
    script = Script(*[httpx.ReadTimeout] * 4)
    dr = clients(script)
    with pytest.raises(APITimeoutError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert script.count == 4
    assert excinfo.value.ambiguous is False
    assert_same_request_each_time(script)


# --- never resent -------------------------------------------------------------------------------


MONEY_CREATES = [
    pytest.param(_create_order, "/orders", id="orders"),
    pytest.param(lambda dr: dr.fulfillments.create(FUL_REQ), "/fulfillments", id="fulfillments"),
    pytest.param(
        lambda dr: dr.refunds.create({"orderId": "o1", "currency": "USD", "amount": 1}),
        "/refunds",
        id="refunds",
    ),
    pytest.param(
        lambda dr: dr.returns.create({"orderId": "o1", "items": [{"itemId": "i", "quantity": 1}]}),
        "/returns",
        id="returns",
    ),
]

AMBIGUOUS_FAILURES = [
    pytest.param(httpx.ReadTimeout, APITimeoutError, id="read-timeout"),
    pytest.param(httpx.WriteTimeout, APITimeoutError, id="write-timeout"),
    pytest.param(httpx.RemoteProtocolError, APIConnectionError, id="dropped"),
    pytest.param(httpx.ReadError, APIConnectionError, id="read-error"),
    pytest.param(httpx.WriteError, APIConnectionError, id="write-error"),
    pytest.param(respond(500), InternalServerError, id="500"),
    pytest.param(respond(502), InternalServerError, id="502"),
    pytest.param(respond(503, {}, **{"Retry-After": "1"}), InternalServerError, id="503"),
    pytest.param(respond(504), InternalServerError, id="504"),
    pytest.param(respond(408), APIStatusError, id="408"),
]


@pytest.mark.parametrize(("call", "path"), MONEY_CREATES)
@pytest.mark.parametrize(("failure", "error"), AMBIGUOUS_FAILURES)
async def test_money_moving_create_is_never_resent_after_ambiguous_failure(
    clients: Clients,
    call: Callable[[Any], Any],
    path: str,
    failure: Any,
    error: type[DigitalRiverError],
) -> None:
    script = Script(failure)
    dr = clients(script)
    with pytest.raises(error) as excinfo:
        await resolve(call(dr))
    assert type(excinfo.value) is error
    assert excinfo.value.ambiguous is True
    assert excinfo.value.upstream_id == script.requests[0].headers["upstream-id"]
    assert script.count == 1
    assert clients.sleeps == []
    assert script.requests[0].url.path == path


async def test_order_create_connect_error_then_timeout_is_ambiguous(clients: Clients) -> None:
    script = Script(httpx.ConnectError, httpx.ReadTimeout)
    dr = clients(script)
    with pytest.raises(APITimeoutError) as excinfo:
        await resolve(dr.orders.create("k1"))
    assert excinfo.value.ambiguous is True
    assert excinfo.value.attempts == 2
    assert script.count == 2


async def test_order_create_connect_errors_exhausted_are_not_ambiguous(clients: Clients) -> None:
    script = Script(*[httpx.ConnectError] * 4)
    dr = clients(script)
    with pytest.raises(APIConnectionError) as excinfo:
        await resolve(dr.orders.create("k1"))
    assert not isinstance(excinfo.value, APITimeoutError)
    assert excinfo.value.ambiguous is False
    assert script.count == 4


async def test_ambiguity_sticks_when_a_later_attempt_fails_differently(clients: Clients) -> None:
    """The first attempt may have created the customer; the 400 that follows doesn't undo that."""
    dup = error_body("bad_request", "invalid_parameter", "Customer exists.", "id")
    script = Script(respond(503), respond(400, dup))
    dr = clients(script)
    with pytest.raises(BadRequestError) as excinfo:
        await resolve(dr.customers.create({"id": "c1"}))
    assert excinfo.value.ambiguous is True
    assert "may have taken effect" in str(excinfo.value)


async def test_updates_exhausted_on_5xx_are_ambiguous(clients: Clients) -> None:
    script = Script(*[respond(500)] * 4)
    dr = clients(script)
    with pytest.raises(InternalServerError) as excinfo:
        await resolve(dr.checkouts.update("k1", {"sourceId": "s1"}))
    assert excinfo.value.ambiguous is True
    assert script.count == 4


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, BadRequestError), (404, NotFoundError), (409, ConflictError)],
)
async def test_client_errors_are_not_retried(
    clients: Clients, status: int, error: type[APIStatusError]
) -> None:
    script = Script(respond(status, error_body("x", "y", "z")))
    dr = clients(script)
    with pytest.raises(error) as excinfo:
        await resolve(dr.checkouts.update("k1", {"email": "a@b.c"}))
    assert script.count == 1
    assert excinfo.value.ambiguous is False
    assert clients.sleeps == []
