"""The records the anomaly rules look at, read from the event index over a range of blocks:
single records from their events, records paid in batches from the transactions that approved
them (whose input carries the records); and the activities' windows and the registrations."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from eth_utils import to_checksum_address
from sqlmodel import Session, col, select

from ledger.audit.anomalies.findings import Evidence
from ledger.audit.index.queries import events_naming
from ledger.chain.contracts import ServiceRecordsClient
from ledger.store.index import IndexEvent

_RECORD_EVENTS = ("RecordSubmitted", "RecordFirstApproval", "RecordApproved")
_BATCH_EVENTS = ("BatchSubmitted", "BatchApproved")


@dataclass(frozen=True)
class Step:
    tx_hash: str
    block: int
    timestamp: int

    def evidence(self, what: str) -> Evidence:
        return Evidence(what, self.tx_hash, self.block, datetime.fromtimestamp(self.timestamp, UTC))


@dataclass
class ChainRecord:
    """A service record as the chain shows it: single (record:N) or in a batch (batch:B#i)."""

    ref: str
    scheme_id: int
    volunteer: str
    submitter: str
    activity_id: int
    start: int
    end: int
    evidence_hash: str
    submitted: Step | None = None
    approved: Step | None = None
    reviewer: str | None = None
    first_reviewer: str | None = None
    approvers: list[str] = field(default_factory=list)


def events_between(db: Session, names: tuple[str, ...], lo: int, hi: int) -> list[IndexEvent]:
    """The events named `names` in blocks lo..hi, oldest first."""
    return list(
        db.exec(
            select(IndexEvent)
            .where(col(IndexEvent.event).in_(names))
            .where(col(IndexEvent.block_number) >= lo)
            .where(col(IndexEvent.block_number) <= hi)
            .order_by(col(IndexEvent.block_number), col(IndexEvent.log_index))
        )
    )


def _by_refs(db: Session, refs: set[str], names: tuple[str, ...]) -> list[IndexEvent]:
    """Events named `names` that name any of `refs` (in chunks: a bounded IN list)."""
    out: list[IndexEvent] = []
    ordered = sorted(refs)
    for i in range(0, len(ordered), 500):
        out += db.exec(events_naming(*ordered[i : i + 500]).where(col(IndexEvent.event).in_(names)))
    return out


def step(e: IndexEvent) -> Step:
    """Where an event of the index happened."""
    return Step(e.tx_hash, e.block_number, e.timestamp)


def read_records(
    records: ServiceRecordsClient, db: Session, lo: int, hi: int, scheme_id: int | None
) -> list[ChainRecord]:
    """Records submitted or decided in the range: single records from their events, batch
    records from the transactions that approved them."""
    events = events_between(db, _RECORD_EVENTS + _BATCH_EVENTS, lo, hi)
    record_ids = {int(json.loads(e.args)["recordId"]) for e in events if e.event in _RECORD_EVENTS}
    seen = {(e.block_number, e.log_index) for e in events}
    extra = _by_refs(db, {f"record:{i}" for i in record_ids}, _RECORD_EVENTS)
    batch_ids = {int(json.loads(e.args)["batchId"]) for e in events if e.event in _BATCH_EVENTS}
    extra += _by_refs(db, {f"batch:{i}" for i in batch_ids}, _BATCH_EVENTS)
    events += [e for e in extra if (e.block_number, e.log_index) not in seen]
    events.sort(key=lambda e: (e.block_number, e.log_index))

    singles: dict[int, ChainRecord] = {}
    batches: dict[int, dict[str, Any]] = defaultdict(dict)
    for e in events:
        a = json.loads(e.args)
        if e.event == "RecordSubmitted":
            r = a["record"]
            singles[int(a["recordId"])] = ChainRecord(
                ref=f"record:{a['recordId']}",
                scheme_id=int(a["schemeId"]),
                volunteer=to_checksum_address(a["volunteer"]),
                submitter=to_checksum_address(a["submitter"]),
                activity_id=int(r["activityId"]),
                start=int(r["start"]),
                end=int(r["end"]),
                evidence_hash=r["evidenceHash"],
                submitted=step(e),
            )
        elif e.event in ("RecordFirstApproval", "RecordApproved"):
            rec = singles.get(int(a["recordId"]))
            if rec is None:
                continue
            reviewer = to_checksum_address(a["reviewer"])
            rec.approvers.append(reviewer)
            if e.event == "RecordFirstApproval":
                rec.first_reviewer = reviewer
            else:
                rec.reviewer, rec.approved = reviewer, step(e)
        else:
            b = batches[int(a["batchId"])]
            b[e.event] = (e, a)
    out = list(singles.values())
    for batch_id, b in sorted(batches.items()):
        if "BatchSubmitted" not in b or "BatchApproved" not in b:
            continue  # a batch pays nothing until approved
        sub, sub_args = b["BatchSubmitted"]
        app, app_args = b["BatchApproved"]
        reviewer = to_checksum_address(app_args["reviewer"])
        for i, p in enumerate(records.batch_records(batch_id, tx_hash=app.tx_hash)):
            out.append(
                ChainRecord(
                    ref=f"batch:{batch_id}#{i}",
                    scheme_id=int(sub_args["schemeId"]),
                    volunteer=to_checksum_address(p.volunteer),
                    submitter=to_checksum_address(sub_args["submitter"]),
                    activity_id=p.activity_id,
                    start=p.start,
                    end=p.end,
                    evidence_hash="0x" + p.evidence_hash.hex(),
                    submitted=step(sub),
                    approved=step(app),
                    reviewer=reviewer,
                    approvers=[reviewer],
                )
            )
    if scheme_id is not None:
        out = [r for r in out if r.scheme_id == scheme_id]
    return out


def read_activities(db: Session, ids: set[int]) -> dict[int, dict[str, Any]]:
    """Each activity's window (ActivityCreated) and its cancellation, if any."""
    found: dict[int, dict[str, Any]] = {}
    for e in _by_refs(db, {f"activity:{i}" for i in ids}, ("ActivityCreated", "ActivityCancelled")):
        a = json.loads(e.args)
        entry = found.setdefault(int(a["activityId"]), {})
        if e.event == "ActivityCreated":
            entry.update(start=int(a["start"]), end=int(a["end"]), created=step(e))
        else:
            entry["cancelled"] = step(e)
    return found
