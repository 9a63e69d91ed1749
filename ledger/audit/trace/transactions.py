"""A transaction traced (``trace_transaction``): every movement of points in it, each with the
record or the batch that issued it, or the domain event that moved it (an exchange, a redemption,
...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.audit.index.bounds import behind, check_tx_hash, no_events_in
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.audit.trace.batches import BatchTrace, part_of, trace_batch
from ledger.audit.trace.records import RecordTrace, trace_record
from ledger.audit.trace.timeline import TRANSFERS, Step, step
from ledger.store.index import IndexEvent, PointMovement


@dataclass(frozen=True)
class MovementTrace:
    """One movement of points in a transaction and what caused it."""

    scheme_id: int
    kind: str
    from_address: str
    to_address: str
    amount: int
    reference: str | None
    log_index: int
    batch_index: int
    #: The record or batch that issued the points, for issued and corrected points.
    record: RecordTrace | None
    batch: BatchTrace | None


@dataclass(frozen=True)
class TransactionTrace:
    tx_hash: str
    block: int
    timestamp: datetime
    #: The domain events of the transaction (not the ERC-1155 transfers), in order.
    events: tuple[Step, ...]
    movements: tuple[MovementTrace, ...]
    indexed_block: int
    blocks_behind: int


def trace_transaction(ledger: AuditSource, index: IndexQueries, tx_hash: str) -> TransactionTrace:
    """Every movement of points in a transaction with its cause; RecordNotFound when the index
    holds no event of ours in it (with how far the index has read)."""
    tx_hash = check_tx_hash(tx_hash).lower()
    indexed, head = index.synced()
    with Session(index.engine) as db:
        rows = list(
            db.exec(
                select(IndexEvent)
                .where(col(IndexEvent.tx_hash) == tx_hash)
                .where(col(IndexEvent.block_number) <= indexed)
                .order_by(col(IndexEvent.log_index))
            )
        )
        moves = list(
            db.exec(
                select(PointMovement)
                .where(col(PointMovement.tx_hash) == tx_hash)
                .where(col(PointMovement.block_number) <= indexed)
                .order_by(col(PointMovement.log_index), col(PointMovement.batch_index))
            )
        )
    if not rows:
        raise no_events_in(tx_hash, indexed, head)
    records: dict[int, RecordTrace] = {}
    whole: dict[int, BatchTrace] = {}
    batches: dict[tuple[int, str], BatchTrace] = {}
    movements = []
    for m in moves:
        record = batch = None
        kind, _, number = (m.reference or "").partition(":")
        if kind == "record" and number.isdigit():
            if int(number) not in records:
                records[int(number)] = trace_record(ledger, index, int(number))
            record = records[int(number)]
        elif kind == "batch" and number.isdigit():
            key = (int(number), m.to_address)
            if key not in batches:
                # one read of the batch for the whole transaction, then each member's part of it
                if key[0] not in whole:
                    whole[key[0]] = trace_batch(ledger, index, key[0])
                batches[key] = part_of(whole[key[0]], m.to_address)
            batch = batches[key]
        movements.append(
            MovementTrace(
                scheme_id=m.scheme_id,
                kind=m.kind,
                from_address=to_checksum_address(m.from_address),
                to_address=to_checksum_address(m.to_address),
                amount=int(m.amount),
                reference=m.reference,
                log_index=m.log_index,
                batch_index=m.batch_index,
                record=record,
                batch=batch,
            )
        )
    return TransactionTrace(
        tx_hash=tx_hash,
        block=rows[0].block_number,
        timestamp=datetime.fromtimestamp(rows[0].timestamp, UTC),
        events=tuple(step(r) for r in rows if r.event not in TRANSFERS),
        movements=tuple(movements),
        indexed_block=indexed,
        blocks_behind=behind(indexed, head),
    )
