"""Rate limiting and fault injection for the DR sandbox, as an ASGI middleware.

``FaultInjector`` sits in front of the emulator. It enforces DR's per-key rate limit (429 with an
integer ``Retry-After``, blocked before the app runs) and applies ``FaultRule``s: canned error
statuses, latency, and dropped connections before or after the app committed its state change.

A drop raises ``ConnectionDropped`` once the response has started. Under uvicorn that closes the
connection mid-response, so clients see ``httpx.RemoteProtocolError``. In process, wrap the app in
``InProcessTransport`` to get the same client-side error. Paths under ``/_sandbox/`` are exempt.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
import math
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

__all__ = [
    "ConnectionDropped",
    "DropLogFilter",
    "FaultInjector",
    "FaultKind",
    "FaultRecord",
    "FaultRule",
    "InProcessTransport",
    "bearer_key",
    "error_body",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

FaultKind = Literal["status", "latency", "drop_after_commit", "drop_before_commit"]
_KINDS: frozenset[str] = frozenset(("status", "latency", "drop_after_commit", "drop_before_commit"))

EXEMPT_PREFIX = "/_sandbox/"

_ERROR_TYPES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    408: "request_timeout",
    409: "conflict",
    429: "too_many_requests",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ConnectionDropped(Exception):
    """Raised by ``FaultInjector`` to abort a response; the server then closes the connection."""


def error_body(status: int, *, code: str | None = None, message: str | None = None) -> bytes:
    """DR's error envelope ``{"type", "errors": [{"code", "message"}]}`` as JSON bytes."""
    kind = _ERROR_TYPES.get(status, "server_error" if status >= 500 else "bad_request")
    text = message or f"Injected sandbox fault ({status})."
    payload = {"type": kind, "errors": [{"code": code or kind, "message": text}]}
    return json.dumps(payload, separators=(",", ":")).encode()


@dataclass
class FaultRule:
    """One injected fault.

    ``path`` is exact (``/orders``) or has ``*`` segments matching one segment each
    (``/orders/*``); ``"*"`` alone matches every path. ``method`` is a verb or ``"*"``.
    ``times`` is how many matching requests the rule applies to (``None``: until cleared).
    """

    method: str
    path: str
    kind: FaultKind
    status: int = 500
    retry_after: int | None = None
    latency: float = 0.0
    times: int | None = 1
    code: str | None = None
    message: str | None = None
    hits: int = field(default=0, init=False, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}")
        if not (100 <= self.status <= 599):
            raise ValueError(f"bad status {self.status}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None")
        if self.latency < 0:
            raise ValueError("latency must be >= 0")
        if self.retry_after is not None:
            if self.retry_after < 0:
                raise ValueError("retry_after must be >= 0")
            self.retry_after = math.ceil(self.retry_after)  # header carries whole seconds
        if self.path != "*" and not self.path.startswith("/"):
            raise ValueError("path must start with '/' (or be '*')")
        self.method = self.method.upper()

    @property
    def exhausted(self) -> bool:
        """True once the rule has been applied ``times`` times."""
        return self.times is not None and self.hits >= self.times

    def matches(self, method: str, path: str) -> bool:
        """Whether a request ``method path`` is covered by this rule."""
        if self.method != "*" and self.method != method.upper():
            return False
        if self.path == "*":
            return True
        want = self.path.rstrip("/").split("/")
        got = path.rstrip("/").split("/")
        if len(want) != len(got):
            return False
        return all(w == g or (w == "*" and g != "") for w, g in zip(want, got, strict=True))


@dataclass(frozen=True)
class FaultRecord:
    """One injected fault (or rate-limit rejection) in ``FaultInjector.log``."""

    at: float
    kind: str  # a FaultKind or "rate_limit"
    method: str
    path: str
    key: str | None
    status: int | None = None
    rule: FaultRule | None = None


@dataclass
class _Bucket:
    tokens: float
    updated: float


