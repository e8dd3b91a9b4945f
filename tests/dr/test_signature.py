"""Webhook signatures: known vectors, tampering, clocks, rotation, malformed headers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from affluent.dr import (
    SIGNATURE_HEADER,
    SignatureFailure,
    SignatureVerificationError,
    construct_event,
    sign,
    verify,
)

SECRET = "whsec_test_0123456789abcdef"
OLD_SECRET = "whsec_test_old_fedcba9876543210"
TS = 1_709_633_463
BODY = (
    b'{"id":"evt-1","type":"order.accepted",'
    b'"data":{"object":{"id":"248817650336"}},"liveMode":false}'
)


def reference_signature(secret: str, ts_part: str, body: bytes) -> str:
    """Computed here, independently of the module under test."""
    mac = hmac.new(secret.encode(), ts_part.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def reason_of(excinfo: pytest.ExceptionInfo[SignatureVerificationError]) -> SignatureFailure:
    return excinfo.value.reason


def test_header_name() -> None:
    assert SIGNATURE_HEADER == "DigitalRiver-Signature"


def test_sign_matches_independent_vector() -> None:
    expected = f"t={TS}, {reference_signature(SECRET, f't={TS}', BODY)}"
    assert sign(BODY, SECRET, timestamp=TS) == expected


def test_sign_with_several_secrets_lists_one_signature_each_in_order() -> None:
    header = sign(BODY, [OLD_SECRET, SECRET], timestamp=TS)
    ts_part, *sigs = [p.strip() for p in header.split(",")]
    assert ts_part == f"t={TS}"
    assert sigs == [
        reference_signature(OLD_SECRET, ts_part, BODY),
        reference_signature(SECRET, ts_part, BODY),
    ]


def test_sign_defaults_to_current_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("time.time", lambda: 1_800_000_000.7)
    assert sign(BODY, SECRET).startswith("t=1800000000, ")


def test_verify_accepts_and_returns_timestamp() -> None:
    header = f"t={TS}, {reference_signature(SECRET, f't={TS}', BODY)}"
    assert verify(BODY, header, SECRET, now=TS + 10) == TS


def test_verify_accepts_bare_timestamp_signed_as_sent() -> None:
    header = f"{TS},{reference_signature(SECRET, str(TS), BODY)}"
    assert verify(BODY, header, SECRET, now=TS) == TS


def test_verify_accepts_bare_timestamp_signed_in_t_form() -> None:
    header = f"{TS}, {reference_signature(SECRET, f't={TS}', BODY)}"
    assert verify(BODY, header, SECRET, now=TS) == TS


@pytest.mark.parametrize("prefix", ["v0=", "v1=", "v12="])
def test_verify_strips_version_prefix(prefix: str) -> None:
    header = f"t={TS}, {prefix}{reference_signature(SECRET, f't={TS}', BODY)}"
    assert verify(BODY, header, SECRET, now=TS) == TS


def test_tampered_body_is_rejected() -> None:
    header = sign(BODY, SECRET, timestamp=TS)
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY.replace(b"accepted", b"blocked"), header, SECRET, now=TS)
    assert reason_of(excinfo) is SignatureFailure.NO_MATCHING_SIGNATURE


def test_tampered_timestamp_is_rejected() -> None:
    header = sign(BODY, SECRET, timestamp=TS).replace(f"t={TS}", f"t={TS + 1}")
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS)
    assert reason_of(excinfo) is SignatureFailure.NO_MATCHING_SIGNATURE


def test_wrong_secret_is_rejected_and_secret_not_leaked() -> None:
    header = sign(BODY, "whsec_attacker_guess", timestamp=TS)
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS)
    assert reason_of(excinfo) is SignatureFailure.NO_MATCHING_SIGNATURE
    err = excinfo.value
    for text in (str(err), repr(err), repr(err.args)):
        assert SECRET not in text


def test_stale_timestamp_is_rejected_after_signature_passes() -> None:
    header = sign(BODY, SECRET, timestamp=TS)
    assert verify(BODY, header, SECRET, now=TS + 300) == TS
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS + 301)
    assert reason_of(excinfo) is SignatureFailure.TIMESTAMP_TOO_OLD
    assert excinfo.value.timestamp == TS


def test_future_timestamp_is_rejected() -> None:
    header = sign(BODY, SECRET, timestamp=TS)
    assert verify(BODY, header, SECRET, now=TS - 300) == TS
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS - 301)
    assert reason_of(excinfo) is SignatureFailure.TIMESTAMP_IN_FUTURE


def test_custom_tolerance_and_disabled_check() -> None:
    header = sign(BODY, SECRET, timestamp=TS)
    with pytest.raises(SignatureVerificationError):
        verify(BODY, header, SECRET, tolerance=5, now=TS + 6)
    assert verify(BODY, header, SECRET, tolerance=None, now=TS + 10**6) == TS


def test_bad_signature_wins_over_stale_timestamp() -> None:
    """An unsigned timestamp means nothing, so the signature is judged first."""
    header = sign(BODY, "other", timestamp=TS)
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS + 10_000)
    assert reason_of(excinfo) is SignatureFailure.NO_MATCHING_SIGNATURE


@pytest.mark.parametrize(
    ("signing", "active"),
    [
        ([OLD_SECRET, SECRET], SECRET),  # endpoint already on the new secret
        ([OLD_SECRET, SECRET], OLD_SECRET),  # endpoint still on the old secret
        ([SECRET], [OLD_SECRET, SECRET]),  # DR dropped the old one, endpoint keeps both
        ([OLD_SECRET], [OLD_SECRET, SECRET]),
    ],
)
def test_rotation_any_active_secret_matches_any_signature(
    signing: list[str], active: str | list[str]
) -> None:
    header = sign(BODY, signing, timestamp=TS)
    assert verify(BODY, header, active, now=TS) == TS


def test_rotation_fails_when_no_secret_overlaps() -> None:
    header = sign(BODY, [OLD_SECRET, SECRET], timestamp=TS)
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, ["whsec_a", "whsec_b"], now=TS)
    assert reason_of(excinfo) is SignatureFailure.NO_MATCHING_SIGNATURE


@pytest.mark.parametrize("header", [None, "", "   "])
def test_missing_header(header: str | None) -> None:
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS)
    assert reason_of(excinfo) is SignatureFailure.MISSING_HEADER


@pytest.mark.parametrize(
    "header",
    [
        "garbage",
        f"t={TS}",  # no signature
        f"t={TS}, ",  # empty signature
        "t=abc, c2lnbmF0dXJl",
        "t=-5, c2lnbmF0dXJl",
        "c2lnbmF0dXJl, c2lnbmF0dXJl",  # no timestamp first
        f"t={TS}.5, c2lnbmF0dXJl",
    ],
)
def test_malformed_header(header: str) -> None:
    with pytest.raises(SignatureVerificationError) as excinfo:
        verify(BODY, header, SECRET, now=TS)
    assert reason_of(excinfo) is SignatureFailure.MALFORMED_HEADER


@pytest.mark.parametrize("secrets", ["", [], [""]])
def test_empty_secrets_are_a_configuration_error(secrets: str | list[str]) -> None:
    with pytest.raises(ValueError, match="secret"):
        verify(BODY, sign(BODY, "x", timestamp=TS), secrets, now=TS)
    with pytest.raises(ValueError, match="secret"):
        sign(BODY, secrets, timestamp=TS)


def test_construct_event_verifies_then_parses() -> None:
    header = sign(BODY, SECRET, timestamp=TS)
    event = construct_event(BODY, header, SECRET, now=TS)
    assert event.id == "evt-1"
    assert event.type == "order.accepted"
    assert event.data.object["id"] == "248817650336"


def test_construct_event_rejects_before_parsing() -> None:
    """A forged body that is not even JSON must fail on the signature, not on parsing."""
    header = sign(BODY, SECRET, timestamp=TS)
    with pytest.raises(SignatureVerificationError):
        construct_event(b"not json at all", header, SECRET, now=TS)


def test_construct_event_signed_non_event_raises_validation_error() -> None:
    body = json.dumps({"hello": "world"}).encode()
    with pytest.raises(ValidationError):
        construct_event(body, sign(body, SECRET, timestamp=TS), SECRET, now=TS)


@given(
    body=st.binary(max_size=512),
    secret=st.text(min_size=1, max_size=40),
    ts=st.integers(min_value=0, max_value=4_102_444_800),
)
def test_sign_verify_roundtrip_property(body: bytes, secret: str, ts: int) -> None:
    header = sign(body, secret, timestamp=ts)
    assert verify(body, header, secret, now=ts) == ts
    assert header == f"t={ts}, {reference_signature(secret, f't={ts}', body)}"
