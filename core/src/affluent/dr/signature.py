"""Signing and verifying Digital River webhook deliveries (header ``DigitalRiver-Signature``).

Header value: ``t=<unix seconds>, <sig>[, <sig>...]``. Each ``<sig>`` is
``base64(HMAC-SHA256(secret, <timestamp part> + "." + <raw body>))``, one per active signing
secret (several while a secret is being rotated). DR does not publish the algorithm; this is the
one its own connector checks, and what the affluent sandbox emits.

Verification works on the raw body bytes and happens before any JSON parsing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Sequence

from affluent.dr.errors import SignatureFailure, SignatureVerificationError
from affluent.dr.models import Event

__all__ = [
    "DEFAULT_TOLERANCE",
    "SIGNATURE_HEADER",
    "construct_event",
    "sign",
    "verify",
]

SIGNATURE_HEADER = "DigitalRiver-Signature"
DEFAULT_TOLERANCE = 300.0
"""Seconds a delivery's timestamp may differ from now, in either direction."""

_VERSION_PREFIX = re.compile(r"^v\d+=")
_TIMESTAMP = re.compile(r"^\d{1,12}$")


def _secret_list(secrets: str | Sequence[str]) -> list[bytes]:
    items = [secrets] if isinstance(secrets, str) else list(secrets)
    if not items or any(not isinstance(s, str) or not s for s in items):
        raise ValueError("at least one non-empty signing secret is required")
    return [s.encode() for s in items]


def _digest(secret: bytes, timestamp_part: str, payload: bytes) -> bytes:
    mac = hmac.new(secret, timestamp_part.encode() + b"." + payload, hashlib.sha256)
    return base64.b64encode(mac.digest())


def sign(payload: bytes, secrets: str | Sequence[str], *, timestamp: int | None = None) -> str:
    """Build the ``DigitalRiver-Signature`` value for ``payload``, one signature per secret.

    :param timestamp: unix seconds to sign; ``None`` means now.
    """
    keys = _secret_list(secrets)
    ts = int(time.time()) if timestamp is None else int(timestamp)
    if ts < 0:
        raise ValueError("timestamp must be non-negative")
    part = f"t={ts}"
    signatures = [_digest(key, part, payload).decode() for key in keys]
    return ", ".join([part, *signatures])


def _parse_header(header: str) -> tuple[str, int, list[bytes]]:
    """Split a header into (timestamp part as sent, timestamp, candidate signatures)."""
    parts = [p.strip() for p in header.split(",")]
    ts_part, candidates = parts[0], [p for p in parts[1:] if p]
    raw_ts = ts_part[2:].strip() if ts_part.startswith("t=") else ts_part
    if not _TIMESTAMP.match(raw_ts):
        raise SignatureVerificationError(
            SignatureFailure.MALFORMED_HEADER,
            "the first element must be a unix timestamp, 't=<seconds>' or '<seconds>'",
            header=header,
        )
    if not candidates:
        raise SignatureVerificationError(
            SignatureFailure.MALFORMED_HEADER,
            "no signature follows the timestamp",
            header=header,
            timestamp=int(raw_ts),
        )
    signatures = [_VERSION_PREFIX.sub("", c, count=1).encode() for c in candidates]
    return ts_part, int(raw_ts), signatures


def verify(
    payload: bytes,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> int:
    """Check a delivery's signature and timestamp; return the signed timestamp.

    Passes when any active secret matches any listed signature (secret rotation). Raises
    :class:`SignatureVerificationError` whose ``reason`` says why it failed.

    :param payload: the raw request body, exactly as received.
    :param header: the ``DigitalRiver-Signature`` header value (``None`` if absent).
    :param secrets: the endpoint's active signing secret, or several during rotation.
    :param tolerance: allowed distance in seconds between the timestamp and ``now``, both ways;
        ``None`` disables the timestamp check.
    :param now: current unix time (for tests); ``None`` means ``time.time()``.
    """
    keys = _secret_list(secrets)
    if header is None or not header.strip():
        raise SignatureVerificationError(
            SignatureFailure.MISSING_HEADER, f"no {SIGNATURE_HEADER} header"
        )
    ts_part, timestamp, candidates = _parse_header(header)

    # What is signed is the timestamp part as sent; a bare timestamp may also stand for "t=<ts>".
    signed_parts = {ts_part, f"t={timestamp}"}
    matched = False
    for key in keys:
        for part in signed_parts:
            expected = _digest(key, part, payload)
            for candidate in candidates:
                matched |= hmac.compare_digest(expected, candidate)
    if not matched:
        raise SignatureVerificationError(
            SignatureFailure.NO_MATCHING_SIGNATURE,
            f"none of {len(candidates)} signature(s) matches any of {len(keys)} secret(s)",
            header=header,
            timestamp=timestamp,
        )

    if tolerance is not None:
        if tolerance < 0:
            raise ValueError("tolerance must be non-negative")
        current = time.time() if now is None else now
        age = current - timestamp
        if age > tolerance:
            raise SignatureVerificationError(
                SignatureFailure.TIMESTAMP_TOO_OLD,
                f"timestamp {timestamp} is {age:.0f}s old, tolerance is {tolerance:.0f}s",
                header=header,
                timestamp=timestamp,
            )
        if -age > tolerance:
            raise SignatureVerificationError(
                SignatureFailure.TIMESTAMP_IN_FUTURE,
                f"timestamp {timestamp} is {-age:.0f}s ahead, tolerance is {tolerance:.0f}s",
                header=header,
                timestamp=timestamp,
            )
    return timestamp


def construct_event(
    payload: bytes,
    header: str | None,
    secrets: str | Sequence[str],
    *,
    tolerance: float | None = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> Event:
    """Verify a delivery (see :func:`verify`), then parse its body as an :class:`Event`.

    Raises :class:`SignatureVerificationError` before the body is parsed, and
    ``pydantic.ValidationError`` if a correctly signed body is not an event.
    """
    verify(payload, header, secrets, tolerance=tolerance, now=now)
    return Event.model_validate_json(payload)
