"""Real DR event histories, duplicated and shuffled, end where the ordered history ends."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from flow_support import cart, resolve, source
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from affluent.dr import AsyncDigitalRiver
from affluent.dr.models import Event
from affluent.flow import Flow
from affluent.plugins import Adapters
from affluent.store import Store
from affluent.testing.memory import DictPlatform


@pytest.fixture(params=["accept", "block"])
async def history(
    request: pytest.FixtureRequest, dr: AsyncDigitalRiver, sandbox_url: str, tmp_path: Path
) -> tuple[Path, list[Event], str]:
    """A store snapshot taken right after submit, and every DR event the order produced."""
    path = tmp_path / "snapshot.sqlite3"
    store = Store(f"sqlite:///{path}")
    store.upgrade()
    flow = Flow(dr=dr, store=store, adapters=Adapters.from_plugins({"dict": DictPlatform()}))
    await flow.begin_checkout("dict", cart("o-1", email="review@example.com"))
    await flow.hand_off_payment("dict", {"ref": "o-1", "source": await source(dr, flow, "o-1")})
    result = await flow.submit("dict", "o-1")
    store.dispose()
    await resolve(sandbox_url, result.dr_order_id or "", request.param)
    if request.param == "accept":  # ship everything so the history runs on to complete
        live = Store(f"sqlite:///{tmp_path / 'live.sqlite3'}")
        shutil.copy(path, tmp_path / "live.sqlite3")
        flow = Flow(dr=dr, store=live, adapters=Adapters.from_plugins({"dict": DictPlatform()}))
        for event in reversed([e async for e in dr.events.iterate(limit=100)]):
            await flow.handle_dr_event(event)
        await flow.apply_line_changes(
            "dict",
            {
                "ref": "o-1",
                "event": "all",
                "lines": [{"id": "L1", "shipped": 3}, {"id": "L2", "shipped": 1}],
            },
        )
        live.dispose()
    events = list(reversed([e async for e in dr.events.iterate(limit=100)]))
    return path, events, "complete" if request.param == "accept" else "blocked"


async def _replay(snapshot: Path, workdir: Path, events: list[Event], dr: AsyncDigitalRiver) -> Any:
    target = workdir / "replay.sqlite3"
    shutil.copy(snapshot, target)
    store = Store(f"sqlite:///{target}")
    flow = Flow(dr=dr, store=store, adapters=Adapters.from_plugins({"dict": DictPlatform()}))
    for event in events:
        await flow.handle_dr_event(event)
    view = flow.order("dict", "o-1")
    store.dispose()
    return view.status


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
async def test_shuffled_and_duplicated_histories_converge(
    history: tuple[Path, list[Event], str],
    dr: AsyncDigitalRiver,
    tmp_path: Path,
    data: st.DataObject,
) -> None:
    snapshot, events, final = history
    assert await _replay(snapshot, tmp_path, events, dr) == final
    extra = data.draw(st.lists(st.sampled_from(events), max_size=len(events)))
    shuffled = data.draw(st.permutations(events + extra))
    assert await _replay(snapshot, tmp_path, list(shuffled), dr) == final
