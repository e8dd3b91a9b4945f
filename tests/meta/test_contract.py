"""Meta tests: every hook is exercised by some test, every installed entry point resolves."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from affluent import hookspecs
from affluent.plugins import ENTRY_POINT_GROUP

ROOT = Path(__file__).parents[2]
TEST_SOURCES = [
    *ROOT.glob("tests/**/test_*.py"),
    *ROOT.glob("adapters/*/tests/test_*.py"),
    ROOT / "core/src/affluent/testing/suite.py",
]
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("affluent_"))


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook: str) -> None:
    facade_call = f".{hook.removeprefix('affluent_')}("
    users = [
        path.relative_to(ROOT)
        for path in TEST_SOURCES
        if hook in (text := path.read_text()) or facade_call in text
    ]
    assert users, f"no test calls {hook} (directly or as AdapterHooks{facade_call}...)"


def test_each_adapter_distribution_declares_exactly_one_entry_point() -> None:
    entry_points = list(metadata.entry_points(group=ENTRY_POINT_GROUP))
    assert {ep.name for ep in entry_points} >= {"shopify_like", "generic_rest"}
    for ep in entry_points:
        assert ep.dist is not None
        own = [e for e in ep.dist.entry_points if e.group == ENTRY_POINT_GROUP]
        assert [e.name for e in own] == [ep.name], f"{ep.dist.name} declares {own}"


@pytest.mark.parametrize("name", ["shopify_like", "generic_rest"])
def test_entry_points_resolve_to_classes_with_hooks(name: str) -> None:
    (ep,) = metadata.entry_points(group=ENTRY_POINT_GROUP, name=name)
    plugin = ep.load()()
    marked = [
        attr
        for attr in dir(plugin)
        if hasattr(getattr(plugin, attr), f"{hookspecs.PROJECT_NAME}_impl")
    ]
    assert marked and all(attr in HOOKS for attr in marked), marked
    assert ep.dist is not None and ep.dist.name == f"affluent-{name.replace('_', '-')}"
