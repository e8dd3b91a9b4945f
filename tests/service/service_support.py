"""Helpers for the service tests: a platform adapter with HTTP writes and signed webhooks, a
recorder for those writes, DR order set-up through the flow, and subprocess management for
``affluent serve`` / ``affluent worker``."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from affluent.dr import AsyncDigitalRiver, sign
from affluent.flow import Flow
from affluent.hookspecs import hookimpl
from affluent.models import PlatformEvent, PlatformUpdate
from affluent.sandbox import DEFAULT_WEBHOOK_SECRET
from affluent.testing.memory import DictPlatform
from affluent.testing.sources import browser_source

HERE = Path(__file__).parent
TESTS = HERE.parent
PLATFORM = "dict"
PLATFORM_SECRET = "dict-webhook-secret-9f8e7d6c"
DR_KEY = "sk_test_affluent_service_key_0001"
STOREFRONT_KEY = "sf_live_9d8c7b6a5f4e3d2c1b0a"


def base_settings(db: str, sandbox_url: str, **overrides: Any) -> dict[str, Any]:
    """Settings of a test connector: the dict platform, the sandbox, short leases and retries."""
    values: dict[str, Any] = {
        "database_url": db,
        "dr_api_key": DR_KEY,
        "dr_base_url": sandbox_url,
        "dr_webhook_secrets": [DEFAULT_WEBHOOK_SECRET],
        "adapters": [],
        "adapter_paths": {PLATFORM: "service_support:ServicePlatform"},
        "adapter_config": {PLATFORM: {"webhook_secret": PLATFORM_SECRET}},
        "storefront_api_keys": {PLATFORM: [STOREFRONT_KEY]},
        "lease_seconds": 2.0,
        "job_backoff_base": 0.05,
        "job_backoff_max": 1.0,
        "job_max_attempts": 5,
        "worker_poll_interval": 0.05,
        "sweep_interval": 0.5,
        "reconcile_interval": 0.0,
        "write_retry_base": 0.05,
    }
    return values | overrides


SIGNATURE = "x-dict-signature"
CAPTURED: list[io.StringIO] = []
"""In-process log output of the whole service suite, scanned by test_zz_logs."""
SUBPROCESS_LOGS: list[Path] = []
"""Log files of every subprocess the suite started, scanned by test_zz_logs."""


# -- the platform ----------------------------------------------------------------------------


class HttpWriter:
    """Platform client sending every write to a recorder over HTTP (so other processes count)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._http = httpx.AsyncClient(timeout=5.0)

    async def push(self, update: PlatformUpdate) -> None:
        response = await self._http.post(self.url, json=update.model_dump(mode="json"))
        response.raise_for_status()

    async def aclose(self) -> None:
        await self._http.aclose()


class ServicePlatform(DictPlatform):
    """The core tests' dict platform, plus signed webhooks and (optionally) HTTP writes.

    Webhook body: ``{"kind", "order_ref", "payload", "delivery_id"?}``; header
    ``x-dict-signature`` = hex HMAC-SHA256 of the body under ``config["webhook_secret"]``.
    """

    @hookimpl
    def affluent_platform_client(self, config: Mapping[str, Any]) -> Any:
        url = config.get("writes_url")
        return HttpWriter(str(url)) if url else self.client

    @hookimpl
    def affluent_parse_webhook(
        self, headers: Mapping[str, str], body: bytes, config: Mapping[str, Any]
    ) -> PlatformEvent:
        from affluent.errors import InvalidInput, SignatureError

        secret = str(config.get("webhook_secret", PLATFORM_SECRET)).encode()
        expected = hmac.new(secret, body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, headers.get(SIGNATURE, "")):
            raise SignatureError("x-dict-signature matches no secret")
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise InvalidInput("body", f"not JSON: {exc}") from None
        return PlatformEvent(
            kind=data["kind"],
            delivery_id=data.get("delivery_id"),
            order_ref=data.get("order_ref"),
            payload=data["payload"],
        )


def platform_webhook(
    kind: str, payload: dict[str, Any], *, order_ref: str | None, delivery: str | None = None
) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(
        {"kind": kind, "order_ref": order_ref, "payload": payload, "delivery_id": delivery}
    ).encode()
    digest = hmac.new(PLATFORM_SECRET.encode(), body, hashlib.sha256).hexdigest()
    return body, {SIGNATURE: digest, "content-type": "application/json"}


def ship(ref: str, change: str, lines: list[tuple[str, int, int]]) -> tuple[bytes, dict[str, str]]:
    """A signed line-change webhook: (line id, shipped, cancelled) per line."""
    payload = {
        "ref": ref,
        "event": change,
        "lines": [{"id": i, "shipped": s, "cancelled": c} for i, s, c in lines],
    }
    return platform_webhook("line_changes", payload, order_ref=ref, delivery=f"d-{change}")


