"""Where a record, a batch or an activity happened on chain, from the event index: the events
that name it (``Step``) and the movements of points it caused (``Issued``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.audit.index.bounds import ZERO_ADDRESS
from ledger.audit.index.queries import IndexQueries, events_naming
from ledger.store.index import IndexEvent, PointMovement

#: The ERC-1155 transfers: every movement of points, not a domain event.
TRANSFERS = frozenset({"TransferSingle", "TransferBatch"})


@dataclass(frozen=True)
class Step:
    """Where something happened on chain."""

    event: str
    tx_hash: str
    block: int
    log_index: int
    timestamp: datetime
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Issued:
    """One movement of points caused by a record or a batch."""

    kind: str
    to: str
    amount: int
    tx_hash: str
    block: int
    log_index: int


def step(row: IndexEvent) -> Step:
    """An event of the index as a step of a trace (its arguments decoded)."""
    return Step(
        event=row.event,
        tx_hash=row.tx_hash,
        block=row.block_number,
        log_index=row.log_index,
        timestamp=datetime.fromtimestamp(row.timestamp, UTC),
        args=json.loads(row.args),
    )


def events_of(index: IndexQueries, ref: str, indexed: int) -> tuple[Step, ...]:
    """Every event naming `ref`, oldest first (a record or a batch has a handful)."""
    with Session(index.engine) as db:
        rows = db.exec(
            events_naming(ref)
            .where(col(IndexEvent.block_number) <= indexed)
            .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
            .limit(1_000)
        )
        return tuple(step(r) for r in rows)


def issued_by(index: IndexQueries, reference: str, indexed: int) -> tuple[Issued, ...]:
    """Every movement of points whose reference is `reference` (points paid out positive, taken
    back negative), oldest first."""
    with Session(index.engine) as db:
        rows = db.exec(
            select(PointMovement)
            .where(col(PointMovement.reference) == reference)
            .where(col(PointMovement.block_number) <= indexed)
            .order_by(col(PointMovement.block_number), col(PointMovement.log_index))
            .limit(5_000)
        )
        return tuple(
            Issued(
                kind=m.kind,
                to=to_checksum_address(
                    m.to_address if m.to_address != ZERO_ADDRESS else m.from_address
                ),
                amount=int(m.amount) if m.to_address != ZERO_ADDRESS else -int(m.amount),
                tx_hash=m.tx_hash,
                block=m.block_number,
                log_index=m.log_index,
            )
            for m in rows
        )
