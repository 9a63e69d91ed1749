"""Client of the ServiceRecords contract: records of service and batches of them, their review,
and the anti-farming limits they are checked against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

import eth_abi
import eth_abi.exceptions
from eth_utils import keccak

from ledger.chain.contracts.base import ContractClient, from_struct
from ledger.chain.contracts.packed_records import PackedRecord, unpack_records
from ledger.chain.tx import Sent, Signer, TxResult
from ledger.errors import ChainError

#: Top byte of the points ledger's `source`: what the points were issued for.
SOURCE_RECORD = 1
SOURCE_BATCH = 2

#: Reason codes for rejecting a record or a batch (the chain stores the number).
REJECT_REASONS: dict[int, str] = {
    1: "insufficient or unclear evidence",
    2: "duplicate of another record",
    3: "the service did not take place as described",
    4: "wrong figures (times, hours, action)",
    5: "not eligible under the scheme's rules",
    6: "entered too late",
    99: "other (see the off-chain note)",
}


class RecordStatus(IntEnum):
    NONE = 0
    PENDING = 1
    AWAITING_SECOND = 2
    APPROVED = 3
    REJECTED = 4
    SUPERSEDED = 5

    @property
    def label(self) -> str:
        return self.name.lower().replace("_", "-")


class BatchStatus(IntEnum):
    NONE = 0
    SUBMITTED = 1
    APPROVED = 2
    REJECTED = 3

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Limits:
    """A scheme's anti-farming limits (IPointsLedger.Limits)."""

    records_per_day: int
    minutes_per_day: int
    points_per_day: int
    points_per_week: int
    approvals_per_hour: int
    late_working_days: int

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (
            self.records_per_day,
            self.minutes_per_day,
            self.points_per_day,
            self.points_per_week,
            self.approvals_per_hour,
            self.late_working_days,
        )

    @property
    def is_set(self) -> bool:
        return self.records_per_day != 0


@dataclass(frozen=True)
class Record:
    """A record of service (IServiceRecords.Record; the fields after `id` in its order)."""

    id: int
    volunteer: str
    scheme_id: int
    activity_id: int
    status: RecordStatus
    grade: int
    late: bool
    submitter: str
    start: int
    end: int
    first_reviewer: str | None
    submitted_at: int
    rule_version: int
    reviewer: str | None
    decided_at: int
    reject_reason: int
    supersedes: int
    correction: int
    points: int
    action: bytes
    details_hash: bytes
    evidence_hash: bytes

    @property
    def minutes(self) -> int:
        return (self.end - self.start) // 60 if self.action == bytes(32) else 0


@dataclass(frozen=True)
class Batch:
    """A batch of records (IServiceRecords.Batch; the fields after `id` in its order)."""

    id: int
    scheme_id: int
    count: int
    status: BatchStatus
    submitted_at: int
    decided_at: int
    rule_version: int
    reject_reason: int
    submitter: str
    reviewer: str | None
    points: int
    records_hash: bytes


def record_source(record_id: int) -> bytes:
    """The points ledger's `source` of points paid for one record."""
    return ((SOURCE_RECORD << 248) | record_id).to_bytes(32, "big")


