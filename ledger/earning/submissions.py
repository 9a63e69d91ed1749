"""Service records: a volunteer's service submitted for review, a correction of an approved
record, and a record of an approved batch given an id of its own.

The chain enforces every rule it can see (roles, four eyes, time order, caps, quota, capacity and
windows); this module checks input first, keeps the details the chain only holds hashes of
(``ledger.earning.details``), refuses evidence that already backs another record, and writes down
every refused attempt for auditors. Review is in ``ledger.earning.review``; batch issuance from a
CSV file in ``ledger.earning.batch``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any

from sqlmodel import select

from ledger.chain.contracts import RuleKind
from ledger.chain.contracts.packed_records import pack_records
from ledger.chain.contracts.rules import encode_action
from ledger.chain.tx import Signer, TxResult
from ledger.earning.activities import ActivityBoard
from ledger.earning.details import REQUIRED_DETAILS, DetailsStore, details_row, service_details
from ledger.earning.parts import SubmissionParts, current_rule
from ledger.earning.reading import RecordReader, RecordView
from ledger.earning.refusals import RefusalLog
from ledger.errors import ContractRevert, DuplicateEvidence, InputError, OverlappingService
from ledger.store import session
from ledger.store.records import RecordDetails, details_hash
from ledger.values import check_text_fields, parse_address, parse_hash, parse_time, show_time

log = logging.getLogger(__name__)


class Submissions:
    """Submitting and correcting service records."""

    def __init__(
        self,
        parts: SubmissionParts,
        refusals: RefusalLog,
        details: DetailsStore,
        activities: ActivityBoard,
        reader: RecordReader,
    ) -> None:
        self.parts, self.refusals, self.stored = parts, refusals, details
        self.activities, self.reader = activities, reader

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
        s = self.parts.scheme(scheme)
        volunteer = parse_address(volunteer, what="volunteer address")
        start_ts, end_ts = parse_time(start, what="start"), parse_time(end, what="end")
        evidence = parse_hash(evidence_hash, what="evidence hash")
        if employer is not None:
            employer = parse_address(employer, what="employer address")
        rule = current_rule(self.parts, s.id)
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
            with self.refusals.attempt(submitter.address, "submit-record", record_key or "-"):
                view = self.activities.activity(activity_id)
            for key_from, key_to in (("name", "activity"), ("place", "place")):
                merged.setdefault(key_to, view.details.get(key_from))
            for key in ("organising_unit", "person_in_charge"):
                merged.setdefault(key, view.details.get(key))
        merged["content"] = content
        fields = check_text_fields(merged, REQUIRED_DETAILS)
        fields.update(
            service_details(
                scheme=s.code, volunteer=volunteer, start=start_ts, end=end_ts, evidence=evidence
            )
        )
        if action:
            fields["action"] = action
        if employer:
            fields["employer"] = employer
        digest = details_hash(fields)
        key = record_key or "0x" + digest.hex()

        existing = self.stored.by_key(s.id, key)
        if existing is not None and existing.record_id is not None:
            return self.reader.view(existing.record_id, viewer=submitter.address, log=False)
        with session(self.parts.engine) as db:
            other = db.exec(
                select(RecordDetails).where(RecordDetails.evidence_hash == "0x" + evidence.hex())
            ).first()
        if other is not None and other.record_key != key:
            if self.stored.is_rejected(other):
                self.stored.release_evidence(other)
            else:
                exc = DuplicateEvidence(
                    f"this evidence already backs record {other.record_key} of {other.volunteer}; "
                    "the same photos or sign-in sheet never back two records"
                )
                self.refusals.refused(
                    actor=submitter.address, action="submit-record", subject=key, exc=exc
                )
                raise exc
        if kind is RuleKind.DURATION:
            clash = self.stored.overlapping(volunteer, s.id, start_ts, end_ts)
            if clash is not None:
                overlap = OverlappingService(
                    f"{volunteer} already has record {clash.record_key} in another scheme for "
                    f"{show_time(clash.start)}-{show_time(clash.end)}; the same hours are paid once"
                )
                self.refusals.refused(
                    actor=submitter.address, action="submit-record", subject=key, exc=overlap
                )
                raise overlap
        if existing is None:
            self.stored.keep(
                details_row(s.id, key, activity_id, start_ts, end_ts, fields),
                actor=submitter.address,
                action="submit-record",
            )
        else:
            found = self.stored.find_submitted(volunteer, digest)
            if found is not None:
                self.stored.link(s.id, key, record_id=found)
                return self.reader.view(found, viewer=submitter.address, log=False)
        send = partial(
            self.parts.records.submit_record,
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
        result = self._send(send, s.id, key, refused=(submitter.address, "submit-record", key))
        record_id = self.parts.records.submitted_id(result)
        log.info("record %s submitted as %d (tx %s)", key, record_id, result.tx_hash)
        return self.reader.view(record_id, viewer=submitter.address, log=False)

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
        with self.refusals.attempt(submitter.address, "correct", f"record {record_id}"):
            old = self.parts.records.record(record_id)
        old_row = self.stored.row_of(record_id)
        base: dict[str, Any] = json.loads(old_row.details_json) if old_row else {}
        fields = {k: v for k, v in base.items() if k in REQUIRED_DETAILS or k == "employer"}
        fields["content"] = content
        fields = check_text_fields(fields, ())
        fields.update(
            {
                "corrects": str(record_id),
                "correction_reason": reason.strip(),
                **service_details(
                    scheme=self.parts.scheme(old.scheme_id).code,
                    volunteer=old.volunteer,
                    start=start_ts,
                    end=end_ts,
                    evidence=evidence,
                ),
            }
        )
        if not reason.strip():
            raise InputError("a correction states its reason")
        if action:
            fields["action"] = action
        digest = details_hash(fields)
        key = f"{old_row.record_key if old_row else record_id}#correction-{digest.hex()[:8]}"
        if old.correction:
            pending = self.parts.records.record(old.correction)
            if pending.details_hash == digest:
                # a repeat: the same correction is pending
                return self.reader.view(old.correction, viewer=submitter.address, log=False)
        if self.stored.by_key(old.scheme_id, key) is None:
            self.stored.keep(
                details_row(old.scheme_id, key, old.activity_id, start_ts, end_ts, fields),
                actor=submitter.address,
                action="correct",
            )
        send = partial(
            self.parts.records.submit_correction,
            submitter,
            record_id,
            start=start_ts,
            end=end_ts,
            action=encode_action(action) if action else old.action,
            details_hash=digest,
            evidence_hash=evidence,
        )
        subject = f"record {record_id}"
        result = self._send(
            send, old.scheme_id, key, refused=(submitter.address, "correct", subject)
        )
        new_id = self.parts.records.submitted_id(result)
        return self.reader.view(new_id, viewer=submitter.address, log=False)

    def _send(
        self,
        send: Callable[[], TxResult],
        scheme_id: int,
        key: str,
        *,
        refused: tuple[str, str, str],
    ) -> TxResult:
        """Send a record whose details the store keeps under `key`; a refusal is written down
        (`refused`: actor, action and subject), the details dropped if the chain refuses the
        record and linked to the record the chain made of it if not."""
        try:
            with self.refusals.attempt(*refused):
                result = send()
        except ContractRevert:
            self.stored.forget(scheme_id, key)
            raise
        self.stored.link(scheme_id, key, record_id=self.parts.records.submitted_id(result))
        return result

    def import_batch_record(self, *, account: Signer, batch_id: int, index: int) -> int:
        """Give record `index` of an approved batch a record id of its own (so that it can be
        corrected like any record); doing it again returns the same id."""
        existing = self.parts.records.batch_record_id(batch_id, index)
        if existing == 0:
            records = self.parts.records.batch_records(batch_id)
            if not records:
                raise InputError(f"batch {batch_id} is not approved; only its records are paid")
            with self.refusals.attempt(
                account.address, "import-batch-record", f"batch {batch_id}#{index}"
            ):
                self.parts.records.import_batch_record(
                    account, batch_id, index, pack_records(records)
                )
            existing = self.parts.records.batch_record_id(batch_id, index)
        with session(self.parts.engine) as db:
            row = db.exec(
                select(RecordDetails).where(
                    RecordDetails.batch_id == batch_id, RecordDetails.batch_index == index
                )
            ).first()
            if row is not None and row.record_id is None:
                row.record_id = existing
                db.add(row)
        return existing
