"""Error mapping: status -> class, envelope fields, order-specific errors, messages, secrecy."""

from __future__ import annotations

import httpx
import pytest
from dr_support import API_KEY, Clients, Script, error_body, fixture, resolve, respond

from affluent.dr import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DigitalRiverError,
    ErrorDetail,
    InternalServerError,
    NotFoundError,
    OrderDeclinedError,
    PermissionDeniedError,
    RateLimitError,
)
from affluent.dr.errors import DEFAULT_DECLINE_MESSAGE


@pytest.mark.parametrize(
    ("status", "type_", "cls"),
    [
        (400, "bad_request", BadRequestError),
        (401, "unauthorized", AuthenticationError),
        (403, "forbidden", PermissionDeniedError),
        (404, "not_found", NotFoundError),
        (405, "method_not_allowed", APIStatusError),
        (409, "conflict", ConflictError),
        (422, "unprocessable", APIStatusError),
        (429, "too_many_requests", RateLimitError),
        (500, "internal_error", InternalServerError),
        (503, "unavailable", InternalServerError),
    ],
)
async def test_status_maps_to_exception_with_envelope(
    clients: Clients, status: int, type_: str, cls: type[APIStatusError]
) -> None:
    body = error_body(type_, "some_code", "Something is off.", parameter="shipTo.address.city")
    script = Script(respond(status, body))
    dr = clients(script, max_retries=0)
    with pytest.raises(APIStatusError) as excinfo:
        await resolve(dr.checkouts.update("k1", {"email": "a@b.c"}, upstream_id="up-42"))
    err = excinfo.value
    assert type(err) is cls
    assert err.status_code == status
    assert err.type == type_
    assert err.errors == [
        ErrorDetail(code="some_code", parameter="shipTo.address.city", message="Something is off.")
    ]
    assert (err.code, err.parameter, err.message) == (
        "some_code",
        "shipTo.address.city",
        "Something is off.",
    )
    assert (err.method, err.path, err.upstream_id) == ("POST", "/checkouts/k1", "up-42")
    assert err.body == body
    assert err.response is not None
    assert err.response.status_code == status
    assert not isinstance(err, OrderDeclinedError)


async def test_str_names_call_status_code_parameter_message_and_upstream_id(
    clients: Clients,
) -> None:
    body = error_body("bad_request", "missing_parameter", "Required.", "billTo.address.country")
    script = Script(respond(400, body))
    dr = clients(script)
    with pytest.raises(BadRequestError) as excinfo:
        await resolve(dr.orders.create("k1", upstream_id="up-7"))
    assert str(excinfo.value) == (
        "POST /orders -> 400 bad_request: code=missing_parameter "
        "parameter=billTo.address.country: Required. (upstream-id up-7)"
    )


async def test_several_errors_are_all_kept(clients: Clients) -> None:
    body = {
        "type": "bad_request",
        "errors": [
            {"code": "invalid_parameter", "parameter": "items[0].quantity", "message": "Bad qty."},
            {"code": "missing_parameter", "parameter": "currency", "message": "Missing."},
        ],
    }
    dr = clients(Script(respond(400, body)))
    with pytest.raises(BadRequestError) as excinfo:
        await resolve(dr.checkouts.update("k1", {}))
    assert [e.parameter for e in excinfo.value.errors] == ["items[0].quantity", "currency"]
    assert "Bad qty." in str(excinfo.value)
    assert "Missing." in str(excinfo.value)


async def test_409_on_create_order_is_order_declined(clients: Clients) -> None:
    script = Script(respond(409, fixture("order_409.json")))
    dr = clients(script)
    with pytest.raises(OrderDeclinedError) as excinfo:
        await resolve(dr.orders.create("k1"))
    err = excinfo.value
    assert isinstance(err, ConflictError)
    assert err.code == "failed-request"
    assert err.message == "Failed to charge source."
    assert "failed-request" not in err.message
    assert err.ambiguous is False
    assert script.count == 1  # a decline is an answer, never retried


@pytest.mark.parametrize("body", [{"type": "conflict", "errors": []}, {}, None])
async def test_order_declined_message_falls_back_to_generic_text(
    clients: Clients, body: object
) -> None:
    dr = clients(Script(respond(409, body)))
    with pytest.raises(OrderDeclinedError) as excinfo:
        await resolve(dr.orders.create("k1"))
    assert excinfo.value.message == DEFAULT_DECLINE_MESSAGE