@dataclass
class WriteLog:
    """Records platform writes POSTed by any process."""

    writes: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def record(request: Request) -> Response:
            body = await request.json()
            with self.lock:
                self.writes.append(body)
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/writes", record, methods=["POST"])])

    def statuses(self, ref: str) -> list[str]:
        with self.lock:
            return [
                w["body"]["status"]
                for w in self.writes
                if w["order_ref"] == ref and w["kind"] == "status"
            ]


# -- DR events -------------------------------------------------------------------------------


def signed(
    event: Mapping[str, Any] | bytes, secret: str, *, at: float | None = None
) -> tuple[bytes, dict[str, str]]:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    header = sign(body, [secret], timestamp=int(time.time() if at is None else at))
    return body, {"DigitalRiver-Signature": header, "content-type": "application/json"}


# -- orders through the flow -----------------------------------------------------------------


def cart(ref: str, *, email: str = "ada@example.com", qty: int = 3) -> dict[str, Any]:
    return {
        "ref": ref,
        "currency": "USD",
        "email": email,
        "customer": None,
        "lines": [
            {"id": "L1", "sku": "sku-widget-blue", "qty": qty, "price": "15.00"},
            {"id": "L2", "sku": "sku-widget-blue", "qty": 1, "price": "9.99"},
        ],
    }


async def submitted(
    flow: Flow,
    dr: AsyncDigitalRiver,
    ref: str,
    *,
    email: str = "ada@example.com",
    qty: int = 3,
    last_name: str = "Lovelace",
) -> str:
    """Check out, pay and submit ``ref``; return the DR order id."""
    summary = await flow.begin_checkout(PLATFORM, cart(ref, email=email, qty=qty))
    src = await browser_source(dr, summary.checkout_id, last_name=last_name)
    await flow.hand_off_payment(PLATFORM, {"ref": ref, "source": src})
    result = await flow.submit(PLATFORM, ref)
    assert result.dr_order_id, result
    return result.dr_order_id


async def seed_skus(dr: AsyncDigitalRiver) -> None:
    """The SKUs the carts use (the sandbox starts with an empty catalog)."""
    await dr.skus.create({"id": "sku-widget-blue", "name": "Blue widget", "physical": True})


async def resolve(sandbox_url: str, order_id: str, outcome: str) -> None:
    async with httpx.AsyncClient(base_url=sandbox_url) as client:
        response = await client.post(
            f"/_sandbox/orders/{order_id}/resolve", json={"outcome": outcome}
        )
        assert response.status_code == 200, response.text


# -- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def service_env(**settings: Any) -> dict[str, str]:
    """Environment for a subprocess: AFFLUENT_* from ``settings`` (JSON for non-strings)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AFFLUENT_")}
    env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(TESTS), env.get("PYTHONPATH", "")])
    for key, value in settings.items():
        env[f"AFFLUENT_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class Proc:
    """One ``affluent`` subprocess, its output kept in a file."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = log.open("wb")
        self.popen = subprocess.Popen(
            [sys.executable, "-m", "affluent.service", *args],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def kill(self) -> None:
        """``kill -9``."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGKILL)
        self.popen.wait(10)

    def terminate(self, timeout: float = 20.0) -> int:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.popen.pid, signal.SIGTERM)
        try:
            return self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            return -9

    def close(self) -> None:
        if self.popen.poll() is None:
            self.terminate()
        self._out.close()

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Fleet:
    """Subprocesses started by one test; stopped at the end."""

    def __init__(self, tmp: Path, env: dict[str, str]) -> None:
        self.tmp = tmp
        self.env = env
        self.procs: list[Proc] = []

    def worker(self, *args: str, **overrides: Any) -> Proc:
        env = dict(self.env)
        for key, value in overrides.items():
            env[f"AFFLUENT_{key.upper()}"] = value if isinstance(value, str) else json.dumps(value)
        proc = Proc(["worker", *args], env, self.tmp / f"worker-{len(self.procs)}.log")
        self.procs.append(proc)
        return proc

    def wait_started(self, *procs: Proc, timeout: float = 60.0) -> None:
        """Block until each worker logged that it started (imports done, schema checked)."""
        deadline = time.monotonic() + timeout
        for proc in procs:
            while "started (concurrency" not in proc.output():
                if proc.popen.poll() is not None:
                    raise RuntimeError(f"worker exited:\n{proc.output()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker did not start:\n{proc.output()}")
                time.sleep(0.05)

    def serve(self, port: int, *args: str) -> Proc:
        proc = Proc(
            ["serve", "--host", "127.0.0.1", "--port", str(port), *args],
            self.env,
            self.tmp / f"serve-{len(self.procs)}.log",
        )
        self.procs.append(proc)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.popen.poll() is not None:
                raise RuntimeError(f"serve exited:\n{proc.output()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve did not become ready:\n{proc.output()}")

    def close(self) -> None:
        for proc in self.procs:
            proc.close()

    def logs(self) -> str:
        return "\n".join(proc.output() for proc in self.procs)


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]
