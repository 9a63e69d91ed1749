"""Reading service records: from the chain, with their off-chain details for whoever may see them
(三方可见: the volunteer, the community that reviews the record and the volunteer's employer
organisation), each read of the details logged."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from ledger.chain.contracts import Record, RecordStatus
from ledger.chain.contracts.rules import GRADE_LETTERS, decode_action
from ledger.chain.contracts.service_records import REJECT_REASONS
from ledger.earning.details import DetailsStore
from ledger.earning.parts import ReadingParts
from ledger.errors import AccessDenied, InputError, RecordNotFound
from ledger.store import session, utcnow
from ledger.store.records import DetailsAccess, RecordDetails
from ledger.values import parse_address, show_time


@dataclass(frozen=True)
class RecordView:
    record: Record
    #: The off-chain details, when the store holds them and the viewer may see them.
    details: dict[str, Any] | None
    record_key: str | None
    #: In what capacity the viewer read the details (None: they did not).
    capacity: str | None = None


@dataclass(frozen=True)
class DetailsRead:
    at: str
    viewer: str
    capacity: str


@dataclass(frozen=True)
class Visibility:
    """Who may read a record's details: the volunteer, the employer organisation when named, and
    the community that reviews it (the scheme's issuer, its reviewers and organisers)."""

    volunteer: str
    employer: str | None
    issuer: str
    #: The roles of the record's scheme whose holders may read it.
    community: tuple[str, ...]
    #: False when this store does not hold the record's details (nobody can read them here).
    details_kept: bool
    #: Every read of the details so far (the access log).
    reads: tuple[DetailsRead, ...]


class RecordReader:
    """Service records as the chain holds them, with the details the store keeps."""

    def __init__(self, parts: ReadingParts, details: DetailsStore) -> None:
        self.parts, self.stored = parts, details

    def record(self, record_id: int) -> Record:
        return self.parts.records.record(record_id)

    def existing(self, record_id: int) -> Record:
        """A record that is on chain; RecordNotFound for an id never used."""
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id <= 0:
            raise InputError(f"a record id is a positive whole number (got {record_id!r})")
        if record_id > self.parts.records.record_count():
            raise RecordNotFound(f"there is no service record {record_id}")
        return self.parts.records.record(record_id)

    def view(self, record_id: int, *, viewer: str | None = None, log: bool = True) -> RecordView:
        """A record from the chain, with its details if `viewer` may see them (三方可见); each
        read of the details is logged (`log=False` only to hand a submitter back what they sent)."""
        record = self.parts.records.record(record_id)
        row = self.stored.row_of(record_id)
        details = None
        capacity = self.may_see(record, row, viewer) if row is not None and viewer else None
        if row is not None and viewer is not None and capacity is not None:
            details = json.loads(row.details_json)
            if log:
                with session(self.parts.engine) as db:
                    db.add(
                        DetailsAccess(
                            at=utcnow(), viewer=viewer, record=record_id, capacity=capacity
                        )
                    )
        return RecordView(
            record=record,
            details=details,
            record_key=row.record_key if row else None,
            capacity=capacity if details is not None else None,
        )

    def may_see(self, record: Record, row: RecordDetails, viewer: str) -> str | None:
        """In what capacity `viewer` may read a record's details, or None: the volunteer, the
        community that reviews it (the scheme's issuer, reviewers and organisers) and the
        volunteer's employer organisation when named — nobody else."""
        viewer = parse_address(viewer, what="viewer address")
        if viewer == record.volunteer:
            return "volunteer"
        if row.employer and viewer == row.employer:
            return "employer"
        scheme = self.parts.scheme(record.scheme_id)
        if viewer == scheme.issuer:
            return "issuer"
        for name in ("reviewer", "organiser"):
            if self.parts.has_role(role_name=name, account=viewer, scheme=record.scheme_id):
                return name
        return None

    def visibility(self, record: Record) -> Visibility:
        """Who may read a record's details (三方可见), and who has read them so far."""
        row = self.stored.row_of(record.id)
        with session(self.parts.engine) as db:
            reads = db.exec(
                select(DetailsAccess)
                .where(DetailsAccess.record == record.id)
                .order_by(col(DetailsAccess.id))
            ).all()
        return Visibility(
            volunteer=record.volunteer,
            employer=row.employer if row is not None else None,
            issuer=self.parts.scheme(record.scheme_id).issuer,
            community=("reviewer", "organiser"),
            details_kept=row is not None,
            reads=tuple(
                DetailsRead(
                    at=r.at.isoformat(timespec="seconds"), viewer=r.viewer, capacity=r.capacity
                )
                for r in reads
            ),
        )

    def details(self, *, record_id: int, viewer: str) -> dict[str, Any]:
        """A record's off-chain details for `viewer`, logged; AccessDenied for anyone else."""
        record = self.parts.records.record(record_id)
        row = self.stored.row_of(record_id)
        if row is None:
            raise RecordNotFound(f"the store has no details of record {record_id}")
        capacity = self.may_see(record, row, viewer)
        if capacity is None:
            raise AccessDenied(
                "a record's details are visible to the volunteer, the community that reviews it "
                "and the volunteer's employer organisation only"
            )
        with session(self.parts.engine) as db:
            db.add(DetailsAccess(at=utcnow(), viewer=viewer, record=record_id, capacity=capacity))
        data: dict[str, Any] = json.loads(row.details_json)
        return data

    def records_of(
        self,
        *,
        scheme: str | int | None = None,
        status: RecordStatus | None = None,
        volunteer: str | None = None,
        last: int = 200,
    ) -> list[Record]:
        """The latest records on chain, newest first, optionally of one scheme, status and
        volunteer (a volunteer's: submitted to them, from the chain's events, and imported from
        batches, as the store links them)."""
        scheme_id = self.parts.scheme(scheme).id if scheme is not None else None
        who = parse_address(volunteer, what="volunteer") if volunteer is not None else None
        if who is not None:
            ids = sorted(self._record_ids_of(who), reverse=True)
        else:
            ids = list(range(self.parts.records.record_count(), 0, -1))
        out: list[Record] = []
        for record_id in ids:
            record = self.parts.records.record(record_id)
            if who is not None and record.volunteer != who:
                continue
            if scheme_id is not None and record.scheme_id != scheme_id:
                continue
            if status is not None and record.status is not status:
                continue
            out.append(record)
            if len(out) >= last:
                break
        return out

    def _record_ids_of(self, volunteer: str) -> set[int]:
        event = self.parts.records.contract.events.RecordSubmitted()
        ids = {
            int(e["args"]["recordId"])
            for e in event.get_logs(from_block=0, argument_filters={"volunteer": volunteer})
        }
        with session(self.parts.engine) as db:
            linked = db.exec(
                select(RecordDetails.record_id).where(
                    RecordDetails.volunteer == volunteer, col(RecordDetails.record_id).is_not(None)
                )
            ).all()
        return ids | {int(i) for i in linked if i is not None}


def record_data(record: Record, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A service record as the CLI and the API show it."""
    return {
        "id": record.id,
        "scheme_id": record.scheme_id,
        "volunteer": record.volunteer,
        "activity_id": record.activity_id,
        "status": record.status.label,
        "start": show_time(record.start),
        "end": show_time(record.end),
        "minutes": record.minutes,
        "action": decode_action(record.action) if record.action != bytes(32) else None,
        "grade": GRADE_LETTERS[record.grade] if record.status >= RecordStatus.APPROVED else None,
        "points": record.points,
        "rule_version": record.rule_version or None,
        "late": record.late,
        "submitter": record.submitter,
        "first_reviewer": record.first_reviewer,
        "reviewer": record.reviewer,
        "reject_reason": REJECT_REASONS.get(record.reject_reason) if record.reject_reason else None,
        "supersedes": record.supersedes or None,
        "correction": record.correction or None,
        "details_hash": record.details_hash,
        "evidence_hash": record.evidence_hash,
        "details": details,
    }


def visibility_data(v: Visibility) -> dict[str, Any]:
    """Who may see a record's details, as the API shows it."""
    return {
        "volunteer": v.volunteer,
        "employer": v.employer,
        "issuer": v.issuer,
        "community_roles": list(v.community),
        "details_kept": v.details_kept,
        "reads": [{"at": r.at, "viewer": r.viewer, "capacity": r.capacity} for r in v.reads],
    }
