"""Inbox claims, leases and migrations on SQLite and PostgreSQL, under real concurrency."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import new_pg_database
from service_support import service_env
from sqlalchemy import create_engine, text, update

from affluent.service import Inbox, Leases
from affluent.store import Store
from affluent.store.migrate import migrate
from affluent.store.tables import InboxEvent


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    store = Store(db_url)
    migrate(store)
    yield store
    store.dispose()


def fill(inbox: Inbox, count: int) -> None:
    for n in range(count):
        inbox.add(source="dr", event_key=f"e-{n}", type="order.accepted", payload="{}")


def test_an_event_is_stored_once(store: Store) -> None:
    inbox = Inbox(store)
    first = inbox.add(source="dr", event_key="e-1", type="t", payload="{}")
    again = inbox.add(source="dr", event_key="e-1", type="t", payload="{}")
    other = inbox.add(source="shop", event_key="e-1", type="t", payload="{}")
    assert first[1] and not again[1] and other[1]
    assert inbox.counts()["pending"] == 2


def test_concurrent_claimers_never_share_a_row(store: Store) -> None:
    inbox = Inbox(store)
    fill(inbox, 200)
    won: dict[str, list[int]] = {}
    errors: list[BaseException] = []

    def claimer(name: str) -> None:
        mine = won.setdefault(name, [])
        try:
            while True:
                jobs = inbox.claim(name, 7, 30)
                if not jobs:
                    return
                mine += [job.id for job in jobs]
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    claimed = [job for jobs in won.values() for job in jobs]
    assert len(claimed) == len(set(claimed)) == 200
    assert inbox.counts()["running"] == 200


def test_a_crashed_workers_claims_are_taken_over_after_the_lease(store: Store) -> None:
    inbox = Inbox(store)
    fill(inbox, 3)
    assert len(inbox.claim("dead", 10, 0.3)) == 3
    assert inbox.claim("alive", 10, 30) == []  # leased
    time.sleep(0.4)
    taken = inbox.claim("alive", 10, 30)
    assert [job.attempts for job in taken] == [2, 2, 2]
    assert not inbox.finish(taken[0].id, "dead", "applied")  # the dead one lost its claim
    assert inbox.finish(taken[0].id, "alive", "applied")
    assert inbox.counts() == {"pending": 0, "running": 2, "done": 1, "parked": 0}


def test_retry_release_park_and_replay(store: Store) -> None:
    inbox = Inbox(store)
    fill(inbox, 3)
    a, b, c = inbox.claim("w", 3, 30)
    assert inbox.retry(a.id, "w", "boom", 60)
    assert inbox.release(b.id, "w")
    assert inbox.park(c.id, "w", "bad input")
    [again] = inbox.claim("w", 3, 30)
    assert again.id == b.id and again.attempts == 1  # a release does not count
    assert inbox.replay([a.id, c.id]) == 2
    rows = {row.id: row for row in inbox.recent()}
    assert rows[c.id].state == "pending" and rows[c.id].attempts == 0
    assert rows[c.id].last_error == "bad input"  # kept for the record
    assert inbox.replay([again.id]) == 0  # being worked on


def test_leases_are_exclusive_until_they_expire(store: Store) -> None:
    leases = Leases(store)
    assert leases.acquire("order:x:1", "a", 0.3)
    assert not leases.acquire("order:x:1", "b", 30)
    assert leases.acquire("order:x:1", "a", 0.3)  # its holder may re-take it
    assert leases.holder("order:x:1") == "a"
    time.sleep(0.4)
    assert leases.holder("order:x:1") is None
    assert leases.acquire("order:x:1", "b", 30)
    assert leases.renew([("order:x:1", "a")], 30) == 0
    leases.release("order:x:1", "a")  # not a's any more: no effect
    assert leases.holder("order:x:1") == "b"
    leases.release("order:x:1", "b")
    assert leases.acquire("order:x:1", "c", 30)


def test_concurrent_lease_takers_get_it_one_at_a_time(store: Store) -> None:
    leases = Leases(store)
    inside: list[int] = []
    overlaps: list[int] = []

    def taker(n: int) -> None:
        for _ in range(10):
            while not leases.acquire("order:x:hot", f"t{n}", 30):
                time.sleep(0.001)
            inside.append(n)
            if len(inside) > 1:
                overlaps.append(n)
            time.sleep(0.001)
            inside.remove(n)
            leases.release("order:x:hot", f"t{n}")

    threads = [threading.Thread(target=taker, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == []


def test_replay_leaves_a_live_claim_alone(store: Store) -> None:
    inbox = Inbox(store)
    fill(inbox, 1)
    [job] = inbox.claim("w", 1, 30)
    with store.session() as session:
        session.execute(
            update(InboxEvent).values(locked_until=InboxEvent.received_at - timedelta(seconds=1))
        )
    assert inbox.replay([job.id]) == 1  # its lease ran out: fair game


def _migrate_together(url: str, env: dict[str, str]) -> list[str]:
    """Three processes run ``migrate`` at the same instant; what each returned, sorted."""
    script = (
        "import sys, time; from affluent.store import Store; from affluent.store.migrate import migrate; "
        "time.sleep(float(sys.argv[1]) - time.time()); print(migrate(Store(sys.argv[2])))"
    )
    start = f"{time.time() + 3:.3f}"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, start, url],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1].decode()[-2000:] for r in results]
    return sorted(r[0].decode().strip() for r in results)


@pytest.mark.postgres
def test_processes_starting_together_migrate_once(postgres_server: str, tmp_path: Path) -> None:
    url = new_pg_database(postgres_server)
    ran = _migrate_together(url, service_env(database_url=url, migrate_on_start=False))
    assert ran == ["False", "False", "True"], ran
    engine = create_engine(url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    engine.dispose()
    fresh = Store(url)
    assert fresh.is_current()
    fresh.dispose()


def test_sqlite_processes_starting_together_migrate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'many.sqlite3'}"
    ran = _migrate_together(url, service_env(database_url=url))
    assert ran == ["False", "False", "True"], ran


def test_readiness_says_when_the_schema_is_behind(tmp_path: Path) -> None:
    import httpx

    from affluent.service import create_app
    from affluent.serving import serve_in_thread
    from affluent.settings import Settings

    url = f"sqlite:///{tmp_path / 'behind.sqlite3'}"
    behind = Store(url)
    behind.upgrade("0001")
    behind.dispose()
    app = create_app(Settings(database_url=url, migrate_on_start=False, adapters=[]))
    with serve_in_thread(app) as base:
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 503 and ready.json()["migrations"] == "behind"
        assert httpx.get(f"{base}/healthz").status_code == 200
