"""OpenTelemetry spans through the API package only.

affluent never installs an SDK or exporter: without one every span is a no-op. An application
that wants traces installs ``opentelemetry-sdk`` and sets a tracer provider; then it sees one span
per webhook received (``affluent.webhook``), per job run (``affluent.job``, linked to the
webhook's trace through the context stored with the event), per storefront call and per
reconciliation pass.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

__all__ = ["extract", "inject", "span", "tracer"]

_INSTRUMENTATION = "affluent"


def tracer() -> trace.Tracer:
    """affluent's tracer from the globally installed provider (a no-op one by default)."""
    from affluent import __version__

    return trace.get_tracer(_INSTRUMENTATION, __version__)


def _attributes(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if value is None:
            continue
        name = key if key.startswith(("affluent.", "http.", "messaging.")) else f"affluent.{key}"
        out[name] = value if isinstance(value, str | bool | int | float) else str(value)
    return out


@contextmanager
def span(
    name: str,
    *,
    kind: trace.SpanKind = trace.SpanKind.INTERNAL,
    parent: otel_context.Context | None = None,
    **attributes: Any,
) -> Iterator[trace.Span]:
    """Run the block in a span; an exception is recorded on it and re-raised."""
    with tracer().start_as_current_span(
        name, context=parent, kind=kind, attributes=_attributes(attributes)
    ) as current:
        yield current


def inject() -> str | None:
    """The current trace context as JSON (W3C ``traceparent``), to store with a queued event."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return json.dumps(carrier, separators=(",", ":")) if carrier else None


def extract(stored: str | None) -> otel_context.Context | None:
    """The context saved by :func:`inject` (``None`` when nothing was stored)."""
    if not stored:
        return None
    try:
        carrier = json.loads(stored)
    except ValueError:
        return None
    if not isinstance(carrier, dict):
        return None
    return propagate.extract({str(k): str(v) for k, v in carrier.items()})
