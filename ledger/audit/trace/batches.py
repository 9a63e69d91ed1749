"""A batch of records traced (``trace_batch``): who submitted and approved it, its records read back
from the approving transaction's input and checked against the batch's records hash on chain and
against the store, and the points it issued; or one volunteer's part of it (``part_of``)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from eth_utils import to_checksum_address

from ledger.audit.index.bounds import behind
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.audit.trace.store import StoreCheck, batch_rows_in_store, check_packed
from ledger.audit.trace.timeline import Issued, Step, events_of, issued_by
from ledger.chain.contracts.service_records import BatchStatus
from ledger.earning.chunks import link_approved_chunks
from ledger.errors import InputError, RecordNotFound

#: The most records of a batch one trace lists (a batch holds at most 1,000).
MAX_BATCH_LINES = 1_000


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


def trace_batch(
    ledger: AuditSource, index: IndexQueries, batch_id: int, *, volunteer: str | None = None
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
    events = events_of(index, f"batch:{batch_id}", indexed)
    issued = issued_by(index, f"batch:{batch_id}", indexed)
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
        rows = batch_rows_in_store(ledger.engine, batch_id)
        if len(rows) < len(records):
            # rows of a run killed after the approval was mined, before the store recorded it
            link_approved_chunks(ledger.engine, ledger.records, ["0x" + batch.records_hash.hex()])
            rows = batch_rows_in_store(ledger.engine, batch_id)
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
                store=check_packed(r, rows.get(i), batch.scheme_id),
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
        blocks_behind=behind(indexed, head),
    )
    return whole if volunteer is None else part_of(whole, volunteer)


def part_of(b: BatchTrace, volunteer: str) -> BatchTrace:
    """A batch's trace with only `volunteer`'s records and points (the problems stay the
    batch's)."""
    who = volunteer.lower()
    return replace(
        b,
        records=tuple(r for r in b.records if r.volunteer.lower() == who),
        issued=tuple(m for m in b.issued if m.to.lower() == who),
    )
