"""The connector's ASGI app: webhooks in, the storefront API, health and readiness.

- ``POST /webhooks/digital-river``: the signature is checked on the raw body (timestamp window,
  every configured secret for rotation), the event is stored in the inbox keyed by its id, and
  the answer is 202. No DR call happens inside the request; workers do the rest.
- ``POST /webhooks/{platform}``: the platform's adapter verifies and parses; same storage and
  answers.
- ``/v1/{platform}/…``: the storefront API for platforms that call the connector directly,
  authenticated by the platform's API key (``X-API-Key`` or ``Authorization: Bearer``).
- ``GET /healthz`` (the process answers) and ``GET /readyz`` (database reachable, schema
  current).

Every request body is limited to ``webhook_max_bytes``: a larger ``Content-Length`` is refused
before reading, and a body without one is counted while it streams in and refused the moment
it passes the limit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from typing import Annotated, Any

from fastapi import Body, Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from opentelemetry.trace import SpanKind
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from affluent import __version__, logs, tracing
from affluent.dr import SIGNATURE_HEADER, construct_event
from affluent.dr.errors import APIStatusError, DigitalRiverError, SignatureVerificationError
from affluent.errors import (
    AdapterError,
    FlowStateError,
    InvalidInput,
    SignatureError,
    UnknownOrder,
)
from affluent.lifecycle import OrderStatus
from affluent.models import CheckoutSummary, OrderView
from affluent.service.leases import LeaseBusy, Leases, order_key
from affluent.service.runtime import NotConfigured, Runtime
from affluent.settings import Settings
from affluent.store.migrate import migrate

__all__ = ["BodyLimit", "app_from_env", "create_app"]

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


# -- body size ---------------------------------------------------------------------------------


class BodyTooLarge(HTTPException):
    """The request body passed the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body larger than {limit} bytes")


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse(
        {"error": {"type": kind, "message": message, **extra}},
        status_code=status,
        headers={"Retry-After": "1"} if status in (409, 503) and kind == "busy" else None,
    )


class BodyLimit:
    """ASGI middleware refusing bodies over ``limit`` bytes with 413, without buffering them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = next(
            (v for k, v in scope.get("headers", ()) if k.lower() == b"content-length"), None
        )
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            problem = (
                f"request body larger than {self.limit} bytes"
                if declared.isdigit()
                else "Content-Length is not a number"
            )
            status = 413 if declared.isdigit() else 400
            kind = "too_large" if status == 413 else "bad_request"
            response = _error(status, kind, problem)
            await response(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counted, send)


class _RecentKeys:
    """The last ``size`` event keys this process stored (committed): a cheap first check that
    answers a burst of duplicate deliveries without a database round trip each."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._keys: OrderedDict[tuple[str, str], None] = OrderedDict()

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def add(self, key: tuple[str, str]) -> None:
        self._keys[key] = None
        self._keys.move_to_end(key)
        while len(self._keys) > self.size:
            self._keys.popitem(last=False)


async def _body(request: Request) -> bytes:
    chunks = [chunk async for chunk in request.stream()]
    return b"".join(chunks)


# -- storefront API models ---------------------------------------------------------------------


class SubmitResponse(BaseModel):
    """Outcome of submitting an order to Digital River."""

    status: OrderStatus
    dr_order_id: str | None = None
    dr_state: str | None = None
    shopper_message: str | None = Field(
        default=None, description="Text to show the shopper (after a decline)."
    )


class Accepted(BaseModel):
    """A webhook was stored and will be processed."""

    received: bool = True
    event_id: str
    duplicate: bool = Field(description="True when this event was already stored.")


class ErrorBody(BaseModel):
    type: str
    message: str
    field: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorResponse, "description": "Missing or wrong API key"},
    404: {"model": ErrorResponse, "description": "Unknown platform or order"},
    409: {"model": ErrorResponse, "description": "Not allowed in the order's state, or busy"},
    422: {"model": ErrorResponse, "description": "Invalid input (the field is named)"},
    502: {"model": ErrorResponse, "description": "Digital River failed"},
}

_api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)
_bearer = HTTPBearer(auto_error=False)


