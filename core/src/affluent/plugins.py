"""Adapter loading: stevedore discovers ``affluent.adapters``, pluggy registers and calls.

Policy: an adapter that was asked for by name and is missing or fails to import stops start-up
with :class:`~affluent.errors.AdapterError` naming the entry point and distribution. Listing
what is installed logs a broken adapter and carries on.

The core never calls ``pm.hook`` directly: :class:`AdapterHooks` is a typed facade that calls
one adapter's hooks (plus every observer plugin) with keyword arguments.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, TypeVar

import pluggy
from pydantic import ValidationError
from stevedore import ExtensionManager, NamedExtensionManager

from affluent import hookspecs
from affluent.errors import AdapterError, InvalidInput
from affluent.lifecycle import OrderStatus
from affluent.models import (
    Capabilities,
    Cart,
    CheckoutSummary,
    LineItemChanges,
    OrderView,
    PaymentHandoff,
    PlatformEvent,
    PlatformUpdate,
    Shopper,
)
from affluent.platform import PlatformClient, PlatformFake

ENTRY_POINT_GROUP = "affluent.adapters"
log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class AdapterInfo:
    """An adapter registered with the plugin manager."""

    name: str
    distribution: str
    version: str
    hooks: tuple[str, ...]
    plugin: object = field(repr=False, compare=False)


def make_plugin_manager() -> pluggy.PluginManager:
    """A fresh plugin manager that knows affluent's hook specifications."""
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    return pm


def _distributions() -> dict[str, tuple[str, str]]:
    """Entry name -> (distribution, version), read from installed metadata."""
    found: dict[str, tuple[str, str]] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        dist = ep.dist
        found[ep.name] = (dist.name, dist.version) if dist else ("?", "?")
    return found


def _implemented(pm: pluggy.PluginManager, plugin: object) -> tuple[str, ...]:
    callers = pm.get_hookcallers(plugin) or []
    return tuple(sorted(caller.name for caller in callers))


def invalid_input(exc: ValidationError) -> InvalidInput:
    """Turn a model validation failure into InvalidInput naming the first offending field."""
    first = exc.errors()[0]
    field = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"]).lstrip(".")
    message = first["msg"].removeprefix("Value error, ")
    named = re.match(r"^([\w.\[\]]+): (.+)$", message)
    if named:
        inner, message = named.groups()
        field = f"{field}.{inner}" if field else inner
    field = field or exc.title
    if len(exc.errors()) > 1:
        message += f" (and {len(exc.errors()) - 1} more error(s))"
    return InvalidInput(field, message)


