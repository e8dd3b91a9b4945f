"""The conformance suite every adapter runs.

Subclass :class:`AdapterConformance` in the adapter's tests, set ``adapter_name``, and provide an
``adapter`` fixture if the adapter should not be loaded by entry point; run pytest with
``-p affluent.testing``. Each test names the adapter, the hook and the field when it fails.
Capabilities the adapter declares (:class:`~affluent.models.Capabilities`) switch tests on; a
test whose capability is missing is skipped with that reason, never passed silently.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from affluent.demo import SCENARIOS, DemoEnv, Scenario, demo_env, run_scenario
from affluent.errors import InvalidInput, SignatureError
from affluent.lifecycle import OrderStatus
from affluent.models import (
    Capabilities,
    CheckoutSummary,
    DemoCart,
    LineTax,
    LineView,
    OrderView,
    PlatformEventKind,
    SellingEntity,
    ShopperKind,
)
from affluent.platform import PlatformFake
from affluent.plugins import AdapterHooks, Adapters
from affluent.store import Store

CART = DemoCart(
    order_ref="conf-1001",
    email="ada@example.com",
    lines=[
        ("L1", "sku-widget-blue", 3, Decimal("15.00")),
        ("L2", "sku-widget-blue", 1, Decimal("9.99")),  # the same SKU on two lines
        ("L3", "sku-gadget", 2, Decimal("0.50")),
    ],
)
NEEDS: dict[str, str] = {
    "registered, saved card": "saved_sources",
    "partial shipment, cancel the rest": "partial_cancellation",
}


def _require(capabilities: Capabilities, name: str, adapter: str) -> None:
    if not getattr(capabilities, name):
        pytest.skip(f"adapter {adapter!r} declares {name}=False")


def _view(status: OrderStatus) -> OrderView:
    return OrderView(
        platform="conformance",
        order_ref=CART.order_ref,
        status=status.value,
        dr_state=None,
        dr_order_id="240011220336",
        dr_checkout_id="chk-1",
        dr_customer_id=None,
        currency="USD",
        total_amount=Decimal("57.24"),
        selling_entity=SellingEntity(id="C5_INC-ENTITY", name="DR globalTech Inc."),
        shopper_message="We could not complete your payment."
        if status is OrderStatus.payment_failed
        else None,
        lines=[
            LineView(
                line_ref=ref,
                dr_item_id=f"9{index}",
                sku_id=sku,
                ordered=qty,
                fulfilled=0,
                cancelled=0,
                returned=0,
            )
            for index, (ref, sku, qty, _price) in enumerate(CART.lines)
        ],
    )


class AdapterConformance:
    """Translation properties and full-flow scenarios, for one adapter."""

    adapter_name: str = ""
    """The adapter's entry-point name."""

    # -- fixtures an adapter may override ---------------------------------------------------------

    @pytest.fixture
    def adapters(self, adapter: object) -> Adapters:
        return Adapters.from_plugins({self.adapter_name: adapter})

    @pytest.fixture
    def adapter(self) -> object:
        """The adapter object; by default loaded through its entry point."""
        return Adapters.load([self.adapter_name]).info(self.adapter_name).plugin

    @pytest.fixture
    def platform_fake(self, adapters: Adapters) -> PlatformFake:
        fake = adapters.hooks(self.adapter_name).platform_fake()
        if fake is None:
            pytest.skip(f"adapter {self.adapter_name!r} ships no platform fake")
        return fake

    @pytest.fixture
    def adapter_config(self, platform_fake: PlatformFake) -> Mapping[str, Any]:
        return platform_fake.client_config("http://127.0.0.1:9")  # never contacted

    @pytest.fixture
    def hooks(self, adapters: Adapters, adapter_config: Mapping[str, Any]) -> AdapterHooks:
        return adapters.hooks(self.adapter_name, adapter_config)

    @pytest.fixture
    def capabilities(self, hooks: AdapterHooks) -> Capabilities:
        return hooks.capabilities()

    def _say(self, hook: str, field: str, message: str) -> str:
        return f"adapter {self.adapter_name!r}, {hook}, {field}: {message}"

    # -- translating in -----------------------------------------------------------------------------

    def test_cart_keeps_every_line_quantity_and_price(
        self, hooks: AdapterHooks, platform_fake: PlatformFake
    ) -> None:
        cart = hooks.map_cart(platform_fake.checkout_payload(CART))
        hook = "affluent_map_cart"
        assert cart.order_ref == CART.order_ref, self._say(
            hook, "order_ref", f"{cart.order_ref!r} != {CART.order_ref!r}"
        )
        assert cart.currency == CART.currency, self._say(
            hook, "currency", f"{cart.currency!r} != {CART.currency!r}"
        )
        got = {line.line_ref: line for line in cart.lines}
        for ref, _sku, quantity, price in CART.lines:
            assert ref in got, self._say(
                hook, f"lines[{ref}]", f"line dropped; got lines {sorted(got)}"
            )
            line = got[ref]
            assert line.quantity == quantity, self._say(
                hook, f"lines[{ref}].quantity", f"{line.quantity} != {quantity}"
            )
            net = line.unit_price - line.discount_per_unit
            assert net == price, self._say(hook, f"lines[{ref}].unit_price", f"{net} != {price}")
        assert len(cart.lines) == len(CART.lines), self._say(
            hook, "lines", f"{len(cart.lines)} lines, expected {len(CART.lines)}"
        )

    def test_guest_shopper(self, hooks: AdapterHooks, platform_fake: PlatformFake) -> None:
        shopper = hooks.map_shopper(platform_fake.checkout_payload(CART))
        assert shopper.kind is ShopperKind.guest, self._say(
            "affluent_map_shopper", "kind", f"{shopper.kind} for a cart without customer"
        )

    def test_registered_shopper(
        self, hooks: AdapterHooks, platform_fake: PlatformFake, capabilities: Capabilities
    ) -> None:
        _require(capabilities, "registered_shoppers", self.adapter_name)
        first = hooks.map_shopper(
            platform_fake.checkout_payload(CART.model_copy(update={"customer_id": "cust-77"}))
        )
        second = hooks.map_shopper(
            platform_fake.checkout_payload(CART.model_copy(update={"customer_id": "cust-78"}))
        )
        hook = "affluent_map_shopper"
        assert first.kind is ShopperKind.registered, self._say(
            hook, "kind", f"{first.kind} for a cart with a customer"
        )
        assert first.customer_id, self._say(hook, "customer_id", "missing")
        assert second.customer_id, self._say(hook, "customer_id", "missing")
        assert first.customer_id != second.customer_id, self._say(
            hook, "customer_id", "two platform customers map to one DR customer"
        )

    @pytest.mark.parametrize("save", [False, True])
    def test_payment_hand_off(
        self,
        hooks: AdapterHooks,
        platform_fake: PlatformFake,
        capabilities: Capabilities,
        save: bool,
    ) -> None:
        if save:
            _require(capabilities, "saved_sources", self.adapter_name)
        handoff = hooks.map_payment(platform_fake.payment_payload(CART.order_ref, "src-123", save))
        hook = "affluent_map_payment"
        assert handoff.source_id == "src-123", self._say(
            hook, "source_id", f"{handoff.source_id!r}"
        )
        assert handoff.save is save, self._say(hook, "save", f"{handoff.save} != {save}")
        assert handoff.order_ref == CART.order_ref, self._say(
            hook, "order_ref", f"{handoff.order_ref!r}"
        )

    @pytest.mark.parametrize(
        "changes",
        [
            [("L1", 2, 0)],
            [("L1", 0, 3)],
            [("L1", 1, 0), ("L3", 2, 0)],
            [("L1", 1, 2), ("L2", 0, 1)],
        ],
        ids=["ship", "cancel", "ship-two-lines", "ship-and-cancel"],
    )
    def test_line_changes_keep_lines_and_quantities(
        self,
        hooks: AdapterHooks,
        platform_fake: PlatformFake,
        capabilities: Capabilities,
        changes: list[tuple[str, int, int]],
    ) -> None:
        if any(cancelled for _, _, cancelled in changes):
            _require(capabilities, "partial_cancellation", self.adapter_name)
        platform_fake.checkout_payload(CART)
        tracking = (
            {"company": "UPS", "number": "1Z999"}
            if any(shipped for _, shipped, _ in changes)
            else None
        )
        result = hooks.map_line_changes(
            platform_fake.line_payload(CART.order_ref, "chg-1", changes, tracking)
        )
        hook = "affluent_map_line_changes"
        assert result is not None, self._say(hook, "result", "None for a line-item event")
        assert result.order_ref == CART.order_ref, self._say(
            hook, "order_ref", f"{result.order_ref!r}"
        )
        got = {change.line_ref: (change.shipped, change.cancelled) for change in result.changes}
        want = {ref: (shipped, cancelled) for ref, shipped, cancelled in changes}
        for ref, (shipped, cancelled) in want.items():
            assert ref in got, self._say(
                hook, f"changes[{ref}]", f"line missing; got {sorted(got)}"
            )
            assert got[ref][0] == shipped, self._say(
                hook, f"changes[{ref}].shipped", f"{got[ref][0]} != {shipped}"
            )
            assert got[ref][1] == cancelled, self._say(
                hook, f"changes[{ref}].cancelled", f"{got[ref][1]} != {cancelled}"
            )
        assert set(got) == set(want), self._say(
            hook, "changes", f"unexpected lines {sorted(set(got) - set(want))}"
        )
        if tracking and capabilities.tracking:
            company = result.tracking.company if result.tracking else None
            assert company == "UPS", self._say(hook, "tracking.company", f"{company!r} != 'UPS'")

    def test_same_event_twice_has_the_same_change_ref(
        self, hooks: AdapterHooks, platform_fake: PlatformFake
    ) -> None:
        platform_fake.checkout_payload(CART)
        payload = platform_fake.line_payload(CART.order_ref, "chg-9", [("L1", 1, 0)])
        first, second = (
            hooks.map_line_changes(payload),
            hooks.map_line_changes(json.loads(json.dumps(payload))),
        )
        assert first is not None, self._say("affluent_map_line_changes", "result", "None")
        assert second is not None, self._say("affluent_map_line_changes", "result", "None")
        assert first.change_ref == second.change_ref, self._say(
            "affluent_map_line_changes", "change_ref", "differs for the same event"
        )

    # -- translating out ----------------------------------------------------------------------------

    @pytest.mark.parametrize("status", [s for s in OrderStatus], ids=str)
    def test_every_status_maps_to_a_platform_write(
        self, hooks: AdapterHooks, status: OrderStatus
    ) -> None:
        update = hooks.map_status(_view(status), status)
        hook = "affluent_map_status"
        assert update is not None, self._say(
            hook, "result", f"no platform write for status {status.value!r}"
        )
        assert update.order_ref == CART.order_ref, self._say(
            hook, "order_ref", f"{update.order_ref!r}"
        )
        assert update.kind == "status", self._say(hook, "kind", f"{update.kind!r}")

    def test_final_statuses_are_told_apart(self, hooks: AdapterHooks) -> None:
        bodies = {
            status: hooks.map_status(_view(status), status)
            for status in (
                OrderStatus.ready_to_fulfill,
                OrderStatus.blocked,
                OrderStatus.payment_failed,
                OrderStatus.complete,
            )
        }
        distinct = {
            json.dumps(update.body, sort_keys=True, default=str)
            for update in bodies.values()
            if update
        }
        assert len(distinct) == len(bodies), self._say(
            "affluent_map_status",
            "body",
            "two of ready_to_fulfill/blocked/payment_failed/complete write the same thing",
        )

    def test_checkout_summary_write(self, hooks: AdapterHooks) -> None:
        summary = CheckoutSummary(
            order_ref=CART.order_ref,
            checkout_id="chk-1",
            currency="USD",
            subtotal=Decimal("53.99"),
            total_tax=Decimal("3.25"),
            total_shipping=Decimal("4.00"),
            total_discount=Decimal(0),
            total_amount=Decimal("57.24"),
            selling_entity=SellingEntity(id="C5_INC-ENTITY", name="DR globalTech Inc."),
            lines=[
                LineTax(
                    line_ref=ref,
                    amount=price * qty,
                    tax=Decimal("1.00"),
                    tax_rate=Decimal("0.0775"),
                )
                for ref, _, qty, price in CART.lines
            ],
            final=True,
        )
        update = hooks.map_checkout(summary)
        if update is not None:
            assert update.order_ref == CART.order_ref, self._say(
                "affluent_map_checkout", "order_ref", f"{update.order_ref!r}"
            )
            text = json.dumps(update.body, default=str)
            written = "3.25" in text or "325" in text  # in units or in cents
            assert written, self._say(
                "affluent_map_checkout", "body", "the total tax 3.25 is not written"
            )

    # -- platform webhooks --------------------------------------------------------------------------

    def _signed(
        self, platform_fake: PlatformFake, capabilities: Capabilities
    ) -> tuple[dict[str, str], bytes]:
        _require(capabilities, "platform_webhooks", self.adapter_name)
        sign = getattr(platform_fake, "signed_line_webhook", None)
        assert sign is not None, self._say(
            "affluent_platform_fake", "signed_line_webhook", "missing while platform_webhooks=True"
        )
        platform_fake.checkout_payload(CART)
        headers, body = sign(CART.order_ref, "chg-7", [("L1", 1, 0)])
        return {name.lower(): value for name, value in headers.items()}, body

    def test_signed_webhook_is_parsed(
        self, hooks: AdapterHooks, platform_fake: PlatformFake, capabilities: Capabilities
    ) -> None:
        headers, body = self._signed(platform_fake, capabilities)
        event = hooks.parse_webhook(headers, body)
        assert event.kind is PlatformEventKind.line_changes, self._say(
            "affluent_parse_webhook", "kind", f"{event.kind}"
        )

    @pytest.mark.parametrize("tamper", ["body", "signature", "missing"])
    def test_bad_signatures_are_refused(
        self,
        hooks: AdapterHooks,
        platform_fake: PlatformFake,
        capabilities: Capabilities,
        tamper: str,
    ) -> None:
        headers, body = self._signed(platform_fake, capabilities)
        if tamper == "body":
            body = body.replace(b"1", b"2", 1)
        else:
            signature = next(name for name in headers if "sig" in name or "hmac" in name)
            if tamper == "missing":
                del headers[signature]
            else:
                headers[signature] = "AAAA" + headers[signature][4:]
        with pytest.raises(SignatureError):
            hooks.parse_webhook(headers, body)

    def test_malformed_webhook_body_is_invalid_input(
        self, hooks: AdapterHooks, platform_fake: PlatformFake, capabilities: Capabilities
    ) -> None:
        headers, _ = self._signed(platform_fake, capabilities)
        with pytest.raises((InvalidInput, SignatureError)):
            hooks.parse_webhook(headers, b"{not json")

    # -- the full flow ----------------------------------------------------------------------------

    @pytest.fixture
    async def demo(
        self, adapters: Adapters, tmp_path: Path, affluent_store: Store
    ) -> AsyncIterator[DemoEnv]:
        async with demo_env(adapters, tmp_path, affluent_store) as env:
            if self.adapter_name not in env.fakes:
                pytest.skip(f"adapter {self.adapter_name!r} ships no platform fake")
            yield env

    @pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.name)
    async def test_flow_scenario(
        self, demo: DemoEnv, capabilities: Capabilities, scenario: Scenario
    ) -> None:
        if scenario.registered:
            _require(capabilities, "registered_shoppers", self.adapter_name)
        if scenario.name in NEEDS:
            _require(capabilities, NEEDS[scenario.name], self.adapter_name)
        row = await run_scenario(demo, self.adapter_name, scenario, 1)
        assert row.ok, (
            f"adapter {self.adapter_name!r}, scenario {scenario.name!r}: expected {row.expected}, "
            f"got {row.dr_state} / {row.status} (platform {row.platform_status!r}, "
            f"shipped {row.shipped}, cancelled {row.cancelled}){': ' + row.error if row.error else ''}"
        )