async def test_409_elsewhere_is_plain_conflict(clients: Clients) -> None:
    body = error_body("conflict", "order_fulfilled", "Already fulfilled.", "orderId")
    dr = clients(Script(respond(409, body)))
    with pytest.raises(ConflictError) as excinfo:
        await resolve(
            dr.fulfillments.create({"orderId": "o1", "items": [{"itemId": "i", "quantity": 1}]})
        )
    assert not isinstance(excinfo.value, OrderDeclinedError)
    assert excinfo.value.parameter == "orderId"


async def test_404_on_create_order_is_a_consumed_checkout(clients: Clients) -> None:
    body = error_body("not_found", "not_found", "Order 3f0c9a1e not found", "orderId")
    dr = clients(Script(respond(404, body), respond(404, body)))
    with pytest.raises(NotFoundError) as excinfo:
        await resolve(dr.orders.create("3f0c9a1e"))
    assert excinfo.value.is_consumed_checkout is True
    with pytest.raises(NotFoundError) as excinfo:
        await resolve(dr.orders.get("3f0c9a1e"))
    assert excinfo.value.is_consumed_checkout is False


async def test_non_json_error_body_is_kept_as_text(clients: Clients) -> None:
    html = "<html><body>502 Bad Gateway</body></html>"
    dr = clients(Script(httpx.Response(502, text=html)), max_retries=0)
    with pytest.raises(InternalServerError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert excinfo.value.body == html
    assert excinfo.value.type is None
    assert excinfo.value.message == html
    assert "502 Bad Gateway" in str(excinfo.value)


async def test_malformed_envelope_does_not_break_error_mapping(clients: Clients) -> None:
    dr = clients(Script(respond(400, {"type": 7, "errors": "nope"})))
    with pytest.raises(BadRequestError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert excinfo.value.errors == []
    assert excinfo.value.body == {"type": 7, "errors": "nope"}


async def test_api_key_never_appears_in_errors(clients: Clients) -> None:
    """Even when a misbehaving proxy echoes the Authorization header back."""
    echo = {
        "type": "unauthorized",
        "errors": [{"code": "unauthorized", "message": f"bad key Bearer {API_KEY}"}],
        "debug": {"headers": [f"Authorization: Bearer {API_KEY}"]},
    }
    script = Script(respond(401, echo), httpx.ConnectError, httpx.ReadTimeout)
    dr = clients(script, max_retries=0)
    errors: list[DigitalRiverError] = []
    for _ in range(3):
        with pytest.raises(DigitalRiverError) as excinfo:
            await resolve(dr.orders.get("o1"))
        errors.append(excinfo.value)
    assert [type(e) for e in errors] == [AuthenticationError, APIConnectionError, APITimeoutError]
    for err in errors:
        text = " ".join([str(err), repr(err), repr(vars(err).get("body")), repr(err.args)])
        for detail in getattr(err, "errors", []):
            text += repr(detail)
        assert API_KEY not in text
    assert "***" in errors[0].message  # type: ignore[attr-defined]


async def test_success_with_unexpected_body_raises_typed_error(clients: Clients) -> None:
    script = Script(respond(201, {"state": "accepted"}), respond(200, ["not", "an", "order"]))
    dr = clients(script)
    with pytest.raises(APIResponseValidationError) as excinfo:
        await resolve(dr.orders.create("k1", upstream_id="up-9"))
    err = excinfo.value
    assert err.ambiguous is True  # the order was most likely created
    assert err.upstream_id == "up-9"
    assert err.status_code == 201
    assert "id" in str(err)
    with pytest.raises(APIResponseValidationError) as excinfo:
        await resolve(dr.orders.get("o1"))
    assert excinfo.value.ambiguous is False


async def test_connection_error_str_says_what_and_whether_it_may_have_landed(
    clients: Clients,
) -> None:
    dr = clients(Script(httpx.ReadTimeout), max_retries=0)
    with pytest.raises(APITimeoutError) as excinfo:
        await resolve(dr.orders.create("k1", upstream_id="up-3"))
    text = str(excinfo.value)
    assert text.startswith("POST /orders failed: timed out (ReadTimeout)")
    assert "may have reached Digital River" in text
    assert "upstream-id up-3" in text
    assert isinstance(excinfo.value.__cause__, httpx.ReadTimeout)
