"""Every class of mapping-file error, with the exact line the user sees.

Each case breaks one thing in a copy of an example file and expects the problem to name the
key, in the file's own words, without a traceback.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from affluent.errors import AdapterError
from affluent_generic_rest import settings
from affluent_generic_rest.examples import NESTED_SHOP
from affluent_generic_rest.mapping import MappingError, load_file, validate_data

Mutation = Callable[[dict[str, Any]], object]
Problems = Callable[[dict[str, Any]], list[str]]

STATUS_VARS = (
    "order_ref, status, platform_status, dr_order_id, dr_state, dr_checkout_id, "
    "dr_customer_id, currency, total_amount, selling_entity_id, selling_entity_name, "
    "shopper_message, lines"
)
CONVERSIONS = "string, integer, decimal, minor_units, boolean, country, upper, lower"


def lines(d: dict[str, Any]) -> dict[str, Any]:
    return d["cart"]["lines"]  # type: ignore[no-any-return]


def rename(table: dict[str, Any], old: str, new: str) -> None:
    table[new] = table.pop(old)


# (id, mutation of the nested example, expected problem lines)
CASES: list[tuple[str, Mutation, list[str]]] = [
    # structure: missing, unknown, wrong type, wrong choice
    (
        "missing key",
        lambda d: d["cart"].pop("order_ref"),
        ["`cart.order_ref`: required key is missing"],
    ),
    (
        "misspelt key",
        lambda d: rename(lines(d), "quantity", "quantiy"),
        [
            "`cart.lines.quantity`: required key is missing",
            "`cart.lines.quantiy`: unknown key (did you mean 'quantity'?)",
        ],
    ),
    (
        "unknown section",
        lambda d: rename(d, "push", "pushes"),
        [
            "`push`: required key is missing",
            "`pushes`: unknown key (did you mean 'push'?)",
        ],
    ),
    (
        "unsupported version",
        lambda d: d.update(version=2),
        ["`version`: input should be 1, got 2"],
    ),
    (
        "unknown choice",
        lambda d: d["webhooks"]["signature"].update(algorithm="md5"),
        ["`webhooks.signature.algorithm`: input should be 'sha1', 'sha256' or 'sha512', got 'md5'"],
    ),
    (
        "http method",
        lambda d: d["push"]["status"].update(method="delete"),
        ["`push.status.method`: input should be 'POST', 'PUT' or 'PATCH', got 'DELETE'"],
    ),
    (
        "number out of range",
        lambda d: d["webhooks"]["signature"].update(tolerance_seconds=0),
        ["`webhooks.signature.tolerance_seconds`: input should be greater than or equal to 1"],
    ),
    # expressions
    (
        "unfinished expression",
        lambda d: lines(d).update(quantity="qty["),
        ["`cart.lines.quantity`: invalid JMESPath expression 'qty[': it ends too early"],
    ),
    (
        "unexpected token",
        lambda d: lines(d).update(quantity="line qty"),
        [
            "`cart.lines.quantity`: invalid JMESPath expression 'line qty' at column 5: "
            "unexpected token: qty"
        ],
    ),
    (
        "unclosed literal",
        lambda d: lines(d).update(quantity="a.`x"),
        [
            "`cart.lines.quantity`: invalid JMESPath expression 'a.`x' at column 2: unclosed ` delimiter"
        ],
    ),
    (
        "unknown function",
        lambda d: lines(d).update(quantity="to_int(qty)"),
        [
            "`cart.lines.quantity`: unknown JMESPath function to_int() in 'to_int(qty)' "
            "(did you mean to_string()?)"
        ],
    ),
    (
        "unknown conversion",
        lambda d: lines(d).update(unit_price={"expr": "price", "convert": "cents"}),
        [
            "`cart.lines.unit_price`: unknown conversion 'cents'; did you mean 'minor_units'? "
            f"known: {CONVERSIONS}"
        ],
    ),
    (
        "misspelt field key",
        lambda d: lines(d).update(unit_price={"expr": "price", "defualt": 0}),
        [
            "`cart.lines.unit_price`: unknown key 'defualt' (did you mean 'default'?); "
            "a field takes expr, default, convert"
        ],
    ),
    (
        "field of the wrong type",
        lambda d: lines(d).update(unit_price=5),
        [
            "`cart.lines.unit_price`: expected a JMESPath expression or a table with "
            "expr/default/convert, got number"
        ],
    ),
    (
        "field with nothing to read",
        lambda d: lines(d).update(unit_price={"convert": "decimal"}),
        ["`cart.lines.unit_price`: a field needs expr, default, or both"],
    ),
    (
        "line without sku or product",
        lambda d: lines(d).pop("sku_id"),
        ["`cart.lines`: set sku_id, or a [cart.lines.product] table, or both"],
    ),
    (
        "country table code",
        lambda d: d["countries"].update(Mexico="MEX"),
        ["`countries.Mexico`: 'MEX' is not a two-letter ISO 3166-1 code"],
    ),
    # events and webhooks
    (
        "topic used twice",
        lambda d: d["events"]["submit"].update(topics="payments/create"),
        ["`events.submit.topics[0]`: topic 'payments/create' is also used by events.payment"],
    ),
    (
        "webhooks without topics",
        lambda d: [event.pop("topics", None) for event in d["events"].values()],
        ["`webhooks`: no event declares topics, so no webhook could be recognised"],
    ),
    (
        "two topic sources",
        lambda d: d["webhooks"].update(topic="event"),
        ["`webhooks`: set exactly one of topic_header (a header) or topic (an expression)"],
    ),
    (
        "timestamp signing without a timestamp header",
        lambda d: d["webhooks"]["signature"].update(signed="timestamp.body"),
        ['`webhooks.signature.timestamp_header`: required when signed = "timestamp.body"'],
    ),
    (
        "bad header name",
        lambda d: d["webhooks"]["signature"].update(header="X Nested Hmac"),
        ["`webhooks.signature.header`: 'X Nested Hmac' is not a valid HTTP header name"],
    ),
    (
        "bad environment variable name",
        lambda d: d["push"]["auth"].update(env="nested-token"),
        [
            "`push.auth.env`: 'nested-token' is not an environment variable name "
            "(letters, digits and _, not starting with a digit)"
        ],
    ),
    (
        "tracking on cancellations",
        lambda d: d["events"]["line_cancelled"].update(tracking={"number": "n"}),
        ["`events.line_cancelled.tracking`: cancelled units are not shipped; remove tracking"],
    ),
    # push templates
    (
        "unknown status",
        lambda d: d["push"]["status"]["words"].update(shipped="shipped"),
        [
            "`push.status.words.shipped`: input should be 'payment_failed', 'awaiting_payment', "
            "'in_review', 'ready_to_fulfill', 'blocked', 'cancelled', 'fulfilled', 'complete', "
            "'returned' or 'disputed', got 'shipped'"
        ],
    ),
    (
        "unknown placeholder",
        lambda d: d["push"]["status"].update(url="/orders/{order_id}.json"),
        [
            "`push.status.url`: unknown placeholder {order_id} (did you mean {dr_order_id}?); "
            f"known: {STATUS_VARS}"
        ],
    ),
    (
        "unmatched brace",
        lambda d: d["push"]["status"].update(url="/orders/{order_ref.json"),
        [
            "`push.status.url`: unmatched '{' at position 8 in '/orders/{order_ref.json' "
            "(write {{ or }} for a literal brace)"
        ],
    ),
    (
        "unknown filter",
        lambda d: d["push"]["checkout"]["body"]["tax"].update(total="{total_tax|cents}"),
        [
            "`push.checkout.body.tax.total`: unknown filter |cents in '{total_tax|cents}'; "
            "known: string, number, minor_units, upper, lower"
        ],
    ),
    (
        "line placeholder outside line_body",
        lambda d: d["push"]["checkout"]["line_body"].update(total="{subtotal}"),
        [
            "`push.checkout.line_body.total`: unknown placeholder {subtotal}; "
            "known: line_ref, amount, tax, tax_rate, currency"
        ],
    ),
    (
        "lines inside text",
        lambda d: d["push"]["checkout"]["body"]["tax"].update(note="lines: {lines}"),
        ['`push.checkout.body.tax.note`: {lines} is a list; it must be the whole string "{lines}"'],
    ),
    (
        "value JSON cannot carry",
        lambda d: d["push"]["status"]["body"].update(when=datetime.date(2024, 1, 1)),
        ["`push.status.body.when`: date values cannot be sent as JSON"],
    ),
    (
        "auth format without the value",
        lambda d: d["push"]["auth"].update(format="Bearer"),
        ["`push.auth.format`: must contain {value} exactly once"],
    ),
    (
        "relative URL without base URL",
        lambda d: d["push"].pop("base_url"),
        [
            "`push.status.url`: a path needs push.base_url (or a full https:// URL)",
            "`push.checkout.url`: a path needs push.base_url (or a full https:// URL)",
        ],
    ),
    # outbound host policy (SSRF)
    (
        "host not declared",
        lambda d: d["push"]["status"].update(url="https://internal.example/orders/{order_ref}"),
        [
            "`push.status.url`: https://internal.example/orders/{order_ref}: host "
            "'internal.example' is not in push.allowed_hosts (api.nested-shop.example)"
        ],
    ),
    (
        "placeholder in the host",
        lambda d: d["push"]["status"].update(url="https://{order_ref}.nested-shop.example/x"),
        ["`push.status.url`: placeholders are not allowed in the scheme or host of a URL"],
    ),
    (
        "credentials in the URL",
        lambda d: d["push"]["status"].update(url="https://me:pw@api.nested-shop.example/x"),
        ["`push.status.url`: URLs must not carry user names or passwords; use push.auth"],
    ),
    (
        "plain http",
        lambda d: d["push"].update(base_url="http://api.nested-shop.example/admin"),
        [
            "`push.base_url`: http://api.nested-shop.example/admin: plain http is refused; use "
            "https (http is allowed only with allow_private_hosts, for local development)"
        ],
    ),
    (
        "undeclared port",
        lambda d: d["push"].update(base_url="https://api.nested-shop.example:8443/admin"),
        [
            "`push.base_url`: https://api.nested-shop.example:8443/admin: port 8443 is not "
            "allowed; list api.nested-shop.example:8443 in push.allowed_hosts to allow it"
        ],
    ),
    (
        "private address",
        lambda d: d["push"].update(base_url="https://10.1.2.3/admin", allowed_hosts=["10.1.2.3"]),
        [
            "`push.base_url`: 10.1.2.3 is a loopback, private or reserved address; "
            "refused unless allow_private_hosts is set"
        ],
    ),
    (
        "cloud metadata address",
        lambda d: d["push"].update(
            base_url="https://169.254.169.254/latest", allowed_hosts=["169.254.169.254"]
        ),
        [
            "`push.base_url`: 169.254.169.254 is a loopback, private or reserved address; "
            "refused unless allow_private_hosts is set"
        ],
    ),
    (
        "loopback address",
        lambda d: d["push"].update(base_url="https://127.0.0.1/admin", allowed_hosts=["127.0.0.1"]),
        [
            "`push.base_url`: 127.0.0.1 is a loopback, private or reserved address; "
            "refused unless allow_private_hosts is set"
        ],
    ),
    (
        "URL in allowed_hosts",
        lambda d: d["push"].update(allowed_hosts=["https://api.nested-shop.example/"]),
        [
            "`push.allowed_hosts[0]`: 'https://api.nested-shop.example/' is not a host name; "
            "write only the host, e.g. api.example.com"
        ],
    ),
    (
        "no allowed hosts",
        lambda d: d["push"].update(allowed_hosts=[]),
        ["`push.allowed_hosts`: must not be empty"],
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mapping_error_names_the_key(
    nested: dict[str, Any], problems: Problems, mutate: Mutation, expected: list[str]
) -> None:
    mutate(nested)
    assert problems(nested) == expected


def test_every_problem_is_reported_at_once(nested: dict[str, Any]) -> None:
    nested["cart"].pop("currency")
    nested["webhooks"]["signature"]["algorithm"] = "md5"
    with pytest.raises(MappingError) as info:
        validate_data(nested, "shop.toml")
    assert str(info.value) == (
        "shop.toml: 2 problems in the mapping\n"
        "  `cart.currency`: required key is missing\n"
        "  `webhooks.signature.algorithm`: input should be 'sha1', 'sha256' or 'sha512', "
        "got 'md5'"
    )
    assert isinstance(info.value, AdapterError)  # the core stops start-up on it


def test_a_request_for_a_status_without_a_word(flat: dict[str, Any], problems: Problems) -> None:
    flat["push"]["status"]["words"].pop("payment_failed")
    assert problems(flat) == [
        "`push.status.requests.payment_failed`: no word for payment_failed in "
        "push.status.words, so it is never sent"
    ]


def test_loopback_is_allowed_only_when_asked(nested: dict[str, Any]) -> None:
    nested["push"].update(
        base_url="http://127.0.0.1:8080/admin", allowed_hosts=["api.nested-shop.example"]
    )
    nested["push"]["allow_private_hosts"] = True
    assert validate_data(nested, "dev.toml").push.allow_private_hosts is True


def test_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    path.write_text('[cart]\norder_ref = "id"\ncurrency = \n')
    with pytest.raises(MappingError) as info:
        load_file(path)
    assert info.value.lines == ["not valid TOML: Invalid value (at line 3, column 12)"]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MappingError) as info:
        load_file(tmp_path / "nope.toml")
    assert info.value.lines == ["cannot read the mapping file: No such file or directory"]


def test_edited_file_is_reloaded(tmp_path: Path) -> None:
    path = tmp_path / "shop.toml"
    text = NESTED_SHOP.read_text()
    path.write_text(text)
    assert load_file(path).platform.name == "Nested Shop"
    path.write_text(text.replace('name = "Nested Shop"', 'name = "Nested Shop (staging)"'))
    assert load_file(path).platform.name == "Nested Shop (staging)"


# -- adapter configuration and start-up ---------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, ["`config.mapping`: set exactly one of mapping (a file path) or mapping_data"]),
        (
            {"mapping": str(NESTED_SHOP), "mapping_data": {}},
            ["`config.mapping`: set exactly one of mapping (a file path) or mapping_data"],
        ),
        (
            {"mapping": str(NESTED_SHOP), "mapping_file": "x"},
            [
                "`config.mapping_file`: unknown key; known: mapping, mapping_data, base_url, "
                "allow_private_hosts, env"
            ],
        ),
        (
            {"mapping": str(NESTED_SHOP), "allow_private_hosts": "perhaps"},
            [
                "`config.allow_private_hosts`: input should be a valid boolean, unable to interpret input"
            ],
        ),
    ],
    ids=["nothing", "both", "unknown key", "wrong type"],
)
def test_configuration_errors(config: dict[str, Any], expected: list[str]) -> None:
    with pytest.raises(MappingError) as info:
        settings.load(config)
    assert info.value.lines == expected


def test_missing_secrets_stop_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NESTED_SHOP_TOKEN", raising=False)
    monkeypatch.delenv("NESTED_SHOP_WEBHOOK_SECRET", raising=False)
    loaded = settings.load({"mapping": str(NESTED_SHOP)})
    with pytest.raises(MappingError) as info:
        settings.require_ready(loaded)
    assert info.value.lines == [
        "`push.auth.env`: environment variable NESTED_SHOP_TOKEN is not set",
        "`webhooks.signature.secret_env`: environment variable NESTED_SHOP_WEBHOOK_SECRET "
        "is not set",
    ]
    monkeypatch.setenv("NESTED_SHOP_TOKEN", "t")
    monkeypatch.setenv("NESTED_SHOP_WEBHOOK_SECRET", "s1, s2")
    assert settings.require_ready(loaded).secrets() == ["s1", "s2"]


def test_base_url_override_must_still_be_allowed() -> None:
    loaded = settings.load(
        {
            "mapping": str(NESTED_SHOP),
            "base_url": "https://staging.internal/admin",
            "env": {"NESTED_SHOP_TOKEN": "t", "NESTED_SHOP_WEBHOOK_SECRET": "s"},
        }
    )
    assert settings.startup_problems(loaded) == [
        (
            "config.base_url",
            "https://staging.internal/admin: host 'staging.internal' is not in "
            "push.allowed_hosts (api.nested-shop.example)",
        )
    ]


def test_mapping_data_is_accepted_instead_of_a_file(nested: dict[str, Any]) -> None:
    loaded = settings.load({"mapping_data": nested})
    assert loaded.source == "mapping_data"
    assert loaded.mapping.platform.name == "Nested Shop"
    assert settings.load({"mapping_data": nested}).mapping is loaded.mapping  # cached
