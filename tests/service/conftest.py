"""Fixtures for the service tests: databases, an in-process service over loopback, log capture."""

from __future__ import annotations

import io
import logging
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, make_url, text

sys.path.insert(0, str(Path(__file__).parent))

from reliability import Deployment, deployment_settings
from service_support import (
    CAPTURED,
    WriteLog,
    base_settings,
    seed_skus,
)

from affluent.logs import configure_logging
from affluent.service import Runtime, Worker, WorkerOptions, create_app
from affluent.serving import serve_in_thread
from affluent.settings import Settings
from affluent.store import Store


@pytest.fixture(scope="package", autouse=True)
def captured_logs() -> Iterator[io.StringIO]:
    """Everything logged in process during the service suite, through affluent's formatter."""
    buffer = io.StringIO()
    root = logging.getLogger()
    level = root.level
    handler = configure_logging("INFO", stream=buffer, replace=False)
    CAPTURED.append(buffer)
    yield buffer
    root.removeHandler(handler)
    root.setLevel(level)


def new_pg_database(server_url: str) -> str:
    server = make_url(server_url)
    name = f"s_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return server.set(database=name).render_as_string(hide_password=False)


@pytest.fixture
def pg_url(postgres_server: str) -> str:
    """A fresh, empty database on the session's PostgreSQL server."""
    return new_pg_database(postgres_server)


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'service.sqlite3'}"
    return new_pg_database(request.getfixturevalue("postgres_server"))


def settings_for(db: str, sandbox_url: str, **overrides: Any) -> Settings:
    return Settings(**base_settings(db, sandbox_url, dr_max_retry_wait=5.0, **overrides))


@dataclass
class Service:
    """An in-process connector: settings, runtime, the app on loopback, and a worker."""

    settings: Settings
    runtime: Runtime
    url: str
    worker: Worker

    @property
    def store(self) -> Store:
        return self.runtime.store

    def new_worker(self, **options: Any) -> Worker:
        return Worker(
            store=self.runtime.store,
            flow=self.runtime.flow,
            options=WorkerOptions.from_settings(self.settings, **options),
        )


@pytest.fixture
async def service(db_url: str, sandbox_url: str) -> AsyncIterator[Service]:
    settings = settings_for(db_url, sandbox_url)
    app = create_app(settings)  # builds its own runtime on the server's event loop
    runtime = Runtime(settings)  # the test's: set-up, checks and the in-process worker
    with serve_in_thread(app) as url:
        await seed_skus(runtime.dr)
        worker = Worker(
            store=runtime.store,
            flow=runtime.flow,
            options=WorkerOptions.from_settings(settings, concurrency=4),
        )
        yield Service(settings, runtime, url, worker)
    await runtime.aclose()


@pytest.fixture
def write_log() -> Iterator[tuple[WriteLog, str]]:
    log = WriteLog()
    with serve_in_thread(log.app()) as url:
        yield log, f"{url}/writes"


@pytest.fixture
async def deployment(
    tmp_path: Path, pg_url: str, sandbox_url: str, write_log: tuple[WriteLog, str]
) -> AsyncIterator[Deployment]:
    log, writes_url = write_log
    deployment = Deployment(tmp_path, deployment_settings(pg_url, sandbox_url, writes_url), log)
    try:
        yield deployment
    finally:
        await deployment.close()
