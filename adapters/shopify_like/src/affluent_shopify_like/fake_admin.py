"""The Admin API of the platform fake: an ASGI app over a :class:`FakeStore`.

It accepts what the adapter writes and nothing else, answering like Shopify does:

- ``GET|PUT /admin/api/{version}/orders/{id}.json`` and ``.../checkouts/{token}.json``;
- ``POST /admin/api/{version}/orders/{id}/cancel.json`` (``422`` if already cancelled);
- ``401`` without the right ``X-Shopify-Access-Token``, ``404`` for another API version or an
  unknown order, ``422`` for fields it does not know, unknown status words or line ids that
  are not in the order;
- every answer carries ``X-Shopify-Shop-Api-Call-Limit``; :meth:`AdminLog.throttle` makes the
  next calls answer ``429`` with ``Retry-After``.

Accepted writes are recorded in :attr:`AdminLog.writes`, refused ones in ``rejected``.
"""

from __future__ import annotations

import copy
import threading
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from affluent_shopify_like.fake_store import FakeStore

FINANCIAL = {
    "pending",
    "authorized",
    "partially_paid",
    "paid",
    "partially_refunded",
    "refunded",
    "voided",
}
FULFILLMENT = {None, "fulfilled", "partial", "restocked"}
CANCEL_REASONS = {"customer", "fraud", "inventory", "declined", "other"}
WRITABLE = {
    "id",
    "financial_status",
    "fulfillment_status",
    "tags",
    "metafields",
    "tax_lines",
    "line_items",
    "currency",
    "subtotal_price",
    "total_discounts",
    "total_shipping_price",
    "total_tax",
    "total_price",
    "note",
}
BUCKET_SIZE = 40


@dataclass(frozen=True)
class AdminWrite:
    method: str
    path: str
    body: dict[str, Any]


@dataclass
class AdminLog:
    """What the adapter asked of the Admin API, and the knobs tests turn."""

    access_token: str
    api_version: str
    writes: list[AdminWrite] = field(default_factory=list)
    rejected: list[tuple[AdminWrite, int, Any]] = field(default_factory=list)
    calls: int = 0
    bucket_used: int = 1
    """Reported as ``used`` in ``X-Shopify-Shop-Api-Call-Limit: used/40``."""
    _throttled: int = 0
    _retry_after: str = "1.0"
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def throttle(self, calls: int, retry_after: str = "0.01") -> None:
        """Answer the next ``calls`` Admin calls with 429 and this ``Retry-After``."""
        with self._lock:
            self._throttled, self._retry_after = calls, retry_after


def admin_app(store: FakeStore, log: AdminLog) -> Starlette:
    """The ASGI app serving the fake's Admin API."""

    def answer(status: int, content: Any) -> JSONResponse:
        headers = {
            "X-Shopify-Shop-Api-Call-Limit": f"{min(log.bucket_used, BUCKET_SIZE)}/{BUCKET_SIZE}"
        }
        return JSONResponse(content, status_code=status, headers=headers)

    async def handle(request: Request) -> JSONResponse:
        method, path = request.method, request.url.path
        body: dict[str, Any] = {}
        if method in ("PUT", "POST"):
            try:
                parsed = await request.json()
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                return refuse(
                    AdminWrite(method, path, {}), 400, {"error": "body is not a JSON object"}
                )
            body = parsed
        write = AdminWrite(method, path, copy.deepcopy(body))
        with log._lock:
            log.calls += 1
            if log._throttled > 0:
                log._throttled -= 1
                response = answer(429, {"errors": "Exceeded 2 calls per second for api client."})
                response.headers["Retry-After"] = log._retry_after
                return response
        if request.headers.get("X-Shopify-Access-Token") != log.access_token:
            return refuse(
                write,
                401,
                {
                    "errors": "[API] Invalid API key or access token "
                    "(unrecognized login or wrong password)"
                },
            )
        if request.path_params["version"] != log.api_version:
            return refuse(write, 404, {"errors": "Not Found"})
        collection, ref = request.path_params["collection"], request.path_params["ref"]
        cancelling = path.endswith("/cancel.json")
        if collection not in ("orders", "checkouts") or (cancelling and collection != "orders"):
            return refuse(write, 404, {"errors": "Not Found"})
        with store.lock:
            items = store.orders if collection == "orders" else store.checkouts
            resource = items.get(ref)
            if resource is None:
                return refuse(write, 404, {"errors": "Not Found"})
            key = collection[:-1]
            if method == "GET":
                return answer(200, {key: _pick(resource, request.query_params.get("fields"))})
            if cancelling:
                return cancel(write, resource, body)
            problem = _update(resource, key, body)
            if problem is not None:
                return refuse(write, *problem)
            log.writes.append(write)
            return answer(200, {key: copy.deepcopy(resource)})

    def cancel(write: AdminWrite, order: dict[str, Any], body: dict[str, Any]) -> JSONResponse:
        if order.get("cancelled_at"):
            return refuse(write, 422, {"errors": {"base": ["Order has already been cancelled"]}})
        reason = body.get("reason", "other")
        if reason not in CANCEL_REASONS:
            return refuse(
                write, 422, {"errors": {"reason": [f"{reason!r} is not a cancel reason"]}}
            )
        order["cancelled_at"] = order["closed_at"] = store.now()
        order["cancel_reason"] = reason
        log.writes.append(write)
        return answer(200, {"order": copy.deepcopy(order)})

    def refuse(write: AdminWrite, status: int, content: Any) -> JSONResponse:
        log.rejected.append((write, status, content))
        return answer(status, content)

    version = "/admin/api/{version}/{collection:str}/{ref}"
    return Starlette(
        routes=[
            Route(version + ".json", handle, methods=["GET", "PUT"]),
            Route(version + "/cancel.json", handle, methods=["POST"]),
        ]
    )


