"""What the sync and async clients share: configuration, request building, retry decisions and
error mapping. Nothing here does I/O; the clients run the loop and call these pieces."""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Generic, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from affluent import __version__
from affluent.dr.errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DigitalRiverError,
    InternalServerError,
    NotFoundError,
    OrderDeclinedError,
    PermissionDeniedError,
    RateLimitError,
)
from affluent.dr.models import ErrorDetail, ErrorEnvelope

log = logging.getLogger("affluent.dr")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.digitalriver.com"
DEFAULT_API_VERSION = "2021-12-13"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=5.0)
DEFAULT_MAX_RETRIES = 3
INITIAL_RETRY_DELAY = 0.5
MAX_RETRY_DELAY = 8.0
DEFAULT_MAX_RETRY_WAIT = 60.0
API_KEY_ENV = "AFFLUENT_DR_API_KEY"
BASE_URL_ENV = "AFFLUENT_DR_BASE_URL"

UPSTREAM_ID_HEADER = "upstream-id"
VERSION_HEADER = "digitalriver-version"

# Transport failures raised before any byte of the request can have reached DR.
_NOT_SENT: tuple[type[httpx.TransportError], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)
_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Resend(Enum):
    """May a request be sent again after an attempt whose outcome is unknown?"""

    ALWAYS = "always"
    """Reads, updates, deletes, and creates DR deduplicates or that move no money."""
    ONLY_IF_NOT_SENT = "only_if_not_sent"
    """Money-moving creates (orders, fulfillments, refunds, returns): resent only after a 429 or
    a failure to connect; never after a timeout, a dropped connection or a 5xx."""


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One logical API call: what to send, how to read a 2xx answer, and its resend policy."""

    method: str
    path: str
    parse: Callable[[bytes], T]
    params: tuple[tuple[str, str], ...] = ()
    body: Mapping[str, Any] | None = field(default=None, repr=False)
    resend: Resend = Resend.ALWAYS

    @property
    def is_write(self) -> bool:
        return self.method not in _READ_METHODS


@dataclass(frozen=True, slots=True)
class Retry:
    """Decision: wait ``delay`` seconds, then send the same request again."""

    delay: float


@dataclass(slots=True)
class Attempts:
    """Progress of one logical call across its attempts."""

    upstream_id: str
    count: int = 0
    ambiguous: bool = False
    """Set once any attempt of a write ended in a way that may have left an effect at DR."""


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """Settings shared by :class:`DigitalRiver` and :class:`AsyncDigitalRiver`."""

    api_key: str = field(repr=False)
    base_url: str
    api_version: str
    timeout: httpx.Timeout
    max_retries: int
    max_retry_wait: float
    initial_retry_delay: float = INITIAL_RETRY_DELAY
    max_retry_delay: float = MAX_RETRY_DELAY


def resolve_config(
    *,
    api_key: str | None,
    base_url: str | None,
    api_version: str,
    timeout: float | httpx.Timeout,
    max_retries: int,
    max_retry_wait: float,
) -> ClientConfig:
    """Fill in environment defaults and check the settings."""
    key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
    if not key:
        raise DigitalRiverError(f"no Digital River API key: pass api_key=... or set {API_KEY_ENV}")
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    if max_retries < 0:
        raise ValueError("max_retries must be >= 0")
    if max_retry_wait < 0:
        raise ValueError("max_retry_wait must be >= 0")
    return ClientConfig(
        api_key=key,
        base_url=url.rstrip("/"),
        api_version=api_version,
        timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
        max_retries=max_retries,
        max_retry_wait=max_retry_wait,
    )


def mask_key(key: str) -> str:
    """Show only the key's kind (``sk_test_***``), never any of its secret part."""
    parts = key.split("_")
    if len(parts) >= 3 and all(p.isalpha() and len(p) <= 5 for p in parts[:2]):
        return f"{parts[0]}_{parts[1]}_***"
    return "***"


def new_upstream_id() -> str:
    return str(uuid.uuid4())


def request_args(config: ClientConfig, call: Call[Any], upstream_id: str) -> dict[str, Any]:
    """Keyword arguments for ``httpx.Client.build_request`` (same request on every attempt)."""
    headers = {
        "Authorization": f"Bearer {config.api_key}",
        VERSION_HEADER: config.api_version,
        "Accept": "application/json",
        UPSTREAM_ID_HEADER: upstream_id,
        "User-Agent": f"affluent/{__version__} httpx/{httpx.__version__}",
    }
    content = None
    if call.body is not None:
        headers["Content-Type"] = "application/json"
        content = json.dumps(call.body, separators=(",", ":")).encode()
    return {
        "method": call.method,
        "url": config.base_url + call.path,
        "params": list(call.params),
        "headers": headers,
        "content": content,
        "timeout": config.timeout,
    }


# --- retry decisions ----------------------------------------------------------------------------


