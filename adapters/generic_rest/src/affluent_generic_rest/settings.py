"""The adapter's configuration (what the core passes as ``config``) and the loaded mapping.

Configuration keys:

``mapping``
    Path of the TOML mapping file. Either this or ``mapping_data``.
``mapping_data``
    The mapping as an already-parsed table (embedding, tests).
``base_url``
    Overrides ``push.base_url`` (e.g. a staging store). Still subject to ``push.allowed_hosts``.
``allow_private_hosts``
    Development switch: allow loopback and private addresses, plain http and any port on
    loopback. Either this or the file's ``push.allow_private_hosts`` turns it on.
``env``
    Names -> values looked up before the process environment for ``push.auth.env`` and
    ``webhooks.signature.secret_env`` (a secrets manager, the platform fake, tests).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from affluent_generic_rest.hosts import HostPolicy, PolicyError
from affluent_generic_rest.mapping import (
    MappingError,
    MappingFile,
    Problem,
    load_file,
    validate_data,
)

CONFIG_SOURCE = "generic_rest configuration"


class AdapterConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    mapping: Path | None = None
    mapping_data: dict[str, Any] | None = None
    base_url: str | None = None
    allow_private_hosts: bool = False
    env: dict[str, str] = Field(default_factory=dict)


@dataclass(frozen=True)
class Loaded:
    """A validated mapping plus the configuration it runs with."""

    mapping: MappingFile
    source: str
    base_url: str | None
    allow_private: bool
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def policy(self) -> HostPolicy:
        return HostPolicy(self.mapping.push.allowed_hosts, allow_private=self.allow_private)

    def lookup(self, name: str) -> str | None:
        """An environment value: the ``env`` config key first, then the process environment."""
        value = self.env.get(name)
        return value if value is not None else os.environ.get(name)

    def secrets(self) -> list[str]:
        """Webhook signing secrets (comma-separated in the variable, for rotation)."""
        webhooks = self.mapping.webhooks
        if webhooks is None:
            return []
        raw = self.lookup(webhooks.signature.secret_env) or ""
        return [part.strip() for part in raw.split(",") if part.strip()]


@functools.lru_cache(maxsize=32)
def _from_json(text: str) -> MappingFile:
    return validate_data(json.loads(text), "mapping_data")


def _config_problem(error: Any) -> Problem:
    loc = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        return (
            f"config.{loc}",
            "unknown key; known: mapping, mapping_data, base_url, allow_private_hosts, env",
        )
    return f"config.{loc}", f"{error['msg'][0].lower()}{error['msg'][1:]}"


def load(config: Mapping[str, Any]) -> Loaded:
    """Validate ``config`` and load its mapping (cached); raise :class:`MappingError`."""
    try:
        settings = AdapterConfig.model_validate(dict(config))
    except ValidationError as exc:
        raise MappingError(CONFIG_SOURCE, [_config_problem(e) for e in exc.errors()]) from None
    if (settings.mapping is None) == (settings.mapping_data is None):
        raise MappingError(
            CONFIG_SOURCE,
            [("config.mapping", "set exactly one of mapping (a file path) or mapping_data")],
        )
    if settings.mapping is not None:
        mapping, source = load_file(settings.mapping), str(settings.mapping)
    else:
        text = json.dumps(settings.mapping_data, sort_keys=True, default=str)
        mapping, source = _from_json(text), "mapping_data"
    return Loaded(
        mapping=mapping,
        source=source,
        base_url=settings.base_url or mapping.push.base_url,
        allow_private=settings.allow_private_hosts or mapping.push.allow_private_hosts,
        env=dict(settings.env),
    )


def startup_problems(loaded: Loaded) -> list[Problem]:
    """What would fail on the first live order: secrets not set, an unusable base URL."""
    problems: list[Problem] = []
    push = loaded.mapping.push
    if loaded.base_url is not None and loaded.base_url != push.base_url:
        try:
            loaded.policy.check_url(loaded.base_url)
        except PolicyError as exc:
            problems.append(("config.base_url", str(exc)))
    if push.auth is not None and not loaded.lookup(push.auth.env):
        problems.append(("push.auth.env", f"environment variable {push.auth.env} is not set"))
    webhooks = loaded.mapping.webhooks
    if webhooks is not None and not loaded.secrets():
        name = webhooks.signature.secret_env
        problems.append(
            ("webhooks.signature.secret_env", f"environment variable {name} is not set")
        )
    return problems


def require_ready(loaded: Loaded) -> Loaded:
    """Raise :class:`MappingError` unless :func:`startup_problems` finds nothing."""
    problems = startup_problems(loaded)
    if problems:
        raise MappingError(loaded.source, problems)
    return loaded
