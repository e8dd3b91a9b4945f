"""Tests for sandbox webhook delivery (affluent.sandbox.delivery) over real loopback HTTP."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import random
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from affluent.sandbox.delivery import WebhookDispatcher, wants
from affluent.serving import serve_in_thread

SECRET = "whsec_test_one"
FAST = (0.01, 0.01, 0.01)


@dataclass
class Received:
    name: str
    body: bytes
    headers: dict[str, str]

    @property
    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """Records every delivery; per-endpoint plans of responses (status, or (sleep_s, status))."""

    base: str = ""
    received: list[Received] = field(default_factory=list)
    plans: dict[str, list[int | tuple[float, int]]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, name: str) -> str:
        return f"{self.base}/hooks/{name}"

    def by(self, name: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.name == name]

    async def handle(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        with self.lock:
            self.received.append(Received(name, body, dict(request.headers)))
            plan = self.plans.get(name)
            action = plan.pop(0) if plan else 200
        delay, status = action if isinstance(action, tuple) else (0.0, action)
        if delay:
            await asyncio.sleep(delay)
        headers = {"Location": "/elsewhere"} if 300 <= status < 400 else None
        return Response(status_code=status, headers=headers)


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    app = Starlette(routes=[Route("/hooks/{name}", rec.handle, methods=["POST"])])
    with serve_in_thread(app) as base:
        rec.base = base
        yield rec


@pytest.fixture
def rec(receiver: Receiver) -> Receiver:
    with receiver.lock:
        receiver.received.clear()
        receiver.plans.clear()
    return receiver


def event(n: int = 1, type_: str = "order.accepted") -> dict[str, Any]:
    return {
        "id": f"evt-{n}",
        "type": type_,
        "data": {"object": {"id": f"ord-{n}", "state": "accepted"}},
        "liveMode": False,
        "createdTime": "2024-03-05T10:31:03.418522Z",
        "digitalriverVersion": "2021-12-13",
    }


def hook(rec: Receiver, name: str, types: list[str], **extra: Any) -> dict[str, Any]:
    return {"id": f"wh-{name}", "address": rec.url(name), "types": types, **extra}


def expected_sig(secret: str, ts_part: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), ts_part.encode() + b"." + body, hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def check_signature(r: Received, secrets: list[str]) -> int:
    ts_part, *sigs = [p.strip() for p in r.headers["digitalriver-signature"].split(",")]
    assert ts_part.startswith("t=")
    assert sigs == [expected_sig(s, ts_part, r.body) for s in secrets]
    return int(ts_part[2:])


def counter_clock(start: int = 1_700_000_000) -> Any:
    it = itertools.count(start, 10)
    return lambda: float(next(it))


# -- basic delivery and signatures ---------------------------------------------------------


async def test_delivers_signed_event_to_all_subscribers(rec: Receiver) -> None:
    d = WebhookDispatcher(secrets=lambda: [SECRET, "whsec_rotating_old"], retry_delays=FAST)
    try:
        hooks = [hook(rec, "a", ["order.accepted"]), hook(rec, "b", ["*"])]
        d.enqueue(event(), hooks)
        assert d.pending() == 2
        await d.drain(timeout=5)
        assert d.pending() == 0
    finally:
        await d.aclose()
    a, b = rec.by("a"), rec.by("b")
    assert len(a) == len(b) == 1
    assert a[0].body == b[0].body  # serialised once
    assert a[0].headers["content-type"] == "application/json"
    payload = a[0].json
    assert payload["id"] == "evt-1"
    assert payload["webhookIds"] == ["wh-a", "wh-b"]
    assert payload["data"]["object"]["id"] == "ord-1"
    for r in (a[0], b[0]):
        check_signature(r, [SECRET, "whsec_rotating_old"])
    assert sorted((x.webhook_id, x.attempt, x.status_code, x.ok, x.final) for x in d.attempts) == [
        ("wh-a", 1, 200, True, True),
        ("wh-b", 1, 200, True, True),
    ]
    assert all(x.event_id == "evt-1" and x.event_type == "order.accepted" for x in d.attempts)
    assert all(x.duration >= 0 for x in d.attempts)


async def test_500_then_200_retries_and_resigns(rec: Receiver) -> None:
    rec.plans["a"] = [500, 200]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=FAST, clock=counter_clock())
    try:
        d.enqueue(event(), [hook(rec, "a", ["order.*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    got = rec.by("a")
    assert len(got) == 2
    assert got[0].body == got[1].body
    stamps = [check_signature(r, [SECRET]) for r in got]
    assert stamps[0] < stamps[1]  # fresh timestamp per attempt
    assert [(x.attempt, x.status_code, x.error, x.ok, x.final) for x in d.attempts] == [
        (1, 500, "HTTP 500", False, False),
        (2, 200, None, True, True),
    ]


async def test_slow_receiver_times_out_and_is_retried(rec: Receiver) -> None:
    rec.plans["slow"] = [(0.8, 200), 202]
    d = WebhookDispatcher(secrets=lambda: [SECRET], timeout=0.3, retry_delays=FAST)
    try:
        d.enqueue(event(), [hook(rec, "slow", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    first, second = d.attempts
    assert not first.ok
    assert first.status_code is None
    assert first.error is not None
    assert "timeout" in first.error
    assert 0.25 <= first.duration < 0.8
    assert second.ok
    assert second.status_code == 202


async def test_redirect_is_a_failure(rec: Receiver) -> None:
    rec.plans["r"] = [302, 204]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=FAST)
    try:
        d.enqueue(event(), [hook(rec, "r", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    assert [(x.status_code, x.ok) for x in d.attempts] == [(302, False), (204, True)]
    assert len(rec.by("r")) == 2  # the redirect was not followed


async def test_gives_up_after_retry_delays(rec: Receiver) -> None:
    rec.plans["down"] = [503, 400, 500, 500, 200]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=(0.01, 0.02, 0.01))
    try:
        d.enqueue(event(), [hook(rec, "down", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    assert [(x.attempt, x.status_code, x.ok, x.final) for x in d.attempts] == [
        (1, 503, False, False),
        (2, 400, False, False),
        (3, 500, False, False),
        (4, 500, False, True),
    ]
    assert len(rec.by("down")) == 4


async def test_connection_error_is_recorded_and_retried() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nothing listens there
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=(0.01,))
    try:
        d.enqueue(event(), [{"id": "wh-x", "address": f"http://127.0.0.1:{port}/", "types": ["*"]}])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    assert len(d.attempts) == 2
    assert all(not x.ok and x.status_code is None for x in d.attempts)
    assert "ConnectError" in (d.attempts[0].error or "")


# -- routing -------------------------------------------------------------------------------


def test_wants_patterns() -> None:
    assert wants({"types": ["*"]}, "refund.complete")
    assert wants({"types": ["order.*"]}, "order.accepted")
    assert wants({"types": ["order.*"]}, "order.charge.capture.complete")
    assert not wants({"types": ["order.*"]}, "fulfillment.created")
    assert not wants({"types": ["order.accepted"]}, "order.accepted.extra")
    assert not wants({"types": ["*"], "enabled": False}, "order.accepted")
    assert not wants({"types": []}, "order.accepted")
    assert not wants({}, "order.accepted")


async def test_type_filtering_wildcards_and_disabled(rec: Receiver) -> None:
    hooks = [
        hook(rec, "orders", ["order.*"]),
        hook(rec, "all", ["*"]),
        hook(rec, "refunds", ["refund.complete", "refund.failed"]),
        hook(rec, "off", ["*"], enabled=False),
        hook(rec, "on", ["order.accepted"], enabled=True),
    ]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=FAST)
    try:
        d.enqueue(event(1, "order.accepted"), hooks)
        d.enqueue(event(2, "refund.complete"), hooks)
        d.enqueue(event(3, "fulfillment.created"), hooks)
        d.enqueue(event(4, "order.charge.capture.complete"), hooks)
        d.enqueue(event(5, "checkout.created"), [hooks[3]])  # nobody enabled: nothing scheduled
        assert d.pending() == 8
        await d.drain(timeout=5)
    finally:
        await d.aclose()

    def ids(name: str) -> list[str]:
        return sorted(r.json["id"] for r in rec.by(name))

    assert ids("orders") == ["evt-1", "evt-4"]
    assert ids("all") == ["evt-1", "evt-2", "evt-3", "evt-4"]
    assert ids("refunds") == ["evt-2"]
    assert ids("on") == ["evt-1"]
    assert ids("off") == []
    webhook_ids = {r.json["id"]: r.json["webhookIds"] for r in rec.by("all")}
    assert webhook_ids == {
        "evt-1": ["wh-orders", "wh-all", "wh-on"],
        "evt-2": ["wh-all", "wh-refunds"],
        "evt-3": ["wh-all"],
        "evt-4": ["wh-orders", "wh-all"],
    }


async def test_basic_authentication_header(rec: Receiver) -> None:
    h = hook(rec, "basic", ["*"], authentication={"userName": "dr", "password": "pw"})
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=FAST)
    try:
        d.enqueue(event(), [h, hook(rec, "plain", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    assert (
        rec.by("basic")[0].headers["authorization"]
        == "Basic " + base64.b64encode(b"dr:pw").decode()
    )
    assert "authorization" not in rec.by("plain")[0].headers


# -- test hooks: duplicates, shuffling -----------------------------------------------------


async def test_duplicate_delivers_every_event_twice(rec: Receiver) -> None:
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=FAST, duplicate=True)
    try:
        for n in range(3):
            d.enqueue(event(n), [hook(rec, "dup", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    got = sorted(r.json["id"] for r in rec.by("dup"))
    assert got == ["evt-0", "evt-0", "evt-1", "evt-1", "evt-2", "evt-2"]
    assert len(d.attempts) == 6


async def test_shuffle_reorders_arrivals(rec: Receiver) -> None:
    d = WebhookDispatcher(
        secrets=lambda: [SECRET],
        retry_delays=FAST,
        shuffle=True,
        shuffle_window=0.3,
        rng=random.Random(1234),
    )
    sent = [f"evt-{n}" for n in range(20)]
    try:
        for n in range(20):
            d.enqueue(event(n), [hook(rec, "shuf", ["*"])])
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    arrived = [r.json["id"] for r in rec.by("shuf")]
    assert sorted(arrived) == sorted(sent)
    assert arrived != sent


# -- lifecycle -----------------------------------------------------------------------------


async def test_drain_timeout_and_aclose_cancels(rec: Receiver) -> None:
    rec.plans["hang"] = [500]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=(30.0,))
    d.enqueue(event(), [hook(rec, "hang", ["*"])])
    with pytest.raises(TimeoutError):
        await d.drain(timeout=0.3)
    assert d.pending() == 1  # waiting to retry
    await d.aclose()
    assert d.pending() == 0
    await d.drain(timeout=0.1)  # nothing left
    assert len(d.attempts) == 1


async def test_drain_waits_for_retries(rec: Receiver) -> None:
    rec.plans["later"] = [500, 500, 200]
    d = WebhookDispatcher(secrets=lambda: [SECRET], retry_delays=(0.05, 0.05))
    try:
        d.enqueue(event(), [hook(rec, "later", ["*"])])
        await d.drain()
    finally:
        await d.aclose()
    assert [x.ok for x in d.attempts] == [False, False, True]


def test_enqueue_needs_running_loop() -> None:
    d = WebhookDispatcher(secrets=lambda: [SECRET])
    with pytest.raises(RuntimeError):
        d.enqueue(event(), [{"id": "w", "address": "http://127.0.0.1:9/", "types": ["*"]}])


async def test_secrets_are_read_per_attempt(rec: Receiver) -> None:
    rec.plans["rot"] = [500, 200]
    active = [["whsec_old"]]
    d = WebhookDispatcher(secrets=lambda: active[0], retry_delays=(0.2,))
    try:
        d.enqueue(event(), [hook(rec, "rot", ["*"])])
        await asyncio.sleep(0.1)
        active[0] = ["whsec_new", "whsec_old"]
        await d.drain(timeout=5)
    finally:
        await d.aclose()
    first, second = rec.by("rot")
    check_signature(first, ["whsec_old"])
    check_signature(second, ["whsec_new", "whsec_old"])