def backoff_delay(config: ClientConfig, retries_done: int, rand: float) -> float:
    """Capped exponential backoff with jitter: a random point in [half, all] of the step."""
    step = min(config.initial_retry_delay * 2.0**retries_done, config.max_retry_delay)
    return step * (1.0 - 0.5 * rand)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds from a ``Retry-After`` header (integer/decimal seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        current = time.time() if now is None else now
        seconds = when.timestamp() - current
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(seconds, 0.0)


def after_transport_error(
    config: ClientConfig, call: Call[Any], exc: httpx.TransportError, state: Attempts, rand: float
) -> Retry | APIConnectionError:
    """Decide what a transport failure means: retry, or the error to raise."""
    reached_dr = not isinstance(exc, _NOT_SENT)
    if call.is_write and reached_dr:
        state.ambiguous = True
    resendable = call.resend is Resend.ALWAYS or not reached_dr
    if resendable and state.count <= config.max_retries:
        return Retry(backoff_delay(config, state.count - 1, rand))
    cls = APITimeoutError if isinstance(exc, httpx.TimeoutException) else APIConnectionError
    error = cls(
        method=call.method,
        path=call.path,
        upstream_id=state.upstream_id,
        ambiguous=state.ambiguous,
        attempts=state.count,
        cause=exc,
    )
    error.__cause__ = exc
    return error


def after_response(
    config: ClientConfig, call: Call[Any], response: httpx.Response, state: Attempts, rand: float
) -> Retry | APIStatusError | None:
    """Decide what an HTTP answer means: ``None`` for success, a retry, or the error to raise."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    if call.is_write and (status >= 500 or status == 408):
        state.ambiguous = True
    retryable = status == 429 or (call.resend is Resend.ALWAYS and (status == 408 or status >= 500))
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retryable and state.count <= config.max_retries:
        if retry_after is None or retry_after <= config.max_retry_wait:
            delay = max(backoff_delay(config, state.count - 1, rand), retry_after or 0.0)
            return Retry(delay)
        log.info(
            "%s %s: Retry-After %.0fs exceeds max_retry_wait %.0fs; not waiting",
            call.method,
            call.path,
            retry_after,
            config.max_retry_wait,
        )
    return make_status_error(config, call, response, state, retry_after)


# --- errors -------------------------------------------------------------------------------------

_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    429: RateLimitError,
}


def _redact(value: Any, secret: str) -> Any:
    if isinstance(value, str):
        return value.replace(secret, "***") if secret in value else value
    if isinstance(value, list):
        return [_redact(v, secret) for v in value]
    if isinstance(value, dict):
        return {k: _redact(v, secret) for k, v in value.items()}
    return value


def _status_error_class(call: Call[Any], status: int) -> type[APIStatusError]:
    if status == 409 and call.method == "POST" and call.path == "/orders":
        return OrderDeclinedError
    if status >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status, APIStatusError)


def make_status_error(
    config: ClientConfig,
    call: Call[Any],
    response: httpx.Response,
    state: Attempts,
    retry_after: float | None = None,
) -> APIStatusError:
    """Map a non-2xx answer to the matching exception, with DR's error envelope parsed.

    The API key is scrubbed from anything copied out of the body.
    """
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    body = _redact(body, config.api_key)
    err_type: str | None = None
    errors: list[ErrorDetail] = []
    if isinstance(body, dict):
        try:
            envelope = ErrorEnvelope.model_validate(body)
        except ValidationError:
            envelope = ErrorEnvelope()
        err_type, errors = envelope.type, envelope.errors
    elif isinstance(body, str) and body.strip():
        errors = [ErrorDetail(message=body.strip()[:500])]
    cls = _status_error_class(call, response.status_code)
    error = cls(
        method=call.method,
        path=call.path,
        status_code=response.status_code,
        type=err_type,
        errors=errors,
        body=body,
        response=response,
        upstream_id=state.upstream_id,
        ambiguous=state.ambiguous,
        attempts=state.count,
    )
    if isinstance(error, RateLimitError):
        error.retry_after = retry_after
    return error


def _describe_parse_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in e['loc']) or '<body>'}: {e['msg']}" for e in exc.errors()
        ]
        return "; ".join(parts[:3]) + ("; ..." if len(parts) > 3 else "")
    return str(exc)


def parse_success(call: Call[T], response: httpx.Response, state: Attempts) -> T:
    """Read a 2xx body with the call's parser; a body that doesn't fit raises a typed error."""
    try:
        return call.parse(response.content)
    except (ValidationError, ValueError) as exc:
        error = APIResponseValidationError(
            method=call.method,
            path=call.path,
            status_code=response.status_code,
            upstream_id=state.upstream_id,
            ambiguous=call.is_write,
            body=response.content,
            detail=_describe_parse_error(exc),
        )
        raise error from exc


# --- parsers ------------------------------------------------------------------------------------

M = TypeVar("M", bound=BaseModel)


def model_parser(model: type[M]) -> Callable[[bytes], M]:
    """Parser reading a body as ``model``."""

    def parse(content: bytes) -> M:
        return model.model_validate_json(content)

    return parse


def parse_nothing(content: bytes) -> None:
    """Parser for answers whose body (often empty, 204) carries nothing the caller needs."""
    return None
