"""Inbound platform webhooks: verify the signature on the raw body, then recognise the event.

What is signed, and how, comes from ``[webhooks.signature]``:

- ``signed = "body"``: the HMAC of the raw body;
- ``signed = "timestamp.body"``: the HMAC of ``<timestamp header value>.<raw body>``, and the
  timestamp must be within ``tolerance_seconds`` of now, in either direction.

The signature header may carry several signatures (separated by commas or spaces, each with
the optional ``prefix``); any one matching any configured secret passes, so secrets can be
rotated. Comparison is constant-time.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from affluent.errors import AdapterError, InvalidInput, SignatureError
from affluent.models import PlatformEvent, PlatformEventKind
from affluent_generic_rest import translate
from affluent_generic_rest.expressions import Context, TranslationError, as_text, read
from affluent_generic_rest.mapping import MappingFile, SignatureMap, WebhooksMap

KINDS: dict[str, PlatformEventKind] = {
    "cart_ready": PlatformEventKind.cart_ready,
    "payment": PlatformEventKind.payment,
    "submit": PlatformEventKind.submit,
    "line_shipped": PlatformEventKind.line_changes,
    "line_cancelled": PlatformEventKind.line_changes,
}
"""Mapping-file event sections -> the flow step they start."""


def _digest(signature: SignatureMap, secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, getattr(hashlib, signature.algorithm)).digest()


def _message(signature: SignatureMap, timestamp: str | None, body: bytes) -> bytes:
    if signature.signed == "timestamp.body":
        return f"{timestamp}.".encode() + body
    return body


def _encode(signature: SignatureMap, digest: bytes) -> str:
    text = digest.hex() if signature.encoding == "hex" else base64.b64encode(digest).decode()
    return signature.prefix + text


def _decode(signature: SignatureMap, text: str) -> bytes | None:
    if signature.prefix:
        if not text.startswith(signature.prefix):
            return None
        text = text[len(signature.prefix) :]
    try:
        if signature.encoding == "hex":
            return bytes.fromhex(text)
        return base64.b64decode(text, validate=True)
    except (ValueError, binascii.Error):
        return None


def sign(
    signature: SignatureMap, secret: str, body: bytes, *, timestamp: int | None = None
) -> dict[str, str]:
    """The headers that sign ``body`` as the platform would (for fakes and tests)."""
    headers: dict[str, str] = {}
    stamp = None
    if signature.signed == "timestamp.body":
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        assert signature.timestamp_header is not None
        headers[signature.timestamp_header] = stamp
    headers[signature.header] = _encode(
        signature, _digest(signature, secret, _message(signature, stamp, body))
    )
    return headers


def verify(
    signature: SignatureMap,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> None:
    """Raise :class:`SignatureError` unless ``body`` carries a valid, fresh signature."""
    if not secrets:
        raise AdapterError(
            f"webhooks.signature.secret_env: environment variable {signature.secret_env} "
            "is not set, so no webhook can be verified"
        )
    header = headers.get(signature.header)
    if not header:
        raise SignatureError(f"missing signature header {signature.header}")
    stamp = None
    if signature.signed == "timestamp.body":
        assert signature.timestamp_header is not None
        stamp = headers.get(signature.timestamp_header, "").strip()
        if not stamp:
            raise SignatureError(f"missing timestamp header {signature.timestamp_header}")
        if not stamp.isdigit() or len(stamp) > 12:
            raise SignatureError(
                f"timestamp header {signature.timestamp_header} is not unix seconds"
            )
    candidates = [
        decoded
        for part in header.replace(",", " ").split()
        if (decoded := _decode(signature, part.strip())) is not None
    ]
    if not candidates:
        raise SignatureError(f"signature header {signature.header} holds no readable signature")
    message = _message(signature, stamp, body)
    expected = [_digest(signature, secret, message) for secret in secrets]
    if not any(hmac.compare_digest(c, e) for c in candidates for e in expected):
        raise SignatureError("signature does not match any configured secret")
    if stamp is not None:
        drift = abs((time.time() if now is None else now) - int(stamp))
        if drift > signature.tolerance_seconds:
            raise SignatureError(
                f"timestamp is {int(drift)} s from now; tolerance is "
                f"{signature.tolerance_seconds} s"
            )


def _topic(webhooks: WebhooksMap, headers: Mapping[str, str], body: Any, ctx: Context) -> str:
    if webhooks.topic_header is not None:
        topic = headers.get(webhooks.topic_header)
        if not topic:
            raise InvalidInput("topic", f"missing topic header {webhooks.topic_header}")
        return topic
    try:
        value = read(webhooks.topic, body, "webhooks.topic", ctx)
        return as_text(value, "webhooks.topic") if value is not None else ""
    except TranslationError as exc:
        raise InvalidInput(exc.key, exc.render()) from None


def _delivery_id(
    webhooks: WebhooksMap, headers: Mapping[str, str], body: Any, ctx: Context
) -> str | None:
    if webhooks.delivery_id_header is not None:
        return headers.get(webhooks.delivery_id_header) or None
    value = read(webhooks.delivery_id, body, "webhooks.delivery_id", ctx)
    return None if value is None else as_text(value, "webhooks.delivery_id")


def _order_ref(mapping: MappingFile, section: str, payload: Mapping[str, Any]) -> str | None:
    match section:
        case "cart_ready":
            value = read(mapping.cart.order_ref, payload, "cart.order_ref", Context({}))
            return None if value is None else as_text(value, "cart.order_ref")
        case "payment":
            return translate.payment(mapping, payload).order_ref
        case "submit":
            return translate.submit_ref(mapping, payload)
    changes = translate.line_changes(mapping, payload)
    return changes.order_ref if changes is not None else None


def parse(
    mapping: MappingFile,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: float | None = None,
) -> PlatformEvent:
    """Verify, decode and recognise one delivery; ``headers`` keys are lower-case."""
    webhooks = mapping.webhooks
    if webhooks is None:
        raise InvalidInput("webhooks", "this mapping declares no [webhooks] section")
    if len(body) > webhooks.max_body_bytes:
        raise InvalidInput("body", f"larger than {webhooks.max_body_bytes} bytes")
    headers = {name.lower(): value for name, value in headers.items()}
    verify(webhooks.signature, secrets, headers, body, now=now)
    try:
        document = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise InvalidInput("body", f"not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidInput("body", "expected a JSON object")
    ctx = Context({})
    topic = _topic(webhooks, headers, document, ctx)
    section = next(
        (name for name, event in mapping.events.named().items() if topic in event.topics), None
    )
    if section is None:
        known = sorted({t for e in mapping.events.named().values() for t in e.topics})
        raise InvalidInput("topic", f"unknown topic {topic!r}; mapped topics: {', '.join(known)}")
    try:
        payload = read(webhooks.payload, document, "webhooks.payload", ctx)
        payload = document if webhooks.payload is None else payload
        if not isinstance(payload, dict):
            raise TranslationError("webhooks.payload", "expected an object in {payload}")
        order_ref = _order_ref(mapping, section, payload)
        delivery_id = _delivery_id(webhooks, headers, document, ctx)
    except TranslationError as exc:
        raise InvalidInput(exc.key, exc.render()) from None
    return PlatformEvent(
        kind=KINDS[section], delivery_id=delivery_id, order_ref=order_ref, payload=payload
    )
