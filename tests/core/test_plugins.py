"""Adapter loading through real entry points, the failure policy, and the typed hook facade."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from stevedore import ExtensionManager

from affluent.errors import AdapterError, InvalidInput
from affluent.hookspecs import hookimpl
from affluent.lifecycle import OrderStatus
from affluent.models import Shopper, ShopperKind
from affluent.plugins import Adapters
from affluent.testing.memory import DictPlatform


def _install(root: Path, dist: str, entries: dict[str, str], modules: dict[str, str]) -> None:
    """Write a minimal installed distribution (dist-info + modules) under ``root``."""
    info = root / f"{dist}-1.2.3.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    lines = "\n".join(f"{name} = {target}" for name, target in entries.items())
    (info / "entry_points.txt").write_text(f"[affluent.adapters]\n{lines}\n")
    for name, source in modules.items():
        (root / f"{name}.py").write_text(source)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    ExtensionManager.ENTRY_POINT_CACHE.clear()  # stevedore caches entry points per process
    yield tmp_path
    ExtensionManager.ENTRY_POINT_CACHE.clear()
    sys.path.remove(str(tmp_path))
    for name in [n for n in sys.modules if n.startswith("fake_adapter_")]:
        del sys.modules[name]


GOOD = """
from affluent.hookspecs import hookimpl

class Plugin:
    @hookimpl
    def affluent_map_payment(self, payload):
        return None
"""


def test_configured_adapters_load_with_their_distribution(site: Path) -> None:
    _install(
        site, "acme-adapter", {"acme": "fake_adapter_good:Plugin"}, {"fake_adapter_good": GOOD}
    )
    loaded = Adapters.load(["acme"])
    info = loaded.info("acme")
    assert (info.distribution, info.version) == ("acme-adapter", "1.2.3")
    assert info.hooks == ("affluent_map_payment",)


def test_a_missing_configured_adapter_stops_start_up(site: Path) -> None:
    with pytest.raises(AdapterError, match=r"adapter 'nope' is not installed.*affluent\.adapters"):
        Adapters.load(["nope"])


def test_a_broken_configured_adapter_names_entry_point_and_distribution(site: Path) -> None:
    _install(
        site,
        "broken-adapter",
        {"broken": "fake_adapter_broken:Plugin"},
        {"fake_adapter_broken": "import no_such_module\n"},
    )
    with pytest.raises(AdapterError) as info:
        Adapters.load(["broken"])
    message = str(info.value)
    assert "'broken'" in message
    assert "fake_adapter_broken:Plugin" in message
    assert "'broken-adapter'" in message
    assert "no_such_module" in message


def test_listing_logs_a_broken_adapter_and_carries_on(
    site: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _install(
        site,
        "broken-adapter",
        {"broken": "fake_adapter_broken2:Plugin"},
        {"fake_adapter_broken2": "raise RuntimeError('boom')\n"},
    )
    with caplog.at_level(logging.WARNING, logger="affluent.plugins"):
        loaded = Adapters.load()
    assert "broken" not in loaded.names
    assert {"shopify_like", "generic_rest"} <= set(loaded.names)
    assert "boom" in caplog.text and "broken-adapter" in caplog.text


def test_an_unknown_hook_is_refused() -> None:
    class Typo:
        @hookimpl
        def affluent_map_cartt(self, payload: object) -> None:
            return None

    with pytest.raises(AdapterError, match="affluent_map_cartt"):
        Adapters.from_plugins({"typo": Typo()})


class Observer:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    @hookimpl
    def affluent_dr_event_handled(self, event_id: str, event_type: str, outcome: str) -> None:
        self.seen.append((event_type, outcome))


class OtherShopper:
    @hookimpl
    def affluent_map_shopper(self) -> Shopper:
        return Shopper(kind=ShopperKind.registered, customer_id="other")


def test_hooks_reach_one_adapter_and_every_observer() -> None:
    observer = Observer()
    adapters = Adapters.from_plugins(
        {"dict": DictPlatform(), "other": OtherShopper()}, observers=[observer]
    )
    dict_hooks, other_hooks = adapters.hooks("dict"), adapters.hooks("other")
    assert dict_hooks.map_shopper({"email": "a@example.com"}).kind is ShopperKind.guest
    assert other_hooks.map_shopper({}).customer_id == "other"
    dict_hooks.dr_event_handled("e1", "order.accepted", "applied")
    assert observer.seen == [("order.accepted", "applied")]


def test_a_missing_translation_is_an_adapter_error() -> None:
    hooks = Adapters.from_plugins({"other": OtherShopper()}).hooks("other")
    with pytest.raises(AdapterError, match="'other': affluent_map_cart returned nothing"):
        hooks.map_cart({})
    assert hooks.map_status(order=None, status=OrderStatus.complete) is None  # type: ignore[arg-type]


def test_validation_errors_inside_hooks_become_invalid_input() -> None:
    hooks = Adapters.from_plugins({"dict": DictPlatform()}).hooks("dict")
    with pytest.raises(InvalidInput) as info:
        hooks.map_payment({"ref": "o-1", "source": ""})
    assert info.value.field == "source_id"


def test_unknown_adapter_name() -> None:
    with pytest.raises(AdapterError, match="'nope' is not loaded"):
        Adapters.from_plugins({}).hooks("nope")


class WithExample(DictPlatform):
    @hookimpl
    def affluent_example_platforms(self) -> dict[str, object]:
        return {"dict_b": DictPlatform()}


def test_example_platforms_join_the_adapters_with_the_observers() -> None:
    observer = Observer()
    adapters = Adapters.from_plugins({"dict": WithExample()}, observers=[observer]).with_examples()
    assert adapters.names == ["dict", "dict_b"]
    adapters.hooks("dict_b").dr_event_handled("e1", "order.blocked", "applied")
    assert observer.seen == [("order.blocked", "applied")]
    plain = Adapters.from_plugins({"dict": DictPlatform()})
    assert plain.with_examples() is plain
