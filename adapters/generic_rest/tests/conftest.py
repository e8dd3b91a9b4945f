"""Fixtures for the generic_rest adapter's tests: example mappings, fakes, the DR sandbox."""

from __future__ import annotations

import copy
import tomllib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from affluent_generic_rest.examples import EXAMPLES
from affluent_generic_rest.mapping import MappingError, validate_data
from affluent_generic_rest.testing import GenericRestFake

SKUS = {"sku-widget-blue": "Blue widget", "sku-gadget": "Gadget"}
"""Catalog entries the test carts refer to, created in every fresh sandbox."""


@pytest.fixture(scope="session")
def example_data() -> dict[str, dict[str, Any]]:
    """Each example mapping file, parsed but not validated (tests mutate copies)."""
    return {key: tomllib.loads(path.read_text()) for key, path in EXAMPLES.items()}


@pytest.fixture
def nested(example_data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example_data["nested_shop"])


@pytest.fixture
def flat(example_data: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return copy.deepcopy(example_data["flat_shop"])


@pytest.fixture
def problems() -> Callable[[dict[str, Any]], list[str]]:
    """Validate a mapping table; return the problem lines the user would see."""

    def run(data: dict[str, Any]) -> list[str]:
        with pytest.raises(MappingError) as info:
            validate_data(data, "mapping.toml")
        return info.value.lines

    return run


@pytest.fixture(params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def fake(example: str) -> GenericRestFake:
    return GenericRestFake(example)


@pytest.fixture
def fake_url(fake: GenericRestFake) -> Iterator[str]:
    from affluent.serving import serve_in_thread

    with serve_in_thread(fake.app) as url:
        yield url


@pytest.fixture
def sandbox_url() -> Iterator[str]:
    from affluent.sandbox import SandboxConfig, create_app
    from affluent.serving import serve_in_thread

    with serve_in_thread(create_app(SandboxConfig(rate_limit=None, resolve_delay=None))) as url:
        yield url


@pytest.fixture
async def dr(sandbox_url: str) -> AsyncIterator[Any]:
    from affluent.dr import AsyncDigitalRiver

    async with AsyncDigitalRiver(api_key="sk_test_generic_rest", base_url=sandbox_url) as client:
        for sku, name in SKUS.items():
            await client.skus.create({"id": sku, "name": name, "physical": True})
        yield client


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Any]:
    from affluent.store import Store

    store = Store(f"sqlite:///{tmp_path / 'affluent.sqlite3'}")
    store.upgrade()
    yield store
    store.dispose()
