"""Fixtures shared by the core's tests: a sandbox over loopback, a DR client, a store, a flow."""

from __future__ import annotations

import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).parent))

from dict_platform import DictPlatform

from affluent.dr import AsyncDigitalRiver
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.sandbox import SandboxConfig, create_app
from affluent.serving import serve_in_thread
from affluent.store import Store
from affluent.testing.postgres import find_bindir, temporary_server

TEST_KEY = "sk_test_affluent_core"
SKUS = {"sku-widget-blue": "Blue widget", "sku-gadget": "Gadget"}


@pytest.fixture
def sandbox_app() -> Any:
    return create_app(SandboxConfig(rate_limit=None, resolve_delay=None))


@pytest.fixture
def sandbox_url(sandbox_app: Any) -> Iterator[str]:
    with serve_in_thread(sandbox_app) as url:
        yield url


@pytest.fixture
async def dr(sandbox_url: str) -> AsyncIterator[AsyncDigitalRiver]:
    async with AsyncDigitalRiver(api_key=TEST_KEY, base_url=sandbox_url) as client:
        for sku, name in SKUS.items():
            await client.skus.create(
                {"id": sku, "name": name, "physical": True, "countryOfOrigin": "US"}
            )
        yield client


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """One PostgreSQL server for the session, started from the installed binaries."""
    if find_bindir() is None:
        pytest.skip("PostgreSQL is not installed here (.ci/run installs it with apt)")
    with temporary_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A fresh, migrated store: a SQLite file, or a new database on the test PostgreSQL."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'affluent.sqlite3'}"
    else:
        server = make_url(request.getfixturevalue("postgres_server"))
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


@pytest.fixture
def platform() -> DictPlatform:
    return DictPlatform()


@pytest.fixture
async def flow(dr: AsyncDigitalRiver, store: Store, platform: DictPlatform) -> AsyncIterator[Flow]:
    flow = Flow(
        dr=dr, store=store, adapters=Adapters.from_plugins({"dict": platform}), lookup_delay=0.01
    )
    yield flow
    await flow.aclose()
