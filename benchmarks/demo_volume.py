"""Figure 5: ``affluent demo --orders N`` throughput, every installed adapter (no floor)."""

from __future__ import annotations

import asyncio

from affluent.demo import run_demo
from affluent.plugins import Adapters
from benchmarks.report import Figure


def run(orders: int) -> list[Figure]:
    report = asyncio.run(run_demo(Adapters.load().with_examples(), orders=orders, concurrency=8))
    if not report.ok:
        bad = [row for row in report.rows if not row.ok]
        raise RuntimeError(f"{len(bad)} demo orders differ, first: {bad[0]}")
    return [Figure(f"demo --orders {orders}", "orders/s", len(report.rows) / report.seconds)]
