"""Fixtures for the sandbox tests: the app in process (ASGI) or under uvicorn on loopback."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

sys.path.insert(0, str(Path(__file__).parent))

from sandbox_support import Api, FakeClock

from affluent.sandbox import SandboxConfig, create_app
from affluent.serving import serve_in_thread


@pytest.fixture
def fake_clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sandbox_config(fake_clock: FakeClock) -> SandboxConfig:
    """Deterministic: no rate limit, no automatic resolution, a fixed clock."""
    return SandboxConfig(rate_limit=None, resolve_delay=None, clock=fake_clock)


@pytest.fixture
def app(sandbox_config: SandboxConfig) -> Starlette:
    return create_app(sandbox_config)


@pytest.fixture
async def local(app: Starlette) -> AsyncIterator[Api]:
    """The sandbox in process (``httpx.ASGITransport``), lifespan running."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
            yield Api(client, app.state.sandbox)


@pytest.fixture
def server(app: Starlette) -> Iterator[str]:
    """The sandbox under uvicorn on loopback; yields its base URL."""
    with serve_in_thread(app) as base_url:
        yield base_url


@pytest.fixture
async def remote(app: Starlette, server: str) -> AsyncIterator[Api]:
    """The sandbox over real HTTP on 127.0.0.1."""
    async with httpx.AsyncClient(base_url=server, timeout=10) as client:
        yield Api(client, app.state.sandbox)


@pytest.fixture(params=["asgi", "http"])
async def api(request: pytest.FixtureRequest, app: Starlette) -> AsyncIterator[Api]:
    """The same tests in process and over loopback HTTP."""
    if request.param == "asgi":
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://s") as client:
                yield Api(client, app.state.sandbox)
    else:
        with serve_in_thread(app) as base_url:
            async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
                yield Api(client, app.state.sandbox)
