"""Webhook delivery for the DR sandbox: signed POSTs over real HTTP, with DR-like retries.

``WebhookDispatcher.enqueue`` fans an event out to every enabled webhook subscribed to its type.
Each delivery is an asyncio task: POST the event JSON with a fresh ``DigitalRiver-Signature``,
count any 2xx within ``timeout`` as success, anything else (3xx included, timeouts, connection
errors) as failure, and retry after each of ``retry_delays``. ``duplicate`` and ``shuffle`` make
deliveries repeat and arrive out of order, to exercise receivers' dedupe and ordering logic.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import random
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx

__all__ = ["DeliveryAttempt", "WebhookDispatcher", "wants"]

SIGNATURE_HEADER = "DigitalRiver-Signature"


@dataclass(frozen=True)
class DeliveryAttempt:
    """One POST of one event to one webhook."""

    event_id: str
    event_type: str
    webhook_id: str
    address: str
    attempt: int  # 1-based, per delivery
    status_code: int | None  # None when no response arrived
    error: str | None  # e.g. "HTTP 500", "timeout after 3.0s", "ConnectError: ..."
    duration: float  # seconds
    ok: bool
    final: bool  # True if no further attempt follows (success or retries exhausted)
    at: float  # dispatcher clock when the attempt started


def wants(webhook: Mapping[str, Any], event_type: str) -> bool:
    """Whether an enabled ``webhook`` subscribes to ``event_type`` (``*``/``order.*`` patterns)."""
    if not webhook.get("enabled", True):
        return False
    types = webhook.get("types") or ()
    return any(fnmatch.fnmatchcase(event_type, str(pattern)) for pattern in types)


class WebhookDispatcher:
    """Deliver events to webhooks (dicts shaped like DR's: ``id``, ``address``, ``types``,
    ``enabled``, optional ``authentication`` ``{userName, password}`` for HTTP Basic).

    ``secrets`` is called on every attempt, so rotation takes effect immediately; every active
    secret signs each request. ``clock`` gives the signature timestamp (Unix seconds).
    """

    def __init__(
        self,
        *,
        secrets: Callable[[], Sequence[str]],
        transport: httpx.AsyncBaseTransport | None = None,
        timeout: float = 3.0,
        retry_delays: Sequence[float] = (0.5, 2.0, 8.0),
        duplicate: bool = False,
        shuffle: bool = False,
        shuffle_window: float = 0.25,
        jitter: float = 0.1,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
    ) -> None:
        self.secrets = secrets
        self.timeout = timeout
        self.retry_delays = tuple(retry_delays)
        self.duplicate = duplicate
        self.shuffle = shuffle
        self.shuffle_window = shuffle_window
        self.jitter = jitter
        self.clock = clock
        self.attempts: list[DeliveryAttempt] = []
        self._rng = rng or random.Random()
        self._transport = transport
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    # -- public API ----------------------------------------------------------------------

    def enqueue(self, event: Mapping[str, Any], webhooks: Sequence[Mapping[str, Any]]) -> None:
        """Schedule delivery of ``event`` to each webhook that wants it (needs a running loop).

        The delivered body is ``event`` with ``webhookIds`` set to the receiving webhooks' ids.
        """
        loop = asyncio.get_running_loop()
        event_type = str(event["type"])
        event_id = str(event["id"])
        targets = [w for w in webhooks if wants(w, event_type)]
        if not targets:
            return
        payload = {**event, "webhookIds": [str(w["id"]) for w in targets]}
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        copies = 2 if self.duplicate else 1
        for webhook in targets:
            for _ in range(copies):
                task = loop.create_task(self._deliver(event_id, event_type, webhook, body))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)

    def pending(self) -> int:
        """Number of deliveries scheduled or in flight (including those waiting to retry)."""
        return sum(1 for t in self._tasks if not t.done())

    async def drain(self, timeout: float | None = None) -> None:  # noqa: ASYNC109
        """Wait until no delivery is scheduled or in flight; ``TimeoutError`` after ``timeout``."""
        async with asyncio.timeout(timeout):
            while self._tasks:
                await asyncio.wait(set(self._tasks))

    async def aclose(self) -> None:
        """Cancel outstanding deliveries and close the HTTP client."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._tasks.clear()
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()

    # -- internals -----------------------------------------------------------------------

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                transport=self._transport,
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
            )
        return self._client

    def _headers(self, webhook: Mapping[str, Any], body: bytes) -> dict[str, str]:
        from affluent.dr.signature import sign

        headers = {
            "Content-Type": "application/json",
            "User-Agent": "affluent-sandbox-webhooks/1",
            SIGNATURE_HEADER: sign(body, list(self.secrets()), timestamp=int(self.clock())),
        }
        auth = webhook.get("authentication")
        if isinstance(auth, Mapping) and auth.get("userName"):
            cred = f"{auth['userName']}:{auth.get('password') or ''}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(cred).decode("ascii")
        return headers

    async def _attempt(
        self, webhook: Mapping[str, Any], body: bytes
    ) -> tuple[int | None, str | None]:
        """POST once; return (status code, error text or None on success)."""
        try:
            headers = self._headers(webhook, body)
            async with asyncio.timeout(self.timeout):
                response = await self._http().post(
                    str(webhook["address"]), content=body, headers=headers
                )
        except (TimeoutError, httpx.TimeoutException):
            return None, f"timeout after {self.timeout}s"
        except Exception as exc:  # connection errors, bad address, signing problems...
            return None, f"{type(exc).__name__}: {exc}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}"

    async def _deliver(
        self, event_id: str, event_type: str, webhook: Mapping[str, Any], body: bytes
    ) -> None:
        if self.shuffle:
            await asyncio.sleep(self._rng.uniform(0.0, self.shuffle_window))
        delays = self.retry_delays
        for number in range(1, len(delays) + 2):
            at = self.clock()
            started = time.perf_counter()
            status, error = await self._attempt(webhook, body)
            ok = error is None
            final = ok or number > len(delays)
            self.attempts.append(
                DeliveryAttempt(
                    event_id=event_id,
                    event_type=event_type,
                    webhook_id=str(webhook.get("id", "")),
                    address=str(webhook.get("address", "")),
                    attempt=number,
                    status_code=status,
                    error=error,
                    duration=time.perf_counter() - started,
                    ok=ok,
                    final=final,
                    at=at,
                )
            )
            if final:
                return
            delay = delays[number - 1]
            await asyncio.sleep(delay + self._rng.uniform(0.0, delay * self.jitter))
