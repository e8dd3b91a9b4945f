"""The sync and async clients expose the same resources, methods and parameters."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Iterator

import pytest

from affluent import dr as dr_package
from affluent.dr import AsyncDigitalRiver, DigitalRiver

RESOURCES = [
    "customers",
    "checkouts",
    "sources",
    "skus",
    "orders",
    "fulfillments",
    "events",
    "refunds",
    "returns",
    "webhooks",
]


def _public_methods(obj: object) -> dict[str, inspect.Signature]:
    return {
        name: inspect.signature(member)
        for name, member in inspect.getmembers(obj, callable)
        if not name.startswith("_")
    }


@pytest.fixture
def both() -> Iterator[tuple[DigitalRiver, AsyncDigitalRiver]]:
    sync, asyn = DigitalRiver(api_key="k"), AsyncDigitalRiver(api_key="k")
    yield sync, asyn
    sync.close()
    asyncio.run(asyn.aclose())


@pytest.mark.parametrize("name", RESOURCES)
def test_resource_methods_match(both: tuple[DigitalRiver, AsyncDigitalRiver], name: str) -> None:
    sync = getattr(both[0], name)
    asyn = getattr(both[1], name)
    sync_methods, async_methods = _public_methods(sync), _public_methods(asyn)
    assert sync_methods.keys() == async_methods.keys()
    for method, signature in sync_methods.items():
        other = async_methods[method]
        assert list(signature.parameters) == list(other.parameters), method
        assert all(
            p.kind == other.parameters[n].kind and p.default == other.parameters[n].default
            for n, p in signature.parameters.items()
        ), method
        for n, p in signature.parameters.items():
            if n == "upstream_id":
                assert p.kind is inspect.Parameter.KEYWORD_ONLY
                assert p.default is None
        fn = getattr(asyn, method)
        assert inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn), method
        assert "upstream_id" in signature.parameters, f"{name}.{method} takes no upstream_id"


def test_resources_present_on_both_clients(both: tuple[DigitalRiver, AsyncDigitalRiver]) -> None:
    for client in both:
        assert all(hasattr(client, r) for r in RESOURCES)


def test_public_names_resolve() -> None:
    missing = [n for n in dr_package.__all__ if not hasattr(dr_package, n)]
    assert missing == []
