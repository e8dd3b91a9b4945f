"""The Admin API client against the platform fake, over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from affluent.errors import AdapterError
from affluent.models import PlatformUpdate
from affluent.serving import serve_in_thread
from affluent_shopify_like.admin_client import AdminAPIError, AdminClient, merge_tags
from affluent_shopify_like.config import load as load_config
from affluent_shopify_like.testing import ShopifyFake

ORDER = "450789469"


@pytest.fixture
def fake(load: Any) -> ShopifyFake:
    fake = ShopifyFake()
    order = load("order.json")
    order["order"]["tags"] = "vip, dr-state:pending_payment"
    fake.store.add(order)
    return fake


@pytest.fixture
def url(fake: ShopifyFake) -> Iterator[str]:
    with serve_in_thread(fake.app) as base:
        yield base


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def client(fake: ShopifyFake, url: str, sleep: Sleeps | None = None, **values: Any) -> AdminClient:
    config = load_config({**fake.client_config(url), **values})
    return AdminClient(config, sleep=sleep or Sleeps())


def status(body: dict[str, Any]) -> PlatformUpdate:
    return PlatformUpdate(order_ref=ORDER, kind="status", body=body)


async def test_push_writes_status_and_merges_tags(fake: ShopifyFake, url: str) -> None:
    update = status(
        {
            "order": {
                "id": ORDER,
                "financial_status": "authorized",
                "fulfillment_status": None,
                "metafields": [
                    {
                        "namespace": "digital_river",
                        "key": "state",
                        "value": "accepted",
                        "type": "single_line_text_field",
                    },
                ],
            },
            "tags": {"dr-state:": "dr-state:accepted", "dr-order:": "dr-order:240000000001"},
        }
    )
    async with client(fake, url) as admin:
        await admin.push(update)

    assert fake.platform_status(ORDER) == "authorized/unfulfilled"
    assert fake.tags(ORDER) == ["vip", "dr-state:accepted", "dr-order:240000000001"]
    assert fake.metafields(ORDER) == {"state": "accepted"}
    (write,) = fake.writes
    assert write.method == "PUT"
    assert write.path == f"/admin/api/2024-07/orders/{ORDER}.json"
    assert write.body["order"]["tags"] == "vip, dr-state:accepted, dr-order:240000000001"


async def test_push_cancels_with_the_reason_once(fake: ShopifyFake, url: str) -> None:
    update = status(
        {"order": {"id": ORDER, "financial_status": "voided"}, "cancel": {"reason": "fraud"}}
    )
    async with client(fake, url) as admin:
        await admin.push(update)
        await admin.push(update)  # a retried push: the store says "already cancelled"

    assert fake.platform_status(ORDER) == "voided/unfulfilled/cancelled:fraud"
    assert [w.path for w in fake.writes] == [
        f"/admin/api/2024-07/orders/{ORDER}.json",
        f"/admin/api/2024-07/orders/{ORDER}/cancel.json",
        f"/admin/api/2024-07/orders/{ORDER}.json",
    ]
    assert fake.writes[1].body == {"reason": "fraud"}


async def test_a_wrong_token_is_refused(fake: ShopifyFake, url: str) -> None:
    async with client(fake, url, access_token="shpat_wrong") as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(status({"order": {"id": ORDER, "financial_status": "paid"}}))
    assert caught.value.status == 401
    assert "Invalid API key" in caught.value.detail
    assert fake.writes == []
    assert fake.platform_status(ORDER) == "authorized/unfulfilled"  # the fixture's own value


async def test_throttled_calls_wait_for_retry_after(fake: ShopifyFake, url: str) -> None:
    fake.admin.throttle(2, retry_after="0.25")
    sleeps = Sleeps()
    async with client(fake, url, sleep=sleeps) as admin:
        await admin.push(status({"order": {"id": ORDER, "financial_status": "paid"}}))
    assert sleeps.calls == [0.25, 0.25]
    assert fake.platform_status(ORDER) == "paid/unfulfilled"
    assert fake.admin.calls == 3


async def test_throttling_beyond_the_retry_budget_raises(fake: ShopifyFake, url: str) -> None:
    fake.admin.throttle(5, retry_after="0.01")
    async with client(fake, url, max_retries=2) as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(status({"order": {"id": ORDER, "financial_status": "paid"}}))
    assert caught.value.status == 429
    assert fake.writes == []


async def test_a_retry_after_longer_than_allowed_is_not_waited_for(
    fake: ShopifyFake, url: str
) -> None:
    fake.admin.throttle(1, retry_after="120")
    sleeps = Sleeps()
    async with client(fake, url, sleep=sleeps) as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(status({"order": {"id": ORDER, "financial_status": "paid"}}))
    assert caught.value.status == 429
    assert sleeps.calls == []


async def test_a_nearly_full_call_bucket_slows_the_next_call(fake: ShopifyFake, url: str) -> None:
    fake.admin.bucket_used = 40
    sleeps = Sleeps()
    async with client(fake, url, sleep=sleeps) as admin:
        await admin.push(status({"order": {"id": ORDER}, "tags": {"dr-state:": "dr-state:x"}}))
    assert sleeps.calls == [1.0]  # GET left 0 of 40; the PUT waited (2 - 0) / 2 per second


async def test_lines_that_are_not_in_the_order_are_refused_and_change_nothing(
    fake: ShopifyFake, url: str
) -> None:
    before = fake.order(ORDER)
    update = PlatformUpdate(
        order_ref=ORDER,
        kind="checkout",
        body={
            "order": {
                "id": ORDER,
                "total_tax": "1.00",
                "line_items": [{"id": "1", "tax_lines": []}],
            }
        },
    )
    async with client(fake, url) as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(update)
    assert caught.value.status == 422
    assert "line 1 is not in this order" in caught.value.detail
    assert fake.order(ORDER) == before


async def test_an_unknown_order_is_a_404(fake: ShopifyFake, url: str) -> None:
    async with client(fake, url) as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(
                PlatformUpdate(order_ref="1", kind="status", body={"order": {"id": "1"}})
            )
    assert caught.value.status == 404


async def test_another_api_version_is_a_404(fake: ShopifyFake, url: str) -> None:
    async with client(fake, url, api_version="2023-01") as admin:
        with pytest.raises(AdminAPIError) as caught:
            await admin.push(status({"order": {"id": ORDER}}))
    assert caught.value.status == 404


def test_a_client_needs_a_url_and_a_token() -> None:
    with pytest.raises(AdapterError, match="admin_url"):
        AdminClient(load_config({"access_token": "x"}))
    with pytest.raises(AdapterError, match="access_token"):
        AdminClient(load_config({"admin_url": "http://127.0.0.1:1"}))


def test_merge_tags_keeps_the_merchants_tags() -> None:
    merged = merge_tags(
        "wholesale, dr-state:accepted,dr-order:1, gift",
        {"dr-state:": "dr-state:fulfilled", "dr-order:": None, "dr-entity:": "dr-entity:E"},
    )
    assert merged == "wholesale, gift, dr-state:fulfilled, dr-entity:E"


def test_config_typos_are_refused() -> None:
    with pytest.raises(AdapterError, match="admin_ulr"):
        load_config({"admin_ulr": "http://x"})
    with pytest.raises(AdapterError, match="sku_source"):
        load_config({"sku_source": "barcode"})
