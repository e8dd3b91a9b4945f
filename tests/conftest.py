"""Fixtures shared by the core's tests: a sandbox over loopback, a DR client, a store, a flow."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from affluent.dr import AsyncDigitalRiver
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.store import Store
from affluent.testing.memory import DictPlatform


@pytest.fixture
def sandbox_app(affluent_sandbox_app: Any) -> Any:
    return affluent_sandbox_app


@pytest.fixture
def sandbox_url(affluent_sandbox_url: str) -> str:
    return affluent_sandbox_url


@pytest.fixture
def dr(affluent_dr: AsyncDigitalRiver) -> AsyncDigitalRiver:
    return affluent_dr


@pytest.fixture
def postgres_server(affluent_postgres: str) -> str:
    return affluent_postgres


@pytest.fixture
def store(affluent_store: Store) -> Store:
    return affluent_store


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
