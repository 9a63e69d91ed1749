"""A service record traced (``trace_record``): as the chain holds it now (volunteer, submitter,
reviewers, times, points, hashes), its activity, every event of it in the index (submitted,
approved, superseded, with transactions and blocks), the points it issued, and its off-chain
details checked against the chain's hashes; with the problems found (a record approved by its own
volunteer, points issued that differ from the record's, a store that disagrees with the chain)."""

from __future__ import annotations

from dataclasses import dataclass

from ledger.audit.index.bounds import behind
from ledger.audit.index.queries import IndexQueries
from ledger.audit.needs import AuditSource
from ledger.audit.trace.store import StoreCheck, check_activity_store, check_record_store
from ledger.audit.trace.timeline import Issued, Step, events_of, issued_by
from ledger.chain.contracts.service_records import Record, RecordStatus


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


def trace_record(ledger: AuditSource, index: IndexQueries, record_id: int) -> RecordTrace:
    """A record from the chain with its activity, events, points issued and store check;
    InputError for a malformed id, RecordNotFound for one never used."""
    record = ledger.earning.existing(record_id)
    indexed, head = index.synced()
    scheme = ledger.scheme(record.scheme_id)
    events = events_of(index, f"record:{record_id}", indexed)
    issued = issued_by(index, f"record:{record_id}", indexed)
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
        blocks_behind=behind(indexed, head),
    )


def _activity(
    ledger: AuditSource, index: IndexQueries, activity_id: int, indexed: int
) -> ActivityTrace:
    a = ledger.activities.activity(activity_id)
    store = check_activity_store(ledger.engine, a)
    return ActivityTrace(
        id=a.id,
        scheme_id=a.scheme_id,
        organiser=a.organiser,
        start=a.start,
        end=a.end,
        capacity=a.capacity,
        cancelled=a.cancelled,
        details_hash="0x" + a.details_hash.hex(),
        events=events_of(index, f"activity:{activity_id}", indexed)[:50],
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
