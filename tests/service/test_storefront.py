"""The storefront API over uvicorn: authentication, OpenAPI, the checkout-to-submit steps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import Service
from service_support import PLATFORM, STOREFRONT_KEY, base_settings, cart

from affluent.service import Leases, create_app, order_key
from affluent.serving import serve_in_thread
from affluent.settings import Settings
from affluent.testing.sources import browser_source

AUTH = {"X-API-Key": STOREFRONT_KEY}


async def call(service: Service, method: str, path: str, **kwargs: Any) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.url, timeout=30) as client:
        return await client.request(method, path, **kwargs)


async def test_checkout_payment_submit_and_status(service: Service) -> None:
    checkout = await call(
        service, "POST", f"/v1/{PLATFORM}/checkouts", json=cart("api-1"), headers=AUTH
    )
    assert checkout.status_code == 200, checkout.text
    summary = checkout.json()
    assert summary["order_ref"] == "api-1" and float(summary["total_tax"]) > 0
    src = await browser_source(service.runtime.dr, summary["checkout_id"])
    bearer = {"Authorization": f"Bearer {STOREFRONT_KEY}"}
    paid = await call(
        service,
        "POST",
        f"/v1/{PLATFORM}/orders/api-1/payment",
        json={"ref": "api-1", "source": src},
        headers=bearer,
    )
    assert paid.status_code == 200 and paid.json()["final"] is True
    submitted = await call(service, "POST", f"/v1/{PLATFORM}/orders/api-1/submit", headers=AUTH)
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "ready_to_fulfill" and submitted.json()["dr_order_id"]
    again = await call(service, "POST", f"/v1/{PLATFORM}/orders/api-1/submit", headers=AUTH)
    assert again.json()["dr_order_id"] == submitted.json()["dr_order_id"]  # once, however often
    status = await call(service, "GET", f"/v1/{PLATFORM}/orders/api-1", headers=AUTH)
    assert status.status_code == 200
    assert status.json()["status"] == "ready_to_fulfill" and len(status.json()["lines"]) == 2


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({}, 401),
        ({"X-API-Key": "wrong-key-123456"}, 401),
        ({"Authorization": "Bearer nope-nope-nope"}, 401),
    ],
)
async def test_the_api_key_is_required(
    service: Service, headers: dict[str, str], status: int
) -> None:
    response = await call(service, "GET", f"/v1/{PLATFORM}/orders/x", headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["type"] == "unauthorized"


async def test_errors_name_the_problem(service: Service) -> None:
    unknown = await call(service, "GET", f"/v1/{PLATFORM}/orders/nope", headers=AUTH)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "unknown_order"
    bad = cart("api-2") | {"currency": "XXX"}
    invalid = await call(service, "POST", f"/v1/{PLATFORM}/checkouts", json=bad, headers=AUTH)
    assert invalid.status_code == 422
    assert invalid.json()["error"]["field"].endswith("currency")
    early = await call(service, "POST", f"/v1/{PLATFORM}/orders/nope/submit", headers=AUTH)
    assert early.status_code == 404
    mismatch = await call(
        service,
        "POST",
        f"/v1/{PLATFORM}/orders/a/payment",
        json={"ref": "b", "source": "s"},
        headers=AUTH,
    )
    assert mismatch.status_code == 422 and mismatch.json()["error"]["field"] == "order_ref"
    other = await call(service, "GET", "/v1/shopify_like/orders/x", headers=AUTH)
    assert other.status_code == 401  # the key is the dict platform's


async def test_an_order_busy_elsewhere_answers_409_after_waiting(service: Service) -> None:
    service.settings.order_lock_wait = 0.2
    leases = Leases(service.store)
    assert leases.acquire(order_key(PLATFORM, "busy-1"), "another-host", 30)
    response = await call(service, "POST", f"/v1/{PLATFORM}/orders/busy-1/submit", headers=AUTH)
    assert response.status_code == 409 and response.json()["error"]["type"] == "busy"
    assert response.headers["retry-after"] == "1"


async def test_openapi_describes_the_api(service: Service) -> None:
    spec = (await call(service, "GET", "/openapi.json")).json()
    paths = spec["paths"]
    assert {"/webhooks/digital-river", "/webhooks/{platform}", "/healthz", "/readyz"} <= set(paths)
    assert "post" in paths["/v1/{platform}/checkouts"]
    assert "get" in paths["/v1/{platform}/orders/{order_ref}"]
    schemes = spec["components"]["securitySchemes"]
    assert {"APIKeyHeader", "HTTPBearer"} <= set(schemes)
    assert "CheckoutSummary" in spec["components"]["schemas"]


async def test_storefront_bodies_are_limited_too(service: Service) -> None:
    huge = b"{" + b" " * (service.settings.webhook_max_bytes + 10) + b"}"
    response = await call(
        service,
        "POST",
        f"/v1/{PLATFORM}/checkouts",
        content=huge,
        headers=AUTH | {"content-type": "application/json"},
    )
    assert response.status_code == 413


async def test_without_a_dr_key_the_api_says_which_setting_is_missing(
    tmp_path: Path, sandbox_url: str
) -> None:
    db = f"sqlite:///{tmp_path / 'store.sqlite3'}"
    settings = Settings(**base_settings(db, sandbox_url, dr_api_key=None))
    with serve_in_thread(create_app(settings)) as url:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            answer = await client.post(
                f"/v1/{PLATFORM}/checkouts", json=cart("api-nokey"), headers=AUTH
            )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["type"] == "not_configured"
    assert "AFFLUENT_DR_API_KEY" in answer.json()["error"]["message"]
