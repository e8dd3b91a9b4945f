"""Alembic environment: runs against the engine the Store hands over."""

from __future__ import annotations

from alembic import context

from affluent.store.tables import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=engine.dialect.name == "sqlite",
    )
    context.run_migrations()
