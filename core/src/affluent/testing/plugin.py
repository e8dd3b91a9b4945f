"""pytest fixtures for testing affluent and its adapters; opt in with ``-p affluent.testing``.

- ``affluent_sandbox_app``: a fresh DR sandbox (no rate limit, outcomes only on demand);
- ``affluent_sandbox_url``: that sandbox under uvicorn on loopback;
- ``affluent_dr``: an async DR client over loopback, with the demo SKUs in the catalog;
- ``affluent_dr_in_process``: the same client over an in-process transport (no sockets);
- ``affluent_postgres``: one throw-away PostgreSQL server per session (a SQLAlchemy URL);
- ``affluent_store``: a fresh, migrated store (``--affluent-store=sqlite|postgres|both``).

The conformance suite itself is :class:`affluent.testing.suite.AdapterConformance`.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, make_url, text

from affluent.dr import AsyncDigitalRiver
from affluent.sandbox import SandboxConfig, create_app
from affluent.sandbox.faults import InProcessTransport
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent.testing.postgres import find_bindir, temporary_server

TEST_KEY = "sk_test_affluent_kit"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("affluent")
    group.addoption(
        "--affluent-store",
        choices=("sqlite", "postgres", "both"),
        default="both",
        help="store backend(s) for affluent_store (default: both)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "affluent_store" in metafunc.fixturenames:
        choice = metafunc.config.getoption("--affluent-store")
        backends = ["sqlite", "postgres"] if choice == "both" else [choice]
        metafunc.parametrize("affluent_store", backends, indirect=True)


async def _with_skus(client: AsyncDigitalRiver) -> AsyncDigitalRiver:
    from affluent.demo import SKUS  # here: affluent.demo itself uses affluent.testing

    for sku, name in SKUS.items():
        await client.skus.create({"id": sku, "name": name, "physical": True})
    return client


@pytest.fixture
def affluent_sandbox_app() -> Any:
    return create_app(SandboxConfig(rate_limit=None, resolve_delay=None))


@pytest.fixture
def affluent_sandbox_url(affluent_sandbox_app: Any) -> Iterator[str]:
    with serve_in_thread(affluent_sandbox_app) as url:
        yield url


@pytest.fixture
async def affluent_dr(affluent_sandbox_url: str) -> AsyncIterator[AsyncDigitalRiver]:
    async with AsyncDigitalRiver(api_key=TEST_KEY, base_url=affluent_sandbox_url) as client:
        yield await _with_skus(client)


@pytest.fixture
async def affluent_dr_in_process(affluent_sandbox_app: Any) -> AsyncIterator[AsyncDigitalRiver]:
    base = "http://sandbox.invalid"
    async with (
        httpx.AsyncClient(transport=InProcessTransport(affluent_sandbox_app)) as http,
        AsyncDigitalRiver(api_key=TEST_KEY, base_url=base, http_client=http) as client,
    ):
        yield await _with_skus(client)


@pytest.fixture(scope="session")
def affluent_postgres() -> Iterator[str]:
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it with apt)")
    with temporary_server() as url:
        yield url


@pytest.fixture
def affluent_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    backend = getattr(request, "param", "sqlite")
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'affluent.sqlite3'}"
    else:
        server = make_url(request.getfixturevalue("affluent_postgres"))
        name = f"t_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = server.set(database=name).render_as_string(hide_password=False)
    store = Store(url)
    store.upgrade()
    yield store
    store.dispose()
