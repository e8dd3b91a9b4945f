"""The sandbox ASGI app: DR's routes, the ``/_sandbox`` control routes, fault injection."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.routing import BaseRoute, Mount, Route

from affluent.sandbox import (
    catalog,
    charges,
    checkouts,
    control,
    customers,
    events,
    fulfillments,
    orders,
    refunds,
    returns,
    sources,
)
from affluent.sandbox.config import SandboxConfig
from affluent.sandbox.faults import FaultInjector
from affluent.sandbox.routing import Operation, api, http_error
from affluent.sandbox.state import Sandbox


def _query(request: Request) -> list[tuple[str, str]]:
    return request.query_params.multi_items()


def _id(request: Request, name: str = "id") -> str:
    return str(request.path_params[name])


def _expand(request: Request) -> bool:
    return request.query_params.get("expand") == "true"


_CUSTOMER_SOURCE = "/customers/{id}/sources/{sourceId}"
_CHECKOUT_SOURCE = "/checkouts/{id}/sources/{sourceId}"


def _pair(request: Request) -> tuple[str, str]:
    return _id(request), _id(request, "sourceId")


_TABLE: list[tuple[str, str, Operation, int]] = [
    ("POST", "/skus", lambda sb, r, b: catalog.create(sb, b), 201),
    ("GET", "/skus", lambda sb, r, b: catalog.list_all(sb, _query(r)), 200),
    ("GET", "/skus/{id}", lambda sb, r, b: catalog.get(sb, _id(r)), 200),
    ("PUT", "/skus/{id}", lambda sb, r, b: catalog.upsert(sb, _id(r), b), 200),
    ("DELETE", "/skus/{id}", lambda sb, r, b: catalog.delete(sb, _id(r)), 204),
    ("POST", "/customers", lambda sb, r, b: customers.create(sb, b), 201),
    ("GET", "/customers", lambda sb, r, b: customers.list_all(sb, _query(r)), 200),
    ("GET", "/customers/{id}", lambda sb, r, b: customers.get(sb, _id(r)), 200),
    ("POST", "/customers/{id}", lambda sb, r, b: customers.update(sb, _id(r), b), 200),
    ("DELETE", "/customers/{id}", lambda sb, r, b: customers.delete(sb, _id(r)), 204),
    ("POST", _CUSTOMER_SOURCE, lambda sb, r, b: customers.attach_source(sb, *_pair(r)), 200),
    ("DELETE", _CUSTOMER_SOURCE, lambda sb, r, b: customers.detach_source(sb, *_pair(r)), 204),
    ("POST", "/checkouts", lambda sb, r, b: checkouts.create(sb, b), 201),
    ("GET", "/checkouts", lambda sb, r, b: checkouts.list_all(sb, _query(r)), 200),
    ("GET", "/checkouts/{id}", lambda sb, r, b: checkouts.get(sb, _id(r)), 200),
    ("POST", "/checkouts/{id}", lambda sb, r, b: checkouts.update(sb, _id(r), b), 200),
    ("DELETE", "/checkouts/{id}", lambda sb, r, b: checkouts.delete(sb, _id(r)), 204),
    ("POST", _CHECKOUT_SOURCE, lambda sb, r, b: checkouts.attach_source(sb, *_pair(r)), 200),
    ("DELETE", _CHECKOUT_SOURCE, lambda sb, r, b: checkouts.detach_source(sb, *_pair(r)), 204),
    ("POST", "/sources", lambda sb, r, b: sources.create(sb, b), 201),
    ("GET", "/sources/{id}", lambda sb, r, b: sources.get(sb, _id(r)), 200),
    ("POST", "/orders", lambda sb, r, b: orders.create(sb, b), 201),
    ("GET", "/orders", lambda sb, r, b: orders.list_all(sb, _query(r)), 200),
    ("GET", "/orders/{id}", lambda sb, r, b: orders.get(sb, _id(r), _expand(r)), 200),
    ("POST", "/orders/{id}", lambda sb, r, b: orders.update(sb, _id(r), b), 200),
    ("GET", "/charges/{id}", lambda sb, r, b: charges.get(sb, _id(r)), 200),
    ("POST", "/fulfillments", lambda sb, r, b: fulfillments.create(sb, b), 201),
    ("GET", "/fulfillments", lambda sb, r, b: fulfillments.list_all(sb, _query(r)), 200),
    ("GET", "/fulfillments/{id}", lambda sb, r, b: fulfillments.get(sb, _id(r)), 200),
    ("POST", "/returns", lambda sb, r, b: returns.create(sb, b), 201),
    ("GET", "/returns", lambda sb, r, b: returns.list_all(sb, _query(r)), 200),
    ("GET", "/returns/{id}", lambda sb, r, b: returns.get(sb, _id(r)), 200),
    ("POST", "/returns/{id}", lambda sb, r, b: returns.update(sb, _id(r), b), 200),
    ("POST", "/refunds", lambda sb, r, b: refunds.create(sb, b), 201),
    ("GET", "/refunds", lambda sb, r, b: refunds.list_all(sb, _query(r)), 200),
    ("GET", "/refunds/{id}", lambda sb, r, b: refunds.get(sb, _id(r)), 200),
    ("POST", "/refunds/{id}", lambda sb, r, b: refunds.update(sb, _id(r), b), 200),
    ("GET", "/events", lambda sb, r, b: events.list_all(sb, _query(r)), 200),
    ("GET", "/events/{id}", lambda sb, r, b: events.get(sb, _id(r)), 200),
    ("POST", "/webhooks", lambda sb, r, b: events.create_webhook(sb, b), 201),
    ("GET", "/webhooks", lambda sb, r, b: events.list_webhooks(sb), 200),
    ("GET", "/webhooks/{id}", lambda sb, r, b: events.get_webhook(sb, _id(r)), 200),
    ("PATCH", "/webhooks/{id}", lambda sb, r, b: events.update_webhook(sb, _id(r), b), 200),
    ("DELETE", "/webhooks/{id}", lambda sb, r, b: events.delete_webhook(sb, _id(r)), 204),
]
"""Every DR path the sandbox answers: method, path, operation, success status."""


def _routes() -> list[BaseRoute]:
    return [
        Route(
            path,
            api(
                operation,
                status,
                body=method in ("POST", "PUT", "PATCH"),
                public_ok=(method, path) == ("POST", "/sources"),
            ),
            methods=[method],
        )
        for method, path, operation, status in _TABLE
    ]


def create_app(config: SandboxConfig | None = None) -> Starlette:
    """A fresh sandbox as an ASGI app; its state object is ``app.state.sandbox``."""
    sandbox = Sandbox(config or SandboxConfig())
    handlers = {HTTPException: http_error}
    inner = Starlette(routes=[*_routes(), *control.routes()], exception_handlers=handlers)
    inner.state.sandbox = sandbox
    sandbox.faults = FaultInjector(inner, rate_limit=sandbox.config.rate_limit)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await sandbox.start()
        try:
            yield
        finally:
            await sandbox.aclose()

    app = Starlette(routes=[Mount("", app=sandbox.faults)], lifespan=lifespan)
    app.state.sandbox = sandbox
    return app
