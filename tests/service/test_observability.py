"""Logs (JSON, bound ids, redaction) and OpenTelemetry spans through the API only."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
import pytest
import structlog
from conftest import Service
from opentelemetry import context as otel_context
from opentelemetry import trace
from service_support import signed

from affluent import logs, tracing
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        ("key sk_test_abcdef123456 used", "abcdef123456"),
        ("live key sk_live_Zx9_8-7 in config", "Zx9_8-7"),
        ("secret whsec_0123456789abcdef", "0123456789abcdef"),
        ("Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload", "eyJhbGciOiJIUzI1NiJ9"),
        ("header Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA=="),
        ("card 4444 2222 3333 1111 exp 07/31", "4444 2222 3333 1111"),
        ("card 4444-2222-3333-1111", "4444-2222-3333-1111"),
        ("pan=5466160000000008;", "5466160000000008"),
        ("amex 343456789012341", "343456789012341"),
        ('{"x-api-key": "sf_live_123456abcdef"}', "sf_live_123456abcdef"),
    ],
)
def test_redaction_masks_keys_credentials_and_card_numbers(text: str, leaked: str) -> None:
    assert leaked not in logs.redact_text(text)


@pytest.mark.parametrize(
    "text",
    ["order 240000000336 item 12345678901", "not a card 4444222233331112", "2026-11-27 02:41:00"],
)
def test_redaction_leaves_ordinary_numbers_alone(text: str) -> None:
    assert logs.redact_text(text) == text


def test_registered_secrets_of_any_shape_are_masked() -> None:
    logs.register_secret("plain-shop-secret-42")
    assert logs.redact_text("using plain-shop-secret-42 now") == f"using {logs.REDACTED} now"
    logs.register_secret("abc")  # too short to mask safely: ignored
    assert logs.redact_text("abc") == "abc"


def test_json_lines_carry_bound_ids_and_no_secrets() -> None:
    buffer = io.StringIO()
    handler = logs.configure_logging("INFO", stream=buffer, replace=False)
    try:
        with logs.bind(order="dict:o-9", event_id="evt-9", job_id=9):
            logging.getLogger("affluent.test").info(
                "calling DR with %s", "sk_test_leakme123456", extra={"api_key": "k-123456", "n": 1}
            )
            structlog.stdlib.get_logger("affluent.test").warning(
                "card seen", card_number="4444222233331111", note="pan 4444222233331111"
            )
            try:
                raise ValueError("token=abcdefgh12345678 rejected")
            except ValueError:
                logging.getLogger("affluent.test").exception("failed")
    finally:
        logging.getLogger().removeHandler(handler)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    first, second, third = lines
    assert first["order"] == "dict:o-9" and first["event_id"] == "evt-9" and first["job_id"] == 9
    assert first["api_key"] == logs.REDACTED and first["n"] == 1
    assert first["level"] == "info" and first["logger"] == "affluent.test" and first["timestamp"]
    assert second["card_number"] == logs.REDACTED and "4444222233331111" not in second["note"]
    assert "abcdefgh12345678" not in third["exception"] and "ValueError" in third["exception"]
    assert "leakme" not in buffer.getvalue()


# -- tracing -------------------------------------------------------------------------------------


class RecordedSpan(trace.NonRecordingSpan):
    def __init__(
        self, name: str, parent: trace.SpanContext | None, number: int, into: list[Any]
    ) -> None:
        trace_id = parent.trace_id if parent is not None and parent.is_valid else number + 1000
        super().__init__(
            trace.SpanContext(
                trace_id, number + 1, is_remote=False, trace_flags=trace.TraceFlags(1)
            )
        )
        self.name = name
        self.parent = parent
        self.attributes: dict[str, Any] = {}
        self.ended = False
        into.append(self)

    def set_attribute(self, key: str, value: Any) -> None:
        self.attributes[key] = value

    def is_recording(self) -> bool:
        return True

    def end(self, end_time: int | None = None) -> None:
        self.ended = True


class RecordingTracer(trace.Tracer):
    def __init__(self) -> None:
        self.spans: list[RecordedSpan] = []

    def start_span(  # type: ignore[override]
        self,
        name: str,
        context: otel_context.Context | None = None,
        kind: trace.SpanKind = trace.SpanKind.INTERNAL,
        attributes: Mapping[str, Any] | None = None,
        links: Sequence[trace.Link] | None = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        span = RecordedSpan(name, parent if parent.is_valid else None, len(self.spans), self.spans)
        span.attributes.update(attributes or {})
        return span

    def start_as_current_span(  # type: ignore[override]
        self, name: str, context: otel_context.Context | None = None, **kwargs: Any
    ) -> Any:
        kwargs.pop("end_on_exit", None)
        return trace.use_span(self.start_span(name, context, **kwargs), end_on_exit=True)


@pytest.fixture
def spans(monkeypatch: pytest.MonkeyPatch) -> RecordingTracer:
    recorder = RecordingTracer()
    monkeypatch.setattr(tracing, "tracer", lambda: recorder)
    return recorder


async def test_a_job_span_continues_the_webhook_trace(
    service: Service, spans: RecordingTracer
) -> None:
    event = {"id": "evt-traced", "type": "fulfillment.created", "data": {"object": {"id": "f-1"}}}
    body, headers = signed(event, DEFAULT_WEBHOOK_SECRET)
    async with httpx.AsyncClient(base_url=service.url) as client:
        assert (
            await client.post("/webhooks/digital-river", content=body, headers=headers)
        ).status_code == 202
    await service.worker.run_until_idle(limit=10)
    by_name = {span.name: span for span in spans.spans}
    webhook, job = by_name["affluent.webhook"], by_name["affluent.job"]
    assert webhook.attributes["affluent.source"] == "dr" and webhook.ended
    assert job.parent is not None
    assert job.parent.trace_id == webhook.get_span_context().trace_id
    assert job.attributes["affluent.event_id"] == "evt-traced"
    assert job.attributes["affluent.outcome"] == "ignored"


def test_without_an_sdk_spans_are_no_ops() -> None:
    with tracing.span("affluent.test", order="o-1") as span:
        assert not span.is_recording()
    assert tracing.inject() is None
    assert tracing.extract(None) is None and tracing.extract("not json") is None
