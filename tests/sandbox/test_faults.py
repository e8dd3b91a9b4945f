"""Tests for the sandbox's rate limiter and fault injector (affluent.sandbox.faults)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from affluent.sandbox.faults import (
    FaultInjector,
    FaultRule,
    InProcessTransport,
    bearer_key,
)
from affluent.serving import serve_in_thread

KEY = "sk_test_alpha"
OTHER_KEY = "sk_test_beta"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def make_app() -> tuple[Starlette, list[str]]:
    """A tiny inner app whose POST /orders has a visible side effect."""
    created: list[str] = []

    async def create_order(request: Request) -> Response:
        body = await request.json()
        created.append(body["upstreamId"])
        return JSONResponse({"id": f"ord-{len(created)}", "upstreamId": body["upstreamId"]}, 201)

    async def get_order(request: Request) -> Response:
        return JSONResponse({"id": request.path_params["oid"], "state": "accepted"})

    async def delete_thing(request: Request) -> Response:
        created.append("deleted")
        return Response(status_code=204)

    async def sandbox_reset(request: Request) -> Response:
        return JSONResponse({"ok": True})

    app = Starlette(
        routes=[
            Route("/orders", create_order, methods=["POST"]),
            Route("/orders/{oid}", get_order, methods=["GET"]),
            Route("/things/{tid}", delete_thing, methods=["DELETE"]),
            Route("/_sandbox/reset", sandbox_reset, methods=["POST", "GET"]),
        ]
    )
    return app, created


def auth(key: str = KEY) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def setup(
    clock: FakeClock,
) -> AsyncIterator[tuple[FaultInjector, httpx.AsyncClient, list[str]]]:
    app, created = make_app()
    injector = FaultInjector(app, clock=clock)
    async with httpx.AsyncClient(
        transport=InProcessTransport(injector), base_url="http://sandbox"
    ) as client:
        yield injector, client, created


# -- rate limiting -------------------------------------------------------------------------


async def test_rate_limit_26th_request_gets_429(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]], clock: FakeClock
) -> None:
    injector, client, _ = setup
    for _ in range(25):
        r = await client.get("/orders/1", headers=auth())
        assert r.status_code == 200
    r = await client.get("/orders/1", headers=auth())
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "1"
    assert int(r.headers["Retry-After"]) >= 1
    body = r.json()
    assert body["type"] == "too_many_requests"
    assert body["errors"][0]["code"] == "too_many_requests"
    assert body["errors"][0]["message"]
    assert injector.log[-1].kind == "rate_limit"
    assert injector.log[-1].key == KEY

    # Another key has its own bucket.
    r = await client.get("/orders/1", headers=auth(OTHER_KEY))
    assert r.status_code == 200

    # Tokens refill with time: 1/25 s later one more request fits.
    clock.now += 0.04
    assert (await client.get("/orders/1", headers=auth())).status_code == 200
    assert (await client.get("/orders/1", headers=auth())).status_code == 429


async def test_rate_limit_blocks_before_app(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, created = setup
    injector.rate_limit = 2
    for i in range(3):
        r = await client.post("/orders", json={"upstreamId": f"u{i}"}, headers=auth())
    assert r.status_code == 429
    assert created == ["u0", "u1"]


async def test_retry_after_is_ceil_of_wait(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.rate_limit = 0.25  # one request per 4 s, burst 1
    assert (await client.get("/orders/1", headers=auth())).status_code == 200
    r = await client.get("/orders/1", headers=auth())
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "4"


async def test_rate_limit_disabled_and_runtime_toggle(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.rate_limit = None
    for _ in range(60):
        assert (await client.get("/orders/1", headers=auth())).status_code == 200
    injector.rate_limit = 3
    codes = [(await client.get("/orders/1", headers=auth())).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]


def test_rate_limit_validation() -> None:
    app, _ = make_app()
    with pytest.raises(ValueError, match="rate_limit"):
        FaultInjector(app, rate_limit=0)


def test_bearer_key_parsing() -> None:
    def scope(value: bytes) -> dict[str, object]:
        return {"headers": [(b"authorization", value)]}

    assert bearer_key(scope(b"Bearer sk_test_1")) == "sk_test_1"
    assert bearer_key(scope(b"bearer   sk_test_1 ")) == "sk_test_1"
    assert bearer_key(scope(b"Basic c2tfdGVzdF8yOg==")) == "sk_test_2"  # "sk_test_2:"
    assert bearer_key(scope(b"Basic !!!")) is None
    assert bearer_key({"headers": []}) is None


# -- rules ---------------------------------------------------------------------------------


async def test_status_fault_times_two_then_normal(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, created = setup
    rule = injector.add(FaultRule("POST", "/orders", "status", status=503, retry_after=7, times=2))
    for i in range(2):
        r = await client.post("/orders", json={"upstreamId": f"u{i}"}, headers=auth())
        assert r.status_code == 503
        assert r.headers["Retry-After"] == "7"
        assert r.json()["type"] == "service_unavailable"
        assert r.json()["errors"][0]["code"] == "service_unavailable"
    assert created == []  # the app never saw them
    assert rule.exhausted
    assert injector.rules == []
    r = await client.post("/orders", json={"upstreamId": "u2"}, headers=auth())
    assert r.status_code == 201
    assert created == ["u2"]
    assert [(e.kind, e.status, e.path) for e in injector.log] == [("status", 503, "/orders")] * 2


async def test_status_429_fault_and_custom_message(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.add(FaultRule("*", "/orders/*", "status", status=429, retry_after=2))
    injector.add(FaultRule("GET", "/orders/*", "status", status=409, code="failed-request"))
    r = await client.get("/orders/77", headers=auth())
    assert r.status_code == 429
    assert r.json()["type"] == "too_many_requests"
    assert r.headers["Retry-After"] == "2"
    r = await client.get("/orders/77", headers=auth())
    assert r.status_code == 409
    assert r.json() == {
        "type": "conflict",
        "errors": [{"code": "failed-request", "message": "Injected sandbox fault (409)."}],
    }
    assert "retry-after" not in r.headers
    assert (await client.get("/orders/77", headers=auth())).status_code == 200


async def test_rule_until_cleared(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.add(FaultRule("GET", "*", "status", status=500, times=None))
    for _ in range(5):
        assert (await client.get("/orders/1", headers=auth())).status_code == 500
    assert len(injector.rules) == 1
    injector.clear()
    assert (await client.get("/orders/1", headers=auth())).status_code == 200


def test_rule_matching_and_validation() -> None:
    rule = FaultRule("post", "/orders/*/items/*", "status")
    assert rule.method == "POST"
    assert rule.matches("POST", "/orders/1/items/2")
    assert rule.matches("post", "/orders/1/items/2/")
    assert not rule.matches("GET", "/orders/1/items/2")
    assert not rule.matches("POST", "/orders/1/items")
    assert not rule.matches("POST", "/orders//items/2")
    assert FaultRule("*", "/orders", "status").matches("DELETE", "/orders")
    assert not FaultRule("*", "/orders", "status").matches("DELETE", "/orders/1")
    with pytest.raises(ValueError, match="kind"):
        FaultRule("POST", "/orders", "explode")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="times"):
        FaultRule("POST", "/orders", "status", times=0)
    with pytest.raises(ValueError, match="path"):
        FaultRule("POST", "orders", "status")
    assert FaultRule("POST", "/orders", "status", retry_after=1.5).retry_after == 2  # type: ignore[arg-type]
    # Rules are plain dataclasses: JSON-friendly for a /_sandbox/ control endpoint.
    assert (
        dataclasses.asdict(FaultRule("POST", "/orders", "latency", latency=0.5))["latency"] == 0.5
    )


async def test_latency_then_pass_through(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, created = setup
    injector.add(FaultRule("POST", "/orders", "latency", latency=0.3))
    start = time.perf_counter()
    r = await client.post("/orders", json={"upstreamId": "slow"}, headers=auth())
    assert time.perf_counter() - start >= 0.3
    assert r.status_code == 201
    assert created == ["slow"]
    start = time.perf_counter()
    await client.post("/orders", json={"upstreamId": "fast"}, headers=auth())
    assert time.perf_counter() - start < 0.25
    assert [e.kind for e in injector.log] == ["latency"]


async def test_latency_falls_through_to_next_rule(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.add(FaultRule("GET", "/orders/*", "latency", latency=0.1))
    injector.add(FaultRule("GET", "/orders/*", "status", status=502))
    start = time.perf_counter()
    r = await client.get("/orders/1", headers=auth())
    assert r.status_code == 502
    assert time.perf_counter() - start >= 0.1
    assert [e.kind for e in injector.log] == ["latency", "status"]


async def test_drop_after_commit_in_process(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, created = setup
    injector.add(FaultRule("POST", "/orders", "drop_after_commit"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/orders", json={"upstreamId": "ambiguous"}, headers=auth())
    assert created == ["ambiguous"]  # committed although the client saw a failure
    assert injector.log[-1].kind == "drop_after_commit"
    r = await client.post("/orders", json={"upstreamId": "next"}, headers=auth())
    assert r.status_code == 201


async def test_drop_before_commit_in_process(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, created = setup
    injector.add(FaultRule("POST", "/orders", "drop_before_commit"))
    with pytest.raises(httpx.RemoteProtocolError):
        await client.post("/orders", json={"upstreamId": "lost"}, headers=auth())
    assert created == []


async def test_sandbox_paths_exempt(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.rate_limit = 1
    injector.add(FaultRule("*", "*", "status", status=500, times=None))
    injector.add(FaultRule("*", "/_sandbox/reset", "drop_before_commit", times=None))
    for _ in range(5):
        r = await client.post("/_sandbox/reset", headers=auth())
        assert r.status_code == 200
    assert injector.log == []
    assert (await client.get("/orders/1", headers=auth())).status_code == 500


async def test_reset(
    setup: tuple[FaultInjector, httpx.AsyncClient, list[str]],
) -> None:
    injector, client, _ = setup
    injector.rate_limit = 1
    injector.add(FaultRule("GET", "/orders/*", "latency", times=None))
    await client.get("/orders/1", headers=auth())
    assert (await client.get("/orders/1", headers=auth())).status_code == 429
    injector.reset()
    assert injector.rules == []
    assert injector.log == []
    assert (await client.get("/orders/1", headers=auth())).status_code == 200


# -- over real HTTP (uvicorn on loopback) --------------------------------------------------


def test_drop_after_commit_over_uvicorn() -> None:
    app, created = make_app()
    injector = FaultInjector(app)
    injector.add(FaultRule("POST", "/orders", "drop_after_commit"))
    injector.add(FaultRule("DELETE", "/things/*", "drop_after_commit"))
    with serve_in_thread(injector) as base, httpx.Client(base_url=base, timeout=5) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/orders", json={"upstreamId": "ambiguous"}, headers=auth())
        assert created == ["ambiguous"]
        # A bodyless (204) response is still torn, not silently completed.
        with pytest.raises(httpx.TransportError):
            client.delete("/things/1", headers=auth())
        assert created == ["ambiguous", "deleted"]
        # The server keeps serving on fresh connections.
        r = client.post("/orders", json={"upstreamId": "again"}, headers=auth())
        assert r.status_code == 201
        assert created == ["ambiguous", "deleted", "again"]


def test_drop_before_commit_and_status_over_uvicorn() -> None:
    app, created = make_app()
    injector = FaultInjector(app)
    injector.add(FaultRule("POST", "/orders", "drop_before_commit"))
    injector.add(FaultRule("POST", "/orders", "status", status=500))
    with serve_in_thread(injector) as base, httpx.Client(base_url=base, timeout=5) as client:
        with pytest.raises(httpx.TransportError):
            client.post("/orders", json={"upstreamId": "lost"}, headers=auth())
        r = client.post("/orders", json={"upstreamId": "err"}, headers=auth())
        assert r.status_code == 500
        assert r.json()["type"] == "internal_server_error"
        assert created == []
        assert client.post("/orders", json={"upstreamId": "ok"}, headers=auth()).status_code == 201
    assert created == ["ok"]


def test_rate_limit_over_uvicorn() -> None:
    app, _ = make_app()
    injector = FaultInjector(app, rate_limit=5, clock=FakeClock())
    with serve_in_thread(injector) as base, httpx.Client(base_url=base, timeout=5) as client:
        codes = [client.get("/orders/1", headers=auth()).status_code for _ in range(6)]
        assert codes == [200] * 5 + [429]
        r = client.get("/orders/1", headers=auth())
        assert r.headers["Retry-After"] == "1"


async def test_async_client_drop_over_uvicorn() -> None:
    app, created = make_app()
    injector = FaultInjector(app)
    injector.add(FaultRule("POST", "/orders", "drop_after_commit"))
    with serve_in_thread(injector) as base:
        async with httpx.AsyncClient(base_url=base, timeout=5) as client:
            with pytest.raises(httpx.RemoteProtocolError):
                await client.post("/orders", json={"upstreamId": "x"}, headers=auth())
            await asyncio.sleep(0)
    assert created == ["x"]


def test_drop_log_filter() -> None:
    from affluent.sandbox.faults import ConnectionDropped, DropLogFilter

    def record(exc: BaseException) -> logging.LogRecord:
        return logging.LogRecord(
            "uvicorn.error",
            logging.ERROR,
            __file__,
            1,
            "Exception in ASGI application\n",
            None,
            (type(exc), exc, None),
        )

    flt = DropLogFilter()
    assert not flt.filter(record(ConnectionDropped("x")))
    assert flt.filter(record(RuntimeError("real bug")))
