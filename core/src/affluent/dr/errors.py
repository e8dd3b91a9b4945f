"""The exceptions raised by :mod:`affluent.dr`.

::

    DigitalRiverError
    ├── SignatureVerificationError          webhook signature rejected (see .reason)
    ├── APIConnectionError                  no HTTP answer (refused, reset, dropped)
    │   └── APITimeoutError
    ├── APIResponseValidationError          2xx answer whose body is not the expected object
    └── APIStatusError                      DR answered with a non-2xx status
        ├── BadRequestError                 400
        ├── AuthenticationError             401
        ├── PermissionDeniedError           403
        ├── NotFoundError                   404 (.is_consumed_checkout)
        ├── ConflictError                   409
        │   └── OrderDeclinedError          409 on POST /orders: no order exists
        ├── RateLimitError                  429 (.retry_after)
        └── InternalServerError             5xx

Every error has ``ambiguous``: True when the failed call was a write that may nevertheless have
taken effect at Digital River (timeout or dropped connection after sending, 5xx). Look the object
up before sending such a write again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

import httpx

from affluent.dr.models import ErrorDetail

__all__ = [
    "APIConnectionError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "DigitalRiverError",
    "InternalServerError",
    "NotFoundError",
    "OrderDeclinedError",
    "PermissionDeniedError",
    "RateLimitError",
    "SignatureFailure",
    "SignatureVerificationError",
]

DEFAULT_DECLINE_MESSAGE = (
    "Your payment could not be completed. Please check your details or use another payment method."
)


class DigitalRiverError(Exception):
    """Base of every error raised by :mod:`affluent.dr`."""

    ambiguous: bool = False
    """True when a write may have taken effect at Digital River despite this error."""
    upstream_id: str | None = None
    """The ``upstream-id`` header sent with the failed call (``None`` for local errors)."""


# --- webhook signatures -------------------------------------------------------------------------


class SignatureFailure(StrEnum):
    """Why a ``DigitalRiver-Signature`` header was rejected."""

    MISSING_HEADER = "missing_header"
    MALFORMED_HEADER = "malformed_header"
    NO_MATCHING_SIGNATURE = "no_matching_signature"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"


class SignatureVerificationError(DigitalRiverError):
    """A webhook delivery failed signature verification; answer it with 400 and do not process.

    Carries the header (it holds signatures, never secrets) and the timestamp when one was read.
    """

    def __init__(
        self,
        reason: SignatureFailure,
        detail: str,
        *,
        header: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        super().__init__(f"{reason.value}: {detail}")
        self.reason = reason
        self.header = header
        self.timestamp = timestamp


# --- transport ----------------------------------------------------------------------------------


def _call_suffix(upstream_id: str | None, attempts: int) -> str:
    parts = []
    if upstream_id:
        parts.append(f"upstream-id {upstream_id}")
    if attempts > 1:
        parts.append(f"after {attempts} attempts")
    return f" ({', '.join(parts)})" if parts else ""


class APIConnectionError(DigitalRiverError):
    """No HTTP answer was received (connection refused, reset, dropped, protocol error)."""

    _kind: ClassVar[str] = "connection error"

    def __init__(
        self,
        *,
        method: str,
        path: str,
        upstream_id: str | None,
        ambiguous: bool,
        attempts: int = 1,
        cause: BaseException | None = None,
    ) -> None:
        self.method = method
        self.path = path
        self.upstream_id = upstream_id
        self.ambiguous = ambiguous
        self.attempts = attempts
        what = type(cause).__name__ if cause is not None else "no answer"
        note = "; the request may have reached Digital River" if ambiguous else ""
        super().__init__(
            f"{method} {path} failed: {self._kind} ({what}){note}"
            f"{_call_suffix(upstream_id, attempts)}"
        )


class APITimeoutError(APIConnectionError):
    """The request timed out (connecting, writing, or waiting for the answer)."""

    _kind: ClassVar[str] = "timed out"


class APIResponseValidationError(DigitalRiverError):
    """DR answered 2xx but the body is not the object the client expected.

    For a write this is ``ambiguous``: the write most likely took effect.
    """

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status_code: int,
        upstream_id: str | None,
        ambiguous: bool,
        body: bytes,
        detail: str,
    ) -> None:
        self.method = method
        self.path = path
        self.status_code = status_code
        self.upstream_id = upstream_id
        self.ambiguous = ambiguous
        self.body = body
        super().__init__(
            f"{method} {path} -> {status_code}: unexpected response body: {detail}"
            f"{_call_suffix(upstream_id, 1)}"
        )


# --- HTTP status errors -------------------------------------------------------------------------


class APIStatusError(DigitalRiverError):
    """Digital River answered with a non-2xx status; carries the parsed error envelope."""

    def __init__(
        self,
        *,
        method: str,
        path: str,
        status_code: int,
        type: str | None,
        errors: list[ErrorDetail],
        body: Any,
        response: httpx.Response | None = None,
        upstream_id: str | None = None,
        ambiguous: bool = False,
        attempts: int = 1,
    ) -> None:
        self.method = method
        self.path = path
        self.status_code = status_code
        self.type = type
        self.errors = errors
        self.body = body
        self.response = response
        self.upstream_id = upstream_id
        self.ambiguous = ambiguous
        self.attempts = attempts
        super().__init__(self._describe())

    @property
    def code(self) -> str | None:
        """``code`` of the first error entry."""
        return self.errors[0].code if self.errors else None

    @property
    def parameter(self) -> str | None:
        """``parameter`` of the first error entry."""
        return self.errors[0].parameter if self.errors else None

    @property
    def message(self) -> str | None:
        """``message`` of the first error entry (DR's wording; it may change at any time)."""
        return self.errors[0].message if self.errors else None

    def _describe(self) -> str:
        head = f"{self.method} {self.path} -> {self.status_code}"
        if self.type:
            head += f" {self.type}"
        details = []
        for err in self.errors:
            bits = []
            if err.code:
                bits.append(f"code={err.code}")
            if err.parameter:
                bits.append(f"parameter={err.parameter}")
            text = " ".join(bits)
            if err.message:
                text = f"{text}: {err.message}" if text else err.message
            if text:
                details.append(text)
        if details:
            head += ": " + "; ".join(details)
        if self.ambiguous:
            head += "; the request may have taken effect"
        return head + _call_suffix(self.upstream_id, self.attempts)


class BadRequestError(APIStatusError):
    """400: invalid or missing parameter; fixable on the same object."""


class AuthenticationError(APIStatusError):
    """401: missing or invalid API key."""


class PermissionDeniedError(APIStatusError):
    """403: the key may not do this (e.g. a restricted key)."""


class NotFoundError(APIStatusError):
    """404: unknown id, or (on ``POST /orders``) a checkout that already produced an order."""

    @property
    def is_consumed_checkout(self) -> bool:
        """True for a 404 on ``POST /orders``: the checkout already became an order.

        Find that order with ``orders.find_by_checkout(checkout_id)``; do not create another.
        """
        return self.method == "POST" and self.path == "/orders"


class ConflictError(APIStatusError):
    """409: a business conflict (declines, fraud, state conflicts); never retried."""


class OrderDeclinedError(ConflictError):
    """409 on ``POST /orders``: the payment was declined or rejected and no order exists.

    The checkout cannot be reused: build a new checkout for another attempt. ``message`` is safe
    to show the shopper; ``code`` is for logs only.
    """

    @property
    def message(self) -> str:
        """Text to show the shopper: DR's message, or a generic decline text when it sent none."""
        msg = super().message
        return msg if msg and msg.strip() else DEFAULT_DECLINE_MESSAGE


class RateLimitError(APIStatusError):
    """429: rate limited; ``retry_after`` is the wait DR asked for, in seconds, when it said."""

    retry_after: float | None = None


class InternalServerError(APIStatusError):
    """5xx: a failure at Digital River; for writes the outcome is unknown (``ambiguous``)."""
