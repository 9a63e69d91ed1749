"""Four-eyes review of service records: a reviewer approves (with a grade; the final approval
mints the points) or rejects (with a reason); a late record needs two reviewers. The chain
enforces who may review what; repeating a decision already taken is answered, not sent again."""

from __future__ import annotations

from ledger.chain.contracts import Record, RecordStatus
from ledger.chain.contracts.rules import grade_index
from ledger.chain.contracts.service_records import REJECT_REASONS
from ledger.chain.tx import Signer
from ledger.earning.parts import RecordsContract
from ledger.earning.refusals import RefusalLog
from ledger.errors import InputError


class Review:
    """Approving and rejecting submitted records."""

    def __init__(self, parts: RecordsContract, refusals: RefusalLog) -> None:
        self.parts, self.refusals = parts, refusals

    def approve(self, *, reviewer: Signer, record_id: int, grade: str = "A") -> Record:
        """Approve a record with a grade (A, B, ...; A for fixed-point actions). The final
        approval mints the points in the same transaction; a late record needs two reviewers.
        Approving a record that this reviewer already approved as the first of two is a repeat."""
        index = grade_index(grade)
        with self.refusals.attempt(reviewer.address, "approve", f"record {record_id}"):
            record = self.parts.records.record(record_id)
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
            self.parts.records.approve(reviewer, record_id, index)
        return self.parts.records.record(record_id)

    def reject(self, *, reviewer: Signer, record_id: int, reason: int) -> Record:
        if reason not in REJECT_REASONS:
            raise InputError(
                "reason must be one of "
                + ", ".join(f"{k} ({v})" for k, v in REJECT_REASONS.items())
            )
        with self.refusals.attempt(reviewer.address, "reject", f"record {record_id}"):
            record = self.parts.records.record(record_id)
            if (
                record.status is RecordStatus.REJECTED
                and record.reviewer == reviewer.address
                and record.reject_reason == reason
            ):
                return record  # the same rejection again: a repeated request
            self.parts.records.reject(reviewer, record_id, reason)
        return self.parts.records.record(record_id)
