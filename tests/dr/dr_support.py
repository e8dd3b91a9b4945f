"""Helpers for the ``affluent.dr`` tests: scripted mock transports, and a factory building the
sync or the async client over them so one test body covers both."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from affluent.dr import AsyncDigitalRiver, DigitalRiver

FIXTURES = Path(__file__).parent / "fixtures"
API_KEY = "sk_test_unit_7c1e5a9f3b2d4e60"
BASE_URL = "https://dr.test"

Step = httpx.Response | BaseException | type[httpx.TransportError]


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def respond(status: int = 200, body: Any = None, **headers: str) -> httpx.Response:
    """A canned answer (``body`` as JSON; ``None`` for an empty body)."""
    if body is None:
        return httpx.Response(status, headers=headers, content=b"")
    return httpx.Response(status, json=body, headers=headers)


def error_body(type_: str, code: str, message: str, parameter: str | None = None) -> Any:
    err = {"code": code, "message": message}
    if parameter is not None:
        err["parameter"] = parameter
    return {"type": type_, "errors": [err]}


class Script:
    """A transport handler answering each request with the next scripted step.

    A step is a response, or an exception (class or instance) to raise as the transport would.
    Every request is recorded; running past the script fails the test.
    """

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if not self.steps:
            pytest.fail(f"unexpected extra request {request.method} {request.url}")
        step = self.steps.pop(0)
        if isinstance(step, httpx.Response):
            # a fresh copy: parametrized cases share the canned object between sync and async runs
            return httpx.Response(step.status_code, headers=step.headers, content=step.content)
        if isinstance(step, BaseException):
            raise step
        raise step("scripted failure", request=request)

    @property
    def count(self) -> int:
        return len(self.requests)

    def body(self, index: int = -1) -> Any:
        return json.loads(self.requests[index].content)


class Always:
    """A handler answering every request with ``answer(request)``; records requests."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


async def resolve(value: Any) -> Any:
    """Await ``value`` if the async client returned an awaitable; pass sync results through."""
    return await value if inspect.isawaitable(value) else value


async def collect(items: Iterable[Any] | AsyncIterator[Any]) -> list[Any]:
    """Drain a sync or async iterator."""
    if hasattr(items, "__aiter__"):
        return [item async for item in items]
    return list(items)


class Clients:
    """Builds clients of one kind (sync or async) over mock transports and records sleeps."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.sleeps: list[float] = []
        self._opened: list[httpx.Client | httpx.AsyncClient] = []

    def __call__(self, handler: Callable[[httpx.Request], httpx.Response], **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", API_KEY)
        kwargs.setdefault("base_url", BASE_URL)
        kwargs.setdefault("random", lambda: 0.0)
        transport = httpx.MockTransport(handler)
        if self.kind == "sync":
            http: httpx.Client | httpx.AsyncClient = httpx.Client(transport=transport)
            kwargs.setdefault("sleep", self.sleeps.append)
            self._opened.append(http)
            return DigitalRiver(http_client=http, **kwargs)  # type: ignore[arg-type]

        async def sleep(delay: float) -> None:
            self.sleeps.append(delay)

        http = httpx.AsyncClient(transport=transport)
        kwargs.setdefault("sleep", sleep)
        self._opened.append(http)
        return AsyncDigitalRiver(http_client=http, **kwargs)

    async def close(self) -> None:
        for http in self._opened:
            if isinstance(http, httpx.AsyncClient):
                await http.aclose()
            else:
                http.close()
