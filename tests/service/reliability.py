"""Shared set-up of the reliability suite: a connector deployment in subprocesses.

``Deployment`` runs ``affluent serve`` and ``affluent worker`` processes against one database,
the sandbox (in this process, on loopback) and a platform-write recorder, and keeps an
in-process runtime on the same database for setting up orders and checking results.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from service_support import (
    PLATFORM,
    PLATFORM_SECRET,
    SUBPROCESS_LOGS,
    Fleet,
    Proc,
    WriteLog,
    base_settings,
    free_port,
    percentile,
    seed_skus,
    service_env,
)
from sqlalchemy import func, select

from affluent.service import Inbox, Runtime
from affluent.settings import Settings
from affluent.store.tables import InboxEvent


def deployment_settings(db: str, sandbox_url: str, writes_url: str, **extra: Any) -> dict[str, Any]:
    config = {PLATFORM: {"webhook_secret": PLATFORM_SECRET, "writes_url": writes_url}}
    return (
        base_settings(
            db,
            sandbox_url,
            adapter_config=config,
            job_backoff_base=0.1,
            job_backoff_max=2.0,
            job_max_attempts=8,
            write_retry_base=0.1,
            log_level="INFO",
        )
        | extra
    )


@dataclass
class Deployment:
    """serve + workers in subprocesses; a runtime in process for set-up and checks."""

    tmp: Path
    settings: dict[str, Any]
    writes: WriteLog
    runtime: Runtime = field(init=False)
    fleet: Fleet = field(init=False)
    url: str | None = None

    def __post_init__(self) -> None:
        self.runtime = Runtime(Settings(**self.settings))
        self.fleet = Fleet(self.tmp, service_env(**self.settings))

    async def start(self, *, serve: bool = True, workers: int = 0, concurrency: int = 4) -> None:
        from affluent.store.migrate import migrate

        await asyncio.to_thread(migrate, self.runtime.store)
        await seed_skus(self.runtime.dr)
        if serve:
            port = free_port()
            await asyncio.to_thread(self.fleet.serve, port, "--no-access-log")
            self.url = f"http://127.0.0.1:{port}"
        started = [self.worker(concurrency=concurrency) for _ in range(workers)]
        await asyncio.to_thread(self.fleet.wait_started, *started)

    def worker(self, *, concurrency: int = 4, **overrides: Any) -> Proc:
        return self.fleet.worker("--concurrency", str(concurrency), **overrides)

    async def close(self) -> None:
        await asyncio.to_thread(self.fleet.close)
        SUBPROCESS_LOGS.extend(proc.log for proc in self.fleet.procs)
        await self.runtime.aclose()

    @property
    def flow(self) -> Any:
        return self.runtime.flow

    @property
    def dr(self) -> Any:
        return self.runtime.dr

    def inbox(self) -> dict[str, int]:
        return Inbox(self.runtime.store).counts()

    def rows(self) -> int:
        with self.runtime.store.session() as session:
            return session.scalar(select(func.count()).select_from(InboxEvent)) or 0

    async def settled(self, *, within: float = 120.0) -> None:
        """Wait until no inbox row is pending or running."""
        deadline = time.monotonic() + within
        while True:
            counts = await asyncio.to_thread(self.inbox)
            if counts["pending"] == 0 and counts["running"] == 0:
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"inbox not settled after {within}s: {counts}\n{self.fleet.logs()[-4000:]}"
                )
            await asyncio.sleep(0.1)


def figures(name: str, latencies: list[float], elapsed: float, **counts: Any) -> str:
    line = (
        f"[{name}] {len(latencies)} requests in {elapsed:.2f}s = {len(latencies) / elapsed:.0f}/s; "
        f"answer p50 {percentile(latencies, 50) * 1000:.1f} ms, "
        f"p99 {percentile(latencies, 99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms, "
        f"over 1 s: {sum(1 for x in latencies if x > 1.0)}"
    )
    if counts:
        line += "; " + ", ".join(f"{k}={v}" for k, v in counts.items())
    print("\n" + line)
    return line
