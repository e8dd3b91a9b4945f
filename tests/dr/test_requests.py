"""What goes on the wire: headers, paths, bodies, query strings; client configuration."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from dr_support import API_KEY, BASE_URL, Clients, Script, fixture, resolve, respond
from pydantic import ValidationError

from affluent.dr import (
    AsyncDigitalRiver,
    Checkout,
    CheckoutRequest,
    Customer,
    DigitalRiver,
    DigitalRiverError,
    Event,
    Fulfillment,
    Order,
    Refund,
    Return,
    Sku,
    Source,
    UpdateWebhookRequest,
    Webhook,
)
from affluent.dr._base import mask_key
from affluent.dr._calls import encode_filters

ORDER = fixture("order_201.json")
CHECKOUT = fixture("checkout_201.json")
SOURCE = {"id": "src-1", "state": "chargeable", "reusable": True}


async def test_headers_auth_version_json_and_upstream_id(clients: Clients) -> None:
    script = Script(respond(201, ORDER))
    dr = clients(script)
    await resolve(dr.orders.create("3f0c9a1e"))
    req = script.requests[0]
    assert req.method == "POST"
    assert str(req.url) == f"{BASE_URL}/orders"
    assert req.headers["authorization"] == f"Bearer {API_KEY}"
    assert req.headers["digitalriver-version"] == "2021-12-13"
    assert req.headers["content-type"] == "application/json"
    assert req.headers["accept"] == "application/json"
    assert uuid.UUID(req.headers["upstream-id"]).version == 4
    assert json.loads(req.content) == {"checkoutId": "3f0c9a1e"}


async def test_api_version_is_configurable(clients: Clients) -> None:
    script = Script(respond(200, ORDER))
    dr = clients(script, api_version="2020-09-30")
    await resolve(dr.orders.get("1"))
    assert script.requests[0].headers["digitalriver-version"] == "2020-09-30"
    assert "content-type" not in script.requests[0].headers
    assert script.requests[0].content == b""


async def test_upstream_id_given_is_sent_and_fresh_one_per_call_otherwise(clients: Clients) -> None:
    script = Script(respond(200, ORDER), respond(200, ORDER), respond(200, ORDER))
    dr = clients(script)
    await resolve(dr.orders.get("1", upstream_id="caller-chosen-7"))
    await resolve(dr.orders.get("1"))
    await resolve(dr.orders.get("1"))
    ids = [r.headers["upstream-id"] for r in script.requests]
    assert ids[0] == "caller-chosen-7"
    assert len(set(ids)) == 3


async def test_request_model_is_sent_by_alias_with_numbers(clients: Clients) -> None:
    script = Script(respond(201, CHECKOUT))
    dr = clients(script)
    request = CheckoutRequest.model_validate(fixture("checkout_request.json"))
    checkout = await resolve(dr.checkouts.create(request))
    assert script.body() == fixture("checkout_request.json")
    assert b'"price":12.25' in script.requests[0].content
    assert checkout.id == CHECKOUT["id"]


async def test_plain_dict_is_validated_into_the_model(clients: Clients) -> None:
    script = Script(respond(201, CHECKOUT))
    dr = clients(script)
    await resolve(
        dr.checkouts.create(
            {"currency": "eur", "items": [{"sku_id": "s1", "quantity": 3}], "email": "a@b.c"}
        )
    )
    assert script.body() == {
        "currency": "EUR",
        "items": [{"skuId": "s1", "quantity": 3}],
        "email": "a@b.c",
    }


async def test_invalid_request_is_rejected_before_sending(clients: Clients) -> None:
    script = Script()
    dr = clients(script)
    with pytest.raises(ValidationError) as excinfo:
        await resolve(
            dr.checkouts.create({"currency": "USD", "items": [{"skuId": "a", "quantity": 0}]})
        )
    assert ("items", 0, "quantity") in [e["loc"] for e in excinfo.value.errors()]
    with pytest.raises(TypeError):
        await resolve(dr.checkouts.create(["not", "a", "mapping"]))
    assert script.count == 0


@pytest.mark.parametrize("bad", ["", None])
async def test_empty_ids_are_rejected_before_sending(clients: Clients, bad: Any) -> None:
    script = Script()
    dr = clients(script)
    with pytest.raises(ValueError, match="order_id"):
        await resolve(dr.orders.get(bad))
    with pytest.raises(ValueError, match="checkout_id"):
        await resolve(dr.orders.create(bad))
    with pytest.raises(ValueError, match="source_id"):
        await resolve(dr.customers.attach_source("c1", bad))
    assert script.count == 0


async def test_ids_are_percent_encoded_in_paths(clients: Clients) -> None:
    script = Script(respond(200, {"id": "a/b c?d"}))
    dr = clients(script)
    await resolve(dr.customers.get("a/b c?d"))
    assert script.requests[0].url.raw_path == b"/customers/a%2Fb%20c%3Fd"


def ep(
    name: str,
    call: Callable[[Any], Any],
    method: str,
    path: str,
    *,
    body: Any = None,
    answer: Any = None,
    query: str = "",
    result: type | None = None,
) -> Any:
    """One endpoint case: what the call must send, what DR answers, what the call returns."""
    return pytest.param(call, method, path, query, body, answer, result, id=name)


FUL_REQ = fixture("fulfillment_request.json")
RET_ITEMS = [{"itemId": "i1", "quantity": 1}]
ACCEPT_ITEMS = [{"itemId": "i1", "quantity": 1, "state": "accepted"}]
HOOK = {"types": ["order.accepted"], "address": "https://x.test/h"}
CREDIT = {"type": "customerCredit", "paymentSessionId": "ps1", "customerCredit": {}}

ENDPOINTS = [
    ep("customers.create", lambda d: d.customers.create({"id": "c1", "email": "a@b.c"}),
       "POST", "/customers", body={"id": "c1", "email": "a@b.c"}, answer={"id": "c1"},
       result=Customer),
    ep("customers.get", lambda d: d.customers.get("c1"), "GET", "/customers/c1",
       answer={"id": "c1"}, result=Customer),
    ep("customers.update", lambda d: d.customers.update("c1", {"locale": "fr_FR"}),
       "POST", "/customers/c1", body={"locale": "fr_FR"}, answer={"id": "c1"}, result=Customer),
    ep("customers.delete", lambda d: d.customers.delete("c1"), "DELETE", "/customers/c1"),
    ep("customers.attach_source", lambda d: d.customers.attach_source("c1", "s1"),
       "POST", "/customers/c1/sources/s1", body={}, answer=SOURCE, result=Source),
    ep("customers.detach_source", lambda d: d.customers.detach_source("c1", "s1"),
       "DELETE", "/customers/c1/sources/s1"),
    ep("checkouts.get", lambda d: d.checkouts.get("k1"), "GET", "/checkouts/k1",
       answer=CHECKOUT, result=Checkout),
    ep("checkouts.update", lambda d: d.checkouts.update("k1", {"sourceId": "s1"}),
       "POST", "/checkouts/k1", body={"sourceId": "s1"}, answer=CHECKOUT, result=Checkout),
    ep("checkouts.delete", lambda d: d.checkouts.delete("k1"), "DELETE", "/checkouts/k1"),
    ep("checkouts.attach_source", lambda d: d.checkouts.attach_source("k1", "s1"),
       "POST", "/checkouts/k1/sources/s1", body={}, answer=SOURCE, result=Source),
    ep("checkouts.detach_source", lambda d: d.checkouts.detach_source("k1", "s1"),
       "DELETE", "/checkouts/k1/sources/s1"),
    ep("sources.create", lambda d: d.sources.create({**CREDIT, "amount": "5.00"}),
       "POST", "/sources", body={**CREDIT, "amount": 5.0}, answer=SOURCE, result=Source),
    ep("sources.get", lambda d: d.sources.get("s1"), "GET", "/sources/s1",
       answer=SOURCE, result=Source),
    ep("skus.create", lambda d: d.skus.create({"id": "sku1", "name": "Mug", "eccn": "EAR99"}),
       "POST", "/skus", body={"id": "sku1", "name": "Mug", "eccn": "EAR99"},
       answer={"id": "sku1"}, result=Sku),
    ep("skus.get", lambda d: d.skus.get("sku1"), "GET", "/skus/sku1",
       answer={"id": "sku1"}, result=Sku),
    ep("orders.get", lambda d: d.orders.get("o1"), "GET", "/orders/o1",
       answer=ORDER, result=Order),
    ep("orders.get expand", lambda d: d.orders.get("o1", expand=True), "GET", "/orders/o1",
       query="expand=true", answer=ORDER, result=Order),
    ep("orders.update", lambda d: d.orders.update("o1", {"upstreamId": "u2", "metadata": {"k": 1}}),
       "POST", "/orders/o1", body={"upstreamId": "u2", "metadata": {"k": 1}}, answer=ORDER,
       result=Order),
    ep("fulfillments.create", lambda d: d.fulfillments.create(FUL_REQ), "POST", "/fulfillments",
       body=FUL_REQ, answer=fixture("fulfillment_201.json"), result=Fulfillment),
    ep("fulfillments.get", lambda d: d.fulfillments.get("ful_1"), "GET", "/fulfillments/ful_1",
       answer={"id": "ful_1"}, result=Fulfillment),
    ep("events.get", lambda d: d.events.get("e1"), "GET", "/events/e1",
       answer=fixture("event_order_accepted.json"), result=Event),
    ep("refunds.create",
       lambda d: d.refunds.create({"orderId": "o1", "currency": "USD", "amount": 5}),
       "POST", "/refunds", body={"orderId": "o1", "currency": "USD", "amount": 5},
       answer={"id": "re_1"}, result=Refund),
    ep("refunds.get", lambda d: d.refunds.get("re_1"), "GET", "/refunds/re_1",
       answer={"id": "re_1"}, result=Refund),
    ep("returns.create", lambda d: d.returns.create({"orderId": "o1", "items": RET_ITEMS}),
       "POST", "/returns", body={"orderId": "o1", "items": RET_ITEMS}, answer={"id": "ret_1"},
       result=Return),
    ep("returns.get", lambda d: d.returns.get("ret_1"), "GET", "/returns/ret_1",
       answer={"id": "ret_1"}, result=Return),
    ep("returns.update", lambda d: d.returns.update("ret_1", {"items": ACCEPT_ITEMS}),
       "POST", "/returns/ret_1", body={"items": ACCEPT_ITEMS}, answer={"id": "ret_1"},
       result=Return),
    ep("returns.accept", lambda d: d.returns.accept("ret_1"), "POST", "/returns/ret_1",
       body={"state": "accepted"}, answer={"id": "ret_1", "state": "accepted"}, result=Return),
    ep("webhooks.create", lambda d: d.webhooks.create(HOOK), "POST", "/webhooks",
       body=HOOK, answer={"id": "w1"}, result=Webhook),
    ep("webhooks.get", lambda d: d.webhooks.get("w1"), "GET", "/webhooks/w1",
       answer={"id": "w1"}, result=Webhook),
    ep("webhooks.update", lambda d: d.webhooks.update("w1", UpdateWebhookRequest(enabled=False)),
       "PATCH", "/webhooks/w1", body={"enabled": False}, answer={"id": "w1", "enabled": False},
       result=Webhook),
    ep("webhooks.delete", lambda d: d.webhooks.delete("w1"), "DELETE", "/webhooks/w1"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("call", "method", "path", "query", "body", "answer", "result_type"), ENDPOINTS
)
async def test_endpoint_shapes(
    clients: Clients,
    call: Callable[[Any], Any],
    method: str,
    path: str,
    query: str,
    body: Any,
    answer: Any,
    result_type: Any,
) -> None:
    status = 204 if answer is None else (201 if method == "POST" and path.count("/") == 1 else 200)
    script = Script(respond(status, answer))
    result = await resolve(call(clients(script)))
    req = script.requests[0]
    assert (req.method, req.url.path, req.url.query.decode()) == (method, path, query)
    if body is None:
        assert req.content == b""
    else:
        assert json.loads(req.content) == body
    if answer is None:
        assert result is None
    else:
        assert isinstance(result, result_type)
        assert result.id == answer["id"]


async def test_204_with_empty_body_and_200_with_a_body_both_mean_done(clients: Clients) -> None:
    script = Script(httpx.Response(204), respond(200, {"id": "w1"}))
    dr = clients(script)
    assert await resolve(dr.webhooks.delete("w1")) is None
    assert await resolve(dr.checkouts.delete("k1")) is None


# --- list filters -------------------------------------------------------------------------------


async def test_list_filters_are_mapped_to_dr_query_names(clients: Clients) -> None:
    script = Script(respond(200, {"hasMore": False, "data": []}))
    dr = clients(script)
    await resolve(
        dr.orders.list(
            checkout_id="k1",
            upstream_ids=["u1", "u2"],
            customer_id="c1",
            state="accepted",
            limit=25,
            starting_after="o9",
            created_time={"gte": datetime(2024, 6, 1, tzinfo=UTC), "lt": "2024-07-01T00:00:00Z"},
            in_review={"gt": datetime(2024, 6, 1, 2, 0, tzinfo=timezone(timedelta(hours=2)))},
        )
    )
    assert script.requests[0].url.path == "/orders"
    assert list(script.requests[0].url.params.multi_items()) == [
        ("checkoutId", "k1"),
        ("upstreamIds", "u1"),
        ("upstreamIds", "u2"),
        ("customerId", "c1"),
        ("state", "accepted"),
        ("limit", "25"),
        ("startingAfter", "o9"),
        ("createdTime[gte]", "2024-06-01T00:00:00Z"),
        ("createdTime[lt]", "2024-07-01T00:00:00Z"),
        ("in_review[gt]", "2024-06-01T00:00:00Z"),
    ]


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"created_time": "2024-06-01T00:00:00Z"}, [("createdTime", "2024-06-01T00:00:00Z")]),
        (
            {"created_time": datetime(2024, 6, 1, 12, 9, 44, 123456, tzinfo=UTC)},
            [("createdTime", "2024-06-01T12:09:44.123456Z")],
        ),
        ({"order_id": "o1", "ending_before": "f1"}, [("orderId", "o1"), ("endingBefore", "f1")]),
        ({"request_to_be_forgotten": False}, [("requestToBeForgotten", "false")]),
        (
            {"total_amount": {"gt": 10, "lte": "99.50"}},
            [("totalAmount[gt]", "10"), ("totalAmount[lte]", "99.50")],
        ),
        (
            {"types": ("order.accepted", "order.blocked")},
            [("types", "order.accepted"), ("types", "order.blocked")],
        ),
        ({"type": "order.*", "types": None, "email": None}, [("type", "order.*")]),
        ({"fraud_state": "passed", "ids": ["a"]}, [("fraudState", "passed"), ("ids", "a")]),
    ],
)
def test_filter_encoding(filters: dict[str, Any], expected: list[tuple[str, str]]) -> None:
    assert list(encode_filters(filters)) == expected


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"type": "order.accepted", "types": ["order.blocked"]}, "type or types"),
        ({"types": [f"t{i}" for i in range(20)]}, "at most 19"),
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": True}, "limit"),
        ({"created_time": {"after": "2024-01-01"}}, "unknown range operator"),
        ({"created_time": datetime(2024, 1, 1)}, "timezone-aware"),
    ],
)
def test_bad_filters_raise_value_error(filters: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_filters(filters)


async def test_events_type_and_types_together_rejected_without_request(clients: Clients) -> None:
    script = Script()
    dr = clients(script)
    with pytest.raises(ValueError, match="type or types"):
        await resolve(dr.events.list(type="order.accepted", types=["order.blocked"]))
    assert script.count == 0


# --- configuration ------------------------------------------------------------------------------


def test_api_key_falls_back_to_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFFLUENT_DR_API_KEY", "sk_test_from_env_123")
    monkeypatch.delenv("AFFLUENT_DR_BASE_URL", raising=False)
    script = Script(respond(200, {"id": "c1"}))
    with httpx.Client(transport=httpx.MockTransport(script)) as http:
        dr = DigitalRiver(http_client=http)
        dr.customers.get("c1")
    assert script.requests[0].headers["authorization"] == "Bearer sk_test_from_env_123"
    assert str(script.requests[0].url) == "https://api.digitalriver.com/customers/c1"


def test_missing_api_key_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AFFLUENT_DR_API_KEY", raising=False)
    with pytest.raises(DigitalRiverError, match="AFFLUENT_DR_API_KEY"):
        DigitalRiver()
    with pytest.raises(DigitalRiverError, match="AFFLUENT_DR_API_KEY"):
        AsyncDigitalRiver(api_key="")


def test_base_url_from_environment_and_trailing_slash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFFLUENT_DR_BASE_URL", "http://127.0.0.1:8787/")
    dr = DigitalRiver(api_key=API_KEY)
    assert dr.base_url == "http://127.0.0.1:8787"
    dr.close()
    assert DigitalRiver(api_key=API_KEY, base_url="http://x.test/").base_url == "http://x.test"


def test_repr_masks_the_key() -> None:
    dr = DigitalRiver(api_key="sk_test_supersecretvalue42")
    text = repr(dr)
    assert "supersecretvalue42" not in text
    assert "sk_test_***" in text
    assert "api.digitalriver.com" in text
    assert "supersecretvalue42" not in repr(AsyncDigitalRiver(api_key="opaque-supersecretvalue42"))
    dr.close()


async def test_with_options_copies_and_shares_the_pool(clients: Clients) -> None:
    script = Script(respond(200, ORDER), respond(200, ORDER))
    dr = clients(script)
    other = dr.with_options(api_version="2020-09-30", max_retries=0)
    assert (other.api_version, other.max_retries) == ("2020-09-30", 0)
    assert (dr.api_version, dr.max_retries) == ("2021-12-13", 3)
    assert other._http is dr._http
    await resolve(other.orders.get("1"))
    await resolve(dr.orders.get("1"))
    versions = [r.headers["digitalriver-version"] for r in script.requests]
    assert versions == ["2020-09-30", "2021-12-13"]
    assert script.requests[0].headers["authorization"] == f"Bearer {API_KEY}"


def test_sync_context_manager_closes_own_pool_but_not_an_injected_one() -> None:
    with DigitalRiver(api_key=API_KEY) as dr:
        own = dr._http
    assert own.is_closed
    injected = httpx.Client(transport=httpx.MockTransport(Script()))
    with DigitalRiver(api_key=API_KEY, http_client=injected) as dr:
        copy = dr.with_options(max_retries=1)
    copy.close()
    assert not injected.is_closed
    injected.close()


async def test_async_context_manager_closes_own_pool_but_not_an_injected_one() -> None:
    async with AsyncDigitalRiver(api_key=API_KEY) as dr:
        own = dr._http
    assert own.is_closed
    injected = httpx.AsyncClient(transport=httpx.MockTransport(Script()))
    async with AsyncDigitalRiver(api_key=API_KEY, http_client=injected):
        pass
    assert not injected.is_closed
    await injected.aclose()


async def test_async_client_over_an_asgi_app() -> None:
    """What the sandbox and service tests do: an ``httpx.AsyncClient`` on ``ASGITransport``."""
    seen: list[dict[str, Any]] = []

    async def app(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        seen.append({"path": scope["path"], "headers": headers, "body": json.loads(body)})
        payload = json.dumps(ORDER).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 201,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app)) as http,
        AsyncDigitalRiver(api_key=API_KEY, base_url="http://sandbox", http_client=http) as dr,
    ):
        order = await dr.orders.create("3f0c9a1e", upstream_id="asgi-1")
    assert order.id == ORDER["id"]
    assert seen == [
        {
            "path": "/orders",
            "headers": seen[0]["headers"] | {"upstream-id": "asgi-1"},
            "body": {"checkoutId": "3f0c9a1e"},
        }
    ]
    assert seen[0]["headers"]["authorization"] == f"Bearer {API_KEY}"


@pytest.mark.parametrize(
    ("key", "shown"),
    [
        ("sk_test_7c1e5a9f3b2d4e60", "sk_test_***"),
        ("sk_live_affluent_a1b2c3", "sk_live_***"),
        ("sk_test_", "sk_test_***"),
        ("opaque-token-without-prefix", "***"),
        ("abc_0123456789_xyz", "***"),
    ],
)
def test_key_mask_keeps_only_the_kind(key: str, shown: str) -> None:
    assert mask_key(key) == shown
