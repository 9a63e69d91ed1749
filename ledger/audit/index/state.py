"""The index's own bookkeeping in the store: its state row (which deployment it follows, how far,
which version of the tables), the row counts, and the reset that deletes it all."""

from __future__ import annotations

from sqlalchemy import Table, delete, func
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, select

from ledger.chain.deploy import Manifest
from ledger.errors import IndexMismatch
from ledger.store import session
from ledger.store.index import (
    INDEX_SCHEMA_VERSION,
    INDEX_TABLES,
    IndexBlock,
    IndexEvent,
    IndexSchema,
    IndexState,
    PointMovement,
)


def table(model: type[SQLModel]) -> Table:
    """The Core table of a model (for bulk inserts and deletes without the ORM)."""
    return model.__table__  # type: ignore[attr-defined,no-any-return]


def open_state(engine: Engine, manifest: Manifest) -> IndexState:
    """The index's state row, created at the deployment's block; IndexMismatch for an index of
    another deployment or of another version of the tables."""
    points = manifest.address("PointsLedger").lower()
    with session(engine) as db:
        row = db.get(IndexState, 1)
        if row is None:
            row = IndexState(
                chain_id=manifest.chain_id,
                genesis_hash=manifest.genesis_hash,
                points_ledger=points,
                start_block=manifest.deploy_block,
                indexed_block=manifest.deploy_block - 1,
                chain_head=manifest.deploy_block - 1,
                synced_at=0,
            )
            db.add(row)
            db.merge(IndexSchema(id=1, version=INDEX_SCHEMA_VERSION))
            return IndexState.model_validate(row.model_dump())
        schema = db.get(IndexSchema, 1)
        version = 1 if schema is None else schema.version
        if version != INDEX_SCHEMA_VERSION:
            raise IndexMismatch(
                f"this index was built by another version of the indexer (tables version "
                f"{version}, this one reads version {INDEX_SCHEMA_VERSION}); run "
                "`vpl index reset` and sync again (the chain holds everything it had)",
                indexed_version=version,
                version=INDEX_SCHEMA_VERSION,
            )
        if (row.chain_id, row.genesis_hash, row.points_ledger) != (
            manifest.chain_id,
            manifest.genesis_hash,
            points,
        ):
            raise IndexMismatch(
                f"this index was built from the deployment with PointsLedger "
                f"{row.points_ledger} on chain id {row.chain_id} (genesis "
                f"{row.genesis_hash[:12]}...), not this one ({points} on chain id "
                f"{manifest.chain_id}, genesis {manifest.genesis_hash[:12]}...); run "
                "`vpl index reset` or use another VPL_DATABASE_URL",
                indexed=row.points_ledger,
                deployed=points,
            )
        return IndexState.model_validate(row.model_dump())


def counts(db: Session) -> tuple[int, int]:
    """(events, movements) in the index."""
    events = db.execute(select(func.count()).select_from(IndexEvent)).scalar_one()
    movements = db.execute(select(func.count()).select_from(PointMovement)).scalar_one()
    return int(events), int(movements)


def reset(engine: Engine) -> None:
    """Delete the whole index: its rows, kept block hashes, state and schema version."""
    models: tuple[type[SQLModel], ...] = (*INDEX_TABLES, IndexBlock, IndexState, IndexSchema)
    with session(engine) as db:
        for model in models:
            db.execute(delete(table(model)))