def _pick(resource: dict[str, Any], fields: str | None) -> dict[str, Any]:
    if not fields:
        return copy.deepcopy(resource)
    wanted = {name.strip() for name in fields.split(",")}
    return {key: copy.deepcopy(value) for key, value in resource.items() if key in wanted}


def _update(resource: dict[str, Any], key: str, body: dict[str, Any]) -> tuple[int, Any] | None:
    """Apply a PUT to ``resource``; ``(status, errors)`` when it is refused (nothing changes)."""
    fields = body.get(key)
    if not isinstance(fields, dict):
        return 400, {"errors": {key: "Required parameter missing or invalid"}}
    unknown = sorted(set(fields) - WRITABLE)
    if unknown:
        return 422, {"errors": {name: ["is not writable"] for name in unknown}}
    if "id" in fields and str(fields["id"]) != str(resource.get("id", resource.get("token"))):
        return 422, {"errors": {"id": [f"{fields['id']} is not this {key}"]}}
    if "financial_status" in fields and fields["financial_status"] not in FINANCIAL:
        return 422, {"errors": {"financial_status": [f"{fields['financial_status']!r} is invalid"]}}
    if "fulfillment_status" in fields and fields["fulfillment_status"] not in FULFILLMENT:
        return 422, {
            "errors": {"fulfillment_status": [f"{fields['fulfillment_status']!r} is invalid"]}
        }
    if "currency" in fields and fields["currency"] != resource.get("currency"):
        return 422, {"errors": {"currency": ["does not match the order's currency"]}}
    if "tags" in fields and not isinstance(fields["tags"], str):
        return 422, {"errors": {"tags": ["must be a comma-separated string"]}}
    metafields = fields.get("metafields", [])
    if not isinstance(metafields, list) or not all(
        isinstance(m, dict) and {"namespace", "key", "value"} <= set(m) for m in metafields
    ):
        return 422, {"errors": {"metafields": ["each needs namespace, key and value"]}}
    lines = {str(line["id"]): line for line in resource.get("line_items", [])}
    updates = fields.get("line_items") or []
    strangers = [str(line.get("id")) for line in updates if str(line.get("id")) not in lines]
    if strangers:
        return 422, {
            "errors": {"line_items": [f"line {ref} is not in this {key}" for ref in strangers]}
        }
    for line in updates:
        target = lines[str(line["id"])]
        target.update({name: copy.deepcopy(value) for name, value in line.items() if name != "id"})
    for name, value in fields.items():
        if name in ("id", "line_items"):
            continue
        if name == "metafields":
            _upsert_metafields(resource, value)
        else:
            resource[name] = copy.deepcopy(value)
    return None


def _upsert_metafields(resource: dict[str, Any], metafields: list[dict[str, Any]]) -> None:
    current = resource.setdefault("metafields", [])
    for metafield in metafields:
        for existing in current:
            if (existing["namespace"], existing["key"]) == (
                metafield["namespace"],
                metafield["key"],
            ):
                existing.update(metafield)
                break
        else:
            current.append(copy.deepcopy(metafield))
