"""A platform fake for either example shape: serves its orders, accepts writes, signs events.

:class:`GenericRestFake` implements :class:`affluent.platform.PlatformFake`. Its ASGI ``app``

- answers ``GET /orders/{order_ref}`` (under the mapping's base path) with the platform's own
  JSON for carts rendered through :meth:`~GenericRestFake.checkout_payload`;
- accepts the status and tax writes the mapping describes, after checking the auth header
  (401 otherwise) and the body's shape (422 otherwise), and records them;
- can be told to fail the next writes (:meth:`~GenericRestFake.fail_next`), to exercise
  retries.

:meth:`~GenericRestFake.webhook` builds a signed delivery (headers and raw body) exactly as
the platform would send it to ``POST /webhooks/generic_rest``.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from affluent.models import DemoCart, PlatformEventKind
from affluent_generic_rest import webhooks
from affluent_generic_rest.shapes import SHAPES, Shape

__all__ = ["GenericRestFake", "Write", "example_fakes"]


@dataclass(frozen=True)
class Write:
    """One accepted write: what kind, for which order, and the platform's record of it."""

    kind: str
    order_ref: str
    value: Any
    method: str
    path: str
    body: Any


class GenericRestFake:
    """An in-process imitation of one example platform (``nested_shop`` or ``flat_shop``)."""

    def __init__(self, shape: str | Shape = "nested_shop") -> None:
        self.shape = SHAPES[shape] if isinstance(shape, str) else shape
        mapping = self.shape.mapping
        self.token = f"tok_{secrets.token_hex(8)}"
        self.secret = f"whsec_{secrets.token_hex(16)}"
        self._base_path = httpx.URL(mapping.push.base_url or "http://x/").path.rstrip("/")
        self._lock = threading.Lock()
        self._failures = 0
        self.writes: list[Write] = []
        self.rejected: list[tuple[int, str]] = []
        self.orders: dict[str, dict[str, Any]] = {}
        self.app = Starlette(
            routes=[Route("/{path:path}", self._handle, methods=["GET", "POST", "PUT", "PATCH"])]
        )

    @property
    def key(self) -> str:
        return self.shape.key

    @property
    def name(self) -> str:
        return self.shape.name

    # -- PlatformFake ---------------------------------------------------------------------------

    def client_config(self, base_url: str) -> Mapping[str, Any]:
        mapping = self.shape.mapping
        env = {}
        if mapping.push.auth is not None:
            env[mapping.push.auth.env] = self.token
        if mapping.webhooks is not None:
            env[mapping.webhooks.signature.secret_env] = self.secret
        return {
            "mapping": str(self.shape.mapping_path),
            "base_url": base_url.rstrip("/") + self._base_path,
            "allow_private_hosts": True,
            "env": env,
        }

    def checkout_payload(self, cart: DemoCart) -> Mapping[str, Any]:
        payload = self.shape.checkout_payload(cart)
        with self._lock:
            self.orders[cart.order_ref] = payload
        return payload

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> Mapping[str, Any]:
        return self.shape.payment_payload(order_ref, source_id, save)

    def submit_payload(self, order_ref: str) -> Mapping[str, Any]:
        return self.shape.submit_payload(order_ref)

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Sequence[tuple[str, int, int]],
        tracking: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        return self.shape.line_payload(order_ref, change_ref, changes, tracking)

    def platform_status(self, order_ref: str) -> str:
        """The last status word written for ``order_ref``; empty if none was written."""
        statuses = self.statuses(order_ref)
        return statuses[-1] if statuses else ""

    # -- inspection -----------------------------------------------------------------------------

    def statuses(self, order_ref: str) -> list[str]:
        with self._lock:
            return [w.value for w in self.writes if w.kind == "status" and w.order_ref == order_ref]

    def checkout_writes(self, order_ref: str) -> list[Any]:
        with self._lock:
            return [
                w.value for w in self.writes if w.kind == "checkout" and w.order_ref == order_ref
            ]

    def fail_next(self, count: int = 1) -> None:
        """Answer the next ``count`` writes with 503."""
        with self._lock:
            self._failures = count

    # -- webhooks -------------------------------------------------------------------------------

    def webhook(
        self,
        kind: PlatformEventKind,
        payload: Mapping[str, Any],
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> tuple[dict[str, str], bytes]:
        """A signed delivery of ``payload`` as the platform sends it: (headers, raw body)."""
        mapping = self.shape.mapping
        assert mapping.webhooks is not None
        topic = self.shape.topic(kind, payload)
        headers, document = self.shape.envelope(topic, payload)
        body = json.dumps(document, separators=(",", ":")).encode()
        signed = webhooks.sign(
            mapping.webhooks.signature, secret or self.secret, body, timestamp=timestamp
        )
        all_headers = {"Content-Type": "application/json", **headers, **signed}
        return {name.lower(): value for name, value in all_headers.items()}, body

    def signed_line_webhook(
        self, order_ref: str, change_ref: str, changes: Sequence[tuple[str, int, int]]
    ) -> tuple[dict[str, str], bytes]:
        """The signed delivery of a line-item event, as the platform sends it."""
        payload = self.line_payload(order_ref, change_ref, changes)
        return self.webhook(PlatformEventKind.line_changes, payload)

    async def deliver(
        self, url: str, kind: PlatformEventKind, payload: Mapping[str, Any]
    ) -> httpx.Response:
        """POST a signed delivery to ``url`` (e.g. affluent's ``/webhooks/generic_rest``)."""
        headers, body = self.webhook(kind, payload)
        async with httpx.AsyncClient(timeout=10) as client:
            return await client.post(url, content=body, headers=headers)

    # -- the ASGI app ---------------------------------------------------------------------------

    def _authorized(self, request: Request) -> bool:
        auth = self.shape.mapping.push.auth
        if auth is None:
            return True
        expected = auth.format.replace("{value}", self.token)
        given = request.headers.get(auth.header, "")
        return secrets.compare_digest(given.encode(), expected.encode())

    async def _handle(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        if not path.startswith(self._base_path + "/"):
            return JSONResponse({"error": "not found"}, status_code=404)
        path = path[len(self._base_path) :]
        if not self._authorized(request):
            return self._reject(401, "missing or wrong credentials")
        if request.method == "GET":
            return self._get(path)
        with self._lock:
            if self._failures:
                self._failures -= 1
                return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
        try:
            body = await request.json()
        except ValueError:
            return self._reject(400, "body is not JSON")
        try:
            found = self.shape.read_write(request.method, path, body)
        except ValueError as exc:
            return self._reject(422, str(exc))
        if found is None:
            return self._reject(404, f"no endpoint {request.method} {path}")
        kind, order_ref, value = found
        with self._lock:
            self.writes.append(Write(kind, order_ref, value, request.method, path, body))
        return JSONResponse({"ok": True})

    def _get(self, path: str) -> Response:
        if path.startswith("/orders/"):
            ref = path.removeprefix("/orders/").removesuffix(".json")
            with self._lock:
                order = self.orders.get(ref)
            if order is not None:
                return JSONResponse(order)
        return JSONResponse({"error": "not found"}, status_code=404)

    def _reject(self, status: int, message: str) -> Response:
        with self._lock:
            self.rejected.append((status, message))
        return JSONResponse({"error": message}, status_code=status)


def example_fakes() -> dict[str, GenericRestFake]:
    """A fresh fake for each example platform, keyed ``nested_shop`` and ``flat_shop``."""
    return {key: GenericRestFake(key) for key in SHAPES}
