"""``affluent adapters check generic_rest --config FILE --sample PAYLOAD.json``: the function."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from affluent.models import DemoCart, PlatformEventKind
from affluent_generic_rest.check import check
from affluent_generic_rest.examples import FLAT_SHOP, NESTED_SHOP
from affluent_generic_rest.mapping import MappingError
from affluent_generic_rest.testing import GenericRestFake

CART = DemoCart(
    order_ref="NS-1001",
    email="ada@example.com",
    customer_id="42",
    lines=[("L1", "sku-1", 2, Decimal("19.99"))],
)


@pytest.fixture
def write(tmp_path: Path) -> Any:
    def write(payload: Any, name: str = "sample.json") -> Path:
        path = tmp_path / name
        path.write_text(json.dumps(payload))
        return path

    return write


@pytest.fixture(autouse=True)
def _no_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NESTED_SHOP_TOKEN", "NESTED_SHOP_WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLAT_SHOP_API_KEY", "k")
    monkeypatch.setenv("FLAT_SHOP_WEBHOOK_SECRET", "s")


def test_a_cart_sample_prints_the_checkout_request(write: Any) -> None:
    sample = write(GenericRestFake("nested_shop").checkout_payload(CART))
    report = check(NESTED_SHOP, sample)
    head, _, rest = report.partition("Digital River checkout request (POST /checkouts):\n")
    assert head.splitlines() == [
        f"mapping OK: {NESTED_SHOP} (Nested Shop)",
        "warning: `push.auth.env`: environment variable NESTED_SHOP_TOKEN is not set",
        "warning: `webhooks.signature.secret_env`: environment variable "
        "NESTED_SHOP_WEBHOOK_SECRET is not set",
        "sample: cart NS-1001 (1 line(s), USD, registered shopper nested-42)",
        "",
    ]
    request_text, _, writes = rest.partition("\n\nplatform writes")
    request = json.loads(request_text)
    assert request["upstreamId"] == "NS-1001"
    assert request["customerId"] == "nested-42"
    assert request["items"] == [
        {"quantity": 2, "price": 19.99, "metadata": {"affluentLineRef": "L1"}, "skuId": "sku-1"}
    ]
    assert request["shipTo"]["address"]["country"] == "US"
    assert (
        "tax and selling entity: POST "
        "https://api.nested-shop.example/admin/2024-07/orders/NS-1001/taxes.json" in writes
    )
    assert (
        "status ready_to_fulfill: PUT "
        "https://api.nested-shop.example/admin/2024-07/orders/NS-1001.json" in writes
    )


def test_without_a_sample_only_the_file_is_checked() -> None:
    assert check(FLAT_SHOP).splitlines() == [f"mapping OK: {FLAT_SHOP} (Flat Shop)"]


def test_a_webhook_envelope_is_recognised_by_its_topic(write: Any) -> None:
    fake = GenericRestFake("flat_shop")
    payload = fake.line_payload("FS-7", "upd-1", [("1", 1, 0), ("2", 0, 1)], {"company": "DHL"})
    _, body = fake.webhook(PlatformEventKind.line_changes, payload)
    report = check(FLAT_SHOP, write(json.loads(body)))
    assert "sample: line-item changes" in report
    changes = json.loads(report.partition("sample: line-item changes\n")[2])
    assert changes == {
        "order_ref": "FS-7",
        "change_ref": "upd-1",
        "changes": [
            {"line_ref": "1", "shipped": 1, "cancelled": 0},
            {"line_ref": "2", "shipped": 0, "cancelled": 1},
        ],
        "tracking": {"company": "DHL"},
    }


def test_event_names_a_sample_without_an_envelope(write: Any) -> None:
    fake = GenericRestFake("nested_shop")
    sample = write(fake.payment_payload("NS-1", "src_1", True))
    assert check(NESTED_SHOP, sample, event="payment").endswith(
        'sample: payment hand-off\n{\n  "order_ref": "NS-1",\n  "source_id": "src_1",\n'
        '  "save": true\n}'
    )
    submit = write(fake.submit_payload("NS-1"), "submit.json")
    assert check(NESTED_SHOP, submit, event="submit").endswith("sample: submit order NS-1")


@pytest.mark.parametrize(
    ("shop", "event", "build", "expected"),
    [
        (
            "nested_shop",
            "line_shipped",
            lambda f: f.line_payload("NS-1", "f-1", [("L1", 1, 0)])
            | {"fulfillment": {"line_items": [{"id": "L1"}]}},
            "`events.line_shipped.quantity`: expression returned null for the sample payload",
        ),
        (
            "nested_shop",
            None,
            lambda f: _drop(f.checkout_payload(CART), "order", "currency"),
            "`cart.currency`: expression returned null for the sample payload",
        ),
        (
            "nested_shop",
            None,
            lambda f: _set(f.checkout_payload(CART), ["order", "items", 0, "quantity"], "2"),
            '`cart.lines.quantity`: expected a whole number, got string \'2\' '
            '(use convert = "integer")',
        ),
        (
            "nested_shop",
            None,
            lambda f: _set(f.checkout_payload(CART), ["order", "shipping_address", "country"],
                           "Atlantis"),
            "`cart.ship_to.country`: 'Atlantis' is not in the [countries] table and is not a "
            "two-letter code",
        ),
        (
            "flat_shop",
            None,
            lambda f: _set(f.checkout_payload(CART), ["lines", 0, "qty"], "two"),
            "`cart.lines.quantity`: cannot read 'two' as a whole number",
        ),
        (
            "flat_shop",
            "payment",
            lambda f: f.payment_payload("FS-1", "src", True) | {"save_payment": "perhaps"},
            "`events.payment.save`: cannot read 'perhaps' as true or false",
        ),
    ],
    ids=["event quantity", "cart currency", "type needs a conversion", "country table",
         "conversion fails", "boolean"],
)  # fmt: skip
def test_sample_problems_name_the_key(
    write: Any, shop: str, event: str | None, build: Any, expected: str
) -> None:
    fake = GenericRestFake(shop)
    sample = write(build(fake))
    with pytest.raises(MappingError) as info:
        check(fake.shape.mapping_path, sample, event=event)
    assert info.value.lines == [expected]
    assert str(info.value) == f"{sample}: 1 problem translating the sample\n  {expected}"


def test_an_unreadable_sample(tmp_path: Path) -> None:
    sample = tmp_path / "sample.json"
    sample.write_text("{oops")
    with pytest.raises(MappingError) as info:
        check(NESTED_SHOP, sample)
    assert info.value.lines == [
        "cannot read the sample: Expecting property name enclosed in double quotes: "
        "line 1 column 2 (char 1)"
    ]


def test_a_broken_file_fails_before_the_sample(tmp_path: Path, write: Any) -> None:
    mapping = tmp_path / "shop.toml"
    mapping.write_text(
        NESTED_SHOP.read_text().replace('quantity = "quantity"', 'quantity = "q["', 1)
    )
    with pytest.raises(MappingError) as info:
        check(mapping, write({}))
    assert info.value.lines == [
        "`cart.lines.quantity`: invalid JMESPath expression 'q[': it ends too early"
    ]


def _drop(payload: dict[str, Any], *path: str) -> dict[str, Any]:
    target = payload
    for part in path[:-1]:
        target = target[part]
    del target[path[-1]]
    return payload


def _set(payload: dict[str, Any], path: list[Any], value: Any) -> dict[str, Any]:
    target: Any = payload
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return payload


def test_statuses_without_a_word_are_noted(tmp_path: Path) -> None:
    text = (
        FLAT_SHOP.read_text()
        .replace('returned = "RETURNED"\n', "")
        .replace('disputed = "DISPUTED"\n', "")
    )
    mapping = tmp_path / "flat.toml"
    mapping.write_text(text)
    assert (
        check(mapping).splitlines()[1]
        == "note: statuses never written to the platform: returned, disputed"
    )
