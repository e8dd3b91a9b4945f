"""Transport-level behaviour: auth, error envelopes, JSON parsing, rate limit, faults."""

from __future__ import annotations

import base64

import httpx
import pytest
from sandbox_support import VISA, Api, card

from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "sk_test_abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer sk_live_abc"},
        {"Authorization": "Bearer pk_test_abc"},
        {"Authorization": "Bearer sk_test_"},
        {"Authorization": "Token sk_test_abc"},
    ],
)
async def test_unauthorized(api: Api, headers: dict[str, str]) -> None:
    reply = await api.call("GET", "/orders", key=None, headers=headers)
    assert reply.status == 401
    assert reply.body["type"] == "unauthorized"
    assert reply.error()["code"] == "unauthorized"


async def test_public_key_may_only_create_sources(local: Api) -> None:
    checkout = await local.checkout()
    body = {
        "type": "creditCard",
        "paymentSessionId": checkout["payment"]["session"]["id"],
        "creditCard": card(VISA),
    }
    created = await local.call("POST", "/sources", body, key="pk_test_browser")
    assert created.status == 201
    denied = await local.call("GET", f"/sources/{created.body['id']}", key="pk_test_browser")
    assert denied.status == 401


async def test_legacy_basic_auth_is_accepted(local: Api) -> None:
    token = base64.b64encode(b"sk_test_legacy:").decode()
    reply = await local.call(
        "GET", "/orders", key=None, headers={"Authorization": f"Basic {token}"}
    )
    assert reply.status == 200


async def test_unknown_paths_and_methods_use_the_envelope(local: Api) -> None:
    missing = await local.call("GET", "/invoices")
    assert (missing.status, missing.body["type"], missing.error()["code"]) == (
        404,
        "not_found",
        "not_found",
    )
    wrong = await local.call("PUT", "/orders")
    assert (wrong.status, wrong.body["type"]) == (405, "method_not_allowed")
    for path, parameter in [
        ("/orders/1", "orderId"),
        ("/checkouts/1", "checkoutId"),
        ("/customers/1", "customerId"),
        ("/sources/1", "sourceId"),
        ("/charges/1", "chargeId"),
        ("/refunds/1", "refundId"),
        ("/returns/1", "returnId"),
        ("/skus/1", "skuId"),
    ]:
        await local.fails("GET", path, None, 404, "not_found", parameter)


async def test_malformed_json_and_wrong_shapes(local: Api) -> None:
    headers = {"Authorization": "Bearer sk_test_x", "Content-Type": "application/json"}
    for raw in (b"{", b'{"currency": NaN}', b"\xff"):
        response = await local.client.post("/checkouts", content=raw, headers=headers)
        assert response.status_code == 400
        assert response.json()["type"] == "bad_request"
        assert response.json()["errors"][0]["code"] == "invalid_json"
    listed = await local.client.post("/checkouts", json=[1, 2], headers=headers)
    assert listed.status_code == 400
    assert listed.json()["errors"][0]["code"] == "invalid_parameter"
    text = await local.client.post(
        "/customers",
        content=b'{"id": "plain-text-body"}',
        headers={**headers, "Content-Type": "text/plain"},
    )
    assert text.status_code == 201  # DR's docs send JSON as text/plain too


async def test_version_header_is_echoed(local: Api) -> None:
    reply = await local.call("GET", "/orders", headers={"digitalriver-version": "2021-12-13"})
    assert reply.headers["digitalriver-version"] == "2021-12-13"


async def test_rate_limit_per_key() -> None:
    app = create_app(SandboxConfig(rate_limit=3, resolve_delay=None))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://s") as c:
        statuses = [
            (await c.get("/orders", headers={"Authorization": "Bearer sk_test_a"})).status_code
            for _ in range(4)
        ]
        assert statuses == [200, 200, 200, 429]
        limited = await c.get("/orders", headers={"Authorization": "Bearer sk_test_a"})
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["type"] == "too_many_requests"
        other = await c.get("/orders", headers={"Authorization": "Bearer sk_test_b"})
        assert other.status_code == 200
        control = [(await c.get("/_sandbox")).status_code for _ in range(5)]
        assert control == [200] * 5


async def test_fault_rules_through_control_endpoints(local: Api) -> None:
    rule = await local.ok(
        "POST",
        "/_sandbox/faults",
        {"method": "POST", "path": "/orders", "kind": "status", "status": 503, "times": 1},
        201,
    )
    assert (rule["status"], rule["times"], rule["retryAfter"]) == (503, 1, None)
    assert len((await local.ok("GET", "/_sandbox/faults"))["data"]) == 1
    checkout = await local.funded()
    failed = await local.call("POST", "/orders", {"checkoutId": checkout["id"]})
    assert failed.status == 503
    placed = await local.call("POST", "/orders", {"checkoutId": checkout["id"]})
    assert placed.status == 201  # the injected 503 happened before the sandbox: no order yet

    await local.ok(
        "POST",
        "/_sandbox/faults",
        {"path": "/orders", "kind": "status", "status": 500, "times": None},
        201,
    )
    assert (await local.call("GET", "/orders")).status == 500
    assert (await local.call("DELETE", "/_sandbox/faults")).status == 204
    assert (await local.call("GET", "/orders")).status == 200
    await local.fails(
        "POST",
        "/_sandbox/faults",
        {"path": "/orders", "kind": "explode"},
        400,
        "invalid_parameter",
        "kind",
    )
    await local.fails(
        "POST",
        "/_sandbox/faults",
        {"path": "orders", "kind": "status"},
        400,
        "invalid_parameter",
        "body",
    )


async def test_drop_after_commit_really_commits() -> None:
    app = create_app(SandboxConfig(rate_limit=None, resolve_delay=None))
    transport = InProcessTransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
        api = Api(client, app.state.sandbox)
        checkout = await api.funded()
        await api.ok(
            "POST",
            "/_sandbox/faults",
            {"method": "POST", "path": "/orders", "kind": "drop_after_commit"},
            201,
        )
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post(
                "/orders",
                json={"checkoutId": checkout["id"]},
                headers={"Authorization": "Bearer sk_test_x"},
            )
        found = await api.ok("GET", "/orders", params={"checkoutId": checkout["id"]})
        assert len(found["data"]) == 1  # the recipe of §8: look before you retry
        await api.fails(
            "POST", "/orders", {"checkoutId": checkout["id"]}, 404, "not_found", "orderId"
        )
