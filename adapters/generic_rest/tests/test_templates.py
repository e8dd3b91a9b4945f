"""Body and URL templates: typed placeholders, filters, escaping."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from affluent_generic_rest import templates

VARS = templates.CHECKOUT_VARIABLES
VALUES: dict[str, Any] = {
    "order_ref": "A/1 ?x",
    "currency": "USD",
    "total_tax": Decimal("3.15"),
    "total_amount": Decimal("48.00"),
    "final": True,
    "selling_entity_name": None,
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{total_tax}", "3.15"),  # amounts stay exact, as text
        ("{total_tax|number}", 3.15),
        ("{total_amount|number}", 48),
        ("{total_tax|minor_units}", 315),
        ("{final}", True),
        ("{selling_entity_name}", None),
        ("{currency|lower}", "usd"),
        ("Tax {total_tax} {currency}", "Tax 3.15 USD"),
        ("seller: {selling_entity_name}", "seller: "),
        ("{{literal}} {final|string}", "{literal} true"),
        ({"a": ["{final}", 1, None]}, {"a": [True, 1, None]}),
    ],
)
def test_body_rendering(template: Any, expected: Any) -> None:
    assert templates.render_body(template, VARS, VALUES) == expected


def test_minor_units_use_the_currency_digits() -> None:
    values = {**VALUES, "currency": "JPY", "total_tax": Decimal("315")}
    assert templates.render_body("{total_tax|minor_units}", VARS, values) == 315
    values = {**VALUES, "currency": "KWD", "total_tax": Decimal("1.5")}
    assert templates.render_body("{total_tax|minor_units}", VARS, values) == 1500


def test_url_values_are_percent_encoded() -> None:
    url = templates.render_url("/orders/{order_ref}/tax?c={currency}", VARS, VALUES)
    assert url == "/orders/A%2F1%20%3Fx/tax?c=USD"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("orders/{order_ref}", "expected an absolute URL (https://host/path) or a path starting "
         "with / (joined to push.base_url)"),
        ("https://{order_ref}.shop.example/", "placeholders are not allowed in the scheme or host "
         "of a URL"),
        ("/orders/{ order_ref | nope }", "unknown filter |nope in '{ order_ref | nope }'; known: "
         "string, number, minor_units, upper, lower"),
        ("/orders/{order-ref}", "malformed placeholder '{order-ref}' in '/orders/{order-ref}'"),
        ("/orders/}", "unmatched '}' at position 8 in '/orders/}' (write {{ or }} for a literal "
         "brace)"),
    ],
)  # fmt: skip
def test_url_template_errors(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=r".*") as info:
        templates.check_url(template, VARS)
    assert str(info.value) == message