def bearer_key(scope: Scope) -> str | None:
    """The API key of a request: ``Authorization: Bearer <key>`` (or legacy Basic ``<key>:``)."""
    headers: list[tuple[bytes, bytes]] = list(scope.get("headers", ()))
    for name, value in headers:
        if name.lower() != b"authorization":
            continue
        scheme, _, cred = value.decode("latin-1").strip().partition(" ")
        cred = cred.strip()
        if scheme.lower() == "bearer" and cred:
            return cred
        if scheme.lower() == "basic" and cred:
            try:
                user = base64.b64decode(cred, validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user or None
        return None
    return None


class FaultInjector:
    """ASGI middleware: per-key token-bucket rate limit plus ``FaultRule`` injection.

    ``rate_limit`` is requests/second per API key with a burst of the same size (at least 1);
    ``None`` disables it. Requests without a key share one anonymous bucket. Rules are checked
    in insertion order: matching ``latency`` rules sleep and fall through, the first matching
    ``status``/drop rule decides. Rules are removed once exhausted. Thread-safe configuration.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        rate_limit: float | None = 25.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.clock = clock
        self.log: list[FaultRecord] = []
        self._rules: list[FaultRule] = []
        self._buckets: dict[str | None, _Bucket] = {}
        self._lock = threading.Lock()
        self._rate_limit: float | None = None
        self.rate_limit = rate_limit

    # -- configuration -------------------------------------------------------------------

    @property
    def rate_limit(self) -> float | None:
        """Requests per second per key (``None``: unlimited). Setting it resets all buckets."""
        return self._rate_limit

    @rate_limit.setter
    def rate_limit(self, value: float | None) -> None:
        if value is not None and value <= 0:
            raise ValueError("rate_limit must be > 0 or None")
        with self._lock:
            self._rate_limit = value
            self._buckets.clear()

    @property
    def rules(self) -> list[FaultRule]:
        """A snapshot of the active (not yet exhausted) rules."""
        with self._lock:
            return list(self._rules)

    def add(self, rule: FaultRule) -> FaultRule:
        """Install ``rule`` (after existing ones) and return it."""
        with self._lock:
            self._rules.append(rule)
        return rule

    def remove(self, rule: FaultRule) -> None:
        """Uninstall ``rule`` if it is still active."""
        with self._lock:
            self._rules = [r for r in self._rules if r is not rule]

    def clear(self) -> None:
        """Remove every rule (the log and rate-limit buckets are kept)."""
        with self._lock:
            self._rules.clear()

    def reset(self) -> None:
        """Remove every rule, empty the log and refill every rate-limit bucket."""
        with self._lock:
            self._rules.clear()
            self._buckets.clear()
            self.log.clear()

    # -- internals -----------------------------------------------------------------------

    def _take_token(self, key: str | None) -> int | None:
        """Consume one token for ``key``; return a Retry-After (seconds) if none is left."""
        with self._lock:
            rate = self._rate_limit
            if rate is None:
                return None
            capacity = max(rate, 1.0)
            now = self.clock()
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = _Bucket(capacity, now)
            else:
                elapsed = max(0.0, now - bucket.updated)
                bucket.tokens = min(capacity, bucket.tokens + elapsed * rate)
                bucket.updated = now
            if bucket.tokens >= 1.0 - 1e-9:  # tolerate float drift in refills
                bucket.tokens -= 1.0
                return None
            return max(1, math.ceil((1.0 - bucket.tokens) / rate))

    def _select(self, method: str, path: str) -> list[FaultRule]:
        """Consume and return matching latency rules followed by at most one deciding rule."""
        chosen: list[FaultRule] = []
        with self._lock:
            for rule in self._rules:
                if rule.exhausted or not rule.matches(method, path):
                    continue
                rule.hits += 1
                chosen.append(rule)
                if rule.kind != "latency":
                    break
            self._rules = [r for r in self._rules if not r.exhausted]
        return chosen

    def _record(
        self,
        kind: str,
        method: str,
        path: str,
        key: str | None,
        status: int | None = None,
        rule: FaultRule | None = None,
    ) -> None:
        record = FaultRecord(self.clock(), kind, method, path, key, status, rule)
        with self._lock:
            self.log.append(record)

    @staticmethod
    async def _respond(
        send: Send, status: int, body: bytes, retry_after: int | None = None
    ) -> None:
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        if retry_after is not None:
            headers.append((b"retry-after", str(retry_after).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    @staticmethod
    async def _tear(send: Send, start: Message | None, body: bytes) -> None:
        """Send a response start and part of the body, then raise ``ConnectionDropped``."""
        if start is None or not body:
            # Nothing to truncate: announce a body that never comes.
            start = {
                "type": "http.response.start",
                "status": 503,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
            }
            body = b""
        await send(start)
        if body:
            await send(
                {"type": "http.response.body", "body": body[: len(body) // 2], "more_body": True}
            )
        raise ConnectionDropped("sandbox dropped the connection")

    # -- ASGI ----------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == EXEMPT_PREFIX.rstrip("/") or path.startswith(EXEMPT_PREFIX):
            await self.app(scope, receive, send)
            return
        method: str = scope.get("method", "GET")
        key = bearer_key(scope)

        retry_after = self._take_token(key)
        if retry_after is not None:
            self._record("rate_limit", method, path, key, 429)
            body = error_body(429, message="Too many requests; retry after the Retry-After delay.")
            await self._respond(send, 429, body, retry_after)
            return

        for rule in self._select(method, path):
            self._record(
                rule.kind, method, path, key, rule.status if rule.kind == "status" else None, rule
            )
            if rule.kind == "latency":
                await asyncio.sleep(rule.latency)
            elif rule.kind == "status":
                body = error_body(rule.status, code=rule.code, message=rule.message)
                await self._respond(send, rule.status, body, rule.retry_after)
                return
            elif rule.kind == "drop_before_commit":
                await self._tear(send, None, b"")
            else:
                await self._drop_after_commit(scope, receive, send)
        await self.app(scope, receive, send)

    async def _drop_after_commit(self, scope: Scope, receive: Receive, send: Send) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def capture(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, capture)
        await self._tear(send, start, b"".join(chunks))


class InProcessTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` that reports ``ConnectionDropped`` as ``httpx.RemoteProtocolError``.

    Use it to talk to a ``FaultInjector``-wrapped app in process and see drops the way a client
    over real HTTP would.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        root_path: str = "",
        client: tuple[str, int] = ("127.0.0.1", 123),
    ) -> None:
        self._inner = httpx.ASGITransport(app=app, root_path=root_path, client=client)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped as exc:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from exc
        except BaseExceptionGroup as group:
            dropped = group.subgroup(ConnectionDropped)
            if dropped is None:
                raise
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from group

    async def aclose(self) -> None:
        await self._inner.aclose()


class DropLogFilter(logging.Filter):
    """Hide uvicorn's "Exception in ASGI application" traceback for intentional drops.

    ``logging.getLogger("uvicorn.error").addFilter(DropLogFilter())``
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, ConnectionDropped)
