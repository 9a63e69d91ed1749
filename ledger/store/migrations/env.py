"""Alembic's environment for the store: run by ``ledger.store.migrate`` on the connection it
passes in (``config.attributes["connection"]``), never from an alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

import ledger.store.schema  # noqa: F401  (registers every table on SQLModel.metadata)

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    # SQLite alters a table by copying it: Alembic's batch mode writes those steps.
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
