"""The store's half of service records: a record's details are kept before it goes on chain and
linked to it after; evidence backs one record only, unless the chain rejected that record."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from ledger.chain.contracts import RecordStatus
from ledger.earning.parts import StoredRecords
from ledger.earning.refusals import RefusalLog
from ledger.errors import DuplicateEvidence
from ledger.store import session, utcnow
from ledger.store.records import RecordDetails, canonical_json, details_hash
from ledger.values import show_time

#: What the 2021 rules on volunteer service records require a record to state (besides the
#: volunteer, the date and the hours, which come from the record itself).
REQUIRED_DETAILS = ("activity", "place", "content", "organising_unit", "person_in_charge")


def service_details(
    *, scheme: str, volunteer: str, start: int, end: int, evidence: bytes
) -> dict[str, str]:
    """What every record's details state of the service itself, as the chain holds it: scheme,
    volunteer, date, start, end, hours and the hash of the evidence."""
    return {
        "scheme": scheme,
        "volunteer": volunteer,
        "date": show_time(start)[:10],
        "start": show_time(start),
        "end": show_time(end),
        "hours": f"{(end - start) / 3600:.2f}",
        "evidence_hash": "0x" + evidence.hex(),
    }


def details_row(
    scheme_id: int, key: str, activity_id: int, start: int, end: int, details: dict[str, str]
) -> RecordDetails:
    """The store's row of a single record's details (their hash is what goes on chain)."""
    return RecordDetails(
        scheme_id=scheme_id,
        record_key=key,
        volunteer=details["volunteer"],
        activity_id=activity_id,
        start=start,
        end=end,
        details_hash="0x" + details_hash(details).hex(),
        evidence_hash=details["evidence_hash"],
        details_json=canonical_json(details).decode(),
        employer=details.get("employer"),
        created_at=utcnow(),
    )


class DetailsStore:
    """Records' details in the store, kept in step with the chain."""

    def __init__(self, parts: StoredRecords, refusals: RefusalLog) -> None:
        self.parts, self.refusals = parts, refusals

    def keep(self, row: RecordDetails, *, actor: str, action: str) -> None:
        """Store a record's details before it goes on chain; the store's unique evidence hash
        refuses evidence that backs another record (also one stored by a concurrent request)."""
        with session(self.parts.engine) as db:
            other = db.exec(
                select(RecordDetails).where(RecordDetails.evidence_hash == row.evidence_hash)
            ).first()
        if other is not None and self.is_rejected(other):
            self.release_evidence(other)
        try:
            with session(self.parts.engine) as db:
                db.add(row)
        except IntegrityError:
            exc = DuplicateEvidence(
                "this evidence (or this record id) already backs another record; the same photos "
                "or sign-in sheet never back two records"
            )
            self.refusals.refused(actor=actor, action=action, subject=row.record_key, exc=exc)
            raise exc from None

    def is_rejected(self, row: RecordDetails) -> bool:
        """Whether the chain rejected the record (or batch) a stored row belongs to."""
        if row.record_id is not None:
            return self.parts.records.record(row.record_id).status is RecordStatus.REJECTED
        if row.chunk_hash:
            batch_id = self.parts.records.batch_of(bytes.fromhex(row.chunk_hash[2:]))
            return bool(batch_id) and self.parts.records.batch(batch_id).status.name == "REJECTED"
        return False

    def release_evidence(self, row: RecordDetails) -> None:
        """A rejected record's evidence may back its resubmission: the old row keeps the hash in
        its details, under a released marker."""
        with session(self.parts.engine) as db:
            stored = db.get(RecordDetails, row.id)
            if stored is not None:
                stored.evidence_hash = f"{stored.evidence_hash}#released-{stored.id}"
                db.add(stored)

    def overlapping(
        self, volunteer: str, scheme_id: int, start: int, end: int
    ) -> RecordDetails | None:
        """A record of `volunteer` in another scheme whose service overlaps [start, end), unless
        the chain rejected it."""
        with session(self.parts.engine) as db:
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

    def by_key(self, scheme_id: int, key: str) -> RecordDetails | None:
        """The details kept under a scheme's record key (the issuer's own id, or their hash)."""
        with session(self.parts.engine) as db:
            return db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id, RecordDetails.record_key == key
                )
            ).first()

    def find_submitted(self, volunteer: str, digest: bytes) -> int | None:
        """The record the volunteer has on chain with these details (an interrupted run)."""
        event = self.parts.records.contract.events.RecordSubmitted()
        for entry in event.get_logs(from_block=0, argument_filters={"volunteer": volunteer}):
            if bytes(entry["args"]["record"]["detailsHash"]) == digest:
                return int(entry["args"]["recordId"])
        return None

    def link(self, scheme_id: int, key: str, *, record_id: int) -> None:
        """The details kept under `key` belong to record `record_id` on chain."""
        with session(self.parts.engine) as db:
            row = db.exec(
                select(RecordDetails).where(
                    RecordDetails.scheme_id == scheme_id, RecordDetails.record_key == key
                )
            ).one()
            row.record_id = record_id
            db.add(row)

    def forget(self, scheme_id: int, key: str) -> None:
        """Drop the details kept under `key` that never went on chain (the chain refused them)."""
        with session(self.parts.engine) as db:
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

    def row_of(self, record_id: int) -> RecordDetails | None:
        """The details the store keeps of a record on chain, if any."""
        with session(self.parts.engine) as db:
            return db.exec(
                select(RecordDetails).where(RecordDetails.record_id == record_id)
            ).first()