class ServiceRecordsClient(ContractClient):
    def set_limits(self, account: Signer, scheme_id: int, limits: Limits) -> TxResult:
        return self._write(account, "setLimits", scheme_id, limits.as_tuple())

    def set_reviewer_cap(
        self, account: Signer, scheme_id: int, reviewer: str, approvals_per_hour: int
    ) -> TxResult:
        return self._write(account, "setReviewerCap", scheme_id, reviewer, approvals_per_hour)

    def limits(self, scheme_id: int) -> Limits:
        return Limits(*(int(v) for v in self._read("limits", scheme_id)))

    def reviewer_load(self, scheme_id: int, reviewer: str) -> tuple[int, int]:
        used, cap = self._read("reviewerLoad", scheme_id, reviewer)
        return int(used), int(cap)

    def submit_record(
        self,
        account: Signer,
        *,
        scheme_id: int,
        activity_id: int,
        volunteer: str,
        start: int,
        end: int,
        action: bytes,
        details_hash: bytes,
        evidence_hash: bytes,
    ) -> TxResult:
        return self._write(
            account,
            "submitRecord",
            (scheme_id, activity_id, volunteer, start, end, action, details_hash, evidence_hash),
        )

    def submit_correction(
        self,
        account: Signer,
        record_id: int,
        *,
        start: int,
        end: int,
        action: bytes,
        details_hash: bytes,
        evidence_hash: bytes,
    ) -> TxResult:
        return self._write(
            account,
            "submitCorrection",
            record_id,
            start,
            end,
            action,
            details_hash,
            evidence_hash,
        )

    def submitted_id(self, result: TxResult) -> int:
        return int(self._events(result, "RecordSubmitted")[0]["args"]["recordId"])

    def approve(self, account: Signer, record_id: int, grade: int) -> TxResult:
        return self._write(account, "approveRecord", record_id, grade)

    def reject(self, account: Signer, record_id: int, reason: int) -> TxResult:
        return self._write(account, "rejectRecord", record_id, reason)

    def submit_batch(self, account: Signer, scheme_id: int, hash_: bytes, count: int) -> TxResult:
        return self._write(account, "submitBatch", scheme_id, hash_, count)

    def start_submit_batch(self, account: Signer, scheme_id: int, hash_: bytes, count: int) -> Sent:
        """``submit_batch`` sent, its receipt awaited later (``TxSender.wait_some``)."""
        return self._start(account, "submitBatch", scheme_id, hash_, count)

    def submitted_batch_id(self, result: TxResult) -> int:
        return int(self._events(result, "BatchSubmitted")[0]["args"]["batchId"])

    def approve_batch(
        self,
        account: Signer,
        batch_id: int,
        rule_version: int,
        data: bytes,
        *,
        gas: int | None = None,
    ) -> TxResult:
        """With `gas` given the transaction is sent without a simulation first: for batches whose
        every record was already checked (ledger.earning.batch), where simulating doubles the work."""
        return self._write(account, "approveBatch", batch_id, rule_version, data, gas=gas)

    def start_approve_batch(
        self, account: Signer, batch_id: int, rule_version: int, data: bytes, *, gas: int
    ) -> Sent:
        """``approve_batch`` sent with a known gas limit, its receipt awaited later."""
        return self._start(account, "approveBatch", batch_id, rule_version, data, gas=gas)

    def import_batch_record(
        self, account: Signer, batch_id: int, index: int, data: bytes
    ) -> TxResult:
        return self._write(account, "importBatchRecord", batch_id, index, data)

    def batch_record_id(self, batch_id: int, index: int) -> int:
        return int(self._read("batchRecordId", batch_id, index))

    def batch_record_ids(self, batch_id: int, indexes: Sequence[int]) -> list[int]:
        """The record ids of a batch's records (0: never imported), in one round trip per 500."""
        return [int(v) for v in self._read_many("batchRecordId", [(batch_id, i) for i in indexes])]

    def reject_batch(self, account: Signer, batch_id: int, reason: int) -> TxResult:
        return self._write(account, "rejectBatch", batch_id, reason)

    def record(self, record_id: int) -> Record:
        raw = self._read("record", record_id)
        return from_struct(Record, raw, id=record_id)

    def record_count(self) -> int:
        return int(self._read("recordCount"))

    def batch(self, batch_id: int) -> Batch:
        raw = self._read("batch", batch_id)
        return from_struct(Batch, raw, id=batch_id)

    def batch_count(self) -> int:
        return int(self._read("batchCount"))

    def batch_of(self, hash_: bytes) -> int:
        return int(self._read("batchOf", hash_))

    def batches_of(self, hashes: Sequence[bytes]) -> list[int]:
        """``batch_of`` of each hash, in one round trip per 500."""
        return [int(batch_id) for batch_id in self._read_many("batchOf", [(h,) for h in hashes])]

    def batch_records(self, batch_id: int, *, tx_hash: str | None = None) -> list[PackedRecord]:
        """The records of an approved batch, read back from its approving transaction's input
        (sent to this contract or relayed through the ERC-2771 forwarder) and checked against
        the batch's records hash; [] for a batch not approved. `tx_hash`, the approving
        transaction if known (from the event index), saves looking for it in the logs."""
        if tx_hash is None:
            logs = self.contract.events.BatchApproved().get_logs(
                from_block=0, argument_filters={"batchId": batch_id}
            )
            if not logs:
                return []
            tx_hash = logs[0]["transactionHash"]
        tx = self.w3.eth.get_transaction(tx_hash)  # type: ignore[arg-type]
        approvals = []
        for data in forwarded_calls(bytes(tx["input"]), self.address):
            try:
                fn, args = self.contract.decode_function_input(data)
            except ValueError:
                continue
            if fn.fn_name == "approveBatch" and int(args.get("batchId", -1)) == batch_id:
                approvals.append(bytes(args.get("records", b"")))
        if not approvals:
            raise ChainError(
                f"transaction {_hex(tx_hash)} is not the approval of batch {batch_id}",
                tx_hash=_hex(tx_hash),
            )
        expected = self.batch(batch_id).records_hash
        raw = next((r for r in approvals if keccak(r) == expected), None)
        if raw is None:
            raise ChainError(
                f"the records in transaction {_hex(tx_hash)} do not hash to batch {batch_id}'s "
                f"records hash 0x{expected.hex()}",
                tx_hash=_hex(tx_hash),
            )
        return unpack_records(raw)

    def day_of(self, timestamp: int) -> int:
        return int(self._read("dayOf", timestamp))

    def working_days_between(self, start_day: int, end_day: int) -> int:
        return int(self._read("workingDaysBetween", start_day, end_day))


#: OpenZeppelin 5.0.2 ERC2771Forwarder.execute(ForwardRequestData) and executeBatch
#: (ForwardRequestData[], address refundReceiver); a request: from, to, value, gas, deadline, data,
#: signature.
_FORWARD_REQUEST = "(address,address,uint256,uint256,uint48,bytes,bytes)"
_EXECUTE = keccak(text=f"execute({_FORWARD_REQUEST})")[:4]
_EXECUTE_BATCH = keccak(text=f"executeBatch({_FORWARD_REQUEST}[],address)")[:4]


def forwarded_calls(data: bytes, target: str) -> list[bytes]:
    """The calls a transaction's input may make on `target`: the input itself, or, relayed
    through the forwarder, the data of each request to `target` (one for ``execute``, any number
    for ``executeBatch``: which of them ran is for the caller to tell, by what they decode to)."""
    try:
        if data[:4] == _EXECUTE:
            requests = list(eth_abi.decode([_FORWARD_REQUEST], data[4:]))
        elif data[:4] == _EXECUTE_BATCH:
            requests = list(eth_abi.decode([f"{_FORWARD_REQUEST}[]", "address"], data[4:])[0])
        else:
            return [data]
    except eth_abi.exceptions.DecodingError:
        return [data]
    return [bytes(r[5]) for r in requests if str(r[1]).lower() == target.lower()]


def _hex(value: Any) -> str:
    return value if isinstance(value, str) else "0x" + bytes(value).hex()
