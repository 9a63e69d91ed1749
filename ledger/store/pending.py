"""The store's half of an idempotent write: a row written before its transaction is sent.

A write that puts a hash on chain first stores what the hash commits to, with its link to the
chain (an on-chain id, a transaction hash) left empty. Once the transaction is mined the row is
linked; if the chain refuses it the row is dropped (there is nothing to resume); if the run is
interrupted in between, the next run finds the row unlinked and looks on chain for its event among
those that no row is linked to yet. ``HashedDetails`` is the shape of such tables that keep the
details whose hash goes on chain.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Field, SQLModel, col, select

from ledger.errors import ContractRevert
from ledger.store.db import UtcDateTime, session


class HashedDetails(SQLModel):
    """The columns of a table of details whose keccak-256 is on chain (a base, not a table)."""

    id: int | None = Field(default=None, primary_key=True)
    scheme_id: int = Field(index=True)
    details_hash: str = Field(index=True)
    details_json: str
    created_at: datetime = Field(sa_type=UtcDateTime, nullable=False)


def insert(engine: Engine, row: SQLModel) -> int:
    """Store a new row; its id."""
    with session(engine) as db:
        db.add(row)
        db.flush()
        row_id: int = row.id  # type: ignore[attr-defined]
        return row_id


def link(engine: Engine, model: type[SQLModel], row_id: int | None, **values: Any) -> None:
    """Link a row to the chain: set its on-chain id or transaction hash."""
    with session(engine) as db:
        row = db.get(model, row_id)
        assert row is not None
        for name, value in values.items():
            setattr(row, name, value)
        db.add(row)


def linked(engine: Engine, column: Any) -> set[int]:
    """The on-chain ids that rows of ``column``'s table are linked to already."""
    with session(engine) as db:
        ids = db.exec(select(column).where(col(column).is_not(None))).all()
    return {int(i) for i in ids}


@contextmanager
def dropped_if_refused(
    engine: Engine, model: type[SQLModel], row_id: int | None, link_column: str
) -> Iterator[None]:
    """If the chain refuses what is sent inside, drop the row (``None``: no row) unless it was
    linked meanwhile, and raise the refusal on."""
    try:
        yield
    except ContractRevert:
        if row_id is not None:
            with session(engine) as db:
                row = db.get(model, row_id)
                if row is not None and getattr(row, link_column) is None:
                    db.delete(row)
        raise
