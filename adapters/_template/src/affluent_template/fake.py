"""The platform fake: an ASGI app that records the adapter's writes, and payload builders."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from affluent.models import DemoCart
from affluent_template.plugin import SIGNATURE_HEADER


class TemplateFake:
    """Holds what the platform was told; checks the token like the real platform would."""

    def __init__(self) -> None:
        self.token = secrets.token_hex(8)
        self.webhook_secret = secrets.token_hex(16)
        self.writes: list[tuple[str, str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self.app = Starlette(routes=[Route("/orders/{ref}/{kind}", self._write, methods=["PUT"])])

    async def _write(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"error": "bad token"}, status_code=401)
        with self._lock:
            self.writes.append(
                (request.path_params["ref"], request.path_params["kind"], await request.json())
            )
        return Response(status_code=204)

    def client_config(self, base_url: str) -> Mapping[str, Any]:
        return {"base_url": base_url, "token": self.token, "webhook_secret": self.webhook_secret}

    def checkout_payload(self, cart: DemoCart) -> Mapping[str, Any]:
        return {
            "order": cart.order_ref,
            "currency": cart.currency,
            "email": cart.email,
            "customer_id": cart.customer_id,
            "shipping": "4.00",
            "ship_to": {
                "name": cart.name,
                "street": "12 Elm Ave",
                "city": "St Paul",
                "zip": "55102",
                "region": "MN",
                "country": cart.country,
            },
            "items": [
                {"line": ref, "sku": sku, "qty": qty, "unit_price": str(price)}
                for ref, sku, qty, price in cart.lines
            ],
        }

    def payment_payload(self, order_ref: str, source_id: str, save: bool) -> Mapping[str, Any]:
        return {"order": order_ref, "source_id": source_id, "save_card": save}

    def line_payload(
        self,
        order_ref: str,
        change_ref: str,
        changes: Sequence[tuple[str, int, int]],
        tracking: Mapping[str, str] | None = None,
    ) -> Mapping[str, Any]:
        payload: dict[str, Any] = {
            "order": order_ref,
            "shipment": change_ref,
            "items": [
                {"line": ref, "shipped": shipped, "cancelled": cancelled}
                for ref, shipped, cancelled in changes
            ],
        }
        if tracking:
            payload |= {"carrier": tracking.get("company"), "tracking": tracking.get("number")}
        return payload

    def signed_line_webhook(
        self, order_ref: str, change_ref: str, changes: Sequence[tuple[str, int, int]]
    ) -> tuple[dict[str, str], bytes]:
        body = json.dumps(self.line_payload(order_ref, change_ref, changes)).encode()
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        return {SIGNATURE_HEADER: signature, "content-type": "application/json"}, body

    def platform_status(self, order_ref: str) -> str:
        with self._lock:
            statuses = [
                body["status"]
                for ref, kind, body in self.writes
                if ref == order_ref and kind == "status"
            ]
        return statuses[-1] if statuses else "(none)"