def authenticated(
    platform: str,
    request: Request,
    api_key: Annotated[str | None, Depends(_api_key_header)] = None,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> str:
    """The platform named in the path, once its API key checks out (constant time)."""
    settings: Settings = request.app.state.settings
    given = api_key or (bearer.credentials if bearer else None)
    keys = settings.storefront_api_keys.get(platform, [])
    if given is None or not keys:
        raise HTTPException(401, "send the platform's API key in X-API-Key")
    matched = False
    for key in keys:
        matched |= hmac.compare_digest(given.encode(), key.get_secret_value().encode())
    if not matched:
        raise HTTPException(401, "the API key does not match this platform")
    if platform not in request.app.state.runtime().adapters.names:
        raise HTTPException(404, f"no adapter {platform!r} is loaded")
    return platform


Platform = Annotated[str, Depends(authenticated)]
CartPayload = Annotated[
    dict[str, Any],
    Body(description="The platform's own cart or order JSON, as its adapter's map_cart reads it."),
]
PaymentPayload = Annotated[
    dict[str, Any],
    Body(
        description=(
            "The platform's own payment hand-off JSON (the Drop-in source id and whether the "
            "shopper asked to save it), as its adapter's map_payment reads it."
        )
    ),
]


# -- the app -----------------------------------------------------------------------------------


def _answer_with(status: int, kind: str) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    """An exception handler answering ``status`` with the error's message under ``kind``."""

    async def handle(_request: Request, exc: Exception) -> JSONResponse:
        return _error(status, kind, str(exc))

    return handle


def create_app(settings: Settings | None = None, *, runtime: Runtime | None = None) -> FastAPI:
    """The connector service for ``settings`` (default: from ``AFFLUENT_*``)."""
    settings = settings or (runtime.settings if runtime else Settings())
    state: dict[str, Runtime] = {}
    if runtime is not None:
        state["runtime"] = runtime

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        own = "runtime" not in state
        if own:
            state["runtime"] = Runtime(settings)
        if settings.migrate_on_start:
            await run_in_threadpool(migrate, state["runtime"].store)
        await run_in_threadpool(_warm_pool, state["runtime"].store)
        yield
        if own:
            await state.pop("runtime").aclose()

    def rt() -> Runtime:
        if "runtime" not in state:  # used without its lifespan (e.g. an ASGI test client)
            state["runtime"] = Runtime(settings)
        return state["runtime"]

    app = FastAPI(
        title="affluent connector",
        version=__version__,
        description=(
            "Digital River's standard flow for any commerce platform: webhooks from Digital "
            "River and platforms, and a storefront API for platforms that call in directly."
        ),
        lifespan=lifespan,
    )
    app.add_middleware(BodyLimit, limit=settings.webhook_max_bytes)
    app.state.settings = settings
    app.state.runtime = rt

    # -- errors ------------------------------------------------------------------------------

    @app.exception_handler(BodyTooLarge)
    async def too_large(_request: Request, exc: Exception) -> JSONResponse:
        return _error(413, "too_large", str(getattr(exc, "detail", exc)))

    @app.exception_handler(InvalidInput)
    async def invalid(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, InvalidInput)
        return _error(422, "invalid_input", exc.message, field=exc.field)

    plain_errors: dict[type[Exception], tuple[int, str]] = {
        UnknownOrder: (404, "unknown_order"),
        FlowStateError: (409, "order_state"),
        LeaseBusy: (409, "busy"),
        NotConfigured: (503, "not_configured"),
        AdapterError: (400, "adapter"),
    }
    for error_type, (status, kind) in plain_errors.items():
        app.add_exception_handler(error_type, _answer_with(status, kind))

    @app.exception_handler(DigitalRiverError)
    async def upstream(_request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, APIStatusError) and exc.status_code in (400, 404, 409):
            return _error(422, "refused_by_digital_river", str(exc), field=exc.parameter)
        log.warning("Digital River call failed: %s", exc)
        return _error(502, "digital_river", str(exc))

    # -- health ------------------------------------------------------------------------------

    @app.get("/healthz", tags=["health"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], summary="Database reachable and schema current")
    async def readyz() -> JSONResponse:
        def check() -> dict[str, str]:
            store = rt().store
            try:
                with store.engine.connect() as connection:
                    connection.execute(text("SELECT 1"))
            except Exception as exc:
                return {"database": f"unreachable: {type(exc).__name__}"}
            return {"database": "ok", "migrations": "current" if store.is_current() else "behind"}

        report = await run_in_threadpool(check)
        ready = report.get("database") == "ok" and report.get("migrations") == "current"
        return JSONResponse(
            {"status": "ready" if ready else "not_ready", **report},
            status_code=200 if ready else 503,
        )

    # -- webhooks ----------------------------------------------------------------------------

    webhook_doc = {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }

    database_slots: dict[str, asyncio.Semaphore] = {}
    recent = _RecentKeys(10_000)

    async def _store(**values: Any) -> tuple[int | None, bool]:
        key = (values["source"], values["event_key"])
        if key in recent:  # committed by this process already: a duplicate delivery
            return None, False
        # As many inserts at once as the pool keeps connections: beyond that, connections
        # would be opened and closed per request (slow), and the answer would wait anyway.
        store = rt().store
        if "inbox" not in database_slots:
            size = getattr(store.engine.pool, "size", lambda: 5)()
            database_slots["inbox"] = asyncio.Semaphore(max(int(size), 1))
        async with database_slots["inbox"]:
            if key in recent:
                return None, False
            result = await run_in_threadpool(lambda: rt().inbox.add(**values))
        recent.add(key)
        return result

    @app.post(
        "/webhooks/digital-river",
        status_code=202,
        tags=["webhooks"],
        summary="Receive a Digital River event",
        response_model=Accepted,
        responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 413: {}},
        openapi_extra=webhook_doc,
    )
    async def dr_webhook(request: Request) -> JSONResponse:
        started = time.perf_counter()
        with tracing.span("affluent.webhook", kind=SpanKind.SERVER, source="dr"):
            body = await _body(request)
            secrets = [s.get_secret_value() for s in settings.dr_webhook_secrets]
            if not secrets:
                log.error("a DR webhook arrived but AFFLUENT_DR_WEBHOOK_SECRETS is empty")
                return _error(503, "not_configured", "no DR webhook signing secret configured")
            try:
                event = construct_event(
                    body,
                    request.headers.get(SIGNATURE_HEADER),
                    secrets,
                    tolerance=settings.webhook_tolerance,
                )
            except SignatureVerificationError as exc:
                log.warning("DR webhook refused: %s", exc)
                return _error(401, "signature", str(exc), reason=str(exc.reason))
            except ValidationError as exc:
                return _error(400, "invalid_event", _describe(exc))
            if not event.id or not event.type:
                missing = "id" if not event.id else "type"
                return _error(400, "invalid_event", f"{missing}: must not be empty")
            with logs.bind(event_id=event.id, type=event.type):
                try:
                    _, created = await _store(
                        source="dr",
                        event_key=event.id,
                        type=str(event.type)[:100],
                        payload=body.decode("utf-8"),
                        origin="webhook",
                        trace_context=tracing.inject(),
                    )
                except Exception:
                    log.exception("could not store a DR event")
                    return _error(503, "unavailable", "could not store the event; send it again")
                log.info(
                    "DR event %s",
                    "stored" if created else "already stored",
                    extra={"ms": round((time.perf_counter() - started) * 1000, 2)},
                )
        return JSONResponse(
            Accepted(event_id=event.id, duplicate=not created).model_dump(), status_code=202
        )

    @app.post(
        "/webhooks/{platform}",
        status_code=202,
        tags=["webhooks"],
        summary="Receive a platform webhook (verified and parsed by its adapter)",
        response_model=Accepted,
        responses={400: {"model": ErrorResponse}, 401: {"model": ErrorResponse}, 404: {}},
        openapi_extra=webhook_doc,
    )
    async def platform_webhook(platform: str, request: Request) -> JSONResponse:
        with tracing.span("affluent.webhook", kind=SpanKind.SERVER, source=platform):
            runtime = rt()
            if platform not in runtime.adapters.names:
                return _error(404, "unknown_platform", f"no adapter {platform!r} is loaded")
            body = await _body(request)
            headers = {k.lower(): v for k, v in request.headers.items()}
            hooks = runtime.adapters.hooks(platform, settings.adapter_config.get(platform))
            try:
                event = hooks.parse_webhook(headers, body)
            except SignatureError as exc:
                log.warning("%s webhook refused: %s", platform, exc)
                return _error(401, "signature", str(exc))
            except InvalidInput as exc:
                return _error(400, "invalid_event", exc.message, field=exc.field)
            except AdapterError as exc:
                return _error(404, "no_webhooks", str(exc))
            key = event.delivery_id or "sha256:" + hashlib.sha256(body).hexdigest()
            with logs.bind(event_id=key, order=event.order_ref, type=str(event.kind)):
                try:
                    _, created = await _store(
                        source=platform,
                        event_key=key[:250],
                        type=str(event.kind),
                        payload=event.model_dump_json(),
                        origin="webhook",
                        trace_context=tracing.inject(),
                    )
                except Exception:
                    log.exception("could not store a %s event", platform)
                    return _error(503, "unavailable", "could not store the event; send it again")
                log.info("%s event %s", platform, "stored" if created else "already stored")
        return JSONResponse(
            Accepted(event_id=key, duplicate=not created).model_dump(), status_code=202
        )

    # -- storefront API ----------------------------------------------------------------------

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        kinds = {401: "unauthorized", 404: "not_found", 405: "method_not_allowed"}
        return _error(exc.status_code, kinds.get(exc.status_code, "http_error"), str(exc.detail))

    async def with_order(platform: str, order_ref: str, step: Callable[[], Awaitable[Any]]) -> Any:
        runtime = rt()
        holder = f"api:{id(step)}:{time.monotonic_ns()}"
        with logs.bind(order=f"{platform}:{order_ref}"):
            async with Leases(runtime.store).hold(
                order_key(platform, order_ref),
                holder,
                settings.lease_seconds,
                wait=settings.order_lock_wait,
            ):
                return await step()

    @app.post(
        "/v1/{platform}/checkouts",
        tags=["storefront"],
        summary="Begin checkout: DR checkout with tax, duties and selling entity",
        response_model=CheckoutSummary,
        responses=_ERRORS,
    )
    async def begin_checkout(platform: Platform, payload: CartPayload) -> CheckoutSummary:
        flow = rt().flow
        ref = flow.hooks(platform).map_cart(payload).order_ref
        with tracing.span("affluent.api.begin_checkout", platform=platform, order=ref):
            result: CheckoutSummary = await with_order(
                platform, ref, lambda: flow.begin_checkout(platform, payload)
            )
        return result

    @app.post(
        "/v1/{platform}/orders/{order_ref}/payment",
        tags=["storefront"],
        summary="Hand off the payment source (and the shopper's save choice)",
        response_model=CheckoutSummary,
        responses=_ERRORS,
    )
    async def hand_off_payment(
        platform: Platform, order_ref: str, payload: PaymentPayload
    ) -> CheckoutSummary:
        flow = rt().flow
        handoff = flow.hooks(platform).map_payment(payload)
        if handoff.order_ref != order_ref:
            raise InvalidInput(
                "order_ref", f"the payload is for {handoff.order_ref!r}, the path for {order_ref!r}"
            )
        with tracing.span("affluent.api.hand_off_payment", platform=platform, order=order_ref):
            result: CheckoutSummary = await with_order(
                platform, order_ref, lambda: flow.hand_off_payment(platform, payload)
            )
        return result

    @app.post(
        "/v1/{platform}/orders/{order_ref}/submit",
        tags=["storefront"],
        summary="Submit the order to Digital River (once, however often it is called)",
        response_model=SubmitResponse,
        responses=_ERRORS,
    )
    async def submit(platform: Platform, order_ref: str) -> SubmitResponse:
        flow = rt().flow
        with tracing.span("affluent.api.submit", platform=platform, order=order_ref):
            result = await with_order(platform, order_ref, lambda: flow.submit(platform, order_ref))
        return SubmitResponse(
            status=result.status,
            dr_order_id=result.dr_order_id,
            dr_state=result.dr_state,
            shopper_message=result.shopper_message,
        )

    @app.get(
        "/v1/{platform}/orders/{order_ref}",
        tags=["storefront"],
        summary="Read an order's status, links and line ledger",
        response_model=OrderView,
        responses=_ERRORS,
    )
    async def order_status(platform: Platform, order_ref: str) -> OrderView:
        return await run_in_threadpool(rt().flow.order, platform, order_ref)

    return app


def _warm_pool(store: Any) -> None:
    """Open the pool's connections before the first burst of webhooks needs them."""
    size = int(getattr(store.engine.pool, "size", lambda: 1)())
    with contextlib.ExitStack() as stack:
        for _ in range(size):
            connection = stack.enter_context(store.engine.connect())
            connection.execute(text("SELECT 1"))


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "body"
        message = error["msg"]
        if error["type"] == "json_invalid":
            where, message = "body", "not valid JSON"
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory affluent.service.app:app_from_env``.

    Sets up affluent's redacting JSON logs when the process has none yet (uvicorn's worker
    processes start without the parent's logging).
    """
    settings = Settings()
    if not logging.getLogger().handlers:
        from affluent.service.runtime import register_secrets

        logs.configure_logging(settings.log_level, fmt=settings.log_format)
        register_secrets(settings)
    return create_app(settings)
