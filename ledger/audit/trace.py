"""Trace points back to the service behind them, and check the off-chain store against the chain.

For auditors (MISSION.md: "trace any point back to the approved service record and the people who
approved it"). Three ways in, each ending at service records:

- ``trace_record``: a service record, as the chain holds it now (volunteer, submitter, reviewers,
  times, points, hashes), its activity, every event of it in the index (submitted, approved,
  superseded, with transactions and blocks), the points it issued, and its off-chain details
  checked against the chain's hashes.
- ``trace_batch``: a batch of records, approved in one transaction; its records are read back
  from that transaction's input and checked against the batch's records hash on chain.
- ``trace_transaction``: every movement of points in a transaction, each with the record or
  batch that issued it, or the domain event that moved it (an exchange, a redemption, ...).

The chain is the source of truth: records and activities are read from the contracts; the index
only says where things happened (transactions, blocks), and is only asked about blocks it holds.
Each trace lists ``problems``: anything that must never happen (a record approved by its own
volunteer, points issued that differ from the record's) or a store that disagrees with the chain.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.audit.queries import events_naming
from ledger.chain.contracts.records import BatchStatus, PackedRecord, Record, RecordStatus
from ledger.earning.chunks import compare_packed, compare_row, link_approved_chunks
from ledger.errors import InputError, RecordNotFound
from ledger.store.db import session
from ledger.store.index import IndexEvent, PointMovement
from ledger.store.records import (
    ActivityDetails,
    RecordDetails,
    details_hash,
)

if TYPE_CHECKING:
    from ledger.audit.queries import IndexQueries
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)

#: The most records of a batch one trace lists (a batch holds at most 1,000).
MAX_BATCH_LINES = 1_000
_TX_HASH = re.compile(r"^0x[0-9a-fA-F]{64}$")
ZERO = "0x" + "00" * 20


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


@dataclass(frozen=True)
class StoreCheck:
    """The off-chain details of a record or an activity, checked against the chain's hashes."""

    #: Whether the store holds a row for it at all (a record entered elsewhere may have none).
    found: bool
    matches: bool
    record_key: str | None = None
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActivityTrace:
    id: int
    scheme_id: int
    organiser: str
    start: int
    end: int
    capacity: int
    cancelled: bool
    details_hash: str
    events: tuple[Step, ...]
    store: StoreCheck


@dataclass(frozen=True)
class RecordTrace:
    record_id: int
    scheme_id: int
    scheme: str
    status: str
    volunteer: str
    submitter: str
    #: The first reviewer of a record entered late (which needs two), else None.
    first_reviewer: str | None
    #: Who approved or rejected it.
    reviewer: str | None
    grade: int
    late: bool
    rule_version: int
    start: int
    end: int
    points: int
    details_hash: str
    evidence_hash: str
    supersedes: int
    superseded_by: int
    activity: ActivityTrace | None
    #: The batch and position it came from, when it was imported from an approved batch.
    batch: dict[str, int] | None
    events: tuple[Step, ...]
    issued: tuple[Issued, ...]
    store: StoreCheck
    problems: tuple[str, ...]
    indexed_block: int
    blocks_behind: int


@dataclass(frozen=True)
class BatchLine:
    index: int
    volunteer: str
    activity_id: int
    start: int
    end: int
    code: int
    details_hash: str
    evidence_hash: str
    #: The record id it was imported as (0 when it never was).
    record_id: int
    store: StoreCheck


@dataclass(frozen=True)
class BatchTrace:
    batch_id: int
    scheme_id: int
    scheme: str
    status: str
    submitter: str
    reviewer: str | None
    count: int
    points: int
    rule_version: int
    records_hash: str
    events: tuple[Step, ...]
    records: tuple[BatchLine, ...]
    issued: tuple[Issued, ...]
    problems: tuple[str, ...]
    indexed_block: int
    blocks_behind: int


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


# --- entry points ------------------------------------------------------------------------------


