"""The webhook endpoints over real uvicorn: signatures, answers, durability, size limits."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from conftest import Service
from service_support import PLATFORM, platform_webhook, ship, signed
from sqlalchemy import func, select

from affluent.dr import sign
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.store.tables import InboxEvent

OLD_SECRET = "whsec_rotated_out_0123456789"


def event(**extra: Any) -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "type": "order.accepted",
        "data": {"object": {"id": "240000000336", "state": "accepted"}},
        "liveMode": False,
        "createdTime": "2026-01-01T00:00:00.000000Z",
    } | extra


def stored(service: Service) -> int:
    with service.store.session() as session:
        return session.scalar(select(func.count()).select_from(InboxEvent)) or 0


async def post(service: Service, path: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
    async with httpx.AsyncClient(base_url=service.url) as client:
        return await client.post(path, content=body, headers=headers)


async def test_a_signed_event_is_stored_once_and_answered_202(service: Service) -> None:
    body, headers = signed(event(), DEFAULT_WEBHOOK_SECRET)
    first = await post(service, "/webhooks/digital-river", body, headers)
    again = await post(service, "/webhooks/digital-river", body, headers)
    assert first.status_code == 202 and first.json()["duplicate"] is False
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert stored(service) == 1
    with service.store.session() as session:
        [row] = session.scalars(select(InboxEvent)).all()
    assert row.payload == body.decode() and row.state == "pending" and row.origin == "webhook"


@pytest.mark.parametrize(
    ("case", "status", "reason"),
    [
        ("tampered", 401, "no_matching_signature"),
        ("stale", 401, "timestamp_too_old"),
        ("future", 401, "timestamp_in_future"),
        ("unknown_secret", 401, "no_matching_signature"),
        ("missing", 401, "missing_header"),
        ("malformed_header", 401, "malformed_header"),
    ],
)
async def test_bad_signatures_are_refused_and_nothing_is_stored(
    service: Service, case: str, status: int, reason: str
) -> None:
    body = json.dumps(event()).encode()
    now = time.time()
    headers = {"content-type": "application/json"}
    if case == "tampered":
        headers["DigitalRiver-Signature"] = sign(body, [DEFAULT_WEBHOOK_SECRET])
        body = body.replace(b"accepted", b"acceptee", 1)
    elif case == "stale":
        headers["DigitalRiver-Signature"] = sign(
            body, [DEFAULT_WEBHOOK_SECRET], timestamp=int(now - 310)
        )
    elif case == "future":
        headers["DigitalRiver-Signature"] = sign(
            body, [DEFAULT_WEBHOOK_SECRET], timestamp=int(now + 310)
        )
    elif case == "unknown_secret":
        headers["DigitalRiver-Signature"] = sign(body, ["whsec_somebody_else_entirely"])
    elif case == "malformed_header":
        headers["DigitalRiver-Signature"] = "garbage"
    response = await post(service, "/webhooks/digital-river", body, headers)
    assert response.status_code == status, response.text
    assert response.json()["error"]["reason"] == reason
    assert stored(service) == 0


async def test_a_replay_of_an_old_delivery_is_refused_but_a_fresh_retry_is_a_no_op(
    service: Service,
) -> None:
    payload = event()
    body, headers = signed(payload, DEFAULT_WEBHOOK_SECRET, at=time.time() - 600)
    assert (await post(service, "/webhooks/digital-river", body, headers)).status_code == 401
    body, headers = signed(payload, DEFAULT_WEBHOOK_SECRET)
    assert (await post(service, "/webhooks/digital-river", body, headers)).status_code == 202
    body, headers = signed(payload, DEFAULT_WEBHOOK_SECRET)  # DR re-signs each retry
    again = await post(service, "/webhooks/digital-river", body, headers)
    assert again.status_code == 202 and again.json()["duplicate"] is True
    assert stored(service) == 1


async def test_rotation_accepts_any_configured_secret(service: Service) -> None:
    service.settings.dr_webhook_secrets.append(
        type(service.settings.dr_webhook_secrets[0])(OLD_SECRET)
    )
    for secrets in (
        [OLD_SECRET],
        [DEFAULT_WEBHOOK_SECRET],
        ["whsec_new_not_known_yet", OLD_SECRET],
    ):
        body = json.dumps(event()).encode()
        headers = {"DigitalRiver-Signature": sign(body, secrets)}
        assert (await post(service, "/webhooks/digital-river", body, headers)).status_code == 202
    service.settings.dr_webhook_secrets.pop()  # the old secret expires
    body = json.dumps(event()).encode()
    headers = {"DigitalRiver-Signature": sign(body, [OLD_SECRET])}
    assert (await post(service, "/webhooks/digital-river", body, headers)).status_code == 401
    assert stored(service) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body: not valid JSON"),
        (b'{"type": "order.accepted"}', "id: Field required"),
        (b'{"id": "e1"}', "type: Field required"),
        (b'{"id": "", "type": "order.accepted"}', "id: must not be empty"),
        (b"[1, 2]", "Input should be an object"),
    ],
)
async def test_a_malformed_but_signed_body_is_a_400_naming_the_problem(
    service: Service, body: bytes, message: str
) -> None:
    headers = {"DigitalRiver-Signature": sign(body, [DEFAULT_WEBHOOK_SECRET])}
    response = await post(service, "/webhooks/digital-river", body, headers)
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert stored(service) == 0


async def test_platform_webhooks_are_verified_by_the_adapter_and_stored_once(
    service: Service,
) -> None:
    body, headers = ship("o-1", "f-1", [("L1", 1, 0)])
    first = await post(service, f"/webhooks/{PLATFORM}", body, headers)
    again = await post(service, f"/webhooks/{PLATFORM}", body, headers)
    assert first.status_code == 202 and first.json() == {
        "received": True,
        "event_id": "d-f-1",
        "duplicate": False,
    }
    assert again.json()["duplicate"] is True
    bad = await post(service, f"/webhooks/{PLATFORM}", body, headers | {"x-dict-signature": "00"})
    assert bad.status_code == 401
    assert (await post(service, f"/webhooks/{PLATFORM}", b"{", headers)).status_code == 401
    garbage, garbage_headers = platform_webhook("line_changes", {}, order_ref=None)
    malformed = await post(
        service, f"/webhooks/{PLATFORM}", garbage.replace(b'"kind"', b'"kin"'), garbage_headers
    )
    assert malformed.status_code == 401  # the body changed, so its signature no longer matches
    unknown = await post(service, "/webhooks/nope", body, headers)
    assert unknown.status_code == 404
    assert stored(service) == 1


# -- body limits ---------------------------------------------------------------------------------


async def _raw_request(
    url: str, head: bytes, chunks: list[bytes], *, pause: float = 0.0
) -> tuple[bytes, int]:
    """Send ``head`` then ``chunks`` on a raw socket, stopping once a response arrives.

    Returns (response head, body bytes sent before the answer came).
    """
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    writer.write(head)
    await writer.drain()
    sent = 0
    answer = asyncio.ensure_future(reader.read(4096))
    try:
        for chunk in chunks:
            if answer.done():
                break
            try:
                writer.write(chunk)
                await writer.drain()
            except (ConnectionError, OSError):
                break
            sent += len(chunk)
            if pause:
                await asyncio.sleep(pause)
        response = await asyncio.wait_for(answer, 10)
    finally:
        writer.close()
    return response, sent


async def test_a_10mb_body_is_refused_413_from_its_content_length_without_reading_it(
    service: Service,
) -> None:
    size = 10 * 1024 * 1024
    head = (
        b"POST /webhooks/digital-river HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {size}\r\n\r\n".encode()
    )
    started = time.perf_counter()
    response, _ = await _raw_request(service.url, head, [])  # not one body byte sent
    elapsed = time.perf_counter() - started
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    print(f"\n10 MB declared: 413 before any body byte was sent, in {elapsed * 1000:.1f} ms")
    async with httpx.AsyncClient(base_url=service.url) as client:  # and with the body sent
        try:
            full = await client.post("/webhooks/digital-river", content=b"x" * size)
        except httpx.TransportError:  # the server may close before the client finishes writing
            pass
        else:
            assert full.status_code == 413
    assert stored(service) == 0


async def test_a_chunked_body_is_cut_off_at_the_limit(service: Service) -> None:
    head = (
        b"POST /webhooks/digital-river HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    piece = b"x" * 16384
    chunk = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    total = 10 * 1024 * 1024 // len(piece)
    response, sent = await _raw_request(service.url, head, [chunk] * total, pause=0.001)
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    limit = service.settings.webhook_max_bytes
    print(f"\nchunked 10 MB: 413 after {sent} bytes sent (limit {limit})")
    assert sent < limit * 8
    assert stored(service) == 0


async def test_health_and_readiness(service: Service) -> None:
    async with httpx.AsyncClient(base_url=service.url) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200 and ready.json()["migrations"] == "current"
