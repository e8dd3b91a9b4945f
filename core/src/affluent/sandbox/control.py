"""``/_sandbox/...``: test controls that are not part of DR's API (no key needed)."""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from affluent.sandbox import orders, outcomes
from affluent.sandbox.errors import ApiError, invalid
from affluent.sandbox.faults import FaultRule
from affluent.sandbox.fields import require_object
from affluent.sandbox.routing import api, error_response, read_json
from affluent.sandbox.state import API_VERSION
from affluent.sandbox.store import Doc

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

_CAMEL = re.compile(r"_([a-z])")


def camel(value: Any) -> Any:
    """A dataclass (or plain value) as JSON with camelCase keys."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {_CAMEL.sub(lambda m: m[1].upper(), str(k)): camel(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [camel(v) for v in value]
    return value


def _sandbox(request: Request) -> Sandbox:
    sandbox: Sandbox = request.app.state.sandbox
    sandbox.bind_loop()
    return sandbox


def _info(sb: Sandbox, request: Request, body: Any) -> Doc:
    config = sb.config
    counts = {
        name: len(sb.store.values(name))
        for name in (
            "customers",
            "checkouts",
            "sources",
            "orders",
            "fulfillments",
            "refunds",
            "returns",
            "events",
            "webhooks",
        )
    }
    return {
        "apiVersion": API_VERSION,
        "rateLimit": config.rate_limit,
        "resolveDelay": config.resolve_delay,
        "persistPath": config.persist_path,
        "counts": counts,
    }


def _resolve(sb: Sandbox, request: Request, body: Any) -> Doc:
    outcome = require_object(body).string("outcome", required=True) or ""
    return outcomes.resolve(sb, str(request.path_params["id"]), outcome)


def _ledger(sb: Sandbox, request: Request, body: Any) -> Doc:
    order = orders.find(sb, str(request.path_params["id"]))
    items = []
    for item in order["items"]:
        line = order["_lines"][item["id"]]
        items.append(
            {
                "itemId": item["id"],
                **({"skuId": item["skuId"]} if "skuId" in item else {}),
                "quantity": item["quantity"],
                "fulfilled": line["fulfilled"],
                "cancelled": line["cancelled"],
                "returned": line["returned"],
                "open": item["quantity"] - line["fulfilled"] - line["cancelled"],
                "state": item["state"],
            }
        )
    return {"orderId": order["id"], "state": order["state"], "items": items}


async def reset(request: Request) -> Response:
    """``POST /_sandbox/reset``: forget all state, timers, fault rules and deliveries."""
    await _sandbox(request).reset()
    return Response(status_code=204)


async def add_fault(request: Request) -> Response:
    """``POST /_sandbox/faults``: install a fault rule."""
    sandbox = _sandbox(request)
    try:
        f = require_object(await read_json(request))
        f.only(
            (
                "method",
                "path",
                "kind",
                "status",
                "retryAfter",
                "latency",
                "times",
                "code",
                "message",
            )
        )
        kinds = ("status", "latency", "drop_after_commit", "drop_before_commit")
        options: dict[str, Any] = {
            "method": f.string("method") or "*",
            "path": f.string("path", required=True),
            "kind": f.choice("kind", kinds, required=True),
        }
        for name, key in (("status", "status"), ("retryAfter", "retry_after")):
            number = f.integer(name, minimum=0)
            if number is not None:
                options[key] = number
        latency = f.decimal("latency")
        if latency is not None:
            options["latency"] = float(latency)
        if "times" in f.data:
            options["times"] = f.integer("times", minimum=1)
        for name in ("code", "message"):
            text = f.string(name)
            if text is not None:
                options[name] = text
        try:
            rule = FaultRule(**options)
        except ValueError as exc:
            raise invalid("body", str(exc)) from exc
    except ApiError as exc:
        return error_response(exc)
    assert sandbox.faults is not None
    sandbox.faults.add(rule)
    return JSONResponse(camel(rule), 201)


async def list_faults(request: Request) -> Response:
    """``GET /_sandbox/faults``: active rules."""
    faults = _sandbox(request).faults
    return JSONResponse({"data": camel(faults.rules if faults else [])})


async def clear_faults(request: Request) -> Response:
    """``DELETE /_sandbox/faults``: remove every rule."""
    faults = _sandbox(request).faults
    if faults is not None:
        faults.clear()
    return Response(status_code=204)


async def deliveries(request: Request) -> Response:
    """``GET /_sandbox/deliveries``: every webhook delivery attempt so far."""
    dispatcher = _sandbox(request).dispatcher
    return JSONResponse({"pending": dispatcher.pending(), "data": camel(dispatcher.attempts)})


async def drain(request: Request) -> Response:
    """``POST /_sandbox/deliveries/drain``: wait for deliveries (``{"timeout": s}``, def. 30)."""
    sandbox = _sandbox(request)
    try:
        timeout = require_object(await read_json(request)).decimal("timeout")
    except ApiError as exc:
        return error_response(exc)
    seconds = 30.0 if timeout is None else float(timeout)
    try:
        await sandbox.drain(seconds)
    except TimeoutError:
        pending = sandbox.dispatcher.pending()
        message = f"{pending} delivery(ies) still pending after {seconds}s."
        return error_response(ApiError(409, "deliveries_pending", message))
    return JSONResponse({"pending": 0, "data": camel(sandbox.dispatcher.attempts)})


async def redeliver(request: Request) -> Response:
    """``POST /_sandbox/events/{id}/redeliver``: send a stored event again."""
    try:
        event = _sandbox(request).redeliver(str(request.path_params["id"]))
    except ApiError as exc:
        return error_response(exc)
    return JSONResponse({"eventId": event["id"], "type": event["type"]}, 202)


async def get_secrets(request: Request) -> Response:
    """``GET /_sandbox/webhook-secrets``: the active signing secrets."""
    return JSONResponse({"secrets": _sandbox(request).webhook_secrets()})


async def put_secrets(request: Request) -> Response:
    """``PUT /_sandbox/webhook-secrets {"secrets": [...]}``: rotate (list new first)."""
    sandbox = _sandbox(request)
    try:
        f = require_object(await read_json(request))
        f.only(("secrets",))
        secrets = f.strings("secrets", required=True) or []
        if not all(secrets):
            raise invalid("secrets", "Secrets must be non-empty strings.")
    except ApiError as exc:
        return error_response(exc)
    sandbox.set_webhook_secrets(secrets)
    return JSONResponse({"secrets": sandbox.webhook_secrets()})


def routes() -> list[BaseRoute]:
    """The control routes."""
    approve = api(
        lambda sb, r, b: outcomes.approve_source(sb, str(r.path_params["id"])), auth=False
    )
    return [
        Route("/_sandbox", api(_info, auth=False), methods=["GET"]),
        Route("/_sandbox/reset", reset, methods=["POST"]),
        Route(
            "/_sandbox/orders/{id}/resolve", api(_resolve, body=True, auth=False), methods=["POST"]
        ),
        Route("/_sandbox/orders/{id}/ledger", api(_ledger, auth=False), methods=["GET"]),
        Route("/_sandbox/sources/{id}/approve", approve, methods=["POST"]),
        Route("/_sandbox/faults", add_fault, methods=["POST"]),
        Route("/_sandbox/faults", list_faults, methods=["GET"]),
        Route("/_sandbox/faults", clear_faults, methods=["DELETE"]),
        Route("/_sandbox/deliveries", deliveries, methods=["GET"]),
        Route("/_sandbox/deliveries/drain", drain, methods=["POST"]),
        Route("/_sandbox/events/{id}/redeliver", redeliver, methods=["POST"]),
        Route("/_sandbox/webhook-secrets", get_secrets, methods=["GET"]),
        Route("/_sandbox/webhook-secrets", put_secrets, methods=["PUT"]),
    ]
