"""The platform fake (either shape) and the adapter as the core loads it, by entry point."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from affluent.models import Capabilities, DemoCart
from affluent.platform import PlatformClient, PlatformFake
from affluent.plugins import Adapters
from affluent_generic_rest.examples import EXAMPLES
from affluent_generic_rest.plugin import FAKE_ENV, GenericRestAdapter
from affluent_generic_rest.push import RestPlatformClient
from affluent_generic_rest.testing import GenericRestFake, example_fakes

CART = DemoCart(
    order_ref="o-1", email="ada@example.com", lines=[("L1", "sku-1", 1, Decimal("10.00"))]
)


def test_the_fakes_are_platform_fakes() -> None:
    fakes = example_fakes()
    assert sorted(fakes) == sorted(EXAMPLES)
    for fake in fakes.values():
        assert isinstance(fake, PlatformFake)
    assert fakes["nested_shop"].name == "Nested Shop"
    assert fakes["flat_shop"].name == "Flat Shop"


async def test_the_fake_serves_orders_and_checks_writes(fake: GenericRestFake) -> None:
    config = fake.client_config("http://testserver")
    base = config["base_url"]
    auth = fake.shape.mapping.push.auth
    assert auth is not None
    good = {auth.header: auth.format.replace("{value}", fake.token)}
    payload = fake.checkout_payload(CART)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fake.app)) as client:
        order_path = "/orders/o-1.json" if fake.key == "nested_shop" else "/orders/o-1"
        assert (await client.get(f"{base}{order_path}", headers=good)).json() == payload
        assert (await client.get(f"{base}{order_path}")).status_code == 401
        assert (await client.get(f"{base}/orders/none", headers=good)).status_code == 404
        assert (await client.post(f"{base}/nowhere", json={}, headers=good)).status_code == 404
        bad_shape = await client.request(
            "PUT" if fake.key == "nested_shop" else "POST",
            f"{base}/orders/o-1.json" if fake.key == "nested_shop" else f"{base}/order-status",
            json={"status": "paid"},
            headers=good,
        )
        assert bad_shape.status_code == 422
    assert fake.writes == []
    assert [status for status, _ in fake.rejected] == [401, 404, 422]
    assert fake.platform_status("o-1") == ""


def test_the_entry_point_loads_the_adapter() -> None:
    adapters = Adapters.load(["generic_rest"])
    info = adapters.info("generic_rest")
    assert info.distribution == "affluent-generic-rest"
    assert isinstance(info.plugin, GenericRestAdapter)
    expected = {
        "affluent_capabilities", "affluent_platform_client", "affluent_platform_fake",
        "affluent_parse_webhook", "affluent_map_shopper", "affluent_map_cart",
        "affluent_map_payment", "affluent_map_line_changes", "affluent_map_status",
        "affluent_map_checkout", "affluent_example_platforms", "affluent_check_config",
    }  # fmt: skip
    assert set(info.hooks) == expected


def test_hooks_through_the_core_facade(fake: GenericRestFake) -> None:
    hooks = Adapters.from_plugins({"generic_rest": GenericRestAdapter()}).hooks(
        "generic_rest", fake.client_config("http://127.0.0.1:1")
    )
    assert hooks.capabilities() == Capabilities(platform_webhooks=True)
    client = hooks.platform_client()
    assert isinstance(client, PlatformClient) and isinstance(client, RestPlatformClient)
    assert hooks.map_cart(fake.checkout_payload(CART)).order_ref == "o-1"


def test_an_unconfigured_adapter_does_not_fail_at_load() -> None:
    assert GenericRestAdapter().affluent_capabilities(config={}) is None


def test_which_example_the_fake_hook_returns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FAKE_ENV, raising=False)
    assert GenericRestAdapter().affluent_platform_fake().key == "nested_shop"
    monkeypatch.setenv(FAKE_ENV, "flat_shop")
    assert GenericRestAdapter().affluent_platform_fake().key == "flat_shop"
    assert GenericRestAdapter(example="nested_shop").affluent_platform_fake().key == "nested_shop"
