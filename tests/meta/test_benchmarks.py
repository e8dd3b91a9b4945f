"""Smoke runs of the benchmarks: they still measure what they claim to (nothing here is timed)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(ROOT))


async def test_flow_floor_sends_the_requests_affluent_sends() -> None:
    """The floor of figure 1 is only a floor while it makes affluent's exact DR requests."""
    from benchmarks import flow_overhead

    await flow_overhead.check_same_requests()


async def test_flow_clocks_see_the_sandbox_and_the_store() -> None:
    """The breakdown rows are only true while the clocks wrap what the flow really uses."""
    from benchmarks import flow_overhead

    ours = await flow_overhead.affluent_orders(2)
    floor = await flow_overhead.raw_orders(2)

    assert 0 < ours.sandbox < ours.elapsed
    assert 0 < ours.store < ours.elapsed - ours.sandbox
    assert 0 < floor.sandbox < floor.elapsed
    assert floor.store == 0


async def test_flow_loopback_rounds_reach_a_sandbox_in_another_process() -> None:
    from benchmarks import flow_overhead

    ours = await flow_overhead.affluent_orders(1, loopback=True)
    floor = await flow_overhead.raw_orders(1, loopback=True)

    assert ours.sandbox == floor.sandbox == 0  # no in-process transport was used
    assert 0 < ours.store < ours.elapsed
    assert floor.elapsed > 0


def test_memory_run_works_off_every_event_in_a_worker_process() -> None:
    from benchmarks import memory

    rss, throughput = memory.run(8 * memory.EVENTS_PER_ORDER)  # raises if any event parked

    assert rss.name == "worker RSS after 16 then 32 events"
    assert rss.affluent > 20  # MB: a live Python worker was measured, not a missing process
    assert throughput.affluent > 0