def trace_record(ledger: Ledger, index: IndexQueries, record_id: int) -> RecordTrace:
    """A record from the chain with its activity, events, points issued and store check;
    InputError for a malformed id, RecordNotFound for one never used."""
    record = ledger.earning.existing(record_id)
    indexed, head = index.synced()
    scheme = ledger.scheme(record.scheme_id)
    events = _events(index, f"record:{record_id}", indexed)
    issued = _issued(index, f"record:{record_id}", indexed)
    activity = _activity(ledger, index, record.activity_id, indexed) if record.activity_id else None
    batch = _imported_from(events)
    store = check_record_store(ledger, record)
    problems = list(_record_problems(record, issued, indexed, events))
    problems += [f"store: {p}" for p in store.problems]
    if not store.found:
        problems.append(
            "store: the record's details are not in this store: they cannot be checked against "
            "the chain"
        )
    if activity is not None:
        problems += [f"activity store: {p}" for p in activity.store.problems]
    return RecordTrace(
        record_id=record.id,
        scheme_id=record.scheme_id,
        scheme=scheme.code,
        status=record.status.label,
        volunteer=record.volunteer,
        submitter=record.submitter,
        first_reviewer=record.first_reviewer,
        reviewer=record.reviewer,
        grade=record.grade,
        late=record.late,
        rule_version=record.rule_version,
        start=record.start,
        end=record.end,
        points=record.points,
        details_hash="0x" + record.details_hash.hex(),
        evidence_hash="0x" + record.evidence_hash.hex(),
        supersedes=record.supersedes,
        superseded_by=record.correction,
        activity=activity,
        batch=batch,
        events=events,
        issued=issued,
        store=store,
        problems=tuple(problems),
        indexed_block=indexed,
        blocks_behind=max(head - indexed, 0),
    )


def trace_batch(
    ledger: Ledger, index: IndexQueries, batch_id: int, *, volunteer: str | None = None
) -> BatchTrace:
    """A batch from the chain: who submitted and approved it, its records read back from the
    approving transaction (only `volunteer`'s if given), the points it issued, each record's
    details checked against the store."""
    if isinstance(batch_id, bool) or not isinstance(batch_id, int) or batch_id <= 0:
        raise InputError(f"a batch id is a positive whole number (got {batch_id!r})")
    if batch_id > ledger.records.batch_count():
        raise RecordNotFound(f"there is no batch {batch_id}")
    batch = ledger.records.batch(batch_id)
    indexed, head = index.synced()
    scheme = ledger.scheme(batch.scheme_id)
    events = _events(index, f"batch:{batch_id}", indexed)
    issued = _issued(index, f"batch:{batch_id}", indexed)
    problems: list[str] = []
    lines: list[BatchLine] = []
    approval = next((e for e in events if e.event == "BatchApproved"), None)
    if batch.status == BatchStatus.APPROVED and approval is None:
        problems.append(
            f"the batch is approved on chain but its approval is not in the index up to block "
            f"{indexed}: sync the index"
        )
    if approval is not None:
        records = ledger.records.batch_records(batch_id, tx_hash=approval.tx_hash)
        rows = _batch_rows(ledger, batch_id)
        if len(rows) < len(records):
            # rows of a run killed after the approval was mined, before the store recorded it
            link_approved_chunks(ledger.engine, ledger.records, ["0x" + batch.records_hash.hex()])
            rows = _batch_rows(ledger, batch_id)
        chosen = list(enumerate(records[:MAX_BATCH_LINES]))
        ids = ledger.records.batch_record_ids(batch_id, [i for i, _ in chosen])
        lines = [
            BatchLine(
                index=i,
                volunteer=to_checksum_address(r.volunteer),
                activity_id=r.activity_id,
                start=r.start,
                end=r.end,
                code=r.code,
                details_hash="0x" + r.details_hash.hex(),
                evidence_hash="0x" + r.evidence_hash.hex(),
                record_id=record_id,
                store=_check_packed(r, rows.get(i), batch.scheme_id),
            )
            for (i, r), record_id in zip(chosen, ids, strict=True)
        ]
        paid = sum(m.amount for m in issued if m.kind == "issued")
        if paid != batch.points:
            problems.append(
                f"the batch paid {batch.points} points on chain but the index saw {paid} issued"
            )
    problems += [f"store, record {line.index}: {p}" for line in lines for p in line.store.problems]
    missing = [line.index for line in lines if not line.store.found]
    if missing:
        shown = ", ".join(f"#{i}" for i in missing[:20]) + (" ..." if len(missing) > 20 else "")
        problems.append(
            f"store: the details of {len(missing)} of the batch's {len(lines)} records are not in "
            f"this store ({shown}): they cannot be checked against the chain"
        )
    if batch.reviewer is not None and batch.reviewer.lower() == batch.submitter.lower():
        problems.append("the batch was approved by the account that submitted it")
    whole = BatchTrace(
        batch_id=batch_id,
        scheme_id=batch.scheme_id,
        scheme=scheme.code,
        status=batch.status.label,
        submitter=batch.submitter,
        reviewer=batch.reviewer,
        count=batch.count,
        points=batch.points,
        rule_version=batch.rule_version,
        records_hash="0x" + batch.records_hash.hex(),
        events=events,
        records=tuple(lines),
        issued=issued,
        problems=tuple(problems),
        indexed_block=indexed,
        blocks_behind=max(head - indexed, 0),
    )
    return whole if volunteer is None else _part_of(whole, volunteer)


