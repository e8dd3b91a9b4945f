"""HTTP plumbing shared by the DR routes and the control routes: auth, JSON, errors."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from affluent.sandbox.errors import ApiError
from affluent.sandbox.faults import bearer_key

if TYPE_CHECKING:
    from affluent.sandbox.state import Sandbox

Endpoint = Callable[[Request], Awaitable[Response]]
Operation = Callable[["Sandbox", Request, Any], Any]
_SECRET_KEY = re.compile(r"^sk_test_[A-Za-z0-9_\-]+$")
_PUBLIC_KEY = re.compile(r"^pk_test_[A-Za-z0-9_\-]+$")
_log = logging.getLogger("affluent.sandbox")


def authenticate(request: Request, *, public_ok: bool = False) -> None:
    """Accept a test secret key (or, where DR allows it, a test public key); else 401."""
    key = bearer_key(request.scope)
    if key is None:
        raise ApiError(401, "unauthorized", "Send 'Authorization: Bearer sk_test_...'.")
    if _SECRET_KEY.match(key) or (public_ok and _PUBLIC_KEY.match(key)):
        return
    raise ApiError(401, "unauthorized", "The sandbox accepts test keys (sk_test_...) only.")


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


async def read_json(request: Request) -> Any:
    """The parsed body (``None`` when empty); 400 when it is not JSON."""
    raw = await request.body()
    if not raw.strip():
        return None
    try:
        return json.loads(raw, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"The request body is not valid JSON: {exc}") from exc


def error_response(exc: ApiError) -> JSONResponse:
    """The envelope for ``exc``."""
    return JSONResponse(exc.body(), exc.status)


async def http_error(request: Request, exc: Exception) -> Response:
    """Unknown paths and methods in DR's envelope instead of Starlette's plain text."""
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    codes = {404: "not_found", 405: "method_not_allowed"}
    message = f"No route for {request.method} {request.url.path}."
    return error_response(ApiError(status, codes.get(status, "internal_error"), message))


def api(
    operation: Operation,
    status: int = 200,
    *,
    body: bool = False,
    auth: bool = True,
    public_ok: bool = False,
) -> Endpoint:
    """An endpoint running ``operation(sandbox, request, body)`` as one transaction."""

    async def endpoint(request: Request) -> Response:
        sandbox: Sandbox = request.app.state.sandbox
        sandbox.bind_loop()
        try:
            if auth:
                authenticate(request, public_ok=public_ok)
            payload = await read_json(request) if body else None
            result = sandbox.run(operation, request, payload)
        except ApiError as exc:
            response: Response = error_response(exc)
        except Exception:
            _log.exception("sandbox error on %s %s", request.method, request.url.path)
            response = error_response(ApiError(500, "internal_error", "Sandbox internal error."))
        else:
            response = Response(status_code=204) if status == 204 else JSONResponse(result, status)
        version = request.headers.get("digitalriver-version")
        if version:
            response.headers["digitalriver-version"] = version
        return response

    return endpoint
