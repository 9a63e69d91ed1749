"""Writes to the index: the rows of one block range in one database transaction (``write_range``),
every row after a fork deleted (``roll_back``), the hashes of final blocks dropped (``finalize``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, func, insert
from sqlalchemy.engine import Engine
from sqlmodel import SQLModel, select

from ledger.audit.index.decoding import DecodedEvent, event_refs
from ledger.audit.index.handlers import RangeContext
from ledger.audit.index.state import table
from ledger.errors import RetryableIndexerError
from ledger.store import session
from ledger.store.index import (
    INDEX_TABLES,
    IndexBlock,
    IndexedScheme,
    IndexEvent,
    IndexEventAccount,
    IndexEventRef,
    IndexState,
    PointMovement,
)


def write_range(
    engine: Engine,
    decoded: Sequence[DecodedEvent],
    ctx: RangeContext,
    headers: Mapping[int, Mapping[str, Any]],
    kept: Sequence[int],
    *,
    start: int,
    end: int,
    head: int,
) -> None:
    """Write blocks start..end in one transaction with bulk inserts: every event kept whole, the
    accounts and references it names, the handlers' rows, the hashes of the `kept` blocks; and
    move the index's state to `end`. Retryable when another process wrote the range first."""
    timestamps = ctx.timestamps
    events = [
        {
            "block_number": e.block_number,
            "log_index": e.log_index,
            "tx_hash": e.tx_hash,
            "tx_index": e.tx_index,
            "contract": e.contract,
            "address": e.address,
            "event": e.event,
            "args": json.dumps(e.args, separators=(",", ":")),
            "timestamp": timestamps[e.block_number],
        }
        for e in decoded
    ]
    accounts = [
        {"account": a, "block_number": e.block_number, "log_index": e.log_index}
        for e in decoded
        for a in e.accounts
    ]
    refs = [
        {"ref": r, "block_number": e.block_number, "log_index": e.log_index}
        for e in decoded
        for r in event_refs(e.args)
    ]
    blocks = [
        {
            "number": n,
            "hash": headers[n]["hash"],
            "parent_hash": headers[n]["parentHash"],
            "timestamp": timestamps[n],
        }
        for n in kept
    ]
    with session(engine) as db:
        batches: tuple[tuple[type[SQLModel], list[dict[str, Any]]], ...] = (
            (IndexEvent, events),
            (IndexEventAccount, accounts),
            (IndexEventRef, refs),
            (PointMovement, ctx.movements),
            (IndexedScheme, ctx.schemes),
            (IndexBlock, blocks),
        )
        for model, rows in batches:
            if rows:  # Core executemany: no ORM bookkeeping per row
                db.connection().execute(insert(table(model)), rows)
        row = db.get(IndexState, 1)
        assert row is not None
        if row.indexed_block != start - 1:
            raise RetryableIndexerError(
                "another process indexed the same blocks at the same time; sync again"
            )
        row.indexed_block = end
        row.indexed_hash = headers[end]["hash"]
        row.chain_head = max(head, end)
        row.synced_at = int(time.time())
        db.add(row)


def roll_back(engine: Engine, fork: IndexBlock) -> int:
    """Delete every row after the fork block, in one transaction; returns events deleted."""
    with session(engine) as db:
        dropped = db.execute(
            select(func.count())
            .select_from(IndexEvent)
            .where(IndexEvent.block_number > fork.number)  # type: ignore[arg-type]
        ).scalar_one()
        models: tuple[type[SQLModel], ...] = (*INDEX_TABLES, IndexBlock)
        for model in models:
            t = table(model)
            column = t.c.number if model is IndexBlock else t.c.block_number
            db.execute(delete(t).where(column > fork.number))
        row = db.get(IndexState, 1)
        assert row is not None
        row.indexed_block = fork.number
        row.indexed_hash = fork.hash
        db.add(row)
    return int(dropped)


def finalize(engine: Engine, below: int) -> None:
    """Forget the hashes of the blocks below `below` (final: no reorg reaches them)."""
    with session(engine) as db:
        db.exec(delete(IndexBlock).where(IndexBlock.number < below))  # type: ignore[call-overload,arg-type]
