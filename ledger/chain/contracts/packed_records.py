"""The packed format of a batch's records (IServiceRecords): 99 bytes a record, as the chain reads
them from the approving transaction's input, and the hash a batch is submitted with."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from eth_utils import keccak
from web3 import Web3

from ledger.errors import InputError

#: Bytes per record in a batch (IServiceRecords): volunteer 20, activity 4, start 5, end 5,
#: grade or action index 1, details hash 32, evidence hash 32.
RECORD_SIZE = 99
MAX_BATCH = 1000


@dataclass(frozen=True)
class PackedRecord:
    """One record of a batch, as the chain reads it."""

    volunteer: str
    activity_id: int
    start: int
    end: int
    #: Grade index (duration rules) or index of the action in the rule version (fixed rules).
    code: int
    details_hash: bytes
    evidence_hash: bytes

    def pack(self) -> bytes:
        if not 0 <= self.activity_id < 2**32:
            raise InputError(f"activity id {self.activity_id} is out of range")
        if not (0 <= self.start < 2**40 and 0 <= self.end < 2**40):
            raise InputError("service times are out of range")
        if not 0 <= self.code < 256:
            raise InputError(f"grade or action index {self.code} is out of range")
        if len(self.details_hash) != 32 or len(self.evidence_hash) != 32:
            raise InputError("details and evidence hashes are 32 bytes each")
        return (
            bytes.fromhex(Web3.to_checksum_address(self.volunteer)[2:])
            + self.activity_id.to_bytes(4, "big")
            + self.start.to_bytes(5, "big")
            + self.end.to_bytes(5, "big")
            + bytes([self.code])
            + self.details_hash
            + self.evidence_hash
        )


def pack_records(records: Iterable[PackedRecord]) -> bytes:
    return b"".join(r.pack() for r in records)


def unpack_records(data: bytes) -> list[PackedRecord]:
    """The records of a batch from the bytes the chain saw (e.g. an approving transaction's input)."""
    if len(data) % RECORD_SIZE:
        raise InputError(f"batch data is not a whole number of {RECORD_SIZE}-byte records")
    out = []
    for offset in range(0, len(data), RECORD_SIZE):
        raw = data[offset : offset + RECORD_SIZE]
        out.append(
            PackedRecord(
                volunteer=Web3.to_checksum_address(raw[:20]),
                activity_id=int.from_bytes(raw[20:24], "big"),
                start=int.from_bytes(raw[24:29], "big"),
                end=int.from_bytes(raw[29:34], "big"),
                code=raw[34],
                details_hash=raw[35:67],
                evidence_hash=raw[67:99],
            )
        )
    return out


def records_hash(data: bytes) -> bytes:
    return keccak(data)