def trace_transaction(ledger: Ledger, index: IndexQueries, tx_hash: str) -> TransactionTrace:
    """Every movement of points in a transaction with its cause; RecordNotFound when the index
    holds no event of ours in it (with how far the index has read)."""
    if not isinstance(tx_hash, str) or not _TX_HASH.match(tx_hash):
        raise InputError(f"a transaction hash is 0x and 64 hex digits, not {str(tx_hash)[:80]!r}")
    tx_hash = tx_hash.lower()
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
        raise RecordNotFound(
            f"no event of our contracts in transaction {tx_hash} up to block {indexed}: the chain "
            "does not hold it, it touched none of our contracts, or it is newer than the index "
            f"({max(head - indexed, 0)} blocks behind the chain)",
            tx_hash=tx_hash,
            indexed_block=indexed,
        )
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
                batches[key] = _part_of(whole[key[0]], m.to_address)
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
        events=tuple(_step(r) for r in rows if r.event not in _TRANSFERS),
        movements=tuple(movements),
        indexed_block=indexed,
        blocks_behind=max(head - indexed, 0),
    )


def _part_of(b: BatchTrace, volunteer: str) -> BatchTrace:
    """A batch's trace with only `volunteer`'s records and points (the problems stay the
    batch's)."""
    who = volunteer.lower()
    return replace(
        b,
        records=tuple(r for r in b.records if r.volunteer.lower() == who),
        issued=tuple(m for m in b.issued if m.to.lower() == who),
    )


def check_record_store(ledger: Ledger, record: Record) -> StoreCheck:
    """A record's off-chain details against the chain: the row's details hash over its JSON, and
    the volunteer, scheme, activity, times and hashes the chain holds."""
    with session(ledger.engine) as db:
        row = db.exec(
            select(RecordDetails).where(col(RecordDetails.record_id) == record.id)
        ).first()
    if row is None:
        return StoreCheck(found=False, matches=False)
    problems = compare_row(
        row,
        volunteer=record.volunteer,
        scheme_id=record.scheme_id,
        activity_id=record.activity_id,
        start=record.start,
        end=record.end,
        details=record.details_hash,
        evidence=record.evidence_hash,
    )
    return StoreCheck(
        found=True, matches=not problems, record_key=row.record_key, problems=tuple(problems)
    )


# --- pieces ------------------------------------------------------------------------------------

_TRANSFERS = frozenset({"TransferSingle", "TransferBatch"})


def _step(row: IndexEvent) -> Step:
    return Step(
        event=row.event,
        tx_hash=row.tx_hash,
        block=row.block_number,
        log_index=row.log_index,
        timestamp=datetime.fromtimestamp(row.timestamp, UTC),
        args=json.loads(row.args),
    )


def _events(index: IndexQueries, ref: str, indexed: int) -> tuple[Step, ...]:
    """Every event naming `ref`, oldest first (a record or a batch has a handful)."""
    with Session(index.engine) as db:
        rows = db.exec(
            events_naming(ref)
            .where(col(IndexEvent.block_number) <= indexed)
            .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
            .limit(1_000)
        )
        return tuple(_step(r) for r in rows)


def _issued(index: IndexQueries, reference: str, indexed: int) -> tuple[Issued, ...]:
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
                to=to_checksum_address(m.to_address if m.to_address != ZERO else m.from_address),
                amount=int(m.amount) if m.to_address != ZERO else -int(m.amount),
                tx_hash=m.tx_hash,
                block=m.block_number,
                log_index=m.log_index,
            )
            for m in rows
        )


def _activity(ledger: Ledger, index: IndexQueries, activity_id: int, indexed: int) -> ActivityTrace:
    a = ledger.activities.activity(activity_id)
    with session(ledger.engine) as db:
        row = db.exec(
            select(ActivityDetails).where(col(ActivityDetails.activity_id) == activity_id)
        ).first()
    if row is None:
        store = StoreCheck(found=False, matches=False)
    else:
        problems = []
        stored = json.loads(row.details_json)
        if "0x" + details_hash(stored).hex() != row.details_hash:
            problems.append("the details no longer hash to the hash stored with them")
        if row.details_hash != "0x" + a.details_hash.hex():
            problems.append(
                f"the stored details hash {row.details_hash} is not the chain's "
                f"0x{a.details_hash.hex()}"
            )
        if row.scheme_id != a.scheme_id:
            problems.append(f"scheme {row.scheme_id} in the store, {a.scheme_id} on chain")
        store = StoreCheck(found=True, matches=not problems, problems=tuple(problems))
    return ActivityTrace(
        id=a.id,
        scheme_id=a.scheme_id,
        organiser=a.organiser,
        start=a.start,
        end=a.end,
        capacity=a.capacity,
        cancelled=a.cancelled,
        details_hash="0x" + a.details_hash.hex(),
        events=_events(index, f"activity:{activity_id}", indexed)[:50],
        store=store,
    )


