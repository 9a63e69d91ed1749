"""Earning points: limits, activities and tasks, service records and their four-eyes review.

The chain enforces every rule it can see (roles, four eyes, time order, caps, quota, capacity and
windows); this module checks input first, keeps the details the chain only holds hashes of, refuses
evidence that already backs another record, and writes down every refused attempt for auditors.
Batch issuance from a CSV file is in ``ledger.earning.batch``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ledger.chain.contracts import Activity, Limits, Record, RecordStatus, RuleKind
from ledger.chain.contracts.records import CANCEL_REASONS, REJECT_REASONS, pack_records
from ledger.chain.contracts.rules import GRADE_LETTERS, decode_action, encode_action, grade_index
from ledger.chain.tx import Signer
from ledger.errors import (
    AccessDenied,
    ContractRevert,
    DuplicateEvidence,
    InputError,
    LedgerError,
    OverlappingService,
    RecordNotFound,
)
from ledger.store import session, utcnow
from ledger.store.records import (
    ActivityDetails,
    DetailsAccess,
    RecordDetails,
    RefusedAttempt,
    canonical_json,
    details_hash,
)
from ledger.values import check_text_fields, parse_address, parse_hash, parse_time, show_time

if TYPE_CHECKING:
    from ledger.ledger import Ledger

log = logging.getLogger(__name__)
#: What the 2021 rules on volunteer service records require a record to state (besides the
#: volunteer, the date and the hours, which come from the record itself).
REQUIRED_DETAILS = ("activity", "place", "content", "organising_unit", "person_in_charge")


@dataclass(frozen=True)
class ActivityView:
    activity: Activity
    details: dict[str, Any]


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


class Earning:
    """Earning operations of one ``Ledger``."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    # --- evidence of refusals ------------------------------------------------------------------

    def refused(self, *, actor: str, action: str, subject: str, exc: LedgerError) -> None:
        """Write down a refused attempt (never the personal data; the message is the error's)."""
        with session(self.ledger.engine) as db:
            db.add(
                RefusedAttempt(
                    at=utcnow(),
                    actor=actor,
                    action=action,
                    subject=subject,
                    code=exc.code,
                    error=getattr(exc, "error", None),
                    message=str(exc)[:1000],
                )
            )

    def refusals(self, *, last: int = 100) -> list[RefusedAttempt]:
        with session(self.ledger.engine) as db:
            rows = db.exec(
                select(RefusedAttempt).order_by(col(RefusedAttempt.id).desc()).limit(last)
            ).all()
        return list(rows)

    def _attempt(self, actor: str, action: str, subject: str) -> _Attempt:
        return _Attempt(self, actor, action, subject)

    # --- limits --------------------------------------------------------------------------------

    def set_limits(self, *, issuer: Signer, scheme: str | int, limits: Limits) -> Limits:
        """Set a scheme's anti-farming limits; setting the limits in force again is a no-op."""
        s = self.ledger.scheme(scheme)
        if self.ledger.records.limits(s.id) == limits:
            return limits
        with self._attempt(issuer.address, "set-limits", s.code):
            self.ledger.records.set_limits(issuer, s.id, limits)
        return self.ledger.records.limits(s.id)

    def limits(self, scheme: str | int) -> Limits:
        return self.ledger.records.limits(self.ledger.scheme(scheme).id)

    def set_reviewer_cap(
        self, *, issuer: Signer, scheme: str | int, reviewer: str, per_hour: int
    ) -> None:
        s = self.ledger.scheme(scheme)
        reviewer = parse_address(reviewer, what="reviewer address")
        if not 0 <= per_hour < 2**32:
            raise InputError(f"approvals per hour must be 0 to 2^32 - 1 (got {per_hour})")
        with self._attempt(issuer.address, "set-reviewer-cap", reviewer):
            self.ledger.records.set_reviewer_cap(issuer, s.id, reviewer, per_hour)

    # --- activities and tasks ------------------------------------------------------------------

    def create_activity(
        self,
        *,
        organiser: Signer,
        scheme: str | int,
        name: str,
        place: str,
        content: str,
        organising_unit: str,
        person_in_charge: str,
        start: str | int | datetime,
        end: str | int | datetime,
        capacity: int,
        requester: str | None = None,
    ) -> ActivityView:
        """Publish an activity (or, with `requester`, a task answering a resident's request).

        The details stay off chain; their hash goes on chain. Publishing the same details again
        returns the activity already published (also after an interruption).
        """
        s = self.ledger.scheme(scheme)
        start_ts, end_ts = parse_time(start, what="start"), parse_time(end, what="end")
        if end_ts <= start_ts:
            raise InputError("an activity ends after it starts")
        if requester is not None:
            requester = parse_address(requester, what="requester address")
        if not 1 <= capacity <= 100_000:
            raise InputError(f"capacity must be 1-100000 (got {capacity})")
        details = check_text_fields(
            {
                "kind": "task" if requester else "activity",
                "scheme": s.code,
                "name": name,
                "place": place,
                "content": content,
                "organising_unit": organising_unit,
                "person_in_charge": person_in_charge,
                "start": show_time(start_ts),
                "end": show_time(end_ts),
                "capacity": str(1 if requester else capacity),
            },
            ("name", "place", "content", "organising_unit", "person_in_charge"),
        )
        digest = details_hash(details)
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.details_hash == "0x" + digest.hex())
            ).first()
        if row is not None and row.activity_id is not None:
            return self.activity(row.activity_id)
        if row is not None:
            found = self._find_created(organiser.address, digest)
            if found is not None:
                self._set_activity_id(digest, found)
                return self.activity(found)
        else:
            with session(self.ledger.engine) as db:
                db.add(
                    ActivityDetails(
                        scheme_id=s.id,
                        details_hash="0x" + digest.hex(),
                        details_json=canonical_json(details).decode(),
                        created_at=utcnow(),
                    )
                )
        try:
            with self._attempt(organiser.address, "create-activity", s.code):
                if requester is None:
                    result = self.ledger.activities.create_activity(
                        organiser, s.id, start_ts, end_ts, capacity, digest
                    )
                else:
                    result = self.ledger.activities.create_task(
                        organiser, s.id, requester, start_ts, end_ts, digest
                    )
        except ContractRevert:
            with session(self.ledger.engine) as db:
                pending = db.exec(
                    select(ActivityDetails).where(
                        ActivityDetails.details_hash == "0x" + digest.hex(),
                        col(ActivityDetails.activity_id).is_(None),
                    )
                ).first()
                if pending is not None:
                    db.delete(pending)
            raise
        activity_id = self.ledger.activities.created_id(result)
        self._set_activity_id(digest, activity_id)
        return self.activity(activity_id)

    def _find_created(self, organiser: str, digest: bytes) -> int | None:
        """An activity this organiser created with these details (an interrupted run)."""
        event = self.ledger.activities.contract.events.ActivityCreated()
        for entry in event.get_logs(from_block=0, argument_filters={"organiser": organiser}):
            if bytes(entry["args"]["detailsHash"]) == digest:
                return int(entry["args"]["activityId"])
        return None

    def _set_activity_id(self, digest: bytes, activity_id: int) -> None:
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.details_hash == "0x" + digest.hex())
            ).one()
            row.activity_id = activity_id
            db.add(row)

    def activity(self, activity_id: int) -> ActivityView:
        activity = self.ledger.activities.activity(activity_id)
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(ActivityDetails).where(ActivityDetails.activity_id == activity_id)
            ).first()
        details = json.loads(row.details_json) if row is not None else {}
        return ActivityView(activity=activity, details=details)

    def activities(self, *, scheme: str | int | None = None, last: int = 100) -> list[ActivityView]:
        scheme_id = self.ledger.scheme(scheme).id if scheme is not None else None
        count = self.ledger.activities.count()
        out: list[ActivityView] = []
        for activity_id in range(count, 0, -1):
            view = self.activity(activity_id)
            if scheme_id is None or view.activity.scheme_id == scheme_id:
                out.append(view)
            if len(out) >= last:
                break
        return out

    def sign_up(self, *, member: Signer, activity_id: int) -> Activity:
        with self._attempt(member.address, "sign-up", f"activity {activity_id}"):
            self.ledger.activities.sign_up(member, activity_id)
        return self.ledger.activities.activity(activity_id)

    def assign(self, *, organiser: Signer, activity_id: int, member: str) -> Activity:
        member = parse_address(member, what="member address")
        with self._attempt(organiser.address, "assign", f"activity {activity_id}"):
            self.ledger.activities.assign(organiser, activity_id, member)
        return self.ledger.activities.activity(activity_id)

    def leave(self, *, account: Signer, activity_id: int, member: str) -> Activity:
        member = parse_address(member, what="member address")
        with self._attempt(account.address, "leave", f"activity {activity_id}"):
            self.ledger.activities.leave(account, activity_id, member)
        return self.ledger.activities.activity(activity_id)

    def cancel_activity(self, *, organiser: Signer, activity_id: int, reason: int) -> Activity:
        if reason not in CANCEL_REASONS:
            raise InputError(
                "reason must be one of "
                + ", ".join(f"{k} ({v})" for k, v in CANCEL_REASONS.items())
            )
        with self._attempt(organiser.address, "cancel-activity", f"activity {activity_id}"):
            self.ledger.activities.cancel(organiser, activity_id, reason)
        return self.ledger.activities.activity(activity_id)

    # --- service records -----------------------------------------------------------------------

    def submit_record(
        self,
        *,
        submitter: Signer,
        scheme: str | int,
        volunteer: str,
        start: str | int | datetime,
        end: str | int | datetime,
        evidence_hash: str | bytes,
        content: str,
        activity_id: int = 0,
        action: str | None = None,
        details: dict[str, Any] | None = None,
        employer: str | None = None,
        record_key: str | None = None,
    ) -> RecordView:
        """Submit a service record as the volunteer or an organiser; it then awaits review.

        `details` carries what the rules require (activity, place, organising_unit,
        person_in_charge); for a record of an activity they default to the activity's. The
        evidence must not back any other record. With a `record_key` (the issuer's own id), a
        repeated submission returns the record already submitted.
        """
        s = self.ledger.scheme(scheme)
        volunteer = parse_address(volunteer, what="volunteer address")
        start_ts, end_ts = parse_time(start, what="start"), parse_time(end, what="end")
        evidence = parse_hash(evidence_hash, what="evidence hash")
        if employer is not None:
            employer = parse_address(employer, what="employer address")
        rule = self.ledger._current_rule(s.id)
        if rule is None:
            raise InputError(f"scheme {s.code} has no earning rule yet; its issuer publishes one")
        kind = RuleKind.DURATION if hasattr(rule, "grades") else RuleKind.FIXED
        if kind is RuleKind.DURATION:
            if action:
                raise InputError(f"scheme {s.code} pays by duration: a record names no action")
            if end_ts - start_ts < 60:
                raise InputError("the service must last at least a minute (end after start)")
        else:
            if not action:
                raise InputError(f"scheme {s.code} pays fixed-point actions: name the action")
            actions = getattr(rule, "actions", {})
            if action not in actions:
                raise InputError(
                    f"action {action!r} is not in {s.code}'s rule (version {rule.version}): "
                    f"{', '.join(actions)}"
                )
            if end_ts < start_ts:
                raise InputError("the end is before the start")
        if end_ts - start_ts > 24 * 3600:
            raise InputError("a record covers at most one day of service; split longer service")
        merged = dict(details or {})
        if activity_id:
            with self._attempt(submitter.address, "submit-record", record_key or "-"):
                view = self.activity(activity_id)
            for key_from, key_to in (("name", "activity"), ("place", "place")):
                merged.setdefault(key_to, view.details.get(key_from))
            for key in ("organising_unit", "person_in_charge"):
                merged.setdefault(key, view.details.get(key))
        merged["content"] = content
        fields = check_text_fields(merged, REQUIRED_DETAILS)
        fields.update(
            {
                "scheme": s.code,
                "volunteer": volunteer,
                "date": show_time(start_ts)[:10],
                "start": show_time(start_ts),
                "end": show_time(end_ts),
                "hours": f"{(end_ts - start_ts) / 3600:.2f}",
                "evidence_hash": "0x" + evidence.hex(),
            }
        )
        if action:
            fields["action"] = action
        if employer:
            fields["employer"] = employer
        digest = details_hash(fields)
        key = record_key or "0x" + digest.hex()

        existing = self._details_by_key(s.id, key)
        if existing is not None and existing.record_id is not None:
            return self.view(existing.record_id, viewer=submitter.address, log=False)
        with session(self.ledger.engine) as db:
            other = db.exec(
                select(RecordDetails).where(RecordDetails.evidence_hash == "0x" + evidence.hex())
            ).first()
        if other is not None and other.record_key != key:
            if self.is_rejected(other):
                self._release_evidence(other)
            else:
                exc = DuplicateEvidence(
                    f"this evidence already backs record {other.record_key} of {other.volunteer}; "
                    "the same photos or sign-in sheet never back two records"
                )
                self.refused(actor=submitter.address, action="submit-record", subject=key, exc=exc)
                raise exc
        if kind is RuleKind.DURATION:
            clash = self.overlapping(volunteer, s.id, start_ts, end_ts)
            if clash is not None:
                overlap = OverlappingService(
                    f"{volunteer} already has record {clash.record_key} in another scheme for "
                    f"{show_time(clash.start)}-{show_time(clash.end)}; the same hours are paid once"
                )
                self.refused(
                    actor=submitter.address, action="submit-record", subject=key, exc=overlap
                )
                raise overlap
        if existing is None:
            self._keep_details(
                RecordDetails(
                    scheme_id=s.id,
                    record_key=key,
                    volunteer=volunteer,
                    activity_id=activity_id,
                    start=start_ts,
                    end=end_ts,
                    details_hash="0x" + digest.hex(),
                    evidence_hash="0x" + evidence.hex(),
                    details_json=canonical_json(fields).decode(),
                    employer=employer,
                    created_at=utcnow(),
                ),
                actor=submitter.address,
                action="submit-record",
            )
        else:
            found = self._find_submitted(volunteer, digest)
            if found is not None:
                self._link(s.id, key, record_id=found)
                return self.view(found, viewer=submitter.address, log=False)
        try:
            with self._attempt(submitter.address, "submit-record", key):
                result = self.ledger.records.submit_record(
                    submitter,
                    scheme_id=s.id,
                    activity_id=activity_id,
                    volunteer=volunteer,
                    start=start_ts,
                    end=end_ts,
                    action=encode_action(action) if action else bytes(32),
                    details_hash=digest,
                    evidence_hash=evidence,
                )
        except ContractRevert:
            self._forget(s.id, key)
            raise
        record_id = self.ledger.records.submitted_id(result)
        self._link(s.id, key, record_id=record_id)
        log.info("record %s submitted as %d (tx %s)", key, record_id, result.tx_hash)
        return self.view(record_id, viewer=submitter.address, log=False)

    def _keep_details(self, row: RecordDetails, *, actor: str, action: str) -> None:
        """Store a record's details before it goes on chain; the store's unique evidence hash
        refuses evidence that backs another record (also one stored by a concurrent request)."""
        with session(self.ledger.engine) as db:
            other = db.exec(
                select(RecordDetails).where(RecordDetails.evidence_hash == row.evidence_hash)
            ).first()
        if other is not None and self.is_rejected(other):
            self._release_evidence(other)
        try:
            with session(self.ledger.engine) as db:
                db.add(row)
        except IntegrityError:
            exc = DuplicateEvidence(
                "this evidence (or this record id) already backs another record; the same photos "
                "or sign-in sheet never back two records"
            )
            self.refused(actor=actor, action=action, subject=row.record_key, exc=exc)
            raise exc from None

    def is_rejected(self, row: RecordDetails) -> bool:
        """Whether the chain rejected the record (or batch) a stored row belongs to."""
        if row.record_id is not None:
            return self.ledger.records.record(row.record_id).status is RecordStatus.REJECTED
        if row.chunk_hash:
            batch_id = self.ledger.records.batch_of(bytes.fromhex(row.chunk_hash[2:]))
            return bool(batch_id) and self.ledger.records.batch(batch_id).status.name == "REJECTED"
        return False

    def _release_evidence(self, row: RecordDetails) -> None:
        """A rejected record's evidence may back its resubmission: the old row keeps the hash in
        its details, under a released marker."""
        with session(self.ledger.engine) as db:
            stored = db.get(RecordDetails, row.id)
            if stored is not None:
                stored.evidence_hash = f"{stored.evidence_hash}#released-{stored.id}"
                db.add(stored)

    def overlapping(
        self, volunteer: str, scheme_id: int, start: int, end: int
    ) -> RecordDetails | None:
        """A record of `volunteer` in another scheme whose service overlaps [start, end), unless
        the chain rejected it."""
        with session(self.ledger.engine) as db:
            rows = db.exec(
                select(RecordDetails).where(
                    RecordDetails.volunteer == volunteer,
                    RecordDetails.scheme_id != scheme_id,
                    col(RecordDetails.start) < end,
                    col(RecordDetails.end) > start,
                    col(RecordDetails.end) > col(RecordDetails.start),
                )
            ).all()
        return next((r for r in rows if not self.is_rejected(r)), None)

    def _details_by_key(self, scheme_id: int, key: str) -> RecordDetails | None:
        with session(self.ledger.engine) as db:
            return db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id, RecordDetails.record_key == key
                )
            ).first()

    def _find_submitted(self, volunteer: str, digest: bytes) -> int | None:
        event = self.ledger.records.contract.events.RecordSubmitted()
        for entry in event.get_logs(from_block=0, argument_filters={"volunteer": volunteer}):
            if bytes(entry["args"]["record"]["detailsHash"]) == digest:
                return int(entry["args"]["recordId"])
        return None

    def _link(self, scheme_id: int, key: str, *, record_id: int) -> None:
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id, RecordDetails.record_key == key
                )
            ).one()
            row.record_id = record_id
            db.add(row)

    def _forget(self, scheme_id: int, key: str) -> None:
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id,
                    RecordDetails.record_key == key,
                    col(RecordDetails.record_id).is_(None),
                    col(RecordDetails.batch_id).is_(None),
                )
            ).first()
            if row is not None:
                db.delete(row)

    def approve(self, *, reviewer: Signer, record_id: int, grade: str = "A") -> Record:
        """Approve a record with a grade (A, B, ...; A for fixed-point actions). The final
        approval mints the points in the same transaction; a late record needs two reviewers.
        Approving a record that this reviewer already approved as the first of two is a repeat."""
        index = grade_index(grade)
        with self._attempt(reviewer.address, "approve", f"record {record_id}"):
            record = self.ledger.records.record(record_id)
            if record.grade == index and (
                (
                    record.status is RecordStatus.AWAITING_SECOND
                    and record.first_reviewer == reviewer.address
                )
                or (record.status is RecordStatus.APPROVED and record.reviewer == reviewer.address)
                or (
                    record.status is RecordStatus.SUPERSEDED and record.reviewer == reviewer.address
                )
            ):
                return record  # the same reviewer's same decision again: a repeated request
            self.ledger.records.approve(reviewer, record_id, index)
        return self.ledger.records.record(record_id)

    def reject(self, *, reviewer: Signer, record_id: int, reason: int) -> Record:
        if reason not in REJECT_REASONS:
            raise InputError(
                "reason must be one of "
                + ", ".join(f"{k} ({v})" for k, v in REJECT_REASONS.items())
            )
        with self._attempt(reviewer.address, "reject", f"record {record_id}"):
            record = self.ledger.records.record(record_id)
            if (
                record.status is RecordStatus.REJECTED
                and record.reviewer == reviewer.address
                and record.reject_reason == reason
            ):
                return record  # the same rejection again: a repeated request
            self.ledger.records.reject(reviewer, record_id, reason)
        return self.ledger.records.record(record_id)

    def correct(
        self,
        *,
        submitter: Signer,
        record_id: int,
        start: str | int | datetime,
        end: str | int | datetime,
        evidence_hash: str | bytes,
        content: str,
        reason: str,
        action: str | None = None,
    ) -> RecordView:
        """Submit a correction of an approved record: a new record that, once approved,
        supersedes it and moves the points by the difference. Both stay visible."""
        start_ts, end_ts = parse_time(start, what="start"), parse_time(end, what="end")
        evidence = parse_hash(evidence_hash, what="evidence hash")
        with self._attempt(submitter.address, "correct", f"record {record_id}"):
            old = self.ledger.records.record(record_id)
        old_row = self._row_of(record_id)
        base: dict[str, Any] = json.loads(old_row.details_json) if old_row else {}
        fields = {k: v for k, v in base.items() if k in REQUIRED_DETAILS or k == "employer"}
        fields["content"] = content
        fields = check_text_fields(fields, ())
        fields.update(
            {
                "corrects": str(record_id),
                "correction_reason": reason.strip(),
                "scheme": self.ledger.scheme(old.scheme_id).code,
                "volunteer": old.volunteer,
                "date": show_time(start_ts)[:10],
                "start": show_time(start_ts),
                "end": show_time(end_ts),
                "hours": f"{(end_ts - start_ts) / 3600:.2f}",
                "evidence_hash": "0x" + evidence.hex(),
            }
        )
        if not reason.strip():
            raise InputError("a correction states its reason")
        if action:
            fields["action"] = action
        digest = details_hash(fields)
        key = f"{old_row.record_key if old_row else record_id}#correction-{digest.hex()[:8]}"
        if old.correction:
            pending = self.ledger.records.record(old.correction)
            if pending.details_hash == digest:
                return self.view(old.correction, viewer=submitter.address, log=False)  # a repeat
        if self._details_by_key(old.scheme_id, key) is None:
            self._keep_details(
                RecordDetails(
                    scheme_id=old.scheme_id,
                    record_key=key,
                    volunteer=old.volunteer,
                    activity_id=old.activity_id,
                    start=start_ts,
                    end=end_ts,
                    details_hash="0x" + digest.hex(),
                    evidence_hash="0x" + evidence.hex(),
                    details_json=canonical_json(fields).decode(),
                    employer=fields.get("employer"),
                    created_at=utcnow(),
                ),
                actor=submitter.address,
                action="correct",
            )
        try:
            with self._attempt(submitter.address, "correct", f"record {record_id}"):
                result = self.ledger.records.submit_correction(
                    submitter,
                    record_id,
                    start=start_ts,
                    end=end_ts,
                    action=encode_action(action) if action else old.action,
                    details_hash=digest,
                    evidence_hash=evidence,
                )
        except ContractRevert:
            self._forget(old.scheme_id, key)
            raise
        new_id = self.ledger.records.submitted_id(result)
        self._link(old.scheme_id, key, record_id=new_id)
        return self.view(new_id, viewer=submitter.address, log=False)

    def import_batch_record(self, *, account: Signer, batch_id: int, index: int) -> int:
        """Give record `index` of an approved batch a record id of its own (so that it can be
        corrected like any record); doing it again returns the same id."""
        existing = self.ledger.records.batch_record_id(batch_id, index)
        if existing == 0:
            records = self.ledger.records.batch_records(batch_id)
            if not records:
                raise InputError(f"batch {batch_id} is not approved; only its records are paid")
            with self._attempt(account.address, "import-batch-record", f"batch {batch_id}#{index}"):
                self.ledger.records.import_batch_record(
                    account, batch_id, index, pack_records(records)
                )
            existing = self.ledger.records.batch_record_id(batch_id, index)
        with session(self.ledger.engine) as db:
            row = db.exec(
                select(RecordDetails).where(
                    RecordDetails.batch_id == batch_id, RecordDetails.batch_index == index
                )
            ).first()
            if row is not None and row.record_id is None:
                row.record_id = existing
                db.add(row)
        return existing

    def _row_of(self, record_id: int) -> RecordDetails | None:
        with session(self.ledger.engine) as db:
            return db.exec(
                select(RecordDetails).where(RecordDetails.record_id == record_id)
            ).first()

    # --- reading records -----------------------------------------------------------------------

    def record(self, record_id: int) -> Record:
        return self.ledger.records.record(record_id)

    def existing(self, record_id: int) -> Record:
        """A record that is on chain; RecordNotFound for an id never used."""
        if isinstance(record_id, bool) or not isinstance(record_id, int) or record_id <= 0:
            raise InputError(f"a record id is a positive whole number (got {record_id!r})")
        if record_id > self.ledger.records.record_count():
            raise RecordNotFound(f"there is no service record {record_id}")
        return self.ledger.records.record(record_id)

    def view(self, record_id: int, *, viewer: str | None = None, log: bool = True) -> RecordView:
        """A record from the chain, with its details if `viewer` may see them (三方可见); each
        read of the details is logged (`log=False` only to hand a submitter back what they sent)."""
        record = self.ledger.records.record(record_id)
        row = self._row_of(record_id)
        details = None
        capacity = self.may_see(record, row, viewer) if row is not None and viewer else None
        if row is not None and viewer is not None and capacity is not None:
            details = json.loads(row.details_json)
            if log:
                with session(self.ledger.engine) as db:
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
        scheme = self.ledger.scheme(record.scheme_id)
        if viewer == scheme.issuer:
            return "issuer"
        for name in ("reviewer", "organiser"):
            if self.ledger.has_role(role_name=name, account=viewer, scheme=record.scheme_id):
                return name
        return None

    def visibility(self, record: Record) -> Visibility:
        """Who may read a record's details (三方可见), and who has read them so far."""
        row = self._row_of(record.id)
        with session(self.ledger.engine) as db:
            reads = db.exec(
                select(DetailsAccess)
                .where(DetailsAccess.record == record.id)
                .order_by(col(DetailsAccess.id))
            ).all()
        return Visibility(
            volunteer=record.volunteer,
            employer=row.employer if row is not None else None,
            issuer=self.ledger.scheme(record.scheme_id).issuer,
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
        record = self.ledger.records.record(record_id)
        row = self._row_of(record_id)
        if row is None:
            raise RecordNotFound(f"the store has no details of record {record_id}")
        capacity = self.may_see(record, row, viewer)
        if capacity is None:
            raise AccessDenied(
                "a record's details are visible to the volunteer, the community that reviews it "
                "and the volunteer's employer organisation only"
            )
        with session(self.ledger.engine) as db:
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
        scheme_id = self.ledger.scheme(scheme).id if scheme is not None else None
        who = parse_address(volunteer, what="volunteer") if volunteer is not None else None
        if who is not None:
            ids = sorted(self._record_ids_of(who), reverse=True)
        else:
            ids = list(range(self.ledger.records.record_count(), 0, -1))
        out: list[Record] = []
        for record_id in ids:
            record = self.ledger.records.record(record_id)
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
        event = self.ledger.records.contract.events.RecordSubmitted()
        ids = {
            int(e["args"]["recordId"])
            for e in event.get_logs(from_block=0, argument_filters={"volunteer": volunteer})
        }
        with session(self.ledger.engine) as db:
            linked = db.exec(
                select(RecordDetails.record_id).where(
                    RecordDetails.volunteer == volunteer, col(RecordDetails.record_id).is_not(None)
                )
            ).all()
        return ids | {int(i) for i in linked if i is not None}


class _Attempt:
    """Context manager: a LedgerError raised inside is written down as a refused attempt."""

    def __init__(self, earning: Earning, actor: str, action: str, subject: str) -> None:
        self.earning, self.actor, self.action, self.subject = earning, actor, action, subject

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, LedgerError) and not isinstance(exc, InputError):
            try:
                self.earning.refused(
                    actor=self.actor, action=self.action, subject=self.subject, exc=exc
                )
            except Exception:  # never hide the refusal behind a store failure
                log.exception("could not write down a refused %s", self.action)


def activity_data(activity: Activity, details: dict[str, Any]) -> dict[str, Any]:
    """An activity as the CLI and the API show it."""
    return {
        "id": activity.id,
        "scheme_id": activity.scheme_id,
        "kind": "task" if activity.is_task else "activity",
        "start": show_time(activity.start),
        "end": show_time(activity.end),
        "capacity": activity.capacity,
        "enrolled": activity.enrolled,
        "batch_records": activity.batch_records,
        "places_left": activity.places_left,
        "cancelled": activity.cancelled,
        "organiser": activity.organiser,
        "requester": activity.requester,
        "details_hash": activity.details_hash,
        "details": details,
    }


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