class Adapters:
    """The loaded adapters and the observer plugins, over one pluggy manager."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        infos: Mapping[str, AdapterInfo],
        observers: Iterable[object] = (),
    ) -> None:
        self.pm = pm
        self._infos = dict(infos)
        self._observers = list(observers)

    @classmethod
    def load(
        cls, names: Sequence[str] | None = None, *, observers: Iterable[object] = ()
    ) -> Adapters:
        """Load adapters by entry point.

        :param names: adapters to load; a missing or broken one raises
            :class:`~affluent.errors.AdapterError`. ``None`` loads every installed adapter and
            logs (and skips) those that fail.
        :param observers: extra plugins (logging, metrics) registered for every adapter.
        """
        dists = _distributions()
        failures: list[str] = []
        broken: set[str] = set()

        def on_failure(_manager: Any, entrypoint: Any, exc: BaseException) -> None:
            broken.add(entrypoint.name)
            dist = dists.get(entrypoint.name, ("?", "?"))[0]
            failures.append(
                f"adapter {entrypoint.name!r} (entry point {entrypoint.value!r} in "
                f"distribution {dist!r}) failed to load: {type(exc).__name__}: {exc}"
            )

        manager: ExtensionManager[Any]
        if names is None:
            manager = ExtensionManager(
                ENTRY_POINT_GROUP, invoke_on_load=True, on_load_failure_callback=on_failure
            )
            for failure in failures:
                log.warning("%s", failure)
        else:
            missing: list[str] = []
            manager = NamedExtensionManager(
                ENTRY_POINT_GROUP,
                names=list(names),
                invoke_on_load=True,
                name_order=True,
                on_load_failure_callback=on_failure,
                on_missing_entrypoints_callback=missing.extend,
            )
            for name in (name for name in missing if name not in broken):
                failures.append(
                    f"adapter {name!r} is not installed: no entry point {name!r} in group "
                    f"{ENTRY_POINT_GROUP!r}; installed: {sorted(dists) or 'none'}"
                )
            if failures:
                raise AdapterError("; ".join(failures))
        plugins = {ext.name: ext.obj for ext in manager}
        return cls.from_plugins(plugins, observers=observers, distributions=dists)

    @classmethod
    def from_plugins(
        cls,
        plugins: Mapping[str, object],
        *,
        observers: Iterable[object] = (),
        distributions: Mapping[str, tuple[str, str]] | None = None,
    ) -> Adapters:
        """Register adapter objects directly (tests, embedding) under the given names."""
        pm = make_plugin_manager()
        observers = list(observers)
        for observer in observers:
            pm.register(observer)
        infos: dict[str, AdapterInfo] = {}
        for name, plugin in plugins.items():
            pm.register(plugin, name=name)
            dist, version = (distributions or {}).get(name, (type(plugin).__module__, "local"))
            infos[name] = AdapterInfo(name, dist, version, _implemented(pm, plugin), plugin)
        try:
            pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise AdapterError(f"adapter {exc.plugin!r} implements an unknown hook: {exc}") from exc
        return cls(pm, infos, observers)

    def with_examples(self) -> Adapters:
        """These adapters plus the example platforms they offer (``affluent_example_platforms``)."""
        plugins = {name: info.plugin for name, info in self._infos.items()}
        for name in self.names:
            for extra, plugin in (self.hooks(name).example_platforms() or {}).items():
                plugins.setdefault(extra, plugin)
        if len(plugins) == len(self._infos):
            return self
        dists = {name: (info.distribution, info.version) for name, info in self._infos.items()}
        return Adapters.from_plugins(plugins, observers=self._observers, distributions=dists)

    @property
    def names(self) -> list[str]:
        return list(self._infos)

    def info(self, name: str) -> AdapterInfo:
        try:
            return self._infos[name]
        except KeyError:
            raise AdapterError(f"adapter {name!r} is not loaded; loaded: {self.names}") from None

    def hooks(self, name: str, config: Mapping[str, Any] | None = None) -> AdapterHooks:
        """The typed hook facade for one adapter."""
        plugin = self.info(name).plugin
        others = [info.plugin for info in self._infos.values() if info.plugin is not plugin]
        return AdapterHooks(self.pm, name, others, config or {})


class AdapterHooks:
    """Typed calls into one adapter's hooks; observers see every adapter's events."""

    def __init__(
        self,
        pm: pluggy.PluginManager,
        name: str,
        others: Sequence[object],
        config: Mapping[str, Any],
    ) -> None:
        self.name = name
        self.config = config
        self._pm = pm
        self._others = others
        self._callers: dict[str, Any] = {}

    def _call(self, hook: str, **kwargs: Any) -> Any:
        caller = self._callers.get(hook)
        if caller is None:
            caller = self._pm.subset_hook_caller(hook, remove_plugins=self._others)
            self._callers[hook] = caller
        try:
            return caller(**kwargs)
        except ValidationError as exc:
            raise invalid_input(exc) from exc

    def _required(self, hook: str, expected: type[T], **kwargs: Any) -> T:
        result = self._call(hook, **kwargs)
        if result is None:
            raise AdapterError(f"adapter {self.name!r}: {hook} returned nothing for this input")
        if not isinstance(result, expected):
            raise AdapterError(
                f"adapter {self.name!r}: {hook} returned {type(result).__name__}, "
                f"expected {expected.__name__}"
            )
        return result

    def capabilities(self) -> Capabilities:
        result = self._call("affluent_capabilities", config=self.config)
        return result if isinstance(result, Capabilities) else Capabilities()

    def platform_client(self) -> PlatformClient:
        client = self._call("affluent_platform_client", config=self.config)
        if client is None:
            raise AdapterError(f"adapter {self.name!r} provides no platform client")
        return client  # type: ignore[no-any-return]

    def check_config(self, config_path: str, sample_path: str | None) -> str:
        report = self._call(
            "affluent_check_config", config_path=config_path, sample_path=sample_path
        )
        if report is None:
            raise AdapterError(f"adapter {self.name!r} has no configuration file to check")
        return str(report)

    def example_platforms(self) -> Mapping[str, object] | None:
        return self._call("affluent_example_platforms")  # type: ignore[no-any-return]

    def platform_fake(self) -> PlatformFake | None:
        return self._call("affluent_platform_fake")  # type: ignore[no-any-return]

    def parse_webhook(self, headers: Mapping[str, str], body: bytes) -> PlatformEvent:
        return self._required(
            "affluent_parse_webhook", PlatformEvent, headers=headers, body=body, config=self.config
        )

    def map_shopper(self, payload: Mapping[str, Any]) -> Shopper:
        return self._required("affluent_map_shopper", Shopper, payload=payload, config=self.config)

    def map_cart(self, payload: Mapping[str, Any]) -> Cart:
        return self._required("affluent_map_cart", Cart, payload=payload, config=self.config)

    def map_payment(self, payload: Mapping[str, Any]) -> PaymentHandoff:
        return self._required(
            "affluent_map_payment", PaymentHandoff, payload=payload, config=self.config
        )

    def map_line_changes(self, payload: Mapping[str, Any]) -> LineItemChanges | None:
        result = self._call("affluent_map_line_changes", payload=payload, config=self.config)
        if result is not None and not isinstance(result, LineItemChanges):
            raise AdapterError(
                f"adapter {self.name!r}: affluent_map_line_changes returned "
                f"{type(result).__name__}, expected LineItemChanges"
            )
        return result

    def map_status(self, order: OrderView, status: OrderStatus) -> PlatformUpdate | None:
        return self._call(  # type: ignore[no-any-return]
            "affluent_map_status", order=order, status=status, config=self.config
        )

    def map_checkout(self, summary: CheckoutSummary) -> PlatformUpdate | None:
        return self._call(  # type: ignore[no-any-return]
            "affluent_map_checkout", summary=summary, config=self.config
        )

    def order_transitioned(
        self, order: OrderView, old: OrderStatus | None, new: OrderStatus, cause: str
    ) -> None:
        self._call("affluent_order_transitioned", order=order, old=old, new=new, cause=cause)

    def dr_event_handled(self, event_id: str, event_type: str, outcome: str) -> None:
        self._call(
            "affluent_dr_event_handled", event_id=event_id, event_type=event_type, outcome=outcome
        )

    def flow_error(self, step: str, order_ref: str | None, error: BaseException) -> None:
        self._call("affluent_flow_error", step=step, order_ref=order_ref, error=error)
