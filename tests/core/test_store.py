"""The store's migrations: they build exactly the tables the models declare, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from click.testing import CliRunner

from affluent.cli import main
from affluent.store import Base, Store


def test_migrations_match_the_models(store: Store) -> None:
    assert store.is_current()
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_a_fresh_database_is_not_current_until_upgraded(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert not store.is_current()
    store.upgrade()
    assert store.is_current()
    store.upgrade()  # a second run changes nothing
    assert store.is_current()
    store.dispose()


def test_db_upgrade_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    monkeypatch.setenv("AFFLUENT_DATABASE_URL", url)
    result = CliRunner().invoke(main, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "newest migration" in result.output
    assert Store(url).is_current()


def test_store_repr_hides_the_password() -> None:
    store = Store("postgresql+psycopg://affluent:hunter2@db.invalid/affluent")
    assert "hunter2" not in repr(store)


def test_a_sqlite_without_returning_is_refused_with_the_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sqlite3.sqlite_version_info", (3, 34, 1))
    monkeypatch.setattr("sqlite3.sqlite_version", "3.34.1")

    with pytest.raises(
        RuntimeError, match=r"needs SQLite 3\.35 or newer; this Python links 3\.34\.1"
    ):
        Store(f"sqlite:///{tmp_path / 'old.sqlite3'}")