def _imported_from(events: tuple[Step, ...]) -> dict[str, int] | None:
    for e in events:
        if e.event == "BatchRecordImported":
            return {"batch_id": int(e.args["batchId"]), "index": int(e.args["index"])}
    return None


def _record_problems(
    record: Record, issued: tuple[Issued, ...], indexed: int, events: tuple[Step, ...]
) -> list[str]:
    problems = []
    volunteer = record.volunteer.lower()
    for who, label in ((record.reviewer, "approved"), (record.first_reviewer, "first approved")):
        if who is not None and record.status == RecordStatus.APPROVED:
            if who.lower() == volunteer:
                problems.append(f"{label} by its own volunteer {record.volunteer}")
            if who.lower() == record.submitter.lower():
                problems.append(f"{label} by the account that submitted it")
    paid = sum(m.amount for m in issued)
    decided = next((e for e in events if e.event == "RecordApproved"), None)
    if record.status in (RecordStatus.APPROVED, RecordStatus.SUPERSEDED):
        if decided is None:
            problems.append(
                f"approved on chain but the approval is not in the index up to block {indexed}: "
                "sync the index"
            )
        elif record.status == RecordStatus.APPROVED and paid != record.points:
            problems.append(f"the record is worth {record.points} points but {paid} were issued")
    elif paid:
        problems.append(f"{paid} points were issued for a record that is {record.status.name}")
    return problems


def _batch_rows(ledger: Ledger, batch_id: int) -> dict[int, RecordDetails]:
    with session(ledger.engine) as db:
        rows = db.exec(select(RecordDetails).where(col(RecordDetails.batch_id) == batch_id))
        return {r.batch_index: r for r in rows if r.batch_index is not None}


def _check_packed(r: PackedRecord, row: RecordDetails | None, scheme_id: int) -> StoreCheck:
    if row is None:
        return StoreCheck(found=False, matches=False)
    problems = compare_packed(row, r, scheme_id)
    return StoreCheck(
        found=True, matches=not problems, record_key=row.record_key, problems=tuple(problems)
    )


# --- rows for export ---------------------------------------------------------------------------


def record_rows(t: RecordTrace) -> list[dict[str, Any]]:
    """A record's timeline, one row per event and per movement of points it caused, each with
    the record's people (so a sheet of many traces sorts and filters)."""
    base = {
        "record_id": t.record_id,
        "scheme": t.scheme,
        "status": t.status,
        "volunteer": t.volunteer,
        "submitter": t.submitter,
        "reviewer": t.reviewer,
        "activity_id": t.activity.id if t.activity else None,
    }
    rows: list[dict[str, Any]] = [
        {**base, "step": s.event, "tx_hash": s.tx_hash, "block": s.block,
         "timestamp": s.timestamp, "account": None, "amount": None}
        for s in t.events
    ]  # fmt: skip
    rows += [
        {**base, "step": f"points {m.kind}", "tx_hash": m.tx_hash, "block": m.block,
         "timestamp": None, "account": m.to, "amount": m.amount}
        for m in t.issued
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r["block"], r["step"].startswith("points")))


def batch_rows(b: BatchTrace) -> list[dict[str, Any]]:
    """One row per record of the batch."""
    return [
        {
            "batch_id": b.batch_id,
            "scheme": b.scheme,
            "submitter": b.submitter,
            "reviewer": b.reviewer,
            "index": line.index,
            "volunteer": line.volunteer,
            "activity_id": line.activity_id,
            "start": line.start,
            "end": line.end,
            "code": line.code,
            "details_hash": line.details_hash,
            "evidence_hash": line.evidence_hash,
            "record_id": line.record_id or None,
            "store_found": line.store.found,
            "store_matches": line.store.matches,
            "store_problems": list(line.store.problems),
        }
        for line in b.records
    ]


def transaction_rows(t: TransactionTrace) -> list[dict[str, Any]]:
    """One row per movement of points, with the record or batch behind it."""
    rows = []
    for m in t.movements:
        cause = m.record or m.batch
        rows.append(
            {
                "tx_hash": t.tx_hash,
                "block": t.block,
                "log_index": m.log_index,
                "batch_index": m.batch_index,
                "scheme_id": m.scheme_id,
                "kind": m.kind,
                "from": m.from_address,
                "to": m.to_address,
                "amount": m.amount,
                "reference": m.reference,
                "submitter": cause.submitter if cause else None,
                "reviewer": cause.reviewer if cause else None,
                "problems": list(cause.problems) if cause else [],
            }
        )
    return rows
