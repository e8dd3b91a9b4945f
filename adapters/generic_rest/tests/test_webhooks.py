"""Inbound webhooks: signatures first (both example schemes), then topic, payload and ids."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import pytest

from affluent.errors import AdapterError, InvalidInput, SignatureError
from affluent.models import PlatformEventKind
from affluent_generic_rest import settings
from affluent_generic_rest.plugin import GenericRestAdapter
from affluent_generic_rest.testing import GenericRestFake

K = PlatformEventKind
adapter = GenericRestAdapter()


def parse(fake: GenericRestFake, headers: dict[str, str], body: bytes) -> Any:
    return adapter.affluent_parse_webhook(
        headers=headers, body=body, config=fake.client_config("http://127.0.0.1:1")
    )


def test_nested_shop_signs_the_raw_body_in_base64() -> None:
    fake = GenericRestFake("nested_shop")
    headers, body = fake.webhook(K.submit, fake.submit_payload("NS-1"))
    expected = hmac.new(fake.secret.encode(), body, hashlib.sha256).digest()
    assert headers["x-nested-hmac-sha256"] == base64.b64encode(expected).decode()
    event = parse(fake, headers, body)
    assert (event.kind, event.order_ref) == (K.submit, "NS-1")
    assert event.delivery_id == headers["x-nested-webhook-id"]


def test_flat_shop_signs_timestamp_and_body_in_prefixed_hex() -> None:
    fake = GenericRestFake("flat_shop")
    headers, body = fake.webhook(K.payment, fake.payment_payload("FS-1", "src_1", True))
    stamp = headers["x-flat-timestamp"]
    expected = hmac.new(fake.secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256)
    assert headers["x-flat-signature"] == f"sha256={expected.hexdigest()}"
    event = parse(fake, headers, body)
    assert event.kind is K.payment
    assert event.payload == {"order_number": "FS-1", "dr_source_id": "src_1", "save_payment": "yes"}
    assert event.delivery_id == json.loads(body)["event_id"]


def test_header_names_are_case_insensitive(example: str) -> None:
    fake = GenericRestFake(example)
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"))
    assert parse(fake, {k.upper(): v for k, v in headers.items()}, body).order_ref == "o-1"


def test_a_rotated_secret_still_verifies(example: str) -> None:
    fake = GenericRestFake(example)
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"), secret="old-secret")
    config = dict(fake.client_config("http://127.0.0.1:1"))
    name = next(iter(k for k in config["env"] if "SECRET" in k))
    config["env"] = {**config["env"], name: f"{fake.secret},old-secret"}
    assert (
        adapter.affluent_parse_webhook(headers=headers, body=body, config=config).order_ref == "o-1"
    )


def test_several_signatures_in_one_header_any_may_match(example: str) -> None:
    fake = GenericRestFake(example)
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"))
    header = next(k for k in headers if "signature" in k or "hmac" in k)
    headers[header] = f"{headers[header][:-4]}AAAA, {headers[header]}"
    assert parse(fake, headers, body).order_ref == "o-1"


@pytest.mark.parametrize(
    ("example", "tamper", "message"),
    [
        ("nested_shop", lambda h, b: (h, b + b" "), "signature does not match any configured secret"),
        ("flat_shop", lambda h, b: (h, b.replace(b"o-1", b"o-2")),
         "signature does not match any configured secret"),
        ("nested_shop", lambda h, b: ({k: v for k, v in h.items() if "hmac" not in k}, b),
         "missing signature header x-nested-hmac-sha256"),
        ("flat_shop", lambda h, b: ({**h, "x-flat-signature": "sha1=abcd"}, b),
         "signature header x-flat-signature holds no readable signature"),
        ("flat_shop", lambda h, b: ({k: v for k, v in h.items() if "timestamp" not in k}, b),
         "missing timestamp header x-flat-timestamp"),
        ("flat_shop", lambda h, b: ({**h, "x-flat-timestamp": "yesterday"}, b),
         "timestamp header x-flat-timestamp is not unix seconds"),
    ],
    ids=["body changed", "order changed", "no header", "unreadable", "no timestamp", "bad timestamp"],
)  # fmt: skip
def test_bad_signatures_are_refused_before_parsing(example: str, tamper: Any, message: str) -> None:
    fake = GenericRestFake(example)
    headers, body = tamper(*fake.webhook(K.submit, fake.submit_payload("o-1")))
    with pytest.raises(SignatureError) as info:
        parse(fake, headers, body)
    assert str(info.value) == message


@pytest.mark.parametrize("skew", [-400, 400])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    fake = GenericRestFake("flat_shop")
    stamp = int(time.time()) + skew
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"), timestamp=stamp)
    with pytest.raises(SignatureError, match=r"^timestamp is \d+ s from now; tolerance is 300 s$"):
        parse(fake, headers, body)


def test_a_signature_is_not_checked_without_a_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = GenericRestFake("nested_shop")
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"))
    monkeypatch.delenv("NESTED_SHOP_WEBHOOK_SECRET", raising=False)
    config = {"mapping": str(fake.shape.mapping_path), "env": {"NESTED_SHOP_TOKEN": "t"}}
    with pytest.raises(AdapterError, match="NESTED_SHOP_WEBHOOK_SECRET is not set"):
        adapter.affluent_parse_webhook(headers=headers, body=body, config=config)


def test_unknown_topic_is_invalid_input() -> None:
    fake = GenericRestFake("nested_shop")
    headers, body = fake.webhook(K.submit, fake.submit_payload("o-1"))
    headers["x-nested-topic"] = "products/update"
    with pytest.raises(InvalidInput) as info:
        parse(fake, headers, body)
    assert info.value.field == "topic"
    assert info.value.message == (
        "unknown topic 'products/update'; mapped topics: fulfillments/create, orders/edited, "
        "orders/lines_cancelled, orders/ready, orders/submit, payments/create"
    )


def test_signed_but_malformed_bodies_are_invalid_input() -> None:
    fake = GenericRestFake("flat_shop")
    loaded = settings.load(fake.client_config("http://127.0.0.1:1"))
    signature = loaded.mapping.webhooks.signature  # type: ignore[union-attr]
    from affluent_generic_rest.webhooks import sign

    for body, field, message in [
        (b"{not json", "body", "not valid JSON: Expecting property name enclosed in double "
         "quotes: line 1 column 2 (char 1)"),
        (b"[1, 2]", "body", "expected a JSON object"),
        (b'{"event_type": "order.placed", "data": {}}', "events.submit.order_ref",
         "expression returned null for this payload"),
        (b'{"event_type": "order.placed", "data": 5}', "webhooks.payload",
         "expected an object in this payload"),
    ]:  # fmt: skip
        headers = sign(signature, fake.secret, body)
        with pytest.raises(InvalidInput) as info:
            parse(fake, headers, body)
        assert (info.value.field, info.value.message) == (field, message)


def test_oversized_bodies_are_refused_unread() -> None:
    fake = GenericRestFake("nested_shop")
    with pytest.raises(InvalidInput, match=r"^body: larger than 262144 bytes$"):
        parse(fake, {}, b" " * 262_145)


def test_one_event_can_ship_and_cancel(example: str) -> None:
    fake = GenericRestFake(example)
    payload = fake.line_payload("o-1", "edit-7", [("L1", 1, 1)], {"number": "1Z"})
    headers, body = fake.webhook(K.line_changes, payload)
    event = parse(fake, headers, body)
    assert (event.kind, event.order_ref) == (K.line_changes, "o-1")
    changes = adapter.affluent_map_line_changes(
        payload=event.payload, config=fake.client_config("http://127.0.0.1:1")
    )
    assert changes is not None
    assert changes.change_ref == "edit-7"
    assert [(c.line_ref, c.shipped, c.cancelled) for c in changes.changes] == [("L1", 1, 1)]
    assert changes.tracking is not None and changes.tracking.number == "1Z"
